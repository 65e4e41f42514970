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
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.tables import PathLike, read_table, write_table

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

#: extra aliases of columns that are converted into GWAS-SSF ones (odds ratios, CIs, -log10 p)
ALIASES.update({"or": "odds_ratio", "odds_ratio": "odds_ratio", "l95": "ci_lower", "u95": "ci_upper",
                "ci_lower": "ci_lower", "ci_upper": "ci_upper", "lower_ci": "ci_lower", "upper_ci": "ci_upper",
                "or_95l": "ci_lower", "or_95u": "ci_upper", "or_l95": "ci_lower", "or_u95": "ci_upper",
                "log10p": "neg_log_10_p_value", "mlogp": "neg_log_10_p_value", "mlog10p": "neg_log_10_p_value",
                "neg_log_10_p_value": "neg_log_10_p_value", "log10_p": "neg_log_10_p_value",
                "n_cases": "n_cases", "n_controls": "n_controls", "sebeta": "standard_error"})


@dataclass(frozen=True)
class SumstatsLayout:
    """A summary-statistics layout written by one tool, recognised by its header.

    Attributes
    ----------
    name
        The tool and format (``"plink2 --glm"``).
    signature
        Lower-case column names that together identify the layout.
    columns
        Lower-case input column -> GWAS-SSF (or convertible: ``odds_ratio``, ``ci_lower``,
        ``ci_upper``, ``neg_log_10_p_value``) column; the first present of several candidates wins.
    effect_allele_note
        Which allele the tool's effect refers to (documentation).
    """

    name: str
    signature: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    effect_allele_note: str = ""


#: the layouts read without a --columns mapping, most specific first (their documented headers)
LAYOUTS: tuple[SumstatsLayout, ...] = (
    SumstatsLayout(
        "GWAS Catalog harmonised", ("hm_effect_allele", "hm_other_allele"),
        (("hm_variant_id", "variant_id"), ("hm_rsid", "rsid"), ("hm_chrom", "chromosome"),
         ("hm_pos", "base_pair_location"), ("hm_effect_allele", "effect_allele"),
         ("hm_other_allele", "other_allele"), ("hm_beta", "beta"), ("hm_odds_ratio", "odds_ratio"),
         ("hm_ci_lower", "ci_lower"), ("hm_ci_upper", "ci_upper"),
         ("hm_effect_allele_frequency", "effect_allele_frequency"), ("standard_error", "standard_error"),
         ("p_value", "p_value"), ("neg_log_10_p_value", "neg_log_10_p_value"), ("n", "n")),
        "hm_effect_allele (harmonised to the forward strand of the reference)"),
    SumstatsLayout(
        "FinnGen", ("#chrom", "pos", "ref", "alt", "pval", "beta", "sebeta"),
        (("#chrom", "chromosome"), ("pos", "base_pair_location"), ("alt", "effect_allele"), ("ref", "other_allele"),
         ("rsids", "rsid"), ("beta", "beta"), ("sebeta", "standard_error"), ("pval", "p_value"),
         ("mlogp", "neg_log_10_p_value"), ("af_alt", "effect_allele_frequency")),
        "alt; variant_id = the first of rsids, else chrom:pos:ref:alt"),
    SumstatsLayout(
        "REGENIE step 2", ("chrom", "genpos", "id", "allele0", "allele1", "log10p"),
        (("chrom", "chromosome"), ("genpos", "base_pair_location"), ("id", "variant_id"),
         ("allele1", "effect_allele"), ("allele0", "other_allele"), ("a1freq", "effect_allele_frequency"),
         ("beta", "beta"), ("se", "standard_error"), ("log10p", "neg_log_10_p_value"), ("n", "n")),
        "ALLELE1; rows with TEST other than ADD are dropped"),
    SumstatsLayout(
        "BOLT-LMM", ("snp", "chr", "bp", "allele1", "allele0"),
        (("snp", "variant_id"), ("chr", "chromosome"), ("bp", "base_pair_location"), ("allele1", "effect_allele"),
         ("allele0", "other_allele"), ("a1freq", "effect_allele_frequency"), ("beta", "beta"),
         ("se", "standard_error"), ("p_bolt_lmm", "p_value"), ("p_bolt_lmm_inf", "p_value")),
        "ALLELE1; P_BOLT_LMM when present, else P_BOLT_LMM_INF"),
    SumstatsLayout(
        "SAIGE", ("chr", "pos", "allele1", "allele2", "p.value"),
        (("markerid", "variant_id"), ("snpid", "variant_id"), ("chr", "chromosome"), ("pos", "base_pair_location"),
         ("allele2", "effect_allele"), ("allele1", "other_allele"), ("af_allele2", "effect_allele_frequency"),
         ("beta", "beta"), ("se", "standard_error"), ("p.value", "p_value"), ("n", "n"), ("n_case", "n_cases"),
         ("n_ctrl", "n_controls")),
        "Allele2 (SAIGE's BETA and AF_Allele2 refer to Allele2)"),
    SumstatsLayout(
        "plink2 --glm", ("#chrom", "pos", "id", "ref", "alt", "a1", "p"),
        (("#chrom", "chromosome"), ("pos", "base_pair_location"), ("id", "variant_id"), ("a1", "effect_allele"),
         ("omitted", "other_allele"), ("ax", "other_allele"), ("a1_freq", "effect_allele_frequency"),
         ("obs_ct", "n"), ("beta", "beta"), ("or", "odds_ratio"), ("se", "standard_error"),
         ("log(or)_se", "standard_error"), ("l95", "ci_lower"), ("u95", "ci_upper"), ("p", "p_value"),
         ("log10_p", "neg_log_10_p_value")),
        "A1 (other allele: OMITTED/AX, else whichever of REF/ALT is not A1); rows with TEST other than ADD dropped"),
    SumstatsLayout(
        "GWAS-SSF", ("chromosome", "base_pair_location", "effect_allele", "other_allele"),
        tuple((c, c) for c in SSF_COLUMNS) + (("odds_ratio", "odds_ratio"), ("ci_lower", "ci_lower"),
                                               ("ci_upper", "ci_upper"), ("neg_log_10_p_value", "neg_log_10_p_value"),
                                               ("n_cases", "n_cases"), ("n_controls", "n_controls")),
        "effect_allele"),
)

