"""Simulated cohorts with planted truth (genotypes ▸ physiology ▸ ECGs ▸ outcomes ▸ truth.json)."""

from edfgen.simulate.cohort import CohortResult, load_truth, simulate_cohort

__all__ = ["CohortResult", "load_truth", "simulate_cohort"]
