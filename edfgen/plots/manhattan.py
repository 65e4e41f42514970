"""Manhattan plot: -log10 p along the genome, chromosomes alternately coloured."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.kernels.thresholds import GENOME_WIDE, SUGGESTIVE
from edfgen.plots.thin import GwasPlotAccumulator


def manhattan_plot(df: pd.DataFrame, path: str | os.PathLike, *, title: str = "",
                   threshold: float = GENOME_WIDE, thin: bool = True, suggestive: float | None = SUGGESTIVE,
                   study_wide: float | None = None, label_leads: int = 10, lead_window_bp: float = 1e6,
                   width: int = 1000, height: int = 350) -> Path:
    """Write a Manhattan plot PNG.

    The points are drawn as a raster (every point is painted into the pixels of the axes, see
    :class:`edfgen.plots.GwasPlotAccumulator`), so the cost hardly depends on the number of variants.

    Parameters
    ----------
    df : DataFrame
        Columns ``chromosome``, ``base_pair_location``, ``p_value`` (any order).
    path : path of the PNG (written atomically).
    threshold : float
        Genome-wide line (default :data:`~edfgen.kernels.thresholds.GENOME_WIDE`, 5e-8).
    thin : bool
        Kept for compatibility: the raster draws every point at the cost of a thinned scatter.
    suggestive : float or None
        Dotted suggestive line (default :data:`~edfgen.kernels.thresholds.SUGGESTIVE`, 1e-5).
    study_wide : float or None
        A study-wide line (e.g. 5e-8 / number of phenotypes or / M_eff), drawn when given.
    label_leads : int
        Label at most this many lead variants (the smallest p per ``lead_window_bp`` window among
        variants beyond ``threshold``) with their ``variant_id`` when the frame has one.
    width, height : int
        Size in pixels.
    """
    pos = df["base_pair_location"].to_numpy(dtype=float)
    p = df["p_value"].to_numpy(dtype=float)
    acc = GwasPlotAccumulator(df["chromosome"].to_numpy(), pos, 1, width=width, height=height)
    acc.add(np.arange(len(df)), p[:, None])
    annotate = []
    if label_leads and "variant_id" in df.columns:
        ids = df["variant_id"].astype(str).to_numpy()
        chrom = acc.chrom_index
        hits = np.flatnonzero(np.isfinite(p) & (p < threshold))
        taken: list[tuple[int, float]] = []
        for i in hits[np.argsort(p[hits], kind="stable")]:
            if len(taken) >= label_leads:
                break
            if any(k == chrom[i] and abs(q - pos[i]) < lead_window_bp for k, q in taken):
                continue
            taken.append((chrom[i], pos[i]))
            annotate.append((float(acc.layout.x(chrom[i:i + 1], pos[i:i + 1])[0]),
                             float(-np.log10(max(p[i], 1e-300))), ids[i]))
    return acc._manhattan_figure(0, path, title=title, study_wide=study_wide, threshold=threshold,
                                 suggestive=suggestive, annotate=annotate)
