"""MR estimators: TwoSampleMR's asserted fixture values, and naive reference implementations."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from edfgen.exceptions import InputError
from edfgen.kernels.mr import methods as M
from edfgen.kernels.mr.harmonise import harmonise
from edfgen.formats.sumstats import load_sumstats


@pytest.fixture(scope="module")
def fixture_arrays(shared_data):
    d = shared_data / "mr"
    h = harmonise(load_sumstats(d / "twosamplemr_test_commondata_exp_dat.csv"),
                  load_sumstats(d / "twosamplemr_test_commondata_out_dat.csv"))
    h = h[h["mr_keep"]]
    return tuple(h[c].to_numpy(float) for c in ("beta_exposure", "beta_outcome", "se_exposure", "se_outcome"))


@pytest.fixture(scope="module")
def sim_arrays():
    rng = np.random.default_rng(7)
    k = 25
    bx = rng.normal(0, 0.05, k) + np.sign(rng.normal(size=k)) * 0.04
    sx = rng.uniform(0.005, 0.01, k)
    sy = rng.uniform(0.01, 0.03, k)
    by = 0.3 * bx + rng.normal(0, sy) + rng.normal(0, 0.01, k)
    return bx, by, sx, sy


# TwoSampleMR tests/testthat/test_mr.R and test_mr_mode.R on the same data
@pytest.mark.parametrize("method,expected,tol", [
    ("Inverse variance weighted", 0.4459, 1e-3), ("MR Egger", 0.5025, 1e-3), ("Weighted median", 0.3870, 1e-3),
    ("Simple mode", 0.3402, 1e-3), ("Weighted mode", 0.379, 1e-2)])
def test_methods__twosamplemr_fixture_estimates(fixture_arrays, method, expected, tol):
    r = M.run_method(method, *fixture_arrays, rng=1)
    assert r.nsnp == 79
    assert abs(r.b - expected) < tol


def test_ivw__matches_statsmodels_wls(sim_arrays):
    bx, by, sx, sy = sim_arrays
    fit = sm.WLS(by, bx[:, None], weights=sy ** -2).fit()
    sigma = np.sqrt(fit.scale)
    mre, fe = M.ivw(bx, by, sx, sy), M.ivw_fixed(bx, by, sx, sy)
    assert mre.b == pytest.approx(fit.params[0], rel=1e-10)
    # TwoSampleMR: lm SE / min(1, sigma); fixed effects: lm SE / sigma
    assert mre.se == pytest.approx(fit.bse[0] / min(1.0, sigma), rel=1e-10)
    assert fe.se == pytest.approx(fit.bse[0] / sigma, rel=1e-10)
    assert mre.pval == pytest.approx(2 * stats.norm.sf(abs(fit.params[0] / mre.se)), rel=1e-8)
    assert mre.Q == pytest.approx(fit.ssr, rel=1e-10) and mre.Q_df == len(bx) - 1
    # TwoSampleMR mr_ivw_mre: the lm SE itself, no floor (the ivw_mre alias named the floored IVW before)
    unfloored = M.get_method("ivw_mre").func(bx, by, sx, sy)
    assert unfloored.se == pytest.approx(fit.bse[0], rel=1e-10) and unfloored.b == pytest.approx(fit.params[0], rel=1e-10)


def test_ivw__underdispersed_data_keeps_fixed_effect_se():
    bx = np.array([0.1, 0.2, 0.3, 0.15])
    sy = np.array([0.05, 0.05, 0.05, 0.05])
    by = 0.5 * bx  # no residual variance: sigma < 1
    assert M.ivw(bx, by, bx * 0 + 0.01, sy).se == pytest.approx(M.ivw_fixed(bx, by, bx * 0 + 0.01, sy).se)
    assert M.ivw_mre(bx, by, bx * 0 + 0.01, sy).se < M.ivw_fixed(bx, by, bx * 0 + 0.01, sy).se   # no floor


def test_egger__matches_statsmodels_wls_with_t_pvalues(sim_arrays):
    bx, by, sx, sy = sim_arrays
    s = np.sign(bx)
    X = sm.add_constant(np.abs(bx))
    fit = sm.WLS(by * s, X, weights=sy ** -2).fit()
    sigma = np.sqrt(fit.scale)
    r = M.egger(bx, by, sx, sy)
    k = len(bx)
    assert r.b == pytest.approx(fit.params[1], rel=1e-9)
    assert r.b_i == pytest.approx(fit.params[0], rel=1e-9)
    assert r.se == pytest.approx(fit.bse[1] / min(1, sigma), rel=1e-9)
    assert r.se_i == pytest.approx(fit.bse[0] / min(1, sigma), rel=1e-9)
    assert r.pval == pytest.approx(2 * stats.t.sf(abs(r.b / r.se), k - 2), rel=1e-9)
    assert r.pval_i == pytest.approx(2 * stats.t.sf(abs(r.b_i / r.se_i), k - 2), rel=1e-9)
    assert r.Q == pytest.approx(fit.ssr, rel=1e-9) and r.Q_df == k - 2


def test_egger__orientation_invariance(sim_arrays):
    bx, by, sx, sy = sim_arrays
    flip = np.arange(len(bx)) % 3 == 0  # recode some variants to the other allele
    a = M.egger(bx, by, sx, sy)
    b = M.egger(np.where(flip, -bx, bx), np.where(flip, -by, by), sx, sy)
    assert a.b == pytest.approx(b.b) and a.b_i == pytest.approx(b.b_i)


def _naive_weighted_median(b_iv, w):
    """Bowden et al. (2016) supplementary R code, as loops."""
    order = sorted(range(len(b_iv)), key=lambda i: b_iv[i])
    b = [b_iv[i] for i in order]
    ww = [w[i] for i in order]
    tot = sum(ww)
    cum, p = 0.0, []
    for x in ww:
        cum += x
        p.append((cum - 0.5 * x) / tot)
    below = max(i for i in range(len(p)) if p[i] < 0.5)
    return b[below] + (b[below + 1] - b[below]) * (0.5 - p[below]) / (p[below + 1] - p[below])


def test_weighted_median__point_and_bootstrap_match_naive_loops(sim_arrays):
    bx, by, sx, sy = sim_arrays
    w = 1 / (sy ** 2 / bx ** 2 + by ** 2 * sx ** 2 / bx ** 4)
    r = M.weighted_median(bx, by, sx, sy, nboot=200, rng=np.random.default_rng(3))
    assert r.b == pytest.approx(_naive_weighted_median(list(by / bx), list(w)), rel=1e-12)
    rng = np.random.default_rng(3)  # same draws as the kernel: [nboot, k] exposure then outcome, each
    sign = np.where(bx < 0, -1.0, 1.0)  # instrument oriented to its exposure-increasing allele
    bxs = rng.normal(sign * bx, sx, size=(200, len(bx)))
    bys = rng.normal(sign * by, sy, size=(200, len(bx)))
    meds = [_naive_weighted_median(list(bys[i] / bxs[i]), list(w)) for i in range(200)]
    assert r.se == pytest.approx(np.std(meds, ddof=1), rel=1e-10)
    assert r.pval == pytest.approx(2 * stats.norm.sf(abs(r.b / r.se)))


def test_median_bootstrap_se__the_same_whichever_allele_each_instrument_reports(sim_arrays):
    """Flipping an instrument's alleles (beta_exp and beta_out negated: plink2 A1 = REF, BOLT's ALLELE1) leaves
    every ratio and weight unchanged; the bootstrap SE of the weighted and simple medians moved with it (the
    draws were not oriented; s35d: 3-12 % with nboot 100), so the same data in two file layouts disagreed."""
    bx, by, sx, sy = sim_arrays
    flip = np.where(np.arange(len(bx)) % 3 == 0, -1.0, 1.0)
    for method in (M.weighted_median, M.simple_median):
        a = method(bx, by, sx, sy, nboot=200, rng=np.random.default_rng(5))
        b = method(flip * bx, flip * by, sx, sy, nboot=200, rng=np.random.default_rng(5))
        assert (a.b, a.se, a.pval) == pytest.approx((b.b, b.se, b.pval), rel=1e-12)


def test_simple_median__equals_numpy_median(sim_arrays):
    bx, by, sx, sy = sim_arrays
    assert M.simple_median(bx, by, sx, sy, nboot=50, rng=0).b == pytest.approx(np.median(by / bx), rel=1e-12)
    assert M.simple_median(bx[:-1], by[:-1], sx[:-1], sy[:-1], nboot=50, rng=0).b == pytest.approx(
        np.median(by[:-1] / bx[:-1]), rel=1e-12)


def _naive_kde_mode(x, w, h):
    """Exact weighted Gaussian KDE evaluated on R's output grid (no binning), by loops over points."""
    grid = np.linspace(x.min() - 3 * h, x.max() + 3 * h, 512)
    dens = np.zeros_like(grid)
    for xi, wi in zip(x, w):
        dens += wi * stats.norm.pdf(grid, xi, h)
    return grid[np.argmax(dens)], grid[1] - grid[0]


