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
    pandas = isinstance(values, (pd.Series, pd.Index))   # a list's .index is a method, not an index
    return pd.Series(names[codes], index=values.index if isinstance(values, pd.Series) else None,
                     name=values.name if pandas else None, dtype=object)


#: one name per chromosome for choosing variants (``--chr``): PLINK's numeric codes (23 X, 24 Y, 25 XY, 26 MT),
#: plink2's ``PAR1``/``PAR2`` and PLINK's ``XY`` (the pseudo-autosomal region, on X's coordinates, which
#: edfgen's outputs label X, as Hail's import does) and ``M`` all meet the name a user writes
SELECTION_NAMES = {"23": "X", "XY": "X", "25": "X", "PAR1": "X", "PAR2": "X", "24": "Y", "26": "MT", "M": "MT"}


def selection_chromosome_names(values) -> np.ndarray:
    """``values`` (file labels or ``--chr`` items) as :data:`SELECTION_NAMES` compares them: no ``chr`` prefix or
    leading zeros, upper case, ``23``/``XY``/``25``/``PAR1``/``PAR2`` -> ``X``, ``24`` -> ``Y``, ``26``/``M`` ->
    ``MT``; so ``--chr X`` finds a UK Biobank ``.bim``'s 23 and 25, and ``--chr 23`` a file's ``X``."""
    names = plain_chromosome_names(values).str.upper()
    return names.replace(SELECTION_NAMES).to_numpy(dtype=object)


def autosomal(values) -> np.ndarray:
    """Whether each label (any spelling: ``chr1``, ``01``, PLINK's 23-26) names an autosome 1-22.

    The Hardy-Weinberg test is run on these only: on X (males hemizygous), its pseudo-autosomal region (which
    Hail's import and edfgen's outputs label X), Y and MT the diploid test fails every common variant.
    """
    names = plain_chromosome_names(values)
    return names.isin([str(i) for i in range(1, 23)]).to_numpy()
