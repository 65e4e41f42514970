"""GWAS-SSF column layout: the GWAS-SSF column names, the aliases readers accept, the layouts of
other tools' outputs (REGENIE, SAIGE, BOLT-LMM, PLINK 2 ...), the ``--columns`` option, and the
natural chromosome order.

References
----------
Hayhurst J et al. (2022) "A community driven GWAS summary statistics standard",
bioRxiv doi:10.1101/2022.07.15.500230.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import ConfigError, InputError
from edfgen.formats.chromosomes import CHROMOSOME_PREFIX, plain_chromosome_names
from edfgen.kernels.alleles import upper_text

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
    # not "maf": a minor-allele frequency is the effect allele's only where the effect allele is the minor one
    # (read as the effect allele's, --palindromes infer would flip every palindrome whose effect allele is major);
    # METAL's Freq1, fastGWA's AF1 and GIANT's Freq_Tested_Allele are the effect allele's in their tools
    "effect_allele_frequency": ["effect_allele_frequency", "eaf", "a1_freq", "freq", "af",
                                "eaf.exposure", "a1freq", "frq", "freq1", "af1", "freq_tested_allele"],
    "p_value": ["p_value", "p", "pval", "pvalue", "p-value", "p.value", "pval.exposure"],
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
                "n_cases": "n_cases", "n_controls": "n_controls", "sebeta": "standard_error",
                # case and control counts as LDSC's munge_sumstats.py names them, and PGC daner's Nca/Nco
                # (munge_sumstats --daner-n)
                **dict.fromkeys(("ncase", "n_case", "n_cas", "ncases", "cases_n", "nca"), "n_cases"),
                **dict.fromkeys(("ncontrol", "n_control", "n_con", "ncontrols", "controls_n", "nco"), "n_controls"),
                # variance of the trait explained by the variant (MR Steiger); never a bare r2/rsq, which is
                # usually imputation quality (minimac Rsq)
                "variance_explained": "variance_explained"})


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
    own
        Lower-case columns only this tool writes: at least one must be there too (empty: none needed).
    """

    name: str
    signature: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]
    effect_allele_note: str = ""
    own: tuple[str, ...] = ()


#: the layouts read without a --columns mapping, most specific first (their documented headers)
LAYOUTS: tuple[SumstatsLayout, ...] = (
    SumstatsLayout(
        "GWAS-VCF", ("#chrom", "pos", "id", "ref", "alt", "es", "se"),
        (("id", "variant_id"), ("rsid", "rsid"), ("#chrom", "chromosome"), ("pos", "base_pair_location"),
         ("alt", "effect_allele"), ("ref", "other_allele"), ("es", "beta"), ("se", "standard_error"),
         ("lp", "neg_log_10_p_value"), ("af", "effect_allele_frequency"), ("ss", "n"), ("ns", "n"), ("nc", "n_cases")),
        "ALT (GWAS-VCF's ES and AF are the alternative allele's; read by edfgen.formats.sumstats.gwasvcf)"),
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
         ("beta", "beta"), ("se", "standard_error"), ("log10p", "neg_log_10_p_value"), ("n", "n"),
         # a binary trait's case and control counts (written with --af-cc, beside A1FREQ_CASES/A1FREQ_CONTROLS)
         ("n_cases", "n_cases"), ("n_controls", "n_controls")),
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
        "Allele2 (SAIGE's BETA and AF_Allele2 refer to Allele2)",
        # METAL's Allele1 (its effect allele) with R's p.value for P-value looks the same without these
        ("af_allele2", "ac_allele2", "markerid", "tstat", "var", "p.value.na", "is.spa", "is.spa.converge")),
    SumstatsLayout(
        # no P in the signature: the ``log10`` modifier writes LOG10_P instead; no REF: ``cols=`` may leave it out
        "plink2 --glm", ("#chrom", "pos", "id", "alt", "a1"),
        (("#chrom", "chromosome"), ("pos", "base_pair_location"), ("id", "variant_id"), ("a1", "effect_allele"),
         ("omitted", "other_allele"), ("ax", "other_allele"), ("a1_freq", "effect_allele_frequency"),
         ("obs_ct", "n"), ("beta", "beta"), ("or", "odds_ratio"), ("se", "standard_error"),
         ("log(or)_se", "standard_error"), ("l95", "ci_lower"), ("u95", "ci_upper"), ("p", "p_value"),
         ("log10_p", "neg_log_10_p_value")),
        "A1 (other allele: OMITTED/AX, else whichever of REF/ALT is not A1; none without REF); P or LOG10_P; rows "
        "with TEST other than ADD dropped"),
    SumstatsLayout(
        "plink 1.9 --linear/--logistic", ("chr", "snp", "bp", "a1", "test", "nmiss", "p"),
        (("snp", "variant_id"), ("chr", "chromosome"), ("bp", "base_pair_location"), ("a1", "effect_allele"),
         ("a2", "other_allele"), ("nmiss", "n"), ("beta", "beta"), ("or", "odds_ratio"), ("se", "standard_error"),
         ("l95", "ci_lower"), ("u95", "ci_upper"), ("p", "p_value")),
        "A1 (the file has no other allele: MR and harmonisation refuse it unless an A2 column is added); rows with "
        "TEST other than ADD dropped; without SE (--ci), standard_error = |BETA / STAT| (|ln OR / STAT|)"),
    SumstatsLayout(
        "Neale lab UK Biobank", ("variant", "minor_allele", "beta", "se", "pval"),
        (("variant", "variant_id"), ("beta", "beta"), ("se", "standard_error"), ("pval", "p_value"),
         ("n_complete_samples", "n")),
        "alt of variant = chr:pos:ref:alt (beta is the alt allele's; minor_allele is only used to turn minor_AF "
        "into the alt allele's frequency); binary traits' betas are linear-model (observed-scale) effects"),
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
               "n_controls": "n_controls", "rsq": "variance_explained", "z": "z"}