@pytest.mark.parametrize("weighted", [False, True])
def test_modes__point_matches_exact_kde_and_bootstrap_matches_row_loop(sim_arrays, weighted):
    bx, by, sx, sy = sim_arrays
    k = len(bx)
    biv = by / bx
    se_iv = np.sqrt(sy ** 2 / bx ** 2 + by ** 2 * sx ** 2 / bx ** 4)
    sd, mad = np.std(biv, ddof=1), stats.median_abs_deviation(biv, scale=1 / 1.4826)
    h = 0.9 * min(sd, mad) / k ** 0.2
    w = se_iv ** -2 if weighted else np.ones(k)
    ref, step = _naive_kde_mode(biv, w / w.sum(), h)
    fn = M.weighted_mode if weighted else M.simple_mode
    r = fn(bx, by, sx, sy, nboot=100, rng=np.random.default_rng(11))
    assert abs(r.b - ref) <= 1.5 * step  # binned FFT density vs exact density: same grid point or a neighbour
    # batched bootstrap == row-by-row
    rng = np.random.default_rng(11)
    boot = rng.normal(biv, se_iv, size=(100, k))
    modes = [M._mode_point(boot[i:i + 1], se_iv if weighted else np.ones(k), 1.0, np.float32)[0] for i in range(100)]
    modes64 = M._mode_point(boot, se_iv if weighted else np.ones(k), 1.0)
    assert np.mean(np.isclose(modes, modes64, rtol=0, atol=1e-12)) > 0.95  # float32 FFT: same grid point
    assert r.se == pytest.approx(1.4826 * np.median(np.abs(np.array(modes) - np.median(modes))), rel=1e-10)
    assert r.pval == pytest.approx(2 * stats.t.sf(abs(r.b / r.se), k - 1))


