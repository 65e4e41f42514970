"""The logistic association kernel of ``edfgen gwas --binary``: per phenotype a covariates-only null fit,
then the Wald test of every variant of a block at once (Newton–Raphson vectorised over the block: one
``[C_a C_b]^T W`` product per iteration gives every variant's Fisher matrix, then one batched solve),
with step-halving and Hail's stopping rule. Pure functions on arrays.

References
----------
McCullagh P, Nelder JA (1989) Generalized Linear Models, 2nd ed. Chapman & Hall.
doi:10.1007/978-1-4899-3242-6
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from edfgen.exceptions import InputError
from edfgen.kernels.association import AssociationResult, group_covariates, missingness_groups
from edfgen.kernels.covariates import covariate_vif, first_time, separating_levels, unit_columns, vif_too_high

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LogisticAssociationResult(AssociationResult):
    """:class:`AssociationResult` of a logistic fit plus ``converged`` ``[M, P]`` (False: statistics NaN) and,
    after :func:`edfgen.kernels.firth.firth_fallback`, ``firth`` ``[M, P]`` (True: Firth statistics) and
    ``firth_kept_wald`` ``[M, P]`` (True: refitted by Firth, which did not converge, so the converged Wald
    statistics were kept)."""

    converged: np.ndarray = None
    firth: np.ndarray | None = None
    firth_kept_wald: np.ndarray | None = None

    def rows(self, order: np.ndarray) -> "LogisticAssociationResult":
        """The statistics, ``converged``, ``firth`` and ``firth_kept_wald`` of the variants ``order`` (rows taken in
        that order)."""
        base = AssociationResult.rows(self, order)
        return LogisticAssociationResult(**base.__dict__, converged=None if self.converged is None
                                         else self.converged[order],
                                         firth=None if self.firth is None else self.firth[order],
                                         firth_kept_wald=None if self.firth_kept_wald is None
                                         else self.firth_kept_wald[order])


@dataclass(frozen=True)
class PreparedLogistic:
    """Null (covariates-only) logistic fits, once per phenotype (see :func:`prepare_logistic`).

    ``groups``: one ``(sample_mask [N], columns [P_g], null_coefficients [K_g, P_g], covariate_columns [K_g])``
    per missingness pattern of the phenotypes (the covariates fitted in that group:
    :func:`~edfgen.kernels.association.group_covariates`). ``null_failed``: the phenotype columns whose covariates-only fit did not
    converge (their Wald fits are not run: ``converged`` False, left to the Firth fallback).
    """

    covariates: np.ndarray            # [N, K]
    phenotypes: np.ndarray            # [N, P], 0/1, NaN = missing
    groups: tuple
    max_iterations: int
    tolerance: float
    offset: np.ndarray | None = None  # [N, P] known part of the linear predictor (ridge-LOCO prediction)
    firth_null: dict = field(default_factory=dict, compare=False, repr=False)  # Firth null fits (firth_fallback)
    null_failed: frozenset = frozenset()


def _logistic_newton(X: np.ndarray, y: np.ndarray, b: np.ndarray, *, max_iterations: int, tolerance: float,
                     offset: np.ndarray | None = None):
    """Newton-Raphson for one small logistic model (the null fit); Hail's stopping rule."""
    from scipy.special import expit

    for _ in range(max_iterations):
        mu = expit(X @ b if offset is None else X @ b + offset)
        H = X.T @ (X * (mu * (1 - mu))[:, None])
        try:
            step = np.linalg.solve(H, X.T @ (y - mu))
        except np.linalg.LinAlgError:
            return b, False
        if not np.isfinite(step).all():
            return b, False
        if np.abs(step).max() < tolerance:
            return b, True
        b = b + step
    return b, False