_TARGETS = set(SSF_COLUMNS) | {"odds_ratio", "ci_lower", "ci_upper", "neg_log_10_p_value", "n_cases", "n_controls",
                               "variance_explained", "z"}
#: the layouts whose ``TEST`` column names the model term of each row (only their ``ADD`` rows are read); in any
#: other file a column called TEST is the user's data
TEST_LAYOUTS = ("plink2 --glm", "plink 1.9 --linear/--logistic", "REGENIE step 2")


def parse_column_option(text: str | None, *, option: str = "--columns") -> dict[str, str]:
    """``"beta=b1,se=s1,p=P"`` -> ``{"b1": "beta", "s1": "standard_error", "P": "p_value"}`` (input column ->
    GWAS-SSF column; keys are GWAS-SSF names or the short names of :data:`COLUMN_KEYS`).

    Raises
    ------
    ConfigError
        An item without ``=`` or an unknown key.
    """
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


def _key(name) -> str:
    """A column name as layouts and aliases match it: lower case, without a leading ``#`` (R's ``read.table``,
    pandas and ``sed`` round trips drop the ``#`` of plink2's and FinnGen's ``#CHROM``)."""
    key = str(name).strip().lower().lstrip("#")
    return "chrom" if key == "x.chrom" else key    # R's check.names writes #CHROM as X.CHROM


def detect_layout(columns) -> SumstatsLayout | None:
    """The first layout of :data:`LAYOUTS` whose signature columns are all in ``columns`` (case-insensitive, a
    leading ``#`` ignored: plink2's ``#CHROM`` written ``CHROM`` or, by R, ``X.CHROM`` is still plink2's), with one
    of its own columns if it names any."""
    keys = {_key(c) for c in columns}
    return next((lay for lay in LAYOUTS if {_key(s) for s in lay.signature} <= keys
                 and (not lay.own or keys & set(lay.own))), None)


#: columns METAL writes (its ``Allele1`` is the effect allele): a SAIGE-like header with one is METAL's
METAL_COLUMNS = ("freq1", "effect", "stderr", "markername", "freqse", "minfreq", "maxfreq", "direction")


