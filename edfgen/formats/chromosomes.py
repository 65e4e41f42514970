"""Chromosome names as edfgen keeps them, whatever the file wrote.

Files name chromosome 1 ``1``, ``chr1``, ``01`` (UK Biobank's imputed BGEN files; ``plink2 --output-chr 0M``) or
``chr01``; every reader of genotypes and summary statistics drops the ``chr`` prefix and a number's leading zeros
with :func:`plain_chromosome_names`, so the same chromosome has one name in every table, template
(``{chr}``) and index. (Codes for X, Y, the pseudo-autosomal region and the mitochondrion are mapped where
each convention is read: :mod:`edfgen.formats.sumstats.layout`.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: a ``chr`` prefix and the leading zeros of a number (``chr01`` -> ``1``, ``0`` stays ``0``)
CHROMOSOME_PREFIX = r"^(?:chr)?0*(?=\d)|^chr"


def plain_chromosome_names(values) -> pd.Series:
    """``values`` (any array-like) as strings without a ``chr`` prefix or leading zeros, edited once per
    distinct name (a few per file)."""
    s = pd.Series(np.asarray(values, dtype=object)).astype(str)
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    names = pd.Series(uniques, dtype=object).str.replace(CHROMOSOME_PREFIX, "", regex=True).to_numpy(dtype=object)
    return pd.Series(names[codes], index=getattr(values, "index", None), name=getattr(values, "name", None),
                     dtype=object)
