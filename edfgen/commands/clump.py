"""``edfgen clump``: clump GWAS-SSF files against one LD panel, merge loci, write the tables.

What the phenotypes share is done once (:func:`clump_files`): files are read with only the needed
columns, a variant set is matched to the LD panel once for every file with the same variants
(:func:`match_to_panel` and its fast path), and the clumping itself is
:func:`edfgen.kernels.clump.clump_lockstep`. :func:`run_clump` writes ``clumps.tsv``, ``loci.tsv``,
``rejects.tsv`` (+ ``truth_recovery.tsv``, ``regional/*.png``) inside the manifest recording;
:func:`edfgen.commands.clump_regional.write_regional_plots` hands :mod:`edfgen.plots.regional` the frames of
each locus (also for ``edfgen annotate``).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd

from edfgen.commands.clump_regional import check_genes_build, locus_frames, write_regional_plots  # noqa: F401
from edfgen.commands.options import GenotypeOptions, allow_incomplete_opt, filtered_panel, force_opt, genotype_source, opt, out_opt
from edfgen.exceptions import InputError
from edfgen.formats.genotypes.base import rsid_column
from edfgen.formats.genotypes.panel import (GenotypePanel, genotype_label, genotype_parameters, locate_in_panel,
                                            open_panel, panel_fingerprint)
from edfgen.formats.manifest import check_upstream, plan_outputs, recording
from edfgen.formats.paths import file_arg, file_args
from edfgen.commands.sumstats_options import check_columns_present, columns_opt, read_phenotype, warn_panel_build
from edfgen.formats.sumstats import (chrom_key, column_test, declared_build, expand_sumstats, genotype_chromosome_labels,
                                     group_by_phenotype, parse_column_option, reads_sub_folders)
from edfgen.formats.tables import prepare_out_dir, read_table, write_table
from edfgen.kernels.clump import ClumpKernelResult, ClumpSettings, clump_lockstep, merge_loci, study_wide_threshold
from edfgen.kernels.ld import WindowLD
from edfgen.kernels.thresholds import DEFAULT_REFERENCE_GENOME
from edfgen.plots.regional import regional_plot_names
from edfgen.progress import progress
from edfgen.reprs import ReadableRepr
from edfgen.simulate.truth import score_loci, warn_unmatched_traits

log = logging.getLogger(__name__)

CLUMP_COLUMNS = ["phenotype", "variant_id", "chromosome", "base_pair_location", "p_value",
                 "n_clumped", "clumped_variants", "rsid"]
REJECT_COLUMNS = ["phenotype", "variant_id", "p_value", "reason"]


@dataclass
class _Matched:
    """Summary statistics of one phenotype aligned to the LD panel (bim order)."""

    phenotype: str
    table: pd.DataFrame            # rows in bim order: variant_id, chromosome, base_pair_location, p_value, bim
    rejects: pd.DataFrame


def match_to_panel(df: pd.DataFrame, panel: GenotypePanel, *, phenotype: str, p1: float) -> _Matched:
    """Align summary statistics to the LD panel (by variant id as PLINK does; see
    :func:`~edfgen.formats.genotypes.panel.locate_in_panel` for the fallbacks).

    Rows with a missing/NA p-value are dropped (PLINK skips them); a duplicated variant id keeps
    its smallest p. Variants absent from the panel with ``p <= p1`` become rejects.
    """
    v = panel.variants
    p = pd.to_numeric(df["p_value"], errors="coerce")
    bad = p[(p < 0) | (p > 1)]
    if len(bad):
        raise InputError(f"{phenotype}: p_value {float(bad.iloc[0]):g} outside [0, 1] "
                         f"(variant {str(df.loc[bad.index[0], 'variant_id'])})")
    t = pd.DataFrame({"variant_id": df["variant_id"].astype(str), "p_value": p})
    for col in ("chromosome", "base_pair_location", "rsid", "effect_allele", "other_allele"):
        if col in df.columns:
            t[col] = df[col].to_numpy()
    t = t[t["p_value"].notna()]
    if t["variant_id"].duplicated().any():
        log.warning("%s: %d duplicated variant ids; keeping the smallest p of each", phenotype,
                    int(t["variant_id"].duplicated().sum()))
        t = t.sort_values("p_value", kind="stable").drop_duplicates("variant_id")
    t["bim"], how = locate_in_panel(df.loc[t.index], panel, phenotype)
    missing = t[t["bim"].isna()]
    rejects = missing[missing["p_value"] <= p1].assign(phenotype=phenotype, reason=f"not in LD panel (matched by {how})")
    if len(missing):
        log.debug("%s: %d variants not in the LD panel %s (%d with p <= p1)", phenotype, len(missing),
                 panel.prefix, len(rejects))
    t = t[t["bim"].notna()].copy()
    t["bim"] = t["bim"].astype(np.int64)
    if t["bim"].duplicated().any():
        log.warning("%s: %d rows match an LD-panel variant already matched; keeping the smallest p",
                    phenotype, int(t["bim"].duplicated().sum()))
        t = t.sort_values("p_value", kind="stable").drop_duplicates("bim")
    t = t.sort_values("bim").reset_index(drop=True)
    t["chromosome"] = v.chromosome[t["bim"]]
    if "base_pair_location" not in t.columns or t["base_pair_location"].isna().any():
        t["base_pair_location"] = v.position[t["bim"]]
    t["base_pair_location"] = t["base_pair_location"].astype(np.int64)
    return _Matched(phenotype, t, rejects[REJECT_COLUMNS].reset_index(drop=True))



@dataclass
class _Prepared:
    """One phenotype ready for clumping: its variants in the LD panel, in panel order."""

    phenotype: str
    bim: np.ndarray             # int64 [V] panel rows, ascending
    p: np.ndarray               # float64 [V]
    ids: np.ndarray             # object [*]: variant ids (shared between phenotypes) ...
    rows: np.ndarray            # int64 [V]: ... ids[rows] are this phenotype's, in panel order
    pos: np.ndarray             # int64 [V] base_pair_location written to clumps.tsv
    chromosome: np.ndarray      # str [V] (the panel's)
    rejects: pd.DataFrame
    rsid: np.ndarray | None = None   # object [*] the file's rsid column, indexed like ids (None: no such column)


def _prepared_from_matched(m: _Matched) -> _Prepared:
    t = m.table
    return _Prepared(m.phenotype, t["bim"].to_numpy(np.int64), t["p_value"].to_numpy(np.float64),
                     t["variant_id"].to_numpy(), np.arange(len(t)), t["base_pair_location"].to_numpy(np.int64),
                     t["chromosome"].to_numpy(), m.rejects,
                     t["rsid"].to_numpy(dtype=object) if "rsid" in t.columns else None)


@dataclass
class _VariantSet:
    """The variants of a summary-statistics file matched to the LD panel by ``variant_id``, once
    for every file with the same variant ids and positions (EDFs of one GWAS run)."""

    ids: pd.Series              # as read (equality test)
    pos: np.ndarray | None      # file base_pair_location, for equality and output
    id_str: np.ndarray          # object [R] ids as text
    bim: np.ndarray             # float64 [R] panel row by id, NaN when absent
    by_bim: np.ndarray          # int64: rows with a panel match, in panel order
    simple: bool                # no duplicated ids and no two rows on one panel variant
    missing: np.ndarray         # int64: rows without a panel match
    full: "_Prepared | None" = None   # panel-order arrays when every p-value is present

    def same(self, df: pd.DataFrame) -> bool:
        pos = df["base_pair_location"].to_numpy() if "base_pair_location" in df.columns else None
        if len(df) != len(self.id_str) or (pos is None) != (self.pos is None):
            return False
        if pos is not None and not np.array_equal(pos, self.pos):
            return False
        return bool(self.ids.equals(df["variant_id"]))


def _variant_set(df: pd.DataFrame, panel: GenotypePanel) -> _VariantSet:
    id_str = df["variant_id"].astype(str).to_numpy()
    bim = pd.Series(id_str).map(panel.variants.rows_by_id).to_numpy(np.float64)
    matched = np.flatnonzero(~np.isnan(bim))
    by_bim = matched[np.argsort(bim[matched], kind="stable")]
    panel_ids = pd.Index(panel.variants.variant_id)
    ambiguous = panel_ids[panel_ids.duplicated()]           # an error of match_to_panel when used
    simple = (not pd.Series(id_str).duplicated().any() and not pd.Series(bim[matched]).duplicated().any()
              and not (len(ambiguous) and pd.Series(id_str).isin(set(ambiguous)).any()))
    pos = df["base_pair_location"].to_numpy() if "base_pair_location" in df.columns else None
    return _VariantSet(df["variant_id"], pos, id_str, bim, by_bim.astype(np.int64), simple,
                       np.flatnonzero(np.isnan(bim)))


_FAST_OPTIONAL = ("base_pair_location", "neg_log_10_p_value", "rsid")
_NO_REJECTS = pd.DataFrame({"phenotype": pd.Series(dtype=object), "variant_id": pd.Series(dtype=object),
                            "p_value": pd.Series(dtype=np.float64), "reason": pd.Series(dtype=object)})
_MATCH_OPTIONAL = ("chromosome", "base_pair_location", "rsid", "effect_allele", "other_allele",
                   "neg_log_10_p_value")
#: p-values below the smallest normal double (2.2e-308) are ranked by the file's -log10 p (see _rank_underflow)
_P_NORMAL_MIN = float(np.finfo(np.float64).tiny)
_SUBNORMAL_STEP = 5e-324


def _rank_underflow(df: pd.DataFrame) -> pd.DataFrame:
    """p-values that underflow a double (``1e-400`` reads as 0; edfgen gwas writes them with an exact
    ``neg_log_10_p_value``) ranked by that column: replaced by increasing multiples of the smallest subnormal
    double in order of decreasing -log10 p, so that clumping picks the strongest as lead instead of breaking a tie
    at 0 by position (as plink 1.9 does). They are written back as 0 (:func:`_written_p`)."""
    if "neg_log_10_p_value" not in df.columns:
        return df
    p = pd.to_numeric(df["p_value"], errors="coerce").to_numpy(np.float64)
    nlp = pd.to_numeric(df["neg_log_10_p_value"], errors="coerce").to_numpy(np.float64)
    under = np.flatnonzero((p < _P_NORMAL_MIN) & np.isfinite(nlp) & (nlp > 300))
    if under.size < 2:
        return df
    ranked = p.copy()
    ranked[under[np.argsort(-nlp[under], kind="stable")]] = _SUBNORMAL_STEP * np.arange(1, under.size + 1)
    log.info("%d p-values below %g ranked by neg_log_10_p_value", under.size, _P_NORMAL_MIN)
    return df.assign(p_value=ranked)


def _written_p(p) -> np.ndarray:
    """p-values as written: a rank of :func:`_rank_underflow` is 0 (below the double range) again."""
    p = np.asarray(p, dtype=np.float64)
    return np.where(p < _P_NORMAL_MIN, 0.0, p)


def _underflow_nlp(name: str, df: pd.DataFrame) -> dict[tuple[str, str], float]:
    """The file's ``neg_log_10_p_value`` of the rows whose p is below the double range, by ``(phenotype,
    variant_id)``: written beside their p of 0 in ``clumps.tsv``/``loci.tsv`` (:func:`_with_neg_log10`)."""
    if "neg_log_10_p_value" not in df.columns:
        return {}
    p = pd.to_numeric(df["p_value"], errors="coerce").to_numpy(np.float64)
    nlp = pd.to_numeric(df["neg_log_10_p_value"], errors="coerce").to_numpy(np.float64)
    under = np.flatnonzero((p < _P_NORMAL_MIN) & np.isfinite(nlp))
    ids = df["variant_id"].to_numpy()[under]
    return {(name, str(v)): float(x) for v, x in zip(ids, nlp[under])}


def _with_neg_log10(table: pd.DataFrame, underflow: dict[tuple[str, str], float]) -> pd.DataFrame:
    """``table`` (clumps or loci, p as clumped) with ``neg_log_10_p_value`` after ``p_value``: ``-log10 p``, or for
    a p below the double range (written 0) the file's value (review s32a F7: ``4.7e-1007`` and ``1e-400`` were two
    leads with p 0, a tie), NA where the file gave none for a p of 0 (a subnormal p such as ``1e-310`` without the
    file's value: its ``-log10 p``, 310; review s32h F8)."""
    p = table["p_value"].to_numpy(np.float64)
    with np.errstate(divide="ignore"):
        nlp = 0.0 - np.log10(p)
    nlp[p == 0] = np.nan
    under = np.flatnonzero(p < _P_NORMAL_MIN)
    nlp[under] = [underflow.get((str(ph), str(v)), own) for ph, v, own in
                  zip(table["phenotype"].to_numpy()[under], table["variant_id"].to_numpy()[under], nlp[under])]
    out = table.copy()
    out.insert(out.columns.get_loc("p_value") + 1, "neg_log_10_p_value", nlp)
    return out


def _file_rsids(df: pd.DataFrame) -> np.ndarray | None:
    """The file's ``rsid`` column by file row (clumps.tsv's rsid), or ``None`` without one."""
    return df["rsid"].to_numpy(dtype=object) if "rsid" in df.columns else None


def _not_in_panel(name: str, vs: _VariantSet, p: np.ndarray, missing: np.ndarray, p1: float):
    """The variants ``missing`` from the panel that would qualify as index variants (``p <= p1``), and
    their ``rejects.tsv`` rows."""
    rej = missing[p[missing] <= p1]
    rejects = _NO_REJECTS if rej.size == 0 else pd.DataFrame(
        {"phenotype": name, "variant_id": vs.id_str[rej], "p_value": p[rej],
         "reason": "not in LD panel (matched by variant_id)"}, columns=REJECT_COLUMNS)
    return rej, rejects


def _prepare_fast(name: str, df: pd.DataFrame, vs: _VariantSet, panel: GenotypePanel,
                  settings: ClumpSettings, *, share: bool = True) -> _Prepared | None:
    """:func:`match_to_panel` for a file whose variant set was matched before (``None``: take the
    general path: duplicated ids, or fewer than half of the variants found by id)."""
    if not vs.simple:
        return None
    p = df["p_value"].to_numpy(np.float64)
    have = ~np.isnan(p)
    if share and have.all():            # the usual case: the variant set's arrays are shared
        if vs.full is None:
            vs.full = _prepare_fast(name, df, vs, panel, settings, share=False)
        if vs.full is None:
            return None
        f = vs.full
        _, rejects = _not_in_panel(name, vs, p, vs.missing, settings.p1)
        return _Prepared(name, f.bim, p[f.rows], f.ids, f.rows, f.pos, f.chromosome, rejects, _file_rsids(df))
    found = ~np.isnan(vs.bim)
    if have.sum() == 0 or found[have].mean() < 0.5:
        return None
    rows = vs.by_bim[have[vs.by_bim]]
    bim = vs.bim[rows].astype(np.int64)
    miss = np.flatnonzero(have & ~found)
    rej, rejects = _not_in_panel(name, vs, p, miss, settings.p1)
    if len(miss):
        log.debug("%s: %d variants not in the LD panel %s (%d with p <= p1)", name, len(miss), panel.prefix, len(rej))
    pos = vs.pos[rows] if vs.pos is not None else None
    if pos is None or np.isnan(np.asarray(pos, dtype=np.float64)).any():
        pos = panel.variants.position[bim]
    return _Prepared(name, bim, p[rows], vs.id_str, rows, np.asarray(pos, dtype=np.int64),
                     panel.variants.chromosome[bim], rejects, _file_rsids(df))


def _read_groups(groups: dict[str, list[Path]], *, threads: int = 2, columns: dict[str, str] | None = None):
    """``(name, paths, DataFrame)`` of every phenotype, files read ahead in a thread pool
    (decompression and parsing release the GIL); ``columns``: ``--columns``."""
    def read(item):
        name, paths = item
        if len(paths) == 1:
            return name, paths, read_phenotype(paths, required=("variant_id", "p_value"), optional=_FAST_OPTIONAL,
                                               arrow_strings=True, columns=columns)
        return name, paths, read_phenotype(paths, required=("variant_id", "p_value"), optional=_MATCH_OPTIONAL,
                                           columns=columns)

    items = list(groups.items())
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        pending = [pool.submit(read, it) for it in items[:threads + 1]]
        for k in range(len(items)):
            res = pending[k].result()
            pending[k] = None
            if k + threads + 1 < len(items):
                pending.append(pool.submit(read, items[k + threads + 1]))
            yield res




def _rsids(*candidates) -> np.ndarray:
    """Per row, the first candidate that is an rsID (:func:`~edfgen.formats.genotypes.base.rsid_column`), else
    ``None``."""
    found = [rsid_column(pd.Series(np.asarray(c, dtype=object))) for c in candidates if c is not None]
    out = found[0]
    for s in found[1:]:
        out = out.combine_first(s)
    return out.astype(object).where(out.notna(), None).to_numpy()


def _clump_columns(pr: _Prepared, res: ClumpKernelResult, panel_ids: np.ndarray) -> dict[str, np.ndarray]:
    """The ``clumps.tsv`` columns of one phenotype (:data:`CLUMP_COLUMNS`), plus ``_bim`` (each index variant's
    LD-panel row, for :func:`~edfgen.kernels.clump.merge_loci`: the panel may name it otherwise than the file)."""
    ids = pr.ids
    rows, bim = pr.rows[res.index], pr.bim[res.index]
    return {"phenotype": np.full(len(res.index), pr.phenotype, dtype=object),
            "variant_id": np.asarray(ids[rows], dtype=object),
            "chromosome": genotype_chromosome_labels(pr.chromosome[res.index]),   # XY/25 -> X, as in GWAS-SSF
            "base_pair_location": pr.pos[res.index].astype(np.int64), "p_value": pr.p[res.index],
            "n_clumped": np.array([len(mm) for mm in res.members], dtype=np.int64),
            "clumped_variants": np.array([",".join(ids[pr.rows[mm]]) for mm in res.members], dtype=object),
            # the file's rsid, else its variant id or the panel's when they are rsIDs (annotate's GRCh37 key)
            "rsid": _rsids(None if pr.rsid is None else pr.rsid[rows], ids[rows], panel_ids[bim]),
            "_bim": bim.astype(np.int64)}


def _clump_table(parts: Sequence[dict[str, np.ndarray]]) -> pd.DataFrame:
    cols = [*CLUMP_COLUMNS, "_bim"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in cols})



