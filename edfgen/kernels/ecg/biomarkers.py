"""Classical ECG measurements: R peaks, heart rate, PR, QRS, QT, axis and amplitudes.

A deliberately simple, transparent delineator (the kind a biobank's ECG cart applies), used to validate the simulator
against its known truth, to describe real records, and to relate learned ECG features (EDFs) to familiar physiology.

Method
------
1. **R peaks** (:func:`detect_r_peaks`): QRS-band (5–25 Hz) Butterworth band-pass, squared
   derivative summed over leads, 100 ms moving-window integration (Pan & Tompkins 1985), peaks
   above a fraction of the record's high quantile with a 250 ms refractory period, an adaptive
   second pass dropping candidates far below the median peak energy, then each peak moved to the
   maximum of the band-passed (0.5–40 Hz) signal magnitude within ±60 ms.
   (Per lead, the energy is scaled by its own 98th percentile and capped before summing, so an artefact in one lead
   does not mask the others.)
   **Pacing** (:mod:`edfgen.kernels.ecg.pacing`): when stimulus spikes recur at a fixed lag before at least
   40 % of the R peaks, beyond what the record's own spike density gives by chance, they are interpolated away on the raw signal before any filtering (low-passed, a
   spike rings into a slow wave before the QRS), and step 3's QRS onset becomes the first sample after the
   ventricular stimulus where the spatial velocity reaches ``paced_qrs_on_rel`` (15 %) of its QRS maximum.
2. **Median beat**: every complete beat is cut around its R peak, the isoelectric level of each beat (the PR segment,
   10–30 ms before QRS onset) is interpolated between beats and subtracted; the sample-wise median of I, II, V1–V6.
3. **QRS onset/offset**: where the spatial velocity ``sqrt(sum_l (dx_l/dt)^2)`` of the median beat
   stays below 2 % (onset) / 8 % (offset) of its QRS maximum (above the median-beat noise floor) for 8 ms.
4. **T end**: the trapezium-area method (Zhang et al. 2005; Vázquez-Seisdedos et al. 2011) on each lead
   whose T wave is at least 0.05 mV (halved up to twice when no lead's reaches it and the QRS is under 0.5 mV, a
   low gain: :attr:`DelineationSettings.t_floor_halvings`) and 25 % of the largest (its peak sought before the nadir
   between the T wave and a U wave, :attr:`DelineationSettings.t_first_wave_rel`): with ``m`` the steepest descent
   in the 120 ms after the T peak and the reference point ``r`` = T peak + 120 ms (never before ``m`` + 20 ms),
   the end is the ``t`` in ``[m, r]`` that maximises ``(x[m] - x[t]) * (2 r - t - m)``, the knee where the
   wave meets the baseline; the global T end is the **median of the per-lead ends** (per-lead voting).
   The tangent method used before (Lepeschkin & Surawicz 1952) ends on the slope, before the visible return
   to baseline that cardiologists mark (Postema & Wilde 2014). **P onset**: the same construction mirrored
   in time before the P peak (reference point P peak - 60 ms), after the previous beat's T wave, the P peak sought
   after the baseline that separates the window's last wave from an earlier one (a U wave, the T tail:
   :func:`edfgen.kernels.ecg.p_wave.last_wave_start`); the global onset is the 25th percentile of the per-lead onsets; **P offset** the trapezium after the P peak of the
   spatial magnitude ``sqrt(sum_l x_l^2)`` of the 8 independent leads. No P wave is timed (PR and P amplitude
   NaN) when the RR is irregular and the beats' P windows are unlike the median beat's (atrial fibrillation), nor
   when the wave found repeats one flutter cycle earlier in the diastole (atrial flutter:
   :mod:`edfgen.kernels.ecg.p_wave`); ``pr_missing_reason`` says why a PR is NaN. These settings
   (:class:`DelineationSettings`; the spatial magnitude for T and P is an option) were chosen by
   cross-validated grid search against the cardiologists of LUDB records 1-100, all leads
   (``benchmarks/results/ludb_delineation.md``: held-out median absolute errors PR 4, QRS 5, QT 7 ms).
5. **Axis and amplitudes**: frontal QRS axis from the net QRS areas of I and aVF (``atan2(2/sqrt(3) * aVF, I)``, exact
   for an Einthoven triangle); R, T and P amplitudes are the peak magnitudes of the vectorcardiogram reconstructed with
   the inverse Dower matrix; ST deviation is the VCG at J + 60 ms projected on the T-peak direction.

A record at another rate is measured on a copy resampled to :data:`MEASURE_FS` (500 Hz, the settings' rate; pacing is
first sought at its own rate: :func:`delineate`); one below 50 Hz (extract's floor) is refused. Records where fewer than
two R peaks (or no complete beat) are found, or sampled below :data:`MIN_INTERVAL_FS` (90 Hz), give ``NaN``
measurements (but the heart rate from 2 peaks, RR SD from 3) and ``n_beats`` = the number of peaks found.

References
----------
Pan J, Tompkins WJ. A real-time QRS detection algorithm. IEEE Trans Biomed Eng 1985;32:230-236.
doi:10.1109/TBME.1985.325532.
Postema PG, Wilde AAM. The measurement of the QT interval. Curr Cardiol Rev 2014;10:287-294.
doi:10.2174/1573403X10666140514103612.
Edenbrandt L, Pahlm O. J Electrocardiol 1988;21:361-367. doi:10.1016/0022-0736(88)90113-6.
Zhang Q, Illanes Manriquez A, Médigue C, Papelier Y, Sorine M. An algorithm for robust and
efficient location of T-wave ends in electrocardiograms. IEEE Trans Biomed Eng 2005;52:1544-1552.
doi:10.1109/TBME.2005.851503.
Vázquez-Seisdedos CR, Neto JE, Marañón Reyes EJ, Klautau A, Limão de Oliveira RC. New approach
for T-wave end detection on electrocardiogram: performance in noisy conditions. Biomed Eng Online
2011;10:77. doi:10.1186/1475-925X-10-77.
Lepeschkin E, Surawicz B. The measurement of the Q-T interval of the electrocardiogram.
Circulation 1952;6:378-388. doi:10.1161/01.CIR.6.3.378.
"""

