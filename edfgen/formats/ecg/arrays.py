"""NumPy (``.npy``, ``.npz``) and HDF5 ECG files, read in millivolts.

Layouts are described in :mod:`edfgen.formats.ecg.records`. Array headers are checked against the
bytes present before numpy allocates (a truncated or empty file is a reject, not a crash), and HDF5
datasets may keep samples only inside the file or in external raw files inside the folder given;
external links are never followed.
"""

from __future__ import annotations

import os
import struct
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from edfgen.formats.ecg.common import (MAX_RECORD_VALUES, TOO_LARGE, RecordRef, _decode, _make_record, _numeric, _one_line,
                                       _rejected, _root_of, confine)
from edfgen.kernels.ecg.record import NOTE_ASSUMED_MV, EcgRecord, RecordRejected

#: what reading a broken .npy/.npz raises (zip, zlib and numpy's header parser)
_NPZ_ERRORS = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error, NotImplementedError,
               SyntaxError, struct.error)


def _check_npy_header(fh, size: int, *, what: str, record_id: str, path) -> None:
    """Refuse an ``.npy`` stream whose header promises more bytes than ``size`` (truncated), more than
    :data:`MAX_RECORD_VALUES` values, or Python objects, before numpy allocates anything."""
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    except _NPZ_ERRORS as exc:
        raise RecordRejected(f"{what}: unreadable array header ({_one_line(exc)})", record_id=record_id,
                             path=path) from None
    if dtype.hasobject:
        raise RecordRejected(f"{what}: holds Python objects, not numbers", record_id=record_id, path=path)
    n = int(np.prod(shape, dtype=object))
    if n > MAX_RECORD_VALUES:
        raise RecordRejected(f"{what}: shape {tuple(shape)}: {TOO_LARGE}",
                             record_id=record_id, path=path)
    want = fh.tell() + n * dtype.itemsize
    if want > size:
        raise RecordRejected(f"{what} is truncated: {size} bytes, its header (shape {tuple(shape)}, {dtype}) "
                             f"needs {want}", record_id=record_id, path=path)


def read_npy(path: str | os.PathLike, *, fs: float | None = None, leads: Sequence[str] | None = None,
             units: str = "mV", root: str | os.PathLike | None = None) -> EcgRecord:
    """Read one record from a ``.npy`` array ``[L, T]`` or ``[T, L]``; ``fs`` is required.

    A file outside ``root`` (symlinks resolved), empty, truncated or holding objects is rejected."""
    path = Path(path)
    rid = path.stem
    real = confine(path, _root_of(path, root), what=".npy file", record_id=rid, source=path)
    try:
        with open(real, "rb") as fh:
            _check_npy_header(fh, os.fstat(fh.fileno()).st_size, what=".npy", record_id=rid, path=path)
        arr = np.load(real, allow_pickle=False)
    except RecordRejected:
        raise
    except _NPZ_ERRORS as exc:
        raise RecordRejected(f"unreadable .npy ({_one_line(exc)})", record_id=rid, path=path) from None
    return _make_record(arr, fs=fs, leads=leads, units=units, record_id=rid, path=path)


def read_npz(path: str | os.PathLike, *, fs: float | None = None, leads: Sequence[str] | None = None,
             units: str | None = None, root: str | os.PathLike | None = None) -> EcgRecord:
    """Read one record from a ``.npz`` (keys ``ecg``/``signal``, ``fs``, optional ``leads``, ``units``).

    Values stored in the file take precedence over the arguments, which are fallbacks; without ``units``
    in either, the samples are taken as mV and a note says so. An empty,
    corrupt (bad zip, bad CRC, bad deflate stream) or truncated file, or one outside ``root``, is
    rejected with the reason.
    """
    path = Path(path)
    rid = path.stem
    real = confine(path, _root_of(path, root), what=".npz file", record_id=rid, source=path)
    try:
        with zipfile.ZipFile(real) as zf:
            names = [i.filename for i in zf.infolist()]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:  # which copy numpy would return is not defined
                raise RecordRejected(f".npz holds array {dup[0]!r} more than once", record_id=rid, path=path)
            members = {Path(i.filename).stem: i for i in zf.infolist() if i.filename.endswith(".npy")}
            key = "ecg" if "ecg" in members else "signal" if "signal" in members else None
            if key is None:
                raise RecordRejected(f"no 'ecg' or 'signal' array (keys: {', '.join(sorted(members)) or 'none'})",
                                     record_id=rid, path=path)
            for k in (key, "fs", "leads", "units"):
                if k in members:
                    with zf.open(members[k]) as fh:
                        _check_npy_header(fh, members[k].file_size, what=f".npz array {k!r}", record_id=rid,
                                          path=path)
        with np.load(real, allow_pickle=False) as z:
            arr = z[key]
            fs = z["fs"] if "fs" in z.files else fs
            leads = _decode(z["leads"]) if "leads" in z.files else leads
            units = _one_unit(z["units"]) if "units" in z.files else units
    except RecordRejected:
        raise
    except _NPZ_ERRORS as exc:
        raise RecordRejected(f"unreadable .npz ({type(exc).__name__}: {_one_line(exc)})", record_id=rid,
                             path=path) from None
    rec = _make_record(arr, fs=fs, leads=leads, units=units, record_id=rid, path=path)
    if units is None:  # counted and warned about by edfgen extract; a uV file read as mV is caught by its amplitude
        rec = replace(rec, notes=rec.notes + (f"{NOTE_ASSUMED_MV} mV: the .npz has no 'units'",))
    return rec