def test_wald_ratio__first_order_se():
    r = M.wald_ratio(np.array([0.2]), np.array([0.05]), np.array([0.01]), np.array([0.02]))
    assert (r.b, r.se, r.nsnp) == (pytest.approx(0.25), pytest.approx(0.1), 1)
    assert r.pval == pytest.approx(2 * stats.norm.sf(2.5))
    assert M.run_method("Wald ratio", [0.1, 0.2], [0.1, 0.2], [0.1, 0.1], [0.1, 0.1]) is None



def test_wald_ratio__second_order_se_counts_the_exposure_error():
    """``second_order``: the delta-method SE sqrt(se_y²/bx² + by² se_x²/bx⁴) (MendelianRandomization "delta"
    weights, no overlap), computed by hand here: 0.02²/0.2² + 0.05² 0.01²/0.2⁴ = 0.01 + 0.00015625."""
    args = np.array([0.2]), np.array([0.05]), np.array([0.01]), np.array([0.02])
    r = M.wald_ratio(*args, second_order=True)
    assert r.b == pytest.approx(0.25) and r.se == pytest.approx(np.sqrt(0.01015625), rel=1e-12)
    assert r.pval == pytest.approx(2 * stats.norm.sf(0.25 / np.sqrt(0.01015625)), rel=1e-12)
    assert M.wald_ratio(*args).se == pytest.approx(0.1)             # first order stays the default

