"""Known or novel: loci against GWAS Catalog associations, LD with catalog variants, nearest genes.

A locus is **known** (``novel = False``) when a catalog association of the selected traits lies
within ``window_kb`` of it, or, with an LD panel, when a catalog variant is in LD
``r² >= ld_r2`` with it; otherwise it is novel. Frames in (loci, catalog rows of
:func:`edfgen.formats.catalog.read_catalog`, genes of :func:`edfgen.formats.genes.read_genes`),
frames out; the LD panel is an open :class:`~edfgen.kernels.ld.GenotypePanel`.

References
----------
Sollis E et al. (2023) "The NHGRI-EBI GWAS Catalog: knowledgebase and deposition resource",
Nucleic Acids Res 51:D977, doi:10.1093/nar/gkac1010.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.kernels.ld import r2_vector
from edfgen.kernels.pvalues import neg_log10_or_given

ANNOTATED_COLUMNS = ["locus", "variant_id", "chromosome", "base_pair_location", "p_value", "neg_log_10_p_value",
                     "phenotypes",
                     "novel", "known_by", "nearest_catalog_variant", "nearest_catalog_distance",
                     "nearest_catalog_trait", "nearest_catalog_p_value", "nearest_catalog_neg_log10_p_value",
                     "nearest_catalog_pubmed_id", "ld_catalog_variant", "ld_r2", "nearest_gene", "gene_distance"]


@dataclass(frozen=True)
class AnnotateSettings:
    """Novelty rules: ``window_kb`` (default 500) around each locus; LD ``r² >= ld_r2``
    (default 0.1) with catalog variants within ``ld_window_kb`` (default 5000) when a panel is
    given; ``r2_method`` as in :mod:`edfgen.kernels.ld`."""

    window_kb: float = 500.0
    ld_r2: float = 0.1
    ld_window_kb: float = 5000.0
    r2_method: str = "plink"

    def __post_init__(self):
        # NaN fails every comparison, so each test is written to be False for it
        if not 0 <= self.window_kb < np.inf:
            raise InputError(f"annotate: window_kb must be a finite number >= 0, got {self.window_kb}")
        if not 0 < self.ld_window_kb < np.inf:
            raise InputError(f"annotate: ld_window_kb must be a finite number > 0, got {self.ld_window_kb}")
        if not 0 <= self.ld_r2 <= 1:
            raise InputError(f"annotate: ld_r2 must be in [0, 1], got {self.ld_r2}")


def nearest_catalog(loci: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """Nearest catalog association (same chromosome) of each locus: variant, absolute distance
    (bp), trait, p-value, its ``-log10`` and PubMed id (ties: smallest p, by ``neg_log10_p_value``, which
    orders p-values a double cannot hold). NA when none on the chromosome."""
    cat = catalog.dropna(subset=["position"]).copy()
    cat["position"] = cat["position"].astype(np.int64)
    if "neg_log10_p_value" not in cat.columns:      # a catalog table built without read_catalog
        with np.errstate(divide="ignore"):
            cat["neg_log10_p_value"] = -np.log10(pd.to_numeric(cat["p_value"]).to_numpy(float))
    cat = cat.sort_values(["neg_log10_p_value"], ascending=False, kind="stable", na_position="last")
    out = pd.DataFrame(index=loci.index, columns=["nearest_catalog_variant", "nearest_catalog_distance",
                                                  "nearest_catalog_trait", "nearest_catalog_p_value",
                                                  "nearest_catalog_neg_log10_p_value", "nearest_catalog_pubmed_id"],
                       dtype=object)
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
                                         pick["p_value"], pick["neg_log10_p_value"], pick["pubmed_id"]])
    out["nearest_catalog_distance"] = pd.array(out["nearest_catalog_distance"], dtype="Int64")
    for c in ("nearest_catalog_p_value", "nearest_catalog_neg_log10_p_value"):
        out[c] = pd.to_numeric(out[c])
    return out


def ld_with_catalog(loci: pd.DataFrame, catalog: pd.DataFrame, panel, *,
                    settings: AnnotateSettings = AnnotateSettings(), catalog_positions: bool = True) -> pd.DataFrame:
    """Strongest LD (``|r²|``) between each locus variant and the catalog variants of the same
    chromosome within ``ld_window_kb``, from an LD panel (:class:`~edfgen.kernels.ld.PlinkGenotypes`).

    Variants are found in the panel by id (locus ``variant_id``/``rsid``; catalog rsID), else by
    chromosome:position (catalog variants by position only with ``catalog_positions``, i.e. when the
    panel is on the catalog's GRCh38; the panel's chromosome labels as a GWAS-SSF round trip gives
    them, so PLINK's 23, XY and 25 are X). Returns ``ld_catalog_variant``, ``ld_r2`` (NA where not computable).
    """
    v = panel.variants
    by_id = v.rows_by_id
    by_pos = pd.Series(np.arange(len(v.variant_id)), index=pd.Index(   # PLINK's 23/XY/25 as the catalog's X
        [f"{c}:{p}" for c, p in zip(v.ssf_chromosome, v.position)]))
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
        r2, ok = r2_vector(g[:, 0], g[:, 1:], method=settings.r2_method, haploid=panel.haploid(b))
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

    A locus is also known by ``rsid`` when its rsID (``rsid`` or ``variant_id``) is a catalog variant of the
    selected traits, in either build (a catalog row without a position is found that way only). Loci on
    another build than the catalog (``same_build=False``, ``--reference-genome GRCh37``) are
    compared by position only through ``catalog_positions`` (their GRCh38 positions after liftover,
    NaN where unmapped; ``None``: no positional comparison at all).

    Returns
    -------
    DataFrame with :data:`ANNOTATED_COLUMNS`, rows in input order.
    """
    loci = loci.reset_index(drop=True)
    out = pd.DataFrame({
        "locus": loci["locus"] if "locus" in loci.columns else np.arange(1, len(loci) + 1),
        "variant_id": loci["variant_id"].astype(str), "chromosome": loci["chromosome"].astype(str),
        "base_pair_location": loci["base_pair_location"].astype(np.int64), "p_value": loci["p_value"],
        "neg_log_10_p_value": neg_log10_or_given(loci["p_value"], loci.get("neg_log_10_p_value")),
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
        for c in ("nearest_catalog_p_value", "nearest_catalog_neg_log10_p_value"):
            near[c] = pd.to_numeric(near[c])
    by_window = near["nearest_catalog_distance"].fillna(np.iinfo(np.int64).max).to_numpy(np.int64) \
        <= settings.window_kb * 1000
    # the locus variant is itself a catalog variant of the selected traits (either build: a catalog row without
    # a position, which the window cannot see, still names its rsID)
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


def nearest_genes(chromosome, position, genes: pd.DataFrame) -> pd.DataFrame:
    """Nearest gene(s) of each position.

    Parameters
    ----------
    chromosome, position : array-like ``[L]``
    genes : DataFrame from :func:`edfgen.formats.genes.read_genes`

    Returns
    -------
    DataFrame ``[L]`` with ``nearest_gene`` (every overlapping gene, comma-joined, else the
    gene(s) with the closest edge) and ``gene_distance`` (0 inside a gene, else bp to the
    nearest edge; NA when the chromosome has no gene).
    """
    chrom = pd.Series(chromosome).astype(str).str.replace("^chr", "", regex=True).to_numpy()
    pos = np.asarray(position, dtype=np.int64)
    names = np.full(len(pos), None, dtype=object)
    dist = np.full(len(pos), np.nan)
    for c in np.unique(chrom):
        sel = np.flatnonzero(chrom == c)
        g = genes[genes["chromosome"] == c]
        if g.empty:
            continue
        st, en = g["start"].to_numpy(), g["end"].to_numpy()
        gname = g["gene"].to_numpy()
        p = pos[sel][:, None]
        d = np.where(p < st, st - p, np.where(p > en, p - en, 0))          # [l, genes]
        best = d.min(axis=1)
        dist[sel] = best
        hit = d == best[:, None]
        names[sel] = [",".join(dict.fromkeys(gname[h])) for h in hit]
    return pd.DataFrame({"nearest_gene": names, "gene_distance": pd.array(
        np.where(np.isnan(dist), pd.NA, dist), dtype="Int64")})
