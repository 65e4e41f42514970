"""What every ECG file reader shares: the record reference, confinement to the folder given, and the
conversion of an array to an :class:`~edfgen.kernels.ecg.record.EcgRecord` (orientation, units, sampling rate).

Confinement: every file a record refers to (its own file, WFDB signal files and segment headers, HDF5
external raw files) must resolve, symlinks included, inside the folder the user gave (:func:`confine`);
otherwise the record is rejected with the reason, and nothing outside that folder is read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from edfgen.formats.ecg.units import UNIT_TO_MV, Z_UNITS, mv_per_unit, unit_key
from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.leads import canonical_lead_name
from edfgen.kernels.ecg.record import NOTE_LEAD_ORDER, EcgRecord, RecordRejected

@dataclass(frozen=True)
class RecordRef:
    """A record found on disk but not read yet (cheap to list, pickle and skip on resume).

    ``key`` locates the record inside a multi-record file (HDF5 dataset path and row), else ``None``;
    for ``fmt == "rejected"`` (a file found but not usable: outside the folder, unreadable HDF5) it is
    ``(reason,)``. ``root`` is the folder every file of the record must resolve into (symlinks resolved):
    the ``--ecg`` folder the record was found in, or the folder of a file named directly.
    """

    record_id: str
    path: str
    fmt: str
    key: tuple | None = None
    root: str = ""

    @property
    def where(self) -> str:
        """The file, and for HDF5 the dataset (and row) in it: ``a.h5:/P1/ecg``, ``b.h5:/ecg[3]``."""
        if self.fmt != "hdf5":
            return self.path
        name, row = self.key
        return f"{self.path}:/{name}" + (f"[{row}]" if row is not None else "")


# --------------------------------------------------------------------------- helpers
#: peak memory per value (lead x sample) of one record while it is read and its window cut: the stored samples,
#: the float32 signal and the float64 work of the quality checks (13-14 bytes measured on a 2-hour WFDB record and
#: a 480 M-value HDF5 dataset, review s30g)
PEAK_BYTES_PER_VALUE = 14
#: the memory one record may take while it is read (per worker: ``--workers`` multiplies it)
MAX_RECORD_BYTES = 2 ** 30
#: a record of more values than this (leads x samples) is rejected before it is read: 76.7 M, i.e. 12 leads of
#: 1 h 46 min at 1 kHz or 3 h 33 min at 500 Hz (a 24-hour Holter must be cut first)
MAX_RECORD_VALUES = MAX_RECORD_BYTES // PEAK_BYTES_PER_VALUE
#: peak memory per value of counts written as text (CardioSoft ``<FullDisclosureData>``) while they are split and
#: parsed: a Python str per token and the list of them (tracemalloc of 1 M counts: 18 bytes for one digit, 71 for
#: three or four with a sign, 73 for five or six, 78 for nine)
TEXT_PEAK_BYTES_PER_VALUE = 80
#: a record of counts written as text of more values than this is rejected before it is split: 13.4 M, i.e. 12
#: leads of 37 min at 500 Hz
MAX_TEXT_RECORD_VALUES = MAX_RECORD_BYTES // TEXT_PEAK_BYTES_PER_VALUE


def _too_large(n_max: int, per_value: int) -> str:
    return (f"more than {n_max} values (one record may take at most 1 GiB of memory to read, {per_value} bytes per "
            "value; write the minutes to analyse as a record of their own, e.g. wfdb.rdrecord(sampfrom=, sampto=) "
            "then wrsamp)")


#: how every reject reason of a record over :data:`MAX_RECORD_VALUES` ends
TOO_LARGE = _too_large(MAX_RECORD_VALUES, PEAK_BYTES_PER_VALUE)
#: how the reject reason of counts written as text over :data:`MAX_TEXT_RECORD_VALUES` ends
TOO_LARGE_TEXT = _too_large(MAX_TEXT_RECORD_VALUES, TEXT_PEAK_BYTES_PER_VALUE)


def read_head(path: str | os.PathLike, n: int) -> bytes:
    """The first ``n`` bytes of a file (fewer when it is shorter; empty when it cannot be read): what a format is
    told by before it is read."""
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _real(path) -> Path:
    return Path(os.path.realpath(path))


@lru_cache(maxsize=256)
def _real_root(root: str) -> str:
    """A confinement folder with symlinks resolved (cached: one folder serves every record of a batch)."""
    return os.path.realpath(root)


def _root_of(path: str | os.PathLike, root: str | os.PathLike | None) -> Path:
    """The confinement folder: ``root`` (resolved), else the resolved folder of ``path``."""
    return Path(_real_root(os.fspath(root))) if root else _real(path).parent


def confine(path: str | os.PathLike, root: str | os.PathLike, *, what: str, record_id: str,
            source: str | os.PathLike) -> Path:
    """``path`` with symlinks resolved, if it lies inside the folder ``root``; else the record is rejected.

    Parameters
    ----------
    path
        A file a record refers to (a WFDB signal file, an HDF5 external raw file, the record's own file).
    root
        The folder the user gave (``--ecg``).
    what, record_id, source
        Named in the reason: what the file is, the record, and the file that refers to it.
    """
    real = os.path.realpath(path)
    base = _real_root(os.fspath(root))
    if real != base and not real.startswith(base.rstrip(os.sep) + os.sep):
        raise RecordRejected(f"{what} {str(path)!r} resolves to {real}, outside the ECG folder {base} "
                             f"(files a record refers to must lie inside the folder given: copy them into it rather than link "
                             f"them, or give --ecg the folder they lie in)",
                             record_id=record_id, path=source)
    return Path(real)


def _unit_factor(units: str, *, record_id: str, path, lead: str = "", z_scale=None) -> float:
    """The factor that turns ``units`` into mV; units ``z`` only with ``z_scale`` (mV per z, by lead name)."""
    u = unit_key(units)
    if u in Z_UNITS:
        if z_scale is None:
            raise RecordRejected(f"signal units {units!r} (a per-lead z-score, no amplitude in mV): read only by "
                                 f"edfgen pretrain, never where amplitudes in mV are measured", record_id=record_id,
                                 path=path)
        scale = {str(k).lower(): float(v) for k, v in z_scale.items()}.get(str(lead).strip().lower())
        if scale is None:
            raise RecordRejected(f"signal units {units!r} on lead {lead!r}: no typical amplitude known for that "
                                 f"lead (leads: {', '.join(z_scale)})", record_id=record_id, path=path)
        return scale
    if u not in UNIT_TO_MV:
        raise RecordRejected(f"unknown signal units {units!r} (expected mV, uV or V)", record_id=record_id, path=path)
    return UNIT_TO_MV[u]


def channel_scales(names, units, *, rid: str, path, z_scale=None,
                   uncalibrated=()) -> tuple[list[int], np.ndarray, tuple[str, ...]]:
    """The channels to read, their factors to mV, and the notes on the channels left out.

    A channel whose name is not one of the 12 leads (:func:`~edfgen.kernels.ecg.leads.canonical_lead_name`) and
    whose units are not a voltage (or ``z``) is a non-ECG channel recorded beside the ECG (ABP in mmHg, Pleth in
    NU, RESP in Ohm): left out, with the note ``dropped channel(s) not in volts: ABP (mmHg)``; so is one flagged
    in ``uncalibrated`` (a WFDB ADC gain 0, found by ``wfdb_reader._check_calibrated``, which rejects a lead of gain
    0): ``dropped uncalibrated channel(s) (ADC gain 0): RESP``. A lead in units that are not a voltage rejects the
    record (``unknown signal units``). Used by the WFDB reader (units per signal line) and for the per-channel
    ``units`` of ``.npz`` and HDF5 files.

    Parameters
    ----------
    names, units
        One name and one unit per channel.
    rid, path
        The record and its file, named in a reject.
    z_scale
        mV per ``z`` by lead name (``edfgen pretrain``); ``None`` rejects units ``z``.
    uncalibrated
        Per channel, whether it is uncalibrated (left out).

    Returns
    -------
    The indices of the channels kept, their factors to mV (float64), the notes on those left out.
    """
    keep, factor, skipped, uncal = [], [], [], []
    flags = list(uncalibrated) + [False] * (len(names) - len(uncalibrated))
    for i, (n, u) in enumerate(zip(names, units)):
        if flags[i]:
            uncal.append(str(n).strip())
        elif mv_per_unit(u) is None and unit_key(u) not in Z_UNITS and canonical_lead_name(n) is None:
            skipped.append(f"{str(n).strip()} ({str(u).strip()})")
        else:
            keep.append(i)
            factor.append(_unit_factor(u, record_id=rid, path=path, lead=n, z_scale=z_scale))
    notes = ((f"dropped uncalibrated channel(s) (ADC gain 0): {', '.join(uncal)}",) if uncal else ()) + (
        (f"dropped channel(s) not in volts: {', '.join(skipped)}",) if skipped else ())
    return keep, np.asarray(factor, dtype=np.float64), notes


def _orient(arr: np.ndarray, n_leads: int, *, record_id: str, path) -> np.ndarray:
    """``[L, T]`` from ``[L, T]`` or ``[T, L]``."""
    if arr.ndim != 2:
        raise RecordRejected(f"expected a 2-D array [leads, samples], got shape {arr.shape}", record_id=record_id, path=path)
    if arr.shape[0] == n_leads and arr.shape[1] != n_leads:
        return arr
    if arr.shape[1] == n_leads and arr.shape[0] != n_leads:
        return arr.T
    if arr.shape == (n_leads, n_leads):
        return arr
    raise RecordRejected(f"array shape {arr.shape} has no axis of length {n_leads} (number of leads)",
                         record_id=record_id, path=path)


def _numeric(dtype) -> bool:
    """Real numbers (integers or floats): what a signal may be stored as."""
    return np.issubdtype(dtype, np.integer) or np.issubdtype(dtype, np.floating)


def _decode(values) -> list[str]:
    """The strings of an array or attribute (lead names, units): each as :func:`_array_text` reads it."""
    return [_array_text(v) for v in np.atleast_1d(values).tolist()]


def _array_text(value) -> str:
    """One string of an ``.npz`` array or HDF5 attribute: bytes decoded as UTF-8, else Latin-1 (as the EDF header
    reader does: a micro sign written as the byte 0xB5, ``b'\\xb5V'``, is ``µV``, not a decoding error); a string
    holding bytes that were not UTF-8 as surrogates (h5py returns ``b'\\xb5V'`` as ``'\\udcb5V'``) the same way."""
    if isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value):
        value = value.encode("utf-8", "surrogateescape")
    if not isinstance(value, bytes):
        return str(value)
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def _as_fs(value, *, record_id: str, path) -> float:
    """A sampling rate in Hz from one number (a scalar or a 1-element array); several values are refused (an ``.npz``
    ``fs`` of ``[250, 500]`` was read as 250 Hz)."""
    arr = np.asarray(value)
    if arr.size > 1:
        raise RecordRejected(f"sampling rate holds {arr.size} values ({_one_line(arr.reshape(-1)[:4].tolist(), 60)}), "
                             "expected one", record_id=record_id, path=path)
    try:
        fs = float(arr.reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise RecordRejected(f"unreadable sampling rate {value!r}", record_id=record_id, path=path) from None
    if not np.isfinite(fs) or fs <= 0:
        raise RecordRejected(f"invalid sampling rate {fs}", record_id=record_id, path=path)
    return fs


#: unnamed leads whose Einthoven residual (RMS of I + III - II) exceeds this multiple of lead II's RMS get a
#: note: on the 2,096 real records in shared/data/ecg it is at most 0.58 in PTB-XL and CinC and 1.19 in LUDB
#: (1 record above 1); I and II swapped exceed 1 in 88 % of them, II and III swapped in 94 %
EINTHOVEN_MAX_RATIO = 1.0


def einthoven_note(signal: np.ndarray) -> tuple[str, ...]:
    """A note when leads taken to be in the canonical order break Einthoven's law (I + III = II) grossly.

    Parameters
    ----------
    signal
        ``[12, T]`` in the order of :data:`edfgen.kernels.ecg.LEADS` (assumed, not named by the file).

    Returns
    -------
    ``(note,)`` naming the ratio, or ``()``.

    References
    ----------
    Einthoven W, Fahr G, de Waart A. Über die Richtung und die manifeste Größe der Potentialschwankungen im
    menschlichen Herzen. Pflügers Arch 1913;150:275-315.
    """
    x = np.asarray(signal[:3], dtype=np.float64)
    x = x[:, np.isfinite(x).all(axis=0)]
    if x.shape[1] < 2:
        return ()
    x = x - np.median(x, axis=1, keepdims=True)
    rms_ii = float(np.sqrt(np.mean(x[1] ** 2)))
    ratio = float(np.sqrt(np.mean((x[0] + x[2] - x[1]) ** 2))) / rms_ii if rms_ii > 0 else 0.0
    if ratio <= EINTHOVEN_MAX_RATIO:
        return ()
    return (f"{NOTE_LEAD_ORDER} leads break Einthoven's law (RMS of I + III - II is {ratio:.2f}x lead II's): "
            f"are they in the order {', '.join(LEADS)}? (name them with 'leads')",)


def _make_record(arr, *, fs, leads, units, record_id, path) -> EcgRecord:
    """An :class:`EcgRecord` in mV from an array ``[L, T]`` or ``[T, L]``; ``units`` one unit for every channel, or a
    list of one per channel (each scaled by its own; a non-ECG channel not in volts left out with a note:
    :func:`channel_scales`)."""
    unnamed = leads is None
    leads = tuple(leads) if leads is not None else LEADS
    arr = np.asarray(arr)
    if not _numeric(arr.dtype):
        raise RecordRejected(f"non-numeric signal dtype {arr.dtype}", record_id=record_id, path=path)
    sig = _orient(arr, len(leads), record_id=record_id, path=path)
    if fs is None:
        raise RecordRejected("no sampling rate (give fs in the file, or --fs)", record_id=record_id, path=path)
    notes: tuple[str, ...] = ()
    if isinstance(units, list):
        if len(units) != len(leads):
            raise RecordRejected(f"units holds {len(units)} values for {len(leads)} channels ("
                                 f"{_one_line(', '.join(dict.fromkeys(units)), 60)}): one unit, or one per channel",
                                 record_id=record_id, path=path)
        keep, factor, notes = channel_scales(leads, units, rid=record_id, path=path)
        sig, leads = sig[keep].astype(np.float32) * factor.astype(np.float32)[:, None], tuple(leads[i] for i in keep)
    else:
        factor = _unit_factor(units or "mV", record_id=record_id, path=path)
        sig = sig.astype(np.float32) * np.float32(factor) if factor != 1.0 else sig.astype(np.float32, copy=False)
    return EcgRecord(record_id=record_id, signal=np.ascontiguousarray(sig), fs=_as_fs(fs, record_id=record_id, path=path),
                     leads=leads, path=str(path), notes=notes + (einthoven_note(sig) if unnamed else ()))


def _rejected(record_id: str, path, reason: str, root: str = "") -> RecordRef:
    """A file found but not usable: read_record raises ``reason`` for it (a row of ``rejects.tsv``)."""
    return RecordRef(record_id, str(path), "rejected", (reason,), root)


def _one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's message on one line, shortened (for reasons in ``rejects.tsv``)."""
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _local(tag: str) -> str:
    """An XML tag without its ``{namespace}``."""
    return tag.rsplit("}", 1)[-1]


#: byte-order marks and the bytes an undeclared UTF-16 document starts with ('<' then NUL, or NUL then '<'; XML 1.0
#: appendix F) -> the codec that reads them
_XML_CODECS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
               (b"<\x00", "utf-16-le"), (b"\x00<", "utf-16-be"))


