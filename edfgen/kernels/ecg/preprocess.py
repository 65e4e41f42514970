"""ECG preprocessing: canonical leads ▸ quality checks ▸ 500 Hz ▸ band-pass + notch ▸ 10 s window.

:func:`preprocess` turns one :class:`~edfgen.kernels.ecg.record.EcgRecord` into the model input
``float32 [12, prep.window_samples]`` (mV) exactly as the checkpoint's
:class:`~edfgen.kernels.ecg.preprocessing_config.Preprocessing` says; :func:`preprocess_many` does the
same for a list of records with the filtering vectorised over records of equal length (the fast
path used by ``edfgen extract``).

Steps, in order
---------------
1. **Leads**: names/aliases mapped to the canonical order; missing III, aVR, aVL, aVF derived
   from I and II (:func:`edfgen.kernels.ecg.leads.canonicalise_leads`); any other missing lead rejects.
2. **Missing samples** (:func:`keep_finite_stretch`): NaN/inf samples (WFDB's missing value, a
   multi-segment record's gap, a lead absent from a segment) are never filtered or filled in: the
   record is cut to its longest stretch where every lead has a finite sample, said in its ``notes``,
   and rejected when that stretch is shorter than ``min_duration_s`` (a gap that leaves less than 8 s).
   Missing samples at the start or end thus cost only those seconds, as in a long recording with a gap,
   where the window is then taken from the longest clean stretch. A lead with no finite sample at all
   (a disconnected electrode, e.g. in MIMIC-IV-ECG) is set to zeros and treated as a flat lead (step 6:
   counted against ``max_flat_leads``, noted ``"zeroed ..."``); more than ``max_flat_leads`` reject.
   **Flat edges** (:func:`trim_flat_edges`): a segment at the start or end of the recording where
   every (non-constant) lead holds its value, a common device artefact (many PTB-XL records end in
   ~0.1 s of held samples), is trimmed and reported in the record's ``notes``, never a reason to
   reject (a fill value reached by a jump, e.g. padding at the digital minimum, is cut whole); the
   shortened record then goes through the window policy below.
3. **Window** (explicit policy): a record longer than ``window_s`` is **centre-cropped** (with
   a 2 s margin each side kept until after filtering, so filter edge effects fall outside the
   window); a record shorter than ``window_s`` but at least ``min_duration_s`` long is filtered and
   then **zero-padded at the end** (said in its ``notes``); a shorter record rejects.
   **Raw quality**, judged on the samples used (the cropped window and its margins, the whole trimmed
   record when shorter): a lead with a run of at least ``saturation_run_s`` seconds at its own minimum or
   maximum value *inside* the signal (clipping, a saturated amplifier) rejects, as does a sample more than
   ``max_abs_mv`` from its lead's median (not millivolts), as do spikes of one amplitude on every independent
   lead that the stored limb leads do not share as Einthoven's law says (written into the file, not recorded:
   :func:`edfgen.kernels.ecg.lead_checks.injected_spikes`). A long (Holter) record is thus not rejected for
   a brief electrode pop or saturation outside its centre window; one inside that window rejects it, the
   reason saying which seconds were used. The window is not moved to a cleaner stretch: every record's
   window is the same, predictable one (the centre), chosen without looking at its quality, so the
   embedding never depends on where artefacts happen to lie. Noted, not rejected: a centre crop (which seconds
   were used) and a lead whose peaks are clipped at one value on several beats
   (:func:`edfgen.kernels.ecg.lead_checks.clipped_leads`: saturation on each QRS, too brief to reject).
4. **Resampling** to ``sampling_rate`` (500 Hz) with ``scipy.signal.resample_poly`` (polyphase,
   rational factor up/down, Kaiser-windowed anti-aliasing FIR), the record's ends extended as
   ``resample_padding`` says (a mirror for new checkpoints; zeros, a step at the end, for the shipped ones).
5. **Filtering**: zero-phase (forward-backward, ``sosfiltfilt``) 4th-order Butterworth band-pass
   ``highpass_hz``–``lowpass_hz`` (a high-pass only when ``lowpass_hz`` ≥ Nyquist) cascaded with an
   IIR notch (Q = 30) at each ``notch_hz`` below Nyquist; the record's edges are extended as
   ``filter_padding`` says (a 2 s mirror by default; the shipped checkpoints keep the short odd extension
   they were trained with).
6. **Flat leads**: a lead whose filtered standard deviation (within the real, unpadded samples)
   is below ``flat_std_mv`` is flat; more than ``max_flat_leads`` (default 3) flat leads reject
   the record, fewer are set to exact zeros and noted (``"zeroed lead(s) ..."``, see :class:`QualityThresholds`). A median lead SD above
   ``max_median_sd_mv`` rejects: the samples are not millivolts (µV or ADC counts, a wrong gain); every lead flat
   but varying as an ECG 1000x smaller (neighbouring chest leads correlated, unlike the ADC noise of a leads-off
   record: :func:`~edfgen.kernels.ecg.lead_checks.chest_leads_agree`) names the opposite mistake (V, or mV labelled
   µV). A chest lead equal to another lead (or minus one) at every sample, flat leads aside (disconnected leads
   carrying one mains hum are flat, not copies), rejects (written twice by the export). Chest leads that do not
   correlate (``min_chest_r``: noise, no ECG?) are noted, and so is a lead I whose P and QRS are negative
   (:func:`edfgen.kernels.ecg.lead_checks.lead_i_inverted`: arm electrodes swapped?).

A rejected record raises :class:`~edfgen.kernels.ecg.record.RecordRejected` with the reason; batch code
catches it and writes ``rejects.tsv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import lru_cache
from typing import Iterable

import numpy as np
from scipy import signal as sps

from edfgen.kernels.ecg.lead_checks import (chest_leads_agree, chest_order_notes, clipping_notes, duplicated_leads,
                                           injected_spikes, inversion_notes, noise_notes, pacing_notes, rail_runs, spike_hint)
from edfgen.kernels.ecg.leads import canonicalise_leads
from edfgen.kernels.ecg.record import (NOTE_CROPPED, NOTE_FLAT_EDGE, NOTE_MISSING, NOTE_PADDED, NOTE_ZEROED, EcgRecord,
                                      RecordRejected)
from edfgen.kernels.ecg.preprocessing_config import Preprocessing

#: seconds of signal kept on each side of the window until after filtering
EDGE_MARGIN_S = 2.0
#: the likely causes named when amplitudes are implausible for millivolts
_UNITS_HINT = "are the samples in uV or ADC counts, or the gain/units per bit wrong? (.npz: set units)"
#: ... and when every lead is flat but varies as an ECG 1000x smaller would (median SD x 1000 within 0.03-1 mV, real
#: ECGs 0.06-0.54; neighbouring chest leads correlated, unlike leads-off ADC noise): a file whose samples are in V,
#: or in mV labelled uV (review s35c, rev35)
_SMALL_UNITS_HINT = "are the samples in V, or in mV labelled uV, or the gain/units per bit wrong? (.npz: set units)"
#: the note of a lead without any sample, zeroed (:func:`keep_finite_stretch`)
_MISSING_LEAD = "no sample present (missing), kept as zeros like a flat lead"
#: lowest sampling rate (Hz) a record may have: below it the QRS complex (content to ~40 Hz) is not
#: represented, and a header's absurd rate (1e-300 Hz) would ask the resampler for an astronomically
#: long filter; 100-Hz records (PTB-XL's low-resolution set) are above it
MIN_FS_HZ = 50.0


@dataclass(frozen=True)
class QualityThresholds:
    """Quality-check thresholds (keyword defaults documented here).

    Attributes
    ----------
    flat_std_mv
        A lead whose band-passed standard deviation is below this (mV) is flat (default 0.01 mV;
        real leads are ~0.05–0.5 mV).
    saturation_run_s
        A run of at least this many seconds at the lead's minimum or maximum value is clipping
        (default 0.1 s; a real ECG never stays at its extreme value for 100 ms), when that extreme
        is a rail (see ``rail_fraction``). Held segments at the start or end of the recording are
        trimmed before this check (:func:`trim_flat_edges`).
    rail_fraction
        An extreme counts as a recorder limit only when it lies at least this fraction of the lead's
        range away from the median of the lead's other samples (default 0.5; other samples, so that a lead stuck
        at its rail for most of the window is still caught: :func:`~edfgen.kernels.ecg.lead_checks.rail_runs`).
    max_flat_leads
        A record with more flat leads than this is rejected (default 3). Up to this many flat
        leads are kept as exact zeros: real databases contain records with a few disconnected
        chest leads (e.g. 2 of the 40 PhysioNet/CinC 2021 records have V2, V4, V6 all zero), and
        the encoder, pre-trained with masking, tolerates them. Set 0 to reject any flat lead.
    max_median_sd_mv
        A record whose leads' median band-passed standard deviation is above this (mV) is rejected (default
        5 mV): its samples are not millivolts (µV or ADC counts read as mV, a wrong gain or units per bit).
        Over the 2,095 accepted real records of PTB-XL (500 and 100 Hz), CinC 2021 and LUDB the median lead
        SD is 0.058–0.538 mV, so the bound is 9 times the largest.
    clip_plateau_s, clip_plateaus, clip_rail_fraction
        QRS clipping, a note and not a reject (:func:`edfgen.kernels.ecg.lead_checks.clipped_leads`): a lead with at
        least ``clip_plateaus`` (default 3) plateaus of at least ``clip_plateau_s`` (10 ms) at its own minimum or
        maximum value, that value at least ``clip_rail_fraction`` (0.25) of the lead's range from its median, is
        noted ``"clipped ..."``. ``clip_plateaus`` 0 turns the check off.
    min_chest_r
        A record whose successive varying chest leads correlate (median absolute correlation, band-passed window 1 s from its edges:
        :func:`~edfgen.kernels.ecg.lead_checks.chest_correlation`) below this is noted ``"noise ..."`` (no ECG?; default
        0.1; real records 0.27-0.998, white noise |r| < 0.02); a note, not a reject. 0 turns the check off.
    max_abs_mv
        A sample farther than this (mV) from its lead's median rejects the record before filtering (default
        1000 mV; real records reach 11.5 mV with baseline wander, an ECG amplifier's input range is a few
        hundred mV): a corrupt sample or a calibration off by orders of magnitude.
    reject_injected_spikes
        ``False`` keeps records whose spikes look injected (:func:`~edfgen.kernels.ecg.lead_checks.injected_spikes`):
        a paced ECG whose machine drew pace markers of one size into every stored lead (default ``True``: rejected).
    """

    flat_std_mv: float = 0.01
    saturation_run_s: float = 0.1
    max_flat_leads: int = 3
    rail_fraction: float = 0.5
    max_median_sd_mv: float = 5.0
    max_abs_mv: float = 1000.0
    clip_plateau_s: float = 0.01
    clip_plateaus: int = 3
    clip_rail_fraction: float = 0.25
    min_chest_r: float = 0.1
    reject_injected_spikes: bool = True


DEFAULT_QUALITY = QualityThresholds()


@lru_cache(maxsize=64)
def filter_sos(fs: float, highpass_hz: float, lowpass_hz: float, notch_hz: tuple[float, ...],
               order: int = 4, notch_q: float = 30.0) -> np.ndarray:
    """Second-order sections of the band-pass (Butterworth) cascaded with the notches.

    Returns
    -------
    sos : ``[n_sections, 6]``
    """
    nyq = fs / 2.0
    if lowpass_hz is not None and lowpass_hz < nyq * 0.99:
        sos = sps.butter(order, [highpass_hz, lowpass_hz], btype="bandpass", fs=fs, output="sos")
    else:
        sos = sps.butter(order, highpass_hz, btype="highpass", fs=fs, output="sos")
    parts = [sos]
    for f0 in notch_hz:
        if 0 < f0 < nyq * 0.99:
            b, a = sps.iirnotch(f0, notch_q, fs=fs)
            parts.append(sps.tf2sos(b, a))
    return np.concatenate(parts, axis=0)


def bandpass_notch(x: np.ndarray, *, prep: Preprocessing, fs: float | None = None) -> np.ndarray:
    """Zero-phase band-pass + notch filter along the last axis of ``x`` (any leading shape).

    Parameters
    ----------
    x
        ``[..., T]`` in mV, sampled at ``fs`` (default ``prep.sampling_rate``).

    Returns
    -------
    ``float32 [..., T]``
    """
    fs = float(fs or prep.sampling_rate)
    sos = filter_sos(fs, float(prep.highpass_hz), float(prep.lowpass_hz), tuple(float(f) for f in prep.notch_hz))
    if prep.filter_padding == "odd":   # scipy's default extension (checkpoints saved before filter_padding)
        padtype, padlen = "odd", 3 * (2 * len(sos) + 1)
    else:
        padtype, padlen = "even", int(round(2 * fs))
    return sps.sosfiltfilt(sos, x, axis=-1, padtype=padtype,
                           padlen=min(padlen, x.shape[-1] - 1)).astype(np.float32, copy=False)


def resample(x: np.ndarray, fs_in: float, fs_out: float, *, padding: str = "constant") -> np.ndarray:
    """Polyphase resampling along the last axis by the rational factor ``fs_out / fs_in``.

    The factor is approximated by a fraction with denominator ≤ 1000 (exact for integer rates). ``padding``
    is how the anti-aliasing filter sees beyond the record's ends (``scipy.signal.resample_poly``'s ``padtype``,
    :attr:`~edfgen.kernels.ecg.preprocessing_config.Preprocessing.resample_padding`): ``"constant"`` (zeros)
    pulls the last samples towards 0 mV, a step that the band-pass then spreads back into the window.
    """
    if float(fs_in) == float(fs_out):
        return x
    frac = Fraction(float(fs_out) / float(fs_in)).limit_denominator(1000)
    return sps.resample_poly(x, frac.numerator, frac.denominator, axis=-1,
                             padtype=padding).astype(np.float32, copy=False)


def _held_edges(x: np.ndarray, need: int) -> tuple[int, int, bool]:
    """Samples to cut at the start and end, and whether a jump was cut.

    A held stretch of at least ``need`` + 1 samples is cut less one sample of the held value, unless that value
    is reached by a jump, a change larger than every other sample-to-sample change (between the first and last
    change) in more than half of the changing leads: a file padded at the digital minimum (-32.768 mV) or with a
    constant far from the signal. Then the whole stretch goes. A device's held last value starts with an
    ordinary change: on 353 PTB-XL records at 500 Hz its ratio to the lead's largest change is at most 0.02;
    at 41,920 random positions of real records at most 0.98; a -32.768 mV pad gives at least 3.8.
    """
    dx = np.diff(x, axis=1)                                 # [L, T-1]
    changes = dx != 0
    moving = changes.any(axis=1)
    if not moving.any():
        return 0, 0, False
    idx = np.flatnonzero(changes[moving].any(axis=0))
    T = x.shape[1]
    head = int(idx[0])                                      # samples 0..head equal sample head
    tail = T - 1 - int(idx[-1] + 1)                         # samples after idx[-1]+1 equal it
    head = head if head >= need else 0
    tail = tail if tail >= need else 0
    if not head and not tail:
        return 0, 0, False
    d = np.abs(dx[moving])
    inner = d[:, int(idx[0]) + 1:int(idx[-1])]              # every change but the first and the last
    largest = inner.max(axis=1) if inner.shape[1] else np.zeros(len(d))
    jump_head = bool(head) and 2 * int(np.count_nonzero(d[:, head] > largest)) > len(d)
    jump_tail = bool(tail) and 2 * int(np.count_nonzero(d[:, int(idx[-1])] > largest)) > len(d)
    return head + jump_head, tail + jump_tail, jump_head or jump_tail


def trim_flat_edges(record: EcgRecord, *, min_s: float = 0.02) -> EcgRecord:
    """Trim a held (flat) segment at the start and/or end of a recording.

    The head ends at the first sample where any lead changes value; the tail starts after the last
    sample where any lead changes (leads that never change are ignored: they are flat leads, judged
    later). One sample of the held value is kept (a device's held last value is a real sample), unless
    the held value is reached by a jump (:func:`_held_edges`: padding at the digital minimum, a fill
    constant), which is cut whole; the trim is then repeated, since a padded record's own held end
    appears under the padding. Segments shorter than ``min_s`` are kept. A record with NaN/inf samples is
    returned unchanged (:func:`keep_finite_stretch` cuts them first; :func:`check_raw_quality` rejects any left).

    Returns
    -------
    EcgRecord
        The same record, or a shortened copy whose ``notes`` say how much was trimmed
        (``"trimmed 0.100 s flat end"``).
    """
    x = record.signal
    if x.shape[1] < 3 or not np.isfinite(x).all():
        return record
    need = max(1, int(round(min_s * record.fs)))
    a, b, jumped = 0, x.shape[1], True
    while jumped and b - a >= 3:  # after a jump is cut, the record's own held edge may lie under it
        head, tail, jumped = _held_edges(x[:, a:b], need)
        a, b = a + head, b - tail
    head, tail = a, x.shape[1] - b
    if not head and not tail:
        return record
    notes = [f"{NOTE_FLAT_EDGE} {n / record.fs:.3f} s flat {where}" for n, where in ((head, "start"), (tail, "end")) if n]
    return replace(record, signal=x[:, a:b], notes=record.notes + tuple(notes))


def keep_finite_stretch(record: EcgRecord, *, min_s: float = 0.0, max_absent: int = 0) -> EcgRecord:
    """Cut a record to its longest stretch where every lead has a finite sample.

    A lead with no finite sample at all (a disconnected electrode stored as NaN, common in MIMIC-IV-ECG) is,
    up to ``max_absent`` such leads, set to zeros and said in ``notes`` (``"zeroed lead(s) V3: no sample
    present ..."``): it is then a flat lead, counted against ``max_flat_leads`` and kept as zeros like a
    recorded flat lead (:func:`_check_flat`); the other leads decide the stretch.

    Real files mark samples as missing (WFDB's ``-32768``, read as NaN; a multi-segment record's gap or a
    lead absent from one segment). Nothing is filled in: the
    longest run of samples finite in every lead is kept (the first such run on ties) and the cut is
    said in ``notes`` (``"cut to its longest stretch without missing (NaN/inf) samples: 9.500 s from 0.000 s
    (of 10.000 s)"``).

    Parameters
    ----------
    record
        Leads already canonical (a derived lead is missing wherever its sources are).
    min_s
        Shortest stretch that may be kept (the checkpoint's ``min_duration_s``).
    max_absent
        Most leads without any finite sample that are zeroed instead of rejecting (``preprocess`` passes
        ``max_flat_leads``; 0: any such lead rejects).

    Returns
    -------
    EcgRecord
        ``record`` itself when every sample is finite, else the cut (or zeroed) copy.

    Raises
    ------
    RecordRejected
        When no stretch of at least ``min_s`` seconds (and at least one sample) is finite in every lead, or more
        than ``max_absent`` leads have no sample; the reason names the first lead with missing samples and the
        longest stretch, or the leads without a sample.
    """
    x = record.signal
    finite = np.isfinite(x)
    if finite.all():
        return record
    absent = ~finite.any(axis=1)
    if 0 < absent.sum() <= max_absent and not absent.all():
        x = x.copy()
        x[absent] = 0.0
        finite[absent] = True
        names = ", ".join(record.leads[i] for i in np.flatnonzero(absent))
        record = replace(record, signal=x, notes=record.notes + (
            f"{NOTE_ZEROED} lead(s) {names}: {_MISSING_LEAD}",))
        if finite.all():
            return record
    ok = finite.all(axis=0)
    padded = np.diff(np.r_[0, ok.astype(np.int8), 0])
    starts, ends = np.flatnonzero(padded == 1), np.flatnonzero(padded == -1)
    k = int(np.argmax(ends - starts)) if len(starts) else -1
    a, b = (int(starts[k]), int(ends[k])) if k >= 0 else (0, 0)
    if b - a == 0 or (b - a) / record.fs + 1e-9 < min_s:
        bad = np.flatnonzero(~finite.all(axis=1))
        absent = [record.leads[i] for i in bad if not finite[i].any()]
        why = (f"no sample present in lead(s) {', '.join(absent)}"
               + (f" (at most {max_absent} such lead(s) zeroed like flat leads)" if max_absent else "") if absent else
               f"the longest stretch without missing samples is {(b - a) / record.fs:.2f} s"
               + (f" < min_duration_s {min_s:g} s" if min_s else ""))
        raise RecordRejected(f"lead {record.leads[bad[0]]}: {_missing_words(record, finite, bad)}; {why}",
                             record_id=record.record_id, path=record.path)
    note = (f"{NOTE_MISSING} to its longest stretch without missing (NaN/inf) samples: {(b - a) / record.fs:.3f} s "
            f"from {a / record.fs:.3f} s (of {x.shape[1] / record.fs:.3f} s)"
            + (f" (the file holds {record.missing_note})" if record.missing_note else ""))
    return replace(record, signal=x[:, a:b], notes=record.notes + (note,))


def _missing_words(record: EcgRecord, finite: np.ndarray, bad: np.ndarray) -> str:
    """How many samples the first lead of ``bad`` (rows with a non-finite sample) misses, and how many leads do: in
    the file's terms where its reader knows them (:attr:`EcgRecord.missing_note`: WFDB's -32768, not "NaN/inf")."""
    n, held = int((~finite[bad[0]]).sum()), f"; the file holds {record.missing_note}" if record.missing_note else ""
    return f"{n} {'missing' if held else 'NaN/inf'} samples ({len(bad)} lead(s) affected{held})"


def check_raw_quality(record: EcgRecord, *, quality: QualityThresholds = DEFAULT_QUALITY) -> None:
    """Reject NaN/inf samples, implausible amplitudes, saturated (clipped) leads and spikes injected into the file
    (:func:`~edfgen.kernels.ecg.lead_checks.injected_spikes`); see the module docstring."""
    x = record.signal
    finite = np.isfinite(x)
    if not finite.all():
        bad = np.flatnonzero(~finite.all(axis=1))
        raise RecordRejected(f"lead {record.leads[bad[0]]}: {_missing_words(record, finite, bad)}",
                             record_id=record.record_id, path=record.path)
    if not x.size:
        return
    med = np.median(x, axis=1, keepdims=True)
    lo = x.min(axis=1, keepdims=True)
    hi = x.max(axis=1, keepdims=True)
    # the farthest sample from the median is an extreme: no record-sized float64 copy (a Holter's is GBs)
    dev = np.maximum(hi.astype(np.float64) - med, med - lo.astype(np.float64))[:, 0]
    if dev.max() > quality.max_abs_mv:
        i = int(np.argmax(dev))
        raise RecordRejected(f"implausible amplitude for mV: lead {record.leads[i]} has a sample {dev[i]:.3g} mV "
                             f"from its median (> max_abs_mv {quality.max_abs_mv:g}): "
                             f"{spike_hint(x, quality.max_median_sd_mv) or _UNITS_HINT}",
                             record_id=record.record_id, path=record.path)
    run = max(2, int(round(quality.saturation_run_s * record.fs)))
    longest = rail_runs(x, run, rail_fraction=quality.rail_fraction) if x.shape[1] >= run else np.zeros(1)
    if longest.max() >= run:
        i = int(np.flatnonzero(longest >= run)[0])
        raise RecordRejected(f"lead {record.leads[i]}: saturated ({longest[i] / record.fs:.2f} s at its "
                             f"min/max value, clipping)", record_id=record.record_id, path=record.path)
    injected = injected_spikes(x, record.fs, record.leads) if quality.reject_injected_spikes else None
    if injected:
        raise RecordRejected(injected, record_id=record.record_id, path=record.path)


def _prepare(record: EcgRecord, prep: Preprocessing, quality: QualityThresholds) -> tuple[np.ndarray, EcgRecord]:
    """Leads, missing samples and flat edges, crop with margin, raw checks on what is kept, resample.

    The raw checks judge only the samples used (the centre window and its filter margins): a brief artefact
    elsewhere in a long (Holter) record does not reject it, one inside the centre window does (the window is
    not moved; module docstring, step 3). The returned record carries only the cropped signal, so a long
    record's full signal is freed as soon as it is cropped.

    Returns
    -------
    (signal at ``prep.sampling_rate``, prepared record)
    """
    if not record.fs >= MIN_FS_HZ:
        raise RecordRejected(f"sampling rate {record.fs:g} Hz is below {MIN_FS_HZ:g} Hz (too coarse for an ECG; "
                             "a wrong rate in the file?)", record_id=record.record_id, path=record.path)
    rec = canonicalise_leads(record, leads=prep.leads)
    rec = trim_flat_edges(keep_finite_stretch(rec, min_s=prep.min_duration_s, max_absent=quality.max_flat_leads))
    dur = rec.duration_s
    if dur + 1e-9 < prep.min_duration_s:
        raise RecordRejected(f"too short: {dur:.3f} s ({rec.signal.shape[1]} samples at {rec.fs:g} Hz) < "
                             f"min_duration_s {prep.min_duration_s:g} s", record_id=rec.record_id, path=rec.path)
    keep = int(round((prep.window_s + 2 * EDGE_MARGIN_S) * rec.fs))
    T = rec.signal.shape[1]
    start = (T - keep) // 2 if T > keep else 0
    if T > keep:   # a copy: the record's full signal (45 MB for 30 min at 257 Hz) is not kept alive by a view
        rec = replace(rec, signal=np.ascontiguousarray(rec.signal[:, start:start + keep]))
    try:
        check_raw_quality(rec, quality=quality)
    except RecordRejected as exc:
        if T <= keep:
            raise
        raise RecordRejected(f"{exc.reason} in the {keep / rec.fs:g} s used (the centre {prep.window_s:g} s window "
                             f"and its margins, from {start / rec.fs:.3f} s of {dur:.3f} s)",
                             record_id=rec.record_id, path=rec.path) from None
    rec = replace(rec, notes=rec.notes + _window_notes(rec, dur, prep, quality))
    x = resample(rec.signal, rec.fs, prep.sampling_rate, padding=prep.resample_padding)
    if x.shape[1] < prep.window_samples:  # _window pads it: said, so a user sees which records were padded
        pad = (prep.window_samples - x.shape[1]) / prep.sampling_rate
        rec = replace(rec, notes=rec.notes + (f"{NOTE_PADDED} {pad:.3f} s at the end (record {dur:.3f} s < "
                                              f"window {prep.window_s:g} s)",))
    return x, rec


def _window_notes(rec: EcgRecord, dur: float, prep: Preprocessing, quality: QualityThresholds) -> tuple[str, ...]:
    """Notes on the samples used (``rec``, cropped with its margins) of a record of ``dur`` seconds (after trims):
    centre-cropped to the window, QRS peaks clipped (:func:`edfgen.kernels.ecg.lead_checks.clipped_leads`)."""
    cropped = (f"{NOTE_CROPPED} to the {prep.window_s:g} s window from {(dur - prep.window_s) / 2:.3f} s of "
               f"{dur:.3f} s",) if dur > prep.window_s + 0.5 / rec.fs else ()
    return cropped + clipping_notes(rec.signal, rec.fs, rec.leads, plateau_s=quality.clip_plateau_s,
                                    min_plateaus=quality.clip_plateaus, rail_fraction=quality.clip_rail_fraction) \
        + pacing_notes(rec.signal, rec.fs, rec.leads)


def _window(x: np.ndarray, prep: Preprocessing) -> tuple[np.ndarray, int]:
    """Centre-crop or zero-pad (at the end) the last axis to ``prep.window_samples``."""
    W, T = prep.window_samples, x.shape[-1]
    if T >= W:
        start = (T - W) // 2
        return x[..., start:start + W], W
    out = np.zeros(x.shape[:-1] + (W,), dtype=np.float32)
    out[..., :T] = x
    return out, T


def _check_flat(x: np.ndarray, n_real: int, record: EcgRecord, prep: Preprocessing,
                quality: QualityThresholds) -> list[str]:
    """Reject implausibly large amplitudes, more than ``max_flat_leads`` flat leads and a chest lead copying another
    (:func:`~edfgen.kernels.ecg.lead_checks.duplicated_leads`, judged once the flat leads are zeroed); zero the
    tolerated flat leads in place and return their names."""
    big = float(np.median(x[:, :n_real].std(axis=1, dtype=np.float64)))
    if not big <= quality.max_median_sd_mv:
        raise RecordRejected(f"implausible amplitude for mV: median lead SD {big:.3g} mV after the band-pass "
                             f"(> max_median_sd_mv {quality.max_median_sd_mv:g}; real ECGs 0.06-0.54): "
                             f"{spike_hint(x[:, :n_real], quality.max_median_sd_mv) or _UNITS_HINT}",
                             record_id=record.record_id, path=record.path)
    sd = x[:, :n_real].std(axis=1)
    flat = np.flatnonzero(sd < quality.flat_std_mv)
    if len(flat) > quality.max_flat_leads:
        names = [prep.leads[i] for i in flat]
        med = float(np.median(sd))
        small = (f": every lead 1000x below an ECG's (median SD {med:.2g} mV): {_SMALL_UNITS_HINT}"
                 if len(flat) == len(sd) and 0.03 <= 1000 * med <= 1.0
                 and chest_leads_agree(x[:, :n_real], prep.leads) else "")
        raise RecordRejected(f"{len(flat)} flat lead(s) {', '.join(names)} (band-passed SD {sd[flat[0]]:.2g} mV < "
                             f"{quality.flat_std_mv:g} mV; at most {quality.max_flat_leads} tolerated){small}",
                             record_id=record.record_id, path=record.path)
    x[flat] = 0.0                                       # the tolerated flat leads (none: a no-op)
    dup = duplicated_leads(x[:, :n_real], prep.leads, min_sd_mv=quality.flat_std_mv)   # flat leads are not copies
    if dup:
        said = "; ".join(f"{a} = {'' if sign > 0 else '-'}{b}" for a, b, sign in dup)
        raise RecordRejected(f"duplicated lead(s) {said} (every sample): one lead written twice by the export, or "
                             "electrodes off?", record_id=record.record_id, path=record.path)
    return [prep.leads[i] for i in flat]


def _zeroed_missing(record: EcgRecord) -> set[str]:
    """The leads :func:`keep_finite_stretch` zeroed for having no sample (named in its note)."""
    return {name for note in record.notes if note.startswith(f"{NOTE_ZEROED} lead(s) ") and _MISSING_LEAD in note
            for name in note[len(f"{NOTE_ZEROED} lead(s) "):note.index(":")].split(", ")}


def preprocess(record: EcgRecord, prep: Preprocessing = Preprocessing(), *,
               quality: QualityThresholds = DEFAULT_QUALITY) -> np.ndarray:
    """One record -> model input.

    Parameters
    ----------
    record
        As read by :mod:`edfgen.formats.ecg.records` or built from arrays (any lead names/order, any rate, mV).
    prep
        The checkpoint's preprocessing contract.
    quality
        Quality-check thresholds.

    Returns
    -------
    ``float32 [len(prep.leads), prep.window_samples]`` in mV.

    Raises
    ------
    RecordRejected
        With the reason (missing or duplicated lead, NaN, saturated, flat, too short).
    """
    x, _ = _prepare(record, prep, quality)
    y = bandpass_notch(x, prep=prep)
    y, n_real = _window(y, prep)
    _check_flat(y, n_real, record, prep, quality)
    return np.ascontiguousarray(y, dtype=np.float32)


@dataclass(frozen=True)
class PreprocessedBatch:
    """Result of :func:`preprocess_many`.

    Attributes
    ----------
    signals
        ``float32 [n_ok, 12, window_samples]``.
    record_ids
        The ``n_ok`` accepted records, in input order.
    rejects
        ``(record_id, path, reason)`` for each rejected record.
    notes
        ``(record_id, path, note)`` for accepted records that were changed on the way (flat edges
        trimmed, limb leads derived, zero-padded to the window), in input order.
    """

    signals: np.ndarray
    record_ids: list[str]
    rejects: list[tuple[str, str, str]]
    notes: list[tuple[str, str, str]] = field(default_factory=list)


def preprocess_many(records: Iterable[EcgRecord | RecordRejected], prep: Preprocessing = Preprocessing(), *,
                    quality: QualityThresholds = DEFAULT_QUALITY) -> PreprocessedBatch:
    """Preprocess several records, filtering records of equal length together (vectorised).

    Gives the same result as :func:`preprocess` on each record. ``records`` may contain
    :class:`RecordRejected` items (read failures), which are passed through to ``rejects``. It may be a
    generator (:func:`edfgen.formats.ecg.records.read_records_iter`): each record is cropped to its window
    (:func:`_prepare`) before the next is read, so memory holds one full record at a time, not a batch of them.
    """
    W = prep.window_samples
    n_leads = len(prep.leads)
    prepared: list[tuple[int, EcgRecord, np.ndarray | None]] = []   # None once filtered
    rejects: dict[int, tuple[str, str, str]] = {}
    for i, item in enumerate(records):
        if isinstance(item, RecordRejected):
            rejects[i] = (item.record_id, item.path, item.reason)
            continue
        try:
            x, rec = _prepare(item, prep, quality)      # rec carries only the cropped signal
            prepared.append((i, rec, x))
        except RecordRejected as exc:
            rejects[i] = (item.record_id, item.path, exc.reason)
        del item             # before the next record is read: one full record in memory at a time
    out: dict[int, np.ndarray] = {}
    by_len: dict[int, list[int]] = {}
    for k, (_, _, x) in enumerate(prepared):
        by_len.setdefault(x.shape[1], []).append(k)
    for T, ks in by_len.items():
        stack = np.stack([prepared[k][2] for k in ks])
        y = bandpass_notch(stack, prep=prep)
        y, n_real = _window(y, prep)
        for j, k in enumerate(ks):
            i, rec, _ = prepared[k]
            try:
                flat = _check_flat(y[j], n_real, rec, prep, quality)
            except RecordRejected as exc:
                rejects[i] = (rec.record_id, rec.path, exc.reason)
                continue
            flat = [n for n in flat if n not in _zeroed_missing(rec)]     # said once, as missing
            if flat:
                note = f"{NOTE_ZEROED} lead(s) {', '.join(flat)}: flat (band-passed SD < {quality.flat_std_mv:g} mV)"
                rec = replace(rec, notes=rec.notes + (note,))
            rec = replace(rec, notes=rec.notes + inversion_notes(y[j], prep.sampling_rate, prep.leads)
                          + noise_notes(y[j, :, :n_real], prep.sampling_rate, prep.leads, min_r=quality.min_chest_r,
                                        min_sd_mv=quality.flat_std_mv)
                          + chest_order_notes(y[j, :, :n_real], prep.sampling_rate, prep.leads, min_sd_mv=quality.flat_std_mv))
            prepared[k] = (i, rec, None)
            out[i] = y[j]
    order = sorted(out)
    signals = np.stack([out[i] for i in order]).astype(np.float32, copy=False) if order \
        else np.zeros((0, n_leads, W), dtype=np.float32)
    kept = {i: rec for i, rec, _ in prepared if i in out}
    ids = [kept[i].record_id for i in order]
    notes = [(kept[i].record_id, kept[i].path, note) for i in order for note in kept[i].notes]
    return PreprocessedBatch(signals=np.ascontiguousarray(signals), record_ids=ids,
                             rejects=[rejects[i] for i in sorted(rejects)], notes=notes)
