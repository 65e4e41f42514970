"""Signs of a faulty recording: QRS clipping, an inverted lead I and chest leads that do not correlate (notes); a lead
stuck at its rail and a chest lead copying another (rejects); and pacing (a note).

What this module knows: cheap checks on one record. Three give a record note (``edfgen extract`` writes it to
``<out>.notes.tsv`` and counts it in the log), never a reject: the first two can also be real physiology, the
third is judged on chest leads alone; the others find what no real recording shows (the caller,
:mod:`edfgen.kernels.ecg.preprocess`, rejects on them).

* :func:`clipped_leads`: an amplifier that saturates on each QRS flattens every R (or S) peak at one value for
  tens of ms; the run of ``saturation_run_s`` (0.1 s) that rejects a record
  (:func:`edfgen.kernels.ecg.preprocess.check_raw_quality`) never forms. A lead is noted as clipped when it has at
  least ``min_plateaus`` separate plateaus of at least ``plateau_s`` at its own minimum or maximum value, that
  value being a rail (at least ``rail_fraction`` of the lead's range from its median). On the raw samples of
  the 2,095 real records in the shared data (PTB-XL 500 and 100 Hz, LUDB, CinC 2021 and its extra records) no
  lead is flagged (nor without the rail condition on PTB-XL 500 Hz, LUDB and CinC 2021); every lead of the
  reviewer's records clipped one-sided at 30 % or 50 % of its peak (II, V2, V3, V5 of PTB-XL 00002_hr) is.
* :func:`lead_i_inverted`: with the left- and right-arm electrodes swapped, lead I is the mirror of itself (P,
  QRS and T all negative); the same pattern marks dextrocardia, and a record inverted as a whole. Measured on the
  median beat of the filtered window; none of the real records above is flagged.
* :func:`rail_runs`: the run at a lead's rail (an extreme far from the lead's other samples) that rejects a record
  as clipped (:func:`edfgen.kernels.ecg.preprocess.check_raw_quality`), however much of the window it fills.
* :func:`chest_correlation`: neighbouring chest leads of an ECG correlate, independent noise's do not (no ECG?);
  :func:`noise_notes` words the note. :func:`pacing_notes`: a pacemaker's stimulus train, noted.
* :func:`duplicated_leads`: a chest lead equal to another lead at every sample (written twice by an export).
* :func:`chest_order_gain`: how much more alike neighbouring chest leads would be with two of them swapped (V1-V6
  in a wrong order, a common export mistake); :func:`chest_order_notes` words the note.
* :func:`injected_spikes`: stimulus-like spikes of one amplitude on every independent lead that the stored limb leads
  do not share as Einthoven's law says they must (III = II - I): added to the file after its leads were derived.
* :func:`chest_leads_agree`: whether a record varies as an ECG does, its neighbouring chest leads correlated (an
  ECG's are; a leads-off record's ADC noise is not); consulted before naming units for a record 1000x too small.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from edfgen.kernels.ecg.leads import DOWER_LEADS, limb_leads
from edfgen.kernels.ecg.pacing import detect_pacing, spike_candidates
from edfgen.kernels.ecg.record import NOTE_CHEST_ORDER, NOTE_CLIPPED, NOTE_LEAD_I_INVERTED, NOTE_NOISE, NOTE_PACED
from edfgen.kernels.robust import robust_sd


def _plateaus(mask: np.ndarray, need: int) -> int:
    """Number of runs of True of at least ``need`` samples in the 1-D ``mask``."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return int(np.count_nonzero(ends - starts >= need))


def clipped_leads(x: np.ndarray, fs: float, leads: tuple[str, ...] | list[str], *, plateau_s: float = 0.01,
                  min_plateaus: int = 3, rail_fraction: float = 0.25) -> list[tuple[str, int, str]]:
    """Leads whose peaks are clipped at one value: ``(lead, plateaus, "max" | "min")`` for each.

    Parameters
    ----------
    x
        Raw samples ``[L, T]`` (mV, finite), at ``fs`` Hz.
    fs
        Sampling rate (Hz).
    leads
        The names of the ``L`` leads.
    plateau_s
        Shortest plateau (s) at the extreme value that counts; at least 2 samples.
    min_plateaus
        Plateaus at the same extreme a lead needs to be called clipped.
    rail_fraction
        The extreme must lie at least this fraction of the lead's range from its median (a quiet stretch at a
        shallow lead's minimum, near its baseline, is not a rail).
    """
    need = max(2, int(np.ceil(plateau_s * fs - 1e-9)))
    if x.shape[1] < need * min_plateaus:
        return []
    med = np.median(x, axis=1)
    lo, hi = x.min(axis=1), x.max(axis=1)
    far = (hi - lo) * rail_fraction
    found = []
    for i in np.flatnonzero(hi > lo):
        for side, value, is_rail in (("max", hi[i], hi[i] - med[i] >= far[i]), ("min", lo[i], med[i] - lo[i] >= far[i])):
            if not is_rail:
                continue
            n = _plateaus(x[i] == value, need)
            if n >= min_plateaus:
                found.append((str(leads[i]), n, side))
    return found


