"""GWAS-SSF output as the GWAS Catalog takes it: BGZF + tabix index (checked with htslib through pysam),
``-meta.yaml``, ``n_cases``/``n_controls``, and p-values that never underflow to 0 (checked against
mpmath's arbitrary-precision incomplete beta function and scipy's log-normal tail)."""

from __future__ import annotations

import gzip
import hashlib
import io

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import special

from edfgen.formats.bgzf import BLOCK_SIZE, EOF_BLOCK, BgzfWriter, tabix_index
from clump_sim import write_ssf
from edfgen.formats.sumstats import SSF_COLUMNS, SSF_EXTRA_COLUMNS, p_value_strings, read_sumstats
from edfgen.kernels.pvalues import TINY_P, _log_t_two_sided, neg_log10_p


def test_bgzf_writer__gzip_readable_blocks_and_htslib_accepts_it(tmp_path):
    import pysam

    rng = np.random.default_rng(0)
    rows = [f"{c}\t{p}\t{rng.normal():.6g}\n" for c in ("1", "2", "10") for p in sorted(rng.integers(1, 10**8, 4000))]
    data = ("chromosome\tbase_pair_location\tx\n" + "".join(rows)).encode()
    f = tmp_path / "t.tsv.gz"
    with open(f, "wb") as fh:
        w = BgzfWriter(fh)
        for s in range(0, len(data), 10_000):  # writes that straddle block boundaries
            w.write(data[s:s + 10_000])
        w.close()
    raw = f.read_bytes()
    assert gzip.decompress(raw) == data and raw.endswith(EOF_BLOCK) and len(data) > 2 * BLOCK_SIZE
    assert w.md5 == hashlib.md5(raw).hexdigest()
    # every member is a BGZF block: BC extra field whose BSIZE gives the next member's offset
    off, n = 0, 0
    while off < len(raw):
        assert raw[off:off + 4] == b"\x1f\x8b\x08\x04" and raw[off + 12:off + 14] == b"BC"
        off += int.from_bytes(raw[off + 16:off + 18], "little") + 1
        n += 1
    assert off == len(raw) and n >= 3
    tbi = tabix_index(f)
    assert tbi.exists()
    ref = pd.read_csv(io.BytesIO(data), sep="\t", dtype={"chromosome": str})
    with pysam.TabixFile(str(f)) as tb:
        got = [ln.split("\t") for ln in tb.fetch("10", 20_000_000, 40_000_000)]
    want = ref[(ref.chromosome == "10") & (ref.base_pair_location > 20_000_000) & (ref.base_pair_location <= 40_000_000)]
    assert len(got) == len(want) > 0 and [int(g[1]) for g in got] == want.base_pair_location.tolist()


def test_log_t_two_sided__matches_mpmath_and_scipy():
    import mpmath

    mpmath.mp.dps = 30
    for df, t in ((900.0, 60.0), (120.0, 45.0), (2000.0, 80.0), (50.0, 1e4), (900.0, 20.0), (40000.0, 5.0)):
        ref = float(-mpmath.log10(mpmath.betainc(df / 2, 0.5, 0, df / (df + t * t), regularized=True)))
        got = float(-_log_t_two_sided(np.array([t]), np.array([df]))[0] / np.log(10))
        assert got == pytest.approx(ref, rel=1e-10), (df, t)
    # where p does not underflow, scipy's stdtr agrees
    t, df = np.array([4.0, 10.0, 25.0]), np.array([500.0, 800.0, 3000.0])
    np.testing.assert_allclose(-_log_t_two_sided(t, df) / np.log(10), -np.log10(2 * special.stdtr(df, -t)), rtol=1e-10)


