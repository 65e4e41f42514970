"""WFDB signal files checked before they are read: inside the ECG folder, a regular file, as long as its header
says, and a ``.mat`` file the MATLAB matrix its WFDB header reads.

The PhysioNet/CinC Challenges 2020-2021 and ``wfdb2mat`` up to WFDB 10.5.24 store a record's samples as one MATLAB
v4 matrix (``val``, ``[signals x samples]``, column-major: one frame per column) after a 20-byte matrix header and
the variable's name, read as format 16 from that byte offset (``16x1+24``); ``wfdb2mat`` from WFDB 10.5.25 and
wfdb-python's ``wfdb_to_mat`` write the same matrix as an uncompressed MATLAB v5 file (a 192-byte prolog: header
``16+192``), which ``wfdb.rdrecord`` reads just as well. Split from :mod:`edfgen.formats.ecg.wfdb_reader`.
Reference: MATLAB "MAT-File Format" (MathWorks), Level 4 and Level 5 MAT-files.
"""

from __future__ import annotations

import stat
from fractions import Fraction
from pathlib import Path

import numpy as np

from edfgen.formats.ecg.common import confine
from edfgen.formats.ecg.wfdb_header import FMT_RE
from edfgen.kernels.ecg.record import RecordRejected


#: MATLAB v4 matrix type (MOPT: M 0 = little-endian IEEE, O 0, P precision, T 0 = full numeric) of the samples of a
#: WFDB format, as ``wfdb2mat`` and the CinC challenges write ``.mat`` signal files
_MAT_V4_TYPE = {"16": 30, "32": 20, "80": 50}
_MAT_V4_PRECISION = {0: "double", 10: "single", 20: "int32", 30: "int16", 40: "uint16", 50: "uint8"}
#: MATLAB v5 data type of the samples of a WFDB format (miINT16 3, miINT32 5, miUINT8 2: what ``wfdb2mat`` writes)
_MAT_V5_TYPE = {"16": 3, "32": 5, "80": 2}
_MAT_V5_DATA = {1: "int8", 2: "uint8", 3: "int16", 4: "uint16", 5: "int32", 6: "uint32", 7: "single", 9: "double",
                12: "int64", 13: "uint64"}
_MAT_WORDS = {"16": ("int16", 2), "32": ("int32", 4), "80": ("uint8", 1)}
#: WFDB formats that pack samples in groups: (samples, bytes) of a group; a writer may pad the last one
_PACKED = {"212": (2, 3), "310": (3, 4), "311": (3, 4)}


def _file_lines(name: str, sig_lines) -> list[list[str]]:
    """The split signal lines of signal file ``name``."""
    return [tok for tok in map(str.split, sig_lines) if tok and tok[0] == name]


def _mat_v5(head: bytes, tag: bytes, fmt: str, nsig: int, nsamp: int, offset: int) -> str | None:
    """What an uncompressed little-endian MATLAB v5 file (first 168 bytes ``head``; ``tag``: the 8 bytes before
    ``offset``) holds instead of a ``[nsig x >= nsamp]`` matrix whose data of ``fmt``'s type ends its tag at
    ``offset``; ``None`` when it is that matrix."""
    text = head[:116].split(b"\x00")[0].split(b",")[0].decode("latin-1").strip()[:40]
    what = f"a MATLAB file ({text!r})" if text else "a MATLAB v5 file"
    if head[126:128] == b"MI":
        return f"{what} written big-endian (WFDB reads little-endian samples)"
    if len(head) < 168:
        return f"{what} of {len(head)} bytes"
    master, _, dims_tag, dims_len, rows, cols = (int(v) for v in np.frombuffer(head[128:136] + head[152:168], "<u4"))
    if master == 15:
        return f"{what}, compressed (MATLAB's default -v7): save it uncompressed (scipy.io.savemat, MATLAB -v6)"
    if master != 14 or dims_tag != 5 or dims_len != 8:
        return f"{what} whose first variable is not a 2-D matrix"
    if rows != nsig or cols < nsamp:
        return f"{what} of a matrix [{rows} x {cols}]" + (" (transposed?)" if (rows, cols) == (nsamp, nsig) else "")
    word, size = _MAT_WORDS[fmt]
    kind, nbytes = (int(v) for v in np.frombuffer(tag, "<u4")) if len(tag) == 8 else (None, 0)
    if kind != _MAT_V5_TYPE[fmt]:
        return (f"{what} whose [{rows} x {cols}] matrix does not start at byte {offset}: the 8 bytes before it are not "
                f"the tag of {word} data" + (f" (they give {_MAT_V5_DATA[kind]})" if kind in _MAT_V5_DATA else ""))
    if nbytes < nsig * nsamp * size:
        return f"{what} whose {word} data holds {nbytes} bytes, [{nsig} x {nsamp}] needs {nsig * nsamp * size}"
    return None