def _refuse_saige_lookalike(columns, column_map: dict[str, str] | None, source: str) -> None:
    """Refuse a header with SAIGE's signature (``CHR POS Allele1 Allele2 p.value``) but none of SAIGE's own
    columns nor a METAL one, unless ``column_map`` names the effect allele: SAIGE's effect allele is Allele2,
    METAL's Allele1, so which one BETA refers to cannot be told."""
    saige = next(lay for lay in LAYOUTS if lay.name == "SAIGE")
    by_key = {_key(c): c for c in columns}
    if (not set(saige.signature) <= set(by_key) or set(by_key) & set(METAL_COLUMNS)
            or "effect_allele" in (column_map or {}).values()):
        return
    a1, a2 = by_key["allele1"], by_key["allele2"]
    raise InputError(f"{source + ': ' if source else ''}{a1}, {a2} and {by_key['p.value']} as SAIGE writes them, but "
                     f"none of SAIGE's own columns (AF_Allele2, AC_Allele2, MarkerID, Tstat) nor METAL's (Freq1, "
                     f"Effect, StdErr): is BETA {a2}'s (SAIGE) or {a1}'s (METAL)? say which with --columns "
                     f"ea={a2},oa={a1} (SAIGE) or --columns ea={a1},oa={a2} (METAL)")


def _column_mapping(columns, column_map: dict[str, str] | None, *, source: str = "",
                    need: Sequence[str] | None = None) -> tuple[dict[str, str], SumstatsLayout | None]:
    """Input column -> target column: explicit map first, then the detected layout, then aliases.

    In the alias pass a target named by two columns is taken from the one spelled as the GWAS-SSF name
    (``beta`` over ``b``); otherwise the header is refused naming both (``ALT`` and ``A1`` both mean an
    effect allele, ``EAF`` and ``FRQ`` a frequency: which is the file's?) when the target is in ``need`` (every
    target when ``need`` is None); a target not needed is left unmapped (clump needs no alleles).

    Raises
    ------
    InputError
        Two columns alias one needed target (one line naming the file, both columns and the ``--columns`` fix).
    """
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for col in columns:
        if column_map and col in column_map:
            mapping[col] = column_map[col]
            taken.add(column_map[col])
    layout = detect_layout(columns)
    if layout is None and (need is None or "effect_allele" in need):
        _refuse_saige_lookalike(columns, column_map, source)
    if layout is not None:
        by_key: dict[str, str] = {}
        for c in columns:
            by_key.setdefault(_key(c), c)
        for src, dst in layout.columns:
            col = by_key.get(_key(src))
            if col is not None and col not in mapping and dst not in taken:
                mapping[col] = dst
                taken.add(dst)
    if layout is not None and layout.name != "GWAS-SSF":
        return mapping, layout
    for canon, cols in _alias_candidates(columns, mapping, taken).items():
        exact = [c for c in cols if str(c).lower() == canon]
        if len(cols) > 1 and not exact:
            if need is not None and canon not in need:
                if source:
                    log.info("%s: columns %s both read as %s: neither is read (not needed here)", source,
                             " and ".join(map(repr, cols)), canon)
                continue
            key = next((k for k, v in COLUMN_KEYS.items() if v == canon), canon)
            # the tested allele (plink's A1) carries the effect, never ALT when A1 is there
            pick = next((c for c in cols if str(c).lower() == "a1"), cols[0]) if canon == "effect_allele" else cols[0]
            raise InputError(f"{source + ': ' if source else ''}columns {' and '.join(map(repr, cols))} both read "
                             f"as {canon}; name the one to use with --columns, e.g. --columns {key}={pick}")
        mapping[exact[0] if exact else cols[0]] = canon
    _metal_weight(columns, mapping)
    return mapping, layout


def _metal_weight(columns, mapping: dict[str, str]) -> None:
    """METAL's ``SCHEME SAMPLESIZE`` output (``MarkerName Allele1 Allele2 Weight Zscore P-value Direction``): its
    ``Weight`` is the variant's summed sample size, read as ``n`` (LDSC's ``munge_sumstats.py`` reads METAL's
    WEIGHT as N too) where no other column gives ``n``; in place. Elsewhere a column called Weight is the user's."""
    by_key = {_key(c): c for c in columns}
    col = by_key.get("weight")
    if col is not None and col not in mapping and "n" not in mapping.values() and {"markername", "direction"} <= set(by_key):
        mapping[col] = "n"


