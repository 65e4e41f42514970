"""GRCh37 vs GRCh38 in annotate: gene tables of another build, chrM/MT naming across builds, liftover of MT."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError


@pytest.fixture(scope="module")
def mt_genes(shared_data):
    """The 13 protein-coding MT genes of both shipped builds: identical coordinates (GRCh37's MT is the rCRS,
    as GRCh38's), the evidence that MT needs no liftover."""
    t = {b: pd.read_csv(shared_data / "genes" / f"genes_{b}.tsv.gz", sep="\t") for b in ("GRCh37", "GRCh38")}
    mt = {b: g[g["chromosome"] == "MT"].reset_index(drop=True) for b, g in t.items()}
    assert len(mt["GRCh37"]) == 13
    pd.testing.assert_frame_equal(mt["GRCh37"], mt["GRCh38"])
    return mt["GRCh38"]


def _gtf(path, genes, chrom_prefix="chr", header=""):
    lines = [header] if header else []
    for r in genes.itertuples():
        lines.append(f"{chrom_prefix}{r.chromosome}\tENSEMBL\tgene\t{r.start}\t{r.end}\t.\t{r.strand}\t.\t"
                     f'gene_id "{r.gene_id}"; gene_name "{r.gene_name}";')
    path.write_text("\n".join(lines) + "\n")
    return path


def test_read_genes__gencode_chrM_is_mt_so_mt_loci_find_their_gene(tmp_path, mt_genes):
    """A GENCODE/UCSC GTF names the mitochondrion ``chrM``; loci (and the shipped tables) name it ``MT``. The
    genes were read as ``M``, so an MT locus had no nearest gene at all."""
    from edfgen.formats.genes import read_genes
    from edfgen.kernels.annotate import nearest_genes

    genes = read_genes(_gtf(tmp_path / "gencode.gtf", mt_genes.assign(chromosome="M")))
    assert set(genes["chromosome"]) == {"MT"}
    near = nearest_genes(["MT", "MT"], [3500, 8000], genes)     # inside MT-ND1; inside MT-CO2
    assert list(near["nearest_gene"]) == ["MT-ND1", "MT-CO2"] and list(near["gene_distance"]) == [0, 0]


def test_liftover__mt_is_not_lifted_through_hg19_chrM_and_chain_names_normalised(tmp_path, mt_genes):
    """UCSC's hg19 chrM (NC_001807) is not GRCh37's MT (the rCRS, as GRCh38's: the shipped tables' MT genes are
    identical); an MT locus lifted through a chrM chain moved, and a locus labelled MT met no chrM chain at all
    (unmapped). MT now maps to itself; a chain's chrX meets a locus labelled 23."""
    from edfgen.formats.liftover import Chain

    chain = tmp_path / "hg19ToHg38.chain"
    chain.write_text("chain 1000 chrM 16571 + 0 16571 chrM 16569 + 0 16569 1\n300 2 0\n16269\n\n"
                     "chain 900 chrX 155270560 + 1000000 2000000 chrX 156040895 + 1100000 2100000 2\n1000000\n")
    c = Chain.read(chain)
    pos = mt_genes["start"].to_numpy()
    to_c, to_p = c.lift(["MT"] * len(pos), pos)
    assert list(to_c) == ["MT"] * len(pos)
    np.testing.assert_array_equal(to_p, pos)
    to_c, to_p = c.lift(["23", "X", "chrX"], [1_500_000] * 3)
    assert list(to_c) == ["X"] * 3 and list(to_p) == [1_600_000] * 3


def _kcnh2_refused_on_grch38_read_on_grch37(tmp_path, shared_data, genes, refusal: str) -> None:
    """A GRCh37 ``genes`` file: the KCNH2 lead at its GRCh38 position (a chr:pos id, no rsID to check) is refused
    with ``refusal``; at its GRCh37 position with ``--reference-genome GRCh37`` it is read and KCNH2 contains it."""
    from edfgen.commands.annotate import run_annotate

    cat = shared_data / "gwas_catalog" / "ecg_traits_associations_2016-01-18.tsv"
    loci = tmp_path / "loci.tsv"
    pd.DataFrame({"variant_id": ["7:150950000:A:G"], "chromosome": ["7"], "base_pair_location": [150_950_000],
                  "p_value": [1e-20]}).to_csv(loci, sep="\t", index=False)
    with pytest.raises(InputError, match=refusal):
        run_annotate(loci, cat, tmp_path / "a.tsv", genes=genes)
    pd.DataFrame({"variant_id": ["7:150650000:A:G"], "chromosome": ["7"], "base_pair_location": [150_650_000],
                  "p_value": [1e-20]}).to_csv(loci, sep="\t", index=False)
    res = run_annotate(loci, cat, tmp_path / "b.tsv", genes=genes, reference_genome="GRCh37")
    assert res["nearest_gene"].tolist() == ["KCNH2"] and res["gene_distance"].tolist() == [0]


@pytest.mark.parametrize("how", ["name", "header"])
def test_annotate__genes_of_another_build_refused(tmp_path, shared_data, how):
    """``--genes`` of GRCh37 (Ensembl's ``Homo_sapiens.GRCh37.75.gtf``, the shipped ``genes_GRCh37`` table) with
    GRCh38 loci gave every locus a wrong nearest gene without a word (KCNH2's GRCh38 span is 302 kb from its
    GRCh37 one); the build the file declares (Ensembl's ``#!genome-build`` header, GENCODE's description, the
    file name) must be the loci's."""

    g37 = pd.read_csv(shared_data / "genes" / "genes_GRCh37.tsv.gz", sep="\t")
    g37 = g37[g37["chromosome"].isin(["7", "3"])]
    if how == "name":
        genes = tmp_path / "genes_GRCh37.tsv.gz"
        with gzip.open(genes, "wt") as fh:
            g37.to_csv(fh, sep="\t", index=False)
    else:
        genes = _gtf(tmp_path / "genes.gtf", g37, chrom_prefix="", header="#!genome-build GRCh37.p13")
    _kcnh2_refused_on_grch38_read_on_grch37(tmp_path, shared_data, genes, r"--genes .*GRCh37.*GRCh38")


def test_annotate__novelty_of_real_catalog_loci_same_in_grch38_and_lifted_grch37(tmp_path, shared_data, caplog):
    """Real ECG catalog rows inside genes whose Ensembl span has the same length in both builds (a chain built
    from those real GRCh37/GRCh38 gene pairs): loci at their GRCh38 positions and the same loci at their GRCh37
    positions with ``--reference-genome GRCh37 --liftover-chain`` get the same novel/known calls, nearest catalog
    hits and distances (a locus never turns novel or known because two builds' positions were compared). Given
    as GRCh38 without ``--reference-genome`` (chr:pos ids, nothing to check the build by), a warning says so."""
    from edfgen.commands.annotate import run_annotate
    from edfgen.formats.catalog import read_catalog

    g = {b: pd.read_csv(shared_data / "genes" / f"genes_{b}.tsv.gz", sep="\t") for b in ("GRCh37", "GRCh38")}
    m = g["GRCh37"].merge(g["GRCh38"], on="gene_id", suffixes=("37", "38"))
    m = m[(m.chromosome37 == m.chromosome38) & (m.end37 - m.start37 == m.end38 - m.start38)]
    m = m.sort_values(["chromosome38", "start38"]).drop_duplicates("start38")
    m = m[m.groupby("chromosome38")["start38"].diff().fillna(1e9).gt(0) &
          (m.start37 > m.groupby("chromosome37")["end37"].shift().fillna(0))]     # blocks that do not overlap
    chain = tmp_path / "genes37to38.chain"
    chain.write_text("".join(f"chain {1000 + k} chr{r.chromosome37} 300000000 + {r.start37 - 1} {r.end37} "
                             f"chr{r.chromosome38} 300000000 + {r.start38 - 1} {r.end38} {k + 1}\n"
                             f"{r.end37 - r.start37 + 1}\n\n" for k, r in enumerate(m.itertuples())))
    catf = shared_data / "gwas_catalog" / "ecg_traits_associations_2016-01-18.tsv"
    cat = read_catalog(catf).dropna(subset=["position"]).drop_duplicates("catalog_variant")
    m = m.assign(chromosome=m.chromosome38.astype(str))
    pairs = cat.merge(m, on="chromosome")     # the catalog variants inside these genes, and every 60th gene's middle
    pairs = pairs[pairs.position.between(pairs.start38, pairs.end38)]
    mid = m.iloc[::60].assign(position=lambda d: (d.start38 + d.end38) // 2)
    rows = pd.concat([pairs, mid])[["chromosome", "position", "start38", "start37"]].astype({"position": np.int64})
    rows = list(zip(rows.chromosome, rows.position, rows.position - rows.start38 + rows.start37))
    t = pd.DataFrame(rows, columns=["chromosome", "p38", "p37"]).drop_duplicates()

    def loci(col):
        f = tmp_path / f"loci_{col}.tsv"
        pd.DataFrame({"variant_id": [f"{a}:{b}:A:G" for a, b in zip(t.chromosome, t[col])],
                      "chromosome": t.chromosome, "base_pair_location": t[col], "p_value": 1e-9}).to_csv(
            f, sep="\t", index=False)
        return f

    a38 = run_annotate(loci("p38"), catf, tmp_path / "a38.tsv")
    a37 = run_annotate(loci("p37"), catf, tmp_path / "a37.tsv", reference_genome="GRCh37", liftover_chain=chain)
    assert len(t) > 100 and 30 < (~a38["novel"]).sum() < len(t) - 30          # both calls well represented
    assert a38["novel"].tolist() == a37["novel"].tolist() and a38["known_by"].tolist() == a37["known_by"].tolist()
    pd.testing.assert_series_equal(a38["nearest_catalog_distance"], a37["nearest_catalog_distance"])
    assert a37["base_pair_location"].tolist() == t["p37"].tolist()            # output stays GRCh37
    with caplog.at_level("WARNING"):
        wrong = run_annotate(tmp_path / "loci_p37.tsv", catf, tmp_path / "w.tsv")
    assert "no rsIDs, so their build cannot be checked" in caplog.text
    assert (wrong["novel"] != a38["novel"]).sum() > 0        # why the warning matters: calls change across builds


def test_annotate__a_grch37_catalog_is_refused(tmp_path, shared_data):
    """A GWAS Catalog file on GRCh37 (Bioconductor gwascat's ``ebicat37``, a pre-2015 download, a lifted-down copy)
    was read as GRCh38: every window and nearest-catalog distance compared two builds. Its rsIDs shared with the
    GRCh38 extract edfgen ships now show it: real catalog rows inside genes whose Ensembl 75/107 spans have equal
    length, moved to their GRCh37 positions by the gene's real offset, are refused in one line."""
    from edfgen.commands.annotate import run_annotate

    src = shared_data / "gwas_catalog" / "ecg_traits_associations_2016-01-18.tsv"
    raw = pd.read_csv(src, sep="\t", dtype=str, keep_default_na=False)
    g = {b: pd.read_csv(shared_data / "genes" / f"genes_{b}.tsv.gz", sep="\t") for b in ("GRCh37", "GRCh38")}
    m = g["GRCh37"].merge(g["GRCh38"], on="gene_id", suffixes=("37", "38"))
    m = m[(m.chromosome37 == m.chromosome38) & (m.end37 - m.start37 == m.end38 - m.start38)]
    rows = raw.assign(chromosome=raw["CHR_ID"], position=pd.to_numeric(raw["CHR_POS"], errors="coerce"))
    rows = rows.reset_index().merge(m.assign(chromosome=m.chromosome38.astype(str)), on="chromosome")
    rows = rows[rows.position.between(rows.start38, rows.end38)].drop_duplicates("index")
    assert len(rows) >= 40
    b37 = raw.loc[rows["index"]].assign(CHR_POS=(rows.position - rows.start38 + rows.start37).astype(int).to_numpy())
    cat37 = tmp_path / "gwas_catalog_associations.tsv"
    b37.to_csv(cat37, sep="\t", index=False)
    loci = tmp_path / "loci.tsv"
    pd.DataFrame({"variant_id": ["3:38600000:A:G"], "chromosome": ["3"], "base_pair_location": [38_600_000],
                  "p_value": [1e-9]}).to_csv(loci, sep="\t", index=False)
    with pytest.raises(InputError, match=r"--catalog .*gwas_catalog_associations.tsv.*GRCh38"):
        run_annotate(loci, cat37, tmp_path / "a.tsv")
    raw.loc[rows["index"]].to_csv(tmp_path / "c38.tsv", sep="\t", index=False)     # the same rows on GRCh38: read
    assert len(run_annotate(loci, tmp_path / "c38.tsv", tmp_path / "b.tsv")) == 1


_LIFT37 = ("##description: evidence-based annotation of the human genome (GRCh38), version 49 (Ensembl 115), "
           "mapped to GRCh37 with gencode-backmap")


@pytest.mark.parametrize("name, header, build", [
    ("gencode.v19.annotation.gtf", "##description: evidence-based annotation of the human genome (GRCh37), "
     "version 19 (Ensembl 74)", "GRCh37"),
    ("gencode.v49.basic.annotation.gtf", "##description: evidence-based annotation of the human genome (GRCh38), "
     "version 49 (Ensembl 115)", "GRCh38"),
    ("gencode.v49lift37.basic.annotation.gtf", _LIFT37, "GRCh37"),
    ("gencode.v49.basic.annotation.gtf", _LIFT37, "GRCh37"),        # the header, whatever the file is called
    ("gencode.v49lift37.basic.annotation.gtf.gz", "", "GRCh37"),     # no header: lift37 in the name
    ("genes.gtf", "#!genome-build-accession NCBI:GCA_000001405.14\n#!genome-build GRCh37.p13", "GRCh37"),
    ("genes_GRCh38.gtf", "#!genome-build-accession NCBI:GCA_000001405.29", "GRCh38"),   # accession: not a build
    ("genes.gtf", "#!genome-build=GRCh38.p14", "GRCh38"),
    ("genes.gtf", "", None),
    ("genes_hg19_to_hg38_lifted.tsv", "", None),      # two builds named: the name does not say (second read s37 B2)
])
def test_declared_genes_build__gencode_lift37_and_ensembl_accession(tmp_path, name, header, build):
    """GENCODE's lift37 GTFs (``gencode.v49lift37``, the GRCh37 annotation GENCODE publishes now) say ``(GRCh38)``
    and then ``mapped to GRCh37``: they were read as GRCh38, so refused for GRCh37 loci and taken for GRCh38 loci.
    Ensembl's ``#!genome-build-accession`` line was read as build ``-accession``."""
    from edfgen.formats.genes import declared_genes_build

    path = tmp_path / name
    text = (header + "\n" if header else "") + "chr7\tHAVANA\tgene\t1\t2\t.\t+\t.\tgene_id \"G\";\n"
    if name.endswith(".gz"):
        with gzip.open(path, "wt") as fh:
            fh.write(text)
    else:
        path.write_text(text)
    assert declared_genes_build(path)[0] == build


def test_annotate__gencode_lift37_genes_refused_for_grch38_loci_and_read_for_grch37(tmp_path, shared_data):
    """A ``gencode.v49lift37`` GTF (GRCh37 coordinates: KCNH2 at 7:150,642,049-150,675,403) with GRCh38 loci gave
    wrong nearest genes without a word, and with GRCh37 loci was refused as GRCh38. The message quotes the header
    up to the build it names."""

    genes = tmp_path / "gencode.gtf"
    genes.write_text(_LIFT37 + "\n##provider: GENCODE\n##format: gtf\nchr7\tHAVANA\tgene\t150642049\t150675403\t.\t"
                     '-\t.\tgene_id "ENSG00000055118.16_8"; gene_type "protein_coding"; gene_name "KCNH2";\n')
    _kcnh2_refused_on_grch38_read_on_grch37(tmp_path, shared_data, genes,
                                            r"--genes .*mapped to GRCh37.*says genome build GRCh37.*loci are GRCh38")


def test_declared_genes_build__a_corrupt_gzip_is_left_to_read_genes_one_line_error(tmp_path):
    """Second read s37 B1: a corrupt .gz gene file raised zlib.error out of the build check (a traceback, exit 1)
    where read_genes had refused it in one line; the check now says nothing and read_genes says what is wrong."""
    from edfgen.exceptions import InputError
    from edfgen.formats.genes import declared_genes_build, read_genes

    bad = tmp_path / "genes.gtf.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\xff" * 64)
    assert declared_genes_build(bad) == (None, "")
    with pytest.raises(InputError, match="genes.gtf.gz"):
        read_genes(bad)


def test_annotate__build_mismatch_messages_name_the_loci_declaration_not_reference_genome(tmp_path, shared_data):
    """Second read of s38: loci whose build came from their own declaration (no --reference-genome) met by a
    --genes file of the other build were refused with "the loci are GRCh37 (--reference-genome) ... or
    --reference-genome GRCh38", advice read_loci then refuses (an explicit build against a declaration); the
    --liftover-chain message likewise. Both now name the declaration and say to correct it (or give matching
    genes / drop the chain); with no declaration the default is named and --reference-genome is the advice."""
    from edfgen.commands.annotate import run_annotate

    g38 = pd.read_csv(shared_data / "genes" / "genes_GRCh38.tsv.gz", sep="\t")
    genes = _gtf(tmp_path / "genes.gtf", g38[g38["chromosome"] == "7"], chrom_prefix="",
                 header="#!genome-build GRCh38.p14")
    cat = shared_data / "gwas_catalog" / "ecg_traits_associations_2016-01-18.tsv"
    loci = tmp_path / "loci.tsv"
    loci.write_text("##genome_build=GRCh37\nvariant_id\tchromosome\tbase_pair_location\tp_value\n"
                    "7:150650000:A:G\t7\t150650000\t1e-20\n")
    with pytest.raises(InputError) as e:
        run_annotate(loci, cat, tmp_path / "a.tsv", genes=genes)
    assert str(e.value) == (f"--genes {genes}: its header line '#!genome-build GRCh38.p14' says genome build GRCh38, "
                            f"but the loci are GRCh37 (--loci {loci}: header line '##genome_build=GRCh37' declares "
                            "it): give the GRCh37 gene file, or correct that declaration if the loci are GRCh38")
    chain = tmp_path / "hg19ToHg38.over.chain"
    chain.write_text("chain 1000 7 159138663 + 0 159138663 chr7 159345973 + 0 159138663 1\n159138663\n\n")
    loci.write_text(loci.read_text().replace("GRCh37", "GRCh38"))
    with pytest.raises(InputError) as e:
        run_annotate(loci, cat, tmp_path / "b.tsv", liftover_chain=chain)
    assert str(e.value) == (f"--liftover-chain lifts GRCh37 loci to the catalog's GRCh38, but the loci are GRCh38 "
                            f"(--loci {loci}: header line '##genome_build=GRCh38' declares it): drop "
                            "--liftover-chain, or correct that declaration if the loci are GRCh37")
    with pytest.raises(InputError) as e:     # last read of s38: declared AND given: still the declaration to correct
        run_annotate(loci, cat, tmp_path / "b.tsv", liftover_chain=chain, reference_genome="GRCh38")
    assert str(e.value) == (f"--liftover-chain lifts GRCh37 loci to the catalog's GRCh38, but the loci are GRCh38 "
                            f"(--loci {loci}: header line '##genome_build=GRCh38' declares it, as --reference-genome "
                            "does): drop --liftover-chain, or correct that declaration if the loci are GRCh37")
    loci.write_text("\n".join(loci.read_text().splitlines()[1:]) + "\n")      # no declaration: the default
    with pytest.raises(InputError, match=r"but the loci are GRCh38 \(the default: --loci declares no build\): drop "
                                         r"--liftover-chain, or give --reference-genome GRCh37 if the loci are GRCh37"):
        run_annotate(loci, cat, tmp_path / "c.tsv", liftover_chain=chain)
