"""Tables on disk: TSV (optionally gzipped), CSV and parquet, chosen by extension; output folders.

Every write is atomic: the table is written to a temporary file in the target directory and
renamed over the target only when complete, so a crash or Ctrl-C never leaves a half-written
output. The temporary-file rule (:func:`temp_name`, :func:`is_temp_name`, :func:`clean_temp_files`,
:func:`atomic_path`, :func:`atomic_write`) lives in :mod:`edfgen.formats.atomic` and is re-exported
here for the table writers' callers.

:func:`prepare_out_dir` checks an output folder before a command writes into it, using the
folder's ``manifest.json`` (:mod:`edfgen.formats.manifest`) to tell whose output it holds.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import logging
import os
import re
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.atomic import (  # noqa: F401  (re-exported: the table writers' temporary-file rule)
    TEMP_MARK, PathLike, atomic_path, atomic_write, clean_temp_files, is_temp_name, temp_name)
from edfgen.formats.lock import HIDDEN_NAMES, JUNK_NAMES, check_unlocked, folder_lock
from edfgen.formats.manifest import MANIFEST, read_manifest
from edfgen.formats.textio import (WINDOWS_BYTES, _stream_key, blank_text, check_fields, check_unique_columns,
                                   comma_separated, first_invalid_utf8, read_text_bytes, separator_hint, text_reader)

log = logging.getLogger(__name__)


def safe_filename(name: str) -> str:
    """``name`` with every run of characters other than ``A-Za-z0-9_.-`` replaced by ``_`` (for
    per-phenotype/per-trait file names built from user-supplied names)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


#: names edfgen gives its own outputs in a results folder; a phenotype whose file name
#: (:func:`safe_filename`, compared case-insensitively) would be one of them is refused
#: (:func:`check_output_stem`), as is one starting with ``.`` (a hidden file that readers skip)
RESERVED_STEMS = ("multivariate", "combined_min_p", "gwas_summary", "qc_report", "samples", "manifest",
                  "rejects", "loci", "clumps", "mr_results", "pipeline_state", "report", "plots", "loco")


def check_output_stem(name: str, *, what: str = "phenotype", source: str | None = None) -> str:
    """The file stem of ``name`` (:func:`safe_filename`), refusing one that is empty, starts with
    ``.`` or is a :data:`RESERVED_STEMS` name (the one rule: refuse, never rename)."""
    stem = safe_filename(name)
    where = f"{source}: " if source else ""
    if not stem.strip("._"):
        raise InputError(f"{where}{what} name {name!r} cannot be a file name")
    if stem.startswith(".") or stem.lower() in RESERVED_STEMS:
        raise InputError(f"{where}{what} {name!r} would be written as {stem}.tsv.gz, a name edfgen keeps for its "
                         f"own output or hides (a {what} name may not be {', '.join(RESERVED_STEMS)} "
                         "or start with '.'); rename the column")
    return stem


def is_parquet(path: PathLike) -> bool:
    """Whether ``path`` is named as a parquet table (``.parquet`` or ``.pq``, in any case): the one rule of the
    table and sumstats readers.

    Parameters
    ----------
    path : str or Path
        A table's path.

    Returns
    -------
    bool
    """
    return Path(path).name.lower().endswith((".parquet", ".pq"))


def _fmt(path: Path) -> str:
    name = path.name.lower()
    if is_parquet(path):
        return "parquet"
    if name.endswith((".csv", ".csv.gz", ".csv.bgz", ".csv.zst")):
        return "csv"
    return "tsv"


#: names of the participant-id column, in order of preference: PLINK (``FID IID``), plink2 (``#IID``),
#: UK Biobank (``eid``), a BGEN ``.sample`` file (``ID_2``), UK Biobank RAP's ``dx extract_dataset`` export
#: (``participant.eid``), ukbconv's R table (``f.eid``), FinnGen's phenotype and covariate files (``FINNGENID``)
ID_ALIASES = ("IID", "#IID", "eid", "ID_2", "participant.eid", "f.eid", "FINNGENID")


def some_names(names: Sequence[Any], k: int = 15) -> str:
    """The first ``k`` of ``names`` joined by ", ", ending ", … and N more" when there are more (an error's
    ``has:`` list cut silently read as if the names after the cut were absent)."""
    names = [str(n) for n in names]
    return ", ".join(names[:k]) + (f", … and {len(names) - k} more" if len(names) > k else "")