def warn_few_cases(name: str, y: np.ndarray, n_covariates: int, *, firth: bool = False,
                   hint: str = "--logistic-test firth-fallback") -> bool:
    """Warn, as ``plink2 --glm`` does, when a binary phenotype's cases (or controls) are fewer than 10 times the
    predictors (intercept, covariates, genotype): Wald p-values on so few are unreliable. Said once per phenotype
    (:func:`~edfgen.kernels.covariates.first_time`), by both engines (Hail's before it runs).

    Parameters
    ----------
    name : str
        The phenotype, for the message.
    y : array [N]
        Its 0/1 outcomes on the samples tested (no missing values).
    n_covariates : int
        Covariates with the intercept (the predictors are these and the genotype).
    firth : bool, default False
        ``--logistic-test firth-fallback`` (or Hail's ``firth``) is in use: the message suggests nothing.
    hint : str, default "--logistic-test firth-fallback"
        The option the message suggests otherwise (the Hail engine: ``--logistic-test firth``, as it refuses
        ``firth-fallback``).

    Returns
    -------
    bool
        Whether it warned.
    """
    n, n_case = len(y), int(np.sum(y))
    if min(n_case, n - n_case) >= 10 * (n_covariates + 1) or not first_time(("logistic few cases", name)):
        return False
    log.warning(f"--binary phenotype {name!r}: {n_case} cases, {n - n_case} controls: the "
                f"{'case' if n_case <= n - n_case else 'control'} count is less than 10x the predictor count "
                f"({n_covariates + 1}: intercept, covariates, genotype), as plink2 --glm warns; Wald p-values on so "
                f"few are unreliable" + ("" if firth else f" (use {hint})"))
    return True


def prepare_logistic(phenotypes: np.ndarray, covariates: np.ndarray, *, names: Sequence[str] | None = None,
                     covariate_names: Sequence[str] | None = None, max_iterations: int = 25, tolerance: float = 1e-6,
                     offset: np.ndarray | None = None, warn: bool = True, firth: bool = False) -> PreparedLogistic:
    """Fit the covariates-only logistic model of every phenotype once (the start of every variant's fit).

    Parameters
    ----------
    phenotypes : array [N, P]
        0/1 outcomes, NaN = missing (each missingness group is fitted on its own samples).
    covariates : array [N, K]
        Complete; the first column must be the intercept (Hail starts the null fit at
        ``logit(mean(y))`` for it and 0 for the others).
    names, covariate_names : list of str, optional
        Phenotype and covariate names for messages. A covariate constant or collinear among one missingness
        group's samples is left out of that group's fits with a WARNING, as plink2
        (:func:`~edfgen.kernels.association.group_covariates`; ``warn`` False: without it).
    max_iterations, tolerance : int, float
        Newton stops when every coefficient changes by less than ``tolerance`` (Hail's defaults).
    offset : array [N, P], optional
        A known term added to each phenotype's linear predictor (coefficient fixed at 1), e.g. the
        leave-one-chromosome-out prediction of whole-genome ridge regression (REGENIE step 2).
    firth : bool, default False
        The Firth fallback is in use (``--logistic-test firth-fallback``): the few-cases warning
        (:func:`warn_few_cases`) does not suggest it.

    Raises
    ------
    InputError
        A phenotype without both cases and controls.

    A phenotype whose cases (or controls) are fewer than 10 times the predictors (``K + 1``: the covariates and
    the genotype) is warned about, as ``plink2 --glm`` does, and so is a covariate whose variance inflation factor
    on the others is above 50 (:func:`~edfgen.kernels.covariates.covariate_vif`). A phenotype whose null model does not converge (too few cases for the covariates, a covariate or the
    offset separating its cases) is logged (a warning naming it and its case count) and listed in
    ``null_failed``: its Wald fits fail, the other phenotypes are tested (as plink2 fits each on its own).
    """
    Y = np.asarray(phenotypes, dtype=float)
    C = np.asarray(covariates, dtype=float)
    if np.isnan(C).any():
        raise InputError("logistic_association: covariates contain missing values (drop those samples first)")
    names = list(names) if names is not None else [f"column {p}" for p in range(Y.shape[1])]
    groups, null_failed = [], set()
    for mask, cols in missingness_groups(Y):
        keep = np.asarray(group_covariates(C[mask], cols, names=names, covariate_names=covariate_names, warn=warn))
        Cg, k = C[np.ix_(mask, keep)], len(keep)
        if warn and k:        # covariates collinear among themselves (VIF above 50): warned, as the linear test
            U = unit_columns(Cg)
            named = covariate_names is not None and len(covariate_names) == C.shape[1]   # (else "column j")
            covariate_vif(U, *np.linalg.qr(U), names=[covariate_names[j] for j in keep] if named else None)
        b0 = np.zeros((k, len(cols)))
        for j, p in enumerate(cols):  # loop over phenotypes (few), not variants
            y = Y[mask, p]
            avg = y.mean()
            if not 0 < avg < 1 or mask.sum() <= k + 1:
                raise InputError(f"--binary phenotype {names[p]!r}: needs both cases and controls "
                                 f"({int(y.sum())} cases in {int(mask.sum())} samples)")
            warn_few_cases(names[p], y, k, firth=firth)
            start = np.zeros(k)
            start[0] = np.log(avg / (1 - avg))
            b, ok = _logistic_newton(Cg, y, start, max_iterations=max_iterations, tolerance=tolerance,
                                     offset=None if offset is None else offset[mask, p])
            if not ok:
                null_failed.add(p)
                blame = "a covariate" if offset is None else "the LOCO offset or a covariate"
                if first_time(("logistic null model", names[p])):    # not again for X's or Y's design
                    named = covariate_names is not None and len(covariate_names) == C.shape[1]
                    reason = (separating_levels(Cg, y, [covariate_names[i] for i in keep] if named else None)
                              or f"{blame} separates its cases from controls, or too few cases")
                    log.warning(f"--binary phenotype {names[p]!r} ({int(y.sum())} cases, {int(len(y) - y.sum())} "
                                f"controls, {k} covariates with the intercept): the covariates-only logistic model "
                                f"does not converge ({reason}): "
                                f"its Wald fits are left out (fit_failed; refitted by Firth with --logistic-test "
                                f"firth-fallback)")
                b = start
            b0[:, j] = b
        groups.append((mask, cols, b0, keep))
    return PreparedLogistic(covariates=C, phenotypes=Y, groups=tuple(groups), max_iterations=max_iterations,
                            tolerance=tolerance, offset=None if offset is None else np.asarray(offset, dtype=float),
                            null_failed=frozenset(null_failed))


