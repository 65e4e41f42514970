"""Reading summary statistics: any recognised layout mapped to GWAS-SSF names
(:func:`read_sumstats`), only the needed columns fast (:func:`read_sumstats_columns`), value checks
and the GWAS-SSF sort order."""

from __future__ import annotations

import functools
import gzip
import logging
import os
import stat
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.sumstats.coordinates import declares_zero_based
from edfgen.formats.sumstats.gwasvcf import gwas_vcf_columns, is_gwas_vcf_name, read_gwas_vcf
from edfgen.formats.sumstats.multiallelic import omitted_alleles
from edfgen.formats.sumstats.layout import _column_mapping, _convert_layout, chrom_key, chromosome_labels
from edfgen.formats.tables import PathLike, is_parquet, read_table
from edfgen.formats import textio
from edfgen.formats.textio import GZIP_MAGIC, _stream_key, read_text_bytes
from edfgen.kernels.pvalues import neg_log10_text
from edfgen.kernels.alleles import upper_text
from edfgen.kernels.validate import numeric_values

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SumstatsMapping:
    """Which input column became which GWAS-SSF column."""

    path: str
    mapping: dict[str, str] = field(default_factory=dict)
    layout: str = ""
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        renamed = {k: v for k, v in self.mapping.items() if k != v}
        lay = f" (layout {self.layout})" if self.layout else " (no tool's layout: column names and aliases)"
        return (f"{self.path}{lay}: columns mapped " + (", ".join(f"{k}->{v}" for k, v in renamed.items())
                                                       or "as GWAS-SSF") + "".join(f"; {n}" for n in self.notes))


def read_header(path: PathLike) -> list[str]:
    """The column names of a summary-statistics file (read without the body; for a GWAS-VCF, the columns
    :func:`~edfgen.formats.sumstats.gwasvcf.read_gwas_vcf` gives). A file that cannot be read whole is refused
    by :func:`read_sumstats`, not here. A regular file's header is read once while its inode, size and
    modification time stay the same (a command asks for it several times: discovery, options, the reader; ~40 ms
    a gzip file); a file modified in the last :data:`RACY_S` seconds is read each time (its modification time, of
    the kernel's coarse clock, might not change at a rewrite of the same size).

    Parameters
    ----------
    path : str or Path
        Summary-statistics file.

    Returns
    -------
    list of str
    """
    try:
        st = os.stat(path)
    except OSError:                    # the reader says what is wrong with it
        return _read_header(path)
    if not stat.S_ISREG(st.st_mode) or time.time() - st.st_mtime < RACY_S:   # a FIFO, or a file being written
        return _read_header(path)
    return list(_cached_header(str(Path(path).absolute()), st.st_ino, st.st_size, st.st_mtime_ns))


#: a file modified less than this many seconds ago: its header is not cached (:func:`read_header`)
RACY_S = 2.0


@functools.lru_cache(maxsize=4096)
def _cached_header(path: str, inode: int, size: int, mtime_ns: int) -> tuple[str, ...]:
    """:func:`_read_header` of ``path`` as of that inode, size and modification time."""
    return tuple(_read_header(path))


