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

from edfgen.exceptions import InputError


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
    """Average precision of each row. ``[B, n] -> [B]`` (NaN where a row has no positive, no element or a NA score).

    Tied scores are one threshold (as scikit-learn): precision and recall are taken at the last
    element of each run of equal scores.
    """
    y = np.atleast_2d(y).astype(float)
    score = np.atleast_2d(score)
    if y.shape[1] == 0:   # no known value (a resample without any record of a sparsely known label)
        return np.full(y.shape[0], np.nan)
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
    ap[(n_pos[:, 0] == 0) | ~np.isfinite(score).all(axis=1)] = np.nan   # a NA score: undefined, as auroc_rows
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


def bootstrap_samples(n: int, *, n_boot: int = 1000, seed: int = 0,
                      groups: np.ndarray | None = None) -> np.ndarray | list[np.ndarray]:
    """Indices of ``n_boot`` bootstrap resamples of ``n`` observations.

    Parameters
    ----------
    n
        Observations (records).
    groups
        ``[n]`` cluster labels (e.g. patient ids). Without them, records are resampled with replacement
        (``int [n_boot, n]``). With them, whole clusters are resampled with replacement and every record
        of a drawn cluster enters the resample (the cluster bootstrap, Davison & Hinkley 1997, §3.8),
        so a patient with several ECGs never sits on both sides of the replicate-to-replicate variation;
        resamples then differ in length and are returned as a list of ``n_boot`` index arrays.

    References
    ----------
    Davison AC, Hinkley DV. Bootstrap Methods and their Application. Cambridge University Press, 1997.
    """
    rng = np.random.default_rng(seed)
    if groups is None:
        return rng.integers(0, n, size=(n_boot, n))
    groups = np.asarray(groups)
    if len(groups) != n:
        raise InputError(f"bootstrap_samples: groups has {len(groups)} entries for n={n}")
    codes = np.unique(groups, return_inverse=True)[1].ravel()
    n_groups = int(codes.max()) + 1 if n else 0
    draws = rng.integers(0, n_groups, size=(n_boot, n_groups))
    records = np.arange(n)
    # each record enters a resample as often as its cluster was drawn
    return [np.repeat(records, np.bincount(row, minlength=n_groups)[codes]) for row in draws]


def bootstrap_replicates(y: np.ndarray, score: np.ndarray, samples: np.ndarray | list[np.ndarray], *,
                         metric=auroc_rows) -> np.ndarray:
    """A metric of every label on every bootstrap resample.

    Parameters
    ----------
    y, score
        ``[n, L]`` truth (0/1, NaN = unknown) and scores of ``L`` labels.
    samples
        Resample indices from :func:`bootstrap_samples` (a matrix or a list of index arrays).
    metric
        :func:`auroc_rows` or :func:`auprc_rows`.

    Returns
    -------
    numpy.ndarray
        ``[n_boot, L]``; NaN where a label is undefined in a resample (one class only).
    """
    y = np.asarray(y, dtype=float).reshape(len(y), -1)
    score = np.asarray(score, dtype=float).reshape(len(score), -1)
    known = np.isfinite(y)
    out = np.full((len(samples), y.shape[1]), np.nan)
    if isinstance(samples, np.ndarray) and known.all():
        for j in range(y.shape[1]):          # one [n_boot, n] matrix per label
            out[:, j] = metric(y[samples, j], score[samples, j])
        return out
    for b, idx in enumerate(samples):
        yb, sb, kb = y[idx], score[idx], known[idx]
        if kb.all():
            out[b] = metric(yb.T, sb.T)
        else:
            out[b] = [metric(yb[kb[:, j], j][None], sb[kb[:, j], j][None])[0] for j in range(y.shape[1])]
    return out


#: an interval needs a finite metric on at least this many resamples per tail probability: 1 / 0.025 = 40 at
#: 95%, so that each tail of the percentile interval holds a replicate (else it is NA)
MIN_FINITE_PER_TAIL = 1.0


def percentile_ci(estimate: float, replicates: np.ndarray, *, level: float = 0.95) -> MetricCI:
    """Percentile interval of the finite ``replicates`` around ``estimate``.

    Parameters
    ----------
    estimate
        The metric on the whole sample.
    replicates
        The metric on every bootstrap resample drawn, NaN where it is undefined (a resample holding one
        class of a label). The interval is taken from the finite ones, and is NA when fewer than
        ``1 / ((1 - level) / 2)`` of them are finite (40 at 95%, :data:`MIN_FINITE_PER_TAIL`): a 2.5% tail
        of fewer replicates is no tail (10 resamples of which 1 defined a macro gave 0.1725-0.1725 around an
        estimate of 0.133).
    level
        Coverage of the interval.

    Returns
    -------
    MetricCI
        ``estimate`` and the ``(1 - level) / 2`` and ``1 - (1 - level) / 2`` percentiles (Efron & Tibshirani
        1993, ch. 13), NaN bounds when too few resamples are finite.
    """
    reps = np.asarray(replicates, dtype=float)
    finite = reps[np.isfinite(reps)]
    a = (1 - level) / 2
    enough = len(finite) > 0 and len(finite) * a >= MIN_FINITE_PER_TAIL - 1e-9
    lo, hi = (np.quantile(finite, [a, 1 - a]) if enough else (np.nan, np.nan))
    return MetricCI(float(estimate), float(lo), float(hi))
