"""Tables on disk: TSV (optionally gzipped), CSV and parquet, chosen by extension.

Every write is atomic: the table is written to a temporary file in the target directory
and renamed over the target only when complete, so a crash or Ctrl-C never leaves a
half-written output.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator, Sequence

import pandas as pd

from edfgen.exceptions import InputError

PathLike = str | os.PathLike


def safe_filename(name: str) -> str:
    """``name`` with every run of characters other than ``A-Za-z0-9_.-`` replaced by ``_`` (for
    per-phenotype/per-trait file names built from user-supplied names)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))


@contextlib.contextmanager
def atomic_path(path: PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The temporary name keeps the target's suffixes (``.tsv.gz``, ``.bed``) so writers
    that choose a format by extension still work. On an exception the temporary file
    (or directory) is removed and the target is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = suffix if suffix is not None else "".join(path.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    tmp_path = Path(tmp)
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
        If given (usually ``"IID"``), read it as string and reject duplicated ids.

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
        dtype.setdefault(id_column, str)
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
    if id_column and id_column not in df.columns and "#IID" in df.columns:
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


def prepare_out_dir(path: PathLike, *, force: bool = False, option: str = "--out") -> Path:
    """Check that an output directory can be written, without creating anything yet.

    An existing non-empty directory is refused unless ``force``; an unwritable location is
    refused. Raises :class:`InputError` naming the option and path.
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise InputError(f"{option} {path}: exists and is not a directory")
        if any(path.iterdir()) and not force:
            raise InputError(f"{option} {path}: directory exists and is not empty (use --force to overwrite)")
        if not os.access(path, os.W_OK):
            raise InputError(f"{option} {path}: directory is not writable")
        return path
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {path}: cannot create directory ({parent} is not writable)")
    return path
