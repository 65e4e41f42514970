"""One exposure-outcome pair of ``edfgen mr``: every estimate and sensitivity analysis of a harmonised table
(:func:`analyse_pair`), the tables' columns, and the corrected p-values over all pairs
(:func:`add_result_columns`). :mod:`edfgen.commands.mr` reads, selects, harmonises and writes around it.

References
----------
Hemani G et al. (2018) "The MR-Base platform supports systematic causal inference across the human
phenome", eLife 7:e34408, doi:10.7554/eLife.34408 (TwoSampleMR, whose names and tables these follow).
"""

from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from edfgen.commands.mr_instruments import variant_r
from edfgen.exceptions import InputError
from edfgen.kernels.mr import CI95_Z
from edfgen.kernels.mr import sensitivity as sens
from edfgen.kernels.mr.methods import DEFAULT_METHODS, MRResult, get_method, wald_ratio
from edfgen.kernels.thresholds import GENOME_WIDE

log = logging.getLogger(__name__)

RESULT_COLUMNS = ["exposure", "outcome", "method", "nsnp", "b", "se", "pval", "lo_ci", "up_ci", "or",
                  "or_lci95", "or_uci95", "p_bonferroni", "q_fdr"]
HET_COLUMNS = ["exposure", "outcome", "method", "Q", "Q_df", "Q_pval", "i2"]
PLEIO_COLUMNS = ["exposure", "outcome", "nsnp", "egger_intercept", "se", "pval", "i2_gx", "mean_f", "min_f",
                 "i2_gx_weighted"]
LOO_COLUMNS = ["exposure", "outcome", "method", "excluded", "nsnp", "b", "se", "pval"]
SINGLE_COLUMNS = ["exposure", "outcome", "variant_id", "method", "b", "se", "pval"]
STEIGER_COLUMNS = ["exposure", "outcome", "nsnp", "r2_exposure", "r2_outcome", "r2_source_exposure",
                   "r2_source_outcome", "n_exposure", "n_outcome", "correct_causal_direction", "steiger_pval"]
PRESSO_COLUMNS = ["exposure", "outcome", "nsnp", "rss_obs", "global_pval", "n_outliers", "outliers", "raw_b",
                  "raw_se", "raw_pval", "corrected_b", "corrected_se", "corrected_pval", "distortion_coef",
                  "distortion_pval"]
TABLES = {"mr_results": RESULT_COLUMNS, "mr_heterogeneity": HET_COLUMNS, "mr_pleiotropy": PLEIO_COLUMNS,
          "mr_leaveoneout": LOO_COLUMNS, "mr_singlesnp": SINGLE_COLUMNS, "mr_steiger": STEIGER_COLUMNS,
          "mr_presso": PRESSO_COLUMNS}

#: the ``mr_results`` row of MR-PRESSO: the estimate without its outliers (the raw one when there are none)
PRESSO_METHOD = "MR-PRESSO (outlier-corrected)"




#: :attr:`MRSettings.p_threshold`'s default: 5e-8, an instruments list taken as given (``edfgen mr`` without
#: ``--p-threshold``); ``None`` means no threshold, as it did before this default existed
AUTO_P_THRESHOLD = "auto"


