"""Classification metrics with vectorised bootstrap confidence intervals.

AUROC is the Mann-Whitney statistic computed from average ranks (ties count one half); AUPRC is
average precision (``sum_k (R_k - R_{k-1}) P_k`` over distinct thresholds, as scikit-learn's
``average_precision_score``). Bootstrap replicates are rows of an index matrix, and every replicate
is scored at once with array operations (no Python loop over replicates).

References
----------
Hanley JA, McNeil BJ. The meaning and use of the area under a ROC curve. Radiology 1982;143:29-36.
PMID 7063747.
Efron B, Tibshirani RJ. An Introduction to the Bootstrap. Chapman & Hall, 1993 (percentile intervals).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata


def auroc_rows(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """AUROC of each row. ``y, score [B, n]`` (y binary) -> ``[B]`` (NaN where a row has one class)."""
    y = np.atleast_2d(y).astype(bool)
    score = np.atleast_2d(score)
    ranks = rankdata(score, axis=1)  # average ranks for ties
    n_pos = y.sum(axis=1)
    n_neg = y.shape[1] - n_pos
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y).sum(axis=1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    return auc


def auprc_rows(y: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Average precision of each row. ``[B, n] -> [B]`` (NaN where a row has no positive).

    Tied scores are one threshold (as scikit-learn): precision and recall are taken at the last
    element of each run of equal scores.
    """
    y = np.atleast_2d(y).astype(float)
    score = np.atleast_2d(score)
    order = np.argsort(-score, axis=1, kind="stable")
    ys = np.take_along_axis(y, order, axis=1)
    ss = np.take_along_axis(score, order, axis=1)
    tp = np.cumsum(ys, axis=1)
    k = np.arange(1, y.shape[1] + 1)
    precision = tp / k
    n_pos = tp[:, -1:]
    # a threshold ends where the next score differs (or at the end)
    last = np.ones_like(ss, dtype=bool)
    last[:, :-1] = ss[:, :-1] != ss[:, 1:]
    recall = np.where(n_pos > 0, tp / np.maximum(n_pos, 1), 0.0)
    # recall increment between consecutive thresholds
    rec_at = np.where(last, recall, np.nan)
    prev = np.concatenate([np.zeros((y.shape[0], 1)), rec_at[:, :-1]], axis=1)
    prev = _ffill(prev)
    inc = np.where(last, recall - prev, 0.0)
    ap = (inc * precision).sum(axis=1)
    ap[n_pos[:, 0] == 0] = np.nan
    return ap


def _ffill(a: np.ndarray) -> np.ndarray:
    """Forward-fill NaNs along axis 1 (first column must be finite)."""
    idx = np.where(np.isnan(a), 0, np.arange(a.shape[1]))
    np.maximum.accumulate(idx, axis=1, out=idx)
    return np.take_along_axis(a, idx, axis=1)


@dataclass(frozen=True)
class MetricCI:
    """A point estimate and its bootstrap percentile interval."""

    estimate: float
    lower: float
    upper: float


def bootstrap_metrics(y: np.ndarray, score: np.ndarray, *, n_boot: int = 1000, level: float = 0.95,
                      seed: int = 0) -> dict[str, MetricCI]:
    """AUROC and AUPRC of one binary label with percentile bootstrap CIs (participants resampled).

    Parameters
    ----------
    y
        ``[n]`` binary truth.
    score
        ``[n]`` predicted scores.
    n_boot
        Bootstrap replicates (scored at once as a ``[n_boot, n]`` matrix).

    Returns
    -------
    dict
        ``{"auroc": MetricCI, "auprc": MetricCI}``; replicates with one class are dropped.
    """
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(y), size=(n_boot, len(y)))
    out = {}
    a = (1 - level) / 2
    for name, fn in (("auroc", auroc_rows), ("auprc", auprc_rows)):
        est = float(fn(y[None], score[None])[0])
        reps = fn(y[idx], score[idx])
        reps = reps[np.isfinite(reps)]
        lo, hi = (np.quantile(reps, [a, 1 - a]) if len(reps) else (np.nan, np.nan))
        out[name] = MetricCI(est, float(lo), float(hi))
    return out