def _read_header(path: PathLike) -> list[str]:
    """The column names of ``path``, read (:func:`read_header`)."""
    path = Path(path)
    if is_parquet(path):                     # (.pq too, as read_table: review of s40)
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    if is_gwas_vcf_name(path):
        return gwas_vcf_columns(path)
    sep = "," if ".csv" in path.name.lower() else "\t"
    compression, data = "infer", None
    if _stream_key(path) is not None:      # a FIFO or pipe: read once, its rows from the same bytes later
        data = read_text_bytes(path)       # (decompressed: no name to go by)
        compression = None
        if textio.comma_separated(data):    # its name (/dev/fd/63) says nothing of its separator
            sep = ","
    elif path.is_file():                   # gzip/zstd by its bytes, not its name ('.tsv.bgz', a gzip file named '.tsv')
        with open(path, "rb") as fh:
            head = fh.read(4)
        compression = "gzip" if head[:2] == GZIP_MAGIC else None
        if textio.is_zstd(head):           # its head only, through textio (pandas' zstd reader stops at a frame's end)
            with textio.open_decompressed(path) as fh:
                data = fh.readline(textio.MAX_FIRST_LINE + 1)
                while data and not data.strip(b"\r\n"):   # empty lines before the header skipped, as pandas
                    data = fh.readline(textio.MAX_FIRST_LINE + 1)   # skips them in .tsv and .tsv.gz
            if not data.strip(b"\r\n"):       # nothing decompressed: empty, or cut inside its first block
                read_text_bytes(path)           # ("truncated zstd file", as a cut .gz is named; second read s42)
        _check_first_line(path, compression == "gzip", data)

    def source():                          # a stream: a fresh buffer for each read (the first read used one up)
        return path if data is None else textio.text_reader(data)
    cols = list(pd.read_csv(source(), sep=sep, nrows=0, compression=compression).columns)
    if len(cols) == 1 and " " in str(cols[0]):  # space-separated (REGENIE, SAIGE)
        cols = list(pd.read_csv(source(), sep=r"\s+", nrows=0, compression=compression).columns)
    return cols


def _check_first_line(path: Path, gz: bool, first: bytes | None = None) -> None:
    """Refuse a first line longer than :data:`~edfgen.formats.textio.MAX_FIRST_LINE` before pandas splits it (a
    50 MB line without a line end: 2.1 GB and over 30 s in the header read of mr/coloc/finemap; stop 39 matrix);
    ``first``: the line, when read already (a zstd file's)."""
    try:
        if first is None:
            with (gzip.open if gz else open)(path, "rb") as fh:
                first = fh.readline(textio.MAX_FIRST_LINE + 1)  # (to the first LF only: review of s40, reading the
    except (OSError, EOFError, zlib.error):                    # cap's 16 MiB of every file cost 185 ms a header)
        return                           # the readers say what is wrong with the stream
    # a line ends at LF or, classic Mac, at CR (as the readers split it): a CR-only file over the cap was refused
    if len(first) > textio.MAX_FIRST_LINE and b"\r" not in first[:-1]:
        raise InputError(f"{path}: its first line is longer than {textio.MAX_FIRST_LINE >> 20} MiB: not a text table (a "
                         "header line holds at most that); is it the right file?")


def checked_header(path: PathLike) -> list[str]:
    """:func:`read_header`, every failure one line naming the file (the reasons of
    :func:`~edfgen.formats.textio.read_text_bytes` where it gives one: truncated, UTF-16, not text ...).

    Parameters
    ----------
    path : str or Path
        Summary-statistics file.

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        An empty file, a folder, a symlink loop, a file that is not text or not a table.
    """
    try:
        return read_header(path)
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty (no header line): not summary statistics") from None
    except Exception as exc:  # noqa: BLE001 - pandas' parser, gzip, zlib, codec and OS errors alike: one line
        if Path(path).is_file():
            textio.check_text_head(path)             # its own reason first, where it has one (its head only)
        why = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: cannot be read as summary statistics ({why})") from None


