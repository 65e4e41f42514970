"""REGENIE for binary traits (issue 23): the logistic level-1 ridge of step 1 (edfgen.kernels.ridge_logistic),
the offset logistic step 2 and its Firth fallback (edfgen.kernels.firth) against statsmodels, scipy and
plink2, the step-1 predictions streamed to disk (edfgen.formats.loco.LocoStore), calibration on a null
binary trait, and the command line (--binary --model ridge-loco --logistic-test firth-fallback)."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from scipy.special import expit

from edfgen.exceptions import InputError
from edfgen.formats.loco import (LocoStoreWriter, open_loco_predictions, read_loco_predictions,
                                 write_loco_predictions)
from edfgen.kernels.association import lambda_gc
from edfgen.kernels.firth import firth_fallback, firth_full, firth_null_fit
from edfgen.kernels.logistic import logistic_association, prepare_logistic
from edfgen.kernels.models import GenomeBlocks, RidgeLocoModel, make_model
from edfgen.kernels.ridge import ridge_loco_predictions, shrinkage_grid
from edfgen.kernels.ridge_logistic import LIABILITY_VARIANCE, logistic_ridge, logistic_ridge_cv


def _cohort(n=700, m=600, n_chrom=3, p=3, seed=0, h2=0.5, prevalence=0.25, null_chrom=True):
    """Unlinked SNPs on ``n_chrom`` chromosomes; liability-threshold 0/1 phenotypes, polygenic on every
    chromosome but the last (``null_chrom``), a few missing; covariates intercept + one normal."""
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), (n, m)).astype(float)
    chrom = np.repeat([str(c + 1) for c in range(n_chrom)], m // n_chrom)
    causal = np.flatnonzero(chrom != chrom[-1]) if null_chrom else np.arange(m)
    Z = (G - G.mean(0)) / G.std(0)
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    g = Z[:, causal] @ rng.normal(size=(len(causal), p)) if h2 > 0 else np.zeros((n, p))
    if h2 > 0:
        g *= np.sqrt(h2) / g.std(0)
    liab = g + np.sqrt(1 - h2) * rng.normal(size=(n, p)) + 0.3 * C[:, 1:2]
    Y = (liab > np.quantile(liab, 1 - prevalence, axis=0)).astype(float)
    Y[rng.random((n, p)) < 0.02] = np.nan
    return G, chrom, C, Y


# ----------------------------------------------------------------------------- level 1: logistic ridge

def test_logistic_ridge__maximises_the_penalised_likelihood_with_offset():
    """Newton's answer equals a quasi-Newton (L-BFGS) maximisation of ℓ(α) - λ|α|²/2 written here."""
    rng = np.random.default_rng(1)
    n, d = 300, 12
    X = rng.normal(size=(n, d))
    off = rng.normal(scale=0.5, size=n) - 1.0
    y = (rng.random(n) < expit(off + X @ rng.normal(scale=0.3, size=d))).astype(float)
    for lam in (0.5, 20.0):
        def neg(a):
            eta = off + X @ a
            return -(y * eta - np.logaddexp(0, eta)).sum() + 0.5 * lam * a @ a, -(X.T @ (y - expit(eta))) + lam * a

        ref = optimize.minimize(neg, np.zeros(d), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
        got, ok = logistic_ridge(X, y, off, lam)
        assert ok
        np.testing.assert_allclose(got, ref.x, atol=1e-6)


def test_logistic_ridge_cv__picks_the_smallest_out_of_fold_deviance():
    rng = np.random.default_rng(2)
    n, d = 400, 10
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < expit(X[:, 0] - 0.5)).astype(float)
    folds = np.array_split(rng.permutation(n), 4)
    lam = np.array([1e4, 10.0, 0.1])
    cv = logistic_ridge_cv(X, y, np.zeros(n), folds, lam)
    dev = np.zeros(3)
    for f, rows in enumerate(folds):
        train = np.setdiff1d(np.arange(n), rows)
        for s in range(3):
            a, _ = logistic_ridge(X[train], y[train], np.zeros(len(train)), lam[s])
            np.testing.assert_allclose(cv.betas[f][:, s], a, atol=1e-6)
            p = expit(X[rows] @ a)
            dev[s] -= 2 * (y[rows] * np.log(p) + (1 - y[rows]) * np.log(1 - p)).sum()
    np.testing.assert_allclose(cv.deviance, dev / n, rtol=1e-6)
    assert cv.best == int(np.argmin(dev)) and cv.best != 0 and 0 < cv.pseudo_r2 < 1


