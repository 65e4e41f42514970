"""Checked reading of delimited text files: the whole file or an error naming the file and line.

Every table and summary-statistics reader of edfgen reads its bytes through :func:`read_text_bytes`
and checks them with :func:`check_fields` before a parser sees them, so that an input is either
used completely or refused in one line:

* a gzip stream that ends before its end-of-stream marker, and a BGZF file without its empty
  end-of-file block (SAMv1 section 4.1.2: a file cut at a block boundary decompresses without
  error, only the missing EOF block tells), are :class:`~edfgen.exceptions.InputError` s saying
  ``truncated``; corrupt deflate data is one too;
* every line must have as many fields as the header (``file:line: 5 fields, the header has 6``):
  pandas fills a short row with missing values and Arrow's reader does not say which line;
* the header's column names must be distinct (pandas renames a second ``x`` to ``x.1`` silently).

Fields are counted with numpy over the raw bytes (memory-bounded chunks), a few hundred MB/s; a
file holding a quote character is counted by :mod:`csv` with the quoting pandas applies.

References
----------
SAM/BAM Format Specification Working Group. Sequence Alignment/Map Format Specification, section
4.1 (BGZF) and 4.1.2 (end-of-file marker).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import stat

import numpy as np

from edfgen.exceptions import InputError

GZIP_MAGIC = b"\x1f\x8b"
#: the first bytes of a Zstandard frame (RFC 8878 section 3.1.1): plink2's ``--glm zs`` output (``.glm.linear.zst``)
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: the empty block that ends every BGZF file (the same bytes :mod:`edfgen.formats.bgzf` writes)
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
#: bytes per chunk when counting fields (bounds the temporary arrays)
_CHUNK = 32 << 20
#: the longest first line of a text input: a header of 10^5 columns is ~2 MiB; a longer one is not a table (a
#: 50 MB line without a line end was split into 25 million names: 2.4 GB and 45 s before any error, stop 39)
MAX_FIRST_LINE = 16 << 20
#: the largest zstd window decoded, ``zstd --long=31`` (2^27 by default: ``--long=30`` was "corrupt zstd data")
ZSTD_MAX_WINDOW = 1 << 31


def is_zstd(head: bytes) -> bool:
    """Whether ``head`` (a file's first 4 bytes or more) starts a Zstandard stream: a zstd frame (``28 b5 2f fd``)
    or a skippable frame (magic ``0x184D2A50`` to ``0x184D2A5F`` little-endian, RFC 8878 section 3.1.2), which
    ``pzstd`` writes first.

    Parameters
    ----------
    head
        The first bytes of a file.

    Returns
    -------
    bool
    """
    return head[:4] == ZSTD_MAGIC or (len(head) >= 4 and head[1:4] == b"\x2a\x4d\x18" and head[0] & 0xF0 == 0x50)


def is_bgzf(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) starts a BGZF block: gzip with an extra field
    holding the ``BC`` subfield."""
    if len(head) < 18 or head[:2] != GZIP_MAGIC or not head[3] & 4:
        return False
    xlen = int.from_bytes(head[10:12], "little")
    extra, i = head[12:12 + xlen], 0
    while i + 4 <= len(extra):
        if extra[i:i + 2] == b"BC":
            return True
        i += 4 + int.from_bytes(extra[i + 2:i + 4], "little")
    return False


def decompress_checked(raw: bytes, path: str | os.PathLike) -> bytes:
    """``raw`` decompressed when it is gzip/BGZF or zstd (else unchanged), refusing a truncated or corrupt stream.

    Raises
    ------
    InputError
        ``truncated``: a BGZF file without its end-of-file block, a gzip or zstd stream that ends early;
        ``corrupt``: deflate or zstd data that does not decode.
    """
    if is_zstd(raw[:4]):
        return unzstd_checked((raw,), path)
    if raw[:2] != GZIP_MAGIC:
        return raw
    if is_bgzf(raw[:1024]) and not raw.endswith(BGZF_EOF):
        raise InputError(f"{path}: truncated BGZF file: it does not end with the BGZF end-of-file block "
                         f"({len(raw)} bytes; the file was cut short, e.g. by an interrupted copy)")
    from isal import igzip

    try:
        return igzip.decompress(raw)
    except EOFError:
        raise InputError(f"{path}: truncated gzip file: the compressed stream ends before its end marker "
                         f"({len(raw)} bytes; the file was cut short)") from None
    except Exception as exc:  # isal's IsalError, zlib.error, gzip.BadGzipFile: corrupt data
        raise InputError(f"{path}: corrupt gzip data ({exc})") from None


#: compressed bytes decompressed at a time (the text of one piece is appended to the whole, then freed)
_ZSTD_PIECE = 1 << 20


def unzstd_checked(chunks, path: str | os.PathLike) -> bytearray:
    """The text of a Zstandard file given as consecutive byte ``chunks``, decompressed frame after frame (a file
    may hold several; plink2 writes frames without their content size, which :func:`zstandard.decompress` refuses).

    Parameters
    ----------
    chunks
        The compressed bytes in order (an iterable of ``bytes``: a file read in blocks, not held whole).
    path
        The file, named in the errors.

    Returns
    -------
    bytearray
        The text (read as bytes are: a bytearray holds it once, where bytes would need a second copy).

    Raises
    ------
    InputError
        ``truncated``: the last frame has no end (a frame cut short decompresses without error, only its missing
        end tells: an interrupted copy read as a complete table); ``corrupt``: data that does not decode.
    """
    import zstandard

    dctx, out, dobj, size = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW), bytearray(), None, 0
    try:
        for chunk in chunks:
            size += len(chunk)
            view = memoryview(chunk)
            for start in range(0, len(view), _ZSTD_PIECE):   # (1 MiB in: a bounded piece of text out to append)
                piece = view[start:start + _ZSTD_PIECE]
                while piece:
                    dobj = dobj or dctx.decompressobj()
                    out += dobj.decompress(piece)
                    piece = dobj.unused_data if dobj.eof else b""
                    dobj = None if dobj.eof else dobj
    except zstandard.ZstdError as exc:
        raise InputError(f"{path}: corrupt zstd data ({exc})") from None
    if dobj is not None:
        raise InputError(f"{path}: truncated zstd file: its last frame ends before its end marker ({size} bytes; "
                         "the file was cut short)")
    return out    # (a bytearray, grown in place: bytes(out) or BytesIO.getvalue() would copy it, 2x the text)