def test_registry__names_as_twosamplemr_and_frozen():
    assert set(M.DEFAULT_METHODS) <= set(M.METHODS)
    assert {"Inverse variance weighted", "MR Egger", "Weighted median", "Simple median", "Simple mode",
            "Weighted mode", "Wald ratio", "Inverse variance weighted (fixed effects)",
            "Inverse variance weighted (multiplicative random effects)"} == set(M.METHODS)
    m = M.get_method("ivw")
    assert m.name == "Inverse variance weighted" and m.pmid == "24114802" and m.heterogeneity
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.name = "x"
    with pytest.raises(dataclasses.FrozenInstanceError):
        M.MRResult(1.0, 1.0, 1.0, 3).b = 2.0
    with pytest.raises(InputError, match="unknown MR method"):
        M.get_method("mr_raps")
    assert M.run_method("MR Egger", [0.1, 0.2], [0.1, 0.2], [0.1, 0.1], [0.1, 0.1]) is None  # needs 3


def test_bootstraps__seeded_and_reproducible(sim_arrays):
    for fn in (M.weighted_median, M.simple_mode):
        a = fn(*sim_arrays, nboot=100, rng=np.random.default_rng(5)).se
        b = fn(*sim_arrays, nboot=100, rng=np.random.default_rng(5)).se
        c = fn(*sim_arrays, nboot=100, rng=np.random.default_rng(6)).se
        assert a == b and a != c


def test_egger__perfect_fit_gives_the_fixed_effect_se_not_an_error():
    """Outcome betas exactly on a line (sigma = 0): the SE is the unscaled WLS SE, as sigma -> 0+."""
    import math

    from edfgen.kernels.mr.methods import egger

    bx = np.array([0.1, 0.2, 0.3, 0.4])
    se_out = np.array([0.01, 0.02, 0.015, 0.01])
    exact = egger(bx, 0.01 + 0.5 * bx, np.full(4, 0.01), se_out)
    near = egger(bx, 0.01 + 0.5 * bx + np.array([1e-9, -1e-9, 1e-9, -1e-9]), np.full(4, 0.01), se_out)
    assert exact.b == pytest.approx(0.5) and math.isfinite(exact.se)
    assert exact.se == pytest.approx(near.se, rel=1e-6)


def test_analyse_pair__an_exposure_beta_of_0_is_one_warning_not_numpy_noise(sim_arrays, caplog):
    """An instrument with exposure beta 0 printed raw numpy RuntimeWarnings (divide by zero ...) from several
    methods; it is kept as TwoSampleMR keeps it (IVW unchanged in form) and said in one warning (review s30a
    finding 8)."""
    import warnings

    import pandas as pd

    from edfgen.commands.mr import MRSettings, analyse_pair

    bx, by, sx, sy = (a.copy() for a in sim_arrays)
    bx[3] = 0.0
    h = pd.DataFrame({"exposure": "e", "outcome": "o", "variant_id": [f"rs{i}" for i in range(len(bx))],
                      "beta_exposure": bx, "se_exposure": sx, "beta_outcome": by, "se_outcome": sy, "mr_keep": True,
                      **{c: np.nan for c in ("p_exposure", "p_outcome", "n_exposure", "n_outcome", "eaf_exposure",
                                             "eaf_outcome")}})
    with warnings.catch_warnings(), caplog.at_level("WARNING", logger="edfgen"):
        warnings.simplefilter("error", RuntimeWarning)
        t = analyse_pair(h, MRSettings(nboot=20, presso_sims=50), rng=np.random.default_rng(1))
    ivw = next(r for r in t.results if r["method"] == "Inverse variance weighted")
    assert ivw["b"] == pytest.approx(M.ivw(bx, by, sx, sy).b)
    assert "e -> o: 1 instrument(s) with exposure beta 0 (e.g. rs3)" in caplog.text


