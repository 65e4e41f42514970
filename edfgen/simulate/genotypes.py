"""Simulated genotypes: coalescent chromosomes, sibling pedigrees and the PLINK 1 fileset.

Per chromosome, a coalescent with recombination (msprime: Hudson model, N_e = :data:`NE`,
:data:`RECOMBINATION_RATE` per bp per generation, HKY mutations with transition/transversion ratio
4, so ~1/6 of SNPs are strand-ambiguous A/T or C/G) over a region of a GRCh38 chromosome; biallelic
SNPs with MAF >= :data:`MIN_MAF` are kept and ``variants_per_chromosome`` of them sampled
(:func:`simulate_chromosome`). Relatives (:func:`pedigree`): full-sibling pairs, or nuclear
families of the shapes ``--family-structure`` names (:func:`family_shapes`: sibships of k children, trios),
whose children's genomes are made from two extra simulated parents (participants themselves in a
trio, whose genotypes are then their own coalescent genomes) by Mendelian transmission (:func:`meioses`: Poisson(:data:`CROSSOVERS_PER_MEIOSIS`) crossovers per chromosome per
meiosis). :func:`write_genotypes` streams the genotypes block by block into PLINK 1
``.bed/.bim`` (with :mod:`edfgen.formats.genotypes.plink1_write`), with missing calls on a few percent of
variants, and hands each block's dosages to the caller (which accumulates the genetic values).

This module knows genomes and files of genotypes; what the variants do to traits is
:mod:`edfgen.simulate.phenotypes`.

References
----------
Kelleher J, Etheridge AM, McVean G. Efficient coalescent simulation and genealogical analysis for
large sample sizes. PLoS Comput Biol 2016;12:e1004842. doi:10.1371/journal.pcbi.1004842.
Baumdicker F et al. Efficient ancestry and mutation simulation with msprime 1.0. Genetics
2022;220:iyab229. doi:10.1093/genetics/iyab229.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.plink1_write import BedWriter, write_bim
from edfgen.progress import progress
from edfgen.simulate.streams import msprime_seed, stream

__all__ = ["GRCH38_LENGTHS", "Chromosome", "FamilyShape", "Pedigree", "simulate_chromosome", "family_shapes",
           "family_participants", "pedigree", "meioses",
           "region_length", "rsids", "write_genotypes"]


#: GRCh38 chromosome lengths (bp), chromosomes 1-22.
GRCH38_LENGTHS = (248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973,
                  145138636, 138394717, 133797422, 135086622, 133275309, 114364328, 107043718,
                  101991189, 90338345, 83257441, 80373285, 58617616, 64444167, 46709983, 50818468)

NE = 10_000                 # effective population size
RECOMBINATION_RATE = 1e-8   # per bp per generation (coalescent LD)
MIN_MAF = 0.01              # variants kept on the "array"
CROSSOVERS_PER_MEIOSIS = 2.5  # per simulated chromosome (each stands for a large one), sibling transmission
MISSING_VARIANT_FRACTION = 0.03
CALL_RATE_RANGE = (0.95, 0.999)
SIBLING_FRACTION = 0.03     # share of participants in full-sibling pairs (without ``families``)
CHILDREN_PER_FAMILY = (2, 4)  # with ``families=K``: children per nuclear family, uniform in this range


def region_length(chromosomes: int) -> int:
    """Simulated region per chromosome: 15 Mb, longer when few chromosomes must hold all planted
    loci > 1 Mb apart (45 Mb in all)."""
    return int(max(15e6, 45e6 / chromosomes))


@dataclass
class Chromosome:
    """One simulated chromosome: its genealogy and the kept sites."""

    number: int
    ts: Any                      # tskit.TreeSequence restricted to the kept sites
    positions: np.ndarray        # int64 GRCh38-like positions of kept sites
    a1: np.ndarray               # derived allele (counted in the .bed dosage)
    a2: np.ndarray               # ancestral allele
    freq: np.ndarray             # derived-allele frequency in the simulated sample
    start: int
    length: int


def simulate_chromosome(number: int, n_individuals: int, n_variants: int, seed: int, region_bp: int) -> Chromosome:
    """The coalescent of ``n_individuals`` diploid genomes over a region (at most ``region_bp``) of
    GRCh38 chromosome ``number``, with ``n_variants`` common biallelic SNPs kept (the mutation rate
    is raised until enough are found)."""
    import msprime

    length = min(region_bp, GRCH38_LENGTHS[number - 1] - 10_000_000)
    rng = stream(seed, 100 + number)
    start = int(rng.integers(5_000_000, max(5_000_001, GRCH38_LENGTHS[number - 1] - length - 5_000_000)))
    ts = msprime.sim_ancestry(samples=n_individuals, population_size=NE, sequence_length=length,
                              recombination_rate=RECOMBINATION_RATE, random_seed=msprime_seed(seed, number))
    # expected sites with derived frequency in [1 %, 99 %]: 4 N_e mu L ln(99)
    mu = 1.6 * n_variants / (4 * NE * length * math.log(99))
    model = msprime.HKY(kappa=4.0, equilibrium_frequencies=[0.3, 0.2, 0.2, 0.3])
    for attempt in range(6):
        mts = msprime.sim_mutations(ts, rate=mu, model=model, random_seed=msprime_seed(seed, 1000 * attempt + number))
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
    return Chromosome(number, kts, pos, a1, a2, freq, start, length)


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


@dataclass(frozen=True)
class FamilyShape:
    """One kind of family of ``--family-structure``: ``children`` (lo, hi) children each (uniform), of two
    parents who are participants themselves (``parents_genotyped``, a trio) or simulated only."""

    name: str
    children: tuple[int, int]
    parents_genotyped: bool


def family_shapes(spec: str) -> list[FamilyShape]:
    """Parse ``--family-structure``: comma-separated ``sibs<k>``, ``sibs<a>-<b>`` (k or a..b children of
    parents who are not participants, k >= 2) or ``trio`` (two genotyped parents and their child).

    Families take the shapes in turn (family ``f`` gets shape ``f mod len(shapes)``).
    """
    shapes = []
    for item in str(spec).replace(" ", "").split(","):
        m = re.fullmatch(r"sibs(\d+)(?:-(\d+))?", item)
        if item == "trio":
            shapes.append(FamilyShape("trio", (1, 1), True))
        elif m and 2 <= int(m[1]) <= int(m[2] or m[1]) <= 20:
            shapes.append(FamilyShape(item, (int(m[1]), int(m[2] or m[1])), False))
        else:
            raise InputError(f"--family-structure {spec!r}: {item!r} is not trio, sibs<k> or sibs<a>-<b> "
                             f"(2 <= a <= b <= 20 children)")
    return shapes


#: ``--family-structure`` default: 2-4 children of simulated parents per family
DEFAULT_FAMILY_STRUCTURE = f"sibs{CHILDREN_PER_FAMILY[0]}-{CHILDREN_PER_FAMILY[1]}"


@dataclass
class Pedigree:
    """Who is who: participant slots filled by unrelated founders, by the children of simulated
    parents (two extra msprime individuals per family) and, in trios, by those parents themselves."""

    n: int
    founder_ind: np.ndarray      # msprime individual of each unrelated participant
    founder_slot: np.ndarray     # their output positions
    parent_ind: np.ndarray       # [n_families, 2] msprime individuals (father, mother)
    child_slot: np.ndarray       # [n_children] output positions, grouped by family
    child_family: np.ndarray     # [n_children] family index of each child
    parent_slot: np.ndarray | None = None   # [n_families, 2] output positions of genotyped parents, -1: none
    shape: tuple[str, ...] = ()             # family structure name of each family

    def __post_init__(self):
        if self.parent_slot is None:
            self.parent_slot = np.full((self.n_families, 2), -1, dtype=np.int64)

    @property
    def n_families(self) -> int:
        return len(self.parent_ind)

    @property
    def n_children(self) -> int:
        return len(self.child_slot)

    @property
    def genotyped_parents(self) -> tuple[np.ndarray, np.ndarray]:
        """``(msprime individuals, output positions)`` of the parents who are participants."""
        ok = self.parent_slot >= 0
        return self.parent_ind[ok], self.parent_slot[ok]

    def family_slots(self) -> list[np.ndarray]:
        """Output positions of each family's children."""
        return np.split(self.child_slot, np.flatnonzero(np.diff(self.child_family)) + 1) if self.n_children else []


