"""Sex chromosomes and MT in the GWAS's QC and ``--chr``, checked against plink2 ``--glm`` on the same files.

A review found the default QC removed every common variant of non-PAR X and MT (males hemizygous, coded 0/2,
failed the diploid HWE test: plink2 tests X on females only), so a real array's whole chrX vanished without a
word; and ``--chr X`` found nothing in a ``.bim`` that numbers X 23 (PLINK 1.9, UK Biobank).
"""

from __future__ import annotations

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
        "chromosome": chrom, "bp_position": np.arange(1, M_AUTO + M_X + 1) * 1000,
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
    assert qc.loc["hwe", "removed"] == 1 and qc.loc["hwe", "threshold"] == "p >= 1e-06 (autosomes)"


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
    assert "chromosome X is tested without a sex covariate (none of age looks like sex)" in caplog.text
    for cov in (["intercept", "Sex"], ["intercept", "sex=M"], ["intercept", "31-0.0"], ["intercept", "is_male"]):
        caplog.clear()
        with caplog.at_level("WARNING"):
            warn_sex_chromosomes(["1", "X"], cov)
        assert not caplog.text, cov
    caplog.clear()
    with caplog.at_level("WARNING"):
        warn_sex_chromosomes(["1", "26", "Y"], ["intercept", "sex"])
    assert "MT and Y tested" in caplog.text and "half plink2's" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        warn_sex_chromosomes(["1", "2"], ["intercept"])
    assert not caplog.text


def test_binary_phenotypes__plink_codes_per_column(caplog):
    """PLINK's case/control file (1/2, -9 missing) was refused with a message that did not mention -9; the
    coding is now read per column (a 0/1 and a 1/2 column side by side)."""
    from edfgen.commands.gwas_design import binary_phenotypes
    from edfgen.exceptions import InputError

    Y = np.array([[1, 0], [2, 1], [-9, 1], [2, np.nan], [1, 0]], dtype=float)
    with caplog.at_level("WARNING"):
        out = binary_phenotypes(Y, ["cad", "af"], "p.tsv")
    np.testing.assert_array_equal(out, [[0, 0], [1, 1], [np.nan, 1], [1, np.nan], [0, 0]])
    assert "'cad': 1 values -9 read as missing" in caplog.text
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
