"""Is there a P wave to time? A rhythm gate for the delineator's P onset (atrial fibrillation / flutter).

In atrial fibrillation there is no P wave: the fibrillation (f) waves before each QRS are not locked to it,
and the ventricular rhythm is irregularly irregular. The delineator's P onset (the largest deflection before
the QRS of the median beat, :mod:`edfgen.kernels.ecg.biomarkers`) then times whatever residue of the f waves
survives the median, and PR comes out 150-320 ms (review s32g: LUDB 38, 83, 88, 96, CinC A1041). A record has
**no consistent P wave** when both hold:

1. **Irregular RR** (:func:`rr_irregularity`): at least ``p_rr_irregular`` (45 %) of the successive RR
   differences exceed 10 % of the median RR interval (sinus rhythm, sinus arrhythmia included: median 0 %).
2. **Inconsistent atrial activity** (:func:`p_consistency`): the median over beats of the correlation of each
   beat's P window (8 independent leads stacked, each lead centred) with the median beat's is below
   ``p_min_consistency`` (0.7). A P wave is the same wave on every beat (sinus median 0.88); f waves differ.

Both are needed: premature beats make a sinus RR irregular but often keep most P waves alike (CinC HR08883), and a noisy
sinus P window correlates poorly on a regular rhythm. The thresholds were read off the labelled real records
in ``shared/data/ecg`` (LUDB 1-100 rhythm, CinC 2021 SNOMED 164889003 / 164890007 and the sinus labels
426783006, 426177001, 427084000, 427393009), so these figures are in-sample: of 23 AF and flutter records, 20
have no PR (8 before the gate); of 198 sinus records, 188 had a PR and 4 lose it (LUDB 22, CinC JS20004,
JS20014, JS20052: sinus with premature atrial beats, whose P waves differ and whose RR is irregular). On LUDB's
cardiologists (``benchmarks/ludb_delineation.py``, same fold settings) the held-out PR error is unchanged
(median absolute 5.75 -> 5.5 ms; records given a PR that has none: 7 -> 3; sinus records without one: 1 -> 2).

Limits: atrial flutter with a fixed conduction ratio (2:1, 4:1) has a regular RR and flutter waves locked to
the QRS, so it passes both tests and its PR is a flutter wave's (LUDB 52, CinC JS09740); so does atrial
fibrillation with a regular (paced or escape) ventricular rhythm (LUDB 93).
"""

from __future__ import annotations

import numpy as np

__all__ = ["PR_MISSING_REASONS", "REASON_COLUMN", "has_consistent_p_wave", "p_consistency", "rr_irregularity"]

#: Why ``pr_interval_ms`` is NaN: the values of the text column :data:`REASON_COLUMN` (``""`` when a PR was
#: measured). A rhythm without a P wave to time is not a measurement that failed.
PR_MISSING_REASONS: dict[str, str] = {
    "irregular_rhythm": "irregular RR and P windows unlike from beat to beat: atrial fibrillation (no P wave)",
    "p_window_too_short": "less than 40 ms between the T end (or the earliest P search) and the QRS onset: a fast "
                          "rate, the P wave hidden in the T wave",
    "no_p_wave": "the P window was searched and no lead held a timeable P wave (>= 0.03 mV, not at the window's edge)",
    "no_median_beat": "no interval measured: fewer than two R peaks, no complete beat or no QRS onset/offset "
                      "(a flat or very noisy record)",
    "sampling_rate": "no interval measured: sampled below the delineator's MIN_INTERVAL_FS (90 Hz)",
}

#: The text column :func:`edfgen.kernels.ecg.biomarkers.measure_biomarkers` adds after its ``BIOMARKER_COLUMNS``.
REASON_COLUMN: str = "pr_missing_reason"


def rr_irregularity(r_peaks: np.ndarray) -> float:
    """Fraction of successive RR differences larger than 10 % of the median RR (0 with fewer than 3 peaks).

    Parameters
    ----------
    r_peaks
        Sorted R-peak sample indices of the record.

    Returns
    -------
    float
        In [0, 1]; atrial fibrillation about 0.5-1, sinus rhythm about 0.

    Examples
    --------
    >>> rr_irregularity(np.array([0, 500, 1000, 1500, 2000]))
    0.0
    """
    rr = np.diff(np.asarray(r_peaks, dtype=float))
    if len(rr) < 2:
        return 0.0
    return float(np.mean(np.abs(np.diff(rr)) > 0.1 * np.median(rr)))


def p_consistency(beats: np.ndarray, window: tuple[int, int]) -> float:
    """Median over beats of the correlation of each beat's P window with the median beat's.

    Parameters
    ----------
    beats
        ``[L, B, W]`` the beats (leads, beats, samples) whose median is the median beat.
    window
        ``(lo, hi)`` indices of the P window on the beat axis.

    Returns
    -------
    float
        Pearson correlation of the stacked leads (each lead centred in the window), median over beats; NaN
        for a flat window.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = np.sin(np.linspace(0, np.pi, 40))
    >>> same = np.tile(p, (2, 9, 1)) + 0.05 * rng.standard_normal((2, 9, 40))
    >>> bool(p_consistency(same, (0, 40)) > 0.9), bool(p_consistency(rng.standard_normal((2, 9, 40)), (0, 40)) < 0.5)
    (True, True)
    """
    seg = np.asarray(beats, dtype=float)[:, :, window[0]:window[1]]
    seg = seg - seg.mean(axis=2, keepdims=True)
    med = np.median(seg, axis=1)                                        # [L, w]
    num = np.einsum("lbw,lw->b", seg, med)
    den = np.sqrt((seg ** 2).sum(axis=(0, 2)) * (med ** 2).sum())
    return float(np.median(num / den)) if np.all(den > 0) else float("nan")


def has_consistent_p_wave(r_peaks: np.ndarray, beats: np.ndarray, window: tuple[int, int], *,
                          rr_irregular: float, min_consistency: float) -> bool:
    """False when the RR is irregular (:func:`rr_irregularity` at least ``rr_irregular``) and the P windows
    of the beats are not alike (:func:`p_consistency` below ``min_consistency``): no P wave to time
    (module docstring)."""
    if rr_irregularity(r_peaks) < rr_irregular:
        return True
    return bool(p_consistency(beats, window) >= min_consistency)
