"""Figures of ``edfgen ldsc``: the genetic-correlation heatmap of every pair of phenotypes in ``rg.tsv``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.plots._mpl import save_png, subplots


def plot_rg_heatmap(rg: pd.DataFrame, path: str | os.PathLike, *, title: str = "") -> Path:
    """Symmetric heatmap of ``rg`` (clipped to [-1, 1]; NA blank), phenotypes in first-seen order; dots mark
    pairs with ``p_value < 0.05 / pairs``."""
    names = list(dict.fromkeys([*rg["phenotype_1"], *rg["phenotype_2"]]))
    k = {n: i for i, n in enumerate(names)}
    m = np.full((len(names), len(names)), np.nan)
    np.fill_diagonal(m, 1.0)
    sig = np.zeros_like(m, dtype=bool)
    alpha = 0.05 / max(len(rg), 1)
    for r in rg.itertuples():
        i, j = k[r.phenotype_1], k[r.phenotype_2]
        m[i, j] = m[j, i] = np.clip(r.rg, -1, 1) if pd.notna(r.rg) else np.nan
        sig[i, j] = sig[j, i] = bool(pd.notna(r.p_value) and r.p_value < alpha)
    size = min(3 + 0.18 * len(names), 20)
    fig, ax = subplots(figsize=(size + 1.5, size))
    im = ax.imshow(m, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    yy, xx = np.nonzero(sig)
    ax.scatter(xx, yy, s=6, c="k", marker=".", linewidths=0)
    if len(names) <= 80:
        ax.set_xticks(range(len(names)), labels=names, rotation=90, fontsize=6)
        ax.set_yticks(range(len(names)), labels=names, fontsize=6)
    fig.colorbar(im, ax=ax, label="rg (LD score regression)", fraction=0.04)
    ax.set_title(title or "Genetic correlation (dots: Bonferroni-significant)", fontsize=9)
    fig.tight_layout()
    return save_png(fig, path, dpi=110)
