"""Cross-trait LD score regression of many pairs at once: ldsc's one-step genetic-covariance fit
(:func:`edfgen.kernels.ldsc.ld_regression` with ``null_intercept=0``, no fixed intercept, no two-step) and
the rg ratio jackknife (:func:`edfgen.kernels.ldsc.ldsc_rg`) on ``[n_pairs, n_snp]`` arrays.

Every pair of a batch shares its variants (columns) and their LD scores; each row is one pair. The
arithmetic is that of the one-pair functions step by step (two IRWLS weight updates from the weighted
least-squares fit, then the block jackknife of the fit with the final weights, ldsc ``IRWLS`` and
``LstsqJackknifeFast``); the 2 x 2 least-squares solves are normal equations instead of LAPACK's
``gelsd`` and per-block sums ``numpy.add.reduceat`` instead of a BLAS product, so results agree with
the one-pair path to rounding (about 1e-12 relative). The weights' parts that stay fixed between the
IRWLS updates (the two heritability terms) are computed once per batch. The heritability fits each pair needs are the
one-phenotype :func:`~edfgen.kernels.ldsc.ldsc_h2`, which the caller computes once per phenotype and
variant set.

References
----------
Bulik-Sullivan B et al. (2015) "An atlas of genetic correlations across human diseases and traits",
Nat Genet 47:1236, doi:10.1038/ng.3406.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from edfgen.exceptions import InputError
from edfgen.kernels.ldsc import N_BLOCKS, block_separators


@dataclass(frozen=True)
class RGBatch:
    """``ldsc --rg`` of a batch of pairs (arrays ``[n_pairs]``): ``rg``, ``rg_se``, ``z``, ``p_value``
    (NaN where an h² or a leave-one-block-out h² product is <= 0, as :func:`~edfgen.kernels.ldsc.ldsc_rg`),
    the genetic covariance ``gencov`` (``rho_g``) with its SE, intercept ``gcov_int`` and its SE, and
    ``weights_failed``: pairs whose regression weights were not all finite and > 0 (a negative h² intercept
    makes ldsc's gencov weight negative; ldsc stops that pair with "Weights must be > 0"), every number NaN."""

    rg: np.ndarray
    rg_se: np.ndarray
    z: np.ndarray
    p_value: np.ndarray
    gencov: np.ndarray
    gencov_se: np.ndarray
    gcov_int: np.ndarray
    gcov_int_se: np.ndarray
    weights_failed: np.ndarray


def _sums(w2: np.ndarray, xs: np.ndarray, y: np.ndarray, starts: np.ndarray | None = None) -> list[np.ndarray]:
    """``X'X`` and ``X'y`` of the fit ``y ~ xs + 1`` weighted by ``w2`` (squared, normalised square-root
    weights), per row (pair): ``[Σ w xs², Σ w xs, Σ w, Σ w xs y, Σ w y]``; per block when ``starts`` is given."""
    t = xs * w2
    if starts is None:
        return [np.einsum("ij,ij->i", t, xs), t.sum(1), w2.sum(1), np.einsum("ij,ij->i", t, y),
                np.einsum("ij,ij->i", w2, y)]
    return [np.add.reduceat(v, starts, axis=1) for v in (t * xs, t, w2, t * y, w2 * y)]


def _solve2(a00, a01, a11, b0, b1) -> tuple[np.ndarray, np.ndarray]:
    """The solution of the symmetric 2 x 2 systems ``[[a00 a01] [a01 a11]] x = [b0 b1]`` (elementwise)."""
    det = a00 * a11 - a01 * a01
    return (a11 * b0 - a01 * b1) / det, (a00 * b1 - a01 * b0) / det


def gencov_rg_batch(z1: np.ndarray, z2: np.ndarray, ld: np.ndarray, w_ld: np.ndarray, n1: np.ndarray,
                    n2: np.ndarray, m: float, *, h1: np.ndarray, h2: np.ndarray, int1: np.ndarray, int2: np.ndarray,
                    h1_delete: np.ndarray, h2_delete: np.ndarray, n_blocks: int = N_BLOCKS) -> RGBatch:
    """Genetic covariance and correlation of ``n_pairs`` pairs sharing their variants (one-step fits, as
    ``ldsc --rg``).

    Parameters
    ----------
    z1, z2 : ``[n_pairs, n_snp]`` z-scores aligned to the same allele, variants in jackknife-block order.
    ld, w_ld : ``[n_snp]`` reference and regression-weight LD scores.
    n1, n2 : ``[n_pairs, n_snp]`` per-variant sample sizes.
    m : ``M_5_50``.
    h1, h2, int1, int2 : ``[n_pairs]`` each trait's h² and intercept on these variants (:func:`ldsc_h2`
        one-step fits), the gencov weights' inputs.
    h1_delete, h2_delete : ``[n_pairs, n_blocks]`` their leave-one-block-out h² (the ratio jackknife).
    n_blocks : int, default 200: jackknife blocks (at most ``n_snp``; the same as the h² fits').

    Returns
    -------
    RGBatch

    References
    ----------
    Bulik-Sullivan B et al. (2015) Nat Genet 47:1236. doi:10.1038/ng.3406
    """
    z1, z2, n1, n2 = (np.asarray(a, dtype=np.float64) for a in (z1, z2, n1, n2))
    h1, h2, int1, int2 = (np.asarray(a, dtype=np.float64)[:, None] for a in (h1, h2, int1, int2))
    n_snp = z1.shape[1]
    if n_snp < 2:
        raise InputError(f"LD score regression needs at least 2 variants, got {n_snp}")
    nb = min(n_snp, n_blocks)
    ld = np.asarray(ld, dtype=np.float64).reshape(1, -1)
    w_ld = np.asarray(w_ld, dtype=np.float64).reshape(1, -1)
    y = z1 * z2
    n = np.sqrt(n1 * n2)
    tot_agg = m * np.mean(y, axis=1) / np.mean(ld * n, axis=1)
    nbar = np.mean(n, axis=1)
    xs = n * ld / nbar[:, None]
    # ldsc Gencov.weights 1 / ((N1 h1 l / M + a1)(N2 h2 l / M + a2) + (sqrt(N1 N2) rho l / M + c)²) / w_ld, with
    # h1, h2 clipped to [0, 1] and LD scores floored at 1: only rho and c change between the IRWLS updates
    ld1, w1 = np.fmax(ld, 1.0), np.fmax(w_ld, 1.0)
    ab = (n1 * (np.clip(h1, 0.0, 1.0) * ld1 / m) + int1) * (n2 * (np.clip(h2, 0.0, 1.0) * ld1 / m) + int2)
    scale = n * ld1 / m
    failed = np.zeros(z1.shape[0], dtype=bool)

    def weights(rho, c):
        """ldsc IRWLS: square-root weights normalised to sum 1 (``_weight``), squared (the fit's weights). A
        pair with a weight not finite and > 0 is marked in ``failed`` (NA, as ldsc stops that pair alone) and
        given equal weights, so that the batch's other pairs go on."""
        w = scale * np.clip(rho, -1.0, 1.0)[:, None]
        w += c if np.ndim(c) == 0 else c[:, None]
        np.square(w, out=w)
        w += ab
        w *= w1
        with np.errstate(divide="ignore"):
            np.divide(1.0, w, out=w)
        np.logical_or(failed, ~np.all(np.isfinite(w) & (w > 0), axis=1), out=failed)
        w[failed] = 1.0
        w /= np.square(np.sqrt(w).sum(axis=1))[:, None]
        return w

    w2 = weights(tot_agg, 0.0)
    for _ in range(2):                                       # IRWLS: two weight updates
        c0, c1 = _solve2(*_sums(w2, xs, y))
        w2 = weights(m * c0 / nbar, c1)
    blocks = _sums(w2, xs, y, block_separators(n_snp, nb)[:-1])
    tot = [b.sum(1) for b in blocks]
    est0, est1 = _solve2(*tot)
    del0, del1 = _solve2(*(t[:, None] - b for t, b in zip(tot, blocks)))
    ps0, ps1 = nb * est0[:, None] - (nb - 1) * del0, nb * est1[:, None] - (nb - 1) * del1
    se0, se1 = np.sqrt(np.var(ps0, axis=1, ddof=1) / nb), np.sqrt(np.var(ps1, axis=1, ddof=1) / nb)
    gencov, gencov_se = m * est0 / nbar, m * se0 / nbar
    gc_delete = del0 * m / nbar[:, None]
    h1, h2 = h1[:, 0], h2[:, 0]
    prod = np.asarray(h1_delete) * np.asarray(h2_delete)
    bad = (h1 <= 0) | (h2 <= 0) | np.any(prod <= 0, axis=1) | failed
    with np.errstate(invalid="ignore", divide="ignore"):
        rg = gencov / np.sqrt(h1 * h2)
        pseudo = nb * rg[:, None] - (nb - 1) * gc_delete / np.sqrt(prod)
        rg_se = np.sqrt(np.var(pseudo, axis=1, ddof=1) / nb)
        zz = rg / rg_se
    rg, rg_se, zz = (np.where(bad, np.nan, v) for v in (rg, rg_se, zz))
    p = np.where(bad, np.nan, stats.chi2.sf(zz * zz, 1))
    gencov, gencov_se, est1, se1 = (np.where(failed, np.nan, v) for v in (gencov, gencov_se, est1, se1))
    return RGBatch(rg, rg_se, zz, p, gencov, gencov_se, est1, se1, failed)
