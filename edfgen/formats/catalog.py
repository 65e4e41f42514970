"""NHGRI-EBI GWAS Catalog: read the associations TSV, select ECG traits, read and check loci tables.

The catalog's associations file is read **by column name**, so both the 2016 36-column layout
(``DATE ADDED TO CATALOG`` … ``MAPPED_TRAIT_URI``) and today's v1.0.2 layout (adds
``STUDY ACCESSION`` and ``GENOTYPING TECHNOLOGY``) work. Multi-variant rows are split:
haplotypes ``rs1; rs2`` (``CHR_ID`` ``1;1``, ``CHR_POS`` ``a;b``) and interactions
``rs1 x rs2`` (``1 x 7``) give one row per variant; a single ``CHR_ID`` is shared by all the
row's variants; empty or non-numeric positions become NA (such variants can still be matched
by LD through their rsID). Coordinates are GRCh38 (the catalog's since 2015).

Marking loci known or novel against these rows is :mod:`edfgen.kernels.annotate`'s; reading the
files and writing the table is :mod:`edfgen.commands.annotate`'s.

References
----------
Sollis E et al. (2023) "The NHGRI-EBI GWAS Catalog: knowledgebase and deposition resource",
Nucleic Acids Res 51:D977, doi:10.1093/nar/gkac1010.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.base import rsid_column
from edfgen.formats.tables import read_table
from edfgen.formats.manifest import recorded_parameter
from edfgen.formats.paths import file_arg
from edfgen.formats.sumstats.discovery import declared_build
from edfgen.formats.sumstats.layout import chromosome_labels, detect_layout
from edfgen.formats.sumstats.coordinates import coordinate_declaration, meta_field
from edfgen.formats.textio import check_fields, read_text_bytes, text_reader
from edfgen.kernels.pvalues import neg_log10_or_given, neg_log10_text
from edfgen.kernels.validate import numeric_values
from edfgen.kernels.thresholds import DEFAULT_REFERENCE_GENOME, REFERENCE_GENOMES, build_name

log = logging.getLogger(__name__)

#: Where ``edfgen catalog download`` fetches the current associations (v1.0.2 layout, with
#: ontology annotations, study accessions and genotyping technology).
CATALOG_URL = ("https://ftp.ebi.ac.uk/pub/databases/gwas/releases/latest/"
               "gwas-catalog-associations_ontology-annotated.tsv")

#: The GRCh38 ECG-trait extract shipped with edfgen (release 2016-01-18): the positions a catalog is checked against.
SHIPPED_CATALOG = Path(str(resources.files("edfgen") / "data" / "ecg_traits_associations_2016-01-18.tsv"))

#: EFO terms of ECG traits used by the default trait selection (matched in MAPPED_TRAIT_URI).
ECG_EFO_IDS: dict[str, str] = {
    "EFO_0004682": "QT interval",
    "EFO_0005055": "QRS duration",
    "EFO_0005054": "QRS complex",
    "EFO_0004462": "PR interval",
    "EFO_0004326": "heart rate",
    "EFO_0004351": "resting heart rate",
    "EFO_0004831": "RR interval",
    "EFO_0005094": "P wave duration",
    "EFO_0004327": "electrocardiography",
    "EFO_0004885": "early cardiac repolarization measurement",
    "EFO_0004644": "TPE interval measurement",
}

#: Case-insensitive patterns for ECG traits in DISEASE/TRAIT and MAPPED_TRAIT.
ECG_TRAIT_PATTERN = (r"\bQTc?\b|QT interval|\bQRS\b|\bPR (?:interval|segment)\b|\bP[- ]?wave\b|\bRR interval\b|"
                     r"heart rate|pulse rate|electrocardiogra|\bECG\b|\bEKG\b|\bT[- ]?wave\b|\bST[- ]segment\b|"
                     r"\bJT interval\b|cardiac repolari[sz]ation|(?:atrio)?ventricular conduction|conduction measure|"
                     r"\bTpe\b|TPE interval")

REQUIRED = ["SNPS", "CHR_ID", "CHR_POS", "DISEASE/TRAIT", "P-VALUE", "PUBMEDID"]
CATALOG_COLUMNS = ["catalog_variant", "chromosome", "position", "trait", "mapped_trait", "mapped_trait_uri",
                   "p_value", "neg_log10_p_value", "pubmed_id", "study_accession"]
_SPLIT = re.compile(r"\s*(?:;|,|\s[xX]\s)\s*")
#: an rsID written with its risk allele (``rs123-?``, ``rs123-A``, as STRONGEST SNP-RISK ALLELE writes it) or in
#: upper case (``RS123``): the rsID, which loci and LD panels name it by
_RS_ALLELE = re.compile(r"^[rR][sS](\d+)(?:-[A-Za-z?]*)?$")
#: a p-value written ``1 x 10-8``, ``2.5 × 10^-12`` or ``3x10-9`` (papers' notation, in hand-edited or older catalog
#: copies): read as ``1E-8`` (``pd.to_numeric`` and the exact -log10 from text read the E form only)
_TIMES_TEN = re.compile(r"^([0-9]*\.?[0-9]+)\s*[xX×*]\s*10\s*\^?\s*([-+−–]?\s*[0-9]+)$")
_OTHER_BUILD = re.compile(r"(hg1[789]|grch3[67]|ncbi3[56]|\bb3[67]\b|build3[67]|_b3[67])", re.I)


# ----------------------------------------------------------------------------- reading
def read_catalog(path: str | Path) -> pd.DataFrame:
    """Read a GWAS Catalog associations TSV (2016 or v1.0.2 layout) into one row per variant.

    Returns
    -------
    DataFrame with :data:`CATALOG_COLUMNS`: ``catalog_variant`` (rsID or the SNPS token),
    ``chromosome`` (str), ``position`` (Int64, NA when absent), ``trait`` (DISEASE/TRAIT),
    ``mapped_trait``, ``mapped_trait_uri``, ``p_value`` (float; 0 below ~1e-308, as a double holds it),
    ``neg_log10_p_value`` (``-log10`` of P-VALUE from its text, so exact past a double's range: the
    Catalog has p-values such as ``1E-400``), ``pubmed_id``, ``study_accession`` (NA in the 2016 layout).

    Raises
    ------
    InputError
        Missing file or a required column (named).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"--catalog {path}: file not found")
    try:
        data = read_text_bytes(path)
        check_fields(data, f"--catalog {path}", sep=b"\t", quoting=False)
        raw = pd.read_csv(text_reader(data), sep="\t", dtype=str, keep_default_na=False, quoting=3,
                          encoding_errors="replace")
    except pd.errors.EmptyDataError:
        raise InputError(f"--catalog {path}: empty file (expects the GWAS Catalog associations TSV)") from None
    except InputError as exc:
        raise InputError(str(exc) if str(exc).startswith("--catalog") else f"--catalog {exc}") from None
    except (pd.errors.ParserError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"--catalog {path}: cannot be read as a TSV ({str(exc).splitlines()[0][:200]})") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise InputError(f"--catalog {path}: missing GWAS Catalog column(s) {', '.join(missing)} "
                         f"(expects the associations TSV, 2016 or v1.0.2 layout)")
    if len(raw) == 0:
        raise InputError(f"--catalog {path}: no associations (a header line only)")
    snps = [[t for t in _SPLIT.split(s.strip()) if t] or [""] for s in raw["SNPS"]]
    chrs = [_SPLIT.split(s.strip()) if s.strip() else [""] for s in raw["CHR_ID"]]
    poss = [_SPLIT.split(s.strip()) if s.strip() else [""] for s in raw["CHR_POS"]]
    n = [len(s) for s in snps]
    unpaired = sum(len(p) not in (k, 1) or len(c) not in (k, 1) for c, p, k in zip(chrs, poss, n))
    if unpaired:   # 'rs1; rs2; rs3' with two positions: which goes with which is unknown (found by rsID only)
        log.warning("--catalog %s: %d rows list a different number of SNPS and CHR_ID/CHR_POS values; their "
                    "variants are matched by rsID only (no position)", path, unpaired)
    chrs = [c if len(c) == k else (c * k if len(c) == 1 else [""] * k) for c, k in zip(chrs, n)]
    poss = [p if len(p) == k else (p * k if len(p) == 1 else [""] * k) for p, k in zip(poss, n)]

    def col(name):
        return raw[name] if name in raw.columns else pd.Series([""] * len(raw))

    df = pd.DataFrame({"catalog_variant": snps, "chromosome": chrs, "position": poss,
                       "trait": raw["DISEASE/TRAIT"], "mapped_trait": col("MAPPED_TRAIT"),
                       "mapped_trait_uri": col("MAPPED_TRAIT_URI"), "p_value": raw["P-VALUE"],
                       "pubmed_id": raw["PUBMEDID"], "study_accession": col("STUDY ACCESSION")})
    row = np.repeat(raw.index.to_numpy(), n)     # the catalog row of each variant (after the explode below)
    df = df.explode(["catalog_variant", "chromosome", "position"], ignore_index=True)
    df["catalog_variant"] = df["catalog_variant"].str.replace(_RS_ALLELE, r"rs\1", regex=True)
    pos = pd.to_numeric(df["position"], errors="coerce")
    # the loci's labels (read_loci): chr prefix off, 23/24 as X/Y, a 25 beyond the mitochondrial genome as X
    df["chromosome"] = chromosome_labels(df["chromosome"].astype(str).str.strip(), pos).astype(str)
    # a position that is not a whole number in [0, 2^31) is read as NA, like one that is not a number
    df["position"] = pos.where((pos >= 0) & (pos < 2**31) & (pos == np.floor(pos))).astype("Int64")
    p_text = df["p_value"].astype(str).str.strip().str.replace(
        _TIMES_TEN, lambda m: f"{m[1]}E{re.sub(r'[−–]', '-', m[2]).replace(' ', '')}", regex=True)
    df["p_value"] = pd.to_numeric(p_text, errors="coerce")
    df["neg_log10_p_value"] = neg_log10_text(p_text)
    if "PVALUE_MLOG" in raw.columns:      # the Catalog's own -log10 p where P-VALUE is not a number
        mlog = pd.to_numeric(raw["PVALUE_MLOG"].reindex(row).reset_index(drop=True), errors="coerce")
        use = df["neg_log10_p_value"].isna() & (mlog >= 0)
        df.loc[use, "neg_log10_p_value"] = mlog[use]
        df.loc[use, "p_value"] = 10.0 ** -mlog[use]
    unparsed = df["neg_log10_p_value"].isna() & (p_text != "")
    if unparsed.any():  # the Catalog's own data: kept (the association still counts) with p NA, but said
        log.warning("--catalog %s: %d P-VALUE entries are not numbers and are read as NA (e.g. %r)", path,
                    int(unparsed.sum()), str(p_text[unparsed].iloc[0]))
    df = df.replace({"study_accession": {"": pd.NA}, "mapped_trait": {"": pd.NA},
                     "mapped_trait_uri": {"": pd.NA}})
    df = df[df["catalog_variant"] != ""].reset_index(drop=True)
    return df[CATALOG_COLUMNS]


