"""Sex chromosomes and MT in the GWAS's QC and ``--chr``, checked against plink2 ``--glm`` on the same files.

A review found the default QC removed every common variant of non-PAR X and MT (males hemizygous, coded 0/2,
failed the diploid HWE test: plink2 tests X on females only), so a real array's whole chrX vanished without a
word; and ``--chr X`` found nothing in a ``.bim`` that numbers X 23 (PLINK 1.9, UK Biobank).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings

PLINK2 = shutil.which("plink2")
N, M_AUTO, M_X = 800, 60, 60


def _cohort(d: Path) -> Path:
    """800 samples (half male), 60 chr1 variants (variant 5 all heterozygous: fails HWE everywhere), 60 non-PAR X
    variants coded as PLINK stores them (males 0/2, females 0/1/2 in HWE), a phenotype with an X effect."""
    from bed_reader import to_bed

    rng = np.random.default_rng(27)
    male = np.arange(N) < N // 2
    p = rng.uniform(0.1, 0.5, M_AUTO + M_X)
    g = rng.binomial(2, p, size=(N, M_AUTO + M_X)).astype(float)
    x = slice(M_AUTO, None)
    g[np.ix_(male, np.arange(M_AUTO, M_AUTO + M_X))] = 2.0 * rng.binomial(1, p[x], size=(int(male.sum()), M_X))
    g[:, 5] = 1.0
    g[rng.integers(0, N, 6), 5] = 0.0
    iid = [f"s{i}" for i in range(N)]
    chrom = ["1"] * M_AUTO + ["23"] * M_X          # PLINK 1.9's numeric code for X
    to_bed(d / "g.bed", g, count_A1=False, properties={
        "fid": iid, "iid": iid, "sex": np.where(male, 1, 2), "sid": [f"v{j}" for j in range(M_AUTO + M_X)],
        "chromosome": chrom, "bp_position": np.arange(1, M_AUTO + M_X + 1) * 1000 + np.r_[np.zeros(M_AUTO, int),
                                                                                         np.full(M_X, 3_000_000)],
        "allele_1": ["A"] * (M_AUTO + M_X), "allele_2": ["G"] * (M_AUTO + M_X)})
    age = rng.normal(50, 8, N)
    y = 0.4 * g[:, M_AUTO + 3] + 0.5 * male + 0.02 * age + rng.normal(0, 1, N)
    pd.DataFrame({"IID": iid, "y": y}).to_csv(d / "pheno.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": iid, "age": age, "sex": male.astype(float)}).to_csv(d / "covar.tsv", sep="\t", index=False)
    pd.DataFrame({"#FID": iid, "IID": iid, "y": y}).to_csv(d / "pheno.p2", sep="\t", index=False)
    pd.DataFrame({"#FID": iid, "IID": iid, "age": age, "sex": male.astype(float)}).to_csv(
        d / "covar.p2", sep="\t", index=False)
    return d


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
@pytest.mark.parametrize("chromosomes", [None, ("1-22", "X")])
def test_gwas__x_kept_by_default_qc_and_equal_to_plink2(tmp_path, chromosomes):
    d = _cohort(tmp_path)
    out = tmp_path / "e"
    run_gwas(GenotypeSource(bfile=str(d / "g"), chromosomes=chromosomes), d / "pheno.tsv", d / "covar.tsv", out,
             covar_cols=["age", "sex"], qc=QCSettings(), settings=GwasSettings(transform="none", plots=False))
    subprocess.run([PLINK2, "--bfile", str(d / "g"), "--pheno", str(d / "pheno.p2"), "--covar", str(d / "covar.p2"),
                    "--glm", "hide-covar", "no-x-sex", "--maf", "0.01", "--geno", "0.05", "--hwe", "1e-6",
                    "--mind", "0.05", "--out", str(d / "p2"), "--silent"], check=True)
    ours = pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id")
    ref = pd.read_csv(d / "p2.y.glm.linear", sep="\t").set_index("ID")
    # the same variants: all of X kept (plink2 tests X's HWE on females), chr1's violator removed by both
    assert "v5" not in ours.index and "v5" not in ref.index
    assert set(ours.index) == set(ref.index) and (ours["chromosome"].astype(str) == "23").sum() == M_X
    ref = ref.loc[ours.index]
    sign = np.where(ref["A1"] == ours["effect_allele"], 1.0, -1.0)
    np.testing.assert_allclose(ours["beta"], sign * ref["BETA"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours["standard_error"], ref["SE"], rtol=1e-4)
    qc = pd.read_csv(out / "qc_report.tsv", sep="\t").set_index("filter")
    # (X beyond the pseudo-autosomal region, where it was once: PAR now gets the diploid test, as plink2's XY)
    assert qc.loc["hwe", "removed"] == 1 and qc.loc["hwe", "threshold"] == (
        "p >= 1e-06 (autosomes and PAR; X: females and males, Graffelman-Weir, as plink2)")


def test_variant_qc__hwe_only_where_tested():
    from edfgen.kernels.qc import VariantCounts, variant_qc

    # two identical tables that fail HWE (all heterozygous): tested on the autosome, not on X
    counts = VariantCounts(np.array([500, 500]), np.array([500, 500]), np.array([0, 0]), np.array([500., 500.]),
                           np.array([500., 500.]), np.zeros(500, dtype=np.int64))
    keep, steps = variant_qc(counts, np.ones(2, bool), 500, QCSettings(), dosages=False,
                             hwe_tested=np.array([True, False]))
    assert keep.tolist() == [False, True] and steps[-1].removed == 1
    keep, _ = variant_qc(counts, np.ones(2, bool), 500, QCSettings(), dosages=False)
    assert keep.tolist() == [False, False]


def test_warn_sex_chromosomes__x_without_sex_and_haploid_chromosomes(caplog):
    from edfgen.commands.gwas_design import warn_sex_chromosomes

    with caplog.at_level("WARNING"):
        warn_sex_chromosomes(["1", "23"], ["intercept", "age"])
    assert "chromosome X is tested without a sex covariate (none of age looks like sex" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):      # sex from the .fam: X gets it, Y the males, Y/MT coded 0/1
        warn_sex_chromosomes(["1", "23", "Y", "MT"], ["intercept", "age"], sex_known=True, haploid_coded=True)
    assert not caplog.text
    for cov in (["intercept", "Sex"], ["intercept", "sex=M"], ["intercept", "31-0.0"], ["intercept", "is_male"]):
        caplog.clear()
        with caplog.at_level("WARNING"):
            warn_sex_chromosomes(["1", "X"], cov)
        # a sex covariate: X's test is plink2's, but its QC still counts males twice (s35d: a VCF's X kept other
        # variants than the .bed of the same calls, silently)
        assert "without a sex covariate" not in caplog.text, cov
        assert "X's QC counts every sample as diploid: the genotype files give no sex" in caplog.text, cov
    caplog.clear()
    with caplog.at_level("WARNING"):
        warn_sex_chromosomes(["1", "26", "Y"], ["intercept", "sex"])
    assert "MT and Y tested" in caplog.text and "half plink2's" in caplog.text
    assert "Y tested on every sample" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        warn_sex_chromosomes(["1", "2"], ["intercept"])
    assert not caplog.text


def test_binary_phenotypes__plink_codes_per_column(caplog):
    """PLINK's case/control file (1/2, -9 missing) was refused with a message that did not mention -9; the
    coding is now read per column (a 0/1 and a 1/2 column side by side). -9 is missing from the start with
    --binary (select_phenotypes): one warning, not also 'read as the number -9' (review s31b)."""
    from edfgen.commands.gwas_design import binary_phenotypes, select_phenotypes
    from edfgen.exceptions import InputError

    table = pd.DataFrame({"IID": list("abcde"), "cad": [1, 2, -9, 2, 1], "af": [0, 1, 1, np.nan, 0]})
    with caplog.at_level("WARNING"):
        names = select_phenotypes(table, source="p.tsv", binary=True)
    assert caplog.text.count("-9") == 1 and "'cad': 1 values -9 read as missing" in caplog.text
    out = binary_phenotypes(table[names].to_numpy(float), names, "p.tsv")
    np.testing.assert_array_equal(out, [[0, 0], [1, 1], [np.nan, 1], [1, np.nan], [0, 0]])
    with pytest.raises(InputError, match=r"p.tsv: --binary phenotype 'af' has values 0, 3 \(expects 0/1"):
        binary_phenotypes(np.array([[1, 0], [2, 3]], dtype=float), ["cad", "af"], "p.tsv")


def test_check_phenotypes__a_nearly_empty_phenotype_among_full_ones_is_named():
    from edfgen.exceptions import InputError
    from edfgen.kernels.association import check_phenotypes

    Y = np.random.default_rng(1).normal(size=(100, 2))
    Y[9:, 1] = np.nan
    with pytest.raises(InputError, match=r"phenotype 'b' has 9 values in the 100 analysed samples \(need >= 50\)"):
        check_phenotypes(Y, ["a", "b"], min_values=50)
    check_phenotypes(Y, ["a", "b"])         # (the default: one value is enough to not be empty)


def test_covariate_design__varying_columns_leave_out_constant_ones():
    """Step 1 records the covariates it adjusted for after dropping constant ones; step 2 compared all of its
    columns, so an identical rerun with a constant 'batch' was warned about as another model."""
    from edfgen.commands.gwas_design import covariate_design

    tab = pd.DataFrame({"IID": ["a", "b", "c", "d"], "age": [50, 60, np.nan, 40], "batch": [1, 1, 2, 1],
                        "sex": [0, 1, 1, 0]})
    d = covariate_design(tab, ["age", "batch", "sex"])
    assert d.varying_columns() == ["intercept", "age", "sex"]     # batch is 1 wherever age is known


# ---------------------------------------------------------------------------------------------------------------
# sex from the genotype files: X, Y, MT and PAR as plink2 --glm tests them
# ---------------------------------------------------------------------------------------------------------------
KINDS = ["1"] * 8 + ["23"] * 8 + ["24"] * 6 + ["26"] * 5 + ["25"] * 5


def _sexed_cohort(d: Path, n: int = 700, bad_female: bool = False) -> Path:
    """``n`` samples: 330 male, 340 female, 30 of unknown sex (.fam 0); 8 chr1, 8 non-PAR X (males 0/2), 6 Y
    (females' calls missing, 3% of males' missing on one), 5 MT, 5 PAR (25) variants; a phenotype with X and Y
    effects and a sex difference; ``bad_female``: one female misses 4 chr1 calls (fails --mind 0.05 without Y,
    not with it: QC runs first, then the association)."""
    from bed_reader import to_bed

    rng = np.random.default_rng(28)
    sex = np.r_[np.ones(330, int), np.full(340, 2), np.zeros(n - 670, int)]
    rng.shuffle(sex)
    male, hap = sex == 1, sex != 2
    M = len(KINDS)
    p = rng.uniform(0.15, 0.45, M)
    g = rng.binomial(2, p, size=(n, M)).astype(float)
    for j, c in enumerate(KINDS):
        if c == "23":
            g[hap, j] = 2.0 * rng.binomial(1, p[j], int(hap.sum()))
        elif c in ("24", "26"):
            g[:, j] = 2.0 * rng.binomial(1, p[j], n)
        if c == "24":
            g[~male, j] = np.nan
    ymales = np.flatnonzero(male)
    g[ymales[:int(0.03 * len(ymales))], KINDS.index("24")] = np.nan
    g[rng.choice(np.flatnonzero(sex != 0), 7, replace=False), 1] = np.nan
    g[np.flatnonzero(sex == 0)[0], 1] = np.nan     # 1/26 calls (plink2 counts X); 1/18 without X: fails --mind 0.05
    if bad_female:
        g[np.flatnonzero(sex == 2)[0], 2:6] = np.nan
    iid = [f"s{i}" for i in range(n)]
    # (positions Hail takes on GRCh37 and GRCh38: MT within its 16,569 bp, PAR within PAR1, X and Y beyond it)
    bp = np.arange(1, M + 1) * 1000 + np.array([{"26": -20000, "25": 100000, "23": 3000000, "24": 3000000}.get(c, 0)
                                                for c in KINDS])
    to_bed(d / "g.bed", g, count_A1=False, properties={
        "fid": iid, "iid": iid, "sex": sex, "sid": [f"v{j}" for j in range(M)], "chromosome": KINDS,
        "bp_position": bp, "allele_1": ["A"] * M, "allele_2": ["G"] * M})
    age = rng.normal(50, 8, n)
    y = (0.3 * g[:, 9] + 0.4 * np.nan_to_num(g[:, 17]) + 0.2 * g[:, 23] + 0.5 * male + 0.02 * age
         + rng.normal(0, 1, n))
    pd.DataFrame({"IID": iid, "y": y}).to_csv(d / "pheno.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": iid, "age": age, "sex": np.where(sex == 1, 1.0, np.where(sex == 2, 0.0, np.nan))}).to_csv(
        d / "covar.tsv", sep="\t", index=False)
    pd.DataFrame({"#FID": iid, "IID": iid, "y": y}).to_csv(d / "pheno.p2", sep="\t", index=False)
    pd.DataFrame({"#FID": iid, "IID": iid, "age": age}).to_csv(d / "covar.p2", sep="\t", index=False)
    return d


def _plink2_glm(d: Path, *extra) -> pd.DataFrame:
    subprocess.run([PLINK2, "--bfile", str(d / "g"), "--pheno", str(d / "pheno.p2"), "--covar", str(d / "covar.p2"),
                    "--glm", "hide-covar", *extra, "--maf", "0.01", "--geno", "0.05", "--mind", "0.05",
                    "--out", str(d / "p2"), "--silent"], check=True)
    return pd.read_csv(d / "p2.y.glm.linear", sep="\t").set_index("ID")


def _assert_equal_to_plink2(ours: pd.DataFrame, ref: pd.DataFrame, rtol: float = 1e-5):
    assert set(ours.index) == set(ref.index)
    ref = ref.loc[ours.index]
    sign = np.where(ref["A1"] == ours["effect_allele"], 1.0, -1.0)
    np.testing.assert_allclose(ours["beta"], sign * ref["BETA"], rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(ours["standard_error"], ref["SE"], rtol=rtol)
    np.testing.assert_allclose(ours["p_value"], ref["P"], rtol=max(rtol, 1e-4))   # plink2 prints 6 digits
    np.testing.assert_array_equal(ours["n"], ref["OBS_CT"])


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
@pytest.mark.parametrize("user_sex", [False, True])
def test_gwas__sex_from_fam_equal_to_plink2_on_x_y_mt_par(tmp_path, user_sex):
    """plink2 --glm (default --xchr-model 2) tests X with males 0/2, SEX added and unknown-sex samples left out,
    Y on males coded 0/1, MT coded 0/1, PAR as an autosome; its --geno counts Y among males and --mind leaves Y
    out of females' call rates. edfgen read no sex: X on everyone, Y and MT at 0/2 (half plink2's beta), and
    females' missing Y calls failed every Y variant's call rate and every female's sample call rate. A user
    ``sex`` covariate (missing where the .fam says unknown) is not added twice."""
    d = _sexed_cohort(tmp_path)
    out = tmp_path / "e"
    run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", out,
             covar_cols=["age", "sex"] if user_sex else ["age"], qc=QCSettings(),
             settings=GwasSettings(transform="none", plots=False, missing_genotypes="drop"))
    ours = pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id")
    # a user sex covariate (missing where the .fam's sex is): plink2 --glm's 'sex' modifier, unknown sex removed
    ref = _plink2_glm(d, "sex", "--remove-nosex") if user_sex else _plink2_glm(d)
    assert (ref.loc[ref["#CHROM"] == "Y", "OBS_CT"] <= 330).all() and len(ref) == len(KINDS)
    _assert_equal_to_plink2(ours, ref)
    man = json.loads((out / "manifest.json").read_text())
    rec = man["extra"]["sex_chromosomes"]
    assert (rec["males"], rec["females"], rec["unknown_sex"]) == ((330, 340, 0) if user_sex else (330, 340, 30))
    assert man["extra"]["samples"]["used"] == (670 if user_sex else 700)
    qc = pd.read_csv(out / "qc_report.tsv", sep="\t").set_index("filter")
    assert qc.loc["variant_call_rate", "removed"] == 0 and qc.loc["sample_call_rate", "removed"] == 0
    # effect-allele frequency: one X allele per male, Y and MT haploid (plink2 --freq; X's over the samples of
    # known sex, those it was tested on)
    frq = {}
    for name, extra in (("all", []), ("sexed", ["--remove-nosex"])):
        subprocess.run([PLINK2, "--bfile", str(d / "g"), "--freq", *extra, "--out", str(d / name), "--silent"],
                       check=True)
        f = pd.read_csv(d / f"{name}.afreq", sep="\t").set_index("ID").loc[ours.index]
        frq[name] = np.where(f["ALT"] == ours["effect_allele"], f["ALT_FREQS"], 1 - f["ALT_FREQS"])
    on_x = np.array([KINDS[int(v[1:])] == "23" for v in ours.index])     # (the outputs label PAR 23 too)
    if not user_sex:      # (with it, the unknown-sex samples lack a covariate: not analysed on the autosomes)
        np.testing.assert_allclose(ours["effect_allele_frequency"][~on_x], frq["all"][~on_x], atol=2e-6)
    np.testing.assert_allclose(ours["effect_allele_frequency"][on_x], frq["sexed"][on_x], atol=2e-6)


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
def test_gwas__sex_from_bgen_sample_equal_to_plink2(tmp_path):
    """The same cohort exported by plink2 as 8-bit BGEN (males haploid on X, Y and MT) with a .sample whose sex
    column (type D, 1/2/NA) edfgen reads: the same numbers as plink2 --glm on the .bed; one female fails the
    sample call rate (QC, then the association: the other path)."""
    d = _sexed_cohort(tmp_path, bad_female=True)
    subprocess.run([PLINK2, "--bfile", str(d / "g"), "--export", "bgen-1.2", "bits=8", "--out", str(d / "b"),
                    "--silent"], check=True)
    assert open(d / "b.sample").readline().split()[-1].lower() == "sex"
    out = tmp_path / "e"
    run_gwas(GenotypeSource(bgen=str(d / "b.bgen"), sample=str(d / "b.sample")), d / "pheno.tsv", d / "covar.tsv",
             out, covar_cols=["age"], qc=QCSettings(),
             settings=GwasSettings(transform="none", plots=False, missing_genotypes="drop"))
    ours = pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id")
    _assert_equal_to_plink2(ours, _plink2_glm(d))
    qc = pd.read_csv(out / "qc_report.tsv", sep="\t").set_index("filter")
    assert qc.loc["sample_call_rate", "removed"] == 1 and qc.loc["variant_call_rate", "removed"] == 0


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
def test_gwas__sex_from_psam_equal_to_plink2(tmp_path):
    """A PLINK 2 fileset (plink2 --make-pgen: .psam with a SEX column): the same numbers as plink2 --glm."""
    d = _sexed_cohort(tmp_path)
    subprocess.run([PLINK2, "--bfile", str(d / "g"), "--make-pgen", "--out", str(d / "p"), "--silent"], check=True)
    assert "SEX" in open(d / "p.psam").readline().split()
    out = tmp_path / "e"
    run_gwas(GenotypeSource(pfile=str(d / "p")), d / "pheno.tsv", d / "covar.tsv", out, covar_cols=["age"],
             qc=QCSettings(), settings=GwasSettings(transform="none", plots=False, missing_genotypes="drop"))
    _assert_equal_to_plink2(pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id"), _plink2_glm(d))



def _fam_without_sex(d: Path, coding: dict, column: str = "sex") -> Path:
    """``d/nosex``: the cohort's fileset with every .fam sex 0, and ``d/covar_sex.tsv``: the covariates with the
    .fam's sex as ``column``, coded by ``coding`` (1, 2, 0 -> value)."""
    fam = pd.read_csv(d / "g.fam", sep=r"\s+", header=None, dtype=str)
    for ext in ("bed", "bim"):
        shutil.copy(d / f"g.{ext}", d / f"nosex.{ext}")
    unknown = fam.copy()
    unknown[4] = "0"
    unknown.to_csv(d / "nosex.fam", sep=" ", header=False, index=False)
    cov = pd.read_csv(d / "covar.tsv", sep="\t").drop(columns="sex")
    cov.assign(**{column: fam[4].map(coding).to_numpy()}).to_csv(d / "covar_sex.tsv", sep="\t", index=False)
    return d / "nosex"


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
@pytest.mark.parametrize("coding", [{"1": "M", "2": "F", "0": "NA"}, {"1": "1", "2": "2", "0": "-9"}])
def test_gwas__sex_from_the_covariates_where_the_fam_has_none_as_plink2_with_it_in_the_fam(tmp_path, caplog,
                                                                                           coding):
    """A .fam of zeros and a --covar ``sex`` column (M/F or PLINK's 1/2, not among --covariates): X's QC and
    model, Y on males and Y/MT coded 0/1 read it, as plink2 --glm on the .fam with that sex (s36c: the run warned
    that sex was unknown and tested X, Y and MT as without sex)."""
    d = _sexed_cohort(tmp_path)
    nosex = _fam_without_sex(d, coding)
    out = tmp_path / "e"
    with caplog.at_level("INFO", logger="edfgen"):
        run_gwas(GenotypeSource(bfile=str(nosex)), d / "pheno.tsv", d / "covar_sex.tsv", out, covar_cols=["age"],
                 qc=QCSettings(), settings=GwasSettings(transform="none", plots=False, missing_genotypes="drop"))
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelname == "WARNING")
    assert "give no sex" not in warned and "without a sex covariate" not in warned
    # where the sex was read, not the genotype files, which give none (known defect s37: "(nosex.bed ...)")
    assert f"30 samples of unknown sex ({d / 'covar_sex.tsv'} column 'sex') left out of X" in warned
    assert caplog.text.count("X, Y and MT read with the sex of") == 1 and "(330 males, 340 females)" in caplog.text
    _assert_equal_to_plink2(pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id"), _plink2_glm(d))
    rec = json.loads((out / "manifest.json").read_text())["extra"]["sex_chromosomes"]
    assert rec["sex_source"] == f"{d / 'covar_sex.tsv'} column 'sex'" and rec["unknown_sex"] == 30


def test_covariate_sex__only_a_coding_that_says_who_is_male():
    from edfgen.formats.genotypes.sex import covariate_sex

    def read(column, values):
        return covariate_sex(pd.DataFrame({"IID": [f"s{i}" for i in range(len(values))], "age": 1.0,
                                           column: values}), "c.tsv")

    for column, values, want in (("sex", ["1", "2", "0", "-9", None], [1, 2, 0, 0, 0]),
                                 ("Gender", ["male", "Female", "NA", "M", "f"], [1, 2, 0, 1, 2]),
                                 ("is_male", [1.0, 0.0, np.nan], [1, 2, 0]), ("31-0.0", [0, 1], [2, 1]),
                                 ("is_female", [1, 0], [2, 1]), ("sex", [1.0, 2.0, np.nan], [1, 2, 0]),
                                 # UK Biobank RAP's dx extract_dataset names (stop 42, s42geno)
                                 ("participant.p31", [0, 1], [2, 1]), ("participant.p22001", [1, 0], [1, 2])):
        sex, where = read(column, values)
        assert sex.tolist() == want and where == f"c.tsv column {column!r}", column
    assert read("sex", [0, 1, 1])[1] == "c.tsv column 'sex' is coded 0/1, which does not say who is male (code it " \
                                        "1/2 as PLINK, or M/F)"
    assert read("sex", ["M", "x"])[0] is None and read("sex", [np.nan, np.nan])[0] is None
    assert read("sex_2", [1, 2]) == (None, "no covariate named like sex")


def test_covariate_sex__the_first_readable_column_unknown_words_and_disagreement(caplog):
    """Review rev36b: a 'gender' coded 0/1 before a 'sex' coded 1/2 left X without sex (only the first sex-like
    column was looked at); one 'U' refused a whole M/F column, naming 'f' and 'm' as the odd values; two readable
    columns that disagree were silent; a QC cache key that knew only whether a sex was given."""
    from edfgen.engines.hail import _cache_path
    from edfgen.formats.genotypes.sex import covariate_sex

    t = pd.DataFrame({"IID": ["a", "b", "c", "d"], "gender": [0, 1, 1, 0], "sex": [1, 2, 2, 1]})
    sex, where = covariate_sex(t, "c.tsv")
    assert sex.tolist() == [1, 2, 2, 1] and where == "c.tsv column 'sex'"
    sex, _ = covariate_sex(pd.DataFrame({"IID": ["a", "b", "c"], "sex": ["M", "U", "unknown"]}), "c.tsv")
    assert sex.tolist() == [1, 0, 0]
    assert covariate_sex(pd.DataFrame({"IID": ["a", "b"], "sex": ["M", "x"]}), "c.tsv")[1].endswith("(e.g. ['x'])")
    sex, where = covariate_sex(t.assign(gender=["male", "male", "female", "male"]), "c.tsv")
    assert where == "c.tsv column 'gender'" and sex.tolist() == [1, 1, 2, 1]
    assert "c.tsv column 'gender' and c.tsv column 'sex' disagree on the sex of 1 sample(s)" in caplog.text

    class Files:
        def fingerprint(self):
            return "same files"

    from edfgen.kernels.qc import QCSettings
    one = pd.Series([1, 2, 2], index=["a", "b", "c"], dtype=np.int8)
    path = [_cache_path("/tmp", Files(), QCSettings(), np.array(["a", "b", "c"]), s)
            for s in (one, one.copy(), one.where(one.index != "c", 0), None)]
    assert path[0] == path[1] and len(set(path)) == 3

def test_sample_sex__fam_psam_and_sample_codes():
    from edfgen.formats.genotypes.sex import sample_sex

    got = sample_sex(pd.DataFrame({"IID": list("abcdefg"), "SEX": ["1", "2", "0", "-9", "M", "female", "NA"]}))
    assert got.tolist() == [1, 2, 0, 0, 1, 2, 0]
    assert sample_sex(pd.DataFrame({"IID": ["a"], "sex": ["NA"]})) is None       # nobody's sex known
    assert sample_sex(pd.DataFrame({"IID": ["a"]})) is None                        # VCF


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
def test_gwas_binary__sex_from_fam_equal_to_plink2_logistic(tmp_path):
    """--binary (logistic Wald) on X, Y, MT and PAR: the same samples, covariates and coding as plink2 --glm
    no-firth (its logistic regression without the Firth fallback)."""
    d = _sexed_cohort(tmp_path)
    ph = pd.read_csv(d / "pheno.tsv", sep="\t")
    ph["y"] = (ph["y"] > ph["y"].median()).astype(int)
    ph.to_csv(d / "pheno.tsv", sep="\t", index=False)
    ph.assign(y=ph["y"] + 1).rename(columns={"IID": "#FID"}).assign(IID=ph["IID"])[["#FID", "IID", "y"]].to_csv(
        d / "pheno.p2", sep="\t", index=False)
    out = tmp_path / "e"
    run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", out, covar_cols=["age"],
             qc=QCSettings(), settings=GwasSettings(binary=True, plots=False))
    subprocess.run([PLINK2, "--bfile", str(d / "g"), "--pheno", str(d / "pheno.p2"), "--covar", str(d / "covar.p2"),
                    "--glm", "hide-covar", "no-firth", "--maf", "0.01", "--geno", "0.05", "--mind", "0.05",
                    "--out", str(d / "p2"), "--silent"], check=True)
    ref = pd.read_csv(d / "p2.y.glm.logistic", sep="\t").set_index("ID")
    ours = pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id")
    ref = ref.rename(columns={"LOG(OR)_SE": "SE"}).assign(BETA=np.log(ref["OR"]))
    # v1 and Y's v16 have missing calls (mean-imputed by the logistic test, dropped by plink2); plink2 prints OR to
    # 6 digits and stops its Newton steps earlier (MT's v22: 4e-6 from statsmodels' fit, which edfgen equals)
    full = ~ours.index.isin(["v1", "v16"])
    ref = ref.loc[ours.index[full]]
    sign = np.where(ref["A1"] == ours.loc[full, "effect_allele"], 1.0, -1.0)
    np.testing.assert_allclose(ours.loc[full, "beta"], sign * ref["BETA"], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.loc[full, "standard_error"], ref["SE"], rtol=1e-4)
    np.testing.assert_array_equal(ours.loc[full, "n"], ref["OBS_CT"])


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
@pytest.mark.parametrize("binary", [False, True])
def test_gwas_hail__sex_from_fam_as_the_fast_engine_and_plink2(hail_context, tmp_path, binary):
    """The Hail engine reads the .fam's sex too: X (sex covariate, known sex), Y (males, 0/1), MT (0/1) and PAR (by
    position: Hail's import labels PLINK's 25 X) equal the fast engine's (mean-imputing both) and, where no call is
    missing, plink2's; Y's call rate counts the males."""
    d = _sexed_cohort(tmp_path)
    if binary:
        ph = pd.read_csv(d / "pheno.tsv", sep="\t")
        ph.assign(y=(ph["y"] > ph["y"].median()).astype(int)).to_csv(d / "pheno.tsv", sep="\t", index=False)
    res = {}
    for engine in ("fast", "hail"):
        run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", tmp_path / engine,
                 covar_cols=["age"], qc=QCSettings(), settings=GwasSettings(engine=engine, binary=binary,
                                                                           transform="none", plots=False))
        res[engine] = pd.read_csv(tmp_path / engine / "y.tsv.gz", sep="\t").set_index("variant_id")
    fast, hail = res["fast"], res["hail"].loc[res["fast"].index]
    assert len(fast) == len(KINDS)
    n_of = {k: set(fast.loc[[f"v{j}" for j, c in enumerate(KINDS) if c == k], "n"]) for k in ("1", "23", "24", "26")}
    assert n_of == {"1": {700}, "23": {670}, "24": {330}, "26": {700}}    # (edfgen read no sex: 330 males left)
    np.testing.assert_array_equal(hail["n"], fast["n"])
    for col in ("beta", "standard_error", "p_value", "effect_allele_frequency"):
        np.testing.assert_allclose(hail[col], fast[col], rtol=1e-4 if binary else 1e-6, atol=1e-8, err_msg=col)
    if not binary:
        ref = _plink2_glm(d).drop(["v1", "v16"])
        _assert_equal_to_plink2(fast.drop(["v1", "v16"]), ref)