def test_ridge_loco_binary__logit_offsets_track_the_liability_and_use_the_liability_grid():
    G, chrom, C, Y = _cohort(seed=3, h2=0.6)
    preds = ridge_loco_predictions(GenomeBlocks.from_arrays(G, chrom), Y, C, block_size=100, binary=True)
    R, B = 5, 6
    assert set(preds.level1_shrinkage) <= set(shrinkage_grid(B * R) / LIABILITY_VARIANCE)
    assert (preds.cv_r2 > 0).all()
    # the prediction without chromosome 3 (null) is the whole-genome one minus a small part; without a causal
    # chromosome it loses more
    for p in range(Y.shape[1]):
        ok = ~np.isnan(Y[:, p])
        whole = preds.genome[ok, p]
        assert stats.pointbiserialr(Y[ok, p], whole)[0] > 0.2
        d_null = np.std(whole - preds.loco("3")[ok, p])
        d_causal = np.std(whole - preds.loco("1")[ok, p])
        assert d_null < d_causal


# ----------------------------------------------------------------------------- step 2 with the offset

def test_ridge_loco_binary_step2__is_statsmodels_glm_binomial_with_the_loco_offset():
    sm = pytest.importorskip("statsmodels.api")
    G, chrom, C, Y = _cohort(n=500, m=300, seed=4)
    model = RidgeLocoModel(binary=True, block_size=50)
    state = model.prepare(C, Y, genome=GenomeBlocks.from_arrays(G, chrom))
    sub = np.flatnonzero(chrom == "2")[:6]
    res = model.test_block(state, G[:, sub], chromosome="2")
    loco = state.predictions.loco("2")
    for p in range(Y.shape[1]):
        ok = ~np.isnan(Y[:, p])
        for j, v in enumerate(sub):
            fit = sm.GLM(Y[ok, p], np.column_stack([C[ok], G[ok, v]]), family=sm.families.Binomial(),
                         offset=loco[ok, p]).fit(tol=1e-12)
            np.testing.assert_allclose([res.beta[j, p], res.standard_error[j, p], res.p_value[j, p]],
                                       [fit.params[-1], fit.bse[-1], fit.pvalues[-1]], rtol=1e-5)


# ----------------------------------------------------------------------------- Firth

def _penalised(X, y, b):
    """Firth's penalised log-likelihood ℓ(b) + ½ log|X^T W X| (all coefficients penalised, as R logistf)."""
    eta = X @ b
    mu = expit(eta)
    return (y * eta - np.logaddexp(0, eta)).sum() + 0.5 * np.linalg.slogdet(X.T @ (X * (mu * (1 - mu))[:, None]))[1]


def _logistf(X, y):
    """Independent full Firth fit and penalised LRT of the last coefficient (scipy BFGS, then Nelder-Mead)."""
    def best(free):
        def neg(bf):
            b = np.zeros(X.shape[1])
            b[free] = bf
            return -_penalised(X, y, b)
        r = optimize.minimize(neg, np.zeros(len(free)), method="BFGS", options={"gtol": 1e-10})
        r = optimize.minimize(neg, r.x, method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-13, "maxiter": 40000,
                                                                       "maxfev": 40000})
        return r.x, -r.fun
    k = X.shape[1]
    b1, l1 = best(list(range(k)))
    _, l0 = best(list(range(k - 1)))
    return b1[-1], 2 * (l1 - l0)


