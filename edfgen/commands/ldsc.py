"""``edfgen ldsc``: SNP heritability, LD-score intercept and genetic correlations of summary statistics.

LD scores are computed in-sample from the autosomes 1-22 of a genotype panel (``--bfile/--pfile/--bgen``, window
``--ld-wind-cm`` or ``--ld-wind-kb``; written as ldsc writes them to ``ldscores/<chr>.l2.ldscore.gz``,
``.l2.M``, ``.l2.M_5_50``, so ``ldsc --ref-ld-chr OUT/ldscores/`` reads them) or read from ldsc files
(``--ref-ld-chr``, ``--w-ld-chr``). In-sample LD scores serve as both reference and weight LD scores.
Each phenotype's z-scores are matched to the LD scores by variant id, in LD-score order (chromosome,
position), and regressed as ldsc does (:mod:`edfgen.kernels.ldsc`): ``h2.tsv`` and, with ``--rg``,
``rg.tsv`` for every pair of phenotypes (alleles aligned, strand-ambiguous and mismatched variants
dropped, as ``ldsc --rg``; all phenotypes are aligned once and the pairs fitted in batches,
:func:`genetic_correlations`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from edfgen.commands.ldsc_inputs import (AUTOSOMES, AlignedZ, align_zscores, allele_classes,  # noqa: F401
                                         autosomes_of, check_rg_builds, insample_ldscores)  # (re-exported)
from edfgen.commands.options import GenotypeOptions, allow_incomplete_opt, force_opt, genotype_source, opt, out_opt
from edfgen.commands.sumstats_options import (case_counts_opt, check_sumstats_options, columns_opt, parse_case_counts,
                                              parse_sample_sizes, sample_size_opt)
from edfgen.exceptions import InputError
from edfgen.formats.genotypes.panel import genotype_parameters, panel_fingerprint
from edfgen.formats.ldscore import read_ldscores_chr
from edfgen.formats.manifest import check_upstream, plan_outputs, recording
from edfgen.formats.sumstats import declared_builds, parse_column_option, reads_sub_folders
from edfgen.formats.sumstats.zscores import (ZStats, check_prevalence_n, read_zstats, rows_by_id,
                                             say_sample_size_convention, zstats_files, zstats_test)
from edfgen.formats.tables import prepare_out_dir, write_table
from edfgen.kernels.ldsc import N_BLOCKS, TWO_STEP, H2Result, LDRegressionError, ldsc_h2, ldsc_rg, to_liability
from edfgen.kernels.ldsc_batch import gencov_rg_batch
from edfgen.progress import progress
from edfgen.reprs import ReadableRepr

log = logging.getLogger(__name__)

H2_COLUMNS = ["phenotype", "n", "mean_chi2", "lambda_gc", "h2", "h2_se", "intercept", "intercept_se", "ratio",
              "ratio_se", "n_variants"]
RG_COLUMNS = ["phenotype_1", "phenotype_2", "rg", "rg_se", "z", "p_value", "gcov_int"]
#: the fewest variants a phenotype's LD score regression is run on: a jackknife over fewer gives SEs larger
#: than any h² (ldsc itself warns below 200,000)
MIN_VARIANTS = 200

@dataclass(frozen=True)
class LdscOptions(GenotypeOptions):
    """``edfgen ldsc`` (:func:`run_ldsc`)."""

    command: ClassVar[str] = "ldsc"
    genotypes_after: ClassVar[str | None] = "more_sumstats"
    cli_omit: ClassVar[tuple[str, ...]] = ("mt", "min_info")
    sumstats: tuple[str, ...] = opt((), "Summary statistics (GWAS-SSF or any layout mr reads): files, folders or a "
                                    "quoted glob.", multiple=True, required=True, path="any")
    more_sumstats: tuple[str, ...] = opt((), None, argument=True, path="any")
    ld_wind_cm: float | None = opt(None, "LD score window radius in cM (the .bim's centimorgans); default 1 cM "
                                   "when the .bim has them, else --ld-wind-kb 1000.", range=(0, None),
                                   open=(True, False))
    ld_wind_kb: float | None = opt(None, "LD score window radius in kb.", range=(0, None), open=(True, False))
    ref_ld_chr: str | None = opt(None, "ldsc LD scores PREFIX{chr}.l2.ldscore.gz (+ .l2.M_5_50), chromosomes 1-22, "
                                 "instead of in-sample ones ('@' in PREFIX stands for the chromosome).", path="text")
    w_ld_chr: str | None = opt(None, "ldsc regression-weight LD scores (default: --ref-ld-chr).", path="text")
    rg: bool = opt(False, "Genetic correlation of every pair of phenotypes (rg.tsv).")
    rg_across: bool = opt(False, "With --rg: only pairs of phenotypes from different --sumstats inputs (e.g. EDFs x "
                          "diseases and EDFs x biomarkers, not EDF x EDF).")
    prevalence: str | None = opt(None, "Population prevalence for liability-scale h² of binary traits (files with "
                                 "n_cases): one number for all, or NAME=K,NAME=K.")
    n_blocks: int = opt(N_BLOCKS, "Jackknife blocks.", range=(2, None))
    two_step: float = opt(TWO_STEP, "Chi² cut-off of the two-step h² estimator (intercept from chi² below it); "
                          "rg uses one-step fits, as ldsc --rg does by default.", range=(0, None), open=(True, False))
    columns: str | None = columns_opt()
    sample_size: tuple[str, ...] = sample_size_opt()
    case_counts: tuple[str, ...] = case_counts_opt()
    out: str | None = out_opt()
    force: bool = force_opt()
    allow_incomplete: bool = allow_incomplete_opt()


@dataclass(frozen=True, repr=False)
class LdscRun(ReadableRepr):
    """What :func:`run_ldsc` wrote: ``h2`` (:data:`H2_COLUMNS`), ``rg`` (:data:`RG_COLUMNS`, None without --rg),
    the LD scores used (``CHR, SNP, BP, L2, W``) and ``m`` (M_5_50).

    Attributes
    ----------
    out_dir : Path
    h2, rg : DataFrame
        ``h2.tsv`` and ``rg.tsv`` (``rg`` None without ``rg``).
    ldscores : DataFrame
    m : float
    """

    out_dir: Path
    h2: pd.DataFrame
    rg: pd.DataFrame | None
    ldscores: pd.DataFrame
    m: float


# ---------------------------------------------------------------------------------------------- regressions
def _merge(ld: pd.DataFrame, z: ZStats) -> pd.DataFrame:
    """``ld`` rows (in their order) with the phenotype's ``z``, ``n``, alleles, matched by variant id (or rsid:
    :func:`~edfgen.formats.sumstats.zscores.rows_by_id`)."""
    twice = ld["SNP"].duplicated(keep=False).to_numpy()
    if twice.any():     # a panel's split multi-allelic site: which of its LD scores a z belongs to is unknown
        log.warning("ldsc: %d LD-score rows name a variant id another row names too (e.g. %s): left out",
                    int(twice.sum()), ld["SNP"].to_numpy()[twice][0])
        ld = ld[~twice].reset_index(drop=True)
    index = pd.Index(ld["SNP"].astype(object))
    t, _ = rows_by_id(z, index)
    t = t.sort_values("pos", kind="stable")
    out = ld.iloc[t["pos"].to_numpy()].reset_index(drop=True)
    for c in ("variant_id", "z", "n", "effect_allele", "other_allele"):
        out[c] = t[c].to_numpy()
    return out


def parse_prevalence(text: str | None, names) -> dict[str, float]:
    """``--prevalence``: one number for every phenotype, or ``NAME=K,NAME=K``.

    Parameters
    ----------
    text : str or None
        ``--prevalence``.
    names : iterable of str
        Phenotype names (a dict iterates its keys).

    Returns
    -------
    dict of str to float
        Phenotype -> population prevalence (empty without ``text``).

    Raises
    ------
    InputError
        Not a number or ``NAME=K`` list, a ``K`` outside (0, 1), or a ``NAME`` that is no phenotype read (a typo
        would leave that trait's h² on the observed scale).
    """
    if not text:
        return {}
    names = list(names)
    try:
        if "=" not in text:
            out = {n: float(text) for n in names}
        else:
            out = {}
            for part in text.split(","):
                k, v = part.split("=", 1)
                out[k.strip()] = float(v)
    except ValueError:
        raise InputError(f"--prevalence {text!r}: expected a number or NAME=K,NAME=K") from None
    bad = next((f"{k}={v:g}" if "=" in text else repr(text) for k, v in out.items() if not 0 < v < 1), None)
    if bad:
        raise InputError(f"--prevalence {bad}: a population prevalence must be in (0, 1)")
    unknown = [k for k in out if k not in names]
    if unknown:
        raise InputError(f"--prevalence {unknown[0]}=...: no phenotype {unknown[0]!r} (phenotypes: "
                         f"{', '.join(names[:12])}{', ...' if len(names) > 12 else ''})")
    return out


def h2_row(name: str, res: H2Result) -> dict:
    """The ``h2.tsv`` row of a fitted phenotype.

    Parameters
    ----------
    name : str
        Phenotype name.
    res : H2Result
        Its fit.

    Returns
    -------
    dict
        The ``h2.tsv`` row (:data:`H2_COLUMNS`).
    """
    return {"phenotype": name, "n": res.n, "mean_chi2": res.mean_chi2, "lambda_gc": res.lambda_gc, "h2": res.h2,
            "h2_se": res.h2_se, "intercept": res.intercept, "intercept_se": res.intercept_se, "ratio": res.ratio,
            "ratio_se": res.ratio_se, "n_variants": res.n_snps}


def na_h2_row(name: str, z: np.ndarray, n: np.ndarray) -> dict:
    """The ``h2.tsv`` row of a phenotype whose regression cannot be fitted: n, mean chi² and lambda_gc, the rest NA.

    Parameters
    ----------
    name : str
        Phenotype name.
    z, n : array [n_snp]
        Its matched z-scores and sample sizes.

    Returns
    -------
    dict
    """
    chi2 = np.square(np.asarray(z, dtype=np.float64))
    if chi2.size == 0:                  # no variant matched: nothing to summarise
        return {"phenotype": name, **{c: float("nan") for c in H2_COLUMNS[1:]}, "n_variants": 0}
    return {"phenotype": name, "n": float(np.mean(n)), "mean_chi2": float(np.mean(chi2)),
            "lambda_gc": float(np.median(chi2) / 0.4549), **{c: float("nan") for c in H2_COLUMNS[4:]},
            "n_variants": int(chi2.size)}


def heritability(zs: dict[str, ZStats], ld: pd.DataFrame, m: float, *, prevalence: dict[str, float] | None = None,
                 two_step: float = TWO_STEP, n_blocks: int = N_BLOCKS) -> pd.DataFrame:
    """``h2.tsv``: one LD score regression per phenotype (``ld`` has ``SNP, L2, W``).

    A phenotype matching fewer than :data:`MIN_VARIANTS` LD-score variants, or whose regression cannot be fitted
    (:class:`~edfgen.kernels.ldsc.LDRegressionError`, e.g. every p-value 1), gets a row of NA (warned) and the
    others are fitted; when no phenotype has enough variants, that is a one-line :class:`InputError`.

    Parameters
    ----------
    zs : dict of str to ZStats
        Phenotype -> z-scores and N.
    ld : DataFrame
        LD scores (``SNP``, ``L2``, ``W``) in chromosome, position order.
    m : float
        ``M_5_50`` of the LD scores.
    prevalence : dict of str to float, optional
        Population prevalence of binary phenotypes (liability-scale h²).
    two_step : float, default 30
        chi² cut-off of the two-step estimator.
    n_blocks : int, default 200
        Jackknife blocks.

    Returns
    -------
    DataFrame
        ``h2.tsv`` (:data:`H2_COLUMNS`), one row per phenotype.

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291. doi:10.1038/ng.3211
    """
    rows, too_few = [], []
    for name, z in zs.items():
        d = _merge(ld, z)
        if len(d) < MIN_VARIANTS:
            too_few.append(f"{z.files[0]}: phenotype {name}: {len(d)} variant(s) match the LD scores by variant id; "
                           f"LD score regression needs at least {MIN_VARIANTS}")
            if len(too_few) == len(zs):
                raise InputError(too_few[0] + ("" if len(zs) == 1 else f" (and so do the other {len(zs) - 1})"))
            log.warning("%s; its h2.tsv row is NA", too_few[-1])
            rows.append(na_h2_row(name, d["z"], d["n"]))
            continue
        try:
            res = ldsc_h2(d["z"], d["L2"], d["W"], d["n"], m, two_step=two_step, n_blocks=n_blocks)
        except LDRegressionError as e:
            log.warning("ldsc %s (%s): %s; its h2.tsv row is NA", name, z.files[0], e)
            rows.append(na_h2_row(name, d["z"], d["n"]))
            continue
        k = (prevalence or {}).get(name)
        if k is not None:
            if not z.binary:
                log.warning("--prevalence for %s ignored: its files have no n_cases (not a binary trait)", name)
            else:
                log.info("%s: h² on the liability scale, population prevalence %g, sample prevalence %.4g", name, k,
                         z.sample_prevalence)
                say_sample_size_convention(z)
                res = to_liability(res, z.sample_prevalence, k, sample_pq=z.sample_pq)
        rows.append(h2_row(name, res))
    return pd.DataFrame(rows, columns=H2_COLUMNS).astype({"n_variants": "int64"})


#: array elements (pairs x variants) of one batch of :func:`~edfgen.kernels.ldsc_batch.gencov_rg_batch`
_BATCH_ELEMENTS = 2_000_000


def _rg_na_reason(names: tuple[str, str], fits: tuple[H2Result | None, H2Result | None]) -> tuple[str, str] | None:
    """Why ldsc gives a pair NA, ``(phenotype, reason)``, or None: a phenotype whose h² cannot be fitted, an h²
    <= 0 on the pair's variants, or a leave-one-block-out h² product <= 0 (ldsc stops there; NA here)."""
    for name, r in zip(names, fits):
        if r is None:
            return name, "its h² regression cannot be fitted"
    for name, r in zip(names, fits):
        if r.h2 <= 0:
            return name, f"its h² on the {r.n_snps} variant(s) shared with {names[1 - names.index(name)]} is {r.h2:.3g}"
    if np.any(fits[0].regression.tot_delete * fits[1].regression.tot_delete <= 0):
        return names[0], f"a leave-one-block-out h² of it or of {names[1]} is <= 0"
    return None


def _h2_or_none(name: str, z, ld, w, n, m: float, n_blocks: int) -> H2Result | None:
    """The one-step h² fit ldsc --rg makes of one phenotype on a pair's variants; None where it cannot be fitted."""
    try:
        return ldsc_h2(z, ld, w, n, m, two_step=None, n_blocks=n_blocks)
    except LDRegressionError as e:
        log.debug("rg: %s: %s", name, e)
        return None


def _log_rg_na(na: dict[str, list[str]], shown: int = 5) -> None:
    """One INFO line (shown by default) for the pairs that are NA in rg.tsv, by phenotype (``na``: phenotype ->
    reasons, one per pair), the first ``shown`` with a reason. An NA rg is ldsc's documented answer for a trait
    without heritability (the demo's diseases): said, not a warning to check for every EDF it meets."""
    if not na:
        return
    parts = [f"{len(r)} pair(s) with {name} are NA ({r[0]}{f'; and {len(r) - 1} more' if len(r) > 1 else ''})"
             for name, r in list(na.items())[:shown]]
    more = f"; and the pairs of {len(na) - shown} more phenotype(s)" if len(na) > shown else ""
    log.info("ldsc --rg: %d pair(s) NA in rg.tsv, as ldsc gives them (an h² <= 0 or not fitted): %s%s",
             sum(len(r) for r in na.values()), "; ".join(parts), more)


def _fit_pairs(al: AlignedZ, members: list[int], pairs: list[tuple[int, int]], rows: np.ndarray, l2, w, m: float,
               *, two_step: float | None, n_blocks: int, na: dict[str, list[str]]) -> dict[int, tuple]:
    """rg of the pairs ``members`` (indices into ``pairs``) sharing the variants ``rows``: ``{pair: (rg, rg_se,
    z, p, gcov_int)}``; NA pairs are noted in ``na`` (:func:`_rg_na_reason`)."""
    found: dict[int, tuple] = {}
    names = al.names
    nan5 = (float("nan"),) * 5
    if two_step is not None:
        for p in members:
            i, j = pairs[p]
            try:
                r = ldsc_rg(al.z[i, rows], al.z[j, rows], l2, w, al.n[i, rows], al.n[j, rows], m, two_step=two_step,
                            n_blocks=n_blocks)
                fits = (r.h2_1, r.h2_2)
                found[p] = (r.rg, r.rg_se, r.z, r.p_value, r.gencov.intercept)
            except LDRegressionError:
                fits, found[p] = (None, None), nan5
            why = _rg_na_reason((names[i], names[j]), fits)
            if why:
                na.setdefault(why[0], []).append(why[1])
        return found
    zr, nr = (al.z, al.n) if len(rows) == al.z.shape[1] else (al.z[:, rows], al.n[:, rows])
    fits = {c: _h2_or_none(names[c], zr[c], l2, w, nr[c], m, n_blocks)
            for c in sorted({c for p in members for c in pairs[p]})}
    ok, explained = [], set()
    for p in members:
        i, j = pairs[p]
        why = _rg_na_reason((names[i], names[j]), (fits[i], fits[j]))
        if why:
            na.setdefault(why[0], []).append(why[1])
            explained.add(p)
        if fits[i] is None or fits[j] is None:
            found[p] = nan5
        else:
            ok.append(p)
    step = max(1, _BATCH_ELEMENTS // len(rows))
    for k in range(0, len(ok), step):
        chunk = ok[k:k + step]
        c1, c2 = [pairs[p][0] for p in chunk], [pairs[p][1] for p in chunk]
        r1, r2 = [fits[c] for c in c1], [fits[c] for c in c2]
        b = gencov_rg_batch(
            zr[c1], zr[c2], l2, w, nr[c1], nr[c2], m, h1=np.array([r.h2 for r in r1]),
            h2=np.array([r.h2 for r in r2]), int1=np.array([r.intercept for r in r1]),
            int2=np.array([r.intercept for r in r2]), h1_delete=np.stack([r.regression.tot_delete for r in r1]),
            h2_delete=np.stack([r.regression.tot_delete for r in r2]), n_blocks=n_blocks)
        for q, p in enumerate(chunk):
            found[p] = (b.rg[q], b.rg_se[q], b.z[q], b.p_value[q], b.gcov_int[q])
            if b.weights_failed[q] and p not in explained:
                low, other = sorted(pairs[p], key=lambda c: fits[c].intercept)
                na.setdefault(names[low], []).append(
                    f"its h² intercept on the variants shared with {names[other]} is {fits[low].intercept:.3g}, "
                    "which makes ldsc's genetic-covariance weights negative (ldsc: 'Weights must be > 0')")
    return found


def rg_pairs(names: list[str], groups: dict[str, int] | None = None) -> list[tuple[int, int]]:
    """The pairs ``(i, j)``, ``i < j``, of ``names`` that ``--rg`` computes: every pair, or with ``groups``
    (``--rg-across``: phenotype -> input group) only pairs from different groups.

    Parameters
    ----------
    names : list of str
        Phenotypes.
    groups : dict of str to int, optional
        :func:`input_groups`.

    Returns
    -------
    list of (int, int)
    """
    return [(i, j) for i, j in combinations(range(len(names)), 2)
            if groups is None or groups.get(names[i]) != groups.get(names[j])]


def genetic_correlations(zs: dict[str, ZStats], ld: pd.DataFrame, m: float, *, two_step: float | None = None,
                         n_blocks: int = N_BLOCKS, groups: dict[str, int] | None = None) -> pd.DataFrame:
    """``rg.tsv``: cross-trait LD score regression of every pair of phenotypes (with ``groups``, a
    phenotype -> group map, only of pairs from different groups).

    Each pair uses the LD-score variants both phenotypes have with matching alleles (ldsc's ``--rg`` rule,
    :func:`allele_classes`), the second phenotype's z turned to the first's allele. The z-scores are aligned
    once (:func:`align_zscores`); phenotypes whose allele classes agree on every variant give every pair
    between them the same variants, so each phenotype's h² fit on a variant set is made once and the pairs
    of a variant set are fitted together (:func:`_fit_pairs`,
    :func:`~edfgen.kernels.ldsc_batch.gencov_rg_batch`). A pair sharing fewer than :data:`MIN_VARIANTS`
    variants is left out (warned); a pair ldsc gives NA (an h² <= 0, or not fitted) is NA, with one warning
    per phenotype saying why.

    ``two_step=None`` (one-step fits) is what ``ldsc --rg`` does by default: its two-step default is set only
    when ``--intercept-h2`` is None, which ``--rg`` has already turned into a list of Nones. With a
    ``two_step`` cut-off each pair is fitted by :func:`~edfgen.kernels.ldsc.ldsc_rg`.

    Parameters
    ----------
    zs : dict of str to ZStats
        Phenotype -> z-scores and N.
    ld : DataFrame
        LD scores (``SNP``, ``L2``, ``W``) in chromosome, position order.
    m : float
        ``M_5_50`` of the LD scores.
    two_step : float, optional
        chi² cut-off of two-step fits (None: one-step, ldsc ``--rg``'s default).
    n_blocks : int, default 200
        Jackknife blocks.
    groups : dict of str to int, optional
        Phenotype -> input group; only pairs across groups (:func:`input_groups`).

    Returns
    -------
    DataFrame
        ``rg.tsv`` (:data:`RG_COLUMNS`).

    References
    ----------
    Bulik-Sullivan B et al. (2015) Nat Genet 47:1236. doi:10.1038/ng.3406
    """
    names = list(zs)
    pairs = rg_pairs(names, groups)
    al = align_zscores(zs, ld)
    l2_all, w_all = ld["L2"].to_numpy(np.float64), ld["W"].to_numpy(np.float64)
    kinds: dict[bytes, int] = {}
    kind = [kinds.setdefault(al.cls[j].tobytes(), len(kinds)) for j in range(len(names))]
    rep = {k: kind.index(k) for k in set(kind)}
    by_set: dict[tuple[int, int], list[int]] = {}
    for p, (i, j) in enumerate(pairs):
        by_set.setdefault((min(kind[i], kind[j]), max(kind[i], kind[j])), []).append(p)
    found: dict[int, tuple] = {}
    na: dict[str, list[str]] = {}
    with progress(total=len(pairs), desc="genetic correlation", unit="pair") as bar:
        for (ka, kb), members in by_set.items():
            ca, cb = al.cls[rep[ka]], al.cls[rep[kb]]
            rows = np.flatnonzero((ca == cb) & (ca >= 0))
            if len(rows) < MIN_VARIANTS:
                for p in members:
                    log.warning("rg %s x %s: %d shared variant(s) with matching alleles (fewer than %d); skipped",
                                names[pairs[p][0]], names[pairs[p][1]], len(rows), MIN_VARIANTS)
            else:
                found.update(_fit_pairs(al, members, pairs, rows, l2_all[rows], w_all[rows], m, two_step=two_step,
                                        n_blocks=n_blocks, na=na))
            bar.update(len(members))
    _log_rg_na(na)
    rows_out = [{"phenotype_1": names[i], "phenotype_2": names[j], **dict(zip(RG_COLUMNS[2:], map(float, found[p])))}
                for p, (i, j) in enumerate(pairs) if p in found]
    return pd.DataFrame(rows_out, columns=RG_COLUMNS)


def input_groups(sumstats, zs: dict[str, ZStats]) -> dict[str, int]:
    """Phenotype -> index of the ``sumstats`` input (file or folder) its first file came from.

    Parameters
    ----------
    sumstats : str, Path or list of them
        The ``--sumstats`` inputs.
    zs : dict of str to ZStats
        Phenotypes read from them.

    Returns
    -------
    dict of str to int
        -1 for a phenotype under none of the inputs.
    """
    roots = [Path(str(p)).resolve() for p in ([sumstats] if isinstance(sumstats, (str, Path)) else sumstats)]

    def group(f: Path) -> int:
        f = Path(f).resolve()
        return next((i for i, r in enumerate(roots) if f == r or r in f.parents), -1)

    return {name: group(z.files[0]) for name, z in zs.items()}


def run_ldsc(sumstats, *, out_dir, genotypes=None, ref_ld_chr: str | None = None, w_ld_chr: str | None = None,
             ld_wind_cm: float | None = None, ld_wind_kb: float | None = None, rg: bool = False, rg_across: bool = False,
             prevalence: str | None = None, two_step: float = TWO_STEP, n_blocks: int = N_BLOCKS,
             force: bool = False, columns: dict[str, str] | None = None, sample_sizes: dict[str, float] | None = None,
             case_counts: dict[str, tuple[float, float]] | None = None) -> LdscRun:
    """``edfgen ldsc``: LD scores (in-sample from ``genotypes`` or ``ref_ld_chr``), ``h2.tsv``, ``rg.tsv``.

    Summary statistics need z (``beta / standard_error``, or a z column alone: LDSC's munged ``SNP A1 A2 Z N``)
    and N per variant (``n``, ``n_cases + n_controls``, or ``sample_sizes``/``case_counts``: ``--sample-size
    FILE=N``, ``--case-counts FILE=CASES,CONTROLS``); ``columns``: ``--columns``.

    Parameters
    ----------
    sumstats : str, Path or list of them
        Summary statistics: files, folders or a glob (``--sumstats``).
    out_dir : str or Path
        Output folder (``h2.tsv``, ``rg.tsv``, ``ldscores/``).
    genotypes : str, Path or GenotypeSource, optional
        Panel for in-sample LD scores (autosomes 1-22); exclusive with ``ref_ld_chr``.
    ref_ld_chr, w_ld_chr : str, optional
        ldsc LD-score prefixes (``PREFIX{chr}.l2.ldscore.gz``); weights default to ``ref_ld_chr``.
    ld_wind_cm, ld_wind_kb : float, optional
        In-sample window radius (default 1 cM when the .bim has cM, else 1000 kb).
    rg : bool, default False
        Also the genetic correlation of every pair (``rg.tsv``).
    rg_across : bool, default False
        Only pairs from different ``sumstats`` inputs.
    prevalence : str, optional
        ``--prevalence``: one number or ``NAME=K,NAME=K`` (liability-scale h²).
    two_step : float, default 30
        chi² cut-off of the two-step h² estimator.
    n_blocks : int, default 200
        Jackknife blocks.
    force : bool, default False
        Replace an earlier run's outputs in ``out_dir``.
    columns : dict of str to str, optional
        ``--columns`` renames (:func:`edfgen.formats.sumstats.parse_column_option`).
    sample_sizes : dict of str to float, optional
        ``{resolved file: N}`` for files without an ``n`` column (``--sample-size``).
    case_counts : dict of str to (float, float), optional
        ``{resolved file: (cases, controls)}`` (``--case-counts``); such a trait is binary.

    Returns
    -------
    LdscRun

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291. doi:10.1038/ng.3211
    Bulik-Sullivan B et al. (2015) Nat Genet 47:1236. doi:10.1038/ng.3406
    """
    if (genotypes is None) == (ref_ld_chr is None):
        raise InputError("ldsc: give either genotypes (--bfile/--pfile/--bgen) for in-sample LD scores or --ref-ld-chr")
    if w_ld_chr and not ref_ld_chr:
        raise InputError("--w-ld-chr goes with --ref-ld-chr (in-sample LD scores weight themselves)")
    files = zstats_files(sumstats, columns=columns, allow_z=True)
    check_sumstats_options(files, "--sumstats", columns=columns, sample_sizes=sample_sizes, case_counts=case_counts)
    zs = read_zstats(files, need_n=True, columns=columns, sample_sizes=sample_sizes, case_counts=case_counts,
                     allow_z=True)
    prev = check_prevalence_n(zs, parse_prevalence(prevalence, zs))     # (before any work)
    out_dir = prepare_out_dir(out_dir, force=force, command="edfgen ldsc")
    planned = ["h2.tsv"] + (["rg.tsv"] if rg else [])
    params = {"ld_wind_cm": ld_wind_cm, "ld_wind_kb": ld_wind_kb, "ref_ld_chr": ref_ld_chr, "w_ld_chr": w_ld_chr,
              "rg": rg, "rg_across": rg_across, "prevalence": prevalence, "two_step": two_step, "n_blocks": n_blocks,
              "columns": columns, "sample_sizes": sample_sizes, "case_counts": case_counts}
    inputs = [f for z in zs.values() for f in z.files]
    if genotypes is not None:        # in-sample LD scores: the genotypes, as clump records its LD panel
        panel_files, params["ld_panel_bed_bytes"] = panel_fingerprint(genotypes)
        params["genotypes"] = genotype_parameters(genotypes)
        inputs += panel_files
    # ldscores/ checked up front, its files listed by name once the chromosomes are known (plan_outputs): the
    # folder as a whole made the rerun of a killed run remove a user's file put there (review s39)
    with recording(out_dir, "edfgen ldsc", parameters=params, inputs=inputs, planned=planned,
                   folders=["ldscores/"] if genotypes is not None else [], force=force) as man:
        if genotypes is not None:
            ld, m = insample_ldscores(genotypes, out_dir / "ldscores", ld_wind_cm=ld_wind_cm, ld_wind_kb=ld_wind_kb,
                                      plan=lambda files: plan_outputs(out_dir, [
                                          f.relative_to(out_dir).as_posix() for f in files]))
            ld["W"] = ld["L2"]
        else:
            ld, m = read_ldscores_chr(ref_ld_chr, option="--ref-ld-chr")
            w, _ = read_ldscores_chr(w_ld_chr or ref_ld_chr, option="--w-ld-chr")
            ld = ld.merge(w[["SNP", "L2"]].rename(columns={"L2": "W"}), on="SNP", how="inner")
        ld = ld.drop_duplicates("SNP", keep=False).reset_index(drop=True)
        groups = input_groups(sumstats, zs) if rg and rg_across else None
        if rg:          # (before any table is written: a refused pair leaves no h2.tsv behind)
            names = list(zs)
            check_rg_builds(zs, ld, [(names[i], names[j]) for i, j in rg_pairs(names, groups)])
        h2 = heritability(zs, ld, m, prevalence=prev, two_step=two_step, n_blocks=n_blocks)
        write_table(h2, out_dir / "h2.tsv", float_format="%.6g")
        rgt = None
        if rg:
            rgt = genetic_correlations(zs, ld, m, n_blocks=n_blocks, groups=groups)
            write_table(rgt, out_dir / "rg.tsv", float_format="%.6g")
        man.extra.update({"n_ldscore_variants": int(len(ld)), "M_5_50": float(m),
                          "sumstats_genome_assembly": declared_builds([f for z in zs.values() for f in z.files])})
    return LdscRun(out_dir, h2, rgt, ld, m)


def run(o: LdscOptions) -> LdscRun:
    """``edfgen ldsc``: :func:`run_ldsc` (inputs of a killed edfgen command refused: :func:`check_upstream`).

    Parameters
    ----------
    o : LdscOptions
        The command's options.

    Returns
    -------
    LdscRun
    """
    columns = parse_column_option(o.columns) or None
    check_upstream([*o.sumstats, *o.more_sumstats], option="--sumstats", allow_incomplete=o.allow_incomplete,
                   reads_sub_folders=lambda d: reads_sub_folders(d, zstats_test(columns, allow_z=True)))
    return run_ldsc([*o.sumstats, *o.more_sumstats], out_dir=o.out, genotypes=genotype_source(o, required=False),
                    ref_ld_chr=o.ref_ld_chr, w_ld_chr=o.w_ld_chr, ld_wind_cm=o.ld_wind_cm, ld_wind_kb=o.ld_wind_kb,
                    rg=o.rg, rg_across=o.rg_across, prevalence=o.prevalence, two_step=o.two_step, n_blocks=o.n_blocks, force=o.force,
                    columns=columns, sample_sizes=parse_sample_sizes(o.sample_size),
                    case_counts=parse_case_counts(o.case_counts))
