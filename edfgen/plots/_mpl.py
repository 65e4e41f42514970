"""Matplotlib set-up shared by every edfgen figure: figures drawn on their own Agg canvas (no display on
clusters) and atomic PNG writes.

edfgen never goes through ``matplotlib.pyplot``: a :class:`matplotlib.figure.Figure` with a
``FigureCanvasAgg`` draws headless without selecting a backend, so a notebook's backend (``inline``,
``widget``, ...) and its pyplot figures are left alone. matplotlib is imported lazily (inside
:func:`new_figure`) so importing edfgen stays cheap.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from edfgen.formats.tables import atomic_path


def _may_write_below(folder: Path) -> bool:
    """Whether ``folder`` exists and is writable, or could be created (its first existing parent is writable)."""
    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    return folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)


def private_config_dir_if_needed() -> str | None:
    """Point ``MPLCONFIGDIR`` at a private temporary folder (removed at exit) when matplotlib's own config or
    cache folder (``~/.config/matplotlib``, ``~/.cache/matplotlib`` or their ``XDG_*`` places) cannot be written:
    matplotlib then printed a two-line notice even under ``-q`` (review s33a F8). A ``MPLCONFIGDIR`` the user
    set, or a matplotlib already imported, is left alone.

    Returns
    -------
    str or None
        The folder set, or ``None`` when nothing was changed.
    """
    import sys

    if "MPLCONFIGDIR" in os.environ or "matplotlib" in sys.modules:
        return None
    try:
        home = Path.home()
    except (RuntimeError, KeyError, OSError):
        home = None
    places = [Path(os.environ[v]) if os.environ.get(v) else (home / d if home else None)
              for v, d in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache"))]
    if all(p is not None and _may_write_below(p / "matplotlib") for p in places):
        return None
    import atexit
    import shutil
    import tempfile

    try:
        folder = tempfile.mkdtemp(prefix="edfgen-matplotlib-")
    except OSError:
        return None          # matplotlib's own fallback (and its notice) then
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["MPLCONFIGDIR"] = folder
    return folder


private_config_dir_if_needed()


def new_figure(**figure_kwargs):
    """A :class:`matplotlib.figure.Figure` on its own Agg canvas, outside pyplot.

    Parameters
    ----------
    **figure_kwargs
        Passed to :class:`matplotlib.figure.Figure` (``figsize``, ``dpi``, ...).

    Returns
    -------
    matplotlib.figure.Figure
        Not registered with pyplot: the caller's backend and current figure are unchanged, and nothing
        needs closing (the figure is freed with its last reference).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**figure_kwargs)
    FigureCanvasAgg(fig)
    return fig


def subplots(nrows: int = 1, ncols: int = 1, *, figsize=None, dpi=None, **subplot_kwargs):
    """``pyplot.subplots`` without pyplot: ``(figure, axes)`` on a :func:`new_figure`.

    Parameters
    ----------
    nrows, ncols : int
        Grid of axes.
    figsize : tuple of float, optional
        Figure size in inches.
    dpi : float, optional
        Figure resolution.
    **subplot_kwargs
        Passed to :meth:`matplotlib.figure.Figure.subplots` (``sharex``, ``gridspec_kw``, ...).

    Returns
    -------
    tuple
        The figure and its axes (one ``Axes`` or an array, as ``pyplot.subplots``).
    """
    fig = new_figure(figsize=figsize, dpi=dpi)
    return fig, fig.subplots(nrows, ncols, **subplot_kwargs)


#: PNG text chunk listing the figure's texts and their sizes (read by tests/test_report.py's legibility check)
TEXTS_KEY = "edfgen:texts"


def figure_texts(fig, dpi: float | None = None) -> list[tuple[str, float]]:
    """Every text drawn in ``fig`` (titles, tick and axis labels, legends, annotations: visible, non-empty, inside
    the figure) with its font size in pixels of an image saved at ``dpi`` (default: the figure's). Draws the figure."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = fig.bbox
    seen = []
    for t in fig.findobj(Text):
        s = t.get_text().strip()
        if not s or not t.get_visible() or (t.axes is not None and not t.axes.get_visible()):
            continue
        e = t.get_window_extent(renderer)
        if e.x1 < box.x0 or e.x0 > box.x1 or e.y1 < box.y0 or e.y0 > box.y1:
            continue
        seen.append((s, round(float(t.get_fontsize()) * (dpi or fig.dpi) / 72, 2)))
    return seen


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


def save_png(fig, path: str | os.PathLike, *, texts: bool = False, **savefig_kwargs) -> Path:
    """Write ``fig`` to ``path`` as PNG atomically (temp file renamed on success).

    ``texts``: the PNG carries a text chunk :data:`TEXTS_KEY`, JSON ``[[text, font px], ...]`` of
    :func:`figure_texts`, so a page showing the image can tell what it labels and how large its text is drawn."""
    import json

    path = Path(path)
    if texts:
        savefig_kwargs.setdefault("metadata", {})[TEXTS_KEY] = json.dumps(
            figure_texts(fig, savefig_kwargs.get("dpi")), ensure_ascii=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", **savefig_kwargs)
    return path