def _hard_genotypes(y, rng):
    """Columns where the one-parameter approximation failed (review s31b): perfect separation (5 case
    carriers), carriers among controls only, one case carrier, one control carrier, a strong common effect."""
    n = len(y)
    cases, controls = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    G = np.zeros((n, 5))
    G[cases[:5], 0] = 1
    G[controls[:40], 1] = 1
    G[cases[5], 2] = 1
    G[controls[40], 3] = 1
    G[:, 4] = rng.binomial(1, 0.3, n)
    G[cases[6:30], 4] = 2
    return G


def test_firth_full__equals_an_independent_firth_fit_and_penalised_lrt_on_hard_cases():
    """β and the penalised likelihood-ratio χ² (p, SE = |β|/sqrt(χ²)) of the batched Newton fit equal a direct
    scipy maximisation of the penalised likelihood with the covariates refitted, also under separation and
    for one-carrier variants (where the Fisher-scoring steps converge slowly or swing around the maximum)."""
    rng = np.random.default_rng(5)
    n = 400
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = (rng.random(n) < expit(-1.5 + 0.5 * C[:, 1])).astype(float)
    G = _hard_genotypes(y, rng)
    b0, _, ok = firth_null_fit(C, y)
    got = firth_full(C, G, y, start=b0)
    assert ok and got.converged.all()
    for j in range(G.shape[1]):
        beta, chi2 = _logistf(np.column_stack([C, G[:, j]]), y)
        np.testing.assert_allclose(got.beta[j], beta, atol=2e-3 * max(1, abs(beta)))
        np.testing.assert_allclose(got.chi2[j], chi2, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(got.standard_error[j], abs(got.beta[j]) / np.sqrt(got.chi2[j]))
        np.testing.assert_allclose(got.p_value[j], stats.chi2.sf(got.chi2[j], 1))
    assert 3 < got.beta[0] < 10 and got.beta[1] < -1.5       # finite under separation
    wald = logistic_association(G[:, :1], prepare_logistic(y[:, None], C))
    assert not wald.converged[0, 0]


def test_firth_batch__evaluate_equals_the_direct_formulas_per_column():
    """The batched evaluation (one exp per entry, in-place work, the shared start computed once) gives each
    column's penalised log-likelihood, modified score and Fisher information as the textbook formulas with
    expit / logaddexp (review s35e), also for |η| up to 40 and with an offset; at a shared start (β = 0, the
    same covariate coefficients) the numbers equal those of the general path."""
    from edfgen.kernels.firth import _FirthBatch

    rng = np.random.default_rng(8)
    n, m = 300, 6
    C = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    y = (rng.random(n) < 0.2).astype(float)
    G = rng.binomial(2, 0.2, (n, m)).astype(float)
    off = rng.normal(0, 0.3, n)
    batch = _FirthBatch(C, y, off)

    def direct(B, bg):
        ll, score, info = np.empty(m), np.empty((m, 4)), np.empty((m, 4, 4))
        for j in range(m):
            X = np.column_stack([C, G[:, j]])
            eta = X @ np.r_[B[:, j], bg[j]] + off
            mu = expit(eta)
            info[j] = X.T @ (X * (mu * (1 - mu))[:, None])
            h = mu * (1 - mu) * np.einsum("ij,jk,ik->i", X, np.linalg.inv(info[j]), X)
            score[j] = X.T @ (y - mu + h * (0.5 - mu))
            ll[j] = (y * eta - np.logaddexp(0, eta)).sum() + 0.5 * np.linalg.slogdet(info[j])[1]
        return ll, score, info

    B = rng.normal(0, 1, (3, m)) * [[3], [1], [1]]
    B[:, 0] = [0.0, 12.0, 0.0]                        # |η| up to ~40: μ rounds to 0 or 1 in expit
    bg = rng.normal(0, 1, m)
    for got, ref in zip(batch.evaluate(G, B, bg), direct(B, bg)):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    start = np.repeat(rng.normal(0, 1, (3, 1)), m, axis=1)
    shared = batch.evaluate(G, start, np.zeros(m))
    for got, ref in zip(shared, direct(start, np.zeros(m))):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)
    start[0, 1] += 1e-9                               # not shared: every column on its own
    for got, ref in zip(batch.evaluate(G, start, np.zeros(m)), direct(start, np.zeros(m))):
        np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_firth_full__chunks_give_the_numbers_of_one_chunk(monkeypatch):
    """Small chunks (the full fit starting from each chunk's constrained fit, state carried over) give the
    numbers of one chunk of all the variants, to rounding."""
    import edfgen.kernels.firth as firth

    rng = np.random.default_rng(6)
    n = 400
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = (rng.random(n) < expit(-1.5 + 0.5 * C[:, 1])).astype(float)
    G = np.column_stack([_hard_genotypes(y, rng), rng.binomial(2, 0.02, (n, 30)), rng.binomial(2, 0.3, (n, 10))])
    G = G[:, np.ptp(G, axis=0) > 0]
    b0 = firth_null_fit(C, y)[0]
    one = firth_full(C, G, y, start=b0)
    monkeypatch.setattr(firth, "CHUNK_BYTES", 8 * n * 16)      # 16 variants per chunk
    many = firth_full(C, G, y, start=b0)
    assert one.converged.all()
    for k in ("beta", "p_value", "chi2"):
        np.testing.assert_allclose(getattr(many, k), getattr(one, k), rtol=1e-8, atol=1e-10, err_msg=k)


