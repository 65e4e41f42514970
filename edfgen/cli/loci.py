"""``edfgen clump``, ``edfgen annotate`` and ``edfgen catalog download``: independent loci and novelty."""

from __future__ import annotations

import click

from edfgen.cli._options import options_from, verbosity
from edfgen.commands.annotate import AnnotateOptions
from edfgen.commands.catalog import CatalogDownloadOptions
from edfgen.commands.clump import ClumpOptions


@click.command("clump")
@options_from(ClumpOptions)
@verbosity
def clump(options: ClumpOptions):
    """LD-clump summary statistics like plink1.9 --clump and merge index variants into loci."""
    from edfgen.commands.clump import run

    res = run(options)
    extra = f" (study-wide p1 = {res.settings.p1:.3g}, M_eff = {res.m_eff:.2f})" if res.m_eff else ""
    click.echo(f"{len(res.clumps)} index variants in {res.clumps['phenotype'].nunique()} phenotype(s), "
               f"{len(res.loci)} independent loci{extra} -> {res.out_dir}")


@click.command("annotate")
@options_from(AnnotateOptions)
@verbosity
def annotate(options: AnnotateOptions):
    """Mark loci known/novel against the GWAS Catalog; add nearest catalog hit and nearest gene."""
    from edfgen.commands.annotate import run

    res = run(options)
    click.echo(f"{len(res)} loci: {int(res['novel'].sum())} novel, {int((~res['novel']).sum())} known -> {options.out}")


@click.group("catalog")
def catalog():
    """The NHGRI-EBI GWAS Catalog."""


@catalog.command("download")
@options_from(CatalogDownloadOptions)
@verbosity
def download(options: CatalogDownloadOptions):
    """Fetch the current GWAS Catalog associations TSV (needs internet)."""
    from edfgen.commands.catalog import run

    click.echo(f"GWAS Catalog associations -> {run(options)}")
