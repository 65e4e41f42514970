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
from edfgen.formats.sumstats.layout import ALIASES, _column_mapping
from edfgen.formats.sumstats.coordinates import declares_zero_based
from edfgen.formats.sumstats.read import SumstatsMapping, fast_sumstats_columns, read_header, read_sumstats
from edfgen.kernels.alleles import repeated_rows, variant_allele_codes, variant_site_codes
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


def load_sumstats(path: PathLike, columns: dict[str, str] | None = None, role: str | None = None, *,
                  only_mr_columns: bool = False, arrow_strings: bool = False) -> pd.DataFrame:
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
    only_mr_columns
        Read only the columns ``edfgen mr`` uses (:data:`MR_COLUMNS`) where the file allows the fast reader
        (:func:`_load_mr_columns`: a plain GWAS-SSF-like TSV); other files are read whole. The rows and messages
        are the same either way; the values too but for the last bit of some: Arrow parses decimal text correctly
        rounded, pandas' default parser is off by an ulp on some values (a relative 1e-16; estimates move by
        ~1e-13 relative, review rev36b).
    arrow_strings
        With ``only_mr_columns``, the fast reader's text columns stay Arrow-backed (no Python string per value: a
        caller that keeps a few rows of a full GWAS converts those, :func:`object_strings`).

    Raises
    ------
    InputError
        A harmonised table without a role, or without the role's allele, beta or SE columns (a repeated variant
        is not refused: rows repeated on the MR columns are used once, others kept and logged).
    """
    try:
        names = read_header(path)        # the header only: the file is read whole once, by read_sumstats
    except InputError:                   # (a GWAS-VCF's own message, not a table reader's)
        raise
    except Exception:  # noqa: BLE001 - an unreadable file: read_table's one-line error names what is wrong
        names = list(read_table(path).columns)
    fast = _load_mr_columns(path, names, columns, role, arrow_strings) if only_mr_columns else None
    if fast is not None:
        return mr_rows(fast, path)
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
    return mr_rows(df, path)


def mr_rows(df: pd.DataFrame, path: PathLike) -> pd.DataFrame:
    """:func:`load_sumstats`' checks of the rows it read: p inferred where the file has none, ``n`` the sum of the
    case and control counts where it has those and no ``n`` (as ldsc reads it), variant ids tidied, a row repeated
    whole kept once (counted in the log), multi-allelic sites counted in the log.

    A variant repeated with the same alleles and different values is kept on all its rows here: harmless where it
    is not an instrument (genome-wide files carry such repeats); as an instrument it is left out, never one of its
    rows picked (:func:`~edfgen.commands.mr_instruments.select_instruments` in the exposure,
    :func:`~edfgen.kernels.mr.harmonise.harmonise`'s reason ``duplicated_in_outcome`` in the outcome), where
    TwoSampleMR's ``format_data`` keeps the first row."""
    if "p_value" not in df.columns:
        df["p_value"] = _inferred_p(df, path)
    if {"n_cases", "n_controls"} <= set(df.columns) and ("n" not in df.columns or df["n"].isna().any()):
        total = pd.to_numeric(df["n_cases"], errors="coerce") + pd.to_numeric(df["n_controls"], errors="coerce")
        df["n"] = pd.to_numeric(df["n"], errors="coerce").fillna(total) if "n" in df.columns else total
        log.info("%s: n = n_cases + n_controls where the file gives no n (SAIGE's N_case + N_ctrl)", path)
    df["variant_id"] = tidy_variant_ids(df["variant_id"], path)
    # a variant id on several rows with different alleles is a multi-allelic site (one row per ALT allele, as
    # GWAS-VCF stores it): kept, matched by alleles (edfgen.kernels.mr.harmonise); the same variant, alleles and
    # position twice is a repeat: used once when its rows are equal, else kept, and left out only where it is an
    # instrument (select_instruments, harmonise), as one rsID at two positions is: which row? never one picked
    # a repeat has its id on several rows: the sites are keyed on those rows alone (a genome-wide file has few)
    ids = _id_codes(df["variant_id"])
    multi = np.bincount(ids)[ids] > 1
    if not multi.any():
        return df
    on = np.flatnonzero(multi)
    row = np.arange(len(df)) + 1             # each row's number in the file's rows (for the log)
    again = repeated_rows(df.iloc[on])     # a row repeated on the MR columns: the same variant, used once
    if again.any():
        log.info("%s: %d row(s) repeat an earlier row whole (e.g. %r on row %d): each used once", path,
                 int(again.sum()), str(df["variant_id"].iloc[on[again][0]]), int(on[again][0]) + 1)
        keep = np.ones(len(df), dtype=bool)
        keep[on[again]] = False
        df, ids, row = df[keep].reset_index(drop=True), ids[keep], row[keep]
        multi = np.bincount(ids)[ids] > 1
        if not multi.any():
            return df
        on = np.flatnonzero(multi)
    key = variant_site_codes(df.iloc[on])   # integer codes of variant_site_keys (benchmarks/sumstats_combine.py)
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        first = int(np.argmax(dup))
        rows = row[on[np.flatnonzero((key == key.iloc[first]).to_numpy())[:5]]]
        log.info("%s: %d variant(s) on several rows with the same alleles and different values (e.g. %r on rows "
                 "%s): harmless unless an instrument, which is then left out (duplicated_in_outcome in an "
                 "outcome), never one of its rows picked", path, int(key[dup].nunique()),
                 str(df["variant_id"].iloc[on[first]]), ", ".join(map(str, rows)))
    # ids with several allele pairs (an id also repeated within one pair, or at two positions, still counts once)
    n_multi = int((pd.Series(variant_allele_codes(df.iloc[on]).to_numpy()).groupby(ids[on]).nunique() > 1).sum())
    if n_multi > 0:
        log.info("%s: %d variant id(s) on several rows with different alleles (multi-allelic sites, one row per "
                 "allele): each matched to the exposure by its alleles", path, n_multi)
    return df


def _id_codes(ids: pd.Series) -> np.ndarray:
    """Integer codes of the variant ids, equal where the ids are: ``0..n-1`` when no id repeats (Arrow counts the
    distinct ids of Arrow-backed text without a Python string per row), else :func:`pandas.factorize`'s."""
    if isinstance(ids.dtype, pd.ArrowDtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        if pc.count_distinct(pa.array(ids.array), mode="all").as_py() == len(ids):
            return np.arange(len(ids), dtype=np.int64)
    return pd.factorize(ids, use_na_sentinel=False)[0].astype(np.int64)


#: the GWAS-SSF columns ``edfgen mr`` reads from a file besides :data:`MR_REQUIRED` and :data:`MR_WANTED`: the keys
#: instruments are found by (:mod:`edfgen.commands.mr_join`), case counts (Steiger's liability scale), the user's
#: variance explained
MR_COLUMNS = ("chromosome", "base_pair_location", "rsid", "n_cases", "n_controls", "variance_explained")
#: header names (lower case) that a whole read keeps under their own name and MR looks at (case counts, a bare r²
#: warned about, a minor-allele frequency noted): a file with one of them unmapped is read whole
_READ_AS_NAMED = ("ncase", "n_case", "cases", "ncases", "n_cases", "ncontrol", "n_control", "controls", "ncontrols",
                  "n_controls", "r2", "rsq", "r_squared", "maf")


def _load_mr_columns(path: PathLike, names: Sequence[str], columns: dict[str, str] | None,
                     role: str | None, arrow_strings: bool = False) -> pd.DataFrame | None:
    """Only the columns MR uses (:data:`MR_REQUIRED`, :data:`MR_WANTED`, :data:`MR_COLUMNS`) of a plain
    summary-statistics TSV, by :func:`~edfgen.formats.sumstats.read.fast_sumstats_columns` (Arrow, as ``edfgen
    clump`` reads), with the mapping logged as :func:`load_sumstats` logs it; ``None`` for a file that
    :func:`load_sumstats` reads whole: a TwoSampleMR export or harmonised table, one that ``--columns`` names a
    column of, a tool's layout, no p-value column, a column of :data:`_READ_AS_NAMED` left unmapped, or any file the
    fast reader declines."""
    if any(k in names for k in (columns or {})) or twosamplemr_map(names, role):
        return None
    need = (*MR_REQUIRED, *MR_WANTED)
    mapping, layout = _column_mapping(list(names), None, source=str(path), need=need)   # (a clash: its error)
    if (layout is not None and layout.name != "GWAS-SSF" or "p_value" not in mapping.values()
            or any(str(c).lower() in _READ_AS_NAMED and c not in mapping for c in names)):
        return None
    df = fast_sumstats_columns(path, required=(*MR_REQUIRED, "p_value"),
                               optional=(*MR_WANTED, *MR_COLUMNS), arrow_strings=arrow_strings)
    if df is None:
        return None
    notes = ("base_pair_location + 1 (its -meta.yaml declares coordinate_system 0-based)",) \
        if "base_pair_location" in mapping.values() and declares_zero_based(path) else ()
    m = SumstatsMapping(str(path), dict(mapping), layout=layout.name if layout else "", notes=notes)
    (log.debug if m.layout == "GWAS-SSF" else log.info)(m.describe())
    return df


def object_strings(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its Arrow-backed text columns (:func:`load_sumstats` ``arrow_strings``) as Python strings, as
    the whole-file reader gives them (``df`` itself when it has none)."""
    arrow = [c for c in df.columns if isinstance(df[c].dtype, pd.ArrowDtype)]
    if not arrow:
        return df
    return df.assign(**{c: df[c].to_numpy(dtype=object) for c in arrow})


def tidy_variant_ids(ids: pd.Series, source: PathLike = "") -> pd.Series:
    """Variant ids as TwoSampleMR's ``format_data`` writes ``SNP``: white space removed and an rsID in lower case
    (``RS123`` and `` rs123 `` are ``rs123``), so they meet the other file's; other ids (``1:1000:A:G``) keep their
    case. Only the rows that need it are rewritten (found by one Arrow regex pass), counted in the log."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(ids.array if isinstance(ids.dtype, pd.ArrowDtype) else ids.to_numpy(dtype=object),
                    type=pa.string(), from_pandas=True)
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

