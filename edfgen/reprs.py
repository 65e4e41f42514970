"""Readable reprs of the typed results that library functions return, for a notebook that prints one.

A dataclass's own repr prints every table it holds in full (``MRRun``: 5,000+ characters over 80 lines); here
a table or array shows as its shape and first columns, and any other long value is cut.
"""

from __future__ import annotations

from dataclasses import fields

#: longest repr of one field before it is cut
MAX_FIELD_CHARS = 200


def short_repr(value) -> str:
    """``value``'s repr on one line, no longer than :data:`MAX_FIELD_CHARS`.

    A table is ``<DataFrame R x C: col, ...>``, an array ``<ndarray (shape) dtype>``, a numpy scalar its value, and
    so each table in a dict, list or tuple; a longer text is cut and ends in ``...`` (``...>`` inside ``<...>``).

    Parameters
    ----------
    value : object
        Any value (a result's field).

    Returns
    -------
    str
        The repr.
    """
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "columns"):
        cols = [str(c) for c in value.columns]
        more = ", ..." if len(cols) > 6 else ""
        return f"<{type(value).__name__} {shape[0]} x {shape[1]}: {', '.join(cols[:6])}{more}>"
    if shape is not None and hasattr(value, "dtype"):
        if tuple(shape) == () and hasattr(value, "item"):   # a numpy scalar (np.float64(0.83)): its value
            return repr(value.item())
        return f"<{type(value).__name__} {tuple(shape)} {value.dtype}>"
    if isinstance(value, dict) and any(hasattr(v, "shape") for v in value.values()):
        text = "{" + ", ".join(f"{k!r}: {short_repr(v)}" for k, v in value.items()) + "}"
    elif type(value) in (list, tuple) and any(hasattr(v, "shape") for v in value):   # a list of tables: one line
        inner = ", ".join(short_repr(v) for v in value) + ("," if type(value) is tuple and len(value) == 1 else "")
        text = ("[{}]" if type(value) is list else "({})").format(inner)
    else:
        text = repr(value)
    if len(text) <= MAX_FIELD_CHARS:
        return text
    end = " ...>" if text.startswith("<") else " ..."
    return text[:MAX_FIELD_CHARS - len(end)] + end


class ReadableRepr:
    """Base of a result dataclass declared ``@dataclass(frozen=True, repr=False)``: its repr is one line of
    :func:`short_repr` fields."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(f"{f.name}={short_repr(getattr(self, f.name))}"
                                                     for f in fields(self) if f.repr) + ")"