def _alias_candidates(columns, mapping: dict[str, str], taken: set[str]) -> dict[str, list[str]]:
    """GWAS-SSF target -> the columns not yet mapped whose name is one of its aliases."""
    candidates: dict[str, list[str]] = {}
    for col in columns:
        canon = ALIASES.get(str(col).lower())
        if col not in mapping and canon and canon not in taken:
            candidates.setdefault(canon, []).append(col)
    return candidates


def alias_clashes(columns, column_map: dict[str, str] | None = None) -> set[str]:
    """The targets two columns of a header both alias (and neither spelled as the target), unmapped by
    ``column_map``: what :func:`_column_mapping` refuses when they are needed."""
    mapping, layout = _column_mapping(list(columns), column_map, need=())
    if layout is not None and layout.name != "GWAS-SSF":
        return set()
    taken = set(mapping.values())
    return {canon for canon, cols in _alias_candidates(columns, mapping, taken).items()
            if len(cols) > 1 and not any(str(c).lower() == canon for c in cols)}


def sumstats_columns(columns, column_map: dict[str, str] | None = None, *, source: str = "",
                     need: Sequence[str] | None = None) -> set[str]:
    """GWAS-SSF columns a file with this header gives after mapping and conversion (for discovery).

    Raises
    ------
    InputError
        Two columns alias one target in ``need`` (:func:`_column_mapping`)."""
    mapping, layout = _column_mapping(list(columns), column_map, source=source, need=need)
    got = set(mapping.values())
    name = layout.name if layout is not None else ""
    if name == "plink2 --glm" and "ref" in {_key(c) for c in columns}:
        got.add("other_allele")  # whichever of REF/ALT is not A1
    if name == "Neale lab UK Biobank":
        got |= {"chromosome", "base_pair_location", "effect_allele", "other_allele"}   # split from variant
    if name.startswith("plink 1.9") and "stat" in {str(c).lower() for c in columns} and got & {"beta", "odds_ratio"}:
        got.add("standard_error")   # |beta / STAT|
    if "rsid" in got or {"chromosome", "base_pair_location", "other_allele", "effect_allele"} <= got:
        got.add("variant_id")  # when absent: the (first) rsid, else chrom:pos:ref:alt
    if "beta" not in got and "odds_ratio" in got:
        got.add("beta")
        if {"ci_lower", "ci_upper"} <= got:
            got.add("standard_error")
    if "p_value" not in got and "neg_log_10_p_value" in got:
        got.add("p_value")
    return got


#: two-sided 95% normal quantile (odds-ratio CIs -> SE of log OR)
Z95 = 1.959963984540054


def _additive_rows(df: pd.DataFrame, test: str, source: str) -> tuple[pd.DataFrame, list[str]]:
    """The rows of a file with a ``TEST`` column (plink2 ``--glm``, plink 1.9 ``--linear``/``--logistic``, REGENIE)
    whose test is the additive one (``ADD``): covariate rows (plink without ``hide-covar``), dominance and
    interaction terms are not the variant's additive effect.

    Raises
    ------
    InputError
        No row is ``ADD`` (REGENIE ``--test dominant``, ``--interaction``): naming the file and its TEST values.
    """
    values = upper_text(df[test], strip=True)
    keep = (values == "ADD").to_numpy()
    if keep.all():
        return df, []
    if not keep.any() and len(df):
        seen = ", ".join(map(str, pd.unique(df[test].astype(str))[:5]))
        raise InputError(f"{source + ': ' if source else ''}no row has {test} == ADD (its {test} values: {seen}); "
                         "edfgen reads additive-model results only (not --test dominant/recessive or interaction "
                         "terms such as REGENIE --interaction's ADD-CONDTL / ADD-INT_*)")
    log.info("%s: %d of %d rows dropped (%s is not ADD: covariate, dominance or interaction terms)",
             source or "file", int((~keep).sum()), len(df), test)
    return df.loc[keep].reset_index(drop=True), [f"kept {test} == ADD ({int(keep.sum())} of {len(df)} rows)"]


