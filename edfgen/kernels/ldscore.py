"""LD scores ``l_j = sum_k r²_jk`` over a window, from the hard calls of a genotype panel (ldsc ``--l2``).

As ldsc computes them (``ldscore/ldscore.py``): each variant's allele counts are standardised with
missing calls set to the mean and the standard deviation taken over all samples after that
(``(x - mean) / sd``, ddof 0); ``r_jk = x_j' x_k / n``; the bias-corrected
``r̃² = r² - (1 - r²) / (n - 2)`` is summed over every variant ``k`` (``j`` itself included) on the
same chromosome within the window (``|coord_k - coord_j| <= window``; base pairs or centimorgans).
Monomorphic variants are left out of the LD scores (and of the windows), as ldsc does.

The panel is read through :class:`edfgen.kernels.ld.LDPanel` (``read(rows)``), one block of the
chromosome at a time: memory is ``n_samples x window``.

References
----------
Bulik-Sullivan BK et al. (2015) Nat Genet 47:291, doi:10.1038/ng.3211 (LD score, the ``r̃²`` correction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LDScores:
    """LD scores of the polymorphic variants of one chromosome.

    ``rows`` panel rows of the variants scored; ``l2`` their LD scores; ``maf`` minor allele
    frequency (from the observed calls); ``m`` variants scored; ``m_5_50`` those with MAF > 5 %.
    """

    rows: np.ndarray
    l2: np.ndarray
    maf: np.ndarray

    @property
    def m(self) -> int:
        return int(len(self.rows))

    @property
    def m_5_50(self) -> int:
        return int(np.sum(self.maf > 0.05))


def window_lefts(coords: np.ndarray, max_dist: float) -> np.ndarray:
    """ldsc ``getBlockLefts``: for each variant the first variant within ``max_dist`` of it (coords sorted).

    Parameters
    ----------
    coords : array [k]
        Positions (bp or cM), ascending.
    max_dist : float
        Window radius in the units of ``coords``.

    Returns
    -------
    int64 array [k]
        Index of the first variant within ``max_dist`` to the left of each variant.
    """
    coords = np.asarray(coords, dtype=np.float64)
    return np.searchsorted(coords, coords - max_dist, side="left").astype(np.int64)


def standardise(g: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ldsc's standardisation of allele counts ``int8 [n, k]`` (negative = missing).

    Returns ``(x float64 [n, k], maf [k], polymorphic bool [k])``: missing calls are set to the mean of
    the observed ones, then ``(g - mean) / sd`` with ``sd`` over all ``n`` (1 where it is 0).

    Parameters
    ----------
    g : int8 array [n, k]
        Allele counts (negative = missing call).

    Returns
    -------
    tuple of (array [n, k], array [k], bool array [k])
        Standardised genotypes, minor allele frequencies, polymorphic flags.
    """
    g = np.asarray(g)
    obs = g >= 0
    x = np.where(obs, g, 0).astype(np.float64)
    cnt = obs.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, x.sum(0) / np.maximum(cnt, 1), 0.0)
    x = np.where(obs, x, mean[None, :])
    sd = x.std(axis=0)
    poly = sd > 0
    x = (x - mean[None, :]) / np.where(poly, sd, 1.0)[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):     # ldsc: frequency of the second (.bim A2) allele
        f = np.where(cnt > 0, (2.0 * cnt - np.where(obs, g, 0).sum(0)) / (2.0 * np.maximum(cnt, 1)), 0.0)
    return x, np.minimum(f, 1 - f), poly


def chromosome_ld_scores(panel, rows: np.ndarray, coords: np.ndarray, window: float, *,
                         chunk: int = 256) -> LDScores:
    """LD scores of the panel rows ``rows`` (one chromosome, sorted by ``coords``) over a window.

    Parameters
    ----------
    panel : :class:`edfgen.kernels.ld.LDPanel`
        Read through ``panel.read(rows) -> int8 [n_samples, k]``.
    rows : int array [k]
        Panel rows of one chromosome's variants.
    coords : array [k]
        Their positions (bp or cM), ascending.
    window : float
        The window radius in the units of ``coords`` (ldsc ``--ld-wind-kb``/``--ld-wind-cm``).
    chunk : int, default 256
        Variants per matrix product.

    Returns
    -------
    LDScores
        Of the polymorphic variants only: their ``rows``, LD scores ``l2`` (sum of the unbiased ``r²``
        ``r² - (1 - r²)/(n - 2)`` over the window, the variant itself included) and ``maf``.

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291. doi:10.1038/ng.3211
    """
    rows = np.asarray(rows, dtype=np.int64)
    coords = np.asarray(coords, dtype=np.float64)
    n = int(panel.n_samples)
    maf = np.empty(len(rows))
    poly = np.zeros(len(rows), dtype=bool)
    for a in range(0, len(rows), chunk * 4):                        # pass 1: which variants are polymorphic
        _, maf[a:a + chunk * 4], poly[a:a + chunk * 4] = standardise(panel.read(rows[a:a + chunk * 4]))
    keep = np.flatnonzero(poly)
    rows, coords, maf = rows[keep], coords[keep], maf[keep]
    m = len(rows)
    left = window_lefts(coords, window)
    right = np.searchsorted(coords, coords + window, side="right").astype(np.int64)
    l2 = np.zeros(m)
    denom = n - 2 if n > 2 else n
    pieces: list[tuple[int, int, np.ndarray]] = []     # standardised blocks of `chunk` variants, each made once
    for a in range(0, m, chunk):
        b = min(a + chunk, m)
        lo, hi = int(left[a]), int(right[b - 1])
        pieces = [pc for pc in pieces if pc[1] > lo]
        top = pieces[-1][1] if pieces else a
        while top < hi:
            e = min(top + chunk, m)
            pieces.append((top, e, standardise(panel.read(rows[top:e]))[0]))
            top = e
        xc = next(x for s_, e_, x in pieces if s_ == a)
        acc = np.zeros(b - a)
        for s_, e_, x in pieces:
            s0, e0 = max(s_, lo), min(e_, hi)
            if s0 >= e0:
                continue
            r = xc.T @ x[:, s0 - s_:e0 - s_] / n
            r2 = r * r
            r2u = r2 - (1 - r2) / denom
            j = np.arange(s0, e0)[None, :]
            inside = (j >= left[a:b, None]) & (j < right[a:b, None])
            acc += np.where(inside, r2u, 0.0).sum(1)
        l2[a:b] = acc
    return LDScores(rows, l2, maf)
