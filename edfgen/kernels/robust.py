"""Robust spread: the SD of a normal sample estimated from its median absolute deviation."""

from __future__ import annotations

import numpy as np

#: the normal-consistency factor of the MAD as R's ``mad()`` writes it (1/Phi^-1(3/4) = 1.482602..., rounded)
MAD_NORMAL = 1.4826


def robust_sd(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``1.4826 x`` the median absolute deviation of ``x`` along ``axis`` (R's ``mad()``): a standard deviation that
    a minority of outlying samples (spikes, a clipped run) does not move.

    Parameters
    ----------
    x
        Samples; computed in ``x``'s own floating type (float32 stays float32).
    axis
        The axis reduced.

    Returns
    -------
    ``x`` without ``axis`` (a numpy scalar for 1-D ``x``).
    """
    return MAD_NORMAL * np.median(np.abs(x - np.median(x, axis=axis, keepdims=True)), axis=axis)
