"""Values as strict JSON (RFC 8259): what manifests and edfgen's JSON outputs write."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def finite_json(value: Any) -> Any:
    """``value`` as plain JSON: dict keys as strings, sequences and sets as lists, paths as strings, numpy scalars
    as Python numbers, every non-finite float (NaN, inf) as ``None`` (strict JSON, RFC 8259, has no NaN: a bare
    ``NaN`` makes a manifest unreadable for JavaScript, Go or ``jq --strict`` parsers), anything else as its
    ``str``. Write the result with ``json.dump(..., allow_nan=False)``."""
    if isinstance(value, dict):
        return {str(k): finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [finite_json(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)