def _xml_codec(raw: bytes) -> str | None:
    """The codec an XML document's first bytes show (a byte-order mark, or UTF-16 without one), else ``None``."""
    return next((codec for start, codec in _XML_CODECS if raw.startswith(start)), None)


#: the largest XML file read again as text when the parser refuses its encoding: a 12-lead ECG export is well under
#: 2 MiB (a UK Biobank CardioSoft file with its full disclosure ~1.5 MiB); a larger broken file keeps its first
#: reason rather than be read whole into memory (the parser reads in chunks and stops at the first error)
MAX_REPARSE_BYTES = 64 << 20


def _reparse(path):
    """The root element of an XML file read as text whatever its declaration says, or ``None``.

    For files the parser refuses over their encoding alone: a byte-order mark at odds with the declared encoding
    (an export re-saved as UTF-16 with its ``ISO-8859-1`` declaration kept), bytes that are not UTF-8 under a UTF-8
    or missing declaration (a patient name in Latin-1), UTF-16 without a byte-order mark, blank lines before the
    declaration. The text is decoded by its byte-order mark, else as UTF-8, else as Latin-1 (which reads every
    byte), and parsed as a string, whose declared encoding the parser ignores. The ECG waveforms of the XML
    layouts (base64, decimal counts) are ASCII, so the choice cannot change a sample; only names and free text
    could read differently. ``None`` when the text is not well-formed either (the first error is the reason), or
    the file is larger than :data:`MAX_REPARSE_BYTES`.
    """
    import xml.etree.ElementTree as ET

    try:
        if Path(path).stat().st_size > MAX_REPARSE_BYTES:
            return None
        raw = Path(path).read_bytes()
    except OSError:
        return None
    codec = _xml_codec(raw)
    try:
        text = raw.decode(codec or "utf-8")
    except UnicodeDecodeError:
        text = raw.decode(codec or "latin-1", errors="replace")
    try:
        return ET.fromstring(text.lstrip())
    except (ET.ParseError, ValueError, LookupError):
        return None


def _parse(path, rid, *, local: bool = False):
    """The root element of an XML file, or a :class:`RecordRejected` naming why it cannot be parsed.

    A file the parser refuses is read once more as text (:func:`_reparse`: an encoding declaration at odds with
    the bytes); the reason given is the first parse's.

    ``local``: every tag and attribute name without its ``{namespace}`` (GE MUSE and CardioSoft exports are
    read by plain names, and some carry an ``xmlns``)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, ValueError, LookupError) as exc:  # LookupError/ValueError: unknown or unsupported encoding
        root = _reparse(path)
        if root is None:
            raise RecordRejected(f"malformed XML ({' '.join(str(exc).split())[:200]})", record_id=rid,
                                 path=path) from None
    except OSError as exc:
        raise RecordRejected(f"unreadable XML file ({exc})", record_id=rid, path=path) from None
    if local:
        for el in root.iter():
            if isinstance(el.tag, str):
                el.tag = _local(el.tag)
            if any("}" in k for k in el.attrib):
                el.attrib = {_local(k): v for k, v in el.attrib.items()}
    return root
