"""12-lead ECGs stored as DICOM waveforms (``.dcm``: hospital PACS and cart exports), read with pydicom.

What is read
------------
A file whose SOP class is *12-lead ECG Waveform Storage* (1.2.840.10008.5.1.4.1.1.9.1.1), *General ECG Waveform
Storage* (...9.1.2) or *Ambulatory ECG Waveform Storage* (...9.1.3). Of its ``WaveformSequence`` multiplex groups,
the one labelled ``RHYTHM`` (``MultiplexGroupLabel``), else the longest one that is not a median or
representative beat, gives the record:

* sampling rate ``SamplingFrequency`` (Hz);
* per channel (``ChannelDefinitionSequence``), the lead name from ``ChannelSourceSequence`` (its code meaning,
  e.g. ``Lead I (Einthoven)``, ``Lead aVR``, ``Lead V1``; the parenthesis dropped; ``ChannelLabel`` when there is
  no source) and the amplitude ``value = sample x ChannelSensitivity x ChannelSensitivityCorrectionFactor +
  ChannelBaseline`` in the units of ``ChannelSensitivityUnitsSequence`` (UCUM ``uV``, ``mV``, ``V``), converted
  to mV (the same formula as ``pydicom``'s ``Dataset.waveform_array``);
* samples equal to ``WaveformPaddingValue`` are missing (NaN).

``WaveformData`` of 8, 16 or 32 bits, signed (``SB``/``SS``/``SL``) or unsigned (``UB``/``US``/``UL``), in the
byte order of the file's transfer syntax, is decoded; mu-law and A-law (``MB``/``AB``) are refused. Lead order, derived limb leads and extra channels are then handled as for every
format (:func:`~edfgen.kernels.ecg.leads.canonicalise_leads`). Record id: the file stem.

Bad input: a file that is not DICOM, a DICOM object of another class (an image, a report), no usable multiplex
group, waveform data shorter than its declared size, a missing sampling rate or sensitivity, or unknown units is a
:class:`~edfgen.kernels.ecg.record.RecordRejected` with a one-line reason.

References
----------
DICOM PS3.3, C.10.9 Waveform Module and A.34 Waveform IODs (12-Lead ECG, General ECG, Ambulatory ECG);
National Electrical Manufacturers Association. https://dicom.nema.org/medical/dicom/current/output/html/part03.html
Mason DL, et al. pydicom: an open source DICOM library. https://github.com/pydicom/pydicom
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from edfgen.formats.ecg.units import UNIT_TO_MV
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected

#: SOP class UID -> name of the ECG waveform classes read here
ECG_SOP_CLASSES = {
    "1.2.840.10008.5.1.4.1.1.9.1.1": "12-lead ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.2": "General ECG Waveform Storage",
    "1.2.840.10008.5.1.4.1.1.9.1.3": "Ambulatory ECG Waveform Storage",
}
#: (bits allocated, sample interpretation) -> stored dtype (byte order set from the file's transfer syntax)
_DTYPES = {(8, "SB"): "i1", (8, "UB"): "u1", (16, "SS"): "i2", (16, "US"): "u2", (32, "SL"): "i4", (32, "UL"): "u4"}
_MEDIAN = re.compile(r"median|represent|average|beat", re.I)


def is_dicom(path: str | os.PathLike) -> bool:
    """Whether ``path`` starts like a DICOM Part 10 file (128-byte preamble, then ``DICM``)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:132] == b"DICM"


def _lead_name(channel, index: int) -> str:
    """The channel's lead name: its source's code meaning without the parenthesis, else its label."""
    src = channel.get("ChannelSourceSequence")
    name = ""
    if src:
        name = str(src[0].get("CodeMeaning", "") or "")
    if not name.strip():
        name = str(channel.get("ChannelLabel", "") or "")
    name = re.sub(r"\(.*?\)", "", name).strip()
    name = re.sub(r"^MDC_ECG_LEAD_", "", name, flags=re.I)
    return name or f"channel {index + 1}"


def _group(ds, rid, path):
    """The multiplex group to read: ``RHYTHM``, else the longest that is not a median beat."""
    groups = list(ds.get("WaveformSequence") or [])
    if not groups:
        raise RecordRejected("DICOM ECG without a WaveformSequence (no waveform stored)", record_id=rid, path=path)

    def label(g) -> str:
        return str(g.get("MultiplexGroupLabel", "") or "").strip()

    rhythm = [g for g in groups if label(g).upper() == "RHYTHM"]
    if rhythm:
        return rhythm[0]
    usable = [g for g in groups if not _MEDIAN.search(label(g))]
    if not usable:
        raise RecordRejected(f"DICOM ECG holds only median/representative beats "
                             f"({', '.join(label(g) or '?' for g in groups)}), no rhythm strip",
                             record_id=rid, path=path)

    def seconds(g) -> float:
        try:
            return float(g.get("NumberOfWaveformSamples", 0)) / float(g.get("SamplingFrequency", 0) or np.inf)
        except (TypeError, ValueError):
            return 0.0

    return max(usable, key=seconds)


