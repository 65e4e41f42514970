"""Instruments of ``edfgen mr``: LD clumping with TwoSampleMR's defaults, per-instrument strength
(``rsq.exposure``, ``F``) and per-instrument Steiger direction (``rsq.outcome``, ``steiger_dir``,
``steiger_pval``; ``--steiger-filter`` drops instruments that explain more of the outcome than of
the exposure).

The per-variant r of a trait is obtained as TwoSampleMR's ``add_rsq``/``directionality_test`` do
(:func:`variant_r`): a ``variance_explained`` column given by the user, the liability-scale r of a binary
trait from its log odds ratio (``get_r_from_lor``, Lee 2012 eq. 10) when case/control counts are
known, else from p and n (``get_r_from_pn``) or beta, se and n (``get_r_from_bsen``).

References
----------
Hemani G, Tilling K, Davey Smith G (2017) "Orienting the causal relationship between imprecisely
measured traits using GWAS summary data", PLoS Genet 13:e1007081, doi:10.1371/journal.pgen.1007081.
Hemani G et al. (2018) "The MR-Base platform supports systematic causal inference across the human
phenome", eLife 7:e34408, doi:10.7554/eLife.34408 (clumping defaults r² 0.001, 10,000 kb).
Staiger D, Stock JH (1997) Econometrica 65:557, doi:10.2307/2171753 (F < 10: weak instruments).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.commands.clump import clump_files
from edfgen.exceptions import InputError
from edfgen.formats.genotypes.panel import open_panel
from edfgen.formats.sumstats import (MR_REQUIRED, combine_phenotype, expand_sumstats, group_by_phenotype,
                                    load_sumstats, read_header, twosamplemr_map)
from edfgen.formats.sumstats.discovery import phenotype_name
from edfgen.formats.sumstats.twosamplemr import is_harmonised_table
from edfgen.formats.sumstats.zscores import fill_sample_size
from edfgen.kernels.alleles import repeated_rows, variant_allele_keys
from edfgen.formats.tables import PathLike
from edfgen.kernels.clump import ClumpSettings
from edfgen.kernels.validate import numeric_values
from edfgen.kernels.mr import sensitivity as sens
from edfgen.kernels.mr.harmonise import one_row_per_variant

log = logging.getLogger(__name__)

#: mean F-statistic below which a pair's instruments are called weak (Staiger & Stock 1997)
WEAK_F = 10.0

_CASE_COLS = ("n_cases", "ncase", "n_case", "cases", "ncases")
_CONTROL_COLS = ("n_controls", "ncontrol", "n_control", "controls", "ncontrols")


def list_phenotypes(paths: PathLike | Sequence[PathLike], option: str,
                    columns: dict[str, str] | None = None) -> dict[str, list[Path]]:
    """Files and directories (:func:`edfgen.formats.sumstats.expand_sumstats`: in a directory, the files
    with the columns MR needs), grouped by phenotype (:func:`edfgen.formats.sumstats.group_by_phenotype`):
    one phenotype's per-chromosome files (``gwas_chr1/y.tsv.gz`` and ``gwas_chr2/y.tsv.gz``, or
    ``y_chr1.tsv.gz`` ...) form one group."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    if not paths:
        raise InputError(f"{option}: give at least one file or directory")
    files = expand_sumstats(paths, option, required=MR_REQUIRED, columns=columns,
                            hint="; name them with --columns snp=...,ea=...,oa=...,beta=...,se=...")
    return group_by_phenotype(files)


def load_phenotype(files: Sequence[Path], columns: dict[str, str] | None = None, *,
                   role: str | None = None, sample_sizes: dict[str, float] | None = None,
                   only_mr_columns: bool = False, arrow_strings: bool = False) -> pd.DataFrame:
    """One phenotype's summary statistics from one file or several (its chromosomes), each read by
    :func:`~edfgen.formats.sumstats.load_sumstats`, combined in the order given
    (:func:`~edfgen.formats.sumstats.combine_phenotype`: a variant in two of the files is an input error).

    ``role``: ``"exposure"`` or ``"outcome"``, the option the files were given with (a harmonised table's
    ``.exposure``/``.outcome`` columns are read by it). ``sample_sizes``: ``--sample-size`` (``{resolved file:
    N}``), the ``n`` of a file's rows without one (BOLT-LMM, REGENIE without N, FinnGen). ``only_mr_columns``: the
    columns ``edfgen mr`` uses, read fast where a file allows it, ``arrow_strings`` its text kept Arrow-backed
    (:func:`~edfgen.formats.sumstats.load_sumstats`)."""
    return combine_phenotype([fill_sample_size(load_sumstats(f, columns, role, only_mr_columns=only_mr_columns,
                                                             arrow_strings=arrow_strings),
                                               (sample_sizes or {}).get(str(Path(f).resolve())), f) for f in files],
                             files, option=f"--{role}" if role else "", across_files_only=True)


