"""Matplotlib set-up shared by every edfgen figure: the Agg backend (no display on clusters)
and atomic PNG writes, plus the file-name sanitiser used for per-trait plot names.

matplotlib is imported lazily (inside :func:`pyplot`) so importing edfgen stays cheap.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from edfgen.io.tables import atomic_path


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_png(fig, path: str | os.PathLike, **savefig_kwargs) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically (temp file renamed on success), then close it."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", **savefig_kwargs)
    finally:
        pyplot().close(fig)
    return path


def safe_filename(name: str) -> str:
    """``name`` with every run of characters other than ``A-Za-z0-9_.-`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name))
