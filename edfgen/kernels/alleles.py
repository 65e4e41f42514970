"""Alleles of summary statistics: strand complements and a variant's allele-pair key (numpy/pandas only, so the
readers of :mod:`edfgen.formats.sumstats` and the MR kernels share them without importing each other)."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: allele -> its strand complement (``str.translate``; lower case kept lower)
COMPLEMENT = str.maketrans("ACGTacgt", "TGCAtgca")


def variant_allele_keys(df: pd.DataFrame) -> pd.Series:
    """``variant_id`` and the unordered allele pair of each row, strand-free (``rs1 A/G`` for A/G, G/A, T/C and
    C/T): one variant whatever its effect allele or strand, while the rows of a multi-allelic site (one per ALT
    allele, as GWAS-VCF and split VCFs store it) differ.

    The pair's text is built once per distinct (effect, other) allele pair and spread to the rows by their codes
    (a genome-wide file has a few hundred distinct pairs): 4-5x less CPU than string operations on every row.
    """
    ea, oa = df["effect_allele"].astype(str), df["other_allele"].astype(str)
    ce, ue = pd.factorize(ea, sort=False)
    co, uo = pd.factorize(oa, sort=False)
    codes, pairs = pd.factorize(ce.astype(np.int64) * max(len(uo), 1) + co, sort=False)
    text = np.empty(len(pairs), dtype=object)
    for i, code in enumerate(pairs.tolist()):
        a, b = str(ue[code // max(len(uo), 1)]).upper(), str(uo[code % max(len(uo), 1)]).upper()
        fwd = "/".join(sorted((a, b)))
        rev = "/".join(sorted((a.translate(COMPLEMENT), b.translate(COMPLEMENT))))
        text[i] = min(fwd, rev)
    return df["variant_id"].astype(str) + " " + pd.Series(text[codes], index=df.index)


def variant_site_keys(df: pd.DataFrame) -> pd.Series:
    """:func:`variant_allele_keys` with ``chromosome:base_pair_location`` added when the frame has both: the
    rows of one rsID that dbSNP places at two positions (merged or multi-mapped rsIDs) are two variants, not a
    repeat; without positions the id and alleles alone key a row."""
    key = variant_allele_keys(df)
    if {"chromosome", "base_pair_location"} <= set(df.columns):
        key = key + " " + df["chromosome"].astype(str) + ":" + df["base_pair_location"].astype(str)
    return key