def read_sumstats(path: PathLike, *, column_map: dict[str, str] | None = None,
                  required: tuple[str, ...] = ("variant_id", "effect_allele", "other_allele", "beta",
                                               "standard_error", "p_value"),
                  wanted: tuple[str, ...] = ()) -> tuple[pd.DataFrame, SumstatsMapping]:
    """Read summary statistics, mapping aliases to GWAS-SSF names.

    Parameters
    ----------
    path
        TSV/CSV/parquet file (gzip allowed), or GWAS-VCF (``.vcf``, ``.vcf.gz``: IEU OpenGWAS,
        :mod:`edfgen.formats.sumstats.gwasvcf`).
    column_map
        Explicit ``{input_column: ssf_column}`` overrides, applied before aliases.
    required
        GWAS-SSF columns that must be present after mapping.
    wanted
        GWAS-SSF columns the caller uses when present: two columns aliasing one of them (``EAF`` and ``FRQ``) are
        refused as for ``required`` (another target named twice is not read).

    Returns
    -------
    (DataFrame, SumstatsMapping)
        Columns renamed to GWAS-SSF (other columns kept); alleles upper-cased;
        ``chromosome`` as string without ``chr`` prefix.
    """
    df = read_gwas_vcf(path) if is_gwas_vcf_name(path) else _read_text_table(path)
    original = df.columns
    column_map = dict(column_map or {})
    absent = [c for c in column_map if c not in original]
    if absent:
        raise InputError(f"{path}: --columns names {', '.join(map(repr, absent))}, not in the file's header "
                         f"({_header_text(original)})")
    mapping, layout = _column_mapping(list(original), column_map, source=str(path), need=(*required, *wanted))
    clash = [c for c in original if c not in mapping and c in set(mapping.values())]
    df = df.rename(columns={**{c: f"{c}_original" for c in clash}, **mapping})
    df = df.loc[:, ~df.columns.duplicated()]
    if not is_gwas_vcf_name(path):     # (before the layout's row filters: the text read again lines up by row)
        src = next((c for c, d in mapping.items() if d == "p_value"), None)
        df = with_underflow_log10(df, src, lambda: read_table(path, dtype={src: str})[src])
    df, notes = _convert_layout(df, layout, original, str(path))
    if layout is not None and layout.name == "plink2 --glm" and "other_allele" in df.columns:
        low = {str(c).lower(): c for c in original}
        notes = [*notes, *omitted_alleles(df, low.get("ref"), low.get("alt"), str(path))]
    missing = [c for c in required if c not in df.columns]
    if missing:
        found = f"read as {layout.name}; " if layout else ""
        if layout is not None and layout.name.startswith("plink 1.9") and "other_allele" in missing:
            raise InputError(f"{path}: no column for {', '.join(missing)} ({found}plink 1.9 --linear/--logistic "
                             "output names only the tested allele A1: add an A2 column (the .bim's other allele) "
                             "or run plink2 --glm, whose output has both)")
        if layout is not None and layout.name == "plink2 --glm" and "other_allele" in missing:
            raise InputError(f"{path}: no column for {', '.join(missing)} ({found}the file has no REF column, so the "
                             "other allele of rows where A1 is ALT is unknown: rerun plink2 --glm with REF in cols=, "
                             "or add the .pvar's REF column)")
        hint = _why_missing(original, missing)
        if hint:
            raise InputError(f"{path}: no column for {', '.join(missing)} ({hint})")
        raise InputError(f"{path}: no column for {', '.join(missing)} ({found}the file's header: "
                         f"{_header_text(original)}); name them with --columns, e.g. "
                         f"--columns beta=BETA_COL,se=SE_COL,p=P_COL,ea=A1,oa=A2,snp=ID")
    for a in ("effect_allele", "other_allele"):
        if a in df.columns:
            df[a] = upper_text(df[a])
    if "chromosome" in df.columns:
        df["chromosome"] = chromosome_labels(df["chromosome"], df.get("base_pair_location"))
    if "variant_id" in df.columns:
        df["variant_id"] = df["variant_id"].astype(str)
    check_sumstats_values(df, path, mapping)
    if "variant_id" in df.columns:
        df = named_variants(df, path)
    if "base_pair_location" in df.columns and declares_zero_based(path):
        df["base_pair_location"] = df["base_pair_location"] + 1
        notes = [*notes, "base_pair_location + 1 (its -meta.yaml declares coordinate_system 0-based)"]
    m = SumstatsMapping(str(path), {k: v for k, v in mapping.items()}, layout=layout.name if layout else "",
                        notes=tuple(notes))
    log.debug(m.describe())
    return df, m


