"""Wave boundaries of a median beat (:mod:`edfgen.kernels.ecg.biomarkers`, steps 3-4 of its method): QRS onset and
offset where the spatial velocity falls quiet (a late R' counted as QRS), and, by the trapezium-area method (Zhang et
al. 2005) per lead and on the spatial magnitude, the T end after the T peak and the P onset mirrored before the P
peak."""

from __future__ import annotations

import numpy as np

__all__: list[str] = []


def _trapezium_end(y: np.ndarray, peak: np.ndarray, stop: np.ndarray, *, reach: int, floor: int) -> np.ndarray:
    """Wave end after ``peak`` on every lead of ``y`` ``[L, W]`` by the trapezium-area method.

    ``y`` is signed so that each lead's wave is positive at its ``peak`` (``[L]`` indices). With
    ``m`` the steepest descent within ``reach`` after the peak (and before ``stop``, ``[L]``), the reference point
    ``r = max(peak + reach, m + floor)`` (at most ``stop``), the end is the ``t`` in ``[m, r]``
    maximising the trapezium area ``(y[m] - y[t]) * (2 r - t - m)`` (Zhang et al. 2005). Returns
    ``[L]`` float indices (NaN where the wave does not descend).
    """
    n_leads, w = y.shape
    rows = np.arange(n_leads)
    out = np.full(n_leads, np.nan)
    d = np.gradient(y, axis=1)
    idx = np.arange(w)[None, :]
    stop = np.asarray(stop)[:, None]
    near = (idx >= peak[:, None]) & (idx <= np.minimum(peak[:, None] + reach, stop))
    m = np.argmin(np.where(near, d, np.inf), axis=1)                      # steepest descent
    ok = d[rows, m] < 0
    r = np.minimum(np.maximum(m + floor, peak + reach), stop[:, 0]).astype(int)[:, None]
    area = (y[rows, m][:, None] - y) * (2 * r - idx - m[:, None])
    area = np.where((idx >= m[:, None]) & (idx <= r), area, -np.inf)
    out[ok] = np.argmax(area, axis=1)[ok]
    return out