def family_participants(families: int, structure: str = DEFAULT_FAMILY_STRUCTURE) -> int:
    """Most participants ``families`` families of ``structure`` can take (children + genotyped parents)."""
    shapes = family_shapes(structure)
    return sum(shapes[f % len(shapes)].children[1] + 2 * shapes[f % len(shapes)].parents_genotyped
               for f in range(int(families)))


def pedigree(n: int, seed: int, families: int | None = None,
             structure: str = DEFAULT_FAMILY_STRUCTURE) -> Pedigree:
    """Sibling pairs (``SIBLING_FRACTION`` of ``n``) or, with ``families=K``, K families whose shapes
    (:func:`family_shapes`) ``structure`` gives in turn (default: 2-4 children of simulated parents)."""
    rng = stream(seed, 2)
    if families is None:
        sizes = np.full(max(1, int(round(SIBLING_FRACTION * n / 2))), 2)
        genotyped = np.zeros(len(sizes), bool)
        names: tuple[str, ...] = ("sibs2",) * len(sizes)
    else:
        shapes = family_shapes(structure)
        fam_shape = [shapes[f % len(shapes)] for f in range(int(families))]
        lo = np.array([s.children[0] for s in fam_shape], dtype=np.int64)
        hi = np.array([s.children[1] for s in fam_shape], dtype=np.int64)
        gen = stream(seed, 12)
        if len(set(zip(lo, hi))) <= 1:       # one range (the default 2-4): the draws of earlier versions
            sizes = gen.integers(lo[0], hi[0] + 1, int(families)) if len(lo) else np.zeros(0, np.int64)
        else:
            sizes = gen.integers(lo, hi + 1)
        genotyped = np.array([s.parents_genotyped for s in fam_shape], dtype=bool)
        names = tuple(s.name for s in fam_shape)
    n_children = int(sizes.sum())
    n_parents = 2 * int(genotyped.sum())
    n_founders = n - n_children - n_parents
    slots = rng.permutation(n)
    parent_slot = np.full((len(sizes), 2), -1, dtype=np.int64)
    parent_slot[genotyped] = slots[n_founders + n_children:].reshape(-1, 2)
    return Pedigree(n=n, founder_ind=np.arange(n_founders), founder_slot=slots[:n_founders],
                    parent_ind=(n_founders + np.arange(2 * len(sizes))).reshape(len(sizes), 2),
                    child_slot=slots[n_founders:n_founders + n_children],
                    child_family=np.repeat(np.arange(len(sizes)), sizes), parent_slot=parent_slot, shape=names)