def test_result_columns__confidence_interval_and_odds_ratios_as_twosamplemr_generate_odds_ratios():
    """TwoSampleMR's generate_odds_ratios writes lo_ci = b - 1.96 se, up_ci = b + 1.96 se, or = exp(b) and the
    exponentiated bounds (data_dictionary/mr_results.tsv says so); edfgen used qnorm(0.975) = 1.959964, so its
    intervals differed from TwoSampleMR's in the 5th digit (3.6e-5 se)."""
    import pandas as pd

    from edfgen.commands.mr_pair import add_result_columns

    res = pd.DataFrame({"exposure": "x", "outcome": ["y", "y", "z"], "nsnp": [5, 5, 1],
                        "method": ["Inverse variance weighted", "MR Egger", "Wald ratio"],
                        "b": [0.3, -1.2, 2.5], "se": [0.1, 0.4, 1.1], "pval": [0.003, 0.01, 0.02]})
    out = add_result_columns(res)
    np.testing.assert_array_equal(out["lo_ci"], res["b"] - 1.96 * res["se"])
    np.testing.assert_array_equal(out["up_ci"], res["b"] + 1.96 * res["se"])
    np.testing.assert_array_equal(out["or_lci95"], np.exp(res["b"] - 1.96 * res["se"]))
    np.testing.assert_array_equal(out["or_uci95"], np.exp(res["b"] + 1.96 * res["se"]))
    np.testing.assert_array_equal(out["or"], np.exp(res["b"]))


def test_mr_plots__error_bars_are_the_95_ci_of_mr_results(tmp_path, monkeypatch):
    """Review s37docs F6: the forest and leave-one-out plots drew b ± 1.959964 se while mr_results.tsv writes
    b ± 1.96 se (TwoSampleMR generate_odds_ratios): a plot and its table disagreed in the 5th digit. Both use one
    constant now."""
    import pandas as pd
    from matplotlib.figure import Figure

    from edfgen.plots.mr import forest_plot, leaveoneout_plot

    figs, real_savefig = [], Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (figs.append(self), real_savefig(self, *a, **k))[1])
    se = np.array([0.1, 0.3, 0.07])
    single = pd.DataFrame({"exposure": "e", "outcome": "o", "SNP": ["rs1", "rs2", "All - IVW"],
                           "method": ["Wald ratio", "Wald ratio", "Inverse variance weighted"], "b": [0.5, 0.4, 0.45],
                           "se": se})
    loo = single.assign(SNP=["rs1", "rs2", "All"], method="Inverse variance weighted")
    forest_plot(single, tmp_path / "f.png")
    leaveoneout_plot(loo, tmp_path / "l.png")
    for fig in figs:
        seg = np.concatenate([c.get_segments() for c in fig.axes[0].collections if hasattr(c, "get_segments")])
        np.testing.assert_allclose(np.sort((seg[:, 1, 0] - seg[:, 0, 0]) / 2), np.sort(1.96 * se), rtol=1e-12)
    assert len(figs) == 2


def _twosamplemr_weighted_median(b_iv, w):
    """TwoSampleMR's ``weighted_median`` (R/mr.R), transcribed: order, normalise, interpolate at 0.5."""
    o = np.argsort(b_iv, kind="stable")
    b, w = b_iv[o], w[o] / w.sum()
    ws = np.cumsum(w) - 0.5 * w
    below = int(np.max(np.flatnonzero(ws < 0.5)))
    return b[below] + (b[below + 1] - b[below]) * (0.5 - ws[below]) / (ws[below + 1] - ws[below])