def test_neg_log10_p__log_space_where_p_underflows_and_strings_never_zero():
    beta = np.array([0.1, 3.0, 6.0, np.nan])
    se = np.array([0.05, 0.05, 0.1, 0.1])
    p_norm = 2 * special.ndtr(-np.abs(beta / se))  # 0.0455, 0 (underflow), 0, NaN
    assert p_norm[1] == 0.0
    nlp = neg_log10_p(p_norm, beta=beta, standard_error=se)
    np.testing.assert_allclose(nlp[:3], -(np.log(2) + special.log_ndtr(-np.abs(beta[:3] / se[:3]))) / np.log(10),
                               rtol=1e-12)
    assert np.isnan(nlp[3]) and nlp[1] > 700
    s = p_value_strings(p_norm, nlp)
    assert s[3] is None and float(s[0]) == pytest.approx(p_norm[0], rel=1e-7)
    mant, exp = s[1].split("e")
    assert 1 <= float(mant) < 10 and int(exp) < -300
    assert float(mant) * 10.0 ** (int(exp) + 300) == pytest.approx(10 ** (300 - nlp[1]), rel=1e-6)
    # t with df: the linear model's p
    df = np.array([400.0, 400.0, 400.0, 400.0])
    p_t = 2 * special.stdtr(df, -np.abs(beta / se))
    nlp_t = neg_log10_p(p_t, beta=beta, standard_error=se, df=df)
    assert nlp_t[2] < nlp[2] and np.isfinite(nlp_t[:3]).all()  # heavier tail than the normal
    assert np.all(neg_log10_p(np.array([0.5, 1e-5])) == -np.log10([0.5, 1e-5]))


def test_run_gwas__bgzf_tabix_meta_cases_and_no_zero_p(tmp_path):
    import pysam
    from test_gwas import NO_QC, make_cohort

    from edfgen.formats.genotypes.source import GenotypeSource
    from edfgen.commands.gwas import GwasSettings, run_gwas

    d = make_cohort(tmp_path / "c", n=600, m=400, p=2, seed=3)
    # a phenotype almost equal to one variant: its p underflows to 0 in float64
    g = pd.read_csv(d / "pheno.tsv", sep="\t")
    from bed_reader import open_bed

    with open_bed(d / "g.bed") as bed:
        x = bed.read(index=np.s_[:, 7], dtype="float64")[:, 0]
    g["strong"] = x + np.random.default_rng(0).normal(0, 0.02, len(x))
    g.to_csv(d / "pheno2.tsv", sep="\t", index=False, na_rep="NA")
    out = tmp_path / "lin"
    run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno2.tsv", d / "covar.tsv", out, covar_cols=["age", "sex"],
             pheno_cols=["edf_001", "strong"], qc=NO_QC,
             settings=GwasSettings(plots=False, transform="none"))
    f = out / "strong.tsv.gz"
    raw = f.read_bytes()
    assert raw[12:14] == b"BC" and raw.endswith(EOF_BLOCK)
    text = gzip.decompress(raw).decode()
    header = text.split("\n", 1)[0].split("\t")
    assert header == SSF_COLUMNS + SSF_EXTRA_COLUMNS
    ss = pd.read_csv(f, sep="\t", dtype={"p_value": str})
    lead = ss.loc[ss["variant_id"] == "rs8"].iloc[0]
    assert float(lead["p_value"]) == 0.0 and lead["p_value"] != "0"  # printed below float64's range, not 0
    mant, exp = lead["p_value"].split("e")
    assert int(exp) < -300 and abs(int(exp) + lead["neg_log_10_p_value"]) < 1
    # neg_log_10_p_value of the lead: the t-test with n - k - 1 df in arbitrary precision
    import mpmath

    t = lead["beta"] / lead["standard_error"]
    dfree = lead["n"] - 3 - 1  # intercept, age, sex
    ref = float(-mpmath.log10(mpmath.betainc(dfree / 2, 0.5, 0, dfree / (dfree + t * t), regularized=True)))
    assert lead["neg_log_10_p_value"] == pytest.approx(ref, rel=1e-5)  # beta and se are printed to 8 digits
    ok = ss["p_value"].astype(float) > TINY_P
    np.testing.assert_allclose(ss.loc[ok, "neg_log_10_p_value"], -np.log10(ss.loc[ok, "p_value"].astype(float)),
                               rtol=1e-5, atol=1e-6)
    assert ss["n_cases"].isna().all() and ss["n_controls"].isna().all()
    # tabix index: a region query gives the rows of the file in that region
    with pysam.TabixFile(str(f)) as tb:
        got = [ln.split("\t")[8] for ln in tb.fetch("2", 10_000, 50_000)]
    want = ss[(ss.chromosome == 2) & ss.base_pair_location.between(10_001, 50_000)]["variant_id"].tolist()
    assert got == want and len(got) == 40
    meta = yaml.safe_load((out / "strong.tsv.gz-meta.yaml").read_text())
    assert meta["data_file_name"] == "strong.tsv.gz" and meta["file_type"] == "GWAS-SSF v1.0"
    assert meta["data_file_md5sum"] == hashlib.md5(raw).hexdigest()
    assert meta["genome_assembly"] == "GRCh38" and meta["coordinate_system"] == "1-based"
    assert meta["samples"] == [{"sample_size": int(ss["n"].max()), "case_control_study": False}]
    assert meta["trait_description"] == ["strong"] and meta["adjusted_covariates"] == ["age", "sex"]
    # the readers still read it
    df, _ = read_sumstats(f)
    assert len(df) == 400 and "neg_log_10_p_value" in df.columns

    # binary outcome: case and control counts, in the data and the metadata
    out_b = tmp_path / "bin"
    run_gwas(GenotypeSource(bfile=str(d / "g")), d / "outcomes.tsv", d / "covar.tsv", out_b, covar_cols=["age", "sex"],
             qc=NO_QC, settings=GwasSettings(binary=True, plots=False))
    oc = pd.read_csv(d / "outcomes.tsv", sep="\t")
    used = set(pd.read_csv(out_b / "samples.tsv", sep="\t")["IID"])
    oc = oc[oc["IID"].isin(used)]
    for name in ("cad", "af"):
        ss = pd.read_csv(out_b / f"{name}.tsv.gz", sep="\t")
        cases, controls = int((oc[name] == 1).sum()), int((oc[name] == 0).sum())
        assert (ss["n_cases"] == cases).all() and (ss["n_controls"] == controls).all()
        assert (ss["n"] == cases + controls).all()
        meta = yaml.safe_load((out_b / f"{name}.tsv.gz-meta.yaml").read_text())
        assert meta["samples"] == [{"sample_size": cases + controls, "case_control_study": True,
                                    "case_count": cases, "control_count": controls}]


