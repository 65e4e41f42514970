"""MR inputs and outputs in TwoSampleMR's names: reading summary statistics in any layout or
TwoSampleMR's ``exposure_dat``/``outcome_dat`` exports (``SNP``, ``beta.exposure``,
``effect_allele.outcome``, ``eaf.outcome``, ``samplesize.outcome``, ...; the ``.exposure``/``.outcome``
suffixes are stripped), one phenotype from several files, instrument lists, and the column names
TwoSampleMR gives the tables ``edfgen mr`` writes."""

from __future__ import annotations

import logging
import re
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.sumstats.layout import ALIASES
from edfgen.formats.sumstats.read import read_header, read_sumstats
from edfgen.kernels.alleles import variant_allele_keys
from edfgen.formats.tables import PathLike, read_table

log = logging.getLogger(__name__)

#: the written tables use TwoSampleMR's column names (``harmonise_data``, ``mr_singlesnp``,
#: ``mr_leaveoneout``, ``directionality_test``), so R code written for TwoSampleMR reads them; the
#: in-memory tables of :class:`~edfgen.commands.mr.MRRun` keep the internal names (``variant_id``,
#: ``beta_exposure``, ...)
TWOSAMPLEMR_NAMES: dict[str, dict[str, str]] = {
    "harmonised": {
        "variant_id": "SNP", "effect_allele": "effect_allele.exposure", "other_allele": "other_allele.exposure",
        "effect_allele_outcome": "effect_allele.outcome", "other_allele_outcome": "other_allele.outcome",
        **{f"{k}_{side}": f"{v}.{side}" for side in ("exposure", "outcome")
           for k, v in (("beta", "beta"), ("se", "se"), ("p", "pval"), ("eaf", "eaf"), ("n", "samplesize"))},
        "proxy_variant": "proxy_snp.outcome", "proxy_r2": "proxy_r2.outcome", "f_stat": "F",
        "rsq_exposure": "rsq.exposure", "rsq_outcome": "rsq.outcome"},
    "mr_singlesnp": {"variant_id": "SNP", "pval": "p"},
    "mr_leaveoneout": {"excluded": "SNP", "pval": "p"},
    "mr_steiger": {"r2_exposure": "snp_r2.exposure", "r2_outcome": "snp_r2.outcome",
                   "r2_source_exposure": "r2_source.exposure", "r2_source_outcome": "r2_source.outcome",
                   "n_exposure": "samplesize.exposure", "n_outcome": "samplesize.outcome"},
}


def twosamplemr_columns(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with the column names TwoSampleMR gives ``table`` (those it has no name for are kept)."""
    return df.rename(columns=TWOSAMPLEMR_NAMES.get(table, {}))


def internal_columns(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Tables read back from ``edfgen mr``'s files carry TwoSampleMR's names (``SNP``,
    ``beta.exposure``, ``p``): map them back to the in-memory names (the inverse of :func:`twosamplemr_columns`)."""
    inverse = {v: k for k, v in TWOSAMPLEMR_NAMES[table].items() if v in df.columns and k not in df.columns}
    return df.rename(columns=inverse) if inverse else df


def twosamplemr_map(columns: Sequence[str]) -> dict[str, str]:
    """Column map for TwoSampleMR exports: ``beta.exposure`` -> ``beta``, ``pval.outcome`` -> ``p_value``."""
    cmap: dict[str, str] = {}
    used: set[str] = set()
    for c in columns:
        m = re.fullmatch(r"(.+)\.(exposure|outcome)", str(c))
        if not m:
            continue
        base = m.group(1).lower()
        canon = {"pval": "p_value", "samplesize": "n", "eaf": "effect_allele_frequency", "se": "standard_error",
                 "beta": "beta", "effect_allele": "effect_allele", "other_allele": "other_allele",
                 "chr": "chromosome", "pos": "base_pair_location", "ncase": "n_cases",
                 "ncontrol": "n_controls", "rsq": "variance_explained"}.get(base)
        if canon and canon not in used:
            cmap[c] = canon
            used.add(canon)
    return cmap


def load_sumstats(path: PathLike, columns: dict[str, str] | None = None) -> pd.DataFrame:
    """Read summary statistics in any layout :func:`edfgen.formats.sumstats.read_sumstats` recognises, or a
    TwoSampleMR export; log the column mapping. A variant id on two rows with the same alleles is an input error
    (which row would be the instrument?); on rows with different alleles (a multi-allelic site) it is kept.

    ``columns``: user mapping ``{input column: GWAS-SSF column}`` (``--columns``); entries naming a
    column this file does not have are skipped (one option serves exposure and outcome files)."""
    try:
        names = read_header(path)        # the header only: the file is read whole once, by read_sumstats
    except Exception:  # noqa: BLE001 - an unreadable file: read_table's one-line error names what is wrong
        names = list(read_table(path).columns)
    user = {k: v for k, v in (columns or {}).items() if k in names}
    cmap = {**twosamplemr_map([c for c in names if c not in user]), **user}
    if cmap:
        for c in names:  # plain columns that would collide with the mapped suffixed ones
            canon = ALIASES.get(str(c).lower())
            if c not in cmap and canon in cmap.values():
                cmap[c] = f"{c}_original"
    df, mapping = read_sumstats(path, column_map=cmap or None)
    log.debug(mapping.describe())
    df = df.loc[:, ~df.columns.duplicated()]
    # a variant id on several rows with different alleles is a multi-allelic site (one row per ALT allele, as
    # GWAS-VCF stores it): kept, matched by alleles (edfgen.kernels.mr.harmonise); the
    # same variant and alleles twice is a repeat: which row would be the instrument? never pick one silently
    key = variant_allele_keys(df)
    dup = key.duplicated(keep=False)
    if dup.any():
        first = str(df.loc[dup, "variant_id"].iloc[0])
        rows = [int(i) + 1 for i in np.flatnonzero((key == key[dup].iloc[0]).to_numpy())[:5]]
        raise InputError(f"{path}: variant {first!r} with the same alleles appears on rows "
                         f"{', '.join(map(str, rows))} ({int(key[dup].nunique())} variant(s) repeated); MR needs "
                         f"one row per variant: remove the repeats")
    multi = df["variant_id"].duplicated(keep=False)
    if multi.any():
        log.info("%s: %d variant id(s) on several rows with different alleles (multi-allelic sites, one row per "
                 "allele): each matched to the exposure by its alleles", path, int(df.loc[multi, "variant_id"].nunique()))
    return df


def read_instruments(path: PathLike) -> pd.DataFrame:
    """Read an instrument list (e.g. ``clumps.tsv``): a variant id column and optionally a
    ``phenotype`` (or ``trait``/``exposure``) column saying which exposure each variant instruments."""
    df = read_table(path)
    idcol = next((c for c in df.columns if ALIASES.get(str(c).lower()) in ("variant_id", "rsid")), None)
    if idcol is None:
        raise InputError(f"{path}: no variant id column (variant_id, SNP, ID or rsid) in instrument list")
    out = pd.DataFrame({"variant_id": df[idcol].astype(str)})
    phen = next((c for c in df.columns if str(c).lower() in ("phenotype", "trait", "exposure")), None)
    out["phenotype"] = df[phen].astype(str) if phen else pd.NA
    return out

