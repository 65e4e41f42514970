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

**Atrial flutter** with a fixed or little-varying conduction ratio has a regular RR and flutter waves locked to
the QRS, so it passes both tests; but its "P wave" repeats, alike, one flutter cycle (170-340 ms) earlier in the
diastole, where a sinus P wave has the flat TP segment or the T wave (:func:`flutter_repeat`, each beat against
its own 1.2 s before the R peak, medians over beats): LUDB 52 (4:1 typical flutter, PR 229.5 ms before) repeats at
214 ms with a correlation of 0.89 and an RMS ratio of 1.15 (0.82 and 1.34 when the record is repeated, which moves
the median beat's P peak: on the median of the beats, 0.59); of the 597 labelled real records at 500 Hz in
``shared/data/ecg`` no other is flagged, and none exceeds a correlation of 0.50 with a ratio of 0.6-1.6
(in-sample: one flutter record to read the thresholds off).

Limits: flutter whose diastole is too short for one cycle before the wave (2:1 or 3:1 at a ventricular rate
above about 100/min: CinC JS09740, 104/min) keeps a flutter wave's PR; so does atrial fibrillation with a regular
(paced or escape) ventricular rhythm (LUDB 93).
"""

from __future__ import annotations

import numpy as np

__all__ = ["PR_MISSING_REASONS", "REASON_COLUMN", "flutter_repeat", "flutter_waves", "has_consistent_p_wave",
           "last_wave_start", "p_consistency", "returns_to_baseline", "rr_irregularity"]

#: Why ``pr_interval_ms`` is NaN: the values of the text column :data:`REASON_COLUMN` (``""`` when a PR was
#: measured). A rhythm without a P wave to time is not a measurement that failed.
PR_MISSING_REASONS: dict[str, str] = {
    "irregular_rhythm": "irregular RR and P windows unlike from beat to beat: atrial fibrillation (no P wave)",
    "flutter_waves": "the wave before the QRS repeats, alike, 170-340 ms earlier in the diastole: atrial flutter waves "
                     "(no P wave)",
    "p_window_too_short": "a P search window of 40 ms or less (20 ms after the previous T end, or the earliest P "
                          "search, to 20 ms before the QRS onset: at most 80 ms between them): a fast rate, the P "
                          "wave hidden in the T wave",
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


def flutter_repeat(lookback: np.ndarray, p_peak: int, earliest: float, fs: float, *, half_width_s: float = 0.04,
                   lags_s: tuple[float, float] = (0.17, 0.34)) -> tuple[float, float, float]:
    """Does the wave at ``p_peak`` repeat earlier in the diastole, as atrial flutter waves do?

    Flutter waves (atrial rate 180-350/min) follow each other without an isoelectric baseline; with a fixed (or
    varying) conduction ratio the last one before each QRS is locked to it, so the median diastole before the QRS
    keeps the sawtooth, and the "P wave" timed before the QRS is a flutter wave. A sinus P wave is preceded by
    the flat TP segment (or the T wave), never by a like wave one flutter cycle earlier.

    Parameters
    ----------
    lookback
        ``[L, B, W]`` the signal before each R peak (mV; leads, beats, samples), or ``[L, W]`` one (median) beat;
        each beat's wave is compared with its own diastole, and the correlation and ratio are medians over beats
        (flutter waves drift against a QRS whose conduction ratio varies, which blurs a median beat).
    p_peak
        Index in ``lookback`` of the peak of the wave timed as the P wave.
    earliest
        First index of ``lookback`` after the previous beat's T wave (where a repeat may begin).
    fs
        Sampling rate (Hz).
    half_width_s, lags_s
        Half width of the compared segments, and the range of flutter cycles searched (s).

    Returns
    -------
    tuple of float
        ``(r, ratio, lag_s)``: the largest correlation (stacked leads, each centred) of the wave with the segment
        one cycle earlier over the searched cycles, that segment's RMS over the wave's, and the cycle (s); NaNs when
        no cycle fits between ``earliest`` and the wave.

    Examples
    --------
    >>> fs = 500.0
    >>> t = np.arange(600) / fs
    >>> saw = np.tile(np.mod(t, 0.22) / 0.22 - 0.5, (2, 1))                     # flutter: a 220 ms sawtooth
    >>> r, ratio, lag = flutter_repeat(saw, 520, 0, fs)
    >>> bool(r > 0.95), round(lag, 2)
    (True, 0.22)
    >>> p = np.tile(np.exp(-0.5 * ((t - 1.04) / 0.02) ** 2), (2, 1))          # sinus: one P wave, flat before
    >>> bool(flutter_repeat(p, 520, 0, fs)[1] < 0.1)
    True
    """
    w = int(half_width_s * fs)
    if p_peak - w < 0 or p_peak + w + 1 > np.shape(lookback)[-1]:
        return float("nan"), float("nan"), float("nan")
    lags = np.arange(int(lags_s[0] * fs), int(lags_s[1] * fs) + 1)
    lags = lags[p_peak - lags - w >= max(0.0, earliest)]
    if len(lags) == 0:
        return float("nan"), float("nan"), float("nan")
    x = np.asarray(lookback, dtype=float)
    x = x[:, None, :] if x.ndim == 2 else x                                         # [L, B, K]
    win = np.arange(-w, w + 1)
    wave = x[:, :, p_peak + win]
    wave = wave - wave.mean(axis=2, keepdims=True)                                  # [L, B, 2w+1]
    segs = x[:, :, (p_peak - lags)[:, None] + win[None, :]]                          # [L, B, n_lags, 2w+1]
    segs = segs - segs.mean(axis=3, keepdims=True)
    num = np.einsum("lbkw,lbw->bk", segs, wave)
    seg_ss, wave_ss = (segs ** 2).sum(axis=(0, 3)), (wave ** 2).sum(axis=(0, 2))[:, None]     # [B, n_lags], [B, 1]
    ok = (seg_ss > 0) & (wave_ss > 0)
    if not ok.any():
        return float("nan"), float("nan"), float("nan")
    r = np.median(np.where(ok, num / np.sqrt(np.where(ok, seg_ss * wave_ss, 1.0)), 0.0), axis=0)     # over beats
    ratio = np.median(np.sqrt(seg_ss / np.where(wave_ss > 0, wave_ss, np.inf)), axis=0)
    k = int(np.argmax(r))
    return float(r[k]), float(ratio[k]), float(lags[k] / fs)


def flutter_waves(lookback: np.ndarray, r_index: int, p_window: tuple[int, int], t_end: float, rr_s: float, fs: float,
                  *, min_corr: float, ratio: tuple[float, float]) -> bool:
    """Is the wave timed as the P wave in ``p_window`` (indices into a median beat whose R peak is at ``r_index``)
    a flutter wave: one like it (:func:`flutter_repeat` at least ``min_corr``, RMS ratio within ``ratio``) one
    flutter cycle earlier in ``lookback`` (``[L, B, K]`` or ``[L, K]``, the R at index ``K``), after the previous beat's T end
    (``t_end`` on the beat, one RR ``rr_s`` before, + 20 ms)? False when ``t_end`` is NaN (no diastole to search).

    Parameters
    ----------
    lookback : array [L, B, K] or [L, K]
        The beats (or their median) before each R peak, baseline-subtracted, the R at index ``K``.
    r_index : int
        The R peak's index in the median beat.
    p_window : tuple of int
        The P wave's segment (start, stop) in the median beat.
    t_end : float
        The T end's index in the median beat (NaN: none).
    rr_s : float
        The RR interval (s).
    fs : float
        Sampling rate (Hz).
    min_corr : float
        Least correlation of the wave with its repeat.
    ratio : tuple of float
        Allowed range of the RMS ratio of the repeat to the wave.

    Returns
    -------
    bool
        Whether the wave repeats one flutter cycle earlier (and the signal never returns to baseline between:
        :func:`returns_to_baseline`).
    """
    if not np.isfinite(t_end):
        return False
    shift = lookback.shape[-1] - r_index                   # beat index + shift = lookback index
    lo, hi = p_window[0] + shift, p_window[1] + shift
    if lo < 0:
        return False
    med = np.median(lookback, axis=1) if lookback.ndim == 3 else lookback
    peak = lo + int(np.argmax(np.sqrt((med[:, lo:hi] ** 2).sum(0))))
    r, rms_ratio, lag_s = flutter_repeat(lookback, peak, t_end + shift - rr_s * fs + 0.02 * fs, fs)
    if not (r >= min_corr and ratio[0] <= rms_ratio <= ratio[1]):
        return False
    # flutter waves leave no isoelectric segment between them; a sinus P wave after a U wave (or an atrial
    # tachycardia's P after a blocked one) does (review s40ecg #3: 0.2 mV U in V2-V3 at 62-70/min, r 0.7505)
    return not returns_to_baseline(lookback, peak, int(round(lag_s * fs)), fs)


def returns_to_baseline(lookback: np.ndarray, peak: int, lag: int, fs: float, *, half_width_s: float = 0.04,
                        rel: float = 0.2, flat_s: float = 0.04) -> bool:
    """Does the signal between a wave (peak at ``peak`` in ``lookback``) and its repeat ``lag`` samples earlier
    return to the isoelectric baseline?

    True when, in most beats, the spatial magnitude (over the leads; ``lookback`` is baseline-subtracted) stays
    below ``rel`` times the wave's own peak magnitude for ``flat_s`` seconds somewhere between the two compared
    segments (half width ``half_width_s``, as :func:`flutter_repeat`): the TP segment of sinus rhythm, which the
    sawtooth of atrial flutter never has.

    Parameters
    ----------
    lookback
        ``[L, B, W]`` or ``[L, W]`` baseline-subtracted signal before the R peaks (mV).
    peak, lag
        Index of the wave's peak, and the repeat's distance before it (samples).
    fs
        Sampling rate (Hz).
    half_width_s, rel, flat_s
        Half width of the compared segments (s), the flat level as a fraction of the wave's peak magnitude, and
        the least duration of a flat stretch (s).

    Returns
    -------
    bool
        Whether most beats hold a flat stretch between the two segments (False when there is no room for one).
    """
    w, run = int(half_width_s * fs), max(1, int(flat_s * fs))
    lo, hi = peak - lag + w, peak - w
    if hi - lo < run or lo < 0:
        return False
    x = np.asarray(lookback, dtype=float)
    x = x[:, None, :] if x.ndim == 2 else x
    mag = np.sqrt((x[:, :, lo:hi] ** 2).sum(axis=0))                                    # [B, n]
    amp = np.sqrt((x[:, :, peak - w:peak + w + 1] ** 2).sum(axis=0)).max(axis=1)        # [B]
    low = np.cumsum(np.pad(mag < rel * amp[:, None], ((0, 0), (1, 0))), axis=1)
    flat = ((low[:, run:] - low[:, :-run]) == run).any(axis=1)                         # a run of `run` low samples
    return bool(flat.mean() > 0.5)


def last_wave_start(mag: np.ndarray, lo: int, hi: int, *, min_mv: float, min_gap: int, rel: float = 0.5,
                    size_rel: float = 0.3) -> int:
    """Start of the P search window ``mag[lo:hi]`` past an earlier wave: the baseline before the last wave.

    The P wave is the last atrial wave before the QRS. A U wave (hypokalaemia, bradycardia; onset at the T end,
    peak 60-120 ms later) or the previous T wave's tail lies in the window's first part and can be larger than the
    P wave, which the largest deflection of the window then missed (LUDB sinus records at 75-99/min with a 0.2 mV U
    wave: LUDB 87 PR 128 -> 279 ms). When the window's last wave (peak at least ``min_mv`` and ``size_rel`` of the
    window's largest, prominence ``min_mv / 2``) is preceded by an earlier one (a peak, or the window's first sample: a
    T tail) reaching ``min_mv`` after which the magnitude falls below ``rel`` of both, the P wave is sought after the
    lowest point between the latest such wave and the last one (a T tail larger than the U wave after it: the cut
    after the U wave, not between the T and U waves).

    Reversed in time, the same finds the nadir between the T wave and a U wave after it (the T window:
    :attr:`edfgen.kernels.ecg.biomarkers.DelineationSettings.t_first_wave_rel`).

    Parameters
    ----------
    mag
        ``[W]`` spatial magnitude of the baseline-subtracted median beat (mV).
    lo, hi
        The P search window (indices into ``mag``).
    min_mv
        The least P wave timed (mV).
    min_gap
        Least distance between the two peaks (samples): the two humps of a notched or biphasic P wave, 30-90 ms
        apart, dip as deep in the magnitude (CinC E05526, E10256), a U wave peaks 100 ms or more before the P wave.
    rel
        Largest trough, relative to both waves' peaks, that counts as a return to baseline between them.
    size_rel
        Least peak of a wave, relative to the window's largest (a smaller bump before the QRS is no P wave: CinC
        E07537, 0.04 of 0.18 mV, gave PR 50 ms).

    Returns
    -------
    int
        The trough's index, or ``lo`` when there is no earlier wave (or no last wave).

    Examples
    --------
    >>> t = np.arange(300) / 500.0
    >>> u = 0.2 * np.exp(-0.5 * ((t - 0.1) / 0.04) ** 2)          # a U wave, then a smaller P wave
    >>> p = 0.1 * np.exp(-0.5 * ((t - 0.45) / 0.02) ** 2)
    >>> 120 < last_wave_start(u + p, 0, 300, min_mv=0.03, min_gap=50) < 200    # the baseline between them
    True
    >>> last_wave_start(p, 0, 300, min_mv=0.03, min_gap=50)                   # one wave only: the window as it was
    0
    """
    seg = np.asarray(mag, dtype=float)[lo:hi]
    if len(seg) == 0:
        return lo
    from scipy.signal import find_peaks  # not at module level: scipy.signal imports scipy.stats, and gwas
    # imports this module for its reason vocabulary (tests/test_cli_fixed_costs.py)
    peaks, _ = find_peaks(seg, height=max(min_mv, size_rel * seg.max()), prominence=min_mv / 2)
    if len(peaks) == 0:
        return lo
    last = int(peaks[-1])
    first = int(peaks[peaks > last - min_gap][0])       # the last wave's first hump (a notched P wave has two)
    waves = np.r_[0, peaks]                             # the earlier waves, or the window's edge (a T tail)
    waves = waves[(waves <= last - min_gap) & (waves < first)]
    # the latest earlier wave reaching min_mv with a return to baseline between it and the last wave: the lowest
    # point after the largest one (a T tail bigger than a U wave after it) fell between the T and the U wave
    after_min = np.minimum.accumulate(seg[:first][::-1])[::-1]      # after_min[i] = seg[i:first].min()
    low = after_min[waves] < rel * np.minimum(seg[first:last + 1].max(), seg[waves])
    waves = waves[(seg[waves] >= min_mv) & low]
    if len(waves) == 0:
        return lo
    earlier = int(waves[-1])
    trough = earlier + int(np.argmin(seg[earlier:first]))
    return lo + trough if trough > earlier else lo
