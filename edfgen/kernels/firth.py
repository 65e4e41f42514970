"""Firth-penalised logistic regression, the fallback of the fast engine's logistic Wald test
(``edfgen gwas --binary --logistic-test firth-fallback``).

Firth's penalty ``½ log |I(θ)|`` (Jeffreys prior) removes the first-order bias of the maximum-likelihood
estimate and keeps it finite under separation (a rare variant carried only by cases), where the Wald
test fails or is anti-conservative.

1. **Null fit** (once per phenotype, and per chromosome when an offset such as a ridge-LOCO prediction
   changes with the chromosome): Firth logistic regression of ``y`` on the covariates ``C`` with the offset
   ``o`` (:func:`firth_null_fit`, all ``K`` coefficients penalised, Newton steps on the modified score with
   step halving on the penalised log-likelihood, as R ``logistf``); the start of every variant's fit.
2. **Variant fit** (:func:`firth_full`, batched over variants): the full Firth fit of ``[C, g]`` with the
   offset (covariates refitted, all coefficients penalised: ``β`` equals ``plink2 --glm firth`` and
   ``logistf``), and the constrained fit with ``β = 0`` under the same penalty. The p-value is the penalised
   likelihood-ratio test ``χ² = 2 (ℓ*(full) − ℓ*(constrained))`` on 1 df, and the standard error
   ``|β̂| / sqrt(χ²)`` (as REGENIE and Hail's Firth test report it).

:func:`firth_fallback` replaces the Wald statistics of the variant x phenotype pairs whose Wald p is
below a threshold (REGENIE ``--pThresh``, default 0.05) or whose Wald fit failed. (REGENIE's ``--approx``,
covariates frozen at the null fit, was used before review s31b: 1 to 100 SE off for strong effects and
separated variants.)

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

from edfgen.kernels.covariates import vif_too_high
from edfgen.kernels.logistic import LogisticAssociationResult, PreparedLogistic, _mean_impute, run_chunks

__all__ = ["firth_null_fit", "firth_full", "firth_fallback", "FirthFit", "FIRTH_P_THRESHOLD"]

#: Wald p below which the Firth fit replaces the Wald test (REGENIE's ``--pThresh`` default)
FIRTH_P_THRESHOLD = 0.05
#: largest Newton step on any coefficient (R logistf's ``maxstep``)
MAX_STEP = 5.0
#: a step taken that gains at most this fraction of the penalised log-likelihood ``|ℓ*|`` (rounding: ~45 double
#: epsilons) ends a Firth fit, converged: no ascent is left that double precision can see (R logistf's ``lconv``,
#: 1e-5 absolute, stops far earlier; 1e-13 here left a one-carrier fit 4e-4 short of its maximum)
STILL = 1e-14


def _bernoulli(eta: np.ndarray, sign: np.ndarray):
    """``μ = expit(η)``, ``w = μ (1 - μ)`` ``[n, m]`` and the log-likelihood ``[m]`` of the outcomes whose
    ``sign`` is ``1 - 2 y``, from one ``e = exp(-|η|)``: ``μ = 1 / (1 + e)`` where ``η >= 0``, ``e / (1 + e)``
    elsewhere, ``w = e / (1 + e)²``, and ``log μ`` (cases) or ``log(1 - μ)`` (controls) ``= -max(±η, 0) -
    log(1 + e)`` (stable for large ``|η|``; the same numbers as ``expit`` and ``logaddexp`` to rounding, at a
    fraction of their cost: one vectorised exponential instead of three scalar transcendental calls)."""
    e = np.abs(eta)
    np.negative(e, out=e)
    np.exp(e, out=e)
    d = e + 1.0
    np.reciprocal(d, out=d)                                           # 1 / (1 + e)
    w = e * d                                                         # μ where η < 0, 1 - μ elsewhere
    mu = np.where(eta < 0, w, d)
    w *= d
    np.log1p(e, out=e)
    np.multiply(eta, sign, out=d)
    np.maximum(d, 0.0, out=d)
    d += e
    return mu, w, -d.sum(axis=0)


def firth_null_fit(covariates: np.ndarray, y: np.ndarray, offset: np.ndarray | None = None, *,
                   max_iterations: int = 100, tolerance: float = 1e-8, max_halvings: int = 25):
    """Firth logistic regression of ``y`` on ``covariates`` with a fixed ``offset``.

    Returns ``(b [K], penalised log-likelihood, converged)``: Newton steps ``I(b)^-1 U*(b)`` on the modified
    score ``U* = C^T (y - μ + h (½ - μ))`` (``h`` the hat diagonal of ``W^½ C``), each capped at
    :data:`MAX_STEP` and halved until the penalised log-likelihood ``ℓ + ½ log|C^T W C|`` does not decrease;
    converged when every step is below ``tolerance``.
    """
    C = np.asarray(covariates, dtype=float)
    y = np.asarray(y, dtype=float)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, dtype=float)
    flip = (1.0 - 2.0 * y)[:, None]                 # 1 - 2y: _bernoulli's sign of each outcome

    def evaluate(b):
        eta = C @ b + off
        mu, w, ll = (a[..., 0] for a in _bernoulli(eta[:, None], flip))
        info = C.T @ (C * w[:, None])
        sign, logdet = np.linalg.slogdet(info)
        if sign <= 0:
            return -np.inf, None, None
        inv = np.linalg.inv(info)
        h = w * np.einsum("ij,jk,ik->i", C, inv, C)
        return ll + 0.5 * logdet, C.T @ (y - mu + h * (0.5 - mu)), inv

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
class FirthFit:
    """Per-variant results of :func:`firth_full` (arrays ``[m]``): ``beta``, ``standard_error``
    (``|β| / sqrt(χ²)``), ``p_value`` (penalised likelihood-ratio test), ``chi2``, ``converged``."""

    beta: np.ndarray
    standard_error: np.ndarray
    p_value: np.ndarray
    chi2: np.ndarray
    converged: np.ndarray


class _FirthBatch:
    """Firth's penalised likelihood of ``logit μ = o + C b + g β`` for every column ``g`` of a chunk of
    genotypes at once (one phenotype): ``d = K + 1`` coefficients per column, all penalised."""

    def __init__(self, C: np.ndarray, y: np.ndarray, offset: np.ndarray | None):
        self.C, self.y = C, y[:, None]
        self.off = np.zeros((len(y), 1)) if offset is None else np.asarray(offset, dtype=float)[:, None]
        self.K = C.shape[1]
        self.iu, self.ju = np.triu_indices(self.K)
        self.CC = (C[:, self.iu] * C[:, self.ju]).T                       # [K(K+1)/2, n] covariate pairs
        self.twice = np.where(self.iu == self.ju, 1.0, 2.0)               # off-diagonal pairs count twice
        self.sign = 1.0 - 2.0 * self.y                                    # -1 case, +1 control

    def evaluate(self, G: np.ndarray, B: np.ndarray, bg: np.ndarray):
        """At coefficients ``B [K, m]``, ``bg [m]`` of the columns ``G [n, m]``: penalised log-likelihood
        ``ℓ + ½ log|I|`` [m] (-inf where ``I`` is singular), modified score ``X^T (y - μ + h (½ - μ))``
        [m, d], Fisher information ``I = X^T W X`` and its inverse [m, d, d] (``X = [C g]``, ``h`` the
        diagonal of the hat matrix ``W^½ X I^-1 X^T W^½``). The ``[n, m]`` work is done in place: its
        arrays are re-read a dozen times per call, so fewer of them stay in the CPU cache. Where every
        column has ``β = 0`` and the same ``B`` (the start of the constrained fits, the covariates' null
        fit) ``η``, ``μ`` and ``ℓ`` do not depend on the column: they are computed once, as ``[n, 1]``."""
        C, K, iu, ju = self.C, self.K, self.iu, self.ju
        m = G.shape[1]
        free = bg.any()                   # the constrained fit keeps β = 0
        shared = not free and (B == B[:, :1]).all()
        eta = C @ (B[:, :1] if shared else B)
        eta += self.off
        if free:
            eta += G * bg
        mu, w, ll = _bernoulli(eta, self.sign)
        wg = w * G
        info = np.empty((m, K + 1, K + 1))
        pairs = (self.CC @ w).T
        info[:, iu, ju] = pairs
        info[:, ju, iu] = pairs
        info[:, :K, K] = (C.T @ wg).T
        info[:, K, :K] = info[:, :K, K]
        info[:, K, K] = np.einsum("ij,ij->j", wg, G)
        sign, logdet = np.linalg.slogdet(info)
        ok = sign > 0
        inv = np.linalg.inv(np.where(ok[:, None, None], info, np.eye(K + 1)))
        quad = self.CC.T @ (inv[:, iu, ju] * self.twice).T                # c_i^T A_cc c_i   [n, m]
        cross = C @ (2.0 * inv[:, :K, K].T)                               # + g (2 c_i^T a_cg + g a_gg)
        cross += G * inv[:, K, K]
        cross *= G
        quad += cross
        quad *= w                                                         # h
        np.subtract(0.5, mu, out=cross)
        quad *= cross                                                     # h (½ - μ)
        np.subtract(self.y, mu, out=cross)
        quad += cross                                                     # y - μ + h (½ - μ)
        score = np.empty((m, K + 1))
        score[:, :K] = (C.T @ quad).T
        score[:, K] = np.einsum("ij,ij->j", G, quad)
        ll = ll + 0.5 * logdet
        ll[~ok] = -np.inf
        return ll, score, info, inv

    def fit(self, G: np.ndarray, B: np.ndarray, bg: np.ndarray, *, free_beta: bool, max_iterations: int,
            tolerance: float, max_halvings: int, state: tuple | None = None):
        """Maximise the penalised likelihood from ``(B, bg)`` (updated in place); with ``free_beta`` False
        ``β`` stays at ``bg`` and only the covariates' coefficients move (the constrained fit of the
        likelihood-ratio test, penalty still ``½ log|I|`` of the full model, as R ``logistf``). Newton steps
        (capped at :data:`MAX_STEP`, halved until ``ℓ*`` does not decrease); converged when every step is
        below ``tolerance``, when ``max_halvings`` halvings of the step all fail to increase ``ℓ*`` or when the
        step taken gains no more than :data:`STILL` of ``|ℓ*|``. ``state``:
        :meth:`evaluate` at ``(B, bg)`` when known (the constrained fit's last, where the full fit starts).
        Returns ``(ℓ* [m], converged [m], state)``, ``state`` :meth:`evaluate` at the final ``(B, bg)``."""
        K = self.K
        ll, score, info, inv = self.evaluate(G, B, bg) if state is None else state
        converged = np.zeros(G.shape[1], dtype=bool)
        active = np.flatnonzero(np.isfinite(ll))
        for _ in range(max_iterations):
            if not active.size:
                break
            if free_beta:
                step = np.einsum("mij,mj->mi", inv[active], score[active])
            else:
                step = np.zeros((len(active), K + 1))
                step[:, :K] = np.linalg.solve(info[active][:, :K, :K], score[active][:, :K, None])[..., 0]
            biggest = np.abs(step).max(1)
            done = biggest < tolerance
            converged[active[done]] = True
            active, step, biggest = active[~done], step[~done], biggest[~done]
            step *= np.minimum(1.0, MAX_STEP / biggest)[:, None]
            before = ll[active]
            todo, accepted = np.arange(len(active)), np.zeros(len(active), dtype=bool)
            for _ in range(max_halvings):
                if not todo.size:
                    break
                idx = active[todo]
                new_B, new_bg = B[:, idx] + step[todo, :K].T, bg[idx] + step[todo, K]
                new = self.evaluate(G[:, idx], new_B, new_bg)
                good = new[0] >= ll[idx]
                gi = idx[good]
                B[:, gi], bg[gi] = new_B[:, good], new_bg[good]
                ll[gi], score[gi], info[gi], inv[gi] = (a[good] for a in new)
                accepted[todo[good]] = True
                step[todo[~good]] /= 2
                todo = todo[~good]
            # no ascent left along the Newton direction at double precision: at the maximum (as plink2's
            # fits conclude); an allowance for rounding instead lets a one-carrier fit swing around it
            converged[active[todo]] = True
            # nor any left in fact: the step taken gained no more than rounding (STILL): at a maximum where the
            # Fisher-scoring step (no penalty curvature in I) overshoots, it swung +-5e-5 around it with ℓ* equal
            # to the last digit until max_iterations, then NA (review s41)
            crawl = accepted & (ll[active] - before <= STILL * np.maximum(1.0, np.abs(before)))
            converged[active[crawl]] = True
            active = active[accepted & ~crawl]
        return ll, converged, (ll, score, info, inv)


#: steps of each Firth fit of :func:`firth_full` before it is called not converged
FIRTH_MAX_ITERATIONS = 1000

#: bytes of the [n, m] work arrays of one chunk of :func:`firth_full`
CHUNK_BYTES = 1024 * 1024


def firth_full(covariates: np.ndarray, genotypes: np.ndarray, y: np.ndarray, offset: np.ndarray | None = None,
               start: np.ndarray | None = None, *, max_iterations: int | None = None,
               tolerance: float = 1e-5, max_halvings: int = 25) -> FirthFit:
    """Firth logistic regression of ``y`` on ``[covariates, g]`` (plus ``offset``) for every column ``g`` of
    ``genotypes [n, m]`` (complete, e.g. mean-imputed), all coefficients penalised, with the penalised
    likelihood-ratio test of ``β = 0`` (R ``logistf``; β equals ``plink2 --glm firth``), vectorised over
    chunks of variants.

    Per variant: the constrained fit (``β = 0``, covariates free, penalty ``½ log|I|`` of the full model)
    starts from ``start`` (the covariates' null Firth fit, :func:`firth_null_fit`; zeros if None), the full
    fit from the constrained one; ``χ² = 2 (ℓ*(full) - ℓ*(constrained))``, ``p`` its upper tail on 1 df,
    standard error ``|β| / sqrt(χ²)`` (so that ``β / SE`` gives back ``p``, as REGENIE and Hail report
    Firth's). Variants whose fits do not converge are NaN with ``converged`` False. Under separation the
    Fisher-scoring steps converge linearly (the penalty's curvature is not in ``I``), hence the iteration
    cap; ``tolerance`` bounds every coefficient's last step (R ``logistf``'s ``xconv`` is 1e-4). The cap is
    :data:`FIRTH_MAX_ITERATIONS` (1000; was 200: a rare variant beside a covariate that nearly separates the
    cases needed 300-1000 steps where ``plink2 --glm firth`` converges, and the row kept its Wald β of the
    opposite sign; review rev35b); only the fits still running pay for it (``max_iterations`` None: the cap).
    A fit also ends, converged, when a step taken gains no more than rounding (:data:`STILL` of ``|ℓ*|``; R
    ``logistf``'s ``lconv``): at the maximum of a quasi-separated fit (a rare variant in a rare disease, a
    covariate holding all cases but one) the Fisher-scoring step overshoots and the fit swung around the maximum,
    ``ℓ*`` equal to the last digit, for all 1000 steps, then NA where plink2 converges (review s41).
    """
    from scipy.special import chdtrc

    C = np.asarray(covariates, dtype=float)
    G = np.asarray(genotypes, dtype=float)
    y = np.asarray(y, dtype=float)
    n, m = G.shape
    b0 = np.zeros(C.shape[1]) if start is None else np.asarray(start, dtype=float)
    batch = _FirthBatch(C, y, offset)
    opts = dict(max_iterations=FIRTH_MAX_ITERATIONS if max_iterations is None else max_iterations,
                tolerance=tolerance, max_halvings=max_halvings)
    beta, chi2 = np.full(m, np.nan), np.full(m, np.nan)
    converged = np.zeros(m, dtype=bool)
    chunk = int(max(16, CHUNK_BYTES // (8 * max(n, 1))))

    def fit_chunk(a: int) -> None:
        Gc = np.ascontiguousarray(G[:, a:a + chunk])
        B, bg = np.repeat(b0[:, None], Gc.shape[1], axis=1), np.zeros(Gc.shape[1])
        ll0, ok0, state = batch.fit(Gc, B, bg, free_beta=False, **opts)
        ll1, ok1, _ = batch.fit(Gc, B, bg, free_beta=True, state=tuple(a.copy() for a in state), **opts)
        beta[a:a + chunk], chi2[a:a + chunk] = bg, np.maximum(2.0 * (ll1 - ll0), 0.0)   # disjoint slices
        converged[a:a + chunk] = ok0 & ok1

    run_chunks(fit_chunk, range(0, m, chunk), name="edfgen-firth")   # as logistic_association
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.abs(beta) / np.sqrt(chi2)
    p = chdtrc(1, chi2)
    for arr in (beta, se, p, chi2):
        arr[~converged] = np.nan
    return FirthFit(beta=beta, standard_error=se, p_value=p, chi2=chi2, converged=converged)


def firth_fallback(genotypes: np.ndarray, prepared: PreparedLogistic, result: LogisticAssociationResult,
                   threshold: float = FIRTH_P_THRESHOLD) -> LogisticAssociationResult:
    """The Wald ``result`` of :func:`edfgen.kernels.logistic.logistic_association` with the variant x
    phenotype pairs whose Wald p is below ``threshold``, or whose Wald fit failed, refitted by
    :func:`firth_full` (covariates refitted with each variant, ``prepared.offset`` as the offset; genotypes
    mean-imputed within each missingness group, as the Wald test). ``result.firth`` marks the rows whose
    statistics are Firth's. A Firth fit that does not converge keeps a converged Wald result (``firth``
    False, ``firth_kept_wald`` True: counted and warned by the writer); where the Wald fit failed too the row is
    NaN (``converged`` False, ``firth`` True).
    """
    G = np.asarray(genotypes, dtype=float)
    beta, se, p = (np.array(a, dtype=float) for a in (result.beta, result.standard_error, result.p_value))
    converged = np.array(result.converged, dtype=bool)
    firth = np.zeros_like(converged)
    kept_wald = np.zeros_like(converged)
    C = prepared.covariates
    for mask, cols, _b0, keep in prepared.groups:
        Gm = None
        for pcol in cols:
            with np.errstate(invalid="ignore"):
                pick = (p[:, pcol] < threshold) | ~converged[:, pcol]
            if not pick.any():
                continue
            if Gm is None:   # once per missingness group: imputed genotypes
                Gm, _ = _mean_impute(G if mask.all() else G[mask])
                Cg = C[np.ix_(mask, keep)]
                polymorphic = (np.ptp(Gm, axis=0) > 0) & ~vif_too_high(Gm, Cg)   # (VIF_TOO_HIGH: NA, not refitted)
            idx = np.flatnonzero(pick & polymorphic)
            if not idx.size:
                continue
            y = prepared.phenotypes[mask, pcol]
            off = None if prepared.offset is None else prepared.offset[mask, pcol]
            b0, _ll, ok = _null_fit(prepared, mask, pcol, Cg, y, off)
            fit = firth_full(Cg, Gm[:, idx], y, off, b0 if ok else None)
            use = fit.converged | ~converged[idx, pcol]        # never a failed Firth fit over a converged Wald one
            kept_wald[idx[~use], pcol] = True
            rows = idx[use]
            beta[rows, pcol], se[rows, pcol], p[rows, pcol] = (a[use] for a in (fit.beta, fit.standard_error,
                                                                                  fit.p_value))
            converged[rows, pcol] = fit.converged[use]
            firth[rows, pcol] = True
    return replace(result, beta=beta, standard_error=se, p_value=p, converged=converged, firth=firth,
                   firth_kept_wald=kept_wald)


def _null_fit(prepared: PreparedLogistic, mask, pcol: int, C, y, off):
    """:func:`firth_null_fit` of one phenotype, cached on ``prepared`` (one per phenotype and offset)."""
    key = (pcol, int(mask.sum()))
    cache = prepared.firth_null
    if key not in cache:
        cache[key] = firth_null_fit(C, y, off)
    return cache[key]