def check_mat(real: Path, name: str, sig_lines: list[str], nsamp: int | None, *, rid: str, hea: Path) -> bool:
    """A ``.mat`` signal file ``name`` (at ``real``) must be the MATLAB matrix the signal lines ``sig_lines`` of its
    header read: of the format's sample type, one row per signal stored in it, at least ``nsamp`` columns
    (column-major: one frame of every signal per column), its samples starting at the lines' byte offset. MATLAB v4
    (CinC 2020/2021, ``wfdb2mat`` <= 10.5.24: the variable's name ends at the offset) or uncompressed little-endian
    MATLAB v5 (``wfdb2mat`` >= 10.5.25, ``scipy.io.savemat``: the tag of the data, of the format's type and long
    enough, ends at the offset). A file compressed (MATLAB's default v7), saved as doubles or transposed was read
    as noise in mV when the header carried no checksums. Other extensions, formats other than 16, 32 and 80,
    several samples per frame or lines that disagree on format or offset are not checked.

    Returns
    -------
    bool
        Whether the file was found to be that matrix (its rows the signals: columns beyond ``nsamp`` are samples the
        header leaves out, not misaligned frames).

    Raises
    ------
    RecordRejected
        The file is not that matrix (what it holds instead, in one line).
    """
    fields = [FMT_RE.match(tok[1]) if len(tok) > 1 else None for tok in _file_lines(name, sig_lines)]
    layouts = {(m.group(1), m.group(2) or "1", int(m.group(4) or 0)) if m else None for m in fields}
    if not name.lower().endswith(".mat") or nsamp is None or len(layouts) != 1 or None in layouts:
        return False
    fmt, spf, offset = layouts.pop()
    nsig = len(fields)
    if fmt not in _MAT_V4_TYPE or spf != "1":
        return False
    try:
        with open(real, "rb") as fh:
            head = fh.read(168)
            fh.seek(max(offset - 8, 0))
            tag = fh.read(8) if offset >= 8 else b""
    except OSError:
        return False   # the reader names an unreadable file
    word, _ = _MAT_WORDS[fmt]
    want = f"{word} [{nsig} x {nsamp}]"
    found = None
    if len(head) >= 128 and head[126:128] in (b"IM", b"MI") and b"\x00" not in head[:4]:  # v4 starts with a 0 byte
        found = _mat_v5(head, tag, fmt, nsig, nsamp, offset)
    elif len(head) >= 20:
        mopt, rows, cols, imag, namlen = (int(v) for v in np.frombuffer(head[:20], dtype="<i4"))
        kind = _MAT_V4_PRECISION.get(mopt, f"type {mopt}")
        if mopt != _MAT_V4_TYPE[fmt] or imag != 0:
            found = f"a matrix of {kind}{' (complex)' if imag else ''} [{rows} x {cols}]"
        elif rows != nsig or cols < nsamp:
            found = f"{kind} [{rows} x {cols}]" + (" (transposed?)" if (rows, cols) == (nsamp, nsig) else "")
        elif 20 + namlen != offset:
            found = f"its samples at byte {20 + namlen}, the header reads from byte {offset}"
    else:
        return False   # shorter than any matrix header: the size check names it
    if found is not None:
        raise RecordRejected(f"WFDB signal file {name} is not the MATLAB matrix of {want} its header reads from "
                             f"byte {offset}: {found}", record_id=rid, path=hea)
    return True


def _checksums(name: str, sig_lines) -> list[int] | None:
    """The checksums (mod 2**16) of the signal lines of file ``name``; ``None`` when they are all 0, absent or not
    numbers (unset: nothing they could prove)."""
    try:
        sums = [int(tok[6]) % 65536 for tok in _file_lines(name, sig_lines) if len(tok) > 6]
    except ValueError:
        return None
    return sums if any(sums) and len(sums) == len(_file_lines(name, sig_lines)) else None