def _neale_variants(df: pd.DataFrame, lower: dict[str, str], source: str) -> list[str]:
    """Neale lab UK Biobank files: chromosome, position and alleles from ``variant`` (``chr:pos:ref:alt``; beta is
    the alt allele's), the alt allele's frequency from ``minor_allele``/``minor_AF``; in place."""
    parts = df["variant_id"].astype(str).str.split(":", expand=True)
    if parts.shape[1] != 4 or parts.isna().any().any():
        bad = int(np.flatnonzero(df["variant_id"].astype(str).str.count(":").to_numpy() != 3)[0])
        raise InputError(f"{source}: column 'variant', row {bad + 1}: {df['variant_id'].iloc[bad]!r} is not "
                         "chr:pos:ref:alt (Neale lab UK Biobank layout)")
    df["chromosome"], df["other_allele"], df["effect_allele"] = parts[0], parts[2], parts[3]
    df["base_pair_location"] = pd.to_numeric(parts[1], errors="coerce")
    notes = ["chromosome, base_pair_location, other_allele (ref), effect_allele (alt) from variant chr:pos:ref:alt"]
    maf, minor = lower.get("minor_af"), lower.get("minor_allele")
    if maf in df.columns and minor in df.columns:
        f = pd.to_numeric(df[maf], errors="coerce")
        df["effect_allele_frequency"] = np.where(df[minor].astype(str).str.upper() == parts[3].str.upper(), f, 1 - f)
        notes.append(f"effect_allele_frequency = {maf} where {minor} is alt, else 1 - {maf}")
    low = lower.get("low_confidence_variant")
    if low in df.columns:
        n_low = int(df[low].astype(str).str.strip().str.lower().isin(("true", "1")).sum())
        notes.append(f"{n_low} low_confidence_variant rows kept (filter them with the column if wanted)")
    return notes


