"""MR sensitivity analyses: heterogeneity, pleiotropy, leave-one-out, single-SNP, Steiger, MR-PRESSO.

Kernels take harmonised per-variant arrays ``[k]`` and return frozen dataclasses; the formulas
follow TwoSampleMR (``mr_heterogeneity``, ``mr_pleiotropy_test``, ``mr_leaveoneout``,
``mr_singlesnp``, ``directionality_test``/``mr_steiger``, ``get_r_from_bsen``, ``get_r_from_lor``)
and the R package MRPRESSO.

References
----------
Cochran WG (1954) The combination of estimates from different experiments. Biometrics 10:101,
doi:10.2307/3001666 (Cochran's Q, the IVW row of ``mr_heterogeneity``).
Higgins JPT, Thompson SG (2002) Stat Med 21:1539, doi:10.1002/sim.1186 (I²).
Bowden J et al. (2016) Int J Epidemiol 45:1961, doi:10.1093/ije/dyw220 (I²GX, NOME).
Rücker G, Carpenter JR, Schwarzer G (2011) Detecting and adjusting for small-study effects in meta-analysis.
Biom J 53:351, doi:10.1002/bimj.201000151 (Rücker's Q, the MR Egger row).
Hemani G, Tilling K, Davey Smith G (2017) PLoS Genet 13:e1007081, doi:10.1371/journal.pgen.1007081 (Steiger).
Lee SH et al. (2012) Genet Epidemiol 36:214, doi:10.1002/gepi.21614 (liability r² from log odds).
Verbanck M et al. (2018) Nat Genet 50:693, doi:10.1038/s41588-018-0099-7 (MR-PRESSO).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from edfgen.kernels.mr.methods import METHODS, MRMethod, MRResult, get_method, wald_se

NAN = float("nan")


# --------------------------------------------------------------------------- heterogeneity / I²

def i_squared(y: np.ndarray, s: np.ndarray) -> float:
    """I² of estimates ``y`` with SEs ``s``: ``max(0, (Q - (k - 1)) / Q)`` (TwoSampleMR ``Isq``).

    Parameters
    ----------
    y : array [k]
        Estimates.
    s : array [k]
        Their standard errors.

    Returns
    -------
    float
        I² in [0, 1] (NaN with fewer than 2 estimates).

    References
    ----------
    Higgins JPT, Thompson SG (2002) Stat Med 21:1539. doi:10.1002/sim.1186
    """
    y, s = np.asarray(y, float), np.asarray(s, float)
    k = y.size
    w = 1.0 / s ** 2
    mu = np.sum(w * y) / np.sum(w)
    return heterogeneity_i2(float(np.sum(w * (y - mu) ** 2)), k - 1)


def i_squared_gx(b_exp: np.ndarray, se_exp: np.ndarray, se_out: np.ndarray | None = None) -> float:
    """I²GX (Bowden 2016): I² of the variant-exposure effects oriented positive; near 1 = little
    regression-dilution bias in MR-Egger (NOME holds).

    Unweighted, ``Isq(|b_exp|, se_exp)`` (Bowden 2016's unweighted I²GX); with ``se_out``, the weighted version
    that goes with MR-Egger fitted with weights ``se_out^-2`` (as :func:`~edfgen.kernels.mr.methods.egger` and
    TwoSampleMR fit it): ``Isq(|b_exp| / se_out, se_exp / se_out)``, MendelianRandomization ``mr_egger``'s
    ``I.sq``. The two differ where the outcome SEs vary across variants.

    Parameters
    ----------
    b_exp : array [k]
        Variant -> exposure effects.
    se_exp : array [k]
        Their standard errors.
    se_out : array [k], optional
        Standard errors of the variant -> outcome effects (the weighted I²GX).

    Returns
    -------
    float
        I²GX in [0, 1].

    References
    ----------
    Bowden J et al. (2016) Int J Epidemiol 45:1961. doi:10.1093/ije/dyw220
    """
    b, sx = np.abs(np.asarray(b_exp, float)), np.asarray(se_exp, float)
    if se_out is None:
        return i_squared(b, sx)
    sy = np.asarray(se_out, float)
    return i_squared(b / sy, sx / sy)


def heterogeneity_i2(Q: float, df: float) -> float:
    """I² from a heterogeneity statistic: ``max(0, (Q - df) / Q)``; 0 when Q is 0 (no heterogeneity, as
    :func:`i_squared`), NaN when Q is not finite or ``df`` < 1.

    Parameters
    ----------
    Q : float
        Heterogeneity statistic (Cochran's or Rücker's Q).
    df : float
        Its degrees of freedom.

    Returns
    -------
    float
        I² in [0, 1], or NaN.
    """
    if not np.isfinite(Q) or Q < 0 or not df >= 1:
        return NAN
    if Q == 0:
        return 0.0
    return float(max(0.0, (Q - df) / Q))


# --------------------------------------------------------------------------- leave-one-out / single SNP

def leave_one_out(b_exp, b_out, se_exp, se_out, method: MRMethod | str = "Inverse variance weighted", *,
                  nboot: int = 1000, rng=None, phi: float = 1.0) -> list[MRResult | None]:
    """Re-run ``method`` leaving out each variant in turn (TwoSampleMR ``mr_leaveoneout``).

    Returns a list of ``k`` results (``None`` where the method does not accept ``k - 1`` variants).

    Parameters
    ----------
    b_exp, b_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele).
    se_exp, se_out : array [k]
        Their standard errors.
    method : MRMethod or str, default "Inverse variance weighted"
        Method, by TwoSampleMR name or alias (see :func:`~edfgen.kernels.mr.methods.get_method`).
    nboot : int, default 1000
        Bootstrap draws of a bootstrap-SE method.
    rng : numpy.random.Generator or int, optional
        Random generator or seed of the bootstraps.
    phi : float, default 1.0
        Bandwidth multiplier of a mode-based method (TwoSampleMR ``phi``), as the full-data estimate used.

    Returns
    -------
    list of MRResult or None
        ``k`` results, result ``i`` without variant ``i``.
    """
    m = get_method(method)
    arrs = [np.asarray(x, float) for x in (b_exp, b_out, se_exp, se_out)]
    k = arrs[0].size
    if m.name.startswith("Inverse variance weighted") and k >= 3:
        return _loo_ivw_closed_form(*arrs, fixed=m.name.endswith("(fixed effects)"))
    out = []
    for i in range(k):  # k refits of a closed-form kernel; k is the number of instruments
        keep = np.arange(k) != i
        sub = [x[keep] for x in arrs]
        out.append(m.func(*sub, nboot=nboot, rng=rng, phi=phi) if m.accepts(k - 1) else None)
    return out


def _loo_ivw_closed_form(bx, by, sx, sy, *, fixed: bool) -> list[MRResult]:
    """IVW without each variant, all at once: sums minus the left-out term (same numbers as refits)."""
    k = bx.size
    w = sy ** -2.0
    sxx = np.sum(w * bx * bx) - w * bx * bx
    sxy = np.sum(w * bx * by) - w * bx * by
    syy = np.sum(w * by * by) - w * by * by
    b = sxy / sxx
    Q = np.maximum(syy - b * sxy, 0.0)  # residual sum of squares of the weighted fit without variant i
    df = k - 2
    se_fixed = 1 / np.sqrt(sxx)
    se = se_fixed if fixed else se_fixed * np.maximum(1.0, np.sqrt(Q / df))
    p = 2 * stats.norm.sf(np.abs(b / se))
    qp = stats.chi2.sf(Q, df)
    return [MRResult(float(b[i]), float(se[i]), float(p[i]), k - 1, Q=float(Q[i]), Q_df=df, Q_pval=float(qp[i]))
            for i in range(k)]


def single_snp(b_exp, b_out, se_exp, se_out, *, second_order: bool = False
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-variant Wald ratios (vectorised): ``(b, se, pval)`` arrays ``[k]``.

    Parameters
    ----------
    b_exp, b_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele).
    se_exp, se_out : array [k]
        Their standard errors.
    second_order : bool, default False
        Second-order (delta-method) SEs instead of first-order ones
        (:func:`~edfgen.kernels.mr.methods.wald_se`).

    Returns
    -------
    tuple of (array [k], array [k], array [k])
        Wald ratio ``b_out / b_exp``, its SE (first order ``se_out / |b_exp|`` by default, as TwoSampleMR's
        ``mr_singlesnp``) and normal p-value.
    """
    b_exp, b_out = np.asarray(b_exp, float), np.asarray(b_out, float)
    b = b_out / b_exp
    se = wald_se(b_exp, b_out, se_exp, se_out, second_order=second_order)
    return b, se, 2 * stats.norm.sf(np.abs(b / se))