def test_binary_true_false_with_missing_values_is_read_as_1_0(tmp_path):
    """Review s31b finding 6: TRUE/FALSE worked only without missing values (with NA pandas reads the column as
    text: skipped, or refused quoting 'False'); with --binary it is 1/0/NaN in both selections, and a text coding
    is refused naming the documented ones."""
    from edfgen.commands.gwas_design import select_phenotypes
    from edfgen.exceptions import InputError
    from edfgen.formats.tables import read_table

    (tmp_path / "p.tsv").write_text("IID\tAF\tHF\na\tTRUE\tcase\nb\tFALSE\tcontrol\nc\tNA\tcase\nd\tTRUE\tcontrol\n")
    for cols in (None, ["AF"]):
        table = read_table(tmp_path / "p.tsv", id_column="IID")
        assert select_phenotypes(table, columns=cols, source="p.tsv", binary=True) == ["AF"]
        np.testing.assert_array_equal(table["AF"].to_numpy(float), [1, 0, np.nan, 1])
    table = read_table(tmp_path / "p.tsv", id_column="IID")
    with pytest.raises(InputError, match=r"no numeric phenotype columns \(--binary expects 0/1, PLINK's 1/2 or TRUE"):
        select_phenotypes(table[["IID", "HF"]].copy(), source="p.tsv", binary=True)


