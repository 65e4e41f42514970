"""A simulated biobank cohort with planted truth: the embedded default every stage is tested on.

Pipeline (all deterministic by ``seed``, streaming so memory does not grow with ``n`` beyond a few
per-participant vectors):

1. **Genotypes** — per chromosome, a coalescent with recombination (msprime: Hudson model,
   N_e = 10 000, 1e-8 recombination/bp/generation, HKY mutations with transition/transversion
   ratio 4, so ~1/6 of SNPs are strand-ambiguous A/T or C/G) over a region of a GRCh38 chromosome;
   biallelic SNPs with MAF >= 1 % are kept and ``variants_per_chromosome`` of them sampled.
   A few percent of participants are full-sibling pairs (or, with ``families=K``, K nuclear families
   of 2-4 children): their genomes are made from two extra simulated parents (not participants) by
   Mendelian transmission (mean 2.5 crossovers per chromosome per meiosis).
   About 3 % of variants get missing calls (call rate 95–99.9 % there, complete elsewhere).
   Genotypes stream block by block into PLINK 1 ``genotypes.bed/.bim/.fam`` (SNP-major).
2. **Physiology** — each trait = population mean + age, sex and centre effects + trait SD ×
   (planted causal SNPs + polygenic background + environment). Planted loci: several per trait,
   some shared by two traits (pleiotropy), MAF >= 5 %, complete calls, > 1 Mb apart; each explains a
   fixed share of the trait variance (``PLANTED_LOCI``, scaled by ``effect_scale``). Environmental
   parts are correlated between traits (QT with heart rate, ...); an unobserved confounder raises
   R amplitude and hypertrophy risk (BMI is its noisy observed proxy).
3. **ECGs** — one 12-lead record per participant from :func:`edfgen.simulate.ecg.synthesize_ecg`
   with that participant's physiology, written as WFDB (``ecg/<IID>.hea/.dat``, 16-bit, 1 µV).
4. **Outcomes** — 8 binary diseases from logistic models with age/sex effects; some are caused
   by a physiology trait (``CAUSAL_EFFECTS``), HYP shares the confounder with R amplitude, the rest
   are null; intercepts solved for the target prevalences.
5. **truth.json** — everything planted (loci with betas, causal effects, heritabilities, families
   and related pairs), which later stages are scored against. ``manifest.json`` is written last.

References
----------
Kelleher J, Etheridge AM, McVean G. Efficient coalescent simulation and genealogical analysis for
large sample sizes. PLoS Comput Biol 2016;12:e1004842. doi:10.1371/journal.pcbi.1004842.
Baumdicker F et al. Efficient ancestry and mutation simulation with msprime 1.0. Genetics
2022;220:iyab229. doi:10.1093/genetics/iyab229.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from edfgen.kernels.ecg import LEADS, SAMPLING_RATE
from edfgen.simulate.ecg import (PHYSIOLOGY_COLUMNS, TRAIT_SPECS, BeatParams, finalize_physiology,
                                 participant_rng, synthesize_ecg)
from edfgen.exceptions import InputError
from edfgen.formats.tables import prepare_out_dir, write_table
from edfgen.progress import progress

logger = logging.getLogger(__name__)

__all__ = [
    "OUTCOMES", "CAUSAL_EFFECTS", "PLANTED_LOCI", "CohortResult", "simulate_cohort", "load_truth",
    "planted_loci", "read_dosages", "write_wfdb_record", "BED_MAGIC", "GRCH38_LENGTHS",
]

BED_MAGIC = bytes([0x6C, 0x1B, 0x01])
OUTPUT_FILES = ("genotypes.bed", "genotypes.bim", "genotypes.fam", "physiology.tsv", "covariates.tsv",
                "outcomes.tsv", "truth.json", "ecg")

#: GRCh38 chromosome lengths (bp), chromosomes 1-22.
GRCH38_LENGTHS = (248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973,
                  145138636, 138394717, 133797422, 135086622, 133275309, 114364328, 107043718,
                  101991189, 90338345, 83257441, 80373285, 58617616, 64444167, 46709983, 50818468)

NE = 10_000                 # effective population size
RECOMBINATION_RATE = 1e-8   # per bp per generation (coalescent LD)
MIN_MAF = 0.01              # variants kept on the "array"
CAUSAL_MIN_MAF = 0.05
CAUSAL_MIN_SPACING_BP = 1_000_000
CROSSOVERS_PER_MEIOSIS = 2.5  # per simulated chromosome (each stands for a large one), sibling transmission
MISSING_VARIANT_FRACTION = 0.03
CALL_RATE_RANGE = (0.95, 0.999)
SIBLING_FRACTION = 0.03     # share of participants in full-sibling pairs (without ``families``)
CHILDREN_PER_FAMILY = (2, 4)  # with ``families=K``: children per nuclear family, uniform in this range
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


@dataclass(frozen=True)
class CohortResult:
    """What :func:`simulate_cohort` wrote.

    Attributes
    ----------
    out_dir
        The cohort directory.
    bfile
        PLINK prefix (``out_dir / "genotypes"``).
    physiology, covariates, outcomes, truth_json, manifest
        File paths.
    ecg_dir
        Directory of WFDB records (``None`` when ECGs were not written).
    n, n_variants, n_related_pairs, n_families
        Sizes (``n_families``: sibling sets made from simulated parents, pairs included).
    truth
        The planted truth (the content of ``truth.json``).
    """

    out_dir: Path
    bfile: Path
    physiology: Path
    covariates: Path
    outcomes: Path
    truth_json: Path
    manifest: Path
    ecg_dir: Path | None
    n: int
    n_variants: int
    n_related_pairs: int
    truth: dict = field(repr=False, compare=False)
    n_families: int = 0

    def summary(self) -> str:
        h2 = ", ".join(f"{t} {v['total']:.2f}" for t, v in self.truth["heritability"].items())
        causal = ", ".join(f"{c['exposure']}->{c['outcome']}" for c in self.truth["causal"])
        return (f"{self.out_dir}: {self.n} participants ({self.n_families} sibling sets, "
                f"{self.n_related_pairs} sibling pairs), "
                f"{self.n_variants} variants on {len(self.truth['chromosomes'])} chromosomes, "
                f"{len(self.truth['loci'])} planted trait-locus effects; heritability: {h2}; "
                f"causal: {causal}")


def _rng(seed: int, tag: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EED, int(tag)]))


def _msprime_seed(seed: int, tag: int) -> int:
    return int(np.random.SeedSequence([int(seed), 0x3A5, int(tag)]).generate_state(1)[0] % (2**31 - 2)) + 1


# --------------------------------------------------------------------------- validation

def _validate(n: int, chromosomes: int, variants_per_chromosome: int, effect_scale: float,
              families: int | None = None) -> None:
    if int(n) != n or n < 10:
        raise InputError(f"--n {n}: need at least 10 participants")
    if families is not None:
        if int(families) != families or families < 0:
            raise InputError(f"--families {families}: must be an integer >= 0")
        if CHILDREN_PER_FAMILY[1] * families > n:
            raise InputError(f"--families {families}: up to {CHILDREN_PER_FAMILY[1] * families} children "
                             f"({CHILDREN_PER_FAMILY[1]} per family) do not fit in --n {n} participants")
    if not 1 <= chromosomes <= 22:
        raise InputError(f"--chromosomes {chromosomes}: must be between 1 and 22")
    if variants_per_chromosome < 50:
        raise InputError(f"--variants-per-chromosome {variants_per_chromosome}: need at least 50")
    if not effect_scale > 0:
        raise InputError(f"effect_scale={effect_scale}: must be > 0")
    for trait in PHYSIOLOGY_COLUMNS:
        h2 = effect_scale * sum(loc.get(trait, 0.0) for loc in PLANTED_LOCI) + BACKGROUND_H2
        if h2 >= 0.9:
            raise InputError(f"effect_scale={effect_scale}: heritability of {trait} would be {h2:.2f} (>= 0.9)")


def _region_length(chromosomes: int) -> int:
    """Simulated region per chromosome: 15 Mb, longer when few chromosomes must hold all planted
    loci > 1 Mb apart (45 Mb in all)."""
    return int(max(15e6, 45e6 / chromosomes))


# --------------------------------------------------------------------------- genotypes

@dataclass
class _Chromosome:
    number: int
    ts: Any                      # tskit.TreeSequence restricted to the kept sites
    positions: np.ndarray        # int64 GRCh38-like positions of kept sites
    a1: np.ndarray               # derived allele (counted in the .bed dosage)
    a2: np.ndarray               # ancestral allele
    freq: np.ndarray             # derived-allele frequency in the simulated sample
    start: int
    length: int


def _simulate_chromosome(number: int, n_individuals: int, n_variants: int, seed: int, region_bp: int) -> _Chromosome:
    import msprime

    length = min(region_bp, GRCH38_LENGTHS[number - 1] - 10_000_000)
    rng = _rng(seed, 100 + number)
    start = int(rng.integers(5_000_000, max(5_000_001, GRCH38_LENGTHS[number - 1] - length - 5_000_000)))
    ts = msprime.sim_ancestry(samples=n_individuals, population_size=NE, sequence_length=length,
                              recombination_rate=RECOMBINATION_RATE, random_seed=_msprime_seed(seed, number))
    # expected sites with derived frequency in [1 %, 99 %]: 4 N_e mu L ln(99)
    mu = 1.6 * n_variants / (4 * NE * length * math.log(99))
    model = msprime.HKY(kappa=4.0, equilibrium_frequencies=[0.3, 0.2, 0.2, 0.3])
    for attempt in range(6):
        mts = msprime.sim_mutations(ts, rate=mu, model=model, random_seed=_msprime_seed(seed, 1000 * attempt + number))
        ids, freq = _common_biallelic_sites(mts, 2 * n_individuals)
        if len(ids) >= n_variants:
            break
        mu *= 1.6 * n_variants / max(len(ids), 1)
    else:  # pragma: no cover - only for absurd variant counts
        raise InputError(f"--variants-per-chromosome {n_variants}: chromosome {number} yields only {len(ids)} "
                         f"common SNPs; ask for fewer")
    pick = np.sort(rng.choice(len(ids), size=n_variants, replace=False))
    keep_ids, freq = ids[pick], freq[pick]
    drop = np.setdiff1d(np.arange(mts.num_sites), keep_ids)
    kts = mts.delete_sites(drop)
    pos = kts.tables.sites.position.astype(np.int64) + start
    a2 = np.array([s.ancestral_state for s in kts.sites()])
    a1 = np.array([s.mutations[0].derived_state for s in kts.sites()])
    return _Chromosome(number, kts, pos, a1, a2, freq, start, length)


def _common_biallelic_sites(ts, n_haplotypes: int) -> tuple[np.ndarray, np.ndarray]:
    """Site ids with one mutation, ACGT states and derived frequency in [MIN_MAF, 1 - MIN_MAF]."""
    ids, counts = [], []
    for tree in ts.trees():
        for site in tree.sites():
            # one mutation that changes the state (HKY can draw silent ones)
            if len(site.mutations) == 1 and site.mutations[0].derived_state != site.ancestral_state:
                ids.append(site.id)
                counts.append(tree.num_samples(site.mutations[0].node))
    ids = np.asarray(ids, dtype=np.int64)
    freq = np.asarray(counts, dtype=float) / n_haplotypes
    ok = (freq >= MIN_MAF) & (freq <= 1 - MIN_MAF)
    pos = ts.tables.sites.position[ids]
    ok &= np.concatenate([[True], np.diff(pos) >= 1])     # discrete genome: one SNP per bp
    return ids[ok], freq[ok]


@dataclass
class _Pedigree:
    """Who is who: participant slots filled by unrelated founders or by the children of simulated
    parents (two extra msprime individuals per family, not participants themselves)."""

    n: int
    founder_ind: np.ndarray      # msprime individual of each unrelated participant
    founder_slot: np.ndarray     # their output positions
    parent_ind: np.ndarray       # [n_families, 2] msprime individuals (father, mother)
    child_slot: np.ndarray       # [n_children] output positions, grouped by family
    child_family: np.ndarray     # [n_children] family index of each child

    @property
    def n_families(self) -> int:
        return len(self.parent_ind)

    @property
    def n_children(self) -> int:
        return len(self.child_slot)

    def family_slots(self) -> list[np.ndarray]:
        """Output positions of each family's children."""
        return np.split(self.child_slot, np.flatnonzero(np.diff(self.child_family)) + 1) if self.n_children else []


