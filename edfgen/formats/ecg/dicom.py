"""12-lead ECGs stored as DICOM waveforms (``.dcm``: hospital PACS and cart exports), read with pydicom.

What is read
------------
A file whose SOP class is *12-lead ECG Waveform Storage* (1.2.840.10008.5.1.4.1.1.9.1.1), *General ECG Waveform
Storage* (...9.1.2), *Ambulatory ECG Waveform Storage* (...9.1.3) or *General 32-bit ECG Waveform Storage*
(...9.1.4). Its ``WaveformSequence`` multiplex groups that are not median or representative beats (by
``MultiplexGroupLabel``) are sorted into simultaneous sets (same ``SamplingFrequency``, number of samples and
``MultiplexGroupTimeOffset``); the set read is the one with at least 8 channels (enough for the 12 leads), then one
holding the group labelled ``RHYTHM``, then the most channels, then the longest; its groups' channels are joined
(several simultaneous groups are one recording) and a note names the groups left out. Per channel
(``ChannelDefinitionSequence``):

* the lead name from ``ChannelSourceSequence`` (its code meaning, e.g. ``Lead I (Einthoven)``, ``Lead aVR``,
  ``Lead V1``; the parenthesis dropped; ``ChannelLabel`` when there is no source). ``Lead -aVR`` (the negated aVR)
  is not aVR: like any channel that is not one of the 12 leads it is dropped with a note when the 12 are complete;
* the amplitude ``value = sample x ChannelSensitivity x ChannelSensitivityCorrectionFactor + ChannelBaseline``
  (PS3.3 C.10.9.1.4.3; the same formula as pydicom's ``Dataset.waveform_array``) in the units of
  ``ChannelSensitivityUnitsSequence`` (UCUM ``uV``, ``mV``, ``V``), converted to mV. A missing correction factor
  is 1 and a missing baseline 0; present, they must be finite (the factor positive).

``WaveformData`` of 8, 16 or 32 bits, signed (``SB``/``SS``/``SL``) or unsigned (``UB``/``US``/``UL``), in the
byte order of the file's transfer syntax, is decoded; mu-law and A-law (``MB``/``AB``) are refused. Samples equal
to ``WaveformPaddingValue`` are missing: NaN, as WFDB's missing value, so the preprocessing uses the record's longest
stretch without any (:func:`~edfgen.kernels.ecg.preprocess.keep_finite_stretch`; a record of padding only is
rejected here). Lead order, derived limb leads and extra channels are then handled as for
every format (:func:`~edfgen.kernels.ecg.leads.canonicalise_leads`). Record id: the file stem. Pixel data is never
read (``stop_before_pixels``: a large image in an ECG folder costs little to reject).

Bad input: a file that is not DICOM, a DICOM object of another class (an image, a report), no usable multiplex
group, waveform data shorter than its declared size, more than 2^30 values, a missing or invalid sampling rate,
sensitivity, correction factor, baseline or unit, or any element pydicom cannot convert is a
:class:`~edfgen.kernels.ecg.record.RecordRejected` with a one-line reason.

References
----------
DICOM PS3.3, C.10.9 Waveform Module and A.34 Waveform IODs (12-Lead ECG, General ECG, Ambulatory ECG, General
32-bit ECG); National Electrical Manufacturers Association.
https://dicom.nema.org/medical/dicom/current/output/html/part03.html
Mason DL, et al. pydicom: an open source DICOM library. https://github.com/pydicom/pydicom
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from edfgen.formats.ecg.common import MAX_RECORD_VALUES, TOO_LARGE, read_head
from edfgen.formats.ecg.units import mv_per_unit
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected

#: SOP class UID -> name of the ECG waveform classes read here
ECG_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "General ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "Ambulatory ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.4": "General 32-bit ECG Waveform Storage",
}
#: (bits allocated, sample interpretation) -> stored dtype (byte order set from the file's transfer syntax)
_DTYPES = {(8, "SB"): "i1", (8, "UB"): "u1", (16, "SS"): "i2", (16, "US"): "u2", (32, "SL"): "i4", (32, "UL"): "u4"}
_MEDIAN = re.compile(r"median|represent|average|beat", re.I)
#: what pydicom raises when it converts a malformed element on access (values are converted lazily)
_ELEMENT_ERRORS = (ValueError, TypeError, NotImplementedError, AttributeError, IndexError, OverflowError, KeyError)


def is_dicom(path: str | os.PathLike) -> bool:
    """Whether ``path`` starts like a DICOM Part 10 file (128-byte preamble, then ``DICM``)."""
    return read_head(path, 132)[128:132] == b"DICM"


def _lead_name(channel, index: int) -> str:
    """The channel's lead name: its source's code meaning without the parenthesis, else its label."""
    src = channel.get("ChannelSourceSequence")
    name = ""
    if src:
        name = str(src[0].get("CodeMeaning", "") or "")
    if not name.strip():
        name = str(channel.get("ChannelLabel", "") or "")
    name = re.sub(r"\(.*?\)", "", name).strip()
    return name or f"channel {index + 1}"


def _label(g) -> str:
    return str(g.get("MultiplexGroupLabel", "") or "").strip()


def _number(value, what: str, rid, path, *, positive: bool = False, nonzero: bool = False) -> float:
    """A finite number (positive / nonzero where asked) from a DICOM value, else a reject naming ``what``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise RecordRejected(f"DICOM {what} {value!r} is not a number", record_id=rid, path=path) from None
    if not np.isfinite(v) or (positive and v <= 0) or (nonzero and v == 0):
        need = "positive" if positive else "nonzero" if nonzero else "finite"
        raise RecordRejected(f"DICOM {what} {v} is not {need}", record_id=rid, path=path)
    return v