# --------------------------------------------------------------------------- Steiger

def r_from_bsen(b, se, n) -> np.ndarray:
    """Signed r of a continuous trait from beta, SE and n (TwoSampleMR ``get_r_from_bsen``).

    Parameters
    ----------
    b : array [k]
        Effects of the variants on the trait.
    se : array [k]
        Their standard errors.
    n : float or array [k]
        Sample size.

    Returns
    -------
    array [k]
        Signed correlation ``r = sign(b) sqrt(F / (n - 2 + F))``, ``F = (b / se)²``.
    """
    F = (np.asarray(b, float) / np.asarray(se, float)) ** 2
    r2 = F / (np.asarray(n, float) - 2 + F)
    return np.sqrt(r2) * np.sign(b)


def r_from_pn(p, n) -> np.ndarray:
    """r of a continuous trait from p-value and n (TwoSampleMR ``get_r_from_pn``; F quantile inverse).

    Parameters
    ----------
    p : array [k]
        Two-sided p-values.
    n : float or array [k]
        Sample size.

    Returns
    -------
    array [k]
        Unsigned correlation ``r``.
    """
    p, n = np.broadcast_arrays(np.asarray(p, float), np.asarray(n, float))
    # F(1, n-1) quantile as a squared t(n-1) quantile: exact, and finite for tiny p where
    # scipy's f.isf overflows
    F = stats.t.isf(p / 2, n - 1) ** 2
    return np.sqrt(F / (n - 2 + F))