def select_traits(catalog: pd.DataFrame, traits: Sequence[str] | None = None, *,
                  any_trait: bool = False) -> pd.DataFrame:
    """Catalog rows of the traits of interest.

    Parameters
    ----------
    traits
        Case-insensitive regular expressions or EFO ids (``EFO_0004682``) matched against
        ``trait`` (DISEASE/TRAIT), ``mapped_trait`` and ``mapped_trait_uri``. ``None``: the ECG
        traits (:data:`ECG_TRAIT_PATTERN` on the trait names or any of :data:`ECG_EFO_IDS`).
    any_trait
        Keep every association.
    """
    if any_trait:
        return catalog
    text = catalog["trait"].fillna("") + " | " + catalog["mapped_trait"].fillna("")
    uri = catalog["mapped_trait_uri"].fillna("")
    if traits is None:
        keep = text.str.contains(ECG_TRAIT_PATTERN, case=False, regex=True)
        keep |= uri.str.contains("|".join(ECG_EFO_IDS), regex=True)
    else:
        keep = pd.Series(False, index=catalog.index)
        for t in traits:
            try:
                re.compile(t)
            except re.error as exc:
                raise InputError(f"--traits: {t!r} is not a valid regular expression ({exc})") from None
            keep |= text.str.contains(t, case=False, regex=True) | uri.str.contains(t, case=False, regex=True)
    return catalog[keep].reset_index(drop=True)