def _why_missing(columns, missing: list[str]) -> str:
    """Why a file lacks what ``missing`` names, where ``--columns`` cannot give it, or ``""``: a plink 1.9 ``.qassoc``
    (quantitative trait: ``CHR SNP BP NMISS BETA SE R2 T P``) names no allele at all, a case-control ``.assoc``
    (``... A1 F_A F_U A2 CHISQ P OR``) has an SE of ln OR only with ``--ci``, and a z-score file (LDSC's munged
    ``SNP A1 A2 Z N``, METAL's SAMPLESIZE scheme) has no beta and SE."""
    keys = {str(c).strip().lower() for c in columns}
    if {"beta", "standard_error"} <= set(missing) and keys & {"z", "zscore", "z_score"}:
        return ("the file has z-scores, no beta and standard error (LDSC's munged .sumstats, METAL's SAMPLESIZE "
                "scheme): ldsc reads z-scores; mr needs each variant's beta and its SE")
    if {"nmiss", "r2", "t"} <= keys and "a1" not in keys and {"effect_allele", "other_allele"} & set(missing):
        return ("plink 1.9 --assoc on a quantitative trait (.qassoc) names no allele: its BETA is A1's, the allele "
                "minor in the analysed samples (not the .bim's A1) unless plink ran with --keep-allele-order; rerun "
                "with --keep-allele-order and add A1 and A2 columns from the .bim, or take A1 and A2 from plink --freq "
                "on the same samples, or run plink --linear or plink2 --glm, whose output names them")
    if {"f_a", "f_u", "chisq", "or"} <= keys and "standard_error" in missing:
        return ("plink 1.9 --assoc (.assoc) writes the SE of ln OR only with --ci 0.95 (its CHISQ is the allelic "
                "test, not the odds ratio's Wald test): rerun it with --ci 0.95, or plink --logistic / plink2 --glm")
    return ""


#: text read as a missing value in the numeric columns (pandas' defaults and plink's ``.``; text columns keep it)
MISSING_TEXT = ("", "NA", "NaN", "nan", "N/A", "NULL", "null", "None", ".")


def named_variants(df: pd.DataFrame, path: PathLike) -> pd.DataFrame:
    """``df`` with a missing ``variant_id`` (``.``, empty, ``NA``: plink2 writes ``.`` for a variant its .pvar
    does not name) replaced by ``chromosome:position:other:effect``, as in a file without the column and GWAS-VCF's
    ``.``; rows without those too are left out (warned, as TwoSampleMR drops rows without a SNP). Unnamed rows
    read as the literal id ``.`` were one variant repeated, and refused."""
    missing = df["variant_id"].astype(str).str.strip().isin(MISSING_TEXT).to_numpy()
    if not missing.any():
        return df
    named = np.zeros(len(df), dtype=bool)
    cpra = ("chromosome", "base_pair_location", "other_allele", "effect_allele")
    if set(cpra) <= set(df.columns):
        pos = pd.to_numeric(df["base_pair_location"], errors="coerce")
        named = missing & pos.notna().to_numpy() & df["chromosome"].notna().to_numpy()
        ids = (df["chromosome"].astype(str) + ":" + pos.fillna(0).round().astype(np.int64).astype(str) + ":"
               + df["other_allele"].astype(str) + ":" + df["effect_allele"].astype(str))
        df.loc[named, "variant_id"] = ids[named]
        if named.any():     # (a harmonised file's unharmonised rows have no position either: no "0 row(s)" line)
            log.info("%s: %d row(s) without a variant id ('.', empty or NA) named chromosome:position:other:effect",
                     path, int(named.sum()))
    gone = missing & ~named
    if gone.any():
        log.warning("%s: %d row(s) without a variant id ('.', empty or NA; e.g. row %d) and no chromosome and "
                    "position to name them: left out", path, int(gone.sum()), int(np.flatnonzero(gone)[0]) + 1)
        df = df[~gone].reset_index(drop=True)
    return df


