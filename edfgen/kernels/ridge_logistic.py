"""REGENIE's level 1 for binary traits: cross-validated ridge *logistic* regression of a 0/1 phenotype on the
standardised level-0 predictions, with the covariates' null logistic fit as an offset.

Per fold ``f`` and shrinkage ``λ_s`` (largest first, each fit warm-started from the previous one):
maximise ``ℓ(α) - λ_s ||α||² / 2`` with ``logit μ = o + X α`` over the samples outside ``f`` (Newton-Raphson
on ``X^T W X + λ I``, steps halved while the penalised log-likelihood decreases). The shrinkage with the
smallest out-of-fold deviance (summed over folds) is kept; each sample's prediction ``X_i α_f(i)`` (the
logit scale, without the offset) comes from the model fitted without its fold.

References
----------
Mbatchou J et al. (2021) Computationally efficient whole-genome regression for quantitative and binary
traits. Nat Genet 53:1097 (Methods: level 1 for binary traits). doi:10.1038/s41588-021-00870-7
le Cessie S, van Houwelingen JC (1992) Ridge estimators in logistic regression. Appl Stat 41:191.
doi:10.2307/2347628
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

__all__ = ["LogisticRidgeCV", "logistic_ridge", "logistic_ridge_cv", "LIABILITY_VARIANCE"]

#: variance of the standard logistic distribution (π²/3): the residual variance of the liability scale
#: on which the level-1 shrinkage grid ``B R (1 - h²) / h²`` is divided for logistic models
LIABILITY_VARIANCE = np.pi ** 2 / 3


def _penalised(y, eta, alpha, lam) -> float:
    return float((y * eta - np.logaddexp(0.0, eta)).sum() - 0.5 * lam * alpha @ alpha)


def logistic_ridge(X: np.ndarray, y: np.ndarray, offset: np.ndarray, lam: float, *, start: np.ndarray | None = None,
                   max_iterations: int = 100, tolerance: float = 1e-8, max_halvings: int = 30) -> tuple[np.ndarray, bool]:
    """Ridge logistic regression ``argmax ℓ(α) - λ ||α||² / 2``, ``logit μ = offset + X α`` (no intercept: the
    offset carries it). Returns ``(α, converged)``; converged when every Newton step is below ``tolerance``."""
    from scipy.special import expit

    a = np.zeros(X.shape[1]) if start is None else np.array(start, dtype=float)
    eta = offset + X @ a
    obj = _penalised(y, eta, a, lam)
    eye = lam * np.eye(X.shape[1])
    for _ in range(max_iterations):
        mu = expit(eta)
        w = mu * (1 - mu)
        grad = X.T @ (y - mu) - lam * a
        try:
            step = np.linalg.solve(X.T @ (X * w[:, None]) + eye, grad)
        except np.linalg.LinAlgError:
            return a, False
        if np.abs(step).max() < tolerance:
            return a, True
        for _ in range(max_halvings):
            new = a + step
            new_eta = offset + X @ new
            new_obj = _penalised(y, new_eta, new, lam)
            if new_obj >= obj - 1e-12 * abs(obj):
                break
            step /= 2
        else:
            return a, False
        a, eta, obj = new, new_eta, new_obj
    return a, False


@dataclass(frozen=True)
class LogisticRidgeCV:
    """Result of :func:`logistic_ridge_cv`.

    Attributes
    ----------
    betas : list of array [D, S]
        Per fold, the coefficients fitted without that fold, one column per shrinkage.
    deviance : array [S]
        Out-of-fold deviance per sample, ``-2/n Σ_f Σ_{i in f} log p(y_i)``.
    null_deviance : float
        The same for the offset alone (``α = 0``).
    best : int
        Index of the shrinkage with the smallest ``deviance``.
    converged : bool
        Every fit converged.
    """

    betas: list
    deviance: np.ndarray
    null_deviance: float
    best: int
    converged: bool

    @property
    def pseudo_r2(self) -> float:
        """Out-of-fold deviance explained, ``1 - deviance[best] / null_deviance`` (McFadden's R²)."""
        return float(1.0 - self.deviance[self.best] / self.null_deviance) if self.null_deviance > 0 else float("nan")


def logistic_ridge_cv(X: np.ndarray, y: np.ndarray, offset: np.ndarray, fold_rows: Sequence[np.ndarray],
                      shrinkage: Sequence[float]) -> LogisticRidgeCV:
    """:func:`logistic_ridge` on every fold's complement and every shrinkage (largest first, warm starts);
    the shrinkage with the smallest out-of-fold deviance is ``best``.

    Parameters
    ----------
    X : array [n, D]
        Predictors (standardised level-0 predictions) of the samples with a phenotype.
    y : array [n]
        0/1.
    offset : array [n]
        Null linear predictor (covariates' logistic fit).
    fold_rows : list of int arrays
        Rows of ``X`` in each fold (a partition of ``0..n-1``).
    shrinkage : sequence of float
        Penalties ``λ``.
    """
    from scipy.special import expit

    lam = np.asarray(shrinkage, dtype=float)
    order = np.argsort(-lam)
    n = len(y)
    everyone = np.arange(n)
    dev = np.zeros(len(lam))
    null_dev = 0.0
    betas, all_ok = [], True
    for rows in fold_rows:
        train = np.setdiff1d(everyone, rows, assume_unique=True)
        B = np.zeros((X.shape[1], len(lam)))
        a = None
        for s in order:
            a, ok = logistic_ridge(X[train], y[train], offset[train], lam[s], start=a)
            all_ok &= ok
            B[:, s] = a
        betas.append(B)
        if len(rows):
            p = np.clip(expit(offset[rows, None] + X[rows] @ B), 1e-300, 1.0)
            q = np.clip(1.0 - p, 1e-300, 1.0)
            yy = y[rows, None]
            dev -= 2.0 * (yy * np.log(p) + (1 - yy) * np.log(q)).sum(0)
            p0 = expit(offset[rows])
            null_dev -= 2.0 * (y[rows] * np.log(p0) + (1 - y[rows]) * np.log1p(-p0)).sum()
    dev /= max(n, 1)
    null_dev /= max(n, 1)
    return LogisticRidgeCV(betas=betas, deviance=dev, null_deviance=null_dev, best=int(np.argmin(dev)),
                           converged=bool(all_ok))
