"""Validation of input values where they are read: numbers, ranges, finiteness, types.

Every check raises :class:`~edfgen.exceptions.InputError` (or :class:`~edfgen.exceptions.ConfigError`
for settings) with a one-line message naming the file, the column, the row and the offending value,
in plain Python values (never ``np.int64(..)`` reprs), so the CLI can print it and exit 2.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import types
import typing
from typing import Any, Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import ConfigError, InputError


def plain(value: Any) -> Any:
    """``value`` as a plain Python object for messages: numpy scalars become ``int``/``float``/``str``,
    arrays and tuples become lists of plain values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, list, tuple)):
        return [plain(v) for v in list(value)]
    return value


def _row_label(i: int, ids: Sequence | None, id_name: str) -> str:
    label = f"row {i + 1}"
    if ids is not None:
        label += f" ({id_name} {str(plain(ids[i]))})"
    return label


def _digits(x: float, lo: float | None, hi: float | None) -> str:
    """``x`` with as many digits as it takes to differ from a bound (``1.0000001``, not ``1``, outside [0, 1])."""
    for d in (6, 10, 17):
        text = f"{x:.{d}g}"
        if float(text) not in (lo, hi):
            return text
    return repr(x)


#: a number written with a comma: a decimal comma (``0,61``, ``-1,5e-3``, as spreadsheets in many locales export
#: them) or thousands separators (``85,085``, ``1,234,567.5``)
_COMMA_NUMBER = r"[+-]?(?:\d+,\d+(?:[eE][+-]?\d+)?|\d{1,3}(?:,\d{3})+(?:\.\d*)?)"


def decimal_comma_hint(values: pd.Series) -> str:
    """What a column holding numbers written with a comma is, for a message, else ``""``.

    Parameters
    ----------
    values
        The column as read (text).

    Returns
    -------
    ``"numbers written with a comma, e.g. '0,61': a decimal comma or a thousands separator; write them with '.'
    as the decimal mark and no separators"`` when at least half of the column's non-missing values that are not
    numbers look like ``0,61`` or ``85,085`` (a European spreadsheet's export: read as text, each value would become
    a level of a categorical covariate), else an empty string. Which of the two a value like ``85,085`` means
    cannot be told: the hint names both.
    """
    s = pd.Series(values)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return ""
    text = s.dropna().astype(str).str.strip()
    text = text[(text != "") & pd.to_numeric(text, errors="coerce").isna()]
    if not len(text):
        return ""
    comma = text.str.fullmatch(_COMMA_NUMBER)
    if comma.mean() < 0.5:
        return ""
    return (f"numbers written with a comma, e.g. {text[comma].iloc[0]!r}: a decimal comma or a thousands "
            f"separator; write them with '.' as the decimal mark and no separators")


def _parenthesised(hint: str) -> str:
    return f" ({hint})" if hint else ""


def refuse_decimal_commas(values: pd.Series, what: str) -> None:
    """Refuse a text column of numbers written with decimal commas (:func:`decimal_comma_hint`).

    Parameters
    ----------
    values
        The column as read.
    what
        The file and column for the message (``"cov.tsv: covariate 'age'"``).

    Raises
    ------
    InputError
        ``"{what} is read as text (numbers written with a comma, e.g. '57,4': ...)"``.
    """
    hint = decimal_comma_hint(values)
    if hint:
        raise InputError(f"{what} is read as text ({hint})")