def _pedigree(n: int, seed: int, families: int | None = None) -> _Pedigree:
    """Sibling pairs (``SIBLING_FRACTION`` of ``n``) or, with ``families=K``, K families of 2-4 children."""
    rng = _rng(seed, 2)
    if families is None:
        sizes = np.full(max(1, int(round(SIBLING_FRACTION * n / 2))), 2)
    else:
        sizes = _rng(seed, 12).integers(CHILDREN_PER_FAMILY[0], CHILDREN_PER_FAMILY[1] + 1, int(families))
    n_children = int(sizes.sum())
    n_founders = n - n_children
    slots = rng.permutation(n)
    return _Pedigree(n=n, founder_ind=np.arange(n_founders), founder_slot=slots[:n_founders],
                     parent_ind=(n_founders + np.arange(2 * len(sizes))).reshape(len(sizes), 2),
                     child_slot=slots[n_founders:], child_family=np.repeat(np.arange(len(sizes)), sizes))


def _meioses(ped: _Pedigree, chrom: _Chromosome, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transmission for every child's gamete: parent individual, starting haplotype, crossover positions.

    Gametes are ordered [child, parent]; crossovers ~ Poisson(CROSSOVERS_PER_MEIOSIS) placed
    uniformly over the region (padded with +inf).
    """
    rng = _rng(seed, 300 + chrom.number)
    parent = ped.parent_ind[ped.child_family].reshape(-1)                          # [child, parent]
    g = len(parent)
    k = rng.poisson(CROSSOVERS_PER_MEIOSIS, g)
    kmax = max(1, int(k.max()) if g else 1)
    cx = np.sort(rng.uniform(chrom.start, chrom.start + chrom.length, (g, kmax)), axis=1)
    cx[np.arange(kmax)[None, :] >= k[:, None]] = np.inf
    cx = np.sort(cx, axis=1)
    first = rng.integers(0, 2, g)
    return parent, first, cx


def _encode_bed(dosage: np.ndarray, missing: np.ndarray | None) -> bytes:
    """PLINK 1 SNP-major bytes for ``dosage`` ``[m, n]`` (count of A1; 2->00, 1->10, 0->11, missing->01)."""
    code = np.array([3, 2, 0], dtype=np.uint8)[dosage]
    if missing is not None:
        code[missing] = 1
    m, n = code.shape
    pad = (-n) % 4
    if pad:
        code = np.concatenate([code, np.zeros((m, pad), dtype=np.uint8)], axis=1)
    c = code.reshape(m, -1, 4)
    packed = c[..., 0] | (c[..., 1] << 2) | (c[..., 2] << 4) | (c[..., 3] << 6)
    return packed.astype(np.uint8).tobytes()


def _choose_planted(chroms: list[_Chromosome], missing: list[np.ndarray], seed: int) -> list[tuple[int, int]]:
    """(chromosome index, site index) for each entry of PLANTED_LOCI: MAF >= 5 %, complete calls,
    > 1 Mb from every other planted locus, spread over chromosomes."""
    rng = _rng(seed, 3)
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

def _covariates(n: int, seed: int, confounder: np.ndarray, ped: _Pedigree, iids: list[str]) -> pd.DataFrame:
    rng = _rng(seed, 4)
    age = rng.integers(40, 80, n)
    sex = rng.integers(0, 2, n)
    # siblings: ages within a few years of the family's first child
    first = np.concatenate([[True], np.diff(ped.child_family) != 0]) if ped.n_children else np.zeros(0, bool)
    a = ped.child_slot[np.flatnonzero(first)[ped.child_family[~first]]]
    b = ped.child_slot[~first]
    age[b] = np.clip(age[a] + rng.integers(-6, 7, len(a)), 40, 79)
    centre = rng.integers(0, len(CENTRES), n)
    batch = rng.integers(1, 7, n)
    height = np.where(sex == 1, 176.0, 163.0) + rng.normal(0, 7, n)
    bmi = 27.0 + 2.5 * confounder + rng.normal(0, 2.5, n)
    return pd.DataFrame({
        "IID": iids, "age": age, "sex": sex, "centre": np.array(CENTRES)[centre],
        "genotyping_batch": batch, "height_cm": np.round(height, 1), "bmi": np.round(np.clip(bmi, 15, 60), 1),
    })


def _physiology(cov: pd.DataFrame, genetic: dict[str, np.ndarray], background: dict[str, np.ndarray],
                h2: dict[str, dict[str, float]], confounder: np.ndarray, seed: int) -> pd.DataFrame:
    rng = _rng(seed, 5)
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


def _solve_intercept(lin: np.ndarray, prevalence: float) -> float:
    lo, hi = -20.0, 20.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if (1 / (1 + np.exp(-(lin + mid)))).mean() > prevalence:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def _outcomes(cov: pd.DataFrame, phys: pd.DataFrame, confounder: np.ndarray, seed: int
              ) -> tuple[pd.DataFrame, list[dict], dict[str, float]]:
    rng = _rng(seed, 6)
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
        a = _solve_intercept(lin, spec.prevalence)
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


# --------------------------------------------------------------------------- main entry point

def simulate_cohort(out_dir: str | os.PathLike, *, n: int = 3000, seed: int = 0, chromosomes: int = 3,
                    variants_per_chromosome: int = 10_000, force: bool = False, effect_scale: float = 1.0,
                    ecg: bool = True, fs: int = SAMPLING_RATE, duration_s: float = 10.0,
                    families: int | None = None) -> CohortResult:
    """Simulate a cohort with planted truth and write it to ``out_dir``.

    Parameters
    ----------
    out_dir
        Output directory; must be absent or empty unless ``force``.
    n
        Participants (>= 10).
    seed
        Everything is deterministic by seed (identical files for identical arguments).
    chromosomes
        Number of chromosomes (1..22), numbered from 1, positions on GRCh38 coordinates.
    variants_per_chromosome
        SNPs kept per chromosome (MAF >= 1 %).
    force
        Overwrite the edfgen outputs in an existing non-empty ``out_dir``.
    effect_scale
        Multiplies every planted locus's variance share (``PLANTED_LOCI``); 1 gives genome-wide
        significant loci at n = 3000, 2 at n = 1000.
    ecg
        Write the WFDB ECGs (``False`` skips the slowest part when only genetics is needed).
    fs, duration_s
        ECG sampling rate and length.
    families
        ``None`` (default): about ``SIBLING_FRACTION`` of participants are full-sibling pairs. ``K``:
        K nuclear families, each 2-4 children (uniform) of two simulated parents who are not
        participants; ``genotypes.fam`` then carries FID (``FAM00001``...) and PAT/MAT
        (``FAM00001_father``/``_mother``), and truth.json lists the families. ``0``: no relatives.

    Returns
    -------
    CohortResult

    Raises
    ------
    InputError
        Bad arguments (checked before anything is written) or an unusable ``out_dir``.
    """
    _validate(n, chromosomes, variants_per_chromosome, effect_scale, families)
    out_dir = prepare_out_dir(out_dir, force=force, command="edfgen simulate")
    from edfgen.formats.tables import temp_name
    from edfgen.formats.manifest import recording

    params = {"n": n, "seed": seed, "chromosomes": chromosomes, "variants_per_chromosome": variants_per_chromosome,
              "effect_scale": effect_scale, "ecg": ecg, "fs": fs, "duration_s": duration_s, "families": families}
    created = not out_dir.exists()
    stage = None
    try:
        # simulate into a temporary folder, then replace only the outputs the earlier run's manifest
        # lists (recording): a folder's other content (a user's ecg/ beside a --no-ecg cohort) is kept
        out_dir.mkdir(parents=True, exist_ok=True)
        stage = temp_name(out_dir / "simulate", suffix="")
        stage.mkdir()
        truth = _simulate_into(stage, n=n, seed=seed, chromosomes=chromosomes,
                               variants_per_chromosome=variants_per_chromosome, effect_scale=effect_scale,
                               ecg=ecg, fs=fs, duration_s=duration_s, families=families)
        written = [name for name in OUTPUT_FILES if (stage / name).exists()]
        with recording(out_dir, "edfgen simulate", parameters=params, seed=seed, planned=written) as manifest:
            for name in written:                            # outputs replaced only once all are ready
                os.replace(stage / name, out_dir / name)
            shutil.rmtree(stage)
            stage = None
            manifest.outputs = written
            manifest.extra = {"n_variants": truth["n_variants"], "n_related_pairs": len(truth["related_pairs"]),
                              "n_families": len(truth["families"])}
    except BaseException:
        if stage is not None:
            shutil.rmtree(stage, ignore_errors=True)
        if created and out_dir.exists() and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise
    result = CohortResult(
        out_dir=out_dir, bfile=out_dir / "genotypes", physiology=out_dir / "physiology.tsv",
        covariates=out_dir / "covariates.tsv", outcomes=out_dir / "outcomes.tsv", truth_json=out_dir / "truth.json",
        manifest=out_dir / "manifest.json", ecg_dir=(out_dir / "ecg") if ecg else None, n=n,
        n_variants=truth["n_variants"], n_related_pairs=len(truth["related_pairs"]), truth=truth,
        n_families=len(truth["families"]))
    logger.info("%s", result.summary())
    return result


def _simulate_into(stage: Path, *, n: int, seed: int, chromosomes: int, variants_per_chromosome: int,
                   effect_scale: float, ecg: bool, fs: int, duration_s: float, families: int | None = None) -> dict:
    iids = [f"P{i + 1:06d}" for i in range(n)]
    ped = _pedigree(n, seed, families)
    traits = list(PHYSIOLOGY_COLUMNS)
    genetic = {t: np.zeros(n) for t in traits}
    background = {t: np.zeros(n) for t in traits}
    rng_ids = _rng(seed, 7)
    rng_missing = _rng(seed, 8)
    rng_bg = _rng(seed, 9)

    # 1. simulate every chromosome's genealogy and choose its sites (kept in memory: tree sequences
    #    are compact); then plant loci; then stream genotypes chromosome by chromosome.
    chroms: list[_Chromosome] = []
    for c in progress(range(1, chromosomes + 1), total=chromosomes, desc="coalescent", unit="chr"):
        logger.info("chromosome %d: coalescent simulation of %d genomes", c, n)
        chroms.append(_simulate_chromosome(c, n, variants_per_chromosome, seed, _region_length(chromosomes)))
    missing_var = [rng_missing.random(variants_per_chromosome) < MISSING_VARIANT_FRACTION for _ in chroms]
    planted = _choose_planted(chroms, missing_var, seed)
    rng_sign = _rng(seed, 10)
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

    # 2. stream genotypes -> .bed/.bim; accumulate the genetic values of planted and background SNPs
    n_var = sum(len(ch.freq) for ch in chroms)
    block = int(max(16, min(2048, 2e7 // (2 * n))))
    causal_dosage: dict[tuple[int, int], np.ndarray] = {}
    bim_frames = []
    used_ids: set[int] = set()
    with open(stage / "genotypes.bed", "wb") as bed:
        bed.write(BED_MAGIC)
        bar = progress(total=n_var, desc="genotypes", unit="SNP")
        for c, ch in enumerate(chroms):
            parent, first, cx = _meioses(ped, ch, seed)
            call_rate = np.where(missing_var[c], rng_missing.uniform(*CALL_RATE_RANGE, len(ch.freq)), 1.0)
            hap = np.empty((block, 2 * n), dtype=np.int8)
            fill = 0
            site0 = 0

            def flush(m: int, site0: int) -> None:
                h = hap[:m]
                pos = ch.positions[site0:site0 + m]
                dos = np.empty((m, n), dtype=np.int8)
                dos[:, ped.founder_slot] = h[:, 2 * ped.founder_ind] + h[:, 2 * ped.founder_ind + 1]
                if len(parent):
                    crossed = (pos[:, None, None] > cx[None, :, :]).sum(-1)                # [m, gametes]
                    which = (first[None, :] + crossed) % 2
                    allele = h[np.arange(m)[:, None], 2 * parent[None, :] + which]        # [m, gametes]
                    dos[:, ped.child_slot] = allele.reshape(m, ped.n_children, 2).sum(-1)   # [m, child]
                miss = None
                cr = call_rate[site0:site0 + m]
                rows = np.flatnonzero(cr < 1)
                if len(rows):   # exactly round((1 - call rate) * n) >= 1 missing calls per such variant
                    k = np.maximum(1, np.round((1 - cr[rows]) * n)).astype(int)
                    ranks = rng_missing.random((len(rows), n)).argsort(axis=1).argsort(axis=1)
                    miss = np.zeros((m, n), dtype=bool)
                    miss[rows] = ranks < k[:, None]
                bed.write(_encode_bed(dos, miss))
                for k in range(m):
                    key = (c, site0 + k)
                    if key in loci_effects:
                        causal_dosage[key] = dos[k].copy()
                        for t, b in loci_effects[key].items():
                            genetic[t] += b * (dos[k] - 2 * ch.freq[site0 + k])
                    if key in bg_sites:
                        for ti, t in enumerate(traits):
                            background[t] += bg_sites[key][ti] * (dos[k] - 2 * ch.freq[site0 + k])
                bar.update(m)

            for var in ch.ts.variants():
                hap[fill] = var.genotypes
                fill += 1
                if fill == block:
                    flush(fill, site0)
                    site0 += fill
                    fill = 0
            if fill:
                flush(fill, site0)
            ids = _rsids(rng_ids, len(ch.freq), used_ids)
            bim_frames.append(pd.DataFrame({"chr": ch.number, "id": ids, "cm": 0, "pos": ch.positions,
                                            "a1": ch.a1, "a2": ch.a2}))
            ch.ts = None                                   # free the genealogy
        bar.close()
    bim = pd.concat(bim_frames, ignore_index=True)
    bim.to_csv(stage / "genotypes.bim", sep="\t", header=False, index=False)

    # 3. participants
    confounder = _rng(seed, 11).standard_normal(n)
    cov = _covariates(n, seed, confounder, ped, iids)
    fam = pd.DataFrame({"fid": iids, "iid": iids, "pat": "0", "mat": "0", "sex": np.where(cov["sex"] == 1, 1, 2),
                        "pheno": -9})
    if families is not None:     # --families: FID = family, PAT/MAT = the (unsampled) simulated parents
        for f, kids in enumerate(ped.family_slots()):
            fid = f"FAM{f + 1:05d}"
            fam.loc[kids, ["fid", "pat", "mat"]] = [fid, f"{fid}_father", f"{fid}_mother"]
    fam.to_csv(stage / "genotypes.fam", sep="\t", header=False, index=False)
    phys = _physiology(cov, genetic, background, h2, confounder, seed)
    outcomes, causal, prevalence = _outcomes(cov, phys, confounder, seed)
    write_table(phys, stage / "physiology.tsv")
    write_table(cov, stage / "covariates.tsv")
    write_table(outcomes, stage / "outcomes.tsv")

    # 4. truth
    offsets_bim = np.cumsum([0] + [len(ch.freq) for ch in chroms])
    loci = []
    for (c, s), eff in loci_effects.items():
        row = bim.iloc[offsets_bim[c] + s]
        d = causal_dosage[(c, s)]
        eaf = float(d.mean() / 2)
        for t, b in eff.items():
            loci.append({
                "variant_id": row["id"], "chromosome": str(int(row["chr"])), "base_pair_location": int(row["pos"]),
                "trait": t, "beta": b * TRAIT_SPECS[t].sd, "beta_sd": b, "effect_allele": row["a1"],
                "other_allele": row["a2"], "effect_allele_frequency": eaf, "maf": min(eaf, 1 - eaf),
                "variance_explained": effect_scale * dict(PLANTED_LOCI[planted.index((c, s))])[t],
                "pleiotropic": len(eff) > 1,
            })
    loci.sort(key=lambda r: (int(r["chromosome"]), r["base_pair_location"], r["trait"]))
    fam_slots = ped.family_slots()
    pairs = [[iids[a], iids[b]] for kids in fam_slots for i, a in enumerate(kids) for b in kids[i + 1:]]
    family_ids = [f"FAM{f + 1:05d}" for f in range(ped.n_families)]
    families_json = [{"family_id": fid, "father": f"{fid}_father", "mother": f"{fid}_mother",
                      "children": [iids[c] for c in kids]} for fid, kids in zip(family_ids, fam_slots)]
    caused = {c["outcome"] for c in causal}
    truth = {
        "seed": seed, "n": n, "n_variants": int(n_var), "effect_scale": effect_scale,
        "chromosomes": [{"chromosome": str(ch.number), "start": ch.start, "end": ch.start + ch.length,
                         "n_variants": int(len(ch.freq))} for ch in chroms],
        "loci": loci,
        "causal": causal,
        "null_outcomes": [o for o in OUTCOMES if o not in caused],
        "confounded": [{"trait": t, "outcome": o, "confounder": "latent U (bmi is a noisy proxy)",
                        "trait_loading": CONFOUNDER_LOADING[t], "outcome_log_odds_per_sd": s.confounder}
                       for o, s in OUTCOMES.items() if s.confounder for t in CONFOUNDER_LOADING],
        "heritability": h2,
        "covariate_effects": COVARIATE_EFFECTS,
        "prevalence": prevalence,
        "families": families_json,
        "families_in_fam": families is not None,
        "related_pairs": pairs,
        "relationship": "full_sibling",
        "missing_call_variants": [str(v) for v in bim["id"].to_numpy()[np.concatenate(missing_var)]],
        "trait_units": {t: TRAIT_SPECS[t].units for t in traits},
        "trait_sd": {t: TRAIT_SPECS[t].sd for t in traits},
    }
    with open(stage / "truth.json", "w") as fh:
        json.dump(truth, fh, indent=1)
        fh.write("\n")

    # 5. ECGs
    if ecg:
        _write_ecgs(stage / "ecg", phys, seed=seed, fs=fs, duration_s=duration_s)
    return truth


def _rsids(rng: np.random.Generator, m: int, used: set[int]) -> list[str]:
    out = []
    while len(out) < m:
        for v in rng.integers(1_000, 999_999_999, 2 * (m - len(out)) + 8):
            v = int(v)
            if v not in used:
                used.add(v)
                out.append(f"rs{v}")
                if len(out) == m:
                    break
    return out


ADC_GAIN = 1000.0   # digital units per mV: 1 uV resolution, +-32.767 mV range


def write_wfdb_record(directory: Path, name: str, ecg: np.ndarray, fs: float, *,
                      comments: tuple[str, ...] = ()) -> None:
    """Write a 12-lead record ``[12, T]`` (mV) as WFDB format 16 (``name.hea`` + ``name.dat``).

    A direct writer of the PhysioNet format (``wfdb.wrsamp`` spends ~20 ms per record in header
    bookkeeping); tests read the records back with ``wfdb.rdrecord``. Samples are rounded to 1 µV
    (gain 1000/mV, baseline 0); the checksum is the 16-bit sum of each signal, as in WFDB.
    """
    d = np.clip(np.round(np.asarray(ecg, dtype=np.float64) * ADC_GAIN), -32767, 32767).astype("<i2")   # [12, T]
    checksum = d.sum(axis=1, dtype=np.int64) % 65536
    lines = [f"{name} {d.shape[0]} {fs:g} {d.shape[1]}"]
    for k, lead in enumerate(LEADS):
        lines.append(f"{name}.dat 16 {ADC_GAIN:g}(0)/mV 16 0 {int(d[k, 0])} {int(checksum[k])} 0 {lead}")
    lines += [f"# {c}" for c in comments]
    (directory / f"{name}.dat").write_bytes(np.ascontiguousarray(d.T).tobytes())
    (directory / f"{name}.hea").write_text("\n".join(lines) + "\n")


def _write_ecgs(ecg_dir: Path, phys: pd.DataFrame, *, seed: int, fs: int, duration_s: float) -> None:
    ecg_dir.mkdir()
    rows = phys.to_dict("records")
    for i, row in enumerate(progress(rows, total=len(rows), desc="ECGs", unit="rec")):
        iid = row.pop("IID")
        x = synthesize_ecg(BeatParams(**row), rng=participant_rng(seed, i), fs=fs, duration_s=duration_s)
        write_wfdb_record(ecg_dir, iid, x, fs, comments=("edfgen simulate: cardiac dipole model",))


# --------------------------------------------------------------------------- readers of a cohort

def load_truth(cohort_dir: str | os.PathLike) -> dict:
    """The planted truth of a simulated cohort (``truth.json``) as a dict (keys: see
    ``data_dictionary/truth_json.md``)."""
    path = Path(cohort_dir) / "truth.json"
    if not path.exists():
        raise InputError(f"{path}: not found (not a cohort written by edfgen simulate?)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


def planted_loci(cohort_dir: str | os.PathLike) -> pd.DataFrame:
    """``truth["loci"]`` as a table (one row per planted trait-variant effect)."""
    return pd.DataFrame(load_truth(cohort_dir)["loci"])


def read_dosages(bfile: str | os.PathLike, variant_ids: list[str]) -> pd.DataFrame:
    """Allele-1 dosages (0/1/2, NaN missing) of some variants, participants x variants, read with
    bed-reader (an implementation independent of the writer above)."""
    from bed_reader import open_bed

    bfile = Path(bfile)
    with open_bed(str(bfile.with_suffix(".bed"))) as bed:
        sid = list(bed.sid)
        missing = [v for v in variant_ids if v not in sid]
        if missing:
            raise InputError(f"{bfile}.bim: variant(s) not found: {', '.join(missing[:5])}")
        idx = [sid.index(v) for v in variant_ids]
        x = bed.read(index=np.s_[:, idx], dtype="float32")
        return pd.DataFrame(x, index=pd.Index(bed.iid, name="IID"), columns=variant_ids)