from __future__ import annotations

import math
from fractions import Fraction
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import signal as sps

from edfgen.kernels.ecg import LEADS, SAMPLING_RATE
from edfgen.kernels.ecg.leads import DOWER_LEADS, INVERSE_DOWER, lead_avf, twelve_from_eight
from edfgen.kernels.ecg.p_wave import (PR_MISSING_REASONS, REASON_COLUMN, flutter_waves, has_consistent_p_wave,
                                       last_wave_start)
from edfgen.kernels.ecg.preprocess import MIN_FS_HZ
from edfgen.kernels.ecg.r_peaks import _filt, detect_r_peaks
from edfgen.kernels.ecg.wave_bounds import _lead_and_global_bounds, _paced_qrs_onset, _qrs_bounds, _wave_bounds
from edfgen.kernels.ecg.pacing import MIN_FS as PACING_MIN_FS, Pacing, detect_pacing, remove_spikes
from edfgen.exceptions import InputError

__all__ = ["BIOMARKER_COLUMNS", "DEFAULT_SETTINGS", "MEASURE_FS", "MIN_INTERVAL_FS", "PR_MISSING_REASONS",
           "REASON_COLUMN", "Delineation", "DelineationSettings",
           "MedianBeat", "delineate", "delineate_beat", "median_beat", "detect_r_peaks", "measure_biomarkers",
           "measure_record"]

#: Columns returned by :func:`measure_biomarkers` (physiology names where the quantity is the same).
BIOMARKER_COLUMNS: tuple[str, ...] = (
    "heart_rate_bpm", "pr_interval_ms", "qrs_duration_ms", "qt_interval_ms", "qrs_axis_deg",
    "r_amplitude_mv", "t_amplitude_mv", "p_amplitude_mv", "st_deviation_mv", "rr_sd_ms", "n_beats",
)


_INDEPENDENT = [LEADS.index(lead) for lead in DOWER_LEADS]     # I, II, V1..V6

#: :func:`measure_record` measures a record sampled at another rate on a copy resampled to this one (Hz).
MEASURE_FS: float = float(SAMPLING_RATE)

#: Below this rate (Hz) only the heart rate is measured (intervals, amplitudes NaN): LUDB 1-100 decimated to 90 /
#: 85 / 75 / 50 Hz gave median |error| PR 6/8/12/69, QRS 5/7.5/14/121, QT 8/8/16/93 ms (100 Hz: 4, 4, 6).
MIN_INTERVAL_FS: float = 90.0


@dataclass(frozen=True)
class MedianBeat:
    """Stage 1 of :func:`delineate`: R peaks and the isoelectric-corrected median beat (see :class:`Delineation`)."""

    fs: float
    r_peaks: np.ndarray
    beats_used: np.ndarray
    beat: np.ndarray
    r_index: int
    rr_s: float
    stimulus_index: float = field(default=math.nan, kw_only=True)
    beats: np.ndarray | None = field(default=None, kw_only=True, repr=False, compare=False)
    lookback: np.ndarray | None = field(default=None, kw_only=True, repr=False, compare=False)


