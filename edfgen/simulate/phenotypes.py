"""Simulated phenotypes: the genetic architecture, physiology, covariates and outcomes of a cohort.

- **Genetic architecture** (:func:`plant_architecture`): planted loci, several per trait, some shared
  by two traits (pleiotropy), MAF >= :data:`CAUSAL_MIN_MAF`, complete calls, more than
  :data:`CAUSAL_MIN_SPACING_BP` apart; each explains a fixed share of the trait variance
  (:data:`PLANTED_LOCI`, scaled by ``effect_scale``), plus a polygenic background of
  :data:`BACKGROUND_SNPS` small-effect SNPs (:data:`BACKGROUND_H2` per trait).
  :meth:`GeneticArchitecture.add_block` accumulates each participant's genetic values from the
  dosages as the genotypes stream.
- **Physiology** (:func:`physiology`): each trait = population mean + age, sex and centre effects +
  trait SD x (planted SNPs + polygenic background + environment). Environmental parts are
  correlated between traits (:data:`ENV_CORRELATIONS`); an unobserved confounder raises R amplitude
  and hypertrophy risk (BMI is its noisy observed proxy).
- **Outcomes** (:func:`outcomes`): 8 binary diseases from logistic models with age/sex effects; some
  are caused by a physiology trait (:data:`CAUSAL_EFFECTS`), HYP shares the confounder with R
  amplitude, the rest are null; intercepts solved for the target prevalences.

This module knows what variants and covariates do to traits and diseases; the genomes themselves
are :mod:`edfgen.simulate.genotypes`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.simulate.ecg import PHYSIOLOGY_COLUMNS, TRAIT_SPECS, finalize_physiology
from edfgen.simulate.genotypes import Chromosome, Pedigree
from edfgen.simulate.streams import stream

__all__ = ["PLANTED_LOCI", "COVARIATE_EFFECTS", "CENTRES", "OUTCOMES", "CAUSAL_EFFECTS", "OutcomeSpec",
           "GeneticArchitecture", "plant_architecture", "covariates", "physiology", "outcomes"]

CAUSAL_MIN_MAF = 0.05
CAUSAL_MIN_SPACING_BP = 1_000_000
BACKGROUND_SNPS = 300       # shared pool of small-effect SNPs (polygenic background)
BACKGROUND_H2 = 0.05        # per trait

#: Planted loci: each entry is one causal SNP and the share of each trait's (age/sex-adjusted)
#: variance it explains (before ``effect_scale``). Entries with two traits are pleiotropic.
PLANTED_LOCI: tuple[dict[str, float], ...] = (
    {"heart_rate_bpm": 0.035}, {"heart_rate_bpm": 0.025}, {"heart_rate_bpm": 0.02},
    {"heart_rate_bpm": 0.025, "qt_interval_ms": 0.02},
    {"qt_interval_ms": 0.04}, {"qt_interval_ms": 0.025},
    {"qt_interval_ms": 0.025, "qrs_duration_ms": 0.025},
    {"qrs_duration_ms": 0.035}, {"qrs_duration_ms": 0.02},
    {"pr_interval_ms": 0.04}, {"pr_interval_ms": 0.025},
    {"pr_interval_ms": 0.02, "p_amplitude_mv": 0.03},
    {"p_amplitude_mv": 0.025},
    {"qrs_axis_deg": 0.035}, {"qrs_axis_deg": 0.025}, {"qrs_axis_deg": 0.02},
    {"r_amplitude_mv": 0.035}, {"r_amplitude_mv": 0.02},
    {"r_amplitude_mv": 0.025, "t_amplitude_mv": 0.025},
    {"t_amplitude_mv": 0.03},
    {"st_deviation_mv": 0.035}, {"st_deviation_mv": 0.025},
)

#: Age (per year above 55), sex (male vs female) and centre effects on each trait, in trait units.
COVARIATE_EFFECTS: dict[str, dict[str, float]] = {
    "heart_rate_bpm": {"age": -0.10, "male": -3.0},
    "pr_interval_ms": {"age": 0.5, "male": 5.0},
    "qrs_duration_ms": {"age": 0.10, "male": 6.0},
    "qt_interval_ms": {"age": 0.4, "male": -8.0},
    "qrs_axis_deg": {"age": -0.5, "male": -3.0},
    "r_amplitude_mv": {"age": -0.005, "male": 0.2},
    "t_amplitude_mv": {"age": -0.002, "male": 0.05},
    "p_amplitude_mv": {"age": 0.0, "male": 0.0},
    "st_deviation_mv": {"age": 0.0, "male": 0.02},
}
CENTRES = ("Cheadle", "Newcastle", "Reading", "Bristol")
#: Centre (device calibration) offsets on R amplitude (mV), per centre.
CENTRE_R_OFFSET = (0.0, 0.05, -0.05, 0.02)
#: Environmental correlations between traits (after genetics).
ENV_CORRELATIONS = {("heart_rate_bpm", "qt_interval_ms"): -0.5, ("qrs_duration_ms", "qt_interval_ms"): 0.3,
                    ("pr_interval_ms", "p_amplitude_mv"): 0.2, ("r_amplitude_mv", "t_amplitude_mv"): 0.3}
CONFOUNDER_LOADING = {"r_amplitude_mv": 0.5}   # correlation of the latent confounder with the trait's environment


@dataclass(frozen=True)
class OutcomeSpec:
    """Logistic model of one binary disease: ``logit P = a + age/10 * age_per_decade + male * male
    + sum(effect * z(trait)) + confounder * U``; ``a`` solved for ``prevalence``."""

    prevalence: float
    age_per_decade: float
    male: float
    confounder: float = 0.0


OUTCOMES: dict[str, OutcomeSpec] = {
    "AF": OutcomeSpec(0.08, 0.5, 0.3),
    "LBBB": OutcomeSpec(0.06, 0.4, 0.2),
    "MI": OutcomeSpec(0.06, 0.6, 0.7),
    "HYP": OutcomeSpec(0.12, 0.3, 0.3, confounder=1.0),
    "STTC": OutcomeSpec(0.15, 0.3, -0.1),
    "CD": OutcomeSpec(0.05, 0.3, 0.1),
    "GSVT": OutcomeSpec(0.07, 0.2, -0.1),
    "PAC": OutcomeSpec(0.10, 0.4, 0.1),
}
#: exposure -> outcome causal effects, log-odds per population SD of the exposure (TRAIT_SPECS sd).
CAUSAL_EFFECTS: tuple[tuple[str, str, float], ...] = (
    ("heart_rate_bpm", "GSVT", 1.0),
    ("qt_interval_ms", "AF", 0.9),
    ("qrs_duration_ms", "LBBB", 1.1),
)


@dataclass
class GeneticArchitecture:
    """What the variants do to the traits, and the genetic values accumulated from the dosages.

    Attributes
    ----------
    planted
        (chromosome index, site index) of each entry of :data:`PLANTED_LOCI`.
    loci_effects
        (chromosome index, site index) -> {trait: effect per allele, in trait SDs}.
    background_effects
        (chromosome index, site index) -> effect on every trait (in :data:`PHYSIOLOGY_COLUMNS`
        order), in trait SDs.
    heritability
        trait -> {"planted", "background", "total"} variance shares.
    freq
        Per chromosome, the A1 frequency of every site (the dosages are centred on twice it).
    genetic, background
        trait -> per-participant genetic value of the planted loci / of the background.
    causal_dosage
        (chromosome index, site index) -> the dosages of each planted locus.
    """

    planted: list[tuple[int, int]]
    loci_effects: dict[tuple[int, int], dict[str, float]]
    background_effects: dict[tuple[int, int], np.ndarray]
    heritability: dict[str, dict[str, float]]
    freq: list[np.ndarray]
    genetic: dict[str, np.ndarray]
    background: dict[str, np.ndarray]
    causal_dosage: dict[tuple[int, int], np.ndarray] = field(default_factory=dict)

    def add_block(self, c: int, site0: int, dos: np.ndarray) -> None:
        """Add the genetic values of the sites ``site0 ..`` of chromosome index ``c`` (dosages ``[m, n]``)."""
        traits = list(PHYSIOLOGY_COLUMNS)
        freq = self.freq[c]
        for k in range(len(dos)):
            key = (c, site0 + k)
            if key in self.loci_effects:
                self.causal_dosage[key] = dos[k].copy()
                for t, b in self.loci_effects[key].items():
                    self.genetic[t] += b * (dos[k] - 2 * freq[site0 + k])
            if key in self.background_effects:
                for ti, t in enumerate(traits):
                    self.background[t] += self.background_effects[key][ti] * (dos[k] - 2 * freq[site0 + k])


def plant_architecture(chroms: list[Chromosome], missing_var: list[np.ndarray], *, n: int, seed: int,
                       effect_scale: float) -> GeneticArchitecture:
    """Choose the planted loci (:func:`choose_planted`) with their effects (random sign; size from the
    variance share and the allele frequency) and the polygenic background of ``n`` participants."""
    traits = list(PHYSIOLOGY_COLUMNS)
    rng_bg = stream(seed, 9)
    planted = choose_planted(chroms, missing_var, seed)
    rng_sign = stream(seed, 10)
    loci_effects: dict[tuple[int, int], dict[str, float]] = {}          # (chrom, site) -> {trait: beta_sd}
    for spec, (c, s) in zip(PLANTED_LOCI, planted):
        p = chroms[c].freq[s]
        eff = {}
        for t, q in spec.items():
            eff[t] = float(rng_sign.choice([-1.0, 1.0]) * math.sqrt(effect_scale * q / (2 * p * (1 - p))))
        loci_effects[(c, s)] = eff
    # polygenic background: a pool of complete-call SNPs with small normal effects on every trait
    bg_sites: dict[tuple[int, int], np.ndarray] = {}
    total_sites = sum(len(ch.freq) for ch in chroms)
    flat = rng_bg.choice(total_sites, size=min(BACKGROUND_SNPS, total_sites // 4), replace=False)
    offsets = np.cumsum([0] + [len(ch.freq) for ch in chroms])
    bg_list = []
    for f in flat:
        c = int(np.searchsorted(offsets, f, side="right") - 1)
        s = int(f - offsets[c])
        if (c, s) in loci_effects or missing_var[c][s]:
            continue
        bg_list.append((c, s))
    if bg_list:
        p = np.array([chroms[c].freq[s] for c, s in bg_list])
        raw = rng_bg.standard_normal((len(bg_list), len(traits)))
        var = (2 * p * (1 - p))[:, None] * raw ** 2
        raw *= np.sqrt(BACKGROUND_H2 / var.sum(0))[None, :]
        for k, key in enumerate(bg_list):
            bg_sites[key] = raw[k]

    h2 = {t: {"planted": float(sum(effect_scale * loc.get(t, 0.0) for loc in PLANTED_LOCI)),
              "background": BACKGROUND_H2} for t in traits}
    for t in traits:
        h2[t]["total"] = h2[t]["planted"] + h2[t]["background"]

    return GeneticArchitecture(planted=planted, loci_effects=loci_effects, background_effects=bg_sites,
                               heritability=h2, freq=[ch.freq for ch in chroms],
                               genetic={t: np.zeros(n) for t in traits},
                               background={t: np.zeros(n) for t in traits})


def choose_planted(chroms: list[Chromosome], missing: list[np.ndarray], seed: int) -> list[tuple[int, int]]:
    """(chromosome index, site index) for each entry of PLANTED_LOCI: MAF >= 5 %, complete calls,
    > 1 Mb from every other planted locus, spread over chromosomes."""
    rng = stream(seed, 3)
    chosen: list[tuple[int, int]] = []
    order = rng.permutation(len(PLANTED_LOCI))
    for j, _ in enumerate(order):
        placed = False
        for c in np.roll(np.arange(len(chroms)), -j):
            ch = chroms[c]
            maf = np.minimum(ch.freq, 1 - ch.freq)
            ok = (maf >= CAUSAL_MIN_MAF) & ~missing[c]
            for cc, ss in chosen:
                if cc == c:
                    ok &= np.abs(ch.positions - ch.positions[ss]) > CAUSAL_MIN_SPACING_BP
            cand = np.flatnonzero(ok)
            if len(cand):
                chosen.append((int(c), int(rng.choice(cand))))
                placed = True
                break
        if not placed:
            raise InputError("cannot place all planted loci > 1 Mb apart with MAF >= 5 %: "
                             "use more --chromosomes or --variants-per-chromosome")
    result: list[tuple[int, int]] = [None] * len(PLANTED_LOCI)  # type: ignore[list-item]
    for j, idx in enumerate(order):
        result[idx] = chosen[j]
    return result


# --------------------------------------------------------------------------- phenotypes

def covariates(n: int, seed: int, confounder: np.ndarray, ped: Pedigree, iids: list[str]) -> pd.DataFrame:
    """``covariates.tsv``: age (siblings within a few years of each other, parents of trios 20-35 years
    older than their child), sex (fathers male, mothers female), centre, genotyping batch, height and BMI (a noisy proxy of the latent ``confounder``)."""
    rng = stream(seed, 4)
    age = rng.integers(40, 80, n)
    sex = rng.integers(0, 2, n)
    # siblings: ages within a few years of the family's first child
    first = np.concatenate([[True], np.diff(ped.child_family) != 0]) if ped.n_children else np.zeros(0, bool)
    a = ped.child_slot[np.flatnonzero(first)[ped.child_family[~first]]]
    b = ped.child_slot[~first]
    age[b] = np.clip(age[a] + rng.integers(-6, 7, len(a)), 40, 79)
    par = ped.parent_slot
    if (par >= 0).any():   # trios: the child 40-55, the parents 20-35 years older (at most 79); father male
        prng = stream(seed, 13)
        for f in np.flatnonzero((par >= 0).all(1)):
            kids = ped.child_slot[ped.child_family == f]
            age[kids] = prng.integers(40, 56, len(kids))
            age[par[f]] = np.minimum(age[kids].max() + prng.integers(20, 36, 2), 79)
            sex[par[f]] = (1, 0)
    centre = rng.integers(0, len(CENTRES), n)
    batch = rng.integers(1, 7, n)
    height = np.where(sex == 1, 176.0, 163.0) + rng.normal(0, 7, n)
    bmi = 27.0 + 2.5 * confounder + rng.normal(0, 2.5, n)
    return pd.DataFrame({
        "IID": iids, "age": age, "sex": sex, "centre": np.array(CENTRES)[centre],
        "genotyping_batch": batch, "height_cm": np.round(height, 1), "bmi": np.round(np.clip(bmi, 15, 60), 1),
    })


def physiology(cov: pd.DataFrame, genetic: dict[str, np.ndarray], background: dict[str, np.ndarray],
               h2: dict[str, dict[str, float]], confounder: np.ndarray, seed: int) -> pd.DataFrame:
    """``physiology.tsv``: every trait of :data:`PHYSIOLOGY_COLUMNS` from covariates, genetic values and a
    correlated environment (see the module docstring), clipped to the trait's range."""
    rng = stream(seed, 5)
    n = len(cov)
    traits = list(PHYSIOLOGY_COLUMNS)
    corr = np.eye(len(traits))
    for (t1, t2), r in ENV_CORRELATIONS.items():
        i, j = traits.index(t1), traits.index(t2)
        corr[i, j] = corr[j, i] = r
    z = rng.standard_normal((n, len(traits))) @ np.linalg.cholesky(corr).T
    age = cov["age"].to_numpy(float) - 55.0
    male = cov["sex"].to_numpy(float)
    centre = cov["centre"].map({c: i for i, c in enumerate(CENTRES)}).to_numpy()
    out = {"IID": cov["IID"].to_numpy()}
    for k, t in enumerate(traits):
        spec = TRAIT_SPECS[t]
        load = CONFOUNDER_LOADING.get(t, 0.0)
        env = load * confounder + math.sqrt(1 - load ** 2) * z[:, k]
        e_sd = math.sqrt(max(1.0 - h2[t]["total"], 0.0))
        y = (spec.mean + COVARIATE_EFFECTS[t]["age"] * age + COVARIATE_EFFECTS[t]["male"] * male
             + spec.sd * (genetic[t] + background[t] + e_sd * env))
        if t == "r_amplitude_mv":
            y = y + np.asarray(CENTRE_R_OFFSET)[centre]
        out[t] = np.clip(y, spec.lo, spec.hi)
    df = pd.DataFrame(out)
    return pd.concat([df[["IID"]], finalize_physiology(df[traits])], axis=1)