def _little_endian(ds) -> bool:
    """Whether the file's data set is little endian (Explicit VR Big Endian, retired, is the exception)."""
    enc = getattr(ds, "original_encoding", None)   # pydicom 3: (implicit VR, little endian)
    if isinstance(enc, tuple) and len(enc) == 2 and enc[1] is not None:
        return bool(enc[1])
    little = getattr(ds, "is_little_endian", None)
    return True if little is None else bool(little)


def _positive(value, what: str, rid, path) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise RecordRejected(f"DICOM {what} {value!r} is not a number", record_id=rid, path=path) from None
    if not np.isfinite(v) or v <= 0:
        raise RecordRejected(f"DICOM {what} {v} is not positive", record_id=rid, path=path)
    return v


def read_dicom(path: str | os.PathLike) -> EcgRecord:
    """Read the rhythm strip of a DICOM ECG waveform file in mV (see the module docstring).

    Raises
    ------
    RecordRejected
        Not a DICOM file, not an ECG waveform class, no usable multiplex group, truncated waveform data, or a
        missing/invalid sampling rate, sensitivity or unit.
    """
    from pydicom import dcmread
    from pydicom.errors import InvalidDicomError

    path = Path(path)
    rid = path.stem
    try:
        ds = dcmread(path)
    except InvalidDicomError:
        raise RecordRejected("not a DICOM file (no 'DICM' marker after the 128-byte preamble)",
                             record_id=rid, path=path) from None
    except (OSError, ValueError, EOFError, KeyError, TypeError) as exc:
        raise RecordRejected(f"unreadable DICOM file ({type(exc).__name__}: {' '.join(str(exc).split())[:150]})",
                             record_id=rid, path=path) from None
    sop = str(ds.get("SOPClassUID", "") or "")
    if sop not in ECG_SOP_CLASSES:
        name = getattr(ds.get("SOPClassUID"), "name", "") or "unknown class"
        raise RecordRejected(f"DICOM object of SOP class {sop or '?'} ({name}) is not an ECG waveform "
                             f"(read: {', '.join(ECG_SOP_CLASSES.values())})", record_id=rid, path=path)
    g = _group(ds, rid, path)
    where = f"waveform group {str(g.get('MultiplexGroupLabel', '') or '').strip() or '?'}"
    fs = _positive(g.get("SamplingFrequency"), f"{where} SamplingFrequency", rid, path)
    try:
        n_ch, n_s = int(g.get("NumberOfWaveformChannels")), int(g.get("NumberOfWaveformSamples"))
        bits, interp = int(g.get("WaveformBitsAllocated")), str(g.get("WaveformSampleInterpretation")).strip()
    except (TypeError, ValueError):
        raise RecordRejected(f"DICOM {where}: channel/sample counts or sample format missing", record_id=rid,
                             path=path) from None
    code = _DTYPES.get((bits, interp))
    if code is None:
        raise RecordRejected(f"DICOM {where}: {bits}-bit samples of interpretation {interp!r} are not read "
                             f"(read: 8/16/32-bit SB, UB, SS, US, SL, UL)", record_id=rid, path=path)
    dtype = np.dtype(code).newbyteorder("<" if _little_endian(ds) else ">")
    if n_ch < 1 or n_s < 1:
        raise RecordRejected(f"DICOM {where}: {n_ch} channels x {n_s} samples", record_id=rid, path=path)
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
    pad_value = None
    if pad is not None:
        pad_value = int(np.frombuffer(bytes(pad)[:dtype.itemsize], dtype=dtype)[0]) \
            if isinstance(pad, (bytes, bytearray)) else int(pad)
    names, rows = [], []
    for j, ch in enumerate(channels):
        lead = _lead_name(ch, j)
        if ch.get("ChannelSensitivity") is None:
            raise RecordRejected(f"DICOM {where} lead {lead}: no ChannelSensitivity (amplitude unknown)",
                                 record_id=rid, path=path)
        sens = float(ch.get("ChannelSensitivity"))
        if not np.isfinite(sens) or sens == 0:
            raise RecordRejected(f"DICOM {where} lead {lead}: ChannelSensitivity {sens} (uncalibrated)",
                                 record_id=rid, path=path)
        corr = float(ch.get("ChannelSensitivityCorrectionFactor", 1.0) or 1.0)
        base = float(ch.get("ChannelBaseline", 0.0) or 0.0)
        units_seq = ch.get("ChannelSensitivityUnitsSequence")
        unit = str(units_seq[0].get("CodeValue", "") or "") if units_seq else ""
        factor = UNIT_TO_MV.get(unit.strip().lower().replace(" ", ""))
        if factor is None:
            raise RecordRejected(f"DICOM {where} lead {lead}: sensitivity units {unit or 'missing'!r} "
                                 f"(expected uV, mV or V)", record_id=rid, path=path)
        row = (counts[j].astype(np.float64) * (sens * corr) + base) * factor
        if pad_value is not None:
            row[counts[j] == pad_value] = np.nan
        names.append(lead)
        rows.append(row.astype(np.float32))
    return EcgRecord(record_id=rid, signal=np.stack(rows), fs=fs, leads=tuple(names), path=str(path))