#: short names accepted by ``--columns`` (``beta=b,se=s``) besides the GWAS-SSF names
COLUMN_KEYS = {"snp": "variant_id", "id": "variant_id", "variant": "variant_id", "rsid": "rsid",
               "chr": "chromosome", "chrom": "chromosome", "pos": "base_pair_location", "bp": "base_pair_location",
               "ea": "effect_allele", "a1": "effect_allele", "oa": "other_allele", "a2": "other_allele",
               "beta": "beta", "se": "standard_error", "p": "p_value", "pval": "p_value",
               "log10p": "neg_log_10_p_value", "mlogp": "neg_log_10_p_value", "eaf": "effect_allele_frequency",
               "af": "effect_allele_frequency", "n": "n", "or": "odds_ratio", "ci_lower": "ci_lower",
               "ci_upper": "ci_upper", "l95": "ci_lower", "u95": "ci_upper", "n_cases": "n_cases",
               "n_controls": "n_controls"}
_TARGETS = set(SSF_COLUMNS) | {"odds_ratio", "ci_lower", "ci_upper", "neg_log_10_p_value", "n_cases", "n_controls"}


def parse_column_option(text: str | None, *, option: str = "--columns") -> dict[str, str]:
    """``"beta=b1,se=s1,p=P"`` -> ``{"b1": "beta", "s1": "standard_error", "P": "p_value"}`` (input column ->
    GWAS-SSF column; keys are GWAS-SSF names or the short names of :data:`COLUMN_KEYS`).

    Raises
    ------
    ConfigError
        An item without ``=`` or an unknown key.
    """
    from edfgen.exceptions import ConfigError

    out: dict[str, str] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        if "=" not in item:
            raise ConfigError(f"{option} {text!r}: {item!r} is not KEY=COLUMN (e.g. beta=BETA_1,se=SE_1)")
        key, col = (x.strip() for x in item.split("=", 1))
        target = COLUMN_KEYS.get(key.lower(), key.lower() if key.lower() in _TARGETS else None)
        if target is None or not col:
            raise ConfigError(f"{option} {text!r}: unknown key {key!r} (use GWAS-SSF names or "
                              f"{', '.join(sorted(COLUMN_KEYS))})")
        out[col] = target
    return out


def detect_layout(columns) -> SumstatsLayout | None:
    """The first layout of :data:`LAYOUTS` whose signature columns are all in ``columns`` (case-insensitive)."""
    lower = {str(c).lower() for c in columns}
    return next((lay for lay in LAYOUTS if set(lay.signature) <= lower), None)


