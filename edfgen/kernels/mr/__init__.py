"""Two-sample Mendelian randomization (TwoSampleMR-compatible): harmonisation, a typed registry of
estimators, sensitivity analyses (arrays and frames in, frames out; the file-level ``edfgen mr``
runner is :mod:`edfgen.commands.mr`)."""

from edfgen.kernels.mr.harmonise import find_proxies, harmonise, harmonise_alleles
from edfgen.kernels.mr.methods import DEFAULT_METHODS, METHODS, MRMethod, MRResult, get_method, run_method

__all__ = ["harmonise", "harmonise_alleles", "find_proxies", "METHODS", "DEFAULT_METHODS", "MRMethod", "MRResult",
           "get_method", "run_method"]
