"""The simulator's random streams: one independent generator per (seed, purpose tag).

Every random draw of :mod:`edfgen.simulate` comes from a stream named by the cohort's seed and a
fixed tag (genotypes, pedigree, covariates, ...), so that each part of a cohort is reproducible
on its own and adding draws to one part never shifts another. The ECG generator has its own
per-participant streams (:func:`edfgen.simulate.ecg.participant_rng`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["stream", "msprime_seed"]


def stream(seed: int, tag: int) -> np.random.Generator:
    """The numpy generator of stream ``tag`` under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EED, int(tag)]))


def msprime_seed(seed: int, tag: int) -> int:
    """An msprime ``random_seed`` (1 .. 2**31 - 2) for stream ``tag`` under ``seed``."""
    return int(np.random.SeedSequence([int(seed), 0x3A5, int(tag)]).generate_state(1)[0] % (2**31 - 2)) + 1
