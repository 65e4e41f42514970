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
from edfgen.kernels.alleles import variant_allele_keys

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
    # the same variant with the same alleles on two rows (either order or strand, the MR readers' rule):
    # conflicting copies, both left out (said); one id with different allele pairs (a multi-allelic site) stays,
    # each row matched by its alleles downstream
    twice = variant_allele_keys(df).duplicated(keep=False).to_numpy()
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
    """The rows of ``z.table`` whose key is in ``ids`` (LD-score SNP names, unique), with columns ``key`` and
    ``pos`` (its position in ``ids``): the key is ``variant_id``, or ``rsid`` when ``variant_id`` finds fewer than
    half of the rows and ``rsid`` more (``chr:pos:ref:alt`` ids against rsID-keyed LD scores); a key on several of
    those rows (a multi-allelic site: LD scores carry no alleles to tell them apart) is left out, with a warning.

    Returns
    -------
    ``(matching rows, the column used as key)``
    """
    t = z.table
    col = "variant_id"
    pos = ids.get_indexer(t["variant_id"].astype(object))
    if "rsid" in t.columns and (pos >= 0).mean() < 0.5:
        rs = t["rsid"].astype(object)
        rs_pos = np.where(rs.notna().to_numpy(), ids.get_indexer(rs), -1)
        if (rs_pos >= 0).sum() > (pos >= 0).sum():
            col, pos = "rsid", rs_pos
    hit = pos >= 0
    t = t[hit].assign(key=t[col].to_numpy(dtype=object)[hit], pos=pos[hit])
    many = t["pos"].duplicated(keep=False).to_numpy()
    if many.any():
        log.warning("%s: %d rows share a %s with another (multi-allelic sites, e.g. %s) and are left out: LD scores "
                    "carry no alleles to match them by", z.files[0], int(many.sum()), col, t["key"].to_numpy()[many][0])
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
