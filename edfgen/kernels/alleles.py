"""Alleles of summary statistics: strand complements and a variant's allele-pair key (numpy/pandas only, so the
readers of :mod:`edfgen.formats.sumstats` and the MR kernels share them without importing each other).

Keys come two ways: as text (``rs1 A/G``: for messages and joins) and as integer codes (:func:`variant_allele_codes`,
:func:`variant_site_codes`: equal exactly where the text keys are equal) for finding repeats in genome-wide files,
where building ~10^7 strings cost minutes (``benchmarks/sumstats_combine.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: allele -> its strand complement (``str.translate``; lower case kept lower)
COMPLEMENT = str.maketrans("ACGTacgt", "TGCAtgca")


def _allele_pairs(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's unordered, strand-free allele pair: a code per row and the text of each code (``A/G`` for
    A/G, G/A, T/C and C/T; upper case), different codes having different text.

    The text is built once per distinct (effect, other) allele pair and spread to the rows by their codes
    (a genome-wide file has a few hundred distinct pairs): 4-5x less CPU than string operations on every row.
    """
    ce, ue = pd.factorize(df["effect_allele"].astype(str), sort=False)
    co, uo = pd.factorize(df["other_allele"].astype(str), sort=False)
    width = max(len(uo), 1)
    codes, pairs = pd.factorize(ce.astype(np.int64) * width + co, sort=False)
    text = np.empty(len(pairs), dtype=object)
    for i, code in enumerate(pairs.tolist()):
        a, b = str(ue[code // width]).upper(), str(uo[code % width]).upper()
        fwd = "/".join(sorted((a, b)))
        rev = "/".join(sorted((a.translate(COMPLEMENT), b.translate(COMPLEMENT))))
        text[i] = min(fwd, rev)
    same, distinct = pd.factorize(text, sort=False)     # A/G and G/A: two (effect, other) pairs, one text
    return same[codes], np.asarray(distinct, dtype=object)


def variant_allele_keys(df: pd.DataFrame) -> pd.Series:
    """``variant_id`` and the unordered allele pair of each row, strand-free (``rs1 A/G`` for A/G, G/A, T/C and
    C/T): one variant whatever its effect allele or strand, while the rows of a multi-allelic site (one per ALT
    allele, as GWAS-VCF and split VCFs store it) differ."""
    codes, text = _allele_pairs(df)
    return df["variant_id"].astype(str) + " " + pd.Series(text[codes], index=df.index)


def variant_site_keys(df: pd.DataFrame) -> pd.Series:
    """:func:`variant_allele_keys` with ``chromosome:base_pair_location`` added when the frame has both: the
    rows of one rsID that dbSNP places at two positions (merged or multi-mapped rsIDs) are two variants, not a
    repeat; without positions the id and alleles alone key a row."""
    key = variant_allele_keys(df)
    if {"chromosome", "base_pair_location"} <= set(df.columns):
        key = key + " " + df["chromosome"].astype(str) + ":" + df["base_pair_location"].astype(str)
    return key


def text_codes(values: pd.Series) -> np.ndarray:
    """Integer codes of ``values``, equal where ``values.astype(str)`` is equal (``1`` and ``"1"`` alike): the
    values' own codes when they are all text or all numbers, else from their distinct values' text. Values that
    Python holds equal (``1``, ``1.0`` and ``True`` in one object column; ``None`` and ``NaN``) share a code though
    their text differs: the readers never give such columns (review rev35b)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    if pd.api.types.infer_dtype(uniques, skipna=False) in ("string", "integer", "floating", "boolean"):
        return codes                # one type: equal values, equal text (-0.0 and 0.0 aside)
    return pd.factorize(pd.Index(uniques).astype(str), use_na_sentinel=False)[0][codes]


#: a combined code stays below this (``int64`` without overflow); past it the codes so far are renumbered
_CODE_LIMIT = 2 ** 62


def combined_codes(*codes: np.ndarray) -> np.ndarray:
    """One integer code per row for the tuple of per-row ``codes`` (each non-negative): equal exactly where
    every one of them is equal (not numbered consecutively)."""
    key = np.asarray(codes[0], dtype=np.int64)
    for c in codes[1:]:
        c = np.asarray(c, dtype=np.int64)
        width = int(np.max(c, initial=0)) + 1
        if int(np.max(key, initial=0)) >= _CODE_LIMIT // width:
            key = pd.factorize(key)[0].astype(np.int64)     # at most one code per row: key < len(key)
        key = key * width + c
    return key


def variant_allele_codes(df: pd.DataFrame) -> pd.Series:
    """:func:`variant_allele_keys` as integer codes (equal exactly where the keys are equal): for
    ``.duplicated()`` on genome-wide files."""
    pairs, _ = _allele_pairs(df)
    return pd.Series(combined_codes(text_codes(df["variant_id"]), pairs), index=df.index)


def variant_site_codes(df: pd.DataFrame) -> pd.Series:
    """:func:`variant_site_keys` as integer codes (equal exactly where the keys are equal)."""
    key = variant_allele_codes(df)
    if {"chromosome", "base_pair_location"} <= set(df.columns):
        key = pd.Series(combined_codes(key.to_numpy(), text_codes(df["chromosome"]),
                                       text_codes(df["base_pair_location"])), index=df.index)
    return key


# the columns MR reads: a row repeated on these is the same instrument whatever the file's other columns (an info
# score, a direction string) say, so the reader (GWAS-SSF subset or whole file) cannot change which rows repeat
MR_COLUMNS = ("variant_id", "chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
              "standard_error", "p_value", "effect_allele_frequency", "n", "n_cases", "n_controls")


def repeated_rows(df: pd.DataFrame) -> np.ndarray:
    """Rows equal to an earlier row on the MR columns present (:data:`MR_COLUMNS`; all columns where none is).

    Parameters
    ----------
    df : pandas.DataFrame
        Summary-statistic rows with canonical column names.

    Returns
    -------
    numpy.ndarray
        Boolean mask, True on each repeat after the first.
    """
    cols = [c for c in MR_COLUMNS if c in df.columns]
    return (df.duplicated(subset=cols) if cols else df.duplicated()).to_numpy()


def upper_text(values: pd.Series, *, strip: bool = False) -> pd.Series:
    """``values.astype(str).str.upper()`` (``.str.strip()`` first when ``strip``), computed once per distinct
    value: alleles and test names have a handful of distinct values in 10^7 rows, where the per-row string
    methods cost ~2.5 s a million. Python-equal values of different types in one object column (``1`` and
    ``1.0``) take the text of the first seen; missing values keep their own (``None``, ``nan``)."""
    def edit(text: pd.Index) -> np.ndarray:
        return np.asarray((text.str.strip() if strip else text).str.upper(), dtype=object)

    codes, uniques = pd.factorize(values)            # missing values: code -1, their own text ('None', 'nan')
    out = edit(pd.Index(uniques, dtype=object).astype(str))[np.maximum(codes, 0)] if len(uniques) else \
        np.empty(len(values), dtype=object)
    missing = codes < 0
    if missing.any():
        out[missing] = edit(pd.Index(values[missing], dtype=object).astype(str))
    return pd.Series(out, index=values.index, name=values.name, dtype=object)
