"""Sensitivity analyses against straightforward reference computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats

from edfgen.kernels.mr import methods as M
from edfgen.kernels.mr import sensitivity as S


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(21)
    k = 30
    bx = rng.uniform(0.02, 0.08, k) * np.sign(rng.normal(size=k))
    sx = np.full(k, 0.006)
    sy = rng.uniform(0.01, 0.02, k)
    by = 0.3 * bx + rng.normal(0, sy)
    return bx, by, sx, sy


def test_cochran_q__equals_first_order_ratio_meta_analysis(arrays):
    bx, by, sx, sy = arrays
    ratio, w = by / bx, bx ** 2 / sy ** 2  # first-order weights
    beta = np.sum(w * ratio) / np.sum(w)
    q = np.sum(w * (ratio - beta) ** 2)
    r = M.ivw(bx, by, sx, sy)
    assert r.Q == pytest.approx(q, rel=1e-10)
    assert r.Q_pval == pytest.approx(stats.chi2.sf(q, len(bx) - 1))
    assert S.heterogeneity_i2(r.Q, r.Q_df) == pytest.approx(max(0, (q - (len(bx) - 1)) / q))
    # identical ratios: Q = 0, no heterogeneity, I² 0 as i_squared gives (was NaN)
    same = M.ivw(bx, bx * 0.3, sx, sy)
    assert same.Q == pytest.approx(0, abs=1e-20) and S.heterogeneity_i2(0.0, same.Q_df) == 0.0
    assert S.i_squared(np.full(4, 0.3), np.full(4, 0.1)) == 0.0 and np.isnan(S.heterogeneity_i2(np.nan, 3))


def test_i_squared_gx__textbook_formula(arrays):
    bx, _, sx, _ = arrays
    y, w = np.abs(bx), 1 / sx ** 2
    mu = (w * y).sum() / w.sum()
    q = (w * (y - mu) ** 2).sum()
    assert S.i_squared_gx(bx, sx) == pytest.approx((q - (len(y) - 1)) / q)



def test_i_squared_gx__weighted_as_mendelianrandomization_mr_egger(arrays):
    """The I²GX that goes with MR-Egger weighted by se_out^-2: MendelianRandomization ``mr_egger``'s ``I.sq``,
    ``Q = sum((Bxse/Byse)^-2 (Bx/Byse - weighted.mean(Bx/Byse, w = (Bxse/Byse)^-2))^2)``, written in
    ``mr_pleiotropy.tsv`` as ``i2_gx_weighted`` beside the unweighted ``i2_gx`` (s37mr: only the unweighted one
    was reported, which reads NOME as safer than the weighted fit has it when outcome SEs vary)."""
    from edfgen.commands.mr_pair import MRSettings, analyse_pair

    _, by, sx, _ = arrays
    k = by.size
    bx = np.linspace(0.01, 0.12, k) * np.where(np.arange(k) % 3, 1, -1)
    sy = np.linspace(0.01, 0.03, k)                           # the stronger instruments measured less precisely
    y, s = np.abs(bx) / sy, sx / sy
    w = s ** -2.0
    q = np.sum(w * (y - np.sum(w * y) / np.sum(w)) ** 2)
    ref = max(0.0, (q - (k - 1)) / q)
    assert S.i_squared_gx(bx, sx, sy) == pytest.approx(ref, rel=1e-12)
    assert ref < 0.9 < S.i_squared_gx(bx, sx)                # dilution the unweighted I²GX does not show
    assert S.i_squared_gx(bx, sx, np.full(k, 0.02)) == pytest.approx(S.i_squared_gx(bx, sx), rel=1e-12)
    h = pd.DataFrame({"exposure": "x", "outcome": "y", "variant_id": [f"rs{i}" for i in range(k)],
                      "beta_exposure": bx, "beta_outcome": by, "se_exposure": sx, "se_outcome": sy,
                      "mr_keep": True, "p_exposure": np.nan, "p_outcome": np.nan, "n_exposure": np.nan,
                      "n_outcome": np.nan, "eaf_exposure": np.nan, "eaf_outcome": np.nan})
    row = analyse_pair(h, MRSettings(methods=("ivw",), nboot=10, presso=False)).pleiotropy[0]
    assert row["i2_gx_weighted"] == pytest.approx(ref, rel=1e-12)
    assert row["i2_gx"] == pytest.approx(S.i_squared_gx(bx, sx), rel=1e-12)

def test_leave_one_out__matches_refits(arrays):
    bx, by, sx, sy = arrays
    loo = S.leave_one_out(bx, by, sx, sy, "Inverse variance weighted")
    for i in (0, 7, 29):
        keep = np.arange(len(bx)) != i
        fit = sm.WLS(by[keep], bx[keep][:, None], weights=sy[keep] ** -2).fit()
        assert loo[i].b == pytest.approx(fit.params[0], rel=1e-10) and loo[i].nsnp == len(bx) - 1
        assert loo[i].se == pytest.approx(fit.bse[0] / min(1, np.sqrt(fit.scale)), rel=1e-10)


def test_single_snp__wald_ratios(arrays):
    bx, by, sx, sy = arrays
    b, se, p = S.single_snp(bx, by, sx, sy)
    for i in range(3):
        r = M.wald_ratio(bx[i:i + 1], by[i:i + 1], sx[i:i + 1], sy[i:i + 1])
        assert (b[i], se[i], p[i]) == (pytest.approx(r.b), pytest.approx(r.se), pytest.approx(r.pval))


def test_r_from_pn__inverts_regression_p_value():
    # r² -> F -> p (TwoSampleMR get_p_from_r2n) -> back
    n, r2 = 5000, 0.004
    f = r2 * (n - 2) / (1 - r2)
    p = stats.f.sf(f, 1, n - 1)
    assert S.r_from_pn(p, n) ** 2 == pytest.approx(f / (n - 2 + f), rel=1e-8)
    assert np.isfinite(S.r_from_pn(1e-200, 300000))  # no overflow for tiny p
    assert S.r_from_bsen(0.1, 0.01, 10002) == pytest.approx(np.sqrt(100 / (10000 + 100)))


def test_r_from_lor__matches_contingency_solved_by_root_finding():
    lor, af, ncase, nctrl, prev = 0.3, 0.3, 2000.0, 8000.0, 0.05
    prop = ncase / (ncase + nctrl)
    # case/control allele frequencies with overall af and odds ratio exp(lor)
    def gap(fc):
        fk = (af - prop * fc) / (1 - prop)
        return np.log(fc / (1 - fc)) - np.log(fk / (1 - fk)) - lor
    fc = optimize.brentq(gap, 1e-9, 1 - 1e-9)
    fk = (af - prop * fc) / (1 - prop)
    popaf = fk * (1 - prev) + fc * prev
    vg = lor ** 2 * popaf * (1 - popaf)
    expected = np.sqrt(vg / (vg + np.pi ** 2 / 3))
    assert S.r_from_lor(lor, af, ncase, nctrl, prev) == pytest.approx(expected, rel=1e-8)
    assert S.r_from_lor(-lor, 1 - af, ncase, nctrl, prev) == pytest.approx(-expected, rel=1e-6)


def test_steiger__fisher_z_of_independent_correlations():
    r_exp, r_out = np.array([0.1, 0.05, 0.08]), np.array([0.01, -0.02, 0.015])
    res = S.steiger(r_exp, r_out, np.full(3, 10000.0), np.full(3, 20000.0))
    rx, ry = np.sqrt((r_exp ** 2).sum()), np.sqrt((r_out ** 2).sum())
    z = (np.arctanh(rx) - np.arctanh(ry)) / np.sqrt(1 / 9997 + 1 / 19997)
    assert res.correct_causal_direction and res.r2_exposure == pytest.approx(rx ** 2)
    assert res.steiger_pval == pytest.approx(2 * stats.norm.sf(abs(z)))


def test_mr_presso__finds_planted_outliers_and_corrects():
    rng = np.random.default_rng(4)
    k = 30
    bx = rng.uniform(0.03, 0.08, k)
    sx = np.full(k, 0.005)
    sy = np.full(k, 0.01)
    by = 0.2 * bx + rng.normal(0, sy)
    by[[3, 17]] += 0.12  # strong horizontal pleiotropy
    r = S.mr_presso(bx, by, sx, sy, n_sim=1000, rng=1)
    assert r.global_pval < 0.01
    assert set(np.flatnonzero(r.outliers)) == {3, 17}
    assert abs(r.corrected.b - 0.2) < abs(r.raw.b - 0.2)
    keep = ~r.outliers
    fit = sm.WLS(by[keep], bx[keep][:, None], weights=sy[keep] ** -2).fit()
    assert r.corrected.b == pytest.approx(fit.params[0]) and r.corrected.se == pytest.approx(fit.bse[0])
    assert r.corrected.pval == pytest.approx(fit.pvalues[0])
    assert np.isfinite(r.distortion_coef) and 0 <= r.distortion_pval <= 1


def test_mr_presso__rss_and_null_data():
    rng = np.random.default_rng(8)
    k = 20
    bx = rng.uniform(0.03, 0.08, k)
    sx, sy = np.full(k, 0.005), np.full(k, 0.01)
    by = 0.2 * bx + rng.normal(0, sy)
    r = S.mr_presso(bx, by, sx, sy, n_sim=500, rng=2)
    w = sy ** -2
    rss = 0.0
    for i in range(k):  # leave-one-out IVW residuals, by loop
        m = np.arange(k) != i
        b = (w[m] * bx[m] * by[m]).sum() / (w[m] * bx[m] ** 2).sum()
        rss += w[i] * (by[i] - b * bx[i]) ** 2
    assert r.rss_obs == pytest.approx(rss)
    assert r.global_pval > 0.05 and not r.outliers.any() and r.corrected is None


def test_mr_presso__outlier_and_distortion_tests_match_mrpresso_loops():
    """Re-implements MRPRESSO's per-SNP outlier test and getRandomBias as loops on the same draws."""
    rng = np.random.default_rng(6)
    k, n_sim = 15, 300
    bx = rng.uniform(0.03, 0.08, k)
    sx, sy = np.full(k, 0.005), np.full(k, 0.01)
    by = 0.2 * bx + rng.normal(0, sy)
    by[4] += 0.1
    r = S.mr_presso(bx, by, sx, sy, n_sim=n_sim, rng=np.random.default_rng(9))
    assert r.outliers[4]
    w = 1 / sy ** 2
    loo = np.array([(np.delete(w * bx * by, i)).sum() / (np.delete(w * bx * bx, i)).sum() for i in range(k)])
    g = np.random.default_rng(9)  # same draw order as the kernel: exposures, outcomes, subsets
    xs = g.normal(bx, sx, size=(n_sim, k))
    ys = g.normal(loo * bx, sy, size=(n_sim, k))
    for snp in range(k):
        dif = (by[snp] - bx[snp] * loo[snp]) ** 2
        p = sum((ys[s, snp] - xs[s, snp] * loo[snp]) ** 2 > dif for s in range(n_sim)) / n_sim
        assert r.outlier_pval[snp] == pytest.approx(min(1.0, p * k))
    out_idx = list(np.flatnonzero(r.outliers))
    non = [i for i in range(k) if i not in out_idx]
    n_take = k - 2 * len(out_idx)
    draws = np.array(non)[g.integers(0, len(non), size=(n_sim, n_take))]
    b_all = (w * bx * by).sum() / (w * bx * bx).sum()
    b_no = sum(w[i] * bx[i] * by[i] for i in non) / sum(w[i] * bx[i] ** 2 for i in non)
    bias_obs = (b_all - b_no) / abs(b_no)
    hits = 0
    for s in range(n_sim):
        idx = out_idx + list(draws[s])
        b_rand = sum(w[i] * bx[i] * by[i] for i in idx) / sum(w[i] * bx[i] ** 2 for i in idx)
        hits += abs((b_all - b_rand) / abs(b_rand)) > abs(bias_obs)
    assert r.distortion_coef == pytest.approx(100 * bias_obs)
    assert r.distortion_pval == pytest.approx(hits / n_sim)


