"""QQ plot of GWAS p-values with the genomic inflation factor."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edfgen.io.tables import atomic_path


def qq_band(n: int, ranks: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise ``level`` band of the ``ranks``-th smallest of ``n`` uniform p-values, in -log10 units.

    The i-th order statistic of n U(0, 1) draws is Beta(i, n - i + 1) distributed.

    References
    ----------
    Casella G, Berger RL (2002) Statistical Inference, 2nd ed., section 5.4 (order statistics).
    """
    from scipy import stats

    a = (1 - level) / 2
    lo = stats.beta.ppf(a, ranks, n - ranks + 1)
    hi = stats.beta.ppf(1 - a, ranks, n - ranks + 1)
    return -np.log10(hi), -np.log10(lo)


def qq_plot(p_values: np.ndarray, path: str | os.PathLike, *, title: str = "",
            lambda_gc: float | None = None, thin: bool = True) -> Path:
    """Write a QQ plot PNG (observed vs expected -log10 p under the uniform null) with the pointwise
    95% band of the null (:func:`qq_band`).

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
    if n:
        lo, hi = qq_band(n, np.flatnonzero(keep) + 1.0)
        ax.fill_between(ox, lo, hi, color="#c0392b", alpha=0.15, lw=0, label="95% null band")
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
