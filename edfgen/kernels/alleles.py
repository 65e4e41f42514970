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
    allele, as GWAS-VCF and split VCFs store it) differ."""
    def pair(a: pd.Series, b: pd.Series) -> pd.Series:
        return pd.Series(np.where(a <= b, a + "/" + b, b + "/" + a), index=df.index)

    ea, oa = df["effect_allele"].astype(str).str.upper(), df["other_allele"].astype(str).str.upper()
    fwd, rev = pair(ea, oa), pair(ea.str.translate(COMPLEMENT), oa.str.translate(COMPLEMENT))
    return df["variant_id"].astype(str) + " " + fwd.where(fwd <= rev, rev)
