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
from edfgen.kernels.alleles import variant_site_codes
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


#: the GWAS-SSF columns MR needs
MR_REQUIRED = ("variant_id", "effect_allele", "other_allele", "beta", "standard_error")
#: the GWAS-SSF columns MR reads when a file has them (a clash of two aliases of one is refused): the p-value selects
#: instruments (inferred from beta/se without it), the frequency infers palindromes, n is Steiger's
MR_WANTED = ("p_value", "effect_allele_frequency", "n")

#: TwoSampleMR's column base names (``beta`` of ``beta.exposure``) -> GWAS-SSF
TWOSAMPLEMR_FIELDS = {"pval": "p_value", "samplesize": "n", "eaf": "effect_allele_frequency", "se": "standard_error",
                      "beta": "beta", "effect_allele": "effect_allele", "other_allele": "other_allele",
                      "chr": "chromosome", "pos": "base_pair_location", "ncase": "n_cases",
                      "ncontrol": "n_controls", "rsq": "variance_explained"}
#: fields of the variant, not of a trait: a harmonised table's are read from either suffix
VARIANT_FIELDS = ("chromosome", "base_pair_location")
#: the fields MR reads from a harmonised table's suffix: refused when that suffix lacks one
_TRAIT_NEEDED = ("effect_allele", "other_allele", "beta", "standard_error")