def read_table(path: PathLike, *, required: Sequence[str] = (), id_column: str | None = None,
               dtype: dict | None = None, exact_floats: bool = False, text: bytes | None = None,
               headerless: str | None = None) -> pd.DataFrame:
    """Read a TSV/CSV/parquet table by extension.

    Parameters
    ----------
    path
        ``.tsv``, ``.tsv.gz``, ``.txt`` (tab or whitespace), ``.csv`` or ``.parquet``. Text is read
        through :mod:`edfgen.formats.textio`: a truncated gzip/BGZF file, a row with more or fewer
        fields than the header (``file:line``) and a column name given twice are refused.
    required
        Columns that must be present; a missing one raises :class:`InputError` naming it.
    id_column
        If given (usually ``"IID"``), read it as string and reject duplicated ids. For ``"IID"``
        the participant id may be named as biobanks name it (:data:`ID_ALIASES`: ``IID``, plink2's
        ``#IID``, UK Biobank's ``eid``, a BGEN ``.sample``'s ``ID_2``); the column used is logged
        and renamed ``IID``. Blanks around an id (a spreadsheet's trailing space) are removed, with a
        warning counting them: a PLINK id holds none, and plink2 reads them as delimiters.
    exact_floats
        Parse text numbers with a correctly rounded parser (pandas ``float_precision="round_trip"``, ~2x slower),
        so that a value written as the shortest text of a double reads back as that double; pandas' default
        parser may be off by an ulp (the LOCO predictions of :mod:`edfgen.formats.loco` need the exact value).
    text
        The file's text, when the caller has read it already (:func:`~edfgen.formats.textio.read_text_bytes`):
        not read again (a FIFO or pipe can be read only once).
    headerless
        With ``id_column="IID"``: a text file whose first line is data (PLINK's headerless ``FID IID value ...``:
        no participant-id column named, every field after the second a number or missing) is read as plink2 reads
        it, columns ``FID``, ``IID``, ``{headerless}1``, ``{headerless}2`` ... (``PHENO``: ``--pheno``, ``COVAR``:
        ``--covar``), with a warning; ``None``: its first line is a header.

    Raises
    ------
    InputError
        The file is missing, unreadable, truncated, has a short or long row or a duplicate column
        name, lacks a required column or has duplicated ids.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    fmt = _fmt(path)
    dtype = dict(dtype or {})
    if id_column:
        for c in ((id_column, *ID_ALIASES) if id_column == "IID" else (id_column,)):
            dtype.setdefault(c, str)
    numbered = ""                          # why a text file's first line was taken as a header, for its errors
    try:
        if fmt == "parquet":
            df = _numpy_columns(pd.read_parquet(path), ids=(id_column, *ID_ALIASES) if id_column else ())
            check_unique_columns(df.columns, path)
            if id_column and id_column in df.columns:
                df[id_column] = df[id_column].astype(str)
        else:
            raw = read_text_bytes(path) if text is None else text
            if blank_text(raw):     # was "cannot be read as a tsv table (No columns to parse from file)"
                raise InputError(f"{path}: empty file ({'0 bytes' if not raw else 'blank lines only'}): no header "
                                 "line, no rows")
            sep = b"," if fmt == "csv" or (fmt == "tsv" and _stream_key(path) and comma_separated(raw)) else b"\t"
            if fmt == "tsv" and b" " in raw[:raw.find(b"\n")] and b"\t" not in raw[:raw.find(b"\n")]:
                sep = None                   # space-separated (.txt from PLINK, REGENIE, SAIGE ...)
            header = check_fields(raw, path, sep=sep, unique_names=False)
            first = 0
            rows = _next_rows(raw, sep) if headerless and id_column == "IID" else []
            if headerless and id_column == "IID" and _first_line_is_data(header, rows):
                names, first = ["FID", "IID", *(f"{headerless}{i}" for i in range(1, len(header) - 1))], None
                log.warning("%s: no header line (the first line is data: %s); read as PLINK's headerless FID, IID, "
                            "%s columns", path, some_names(header, 4), some_names(names[2:], 3))
                header = names
            else:
                if headerless and id_column == "IID" and _first_line_is_data(header, rows, id_names=frozenset()):
                    numbered = _named_header(header)     # a header only because it names an id column
                elif headerless and id_column == "IID" and _first_line_is_data(header):
                    numbered = _NUMBERED_HEADER      # a header only because the next lines' ids are numbers
                try:
                    check_unique_columns(header, path)
                except InputError as exc:
                    raise InputError(f"{exc}{numbered}") from None
                names = _stripped_names(header, path)
            read = dict(sep=r"\s+" if sep is None else sep.decode(), dtype=dtype, header=first, names=names,
                        float_precision="round_trip" if exact_floats else None)
            bad = first_invalid_utf8(raw)
            if bad is not None:                 # Excel's "Text (Windows)" / "CSV" in Western locales
                log.warning("%s: not UTF-8 text (byte 0x%02x at offset %d): bytes that are not UTF-8 read as "
                            "Windows-1252; save the file as UTF-8 if its ids or names hold other letters", path,
                            raw[bad], bad)
            df = pd.read_csv(text_reader(raw), encoding_errors=WINDOWS_BYTES, **read)
            df = _drop_unnamed_empty(df, header, path)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"{path}: cannot be read as a {fmt} table ({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})") from None
    if id_column == "IID":
        key = next((c for c in ID_ALIASES if c in df.columns), None)
        if key is not None:
            log.debug("%s: participant ids from column %s", path, key)
            if key != "IID":
                df = df.rename(columns={key: "IID"})
                df["IID"] = df["IID"].astype(str)
    elif id_column and id_column not in df.columns and "#IID" in df.columns:
        df = df.rename(columns={"#IID": id_column})
    missing = [c for c in required if c not in df.columns]
    if id_column and id_column not in df.columns:
        missing.insert(0, id_column)
    if missing:
        named = (f" (the participant id: one of {', '.join(ID_ALIASES)})" if id_column == "IID" and "IID" in missing
                 else "")
        hint = separator_hint([str(c) for c in df.columns], None if fmt == "parquet" else sep)
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}{named} (has: "
                         f"{some_names(df.columns, 12)}){hint}{numbered}")
    if id_column:
        df = _strip_ids(df, id_column, path)
        dup = df[id_column][df[id_column].duplicated()]
        if len(dup):
            raise InputError(f"{path}: duplicated {id_column} {dup.iloc[0]!r} ({dup.nunique()} duplicated ids)")
    return df


#: the words added to a header error when the first line would be PLINK's headerless data but for the rule of
#: :func:`_first_line_is_data` that a word above numeric ids is a column name
_NUMBERED_HEADER = (" (first line taken as a header: the next lines' ids are numbers; a headerless PLINK file's first "
                    "line needs ids like the others', or give the file a header line)")

def _named_header(header: list[str]) -> str:
    """The words added to a header error when the first line would be PLINK's headerless data but for the
    participant-id column it names (:data:`_ID_NAMES`)."""
    name = next(h.strip().strip('"') for h in header if h.strip().strip('"').lstrip("#").upper() in _ID_NAMES)
    return (f" (the first line was read as a header because it names a participant-id column, {name!r}; a "
            "headerless PLINK file whose first id is such a word is read as data only when that word repeats "
            "in its column below: give the file a header line naming the columns, e.g. FID IID ...)")


#: the names of a participant-id column, as :func:`_first_line_is_data` compares them (upper case, no ``#``):
#: :data:`ID_ALIASES`, PLINK's ``FID``, and the plain ``ID`` a header names its id column by (``ID 30000 30001``)
_ID_NAMES = frozenset({"FID", "ID", *(a.lstrip("#").upper() for a in ID_ALIASES)})

#: the words a text table may write for a missing value (pandas' defaults that plink2 reads as missing too)
_MISSING_WORDS = frozenset({"", "NA", "NaN", "nan", "-9"})


def _is_number(field: str) -> bool:
    """Whether a text field is a number (``float`` reads it), quotes and blanks around it aside."""
    try:
        float(field.strip().strip('"'))
    except ValueError:
        return False
    return True


def _first_line_is_data(header: list[str], rows: Sequence[Sequence[str]] = (), *,
                        id_names: frozenset = _ID_NAMES) -> bool:
    """Whether a table's first line is a PLINK data line (``FID IID 1.5 2``), not a header: three or more fields,
    none a participant-id column's name (:data:`ID_ALIASES`, ``FID``, ``ID``), every field after the second a number or
    a missing word, and neither of its first two (the ids) a word where every one of the next ``rows`` (their
    fields) has a number: ``f.eid 30000 30010`` or ``ID 30000 30001`` above numeric ids is a header whose phenotypes
    are named by number (UK Biobank field ids), not a participant ``f.eid`` with phenotype values (known defect s37:
    its second column, a phenotype, was read as the participant ids). A headerless file whose first line holds
    numeric ids, as its other lines do, stays data; so does one whose first two fields are one word (FID = IID,
    ``NA12878 NA12878 1.5 2`` above numeric ids: as a header it would name two columns alike, a certain error).
    An id-column name counts only when neither of the first two fields repeats in its column of the next ``rows``:
    a header word appears once, so ``ID 1001 1.5 2`` above ``ID 1002 1.1 3`` (a family named ``ID``), or
    ``fam1 id 1.5 2`` above ``fam1 p2 1.1 3``, is data (review of s38). ``id_names``: the names that count."""
    names = [h.strip().strip('"').lstrip("#").upper() for h in header]
    rows = [r for r in rows if len(r) >= 2]
    repeats = any(header[k].strip().strip('"') == r[k].strip().strip('"') for r in rows for k in (0, 1))
    if len(header) < 3 or (not repeats and any(n in id_names for n in names)):
        return False
    if not all(h.strip() in _MISSING_WORDS or _is_number(h) for h in header[2:]):
        return False
    if names[0] == names[1]:
        return True      # FID = IID (``NA12878 NA12878 1.5 2``): no header names two columns alike (review s37known)
    return not any(not _is_number(header[k]) and rows and all(_is_number(r[k]) for r in rows) for k in (0, 1))


def _next_rows(raw: bytes, sep: bytes | None, n: int = 100) -> list[list[str]]:
    """The fields of up to ``n`` non-blank lines after a text table's first (``sep`` as in :func:`read_table`)."""
    end = raw.find(b"\n")
    for _ in range(n):              # offsets, not raw.split: no copy of the rest of a large file
        if end < 0:
            break
        end = raw.find(b"\n", end + 1)
    start = raw.find(b"\n")
    lines = raw[start + 1:end if end >= 0 else len(raw)].split(b"\n") if start >= 0 else []
    return [ln.decode("utf-8", "replace").strip("\r").split(None if sep is None else sep.decode())
            for ln in lines if ln.strip()]


