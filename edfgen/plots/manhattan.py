"""Manhattan plot: -log10 p along the genome, chromosomes alternately coloured."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.io.sumstats import chrom_key
from edfgen.io.tables import atomic_path


def thin_mask(p: np.ndarray, *, keep_above: float = 0.01, every: int = 10) -> np.ndarray:
    """Keep every point with p <= ``keep_above`` and a deterministic 1-in-``every`` of the others."""
    p = np.asarray(p, dtype=float)
    keep = np.isfinite(p) & (p <= keep_above)
    weak = np.flatnonzero(np.isfinite(p) & ~keep)
    keep[weak[::every]] = True
    return keep


def manhattan_plot(df: pd.DataFrame, path: str | os.PathLike, *, title: str = "",
                   threshold: float = 5e-8, thin: bool = True, suggestive: float | None = 1e-5,
                   study_wide: float | None = None, label_leads: int = 10, lead_window_bp: float = 1e6) -> Path:
    """Write a Manhattan plot PNG.

    Parameters
    ----------
    df : DataFrame
        Columns ``chromosome``, ``base_pair_location``, ``p_value`` (any order).
    path : path of the PNG (written atomically).
    threshold : float
        Genome-wide line (default 5e-8).
    thin : bool
        Thin points with p > 0.01 (1 in 10) to keep plotting fast.
    suggestive : float or None
        Dotted suggestive line (default 1e-5).
    study_wide : float or None
        A study-wide line (e.g. 5e-8 / number of phenotypes or / M_eff), drawn when given.
    label_leads : int
        Label at most this many lead variants (the smallest p per ``lead_window_bp`` window among
        variants beyond ``threshold``) with their ``variant_id`` when the frame has one.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chrom = df["chromosome"].astype(str).str.replace("^chr", "", regex=True)
    key = chrom_key(chrom).to_numpy()
    pos = df["base_pair_location"].to_numpy(dtype=float)
    p = df["p_value"].to_numpy(dtype=float)
    order = np.lexsort((pos, key))
    key, pos, p, chrom = key[order], pos[order], p[order], chrom.to_numpy()[order]
    keep = thin_mask(p) if thin else np.isfinite(p)
    # cumulative x coordinate per chromosome
    x = np.empty_like(pos)
    ticks, labels, offset = [], [], 0.0
    for k in np.unique(key):
        sel = key == k
        lo, hi = pos[sel].min(), pos[sel].max()
        x[sel] = pos[sel] - lo + offset
        ticks.append(offset + (hi - lo) / 2)
        labels.append(chrom[sel][0])
        offset += (hi - lo) + max((hi - lo) * 0.02, 1.0)
    y = -np.log10(np.clip(p, 1e-300, 1))
    colours = np.where(key % 2 == 0, "#4a6fa5", "#1b2a41")
    fig, ax = plt.subplots(figsize=(10, 3.5), dpi=100)
    ax.scatter(x[keep], y[keep], c=colours[keep], s=3, linewidths=0, rasterized=True)
    ax.axhline(-np.log10(threshold), color="#c0392b", lw=0.8, ls="--", label=f"genome-wide {threshold:g}")
    if suggestive is not None:
        ax.axhline(-np.log10(suggestive), color="#7f8c8d", lw=0.7, ls=":", label=f"suggestive {suggestive:g}")
    if study_wide is not None:
        ax.axhline(-np.log10(study_wide), color="#8e44ad", lw=0.8, ls="-.", label=f"study-wide {study_wide:.2g}")
    if label_leads and "variant_id" in df.columns:
        ids = df["variant_id"].astype(str).to_numpy()[order]
        hits = np.flatnonzero(np.isfinite(p) & (p < threshold))
        taken: list[tuple[int, float]] = []
        for i in hits[np.argsort(p[hits], kind="stable")]:
            if len(taken) >= label_leads:
                break
            if any(k == key[i] and abs(q - pos[i]) < lead_window_bp for k, q in taken):
                continue
            taken.append((key[i], pos[i]))
            ax.annotate(ids[i], (x[i], y[i]), xytext=(2, 3), textcoords="offset points", fontsize=6)
    ax.legend(fontsize=6, loc="upper right", frameon=False)
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_xlabel("chromosome")
    ax.set_ylabel("-log10 p")
    ax.set_title(title, fontsize=9)
    ax.set_xlim(x.min() - 1, x.max() + 1) if len(x) else None
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return Path(path)
