"""LD of a fine-mapping region from the panel's hard calls, and the variants left out for want of it: a variant
without variation in the LD panel (monomorphic there, or no call) has no LD with its neighbours, so SuSiE would
take it for independent of them. Shared by ``edfgen finemap`` (:mod:`edfgen.commands.finemap`) and coloc-SuSiE
(:mod:`edfgen.commands.coloc`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from edfgen.kernels.ldscore import standardise

log = logging.getLogger(__name__)


def region_ld(panel, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LD (correlation) matrix of panel rows from hard calls (missing calls at the mean), and which rows vary.

    Parameters
    ----------
    panel : GenotypePanel
        Open LD panel.
    rows : int array [p]
        Panel rows of the region's variants.

    Returns
    -------
    tuple of (array [p, p], bool array [p])
        Correlations (0 off the diagonal for a variant without variation: :func:`varying_only`); which vary.
    """
    x, _, poly = standardise(panel.read(rows))
    r = x.T @ x / x.shape[0]
    r[~poly, :] = 0.0
    r[:, ~poly] = 0.0
    r[np.diag_indices_from(r)] = 1.0
    return r, poly


def strongest(t: pd.DataFrame, z: dict[str, str], lead_bp: float | None = None) -> str:
    """The row of ``t`` with the largest ``|z|`` (over the columns of ``z``: label -> column), as a warning names
    it: ``"rs1 (z = 6.65 t1, 10.3 t2; at the locus lead's position)"``, when at ``lead_bp``.

    Parameters
    ----------
    t : DataFrame
        Rows (``variant_id``, ``base_pair_location`` and the z columns); at least one.
    z : dict of str to str
        Label (a phenotype) -> z-score column of ``t``.
    lead_bp : float, optional
        The locus lead's position (``loci.tsv`` ``base_pair_location``).

    Returns
    -------
    str
    """
    zs = t[list(z.values())].to_numpy(np.float64)
    i = int(np.nanargmax(np.nan_to_num(np.abs(zs), nan=-1.0).max(axis=1)))
    lead = lead_bp is not None and float(t["base_pair_location"].iloc[i]) == float(lead_bp)
    vals = ", ".join(f"{zs[i, k]:.3g}" + (f" {label}" if label else "") for k, label in enumerate(z))
    at = "; at the locus lead's position" if lead else ""      # (by position: another allele there would say so too)
    return f"{t['variant_id'].iloc[i]} (z = {vals}{at})"


def varying_only(t: pd.DataFrame, R: np.ndarray, poly: np.ndarray, where: str | None, *,
                 z: dict[str, str] | None = None, lead_bp: float | None = None,
                 scope: str = "", new: np.ndarray | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows of ``t`` and ``R`` that vary in the LD panel; the others (LD unknown: SuSiE would take each for
    independent of its neighbours) are left out, as variants the panel lacks are, in a warning (``where``: its
    prefix) that names the strongest of them (:func:`strongest`), which may be the locus lead.

    Parameters
    ----------
    t : DataFrame
        The region's rows, in the order of ``R``.
    R : array [p, p]
        Their LD matrix (:func:`region_ld`).
    poly : bool array [p]
        Which of them vary in the panel.
    where : str or None
        Prefix of the warning; None: no warning.
    z : dict of str to str, optional
        Label -> z column of the variants' z-scores in the warning; default ``{"": "z"}``.
    lead_bp : float, optional
        The locus lead's position, so that the warning says when the lead is left out.
    scope : str, default ""
        Text after "left out" (e.g. "of the SuSiE fits of every pair at this locus").
    new : bool array [p], optional
        Which rows an earlier warning has not named (coloc: another pair at the same locus): the warning counts
        and names only the left-out ones among them, and says how many others it leaves out; default every row.

    Returns
    -------
    tuple of (DataFrame, array)
        The varying rows (index reset) and their LD matrix.
    """
    if poly.all():
        return t, R
    fresh = ~poly if new is None else ~poly & np.asarray(new, dtype=bool)
    if where is not None and fresh.any():
        before = int((~poly).sum() - fresh.sum())
        log.warning("%s: %d variant(s) without variation in the LD panel (monomorphic there, or no call) left out%s%s; "
                    "the strongest: %s", where, int(fresh.sum()), f" {scope}" if scope else "",
                    f" (and the {before} named in an earlier warning)" if before else "",
                    strongest(t[fresh], z or {"": "z"}, lead_bp))
    return t[poly].reset_index(drop=True), R[np.ix_(poly, poly)]