def _column_mapping(columns, column_map: dict[str, str] | None) -> tuple[dict[str, str], SumstatsLayout | None]:
    """Input column -> target column: explicit map first, then the detected layout, then aliases."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        if column_map and col in column_map:
            mapping[col] = column_map[col]
            taken.add(column_map[col])
    layout = detect_layout(columns)
    if layout is not None:
        by_lower: dict[str, str] = {}
        for c in columns:
            by_lower.setdefault(str(c).lower(), c)
        for src, dst in layout.columns:
            col = by_lower.get(src)
            if col is not None and col not in mapping and dst not in taken:
                mapping[col] = dst
                taken.add(dst)
    for col in columns:
        if col in mapping:
            continue
        canon = ALIASES.get(str(col).lower())
        if canon and canon not in taken and (layout is None or layout.name == "GWAS-SSF"):
            mapping[col] = canon
            taken.add(canon)
    return mapping, layout


def sumstats_columns(columns, column_map: dict[str, str] | None = None) -> set[str]:
    """GWAS-SSF columns a file with this header gives after mapping and conversion (for discovery)."""
    mapping, layout = _column_mapping(list(columns), column_map)
    got = set(mapping.values())
    if layout is not None and layout.name == "FinnGen":
        got.add("variant_id")  # first rsid, else chrom:pos:ref:alt
    if layout is not None and layout.name == "plink2 --glm":
        got.add("other_allele")  # whichever of REF/ALT is not A1
    if "beta" not in got and "odds_ratio" in got:
        got.add("beta")
        if {"ci_lower", "ci_upper"} <= got:
            got.add("standard_error")
    if "p_value" not in got and "neg_log_10_p_value" in got:
        got.add("p_value")
    return got


#: two-sided 95% normal quantile (odds-ratio CIs -> SE of log OR)
Z95 = 1.959963984540054


def _convert_layout(df: pd.DataFrame, layout: SumstatsLayout | None, original: pd.Index) -> tuple[pd.DataFrame, list[str]]:
    """Tool-specific fixes after renaming; returns notes for the mapping report."""
    notes: list[str] = []
    lower = {str(c).lower(): c for c in original}
    name = layout.name if layout else ""
    test = lower.get("test")
    if test is not None and name in ("plink2 --glm", "REGENIE step 2") and test in df.columns:
        keep = df[test].astype(str).str.upper() == "ADD"
        if (~keep).any():
            notes.append(f"kept TEST == ADD ({int(keep.sum())} of {len(df)} rows)")
            df = df.loc[keep].reset_index(drop=True)
    if name == "plink2 --glm" and "other_allele" not in df.columns:
        ref, alt = df[lower["ref"]].astype(str), df[lower["alt"]].astype(str)
        ea = df["effect_allele"].astype(str)
        df["other_allele"] = np.where(ea == alt, ref, alt)
        notes.append("other_allele = whichever of REF/ALT is not A1")
    if name == "FinnGen" and "variant_id" not in df.columns:
        first = df["rsid"].astype(str).str.split(",").str[0] if "rsid" in df.columns else None
        cpra = (df["chromosome"].astype(str) + ":" + df["base_pair_location"].astype(str) + ":"
                + df["other_allele"].astype(str) + ":" + df["effect_allele"].astype(str))
        if first is not None:
            ok = first.str.match(r"^rs\d+$")
            df["variant_id"] = np.where(ok, first, cpra)
            if "rsid" in df.columns:
                df["rsid"] = np.where(ok, first, pd.NA)
        else:
            df["variant_id"] = cpra
        notes.append("variant_id = first rsid, else chrom:pos:ref:alt")
    if "beta" not in df.columns and "odds_ratio" in df.columns:
        orr = pd.to_numeric(df["odds_ratio"], errors="coerce")
        with np.errstate(divide="ignore", invalid="ignore"):
            df["beta"] = np.log(orr)
            if "standard_error" not in df.columns and {"ci_lower", "ci_upper"} <= set(df.columns):
                lo = pd.to_numeric(df["ci_lower"], errors="coerce")
                hi = pd.to_numeric(df["ci_upper"], errors="coerce")
                df["standard_error"] = (np.log(hi) - np.log(lo)) / (2 * Z95)
                notes.append("beta = ln(odds ratio), standard_error = (ln upper - ln lower 95% CI) / (2 x 1.96)")
            else:
                notes.append("beta = ln(odds ratio)" + (" (standard_error taken as the SE of ln OR)"
                                                        if "standard_error" in df.columns else ""))
    if "p_value" not in df.columns and "neg_log_10_p_value" in df.columns:
        nl = pd.to_numeric(df["neg_log_10_p_value"], errors="coerce")
        df["p_value"] = np.power(10.0, -nl.to_numpy(dtype=float))
        notes.append("p_value = 10^-(-log10 p)")
    return df, notes


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
    layout: str = ""
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        renamed = {k: v for k, v in self.mapping.items() if k != v}
        lay = f" (layout {self.layout})" if self.layout else ""
        return (f"{self.path}{lay}: columns mapped " + (", ".join(f"{k}->{v}" for k, v in renamed.items())
                                                       or "as GWAS-SSF") + "".join(f"; {n}" for n in self.notes))


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
    original = df.columns
    column_map = dict(column_map or {})
    absent = [c for c in column_map if c not in original]
    if absent:
        raise InputError(f"{path}: --columns names {', '.join(map(repr, absent))}, not in the file's header "
                         f"({_header_text(original)})")
    mapping, layout = _column_mapping(list(original), column_map)
    clash = [c for c in original if c not in mapping and c in set(mapping.values())]
    df = df.rename(columns={**{c: f"{c}_original" for c in clash}, **mapping})
    df = df.loc[:, ~df.columns.duplicated()]
    df, notes = _convert_layout(df, layout, original)
    missing = [c for c in required if c not in df.columns]
    if missing:
        found = f"read as {layout.name}; " if layout else ""
        raise InputError(f"{path}: no column for {', '.join(missing)} ({found}the file's header: "
                         f"{_header_text(original)}); name them with --columns, e.g. "
                         f"--columns beta=BETA_COL,se=SE_COL,p=P_COL,ea=A1,oa=A2,snp=ID")
    for a in ("effect_allele", "other_allele"):
        if a in df.columns:
            df[a] = df[a].astype(str).str.upper()
    if "chromosome" in df.columns:
        df["chromosome"] = df["chromosome"].astype(str).str.replace("^chr", "", regex=True)
    if "variant_id" in df.columns:
        df["variant_id"] = df["variant_id"].astype(str)
    check_sumstats_values(df, path, mapping)
    m = SumstatsMapping(str(path), {k: v for k, v in mapping.items()}, layout=layout.name if layout else "",
                        notes=tuple(notes))
    log.debug(m.describe())
    return df, m


#: the GWAS-SSF columns :func:`read_sumstats_columns` parses as text (the others as float64)
_TEXT_COLUMNS = ("chromosome", "effect_allele", "other_allele", "variant_id", "rsid")


def read_sumstats_columns(path: PathLike, *, required: tuple[str, ...],
                          optional: tuple[str, ...] = (), arrow_strings: bool = False) -> pd.DataFrame:
    """Only some GWAS-SSF columns of a summary-statistics file, read fast.

    For a tab-separated ``.tsv``/``.tsv.gz``/``.txt.gz`` (gzip or BGZF) whose header names the
    columns directly (GWAS-SSF names or aliases, no tool layout to convert): the file is
    decompressed once (ISA-L) and only the wanted columns are parsed (Arrow's CSV reader),
    several times faster than :func:`read_sumstats` on whole GWAS-SSF files. Any other file, or a
    value Arrow cannot parse, goes through :func:`read_sumstats` (same result, its error messages).

    Parameters
    ----------
    path
        Summary-statistics file.
    required
        GWAS-SSF columns that must be present (:class:`InputError` otherwise).
    optional
        GWAS-SSF columns read when present.
    arrow_strings
        Keep text columns Arrow-backed (``pd.ArrowDtype(pa.string())``: no Python string per
        value; equality of two columns is a memory comparison) when the fast path is taken.

    Returns
    -------
    DataFrame with the present columns of ``required + optional`` under their GWAS-SSF names,
    normalised like :func:`read_sumstats` (alleles upper-case, ``chromosome`` without ``chr``,
    ``variant_id`` text, numeric columns checked by :func:`check_sumstats_values`' rules).
    """
    wanted = tuple(dict.fromkeys((*required, *optional)))
    path = Path(path)
    name = path.name.lower()
    if not (name.endswith((".tsv", ".tsv.gz", ".txt.gz", ".tsv.bgz")) and path.is_file()):
        return _subset(read_sumstats(path, required=required)[0], wanted)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            from isal import igzip

            raw = igzip.decompress(raw)
    except (OSError, EOFError, ValueError) as exc:
        raise InputError(f"{path}: cannot be read ({exc})") from None
    header = raw[:raw.find(b"\n")].decode("utf-8", "replace").rstrip("\r").split("\t")
    mapping, layout = _column_mapping(header, None)
    if layout is not None and layout.name != "GWAS-SSF" or len(set(header)) != len(header):
        return _subset(read_sumstats(path, required=required)[0], wanted)
    found = {dst: src for src, dst in mapping.items()}
    source = {dst: found[dst] for dst in wanted if dst in found}      # in the order asked for
    if any(c not in source for c in required):
        return _subset(read_sumstats(path, required=required)[0], wanted)
    import pyarrow as pa
    import pyarrow.csv as pcsv

    types = {src: (pa.string() if dst in _TEXT_COLUMNS else pa.float64()) for dst, src in source.items()}
    try:
        table = pcsv.read_csv(pa.py_buffer(raw), parse_options=pcsv.ParseOptions(delimiter="\t"),
                              convert_options=pcsv.ConvertOptions(
                                  include_columns=list(types), column_types=types,
                                  null_values=["", "NA", "NaN", "nan", "N/A", "NULL", "null", "None"]),  # "." as read_sumstats
                              read_options=pcsv.ReadOptions(block_size=1 << 24))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _subset(read_sumstats(path, required=required)[0], wanted)
    if arrow_strings:
        df = pd.DataFrame({dst: (pd.arrays.ArrowExtensionArray(table.column(src)) if dst in _TEXT_COLUMNS
                                 else table.column(src).to_numpy()) for dst, src in source.items()})
    else:
        df = pd.DataFrame({dst: table.column(src).to_numpy(zero_copy_only=False) for dst, src in source.items()})
    for a in ("effect_allele", "other_allele"):
        if a in df.columns:
            df[a] = df[a].astype(str).str.upper()
    if "chromosome" in df.columns:
        df["chromosome"] = df["chromosome"].astype(str).str.replace("^chr", "", regex=True)
    for c, rules in VALUE_RULES.items():     # a bad value: read_sumstats names the row and value
        if c in df.columns and not _values_ok(df[c].to_numpy(), **rules):
            return _subset(read_sumstats(path, required=required)[0], wanted)
    for c in ("base_pair_location", "n"):    # integers as pandas reads them, when complete and whole
        if c in df.columns:
            v = df[c].to_numpy()
            if np.isfinite(v).all() and np.array_equal(v, np.round(v)):
                df[c] = v.astype(np.int64)
    return df


def _values_ok(v: np.ndarray, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
               hi_open: bool = False, finite: bool = True) -> bool:
    """Whether every non-missing value passes :func:`edfgen.formats.validate.numeric_values`' rules."""
    v = v[~np.isnan(v)]
    bad = ~np.isfinite(v) if finite else np.zeros(v.shape, dtype=bool)
    if lo is not None:
        bad |= (v <= lo) if lo_open else (v < lo)
    if hi is not None:
        bad |= (v >= hi) if hi_open else (v > hi)
    return not bad.any()


def _subset(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return df[[c for c in columns if c in df.columns]]


def _header_text(columns, limit: int = 40) -> str:
    cols = [str(c) for c in columns]
    return " ".join(cols[:limit]) + (f" ... ({len(cols)} columns)" if len(cols) > limit else "")


#: value rules of the numeric GWAS-SSF columns (missing values allowed): keyword arguments of
#: :func:`edfgen.formats.validate.numeric_values`
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
    from edfgen.formats.validate import numeric_values

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


def write_sumstats(df: pd.DataFrame, path: PathLike, *, meta: "SumstatsMeta | None" = None) -> Path:
    """Write GWAS-SSF summary statistics atomically, sorted by position.

    A name ending ``.gz`` gives BGZF with a tabix index (``<path>.tbi``), as the GWAS Catalog takes
    them; ``meta`` adds ``<path>-meta.yaml``. Missing optional GWAS-SSF columns are added as NA;
    :data:`SSF_EXTRA_COLUMNS` present in ``df`` are kept after them; other columns are dropped.
    """
    from edfgen.formats.bgzf import BgzfWriter, tabix_index
    from edfgen.formats.tables import atomic_path

    out = df.copy()
    for c in SSF_COLUMNS:
        if c not in out.columns:
            out[c] = pd.NA
    cols = SSF_COLUMNS + [c for c in SSF_EXTRA_COLUMNS if c in out.columns]
    out = sort_sumstats(out[cols])
    path = Path(path)
    if not path.name.endswith(".gz"):
        return write_table(out, path, float_format="%.8g")
    text = out.to_csv(sep="\t", index=False, na_rep="NA", float_format="%.8g", lineterminator="\n")
    # a tabix index needs a chromosome and a position on every row
    index = bool(len(out)) and out[["chromosome", "base_pair_location"]].notna().all(axis=None)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            w = BgzfWriter(fh)
            w.write(text.encode())
            w.close()
        tbi = tabix_index(tmp) if index else None
    if tbi is not None:
        os.replace(tbi, f"{path}.tbi")
    else:
        log.info("%s: no tabix index (rows without chromosome or position)", path)
    if meta is not None:
        write_meta(path, meta, w.md5)
    return path


# ---------------------------------------------------------------------------------------------------
# GWAS-SSF files as the GWAS Catalog takes them: BGZF + tabix index + <file>-meta.yaml
# ---------------------------------------------------------------------------------------------------
#: columns written after :data:`SSF_COLUMNS` by :class:`SumstatsWriter` (NA where they do not apply)
SSF_EXTRA_COLUMNS = ["n_cases", "n_controls", "neg_log_10_p_value"]
#: GWAS-SSF version written into ``file_type`` of the metadata
SSF_VERSION = "GWAS-SSF v1.0"
#: below this p-value, ``neg_log_10_p_value`` comes from the test statistic in log space and
#: ``p_value`` is printed from it (a float64 p underflows to 0 near 1e-308)
TINY_P = 1e-300
_LN10 = float(np.log(10.0))


def _log_t_two_sided(t: np.ndarray, df: np.ndarray, *, max_iter: int = 20000) -> np.ndarray:
    """Natural log of the two-sided Student-t p-value, ``log I_x(df/2, 1/2)`` with ``x = df/(df+t²)``.

    The regularised incomplete beta function is evaluated as its continued fraction (modified Lentz)
    times a prefactor kept in log space, so it does not underflow where ``p`` is far below 1e-308.
    Valid where ``x < (a+1)/(a+b+2)`` (here: ``t² > ~3``), which holds wherever it is used (p < 1e-300).

    References
    ----------
    Press WH, Teukolsky SA, Vetterling WT, Flannery BP (2007) Numerical Recipes, 3rd ed., section 6.4
    (incomplete beta function, ``betacf``). Lentz WJ (1976) Appl Opt 15:668. doi:10.1364/AO.15.000668
    """
    from scipy.special import betaln

    t = np.abs(np.asarray(t, dtype=float))
    a = np.asarray(df, dtype=float) / 2.0
    b = 0.5
    t2 = t * t
    x = a * 2.0 / (a * 2.0 + t2)
    log_x = -np.log1p(t2 / (2.0 * a))
    log_1mx = np.log(t2) - np.log(2.0 * a + t2)
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = np.ones_like(x)
    d = 1.0 - qab * x / qap
    d = np.where(np.abs(d) < tiny, tiny, d)
    d = 1.0 / d
    h = d.copy()
    for m in range(1, max_iter + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = np.where(np.abs(d) < tiny, tiny, d)
        c = 1.0 + aa / c
        c = np.where(np.abs(c) < tiny, tiny, c)
        d = 1.0 / d
        delta = d * c
        h *= delta
        if np.all(np.abs(delta - 1.0) < 1e-15):
            break
    return a * log_x + b * log_1mx - np.log(a) - betaln(a, b) + np.log(h)


def neg_log10_p(p, *, beta=None, standard_error=None, df=None) -> np.ndarray:
    """``-log10(p)`` that does not saturate where ``p`` underflowed.

    Where ``p >= 1e-300`` it is ``-log10(p)``. Where ``p < 1e-300`` (or 0) and ``beta`` and
    ``standard_error`` are given, it is recomputed in log space from the Wald statistic
    ``z = beta / standard_error``: two-sided Student t with ``df`` degrees of freedom (linear
    regression, ``df = n - k - 1``) or, with ``df=None``, two-sided normal (logistic Wald test;
    the Firth likelihood-ratio statistic, stored as ``beta/se = sqrt(chi2)``, gives the same).

    Parameters
    ----------
    p, beta, standard_error, df : array-like of the same length (``df`` may be a scalar)

    Returns
    -------
    float64 array; NaN where ``p`` is NaN.
    """
    from scipy.special import log_ndtr

    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = -np.log10(p)
    if beta is None or standard_error is None:
        return out
    tiny = np.isfinite(p) & (p < TINY_P)
    if not tiny.any():
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(np.asarray(beta, dtype=float) / np.asarray(standard_error, dtype=float))
    tiny &= np.isfinite(z)
    if df is None:
        log_p = np.log(2.0) + log_ndtr(-z[tiny])
    else:
        dfa = np.broadcast_to(np.asarray(df, dtype=float), p.shape)[tiny]
        log_p = _log_t_two_sided(z[tiny], dfa)
    out[tiny] = -log_p / _LN10
    return out


def p_value_strings(p: np.ndarray, nlp: np.ndarray, *, digits: int = 8) -> list[str | None]:
    """``p`` printed with ``digits`` significant digits, or from ``nlp = -log10 p`` (``"3.2e-412"``)
    where ``p < 1e-300``; ``None`` where ``p`` is missing."""
    out: list[str | None] = []
    for pv, nl in zip(np.asarray(p, dtype=float), np.asarray(nlp, dtype=float)):
        if not np.isfinite(pv):
            out.append(None)
        elif pv >= TINY_P or not np.isfinite(nl):
            out.append(f"{pv:.{digits}g}")
        else:
            e = int(np.floor(-nl))
            m = round(10.0 ** (-nl - e), digits - 1)
            if m >= 10.0:
                m, e = m / 10.0, e + 1
            out.append(f"{m:.{digits - 1}g}e{e:d}")
    return out


def round_significant(x: np.ndarray, digits: int = 8) -> np.ndarray:
    """Round to ``digits`` significant digits (as ``%.8g`` would print), NaN kept."""
    with np.errstate(all="ignore"):
        scale = 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(x))))
        r = np.round(x * scale) / scale
    return np.where(np.isfinite(r), r, x)


@dataclass(frozen=True)
class SumstatsMeta:
    """What ``<file>-meta.yaml`` says about one GWAS-SSF file (GWAS Catalog metadata schema).

    Attributes
    ----------
    trait
        Phenotype name (``trait_description``).
    sample_size
        Largest ``n`` of the file.
    case_count, control_count
        Binary outcomes only.
    genome_assembly
        ``GRCh37``, ``GRCh38``, ... or ``NR`` (not reported).
    covariates
        ``adjusted_covariates``.
    analysis_software
        e.g. ``edfgen 0.1.0 (linear regression)``.
    """

    trait: str
    sample_size: int | None = None
    case_count: int | None = None
    control_count: int | None = None
    genome_assembly: str = "NR"
    covariates: tuple[str, ...] = ()
    analysis_software: str = ""

    def to_dict(self, data_file_name: str, md5: str) -> dict:
        """The metadata fields in the order of the GWAS Catalog's ``gwas-sumstats-tools`` schema."""
        import datetime

        sample: dict = {"sample_size": None if self.sample_size is None else int(self.sample_size)}
        binary = self.case_count is not None
        sample["case_control_study"] = binary
        if binary:
            sample.update(case_count=int(self.case_count), control_count=int(self.control_count or 0))
        return {
            "date_metadata_last_modified": datetime.date.today().isoformat(),
            "trait_description": [self.trait],
            "genome_assembly": self.genome_assembly,
            "coordinate_system": "1-based",
            "samples": [sample],
            "data_file_name": data_file_name,
            "file_type": SSF_VERSION,
            "data_file_md5sum": md5,
            "analysis_software": self.analysis_software or None,
            "adjusted_covariates": list(self.covariates) or None,
            "is_harmonised": False,
            "is_sorted": True,
        }


def meta_path(path: PathLike) -> Path:
    """``<file>-meta.yaml`` beside a GWAS-SSF file (the GWAS Catalog's naming)."""
    return Path(f"{path}-meta.yaml")


def write_meta(path: PathLike, meta: SumstatsMeta, md5: str) -> Path:
    """Write ``<path>-meta.yaml`` for the GWAS-SSF file ``path`` (whose md5 is ``md5``)."""
    import yaml

    from edfgen.formats.tables import atomic_write

    out = meta_path(path)
    d = {k: v for k, v in meta.to_dict(Path(path).name, md5).items() if v is not None}
    with atomic_write(out) as fh:
        yaml.safe_dump(d, fh, sort_keys=False, default_flow_style=False)
    return out


class SumstatsFormatter:
    """GWAS-SSF text rows of one set of variants (e.g. one block of a GWAS), for any number of phenotypes.

    The variant columns are formatted once (Arrow casts) and joined into two pre-built pieces
    (``chromosome .. other_allele`` and ``variant_id, rsid``); numbers use Arrow's C++ formatter
    after rounding to 8 significant digits. Arrow compute kernels run outside the GIL, so several
    threads can format at once. Columns :data:`SSF_COLUMNS` + :data:`SSF_EXTRA_COLUMNS`.

    Parameters
    ----------
    base : DataFrame
        ``chromosome, base_pair_location, effect_allele, other_allele, variant_id, rsid`` of the rows,
        in file order.
    """

    columns = SSF_COLUMNS + SSF_EXTRA_COLUMNS

    def __init__(self, base: pd.DataFrame):
        import pyarrow as pa
        import pyarrow.compute as pc

        self.pa, self.pc = pa, pc
        self.m = len(base)
        self.chromosome = base["chromosome"].astype(str).to_numpy()
        self.position = base["base_pair_location"].to_numpy(dtype=np.int64)
        cols = {c: self._str(pa.array(base[c].to_numpy(), from_pandas=True)) for c in
                ("chromosome", "base_pair_location", "effect_allele", "other_allele", "variant_id", "rsid")}
        self.head = pc.binary_join_element_wise(*[cols[c] for c in SSF_COLUMNS[:4]], "\t")
        self.ids = pc.binary_join_element_wise(cols["variant_id"], cols["rsid"], "\t")
        self.newline = pa.array(["\n"] * self.m)
        self.na = pa.array(["NA"] * self.m)
        self._cache: dict = {}

    def _str(self, arr):
        return self.pc.fill_null(self.pc.cast(arr, self.pa.string()), "NA")

    def _num(self, v):
        return self._str(self.pa.array(round_significant(np.asarray(v, dtype=float)), from_pandas=True))

    def _column(self, v):
        """An integer column (one value per row, or one value for all rows); NA when ``v`` is None."""
        if v is None:
            return self.na
        return self._str(self.pa.array(np.broadcast_to(np.asarray(v), (self.m,))))

    def _shared(self, name: str, v, make):
        """``make(v)``, reused while the next phenotype has equal values (the allele frequency and
        ``n`` are the same for all phenotypes of one missingness group)."""
        v = None if v is None else np.asarray(v)
        hit = self._cache.get(name)
        if hit is not None and (v is None and hit[0] is None or v is not None and hit[0] is not None
                                and np.array_equal(hit[0], v, equal_nan=v.dtype.kind == "f")):
            return hit[1]
        out = make(v)
        self._cache[name] = (None if v is None else v.copy(), out)
        return out

    def rows(self, beta, se, eaf, p, n, *, df=None, n_cases=None, n_controls=None) -> tuple[bytes, np.ndarray]:
        """``(text of the rows, bytes per row)`` for one phenotype; ``df``: t-test degrees of freedom per
        row (linear model), ``None`` for a normal Wald statistic (see :func:`neg_log10_p`)."""
        pa, pc = self.pa, self.pc
        p = np.asarray(p, dtype=float)
        nlp = neg_log10_p(p, beta=beta, standard_error=se, df=df)
        p_str = self._num(p)
        tiny = np.isfinite(p) & (p < TINY_P)
        if tiny.any():
            fixed = np.asarray(p_value_strings(p[tiny], nlp[tiny]), dtype=object)
            full = np.full(self.m, None, dtype=object)
            full[tiny] = fixed
            p_str = pc.if_else(pa.array(tiny), pa.array(full, type=pa.string()), p_str)
        pieces = [self.head, self._num(beta), self._num(se), self._shared("eaf", eaf, self._num), p_str, self.ids,
                  self._shared("n", n, self._column), self._shared("n_cases", n_cases, self._column),
                  self._shared("n_controls", n_controls, self._column),
                  self._str(pa.array(np.round(nlp, 6), from_pandas=True)), self.newline]
        line = pc.binary_join_element_wise(*pieces[:-1], "\t")
        line = pc.binary_join_element_wise(line, self.newline, "")
        if not len(line):
            return b"", np.zeros(0, dtype=np.int64)
        offsets = np.frombuffer(line.buffers()[1], dtype=np.int32 if line.type == pa.string() else np.int64)
        offsets = offsets[line.offset:line.offset + len(line) + 1]
        body = line.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]
        return body, np.diff(offsets).astype(np.int64)


