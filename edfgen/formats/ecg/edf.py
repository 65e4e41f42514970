"""12-lead ECGs in the European Data Format: EDF, EDF+ (continuous, ``EDF+C``) and BioSemi's 24-bit BDF (``.edf``,
``.bdf``: hospital, Holter and research exports).

Why a reader of its own
-----------------------
``wfdb`` 4.3.1 (a dependency) has ``wfdb.io.convert.edf.read_edf``, but it does not do this job: it reads 16-bit EDF
only (a BDF file is "not EDF"), reads the ``EDF Annotations`` channel as a signal, prints to stdout, raises bare
``Exception``/``ValueError`` on a malformed date or number, does not check the file length against the header,
averages mixed-rate channels with a precedence slip, and its scaling (``baseline = int(dmax - pmax x gain + 1)``)
is exact only where the float error happens to cancel: on a real PTB-XL record written over -10..10 mV it is off by
up to 0.999 counts against 0.5 here (measured while writing this reader). ``pyedflib`` (a C extension) and ``edfio`` would be new
dependencies for what is a small parser. The format is simple (a 256-byte ASCII header, 256 bytes per signal, then data records of
little-endian 16-bit (EDF) or 24-bit (BDF) two's-complement samples), so it is read here with a memory map and
NumPy, and every header field is checked.

What is read
------------
* The header: version (``0`` for EDF, ``\\xffBIOSEMI`` for BDF), header size (must be ``256 x (signals + 1)``),
  number of data records (``-1``, a recording never closed, is taken from the file length when that holds a whole
  number of records, with a note), duration of a data record, number of signals, then per signal the label,
  physical dimension, physical and digital minimum and maximum, and samples per data record. A field that is not
  a number where a number belongs rejects the record naming the field and signal.
* Each signal's sampling rate is its samples per data record / the record duration. Its physical value is
  ``(digital - dmin) x (pmax - pmin) / (dmax - dmin) + pmin`` (EDF spec; an inverted range, pmax < pmin, keeps its
  sign; a lead whose digital or physical minimum equals its maximum has no calibration and rejects the record)
  in the signal's physical dimension, converted to mV (``uV``, ``mV``, ``V``: :mod:`~edfgen.formats.ecg.units`).
* Channels kept: the leads (labels :func:`~edfgen.kernels.ecg.leads.canonical_lead_name` knows, e.g. ``ECG I``,
  ``ECG aVR``, ``V1``) and any other channel in volts at the leads' rate (``V4R``, ``-aVR``: dropped later by
  :func:`~edfgen.kernels.ecg.leads.canonicalise_leads` with a note). The leads must share one rate: leads at
  different rates reject the record. Left out with a note: a channel not in volts (``dropped channel(s) not in
  volts: Resp (Ohm)``, as the WFDB reader words it) and a non-lead channel at another rate. ``EDF Annotations``
  (``BDF Annotations``) channels are skipped without a note. A lead in units that are not a voltage (or none)
  rejects the record; a non-lead channel whose calibration is unusable is left out with a note.
* Record id: the file stem.

* ``EDF+D``/``BDF+D`` (discontinuous: a recording paused and resumed, gaps between data records): each data
  record is placed by its time-keeping onset (the first TAL of the annotation signal) and the longest gap-free
  stretch is read, with a note naming the stretches and gaps (the rule other formats' missing samples follow).

Bad input (a :class:`~edfgen.kernels.ecg.record.RecordRejected` with a one-line reason, never a traceback): not
EDF/BDF, a truncated header, EDF+D without an annotation signal, a data record without its onset, or records
that overlap or run backwards, a header size, record count or record size that
disagrees with the file length (a truncated or over-long file), a non-numeric or non-finite field, a record
duration or sample count <= 0, ``dmax == dmin`` on a lead, amplitudes that overflow, more than 2^30 values.

References
----------
Kemp B, Varri A, Rosa AC, Nielsen KD, Gade J. A simple format for exchange of digitized polygraphic recordings.
Electroencephalogr Clin Neurophysiol 1992;82:391-393. https://www.edfplus.info/specs/edf.html
Kemp B, Olivan J. European data format 'plus' (EDF+), an EDF alike standard format for the exchange of
physiological data. Clin Neurophysiol 2003;114:1755-1761. https://www.edfplus.info/specs/edfplus.html
BioSemi. BDF (24-bit EDF) file format. https://www.biosemi.com/faq/file_format.htm
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edfgen.formats.ecg.common import MAX_RECORD_VALUES, TOO_LARGE, read_head
from edfgen.formats.ecg.units import mv_per_unit
from edfgen.kernels.ecg.leads import canonical_lead_name
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected

#: per-signal header fields: (name, width in bytes), in file order (EDF spec)
_SIGNAL_FIELDS = (("label", 16), ("transducer", 80), ("dimension", 8), ("pmin", 8), ("pmax", 8), ("dmin", 8),
                  ("dmax", 8), ("prefilter", 80), ("samples", 8), ("reserved", 32))
_ANNOTATIONS = ("edf annotations", "bdf annotations")
_CALIBRATION = {"pmin": "physical minimum", "pmax": "physical maximum", "dmin": "digital minimum",
                "dmax": "digital maximum"}
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_BDF_MAGIC = b"\xffBIOSEMI"
#: a data record's time-keeping TAL, first in its first annotation signal (EDF+ spec 2.2.4): ``+onset`` 0x14 0x14
_TIMEKEEPING = re.compile(rb"([+-](?:\d+\.?\d*|\.\d+))\x14\x14")


@dataclass(frozen=True)
class Signal:
    """One signal's header fields (text as stored, stripped; ``samples``: per data record)."""

    label: str
    dimension: str
    pmin: str
    pmax: str
    dmin: str
    dmax: str
    samples: int