def _pair_frame(bx, by, sx, sy):
    k = len(bx)
    return pd.DataFrame({"exposure": "x", "outcome": "y", "variant_id": [f"rs{i}" for i in range(k)],
                         "beta_exposure": bx, "beta_outcome": by, "se_exposure": sx, "se_outcome": sy,
                         "mr_keep": True, **{c: np.nan for c in ("p_exposure", "p_outcome", "n_exposure", "n_outcome",
                                                                 "eaf_exposure", "eaf_outcome")}})


def _analyse(h, **kw):
    """analyse_pair with few bootstrap draws and no MR-PRESSO, ``kw`` the MRSettings."""
    from edfgen.commands.mr_pair import MRSettings, analyse_pair

    return analyse_pair(h, MRSettings(**{"nboot": 10, "presso": False, **kw}), rng=np.random.default_rng(3))


def test_analyse_pair__a_custom_kernel_of_the_documented_protocol_runs(arrays):
    """A user's MRMethod whose kernel takes exactly the documented keywords (nboot, rng, phi; MRKernel) crashed
    with TypeError once --wald-se passed ``second_order`` to every kernel (review of s37mr, finding 1): only the
    Wald ratio gets it, in the method loop and in the leave-one-out "All" refit; the Wald ratio still gets it."""
    calls = []

    def median_ratio(b_exp, b_out, se_exp, se_out, *, nboot=1000, rng=None, phi=1.0):
        calls.append(b_exp.size)
        return M.MRResult(float(np.median(b_out / b_exp)), 0.1, 0.5, int(b_exp.size))

    custom = M.MRMethod("Median ratio", median_ratio, "", 2, False)
    bx, by, sx, sy = arrays
    h = _pair_frame(bx, by, sx, sy)
    t = _analyse(h, methods=(custom,), loo_method=custom, wald_se="second")
    assert [r["method"] for r in t.results] == ["Median ratio"]
    assert t.results[0]["b"] == pytest.approx(np.median(by / bx))
    loo = pd.DataFrame(t.leaveoneout)
    assert len(loo) == bx.size + 1 and loo["excluded"].iloc[-1] == "All"
    assert loo["b"].iloc[0] == pytest.approx(np.median(by[1:] / bx[1:]))
    one = _analyse(_pair_frame(bx[:1], by[:1], sx[:1], sy[:1]), wald_se="second").results
    wald = next(r for r in one if r["method"] == "Wald ratio")
    assert wald["se"] == pytest.approx(M.wald_ratio(bx[:1], by[:1], sx[:1], sy[:1], second_order=True).se)
    assert wald["se"] > M.wald_ratio(bx[:1], by[:1], sx[:1], sy[:1]).se
    # the Wald ratio (one variant) as loo_method: no leave-one-out, not an "All" row of the first variant's ratio
    assert _analyse(h, methods=("ivw",), loo_method="Wald ratio").leaveoneout == []


