"""Tables on disk: TSV (optionally gzipped), CSV and parquet, chosen by extension.

Every write is atomic: the table is written to a temporary file in the target directory
and renamed over the target only when complete, so a crash or Ctrl-C never leaves a
half-written output.

Temporary files follow one naming rule, ``.<name>.edfgen-tmp-<pid>-<random><suffixes>`` (hidden,
beside their target, keeping its suffixes so that writers choosing a format by extension work):
:func:`is_temp_name` recognises them, every reader and discovery of edfgen skips them, and
:func:`clean_temp_files` (run by every command on its output folder before it writes) removes those
left by a killed process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
from pathlib import Path
from typing import IO, Iterator, Sequence

import pandas as pd

from edfgen.exceptions import InputError

PathLike = str | os.PathLike
log = logging.getLogger(__name__)


def safe_filename(name: str) -> str:
    """``name`` with every run of characters other than ``A-Za-z0-9_.-`` replaced by ``_`` (for
    per-phenotype/per-trait file names built from user-supplied names)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


#: the marker of edfgen's temporary files (see the module docstring)
TEMP_MARK = ".edfgen-tmp-"
_TEMP_RE = re.compile(r"^\..+\.edfgen-tmp-(\d+)-[A-Za-z0-9_]+")
#: temporary names of edfgen < 0.2 (``.<name>.<8 random>.tmp<suffixes>``), recognised so that leftovers go too
_LEGACY_TEMP_RE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp(\.|$)")


def temp_name(path: PathLike, *, suffix: str | None = None) -> Path:
    """A fresh temporary path beside ``path`` under the one naming rule (nothing is created)."""
    path = Path(path)
    suffix = suffix if suffix is not None else "".join(path.suffixes)
    token = os.urandom(6).hex()
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{token}{suffix}")


