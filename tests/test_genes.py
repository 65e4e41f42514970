"""Genes from GTF/BED and nearest genes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from edfgen.exceptions import InputError
from edfgen.formats.genes import read_genes
from edfgen.kernels.annotate import nearest_genes

DATA = Path(__file__).parent / "data"


def test_read_genes__gtf_and_bed_give_the_same_1_based_spans():
    gtf = read_genes(DATA / "genes_small.gtf")
    bed = read_genes(DATA / "genes_small.bed")
    assert len(gtf) == 7                                   # exon lines skipped
    pd.testing.assert_frame_equal(gtf.drop(columns="strand"), bed.drop(columns="strand"))
    nos = gtf.set_index("gene").loc["NOS1AP"]
    assert (nos.chromosome, nos.start, nos.end, nos.strand) == ("1", 162069774, 162370475, "+")


def test_nearest_genes__inside_between_and_empty_chromosome():
    genes = read_genes(DATA / "genes_small.bed")
    res = nearest_genes(["1", "1", "3", "chr7", "9"], [162100000, 162069700, 38670000, 150944961, 5], genes)
    assert res.nearest_gene.tolist()[:4] == ["NOS1AP", "OLFML2B", "SCN5A", "KCNH2"]
    # 162069700: 33 bp after OLFML2B's end (162069667), 74 bp before NOS1AP's start
    assert res.gene_distance.tolist()[:4] == [0, 33, 38670000 - 38649687, 0]
    assert pd.isna(res.nearest_gene[4]) and pd.isna(res.gene_distance[4])


def test_nearest_genes__equidistant_genes_are_both_reported():
    genes = pd.DataFrame({"chromosome": ["1", "1"], "start": [100, 300], "end": [150, 400],
                          "gene": ["A", "B"], "strand": ["+", "-"]})
    res = nearest_genes(["1"], [225], genes)
    assert res.nearest_gene[0] == "A,B" and res.gene_distance[0] == 75


def test_read_genes__bad_lines_named(tmp_path):
    (tmp_path / "g.bed").write_text("chr1\t10\tx\tGENE\n")
    with pytest.raises(InputError, match=r"g.bed:1: "):
        read_genes(tmp_path / "g.bed")
    (tmp_path / "empty.gtf").write_text("#nothing\n")
    with pytest.raises(InputError, match="no gene records"):
        read_genes(tmp_path / "empty.gtf")


def test_regional_plot__png_with_gene_track(tmp_path):
    import matplotlib.image as mpimg
    import numpy as np

    from edfgen.plots.regional import regional_plot

    rng = np.random.default_rng(0)
    pos = np.sort(rng.integers(161_700_000, 162_400_000, 300))
    ss = pd.DataFrame({"variant_id": [f"v{i}" for i in range(300)], "chromosome": "1", "base_pair_location": pos,
                       "p_value": rng.uniform(1e-4, 1, 300)})
    ss.loc[150, ["variant_id", "p_value"]] = ["lead", 1e-20]
    r2 = pd.Series(rng.uniform(0, 1, 300), index=ss.variant_id)
    path = regional_plot(ss, "lead", tmp_path / "r.png", r2=r2, genes=read_genes(DATA / "genes_small.gtf"),
                         window_kb=300)
    img = mpimg.imread(path)
    assert img.shape[0] > 400 and img.shape[1] > 600          # two panels (association + genes)
    with pytest.raises(InputError, match="nope"):
        regional_plot(ss, "nope", tmp_path / "x.png")


@pytest.mark.parametrize("build, rows", [
    ("GRCh37", [("7", 150642049, 150675403, "-", "KCNH2"), ("3", 38589548, 38691164, "-", "SCN5A"),
                ("1", 162039564, 162353321, "+", "NOS1AP")]),
    ("GRCh38", [("7", 150944961, 150978321, "-", "KCNH2"), ("3", 38548057, 38649687, "-", "SCN5A"),
                ("1", 162069691, 162370475, "+", "NOS1AP")])])
def test_packaged_genes__protein_coding_both_builds_small(build, rows, shared_data):
    """The shipped tables hold exactly the source's protein-coding genes (the README's known rows, the
    count of protein_coding rows), are small, and give the nearest gene of a locus by default."""
    from edfgen.formats.genes import packaged_genes

    path = packaged_genes(build)
    assert path.stat().st_size < 1_000_000               # both together well under the 2 MB budget
    genes = read_genes(path).set_index("gene")
    for chrom, start, end, strand, name in rows:
        g = genes.loc[name]
        assert (g.chromosome, g.start, g.end, g.strand) == (chrom, start, end, strand)
    src = pd.read_csv(shared_data / "genes" / f"genes_{build}.tsv.gz", sep="\t", dtype={"chromosome": str})
    assert len(genes) == int((src["gene_type"] == "protein_coding").sum())
    hit = nearest_genes(["7"], [rows[0][1] + 1000], read_genes(path))
    assert hit.nearest_gene[0] == "KCNH2" and hit.gene_distance[0] == 0
    with pytest.raises(InputError, match="no shipped gene table"):
        packaged_genes("NCBI36")


def test_read_genes__gene_table_layout_checked_by_the_shared_table_reader(tmp_path):
    """A table in the shipped ``chromosome start end gene strand`` layout is read by formats.tables.read_table:
    short rows, truncated gzip and non-integer coordinates are one-line errors naming --genes and the file."""
    import gzip

    head = "chromosome\tstart\tend\tgene\tstrand\n"
    good = head + "7\t150944961\t150978321\tKCNH2\t-\n1\t162069691\t162370475\tNOS1AP\t+\n"
    (tmp_path / "g.tsv").write_text(good)
    g = read_genes(tmp_path / "g.tsv")
    assert g.gene.tolist() == ["NOS1AP", "KCNH2"] and g.start.dtype == "int64"
    assert g.iloc[1].tolist() == ["7", 150944961, 150978321, "KCNH2", "-"]
    (tmp_path / "short.tsv").write_text(good + "3\t38548057\tSCN5A\t-\n")
    with pytest.raises(InputError, match=r"^--genes .*short.tsv:4: 4 fields, the header has 5") as e:
        read_genes(tmp_path / "short.tsv")
    assert "\n" not in str(e.value)
    data = gzip.compress(good.encode())
    (tmp_path / "cut.tsv.gz").write_bytes(data[:len(data) - 12])
    with pytest.raises(InputError, match=r"^--genes .*cut.tsv.gz: truncated gzip"):
        read_genes(tmp_path / "cut.tsv.gz")
    (tmp_path / "x.tsv").write_text(head + "7\t150944961.5\t150978321\tKCNH2\t-\n")
    with pytest.raises(InputError, match=r"^--genes .*x.tsv: column start, record 1 \(gene 'KCNH2'\)"):
        read_genes(tmp_path / "x.tsv")
    # start after end was read silently (review finding): refused as a BED line's is
    (tmp_path / "rev.tsv").write_text(head + "7\t150978321\t150944961\tKCNH2\t-\n")
    with pytest.raises(InputError, match=r"^--genes .*rev.tsv: record 1 \(gene 'KCNH2'\): bad coordinates "
                                         r"7:150978321-150944961"):
        read_genes(tmp_path / "rev.tsv")


@pytest.mark.parametrize("build", ["GRCh37", "GRCh38"])
def test_read_genes__ensembl_export_read_by_column_names(build, shared_data, tmp_path):
    """An Ensembl export (``chromosome start end strand gene_id gene_name gene_type``, the shared gene tables) is
    read by column name: its protein-coding rows equal the shipped table built from it (was: parsed as BED, 'invalid
    literal for int(): start'); an empty gene_name takes the gene_id; a row with neither is named."""
    from edfgen.formats.genes import packaged_genes

    src = shared_data / "genes" / f"genes_{build}.tsv.gz"
    every = read_genes(src)
    raw = pd.read_csv(src, sep="\t", dtype=str, keep_default_na=False)
    assert len(every) == len(raw) and list(every.columns) == ["chromosome", "start", "end", "gene", "strand"]
    coding = set(raw.loc[raw["gene_type"] == "protein_coding", "gene_id"])
    named = raw.set_index("gene_id")["gene_name"].replace("", pd.NA).fillna(raw.set_index("gene_id").index.to_series())
    shipped = read_genes(packaged_genes(build))
    keep = every[every["gene"].isin(named[list(coding)])].merge(shipped, how="outer", indicator=True)
    assert (keep["_merge"] == "both").all()
    table = "gene_id\tchromosome\tstart\tend\tgene_name\n" + "ENSG1\tchr7\t10\t20\tKCNH2\nENSG2\t7\t30\t40\t\n"
    (tmp_path / "e.tsv").write_text(table)
    g = read_genes(tmp_path / "e.tsv")
    assert g[["chromosome", "start", "end", "gene", "strand"]].values.tolist() == [
        ["7", 10, 20, "KCNH2", "."], ["7", 30, 40, "ENSG2", "."]]
    (tmp_path / "n.tsv").write_text("chromosome\tstart\tend\tgene_name\n7\t10\t20\t\n")
    with pytest.raises(InputError, match=r"--genes .*n.tsv: record 1 has no gene name \(gene_name empty\)"):
        read_genes(tmp_path / "n.tsv")