def _write_bed(path, G, y, covar):
    from bed_reader import to_bed

    n, m = G.shape
    iid = [f"s{i}" for i in range(n)]
    to_bed(str(path) + ".bed", G, properties=dict(iid=iid, fid=iid, sid=[f"v{j}" for j in range(m)],
                                                  chromosome=["1"] * m, bp_position=np.arange(1, m + 1) * 100,
                                                  allele_1=["A"] * m, allele_2=["C"] * m))
    pd.DataFrame({"#FID": iid, "IID": iid, "y": y.astype(int) + 1}).to_csv(f"{path}.pheno", sep="\t", index=False)
    pd.DataFrame({"#FID": iid, "IID": iid, "age": covar}).to_csv(f"{path}.covar", sep="\t", index=False)


def _plink2_firth(path):
    subprocess.run(["plink2", "--bfile", str(path), "--pheno", f"{path}.pheno", "--covar", f"{path}.covar",
                    "--glm", "firth", "hide-covar", "cols=+beta", "--maf", "0", "--out", str(path), "--silent"],
                   check=True)
    return pd.read_csv(f"{path}.y.glm.firth", sep="\t")


def test_firth__full_fit_and_the_fallback_equal_plink2_on_hard_cases(tmp_path):
    """plink2 ``--glm firth`` (no offset) on the same data: the full Firth fit (firth_null_fit on
    [1, age, g]) equals its β and SE, and the fallback's β equals plink2's to 0.05 of its SE, also for a
    separated variant, carriers among controls only, one-carrier variants and a strong common effect (the
    former one-parameter approximation, covariates frozen at the null fit, was 1 to 100 SE off there,
    review s31b; plink2 stops its separated fits a little earlier, hence 0.05)."""
    rng = np.random.default_rng(6)
    n, m = 600, 12
    G = rng.binomial(2, rng.uniform(0.01, 0.3, m), (n, m)).astype(float)
    age = rng.normal(size=n)
    y = (rng.random(n) < expit(-1.5 + 0.4 * age + 0.5 * G[:, 0])).astype(float)
    G = np.column_stack([G, _hard_genotypes(y, rng)])
    m = G.shape[1]
    _write_bed(tmp_path / "g", G, y, age)
    ref = _plink2_firth(tmp_path / "g")
    C = np.column_stack([np.ones(n), age])
    for j in range(12):
        X = np.column_stack([C, G[:, j]])
        b, _, ok = firth_null_fit(X, y)
        mu = expit(X @ b)
        se = np.sqrt(np.linalg.inv(X.T @ (X * (mu * (1 - mu))[:, None]))[-1, -1])
        assert ok
        np.testing.assert_allclose([b[-1], se], ref.loc[j, ["BETA", "SE"]].to_numpy(float), rtol=2e-4, atol=2e-6)
    prepared = prepare_logistic(y[:, None], C)
    wald = logistic_association(G, prepared)
    res = firth_fallback(G, prepared, wald, threshold=1.0)          # every variant refitted
    assert res.firth.all() and res.converged.all()
    gap = np.abs(res.beta[:, 0] - ref["BETA"]) / ref["SE"]
    assert gap.max() < 0.05 and np.median(gap) < 1e-3
    assert wald.converged[-1, 0] and abs(res.beta[-1, 0] - wald.beta[-1, 0]) < wald.standard_error[-1, 0]