def is_edf(path: str | os.PathLike) -> bool:
    """Whether ``path`` starts like an EDF or BDF file (version field, then a header size of 256 x (signals + 1))."""
    head = read_head(path, 256)
    if len(head) < 256 or not (head[:8] == b"0       " or head[:8] == _BDF_MAGIC):
        return False
    size, ns = head[184:192].decode("latin-1").strip(), head[252:256].decode("latin-1").strip()
    return bool(_INT.fullmatch(size) and _INT.fullmatch(ns)) and int(size) == 256 * (int(ns) + 1)


def _text(raw: bytes) -> str:
    """A header field: UTF-8 where it decodes (``µV`` written by a UTF-8 tool), else Latin-1; NULs as spaces."""
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        s = raw.decode("latin-1")
    return s.replace("\x00", " ").strip()


def _number(text: str, what: str, rid, path, *, integer: bool = False) -> float:
    """A header number (ASCII digits only: no ``nan``, ``inf``, ``1_000``; a decimal comma, ``0,5``, as some
    exporters write it, read as a point), else a reject naming the field."""
    if not integer and "," in text and "." not in text:
        text = text.replace(",", ".", 1)
    if not (_INT if integer else _FLOAT).fullmatch(text):
        raise RecordRejected(f"EDF header field {what} {text!r} is not {'an integer' if integer else 'a number'}",
                             record_id=rid, path=path)
    value = int(text) if integer else float(text)
    if not np.isfinite(value):
        raise RecordRejected(f"EDF header field {what} {text!r} is not finite", record_id=rid, path=path)
    return value