class SumstatsStream:
    """One GWAS-SSF file written block by block (bounded memory): BGZF (ISA-L deflate level 1) into a
    temporary file (:func:`edfgen.formats.tables.temp_name`) with its tabix index built from the rows as
    they are written (``.tbi``: chromosome column 1, position column 2, one header line; the bytes
    htslib's ``tabix`` writes), then, on :meth:`close`, the ``.tbi``, the rename onto ``path`` and
    ``<file>-meta.yaml``. Rows must come in :func:`sort_sumstats` order. One thread at a time.

    The index under construction holds ~32 bytes per 16 kb bin that has rows (up to ~6 MB for a
    whole genome); with ``index_while_writing=False`` htslib indexes the finished file instead (no
    memory, one more read of the file).
    """

    def __init__(self, path: PathLike, *, index: bool = True, level: int = 1, index_while_writing: bool = True):
        from edfgen.formats.bgzf import BgzfWriter, TabixSpec
        from edfgen.formats.tables import temp_name

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.index = index
        self.tmp = temp_name(self.path)
        self._fh = open(self.tmp, "wb")
        self._build = index and index_while_writing
        try:
            self._w = BgzfWriter(self._fh, level=level, tabix=TabixSpec() if self._build else None,
                                 name=str(self.path))
            self._w.write(("\t".join(SumstatsFormatter.columns) + "\n").encode())
        except BaseException:
            self.abort()
            raise

    def append(self, body: bytes, line_lengths: np.ndarray, formatter: SumstatsFormatter) -> None:
        """Append rows formatted by ``formatter`` (:meth:`SumstatsFormatter.rows` gives ``body`` and
        ``line_lengths``); their chromosomes and positions go into the tabix index as they are written."""
        if self._build:
            self._w.write_records(body, formatter.chromosome, formatter.position, line_lengths)
        else:
            self._w.write(body)

    def close(self, meta: SumstatsMeta | None = None) -> str:
        """Finish the file (index, rename, metadata); returns the md5 of the compressed file."""
        from edfgen.formats.bgzf import tabix_index
        from edfgen.formats.tables import temp_name

        self._w.close()
        self._fh.close()
        tbi = None
        try:
            if self._build:
                tbi = temp_name(Path(f"{self.path}.tbi"))
                tbi.write_bytes(self._w.tabix_bytes())
            elif self.index:
                tbi = tabix_index(self.tmp)
        except BaseException:
            self.abort()
            raise
        os.replace(self.tmp, self.path)              # the data first, then its index
        if tbi is not None:
            os.replace(tbi, f"{self.path}.tbi")
        if meta is not None:
            write_meta(self.path, meta, self._w.md5)
        return self._w.md5

    def abort(self) -> None:
        """Drop the temporary file (the target is untouched)."""
        if not self._fh.closed:
            self._fh.close()
        for f in (self.tmp, Path(f"{self.tmp}.tbi")):
            f.unlink(missing_ok=True)


class SumstatsWriter:
    """Writes many GWAS-SSF files over the same variants (all rows at once; see :class:`SumstatsStream`
    for block-by-block writing). ``base`` must be sorted by :func:`sort_sumstats`. Thread-safe: one
    file per call.
    """

    def __init__(self, base: pd.DataFrame, *, index: bool = True):
        self.formatter = SumstatsFormatter(base)
        self.m = len(base)
        self.index = index

    def write(self, path: PathLike, beta, se, eaf, p, n, *, df=None, n_cases=None, n_controls=None,
              meta: SumstatsMeta | None = None) -> str:
        """Write one file; returns its md5 (arguments as :meth:`SumstatsFormatter.rows`)."""
        body, lengths = self.formatter.rows(beta, se, eaf, p, n, df=df, n_cases=n_cases, n_controls=n_controls)
        stream = SumstatsStream(path, index=self.index)
        try:
            stream.append(body, lengths, self.formatter)
        except BaseException:
            stream.abort()
            raise
        return stream.close(meta)