def _by_suffix(columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """``{"exposure": {GWAS-SSF field: column}, "outcome": {...}}`` of the TwoSampleMR-named columns (the first
    column of each field and suffix)."""
    found: dict[str, dict[str, str]] = {"exposure": {}, "outcome": {}}
    for c in columns:
        m = re.fullmatch(r"(.+)\.(exposure|outcome)", str(c))
        canon = TWOSAMPLEMR_FIELDS.get(m.group(1).lower()) if m else None
        if canon:
            found[m.group(2)].setdefault(canon, c)
    return found


def is_harmonised_table(columns: Sequence[str]) -> bool:
    """Whether a header has trait columns of both suffixes (``beta.exposure`` and ``beta.outcome``):
    TwoSampleMR's ``harmonise_data`` output or ``edfgen mr``'s ``harmonised.tsv``, which hold two traits."""
    return all(set(fields) - set(VARIANT_FIELDS) for fields in _by_suffix(columns).values())


def twosamplemr_map(columns: Sequence[str], role: str | None = None) -> dict[str, str]:
    """Column map for TwoSampleMR exports: ``beta.exposure`` -> ``beta``, ``pval.outcome`` -> ``p_value``.

    Parameters
    ----------
    columns
        The file's header.
    role
        ``"exposure"`` or ``"outcome"``: the option the file was given with. A harmonised table (both
        suffixes, :func:`is_harmonised_table`) is read with that suffix (``"exposure"`` when None, as for a
        header check); the other suffix's columns are mapped to themselves, so that no alias reads them as the
        file's trait (``beta.exposure`` is an alias of ``beta``). Chromosome and position are the variant's and
        are read from either suffix. A file with one suffix is read with it whatever the role.
    """
    found = _by_suffix(columns)
    if not is_harmonised_table(columns):
        cmap: dict[str, str] = {}
        for fields in found.values():
            for canon, col in fields.items():
                if canon not in cmap.values():
                    cmap[col] = canon
        return cmap
    own = role or "exposure"
    other = "outcome" if own == "exposure" else "exposure"
    cmap = {col: canon for canon, col in found[own].items()}
    for canon, col in found[other].items():
        cmap[col] = canon if canon in VARIANT_FIELDS and canon not in found[own] else col
    return cmap


def load_sumstats(path: PathLike, columns: dict[str, str] | None = None, role: str | None = None) -> pd.DataFrame:
    """Read summary statistics in any layout :func:`edfgen.formats.sumstats.read_sumstats` recognises, or a
    TwoSampleMR export; log the column mapping. A variant id on two rows with the same alleles is an input error
    (which row would be the instrument?); on rows with different alleles (a multi-allelic site) or positions (an
    rsID dbSNP places twice) it is kept.

    Parameters
    ----------
    path
        The file.
    columns
        User mapping ``{input column: GWAS-SSF column}`` (``--columns``); entries naming a column this file does
        not have are skipped (one option serves exposure and outcome files).
    role
        ``"exposure"`` or ``"outcome"``: the option the file was given with; a harmonised table (``.exposure``
        and ``.outcome`` columns) is read with that suffix (:func:`twosamplemr_map`).

    Raises
    ------
    InputError
        A harmonised table without a role, or without the role's allele, beta or SE columns; repeated rows.
    """
    try:
        names = read_header(path)        # the header only: the file is read whole once, by read_sumstats
    except InputError:                   # (a GWAS-VCF's own message, not a table reader's)
        raise
    except Exception:  # noqa: BLE001 - an unreadable file: read_table's one-line error names what is wrong
        names = list(read_table(path).columns)
    user = {k: v for k, v in (columns or {}).items() if k in names}
    rest = [c for c in names if c not in user]
    cmap = {**twosamplemr_map(rest, role), **user}
    if is_harmonised_table(rest):
        _check_harmonised_role(path, rest, cmap, role)
    if cmap:
        for c in names:  # plain columns that would collide with the mapped suffixed ones
            canon = ALIASES.get(str(c).lower())
            if c not in cmap and canon in cmap.values():
                cmap[c] = f"{c}_original"
    df, mapping = read_sumstats(path, column_map=cmap or None, required=MR_REQUIRED, wanted=MR_WANTED)
    # which allele a tool's BETA refers to differs (SAIGE's Allele2, METAL's Allele1): said unless GWAS-SSF
    (log.debug if mapping.layout == "GWAS-SSF" else log.info)(mapping.describe())
    df = df.loc[:, ~df.columns.duplicated()]
    if "p_value" not in df.columns:
        df["p_value"] = _inferred_p(df, path)
    df["variant_id"] = tidy_variant_ids(df["variant_id"], path)
    # a variant id on several rows with different alleles is a multi-allelic site (one row per ALT allele, as
    # GWAS-VCF stores it): kept, matched by alleles (edfgen.kernels.mr.harmonise); the same variant, alleles and
    # position twice is a repeat: which row would be the instrument? never pick one silently. One rsID at two
    # positions is refused only where it is an instrument (select_instruments, harmonise)
    key = variant_site_codes(df)        # integer codes of variant_site_keys: a genome-wide file's 10^7 strings cost
    dup = key.duplicated(keep=False)    # a minute (benchmarks/sumstats_combine.py)
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


def tidy_variant_ids(ids: pd.Series, source: PathLike = "") -> pd.Series:
    """Variant ids as TwoSampleMR's ``format_data`` writes ``SNP``: white space removed and an rsID in lower case
    (``RS123`` and `` rs123 `` are ``rs123``), so they meet the other file's; other ids (``1:1000:A:G``) keep their
    case. Only the rows that need it are rewritten (found by one Arrow regex pass), counted in the log."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(ids.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    fix = pc.fill_null(pc.match_substring_regex(text, r"\s|^(RS|Rs|rS)\d"), False).to_numpy(zero_copy_only=False)
    if not fix.any():
        return ids
    sub = ids[fix].astype(str).str.replace(r"\s+", "", regex=True)
    rs = sub.str.match(r"^[Rr][Ss]\d+$")
    out = ids.copy()
    out[fix] = sub.where(~rs, sub.str.lower())
    log.info("%s: %d variant id(s) tidied as TwoSampleMR's format_data does (white space removed, RS123 read as "
             "rs123; e.g. %r -> %r)", source, int(fix.sum()), ids[fix].iloc[0], out[fix].iloc[0])
    return out


def _inferred_p(df: pd.DataFrame, path: PathLike) -> np.ndarray:
    """Two-sided normal p from ``beta / standard_error`` for a file without p-values (TwoSampleMR's
    ``format_data``: "Inferring p-values", ``pval_origin = "inferred"``), logged."""
    from scipy.stats import norm

    log.info("%s: no p-value column: p inferred from beta / se (two-sided normal), as TwoSampleMR's format_data does",
             path)
    z = pd.to_numeric(df["beta"], errors="coerce").to_numpy(float) / pd.to_numeric(
        df["standard_error"], errors="coerce").to_numpy(float)
    return 2 * norm.sf(np.abs(z))


def _check_harmonised_role(path: PathLike, names: Sequence[str], cmap: dict[str, str], role: str | None) -> None:
    """Refuse a harmonised table (two traits' columns) read without a role or without the role's allele, beta and
    SE columns (one line naming both column sets); log which suffix is read."""
    found = _by_suffix(names)
    sets = " and ".join(f"{', '.join(found[s].values())}" for s in ("exposure", "outcome"))
    if role not in ("exposure", "outcome"):
        raise InputError(f"{path}: columns of two traits ({sets}): say which to read (--exposure or --outcome)")
    missing = [f for f in _TRAIT_NEEDED if f not in cmap.values()]
    if missing:
        raise InputError(f"{path}: columns of two traits ({sets}); given as --{role}, it has no .{role} column "
                         f"for {', '.join(missing)}: give the {role}'s own file")
    log.info("%s: columns of two traits (.exposure and .outcome, a harmonised table): the .%s columns are read "
             "(given as --%s)", path, role, role)


def read_instruments(path: PathLike) -> pd.DataFrame:
    """Read an instrument list (e.g. ``clumps.tsv``): a variant id column and optionally a
    ``phenotype`` (or ``trait``/``exposure``) column saying which exposure each variant instruments."""
    df = read_table(path)
    idcol = next((c for c in df.columns if ALIASES.get(str(c).lower()) in ("variant_id", "rsid")), None)
    if idcol is None:
        raise InputError(f"{path}: no variant id column (variant_id, SNP, ID or rsid) in instrument list")
    out = pd.DataFrame({"variant_id": tidy_variant_ids(df[idcol].astype(str), path)})
    phen = next((c for c in df.columns if str(c).lower() in ("phenotype", "trait", "exposure")), None)
    out["phenotype"] = df[phen].astype(str) if phen else pd.NA
    return out