# ----------------------------------------------------------------------------- loci input
def read_loci(path: str | Path, *, reference_genome: str | None = DEFAULT_REFERENCE_GENOME) -> pd.DataFrame:
    """Read loci (``loci.tsv``, ``clumps.tsv`` or any table with ``variant_id, chromosome,
    base_pair_location, p_value``), refusing a declared build other than ``reference_genome`` (``GRCh38`` or,
    with ``--reference-genome GRCh37``, ``GRCh37``).

    The build is taken from a ``build``/``genome_build``/``genome_assembly`` column, a
    ``##genome_build=`` (or ``#genome_assembly``) header line, the file's own GWAS-SSF metadata
    (``<file>-meta.yaml`` ``genome_assembly``: summary statistics given as loci), or the build the summary
    statistics declared that the ``edfgen clump`` run which wrote the file recorded in its manifest; anything
    other than ``reference_genome`` is an :class:`InputError`. A file name hint (``hg19``, ``GRCh37``, ``b37``
    ...) against GRCh38 loci is an :class:`InputError` too, but never sets the build (a lifted file may keep
    its old name: ``loci_hg19ToHg38.tsv``).

    ``reference_genome=None`` (``--reference-genome`` not given): the build the loci declare (their
    ``-meta.yaml``, a ``##genome_build`` line, a build column, the clump record; two that disagree are an
    :class:`InputError`), else GRCh38 (annotate warns when no rsID lets the catalog check it); an explicit build
    against a declaration is an :class:`InputError`. A build in the file NAME is not a declaration (refused
    against GRCh38) unless the file declares GRCh38 inside, which wins with a warning. The frame's ``attrs`` say
    which: ``reference_genome`` (the build its positions are read as) and ``build_declared`` (where the file
    declares it, None when GRCh38 is assumed).

    Positions are 1-based (GWAS-SSF, VCF, the catalog); loci that declare ``coordinate_system`` 0-based (their
    ``-meta.yaml``, a ``##coordinate_system=0-based`` line or a ``coordinate_system`` column: BED-style
    positions) are read + 1, said once (INFO); NR/null/empty declares nothing (1-based, warned); a value other
    than 0-based or 1-based, or two declarations that disagree, is an :class:`InputError`.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"--loci {path}: file not found")
    chosen: dict[str, str | None] = {"build": reference_genome, "where": None}

    def inner() -> str:
        """Where the build was declared, without the ``--loci PATH: `` a message already starts with."""
        return str(chosen["where"]).removeprefix(f"--loci {path}: ")

    def check(value: str, where: str) -> None:
        """Compare a declared build with the loci's; the first one found sets it when none was given."""
        if chosen["build"] is None and build_name(value) in REFERENCE_GENOMES:
            chosen["build"] = build_name(value)
        if reference_genome is None and chosen["where"] and build_name(value) != chosen["build"]:
            raise InputError(f"{where} declares genome build {value!r}, but {inner()} declares "
                             f"{chosen['build']}: correct the one that is wrong (or lift the loci over)")
        _check_build(value, where, chosen["build"] or DEFAULT_REFERENCE_GENOME)
        chosen["where"] = chosen["where"] or where

    named = _OTHER_BUILD.search(path.name)

    def refuse_name() -> None:
        """A build hint in the file name against GRCh38 loci: refused (a hint never sets the build: a lifted
        file keeps its old name, ``loci_hg19ToHg38.tsv``, ``EUR_b37_liftedTo38.tsv``), unless the file (or its
        records) declares GRCh38 itself: that declaration wins over the name, which is warned about."""
        if named and chosen["where"]:
            log.warning("--loci %s: the file name says genome build %s, but %s declares %s: read as %s (the "
                        "declaration wins over the name)", path, named.group(1), inner(), chosen["build"],
                        chosen["build"])
        elif named:
            raise InputError(f"--loci {path}: the file name says genome build "
                             f"{named.group(1)}; edfgen annotates GRCh38 coordinates "
                             f"(lift the loci over to GRCh38, or give --reference-genome GRCh37)")

    declared = declared_build([path])       # the file's own -meta.yaml (summary statistics given as loci)
    if declared:
        check(declared, f"--loci {path}: its -meta.yaml genome_assembly")
    df, header = loci_table(path, dtype={"p_value": str})   # (as text: "1e-400" is 0 as a double)
    for text in header:
        m = re.match(r"##\s*(genome_build|genome_assembly|build|assembly)\s*[=:]\s*(\S+)", text, re.I)
        if m:
            check(m.group(2), f"--loci {path}: header line {text.strip()!r}")
    missing = [c for c in ("variant_id", "chromosome", "base_pair_location", "p_value") if c not in df.columns]
    if missing:
        layout = detect_layout(df.columns)      # another tool's summary statistics: its loci come from clump
        tool = (f"; read as {layout.name} summary statistics: give them to edfgen clump, whose loci.tsv has these "
                "columns" if layout is not None and layout.name != "GWAS-SSF" else "")
        raise InputError(f"--loci {path}: missing column(s) {', '.join(missing)} "
                         f"(need variant_id, chromosome, base_pair_location, p_value{tool})")
    for c in ("build", "genome_build", "genome_assembly"):
        if c in df.columns:
            for v in df[c].dropna().astype(str).unique():
                check(v, f"--loci {path}: column {c}")
    build, command = recorded_parameter(path, "sumstats_genome_assembly")
    if build:      # the build the GWAS declared (-meta.yaml), which the clump run that wrote the loci recorded
        check(build, f"--loci {path}: the genome_assembly of the summary statistics its {command} run "
              "clumped (their -meta.yaml, from edfgen gwas --reference-genome)")
    ran, command = recorded_parameter(path, "reference_genome")
    if ran and build_name(str(ran)) != (chosen["build"] or DEFAULT_REFERENCE_GENOME):
        # the clump run's own --reference-genome (plink2/REGENIE/BOLT files carry no -meta.yaml): GRCh37 there was
        # asked for; GRCh38 may be the default of a run that was not told, so it is only said
        where = f"--loci {path}: the {command} run that wrote it was given --reference-genome {ran}"
        if build_name(str(ran)) != "GRCh38":
            check(str(ran), where)
        else:
            log.warning("%s (its default) but %s here: make sure the positions are %s", where,
                        f"--reference-genome {reference_genome} is given" if reference_genome else
                        f"{inner()} declares {chosen['build']}", chosen["build"])
    if (chosen["build"] or DEFAULT_REFERENCE_GENOME) == "GRCh38":
        refuse_name()           # (a declaration in the file or its records of GRCh37 agrees with a GRCh37 name)
    if chosen["build"] is None:
        chosen["build"] = DEFAULT_REFERENCE_GENOME
    if reference_genome is None and chosen["where"]:
        log.info("%s declares genome build %s: the loci are read as %s", chosen["where"], chosen["build"],
                 chosen["build"])
    df["chromosome"] = chromosome_labels(df["chromosome"], df["base_pair_location"])   # (PLINK's 25 at 1.5 Mb is X)
    df["variant_id"] = df["variant_id"].astype(str)
    pos = pd.to_numeric(df["base_pair_location"], errors="coerce")
    bad = pos.isna() | ~pos.between(0, 2**31 - 1) | (pos != np.floor(pos))
    if bad.any():   # not a number, a fraction, or beyond any chromosome: never cast silently
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"--loci {path}: variant {df['variant_id'].iloc[i]}: base_pair_location "
                         f"{df['base_pair_location'].iloc[i]} is not a chromosome position (a whole number "
                         "from 0 to 2^31 - 1)")
    df["base_pair_location"] = loci_positions(df, path, header, positions=pos.astype(np.int64))
    p_text = df["p_value"]          # (read as text: "1e-400" is 0 as a double)
    df["p_value"] = numeric_values(p_text, source=f"--loci {path}", column="p_value", ids=df["variant_id"],
                                   id_name="variant", lo=0, hi=1)
    _neg_log10_from_text(df, p_text)
    df.attrs.update(reference_genome=chosen["build"], build_declared=chosen["where"])
    return df


