"""``edfgen gwas`` and ``edfgen pca`` (options: :class:`~edfgen.commands.gwas.GwasOptions`, ``PcaOptions``)."""

from __future__ import annotations

from pathlib import Path

import click

from edfgen.cli._options import options_from, verbosity
from edfgen.commands.gwas import GwasOptions
from edfgen.commands.pca import PcaOptions


@click.command()
@options_from(GwasOptions)
@verbosity
def gwas(options: GwasOptions):
    """GWAS of every phenotype in one pass (GWAS-SSF per phenotype, summary, QC report, plots)."""
    from edfgen.commands.gwas import run

    res = run(options)
    click.echo(res.samples.describe())
    click.echo(f"{len(res.phenotypes)} phenotype(s), {int(res.summary['variants_tested'].max())} variants, "
               f"engine {res.engine}, {int(res.summary['n_significant'].sum())} results at p < 5e-8; "
               f"written to {Path(res.out_dir)}")


@click.command()
@options_from(PcaOptions)
@verbosity
def pca(options: PcaOptions):
    """Genotype PCs (LD-pruned, MAF-filtered hwe_normalized_pca): pcs.tsv (IID, PC1..PCk) for --covar."""
    from edfgen.commands.pca import run

    res = run(options)
    click.echo(f"{res.k} PCs of {res.n_samples} samples from {res.n_variants} LD-pruned variants; "
               f"written to {res.out_dir}/pcs.tsv")