def test_analyse_pair__leave_one_out_uses_the_users_phi(arrays):
    """--phi reached the methods and the leave-one-out "All" row but not the per-variant leave-one-out refits
    (sensitivity.leave_one_out had no phi: they used 1), so with loo_method "Weighted mode" the rows of
    mr_leaveoneout.tsv mixed two bandwidths (review of s37mr, finding 4)."""
    bx, by, sx, sy = arrays
    t = _analyse(_pair_frame(bx, by, sx, sy), methods=("ivw",), loo_method="Weighted mode", phi=0.25)
    loo = pd.DataFrame(t.leaveoneout).set_index("excluded")
    keep = np.arange(bx.size) != 4
    at = {phi: M.weighted_mode(bx[keep], by[keep], sx[keep], sy[keep], nboot=10, phi=phi).b for phi in (0.25, 1)}
    assert abs(at[0.25] - at[1]) > 1e-4                            # the two bandwidths give different modes here
    assert loo.loc["rs4", "b"] == pytest.approx(at[0.25], rel=1e-12)
    assert loo.loc["All", "b"] == pytest.approx(M.weighted_mode(bx, by, sx, sy, nboot=10, phi=0.25).b, rel=1e-12)
    direct = S.leave_one_out(bx, by, sx, sy, "Weighted mode", nboot=10, phi=0.25)
    assert direct[4].b == pytest.approx(at[0.25], rel=1e-12)


def test_analyse_pair__refuses_an_unknown_wald_se(arrays):
    """analyse_pair read any wald_se but "second" as "first" ("delta", "Second" gave the first-order SE without
    a word); it is refused in one line naming the value (review of s37mr, finding 5)."""
    from edfgen.exceptions import InputError

    bx, by, sx, sy = arrays
    for bad in ("delta", "Second", None):
        with pytest.raises(InputError, match=r"^MRSettings.wald_se .*: choose 'first' or 'second'$"):
            _analyse(_pair_frame(bx[:1], by[:1], sx[:1], sy[:1]), wald_se=bad)
