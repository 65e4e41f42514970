"""``edfgen mr``: read summary statistics, pick instruments, harmonise, estimate, write tables.

:func:`run_mr` handles one exposure/outcome pair or directories of them (a matrix of every
exposure x outcome, with Bonferroni and Benjamini-Hochberg columns per method), and the reverse
direction (instruments taken from the outcome files). :func:`~edfgen.commands.mr_pair.analyse_pair` is the
in-memory core on one harmonised table (:mod:`edfgen.commands.mr_pair`, re-exported here).

Inputs are GWAS-SSF files (aliases accepted, see :mod:`edfgen.formats.sumstats`) or TwoSampleMR's
``exposure_dat``/``outcome_dat`` exports (:mod:`edfgen.formats.sumstats.twosamplemr`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd

from edfgen.commands.coloc import check_coloc_options, restrict_to_coloc
from edfgen.commands.mr_instruments import (
    add_instrument_columns,
    check_list_phenotypes,
    case_counts as cases_in,
    clump_instruments,
    clump_listed,
    clump_threshold,
    keep_clumped,
    list_phenotypes,
    load_phenotype,
    say_thinned,
    select_instruments,
    user_r2,
    warn_weak,
)
from edfgen.commands.mr_join import builds_text, candidate_rows, join_summary, key_outcome, proxy_candidates
from edfgen.commands.mr_pair import (  # noqa: F401 (analyse_pair, pair_rng: the API)
    AUTO_P_THRESHOLD, PRESSO_METHOD, TABLES, MRSettings, PairTables, add_result_columns, analyse_pair, pair_rng,
)
from edfgen.commands.sumstats_options import (case_counts_opt, check_sumstats_options, columns_opt,  # noqa: F401 (API)
                                              parse_case_counts, parse_sample_sizes, sample_size_opt)
from edfgen.commands.options import (BFILE_HELP, GenotypeOptions, allow_incomplete_opt, force_opt, genotype_source,
                                     opt, out_opt, seed_opt)
from edfgen.formats.paths import file_arg, file_args
from edfgen.reprs import ReadableRepr
from edfgen.exceptions import InputError
from edfgen.formats.genotypes.panel import genotype_label, genotype_parameters, open_panel, panel_fingerprint
from edfgen.formats.manifest import check_upstream, recording
from edfgen.formats.sumstats import declared_builds, read_instruments, twosamplemr_columns
from edfgen.formats.sumstats.twosamplemr import object_strings
from edfgen.formats.tables import PathLike, claimed_out_dir, write_table
from edfgen.kernels.mr.harmonise import ACTIONS, find_proxies, harmonise
from edfgen.kernels.mr.methods import get_method
from edfgen.plots.mr import pair_plot_names, plot_pairs
from edfgen.progress import progress

log = logging.getLogger(__name__)

#: an exposure file with more rows than this needs a threshold or an instruments list (``p_threshold=None``)
MAX_UNFILTERED_INSTRUMENTS = 5000


@dataclass(frozen=True, repr=False)
class MRRun(ReadableRepr):
    """What :func:`run_mr` wrote: table name -> DataFrame, plus counts and timing.

    Attributes
    ----------
    tables : dict of str to DataFrame
        ``mr_results``, ``mr_heterogeneity``, ``mr_pleiotropy``, ... (:data:`TABLES`; the ``<name>.tsv`` files).
    harmonised : DataFrame
        ``harmonised.tsv``: every instrument of every pair, with ``mr_keep`` and the reason.
    n_pairs : int
        Exposure-outcome pairs estimated.
    seconds : float
    plots : tuple of str
        PNG files written.
    """

    tables: dict
    harmonised: pd.DataFrame
    n_pairs: int
    seconds: float
    plots: tuple


def _paths(v: PathLike | Sequence[PathLike]) -> list[str]:
    """One path or several, as strings."""
    return [str(v)] if isinstance(v, (str, Path)) else [str(x) for x in v]


def _some(items: Sequence[str], k: int = 5, sep: str = ", ") -> str:
    """The first ``k`` of ``items`` joined by ``sep``, and how many more there are."""
    return sep.join(items[:k]) + (f" and {len(items) - k} more" if len(items) > k else "")


def _selection_text(p_threshold: float | None, instruments) -> str:
    """How instruments were selected, for a message: ``--p-threshold 5e-08, --instruments FILE``."""
    parts = [f"--p-threshold/--clump-p1 {p_threshold:g}"] if p_threshold is not None else []
    parts += [f"--instruments {instruments}"] if instruments else []
    return ", ".join(parts)


def _harmonise_pair(sel: pd.DataFrame, osub: pd.DataFrame, ename: str, oname: str, settings: MRSettings, *,
                    prox: pd.DataFrame | None, matched: pd.Series | dict, cases: tuple, r2: tuple) -> pd.DataFrame:
    """One exposure x outcome pair's harmonised table (:func:`harmonise`, ``matched_by`` and the Steiger columns).

    Parameters
    ----------
    sel, osub
        The exposure's instruments and the outcome rows of any instrument (a multi-allelic site's every row:
        harmonise matches alleles). An empty ``sel`` gives the empty table with every column.
    ename, oname
        Exposure and outcome names.
    settings
        :class:`MRSettings` (palindromes, MAF threshold, prevalence, Steiger filter).
    prox
        Proxies of instruments missing in the outcome, or None.
    matched
        variant_id -> the key that found it in the outcome (``variant_id``, ``rsid``, ``position``).
    cases, r2
        (exposure, outcome) case counts and user variance explained, for Steiger.
    """
    h = harmonise(sel, osub[osub["variant_id"].isin(sel["variant_id"])],
                  palindromes=settings.palindromes, maf_threshold=settings.maf_threshold,
                  exposure_name=ename, outcome_name=oname, proxies=prox)
    h.insert(h.columns.get_loc("proxy_r2") + 1, "matched_by",
             np.where(h["reason"] == "missing_in_outcome", None,
                      np.where(h["proxy_variant"].notna(), "proxy",
                               h["variant_id"].map(matched).to_numpy(dtype=object))))
    return add_instrument_columns(h, cases_exposure=cases[0], cases_outcome=cases[1],
                                  prevalence=settings.prevalence, r2_exposure=r2[0], r2_outcome=r2[1],
                                  steiger_filter=settings.steiger_filter)


def _warn_no_coloc(pairs: Sequence[str], n_estimated: int, coloc: PathLike, pp4: float) -> None:
    """Warn that ``--coloc-pp4`` left ``pairs`` without instruments (they are in no result table)."""
    if n_estimated:
        log.warning("--coloc-pp4 %g: %d exposure-outcome pair(s) have no locus with PP.H4 >= %g in %s and are not "
                    "estimated: %s", pp4, len(pairs), pp4, coloc, _some(list(pairs), sep="; "))
    else:
        log.warning("--coloc-pp4 %g: no exposure-outcome pair has a locus with PP.H4 >= %g in %s, so no instrument is "
                    "left and the result tables are empty (pairs: %s)", pp4, pp4, coloc, _some(list(pairs), sep="; "))


def run_mr(exposure: PathLike | Sequence[PathLike], outcome: PathLike | Sequence[PathLike], out_dir: PathLike | None, *,
           settings: MRSettings = MRSettings(), instruments: PathLike | None = None, reverse: bool = False,
           ld_bfile=None,
           proxies: bool = False, clump: bool = True, plots: bool = True, max_plots: int = 20,
           force: bool = False, columns: dict[str, str] | None = None,
           case_counts: dict[str, tuple[float, float]] | None = None, coloc: PathLike | None = None,
           coloc_pp4: float | None = None, sample_sizes: dict[str, float] | None = None) -> MRRun:
    """Run MR for every exposure x outcome file and write the tables (see README, ``edfgen mr``).

    Parameters
    ----------
    exposure, outcome
        A summary-statistics file or a directory of them (one per phenotype; a directory without any: those of
        its sub-folders, :func:`~edfgen.formats.sumstats.sumstats_in_directory`), or a list of files and
        directories; files of one phenotype (its chromosomes, named alike: ``chr1/y.tsv.gz``,
        ``chr2/y.tsv.gz`` or ``y_chr1.tsv.gz``, ``y_chr2.tsv.gz``) are combined into one
        (:func:`load_phenotype`).
    out_dir
        Output directory (``None``: compute only, write nothing).
    settings
        :class:`MRSettings`; its ``p_threshold`` ``"auto"`` (the default) is resolved as ``edfgen mr``
        resolves an absent ``--p-threshold`` (:meth:`MRSettings.instrument_threshold`: 5e-8, an instrument list
        taken as given); ``None``: every row of the exposure files (refused above
        :data:`MAX_UNFILTERED_INSTRUMENTS` rows without a list, and with ``clump``).
    instruments
        Instrument list (``clumps.tsv``) joined to the exposure by ``variant_id`` (and ``phenotype`` where it
        has one); with ``settings.p_threshold`` ``"auto"`` or ``None`` the listed variants are taken as given (not
        thresholded; clumping, if on, clumps the listed rows alone), else thresholded too (and clumping, if on,
        clumps the file's rows below the threshold).
        Listed instruments left out are counted in a log line.
    reverse
        Swap the direction: instruments from the ``outcome`` files, effects on the ``exposure`` files.
    ld_bfile
        LD reference panel (for ``proxies`` and ``clump``): a PLINK 1 prefix, or a
        :class:`~edfgen.formats.genotypes.source.GenotypeSource` (``--bfile``, ``--pfile``, ``--bgen``,
        ``--vcf`` with ``--keep/--remove/--extract/--chr``; dosages rounded to hard calls).
    proxies
        Replace instruments missing in an outcome by the best proxy with r² >= ``settings.proxy_r2``
        inside ``settings.proxy_window_kb`` (needs ``ld_bfile``). Off by default, as ``edfgen mr``
        (``--proxies``).
    clump
        Select independent instruments by LD clumping of the exposure sumstats against ``ld_bfile``
        (index p < ``settings.p_threshold``, r² ``settings.clump_r2``, window ``settings.clump_kb``;
        :mod:`edfgen.kernels.clump`); on by default. Without an LD panel, an ``instruments`` list is
        taken as already independent; with neither, clumping is an input error (``clump=False``,
        ``--no-clump``, uses the selected rows as they are, with a warning).
    plots, max_plots
        Write PNG plots for at most ``max_plots`` pairs (smallest IVW p first).
    case_counts
        ``{outcome file: (cases, controls)}`` for files without ``n_cases``/``n_controls`` columns.
    sample_sizes
        ``{file: N}`` (``--sample-size``) for exposure or outcome files without an ``n`` column (Steiger's r²).
    columns
        ``--columns``: ``{input column: GWAS-SSF column}`` for files in a layout that is not recognised
        (:func:`edfgen.formats.sumstats.parse_column_option`); applied to every file that has the column.
    force
        Write into a non-empty ``out_dir``, replacing only the files an earlier run listed in its manifest.
    coloc, coloc_pp4
        An ``edfgen coloc`` ``coloc.tsv``: keep only instruments at loci with PP.H4 >= ``coloc_pp4`` for their pair.

    Returns
    -------
    MRRun
    """
    t0 = time.perf_counter()
    exposure, outcome = ((file_arg(v, flag) if isinstance(v, (str, bytes, os.PathLike)) else file_args(v, flag))   # (a DataFrame: one line)
                         for v, flag in ((exposure, "--exposure"), (outcome, "--outcome")))
    instruments = file_arg(instruments, "--instruments")
    check_coloc_options(coloc, coloc_pp4)
    settings = dataclasses.replace(settings, p_threshold=settings.instrument_threshold(instruments is not None))
    get_method(settings.loo_method)
    names = [get_method(mname).name for mname in settings.methods]
    primary = [n for n in ("Inverse variance weighted", "Wald ratio") if n not in names]
    if primary:   # each pair's primary estimate (the report, truth scoring and the corrected p-values use it)
        log.info("--methods: %s added (each pair's primary estimate: IVW with >= 2 instruments, else the Wald "
                 "ratio)", " and ".join(primary))
        settings = dataclasses.replace(settings, methods=tuple(settings.methods) + tuple(primary))
    if settings.palindromes not in ACTIONS:
        raise InputError(f"--palindromes {settings.palindromes!r}: choose infer, forward or drop")
    if settings.wald_se not in ("first", "second"):
        raise InputError(f"MR wald_se (--wald-se) {settings.wald_se!r}: choose first or second")
    with contextlib.ExitStack() as claimed:   # the folder's write lock from the checks to the last file
        if out_dir is not None:
            claimed.enter_context(claimed_out_dir(out_dir, force=force, command="edfgen mr"))
        exp_groups = list_phenotypes(exposure, "--exposure", columns)
        out_groups = list_phenotypes(outcome, "--outcome", columns)
        exp_files = [f for fs in exp_groups.values() for f in fs]
        out_files = [f for fs in out_groups.values() for f in fs]
        check_sumstats_options([*exp_files, *out_files], "--exposure/--outcome", columns=columns,
                               case_counts=case_counts, sample_sizes=sample_sizes)
        # a harmonised table (.exposure and .outcome columns) is read as the option it was given with
        exp_role, out_role = "exposure", "outcome"
        if reverse:
            exp_groups, out_groups = out_groups, exp_groups
            exp_files, out_files = out_files, exp_files
            exp_role, out_role = out_role, exp_role
        if proxies and ld_bfile is None:
            raise InputError("--proxies needs an LD reference panel: --ld-bfile PREFIX, or --bfile, --pfile, "
                             "--bgen or --vcf")
        if clump and ld_bfile is None:
            if instruments is None:
                raise InputError("edfgen mr clumps the exposure instruments (r2 < --clump-r2 within --clump-kb): give an "
                                 "LD reference panel (--bfile/--ld-bfile, --pfile, --bgen or --vcf), an --instruments "
                                 "list of independent variants, or --no-clump if the exposure rows are independent")
            log.info("no LD panel: the --instruments list %s is taken as independent instruments", instruments)
            clump = False
        elif not clump and instruments is None:
            log.warning("--no-clump: the exposure rows with p < %s are used as instruments as they are; correlated "
                        "instruments count the same signal several times and overstate the precision of MR",
                        settings.p_threshold)
        if clump and settings.p_threshold is None and instruments is None:
            raise InputError("clumping every row of the exposure files needs an index-variant threshold: give "
                             "p_threshold (MRSettings; --p-threshold/--clump-p1) or clump=False")
        inst = read_instruments(instruments) if instruments is not None else None
        if inst is not None:
            check_list_phenotypes(inst, list(exp_groups), path=instruments,
                                  option="--outcome" if reverse else "--exposure")
        selected = []
        for name, fs in exp_groups.items():
            df = load_phenotype(fs, columns, role=exp_role, sample_sizes=sample_sizes, only_mr_columns=True)
            f = " + ".join(map(str, fs))
            if inst is None and settings.p_threshold is None and len(df) > MAX_UNFILTERED_INSTRUMENTS:
                raise InputError(f"{f}: {len(df)} variants look like full summary statistics, not instruments; "
                                 "give p_threshold (e.g. 5e-8; --p-threshold) or an instruments list")
            sel = select_instruments(df, name, p_threshold=settings.p_threshold, instruments=inst, source=str(f))
            selected.append((name, f, sel, cases_in(df)))
        thinned: list = []      # (said once for all exposures: say_thinned)
        if clump and inst is not None and settings.p_threshold is None:   # a list taken as given: its rows alone
            clumped, absent = clump_listed([(e[0], e[2]) for e in selected], ld_bfile, r2=settings.clump_r2,
                                           kb=settings.clump_kb)
            selected = [(name, f, keep_clumped(sel, clumped, name, listed_in=f, not_in_panel=absent,
                                               thinned=thinned), c)
                        for name, f, sel, c in selected]
        elif clump:   # each exposure keeps the variants that lead a clump of its own sumstats
            p1 = clump_threshold(settings.p_threshold, [e[2] for e in selected])
            clumped, absent = clump_instruments(exp_files, ld_bfile, p_threshold=p1, r2=settings.clump_r2,
                                                kb=settings.clump_kb, columns=columns, role=exp_role)
            selected = [(name, f, keep_clumped(sel, clumped, name, listed_in=f if inst is not None else None,
                                               not_in_panel=absent, thinned=thinned), c)
                        for name, f, sel, c in selected]
        say_thinned(thinned)
        exposures = []
        for name, f, sel, cases in selected:
            if sel.empty:
                why = [f"p < {settings.p_threshold:g}"] if settings.p_threshold is not None else []
                why += [f"in the instrument list {Path(str(instruments)).name}"] if inst is not None else []
                log.debug("%s: no instruments (%s)", f, ", ".join(why) or "no variants")
            # the variance explained sums below 1 only over independent instruments (not under --no-clump)
            exposures.append((name, f, sel, cases, user_r2(sel, source=str(f), instruments=inst is not None)))
        no_instruments = [e[0] for e in exposures if e[2].empty]
        if 0 < len(no_instruments) < len(exposures):   # they are in no result table: said, not only at -v
            log.warning("%d of %d exposures have no instruments and appear in no result table: %s",
                        len(no_instruments), len(exposures), _some(no_instruments))
        if all(e[2].empty for e in exposures):
            named = _some([str(e[1]) for e in exposures], 3)
            raise InputError(f"{'--outcome' if reverse else '--exposure'} {named}: no instruments selected in any "
                             f"file{' (--reverse: instruments come from the --outcome files)' if reverse else ''} "
                             f"({_selection_text(settings.p_threshold, instruments)})")
        wanted = set().union(*(set(e[2]["variant_id"]) for e in exposures))
        # instruments found in an outcome by id, else rsID, else chromosome:position:alleles (mr_join)
        all_instruments = pd.concat([e[2] for e in exposures if not e[2].empty], ignore_index=True)
        joins: dict[str, dict[str, int]] = {}

        harmonised, tables, binary_outcomes, unestimated, no_coloc = [], PairTables(), set(), [], []
        empty_h = pd.DataFrame()
        n_pairs, example_outcome_id, build_note = 0, "", ""
        # proxies: the panel's variants are read once for all outcomes
        with open_panel(ld_bfile, founders_only=False) if proxies else contextlib.nullcontext() as panel:
            near = proxy_candidates(panel.variants, wanted, settings.proxy_window_kb) if proxies else None
            for oname, ofs in progress(list(out_groups.items()), total=len(out_groups), desc="mr outcomes"):
                build_note = builds_text(exp_files, ofs) or build_note
                full = load_phenotype(ofs, columns, role=out_role, sample_sizes=sample_sizes, only_mr_columns=True,
                                      arrow_strings=True)
                # keyed on the rows an instrument or its proxy can match; the case counts and r² are the whole file's
                odf, matched = key_outcome(object_strings(full[candidate_rows(full, all_instruments, near)]),
                                           all_instruments, files=(exp_files, ofs))
                joins[oname] = join_summary(matched, len(wanted))
                matched = pd.Series(matched, dtype=object)    # (mapped once per pair: built once per outcome)
                if joins[oname]["rsid"] or joins[oname]["position"]:
                    log.info("%s: instruments found by variant_id %d, by rsid %d, by chromosome:position:alleles "
                             "%d, not found %d", oname, *joins[oname].values())
                # the file's own case counts win; --case-counts is for a file without them (as in ldsc/coloc)
                given = [(case_counts or {}).get(str(Path(f).resolve())) for f in ofs]
                ocases, or2 = (cases_in(full) or next((c for c in given if c), None),
                               user_r2(full, source=" + ".join(map(str, ofs)), instruments=False))
                binary_outcomes |= {oname} if ocases else set()
                # an odds_ratio column of NAs is a quantitative trait's (GWAS Catalog harmonised hm_odds_ratio)
                ors = pd.to_numeric(full["odds_ratio"], errors="coerce") if "odds_ratio" in full else pd.Series([])
                if not ocases and ors.notna().any():
                    log.warning("%s: effects are log odds ratios but the file gives no case/control counts: Steiger's "
                                "r² of this outcome comes from p and n on the observed scale (give n_cases/n_controls "
                                "columns or --case-counts FILE=CASES,CONTROLS for the liability scale)",
                                " + ".join(map(str, ofs)))
                overlap = odf["variant_id"].isin(wanted)
                prox = None
                if proxies:
                    prox = find_proxies(sorted(wanted - set(odf["variant_id"])), odf, panel.variants, panel.read,
                                        r2_min=settings.proxy_r2, window_kb=settings.proxy_window_kb)
                osub = odf[overlap]
                example_outcome_id = str(odf["variant_id"].iloc[0]) if len(odf) else ""
                for ename, ef, sel, ecases, er2 in exposures:
                    if sel.empty:
                        continue
                    sel_pair = restrict_to_coloc(sel, ename, oname, coloc, coloc_pp4)   # mr --coloc-pp4 (edfgen coloc)
                    h = _harmonise_pair(sel_pair, osub, ename, oname, settings, prox=prox, matched=matched,
                                        cases=(ecases, ocases), r2=(er2, or2))
                    if sel_pair.empty:      # no colocalised locus: not estimated (an empty table keeps its header)
                        no_coloc.append(f"{ename} -> {oname}")
                        empty_h = h
                        continue
                    warn_weak(h)
                    if not h["mr_keep"].any():      # no estimate: said with the reasons (harmonised.tsv lists them)
                        why = ", ".join(f"{k} {v}" for k, v in h["reason"].value_counts().items())
                        unestimated.append(f"{ename} -> {oname} ({why})")
                    elif not h["mr_keep"].all():    # the instruments left out, counted by reason (TwoSampleMR's
                        left = h.loc[~h["mr_keep"], "reason"].value_counts()      # harmonise_data names them too)
                        log.info("%s -> %s: %d of %d instruments not used (%s; harmonised.tsv gives each one's "
                                 "reason)", ename, oname, int(left.sum()), len(h),
                                 ", ".join(f"{k} {v}" for k, v in left.items()))
                    harmonised.append(h)
                    n_pairs += 1
                    pt = analyse_pair(h, settings, cases_exposure=ecases, cases_outcome=ocases,
                                      r2_exposure=er2, r2_outcome=or2)
                    for fld in fields(tables):
                        getattr(tables, fld.name).extend(getattr(pt, fld.name))
        if settings.prevalence is not None and not binary_outcomes and not any(e[3] for e in exposures):
            log.warning("--prevalence %g is not used: no exposure or outcome has case/control counts (n_cases/"
                        "n_controls columns, or --case-counts for an outcome), so Steiger treats every trait as "
                        "continuous", settings.prevalence)
        if no_coloc:
            _warn_no_coloc(no_coloc, n_pairs, coloc, coloc_pp4)
        H = pd.concat(harmonised, ignore_index=True) if harmonised else empty_h
        if len(H) and not H["mr_keep"].any():
            reasons = ", ".join(f"{k}={v}" for k, v in H["reason"].value_counts().items())
            hint = ""
            if set(H["reason"]) == {"missing_in_outcome"}:      # keyed differently: show one id of each side
                hint = (f"; no instrument found by variant_id, rsid or chromosome:position:alleles (e.g. exposure "
                        f"{H['variant_id'].iloc[0]!r}, outcome {example_outcome_id!r})"
                        f"{build_note}")
            raise InputError(f"no usable instruments after harmonisation of {_some(_paths(exposure))} with "
                             f"{_some(_paths(outcome))} ({reasons}){hint}")
        if unestimated:
            log.warning("%d exposure-outcome pair(s) kept no instrument after harmonisation and are not estimated "
                        "(harmonised.tsv gives each variant's reason): %s", len(unestimated),
                        _some(unestimated, sep="; "))
        out = {}
        for name, cols in TABLES.items():
            rows = getattr(tables, name.replace("mr_", ""))
            df = pd.DataFrame(rows, columns=[c for c in cols if c not in ("lo_ci", "up_ci", "or", "or_lci95", "or_uci95",
                                                                             "p_bonferroni", "q_fdr")] if name == "mr_results" else cols)
            if name == "mr_results":
                df = add_result_columns(df)
            out[name] = df
        written_plots: tuple = ()
        if out_dir is not None:
            out_dir = Path(out_dir)
            panel_files, bed_bytes = panel_fingerprint(ld_bfile) if ld_bfile else ([], None)
            label = (lambda v: str(v) if isinstance(v, (str, Path)) else _paths(v))
            params = {**asdict(settings), "exposure": label(exposure), "outcome": label(outcome), "reverse": reverse,
                      "instruments": str(instruments) if instruments else None,
                      "ld_bfile": genotype_label(ld_bfile), "ld_panel_bed_bytes": bed_bytes,
                      "genotypes": genotype_parameters(ld_bfile) if ld_bfile else None,   # its filters and build
                      "proxies": proxies, "clump": clump, "plots": plots, "max_plots": max_plots}
            inputs = [*exp_files, *out_files, instruments, *panel_files]
            # the plots by name, not plots/ as a whole: the rerun of a killed run removed a user's file put there
            planned = ["harmonised.tsv", *(f"{name}.tsv" for name in out)] + (
                [f"plots/{n}" for n in pair_plot_names(H, out, max_pairs=max_plots)] if plots else [])
            with recording(out_dir, "edfgen mr", parameters=params, inputs=inputs, seed=settings.seed,
                           planned=planned, force=force) as man:
                write_table(twosamplemr_columns("harmonised", H), out_dir / "harmonised.tsv")
                for name, df in out.items():
                    write_table(twosamplemr_columns(name, df), out_dir / f"{name}.tsv")
                if plots:
                    written_plots = tuple(plot_pairs(out_dir / "plots", H, out, max_pairs=max_plots,
                                                     binary=binary_outcomes))
                man.extra["n_pairs"] = n_pairs
                man.extra["exposures_without_instruments"] = no_instruments
                man.extra["pairs_not_estimated"] = unestimated
                man.extra["pairs_without_coloc"] = no_coloc
                man.extra["outcome_join"] = joins     # instruments found in each outcome by each key
                man.extra["exposure_genome_assembly"] = declared_builds(exp_files)   # (a methods section's build)
                man.extra["outcome_genome_assembly"] = declared_builds(out_files)
        dt = time.perf_counter() - t0
        return MRRun(out, H, n_pairs, dt, written_plots)

# ---------------------------------------------------------------------------------------------- the command
# its options (the only place their defaults, ranges and choices are written) and run(options),
# which the command line and `edfgen run` both call

@dataclass(frozen=True)
class MROptions(GenotypeOptions):
    """``edfgen mr`` (:func:`edfgen.commands.mr.run_mr`); the genotype options give the LD panel
    (``ld_bfile``, shown as ``--bfile``, or the other formats) of ``--proxies``/``--clump``."""

    command: ClassVar[str] = "mr"
    genotypes_after: ClassVar[str | None] = "ld_bfile"
    cli_omit: ClassVar[tuple[str, ...]] = ("bfile", "mt", "skip_bad_variants")
    exposure: tuple[str, ...] = opt((), "Exposure sumstats file (instruments, or full sumstats: p < --p-threshold) "
                                    "or a directory of them (one without any: its sub-folders, e.g. gwas/chr1/, "
                                    "gwas/chr2/); repeat it for more. Files of one phenotype's "
                                    "chromosomes (chr1/y.tsv.gz, chr2/y.tsv.gz or y_chr1.tsv.gz, y_chr2.tsv.gz) are "
                                    "combined into one exposure. A phenotype is named by its file name; a stream "
                                    "(<(zcat bmi.tsv.gz)) by the one trait its rows name (a phenotype or trait "
                                    "column, TwoSampleMR's exposure/outcome; '<trait>_<id>' when another input names "
                                    "the same trait), else by its path: /dev/fd/63 is '63' "
                                    "(give a FIFO the phenotype's name, mkfifo bmi.tsv, to name it).", multiple=True,
                                    required=True,
                                    path="any",
                                    exists=True)
    outcome: tuple[str, ...] = opt((), "Outcome sumstats file or a directory of them, as --exposure, repeatable "
                                   "(several phenotypes run as a matrix; one phenotype's per-chromosome files are "
                                   "combined).",
                                   multiple=True, required=True, path="any", exists=True)
    out: str | None = out_opt()
    methods: tuple[str, ...] | None = opt(None, "Comma-separated methods (TwoSampleMR names, 'MR Egger', or its "
                                          "functions, mr_ivw, mr_egger_regression, ...; or ivw, ivw_fe, ivw_mre, "
                                          "egger, weighted_median, simple_median, simple_mode, weighted_mode, wald). "
                                          "Default: all but ivw_mre (IVW without its SE floor); IVW and the Wald "
                                          "ratio always run (each pair's primary estimate).", comma=True)
    palindromes: str = opt(MRSettings.palindromes, "TwoSampleMR harmonise action 2 / 1 / 3.", choices=("infer", "forward", "drop"))
    maf_threshold: float = opt(MRSettings.maf_threshold, "Palindromes with allele frequency in (t, 1-t) cannot be inferred.",
                               range=(0, 0.5), open=(True, False))
    p_threshold: float | None = opt(None, "Instruments: exposure variants with p below this; the index-variant "
                                    "threshold of clumping. Default 5e-8, but an --instruments list is taken as "
                                    "given (not thresholded) unless this is given (--multivariable: 5e-8).",
                                    cli=("--p-threshold", "--clump-p1"), range=(0, 1), open=(True, False))
    instruments: str | None = opt(None, "Instrument list (e.g. clumps.tsv: variant_id[, phenotype]) joined to the "
                                  "exposure by phenotype and variant id (by variant id only without a phenotype "
                                  "column); with a panel its rows alone are clumped.", path="file", exists=True)
    proxies: bool = opt(False, "Replace instruments missing in the outcome by LD proxies (needs an LD panel: "
                        "--ld-bfile, or --bfile/--pfile/--bgen/--vcf).")
    clump: bool = opt(True, "Clump the exposure instruments against the LD panel (default; without a panel an "
                      "--instruments list is taken as independent). --no-clump uses the selected rows as they are "
                      "(warns).", secondary="--no-clump")
    clump_r2: float = opt(MRSettings.clump_r2, "Clumping: LD r² above which a weaker instrument is dropped.",
                          range=(0, 1), open=(False, True))
    clump_kb: float = opt(MRSettings.clump_kb, "Clumping window (kb).", range=(0, None), open=(True, False))
    steiger_filter: bool = opt(MRSettings.steiger_filter, "Drop instruments whose per-variant Steiger test points "
                               "from outcome to exposure (steiger_dir False in harmonised.tsv).")
    ld_bfile: str | None = opt(None, BFILE_HELP, cli=("--bfile", "--ld-bfile"), path="text")
    proxy_r2: float = opt(MRSettings.proxy_r2, "--proxies: the least LD r² of a proxy with the missing instrument "
                          "(the first usable one by decreasing r² is taken).", range=(0, 1))
    reverse: bool = opt(False, "Reverse direction: instruments from the outcome files.")
    multivariable: bool = opt(False, "Multivariable MR of all --exposure phenotypes together on each outcome "
                              "(union of their instruments, re-clumped) -> mvmr_results.tsv.")
    nboot: int = opt(MRSettings.nboot, "Bootstrap draws.", range=(10, 100_000))
    phi: float = opt(MRSettings.phi, "Simple/weighted mode: bandwidth multiplier of the kernel density (Hartwig 2017; "
                     "TwoSampleMR's phi: 1; smaller is less biased, more variable).", range=(0, None), open=(True, False))
    wald_se: str = opt(MRSettings.wald_se, "SE of the Wald ratio (one-instrument pairs, mr_singlesnp.tsv): first "
                       "order se_out/|b_exp| (TwoSampleMR's) or second order (delta method, also counting se_exp: "
                       "larger for weak instruments).", choices=("first", "second"))
    presso_sims: int = opt(MRSettings.presso_sims, "MR-PRESSO simulated data sets (0: skip MR-PRESSO).", range=(0, None))
    prevalence: float | None = opt(MRSettings.prevalence, "Disease prevalence for Steiger r² of binary traits (default: the GWAS case "
                                   "fraction).", range=(0, 1), open=(True, True))
    columns: str | None = columns_opt()
    case_counts: tuple[str, ...] = case_counts_opt("Cases and controls of a binary outcome file without "
                                                   "n_cases/n_controls columns (FinnGen), as FILE=CASES,CONTROLS; "
                                                   "repeatable. FILE must be one of the files read; where the "
                                                   "file has case counts, its own win.")
    sample_size: tuple[str, ...] = sample_size_opt()
    coloc: str | None = opt(None, "coloc.tsv of edfgen coloc, for --coloc-pp4.", path="file", exists=True)
    coloc_pp4: float | None = opt(None, "Use only instruments at loci where --coloc FILE (needed) has PP.H4 >= X for the "
                                  "exposure and outcome (within 500 kb of its top_variant).", range=(0, 1))
    plots: bool = opt(True, "Scatter, forest, funnel and leave-one-out PNGs per pair (--no-plots: none).",
                       secondary="--no-plots")
    max_plots: int = opt(20, "Plot at most this many pairs (most significant first).", range=(0, None))
    seed: int = seed_opt()
    force: bool = force_opt()
    allow_incomplete: bool = allow_incomplete_opt()

    def __post_init__(self):
        if self.coloc_pp4 is not None and self.coloc is None:   # refused at option (and pipeline config) time
            check_coloc_options(self.coloc, self.coloc_pp4)


#: options of the univariable analysis that --multivariable does not implement: given, they are refused where running
#: without them is another analysis than the one asked for (the direction, the instruments kept), else said to be
#: unused (--coloc does nothing without --coloc-pp4; --proxies, --methods leave MVMR-IVW as it is)
_MV_REFUSED = ("reverse", "steiger_filter", "coloc_pp4")
_MV_UNUSED = ("nboot", "presso_sims", "phi", "wald_se", "prevalence", "case_counts", "sample_size", "proxy_r2",
              "coloc", "proxies", "methods", "plots", "max_plots", "seed")


def _mv_flag(name: str) -> str:
    """The command-line flag of an :class:`MROptions` field as a user gives it (``plots`` given is ``--no-plots``)."""
    return "--no-plots" if name == "plots" else "--" + name.replace("_", "-")


def _check_multivariable_options(o: MROptions) -> None:
    """Refuse (:data:`_MV_REFUSED`) or warn about (:data:`_MV_UNUSED`) options ``--multivariable`` does not use,
    instead of running without them (``--multivariable --reverse`` ran forward, ``--steiger-filter`` kept every
    instrument)."""
    default = {f.name: f.default for f in dataclasses.fields(MROptions)}
    given = [n for n in (*_MV_REFUSED, *_MV_UNUSED) if getattr(o, n) != default[n]]
    flag = {n: _mv_flag(n) for n in given}
    refused = [flag[n] for n in given if n in _MV_REFUSED]
    if refused:
        raise InputError(f"edfgen mr --multivariable does not implement {', '.join(refused)} (multivariable IVW "
                         "of the exposures' instruments, forward, without filters): run without "
                         f"{'it' if len(refused) == 1 else 'them'}, or univariable MR")
    if given:
        log.warning("edfgen mr --multivariable: %s not used (options of univariable MR; multivariable IVW "
                    "without proxies)", ", ".join(flag.values()))


def run(o: MROptions):
    """``edfgen mr``: :func:`edfgen.commands.mr.run_mr`; the genotype options are the LD panel."""
    from edfgen.formats.sumstats import MR_REQUIRED, column_test, parse_column_option, reads_sub_folders

    columns = parse_column_option(o.columns) or None
    for option, paths in (("--exposure", o.exposure), ("--outcome", o.outcome), ("--instruments", [o.instruments])):
        check_upstream(paths, option=option, allow_incomplete=o.allow_incomplete,    # folders read as list_phenotypes
                       reads_sub_folders=lambda d: reads_sub_folders(d, column_test(MR_REQUIRED, columns)))
    if o.multivariable:
        from edfgen.commands.mr_multivariable import run_mvmr

        _check_multivariable_options(o)

        p_mv = MRSettings(p_threshold=AUTO_P_THRESHOLD if o.p_threshold is None else o.p_threshold
                          ).instrument_threshold(listed=False)   # (mvmr thresholds a list)
        return run_mvmr(list(o.exposure), list(o.outcome), o.out, p_threshold=p_mv, clump=o.clump,
                        clump_r2=o.clump_r2, clump_kb=o.clump_kb, instruments=o.instruments,
                        ld_bfile=genotype_source(o, bfile=o.ld_bfile, required=False), palindromes=o.palindromes,
                        maf_threshold=o.maf_threshold, columns=columns,
                        force=o.force, parameters=json.loads(json.dumps(asdict(o), default=str)))
    kw = {"methods": tuple(o.methods)} if o.methods else {}
    # no --p-threshold: None, which run_mr resolves (MRSettings.instrument_threshold: a list is taken as given)
    settings = MRSettings(palindromes=o.palindromes, maf_threshold=o.maf_threshold,
                          p_threshold=AUTO_P_THRESHOLD if o.p_threshold is None else o.p_threshold,
                          nboot=o.nboot, seed=o.seed, presso=o.presso_sims > 0, presso_sims=max(o.presso_sims, 1),
                          prevalence=o.prevalence, proxy_r2=o.proxy_r2, clump_r2=o.clump_r2, clump_kb=o.clump_kb,
                          steiger_filter=o.steiger_filter, wald_se=o.wald_se, phi=o.phi, **kw)
    return run_mr(list(o.exposure), list(o.outcome), o.out, settings=settings, instruments=o.instruments,
                  reverse=o.reverse, ld_bfile=genotype_source(o, bfile=o.ld_bfile, required=False),
                  proxies=o.proxies, clump=o.clump, plots=o.plots, max_plots=o.max_plots, force=o.force,
                  columns=columns, case_counts=parse_case_counts(o.case_counts),
                  coloc=o.coloc, coloc_pp4=o.coloc_pp4, sample_sizes=parse_sample_sizes(o.sample_size))

