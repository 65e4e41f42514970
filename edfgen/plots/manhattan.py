"""Manhattan plot: -log10 p along the genome, chromosomes alternately coloured, lead variants or genes labelled."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.kernels.thresholds import GENOME_WIDE, SUGGESTIVE
from edfgen.plots._mpl import save_png
from edfgen.plots.raster import (EVEN_COLOUR, ODD_COLOUR, P_FLOOR, _PNG, _Box, _figure, _Layout, _manhattan_axes,
                                 _rgb, place_labels)
from edfgen.plots.thin import GwasPlotAccumulator

#: default text size (points at 100 dpi) of the report's Manhattan plots: 14 px, >= 11 px at a 1400 px page
LEGIBLE_PT = 10.0


def _label_points(labels: pd.DataFrame, x_of) -> list[tuple[float, float, str]]:
    """``(x, -log10 p, text)`` of ``labels`` (``chromosome``, ``base_pair_location``, ``p_value``, ``label``),
    strongest first, one per label text (its strongest row); rows on chromosomes not in the plot are left out."""
    d = labels.dropna(subset=["label"]).copy()
    d = d[d["label"].astype(str).str.strip() != ""]
    d = d.assign(p_num=pd.to_numeric(d["p_value"], errors="coerce")).sort_values("p_num", kind="stable")
    d = d.drop_duplicates("label")
    out = []
    for r in d.itertuples(index=False):
        x = x_of(str(r.chromosome), float(r.base_pair_location))
        if x is not None and np.isfinite(r.p_num):
            out.append((x, float(-np.log10(max(r.p_num, P_FLOOR))), str(r.label)))
    return out


def manhattan_plot(df: pd.DataFrame, path: str | os.PathLike, *, title: str = "",
                   threshold: float = GENOME_WIDE, thin: bool = True, suggestive: float | None = SUGGESTIVE,
                   study_wide: float | None = None, label_leads: int = 10, lead_window_bp: float = 1e6,
                   labels: pd.DataFrame | None = None, width: int = 1000, height: int = 350,
                   fontsize: float | None = None) -> Path:
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
    labels : DataFrame, optional
        Label these instead (e.g. ``loci.tsv`` with ``label`` = its ``nearest_gene``): columns ``chromosome``,
        ``base_pair_location``, ``p_value``, ``label``; each is put on this plot's smallest p within
        ``lead_window_bp / 2`` (left out when there is none) and the strongest ``label_leads`` distinct labels are
        written without overlaps.
    width, height : int
        Size in pixels.
    fontsize : float, optional
        Text size in points at 100 dpi (:data:`LEGIBLE_PT` for a figure shown at full page width); default:
        the compact sizes of the GWAS stage's plots.
    """
    pos = df["base_pair_location"].to_numpy(dtype=float)
    p = df["p_value"].to_numpy(dtype=float)
    acc = GwasPlotAccumulator(df["chromosome"].to_numpy(), pos, 1, width=width, height=height)
    acc.add(np.arange(len(df)), p[:, None])
    annotate = []
    if labels is not None and label_leads:
        annotate = _label_points(_on_own_peaks(df, labels, lead_window_bp / 2), lambda c, x: _x_of(acc.layout, c, x))
        annotate = annotate[:label_leads]
    elif label_leads and "variant_id" in df.columns:
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
                                 suggestive=suggestive, annotate=annotate, fontsize=fontsize)


def _on_own_peaks(df: pd.DataFrame, labels: pd.DataFrame, half_window_bp: float) -> pd.DataFrame:
    """``labels`` moved onto this plot's own points: each to the smallest p of ``df`` within ``half_window_bp`` of
    its position (a locus's lead p is often another phenotype's); labels with no point of ``df`` near are left out."""
    chrom = df["chromosome"].astype(str).str.removeprefix("chr").to_numpy()
    pos = df["base_pair_location"].to_numpy(dtype=float)
    p = df["p_value"].to_numpy(dtype=float)
    rows = []
    for r in labels.itertuples(index=False):
        near = np.flatnonzero((chrom == str(r.chromosome).removeprefix("chr")) & (np.abs(pos - float(r.base_pair_location))
                                                                                  <= half_window_bp) & np.isfinite(p))
        if len(near):
            i = near[np.argmin(p[near])]
            rows.append({"chromosome": chrom[i], "base_pair_location": pos[i], "p_value": p[i], "label": r.label})
    return pd.DataFrame(rows, columns=["chromosome", "base_pair_location", "p_value", "label"])


def _x_of(layout: _Layout, chromosome: str, position: float) -> float | None:
    """Plot x of one variant, or None when its chromosome is not in the layout."""
    chromosome = chromosome[3:] if chromosome.startswith("chr") else chromosome
    if chromosome not in layout.labels:
        return None
    i = layout.labels.index(chromosome)
    return float(position - layout.lo[i] + layout.offset[i])


def manhattan_from_points(points: str | os.PathLike, path: str | os.PathLike, *, labels: pd.DataFrame | None = None,
                          max_labels: int = 15, title: str | None = None, width: int = 1400, height: int = 520,
                          fontsize: float = LEGIBLE_PT) -> Path:
    """Redraw a Manhattan plot from the points saved by
    :meth:`edfgen.plots.GwasPlotAccumulator.save_manhattan_points` (``gwas/plots/combined_min_p.manhattan.npz``),
    with chromosome labels, text of ``fontsize`` points and gene labels.

    Parameters
    ----------
    labels : DataFrame, optional
        ``chromosome``, ``base_pair_location``, ``p_value``, ``label`` (e.g. ``loci.tsv``'s lead variants with
        ``label`` = ``nearest_gene``): the ``max_labels`` strongest distinct labels are written above their
        points without overlaps.
    title : str, optional
        Default: the saved plot's title.
    width, height : int
        Size in pixels (100 dpi).
    """
    with np.load(points, allow_pickle=False) as z:
        lab, top = z["points"], float(z["top"])
        opt = {k: (None if np.isnan(float(z[k])) else float(z[k])) for k in ("suggestive", "study_wide")}
        threshold = float(z["threshold"])
        x0, x1 = (float(v) for v in z["x_range"])
        lay = _Layout(labels=tuple(str(c) for c in z["chromosomes"]), keys=z["keys"], lo=z["lo"], offset=z["offset"],
                      ticks=z["ticks"], x0=x0, x1=x1)
        title = str(z["title"]) if title is None else title
    img = np.zeros((*lab.shape, 4), dtype=np.uint8)
    for value, colour in ((1, EVEN_COLOUR), (2, ODD_COLOUR)):
        img[lab == value, :3] = _rgb(colour)
        img[lab == value, 3] = 255
    fig, ax = _figure(_Box.for_text(width, height, fontsize))
    ax.imshow(img[::-1], extent=(x0, x1, 0, top), origin="upper", aspect="auto", interpolation="nearest", zorder=1)
    _manhattan_axes(ax, lay, top, threshold=threshold, fontsize=fontsize, **opt)
    ax.set_title(title, fontsize=fontsize, loc="left")
    if labels is not None and len(labels):
        place_labels(ax, _label_points(labels, lambda c, x: _x_of(lay, c, x)), fontsize=fontsize,
                     max_labels=max_labels)
    return save_png(fig, path, texts=True, pil_kwargs=_PNG)