@dataclass(frozen=True)
class MRSettings:
    """Options of an MR run (all documented defaults follow TwoSampleMR's ``default_parameters``).

    Attributes
    ----------
    methods
        Method names (TwoSampleMR names or aliases); default TwoSampleMR's default set plus
        ``Inverse variance weighted (fixed effects)`` and ``Simple median``.
    palindromes
        ``infer`` (action 2), ``forward`` (1) or ``drop`` (3).
    maf_threshold
        Palindromes with frequency in ``(t, 1 - t)`` cannot be inferred (default 0.42).
    p_threshold
        Keep exposure variants with ``p_value < p_threshold``; also the index-variant threshold of clumping
        (``--clump-p1``). ``"auto"`` (:data:`AUTO_P_THRESHOLD`, the default, as ``edfgen mr`` without
        ``--p-threshold``): genome-wide, 5e-8, but an instruments list is taken as given, not thresholded
        (TwoSampleMR's ``read_exposure_data``); :meth:`instrument_threshold` resolves it. ``None``: no
        threshold (every row of a pre-selected exposure file is an instrument; a list taken as given).
    clump_r2, clump_kb
        Clumping: a variant in LD r² > ``clump_r2`` within ``clump_kb`` kb of a stronger instrument is
        dropped (TwoSampleMR ``clump_data`` defaults: 0.001, 10,000 kb).
    steiger_filter
        Drop instruments whose per-variant Steiger test points from outcome to exposure
        (TwoSampleMR ``steiger_filtering``, ``steiger_dir`` False).
    nboot, phi, seed
        Bootstrap draws (median/mode SEs), mode bandwidth multiplier, RNG seed.
    loo_method
        Method re-run in leave-one-out (default IVW).
    presso, presso_sims
        Run MR-PRESSO with this many simulated data sets (needs >= 4 variants).
    prevalence
        Disease prevalence for liability-scale r² of binary traits in the Steiger test
        (``None``: the case fraction of the GWAS sample, right for a population cohort).
    proxy_r2, proxy_window_kb
        LD proxies: minimum r² and search window.
    wald_se
        SE of the Wald ratio (the ``Wald ratio`` row of a one-instrument pair and ``mr_singlesnp``): ``"first"``
        (``se_out / |b_exp|``, TwoSampleMR's) or ``"second"`` (delta method, counting ``se_exp`` too;
        :func:`~edfgen.kernels.mr.methods.wald_se`); any other value is refused (:func:`analyse_pair`).
    """

    methods: tuple[str, ...] = DEFAULT_METHODS + ("Inverse variance weighted (fixed effects)", "Simple median")
    palindromes: str = "infer"
    maf_threshold: float = 0.42
    p_threshold: float | str | None = "auto"
    clump_r2: float = 0.001
    clump_kb: float = 10000.0
    steiger_filter: bool = False
    nboot: int = 1000
    phi: float = 1.0
    seed: int = 0
    loo_method: str = "Inverse variance weighted"
    presso: bool = True
    presso_sims: int = 1000
    prevalence: float | None = None
    proxy_r2: float = 0.8
    proxy_window_kb: float = 500.0
    wald_se: str = "first"

    def instrument_threshold(self, listed: bool) -> float | None:
        """The p-value threshold of instrument selection: the one rule of the library and the command line.

        Parameters
        ----------
        listed : bool
            Whether an instruments list (``--instruments``) selects the instruments.

        Returns
        -------
        float or None
            ``p_threshold`` where it is a number or ``None`` (no threshold); for ``"auto"``, ``None`` (the list
            taken as given) for a list, genome-wide 5e-8 (:data:`~edfgen.kernels.thresholds.GENOME_WIDE`)
            without one.
        """
        if self.p_threshold != AUTO_P_THRESHOLD:
            return self.p_threshold
        return None if listed else GENOME_WIDE


# --------------------------------------------------------------------------- one pair

@dataclass
class PairTables:
    """Rows of every output table for one exposure-outcome pair."""

    results: list[dict] = field(default_factory=list)
    heterogeneity: list[dict] = field(default_factory=list)
    pleiotropy: list[dict] = field(default_factory=list)
    leaveoneout: list[dict] = field(default_factory=list)
    singlesnp: list[dict] = field(default_factory=list)
    steiger: list[dict] = field(default_factory=list)
    presso: list[dict] = field(default_factory=list)


def pair_rng(seed: int, exposure: str, outcome: str, part: str) -> np.random.Generator:
    """The random generator of one pair's ``part`` (a method's bootstrap, leave-one-out, MR-PRESSO): seeded by
    ``seed`` and the names, so a pair's numbers do not depend on the other pairs, their order or the methods."""
    return np.random.default_rng([seed, *(zlib.crc32(str(x).encode()) for x in (exposure, outcome, part))])


def analyse_pair(h: pd.DataFrame, settings: MRSettings, *, rng: np.random.Generator | None = None,
                 cases_exposure: tuple | None = None, cases_outcome: tuple | None = None,
                 r2_exposure: pd.Series | None = None, r2_outcome: pd.Series | None = None) -> PairTables:
    """All estimates and sensitivity analyses for one harmonised table (rows with ``mr_keep``).

    ``rng``: one generator for every random part; by default each part has its own (:func:`pair_rng` of
    ``settings.seed``). ``cases_*``: ``(n_cases, n_controls)`` of a binary trait (Steiger on the liability
    scale); ``r2_*``: user-supplied per-variant r² indexed by variant id (used for Steiger when complete).

    An instrument whose exposure beta is 0 is kept, as TwoSampleMR keeps it: its Wald ratio is infinite and the
    mode-based estimates NA; that is said in one warning instead of numpy's divide-by-zero lines.
    """
    if settings.wald_se not in ("first", "second"):
        raise InputError(f"MRSettings.wald_se {settings.wald_se!r}: choose 'first' or 'second'")
    kw = {"rng": rng, "cases_exposure": cases_exposure, "cases_outcome": cases_outcome, "r2_exposure": r2_exposure,
          "r2_outcome": r2_outcome}
    kept = h[h["mr_keep"].astype(bool)]
    zero = pd.to_numeric(kept["beta_exposure"], errors="coerce").to_numpy(float) == 0
    if not zero.any():
        return _analyse_pair(h, settings, **kw)
    log.warning("%s -> %s: %d instrument(s) with exposure beta 0 (e.g. %s): Wald ratio infinite, the mode-based "
                "estimates NA", h["exposure"].iloc[0], h["outcome"].iloc[0], int(zero.sum()),
                kept["variant_id"].to_numpy()[zero][0])
    with np.errstate(divide="ignore", invalid="ignore"):
        return _analyse_pair(h, settings, **kw)


