"""``edfgen clump``, ``edfgen annotate`` and ``edfgen catalog download``: independent loci and novelty."""

from __future__ import annotations

from pathlib import Path

import click

from edfgen.cli._options import comma_list, existing_path, force, out_dir, out_file, verbosity


@click.command("clump")
@click.option("--sumstats", "sumstats", multiple=True, required=True, type=existing_path(dir_okay=False),
              help="GWAS-SSF <phenotype>.tsv.gz (repeat the option; shell globs work).")
@click.option("--bfile", type=click.Path(path_type=Path), default=None,
              help="PLINK prefix of the study genotypes (LD panel unless --ld-bfile).")
@click.option("--ld-bfile", type=click.Path(path_type=Path), default=None,
              help="PLINK prefix of a separate LD reference panel.")
@out_dir()
@click.option("--p1", type=float, default=5e-8, show_default=True, help="Index-variant threshold (p <= p1).")
@click.option("--p2", type=float, default=0.01, show_default=True, help="Clumped-variant threshold (p < p2).")
@click.option("--r2", type=float, default=0.01, show_default=True, help="LD threshold (r² > r2 joins a clump).")
@click.option("--kb", type=float, default=1000.0, show_default=True, help="Window radius in kb.")
@click.option("--r2-method", type=click.Choice(["plink", "corr"]), default="plink", show_default=True,
              help="plink: haplotype-ML r² (identical to plink1.9 --clump); corr: allele-count correlation².")
@click.option("--study-wide", is_flag=True, help="p1 = 5e-8 / M_eff (Li & Ji 2005) from --pheno.")
@click.option("--pheno", type=existing_path(dir_okay=False), default=None,
              help="Phenotype/EDF table for --study-wide (columns named like the sumstats files).")
@click.option("--truth", type=existing_path(dir_okay=False), default=None,
              help="truth.json of a simulated cohort: writes truth_recovery.tsv.")
@click.option("--regional-plots", type=click.IntRange(min=0), default=0, show_default=True,
              help="Regional plots of the N strongest loci (regional/*.png).")
@click.option("--genes", type=existing_path(dir_okay=False), default=None, help="GTF/BED genes for the plots.")
@force
@verbosity
def clump(sumstats, bfile, ld_bfile, out, p1, p2, r2, kb, r2_method, study_wide, pheno, truth,
          regional_plots, genes, force):
    """LD-clump summary statistics like plink1.9 --clump and merge index variants into loci."""
    from edfgen.genetics.clump import ClumpSettings, run_clump

    res = run_clump(list(sumstats), out_dir=out, bfile=bfile, ld_bfile=ld_bfile,
                    settings=ClumpSettings(p1=p1, p2=p2, r2=r2, kb=kb, r2_method=r2_method),
                    study_wide=study_wide, pheno=pheno, truth=truth, regional_plots=regional_plots,
                    genes=genes, force=force)
    extra = f" (study-wide p1 = {res.settings.p1:.3g}, M_eff = {res.m_eff:.2f})" if res.m_eff else ""
    click.echo(f"{len(res.clumps)} index variants in {res.clumps['phenotype'].nunique()} phenotype(s), "
               f"{len(res.loci)} independent loci{extra} -> {res.out_dir}")
