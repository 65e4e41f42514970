"""Rank decisions on the covariates do not depend on any column's scale (review rev29d F1): a covariate with
large values (a date in seconds, ~1e9) beside the intercept and the 0/1 sex column X adds once made those look
"dependent" (the limit was tol x the largest value in the whole matrix): X's sex covariate was dropped (betas off
by 0.12 against plink2) or the run stopped with "'intercept' is a linear combination of nothing"."""
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.engines.sex_chromosomes import MALE, independent_columns, sex_designs
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings
from edfgen.kernels.association import collinear_covariates, prepare_phenotypes

from tests.test_sex_chromosomes import _assert_equal_to_plink2, _sexed_cohort

PLINK2 = shutil.which("plink2")


def _design(n=600, seed=3):
    rng = np.random.default_rng(seed)
    sex = rng.choice([1, 2], n)
    date = 1.7e9 + rng.normal(0, 3e7, n)         # Unix seconds
    C = np.column_stack([np.ones(n), date, rng.normal(size=n)])
    return C, ["intercept", "date", "PC1"], sex


@pytest.mark.parametrize("scale", [1.0, 1e-9, 1e3])
def test_independent_columns__a_large_covariate_keeps_the_sex_column_and_intercept(scale):
    C, names, sex = _design()
    C = C * np.array([1.0, scale, 1.0])
    x = sex_designs(["X"], sex, C, names)["X"]
    assert x.names == ["intercept", "date", "PC1", "sex (genotype files, on X)"]
    assert independent_columns(C, names)[1] == names
    male = (sex == MALE).astype(float)
    # still dropped: a constant, a column combining the date and sex, a copy of sex (judged on its own size)
    D = np.column_stack([C, male, np.full(len(C), 7.0), C[:, 1] - 3 * male, male])
    assert independent_columns(D, names + ["m", "const", "date - 3 m", "m copy"])[1] == names + ["m"]
    assert collinear_covariates(C, names) is None
    assert collinear_covariates(D[:, :5], names + ["m", "const"])[0] == "const"
    prepare_phenotypes(np.random.default_rng(0).normal(size=(len(C), 1)), C)     # (no "collinear" error)


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
def test_gwas__date_in_seconds_same_betas_as_rescaled_and_as_plink2(tmp_path):
    """The same linear model with the date in seconds (~1.7e9) or in units of 1e9 s: identical X, Y, MT, PAR and
    autosome statistics, equal to plink2 --glm sex --covar-variance-standardize (which refuses the raw scale)."""
    d = _sexed_cohort(tmp_path)
    cov = pd.read_csv(d / "covar.tsv", sep="\t")
    date = 1.7e9 + np.random.default_rng(9).normal(0, 3e7, len(cov))
    res = {}
    for name, scale in (("s", 1.0), ("g", 1e-9)):
        cov.assign(date=date * scale).to_csv(d / f"cov_{name}.tsv", sep="\t", index=False)
        out = tmp_path / name
        run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / f"cov_{name}.tsv", out,
                 covar_cols=["age", "date"], qc=QCSettings(),
                 settings=GwasSettings(transform="none", plots=False, missing_genotypes="drop"))
        res[name] = pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id")
    for col in ("beta", "standard_error", "p_value"):
        np.testing.assert_allclose(res["s"][col], res["g"][col], rtol=1e-7)
    pd.DataFrame({"#FID": cov["IID"], "IID": cov["IID"], "age": cov["age"], "date": date}).to_csv(
        d / "cov.p2", sep="\t", index=False)
    subprocess.run([PLINK2, "--bfile", str(d / "g"), "--pheno", str(d / "pheno.p2"), "--covar", str(d / "cov.p2"),
                    "--glm", "hide-covar", "--covar-variance-standardize", "--maf", "0.01", "--geno", "0.05",
                    "--mind", "0.05", "--out", str(d / "p2"), "--silent"], check=True)
    _assert_equal_to_plink2(res["s"], pd.read_csv(d / "p2.y.glm.linear", sep="\t").set_index("ID"))