def _little_endian(ds) -> bool:
    """Whether the file's data set is little endian (Explicit VR Big Endian, retired, is the exception; pydicom 3's
    ``original_encoding`` is ``(implicit VR, little endian)``)."""
    return ds.original_encoding[1] is not False


def _layout(g, rid, path) -> tuple[float, int, int, float]:
    """``(fs, channels, samples, time offset s)`` of a multiplex group, without decoding it."""
    where = f"waveform group {_label(g) or '?'}"
    fs = _number(g.get("SamplingFrequency"), f"{where} SamplingFrequency", rid, path, positive=True)
    n_ch = int(_number(g.get("NumberOfWaveformChannels"), f"{where} NumberOfWaveformChannels", rid, path,
                       positive=True))
    n_s = int(_number(g.get("NumberOfWaveformSamples"), f"{where} NumberOfWaveformSamples", rid, path,
                      positive=True))
    offset = g.get("MultiplexGroupTimeOffset")
    return fs, n_ch, n_s, (0.0 if offset is None else _number(offset, f"{where} MultiplexGroupTimeOffset", rid, path))


def _choose(groups, rid, path) -> tuple[list, list[str]]:
    """The simultaneous groups to read, each with its :func:`_layout` (see the module docstring), and a note on
    those left out."""
    usable = [g for g in groups if not _MEDIAN.search(_label(g))]
    if not usable:
        raise RecordRejected(f"DICOM ECG holds only median/representative beats "
                             f"({', '.join(_label(g) or '?' for g in groups)}), no rhythm strip",
                             record_id=rid, path=path)
    sets: dict[tuple, list] = {}
    for g in usable:
        lay = fs, _, n_s, offset = _layout(g, rid, path)
        sets.setdefault((fs, n_s, offset), []).append((g, lay))

    def score(members):
        fs, _, n_s, _ = members[0][1]
        channels = sum(lay[1] for _, lay in members)
        rhythm = any(_label(g).upper() == "RHYTHM" for g, _ in members)
        return channels >= 8, rhythm, channels, n_s / fs

    picked = max(sets.values(), key=score)     # the first of equals, in file order
    left = [g for g in usable if all(g is not p for p, _ in picked)]
    notes = [f"DICOM waveform group(s) {', '.join(_label(g) or '?' for g, _ in picked)} read; not simultaneous "
             f"with them, left out: {', '.join(_label(g) or '?' for g in left)}"] if left else []
    return picked, notes


