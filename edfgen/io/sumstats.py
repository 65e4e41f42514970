"""GWAS summary statistics in the GWAS-SSF layout (GWAS Catalog summary-statistics format).

One gzipped TSV per phenotype, ``<phenotype>.tsv.gz``, columns :data:`SSF_COLUMNS`, sorted by
chromosome and position. Readers accept common aliases (``SNP``, ``BETA``, ``SE``, ``P``,
``A1``/``A2``, ...) and report the mapping they used.

References
----------
Hayhurst J et al. (2022) "A community driven GWAS summary statistics standard",
bioRxiv doi:10.1101/2022.07.15.500230.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.io.tables import PathLike, read_table, write_table

log = logging.getLogger(__name__)

SSF_COLUMNS = [
    "chromosome", "base_pair_location", "effect_allele", "other_allele", "beta",
    "standard_error", "effect_allele_frequency", "p_value", "variant_id", "rsid", "n",
]

#: alias (lower-case) -> GWAS-SSF column
ALIASES: dict[str, str] = {}
for _canon, _names in {
    "chromosome": ["chromosome", "chr", "chrom", "#chrom", "chr_id", "chromosome_name"],
    "base_pair_location": ["base_pair_location", "pos", "bp", "position", "base_pair", "chr_pos", "genpos"],
    "effect_allele": ["effect_allele", "a1", "ea", "alt", "allele1", "effect_allele.exposure", "tested_allele"],
    "other_allele": ["other_allele", "a2", "oa", "ref", "allele2", "non_effect_allele", "nea", "other_allele.exposure"],
    "beta": ["beta", "b", "effect", "beta.exposure", "log_odds"],
    "standard_error": ["standard_error", "se", "stderr", "se.exposure", "log_odds_se"],
    "effect_allele_frequency": ["effect_allele_frequency", "eaf", "a1_freq", "freq", "af", "maf",
                                "eaf.exposure", "a1freq", "frq"],
    "p_value": ["p_value", "p", "pval", "pvalue", "p-value", "pval.exposure"],
    "variant_id": ["variant_id", "snp", "id", "markername", "snpid", "rsid_or_id"],
    "rsid": ["rsid", "rs_id", "rs"],
    "n": ["n", "obs_ct", "samplesize", "n_total", "samplesize.exposure"],
}.items():
    for _n in _names:
        ALIASES[_n] = _canon

CHROM_ORDER = {str(i): i for i in range(1, 23)} | {"X": 23, "Y": 24, "XY": 25, "MT": 26, "M": 26}


def chrom_key(chrom: pd.Series) -> pd.Series:
    """Sortable integer key for chromosome labels (``1``..``22``, ``X``, ``Y``, ``MT``; ``chr`` prefix ignored)."""
    c = chrom.astype(str).str.replace("^chr", "", regex=True).str.upper()
    return c.map(CHROM_ORDER).fillna(99).astype(int)


@dataclass(frozen=True)
class SumstatsMapping:
    """Which input column became which GWAS-SSF column."""

    path: str
    mapping: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        renamed = {k: v for k, v in self.mapping.items() if k != v}
        return f"{self.path}: columns mapped " + (", ".join(f"{k}->{v}" for k, v in renamed.items()) or "as GWAS-SSF")


def read_sumstats(path: PathLike, *, column_map: dict[str, str] | None = None,
                  required: tuple[str, ...] = ("variant_id", "effect_allele", "other_allele", "beta",
                                               "standard_error", "p_value"),
                  ) -> tuple[pd.DataFrame, SumstatsMapping]:
    """Read summary statistics, mapping aliases to GWAS-SSF names.

    Parameters
    ----------
    path
        TSV/CSV/parquet file (gzip allowed).
    column_map
        Explicit ``{input_column: ssf_column}`` overrides, applied before aliases.
    required
        GWAS-SSF columns that must be present after mapping.

    Returns
    -------
    (DataFrame, SumstatsMapping)
        Columns renamed to GWAS-SSF (other columns kept); alleles upper-cased;
        ``chromosome`` as string without ``chr`` prefix.
    """
    df = read_table(path)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    column_map = dict(column_map or {})
    for col in df.columns:
        if col in column_map:
            mapping[col] = column_map[col]
            taken.add(column_map[col])
    for col in df.columns:
        if col in mapping:
            continue
        canon = ALIASES.get(str(col).lower())
        if canon and canon not in taken:
            mapping[col] = canon
            taken.add(canon)
    df = df.rename(columns=mapping)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing summary-statistics column(s) {', '.join(missing)} "
                         f"(accepted aliases e.g. SNP, A1, A2, BETA, SE, P; has: {', '.join(map(str, df.columns[:15]))})")
    for a in ("effect_allele", "other_allele"):
        if a in df.columns:
            df[a] = df[a].astype(str).str.upper()
    if "chromosome" in df.columns:
        df["chromosome"] = df["chromosome"].astype(str).str.replace("^chr", "", regex=True)
    if "variant_id" in df.columns:
        df["variant_id"] = df["variant_id"].astype(str)
    check_sumstats_values(df, path, mapping)
    m = SumstatsMapping(str(path), {k: v for k, v in mapping.items()})
    log.debug(m.describe())
    return df, m


#: value rules of the numeric GWAS-SSF columns (missing values allowed): keyword arguments of
#: :func:`edfgen.io.validate.numeric_values`
VALUE_RULES: dict[str, dict] = {
    "beta": {},
    "standard_error": {"lo": 0.0, "lo_open": True},
    "p_value": {"lo": 0.0, "hi": 1.0},
    "effect_allele_frequency": {"lo": 0.0, "hi": 1.0},
    "n": {"lo": 0.0},
    "base_pair_location": {"lo": 0.0},
}


def check_sumstats_values(df: pd.DataFrame, path: PathLike, mapping: dict[str, str] | None = None) -> None:
    """Parse the numeric GWAS-SSF columns of ``df``, refusing text, ``inf`` and out-of-range values
    (floats are replaced in place; ``n`` and positions are checked only, keeping their dtype).

    Rules (:data:`VALUE_RULES`): ``beta`` finite, ``standard_error > 0``, ``p_value`` and
    ``effect_allele_frequency`` in ``[0, 1]``, ``n >= 0``; missing values stay NaN.

    Raises
    ------
    InputError
        Naming the file, the column as the file spells it, the variant and the value.
    """
    from edfgen.io.validate import numeric_values

    original = {v: k for k, v in (mapping or {}).items()}
    ids = df["variant_id"].to_numpy() if "variant_id" in df.columns else None
    for col, rules in VALUE_RULES.items():
        if col in df.columns and isinstance(df[col], pd.Series):
            v = numeric_values(df[col], source=str(path), column=original.get(col, col), ids=ids,
                               id_name="variant", **rules)
            if col not in ("n", "base_pair_location"):  # counts and positions keep their integer dtype
                df[col] = v


def sort_sumstats(df: pd.DataFrame) -> pd.DataFrame:
    """Sort by chromosome (natural order) then position."""
    key = chrom_key(df["chromosome"])
    order = np.lexsort((df["base_pair_location"].to_numpy(), key.to_numpy()))
    return df.iloc[order].reset_index(drop=True)


def write_sumstats(df: pd.DataFrame, path: PathLike) -> Path:
    """Write GWAS-SSF summary statistics atomically (gzip if the name ends ``.gz``), sorted by position.

    Missing optional GWAS-SSF columns are added as NA; extra columns are dropped.
    """
    out = df.copy()
    for c in SSF_COLUMNS:
        if c not in out.columns:
            out[c] = pd.NA
    out = sort_sumstats(out[SSF_COLUMNS])
    return write_table(out, path, float_format="%.8g")
