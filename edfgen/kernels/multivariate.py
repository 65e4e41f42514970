"""Multivariate omnibus association across phenotypes (MOSTest), with the min-P alternative.

For every variant, the vector ``z [P]`` of its univariate z-scores (from any per-phenotype model) is
tested jointly:

1. The null correlation ``C0 [P, P]`` of z-vectors is estimated from the z-scores of the *same*
   variants tested on genotypes whose samples were permuted once (a permutation keeps each variant's
   LD and frequency and the phenotypes' correlation, and removes every association).
2. ``C0`` is regularised as MOSTest does: its eigenvalues are floored at the ``r``-th largest
   (``r = min(10, P)``), which keeps the leading axes of the phenotype correlation and shrinks the
   noisy trailing ones.
3. The statistic is ``T = zᵀ C0_reg⁻¹ z``. Its null distribution is a gamma fitted by maximum likelihood
   (location 0) to ``T`` of the permuted z-vectors; ``p = 1 - F_gamma(T)``.

The gamma describes the bulk of the null well, but p-values near genome-wide significance are an
extrapolation of its tail: MOSTest fits it to millions of permuted variants. Fitted to a few thousand, the
5e-8 threshold on ``T`` moves by ~10 % between variant sets (review s31f: p 4e-8 with one fit, 2.8e-7 with
another and 2e-7 under χ²_P for the same ``T``), so below :data:`GAMMA_FIT_MIN_VARIANTS` complete permuted
vectors a warning says so (the method is unchanged). Each run fits its own ``C0`` and gamma: a per-chromosome
job (``--chr``) calibrates on that chromosome's variants alone.

The min-P alternative is ``min_p × M_eff`` (capped at 1), ``M_eff`` the effective number of
phenotypes from the eigenvalues of their correlation matrix (Li & Ji 2005;
:func:`edfgen.kernels.clump.effective_number_of_tests`).

References
----------
van der Meer D et al. (2020) Understanding the genetic determinants of the brain with MOSTest. Nat
Commun 11:3512. doi:10.1038/s41467-020-17368-1
Li J, Ji L (2005) Adjusting multiple testing in multilocus analyses using the eigenvalues of a
correlation matrix. Heredity 95:221. doi:10.1038/sj.hdy.6800717
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from edfgen.exceptions import InputError

__all__ = ["MultivariateResult", "z_scores", "mostest", "min_null_variants", "MULTIVARIATE_COLUMNS",
           "GAMMA_FIT_MIN_VARIANTS"]

log = logging.getLogger(__name__)

#: fewer complete permuted z-vectors than this: the gamma null's tail (p near 5e-8) is warned to be an
#: extrapolation (MOSTest fits it to millions of variants)
GAMMA_FIT_MIN_VARIANTS = 100_000

#: columns of multivariate.tsv.gz after the GWAS-SSF variant columns
MULTIVARIATE_COLUMNS = ("n_phenotypes", "statistic", "p_value", "min_p", "min_p_corrected", "n", "neg_log_10_p_value")


def z_scores(beta: np.ndarray, p_value: np.ndarray, *, standard_error: np.ndarray | None = None,
             df: np.ndarray | None = None) -> np.ndarray:
    """Signed z-scores ``sign(beta) Φ⁻¹(1 - p/2)`` (exact for t- and Wald tests alike; NaN kept).

    Where ``p`` is below :data:`~edfgen.kernels.pvalues.TINY_P` (0 once it underflows, for a strong hit) and
    ``standard_error`` is given, ``log p`` comes from the test statistic ``beta / standard_error`` in log space
    (Student t with ``df`` degrees of freedom, normal without: :func:`~edfgen.kernels.pvalues.neg_log10_p`) and
    the quantile from it (``ndtri_exp``), so such a variant has a finite z, not ``inf`` (review s39edge).

    Parameters
    ----------
    beta, p_value : array [M, P]
    standard_error : array [M, P], optional
    df : array [M, P], optional
        t-test degrees of freedom (linear models: ``n - k - 1``); None for a normal Wald statistic.

    Returns
    -------
    array [M, P]
    """
    from scipy.special import ndtri, ndtri_exp

    from edfgen.kernels.pvalues import TINY_P, neg_log10_p

    p = np.asarray(p_value, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = -ndtri(p / 2.0)
        tiny = np.isfinite(p) & (p < TINY_P)
        if standard_error is not None and tiny.any():
            nlp = neg_log10_p(p[tiny], beta=np.broadcast_to(beta, p.shape)[tiny],
                              standard_error=np.broadcast_to(standard_error, p.shape)[tiny],
                              df=None if df is None else np.broadcast_to(df, p.shape)[tiny])
            z[tiny] = -ndtri_exp(-nlp * np.log(10.0) - np.log(2.0))
        return np.sign(beta) * z


def min_null_variants(n_phenotypes: int) -> int:
    """Variants with a z-score for every phenotype under permutation that :func:`mostest` needs to estimate the
    null correlation ``C0``: ``max(10 P, 100)`` (``gwas --multivariate`` checks the QC'd count before its pass).

    Parameters
    ----------
    n_phenotypes : int
        ``P``.

    Returns
    -------
    int
    """
    return max(10 * int(n_phenotypes), 100)


@dataclass(frozen=True)
class MultivariateResult:
    """Per-variant omnibus test across phenotypes (arrays ``[M]``) and the fitted null.

    Attributes
    ----------
    statistic, p_value
        ``zᵀ C0_reg⁻¹ z`` and its p-value from the fitted gamma null.
    neg_log10_p
        ``-log10 p_value``, exact where ``p_value`` underflows to 0
        (:func:`~edfgen.kernels.pvalues.neg_log10_gamma_sf`).
    n_phenotypes
        Phenotypes with a finite z-score (variants with fewer than all are NaN).
    min_p, min_p_corrected
        Smallest univariate p and ``min(1, min_p × m_eff)``.
    null_statistic
        ``T`` of the permuted z-vectors (the sample the gamma was fitted to).
    gamma_shape, gamma_scale, m_eff, eigen_floor
        The fitted null, the effective number of phenotypes and the eigenvalue floor of ``C0``.
    null_correlation : array [P, P]
        ``C0`` (before regularisation).
    """

    statistic: np.ndarray
    p_value: np.ndarray
    n_phenotypes: np.ndarray
    min_p: np.ndarray
    min_p_corrected: np.ndarray
    null_statistic: np.ndarray
    gamma_shape: float
    gamma_scale: float
    m_eff: float
    eigen_floor: float
    null_correlation: np.ndarray
    neg_log10_p: np.ndarray | None = None


def _quadratic(z: np.ndarray, inv: np.ndarray, chunk: int = 65536) -> np.ndarray:
    out = np.empty(len(z))
    for i in range(0, len(z), chunk):
        zz = z[i:i + chunk]
        out[i:i + chunk] = np.einsum("ij,ij->i", zz @ inv, zz)
    return out


def mostest(z: np.ndarray, z_perm: np.ndarray, p_values: np.ndarray, *, m_eff: float,
            n_keep: int = 10) -> MultivariateResult:
    """MOSTest statistic and p-value of every variant, and the min-P test corrected by ``m_eff``.

    Parameters
    ----------
    z : array [M, P]
        Univariate z-scores of the variants.
    z_perm : array [M, P]
        z-scores of the same variants with the genotypes' samples permuted (one permutation).
    p_values : array [M, P]
        Univariate p-values (for min-P).
    m_eff : float
        Effective number of phenotypes (Li & Ji 2005).
    n_keep : int
        Eigenvalues of ``C0`` are floored at the ``min(n_keep, P)``-th largest (MOSTest's default 10).

    Returns
    -------
    MultivariateResult

    Raises
    ------
    InputError
        Fewer than 2 phenotypes, or too few complete permuted z-vectors to estimate ``C0`` and the null.

    Notes
    -----
    Below :data:`GAMMA_FIT_MIN_VARIANTS` complete permuted z-vectors a WARNING says that the tail p-values
    extrapolate the fitted gamma (module docstring).

    References
    ----------
    van der Meer D et al. (2020) Nat Commun 11:3512. doi:10.1038/s41467-020-17368-1
    """
    from scipy import stats

    from edfgen.kernels.pvalues import neg_log10_gamma_sf

    z = np.asarray(z, dtype=float)
    zp = np.asarray(z_perm, dtype=float)
    M, P = z.shape
    if P < 2:
        raise InputError(f"--multivariate needs at least 2 phenotypes (got {P})")
    ok_perm = np.isfinite(zp).all(1)
    if ok_perm.sum() < min_null_variants(P):
        raise InputError(f"--multivariate: only {int(ok_perm.sum())} variants with a z-score for all {P} phenotypes "
                         f"under permutation (need >= {min_null_variants(P)}) to estimate the null correlation")
    C0 = np.corrcoef(zp[ok_perm], rowvar=False)
    s, U = np.linalg.eigh(C0)
    s, U = s[::-1], U[:, ::-1]
    floor = float(s[min(n_keep, P) - 1])
    inv = (U / np.maximum(s, floor)) @ U.T
    null = _quadratic(zp[ok_perm], inv)
    shape, _, scale = stats.gamma.fit(null, floc=0)
    if len(null) < GAMMA_FIT_MIN_VARIANTS:
        log.warning("--multivariate: the gamma null of MOSTest was fitted to %d permuted variants (< %d; MOSTest "
                    "fits millions): p-values near 5e-8 extrapolate its tail and can be several-fold off; each run "
                    "(each --chr job) fits its own null", len(null), GAMMA_FIT_MIN_VARIANTS)
    ok = np.isfinite(z).all(1)
    T = np.full(M, np.nan)
    T[ok] = _quadratic(z[ok], inv)
    p = np.full(M, np.nan)
    p[ok] = stats.gamma.sf(T[ok], shape, scale=scale)
    nlp = np.full(M, np.nan)
    nlp[ok] = neg_log10_gamma_sf(T[ok], shape, scale)
    with np.errstate(invalid="ignore"):
        pv = np.where(np.isfinite(p_values), p_values, np.inf)
        min_p = pv.min(1)
    min_p = np.where(np.isfinite(min_p), min_p, np.nan)
    return MultivariateResult(statistic=T, p_value=p, n_phenotypes=np.isfinite(z).sum(1), min_p=min_p,
                              min_p_corrected=np.minimum(1.0, min_p * m_eff), null_statistic=null,
                              gamma_shape=float(shape), gamma_scale=float(scale), m_eff=float(m_eff),
                              eigen_floor=floor, null_correlation=C0, neg_log10_p=nlp)