def test_methods__edges_as_twosamplemr_exposure_beta_0_and_two_instruments(fixture_arrays):
    """Review s39edge, the README's edge conventions pinned on the fixture (10 instruments, one with exposure beta
    0): IVW and Egger equal the weighted regressions of TwoSampleMR's mr_ivw / mr_egger_regression (statsmodels WLS,
    SE / min(1, sigma); a beta of 0 is not flipped), the weighted median gives the infinite ratio weight 0 and the
    simple median counts it (TwoSampleMR's weighted_median transcribed), to 1e-12; with 2 instruments IVW runs
    and Egger, the medians and the modes are not in the registry's reach (min_variants 3)."""
    bx, by, sx, sy = (a[:10].copy() for a in fixture_arrays)
    bx[0] = 0.0
    fit = sm.WLS(by, bx, weights=sy ** -2).fit()
    ivw = M.ivw(bx, by, sx, sy)
    assert ivw.b == pytest.approx(fit.params[0], rel=1e-12)
    assert ivw.se == pytest.approx(fit.bse[0] / min(1.0, np.sqrt(fit.scale)), rel=1e-12)
    s = np.where(bx < 0, -1.0, 1.0)
    fit = sm.WLS(by * s, sm.add_constant(np.abs(bx)), weights=sy ** -2).fit()
    eg = M.egger(bx, by, sx, sy)
    assert eg.b == pytest.approx(fit.params[1], rel=1e-12)
    assert eg.se == pytest.approx(fit.bse[1] / min(1.0, np.sqrt(fit.scale)), rel=1e-12)
    with np.errstate(divide="ignore", invalid="ignore"):
        b_iv = by / bx
        v = sy ** 2 / bx ** 2 + by ** 2 * sx ** 2 / bx ** 4
    rng = np.random.default_rng(0)
    with np.errstate(divide="ignore", invalid="ignore"):     # as analyse_pair calls them (one warning of its own)
        wm, sm_ = M.weighted_median(bx, by, sx, sy, nboot=10, rng=rng), M.simple_median(bx, by, sx, sy, nboot=10,
                                                                                          rng=rng)
    assert wm.b == pytest.approx(_twosamplemr_weighted_median(b_iv, 1 / v), rel=1e-12)
    assert sm_.b == pytest.approx(_twosamplemr_weighted_median(b_iv, np.full(10, 0.1)), rel=1e-12)
    two = [m.name for m in M.METHODS.values() if m.accepts(2)]
    assert "MR Egger" not in two and "Weighted median" not in two and "Inverse variance weighted" in two


@pytest.mark.filterwarnings("error::RuntimeWarning")
@pytest.mark.parametrize("nboot", [0, 1])
def test_bootstrap_se__fewer_than_two_draws_give_na_without_a_numpy_warning(nboot):
    """nboot 0 or 1: the bootstrap SE is NA, as R's sd()/mad() of < 2 values (numpy warned "Degrees of freedom
    <= 0 for slice" / "Mean of empty slice" into an mr run: second read s42); the point estimates are unchanged."""
    rng = np.random.default_rng(3)
    bx = rng.uniform(0.05, 0.2, 8)
    by = 0.3 * bx + rng.normal(0, 0.01, 8)
    sx, sy = np.full(8, 0.01), np.full(8, 0.01)
    for fn in (M.weighted_median, M.simple_median):
        r = fn(bx, by, sx, sy, nboot=nboot, rng=1)
        assert np.isnan(r.se) and r.b == pytest.approx(fn(bx, by, sx, sy, nboot=50, rng=1).b)
    if nboot == 0:
        M._MODE_CACHE.clear()
        simple, weighted = M._modes(bx, by, sx, sy, nboot=0, rng=1, phi=1.0)
        assert np.isnan(simple.se) and np.isnan(weighted.se) and np.isfinite(simple.b)
