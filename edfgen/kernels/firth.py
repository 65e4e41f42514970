"""Firth-penalised logistic regression, the fallback of the fast engine's logistic Wald test
(``edfgen gwas --binary --logistic-test firth-fallback``, REGENIE's ``--firth --approx``).

Firth's penalty ``½ log |I(θ)|`` (Jeffreys prior) removes the first-order bias of the maximum-likelihood
estimate and keeps it finite under separation (a rare variant carried only by cases), where the Wald
test fails or is anti-conservative. REGENIE's approximate version, used here:

1. **Null fit** (once per phenotype, and per chromosome when an offset such as a ridge-LOCO prediction
   changes with the chromosome): Firth logistic regression of ``y`` on the covariates ``C`` with the offset
   ``o`` (:func:`firth_null_fit`, all ``K`` coefficients penalised, Newton steps on the modified score with
   step halving on the penalised log-likelihood, as R ``logistf``).
2. **Variant fit**: the genotype is residualised on the covariates (least squares, as REGENIE does for
   every test; without it the fixed intercept would bias ``β`` towards 0), the covariates' effects are
   fixed at the null fit, ``η0 = C b0 + o`` becomes the offset, and only the variant's coefficient ``β`` of
   the residualised genotype is fitted under the one-parameter Firth penalty
   ``½ log Σ w g²`` (:func:`firth_approx`, vectorised over variants). The p-value is the penalised
   likelihood-ratio test ``χ² = 2 (ℓ*(β̂) − ℓ*(0))`` on 1 df, and the standard error ``|β̂| / sqrt(χ²)``
   (as REGENIE and Hail's Firth test report it).

:func:`firth_fallback` replaces the Wald statistics of the variant x phenotype pairs whose Wald p is
below a threshold (REGENIE ``--pThresh``, default 0.05) or whose Wald fit failed.

References
----------
Firth D (1993) Bias reduction of maximum likelihood estimates. Biometrika 80:27. doi:10.1093/biomet/80.1.27
Heinze G, Schemper M (2002) A solution to the problem of separation in logistic regression. Stat Med
21:2409. doi:10.1002/sim.1047
Mbatchou J et al. (2021) Computationally efficient whole-genome regression for quantitative and binary
traits. Nat Genet 53:1097 (Methods: Firth correction, approximate version). doi:10.1038/s41588-021-00870-7
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edfgen.kernels.logistic import LogisticAssociationResult, PreparedLogistic, _mean_impute

__all__ = ["firth_null_fit", "firth_approx", "firth_fallback", "FirthApprox", "FIRTH_P_THRESHOLD"]

#: Wald p below which the Firth fit replaces the Wald test (REGENIE's ``--pThresh`` default)
FIRTH_P_THRESHOLD = 0.05
#: largest Newton step on any coefficient (R logistf's ``maxstep``)
MAX_STEP = 5.0


def _loglik(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Bernoulli log-likelihood ``Σ y η - log(1 + e^η)`` over axis 0 (stable for large ``|η|``)."""
    return (y * eta - np.logaddexp(0.0, eta)).sum(axis=0)


def firth_null_fit(covariates: np.ndarray, y: np.ndarray, offset: np.ndarray | None = None, *,
                   max_iterations: int = 100, tolerance: float = 1e-8, max_halvings: int = 25):
    """Firth logistic regression of ``y`` on ``covariates`` with a fixed ``offset``.

    Returns ``(b [K], penalised log-likelihood, converged)``: Newton steps ``I(b)^-1 U*(b)`` on the modified
    score ``U* = C^T (y - μ + h (½ - μ))`` (``h`` the hat diagonal of ``W^½ C``), each capped at
    :data:`MAX_STEP` and halved until the penalised log-likelihood ``ℓ + ½ log|C^T W C|`` does not decrease;
    converged when every step is below ``tolerance``.
    """
    from scipy.special import expit

    C = np.asarray(covariates, dtype=float)
    y = np.asarray(y, dtype=float)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)

    def evaluate(b):
        eta = C @ b + off
        mu = expit(eta)
        w = mu * (1 - mu)
        info = C.T @ (C * w[:, None])
        sign, logdet = np.linalg.slogdet(info)
        if sign <= 0:
            return -np.inf, None, None
        inv = np.linalg.inv(info)
        h = w * np.einsum("ij,jk,ik->i", C, inv, C)
        return _loglik(y, eta) + 0.5 * logdet, C.T @ (y - mu + h * (0.5 - mu)), inv

    b = np.zeros(C.shape[1])
    avg = y.mean()
    if 0 < avg < 1 and np.allclose(C[:, 0], 1.0):
        b[0] = np.log(avg / (1 - avg))
    ll, score, inv = evaluate(b)
    if inv is None:
        return b, ll, False
    for _ in range(max_iterations):
        step = inv @ score
        biggest = np.abs(step).max()
        if biggest < tolerance:
            return b, ll, True
        if biggest > MAX_STEP:
            step *= MAX_STEP / biggest
        for _ in range(max_halvings):
            new = evaluate(b + step)
            if new[2] is not None and new[0] >= ll - 1e-12 * abs(ll):
                break
            step /= 2
        else:
            return b, ll, False
        b = b + step
        ll, score, inv = new
    return b, ll, False


