"""Matplotlib set-up shared by every edfgen figure: the Agg backend (no display on clusters)
and atomic PNG writes.

matplotlib is imported lazily (inside :func:`pyplot`) so importing edfgen stays cheap.
"""

from __future__ import annotations

import os
from pathlib import Path

from edfgen.formats.tables import atomic_path


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
