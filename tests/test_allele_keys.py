"""``variant_allele_keys`` (built per distinct allele pair) against a row-by-row reference of its definition."""

import numpy as np
import pandas as pd

from edfgen.kernels.alleles import variant_allele_keys

FLIP = {"A": "T", "C": "G", "G": "C", "T": "A"}


def reference_key(vid, ea, oa) -> str:
    """The definition, one row at a time: the variant id and the smaller of the sorted allele pair on either
    strand (complementing A/C/G/T, other letters kept)."""
    a, b = str(ea).upper(), str(oa).upper()
    comp = ("".join(FLIP.get(c, c) for c in a), "".join(FLIP.get(c, c) for c in b))
    return f"{vid} " + min("/".join(sorted((a, b))), "/".join(sorted(comp)))


def test_keys_equal_the_row_by_row_definition():
    rng = np.random.default_rng(7)
    alleles = np.array(["A", "C", "G", "T", "a", "t", "AT", "GCC", "tta", "N", "<CN0>"], dtype=object)
    n = 3000
    df = pd.DataFrame({"variant_id": [f"rs{i % 1000}" for i in range(n)],
                       "effect_allele": alleles[rng.integers(0, len(alleles), n)],
                       "other_allele": alleles[rng.integers(0, len(alleles), n)]},
                      index=rng.permutation(n) + 10)
    df.loc[df.index[:5], "effect_allele"] = None
    got = variant_allele_keys(df)
    want = [reference_key(*row) for row in df[["variant_id", "effect_allele", "other_allele"]].itertuples(index=False)]
    assert got.index.equals(df.index)
    assert got.tolist() == want


def test_one_variant_whatever_the_effect_allele_or_strand_and_multiallelic_rows_differ():
    df = pd.DataFrame({"variant_id": ["rs1"] * 4 + ["rs2", "rs2"],
                       "effect_allele": ["A", "G", "T", "c", "A", "A"],
                       "other_allele": ["G", "A", "C", "t", "C", "G"]})
    keys = variant_allele_keys(df)
    assert keys.iloc[:4].nunique() == 1 and keys.iloc[0] == "rs1 A/G"
    assert keys.iloc[4] != keys.iloc[5]
    assert variant_allele_keys(df.iloc[:0]).empty
