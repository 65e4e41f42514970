"""``edfgen gwas`` and ``edfgen pca``: thin wrappers over edfgen.engines."""

from __future__ import annotations

from pathlib import Path

import click

from edfgen.cli._options import HiddenAliasOption, comma_list, existing_path, force, genotype_options, out_dir, threads, verbosity


def _hail_options(func):
    opts = [
        click.option("--spark-master", default=None, help="Spark master (default local[THREADS]); e.g. yarn."),
        click.option("--tmp-dir", default=None, help="Hail/Spark temporary directory (a bucket on clusters)."),
        click.option("--driver-memory", default=None, help="Spark driver memory, e.g. 8g."),
        click.option("--executor-memory", default=None, help="Spark executor memory, e.g. 8g."),
    ]
    for o in reversed(opts):
        func = o(func)
    return func


def _assembly(genome_assembly: str, reference_genome: str | None) -> str:
    """The build written to the sumstats metadata: --genome-assembly, else --reference-genome."""
    if reference_genome and genome_assembly not in ("NR", reference_genome):
        raise click.UsageError(f"--genome-assembly {genome_assembly} contradicts --reference-genome {reference_genome}")
    return reference_genome or genome_assembly


def _hail_settings(spark_master, tmp_dir, driver_memory, executor_memory, threads):
    from edfgen.engines.hail import HailSettings

    return HailSettings(spark_master=spark_master, tmp_dir=tmp_dir, driver_memory=driver_memory,
                        executor_memory=executor_memory, threads=threads)


@click.command()
@genotype_options()
@click.option("--pheno", type=existing_path(dir_okay=False), required=True, help="Phenotype table (IID + columns).")
@click.option("--pheno-cols", callback=comma_list, help="Phenotype columns (a,b or edf_001..edf_064).")
@click.option("--pheno-prefix", help="Use every column starting with this prefix (e.g. edf_).")
@click.option("--covar", type=existing_path(dir_okay=False), help="Covariate table (IID + columns).")
@click.option("--covariates", "--covar-cols", "covar_cols", cls=HiddenAliasOption, callback=comma_list,
              help="Covariates, e.g. age,sex,centre,PC1..PC10 (default: all).")
@click.option("--categorical", callback=comma_list, default=None, help="Treat these covariates as categorical.")
@click.option("--binary", is_flag=True, help="Binary (0/1) outcomes: logistic regression, beta = log-odds.")
@click.option("--logistic-test", type=click.Choice(["wald", "firth"]), default="wald", show_default=True)
@click.option("--model", "model", type=click.Choice(["linear", "ridge-loco"]), default="linear", show_default=True,
              help="ridge-loco: REGENIE (whole-genome ridge, leave-one-chromosome-out predictions in <out>/loco/, "
                   "then each variant tested against the phenotype minus its chromosome's prediction); keeps "
                   "relatives. Fast engine only.")
@click.option("--loco-predictions", type=existing_path(file_okay=False), default=None,
              help="With --model ridge-loco: reuse step 1 from a previous run's <out>/loco directory.")
@click.option("--multivariate", is_flag=True,
              help="Also test every variant across all phenotypes at once (MOSTest) -> multivariate.tsv.gz.")
@click.option("--transform", type=click.Choice(["inverse-normal", "none"]), default="inverse-normal",
              show_default=True, help="Rank-based inverse-normal (Blom offset 3/8, ties averaged) or none.")
@click.option("--missing-genotypes", type=click.Choice(["mean-impute", "drop"]), default="mean-impute",
              show_default=True, help="mean-impute (Hail) or drop the sample for that variant (plink2).")
@click.option("--maf", type=click.FloatRange(0, 0.5), default=0.01, show_default=True)
@click.option("--call-rate", type=click.FloatRange(0, 1), default=0.95, show_default=True, help="Variant call rate.")
@click.option("--sample-call-rate", type=click.FloatRange(0, 1), default=0.95, show_default=True)
@click.option("--hwe", type=click.FloatRange(0, 1), default=1e-6, show_default=True, help="HWE exact p (0: off).")
@click.option("--remove-related", is_flag=True, help="Remove related samples (KING kinship > --kinship), keeping a maximal independent set.")
@click.option("--kinship", type=float, default=0.0884, show_default=True)
@click.option("--engine", type=click.Choice(["auto", "fast", "hail"]), default="auto", show_default=True,
              help="fast: blockwise numpy on PLINK input (linear; --binary with Wald); hail: "
                   "linear/logistic_regression_rows (Firth, VCF/BGEN/MT, clusters). auto picks fast when it can.")
