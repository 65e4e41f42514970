"""``--missing-genotypes drop`` and exact fits in the linear kernel (review s32a F1-F4): each variant's OLS on its
called samples must not depend on the covariates' or phenotype's offset (the normal equations of the raw values
made null variants genome-wide hits next to a covariate ``1e8 + age``, and wrote SE 0 / p 0 for a phenotype
``7 + 1e-9 x``), a variant not identified among its called samples is NA (as plink2), and a variant that fits
the phenotype exactly is NA, never SE 0 with p 0."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from edfgen.kernels.association import linear_association, prepare_phenotypes


def _cohort(n=300, m=8, seed=5):
    """Intercept, age, sex; genotypes with ~3 % missing calls in every variant; two phenotypes."""
    rng = np.random.default_rng(seed)
    age, sex = rng.normal(50, 10, n), rng.integers(0, 2, n).astype(float)
    G = rng.binomial(2, 0.3, (n, m)).astype(float)
    G[rng.random((n, m)) < 0.03] = np.nan
    Y = np.column_stack([0.4 * np.nan_to_num(G[:, 0]) + 0.02 * age + rng.normal(size=n), rng.normal(size=n)])
    return np.column_stack([np.ones(n), age, sex]), G, Y


def _drop(G, C, Y):
    return linear_association(G, prepare_phenotypes(Y, C), missing_genotypes="drop")


def _statsmodels_drop(G, C, Y, j, p):
    called = ~np.isnan(G[:, j])
    fit = sm.OLS(Y[called, p], np.column_stack([C[called], G[called, j]])).fit()
    return fit.params[-1], fit.bse[-1], fit.pvalues[-1]


@pytest.mark.parametrize("offset", [1e4, 1e8])
def test_drop__covariate_with_large_offset_gives_the_same_fit_as_without(offset):
    """``1e8 + age`` spans what ``age`` spans beside the intercept: same model, same numbers, also with an
    all-missing variant in the block (its singular system once sent the whole block to a pseudo-inverse)."""
    C, G, Y = _cohort()
    G[:, 5] = np.nan                                        # all missing: NA
    big = C.copy()
    big[:, 1] += offset
    r, rb = _drop(G, C, Y), _drop(G, big, Y)
    for j in (0, 1, 2, 3, 4, 6, 7):
        for p in (0, 1):
            ref = _statsmodels_drop(G, C, Y, j, p)
            np.testing.assert_allclose([r.beta[j, p], r.standard_error[j, p], r.p_value[j, p]], ref, rtol=1e-8)
            np.testing.assert_allclose([rb.beta[j, p], rb.standard_error[j, p], rb.p_value[j, p]], ref, rtol=1e-6)
    assert np.isnan(rb.beta[5]).all() and (rb.n[5] == 0).all()
    assert (rb.p_value[[0, 1, 2, 3, 4, 6, 7], 1] > 1e-4).all()      # null phenotype: no made-up hits


def test_drop__phenotype_with_large_mean_and_tiny_spread_has_the_t_of_the_unshifted_one():
    """``7 + 1e-9 y`` is the regression of ``y`` after the intercept: same t and p, SE scaled by 1e-9."""
    C, G, Y = _cohort()
    r, rs = _drop(G, C, Y), _drop(G, C, 7.0 + 1e-9 * Y)
    np.testing.assert_allclose(rs.p_value, r.p_value, rtol=1e-5)
    np.testing.assert_allclose(rs.standard_error, 1e-9 * r.standard_error, rtol=1e-5)
    assert (rs.standard_error > 0).all()


def test_drop__variant_not_identified_among_its_called_samples_is_na():
    """All missing; called genotypes constant (plink2 CONST_OMITTED_ALLELE); fewer called samples than
    parameters (SAMPLE_CT<=PREDICTOR_CT); the genotype a copy of a covariate among its called samples
    (CORR_TOO_HIGH): beta, SE and p all NA (not beta 0 with SE -0), the other variants unchanged."""
    C, G, Y = _cohort()
    n = len(G)
    G[:, 1] = np.nan
    G[:, 2] = np.where(np.arange(n) % 10 == 0, np.nan, 0.0)      # called: all 0; missing ones would vary
    G[4:, 3] = np.nan                                             # 4 called samples for 4 parameters
    G[:, 4] = np.where(np.arange(n) % 7 == 0, np.nan, C[:, 2])   # = sex where called
    r = _drop(G, C, Y)
    for stat in (r.beta, r.standard_error, r.p_value):
        assert np.isnan(stat[1:5]).all()
    assert list(r.n[1:5, 0]) == [0, n - 30, 4, n - 43]
    np.testing.assert_allclose([r.beta[0, 0], r.standard_error[0, 0], r.p_value[0, 0]],
                               _statsmodels_drop(G, C, Y, 0, 0), rtol=1e-8)


@pytest.mark.parametrize("mode", ["mean-impute", "drop"])
def test_exact_fit__na_not_se_0_and_p_0(mode):
    """``y = 2 g`` (and ``g`` + rounding-size noise): the residual sum of squares is rounding noise, so
    beta/SE/p are NA (plink2 INVALID_RESULT); a strong but real fit (noise 1e-3) keeps its numbers."""
    C, G, _ = _cohort()
    g = np.where(np.isnan(G[:, 0]), 1.0, G[:, 0])
    G[:, 0] = g if mode == "mean-impute" else G[:, 0]
    rng = np.random.default_rng(1)
    Y = np.column_stack([2 * g, g + 1e-9 * rng.normal(size=len(g)), g + 1e-3 * rng.normal(size=len(g))])
    if mode == "drop":
        Y[np.isnan(G[:, 0]), :2] = 0.0                         # exact among the called samples only
    r = linear_association(G, prepare_phenotypes(Y, C), missing_genotypes=mode)
    for stat in (r.beta, r.standard_error, r.p_value):
        assert np.isnan(stat[0, :2]).all()
    called = ~np.isnan(G[:, 0])
    fit = sm.OLS(Y[called, 2], np.column_stack([C[called], G[called, 0]])).fit()
    np.testing.assert_allclose([r.beta[0, 2], r.standard_error[0, 2]], [fit.params[-1], fit.bse[-1]], rtol=1e-6)


def test_drop__sample_blocks_bound_memory_and_give_the_statsmodels_fit(monkeypatch):
    """Known since stop 32: the drop path built every sample's ``Q_i Yres_i'`` at once, an n x K x P array
    (10 GB at 500,000 people, 20 covariates, 128 EDFs) per block of variants. Summed over blocks of samples now:
    with a 1 MB budget the peak allocation stays far below that array's size, and the numbers are statsmodels'."""
    import tracemalloc

    import edfgen.kernels.association as assoc

    rng = np.random.default_rng(3)
    n, m, P = 6000, 6, 60
    C = np.column_stack([np.ones(n), rng.normal(size=(n, 11))])
    G = rng.binomial(2, 0.3, (n, m)).astype(float)
    G[rng.random((n, m)) < 0.03] = np.nan
    Y = rng.normal(size=(n, P))
    ph = prepare_phenotypes(Y, C)
    big = n * C.shape[1] * P * 8                                   # the n x K x P array: 34.6 MB
    monkeypatch.setattr(assoc, "CALLED_PRODUCTS_BYTES", 2**20, raising=False)
    tracemalloc.start()
    r = linear_association(G, ph, missing_genotypes="drop")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < big / 2, (peak, big)
    for j, p in ((0, 0), (3, 17), (5, 59)):
        np.testing.assert_allclose([r.beta[j, p], r.standard_error[j, p], r.p_value[j, p]],
                                   _statsmodels_drop(G, C, Y, j, p), rtol=1e-8)


@pytest.mark.parametrize("mode", ["drop", "mean-impute"])
def test_linear_association__no_covariate_at_all_is_a_regression_through_the_origin(mode):
    """No covariate at all (not even the intercept: a library caller's design; the CLI always adds one) with
    ``missing_genotypes="drop"`` raised ZeroDivisionError (review s40). Without covariates the model is the
    regression through the origin ``y ~ g``; beta, SE and p are statsmodels' OLS without a constant (on the called
    samples with ``drop``, on the mean-imputed genotype otherwise), n - 1 degrees of freedom."""
    C, G, Y = _cohort()
    C = C[:, :0]
    r = linear_association(G, prepare_phenotypes(Y, C), missing_genotypes=mode)
    for j, p in ((0, 0), (3, 1), (7, 0)):
        if mode == "drop":
            want = _statsmodels_drop(G, C, Y, j, p)
        else:
            g = np.where(np.isnan(G[:, j]), np.nanmean(G[:, j]), G[:, j])
            fit = sm.OLS(Y[:, p], g).fit()
            want = fit.params[-1], fit.bse[-1], fit.pvalues[-1]
        np.testing.assert_allclose([r.beta[j, p], r.standard_error[j, p], r.p_value[j, p]], want, rtol=1e-8)
    assert (r.n[:, 0] == (~np.isnan(G)).sum(0) if mode == "drop" else r.n == len(G)).all()
