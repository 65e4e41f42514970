"""The streamed GWAS engine: QC and association over any genotype reader, block by block
(:func:`edfgen.engines.stream.association_pass`), for ``edfgen gwas --engine fast``.

:func:`one_pass` tests and filters each block as it is decoded (valid when no sample fails the sample
call rate); otherwise :func:`reader_qc` runs first and :func:`fast_pass` (linear or
logistic Wald) or :func:`model_pass` (ridge-LOCO, the multivariate test's permuted pass) second.
``binary``, ``missing_genotypes``, ``block_size`` (None: :func:`edfgen.engines.stream.auto_block_size`),
``model`` (linear, ridge-loco, lmm-loco), ``multivariate`` and ``loco_predictions`` mean what the ``edfgen gwas`` options of those names do;
``firth_threshold`` (None: Wald only) is ``--firth-threshold`` with ``--logistic-test firth-fallback``.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from edfgen.engines.sex_chromosomes import (analysed_sex, association_by_sex, chromosome_kinds, counts_by_sex,
                                            no_males_step, x_ploidy)
from edfgen.engines.stream import association_pass, auto_block_size, genome_from_reader
from edfgen.exceptions import InputError
from edfgen.formats.chromosomes import hwe_diploid
from edfgen.formats.genotypes.base import GenotypeReader
from edfgen.formats.genotypes.selection import select_samples, select_variants
from edfgen.kernels.association import AssociationResult
from edfgen.kernels.models import make_model
from edfgen.kernels.qc import (QCSettings, QCStep, VariantCounts, biallelic, related_step, sample_call_rate_ok,
                               sample_call_rate_step, variant_qc)
from edfgen.formats.loco import LocoStoreWriter, open_loco_predictions, read_loco_predictions

log = logging.getLogger(__name__)


def reader_qc(reader: GenotypeReader, sample_index: np.ndarray, variants, settings: QCSettings, *,
              min_info: float | None = None, related=None, block: int = 4096, sex: np.ndarray | None = None,
              build: str | None = None, min_samples: int = 1, sex_label: str | None = None):
    """Sample then variant QC with numpy over any reader (the streamed engine's QC when samples change).

    Parameters
    ----------
    sample_index : rows of ``reader.samples`` to consider
    variants : DataFrame
        Candidate rows of ``reader.variants`` with their reader row number in ``row`` (and their ``kind``, else
        computed: :func:`with_kinds`).
    related : callable, optional
        ``related(sample_rows) -> set of IIDs`` to drop (KING through Hail, ``--remove-related``).
    sex : int array [reader samples], optional
        1 male, 2 female, 0 unknown (:func:`edfgen.formats.genotypes.sex.sample_sex`): Y is counted on the
        males, X's allele frequency counts one allele per male
        (:func:`edfgen.engines.sex_chromosomes.counts_by_sex`); with no male among the samples, Y is left out
        (:func:`edfgen.engines.sex_chromosomes.analysed_sex`).
    sex_label : str, optional
        Where ``sex`` was read, for the warnings (``"--covar c.tsv column 'sex'"``; default: the reader's files).
    build : {"GRCh37", "GRCh38"}, optional
        X-labelled variants in PAR coordinates are PAR (:func:`edfgen.engines.sex_chromosomes.chromosome_kinds`).
    min_samples : int
        Fewer samples left after sample QC: InputError (before counting them).

    Returns
    -------
    (variants kept, sample rows kept, list of QCStep: Y left out for want of a male is the ``y_no_males`` row)
    """
    variants = with_kinds(variants, build)
    n_variants, n_biallelic = len(variants), int(biallelic(variants).sum())
    variants = _with_y_if_males(reader, variants, sex, sample_index, label=sex_label)
    alleles_ok = biallelic(variants)
    vrows, kinds = variants["row"].to_numpy()[alleles_ok], variants[KIND].to_numpy()[alleles_ok]

    def count(samples):
        return counts_by_sex(reader, samples, vrows, kinds, None if sex is None else sex[samples], block=block)

    counts = count(sample_index)
    s_ok = sample_call_rate_ok(counts.sample_missing, counts.sample_variants if counts.sample_variants is not None
                               else len(vrows), settings)
    steps = [sample_call_rate_step(s_ok, settings)]
    samples = np.asarray(sample_index)[s_ok]
    changed = not s_ok.all()
    if related is not None:
        drop = related(samples)
        rel_ok = ~np.isin(reader.samples["IID"].to_numpy()[samples], list(drop))
        steps.append(related_step(rel_ok, settings))
        samples = samples[rel_ok]
        changed = changed or not rel_ok.all()
    if len(samples) < min_samples:
        raise InputError(f"only {len(samples)} samples left after sample QC (need >= {min_samples})")
    if changed:
        before = len(variants)
        variants = _with_y_if_males(reader, variants, sex, samples, quiet=True, label=sex_label)   # QC may leave no male
        if len(variants) < before:
            alleles_ok = biallelic(variants)
            vrows, kinds = variants["row"].to_numpy()[alleles_ok], variants[KIND].to_numpy()[alleles_ok]
        counts = count(samples)
    keep, vsteps = variant_qc(counts, alleles_ok, len(samples), settings, dosages=not reader.hardcalls_only,
                              hwe_tested=hwe_diploid(variants["chromosome"], variants.get(KIND)),
                              min_info=min_info)
    n_kept = int(alleles_ok.sum())
    no_males = [no_males_step(n_biallelic - n_kept, n_kept)] if n_kept < n_biallelic else []
    steps = [QCStep("biallelic", "variant", "2 alleles", n_variants - n_biallelic, n_biallelic), *steps, *no_males,
             *vsteps[1:]]
    log.info("QC: %d biallelic of %d variants, %d kept", int(alleles_ok.sum()), len(variants), int(keep.sum()))
    return variants[keep].reset_index(drop=True), samples, steps


#: the column of the variants tables that carries their :func:`~edfgen.engines.sex_chromosomes.chromosome_kinds`
#: (computed once per run: :func:`with_kinds`)
KIND = "kind"


def variant_kinds(reader: GenotypeReader, variant_rows: np.ndarray, build: str | None) -> np.ndarray:
    """:func:`~edfgen.engines.sex_chromosomes.chromosome_kinds` of the reader rows ``variant_rows`` (PAR by
    coordinates of ``build`` too; logs the variants moved into PAR), for :func:`one_pass` and :func:`stream_qc`."""
    v = reader.variants
    return chromosome_kinds(v["chromosome"].to_numpy()[variant_rows],
                            v["base_pair_location"].to_numpy()[variant_rows], build)


def with_kinds(variants: pd.DataFrame, build: str | None) -> pd.DataFrame:
    """``variants`` with their :data:`KIND` column (:func:`~edfgen.engines.sex_chromosomes.chromosome_kinds`),
    unchanged where they have it: the kinds are computed once per run and travel with the variants."""
    if KIND in variants:
        return variants
    return variants.assign(**{KIND: chromosome_kinds(variants["chromosome"].to_numpy(),
                                                     variants["base_pair_location"].to_numpy(), build)})


def _with_y_if_males(reader: GenotypeReader, variants: pd.DataFrame, sex: np.ndarray | None, samples: np.ndarray,
                     quiet: bool = False, label: str | None = None) -> pd.DataFrame:
    """``variants`` (with their reader ``row`` and :data:`KIND`) without Y where ``sex`` (per reader sample) is
    known and no sample of ``samples`` is male (:func:`edfgen.engines.sex_chromosomes.analysed_sex`, which logs
    it, naming ``label``, where the sex was read, the reader's files by default; ``quiet``: not the samples left
    out of X again)."""
    if sex is None:
        return variants
    tested = analysed_sex(variants[KIND].to_numpy(), sex[samples], label=label or reader.label, quiet=quiet)[1]
    return variants if tested.all() else variants[tested].reset_index(drop=True)


def open_selection(source, *, threads: int | None = None) -> tuple[GenotypeReader, np.ndarray, np.ndarray]:
    """The reader of a :class:`~edfgen.formats.genotypes.source.GenotypeSource` and the rows of its samples
    (``--keep/--remove``) and variants (``--extract/--chr``) selected."""
    reader = source.open_reader(threads=threads)
    return (reader, select_samples(reader, keep=source.keep, remove=source.remove),
            select_variants(reader, extract=source.extract, chromosomes=source.chromosomes))


def set_aside_bad_variants(reader: GenotypeReader, sel_variants: np.ndarray) -> tuple[np.ndarray, QCStep]:
    """``sel_variants`` without the reader's bad variants (:meth:`GenotypeReader.bad_variants`, a full pass over
    a BGEN opened with ``skip_bad``) and the ``bad_variant`` row of ``qc_report.tsv`` that counts them."""
    bad = reader.bad_variants()
    drop = np.isin(sel_variants, np.fromiter(bad, dtype=np.int64, count=len(bad)))
    if drop.any():
        first = int(sel_variants[drop][0])
        log.warning("%s: %d bad variants set aside (--skip-bad-variants), the first %s: %s", reader.label,
                    int(drop.sum()), reader.variants["variant_id"].iloc[first], bad[first])
    kept = sel_variants[~drop]
    return kept, QCStep("bad_variant", "variant", "readable genotype block", int(drop.sum()), len(kept))


def stream_qc(reader: GenotypeReader, sel_samples: np.ndarray, sel_variants: np.ndarray, overlap: set,
              qc: QCSettings, *, min_info: float | None, related=None, block_size: int | None = None,
              sex: np.ndarray | None = None, build: str | None = None, min_samples: int = 1,
              kinds: np.ndarray | None = None, threads: int | None = None, sex_label: str | None = None):
    """Sample and variant QC (:func:`reader_qc`, ``sex_label`` there) of the selected samples that are in
    ``overlap`` and the selected variants (``kinds``: theirs, by :func:`variant_kinds`, else computed):
    ``(variants kept, with their reader row and kind, sample rows kept, steps)``."""
    cand = sel_samples[reader.samples["IID"].iloc[sel_samples].isin(overlap).to_numpy()]
    variants = reader.variants.iloc[sel_variants].assign(row=sel_variants)
    if kinds is not None:
        variants[KIND] = kinds
    return reader_qc(reader, cand, variants.reset_index(drop=True),
                     qc, min_info=min_info, related=related, sex=sex,
                     block=block_size or auto_block_size(len(cand), 0, threads=threads),
                     build=build, min_samples=min_samples, sex_label=sex_label)


def _with_threads(run, threads: int | None):
    """``run()`` with BLAS threads = ``threads`` (None: all cores); threadpoolctl comes with scikit-learn."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return run()
    with threadpool_limits(limits=threads):
        return run()


def one_pass(reader: GenotypeReader, sel_samples: np.ndarray, sel_variants: np.ndarray, order: np.ndarray,
             overlap: set, design_for, outputs_for, qc: QCSettings, *, min_info: float | None,
             threads: int | None, binary: bool, missing_genotypes: str, block_size: int | None,
             firth_threshold: float | None = None, sex: np.ndarray | None = None, build: str | None = None,
             kinds: np.ndarray | None = None, sex_label: str | None = None):
    """QC and association in one pass over the genotypes, streaming each block's results that pass QC.

    Variant QC is per variant, so each block is filtered as it is tested (the same rules as
    :func:`edfgen.kernels.qc.variant_qc`, applied to the block's counts). If a sample fails
    the sample call rate (known only at the end), the outputs are dropped and ``None`` is returned
    (the caller runs QC first, then a second pass). Returns ``(number of variants tested, QC steps,
    used ids, summary, covariate names, timings)``.

    ``order`` puts ``sel_variants`` in output order; ``design_for(ids) -> (Y, C, covariate names)`` and
    ``outputs_for(variants, Y, C, covariate names)`` (a :class:`~edfgen.commands.gwas_output.GwasOutputs`)
    come from the command; ``sex`` and ``build`` as in :func:`fast_pass` (Y left out with no male among the
    samples); ``kinds`` those of ``sel_variants`` (:func:`variant_kinds`; None: computed here); ``sex_label`` where
    ``sex`` was read (:func:`reader_qc`).
    """
    t0 = time.perf_counter()
    fam = reader.samples
    bim = reader.variants.iloc[sel_variants]
    alleles_ok = biallelic(bim)[order]
    rows = sel_variants[order][alleles_ok]       # reader rows of the candidates, in output order
    cand = sel_samples[fam["IID"].iloc[sel_samples].isin(overlap).to_numpy()]
    cand_variants = reader.variants.iloc[rows].assign(row=rows).reset_index(drop=True)
    if kinds is not None:
        cand_variants[KIND] = np.asarray(kinds, dtype=object)[order][alleles_ok]
    cand_variants = _with_y_if_males(reader, with_kinds(cand_variants, build), sex, cand, label=sex_label)
    hwe_tested = hwe_diploid(cand_variants["chromosome"], cand_variants[KIND])
    del bim
    cand_ids = fam["IID"].to_numpy()[cand]
    Y, C, cov_names = design_for(cand_ids)
    dosages = not reader.hardcalls_only
    outputs = outputs_for(cand_variants, Y, C, cov_names)
    kept = np.zeros(len(cand_variants), dtype=bool)
    block_steps: list[list] = []
    try:
        def sink(sl: slice, res: AssociationResult, counts: VariantCounts) -> None:
            keep, steps = variant_qc(counts, np.ones(sl.stop - sl.start, dtype=bool), len(cand), qc,
                                     dosages=dosages, min_info=min_info, hwe_tested=hwe_tested[sl])
            kept[sl] = keep
            block_steps.append(steps[1:])
            if keep.any():
                outputs.add(np.arange(sl.start, sl.stop)[keep], res.rows(np.flatnonzero(keep)))

        vcounts = fast_pass(reader, cand, cand_variants, Y, C, binary=binary, missing_genotypes=missing_genotypes,
                            block_size=block_size, threads=threads, names=outputs.names, sink=sink,
                            firth_threshold=firth_threshold, sex=sex, covariate_names=cov_names, build=build)
        if not sample_call_rate_ok(vcounts.sample_missing, vcounts.sample_variants, qc).all():
            outputs.abort()
            return None
        if not kept.any():
            raise InputError(f"--{reader.kind} {reader.label}: no variant passed QC")
        t1 = time.perf_counter()
        summary = outputs.close()
    except BaseException:
        outputs.abort()
        raise
    # the variant steps of all blocks together (each step's removed and kept counts add up over blocks)
    vsteps = [QCStep(first.filter, first.level, first.threshold, sum(b[i].removed for b in block_steps),
                     sum(b[i].remaining for b in block_steps)) for i, first in enumerate(block_steps[0])]
    no_males = ([no_males_step(int(alleles_ok.sum()) - len(cand_variants), len(cand_variants))]
                if len(cand_variants) < alleles_ok.sum() else [])
    steps = [QCStep("biallelic", "variant", "2 alleles", int((~alleles_ok).sum()), int(alleles_ok.sum())),
             sample_call_rate_step(np.ones(len(cand), dtype=bool), qc), *no_males, *vsteps]
    timings = {"association": t1 - t0, "export": time.perf_counter() - t1}
    return int(kept.sum()), steps, cand_ids, summary, cov_names, timings


def fast_pass(reader: GenotypeReader, sample_index: np.ndarray, variants: pd.DataFrame, Y: np.ndarray, C: np.ndarray,
              *, binary: bool, missing_genotypes: str, block_size: int | None, threads: int | None, names=None,
              outputs=None, sink=None, firth_threshold: float | None = None, sex: np.ndarray | None = None,
              covariate_names=None, build: str | None = None):
    """Blockwise association over the reader rows ``variants["row"]`` of samples ``sample_index``
    (linear, or logistic Wald with ``binary``): :func:`edfgen.engines.stream.association_pass` of each run of
    autosomes, X, Y and MT as plink2 tests them (:func:`edfgen.engines.sex_chromosomes.association_by_sex`;
    ``sex``, per reader sample, from :func:`edfgen.formats.genotypes.sex.sample_sex`, or None; the variants'
    :data:`KIND` column, else their kinds with ``build`` GRCh37/GRCh38: X-labelled variants in PAR coordinates
    tested as PAR, as Hail does).

    Each block's results go to ``sink(rows, result, counts)``, or, with ``outputs`` (a
    :class:`~edfgen.commands.gwas_output.GwasOutputs` over ``variants``), are written as they come.
    Returns the per-variant QC counts (:class:`~edfgen.engines.stream.VariantCounts`).
    """
    sink = sink or outputs.sink

    model = make_model("linear", binary=binary, missing_genotypes=missing_genotypes, firth_threshold=firth_threshold)
    kinds = with_kinds(variants, build)[KIND].to_numpy()

    def run():
        return association_by_sex(reader, sample_index, variants["row"].to_numpy(), kinds,
                                  Y, C, covariate_names or [f"covariate {j}" for j in range(C.shape[1])],
                                  None if sex is None else sex[sample_index], sink=sink, model=model,
                                  block=block_size or auto_block_size(len(sample_index), Y.shape[1], binary=binary,
                                                                    threads=threads),
                                  names=names)

    return _with_threads(run, threads)


#: seed of the one permutation of samples whose z-scores give the multivariate test's null
MULTIVARIATE_PERMUTATION_SEED = 20200723


def multivariate_permutation(n_samples: int) -> np.ndarray:
    """The one order of the ``n_samples`` analysed samples whose z-scores give the multivariate test's null
    (both engines)."""
    return np.random.default_rng(MULTIVARIATE_PERMUTATION_SEED).permutation(n_samples)


def model_pass(reader: GenotypeReader, sample_index: np.ndarray, variants: pd.DataFrame, Y: np.ndarray,
               C: np.ndarray, *, model: str, binary: bool, missing_genotypes: str, block_size: int | None,
               multivariate: bool, loco_predictions: str | None, threads: int | None, names, sample_ids, outputs,
               firth_threshold: float | None = None, scratch: str | None = None, sex: np.ndarray | None = None,
               covariate_names=None):
    """The fast engine with ``model`` (:mod:`edfgen.kernels.models`) after QC, writing into
    ``outputs``: ``(LocoPredictions or None, permuted-genotype AssociationResult or None,
    AssociationResult or None, REML h² {chromosome: [P]} of lmm-loco's null fits or None)``.

    ridge-LOCO runs its step 1 over the same variants first (or reads ``loco_predictions``); with ``scratch``
    (a directory) its predictions are streamed there, one file per chromosome
    (:class:`edfgen.formats.loco.LocoStoreWriter`), and step 2 holds one chromosome's in memory;
    ``multivariate`` also tests every block with the samples permuted once, and keeps both
    results in memory (the multivariate statistic needs the correlation of all permuted z-scores).
    These passes test X, Y and MT as stored, on everyone; with ``sex`` (per reader sample, the genotype files')
    X's ``effect_allele_frequency`` counts one allele per male, as the QC's and plink2's (:func:`x_ploidy`).
    """
    if loco_predictions:
        preds = (open_loco_predictions(loco_predictions, scratch) if scratch
                 else read_loco_predictions(loco_predictions))
    else:
        preds = None
    sink = LocoStoreWriter(scratch) if scratch and model == "ridge-loco" and preds is None else None
    model = make_model(model, binary=binary, missing_genotypes=missing_genotypes,
                       predictions=preds, firth_threshold=firth_threshold, loco_sink=sink)
    vidx = variants["row"].to_numpy()
    chroms = variants["chromosome"].astype(str).to_numpy()
    perm = multivariate_permutation(len(sample_index)) if multivariate else None
    on_x = with_kinds(variants, None)[KIND].to_numpy() == "X"
    ploidy = x_ploidy(sex[sample_index]) if sex is not None and on_x.any() else None

    def run():
        genome = genome_from_reader(reader, sample_index, vidx, chroms) if model.needs_genome else None
        extra = {"sample_ids": sample_ids} if model.needs_genome else {}
        prepared = model.prepare(C, Y, names=names, genome=genome, covariate_names=covariate_names, **extra)
        out = association_pass(reader, sample_index, vidx, Y, C, model=model, prepared=prepared, chromosomes=chroms,
                               block=block_size or auto_block_size(len(sample_index), Y.shape[1], binary=binary,
                                                                    threads=threads),
                               names=names, permutation=perm, ploidy=ploidy,
                               ploidy_rows=on_x if ploidy is not None else None,
                               sink=None if perm is not None else outputs.sink)
        if perm is not None:
            outputs.add(np.arange(len(vidx)), out[0])
        return (getattr(prepared, "predictions", None), (out[2] if perm is not None else None), out[0],
                getattr(prepared, "h2", None))

    return _with_threads(run, threads)