def _population_af(af, prop, odds_ratio, prevalence):
    """TwoSampleMR ``get_population_allele_frequency`` (2x2 contingency from marginals), vectorised."""
    a = odds_ratio - 1
    b = (af + prop) * (1 - odds_ratio) - 1
    c = odds_ratio * af * prop
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.maximum(0.0, b ** 2 - 4 * a * c)
        z_lin = -c / b
        z1 = (-b - np.sqrt(d)) / (2 * a)
        z2 = (-b + np.sqrt(d)) / (2 * a)

    def valid(z):
        cells = np.stack([z, prop - z, af - z, 1 + z - af - prop])
        return (cells >= -1e-12).all(0)

    z = np.where(np.abs(a) < 1e-15, z_lin, np.where(valid(z1), z1, z2))
    af_cases = z / prop            # co[1,1] / (co[1,1] + co[2,1]) with columns summing to prop
    af_controls = (af - z) / (1 - prop)
    return af_controls * (1 - prevalence) + af_cases * prevalence


def r_from_lor(lor, af, ncase, ncontrol, prevalence, *, model: str = "logit") -> np.ndarray:
    """Signed liability-scale r from a log odds ratio (TwoSampleMR ``get_r_from_lor``; Lee 2012 eq. 10).

    ``r² = vg / (vg + ve)``, ``vg = lor² p(1-p)`` with ``p`` the population allele frequency
    reconstructed from the case/control frequency, ``ve = pi²/3`` (logit) or 1 (probit).

    Parameters
    ----------
    lor : array [k]
        Log odds ratios.
    af : array [k]
        Effect allele frequency in the case-control sample.
    ncase, ncontrol : float or array [k]
        Numbers of cases and controls.
    prevalence : float or array [k]
        Population prevalence of the disease.
    model : {"logit", "probit"}, default "logit"
        Residual liability variance ``pi²/3`` (logit) or 1 (probit).

    Returns
    -------
    array [k]
        Signed liability-scale correlation.

    References
    ----------
    Lee SH et al. (2012) Genet Epidemiol 36:214. doi:10.1002/gepi.21614
    """
    lor, af = np.asarray(lor, float), np.asarray(af, float)
    ncase, ncontrol = np.asarray(ncase, float), np.asarray(ncontrol, float)
    ve = math.pi ** 2 / 3 if model == "logit" else 1.0
    popaf = _population_af(af, ncase / (ncase + ncontrol), np.exp(lor), np.asarray(prevalence, float))
    vg = lor ** 2 * popaf * (1 - popaf)
    return np.sqrt(vg / (vg + ve)) * np.sign(lor)