def test_firth__slow_fit_beside_a_nearly_separating_covariate_converges_to_plink2(tmp_path):
    """review rev35b #2: 2 carrier cases and 1 carrier control beside a covariate that nearly separates the cases
    (coefficient 15): the Fisher-scoring steps creep (linear convergence) and needed ~400 of them; at the former
    cap of 200 the fit failed and firth-fallback kept the Wald beta, of the opposite sign to plink2 --glm firth's."""
    rng = np.random.default_rng(1)
    n = 400
    strong = rng.normal(size=n)
    y = (rng.random(n) < expit(-2.0 + 15 * strong)).astype(float)
    G = np.zeros((n, 2))
    G[np.flatnonzero(y == 1)[:2], 0] = 1
    G[np.flatnonzero(y == 0)[:1], 0] = 1
    G[:, 1] = rng.binomial(2, 0.3, n)
    _write_bed(tmp_path / "g", G, y, strong)
    ref = _plink2_firth(tmp_path / "g")
    C = np.column_stack([np.ones(n), strong])
    fit = firth_full(C, G, y, start=firth_null_fit(C, y)[0])
    assert fit.converged.all()
    np.testing.assert_allclose(fit.beta, ref["BETA"].to_numpy(float), rtol=2e-3)
    assert np.sign(fit.beta[0]) == np.sign(ref["BETA"].iloc[0]) == -1


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_firth__quasi_separated_fit_at_its_maximum_converges_to_plink2(tmp_path):
    """Review s41: a rare disease (1 % cases), a covariate held by every case but one, and a variant carried by a
    case and a control: at the maximum of the penalised likelihood the Fisher-scoring step overshoots, so the fit
    swung +-5e-5 around it, its log-likelihood equal to the last digit, for all 1000 steps, and the row was NA
    where plink2 --glm firth converges (OR 0.054). Now a step that gains nothing above rounding ends the fit:
    converged, plink2's beta (the other variants as before)."""
    from edfgen.kernels import firth as firth_module

    rng = np.random.default_rng(5)
    n = 3000
    y = np.zeros(n)
    y[:30] = 1
    age = rng.normal(size=n)
    z = np.zeros(n)
    z[:29] = 1
    G = np.zeros((n, 4))
    G[:2, 0] = 1
    G[[0, 50], 1] = 1
    G[29, 2] = 1
    G[:30:3, 3] = 1
    _write_bed(tmp_path / "g", G, y, age)
    iid = [f"s{i}" for i in range(n)]
    pd.DataFrame({"#FID": iid, "IID": iid, "age": age, "z": z}).to_csv(tmp_path / "g.covar", sep="\t", index=False)
    ref = _plink2_firth(tmp_path / "g")
    assert (ref["ERRCODE"].iloc[[0, 1, 3]] == ".").all()              # (plink2 does not finish v2)
    C = np.column_stack([np.ones(n), age, z])
    fit = firth_full(C, G, y, start=firth_null_fit(C, y)[0])
    assert fit.converged.all()
    np.testing.assert_allclose(fit.beta[[0, 1, 3]], ref["BETA"].to_numpy(float)[[0, 1, 3]], rtol=1e-3)
    assert abs(np.exp(fit.beta[1]) - 0.054) < 1e-3 and firth_module.STILL <= 1e-14


