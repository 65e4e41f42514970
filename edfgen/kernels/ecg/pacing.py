"""Pacemaker stimulus artefacts: per-record detection on the raw signal, and their removal before filtering.

A pacing stimulus is recorded as a spike far narrower than any cardiac wave (well under 4 ms at the surface,
1-2 samples at 500 Hz; bipolar stimuli are smaller than unipolar ones), on many leads at the same instant,
recurring at a fixed lag before the complexes it paces. Low-passed at 40 Hz (the delineator's median beat), a
spike rings into a slow wave some 10-20 ms before the paced QRS, and the spatial-velocity QRS onset is then
placed on the ringing instead of on the QRS (LUDB paced records: QRS onsets 50-100 ms early).

Method
------
1. **Spike candidates** (:func:`spike_candidates`), per independent lead (I, II, V1-V6) and sample ``t``, with
   ``base = x[t - 6 ms]`` and ``dev = x[t] - base``: ``|dev| >= min_mv`` (0.1 mV); an abrupt leading edge,
   ``|x[t - 4 ms] - base| <= 0.3 |dev|`` and ``|x[t - 2 ms] - base| <= 0.5 |dev|`` (most of the jump within
   2 ms: one sample at 500 Hz, two at 1 kHz); a quick return, ``|x[t + 6 ms] - base| <= 0.5 |dev|``; and ``t`` the largest ``|dev|`` within
   +-4 ms. Below 375 Hz, where 4 ms is one sample, a stimulus that falls between two samples is split over
   ``t - 1`` and ``t`` and fails the leading-edge test at ``t - 1``; there the leading edge may instead be a
   stimulus split over two samples: ``x[t - 1]`` on the same side of ``base`` as ``x[t]`` and back within
   ``0.3 |dev|`` at ``t + 1`` (LUDB 74 and 95 decimated to 250 Hz one sample off, or to 257 Hz: found, as at
   500 Hz; none of 586 unpaced real records flagged at 250, 257, 300 or 360 Hz, either sample offset:
   ``benchmarks/results/pacing_coarse_rates.md``). A sharp R, S or notch builds up over several samples and
   fails the leading-edge tests. Also a
   candidate: the steepest sample within +-4 ms of a slope of at least :data:`STEEP_MV_S` (a stimulus that the
   recorder's filter turned into a +-10 mV ringing, as in Chapman-Shaoxing records). Instants where at least
   ``min_leads`` (2) leads have a candidate within 2 ms of each other are merged into one (the median sample).
2. **Record decision** (:func:`detect_pacing`): each candidate's lag before the next R peak (16-400 ms: a
   stimulus precedes its QRS, atrial stimuli included); the record is paced when, for some lag (+-6 ms),
   candidates precede at least ``min_beat_fraction`` (40 %) of the R peaks and at least 3 of them (40 %, not
   50 %: a demand pacemaker in atrial fibrillation paces only the slow beats, LUDB 95: 45 %), *and* that many
   is beyond chance: with the record's own density of candidates over the lag range, the binomial probability
   of so many beats having one in some lag window (Bonferroni over the windows) is below ``alpha`` (0.01), and
   the train's lag window holds at least twice as many as the median window. Noise (many candidates per
   beat, at no fixed lag) and spikes periodic at their own rate (mains-synchronous, 50/60 Hz) thus do not
   trigger, while a stimulus train stands out at one lag. Records sampled below ``min_fs`` (250 Hz) are
   never flagged: their samples are too coarse to resolve a stimulus (PTB-XL's 100 Hz records).
3. **Removal** (:func:`remove_spikes`): in a paced record every candidate's samples from ``t - 4 ms`` to
   ``t + 8 ms``, at least 4 samples after it (16 ms at 250 Hz: the spike and its fast recharge; widened over a
   ringing) are replaced by the straight line
   between the samples that bound them, on all leads, before any filtering. The delineator then times the
   QRS onset where the complex leaves the baseline after the ventricular stimulus
   (:attr:`Pacing.ventricular_lag_s`; :class:`edfgen.kernels.ecg.biomarkers.DelineationSettings`
   ``paced_qrs_on_rel``).

Limits: bipolar stimuli of 0.05 mV or less (LUDB 90) are below ``min_mv`` and not detected; at 250-257 Hz 2-3 of
the 7 LUDB paced records found at 500 Hz are missed (8 wherever the samples fall; 45, 72 or 93 depending on it:
a 4-ms sample blurs the leading edge); under heavy synthetic artefact a few
unpaced records are still flagged (314 real records: 0.05 mV white noise 2, 10 Hz one-sample spikes 8; review of
stop 24); in an atrial-paced record PR is measured from the delineated P onset, not from the atrial stimulus; a fusion beat whose
intrinsic QRS starts before the stimulus (LUDB 72, P-synchronous pacing) gets its onset after the stimulus; a
signal already low-passed (the encoder's 0.5-100 Hz preprocessing, hence the pre-training targets and the
``biomarkers`` probe baseline, which measure preprocessed signals) has its spikes smeared and is not flagged
(none of the 7 detected LUDB paced records is, once preprocessed): measure raw records, as ``edfgen interpret`` does.
Measured on every real record at hand: ``benchmarks/results/paced_delineation_s24.md``.

References
----------
Kalyakulina AI et al. LUDB: a new open-access validation tool for electrocardiogram delineation algorithms.
IEEE Access 2020;8:186181-186190. doi:10.1109/ACCESS.2020.3029211 (paced records with cardiologist marks).
Kligfield P et al. Recommendations for the standardization and interpretation of the electrocardiogram, part I.
Circulation 2007;115:1306-1324. doi:10.1161/CIRCULATIONAHA.106.180200 (pacemaker pulse detection: pulses of
0.5 ms and more, 2 mV and more, must be recognised; sampling rates of 500 Hz and above).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import bdtrc

__all__ = ["MIN_FS", "STEEP_MV_S", "Pacing", "detect_pacing", "remove_spikes", "spike_candidates"]

#: A slope (mV/s) no cardiac wave reaches: the steepest QRS of the 600 real 500-Hz records at hand (PTB-XL,
#: CinC 2021, LUDB) stays under 1,400 mV/s on its second-steepest lead (``benchmarks/paced_delineation.py``)
STEEP_MV_S = 2500.0

#: Records sampled below this rate (Hz) are never flagged paced (:func:`detect_pacing`'s ``min_fs``).
MIN_FS = 250.0


@dataclass(frozen=True)
class Pacing:
    """Outcome of :func:`detect_pacing` on one record.

    Attributes
    ----------
    paced
        Whether the record carries a recurring stimulus train.
    spikes
        Sample indices of the merged spike candidates (``int64``; all candidates, whether paced or not).
    lag_s
        Most common lag of a candidate before the next R peak (s; NaN when there is no candidate).
    beat_fraction
        Fraction of R peaks preceded by a candidate at that lag (+- the tolerance).
    ventricular_lag_s
        Shortest recurring lag (s) of a stimulus train before the R peaks (NaN when not paced): the ventricular
        stimulus, before which the QRS cannot begin.
    """

    paced: bool
    spikes: np.ndarray
    lag_s: float
    beat_fraction: float
    ventricular_lag_s: float = float("nan")


def _shift(x: np.ndarray, k: int) -> np.ndarray:
    """``x`` shifted by ``k`` samples along the last axis (``y[t] = x[t + k]``), edges repeated (slices, not a
    gather)."""
    T = x.shape[-1]
    y = np.empty_like(x)
    m = max(0, T - abs(k))                   # samples that come from inside x
    if k >= 0:
        y[..., :m] = x[..., T - m:]
        y[..., m:] = x[..., -1:]
    else:
        y[..., T - m:] = x[..., :m]
        y[..., :T - m] = x[..., :1]
    return y


def _jumps(x: np.ndarray, fs: float) -> np.ndarray:
    """``[L, T]`` absolute sample-to-sample slope (mV/s) into each sample (0 at the first)."""
    out = np.zeros_like(x)
    np.subtract(x[..., 1:], x[..., :-1], out=out[..., 1:])
    np.abs(out, out=out)
    out *= fs
    return out


def _window_max_at(v: np.ndarray, lead: np.ndarray, t: np.ndarray, size: int) -> np.ndarray:
    """Whether ``v[lead, t]`` is the largest value of its window of ``size`` (odd) samples along the last axis, edges
    repeated: ``v >= maximum_filter1d(v, size, mode="nearest")`` at those entries only (a few per cent of a record's
    samples; the whole filter cost 0.3 ms a record)."""
    h, T = size // 2, v.shape[-1]
    top = v[lead, t]
    keep = np.ones(len(t), dtype=bool)
    for d in range(-h, h + 1):
        keep &= top >= v[lead, np.clip(t + d, 0, T - 1)]
    return keep


def spike_candidates(x: np.ndarray, fs: float, *, min_mv: float = 0.1, min_leads: int = 2,
                     steep_mv_s: float = STEEP_MV_S) -> np.ndarray:
    """Sample indices of stimulus-like spikes in a raw ``[L, T]`` signal (mV), merged across leads.

    See the module docstring (step 1). Returns sorted ``int64`` indices. The shape tests and the local maxima are
    evaluated only at the samples that deviate by ``min_mv`` (a few per cent of an ECG's), the groups are merged with
    array operations: ~0.3 ms a 10 s record, which ``edfgen extract`` checks for a ``paced`` note.
    """
    x = np.nan_to_num(np.asarray(x, dtype=float))
    T = x.shape[-1]
    k_base, k_edge, k_back = max(1, round(0.006 * fs)), max(1, round(0.004 * fs)), max(1, round(0.006 * fs))
    k_jump = max(1, round(0.002 * fs))     # one sample at 500 Hz, two at 1 kHz (a stimulus rises within ~2 ms)
    near = 2 * max(1, round(0.004 * fs)) + 1
    base = _shift(x, -k_base)
    amp = np.abs(x - base)
    lead, t = np.nonzero(amp >= min_mv)

    def at(k: int) -> np.ndarray:
        return x[lead, np.clip(t + k, 0, T - 1)]

    b, a = base[lead, t], amp[lead, t]
    keep = (np.abs(at(-k_edge) - b) <= 0.3 * a) & (np.abs(at(-k_jump) - b) <= 0.5 * a)   # most of the jump in 2 ms
    if k_edge == 1:     # below 375 Hz: a stimulus split over two samples (t - 1 on the same side), back at t + 1
        keep |= (np.abs(at(1) - b) <= 0.3 * a) & ((at(-1) - b) * (x[lead, t] - b) >= 0)
    keep &= np.abs(at(k_back) - b) <= 0.5 * a
    lead, t = lead[keep], t[keep]
    top = _window_max_at(amp, lead, t, near)
    key = lead[top] * T + t[top]                # (lead, sample) in row-major order, as np.nonzero gives them
    # a filtered stimulus rings (+-10 mV over 10-20 ms in some recorders): any slope beyond the heart's
    jump = _jumps(x, fs)
    sl, st = np.nonzero(jump >= steep_mv_s)
    if len(st):
        top = _window_max_at(jump, sl, st, near)
        key = np.union1d(key, sl[top] * T + st[top])
    lead, t = np.divmod(key, T)
    inside = (t >= k_base) & (t < T - k_back)
    lead, t = lead[inside], t[inside]
    if len(t) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(t, kind="stable")
    lead, t = lead[order], t[order]
    merge = max(1, round(0.002 * fs))
    starts = np.r_[0, np.flatnonzero(np.diff(t) > merge) + 1]
    sizes = np.diff(np.r_[starts, len(t)])
    group = np.repeat(np.arange(len(starts)), sizes)
    n_leads = np.bincount(np.unique(group * x.shape[0] + lead) // x.shape[0], minlength=len(starts))
    middle = (t[starts + (sizes - 1) // 2] + t[starts + sizes // 2]) // 2     # each group's median sample (floored)
    return middle[n_leads >= min_leads].astype(np.int64)


def detect_pacing(x: np.ndarray, fs: float, r_peaks: np.ndarray, *, min_beat_fraction: float = 0.4,
                  lag_tol_s: float = 0.006, min_lag_s: float = 0.016, max_lag_s: float = 0.4,
                  min_fs: float = MIN_FS, min_mv: float = 0.1, min_leads: int = 2, min_beats: int = 3,
                  alpha: float = 0.01) -> Pacing:
    """Whether the raw record ``x`` ``[L, T]`` (mV, independent leads) is paced (module docstring, step 2).

    Parameters
    ----------
    x
        Raw, unfiltered signal ``[L, T]`` (mV).
    fs
        Sampling rate (Hz).
    r_peaks
        R-peak sample indices of the record.
    min_beat_fraction
        Least fraction of R peaks preceded by a spike at the common lag.
    lag_tol_s
        Tolerance around the common lag (s).
    max_lag_s
        Longest lag of a stimulus before its R peak (s; atrial stimuli included).
    min_fs
        Records sampled below this rate (Hz) are never flagged.
    min_mv, min_leads
        Spike candidates' least deviation (mV) and number of leads (:func:`spike_candidates`).
    alpha
        Largest chance probability of the train (binomial at the record's candidate density, Bonferroni over the
        lag windows; module docstring, step 2).

    Returns
    -------
    Pacing
    """
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    none = Pacing(False, np.zeros(0, dtype=np.int64), float("nan"), 0.0)
    if fs < min_fs or len(r_peaks) < 2:
        return none
    spikes = spike_candidates(x, fs, min_mv=min_mv, min_leads=min_leads)
    if len(spikes) == 0:
        return none
    nxt = np.searchsorted(r_peaks, spikes, side="right")
    has = nxt < len(r_peaks)
    lag = np.full(len(spikes), -1, dtype=np.int64)
    lag[has] = r_peaks[nxt[has]] - spikes[has]
    keep = (lag >= min_lag_s * fs) & (lag <= max_lag_s * fs)
    if not keep.any():
        return Pacing(False, spikes, float("nan"), 0.0)
    tol = max(1, round(lag_tol_s * fs))
    lags, beats = lag[keep], nxt[keep]
    # one candidate per beat and lag window: a beat's candidates within 2 tol of the previous kept one dropped,
    # so that the candidates in a window [c - tol, c + tol] are as many as the beats they precede
    order = np.lexsort((lags, beats))
    lags, beats = lags[order], beats[order]
    first = np.r_[True, (beats[1:] != beats[:-1]) | (np.diff(lags) > 2 * tol)]
    lags, beats = lags[first], beats[first]
    s = np.sort(lags)
    n_beats = np.searchsorted(s, lags + tol, side="right") - np.searchsorted(s, lags - tol, side="left")
    fracs = n_beats / len(r_peaks)
    best = int(np.argmax(fracs))
    # beyond chance: the record's candidates spread over the lag range give a beat a candidate in one window
    # with probability p0; so many beats in the best of the range's windows (Bonferroni) must be unlikely
    lo, hi = min_lag_s * fs, max_lag_s * fs
    n_windows = max(1.0, (hi - lo) / (2 * tol + 1))
    p0 = 1.0 - np.exp(-len(lags) / len(r_peaks) / n_windows)
    chance = bdtrc(n_beats - 1, len(r_peaks), p0) * n_windows      # P(X >= n_beats), X ~ Binomial(beats, p0)
    hist = np.bincount(((lags - lo) // (2 * tol + 1)).astype(np.int64), minlength=int(np.ceil(n_windows)))
    trains = ((fracs >= min_beat_fraction) & (n_beats >= min_beats) & (chance < alpha)
              & (n_beats >= 2 * np.median(hist)))
    paced = bool(trains.any())
    v_lag = float("nan")
    if paced:  # the ventricular stimulus: the shortest lag of a train that paces enough beats
        v_lag = float(lags[trains].min() / fs)
    return Pacing(paced, spikes, float(lags[best] / fs), float(fracs[best]), v_lag)


def remove_spikes(x: np.ndarray, fs: float, spikes: np.ndarray, *, before_s: float = 0.004,
                  after_s: float = 0.008, steep_mv_s: float = STEEP_MV_S, max_ring_s: float = 0.03) -> np.ndarray:
    """A copy of ``x`` ``[L, T]`` with the samples ``spike - before_s`` .. ``spike + after_s`` of every spike
    replaced (at least 4 samples after the spike), on every lead, by the straight line between the two samples
    bounding them; where the artefact
    rings (slopes of at least ``steep_mv_s`` on some lead, at most ``max_ring_s`` either side of the spike) the
    span is widened to the ringing's first and last such sample (then by the same margins)."""
    y = np.array(x, dtype=float, copy=True)
    n = y.shape[-1]
    # at least 4 samples after: below 500 Hz a stimulus the recorder's anti-alias filter smeared rings for a few
    # samples (LUDB 95 decimated to 250 Hz: 2 samples left a slope timed as a P onset, PR 50 ms, QRS 23 ms short)
    b, a = max(1, round(before_s * fs)), max(4, round(after_s * fs))
    ring = round(max_ring_s * fs)
    steep = _jumps(y, fs).max(0) >= steep_mv_s
    for s in np.asarray(spikes, dtype=np.int64):
        wild = np.flatnonzero(steep[max(0, s - ring):s + ring + 1]) + max(0, s - ring)
        first, last = (min(s, int(wild[0]) - 1), max(s, int(wild[-1]))) if len(wild) else (s, s)
        lo, hi = max(0, first - b - 1), min(n - 1, last + a + 1)
        if hi - lo < 2:
            continue
        w = np.linspace(0.0, 1.0, hi - lo + 1)[1:-1]
        y[..., lo + 1:hi] = y[..., lo, None] * (1 - w) + y[..., hi, None] * w
    return y