@dataclass(frozen=True)
class SteigerResult:
    """MR Steiger directionality (TwoSampleMR ``mr_steiger``): total r² of the instruments with the
    exposure and with the outcome, and the p-value of Fisher-z comparison of the two correlations."""

    r2_exposure: float
    r2_outcome: float
    n_exposure: float
    n_outcome: float
    correct_causal_direction: bool
    steiger_pval: float


def steiger(r_exp, r_out, n_exp, n_out) -> SteigerResult:
    """Steiger test from per-variant r (any sign) and sample sizes.

    ``r_x = sqrt(sum r_exp²)``, ``r_y = sqrt(sum r_out²)``; ``z = (atanh r_x - atanh r_y) /
    sqrt(1/(n_x - 3) + 1/(n_y - 3))`` with mean sample sizes (psych ``r.test`` for independent
    correlations); two-sided normal p.

    Parameters
    ----------
    r_exp : array [k]
        Per-variant correlation with the exposure (e.g. :func:`r_from_bsen`).
    r_out : array [k]
        Per-variant correlation with the outcome.
    n_exp, n_out : float or array [k]
        Sample sizes of the exposure and outcome GWAS (their means are used).

    Returns
    -------
    SteigerResult

    References
    ----------
    Hemani G, Tilling K, Davey Smith G (2017) PLoS Genet 13:e1007081. doi:10.1371/journal.pgen.1007081
    """
    r_exp, r_out = np.abs(np.asarray(r_exp, float)), np.abs(np.asarray(r_out, float))
    ok = np.isfinite(r_exp) & np.isfinite(r_out)
    rx, ry = math.sqrt(np.sum(r_exp[ok] ** 2)), math.sqrt(np.sum(r_out[ok] ** 2))
    nx, ny = float(np.nanmean(n_exp)), float(np.nanmean(n_out))
    z = (np.arctanh(min(rx, 1 - 1e-15)) - np.arctanh(min(ry, 1 - 1e-15))) / math.sqrt(1 / (nx - 3) + 1 / (ny - 3))
    return SteigerResult(rx ** 2, ry ** 2, nx, ny, bool(rx > ry), float(2 * stats.norm.sf(abs(z))))