def _header(path: Path, rid: str) -> tuple[dict, list[Signal]]:
    """The fixed header fields (``bdf``, ``header_bytes``, ``n_records``, ``duration``) and the signals."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(256)
            if len(head) < 256:
                raise RecordRejected(f"not an EDF/BDF file (only {len(head)} bytes; the header alone is 256)",
                                     record_id=rid, path=path)
            bdf = head[:8] == _BDF_MAGIC
            if not bdf and _text(head[:8]) != "0":
                raise RecordRejected(f"not an EDF/BDF file (version field {head[:8]!r}; EDF has '0', BDF "
                                     f"'\\xffBIOSEMI')", record_id=rid, path=path)
            ns = int(_number(_text(head[252:256]), "number of signals", rid, path, integer=True))
            if ns < 1:
                raise RecordRejected(f"EDF header declares {ns} signals", record_id=rid, path=path)
            rest = fh.read(256 * ns)
    except OSError as exc:
        raise RecordRejected(f"unreadable EDF file ({exc})", record_id=rid, path=path) from None
    if len(rest) < 256 * ns:
        raise RecordRejected(f"truncated EDF header: {ns} signals need {256 * (ns + 1)} header bytes, the file has "
                             f"{256 + len(rest)}", record_id=rid, path=path)
    header_bytes = int(_number(_text(head[184:192]), "number of bytes in header", rid, path, integer=True))
    if header_bytes != 256 * (ns + 1):
        raise RecordRejected(f"EDF header size {header_bytes} disagrees with its {ns} signals (256 x {ns + 1} = "
                             f"{256 * (ns + 1)})", record_id=rid, path=path)
    reserved = _text(head[192:236])
    fields, at = {}, 0
    for name, width in _SIGNAL_FIELDS:
        fields[name] = [_text(rest[at + i * width:at + (i + 1) * width]) for i in range(ns)]
        at += ns * width
    signals = []
    for i in range(ns):
        label = fields["label"][i] or f"signal {i + 1}"
        samples = int(_number(fields["samples"][i], f"samples per data record of signal {label!r}", rid, path,
                              integer=True))
        if samples < 1:
            raise RecordRejected(f"EDF signal {label!r}: {samples} samples per data record", record_id=rid,
                                 path=path)
        signals.append(Signal(label, *(fields[k][i] for k in ("dimension", "pmin", "pmax", "dmin", "dmax")),
                              samples))
    n_records = int(_number(_text(head[236:244]), "number of data records", rid, path, integer=True))
    duration = _number(_text(head[244:252]), "duration of a data record", rid, path)
    if duration <= 0:
        raise RecordRejected(f"EDF data record duration {duration:g} s (must be > 0)", record_id=rid, path=path)
    return {"bdf": bdf, "header_bytes": header_bytes, "n_records": n_records, "duration": duration,
            "discontinuous": reserved[:5] in ("EDF+D", "BDF+D")}, signals


def _records_in_file(info: dict, record_bytes: int, size: int, rid, path) -> tuple[int, tuple[str, ...]]:
    """The number of data records, checked against the file length (``-1`` taken from it, with a note)."""
    n, data = info["n_records"], size - info["header_bytes"]
    if n == -1:
        if data <= 0 or data % record_bytes:
            raise RecordRejected(f"EDF number of data records -1 (not closed) and {data} data bytes are not a whole "
                                 f"number of {record_bytes}-byte records", record_id=rid, path=path)
        n = data // record_bytes
        return n, (f"EDF number of data records -1 (recording not closed): {n} read from the file length",)
    if n < 1:
        raise RecordRejected(f"EDF header declares {n} data records (no signal)", record_id=rid, path=path)
    if data != n * record_bytes:
        what = "truncated" if data < n * record_bytes else "longer than its header says"
        raise RecordRejected(f"EDF file {what}: {n} data records of {record_bytes} bytes after a "
                             f"{info['header_bytes']}-byte header need {info['header_bytes'] + n * record_bytes} "
                             f"bytes, the file has {size} ({data / record_bytes:.2f} records)",
                             record_id=rid, path=path)
    return n, ()


def _select(signals: list[Signal], duration: float, rid, path) -> tuple[list[tuple], tuple[str, ...]]:
    """The signals to read (see the module docstring) as ``(index, mV per unit, (dmin, scale, pmin))``, and the
    notes on those left out."""
    def rate(s):
        return f"{s.samples / duration:g} Hz"

    data = [i for i, s in enumerate(signals) if s.label.lower() not in _ANNOTATIONS]
    leads = [i for i in data if canonical_lead_name(signals[i].label) is not None]
    for i in leads:
        if mv_per_unit(signals[i].dimension) is None:
            dim = repr(signals[i].dimension) if signals[i].dimension else "missing"
            raise RecordRejected(f"EDF lead {signals[i].label!r}: physical dimension {dim} (expected uV, mV or V)",
                                 record_id=rid, path=path)
    volts = [i for i in data if mv_per_unit(signals[i].dimension) is not None]
    if not volts:
        raise RecordRejected(f"EDF file holds no signal in volts (signals: "
                             f"{', '.join(f'{s.label} ({s.dimension})' for s in signals)})", record_id=rid,
                             path=path)
    if len({signals[i].samples for i in leads}) > 1:
        raise RecordRejected("EDF leads at different sampling rates (" + ", ".join(
            f"{signals[i].label} {rate(signals[i])}" for i in leads) + "): the 12 leads must share one rate",
            record_id=rid, path=path)
    if leads:
        n = signals[leads[0]].samples
    else:   # no channel named as a lead: the commonest rate among those in volts (the faster of equals)
        n = max(Counter(signals[i].samples for i in volts).items(), key=lambda kv: (kv[1], kv[0]))[0]
    keep = [i for i in volts if signals[i].samples == n]
    other_rate = [i for i in volts if signals[i].samples != n]
    not_volts = [i for i in data if i not in volts]
    chosen, uncalibrated = [], []
    for i in keep:
        try:
            chosen.append((i, mv_per_unit(signals[i].dimension), _calibration(signals[i], rid, path)))
        except RecordRejected:
            if i in leads:
                raise
            uncalibrated.append(signals[i].label)   # beside the leads (a marker, V4R): it would be dropped anyway

    def names(idx, what):
        return ", ".join(f"{signals[i].label} ({what(signals[i])})" for i in idx)

    notes = ((f"dropped channel(s) not in volts: {names(not_volts, lambda s: s.dimension or 'no unit')}",)
             if not_volts else ())
    if other_rate:
        notes += (f"dropped channel(s) at another rate than the leads ({n / duration:g} Hz): "
                  f"{names(other_rate, rate)}",)
    if uncalibrated:
        notes += (f"dropped uncalibrated channel(s) (digital or physical range unreadable): "
                  f"{', '.join(uncalibrated)}",)
    if not chosen:
        raise RecordRejected("EDF file holds no calibrated signal in volts", record_id=rid, path=path)
    return chosen, notes


def _calibration(s: Signal, rid, path) -> tuple[float, float, float]:
    """``(dmin, scale, pmin)``: physical = (digital - dmin) x scale + pmin."""
    pmin, pmax, dmin, dmax = (_number(getattr(s, k), f"{name} of signal {s.label!r}", rid, path)
                              for k, name in _CALIBRATION.items())
    if dmax == dmin:
        raise RecordRejected(f"EDF signal {s.label!r}: digital minimum = maximum ({dmin:g}): its amplitude cannot "
                             f"be calibrated", record_id=rid, path=path)
    if pmax == pmin:   # every count maps to one value: a constant 'lead' at pmin, not the ECG (an unset range)
        raise RecordRejected(f"EDF signal {s.label!r}: physical minimum = maximum ({pmin:g}): its amplitude cannot "
                             f"be calibrated", record_id=rid, path=path)
    return dmin, (pmax - pmin) / (dmax - dmin), pmin


def _longest_continuous(data: np.ndarray, offsets: np.ndarray, signals: list[Signal], info: dict, fs: float,
                        rid, path) -> tuple[slice, tuple[str, ...]]:
    """EDF+D/BDF+D: the data records of the longest gap-free stretch, from each record's time-keeping onset.

    Each data record of a discontinuous file starts with its onset (seconds from the recording's start) in the
    first annotation signal; records whose onsets differ by one record duration (within half a sample) are
    contiguous. The longest such stretch (the first of equals) is read, with a note naming the stretches, so that
    a recording paused and resumed gives its longest continuous strip, as a cut of missing samples does for
    other formats (:func:`~edfgen.kernels.ecg.preprocess.keep_finite_stretch`). Overlapping or unordered
    records, or a record without its onset, reject the file.
    """
    kind = "BDF+D" if info["bdf"] else "EDF+D"
    ann = [i for i, s in enumerate(signals) if s.label.lower() in _ANNOTATIONS]
    if not ann:
        raise RecordRejected(f"{kind} (discontinuous) without an annotation signal: its data records cannot be "
                             f"placed in time", record_id=rid, path=path)
    raw = data[:, offsets[ann[0]]:offsets[ann[0] + 1]]
    onsets = np.empty(len(raw))
    for k in range(len(raw)):       # one regex per data record (86,400 for a day of 1-s records: ~0.1 s)
        head = raw[k].tobytes()
        m = _TIMEKEEPING.match(head)
        if m is None:
            raise RecordRejected(f"{kind} data record {k + 1}: no time-keeping annotation ('+onset' 0x14 0x14) at "
                                 f"the start of its annotation signal (found {head[:24]!r})", record_id=rid, path=path)
        onsets[k] = float(m.group(1))
        if not np.isfinite(onsets[k]):
            raise RecordRejected(f"{kind} data record {k + 1}: onset {m.group(1)[:24].decode()}... is not a finite "
                                 "number of seconds", record_id=rid, path=path)
    step = np.diff(onsets) - info["duration"]
    tol = 0.5 / fs
    if (step < -tol).any():
        k = int(np.flatnonzero(step < -tol)[0]) + 1
        raise RecordRejected(f"{kind} data record {k + 1} starts at {onsets[k]:+g} s, before data record {k} ends "
                             f"({onsets[k - 1] + info['duration']:+g} s): overlapping or unordered records",
                             record_id=rid, path=path)
    cuts = np.r_[0, np.flatnonzero(step > tol) + 1, len(onsets)]
    lengths = np.diff(cuts)
    best = int(np.argmax(lengths))
    a, b = int(cuts[best]), int(cuts[best + 1])
    if len(lengths) == 1:
        return slice(a, b), ()
    d = info["duration"]
    return slice(a, b), (f"{kind}: {len(onsets)} data records in {len(lengths)} continuous stretches (longest "
                         f"{lengths.max() * d:g} s, gaps {(step[step > tol]).sum():g} s in all); read the longest, "
                         f"{onsets[a]:+g} to {onsets[a] + (b - a) * d:+g} s",)


def _digital(block: np.ndarray, bdf: bool) -> np.ndarray:
    """Samples ``int32`` from ``[records, bytes]`` little-endian 16-bit (EDF) or 24-bit (BDF) two's complement."""
    raw = np.ascontiguousarray(block).reshape(-1)
    if not bdf:
        return raw.view("<i2").astype(np.int32)
    b = raw.reshape(-1, 3).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
    return (v ^ 0x800000) - 0x800000          # sign-extend 24 bits


def read_edf(path: str | os.PathLike) -> EcgRecord:
    """Read an EDF, EDF+C, EDF+D (its longest continuous stretch) or BDF file's ECG in mV (see the module
    docstring).

    Raises
    ------
    RecordRejected
        Not EDF/BDF, an EDF+D whose records cannot be placed in time, a header or file length that disagree,
        a non-numeric field, uncalibrated or non-voltage leads, leads at different rates, too many values.
    """
    path = Path(path)
    rid = path.stem
    info, signals = _header(path, rid)
    bps = 3 if info["bdf"] else 2
    record_bytes = sum(s.samples for s in signals) * bps
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise RecordRejected(f"unreadable EDF file ({exc})", record_id=rid, path=path) from None
    n_records, notes = _records_in_file(info, record_bytes, size, rid, path)
    chosen, dropped = _select(signals, info["duration"], rid, path)
    n = signals[chosen[0][0]].samples
    offsets = np.cumsum([0] + [s.samples * bps for s in signals])
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=info["header_bytes"], shape=(n_records, record_bytes))
    try:
        if info["discontinuous"]:
            keep, gaps = _longest_continuous(data, offsets, signals, info, n / info["duration"], rid, path)
            data, n_records, notes = data[keep], keep.stop - keep.start, notes + gaps
        if len(chosen) * n * n_records > MAX_RECORD_VALUES:
            raise RecordRejected(f"EDF record of {len(chosen)} channels x {n * n_records} samples: "
                                 f"{TOO_LARGE}", record_id=rid, path=path)
        out = np.empty((len(chosen), n * n_records), np.float32)
        for row, (i, factor, (dmin, scale, pmin)) in enumerate(chosen):
            d = _digital(data[:, offsets[i]:offsets[i + 1]], info["bdf"])
            with np.errstate(over="ignore", invalid="ignore"):
                x = ((d - dmin) * scale + pmin) * factor
            if not np.isfinite(x).all() or np.abs(x).max() > np.finfo(np.float32).max:
                raise RecordRejected(f"EDF signal {signals[i].label!r}: amplitudes overflow (physical range "
                                     f"{signals[i].pmin}..{signals[i].pmax} {signals[i].dimension})",
                                     record_id=rid, path=path)
            out[row] = x
    finally:
        del data
    return EcgRecord(record_id=rid, signal=out, fs=n / info["duration"],
                     leads=tuple(signals[i].label for i, _, _ in chosen), path=str(path), notes=notes + dropped)
