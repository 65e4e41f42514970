"""Harmonise exposure and outcome summary statistics to the exposure's effect allele.

A vectorised port of TwoSampleMR's ``harmonise_data`` (``harmonise_22``: both data sets give
effect and other allele), with its three actions:

``forward`` (action 1)
    Assume both data sets are on the forward strand: swap alleles where needed, flip strands of
    non-palindromic variants, drop incompatible alleles; palindromes are kept as reported.
``infer`` (action 2, default)
    As ``forward``, and palindromic variants (A/T, C/G) whose effect-allele frequencies lie on
    opposite sides of 0.5 are flipped; palindromes with a frequency strictly inside
    ``(maf_threshold, 1 - maf_threshold)`` in either data set (or missing) are dropped.
``drop`` (action 3)
    Drop every palindromic variant.

Every exposure variant gets one row with ``mr_keep`` and a ``reason``:
``kept``, ``proxy_used``, ``missing_in_outcome``, ``incompatible_alleles``, ``palindromic``
(action 3), ``palindromic_ambiguous_maf`` (action 2), ``palindromic_proxy_ambiguous`` (an A/T or C/G LD proxy
whose strand cannot be inferred, :func:`find_proxies`), ``missing_estimate`` (NA beta or SE),
``duplicated_in_outcome`` (the instrument's allele pair on several outcome rows that differ: none of them picked;
rows repeated whole are used once).

References
----------
Hemani G et al. (2018) eLife 7:e34408, doi:10.7554/eLife.34408 (TwoSampleMR ``harmonise_data``).
Hartwig FP et al. (2016) Int J Epidemiol 45:1717, doi:10.1093/ije/dyx028 (palindromic SNPs).
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.kernels.alleles import COMPLEMENT, repeated_rows, variant_allele_codes, variant_allele_keys
from edfgen.kernels.ld import r2_vector

log = logging.getLogger(__name__)

ACTIONS = {"forward": 1, "infer": 2, "drop": 3}

#: columns of the harmonised table, in order
HARMONISED_COLUMNS = [
    "exposure", "outcome", "variant_id", "effect_allele", "other_allele",
    "effect_allele_outcome", "other_allele_outcome",
    "beta_exposure", "se_exposure", "p_exposure", "eaf_exposure", "n_exposure",
    "beta_outcome", "se_outcome", "p_outcome", "eaf_outcome", "n_outcome",
    "palindromic", "ambiguous", "proxy_variant", "proxy_r2", "f_stat", "mr_keep", "reason",
]


def _flip(a: np.ndarray) -> np.ndarray:
    return np.array([str(x).translate(COMPLEMENT).upper() for x in a], dtype=object)


def _palindromic(a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
    return (((a1 == "A") & (a2 == "T")) | ((a1 == "T") & (a2 == "A"))
            | ((a1 == "G") & (a2 == "C")) | ((a1 == "C") & (a2 == "G")))


def _strlen(a: np.ndarray) -> np.ndarray:
    return np.fromiter((len(x) for x in a), dtype=np.int64, count=len(a))


def _recode_indels(A1, A2, B1, B2):
    """TwoSampleMR ``recode_indels_22``: translate I/D coding to the other data set's sequences."""
    A1, A2, B1, B2 = (x.copy() for x in (A1, A2, B1, B2))
    nA1, nA2, nB1, nB2 = (_strlen(x) for x in (A1, A2, B1, B2))
    oA1, oA2, oB1, oB2 = A1.copy(), A2.copy(), B1.copy(), B2.copy()
    for cond, (t1, t2) in [((nA1 > nA2) & (oB1 == "I") & (oB2 == "D"), (oA1, oA2)),
                           ((nA1 < nA2) & (oB1 == "I") & (oB2 == "D"), (oA2, oA1)),
                           ((nA1 > nA2) & (oB1 == "D") & (oB2 == "I"), (oA2, oA1)),
                           ((nA1 < nA2) & (oB1 == "D") & (oB2 == "I"), (oA1, oA2))]:
        B1[cond], B2[cond] = t1[cond], t2[cond]
    for cond, (t1, t2) in [((nB1 > nB2) & (oA1 == "I") & (oA2 == "D"), (oB1, oB2)),
                           ((nB1 < nB2) & (oA1 == "I") & (oA2 == "D"), (oB2, oB1)),
                           ((nB1 > nB2) & (oA1 == "D") & (oA2 == "I"), (oB2, oB1)),
                           ((nB1 < nB2) & (oA1 == "D") & (oA2 == "I"), (oB1, oB2))]:
        A1[cond], A2[cond] = t1[cond], t2[cond]
    di_b = (oB1 == "D") | (oB1 == "I")
    di_a = (oA1 == "D") | (oA1 == "I")
    keep = ~(((nA1 > 1) & (nA1 == nA2) & di_b) | ((nB1 > 1) & (nB1 == nB2) & di_a) | (A1 == A2) | (B1 == B2))
    return A1, A2, B1, B2, keep