def _numpy_columns(df: pd.DataFrame, ids: Sequence[str] = ()) -> pd.DataFrame:
    """A parquet table's columns in the types a text table reads as: nullable numbers and booleans (``Int8``,
    ``Float64``, ``boolean``, Arrow types; R's arrow writes them) as float64 with NaN for ``NA``; categories,
    strings, dates and times as text (object) with NaN for missing. ``pd.NA`` stays out of the arrays the
    readers and kernels compute on (its truth value raises). The ``ids`` columns are text as written
    (``1000001``, never ``1000001.0``)."""
    out = {}
    for c in df.columns:
        s = df[c]
        plain = isinstance(s.dtype, np.dtype)
        if plain and s.dtype.kind in ("biu" if c in ids else "biuf"):
            continue                                    # numpy numbers (ids: integers, made text by the caller)
        if c not in ids and not plain and not isinstance(s.dtype, pd.CategoricalDtype) and (
                pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype)):
            out[c] = s.to_numpy(dtype=np.float64, na_value=np.nan)
        else:                                           # text as the values print; NaN where missing
            out[c] = s.astype("string").astype(object).where(s.notna(), np.nan)
    return df.assign(**out) if out else df


def _stripped_names(header: list[str], path: Path) -> list[str] | None:
    """The header's names without blanks around them when any has some (``" qt "`` from a spreadsheet would be
    an output file ``_qt_``, and ``--pheno-cols qt`` would not find it), with a warning; else ``None`` (the
    parser's own names). Blank names become ``Unnamed: k`` as pandas names them."""
    if all(h == h.strip() for h in header):
        return None
    names = [h.strip() or f"Unnamed: {i}" for i, h in enumerate(header)]
    check_unique_columns(names, path)
    changed = [h for h in header if h.strip() and h != h.strip()]
    if changed:
        log.warning("%s: blanks around %d column name(s) removed: %s", path, len(changed),
                    some_names([repr(h) for h in changed], 5))
    return names