def select_instruments(df: pd.DataFrame, name: str, *, p_threshold: float | None,
                       instruments: pd.DataFrame | None, source: str) -> pd.DataFrame:
    """Rows of an exposure frame used as instruments (instrument list and/or p-value threshold), one per variant
    (:func:`one_row_per_variant`: a multi-allelic site's strongest allele). An instrument repeated on the MR
    columns is used once; one on several rows with the same alleles that disagree (values, or positions: an rsID
    at two positions) is left out with a warning, never one of its rows picked.

    Parameters
    ----------
    df : DataFrame
        The exposure's summary statistics.
    name : str
        The exposure's phenotype name (rows of ``instruments`` naming another phenotype are not used).
    p_threshold : float or None
        Keep rows with ``p_value < p_threshold`` (``None``: no threshold; an ``--instruments`` list is then
        taken as given, as TwoSampleMR's ``read_exposure_data``).
    instruments : DataFrame or None
        :func:`~edfgen.formats.sumstats.twosamplemr.read_instruments`' ``variant_id, phenotype``.
    source : str
        The file(s), for messages.

    Returns
    -------
    DataFrame
        The selected rows, sorted by variant id (TwoSampleMR's ``harmonise_data`` order: its ``merge`` sorts by
        SNP), so the estimates, and the bootstraps' draws (seeded per pair), do not depend on the file's row
        order. Listed instruments left out (not in the file, or ``p >= p_threshold``) are counted in a warning."""
    sel = df
    if instruments is not None:
        ids = instruments
        named = bool(ids["phenotype"].notna().any())
        if named:
            ids = ids[ids["phenotype"] == name]
        listed = set(ids["variant_id"])
        sel = sel[sel["variant_id"].isin(listed)]
        absent = len(listed - set(sel["variant_id"]))
        if absent and named:      # (a list without phenotypes may name other exposures' instruments)
            log.warning("%s: %d of %d listed instruments of %s are not in the file: left out", source, absent,
                        len(listed), name)
    sel = sel[~repeated_rows(sel)]          # a row repeated on the MR columns: one instrument
    # rows that disagree (values, or positions: an rsID dbSNP places twice): which one? neither. Found before the
    # p filter: a strong and a weak row of one variant must not leave the strong one picked silently
    keys = variant_allele_keys(sel)
    many = keys.duplicated(keep=False).to_numpy()
    bad, bad_ids = set(keys[many]), sel.loc[many, "variant_id"].astype(str)
    if p_threshold is not None:
        if "p_value" not in sel.columns:
            raise InputError(f"{source}: --p-threshold needs a p_value column")
        weak = ~(pd.to_numeric(sel["p_value"], errors="coerce") < p_threshold)
        if instruments is not None and weak.any():
            log.warning("%s: %d of %d listed instruments of %s have p >= %g (--p-threshold): left out", source,
                        int(weak.sum()), len(sel), name, p_threshold)
        sel, keys = sel[~weak.to_numpy()], keys[~weak.to_numpy()]
    twice = keys.isin(bad).to_numpy()
    if twice.any():
        gone = sel.loc[twice, "variant_id"].astype(str)
        rows = int((bad_ids == gone.iloc[0]).sum())        # its rows before the p filter
        log.warning("%s: %d instrument(s) of %s on several rows with the same alleles and different values or "
                    "positions (e.g. %r on %d rows): left out, never one of the rows picked", source,
                    gone.nunique(), name, gone.iloc[0], rows)
        sel = sel[~twice]
    one = one_row_per_variant(sel, source=source)
    return one.iloc[np.argsort(one["variant_id"].astype(str).to_numpy(), kind="stable")].reset_index(drop=True)


