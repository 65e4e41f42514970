"""``edfgen mr``: two-sample Mendelian randomization (TwoSampleMR-compatible) over files or directories."""

from __future__ import annotations

from pathlib import Path

import click

from edfgen.cli._options import comma_list, force, genotype_options, out_dir, seed, verbosity


@click.command("mr")
@click.option("--exposure", type=click.Path(exists=True, path_type=Path), required=True, multiple=True,
              help="Exposure sumstats file (instruments, or full sumstats with --p-threshold) or a directory of them; "
                   "repeat it for more. Files of one phenotype's chromosomes (chr1/y.tsv.gz, chr2/y.tsv.gz or "
                   "y_chr1.tsv.gz, y_chr2.tsv.gz) are combined into one exposure.")
@click.option("--outcome", type=click.Path(exists=True, path_type=Path), required=True, multiple=True,
              help="Outcome sumstats file or a directory of them, repeatable (several phenotypes run as a matrix; "
                   "one phenotype's per-chromosome files are combined).")
@out_dir()
@click.option("--methods", callback=comma_list, default=None,
              help="Comma-separated methods (TwoSampleMR names or ivw, ivw_fe, egger, weighted_median, "
                   "simple_median, simple_mode, weighted_mode, wald). Default: all.")
@click.option("--palindromes", type=click.Choice(["infer", "forward", "drop"]), default="infer", show_default=True,
              help="TwoSampleMR harmonise action 2 / 1 / 3.")
@click.option("--maf-threshold", type=click.FloatRange(0, 0.5, min_open=True), default=0.42, show_default=True,
              help="Palindromes with allele frequency in (t, 1-t) cannot be inferred.")
@click.option("--p-threshold", type=float, default=None, help="Instruments: exposure variants with p below this.")
@click.option("--instruments", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Instrument list (e.g. clumps.tsv: variant_id[, phenotype]) joined to the exposure.")
@click.option("--proxies", is_flag=True,
              help="Replace instruments missing in the outcome by LD proxies (needs an LD panel: --ld-bfile, or "
                   "--bfile/--pfile/--bgen/--vcf).")
@click.option("--clump", is_flag=True,
              help="Pick independent instruments from full exposure sumstats by LD clumping (needs an LD panel, "
                   "--p-threshold).")
@genotype_options(required=False, mt=False, bfile_alias="--ld-bfile")
@click.option("--proxy-r2", type=click.FloatRange(0, 1), default=0.8, show_default=True)
@click.option("--reverse", is_flag=True, help="Reverse direction: instruments from the outcome files.")
@click.option("--nboot", type=click.IntRange(min=10), default=1000, show_default=True, help="Bootstrap draws.")
@click.option("--presso-sims", type=click.IntRange(min=0), default=1000, show_default=True,
              help="MR-PRESSO simulated data sets (0: skip MR-PRESSO).")
@click.option("--prevalence", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=None,
              help="Disease prevalence for Steiger r² of binary traits (default: the GWAS case fraction).")
@click.option("--columns", default=None,
              help="Column names of a layout that is not recognised, as KEY=COLUMN pairs: beta=,se=,p= (or log10p=), "
                   "ea=,oa=,snp=,eaf=,n=,chr=,pos=, or=,ci_lower=,ci_upper= (odds ratios are converted to log-OR and SE). "
                   "Applied to every --exposure/--outcome file that has the column.")
@click.option("--plots/--no-plots", default=True, show_default=True)
@click.option("--max-plots", type=click.IntRange(min=0), default=20, show_default=True,
              help="Plot at most this many pairs (most significant first).")
@seed
@force
@verbosity
def mr(exposure, outcome, out, methods, palindromes, maf_threshold, p_threshold, instruments, proxies, clump,
       source, reference_genome, proxy_r2, reverse, nboot, presso_sims, prevalence, columns, plots, max_plots, seed,
       force):
    """Two-sample MR of every exposure x outcome: harmonise (TwoSampleMR rules), IVW, MR Egger,
    medians, modes, heterogeneity, pleiotropy, leave-one-out, Steiger, MR-PRESSO.

    The LD panel of --proxies/--clump is given by the genotype options (--bfile or its old name
    --ld-bfile, --pfile, --bgen/--sample, --vcf, with --keep/--remove/--extract/--chr)."""
    from edfgen.formats.sumstats import parse_column_option
    from edfgen.commands.mr import MRSettings, run_mr

    kw = {"methods": tuple(methods)} if methods else {}
    settings = MRSettings(palindromes=palindromes, maf_threshold=maf_threshold, p_threshold=p_threshold, nboot=nboot,
                          seed=seed, presso=presso_sims > 0, presso_sims=max(presso_sims, 1), prevalence=prevalence,
                          proxy_r2=proxy_r2, **kw)
    res = run_mr(list(exposure), list(outcome), out, settings=settings, instruments=instruments, reverse=reverse,
                 ld_bfile=source, proxies=proxies, clump=clump, plots=plots, max_plots=max_plots, force=force,
                 columns=parse_column_option(columns) or None)
    kept = int(res.harmonised["mr_keep"].sum())
    click.echo(f"edfgen mr: {res.n_pairs} pair(s), {kept} of {len(res.harmonised)} instrument rows kept, "
               f"{len(res.tables['mr_results'])} estimates in {res.seconds:.1f}s -> {out}")
