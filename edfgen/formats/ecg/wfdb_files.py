"""WFDB signal files checked before they are read: inside the ECG folder, a regular file, long enough, and a ``.mat``
file the MATLAB v4 matrix its WFDB header reads.

``wfdb2mat`` (PhysioNet WFDB) and the PhysioNet/CinC Challenges 2020-2021 store a record's samples as one MATLAB v4
matrix (``val``, ``[signals x samples]``, column-major: one frame per column) after a 20-byte matrix header and the
variable's name; the WFDB header reads it as format 16 from that byte offset (``16x1+24``). Split from
:mod:`edfgen.formats.ecg.wfdb_reader`. Reference: MATLAB "MAT-File Format" (MathWorks), Level 4 MAT-files.
"""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np

from edfgen.formats.ecg.common import confine
from edfgen.formats.ecg.wfdb_header import FMT_RE
from edfgen.kernels.ecg.record import RecordRejected


#: MATLAB v4 matrix type (MOPT: M 0 = little-endian IEEE, O 0, P precision, T 0 = full numeric) of the samples of a
#: WFDB format, as ``wfdb2mat`` and the CinC challenges write ``.mat`` signal files
_MAT_V4_TYPE = {"16": 30, "32": 20, "80": 50}
_MAT_V4_PRECISION = {0: "double", 10: "single", 20: "int32", 30: "int16", 40: "uint16", 50: "uint8"}
_MAT_WORDS = {"16": "int16", "32": "int32", "80": "uint8"}


def check_mat_v4(real: Path, name: str, sig_lines: list[str], nsamp: int | None, *, rid: str, hea: Path) -> None:
    """A ``.mat`` signal file ``name`` (at ``real``) must be the MATLAB v4 matrix the signal lines ``sig_lines`` of
    its header read (``wfdb2mat``, CinC 2020/2021): of the format's sample type, one row per signal stored in it, at
    least ``nsamp`` columns (column-major: one frame of every signal per column), the variable's name ending at the
    lines' byte offset. A file re-saved as MATLAB v5/v7 (MATLAB's default ``save``, ``scipy.io.savemat``), as doubles
    or transposed was read as noise in mV when the header carried no checksums. Other extensions, formats other than
    16, 32 and 80, several samples per frame or lines that disagree on format or offset are not checked.

    Raises
    ------
    RecordRejected
        The file is not that matrix (what it holds instead, in one line).
    """
    fields = [FMT_RE.match(ln.split()[1]) if len(ln.split()) > 1 else None for ln in sig_lines
              if ln.split() and ln.split()[0] == name]
    layouts = {(m.group(1), m.group(2) or "1", int(m.group(4) or 0)) if m else None for m in fields}
    if not name.lower().endswith(".mat") or nsamp is None or len(layouts) != 1 or None in layouts:
        return
    fmt, spf, offset = layouts.pop()
    nsig = len(fields)
    if fmt not in _MAT_V4_TYPE or spf != "1":
        return
    try:
        with open(real, "rb") as fh:
            head = fh.read(128)
    except OSError:
        return   # the reader names an unreadable file
    want = f"int16 [{nsig} x {nsamp}]".replace("int16", _MAT_WORDS[fmt])
    found = None
    if head.startswith(b"MATLAB") or len(head) >= 128 and head[126:128] in (b"IM", b"MI"):
        found = f"a MATLAB v5/v7 file ({head[:116].split(b',')[0].decode('latin-1').strip()[:40]!r}): save it as v4 " \
                "(MATLAB save -v4, scipy.io.savemat(format='4'))"
    elif len(head) >= 20:
        mopt, rows, cols, imag, namlen = (int(v) for v in np.frombuffer(head[:20], dtype="<i4"))
        kind = _MAT_V4_PRECISION.get(mopt, f"type {mopt}")
        if mopt != _MAT_V4_TYPE[fmt] or imag != 0:
            found = f"a matrix of {kind}{' (complex)' if imag else ''} [{rows} x {cols}]"
        elif rows != nsig or cols < nsamp:
            found = f"{kind} [{rows} x {cols}]" + (" (transposed?)" if (rows, cols) == (nsamp, nsig) else "")
        elif 20 + namlen != offset:
            found = f"its samples at byte {20 + namlen}, the header reads from byte {offset}"
    if found is not None:
        raise RecordRejected(f"WFDB signal file {name} is not the MATLAB v4 matrix of {want} its header reads from "
                             f"byte {offset}: {found}", record_id=rid, path=hea)


def check_signal_file(hea: Path, name: str, root: Path, rid: str, want: int, nsamp: int | None,
                      sig_lines=(), frame_bytes: float = 0.0) -> Path:
    """Signal file ``name`` of ``hea``: inside ``root`` (symlinks resolved), a regular file, at least ``want``
    bytes long and, when ``frame_bytes`` (the bytes of one frame, every signal stored in it) is given, shorter than
    ``want`` plus one frame; a ``.mat`` file the MATLAB v4 matrix its signal lines ``sig_lines`` read
    (:func:`check_mat_v4`). A missing file is left to the reader, which names it.

    A file longer than its header by a frame or more means the header miscounts its samples or its signals (a
    ``.dat`` of 15 interleaved signals under a 12-signal header was read as 12 misaligned leads, silently, when the
    header carried no checksums; every one of the 3,419 signal files of ``shared/data/ecg`` has exactly the size its
    header gives). Padding of less than a frame (format 212) is accepted.

    Raises
    ------
    RecordRejected
        A file outside ``root``, not a regular file, truncated or longer than its header says, or a ``.mat`` file
        that is not that matrix.
    """
    real = confine(hea.parent / name, root, what="WFDB signal file", record_id=rid, source=hea)
    try:
        st = real.stat()
    except OSError:
        return real  # missing (or a malformed line naming no file): the reader says what is wrong
    if not stat.S_ISREG(st.st_mode):  # a folder, or a pipe/device that would block or never end
        raise RecordRejected(f"WFDB signal file {name} is not a regular file", record_id=rid, path=hea)
    if st.st_size < want:
        raise RecordRejected(f"WFDB signal file {name} is truncated: {st.st_size} bytes, the header needs {want} "
                             f"({nsamp} samples)", record_id=rid, path=hea)
    check_mat_v4(real, name, list(sig_lines), nsamp, rid=rid, hea=hea)
    if frame_bytes and st.st_size >= want + frame_bytes:
        raise RecordRejected(f"WFDB signal file {name} is longer than its header says: {st.st_size} bytes, the "
                             f"header's {nsamp} samples of {frame_bytes:g} bytes a frame need {want}: the header "
                             "miscounts its samples or its signals (read as it is, the leads could be misaligned)",
                             record_id=rid, path=hea)
    return real