def _upper(x) -> np.ndarray:
    return np.array([str(v).upper() for v in np.asarray(x, dtype=object)], dtype=object)


def harmonise_alleles(A1, A2, B1, B2, beta_b, f_a, f_b, *, action: int = 2, tolerance: float = 0.08):
    """Kernel of TwoSampleMR ``harmonise_22`` on aligned per-variant arrays.

    Parameters
    ----------
    A1, A2 : [k] str
        Exposure effect / other allele.
    B1, B2 : [k] str
        Outcome effect / other allele.
    beta_b : [k] float
        Outcome effect of ``B1``.
    f_a, f_b : [k] float
        Effect-allele frequencies (NaN when missing).
    action : {1, 2, 3}
    tolerance : float
        Palindromes with a frequency in ``(0.5 - tolerance, 0.5 + tolerance)`` are ambiguous
        (``--maf-threshold 0.42`` is tolerance 0.08).

    Returns
    -------
    dict of arrays: ``B1, B2, beta_b, f_b`` (aligned to ``A1``), ``remove``, ``palindromic``,
    ``ambiguous``, ``mr_keep``.
    """
    if action not in (1, 2, 3):
        raise InputError(f"harmonise: action must be 1, 2 or 3 (got {action!r})")
    A1, A2, B1, B2 = _upper(A1), _upper(A2), _upper(B1), _upper(B2)
    beta_b = np.asarray(beta_b, dtype=float).copy()
    f_a = np.asarray(f_a, dtype=float).copy()
    f_b = np.asarray(f_b, dtype=float).copy()

    indel = (_strlen(A1) > 1) | (_strlen(A2) > 1) | (A1 == "D") | (A1 == "I")
    indel_drop = np.zeros(len(A1), bool)
    if indel.any():
        a1, a2, b1, b2, keep = _recode_indels(A1[indel], A2[indel], B1[indel], B2[indel])
        A1[indel], A2[indel], B1[indel], B2[indel] = a1, a2, b1, b2
        indel_drop[indel] = ~keep

    def swap(mask):
        B1[mask], B2[mask] = B2[mask].copy(), B1[mask].copy()
        beta_b[mask] *= -1
        f_b[mask] = 1 - f_b[mask]

    swap((A1 == B2) & (A2 == B1))
    pal = _palindromic(A1, A2)
    i = ~pal & ~((A1 == B1) & (A2 == B2))  # not palindromic and not matching: try the other strand
    B1[i], B2[i] = _flip(B1[i]), _flip(B2[i])
    i = ~pal & ~((A1 == B1) & (A2 == B2))
    swap(i & (A1 == B2) & (A2 == B1))
    remove = ~((A1 == B1) & (A2 == B2)) | indel_drop

    minf, maxf = 0.5 - tolerance, 0.5 + tolerance
    tfa = np.where(np.isnan(f_a), 0.5, f_a)
    tfb = np.where(np.isnan(f_b), 0.5, f_b)
    ambiguous = (((tfa > minf) & (tfa < maxf)) | ((tfb > minf) & (tfb < maxf))) & pal
    if action == 2:
        to_swap = (((tfa < 0.5) & (tfb > 0.5)) | ((tfa > 0.5) & (tfb < 0.5))) & pal & ~remove
        beta_b[to_swap] *= -1
        f_b[to_swap] = 1 - f_b[to_swap]
    if action == 3:
        mr_keep = ~(pal | remove | ambiguous)
    elif action == 2:
        mr_keep = ~(remove | ambiguous)
    else:
        mr_keep = ~remove
    return {"B1": B1, "B2": B2, "beta_b": beta_b, "f_b": f_b, "remove": remove,
            "palindromic": pal, "ambiguous": ambiguous, "mr_keep": mr_keep}