class _ViewReader(io.RawIOBase):
    """A read-only raw file over a buffer's memory (a bytearray), read without copying the whole of it."""

    def __init__(self, data):
        self._view, self._pos = memoryview(data).cast("B"), 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), len(self._view) - self._pos)
        b[:n] = self._view[self._pos:self._pos + n]
        self._pos += n
        return n


def text_reader(data: bytes | bytearray):
    """A binary file object reading ``data`` (the text of :func:`read_text_bytes`) for :func:`pandas.read_csv`,
    without copying it: ``io.BytesIO`` shares a ``bytes`` object but copies a ``bytearray`` (zstd text: a 210 MiB
    .tsv.zst read with a 969 MiB peak where the plain file took 759 MiB).

    Parameters
    ----------
    data
        A file's text.

    Returns
    -------
    A readable binary file object (a context manager).
    """
    if isinstance(data, bytes):
        return io.BytesIO(data)
    return io.BufferedReader(_ViewReader(data), buffer_size=1 << 20)


def _file_chunks(fh, size: int = _CHUNK):
    """The bytes of the open binary file ``fh`` in blocks of ``size``."""
    while block := fh.read(size):
        yield block


def open_decompressed(path: str | os.PathLike):
    """``path`` opened for reading its text as bytes: through gzip or zstd by its first bytes, else as it is (to
    read a file's head without decompressing the whole of it; the whole text is :func:`read_text_bytes`, checked).

    Parameters
    ----------
    path
        A regular file.

    Returns
    -------
    A binary file object (a context manager).
    """
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] == GZIP_MAGIC:
        import gzip

        return gzip.open(path, "rb")
    if is_zstd(head):
        import zstandard

        dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        reader = dctx.stream_reader(open(path, "rb"), read_across_frames=True)
        return io.BufferedReader(reader)     # (readline: the reader alone has none)
    return open(path, "rb")


