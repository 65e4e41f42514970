"""Two-sample MR test data from individual-level simulations, with fast per-variant regressions.

:func:`per_variant_linear` and :func:`per_variant_logistic` run one regression per variant as
array operations over all variants at once (no covariates), giving GWAS-SSF frames;
:func:`simulate_mr_study` simulates genotypes, exposures (with a confounder) and binary diseases
with planted causal links, and returns exposure summary statistics from one half of the sample and
outcome summary statistics from the other half (two-sample design). Used by the tests and
``benchmarks/mr_power.py``; the MR stage of a real run takes its inputs from ``edfgen gwas``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

_BASES = np.array(list("ACGT"))
_PARTNER = {"A": "G", "C": "T", "G": "A", "T": "C"}  # non-palindromic pairs


def per_variant_linear(G: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS of ``y`` on each column of ``G`` (with intercept): ``(beta, se)``, each ``[m]``.

    ``G`` [n, m] allele counts, NaN for a missing call (that sample is dropped for that variant
    only, as PLINK does); ``y`` [n], finite. Sums over the observed calls, all variants at once.
    """
    G = np.asarray(G, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    obs = ~np.isnan(G)
    if obs.all():
        n, g0, sy, syy = float(G.shape[0]), G, y.sum(), y @ y
    else:
        w = obs.astype(np.float64)
        n, g0, sy, syy = w.sum(0), np.where(obs, G, 0.0), w.T @ y, w.T @ (y * y)
    sx, sxx, sxy = g0.sum(0), np.einsum("ij,ij->j", g0, g0), g0.T @ y
    vxx = sxx - sx * sx / n
    vxy = sxy - sx * sy / n
    vyy = syy - sy * sy / n
    beta = vxy / vxx
    se = np.sqrt((vyy - beta * vxy) / (n - 2) / vxx)
    return beta, se


def per_variant_logistic(G: np.ndarray, y: np.ndarray, *, iterations: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """Logistic regression of binary ``y`` on each column of ``G`` (with intercept) by Newton-Raphson,
    all variants at once: ``(log-odds beta, Wald se)``, each ``[m]``."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _logistic(G, y, iterations)


def _logistic(G, y, iterations):
    n, m = G.shape
    p0 = y.mean()
    a = np.full(m, np.log(p0 / (1 - p0)))
    b = np.zeros(m)
    for _ in range(iterations):
        eta = a[None, :] + G * b[None, :]
        mu = 1 / (1 + np.exp(-eta))
        w = mu * (1 - mu)
        r = y[:, None] - mu
        ga, gb = r.sum(0), (G * r).sum(0)
        haa, hab, hbb = w.sum(0), (w * G).sum(0), (w * G * G).sum(0)
        det = haa * hbb - hab ** 2
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a, b = a + da, b + db
        if np.nanmax(np.abs(db)) < 1e-10:
            break
    eta = a[None, :] + G * b[None, :]
    mu = 1 / (1 + np.exp(-eta))
    w = mu * (1 - mu)
    haa, hab, hbb = w.sum(0), (w * G).sum(0), (w * G * G).sum(0)
    se = np.sqrt(haa / (haa * hbb - hab ** 2))
    bad = ~(np.isfinite(b) & np.isfinite(se)) | (np.abs(b) > 15)  # separation / no convergence
    return np.where(bad, np.nan, b), np.where(bad, np.nan, se)


def sumstats_frame(ids, a1, a2, eaf, beta, se, n, *, n_cases: float | None = None) -> pd.DataFrame:
    """GWAS-SSF frame from per-variant arrays (``n_cases`` added for binary traits)."""
    df = pd.DataFrame({"variant_id": ids, "chromosome": "1", "base_pair_location": np.arange(len(ids)) * 10_000 + 1,
                       "effect_allele": a1, "other_allele": a2, "beta": beta, "standard_error": se,
                       "effect_allele_frequency": eaf, "p_value": 2 * stats.norm.sf(np.abs(beta / se)), "n": n})
    if n_cases is not None:
        df["n_cases"] = n_cases
    return df


@dataclass(frozen=True)
class SimulatedMR:
    """Exposure sumstats (sample half A), outcome sumstats (half B) and the planted links."""

    exposures: dict
    outcomes: dict
    causal: list


def simulate_mr_study(seed: int, *, n: int = 6000, m: int = 300, n_exposures: int = 3, n_causal_variants: int = 20,
                      h2: float = 0.3, links=((0, 0, 0.5), (2, 1, -0.4)), n_outcomes: int = 2,
                      prevalence: float = 0.15, confounding: float = 0.4) -> SimulatedMR:
    """Simulate a cohort and two-sample summary statistics with planted exposure -> disease links.

    Genotypes: ``m`` independent variants (allele frequency U(0.1, 0.9)). Exposure ``e`` (unit
    variance): ``n_causal_variants`` variants explaining ``h2``, plus a confounder ``U`` (loading
    ``confounding``) and noise. Disease ``o``: logistic liability ``logit(prevalence) + sum effect * E
    + confounding * U`` over the ``links`` ``(exposure, outcome, log-odds per SD)``. Exposure GWAS on
    the first half of the sample, disease GWAS on the second half.
    """
    rng = np.random.default_rng(seed)
    eaf = rng.uniform(0.1, 0.9, m)
    G = rng.binomial(2, eaf, size=(n, m)).astype(float)
    Gs = (G - 2 * eaf) / np.sqrt(2 * eaf * (1 - eaf))
    U = rng.normal(size=n)
    E = np.empty((n, n_exposures))
    for e in range(n_exposures):
        idx = rng.choice(m, n_causal_variants, replace=False)
        w = rng.normal(size=n_causal_variants)
        g = Gs[:, idx] @ w
        g = g / g.std() * np.sqrt(h2)
        E[:, e] = g + confounding * U + rng.normal(0, np.sqrt(max(1e-6, 1 - h2 - confounding ** 2)), n)
    ids = np.array([f"sim{i}" for i in range(m)])
    a1 = rng.choice(_BASES, m)
    a2 = np.array([_PARTNER[a] for a in a1])
    half = n // 2
    A, B = slice(0, half), slice(half, n)
    exposures = {}
    for e in range(n_exposures):
        b, se = per_variant_linear(G[A], E[A, e])
        exposures[f"trait_{e}"] = sumstats_frame(ids, a1, a2, G[A].mean(0) / 2, b, se, half)
    outcomes = {}
    base = np.log(prevalence / (1 - prevalence))
    for o in range(n_outcomes):
        eta = base + confounding * U
        for e, oo, eff in links:
            if oo == o:
                eta = eta + eff * E[:, e]
        d = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
        b, se = per_variant_logistic(G[B], d[B])
        outcomes[f"disease_{o}"] = sumstats_frame(ids, a1, a2, G[B].mean(0) / 2, b, se, n - half,
                                                  n_cases=float(d[B].sum()))
    causal = [{"exposure": f"trait_{e}", "outcome": f"disease_{o}", "effect": eff} for e, o, eff in links]
    return SimulatedMR(exposures, outcomes, causal)