def _drop_unnamed_empty(df: pd.DataFrame, header: list[str], path: Path) -> pd.DataFrame:
    """``df`` without the columns whose header field is blank and whose every value is missing (a spreadsheet's
    trailing delimiter at each line's end: pandas names them ``Unnamed: k`` and they would be read as an empty
    phenotype), and without a first column with a blank name (row names: R's ``write.csv``, pandas' index), with
    a warning. Another blank-named column holding values is kept as pandas names it (``Unnamed: k``)."""
    blank = [df.columns[i] for i, name in enumerate(header) if not name.strip() and i < df.shape[1]]
    drop = [c for c in blank if not df[c].notna().any()]
    if header and not header[0].strip() and df.shape[1] and df.columns[0] not in drop:
        log.warning("%s: its first column has no name (row names, as R's write.csv and pandas' to_csv write them):"
                    " left out", path)
        drop.append(df.columns[0])
    return df.drop(columns=drop) if drop else df


def _strip_ids(df: pd.DataFrame, id_column: str, path: Path) -> pd.DataFrame:
    """``df`` with the blanks around its ids removed, and a WARNING with how many ids held them."""
    ids = df[id_column]
    stripped = ids.where(ids.isna(), ids.astype(str).str.strip())
    changed = ids.notna() & (stripped != ids)
    if changed.any():
        log.warning("%s: %d %s value(s) with blanks around them (e.g. %r): blanks removed", path,
                    int(changed.sum()), id_column, ids[changed].iloc[0])
        df = df.assign(**{id_column: stripped})
    return df