def _names(items, k: int = 5) -> str:
    """The first ``k`` distinct ``items``, sorted, and how many more there are."""
    items = sorted(set(map(str, items)))
    return ", ".join(items[:k]) + (f" and {len(items) - k} more" if len(items) > k else "")


def check_list_phenotypes(instruments: pd.DataFrame, exposures: Sequence[str], *, path, option: str) -> None:
    """Refuse an instrument list whose ``phenotype`` column names none of the exposures (e.g. renamed files).

    Parameters
    ----------
    instruments : DataFrame
        :func:`~edfgen.formats.sumstats.twosamplemr.read_instruments`' ``variant_id, phenotype``.
    exposures : list of str
        The exposures' phenotype names.
    path : str or Path
        The list, for the message.
    option : str
        The option the exposures were given with (``--exposure``, or ``--outcome`` under ``--reverse``).

    Raises
    ------
    InputError
        One line naming the list's phenotypes and the exposures.
    """
    named = instruments["phenotype"].dropna()
    if named.empty or named.isin(list(exposures)).any():
        return
    raise InputError(f"--instruments {path}: its phenotype column names {_names(named)}, but no {option} file is "
                     f"called that ({_names(exposures)}); rename the files or the list's phenotypes (a list without "
                     "a phenotype column is joined by variant id only)")


def clump_threshold(p_threshold: float | None, selected: Sequence[pd.DataFrame]) -> float:
    """The index-variant threshold (p1) of ``edfgen mr``'s clumping.

    Parameters
    ----------
    p_threshold : float or None
        ``--p-threshold``; ``None`` where an ``--instruments`` list is taken as given.
    selected : list of DataFrame
        Each exposure's selected rows (:func:`select_instruments`).

    Returns
    -------
    float
        ``p_threshold``, else the largest p of the selected rows (so that every listed instrument can lead a
        clump), within (0, 1].
    """
    if p_threshold is not None:
        return p_threshold
    p = [pd.to_numeric(s["p_value"], errors="coerce").max() for s in selected if len(s) and "p_value" in s.columns]
    p = [v for v in p if np.isfinite(v)]
    return float(np.clip(max(p), 1e-300, 1.0)) if p else 1.0


def keep_clumped(sel: pd.DataFrame, clumped: pd.DataFrame, name: str, *, listed_in: str | None = None,
                 not_in_panel: pd.DataFrame | None = None, thinned: list | None = None) -> pd.DataFrame:
    """The rows of exposure ``name`` that lead a clump of that exposure's own sumstats.

    Parameters
    ----------
    sel : DataFrame
        The exposure's selected rows (:func:`select_instruments`).
    clumped : DataFrame
        ``variant_id, phenotype`` of :func:`clump_instruments` over every exposure.
    name : str
        The exposure's phenotype name.
    listed_in : str, optional
        The exposure file(s), where ``sel`` is an ``--instruments`` list: the listed instruments that clumping
        removed are then counted in INFO lines, those not in the LD panel (named, up to five) apart from
        those in LD with a stronger variant.
    not_in_panel : DataFrame, optional
        ``variant_id, phenotype`` of the variants the LD panel lacks (:func:`clump_instruments`).
    thinned : list, optional
        Where given, the count of listed instruments in LD with a stronger variant is appended to it as
        ``(listed_in, name, left_out, listed)`` instead of said (:func:`say_thinned` says them for all exposures).

    Returns
    -------
    DataFrame
        ``sel`` less the variants that the exposure's clumping removed (another exposure's index variants
        are not this exposure's instruments).
    """
    ids = set(clumped.loc[clumped["phenotype"] == name, "variant_id"])
    vid = sel["variant_id"].astype(str)
    kept = vid.isin(ids)
    if listed_in is not None and not kept.all():
        # INFO lines, as TwoSampleMR's clump_data says it: thinning a list is what clumping is for (in edfgen
        # run, clumps.tsv's r2 0.1 index variants re-clumped at r2 0.001 gave 90 warnings on every demo); the
        # variants missing from the panel are also in clumping's warning
        absent = set() if not_in_panel is None else set(
            not_in_panel.loc[not_in_panel["phenotype"] == name, "variant_id"].astype(str))
        missing = ~kept & vid.isin(absent)
        if missing.any():
            log.info("%s: %d of %d listed instruments of %s are not in the LD panel (%s): left out", listed_in,
                     int(missing.sum()), len(sel), name, _names(vid[missing]))
        if (~kept & ~missing).any():
            said = (listed_in, name, int((~kept & ~missing).sum()), len(sel))
            if thinned is None:
                say_thinned([said])
            else:
                thinned.append(said)
    return sel[kept].reset_index(drop=True)


