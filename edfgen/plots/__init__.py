"""Plots (matplotlib, Agg backend): Manhattan and QQ plots of GWAS results.

Plotting is kept cheap for thousands of phenotypes: :class:`GwasPlotAccumulator` keeps bounded
summaries of streamed p-values (exact points below ``keep_p``, pixel occupancy and histograms of
the rest) and draws raster PNGs from them.
"""

from edfgen.plots.manhattan import manhattan_plot
from edfgen.plots.qq import qq_plot
from edfgen.plots.thin import GwasPlotAccumulator

__all__ = ["GwasPlotAccumulator", "manhattan_plot", "qq_plot"]
