"""Reading 12-lead ECGs from WFDB, NumPy, HDF5, XML, DICOM and EDF/BDF files, and finding the records in folders.

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
    header's gain and units (``mV``, ``uV``/``µV``, ``V``) and are converted to mV. Units ``z`` (per-lead
    z-scores, e.g. ``ptbxl_extra``) are rejected unless the caller passes ``z_scale`` (pre-training only;
    :mod:`edfgen.formats.ecg.units`).
    Record id: ``NAME``. A directory is searched recursively; each ``.hea`` is one record.
NumPy ``.npy``
    One array ``[12, T]`` or ``[T, 12]`` (orientation detected from the axis of length
    ``len(leads)``) in mV, in canonical lead order. The file carries no sampling rate, so the
    caller must give ``fs`` (CLI: ``edfgen extract --fs``). Record id: file stem.
NumPy ``.npz``
    Keys ``ecg`` (or ``signal``) with the array as for ``.npy``, ``fs`` (scalar, required unless
    given by the caller), optional ``leads`` (array of names, default canonical order) and
    optional ``units`` (``mV`` default, ``uV``, ``V``; one unit, or an array of one per channel, each channel
    scaled by its own and a non-ECG channel not in volts left out with a note). Record id: file stem.
HDF5 ``.h5``/``.hdf5``
    One file holds many records. Either

    * **one dataset per record**: every 2-D dataset anywhere in the file, ``[L, T]`` or
      ``[T, L]``, is a record. Its id: the dataset's name (last path component), or, where several 2-D
      datasets of the file share that name (``/<rid>/ecg``), the path of its group (``<rid>``; the root
      group: the file stem). Files holding one record each whose datasets share a name (``/ecg`` in every
      file) are named by their file stems, with a warning (:func:`_name_one_record_files`); or
    * **a stacked dataset**: a 3-D dataset ``[N, L, T]`` (e.g. ``/ecg``) whose record ids are the
      1-D string dataset ``record_id`` (or ``ids``) beside it, else ``<file stem>_<index>``; a row whose
      id is empty, not UTF-8 or repeated is a reject (the other rows keep their ids).

    Attributes ``fs`` (required unless given by the caller), ``leads`` and ``units`` (as for ``.npz``) are
    looked up on the dataset, then its parent groups, then the file root.
XML ``.xml`` (or any extension when the file is given by name)
    GE CardioSoft XML (UK Biobank field 20205, ``<CardiologyXML>``; record id = the ``eid`` of
    ``<eid>_20205_<instance>_<array>.xml``), GE MUSE XML (``<RestingECG>``) and HL7 aECG (``<AnnotatedECG>``,
    :mod:`edfgen.formats.ecg.aecg`; record id = file stem), told apart by the root element: :mod:`edfgen.formats.ecg.xml`.
DICOM ``.dcm``/``.dicom`` (or any extension when the file is given by name)
    12-lead, general or ambulatory ECG waveform objects (hospital PACS and cart exports): the rhythm multiplex
    group, amplitudes from each channel's sensitivity and units; record id = file stem:
    :mod:`edfgen.formats.ecg.dicom`.
EDF ``.edf`` / BDF ``.bdf`` (or any extension when the file is given by name)
    European Data Format (EDF, EDF+C; BioSemi's 24-bit BDF): hospital, Holter and research exports. Each signal
    scaled by its physical/digital minimum and maximum, in its physical dimension; non-ECG channels and
    ``EDF Annotations`` left out; record id = file stem: :mod:`edfgen.formats.ecg.edf`.

Reading never stops a batch: a record that cannot be read or used raises
:class:`RecordRejected` with the reason; batch code writes it to ``rejects.tsv``.
"""

from __future__ import annotations

import dataclasses
import errno
import logging
import os
import re
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Iterator