def test_firth_fallback__replaces_only_small_or_failed_wald_p():
    G, chrom, C, Y = _cohort(n=500, m=300, seed=7, h2=0.0)
    G[:, 5] = 0.0
    G[np.flatnonzero(Y[:, 0] == 1)[:3], 5] = 2.0          # separation for phenotype 0
    prepared = prepare_logistic(Y, C)
    wald = logistic_association(G, prepared)
    res = firth_fallback(G, prepared, wald, threshold=0.05)
    with np.errstate(invalid="ignore"):
        expect = (wald.p_value < 0.05) | ~wald.converged
    np.testing.assert_array_equal(res.firth, expect)
    keep = ~res.firth
    np.testing.assert_array_equal(res.beta[keep], wald.beta[keep])
    np.testing.assert_array_equal(res.p_value[keep], wald.p_value[keep])
    assert res.firth[5, 0] and np.isfinite(res.beta[5, 0]) and res.converged[5, 0]
    assert 0 < res.firth.mean() < 0.15
    # a fallback pair is the full Firth fit of the phenotype's samples with the mean-imputed genotype
    ok = ~np.isnan(Y[:, 1])
    j = int(np.flatnonzero(res.firth[:, 1] & res.converged[:, 1])[0])
    g = np.where(np.isnan(G[ok, j]), np.nanmean(G[ok, j]), G[ok, j])
    one = firth_full(C[ok], g[:, None], Y[ok, 1])
    np.testing.assert_allclose([res.beta[j, 1], res.p_value[j, 1]], [one.beta[0], one.p_value[0]], rtol=1e-6)


def test_binary_ridge_loco_with_firth_fallback__calibrated_on_a_null_trait():
    """No genetic effect at all: the p-values of 4 traits x 600 variants are uniform (type-I at 5 %, λGC),
    as plain logistic regression's on the same data (λGC differs between simulated cohorts by a few
    hundredths: 1.06 for plain logistic on this one)."""
    G, chrom, C, Y = _cohort(n=800, m=600, p=4, seed=8, h2=0.0, prevalence=0.15)
    genome = GenomeBlocks.from_arrays(G, chrom)
    lam = {}
    for name in ("linear", "ridge-loco"):
        model = make_model(name, binary=True, firth_threshold=0.05, block_size=100)
        state = model.prepare(C, Y, genome=genome)
        p = np.concatenate([model.test_block(state, G[:, chrom == c], chromosome=c).p_value.ravel() for c in "123"])
        assert np.isfinite(p).mean() > 0.99
        p = p[np.isfinite(p)]
        assert 0.035 < (p < 0.05).mean() < 0.065
        lam[name] = lambda_gc(p)
    assert 0.9 < lam["ridge-loco"] < 1.15 and abs(lam["ridge-loco"] - lam["linear"]) < 0.08


# ----------------------------------------------------------------------------- predictions streamed to disk

