"""SuSiE fine-mapping on summary statistics with an LD matrix (``susie_rss``), credible sets, PIPs and the
kriging check of LD-panel fit, transcribed from susieR 0.12 (``susie_rss``, ``susie_suff_stat``,
``single_effect_regression_ss``, ``susie_get_cs``, ``susie_get_pip``, ``estimate_s_rss``, ``kriging_rss``).

With z-scores ``z``, an LD matrix ``R`` and sample size ``n``: ``z̃ = z sqrt((n - 1) / (z² + n - 2))``,
``X'X = (n - 1) R``, ``X'y = sqrt(n - 1) z̃``, ``y'y = n - 1``, residual variance fixed at 1; ``L`` single
effects fitted by iterative Bayesian stepwise selection (IBSS) until the ELBO changes by < ``tol``; each
effect's prior variance estimated by maximising its marginal likelihood over ``log V`` in [-30, 15]
(``optim``/Brent in susieR; set to 0 when no better than the null).

References
----------
Wang G, Sarkar A, Carbonetto P, Stephens M (2020) "A simple new approach to variable selection in regression,
with application to genetic fine mapping", J R Stat Soc B 82:1273, doi:10.1111/rssb.12388.
Zou Y, Carbonetto P, Wang G, Stephens M (2022) "Fine-mapping from summary data with the 'Sum of Single
Effects' model", PLoS Genet 18:e1010299, doi:10.1371/journal.pgen.1010299.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats
from scipy.special import logsumexp

from edfgen.exceptions import InputError

PRIOR_TOL = 1e-9


@dataclass(frozen=True)
class CredibleSet:
    """One credible set: ``effect`` (row of ``alpha``), ``variants`` (indices, by decreasing alpha), its
    ``coverage`` (summed alpha) and ``min_abs_corr`` (purity)."""

    effect: int
    variants: np.ndarray
    coverage: float
    min_abs_corr: float


@dataclass(frozen=True)
class SusieResult:
    """A SuSiE fit: ``alpha, mu, mu2 [L, p]``, prior variances ``V [L]``, single-effect log Bayes factors
    ``lbf [L]`` and per-variant ``lbf_variable [L, p]``, ``pip [p]``, credible ``sets``, ``elbo`` trace."""

    alpha: np.ndarray
    mu: np.ndarray
    mu2: np.ndarray
    V: np.ndarray
    lbf: np.ndarray
    lbf_variable: np.ndarray
    pip: np.ndarray
    sets: list[CredibleSet] = field(default_factory=list)
    elbo: np.ndarray = field(default_factory=lambda: np.zeros(0))
    converged: bool = True


def logsumexp_1d(a: np.ndarray, b: np.ndarray | None = None) -> float:
    """``scipy.special.logsumexp(a, b=b)`` of a 1-D array without its array-API dispatch (tens of microseconds a
    call, and SuSiE and coloc call it ~100,000 times a demo): the same operations as scipy 1.17's ``_logsumexp``
    (the largest term kept out of the sum: ``log1p(sum / m) + log(m) + max``) where every ``a`` is finite, every
    ``b`` positive and the maximum is unique; scipy itself otherwise (ties, infinities, zero or negative weights).

    Parameters
    ----------
    a : array [p]
        Log terms.
    b : array [p], optional
        Weights.

    Returns
    -------
    float
    """
    a = np.asarray(a, dtype=np.float64)
    i = int(np.argmax(a)) if a.ndim == 1 and a.size else -1
    if i < 0 or not np.isfinite(a).all() or (b is not None and not (np.asarray(b) > 0).all()):
        return float(logsumexp(a, b=b))
    a_max = a[i]
    shifted = a - a_max
    if np.count_nonzero(shifted == 0.0) != 1:
        return float(logsumexp(a, b=b))
    shifted[i] = -np.inf
    m = 1.0 if b is None else float(b[i])
    e = np.exp(shifted) if b is None else b * np.exp(shifted)
    s = e.sum()
    s = s / m if s != 0 else s
    out = float(np.log1p(s) + np.log(m) + a_max)
    # scipy's last step for a non-finite result (a tiny weight on the largest term: sum / m overflows to inf)
    return out if np.isfinite(out) else float(logsumexp(a, b=b))


def _lbf(betahat, shat2, v):
    """log BF of each variant for prior variance ``v``: ``log N(b; 0, v + s²) - log N(b; 0, s²)``."""
    return 0.5 * np.log(shat2 / (v + shat2)) + 0.5 * betahat * betahat * (1.0 / shat2 - 1.0 / (v + shat2))


def _loglik(v, betahat, shat2, prior):
    lbf = _lbf(betahat, shat2, v)
    m = lbf.max()
    return float(m + np.log(np.sum(prior * np.exp(lbf - m))))


def _loglik_of(betahat, shat2, prior):
    """``v -> _loglik(v, betahat, shat2, prior)`` with the terms that do not depend on ``v`` computed once (the
    optimiser calls it ~25 times per single-effect regression) and the same floating-point operations in the same
    order, so the values are bit-identical to :func:`_lbf` / :func:`_loglik`."""
    half_b2, inv_s2 = 0.5 * betahat * betahat, 1.0 / shat2

    def loglik(v) -> float:
        vs = v + shat2
        lbf = 0.5 * np.log(shat2 / vs) + half_b2 * (inv_s2 - 1.0 / vs)
        m = lbf.max()
        lbf -= m
        np.exp(lbf, out=lbf)
        lbf *= prior
        return float(m + np.log(lbf.sum()))

    return loglik


def optimize_prior_variance(betahat, shat2, prior, v_init: float, check_null_threshold: float = 0.0) -> float:
    """susieR ``optimize_prior_variance(optimize_V = "optim")``: maximise the single-effect likelihood over
    ``log V`` in [-30, 15]; keep ``v_init`` if better; 0 when the null is at least as likely.

    Parameters
    ----------
    betahat : array [p]
        Per-variant least-squares effects of the single-effect regression (``X'r / d``).
    shat2 : array [p]
        Their sampling variances (``sigma2 / d``).
    prior : array [p]
        Prior inclusion probabilities (sum to 1).
    v_init : float
        Current prior variance, kept when at least as likely as the optimum found.
    check_null_threshold : float, default 0.0
        Log-likelihood margin by which ``V`` must beat ``V = 0``, else 0 is returned.

    Returns
    -------
    float
        Prior variance of the effect (0 when the null is as likely).

    References
    ----------
    Wang G et al. (2020) J R Stat Soc B 82:1273. doi:10.1111/rssb.12388
    """
    loglik = _loglik_of(betahat, shat2, prior)
    f = lambda lv: -loglik(np.exp(lv))          # noqa: E731
    lv = optimize.minimize_scalar(f, bounds=(-30.0, 15.0), method="bounded", options={"xatol": 1e-8}).x
    if v_init > 0 and f(lv) > f(np.log(v_init)):
        lv = np.log(v_init)
    v = float(np.exp(lv))
    if loglik(0.0) + check_null_threshold >= loglik(v):
        v = 0.0
    return v


def single_effect_regression(xtr, dxtx, v: float, sigma2: float, prior, *, estimate: bool = True):
    """One single-effect regression on sufficient statistics: ``(alpha, mu, mu2, lbf, V, lbf_model)``.

    Parameters
    ----------
    xtr : array [p]
        ``X'r``: genotypes times the residual of the other effects.
    dxtx : array [p]
        Diagonal of ``X'X``.
    v : float
        Prior variance of the effect (the start value when ``estimate``).
    sigma2 : float
        Residual variance.
    prior : array [p]
        Prior inclusion probabilities (sum to 1).
    estimate : bool, default True
        Re-estimate ``v`` with :func:`optimize_prior_variance`.

    Returns
    -------
    tuple
        ``alpha [p]`` (posterior inclusion probabilities), ``mu [p]`` and ``mu2 [p]`` (posterior first and second
        moments of the effect given inclusion), ``lbf [p]`` (per-variant log BF), ``V`` (float, prior variance
        used) and ``lbf_model`` (float, log BF of the single effect).
    """
    betahat = xtr / dxtx
    shat2 = sigma2 / dxtx
    if estimate:
        v = optimize_prior_variance(betahat, shat2, prior, v)
    lbf = _lbf(betahat, shat2, v)
    lbf[np.isinf(shat2)] = 0.0
    lbf_model = logsumexp_1d(lbf, prior)
    alpha = np.exp(lbf - lbf_model) * prior
    with np.errstate(divide="ignore"):
        post_var = 1.0 / (1.0 / v + dxtx / sigma2) if v > 0 else np.zeros_like(dxtx)
    mu = post_var * xtr / sigma2
    return alpha, mu, post_var + mu * mu, lbf, v, lbf_model


def susie_ss(xtx: np.ndarray, xty: np.ndarray, yty: float, n: int, *, L: int = 10, scaled_prior_variance: float = 0.2,
             sigma2: float | None = None, estimate_prior_variance: bool = True, max_iter: int = 100,
             tol: float = 1e-3, prior_weights: np.ndarray | None = None) -> SusieResult:
    """IBSS on sufficient statistics (susieR ``susie_suff_stat`` with the residual variance fixed).

    Parameters
    ----------
    xtx : array [p, p]
        ``X'X`` of the (centred) genotypes.
    xty : array [p]
        ``X'y``.
    yty : float
        ``y'y``.
    n : int
        Sample size.
    L : int, default 10
        Most single effects (capped at ``p``).
    scaled_prior_variance : float, default 0.2
        Initial prior variance of each effect, as a fraction of ``var(y) = yty / (n - 1)``.
    sigma2 : float, optional
        Residual variance, fixed (default ``var(y)``).
    estimate_prior_variance : bool, default True
        Re-estimate each effect's prior variance at every iteration.
    max_iter : int, default 100
        Most IBSS sweeps.
    tol : float, default 1e-3
        Stop when the ELBO increases by less than this.
    prior_weights : array [p], optional
        Prior inclusion weights (normalised to sum 1; default uniform).

    Returns
    -------
    SusieResult
        The fit (``alpha``, ``mu``, ``mu2``, ``V``, ``lbf``, ``lbf_variable``, ``pip``, ``elbo``,
        ``converged``); ``sets`` is empty (see :func:`credible_sets`).

    References
    ----------
    Wang G et al. (2020) J R Stat Soc B 82:1273. doi:10.1111/rssb.12388
    """
    p = len(xty)
    var_y = yty / (n - 1)
    sigma2 = var_y if sigma2 is None else sigma2
    L = min(L, p)
    prior = np.full(p, 1.0 / p) if prior_weights is None else np.asarray(prior_weights) / np.sum(prior_weights)
    d = np.diag(xtx).copy()
    alpha = np.full((L, p), 1.0 / p)
    mu, mu2 = np.zeros((L, p)), np.zeros((L, p))
    V = np.full(L, scaled_prior_variance * var_y)
    lbf, lbf_var, kl = np.zeros(L), np.zeros((L, p)), np.zeros(L)
    xtxr = np.zeros(p)
    elbo = [-np.inf]
    converged = False
    for _ in range(max_iter):
        for l in range(L):
            xtxr -= xtx @ (alpha[l] * mu[l])
            xtr = xty - xtxr
            a, m, m2, lb, v, lbm = single_effect_regression(xtr, d, V[l], sigma2, prior, estimate=estimate_prior_variance)
            alpha[l], mu[l], mu2[l], lbf_var[l], V[l], lbf[l] = a, m, m2, lb, v, lbm
            kl[l] = -lbm - 0.5 / sigma2 * (-2 * np.sum(a * m * xtr) + np.sum(d * a * m2))
            xtxr += xtx @ (alpha[l] * mu[l])
        b = alpha * mu
        bbar = b.sum(0)
        er2 = (yty - 2 * bbar @ xty + bbar @ xtx @ bbar - np.sum((b @ xtx) * b) + np.sum(d * (alpha * mu2)))
        elbo.append(-n / 2 * np.log(2 * np.pi * sigma2) - er2 / (2 * sigma2) - kl.sum())
        if elbo[-1] - elbo[-2] < tol:
            converged = True
            break
    keep = V > PRIOR_TOL
    pip = 1 - np.prod(1 - alpha[keep], axis=0) if keep.any() else np.zeros(p)
    return SusieResult(alpha, mu, mu2, V, lbf, lbf_var, pip, [], np.asarray(elbo[1:]), converged)


def credible_sets(res: SusieResult, R: np.ndarray, *, coverage: float = 0.95, min_abs_corr: float = 0.5) -> list[CredibleSet]:
    """susieR ``susie_get_cs``: per effect with ``V > 1e-9`` the smallest set of variants whose alpha sums to
    >= ``coverage``; duplicates dropped; kept when the minimum |r| among its variants >= ``min_abs_corr``;
    ordered by decreasing purity.

    Parameters
    ----------
    res : SusieResult
        A fit from :func:`susie_ss` or :func:`susie_rss`.
    R : array [p, p]
        LD (correlation) matrix of the fitted variants, for purity.
    coverage : float, default 0.95
        Posterior mass each set must reach.
    min_abs_corr : float, default 0.5
        Least purity (minimum absolute pairwise correlation) a set needs to be kept.

    Returns
    -------
    list of CredibleSet
        Ordered by decreasing purity.
    """
    out, seen = [], set()
    for l in range(res.alpha.shape[0]):
        if res.V[l] <= PRIOR_TOL:
            continue
        a = res.alpha[l]
        o = np.argsort(-a, kind="stable")
        k = int(np.sum(np.cumsum(a[o]) < coverage)) + 1
        idx = o[:k]
        key = tuple(sorted(idx.tolist()))
        if key in seen:
            continue
        seen.add(key)
        purity = _purity(R, idx, min_abs_corr)
        if purity >= min_abs_corr:
            out.append(CredibleSet(l, idx, float(a[idx].sum()), purity))
    return sorted(out, key=lambda c: -c.min_abs_corr)


def _purity(R: np.ndarray, idx: np.ndarray, min_abs_corr: float) -> float:
    """The least |r| among the variants ``idx`` (1 for one variant), or, when the first variant's row alone has an
    |r| below ``min_abs_corr``, that (the set is dropped whatever its exact purity): a diffuse effect's "set" of
    most of the region's variants is then rejected from one row of ``R`` rather than its whole submatrix."""
    if len(idx) == 1:
        return 1.0
    first = float(np.min(np.abs(R[idx[0], idx])))
    if first < min_abs_corr:
        return first
    return float(np.min(np.abs(R[np.ix_(idx, idx)])))


def adjust_z(z: np.ndarray, n: int) -> np.ndarray:
    """``z sqrt((n - 1) / (z² + n - 2))`` (the PVE adjustment of ``susie_rss`` with ``n``).

    Parameters
    ----------
    z : array [p]
        z-scores.
    n : int
        GWAS sample size.

    Returns
    -------
    array [p]
        Adjusted z-scores ``z̃``.
    """
    return z * np.sqrt((n - 1) / (z * z + n - 2))


def susie_rss(z, R, n: int, *, L: int = 10, coverage: float = 0.95, min_abs_corr: float = 0.5, max_iter: int = 100,
              tol: float = 1e-3, estimate_prior_variance: bool = True) -> SusieResult:
    """SuSiE-RSS with sample size (susieR ``susie_rss(z, R, n, L = L)``): fit, PIPs and credible sets.

    Parameters
    ----------
    z : array [p]
        z-scores.
    R : array [p, p]
        LD (correlation) matrix of the same variants, same allele coded.
    n : int
        GWAS sample size (> 2).
    L : int
        Most single effects fitted (susieR's ``L``).
    coverage : float
        Credible-set coverage.
    min_abs_corr : float
        Credible sets whose least absolute pairwise correlation is below this are dropped (purity).
    max_iter, tol
        IBSS iterations at most; stop when the ELBO changes by less than ``tol``.
    estimate_prior_variance : bool
        Estimate each effect's prior variance (susieR's default) rather than keep it fixed.

    Returns
    -------
    SusieResult
        PIPs (``pip``), credible sets (``sets``), the fit's ``alpha``, ``mu``, ``mu2``, ``V``, ``elbo``, ``converged``.
    """
    z = np.asarray(z, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    if R.shape != (len(z), len(z)):
        raise InputError(f"susie_rss: R is {R.shape}, z has {len(z)} variants")
    if n <= 2:
        raise InputError(f"susie_rss: sample size n = {n} must be > 2")
    zt = adjust_z(z, n)
    res = susie_ss((n - 1) * R, np.sqrt(n - 1) * zt, float(n - 1), n, L=L, max_iter=max_iter, tol=tol,
                   estimate_prior_variance=estimate_prior_variance)
    sets = credible_sets(res, R, coverage=coverage, min_abs_corr=min_abs_corr)
    return SusieResult(res.alpha, res.mu, res.mu2, res.V, res.lbf, res.lbf_variable, res.pip, sets, res.elbo,
                       res.converged)


# ----------------------------------------------------------------------------- LD mismatch (Zou 2022)
@dataclass(frozen=True)
class KrigingResult:
    """``s`` (estimated LD inconsistency, 0 = consistent, up to 1), per variant the conditional mean and variance
    of z given the others, the standardised difference ``z_std_diff`` and the allele-flip ``log_lr``;
    ``flagged``: ``log_lr > 2`` and ``|z| > 2`` (susieR's plot highlights)."""

    s: float
    condmean: np.ndarray
    condvar: np.ndarray
    z_std_diff: np.ndarray
    log_lr: np.ndarray
    flagged: np.ndarray


def _eigen(R, r_tol):
    d, u = np.linalg.eigh(R)
    d[d < r_tol] = 0.0
    return d, u


def estimate_s_rss(z, R, n: int, r_tol: float = 1e-8, *, eigen=None) -> float:
    """susieR ``estimate_s_rss(method = "null-mle")``: ``s`` maximising the likelihood of ``z̃ ~ N(0, (1 - s) R + s I)``
    (``eigen``: ``(values, vectors)`` of ``R`` when already computed).

    Parameters
    ----------
    z : array [p]
        z-scores.
    R : array [p, p]
        LD (correlation) matrix from the reference panel.
    n : int
        GWAS sample size.
    r_tol : float, default 1e-8
        Eigenvalues of ``R`` below this are set to 0.
    eigen : tuple of (array [p], array [p, p]), optional
        ``(values, vectors)`` of ``R`` already thresholded.

    Returns
    -------
    float
        ``s`` in [0, 1]: 0 when ``z`` is consistent with ``R``.

    References
    ----------
    Zou Y et al. (2022) PLoS Genet 18:e1010299. doi:10.1371/journal.pgen.1010299
    """
    zt = adjust_z(np.asarray(z, dtype=np.float64), n)
    d, u = eigen if eigen is not None else _eigen(np.asarray(R, dtype=np.float64), r_tol)
    ztv = u.T @ zt
    f = lambda s: 0.5 * np.sum(np.log((1 - s) * d + s)) + 0.5 * np.sum(ztv ** 2 / ((1 - s) * d + s))  # noqa: E731
    return float(optimize.minimize_scalar(f, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-8}).x)


def _mix_weights(loglik: np.ndarray, iters: int = 500) -> np.ndarray:
    """Maximum-likelihood mixture weights over the grid (EM; susieR uses mixsqp for the same optimum)."""
    lik = np.exp(loglik - loglik.max(1, keepdims=True))
    w = np.full(lik.shape[1], 1.0 / lik.shape[1])
    post, rows = np.empty_like(lik), np.empty((lik.shape[0], 1))      # reused: up to 500 sweeps a region
    for _ in range(iters):
        np.multiply(lik, w, out=post)
        post /= np.add.reduce(post, axis=1, keepdims=True, out=rows)
        w_new = np.add.reduce(post, axis=0) / lik.shape[0]             # post.mean(0), the same operations
        if np.max(np.abs(w_new - w)) < 1e-10:
            return w_new
        w = w_new
    return w


def ld_eigen(R, r_tol: float = 1e-8) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of an LD matrix as :func:`kriging_rss` uses it (eigenvalues below ``r_tol`` set to 0),
    to compute once for the regions that share ``R`` (the phenotypes of one GWAS at one locus).

    Parameters
    ----------
    R : array [p, p]
        LD (correlation) matrix.
    r_tol : float, default 1e-8
        Eigenvalues below this are set to 0.

    Returns
    -------
    (array [p], array [p, p])
        Eigenvalues and eigenvectors (columns).
    """
    return _eigen(np.asarray(R, dtype=np.float64), r_tol)


def kriging_rss(z, R, n: int, *, s: float | None = None, r_tol: float = 1e-8, eigen=None) -> KrigingResult:
    """susieR ``kriging_rss``: each z-score against its prediction from the others under the LD matrix.

    Parameters
    ----------
    z : array [p]
        z-scores.
    R : array [p, p]
        LD (correlation) matrix from the reference panel.
    n : int
        GWAS sample size.
    s : float, optional
        LD inconsistency; estimated by :func:`estimate_s_rss` when omitted.
    r_tol : float, default 1e-8
        Eigenvalues of ``R`` below this are set to 0.
    eigen : (array [p], array [p, p]), optional
        :func:`ld_eigen` of ``R`` with this ``r_tol``, when already computed.

    Returns
    -------
    KrigingResult
        ``s``, conditional means and variances, standardised differences, allele-flip ``log_lr``, ``flagged``.

    References
    ----------
    Zou Y et al. (2022) PLoS Genet 18:e1010299. doi:10.1371/journal.pgen.1010299
    """
    zt = adjust_z(np.asarray(z, dtype=np.float64), n)
    d, u = eigen if eigen is not None else ld_eigen(R, r_tol)
    s = estimate_s_rss(z, R, n, r_tol, eigen=(d, u)) if s is None else s
    with np.errstate(divide="ignore"):
        dinv = 1.0 / ((1 - s) * d + s)
    dinv[~np.isfinite(dinv)] = 0.0
    # the precision matrix U diag(dinv) U' only through its diagonal and its product with z: O(p^2), not the
    # O(p^3) product of the whole matrix (a demo's 677 regions of ~650 variants: most of kriging's time)
    pd_ = (u * u) @ dinv
    condmean = -(u @ (dinv * (u.T @ zt)) - pd_ * zt) / pd_
    condvar = 1.0 / pd_
    zsd = (zt - condmean) / np.sqrt(condvar)
    a_min = 0.8
    a_max = 2.0 if np.max(zsd ** 2) < 1 else 2 * np.sqrt(np.max(zsd ** 2))
    npoint = int(np.ceil(np.log2(a_max / a_min) / np.log2(1.05)))
    grid = 1.05 ** np.arange(-npoint, 1) * a_max
    sd = np.sqrt(condvar)[:, None] * grid[None, :]
    l0 = stats.norm.logpdf((zt - condmean)[:, None], scale=sd)
    w = _mix_weights(l0)
    l1 = stats.norm.logpdf((zt + condmean)[:, None], scale=sd)
    log_lr = logsumexp(l1, axis=1, b=w) - logsumexp(l0, axis=1, b=w)
    return KrigingResult(s, condmean, condvar, zsd, log_lr, (log_lr > 2) & (np.abs(zt) > 2))