def _read_text_table(path: PathLike) -> pd.DataFrame:
    """:func:`~edfgen.formats.tables.read_table`, refusing a ``;``-separated file (European Excel's CSV, often
    with decimal commas) in one line that says so, instead of a field-count error."""
    if is_parquet(path):
        return read_table(path)
    raw = read_text_bytes(path)
    if b"\r" in raw and b"\n" not in raw:     # classic Mac line ends (CR only): read as the lines they are (a
        log.info("%s: lines end in CR only (classic Mac): read as lines", path)   # file over 16 MiB: review s40)
        raw = raw.replace(b"\r", b"\n")
    try:
        df = read_table(path, text=raw)
    except InputError as exc:
        first = raw[:raw.find(b"\n")]
        if _semicolons(first.decode("utf-8", "replace")):
            raise InputError(_semicolon_message(path)) from None
        raise exc from None
    if len(df.columns) == 1 and _semicolons(str(df.columns[0])):
        raise InputError(_semicolon_message(path))
    return df


def _semicolons(header: str) -> bool:
    return header.count(";") >= 2 and "\t" not in header and "," not in header


def _semicolon_message(path: PathLike) -> str:
    return (f"{path}: the header is separated by ';' (a European-locale CSV): save it tab-separated (or "
            "comma-separated with '.' as the decimal mark)")


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
    df = fast_sumstats_columns(path, required=required, optional=optional, arrow_strings=arrow_strings)
    if df is None:
        wanted = tuple(dict.fromkeys((*required, *optional)))
        return _subset(read_sumstats(path, required=required)[0], wanted)
    return df