def steiger_per_variant(r_exp, r_out, n_exp, n_out) -> tuple[np.ndarray, np.ndarray]:
    """Per-variant Steiger test (TwoSampleMR ``steiger_filtering``): ``|r_exp| > |r_out|`` and the
    two-sided p of ``z = (atanh|r_exp| - atanh|r_out|) / sqrt(1/(n_exp - 3) + 1/(n_out - 3))``
    (psych ``r.test`` for two independent correlations); NaN where an input is missing.

    Parameters
    ----------
    r_exp, r_out : array [k]
        Per-variant correlations with the exposure and with the outcome.
    n_exp, n_out : float or array [k]
        Sample sizes of the exposure and outcome GWAS.

    Returns
    -------
    tuple of (bool array [k], array [k])
        Whether each variant explains more of the exposure than of the outcome, and the p-value.

    References
    ----------
    Hemani G, Tilling K, Davey Smith G (2017) PLoS Genet 13:e1007081. doi:10.1371/journal.pgen.1007081
    """
    rx, ry = np.abs(np.asarray(r_exp, float)), np.abs(np.asarray(r_out, float))
    nx, ny = np.asarray(n_exp, float), np.asarray(n_out, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (np.arctanh(np.minimum(rx, 1 - 1e-15)) - np.arctanh(np.minimum(ry, 1 - 1e-15))) / np.sqrt(
            1 / (nx - 3) + 1 / (ny - 3))
    return rx > ry, 2 * stats.norm.sf(np.abs(z))


# --------------------------------------------------------------------------- MR-PRESSO

@dataclass(frozen=True)
class PressoResult:
    """MR-PRESSO (Verbanck 2018) global test, outlier test and distortion test.

    Attributes
    ----------
    rss_obs, global_pval
        Observed leave-one-out residual sum of squares and the share of simulated RSS above it.
    outlier_pval : [k]
        Bonferroni-corrected (``min(1, k p)``) outlier p-values (NaN if the global test is not significant).
    outliers : [k] bool
    raw, corrected
        IVW (fixed-weights regression through the origin, t p-value with ``k - 1`` df as MRPRESSO's
        ``lm``) on all variants and without outliers (``corrected`` is None without outliers).
    distortion_coef, distortion_pval
        ``100 (b_raw - b_corr) / |b_corr|`` and its simulated p-value (NaN without outliers).
    """

    nsnp: int
    rss_obs: float
    global_pval: float
    outlier_pval: np.ndarray
    outliers: np.ndarray
    raw: MRResult
    corrected: MRResult | None
    distortion_coef: float
    distortion_pval: float


def _loo_ivw(x, y, w):
    """Leave-one-out IVW slopes, batched: x, y [B, k] (or [k]), w [k] -> [B, k]."""
    sxy = np.sum(w * x * y, axis=-1, keepdims=True)
    sxx = np.sum(w * x * x, axis=-1, keepdims=True)
    return (sxy - w * x * y) / (sxx - w * x * x)


def _lm_origin(x, y, w) -> MRResult:
    k = x.size
    sxx = np.sum(w * x * x)
    b = np.sum(w * x * y) / sxx
    df = k - 1
    s2 = np.sum(w * (y - b * x) ** 2) / df
    se = math.sqrt(s2 / sxx)
    return MRResult(float(b), se, float(2 * stats.t.sf(abs(b / se), df)), k)


def mr_presso(b_exp, b_out, se_exp, se_out, *, n_sim: int = 1000, signif: float = 0.05,
              rng=None) -> PressoResult:
    """MR-PRESSO on one exposure-outcome pair, all simulations as array operations.

    Global test: ``RSS_obs = sum w_i (y_i - b_(-i) x_i)²`` (leave-one-out IVW slopes ``b_(-i)``,
    ``w = se_out^-2``), compared with ``n_sim`` data sets drawn as ``x* ~ N(x, se_exp)``,
    ``y*_i ~ N(b_(-i) x_i, se_out_i)``. Outlier test (only if the global p < ``signif``):
    ``(y_i - b_(-i) x_i)²`` against ``(y*_i - b_(-i) x*_i)²``, Bonferroni-corrected. Distortion test:
    the relative change of the IVW estimate after removing outliers against random sets of the same
    size made of the outliers and non-outliers drawn with replacement (MRPRESSO ``getRandomBias``).

    The null draws use each variant's own expectation ``b_(-i) x_i`` (Verbanck 2018, Methods). The
    MRPRESSO R code draws ``rnorm(1, fitted(mod_IVW[[i]]), sd)``, whose mean is the first fitted value of
    the leave-one-out model (``b_(-i)`` times the first other variant's ``x``), not variant ``i``'s; this
    implementation follows the paper's formula, so global and outlier p-values of the R package can differ
    beyond Monte Carlo error where the ``x`` vary much. Orientation (the R code multiplies both betas by
    ``sign(x)``) changes neither the slopes nor the residuals.

    Parameters
    ----------
    b_exp, b_out : array [k]
        Harmonised variant -> exposure and variant -> outcome effects (same effect allele).
    se_exp, se_out : array [k]
        Their standard errors.
    n_sim : int, default 1000
        Simulated data sets (MRPRESSO ``NbDistribution``).
    signif : float, default 0.05
        Significance threshold of the global and outlier tests (MRPRESSO ``SignifThreshold``).
    rng : numpy.random.Generator or int, optional
        Random generator or seed.

    Returns
    -------
    PressoResult

    References
    ----------
    Verbanck M et al. (2018) Nat Genet 50:693. doi:10.1038/s41588-018-0099-7
    """
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    x, y, sx, sy = (np.asarray(v, float) for v in (b_exp, b_out, se_exp, se_out))
    k = x.size
    w = sy ** -2.0
    loo = _loo_ivw(x, y, w)
    rss_obs = float(np.sum(w * (y - loo * x) ** 2))
    xs = rng.normal(x, sx, size=(n_sim, k))
    ys = rng.normal(loo * x, sy, size=(n_sim, k))
    loo_s = _loo_ivw(xs, ys, w)
    rss_exp = np.sum(w * (ys - loo_s * xs) ** 2, axis=1)
    global_p = float(np.mean(rss_exp > rss_obs))
    raw = _lm_origin(x, y, w)
    outlier_p = np.full(k, NAN)
    outliers = np.zeros(k, bool)
    corrected, dcoef, dp = None, NAN, NAN
    if global_p < signif:
        dif = (y - loo * x) ** 2
        exp = (ys - loo * xs) ** 2
        p = np.mean(exp > dif, axis=0)
        outlier_p = np.minimum(1.0, k * p)
        outliers = outlier_p <= signif  # MRPRESSO: refOutlier <- which(Pvalue <= SignifThreshold)
        n_out = int(outliers.sum())
        if 0 < n_out and k - n_out >= 2:
            keep = ~outliers
            corrected = _lm_origin(x[keep], y[keep], w[keep])
            bias_obs = (raw.b - corrected.b) / abs(corrected.b)
            dcoef = 100.0 * bias_obs
            # MRPRESSO getRandomBias: the outliers plus k - 2 n_out non-outliers drawn with replacement
            in_idx = np.flatnonzero(keep)
            n_take = k - 2 * n_out
            if n_take >= 0:
                draws = in_idx[rng.integers(0, in_idx.size, size=(n_sim, n_take))]
                counts = np.zeros((n_sim, k))
                np.add.at(counts, (np.repeat(np.arange(n_sim), n_take), draws.ravel()), 1.0)
                counts[:, outliers] = 1.0
                b_rand = (counts * w * x * y).sum(1) / (counts * w * x * x).sum(1)
                bias_exp = (raw.b - b_rand) / np.abs(b_rand)
                dp = float(np.mean(np.abs(bias_exp) > abs(bias_obs)))
    return PressoResult(k, rss_obs, global_p, outlier_p, outliers, raw, corrected, float(dcoef), dp)


__all__ = ["i_squared", "i_squared_gx", "heterogeneity_i2", "leave_one_out", "single_snp", "r_from_bsen",
           "r_from_pn", "r_from_lor", "steiger", "steiger_per_variant", "SteigerResult", "mr_presso", "PressoResult", "METHODS"]