def _mean_impute(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Missing calls (NaN) -> the mean of the called genotypes of their column; returns (G, means)."""
    total = G.sum(0)
    mean = total / len(G)
    nan_cols = np.flatnonzero(np.isnan(total))
    if len(nan_cols) == 0:
        return G, mean
    sub = G[:, nan_cols]
    called = ~np.isnan(sub)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean[nan_cols] = np.where(called, sub, 0.0).sum(0) / called.sum(0)
    G = G.copy()
    G[:, nan_cols] = np.where(called, sub, mean[nan_cols])
    return G, mean


def separated(G: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``[m]`` True where the called genotypes (NaN = missing) of ``G [n, m]`` separate cases (``y`` 1) from
    controls, completely or quasi-completely: every case's genotype at most every control's, or at least
    (plink2's ``SEPARATION`` check). The maximum-likelihood ``β`` is then infinite; mean-imputed missing calls
    can hide that (cases holding the mean dosage make ``β`` finite but meaningless, with a huge SE)."""
    case = y == 1
    high = np.where(np.isnan(G), -np.inf, G)
    low = np.where(np.isnan(G), np.inf, G)
    with np.errstate(invalid="ignore"):
        below = high[case].max(0, initial=-np.inf) <= low[~case].min(0, initial=np.inf)
        above = low[case].min(0, initial=np.inf) >= high[~case].max(0, initial=-np.inf)
    return below | above


def _solve_stacked(H: np.ndarray, rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.linalg.solve`` on a stack ``H [m, d, d]``, ``rhs [m, d, r]``; singular systems give NaN and
    ``failed [m]`` instead of an exception for the whole stack."""
    failed = np.zeros(len(H), dtype=bool)
    try:
        x = np.linalg.solve(H, rhs)
    except np.linalg.LinAlgError:
        sign, _ = np.linalg.slogdet(H)
        failed = ~(sign != 0)
        H = H.copy()
        H[failed] = np.eye(H.shape[1])
        try:
            x = np.linalg.solve(H, rhs)
        except np.linalg.LinAlgError:  # numerically singular but non-zero determinant: give up on the block
            return np.full(rhs.shape, np.nan), np.ones(len(H), dtype=bool)
    failed |= ~np.isfinite(x).all(axis=(1, 2))
    x[failed] = np.nan
    return x, failed


#: a Wald fit whose genotype coefficient moves by 1 ± UNIT_STEP_TOLERANCE in UNIT_STEPS_DIVERGED Newton steps
#: in a row is diverging (separation) and fails (see ``_ChunkFit.run``)
UNIT_STEP_TOLERANCE = 0.05
UNIT_STEPS_DIVERGED = 3

#: halvings of one Newton step whose log-likelihood stays below the last point's before the fit fails
MAX_HALVINGS = 10

#: bytes of one [n, m] float64 work array of a chunk of variants (6 are alive in an iteration; L2/L3-sized)
CHUNK_BYTES = 1024 * 1024


@contextlib.contextmanager
def _blas_single_threaded():
    """BLAS limited to one thread inside; yields the number of threads it had (at least 1): the caller's
    ``--threads`` (the GWAS engine sets the BLAS limit), or 1 without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        yield 1
        return
    blas = [i.get("num_threads", 1) for i in threadpool_info() if i.get("user_api") == "blas"]
    with threadpool_limits(limits=1, user_api="blas"):
        yield max(1, min(blas or [1]))


def run_chunks(fit_chunk, tasks, *, name: str) -> None:
    """``fit_chunk(task)`` for every task: spread over the caller's BLAS threads, each with a one-thread BLAS
    (a chunk's products are too small for a multi-threaded BLAS: its threads spin between the ~10 calls of a
    Newton iteration, 10-20x the CPU under load); ``name`` prefixes the worker threads' names."""
    tasks = list(tasks)
    with _blas_single_threaded() as workers:
        if workers > 1 and len(tasks) > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
                list(pool.map(fit_chunk, tasks))
        else:
            for task in tasks:
                fit_chunk(task)


def _chunk_size(n: int) -> int:
    """Variants per chunk of :func:`logistic_association` for ``n`` samples (16 to 1024)."""
    return int(min(1024, max(16, CHUNK_BYTES // (8 * max(n, 1)))))


def _halve_steps(worse: np.ndarray, active: np.ndarray, last: np.ndarray, B: np.ndarray, bg: np.ndarray,
                 halvings: np.ndarray) -> np.ndarray:
    """Step-halving of :meth:`_ChunkFit.run`: the fits ``active[worse]``, whose last step ``last [K+1, M]``
    lowered the log-likelihood, go back by half of it (``B``, ``bg``, ``last`` and ``halvings`` updated in
    place); returns ``[len(active)]`` True where a step was halved (False where ``worse`` and the step was
    already halved :data:`MAX_HALVINGS` times: that fit fails)."""
    halve = worse & (halvings[active] < MAX_HALVINGS)
    back = active[halve]
    last[:, back] *= 0.5
    B[:, back] -= last[:-1, back]
    bg[back] -= last[-1, back]
    halvings[back] += 1
    return halve


class _ChunkFit:
    """Newton-Raphson of ``logit P(y = 1) = C b + g beta (+ offset)`` for every column ``g`` of a chunk of
    genotypes at once (one phenotype), with Hail's stopping rule; see :func:`logistic_association`."""

    def __init__(self, C: np.ndarray, n: int, max_iterations: int, tolerance: float):
        self.C, self.n_cov = C, C.shape[1]
        self.iu, self.ju = np.triu_indices(self.n_cov)
        self.CC = np.ascontiguousarray((C[:, self.iu] * C[:, self.ju]).T)   # [K(K+1)/2, n] covariate pairs
        self.Ct = np.ascontiguousarray(C.T)
        self.max_iterations, self.tolerance = max_iterations, tolerance
        self._local = threading.local()   # work arrays per thread, reused across chunks

    def _buffers(self, n: int, m: int, k: int) -> list:
        work = getattr(self._local, "work", None)
        if work is None or work.size < k * n * m:
            work = self._local.work = np.empty(k * n * m)
        return [work[i * n * m:(i + 1) * n * m].reshape(n, m) for i in range(k)]

    def _loglik(self, y: np.ndarray, G: np.ndarray, B: np.ndarray, bg: np.ndarray, off: np.ndarray | None):
        """The log-likelihood ``sum(y eta - log(1 + exp(eta)))`` of each column of ``G [n, k]`` at coefficients
        ``B [K, k]``, ``bg [k]``, computed without overflow (``logaddexp``: a covariate value far out, e.g. a
        linear predictor below -709 for one control, made ``log(1 + exp(-eta))`` infinite)."""
        eta = self.C @ B + G * bg
        if off is not None:
            eta += off[:, None]
        return (y[:, None] * eta - np.logaddexp(0.0, eta)).sum(0)

    def run(self, G: np.ndarray, y: np.ndarray, b0: np.ndarray, off: np.ndarray | None):
        """Fit every column of ``G [n, m]`` (mean-imputed, polymorphic): ``(beta [m], se [m], converged [m])``,
        NaN where the fit failed.

        Newton-Raphson with step-halving: a step after which the log-likelihood is lower than before it
        is halved (the coefficients go back half of it) until the log-likelihood does not fall, at most
        :data:`MAX_HALVINGS` times; only accepted points count as one of the ``max_iterations`` solves.
        Full Newton steps from ``beta = 0`` overshoot and oscillate for a strong rare variant (OR ~ 15)."""
        from scipy.special import expit

        C, Ct, CC, K = self.C, self.Ct, self.CC, self.n_cov
        iu, ju = self.iu, self.ju
        n, M = G.shape
        d = K + 1
        beta_out, se_out = np.full(M, np.nan), np.full(M, np.nan)
        ok_out = np.zeros(M, dtype=bool)
        B = np.repeat(b0[:, None], M, axis=1)           # [K, M] covariate coefficients per variant
        bg = np.zeros(M)
        last = np.zeros((d, M))                        # the step that led to the current point
        unit_steps = np.zeros(M, dtype=np.int64)       # consecutive Newton steps of the genotype's β near ±1
        solves = np.zeros(M, dtype=np.int64)           # Newton solves at accepted points
        halvings = np.zeros(M, dtype=np.int64)         # halvings of the current step
        active = np.arange(M)
        Ga = G
        eta0 = C @ b0 if off is None else C @ b0 + off
        ll_accepted = np.full(M, np.sum(y * eta0 - np.logaddexp(0.0, eta0)))   # log-likelihood at the null
        control_c, control_g = (1.0 - y) @ C, (1.0 - y) @ G      # eta summed over the controls = these . coef
        if off is not None:
            off_controls = (1.0 - y) @ off
        for it in itertools.count():
            m = len(active)
            if m == 0:
                break
            mu, W, WG = self._buffers(n, m, 3)
            worse = np.zeros(m, dtype=bool)
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                if it:
                    # mu = 1 / (1 + exp(-eta)), eta = C b + g beta (+ offset): numpy's SIMD exp is ~3x
                    # faster than scipy's expit ufunc (same values to 1 ulp; exp overflow gives mu = 0)
                    np.matmul(C, -B[:, active], out=mu)
                    np.multiply(Ga, -bg[active], out=W)
                    mu += W
                    if off is not None:
                        mu -= off[:, None]
                    np.exp(mu, out=mu)
                    mu += 1.0
                    # log-likelihood = sum(log mu) - sum over the controls of eta, log mu = -log(1 + exp(-eta))
                    np.log(mu, out=W)
                    eta_controls = control_c @ B[:, active] + control_g[active] * bg[active]
                    if off is not None:
                        eta_controls += off_controls
                    ll = -W.sum(0) - eta_controls
                    far = np.flatnonzero(~np.isfinite(ll))    # exp(-eta) overflowed (eta < -709): stably instead
                    if far.size:
                        ll[far] = self._loglik(y, Ga[:, far], B[:, active[far]], bg[active[far]], off)
                    tol = 1e-9 * (1.0 + np.abs(ll_accepted[active]))
                    worse = ~(ll >= ll_accepted[active] - tol)     # NaN (overflow) counts as worse
                    np.reciprocal(mu, out=mu)
                    np.multiply(mu, mu, out=W)
                    np.subtract(mu, W, out=W)         # W = mu (1 - mu)
                    np.subtract(y[:, None], mu, out=mu)  # mu now holds the residual y - mu
                    np.multiply(W, Ga, out=WG)
                    cwc = (CC @ W).T                    # [m, K(K+1)/2]
                    score_c = (Ct @ mu).T
                    score_g = np.einsum("ij,ij->j", Ga, mu)
                else:  # every variant is at the null fit: mu and W are one column
                    mu0 = expit(eta0)
                    w0 = mu0 * (1.0 - mu0)
                    np.multiply(Ga, w0[:, None], out=WG)
                    cwc = np.broadcast_to(CC @ w0, (m, len(iu)))
                    score_c = np.broadcast_to(Ct @ (y - mu0), (m, K))
                    score_g = (y - mu0) @ Ga
                H = np.empty((m, d, d))
                H[:, iu, ju] = cwc
                H[:, ju, iu] = cwc
                H[:, :K, K] = (Ct @ WG).T
                H[:, K, :K] = H[:, :K, K]
                H[:, K, K] = np.einsum("ij,ij->j", WG, Ga)
                rhs = np.empty((m, d, 2))
                rhs[:, :K, 0] = score_c
                rhs[:, K, 0] = score_g
                rhs[:, :, 1] = 0.0
                rhs[:, K, 1] = 1.0
                x, failed = _solve_stacked(H, rhs)
            halve = _halve_steps(worse, active, last, B, bg, halvings)
            failed = np.where(worse, ~halve, failed)
            newton = ~worse & ~failed
            step, inv_last = x[:, :, 0], x[:, K, 1]
            # a β that moves by about 1 per iteration is running off along a flat likelihood (separation,
            # e.g. by a covariate and the variant together: the log-likelihood's tail is exponential, which
            # Newton follows by unit steps); plink2 calls such fits LOGISTIC_CONVERGE_FAIL even when they
            # end up settling on a huge-SE estimate
            unit = np.abs(np.abs(step[:, K]) - 1.0) < UNIT_STEP_TOLERANCE
            acc = active[newton]
            unit_steps[acc] = np.where(unit[newton], unit_steps[acc] + 1, 0)
            solves[acc] += 1
            failed |= newton & (unit_steps[active] >= UNIT_STEPS_DIVERGED)
            done = newton & ~failed & (np.abs(step).max(1) < self.tolerance)
            if done.any():
                idx = active[done]
                with np.errstate(invalid="ignore"):
                    se = np.sqrt(inv_last[done])
                beta_out[idx] = bg[idx]
                se_out[idx] = se
                ok_out[idx] = np.isfinite(se)
            failed |= newton & ~done & (solves[active] >= self.max_iterations)   # ran out of iterations
            move = newton & ~failed & ~done
            idx = active[move]
            last[:, idx] = step[move].T
            B[:, idx] += step[move, :K].T
            bg[idx] += step[move, K]
            halvings[idx] = 0
            if it:
                ll_accepted[idx] = ll[move]
            go = halve | move
            if not go.all():
                Ga = np.ascontiguousarray(Ga[:, go])
            active = active[go]
        return beta_out, se_out, ok_out


def logistic_association(genotypes: np.ndarray, prepared: PreparedLogistic) -> LogisticAssociationResult:
    """Additive logistic regression (Wald test) of a block of variants with all binary phenotypes.

    For every variant ``j`` and phenotype ``p``: ``logit P(y_p = 1) = C b + g_j beta`` fitted by
    Newton-Raphson (IRLS), vectorised over the block: per iteration, one product
    ``[C_a C_b]^T W`` (``W = mu (1 - mu)`` as an ``[n, m]`` matrix) gives ``C^T W_j C`` of every
    still-iterating variant, and the ``[m, K+1, K+1]`` systems are solved in one batched call. Each fit
    starts from the null fit with ``beta = 0`` and stops, as Hail's ``logistic_regression_rows``, when
    every coefficient's Newton step is below ``prepared.tolerance`` (the step is then *not* applied), after
    at most ``prepared.max_iterations`` solves. A step that lowers the log-likelihood is halved (at most
    :data:`MAX_HALVINGS` times, not counted as solves): full steps from ``beta = 0`` overshoot and
    oscillate for strong rare variants (OR ~ 15), which plink2 ``--glm`` and statsmodels fit.

    Parameters
    ----------
    genotypes : array [N, M]
        Effect-allele counts or dosages, NaN = missing call (mean-imputed within each phenotype's
        samples, as Hail). Same sample order as ``prepared``.
    prepared : PreparedLogistic
        From :func:`prepare_logistic`.

    Returns
    -------
    LogisticAssociationResult
        Arrays ``[M, P]``: ``beta`` (log-odds ratio per effect allele), ``standard_error`` (square root of
        the last diagonal element of the inverse Fisher information at the final coefficients),
        ``p_value`` (two-sided normal p of the Wald ``z = beta / se``), ``n``, ``effect_allele_frequency``,
        ``converged``. Fits that do not converge, explode or have a singular Fisher matrix (monomorphic
        variants, separation) are NaN with ``converged`` False, as Hail's ``fit.converged = False``; so are
        variants whose called genotypes separate cases from controls (:func:`separated`, plink2's
        ``SEPARATION``), which mean-imputed missing calls can make look converged.

    References
    ----------
    McCullagh P, Nelder JA (1989) Generalized Linear Models, 2nd ed. Chapman & Hall, section 4.4
    (Fisher scoring / IRLS). doi:10.1007/978-1-4899-3242-6
    Hail Team, ``hail.methods.logistic_regression_rows`` (test='wald'), Hail 0.2.
    https://hail.is/docs/0.2/methods/stats.html#hail.methods.logistic_regression_rows
    """
    G = np.asarray(genotypes, dtype=float)
    C = prepared.covariates
    M, P = G.shape[1], prepared.phenotypes.shape[1]
    out = {name: np.full((M, P), np.nan) for name in ("beta", "standard_error", "p_value", "effect_allele_frequency")}
    n_out = np.zeros((M, P), dtype=np.int64)
    converged = np.zeros((M, P), dtype=bool)
    tasks = []
    for mask, cols, b0, keep in prepared.groups:
        Cg = C[np.ix_(mask, keep)]
        G0, mean = _mean_impute(G if mask.all() else G[mask])
        n = int(mask.sum())
        n_out[:, cols] = n
        out["effect_allele_frequency"][:, cols] = (mean / 2.0)[:, None]
        fit = _ChunkFit(Cg, n, prepared.max_iterations, prepared.tolerance)
        polymorphic = np.ptp(G0, axis=0) > 0            # constant genotypes: singular Fisher matrix
        polymorphic &= ~vif_too_high(G0, Cg)            # and plink2's VIF_TOO_HIGH: NA, as the linear test
        step = _chunk_size(n)
        # chunks of variants small enough that their [n, m] work arrays stay in the CPU cache through
        # all Newton iterations and phenotypes (the whole block's arrays would be re-read from memory
        # ~15 times per iteration)
        tasks += [(fit, G0, a + np.flatnonzero(polymorphic[a:a + step]), mask, cols, b0) for a in range(0, M, step)]

    def fit_chunk(task) -> None:
        fit, G0, idx, mask, cols, b0 = task
        if not len(idx):
            return
        Gc = np.ascontiguousarray(G0[:, idx])
        called = G[:, idx] if mask.all() else G[np.ix_(mask, idx)]
        for j, p in enumerate(cols):                    # loop over phenotypes (few), not variants
            if p in prepared.null_failed:
                continue                                # converged stays False
            y = prepared.phenotypes[mask, p]
            off = None if prepared.offset is None else prepared.offset[mask, p]
            beta, se, ok = fit.run(Gc, y, b0[:, j], off)
            out["beta"][idx, p] = beta                  # chunks write disjoint rows: no lock
            out["standard_error"][idx, p] = se
            converged[idx, p] = ok & ~separated(called, y)

    run_chunks(fit_chunk, tasks, name="edfgen-logistic")
    from scipy.special import ndtr

    with np.errstate(invalid="ignore", divide="ignore"):
        out["p_value"] = 2.0 * ndtr(-np.abs(out["beta"] / out["standard_error"]))
    for name in ("beta", "standard_error", "p_value"):
        out[name][~converged] = np.nan
    return LogisticAssociationResult(beta=out["beta"], standard_error=out["standard_error"], p_value=out["p_value"],
                                     n=n_out, effect_allele_frequency=out["effect_allele_frequency"],
                                     converged=converged)
