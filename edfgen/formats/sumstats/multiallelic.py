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
    one no row of the variant tests as ``A1``. A variant whose rows leave more than one untested (rows filtered out
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
    keys = [c for c in ("chromosome", "base_pair_location", "variant_id") if c in df.columns]
    rows = df.loc[multi, keys].astype(str).agg(":".join, axis=1)
    lists = df.loc[multi, "other_allele"].astype(str)
    for c in (ref, alt):
        if c is not None and c in df.columns:
            lists = lists + "," + df.loc[multi, c].astype(str)
    alleles = pd.DataFrame({"site": rows, "allele": lists.str.split(",")}).explode("allele")
    a1 = pd.DataFrame({"site": rows, "a1": df.loc[multi, "effect_allele"].astype(str)})
    untested = alleles[~(alleles["site"] + "\t" + alleles["allele"]).isin(set(a1["site"] + "\t" + a1["a1"]))]
    untested = untested.drop_duplicates().groupby("site")["allele"].agg(list)
    one = untested[untested.str.len() == 1].str[0]
    found = rows.map(one).to_numpy(dtype=object)
    done = pd.notna(found)
    idx = np.flatnonzero(multi)[done]
    df.loc[df.index[idx], "other_allele"] = found[done]
    left = int((~done).sum())
    if left:
        log.info("%s: %d multi-allelic row(s) whose omitted allele is not known (more than one allele of the variant "
                 "untested in the file): other_allele kept as the list", source or "file", left)
    return [f"other_allele of {int(done.sum())} multi-allelic row(s) = the variant's omitted allele (the one no row "
            "tests as A1)"] if done.any() else []
