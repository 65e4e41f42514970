"""Matplotlib set-up shared by every edfgen figure: the Agg backend (no display on clusters)
and atomic PNG writes.

matplotlib is imported lazily (inside :func:`pyplot`) so importing edfgen stays cheap.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from edfgen.formats.tables import atomic_path


def pyplot():
    """``matplotlib.pyplot`` on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _import_agg() -> None:
    try:
        from matplotlib.backends import backend_agg  # noqa: F401
        from matplotlib import figure  # noqa: F401
    except Exception:  # pragma: no cover - the drawing itself reports the problem
        pass


def preload_in_background() -> threading.Thread:
    """Import matplotlib's Figure and Agg canvas in a daemon thread (~0.3-0.5 s of a small GWAS): started
    when a command knows it will draw, the import overlaps its computation (numpy releases the GIL)
    instead of following it. Returns the thread (joining it is optional)."""
    t = threading.Thread(target=_import_agg, name="edfgen-matplotlib-import", daemon=True)
    t.start()
    return t


def save_png(fig, path: str | os.PathLike, **savefig_kwargs) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically (temp file renamed on success), then close it."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", **savefig_kwargs)
    finally:
        pyplot().close(fig)
    return path
