"""NHGRI-EBI GWAS Catalog: read the associations TSV, select ECG traits, mark loci known or novel.

The catalog's associations file is read **by column name**, so both the 2016 36-column layout
(``DATE ADDED TO CATALOG`` … ``MAPPED_TRAIT_URI``) and today's v1.0.2 layout (adds
``STUDY ACCESSION`` and ``GENOTYPING TECHNOLOGY``) work. Multi-variant rows are split:
haplotypes ``rs1; rs2`` (``CHR_ID`` ``1;1``, ``CHR_POS`` ``a;b``) and interactions
``rs1 x rs2`` (``1 x 7``) give one row per variant; a single ``CHR_ID`` is shared by all the
row's variants; empty or non-numeric positions become NA (such variants can still be matched
by LD through their rsID). Coordinates are GRCh38 (the catalog's since 2015).

A locus is **known** (``novel = False``) when a catalog association of the selected traits lies
within ``window_kb`` of it, or, with an LD panel, when a catalog variant is in LD
``r² >= ld_r2`` with it; otherwise it is novel.

References
----------
Sollis E et al. (2023) "The NHGRI-EBI GWAS Catalog: knowledgebase and deposition resource",
Nucleic Acids Res 51:D977, doi:10.1093/nar/gkac1010.
"""

from __future__ import annotations

import gzip
import logging
import re
import shutil
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError, ToolError

log = logging.getLogger(__name__)

#: Where ``edfgen catalog download`` fetches the current associations (v1.0.2 layout, with
#: ontology annotations, study accessions and genotyping technology).
CATALOG_URL = ("https://ftp.ebi.ac.uk/pub/databases/gwas/releases/latest/"
               "gwas-catalog-associations_ontology-annotated.tsv")

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
                   "p_value", "pubmed_id", "study_accession"]
ANNOTATED_COLUMNS = ["locus", "variant_id", "chromosome", "base_pair_location", "p_value", "phenotypes",
                     "novel", "known_by", "nearest_catalog_variant", "nearest_catalog_distance",
                     "nearest_catalog_trait", "nearest_catalog_p_value", "nearest_catalog_pubmed_id",
                     "ld_catalog_variant", "ld_r2", "nearest_gene", "gene_distance"]
_SPLIT = re.compile(r"\s*(?:;|,|\s[xX]\s)\s*")
_OTHER_BUILD = re.compile(r"(hg1[789]|grch3[67]|ncbi3[56]|\bb3[67]\b|build3[67]|_b3[67])", re.I)


