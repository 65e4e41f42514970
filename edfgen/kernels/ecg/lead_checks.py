"""Signs of a faulty recording that do not reject a record, only note it: QRS clipping and an inverted lead I.

What this module knows: two cheap checks whose result is a record note (``edfgen extract`` writes it to
``<out>.notes.tsv`` and counts it in the log), never a reject, since both can also be real physiology.

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
* :func:`chest_leads_agree`: whether a record varies as an ECG does, its neighbouring chest leads correlated (an
  ECG's are; the ADC noise of a leads-off record is not); consulted before naming units for a record 1000x too
  small.
"""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from edfgen.kernels.ecg.record import NOTE_CLIPPED, NOTE_LEAD_I_INVERTED


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


def lead_i_inverted(y: np.ndarray, fs: float, *, lead_i: int = 0) -> bool:
    """True when lead I's P, QRS and T are all negative (:func:`wave_signs`): LA/RA reversal or dextrocardia.

    aVR is not consulted: after a swap aVR shows the true aVL, upright or not (in a swap of PTB-XL 00002_hr it
    is negative), so the classic "and aVR upright" missed it. Lead I alone flags none of the real records in the
    shared data (of their 62 with a negative QRS in lead I, none has both P and T negative).
    """
    signs = wave_signs(y, fs, lead_i=lead_i)
    return signs is not None and signs[:3] == (-1, -1, -1)

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
    if "I" not in leads or not lead_i_inverted(y, fs, lead_i=leads.index("I")):
        return ()
    return (f"{NOTE_LEAD_I_INVERTED} lead I (P, QRS and T negative): left and right arm electrodes swapped, "
            "or dextrocardia?",)


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
    row = {name: i for i, name in enumerate(leads)}
    r = []
    for k in range(1, 6):
        a, b = row.get(f"V{k}"), row.get(f"V{k + 1}")
        if a is not None and b is not None and y[a].std() > 0 and y[b].std() > 0:
            r.append(np.corrcoef(y[a], y[b])[0, 1])
    return len(r) >= 1 and float(np.median(r)) >= min_r
