"""Scoring a delineator against annotated wave boundaries (cardiologists' onsets and offsets per lead).

Annotations follow the WFDB convention of LUDB (Kalyakulina et al. 2020): per lead, each wave is a
triple ``(`` onset, peak symbol (``p`` P wave, ``N`` QRS, ``t`` T wave), ``)`` offset.

* :func:`wave_table` turns one lead's annotation into a table of waves.
* :func:`global_reference` forms each beat's **global** boundaries across the leads: by default the median
  over the leads annotated of each boundary (robust to one lead's marks), or the earliest P and QRS onset and
  latest QRS and T offset (the convention for global intervals, IEC 60601-2-25; Willems et al., CSE 1985, but
  with 12 separately marked leads it collects every lead's scatter: on LUDB records 1-100 it makes the median
  QRS 30 ms and QT 45 ms longer than the median over leads); :func:`reference_intervals` gives the record's
  PR, QRS and QT as the median over beats.
* :func:`match_boundaries` matches detected to annotated boundaries within a tolerance window (150 ms in
  the LUDB paper and the neurokit2 delineation benchmarks): true positives with their errors, false
  negatives (annotated, nothing detected) and false positives (detected inside the annotated span,
  nothing annotated), from which sensitivity ``TP / (TP + FN)`` and positive predictive value
  ``TP / (TP + FP)`` follow (Martínez et al. 2004).

References
----------
Kalyakulina AI et al. LUDB: a new open-access validation tool for electrocardiogram delineation
algorithms. IEEE Access 2020;8:186181-186190. doi:10.1109/ACCESS.2020.3029211.
Martínez JP, Almeida R, Olmos S, Rocha AP, Laguna P. A wavelet-based ECG delineator: evaluation on
standard databases. IEEE Trans Biomed Eng 2004;51:570-581. doi:10.1109/TBME.2003.821031.
Willems JL et al. Assessment of the performance of electrocardiographic computer programs with the use
of a reference data base (CSE). Circulation 1985;71:523-534. doi:10.1161/01.CIR.71.3.523.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

__all__ = ["BOUNDARIES", "Matches", "global_reference", "match_boundaries", "reference_intervals", "wave_table"]

#: Boundaries scored: (name, wave, side) with wave in {"p", "qrs", "t"} and side in {"onset", "offset"}.
BOUNDARIES: tuple[tuple[str, str, str], ...] = (
    ("p_on", "p", "onset"), ("p_off", "p", "offset"), ("qrs_on", "qrs", "onset"),
    ("qrs_off", "qrs", "offset"), ("t_off", "t", "offset"),
)
_WAVE = {"p": "p", "N": "qrs", "t": "t"}


def wave_table(samples: Sequence[int], symbols: Sequence[str]) -> pd.DataFrame:
    """Waves of one lead's annotation: columns ``wave`` (``p``/``qrs``/``t``), ``onset``, ``peak``, ``offset``
    (samples; NaN where the peak has no ``(`` just before or ``)`` just after it)."""
    samples = np.asarray(samples, dtype=float)
    rows = []
    for i, sym in enumerate(symbols):
        if sym not in _WAVE:
            continue
        on = samples[i - 1] if i > 0 and symbols[i - 1] == "(" else np.nan
        off = samples[i + 1] if i + 1 < len(symbols) and symbols[i + 1] == ")" else np.nan
        rows.append((_WAVE[sym], on, samples[i], off))
    return pd.DataFrame(rows, columns=["wave", "onset", "peak", "offset"])


def global_reference(tables: Sequence[pd.DataFrame], fs: float, gap_s: float = 0.15,
                     how: str = "median") -> pd.DataFrame:
    """Per-beat global boundaries over the leads' wave tables (:func:`wave_table`).

    QRS complexes of all leads whose peaks lie within ``gap_s`` of each other form one beat; its T wave is
    every lead's T wave peaking between its QRS and the next beat's, its P wave every P wave peaking between
    the previous beat's QRS and its own. Returns one row per beat: ``r`` (median QRS peak), ``p_on``,
    ``p_off``, ``qrs_on``, ``qrs_off``, ``t_off`` (samples; NaN where no lead has the wave or boundary):
    ``how="extreme"``: earliest onsets and latest offsets over the leads; ``how="median"``: the median over
    the leads of each boundary.
    """
    if how not in ("extreme", "median"):
        raise ValueError(f"global_reference: how must be 'extreme' or 'median', got {how!r}")
    first = "min" if how == "extreme" else "median"
    last = "max" if how == "extreme" else "median"
    waves = pd.concat(list(tables), ignore_index=True) if len(tables) else wave_table([], [])
    qrs = waves[waves.wave == "qrs"].sort_values("peak")
    if qrs.empty:
        return pd.DataFrame(columns=["r", "p_on", "p_off", "qrs_on", "qrs_off", "t_off"])
    beat_id = np.concatenate([[0], np.cumsum(np.diff(qrs.peak.to_numpy()) > gap_s * fs)])
    g = qrs.groupby(beat_id)
    out = pd.DataFrame({"r": g.peak.median(), "qrs_on": g.onset.agg(first), "qrs_off": g.offset.agg(last)})
    r = out.r.to_numpy()
    nxt = np.append(r[1:], np.inf)
    prv = np.insert(r[:-1], 0, -np.inf)
    p_on, p_off, t_off = (np.full(len(out), np.nan) for _ in range(3))
    pw, tw = waves[waves.wave == "p"], waves[waves.wave == "t"]
    for k in range(len(out)):
        tk = tw[(tw.peak > r[k]) & (tw.peak < nxt[k])]
        pk = pw[(pw.peak > prv[k]) & (pw.peak < r[k])]
        t_off[k] = tk.offset.agg(last) if len(tk) else np.nan
        p_on[k] = pk.onset.agg(first) if len(pk) else np.nan
        p_off[k] = pk.offset.agg(last) if len(pk) else np.nan
    out["p_on"], out["p_off"], out["t_off"] = p_on, p_off, t_off
    return out[["r", "p_on", "p_off", "qrs_on", "qrs_off", "t_off"]].reset_index(drop=True)


def reference_intervals(beats: pd.DataFrame, fs: float) -> dict[str, float]:
    """Record PR, QRS and QT (ms): medians over the beats of :func:`global_reference` that have both ends
    (PR NaN when no beat has a P wave, e.g. atrial fibrillation)."""
    ms = 1000.0 / fs

    def med(x: pd.Series) -> float:
        x = x.dropna()
        return float(x.median() * ms) if len(x) else float("nan")

    return {"pr_interval_ms": med(beats.qrs_on - beats.p_on),
            "qrs_duration_ms": med(beats.qrs_off - beats.qrs_on),
            "qt_interval_ms": med(beats.t_off - beats.qrs_on)}


@dataclass(frozen=True)
class Matches:
    """Detected vs annotated boundaries: ``errors`` (detected − annotated, samples, one per true positive),
    ``false_negatives``, ``false_positives``."""

    errors: np.ndarray
    false_negatives: int
    false_positives: int


def match_boundaries(detected: np.ndarray, annotated: np.ndarray, tolerance: float,
                     span: tuple[float, float] | None = None) -> Matches:
    """One-to-one matching of ``detected`` to ``annotated`` sample positions, closest pairs first, each pair
    within ``tolerance`` samples. Detections outside ``span`` (widened by ``tolerance``; default: the range of
    the annotations) are ignored: they lie where nobody annotated."""
    det = np.asarray(detected, dtype=float)
    ann = np.asarray(annotated, dtype=float)
    det, ann = det[np.isfinite(det)], ann[np.isfinite(ann)]
    if span is None:
        span = (ann.min(), ann.max()) if len(ann) else (np.inf, -np.inf)
    det = det[(det >= span[0] - tolerance) & (det <= span[1] + tolerance)]
    if len(det) == 0 or len(ann) == 0:
        return Matches(np.zeros(0), len(ann), len(det))
    dist = np.abs(det[:, None] - ann[None, :])
    i, j = np.nonzero(dist <= tolerance)
    order = np.argsort(dist[i, j], kind="stable")
    used_d, used_a, errors = set(), set(), []
    for k in order:
        if i[k] in used_d or j[k] in used_a:
            continue
        used_d.add(i[k])
        used_a.add(j[k])
        errors.append(det[i[k]] - ann[j[k]])
    tp = len(errors)
    return Matches(np.asarray(errors, dtype=float), len(ann) - tp, len(det) - tp)