@pytest.mark.parametrize("missing_code", [-9.0, None])
def test_run_gwas__binary_true_false_with_na_and_minus_9_through_run_gwas(tmp_path, missing_code):
    """Review s31h #7: a merge dropped ``binary=`` from run_gwas's read of the tables, and TRUE/FALSE columns with
    missing values were skipped again ("no numeric phenotype columns") and ``--missing-code none`` refused a 0/1
    column's -9, while the select_phenotypes tests passed. Through run_gwas: both are analysed, NA and -9 missing,
    with the results of the same outcomes coded 1/0/NA."""
    d = _cohort(tmp_path)
    rng = np.random.default_rng(5)
    y = pd.read_csv(d / "pheno.tsv", sep="\t")
    af = (y["y"] > y["y"].median()).to_numpy()
    hf = rng.random(N) < 0.3
    gone_af, gone_hf = rng.random(N) < 0.1, rng.random(N) < 0.1
    pd.DataFrame({"IID": y["IID"], "AF": np.where(gone_af, np.nan, af.astype(float)),
                  "HF": np.where(gone_hf, np.nan, hf.astype(float))}).to_csv(d / "coded.tsv", sep="\t", index=False,
                                                                            na_rep="NA")
    pd.DataFrame({"IID": y["IID"], "AF": np.where(gone_af, "NA", np.where(af, "TRUE", "FALSE")),
                  "HF": np.where(gone_hf, -9, hf.astype(int))}).to_csv(d / "bool.tsv", sep="\t", index=False)
    settings = GwasSettings(binary=True, plots=False, missing_code=missing_code)
    for name in ("bool", "coded"):
        run_gwas(GenotypeSource(bfile=str(d / "g")), d / f"{name}.tsv", d / "covar.tsv", tmp_path / name,
                 covar_cols=["age"], qc=QCSettings(), settings=settings)
    summary = pd.read_csv(tmp_path / "bool" / "gwas_summary.tsv", sep="\t").set_index("phenotype")
    assert summary["n"].to_dict() == {"AF": int((~gone_af).sum()), "HF": int((~gone_hf).sum())}
    for ph in ("AF", "HF"):
        got = pd.read_csv(tmp_path / "bool" / f"{ph}.tsv.gz", sep="\t")
        want = pd.read_csv(tmp_path / "coded" / f"{ph}.tsv.gz", sep="\t")
        pd.testing.assert_frame_equal(got, want)