def _full_size(name: str, sig_lines, nsamp: int, want: int) -> int:
    """The size of signal file ``name`` holding ``nsamp`` frames with its last group of samples padded (formats 212,
    310, 311 pack 2 or 3 samples in 3 or 4 bytes; a writer may fill the last group): ``want`` for other formats."""
    fields = [FMT_RE.match(tok[1]) if len(tok) > 1 else None for tok in _file_lines(name, sig_lines)]
    fmts = {m.group(1) if m else None for m in fields}
    if len(fmts) != 1 or (fmt := fmts.pop()) not in _PACKED:
        return want
    per, nbytes = _PACKED[fmt]
    n = nsamp * sum(int(m.group(2) or 1) for m in fields)
    return max(want, int(fields[0].group(4) or 0) + -(-n // per) * nbytes)


def check_signal_file(hea: Path, name: str, root: Path, rid: str, want: int, nsamp: int | None,
                      sig_lines=(), frame_bytes: float = 0.0, proof: list[str] | None = None) -> Path:
    """Signal file ``name`` of ``hea``: inside ``root`` (symlinks resolved), a regular file, at least ``want``
    bytes long and, when ``frame_bytes`` (the bytes of one frame, every signal stored in it) is given, shorter than
    ``want`` (its last group of packed samples filled) plus one frame; a ``.mat`` file the MATLAB matrix its signal
    lines ``sig_lines`` read (:func:`check_mat`). A missing file is left to the reader, which names it.

    A file longer than its header by a frame or more means the header miscounts its samples or its signals (a
    ``.dat`` of 15 interleaved signals under a 12-signal header was read as 12 misaligned leads, silently, when the
    header carried no checksums; every one of the 3,419 signal files of ``shared/data/ecg`` has exactly the size its
    header gives). It is read all the same where its alignment is proven: a ``.mat`` matrix of one row per signal
    (more columns than samples: a header cropped to the first samples), or a file whose header carries checksums
    when the caller gives ``proof``, the list to which the file's name is then added: the caller compares the
    checksums with the samples it reads (misaligned frames fail them). Padding of less than a frame is accepted.

    Raises
    ------
    RecordRejected
        A file outside ``root``, not a regular file, truncated or longer than its header says (unproven), or a
        ``.mat`` file that is not that matrix.
    """
    real = confine(hea.parent / name, root, what="WFDB signal file", record_id=rid, source=hea)
    try:
        st = real.stat()
    except OSError:
        return real  # missing (or a malformed line naming no file): the reader says what is wrong
    if not stat.S_ISREG(st.st_mode):  # a folder, or a pipe/device that would block or never end
        raise RecordRejected(f"WFDB signal file {name} is not a regular file", record_id=rid, path=hea)
    matrix = check_mat(real, name, list(sig_lines), nsamp, rid=rid, hea=hea)
    if st.st_size < want:
        raise RecordRejected(f"WFDB signal file {name} is truncated: {st.st_size} bytes, the header needs {want} "
                             f"({nsamp} samples)", record_id=rid, path=hea)
    full = _full_size(name, sig_lines, nsamp, want) if nsamp else want
    if not frame_bytes or matrix or st.st_size < full + frame_bytes:
        return real
    if proof is not None and _checksums(name, sig_lines) is not None:
        proof.append(name)
        return real
    frame = Fraction(frame_bytes).limit_denominator(64)
    raise RecordRejected(f"WFDB signal file {name} is longer than its header says: {st.st_size} bytes, the header's "
                         f"{nsamp} samples of {frame} bytes a frame need {want}"
                         + (f" ({full} with the last group of samples padded)" if full > want else "")
                         + ": the header miscounts its samples or its signals (read as it is, the leads could be "
                         "misaligned)", record_id=rid, path=hea)


def check_proof(signals, sig_lines, proof: list[str], *, rid: str, hea: Path) -> None:
    """The samples read (``signals``: one array per signal line ``sig_lines``, digital) of the files in ``proof``
    (longer than their header, :func:`check_signal_file`) must match the header's checksums: the proof that the
    header was cropped to its first samples, not that it miscounts the signals.

    Raises
    ------
    RecordRejected
        A checksum that fails: the frames are misaligned, or the file is not the one the header describes.
    """
    for name in proof:
        want = _checksums(name, sig_lines) or []
        idx = [i for i, tok in enumerate(map(str.split, sig_lines)) if tok and tok[0] == name]
        got = [int(np.sum(np.asarray(signals[i]), dtype=np.int64) % 65536) for i in idx]
        bad = next((k for k in range(len(idx)) if want[k] != got[k]), None)
        if bad is not None:
            raise RecordRejected(f"WFDB signal file {name} is longer than its header says and fails the header's "
                                 f"checksum on signal line {idx[bad] + 1}: header {want[bad]}, samples {got[bad]} "
                                 "(mod 65536): the header miscounts its samples or its signals (the leads would be "
                                 "misaligned)", record_id=rid, path=hea)
