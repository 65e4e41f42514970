"""The data dictionary: every column of every output file, documented in ``data_dictionary/``.

Each entry is ``data_dictionary/<entry>.tsv`` with columns ``column, type, units, description``
(like a biobank data showcase). A ``column`` may be a glob pattern (``edf_*``, ``PC*``) for
numbered families. A column written only with some option has a ``type`` ending in ``(optional)``
(e.g. ``bool (optional)``): it may be absent from a file, and is checked like the others when present.
``data_dictionary/index.tsv`` lists every entry with the file name pattern it documents and the
command that writes it. Tests call :func:`check_columns` on real outputs
so that the dictionary and the code cannot drift apart.
"""

from __future__ import annotations

import fnmatch
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pandas as pd

from edfgen.exceptions import InputError

DICTIONARY_DIR = Path(__file__).resolve().parents[2] / "data_dictionary"
FIELDS = ["column", "type", "units", "description"]
#: suffix of the ``type`` of a column that only some options write
OPTIONAL = "(optional)"


@lru_cache(maxsize=None)
def load_entry(entry: str, directory: Path = DICTIONARY_DIR) -> pd.DataFrame:
    """Read one dictionary entry (``data_dictionary/<entry>.tsv``)."""
    path = Path(directory) / f"{entry}.tsv"
    if not path.exists():
        raise InputError(f"data dictionary has no entry {entry!r} ({path} missing)")
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    if list(df.columns) != FIELDS:
        raise InputError(f"{path}: columns must be {FIELDS}, found {list(df.columns)}")
    return df


def check_columns(entry: str, columns: Iterable[str], directory: Path = DICTIONARY_DIR) -> None:
    """Raise ``AssertionError`` unless ``columns`` and the dictionary entry match exactly.

    Every column must match a documented name or pattern, and every documented name or
    pattern must match at least one column, except those whose ``type`` ends in :data:`OPTIONAL`.
    """
    df = load_entry(entry, directory)
    documented = list(df["column"])
    optional = set(df.loc[df["type"].str.strip().str.endswith(OPTIONAL), "column"])
    columns = [str(c) for c in columns]
    undocumented = [c for c in columns if not any(fnmatch.fnmatchcase(c, d) for d in documented)]
    absent = [d for d in documented if d not in optional and not any(fnmatch.fnmatchcase(c, d) for c in columns)]
    if undocumented or absent:
        raise AssertionError(
            f"data_dictionary/{entry}.tsv out of sync: undocumented columns {undocumented}, "
            f"documented but absent {absent}")


def check_file(entry: str, path: str | Path, directory: Path = DICTIONARY_DIR) -> None:
    """:func:`check_columns` on the header of a table file (TSV, gzipped TSV, CSV or parquet)."""
    path = Path(path)
    if path.suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        cols = pq.read_schema(path).names
    else:
        sep = "," if ".csv" in path.name else "\t"
        cols = list(pd.read_csv(path, sep=sep, nrows=0).columns)
    check_columns(entry, cols, directory)
