"""Two-sample Mendelian randomization (TwoSampleMR-compatible): harmonisation, a typed registry of
estimators, sensitivity analyses (arrays and frames in, frames out; the file-level ``edfgen mr``
runner is :mod:`edfgen.commands.mr`)."""

from edfgen.kernels.mr.harmonise import find_proxies, harmonise, harmonise_alleles
from edfgen.kernels.mr.methods import DEFAULT_METHODS, METHODS, MRMethod, MRResult, get_method, run_method

#: the 95% CI factor of mr_results.tsv (b ± 1.96 se, TwoSampleMR generate_odds_ratios; not qnorm(0.975) = 1.959964)
#: and of the plots' error bars, so that a plot and its table agree
CI95_Z = 1.96

__all__ = ["CI95_Z", "harmonise", "harmonise_alleles", "find_proxies", "METHODS", "DEFAULT_METHODS", "MRMethod", "MRResult",
           "get_method", "run_method"]