def test_sumstats_writer__bgzf_with_index(tmp_path):
    import pysam

    df = pd.DataFrame({"chromosome": ["2", "1", "1"], "base_pair_location": [5, 9, 3], "effect_allele": ["A"] * 3,
                       "other_allele": ["G"] * 3, "beta": [0.1, 0.2, 0.3], "standard_error": [0.1] * 3,
                       "effect_allele_frequency": [0.3] * 3, "p_value": [0.1, 0.2, 0.3], "variant_id": ["a", "b", "c"]})
    f = write_ssf(df, tmp_path / "x.tsv.gz")
    assert list(pd.read_csv(f, sep="\t")["variant_id"]) == ["c", "b", "a"]
    with pysam.TabixFile(str(f)) as tb:
        assert [ln.split("\t")[8] for ln in tb.fetch("1")] == ["c", "b"]


def test_ssf_rows_left_out_and_sex_chromosomes_coded_23_24_25(tmp_path):
    """Rows without an estimate are left out (``keep``), the tabix index still finds the others, and
    X/Y/MT are written as the GWAS Catalog's 23/24/25 and read back as X/Y/MT."""
    import pysam

    from edfgen.formats.sumstats import read_sumstats
    from edfgen.formats.sumstats.write import SumstatsFormatter, SumstatsStream

    base = pd.DataFrame({"chromosome": ["1", "1", "X", "X", "Y", "MT"], "base_pair_location": [10, 20, 30, 40, 50, 60],
                         "effect_allele": ["A"] * 6, "other_allele": ["G"] * 6,
                         "variant_id": [f"v{i}" for i in range(6)], "rsid": [f"rs{i}" for i in range(1, 7)]})
    beta = np.array([0.1, np.nan, 0.3, 0.4, 0.5, 0.6])
    keep = np.isfinite(beta)
    fmt = SumstatsFormatter(base)
    body, lengths = fmt.rows(beta, np.full(6, 0.1), np.full(6, 0.3), np.where(keep, 0.01, np.nan), np.full(6, 100),
                             n_cases=40, n_controls=60, keep=keep)
    path = tmp_path / "y.tsv.gz"
    s = SumstatsStream(path)
    s.append(body, lengths, fmt, keep=keep)
    s.close()
    raw = pd.read_csv(path, sep="\t", dtype={"chromosome": str})
    assert raw["variant_id"].tolist() == ["v0", "v2", "v3", "v4", "v5"]
    assert raw["chromosome"].tolist() == ["1", "23", "23", "24", "25"] and not raw["beta"].isna().any()
    with pysam.TabixFile(str(path)) as tbx:
        assert [ln.split("\t")[8] for ln in tbx.fetch("23", 0, 100)] == ["v2", "v3"]
        assert [ln.split("\t")[8] for ln in tbx.fetch("25", 0, 100)] == ["v5"]
    back = read_sumstats(path)[0]
    assert back["chromosome"].tolist() == ["1", "X", "X", "Y", "MT"]