@dataclass(frozen=True, repr=False)
class ClumpRun(ReadableRepr):
    """What :func:`run_clump` wrote and found.

    Attributes
    ----------
    out_dir : Path
    clumps, loci, rejects : DataFrame
        ``clumps.tsv`` (index variants and their clumps), ``loci.tsv`` (merged across phenotypes), ``rejects.tsv``.
    settings : ClumpSettings
        The thresholds used (``p1`` lowered by ``study_wide``).
    m_eff : float or None
        The effective number of phenotypes of ``study_wide`` (Li & Ji 2005).
    truth : DataFrame or None
        ``truth_recovery.tsv`` (with ``truth``).
    plots : tuple of str
        Regional plots written.
    """

    out_dir: Path
    clumps: pd.DataFrame
    loci: pd.DataFrame
    rejects: pd.DataFrame
    settings: ClumpSettings
    m_eff: float | None = None
    truth: pd.DataFrame | None = None
    plots: tuple[str, ...] = ()


def clump_files(sumstats: Sequence[str | Path], panel: GenotypePanel, *,
                settings: ClumpSettings = ClumpSettings(), chunk: int = 64, threads: int = 2,
                columns: dict[str, str] | None = None,
                rejects_note: str = "listed in rejects.tsv") -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Clump GWAS-SSF files against one LD panel; files of the same phenotype (its chromosomes) are combined.

    Each phenotype is clumped on its own, exactly as one ``plink1.9 --clump`` run per file; the
    work shared between phenotypes is done once: files are read with only the needed columns
    (:func:`~edfgen.formats.sumstats.read_sumstats_columns`, ``threads`` files ahead), matched to the
    panel once per distinct variant set, and the LD of an index variant with its window is
    computed once and reused by every phenotype with the same index variant
    (:class:`~edfgen.kernels.ld.WindowLD`), for ``chunk`` phenotypes in lockstep so that index
    variants of one region go through one matrix product.

    ``columns``: ``--columns`` (``{input column: GWAS-SSF column}``, a layout the readers do not recognise).
    ``rejects_note``: the end of the warning about index candidates missing from the panel (where the caller
    writes the rejects).

    Returns ``(clumps, loci, rejects)`` DataFrames (see :data:`CLUMP_COLUMNS`,
    :data:`edfgen.kernels.clump.LOCI_COLUMNS`, :data:`REJECT_COLUMNS`; clumps and loci with
    ``neg_log_10_p_value`` after ``p_value``).
    """
    ld = WindowLD(panel, radius=settings.bp_radius, r2=settings.r2, method=settings.r2_method)
    panel_ids = np.asarray(panel.variants.variant_id, dtype=object)
    all_clumps, all_rejects = [], []
    underflow: dict[tuple[str, str], float] = {}
    sets: list[_VariantSet] = []
    batch: list[_Prepared] = []

    def flush():
        results = clump_lockstep([b.p for b in batch], [b.bim for b in batch], panel, settings, ld)
        for pr, res in zip(batch, results):
            log.debug("%s: %d index variants (p1=%g, r2=%g, kb=%g)", pr.phenotype, len(res.index), settings.p1,
                     settings.r2, settings.kb)
            all_clumps.append(_clump_columns(pr, res, panel_ids))
            all_rejects.append(pr.rejects)
        batch.clear()

    groups = group_by_phenotype(sumstats)   # several files of one phenotype: its chromosomes
    for name, paths, df in progress(_read_groups(groups, threads=threads, columns=columns), total=len(groups),
                                    desc="clumping", unit="phenotype"):
        underflow.update(_underflow_nlp(name, df))
        df = _rank_underflow(df)
        if n_na := int(df["p_value"].isna().sum()):     # plink2's ERRCODE rows: not clumped (as PLINK), but said
            log.info("%s: %d of %d rows without a p-value (NA, '.' or empty): not clumped", name, n_na, len(df))
        prep = None
        if len(paths) == 1:
            vs = next((v for v in sets if v.same(df)), None)
            if vs is None:
                vs = _variant_set(df, panel)
                sets = [vs, *sets[:3]]
            prep = _prepare_fast(name, df, vs, panel, settings)
            if prep is None:       # matching needs rsid / chromosome:position:alleles: read them too
                df = _rank_underflow(read_phenotype(paths, required=("variant_id", "p_value"),
                                                    optional=_MATCH_OPTIONAL, columns=columns))
        if prep is None:
            prep = _prepared_from_matched(match_to_panel(df, panel, phenotype=name, p1=settings.p1))
        batch.append(prep)
        if len(batch) >= chunk:
            flush()
    flush()
    log.debug("clump: LD of %d index variants, %d pairs", len(ld._linked), ld.n_pairs)
    clumps = _clump_table(all_clumps)
    if len(clumps):
        key = chrom_key(clumps["chromosome"])
        clumps = clumps.assign(_k=key).sort_values(["phenotype", "_k", "base_pair_location"],
                                                   kind="stable").drop(columns="_k").reset_index(drop=True)
    all_rejects = [r for r in all_rejects if len(r)] or all_rejects[:1]
    rejects = pd.concat(all_rejects, ignore_index=True) if all_rejects else pd.DataFrame(columns=REJECT_COLUMNS)
    loci = merge_loci(clumps, panel, settings=settings, ld=ld)
    clumps, loci = _with_neg_log10(clumps, underflow), _with_neg_log10(loci, underflow)
    clumps["p_value"], loci["p_value"] = _written_p(clumps["p_value"]), _written_p(loci["p_value"])
    if len(rejects):
        rejects["p_value"] = _written_p(rejects["p_value"])
        # said, not only listed (plink 1.9: "'rs1' is missing from the main dataset, and is a top variant")
        top = rejects.loc[rejects["p_value"].idxmin()]
        below = f" with p <= {settings.p1:g}" if settings.p1 < 1 else ""    # (p1 1: every row, a list's)
        log.warning("%d variant(s)%s are not in the LD panel, so they cannot lead a locus (strongest: "
                    "%s of %s, p = %.3g); %s", len(rejects), below, top["variant_id"],
                    top["phenotype"], top["p_value"], rejects_note)
    return clumps.drop(columns="_bim"), loci, rejects


def run_clump(sumstats: Sequence[str | Path], *, out_dir: str | Path, bfile=None,
              ld_bfile=None, settings: ClumpSettings = ClumpSettings(),
              study_wide: bool = False, pheno: str | Path | None = None, truth: str | Path | None = None,
              regional_plots: int = 0, genes: str | Path | None = None, force: bool = False,
              reference_genome: str | None = None, columns: dict[str, str] | None = None) -> ClumpRun:
    """``edfgen clump``: clump every phenotype, merge loci, write ``clumps.tsv``, ``loci.tsv``,
    ``rejects.tsv`` (+ ``truth_recovery.tsv``, ``regional/*.png``) and ``manifest.json``.

    Parameters
    ----------
    sumstats : list of path
        Summary-statistics files or folders (one phenotype per file, or its per-chromosome files).
    out_dir : path
    bfile, ld_bfile
        The study genotypes (PLINK 1 prefix or :class:`~edfgen.formats.genotypes.source.GenotypeSource`,
        dosages rounded) and an LD reference panel used instead of them for LD (a PLINK 1 prefix, or a
        ``GenotypeSource`` with its sample and variant filters:
        :func:`~edfgen.commands.options.filtered_panel`).
    settings : ClumpSettings
        p1, p2, r2, kb (plink 1.9's ``--clump-*``).
    study_wide, pheno
        Replace ``settings.p1`` by ``5e-8 / M_eff`` (Li & Ji 2005) of the phenotype table ``pheno``.
    truth, regional_plots, genes
        Score the loci against a simulation's truth; draw regional plots of that many loci, with ``genes``.
    force : bool
        Write into a non-empty ``out_dir`` (replaces only this command's files).
    reference_genome : str, optional
        Build of the panel's positions, checked against the build the sumstats declare; ``None``: the
        ``GenotypeSource``'s, else ``GRCh38`` (``edfgen clump``'s default).
    columns : dict, optional
        ``--columns`` (:func:`edfgen.formats.sumstats.parse_column_option`).
    """
    sumstats, pheno = file_args(sumstats, "--sumstats"), file_arg(pheno, "--pheno")   # (a DataFrame: one line)
    if not sumstats:
        raise InputError("--sumstats: give at least one summary-statistics file")
    sumstats = expand_sumstats(sumstats, columns=columns)
    check_columns_present(columns, sumstats, "--sumstats")
    panel_prefix = ld_bfile or bfile
    if panel_prefix is None:
        raise InputError("clump: give --bfile (study genotypes) or --ld-bfile (reference panel)")
    declared = declared_build(sumstats)
    # (a plain PLINK prefix is read as --reference-genome's default build)
    panel_build = reference_genome or getattr(panel_prefix, "reference_genome", None) or DEFAULT_REFERENCE_GENOME
    warn_panel_build(sumstats, panel_prefix, panel_build)
    if genes is not None and regional_plots:      # before the output folder is made (second read s37 B7)
        check_genes_build(genes, declared, panel_build)
    out_dir = prepare_out_dir(out_dir, force=force, command="edfgen clump")
    if truth is not None:        # a JSON of another layout refused, and a truth that cannot match said, before any work
        warn_unmatched_traits(truth, list(group_by_phenotype(sumstats)), f"--truth {truth}")
    for flag, value, needs in (("--pheno", pheno and not study_wide, "--study-wide"),   # (review s34a #4)
                              ("--genes", genes and not regional_plots, "--regional-plots N")):
        if value:
            log.warning("%s is used only with %s: ignored", flag, needs)
    m_eff = None
    if study_wide:
        if pheno is None:
            raise InputError("--study-wide needs --pheno FILE (the phenotype/EDF table)")
        table = read_table(pheno)
        names = list(group_by_phenotype(sumstats))
        cols = [n for n in names if n in table.columns]
        p1, m_eff = study_wide_threshold(table, cols if len(cols) >= 2 else None, source=str(pheno))
        settings = ClumpSettings(**{**asdict(settings), "p1": p1})
        log.info("study-wide threshold: M_eff = %.2f -> p1 = %.3g", m_eff, p1)
    panel_files, bed_bytes = panel_fingerprint(panel_prefix)
    inputs = [*sumstats, *panel_files, pheno, truth, genes]
    params = {**asdict(settings), "study_wide": study_wide, "m_eff": m_eff, "bfile": genotype_label(bfile),
              "ld_bfile": ld_bfile.parameters() if hasattr(ld_bfile, "parameters") else ld_bfile, "ld_panel_bed_bytes": bed_bytes, "regional_plots": regional_plots,
              "reference_genome": panel_build, "columns": columns,
              # the build the GWAS declared (-meta.yaml): annotate checks the loci against it (read_loci)
              "sumstats_genome_assembly": declared,
              # the panel the LD came from (--ld-bfile, else --bfile), with its filters (review s40user F3)
              "genotypes": genotype_parameters(panel_prefix, reference_genome=panel_build)}
    planned = ["clumps.tsv", "loci.tsv", "rejects.tsv"] + (["truth_recovery.tsv"] if truth is not None else [])
    # regional/ checked up front, its plots listed by name once the loci are known (plan_outputs): the folder as a
    # whole made the rerun of a killed run remove a user's file put there (review s39)
    with recording(out_dir, "edfgen clump", parameters=params, inputs=inputs, planned=planned,
                   folders=["regional/"] if regional_plots else [], force=force) as man, \
            open_panel(panel_prefix) as panel:
        clumps, loci, rejects = clump_files(sumstats, panel, settings=settings, columns=columns)
        write_table(clumps, out_dir / "clumps.tsv", float_format="%.6g")
        write_table(loci, out_dir / "loci.tsv", float_format="%.6g")
        write_table(rejects, out_dir / "rejects.tsv", float_format="%.6g")
        truth_df = None
        if truth is not None:
            truth_df = score_loci(clumps, truth)
            write_table(truth_df, out_dir / "truth_recovery.tsv", float_format="%.6g")
        plots: list[str] = []
        if regional_plots and len(loci):
            plan_outputs(out_dir, [f"regional/{n}" for n in regional_plot_names(loci.head(regional_plots))])
            plots = write_regional_plots(loci.head(regional_plots), sumstats, panel, out_dir / "regional",
                                         genes=genes, window_kb=min(settings.kb, 500), r2_method=settings.r2_method,
                                         columns=columns)
        man.extra["n_index_variants"] = int(len(clumps))
        man.extra["n_loci"] = int(len(loci))
        man.extra["ld_panel_withdrawn"] = getattr(panel, "n_withdrawn", 0)   # UK Biobank withdrawals left out
    return ClumpRun(out_dir, clumps, loci, rejects, settings, m_eff, truth_df, tuple(plots))


# ---------------------------------------------------------------------------------------------- the command
# its options (the only place their defaults, ranges and choices are written) and run(options),
# which the command line and `edfgen run` both call

@dataclass(frozen=True)
class ClumpOptions(GenotypeOptions):
    """``edfgen clump`` (:func:`edfgen.kernels.clump.run_clump`)."""

    command: ClassVar[str] = "clump"
    genotypes_after: ClassVar[str | None] = "more_sumstats"
    cli_omit: ClassVar[tuple[str, ...]] = ("mt", "skip_bad_variants")
    sumstats: tuple[str, ...] = opt((), "GWAS-SSF <phenotype>.tsv.gz files, a directory of them or a quoted glob; "
                                    "`--sumstats gwas/*.tsv.gz` works (extra paths after it are taken too).",
                                    multiple=True, required=True, path="any")
    more_sumstats: tuple[str, ...] = opt((), None, argument=True, path="any")
    ld_bfile: str | None = opt(None, "PLINK prefix of a separate LD reference panel, used instead of the study "
                               "genotypes --bfile/--pfile/--bgen/--vcf; --keep/--remove/--chr/--extract apply to "
                               "whichever is the panel.", path="any")
    out: str | None = out_opt()
    # the ranges of ClumpSettings, shown in --help and checked by the option (`--p1: 10 is not in the range`) and
    # in a TOML before any stage runs
    p1: float = opt(ClumpSettings.p1, "Index-variant threshold (p <= p1).", range=(0, 1), open=(True, False))
    p2: float | None = opt(None, "Clumped-variant threshold (p < p2); default 0.01, as plink 1.9, also below --p1 "
                           "(then variants with p in [p2, p1] join clumps unlisted); a given --p2 must be >= --p1.",
                           range=(0, 1), open=(True, False))
    r2: float = opt(ClumpSettings.r2, "LD threshold (r² > r2 joins a clump).", range=(0, 1), open=(False, True))
    kb: float = opt(ClumpSettings.kb, "Window radius in kb.", range=(0, None), open=(True, False))
    r2_method: str = opt(ClumpSettings.r2_method, "plink: haplotype-ML r² (identical to plink1.9 --clump); corr: allele-count "
                         "correlation².", choices=("plink", "corr"))
    allow_overlap: bool = opt(ClumpSettings.allow_overlap, "Variants may join several clumps (plink --clump-allow-overlap).")
    study_wide: bool = opt(False, "p1 = 5e-8 / M_eff (Li & Ji 2005) from --pheno.")
    pheno: str | None = opt(None, "Phenotype/EDF table for --study-wide (columns named like the sumstats files).",
                            path="file", exists=True)
    truth: str | None = opt(None, "truth.json of a simulated cohort: writes truth_recovery.tsv.", path="file",
                            exists=True)
    regional_plots: int = opt(0, "Regional plots of the N strongest loci (regional/*.png).", range=(0, None))
    genes: str | None = opt(None, "GTF/BED genes for the plots.", path="file", exists=True)
    columns: str | None = columns_opt()
    force: bool = force_opt()
    allow_incomplete: bool = allow_incomplete_opt()

    def __post_init__(self):
        # plink 1.9 refuses an explicit --clump-p2 below --clump-p1, not its default 0.01 (review s33d F2)
        if self.p2 is not None and self.p2 < self.p1:
            raise InputError(f"clump: --p2 must be >= --p1 (got --p1 {self.p1:g}, --p2 {self.p2:g}); leave --p2 out "
                             "for plink 1.9's default 0.01")


def run(o: ClumpOptions):
    """``edfgen clump``: :func:`edfgen.kernels.clump.run_clump`."""
    from edfgen.kernels.clump import ClumpSettings

    columns = parse_column_option(o.columns) or None
    check_upstream([*o.sumstats, *o.more_sumstats, o.pheno], option="--sumstats", allow_incomplete=o.allow_incomplete,
                   reads_sub_folders=lambda d: reads_sub_folders(d, column_test(columns=columns)))
    return run_clump([*o.sumstats, *o.more_sumstats], out_dir=o.out, bfile=genotype_source(o, required=False),
                     ld_bfile=filtered_panel(o, o.ld_bfile), reference_genome=o.reference_genome,
                     settings=ClumpSettings(p1=o.p1, p2=ClumpSettings.p2 if o.p2 is None else o.p2, r2=o.r2, kb=o.kb, r2_method=o.r2_method,
                                            allow_overlap=o.allow_overlap),
                     study_wide=o.study_wide, pheno=o.pheno, truth=o.truth, regional_plots=o.regional_plots,
                     genes=o.genes, force=o.force, columns=columns)
