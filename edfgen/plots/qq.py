"""QQ plot of GWAS p-values with the genomic inflation factor (and the LDSC intercept when known)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edfgen.plots.thin import GwasPlotAccumulator

__all__ = ["qq_plot"]


def qq_plot(p_values: np.ndarray, path: str | os.PathLike, *, title: str = "",
            lambda_gc: float | None = None, thin: bool = True, size: int = 400,
            ldsc_intercept: float | None = None, ldsc_intercept_se: float | None = None,
            fontsize: float | None = None) -> Path:
    """Write a QQ plot PNG (observed vs expected -log10 p under the uniform null) with the pointwise
    95% band of the null (:func:`edfgen.plots.raster.qq_band`).

    ``lambda_gc`` is printed in the title, or, with ``fontsize`` set (the report's legible figures), in the upper
    left corner as ``λGC = …`` together with ``ldsc_intercept`` (``LDSC intercept = … (SE)``, from
    ``ldsc/h2.tsv``) when given. ``fontsize``: text size in points at 100 dpi (margins grow to fit).

    The points are the pixels lit by the ordered p-values (each of the 4096 smallest drawn alone,
    the bulk as the span of its values per pixel column, see :class:`edfgen.plots.GwasPlotAccumulator`),
    so the cost hardly depends on their number; ``thin`` is kept for compatibility.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    acc = GwasPlotAccumulator(np.zeros(len(p), dtype=np.int8), np.zeros(len(p)), 1, width=max(size, 200),
                              height=size)
    acc.add(np.arange(len(p)), p[:, None])
    note = []
    if fontsize is None and ldsc_intercept is None:
        title = title + (f"  (lambda_GC = {lambda_gc:.3f})" if lambda_gc is not None else "")
    else:
        if lambda_gc is not None:
            note.append(f"λGC = {lambda_gc:.3f}")
        if ldsc_intercept is not None and np.isfinite(ldsc_intercept):
            se = f" ({ldsc_intercept_se:.3f})" if ldsc_intercept_se is not None and np.isfinite(ldsc_intercept_se) else ""
            note.append(f"LDSC intercept = {ldsc_intercept:.3f}{se}")
    return acc._qq_figure(0, path, title=title, fontsize=fontsize, note="\n".join(note))