@dataclass(frozen=True)
class Delineation(MedianBeat):
    """Fiducial points of one record's median beat (indices into :attr:`beat`, floats; NaN = not found).

    Attributes
    ----------
    fs
        Sampling rate (Hz).
    r_peaks
        R-peak sample indices in the record (``int64 [B]``).
    beats_used
        R peaks whose whole window lies in the record (the beats in the median).
    beat
        ``[12, W]`` median beat (mV, isoelectric PR level subtracted), leads :data:`edfgen.kernels.ecg.LEADS`.
    r_index
        Index of the R peak in :attr:`beat`.
    rr_s
        Median RR interval (s).
    beats
        ``float32 [8, len(beats_used), W]``, on a :class:`MedianBeat` (``None`` on a :class:`Delineation`): the beats
        of I, II, V1-V6 whose median is :attr:`beat`, for the P-wave gate (:mod:`edfgen.kernels.ecg.p_wave`).
    lookback
        ``float32 [8, B, K]`` (``None`` on a :class:`Delineation`): I, II, V1-V6 in the ``K = min(1.2 s, RR)`` before
        each R peak, where flutter waves repeat (:func:`edfgen.kernels.ecg.p_wave.flutter_waves`).
    stimulus_index
        Index in :attr:`beat` of the ventricular pacing stimulus (NaN when the record is not paced,
        :func:`edfgen.kernels.ecg.pacing.detect_pacing`); a QRS onset found before it or within 40 ms after it
        is re-timed after it (:func:`delineate_beat`).
    p_onset, qrs_onset, qrs_offset, t_end
        Global fiducials of the 12-lead median beat.
    p_offset
        Global P offset (trapezium after the P peak of the spatial magnitude, before the QRS onset).
    p_onset_leads, t_end_leads
        ``[12]`` per-lead P onset and T end (NaN where the lead's wave is too small to time).
    t_window, p_window
        ``(lo, hi)`` indices into :attr:`beat` of the windows searched for the T wave (after the QRS) and
        the P wave (before it), or ``None`` when the window was too short to search (the P window also when
        the record has no consistent P wave, :mod:`edfgen.kernels.ecg.p_wave`: atrial fibrillation);
        :func:`measure_record` takes the T and P amplitudes in the same windows. The T window ends at the nadir
        before a later wave (a U wave) and the P window starts at the baseline after an earlier one
        (:attr:`DelineationSettings.t_first_wave_rel`, :attr:`DelineationSettings.p_last_wave_rel`); the T end and
        P onset themselves may lie past them (the trapezium reaches on).
    p_missing_reason
        Why no P onset was timed (one of :data:`PR_MISSING_REASONS`; ``""`` when one was).
    """

    p_onset: float
    qrs_onset: float
    qrs_offset: float
    t_end: float
    p_onset_leads: np.ndarray
    t_end_leads: np.ndarray
    t_window: tuple[int, int] | None = None
    p_window: tuple[int, int] | None = None
    p_offset: float = math.nan
    p_missing_reason: str = ""