def _analyse_pair(h: pd.DataFrame, settings: MRSettings, *, rng: np.random.Generator | None,
                  cases_exposure: tuple | None, cases_outcome: tuple | None, r2_exposure: pd.Series | None,
                  r2_outcome: pd.Series | None) -> PairTables:
    """:func:`analyse_pair`'s work."""
    t = PairTables()
    exp_name, out_name = str(h["exposure"].iloc[0]), str(h["outcome"].iloc[0])

    def gen(part: str) -> np.random.Generator:
        return rng if rng is not None else pair_rng(settings.seed, exp_name, out_name, part)

    k_df = h[h["mr_keep"]]
    k = len(k_df)
    base = {"exposure": exp_name, "outcome": out_name}
    if k == 0:
        return t
    bx, by, sx, sy = (k_df[c].to_numpy(float) for c in ("beta_exposure", "beta_outcome", "se_exposure", "se_outcome"))
    ids = k_df["variant_id"].to_numpy()
    second = settings.wald_se == "second"
    kw = {"nboot": settings.nboot, "phi": settings.phi}

    def extra(m) -> dict:   # second_order only for the Wald ratio: other kernels (a user's too) take MRKernel's keywords
        return {"second_order": second} if m.func is wald_ratio else {}

    results: dict[str, MRResult] = {}
    for name in settings.methods:
        m = get_method(name)
        if not m.accepts(k):
            continue
        r = m.func(bx, by, sx, sy, rng=gen(m.name), **kw, **extra(m))
        results[m.name] = r
        t.results.append({**base, "method": m.name, "nsnp": r.nsnp, "b": r.b, "se": r.se, "pval": r.pval})
        if m.heterogeneity and np.isfinite(r.Q):
            t.heterogeneity.append({**base, "method": m.name, "Q": r.Q, "Q_df": r.Q_df, "Q_pval": r.Q_pval,
                                    "i2": sens.heterogeneity_i2(r.Q, r.Q_df)})
    f = (bx / sx) ** 2
    eg = results.get("MR Egger") or (get_method("MR Egger").func(bx, by, sx, sy) if k >= 3 else None)
    t.pleiotropy.append({**base, "nsnp": k, "egger_intercept": eg.b_i if eg else np.nan,
                         "se": eg.se_i if eg else np.nan, "pval": eg.pval_i if eg else np.nan,
                         "i2_gx": sens.i_squared_gx(bx, sx) if k >= 2 else np.nan,
                         "mean_f": float(f.mean()), "min_f": float(f.min()),
                         "i2_gx_weighted": sens.i_squared_gx(bx, sx, sy) if k >= 2 else np.nan})
    # leave-one-out
    loo_m = get_method(settings.loo_method)
    if k >= 3 and loo_m.accepts(k):   # (the Wald ratio takes one variant: no leave-one-out)
        for vid, r in zip(ids, sens.leave_one_out(bx, by, sx, sy, loo_m, nboot=settings.nboot, phi=settings.phi,
                                                  rng=gen("leave-one-out"))):
            if r is not None:
                t.leaveoneout.append({**base, "method": loo_m.name, "excluded": vid, "nsnp": r.nsnp,
                                      "b": r.b, "se": r.se, "pval": r.pval})
        full = results.get(loo_m.name) or loo_m.func(bx, by, sx, sy, rng=gen(loo_m.name), **kw, **extra(loo_m))
        t.leaveoneout.append({**base, "method": loo_m.name, "excluded": "All", "nsnp": full.nsnp,
                              "b": full.b, "se": full.se, "pval": full.pval})
    # single SNP
    b1, se1, p1 = sens.single_snp(bx, by, sx, sy, second_order=second)
    for vid, b_, s_, p_ in zip(ids, b1, se1, p1):
        t.singlesnp.append({**base, "variant_id": vid, "method": "Wald ratio", "b": b_, "se": s_, "pval": p_})
    for name in ("Inverse variance weighted", "MR Egger"):
        if name in results:
            r = results[name]
            t.singlesnp.append({**base, "variant_id": f"All - {name}", "method": name, "b": r.b, "se": r.se,
                                "pval": r.pval})
    # Steiger
    r_x, n_x, src_x = variant_r(k_df, "exposure", cases_exposure, settings.prevalence, r2_exposure)
    r_y, n_y, src_y = variant_r(k_df, "outcome", cases_outcome, settings.prevalence, r2_outcome)
    n_x = np.broadcast_to(np.asarray(n_x, float), (k,))
    n_y = np.broadcast_to(np.asarray(n_y, float), (k,))
    if np.isfinite(r_x).any() and np.isfinite(r_y).any() and np.isfinite(n_x).all() and np.isfinite(n_y).all():
        st = sens.steiger(r_x, r_y, n_x, n_y)
        t.steiger.append({**base, "nsnp": k, "r2_exposure": st.r2_exposure, "r2_outcome": st.r2_outcome,
                          "r2_source_exposure": src_x, "r2_source_outcome": src_y, "n_exposure": st.n_exposure,
                          "n_outcome": st.n_outcome, "correct_causal_direction": st.correct_causal_direction,
                          "steiger_pval": st.steiger_pval})
    else:
        t.steiger.append({**base, "nsnp": k, "r2_exposure": np.nan, "r2_outcome": np.nan,
                          "r2_source_exposure": src_x, "r2_source_outcome": src_y, "n_exposure": np.nan,
                          "n_outcome": np.nan, "correct_causal_direction": pd.NA, "steiger_pval": np.nan})
    # MR-PRESSO
    if settings.presso and settings.presso_sims > 0 and k >= 4:      # (0 sims: skipped, as --presso-sims 0)
        pr = sens.mr_presso(bx, by, sx, sy, n_sim=settings.presso_sims, rng=gen("MR-PRESSO"))
        c = pr.corrected
        t.presso.append({**base, "nsnp": k, "rss_obs": pr.rss_obs, "global_pval": pr.global_pval,
                         "n_outliers": int(pr.outliers.sum()), "outliers": ",".join(ids[pr.outliers]) or pd.NA,
                         "raw_b": pr.raw.b, "raw_se": pr.raw.se, "raw_pval": pr.raw.pval,
                         "corrected_b": c.b if c else np.nan, "corrected_se": c.se if c else np.nan,
                         "corrected_pval": c.pval if c else np.nan, "distortion_coef": pr.distortion_coef,
                         "distortion_pval": pr.distortion_pval})
        if c is not None or not pr.outliers.any():   # no outlier: the outlier-corrected estimate is the raw one
            est = c or pr.raw
            t.results.append({**base, "method": PRESSO_METHOD, "nsnp": est.nsnp, "b": est.b, "se": est.se,
                              "pval": est.pval})
        else:   # too few variants left after removing the outliers: no corrected estimate (MRPRESSO gives NA)
            t.results.append({**base, "method": PRESSO_METHOD, "nsnp": int((~pr.outliers).sum()), "b": np.nan,
                              "se": np.nan, "pval": np.nan})
    return t


