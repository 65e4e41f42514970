"""Text VCF lines checked before htslib parses them (:func:`check_vcf_text`).

htslib (through cyvcf2) reported some malformed lines only as a bare exception without a line
number, accepted others silently (a record with an extra sample column) and ended the process with
SIGSEGV on a line that was not tab-separated at all. So a text VCF (plain, gzip or bgzip) is read once
here, line by line, before htslib sees it: the ``#CHROM`` header line must name the eight fixed
columns (and ``FORMAT`` when there are samples) in UTF-8 with no sample name twice, every
``##KEY=<...>`` meta line must end with ``>``, and every ``##FORMAT``/``##INFO`` line declare ``ID``, ``Number``, ``Type`` and
``Description`` (htslib ignored a damaged ``##FORMAT`` line, and with it the field), and every record must have as many tab-separated
fields as that line, a contig name without blanks, a position that is an integer in 0..2^31-1,
non-empty REF/ALT, and no sample column with more ``:``-separated fields than its FORMAT. A bad line is an
:class:`~edfgen.exceptions.InputError` naming the file and the line number (a record: ``record K (line N)``, as
the readers and the Hail engine name it, :func:`record_at`). BCF (binary) is left to htslib,
whose errors the reader turns into one line.

References
----------
The Variant Call Format specification v4.3, section 1.6 (https://samtools.github.io/hts-specs/VCFv4.3.pdf).
"""

from __future__ import annotations

import functools
import gzip
import re
import zlib

from edfgen.exceptions import InputError

FIXED = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
_MAX_POS = 2 ** 31 - 1
#: a ##FORMAT/##INFO line must declare these keys (and a valid Type); htslib drops one it cannot parse
_DECLARATION = re.compile(rb"^##(?:FORMAT|INFO)=<")
_KEYS = (re.compile(rb"[<,]ID=[^,>]"), re.compile(rb",Number=[^,>]"),
         re.compile(rb",Type=(?:Integer|Float|Flag|Character|String)[,>]"), re.compile(rb",Description=\""))


def _opener(path: str):
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head[:2] == b"\x1f\x8b":
        fh = gzip.open(path, "rb")
        try:
            bcf = fh.peek(3)[:3] == b"BCF"      # a BGZF-compressed BCF
        except (OSError, EOFError, zlib.error):
            bcf = False                         # reported by the line loop
        if bcf:
            fh.close()
            return None
        return fh
    if head[:3] == b"BCF":
        return None
    return open(path, "rb")


def check_vcf_text(path: str, *, label: str | None = None) -> int | None:
    """Check every line of the text VCF ``path`` (see the module docstring); return the number of header
    lines (the line number of record ``k``, from 1, is that plus ``k``), or None for a BCF.

    Raises
    ------
    InputError
        A missing or malformed ``#CHROM`` line, or a record line that does not fit it (named by number).
    """
    label = label or f"--vcf {path}"
    fh = _opener(path)
    if fh is None:
        return None
    n_fields = header = None
    lineno = 0
    try:
        with fh:
            for lineno, line in enumerate(fh, 1):
                if n_fields is None:
                    if line.startswith(b"##"):
                        if b"=<" in line and not line.rstrip(b"\r\n").endswith(b">"):
                            raise InputError(f"{label}: line {lineno}: header line {line[:40]!r}... does not end "
                                             "with '>'")
                        if _DECLARATION.match(line) and not all(k.search(line) for k in _KEYS):
                            raise InputError(f"{label}: line {lineno}: header line {line[:40]!r}... does not declare "
                                             "ID, Number, Type (Integer, Float, Flag, Character or String) and "
                                             "Description")
                        continue
                    n_fields, header = _header_line(line, lineno, label), lineno
                    continue
                if line.endswith(b"\n"):
                    line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
                got = line.count(b"\t") + 1
                at = record_at(lineno, header)
                if got != n_fields:
                    raise InputError(f"{label}: {at}: {got} tab-separated fields, the "
                                     f"#CHROM line (line {header}) has {n_fields}")
                chrom, pos, _, ref, alt = line.split(b"\t", 5)[:5]
                if not chrom or not chrom.isascii() or any(c <= 32 or c == 127 for c in chrom):
                    raise InputError(f"{label}: {at}: contig name {chrom[:40]!r} is empty or has blanks")
                if not pos.isdigit() or int(pos) > _MAX_POS:
                    raise InputError(f"{label}: {at}: position {pos[:40]!r} is not an integer in "
                                     f"0..{_MAX_POS}")
                if not ref or not alt:
                    raise InputError(f"{label}: {at}: empty REF or ALT")
                if n_fields > 9:
                    _check_sample_fields(line, at, label, n_fields - 9)
    except (OSError, EOFError, zlib.error) as exc:   # gzip: truncated or corrupt
        raise InputError(f"{label}: line {lineno + 1}: cannot be read ({exc})") from None
    if n_fields is None:
        raise InputError(f"{label}: no #CHROM header line")
    return header