def _wave_bounds(beat: np.ndarray, lo: int, hi: int, *, min_mv: float, rel: float, reach: int,
                 floor: int, reverse: bool, edge: int | None = None,
                 peak_from: int | None = None, peak_until: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-lead end (``reverse=False``: after the peak, e.g. T end) or onset (``reverse=True``:
    before the peak, e.g. P onset) of the largest deflection of ``beat[:, lo:hi]``.

    A lead is timed when its deflection reaches ``min_mv`` and ``rel`` times the largest lead's and
    its peak lies at least ``edge`` (default ``2 * floor``) samples inside the far edge of the window;
    returns (``[L]`` float indices, NaN for untimed leads; ``[L]`` deflection sizes in mV). ``peak_from``: the peak
    is sought from this index on (``reverse``: the P wave after a U wave), ``peak_until`` up to this one (the T wave
    before a U wave); the bound within the whole window.
    """
    seg = beat[:, lo:hi]
    if reverse:
        seg = seg[:, ::-1]
    near = np.abs(seg)
    at = hi - 1 - np.arange(seg.shape[1]) if reverse else lo + np.arange(seg.shape[1])    # index into beat
    if peak_from is not None and peak_from > lo:
        near = np.where(at < peak_from, 0.0, near)
    if peak_until is not None and peak_until < hi:
        near = np.where(at > peak_until, 0.0, near)
    pk = np.argmax(near, axis=1)
    amp = np.abs(seg[np.arange(len(seg)), pk])
    sgn = np.sign(seg[np.arange(len(seg)), pk])
    sgn[sgn == 0] = 1.0
    end = _trapezium_end(seg * sgn[:, None], pk, np.full(len(seg), seg.shape[1] - 1), reach=reach, floor=floor)
    keep = (amp >= min_mv) & (amp >= rel * amp.max()) if amp.max() > 0 else np.zeros(len(amp), bool)
    keep &= pk < seg.shape[1] - 1 - (2 * floor if edge is None else edge)  # at the far edge: another wave's tail
    end[~keep] = np.nan
    end = (hi - 1 - end) if reverse else (lo + end)
    return end, amp


def _lead_and_global_bounds(beat: np.ndarray, mag8: np.ndarray, lo: int, hi: int, *, min_mv: float, rel: float,
                            reach: int, floor: int, reverse: bool, edge: int | None = None,
                            peak_from: int | None = None, peak_until: int | None = None) -> tuple[np.ndarray, float]:
    """Per-lead bounds of a wave in ``beat[:, lo:hi]`` (:func:`_wave_bounds`) and the one global bound on
    the spatial magnitude ``mag8`` ``[1, T]`` of the independent leads (``rel = 0``: it is one trace)."""
    per_lead, _ = _wave_bounds(beat, lo, hi, min_mv=min_mv, rel=rel, reach=reach, floor=floor, reverse=reverse,
                               edge=edge, peak_from=peak_from, peak_until=peak_until)
    whole = _wave_bounds(mag8, lo, hi, min_mv=min_mv, rel=0.0, reach=reach, floor=floor, reverse=reverse,
                         edge=edge, peak_from=peak_from, peak_until=peak_until)[0][0]
    return per_lead, float(whole)


def _quiet_run(mask: np.ndarray, start: int, stop: int, step: int, hold: int) -> int | None:
    """First index from ``start`` towards ``stop`` (exclusive) where ``mask`` holds for ``hold`` samples."""
    run = 0
    for i in range(start, stop, step):
        run = run + 1 if mask[i] else 0
        if run >= hold:
            return i - step * (hold - 1)
    return None


def _velocity_threshold(beat: np.ndarray, r: int, fs: float, rel: float) -> tuple[np.ndarray, float]:
    """Spatial velocity of ``beat`` (mV/s) and ``rel`` of its QRS maximum above its noise floor."""
    sv = np.sqrt((np.gradient(beat, axis=1) ** 2).sum(0)) * fs          # mV/s
    win = int(0.08 * fs)
    peak = sv[max(0, r - win):r + win].max()
    floor = np.quantile(sv, 0.1)
    return sv, floor + rel * (peak - floor)


def _qrs_bounds(beat: np.ndarray, r: int, fs: float, rel: float = 0.06, hold_s: float = 0.008, *,
                rejoin_rel: float | None = None, rejoin_s: float = 0.0) -> tuple[int | None, int | None]:
    """QRS onset and offset (indices into the median beat) from its spatial velocity: where it stays
    below ``rel`` of its QRS maximum (above the noise floor) for ``hold_s`` seconds; a deflection above ``rejoin_rel``
    of it for ``hold_s`` within ``rejoin_s`` after the offset (a late R') is QRS: the offset is sought after it."""
    sv, thr = _velocity_threshold(beat, r, fs, rel)
    quiet = sv < thr
    hold = max(2, int(hold_s * fs))
    stop = min(len(sv), r + int(0.2 * fs))
    on = _quiet_run(quiet, r, max(hold, r - int(0.2 * fs)), -1, hold)
    off = _quiet_run(quiet, r, stop, 1, hold)
    if rejoin_rel is not None:
        loud = sv >= _velocity_threshold(beat, r, fs, rejoin_rel)[1]
        while off is not None and (late := _quiet_run(loud, off, min(stop, off + int(rejoin_s * fs)), 1, hold)):
            if (nxt := _quiet_run(quiet, late, stop, 1, hold)) is None:   # loud up to R + 200 ms: keep the offset
                break
            off = nxt
    return on, off


def _paced_qrs_onset(beat: np.ndarray, r: int, fs: float, stimulus: float, rel: float) -> int | None:
    """QRS onset of a paced beat: the first sample after the removed stimulus artefact (stimulus + 8 ms,
    :func:`edfgen.kernels.ecg.pacing.remove_spikes`) where the spatial velocity reaches ``rel`` of its QRS
    maximum (above the noise floor); ``None`` when it does not before the R peak."""
    sv, thr = _velocity_threshold(beat, r, fs, rel)
    start = max(0, int(stimulus) + round(0.008 * fs) + 1)
    above = np.flatnonzero(sv[start:r] >= thr)
    return int(start + above[0]) if len(above) else None
