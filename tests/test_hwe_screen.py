"""The HWE filter's screen (:func:`edfgen.kernels.qc.hwe_exact_below`) gives exactly the mask of the full
exact test (:func:`hwe_exact_p` ``< threshold``), and its bound (the observed table's probability) is
never above the exact p."""

import functools

import numpy as np
import pytest

from edfgen.kernels.qc import (QCSettings, _hwe_table_of, hwe_exact_below, hwe_exact_p, hwe_log_prob_observed,
                               variant_qc_mask)


@functools.cache
def _genotype_counts(M: int = 3000, seed: int = 1):
    """Genotype counts from samples in HWE and out of it (inbreeding -0.1..0.5), 0..3000 called, any frequency."""
    rng = np.random.default_rng(seed)
    n = rng.integers(0, 3000, M)
    f = rng.uniform(0, 1, M)
    inb = rng.choice([0.0, 0.0, 0.02, 0.1, 0.5, -0.1], M)
    p_aa = np.clip(f ** 2 + inb * f * (1 - f), 0, 1)
    p_ab = np.clip(2 * f * (1 - f) * (1 - inb), 0, 1)
    pr = np.c_[p_aa, p_ab, np.clip(1 - p_aa - p_ab, 0, 1)]
    pr /= pr.sum(1, keepdims=True)
    return np.array([rng.multinomial(k, q) for k, q in zip(n, pr)]).T


@pytest.mark.parametrize("threshold", [1e-50, 1e-6, 1e-3, 1e-2, 0.05])
def test_hwe_exact_below__same_mask_as_the_full_exact_test(threshold):
    a, b, c = _genotype_counts()
    full = hwe_exact_p(a, b, c) < threshold
    assert 50 < full.sum() < len(a) - 50              # both sides of the threshold are exercised
    np.testing.assert_array_equal(hwe_exact_below(a, b, c, threshold), full)


def test_hwe_exact_below__thresholds_at_the_p_values_themselves():
    """Thresholds equal to (and one ulp above) observed exact p-values: the strict ``<`` is kept at the tie."""
    a, b, c = _genotype_counts(2000, seed=2)
    p = hwe_exact_p(a, b, c)
    for t in np.sort(p[(p > 0) & (p < 1e-2)])[::97]:
        for thr in (t, np.nextafter(t, 1.0)):
            np.testing.assert_array_equal(hwe_exact_below(a, b, c, thr), p < thr)


def test_observed_probability_closed_form_matches_the_null_table():
    """The screen's closed form is the observed table's probability in the null distribution that
    :func:`_hwe_table_of` builds by enumeration (relative 1e-9), and at most the exact p."""
    from scipy.special import gammaln
    for n, n_rare in [(1, 1), (7, 3), (100, 37), (2000, 999), (1939, 1938)]:
        h = np.arange(n_rare % 2, n_rare + 1, 2)
        hom_r = (n_rare - h) // 2
        hom_c = n - h - hom_r
        logp = h * np.log(2.0) - gammaln(h + 1) - gammaln(hom_r + 1) - gammaln(hom_c + 1)
        enum = np.exp(logp - np.logaddexp.reduce(logp))
        closed = np.exp(hwe_log_prob_observed(hom_c, h, hom_r))          # the screen's own closed form
        np.testing.assert_allclose(closed, enum, rtol=1e-9)
        assert (_hwe_table_of(n, n_rare, False) >= closed * (1 - 1e-9)).all()


def test_variant_qc_mask__hwe_step_unchanged():
    """The QC step counts (and the kept variants) are those of the exact test on every variant."""
    a, b, c = _genotype_counts(2000, seed=3)
    n_called = a + b + c
    s = QCSettings(maf=0.0, call_rate=0.0, hwe_p=1e-6)
    keep, steps = variant_qc_mask(n_called, b, c, int(n_called.max()), s)
    expect = hwe_exact_p(a, b, c) >= 1e-6              # no call rate or MAF filter: only HWE removes
    np.testing.assert_array_equal(keep, expect)
    assert steps[-1].removed == int((~expect).sum()) > 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8])
def test_hard_call_counts_equal_counting_hard_calls(dtype):
    """The cache-sized counting gives the counts of :func:`hard_calls` exactly, at the limit's edges too."""
    from edfgen.kernels.qc import HARD_CALL_LIMIT, hard_call_counts, hard_calls
    rng = np.random.default_rng(5)
    edges = []
    for v in (0.0, 1.0, 2.0):
        for s in (-1, 1):
            x = dtype(v + s * HARD_CALL_LIMIT) if dtype != np.int8 else dtype(v)
            edges += [x, np.nextafter(x, dtype(v)) if dtype != np.int8 else x,
                      np.nextafter(x, dtype(v + 3 * s)) if dtype != np.int8 else x]
    d = (rng.integers(0, 511, size=(3001, 300)) / 255).astype(dtype) if dtype != np.int8 else \
        rng.integers(0, 3, size=(3001, 300)).astype(np.int8)
    d[:len(edges), :] = np.array(edges, dtype=dtype)[:, None]
    if dtype != np.int8:
        d[rng.random(d.shape) < 0.05] = np.nan
    else:
        d[rng.random(d.shape) < 0.05] = -127                   # the int8 missing code
    g = hard_calls(d.astype(np.float64) if dtype == np.int8 else d)
    want = [np.count_nonzero(g == v, axis=0) for v in (0, 1, 2)]
    got = hard_call_counts(d)
    assert all(np.array_equal(a, b) for a, b in zip(got, want))
    assert sum(w.sum() for w in want) < d.size                 # edges outside the limit and missing: no call
