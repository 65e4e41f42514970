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


_NEWLINE = re.compile(r"\r\n|\r|\n")
#: the line breaks of ``str.splitlines`` that WFDB headers do not break lines at (:func:`text_lines`), which
#: ``wfdb.rdrecord`` does break them at (``str.splitlines``); whitespace to ``str.split``
OTHER_BREAK = re.compile("[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def text_lines(text: str) -> list[str]:
    """``text`` split into lines at ``\\r\\n``, ``\\r`` or ``\\n`` only, as its bytes are split (``bytes.splitlines``)
    and as WFDB writes them; ``str.splitlines`` also splits at ``\\x0b``, ``\\x0c``, ``\\x1c``-``\\x1e``, ``\\x85``
    and ``\\u2028``, so a Latin-1 ``\\x85`` (cp1252's ellipsis) in a comment would start a line of its own.

    Parameters
    ----------
    text
        Header text (:func:`header_text`).

    Returns
    -------
    The lines, without their line ends (no empty last line for text ending in one).
    """
    lines = _NEWLINE.split(text)
    if lines and not lines[-1]:
        lines.pop()
    return lines


def header_text(hea: Path, rid: str) -> str:
    """A WFDB header's text, each line UTF-8, else Latin-1 (headers are ASCII, but converters write units ``µV`` as
    the Latin-1 byte 0xB5, which ``wfdb`` drops, reading volts, and UTF-8 decoding replaced by ``\ufffd``). Line by
    line, so that a Latin-1 comment (a patient's name) leaves the UTF-8 ``µV`` of a UTF-8 header as it is.

    A header saved as UTF-16 or UTF-32 (a byte-order mark, or NUL bytes: :func:`wide_encoding`), or with a NUL byte
    on a record or signal line, rejects the record,
    naming the encoding: read byte by byte its fields hold NUL bytes (a sampling frequency ``'\\x005\\x000'``,
    segment names that cannot be opened)."""
    try:
        raw = hea.read_bytes()
    except (OSError, ValueError) as exc:    # ValueError: a path with a NUL byte
        raise RecordRejected(f"unreadable WFDB header ({exc})", record_id=rid, path=hea) from None
    wide = wide_encoding(raw)
    if wide is not None:
        raise RecordRejected(f"the header is {wide[1]}; WFDB headers are ASCII (save it as ASCII text)",
                             record_id=rid, path=hea)
    return "".join(_decode_line(line) for line in raw.splitlines(keepends=True))


#: byte-order marks of the wide encodings -> the codec and what it is called (UTF-32 first: its little-endian mark
#: starts with UTF-16's)
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "utf-32", "UTF-32 text (little-endian, byte-order mark)"),
              (b"\x00\x00\xfe\xff", "utf-32", "UTF-32 text (big-endian, byte-order mark)"),
              (b"\xff\xfe", "utf-16", "UTF-16 text (little-endian, byte-order mark)"),
              (b"\xfe\xff", "utf-16", "UTF-16 text (big-endian, byte-order mark)"))


def wide_encoding(raw: bytes) -> tuple[str, str] | None:
    """The codec and the name of the wide encoding (UTF-16, UTF-32) that a header's bytes ``raw`` show, else
    ``None`` (ASCII, UTF-8 or Latin-1 text, NUL bytes only in comment lines).

    By a byte-order mark; without one, by where the NUL bytes of the first character fall (``B\\0`` UTF-16
    little-endian, ``\\0B`` big-endian, ``B\\0\\0\\0`` / ``\\0\\0\\0B`` UTF-32); otherwise a NUL on a record or signal
    line is not text, and one in a ``#`` comment line is left to the comment (which is not parsed).

    Parameters
    ----------
    raw
        The header's bytes (or its first kilobytes).

    Returns
    -------
    ``(codec, name)``, e.g. ``("utf-16-le", "UTF-16 text (little-endian, no byte-order mark)")``, or ``None``.
    """
    for bom, codec, name in _WIDE_BOMS:
        if raw.startswith(bom):
            return codec, name
    if b"\x00" not in raw:
        return None
    head = raw[:4]
    if len(head) == 4 and head[0] and not any(head[1:]):
        return "utf-32-le", "UTF-32 text (little-endian, no byte-order mark)"
    if len(head) == 4 and head[3] and not any(head[:3]):
        return "utf-32-be", "UTF-32 text (big-endian, no byte-order mark)"
    if len(head) >= 2 and head[0] and not head[1]:
        return "utf-16-le", "UTF-16 text (little-endian, no byte-order mark)"
    if len(head) >= 2 and head[1] and not head[0]:
        return "utf-16-be", "UTF-16 text (big-endian, no byte-order mark)"
    if any(b"\x00" in ln and not ln.lstrip().startswith(b"#") for ln in raw.splitlines()):
        return "latin-1", "not text (NUL bytes)"
    return None


def _decode_line(line: bytes) -> str:
    """One header line: UTF-8, else Latin-1."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def header_lines(hea: Path, rid: str) -> list[str]:
    """The non-comment lines of a WFDB header."""
    text = header_text(hea, rid)
    return [ln.strip() for ln in text_lines(text) if ln.strip() and not ln.lstrip().startswith("#")]


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
    except (OSError, ValueError):
        return []
    wide = wide_encoding(head)
    if wide is not None:     # a rejected record (header_text), whose segments are still its own, not records
        return _wide_segment_headers(hea, wide[0])
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


def _wide_segment_headers(hea: Path, codec: str) -> list[Path]:
    """:func:`segment_headers` of a header in a wide encoding (UTF-16, UTF-32), decoded by ``codec``."""
    try:
        text = hea.read_bytes().decode(codec, errors="replace")
    except (OSError, ValueError):
        return []
    lines = [ln.strip() for ln in text_lines(text) if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines or "/" not in lines[0].split()[0]:
        return []
    return [hea.parent / f"{ln.split()[0]}.hea" for ln in lines[1:]
            if ln.split()[0] != "~" and "\x00" not in ln.split()[0]]


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
