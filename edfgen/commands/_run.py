"""What each command does with its options: ``run(options)`` of every genetics and EDF command.

This module knows the wiring of one command: its options (:mod:`edfgen.commands.options`) ->
the library function that reads the formats, computes and writes the files inside the manifest
recording (``extract_edfs``, ``interpret_edfs``, ``run_gwas``, ``run_pca``, ``run_clump``,
``run_annotate``, ``run_mr``). The command line and ``edfgen run`` both call :func:`run`, so a stage
of the pipeline is exactly the command with the same options.
"""

from __future__ import annotations

from typing import Any

from edfgen.commands import simulate as _simulate
from edfgen.commands.options import (AnnotateOptions, ClumpOptions, CommandOptions, ExtractOptions, GenotypeOptions,
                                     GwasOptions, InterpretOptions, MROptions, PcaOptions)


def _str(v: Any) -> str | None:
    return str(v) if v else None


def genotype_source(o: GenotypeOptions, *, bfile: Any = None, required: bool = True):
    """The :class:`~edfgen.formats.genotypes.source.GenotypeSource` of a command's genotype options
    (``bfile`` in place of ``o.bfile``: MR's ``ld_bfile``), or None when no genotype file is given and
    ``required`` is False."""
    from edfgen.formats.genotypes.source import GenotypeSource

    bfile = o.bfile if bfile is None else bfile
    if not any((bfile, o.pfile, o.bgen, o.vcf, o.mt)) and not required:
        return None
    one = (lambda v: None if not v else str(v[0]) if len(v) == 1 else tuple(map(str, v)))
    return GenotypeSource(
        bfile=_str(bfile), pfile=_str(o.pfile), bgen=one(o.bgen), sample=one(o.sample), vcf=_str(o.vcf), mt=_str(o.mt),
        vcf_field=o.vcf_field, keep=_str(o.keep_ids), remove=_str(o.remove_ids), extract=_str(o.extract),
        chromosomes=(o.chromosomes,) if o.chromosomes else None, min_info=o.min_info,
        reference_genome=o.reference_genome)


def _hail(o: GwasOptions | PcaOptions):
    from edfgen.engines.hail import HailSettings

    return HailSettings(spark_master=o.spark_master, tmp_dir=o.tmp_dir, driver_memory=o.driver_memory,
                        executor_memory=o.executor_memory, threads=o.threads)


def _list(v) -> list | None:
    return list(v) if v else None


def extract(o: ExtractOptions):
    """``edfgen extract``: :func:`edfgen.commands.extract.extract_edfs`."""
    from edfgen.commands.extract import extract_edfs

    return extract_edfs(list(o.ecg), o.out, checkpoint=o.checkpoint, batch_size=o.batch_size, workers=o.workers,
                        pca=o.pca, id_map=o.id_map, force=o.force, fs=o.fs, chunk_size=o.chunk_size,
                        threads=o.threads)


def interpret(o: InterpretOptions):
    """``edfgen interpret``: :func:`edfgen.commands.interpret.interpret_edfs`."""
    from edfgen.commands.interpret import interpret_edfs

    return interpret_edfs(o.edf, o.out, biomarkers=o.biomarkers, covar=o.covar, measure_from=o.measure_from,
                          covariates=list(o.covariates), biomarker_columns=_list(o.biomarker_columns),
                          p_threshold=o.p_threshold, clusters=o.clusters, seed=o.seed, force=o.force)


