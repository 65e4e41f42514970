"""Reading 12-lead ECGs from WFDB, NumPy, HDF5 and XML files, and finding the records in folders.

What this module knows: the bytes of each ECG file format and which files make up a record.
Every reader returns :class:`~edfgen.kernels.ecg.record.EcgRecord` objects: ``signal`` is
``float32 [L, T]`` in millivolts, ``fs`` the sampling rate in Hz and ``leads`` the lead names in the
file's own order. :func:`edfgen.kernels.ecg.leads.canonicalise_leads` then maps names and aliases to
the canonical order ``I, II, III, aVR, aVL, aVF, V1 … V6`` (:data:`edfgen.kernels.ecg.LEADS`).

Supported inputs
----------------
WFDB
    ``NAME.hea`` with its signal file (``.dat`` in any WFDB format, or a MATLAB v4 ``.mat`` as in
    the PhysioNet/CinC 2021 challenge), read with ``wfdb.rdrecord``. Physical units come from the
    header's gain and units (``mV``, ``uV``/``µV``, ``V``) and are converted to mV.
    Record id: ``NAME``. A directory is searched recursively; each ``.hea`` is one record.
NumPy ``.npy``
    One array ``[12, T]`` or ``[T, 12]`` (orientation detected from the axis of length
    ``len(leads)``) in mV, in canonical lead order. The file carries no sampling rate, so the
    caller must give ``fs`` (CLI: ``edfgen extract --fs``). Record id: file stem.
NumPy ``.npz``
    Keys ``ecg`` (or ``signal``) with the array as for ``.npy``, ``fs`` (scalar, required unless
    given by the caller), optional ``leads`` (array of names, default canonical order) and
    optional ``units`` (``mV`` default, ``uV``, ``V``). Record id: file stem.
HDF5 ``.h5``/``.hdf5``
    One file holds many records. Either

    * **one dataset per record**: every 2-D dataset anywhere in the file, ``[L, T]`` or
      ``[T, L]``, is a record whose id is the dataset's name (last path component); or
    * **a stacked dataset**: a 3-D dataset ``[N, L, T]`` (e.g. ``/ecg``) whose record ids are the
      1-D string dataset ``record_id`` (or ``ids``) beside it, else ``<file stem>_<index>``.

    Attributes ``fs`` (required unless given by the caller), ``leads`` and ``units`` are looked
    up on the dataset, then its parent groups, then the file root.
XML ``.xml`` (or any extension when the file is given by name)
    GE CardioSoft XML (UK Biobank field 20205, ``<CardiologyXML>``; record id = the ``eid`` of
    ``<eid>_20205_<instance>_<array>.xml``) and GE MUSE XML (``<RestingECG>``, record id = file
    stem), told apart by the root element: :mod:`edfgen.formats.ecg.xml`.

Reading never stops a batch: a record that cannot be read or used raises
:class:`RecordRejected` with the reason; batch code writes it to ``rejects.tsv``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from edfgen.exceptions import InputError
from edfgen.formats.ecg.units import UNIT_TO_MV
from edfgen.formats.ecg.xml import ROOTS, read_xml, sniff_xml, xml_record_id
from edfgen.kernels.ecg import LEADS
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected

__all__ = ["REJECT_COLUMNS", "SUPPORTED_SUFFIXES", "XML_FORMATS", "EcgRecord", "RecordRef", "RecordRejected", "discover_records",
           "iter_records", "read_ecg", "read_hdf5", "read_npy", "read_npz", "read_record", "read_records", "read_wfdb"]

log = logging.getLogger(__name__)

WFDB_SUFFIXES = (".hea",)
NPY_SUFFIXES = (".npy",)
NPZ_SUFFIXES = (".npz",)
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
XML_SUFFIXES = (".xml",)  # GE CardioSoft (UK Biobank) and GE MUSE XML, told apart by content: edfgen.formats.ecg.xml
SUPPORTED_SUFFIXES = WFDB_SUFFIXES + NPY_SUFFIXES + NPZ_SUFFIXES + HDF5_SUFFIXES + XML_SUFFIXES
#: formats read by edfgen.formats.ecg.xml (the layout is sniffed from the root element at discovery)
XML_FORMATS = ("cardiosoft", "muse", "aecg", "xml", "notxml")
#: columns of every ``rejects.tsv`` of ECG records (extract, interpret, finetune, evaluate)
REJECT_COLUMNS = ["record", "path", "reason"]


@dataclass(frozen=True)
class RecordRef:
    """A record found on disk but not read yet (cheap to list, pickle and skip on resume).

    ``key`` locates the record inside a multi-record file (HDF5 dataset path and row), else ``None``.
    """

    record_id: str
    path: str
    fmt: str
    key: tuple | None = None


# --------------------------------------------------------------------------- helpers
def _unit_factor(units: str, *, record_id: str, path) -> float:
    u = str(units).strip().lower().replace(" ", "")
    if u not in UNIT_TO_MV:
        raise RecordRejected(f"unknown signal units {units!r} (expected mV, uV or V)", record_id=record_id, path=path)
    return UNIT_TO_MV[u]


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


def _decode(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.atleast_1d(values).tolist()]


def _as_fs(value, *, record_id: str, path) -> float:
    try:
        fs = float(np.asarray(value).reshape(-1)[0])
    except (TypeError, ValueError, IndexError):
        raise RecordRejected(f"unreadable sampling rate {value!r}", record_id=record_id, path=path) from None
    if not np.isfinite(fs) or fs <= 0:
        raise RecordRejected(f"invalid sampling rate {fs}", record_id=record_id, path=path)
    return fs


def _make_record(arr, *, fs, leads, units, record_id, path) -> EcgRecord:
    leads = tuple(leads) if leads is not None else LEADS
    arr = np.asarray(arr)
    if not np.issubdtype(arr.dtype, np.number):
        raise RecordRejected(f"non-numeric signal dtype {arr.dtype}", record_id=record_id, path=path)
    sig = _orient(arr, len(leads), record_id=record_id, path=path)
    if fs is None:
        raise RecordRejected("no sampling rate (give fs in the file, or --fs)", record_id=record_id, path=path)
    factor = _unit_factor(units or "mV", record_id=record_id, path=path)
    sig = sig.astype(np.float32) * np.float32(factor) if factor != 1.0 else sig.astype(np.float32, copy=False)
    return EcgRecord(record_id=record_id, signal=np.ascontiguousarray(sig), fs=_as_fs(fs, record_id=record_id, path=path),
                     leads=leads, path=str(path))


# --------------------------------------------------------------------------- readers
def read_wfdb(path: str | os.PathLike) -> EcgRecord:
    """Read a WFDB record (``NAME.hea`` + ``.dat``/``.mat``) in mV.

    Single-segment records stored in WFDB format 16 (the usual 12-lead ``.dat`` and the CinC
    2021 ``.mat`` files) are read by a fast header parser and ``numpy.fromfile``; any other format
    or header feature goes through ``wfdb.rdrecord``. Missing samples (WFDB's invalid value) become NaN.

    Parameters
    ----------
    path
        The ``.hea`` file or the record path without extension.
    """
    path = Path(path)
    base = path.with_suffix("") if path.suffix == ".hea" else path
    hea = Path(f"{base}.hea")
    rec = _read_wfdb_fast(hea)
    return rec if rec is not None else _read_wfdb_full(base)


_FMT_RE = re.compile(r"^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$")
_GAIN_RE = re.compile(r"^([-+\d.eE]+)(?:\(([-+\d]+)\))?(?:/(\S+))?$")


def _wfdb_header_fs(head: list[str], *, record_id: str, path) -> float | None:
    """The sampling frequency of a WFDB record line (``name[/segments] nsig fs[/counter[(base)]] ...``).

    WFDB (and ``wfdb.rdrecord``) assume 250 Hz when the field is absent or unparsable, which would
    silently mis-time a 500-Hz ECG; here a missing, unreadable, non-finite or non-positive rate
    rejects the record. ``None`` when the record line is too short to tell (``wfdb`` then reports it).
    """
    if len(head) < 2:
        return None
    if len(head) < 3:
        raise RecordRejected("WFDB header gives no sampling frequency (WFDB would assume 250 Hz)",
                             record_id=record_id, path=path)
    token = head[2].split("/")[0].split("(")[0]
    try:
        fs = float(token)
    except ValueError:
        raise RecordRejected(f"unreadable sampling frequency {head[2]!r} in the WFDB header",
                             record_id=record_id, path=path) from None
    if not np.isfinite(fs) or fs <= 0:
        raise RecordRejected(f"invalid sampling frequency {head[2]!r} in the WFDB header (must be > 0 Hz)",
                             record_id=record_id, path=path)
    return fs


def _read_wfdb_fast(hea: Path) -> EcgRecord | None:
    """Format-16 single-segment fast path; ``None`` when the record needs ``wfdb.rdrecord``."""
    rid = hea.with_suffix("").name
    try:
        text = hea.read_text(errors="replace")
    except OSError as exc:
        raise RecordRejected(f"unreadable WFDB header ({exc})", record_id=rid, path=hea) from None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return None
    head = lines[0].split()
    fs = _wfdb_header_fs(head, record_id=rid, path=hea)  # for both paths: wfdb.rdrecord reads 'abc' as 250 Hz
    if len(head) < 4 or "/" in head[0]:
        return None
    try:
        nsig, nsamp = int(head[1]), int(head[3])
    except ValueError:
        return None
    sig_lines = lines[1:1 + nsig]
    if nsig < 1 or len(sig_lines) != nsig or nsamp <= 0 or fs <= 0:
        return None
    files, offsets, gains, baselines, units, names = set(), set(), [], [], [], []
    for i, ln in enumerate(sig_lines):
        tok = ln.split()
        if len(tok) < 9:
            return None
        fm = _FMT_RE.match(tok[1])
        gm = _GAIN_RE.match(tok[2])
        if not fm or not gm or fm.group(1) != "16" or fm.group(2) not in (None, "1") or fm.group(3) not in (None, "0"):
            return None
        try:
            gain = float(gm.group(1))
            baseline = float(gm.group(2)) if gm.group(2) is not None else float(tok[4])
        except ValueError:
            raise RecordRejected(f"unreadable gain {tok[2]!r} or ADC zero {tok[4]!r} on signal line {i + 1} "
                                 f"of the WFDB header", record_id=rid, path=hea) from None
        if gain == 0 or not np.isfinite(gain) or not np.isfinite(baseline):
            return None
        files.add(tok[0])
        offsets.add(int(fm.group(4) or 0))
        gains.append(gain)
        baselines.append(baseline)
        units.append(gm.group(3) or "mV")
        names.append(" ".join(tok[8:]))
    if len(files) != 1 or len(offsets) != 1:
        return None
    data_file = hea.parent / files.pop()
    try:
        d = np.fromfile(data_file, dtype="<i2", count=nsamp * nsig, offset=offsets.pop())
    except (OSError, ValueError) as exc:
        raise RecordRejected(f"unreadable WFDB signal file {data_file.name} ({exc})", record_id=rid, path=hea) from None
    if d.size != nsamp * nsig:
        raise RecordRejected(f"WFDB signal file {data_file.name} has {d.size // nsig} of {nsamp} samples",
                             record_id=rid, path=hea)
    d = d.reshape(nsamp, nsig).T
    factor = np.array([_unit_factor(u, record_id=rid, path=hea) for u in units], dtype=np.float32)
    scale = factor / np.asarray(gains, dtype=np.float32)
    sig = (d.astype(np.float32) - np.asarray(baselines, dtype=np.float32)[:, None]) * scale[:, None]
    missing = d == -32768
    if missing.any():
        sig[missing] = np.nan
    return EcgRecord(record_id=rid, signal=sig, fs=fs, leads=tuple(names), path=str(hea))


def _read_wfdb_full(base: Path) -> EcgRecord:
    """Any WFDB record through ``wfdb.rdrecord`` (digital samples, converted here)."""
    import wfdb

    rid = base.name
    try:
        rec = wfdb.rdrecord(str(base), physical=False, return_res=32)
    except Exception as exc:  # wfdb raises many types for broken files
        raise RecordRejected(f"unreadable WFDB record ({type(exc).__name__}: {exc})", record_id=rid,
                             path=f"{base}.hea") from None
    d = np.asarray(rec.d_signal)
    if d.ndim != 2 or d.shape[0] == 0:
        raise RecordRejected("WFDB record has no samples", record_id=rid, path=f"{base}.hea")
    gain = np.asarray(rec.adc_gain, dtype=np.float64)
    baseline = np.asarray(rec.baseline, dtype=np.float64)
    if np.any(gain == 0):
        raise RecordRejected("WFDB header has a zero ADC gain", record_id=rid, path=f"{base}.hea")
    units = rec.units or ["mV"] * rec.n_sig
    factor = np.array([_unit_factor(u or "mV", record_id=rid, path=f"{base}.hea") for u in units])
    scale = (factor / gain).astype(np.float32)
    sig = (d.T.astype(np.float32) - baseline[:, None].astype(np.float32)) * scale[:, None]
    for i, fmt in enumerate(rec.fmt or []):
        bad = _wfdb_invalid_value(fmt)
        if bad is not None:
            m = d[:, i] == bad
            if m.any():
                sig[i, m] = np.nan
    return EcgRecord(record_id=rid, signal=np.ascontiguousarray(sig), fs=_as_fs(rec.fs, record_id=rid, path=f"{base}.hea"),
                     leads=tuple(rec.sig_name), path=f"{base}.hea")


def _wfdb_invalid_value(fmt: str) -> int | None:
    """WFDB's sentinel for a missing sample in a given storage format (-2**(bits-1))."""
    bits = {"8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12, "310": 10, "311": 10}
    b = bits.get(str(fmt))
    return None if b is None else -(2 ** (b - 1))


def read_npy(path: str | os.PathLike, *, fs: float | None = None, leads: Sequence[str] | None = None,
             units: str = "mV") -> EcgRecord:
    """Read one record from a ``.npy`` array ``[L, T]`` or ``[T, L]``; ``fs`` is required."""
    path = Path(path)
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise RecordRejected(f"unreadable .npy ({exc})", record_id=path.stem, path=path) from None
    return _make_record(arr, fs=fs, leads=leads, units=units, record_id=path.stem, path=path)


def read_npz(path: str | os.PathLike, *, fs: float | None = None, leads: Sequence[str] | None = None,
             units: str | None = None) -> EcgRecord:
    """Read one record from a ``.npz`` (keys ``ecg``/``signal``, ``fs``, optional ``leads``, ``units``).

    Values stored in the file take precedence over the arguments, which are fallbacks.
    """
    path = Path(path)
    rid = path.stem
    try:
        with np.load(path, allow_pickle=False) as z:
            key = "ecg" if "ecg" in z.files else "signal" if "signal" in z.files else None
            if key is None:
                raise RecordRejected(f"no 'ecg' or 'signal' array (keys: {', '.join(z.files)})", record_id=rid, path=path)
            arr = z[key]
            fs = z["fs"] if "fs" in z.files else fs
            leads = _decode(z["leads"]) if "leads" in z.files else leads
            units = str(z["units"]) if "units" in z.files else units
    except (OSError, ValueError) as exc:
        raise RecordRejected(f"unreadable .npz ({exc})", record_id=rid, path=path) from None
    return _make_record(arr, fs=fs, leads=leads, units=units, record_id=rid, path=path)


def _h5_attr(obj, name):
    while obj is not None:
        if name in obj.attrs:
            return obj.attrs[name]
        if obj.name == "/":
            return None
        obj = obj.parent
    return None


def _hdf5_refs(path: Path) -> list[RecordRef]:
    import h5py

    refs: list[RecordRef] = []
    try:
        with h5py.File(path, "r") as f:
            def visit(name, obj):
                if not isinstance(obj, h5py.Dataset) or not np.issubdtype(obj.dtype, np.number):
                    return
                if obj.ndim == 2:
                    refs.append(RecordRef(name.rsplit("/", 1)[-1], str(path), "hdf5", (name, None)))
                elif obj.ndim == 3:
                    parent = obj.parent
                    ids = None
                    for k in ("record_id", "ids"):
                        if k in parent and isinstance(parent[k], h5py.Dataset) and parent[k].ndim == 1:
                            ids = _decode(parent[k][()])
                    if ids is None or len(ids) != obj.shape[0]:
                        ids = [f"{path.stem}_{i}" for i in range(obj.shape[0])]
                    refs.extend(RecordRef(ids[i], str(path), "hdf5", (name, i)) for i in range(obj.shape[0]))
            f.visititems(visit)
    except OSError as exc:
        raise RecordRejected(f"unreadable HDF5 file ({exc})", path=path) from None
    return refs


def read_hdf5(path: str | os.PathLike, *, fs: float | None = None, leads: Sequence[str] | None = None,
              units: str | None = None) -> list[EcgRecord]:
    """Read every record of an HDF5 file (layout in the module docstring)."""
    return [_read_hdf5_ref(r, fs=fs, leads=leads, units=units) for r in _hdf5_refs(Path(path))]


def _read_hdf5_ref(ref: RecordRef, *, fs=None, leads=None, units=None) -> EcgRecord:
    import h5py

    name, row = ref.key
    try:
        with h5py.File(ref.path, "r") as f:
            ds = f[name]
            arr = ds[()] if row is None else ds[row]
            a_fs = _h5_attr(ds, "fs")
            a_leads = _h5_attr(ds, "leads")
            a_units = _h5_attr(ds, "units")
    except (OSError, KeyError) as exc:
        raise RecordRejected(f"unreadable HDF5 dataset {name} ({exc})", record_id=ref.record_id, path=ref.path) from None
    return _make_record(arr, fs=a_fs if a_fs is not None else fs,
                        leads=_decode(a_leads) if a_leads is not None else leads,
                        units=_decode(a_units)[0] if a_units is not None else units,
                        record_id=ref.record_id, path=ref.path)


# --------------------------------------------------------------------------- discovery
def _fmt_of(path: Path) -> str | None:
    s = path.suffix.lower()
    if s in WFDB_SUFFIXES:
        return "wfdb"
    if s in NPY_SUFFIXES:
        return "npy"
    if s in NPZ_SUFFIXES:
        return "npz"
    if s in HDF5_SUFFIXES:
        return "hdf5"
    if s in XML_SUFFIXES:
        return "xml"
    return None


def discover_records(paths: Iterable[str | os.PathLike]) -> list[RecordRef]:
    """List the records in files and directories without reading signals.

    A directory is searched recursively for ``.hea``, ``.npy``, ``.npz``, HDF5 and ``.xml`` files
    (sorted by path; an XML file's layout is read from its root element). A WFDB record may be given as ``NAME.hea``, ``NAME.dat``/``NAME.mat`` or ``NAME``.

    Raises
    ------
    InputError
        A path that does not exist, a file of an unsupported type, or an unreadable HDF5 file.
    """
    refs: list[RecordRef] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            files = sorted(q for q in p.rglob("*") if q.is_file() and _fmt_of(q) is not None)
        elif p.exists():
            files = [p]
        elif p.with_suffix(".hea").exists() or Path(f"{p}.hea").exists():
            files = [p.with_suffix(".hea") if p.with_suffix(".hea").exists() else Path(f"{p}.hea")]
        else:
            raise InputError(f"--ecg {p}: no such file or directory")
        for f in files:
            fmt = _fmt_of(f)
            if fmt is None and f.suffix.lower() in (".dat", ".mat") and f.with_suffix(".hea").exists():
                f, fmt = f.with_suffix(".hea"), "wfdb"
            layout = None
            if fmt is None:  # an ECG XML export under another extension (e.g. .txt, none): told by content
                layout = sniff_xml(f)
                fmt = "xml" if layout in ROOTS.values() else None
            if fmt is None:
                raise InputError(f"--ecg {f}: unsupported file type {f.suffix!r} "
                                 f"(supported: {', '.join(SUPPORTED_SUFFIXES)})")
            if fmt == "hdf5":
                refs.extend(_hdf5_refs(f))
            elif fmt == "xml":  # the layout comes from the root element, the id from the layout
                layout = layout or sniff_xml(f) or "notxml"
                refs.append(RecordRef(xml_record_id(f, layout), str(f), layout))
            else:
                refs.append(RecordRef(f.stem, str(f), fmt))
    seen: dict[str, RecordRef] = {}
    out = []
    for r in refs:
        if r.fmt == "wfdb" and r.record_id in seen and seen[r.record_id].path == r.path:
            continue  # the same WFDB record given twice
        seen.setdefault(r.record_id, r)
        out.append(r)
    return out


def read_record(ref: RecordRef, *, fs: float | None = None, units: str | None = None) -> EcgRecord:
    """Read the record ``ref`` points to (``fs``/``units``: fallbacks for files that lack them)."""
    if ref.fmt == "wfdb":
        return read_wfdb(ref.path)
    if ref.fmt == "npy":
        return read_npy(ref.path, fs=fs, units=units or "mV")
    if ref.fmt == "npz":
        return read_npz(ref.path, fs=fs, units=units)
    if ref.fmt == "hdf5":
        return _read_hdf5_ref(ref, fs=fs, units=units)
    if ref.fmt in XML_FORMATS:
        return read_xml(ref.path, ref.fmt)
    raise InputError(f"{ref.path}: unsupported ECG format {ref.fmt!r}")


def read_records(refs: Iterable[RecordRef], *, fs: float | None = None) -> list[EcgRecord | RecordRejected]:
    """Read the records ``refs`` point to, in order; a record that cannot be read is returned as its
    :class:`RecordRejected` (named by the ref's record id and path) instead of stopping the batch."""
    items: list[EcgRecord | RecordRejected] = []
    for ref in refs:
        try:
            items.append(read_record(ref, fs=fs))
        except RecordRejected as exc:
            items.append(RecordRejected(exc.reason, record_id=ref.record_id, path=ref.path))
    return items


def read_ecg(path: str | os.PathLike, *, fs: float | None = None) -> EcgRecord:
    """Read a single-record file (WFDB, .npy, .npz, or a one-record HDF5)."""
    refs = discover_records([path])
    if len(refs) != 1:
        raise InputError(f"{path}: holds {len(refs)} records, expected 1 (use iter_records)")
    return read_record(refs[0], fs=fs)


def iter_records(paths: Iterable[str | os.PathLike] | str | os.PathLike, *, fs: float | None = None,
                 on_reject: Callable[[RecordRef, RecordRejected], None] | None = None) -> Iterator[EcgRecord]:
    """Yield every record in files/directories (see :func:`discover_records`).

    A record that cannot be read is passed to ``on_reject(ref, error)`` and skipped; without
    ``on_reject`` the :class:`RecordRejected` is raised.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for ref in discover_records(paths):
        try:
            yield read_record(ref, fs=fs)
        except RecordRejected as exc:
            if on_reject is None:
                raise
            on_reject(ref, exc)