def _convert_layout(df: pd.DataFrame, layout: SumstatsLayout | None, original: pd.Index,
                    source: str = "") -> tuple[pd.DataFrame, list[str]]:
    """Tool-specific fixes after renaming; returns notes for the mapping report."""
    notes: list[str] = []
    lower = {str(c).lower(): c for c in original}
    name = layout.name if layout else ""
    test = lower.get("test")
    if test is not None and test in df.columns and name in TEST_LAYOUTS:   # elsewhere a TEST column is data
        df, more = _additive_rows(df, test, source)
        notes += more
    if name == "plink2 --glm" and "other_allele" not in df.columns and "ref" in lower:
        ref, alt = df[lower["ref"]].astype(str), df[lower["alt"]].astype(str)
        ea = df["effect_allele"].astype(str)
        df["other_allele"] = np.where(ea == alt, ref, alt)
        notes.append("other_allele = whichever of REF/ALT is not A1")
    if name == "Neale lab UK Biobank":
        notes += _neale_variants(df, lower, source)
    maf = lower.get("maf")
    if maf is not None and maf in df.columns and "effect_allele_frequency" not in df.columns:
        notes.append(f"{maf} not read as effect_allele_frequency (a minor-allele frequency; if it is the effect "
                     f"allele's, map it: --columns eaf={maf})")
    cpra_cols = {"chromosome", "base_pair_location", "other_allele", "effect_allele"}
    if "variant_id" not in df.columns and ("rsid" in df.columns or cpra_cols <= set(df.columns)):
        # FinnGen's layout, and GWAS-SSF files without the optional variant_id (GWAS Catalog harmonised files
        # often carry rsid only): the (first) rsID, else chrom:pos:ref:alt
        first = df["rsid"].astype("string").str.split(",").str[0].str.strip() if "rsid" in df.columns else None
        cpra = (df["chromosome"].astype(str) + ":" + df["base_pair_location"].astype(str) + ":"
                + df["other_allele"].astype(str) + ":" + df["effect_allele"].astype(str)
                if cpra_cols <= set(df.columns) else None)
        if first is not None:
            ok = first.str.match(r"^rs\d+$", na=False).to_numpy(dtype=bool)
            df["variant_id"] = np.where(ok, first.to_numpy(dtype=object),
                                        cpra.to_numpy(dtype=object) if cpra is not None else first.to_numpy(dtype=object))
            if name == "FinnGen":
                df["rsid"] = np.where(ok, first.to_numpy(dtype=object), pd.NA)
        else:
            df["variant_id"] = cpra
        keys = [*(["first rsid" if name == "FinnGen" else "rsid"] if first is not None else []),
                *(["chrom:pos:ref:alt"] if cpra is not None else [])]
        notes.append("variant_id = " + ", else ".join(keys))
    if "odds_ratio" in df.columns:
        notes += _odds_ratio_rows(df, source, lower.get("odds_ratio") or next(
            (c for c in original if _key(c) in ("or", "hm_odds_ratio", "odds_ratio")), "odds_ratio"))
    stat = lower.get("stat")
    if name.startswith("plink 1.9") and "standard_error" not in df.columns and stat in df.columns and "beta" in df:
        with np.errstate(divide="ignore", invalid="ignore"):
            se = np.abs(pd.to_numeric(df["beta"], errors="coerce") / pd.to_numeric(df[stat], errors="coerce"))
        df["standard_error"] = se.where(np.isfinite(se) & (se > 0))
        notes.append(f"standard_error = |beta / {stat}| (the file has no SE; plink 1.9 prints 4 significant digits)")
    if "p_value" not in df.columns and "neg_log_10_p_value" in df.columns:
        nl = pd.to_numeric(df["neg_log_10_p_value"], errors="coerce").to_numpy(dtype=float)
        # -log10 p a hair below 0 is p = 1 written after rounding (a p-value rounded up before its log was taken;
        # IEU OpenGWAS files carry such LP values): read as p = 1, counted; anything more negative stays a p > 1
        # that the value rules refuse with the variant named (as a p_value column above 1 is)
        rounded = (nl < 0) & (nl >= -LOG10P_ROUNDING)
        nl = np.where(rounded, 0.0, nl)
        df["p_value"] = np.power(10.0, -nl)
        notes.append("p_value = 10^-(-log10 p)" + (f" ({int(rounded.sum())} values in [-{LOG10P_ROUNDING:g}, 0), "
                                                     "rounding, read as p = 1)" if rounded.any() else ""))
    return df, notes


