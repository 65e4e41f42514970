"""``edfgen mr``: two-sample Mendelian randomization (options: :class:`~edfgen.commands.mr.MROptions`)."""

from __future__ import annotations

import click

from edfgen.cli._options import options_from, verbosity
from edfgen.commands.mr import MROptions


@click.command("mr")
@options_from(MROptions)
@verbosity
def mr(options: MROptions):
    """Two-sample MR of every exposure x outcome: harmonise (TwoSampleMR rules), IVW, MR Egger,
    medians, modes, heterogeneity, pleiotropy, leave-one-out, Steiger, MR-PRESSO; with --multivariable,
    MVMR-IVW of all exposures together (conditional F, Q_A) -> mvmr_results.tsv.

    The LD panel of --proxies/--clump is given by the genotype options (--bfile or its old name
    --ld-bfile, --pfile, --bgen/--sample, --vcf, with --keep/--remove/--extract/--chr)."""
    from edfgen.commands.mr import run

    res = run(options)
    if options.multivariable:
        click.echo(f"edfgen mr --multivariable: {len(res.results)} estimates for {len(res.instruments)} outcome(s) "
                   f"in {res.seconds:.1f}s -> {options.out}")
        return
    kept = int(res.harmonised["mr_keep"].sum())
    click.echo(f"edfgen mr: {res.n_pairs} pair(s), {kept} of {len(res.harmonised)} instrument rows kept, "
               f"{len(res.tables['mr_results'])} estimates in {res.seconds:.1f}s -> {options.out}")