from edfgen.exceptions import InputError
from edfgen.formats.ecg.arrays import _hdf5_refs, _read_hdf5_ref, read_hdf5, read_npy, read_npz
from edfgen.formats.ecg.common import MAX_RECORD_VALUES, RecordRef, _real, _rejected, _root_of, _one_line, confine
from edfgen.formats.ecg.wfdb_header import segment_headers
from edfgen.formats.ecg.wfdb_reader import _read_wfdb_fast, _read_wfdb_full, read_wfdb
from edfgen.formats.ecg.dicom import is_dicom, read_dicom
from edfgen.formats.ecg.edf import is_edf, read_edf
from edfgen.formats.ecg.xml import ROOTS, read_xml, sniff_xml, xml_record_id
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected

__all__ = ["MAX_RECORD_VALUES", "REJECT_COLUMNS", "SUPPORTED_SUFFIXES", "XML_FORMATS", "EcgRecord", "RecordRef", "RecordRejected", "discover_records",
           "iter_records", "read_ecg", "read_hdf5", "read_npy", "read_npz", "read_record", "read_records", "read_records_iter", "read_wfdb",
           "confine", "_read_wfdb_fast", "_read_wfdb_full"]

log = logging.getLogger(__name__)

WFDB_SUFFIXES = (".hea",)
NPY_SUFFIXES = (".npy",)
NPZ_SUFFIXES = (".npz",)
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
XML_SUFFIXES = (".xml",)  # GE CardioSoft (UK Biobank) and GE MUSE XML, told apart by content: edfgen.formats.ecg.xml
DICOM_SUFFIXES = (".dcm", ".dicom")  # DICOM ECG waveforms: edfgen.formats.ecg.dicom
EDF_SUFFIXES = (".edf", ".bdf")  # European Data Format (EDF, EDF+C, BDF): edfgen.formats.ecg.edf
SUPPORTED_SUFFIXES = (WFDB_SUFFIXES + NPY_SUFFIXES + NPZ_SUFFIXES + HDF5_SUFFIXES + XML_SUFFIXES + DICOM_SUFFIXES
                      + EDF_SUFFIXES)
#: formats read by edfgen.formats.ecg.xml (the layout is sniffed from the root element at discovery)
XML_FORMATS = ("cardiosoft", "muse", "aecg", "xml", "notxml")
#: columns of every ``rejects.tsv`` of ECG records (extract, interpret, finetune, evaluate)
REJECT_COLUMNS = ["record", "path", "reason"]


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
    if s in DICOM_SUFFIXES:
        return "dicom"
    if s in EDF_SUFFIXES:
        return "edf"
    return None


def _pacs_dicom(path: Path) -> bool:
    """An extensionless DICOM file (as PACS exports write them, beside a ``DICOMDIR`` index, which is skipped)."""
    return path.suffix == "" and path.name.upper() != "DICOMDIR" and path.is_file() and is_dicom(path)


#: the magic number that starts a macOS AppleDouble file (``._NAME``: Finder metadata macOS writes beside each file it
#: copies to a FAT/exFAT/SMB volume or into an archive)
_APPLE_DOUBLE_MAGIC = b"\x00\x05\x16\x07"


def _apple_double(path: Path) -> bool:
    """Whether ``path`` is a macOS AppleDouble file (named ``._NAME``, a regular file once links are followed,
    starting with the AppleDouble magic). Only a regular file is opened: ``._NAME`` linked to a named pipe blocked the
    scan for ever."""
    if not path.name.startswith("._") or not path.is_file():
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == _APPLE_DOUBLE_MAGIC
    except OSError:
        return False


def _is_loop(path: Path) -> bool:
    """Whether resolving the symbolic link ``path`` runs in a circle (ELOOP)."""
    try:
        path.stat()
    except OSError as exc:
        return exc.errno == errno.ELOOP
    return False