def _odds_ratio_rows(df: pd.DataFrame, source: str = "", column: str = "odds_ratio") -> list[str]:
    """``beta = ln OR`` on every row whose beta is missing (no beta column, or an empty one: GWAS Catalog
    harmonised ``hm_beta`` of a case-control study, GWAS-SSF ``beta`` NA beside ``odds_ratio``), and on those
    rows ``standard_error = (ln upper - ln lower 95% CI) / (2 x 1.96)`` where the SE is missing; in place. A row
    with both keeps its beta (warned when more than :data:`OR_BETA_DISAGREEMENT_ROWS` disagree with ln OR).

    Raises
    ------
    InputError
        An odds ratio that is not a positive finite number (naming the file, ``column`` and the row)."""
    orr = pd.to_numeric(df["odds_ratio"], errors="coerce")
    beta = pd.to_numeric(df["beta"], errors="coerce") if "beta" in df.columns else pd.Series(np.nan, index=df.index)
    bad = orr.notna() & ~(np.isfinite(orr) & (orr > 0))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        vid = f" (variant {df['variant_id'].iloc[i]})" if "variant_id" in df.columns else ""
        raise InputError(f"{source + ': ' if source else ''}column {column!r}, row {i + 1}{vid}: odds ratio "
                         f"{orr.iloc[i]:g} is not a positive finite number")
    both = (beta.notna() & orr.notna()).to_numpy()
    if both.any():
        b, lor = beta.to_numpy(dtype=float)[both], np.log(orr.to_numpy(dtype=float)[both])
        # beyond 1e-3 relative and beyond an odds ratio rounded to 2 decimals
        off = (np.abs(lor - b) > 1e-3 * np.maximum(np.abs(b), np.abs(lor))) & (np.abs(np.exp(b) - np.exp(lor)) > 5e-3)
        if off.sum() > OR_BETA_DISAGREEMENT_ROWS:
            log.warning("%s: beta and ln(%s) disagree on %d of %d rows with both (e.g. beta %.4g, %s %.4g): beta is "
                        "read; is %s the odds ratio of the same allele?", source or "file", column, int(off.sum()),
                        int(both.sum()), b[off][0], column, np.exp(lor[off][0]), column)
    rows = beta.isna() & orr.notna()
    if not rows.any():
        return []
    with np.errstate(divide="ignore", invalid="ignore"):
        df["beta"] = beta.where(~rows, np.log(orr))
    some = "" if rows.all() else f" on {int(rows.sum())} of {len(df)} rows (those without a beta)"
    note = f"beta = ln(odds ratio){some}"
    se = (pd.to_numeric(df["standard_error"], errors="coerce") if "standard_error" in df.columns
          else pd.Series(np.nan, index=df.index))
    if {"ci_lower", "ci_upper"} <= set(df.columns):
        lo = pd.to_numeric(df["ci_lower"], errors="coerce")
        hi = pd.to_numeric(df["ci_upper"], errors="coerce")
        fill = rows & se.isna()
        with np.errstate(divide="ignore", invalid="ignore"):
            df["standard_error"] = se.where(~fill, (np.log(hi) - np.log(lo)) / (2 * Z95))
        if fill.any():
            note += ", standard_error = (ln upper - ln lower 95% CI) / (2 x 1.96)" + (
                "" if fill.all() else f" on {int(fill.sum())} rows")
    if (rows & se.notna()).any():
        note += " (standard_error taken as the SE of ln OR)"
    return [note]


#: rows on which beta and ln(odds ratio) may disagree before a file is warned about
OR_BETA_DISAGREEMENT_ROWS = 5

#: -log10 p values in [-LOG10P_ROUNDING, 0) are read as p = 1 (p ≤ 1.0023: rounding, not a p > 1)
LOG10P_ROUNDING = 1e-3


#: sort order of chromosome labels; PLINK's numeric codes 23-26 (X, Y, XY, MT: plink1.9 writes them in a
#: .bim) sort with their names, so a file that names chromosome X both ways is written as one chromosome;
#: XY (PLINK's pseudo-autosomal region, on chromosome X's coordinates) sorts with X, by position
CHROM_ORDER = ({str(i): i for i in range(1, 23)} | {"X": 23, "Y": 24, "XY": 23, "MT": 26, "M": 26}
               | {"23": 23, "24": 24, "25": 23, "26": 26, "PAR1": 23, "PAR2": 23})


#: GWAS-SSF codes the sex chromosomes and the mitochondrion as numbers (the GWAS Catalog validator
#: takes 1-25): written as 23/24/25, read back as X/Y/MT (also REGENIE/BOLT's 23 for X); PLINK's 26 (MT)
#: is written as 25, and PLINK's XY / 25 (the pseudo-autosomal region) as 23 (X: GWAS-SSF has no code for
#: it, and its positions are chromosome X's; ``plink2 --merge-x`` does the same)
SSF_CHROMOSOME_CODES = {"X": "23", "Y": "24", "MT": "25", "M": "25", "26": "25", "XY": "23", "25": "23",
                        "PAR1": "23", "PAR2": "23"}   # plink2 --split-par names the pseudo-autosomal regions
SSF_CHROMOSOME_NAMES = {"23": "X", "24": "Y", "25": "MT"}


#: labels that name X or MT in every convention (PLINK's XY is the pseudo-autosomal region, on X's coordinates);
#: ``25`` is not here: MT in GWAS-SSF, XY in PLINK's numeric codes
UNAMBIGUOUS_CHROMOSOMES = {"XY": "X", "M": "MT", "26": "MT", "PAR1": "X", "PAR2": "X"}


#: length of the mitochondrial genome (rCRS, bp): a ``25`` row beyond it cannot be MT
MT_LENGTH = 16_569


