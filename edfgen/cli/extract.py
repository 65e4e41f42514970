"""``edfgen extract`` (ECGs -> EDF table) and ``edfgen interpret`` (EDFs vs known biomarkers)."""

from __future__ import annotations

import click

from edfgen.cli._options import options_from, verbosity
from edfgen.commands.extract import ExtractOptions
from edfgen.commands.interpret import InterpretOptions


@click.command()
@options_from(ExtractOptions)
@verbosity
def extract(options: ExtractOptions) -> None:
    """ECGs -> EDFs with a frozen encoder (resumes an interrupted run; bad records go to <out>.rejects.tsv)."""
    from edfgen.commands.extract import run

    r = run(options)
    click.echo(f"{r.n_participants} participants x {r.n_edfs} EDFs -> {r.table} "
               f"({r.n_records} records, {r.n_rejected} rejected -> {r.rejects}"
               f"{f', {r.resumed} resumed' if r.resumed else ''})")


@click.command()
@options_from(InterpretOptions)
@verbosity
def interpret(options: InterpretOptions) -> None:
    """Which EDFs track which biomarkers: adjusted OLS table, heatmap and k-means clusters of EDFs."""
    from edfgen.commands.interpret import run

    r = run(options)
    click.echo(f"{r.n_significant} of {r.n_edfs * len(r.biomarkers)} EDF-biomarker pairs with p < "
               f"{options.p_threshold:g} (n = {r.n_participants}) -> {r.associations}")
