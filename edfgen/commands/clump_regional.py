"""Regional plots of clumped loci: :func:`locus_frames` gives each locus's region of its lead phenotype's summary
statistics and the r² with the lead from the LD panel; :func:`write_regional_plots` draws them with
:func:`edfgen.plots.regional.plot_loci` (``edfgen clump --regional-plots``, ``edfgen annotate``);
:func:`check_genes_build` refuses a ``--genes`` track of another build.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.commands.sumstats_options import read_phenotype
from edfgen.exceptions import InputError
from edfgen.formats.genes import declared_genes_build, read_genes
from edfgen.formats.genotypes.panel import GenotypePanel
from edfgen.formats.sumstats import group_by_phenotype
from edfgen.kernels.ld import r2_vector
from edfgen.kernels.thresholds import build_name
from edfgen.plots.regional import plot_loci

log = logging.getLogger(__name__)


def locus_frames(loci: pd.DataFrame, sumstats: Sequence[str | Path], panel: GenotypePanel, *,
                 window_kb: float = 500.0, r2_method: str = "plink", columns: dict[str, str] | None = None):
    """``(locus row, region, r2)`` of each locus whose lead phenotype has summary statistics: the
    lead phenotype's variants within ``window_kb`` of the lead (its per-chromosome files read
    together, each phenotype once) and their r² with the lead from the panel (``None`` when the lead
    is not in the panel)."""
    by_name = group_by_phenotype(sumstats)   # a phenotype's per-chromosome files are read together
    ids = panel.variants.rows_by_id
    cache: dict[str, pd.DataFrame] = {}
    for row in loci.itertuples():
        ph = str(row.phenotype)
        if ph not in by_name:
            continue
        if ph not in cache:
            cache[ph] = read_phenotype(by_name[ph], required=("variant_id", "p_value", "chromosome",
                                                              "base_pair_location"), columns=columns)
        ss = cache[ph]
        w = int(window_kb * 1000)
        reg = ss[(ss["chromosome"].astype(str) == str(row.chromosome))
                 & ss["base_pair_location"].between(row.base_pair_location - w, row.base_pair_location + w)]
        r2 = None
        if str(row.variant_id) in ids.index:
            inpanel = reg["variant_id"][reg["variant_id"].isin(ids.index)].to_numpy()
            lead = int(ids[str(row.variant_id)])
            g = panel.read(np.r_[lead, ids[inpanel].to_numpy()])
            val, ok = r2_vector(g[:, 0], g[:, 1:], method=r2_method, haploid=panel.haploid(lead))
            r2 = pd.Series(np.where(ok, np.abs(val), np.nan), index=inpanel)
        yield row, reg, r2


def write_regional_plots(loci: pd.DataFrame, sumstats: Sequence[str | Path], panel: GenotypePanel,
                         out_dir: str | Path, *, genes: str | Path | pd.DataFrame | None = None,
                         window_kb: float = 500.0, r2_method: str = "plink",
                         columns: dict[str, str] | None = None) -> list[str]:
    """Regional plot of each locus (lead variant, lead phenotype's summary statistics, r² from the
    open ``panel``, genes from a GTF/BED file or frame): :func:`locus_frames` drawn by
    :func:`edfgen.plots.regional.plot_loci`. Returns the PNG paths written
    (``out_dir/<locus>_<phenotype>_<variant>.png``)."""
    gtab = read_genes(genes) if isinstance(genes, (str, Path)) else genes
    return plot_loci(locus_frames(loci, sumstats, panel, window_kb=window_kb, r2_method=r2_method, columns=columns),
                     out_dir,
                     genes=gtab, window_kb=window_kb)


def check_genes_build(genes: str | Path, declared: str | None, panel_build: str) -> None:
    """Refuse a ``--genes`` file whose declared build (:func:`~edfgen.formats.genes.declared_genes_build`) is not
    the build the summary statistics declare (``-meta.yaml``): genes of another build would be drawn at the wrong
    places, silently. Where they declare none, a file of another build than the panel's (``--reference-genome``,
    which may be its default) is warned about, not refused.

    Parameters
    ----------
    genes : str or Path
        The ``--genes`` file.
    declared : str, optional
        The build the summary statistics declare (:func:`~edfgen.formats.sumstats.declared_build`).
    panel_build : str
        The build the genotypes are read as.

    Raises
    ------
    InputError
        One line naming the file, the build it says and the one expected.
    """
    build, said = declared_genes_build(genes)
    want = declared or build_name(panel_build)
    if build and build != want and not declared:
        # only the genotypes' build to go by, and --reference-genome has a default (GRCh38) that a user with
        # GRCh37 PLINK files and a GRCh37 gene table never had to change for clump: a warning, not a refusal
        # (review rev37g F1)
        log.warning("--genes %s: its %s says genome build %s, but the genotypes are read as %s (--reference-genome; "
                    "the summary statistics declare no build): the gene track is drawn as given; give "
                    "--reference-genome %s if the positions are %s, else the %s gene file", genes, said, build, want,
                    build, build, want)
    elif build and build != want:
        raise InputError(f"--genes {genes}: its {said} says genome build {build}, but the summary statistics "
                         f"declare {want} (-meta.yaml genome_assembly): give the {want} gene file")