def _longest_run(mask: np.ndarray) -> int:
    """Longest run of True in the 1-D ``mask``."""
    d = np.diff(np.r_[0, mask.astype(np.int8), 0])
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return int((ends - starts).max()) if len(starts) else 0


def rail_runs(x: np.ndarray, run: int, *, rail_fraction: float = 0.5) -> np.ndarray:
    """Per lead, the longest run of samples at a rail (0 for a lead with no run of ``run`` samples at one).

    A rail is the lead's minimum or maximum value when it lies at least ``rail_fraction`` of the lead's range from
    the median of the lead's *other* samples (those not at that value): a recorder's limit is reached by a large
    deflection, while a quiet stretch at the minimum of a shallow lead, near its baseline, is not clipping. The
    other samples, not all of them: a lead stuck at its rail for most of the window has its median at the rail, and
    was accepted silently (review s36d: V2 at the ADC maximum from 2 s of a 10 s record). The other samples count only
    when they hold a stretch of at least ``run`` samples (a signal): a flat lead with brief spikes (pacing stimuli, a
    pop) is flat at its extreme, not saturated, and is judged against all its samples, as before. Each side is timed
    on its own (a lead flat at 0 and then stuck at the rail is one run of each). A constant lead has no rail.

    Parameters
    ----------
    x
        Raw samples ``[L, T]`` (finite).
    run
        Shortest run (samples) that counts; leads with fewer samples at an extreme are skipped unread.
    rail_fraction
        How far from the other samples' median an extreme must lie, as a fraction of the lead's range.

    Returns
    -------
    ``int64 [L]``
    """
    out = np.zeros(x.shape[0], dtype=np.int64)
    lo, hi = x.min(axis=1), x.max(axis=1)
    far = (hi.astype(np.float64) - lo) * rail_fraction
    for ext in (lo, hi):
        at = x == ext[:, None]
        for i in np.flatnonzero((np.count_nonzero(at, axis=1) >= run) & (hi > lo)):
            signal = x[i][~at[i]] if _longest_run(~at[i]) >= run else x[i]    # brief spikes off a flat lead: all
            if abs(float(ext[i]) - float(np.median(signal))) >= far[i]:
                out[i] = max(out[i], _longest_run(at[i]))
    return out


def _dominant(beat: np.ndarray, a: int, b: int, min_mv: float) -> int:
    """Sign of the larger deflection of ``beat[a:b]`` (+1, -1), 0 when neither reaches ``min_mv``."""
    seg = beat[max(a, 0):max(b, 0)]
    if not len(seg):
        return 0
    top, bottom = float(seg.max()), float(-seg.min())
    if max(top, bottom) < min_mv:
        return 0
    return 1 if top >= bottom else -1