@click.option("--no-plots", is_flag=True, help="Skip the Manhattan/QQ PNGs.")
@click.option("--max-plots", "--plots-max", "plots_max", cls=HiddenAliasOption, type=click.IntRange(min=0), default=None,
              help="Plot at most K phenotypes.")
@click.option("--genome-assembly", default="NR", show_default=True,
              help="Genome build of the positions, written to each file's -meta.yaml (GRCh37, GRCh38; NR: not reported).")
@_hail_options
@out_dir()
@threads
@force
@verbosity
def gwas(source, reference_genome, pheno, pheno_cols, pheno_prefix, covar, covar_cols, categorical,
         binary, logistic_test, transform, missing_genotypes, maf, call_rate, sample_call_rate, hwe, remove_related,
         kinship, engine, no_plots, plots_max, genome_assembly, spark_master, tmp_dir, driver_memory, executor_memory, out, threads,
         force, model="linear", loco_predictions=None, multivariate=False):
    """GWAS of every phenotype in one pass (GWAS-SSF per phenotype, summary, QC report, plots)."""
    from edfgen.kernels.qc import QCSettings
    from edfgen.commands.gwas import GwasSettings, run_gwas

    res = run_gwas(source, pheno, covar, out,
                   pheno_cols=pheno_cols, pheno_prefix=pheno_prefix, covar_cols=covar_cols,
                   categorical=categorical or (),
                   qc=QCSettings(maf=maf, call_rate=call_rate, hwe_p=hwe, sample_call_rate=sample_call_rate,
                                 remove_related=remove_related, kinship=kinship),
                   settings=GwasSettings(transform=transform, missing_genotypes=missing_genotypes, binary=binary,
                                         logistic_test=logistic_test, engine=engine, plots=not no_plots,
                                         plots_max=plots_max, genome_assembly=_assembly(genome_assembly, reference_genome), model=model,
                                         loco_predictions=str(loco_predictions) if loco_predictions else None,
                                         multivariate=multivariate),
                   hail=_hail_settings(spark_master, tmp_dir, driver_memory, executor_memory, threads),
                   threads=threads, force=force)
    click.echo(res.samples.describe())
    click.echo(f"{len(res.phenotypes)} phenotype(s), {int(res.summary['variants_tested'].max())} variants, "
               f"engine {res.engine}, {int(res.summary['n_significant'].sum())} results at p < 5e-8; "
               f"written to {Path(res.out_dir)}")


@click.command()
@genotype_options()
@click.option("--k", type=click.IntRange(min=1), default=10, show_default=True, help="Number of PCs.")
@click.option("--maf", type=click.FloatRange(0, 0.5), default=0.05, show_default=True)
@click.option("--ld-r2", type=click.FloatRange(0, 1), default=0.2, show_default=True)
@click.option("--ld-window-kb", type=click.IntRange(min=1), default=500, show_default=True)
@_hail_options
@out_dir()
@threads
@force
@verbosity
def pca(source, reference_genome, k, maf, ld_r2, ld_window_kb, spark_master, tmp_dir,
        driver_memory, executor_memory, out, threads, force):
    """Genotype PCs (LD-pruned, MAF-filtered hwe_normalized_pca): pcs.tsv (IID, PC1..PCk) for --covar."""
    from edfgen.commands.pca import run_pca

    res = run_pca(source, out, k=k, maf=maf, ld_r2=ld_r2, ld_window_kb=ld_window_kb, keep=source.keep,
                  hail=_hail_settings(spark_master, tmp_dir, driver_memory, executor_memory, threads), force=force)
    click.echo(f"{res.k} PCs of {res.n_samples} samples from {res.n_variants} LD-pruned variants; "
               f"written to {res.out_dir}/pcs.tsv")
