"""The study's loci table (``<run>/loci.tsv`` of ``edfgen run``): each independent locus with what a
reader needs beside its lead variant: the lead EDF's effect (``effect_allele``, ``other_allele``,
``beta``, ``standard_error``, ``effect_allele_frequency``, ``n``, read from that EDF's GWAS-SSF row),
the biomarker the lead EDF tracks best (``tracked_biomarker``, ``tracked_biomarker_r``: Pearson r
between the EDF and each biomarker over the participants with both; the largest |r|), the nearest
protein-coding gene, and novelty against the GWAS Catalog with the catalog's version.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.formats.sumstats.layout import SSF_CHROMOSOME_CODES
from edfgen.formats.tables import read_table, safe_filename
from edfgen.kernels.pvalues import neg_log10_or_given

#: columns of the run's loci.tsv (data_dictionary/study_loci.tsv)
STUDY_LOCI_COLUMNS = ["locus", "variant_id", "chromosome", "base_pair_location", "effect_allele", "other_allele",
                      "beta", "standard_error", "effect_allele_frequency", "p_value", "neg_log_10_p_value", "n",
                      "lead_edf",
                      "tracked_biomarker", "tracked_biomarker_r", "nearest_gene", "novel", "catalog_version",
                      "n_phenotypes", "phenotypes"]
_EFFECT = ["effect_allele", "other_allele", "beta", "standard_error", "effect_allele_frequency", "n"]


def lead_rows(loci: pd.DataFrame, gwas_dir: Path) -> pd.DataFrame:
    """The GWAS-SSF row of each locus' lead variant in its lead phenotype's file (``<phenotype>.tsv.gz``),
    found through the tabix index when there is one (a few bytes of each file), else by reading the file."""
    rows = []
    for r in loci.itertuples(index=False):
        path = Path(gwas_dir) / f"{safe_filename(str(r.phenotype))}.tsv.gz"
        rows.append(_find(path, str(r.variant_id), str(r.chromosome), int(r.base_pair_location)))
    return pd.DataFrame(rows, columns=_EFFECT)


def _find(path: Path, variant: str, chrom: str, pos: int) -> list:
    if not path.exists():
        return [np.nan] * len(_EFFECT)
    with gzip.open(path, "rt") as fh:
        header = fh.readline().rstrip("\n").split("\t")
    lines: list[list[str]] = []
    if Path(f"{path}.tbi").exists():
        import pysam

        quiet = pysam.set_verbosity(0)   # (htslib's notes on index age go to stderr otherwise)
        try:
            with pysam.TabixFile(str(path)) as tbx:
                code = chrom if chrom in tbx.contigs else SSF_CHROMOSOME_CODES.get(chrom, chrom)  # X is 23 in SSF
                if code in tbx.contigs:
                    lines = [ln.split("\t") for ln in tbx.fetch(code, max(pos - 1, 0), pos)]
        finally:
            pysam.set_verbosity(quiet)
    else:
        df = pd.read_csv(path, sep="\t", dtype=str)
        lines = df[df["variant_id"] == variant].to_numpy().tolist()
    for f in lines:
        row = dict(zip(header, f))
        if row.get("variant_id") == variant:
            num = (lambda k: pd.to_numeric(row.get(k), errors="coerce"))
            return [row.get("effect_allele"), row.get("other_allele"), num("beta"), num("standard_error"),
                    num("effect_allele_frequency"), num("n")]
    return [np.nan] * len(_EFFECT)


def tracked_biomarkers(edfs: pd.DataFrame, biomarkers: pd.DataFrame, names) -> pd.DataFrame:
    """For each EDF in ``names``: the biomarker with the largest |Pearson r| (over participants with
    both values) and that r. ``edfs``, ``biomarkers``: tables with ``IID``."""
    d = edfs.merge(biomarkers, on="IID", how="inner")
    bcols = [c for c in biomarkers.columns if c != "IID" and pd.api.types.is_numeric_dtype(biomarkers[c])]
    out = []
    for e in names:
        best, best_r = None, np.nan
        if e in d.columns:
            for b in bcols:
                ok = d[e].notna() & d[b].notna()
                if ok.sum() < 3 or d.loc[ok, b].std() == 0 or d.loc[ok, e].std() == 0:
                    continue
                r = float(np.corrcoef(d.loc[ok, e], d.loc[ok, b])[0, 1])
                if best is None or abs(r) > abs(best_r):
                    best, best_r = b, r
        out.append((best, best_r))
    return pd.DataFrame(out, columns=["tracked_biomarker", "tracked_biomarker_r"])


def study_loci(loci_path: Path, gwas_dir: Path, *, annotated: Path | None = None, edfs: Path | None = None,
               biomarkers: Path | None = None, genes: Path | None = None, catalog_version: str | None = None
               ) -> pd.DataFrame:
    """The run's loci table (:data:`STUDY_LOCI_COLUMNS`) from clump's ``loci.tsv`` and the other stages' outputs.

    ``annotated``: annotate's table (``novel``, ``nearest_gene``); without it the nearest gene comes from
    ``genes`` (:func:`edfgen.formats.genes.read_genes`) and ``novel`` is empty."""
    from edfgen.formats.genes import read_genes
    from edfgen.kernels.annotate import nearest_genes

    loci = read_table(loci_path, dtype={"chromosome": str, "variant_id": str, "p_value": str})
    p_text = loci["p_value"]        # (as text: "1e-400" is 0 as a double; annotate reads it so too)
    loci["p_value"] = pd.to_numeric(p_text, errors="coerce")
    out = loci[["locus", "variant_id", "chromosome", "base_pair_location", "p_value"]].reset_index(drop=True)
    out = pd.concat([out, lead_rows(loci, gwas_dir)], axis=1)
    # clump's -log10 p: exact where p_value is 0 below a double's range (review s39edge); else from the p text
    out["neg_log_10_p_value"] = neg_log10_or_given(loci["p_value"], loci.get("neg_log_10_p_value"), p_text)
    out["lead_edf"] = loci["phenotype"].to_numpy()
    if edfs is not None and biomarkers is not None and Path(biomarkers).exists() and len(loci):
        tb = tracked_biomarkers(read_table(edfs, id_column="IID"), read_table(biomarkers, id_column="IID"),
                                out["lead_edf"])
        out["tracked_biomarker"] = tb["tracked_biomarker"].to_numpy()
        out["tracked_biomarker_r"] = pd.to_numeric(tb["tracked_biomarker_r"]).to_numpy()
    else:
        out["tracked_biomarker"], out["tracked_biomarker_r"] = None, np.nan
    ann = read_table(annotated, dtype={"variant_id": str}) if annotated and Path(annotated).exists() else None
    out["nearest_gene"], out["novel"] = None, None
    if ann is not None:
        by = ann.set_index("locus")
        if "nearest_gene" in by:
            out["nearest_gene"] = out["locus"].map(by["nearest_gene"])
        if "novel" in by:
            out["novel"] = out["locus"].map(by["novel"])
    out["nearest_gene"] = out["nearest_gene"].astype(object)
    missing = out["nearest_gene"].isna().to_numpy()
    if genes and missing.any():   # annotate did not run (or had no genes): the gene table of the run's build
        near = nearest_genes(out.loc[missing, "chromosome"], out.loc[missing, "base_pair_location"], read_genes(genes))
        out.loc[missing, "nearest_gene"] = near["nearest_gene"].to_numpy()
    out["catalog_version"] = catalog_version if ann is not None else None
    out["n_phenotypes"] = loci["n_phenotypes"].to_numpy()
    out["phenotypes"] = loci["phenotypes"].to_numpy()
    return out[STUDY_LOCI_COLUMNS]


def catalog_version(catalog: Path | None) -> str | None:
    """A readable version of a GWAS Catalog file: its release date and row count (the shipped
    ``ecg_traits_associations_2016-01-18.tsv`` is "2016-01-18 ECG-trait extract (346 rows)")."""
    import re

    if catalog is None or not Path(catalog).exists():
        return None
    rows = sum(1 for _ in open(catalog, "rb")) - 1
    m = re.search(r"(\d{4}-\d{2}-\d{2})", Path(catalog).name)
    what = "ECG-trait extract" if "ecg_traits" in Path(catalog).name else Path(catalog).name
    return f"GWAS Catalog {m.group(1) + ' ' if m else ''}{what} ({rows} rows)"