@dataclass(frozen=True)
class FirthApprox:
    """Per-variant results of :func:`firth_approx` (arrays ``[m]``): ``beta``, ``standard_error``
    (``|β| / sqrt(χ²)``), ``p_value`` (penalised LRT), ``chi2``, ``converged``."""

    beta: np.ndarray
    standard_error: np.ndarray
    p_value: np.ndarray
    chi2: np.ndarray
    converged: np.ndarray


def firth_approx(genotypes: np.ndarray, y: np.ndarray, offset: np.ndarray, *, max_iterations: int = 100,
                 tolerance: float = 1e-8, max_halvings: int = 25) -> FirthApprox:
    """One-parameter Firth fit of every variant with the null linear predictor ``offset`` fixed (REGENIE's
    ``--firth --approx``), vectorised over the columns of ``genotypes [n, m]`` (complete, e.g. mean-imputed).

    For each variant ``g``: ``logit μ = offset + g β``, penalised log-likelihood
    ``ℓ*(β) = ℓ(β) + ½ log Σ μ (1 - μ) g²``, maximised by Newton steps on the modified score
    ``Σ g (y - μ + h (½ - μ))`` with ``h = w g² / Σ w g²`` (capped at :data:`MAX_STEP`, halved while
    ``ℓ*`` decreases). ``χ² = 2 (ℓ*(β̂) - ℓ*(0))``, ``p`` its upper tail on 1 df.

    The step divides the modified score by the curvature of ``ℓ*`` itself,
    ``S - ½ (S''/S - (S'/S)²)`` with ``S = Σ w g²``, ``S' = Σ w (1 - 2μ) g³``,
    ``S'' = Σ w ((1 - 2μ)² - 2w) g⁴`` (the Fisher information ``S`` where that is not positive): with
    ``S`` alone the step is twice too long for a variant carried by one sample (the penalty's curvature
    then equals the likelihood's), and the iterations swing around the maximum without converging.
    """
    from scipy.special import chdtrc, expit

    G = np.asarray(genotypes, dtype=float)
    y = np.asarray(y, dtype=float)[:, None]
    off = np.asarray(offset, dtype=float)[:, None]
    m = G.shape[1]

    def evaluate(beta, Gs):
        eta = off + Gs * beta
        mu = expit(eta)
        w = mu * (1 - mu)
        wg2 = w * Gs * Gs
        info = wg2.sum(0)
        d = 1 - 2 * mu
        s1 = (wg2 * d * Gs).sum(0)                       # S'
        s2 = (wg2 * (d * d - 2 * w) * Gs * Gs).sum(0)    # S''
        with np.errstate(divide="ignore", invalid="ignore"):
            ll = _loglik(y, eta) + 0.5 * np.log(info)
            h = wg2 / info
            curv = info - 0.5 * (s2 / info - (s1 / info) ** 2)
        score = (Gs * (y - mu + h * (0.5 - mu))).sum(0)
        return ll, score, np.where(np.isfinite(curv) & (curv > 0), curv, info)   # > 0 where info > 0

    beta = np.zeros(m)
    ll0, score, curv = evaluate(beta, G)
    ll = ll0.copy()
    converged = np.zeros(m, dtype=bool)
    failed = ~(curv > 0)
    active = np.flatnonzero(~failed)
    for _ in range(max_iterations):
        if not active.size:
            break
        step = score[active] / curv[active]
        done = np.abs(step) < tolerance
        converged[active[done]] = True
        active, step = active[~done], step[~done]
        step = np.clip(step, -MAX_STEP, MAX_STEP)
        todo, accepted = np.arange(len(active)), np.zeros(len(active), dtype=bool)
        for _ in range(max_halvings):
            if not todo.size:
                break
            idx = active[todo]
            new_ll, new_score, new_curv = evaluate(beta[idx] + step[todo], G[:, idx])
            good = (new_curv > 0) & (new_ll >= ll[idx] - 1e-12 * np.abs(ll[idx]))
            gi = idx[good]
            beta[gi] += step[todo[good]]
            ll[gi], score[gi], curv[gi] = new_ll[good], new_score[good], new_curv[good]
            accepted[todo[good]] = True
            step[todo[~good]] /= 2
            todo = todo[~good]
        failed[active[~accepted]] = True
        active = active[accepted]
    converged &= ~failed
    chi2 = np.maximum(2.0 * (ll - ll0), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.abs(beta) / np.sqrt(chi2)
    p = chdtrc(1, chi2)
    for a in (beta, se, p, chi2):
        a[~converged] = np.nan
    return FirthApprox(beta=beta, standard_error=se, p_value=p, chi2=chi2, converged=converged)


def firth_fallback(genotypes: np.ndarray, prepared: PreparedLogistic, result: LogisticAssociationResult,
                   threshold: float = FIRTH_P_THRESHOLD) -> LogisticAssociationResult:
    """The Wald ``result`` of :func:`edfgen.kernels.logistic.logistic_association` with the variant x
    phenotype pairs whose Wald p is below ``threshold``, or whose Wald fit failed, replaced by
    :func:`firth_approx` (null Firth fit of each phenotype's covariates with ``prepared.offset``; genotypes
    mean-imputed within each missingness group, as the Wald test, then residualised on the covariates). ``result.firth`` marks them (Firth fits
    that fail too are NaN, ``converged`` False).
    """
    G = np.asarray(genotypes, dtype=float)
    beta, se, p = (np.array(a, dtype=float) for a in (result.beta, result.standard_error, result.p_value))
    converged = np.array(result.converged, dtype=bool)
    firth = np.zeros_like(converged)
    C = prepared.covariates
    for mask, cols, _b0 in prepared.groups:
        Gm = None
        for pcol in cols:
            with np.errstate(invalid="ignore"):
                pick = (p[:, pcol] < threshold) | ~converged[:, pcol]
            if not pick.any():
                continue
            if Gm is None:   # once per missingness group: imputed genotypes, covariates and their QR basis
                Gm, _ = _mean_impute(G if mask.all() else G[mask])
                polymorphic = np.ptp(Gm, axis=0) > 0
                Cg = C[mask]
                Q, _ = np.linalg.qr(Cg)
            idx = np.flatnonzero(pick & polymorphic)
            if not idx.size:
                continue
            y = prepared.phenotypes[mask, pcol]
            off = None if prepared.offset is None else prepared.offset[mask, pcol]
            b0, _ll, ok = _null_fit(prepared, mask, pcol, Cg, y, off)
            firth[idx, pcol] = True
            if not ok:
                beta[idx, pcol] = se[idx, pcol] = p[idx, pcol] = np.nan
                converged[idx, pcol] = False
                continue
            eta0 = Cg @ b0 + (0.0 if off is None else off)
            Gi = Gm[:, idx]
            fit = firth_approx(Gi - Q @ (Q.T @ Gi), y, eta0)
            beta[idx, pcol], se[idx, pcol], p[idx, pcol] = fit.beta, fit.standard_error, fit.p_value
            converged[idx, pcol] = fit.converged
    return replace(result, beta=beta, standard_error=se, p_value=p, converged=converged, firth=firth)


def _null_fit(prepared: PreparedLogistic, mask, pcol: int, C, y, off):
    """:func:`firth_null_fit` of one phenotype, cached on ``prepared`` (one per phenotype and offset)."""
    key = (pcol, int(mask.sum()))
    cache = prepared.firth_null
    if key not in cache:
        cache[key] = firth_null_fit(C, y, off)
    return cache[key]
