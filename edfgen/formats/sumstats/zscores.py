"""Per-phenotype z-scores for the summary-statistics methods (ldsc, finemap, coloc): files or folders in any
layout ``edfgen mr`` reads, one phenotype's per-chromosome files combined, ``z = beta / standard_error``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.sumstats.discovery import MR_REQUIRED, expand_sumstats, group_by_phenotype, read_phenotype_sumstats

log = logging.getLogger(__name__)

Z_OPTIONAL = ("chromosome", "base_pair_location", "n", "n_cases", "n_controls", "effect_allele_frequency",
              "p_value", "rsid")


@dataclass(frozen=True)
class ZStats:
    """One phenotype's summary statistics: ``table`` with ``variant_id, effect_allele, other_allele, beta,
    standard_error, z`` and whichever of :data:`Z_OPTIONAL` the files have (one row per variant id and allele
    pair: a multi-allelic site's rows, one per ALT under one id, are kept for matching by alleles; rows with a
    missing or non-positive standard error dropped); ``files`` read; ``binary`` when the files give
    case counts (``sample_prevalence`` = median ``n_cases / n``)."""

    phenotype: str
    table: pd.DataFrame
    files: tuple[Path, ...]
    sample_prevalence: float | None = None

    @property
    def binary(self) -> bool:
        return self.sample_prevalence is not None


def load_zstats(name: str, files: Sequence[Path], *, need_n: bool = False) -> ZStats:
    """Read one phenotype (:func:`read_phenotype_sumstats`), compute ``z``; an input error names the file."""
    df = read_phenotype_sumstats(list(files), required=MR_REQUIRED, optional=Z_OPTIONAL)
    df = pd.DataFrame({c: (df[c].to_numpy(object) if df[c].dtype.kind not in "fiub" else df[c].to_numpy())
                       for c in df.columns})
    for c in ("beta", "standard_error", "n", "n_cases", "n_controls", "effect_allele_frequency"):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    df["variant_id"] = df["variant_id"].astype(str)
    df["effect_allele"] = df["effect_allele"].astype(str).str.upper()
    df["other_allele"] = df["other_allele"].astype(str).str.upper()
    ok = df["standard_error"].gt(0) & df["beta"].notna()
    df = df[ok].reset_index(drop=True)
    # the same variant with the same alleles on two rows: conflicting copies, both left out (said); one id
    # with different allele pairs (a multi-allelic site) stays, each row matched by its alleles downstream
    e, o = df["effect_allele"], df["other_allele"]
    pair = e.where(e < o, o) + "/" + o.where(e < o, e)
    twice = pd.DataFrame({"id": df["variant_id"], "pair": pair}).duplicated(keep=False).to_numpy()
    if twice.any():
        log.warning("%s: %d rows repeat a variant with the same alleles (e.g. %s): conflicting copies left out",
                    files[0], int(twice.sum()), df["variant_id"].to_numpy()[twice][0])
        df = df[~twice].reset_index(drop=True)
    if df.empty:
        raise InputError(f"{files[0]}: no variant with a beta and a positive standard_error")
    df["z"] = df["beta"] / df["standard_error"]
    if need_n and ("n" not in df.columns or df["n"].isna().all()):
        if {"n_cases", "n_controls"} <= set(df.columns):
            df["n"] = df["n_cases"] + df["n_controls"]
        else:
            raise InputError(f"{files[0]}: no sample size column n (or n_cases + n_controls); LD score regression "
                             "needs the per-variant N")
    if need_n and df["n"].isna().any():
        bad = df.loc[df["n"].isna(), "variant_id"].iloc[0]
        raise InputError(f"{files[0]}: n missing for variant {bad!r}")
    prev = None
    if "n_cases" in df.columns and df["n_cases"].notna().any():
        tot = df["n"] if "n" in df.columns else df["n_cases"] + df.get("n_controls", np.nan)
        prev = float(np.nanmedian(df["n_cases"] / tot))
    return ZStats(name, df, tuple(Path(f) for f in files), prev)


def rows_by_id(z: ZStats, ids: pd.Index) -> tuple[pd.DataFrame, str]:
    """``z.table`` keyed to ``ids`` (LD-score SNP names): column ``key`` is ``variant_id``, or ``rsid`` when that
    names more of ``ids`` (``chr:pos:ref:alt`` ids against rsID-keyed LD scores); a key on several rows (a
    multi-allelic site: LD scores carry no alleles to tell them apart) is left out, with a warning.

    Returns
    -------
    ``(table with a unique key column, the column used)``
    """
    t = z.table
    col = "variant_id"
    if "rsid" in t.columns and t["rsid"].astype(str).isin(ids).sum() > t["variant_id"].isin(ids).sum():
        col = "rsid"
    t = t.assign(key=t[col].astype(str))
    many = t["key"].duplicated(keep=False).to_numpy()
    if many.any():
        log.warning("%s: %d %s values on several rows (multi-allelic sites, e.g. %s) left out: LD scores carry no "
                    "alleles to match them by", z.files[0], int(t["key"][many].nunique()), col,
                    t["key"].to_numpy()[many][0])
        t = t[~many]
    return t.reset_index(drop=True), col


def read_zstats(paths: Sequence[str | Path], option: str = "--sumstats", *,
                need_n: bool = False) -> dict[str, ZStats]:
    """Every phenotype of the files/folders ``paths`` (:func:`expand_sumstats` with the columns MR needs)."""
    paths = list(paths)
    if not paths:
        raise InputError(f"{option}: give at least one summary-statistics file or folder")
    files = expand_sumstats(paths, option, required=MR_REQUIRED)
    return {name: load_zstats(name, fs, need_n=need_n) for name, fs in group_by_phenotype(files).items()}
