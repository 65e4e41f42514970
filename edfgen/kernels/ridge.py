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
   are kept in memory when they fit in ``memory_limit`` bytes, otherwise in a temporary scratch file
   (block-major, pages released after each block and phenotype, see :class:`_Level0`), and read back
   one phenotype at a time (memory bounded for 1,024 phenotypes).
3. **Level 1**: per phenotype, the ``B x R`` predictions (each standardised) are stacked by ridge
   regression over ``λ1_s = B R (1 - h²_s) / h²_s``; the shrinkage with the best mean out-of-fold R²
   (the same ``K`` folds) is kept. Each sample's prediction comes from the model fitted without its fold.
   With ``binary``: ridge *logistic* regression of the 0/1 phenotype with the covariates' null logistic
   fit as offset, over ``λ1_s / (π²/3)``, the smallest out-of-fold deviance kept
   (:mod:`edfgen.kernels.ridge_logistic`, REGENIE's level 1 for binary traits).
4. **LOCO**: for chromosome ``c`` the predictors of ``c``'s blocks are dropped from each fold's level-1
   model: ``loco_c = X_f β_f - X_f[:, c] β_f[c]``. Each phenotype's predictions go to a ``sink`` as soon
   as its level 1 is done (:class:`InMemoryLoco` by default; :class:`edfgen.formats.loco.LocoStoreWriter`
   appends them to one file per chromosome, which step 2 reads one chromosome at a time).

Predictions are returned in the units of the analysed phenotype (after any transform), to be
subtracted from it (linear step 2), or with ``binary`` on the logit scale, as the offset of the
logistic step 2 (whose covariate coefficients are refitted with it).

References
----------
Mbatchou J et al. (2021) Computationally efficient whole-genome regression for quantitative and binary
traits. Nat Genet 53:1097. doi:10.1038/s41588-021-00870-7
Breiman L (1996) Stacked regressions. Mach Learn 24:49. doi:10.1007/BF00117832

The predictions' files (``<out>/loco``) are written and read by :mod:`edfgen.formats.loco`.
"""

from __future__ import annotations

import itertools
import logging
import mmap
import os
import tempfile
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.kernels.association import independent_column_indices, prepare_phenotypes
from edfgen.kernels.logistic import _logistic_newton
from edfgen.kernels.ridge_logistic import LIABILITY_VARIANCE, logistic_ridge_cv
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

    def phenotype_values(self, p: int) -> tuple[np.ndarray, np.ndarray]:
        """Phenotype ``p``'s ``(genome [N], loco [C, N])``."""
        return self.genome[:, p], self.loco_values[:, :, p]

    def loco(self, chromosome: str) -> np.ndarray:
        """``[N, P]`` prediction to remove when testing a variant on ``chromosome``."""
        try:
            return self.loco_values[self.chromosomes.index(str(chromosome))]
        except ValueError:
            return self.genome

    def for_samples(self, sample_ids: Sequence[str], phenotypes: Sequence[str] | None = None,
                    source: str = "--loco-predictions") -> "LocoPredictions":
        """The predictions re-ordered to these samples (and phenotypes); all must be present."""
        rows, cols = loco_selection(self.sample_ids, self.phenotypes, sample_ids, phenotypes, source)
        want = np.asarray(sample_ids, dtype=str)
        return LocoPredictions(sample_ids=want, phenotypes=[self.phenotypes[c] for c in cols],
                               chromosomes=list(self.chromosomes), loco_values=self.loco_values[:, rows][:, :, cols],
                               genome=self.genome[rows][:, cols],
                               level1_shrinkage=self.level1_shrinkage[cols] if len(self.level1_shrinkage) else
                               self.level1_shrinkage,
                               cv_r2=self.cv_r2[cols] if len(self.cv_r2) else self.cv_r2)


def loco_selection(have_ids, have_phenotypes, sample_ids, phenotypes=None, source: str = "--loco-predictions"):
    """Rows of ``sample_ids`` among ``have_ids`` and columns of ``phenotypes`` (None: all) among
    ``have_phenotypes``; one-line errors naming what is missing."""
    want = np.asarray(sample_ids, dtype=str)
    rows = pd.Index(np.asarray(have_ids, dtype=str)).get_indexer(want)
    if (rows < 0).any():
        raise InputError(f"{source}: {int((rows < 0).sum())} analysed sample(s) have no prediction "
                         f"(e.g. {want[rows < 0][0]!r}): rerun step 1 on these samples")
    have = list(have_phenotypes)
    if phenotypes is None:
        return rows, np.arange(len(have))
    absent = [p for p in phenotypes if p not in have]
    if absent:
        raise InputError(f"{source}: no predictions for phenotype(s) {', '.join(map(repr, absent[:5]))}")
    return rows, np.array([have.index(p) for p in phenotypes], dtype=int)


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


def _folds(n: int, k: int, *, contiguous: bool = False, sample_ids: Sequence[str] | None = None) -> np.ndarray:
    """Fold of each sample: ``k`` near-equal groups, at random (seeded) or as contiguous blocks in sample
    order (sgkit's sample blocks). Random by default: relatives are often adjacent in sample files
    (sorted by family), and a fold holding a whole family would hide each sample's relatives from the
    level-0/1 models that predict it, which is what corrects for relatedness. With ``sample_ids`` the random
    draw is over the samples in id order, so each sample's fold, and step 1's predictions, do not depend on
    the order of the genotype files' samples (s36b: a re-sorted .fam moved p-values up to 30-fold)."""
    fold = (np.arange(n) * k) // n
    if contiguous:
        return fold
    fold = fold[np.argsort(np.random.default_rng(FOLD_SEED).permutation(n))]
    if sample_ids is None:
        return fold
    rank = np.empty(n, dtype=int)
    rank[np.argsort(np.asarray(sample_ids, dtype=str), kind="stable")] = np.arange(n)
    return fold[rank]


def _work(work: dict | None, key: str, shape: tuple) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` over a flat buffer of ``work`` reused from block to
    block (a new one only when it grows). Arrays beyond glibc's 32 MB mmap threshold are otherwise mapped fresh
    and zeroed page by page by the kernel at every allocation: at N = 100k that system time made level 0 grow
    faster than N (issue 23's profile)."""
    size = int(np.prod(shape))
    if work is None:
        return np.empty(shape)
    buf = work.get(key)
    if buf is None or buf.size < size:
        buf = work[key] = np.empty(size)
    return buf[:size].reshape(shape)


def _standardise_block(G: np.ndarray, Q: np.ndarray, work: dict | None = None) -> np.ndarray:
    """Mean-impute, residualise on ``Q`` (orthonormal covariates), scale to unit variance; drops constant columns.

    In place over two arrays (from ``work`` when given, see :func:`_work`: the result is then overwritten by the
    next call); the variance from the sums of squares and the means: the block is ``N x m`` doubles, so passes
    over memory, not arithmetic, are its cost."""
    G = np.asarray(G, dtype=float)
    missing = np.isnan(G)
    if missing.any():   # a column without a called genotype: 0 (constant, dropped below), not nanmean's warning
        called = G.shape[0] - missing.sum(axis=0)
        mean = np.where(missing, 0.0, G).sum(axis=0) / np.maximum(called, 1)
        G = np.where(missing, mean[None, :], G)
    X = _work(work, "X", G.shape)
    np.matmul(Q, Q.T @ G, out=X)
    np.subtract(G, X, out=X)
    n = X.shape[0]
    mean = X.mean(axis=0)
    sd = np.sqrt(np.maximum(np.einsum("ij,ij->j", X, X) / n - mean * mean, 0.0))
    big = max(1.0, float(X.max(initial=0.0)), -float(X.min(initial=0.0)))
    ok = sd > 1e-8 * big
    if not ok.all():
        X, sd = X[:, ok], sd[ok]
    X /= sd
    return X


class InMemoryLoco:
    """The default sink of :func:`ridge_loco_predictions`: every phenotype's predictions gathered in memory
    (``C x N x P`` floats) and returned as :class:`LocoPredictions`. A sink on disk with the same three
    methods (:class:`edfgen.formats.loco.LocoStoreWriter`) keeps memory bounded for many phenotypes."""

    def start(self, sample_ids: np.ndarray, phenotypes: list[str], chromosomes: list[str]) -> None:
        self.ids, self.names, self.chroms = sample_ids, phenotypes, chromosomes
        N, P = len(sample_ids), len(phenotypes)
        self.loco, self.whole = np.zeros((len(chromosomes), N, P)), np.zeros((N, P))
        self.shrinkage, self.cv_r2 = np.zeros(P), np.full(P, np.nan)

    def add(self, p: int, genome: np.ndarray, loco: np.ndarray, shrinkage: float, cv_r2: float) -> None:
        """Phenotype ``p``: ``genome [N]``, ``loco [C, N]``, its level-1 shrinkage and CV R²."""
        self.whole[:, p], self.loco[:, :, p] = genome, loco
        self.shrinkage[p], self.cv_r2[p] = shrinkage, cv_r2

    def finish(self) -> LocoPredictions:
        return LocoPredictions(sample_ids=self.ids, phenotypes=self.names, chromosomes=self.chroms,
                               loco_values=self.loco, genome=self.whole, level1_shrinkage=self.shrinkage,
                               cv_r2=self.cv_r2)


class _Level0:
    """Level-0 predictions ``[B, P, N, R]`` (block-major: each block is written once, contiguously), in memory
    or, beyond ``memory_limit`` bytes, in a scratch ``np.memmap`` whose pages are released from this process
    (``MADV_DONTNEED``; the data stay in the file) after each block and each phenotype read, so resident
    memory stays at one block plus one phenotype whatever the number of phenotypes."""

    def __init__(self, B: int, P: int, N: int, R: int, memory_limit: int, tmp_dir: str | None):
        self.shape, self.tmp = (B, P, N, R), None
        nbytes = B * P * N * R * 8
        if nbytes <= memory_limit:
            self.W = np.zeros(self.shape)
            return
        tmp = tempfile.NamedTemporaryFile(prefix="edfgen-ridge-level0-", suffix=".f64", dir=tmp_dir, delete=False)
        tmp.close()
        self.tmp = tmp.name
        self.W = np.memmap(tmp.name, dtype=np.float64, mode="w+", shape=self.shape)
        log.info("ridge-loco: %.1f GB of level-0 predictions in %s", nbytes / 1e9, tmp.name)

    def _release(self) -> None:
        mm = getattr(self.W, "_mmap", None)
        if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            self.W.flush()
            mm.madvise(mmap.MADV_DONTNEED)

    def put(self, b: int, block: np.ndarray) -> None:
        self.W[b] = block
        self._release()

    def phenotype(self, p: int) -> np.ndarray:
        """``[N, B R]`` (column ``b R + r``: block ``b``, shrinkage ``r``)."""
        B, _, N, R = self.shape
        out = np.ascontiguousarray(np.moveaxis(np.asarray(self.W[:, p]), 0, 1)).reshape(N, B * R)
        self._release()
        return out

    def close(self) -> None:
        if self.tmp is not None:
            del self.W
            os.unlink(self.tmp)


def ridge_loco_predictions(genome, phenotypes: np.ndarray, covariates: np.ndarray, *,
                           names: Sequence[str] | None = None, sample_ids: Sequence[str] | None = None,
                           block_size: int | None = None, folds: int = 5, h2_grid: Sequence[float] = H2_GRID,
                           level0_shrinkage: Sequence[float] | None = None,
                           level1_shrinkage: Sequence[float] | None = None,
                           binary: bool = False, memory_limit: int = 256 << 20,
                           tmp_dir: str | None = None, fold_ids: np.ndarray | None = None, sink=None,
                           covariate_names: Sequence[str] | None = None):
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
        Phenotype names and sample ids stored with the predictions; the ids also draw the folds (in id order,
        so the predictions do not depend on the samples' order).
    covariate_names : list of str, optional
        For the warning naming a covariate left out of a phenotype's fit (:func:`prepare_phenotypes`).
    block_size : int, optional
        Variants per level-0 block (REGENIE's default is 1000); ``None`` = :func:`auto_block_size`.
    folds : int
        Cross-validation folds (REGENIE default 5); samples are assigned at random (seeded,
        balanced, over the samples in id order when ``sample_ids`` are given), see :func:`_folds`.
    h2_grid : sequence of float
        Heritabilities defining both shrinkage grids (:func:`shrinkage_grid`).
    level0_shrinkage, level1_shrinkage : sequence of float, optional
        Explicit penalties instead of the grids (e.g. to reproduce another implementation's choice).
    binary : bool
        0/1 phenotypes: level 1 is REGENIE's cross-validated ridge *logistic* regression
        (:func:`edfgen.kernels.ridge_logistic.logistic_ridge_cv`) of the phenotype on the standardised
        level-0 predictions with the covariates' null logistic fit as offset, over the grid
        ``B R (1 - h²) / h² / (π²/3)`` (the logistic liability's residual variance), the shrinkage with the
        smallest out-of-fold deviance kept; predictions (``cv_r2``: out-of-fold McFadden R²) are on the
        logit scale, without the covariates' part: the offset of the logistic step 2.
    memory_limit : int
        Bytes of level-0 predictions held in memory; beyond it they go to a temporary scratch file in
        ``tmp_dir`` (see :class:`_Level0`).
    fold_ids : array [N] of int in ``0..folds-1``, optional
        Explicit fold of each sample (e.g. contiguous blocks, to reproduce sgkit).
    sink : object, optional
        Receives each phenotype's predictions as level 1 finishes it (``start``, ``add``, ``finish``
        as :class:`InMemoryLoco`, the default); what ``sink.finish()`` returns is returned.

    Returns
    -------
    LocoPredictions (or what ``sink.finish()`` returns)

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
    prep = prepare_phenotypes(Y, C, names=names, covariate_names=covariate_names)
    Yr = np.zeros((N, P))
    dof = np.ones(P)
    for mask, cols, Qg, Yres, _yy in prep.groups:
        Yr[np.ix_(mask, cols)] = Yres
        dof[cols] = max(int(mask.sum()) - Qg.shape[1], 1)     # the group's own covariates (group_covariates)
    scale = np.sqrt((Yr ** 2).sum(0) / dof)
    scale[scale == 0] = 1.0
    Ys = Yr / scale
    Q, _ = np.linalg.qr(C)
    fold = _folds(N, folds, sample_ids=sample_ids) if fold_ids is None else np.asarray(fold_ids, dtype=int)
    if fold.shape != (N,) or set(np.unique(fold)) != set(range(folds)):
        raise InputError(f"ridge-loco: fold_ids must give each of the {N} samples a fold in 0..{folds - 1}")
    fold_rows = [np.flatnonzero(fold == f) for f in range(folds)]
    order = np.concatenate(fold_rows)                 # samples sorted by fold
    bounds = np.cumsum([0, *map(len, fold_rows)])
    fold_slices = [slice(int(a), int(z)) for a, z in itertools.pairwise(bounds)]
    Ys_sorted = Ys[order]

    B = genome.n_blocks(block_size)
    lam0 = (np.asarray(level0_shrinkage, dtype=float) if level0_shrinkage is not None
            else shrinkage_grid(genome.n_variants, h2_grid))
    R = len(lam0)
    W = _Level0(B, P, N, R, memory_limit, tmp_dir)
    try:
        block_chrom: list[str] = []
        work: dict = {}                                   # buffers reused from block to block (see _work)
        # 2. level 0: one pass over the genotypes, all phenotypes at once
        for b, (chrom, G) in enumerate(progress(genome.blocks(block_size), total=B, desc="ridge level 0")):
            block_chrom.append(str(chrom))
            X = _standardise_block(G, Q, work)
            if X.shape[1] == 0:
                W.put(b, np.zeros((P, N, R)))
                continue
            out = _work(work, "out", (P, N, R))
            Xs = np.take(X, order, axis=0, out=_work(work, "Xs", X.shape), mode="clip")   # by fold (clip: no temporary)
            XtX_f = [Xs[sl].T @ Xs[sl] for sl in fold_slices]       # A^T A of one array: BLAS syrk
            XtY_f = [Xs[sl].T @ Ys_sorted[sl] for sl in fold_slices]
            XtX, XtY = sum(XtX_f), sum(XtY_f)
            for f, sl in enumerate(fold_slices):
                s, V = np.linalg.eigh(XtX - XtX_f[f])
                VtY = V.T @ (XtY - XtY_f[f])                       # [m, P]
                # coefficients of every phenotype and shrinkage [m, P R], then one product with the held-out
                # fold: m^2 P R + n_f m P R operations instead of forming X_f V (n_f m^2)
                beta = V @ (VtY[:, :, None] / (np.maximum(s, 0)[:, None, None] + lam0[None, None, :])).reshape(
                    len(s), P * R)
                out[:, order[sl], :] = (Xs[sl] @ beta).reshape(-1, P, R).transpose(1, 0, 2)
            W.put(b, out)
            del out
        if len(block_chrom) != B:  # pragma: no cover - GenomeBlocks inconsistent with its own counts
            raise InputError(f"ridge-loco: expected {B} genotype blocks, got {len(block_chrom)}")
        # 3. level 1 per phenotype (reads W one phenotype at a time), 4. LOCO, handed to the sink
        grid1 = (np.asarray(level1_shrinkage, dtype=float) if level1_shrinkage is not None
                 else shrinkage_grid(B * R, h2_grid) / (LIABILITY_VARIANCE if binary else 1.0))
        chroms = list(dict.fromkeys(block_chrom))
        col_chrom = np.repeat(np.asarray(block_chrom), R)
        chrom_cols = [np.flatnonzero(col_chrom == c) for c in chroms]
        ids = np.asarray(sample_ids if sample_ids is not None else [str(i) for i in range(N)], dtype=str)
        sink = sink if sink is not None else InMemoryLoco()
        sink.start(ids, names, chroms)
        level1 = _level1_logistic if binary else _level1_linear
        cv_r2 = np.full(P, np.nan)
        for p in progress(range(P), total=P, desc="ridge level 1"):
            Xp = W.phenotype(p)                                      # [N, B R]
            mu, sd = Xp.mean(0), Xp.std(0)
            sd[sd == 0] = 1.0
            Xp -= mu                                                 # in place: N x B R doubles
            Xp /= sd
            betas, chosen, cv_r2[p] = level1(Xp, Y[:, p], Ys[:, p], present[:, p], C, fold_rows, grid1)
            whole = np.empty(N)
            loco = np.empty((len(chroms), N))
            for f, rows in enumerate(fold_rows):          # every sample, missing phenotype or not
                beta = betas[f]
                Xf = Xp[rows]
                whole[rows] = Xf @ beta
                for c, cols in enumerate(chrom_cols):
                    loco[c, rows] = whole[rows] - Xf[:, cols] @ beta[cols]
            if not binary:                                # back to the units of the analysed phenotype
                whole *= scale[p]
                loco *= scale[p]
            sink.add(p, whole, loco, chosen, cv_r2[p])
    finally:
        W.close()
    log.info("ridge-loco step 1: %d samples, %d phenotypes, %d variants in %d blocks x %d shrinkage values; "
             "mean CV R2 %.3f", N, P, genome.n_variants, B, R, float(np.nanmean(cv_r2)) if P else float("nan"))
    return sink.finish()


def _level1_linear(Xp, _y_raw, y, ok, _C, fold_rows, lam1):
    """Level-1 ridge (linear) of the scaled residualised phenotype ``y``: per fold the coefficients of the
    shrinkage with the best mean out-of-fold R²; returns ``(betas per fold, shrinkage, CV R²)``."""
    Xo = Xp if ok.all() else Xp * ok[:, None]
    rows_ok = [rows[ok[rows]] for rows in fold_rows]
    Xr_f = [Xo[r] for r in rows_ok]
    XtX_f = [Xr.T @ Xr for Xr in Xr_f]                      # A^T A of one array: BLAS syrk
    Xty_f = [Xr.T @ y[r] for Xr, r in zip(Xr_f, rows_ok)]
    del Xr_f
    XtX, Xty = sum(XtX_f), sum(Xty_f)
    betas = []                                               # per fold: [B R, S]
    r2 = np.full((len(fold_rows), len(lam1)), np.nan)
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
    return [b[:, s_best] for b in betas], float(lam1[s_best]), float(mean_r2[s_best])


def _level1_logistic(Xp, y_raw, _y, ok, C, fold_rows, lam1):
    """Level-1 ridge logistic regression of the 0/1 phenotype ``y_raw`` (samples ``ok``) with the covariates'
    null logistic fit as offset (:func:`edfgen.kernels.ridge_logistic.logistic_ridge_cv`); returns
    ``(betas per fold, shrinkage, out-of-fold McFadden R²)``."""
    rows_of = np.cumsum(ok) - 1                               # row among the samples with a phenotype
    y = y_raw[ok]
    Cm = C[ok]
    Cm = Cm[:, independent_column_indices(Cm)]   # a covariate constant in these samples is left out (warned before)
    avg = y.mean()
    if not 0 < avg < 1:
        raise InputError(f"--binary phenotype: needs both cases and controls ({int(y.sum())} cases in {len(y)} samples)")
    start = np.zeros(Cm.shape[1])
    start[0] = np.log(avg / (1 - avg))
    b0, converged = _logistic_newton(Cm, y, start, max_iterations=25, tolerance=1e-6)
    if not converged:
        raise InputError("--binary ridge-loco: the covariates-only logistic model does not converge "
                         "(a covariate separates cases from controls?)")
    cv = logistic_ridge_cv(Xp[ok], y, Cm @ b0, [rows_of[rows[ok[rows]]] for rows in fold_rows], lam1)
    if not cv.converged:
        log.warning("ridge-loco level 1 (logistic): some ridge logistic fits did not converge")
    return [b[:, cv.best] for b in cv.betas], float(lam1[cv.best]), cv.pseudo_r2
