"""Whole-genome ridge regression with leave-one-chromosome-out predictions (REGENIE step 1).

Pure numpy over a stream of genotype blocks; every phenotype shares each genotype pass.

1. Phenotypes are residualised on the covariates (each on its own non-missing samples), scaled to unit
   variance; missing values become 0 (the residual mean) for level 0 and are left out of level 1.
   Genotype columns are mean-imputed, residualised on the covariates and standardised.
2. **Level 0**: the variants are cut into blocks of ``block_size`` consecutive variants of one
   chromosome. For every block, every shrinkage value ``λ0_r = M (1 - h²_r) / h²_r`` (``M`` variants in
   all, ``h²_r`` in ``h2_grid``: the prior of per-variant effects ``N(0, h²/M)`` on standardised data) and
   every phenotype, a ridge regression is fitted on ``K - 1`` of ``K`` folds of samples (random, seeded) and
   predicts the held-out fold (one eigendecomposition of the block's ``X^T X`` per fold serves every
   shrinkage value and phenotype). These out-of-fold predictions, ``B x R`` per sample and phenotype,
   are kept in memory when they fit in ``memory_limit`` bytes, otherwise in a temporary memory-mapped
   file, and read back one phenotype at a time (memory bounded for 1,024 phenotypes); they are stored as
   ``[P, B R, N]`` so that each block's writes are contiguous (no write amplification when spilled).
3. **Level 1**: per phenotype, the ``B x R`` predictions (each standardised) are stacked by ridge
   regression over ``λ1_s = B R (1 - h²_s) / h²_s``; the shrinkage with the best mean out-of-fold R²
   (the same ``K`` folds) is kept. Each sample's prediction comes from the model fitted without its fold.
4. **LOCO**: for chromosome ``c`` the predictors of ``c``'s blocks are dropped from each fold's level-1
   model: ``loco_c = X_f β_f - X_f[:, c] β_f[c]``.

Predictions are returned in the units of the analysed phenotype (after any transform), to be
subtracted from it (linear step 2) or used as an offset (logistic step 2, predictions of the
covariate-residualised 0/1 phenotype mapped to the logit scale, see :func:`ridge_loco_predictions`).

References
----------
Mbatchou J et al. (2021) Computationally efficient whole-genome regression for quantitative and binary
traits. Nat Genet 53:1097. doi:10.1038/s41588-021-00870-7
Breiman L (1996) Stacked regressions. Mach Learn 24:49. doi:10.1007/BF00117832

The predictions' files (``<out>/loco``) are written and read by :mod:`edfgen.formats.loco`.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.kernels.association import prepare_phenotypes
from edfgen.progress import progress

log = logging.getLogger(__name__)

__all__ = ["LocoPredictions", "ridge_loco_predictions", "shrinkage_grid", "H2_GRID"]

#: REGENIE's heritability grid for both levels
H2_GRID = (0.01, 0.25, 0.5, 0.75, 0.99)


def shrinkage_grid(n_predictors: int, h2_grid: Sequence[float] = H2_GRID) -> np.ndarray:
    """``λ = n (1 - h²) / h²`` for each ``h²``: ridge penalties on standardised predictors whose effects
    have prior variance ``h² / n`` and residual variance ``1 - h²`` (REGENIE)."""
    h = np.asarray(h2_grid, dtype=float)
    if (h <= 0).any() or (h >= 1).any():
        raise InputError(f"ridge-loco: heritabilities {list(h2_grid)} must lie in (0, 1)")
    return n_predictors * (1 - h) / h


@dataclass(frozen=True)
class LocoPredictions:
    """Whole-genome and leave-one-chromosome-out predictions of every phenotype.

    Attributes
    ----------
    sample_ids : array [N]
    phenotypes : list of str [P]
    chromosomes : list of str [C]
    loco_values : array [C, N, P]
        ``loco_values[c]``: prediction from every chromosome but ``c``.
    genome : array [N, P]
        Prediction from all chromosomes (used for variants on chromosomes absent from step 1).
    level1_shrinkage : array [P]
        The chosen level-1 penalty.
    cv_r2 : array [P]
        Mean out-of-fold R² of the chosen level-1 model (on the residualised, scaled phenotype).
    """

    sample_ids: np.ndarray
    phenotypes: list[str]
    chromosomes: list[str]
    loco_values: np.ndarray
    genome: np.ndarray
    level1_shrinkage: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cv_r2: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def loco(self, chromosome: str) -> np.ndarray:
        """``[N, P]`` prediction to remove when testing a variant on ``chromosome``."""
        try:
            return self.loco_values[self.chromosomes.index(str(chromosome))]
        except ValueError:
            return self.genome

    def for_samples(self, sample_ids: Sequence[str], phenotypes: Sequence[str] | None = None,
                    source: str = "--loco-predictions") -> "LocoPredictions":
        """The predictions re-ordered to these samples (and phenotypes); all must be present."""
        ids = pd.Index(np.asarray(self.sample_ids, dtype=str))
        want = np.asarray(sample_ids, dtype=str)
        rows = ids.get_indexer(want)
        if (rows < 0).any():
            raise InputError(f"{source}: {int((rows < 0).sum())} analysed sample(s) have no prediction "
                             f"(e.g. {want[rows < 0][0]!r}): rerun step 1 on these samples")
        cols = np.arange(len(self.phenotypes))
        if phenotypes is not None:
            have = list(self.phenotypes)
            absent = [p for p in phenotypes if p not in have]
            if absent:
                raise InputError(f"{source}: no predictions for phenotype(s) {', '.join(map(repr, absent[:5]))}")
            cols = np.array([have.index(p) for p in phenotypes], dtype=int)
        return LocoPredictions(sample_ids=want, phenotypes=[self.phenotypes[c] for c in cols],
                               chromosomes=list(self.chromosomes), loco_values=self.loco_values[:, rows][:, :, cols],
                               genome=self.genome[rows][:, cols],
                               level1_shrinkage=self.level1_shrinkage[cols] if len(self.level1_shrinkage) else
                               self.level1_shrinkage,
                               cv_r2=self.cv_r2[cols] if len(self.cv_r2) else self.cv_r2)


#: seed of the random assignment of samples to cross-validation folds
FOLD_SEED = 1097


#: level-0 block sizes :func:`auto_block_size` chooses from
BLOCK_SIZES = (100, 200, 250, 500, 1000, 2000, 4000)


def auto_block_size(n_samples: int, n_variants: int, n_phenotypes: int, *, folds: int = 5, n_shrinkage: int = 5,
                    sizes: Sequence[int] = BLOCK_SIZES) -> int:
    """The level-0 block size with the fewest floating-point operations in a simple cost model.

    Level 0 costs ``M N b`` (the blocks' ``X^T X``) plus ``folds M b^2`` times ~10 (one
    eigendecomposition per block and fold); level 1 costs, per phenotype, ``N (R M / b)^2`` plus
    ``folds (R M / b)^3`` times ~10. Small blocks make level 0 cheap and level 1 expensive; REGENIE's
    fixed 1000 is what this picks for ~500k variants, 2,000 samples and a few phenotypes, but on 10k
    variants it is 3-4x slower than 250.
    """
    M, N, P = max(int(n_variants), 1), max(int(n_samples), 1), max(int(n_phenotypes), 1)

    def cost(b: int) -> float:
        k = n_shrinkage * -(-M // b)
        return M * N * b + 10.0 * folds * M * b * b + P * (N * k * k + 10.0 * folds * k ** 3)

    return int(min(sizes, key=cost))


def _folds(n: int, k: int, *, contiguous: bool = False) -> np.ndarray:
    """Fold of each sample: ``k`` near-equal groups, at random (seeded) or as contiguous blocks in sample
    order (sgkit's sample blocks). Random by default: relatives are often adjacent in sample files
    (sorted by family), and a fold holding a whole family would hide each sample's relatives from the
    level-0/1 models that predict it, which is what corrects for relatedness."""
    fold = (np.arange(n) * k) // n
    if contiguous:
        return fold
    return fold[np.argsort(np.random.default_rng(FOLD_SEED).permutation(n))]


def _standardise_block(G: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Mean-impute, residualise on ``Q`` (orthonormal covariates), scale to unit variance; drops constant columns."""
    G = np.asarray(G, dtype=float)
    if np.isnan(G).any():
        mean = np.nanmean(G, axis=0)
        G = np.where(np.isnan(G), mean[None, :], G)
    G = G - Q @ (Q.T @ G)
    sd = G.std(axis=0)
    ok = sd > 1e-8 * max(1.0, float(np.abs(G).max(initial=0.0)))
    return G[:, ok] / sd[ok]


def ridge_loco_predictions(genome, phenotypes: np.ndarray, covariates: np.ndarray, *,
                           names: Sequence[str] | None = None, sample_ids: Sequence[str] | None = None,
                           block_size: int | None = None, folds: int = 5, h2_grid: Sequence[float] = H2_GRID,
                           level0_shrinkage: Sequence[float] | None = None,
                           level1_shrinkage: Sequence[float] | None = None,
                           binary: bool = False, memory_limit: int = 1 << 30,
                           tmp_dir: str | None = None, fold_ids: np.ndarray | None = None) -> LocoPredictions:
    """REGENIE step 1: level-0 block ridge regressions, level-1 stacking, LOCO predictions.

    Parameters
    ----------
    genome : GenomeBlocks
        The genotypes of the ``N`` analysed samples (same row order as ``phenotypes``).
    phenotypes : array [N, P]
        Analysed phenotypes (already transformed), NaN = missing.
    covariates : array [N, K]
        Complete, including the intercept.
    names, sample_ids
        Phenotype names and sample ids stored with the predictions.
    block_size : int, optional
        Variants per level-0 block (REGENIE's default is 1000); ``None`` = :func:`auto_block_size`.
    folds : int
        Cross-validation folds (REGENIE default 5); samples are assigned at random (seeded,
        balanced), see :func:`_folds`.
    h2_grid : sequence of float
        Heritabilities defining both shrinkage grids (:func:`shrinkage_grid`).
    level0_shrinkage, level1_shrinkage : sequence of float, optional
        Explicit penalties instead of the grids (e.g. to reproduce another implementation's choice).
    binary : bool
        0/1 phenotypes: the predictions of the covariate-residualised phenotype ``η`` are returned on the
        logit scale as ``logit(p0 + η) - logit(p0)`` with ``p0`` the phenotype's mean (clipped to
        [0.01, 0.99]), the first-order link used as an offset by the logistic step 2. (REGENIE fits level
        1 by ridge *logistic* regression instead; see the README.)
    memory_limit : int
        Bytes of level-0 predictions held in memory; beyond it they go to a temporary memory-mapped
        file in ``tmp_dir``.
    fold_ids : array [N] of int in ``0..folds-1``, optional
        Explicit fold of each sample (e.g. contiguous blocks, to reproduce sgkit).

    Returns
    -------
    LocoPredictions

    References
    ----------
    Mbatchou J et al. (2021) Nat Genet 53:1097. doi:10.1038/s41588-021-00870-7
    """
    Y = np.asarray(phenotypes, dtype=float)
    C = np.asarray(covariates, dtype=float)
    N, P = Y.shape
    names = list(names) if names is not None else [f"y{p}" for p in range(P)]
    if folds < 2 or folds > N:
        raise InputError(f"ridge-loco: folds={folds} must be between 2 and the {N} samples")
    if block_size is None:
        block_size = auto_block_size(N, genome.n_variants, P, folds=folds,
                                     n_shrinkage=len(level0_shrinkage) if level0_shrinkage is not None
                                     else len(h2_grid))
    if block_size < 1:
        raise InputError(f"ridge-loco: block_size={block_size} must be >= 1")
    present = ~np.isnan(Y)
    # 1. residualise each phenotype on the covariates in its samples; scale; missing -> 0
    prep = prepare_phenotypes(Y, C)
    Yr = np.zeros((N, P))
    for mask, cols, _Q, Yres, _yy in prep.groups:
        Yr[np.ix_(mask, cols)] = Yres
    dof = np.maximum(present.sum(0) - C.shape[1], 1)
    scale = np.sqrt((Yr ** 2).sum(0) / dof)
    scale[scale == 0] = 1.0
    Ys = Yr / scale
    Q, _ = np.linalg.qr(C)
    fold = _folds(N, folds) if fold_ids is None else np.asarray(fold_ids, dtype=int)
    if fold.shape != (N,) or set(np.unique(fold)) != set(range(folds)):
        raise InputError(f"ridge-loco: fold_ids must give each of the {N} samples a fold in 0..{folds - 1}")
    fold_rows = [np.flatnonzero(fold == f) for f in range(folds)]

    B = genome.n_blocks(block_size)
    lam0 = (np.asarray(level0_shrinkage, dtype=float) if level0_shrinkage is not None
            else shrinkage_grid(genome.n_variants, h2_grid))
    R = len(lam0)
    nbytes = P * N * B * R * 8
    tmp = None
    # [P, B R, N]: a block's predictions of one phenotype are R contiguous rows of N values, gathered over the
    # folds in ``buf`` and stored with one write per block, so the level-0 pass writes each spilled page once
    # (a [P, N, B R] layout wrote R values per N-row, touching every page of the file for every block: B-fold
    # write amplification once the file outgrows the page cache; per-fold writes still rewrote pages folds-fold)
    if nbytes <= memory_limit:
        W = np.zeros((P, B * R, N))
    else:
        tmp = tempfile.NamedTemporaryFile(prefix="edfgen-ridge-level0-", suffix=".f64",
                                          dir=tmp_dir, delete=False)
        tmp.close()
        W = np.memmap(tmp.name, dtype=np.float64, mode="w+", shape=(P, B * R, N))
        log.info("ridge-loco: %.1f GB of level-0 predictions in %s", nbytes / 1e9, tmp.name)
    try:
        block_chrom: list[str] = []
        # 2. level 0: one pass over the genotypes, all phenotypes at once
        for b, (chrom, G) in enumerate(progress(genome.blocks(block_size), total=B, desc="ridge level 0")):
            block_chrom.append(str(chrom))
            X = _standardise_block(G, Q)
            if X.shape[1] == 0:
                continue
            XtX_f = [X[r].T @ X[r] for r in fold_rows]
            XtY_f = [X[r].T @ Ys[r] for r in fold_rows]
            XtX, XtY = sum(XtX_f), sum(XtY_f)
            buf = np.empty((P, R, N))
            for f, rows in enumerate(fold_rows):
                s, V = np.linalg.eigh(XtX - XtX_f[f])
                VtY = V.T @ (XtY - XtY_f[f])                       # [m, P]
                XV = X[rows] @ V                                     # [n_f, m]
                for r, lam in enumerate(lam0):
                    buf[:, r, rows] = (XV @ (VtY / (np.maximum(s, 0) + lam)[:, None])).T
            W[:, b * R:(b + 1) * R, :] = buf
        if len(block_chrom) != B:  # pragma: no cover - GenomeBlocks inconsistent with its own counts
            raise InputError(f"ridge-loco: expected {B} genotype blocks, got {len(block_chrom)}")
        # 3. level 1 per phenotype (streams W one phenotype at a time)
        lam1 = (np.asarray(level1_shrinkage, dtype=float) if level1_shrinkage is not None
                else shrinkage_grid(B * R, h2_grid))
        chroms = list(dict.fromkeys(block_chrom))
        col_chrom = np.repeat(np.asarray(block_chrom), R)
        loco = np.zeros((len(chroms), N, P))
        whole = np.zeros((N, P))
        chosen = np.zeros(P)
        cv_r2 = np.full(P, np.nan)
        for p in progress(range(P), total=P, desc="ridge level 1"):
            Xp = np.array(W[p]).T                                    # [N, B R]
            mu, sd = Xp.mean(0), Xp.std(0)
            sd[sd == 0] = 1.0
            Xp = (Xp - mu) / sd
            y = Ys[:, p]
            ok = present[:, p]
            Xo = Xp * ok[:, None]
            rows_ok = [rows[ok[rows]] for rows in fold_rows]
            XtX_f = [Xo[r].T @ Xo[r] for r in rows_ok]
            Xty_f = [Xo[r].T @ y[r] for r in rows_ok]
            XtX, Xty = sum(XtX_f), sum(Xty_f)
            betas = []                                               # per fold: [B R, S]
            r2 = np.full((folds, len(lam1)), np.nan)
            for f, rows in enumerate(rows_ok):
                s, V = np.linalg.eigh(XtX - XtX_f[f])
                Vty = V.T @ (Xty - Xty_f[f])
                beta = V @ (Vty[:, None] / (np.maximum(s, 0)[:, None] + lam1[None, :]))
                betas.append(beta)
                if len(rows) > 1:
                    pred = Xp[rows] @ beta
                    yy = y[rows]
                    ss_tot = ((yy - yy.mean()) ** 2).sum()
                    if ss_tot > 0:
                        r2[f] = 1 - ((yy[:, None] - pred) ** 2).sum(0) / ss_tot
            with np.errstate(all="ignore"):
                mean_r2 = np.nanmean(r2, axis=0) if np.isfinite(r2).any() else np.zeros(len(lam1))
            s_best = int(np.nanargmax(mean_r2)) if np.isfinite(mean_r2).any() else 0
            chosen[p], cv_r2[p] = lam1[s_best], mean_r2[s_best]
            for f, rows in enumerate(fold_rows):          # every sample, missing phenotype or not
                beta = betas[f][:, s_best]
                full = Xp[rows] @ beta
                whole[rows, p] = full
                for c, name in enumerate(chroms):
                    cols = col_chrom == name
                    loco[c, rows, p] = full - Xp[np.ix_(rows, np.flatnonzero(cols))] @ beta[cols]
    finally:
        if tmp is not None:
            del W
            os.unlink(tmp.name)
    # back to the units of the analysed phenotype
    loco *= scale[None, None, :]
    whole *= scale[None, :]
    if binary:
        p0 = np.clip(np.nanmean(Y, axis=0), 0.01, 0.99)

        def to_logit(eta):
            pr = np.clip(p0 + eta, 1e-3, 1 - 1e-3)
            return np.log(pr / (1 - pr)) - np.log(p0 / (1 - p0))

        loco = to_logit(loco)
        whole = to_logit(whole)
    ids = np.asarray(sample_ids if sample_ids is not None else [str(i) for i in range(N)], dtype=str)
    log.info("ridge-loco step 1: %d samples, %d phenotypes, %d variants in %d blocks x %d shrinkage values; "
             "mean CV R2 %.3f", N, P, genome.n_variants, B, R, float(np.nanmean(cv_r2)) if P else float("nan"))
    return LocoPredictions(sample_ids=ids, phenotypes=names, chromosomes=chroms, loco_values=loco, genome=whole,
                           level1_shrinkage=chosen, cv_r2=cv_r2)