def test_gwas_hail__sex_from_the_covariates_named_in_the_unknown_sex_warning(hail_context, tmp_path, caplog):
    """Was (known defect, s37): with the sex read from --covar (a .fam of zeros), the Hail engine warned "30 samples of
    unknown sex (the genotype files) left out of X", the files that give none; it now names the covariate column, and
    tests X on the 670 samples of known sex, as the fast engine."""
    d = _sexed_cohort(tmp_path)
    nosex = _fam_without_sex(d, {"1": "M", "2": "F", "0": "NA"})
    with caplog.at_level("WARNING"):
        run_gwas(GenotypeSource(bfile=str(nosex)), d / "pheno.tsv", d / "covar_sex.tsv", tmp_path / "h",
                 covar_cols=["age"], qc=QCSettings(), settings=GwasSettings(engine="hail", transform="none",
                                                                            plots=False))
    assert f"30 samples of unknown sex ({d / 'covar_sex.tsv'} column 'sex') left out of X" in caplog.text
    res = pd.read_csv(tmp_path / "h" / "y.tsv.gz", sep="\t").set_index("variant_id")
    assert set(res.loc[[f"v{j}" for j, c in enumerate(KINDS) if c == "23"], "n"]) == {670}


def test_covariate_sex__genetic_sex_before_reported_sex_whatever_the_column_order(caplog):
    """Review s42geno: a RAP export puts participant.p31 (reported sex) before participant.p22001 (genetic sex),
    and X's ploidy was coded from the reported sex, the first sex-like column. The genetic sex is read first
    (UK Biobank's 22001 in each spelling, genetic_sex, inferred_sex), and the disagreement is still warned about."""
    from edfgen.formats.genotypes.sex import covariate_sex

    reported, genetic = [1, 0, 0, 1], [1, 1, 0, 1]          # UK Biobank's 0/1, 1 male: sample b differs
    for rep, gen in [("participant.p31", "participant.p22001"), ("p31", "p22001"), ("31-0.0", "22001-0.0"),
                     ("f.31.0.0", "f.22001.0.0"), ("is_male", "genetic_sex"), ("sex", "inferred_sex")]:
        caplog.clear()
        t = pd.DataFrame({"IID": ["a", "b", "c", "d"], rep: reported if rep != "sex" else [1, 2, 2, 1],
                          gen: genetic if gen[-1].isdigit() else ["M", "M", "F", "M"]})
        sex, where = covariate_sex(t, "c.tsv")
        assert sex.tolist() == [1, 1, 2, 1] and where == f"c.tsv column {gen!r}", (rep, gen)
        assert f"column {gen!r} and c.tsv column {rep!r} disagree on the sex of 1 sample(s)" in caplog.text