def _num(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df.columns:
        return np.full(len(df), np.nan)
    col = df[name]
    if isinstance(col.dtype, np.dtype) and col.dtype.kind in "fiu":   # numbers already (the readers'): no parse
        return col.to_numpy(float)
    return pd.to_numeric(col, errors="coerce").to_numpy(float)


def one_row_per_variant(df: pd.DataFrame, reference: pd.DataFrame | None = None, *, source: str = "") -> pd.DataFrame:
    """``df`` with one row per ``variant_id``, in its order.

    A variant id on several rows with different alleles is a multi-allelic site, one row per ALT allele (GWAS-VCF
    and split VCFs store it so; rows repeated on the MR columns are used once and an instrument whose rows disagree is
    left out, by :func:`edfgen.formats.sumstats.load_sumstats`, select_instruments and :func:`harmonise`). With
    ``reference`` (the exposure's instruments: :func:`harmonise` matches the outcome so) the row kept is the one whose alleles are the reference's for that
    id (either order, or their strand complements), else the id's first row (harmonisation then finds its alleles
    incompatible and drops it, as TwoSampleMR's first-row choice does); without it, the row with the smallest
    p-value (an exposure site's strongest allele; the first row without p-values).

    Parameters
    ----------
    df : DataFrame
        GWAS-SSF rows (``variant_id``, ``effect_allele``, ``other_allele``; optional ``p_value``).
    reference : DataFrame, optional
        The exposure's instruments (``variant_id``, ``effect_allele``, ``other_allele``) whose alleles pick the row.
    source : str, default ""
        Name of the input in the debug log.

    Returns
    -------
    DataFrame
        ``df``'s rows (same index, same order) less the repeats of a ``variant_id``; ``df`` itself when none.
    """
    dup = df["variant_id"].duplicated(keep=False).to_numpy()
    if not dup.any():
        return df
    multi = df[dup]
    order = np.arange(len(multi))
    if reference is not None:
        ref = reference.drop_duplicates("variant_id").set_index("variant_id").reindex(multi["variant_id"])
        ea, oa = multi["effect_allele"].astype(str).str.upper(), multi["other_allele"].astype(str).str.upper()
        ra = ref["effect_allele"].astype(str).str.upper().to_numpy()
        rb = ref["other_allele"].astype(str).str.upper().to_numpy()
        match = np.zeros(len(multi), dtype=bool)
        for a, b in ((ea, oa), (ea.str.translate(COMPLEMENT), oa.str.translate(COMPLEMENT))):
            a, b = a.to_numpy(), b.to_numpy()
            match |= ((a == ra) & (b == rb)) | ((a == rb) & (b == ra))
        rank = np.where(match, 0.0, 1.0)
    else:
        p = pd.to_numeric(multi["p_value"], errors="coerce") if "p_value" in multi.columns else None
        rank = np.zeros(len(multi)) if p is None else p.fillna(np.inf).to_numpy(float)
    pick = pd.DataFrame({"id": multi["variant_id"].to_numpy(), "rank": rank, "order": order})
    chosen = pick.sort_values(["id", "rank", "order"]).drop_duplicates("id")["order"].to_numpy()
    log.debug("%s%d variant id(s) on several rows with different alleles (multi-allelic sites): %s",
             f"{source}: " if source else "", multi["variant_id"].nunique(),
             "the row with the exposure's alleles used" if reference is not None else "the row with the smallest p used")
    keep = ~dup
    keep[np.flatnonzero(dup)[chosen]] = True
    return df[keep]


def harmonise(exposure: pd.DataFrame, outcome: pd.DataFrame, *, palindromes: str = "infer",
              maf_threshold: float = 0.42, exposure_name: str = "exposure", outcome_name: str = "outcome",
              proxies: pd.DataFrame | None = None) -> pd.DataFrame:
    """Harmonise exposure instruments with an outcome, one row per exposure variant.

    Parameters
    ----------
    exposure, outcome
        GWAS-SSF frames (``variant_id, effect_allele, other_allele, beta, standard_error``;
        optional ``p_value, effect_allele_frequency, n``). The exposure holds the instruments, one row each; an
        outcome variant on several rows with different alleles (a multi-allelic site) is matched by alleles.
    palindromes : {"infer", "forward", "drop"}
        TwoSampleMR action 2, 1 or 3 (see module docstring).
    maf_threshold : float
        Palindromes with a frequency in ``(maf_threshold, 1 - maf_threshold)`` (or missing) cannot
        be inferred (``infer`` drops them).
    exposure_name, outcome_name : str, default "exposure", "outcome"
        Names written to the ``exposure`` and ``outcome`` columns and used in error messages.
    proxies : DataFrame, optional
        Optional outcome rows standing in for missing instruments (from :func:`find_proxies`),
        already recoded to the target's id and alleles, with ``proxy_variant`` and ``proxy_r2``.

    Returns
    -------
    DataFrame with :data:`HARMONISED_COLUMNS`, in the exposure's variant order.

    References
    ----------
    Hemani G et al. (2018) eLife 7:e34408. doi:10.7554/eLife.34408 (TwoSampleMR ``harmonise_data``)
    """
    if palindromes not in ACTIONS:
        raise InputError(f"--palindromes {palindromes!r}: choose infer, forward or drop")
    if not 0 < maf_threshold <= 0.5:
        raise InputError(f"--maf-threshold {maf_threshold}: must be in (0, 0.5]")
    action = ACTIONS[palindromes]
    # never pick one of two rows silently: a variant repeated in the exposure is refused (select_instruments gives
    # one row per instrument); in the outcome, rows repeated whole are used once, and an instrument whose allele
    # pair is on several rows that differ is left out (duplicated_in_outcome); an outcome site on several rows with
    # different alleles (multi-allelic, one row per ALT allele) gives the row with the exposure's alleles
    dup = exposure["variant_id"].duplicated()
    if dup.any():
        raise InputError(f"harmonise: exposure {exposure_name!r} "
                         f"has variant {str(exposure.loc[dup, 'variant_id'].iloc[0])!r} more than once "
                         f"({int(dup.sum())} repeated rows); give one row per variant")
    duplicated = set()
    if outcome["variant_id"].duplicated().any():     # (ids each on one row cannot repeat: not keyed)
        again = repeated_rows(outcome)
        if again.any():
            log.info("%s: %d outcome row(s) repeat an earlier row whole: each used once", outcome_name,
                     int(again.sum()))
            outcome = outcome[~again]
        twice = variant_allele_codes(outcome).duplicated(keep=False).to_numpy()
        # keyed on the allele pair: a multi-allelic site's other rows (another ALT allele) stay usable
        duplicated = set(variant_allele_keys(outcome[twice]))
        outcome = outcome[~twice]
    exp, out = exposure, one_row_per_variant(outcome, reference=exposure, source=outcome_name)
    proxy_variant = np.full(len(out), None, dtype=object)
    proxy_r2 = np.full(len(out), np.nan)
    proxy_reason = np.full(len(out), None, dtype=object)
    if proxies is not None and len(proxies):
        prox = proxies[~proxies["variant_id"].isin(out["variant_id"])]
        proxy_variant = np.concatenate([proxy_variant, prox["proxy_variant"].to_numpy(object)])
        proxy_r2 = np.concatenate([proxy_r2, prox["proxy_r2"].to_numpy(float)])
        why = prox["proxy_reason"] if "proxy_reason" in prox.columns else pd.Series(None, index=prox.index)
        proxy_reason = np.concatenate([proxy_reason, why.to_numpy(object)])
        out = pd.concat([out, prox[[c for c in prox.columns if c in out.columns]]], ignore_index=True)
    pos = pd.Index(out["variant_id"]).get_indexer(exp["variant_id"])
    present = pos >= 0
    k = len(exp)

    def take(values, fill):
        values = np.asarray(values)
        res = np.full(k, fill, dtype=values.dtype if fill is not None else object)
        res[present] = values[pos[present]]
        return res

    ea_o = take(out["effect_allele"].to_numpy(object), None)
    oa_o = take(out["other_allele"].to_numpy(object), None)
    cols = {
        "exposure": exposure_name, "outcome": outcome_name,
        "variant_id": exp["variant_id"].to_numpy(object),
        "effect_allele": _upper(exp["effect_allele"]), "other_allele": _upper(exp["other_allele"]),
        "beta_exposure": _num(exp, "beta"), "se_exposure": _num(exp, "standard_error"),
        "p_exposure": _num(exp, "p_value"), "eaf_exposure": _num(exp, "effect_allele_frequency"),
        "n_exposure": _num(exp, "n"),
        "beta_outcome": take(_num(out, "beta"), np.nan), "se_outcome": take(_num(out, "standard_error"), np.nan),
        "p_outcome": take(_num(out, "p_value"), np.nan),
        "eaf_outcome": take(_num(out, "effect_allele_frequency"), np.nan), "n_outcome": take(_num(out, "n"), np.nan),
        "palindromic": np.zeros(k, bool), "ambiguous": np.zeros(k, bool),
        "proxy_variant": take(proxy_variant, None), "proxy_r2": take(proxy_r2, np.nan),
    }
    cols["f_stat"] = (cols["beta_exposure"] / cols["se_exposure"]) ** 2
    mr_keep = np.zeros(k, bool)
    reason = np.full(k, "missing_in_outcome", dtype=object)
    if present.any():
        p = present
        h = harmonise_alleles(cols["effect_allele"][p], cols["other_allele"][p], ea_o[p], oa_o[p],
                              cols["beta_outcome"][p], cols["eaf_exposure"][p], cols["eaf_outcome"][p],
                              # rounded: 0.5 - 0.42 is 0.08000000000000002, which made eaf 0.58 ambiguous
                              # (TwoSampleMR's tolerance 0.08 keeps it; 0.42 was kept on the other side)
                              action=action, tolerance=round(0.5 - maf_threshold, 12))
        ea_o[p], oa_o[p] = h["B1"], h["B2"]
        cols["beta_outcome"][p], cols["eaf_outcome"][p] = h["beta_b"], h["f_b"]
        cols["palindromic"][p], cols["ambiguous"][p] = h["palindromic"], h["ambiguous"]
        finite = np.isfinite(np.column_stack([cols["beta_exposure"][p], cols["se_exposure"][p],
                                              cols["beta_outcome"][p], cols["se_outcome"][p]])).all(1)
        mr_keep[p] = h["mr_keep"] & finite
        r = np.where(h["remove"], "incompatible_alleles",
                     np.where(h["palindromic"] & (action == 3), "palindromic",
                              np.where(h["ambiguous"] & (action == 2), "palindromic_ambiguous_maf",
                                       np.where(~finite, "missing_estimate", "kept")))).astype(object)
        r[(r == "kept") & (cols["proxy_variant"][p] != None)] = "proxy_used"  # noqa: E711 (elementwise)
        why = take(proxy_reason, None)[p]          # a proxy whose strand cannot be inferred (find_proxies)
        unusable = pd.notna(why).astype(bool)
        r[unusable] = why[unusable]
        mr_keep[np.flatnonzero(p)[unusable]] = False
        reason[p] = r
    if duplicated:       # repeated in the outcome with other values: no row of it used, said by its reason
        gone = variant_allele_keys(exp).isin(duplicated).to_numpy()
        reason[gone], mr_keep[gone] = "duplicated_in_outcome", False
    cols["effect_allele_outcome"], cols["other_allele_outcome"] = ea_o, oa_o
    cols["mr_keep"], cols["reason"] = mr_keep, reason
    res = pd.DataFrame({c: cols[c] for c in HARMONISED_COLUMNS})
    log.debug("harmonised %s -> %s: %d instruments, %d kept", exposure_name, outcome_name, k, int(mr_keep.sum()))
    return res


#: an A/T or C/G proxy with a MAF at or above this cannot be put on the panel's strand by frequency
#: (TwoSampleMR ``extract_outcome_data(maf_threshold = 0.3)``)
PROXY_PALINDROME_MAF = 0.3


def palindromic_proxy_strand(ea: str, eaf: float, f_a1: float, a1: str, *,
                             maf_threshold: float = PROXY_PALINDROME_MAF) -> tuple[str, str | None]:
    """The panel allele that an A/T or C/G proxy's outcome effect allele stands for, by allele frequency.

    Parameters
    ----------
    ea : str
        The outcome's effect allele as given (one of the panel's two alleles, on either strand).
    eaf : float
        The outcome's frequency of ``ea`` (NaN: not known).
    f_a1 : float
        The panel's frequency of its allele ``a1``.
    a1 : str
        The panel's counted allele.
    maf_threshold : float
        Frequencies with a minor allele frequency at or above this are too close to 0.5 to tell the strand.

    Returns
    -------
    (str, str or None)
        ``ea`` where the frequencies agree (forward strand), its complement where they are opposite (the other
        strand), and ``None``, or ``"palindromic_proxy_ambiguous"`` where the strand cannot be inferred.
    """
    f_ea = f_a1 if ea == a1 else 1 - f_a1
    if not (np.isfinite(eaf) and np.isfinite(f_ea)) or min(eaf, 1 - eaf, f_ea, 1 - f_ea) >= maf_threshold:
        return ea, "palindromic_proxy_ambiguous"
    return (ea if (eaf > 0.5) == (f_ea > 0.5) else ea.translate(COMPLEMENT)), None


def _proxy_row(outcome: pd.DataFrame, out_row: pd.Series, rows_of: dict, v, *, target: int, proxy: int, r: float,
               proxy_counts: np.ndarray, palindrome_maf: float) -> pd.Series | None:
    """The outcome row of panel variant ``proxy`` recoded to instrument ``target`` (see :func:`find_proxies`).

    Parameters
    ----------
    outcome, out_row, rows_of
        The outcome frame, its row by variant id, and the rows of each multi-allelic id.
    v
        The panel's variant table.
    target, proxy : int
        Panel rows of the instrument and of the candidate proxy.
    r : float
        Signed r² of the two (sign of r).
    proxy_counts : ndarray
        The proxy's allele counts in the panel (negative = missing), for an A/T or C/G proxy's strand.
    palindrome_maf : float
        An A/T or C/G proxy of minor allele frequency at or above this has ``proxy_reason``
        ``palindromic_proxy_ambiguous``.

    Returns
    -------
    Series or None
        The recoded row with ``proxy_variant``, ``proxy_r2`` and ``proxy_reason``; ``None`` where no outcome row
        has the proxy's panel alleles.
    """
    pid = str(v.variant_id[proxy])
    pa1, pa2 = str(v.allele1[proxy]).upper(), str(v.allele2[proxy]).upper()
    ta1, ta2 = str(v.allele1[target]).upper(), str(v.allele2[target]).upper()
    # the outcome row whose two alleles are the panel's (as they are, or both complemented: the other strand)
    pick = None
    for k in rows_of.get(pid, [int(out_row[pid])]):
        ea, oa = str(outcome["effect_allele"].iloc[k]).upper(), str(outcome["other_allele"].iloc[k]).upper()
        for a, b in ((ea, oa), (ea.translate(COMPLEMENT), oa.translate(COMPLEMENT))):
            if {a, b} == {pa1, pa2} and pick is None:
                pick = (k, a)
    if pick is None:
        return None
    orow, ea = outcome.iloc[pick[0]].copy(), pick[1]
    orow["proxy_reason"] = None
    if pa1 == pa2.translate(COMPLEMENT):     # A/T or C/G: the outcome's strand is not in its alleles
        gp = proxy_counts
        f_a1 = float(gp[gp >= 0].mean() / 2) if (gp >= 0).any() else float("nan")
        eaf = float(pd.to_numeric(pd.Series([orow.get("effect_allele_frequency")]), errors="coerce").iloc[0])
        ea, orow["proxy_reason"] = palindromic_proxy_strand(ea, eaf, f_a1, pa1, maf_threshold=palindrome_maf)
    same = (ea == pa1) == (r > 0)
    orow["effect_allele"], orow["other_allele"] = (ta1, ta2) if same else (ta2, ta1)
    orow["variant_id"] = str(v.variant_id[target])
    orow["proxy_variant"] = pid
    orow["proxy_r2"] = abs(r)
    return orow


def find_proxies(missing: list[str], outcome: pd.DataFrame, variants, genotypes: Callable[[np.ndarray], np.ndarray],
                 *, r2_min: float = 0.8, window_kb: float = 500.0,
                 palindrome_maf: float = PROXY_PALINDROME_MAF) -> pd.DataFrame:
    """LD proxies in ``outcome`` for instruments absent from it, from an LD reference panel.

    For each missing variant, the outcome variants on the same chromosome within ``window_kb`` of it
    in the panel are correlated with it (Pearson r of allele counts over samples observed at both);
    of those with r² >= ``r2_min``, by decreasing r², the first usable one is taken: an outcome row with its
    panel alleles, and, for an A/T or C/G proxy, a strand inferable from its frequency. Its outcome row is recoded to the target:
    the proxy's allele that travels with the target's bim A1 (by the sign of r) becomes the target's
    A1. Frequencies are kept as reported for the proxy (an approximation). An A/T or C/G proxy's strand is
    inferred from its frequency as TwoSampleMR's ``extract_outcome_data(maf_threshold = 0.3)`` does
    (:func:`palindromic_proxy_strand`); where no candidate is usable but such an ambiguous one, its row has
    ``proxy_reason`` ``palindromic_proxy_ambiguous`` (:func:`harmonise` does not use it).

    Parameters
    ----------
    missing
        Instrument ids not found in the outcome.
    outcome
        GWAS-SSF outcome frame (full summary statistics).
    variants
        The panel's variant table (``variant_id``, ``chromosome``, ``position``, ``allele1``,
        ``allele2`` arrays and ``rows_by_id``, as :attr:`edfgen.formats.genotypes.panel.GenotypePanel.variants`),
        with variant ids matching the summary statistics.
    genotypes
        ``genotypes(rows [k]) -> int8 [n, k]``: allele counts of panel rows (negative = missing), e.g.
        :meth:`~edfgen.formats.genotypes.panel.GenotypePanel.read` of a panel opened with ``founders_only=False``
        (LD from every sample); the caller opens it once for many outcomes.
    r2_min : float, default 0.8
        Least r² of a proxy with the instrument (TwoSampleMR ``rsq``).
    window_kb : float, default 500
        Largest distance (kb) between instrument and proxy.
    palindrome_maf : float, default 0.3
        An A/T or C/G proxy with a minor allele frequency (panel or outcome) at or above this is not used.

    Returns
    -------
    DataFrame of outcome rows (``variant_id`` = target id) with ``proxy_variant``, ``proxy_r2`` and
    ``proxy_reason`` (None, or why the proxy is not used).

    References
    ----------
    Hemani G et al. (2018) eLife 7:e34408 (TwoSampleMR ``extract_outcome_data(proxies=TRUE)``, rsq = 0.8).
    """
    cols = list(outcome.columns) + ["proxy_variant", "proxy_r2", "proxy_reason"]
    if not missing:
        return pd.DataFrame(columns=cols)
    v = variants
    out_ids = outcome["variant_id"].astype(str)
    out_row = pd.Series(np.arange(len(outcome)), index=pd.Index(out_ids))
    # a multi-allelic site stored one row per ALT allele: all its rows, to pick the one with the panel's alleles
    multi = out_ids.duplicated(keep=False).to_numpy()
    rows_of = pd.Series(np.flatnonzero(multi)).groupby(out_ids[multi].to_numpy()).apply(list).to_dict() \
        if multi.any() else {}
    out_row = out_row[~out_row.index.duplicated()]
    # a hash join (np.isin on string ids compares every pair: ~4 CPU-s at 10k x 10k ids, hours at 1M)
    in_out = pd.Index(v.variant_id).isin(out_row.index)
    rows = []
    for vid in missing:
        i = v.rows_by_id.get(vid)
        if i is None:
            continue
        cand = np.flatnonzero(in_out & (v.chromosome == v.chromosome[i])
                              & (np.abs(v.position - v.position[i]) <= window_kb * 1000))
        cand = cand[cand != i]
        if cand.size == 0:
            continue
        g = genotypes(np.r_[i, cand])
        r2, ok = r2_vector(g[:, 0], g[:, 1:], method="corr")      # signed: sign(r) * r²
        r2 = np.where(ok, r2, 0.0)
        # the candidates by decreasing r²: the first usable one is taken (alleles in the outcome, strand known)
        found = None
        for j in np.argsort(-np.abs(r2), kind="stable"):
            if abs(r2[j]) < r2_min:
                break
            orow = _proxy_row(outcome, out_row, rows_of, v, target=i, proxy=int(cand[j]), r=float(r2[j]),
                              proxy_counts=g[:, 1 + j], palindrome_maf=palindrome_maf)
            if orow is None:
                continue
            if orow["proxy_reason"] is None:
                found = orow
                break
            found = orow if found is None else found   # ambiguous: said in harmonised.tsv if no usable one follows
        if found is not None:
            rows.append(found)
    unsure = sum(r["proxy_reason"] is not None for r in rows)
    log.info("proxies: %d of %d missing instruments replaced (r2 >= %s)%s", len(rows) - unsure, len(missing), r2_min,
             f"; {unsure} palindromic proxies of MAF >= {palindrome_maf:g} not used (strand not inferable)"
             if unsure else "")
    return pd.DataFrame(rows, columns=cols).reset_index(drop=True)
