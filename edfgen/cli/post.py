"""``edfgen ldsc``, ``edfgen finemap`` and ``edfgen coloc`` (options: :class:`~edfgen.commands.ldsc.LdscOptions`,
``FinemapOptions``, ``ColocOptions``)."""

from __future__ import annotations

import click

from edfgen.cli._options import options_from, verbosity
from edfgen.commands.coloc import ColocOptions
from edfgen.commands.finemap import FinemapOptions
from edfgen.commands.ldsc import LdscOptions


@click.command()
@options_from(LdscOptions)
@verbosity
def ldsc(options: LdscOptions):
    """LD score regression: h2.tsv (SNP heritability, intercept, ratio) and with --rg rg.tsv (genetic correlations)."""
    from edfgen.commands.ldsc import run

    res = run(options)
    click.echo(f"{len(res.h2)} phenotype(s), {len(res.ldscores)} LD-score variants (M_5_50 {res.m:g})"
               + (f", {len(res.rg)} pair(s) in rg.tsv" if res.rg is not None else "") + f"; written to {res.out_dir}")


@click.command()
@options_from(FinemapOptions)
@verbosity
def finemap(options: FinemapOptions):
    """SuSiE-RSS fine-mapping of each locus of loci.tsv: credible_sets.tsv, pip.tsv, ld_check.tsv."""
    from edfgen.commands.finemap import run

    res = run(options)
    n_cs = res.credible_sets[["locus", "phenotype", "cs"]].drop_duplicates().shape[0]
    click.echo(f"{len(res.ld_check)} locus x phenotype region(s), {n_cs} credible set(s); written to {res.out_dir}")


@click.command()
@options_from(ColocOptions)
@verbosity
def coloc(options: ColocOptions):
    """Colocalisation (coloc ABF and coloc-SuSiE) of every exposure locus with every outcome: coloc.tsv."""
    from edfgen.commands.coloc import run

    res = run(options)
    n4 = int((res.coloc["pp_h4"] >= 0.8).sum())
    click.echo(f"{len(res.coloc)} row(s), {n4} with PP.H4 >= 0.8; written to {res.out_dir}")
