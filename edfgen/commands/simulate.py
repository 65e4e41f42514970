"""``edfgen simulate``: the options of :class:`~edfgen.commands.options.SimulateOptions` -> the cohort files."""

from __future__ import annotations

from edfgen.commands.options import SimulateOptions


def run(o: SimulateOptions):
    """Simulate the cohort of ``o`` into ``o.out`` (:func:`edfgen.simulate.cohort.simulate_cohort`)."""
    from edfgen.simulate.cohort import simulate_cohort

    return simulate_cohort(o.out, n=o.n, seed=o.seed, chromosomes=o.chromosomes,
                           variants_per_chromosome=o.variants_per_chromosome, force=o.force, ecg=not o.no_ecg,
                           effect_scale=o.effect_scale, families=o.families)