def _walk(folder: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Everything under ``folder`` (links to folders listed, not entered, as ``Path.rglob``), and the sub-folders
    that could not be listed with the reason: ``rglob`` skipped those silently (review s33a F5), now each is a
    reject row and a warning."""
    found: list[Path] = []
    unreadable: list[tuple[Path, str]] = []

    def refused(exc: OSError) -> None:
        reason = f"folder not readable ({exc.strerror or exc}): the records in it are missing"
        log.warning("--ecg %s: %s", exc.filename, reason)
        unreadable.append((Path(exc.filename), reason))

    for top, dirs, names in os.walk(folder, onerror=refused):
        found.extend(Path(top) / n for n in dirs + names)
    return found, unreadable


def discover_records(paths: Iterable[str | os.PathLike]) -> list[RecordRef]:
    """List the records in files and directories without reading signals.

    A directory is searched recursively for ``.hea``, ``.npy``, ``.npz``, HDF5, ``.xml``, ``.dcm``/``.dicom`` and
    ``.edf``/``.bdf`` files and extensionless files that carry the DICOM marker (PACS exports; not ``DICOMDIR``), sorted by path (an
    XML file's layout is read from its root element). A file given by name with another
    extension (or none) is read as DICOM when it carries the DICOM marker, as EDF/BDF when it starts with an EDF
    header, as XML when its root element is an ECG layout. A WFDB record may be given as ``NAME.hea``, ``NAME.dat``/``NAME.mat`` or ``NAME``.
    In a directory, macOS AppleDouble files (``._NAME`` with the AppleDouble magic: Finder metadata) are skipped with
    a log line, and the segment headers of a multi-segment WFDB record (``NAME/n``; its layout and data
    segments, MIMIC style) are parts of that record, not records: they are left out.

    Raises
    ------
    InputError
        A path that does not exist, a file of an unsupported type, or an unreadable HDF5 file.
    """
    refs: list[RecordRef] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            root = str(_real(p))
            found, unreadable = _walk(p)
            files = sorted(q for q in found if (q.is_file() or q.is_symlink())
                           and (_fmt_of(q) is not None or _pacs_dicom(q)))
            mac = [q for q in files if _apple_double(q)]   # '._r1.hea' beside r1.hea: metadata, not an ECG
            if mac:
                log.info("--ecg %s: skipped %d macOS AppleDouble file(s) (._NAME: Finder metadata, not ECGs), e.g. %s",
                         p, len(mac), mac[0].name)
                files = [q for q in files if q not in set(mac)]
            refs.extend(_rejected(d.name, d, reason, root) for d, reason in unreadable)
            segs = {os.path.normpath(f): segment_headers(f) for f in files if f.suffix.lower() == ".hea" and f.is_file()}
            parts = {os.path.normpath(s) for ss in segs.values() for s in ss} - {k for k, ss in segs.items() if ss}
            files = [f for f in files if os.path.normpath(f) not in parts]   # (a master stays: read, it names a loop)
        elif p.exists():
            root, files = str(_real(p).parent), [p]
        elif p.is_symlink():   # a dangling or looping link given by name: a reject row below, not an error
            root, files = str(_real(p.parent)), [p]
        elif p.with_suffix(".hea").exists() or Path(f"{p}.hea").exists():
            files = [p.with_suffix(".hea") if p.with_suffix(".hea").exists() else Path(f"{p}.hea")]
            root = str(_real(files[0]).parent)
        else:
            raise InputError(f"--ecg {p}: no such file or directory")
        for f in files:
            if f.is_symlink() and not f.exists():   # dangling or a loop: listed as a reject, not skipped unseen
                what = "a symbolic link loop" if _is_loop(f) else "symbolic link to a missing file"
                refs.append(_rejected(f.stem, f, f"{what} ({os.readlink(f)!r})", root))
                continue
            if not f.is_file():
                continue   # a link to a folder
            fmt = _fmt_of(f)
            if fmt is None and f.suffix.lower() in (".dat", ".mat") and f.with_suffix(".hea").exists():
                f, fmt = f.with_suffix(".hea"), "wfdb"
            if fmt != "wfdb" and fmt != "npy" and fmt != "npz":  # opened here (HDF5, XML sniffing): confine first;
                try:  # the others are confined when read. A symlink that leads out of the folder is a reject
                    confine(f, root, what="file", record_id=f.stem, source=f)
                except RecordRejected as exc:
                    refs.append(_rejected(f.stem, f, exc.reason, root))
                    continue
            layout = None
            if fmt is None and is_dicom(f):  # a DICOM file under another extension (PACS exports often have none)
                fmt = "dicom"
            if fmt is None and is_edf(f):  # an EDF/BDF file under another extension (e.g. .rec)
                fmt = "edf"
            if fmt is None:  # an ECG XML export under another extension (e.g. .txt, none): told by content
                layout = sniff_xml(f)
                fmt = "xml" if layout in ROOTS.values() else None
            if fmt is None:
                raise InputError(f"--ecg {f}: unsupported file type {f.suffix!r} "
                                 f"(supported: {', '.join(SUPPORTED_SUFFIXES)})")
            if fmt == "hdf5":
                refs.extend(_hdf5_refs(f, root))
            elif fmt == "xml":  # the layout comes from the root element, the id from the layout
                layout = layout or sniff_xml(f) or "notxml"
                refs.append(RecordRef(xml_record_id(f, layout), str(f), layout, None, root))
            else:
                refs.append(RecordRef(f.stem, str(f), fmt, None, root))
    refs = [_check_id(r) for r in _name_one_record_files(refs)]
    seen: dict[str, RecordRef] = {}
    out = []
    for r in refs:
        if r.fmt == "wfdb" and r.record_id in seen and seen[r.record_id].path == r.path:
            continue  # the same WFDB record given twice
        seen.setdefault(r.record_id, r)
        out.append(r)
    return out


#: dataset names that name what an HDF5 dataset holds, not whose it is: a one-record file's only dataset of such
#: a name is named by the file stem even alone in its folder (``P1.h5`` holding ``/ecg`` is ``P1``, not ``ecg``)
GENERIC_DATASET_NAMES = frozenset({"ecg", "ecgs", "signal", "signals", "data", "waveform", "waveforms", "tracing",
                                   "tracings", "leads", "values", "x"})


def _name_one_record_files(refs: list[RecordRef]) -> list[RecordRef]:
    """``refs`` with each record of a one-record HDF5 file (a single 2-D dataset) renamed to its file stem where
    another one-record file's dataset has the same name, or the name is generic (:data:`GENERIC_DATASET_NAMES`):
    a folder of ``P1.h5``, ``P2.h5`` each holding ``/ecg`` gives ``P1``, ``P2`` (not one ``ecg`` and duplicates),
    while a dataset whose name is unique in the folder keeps it (``batch2.h5`` holding only ``/P3`` is ``P3``, as
    in a batch of many). One warning names the names replaced."""
    per_file = Counter(r.path for r in refs if r.fmt == "hdf5")
    alone = [i for i, r in enumerate(refs) if r.fmt == "hdf5" and per_file[r.path] == 1 and r.key[1] is None]
    files_per_id = Counter(refs[i].record_id for i in alone)
    shared = sorted({refs[i].record_id for i in alone if files_per_id[refs[i].record_id] > 1
                     or refs[i].record_id.lower() in GENERIC_DATASET_NAMES})
    if not shared:
        return refs
    out = list(refs)
    renamed = [i for i in alone if refs[i].record_id in shared]
    for i in renamed:
        out[i] = dataclasses.replace(refs[i], record_id=Path(refs[i].path).stem)
    first = Path(refs[renamed[0]].path)
    log.warning("%d one-record HDF5 file(s) hold a dataset named %s: each record is named by its file stem instead "
                "(%s -> %s)", len(renamed), " or ".join(repr(k) for k in shared[:3]) + (" ..." if len(shared) > 3
                                                                                         else ""), first.name, first.stem)
    return out


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _check_id(ref: RecordRef) -> RecordRef:
    """``ref``, or a reject when its record id holds a tab, newline or other control character (from a file name, an
    HDF5 dataset or ``record_id``): written into the EDF table and PLINK's whitespace-split ``.pheno``, it broke the
    ``.pheno`` for every participant. The reject's id and path show the characters escaped (``tab\\tname``), so
    that ``rejects.tsv`` stays one line per record."""
    if not _CONTROL.search(ref.record_id):
        return ref
    return _rejected(_escape(ref.record_id), _escape(ref.path), f"record id {_escape(ref.record_id)} holds a tab, "
                     "newline or other control character (rename the file or dataset)", ref.root)


def _escape(text: str) -> str:
    """``text`` with its control characters written as Python escapes (a tab as ``\\t``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def read_record(ref: RecordRef, *, fs: float | None = None, units: str | None = None, z_scale=None) -> EcgRecord:
    """Read the record ``ref`` points to (``fs``/``units``: fallbacks for files that lack them; ``z_scale``:
    WFDB signals in units ``z`` are read, scaled by it, instead of rejected — pre-training only, see
    :func:`~edfgen.formats.ecg.wfdb_reader.read_wfdb`)."""
    root = ref.root or None
    if ref.fmt == "rejected":
        raise RecordRejected(str(ref.key[0]), record_id=ref.record_id, path=ref.path)
    if ref.fmt == "wfdb":
        return read_wfdb(ref.path, root=root, z_scale=z_scale)
    if ref.fmt == "npy":
        return read_npy(ref.path, fs=fs, units=units or "mV", root=root)
    if ref.fmt == "npz":
        return read_npz(ref.path, fs=fs, units=units, root=root)
    if ref.fmt == "hdf5":
        return _read_hdf5_ref(ref, fs=fs, units=units)
    if ref.fmt in XML_FORMATS:
        confine(ref.path, _root_of(ref.path, root), what="XML file", record_id=ref.record_id, source=ref.path)
        return read_xml(ref.path, ref.fmt)
    if ref.fmt == "dicom":
        confine(ref.path, _root_of(ref.path, root), what="DICOM file", record_id=ref.record_id, source=ref.path)
        return read_dicom(ref.path)
    if ref.fmt == "edf":
        confine(ref.path, _root_of(ref.path, root), what="EDF file", record_id=ref.record_id, source=ref.path)
        return read_edf(ref.path)
    raise InputError(f"{ref.path}: unsupported ECG format {ref.fmt!r}")


def read_records(refs: Iterable[RecordRef], *, fs: float | None = None,
                 z_scale=None) -> list[EcgRecord | RecordRejected]:
    """Read the records ``refs`` point to, in order; a record that cannot be read is returned as its
    :class:`RecordRejected` (named by the ref's record id and path) instead of stopping the batch."""
    return list(read_records_iter(refs, fs=fs, z_scale=z_scale))


def read_records_iter(refs: Iterable[RecordRef], *, fs: float | None = None,
                      z_scale=None) -> Iterator[EcgRecord | RecordRejected]:
    """:func:`read_records` one record at a time: each is read when the next item is asked for, so a consumer
    that crops it (:func:`edfgen.kernels.ecg.preprocess.preprocess_many`) holds one full record, not a batch."""
    for ref in refs:
        try:
            item = read_record(ref, fs=fs, z_scale=z_scale)
        except RecordRejected as exc:
            item = RecordRejected(exc.reason, record_id=ref.record_id, path=ref.path)
        except Exception as exc:  # a reader's unforeseen failure on a broken file ends this record, not the batch
            log.debug("%s (%s): unexpected %s", ref.record_id, ref.path, type(exc).__name__, exc_info=True)
            item = RecordRejected(f"unreadable file ({type(exc).__name__}: {_one_line(exc)})",
                                  record_id=ref.record_id, path=ref.path)
        yield item
        del item


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
