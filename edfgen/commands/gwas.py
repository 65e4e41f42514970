"""Genome-wide association of many phenotypes at once: ``edfgen gwas``.

This module is the wiring, formats -> engine -> files: the phenotype and covariate tables
(:mod:`edfgen.commands.gwas_design`), the sample join, the engine (:mod:`edfgen.engines.gwas_stream` over the
genotype readers, or :mod:`edfgen.engines.hail` and :mod:`edfgen.engines.hail_gwas`) and the outputs
(:mod:`edfgen.commands.gwas_output`). The array kernels live in :mod:`edfgen.kernels.association`,
:mod:`edfgen.kernels.logistic`, :mod:`edfgen.kernels.models` and :mod:`edfgen.kernels.qc`.

Model (per variant ``j`` and phenotype ``p``): ``y_p = C b + g_j beta + e`` by ordinary least squares
(``--binary``: logistic regression), with ``C`` the covariates **plus an explicit intercept** and ``g_j`` the
additive count of the effect allele (PLINK A1 = Hail's alt allele; a dosage for BGEN and VCF ``DS``).

Two engines compute the same statistics; ``--engine auto`` (the default) picks ``fast`` for local
``--bfile``, ``--pfile``, ``--bgen`` or ``--vcf`` input on a local Spark master (``--pfile`` on any) with a
linear model or ``--binary --logistic-test wald``, and ``hail`` for everything else (MatrixTable or remote
VCF input, ``--logistic-test firth``, a cluster ``--spark-master``, or ``--engine hail``):

* ``fast`` (linear model): the multi-phenotype GWAS as the matrix
  product it is. Phenotypes are residualised on the covariates once (``Y_res = Y - Q Q^T Y`` with ``Q``
  an orthonormal basis of ``C``); then per block of variants one product ``G^T [Q, Y_res]`` gives
  ``g.y_res`` and ``Q^T g`` for all phenotypes, so ``beta = g.y_res / g_res.g_res`` and
  ``se = sqrt((y_res.y_res - beta g.y_res) / (n - k - 1) / g_res.g_res)`` (Frisch-Waugh-Lovell).
  Genotypes are streamed from the files in blocks (:mod:`edfgen.formats.genotypes`), never held whole.
* ``fast`` (``--binary``, Wald test): :func:`edfgen.kernels.logistic.logistic_association`, Newton-Raphson for all variants of
  a block at once (one ``[C_a C_b]^T W`` product per iteration gives every variant's Fisher matrix, then
  one batched solve), starting from each phenotype's covariates-only fit, with Hail's stopping rule
  (every step < 1e-6, at most 25 iterations); same beta/SE/p as Hail's Wald test. Fits that do not
  converge (separation, e.g. a rare variant without carriers among the cases) are NaN, as in Hail.
* ``hail``: Hail's ``linear_regression_rows`` with a list of lists of phenotypes (one inner list per
  missingness pattern) or ``logistic_regression_rows``; runs unchanged on a Spark cluster.

Missing phenotypes: phenotypes are grouped by their missingness pattern; each group is analysed on its
own complete samples, so no sample is dropped for every phenotype because one phenotype lacks it.
Samples lacking a covariate are excluded (counted in the sample report).

Missing genotype calls: ``mean-impute`` (Hail's behaviour, default) replaces a missing call by the
mean of the called genotypes of that variant among the samples analysed; ``drop`` (plink2's behaviour)
removes the sample from that variant's regression (``n`` then varies per variant; linear model only).
Both agree exactly for variants without missing calls. Both engines impute among the samples of
each missingness group of phenotypes.

References
----------
Purcell S et al. (2007) PLINK. Am J Hum Genet 81:559. doi:10.1086/519795
Chang CC et al. (2015) Second-generation PLINK. GigaScience 4:7. doi:10.1186/s13742-015-0047-8
Beasley TM, Erickson S, Allison DB (2009) Rank-based inverse normal transformations are increasingly
used, but are they merited? Behav Genet 39:580. doi:10.1007/s10519-009-9281-0
Blom G (1958) Statistical estimates and transformed beta-variables. Wiley.
McCullagh P, Nelder JA (1989) Generalized Linear Models, 2nd ed. Chapman & Hall.
doi:10.1007/978-1-4899-3242-6
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Sequence

import numpy as np
import pandas as pd

from edfgen.commands import gwas_design
from edfgen.commands.gwas_design import (analysed_inputs, binary_phenotypes, check_covariate_design, id_examples,
                                         read_gwas_tables, step1_fingerprint, warn_sex_chromosomes,
                                         warn_sex_disagreement)
from edfgen.commands.gwas_output import (GwasOutputs, SampleCounts, analysis_label, case_counts, output_order,
                                         plot_files, write_multivariate)
from edfgen.commands.options import (GenotypeOptions, HailOptions, allow_incomplete_opt, as_list, genotype_source,
                                     hail_settings, opt, path_str)
from edfgen.engines import gwas_stream
from edfgen.engines.hail import HailSettings, import_for_gwas, init_hail, qc_for_gwas, related_callback
from edfgen.engines.hail_import import check_bgen_for_hail
from edfgen.engines.hail_gwas import hail_by_sex, hail_model_pass
from edfgen.engines.sex_chromosomes import sex_chromosome_record
from edfgen.exceptions import InputError
from edfgen.formats.atomic import temp_dir
from edfgen.formats.genotypes.plink1 import check_plink_fileset
from edfgen.formats.genotypes.sex import sample_sex, sex_file, sex_or_covariate, source_sex
from edfgen.formats.loco import loco_files, open_loco_predictions, write_loco_predictions
from edfgen.formats.loco_check import check_loco_predictions, write_loco_fingerprint
from edfgen.formats.manifest import check_upstream, recording
from edfgen.formats.paths import file_arg
from edfgen.formats.sumstats.write import warn_non_ssf_variant_ids
from edfgen.formats.tables import check_output_stem, prepare_out_dir, write_table
from edfgen.kernels.association import MISSING_GENOTYPES, check_phenotypes, inverse_normal_transform
from edfgen.kernels.covariates import covariate_warnings_once, standardize_covariates
from edfgen.kernels.firth import FIRTH_P_THRESHOLD
from edfgen.kernels.models import MODELS, check_loco_chromosomes
from edfgen.kernels.multivariate import min_null_variants
from edfgen.kernels.qc import QCSettings, qc_table
from edfgen.reprs import ReadableRepr

log = logging.getLogger(__name__)

TRANSFORMS = ("inverse-normal", "none")
#: minimum number of samples shared by genotypes, phenotypes and covariates
MIN_SAMPLES = 50
#: genotype formats the fast engine reads (through edfgen.formats.genotypes)
FAST_FORMATS = ("bfile", "pfile", "bgen", "vcf")
#: --logistic-test choices; the fast engine runs all but "firth"
LOGISTIC_TESTS = ("wald", "firth", "firth-fallback")


# ----------------------------------------------------------------------------------------------
# the GWAS wrapper: files, sample join, engines, outputs
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GwasSettings:
    """How to run the association (keyword-only defaults documented in ``edfgen gwas --help``).

    Parameters
    ----------
    transform : {"inverse-normal", "none"}
        Phenotype transform for quantitative traits (ignored with ``binary``).
    missing_genotypes : {"mean-impute", "drop"}
        See the module docstring; ``drop`` needs the fast engine.
    binary : bool
        Logistic regression (phenotypes coded 0/1; ``beta`` = log-odds ratio).
    logistic_test : {"wald", "firth", "firth-fallback"}
        ``firth``: Firth's test for every variant (Hail engine); ``firth-fallback``: the Wald test, refitted by
        Firth (the full Firth fit: beta as plink2 --glm firth; p from the penalised likelihood-ratio test, as
        REGENIE and R ``logistf``, not plink2's Wald p; :mod:`edfgen.kernels.firth`) where its p is below
        ``firth_threshold`` or its fit fails (fast engine; with ``model="ridge-loco"`` REGENIE's step 2).
    firth_threshold : float
        Wald p below which ``firth-fallback`` refits by Firth (REGENIE ``--pThresh``).
    engine : {"auto", "fast", "hail"}
        ``auto`` = ``fast`` for local ``--bfile``/``--pfile``/``--bgen``/``--vcf`` input on a local master
        with a linear model or a logistic Wald test, else ``hail`` (Firth, remote VCF or MatrixTable
        input, clusters).
    block_size : int or None
        Variants per block in the fast engine; ``None``: :func:`edfgen.engines.stream.auto_block_size`
        (memory per block bounded whatever the number of samples and phenotypes).
    plots : bool
        Write Manhattan/QQ PNGs.
    plots_max : int or None
        Plot at most this many phenotypes (the combined Manhattan is always written).
    model : {"linear", "ridge-loco", "lmm-loco"}
        ``ridge-loco``: REGENIE step 1 (whole-genome ridge regression, LOCO predictions written to
        ``<out>/loco/``) then step 2 (:class:`edfgen.kernels.models.RidgeLocoModel`); fast engine only.
        ``lmm-loco``: exact LOCO mixed model with the GRM, EMMAX/BOLT-LMM-inf style
        (:class:`edfgen.kernels.models.LmmLocoModel`;
        fast engine, quantitative complete phenotypes, N <= 50,000; δ = σe²/σg² of each phenotype by REML on
        the whole-genome GRM, used with every LOCO GRM; that h² per phenotype in the manifest's
        ``lmm_loco_reml_h2["genome"]``).
    multivariate : bool
        Also write ``multivariate.tsv.gz``: MOSTest across the phenotypes (:mod:`edfgen.kernels.multivariate`).
    loco_predictions : str or None
        Reuse step 1 from this directory (a previous run's ``<out>/loco``) with ``model="ridge-loco"``, on the
        same samples or a subset; refused when fitted on other phenotype values, transform or covariates
        (:func:`edfgen.formats.loco_check.check_loco_predictions`, by its ``step1_fingerprint.json``); both
        engines convert it once into an on-disk store (:func:`edfgen.formats.loco.open_loco_predictions`) and
        hold one chromosome's predictions in memory at a time (on Hail: one per Hail pass).
    missing_code : float or None
        Value read as missing in the phenotype and covariate tables (PLINK's -9, with a warning per column);
        ``None``: none (:func:`edfgen.commands.gwas_design.read_missing_code`).
    """

    transform: str = "inverse-normal"
    missing_genotypes: str = "mean-impute"
    binary: bool = False
    logistic_test: str = "wald"
    engine: str = "auto"
    block_size: int | None = None
    plots: bool = True
    plots_max: int | None = None
    model: str = "linear"
    multivariate: bool = False
    loco_predictions: str | None = None
    firth_threshold: float = FIRTH_P_THRESHOLD
    missing_code: float | None = -9.0


@dataclass(frozen=True, repr=False)
class GwasResult(ReadableRepr):
    """What ``run_gwas`` wrote.

    Attributes
    ----------
    out_dir, phenotypes, engine : str, list of str, str
        The output folder, the phenotypes analysed, the association engine that ran.
    summary, qc : DataFrame
        ``gwas_summary.tsv`` (n, lambda_GC, hits per phenotype) and ``qc_report.tsv`` (variants and samples dropped).
    samples, timings : SampleCounts, dict
        Samples read, shared and analysed (``samples.tsv``); seconds per step.
    """

    out_dir: str
    phenotypes: list[str]
    summary: pd.DataFrame
    qc: pd.DataFrame
    samples: SampleCounts
    engine: str
    timings: dict


def stream_firth(settings: GwasSettings) -> bool:
    """The fast engine's Wald test falls back to Firth (``--binary --logistic-test firth-fallback``)."""
    return settings.binary and settings.logistic_test == "firth-fallback"


def _engine(source, settings: GwasSettings, spark_master: str | None) -> str:
    if settings.engine != "auto":
        if settings.engine == "fast" and (source.kind not in FAST_FORMATS or (settings.binary and
                                                                           settings.logistic_test == "firth")):
            raise InputError("--engine fast needs --bfile, --pfile, --bgen or --vcf input and a linear model or "
                             "--logistic-test wald/firth-fallback (use --engine hail)")
        if settings.engine == "hail" and source.kind == "pfile":
            raise InputError("--pfile is read by the fast engine only (use --engine fast or auto)")
        return settings.engine
    local = spark_master is None or spark_master.startswith("local")
    fast_model = not settings.binary or settings.logistic_test != "firth"
    remote_vcf = source.kind == "vcf" and "://" in source.label   # gs://, hdfs:// VCFs: Hail reads them
    return "fast" if source.kind in FAST_FORMATS and fast_model and (local or source.kind == "pfile") and not remote_vcf \
        else "hail"


@covariate_warnings_once()      # a covariate left out of a phenotype's fit is said once per run
def run_gwas(source, pheno: str | os.PathLike, covar: str | os.PathLike | None, out_dir: str | os.PathLike, *,
             pheno_cols: Sequence[str] | None = None, pheno_prefix: str | None = None,
             covar_cols: Sequence[str] | None = None, categorical: Sequence[str] = (),
             qc=None, settings: GwasSettings = GwasSettings(), hail=None, threads: int | None = None,
             force: bool = False) -> GwasResult:
    """Run the GWAS of every selected phenotype in one pass over the genotypes and write the outputs.

    Parameters
    ----------
    source : GenotypeSource
    pheno, covar : paths
        Per-participant tables with an ``IID`` column (TSV/CSV/parquet).
    out_dir : path
        Receives ``<phenotype>.tsv.gz`` (GWAS-SSF), ``gwas_summary.tsv``, ``qc_report.tsv``,
        ``samples.tsv``, ``plots/``, ``manifest.json``.
    pheno_cols, pheno_prefix : list of str or str, optional
        Phenotypes: the named columns (``"a,b"``, ranges ``edf_001..edf_064``) or those starting with the prefix;
        default every numeric column (``--pheno-cols``, ``--pheno-prefix``).
    covar_cols, categorical : list of str or str, optional
        Covariate columns (default: all of ``covar``) and those coded as categories (``--covariates``, ``--categorical``).
    qc : QCSettings
    settings : GwasSettings
    hail : HailSettings
        Spark master, tmp dir, memory (Hail is started only when needed).
    threads, force : int or None, bool
        Worker threads (default: all cores); write into a non-empty ``out_dir`` (replaces only this command's files).

    Raises
    ------
    InputError
        Fewer than 50 samples shared by genotypes, phenotypes and covariates; bad columns.
    """
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    qc, hail = qc or QCSettings(), hail or HailSettings(threads=threads)
    for name, allowed, value in (("--transform", TRANSFORMS, settings.transform),
                                 ("--missing-genotypes", MISSING_GENOTYPES, settings.missing_genotypes),
                                 ("--logistic-test", LOGISTIC_TESTS, settings.logistic_test),
                                 ("--model", MODELS, settings.model)):
        if value not in allowed:
            raise InputError(f"{name} {value!r}: choose one of {', '.join(allowed)}")
    if settings.loco_predictions and settings.model != "ridge-loco":
        raise InputError("--loco-predictions needs --model ridge-loco")
    for flag, unused, needs in (   # accepted and without effect, no word said (review s34a #4)
            ("--kinship", qc.kinship != QCSettings.kinship and not qc.remove_related, "--remove-related"),
            ("--firth-threshold", settings.firth_threshold != FIRTH_P_THRESHOLD and not stream_firth(settings),
             "--binary --logistic-test firth-fallback"),
            (f"--logistic-test {settings.logistic_test}", settings.logistic_test != "wald" and not settings.binary,
             "--binary")):
        if unused:
            log.warning("%s is used only with %s: ignored", flag, needs)
    pheno, covar = file_arg(pheno, "--pheno"), file_arg(covar, "--covar")
    out_dir = prepare_out_dir(out_dir, force=force, command="edfgen gwas")
    tables = read_gwas_tables(pheno, covar, pheno_cols=pheno_cols, pheno_prefix=pheno_prefix, covar_cols=covar_cols,
                              categorical=categorical, missing_code=settings.missing_code, binary=settings.binary)
    ptab, names, ctab, design = tables.phenotypes, tables.names, tables.covariates, tables.design
    files = pd.Series([check_output_stem(n, source=str(pheno)) for n in names])
    if files.duplicated().any():
        clash = files[files.duplicated()].iloc[0]
        raise InputError(f"{pheno}: phenotype columns {[n for n, f in zip(names, files) if f == clash]} give the "
                         f"same file name {clash}.tsv.gz: rename them")
    transform = "none" if settings.binary else settings.transform
    engine = _engine(source, settings, hail.spark_master)
    if engine != "fast" and settings.model == "ridge-loco" and (settings.binary or not settings.loco_predictions):
        raise InputError("--binary --model ridge-loco runs in the fast engine only (Hail's logistic regression takes "
                         "no offset)" if settings.binary else "--model ridge-loco on Hail: step 1 runs in the fast "
                         "engine (--engine fast, e.g. on array SNPs with --extract), then step 2 on Hail with "
                         "--loco-predictions <step-1 out>/loco")
    if engine != "fast" and settings.binary and settings.logistic_test == "firth-fallback":
        raise InputError("--logistic-test firth-fallback runs in the fast engine (use --engine fast, or "
                         "--logistic-test firth on Hail)")
    if settings.model == "lmm-loco" and (engine != "fast" or settings.binary):
        raise InputError("--model lmm-loco runs in the fast engine on quantitative phenotypes (use --engine fast; "
                         "--binary: --model ridge-loco)")
    if settings.loco_predictions:   # step 1 fitted on these phenotype values, transform and covariates, or refused
        check_loco_predictions(settings.loco_predictions, names, lambda ids: step1_fingerprint(
            tables, ids, transform=transform, binary=settings.binary), transform=transform, binary=settings.binary,
            tables={"--pheno": pheno, "--covariates": covar}, covariates=design.varying_columns())
    if source.bfile and engine != "fast":  # truncated .bed, .fam/.bim of another set: one line, not a Hail trace
        check_plink_fileset(source.bfile)  # (the fast engine's BedReader makes the same checks as it opens)
    if source.skip_bad_variants and engine != "fast":
        raise InputError(f"--skip-bad-variants runs in the fast engine, not {engine}")
    if source.bgen and engine != "fast":   # header, 1st variant, 8 bits checked before Hail (BgenReader: on open)
        for p in source.paths():
            if "://" not in p and p.endswith(".bgen"):
                check_bgen_for_hail(p)
    if settings.missing_genotypes == "drop" and settings.binary:   # (whichever engine: review s32f)
        raise InputError("--missing-genotypes drop is for the linear model: --binary's logistic tests mean-impute "
                         "missing calls; leave out --missing-genotypes")
    if settings.missing_genotypes == "drop" and engine != "fast":
        raise InputError(f"--missing-genotypes drop is implemented in the fast engine, not {engine} (Hail "
                         "mean-imputes missing calls)")
    hl = bad_step = sex = None
    models_pass = settings.model != "linear" or settings.multivariate   # need the QC'd variants first
    no_sex = ("--multivariate" if settings.multivariate else f"--model {settings.model}") if models_pass else None
    if engine == "fast":
        reader, sel_samples, sel_variants = gwas_stream.open_selection(source, threads=threads)
        if source.skip_bad_variants:
            sel_variants, bad_step = gwas_stream.set_aside_bad_variants(reader, sel_variants)
        geno_ids = reader.samples["IID"].to_numpy()[sel_samples]
        if settings.model != "linear" and not settings.loco_predictions:   # step 1 / the GRM: >= 2 chromosomes
            check_loco_chromosomes(reader.variants["chromosome"].to_numpy()[sel_variants], settings.model)
        # .fam/.psam/.sample: X, Y, MT as plink2
        files_sex, sex_source = sex_or_covariate(sample_sex(reader.samples, getattr(reader, "sample", None) or
                                                            reader.label), ctab, str(covar), reader.samples["IID"])
        warn_sex_chromosomes(reader.variants["chromosome"].to_numpy()[sel_variants], design.columns,
                             sex_known=files_sex is not None, haploid_coded=not models_pass, no_sex=no_sex)
    else:
        files_sex, sex_source = sex_or_covariate(source_sex(source), ctab, str(covar))   # (by IID)
        hl = init_hail(hail)
        timings["hail_start"] = time.perf_counter() - t0
        mt_raw, geno_ids = import_for_gwas(hl, source, hail)
    sex = None if models_pass else files_sex   # the tests' sex; QC reads the files' sex in every mode
    complete_cov = set(design.ids[~np.isnan(design.matrix).any(1)])
    has_pheno = set(ptab["IID"][ptab[names].notna().any(axis=1)])
    overlap = set(geno_ids) & has_pheno & complete_cov
    if len(overlap) < MIN_SAMPLES:
        chosen = " ".join(f"{o} {p}" for o, p in (("--keep", source.keep), ("--remove", source.remove)) if p)
        hint = (f"{chosen} leaves {len(geno_ids)} genotyped samples" if chosen and len(geno_ids) < MIN_SAMPLES
                else "are the IID columns the same ids?")
        raise InputError(f"only {len(overlap)} samples are shared by genotypes ({source.label}), phenotypes ({pheno}) "
                         f"and covariates ({covar or 'none given'}) with complete values (need >= {MIN_SAMPLES}); "
                         f"{hint}{id_examples(geno_ids, ptab['IID']) if hint.startswith('are') else ''}")
    _warn_overlap(len(set(geno_ids) & has_pheno), len(overlap), pheno, covar)
    warn_sex_disagreement(ctab, tables.covariate_columns, files_sex if engine != "fast" or files_sex is None
                          else pd.Series(files_sex, index=reader.samples["IID"].to_numpy()), overlap, str(covar))
    t1 = time.perf_counter()

    def design_for(ids):
        """Phenotypes (transformed) and covariates (standardized: the same model, well conditioned) of ids."""
        Y, C, cov_names = analysed_inputs(tables, ids)
        C = standardize_covariates(C)
        Y = binary_phenotypes(Y, names, str(pheno)) if settings.binary else Y
        check_phenotypes(Y, names, source=str(pheno), min_values=MIN_SAMPLES)
        check_covariate_design(C, cov_names, source=covar)
        if not settings.binary:   # (centred: a phenotype 1e9 + x keeps x's digits; the intercept absorbs the shift)
            Y = inverse_normal_transform(Y) if settings.transform == "inverse-normal" else Y - np.nanmean(Y, 0)
        return Y, C, cov_names

    params = dict(genotypes=source.parameters(),
                  reference_genome=source.reference_genome, phenotypes=names,
                  covariates=None, categorical=design.categorical, transform=transform,
                  transform_offset=3 / 8 if transform == "inverse-normal" else None,
                  missing_genotypes=settings.missing_genotypes, model="logistic" if settings.binary else "linear",
                  association_model=settings.model, multivariate=settings.multivariate,
                  loco_predictions=settings.loco_predictions, missing_code=settings.missing_code,
                  logistic_test=settings.logistic_test if settings.binary else None, engine=engine,
                  firth_threshold=settings.firth_threshold if stream_firth(settings) else None,
                  qc=qc.__dict__, effect_allele="PLINK A1 / PLINK 2, VCF and BGEN second (alt) allele (counted allele)")
    planned = [f"{f}.tsv.gz{x}" for f in files for x in ("", ".tbi", "-meta.yaml")]
    planned += ["gwas_summary.tsv", "qc_report.tsv", "samples.tsv"]
    planned += plot_files(list(files), settings.plots_max, multivariate=settings.multivariate) if settings.plots else []
    planned += [f"loco/{f}" for f in loco_files(names)] if settings.model == "ridge-loco" and not settings.loco_predictions else []
    planned += ["multivariate.tsv.gz"] if settings.multivariate else []
    model_label = analysis_label(binary=settings.binary, model=settings.model, logistic_test=settings.logistic_test)

    writers: list[GwasOutputs] = []

    def outputs_for(variants: pd.DataFrame, Y: np.ndarray, C: np.ndarray, cov_names: list[str]):
        """The streaming writer of this GWAS over ``variants`` (already in output order)."""
        warn_non_ssf_variant_ids(variants["variant_id"])
        writers.append(GwasOutputs(out_dir, variants, names, list(files), model=model_label,
                                   reference_genome=source.reference_genome,
                                   covariates=design.adjusted_for(cov_names),
                                   n_covariates=C.shape[1], cases=case_counts(Y) if settings.binary else None,
                                   plots=settings.plots, plots_max=settings.plots_max,
                                   firth_threshold=settings.firth_threshold if stream_firth(settings) else None))
        return writers[-1]

    stream = dict(binary=settings.binary, missing_genotypes=settings.missing_genotypes, block_size=settings.block_size,
                  firth_threshold=settings.firth_threshold if stream_firth(settings) else None)
    with recording(out_dir, "edfgen gwas", parameters=params, inputs=[*source.paths(), pheno, covar, *source.selection_files()],
                   planned=planned, force=force) as man:
        done = None
        kinds = gwas_stream.variant_kinds(reader, sel_variants, source.reference_genome) if engine == "fast" else None
        if engine == "fast" and not qc.remove_related and not models_pass:
            # one pass over the genotypes: QC counts and association together, each block's results
            # written as soon as its variants pass QC; valid when no sample fails the sample call rate
            # (else the samples change: QC first, then a second pass)
            done = gwas_stream.one_pass(reader, sel_samples, sel_variants,
                                        output_order(reader.variants.iloc[sel_variants]), overlap, design_for,
                                        outputs_for, qc, min_info=source.min_info, threads=threads, sex=sex,
                                        build=source.reference_genome, kinds=kinds, sex_label=sex_source, **stream)
            if done is None:
                log.info("some samples fail the sample call rate: QC first, then association")
        if done is None:
            if engine == "fast":
                related = (related_callback(source, reader.samples["IID"].to_numpy(), qc, hail)
                           if qc.remove_related else None)
                variants, sample_index, steps = gwas_stream.stream_qc(reader, sel_samples, sel_variants, overlap, qc,
                                                                      min_info=source.min_info, related=related,
                                                                      block_size=settings.block_size, sex=files_sex,
                                                                      build=source.reference_genome,
                                                                      min_samples=MIN_SAMPLES, kinds=kinds, threads=threads,
                                                                      sex_label=sex_source)
                used_ids = reader.samples["IID"].to_numpy()[sample_index]
            else:
                mt, variants, steps, used_ids = qc_for_gwas(hl, mt_raw, source, qc, overlap, hail, sex_by_id=files_sex,
                                                            sex_label=sex_source or sex_file(source))
                warn_sex_chromosomes(variants["chromosome"].to_numpy(), design.columns, no_sex=no_sex,
                                     sex_known=files_sex is not None, haploid_coded=not models_pass)   # (fast: above)
            timings["import_qc"] = time.perf_counter() - t1
            if len(used_ids) < MIN_SAMPLES:
                raise InputError(f"only {len(used_ids)} samples left after sample QC (need >= {MIN_SAMPLES})")
            if len(variants) == 0:
                raise InputError(f"--{source.kind} {source.label}: no variant passed QC")
            Y, C, cov_names = design_for(used_ids)
            if settings.multivariate and len(variants) < min_null_variants(Y.shape[1]):   # (not after the pass)
                raise InputError(f"--multivariate: only {len(variants)} variants passed QC; MOSTest needs >= "
                                 f"{min_null_variants(Y.shape[1])} ({Y.shape[1]} phenotypes) to estimate the null "
                                 "correlation (run without --multivariate, or on more variants)")
            n_tested = len(variants)
            t2 = time.perf_counter()
            mt_variants = variants
            order = output_order(variants)
            variants = variants.iloc[order].reset_index(drop=True)
            outputs = outputs_for(variants, Y, C, cov_names)
            scratch = None
            try:
                loco = permuted = reml_h2 = None
                if engine == "fast" and models_pass:
                    if settings.model == "ridge-loco":    # step-1 predictions streamed there, one file per chromosome
                        scratch = temp_dir(Path(out_dir) / "loco-scratch")
                    loco, permuted, res, reml_h2 = gwas_stream.model_pass(
                        reader, sample_index, variants, Y, C, model=settings.model, multivariate=settings.multivariate,
                        loco_predictions=settings.loco_predictions, threads=threads, names=names, sample_ids=used_ids,
                        outputs=outputs, scratch=scratch, sex=files_sex, covariate_names=cov_names, **stream)
                elif engine == "fast":
                    gwas_stream.fast_pass(reader, sample_index, variants, Y, C, threads=threads, names=names,
                                          outputs=outputs, sex=sex, covariate_names=cov_names,
                                          build=source.reference_genome, **stream)
                elif models_pass:
                    preds = None
                    if settings.model == "ridge-loco":   # converted once to a store: one chromosome in memory
                        scratch = temp_dir(Path(out_dir) / "loco-scratch")
                        preds = open_loco_predictions(settings.loco_predictions, scratch).for_samples(used_ids, names)
                    perm = gwas_stream.multivariate_permutation(len(used_ids)) if settings.multivariate else None
                    res, permuted = hail_model_pass(hl, mt, used_ids, mt_variants, Y, C, binary=settings.binary,
                                                    logistic_test=settings.logistic_test, loco=preds,
                                                    permutation=perm, sex_by_id=files_sex, names=names,
                                                    cov_names=cov_names)
                    res, permuted = res.rows(order), (permuted.rows(order) if permuted is not None else None)
                    outputs.add(np.arange(len(variants)), res)
                else:
                    res = hail_by_sex(hl, mt, used_ids, Y, C, cov_names, sex,
                                      settings.logistic_test if settings.binary else None, names=names)
                    outputs.add(np.arange(len(variants)), res.rows(order))
                timings["association"] = time.perf_counter() - t2
                t3 = time.perf_counter()
                summary = outputs.close()
                if loco is not None and not settings.loco_predictions:
                    write_loco_predictions(loco, Path(out_dir) / "loco")   # then what they were fitted on:
                    write_loco_fingerprint(Path(out_dir) / "loco", step1_fingerprint(
                        tables, used_ids, transform=transform, binary=settings.binary))
            except BaseException:
                outputs.abort()
                raise
            finally:
                if scratch:
                    shutil.rmtree(scratch, ignore_errors=True)
            if reml_h2:
                man.extra["lmm_loco_reml_h2"] = {c: dict(zip(names, map(float, h))) for c, h in reml_h2.items()}
            if permuted is not None:
                man.extra["multivariate"] = write_multivariate(out_dir, variants, res, permuted, Y, plots=settings.plots,
                                                               n_covariates=None if settings.binary else C.shape[1])
        else:
            n_tested, steps, used_ids, summary, cov_names, pass_timings = done
            timings["import_qc"] = 0.0
            timings.update(pass_timings)
            t3 = time.perf_counter() - pass_timings.get("export", 0.0)
        counts = SampleCounts(genotypes=len(geno_ids), phenotypes=len(ptab), covariates=len(ctab) if covar else None,
                              complete_covariates=len(complete_cov), overlap=len(overlap), used=len(used_ids),
                              withdrawn=reader.n_withdrawn if engine == "fast" else hl.eval(mt_raw.n_withdrawn))
        log.debug(counts.describe())
        man.parameters["covariates"] = cov_names
        man.extra["sex_chromosomes"] = sex_chromosome_record(files_sex if files_sex is None or engine != "fast" else
                                                             pd.Series(files_sex, index=reader.samples["IID"]),
                                                             used_ids, sex_source or sex_file(source), not models_pass)
        qc_df = qc_table(([bad_step] if bad_step else []) + list(steps)
                         + [s for w in writers[-1:] for s in w.binary_steps()])   # firth_refit, fit_failed
        write_table(qc_df, Path(out_dir) / "qc_report.tsv")
        write_table(pd.DataFrame({"IID": used_ids}), Path(out_dir) / "samples.tsv")
        timings["export"] = time.perf_counter() - t3
        timings["total"] = time.perf_counter() - t0
        man.extra.update(samples=counts.__dict__, qc=qc_df.to_dict(orient="records"),
                         variants_tested=int(n_tested), timings_s={k: round(v, 3) for k, v in timings.items()})
    return GwasResult(out_dir=str(out_dir), phenotypes=names, summary=summary, qc=qc_df, samples=counts,
                      engine=engine, timings=timings)


def _warn_overlap(with_pheno: int, overlap: int, pheno, covar) -> None:
    """WARNING when the covariates cut more than 5% of the genotyped samples that have a phenotype."""
    if with_pheno and overlap < 0.95 * with_pheno:
        log.warning("covariates (%s) complete for only %d of the %d genotyped samples with a phenotype in %s: "
                    "the GWAS uses %d (%.0f%% dropped)", covar, overlap, with_pheno, pheno, overlap,
                    100 * (1 - overlap / with_pheno))


# ---------------------------------------------------------------------------------------------- the command
# its options (the only place their defaults, ranges and choices are written) and run(options),
# which the command line and `edfgen run` both call

@dataclass(frozen=True)
class GwasOptions(GenotypeOptions, HailOptions):
    """``edfgen gwas`` (:func:`edfgen.commands.gwas.run_gwas`)."""

    command: ClassVar[str] = "gwas"
    pheno: str | None = opt(None, "Phenotype table (IID + columns).", path="file", exists=True, required=True)
    pheno_cols: tuple[str, ...] | None = opt(None, "Phenotype columns (a,b or edf_001..edf_064).", comma=True)
    pheno_prefix: str | None = opt(None, "Use every column starting with this prefix (e.g. edf_).")
    covar: str | None = opt(None, "Covariate table (IID + columns).", path="file", exists=True)
    covar_cols: tuple[str, ...] | None = opt(None, "Covariates, e.g. age,sex,centre,PC1..PC10 (default: all).",
                                             comma=True, cli=("--covariates",), hidden=("--covar-cols",))
    categorical: tuple[str, ...] | None = opt(None, "Treat these covariates as categorical.", comma=True)
    missing_code: str = opt(gwas_design.MISSING_CODE, "Value read as missing in --pheno and --covar (plink2's "
                            "--input-missing-phenotype; counted per column in a warning); none: -9 is a number.", number_text=True)
    binary: bool = opt(GwasSettings.binary, "Binary (0/1) outcomes: logistic regression, beta = log-odds.")
    logistic_test: str = opt(GwasSettings.logistic_test, "wald; firth (Hail engine); firth-fallback: Wald, refitted by "
                             "Firth (full fit: beta as plink2 --glm firth; p from the penalised likelihood-ratio test) where "
                             "p < --firth-threshold or the fit fails.", choices=LOGISTIC_TESTS)
    firth_threshold: float = opt(GwasSettings.firth_threshold, "Wald p below which firth-fallback refits by Firth.",
                                 range=(0, 1))
    model: str = opt(GwasSettings.model, "ridge-loco: REGENIE (whole-genome ridge, leave-one-chromosome-out predictions in "
                     "<out>/loco/, then each variant tested against the phenotype minus its chromosome's "
                     "prediction); keeps relatives. Step 1 runs in the fast engine; with --engine hail give "
                     "--loco-predictions (needs >= 2 chromosomes in step 1). lmm-loco: leave-one-chromosome-out "
                     "mixed model, EMMAX/BOLT-LMM-inf style: one genome-wide REML δ per phenotype, LOCO GRMs, GLS "
                     "with the residual variance re-estimated per variant (Student t), so its χ² is GCTA-MLMA-LOCO's "
                     "score χ² times (n−k−1)/(n−k−χ²) (+3 % at χ² 30, +8.6 % at 80 with n = 1,000, k = 1); "
                     "fast engine, N <= 50,000, >= 2 chromosomes.",
                     choices=("linear", "ridge-loco", "lmm-loco"))
    loco_predictions: str | None = opt(None, "With --model ridge-loco: reuse step 1 from a previous run's <out>/loco "
                                       "directory (the same samples or a subset; refused if fitted on other "
                                       "phenotype values, transform or covariates).", path="dir", exists=True)
    multivariate: bool = opt(GwasSettings.multivariate, "Also test every variant across all phenotypes at once (MOSTest) -> "
                             "multivariate.tsv.gz.")
    transform: str = opt(GwasSettings.transform, "Rank-based inverse-normal (Blom offset 3/8, ties averaged) or none.",
                         choices=("inverse-normal", "none"))
    missing_genotypes: str = opt(GwasSettings.missing_genotypes, "mean-impute (Hail) or drop the sample for that variant (plink2; "
                                 "fast engine, linear model).",
                                 choices=("mean-impute", "drop"))
    maf: float = opt(QCSettings.maf, "Keep variants with MAF >= X (in the samples analysed).", range=(0, 0.5))
    call_rate: float = opt(QCSettings.call_rate, "Variant call rate.", range=(0, 1))
    sample_call_rate: float = opt(QCSettings.sample_call_rate, "Keep samples called at >= X of variants.", range=(0, 1))
    hwe: float = opt(QCSettings.hwe_p, "HWE exact p (0: off).", range=(0, 1))
    remove_related: bool = opt(QCSettings.remove_related, "Remove related samples (KING kinship > --kinship), keeping a maximal "
                               "independent set.")
    kinship: float = opt(QCSettings.kinship, "KING kinship above which two samples are related, for "
                         "--remove-related (0.0884: 2nd degree; 0 to 0.5).")
    engine: str = opt(GwasSettings.engine, "fast: blockwise numpy (linear; --binary with Wald) on PLINK 1, PGEN, BGEN and VCF "
                      "input; hail: linear/logistic_regression_rows (Firth, MT, clusters). auto picks fast when "
                      "it can.", choices=("auto", "fast", "hail"))
    no_plots: bool = opt(False, "Skip the Manhattan/QQ PNGs.")
    plots_max: int | None = opt(None, "Plot at most K phenotypes.", range=(0, None), cli=("--max-plots",),
                                hidden=("--plots-max",))
    allow_incomplete: bool = allow_incomplete_opt()


def run(o: GwasOptions):
    """``edfgen gwas``: :func:`edfgen.commands.gwas.run_gwas`; every -meta.yaml says ``o.reference_genome``. An
    input an edfgen command did not finish writing (an EDF table of a killed extract) is refused, as clump and mr
    refuse theirs (``--allow-incomplete``: a warning)."""
    from edfgen.kernels.qc import QCSettings

    for option, path in (("--pheno", o.pheno), ("--covariates", o.covar), ("--loco-predictions", o.loco_predictions)):
        check_upstream([path], option=option, allow_incomplete=o.allow_incomplete)

    return run_gwas(
        genotype_source(o), o.pheno, o.covar, o.out, pheno_cols=as_list(o.pheno_cols), pheno_prefix=o.pheno_prefix,
        covar_cols=as_list(o.covar_cols), categorical=as_list(o.categorical) or (),
        qc=QCSettings(maf=o.maf, call_rate=o.call_rate, hwe_p=o.hwe, sample_call_rate=o.sample_call_rate,
                      remove_related=o.remove_related, kinship=o.kinship),
        settings=GwasSettings(transform=o.transform, missing_genotypes=o.missing_genotypes, binary=o.binary,
                              logistic_test=o.logistic_test, firth_threshold=o.firth_threshold,
                              missing_code=gwas_design.parse_missing_code(o.missing_code),
                              engine=o.engine, plots=not o.no_plots,
                              plots_max=o.plots_max, model=o.model,
                              loco_predictions=path_str(o.loco_predictions), multivariate=o.multivariate),
        hail=hail_settings(o), threads=o.threads, force=o.force)
