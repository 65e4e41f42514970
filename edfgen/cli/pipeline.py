"""``edfgen run`` (a configured pipeline) and ``edfgen demo`` (the whole job on the simulated cohort)."""

from __future__ import annotations

from pathlib import Path

import click

from edfgen.cli._options import force, out_dir, verbosity


@click.command()
@click.option("--config", "config", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Pipeline TOML (see `edfgen.pipeline` docs / README).")
@click.option("--force", is_flag=True, help="Rerun every stage, ignoring what is already done.")
@verbosity
def run(config: Path, force: bool) -> None:
    """Run extract > gwas > clump > annotate > mr from a TOML config, resuming finished stages."""
    from edfgen.pipeline import load_config, run_pipeline

    res = run_pipeline(load_config(config), force=force)
    for s in res.stages:
        click.echo(f"{s.name:18s} {s.status:8s} {s.seconds:7.1f} s  {s.out}")


@click.command()
@out_dir(required=False, help="Output directory (default: edfgen-demo).")
@click.option("--n", "n", type=click.IntRange(min=10), default=5000, show_default=True,
              help="Participants to simulate (split in two halves for two-sample MR).")
@click.option("--seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True, help="Simulation seed.")
@force
@verbosity
def demo(out: Path | None, n: int, seed: int, force: bool) -> None:
    """Simulate the default cohort and run the whole pipeline on it, with a report.html and a truth section."""
    from edfgen.commands.demo import run_demo

    res = run_demo(out or Path("edfgen-demo"), n=n, seed=seed, force=force)
    click.echo(res.summary())
