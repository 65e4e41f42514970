"""``edfgen simulate``: the simulated cohort with planted truth (options: :class:`~edfgen.commands.simulate.SimulateOptions`)."""

from __future__ import annotations

import click

from edfgen.cli._options import options_from, verbosity
from edfgen.commands.simulate import SimulateOptions


@click.command()
@options_from(SimulateOptions)
@verbosity
def simulate(options: SimulateOptions):
    """Simulate a cohort: genotypes (PLINK), physiology, 12-lead ECGs (WFDB), covariates,
    outcomes and the planted truth (truth.json). Deterministic by --seed."""
    from edfgen.commands.simulate import run

    click.echo(run(options).summary())