def loci_table(path: str | Path, required: Sequence[str] = (),
               dtype: dict | None = None) -> tuple[pd.DataFrame, list[str]]:
    """A loci file's table and its leading ``##`` lines (a ``##genome_build=`` or ``##coordinate_system=``
    declaration; a parquet file has none): the one reader of annotate's, finemap's and coloc's ``--loci``.

    Parameters
    ----------
    path : str or Path
        The loci file (TSV, CSV or parquet).
    required : sequence of str
        Columns it must have.
    dtype : dict, optional
        Column types passed to the parser (annotate reads ``p_value`` as text, so that ``1e-400`` keeps its
        -log10).

    Returns
    -------
    (DataFrame, list of str)

    Raises
    ------
    InputError
        The file is missing or unreadable, a row has more or fewer fields than the header, or a required
        column is missing.
    """
    path = Path(file_arg(path, "--loci"))   # (a DataFrame from finemap/coloc: one line, not a TypeError: s42files #6)
    if not path.exists():
        raise InputError(f"--loci {path}: file not found")
    header: list[str] = []
    data = None
    if not path.name.endswith((".parquet", ".pq")):
        data = read_text_bytes(path)
        for line in data.split(b"\n"):
            if not line.startswith(b"##"):
                break
            header.append(line.decode("utf-8", "replace"))
    if not header:
        df = read_table(path, text=data, dtype=dtype)        # (not read twice: a FIFO is read once)
    else:
        check_fields(data, f"--loci {path}", sep=b"\t", skip_lines=len(header))
        try:
            df = pd.read_csv(text_reader(data), sep="\t", skiprows=len(header), dtype=dtype)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
            raise InputError(f"--loci {path}: cannot be read as a TSV ({str(exc).splitlines()[0][:200]})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"--loci {path}: missing column(s) {', '.join(missing)} (has: "
                         f"{', '.join(map(str, df.columns[:12]))})")
    return df, header


def loci_positions(df: pd.DataFrame, path: str | Path, header: Sequence[str] = (),
                   positions: pd.Series | None = None) -> pd.Series:
    """The loci's ``base_pair_location`` 1-based: + 1 where ``coordinate_system`` is declared 0-based (BED-style
    positions; said once, INFO) by the file's ``-meta.yaml``, a ``##coordinate_system=`` line of ``header`` or, row
    by row, a ``coordinate_system`` column (a row that declares nothing follows the file's declaration, else is
    1-based). The rule (:func:`~edfgen.formats.sumstats.coordinates.coordinate_declaration`) annotate, finemap and
    coloc share.

    Parameters
    ----------
    df : DataFrame
        The loci (:func:`loci_table`); a ``base_pair_location`` that is not a number is read as missing.
    path : str or Path
        The loci file (named in messages; its ``-meta.yaml`` is read).
    header : sequence of str
        The file's leading ``##`` lines.
    positions : Series, optional
        ``base_pair_location`` already read as whole numbers (not parsed again); default: ``df``'s.

    Returns
    -------
    Series

    Raises
    ------
    InputError
        For a value other than 0-based, 1-based or not declared, or a file declaration and another declaration
        (a line, a row) that disagree (naming both).
    """
    where = [f"--loci {path}: its -meta.yaml"]
    values = [meta_field(path, "coordinate_system")]
    for text in header:
        m = re.match(r"##\s*coordinate_system\s*[=:]\s*(\S*)", text, re.I)
        if m:
            where.append(f"--loci {path}: header line {text.strip()!r}")
            values.append(m.group(1))
    said = [(w, z) for w, z in ((w, coordinate_declaration(v, w)) for w, v in zip(where, values)) if z is not None]
    rows = pd.Series(None, index=df.index, dtype=object)
    if "coordinate_system" in df.columns:
        column = f"--loci {path}: column coordinate_system"
        # as text: a column of 0/1 with an empty cell is read as floats (0.0), a parquet column may be numbers
        values = df["coordinate_system"].map(lambda v: v if pd.isna(v) else str(int(v)) if isinstance(
            v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and float(v).is_integer() else str(v))
        rows = values.map({v: coordinate_declaration(v, column) for v in values.dropna().unique()}).astype(object)
        # rows that disagree with one another are read row by row; a row against the file's declaration is refused
        said += [(column, z) for z in (True, False) if (rows == z).any() and said and said[0][1] != z]
    if len({z for _, z in said}) > 1:
        a, b = (next(w for w, z in said if z == v) for v in (True, False))
        raise InputError(f"{a} declares coordinate_system 0-based, but {b.removeprefix(f'--loci {path}: ')} "
                         "declares 1-based: correct the one that is wrong")
    shift = rows.where(rows.notna(), bool(said and said[0][1])).astype(bool).to_numpy()
    if shift.any():     # (BED-style positions: edfgen, GWAS-SSF, VCF and the catalog are 1-based)
        log.info("%s declares coordinate_system 0-based: base_pair_location read + 1 (edfgen's positions are "
                 "1-based)%s", said[0][0] if said else column, "" if shift.all() else
                 f" in {int(shift.sum())} of {len(shift)} rows (its coordinate_system column)")
    if positions is None:
        positions = pd.to_numeric(df["base_pair_location"], errors="coerce")
    return positions + shift.astype(np.int64)


def _neg_log10_from_text(df: pd.DataFrame, p_text: pd.Series) -> None:
    """Fill ``df``'s ``neg_log_10_p_value`` (added when absent) from the p text where ``p_value`` is below 1e-300
    and the file gives none (a lead list not written by clump: FUMA, a consortium's table); a literal 0 stays
    NA."""
    p = df["p_value"].to_numpy(dtype=float)
    given = (pd.to_numeric(df["neg_log_10_p_value"], errors="coerce").to_numpy(dtype=float)
             if "neg_log_10_p_value" in df.columns else np.full(len(df), np.nan))
    tiny = (p < 1e-300) & ~np.isfinite(given)
    if not tiny.any():
        return
    given[tiny] = neg_log10_or_given(p, given, p_text)[tiny]   # (the rule study_loci's table shares)
    df["neg_log_10_p_value"] = given


def _check_build(value: str, where: str, reference_genome: str) -> None:
    if build_name(value) != reference_genome:
        hint = ("lift the loci over to GRCh38, or give --reference-genome GRCh37" if reference_genome == "GRCh38"
                else f"--reference-genome {reference_genome} was given")
        raise InputError(f"{where} declares genome build {value!r}; {hint}")


@lru_cache(maxsize=1)
def _shipped_positions() -> pd.DataFrame:
    """rsID -> chromosome, GRCh38 position of the extract shipped in ``edfgen/data`` (read once)."""
    cat = read_catalog(SHIPPED_CATALOG).dropna(subset=["position"])
    return cat[cat["catalog_variant"].str.match(r"rs\d+$")].drop_duplicates("catalog_variant").set_index(
        "catalog_variant")[["chromosome", "position"]]


def check_catalog_build(catalog: pd.DataFrame, source: str | Path, *, min_matches: int = 5) -> None:
    """Refuse a catalog whose positions are not GRCh38 (Bioconductor gwascat's ``ebicat37``, a pre-2015 download,
    a copy lifted down to GRCh37): its rsIDs shared with the GRCh38 extract edfgen ships
    (``edfgen/data/ecg_traits_associations_2016-01-18.tsv``) must mostly sit at the same positions (an error when
    at least ``min_matches`` are shared and fewer than half agree; the Catalog moves a few rsIDs between releases).

    Parameters
    ----------
    catalog : DataFrame
        From :func:`read_catalog`.
    source : str or Path
        The ``--catalog`` file, for the message.
    min_matches : int, default 5
        Shared rsIDs needed to judge.

    Raises
    ------
    InputError
        Naming the file and an rsID at its two positions.
    """
    ref = _shipped_positions()
    cat = catalog.dropna(subset=["position"]).drop_duplicates("catalog_variant")
    cat = cat[cat["catalog_variant"].isin(ref.index)]
    if len(cat) < min_matches:
        return
    r = ref.loc[cat["catalog_variant"]]
    same = (r["chromosome"].to_numpy() == cat["chromosome"].to_numpy()) & \
           (r["position"].to_numpy(np.int64) == cat["position"].to_numpy(np.int64))
    if same.mean() < 0.5:
        k = int(np.flatnonzero(~same)[0])
        raise InputError(
            f"--catalog {source}: {int((~same).sum())} of {len(cat)} rsIDs it shares with edfgen's GRCh38 GWAS Catalog "
            f"extract sit at other positions (e.g. {cat['catalog_variant'].iloc[k]} at chr{cat['chromosome'].iloc[k]}:"
            f"{cat['position'].iloc[k]}, GRCh38 chr{r['chromosome'].iloc[k]}:{r['position'].iloc[k]}): the catalog is "
            "not on GRCh38, which edfgen reads it as; use the Catalog's own (GRCh38) file (edfgen catalog download)")


def check_build_against_catalog(loci: pd.DataFrame, catalog: pd.DataFrame, *, source: str = "--loci",
                                min_matches: int = 3, reference_genome: str = "GRCh38",
                                declared: str | None = None) -> None:
    """Detect loci on another build than ``reference_genome`` from the rsIDs they share with the catalog.

    GRCh38 loci: shared rsIDs must sit at the catalog's GRCh38 positions; :class:`InputError` when at least
    ``min_matches`` are shared and fewer than half agree (a warning for any that disagree: the Catalog moves a
    few rsIDs between releases). GRCh37 loci (``--reference-genome GRCh37``): the same rsIDs must *not* sit at
    the GRCh38 positions (the two builds' coordinates differ almost everywhere); an error when at least
    ``min_matches`` are shared and half or more sit there. Loci without rsIDs cannot be checked: warned, unless
    ``declared`` (where the loci file declares its build, ``read_loci``'s ``attrs["build_declared"]``) says it."""
    if loci.empty:                      # no locus (clump found none): nothing to check, nothing to warn about
        return
    ids = loci["variant_id"].astype(str)
    if "rsid" in loci.columns:
        ids = loci["rsid"].astype(str).where(loci["rsid"].notna(), ids)
    if reference_genome == "GRCh38" and rsid_column(ids).isna().all():
        if not declared:
            log.warning("%s: no rsIDs, so their build cannot be checked against the catalog, and the file declares "
                        "none: the positions are taken as GRCh38 (give --reference-genome GRCh37 for GRCh37 "
                        "positions, or declare the build: genome_assembly in the file's -meta.yaml, or a "
                        "##genome_build= first line)", source)
        return
    cat = catalog.dropna(subset=["position"]).drop_duplicates("catalog_variant")
    cat = cat.set_index("catalog_variant")
    shared = ids.isin(cat.index)
    if shared.sum() == 0:
        return
    sub = loci[shared.to_numpy()]
    sid = ids[shared]
    same = (cat.loc[sid, "chromosome"].to_numpy() == sub["chromosome"].astype(str).to_numpy()) & \
           (cat.loc[sid, "position"].to_numpy(np.int64) == sub["base_pair_location"].to_numpy(np.int64))
    if reference_genome != "GRCh38":
        if shared.sum() >= min_matches and same.mean() >= 0.5:
            k = int(np.flatnonzero(same)[0])
            raise InputError(
                f"{source}: {int(same.sum())} of {int(shared.sum())} rsIDs shared with the GWAS Catalog sit at its "
                f"GRCh38 positions (e.g. {sid.iloc[k]} at chr{sub['chromosome'].iloc[k]}:"
                f"{sub['base_pair_location'].iloc[k]}): the loci look like GRCh38, not "
                + (f"{reference_genome} as {declared} says; correct that declaration" if declared else
                   f"--reference-genome {reference_genome}; leave --reference-genome out"))
        return
    if shared.sum() >= min_matches and same.mean() < 0.5:
        k = int(np.flatnonzero(~same)[0])
        raise InputError(
            f"{source}: {int((~same).sum())} of {int(shared.sum())} rsIDs shared with the GWAS Catalog are not at "
            f"its GRCh38 positions (e.g. {sid.iloc[k]} at chr{sub['chromosome'].iloc[k]}:"
            f"{sub['base_pair_location'].iloc[k]} vs catalog chr{cat.loc[sid.iloc[k], 'chromosome']}:"
            f"{cat.loc[sid.iloc[k], 'position']}): the loci look like another genome build; lift them over to GRCh38")
    if (~same).any():
        log.warning("%s: %d of %d rsIDs shared with the catalog are at other positions", source,
                    int((~same).sum()), int(shared.sum()))