def solve_intercept(lin: np.ndarray, prevalence: float) -> float:
    """The logistic intercept ``a`` with mean ``P(lin + a)`` equal to ``prevalence`` (bisection)."""
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(lin + mid)))).mean() > prevalence:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def outcomes(cov: pd.DataFrame, phys: pd.DataFrame, confounder: np.ndarray, seed: int
              ) -> tuple[pd.DataFrame, list[dict], dict[str, float]]:
    """``outcomes.tsv`` of every disease in :data:`OUTCOMES`, with truth.json's ``causal`` entries and the
    realised prevalences."""
    rng = stream(seed, 6)
    age10 = (cov["age"].to_numpy(float) - 55.0) / 10.0
    male = cov["sex"].to_numpy(float)
    out = {"IID": cov["IID"].to_numpy()}
    causal = []
    prevalence = {}
    for name, spec in OUTCOMES.items():
        lin = spec.age_per_decade * age10 + spec.male * male + spec.confounder * confounder
        effects = [(t, g) for t, o, g in CAUSAL_EFFECTS if o == name]
        for t, g in effects:
            s = TRAIT_SPECS[t]
            lin = lin + g * (phys[t].to_numpy(float) - s.mean) / s.sd
        a = solve_intercept(lin, spec.prevalence)
        p = 1 / (1 + np.exp(-(lin + a)))
        y = (rng.random(len(p)) < p).astype(np.int8)
        out[name] = y
        prevalence[name] = float(y.mean())
        for t, g in effects:
            sd = TRAIT_SPECS[t].sd
            causal.append({"exposure": t, "outcome": name, "effect": g, "scale": "log_odds_per_sd",
                           "exposure_sd": sd, "effect_per_unit": g / sd,
                           "risk_difference_per_unit": float((p * (1 - p)).mean() * g / sd),
                           "intercept": a})
    return pd.DataFrame(out), causal, prevalence


