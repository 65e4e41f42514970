"""``edfgen simulate``: :class:`SimulateOptions` -> the simulated cohort's files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from edfgen.commands.options import CommandOptions, force_opt, opt, out_opt, seed_opt
from edfgen.simulate.genotypes import DEFAULT_FAMILY_STRUCTURE


@dataclass(frozen=True)
class SimulateOptions(CommandOptions):
    """``edfgen simulate`` (:func:`edfgen.simulate.cohort.simulate_cohort`)."""

    command: ClassVar[str] = "simulate"
    out: str | None = out_opt(help="Output directory (must be absent or empty unless --force).")
    # the simulator checks n, chromosomes and variants itself (one line naming the option)
    n: int = opt(3000, "Participants (>= 10).", range=(10, None), cli_range=False)
    seed: int = seed_opt()
    chromosomes: int = opt(3, "Chromosomes (1-22).", range=(1, 22), cli_range=False)
    variants_per_chromosome: int = opt(10_000, "SNPs per chromosome (MAF >= 1 % in the simulated population; "
                                       "a few may fall just below 1 % in the cohort).", range=(1, None), cli_range=False)
    no_ecg: bool = opt(False, "Skip writing the WFDB ECGs (genetics-only cohort).")
    effect_scale: float = opt(1.0, "Multiply the variance explained by each planted locus (small test cohorts "
                              "use > 1).", range=(0, None), open=(True, False))
    families: int | None = opt(None, "K nuclear families (shapes: --family-structure) instead of the default ~3 % "
                               "sibling pairs; .fam FID/PAT/MAT name the families (0: no relatives).",
                               range=(0, None))
    family_structure: str = opt(DEFAULT_FAMILY_STRUCTURE, "With --families: comma-separated family shapes the "
                                "families take in turn: sibs<k> or sibs<a>-<b> (children of simulated parents "
                                "who are not participants), trio (two genotyped parents and their child); "
                                "e.g. sibs3,trio.")
    biobank: int = opt(0, "Also simulate a biobank of this many people without ECGs (genotypes and diseases only, "
                       "same population and causal effects) into <out>/biobank/: the outcome GWAS of a powered "
                       "two-sample MR (0: none).", range=(0, None))
    force: bool = force_opt()


def run(o: SimulateOptions):
    """Simulate the cohort of ``o`` into ``o.out`` (:func:`edfgen.simulate.cohort.simulate_cohort`)."""
    from edfgen.simulate.cohort import simulate_cohort

    return simulate_cohort(o.out, n=o.n, seed=o.seed, chromosomes=o.chromosomes,
                           variants_per_chromosome=o.variants_per_chromosome, force=o.force, ecg=not o.no_ecg,
                           effect_scale=o.effect_scale, families=o.families, biobank=o.biobank,
                           family_structure=o.family_structure)