def _h5_attr(obj, name):
    while obj is not None:
        if name in obj.attrs:
            return obj.attrs[name]
        if obj.name == "/":
            return None
        obj = obj.parent
    return None


def _h5_links(f) -> list[tuple[str, str]]:
    """(link name, target) of every external link in an open HDF5 file (not followed)."""
    import h5py

    found: list[tuple[str, str]] = []

    def visit(name, link):
        if isinstance(link, h5py.ExternalLink):
            found.append((name, f"{link.filename}:{link.path}"))
    f.visititems_links(visit)
    return found


def _hdf5_refs(path: Path, root: str | os.PathLike | None = None) -> list[RecordRef]:
    """The records of an HDF5 file; a file that cannot be listed, and every external link in it, is a
    rejected ref (external links and soft links are never followed)."""
    import h5py

    root_s = str(_root_of(path, root))
    refs: list[RecordRef] = []
    try:
        with h5py.File(path, "r") as f:
            flat: list[str] = []       # 2-D datasets, named once all are known (_dataset_ids)
            stacks: list[str] = []

            def visit(name, obj):  # hard links only: h5py's visititems does not follow soft/external links
                if isinstance(obj, h5py.Dataset) and _numeric(obj.dtype) and obj.ndim in (2, 3):
                    (flat if obj.ndim == 2 else stacks).append(name)
            f.visititems(visit)
            refs.extend(RecordRef(rid, str(path), "hdf5", (name, None), root_s)
                        for name, rid in zip(flat, _dataset_ids(flat, path.stem)))
            for name in stacks:
                refs.extend(_rejected(rid, path, why, root_s) if why else
                            RecordRef(rid, str(path), "hdf5", (name, i), root_s)
                            for i, (rid, why) in enumerate(_stack_ids(f[name], path.stem)))
            if not refs:
                refs.append(_rejected(path.stem, path, "HDF5 file holds no ECG: no 2-D or 3-D dataset of numbers",
                                      root_s))
            for name, target in _h5_links(f):
                refs.append(_rejected(name.rsplit("/", 1)[-1], path, f"HDF5 external link /{name} -> {target} is not "
                                      f"followed (store the records in this file)", root_s))
    except Exception as exc:  # h5py raises OSError, KeyError, RuntimeError, TypeError... for broken files
        return [_rejected(path.stem, path, f"unreadable HDF5 file ({type(exc).__name__}: {_one_line(exc)})", root_s)]
    return refs


def _dataset_ids(names: list[str], stem: str) -> list[str]:
    """The record id of each 2-D dataset ``names`` (HDF5 paths without the leading ``/``) of a file.

    A dataset is named by its name (last path component), unless another 2-D dataset of the file has the same
    name (``/<rid>/ecg`` in every group): then by the path of its group (``P1`` for ``/P1/ecg``, ``site1/P1`` for
    ``/site1/P1/ecg``; the root group by the file stem). One-record files whose datasets share a name across the
    folder (``/ecg`` in every file) are named by their file stems where all records are known
    (:func:`edfgen.formats.ecg.records.discover_records`).
    """
    last = [n.rsplit("/", 1)[-1] for n in names]
    shared = {n for n in last if last.count(n) > 1}
    return [(n.rpartition("/")[0] or stem) if b in shared else b for n, b in zip(names, last)]