def meioses(ped: Pedigree, chrom: Chromosome, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Transmission for every child's gamete: parent individual, starting haplotype, crossover positions.

    Gametes are ordered [child, parent]; crossovers ~ Poisson(CROSSOVERS_PER_MEIOSIS) placed
    uniformly over the region (padded with +inf).
    """
    rng = stream(seed, 300 + chrom.number)
    parent = ped.parent_ind[ped.child_family].reshape(-1)                          # [child, parent]
    g = len(parent)
    k = rng.poisson(CROSSOVERS_PER_MEIOSIS, g)
    kmax = max(1, int(k.max()) if g else 1)
    cx = np.sort(rng.uniform(chrom.start, chrom.start + chrom.length, (g, kmax)), axis=1)
    cx[np.arange(kmax)[None, :] >= k[:, None]] = np.inf
    cx = np.sort(cx, axis=1)
    first = rng.integers(0, 2, g)
    return parent, first, cx


def rsids(gen: np.random.Generator, m: int, used: set[int]) -> list[str]:
    """``m`` new random rsIDs (``rs1000`` .. ``rs999999998``), none in ``used`` (which they join)."""
    out = []
    while len(out) < m:
        for v in gen.integers(1_000, 999_999_999, 2 * (m - len(out)) + 8):
            v = int(v)
            if v not in used:
                used.add(v)
                out.append(f"rs{v}")
                if len(out) == m:
                    break
    return out


def write_genotypes(prefix: str | os.PathLike, chroms: list[Chromosome], ped: Pedigree,
                    missing_var: list[np.ndarray], *, seed: int, rng_missing: np.random.Generator,
                    rng_ids: np.random.Generator,
                    on_block: Callable[[int, int, np.ndarray], None]) -> pd.DataFrame:
    """Stream every chromosome's genotypes into ``prefix.bed`` and write ``prefix.bim``.

    Founders carry their own simulated genomes; children the transmitted haplotypes of their
    simulated parents (:func:`meioses`). Variants flagged in ``missing_var`` get a call rate drawn
    from :data:`CALL_RATE_RANGE`: exactly ``round((1 - call rate) * n)`` (at least 1) missing calls.
    Each chromosome's tree sequence is released once written.

    Parameters
    ----------
    prefix
        PLINK prefix of the fileset written.
    chroms, ped, missing_var
        From :func:`simulate_chromosome`, :func:`pedigree`, and one boolean array per chromosome.
    seed
        The cohort seed (crossovers).
    rng_missing, rng_ids
        The streams of the missing calls and of the rsIDs (drawn in file order).
    on_block
        Called with ``(chromosome index, first site, dosage [m, n])`` after each block is written.

    Returns
    -------
    pandas.DataFrame
        The ``.bim`` written (columns ``chr id cm pos a1 a2``).
    """
    n = ped.n
    par_ind, par_slot = ped.genotyped_parents
    n_var = sum(len(ch.freq) for ch in chroms)
    block = int(max(16, min(2048, 2e7 // (2 * n))))
    bim_frames = []
    used_ids: set[int] = set()
    with BedWriter(f"{prefix}.bed") as bed:
        bar = progress(total=n_var, desc="genotypes", unit="SNP")
        for c, ch in enumerate(chroms):
            parent, first, cx = meioses(ped, ch, seed)
            call_rate = np.where(missing_var[c], rng_missing.uniform(*CALL_RATE_RANGE, len(ch.freq)), 1.0)
            hap = np.empty((block, 2 * n), dtype=np.int8)
            fill = 0
            site0 = 0

            def flush(m: int, site0: int) -> None:
                h = hap[:m]
                pos = ch.positions[site0:site0 + m]
                dos = np.empty((m, n), dtype=np.int8)
                dos[:, ped.founder_slot] = h[:, 2 * ped.founder_ind] + h[:, 2 * ped.founder_ind + 1]
                if len(par_slot):                                                       # trios' parents
                    dos[:, par_slot] = h[:, 2 * par_ind] + h[:, 2 * par_ind + 1]
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
                bed.write(dos, miss)
                on_block(c, site0, dos)
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
            ids = rsids(rng_ids, len(ch.freq), used_ids)
            bim_frames.append(pd.DataFrame({"chr": ch.number, "id": ids, "cm": 0, "pos": ch.positions,
                                            "a1": ch.a1, "a2": ch.a2}))
            ch.ts = None                                   # free the genealogy
        bar.close()
    bim = pd.concat(bim_frames, ignore_index=True)
    write_bim(bim, f"{prefix}.bim")
    return bim
