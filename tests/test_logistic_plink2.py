"""``edfgen gwas --binary`` (fast engine, logistic Wald) against ``plink2 --glm firth-fallback`` on the same
files, and the logistic kernel's chunks and threads against one chunk in one thread."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

import edfgen.kernels.logistic as logistic
from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings

NO_QC = QCSettings(call_rate=0.0, maf=0.0, hwe_p=0.0, sample_call_rate=0.0)


def _cohort(d, n=700, m=240, seed=11):
    """Hard calls without missing values (plink2 drops a sample's missing call, edfgen mean-imputes it), an
    effect on variant 3, rare variants (separation: plink2's Firth rows), 2 outcomes, one with
    missing values, covariates age, sex."""
    from bed_reader import to_bed

    rng = np.random.default_rng(seed)
    f = np.r_[rng.uniform(0.05, 0.5, m - 20), rng.uniform(0.002, 0.01, 20)]
    G = rng.binomial(2, f, (n, m)).astype(np.float32)
    iid = np.array([f"S{i:04d}" for i in range(n)])
    to_bed(d / "g.bed", G, count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": [f"v{i}" for i in range(m)], "chromosome": np.repeat(["1", "2"], m // 2),
        "bp_position": np.tile(np.arange(1, m // 2 + 1) * 1000, 2), "allele_1": np.full(m, "A"),
        "allele_2": np.full(m, "G")})
    age, sex = rng.normal(50, 10, n), rng.integers(0, 2, n)
    lin = -1.2 + 0.6 * G[:, 3] + 0.02 * (age - 50) + 0.3 * sex
    Y = (rng.random((n, 2)) < 1 / (1 + np.exp(-lin[:, None]))).astype(float)
    Y[rng.random(n) < 0.08, 1] = np.nan
    oc = pd.DataFrame({"IID": iid, "d1": Y[:, 0], "d2": Y[:, 1]})
    oc.to_csv(d / "oc.tsv", sep="\t", index=False, na_rep="NA")
    p2 = oc.assign(d1=oc["d1"] + 1, d2=oc["d2"] + 1)       # plink2: 1 control, 2 case
    p2.insert(0, "#FID", iid)
    p2.to_csv(d / "oc.p2", sep="\t", index=False, na_rep="NA", float_format="%.0f")
    cv = pd.DataFrame({"IID": iid, "age": age, "sex": sex})
    cv.to_csv(d / "cv.tsv", sep="\t", index=False)
    cv.insert(0, "#FID", iid)
    cv.to_csv(d / "cv.p2", sep="\t", index=False)


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_fast_binary_engine__matches_plink2_glm_firth_fallback(tmp_path):
    """Every row plink2 fits without Firth: same estimate (|Δ log OR| <= 1e-5 + plink2's 6 printed digits),
    SE and p within 1e-4 relative; the rows plink2 had to fit with Firth (separation) are the ones edfgen
    leaves out of its files or reports with a huge SE (a logistic fit that did not really converge)."""
    _cohort(tmp_path)
    subprocess.run(["plink2", "--bfile", str(tmp_path / "g"), "--pheno", str(tmp_path / "oc.p2"), "--covar",
                    str(tmp_path / "cv.p2"), "--glm", "firth-fallback", "hide-covar", "--threads", "2", "--silent",
                    "--out", str(tmp_path / "p2")], check=True)
    res = run_gwas(GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / "oc.tsv", tmp_path / "cv.tsv",
                   tmp_path / "e", covar_cols=["age", "sex"], qc=NO_QC, threads=2,
                   settings=GwasSettings(binary=True, engine="fast", plots=False))
    assert res.engine == "fast"
    firth = 0
    for name in ("d1", "d2"):
        ours = pd.read_csv(tmp_path / "e" / f"{name}.tsv.gz", sep="\t")
        ref = pd.read_csv(tmp_path / f"p2.{name}.glm.logistic.hybrid", sep="\t")
        m = ours.merge(ref, left_on="variant_id", right_on="ID", how="right", validate="1:1")
        plain = m[m["FIRTH?"] == "N"]
        assert plain["beta"].notna().all() and len(plain) > 200
        sign = np.where(plain["effect_allele"] == plain["A1"], 1.0, -1.0)
        log_or = np.log(plain["OR"].to_numpy())
        assert np.abs(plain["beta"] - sign * log_or).max() <= 1e-5 + 5e-6 * np.abs(log_or).max()
        np.testing.assert_allclose(plain["standard_error"], plain["LOG(OR)_SE"], rtol=1e-4)
        np.testing.assert_allclose(plain["p_value"], plain["P"], rtol=1e-4)
        np.testing.assert_array_equal(plain["n"], plain["OBS_CT"])
        fr = m[m["FIRTH?"] == "Y"]
        firth += len(fr)
        assert (fr["beta"].isna() | (fr["standard_error"] > 5)).all()
    assert firth > 0   # the rare variants did separate in some outcome


def test_logistic_kernel__chunks_and_threads_equal_one_chunk():
    """Small chunks spread over 2 threads give the same numbers as one chunk in one thread (each variant's
    Newton iterations are the same arithmetic), with two missingness groups and an offset."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(5)
    n, m = 500, 90
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), (n, m)).astype(float)
    G[rng.random((n, m)) < 0.01] = np.nan
    G[:, 10] = 1.0                                            # monomorphic
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    Y = (rng.random((n, 3)) < 1 / (1 + np.exp(1 - 0.4 * np.nan_to_num(G[:, :3], nan=1.0)))).astype(float)
    Y[rng.random(n) < 0.1, 2] = np.nan
    off = rng.normal(0, 0.2, (n, 3))
    for offset in (None, off):
        prep = logistic.prepare_logistic(Y, C, offset=offset)
        with threadpool_limits(limits=1, user_api="blas"):
            one = logistic.logistic_association(G, prep)       # n = 500: one chunk of all 90 variants
        old = logistic.CHUNK_BYTES
        try:
            logistic.CHUNK_BYTES = 8 * n * 16                  # 16 variants per chunk: 6 chunks
            with threadpool_limits(limits=2, user_api="blas"):
                many = logistic.logistic_association(G, prep)
        finally:
            logistic.CHUNK_BYTES = old
        for k in ("beta", "standard_error", "p_value", "converged", "n", "effect_allele_frequency"):
            np.testing.assert_allclose(getattr(many, k), getattr(one, k), rtol=1e-12, atol=0, err_msg=k)
        assert not one.converged[10].any() and one.converged[:3].all()


def test_wald_fits_that_diverge_fail_and_go_to_firth():
    """Review s31b: (1) a variant without carriers among the cases' called genotypes (plink2: SEPARATION),
    whose missing calls in cases, mean-imputed, made the Wald fit "converge" at β -10.7 with SE 265; (2) a fit
    under a covariate that nearly separates the cases, whose β ran off by unit Newton steps before settling at
    a SE of 4e4 (plink2: LOGISTIC_CONVERGE_FAIL). Both fail (NaN, converged False); the Firth fallback refits
    them to finite estimates."""
    from edfgen.kernels.firth import firth_fallback

    rng = np.random.default_rng(0)
    n = 1000
    y = np.zeros(n)
    y[:90] = 1
    C = np.column_stack([np.ones(n), 3 * y + rng.normal(0, 0.6, n)])
    g = rng.binomial(1, 0.05, n).astype(float)
    g[rng.choice(90, 5, replace=False)] = np.nan
    g[:90] = np.where(np.isnan(g[:90]), np.nan, 0.0)            # no case carrier among the called genotypes
    assert logistic.separated(g[:, None], y)[0]
    prepared = logistic.prepare_logistic(y[:, None], C)
    res = logistic.logistic_association(g[:, None], prepared)
    assert not res.converged[0, 0] and np.isnan(res.beta[0, 0])
    firth = firth_fallback(g[:, None], prepared, res)
    assert firth.firth[0, 0] and firth.converged[0, 0] and firth.beta[0, 0] < 0

    rng = np.random.default_rng(7)
    n = 2000
    y = np.zeros(n)
    y[:180] = 1
    C = np.column_stack([np.ones(n), 3 * y + rng.normal(0, 0.6, n)])
    G = np.zeros((n, 8))
    for j in range(8):
        G[rng.choice(n, 20, replace=False), j] = 1
    prepared = logistic.prepare_logistic(y[:, None], C)
    res = logistic.logistic_association(G[:, 3:4], prepared)
    assert not res.converged[0, 0] and not logistic.separated(G[:, 3:4], y)[0]
    firth = firth_fallback(G[:, 3:4], prepared, res)
    assert firth.firth[0, 0] and firth.converged[0, 0] and np.isfinite(firth.standard_error[0, 0])


def test_strong_rare_effects_converge_by_step_halving__match_statsmodels():
    """Review s31h finding 0: OR ~ 15 variants of MAF 1-6 % (plink2 --glm no-firth p 1e-18..1e-61) made full
    Newton steps from beta = 0 overshoot and oscillate (Δβ +5, -4.8, +6, -16, ...): 9 of these 12 fits were
    dropped as not converged. With step-halving every fit converges to statsmodels' β and SE (none of them is
    separated)."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(3)
    n, m = 1000, 12
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    G = rng.binomial(2, rng.uniform(0.01, 0.06, m), (n, m)).astype(float)
    Y = (rng.random((n, m)) < 1 / (1 + np.exp(-(-3 + 0.3 * C[:, 1:2] + 2.8 * G)))).astype(float)
    res = logistic.logistic_association(G, logistic.prepare_logistic(Y, C))
    assert res.converged.diagonal().all()
    for j in range(m):
        ref = sm.Logit(Y[:, j], np.column_stack([C, G[:, j]])).fit(disp=0)
        assert not logistic.separated(G[:, [j]], Y[:, j])[0]
        np.testing.assert_allclose(res.beta[j, j], ref.params[-1], rtol=1e-6)
        np.testing.assert_allclose(res.standard_error[j, j], ref.bse[-1], rtol=1e-6)
        np.testing.assert_allclose(res.p_value[j, j], ref.pvalues[-1], rtol=1e-4)


def test_a_covariate_far_out_does_not_fail_every_fit__match_statsmodels():
    """Review s31i: the step-halving's log-likelihood was ``-sum(log(1 + exp(-eta)))``, infinite for a control
    whose linear predictor is below -709 (one covariate value far out): every point looked worse than the null,
    every step was halved ten times and all fits failed (plink2 and statsmodels fit them all). Now computed
    stably for such columns."""
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(3)
    n, m = 1000, 6
    x = rng.normal(size=n)
    G = rng.binomial(2, 0.3, size=(n, m)).astype(float)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-1 + 0.8 * x + 0.2 * G[:, 0])))).astype(float)
    x[0], y[0] = -1500.0, 0.0
    C = np.column_stack([np.ones(n), x])
    res = logistic.logistic_association(G, logistic.prepare_logistic(y[:, None], C))
    assert res.converged.all()
    with np.errstate(over="ignore"):
        ref = sm.Logit(y, np.column_stack([C, G[:, 0]])).fit(disp=0)
    np.testing.assert_allclose(res.beta[0, 0], ref.params[-1], rtol=1e-5)
    np.testing.assert_allclose(res.standard_error[0, 0], ref.bse[-1], rtol=1e-5)


def test_a_phenotype_whose_null_fit_fails_is_warned_and_left_to_firth_not_fatal(caplog):
    """Review s31b: one case, carried by a male (sex separates it), used to abort the whole run in
    prepare_logistic; now that phenotype is warned about (its name and case count), its Wald fits fail, the
    other phenotype is tested as before, and the Firth fallback fits it (as plink2 --glm firth-fallback)."""
    from edfgen.kernels.firth import firth_fallback

    rng = np.random.default_rng(2)
    n = 600
    sex = np.zeros(n)
    sex[:300] = 1
    C = np.column_stack([np.ones(n), sex, rng.normal(size=n)])
    Y = np.zeros((n, 2))
    Y[rng.random(n) < 0.2, 0] = 1
    Y[5, 1] = 1                                                   # one case, male; every other male a control
    G = rng.binomial(2, 0.3, (n, 6)).astype(float)
    with caplog.at_level("WARNING"):
        prepared = logistic.prepare_logistic(Y, C, names=["common", "ONE"])
    assert prepared.null_failed == {1}
    assert "'ONE' (1 cases, 599 controls" in caplog.text
    res = logistic.logistic_association(G, prepared)
    alone = logistic.logistic_association(G, logistic.prepare_logistic(Y[:, :1], C))
    np.testing.assert_array_equal(res.beta[:, 0], alone.beta[:, 0])
    assert not res.converged[:, 1].any()
    firth = firth_fallback(G, prepared, res)
    assert firth.firth[:, 1].all() and firth.converged[:, 1].all()


def test_binary_minus9_is_missing_before_samples_and_qc_are_chosen(tmp_path):
    """Review s31b: with -9 for the unphenotyped samples of a --binary file those samples were still listed in
    samples.tsv as analysed and counted in the MAF/HWE QC; now the run equals the one with NA."""
    _cohort(tmp_path, n=300, m=40, seed=5)
    oc = pd.read_csv(tmp_path / "oc.tsv", sep="\t")
    oc[["IID", "d2"]].to_csv(tmp_path / "na.tsv", sep="\t", index=False, na_rep="NA")
    oc[["IID", "d2"]].fillna(-9).astype({"d2": int}).to_csv(tmp_path / "m9.tsv", sep="\t", index=False)
    qc = QCSettings(call_rate=0.0, maf=0.05, hwe_p=0.0, sample_call_rate=0.0)
    for name in ("na", "m9"):
        run_gwas(GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / f"{name}.tsv", tmp_path / "cv.tsv",
                 tmp_path / f"o_{name}", covar_cols=["age", "sex"], qc=qc, threads=1,
                 settings=GwasSettings(binary=True, engine="fast", plots=False))
    for f in ("samples.tsv", "qc_report.tsv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "o_m9" / f, sep="\t"),
                                      pd.read_csv(tmp_path / "o_na" / f, sep="\t"))
    assert len(pd.read_csv(tmp_path / "o_m9" / "samples.tsv", sep="\t")) == oc["d2"].notna().sum() < 300
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "o_m9" / "d2.tsv.gz", sep="\t"),
                                  pd.read_csv(tmp_path / "o_na" / "d2.tsv.gz", sep="\t"))


def test_firth_failures__only_rows_left_without_estimate_by_both_fits_are_warned(caplog):
    """Monomorphic rows are not counted; the rows neither Hail's Firth fit nor edfgen's refit estimate are."""
    from edfgen.engines.hail_gwas import warn_firth_failures

    beta = np.array([[0.1, np.nan], [np.nan, np.nan], [0.2, 0.3]])
    af = np.array([[0.2, 0.2], [0.0, 0.0], [0.0005, 0.0005]])
    with caplog.at_level("WARNING"):
        assert warn_firth_failures(beta, af) == 1
    assert "the Firth fit did not converge for 1 variant x phenotype rows (Hail's, then edfgen's" in caplog.text


def _rare_binary_cohort(d):
    """600 samples, 67 cases; 30 variants of 1-5 carriers (4 of them carried by cases only), 30 common ones."""
    from bed_reader import to_bed

    rng = np.random.default_rng(5)
    n, m = 600, 60
    g = np.zeros((n, m))
    for j in range(30):
        g[rng.choice(n, 1 + j % 5, replace=False), j] = 1
    g[:, 30:] = rng.binomial(2, rng.uniform(0.1, 0.5, 30), (n, 30))
    age = rng.normal(50, 8, n)
    y = rng.binomial(1, 1 / (1 + np.exp(2.5 - 0.6 * g[:, 35] - 0.02 * (age - 50))))
    for j in range(4):
        g[:, j] = 0
        g[rng.choice(np.flatnonzero(y == 1), 1 + j, replace=False), j] = 1
    iid = [f"s{i}" for i in range(n)]
    to_bed(d / "g.bed", g, count_A1=False, properties={
        "fid": iid, "iid": iid, "sex": np.full(n, 2), "sid": [f"v{j}" for j in range(m)], "chromosome": ["1"] * m,
        "bp_position": np.arange(1, m + 1) * 1000, "allele_1": ["A"] * m, "allele_2": ["G"] * m})
    pd.DataFrame({"IID": iid, "d": y}).to_csv(d / "pheno.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": iid, "age": age}).to_csv(d / "covar.tsv", sep="\t", index=False)


def test_hail_firth__writes_the_rows_of_the_fast_engines_firth_fallback(hail_context, tmp_path, caplog):
    """Review s31b F5 / s36c: Hail's --logistic-test firth left out the rows its Firth fit did not converge for
    (one carrier, cases-only carriers: 11 of 60 here), which the fast engine's firth-fallback estimates; they are
    now refitted by edfgen's full Firth fit, so both write the same rows, and the Firth rows agree."""
    _rare_binary_cohort(tmp_path)
    out = {}
    for engine, test in (("fast", "firth-fallback"), ("hail", "firth")):
        with caplog.at_level("INFO", logger="edfgen"):
            run_gwas(GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / "pheno.tsv", tmp_path / "covar.tsv",
                     tmp_path / engine, covar_cols=["age"], qc=NO_QC, threads=1,
                     settings=GwasSettings(binary=True, engine=engine, logistic_test=test, plots=False))
        out[engine] = pd.read_csv(tmp_path / engine / "d.tsv.gz", sep="\t").set_index("variant_id")
    fast, hail = out["fast"], out["hail"].loc[out["fast"].index]
    assert len(fast) == len(out["hail"]) == 60
    assert "Hail's Firth fit did not converge for 11 rows: refitted by edfgen's full Firth fit (11 converged)" \
        in caplog.text
    firth = fast["firth"].to_numpy()
    np.testing.assert_allclose(hail["beta"][firth], fast["beta"][firth], atol=1e-4)
    np.testing.assert_allclose(hail["p_value"][firth], fast["p_value"][firth], rtol=1e-4)
    qc = pd.read_csv(tmp_path / "hail" / "qc_report.tsv", sep="\t").set_index("filter")
    assert qc.loc["fit_failed", "removed"] == 0


def test_firth_fallback__refits_that_do_not_converge_keep_wald_and_are_warned(tmp_path, caplog, monkeypatch):
    """review rev35b #2: a Firth refit that does not converge keeps the converged Wald row (firth False), whose
    beta may have the opposite sign to plink2 --glm firth's; such rows were not counted anywhere. A rare variant
    beside a covariate that nearly separates the cases (coefficient 15) needed ~5,000 Firth steps (cap 1,000);
    since review s41 (a step gaining nothing above rounding ends the fit) it converges, to plink2's beta, in
    fewer than 10: the cap is lowered to 5 here so that no refit converges. The rows keep Wald (firth False)
    and the run warns with their count."""
    import logging

    from bed_reader import to_bed

    from edfgen.commands import gwas_output
    from edfgen.kernels import firth

    monkeypatch.setattr(firth, "FIRTH_MAX_ITERATIONS", 5)
    monkeypatch.setattr(gwas_output, "FIRTH_MAX_ITERATIONS", 5)

    rng = np.random.default_rng(2)
    n = 400
    strong = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 15 * strong)))).astype(float)
    G = np.zeros((n, 2), dtype=np.float32)
    G[np.flatnonzero(y == 1)[:2], 0] = 1
    G[np.flatnonzero(y == 0)[:1], 0] = 1
    G[:, 1] = rng.binomial(2, 0.3, n)
    iid = np.array([f"S{i}" for i in range(n)])
    to_bed(tmp_path / "g.bed", G, count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": ["rare", "common"], "chromosome": ["1", "1"], "bp_position": [1000, 2000],
        "allele_1": ["A", "A"], "allele_2": ["G", "G"]})
    pd.DataFrame({"IID": iid, "d": y}).to_csv(tmp_path / "oc.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": iid, "strong": strong}).to_csv(tmp_path / "cv.tsv", sep="\t", index=False)
    with caplog.at_level(logging.WARNING):
        run_gwas(GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / "oc.tsv", tmp_path / "cv.tsv", tmp_path / "e",
                 covar_cols=["strong"], qc=NO_QC, threads=1,
                 settings=GwasSettings(binary=True, engine="fast", plots=False, logistic_test="firth-fallback",
                                       firth_threshold=1.0))
    out = pd.read_csv(tmp_path / "e" / "d.tsv.gz", sep="\t").set_index("variant_id")
    assert not out["firth"].any() and out["beta"].notna().all()        # (neither refit converges in 5 steps)
    assert "2 variant x phenotype row(s) kept their Wald result: the Firth refit did not converge in 5 steps" \
        in caplog.text


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
@pytest.mark.parametrize("cases", [6, 35, 45])
def test_prepare_logistic__warns_as_plink2_when_cases_are_fewer_than_10x_the_predictors(tmp_path, caplog, cases):
    """Review s39edge: an outcome with 6 cases among 5,000 (2 covariates) was tested by Wald without a word, where
    plink2 --glm warns 'remaining case count is less than 10x predictor count' (a Wald test on so few cases is
    badly calibrated). Now the same rule (minority class < 10 x (intercept + covariates + genotype)), checked here
    against plink2 itself on 6, 35 (both < 40: warned) and 45 cases (not)."""
    from bed_reader import to_bed

    rng = np.random.default_rng(cases)
    n = 400
    iid = np.array([f"S{i:03d}" for i in range(n)])
    G = rng.binomial(2, 0.3, (n, 2)).astype(np.float32)
    to_bed(tmp_path / "g.bed", G, count_A1=True, properties={"iid": iid, "fid": iid, "sid": ["v0", "v1"]})
    y = np.zeros(n)
    y[rng.choice(n, cases, replace=False)] = 1
    C = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    pd.DataFrame({"#FID": iid, "IID": iid, "d": y + 1}).to_csv(tmp_path / "p.txt", sep="\t", index=False)
    pd.DataFrame({"#FID": iid, "IID": iid, "a": C[:, 1], "s": C[:, 2]}).to_csv(tmp_path / "c.txt", sep="\t",
                                                                             index=False)
    subprocess.run(["plink2", "--bfile", str(tmp_path / "g"), "--pheno", str(tmp_path / "p.txt"), "--covar",
                    str(tmp_path / "c.txt"), "--glm", "hide-covar", "--threads", "1", "--out", str(tmp_path / "o")],
                   check=True, capture_output=True)
    plink2_warned = "less than 10x predictor count" in (tmp_path / "o.log").read_text()
    with caplog.at_level("WARNING"):
        logistic.prepare_logistic(y[:, None], C, names=["d"], covariate_names=["a", "s"])
    ours = [r.getMessage() for r in caplog.records if "10x" in r.getMessage()]
    assert plink2_warned == (cases < 40)
    assert bool(ours) == plink2_warned
    if ours:
        assert "'d'" in ours[0] and f"{cases} cases" in ours[0]


