"""Heatmap of EDF–biomarker associations (``edfgen interpret``'s ``heatmap.png``).

Draws the t statistics, significance flags and clusters it is handed; reads no files.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from edfgen.plots._mpl import save_png, subplots


def plot_heatmap(t: np.ndarray, significant: np.ndarray, edf_names: Sequence[str], biomarker_names: Sequence[str],
                 path: str | os.PathLike, *, clusters: np.ndarray | None = None, title: str = "") -> Path:
    """Heatmap of signed t statistics (biomarkers × EDFs), EDFs ordered by cluster then by
    hierarchical clustering (average linkage on the t profiles); dots mark significant pairs."""
    from scipy.cluster.hierarchy import leaves_list, linkage

    tt = np.nan_to_num(np.asarray(t, dtype=float)).T            # [q, p]
    p = tt.shape[1]
    order = np.arange(p)
    if p > 2:
        order = leaves_list(linkage(tt.T, method="average"))
    if clusters is not None:
        rank = {j: i for i, j in enumerate(order)}
        order = np.array(sorted(range(p), key=lambda j: (clusters[j], rank[j])))
    lim = float(np.nanpercentile(np.abs(tt), 99)) if tt.size else 1.0
    lim = max(lim, 1.0)
    # (at least 7 in wide: the title and axis caption of a few EDFs were cut at the edges, review s30j nit)
    fig, ax = subplots(figsize=(max(7.0, min(2 + 0.12 * p, 24)), 1.5 + 0.4 * len(biomarker_names)))
    im = ax.imshow(tt[:, order], aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    sig = np.asarray(significant).T[:, order]
    yy, xx = np.nonzero(sig)
    ax.scatter(xx, yy, s=4, c="k", marker=".", linewidths=0)
    ax.set_yticks(range(len(biomarker_names)), labels=list(biomarker_names), fontsize=8)
    # every EDF labelled (its number when there are many: edf_071 -> 071; every k-th beyond 256)
    short = [str(n).removeprefix("edf_") if p > 64 else str(n) for n in edf_names]
    step = max(1, -(-p // 256))
    ax.set_xticks(range(0, p, step), labels=[short[j] for j in order[::step]], rotation=90, fontsize=6)
    ax.set_xlabel(f"{p} EDFs{' (edf_ number)' if p > 64 else ''}, ordered by cluster, then hierarchical clustering",
                  fontsize=8)
    if clusters is not None:
        cl = np.asarray(clusters)[order]
        for x in np.flatnonzero(np.diff(cl)) + 0.5:
            ax.axvline(x, color="k", lw=0.6)
    fig.colorbar(im, ax=ax, label="t (EDF ~ biomarker + covariates)", fraction=0.03)
    ax.set_title(title or "EDF–biomarker associations (dots: significant)", fontsize=9)
    fig.tight_layout()
    return save_png(fig, path, dpi=120)