def write_table(df: pd.DataFrame, path: PathLike, *, float_format: str | None = None) -> Path:
    """Write ``df`` atomically as TSV (``.tsv``/``.tsv.gz``/``.txt``), CSV or parquet by extension."""
    path = Path(path)
    fmt = _fmt(path)
    with atomic_path(path) as tmp:
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            sep = "," if fmt == "csv" else "\t"
            gz = path.name.endswith(".gz")
            with gzip_text(tmp) if gz else open(tmp, "w", encoding="utf-8", newline="") as fh:
                df.to_csv(fh, sep=sep, index=False, na_rep="NA", float_format=float_format)
    return path


@contextlib.contextmanager
def gzip_text(path: PathLike, *, level: int = 9):
    """Open ``path`` for writing gzipped UTF-8 text whose bytes depend on the text only.

    The gzip header holds modification time 0 and no file name (Python's :func:`gzip.open` and pandas store
    the time of writing and the name opened, which for an atomic write is the hidden temporary name that
    ``gunzip -N`` would restore), so identical content gives byte-identical files on every run.
    """
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                                compresslevel=level) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8", newline="") as fh:
        yield fh


def first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (``None`` when ``path`` exists): what a
    ``mkdir(parents=True)`` of it creates, to be removed again after a failure (:func:`remove_if_empty`)."""
    path = Path(path).absolute()
    if path.exists():
        return None
    while not path.parent.exists():
        path = path.parent
    return path


def remove_if_empty(path: Path, top: Path | None) -> None:
    """Remove ``path`` and its parents up to ``top`` (folders a failed command created) while they are empty."""
    if top is None:
        return
    path, top = Path(path).absolute(), Path(top).absolute()
    while path.is_dir() and not any(path.iterdir()):
        path.rmdir()
        if path == top or top not in path.parents:
            break
        path = path.parent


@contextlib.contextmanager
def claimed_out_dir(path: PathLike, *, force: bool = False, option: str = "--out", command: str = "edfgen"):
    """:func:`prepare_out_dir`, then the folder created and its write lock (:func:`edfgen.formats.lock.folder_lock`)
    held for the whole block, so that a second command into the same folder is refused from its start (a
    command that checks the folder first and writes much later let two runs both finish, the second replacing
    the first's output without ``--force``). A folder this call created is removed if the block fails and
    leaves it empty."""
    path = prepare_out_dir(path, force=force, option=option, command=command)
    created = first_missing(path)
    path.mkdir(parents=True, exist_ok=True)
    try:
        with folder_lock(path, command, option=option):
            yield path
    except BaseException:
        remove_if_empty(path, created)
        raise


@contextlib.contextmanager
def claimed_out_file(path: PathLike, *, command: str, option: str = "--out"):
    """The folder of the output file ``path`` created (one line when it cannot be: a file in the way, no
    permission), then its write lock (:func:`edfgen.formats.lock.folder_lock`) held for the block: what
    :func:`claimed_out_dir` is to a folder output, for the commands whose ``--out`` is a file (``extract``,
    ``annotate``), checked before their work. A folder this call created is removed if the block fails and
    leaves it empty."""
    path = Path(path)
    created = first_missing(path.parent)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        file = _file_in_the_way(path.parent)
        why = f"{file} is a file, not a folder" if file is not None else exc.strerror
        raise InputError(f"{option} {path}: cannot create its folder {path.parent} ({why})") from None
    try:
        with folder_lock(path.parent, command, option=option):
            yield path
    except BaseException:
        remove_if_empty(path.parent, created)
        raise


def _file_in_the_way(path: Path) -> Path | None:
    """The first existing path among ``path`` and its parents when it is not a folder (a file where a folder is
    needed), else ``None``."""
    for p in [path, *path.parents]:
        if p.exists() or p.is_symlink():
            return None if p.is_dir() else p
    return None


def _own_unfinished_run(path: Path, previous: dict | None, command: str | None) -> bool:
    """Whether folder ``path`` holds only what an unfinished run of ``command`` wrote there: its in-progress
    manifest and the outputs that manifest lists (no other command's or user's file)."""
    from edfgen.formats.manifest import unlisted_file

    return bool(command and previous is not None and previous.get("command") == command
                and previous.get("finished") is None and unlisted_file(path) is None)


def _only_junk(path: Path) -> bool:
    """Whether the folder ``path`` holds nothing but its lock files, a desktop's junk (``.DS_Store``: JUNK_NAMES) and
    folders holding such junk: no one's data, so not a folder to refuse as not empty (s42files #4: ``edfgen run``'s
    rerun of a stage whose ``plots/`` the Finder had shown removed its own files, then refused the folder). An empty
    sub-folder may be a user's, made for their files: refused as before."""
    for folder, dirs, files in os.walk(path):
        top = folder == str(path)
        if any(f not in JUNK_NAMES and not (top and f in HIDDEN_NAMES) for f in files) or any(
                os.path.islink(os.path.join(folder, d)) for d in dirs) or not (top or files or dirs):
            return False
    return True


