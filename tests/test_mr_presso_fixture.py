"""MR-PRESSO on the TwoSampleMR fixture (BMI -> CHD, 79 SNPs) against a direct re-implementation of the
MRPRESSO R code (Verbanck 2018: ``getRSS_LOO``, ``getRandomData``, outlier test with Bonferroni,
``getRandomBias``) written here with loops and statsmodels WLS: the deterministic parts (RSSobs,
raw and outlier-corrected estimates, distortion coefficient) exactly, the simulated p-values within
Monte Carlo error (independent random streams)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from edfgen.commands.mr import PRESSO_METHOD, MRSettings, analyse_pair
from edfgen.kernels.mr import sensitivity as S

N_SIM = 3000


@pytest.fixture(scope="module")
def fixture(shared_data):
    d = shared_data / "mr" / "twosamplemr_test_commondata_dat.csv"
    df = pd.read_csv(d)
    df = df[df["mr_keep"]]
    return {c: df[f"{c}.{s}"].to_numpy(float) for c, s in (("beta", "exposure"), ("se", "exposure"))} | {
        "by": df["beta.outcome"].to_numpy(float), "sy": df["se.outcome"].to_numpy(float), "snp": df["SNP"].to_numpy()}


def _wls0(x, y, w):
    """lm(y ~ -1 + x, weights = w): slope, se, p (statsmodels)."""
    fit = sm.WLS(y, x[:, None], weights=w).fit()
    return fit.params[0], fit.bse[0], fit.pvalues[0]


def _presso_reference(bx, by, sx, sy, n_sim, rng, signif=0.05):
    """MRPRESSO::mr_presso(OUTLIERtest = TRUE, DISTORTIONtest = TRUE), one exposure, as loops."""
    sign = np.sign(bx)
    bx, by = bx * sign, by * sign           # data[, c(BetaOutcome, BetaExposure)] * sign(BetaExposure)
    k = bx.size
    w = 1 / sy ** 2

    def rss_loo(x, y):
        X, Y = x * np.sqrt(w), y * np.sqrt(w)   # dataW
        # (t(X[-i]) X[-i])^-1 t(X[-i]) Y[-i] for every i: the sums without row i
        loo = (np.sum(X * Y) - X * Y) / (np.sum(X * X) - X * X)
        return np.sum((Y - loo * X) ** 2), loo

    rss_obs, loo = rss_loo(bx, by)
    rand = []
    for _ in range(n_sim):                  # getRandomData: expectation b_(-i) x_i per variant
        x = rng.normal(bx, sx)
        y = rng.normal(loo * bx, sy)
        rand.append((x, y))
    rss_exp = np.array([rss_loo(x, y)[0] for x, y in rand])
    global_p = np.sum(rss_exp > rss_obs) / n_sim
    res = {"rss_obs": rss_obs, "global_p": global_p, "raw": _wls0(bx, by, w)}
    if global_p < signif:
        dif = (by - bx * loo) ** 2
        p = np.sum([(y - x * loo) ** 2 > dif for x, y in rand], axis=0) / n_sim
        res["outlier_p"] = np.minimum(p * k, 1)
        out = np.flatnonzero(res["outlier_p"] <= signif)
        res["outliers"] = out
        if 0 < len(out) < k:
            keep = np.setdiff1d(np.arange(k), out)
            res["corrected"] = _wls0(bx[keep], by[keep], w[keep])
            b_all, b_no = res["raw"][0], res["corrected"][0]
            bias_obs = (b_all - b_no) / abs(b_no)
            bias_exp = []
            for _ in range(n_sim):          # getRandomBias: outliers + k - 2|out| non-outliers, with replacement
                idx = np.concatenate([out, rng.choice(keep, k - len(out))])[: k - len(out)]
                b_r = np.sum(w[idx] * bx[idx] * by[idx]) / np.sum(w[idx] * bx[idx] ** 2)  # lm(weights = Weights)
                bias_exp.append((b_all - b_r) / abs(b_r))
            res["distortion_coef"] = 100 * bias_obs
            res["distortion_p"] = np.sum(np.abs(bias_exp) > abs(bias_obs)) / n_sim
    return res


def _mc_close(a, b, n, z=4.5):
    """Two independent Monte Carlo proportions of n draws agree within z standard errors."""
    p = (a + b) / 2
    return abs(a - b) <= z * math.sqrt(max(p * (1 - p), 1 / n) * 2 / n)


def test_mr_presso__fixture_matches_r_code_reimplementation(fixture):
    bx, by, sx, sy = fixture["beta"], fixture["by"], fixture["se"], fixture["sy"]
    by = by.copy()
    by[[5, 40]] += [0.25, -0.2]             # two planted pleiotropic variants so that every test runs
    ours = S.mr_presso(bx, by, sx, sy, n_sim=N_SIM, rng=np.random.default_rng(11))
    ref = _presso_reference(bx, by, sx, sy, N_SIM, np.random.default_rng(2024))
    rel = lambda a, b: abs(a - b) / abs(b)  # noqa: E731
    assert rel(ours.rss_obs, ref["rss_obs"]) < 1e-9
    assert rel(ours.raw.b, ref["raw"][0]) < 1e-9 and rel(ours.raw.se, ref["raw"][1]) < 1e-9
    assert rel(ours.raw.pval, ref["raw"][2]) < 1e-6
    assert ours.global_pval < 0.05 and ref["global_p"] < 0.05 and _mc_close(ours.global_pval, ref["global_p"], N_SIM)
    assert set(np.flatnonzero(ours.outliers)) == set(ref["outliers"]) >= {5, 40}
    for a, b in zip(ours.outlier_pval, ref["outlier_p"]):
        assert _mc_close(a / len(bx), b / len(bx), N_SIM), (a, b)
    assert rel(ours.corrected.b, ref["corrected"][0]) < 1e-9 and rel(ours.corrected.se, ref["corrected"][1]) < 1e-9
    assert rel(ours.distortion_coef, ref["distortion_coef"]) < 1e-9
    assert _mc_close(ours.distortion_pval, ref["distortion_p"], N_SIM)


def test_mr_presso__fixture_without_outliers_global_p_and_method_row(fixture):
    bx, by, sx, sy = fixture["beta"], fixture["by"], fixture["se"], fixture["sy"]
    ours = S.mr_presso(bx, by, sx, sy, n_sim=N_SIM, rng=np.random.default_rng(5))
    ref = _presso_reference(bx, by, sx, sy, N_SIM, np.random.default_rng(6))
    assert ours.rss_obs == pytest.approx(ref["rss_obs"], rel=1e-9)
    assert _mc_close(ours.global_pval, ref["global_p"], N_SIM)
    # the mr_results row: outlier-corrected estimate, the raw one without outliers
    h = pd.DataFrame({"exposure": "bmi", "outcome": "chd", "variant_id": fixture["snp"], "beta_exposure": bx,
                      "se_exposure": sx, "beta_outcome": by, "se_outcome": sy, "mr_keep": True,
                      **{c: np.nan for c in ("p_exposure", "p_outcome", "n_exposure", "n_outcome", "eaf_exposure",
                                             "eaf_outcome")}})
    t = analyse_pair(h, MRSettings(methods=("Inverse variance weighted",), nboot=10, presso_sims=N_SIM),
                     rng=np.random.default_rng(5))
    row = next(r for r in t.results if r["method"] == PRESSO_METHOD)
    pr = t.presso[0]
    expected = (pr["corrected_b"], pr["corrected_se"]) if pr["n_outliers"] else (pr["raw_b"], pr["raw_se"])
    assert (row["b"], row["se"]) == pytest.approx(expected)
    assert pr["raw_b"] == pytest.approx(ref["raw"][0], rel=1e-9)


def test_mr_presso__no_corrected_estimate_when_too_few_variants_remain():
    """Every variant an outlier (too few left to refit): the 'MR-PRESSO (outlier-corrected)' row showed the raw
    estimate (review finding); MRPRESSO gives NA, and so does the row now."""
    bx = np.array([0.1, 0.12, 0.09, 0.11])
    by = np.array([0.05, 0.05, 1.0, -1.0])
    h = pd.DataFrame({"exposure": "e", "outcome": "o", "variant_id": ["a", "b", "c", "d"], "beta_exposure": bx,
                      "se_exposure": 0.01, "beta_outcome": by, "se_outcome": 0.01, "mr_keep": True,
                      **{c: np.nan for c in ("p_exposure", "p_outcome", "n_exposure", "n_outcome", "eaf_exposure",
                                             "eaf_outcome")}})
    t = analyse_pair(h, MRSettings(methods=("Inverse variance weighted",), nboot=10, presso_sims=200))
    pr = t.presso[0]
    row = next(r for r in t.results if r["method"] == PRESSO_METHOD)
    if pr["n_outliers"] and not np.isfinite(pr["corrected_b"]):
        assert np.isnan(row["b"]) and np.isnan(row["se"]) and np.isnan(row["pval"])
        assert row["nsnp"] == 4 - pr["n_outliers"]
    else:
        pytest.fail(f"the planted outliers were not all flagged: {pr}")