def test_ssf_chromosome_codes__lower_case_x_y_mt_coded_and_other_labels_warned(caplog):
    """Was: a .bim's ``x``, ``y`` and ``Mt`` were written as ``x``/``y``/``Mt`` (the mapping was case-sensitive,
    while the analysis upper-cases them), and ``0``/``Un`` without a word (review s30f)."""
    from edfgen.formats.sumstats.write import warn_non_ssf_chromosomes
    from edfgen.formats.sumstats.layout import genotype_chromosome_labels
    from edfgen.formats.sumstats.write import SumstatsFormatter

    labels = ["1", "x", "y", "Mt", "m", "xy", "X", "chrx", "Un", "0"]
    base = pd.DataFrame({"chromosome": labels, "base_pair_location": np.arange(1, 11) * 100,
                         "effect_allele": ["A"] * 10, "other_allele": ["G"] * 10,
                         "variant_id": [f"v{i}" for i in range(10)], "rsid": ["NA"] * 10})
    assert SumstatsFormatter(base).chromosome.tolist() == ["1", "23", "24", "25", "25", "23", "23", "23", "Un", "0"]
    assert genotype_chromosome_labels(labels).tolist() == ["1", "X", "Y", "MT", "MT", "X", "X", "X", "Un", "0"]
    with caplog.at_level("WARNING"):
        warn_non_ssf_chromosomes(labels)
    assert "chromosome(s) 0, Un have no GWAS-SSF code (1-25)" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        warn_non_ssf_chromosomes(["1", "x", "26", "25"])
    assert "GWAS-SSF" not in caplog.text


def test_round_significant__prints_as_eight_digits_at_any_scale():
    """Review s32a F8: SE 1.4576648e-18 was written as 1.4576647999999998e-18 (the rounded integer divided by the
    inexact 1e25): every value must equal its ``%.8g`` text, so it prints with 8 significant digits."""
    from edfgen.formats.sumstats import round_significant

    rng = np.random.default_rng(0)
    x = rng.standard_normal(20000) * 10.0 ** rng.uniform(-300, 300, 20000)
    x = np.concatenate([x, [1.4576648e-18, 8.955887000000001e-98, 0.0, -2.5, 1e-320, np.nan, np.inf]])
    r = round_significant(x)
    expected = np.array([float(f"{v:.8g}") for v in x])
    assert np.array_equal(r, expected, equal_nan=True)
    assert repr(float(r[-7])) == "1.4576648e-18" and repr(float(r[-6])) == "8.955887e-98"
