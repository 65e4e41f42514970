"""Multivariable MR (MVMR): IVW estimates of the direct effect of each of several exposures on one
outcome, conditional instrument strength and the pleiotropy statistic Q_A.

* IVW: weighted regression without intercept of the outcome betas on the exposure betas, weights
  ``se_out^-2`` (TwoSampleMR ``mv_multiple``, MendelianRandomization ``mr_mvivw``); standard errors as
  ``mr_mvivw``'s default (multiplicative random effects): the regression SE divided by
  ``min(1, sigma)`` (the residual standard error), normal p-values.
* Conditional F (MVMR ``strength_mvmr``, covariance between SNP-exposure estimates 0, as with
  non-overlapping exposure samples): ``delta_j`` = OLS without intercept of exposure ``j``'s betas on the
  others', ``sigma²_ji = se_ji² + sum_l delta_jl² se_li²``,
  ``F_j = sum_i (b_ji - delta_j' b_(-j)i)² / sigma²_ji / k``.
* Q_A (MVMR ``pleiotropy_mvmr``): ``sigma²_Ai = se_Yi² + sum_j theta_j² se_ji²``,
  ``Q_A = sum_i (b_Yi - theta' b_i)² / sigma²_Ai``, chi² with ``k - p - 1`` degrees of freedom.

References
----------
Burgess S, Thompson SG (2015) "Multivariable Mendelian randomization: the use of pleiotropic genetic
variants to estimate causal effects", Am J Epidemiol 181:251, doi:10.1093/aje/kwu283.
Sanderson E, Spiller W, Bowden J (2021) "Testing and correcting for weak and pleiotropic instruments in
two-sample multivariable Mendelian randomization", Stat Med 40:5434, doi:10.1002/sim.9133.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class MVMRResult:
    """MVMR-IVW on ``k`` variants and ``p`` exposures (arrays ``[p]`` in exposure order)."""

    b: np.ndarray
    se: np.ndarray
    pval: np.ndarray
    conditional_f: np.ndarray
    nsnp: int
    sigma: float
    q_a: float
    q_a_df: int
    q_a_pval: float


def conditional_f(b_exp: np.ndarray, se_exp: np.ndarray) -> np.ndarray:
    """Conditional F-statistic of each exposure (MVMR ``strength_mvmr`` with ``gencov = 0``).

    Parameters
    ----------
    b_exp : array [k, p]
        Variant -> exposure effects, one column per exposure (p >= 2).
    se_exp : array [k, p]
        Their standard errors.

    Returns
    -------
    array [p]
        Conditional F-statistic of each exposure.

    References
    ----------
    Sanderson E, Spiller W, Bowden J (2021) Stat Med 40:5434. doi:10.1002/sim.9133
    """
    bx, sx = np.asarray(b_exp, float), np.asarray(se_exp, float)
    k, p = bx.shape
    out = np.empty(p)
    for j in range(p):
        others = [i for i in range(p) if i != j]
        delta, *_ = np.linalg.lstsq(bx[:, others], bx[:, j], rcond=None)
        s2 = sx[:, j] ** 2 + (sx[:, others] ** 2) @ (delta ** 2)
        out[j] = np.sum((bx[:, j] - bx[:, others] @ delta) ** 2 / s2) / k
    return out


def mvmr_ivw(b_exp, b_out, se_exp, se_out) -> MVMRResult:
    """MVMR-IVW of ``b_out [k]`` on ``b_exp [k, p]`` with conditional F and Q_A (module docstring).

    Parameters
    ----------
    b_exp : array [k, p]
        Variant -> exposure effects (harmonised), one column per exposure.
    b_out : array [k]
        Variant -> outcome effects.
    se_exp : array [k, p]
        Standard errors of ``b_exp``.
    se_out : array [k]
        Standard errors of ``b_out``.

    Returns
    -------
    MVMRResult
        Direct effects ``b``, ``se``, ``pval`` and conditional F per exposure, ``sigma``, Q_A with df and p.

    Raises
    ------
    ValueError
        With ``k <= p``.

    References
    ----------
    Burgess S, Thompson SG (2015) Am J Epidemiol 181:251. doi:10.1093/aje/kwu283
    Sanderson E, Spiller W, Bowden J (2021) Stat Med 40:5434. doi:10.1002/sim.9133
    """
    bx, by = np.asarray(b_exp, float), np.asarray(b_out, float)
    sx, sy = np.asarray(se_exp, float), np.asarray(se_out, float)
    k, p = bx.shape
    if k <= p:
        raise ValueError(f"MVMR needs more variants than exposures ({k} variants, {p} exposures)")
    sw = 1.0 / sy
    X, Y = bx * sw[:, None], by * sw
    xtx_inv = np.linalg.inv(X.T @ X)
    theta = xtx_inv @ X.T @ Y
    resid = Y - X @ theta
    sigma = float(np.sqrt(resid @ resid / (k - p)))
    se = sigma * np.sqrt(np.diag(xtx_inv)) / min(1.0, sigma)
    pval = 2 * stats.norm.sf(np.abs(theta / se))
    s2a = sy ** 2 + (sx ** 2) @ (theta ** 2)
    q_a = float(np.sum((by - bx @ theta) ** 2 / s2a))
    q_df = k - p - 1
    q_p = float(stats.chi2.sf(q_a, q_df)) if q_df > 0 else float("nan")
    return MVMRResult(theta, se, pval, conditional_f(bx, sx) if p >= 2 else np.full(p, np.nan), k, sigma,
                      q_a, q_df, q_p)


__all__ = ["MVMRResult", "mvmr_ivw", "conditional_f"]
