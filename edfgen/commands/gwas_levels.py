"""The covariate design's columns over the analysed samples: a categorical covariate's reference level chosen
among them, and indicators constant there dropped (used by :func:`edfgen.commands.gwas_design.analysed_inputs`);
the columns of a table that may be default phenotypes or covariates (:func:`default_columns`)."""

from __future__ import annotations

import logging

import numpy as np

import pandas as pd

from edfgen.formats.tables import ID_ALIASES, some_names
from edfgen.kernels.covariates import constant_columns

log = logging.getLogger(__name__)


def reference_among_analysed(C: np.ndarray, names: list[str], levels_of: dict[str, list[str]]):
    """``(C, names)`` without, for each categorical covariate (``levels_of``: its levels, the first the
    reference, as the design built them on the whole table) whose reference level no analysed sample (row of
    ``C``) has, the indicator of its first level that one has: that level becomes the reference. The design fixed
    the reference on the whole table, so ``--keep``/``--remove`` leaving none of its samples gave indicators
    summing to the intercept and the run was refused, where plink2 runs (review s33b F4). The columns' span, hence
    every variant's statistics, is that of the levels present."""
    drop = []
    for c, levels in levels_of.items():
        cols = [names.index(f"{c}={lev}") for lev in levels[1:] if f"{c}={lev}" in names]
        block = C[:, cols]
        block = block[~np.isnan(block).any(axis=1)]
        if not cols or not len(block) or (block.sum(axis=1) == 0).any():
            continue                                    # the reference level is among the analysed samples
        first = cols[int(np.flatnonzero(block.any(axis=0))[0])]
        log.info("covariate %r: no analysed sample has its level %r: %r is the reference level", c, levels[0],
                 names[first].split("=", 1)[1])
        drop.append(first)
    keep = [j for j in range(C.shape[1]) if j not in drop]
    return C[:, keep], [names[j] for j in keep]


def drop_constant_indicators(C: np.ndarray, names: list[str], *, warn: bool = True):
    """Drop covariate columns that are constant in the analysed samples (e.g. a centre absent after QC), or
    constant apart from rounding (1.7 with one sample at 1.7 + 1 ulp: :func:`constant_columns`; standardized it
    was a one-person indicator), as plink2 ("Excluding constant covariate"); the first column (the intercept)
    is kept."""
    keep = np.ones(C.shape[1], dtype=bool)
    keep[1:] = ~constant_columns(C[:, 1:])
    dropped = [n for n, k in zip(names, keep) if not k]
    if dropped and warn:
        log.warning("covariate column(s) constant in the analysed samples, dropped: %s", some_names(dropped, 15))
    return C[:, keep], [n for n, k in zip(names, keep) if k]


def default_columns(table: pd.DataFrame, source: str, what: str) -> list:
    """The columns of ``table`` that may be its default ``what`` (phenotypes or covariates).

    All but the id ``IID``, PLINK's ``FID`` and the other participant-id columns a biobank exports beside it
    (:data:`~edfgen.formats.tables.ID_ALIASES`: ``participant.eid``, ``eid``, ``f.eid``, ``FINNGENID`` ...), which
    were run as a phenotype, and refused as a text covariate with the advice to give ``--categorical
    participant.eid`` (review s42geno). Those left out are logged in one line.

    Parameters
    ----------
    table : DataFrame
        A phenotype or covariate table read with ``id_column="IID"``.
    source : str
        Its file, for the log.
    what : str
        ``"phenotypes"`` or ``"covariates"``, for the log.

    Returns
    -------
    list
        The column names, in the table's order.
    """
    ids = [c for c in table.columns if c in ID_ALIASES and c != "IID"]
    if ids:
        log.info("%s: participant-id column(s) %s left out of the default %s (the id is IID)", source,
                 some_names(ids, 5), what)
    return [c for c in table.columns if c not in ("IID", "FID", "#FID", *ids)]
