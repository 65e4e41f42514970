"""GWAS Catalog reading (2016 and v1.0.2 layouts), ECG trait selection, novelty, build checks, download."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError, ToolError
from edfgen.commands.annotate import download_catalog
from edfgen.formats.catalog import ECG_EFO_IDS, check_build_against_catalog, read_catalog, read_loci, select_traits
from edfgen.kernels.annotate import AnnotateSettings, annotate_loci
from edfgen.formats.dictionary import check_file

DATA = Path(__file__).parent / "data"
V102 = DATA / "gwas_catalog_v1.0.2_small.tsv"


@pytest.fixture(scope="module")
def cat2016(shared_data):
    return read_catalog(shared_data / "gwas_catalog" / "ecg_traits_associations_2016-01-18.tsv")


def _loci(rows):
    return pd.DataFrame(rows, columns=["variant_id", "chromosome", "base_pair_location", "p_value"])


# ----------------------------------------------------------------------------- reading
def test_read_catalog__2016_layout(cat2016, shared_data):
    raw = pd.read_csv(shared_data / "gwas_catalog" / "ecg_traits_associations_2016-01-18.tsv", sep="\t")
    assert len(raw.columns) == 36 and len(cat2016) == len(raw) == 346     # no multi-SNP rows in 2016 extract
    nos1ap = cat2016[cat2016.catalog_variant == "rs12143842"]
    assert set(nos1ap.position) == {162064100} and set(nos1ap.chromosome) == {"1"}
    assert nos1ap.p_value.min() == pytest.approx(1e-213)
    assert nos1ap.study_accession.isna().all()            # the 2016 layout has no STUDY ACCESSION


def test_read_catalog__v102_layout_and_multi_variant_quirks():
    cat = read_catalog(V102)
    raw = pd.read_csv(V102, sep="\t", dtype=str)
    assert {"STUDY ACCESSION", "GENOTYPING TECHNOLOGY"} <= set(raw.columns) and len(raw.columns) == 38
    assert cat.study_accession.notna().all()
    by = cat.groupby("catalog_variant")
    # haplotype 'rs2968863; rs1805128' with CHR_ID '7;21' -> two rows with their own chromosome/position
    hap = cat[cat.study_accession.eq("GCST_FIXTURE_5")]
    assert sorted(zip(hap.catalog_variant, hap.chromosome, hap.position)) == [
        ("rs1805128", "21", 34449383), ("rs2968863", "7", 150926049), ("rs2968863", "7", 150926049)]
    # interaction 'rs7188697 x rs11129795' with CHR_ID '16 x 3'
    assert ("3", 38547672) in set(zip(by.get_group("rs11129795").chromosome, by.get_group("rs11129795").position))
    # no position -> NA kept (matchable by LD through the rsID); one CHR_ID shared by two SNPs
    assert by.get_group("rs999999999").position.isna().all()
    assert by.get_group("rs222").chromosome.tolist() == ["3"] and by.get_group("rs222").position.tolist() == [38710000]


def test_read_catalog__missing_column_is_named(tmp_path):
    bad = tmp_path / "bad.tsv"
    pd.read_csv(V102, sep="\t", dtype=str).drop(columns=["CHR_POS"]).to_csv(bad, sep="\t", index=False)
    with pytest.raises(InputError, match="CHR_POS"):
        read_catalog(bad)


def test_select_traits__ecg_default_custom_and_any(cat2016):
    ecg = select_traits(cat2016)
    assert len(ecg) == len(cat2016)                         # the extract holds ECG traits only
    v = read_catalog(V102)
    assert "rs1421085" not in set(select_traits(v).catalog_variant)          # BMI row dropped
    assert "rs1421085" in set(select_traits(v, any_trait=True).catalog_variant)
    qt = select_traits(cat2016, ["QT interval"])
    assert set(qt.trait) == {"QT interval"} or qt.mapped_trait.str.contains("QT").all()
    by_efo = select_traits(cat2016, ["EFO_0004462"])
    assert by_efo.mapped_trait.str.contains("PR interval").all() and len(by_efo) >= 36
    assert all(k.startswith("EFO_") for k in ECG_EFO_IDS)
    with pytest.raises(InputError, match="regular expression"):
        select_traits(cat2016, ["(unclosed"])


# ----------------------------------------------------------------------------- novelty
def test_annotate_loci__catalog_row_without_a_position_known_by_its_rsid_in_grch38(cat2016):
    """A catalog row whose CHR_POS is empty (or whose token counts differ) has no position for the window; the
    locus that is that rsID is still known (known_by 'rsid'), as GRCh37 loci always were (review finding: GRCh38
    loci were called novel)."""
    cat = select_traits(cat2016)
    cat = cat.iloc[[0] + list(range(len(cat)))].reset_index(drop=True)       # a copy of the first row, then
    cat.loc[0, "catalog_variant"] = "rs999000111"                           # without a position
    cat.loc[0, ["chromosome", "position"]] = pd.NA
    loci = _loci([["rs999000111", "22", 10_000_000, 1e-9], ["rs999000112", "22", 10_000_001, 1e-9]])
    res = annotate_loci(loci, cat, settings=AnnotateSettings(window_kb=500))
    assert res.novel.tolist() == [False, True] and res.known_by.tolist() == ["rsid", ""]


def test_annotate_loci__real_catalog_positions_known_far_loci_novel(cat2016):
    loci = _loci([["rs12143842", "1", 162064100, 1e-20],        # NOS1AP: known (same position)
                  ["v_near", "7", 150926049 + 300_000, 1e-9],   # 300 kb from KCNH2 hit: known
                  ["v_far", "1", 162064100 + 2_000_000, 1e-9],  # 2 Mb away: novel
                  ["v_chr", "22", 10_000_000, 1e-8]])
    res = annotate_loci(loci, select_traits(cat2016), settings=AnnotateSettings(window_kb=500))
    assert res.novel.tolist() == [False, False, True, True]
    assert res.known_by.tolist() == ["rsid,window", "window", "", ""]     # rs12143842 is itself a catalog variant
    first = res.iloc[0]
    assert first.nearest_catalog_variant == "rs12143842" and first.nearest_catalog_distance == 0
    assert first.nearest_catalog_p_value == pytest.approx(1e-213)           # ties -> smallest p
    assert str(first.nearest_catalog_pubmed_id) == "24952745"
    assert res.iloc[2].nearest_catalog_distance >= 2_000_000 - 500_000
    assert pd.isna(res.iloc[3].nearest_catalog_variant) or res.iloc[3].chromosome == "22"
    # a narrower window turns the 300 kb locus novel
    res2 = annotate_loci(loci, select_traits(cat2016), settings=AnnotateSettings(window_kb=100))
    assert res2.novel.tolist() == [False, True, True, True]


def test_check_build__grch37_positions_detected(cat2016):
    """rsIDs at GRCh37 positions (NOS1AP rs12143842 was chr1:162033890 on GRCh37) are an error."""
    ids = cat2016.drop_duplicates("catalog_variant").head(5)
    shifted = _loci([[r.catalog_variant, r.chromosome, int(r.position) - 30_210, 1e-9] for r in ids.itertuples()])
    with pytest.raises(InputError, match="genome build"):
        check_build_against_catalog(shifted, cat2016)
    same = _loci([[r.catalog_variant, r.chromosome, int(r.position), 1e-9] for r in ids.itertuples()])
    check_build_against_catalog(same, cat2016)              # GRCh38 positions pass


def test_read_loci__declared_builds(tmp_path):
    base = _loci([["rs1", "1", 100, 1e-9]])
    base.to_csv(tmp_path / "ok.tsv", sep="\t", index=False)
    assert read_loci(tmp_path / "ok.tsv").variant_id.tolist() == ["rs1"]
    base.assign(genome_build="GRCh37").to_csv(tmp_path / "col.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="GRCh37"):
        read_loci(tmp_path / "col.tsv")
    base.assign(build="hg38").to_csv(tmp_path / "col38.tsv", sep="\t", index=False)
    read_loci(tmp_path / "col38.tsv")
    (tmp_path / "hdr.tsv").write_text("##genome_build=hg19\n" + base.to_csv(sep="\t", index=False))
    with pytest.raises(InputError, match="hg19"):
        read_loci(tmp_path / "hdr.tsv")
    base.to_csv(tmp_path / "loci_hg19.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="hg19"):
        read_loci(tmp_path / "loci_hg19.tsv")
    base.drop(columns="p_value").to_csv(tmp_path / "nop.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="p_value"):
        read_loci(tmp_path / "nop.tsv")


# ----------------------------------------------------------------------------- LD-based novelty
class _FakePanel:
    """Two variants in perfect LD and one independent, as a PlinkGenotypes stand-in."""

    def __init__(self):
        from edfgen.formats.genotypes.panel import PlinkVariants

        rng = np.random.default_rng(0)
        x = rng.integers(0, 3, 400).astype(np.int8)
        self.g = np.stack([x, x, rng.integers(0, 3, 400).astype(np.int8)], axis=1)
        self.variants = PlinkVariants(chromosome=np.array(["1", "1", "1"]),
                                      variant_id=np.array(["locus_var", "rs12143842", "rs_indep"]),
                                      position=np.array([163_000_000, 162064100, 163_100_000]),
                                      allele1=np.array(["A"] * 3), allele2=np.array(["G"] * 3))

    def read(self, idx):
        return self.g[:, np.asarray(idx, dtype=int)]

    def haploid(self, row):
        return None


def test_annotate_loci__ld_with_catalog_variant_makes_known(cat2016):
    loci = _loci([["locus_var", "1", 163_000_000, 1e-9]])    # ~0.94 Mb from rs12143842: novel by window
    res = annotate_loci(loci, select_traits(cat2016), settings=AnnotateSettings(window_kb=500))
    assert res.novel.tolist() == [True]
    res = annotate_loci(loci, select_traits(cat2016), panel=_FakePanel(),
                        settings=AnnotateSettings(window_kb=500, ld_r2=0.1))
    assert res.novel.tolist() == [False] and res.known_by.tolist() == ["ld"]
    assert res.ld_catalog_variant.tolist() == ["rs12143842"] and res.ld_r2.iloc[0] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- CLI
def _annotated(loci: Path, out: Path) -> pd.DataFrame:
    """``edfgen annotate`` of ``loci`` against the v1.0.2 catalog excerpt and the small gene table, into ``out``
    (it must succeed), read back."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    res = CliRunner().invoke(cli, ["annotate", "--loci", str(loci), "--catalog", str(V102),
                                   "--genes", str(DATA / "genes_small.gtf"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return pd.read_csv(out, sep="\t")


def test_cli_annotate__v102_catalog_genes_and_dictionary(tmp_path):
    from click.testing import CliRunner

    from edfgen.cli import cli

    loci = pd.DataFrame({"locus": [1, 2], "variant_id": ["rs12143842", "v_new"], "chromosome": ["1", "5"],
                         "base_pair_location": [162064100, 50_000_000], "p_value": [1e-30, 1e-9],
                         "phenotype": ["edf_001", "edf_002"], "phenotypes": ["edf_001", "edf_002"],
                         "n_phenotypes": [1, 1], "index_variants": ["edf_001:rs12143842", "edf_002:v_new"]})
    loci.to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    out = tmp_path / "annotated.tsv"
    a = _annotated(tmp_path / "loci.tsv", out)
    check_file("annotated_loci", out)
    assert a.novel.tolist() == [False, True]
    assert a.nearest_gene.tolist()[0] == "OLFML2B"            # rs12143842 lies inside OLFML2B's span
    assert a.gene_distance.tolist()[0] == 0
    man = json.loads((tmp_path / "annotated.tsv.manifest.json").read_text())
    assert man["extra"]["n_novel"] == 1
    res = CliRunner().invoke(cli, ["annotate", "--loci", str(tmp_path / "loci.tsv"), "--catalog", str(V102),
                                   "--traits", "QT", "--any-trait", "--out", str(out)])
    assert res.exit_code == 2 and "mutually exclusive" in res.output


def test_download_catalog__offline_is_one_line_tool_error(tmp_path):
    with pytest.raises(ToolError, match="cannot fetch"):
        download_catalog(tmp_path / "cat.tsv", url="http://127.0.0.1:9/nothing.tsv", timeout=2)
    assert not (tmp_path / "cat.tsv").exists()


def test_download_catalog__file_url_roundtrip_and_cli(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from edfgen.cli import cli

    out = download_catalog(tmp_path / "cat.tsv", url=V102.resolve().as_uri())
    assert read_catalog(out).equals(read_catalog(V102))
    import hashlib
    import json

    man = json.loads((tmp_path / "cat.tsv.manifest.json").read_text())
    assert man["command"] == "edfgen catalog download" and man["parameters"]["url"] == V102.resolve().as_uri()
    assert man["extra"]["sha256"] == hashlib.sha256(V102.read_bytes()).hexdigest() and man["outputs"] == ["cat.tsv"]
    (tmp_path / "notcat.tsv").write_text("a\tb\n1\t2\n")
    with pytest.raises(ToolError, match="not a GWAS Catalog"):
        download_catalog(tmp_path / "x.tsv", url=(tmp_path / "notcat.tsv").as_uri())
    import urllib.request
    import urllib.error

    def offline(*a, **k):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    res = CliRunner().invoke(cli, ["catalog", "download", "--out", str(tmp_path / "c.tsv")])
    assert res.exit_code == 1
    assert res.output.count("\n") == 1 and "edfgen catalog: error: catalog download: cannot fetch" in res.output


def test_cli_annotate__per_chromosome_sumstats_plot_like_the_whole_file(tmp_path):
    """--sumstats given as one phenotype's per-chromosome directories gives the annotate table and the
    regional plots of the whole file; a variant in two of its files is a one-line input error."""
    from bed_reader import to_bed
    from click.testing import CliRunner

    from edfgen.cli import cli

    rng = np.random.default_rng(4)
    n, m = 200, 60
    chrom = np.repeat(["1", "5"], m // 2)
    pos = np.tile(10_000_000 + np.arange(m // 2) * 5_000, 2)
    G = rng.binomial(2, 0.3, (n, m)).astype(float)
    G[:, 1:m // 2] = np.where(rng.random((n, m // 2 - 1)) < 0.2, G[:, 1:m // 2], G[:, [0]])   # LD with the lead
    vid = [f"rs{100 + i}" for i in range(m)]
    to_bed(tmp_path / "panel.bed", G, properties={"sid": vid, "chromosome": chrom, "bp_position": pos,
                                                 "allele_1": ["A"] * m, "allele_2": ["G"] * m})
    p = 10.0 ** -rng.uniform(0, 3, m)
    p[0], p[m // 2] = 1e-12, 1e-9
    ss = pd.DataFrame({"variant_id": vid, "chromosome": chrom, "base_pair_location": pos, "effect_allele": "A",
                       "other_allele": "G", "beta": 0.1, "standard_error": 0.02, "p_value": p})
    (tmp_path / "all").mkdir()
    ss.to_csv(tmp_path / "all" / "y.tsv.gz", sep="\t", index=False)
    for c in ("1", "5"):
        (tmp_path / f"chr{c}").mkdir()
        ss[ss.chromosome == c].to_csv(tmp_path / f"chr{c}" / "y.tsv.gz", sep="\t", index=False)
    pd.DataFrame({"locus": [1, 2], "variant_id": [vid[0], vid[m // 2]], "chromosome": ["1", "5"],
                  "base_pair_location": [pos[0], pos[m // 2]], "p_value": [1e-12, 1e-9], "phenotype": "y",
                  "phenotypes": "y"}).to_csv(tmp_path / "loci.tsv", sep="\t", index=False)

    def annotate(out, *sumstats):
        args = ["annotate", "--loci", str(tmp_path / "loci.tsv"), "--catalog", str(V102), "--ld-bfile",
                str(tmp_path / "panel"), "--regional-plots", "2", "--out", str(tmp_path / out)]
        return CliRunner().invoke(cli, args + [a for s in sumstats for a in ("--sumstats", str(s))])

    r1 = annotate("whole.tsv", tmp_path / "all" / "y.tsv.gz")
    r2 = annotate("split.tsv", tmp_path / "chr1", tmp_path / "chr5")
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "whole.tsv", sep="\t"),
                                  pd.read_csv(tmp_path / "split.tsv", sep="\t"))
    whole = sorted(f.name for f in (tmp_path / "whole_regional").glob("*.png"))
    assert len(whole) == 2 and whole == sorted(f.name for f in (tmp_path / "split_regional").glob("*.png"))
    for f in whole:   # the same points, r² and labels: the same image
        assert (tmp_path / "whole_regional" / f).read_bytes() == (tmp_path / "split_regional" / f).read_bytes()
    r = annotate("bad.tsv", tmp_path / "all", tmp_path / "chr5")
    assert r.exit_code == 2 and "appears twice" in r.output and str(tmp_path / "chr5" / "y.tsv.gz") in r.output


def test_ld_with_catalog__panel_naming_x_by_plink_code_found_by_position():
    """Was: catalog variants found in the LD panel by position compared the catalog's ``X`` with the panel's
    label, so a panel naming X by PLINK's 23 (or XY, 25 for its pseudo-autosomal region) found none of them and
    no X locus was known by LD. The panel's labels are compared as a GWAS-SSF round trip gives them."""
    from edfgen.formats.genotypes.panel import PlinkVariants
    from edfgen.kernels.annotate import ld_with_catalog

    panel = _FakePanel()
    for code in ("23", "XY", "25", "X"):
        panel.variants = PlinkVariants(chromosome=np.array([code] * 3), variant_id=np.array(["locus_var", "v2", "v3"]),
                                       position=np.array([1000, 2000, 3000]), allele1=np.array(["A"] * 3),
                                       allele2=np.array(["G"] * 3))
        loci = _loci([["locus_var", "X", 1000, 1e-9]])
        cat = pd.DataFrame({"catalog_variant": ["rs_cat"], "chromosome": ["X"], "position": [2000]})
        res = ld_with_catalog(loci, cat, panel, settings=AnnotateSettings(ld_r2=0.1))
        assert res["ld_catalog_variant"].tolist() == ["rs_cat"] and res["ld_r2"].iloc[0] == pytest.approx(1.0), code


def test_read_catalog__p_below_a_doubles_range_kept_in_neg_log10_and_wins_ties(tmp_path, shared_data):
    """The Catalog prints p-values such as ``2E-400``: ``p_value`` underflows to 0 (a double cannot hold it),
    ``neg_log10_p_value`` is exact from the text, and the nearest-association tie goes to that row, not to the
    first row that happened to be 0 too (was: p 0, -log10 lost, ties by file order)."""
    src = shared_data / "gwas_catalog" / "ecg_traits_associations_2016-01-18.tsv"
    raw = pd.read_csv(src, sep="\t", dtype=str, keep_default_na=False)
    row = raw[raw["SNPS"] == "rs12143842"].iloc[[0]]
    tiny = pd.concat([row.assign(**{"P-VALUE": "3E-330", "PUBMEDID": "1"}),
                      row.assign(**{"P-VALUE": "2.5E-400", "PUBMEDID": "2"}),
                      row.assign(**{"P-VALUE": "4e-12", "PUBMEDID": "3"}),
                      row.assign(**{"P-VALUE": "NR", "PUBMEDID": "4", "PVALUE_MLOG": ""})])   # (no -log10 p either)
    path = tmp_path / "cat.tsv"
    tiny.to_csv(path, sep="\t", index=False)
    cat = read_catalog(path)
    assert cat["p_value"].tolist()[:3] == [0.0, 0.0, 4e-12] and np.isnan(cat["p_value"].iloc[3])
    nlp = cat["neg_log10_p_value"].to_numpy()
    np.testing.assert_allclose(nlp[:3], [330 - np.log10(3), 400 - np.log10(2.5), 12 - np.log10(4)], rtol=1e-12)
    assert np.isnan(nlp[3])
    res = annotate_loci(_loci([["rs12143842", "1", 162064100, 1e-20]]), cat)
    assert str(res.iloc[0].nearest_catalog_pubmed_id) == "2"
    assert res.iloc[0].nearest_catalog_neg_log10_p_value == pytest.approx(400 - np.log10(2.5))


def test_cli_annotate__a_lead_below_a_doubles_range_keeps_its_neg_log10_p(tmp_path):
    """Review s39edge: a lead of p 3.7e-1212 (edfgen gwas, N = 5,000, beta/SE = 101) is p 0 in loci.tsv with its
    ``neg_log_10_p_value`` 1211.43 beside it; annotate wrote the p 0 alone (two such leads tied, the strength of the
    hit lost). Now ``neg_log_10_p_value`` follows ``p_value``: the file's value where p is 0, ``-log10 p`` where the
    file has none (exact), NA for a p of 0 without one."""
    loci = pd.DataFrame({"locus": [1, 2, 3], "variant_id": ["rs12143842", "v_new", "v_zero"],
                         "chromosome": ["1", "5", "7"], "base_pair_location": [162064100, 50_000_000, 1000],
                         "p_value": [0.0, 1e-9, 0.0], "neg_log_10_p_value": [1211.43, np.nan, np.nan],
                         "phenotypes": ["huge", "edf_002", "edf_003"]})
    loci.to_csv(tmp_path / "loci.tsv", sep="\t", index=False, na_rep="NA")
    out = tmp_path / "annotated.tsv"
    a = _annotated(tmp_path / "loci.tsv", out)
    check_file("annotated_loci", out)
    assert list(a.columns[4:6]) == ["p_value", "neg_log_10_p_value"]
    assert a.p_value.tolist() == [0.0, 1e-9, 0.0]
    np.testing.assert_allclose(a.neg_log_10_p_value.to_numpy()[:2], [1211.43, 9.0], rtol=1e-12)
    assert np.isnan(a.neg_log_10_p_value.iloc[2])


@pytest.mark.parametrize("header", ["", "##genome_build=GRCh38\n"])
def test_cli_annotate__a_lead_list_with_p_text_below_a_doubles_range_keeps_its_neg_log10_p(tmp_path, header):
    """Review s39edgefix: a lead list not written by clump (FUMA, a consortium's table: p only) with p ``1e-400``:
    read_loci parsed it as 0, so annotate wrote ``neg_log_10_p_value`` NA and the leads tied at p 0. Now the
    -log10 comes from the p text (400 and 349.49), as the catalog reader does; a literal 0 stays NA."""
    path = tmp_path / "l.tsv"
    path.write_text(header + "variant_id\tchromosome\tbase_pair_location\tp_value\n"
                    "rs1\t1\t162064100\t1e-400\nrs2\t5\t50000000\t3.2E-350\nrs3\t7\t1000\t0\n"
                    "rs4\t7\t9000000\t2e-9\n")
    a = _annotated(path, tmp_path / "a.tsv").set_index("variant_id")
    assert a.loc[["rs1", "rs2", "rs3"], "p_value"].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(a.loc[["rs1", "rs2", "rs4"], "neg_log_10_p_value"],
                               [400.0, 350 - np.log10(3.2), 9 - np.log10(2)], rtol=1e-5)   # (written to 6 digits)
    assert np.isnan(a.loc["rs3", "neg_log_10_p_value"])


# ----------------------------------------------------------------------------- builds and labels (review s30)
def test_check_build__grch38_positions_under_grch37_detected(cat2016):
    """``--reference-genome GRCh37`` with loci whose rsIDs sit at the catalog's GRCh38 positions: an error (the
    builds' coordinates differ almost everywhere); at GRCh37 positions (shifted) they pass."""
    ids = cat2016.drop_duplicates("catalog_variant").head(5)
    same = _loci([[r.catalog_variant, r.chromosome, int(r.position), 1e-9] for r in ids.itertuples()])
    with pytest.raises(InputError, match="look like GRCh38"):
        check_build_against_catalog(same, cat2016, reference_genome="GRCh37")
    shifted = same.assign(base_pair_location=same["base_pair_location"] - 30_210)
    check_build_against_catalog(shifted, cat2016, reference_genome="GRCh37")


def test_read_loci__the_clump_runs_reference_genome_is_checked(tmp_path, caplog):
    """Loci of a clump run given --reference-genome GRCh37 (plink2/REGENIE/BOLT sumstats: no -meta.yaml) were
    annotated as GRCh38 without a word; now an error, and GRCh38 there (clump's default) with GRCh37 here a
    warning."""
    for build in ("GRCh37", "GRCh38"):
        d = tmp_path / build
        d.mkdir()
        _loci([["rs1", "1", 100, 1e-9]]).to_csv(d / "loci.tsv", sep="\t", index=False)
        (d / "manifest.json").write_text(json.dumps({"command": "edfgen clump", "finished": "now",
                                                     "outputs": ["loci.tsv"],
                                                     "parameters": {"reference_genome": build}}))
    with pytest.raises(InputError, match="was given --reference-genome GRCh37"):
        read_loci(tmp_path / "GRCh37" / "loci.tsv")
    assert len(read_loci(tmp_path / "GRCh37" / "loci.tsv", reference_genome="GRCh37")) == 1
    assert len(read_loci(tmp_path / "GRCh38" / "loci.tsv")) == 1 and "warn" not in caplog.text.lower()
    with caplog.at_level("WARNING"):
        read_loci(tmp_path / "GRCh38" / "loci.tsv", reference_genome="GRCh37")
    assert "was given --reference-genome GRCh38 (its default)" in caplog.text


def test_read_loci_and_catalog__plink_chromosome_codes(tmp_path, caplog):
    """PLINK's 25 (pseudo-autosomal) at 1.5 Mb is X, not MT, in a loci table; a catalog's CHR_ID 23 is X as the
    loci's 23 is (review s30: a locus on 23 at a catalog variant's position was novel); a catalog row with more SNPs
    than positions is warned about (its variants are matched by rsID only)."""
    _loci([["parA", "25", 1_500_000, 1e-9], ["mtA", "25", 15_000, 1e-9], ["x23", "23", 80_000_000, 1e-9]]).to_csv(
        tmp_path / "l.tsv", sep="\t", index=False)
    assert read_loci(tmp_path / "l.tsv")["chromosome"].tolist() == ["X", "MT", "X"]
    raw = pd.read_csv(V102, sep="\t", dtype=str)
    row = raw.iloc[[0]].copy()
    row[["SNPS", "CHR_ID", "CHR_POS"]] = ["rs900006", "23", "80000000"]
    multi = raw.iloc[[0]].copy()
    multi[["SNPS", "CHR_ID", "CHR_POS"]] = ["rs900013; rs900014; rs900015", "12", "100000000;100100000"]
    pd.concat([raw, row, multi]).to_csv(tmp_path / "cat.tsv", sep="\t", index=False)
    with caplog.at_level("WARNING"):
        cat = read_catalog(tmp_path / "cat.tsv")
    assert "1 rows list a different number of SNPS and CHR_ID/CHR_POS" in caplog.text
    assert cat.set_index("catalog_variant").loc["rs900006", "chromosome"] == "X"
    assert cat.set_index("catalog_variant").loc["rs900014", "position"] is pd.NA
    res = annotate_loci(read_loci(tmp_path / "l.tsv").iloc[[2]], cat, settings=AnnotateSettings(window_kb=1))
    assert res["novel"].tolist() == [False]


def test_check_build__no_loci_is_not_warned_as_loci_without_rsids(cat2016, caplog):
    """A clump that found no locus (a small cohort) gave annotate's 'no rsIDs, so their build cannot be checked'
    among the run's warnings to check: an empty table has no rsID to check, which is no finding."""
    import logging

    with caplog.at_level(logging.WARNING):
        check_build_against_catalog(_loci([]), cat2016)
    assert "no rsIDs" not in caplog.text
    with caplog.at_level(logging.WARNING):
        check_build_against_catalog(_loci([["1_100_A_G", "1", 100, 1e-9]]), cat2016)
    assert "no rsIDs" in caplog.text


def test_cli_annotate__chr_pos_summary_statistics_are_read_on_the_build_they_declare(tmp_path, cat2016, shared_data):
    """Was (known defect, s38): summary statistics given as --loci with ``chr:pos:ref:alt`` ids (no rsID for the
    catalog to check the build by) and a ``-meta.yaml`` declaring GRCh37 were annotated as GRCh38 (the option's
    default; the file's own metadata was not read): windows and nearest genes compared two builds. Without
    --reference-genome the declared build is used now (as an explicit --reference-genome GRCh37 reads it); an
    explicit GRCh38 against it is refused; a file declaring nothing is read as GRCh38 with a warning that says
    so and how to declare it."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    catf = str(shared_data / "gwas_catalog" / "ecg_traits_associations_2016-01-18.tsv")
    rows = cat2016.dropna(subset=["position"]).drop_duplicates("catalog_variant").head(6)
    ss = pd.DataFrame({"variant_id": [f"{r.chromosome}:{int(r.position)}:A:G" for r in rows.itertuples()],
                       "chromosome": rows["chromosome"].to_numpy(), "base_pair_location": rows["position"].astype(int),
                       "effect_allele": "A", "other_allele": "G", "beta": 0.1, "standard_error": 0.01,
                       "p_value": 1e-20})
    for name in ("qt", "bare"):
        ss.to_csv(tmp_path / f"{name}.tsv", sep="\t", index=False)
    Path(f"{tmp_path / 'qt.tsv'}-meta.yaml").write_text("genome_assembly: GRCh37\ncoordinate_system: 1-based\n")

    said = []

    def annotate(loci, *build):
        out = tmp_path / f"a{len(list(tmp_path.glob('a*.tsv')))}.tsv"
        res = CliRunner().invoke(cli, ["annotate", "--loci", str(tmp_path / loci), "--catalog", catf, *build,
                                       "--out", str(out)])
        said.append(res.output)
        if res.exit_code:
            return res, None
        man = json.loads(Path(f"{out}.manifest.json").read_text())
        return pd.read_csv(out, sep="\t"), man["parameters"]["reference_genome"]

    declared, build = annotate("qt.tsv")
    assert build == "GRCh37" and "no rsIDs" not in said[-1], said[-1]
    assert "matched with the GRCh38 catalog by rsID only" in said[-1]
    explicit, _ = annotate("qt.tsv", "--reference-genome", "GRCh37")
    pd.testing.assert_frame_equal(declared, explicit)
    assert declared["novel"].all()                  # GRCh37 positions are not compared with GRCh38 windows
    res, _ = annotate("qt.tsv", "--reference-genome", "GRCh38")
    assert res.exit_code != 0 and "qt.tsv: its -meta.yaml genome_assembly declares genome build 'GRCh37'" in \
        res.output, res.output
    bare, build = annotate("bare.tsv")              # declares nothing: GRCh38, said
    assert build == "GRCh38" and not bare["novel"].any()
    assert "no rsIDs, so their build cannot be checked against the catalog, and the file declares none: the " \
           "positions are taken as GRCh38" in said[-1] and "genome_assembly in the file's -meta.yaml" in said[-1]


def test_read_loci__two_declarations_that_disagree_are_refused(tmp_path):
    """Without --reference-genome the first declared build is the loci's; a second declaration of another build
    is refused naming both (which one is right cannot be told)."""
    path = tmp_path / "l.tsv"
    path.write_text("##genome_build=GRCh38\n" + _loci([["1:100:A:G", "1", 100, 1e-9]]).to_csv(sep="\t", index=False))
    Path(f"{path}-meta.yaml").write_text("genome_assembly: GRCh37\n")
    with pytest.raises(InputError) as e:
        read_loci(path, reference_genome=None)
    assert str(e.value) == (f"--loci {path}: header line '##genome_build=GRCh38' declares genome build 'GRCh38', "
                            "but its -meta.yaml genome_assembly declares GRCh37: correct the one that is wrong (or "
                            "lift the loci over)")           # (second read of s38: the path was in it twice)
    Path(f"{path}-meta.yaml").unlink()
    t = read_loci(path, reference_genome=None)
    assert t.attrs["reference_genome"] == "GRCh38" and "header line" in t.attrs["build_declared"]


@pytest.mark.parametrize("name", ["loci_hg19ToHg38.tsv", "EUR_b37_liftedTo38.tsv"])
def test_read_loci__a_build_in_the_file_name_never_sets_the_build(tmp_path, name):
    """Was (review of s38): without --reference-genome a build hint in the file name set the loci's build:
    ``loci_hg19ToHg38.tsv`` (lifted to GRCh38, keeping its old name) was read as GRCh37 with only an INFO line, and
    ``EUR_b37_liftedTo38.tsv`` was refused as two declarations that disagree. A name is a hint, not a declaration:
    against GRCh38 loci it is refused as it was before (give --reference-genome GRCh37, or rename); a build
    declared inside the file (or its -meta.yaml) that agrees with the name is read on it."""
    path = tmp_path / name
    rows = _loci([["1:100:A:G", "1", 100, 1e-9]]).to_csv(sep="\t", index=False)
    path.write_text(rows)
    for build in (None, "GRCh38"):
        with pytest.raises(InputError, match=r"the file name says genome build (hg19|_b37); edfgen annotates GRCh38 "
                                             r"coordinates \(lift the loci over to GRCh38, or give --reference-genome"):
            read_loci(path, reference_genome=build)
    assert read_loci(path, reference_genome="GRCh37").attrs["reference_genome"] == "GRCh37"
    Path(f"{path}-meta.yaml").write_text("genome_assembly: GRCh37\n")          # declared inside: read on it
    t = read_loci(path, reference_genome=None)
    assert t.attrs["reference_genome"] == "GRCh37" and "-meta.yaml" in t.attrs["build_declared"]
    Path(f"{path}-meta.yaml").unlink()


@pytest.mark.parametrize("name", ["loci_hg19ToHg38.tsv", "EUR_b37_liftedTo38.tsv"])
@pytest.mark.parametrize("where", ["header", "meta"])
def test_read_loci__a_grch38_declared_in_the_file_wins_over_its_name(tmp_path, caplog, name, where):
    """Was (review of s38 fixes): ``loci_hg19ToHg38.tsv`` whose content declares ``##genome_build=GRCh38`` (or
    its -meta.yaml GRCh38), no --reference-genome, was refused with "the file name says hg19 ... lift the loci
    over" though it is lifted and says so. The file's declaration wins over the name: read as GRCh38, with one
    warning that the name disagrees (and so with --reference-genome GRCh38)."""
    path = tmp_path / name
    rows = _loci([["1:100:A:G", "1", 100, 1e-9]]).to_csv(sep="\t", index=False)
    if where == "header":
        path.write_text("##genome_build=GRCh38\n" + rows)
    else:
        path.write_text(rows)
        Path(f"{path}-meta.yaml").write_text("genome_assembly: GRCh38\n")
    for build in (None, "GRCh38"):
        caplog.clear()
        with caplog.at_level("WARNING", logger="edfgen"):
            t = read_loci(path, reference_genome=build)
        assert t.attrs["reference_genome"] == "GRCh38" and len(t) == 1
        said = [r.getMessage() for r in caplog.records if "the file name says genome build" in r.getMessage()]
        assert len(said) == 1 and name in said[0] and "declares GRCh38: read as GRCh38" in said[0], caplog.text
        assert said[0].count(str(path)) == 1, said[0]        # (second read of s38: the path was in it twice)


@pytest.mark.parametrize("where", ["meta", "header", "column"])
def test_read_loci__a_declared_0_based_coordinate_system_is_read_plus_one(tmp_path, caplog, where):
    """Was: loci declaring ``coordinate_system`` 0-based (BED-style positions: their -meta.yaml, a
    ``##coordinate_system=0-based`` line or a column) were read as they stand, one base before the catalog's
    1-based positions (a lead at the catalog's position was annotated at a distance of 1 bp; an exact-position
    match missed). Read + 1, said once; an unknown value is one line naming the file."""
    path = tmp_path / "l.tsv"
    rows = _loci([["1:100:A:G", "1", 99, 1e-9], ["2:5:C:T", "2", 4, 1e-8]])
    if where == "column":
        rows["coordinate_system"] = "0-based"
    text = rows.to_csv(sep="\t", index=False)
    if where == "header":
        text = "##coordinate_system=0-based\n" + text
    path.write_text(text)
    if where == "meta":
        Path(f"{path}-meta.yaml").write_text("genome_assembly: GRCh38\ncoordinate_system: 0-based\n")
    with caplog.at_level("INFO", logger="edfgen"):
        t = read_loci(path)
    assert t["base_pair_location"].tolist() == [100, 5]
    said = [r.getMessage() for r in caplog.records if "coordinate_system 0-based" in r.getMessage()]
    assert len(said) == 1 and str(path) in said[0] and "+ 1" in said[0], caplog.text
    bad = text.replace("0-based", "half-open") if where != "meta" else text
    path.write_text(bad)
    if where == "meta":
        Path(f"{path}-meta.yaml").write_text("coordinate_system: half-open\n")
    with pytest.raises(InputError) as e:
        read_loci(path)
    assert str(path) in str(e.value) and "coordinate_system 'half-open': give 0-based or 1-based" in str(e.value)
    assert "\n" not in str(e.value)


def test_read_loci__1_based_and_two_coordinate_systems_that_disagree(tmp_path):
    """A declared 1-based is read as it stands; a -meta.yaml 0-based against a 1-based line is refused naming both."""
    path = tmp_path / "l.tsv"
    path.write_text("##coordinate_system=1-based\n" + _loci([["1:100:A:G", "1", 100, 1e-9]]).to_csv(sep="\t",
                                                                                                      index=False))
    assert read_loci(path)["base_pair_location"].tolist() == [100]
    Path(f"{path}-meta.yaml").write_text("coordinate_system: 0-based\n")
    with pytest.raises(InputError, match=r"its -meta.yaml declares coordinate_system 0-based, but header line "
                                         r"'##coordinate_system=1-based' declares 1-based"):
        read_loci(path)


@pytest.mark.parametrize("order", [("0-based", "1-based"), ("1-based", "0-based")])
def test_read_loci__a_coordinate_system_column_is_read_row_by_row(tmp_path, order):
    """Review of s39known (finding 3): a coordinate_system column mixing values was read by its last distinct
    value for every row ([99 0-based, 200 1-based] -> [99, 200]; the other order -> [100, 201]). Each row by its
    own value now, in either order; a row against the file's own declaration is refused naming both."""
    path = tmp_path / "l.tsv"
    rows = _loci([["1:100:A:G", "1", 99 if order[0] == "0-based" else 100, 1e-9],
                  ["1:200:C:T", "1", 199 if order[1] == "0-based" else 200, 1e-8],
                  ["1:300:C:T", "1", 300, 1e-8]])
    rows["coordinate_system"] = [*order, "NR"]          # (NR: not reported, 1-based)
    rows.to_csv(path, sep="\t", index=False)
    assert read_loci(path)["base_pair_location"].tolist() == [100, 200, 300]
    Path(f"{path}-meta.yaml").write_text("coordinate_system: 1-based\n")
    with pytest.raises(InputError, match=r"column coordinate_system declares coordinate_system 0-based, but its "
                                         r"-meta.yaml declares 1-based"):
        read_loci(path)


@pytest.mark.parametrize("suffix", [".tsv", ".parquet"])
def test_read_loci__a_coordinate_system_column_of_0_and_1_with_an_empty_cell(tmp_path, suffix):
    """Review of s39 (late merges, finding 3): a column of bare 0/1 with an empty cell is read by pandas as
    floats, and 0.0 was refused ("declares coordinate_system np.float64(0.0)"); read as the 0 and 1 it says, the
    empty row following the file (1-based)."""
    path = tmp_path / f"l{suffix}"
    rows = _loci([["1:100:A:G", "1", 99, 1e-9], ["1:200:C:T", "1", 200, 1e-8], ["1:300:C:T", "1", 300, 1e-8]])
    rows["coordinate_system"] = [0, 1, None]
    rows.to_csv(path, sep="\t", index=False) if suffix == ".tsv" else rows.to_parquet(path)
    assert read_loci(path)["base_pair_location"].tolist() == [100, 200, 300]


@pytest.mark.parametrize("where", ["meta", "header", "column"])
def test_read_loci__a_coordinate_system_not_reported_is_read_1_based(tmp_path, caplog, where):
    """Review of s39known (finding 1): ``NR`` (the GWAS Catalog's not reported) was refused; read 1-based, warned."""
    path = tmp_path / "l.tsv"
    rows = _loci([["1:100:A:G", "1", 100, 1e-9]])
    if where == "column":
        rows["coordinate_system"] = "NR"
    text = ("##coordinate_system=NR\n" if where == "header" else "") + rows.to_csv(sep="\t", index=False)
    path.write_text(text)
    if where == "meta":
        Path(f"{path}-meta.yaml").write_text("coordinate_system: NR\n")
    with caplog.at_level("WARNING", logger="edfgen"):
        assert read_loci(path)["base_pair_location"].tolist() == [100]
    assert "declares coordinate_system 'NR' (not reported): positions read as 1-based" in caplog.text


@pytest.mark.parametrize("where", ["meta", "header", "column"])
def test_read_loci__annotate_finemap_and_coloc_read_one_loci_file_alike(tmp_path, where):
    """Review of s39known (finding 4): finemap/coloc's loci reader honoured only the -meta.yaml: a 0-based
    coordinate_system column read 100 in annotate and 99 in finemap, and a ``##coordinate_system=`` line made
    finemap refuse the file ('6 fields, the header has 1'). One reader (loci_table, loci_positions) now."""
    from edfgen.commands import coloc, finemap

    path = tmp_path / "loci.tsv"
    rows = _loci([["1:100:A:G", "1", 99, 1e-9], ["2:5:C:T", "2", 4, 1e-8]]).assign(locus=[1, 2], phenotypes="a")
    if where == "column":
        rows["coordinate_system"] = "0-based"
    path.write_text(("##coordinate_system=0-based\n" if where == "header" else "")
                    + rows.to_csv(sep="\t", index=False))
    if where == "meta":
        Path(f"{path}-meta.yaml").write_text("coordinate_system: 0-based\n")
    assert coloc.read_loci is finemap.read_loci
    assert (read_loci(path)["base_pair_location"].tolist() == finemap.read_loci(path)["base_pair_location"].tolist()
            == [100, 5])


def test_read_catalog__p_values_in_papers_notation_and_pvalue_mlog_are_read(tmp_path, caplog):
    """P-VALUE written as papers write it ('1 x 10-8', '2.5 × 10^-12', '3x10-9') was read as NA with a warning
    (annotate's nearest_catalog_p_value empty, the smallest-p tie break lost); now the number, and where P-VALUE is
    no number at all ('NR'), the catalog's own PVALUE_MLOG. Text that is neither stays NA and is warned."""
    raw = pd.read_csv(V102, sep="\t", dtype=str, keep_default_na=False).iloc[:5].copy()
    raw["P-VALUE"] = ["1 x 10-8", "2.5 × 10^-12", "3x10-9", "NR", "NR"]
    raw["PVALUE_MLOG"] = ["8", "11.6", "8.5", "9.25", ""]
    f = tmp_path / "catalog.tsv"
    raw.to_csv(f, sep="\t", index=False)
    with caplog.at_level("WARNING"):
        cat = read_catalog(f)
    np.testing.assert_allclose(cat["neg_log10_p_value"].iloc[:4], [8, -np.log10(2.5e-12), -np.log10(3e-9), 9.25])
    np.testing.assert_allclose(cat["p_value"].iloc[:4], [1e-8, 2.5e-12, 3e-9, 10 ** -9.25])
    assert cat["p_value"].iloc[4:].isna().all() and "1 P-VALUE entries are not numbers" in caplog.text


def test_read_catalog__an_rsid_written_with_its_risk_allele_or_in_capitals_is_the_rsid(tmp_path):
    """SNPS 'rs12143842-?' or 'RS12143842' (the STRONGEST SNP-RISK ALLELE notation, hand-edited copies) was a
    catalog variant of that name: a locus rs12143842 was not known by its rsID (novel where the row has no position),
    and an LD panel did not find it. Now the rsID; a chr:pos id is kept as written."""
    raw = pd.read_csv(V102, sep="\t", dtype=str, keep_default_na=False).iloc[:3].copy()
    raw["SNPS"] = ["rs12143842-?", "RS1805128", "chr6:31234567"]
    raw["CHR_ID"], raw["CHR_POS"] = "", ""
    f = tmp_path / "catalog.tsv"
    raw.to_csv(f, sep="\t", index=False)
    cat = read_catalog(f)
    assert cat["catalog_variant"].tolist() == ["rs12143842", "rs1805128", "chr6:31234567"]
    res = annotate_loci(_loci([["rs12143842", "1", 162064100, 1e-20], ["rs1805128", "21", 34449383, 1e-9]]),
                        select_traits(cat, any_trait=True))
    assert res["known_by"].tolist() == ["rsid", "rsid"] and not res["novel"].any()
