"""``edfgen simulate``: the simulated cohort with planted truth (thin wrapper over edfgen.simulate)."""

from __future__ import annotations

import click

from edfgen.cli._options import force, out_dir, seed, verbosity


@click.command()
@out_dir(help="Output directory (must be absent or empty unless --force).")
@click.option("--n", "n", type=int, default=3000, show_default=True, help="Participants (>= 10).")
@seed
@click.option("--chromosomes", type=int, default=3, show_default=True, help="Chromosomes (1-22).")
@click.option("--variants-per-chromosome", type=int, default=10_000, show_default=True,
              help="SNPs per chromosome (MAF >= 1 %).")
@click.option("--no-ecg", is_flag=True, help="Skip writing the WFDB ECGs (genetics-only cohort).")
@click.option("--effect-scale", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Multiply the variance explained by each planted locus (small test cohorts use > 1).")
@click.option("--families", type=click.IntRange(min=0), default=None,
              help="K nuclear families of 2-4 children (of simulated parents) instead of the default ~3 % "
                   "sibling pairs; .fam FID/PAT/MAT name the families (0: no relatives).")
@force
@verbosity
def simulate(out, n, seed, chromosomes, variants_per_chromosome, no_ecg, effect_scale, families, force):
    """Simulate a cohort: genotypes (PLINK), physiology, 12-lead ECGs (WFDB), covariates,
    outcomes and the planted truth (truth.json). Deterministic by --seed."""
    from edfgen.simulate.cohort import simulate_cohort

    result = simulate_cohort(out, n=n, seed=seed, chromosomes=chromosomes,
                             variants_per_chromosome=variants_per_chromosome, force=force, ecg=not no_ecg,
                             effect_scale=effect_scale, families=families)
    click.echo(result.summary())
