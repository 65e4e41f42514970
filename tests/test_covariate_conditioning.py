"""Covariates in the raw units of a biobank (review s40num): age in days (~20,000), genetic PCs ~1e-3, a
covariate ``1e6 + x`` with ``x`` ~ 1e-2 (relative variation 1e-8) beside the intercept. The logistic and mixed-model
fits solve normal equations ``C' W C`` (condition number squared): ``--binary``'s covariates-only model did not
converge (every variant NA, "a covariate separates its cases") and ``--model lmm-loco`` reported lambda_GC ~500
(all variants "significant"). ``edfgen gwas`` now fits the same model on standardized covariates
(:func:`edfgen.kernels.covariates.standardize_covariates`, plink2's ``--covar-variance-standardize``): the
statistics equal those of the same covariates in sane units, statsmodels, and plink2."""
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.covariates import standardize_covariates
from edfgen.kernels.qc import QCSettings

PLINK2 = shutil.which("plink2")
COVS = ["age_days", "sex", "big", "PC1..PC5"]
N, M = 600, 40


@pytest.fixture(scope="module")
def raw_cohort(tmp_path_factory):
    """``N`` samples, ``M`` variants on chromosomes 1 and 2, covariates in raw units (``cov.tsv``) and the same
    ones rescaled (``cov_sane.tsv``: years, PCs x 1e3, ``(big - 1e6) x 1e2``; ``cov_std.tsv``: each centred and
    scaled to variance 1 here; ``cov_tiny.tsv``: ``big``'s variation / 10, relative 1e-9), phenotypes ``y``,
    ``case``, ``x`` (``y`` to 1/1024) and ``x_off`` = ``1e6 + x``; ``g_flip`` is ``g`` with each genotype ``2 - g``."""
    from bed_reader import to_bed

    d = tmp_path_factory.mktemp("raw_units")
    rng = np.random.default_rng(40)
    G = rng.binomial(2, rng.uniform(0.1, 0.5, M), size=(N, M)).astype(float)
    iid = np.array([f"s{i}" for i in range(N)])
    to_bed(d / "g.bed", G, count_A1=True, properties={
        "fid": iid, "iid": iid, "sid": [f"v{j}" for j in range(M)], "chromosome": np.repeat(["1", "2"], M // 2),
        "bp_position": np.tile(np.arange(1, M // 2 + 1) * 1000, 2), "allele_1": ["A"] * M, "allele_2": ["G"] * M})
    to_bed(d / "g_flip.bed", 2 - G, count_A1=True, properties={
        "fid": iid, "iid": iid, "sid": [f"v{j}" for j in range(M)], "chromosome": np.repeat(["1", "2"], M // 2),
        "bp_position": np.tile(np.arange(1, M // 2 + 1) * 1000, 2), "allele_1": ["A"] * M, "allele_2": ["G"] * M})
    age_days = np.round(rng.normal(20000, 3000, N))
    pcs = rng.normal(size=(N, 5)) * 1e-3
    big = 1e6 + rng.normal(0, 1e-2, N)
    sex = rng.integers(0, 2, N)
    y = (0.3 * G[:, 0] + (age_days - 20000) / 3000 * 0.3 + pcs[:, 0] * 300 + (big - 1e6) * 20 + 0.2 * sex
         + rng.normal(size=N))
    case = (rng.random(N) < 1 / (1 + np.exp(-0.8 * (y - y.mean())))).astype(int)
    raw = pd.DataFrame({"IID": iid, "age_days": age_days, "sex": sex, "big": big,
                        **{f"PC{k + 1}": pcs[:, k] for k in range(5)}})
    raw.to_csv(d / "cov.tsv", sep="\t", index=False, float_format="%.17g")
    raw.assign(age_days=(age_days - 20000) / 365.25, big=(big - 1e6) * 1e2,
               **{f"PC{k + 1}": pcs[:, k] * 1e3 for k in range(5)}).to_csv(
        d / "cov_sane.tsv", sep="\t", index=False, float_format="%.17g")
    numeric = raw.drop(columns="IID")
    raw[["IID"]].join((numeric - numeric.mean()) / numeric.std(ddof=0)).to_csv(
        d / "cov_std.tsv", sep="\t", index=False, float_format="%.17g")
    raw.assign(big=1e6 + (big - 1e6) / 10).to_csv(d / "cov_tiny.tsv", sep="\t", index=False, float_format="%.17g")
    x = np.round(y * 64) / 2 ** 16                              # (1e6 + x: exact doubles, written exactly)
    pd.DataFrame({"IID": iid, "y": y, "case": case, "x": x, "x_off": 1e6 + x}).to_csv(
        d / "pheno.tsv", sep="\t", index=False, float_format="%.25g")
    return d


def _gwas(d, covar, out, phenotype, covs=COVS, bfile="g", **settings):
    run_gwas(GenotypeSource(bfile=str(d / bfile)), d / "pheno.tsv", d / covar, out, covar_cols=covs,
             pheno_cols=[phenotype], qc=QCSettings(hwe_p=0.0),
             settings=GwasSettings(transform="none", plots=False, **settings))
    return pd.read_csv(out / f"{phenotype}.tsv.gz", sep="\t").set_index("variant_id")


def _reference_design(d):
    """The intercept and the covariates centred and scaled in the reference fits (the same model)."""
    cov = pd.read_csv(d / "cov.tsv", sep="\t")
    X = cov[["age_days", "sex", "big"] + [f"PC{k}" for k in range(1, 6)]].to_numpy(float)
    return np.column_stack([np.ones(len(X)), (X - X.mean(0)) / X.std(0)])


def _plink2(d, cov_path, covar_names, tmp_path):
    """plink2 --glm --covar-variance-standardize on phenotypes ``y`` and ``case`` (``tmp_path/p2.*``); its log text."""
    cov = pd.read_csv(cov_path, sep="\t", dtype=str)
    cov.insert(0, "#FID", cov["IID"])
    cov.to_csv(tmp_path / "cov.p2", sep="\t", index=False)
    ph = pd.read_csv(d / "pheno.tsv", sep="\t", dtype=str)
    ph.insert(0, "#FID", ph["IID"])
    ph.to_csv(tmp_path / "pheno.p2", sep="\t", index=False)
    subprocess.run([PLINK2, "--bfile", str(d / "g"), "--pheno", str(tmp_path / "pheno.p2"), "--covar",
                    str(tmp_path / "cov.p2"), "--covar-name", covar_names, "--glm", "hide-covar", "omit-ref",
                    "--covar-variance-standardize", "--1", "--pheno-name", "y,case", "--out", str(tmp_path / "p2"),
                    "--silent"], check=True)
    return (tmp_path / "p2.log").read_text()


def test_standardize_covariates__same_span_unit_scale_intercept_kept():
    rng = np.random.default_rng(1)
    C = np.column_stack([np.ones(50), 1e6 + rng.normal(0, 1e-3, 50), rng.normal(size=50) * 1e-3, np.full(50, 3.0)])
    S = standardize_covariates(C)
    np.testing.assert_array_equal(S[:, [0, 3]], C[:, [0, 3]])
    np.testing.assert_allclose(S[:, 1:3].mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(S[:, 1:3].std(0), 1, rtol=1e-12)
    x = C[:, 1] - 1e6                   # (exact: the variation of 1e6 + x as stored)
    np.testing.assert_allclose(S[:, 1], (x - x.mean()) / x.std(), rtol=1e-12, atol=1e-12)
    without_intercept = C[:, 1:3]
    np.testing.assert_array_equal(standardize_covariates(without_intercept), without_intercept)


@pytest.mark.parametrize("model, binary", [("linear", False), ("linear", True), ("lmm-loco", False),
                                           ("ridge-loco", False)])
def test_gwas__raw_covariate_units_give_the_statistics_of_sane_units(raw_cohort, tmp_path, model, binary):
    """Before: --binary every variant NA (null model not converged), lmm-loco lambda_GC ~500."""
    phenotype = "case" if binary else "y"
    raw = _gwas(raw_cohort, "cov.tsv", tmp_path / "raw", phenotype, binary=binary, model=model)
    sane = _gwas(raw_cohort, "cov_sane.tsv", tmp_path / "sane", phenotype, binary=binary, model=model)
    assert len(raw) == len(sane) == M and raw["beta"].notna().all()
    sane = sane.loc[raw.index]
    np.testing.assert_allclose(raw["beta"], sane["beta"], rtol=1e-6, atol=1e-6 * sane["standard_error"].min())
    np.testing.assert_allclose(raw["standard_error"], sane["standard_error"], rtol=1e-6)
    np.testing.assert_allclose(raw["p_value"], sane["p_value"], rtol=1e-5)


@pytest.mark.parametrize("model", ["lmm-loco", "ridge-loco"])
def test_gwas__raw_covariate_units_equal_numpy_standardized_ones_with_the_intercept(raw_cohort, tmp_path, model):
    """The mixed models have no outside reference here, and raw vs sane units compares edfgen with itself. The
    raw run equals the run on covariates standardized in numpy (``cov_std.tsv``) with genotypes ``2 - g``
    (``g_flip``) up to beta's sign: the same model, the intercept in it (without it the fit depends on the
    genotype's mean; a shifted phenotype cannot show that, as it is centred before the fit)."""
    raw = _gwas(raw_cohort, "cov.tsv", tmp_path / "raw", "y", model=model)
    other = _gwas(raw_cohort, "cov_std.tsv", tmp_path / "std", "y", bfile="g_flip", model=model).loc[raw.index]
    assert len(raw) == M and raw["beta"].notna().all()
    np.testing.assert_allclose(raw["beta"], -other["beta"], rtol=1e-6, atol=1e-6 * other["standard_error"].min())
    np.testing.assert_allclose(raw[["standard_error", "p_value"]], other[["standard_error", "p_value"]], rtol=1e-5)


def test_gwas__a_covariate_varying_by_1e_9_of_its_size_is_fitted(raw_cohort, tmp_path):
    """``1e6 + x``, ``x`` ~ 1e-3 (7 digits of ``x`` held): was refused as "a linear combination of 'intercept'" (the
    collinearity check judged it on its uncentred length); plink2 --covar-variance-standardize fits it."""
    tiny = _gwas(raw_cohort, "cov_tiny.tsv", tmp_path / "tiny", "y")
    sane = _gwas(raw_cohort, "cov_sane.tsv", tmp_path / "sane", "y").loc[tiny.index]
    np.testing.assert_allclose(tiny["beta"], sane["beta"], rtol=1e-5, atol=1e-5 * sane["standard_error"].min())
    np.testing.assert_allclose(tiny["standard_error"], sane["standard_error"], rtol=1e-5)


@pytest.mark.parametrize("model", ["linear", "lmm-loco"])
def test_gwas__a_phenotype_1e6_plus_x_gives_the_statistics_of_x(raw_cohort, tmp_path, model):
    """A phenotype in raw units far from 0 (``1e6 + x``, ``x`` ~ 1e-3): residualising it on the intercept cancelled
    9 of its digits (beta off by 2.5e-5 SE, p by 1e-4 relative); it is centred first (the intercept absorbs that)."""
    off = _gwas(raw_cohort, "cov_sane.tsv", tmp_path / "off", "x_off", model=model)
    x = _gwas(raw_cohort, "cov_sane.tsv", tmp_path / "x", "x", model=model).loc[off.index]
    np.testing.assert_allclose(off["beta"], x["beta"], rtol=1e-6, atol=1e-6 * x["standard_error"].min())
    np.testing.assert_allclose(off["standard_error"], x["standard_error"], rtol=1e-6)
    np.testing.assert_allclose(off["p_value"], x["p_value"], rtol=1e-5)


def test_gwas__raw_covariate_units_equal_statsmodels(raw_cohort, tmp_path):
    """Linear (rtol 1e-6: the 8 digits written) and logistic (Hail's stopping rule: Newton steps below 1e-6
    are not applied, so beta within 1e-5 SE) against statsmodels on the centred, scaled design."""
    sm = pytest.importorskip("statsmodels.api")
    from bed_reader import open_bed

    d = raw_cohort
    X = _reference_design(d)
    G = open_bed(d / "g.bed").read(dtype="float64")
    ph = pd.read_csv(d / "pheno.tsv", sep="\t")
    lin = _gwas(d, "cov.tsv", tmp_path / "lin", "y").loc[[f"v{j}" for j in range(M)]]
    logit = _gwas(d, "cov.tsv", tmp_path / "logit", "case", binary=True).loc[lin.index]
    for j in range(M):
        ols = sm.OLS(ph["y"].to_numpy(), np.column_stack([X, G[:, j]])).fit()
        np.testing.assert_allclose(lin.iloc[j][["beta", "standard_error", "p_value"]].to_numpy(float),
                                   [ols.params[-1], ols.bse[-1], ols.pvalues[-1]], rtol=1e-6)
        fit = sm.Logit(ph["case"].to_numpy(), np.column_stack([X, G[:, j]])).fit(disp=0, tol=1e-12, method="newton")
        assert abs(logit.iloc[j]["beta"] - fit.params[-1]) < 1e-5 * fit.bse[-1]
        np.testing.assert_allclose(logit.iloc[j]["standard_error"], fit.bse[-1], rtol=1e-6)


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
def test_gwas__raw_covariate_units_equal_plink2_covar_variance_standardize(raw_cohort, tmp_path):
    """plink2 refuses these covariates unstandardized ("scales vary too widely"); with
    --covar-variance-standardize its 6 printed digits equal edfgen's, linear and logistic."""
    d = raw_cohort
    _plink2(d, d / "cov.tsv", "age_days,sex,big,PC1-PC5", tmp_path)
    lin = _gwas(d, "cov.tsv", tmp_path / "lin", "y")
    logit = _gwas(d, "cov.tsv", tmp_path / "logit", "case", binary=True)
    p2 = pd.read_csv(tmp_path / "p2.y.glm.linear", sep="\t").set_index("ID").loc[lin.index]
    for ours, theirs in (("beta", "BETA"), ("standard_error", "SE"), ("p_value", "P")):
        np.testing.assert_allclose(lin[ours], p2[theirs], rtol=1e-5, atol=1e-6 * p2["SE"].max())
    p2 = pd.read_csv(tmp_path / "p2.case.glm.logistic.hybrid", sep="\t").set_index("ID").loc[logit.index]
    np.testing.assert_allclose(logit["beta"], np.log(p2["OR"]), atol=1e-5)
    np.testing.assert_allclose(logit["standard_error"], p2["LOG(OR)_SE"], rtol=1e-5)
    np.testing.assert_allclose(logit["p_value"], p2["P"], rtol=1e-4)


def test_prepare_logistic__a_one_person_batch_is_named_when_the_null_model_fails(caplog):
    """A genotyping batch of one person (a categorical level held by a single control) separates: the null model
    runs off and every Wald fit fails (plink2 falls back to Firth). The warning said only "a covariate separates its
    cases from controls, or too few cases"; it now names the level."""
    from edfgen.kernels.logistic import prepare_logistic

    rng = np.random.default_rng(5)
    n = 400
    batch = rng.integers(0, 3, n)
    y = rng.integers(0, 2, n).astype(float)
    y[0], batch[0] = 0.0, 3                                 # batch b3: one person, a control
    C = np.column_stack([np.ones(n), rng.normal(size=n)] + [(batch == b).astype(float) for b in (1, 2, 3)])
    names = ["intercept", "age", "batch=b1", "batch=b2", "batch=b3"]
    prep = prepare_logistic(y[:, None], standardize_covariates(C), names=["t2d"], covariate_names=names)
    assert prep.null_failed == {0}
    assert "covariate 'batch=b3' (1 sample, all controls) separates its cases from controls" in caplog.text


def _ulp_covariates(d, tmp_path):
    """``cov.tsv`` plus ``arr``: 1.7 in every sample but one, which has the next double (``0.1 * 17`` as written)."""
    cov = pd.read_csv(d / "cov.tsv", sep="\t")
    cov["arr"] = 1.7
    cov.loc[3, "arr"] = np.nextafter(1.7, 2)
    cov.to_csv(tmp_path / "cov_ulp.tsv", sep="\t", index=False, float_format="%.17g")
    return tmp_path / "cov_ulp.tsv"


def test_standardize_covariates__a_column_constant_but_for_rounding_is_not_scaled_up():
    """Scaled to variance 1, a column 1.7 with one sample at 1.7 + 1 ulp became that sample's indicator (a
    one-person dummy); it is constant (left as it is, and dropped by ``drop_constant_indicators``, as plink2)."""
    from edfgen.commands.gwas_levels import drop_constant_indicators

    rng = np.random.default_rng(2)
    arr = np.full(60, 1.7)
    arr[3] = np.nextafter(1.7, 2)
    C = np.column_stack([np.ones(60), rng.normal(size=60), arr, 1e6 + rng.normal(0, 1e-3, 60)])
    S = standardize_covariates(C)
    np.testing.assert_array_equal(S[:, 2], arr)
    np.testing.assert_allclose(S[:, [1, 3]].std(0), 1, rtol=1e-12)      # (relative variation 1e-9: kept)
    kept, names = drop_constant_indicators(C, ["intercept", "age", "arr", "big"], warn=False)
    assert names == ["intercept", "age", "big"] and kept.shape == (60, 3)


def test_standardize_covariates__peak_memory_one_copy():
    """At 500,000 samples x 170 covariates each N x K temporary is 680 MB: it made about 3 (2.7 GB transient);
    now the result is the only one."""
    import tracemalloc

    rng = np.random.default_rng(3)
    C = np.column_stack([np.ones(20000), rng.normal(size=(20000, 49))])
    tracemalloc.start()
    try:
        standardize_covariates(C)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * C.nbytes


def test_gwas__a_covariate_constant_but_for_rounding_is_left_out(raw_cohort, tmp_path, caplog):
    """It was a one-person dummy: the linear fit differed from plink2's (which leaves it out) and --binary gave no
    row (every fit failed: the 'level' separated). Now dropped, with the warning; the fit is that without it."""
    cov = _ulp_covariates(raw_cohort, tmp_path)
    logit = _gwas(raw_cohort, cov, tmp_path / "ulp", "case", covs=COVS + ["arr"], binary=True)
    assert "constant in the analysed samples, dropped: arr" in caplog.text
    without = _gwas(raw_cohort, "cov.tsv", tmp_path / "without", "case", binary=True).loc[logit.index]
    assert len(logit) == M
    np.testing.assert_allclose(logit["beta"], without["beta"], rtol=1e-6, atol=1e-6 * without["standard_error"].min())
    np.testing.assert_allclose(logit[["standard_error", "p_value"]], without[["standard_error", "p_value"]],
                               rtol=1e-5)


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
def test_gwas__a_covariate_constant_but_for_rounding_as_plink2(raw_cohort, tmp_path):
    """plink2 --covar-variance-standardize: "Excluding constant covariate 'arr'" (OBS_CT 600); edfgen's linear fit
    differed from it by 0.12 SE in beta, 0.08 in log10 p."""
    cov = _ulp_covariates(raw_cohort, tmp_path)
    log_text = _plink2(raw_cohort, cov, "age_days,sex,big,PC1-PC5,arr", tmp_path)
    assert "Excluding constant covariate 'arr'" in log_text
    lin = _gwas(raw_cohort, cov, tmp_path / "ulp", "y", covs=COVS + ["arr"])
    p2 = pd.read_csv(tmp_path / "p2.y.glm.linear", sep="\t").set_index("ID").loc[lin.index]
    assert (p2["OBS_CT"] == N).all() and (lin["n"] == N).all()
    for ours, theirs in (("beta", "BETA"), ("standard_error", "SE"), ("p_value", "P")):
        np.testing.assert_allclose(lin[ours], p2[theirs], rtol=1e-5, atol=1e-6 * p2["SE"].max())


def test_prepare_logistic__a_one_person_reference_level_is_named_when_the_null_model_fails(caplog):
    """The reference level (no indicator of its own: first by (length, name)) of one person separates as any
    other level; only the indicators were checked, so the warning fell back to "a covariate separates ..."."""
    from edfgen.kernels.logistic import prepare_logistic

    rng = np.random.default_rng(6)
    n = 400
    batch = rng.integers(1, 4, n)
    y = rng.integers(0, 2, n).astype(float)
    y[0], batch[0] = 0.0, 0                                 # the reference level b0: one person, a control
    C = np.column_stack([np.ones(n), rng.normal(size=n)] + [(batch == b).astype(float) for b in (1, 2, 3)])
    names = ["intercept", "age", "batch=b1", "batch=b2", "batch=b3"]
    prep = prepare_logistic(y[:, None], standardize_covariates(C), names=["t2d"], covariate_names=names)
    assert prep.null_failed == {0}
    assert ("covariate 'batch' reference level (1 sample, all controls) separates its cases from controls: merge or "
            "drop such levels") in caplog.text


def test_separating_levels__a_common_value_and_a_numeric_covariate():
    """A value held by most samples, all controls, separates too (only the rarer value was checked); a covariate
    that is no categorical level is called a covariate, not a level to merge."""
    from edfgen.kernels.covariates import separating_levels

    rng = np.random.default_rng(7)
    n = 200
    smoker = (np.arange(n) < 150).astype(float)             # 150 smokers, all controls; 50 others, mixed
    y = np.where(smoker == 1, 0.0, rng.integers(0, 2, n))
    y[150:152] = 0, 1
    C = standardize_covariates(np.column_stack([np.ones(n), rng.normal(size=n), smoker]))
    said = separating_levels(C, y, ["intercept", "age", "smoker"])
    assert said == ("covariate 'smoker' (150 samples at one of its 2 values, all controls) separates its cases from "
                    "controls: drop or recode such covariates")