@dataclass(frozen=True)
class DelineationSettings:
    """Settings of :func:`delineate` (defaults tuned by cross-validation against the cardiologists of
    LUDB records 1-100, ``benchmarks/ludb_delineation.py``).

    Attributes
    ----------
    lp_hz
        Low-pass of the median beat (Hz).
    qrs_on_rel, qrs_off_rel
        QRS onset / offset where the spatial velocity stays below this fraction of its QRS maximum.
    qrs_hold_s
        ... for this long (s).
    paced_qrs_on_rel
        In a paced record (:attr:`MedianBeat.stimulus_index`), the QRS onset is where the spatial velocity
        first reaches this fraction of its QRS maximum after the stimulus artefact (cardiologists mark the
        paced QRS where it leaves the baseline after the spike; the choice of a grid search on the paced
        records of each 4 training folds of LUDB 1-100 in ``benchmarks/paced_delineation.py``).
    t_reach_s, p_reach_s
        Trapezium reference point after the T peak / before the P peak (s).
    t_min_mv, t_rel, p_min_mv, p_rel
        Smallest T / P wave timed on one lead (mV, and relative to the largest lead's).
    floor_s
        Least distance from the steepest slope to the trapezium reference point (s).
    t_lead_quantile, p_lead_quantile
        ``None``: the global T end / P onset is timed on the spatial magnitude of the 8 independent leads;
        a number: that quantile of the per-lead ends / onsets (1 = latest T end, 0 = earliest P onset).
    p_rr_irregular, p_min_consistency
        No P wave is timed (P onset/offset and amplitude NaN) when at least ``p_rr_irregular`` of the successive
        RR differences exceed 10 % of the median RR and the beats' P windows correlate with the median beat's
        below ``p_min_consistency`` (median over beats): atrial fibrillation (:mod:`edfgen.kernels.ecg.p_wave`).
    p_flutter_min_corr, p_flutter_ratio
        Nor when the wave before the QRS repeats one flutter cycle earlier in the diastole, correlation at least
        ``p_flutter_min_corr``, RMS ratio within ``p_flutter_ratio`` (atrial flutter, :mod:`edfgen.kernels.ecg.p_wave`:
        LUDB 52 0.89 and 1.15; no other of 597 labelled records above 0.50 in that ratio range).
    qrs_rejoin_rel, qrs_rejoin_s
        A deflection above ``qrs_rejoin_rel`` of the QRS velocity for ``qrs_hold_s``, within ``qrs_rejoin_s`` after
        the QRS offset, is part of the QRS (``None``: not): the late R' of right bundle branch block (LUDB 10: QRS 84,
        cardiologists 123.5, now 126 ms). Of 597 labelled real records 3 change, all RBBB (LUDB 10, CinC JS20052
        92 -> 122, PTB-XL 455 128 -> 174 ms); 0.2 catches PTB-XL 455 only.
    p_edge_fallback_s
        A P peak nearer than ``2 * floor_s`` to the P window's start is taken for the previous T wave's tail; when no
        P wave is found so and the window starts at the T end, one ``p_edge_fallback_s`` inside is accepted if its
        onset is 7 ms or more inside (sinus tachycardia, the P right after the T: CinC JS20005 had no PR).
    p_last_wave_rel
        The P window starts at the baseline before its last wave when, before that wave, the spatial magnitude falls
        below this fraction of its peak after an earlier wave (a U wave, the T tail:
        :func:`edfgen.kernels.ecg.p_wave.last_wave_start`); ``None``: the window as it was.
    t_first_wave_rel
        The same mirrored in the T window: when the magnitude falls below this fraction of both between the T wave
        and a later wave (a U wave) of at least half the window's largest, 100 ms or more after it, each lead's T peak
        is sought before that nadir (the trapezium still reaches past it); ``None``: the largest deflection of the
        window (with a 0.2 mV U wave, LUDB 46 QT 403 -> 505 ms: the U wave's end). As the P window's first sample
        stands for a T tail, the T window's last sample (``min(0.7 RR, 0.7 s)`` after the R peak) stands for a later
        wave when the magnitude there reaches ``t_min_mv``: a T wave that falls below this fraction of it before the
        window's end is sought before that dip too. The T amplitude and ST direction (:func:`measure_record`) are
        taken in the window up to the nadir (:attr:`Delineation.t_window`), not at the U wave.
    t_floor_halvings, t_floor_max_r_mv
        When no lead's T wave (nor the magnitude's) reaches ``t_min_mv`` and the QRS is small (its spatial
        magnitude, the VCG's as ``r_amplitude_mv``, below ``t_floor_max_r_mv``: a low recording gain), the floor is
        halved up to ``t_floor_halvings`` times (0: no QT then): LUDB 31, 57, 81 (T <= 0.09 mV) at half the gain had
        no QT, now the full gain's. With a QRS of normal size such a T wave is flat, not scaled down: halved, the floor
        timed noise (LUDB 14, R 0.94 mV, T shrunk to 10 % + 10 uV noise: QT 532 ms, true 354; ``ecg_s42.md``).
    """

    lp_hz: float = 40.0
    qrs_on_rel: float = 0.02
    qrs_off_rel: float = 0.08
    qrs_hold_s: float = 0.008
    paced_qrs_on_rel: float = 0.15
    t_reach_s: float = 0.12
    p_reach_s: float = 0.06
    t_min_mv: float = 0.05
    t_rel: float = 0.25
    p_min_mv: float = 0.03
    p_rel: float = 0.3
    floor_s: float = 0.02
    t_lead_quantile: float | None = 0.5
    p_lead_quantile: float | None = 0.25
    p_rr_irregular: float = 0.45
    p_min_consistency: float = 0.7
    p_flutter_min_corr: float = 0.75
    p_edge_fallback_s: float = 0.02
    qrs_rejoin_rel: float | None = 0.15
    qrs_rejoin_s: float = 0.03
    p_flutter_ratio: tuple[float, float] = (0.6, 1.6)
    p_last_wave_rel: float | None = 0.5
    t_first_wave_rel: float | None = 0.5
    t_floor_halvings: int = 2
    t_floor_max_r_mv: float = 0.5

    def __post_init__(self) -> None:
        if isinstance(n := self.t_floor_halvings, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise InputError(f"DelineationSettings: t_floor_halvings must be an integer >= 0, got {n!r}")


DEFAULT_SETTINGS = DelineationSettings()


def median_beat(ecg: np.ndarray, fs: float = SAMPLING_RATE, lp_hz: float = DEFAULT_SETTINGS.lp_hz, *,
                pacing: Pacing | None = None) -> MedianBeat | None:
    """R peaks and median beat of one 12-lead record ``[12, T]`` (mV), low-passed at ``lp_hz``;
    ``None`` when fewer than two R peaks, no complete beat or no QRS onset is found.

    ``pacing``: the record's pacing as the caller detected it (on the record at its own rate, its spikes already
    removed from ``ecg``: :func:`delineate` on a resampled copy); ``None``: detected and removed here."""
    ecg = np.asarray(ecg, dtype=float)
    if ecg.ndim != 2 or ecg.shape[0] != 12:
        raise InputError(f"delineate: ecg must be [12, T] in {','.join(LEADS)} order, got shape {ecg.shape}")
    x = np.nan_to_num(ecg[_INDEPENDENT])                     # [8, T]  I, II, V1..V6
    n = x.shape[1]
    peaks = detect_r_peaks(x, fs)
    if len(peaks) < 2:
        return None
    if pacing is None:
        pacing = detect_pacing(x, fs, peaks)
        if pacing.paced:  # stimulus artefacts out before any filtering (they ring through the low-pass)
            x = remove_spikes(x, fs, pacing.spikes)
    rr_med = float(np.median(np.diff(peaks) / fs))
    pre = int(min(0.45, 0.75 * rr_med) * fs)
    post = int(min(0.75, 0.9 * rr_med) * fs)
    full = peaks[(peaks - pre >= 0) & (peaks + post < n)]
    if len(full) == 0:
        return None
    seg = np.arange(-pre, post)

    # pass 1: high-passed signal -> QRS onset offset relative to R
    hp = _filt(x, fs, 0.5, 40.0)
    beat1 = np.median(hp[:, full[:, None] + seg[None, :]], axis=1)        # [8, W]
    qrs_on1, _ = _qrs_bounds(beat1, pre, fs)
    if qrs_on1 is None:
        return None

    # pass 2: low-passed signal minus an isoelectric baseline interpolated between PR segments
    lp = _filt(x, fs, None, lp_hz, order=4)
    iso_a = peaks + (qrs_on1 - pre) - int(0.03 * fs)
    iso_b = peaks + (qrs_on1 - pre) - int(0.01 * fs)
    ok = (iso_a >= 0) & (iso_b < n)
    if ok.sum() == 0:
        return None
    centres = (iso_a[ok] + iso_b[ok]) / 2.0
    iso_idx = iso_a[ok][:, None] + np.arange(iso_b[0] - iso_a[0])[None, :]
    levels = lp[:, iso_idx].mean(axis=2)                                  # [8, n_ok]
    t = np.arange(n)
    base = np.stack([np.interp(t, centres, levels[k]) for k in range(x.shape[0])])
    lp -= base                                                                # isoelectric: once, in place
    beats = lp[:, full[:, None] + seg[None, :]]                               # [8, B, W]
    beat = twelve_from_eight(np.median(beats, axis=1))                         # [12, W]
    look = int(min(1.2, rr_med) * fs)
    back = peaks[peaks - look >= 0]
    back = back[np.unique(np.linspace(0, len(back) - 1, min(len(back), 64)).round().astype(int))]  # flutter: 64 beats
    lookback = lp[:, back[:, None] + np.arange(-look, 0)[None, :]].astype(np.float32) if len(back) else None
    return MedianBeat(fs, peaks, full, beat, pre, rr_med, stimulus_index=pre - pacing.ventricular_lag_s * fs,
                      beats=beats.astype(np.float32), lookback=lookback)


def _global_bound(per_lead: np.ndarray, magnitude: float, quantile: float | None) -> float:
    """The magnitude's bound, or ``quantile`` of the timed leads' bounds (NaN when none is timed)."""
    if quantile is None:
        return magnitude
    timed = per_lead[np.isfinite(per_lead)]
    return float(np.quantile(timed, quantile)) if len(timed) else math.nan


def delineate_beat(mb: MedianBeat, settings: DelineationSettings = DEFAULT_SETTINGS) -> Delineation:
    """Stage 2 of :func:`delineate`: P onset, QRS onset/offset and T end on a :class:`MedianBeat`."""
    st, fs, beat, pre, rr_med = settings, mb.fs, mb.beat, mb.r_index, mb.rr_s
    qrs_on, _ = _qrs_bounds(beat[_INDEPENDENT], pre, fs, st.qrs_on_rel, st.qrs_hold_s)
    # a paced QRS begins where it leaves the baseline after its stimulus; a stimulus long before a quiet-run
    # onset (> 40 ms: an atrial stimulus, conducted) leaves that onset as it is
    if math.isfinite(mb.stimulus_index) and (qrs_on is None or qrs_on <= mb.stimulus_index + 0.04 * fs):
        paced_on = _paced_qrs_onset(beat[_INDEPENDENT], pre, fs, mb.stimulus_index, st.paced_qrs_on_rel)
        qrs_on = qrs_on if paced_on is None else paced_on
    _, qrs_off = _qrs_bounds(beat[_INDEPENDENT], pre, fs, st.qrs_off_rel, st.qrs_hold_s,
                             rejoin_rel=st.qrs_rejoin_rel, rejoin_s=st.qrs_rejoin_s)
    nan12 = np.full(12, np.nan)
    head = (fs, mb.r_peaks, mb.beats_used, beat, pre, rr_med)
    stim = {"stimulus_index": mb.stimulus_index}
    if qrs_on is None or qrs_off is None:
        return Delineation(*head, np.nan, np.nan, np.nan, np.nan, nan12, nan12, p_missing_reason="no_median_beat",
                           **stim)

    # T end: trapezium area after the T peak of the spatial magnitude of the 8 independent leads (one global
    # estimate: the magnitude returns to baseline when the last lead does), or a quantile of the per-lead ends
    mag8 = np.sqrt((beat[_INDEPENDENT] ** 2).sum(0))[None, :]
    floor = int(st.floor_s * fs)
    t_end, t_ends, t_window = np.nan, nan12, None
    t_lo = qrs_off + int(0.06 * fs)
    t_hi = min(beat.shape[1], pre + int(min(0.7 * rr_med, 0.7) * fs))
    if t_hi - t_lo > int(0.05 * fs):
        t_until = None
        if st.t_first_wave_rel is not None:   # a U wave after the T wave: the T peak is sought before the T-U nadir
            t_until = t_hi - 1 - last_wave_start(mag8[0, t_lo:t_hi][::-1], 0, t_hi - t_lo, min_mv=st.t_min_mv,
                                                 min_gap=int(0.1 * fs), rel=st.t_first_wave_rel, size_rel=0.5)
        t_window = (t_lo, t_hi if t_until is None else t_until + 1)     # the T amplitude is the T's, not the U's
        r_mv = np.sqrt(((INVERSE_DOWER @ beat[_INDEPENDENT][:, qrs_on:qrs_off + 1]) ** 2).sum(0)).max()  # as R amp.
        halvings = st.t_floor_halvings if r_mv < st.t_floor_max_r_mv else 0   # a small QRS: a low gain
        for t_min in st.t_min_mv * 0.5 ** np.arange(halvings + 1):
            t_ends, t_mag = _lead_and_global_bounds(beat, mag8, t_lo, t_hi, min_mv=t_min, rel=st.t_rel, floor=floor,
                                                    reach=int(st.t_reach_s * fs), reverse=False, peak_until=t_until)
            if np.isfinite(t_end := _global_bound(t_ends, t_mag, st.t_lead_quantile)):
                break

    # P onset: mirrored trapezium before the P peak of the spatial magnitude, after the previous T wave;
    # none in a record without a consistent P wave (irregular RR and unlike P windows: atrial fibrillation)
    p_on, p_off, p_ons, p_window = np.nan, np.nan, nan12, None
    p_lo = max(0, qrs_on - int(min(0.33, 0.6 * rr_med) * fs))
    p_t = int(t_end + 0.02 * fs - rr_med * fs) if np.isfinite(t_end) else -1
    after_t, p_lo = p_t > p_lo, max(p_lo, p_t)                 # after_t: the window starts at the previous T end
    p_hi = qrs_on - int(0.02 * fs)
    if p_hi - p_lo <= int(0.04 * fs):
        why = "p_window_too_short"
    elif mb.beats is not None and not has_consistent_p_wave(
            mb.r_peaks, mb.beats, (p_lo, p_hi), rr_irregular=st.p_rr_irregular, min_consistency=st.p_min_consistency):
        why = "irregular_rhythm"
    else:
        # past a U wave or the T tail: the P peak is sought after the baseline before the window's last wave
        p_from = p_lo if st.p_last_wave_rel is None else last_wave_start(
            mag8[0], p_lo, p_hi, min_mv=st.p_min_mv, min_gap=int(0.1 * fs), rel=st.p_last_wave_rel, size_rel=st.p_rel)
        p_window = (p_from, p_hi)
        # a P peak within 2 * floor_s of the window's start is taken for the T wave's tail; when none is found so and
        # the window starts at the T end (not the cap), one within p_edge_fallback_s is (fast rates; review s40ecg #2)
        for edge in (None, int(st.p_edge_fallback_s * fs)) if after_t else (None,):
            p_ons, p_mag = _lead_and_global_bounds(beat, mag8, p_lo, p_hi, min_mv=st.p_min_mv, rel=st.p_rel,
                                                   reach=int(st.p_reach_s * fs), floor=floor, reverse=True, edge=edge,
                                                   peak_from=p_from)
            p_on = _global_bound(p_ons, p_mag, st.p_lead_quantile)
            if edge is not None and p_on < p_lo + 0.007 * fs:    # cut by the window's start: the T wave's tail
                p_on, p_ons = np.nan, nan12
            elif np.isfinite(p_on):
                break
        why = "" if np.isfinite(p_on) else "no_p_wave"
        if np.isfinite(p_on) and mb.lookback is not None and flutter_waves(
                mb.lookback, mb.r_index, p_window, t_end, rr_med, fs, min_corr=st.p_flutter_min_corr,
                ratio=st.p_flutter_ratio):
            p_on, p_ons, p_window, why = np.nan, nan12, None, "flutter_waves"
        if np.isfinite(p_on):
            p_off = _wave_bounds(mag8, p_from, qrs_on, min_mv=st.p_min_mv, rel=0.0, reach=int(st.p_reach_s * fs),
                                 floor=floor, reverse=False)[0][0]
    return Delineation(*head, p_on, float(qrs_on), float(qrs_off), t_end, p_ons, t_ends, t_window, p_window,
                       float(p_off), why, **stim)


def _check_fs(fs: float, who: str) -> float:
    """``fs`` as a float; an :class:`~edfgen.exceptions.InputError` (one line) unless a finite number of at least
    ``preprocess.MIN_FS_HZ`` (extract's floor; fs 0 divided by zero, 0.001 asked for a 224 GiB copy)."""
    try:
        rate = float(fs)
    except (TypeError, ValueError):
        rate = math.nan
    if not (math.isfinite(rate) and rate >= MIN_FS_HZ):
        raise InputError(f"{who}: the sampling rate must be a finite number of at least {MIN_FS_HZ:g} Hz "
                         f"(the R-peak band reaches 25 Hz), got {fs!r}")
    return rate


def _record_pass(ecg: np.ndarray, fs: float, settings: DelineationSettings,
                 who: str) -> tuple[Delineation | None, float, np.ndarray]:
    """The one pass of :func:`delineate` and :func:`measure_record`: (delineation on a copy resampled to
    :data:`MEASURE_FS`, the rate its settings were tuned at, or ``None``; the copy's rate; the record's R peaks).

    From ``pacing.MIN_FS`` (250 Hz; never paced below it) up to :data:`MEASURE_FS`, pacing is found, and its spikes
    removed, at the record's own rate (a stimulus spans 1-2 samples; the copy blurs it below the spike tests: LUDB 34,
    72, 74, 95 at 250 Hz), then on the copy if not (LUDB 74 at 360 Hz); above :data:`MEASURE_FS`, on the copy (LUDB 95
    upsampled to 1 kHz: removed at 1 kHz, its residue was timed as a P wave, PR 48 ms, QRS 68 ms where the
    cardiologists mark 91 and no P; on the copy, QRS 88)."""
    ecg = np.asarray(ecg, dtype=float)
    if ecg.ndim != 2 or ecg.shape[0] != 12:
        raise InputError(f"{who}: ecg must be [12, T] in {','.join(LEADS)} order, got shape {ecg.shape}")
    fs = _check_fs(fs, who)
    if fs == MEASURE_FS:
        mb = median_beat(ecg, fs, settings.lp_hz)
        peaks = detect_r_peaks(np.nan_to_num(ecg[_INDEPENDENT]), fs) if mb is None else mb.r_peaks
        return (None if mb is None else delineate_beat(mb, settings)), fs, peaks
    x = np.nan_to_num(ecg)
    peaks = detect_r_peaks(x[_INDEPENDENT], fs)
    if fs < MIN_INTERVAL_FS or len(peaks) < 2:
        return None, fs, peaks
    ratio = Fraction(MEASURE_FS / fs).limit_denominator(1000)
    pacing: Pacing | None = None       # None: searched on the copy (median_beat), as at 500 Hz
    if fs < MEASURE_FS:   # never paced below its min_fs (250 Hz)
        pacing = detect_pacing(x[_INDEPENDENT], fs, peaks)
        if pacing.paced:
            x[_INDEPENDENT] = remove_spikes(x[_INDEPENDENT], fs, pacing.spikes)
            pacing = Pacing(True, np.round(pacing.spikes * float(ratio)).astype(np.int64), pacing.lag_s,
                            pacing.beat_fraction, pacing.ventricular_lag_s)
        elif fs >= PACING_MIN_FS:   # LUDB 74 at 360 Hz passes the spike tests on its 500 Hz copy only
            pacing = None
    copy = sps.resample_poly(x, ratio.numerator, ratio.denominator, axis=-1, padtype="line")
    fs_copy = fs * ratio.numerator / ratio.denominator
    mb = median_beat(copy, fs_copy, settings.lp_hz, pacing=pacing)
    return (None if mb is None else delineate_beat(mb, settings)), fs_copy, peaks


def _at_rate(d: Delineation, fs: float, n: int) -> Delineation:
    """``d`` (of a copy at ``d.fs``) with its indices (clipped to the record's ``n`` samples), beat at rate ``fs``."""
    ratio = Fraction(d.fs / fs).limit_denominator(1000)        # copy samples per record sample
    k = fs / d.fs

    def idx(a: np.ndarray) -> np.ndarray:
        return np.minimum(np.round(np.asarray(a) * k).astype(np.int64), n - 1)    # the copy's last sample: n

    def win(w: tuple[int, int] | None) -> tuple[int, int] | None:
        return None if w is None else (int(round(w[0] * k)), int(round(w[1] * k)))

    beat = sps.resample_poly(d.beat, ratio.denominator, ratio.numerator, axis=-1)   # the median beat at rate fs
    return Delineation(fs, idx(d.r_peaks), idx(d.beats_used), beat, int(round(d.r_index * k)), d.rr_s,
                       d.p_onset * k, d.qrs_onset * k, d.qrs_offset * k, d.t_end * k, d.p_onset_leads * k,
                       d.t_end_leads * k, win(d.t_window), win(d.p_window), d.p_offset * k, d.p_missing_reason,
                       stimulus_index=d.stimulus_index * k)


def delineate(ecg: np.ndarray, fs: float = SAMPLING_RATE,
              settings: DelineationSettings = DEFAULT_SETTINGS) -> Delineation | None:
    """Median beat and P onset, QRS onset/offset and T end of one 12-lead record ``[12, T]`` (mV).

    The pass :func:`measure_record` makes: pacing found on the record at its own rate, the record delineated on a
    copy resampled to :data:`MEASURE_FS` (:func:`median_beat` then :func:`delineate_beat`), and every index
    (R peaks, fiducials, windows) and the median beat mapped back to the record's rate ``fs``, so that
    ``(qrs_offset - qrs_onset) / fs`` is :func:`measure_record`'s QRS duration. Returns ``None`` when fewer than
    two R peaks, no complete beat or no QRS onset is found, or the record is sampled below :data:`MIN_INTERVAL_FS`.
    See the module docstring for the method.
    """
    d, fs_copy, _ = _record_pass(ecg, fs, settings, "delineate")
    return d if d is None or fs_copy == float(fs) else _at_rate(d, float(fs), np.shape(ecg)[-1])


def measure_record(ecg: np.ndarray, fs: float = SAMPLING_RATE,
                   settings: DelineationSettings = DEFAULT_SETTINGS) -> dict[str, float | str]:
    """Measure one 12-lead record ``[12, T]`` (lead order :data:`edfgen.kernels.ecg.LEADS`, mV).

    One pass with :func:`delineate`: pacing found at the record's own rate, the intervals and amplitudes measured on
    a copy resampled to :data:`MEASURE_FS`, the rate its settings were tuned at (at 100 Hz they gave QRS 16 ms
    longer). Below :data:`MIN_INTERVAL_FS` only the heart rate, RR SD and beat count are measured.
    Returns a dict keyed by :data:`BIOMARKER_COLUMNS` (``NaN`` where a measure is not possible) and
    :data:`REASON_COLUMN` (why the PR is NaN, :data:`PR_MISSING_REASONS`; ``""`` when it was measured).
    """
    d, fs_copy, peaks = _record_pass(ecg, fs, settings, "measure_record")
    out: dict[str, float | str] = {c: math.nan for c in BIOMARKER_COLUMNS}
    out[REASON_COLUMN] = ("sampling_rate" if float(fs) < MIN_INTERVAL_FS else "no_median_beat") if d is None \
        else d.p_missing_reason
    if d is not None:   # the copy's R peaks (2 ms steps: RR SD not inflated by a 100 Hz record's 10 ms steps)
        peaks, fs = d.r_peaks, fs_copy
    out["n_beats"] = float(len(peaks))
    if len(peaks) >= 2:
        rr = np.diff(peaks) / float(fs)
        out["heart_rate_bpm"] = 60.0 / rr.mean()
        out["rr_sd_ms"] = 1000.0 * rr.std(ddof=1) if len(rr) > 1 else math.nan
    if d is None or not math.isfinite(d.qrs_onset):
        return out
    qrs_on, qrs_off = int(d.qrs_onset), int(d.qrs_offset)
    beat8 = d.beat[_INDEPENDENT]
    out["qrs_duration_ms"] = 1000.0 * (d.qrs_offset - d.qrs_onset) / fs
    out["qt_interval_ms"] = 1000.0 * (d.t_end - d.qrs_onset) / fs
    out["pr_interval_ms"] = 1000.0 * (d.qrs_onset - d.p_onset) / fs

    vcg = INVERSE_DOWER @ beat8                                           # [3, W]
    mag = np.sqrt((vcg ** 2).sum(0))
    out["r_amplitude_mv"] = float(mag[qrs_on:qrs_off + 1].max())
    lead_i, lead_ii = beat8[0, qrs_on:qrs_off + 1], beat8[1, qrs_on:qrs_off + 1]
    area_i = lead_i.sum()
    area_avf = lead_avf(lead_i, lead_ii).sum()
    out["qrs_axis_deg"] = math.degrees(math.atan2(2.0 / math.sqrt(3.0) * area_avf, area_i))

    if d.t_window is not None:  # the windows delineate searched for the T and P waves (T: before a U wave)
        t_lo, t_hi = d.t_window
        out["t_amplitude_mv"] = float(mag[t_lo:t_hi].max())
        t_dir = vcg[:, t_lo + int(np.argmax(mag[t_lo:t_hi]))]
        out["st_deviation_mv"] = float(vcg[:, t_lo] @ t_dir / (np.linalg.norm(t_dir) or 1.0))
    if d.p_window is not None and math.isfinite(d.p_onset):   # no P amplitude where no P wave was timed
        p_lo, p_hi = d.p_window
        out["p_amplitude_mv"] = float(mag[p_lo:p_hi].max())
    return out


def measure_biomarkers(ecg: np.ndarray, fs: float = SAMPLING_RATE) -> pd.DataFrame:
    """Measure ECG biomarkers on one record ``[12, T]`` or a batch ``[N, 12, T]``.

    Parameters
    ----------
    ecg
        mV, leads in :data:`edfgen.kernels.ecg.LEADS` order.
    fs
        Sampling rate (Hz).

    Returns
    -------
    pandas.DataFrame
        One row per record, columns :data:`BIOMARKER_COLUMNS`:
        ``heart_rate_bpm`` (60 / mean RR), intervals in ms, ``qrs_axis_deg`` (degrees),
        amplitudes in mV, ``rr_sd_ms`` (SD of RR intervals), ``n_beats`` (R peaks found); then
        :data:`REASON_COLUMN` ``pr_missing_reason``: why the PR is NaN (a key of :data:`PR_MISSING_REASONS`,
        ``""`` when it was measured).

    Examples
    --------
    >>> import numpy as np
    >>> from edfgen.simulate.ecg import BeatParams, synthesize_ecg
    >>> p = BeatParams(72, 160, 95, 390, 50, 1.6, 0.45, 0.15, 0.0)
    >>> m = measure_biomarkers(synthesize_ecg(p, rng=np.random.default_rng(3)))
    >>> round(float(m.loc[0, "heart_rate_bpm"]))
    72

    The simulator's QT (390 ms) is a tangent-method QT; this delineator ends T where the wave returns to
    baseline, as LUDB's cardiologists mark it, about 23 ms later (README, simulated cohort):

    >>> bool(abs(m.loc[0, "qt_interval_ms"] - (390 + 23)) < 10)
    True
    """
    arr = np.asarray(ecg)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1] != 12:
        hint = ": it looks like [T, 12], pass ecg.T" if arr.ndim == 3 and arr.shape[2] == 12 else ""
        raise InputError(f"measure_biomarkers: ecg must be [12, T] or [N, 12, T], got shape {np.shape(ecg)}{hint}")
    _check_fs(fs, "measure_biomarkers")     # named after the function the user called, not measure_record
    rows = [measure_record(rec, fs) for rec in arr]
    return pd.DataFrame(rows, columns=[*BIOMARKER_COLUMNS, REASON_COLUMN])