@pytest.mark.parametrize("firth", [False, True])
def test_warn_few_cases__the_hail_engine_warns_too_and_no_firth_hint_when_firth_is_in_use(caplog, monkeypatch, firth):
    """Review s39edgefix: the few-cases warning was the fast engine's only (``--engine hail --binary`` was silent,
    the README says it is warned), and it told a run already using ``--logistic-test firth-fallback`` to use it.
    Now one function says it (plink2's rule, as above) for both engines: Hail's logistic pass calls it before Hail
    runs (checked here with Hail's regression stubbed out: the warning is said before it), and the hint is left
    out with Firth."""
    import edfgen.engines.hail_gwas as hg

    y = np.zeros(400)
    y[:6] = 1
    C = np.column_stack([np.ones(400), np.arange(400.0) % 7])
    with caplog.at_level("WARNING"):
        assert logistic.warn_few_cases("d", y, 2, firth=firth)
        assert not logistic.warn_few_cases("d", np.r_[np.ones(40), np.zeros(360)], 2, firth=firth)
    msg = [r.getMessage() for r in caplog.records if "10x" in r.getMessage()]
    assert len(msg) == 1 and "'d': 6 cases, 394 controls" in msg[0]
    assert ("--logistic-test firth-fallback" in msg[0]) == (not firth)
    caplog.clear()

    class Stop(Exception):
        pass

    seen = []
    monkeypatch.setattr(hg, "_annotate_design", lambda hl, mt, *a: mt)
    monkeypatch.setattr(hg, "hail_vif_too_high", lambda hl, mt, ids, C, groups, P: np.zeros((3, P), dtype=bool))

    def stop(**kw):
        seen.append([r.getMessage() for r in caplog.records if "10x" in r.getMessage()])
        raise Stop

    class Hl:
        def literal(self, v):
            return type("L", (), {"contains": lambda self, s: True})()

        def logistic_regression_rows(self, **kw):
            stop(**kw)

    class Mt:
        s = y = x = c = None

        def count_rows(self):
            return 3

        def filter_cols(self, cond):
            return self

        def annotate_rows(self, **kw):
            return self

    class Agg:
        def mean(self, v):
            return 0.0

    hl = Hl()
    hl.agg = Agg()
    Mt.y = type("Y", (), {"__getitem__": lambda self, i: None})()
    Mt.c = Mt.y
    Mt.x = 0.0
    with caplog.at_level("WARNING"), pytest.raises(Stop):
        hg.hail_logistic(hl, Mt(), np.array([f"S{i}" for i in range(400)]), y[:, None], C,
                         "firth" if firth else "wald", names=["d"], cov_names=["a"])
    assert seen and len(seen[0]) == 1 and "'d': 6 cases" in seen[0][0]
    # review s39vif F4: Hail refuses firth-fallback (gwas.py), so its Wald run is told --logistic-test firth
    assert ("(use --logistic-test firth)" in seen[0][0]) == (not firth) and "firth-fallback" not in seen[0][0]