def say_thinned(thinned: Sequence[tuple[str, str, int, int]], *, most: int = 5) -> None:
    """Say (INFO) how many listed instruments clumping left out as in LD with a stronger variant: one line per
    exposure for up to ``most`` exposures, else one line for all (the demo's 128 EDFs gave 91 lines).

    Parameters
    ----------
    thinned : sequence of (str, str, int, int)
        ``(file, exposure, left_out, listed)`` of :func:`keep_clumped`.
    most : int
        The most exposures said one by one.
    """
    if len(thinned) <= most:
        for listed_in, name, out, n in thinned:
            log.info("%s: %d of %d listed instruments of %s are in LD with a stronger variant (clumping): left "
                     "out", listed_in, out, n, name)
        return
    out, n = sum(t[2] for t in thinned), sum(t[3] for t in thinned)
    shown = ", ".join(f"{name} {k} of {m}" for _, name, k, m in thinned[:3])
    log.info("%d of %d listed instruments of %d exposures are in LD with a stronger variant (clumping): left out "
             "(%s, ...)", out, n, len(thinned), shown)


def clump_instruments(files: Sequence[Path], ld_bfile, *, p_threshold: float, r2: float, kb: float,
                      columns: dict[str, str] | None = None,
                      role: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Independent instruments by LD clumping (:func:`edfgen.commands.clump.clump_files`, plink1.9
    ``--clump`` rules: index p <= ``p_threshold``; a variant with r² > ``r2`` within ``kb`` kb joins
    the clump).

    Parameters
    ----------
    files : list of Path
        Summary-statistics files (one phenotype's chromosomes are combined).
    ld_bfile : str, Path or GenotypeSource
        A PLINK 1 prefix or a :class:`~edfgen.formats.genotypes.source.GenotypeSource` (any format).
    p_threshold, r2, kb : float
        Index-variant threshold, LD r² and window (kb).
    columns : dict, optional
        ``--columns``.
    role : str, optional
        The option the files were given with (a harmonised table is clumped on that trait's p-values,
        :func:`~edfgen.formats.sumstats.twosamplemr_map`).

    Returns
    -------
    (DataFrame, DataFrame)
        ``variant_id, phenotype`` of the index variants, and of the variants with p <= ``p_threshold`` that
        the LD panel lacks (clumping's rejects: they lead no clump).
    """
    cmap = dict(columns or {})
    for f in files:
        names = read_header(f)
        if is_harmonised_table(names):
            cmap = {**twosamplemr_map(names, role), **cmap}
    with open_panel(ld_bfile) as panel:
        clumps, _, rejects = clump_files(list(files), panel,
                                         settings=ClumpSettings(p1=p_threshold, p2=1.0, r2=r2, kb=kb),
                                         columns=cmap or None,
                                         rejects_note="they are not used as instruments (harmonised.tsv does not "
                                                      "list them; give a panel that has them)")
    return tuple(pd.DataFrame({"variant_id": t["variant_id"].astype(str), "phenotype": t["phenotype"]})
                 for t in (clumps, rejects))


def clump_listed(selected: Sequence[tuple[str, pd.DataFrame]], ld_bfile, *, r2: float,
                 kb: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Independent instruments of a list taken as given: each exposure's listed rows alone are clumped (as
    TwoSampleMR's ``clump_data`` on the rows of ``read_exposure_data``), so that an unlisted variant of the
    exposure file cannot absorb a listed one.

    Parameters
    ----------
    selected : list of (str, DataFrame)
        Each exposure's name and its listed rows (:func:`select_instruments`).
    ld_bfile : str, Path or GenotypeSource
        The LD panel.
    r2, kb : float
        ``--clump-r2``, ``--clump-kb``.

    Returns
    -------
    (DataFrame, DataFrame)
        ``variant_id, phenotype`` of the rows that lead a clump (every listed row may: p1 = 1), and of those
        the LD panel lacks.
    """
    with tempfile.TemporaryDirectory(prefix="edfgen-mr-listed-") as tmp:
        files, names = [], {}
        for i, (name, sel) in enumerate(selected):
            if sel.empty:
                continue
            f = Path(tmp) / f"{name}.tsv"      # named as the exposure, so clumping's warnings name it
            if phenotype_name(f) != name or name in names or os.sep in name:
                f = Path(tmp) / f"exposure{i}.tsv"
            sel.to_csv(f, sep="\t", index=False)
            files.append(f)
            names[phenotype_name(f)] = name
        if not files:
            none = pd.DataFrame({"variant_id": pd.Series(dtype=str), "phenotype": pd.Series(dtype=str)})
            return none, none
        clumped, not_in_panel = clump_instruments(files, ld_bfile, p_threshold=1.0, r2=r2, kb=kb)
    return tuple(t.assign(phenotype=t["phenotype"].map(names)) for t in (clumped, not_in_panel))


def user_r2(df: pd.DataFrame, *, source: str = "summary statistics", instruments: bool = True) -> pd.Series | None:
    """The user's per-variant variance explained (``variance_explained``: TwoSampleMR's ``rsq.exposure`` /
    ``rsq.outcome``, or a column mapped by ``--columns rsq=NAME``) indexed by variant id, or ``None``.

    A bare ``r2`` / ``rsq`` / ``r_squared`` column is not used (it is usually imputation quality, minimac's
    ``Rsq``: read as r² with the trait it turned Steiger's direction around); it is named in a warning.

    Raises
    ------
    InputError
        A value outside [0, 1), naming ``source`` and the variant, or, for ``instruments`` (independent
        variants: clumped or an instrument list), values whose sum is 1 or more (else a warning).
    """
    if "variance_explained" not in df.columns:
        bare = [c for c in df.columns if str(c).lower() in ("r2", "rsq", "r_squared")]
        if bare:
            log.warning("%s: column %r is not read as variance explained (it is usually imputation quality); "
                        "for Steiger's r² name it variance_explained or give --columns rsq=%s", source, bare[0], bare[0])
        return None
    v = numeric_values(df["variance_explained"], source=source, column="variance_explained",
                       ids=df["variant_id"].astype(str).to_numpy(), id_name="variant", lo=0.0, hi=1.0, hi_open=True)
    if np.nansum(v) >= 1:
        what = (f"{source}: column 'variance_explained' sums to {np.nansum(v):.3g} over {int(np.isfinite(v).sum())} "
                f"variants (over independent variants it adds up to less than 1: is it imputation quality?)")
        if instruments:
            raise InputError(what)
        log.warning("%s; the variants are not clumped (--no-clump), so correlated ones may explain the same "
                    "variance", what)
    return pd.Series(v, index=df["variant_id"].astype(str)).groupby(level=0).first()


def _median(col: pd.Series) -> float:
    v = pd.to_numeric(col, errors="coerce").dropna()
    return float(v.median()) if len(v) else float("nan")


def case_counts(df: pd.DataFrame) -> tuple | None:
    """``(n_cases, n_controls)`` of a binary trait's sumstats (medians of its columns), or None."""
    cols = {str(c).lower(): c for c in df.columns}
    c = next((cols[x] for x in _CASE_COLS if x in cols), None)
    if c is None:
        return None
    ncase = _median(df[c])
    d = next((cols[x] for x in _CONTROL_COLS if x in cols), None)
    if d is not None:
        nctrl = _median(df[d])
    elif "n" in df.columns:
        nctrl = _median(df["n"]) - ncase
    else:
        return None
    return (ncase, nctrl) if np.isfinite(ncase) and np.isfinite(nctrl) and ncase > 0 and nctrl > 0 else None


def variant_r(h: pd.DataFrame, which: str, cases: tuple | None, prevalence: float | None,
              r2: pd.Series | None = None):
    """Per-variant r of ``which`` (``exposure``/``outcome``) in a harmonised table, its sample sizes
    and a label of how r was obtained.

    Order: r² given by the user (a ``variance_explained`` column, :func:`user_r2`), binary trait (log odds, case/control
    counts, ``prevalence`` or else the case fraction: TwoSampleMR ``get_r_from_lor``), p-value and n
    (``get_r_from_pn``; a p below 1e-300, an underflow, from beta/se and n instead), beta/se and n
    (``get_r_from_bsen``).
    """
    b, se = h[f"beta_{which}"].to_numpy(float), h[f"se_{which}"].to_numpy(float)
    if r2 is not None:
        v = r2.reindex(h["variant_id"].astype(str)).to_numpy(float)
        if np.isfinite(v).all():
            return np.sqrt(v), h[f"n_{which}"].to_numpy(float), "user_r2"
    p, n = h[f"p_{which}"].to_numpy(float), h[f"n_{which}"].to_numpy(float)
    eaf = h[f"eaf_{which}"].to_numpy(float)
    if cases is not None:
        ncase, nctrl = cases
        prev = prevalence if prevalence is not None else ncase / (ncase + nctrl)
        if np.isfinite(eaf).all():
            return sens.r_from_lor(b, eaf, ncase, nctrl, prev), np.full(b.size, ncase + nctrl), "lor_liability"
        return np.full(b.size, np.nan), n, "missing_eaf"
    if np.isfinite(p).all() and np.isfinite(n).all():
        r = sens.r_from_pn(np.maximum(p, 1e-300), n)
        # p underflowed to 0 (or below 1e-300): its F quantile is capped there, so r would be too small; beta,
        # se and n give it (get_r_from_bsen)
        tiny = p < 1e-300
        if tiny.any():
            r[tiny] = np.abs(sens.r_from_bsen(b[tiny], se[tiny], n[tiny]))
        return r, n, "p_n"
    if np.isfinite(n).all():
        return sens.r_from_bsen(b, se, n), n, "b_se_n"
    return np.full(b.size, np.nan), n, "missing_n"


def add_instrument_columns(h: pd.DataFrame, *, cases_exposure: tuple | None, cases_outcome: tuple | None,
                           prevalence: float | None, r2_exposure: pd.Series | None = None,
                           r2_outcome: pd.Series | None = None, steiger_filter: bool = False) -> pd.DataFrame:
    """Add ``rsq_exposure``, ``rsq_outcome``, ``steiger_dir`` and ``steiger_pval`` (TwoSampleMR
    ``steiger_filtering``: per variant, ``r_exp > r_out`` and the two-sided p of the Fisher-z comparison
    of two independent correlations) to a harmonised table; ``steiger_filter`` sets ``mr_keep`` False
    with reason ``steiger_reverse`` where ``steiger_dir`` is False. Rows without an outcome are NaN."""
    rows = h["reason"] != "missing_in_outcome"
    r_x, n_x, _ = variant_r(h, "exposure", cases_exposure, prevalence, r2_exposure)
    sub = h[rows]
    r_y, n_y = np.full(len(h), np.nan), np.full(len(h), np.nan)
    if rows.any():
        ry, ny, _ = variant_r(sub, "outcome", cases_outcome, prevalence, r2_outcome)
        r_y[rows.to_numpy()], n_y[rows.to_numpy()] = ry, ny
    direction, pval = sens.steiger_per_variant(r_x, r_y, n_x, n_y)
    ok = np.isfinite(pval)
    # one new frame joined (a copy of h with four columns), not four insertions and a masked write per pair
    h = pd.concat([h, pd.DataFrame({"rsq_exposure": r_x ** 2, "rsq_outcome": r_y ** 2,
                                    "steiger_dir": pd.arrays.BooleanArray(np.where(ok, direction, False).astype(bool),
                                                                          ~ok),
                                    "steiger_pval": pval}, index=h.index)], axis=1)
    if steiger_filter:
        drop = h["mr_keep"].to_numpy(bool) & ok & ~direction
        h.loc[drop, "mr_keep"] = False
        h.loc[drop, "reason"] = "steiger_reverse"
        if drop.any():
            log.info("%s -> %s: --steiger-filter dropped %d instrument(s) explaining more of the outcome",
                     h["exposure"].iloc[0], h["outcome"].iloc[0], int(drop.sum()))
    return h


def warn_weak(h: pd.DataFrame) -> float:
    """Mean F of a pair's kept instruments; a warning when it is below :data:`WEAK_F`."""
    f = h.loc[h["mr_keep"], "f_stat"].to_numpy(float)
    mean_f = float(f.mean()) if f.size else float("nan")
    if f.size and mean_f < WEAK_F:
        log.warning("%s -> %s: weak instruments, mean F = %.1f < %g over %d variants (estimates biased "
                    "towards the observational association)", h["exposure"].iloc[0], h["outcome"].iloc[0],
                    mean_f, WEAK_F, f.size)
    return mean_f
