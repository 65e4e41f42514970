"""``edfgen finemap``: SuSiE-RSS fine-mapping of every locus of ``loci.tsv`` for each phenotype with a lead there.

For each locus (lead ± ``--window-kb``) and phenotype, the phenotype's variants in the window that are in the
genotype panel are aligned to the panel's counted allele, their LD matrix is computed from the panel's hard calls
(in-sample LD: the GWAS genotypes; a variant without variation there is left out), and
:func:`edfgen.kernels.susie.susie_rss` gives PIPs and credible sets; the kriging check (Zou 2022) of z-scores
against the LD matrix is run on every region and a warning is logged where the panel does not fit (estimated
``s`` > 0.1 or allele-flip outliers). Writes ``credible_sets.tsv``, ``pip.tsv`` and ``ld_check.tsv``.
:func:`locus_regions` and :mod:`edfgen.commands.finemap_ld` are shared with ``edfgen coloc``.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from edfgen.commands.finemap_ld import region_ld, varying_only
from edfgen.commands.options import GenotypeOptions, allow_incomplete_opt, force_opt, genotype_source, opt, out_opt
from edfgen.commands.sumstats_options import (case_counts_opt, check_sumstats_options, columns_opt, parse_case_counts,
                                              parse_sample_sizes, sample_size_opt, warn_panel_build)
from edfgen.exceptions import InputError
from edfgen.formats.catalog import loci_positions, loci_table
from edfgen.formats.genotypes.panel import genotype_parameters, locate_in_panel, open_panel, panel_fingerprint
from edfgen.formats.manifest import check_upstream, recording
from edfgen.formats.sumstats import declared_builds, parse_column_option, reads_sub_folders
from edfgen.formats.sumstats.layout import chromosome_labels
from edfgen.formats.sumstats.zscores import ZStats, has_n, read_zstats, zstats_files, zstats_test
from edfgen.formats.tables import prepare_out_dir, write_table
from edfgen.kernels.alleles import COMPLEMENT
from edfgen.kernels.susie import kriging_rss, ld_eigen, susie_rss
from edfgen.progress import progress
from edfgen.reprs import ReadableRepr

log = logging.getLogger(__name__)

CS_COLUMNS = ["locus", "phenotype", "cs", "variant_id", "pip", "cs_coverage", "cs_min_abs_corr"]
PIP_COLUMNS = ["locus", "phenotype", "variant_id", "chromosome", "base_pair_location", "z", "pip", "cs"]
LD_CHECK_COLUMNS = ["locus", "phenotype", "nsnps", "n", "s", "n_flagged", "flagged_variants", "converged", "n_no_ld"]
#: kriging s above this is reported as an LD mismatch
S_WARN = 0.1


@dataclass(frozen=True)
class FinemapOptions(GenotypeOptions):
    """``edfgen finemap`` (:func:`run_finemap`)."""

    command: ClassVar[str] = "finemap"
    genotypes_after: ClassVar[str | None] = "more_sumstats"
    cli_omit: ClassVar[tuple[str, ...]] = ("mt", "min_info")
    loci: str | None = opt(None, "loci.tsv of edfgen clump (locus, chromosome, base_pair_location, phenotypes).",
                           path="file", exists=True, required=True)
    sumstats: tuple[str, ...] = opt((), "Summary statistics (GWAS-SSF or any layout mr reads): files, folders or a "
                                    "quoted glob.", multiple=True, required=True, path="any")
    more_sumstats: tuple[str, ...] = opt((), None, argument=True, path="any")
    max_causal: int = opt(10, "L: the most causal variants (single effects) per locus.", range=(1, None))
    coverage: float = opt(0.95, "Credible-set coverage.", range=(0, 1), open=(True, True))
    min_abs_corr: float = opt(0.5, "Purity filter: keep credible sets whose variants all have |r| >= this.",
                              range=(0, 1))
    window_kb: float = opt(500.0, "Region around each locus lead, kb each side.", range=(0, None), open=(True, False))
    columns: str | None = columns_opt()
    sample_size: tuple[str, ...] = sample_size_opt()
    case_counts: tuple[str, ...] = case_counts_opt()
    out: str | None = out_opt()
    force: bool = force_opt()
    allow_incomplete: bool = allow_incomplete_opt()


@dataclass(frozen=True)
class Region:
    """One locus x phenotype ready for fine-mapping: panel-aligned ``table`` (``variant_id, chromosome,
    base_pair_location, z, beta, standard_error, n, eaf``, panel ``row``), the LD matrix ``R`` and ``n``;
    ``eigen``: :func:`~edfgen.kernels.susie.ld_eigen` of ``R`` when computed (:func:`regions` computes ``R`` and it
    once for the phenotypes with the same variants at a locus: the EDFs of one GWAS)."""

    locus: int
    phenotype: str
    table: pd.DataFrame
    R: np.ndarray
    n: int
    eigen: tuple[np.ndarray, np.ndarray] | None = None
    n_no_ld: int = 0             # variants left out: no variation in the LD panel (finemap_ld.varying_only)


@dataclass(frozen=True, repr=False)
class FinemapRun(ReadableRepr):
    """What :func:`run_finemap` wrote.

    Attributes
    ----------
    out_dir : Path
    credible_sets, pip, ld_check : DataFrame
        ``credible_sets.tsv``, ``pip.tsv`` (per-variant posterior inclusion probabilities) and ``ld_check.tsv``.
    """

    out_dir: Path
    credible_sets: pd.DataFrame
    pip: pd.DataFrame
    ld_check: pd.DataFrame


def read_loci(path) -> pd.DataFrame:
    """``loci.tsv`` (needs ``locus, chromosome, base_pair_location``; ``phenotypes`` or ``phenotype`` say who has a
    lead). A row without a chromosome or a numeric position is left out, naming its locus in a warning; positions
    read 1-based as annotate reads them (:func:`~edfgen.formats.catalog.loci_positions`: a declared 0-based + 1).

    Parameters
    ----------
    path : str or Path
        ``loci.tsv`` (or ``clumps.tsv``) of ``edfgen clump``.

    Returns
    -------
    DataFrame
        With ``phenotypes``, numeric ``base_pair_location`` and normalised ``chromosome`` labels.
    """
    t, header = loci_table(path, required=("locus", "chromosome", "base_pair_location"))
    if "phenotypes" not in t.columns:
        t["phenotypes"] = t["phenotype"] if "phenotype" in t.columns else ""
    t["base_pair_location"] = loci_positions(t, path, header)       # (a non-number: missing)
    bad = t["base_pair_location"].isna() | t["chromosome"].isna()
    if bad.any():
        log.warning("%s: %d locus row(s) without a chromosome or base_pair_location left out (locus %s)", path,
                    int(bad.sum()), ", ".join(map(str, t.loc[bad, "locus"].head(5))))
        t = t[~bad].reset_index(drop=True)
    t["chromosome"] = chromosome_labels(t["chromosome"])
    return t


def locus_leads(loci: pd.DataFrame, locus: int) -> set[str]:
    """The phenotypes with a lead at ``locus`` (the comma list of its ``phenotypes`` cell).

    Parameters
    ----------
    loci : DataFrame
        From :func:`read_loci`.
    locus : int
        A ``locus`` value of ``loci``.

    Returns
    -------
    set of str
    """
    cell = loci.loc[loci["locus"] == locus, "phenotypes"].iloc[0]
    return {p.strip() for p in str(cell).split(",") if p.strip()} if pd.notna(cell) else set()


def all_leads(loci: pd.DataFrame) -> set[str]:
    """Every phenotype with a lead at some locus of ``loci``.

    Parameters
    ----------
    loci : DataFrame
        From :func:`read_loci`.

    Returns
    -------
    set of str
    """
    return set().union(*(locus_leads(loci, k) for k in loci["locus"]))


def _some(names, k: int = 5) -> str:
    """Up to ``k`` of ``names``, comma-separated, with the count when there are more."""
    names = sorted(names)
    return ", ".join(names[:k]) + (f" ... ({len(names)} in all)" if len(names) > k else "")


def check_leads(loci: pd.DataFrame, names, loci_path, command: str, read_as: str = "summary statistics") -> None:
    """The phenotypes read (``names``) against the leads ``loci.tsv`` lists: a one-line :class:`InputError` when
    none of them has a lead there (nothing to do: renamed files, or another clump run's loci?); a warning naming
    the lead phenotypes that were not read (their loci are not done); an INFO line for the phenotypes read
    without a lead (normal: a phenotype with no significant locus).

    Parameters
    ----------
    loci : DataFrame
        From :func:`read_loci`.
    names : iterable of str
        Phenotypes read (a dict iterates its keys).
    loci_path : str or Path
        ``loci.tsv``'s path, for the messages.
    command : str
        ``"fine-map"`` or ``"colocalise"``, for the messages.
    read_as : str, default "summary statistics"
        What the phenotypes were read as, for the warning.

    Returns
    -------
    None
    """
    listed = all_leads(loci)
    names = list(names)
    if not listed & set(names):
        raise InputError(f"{loci_path}: none of the {len(names)} phenotype(s) read ({_some(names)}) has a lead there "
                         f"(its phenotypes column names {_some(listed) if listed else 'none'}): nothing to {command}")
    if listed - set(names):
        log.warning("%s: lead phenotype(s) %s not among the %s read: their loci are not %s", loci_path,
                    _some(listed - set(names)), read_as, "fine-mapped" if command == "fine-map" else "colocalised")
    if set(names) - listed:
        log.info("%s: %d phenotype(s) read have no lead there: %s", loci_path, len(set(names) - listed),
                 _some(set(names) - listed))


def locus_regions(loci: pd.DataFrame, z: ZStats, window_kb: float) -> list[tuple[int, pd.DataFrame]]:
    """The rows of ``z`` within ``window_kb`` of each locus lead: ``[(locus, rows)]`` (loci without rows left out).

    Parameters
    ----------
    loci : DataFrame
        From :func:`read_loci`.
    z : ZStats
        One phenotype's summary statistics (``chromosome``, ``base_pair_location`` needed).
    window_kb : float
        Region half-width around each lead, kb.

    Returns
    -------
    list of (int, DataFrame)
        Locus number and the phenotype's rows in its window.
    """
    return [(locus, z.table[on]) for locus, on in _windows(loci, z, window_kb) if on.any()]


def _windows(loci: pd.DataFrame, z: ZStats, window_kb: float,
             chrom: pd.Series | None = None) -> list[tuple[int, np.ndarray]]:
    """``[(locus, which rows of z.table are within window_kb of its lead)]``, every locus of ``loci``; ``chrom``:
    the table's :func:`chromosome_labels` when already computed."""
    t = z.table
    if not {"chromosome", "base_pair_location"} <= set(t.columns):
        raise InputError(f"{z.files[0]}: needs chromosome and base_pair_location to find the loci")
    # the labels compared once per distinct chromosome, not once per row and locus (136 files x 25 loci)
    codes, labels = pd.factorize(chromosome_labels(t["chromosome"]) if chrom is None else chrom)
    pos = pd.to_numeric(t["base_pair_location"], errors="coerce").to_numpy(np.float64, na_value=np.nan)
    w = window_kb * 1000
    return [(int(row.locus), np.append(np.asarray(labels == str(row.chromosome), dtype=bool), False)[codes]
             & (np.abs(pos - row.base_pair_location) <= w)) for row in loci.itertuples()]     # code -1: no label


def near_loci(z: ZStats, loci: pd.DataFrame, window_kb: float) -> ZStats:
    """``z`` cut to its rows within ``window_kb`` of some locus lead: all that fine-mapping and coloc use of it
    (:func:`locus_regions`), a small part of a genome-wide file, kept instead of the whole file (136 phenotypes
    of a demo, 1.5 GB, held whole before). Unchanged without position columns (:func:`locus_regions` says so).

    Parameters
    ----------
    z : ZStats
        One phenotype's summary statistics.
    loci : DataFrame
        From :func:`read_loci`.
    window_kb : float
        Region half-width around each lead, kb.

    Returns
    -------
    ZStats
        With the rows of ``z.table`` in some window, in their order and with their index; ``chromosome`` as
        :func:`chromosome_labels` reads the whole file (PLINK's ``25`` is X only beside a ``26``: the rows left
        after the cut, without the MT rows, would read a PAR row's ``25`` as MT and lose it from X's loci).
    """
    if not {"chromosome", "base_pair_location"} <= set(z.table.columns):
        return z
    chrom = chromosome_labels(z.table["chromosome"])
    near = np.zeros(len(z.table), dtype=bool)
    for _, on in _windows(loci, z, window_kb, chrom):
        near |= on
    table = z.table[near]
    if not chrom.equals(z.table["chromosome"]):
        table = table.assign(chromosome=np.asarray(chrom, dtype=object)[near])
    return dataclasses.replace(z, table=table)


def align_to_panel(rows: pd.DataFrame, panel, phenotype: str = "", where: str = "") -> pd.DataFrame:
    """Rows found in the panel (by variant id, else rsid or position and alleles, as clump finds them:
    :func:`~edfgen.formats.genotypes.panel.locate_in_panel`), ``z``/``beta`` flipped to the panel's counted allele
    (A1); rows whose alleles match neither orientation are dropped (so of a multi-allelic site's rows the one
    with the panel's alleles is used). Panel variants left with no row by that are warned about, prefixed by
    ``where`` (:func:`_warn_allele_mismatch`). Adds ``row`` (panel row), sorted by it.

    Parameters
    ----------
    rows : DataFrame
        Summary-statistics rows (``variant_id``, ``effect_allele``, ``other_allele``, ``z``, ``beta``; ``row``
        when already located by :func:`located`).
    panel : GenotypePanel
        Open LD panel.
    phenotype : str, default ""
        Phenotype name, for messages.
    where : str, default ""
        Prefix of the allele-mismatch warning (default ``phenotype``).

    Returns
    -------
    DataFrame
        The matched rows, effects on the panel's A1, with ``row``, sorted by panel row.
    """
    v = panel.variants
    r = rows["row"] if "row" in rows.columns else locate_in_panel(
        rows, panel, phenotype or "summary statistics", repeated_ids="position")[0]
    t = rows[r.notna()].copy()
    t["row"] = r[r.notna()].astype(np.int64)
    a1, a2 = v.allele1[t["row"]], v.allele2[t["row"]]
    same = (t["effect_allele"].to_numpy() == a1) & (t["other_allele"].to_numpy() == a2)
    flip = (t["effect_allele"].to_numpy() == a2) & (t["other_allele"].to_numpy() == a1)
    _warn_allele_mismatch(t[~(same | flip)], set(t["row"][same | flip]), panel, where or phenotype)
    t = t[same | flip].copy()
    sign = np.where(flip[same | flip], -1.0, 1.0)
    t["z"] = t["z"] * sign + 0.0                  # + 0.0: a z of 0 flipped is written 0, not -0
    t["beta"] = t["beta"] * sign + 0.0
    if "effect_allele_frequency" in t.columns:
        t["effect_allele_frequency"] = np.where(sign < 0, 1 - t["effect_allele_frequency"], t["effect_allele_frequency"])
    return t.sort_values("row").drop_duplicates("row").reset_index(drop=True)


def _warn_allele_mismatch(dropped: pd.DataFrame, kept_rows: set, panel, where: str) -> None:
    """Warn about the panel variants found (``dropped.row``) whose summary-statistics alleles match the panel's in
    neither orientation, when no other row of the variant matched (``kept_rows``: a multi-allelic site's other rows
    are not a mismatch); says when the alleles are the panel's on the other strand."""
    lost = dropped[~dropped["row"].isin(kept_rows)].drop_duplicates("row")
    if lost.empty:
        return
    v = panel.variants
    a1, a2 = v.allele1[lost["row"]].astype(str), v.allele2[lost["row"]].astype(str)
    ea, oa = lost["effect_allele"].astype(str).to_numpy(), lost["other_allele"].astype(str).to_numpy()
    comp = lambda a: np.array([x.translate(COMPLEMENT) for x in a])             # noqa: E731
    strand = int(np.sum(((comp(ea) == a1) & (comp(oa) == a2)) | ((comp(ea) == a2) & (comp(oa) == a1))))
    log.warning("%s: %d variant(s) found in the LD panel have other alleles there (e.g. %s %s/%s, panel %s/%s%s); left "
                "out", where, len(lost), lost["variant_id"].iloc[0], ea[0], oa[0], a1[0], a2[0],
                f"; {strand} of them are the panel's alleles on the other strand" if strand else "")


def region_n(t: pd.DataFrame, panel) -> int:
    """Sample size of a region: median ``n`` of its rows, else (no n: warned once per phenotype by
    :func:`warn_panel_n`) the panel's sample count, the GWAS's own N when the panel is the GWAS genotypes.

    Parameters
    ----------
    t : DataFrame
        The region's rows (optional ``n``).
    panel : GenotypePanel
        Open LD panel.

    Returns
    -------
    int
    """
    if "n" in t.columns and t["n"].notna().any():
        return int(np.nanmedian(t["n"]))
    return int(panel.n_samples)


def warn_panel_n(zs: dict[str, ZStats], panel) -> None:
    """Warn, naming the file, for each phenotype without a sample size: SuSiE-RSS then takes the LD panel's
    sample count as n (:func:`region_n`), right only when the panel is the GWAS sample itself.

    Parameters
    ----------
    zs : dict of str to ZStats
        Phenotypes fine-mapped.
    panel : GenotypePanel
        Open LD panel.

    Returns
    -------
    None
    """
    for z in zs.values():
        if not has_n(z):
            log.warning("%s: no n; SuSiE-RSS takes the LD panel's %d samples as n (the GWAS's N only when the panel is "
                        "its own genotypes): give --sample-size %s=N", z.files[0], panel.n_samples, z.files[0])


def finemap_region(reg: Region, *, max_causal: int = 10, coverage: float = 0.95, min_abs_corr: float = 0.5):
    """SuSiE-RSS and the kriging check of one region: ``(cs rows, pip rows, ld_check row, fit)``.

    Parameters
    ----------
    reg : Region
        One locus x phenotype: aligned rows, LD matrix ``R`` and ``n``.
    max_causal : int, default 10
        ``L``: the most single effects.
    coverage : float, default 0.95
        Credible-set coverage.
    min_abs_corr : float, default 0.5
        Purity filter of the credible sets.

    Returns
    -------
    tuple
        ``credible_sets.tsv`` rows (list of dict), ``pip.tsv`` rows (DataFrame), the ``ld_check.tsv`` row (dict)
        and the :class:`~edfgen.kernels.susie.SusieResult`.

    References
    ----------
    Zou Y et al. (2022) PLoS Genet 18:e1010299. doi:10.1371/journal.pgen.1010299
    """
    z = reg.table["z"].to_numpy(np.float64)
    fit = susie_rss(z, reg.R, reg.n, L=max_causal, coverage=coverage, min_abs_corr=min_abs_corr)
    kr = kriging_rss(z, reg.R, reg.n, eigen=reg.eigen)
    ids = reg.table["variant_id"].to_numpy()
    cs_of = np.full(len(z), np.nan)
    cs_rows = []
    for k, cs in enumerate(fit.sets, start=1):
        cs_of[cs.variants] = np.where(np.isnan(cs_of[cs.variants]), k, cs_of[cs.variants])
        for i in cs.variants:
            cs_rows.append({"locus": reg.locus, "phenotype": reg.phenotype, "cs": k, "variant_id": ids[i],
                            "pip": fit.pip[i], "cs_coverage": cs.coverage, "cs_min_abs_corr": cs.min_abs_corr})
    pip = pd.DataFrame({"locus": reg.locus, "phenotype": reg.phenotype, "variant_id": ids,
                        "chromosome": reg.table["chromosome"].astype(str).to_numpy(),
                        "base_pair_location": reg.table["base_pair_location"].astype(np.int64).to_numpy(), "z": z,
                        "pip": fit.pip, "cs": pd.array(cs_of, dtype="Int64")})
    flagged = ids[kr.flagged]
    if kr.s > S_WARN or len(flagged):
        log.warning("finemap locus %d %s: the LD panel may not fit the z-scores (kriging s = %.3f; %d variant(s) "
                    "look allele-flipped%s)", reg.locus, reg.phenotype, kr.s, len(flagged),
                    f": {', '.join(flagged[:5])}" if len(flagged) else "")
    check = {"locus": reg.locus, "phenotype": reg.phenotype, "nsnps": len(z), "n": reg.n, "s": kr.s,
             "n_flagged": int(len(flagged)), "flagged_variants": ",".join(flagged), "converged": fit.converged,
             "n_no_ld": reg.n_no_ld}
    return cs_rows, pip, check, fit


def located(z: ZStats, panel) -> ZStats:
    """``z`` with each row's LD-panel row (column ``row``, NaN where absent), found once per phenotype rather
    than once per region (:func:`~edfgen.formats.genotypes.panel.locate_in_panel`); ``z`` itself when it has
    them already (located as it was read, before :func:`near_loci` cut it: the panel's matching rule looks at
    every row of the file).

    Parameters
    ----------
    z : ZStats
        One phenotype's summary statistics.
    panel : GenotypePanel
        Open LD panel.

    Returns
    -------
    ZStats
    """
    if "row" in z.table.columns:
        return z
    rows, _ = locate_in_panel(z.table, panel, z.phenotype, repeated_ids="position")
    return dataclasses.replace(z, table=z.table.assign(row=rows.to_numpy()))


def regions(loci: pd.DataFrame, zs: dict[str, ZStats], panel, window_kb: float, *, only_leads: bool = True):
    """Every (locus, phenotype) region of the phenotypes with a lead at the locus (``only_leads``) or all.

    Parameters
    ----------
    loci : DataFrame
        From :func:`read_loci`.
    zs : dict of str to ZStats
        Phenotypes' summary statistics.
    panel : GenotypePanel
        Open LD panel.
    window_kb : float
        Region half-width, kb.
    only_leads : bool, default True
        Only the phenotypes with a lead at the locus.

    Yields
    ------
    Region
        Regions with at least 2 variants in the panel and varying there.
    """
    ld = {}         # panel rows -> (R, varying); ("eigen", kept rows) -> (R, its eigen): shared by phenotypes
    for name, z in zs.items():
        z = located(z, panel)
        for locus, rows in locus_regions(loci, z, window_kb):
            if only_leads and name not in locus_leads(loci, locus):
                continue
            where = f"finemap locus {locus} {name}"
            t = align_to_panel(rows, panel, name, where)
            if len(t) < 2:
                log.warning("%s: %d variant(s) in the panel with matching alleles; skipped", where, len(t))
                continue
            rows = t["row"].to_numpy()
            if rows.tobytes() not in ld:
                ld[rows.tobytes()] = region_ld(panel, rows)
            R, poly = ld[rows.tobytes()]
            lead_bp = loci.loc[loci["locus"] == locus, "base_pair_location"].iloc[0]
            t, R = varying_only(t, R, poly, where, z={name: "z"}, lead_bp=lead_bp)
            if len(t) < 2:
                log.warning("%s: %d variant(s) vary in the LD panel; skipped", where, len(t))
                continue
            kept = ("eigen", t["row"].to_numpy().tobytes())
            if kept not in ld:
                ld[kept] = (R, ld_eigen(R))
            R, eigen = ld[kept]
            yield Region(locus, name, t, R, region_n(t, panel), eigen, int((~poly).sum()))


def run_finemap(sumstats, *, loci, out_dir, genotypes, max_causal: int = 10, coverage: float = 0.95,
                min_abs_corr: float = 0.5, window_kb: float = 500.0, force: bool = False,
                columns: dict[str, str] | None = None, sample_sizes: dict[str, float] | None = None,
                case_counts: dict[str, tuple[float, float]] | None = None) -> FinemapRun:
    """``edfgen finemap``: credible_sets.tsv, pip.tsv, ld_check.tsv (module docstring). ``columns``,
    ``sample_sizes``, ``case_counts``: ``--columns``, ``--sample-size FILE=N``, ``--case-counts
    FILE=CASES,CONTROLS`` (SuSiE-RSS's n for files without an n column; else the panel's sample count).

    Parameters
    ----------
    sumstats : list of str or Path
        Summary statistics: files, folders or a glob (``--sumstats``).
    loci : str or Path
        ``loci.tsv`` of ``edfgen clump``.
    out_dir : str or Path
        Output folder.
    genotypes : str, Path or GenotypeSource
        LD panel (in-sample: the GWAS genotypes): a PLINK 1 prefix or the ``--bfile/--pfile/--bgen`` source.
    max_causal : int, default 10
        ``L``: the most single effects per locus.
    coverage : float, default 0.95
        Credible-set coverage.
    min_abs_corr : float, default 0.5
        Purity filter of the credible sets.
    window_kb : float, default 500
        Region around each lead, kb each side.
    force : bool, default False
        Replace an earlier run's outputs in ``out_dir``.
    columns : dict of str to str, optional
        ``--columns`` renames (:func:`edfgen.formats.sumstats.parse_column_option`).
    sample_sizes : dict of str to float, optional
        ``{resolved file: N}`` for files without an ``n`` column (``--sample-size``).
    case_counts : dict of str to (float, float), optional
        ``{resolved file: (cases, controls)}`` (``--case-counts``).

    Returns
    -------
    FinemapRun
        ``out_dir`` and the ``credible_sets.tsv``, ``pip.tsv`` and ``ld_check.tsv`` tables.

    References
    ----------
    Wang G et al. (2020) J R Stat Soc B 82:1273. doi:10.1111/rssb.12388
    Zou Y et al. (2022) PLoS Genet 18:e1010299. doi:10.1371/journal.pgen.1010299
    """
    if genotypes is None:
        raise InputError("finemap: give the genotypes for the LD matrices (--bfile/--pfile/--bgen)")
    files = zstats_files(sumstats, columns=columns)
    check_sumstats_options(files, "--sumstats", columns=columns, sample_sizes=sample_sizes, case_counts=case_counts)
    loci_t = read_loci(loci)
    with open_panel(genotypes) as panel:   # first: each phenotype is located there and cut to the loci as it is read
        zs = read_zstats(files, columns=columns, sample_sizes=sample_sizes, case_counts=case_counts,
                         keep=lambda z: near_loci(located(z, panel), loci_t, window_kb))
        check_leads(loci_t, zs, loci, "fine-map")
        warn_panel_build(files, genotypes)
        out_dir = prepare_out_dir(out_dir, force=force, command="edfgen finemap")
        params = {"max_causal": max_causal, "coverage": coverage, "min_abs_corr": min_abs_corr,
                  "window_kb": window_kb, "columns": columns, "sample_sizes": sample_sizes, "case_counts": case_counts}
        panel_files, params["ld_panel_bed_bytes"] = panel_fingerprint(genotypes)   # the LD panel, as clump records it
        params["genotypes"] = genotype_parameters(genotypes)
        with recording(out_dir, "edfgen finemap", parameters=params, inputs=[loci, *files, *panel_files],
                       planned=["credible_sets.tsv", "pip.tsv", "ld_check.tsv"]) as man:
            warn_panel_n({name: z for name, z in zs.items() if name in all_leads(loci_t)}, panel)
            cs_rows, pips, checks = [], [], []
            for reg in progress(list(regions(loci_t, zs, panel, window_kb)), desc="fine-mapping", unit="region"):
                c, p, k, _ = finemap_region(reg, max_causal=max_causal, coverage=coverage, min_abs_corr=min_abs_corr)
                cs_rows += c
                pips.append(p)
                checks.append(k)
            cs = pd.DataFrame(cs_rows, columns=CS_COLUMNS)
            pip = pd.concat(pips, ignore_index=True) if pips else pd.DataFrame(columns=PIP_COLUMNS)
            chk = pd.DataFrame(checks, columns=LD_CHECK_COLUMNS)
            write_table(cs, out_dir / "credible_sets.tsv", float_format="%.6g")
            write_table(pip, out_dir / "pip.tsv", float_format="%.6g")
            write_table(chk, out_dir / "ld_check.tsv", float_format="%.6g")
            man.extra.update({"ld_panel_withdrawn": getattr(panel, "n_withdrawn", 0), "regions": int(len(chk)),
                              "credible_sets": len(cs.drop_duplicates(["locus", "phenotype", "cs"])),
                              "sumstats_genome_assembly": declared_builds(files)})
    return FinemapRun(out_dir, cs, pip, chk)


def run(o: FinemapOptions) -> FinemapRun:
    """``edfgen finemap``: :func:`run_finemap` (inputs of a killed edfgen command refused: :func:`check_upstream`).

    Parameters
    ----------
    o : FinemapOptions
        The command's options (command line or ``edfgen run``).

    Returns
    -------
    FinemapRun
    """
    columns = parse_column_option(o.columns) or None
    check_upstream([*o.sumstats, *o.more_sumstats], option="--sumstats", allow_incomplete=o.allow_incomplete,
                   reads_sub_folders=lambda d: reads_sub_folders(d, zstats_test(columns, allow_z=False)))
    check_upstream([o.loci], option="--loci", allow_incomplete=o.allow_incomplete)
    return run_finemap([*o.sumstats, *o.more_sumstats], loci=o.loci, out_dir=o.out,
                       genotypes=genotype_source(o, required=False), max_causal=o.max_causal, coverage=o.coverage,
                       min_abs_corr=o.min_abs_corr, window_kb=o.window_kb, force=o.force,
                       columns=columns, sample_sizes=parse_sample_sizes(o.sample_size),
                       case_counts=parse_case_counts(o.case_counts))