def gwas(o: GwasOptions):
    """``edfgen gwas``: :func:`edfgen.commands.gwas.run_gwas`; every -meta.yaml says ``o.reference_genome``."""
    from edfgen.commands.gwas import GwasSettings, run_gwas
    from edfgen.kernels.qc import QCSettings

    return run_gwas(
        genotype_source(o), o.pheno, o.covar, o.out, pheno_cols=_list(o.pheno_cols), pheno_prefix=o.pheno_prefix,
        covar_cols=_list(o.covar_cols), categorical=_list(o.categorical) or (),
        qc=QCSettings(maf=o.maf, call_rate=o.call_rate, hwe_p=o.hwe, sample_call_rate=o.sample_call_rate,
                      remove_related=o.remove_related, kinship=o.kinship),
        settings=GwasSettings(transform=o.transform, missing_genotypes=o.missing_genotypes, binary=o.binary,
                              logistic_test=o.logistic_test, engine=o.engine, plots=not o.no_plots,
                              plots_max=o.plots_max, genome_assembly=o.reference_genome, model=o.model,
                              loco_predictions=_str(o.loco_predictions), multivariate=o.multivariate),
        hail=_hail(o), threads=o.threads, force=o.force)


def pca(o: PcaOptions):
    """``edfgen pca``: :func:`edfgen.commands.pca.run_pca`."""
    from edfgen.commands.pca import run_pca

    source = genotype_source(o)
    return run_pca(source, o.out, k=o.k, maf=o.maf, ld_r2=o.ld_r2, ld_window_kb=o.ld_window_kb, keep=source.keep,
                   hail=_hail(o), force=o.force)


def clump(o: ClumpOptions):
    """``edfgen clump``: :func:`edfgen.kernels.clump.run_clump`."""
    from edfgen.commands.clump import run_clump
    from edfgen.kernels.clump import ClumpSettings

    return run_clump([*o.sumstats, *o.more_sumstats], out_dir=o.out, bfile=genotype_source(o, required=False),
                     ld_bfile=o.ld_bfile, reference_genome=o.reference_genome,
                     settings=ClumpSettings(p1=o.p1, p2=o.p2, r2=o.r2, kb=o.kb, r2_method=o.r2_method,
                                            allow_overlap=o.allow_overlap),
                     study_wide=o.study_wide, pheno=o.pheno, truth=o.truth, regional_plots=o.regional_plots,
                     genes=o.genes, force=o.force)


def annotate(o: AnnotateOptions):
    """``edfgen annotate``: :func:`edfgen.formats.catalog.run_annotate` (its build keyword is ``reference_genome``)."""
    from edfgen.commands.annotate import run_annotate
    from edfgen.kernels.annotate import AnnotateSettings

    return run_annotate(o.loci, o.catalog, o.out, traits=_list(o.traits), any_trait=o.any_trait,
                        ld_bfile=o.ld_bfile, genes=o.genes,
                        settings=AnnotateSettings(window_kb=o.window_kb, ld_r2=o.ld_r2),
                        regional_plots=o.regional_plots, sumstats=list(o.sumstats),
                        reference_genome=o.reference_genome, liftover_chain=o.liftover_chain)


def mr(o: MROptions):
    """``edfgen mr``: :func:`edfgen.commands.mr.run_mr`; the genotype options are the LD panel."""
    from edfgen.commands.mr import MRSettings, run_mr
    from edfgen.formats.sumstats import parse_column_option

    kw = {"methods": tuple(o.methods)} if o.methods else {}
    settings = MRSettings(palindromes=o.palindromes, maf_threshold=o.maf_threshold, p_threshold=o.p_threshold,
                          nboot=o.nboot, seed=o.seed, presso=o.presso_sims > 0, presso_sims=max(o.presso_sims, 1),
                          prevalence=o.prevalence, proxy_r2=o.proxy_r2, **kw)
    return run_mr(list(o.exposure), list(o.outcome), o.out, settings=settings, instruments=o.instruments,
                  reverse=o.reverse, ld_bfile=genotype_source(o, bfile=o.ld_bfile, required=False),
                  proxies=o.proxies, clump=o.clump, plots=o.plots, max_plots=o.max_plots, force=o.force,
                  columns=parse_column_option(o.columns) or None)


def run(options: CommandOptions):
    """Run the command of ``options`` (``options.command``) and return its library function's result."""
    runners = {"simulate": _simulate.run, "extract": extract, "interpret": interpret, "gwas": gwas, "pca": pca,
               "clump": clump, "annotate": annotate, "mr": mr}
    return runners[options.command](options)
