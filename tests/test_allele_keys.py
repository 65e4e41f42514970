"""``variant_allele_keys`` (built per distinct allele pair) against a row-by-row reference of its definition, and
the integer codes (``variant_allele_codes``, ``variant_site_codes``, ``combined_codes``) against the text keys."""

import numpy as np
import pandas as pd

from edfgen.kernels.alleles import (combined_codes, text_codes, upper_text, variant_allele_codes, variant_allele_keys,
                                    variant_site_codes, variant_site_keys)

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


def _same_partition(codes, keys) -> bool:
    """Two per-row labellings group the rows identically (equal codes exactly where the keys are equal)."""
    a, b = pd.factorize(pd.Series(np.asarray(codes)))[0], pd.factorize(pd.Series(np.asarray(keys, dtype=object)))[0]
    return bool(np.array_equal(pd.factorize(a * (b.max() + 1) + b)[0], a)
                and np.array_equal(pd.factorize(b * (a.max() + 1) + a)[0], b))


def test_codes_group_rows_exactly_as_the_text_keys():
    """combine_phenotype and the MR/ldsc readers find repeats by integer codes (text keys of ~10^7 rows cost
    minutes); the codes must group the rows as the keys do: strand flips and swapped alleles alike, multi-allelic
    rows apart, an rsID at two positions apart, chromosome 1 given as text and as a number alike."""
    rng = np.random.default_rng(11)
    alleles = np.array(["A", "C", "G", "T", "a", "AT", "GCC", "N"], dtype=object)
    n = 4000
    chrom = np.array(["1", 1], dtype=object)[(rng.random(n) < 0.5).astype(int)]   # "1" and 1: one chromosome
    chrom[rng.random(n) < 0.2] = "2"
    df = pd.DataFrame({"variant_id": [f"rs{i}" for i in rng.integers(0, 300, n)],
                       "effect_allele": alleles[rng.integers(0, len(alleles), n)],
                       "other_allele": alleles[rng.integers(0, len(alleles), n)],
                       "chromosome": chrom, "base_pair_location": rng.integers(1, 4, n)},
                      index=rng.permutation(n) + 5)
    keys = variant_site_keys(df)
    assert keys.duplicated().sum() > 100 and keys.nunique() > 1000        # repeats and distinct rows both
    assert variant_site_codes(df).index.equals(df.index)
    assert _same_partition(variant_site_codes(df), keys)
    no_pos = df.drop(columns=["chromosome", "base_pair_location"])
    assert _same_partition(variant_allele_codes(no_pos), variant_allele_keys(no_pos))
    assert _same_partition(variant_site_codes(no_pos), variant_site_keys(no_pos))


def test_combined_codes_renumber_before_they_overflow():
    """Wide codes (e.g. positions up to 2.5e8 times ids up to 1e7 times allele pairs) are renumbered before the
    product leaves int64: the tuples (a, b, c) stay distinguished."""
    rng = np.random.default_rng(2)
    a, b, c = (rng.integers(0, hi, 5000) for hi in (2 ** 40, 2 ** 30, 3))
    a[:10], b[:10], c[:10] = a[10:20], b[10:20], c[10:20]                    # ten repeated tuples
    b[20] = 2 ** 30 - 1                     # b's width 2^30: a and a + 2^34 would wrap to one int64 product
    a[21], b[21], c[21] = a[22] + 2 ** 34, b[22], c[22]
    key = combined_codes(a, b, c)
    assert _same_partition(key, [f"{x}:{y}:{z}" for x, y, z in zip(a, b, c)])
    assert _same_partition(text_codes(pd.Series([1, "1", 2.0, "2.0", "x"], dtype=object)), ["1", "1", "2.0", "2.0", "x"])


def test_upper_text_per_distinct_value_equals_the_per_row_string_methods():
    """The readers upper-case alleles (and strip REGENIE's TEST) once per distinct value; missing values keep their
    own text ('None' from Arrow, 'nan' from pandas: a first version wrote both as 'NAN')."""
    rng = np.random.default_rng(4)
    values = np.array(["a", "C", "g", "AT", None, np.nan, " add ", "tT", 1.5], dtype=object)
    s = pd.Series(values[rng.integers(0, len(values), 20000)], index=rng.permutation(20000) + 7, name="ea")
    assert upper_text(s).equals(s.astype(str).str.upper())
    assert upper_text(s, strip=True).equals(s.astype(str).str.strip().str.upper())
    for other in (pd.Series([], dtype=object), pd.Series([None, np.nan]), pd.Series(["a", None], dtype="string")):
        assert upper_text(other).tolist() == other.astype(str).str.upper().tolist()