#: the text of each stream (FIFO, pipe, ``<(zcat ...)``) read by the running command, decompressed and checked (or
#: the reason it was refused): a stream can be read only once, and a command may read one input twice (a
#: summary-statistics header, then its rows: mr/coloc/finemap waited for ever for a second writer, stop 39 matrix);
#: the second read gets the same text. Emptied when a command ends (:func:`forget_streams`, the CLI's exit path): a
#: named FIFO filled again is read again, and a 10 GB ``zcat`` is not held after its command
_STREAM_TEXT: dict[str, bytes | InputError] = {}


def forget_streams() -> None:
    """Empty the cache of streams' text (:data:`_STREAM_TEXT`); the CLI calls it when a command ends."""
    _STREAM_TEXT.clear()


def _stream_key(path: str | os.PathLike) -> str | None:
    """The key of ``path`` in :data:`_STREAM_TEXT` when it is a stream (neither a regular file nor a folder)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else os.path.abspath(path)


def read_text_bytes(path: str | os.PathLike) -> bytes:
    """The whole content of a text file, decompressed (:func:`decompress_checked`); UTF-16 text (a byte-order
    mark, or NUL bytes in the first 4096 bytes, as Excel's "Unicode text" export) and other compressions (xz,
    zip) are refused naming what they are, where the parser would name a short row or a strange
    value instead. A stream (FIFO, pipe, device) is read once per command: a second call returns the same text
    (:data:`_STREAM_TEXT`); its first :data:`MAX_FIRST_LINE` bytes are read before the rest, so that a stream
    without a line end (``/dev/zero``) is refused there, not read until memory runs out."""
    key = _stream_key(path)
    if key is not None and key in _STREAM_TEXT:
        cached = _STREAM_TEXT[key]
        if isinstance(cached, InputError):       # a refused stream is refused again (it cannot be read again)
            raise InputError(str(cached))
        return cached
    try:
        try:
            if key is None:
                with open(path, "rb", buffering=0) as fh:   # (unbuffered: a buffered read() of the whole file
                    zst = is_zstd(fh.read(4))                # copied it, 2x the file at its peak)
                    fh.seek(0)      # zstd is decompressed as it is read (its compressed bytes are not held whole)
                    raw = unzstd_checked(_file_chunks(fh), path) if zst else fh.read()
            else:
                raw = _read_stream(path)
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        data = raw if key is None and zst else decompress_checked(raw, path)
        del raw
        check_text_head(path, data)
        _check_first_line_length(data, path)
    except InputError as exc:
        if key is not None:
            _STREAM_TEXT[key] = exc
        raise
    if key is not None:
        _STREAM_TEXT[key] = data
    return data


def _read_stream(path: str | os.PathLike) -> bytes:
    """A stream's bytes: the first :data:`MAX_FIRST_LINE` bytes, refused when plain text without a line end in
    them (``/dev/zero``: a MemoryError after reading it all, stop 39 review), then the rest."""
    with open(path, "rb") as fh:
        head = fh.read(MAX_FIRST_LINE + 1)
        if len(head) > MAX_FIRST_LINE and head[:2] != GZIP_MAGIC and b"\n" not in head and b"\r" not in head:
            raise InputError(f"{path}: its first line is longer than {MAX_FIRST_LINE >> 20} MiB without a line end: "
                             f"not a text table (a header line holds at most {MAX_FIRST_LINE >> 20} MiB); is it the "
                             "right file?")
        return head + fh.read()


def check_text_head(path: str | os.PathLike, data: bytes | None = None) -> None:
    """Refuse text that is not UTF-8/ASCII from its first bytes: another compression (xz, zip; zstd or gzip inside
    the decompressed text: a file compressed twice), UTF-16 (a byte-order mark, NUL bytes in the first 4096 bytes),
    a corrupt or truncated gzip or zstd start.

    Parameters
    ----------
    path
        The file (named in the error; its first 64 KiB are read, decompressed, when ``data`` is ``None``: a
        reason given without decompressing a whole file).
    data
        The file's decompressed text or its start, when read already.

    Raises
    ------
    InputError
        Naming what the file is.
    """
    if data is None:
        import gzip
        import zlib

        import zstandard

        try:
            with open_decompressed(path) as fh:
                data = fh.read(1 << 16)
        except EOFError:
            raise InputError(f"{path}: truncated gzip file: the compressed stream ends before its end marker") from None
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise InputError(f"{path}: corrupt gzip data ({exc})") from None
        except zstandard.ZstdError as exc:
            raise InputError(f"{path}: corrupt zstd data ({exc})") from None
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    for magic, kind in _OTHER_COMPRESSION:
        if data.startswith(magic):
            raise InputError(f"{path}: {kind}-compressed: edfgen reads plain, gzip/BGZF or zstd text; decompress it "
                             "first")
    if is_zstd(data[:4]) or data[:2] == GZIP_MAGIC:    # (the text once decompressed is compressed again)
        kind = "zstd" if is_zstd(data[:4]) else "gzip"
        raise InputError(f"{path}: compressed twice (its decompressed content is {kind}-compressed again); "
                         f"decompress it once (e.g. 'zstd -dc FILE > FILE2') and give that file")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(f"{path}: UTF-16 text (byte-order mark); save the file as UTF-8 (or plain ASCII) text")
    if b"\x00" in data[:4096]:
        raise InputError(f"{path}: NUL bytes in its first 4096 bytes: UTF-16 without a byte-order mark, or not text; "
                         "save the file as UTF-8 (or plain ASCII) text")


def _check_first_line_length(data: bytes, path: str | os.PathLike) -> None:
    """Refuse a first line longer than :data:`MAX_FIRST_LINE` (a line ends at LF or, classic Mac, at CR)."""
    if len(data) > MAX_FIRST_LINE and data.find(b"\n", 0, MAX_FIRST_LINE) < 0 \
            and data.find(b"\r", 0, MAX_FIRST_LINE) < 0:
        end = data.find(b"\n")
        size = f"{(len(data) if end < 0 else end) / 2 ** 20:.0f} MiB{' without a line end' if end < 0 else ''}"
        raise InputError(f"{path}: its first line is {size}: not a text table (a header line holds at most "
                         f"{MAX_FIRST_LINE >> 20} MiB); is it the right file?")


_NOT_BLANK = re.compile(rb"\S")


def blank_text(data: bytes) -> bool:
    """Whether ``data`` holds nothing but blanks (spaces, tabs, line ends), found without copying it
    (``not data.strip()`` copied a whole file ending in a line end: +503 MiB on a 503 MiB table, stop 39 review).

    Parameters
    ----------
    data
        A text file's bytes.

    Returns
    -------
    bool
    """
    return _NOT_BLANK.search(data) is None


def comma_separated(data: bytes) -> bool:
    """Whether the first line of ``data`` holds commas and no tab: a comma-separated table (a stream's name,
    ``/dev/fd/63``, says nothing of its separator).

    Parameters
    ----------
    data
        A text file's bytes (or its start).

    Returns
    -------
    bool
    """
    end = data.find(b"\n")
    first = data[:end if end >= 0 else len(data)]
    return b"," in first and b"\t" not in first


#: compressed formats that are not read (their headers hold NUL bytes: named, not called UTF-16); zstd and gzip are
#: read, and named by :func:`check_text_head` when found inside the decompressed text (compressed twice)
_OTHER_COMPRESSION = ((b"\xfd7zXZ\x00", "xz"), (b"PK\x03\x04", "zip"))


def _windows_bytes(err: UnicodeDecodeError) -> tuple[str, int]:
    """Codec error handler: bytes that are not UTF-8 read as Windows-1252 (Latin-1 where 1252 has no letter),
    the encoding of Excel's text exports in Western locales; the valid UTF-8 around them is kept."""
    bad = err.object[err.start:err.end]
    return "".join(chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252") for b in bad), err.end


#: the ``errors`` name of :func:`_windows_bytes` (for ``bytes.decode`` and pandas' ``encoding_errors``)
WINDOWS_BYTES = "edfgen-windows-bytes"
codecs.register_error(WINDOWS_BYTES, _windows_bytes)


def first_invalid_utf8(data: bytes) -> int | None:
    """The offset of the first byte of ``data`` that is not UTF-8, or ``None`` when it all is (ASCII at once).

    Parameters
    ----------
    data
        A file's bytes.

    Returns
    -------
    The offset, or ``None``.
    """
    if data.isascii():
        return None
    decoder = codecs.getincrementaldecoder("utf-8")()
    for at in range(0, len(data), _CHUNK):
        try:
            decoder.decode(data[at:at + _CHUNK], final=at + _CHUNK >= len(data))
        except UnicodeDecodeError as exc:
            return at + exc.start
    return None


def split_header(line: bytes, sep: bytes | None) -> list[str]:
    """The fields of one line (``sep=None``: runs of blanks), decoded (UTF-8, a byte-order mark left out, bytes
    that are not UTF-8 read as Windows-1252)."""
    text = line.decode("utf-8", WINDOWS_BYTES).lstrip("\ufeff").rstrip("\r\n")
    if sep is None:
        return text.split()
    if '"' in text:
        return next(csv.reader([text], delimiter=sep.decode()), [])
    return text.split(sep.decode())


def check_unique_columns(columns, path: str | os.PathLike) -> None:
    """Refuse a header that names a column twice (one line naming the names). Blank names are not compared (a
    spreadsheet's trailing delimiters: the reader leaves out such columns when they are empty)."""
    seen, dup = set(), []
    for c in columns:
        if c in seen and c not in dup and str(c).strip():
            dup.append(c)
        seen.add(c)
    if dup:
        raise InputError(f"{path}: duplicate column name(s) {', '.join(map(repr, dup))} in the header; "
                         "every column needs a name of its own")


def check_fields(data: bytes, path: str | os.PathLike, *, sep: bytes | None, skip_lines: int = 0,
                 quoting: bool = True, unique_names: bool = True) -> list[str]:
    """Check that every non-blank line after ``skip_lines`` has as many fields as the first (the header).

    Parameters
    ----------
    data
        The decompressed file.
    sep
        One-byte delimiter, or ``None`` for runs of spaces/tabs (pandas' ``sep=r"\\s+"``).
    skip_lines
        Lines before the header (``##`` meta lines), not checked.
    quoting
        Whether the reader honours ``"`` quotes (pandas' default): a file holding a quote is then
        counted by :mod:`csv`, so that quoted delimiters and newlines count as pandas counts them.
    unique_names
        Whether a name given twice in the header is refused (``False``: the caller checks, e.g. after finding
        that the first line is data, not a header).

    Returns
    -------
    The header's column names (duplicates refused, :func:`check_unique_columns`).

    Raises
    ------
    InputError
        ``file:line: N fields, the header has M`` for the first short or long row (and how many
        such rows there are); lines ending in CR only (classic Mac, Excel's "CSV (Macintosh)").
    """
    if b"\r" in data and b"\n" not in data:        # one "line" to every reader: say why, not its 10 kB header
        raise InputError(f"{path}: lines end in CR only (classic Mac, Excel 'CSV (Macintosh)'): convert them to LF "
                         f"(e.g. tr '\\r' '\\n' < file > new_file)")
    start = 0
    for _ in range(skip_lines):
        nl = data.find(b"\n", start)
        start = len(data) if nl < 0 else nl + 1
    first_line = skip_lines + 1
    while True:                      # blank lines before the header are skipped, as pandas skips them
        nl = data.find(b"\n", start)
        if data[start:len(data) if nl < 0 else nl].strip():
            break
        if nl < 0:
            return []
        start, first_line = nl + 1, first_line + 1
    end = data.find(b"\n", start)
    header_line = data[start:len(data) if end < 0 else end]
    header = split_header(header_line, sep)
    if unique_names:
        check_unique_columns(header, path)
    body = b"" if end < 0 else data[end + 1:]
    if quoting and sep is not None and b'"' in body:
        bad = _csv_counts(body, sep, len(header), first_line + 1, path)
    else:
        bad = _numpy_counts(body, sep, len(header), first_line + 1)
    if bad is not None:
        line, n, total = bad
        more = f"; {total} such rows" if total > 1 else ""
        raise InputError(f"{path}:{line}: {n} field{'s' if n != 1 else ''}, the header has {len(header)} "
                         f"(a {'short' if n < len(header) else 'long'} row{more}){separator_hint(header, sep)}")
    return header


def separator_hint(header: list[str], sep: bytes | None) -> str:
    """A hint for a header read as one column although it holds another delimiter, else ``""``.

    Parameters
    ----------
    header
        The header's column names as split with ``sep``.
    sep
        The delimiter used (``None``: runs of blanks).

    Returns
    -------
    ``" (the header is one column holding ';': the fields look ';'-separated ...)"``: a table exported by a
    spreadsheet with ``;`` (decimal-comma locales) or ``,`` under a ``.tsv`` name, read whole as one column.
    """
    if len(header) != 1:
        return ""
    used = "" if sep is None else sep.decode()
    found = next((d for d in (";", ",", "\t", "|") if d != used and d in header[0]), None)
    if found is None:
        return ""
    shown = "tab" if found == "\t" else repr(found)
    return (f" (the header is one column holding {shown}: the fields look {shown}-separated; edfgen reads .csv "
            f"as comma-separated and .tsv/.txt as tab- or space-separated: convert the file, e.g. with "
            f"'.' decimals and tabs)")


def _numpy_counts(body: bytes, sep: bytes | None, expected: int, line0: int) -> tuple[int, int, int] | None:
    """(line, fields, rows wrong in all) of the first line whose field count is not ``expected``;
    ``None`` when all are right. Blank lines are skipped (as pandas skips them)."""
    first: tuple[int, int] | None = None
    total, line, pos = 0, line0, 0
    n = len(body)
    while pos < n:
        stop = min(pos + _CHUNK, n)
        if stop < n:
            cut = body.rfind(b"\n", pos, stop)
            stop = cut + 1 if cut >= pos else (body.find(b"\n", stop) + 1 or n)
        arr = np.frombuffer(body, dtype=np.uint8, count=stop - pos, offset=pos)
        ends = np.flatnonzero(arr == 10)
        if not len(ends) or ends[-1] != len(arr) - 1:
            ends = np.append(ends, len(arr))
        starts = np.concatenate(([0], ends[:-1] + 1))
        if sep is None:
            blank = (arr == 32) | (arr == 9) | (arr == 13) | (arr == 10)
            tok = np.flatnonzero(~blank & np.concatenate(([True], blank[:-1])))
            fields = np.diff(np.concatenate(([0], np.searchsorted(tok, ends))))
            wrong = np.flatnonzero((fields != expected) & (fields != 0))     # 0 fields: a blank line
        else:
            hits = np.flatnonzero(arr == sep[0])
            fields = np.diff(np.concatenate(([0], np.searchsorted(hits, ends)))) + 1
            wrong = np.flatnonzero(fields != expected)
            if len(wrong):                                  # blank lines ("" or "\r") are skipped
                length = ends[wrong] - starts[wrong]
                first_byte = arr[np.minimum(starts[wrong], len(arr) - 1)]
                wrong = wrong[~((length == 0) | ((length == 1) & (first_byte == 13)))]
        if len(wrong):
            total += len(wrong)
            if first is None:
                first = (line + int(wrong[0]), int(fields[wrong[0]]))
        line += len(ends)
        pos = stop
    return None if first is None else (*first, total)


def _csv_counts(body: bytes, sep: bytes, expected: int, line0: int, path) -> tuple[int, int, int] | None:
    """:func:`_numpy_counts` for a file with quotes: records as :mod:`csv` (and pandas) split them."""
    first, total = None, 0
    reader = csv.reader(io.StringIO(body.decode("utf-8", "replace"), newline=""), delimiter=sep.decode())
    line = line0
    try:
        for row in reader:
            if row and (len(row) > 1 or row[0].strip() != "") and len(row) != expected:
                total += 1
                if first is None:
                    first = (line, len(row))
            line = line0 + reader.line_num
    except csv.Error as exc:
        raise InputError(f"{path}:{line}: {exc}") from None
    return None if first is None else (*first, total)
