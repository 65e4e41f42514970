"""WFDB header text: decoding, the non-comment lines, the fields edfgen parses itself (sampling frequency, units,
storage formats), and the files a header names (segment headers, signal files).

Split from :mod:`edfgen.formats.ecg.wfdb_reader` (which reads the samples); see there for the references.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from edfgen.kernels.ecg.record import RecordRejected

#: a signal line's format field: ``format[xsamples-per-frame][:skew][+offset]``
FMT_RE = re.compile(r"^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$")
#: a signal line's gain field: ``gain[(baseline)][/units]``
GAIN_RE = re.compile(r"^([-+\d.eE]+)(?:\(([-+\d]+)\))?(?:/(\S+))?$")
#: bits per stored sample of the WFDB formats whose size follows from the header (FLAC formats 5xx do not)
WFDB_BITS = {"8": 8, "16": 16, "24": 24, "32": 32, "61": 16, "80": 8, "160": 16, "212": 12, "310": 32 / 3,
             "311": 32 / 3}
#: every WFDB storage format (those above and the FLAC formats 508, 516, 524)
WFDB_FORMATS = (*WFDB_BITS, "508", "516", "524")


def header_fs(head: list[str], *, record_id: str, path) -> float | None:
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


def header_text(hea: Path, rid: str) -> str:
    """A WFDB header's text, each line UTF-8, else Latin-1 (headers are ASCII, but converters write units ``µV`` as
    the Latin-1 byte 0xB5, which ``wfdb`` drops, reading volts, and UTF-8 decoding replaced by ``\ufffd``). Line by
    line, so that a Latin-1 comment (a patient's name) leaves the UTF-8 ``µV`` of a UTF-8 header as it is."""
    try:
        raw = hea.read_bytes()
    except OSError as exc:
        raise RecordRejected(f"unreadable WFDB header ({exc})", record_id=rid, path=hea) from None
    return "".join(_decode_line(line) for line in raw.splitlines(keepends=True))


def _decode_line(line: bytes) -> str:
    """One header line: UTF-8, else Latin-1."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def header_lines(hea: Path, rid: str) -> list[str]:
    """The non-comment lines of a WFDB header."""
    text = header_text(hea, rid)
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def header_units(lines: list[str]) -> list[str]:
    """The units of each signal line of a single-segment header (WFDB's default ``mV`` where the gain field names
    none), as edfgen decodes the header (:func:`header_text`), not as ``wfdb`` does."""
    units = []
    for ln in lines[1:]:
        tok = ln.split()
        gm = GAIN_RE.match(tok[2]) if len(tok) > 2 else None
        units.append(gm.group(3) if gm is not None and gm.group(3) else "mV")
    return units


def samples_per_frame(lines: list[str]) -> list[int]:
    """The samples per frame of each signal line of a single-segment header's ``lines`` (the ``2`` of format
    ``16x2``; 1 where absent or unparsable): more than 1 makes a multi-frequency record.

    Parameters
    ----------
    lines
        The header's non-comment lines (:func:`header_lines`), the record line first.

    Returns
    -------
    One count per signal line.
    """
    out = []
    for ln in lines[1:]:
        tok = ln.split()
        m = FMT_RE.match(tok[1]) if len(tok) > 1 else None
        out.append(int(m.group(2)) if m is not None and m.group(2) else 1)
    return out


def segment_headers(hea: str | os.PathLike) -> list[Path]:
    """The segment headers (layout included) of a multi-segment WFDB header, as paths beside it; ``[]`` for a
    single-segment or unreadable header. Folder discovery leaves these out: a segment is part of its record, not
    a record (a participant) of its own."""
    hea = Path(hea)
    try:
        with open(hea, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return []
    line = next((ln for ln in head.splitlines(keepends=True) if ln.strip() and not ln.lstrip().startswith(b"#")), None)
    cut = line is not None and len(head) == 4096 and not line.endswith((b"\n", b"\r"))   # the 4 kB may end in it
    first = None if line is None or cut else line.split()[0]
    if (first is None and len(head) < 4096) or (first is not None and b"/" not in first):
        return []   # decided from the first 4 kB (the common case): an empty or single-segment header
    try:
        lines = header_lines(hea, hea.stem)
    except RecordRejected:
        return []
    if not lines or "/" not in lines[0].split()[0]:
        return []
    return [hea.parent / f"{ln.split()[0]}.hea" for ln in lines[1:] if ln.split()[0] != "~"]


def header_files(hea: str | os.PathLike) -> list[Path]:
    """Every file a WFDB header names, as paths beside it: the signal files of a single-segment header; the segment
    headers of a multi-segment one and their signal files. ``[]`` for an unreadable header; never raises.

    What a record reads besides its header, whatever the files are called (``0rec.hea`` may store its signals in
    ``sigdata.mat``): the resume key of ``edfgen extract`` covers them
    (:func:`edfgen.commands.extract_parts.record_fingerprints`). Nothing is confined or checked here.
    """
    hea = Path(hea)
    try:
        lines = header_lines(hea, hea.stem)
    except RecordRejected:
        return []
    if not lines or not lines[0].split():
        return []
    if "/" not in lines[0].split()[0]:   # names deduplicated as text: 12 leads in one .dat make one path
        return [hea.parent / name for name in dict.fromkeys(ln.split()[0] for ln in lines[1:])]
    out: list[Path] = []
    for seg in segment_headers(hea):
        out.append(seg)
        try:
            seg_lines = header_lines(seg, seg.stem)
        except RecordRejected:
            continue
        if seg_lines and seg_lines[0].split() and "/" not in seg_lines[0].split()[0]:
            out.extend(seg.parent / ln.split()[0] for ln in seg_lines[1:])
    return list(dict.fromkeys(out))