def prepare_out_dir(path: PathLike, *, force: bool = False, option: str = "--out",
                    command: str | None = None) -> Path:
    """Check that an output directory can be written, without creating anything yet.

    A folder another live command is writing (its lock, :mod:`edfgen.formats.lock`) is refused
    first; stale edfgen temporary files (:func:`clean_temp_files`) are removed. An existing
    non-empty directory is refused unless ``force``; with ``force`` nothing is removed here:
    :func:`edfgen.formats.manifest.recording` later replaces only the files that the earlier run's
    ``manifest.json`` lists, and keeps everything else. A directory whose ``manifest.json`` belongs
    to another command (``command``, e.g. ``"edfgen gwas"``) is refused even with ``force``: it is
    that command's output. An unwritable location is refused. Raises :class:`InputError` naming the
    option and path.

    A folder that holds only the files of an unfinished (killed) run of the same ``command`` is taken without
    ``force``: a rerun restarts (the house rule "a rerun resumes"; the command's own resume, where it has one,
    then picks up what it can).
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{option} {path}: exists and is not a directory")
        check_unlocked(path, option=option)
        clean_temp_files(path)
        if any(p.name not in HIDDEN_NAMES for p in path.iterdir()) and not _only_junk(path):
            previous = read_manifest(path)
            if command and previous is not None and previous.get("command") != command:
                raise InputError(f"{option} {path}: holds the output of '{previous.get('command')}' "
                                 f"({MANIFEST}); give this command a directory of its own")
            if not force and _own_unfinished_run(path, previous, command):
                log.warning("%s %s: an unfinished '%s' run (started %s, killed?) left it; its files are replaced by "
                            "this run", option, path, command, previous.get("started", "?"))
            elif not force:
                listed = " (its files listed in manifest.json are replaced; other files are kept)" if previous else ""
                # a killed run's folder: say so, the user may not know the earlier run never finished
                unfinished = (f", with an unfinished '{previous.get('command')}' run started "
                              f"{previous.get('started', '?')} (killed or still failing?)"
                              if previous is not None and previous.get("finished") is None else "")
                raise InputError(f"{option} {path}: directory exists and is not empty{unfinished} "
                                 f"(use --force to overwrite{listed})")
        if not os.access(path, os.W_OK):
            raise InputError(f"{option} {path}: directory is not writable")
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option} {path}: cannot create directory ({parent} is a file, not a folder)")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: cannot create directory ({parent} is not writable)")
    return path