def record_at(line: int, header_lines: int) -> str:
    """How a VCF record is named in errors, by the fast engine's and the Hail engine's readers alike:
    ``record K (line N)``, ``K`` from 1 (the file's ``header_lines`` lines before it)."""
    return f"record {line - header_lines} (line {line})"


#: bytes :func:`text_record_at` reads at most to count the lines before Hail's offset (an error path: a bad line
#: beyond it keeps Hail's byte offset, not a minute's read of a biobank's plain VCF)
RECORD_SCAN_LIMIT = 10 * 1024 ** 3


def text_record_at(path: str, offset: int, *, chunk: int = 1 << 24, limit: int | None = None) -> str | None:
    """:func:`record_at` of the line that starts at byte ``offset`` of the plain-text VCF ``path`` (Hail's
    errors name the byte offset of the line they cannot parse), or None when the file is compressed (Hail's
    offset is then a BGZF virtual offset), not a local file, ``offset`` is not inside its records or beyond
    ``limit`` bytes (default :data:`RECORD_SCAN_LIMIT`; the caller keeps Hail's offset). Reads the file up to
    ``offset`` in ``chunk``-byte pieces (an error path: once)."""
    if offset > (RECORD_SCAN_LIMIT if limit is None else limit):
        return None
    try:
        with open(path, "rb") as fh:
            if fh.read(2) == b"\x1f\x8b":
                return None
            fh.seek(0)
            header = 0
            for line in fh:
                if not line.startswith(b"#"):
                    break
                header += 1
            fh.seek(0)
            lines, left = 0, offset
            while left > 0:
                data = fh.read(min(chunk, left))
                if not data:
                    return None
                lines, left = lines + data.count(b"\n"), left - len(data)
    except OSError:
        return None
    return record_at(lines + 1, header) if lines + 1 > header else None


@functools.lru_cache(maxsize=64)
def _more_fields_than(k: int) -> re.Pattern:
    """A tab, then a column with more than ``k`` ``:``-separated fields (a literal first character: the
    search skips to each tab in C)."""
    return re.compile(rb"\t(?:[^\t:]*:){%d}" % k)


def _check_sample_fields(line: bytes, at: str, label: str, n_samples: int) -> None:
    """A sample column may leave out trailing FORMAT fields but never hold more (htslib: 'Incorrect number
    of FORMAT fields', on stderr, then an error without the reason). One count per line: the columns are
    searched only when the line holds more ``:`` than its samples may (a column with an extra field among
    columns that leave fields out is left to htslib)."""
    fields = line.split(b"\t", 9)
    fmt, start = fields[8], len(line) - len(fields[9]) - 1              # start: the tab before the first sample
    if line.count(b":", start) <= n_samples * fmt.count(b":"):
        return
    found = _more_fields_than(fmt.count(b":") + 1).search(line, start)
    if found:
        k = line.count(b"\t", start, found.start() + 1)
        value = line[found.start() + 1:].split(b"\t", 1)[0]
        raise InputError(f"{label}: {at}: sample {k} ({value[:40].decode('utf-8', 'replace')!r}) has more "
                         f"fields than FORMAT {fmt[:40].decode('utf-8', 'replace')!r}")


def _header_line(line: bytes, lineno: int, label: str) -> int:
    cols = line.rstrip(b"\r\n").split(b"\t")
    try:
        names = tuple(c.decode("utf-8") for c in cols)
    except UnicodeDecodeError as exc:
        raise InputError(f"{label}: line {lineno}: the header line is not UTF-8 text ({exc})") from None
    if names[:8] != FIXED or (len(names) > 8 and names[8] != "FORMAT") or len(names) == 9:
        raise InputError(f"{label}: line {lineno}: the header line must start with {' '.join(FIXED)}"
                         " (then FORMAT and the samples)")
    first: dict[str, int] = {}
    for k, name in enumerate(names[9:], 10):
        if name in first:      # htslib said only "cannot parse VCF header"
            raise InputError(f"{label}: line {lineno}: sample name {name!r} is in columns {first[name]} and {k} of "
                             "the #CHROM line (every sample needs a name of its own)")
        first[name] = k
    return len(cols)