# ----------------------------------------------------------------------------- reading
def read_catalog(path: str | Path) -> pd.DataFrame:
    """Read a GWAS Catalog associations TSV (2016 or v1.0.2 layout) into one row per variant.

    Returns
    -------
    DataFrame with :data:`CATALOG_COLUMNS`: ``catalog_variant`` (rsID or the SNPS token),
    ``chromosome`` (str), ``position`` (Int64, NA when absent), ``trait`` (DISEASE/TRAIT),
    ``mapped_trait``, ``mapped_trait_uri``, ``p_value`` (float), ``pubmed_id``,
    ``study_accession`` (NA in the 2016 layout).

    Raises
    ------
    InputError
        Missing file or a required column (named).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"--catalog {path}: file not found")
    try:
        raw = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, quoting=3,
                          encoding_errors="replace")
    except pd.errors.EmptyDataError:
        raise InputError(f"--catalog {path}: empty file (expects the GWAS Catalog associations TSV)") from None
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
    chrs = [c if len(c) == k else (c * k if len(c) == 1 else [""] * k) for c, k in zip(chrs, n)]
    poss = [p if len(p) == k else (p * k if len(p) == 1 else [""] * k) for p, k in zip(poss, n)]

    def col(name):
        return raw[name] if name in raw.columns else pd.Series([""] * len(raw))

    df = pd.DataFrame({"catalog_variant": snps, "chromosome": chrs, "position": poss,
                       "trait": raw["DISEASE/TRAIT"], "mapped_trait": col("MAPPED_TRAIT"),
                       "mapped_trait_uri": col("MAPPED_TRAIT_URI"), "p_value": raw["P-VALUE"],
                       "pubmed_id": raw["PUBMEDID"], "study_accession": col("STUDY ACCESSION")})
    df = df.explode(["catalog_variant", "chromosome", "position"], ignore_index=True)
    df["chromosome"] = df["chromosome"].astype(str).str.replace("^chr", "", regex=True).str.strip()
    df["position"] = pd.to_numeric(df["position"], errors="coerce").astype("Int64")
    p_text = df["p_value"].astype(str).str.strip()
    df["p_value"] = pd.to_numeric(p_text, errors="coerce")
    unparsed = df["p_value"].isna() & (p_text != "")
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
def read_loci(path: str | Path, *, build: str = "GRCh38") -> pd.DataFrame:
    """Read loci (``loci.tsv``, ``clumps.tsv`` or any table with ``variant_id, chromosome,
    base_pair_location, p_value``), refusing a declared build other than ``build`` (``GRCh38`` or,
    with ``--reference-genome GRCh37``, ``GRCh37``).

    The build is taken from a ``build``/``genome_build``/``genome_assembly`` column, a
    ``##genome_build=`` (or ``#genome_assembly``) header line, or a file name hint
    (``hg19``, ``GRCh37``, ``b37`` ...); anything other than GRCh38/hg38 is an
    :class:`InputError`.
    """
    from edfgen.formats.tables import read_table

    path = Path(path)
    if not path.exists():
        raise InputError(f"--loci {path}: file not found")
    if build == "GRCh38" and _OTHER_BUILD.search(path.name):
        raise InputError(f"--loci {path}: the file name says genome build "
                         f"{_OTHER_BUILD.search(path.name).group(1)}; edfgen annotates GRCh38 coordinates "
                         f"(lift the loci over to GRCh38, or give --reference-genome GRCh37)")
    opener = gzip.open if path.name.endswith(".gz") else open
    skip = 0
    if not path.name.endswith((".parquet", ".pq")):
        with opener(path, "rt") as fh:
            for line in fh:
                if not line.startswith("##"):
                    break
                skip += 1
                m = re.match(r"##\s*(genome_build|genome_assembly|build|assembly)\s*[=:]\s*(\S+)", line, re.I)
                if m:
                    _check_build(m.group(2), f"--loci {path}: header line {line.strip()!r}", build)
    if skip:
        try:
            df = pd.read_csv(path, sep="\t", skiprows=skip)
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
            raise InputError(f"--loci {path}: cannot be read as a TSV ({str(exc).splitlines()[0][:200]})") from None
    else:
        df = read_table(path)
    missing = [c for c in ("variant_id", "chromosome", "base_pair_location", "p_value") if c not in df.columns]
    if missing:
        raise InputError(f"--loci {path}: missing column(s) {', '.join(missing)} "
                         f"(need variant_id, chromosome, base_pair_location, p_value)")
    for c in ("build", "genome_build", "genome_assembly"):
        if c in df.columns:
            for v in df[c].dropna().astype(str).unique():
                _check_build(v, f"--loci {path}: column {c}", build)
    df["chromosome"] = df["chromosome"].astype(str).str.replace("^chr", "", regex=True)
    df["variant_id"] = df["variant_id"].astype(str)
    try:
        df["base_pair_location"] = df["base_pair_location"].astype(np.int64)
    except (ValueError, TypeError):
        raise InputError(f"--loci {path}: column base_pair_location has non-integer values") from None
    from edfgen.formats.validate import numeric_values

    df["p_value"] = numeric_values(df["p_value"], source=f"--loci {path}", column="p_value", ids=df["variant_id"],
                                   id_name="variant", lo=0, hi=1)
    return df


def _check_build(value: str, where: str, build: str = "GRCh38") -> None:
    pattern = r"(grch38(\.p\d+)?|hg38|b?38)" if build == "GRCh38" else r"(grch37(\.p\d+)?|hg19|b?37)"
    if not re.fullmatch(pattern, str(value).strip().lower()):
        hint = ("lift the loci over to GRCh38, or give --reference-genome GRCh37" if build == "GRCh38"
                else f"--reference-genome {build} was given")
        raise InputError(f"{where} declares genome build {value!r}; {hint}")


def check_build_against_catalog(loci: pd.DataFrame, catalog: pd.DataFrame, *, source: str = "--loci",
                                min_matches: int = 3) -> None:
    """Detect loci on another build: rsIDs shared with the catalog must sit at the catalog's
    GRCh38 positions. Raises :class:`InputError` when at least ``min_matches`` shared rsIDs
    exist and fewer than half agree."""
    ids = loci["variant_id"].astype(str)
    if "rsid" in loci.columns:
        ids = loci["rsid"].astype(str).where(loci["rsid"].notna(), ids)
    cat = catalog.dropna(subset=["position"]).drop_duplicates("catalog_variant")
    cat = cat.set_index("catalog_variant")
    shared = ids.isin(cat.index)
    if shared.sum() == 0:
        return
    sub = loci[shared.to_numpy()]
    sid = ids[shared]
    same = (cat.loc[sid, "chromosome"].to_numpy() == sub["chromosome"].astype(str).to_numpy()) & \
           (cat.loc[sid, "position"].to_numpy(np.int64) == sub["base_pair_location"].to_numpy(np.int64))
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


# ----------------------------------------------------------------------------- novelty
@dataclass(frozen=True)
class AnnotateSettings:
    """Novelty rules: ``window_kb`` (default 500) around each locus; LD ``r² >= ld_r2``
    (default 0.1) with catalog variants within ``ld_window_kb`` (default 5000) when a panel is
    given; ``r2_method`` as in :mod:`edfgen.kernels.ld`."""

    window_kb: float = 500.0
    ld_r2: float = 0.1
    ld_window_kb: float = 5000.0
    r2_method: str = "plink"


def nearest_catalog(loci: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """Nearest catalog association (same chromosome) of each locus: variant, absolute distance
    (bp), trait, p-value and PubMed id (ties: smallest p). NA when none on the chromosome."""
    cat = catalog.dropna(subset=["position"]).copy()
    cat["position"] = cat["position"].astype(np.int64)
    cat = cat.sort_values(["p_value"], kind="stable")
    out = pd.DataFrame(index=loci.index, columns=["nearest_catalog_variant", "nearest_catalog_distance",
                                                  "nearest_catalog_trait", "nearest_catalog_p_value",
                                                  "nearest_catalog_pubmed_id"], dtype=object)
    chrom = loci["chromosome"].astype(str).to_numpy()
    pos = loci["base_pair_location"].to_numpy(np.int64)
    for c in np.unique(chrom):
        sel = np.flatnonzero(chrom == c)
        cc = cat[cat["chromosome"] == c]
        if cc.empty:
            continue
        d = np.abs(pos[sel][:, None] - cc["position"].to_numpy()[None, :])      # [l, k]
        j = d.argmin(axis=1)                   # first minimum = smallest p (sorted by p)
        pick = cc.iloc[j]
        out.iloc[sel] = np.column_stack([pick["catalog_variant"], d[np.arange(len(sel)), j], pick["trait"],
                                         pick["p_value"], pick["pubmed_id"]])
    out["nearest_catalog_distance"] = pd.array(out["nearest_catalog_distance"], dtype="Int64")
    out["nearest_catalog_p_value"] = pd.to_numeric(out["nearest_catalog_p_value"])
    return out


def ld_with_catalog(loci: pd.DataFrame, catalog: pd.DataFrame, panel, *,
                    settings: AnnotateSettings = AnnotateSettings(), catalog_positions: bool = True) -> pd.DataFrame:
    """Strongest LD (``|r²|``) between each locus variant and the catalog variants of the same
    chromosome within ``ld_window_kb``, from an LD panel (:class:`~edfgen.formats.genotypes.panel.PlinkGenotypes`).

    Variants are found in the panel by id (locus ``variant_id``/``rsid``; catalog rsID), else by
    chromosome:position (catalog variants by position only with ``catalog_positions``, i.e. when the
    panel is on the catalog's GRCh38). Returns ``ld_catalog_variant``, ``ld_r2`` (NA where not computable).
    """
    from edfgen.kernels.ld import r2_vector

    v = panel.variants
    by_id = v.rows_by_id
    by_pos = pd.Series(np.arange(len(v.variant_id)), index=pd.Index(
        [f"{c}:{p}" for c, p in zip(v.chromosome, v.position)]))
    by_pos = by_pos[~by_pos.index.duplicated(keep=False)]

    def locate(ids, chrom, pos):
        a = pd.Series(ids).map(by_id)
        b = pd.Series([f"{c}:{p}" for c, p in zip(chrom, pos)]).map(by_pos)
        return a.fillna(b)

    cat = catalog.drop_duplicates("catalog_variant").reset_index(drop=True)
    cat_bim = (locate(cat["catalog_variant"], cat["chromosome"], cat["position"]) if catalog_positions
               else pd.Series(cat["catalog_variant"]).map(by_id)).to_numpy()
    ids = loci["rsid"].fillna(loci["variant_id"]) if "rsid" in loci.columns else loci["variant_id"]
    loc_bim = locate(ids.astype(str), loci["chromosome"], loci["base_pair_location"]).to_numpy()
    best_var = np.full(len(loci), None, dtype=object)
    best_r2 = np.full(len(loci), np.nan)
    w = settings.ld_window_kb * 1000
    cat_ok = ~pd.isna(cat_bim)
    cat_idx = np.where(cat_ok, cat_bim, 0).astype(int)
    cat_chrom, cat_pos = v.chromosome[cat_idx], v.position[cat_idx]
    for k in np.flatnonzero(~pd.isna(loc_bim)):
        b = int(loc_bim[k])
        idx = np.flatnonzero(cat_ok & (cat_chrom == v.chromosome[b]) & (np.abs(cat_pos - v.position[b]) <= w))
        if idx.size == 0:
            continue
        g = panel.read(np.r_[b, cat_bim[idx].astype(int)])
        r2, ok = r2_vector(g[:, 0], g[:, 1:], method=settings.r2_method)
        r2 = np.where(ok, np.abs(r2), np.nan)
        if np.isfinite(r2).any():
            j = int(np.nanargmax(r2))
            best_var[k], best_r2[k] = cat["catalog_variant"].iloc[idx[j]], r2[j]
    return pd.DataFrame({"ld_catalog_variant": best_var, "ld_r2": best_r2}, index=loci.index)


def annotate_loci(loci: pd.DataFrame, catalog: pd.DataFrame, *, panel=None, genes: pd.DataFrame | None = None,
                  settings: AnnotateSettings = AnnotateSettings(), catalog_positions: np.ndarray | None = None,
                  same_build: bool = True) -> pd.DataFrame:
    """Mark each locus known/novel against catalog associations (already trait-selected).

    ``novel = False`` when the nearest association is within ``window_kb`` (``known_by``
    contains ``window``) or, with ``panel``, a catalog variant has ``r² >= ld_r2`` with the
    locus variant (``known_by`` contains ``ld``). Adds the nearest catalog association, the
    strongest-LD catalog variant and, with ``genes``, the nearest gene(s).

    Loci on another build than the catalog (``same_build=False``, ``--reference-genome GRCh37``) are
    compared by position only through ``catalog_positions`` (their GRCh38 positions after liftover,
    NaN where unmapped; ``None``: no positional comparison at all); they are known by ``rsid`` when
    their rsID (``rsid`` or ``variant_id``) is a catalog variant of the selected traits.

    Returns
    -------
    DataFrame with :data:`ANNOTATED_COLUMNS`, rows in input order.
    """
    from edfgen.formats.genes import nearest_genes

    loci = loci.reset_index(drop=True)
    out = pd.DataFrame({
        "locus": loci["locus"] if "locus" in loci.columns else np.arange(1, len(loci) + 1),
        "variant_id": loci["variant_id"].astype(str), "chromosome": loci["chromosome"].astype(str),
        "base_pair_location": loci["base_pair_location"].astype(np.int64), "p_value": loci["p_value"],
        "phenotypes": loci["phenotypes"] if "phenotypes" in loci.columns else (
            loci["phenotype"] if "phenotype" in loci.columns else pd.NA)})
    if same_build:
        near = nearest_catalog(out, catalog)
    else:   # never compare positions across builds: only lifted positions, and rsIDs
        near = nearest_catalog(out.iloc[:0], catalog).reindex(out.index)
        if catalog_positions is not None:
            ok = np.flatnonzero(np.isfinite(np.asarray(catalog_positions, dtype=float)))
            lifted = out.iloc[ok].assign(base_pair_location=np.asarray(catalog_positions)[ok].astype(np.int64))
            near.iloc[ok] = nearest_catalog(lifted, catalog).to_numpy()
        near["nearest_catalog_distance"] = pd.array(near["nearest_catalog_distance"], dtype="Int64")
        near["nearest_catalog_p_value"] = pd.to_numeric(near["nearest_catalog_p_value"])
    by_window = near["nearest_catalog_distance"].fillna(np.iinfo(np.int64).max).to_numpy(np.int64) \
        <= settings.window_kb * 1000
    by_rsid = np.zeros(len(out), dtype=bool)
    if not same_build:
        ids = (loci["rsid"].fillna(loci["variant_id"]) if "rsid" in loci.columns else loci["variant_id"]).astype(str)
        by_rsid = ids.isin(set(catalog["catalog_variant"].astype(str))).to_numpy()
    if panel is not None:
        ldt = ld_with_catalog(loci, catalog, panel, settings=settings, catalog_positions=same_build)
    else:
        ldt = pd.DataFrame({"ld_catalog_variant": [None] * len(out), "ld_r2": np.nan})
    by_ld = (ldt["ld_r2"].fillna(-1).to_numpy() >= settings.ld_r2)
    out["novel"] = ~(by_window | by_ld | by_rsid)
    out["known_by"] = [",".join(k for k, f in (("rsid", r), ("window", a), ("ld", b)) if f)
                       for r, a, b in zip(by_rsid, by_window, by_ld)]
    out = pd.concat([out, near.reset_index(drop=True), ldt.reset_index(drop=True)], axis=1)
    if genes is not None:
        g = nearest_genes(out["chromosome"], out["base_pair_location"], genes)
        out["nearest_gene"], out["gene_distance"] = g["nearest_gene"].to_numpy(), g["gene_distance"].array
    else:
        out["nearest_gene"], out["gene_distance"] = None, pd.array([pd.NA] * len(out), dtype="Int64")
    return out[ANNOTATED_COLUMNS]


def run_annotate(loci_path: str | Path, catalog_path: str | Path, out: str | Path, *,
                 traits: Sequence[str] | None = None, any_trait: bool = False, ld_bfile: str | Path | None = None,
                 genes: str | Path | None = None, settings: AnnotateSettings = AnnotateSettings(),
                 regional_plots: int = 0, sumstats: Sequence[str | Path] = (), reference_genome: str = "GRCh38",
                 liftover_chain: str | Path | None = None) -> pd.DataFrame:
    """``edfgen annotate``: read, check build, select traits, annotate, write ``out`` (TSV) and its
    provenance ``<out>.manifest.json`` (a file-level manifest, so that annotating into a clump
    directory does not replace that directory's ``manifest.json``).

    ``reference_genome="GRCh37"``: the loci (and LD panel) are GRCh37; catalog rows (GRCh38) match
    them by rsID, and by position only after lifting the loci to GRCh38 with ``liftover_chain``
    (:class:`edfgen.formats.liftover.Chain`); output positions stay GRCh37.

    ``sumstats`` (for ``regional_plots``): files or directories (:func:`edfgen.kernels.clump.expand_sumstats`);
    one phenotype's per-chromosome files are combined (a variant in two of them is an input error)."""
    from edfgen.kernels.clump import expand_sumstats
    from edfgen.formats.genes import read_genes
    from edfgen.formats.genotypes.panel import PlinkGenotypes, panel_fingerprint
    from edfgen.formats.tables import write_table
    from edfgen.formats.manifest import Manifest, check_not_inputs

    sumstats = expand_sumstats(sumstats) if sumstats else []
    check_not_inputs([out, Path(f"{out}.manifest.json")], [loci_path, catalog_path, genes, *sumstats])  # never over its input
    if Path(out).parent.is_dir():  # temporary files a killed annotate left there
        from edfgen.formats.tables import clean_temp_files

        clean_temp_files(Path(out).parent, recursive=False)
    panel_files, bed_bytes = panel_fingerprint(ld_bfile) if ld_bfile else ([], None)
    man = Manifest("edfgen annotate", parameters={**settings.__dict__, "traits": traits, "any_trait": any_trait,
                                                  "ld_bfile": ld_bfile, "ld_panel_bed_bytes": bed_bytes,
                                                  "genes": genes, "reference_genome": reference_genome,
                                                  "liftover_chain": str(liftover_chain) if liftover_chain else None})
    man.add_inputs([loci_path, catalog_path, genes, *panel_files, liftover_chain])
    if reference_genome not in ("GRCh37", "GRCh38"):
        raise InputError(f"--reference-genome {reference_genome!r}: choose GRCh37 or GRCh38")
    if liftover_chain is not None and reference_genome == "GRCh38":
        raise InputError("--liftover-chain lifts GRCh37 loci to the catalog's GRCh38: give --reference-genome GRCh37")

    loci = read_loci(loci_path, build=reference_genome)
    full = read_catalog(catalog_path)
    same_build, lifted = reference_genome == "GRCh38", None
    if same_build:
        check_build_against_catalog(loci, full, source=f"--loci {loci_path}")
    elif liftover_chain is not None:
        from edfgen.formats.liftover import Chain

        to_chrom, to_pos = Chain.read(liftover_chain).lift(loci["chromosome"], loci["base_pair_location"])
        lifted = np.where(to_chrom == loci["chromosome"].astype(str).to_numpy(), to_pos, np.nan)
        log.info("liftover %s: %d of %d loci mapped to GRCh38 on the same chromosome", liftover_chain,
                 int(np.isfinite(lifted).sum()), len(loci))
    cat = select_traits(full, traits, any_trait=any_trait)
    if cat.empty:
        log.warning("no catalog associations match the selected traits; every locus will be novel")
    gtab = read_genes(genes) if genes else None
    panel = PlinkGenotypes(ld_bfile) if ld_bfile else None
    try:
        res = annotate_loci(loci, cat, panel=panel, genes=gtab, settings=settings, same_build=same_build,
                            catalog_positions=lifted)
        out = Path(out)
        write_table(res, out, float_format="%.6g")
        if regional_plots and sumstats and panel is not None:
            from edfgen.plots.regional import plot_loci

            lo = loci.assign(locus=res["locus"], phenotype=loci.get("phenotype", res["phenotypes"]))
            plot_loci(lo.head(regional_plots), sumstats, panel, out.parent / f"{out.stem}_regional",
                      genes=gtab, window_kb=settings.window_kb, r2_method=settings.r2_method)
    finally:
        if panel is not None:
            panel.close()
    man.extra = {"n_loci": int(len(res)), "n_novel": int(res["novel"].sum()), "n_catalog_associations": int(len(cat))}
    _write_file_manifest(man, out)
    return res


def _write_file_manifest(man, out: Path) -> Path:
    """``<out>.manifest.json`` for a command whose output is one file (its directory may hold
    another stage's ``manifest.json``), written last and atomically."""
    import json

    from edfgen.formats.tables import atomic_write

    man.outputs = [out.name]
    man.finished = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
    path = out.parent / f"{out.name}.manifest.json"
    with atomic_write(path) as fh:
        json.dump(man.to_dict(), fh, indent=2)
    return path


# ----------------------------------------------------------------------------- download
def download_catalog(out: str | Path, *, url: str = CATALOG_URL, timeout: float = 60.0) -> Path:
    """Fetch the current GWAS Catalog associations (v1.0.2 TSV; a ``.zip`` is unpacked) to ``out``,
    with ``<out>.manifest.json`` (URL, download time, the file's sha256 under ``extra``).

    Raises
    ------
    ToolError
        Offline, unreachable URL, HTTP error or a download that is not an associations TSV —
        one line naming the URL.
    """
    from edfgen.formats.tables import atomic_path

    out = Path(out)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, atomic_path(out) as tmp:
            with open(tmp, "wb") as fh:
                shutil.copyfileobj(resp, fh, 1 << 20)
            if url.endswith(".zip") or zipfile.is_zipfile(tmp):
                with zipfile.ZipFile(tmp) as zf:
                    names = [n for n in zf.namelist() if n.endswith((".tsv", ".txt"))]
                    if not names:
                        raise ToolError(f"catalog download {url}: zip archive holds no .tsv file")
                    data = zf.read(names[0])
                tmp.write_bytes(data)
            with open(tmp, "rb") as fh:
                head = fh.readline().decode("utf-8", "replace")
            if "SNPS" not in head or "DISEASE/TRAIT" not in head:
                raise ToolError(f"catalog download {url}: the file is not a GWAS Catalog associations TSV "
                                f"(header starts {head[:60]!r})")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ToolError(f"catalog download: cannot fetch {url} ({reason}); are you offline? "
                        f"Download it elsewhere and pass it with --catalog") from None
    from edfgen.formats.manifest import Manifest, sha256_file

    man = Manifest("edfgen catalog download", parameters={"url": url, "timeout": timeout})
    man.extra = {"sha256": sha256_file(out), "bytes": out.stat().st_size}
    _write_file_manifest(man, out)
    return out
