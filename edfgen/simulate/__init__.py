"""Simulated cohorts with planted truth (genotypes ▸ physiology ▸ ECGs ▸ outcomes ▸ truth.json).

Rooms: :mod:`~edfgen.simulate.cohort` wires the parts and writes the cohort folder
(:func:`simulate_cohort`, :func:`load_truth`); :mod:`~edfgen.simulate.genotypes` the coalescent
genomes, relatives and the PLINK fileset; :mod:`~edfgen.simulate.phenotypes` the genetic
architecture, physiology, covariates and outcomes; :mod:`~edfgen.simulate.ecg` the 12-lead
waveforms; :mod:`~edfgen.simulate.mr` summary statistics with a known causal effect;
:mod:`~edfgen.simulate.streams` the random streams they all draw from.
"""

from edfgen.simulate.cohort import CohortResult, load_truth, simulate_cohort

__all__ = ["CohortResult", "load_truth", "simulate_cohort"]