def chromosome_labels(chrom: pd.Series, positions: pd.Series | None = None) -> pd.Series:
    """Chromosome labels as edfgen keeps them: no ``chr`` prefix or leading zeros (``01`` is 1), 23/24/25 as
    X/Y/MT, and XY / M / 26 as X / MT (as :func:`genotype_chromosome_labels` gives a genotype file's labels, so
    a plink2 ``--glm`` file's PAR and MT rows meet clump's leads and the LD panel's variants).

    ``25`` is MT in GWAS-SSF but the pseudo-autosomal region (XY) in PLINK's numeric codes (plink2 ``--glm``,
    BOLT, REGENIE): ``25`` is X in a file that also has ``26`` (PLINK's MT), and, given ``positions``, a ``25`` row
    beyond the mitochondrial genome's :data:`MT_LENGTH` is X."""
    c = plain_chromosome_names(chrom)
    if (c == "25").any() and c.isin(["26", "XY"]).any():     # PLINK's codes: 26 (or XY) is MT, so 25 is XY
        c = c.where(c != "25", "X")
    elif positions is not None and (c == "25").any():
        par = (c == "25").to_numpy() & (pd.to_numeric(positions, errors="coerce") > MT_LENGTH).to_numpy()
        c = c.where(~par, "X")
    c = c.replace(SSF_CHROMOSOME_NAMES) if c.isin(list(SSF_CHROMOSOME_NAMES)).any() else c
    return c.replace(UNAMBIGUOUS_CHROMOSOMES) if c.isin(list(UNAMBIGUOUS_CHROMOSOMES)).any() else c


def genotype_chromosome_labels(chrom) -> np.ndarray:
    """Chromosome labels of a genotype file (``.bim``/``.pvar``/VCF, PLINK's numeric codes 23-26 included) as
    a GWAS-SSF file edfgen writes gives them back: X for ``X``, ``23``, ``XY`` and ``25`` (PLINK's
    pseudo-autosomal region, on X's coordinates), Y for ``24``, MT for ``26`` and ``M``, no ``chr`` prefix or
    leading zeros (UK Biobank's BGEN ``01`` is 1) (:data:`SSF_CHROMOSOME_CODES`, then
    :data:`SSF_CHROMOSOME_NAMES`). Outputs keyed like the summary statistics (clump's lead chromosomes) use
    these, so a lead finds its region and genes."""
    return pd.Series(ssf_chromosome_codes(chrom), dtype=object).replace(SSF_CHROMOSOME_NAMES).to_numpy(dtype=object)


def ssf_chromosome_codes(chrom) -> np.ndarray:
    """Chromosome labels as a GWAS-SSF file gives them: no ``chr`` prefix or leading zeros, and X, Y, MT and
    PLINK's XY, 25 and 26 coded by :data:`SSF_CHROMOSOME_CODES` in any case (``x``, ``chrX``, ``Mt``; a
    ``.bim`` may write them so); other labels (``0``, contigs) as written. Edited once per distinct label."""
    codes, uniques = pd.factorize(pd.Series(np.asarray(chrom, dtype=object)).astype(str), use_na_sentinel=False)
    names = pd.Series(uniques, dtype=object).str.replace(CHROMOSOME_PREFIX, "", regex=True)
    names = names.str.upper().map(SSF_CHROMOSOME_CODES).fillna(names)
    return names.to_numpy(dtype=object)[codes]


def chrom_key(chrom: pd.Series) -> pd.Series:
    """Sortable integer key for chromosome labels (``1``..``22``, ``X``, ``Y``, ``MT``; ``chr`` prefix and leading
    zeros ignored)."""
    codes, uniques = pd.factorize(chrom.astype(str), use_na_sentinel=False)   # keyed once per distinct name
    c = pd.Series(uniques, dtype=object).str.replace(CHROMOSOME_PREFIX, "", regex=True).str.upper()
    return pd.Series(c.map(CHROM_ORDER).fillna(99).astype(int).to_numpy()[codes], index=chrom.index, name=chrom.name)
