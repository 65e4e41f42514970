"""Association models of ``edfgen gwas`` as objects behind one interface.

Every model is a frozen dataclass of its options with

* ``prepare(covariates, phenotypes, *, names=None, genome=None)`` -> a prepared state (phenotypes
  residualised, null fits, whole-genome predictions: whatever is done once per GWAS);
* ``test_block(prepared, genotypes, *, chromosome=None, call_stats=None)`` -> the statistics of one
  block of variants (:class:`~edfgen.kernels.association.AssociationResult`, arrays ``[M, P]``: one
  result per variant and phenotype);
* ``needs_genome``: ``prepare`` needs a whole pass over the genotypes first (``genome``: a
  :class:`GenomeBlocks`, e.g. :func:`edfgen.engines.stream.genome_from_reader`), as ridge-LOCO's step 1 does.

The engines (:mod:`edfgen.engines.stream`) only stream genotype blocks; :mod:`edfgen.commands.gwas` writes files; adding a model
touches this module and its tests. The kernels themselves stay pure functions in
:mod:`edfgen.kernels.association` (linear, logistic), :mod:`edfgen.kernels.ridge` (whole-genome
ridge regression) and :mod:`edfgen.kernels.multivariate` (MOSTest).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, ClassVar, Iterator, Sequence

import numpy as np

from edfgen.exceptions import InputError
from edfgen.kernels.association import MISSING_GENOTYPES, AssociationResult, linear_association, prepare_phenotypes
from edfgen.kernels.covariates import vif_too_high
from edfgen.kernels.lmm import MAX_SAMPLES as LMM_MAX_SAMPLES
from edfgen.kernels.lmm import (NullFit, WhitenedNull, cholesky_is_cheaper, fit_null, gls_association, gls_whitened,
                                grm_numerator, whitened_nulls)
from edfgen.kernels.firth import firth_fallback
from edfgen.kernels.logistic import logistic_association, prepare_logistic
from edfgen.kernels.ridge import ridge_loco_predictions

__all__ = ["GenomeBlocks", "AssociationModel", "LinearModel", "LogisticModel", "RidgeLocoModel", "LmmLocoModel", "MODELS",
           "make_model"]


@dataclass(frozen=True)
class GenomeBlocks:
    """A re-iterable pass over the genotypes of the analysed samples (in their row order).

    ``blocks(size, only=None)`` yields ``(chromosome, genotypes [N, m] float64, NaN = missing call)`` with
    ``m <= size``, chromosome by chromosome in the order of ``chromosomes`` (``(name, n_variants)``
    pairs), only those named in ``only`` when given; a block never spans two chromosomes.
    """

    blocks: Callable[[int], Iterator[tuple[str, np.ndarray]]]
    chromosomes: tuple[tuple[str, int], ...]

    @property
    def n_variants(self) -> int:
        return int(sum(n for _, n in self.chromosomes))

    def n_blocks(self, size: int) -> int:
        return int(sum(-(-n // size) for _, n in self.chromosomes))

    @classmethod
    def from_arrays(cls, genotypes: np.ndarray, chromosomes: Sequence[str]) -> "GenomeBlocks":
        """In-memory genotypes ``[N, M]`` with the chromosome of each column (columns grouped by chromosome)."""
        G = np.asarray(genotypes, dtype=float)
        chrom = np.asarray(chromosomes).astype(str)
        starts = np.flatnonzero(np.r_[True, chrom[1:] != chrom[:-1]])
        ends = np.r_[starts[1:], len(chrom)]
        if len(set(chrom[starts])) != len(starts):
            raise InputError("GenomeBlocks: the columns of each chromosome must be contiguous")

        def blocks(size: int, only=None):
            for a, b in zip(starts, ends):
                if only is not None and chrom[a] not in only:
                    continue
                for i in range(a, b, size):
                    yield chrom[a], G[:, i:min(i + size, b)]

        return cls(blocks=blocks, chromosomes=tuple((chrom[a], int(b - a)) for a, b in zip(starts, ends)))


def check_loco_chromosomes(chromosomes, model: str) -> None:
    """Refuse, in one line, a leave-one-chromosome-out ``model`` (``ridge-loco`` step 1, ``lmm-loco``) whose
    variants lie on fewer than 2 chromosomes: leaving the tested chromosome out would leave nothing (ridge-loco's
    LOCO prediction ~0: plain linear regression; lmm-loco: no GRM)."""
    found = list(dict.fromkeys(str(c) for c in chromosomes))
    if len(found) < 2:
        what = ("its step 1 (fit step 1 on all chromosomes once, then give each per-chromosome job "
                "--loco-predictions <step 1>/loco)" if model == "ridge-loco" else "its GRM")
        raise InputError(f"--model {model}: the analysed variants are on {len(found)} chromosome(s) "
                         f"({', '.join(found) or 'none'}); leaving the tested one out leaves no variant for {what}: "
                         f"needs >= 2 chromosomes")


class AssociationModel:
    """Interface of an association model (see the module docstring)."""

    name = ""
    needs_genome = False     # prepare() needs a pass over the genotypes
    needs_chromosome = False  # test_block() needs each block's chromosome
    binary = False

    def prepare(self, covariates: np.ndarray, phenotypes: np.ndarray, *, names: Sequence[str] | None = None,
                genome: GenomeBlocks | None = None, covariate_names: Sequence[str] | None = None):
        raise NotImplementedError

    def test_block(self, prepared, genotypes: np.ndarray, *, chromosome: str | None = None,
                   call_stats: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> AssociationResult:
        raise NotImplementedError


@dataclass(frozen=True)
class LinearModel(AssociationModel):
    """Additive linear regression (t-test), :func:`~edfgen.kernels.association.linear_association`.

    Parameters
    ----------
    missing_genotypes : {"mean-impute", "drop"}
    """

    name: ClassVar[str] = "linear"
    missing_genotypes: str = "mean-impute"

    def __post_init__(self):
        if self.missing_genotypes not in MISSING_GENOTYPES:
            raise InputError(f"--missing-genotypes {self.missing_genotypes!r}: choose one of "
                             f"{', '.join(MISSING_GENOTYPES)}")

    def prepare(self, covariates, phenotypes, *, names=None, genome=None, covariate_names=None):
        return prepare_phenotypes(phenotypes, covariates, names=names, covariate_names=covariate_names)

    def test_block(self, prepared, genotypes, *, chromosome=None, call_stats=None):
        return linear_association(genotypes, prepared, missing_genotypes=self.missing_genotypes,
                                  call_stats=call_stats)


@dataclass(frozen=True)
class LogisticModel(AssociationModel):
    """Additive logistic regression (Wald test), :func:`~edfgen.kernels.logistic.logistic_association`.

    ``test_block`` results carry ``converged`` ``[M, P]``. With ``firth_threshold``, the pairs whose Wald p is
    below it (or whose fit failed) are refitted by Firth's penalised likelihood
    (:func:`~edfgen.kernels.firth.firth_fallback`, the full Firth fit, covariates refitted) and marked in ``firth``.
    """

    name: ClassVar[str] = "logistic"
    binary: ClassVar[bool] = True
    max_iterations: int = 25
    tolerance: float = 1e-6
    firth_threshold: float | None = None

    def prepare(self, covariates, phenotypes, *, names=None, genome=None, offset=None, covariate_names=None):
        return prepare_logistic(phenotypes, covariates, names=names, covariate_names=covariate_names,
                                max_iterations=self.max_iterations,
                                tolerance=self.tolerance, offset=offset, firth=self.firth_threshold is not None)

    def test_block(self, prepared, genotypes, *, chromosome=None, call_stats=None):
        return _logistic_test(genotypes, prepared, self.firth_threshold)


def _logistic_test(genotypes, prepared, firth_threshold):
    """The Wald test, with the Firth fallback when ``firth_threshold`` is set."""
    res = logistic_association(genotypes, prepared)
    return res if firth_threshold is None else firth_fallback(genotypes, prepared, res, firth_threshold)


@dataclass
class PreparedRidgeLoco:
    """State of :class:`RidgeLocoModel`: the LOCO predictions and the step-2 model prepared per chromosome."""

    covariates: np.ndarray
    phenotypes: np.ndarray
    predictions: "object"                     # edfgen.kernels.ridge.LocoPredictions
    names: Sequence[str] | None
    current: tuple[str, object] | None = None  # (chromosome, prepared step-2 state)
    covariate_names: Sequence[str] | None = None
    warned: bool = False                       # step 1 ran here and warned of the covariates it left out


@dataclass(frozen=True)
class RidgeLocoModel(AssociationModel):
    """REGENIE: whole-genome ridge regression (step 1), then each variant tested against the phenotype
    minus its chromosome's leave-one-chromosome-out prediction (step 2).

    Step 1 (:func:`edfgen.kernels.ridge.ridge_loco_predictions`) runs in ``prepare`` over ``genome``,
    unless ``predictions`` (read from ``--loco-predictions DIR``) are given. Step 2: linear regression of
    ``y - loco_c`` on the covariates and the variant; with ``binary`` (level 1 then a ridge logistic
    regression), logistic regression with ``loco_c`` as an offset (on the logit scale), and with
    ``firth_threshold`` the Firth fallback of :class:`LogisticModel`.

    Parameters
    ----------
    binary : bool
        Logistic level 1 and step 2.
    firth_threshold : float, optional
        Wald p below which step 2 refits by Firth (:func:`~edfgen.kernels.firth.firth_fallback`).
    loco_sink : object, optional
        Where step 1 puts each phenotype's predictions (``sink`` of
        :func:`~edfgen.kernels.ridge.ridge_loco_predictions`; e.g. a
        :class:`edfgen.formats.loco.LocoStoreWriter`, so that step 2 holds one chromosome in memory).
    missing_genotypes : {"mean-impute", "drop"}
        For the linear step 2.
    block_size, folds, h2_grid
        Step 1 options: variants per level-0 block (``None``: :func:`edfgen.kernels.ridge.auto_block_size`;
        REGENIE uses 1000), cross-validation folds and the heritabilities that set the shrinkage grids
        (REGENIE's defaults: 5 and 0.01/0.25/0.5/0.75/0.99).
    predictions : LocoPredictions, optional
        Reuse step 1 (its sample ids must be the analysed samples, in any order).

    References
    ----------
    Mbatchou J et al. (2021) Computationally efficient whole-genome regression for quantitative and
    binary traits. Nat Genet 53:1097. doi:10.1038/s41588-021-00870-7
    """

    name: ClassVar[str] = "ridge-loco"
    needs_genome: ClassVar[bool] = True
    needs_chromosome: ClassVar[bool] = True
    binary: bool = False
    missing_genotypes: str = "mean-impute"
    block_size: int | None = None
    folds: int = 5
    h2_grid: tuple[float, ...] = (0.01, 0.25, 0.5, 0.75, 0.99)
    predictions: object = None
    firth_threshold: float | None = None
    loco_sink: object = None

    def prepare(self, covariates, phenotypes, *, names=None, genome=None, sample_ids=None, covariate_names=None):
        preds = self.predictions
        step1 = preds is None
        if step1:
            if genome is None:
                raise InputError("ridge-loco: step 1 needs a pass over the genotypes (or --loco-predictions DIR)")
            check_loco_chromosomes([c for c, _ in genome.chromosomes], self.name)
            preds = ridge_loco_predictions(genome, phenotypes, covariates, names=names, sample_ids=sample_ids,
                                           block_size=self.block_size, folds=self.folds, h2_grid=self.h2_grid,
                                           binary=self.binary, sink=self.loco_sink, covariate_names=covariate_names)
        elif sample_ids is not None:
            preds = preds.for_samples(sample_ids, names)
        return PreparedRidgeLoco(covariates=np.asarray(covariates, float), phenotypes=np.asarray(phenotypes, float),
                                 predictions=preds, names=names, covariate_names=covariate_names, warned=step1)

    def _step2(self, prepared: PreparedRidgeLoco, chromosome: str):
        if prepared.current is not None and prepared.current[0] == chromosome:
            return prepared.current[1]
        loco = prepared.predictions.loco(chromosome)                     # [N, P]
        # covariates left out: said once per phenotype, by step 1 or else by the first chromosome (review s33d F6)
        named = {"names": prepared.names, "covariate_names": prepared.covariate_names,
                 "warn": prepared.current is None and not prepared.warned}
        if self.binary:
            state = prepare_logistic(prepared.phenotypes, prepared.covariates, offset=loco,
                                     firth=self.firth_threshold is not None, **named)
        else:
            state = prepare_phenotypes(prepared.phenotypes - loco, prepared.covariates, **named)
        prepared.current = (chromosome, state)
        return state

    def test_block(self, prepared, genotypes, *, chromosome=None, call_stats=None):
        if chromosome is None:
            raise InputError("ridge-loco: test_block needs the block's chromosome")
        state = self._step2(prepared, str(chromosome))
        if self.binary:
            return _logistic_test(genotypes, state, self.firth_threshold)
        return linear_association(genotypes, state, missing_genotypes=self.missing_genotypes, call_stats=call_stats)


#: memory the Cholesky factors of ``--model lmm-loco`` (one N × N per phenotype) may take beyond 2 phenotypes
CHOLESKY_MAX_BYTES = 2 * 1024 ** 3


@dataclass
class PreparedLmmLoco:
    """State of :class:`LmmLocoModel`: the whole-genome GRM numerator, the genome (re-read per chromosome)
    and the null fit of the chromosome being tested."""

    covariates: np.ndarray
    phenotypes: np.ndarray
    genome: GenomeBlocks
    numerator: np.ndarray                      # Σ Z Z^T over all variants
    count: int                                 # polymorphic variants in it
    h2: dict                                   # "genome" or chromosome -> REML h² per phenotype [P]
    delta: np.ndarray | None = None            # [P] genome-wide REML δ (variance="genome"), None: per LOCO GRM
    current: tuple[str, NullFit | list[WhitenedNull]] | None = None


@dataclass(frozen=True)
class LmmLocoModel(AssociationModel):
    """Exact leave-one-chromosome-out mixed model with the GRM, EMMAX/BOLT-LMM-inf style
    (:mod:`edfgen.kernels.lmm`): for each chromosome the GRM of the other chromosomes, GLS test of each
    variant with ``δ = σe²/σg²`` of each phenotype fixed at its REML estimate on the whole-genome GRM (as
    BOLT-LMM fixes its variance parameters once for every left-out chromosome) and the residual variance
    re-estimated per variant (Student t): its χ² is GCTA-MLMA-LOCO's score χ² times ``(n−k−1)/(n−k−χ²)``.
    Quantitative phenotypes without missing values; at most :data:`edfgen.kernels.lmm.MAX_SAMPLES` samples.

    Parameters
    ----------
    block_size : int
        Variants per block of the GRM passes.
    variance : {"genome", "loco"}
        ``genome`` (default): REML ``δ`` once on the whole-genome GRM (one more eigendecomposition), used with
        every LOCO GRM. ``loco``: REML ``δ`` re-estimated on each LOCO GRM (GCTA-MLMA-LOCO's refit), which
        leaves the tested chromosome's share of h² — and with it part of the relatives' covariance — to the
        residual: on the family cohorts of ``benchmarks/lmm_power_gap.py`` 2.3 % less planted χ² at the
        same null λGC (``results/lmm_power_gap.md``).
    solver : {"auto", "eigen", "cholesky"}
        How each LOCO GRM's tests are computed when ``δ`` is fixed (``variance="genome"``): ``eigen``, one
        eigendecomposition shared by every phenotype; ``cholesky``, one Cholesky factor of ``K + δ_p I`` per
        phenotype (:func:`edfgen.kernels.lmm.whitened_nulls`), cheaper for few phenotypes; ``auto`` (default)
        the cheaper by :func:`edfgen.kernels.lmm.cholesky_is_cheaper`, the Cholesky only while its P factors
        (P N² × 8 bytes) fit in :data:`CHOLESKY_MAX_BYTES` or P ≤ 2. The same statistics (to rounding);
        ``variance="loco"`` always uses ``eigen`` (its REML needs the eigenvalues).

    References
    ----------
    Kang HM et al. (2008) Genetics 178:1709 (EMMA). Yang J et al. (2014) Nat Genet 46:100 (MLMA-LOCO).
    Loh P-R et al. (2015) Nat Genet 47:284 (BOLT-LMM: variance parameters from the whole genome, LOCO tests).
    """

    name: ClassVar[str] = "lmm-loco"
    needs_genome: ClassVar[bool] = True
    needs_chromosome: ClassVar[bool] = True
    block_size: int = 2048
    variance: str = "genome"
    solver: str = "auto"

    def prepare(self, covariates, phenotypes, *, names=None, genome=None, sample_ids=None, covariate_names=None):
        if self.variance not in ("genome", "loco"):
            raise InputError(f"lmm-loco: variance {self.variance!r} is not 'genome' or 'loco'")
        if self.solver not in ("auto", "eigen", "cholesky") or (self.solver == "cholesky" and self.variance == "loco"):
            raise InputError(f"lmm-loco: solver {self.solver!r} is not 'auto', 'eigen' or 'cholesky' (with variance "
                             f"'genome')")
        Y = np.asarray(phenotypes, float)
        N = Y.shape[0]
        if N > LMM_MAX_SAMPLES:
            raise InputError(f"--model lmm-loco: {N} samples > {LMM_MAX_SAMPLES} (dense GRM): use --model ridge-loco")
        bad = np.flatnonzero(np.isnan(Y).any(0))
        if bad.size:
            name = names[bad[0]] if names is not None else f"column {bad[0]}"
            raise InputError(f"--model lmm-loco: phenotype {name!r} has missing values in the analysed samples "
                             f"(the mixed model needs complete phenotypes: run it on its own or use ridge-loco)")
        if genome is None:
            raise InputError("lmm-loco: the GRM needs a pass over the genotypes")
        check_loco_chromosomes([c for c, _ in genome.chromosomes], self.name)   # before the GRM pass
        num, count = np.zeros((N, N)), 0
        for _, G in genome.blocks(self.block_size):
            z, c = grm_numerator(G)
            num += z
            count += c
        C = np.asarray(covariates, float)
        prepared = PreparedLmmLoco(covariates=C, phenotypes=Y, genome=genome, numerator=num, count=count, h2={})
        if self.variance == "genome" and count > 0:
            prepared.delta = fit_null(num / count, Y, C).delta
            prepared.h2["genome"] = 1.0 / (1.0 + prepared.delta)
        return prepared

    def null_fit(self, prepared: PreparedLmmLoco, chromosome: str) -> NullFit | list[WhitenedNull]:
        """The null fit on the GRM of every chromosome but ``chromosome`` (cached for consecutive blocks): a
        :class:`NullFit` on its eigendecomposition, or one :class:`WhitenedNull` per phenotype (``solver``)."""
        if prepared.current is not None and prepared.current[0] == chromosome:
            return prepared.current[1]
        prepared.current = None
        num, count = prepared.numerator.copy(), prepared.count
        for _, G in prepared.genome.blocks(self.block_size, only={chromosome}):
            z, c = grm_numerator(G)
            num -= z
            count -= c
        if count < 1:
            raise InputError(f"--model lmm-loco: no variant outside chromosome {chromosome} for its GRM "
                             f"(needs >= 2 chromosomes)")
        if prepared.delta is not None and self._cholesky(prepared, chromosome):
            fit = whitened_nulls(num / count, prepared.phenotypes, prepared.covariates, prepared.delta)
        else:
            fit = fit_null(num / count, prepared.phenotypes, prepared.covariates, delta=prepared.delta)
        if prepared.delta is None:
            prepared.h2[chromosome] = fit.h2
        prepared.current = (chromosome, fit)
        return fit

    def _cholesky(self, prepared: PreparedLmmLoco, chromosome: str) -> bool:
        """Whether ``chromosome``'s tests go through one Cholesky factor per phenotype (``solver``): with ``auto``
        when it takes less CPU and its P factors of N × N, beside the GRM, fit in what the eigendecomposition path
        holds (U and syevd's 2 N² workspace: P ≤ 2; peak above the GRM measured in review 4.25 N² at P = 3 vs
        4.04 N² for the eigendecomposition) or in :data:`CHOLESKY_MAX_BYTES`."""
        if self.solver != "auto":
            return self.solver == "cholesky"
        N, P = prepared.phenotypes.shape
        m = dict(prepared.genome.chromosomes).get(chromosome, 0)
        return cholesky_is_cheaper(N, m, P) and (P <= 2 or P * N * N * 8 <= CHOLESKY_MAX_BYTES)

    def test_block(self, prepared, genotypes, *, chromosome=None, call_stats=None):
        if chromosome is None:
            raise InputError("lmm-loco: test_block needs the block's chromosome")
        fit = self.null_fit(prepared, str(chromosome))
        res = gls_whitened(genotypes, fit) if isinstance(fit, list) else gls_association(genotypes, fit)
        return vif_na(res, genotypes, prepared.covariates)


def vif_na(result: AssociationResult, genotypes: np.ndarray, covariates: np.ndarray) -> AssociationResult:
    """``result`` with the variants whose genotype makes some predictor's variance inflation factor exceed
    :data:`~edfgen.kernels.covariates.MAX_VIF` (:func:`~edfgen.kernels.covariates.vif_too_high` on the mean-imputed
    genotypes and unweighted covariates: plink2 ``--glm``'s ``VIF_TOO_HIGH`` / ``CORR_TOO_HIGH``) NA: the rule of the
    linear, ridge-LOCO and logistic tests, for a model whose kernel does not apply it (``lmm-loco``, review s40).

    Parameters
    ----------
    result : AssociationResult
        ``[M, P]`` statistics of the block.
    genotypes : array [N, M]
        The block (NaN = missing call, mean-imputed here).
    covariates : array [N, K]
        The model's fixed effects, intercept included (independent).

    Returns
    -------
    AssociationResult
        ``beta``, ``standard_error`` and ``p_value`` NaN in the rows of those variants.
    """
    G = np.asarray(genotypes, dtype=float)
    called = ~np.isnan(G)
    mean = np.where(called, G, 0.0).sum(0) / np.maximum(called.sum(0), 1)
    high = vif_too_high(np.where(called, G, mean), np.asarray(covariates, dtype=float))
    if not high.any():
        return result
    na = {f: np.where(high[:, None], np.nan, getattr(result, f)) for f in ("beta", "standard_error", "p_value")}
    return dataclasses.replace(result, **na)


#: ``--model`` names
MODELS = ("linear", "ridge-loco", "lmm-loco")


def make_model(model: str = "linear", *, binary: bool = False, missing_genotypes: str = "mean-impute",
               predictions=None, block_size: int | None = None, firth_threshold: float | None = None,
               loco_sink=None) -> AssociationModel:
    """The model object for ``--model``, ``--binary`` and ``--logistic-test firth-fallback``
    (``firth_threshold``: the Wald p below which the logistic test falls back to Firth)."""
    if firth_threshold is not None and not 0 < firth_threshold <= 1:
        raise InputError(f"--firth-threshold {firth_threshold}: must be in (0, 1]")
    if model == "linear":
        return (LogisticModel(firth_threshold=firth_threshold) if binary
                else LinearModel(missing_genotypes=missing_genotypes))
    if model == "ridge-loco":
        return RidgeLocoModel(binary=binary, missing_genotypes=missing_genotypes, predictions=predictions,
                              block_size=block_size, firth_threshold=firth_threshold, loco_sink=loco_sink)
    if model == "lmm-loco":
        if binary:
            raise InputError("--model lmm-loco is for quantitative phenotypes (use --model ridge-loco with --binary)")
        return LmmLocoModel()
    raise InputError(f"--model {model!r}: choose one of {', '.join(MODELS)}")