def test_loco_store__streams_the_in_memory_predictions_one_chromosome_at_a_time(tmp_path):
    G, chrom, C, Y = _cohort(n=300, m=300, seed=9, p=2)
    genome = GenomeBlocks.from_arrays(G, chrom)
    ids = [f"s{i}" for i in range(len(Y))]
    mem = ridge_loco_predictions(genome, Y, C, block_size=50, binary=True, names=["a", "b"], sample_ids=ids)
    disk = ridge_loco_predictions(genome, Y, C, block_size=50, binary=True, names=["a", "b"], sample_ids=ids,
                                  memory_limit=0, sink=LocoStoreWriter(tmp_path / "scratch"))
    assert sorted(f.name for f in (tmp_path / "scratch").iterdir()) == ["chr0.f64", "chr1.f64", "chr2.f64",
                                                                      "genome.f64"]
    for c in ("1", "2", "3", "X"):
        np.testing.assert_array_equal(disk.loco(c), mem.loco(c))
    np.testing.assert_array_equal(disk.level1_shrinkage, mem.level1_shrinkage)
    want = [ids[5], ids[0], ids[7]]
    np.testing.assert_array_equal(disk.for_samples(want, ["b"]).loco("2"), mem.for_samples(want, ["b"]).loco("2"))
    with pytest.raises(InputError, match="no predictions for phenotype"):
        disk.for_samples(want, ["zz"])
    write_loco_predictions(disk, tmp_path / "from_disk")
    write_loco_predictions(mem, tmp_path / "from_memory")
    for f in ("a.loco.tsv.gz", "loco_summary.tsv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "from_disk" / f, sep="\t"),
                                      pd.read_csv(tmp_path / "from_memory" / f, sep="\t"))
    back = open_loco_predictions(tmp_path / "from_disk", tmp_path / "reopened").for_samples(want, ["b", "a"])
    ref = read_loco_predictions(tmp_path / "from_disk").for_samples(want, ["b", "a"])
    for c in ("1", "3"):
        np.testing.assert_array_equal(back.loco(c), ref.loco(c))


def test_gwas_cli__binary_ridge_loco_with_firth_fallback(tmp_path):
    """End to end: loco/ written (logit-scale offsets), the scratch directory removed, Firth rows present,
    and the fallback refused by the Hail engine."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    G, chrom, C, Y = _cohort(n=400, m=300, p=2, seed=10, h2=0.5)
    from bed_reader import to_bed

    iid = [f"s{i}" for i in range(len(Y))]
    to_bed(str(tmp_path / "g.bed"), G, properties=dict(iid=iid, fid=iid, sid=[f"rs{j + 1}" for j in range(G.shape[1])],
                                                         chromosome=chrom, bp_position=np.arange(1, G.shape[1] + 1) * 1000,
                                                         allele_1=["A"] * G.shape[1], allele_2=["G"] * G.shape[1]))
    pd.DataFrame({"IID": iid, "d1": Y[:, 0], "d2": Y[:, 1]}).to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": iid, "x": C[:, 1]}).to_csv(tmp_path / "c.tsv", sep="\t", index=False)
    base = ["gwas", "--bfile", str(tmp_path / "g"), "--pheno", str(tmp_path / "p.tsv"), "--covar", str(tmp_path / "c.tsv"),
            "--binary", "--model", "ridge-loco", "--logistic-test", "firth-fallback", "--no-plots", "--maf", "0.01",
            "--hwe", "0"]
    r = CliRunner().invoke(cli, base + ["--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    out = tmp_path / "o"
    assert not list(out.glob(".loco-scratch*"))
    assert sorted(f.name for f in (out / "loco").iterdir()) == ["d1.loco.tsv.gz", "d2.loco.tsv.gz", "loco_summary.tsv",
                                                                      "step1_fingerprint.json"]
    ss = pd.read_csv(out / "d1.tsv.gz", sep="\t")
    assert len(ss) > 280 and ss["p_value"].between(0, 1).all()
    # step 2's Firth rows marked and counted (firth column, n_firth, qc_report firth_refit)
    gs = pd.read_csv(out / "gwas_summary.tsv", sep="\t").set_index("phenotype")
    qc = pd.read_csv(out / "qc_report.tsv", sep="\t").set_index("filter")
    assert 0 < ss["firth"].sum() <= gs.loc["d1", "n_firth"]
    assert qc.loc["firth_refit", "removed"] == gs["n_firth"].sum()
    summary = pd.read_csv(out / "loco" / "loco_summary.tsv", sep="\t")
    assert (summary["cv_r2"] > 0).all()
    no_ridge = [a for a in base if a not in ("--model", "ridge-loco")]
    r = CliRunner().invoke(cli, no_ridge + ["--engine", "hail", "--out", str(tmp_path / "h")])
    assert r.exit_code == 2 and "firth-fallback runs in the fast engine" in r.output
