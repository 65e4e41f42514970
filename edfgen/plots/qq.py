"""QQ plot of GWAS p-values with the genomic inflation factor."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edfgen.io.tables import atomic_path


def qq_plot(p_values: np.ndarray, path: str | os.PathLike, *, title: str = "",
            lambda_gc: float | None = None, thin: bool = True) -> Path:
    """Write a QQ plot PNG (observed vs expected -log10 p under the uniform null).

    Points with expected p > 0.01 are thinned 1 in 10 when ``thin``; ``lambda_gc`` is printed if given.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = np.sort(np.asarray(p_values, dtype=float)[np.isfinite(p_values)])
    n = len(p)
    exp = (np.arange(1, n + 1) - 0.5) / max(n, 1)
    keep = exp <= 0.01
    weak = np.flatnonzero(~keep)
    keep[weak[::10] if thin else weak] = True
    ox, oy = -np.log10(exp[keep]), -np.log10(np.clip(p[keep], 1e-300, 1))
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    ax.scatter(ox, oy, s=3, c="#1b2a41", linewidths=0, rasterized=True)
    lim = max(ox.max() if n else 1, 1)
    ax.plot([0, lim], [0, lim], color="#c0392b", lw=0.8)
    ax.set_xlabel("expected -log10 p")
    ax.set_ylabel("observed -log10 p")
    ax.set_title(title + (f"  (lambda_GC = {lambda_gc:.3f})" if lambda_gc is not None else ""), fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)
