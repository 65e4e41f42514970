"""Chromosome names as edfgen keeps them, whatever the file wrote.

Files name chromosome 1 ``1``, ``chr1``, ``01`` (UK Biobank's imputed BGEN files; ``plink2 --output-chr 0M``,
which writes X, Y and MT ``0X``, ``0Y``, ``0M``) or ``chr01``; every reader of genotypes and summary statistics
drops the ``chr`` prefix and a number's leading zeros (and 0M's ``0`` before X, Y, M) and upper-cases X, Y, MT with
:func:`plain_chromosome_names`, so the same chromosome has one name in every table, template
(``{chr}``) and index. Codes for X, Y, the pseudo-autosomal region and the mitochondrion are mapped where
each convention is read (:mod:`edfgen.formats.sumstats.layout` for outputs); ``--chr`` compares them by
:func:`chromosomes_selected`, and the HWE test runs where :func:`autosomal`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: a ``chr`` prefix and the leading zeros of a number (``chr01`` -> ``1``, ``0`` stays ``0``), and the ``0`` that
#: ``plink2 --output-chr 0M`` writes before X, Y and M (``0X``, ``0Y``, ``0M``; it keeps ``XY``)
CHROMOSOME_PREFIX = r"(?i)^(?:chr)?0(?=(?:X|Y|M|MT)$)|^(?:chr)?0*(?=\d)|^chr"     # (CHR1, Chr2 too)


#: the letter names of X, Y, the pseudo-autosomal region and the mitochondrion, upper-cased whatever the file's case
#: (a ``.bim`` or summary statistics may write ``chrx``, ``y``, ``mt``, ``Xy``)
LETTER_CHROMOSOMES = r"(?i)^(?:X|Y|XY|M|MT|PAR1|PAR2)$"


def plain_chromosome_names(values) -> pd.Series:
    """``values`` (any array-like) as strings without a ``chr`` prefix or leading zeros, and X, Y, XY, M, MT,
    PAR1/2 in upper case (``chrx`` -> ``X``, ``mt`` -> ``MT``: a lower-case ``x`` met no X rule, and no ``X`` of
    another file, s36c); other contigs keep their case. Edited once per distinct name (a few per file)."""
    s = pd.Series(np.asarray(values, dtype=object)).astype(str)
    codes, uniques = pd.factorize(s, use_na_sentinel=False)
    names = pd.Series(uniques, dtype=object).str.replace(CHROMOSOME_PREFIX, "", regex=True)
    letters = names.str.fullmatch(LETTER_CHROMOSOMES)
    names = names.where(~letters, names.str.upper()).to_numpy(dtype=object)
    pandas = isinstance(values, (pd.Series, pd.Index))   # a list's .index is a method, not an index
    return pd.Series(names[codes], index=values.index if isinstance(values, pd.Series) else None,
                     name=values.name if pandas else None, dtype=object)


#: PLINK's numeric codes and plink2's names as the names ``--chr`` compares: 23 is X, 24 Y, 26 and ``M`` MT, and
#: 25, ``PAR1``, ``PAR2`` are ``XY``, the pseudo-autosomal region (on X's coordinates; outputs label it X)
SELECTION_NAMES = {"23": "X", "24": "Y", "25": "XY", "PAR1": "XY", "PAR2": "XY", "26": "MT", "M": "MT"}


def selection_chromosome_names(values) -> np.ndarray:
    """``values`` (file labels or ``--chr`` items) as :data:`SELECTION_NAMES` names them: no ``chr`` prefix or
    leading zeros, upper case, PLINK's numbers and plink2's PAR names mapped."""
    names = plain_chromosome_names(values).str.upper()
    return names.replace(SELECTION_NAMES).to_numpy(dtype=object)


def chromosomes_selected(labels, wanted) -> np.ndarray:
    """Which file ``labels`` are on the ``--chr`` chromosomes ``wanted`` (both sides by
    :func:`selection_chromosome_names`): ``X`` (or 23) takes X and its pseudo-autosomal region (XY, 25,
    PAR1/2: the outputs label both X), ``XY`` (25, PAR1, PAR2) the region only; ``--chr 1-22,X`` on a UK Biobank
    ``.bim`` (23, 25) found nothing when labels were compared as written."""
    want = set(selection_chromosome_names(list(wanted)))
    if "X" in want:
        want.add("XY")
    return np.isin(selection_chromosome_names(labels), list(want))


def autosomal(values) -> np.ndarray:
    """Whether each label (any spelling: ``chr1``, ``01``, PLINK's 23-26) names an autosome 1-22.

    The diploid Hardy-Weinberg test runs on these and on the pseudo-autosomal region (:func:`hwe_diploid`).
    """
    names = plain_chromosome_names(values)
    return names.isin([str(i) for i in range(1, 23)]).to_numpy()


def hwe_diploid(values, kinds=None) -> np.ndarray:
    """Whether each variant gets the ordinary (diploid) Hardy-Weinberg test: the autosomes 1-22 and the
    pseudo-autosomal region, where men are diploid too (labelled ``XY``/25/PAR1/PAR2, or X-labelled with the
    kind ``""``, i.e. inside the build's PAR coordinates: :func:`edfgen.engines.sex_chromosomes.chromosome_kinds`),
    as plink2 ``--split-par`` then ``--hwe`` tests it (review rev29d F5). Non-PAR X has its own test (males
    hemizygous: Graffelman-Weir, :func:`edfgen.kernels.qc.hwe_x_exact_p`); on Y and MT (haploid) the diploid
    test would fail every common variant, so they are not tested.
    """
    names = selection_chromosome_names(np.asarray(values, dtype=object))
    out = autosomal(values) | (names == "XY")
    if kinds is not None:
        out |= (names == "X") & (np.asarray(kinds, dtype=object) == "")
    return out
