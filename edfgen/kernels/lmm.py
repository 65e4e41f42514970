"""Exact leave-one-chromosome-out linear mixed model (``edfgen gwas --model lmm-loco``).

For each chromosome ``c`` the phenotype ``y`` (one column of ``Y``) is modelled as

    y = C b + g beta + u + e,   u ~ N(0, σg² K_{-c}),   e ~ N(0, σe² I),

with ``K_{-c}`` the genetic relationship matrix (GRM) of the standardised variants of all *other*
chromosomes (:func:`grm_numerator`), so the variant tested is never part of its own background
(GCTA-MLMA-LOCO, Yang et al. 2014). ``K_{-c} = U diag(s) U^T`` is decomposed once per chromosome; in
the rotated space ``V = σg² (K + δ I)`` is diagonal, so the REML estimate of ``δ = σe²/σg²`` for each
phenotype is a 1-D optimisation over ``log δ`` (EMMA, Kang et al. 2008; :func:`reml_delta`), and every
variant is tested by generalised least squares with ``δ`` fixed (EMMAX, Kang et al. 2010;
:func:`gls_association`): ``beta``, its SE with the residual variance re-estimated per variant, and a
Student-t p-value with ``n - k - 1`` degrees of freedom. A block of genotypes is rotated by ``U^T`` once
for all phenotypes; the phenotypes differ only by their weights ``1 / (s + δ_p)``.

Cost: ``O(N² M)`` for the GRM, ``O(N³)`` per chromosome for the eigendecomposition and ``O(N² m)`` per
block of ``m`` variants; memory a few ``N × N`` float64 matrices (hence the sample-size limit
:data:`MAX_SAMPLES` of ``edfgen gwas``). With ``δ`` given (one genome-wide estimate) and few phenotypes, one
Cholesky factor of ``K + δ_p I`` per phenotype whitens the data instead (:func:`whitened_nulls`,
:func:`gls_whitened`; ~1/12 of an eigendecomposition's CPU each, :func:`cholesky_is_cheaper` decides).

References
----------
Kang HM et al. (2008) Efficient control of population structure in model organism association mapping.
Genetics 178:1709. doi:10.1534/genetics.107.080101 (EMMA: REML on the eigendecomposition).
Kang HM et al. (2010) Variance component model to account for sample structure in genome-wide association
studies. Nat Genet 42:348. doi:10.1038/ng.548 (EMMAX: δ fixed from the null model).
Yang J et al. (2014) Advantages and pitfalls in the application of mixed-model association methods.
Nat Genet 46:100. doi:10.1038/ng.2876 (MLMA-LOCO).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from edfgen.kernels.association import AssociationResult, exact_fit

__all__ = ["MAX_SAMPLES", "standardise", "grm_numerator", "reml_delta", "NullFit", "fit_null", "null_from_eigen",
           "gls_association", "gls_rotated", "WhitenedNull", "whitened_nulls", "gls_whitened", "cholesky_is_cheaper"]

#: largest number of analysed samples for ``--model lmm-loco`` (dense N × N GRM and its eigendecomposition)
MAX_SAMPLES = 50_000

#: search interval of log δ (δ = σe²/σg²): h² from about 1 - 5e-5 to 5e-5
LOG_DELTA_BOUNDS = (-10.0, 10.0)

#: CPU of one dense symmetric eigendecomposition with eigenvectors (LAPACK syevd; syevr and scipy's drivers take
#: the same) of an N × N matrix, and of one Cholesky factorisation of it (with the copy of K + δI), in units of
#: the time of N³ multiply-adds in a matrix product: measured on one OpenBLAS thread at N = 3,000 (eigh 4.7 s,
#: Cholesky 0.39 s, U^T G for 1,500 variants 0.51 s, the triangular solve L^{-1} G 0.30 s, i.e. 0.6 of the
#: product's time); see :func:`cholesky_is_cheaper`
EIGH_COST_N3 = 4.5
CHOLESKY_COST_N3 = 0.4
TRIANGULAR_SOLVE_COST = 0.6


def standardise(genotypes: np.ndarray) -> np.ndarray:
    """Columns mean-imputed, centred and scaled to unit variance; monomorphic columns become 0.

    ``genotypes`` ``[N, m]``, NaN = missing call.

    Parameters
    ----------
    genotypes : array [N, m]
        Effect-allele counts or dosages (NaN = missing call).

    Returns
    -------
    array [N, m]
        Standardised genotypes ``Z`` (float64).
    """
    G = np.asarray(genotypes, dtype=float)
    called = ~np.isnan(G)
    mean = np.where(called, G, 0.0).sum(0) / np.maximum(called.sum(0), 1)
    Z = np.where(called, G, mean) - mean
    sd = np.sqrt((Z * Z).mean(0))
    return Z / np.where(sd > 1e-12, sd, np.inf)


def grm_numerator(genotypes: np.ndarray) -> tuple[np.ndarray, int]:
    """``(Z Z^T, number of polymorphic columns)`` of one block (``Z`` from :func:`standardise`); the GRM
    of a set of variants is the sum of its blocks' numerators divided by the sum of their counts
    (Yang J et al. 2011 Am J Hum Genet 88:76, GCTA).

    Parameters
    ----------
    genotypes : array [N, m]
        One block of effect-allele counts or dosages (NaN = missing call).

    Returns
    -------
    tuple of (array [N, N], int)
        ``Z Z^T`` and the number of polymorphic variants it sums over.
    """
    Z = standardise(genotypes)
    return Z @ Z.T, int((Z != 0).any(0).sum())


def _neg_reml(log_delta: float, s: np.ndarray, yt: np.ndarray, Ct: np.ndarray) -> float:
    """Minus the REML log-likelihood (σg² profiled out, constants dropped) on rotated data."""
    n, k = Ct.shape
    w = 1.0 / (s + np.exp(log_delta))
    A = Ct.T @ (Ct * w[:, None])
    b = np.linalg.solve(A, Ct.T @ (yt * w))
    r = yt - Ct @ b
    sig = (r * r * w).sum() / (n - k)
    return 0.5 * ((n - k) * np.log(sig) - np.log(w).sum() + np.linalg.slogdet(A)[1])


def _reml_score(log_delta: float, s: np.ndarray, yt: np.ndarray, Ct: np.ndarray) -> float:
    """The derivative of :func:`_neg_reml` in ``log δ``: with ``w = 1 / (s + δ)``, ``A = C'WC`` and ``r`` the GLS
    residual, ``δ/2 [Σ w - tr(A^-1 C'W²C) - (n - k) Σ w² r² / Σ w r²]``."""
    n, k = Ct.shape
    delta = np.exp(log_delta)
    w = 1.0 / (s + delta)
    A = Ct.T @ (Ct * w[:, None])
    b = np.linalg.solve(A, Ct.T @ (yt * w))
    r = yt - Ct @ b
    trace = np.trace(np.linalg.solve(A, Ct.T @ (Ct * (w * w)[:, None])))
    return 0.5 * delta * (w.sum() - trace - (n - k) * (r * r * w * w).sum() / (r * r * w).sum())


def reml_delta(s: np.ndarray, yt: np.ndarray, Ct: np.ndarray) -> float:
    """REML estimate of ``δ = σe²/σg²`` for one phenotype (EMMA, Kang et al. 2008).

    Parameters
    ----------
    s : array [N]
        Eigenvalues of the GRM (negative round-off clipped to 0).
    yt, Ct : arrays [N], [N, k]
        Phenotype and covariates rotated by ``U^T`` (``U`` the GRM's eigenvectors).

    Returns
    -------
    float
        ``δ``: a grid over ``log δ`` in :data:`LOG_DELTA_BOUNDS` (41 points), Brent's bounded search around the
        best grid point, then the root of the REML score (:func:`_reml_score`) next to it. The minimum of the
        likelihood itself is flat (found to ~1e-8 at best, 1e-6 by Brent's tolerance): the rounding of another
        BLAS thread count in the GRM's eigendecomposition moved ``δ`` by 1e-8 and the statistics by up to 1e-6
        relative (``--threads 1`` vs ``--threads 2``, review s41); the score's root is fixed to rounding.
    """
    grid = np.linspace(*LOG_DELTA_BOUNDS, 41)
    vals = np.array([_neg_reml(x, s, yt, Ct) for x in grid])
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    from scipy import optimize  # here, not at the top: scipy.optimize is ~0.3 s of every gwas start

    best = optimize.minimize_scalar(_neg_reml, bounds=(lo, hi), args=(s, yt, Ct), method="bounded",
                                    options={"xatol": 1e-6})
    x = best.x if best.fun <= vals[i] else grid[i]
    a, b = max(x - 1e-4, LOG_DELTA_BOUNDS[0]), min(x + 1e-4, LOG_DELTA_BOUNDS[1])
    fa, fb = _reml_score(a, s, yt, Ct), _reml_score(b, s, yt, Ct)
    if np.isfinite(fa) and np.isfinite(fb) and fa < 0 < fb:        # an interior minimum: its score's root
        x = optimize.brentq(_reml_score, a, b, args=(s, yt, Ct), xtol=1e-14, rtol=4 * np.finfo(float).eps)
    return float(np.exp(x))


@dataclass(frozen=True)
class NullFit:
    """The null model of every phenotype on one GRM: its eigenvectors, ``δ`` per phenotype and the
    rotated, weighted quantities each variant's GLS test reuses."""

    U: np.ndarray | None  # [N, N] eigenvectors of the GRM (None: a whitened fit, WhitenedNull)
    weights: np.ndarray   # [N, P] 1 / (s + δ_p)
    Ct: np.ndarray        # [N, k] U^T C
    resid: np.ndarray     # [N, P] rotated phenotype minus its GLS covariate fit
    A_inv: np.ndarray     # [P, k, k] (Ct^T W_p Ct)^-1
    yy: np.ndarray        # [P] Σ w r²
    delta: np.ndarray     # [P]

    @property
    def h2(self) -> np.ndarray:
        """REML SNP-heritability ``1 / (1 + δ)`` (on the GRM's scale: mean diagonal ≈ 1)."""
        return 1.0 / (1.0 + self.delta)


def fit_null(grm: np.ndarray, phenotypes: np.ndarray, covariates: np.ndarray,
             delta: np.ndarray | None = None) -> NullFit:
    """Eigendecomposition of ``grm`` and REML ``δ`` of each phenotype column (complete data, ``[N, P]``), or the
    given ``delta`` (:func:`null_from_eigen`).

    Parameters
    ----------
    grm : array [N, N]
        Genetic relationship matrix (e.g. LOCO) of the analysed samples.
    phenotypes : array [N, P]
        Phenotype columns, no missing values.
    covariates : array [N, k]
        Fixed-effect design ``C`` (intercept included as a column when wanted).
    delta : array [P], optional
        ``δ = σe²/σg²`` per phenotype; REML-estimated (:func:`reml_delta`) when omitted.

    Returns
    -------
    NullFit
        Eigenvectors, weights, rotated covariates and residuals, ``delta`` (and ``h2``) per phenotype.

    References
    ----------
    Kang HM et al. (2008) Genetics 178:1709. doi:10.1534/genetics.107.080101 (EMMA)
    Kang HM et al. (2010) Nat Genet 42:348. doi:10.1038/ng.548 (EMMAX)
    """
    s, U = np.linalg.eigh(grm)
    return null_from_eigen(s, U, phenotypes, covariates, delta=delta)


def null_from_eigen(s: np.ndarray, U: np.ndarray, phenotypes: np.ndarray, covariates: np.ndarray,
                    delta: np.ndarray | None = None) -> NullFit:
    """:func:`fit_null` from the GRM's eigendecomposition ``(s, U)``; ``delta`` ``[P]`` fixes ``δ`` of each
    phenotype instead of its REML estimate on this GRM (e.g. one genome-wide estimate for every LOCO GRM).

    Parameters
    ----------
    s : array [N]
        Eigenvalues of the GRM (negative round-off clipped to 0).
    U : array [N, N]
        Its eigenvectors (columns).
    phenotypes : array [N, P]
        Phenotype columns, no missing values.
    covariates : array [N, k]
        Fixed-effect design ``C``.
    delta : array [P], optional
        Fixed ``δ`` per phenotype; REML-estimated on this GRM when omitted.

    Returns
    -------
    NullFit
    """
    s = np.maximum(s, 0.0)
    Ct = U.T @ covariates
    Yt = U.T @ phenotypes
    if delta is None:
        delta = np.array([reml_delta(s, Yt[:, j], Ct) for j in range(Yt.shape[1])])
    delta = np.asarray(delta, dtype=float)
    W = 1.0 / (s[:, None] + delta[None, :])
    k, P = Ct.shape[1], Yt.shape[1]
    A_inv = np.empty((P, k, k))
    R = np.empty_like(Yt)
    for j in range(P):
        A_inv[j] = np.linalg.inv(Ct.T @ (Ct * W[:, j:j + 1]))
        R[:, j] = Yt[:, j] - Ct @ (A_inv[j] @ (Ct.T @ (Yt[:, j] * W[:, j])))
    return NullFit(U=U, weights=W, Ct=Ct, resid=R, A_inv=A_inv, yy=(W * R * R).sum(0), delta=delta)


@dataclass(frozen=True)
class WhitenedNull:
    """The null model of one phenotype with ``δ`` given, by the Cholesky factor ``L`` of ``K + δ I`` (no
    eigendecomposition): ``L^{-1}`` whitens the data, and :attr:`fit` is the null fit in the whitened space
    (weights 1, ``Ct = L^{-1} C``), so :func:`gls_rotated` applies to ``L^{-1} G`` unchanged."""

    L: np.ndarray         # [N, N] lower Cholesky factor of K + δ I
    fit: NullFit          # one phenotype, weights 1, U unused (None)


def whitened_nulls(grm: np.ndarray, phenotypes: np.ndarray, covariates: np.ndarray,
                   delta: np.ndarray) -> list[WhitenedNull]:
    """:func:`null_from_eigen` with ``delta`` fixed, one Cholesky factorisation of ``grm + δ_p I`` per phenotype
    column instead of one eigendecomposition shared by all: cheaper for few phenotypes
    (:func:`cholesky_is_cheaper`), the same GLS algebra (Kang et al. 2010).

    Parameters
    ----------
    grm : array [N, N]
        Genetic relationship matrix ``K``.
    phenotypes : array [N, P]
        Phenotype columns, no missing values.
    covariates : array [N, k]
        Fixed-effect design ``C``.
    delta : array [P]
        ``δ = σe²/σg²`` of each phenotype (e.g. the genome-wide REML estimate of :func:`fit_null`).

    Returns
    -------
    list of WhitenedNull
        One per phenotype column, in order.
    """
    from scipy import linalg

    C = np.asarray(covariates, float)
    n, k = C.shape
    out = []
    for j, d in enumerate(np.asarray(delta, float)):
        V = np.array(grm, dtype=float, order="F")     # one N x N copy: the diagonal added in place, and
        V.flat[::n + 1] += d                           # Fortran order so LAPACK factors it without another
        L = linalg.cholesky(V, lower=True, overwrite_a=True, check_finite=False)
        Cw = linalg.solve_triangular(L, C, lower=True, check_finite=False)
        yw = linalg.solve_triangular(L, phenotypes[:, j], lower=True, check_finite=False)
        A_inv = np.linalg.inv(Cw.T @ Cw)
        r = yw - Cw @ (A_inv @ (Cw.T @ yw))
        fit = NullFit(U=None, weights=np.ones((n, 1)), Ct=Cw, resid=r[:, None], A_inv=A_inv[None], yy=np.array([r @ r]),
                      delta=np.array([d]))
        out.append(WhitenedNull(L=L, fit=fit))
    return out


def gls_whitened(genotypes: np.ndarray, nulls: list[WhitenedNull]) -> AssociationResult:
    """:func:`gls_association` on the null fits of :func:`whitened_nulls` (one per phenotype): each phenotype's
    statistics from the block whitened by its ``L^{-1}`` (a triangular solve) and :func:`gls_rotated`.

    Parameters
    ----------
    genotypes : array [N, m]
        Effect-allele counts or dosages (NaN = missing call, mean-imputed).
    nulls : list of WhitenedNull
        From :func:`whitened_nulls`, one per phenotype.

    Returns
    -------
    AssociationResult
        ``[m, P]`` statistics as :func:`gls_association`, phenotypes in the order of ``nulls``.
    """
    from scipy import linalg

    Gi, mean = _mean_imputed(genotypes)
    parts = [gls_rotated(linalg.solve_triangular(w.L, Gi, lower=True, check_finite=False), mean, w.fit)
             for w in nulls]
    return AssociationResult(**{f: np.concatenate([getattr(r, f) for r in parts], axis=1)
                                for f in AssociationResult.__dataclass_fields__})


def cholesky_is_cheaper(n: int, variants: int, phenotypes: int) -> bool:
    """Whether testing ``variants`` (``m``) variants against ``phenotypes`` (``P``) phenotypes with ``δ`` fixed costs
    less by one Cholesky factor per phenotype (:func:`whitened_nulls`, :func:`gls_whitened`) than by one
    eigendecomposition shared by all: ``P (0.4 N³ + 0.6 N² m) < 4.5 N³ + N² m`` in the time of multiply-adds of a
    matrix product (:data:`CHOLESKY_COST_N3`, :data:`TRIANGULAR_SOLVE_COST`, :data:`EIGH_COST_N3`; the rotation
    ``U^T G`` is ``N² m``). At N = 3,000 and m = 1,500: up to 7 phenotypes.

    Parameters
    ----------
    n : int
        Number of samples ``N``.
    variants : int
        Number of variants ``m`` to test.
    phenotypes : int
        Number of phenotypes ``P``.

    Returns
    -------
    bool
    """
    n3, n2m = float(n) ** 3, float(n) ** 2 * variants
    return phenotypes * (CHOLESKY_COST_N3 * n3 + TRIANGULAR_SOLVE_COST * n2m) < EIGH_COST_N3 * n3 + n2m


def gls_association(genotypes: np.ndarray, null: NullFit) -> AssociationResult:
    """GLS test of each variant of a block against every phenotype with ``δ`` fixed (EMMAX).

    Parameters
    ----------
    genotypes : array [N, m]
        Effect-allele counts or dosages (NaN = missing call, mean-imputed), rows in the order of the GRM.
    null : NullFit

    Returns
    -------
    AssociationResult ``[m, P]``: ``beta`` per copy of the effect allele, ``standard_error`` with the
    residual variance re-estimated per variant, two-sided Student-t ``p_value`` with ``n - k - 1``
    degrees of freedom (= :class:`statsmodels.regression.linear_model.GLS` with ``sigma = K + δ I``).
    Monomorphic variants get NaN.

    Notes
    -----
    With ``g~ = U^T g``, ``W_p = diag(1/(s + δ_p))`` and ``r_p`` the rotated residual of the null GLS fit
    (so ``Ct^T W_p r_p = 0``): ``g^T P_p y = g~^T W_p r_p`` and ``g^T P_p g = g~^T W_p g~ -
    (Ct^T W_p g~)^T A_p^{-1} (Ct^T W_p g~)`` (Frisch-Waugh-Lovell); all phenotypes from one rotation.

    With ``σg² = y^T P y / (n - k)`` (REML, profiled) and GCTA-MLMA's ``χ² = (g^T P y)² / g^T P g`` at the same
    ``V``, the statistic here is ``t² = χ² (n - k - 1) / (n - k - χ²)`` exactly; the 1-df χ² of its p-value is
    GCTA's to within the Student-t tail (about ``1 - 1/n`` of it at null values).
    """
    Gi, mean = _mean_imputed(genotypes)
    return gls_rotated(null.U.T @ Gi, mean, null)


def _mean_imputed(genotypes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``genotypes [N, m]`` as float with missing calls (NaN) at their column's mean, and those means: NaN for a
    column without a called genotype (imputed 0, a constant column, so its statistics are NA; its allele frequency
    is NA, not 0, as the linear test's: review s39edge)."""
    G = np.asarray(genotypes, dtype=float)
    called = ~np.isnan(G)
    count = called.sum(0)
    mean = np.where(called, G, 0.0).sum(0) / np.maximum(count, 1)
    return np.where(called, G, mean), np.where(count > 0, mean, np.nan)


def gls_rotated(Gr: np.ndarray, mean: np.ndarray, null: NullFit) -> AssociationResult:
    """:func:`gls_association` of genotypes already rotated, ``Gr = U^T G`` (``G`` mean-imputed, ``[N, m]``;
    ``mean`` its column means): several null fits on the same GRM (same ``U``) share one rotation.

    Parameters
    ----------
    Gr : array [N, m]
        ``U^T G`` (or ``L^{-1} G`` for a whitened null), ``G`` mean-imputed.
    mean : array [m]
        Column means of ``G`` (effect-allele count), for the allele frequency.
    null : NullFit
        Null fit on the same rotation.

    Returns
    -------
    AssociationResult
        ``[m, P]`` ``beta``, ``standard_error``, ``p_value``, ``n``, ``effect_allele_frequency``.

    References
    ----------
    Kang HM et al. (2010) Nat Genet 42:348. doi:10.1038/ng.548 (EMMAX)
    """
    N, m = Gr.shape
    W = null.weights
    k = null.Ct.shape[1]
    gy = Gr.T @ (W * null.resid)                                # [m, P]
    raw = (Gr * Gr).T @ W                                       # [m, P]
    Q = [(null.Ct[:, j:j + 1] * Gr).T @ W for j in range(k)]    # Ct_j^T W_p g~ : k arrays [m, P]
    gg = raw.copy()
    for a in range(k):
        for b in range(k):
            gg -= Q[a] * null.A_inv[None, :, a, b] * Q[b]
    with np.errstate(invalid="ignore", divide="ignore"):
        gg = np.where(gg > 1e-8 * np.maximum(raw, 1e-300), gg, np.nan)
        beta = gy / gg
        df = N - k - 1
        rss = null.yy[None, :] - beta * gy
        exact = exact_fit(rss, null.yy[None, :])           # t beyond rounding: NA, as the linear test
        beta = np.where(exact, np.nan, beta)
        se = np.sqrt(np.maximum(rss, 0.0) / df / gg)
        se[np.isnan(beta)] = np.nan
        p = 2.0 * special.stdtr(df, -np.abs(beta / se))
    P = W.shape[1]
    return AssociationResult(beta=beta, standard_error=se, p_value=p, n=np.full((m, P), N, dtype=np.int64),
                             effect_allele_frequency=np.repeat((mean / 2.0)[:, None], P, axis=1))