def qrs_centres(y: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of the QRS complexes of a band-passed ``[L, T]`` signal: peaks, at least 0.3 s apart, of the
    summed absolute slope of the leads smoothed over 50 ms, above 40 % of its 98th percentile (a cheap detector:
    alignment within a few ms is all :func:`wave_signs` needs)."""
    slope = np.abs(np.diff(y, axis=1)).sum(axis=0)
    w = max(1, int(0.05 * fs))
    energy = np.convolve(slope, np.ones(w) / w, mode="same")
    top = float(np.quantile(energy, 0.98)) if len(energy) else 0.0
    if not top > 0:
        return np.zeros(0, dtype=np.int64)
    peaks, _ = sps.find_peaks(energy, height=0.4 * top, distance=max(1, int(0.3 * fs)))
    return peaks.astype(np.int64)


def wave_signs(y: np.ndarray, fs: float, *, lead_i: int = 0, lead_avr: int = 3,
               min_mv: float = 0.05) -> tuple[int, int, int, int] | None:
    """Signs (+1, -1; 0: too small) of lead I's P, QRS and T and of aVR's QRS on the median beat.

    Parameters
    ----------
    y
        Band-passed signal ``[L, T]`` (mV) at ``fs`` Hz.
    fs
        Sampling rate (Hz).
    lead_i, lead_avr
        Rows of lead I and aVR.
    min_mv
        Smallest deflection (mV) of the median beat that counts as a P or T wave (QRS: twice this).

    Returns
    -------
    ``(p_i, qrs_i, t_i, qrs_avr)``, or ``None`` with fewer than 3 complete beats. Each wave's sign is that of its
    larger deflection from the beat's median (most of a beat is baseline) in a window fixed around the QRS centre (:func:`qrs_centres`):
    P -250 to -80 ms, QRS +-50 ms, T +120 ms to the lesser of 450 ms and 0.6 RR.
    """
    peaks = qrs_centres(y, fs)
    ms = lambda t: int(round(t * fs / 1000.0))  # noqa: E731
    pre, post = ms(300), ms(500)
    full = peaks[(peaks - pre >= 0) & (peaks + post < y.shape[1])]
    if len(full) < 3:
        return None
    rr = float(np.median(np.diff(peaks)))
    seg = full[:, None] + np.arange(-pre, post)[None, :]
    beat_i, beat_avr = (np.median(y[k][seg], axis=0) for k in (lead_i, lead_avr))
    beat_i, beat_avr = beat_i - np.median(beat_i), beat_avr - np.median(beat_avr)
    qrs = (pre - ms(50), pre + ms(50))
    return (_dominant(beat_i, pre - ms(250), pre - ms(80), min_mv), _dominant(beat_i, *qrs, 2 * min_mv),
            _dominant(beat_i, pre + ms(120), pre + min(ms(450), int(0.6 * rr)), min_mv),
            _dominant(beat_avr, *qrs, 2 * min_mv))


def lead_i_inverted(y: np.ndarray, fs: float, *, lead_i: int = 0, lead_v6: int | None = None) -> bool:
    """True when lead I's P and QRS are negative (:func:`wave_signs`) and so is its T, or V6's QRS is upright: LA/RA
    reversal or dextrocardia.

    aVR is not consulted: after a swap aVR shows the true aVL, upright or not (in a swap of PTB-XL 00002_hr it
    is negative), so the classic "and aVR upright" missed it. V6 is: a swap mirrors lead I and leaves the chest
    leads alone, so a lateral QRS still upright in V6 while lead I's P and QRS point away is the swap's mark, also
    when lead I's T is flat or upright (review s36d); there lead I's P and QRS must be clear (at least 0.1 and
    0.2 mV: at 0.05 and 0.1 mV one real 100 Hz record, PTB-XL 01118_lr, is flagged with the shipped checkpoints'
    filter extension). On the 2,095 real records of the shared data neither rule flags any (of their 62 with a
    negative QRS in lead I, none has both P and T negative); with their arm electrodes swapped, P, QRS and T all
    negative flags 1,126 (1,107 with the shipped checkpoints' filter extension), the rule with V6 1,195 (1,174).

    Parameters
    ----------
    y
        Band-passed signal ``[L, T]`` (mV) at ``fs`` Hz.
    fs
        Sampling rate (Hz).
    lead_i, lead_v6
        Rows of lead I and V6 (``None``: no V6, lead I's T decides alone).

    Returns
    -------
    Whether lead I looks inverted; False with fewer than 3 complete beats.
    """
    signs = wave_signs(y, fs, lead_i=lead_i)
    if signs is None or signs[:2] != (-1, -1):
        return False
    if signs[2] == -1:
        return True
    if lead_v6 is None or wave_signs(y, fs, lead_i=lead_i, min_mv=0.1)[:2] != (-1, -1):   # clear P and QRS
        return False
    return wave_signs(y, fs, lead_i=lead_v6)[1] == 1

def clipping_notes(x: np.ndarray, fs: float, leads, *, plateau_s: float, min_plateaus: int,
                   rail_fraction: float) -> tuple[str, ...]:
    """The record note for :func:`clipped_leads` (none when no lead is clipped or ``min_plateaus`` is 0)."""
    found = clipped_leads(x, fs, leads, plateau_s=plateau_s, min_plateaus=min_plateaus,
                          rail_fraction=rail_fraction) if min_plateaus > 0 else []
    if not found:
        return ()
    which = ", ".join(f"{lead} ({n} plateaus at its {side})" for lead, n, side in found)
    return (f"{NOTE_CLIPPED} lead(s) {which}: peaks held at one value for >= {plateau_s * 1000:g} ms (a saturated "
            "amplifier?), kept",)


def inversion_notes(y: np.ndarray, fs: float, leads) -> tuple[str, ...]:
    """The record note for :func:`lead_i_inverted` on the band-passed window ``y`` (leads named ``leads``)."""
    leads = list(leads)
    v6 = leads.index("V6") if "V6" in leads else None
    if "I" not in leads or not lead_i_inverted(y, fs, lead_i=leads.index("I"), lead_v6=v6):
        return ()
    return (f"{NOTE_LEAD_I_INVERTED} lead I (P and QRS negative, and T negative or V6 upright): left and right arm "
            "electrodes swapped, or dextrocardia?",)


def chest_leads_agree(y: np.ndarray, leads, *, min_r: float = 0.3) -> bool:
    """True when the median correlation of neighbouring chest leads (V1-V2, ..., V5-V6) of ``y`` is at least ``min_r``.

    Chest leads are recorded from separate electrodes (never derived, unlike III or aVR), so neighbouring ones
    correlate in an ECG at any scale and not in independent noise. On 239 band-passed real records of the shared
    data the median correlation is 0.40-0.99 (1st percentile 0.55); on one-count ADC noise (a leads-off record)
    about 0.01.

    Parameters
    ----------
    y
        Band-passed signal, ``[n_leads, T]``, leads named ``leads``.
    leads
        The lead names of ``y``'s rows; chest leads missing or constant are left out.
    min_r
        The least median correlation of an ECG.

    Returns
    -------
    False also when no two neighbouring chest leads both vary.
    """
    r = chest_correlation(y, leads, min_pairs=1)
    return r is not None and r >= min_r


def chest_correlation(y: np.ndarray, leads, *, min_pairs: int = 2, absolute: bool = False,
                      min_robust_sd: float = 0.0) -> float | None:
    """Median correlation (``absolute``: median absolute correlation) of successive varying chest leads of ``y``
    (V1-V2, ..., V5-V6; a constant lead, e.g. a zeroed flat one, is skipped: V1-V3 when V2 is flat).

    An ECG's neighbouring chest leads correlate, independent noise's do not: over the 2,095 accepted real records of
    the shared data (PTB-XL 500 and 100 Hz, CinC 2021 and its extra records, LUDB) the band-passed 10 s window gives
    a median absolute correlation of 0.27-0.998 (0.1 % quantile 0.31), white noise on every lead |r| < 0.02 (review s36d).
    Chest leads in a wrong order correlate negatively (V2 and V3 swapped in CinC E07500: -0.32): the absolute value
    tells noise from a wrong order.

    Parameters
    ----------
    y
        Band-passed signal, ``[n_leads, T]``, leads named ``leads``.
    leads
        The lead names of ``y``'s rows; chest leads not among them are left out.
    min_pairs
        The fewest pairs of varying chest leads to judge.
    absolute
        Take the median of the correlations' absolute values.
    min_robust_sd
        Leave out the chest leads whose robust SD (1.4826 x the median absolute deviation) is below this: disconnected
        leads carrying only a pop or a pacing stimulus, which correlate with nothing (default 0: only constant leads).

    Returns
    -------
    The median (absolute) correlation, or ``None`` with fewer than ``min_pairs`` pairs.
    """
    row = {name: i for i, name in enumerate(leads)}
    z = y[[row[f"V{k}"] for k in range(1, 7) if f"V{k}" in row]].astype(np.float64)
    z -= z.mean(axis=1, keepdims=True)
    ss = np.einsum("ij,ij->i", z, z)
    live = ss > 0                                                  # a constant lead varies not
    if min_robust_sd > 0:
        live &= robust_sd(z, axis=1) >= min_robust_sd
    z, ss = z[live], ss[live]
    if len(z) - 1 < max(1, min_pairs):
        return None
    r = np.clip(np.einsum("ij,ij->i", z[:-1], z[1:]) / np.sqrt(ss[:-1] * ss[1:]), -1.0, 1.0)
    return float(np.median(np.abs(r) if absolute else r))


def duplicated_leads(x: np.ndarray, leads, *, rel_tol: float = 1e-4, min_sd_mv: float = 0.01) -> list[tuple[str, str, int]]:
    """Chest leads that copy another lead, sample for sample: ``(lead, copied lead, sign)`` for each.

    A chest lead comes from its own electrode (never derived, unlike III or aVR), so it cannot equal another lead, nor
    minus one: a converter that wrote one lead twice. Over the 2,095 real records of the shared data no chest lead
    comes within 1 % of its SD of another lead (the closest: an electrode bridge, JS20016 V5-V6, 1.3 %; at most
    about half their samples equal), while a copy is equal to the last count (review s36d).

    Parameters
    ----------
    x
        Samples ``[L, T]`` (mV, finite): the band-passed window with its flat leads zeroed, as
        :func:`edfgen.kernels.ecg.preprocess.preprocess` judges it (raw, disconnected leads carrying one mains hum
        would be copies of each other).
    leads
        The names of the ``L`` leads; a chest lead is ``V1``-``V6``.
    rel_tol
        Largest difference at any sample for two leads to be copies, as a fraction of the chest lead's range (a
        copy is exact; real leads differ by 1 % of their SD or more; relative, so that a record 1000x too small is
        not all copies).
    min_sd_mv
        Leads whose robust SD (1.4826 x the median absolute deviation) is below this are left out: flat leads,
        constant or carrying only brief transients (disconnected chest leads share a pacing spike or a pop).

    Returns
    -------
    Each chest lead with the first (lower-row) lead it copies.
    """
    span = x.max(axis=1).astype(np.float64) - x.min(axis=1)
    chest = np.array([j for j, name in enumerate(leads) if str(name) in {f"V{k}" for k in range(1, 7)} and span[j] > 0],
                     dtype=np.int64)
    if not len(chest):
        return []
    # a copy is equal at every sample, so at ~256 spread over the window: pairs that differ there are no copies; the
    # robust SDs (two medians over the record) only for the leads of the pairs left: ~0.1 ms a record, not 1 ms
    sub = x[:, ::max(1, x.shape[1] // 256)].astype(np.float64)
    tol = rel_tol * span[chest][:, None]
    near = (np.abs(sub[chest][:, None] - sub[None]).max(-1) <= tol) | (np.abs(sub[chest][:, None] + sub[None]).max(-1) <= tol)
    near &= (np.arange(len(x))[None] < chest[:, None]) & (span[None] > 0)
    robust: dict[int, float] = {}

    def varying(k: int) -> bool:
        if k not in robust:
            robust[k] = robust_sd(x[k])    # (in x's own type, as before)
        return robust[k] >= min_sd_mv

    found = []
    for c, j in enumerate(chest):
        if near[c].any() and varying(j):       # the first (lower-row) lead it copies, + before -
            hit = next(((i, sign) for i in np.flatnonzero(near[c]) if varying(i) for sign in (1, -1)
                        if float(np.abs(x[j] - sign * x[i]).max()) <= rel_tol * span[j]), None)
            if hit is not None:
                found.append((str(leads[j]), str(leads[hit[0]]), hit[1]))
    return found


def noise_notes(y: np.ndarray, fs: float, leads, *, min_r: float = 0.1, min_sd_mv: float = 0.01) -> tuple[str, ...]:
    """The record note when the chest leads of the band-passed window ``y`` (``fs`` Hz) do not correlate (median
    absolute correlation of successive chest leads, :func:`chest_correlation`, below ``min_r``; none with fewer than 2
    pairs of varying chest leads or ``min_r`` 0): noise rather than an ECG.

    Judged 1 s away from the window's edges (when it is longer than 4 s): the shipped checkpoints' short odd filter
    extension leaves slow edge transients that raise white noise's median |r| to 0.12; without the edges it stays
    under 0.05 and the 2,095 real records give 0.27-0.998, with either extension."""
    edge = int(round(fs)) if y.shape[1] > 4 * fs else 0
    r = chest_correlation(y[:, edge:y.shape[1] - edge], leads, absolute=True, min_robust_sd=min_sd_mv) \
        if min_r > 0 else None
    if r is None or r >= min_r:
        return ()
    return (f"{NOTE_NOISE} chest leads do not correlate as an ECG's do (median |r| {r:.2f} of successive chest leads < "
            f"{min_r:g}; real ECGs 0.27-0.998): noise, no ECG?, kept",)


#: the largest median lead robust SD (mV) of an ECG in mV for :func:`spike_hint` (the 2,096 shared real records:
#: at most 0.70 mV)
ECG_ROBUST_SD_MV = 1.0


def spike_hint(x: np.ndarray, max_sd_mv: float) -> str | None:
    """Why a record's amplitude is implausible when its units are not to blame, else ``None``.

    A record rejected for its amplitude (a sample beyond ``max_abs_mv``, a median lead SD beyond ``max_median_sd_mv``)
    got the hint "are the samples in uV or ADC counts ...", also when one 900 mV sample (a spike, an electrode pop, a
    corrupt sample) had blown up the SD of an ECG in mV (review s36d). Units wrong by 1000 move every sample; a spike
    moves a few. So when the leads' robust SD (1.4826 x the median absolute deviation; the median over the leads) is
    that of an ECG in mV (at most :data:`ECG_ROBUST_SD_MV`; the shared real records reach 0.70 mV) and within
    ``max_sd_mv``, the bulk of the record is in range and the words say so; a gain wrong by 10-1000x moves the
    robust SD with every sample and keeps the units hint (review rev36c: a 20-200x gain had been called a spike).

    Parameters
    ----------
    x
        Samples ``[L, T]`` (mV, finite): raw, or band-passed.
    max_sd_mv
        The largest median lead SD of a record in mV (``QualityThresholds.max_median_sd_mv``).

    Returns
    -------
    The hint, or ``None`` when the bulk of the samples is out of range too (the units or gain are suspect).
    """
    robust = float(np.median(robust_sd(x, axis=1)))
    if not robust <= min(max_sd_mv, ECG_ROBUST_SD_MV):
        return None
    return (f"the rest of the record is in range (median lead robust SD {robust:.2g} mV): a spike, an electrode pop "
            "or corrupt samples?")


def pacing_notes(x: np.ndarray, fs: float, leads) -> tuple[str, ...]:
    """The record note when the raw samples ``x`` ``[L, T]`` (mV, ``fs`` Hz, leads named ``leads``) carry a pacemaker's
    stimulus train (:func:`edfgen.kernels.ecg.pacing.detect_pacing`, as ``edfgen interpret`` measures them).

    Paced rhythms are physiology, not a fault, but their EDFs differ (synthetic stimuli before each QRS of 5 real
    records moved them by 0.5-0.9 z) and GWAS of ECG traits usually leave paced ECGs out: the note lets a user do so
    (review s36d). The R peaks are only looked for when at least 3 stimulus-like spikes are (20 of 493 real 500 Hz
    records): 1 ms a record. Of those records the 7 paced LUDB records found by the delineator and PTB-XL 00385_hr
    ("pacemaker ekg") are noted; records below 250 Hz never are (``detect_pacing``).
    """
    row = {str(name): i for i, name in enumerate(leads)}
    rows = [row[n] for n in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6") if n in row]
    if fs < 250.0 or len(rows) < 2:
        return ()
    ind = x[rows].astype(np.float64)
    if len(spike_candidates(ind, fs)) < 3:
        return ()
    from edfgen.kernels.ecg.r_peaks import detect_r_peaks    # scipy's filters only for these records

    peaks = detect_r_peaks(ind, fs)
    pacing = detect_pacing(ind, fs, peaks) if len(peaks) >= 2 else None
    if pacing is None or not pacing.paced:
        return ()
    return (f"{NOTE_PACED} stimulus spikes {pacing.lag_s * 1000:.0f} ms before {pacing.beat_fraction:.0%} "
            "of the QRS complexes: a pacemaker?, kept",)


def _spike_amplitudes(x: np.ndarray, fs: float, spikes: np.ndarray, n_ref: int) -> np.ndarray:
    """``[L, S]``: each lead's spike at each of ``spikes``, the sample minus the mean of the samples 6 ms either
    side (the slow ECG beneath a 1-2 ms spike cancels), at the offset within +-2 ms where the median spike of the
    first ``n_ref`` leads is largest (one offset for every lead: an injected spike has one shape)."""
    k, m, T = max(1, round(0.006 * fs)), max(1, round(0.002 * fs)), x.shape[1]
    at = np.clip(spikes[:, None] + np.arange(-m, m + 1)[None], k, T - k - 1)          # [S, 2m + 1]
    d = x[:, at] - (x[:, at - k] + x[:, at + k]) / 2                                  # [L, S, 2m + 1]
    j = np.argmax(np.abs(np.median(d[:n_ref], axis=0)), axis=1)
    return d[:, np.arange(len(spikes)), j]


def injected_spikes(x: np.ndarray, fs: float, leads, *, min_mv: float = 0.1, rel_tol: float = 0.25,
                    min_spikes: int = 3, min_break: float = 0.5) -> str | None:
    """Why the raw record ``x`` ``[L, T]`` (mV, ``fs`` Hz, leads named ``leads``) carries spikes injected into the
    file, not recorded: ``None`` when it does not.

    A pacing stimulus reaches each lead with its own amplitude and sign (the leads see the stimulus's field from
    different directions), and the limb leads share it as they share everything, III = II - I, aVR = -(I + II) / 2
    ...: these are identities of the electrodes' potentials. Spikes of one amplitude on every independent lead (I,
    II, V1-V6), at least ``min_spikes`` of them (spread over the leads at most ``rel_tol`` of their median, which is
    at least ``min_mv``), that a stored limb lead does not share as the identities say (``min_break`` of the spike
    or more off, e.g. the same spike in III as in I and II) were written into the file after its leads were
    derived: no recording gives them.

    On the 2,095 real records of the shared data (PTB-XL, CinC 2021 and its extra records, LUDB) the stimulus-like
    spikes of at least 0.1 mV (4,960) spread over the independent leads by 77 % of their median or more, but for
    one record: CinC E07524 has 3 spikes of 1 mV within 11 % on every independent lead (no pacing: the recorder's
    markers?) whose stored III, aVR, aVL and aVF obey the identities; it is not flagged.

    Parameters
    ----------
    x
        Raw samples ``[L, T]`` (mV, finite).
    fs
        Sampling rate (Hz).
    leads
        The names of the ``L`` leads (the independent leads and at least one of III, aVR, aVL, aVF needed).
    min_mv, rel_tol, min_spikes, min_break
        As above.

    Returns
    -------
    str or None
        The reason's words, or ``None``.
    """
    row = {str(name): i for i, name in enumerate(leads)}
    stored = [n for n in ("III", "aVR", "aVL", "aVF") if n in row]
    if not stored or any(n not in row for n in DOWER_LEADS):
        return None
    ind = [row[n] for n in DOWER_LEADS]
    spikes = spike_candidates(x[ind].astype(np.float64), fs, min_mv=min_mv)
    if len(spikes) < min_spikes:
        return None
    amp = _spike_amplitudes(x[ind + [row[n] for n in stored]].astype(np.float64), fs, spikes, len(ind))
    amp, limb = amp[:len(ind)], amp[len(ind):]                                   # [8, S], [stored, S]
    med = np.median(amp, axis=0)
    same = (np.abs(med) >= min_mv) & (np.ptp(amp, axis=0) <= rel_tol * np.abs(med))
    if same.sum() < min_spikes:
        return None
    limb = limb[:, same]
    want = limb_leads(amp[0, same], amp[1, same])
    off = np.median(np.abs(limb - np.stack([want[n] for n in stored])), axis=1) / np.median(np.abs(med[same]))
    worst = int(np.argmax(off))
    if off[worst] < min_break:
        return None
    name = stored[worst]
    return (f"{int(same.sum())} spikes of {np.median(med[same]):.2g} mV, the same on every independent lead (I, II, "
            f"V1-V6 within {rel_tol:.0%}), that the stored {name} does not share as the limb-lead identities say "
            f"(III = II - I, aVR = -(I + II) / 2 ...; off by {off[worst]:.0%} of the spike): written into the file "
            "after its leads were derived (an acquisition artefact), not recorded; a real stimulus differs between "
            "leads (or a recorder's pace markers, drawn alike on every lead: the record may be paced; "
            "edfgen extract --keep-spike-markers keeps such records)")


def chest_order_gain(y: np.ndarray, leads, *, min_sd_mv: float = 0.01,
                     min_r: float = 0.3) -> tuple[float, str, str] | None:
    """The most that swapping two chest leads of the band-passed ``y`` ``[L, T]``, not neighbours in the order
    used, raises the sum of the correlations of neighbouring chest leads (V1-V2, ..., V5-V6), and that pair:
    ``(gain, lead, lead)``.

    The heart's field changes smoothly across the chest, so each chest lead is most like its neighbours; in the
    file's order the sum is (nearly) the largest any swap gives. With V1 and V6 swapped, swapping them back raises
    it by 2.2 (median; V2 and V5: 2.8). Swaps of neighbours (two of the five pairs changed: too little to tell from
    a real record, the swaps one noisy lead called for) are not considered. Left out of the order: leads whose
    robust SD (1.4826 x the median absolute deviation) is below ``min_sd_mv`` (flat, zeroed), and leads whose |r|
    with every other chest lead is below ``min_r`` (noise, an electrode off: 0.05 mV of noise in V4 reaches 0.11 at
    most in the 2,095 real records of the shared data; 12,511 of their 12,560 varying chest leads reach 0.3).

    Parameters
    ----------
    y
        Band-passed signal ``[L, T]`` (mV), leads named ``leads``.
    leads
        The lead names of ``y``'s rows; chest leads are ``V1``-``V6``.
    min_sd_mv
        Chest leads flatter than this are left out.
    min_r
        Chest leads correlating with no other chest lead by this much (absolute) are left out.

    Returns
    -------
    tuple of (float, str, str) or None
        ``(gain, lead, lead)``; ``None`` with fewer than 4 chest leads left.
    """
    row = {str(name): i for i, name in enumerate(leads)}
    names = [f"V{k}" for k in range(1, 7) if f"V{k}" in row]
    z = y[[row[n] for n in names]].astype(np.float64)
    live = robust_sd(z, axis=1) >= min_sd_mv
    names, z = [n for n, ok in zip(names, live) if ok], z[live]
    if len(z) < 4:
        return None
    z -= z.mean(axis=1, keepdims=True)
    z /= np.sqrt(np.einsum("ij,ij->i", z, z))[:, None]
    c = z @ z.T                                                   # [n, n] correlations
    alike = np.abs(c - np.eye(len(c))).max(axis=1) >= min_r       # like some other chest lead (not noise)
    names, c = [n for n, ok in zip(names, alike) if ok], c[np.ix_(alike, alike)]
    n = len(c)
    if n < 4:
        return None
    a, b = np.triu_indices(n, 2)                                  # every swap of two leads not neighbours
    perm = np.tile(np.arange(n), (len(a), 1))                     # [pairs, n]
    perm[np.arange(len(a)), a], perm[np.arange(len(a)), b] = b, a
    gain = c[perm[:, :-1], perm[:, 1:]].sum(axis=1) - np.trace(c, offset=1)
    k = int(np.argmax(gain))
    return float(gain[k]), names[a[k]], names[b[k]]


def chest_order_notes(y: np.ndarray, fs: float, leads, *, min_gain: float = 1.0,
                      min_sd_mv: float = 0.01) -> tuple[str, ...]:
    """The record note when swapping two chest leads of the band-passed window ``y`` (``fs`` Hz) raises the sum of
    neighbouring chest-lead correlations by more than ``min_gain`` (:func:`chest_order_gain`; judged 1 s from the
    window's edges, as :func:`noise_notes`): V1-V6 in a wrong order? A note, never a reject: a few real records
    are so (bundle-branch blocks, a wide QRS axis change across the chest).

    Measured on the 2,095 accepted real records of the shared data (PTB-XL 500 and 100 Hz, CinC 2021 and its extra
    records, LUDB; review s37known): 1 noted (0.05 %); the same records with V1 and V6 swapped 84.0 % noted, with V2
    and V5 87.5 %; with V3, V4 or V5 replaced by 0.05 mV of noise (an electrode off) 1 each (0.05 %; before noise
    leads were left out and neighbour swaps skipped: 5.7-9.6 %, and 5 of the 6 records noted as recorded named a
    swap of neighbours). Two neighbours swapped (V2 and V3 in CinC E07500) change two of the five pairs: not
    considered, not caught."""
    edge = int(round(fs)) if y.shape[1] > 4 * fs else 0
    found = chest_order_gain(y[:, edge:y.shape[1] - edge], leads, min_sd_mv=min_sd_mv) if min_gain > 0 else None
    if found is None or found[0] <= min_gain:
        return ()
    gain, a, b = found
    return (f"{NOTE_CHEST_ORDER} lead order doubtful: with {a} and {b} swapped, neighbouring chest leads would "
            f"correlate more (sum of r +{gain:.2f}; real records rarely above {min_gain:g}): chest leads in a wrong "
            "order (an export or electrode mistake)?, kept",)