def fast_sumstats_columns(path: PathLike, *, required: tuple[str, ...], optional: tuple[str, ...] = (),
                          arrow_strings: bool = False) -> pd.DataFrame | None:
    """:func:`read_sumstats_columns`' fast path alone: ``None`` where it would read the file with
    :func:`read_sumstats` instead (another suffix or layout, a repeated column, odds ratios, a value Arrow cannot
    parse or the value rules refuse, an unnamed variant), so that a caller can read such a file its own way."""
    wanted = tuple(dict.fromkeys((*required, *optional)))
    path = Path(path)
    name = path.name.lower()
    if not (name.endswith((".tsv", ".tsv.gz", ".txt.gz", ".tsv.bgz")) and path.is_file()):
        return None
    raw = read_text_bytes(path)     # a truncated gzip/BGZF file is refused here
    if b"\n" not in raw:              # (CR-only line ends: read_sumstats reads them)
        return None
    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column's name
    header = raw[:raw.find(b"\n")].decode("utf-8-sig", "replace").rstrip("\r").split("\t")
    mapping, layout = _column_mapping(header, None, source=str(path), need=required)
    found = {dst: src for src, dst in mapping.items()}
    if (layout is not None and layout.name != "GWAS-SSF" or len(set(header)) != len(header)
            or "odds_ratio" in found and {"beta", "standard_error"} & set(wanted)):   # ln OR per row
        return None
    source = {dst: found[dst] for dst in wanted if dst in found}      # in the order asked for
    if any(c not in source for c in required):
        return None
    import pyarrow as pa
    import pyarrow.csv as pcsv

    types = {src: (pa.string() if dst in _TEXT_COLUMNS else pa.float64()) for dst, src in source.items()}
    try:
        table = pcsv.read_csv(pa.py_buffer(raw), parse_options=pcsv.ParseOptions(delimiter="\t"),
                              convert_options=pcsv.ConvertOptions(
                                  include_columns=list(types), column_types=types,
                                  null_values=list(MISSING_TEXT)),    # as read_sumstats (text columns: none)
                              read_options=pcsv.ReadOptions(block_size=1 << 24))
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a short/long row too: read_sumstats names its line
        return None
    if "neg_log_10_p_value" in wanted and "neg_log_10_p_value" not in source and "p_value" in source:
        def p_text():
            return pcsv.read_csv(pa.py_buffer(raw), parse_options=pcsv.ParseOptions(delimiter="\t"),
                                 convert_options=pcsv.ConvertOptions(include_columns=[source["p_value"]],
                                                                     column_types={source["p_value"]: pa.string()}),
                                 read_options=pcsv.ReadOptions(block_size=1 << 24)).column(0).to_pandas()
        nlp = with_underflow_log10(pd.DataFrame({"p_value": table.column(source["p_value"]).to_numpy()}), "p_value",
                                   p_text)
        if "neg_log_10_p_value" in nlp.columns:
            table = table.append_column("neg_log_10_p_value", pa.array(nlp["neg_log_10_p_value"].to_numpy()))
            source["neg_log_10_p_value"] = "neg_log_10_p_value"
    if "variant_id" in source:        # unnamed rows ('.', empty, NA): read_sumstats names them (named_variants)
        import pyarrow.compute as pc

        ids = pc.utf8_trim_whitespace(table.column(source["variant_id"]))
        if pc.any(pc.is_in(ids, value_set=pa.array(MISSING_TEXT))).as_py():
            return None
    # the columns edited as arrays and the frame built once (each edit of a frame's column re-copied its numbers)
    cols = {dst: (pd.arrays.ArrowExtensionArray(table.column(src)) if arrow_strings and dst in _TEXT_COLUMNS
                  else table.column(src).to_numpy(zero_copy_only=False)) for dst, src in source.items()}
    for a in ("effect_allele", "other_allele"):
        if a in cols:
            cols[a] = upper_text(pd.Series(cols[a])).to_numpy()
    if "chromosome" in cols:
        pos = pd.Series(cols["base_pair_location"]) if "base_pair_location" in cols else None
        cols["chromosome"] = chromosome_labels(pd.Series(cols["chromosome"]), pos).to_numpy()
    for c, rules in VALUE_RULES.items():     # a bad value: read_sumstats names the row and value
        if c in cols and not _values_ok(cols[c], **rules):
            return None
        if c in cols and rules.get("hi_tolerance"):           # a rounding above the bound read as it
            cols[c] = np.minimum(cols[c], rules["hi"])
    if "base_pair_location" in cols and declares_zero_based(path):
        cols["base_pair_location"] = cols["base_pair_location"] + 1
    for c in ("base_pair_location", "n"):    # integers as pandas reads them, when complete and whole
        if c in cols:
            v = cols[c]
            if np.isfinite(v).all() and np.array_equal(v, np.round(v)):
                cols[c] = v.astype(np.int64)
    # not consolidated (copy=False: no 2-D block copied out of the columns); Arrow's zero-copy views made writable
    df = pd.DataFrame({c: v.copy() if isinstance(v, np.ndarray) and not v.flags.writeable else v
                       for c, v in cols.items()}, copy=False)
    warn_p_disagreement(df, path)
    warn_z_disagreement(df, path)
    return df


def with_underflow_log10(df: pd.DataFrame, source: str | None, p_text) -> pd.DataFrame:
    """``df`` with a ``neg_log_10_p_value`` column from the p-values' text when some ``p_value`` read as 0 but is
    written as a positive number below a double's range (BOLT-LMM's ``1.0E-400``, plink2's ``1e-350``), and the
    file has no -log10 p column: clump then ranks them by strength (``_rank_underflow``) instead of breaking a
    tie at 0 by position. ``p_text()`` reads the column ``source`` again as text (only for such files); ``df``
    unchanged otherwise."""
    if source is None or "p_value" not in df.columns or "neg_log_10_p_value" in df.columns:
        return df
    zero = (pd.to_numeric(df["p_value"], errors="coerce") == 0).to_numpy()
    if not zero.any():
        return df
    nlp = neg_log10_text(pd.Series(np.asarray(p_text(), dtype=object))).to_numpy(dtype=float)
    under = zero & np.isfinite(nlp) & (nlp > 300) if len(nlp) == len(df) else zero & False
    if not under.any():              # true zeros (written 0, -log10 p infinite) stay as they are
        return df
    return df.assign(neg_log_10_p_value=np.where(under, nlp, np.nan))


