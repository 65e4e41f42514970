"""``edfgen coloc``: colocalisation of every exposure locus with every outcome, by ABF (coloc.abf) and coloc-SuSiE.

For each locus of ``loci.tsv`` and each exposure phenotype with a lead there (``trait_1``) and each outcome
(``trait_2``), the variants both traits have within ``--window-kb`` of the lead that are in the genotype panel
(alleles aligned to it) form the region. ``method = abf``: :func:`edfgen.kernels.coloc.coloc_abf` (Wakefield ABFs,
prior sd 0.15 sdY for a quantitative trait, sdY estimated from standard errors, allele frequencies and n as
coloc's ``sdY.est``; 0.2 for a trait with case counts). ``method = susie``: both traits fine-mapped by SuSiE-RSS on
the in-sample LD matrix, every pair of their credible sets combined (coloc ``coloc.bf_bf``); the row is the pair
with the largest PP.H4 (none when a trait has no credible set). Writes ``coloc.tsv``.

What each trait needs, as coloc itself (Wallace's ``check_dataset``; Giambartolomei et al. 2014): ``beta`` and its
standard error, and a sample size N: coloc-SuSiE's ``susie_rss`` needs N for every trait, coloc.abf needs sdY or
(MAF and N) for a quantitative trait; a case-control trait ("cc") needs only beta and its variance in coloc.abf
(prior sd 0.2; coloc's ``s``, the case fraction, is for p-value-only input). N comes from the file (``n``, or
``n_cases + n_controls``) or from ``--sample-size FILE=N`` / ``--case-counts FILE=CASES,CONTROLS`` (a trait with
case counts is case-control); a trait with none is a one-line input error naming its file. Without allele
frequencies sdY is taken as 1 (warned).

:func:`restrict_to_coloc` is the ``mr --coloc-pp4`` filter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from edfgen.commands.finemap import (align_to_panel, check_leads, locus_leads, locus_regions, located, near_loci,
                                     read_loci)
from edfgen.commands.finemap_ld import region_ld, varying_only
from edfgen.commands.mr_join import position_agreement
from edfgen.commands.options import GenotypeOptions, allow_incomplete_opt, force_opt, genotype_source, opt, out_opt
from edfgen.reprs import ReadableRepr
from edfgen.commands.sumstats_options import (case_counts_opt, check_sumstats_options, columns_opt, parse_case_counts,
                                              parse_sample_sizes, sample_size_opt, warn_panel_build)
from edfgen.exceptions import InputError
from edfgen.formats.genotypes.panel import genotype_parameters, open_panel, panel_fingerprint
from edfgen.formats.manifest import check_upstream, recording
from edfgen.formats.sumstats import declared_build, declared_builds, parse_column_option, reads_sub_folders
from edfgen.formats.sumstats.layout import chromosome_labels
from edfgen.formats.sumstats.zscores import NO_N, ZStats, has_n, read_zstats, zstats_files, zstats_test
from edfgen.formats.tables import prepare_out_dir, read_table, write_table
from edfgen.kernels.coloc import P1, P2, P12, coloc_abf, coloc_bf_bf, sdy_estimate
from edfgen.kernels.susie import susie_rss
from edfgen.progress import progress

log = logging.getLogger(__name__)

COLOC_COLUMNS = ["locus", "trait_1", "trait_2", "method", "nsnps", "pp_h0", "pp_h1", "pp_h2", "pp_h3", "pp_h4",
                 "top_variant"]


@dataclass(frozen=True)
class ColocOptions(GenotypeOptions):
    """``edfgen coloc`` (:func:`run_coloc`)."""

    command: ClassVar[str] = "coloc"
    genotypes_after: ClassVar[str | None] = "loci"
    cli_omit: ClassVar[tuple[str, ...]] = ("mt", "min_info")
    exposure: tuple[str, ...] = opt((), "Exposure (EDF) summary statistics: files or folders, any layout mr reads.",
                                    multiple=True, required=True, path="any")
    outcome: tuple[str, ...] = opt((), "Outcome summary statistics: files or folders.", multiple=True, required=True,
                                   path="any")
    loci: str | None = opt(None, "loci.tsv of edfgen clump on the exposures.", path="file", exists=True, required=True)
    p1: float = opt(P1, "Prior probability that a variant is causal for trait 1.", range=(0, 1), open=(True, True))
    p2: float = opt(P2, "Prior probability that a variant is causal for trait 2.", range=(0, 1), open=(True, True))
    p12: float = opt(P12, "Prior probability that a variant is causal for both.", range=(0, 1), open=(True, True))
    window_kb: float = opt(500.0, "Region around each locus lead, kb each side.", range=(0, None), open=(True, False))
    max_causal: int = opt(10, "L of the SuSiE fits (coloc-SuSiE).", range=(1, None))
    columns: str | None = columns_opt()
    sample_size: tuple[str, ...] = sample_size_opt()
    case_counts: tuple[str, ...] = case_counts_opt()
    out: str | None = out_opt()
    force: bool = force_opt()
    allow_incomplete: bool = allow_incomplete_opt()


@dataclass(frozen=True, repr=False)
class ColocRun(ReadableRepr):
    """What :func:`run_coloc` wrote.

    Attributes
    ----------
    out_dir : Path
    coloc : DataFrame
        ``coloc.tsv``: PP.H0 .. PP.H4 per exposure-outcome pair and locus.
    """

    out_dir: Path
    coloc: pd.DataFrame


def _sdy(t: pd.DataFrame, z: ZStats) -> float:
    """sdY of a quantitative trait (coloc ``sdY.est`` on the region), 1 when frequencies or n are missing."""
    if z.binary or "effect_allele_frequency" not in t.columns or "n" not in t.columns:
        return 1.0
    f = t["effect_allele_frequency"].to_numpy(np.float64)
    ok = np.isfinite(f) & t["n"].notna().to_numpy()
    if not ok.any():                    # sdY.est's regression through the origin is defined from one variant
        return 1.0
    return sdy_estimate(t["standard_error"].to_numpy()[ok] ** 2, np.minimum(f[ok], 1 - f[ok]), t["n"].to_numpy()[ok])


def _region_n(m: pd.DataFrame, col: str, panel) -> int:
    """SuSiE's n of one trait on the region: the median of its n, else (no n on these rows) the panel's."""
    return int(np.nanmedian(m[col])) if col in m.columns and m[col].notna().any() else panel.n_samples


def _cached(cache: dict, key, compute):
    """``cache[key]``, computed by ``compute()`` the first time."""
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _check_n(zs: dict[str, ZStats], option: str) -> None:
    """Every trait has a sample size (coloc-SuSiE and sdY need N; module docstring): a one-line
    :class:`InputError` naming the file otherwise."""
    for z in zs.values():
        if not has_n(z):
            f = z.files[0]
            raise InputError(f"{option} {f}: {NO_N}; coloc needs N (coloc-SuSiE's susie_rss, and sdY of a "
                             f"quantitative trait in coloc.abf): give --sample-size {f}=N, or --case-counts "
                             f"{f}=CASES,CONTROLS for a case-control trait")
        if z.binary is False and "effect_allele_frequency" not in z.table.columns:
            log.warning("%s: no effect-allele frequency: sdY of this quantitative trait is taken as 1 (coloc.abf's "
                        "prior sd 0.15 x sdY); give frequencies, or case counts for a case-control trait", z.files[0])


def _shared_rows(t1: pd.DataFrame, t2: pd.DataFrame) -> pd.DataFrame:
    """``t1``'s rows at the panel rows ``t2`` has too, with ``t2``'s ``beta, standard_error, z, n`` (suffix ``_2``
    where ``t1`` has the column): ``t1.merge(t2[...], on="row", suffixes=("", "_2"))`` by index arithmetic, both
    sorted by unique ``row`` (:func:`align_to_panel`), which a pandas merge per pair (5,000 in a demo) is slow at."""
    r1, r2 = t1["row"].to_numpy(), t2["row"].to_numpy()
    for t, r in ((1, r1), (2, r2)):         # a repeated row would be paired with another variant's numbers
        if len(r) > 1 and not (np.diff(r) > 0).all() and len(np.unique(r)) < len(r):
            raise InputError(f"coloc: trait {t}'s region rows repeat a panel row (e.g. {_repeated(r)}): give each "
                             "panel variant once (align_to_panel's rows)")
    _, i1, i2 = np.intersect1d(r1, r2, assume_unique=True, return_indices=True)
    m = t1.take(i1).reset_index(drop=True)
    for c in ("beta", "standard_error", "z", "n"):
        if c in t2.columns:
            m[f"{c}_2" if c in t1.columns else c] = t2[c].array[i2]
    return m


def _repeated(r: np.ndarray):
    """One value repeated in ``r``."""
    u, n = np.unique(r, return_counts=True)
    return u[np.argmax(n > 1)]


def coloc_region(locus: int, t1: pd.DataFrame, t2: pd.DataFrame, z1: ZStats, z2: ZStats, panel, *,
                 p1: float = P1, p2: float = P2, p12: float = P12, max_causal: int = 10,
                 cache: dict | None = None, lead_bp: float | None = None) -> list[dict]:
    """ABF and coloc-SuSiE rows of one locus x trait pair (``t1``, ``t2``: panel-aligned region rows). ``cache``
    keeps LD matrices and SuSiE fits by (role, trait, files, locus, variants) for the other pairs of the locus.

    No row when the traits share no variant; one shared variant gives the ABF row (coloc.abf is defined there:
    PP.H3 = 0) but no SuSiE row (fine-mapping needs 2 variants, as ``edfgen finemap``).

    Parameters
    ----------
    locus : int
        Locus number (``loci.tsv`` ``locus``).
    t1, t2 : DataFrame
        The two traits' region rows aligned to the panel (``row``, ``variant_id``, ``beta``, ``standard_error``,
        ``z``; optional ``n``, ``effect_allele_frequency``), from :func:`~edfgen.commands.finemap.align_to_panel`.
    z1, z2 : ZStats
        The two traits' summary statistics (phenotype name, case-control or not).
    panel : GenotypePanel
        Open LD panel.
    p1, p2, p12 : float
        coloc priors (defaults 1e-4, 1e-4, 1e-5).
    max_causal : int, default 10
        ``L`` of the SuSiE fits.
    cache : dict, optional
        Shared between the pairs of one locus.
    lead_bp : float, optional
        The locus lead's position (``loci.tsv``), for the warning about variants without variation in the panel.

    Returns
    -------
    list of dict
        ``coloc.tsv`` rows (:data:`COLOC_COLUMNS`): the ``abf`` row and, when both traits have credible sets,
        the ``susie`` row; empty when the traits share no variant.

    References
    ----------
    Giambartolomei C et al. (2014) PLoS Genet 10:e1004383. doi:10.1371/journal.pgen.1004383
    Wallace C (2021) PLoS Genet 17:e1009440. doi:10.1371/journal.pgen.1009440
    """
    cache = {} if cache is None else cache
    m = _shared_rows(t1, t2)
    if len(m) == 0:
        return []
    ids = m["variant_id"].to_numpy()
    base = {"locus": locus, "trait_1": z1.phenotype, "trait_2": z2.phenotype, "nsnps": len(m)}
    sd1 = _cached(cache, ("sdy", 1, z1.phenotype, tuple(z1.files)), lambda: _sdy(t1, z1))   # once a locus per trait
    sd2 = _cached(cache, ("sdy", 2, z2.phenotype, tuple(z2.files)), lambda: _sdy(t2, z2))
    abf = coloc_abf(m["beta"], m["standard_error"], m["beta_2"], m["standard_error_2"], binary1=z1.binary,
                    binary2=z2.binary, sdy1=sd1, sdy2=sd2, p1=p1, p2=p2, p12=p12)
    rows = [{**base, "method": "abf", **{f"pp_h{k}": abf.pp[k] for k in range(5)}, "top_variant": ids[abf.top]}]
    if len(m) < 2:
        log.info("coloc locus %d %s x %s: 1 shared variant; the abf row only (no SuSiE fit of one variant)", locus,
                 z1.phenotype, z2.phenotype)
        return rows
    rows_key = m["row"].to_numpy().tobytes()
    if ("R", rows_key) not in cache:
        cache[("R", rows_key)] = region_ld(panel, m["row"].to_numpy())
    R, poly = cache[("R", rows_key)]      # SuSiE needs each variant's LD: those without variation in the panel go,
    warned = cache.setdefault("no_ld", set())               # named once a locus (by the first pair leaving them out)
    new = ~m["row"].isin(warned).to_numpy()
    warned |= set(m["row"].to_numpy()[~poly].tolist())
    m, R = varying_only(m, R, poly, f"coloc locus {locus}", lead_bp=lead_bp, new=new,
                        z={z1.phenotype: "z", z2.phenotype: "z_2"}, scope="of the SuSiE fits of every pair there")
    if len(m) < 2:
        log.warning("coloc locus %d %s x %s: %d shared variant(s) vary in the LD panel; the abf row only (no SuSiE "
                    "fit)", locus, z1.phenotype, z2.phenotype, len(m))
        return rows
    ids = m["variant_id"].to_numpy()
    fits = []
    for role, z, zcol, ncol in ((1, z1, "z", "n"), (2, z2, "z_2", "n_2")):
        # by role and files: an exposure and an outcome of one name (other files) are other traits
        key = ("fit", role, z.phenotype, tuple(z.files), locus, rows_key)
        if key not in cache:
            cache[key] = susie_rss(m[zcol].to_numpy(), R, _region_n(m, ncol, panel), L=max_causal)
        fits.append(cache[key])
    f1, f2 = fits
    if f1.sets and f2.sets:
        bf1 = f1.lbf_variable[[c.effect for c in f1.sets]]
        bf2 = f2.lbf_variable[[c.effect for c in f2.sets]]
        pairs = coloc_bf_bf(bf1, bf2, p1=p1, p2=p2, p12=p12)
        i, j, best = max(pairs, key=lambda x: x[2].pp[4])
        rows.append({**base, "nsnps": len(m), "method": "susie", **{f"pp_h{k}": best.pp[k] for k in range(5)},
                     "top_variant": ids[best.top]})
    return rows


def _same_files(z1: ZStats, z2: ZStats) -> bool:
    """Whether two traits were read from the same files (resolved paths): one trait given as both."""
    return sorted(str(Path(f).resolve()) for f in z1.files) == sorted(str(Path(f).resolve()) for f in z2.files)


def _coloc_rows(work: list[tuple], oc: dict[str, ZStats], oregions: dict[str, dict], panel, leads: dict,
                **kw) -> list[dict]:
    """``coloc.tsv`` rows of every ``(exposure, ZStats, locus, region rows)`` of ``work`` with every outcome ``oc``
    (``oregions``: outcome -> locus -> region rows), locus by locus so that LD matrices, SuSiE fits and aligned
    outcome rows are reused (:func:`coloc_region`, ``kw`` its priors and ``max_causal``; ``leads``: locus -> lead
    position). Pairs without a shared variant are counted in one warning; a trait given as both exposure and
    outcome (the same files) is not colocalised with itself, named in another (an exposure and an outcome of one
    name from other files are two traits: colocalised)."""
    work.sort(key=lambda w: w[2])            # by locus: its LD matrix and outcome fits are reused
    rows, current, empty, itself = [], None, [], set()
    for ename, z1, locus, r1 in progress(work, desc="coloc", unit="locus"):
        if locus != current:
            cache, current, outcome_rows = {}, locus, {}
        t1 = align_to_panel(r1, panel, ename, f"coloc locus {locus} {ename}")
        for oname, z2 in oc.items():
            r2 = oregions[oname].get(locus)
            if oname == ename and _same_files(z1, z2):          # the trait with itself (other files: computed)
                itself.add(ename)
                continue
            if r2 is not None and oname not in outcome_rows:    # aligned (and mismatches warned) once a locus
                outcome_rows[oname] = align_to_panel(r2, panel, oname, f"coloc locus {locus} {oname}")
            got = [] if r2 is None else coloc_region(locus, t1, outcome_rows[oname], z1, z2, panel, cache=cache,
                                                     lead_bp=leads.get(locus), **kw)
            if not got:
                empty.append(f"locus {locus} {ename} x {oname}")
            rows += got
    if empty:
        log.warning("coloc: %d locus x exposure x outcome pair(s) share no variant in the LD panel (by variant id, "
                    "rsid or position, with matching alleles): no row (%s%s)", len(empty), ", ".join(empty[:3]),
                    ", ..." if len(empty) > 3 else "")
    if itself:
        log.warning("coloc: %d trait(s) given as both exposure and outcome (the same files) not colocalised with "
                    "themselves: %s", len(itself), ", ".join(sorted(itself)[:3]) + (", ..." if len(itself) > 3 else ""))
    return rows


def run_coloc(exposure, outcome, *, loci, out_dir, genotypes, p1: float = P1, p2: float = P2, p12: float = P12,
              window_kb: float = 500.0, max_causal: int = 10, force: bool = False,
              columns: dict[str, str] | None = None, sample_sizes: dict[str, float] | None = None,
              case_counts: dict[str, tuple[float, float]] | None = None) -> ColocRun:
    """``edfgen coloc``: ``coloc.tsv`` for every locus x exposure with a lead there x outcome (module docstring).

    ``columns``: ``--columns`` (:func:`edfgen.formats.sumstats.parse_column_option`); ``sample_sizes``,
    ``case_counts``: ``{resolved file: N}``, ``{resolved file: (cases, controls)}`` for files without ``n`` /
    ``n_cases``/``n_controls`` columns (:mod:`edfgen.commands.sumstats_options`).

    Parameters
    ----------
    exposure : list of str or Path
        Exposure (EDF) summary statistics: files or folders (``--exposure``).
    outcome : list of str or Path
        Outcome summary statistics (``--outcome``).
    loci : str or Path
        ``loci.tsv`` of ``edfgen clump`` on the exposures.
    out_dir : str or Path
        Output folder (``coloc.tsv``, ``manifest.json``).
    genotypes : str, Path or GenotypeSource
        LD panel: a PLINK 1 prefix or the ``--bfile/--pfile/--bgen`` source.
    p1, p2, p12 : float
        coloc priors per variant (defaults 1e-4, 1e-4, 1e-5).
    window_kb : float, default 500
        Region around each locus lead, kb each side.
    max_causal : int, default 10
        ``L`` of the SuSiE fits.
    force : bool, default False
        Replace an earlier run's outputs in ``out_dir``.
    columns : dict of str to str, optional
        ``--columns`` renames (:func:`edfgen.formats.sumstats.parse_column_option`).
    sample_sizes : dict of str to float, optional
        ``{resolved file: N}`` for files without an ``n`` column (``--sample-size``).
    case_counts : dict of str to (float, float), optional
        ``{resolved file: (cases, controls)}`` (``--case-counts``); such a trait is case-control.

    Returns
    -------
    ColocRun
        ``out_dir`` and the ``coloc.tsv`` table (PP.H0..H4 per locus, exposure, outcome and method).

    References
    ----------
    Giambartolomei C et al. (2014) PLoS Genet 10:e1004383. doi:10.1371/journal.pgen.1004383
    Wallace C (2021) PLoS Genet 17:e1009440. doi:10.1371/journal.pgen.1009440
    """
    if genotypes is None:
        raise InputError("coloc: give the genotypes for the LD matrices of coloc-SuSiE (--bfile/--pfile/--bgen)")
    given = {"columns": columns, "sample_sizes": sample_sizes, "case_counts": case_counts}
    ex_files, oc_files = zstats_files(exposure, "--exposure", columns=columns), zstats_files(outcome, "--outcome",
                                                                                            columns=columns)
    check_sumstats_options([*ex_files, *oc_files], "--exposure/--outcome", **given)
    loci_t = read_loci(loci)
    with open_panel(genotypes) as panel:   # first: each exposure is located there and cut to the loci as it is read
        def cut(z: ZStats) -> ZStats:   # N checked on the whole file: one with no row near a locus is no error
            _check_n({z.phenotype: z}, "--exposure")
            return near_loci(located(z, panel), loci_t, window_kb)

        ex = read_zstats(ex_files, "--exposure", **given, keep=cut)
        check_leads(loci_t, ex, loci, "colocalise", read_as="exposures")
        oc = read_zstats(oc_files, "--outcome", **given)      # whole: check_same_build looks at every shared id
        check_same_build(ex, oc, loci_t, window_kb)
        warn_panel_build([*ex_files, *oc_files], genotypes)
        _check_n(oc, "--outcome")
        out_dir = prepare_out_dir(out_dir, force=force, command="edfgen coloc")
        params = {"p1": p1, "p2": p2, "p12": p12, "window_kb": window_kb, "max_causal": max_causal,
                  "columns": columns, "sample_sizes": sample_sizes, "case_counts": case_counts}
        panel_files, params["ld_panel_bed_bytes"] = panel_fingerprint(genotypes)   # the LD panel, as clump records it
        params["genotypes"] = genotype_parameters(genotypes)
        inputs = [loci, *[f for z in (*ex.values(), *oc.values()) for f in z.files], *panel_files]
        with recording(out_dir, "edfgen coloc", parameters=params, inputs=inputs, planned=["coloc.tsv"]) as man:
            oc = {name: located(z, panel) for name, z in oc.items()}        # panel rows found once per phenotype
            oregions = {name: dict(locus_regions(loci_t, z, window_kb)) for name, z in oc.items()}
            work = []
            for ename, z1 in ex.items():
                for locus, r1 in locus_regions(loci_t, z1, window_kb):
                    if ename in locus_leads(loci_t, locus):
                        work.append((ename, z1, locus, r1))
            leads = dict(zip(loci_t["locus"], loci_t["base_pair_location"]))
            rows = _coloc_rows(work, oc, oregions, panel, leads, p1=p1, p2=p2, p12=p12, max_causal=max_causal)
            table = pd.DataFrame(rows, columns=COLOC_COLUMNS)
            write_table(table, out_dir / "coloc.tsv", float_format="%.6g")
            man.extra["rows"] = int(len(table))
            man.extra["ld_panel_withdrawn"] = getattr(panel, "n_withdrawn", 0)   # UK Biobank withdrawals left out
            man.extra["exposure_genome_assembly"] = declared_builds(ex_files)        # (a methods section's build)
            man.extra["outcome_genome_assembly"] = declared_builds(oc_files)
            man.extra["exposure_traits"], man.extra["outcome_traits"] = trait_facts(ex), trait_facts(oc)
    return ColocRun(out_dir, table)


def trait_facts(zs: dict[str, ZStats]) -> dict[str, dict]:
    """What a methods section says of each trait coloc read (the manifest's ``exposure_traits``/``outcome_traits``):
    ``type`` (``case-control``: coloc.abf prior sd 0.2; ``quantitative``: 0.15 sdY) and ``n``, the median sample size
    of its rows read (null without any).

    Parameters
    ----------
    zs : dict of str to ZStats
        Phenotype -> its summary statistics.

    Returns
    -------
    dict of str to dict
    """
    def median_n(t: pd.DataFrame) -> float | None:
        n = pd.to_numeric(t["n"], errors="coerce").dropna() if "n" in t.columns else pd.Series(dtype=float)
        return float(n.median()) if len(n) else None

    return {name: {"type": "case-control" if z.binary else "quantitative", "n": median_n(z.table)}
            for name, z in zs.items()}


def check_same_build(ex: dict[str, ZStats], oc: dict[str, ZStats], loci: pd.DataFrame, window_kb: float) -> None:
    """Refuse exposures and outcomes on different genome builds: coloc's regions are windows of positions, and no
    liftover is done here. Declared builds (``-meta.yaml`` ``genome_assembly``) must agree; without a declaration,
    an outcome whose variants shared with the exposures' regions (by rsID, else variant id) mostly sit at other
    positions (at least 5 compared, fewer than half at the same chromosome:position) is on another build. rsIDs
    are the same in both builds; ``chr:pos:ref:alt`` variant ids are not (they carry the position), so files
    without rsIDs share few or no ids across builds and this check may compare too few variants to say anything.

    Parameters
    ----------
    ex, oc : dict of str to ZStats
        The exposures and outcomes.
    loci : DataFrame
        ``loci.tsv`` (:func:`edfgen.commands.finemap.read_loci`).
    window_kb : float
        Region half-width: the exposure rows compared are those of the regions.

    Raises
    ------
    InputError
        Naming the two builds and files, or the outcome and an example variant.
    """
    ex_files = [f for z in ex.values() for f in z.files]

    def declarer(files):     # the file whose -meta.yaml declared the build (not merely the first file)
        return next((f for f in files if declared_build([f])), files[0])

    for z in oc.values():
        be, bo = declared_build(ex_files), declared_build(z.files)
        if be and bo and be != bo:
            raise InputError(f"coloc: the exposures declare genome build {be} ({declarer(ex_files)}) and the "
                             f"outcome {z.phenotype} {bo} ({declarer(z.files)}; -meta.yaml genome_assembly): coloc "
                             "compares regions by position, so lift one side over to the other's build")

    def keyed(t: pd.DataFrame) -> pd.DataFrame:
        ids = t["variant_id"].astype(str)
        if "rsid" in t.columns:
            ids = t["rsid"].astype("string").where(t["rsid"].notna(), ids).astype(str)
        return pd.DataFrame({"variant_id": ids.to_numpy(), "chromosome": chromosome_labels(t["chromosome"]).to_numpy(),
                             "base_pair_location": t["base_pair_location"].to_numpy()})

    regions = [rows for z in ex.values() if {"chromosome", "base_pair_location"} <= set(z.table.columns)
               for _, rows in locus_regions(loci, z, window_kb)]
    if not regions:
        return
    exp_rows = keyed(pd.concat(regions))
    for z in oc.values():
        t = z.table
        if not {"chromosome", "base_pair_location"} <= set(t.columns):
            continue
        ids = t["rsid"].astype("string").fillna(t["variant_id"].astype(str)) if "rsid" in t.columns \
            else t["variant_id"].astype(str)
        shared = keyed(t[ids.isin(set(exp_rows["variant_id"])).to_numpy()])
        agree, n = position_agreement(exp_rows, shared)
        if n >= 5 and agree < 0.5:
            both = exp_rows.merge(shared, on="variant_id", suffixes=("", "_o"))
            pos, pos_o = (pd.to_numeric(both[c], errors="coerce") for c in ("base_pair_location",
                                                                            "base_pair_location_o"))
            moved = pos.notna() & pos_o.notna() & (
                (pos != pos_o) | (both["chromosome"].astype(str).str.removeprefix("chr")      # as position_agreement
                                  != both["chromosome_o"].astype(str).str.removeprefix("chr")))
            both = both[moved.to_numpy()].iloc[0]      # an example that moved, not one at the same position
            raise InputError(f"coloc: outcome {z.phenotype} ({z.files[0]}): only {round(agree * n)} of {n} variants "
                             f"it shares with the exposures' regions sit at the same position (e.g. {both.variant_id} "
                             f"at {both.chromosome_o}:{both.base_pair_location_o} there, {both.chromosome}:"
                             f"{both.base_pair_location} in the exposures): its positions are on another genome "
                             "build; lift one side over to the other's build")


def check_coloc_options(coloc: str | Path | None, pp4: float | None) -> None:
    """``mr --coloc-pp4 X`` needs ``--coloc FILE``: a one-line :class:`InputError` otherwise (checked before
    anything is read). The file is not supplied by a pipeline: its ``coloc`` stage runs after ``mr``, so
    ``[mr] coloc_pp4`` needs ``[mr] coloc`` naming a ``coloc.tsv`` already written (e.g. by an earlier run).

    Parameters
    ----------
    coloc : str or Path, optional
        ``--coloc`` file.
    pp4 : float, optional
        ``--coloc-pp4`` threshold.

    Returns
    -------
    None
    """
    if pp4 is not None and coloc is None:
        raise InputError(f"--coloc-pp4 {pp4:g} needs --coloc FILE (the coloc.tsv written by edfgen coloc): it keeps "
                         "the instruments at loci where that file has PP.H4 >= the given value")
    if coloc is not None and pp4 is None:
        log.warning("--coloc %s is used only with --coloc-pp4; without it every instrument is kept", coloc)


def restrict_to_coloc(instruments: pd.DataFrame, exposure: str, outcome: str, coloc: str | Path | None,
                      pp4: float | None, *, window_kb: float = 500.0) -> pd.DataFrame:
    """``mr --coloc FILE --coloc-pp4 X``: the instruments of ``exposure`` at loci where ``coloc.tsv`` has
    PP.H4 >= X for (``exposure``, ``outcome``) by any method: an instrument is kept when it is such a row's
    ``top_variant`` or lies within ``window_kb`` of it (positions from the instruments' own columns).
    Unchanged when ``pp4`` is None.

    Parameters
    ----------
    instruments : DataFrame
        The exposure's instruments (``variant_id``; ``chromosome``, ``base_pair_location`` for the window).
    exposure, outcome : str
        Phenotype names as in ``coloc.tsv``'s ``trait_1``/``trait_2``.
    coloc : str or Path, optional
        ``coloc.tsv`` of ``edfgen coloc``.
    pp4 : float, optional
        Least PP.H4; None keeps every instrument.
    window_kb : float, default 500
        Distance around a colocalised ``top_variant`` within which instruments are kept.

    Returns
    -------
    DataFrame
        The kept rows of ``instruments``.
    """
    if pp4 is None:
        return instruments
    check_coloc_options(coloc, pp4)
    t = read_table(coloc, required=("trait_1", "trait_2", "pp_h4", "top_variant"))
    tops = set(t.loc[(t["trait_1"] == exposure) & (t["trait_2"] == outcome) & (t["pp_h4"] >= pp4), "top_variant"])
    keep = instruments["variant_id"].isin(tops).to_numpy()
    if {"chromosome", "base_pair_location"} <= set(instruments.columns):
        at = instruments[instruments["variant_id"].isin(tops)]
        chrom = instruments["chromosome"].astype(str).to_numpy()
        pos = pd.to_numeric(instruments["base_pair_location"], errors="coerce").to_numpy()
        for c, p in zip(at["chromosome"].astype(str), pd.to_numeric(at["base_pair_location"], errors="coerce")):
            keep |= (chrom == c) & (np.abs(pos - p) <= window_kb * 1000)
    return instruments[keep]


def run(o: ColocOptions) -> ColocRun:
    """``edfgen coloc``: :func:`run_coloc` (inputs of a killed edfgen command refused: :func:`check_upstream`).

    Parameters
    ----------
    o : ColocOptions
        The command's options (command line or ``edfgen run``).

    Returns
    -------
    ColocRun
    """
    columns = parse_column_option(o.columns) or None
    for option, paths in (("--exposure", o.exposure), ("--outcome", o.outcome), ("--loci", [o.loci])):
        check_upstream(paths, option=option, allow_incomplete=o.allow_incomplete,
                       reads_sub_folders=lambda d: reads_sub_folders(d, zstats_test(columns)))
    return run_coloc(list(o.exposure), list(o.outcome), loci=o.loci, out_dir=o.out,
                     genotypes=genotype_source(o, required=False), p1=o.p1, p2=o.p2, p12=o.p12, window_kb=o.window_kb,
                     max_causal=o.max_causal, force=o.force, columns=columns,
                     sample_sizes=parse_sample_sizes(o.sample_size), case_counts=parse_case_counts(o.case_counts))
