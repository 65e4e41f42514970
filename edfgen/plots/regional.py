"""Regional association plots (LocusZoom-style): −log10 p around a lead variant, coloured by r².

Points are coloured by r² with the lead variant in LocusZoom's five bins (0–0.2 … 0.8–1, grey
when not in the LD panel), the lead is a purple diamond, and an optional gene track shows the
genes of a GTF/BED file (:func:`edfgen.formats.genes.read_genes`) under the panel.

References
----------
Pruim RJ et al. (2010) "LocusZoom: regional visualization of genome-wide association scan
results", Bioinformatics 26:2336, doi:10.1093/bioinformatics/btq419.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.tables import safe_filename
from edfgen.kernels.thresholds import GENOME_WIDE
from edfgen.plots._mpl import save_png, subplots

log = logging.getLogger(__name__)

R2_BINS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0001]
R2_COLOURS = ["#357ebd", "#46b8da", "#5cb85c", "#eea236", "#d43f3a"]
NO_LD_COLOUR = "#b0b0b0"


def regional_plot(sumstats: pd.DataFrame, lead: str, path: str | os.PathLike, *,
                  r2: pd.Series | None = None, genes: pd.DataFrame | None = None,
                  window_kb: float = 500.0, title: str = "", threshold: float = GENOME_WIDE) -> Path:
    """Write one regional plot PNG.

    Parameters
    ----------
    sumstats : DataFrame
        ``variant_id, chromosome, base_pair_location, p_value`` of one phenotype.
    lead : str
        ``variant_id`` of the lead variant (must be in ``sumstats``).
    path : the PNG (written atomically).
    r2 : Series, optional
        r² with the lead indexed by ``variant_id`` (absolute values are used).
    genes : DataFrame, optional
        ``chromosome, start, end, gene, strand`` (see :func:`edfgen.formats.genes.read_genes`).
    window_kb : half-width of the region.
    """

    ss = sumstats
    hit = ss[ss["variant_id"].astype(str) == str(lead)]
    if hit.empty:
        raise InputError(f"regional_plot: lead variant {lead!r} not in the summary statistics")
    chrom = str(hit["chromosome"].iloc[0])
    centre = int(hit["base_pair_location"].iloc[0])
    w = int(window_kb * 1000)
    reg = ss[(ss["chromosome"].astype(str) == chrom)
             & (ss["base_pair_location"].between(centre - w, centre + w))].copy()
    # p = 0 (underflow below ~1e-308) is drawn at 1e-300, not dropped: it is usually the lead itself
    reg["mlogp"] = -np.log10(np.clip(reg["p_value"].astype(float), 1e-300, 1))
    if r2 is not None:
        reg["r2"] = reg["variant_id"].astype(str).map(r2.abs())
    else:
        reg["r2"] = np.nan
    near_genes = None if genes is None else genes[(genes["chromosome"] == chrom) & (genes["end"] >= centre - w)
                                                  & (genes["start"] <= centre + w)]
    has_genes = near_genes is not None and not near_genes.empty
    fig, axes = subplots(2 if has_genes else 1, 1, figsize=(8, 5.5 if has_genes else 4), sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]} if has_genes else None, squeeze=False)
    ax = axes[0, 0]
    x = reg["base_pair_location"].to_numpy() / 1e6
    no_ld = reg["r2"].isna().to_numpy()
    ax.scatter(x[no_ld], reg["mlogp"].to_numpy()[no_ld], s=10, c=NO_LD_COLOUR, lw=0, label="no LD")
    for lo, hi, col in zip(R2_BINS[:-1], R2_BINS[1:], R2_COLOURS):
        sel = (~no_ld) & (reg["r2"].to_numpy() >= lo) & (reg["r2"].to_numpy() < hi)
        ax.scatter(x[sel], reg["mlogp"].to_numpy()[sel], s=14, c=col, lw=0,
                   label=f"{lo:.1f}–{min(hi, 1):.1f}")
    lead_row = reg[reg["variant_id"].astype(str) == str(lead)]
    ax.scatter(lead_row["base_pair_location"] / 1e6, lead_row["mlogp"], s=70, marker="D", c="#7b3294",
               edgecolor="k", zorder=5, label=str(lead))
    ax.axhline(-np.log10(threshold), color="grey", ls="--", lw=0.8)
    ax.set_ylabel("−log10 p")
    ax.legend(title="r² with lead", fontsize=7, title_fontsize=7, loc="upper right", frameon=False)
    ax.set_title(title or f"{lead} (chr{chrom}:{centre})", fontsize=10)
    if has_genes:
        gax = axes[1, 0]
        g = near_genes.head(40).reset_index(drop=True)
        for k, row in g.iterrows():
            yk = -(k % 4)
            gax.plot([row["start"] / 1e6, row["end"] / 1e6], [yk, yk], lw=4, color="#2c5f8a",
                     solid_capstyle="butt")
            arrow = {"+": " →", "-": " ←"}.get(str(row["strand"]), "")
            gax.text(max(row["start"], centre - w) / 1e6, yk + 0.3, f"{row['gene']}{arrow}", fontsize=6)
        gax.set_ylim(-4, 1)
        gax.set_yticks([])
        gax.set_ylabel("genes", fontsize=8)
    axes[-1, 0].set_xlabel(f"chr{chrom} position (Mb)")
    axes[-1, 0].set_xlim((centre - w) / 1e6, (centre + w) / 1e6)
    fig.tight_layout()
    return save_png(fig, path, dpi=110)


def regional_plot_names(loci: pd.DataFrame) -> list[str]:
    """The file name :func:`plot_loci` gives the plot of each row of ``loci`` (``locus``, ``phenotype``,
    ``variant_id``): ``<locus>_<phenotype>_<variant>.png``, known before any is drawn (a command lists them in
    its in-progress manifest, :func:`edfgen.formats.manifest.recording`).

    Parameters
    ----------
    loci : DataFrame
        The loci to draw, one row each.

    Returns
    -------
    list of str
        One name per row, in order.
    """
    return [_plot_name(*row) for row in zip(loci["locus"], loci["phenotype"], loci["variant_id"])]


def _plot_name(locus, phenotype, variant_id) -> str:
    return f"{locus}_{safe_filename(str(phenotype))}_{safe_filename(str(variant_id))}.png"


def plot_loci(frames: Iterable[tuple], out_dir: str | Path, *, genes: pd.DataFrame | None = None,
              window_kb: float = 500.0) -> list[str]:
    """Regional plot of each locus it is handed.

    ``frames``: ``(locus row, region, r2)`` per locus, as
    :func:`edfgen.commands.clump.locus_frames` gives them: the ``loci.tsv`` row (``locus``,
    ``variant_id``, ``phenotype``, ``p_value``), the lead phenotype's summary statistics around the
    lead, and r² with the lead by ``variant_id`` (``None``: no LD colours). ``genes``: the gene track
    (:func:`edfgen.formats.genes.read_genes`). Returns the PNG paths written
    (``out_dir/<locus>_<phenotype>_<variant>.png``).
    """
    out_dir = Path(out_dir)
    written = []
    for row, reg, r2 in frames:
        ph = str(row.phenotype)
        path = out_dir / _plot_name(row.locus, ph, row.variant_id)
        regional_plot(reg, str(row.variant_id), path, r2=r2, genes=genes, window_kb=window_kb,
                      title=f"locus {row.locus}: {row.variant_id} ({ph}, p={row.p_value:.2g})")
        written.append(str(path))
    return written
