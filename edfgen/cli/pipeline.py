"""``edfgen run`` (a configured pipeline) and ``edfgen demo`` (the whole job on the simulated cohort)."""

from __future__ import annotations

import click

from edfgen.cli._options import options_from, verbosity
from edfgen.pipeline import DemoOptions, RunOptions


@click.command()
@options_from(RunOptions)
@verbosity
def run(options: RunOptions) -> None:
    """Run the configured stages from a TOML config, resuming finished stages: simulate (with [simulate]),
    extract, interpret, pca, gwas (EDFs; also gwas_outcomes, gwas_biomarkers), clump, annotate, mr, with
    [run] genetics = true ldsc, finemap and coloc, then report.html."""
    from edfgen.pipeline import load_config, run_pipeline

    res = run_pipeline(load_config(options.config), force=options.force,
                       ignore_code_changes=options.ignore_code_changes)
    for s in res.stages:
        click.echo(f"{s.name:18s} {s.status:8s} {s.seconds:7.1f} s  {s.out}")


@click.command()
@options_from(DemoOptions)
@verbosity
def demo(options: DemoOptions) -> None:
    """Simulate the default cohort and run the whole pipeline on it, with a report.html and a truth section."""
    from edfgen.pipeline import run_demo

    res = run_demo(options)
    click.echo(res.summary())