def add_result_columns(res: pd.DataFrame) -> pd.DataFrame:
    """95% CI (b ± 1.96 se, as TwoSampleMR generate_odds_ratios), odds ratios, and Bonferroni / Benjamini-Hochberg
    columns computed per method over all pairs
    (IVW and the Wald ratio together: each pair's primary estimate, :func:`~edfgen.kernels.mr.methods.primary_estimates`).

    References
    ----------
    Benjamini Y, Hochberg Y (1995) "Controlling the false discovery rate: a practical and powerful
    approach to multiple testing", J R Stat Soc B 57:289, doi:10.1111/j.2517-6161.1995.tb02031.x.
    """
    res = res.copy()
    z = CI95_Z                      # TwoSampleMR generate_odds_ratios' factor (not qnorm(0.975) = 1.959964)
    res["lo_ci"] = res["b"] - z * res["se"]
    res["up_ci"] = res["b"] + z * res["se"]
    res["or"] = np.exp(res["b"])
    res["or_lci95"] = np.exp(res["lo_ci"])
    res["or_uci95"] = np.exp(res["up_ci"])
    res["p_bonferroni"] = np.nan
    res["q_fdr"] = np.nan
    # IVW (>= 2 instruments) and the Wald ratio (1) are each pair's primary estimate: one family over all pairs,
    # as the report counts them (a 1-instrument pair was corrected only among the other 1-instrument pairs)
    family = res["method"].replace({"Wald ratio": "Inverse variance weighted"})
    for _, idx in res.groupby(family, sort=False).groups.items():
        p = res.loc[idx, "pval"].to_numpy(float)
        ok = np.isfinite(p)
        m = int(ok.sum())
        if m == 0:
            continue
        bonf = np.full(p.size, np.nan)
        bonf[ok] = np.minimum(1.0, p[ok] * m)
        q = np.full(p.size, np.nan)
        q[ok] = stats.false_discovery_control(p[ok], method="bh")
        res.loc[idx, "p_bonferroni"] = bonf
        res.loc[idx, "q_fdr"] = q
    return res[RESULT_COLUMNS]

