"""File arguments of the library functions: one path or several, checked (a DataFrame or an array of numbers handed
where a command reads a file is one line naming the option, not a traceback or a string read per character).
"""

from __future__ import annotations

import os
from typing import Any

from edfgen.exceptions import InputError


def file_arg(value: Any, name: str) -> Any:
    """``value`` as a file path: unchanged when it is one (``str``, ``os.PathLike``) or None, ``bytes`` decoded as
    :func:`os.fsdecode` does.

    Commands read files: a pandas DataFrame passed from a notebook gave a TypeError traceback, or (``run_mr``) its
    column names read as file names.

    Parameters
    ----------
    value : str, os.PathLike, bytes or None
        The argument.
    name : str
        The option, as the command line spells it (``--ecg``).

    Returns
    -------
    str, os.PathLike or None
        The path.

    Raises
    ------
    InputError
        ``value`` is no path, in one line naming ``name`` (and, for a table, how to write it first).
    """
    if isinstance(value, bytes):
        return os.fsdecode(value)
    if value is None or isinstance(value, (str, os.PathLike)):
        return value
    hint = (": write it first (df.to_csv(path, sep='\\t', index=False)) and pass the path" if hasattr(value, "to_csv")
            else ": for ECGs held in memory, preprocess(EcgRecord(...)) and embed_windows (README, Python API)"
            if name == "--ecg" and hasattr(value, "__array__") else "")
    raise InputError(f"{name}: a file path is expected, got a {type(value).__module__}.{type(value).__name__}{hint}")


def _is_table(value: Any) -> bool:
    """A DataFrame, or an array that cannot be a list of paths (numeric, or not 1-D): refused by :func:`file_arg`.
    A 1-D string or object array, a pandas Series or Index of paths (``df['path']``, ``np.array(glob(...))``) is a
    list of paths."""
    if hasattr(value, "columns"):
        return True
    if not hasattr(value, "__array__"):
        return False
    return getattr(value, "ndim", None) != 1 or getattr(getattr(value, "dtype", None), "kind", None) not in ("O", "U", "S")


def file_args(value: Any, name: str) -> list:
    """One file path or an iterable of them (a list, a 1-D array, Series or Index of paths), as a list.

    Parameters
    ----------
    value : path, bytes or iterable of them
        The argument; one path is not read per character.
    name : str
        The option, as the command line spells it (``--sumstats``).

    Returns
    -------
    list
        The paths, each checked by :func:`file_arg`.

    Raises
    ------
    InputError
        A DataFrame, a numeric or 2-D array, or an item that is no path, in one line naming ``name``.
    """
    if value is None or isinstance(value, (str, bytes, os.PathLike)) or _is_table(value):
        return [file_arg(value, name)]
    try:
        items = list(value)
    except TypeError:
        return [file_arg(value, name)]
    return [file_arg(v, name) for v in items]