def _stack_ids(ds, stem: str) -> list[tuple[str, str | None]]:
    """``(record id, reject reason or None)`` of each row of the stacked dataset ``ds`` ``[N, L, T]``.

    The ids are the 1-D dataset ``record_id`` (else ``ids``) of ``N`` values beside ``ds``; without one, or one of
    another length, ``<stem>_<row>``. A row whose id is not UTF-8 text or is empty is a reject named
    ``<stem>_<row>``; a row that repeats an earlier row's id is a reject under that id. The other rows keep their
    ids (an unusable id used to rename every row of the file, or reject the whole file, without a word).
    """
    import h5py

    parent, n = ds.parent, ds.shape[0]
    key = next((k for k in ("record_id", "ids") if isinstance(parent.get(k, getlink=True), h5py.HardLink)
                and isinstance(parent[k], h5py.Dataset) and parent[k].ndim == 1 and parent[k].shape[0] == n), None)
    if key is None:
        return [(f"{stem}_{i}", None) for i in range(n)]
    out: list[tuple[str, str | None]] = []
    first: dict[str, int] = {}
    for i, v in enumerate(parent[key][()].tolist()):
        where = f"{parent[key].name}[{i}]"
        try:
            rid = v.decode() if isinstance(v, bytes) else str(v)
        except UnicodeDecodeError:
            out.append((f"{stem}_{i}", f"record id {where} is not UTF-8 text ({v[:40]!r})"))
            continue
        if not rid.strip():
            out.append((f"{stem}_{i}", f"record id {where} is empty"))
        elif rid in first:
            out.append((rid, f"duplicated record id {where} {rid!r} (also row {first[rid]} of {ds.name})"))
        else:
            first[rid] = i
            out.append((rid, None))
    return out


def read_hdf5(path: str | os.PathLike, *, fs: float | None = None, leads: Sequence[str] | None = None,
              units: str | None = None) -> list[EcgRecord]:
    """Read every record of an HDF5 file (layout in the module docstring)."""
    out = []
    for ref in _hdf5_refs(Path(path)):
        if ref.fmt == "rejected":
            raise RecordRejected(str(ref.key[0]), record_id=ref.record_id, path=ref.path)
        out.append(_read_hdf5_ref(ref, fs=fs, leads=leads, units=units))
    return out


def _h5_dataset(f, name: str, folder: Path, root: Path, ref: RecordRef):
    """Open dataset ``name`` so that its external raw files resolve beside the HDF5 file (not the working
    directory) and check them, and any virtual-dataset source, against ``root``."""
    import h5py

    ds = f[name]
    if not ds.external:
        return ds
    for ext_name, _, _ in ds.external:
        confine(folder / os.fsdecode(ext_name), root, what=f"HDF5 external storage file of {name}",
                record_id=ref.record_id, source=ref.path)
    ds.id.close()  # HDF5 refuses a second handle with another external-file prefix
    dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
    dapl.set_efile_prefix(str(folder).encode())
    ds = h5py.Dataset(h5py.h5d.open(f.id, name.encode(), dapl=dapl))
    if ds.is_virtual:
        others = sorted({m.file_name for m in ds.virtual_sources() if m.file_name != "."})
        if others:
            raise RecordRejected(f"HDF5 virtual dataset {name} maps other files ({', '.join(others)}); "
                                 f"store the records in this file", record_id=ref.record_id, path=ref.path)
    return ds


def _one_unit(values) -> str | list[str]:
    """The signal units of an ``.npz`` ``units`` array or an HDF5 ``units`` attribute: a string, bytes, or an array
    of them; one unit when it holds one value (however often), else the list of one unit per channel (each channel
    is scaled by its own: :func:`~edfgen.formats.ecg.common.channel_scales`)."""
    names = _decode(values) or [""]
    return names[0] if len(set(names)) == 1 else names


def _read_hdf5_ref(ref: RecordRef, *, fs=None, leads=None, units=None) -> EcgRecord:
    import h5py

    name, row = ref.key
    path = Path(ref.path)
    root = _root_of(path, ref.root or None)
    real = confine(path, root, what="HDF5 file", record_id=ref.record_id, source=path)
    try:
        with h5py.File(real, "r") as f:
            ds = _h5_dataset(f, name, real.parent, root, ref)
            shape = ds.shape if row is None else ds.shape[1:]
            if int(np.prod(shape, dtype=object)) > MAX_RECORD_VALUES:
                raise RecordRejected(f"HDF5 dataset {name} record of shape {shape}: "
                                     f"{TOO_LARGE}", record_id=ref.record_id, path=ref.path)
            arr = ds[()] if row is None else ds[row]
            a_fs = _h5_attr(ds, "fs")
            a_leads = _h5_attr(ds, "leads")
            a_units = _h5_attr(ds, "units")
            fs = a_fs if a_fs is not None else fs
            leads = _decode(a_leads) if a_leads is not None else leads
            units = _one_unit(a_units) if a_units is not None else units
    except RecordRejected:
        raise
    except Exception as exc:  # h5py raises OSError, KeyError, RuntimeError, TypeError... for broken files
        raise RecordRejected(f"unreadable HDF5 dataset {name} ({type(exc).__name__}: {_one_line(exc)})",
                             record_id=ref.record_id, path=ref.path) from None
    return _make_record(arr, fs=fs, leads=leads, units=units, record_id=ref.record_id, path=ref.path)
