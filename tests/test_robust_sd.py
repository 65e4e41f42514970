"""The one robust SD (1.4826 x MAD) that the ECG lead checks and the MR mode-based estimator share."""

from __future__ import annotations

import numpy as np
from scipy import stats

from edfgen.kernels.robust import robust_sd


def test_robust_sd__equals_scipys_mad_scaled_as_r_does_and_keeps_float32():
    rng = np.random.default_rng(3)
    x = rng.standard_t(3, size=(12, 1001)).astype(np.float32)
    x[2, :40] = 50.0                                  # a clipped run: the robust SD barely moves
    ref = stats.median_abs_deviation(x.astype(np.float64), axis=1, scale=1 / 1.4826)   # scipy: MAD / scale
    got = robust_sd(x, axis=1)
    assert got.dtype == np.float32 and got.shape == (12,)
    np.testing.assert_allclose(got, ref, rtol=1e-6)
    row = robust_sd(x[5])                             # a 1-D lead: a scalar of its own type
    assert np.ndim(row) == 0 and row.dtype == np.float32 and row == got[5]
    assert robust_sd(np.full(9, 2.0)) == 0.0
