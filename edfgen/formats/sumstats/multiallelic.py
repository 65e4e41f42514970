"""plink2 ``--glm`` rows of multi-allelic variants: the allele each row's effect is measured against.

plink2 fits one regression per multi-allelic variant with a predictor for every allele but one, the omitted allele
(the most common, unless ``omit-ref``), and writes one row per tested allele ``A1``: its beta is ``A1`` against the
omitted allele. Without the ``omitted`` column (not in plink2's default ``cols=``) the other allele read from
``REF``/``ALT`` or ``AX`` is a list (``C,A``), which matches no other study's alleles.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


def omitted_alleles(df: pd.DataFrame, ref: str | None = None, alt: str | None = None, source: str = "") -> list[str]:
    """Set ``other_allele`` of a plink2 ``--glm`` file's multi-allelic rows (a comma in it) to the variant's
    omitted allele: of the variant's alleles (``ref``, the ``alt`` list, each row's ``A1`` and other alleles), the
    one no row of the variant tests as ``A1``. A variant is its rows of one chromosome, position, id and allele set
    (plink2 writes ID ``.`` for every unnamed variant: an SNV and an indel at one position are two). A variant whose rows leave more than one untested (rows filtered out
    of the file) keeps its list (refused downstream as incompatible alleles). In place; returns a note.

    Parameters
    ----------
    df : DataFrame
        Rows with ``effect_allele`` (A1), ``other_allele`` and, as keys of a variant, ``chromosome``,
        ``base_pair_location`` and ``variant_id`` where present.
    ref, alt : str, optional
        The file's REF and ALT column names.
    source : str
        The file, for the log.

    Returns
    -------
    list of str
        One note for the mapping report, or none.
    """
    multi = df["other_allele"].astype(str).str.contains(",", regex=False).to_numpy()
    if not multi.any():
        return []
    m = df.loc[multi]
    lists = m["other_allele"].astype(str)
    for c in (ref, alt):
        if c is not None and c in df.columns:
            lists = lists + "," + m[c].astype(str)
    # each row's alleles (A1, its other alleles, REF, ALT): row number and allele code, each pair once
    split = (m["effect_allele"].astype(str) + "," + lists).str.split(",")
    per_row = split.str.len().to_numpy()
    row = np.repeat(np.arange(len(m)), per_row)
    code, names = pd.factorize(split.explode().to_numpy(dtype=object))
    names = np.asarray(names, dtype=object)
    pairs = pd.DataFrame({"row": row, "code": code}).drop_duplicates().to_numpy()
    # a site is chromosome, position, id AND the row's allele set (an order-free XOR of the alleles' hashes): plink2
    # writes ID '.' for unnamed variants, so two multi-allelic variants at one position (an SNV G>C,A and an indel
    # GT>G,GTT) were one site, the indel given the SNV's allele C
    h = pd.util.hash_array(names)[pairs[:, 1]]
    starts = np.flatnonzero(np.r_[True, pairs[1:, 0] != pairs[:-1, 0]])
    allele_set = np.bitwise_xor.reduceat(h, starts)
    keys = {c: m[c].astype(str).to_numpy() for c in ("chromosome", "base_pair_location", "variant_id")
            if c in df.columns}
    site = pd.DataFrame({**keys, "alleles": allele_set}).groupby(
        [*keys, "alleles"], sort=False, dropna=False).ngroup().to_numpy()
    # the alleles of each site that no row of the site tests as A1; a site with exactly one has it as omitted allele
    a1 = code[np.r_[0, np.cumsum(per_row)[:-1]]]       # each row's first allele is its A1
    n_codes = len(names)
    tested = site * n_codes + a1
    each = site[pairs[:, 0]] * n_codes + pairs[:, 1]
    untested = np.unique(each[~np.isin(each, tested)])
    u_site, u_code = untested // n_codes, untested % n_codes
    n_untested = np.bincount(u_site, minlength=site.max() + 1)
    omitted = np.full(site.max() + 1, -1)
    one = n_untested[u_site] == 1
    omitted[u_site[one]] = u_code[one]
    got = omitted[site]
    # the omitted allele is one of the row's own alleles (its site's alleles are the row's by the key; kept as a check)
    own = np.zeros(len(m), dtype=bool)
    hit = got[pairs[:, 0]] == pairs[:, 1]
    own[pairs[hit, 0]] = True
    done = (got >= 0) & own
    idx = np.flatnonzero(multi)[done]
    df.loc[df.index[idx], "other_allele"] = names[got[done]]
    left = int((~done).sum())
    if left:
        log.info("%s: %d multi-allelic row(s) whose omitted allele is not known (more than one allele of the variant "
                 "untested in the file): other_allele kept as the list", source or "file", left)
    return [f"other_allele of {int(done.sum())} multi-allelic row(s) = the variant's omitted allele (the one no row "
            "tests as A1)"] if done.any() else []
