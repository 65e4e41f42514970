"""Plots (matplotlib, Agg backend): Manhattan and QQ plots of GWAS results.

Plotting is kept cheap for thousands of phenotypes: points with p > 0.01 are thinned
(a deterministic 1-in-k sample of them is drawn), figures are small PNGs.
"""

from edfgen.plots.manhattan import manhattan_plot
from edfgen.plots.qq import qq_plot

__all__ = ["manhattan_plot", "qq_plot"]