def is_temp_name(name: str | os.PathLike) -> bool:
    """True when ``name`` (a file or folder name, or a path: its last part) is an edfgen temporary file."""
    name = Path(name).name
    return bool(_TEMP_RE.match(name) or _LEGACY_TEMP_RE.match(name))


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_temp_files(folder: PathLike, *, recursive: bool = True) -> list[Path]:
    """Remove the edfgen temporary files (and folders) under ``folder`` left by processes that are gone.

    A temporary file whose writer (the pid in its name) is still running is kept, so that a command
    never removes another live process's work in progress. Returns the paths removed.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            if is_temp_name(e.name):
                m = _TEMP_RE.match(e.name)
                if m and _pid_alive(int(m.group(1))):
                    continue
                p = Path(e.path)
                try:
                    if e.is_dir(follow_symlinks=False):
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink()
                    removed.append(p)
                except FileNotFoundError:
                    pass
            elif recursive and e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
    return removed


@contextlib.contextmanager
def atomic_path(path: PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The temporary name (:func:`temp_name`) keeps the target's suffixes (``.tsv.gz``, ``.bed``) so
    writers that choose a format by extension still work. On an exception the temporary file
    (or directory) is removed and the target is untouched; after a kill, :func:`clean_temp_files`
    removes it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path = temp_name(path, suffix=suffix)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        elif tmp_path.exists():
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` when the block succeeds."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **open_kwargs) as fh:
            yield fh


def _fmt(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    return "tsv"


#: names of the participant-id column, in order of preference: PLINK (``FID IID``), plink2 (``#IID``),
#: UK Biobank (``eid``), a BGEN ``.sample`` file (``ID_2``)
ID_ALIASES = ("IID", "#IID", "eid", "ID_2")


def read_table(path: PathLike, *, required: Sequence[str] = (), id_column: str | None = None,
               dtype: dict | None = None) -> pd.DataFrame:
    """Read a TSV/CSV/parquet table by extension.

    Parameters
    ----------
    path
        ``.tsv``, ``.tsv.gz``, ``.txt`` (tab or whitespace), ``.csv`` or ``.parquet``.
    required
        Columns that must be present; a missing one raises :class:`InputError` naming it.
    id_column
        If given (usually ``"IID"``), read it as string and reject duplicated ids. For ``"IID"``
        the participant id may be named as biobanks name it (:data:`ID_ALIASES`: ``IID``, plink2's
        ``#IID``, UK Biobank's ``eid``, a BGEN ``.sample``'s ``ID_2``); the column used is logged
        and renamed ``IID``.

    Raises
    ------
    InputError
        The file is missing, unreadable, lacks a required column or has duplicated ids.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    fmt = _fmt(path)
    dtype = dict(dtype or {})
    if id_column:
        for c in ((id_column, *ID_ALIASES) if id_column == "IID" else (id_column,)):
            dtype.setdefault(c, str)
    try:
        if fmt == "parquet":
            df = pd.read_parquet(path)
            if id_column and id_column in df.columns:
                df[id_column] = df[id_column].astype(str)
        elif fmt == "csv":
            df = pd.read_csv(path, dtype=dtype)
        else:
            df = pd.read_csv(path, sep="\t", dtype=dtype)
            if df.shape[1] == 1 and " " in str(df.columns[0]):
                df = pd.read_csv(path, sep=r"\s+", dtype=dtype)
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read as a {fmt} table ({exc})") from None
    if id_column == "IID":
        key = next((c for c in ID_ALIASES if c in df.columns), None)
        if key is not None:
            log.info("%s: participant ids from column %s", path, key)
            if key != "IID":
                df = df.rename(columns={key: "IID"})
                df["IID"] = df["IID"].astype(str)
    elif id_column and id_column not in df.columns and "#IID" in df.columns:
        df = df.rename(columns={"#IID": id_column})
    missing = [c for c in required if c not in df.columns]
    if id_column and id_column not in df.columns:
        missing.insert(0, id_column)
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)} (has: {', '.join(map(str, df.columns[:12]))})")
    if id_column:
        dup = df[id_column][df[id_column].duplicated()]
        if len(dup):
            raise InputError(f"{path}: duplicated {id_column} {dup.iloc[0]!r} ({dup.nunique()} duplicated ids)")
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
            compression = "gzip" if path.name.endswith(".gz") else None
            df.to_csv(tmp, sep=sep, index=False, na_rep="NA", float_format=float_format,
                      compression=compression)
    return path


def prepare_out_dir(path: PathLike, *, force: bool = False, option: str = "--out",
                    command: str | None = None) -> Path:
    """Check that an output directory can be written, without creating anything yet.

    Stale edfgen temporary files (:func:`clean_temp_files`) are removed first. An existing
    non-empty directory is refused unless ``force``; with ``force`` nothing is removed here:
    :func:`edfgen.formats.manifest.recording` later replaces only the files that the earlier run's
    ``manifest.json`` lists, and keeps everything else. A directory whose ``manifest.json`` belongs
    to another command (``command``, e.g. ``"edfgen gwas"``) is refused even with ``force``: it is
    that command's output. An unwritable location is refused. Raises :class:`InputError` naming the
    option and path.
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{option} {path}: exists and is not a directory")
        clean_temp_files(path)
        if any(path.iterdir()):
            from edfgen.formats.manifest import MANIFEST, read_manifest

            previous = read_manifest(path)
            if command and previous is not None and previous.get("command") != command:
                raise InputError(f"{option} {path}: holds the output of '{previous.get('command')}' "
                                 f"({MANIFEST}); give this command a directory of its own")
            if not force:
                listed = " (its files listed in manifest.json are replaced; other files are kept)" if previous else ""
                raise InputError(f"{option} {path}: directory exists and is not empty (use --force to overwrite{listed})")
        if not os.access(path, os.W_OK):
            raise InputError(f"{option} {path}: directory is not writable")
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: cannot create directory ({parent} is not writable)")
    return path