def numeric_values(values: pd.Series, *, source: str, column: str, ids: Sequence | None = None,
                   id_name: str = "IID", finite: bool = True, lo: float | None = None, hi: float | None = None,
                   lo_open: bool = False, hi_open: bool = False, hi_tolerance: float = 0.0) -> np.ndarray:
    """Parse a column as float, refusing anything that is not a number.

    Missing values (empty cells, ``NA``, ``NaN`` as pandas reads them) stay NaN; any other text is
    an error, as is ``±inf`` with ``finite`` and a value outside ``[lo, hi]`` (``lo_open``/``hi_open``
    exclude the bound). A value at most ``hi_tolerance`` above a closed ``hi`` (another program's
    rounding: a p-value written as ``1.0000000000000002``) is read as ``hi``.

    Parameters
    ----------
    values
        The column as read (numeric or object dtype).
    source, column
        File and column named in the message.
    ids, id_name
        Row identifiers (``IID``, ``variant``) added to the message.

    Returns
    -------
    ``float64 [n]`` with NaN for missing values.

    Raises
    ------
    InputError
        ``"{source}: column 'x', row 5 (IID P5): value 'abc' is not a number"`` and the like.
    """
    s = pd.Series(values).reset_index(drop=True)
    if ids is not None:
        ids = list(ids)
    if s.dtype == bool:
        s = s.astype(float)
    if pd.api.types.is_numeric_dtype(s.dtype):
        v = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        present = s.notna().to_numpy()
        text = s.astype(str).str.strip()
        present &= (text != "").to_numpy()
        v = pd.to_numeric(text.where(present), errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(present & np.isnan(v))
        if bad.size:
            i = int(bad[0])
            more = f" ({bad.size} such values)" if bad.size > 1 else ""
            raise InputError(f"{source}: column {str(column)!r}, {_row_label(i, ids, id_name)}: value "
                             f"{str(s.iloc[i])!r} is not a number{more}{_parenthesised(decimal_comma_hint(s))}")
    if finite:
        bad = np.flatnonzero(np.isinf(v))
        if bad.size:
            i = int(bad[0])
            raise InputError(f"{source}: column {str(column)!r}, {_row_label(i, ids, id_name)}: value "
                             f"{float(v[i])} is not finite")
    if hi is not None and hi_tolerance > 0 and not hi_open:
        with np.errstate(invalid="ignore"):
            v = np.where((v > hi) & (v <= hi + hi_tolerance), hi, v)
    if lo is not None or hi is not None:
        with np.errstate(invalid="ignore"):
            out = np.zeros(v.shape, dtype=bool)
            if lo is not None:
                out |= (v <= lo) if lo_open else (v < lo)
            if hi is not None:
                out |= (v >= hi) if hi_open else (v > hi)
        bad = np.flatnonzero(out & ~np.isnan(v))
        if bad.size:
            i = int(bad[0])
            rng = f"{'(' if lo_open else '['}{'-inf' if lo is None else f'{lo:g}'}, " \
                  f"{'inf' if hi is None else f'{hi:g}'}{')' if hi_open else ']'}"
            more = f" ({bad.size} such values)" if bad.size > 1 else ""
            raise InputError(f"{source}: column {str(column)!r}, {_row_label(i, ids, id_name)}: value "
                             f"{_digits(float(v[i]), lo, hi)} outside {rng}{more}")
    return v


def number_fraction(values: pd.Series) -> float:
    """Fraction of the non-missing values of a column that parse as numbers (0 for an empty column)."""
    values = pd.Series(values)
    if pd.api.types.is_numeric_dtype(values.dtype):      # (no copy: wide EDF tables call this per column)
        return 1.0 if values.notna().any() else 0.0
    text = values.dropna().astype(str).str.strip()
    text = text[text != ""]
    if not len(text):
        return 0.0
    return float(pd.to_numeric(text, errors="coerce").notna().mean())


# --------------------------------------------------------------------------- typed settings
def _type_name(tp) -> str:
    if tp is type(None):
        return "null"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _conforms(value, tp) -> bool:
    """Whether a JSON/TOML value fits the annotation ``tp`` (lists stand for tuples)."""
    if tp is Any or tp is typing.Any:
        return True
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, a) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, (bool, np.bool_))
    if tp is int:
        return isinstance(value, (numbers.Integral,)) and not isinstance(value, (bool, np.bool_))
    if tp is float:
        return (isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
                and math.isfinite(float(value)))
    if tp is str:
        return isinstance(value, str)
    if origin in (tuple, list, Sequence, typing.Sequence) or tp in (tuple, list):
        if not isinstance(value, (list, tuple)):
            return False
        args = typing.get_args(tp)
        if not args:
            return True
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_conforms(v, args[0]) for v in value)
        if origin is tuple:
            return len(value) == len(args) and all(_conforms(v, a) for v, a in zip(value, args))
        return all(_conforms(v, args[0]) for v in value)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            return False
        args = typing.get_args(tp)
        return not args or all(_conforms(k, args[0]) and _conforms(v, args[1]) for k, v in value.items())
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True  # an annotation this checker does not know: accept


def check_field_types(cls, values: dict, *, what: str | None = None, error: type = ConfigError) -> None:
    """Check every value of ``values`` against the annotation of the dataclass field it sets.

    Generic over the fields of ``cls`` (fields added later are checked too). Lists are accepted for
    tuple fields (JSON has no tuples); an ``int`` is accepted for a ``float`` field; ``bool`` is never
    taken for a number; floats must be finite.

    Raises
    ------
    ConfigError
        ``"ModelConfig: field 'width' must be int, got str 'abc'"``; unknown keys are left to the caller.
    """
    what = what or cls.__name__
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        v = values[f.name]
        tp = hints.get(f.name, Any)
        if not _conforms(v, tp):
            shown = repr(plain(v))
            if len(shown) > 60:
                shown = shown[:57] + "..."
            raise error(f"{what}: field {f.name!r} must be {_type_name(tp)}, got {type(v).__name__} {shown}")


def checked_fields(cls, values: dict, *, what: str) -> dict:
    """``values`` (a JSON object read from a checkpoint or config) as keyword arguments of the dataclass
    ``cls``: unknown keys and values of the wrong type are one-line :class:`ConfigError` s naming
    ``what`` (:func:`check_field_types`). Returns a copy the caller may convert further (lists to tuples)."""
    unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ConfigError(f"{what}: unknown key(s) {sorted(unknown)}")
    out = dict(values)
    check_field_types(cls, out, what=what)   # every field, including ones added later
    return out


def check_ranges(what: str, obj, ranges: dict[str, tuple]) -> None:
    """Check numeric fields of a settings object against ``(lo, hi)`` bounds (inclusive; ``None``: open end).

    Parameters
    ----------
    what
        Named in the message (``"ModelConfig 'tiny'"``, ``"preprocessing"``).
    obj
        The dataclass instance; each name in ``ranges`` is an attribute holding a number or a sequence of
        numbers (every element is checked).
    ranges
        ``name -> (lo, hi)`` or ``(lo, hi, "open")`` where the lower bound is excluded (``> lo``).

    Raises
    ------
    ConfigError
        ``"ModelConfig 'x': width = -3 outside [1, 8192]"``: a negative, zero where it must be positive,
        non-finite or absurdly large value, before anything is built from it.
    """
    for name, bounds in ranges.items():
        lo, hi = bounds[0], bounds[1]
        lo_open = len(bounds) > 2 and bounds[2] == "open"
        value = getattr(obj, name)
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise ConfigError(f"{what}: {name} = {plain(value)!r} is not a number")
            bad = not math.isfinite(float(v)) or (lo is not None and (v <= lo if lo_open else v < lo)) \
                or (hi is not None and v > hi)
            if bad:
                rng = f"{'(' if lo_open else '['}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}]"
                raise ConfigError(f"{what}: {name} = {plain(v)!r} outside {rng}")
