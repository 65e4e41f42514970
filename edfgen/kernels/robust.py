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
    ``x`` without ``axis`` (a numpy scalar for 1-D ``x``); NaN where ``axis`` is empty (R's NA; numpy warned).
    """
    x = np.asarray(x)
    if x.shape[axis] == 0:
        return np.full(np.delete(x.shape, axis), np.nan)[()]
    return MAD_NORMAL * np.median(np.abs(x - np.median(x, axis=axis, keepdims=True)), axis=axis)


def sample_sd(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """The sample standard deviation (``ddof=1``) of ``x`` along ``axis``, as R's ``sd()``: NaN where ``axis``
    holds fewer than 2 values (R's NA), where numpy warns "Degrees of freedom <= 0 for slice".

    Parameters
    ----------
    x
        Samples.
    axis
        The axis reduced.

    Returns
    -------
    ``x`` without ``axis`` (a numpy scalar for 1-D ``x``).
    """
    x = np.asarray(x, dtype=float)
    if x.shape[axis] < 2:
        return np.full(np.delete(x.shape, axis), np.nan)[()]
    return np.std(x, axis=axis, ddof=1)