def _decode(ds, g, n_ch: int, n_s: int, rid, path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Lead names, ``float64 [C, T]`` mV and the padding mask ``[C, T]`` of one multiplex group of ``n_ch``
    channels x ``n_s`` samples."""
    where = f"waveform group {_label(g) or '?'}"
    try:
        bits, interp = int(g.get("WaveformBitsAllocated")), str(g.get("WaveformSampleInterpretation")).strip()
    except (TypeError, ValueError):
        raise RecordRejected(f"DICOM {where}: sample format (bits allocated, interpretation) missing",
                             record_id=rid, path=path) from None
    code = _DTYPES.get((bits, interp))
    if code is None:
        raise RecordRejected(f"DICOM {where}: {bits}-bit samples of interpretation {interp!r} are not read "
                             f"(read: 8/16/32-bit SB, UB, SS, US, SL, UL)", record_id=rid, path=path)
    dtype = np.dtype(code).newbyteorder("<" if _little_endian(ds) else ">")
    raw = g.get("WaveformData")
    need = n_ch * n_s * dtype.itemsize
    if raw is None or len(raw) < need:
        raise RecordRejected(f"DICOM {where}: waveform data of {0 if raw is None else len(raw)} bytes, "
                             f"{n_s} samples x {n_ch} channels need {need}", record_id=rid, path=path)
    counts = np.frombuffer(bytes(raw[:need]), dtype=dtype).reshape(n_s, n_ch).T   # [channels, samples]
    channels = list(g.get("ChannelDefinitionSequence") or [])
    if len(channels) != n_ch:
        raise RecordRejected(f"DICOM {where}: {len(channels)} channel definitions for {n_ch} channels",
                             record_id=rid, path=path)
    pad = g.get("WaveformPaddingValue")
    padded = np.zeros(counts.shape, bool)
    if pad is not None:
        if isinstance(pad, (bytes, bytearray)):
            if len(pad) < dtype.itemsize:
                raise RecordRejected(f"DICOM {where}: WaveformPaddingValue of {len(pad)} bytes for {bits}-bit "
                                     f"samples", record_id=rid, path=path)
            pad = np.frombuffer(bytes(pad)[:dtype.itemsize], dtype=dtype)[0]
        padded = counts == int(pad)
    names, rows = [], np.empty(counts.shape, np.float64)
    for j, ch in enumerate(channels):
        lead = _lead_name(ch, j)
        at = f"{where} lead {lead}:"
        if ch.get("ChannelSensitivity") is None:
            raise RecordRejected(f"DICOM {at} no ChannelSensitivity (amplitude unknown)", record_id=rid, path=path)
        sens = _number(ch.get("ChannelSensitivity"), f"{at} ChannelSensitivity (uncalibrated when 0)", rid, path,
                       nonzero=True)
        corr = ch.get("ChannelSensitivityCorrectionFactor")
        corr = 1.0 if corr is None else _number(corr, f"{at} ChannelSensitivityCorrectionFactor", rid, path,
                                                positive=True)
        base = ch.get("ChannelBaseline")
        base = 0.0 if base is None else _number(base, f"{at} ChannelBaseline", rid, path)
        units_seq = ch.get("ChannelSensitivityUnitsSequence")
        unit = str(units_seq[0].get("CodeValue", "") or "") if units_seq else ""
        factor = mv_per_unit(unit)
        if factor is None:
            raise RecordRejected(f"DICOM {at} sensitivity units {unit or 'missing'!r} (expected uV, mV or V)",
                                 record_id=rid, path=path)
        with np.errstate(over="ignore", invalid="ignore"):
            rows[j] = (counts[j].astype(np.float64) * (sens * corr) + base) * factor
        if not np.isfinite(rows[j][~padded[j]]).all():
            raise RecordRejected(f"DICOM {at} amplitudes overflow (sensitivity {sens:g}, correction {corr:g}, "
                                 f"baseline {base:g})", record_id=rid, path=path)
        names.append(lead)
    return names, rows, padded


def read_dicom(path: str | os.PathLike) -> EcgRecord:
    """Read the rhythm strip of a DICOM ECG waveform file in mV (see the module docstring).

    Raises
    ------
    RecordRejected
        Not a DICOM file, not an ECG waveform class, no usable multiplex group, truncated waveform data, too many
        values, padding only, or a missing/invalid sampling rate, sensitivity, correction factor,
        baseline, unit or other element.
    """
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    path = Path(path)
    rid = path.stem
    try:
        ds = dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:   # before ValueError-like errors: pydicom's own 'not DICOM'
        raise RecordRejected("not a DICOM file (no 'DICM' marker after the 128-byte preamble)",
                             record_id=rid, path=path) from None
    except (OSError, EOFError, *_ELEMENT_ERRORS) as exc:
        raise RecordRejected(f"unreadable DICOM file ({type(exc).__name__}: {' '.join(str(exc).split())[:150]})",
                             record_id=rid, path=path) from None
    try:
        return _read(ds, rid, path)
    except RecordRejected:   # an InputError, hence a ValueError: not to be rewrapped below
        raise
    except _ELEMENT_ERRORS as exc:   # an element pydicom cannot convert (values are converted on access)
        raise RecordRejected(f"unreadable DICOM element ({type(exc).__name__}: "
                             f"{' '.join(str(exc).split())[:150]})", record_id=rid, path=path) from None


def _read(ds, rid, path) -> EcgRecord:
    sop = str(ds.get("SOPClassUID", "") or "")
    if sop not in ECG_SOP_CLASSES:
        name = getattr(ds.get("SOPClassUID"), "name", "") or "unknown class"
        raise RecordRejected(f"DICOM object of SOP class {sop or '?'} ({name}) is not an ECG waveform "
                             f"(read: {', '.join(ECG_SOP_CLASSES.values())})", record_id=rid, path=path)
    groups = list(ds.get("WaveformSequence") or [])
    if not groups:
        raise RecordRejected("DICOM ECG without a WaveformSequence (no waveform stored)", record_id=rid, path=path)
    picked, notes = _choose(groups, rid, path)
    fs, _, n_s, _ = picked[0][1]
    n_values = n_s * sum(lay[1] for _, lay in picked)
    if n_values > MAX_RECORD_VALUES:
        raise RecordRejected(f"DICOM waveform of {n_values} values: {TOO_LARGE}", record_id=rid,
                             path=path)
    names, rows, padded = [], [], []
    for g, (_, n_ch, _, _) in picked:
        n, r, p = _decode(ds, g, n_ch, n_s, rid, path)
        names += n
        rows.append(r)
        padded.append(p)
    signal, padded = np.concatenate(rows), np.concatenate(padded)
    if padded.all():
        raise RecordRejected("DICOM waveform is padding only (every sample equals WaveformPaddingValue)",
                             record_id=rid, path=path)
    # padding is a missing sample, as WFDB's missing value: NaN, cut by the preprocessing
    # (edfgen.kernels.ecg.preprocess.keep_finite_stretch: the longest stretch without any is used)
    signal[padded] = np.nan
    held = "; ".join(f"{'' if names[i].lower().startswith('lead') else 'lead '}{names[i]}, {int(padded[i].sum())} "
                     "samples" for i in np.flatnonzero(padded.any(axis=1)))     # (names: "Lead I" as the file has them)
    return EcgRecord(record_id=rid, signal=signal.astype(np.float32), fs=fs, leads=tuple(names), path=str(path),
                     notes=tuple(notes), missing_note=f"DICOM's WaveformPaddingValue in {held}" if held else "")