def _values_ok(v: np.ndarray, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False,
               hi_open: bool = False, finite: bool = True, hi_tolerance: float = 0.0) -> bool:
    """Whether every non-missing value passes :func:`edfgen.kernels.validate.numeric_values`' rules."""
    v = v[~np.isnan(v)]
    bad = ~np.isfinite(v) if finite else np.zeros(v.shape, dtype=bool)
    if lo is not None:
        bad |= (v <= lo) if lo_open else (v < lo)
    if hi is not None:
        bad |= (v >= hi) if hi_open else (v > hi + hi_tolerance)
    return not bad.any()


def _subset(df: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    return df[[c for c in columns if c in df.columns]]


def _header_text(columns, limit: int = 40) -> str:
    cols = [str(c) for c in columns]
    return " ".join(cols[:limit]) + (f" ... ({len(cols)} columns)" if len(cols) > limit else "")


#: value rules of the numeric GWAS-SSF columns (missing values allowed): keyword arguments of
#: :func:`edfgen.kernels.validate.numeric_values`
VALUE_RULES: dict[str, dict] = {
    "beta": {},
    "standard_error": {"lo": 0.0, "lo_open": True},
    "p_value": {"lo": 0.0, "hi": 1.0, "hi_tolerance": 1e-6},   # 1.0000001: another program's rounding of 1
    "effect_allele_frequency": {"lo": 0.0, "hi": 1.0},
    "n": {"lo": 0.0},
    "base_pair_location": {"lo": 0.0},
}


def check_sumstats_values(df: pd.DataFrame, path: PathLike, mapping: dict[str, str] | None = None) -> None:
    """Parse the numeric GWAS-SSF columns of ``df``, refusing text, ``inf`` and out-of-range values
    (floats are replaced in place; ``n`` and positions are checked only, keeping their dtype).

    Rules (:data:`VALUE_RULES`): ``beta`` finite, ``standard_error > 0``, ``p_value`` and
    ``effect_allele_frequency`` in ``[0, 1]`` (a p-value at most 1e-6 above 1 is read as 1), ``n >= 0``; missing
    values stay NaN.

    Raises
    ------
    InputError
        Naming the file, the column as the file spells it, the variant and the value.
    """
    original = {v: k for k, v in (mapping or {}).items()}
    if "p_value" not in original and "neg_log_10_p_value" in original:    # p computed from the file's -log10 p
        original["p_value"] = f"p_value (10^-{original['neg_log_10_p_value']})"
    ids = df["variant_id"].to_numpy() if "variant_id" in df.columns else None
    for col, rules in VALUE_RULES.items():
        if col in df.columns and isinstance(df[col], pd.Series):
            text = df[col].dtype == object
            if text:     # plink's "." (and pandas' NA spellings) are missing, as the fast reader reads them
                df[col] = df[col].mask(df[col].astype(str).str.strip().isin(MISSING_TEXT))
            v = numeric_values(df[col], source=str(path), column=original.get(col, col), ids=ids,
                               id_name="variant", **rules)
            if text or col not in ("n", "base_pair_location"):  # counts and positions keep their integer dtype
                df[col] = v
    warn_p_disagreement(df, path)
    warn_z_disagreement(df, path)


def warn_p_disagreement(df: pd.DataFrame, path: PathLike) -> None:
    """Warn when a file's ``p_value`` and ``neg_log_10_p_value`` disagree beyond rounding (more than 0.05 + 0.1%
    in -log10 p, where p has not underflowed to 0): clump ranks by the -log10 p, MR uses p, so they would see
    different evidence."""
    if "p_value" not in df.columns or "neg_log_10_p_value" not in df.columns:
        return
    p = pd.to_numeric(df["p_value"], errors="coerce").to_numpy(dtype=float)
    nl = pd.to_numeric(df["neg_log_10_p_value"], errors="coerce").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        bad = (p > 0) & np.isfinite(nl) & (np.abs(-np.log10(p) - nl) > 0.05 + 1e-3 * np.abs(nl))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        ids = df["variant_id"].astype(str).to_numpy() if "variant_id" in df.columns else None
        log.warning("%s: p_value and neg_log_10_p_value disagree on %d row(s) (e.g. row %d%s: p %.3g, -log10 p %.3g); "
                    "clump ranks by neg_log_10_p_value, the other commands use p_value", path, int(bad.sum()), i + 1,
                    f", variant {ids[i]}" if ids is not None else "", p[i], nl[i])


#: relative difference of the median |beta / se| and the median |z| implied by p above which a file is warned about
Z_DISAGREEMENT = 0.10
#: rows the check's medians are taken over at most (evenly spaced through the file)
Z_CHECK_ROWS = 200_000


def warn_z_disagreement(df: pd.DataFrame, path: PathLike) -> None:
    """Warn when the median of ``|beta / standard_error|`` and of ``|Φ⁻¹(p / 2)|`` (the z a two-sided p implies)
    differ by more than :data:`Z_DISAGREEMENT` on the rows with all three (p > 0): an odds ratio read as a beta,
    the SE of an odds ratio, or a wrong column gives such a file. Rows where p underflowed to 0 are left out.
    A model whose p does not come from beta/se (BOLT-LMM's non-infinitesimal p, SPA) can differ a little.

    References
    ----------
    The check follows the sanity test of LDSC's ``munge_sumstats.py`` (median of the signed statistic) and
    TwoSampleMR's p-from-beta/se recomputation."""
    if not {"beta", "standard_error", "p_value"} <= set(df.columns):
        return
    from scipy.special import ndtri

    b = pd.to_numeric(df["beta"], errors="coerce").to_numpy(dtype=float)
    se = pd.to_numeric(df["standard_error"], errors="coerce").to_numpy(dtype=float)
    p = pd.to_numeric(df["p_value"], errors="coerce").to_numpy(dtype=float)
    rows = np.flatnonzero(np.isfinite(b) & np.isfinite(se) & (se > 0) & np.isfinite(p) & (p > 0) & (p <= 1))
    if rows.size < 20:
        return
    rows = rows[::max(1, rows.size // Z_CHECK_ROWS)]      # every k-th row: medians of millions need no more
    with np.errstate(over="ignore"):
        z_b = float(np.median(np.abs(b[rows] / se[rows])))
    z_p = float(np.median(-ndtri(p[rows] / 2)))
    if min(z_b, z_p) > 0 and abs(z_b - z_p) / z_p > Z_DISAGREEMENT:
        log.warning("%s: the median |beta / se| (%.3g) and the median |z| implied by p (%.3g) differ by %.0f%% on "
                    "%d rows: is beta an odds ratio, the SE that of an odds ratio, a column the wrong one, or p from another "
                    "test (t with few df, SPA, LMM)?",
                    path, z_b, z_p, 100 * abs(z_b - z_p) / z_p, rows.size)


def sort_sumstats(df: pd.DataFrame) -> pd.DataFrame:
    """Sort by chromosome (natural order) then position."""
    key = chrom_key(df["chromosome"])
    order = np.lexsort((df["base_pair_location"].to_numpy(), key.to_numpy()))
    return df.iloc[order].reset_index(drop=True)

