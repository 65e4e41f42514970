"""Colocalisation of two traits at a locus: approximate Bayes factors (coloc.abf) and coloc-SuSiE (coloc.bf_bf),
transcribed from the R package coloc 5 (``approx.bf.estimates``, ``sdY.est``, ``combine.abf``, ``coloc.bf_bf``).

Hypotheses: H0 no association, H1 trait 1 only, H2 trait 2 only, H3 both with distinct causal variants, H4 both
with one shared causal variant; priors per variant ``p1``, ``p2`` (1e-4) and ``p12`` (1e-5).

References
----------
Wakefield J (2009) "Bayes factors for genome-wide association studies", Genet Epidemiol 33:79.
Giambartolomei C et al. (2014) "Bayesian test for colocalisation between pairs of genetic association studies
using summary statistics", PLoS Genet 10:e1004383, doi:10.1371/journal.pgen.1004383.
Wallace C (2021) "A more accurate method for colocalisation analysis allowing for multiple causal variants",
PLoS Genet 17:e1009440, doi:10.1371/journal.pgen.1009440.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from edfgen.exceptions import InputError
from edfgen.kernels.susie import logsumexp_1d

P1, P2, P12 = 1e-4, 1e-4, 1e-5
#: coloc's prior standard deviations of the effect: quantitative traits (times sdY), case-control (log OR)
SD_PRIOR_QUANT, SD_PRIOR_CC = 0.15, 0.2


@dataclass(frozen=True)
class ColocResult:
    """Posterior probabilities ``pp [5]`` of H0..H4, the number of variants and the index of the variant with the
    largest posterior of being the shared causal one (``top``)."""

    pp: np.ndarray
    nsnps: int
    top: int


def sdy_estimate(varbeta, maf, n) -> float:
    """coloc ``sdY.est``: sdY from the least-squares fit through the origin of ``2 n maf (1 - maf)`` on ``1 / varbeta``.

    Parameters
    ----------
    varbeta : array [m]
        Squared standard errors of the per-variant effects (trait units²).
    maf : array [m]
        Minor allele frequencies of the same variants.
    n : int or array [m]
        Sample size (per variant when an array).

    Returns
    -------
    float
        Estimated standard deviation of the trait (``sdY``).

    Raises
    ------
    InputError
        When the fitted ``sdY²`` is negative.
    """
    oneover = 1.0 / np.asarray(varbeta, dtype=np.float64)
    nvx = 2 * np.asarray(n, dtype=np.float64) * np.asarray(maf) * (1 - np.asarray(maf))
    ok = np.isfinite(oneover) & np.isfinite(nvx)
    cf = float(np.sum(oneover[ok] * nvx[ok]) / np.sum(oneover[ok] ** 2))
    if cf < 0:
        raise InputError("coloc: estimated sdY is negative (too few variants, or errors in the data)")
    return float(np.sqrt(cf))


def wakefield_labf(beta, se, *, binary: bool, sdy: float = 1.0) -> np.ndarray:
    """coloc ``approx.bf.estimates``: ``log ABF = (log(1 - r) + r z²) / 2``, ``r = W / (W + V)``, ``V = se²``,
    ``W = (0.15 sdY)²`` for a quantitative trait, ``0.2²`` for a case-control one.

    Parameters
    ----------
    beta : array [m]
        Per-variant effect estimates (trait units, or log OR for a case-control trait).
    se : array [m]
        Their standard errors.
    binary : bool
        Case-control trait (prior SD 0.2 on the log OR) rather than quantitative (prior SD ``0.15 sdy``).
    sdy : float, default 1.0
        Standard deviation of a quantitative trait (ignored when ``binary``).

    Returns
    -------
    array [m]
        Natural-log approximate Bayes factors (Wakefield 2009).

    References
    ----------
    Wakefield J (2009) Genet Epidemiol 33:79. doi:10.1002/gepi.20359
    """
    v = np.asarray(se, dtype=np.float64) ** 2
    z = np.asarray(beta, dtype=np.float64) / np.sqrt(v)
    sd = SD_PRIOR_CC if binary else SD_PRIOR_QUANT * sdy
    r = sd * sd / (sd * sd + v)
    return 0.5 * (np.log(1 - r) + r * z * z)


def adjust_prior(p: float, nsnps: int) -> float:
    """coloc ``adjust_prior``: a per-variant prior with ``nsnps p >= 1`` becomes ``1 / (nsnps + 1)``.

    Parameters
    ----------
    p : float
        Per-variant prior probability.
    nsnps : int
        Number of variants in the region.

    Returns
    -------
    float
        ``p``, or ``1 / (nsnps + 1)`` when ``nsnps p >= 1``.
    """
    return 1.0 / (nsnps + 1) if nsnps * p >= 1 else p


def _logdiff(x: float, y: float) -> float:
    m = max(x, y)
    with np.errstate(divide="ignore"):       # x == y: log 0 = -inf, H3 impossible (one variant)
        return float(m + np.log(np.exp(x - m) - np.exp(y - m)))


def combine_abf(l1, l2, p1: float = P1, p2: float = P2, p12: float = P12) -> ColocResult:
    """coloc ``combine.abf``: posterior probabilities of H0..H4 from the per-variant log ABFs of both traits.

    Parameters
    ----------
    l1, l2 : array [m]
        Natural-log ABFs of traits 1 and 2 at the same ``m`` variants (e.g. from :func:`wakefield_labf`).
    p1, p2 : float, default 1e-4
        Prior probability that a variant is associated with trait 1 only / trait 2 only.
    p12 : float, default 1e-5
        Prior probability that a variant is associated with both traits.

    Returns
    -------
    ColocResult
        ``pp [5]`` (posteriors of H0..H4), ``nsnps`` and ``top`` (index of the largest ``l1 + l2``).

    Raises
    ------
    InputError
        When ``l1`` and ``l2`` differ in shape or are empty.

    References
    ----------
    Giambartolomei C et al. (2014) PLoS Genet 10:e1004383. doi:10.1371/journal.pgen.1004383
    """
    l1, l2 = np.asarray(l1, dtype=np.float64), np.asarray(l2, dtype=np.float64)
    if l1.shape != l2.shape or l1.size == 0:
        raise InputError(f"coloc: the two traits need the same variants (got {l1.size} and {l2.size})")
    p1, p2, p12 = (adjust_prior(p, l1.size) for p in (p1, p2, p12))
    lsum = l1 + l2
    s1, s2, s12 = logsumexp_1d(l1), logsumexp_1d(l2), logsumexp_1d(lsum)
    lh = np.array([0.0, np.log(p1) + s1, np.log(p2) + s2, np.log(p1) + np.log(p2) + _logdiff(s1 + s2, s12),
                   np.log(p12) + s12])
    return ColocResult(np.exp(lh - logsumexp_1d(lh)), int(l1.size), int(np.argmax(lsum)))


def coloc_abf(beta1, se1, beta2, se2, *, binary1: bool = False, binary2: bool = False, sdy1: float = 1.0,
              sdy2: float = 1.0, p1: float = P1, p2: float = P2, p12: float = P12) -> ColocResult:
    """coloc ``coloc.abf`` on two traits' effects and standard errors at the same variants.

    Parameters
    ----------
    beta1, se1 : array [m]
        Trait 1's effects and standard errors at the ``m`` variants.
    beta2, se2 : array [m]
        Trait 2's effects and standard errors at the same variants, same effect alleles.
    binary1, binary2 : bool, default False
        Whether each trait is case-control (effects are log ORs).
    sdy1, sdy2 : float, default 1.0
        Standard deviation of each quantitative trait (see :func:`sdy_estimate`).
    p1, p2, p12 : float
        Per-variant priors (defaults 1e-4, 1e-4, 1e-5), as in :func:`combine_abf`.

    Returns
    -------
    ColocResult
        Posterior probabilities of H0..H4, number of variants and the top shared variant.

    References
    ----------
    Wakefield J (2009) Genet Epidemiol 33:79. doi:10.1002/gepi.20359
    Giambartolomei C et al. (2014) PLoS Genet 10:e1004383. doi:10.1371/journal.pgen.1004383
    """
    return combine_abf(wakefield_labf(beta1, se1, binary=binary1, sdy=sdy1),
                       wakefield_labf(beta2, se2, binary=binary2, sdy=sdy2), p1, p2, p12)


def coloc_bf_bf(bf1: np.ndarray, bf2: np.ndarray, *, p1: float = P1, p2: float = P2,
                p12: float = P12) -> list[tuple[int, int, ColocResult]]:
    """coloc ``coloc.bf_bf`` (coloc-SuSiE): every pair of single-effect log BF rows (``bf1 [k1, p]``, ``bf2 [k2, p]``,
    the credible sets' ``lbf_variable``) on the same variants, each combined by :func:`combine_abf`. Returns
    ``[(i, j, result)]``. (coloc also drops pairs with < 50 % posterior mass on the shared variants; both traits
    are fine-mapped on the same variants here, so none is dropped.)

    Parameters
    ----------
    bf1 : array [k1, p] or [p]
        Trait 1's per-variant log Bayes factors, one row per SuSiE single effect (``lbf_variable``).
    bf2 : array [k2, p] or [p]
        Trait 2's, on the same ``p`` variants.
    p1, p2, p12 : float
        Per-variant priors (defaults 1e-4, 1e-4, 1e-5), as in :func:`combine_abf`.

    Returns
    -------
    list of (int, int, ColocResult)
        ``k1 * k2`` tuples: row of ``bf1``, row of ``bf2``, their colocalisation.

    References
    ----------
    Wallace C (2021) PLoS Genet 17:e1009440. doi:10.1371/journal.pgen.1009440
    """
    bf1, bf2 = np.atleast_2d(bf1), np.atleast_2d(bf2)
    out = []
    for i in range(bf1.shape[0]):
        for j in range(bf2.shape[0]):
            out.append((i, j, combine_abf(bf1[i], bf2[j], p1, p2, p12)))
    return out
