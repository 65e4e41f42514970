"""LD clumping, as ``plink1.9 --clump`` does it, and loci across phenotypes: the array kernel.

Greedy clumping (Purcell et al. 2007): variants with ``p <= p1`` are taken in increasing p
(ties: file order of the LD panel's ``.bim``). Each one not yet clumped becomes an *index
variant*; it absorbs every not-yet-clumped variant of the same chromosome within ``kb`` whose
r² with it exceeds ``r2``. Absorbed variants with ``p < p2`` are listed as its clump
(``clumped_variants``); absorbed variants with larger p are only marked, so they cannot become
index variants or join later clumps either. r² comes from the LD panel's genotypes, one window
at a time (:mod:`edfgen.kernels.ld`), never all pairs.

Exactly PLINK 1.9's semantics, read from its source (``plink_ld.c: clump_reports``):

* r² is the haplotype-frequency maximum-likelihood r² from unphased genotypes, founders only,
  samples missing at either variant dropped per pair (``r2_method="plink"``); a pair with a
  monomorphic variant (over jointly observed samples) is never clumped.
* sex chromosomes (the LD panel's model, :meth:`~edfgen.formats.genotypes.panel.GenotypePanel.haploid`): on X
  (``X``/``23``) a male (sex 1) is one haplotype, his heterozygous call missing; females and unknown sex are
  diploid; on Y (``Y``/``24``) only males count, one haplotype each; the pseudo-autosomal region (``XY``/25)
  and MT are read as autosomes. This is plink 1.9 ``--clump``'s model (its ``em_phase_hethet_nobase`` with
  ``is_x1 = is_x2``; checked against ``--clump-verbose``'s RSQ), not ``--r2``'s ``--ld-xchr`` codes.
* comparisons: index if ``p <= p1``; clumped if ``r² > r2`` (strict) and ``p < p2`` (strict).
* window: ``--clump-kb K`` means ``|bp - bp_index| <= 1000*K - 1`` (PLINK's ``bp_radius``).
* no overlap: a variant joins at most one clump, unless ``allow_overlap``
  (``--clump-allow-overlap``: absorbed variants may join later clumps too; index choice unchanged).
* variants of the summary statistics absent from the LD panel are skipped (PLINK warns);
  edfgen lists those with ``p <= p1`` in ``rejects.tsv``.
* several phenotypes: each is clumped on its own (one ``plink --clump`` run per file), then
  the index variants of all phenotypes are merged into loci (:func:`merge_loci`). Many
  phenotypes are clumped in lockstep (:func:`clump_lockstep`) so that the LD of an index variant
  with its window (:class:`~edfgen.kernels.ld.WindowLD`) is computed once for every phenotype
  with that index variant.

Arrays and the LD panel's variant table in, arrays and frames out: reading the summary statistics,
matching them to the panel and writing ``clumps.tsv``/``loci.tsv``/``rejects.tsv`` is
:mod:`edfgen.commands.clump`'s; the study-wide threshold (Li & Ji's M_eff) is here too.

References
----------
Purcell S et al. (2007) "PLINK: a tool set for whole-genome association and population-based
linkage analyses", Am J Hum Genet 81:559, doi:10.1086/519795.
Chang CC et al. (2015) GigaScience 4:7, doi:10.1186/s13742-015-0047-8.
Li J, Ji L (2005) "Adjusting multiple testing in multilocus analyses using the eigenvalues of a
correlation matrix", Heredity 95:221, doi:10.1038/sj.hdy.6800717.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.kernels.ld import R2_METHODS, LDPanel, WindowLD, chromosome_runs, r2_vector
from edfgen.kernels.thresholds import GENOME_WIDE

LOCI_COLUMNS = ["locus", "variant_id", "chromosome", "base_pair_location", "p_value", "phenotype",
                "phenotypes", "n_phenotypes", "index_variants", "rsid"]

@dataclass(frozen=True)
class ClumpSettings:
    """Clumping thresholds (defaults: the paper's independent-loci definition).

    Attributes
    ----------
    p1 : index-variant threshold (``p <= p1``), default 5e-8.
    p2 : threshold for a variant to be listed in a clump (``p < p2``), default 0.01.
    r2 : LD threshold (``r² > r2`` joins the clump), default 0.01.
    kb : window radius in kb (``|Δbp| <= 1000*kb - 1``, as PLINK), default 1000.
    r2_method : ``"plink"`` (haplotype ML r², matches plink1.9) or ``"corr"``.
    allow_overlap : let a variant join several clumps (plink's ``--clump-allow-overlap``;
        index-variant choice is unchanged), default False.
    """

    p1: float = GENOME_WIDE
    p2: float = 0.01
    r2: float = 0.01
    kb: float = 1000.0
    r2_method: str = "plink"
    allow_overlap: bool = False

    def __post_init__(self):
        for name in ("p1", "p2"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise InputError(f"clump: {name} must be in (0, 1], got {v}")
        if not 0 <= self.r2 < 1:
            raise InputError(f"clump: r2 must be in [0, 1), got {self.r2}")
        if not 0 < self.kb < np.inf:  # NaN and inf too: the bp radius is an integer
            raise InputError(f"clump: kb must be a finite number > 0, got {self.kb}")
        if self.r2_method not in R2_METHODS:
            raise InputError(f"clump: r2_method {self.r2_method!r} unknown (choose from {', '.join(R2_METHODS)})")

    @property
    def bp_radius(self) -> int:
        """PLINK 1.9: ``bp_radius = (uint)(kb * 1000 * (1 + 2^-44)) - 1``."""
        return int(self.kb * 1000 * (1 + 2.0 ** -44)) - 1


@dataclass(frozen=True)
class ClumpKernelResult:
    """Clumps of one phenotype, as positions in the kernel's input arrays.

    Attributes
    ----------
    index : int ``[k]`` index variants in the order they were chosen (increasing p).
    members : list of k int arrays, the variants (``p < p2``) each index variant absorbed.
    """

    index: np.ndarray
    members: list[np.ndarray] = field(default_factory=list)


GenotypeFn = Callable[[np.ndarray], np.ndarray]


def _chrom_blocks(chrom: np.ndarray) -> dict[str, tuple[int, int]]:
    """Contiguous ``[start, end)`` of each chromosome label in file order."""
    blocks: dict[str, tuple[int, int]] = {}
    for s, e in zip(*chromosome_runs(chrom)):
        c = str(chrom[s])
        if c in blocks:
            raise InputError(f"LD panel .bim: chromosome {c} is not contiguous (sort the fileset)")
        blocks[c] = (int(s), int(e))
    return blocks


def _greedy_clump(p: np.ndarray, pos: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                  settings: ClumpSettings):
    """PLINK 1.9's greedy clumping as a generator (the kernel of :func:`clump_arrays` and :func:`clump_lockstep`).

    Yields ``(i, win)`` (an index variant and the candidate variants of its window, positions in
    the arrays) and is sent ``linked [len(win)]`` (r² defined and ``|r²| > r2``); returns a
    :class:`ClumpKernelResult`. Written as a generator so that many phenotypes can be clumped in
    lockstep and their index variants' LD computed together (:class:`~edfgen.kernels.ld.WindowLD`).
    ``starts``/``ends``: ``[start, end)`` of each chromosome's contiguous run of rows.
    """
    cand = np.flatnonzero(p <= settings.p1)
    order = cand[np.lexsort((cand, p[cand]))]            # ties: file order (PLINK 2021 fix)
    clumped = np.zeros(len(p), dtype=bool)
    radius = settings.bp_radius
    index: list[int] = []
    members: list[np.ndarray] = []
    for i in order:
        if clumped[i]:
            continue
        clumped[i] = True
        index.append(int(i))
        b = int(np.searchsorted(starts, i, side="right")) - 1
        s, e = int(starts[b]), int(ends[b])
        lo = s + int(np.searchsorted(pos[s:e], pos[i] - radius, side="left"))
        hi = s + int(np.searchsorted(pos[s:e], pos[i] + radius, side="right"))
        win = np.arange(lo, hi)
        win = win[(win != i) if settings.allow_overlap else ~clumped[lo:hi]]
        if win.size == 0:
            members.append(np.zeros(0, dtype=np.int64))
            continue
        linked = yield int(i), win
        absorbed = win[linked]
        clumped[absorbed] = True
        members.append(absorbed[p[absorbed] < settings.p2])
    return ClumpKernelResult(index=np.asarray(index, dtype=np.int64), members=members)


def _checked_blocks(chrom: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    blocks = _chrom_blocks(chrom)
    for c, (s, e) in blocks.items():
        if np.any(np.diff(pos[s:e]) < 0):
            raise InputError(f"LD panel .bim: positions on chromosome {c} are not sorted")
    se = np.array(sorted(blocks.values()), dtype=np.int64).reshape(-1, 2)
    return se[:, 0], se[:, 1]


def clump_arrays(p: np.ndarray, chrom: np.ndarray, pos: np.ndarray, genotypes: GenotypeFn, *,
                 settings: ClumpSettings = ClumpSettings(),
                 haploid: Callable[[int], np.ndarray | None] | None = None) -> ClumpKernelResult:
    """Greedy PLINK-1.9 clumping of one phenotype (the kernel).

    Parameters
    ----------
    p : float ``[V]``
        p-values of the variants found in both the summary statistics and the LD panel,
        **in LD-panel (.bim) order** (finite, in [0, 1]).
    chrom, pos : str array [V], int array [V]
        Chromosome and position (bp) of each variant (positions ascending within a chromosome).
    genotypes : callable
        ``genotypes(idx [k]) -> int8 [n, k]``: allele counts of variants ``idx`` (positions in
        these arrays), negative = missing.
    settings : ClumpSettings, optional
        p-value thresholds, r² threshold, window (kb) and r² method (default: p1 5e-8, r² 0.01, 1000 kb).
    haploid : callable, optional
        ``haploid(i) -> bool [n] or None``: the samples that are one haplotype on variant ``i``'s chromosome
        (males on X and Y: :meth:`~edfgen.formats.genotypes.panel.GenotypePanel.haploid`), for
        :func:`~edfgen.kernels.ld.r2_vector`; default: every sample diploid.

    Returns
    -------
    ClumpKernelResult

    References
    ----------
    Chang CC et al. (2015) GigaScience 4:7. doi:10.1186/s13742-015-0047-8 (PLINK 1.9 ``--clump``)
    """
    p = np.asarray(p, dtype=np.float64)
    chrom = np.asarray(chrom).astype(str)
    pos = np.asarray(pos, dtype=np.int64)
    gen = _greedy_clump(p, pos, *_checked_blocks(chrom, pos), settings)
    try:
        i, win = next(gen)
        while True:
            g = genotypes(np.r_[i, win])
            r2, ok = r2_vector(g[:, 0], g[:, 1:], method=settings.r2_method,
                               haploid=None if haploid is None else haploid(i))
            i, win = gen.send(ok & (np.abs(r2) > settings.r2))
    except StopIteration as stop:
        return stop.value



def clump_lockstep(p: Sequence[np.ndarray], bim: Sequence[np.ndarray], panel: LDPanel,
                   settings: ClumpSettings, ld: WindowLD) -> list[ClumpKernelResult]:
    """Clump several phenotypes at once (:func:`clump_arrays` of each): every round, each unfinished
    phenotype asks for the LD of its next index variant; the distinct ones are computed together
    (:meth:`WindowLD.ensure`).

    Parameters
    ----------
    p, bim : list of array [V]
        Per phenotype: p-values ``float [V]`` of its variants and their rows ``int [V]`` in the
        panel (ascending, the panel's order).
    panel : LDPanel
        The open LD panel.
    settings : ClumpSettings
        Thresholds, window and r² method, as for :func:`clump_arrays`.
    ld : WindowLD
        The panel's :class:`~edfgen.kernels.ld.WindowLD` with ``settings``' radius, r² threshold and
        method (when not ``usable``, each phenotype is clumped on its own).

    Returns
    -------
    list of ClumpKernelResult
        One per phenotype, in the order of ``p``.
    """
    results: list[ClumpKernelResult | None] = [None] * len(p)
    if not ld.usable:          # a panel not sorted by chromosome and position: one variant at a time
        for k, (pk, b) in enumerate(zip(p, bim)):
            results[k] = clump_arrays(pk, panel.variants.chromosome[b], panel.variants.position[b],
                                      lambda idx, b=b: panel.read(b[idx]), settings=settings,
                                      haploid=lambda i, b=b: panel.haploid(b[i]))
        return results
    codes = pd.factorize(pd.Series(panel.variants.chromosome))[0]
    waiting: dict[int, tuple] = {}

    def step(k, gen, bim, value):
        try:
            req = next(gen) if value is None else gen.send(value)
            waiting[k] = (gen, bim, req)
        except StopIteration as stop:
            results[k] = stop.value

    for k, (pk, b) in enumerate(zip(p, bim)):
        gen = _greedy_clump(pk, panel.variants.position[b], *chromosome_runs(codes[b]), settings)
        step(k, gen, b, None)
    while waiting:
        ld.ensure([bim[req[0]] for _, bim, req in waiting.values()])
        current, waiting = waiting, {}
        for k, (gen, bim, (i, win)) in current.items():
            step(k, gen, bim, ld.linked(bim[i], bim[win]))
    return results



def merge_loci(clumps: pd.DataFrame, panel: LDPanel | None, *,
               settings: ClumpSettings = ClumpSettings(), ld: WindowLD | None = None) -> pd.DataFrame:
    """Merge index variants of all phenotypes into independent loci.

    Rule: the pooled index variants are clumped again exactly like variants (increasing p,
    ties by phenotype then position): each index variant not yet in a locus leads a new locus
    and takes every other index variant of the same chromosome within ``settings.kb`` whose
    r² with the lead exceeds ``settings.r2`` (the same test that made index variants
    independent within a phenotype), or that is the same variant. Without an LD panel
    (``panel=None``) every index variant within ``kb`` joins (conservative, distance only).
    ``ld``: the :class:`~edfgen.kernels.ld.WindowLD` of the clumping run (same ``r2``, ``kb``
    and method), whose windows of the index variants are reused. Each index variant's panel row is
    ``clumps["_bim"]`` when given (clumping matched it, by id, rsid or position and alleles), else
    looked up by ``variant_id``.

    Parameters
    ----------
    clumps : DataFrame
        Index variants of every phenotype: ``phenotype``, ``variant_id``, ``chromosome``,
        ``base_pair_location``, ``p_value``; optional ``_bim`` (panel row) and ``rsid``.
    panel : LDPanel or None
        LD panel for the r² test; None merges by distance only.
    settings : ClumpSettings, optional
        ``kb`` radius, ``r2`` threshold and r² method (those of the clumping run).
    ld : WindowLD, optional
        The clumping run's LD windows, reused.

    Returns
    -------
    DataFrame ``loci.tsv``: ``locus`` (1..L, by p), lead ``variant_id``, ``chromosome``,
    ``base_pair_location``, ``p_value`` (min p), ``phenotype`` (the lead's), ``phenotypes``
    (comma list by p), ``n_phenotypes``, ``index_variants`` (``phenotype:variant`` list), ``rsid``
    (the lead's, from ``clumps["rsid"]`` when given).
    """
    if clumps.empty:
        return pd.DataFrame(columns=LOCI_COLUMNS)
    c = clumps.reset_index(drop=True).copy()
    c["chromosome"] = c["chromosome"].astype(str)
    order = np.lexsort((c["base_pair_location"].to_numpy(), c["phenotype"].astype(str).to_numpy(),
                        c["p_value"].to_numpy()))
    assigned = np.full(len(c), -1)
    radius = settings.bp_radius
    rows = []
    chrom = c["chromosome"].to_numpy()
    pos = c["base_pair_location"].to_numpy(np.int64)
    vid = c["variant_id"].astype(str).to_numpy()
    bim = np.full(len(c), -1, dtype=np.int64)            # each index variant's panel row (-1: not in the panel)
    if "_bim" in c.columns:
        bim = c["_bim"].to_numpy(np.int64)
    elif panel is not None:
        bim_of = pd.Series(np.arange(len(panel.variants.variant_id)),
                           index=panel.variants.variant_id).groupby(level=0).first()
        bim = pd.Series(vid).map(bim_of).fillna(-1).to_numpy(np.int64)
    rsid = c["rsid"].to_numpy(dtype=object) if "rsid" in c.columns else np.full(len(c), None, dtype=object)
    for i in order:
        if assigned[i] >= 0:
            continue
        locus = len(rows)
        assigned[i] = locus
        near = np.flatnonzero((assigned < 0) & (chrom == chrom[i]) & (np.abs(pos - pos[i]) <= radius))
        if near.size:
            same = vid[near] == vid[i]
            join = same.copy()
            other = near[~same]
            if panel is not None and other.size:
                have = bim[other] >= 0
                if bim[i] >= 0 and have.any():
                    lead = int(bim[i])
                    prow = bim[other[have]]
                    hit = np.zeros(prow.size, dtype=bool)
                    if ld is not None and ld.usable:     # shared with clumping: rows inside the lead's window
                        lo, hi = ld.window(lead)
                        inside = (prow >= lo) & (prow < hi)
                        hit[inside] = ld.linked(lead, prow[inside])
                    else:
                        inside = np.zeros(prow.size, dtype=bool)
                    if (~inside).any():
                        g = panel.read(np.r_[lead, prow[~inside]])
                        r2, ok = r2_vector(g[:, 0], g[:, 1:], method=settings.r2_method,
                                           haploid=panel.haploid(lead))
                        hit[~inside] = ok & (np.abs(r2) > settings.r2)
                    linked = np.zeros(other.size, dtype=bool)
                    linked[np.flatnonzero(have)] = hit
                    join[~same] = linked
            elif panel is None:
                join[:] = True
            assigned[near[join]] = locus
        members = np.flatnonzero(assigned == locus)
        members = members[np.argsort(c["p_value"].to_numpy()[members], kind="stable")]
        phenos = list(dict.fromkeys(c["phenotype"].astype(str).to_numpy()[members]))
        rows.append({"locus": locus + 1, "variant_id": vid[i], "chromosome": chrom[i],
                     "base_pair_location": int(pos[i]), "p_value": float(c.at[i, "p_value"]),
                     "phenotype": str(c.at[i, "phenotype"]), "phenotypes": ",".join(phenos),
                     "n_phenotypes": len(phenos),
                     "index_variants": ",".join(f"{c.at[j, 'phenotype']}:{vid[j]}" for j in members),
                     "rsid": None if pd.isna(rsid[i]) else rsid[i]})
    return pd.DataFrame(rows, columns=LOCI_COLUMNS)


# ----------------------------------------------------------------------------- study-wide threshold
def effective_number_of_tests(corr: np.ndarray) -> float:
    """Li & Ji (2005) effective number of independent phenotypes from a correlation matrix.

    ``M_eff = sum_i f(|λ_i|)`` with ``f(x) = 1[x >= 1] + (x - floor(x))`` over the eigenvalues
    ``λ_i`` of the ``[P, P]`` correlation matrix. Equals P for uncorrelated phenotypes and 1 for
    identical ones.

    Parameters
    ----------
    corr : array [P, P]
        Correlation matrix of the phenotypes.

    Returns
    -------
    float
        ``M_eff``, between 1 and ``P``.

    References
    ----------
    Li J, Ji L (2005) Heredity 95:221, doi:10.1038/sj.hdy.6800717.
    """
    corr = np.asarray(corr, dtype=np.float64)
    if corr.ndim != 2 or corr.shape[0] != corr.shape[1]:
        raise InputError(f"effective_number_of_tests: need a square correlation matrix, got {corr.shape}")
    lam = np.abs(np.linalg.eigvalsh(corr))
    lam = np.where(np.isclose(lam, np.round(lam), atol=1e-9), np.round(lam), lam)
    return float(np.sum((lam >= 1).astype(float) + (lam - np.floor(lam))))


def study_wide_threshold(pheno: pd.DataFrame, phenotypes: Sequence[str] | None = None, *,
                         alpha: float = GENOME_WIDE, source: str = "--pheno") -> tuple[float, float]:
    """``(alpha / M_eff, M_eff)`` from the phenotype columns of a table (Li & Ji 2005).

    ``phenotypes`` selects columns (default: all numeric columns except ids/covariates named
    ``IID``, ``FID``); pairwise-complete Pearson correlations.

    Parameters
    ----------
    pheno : DataFrame
        One row per sample, one column per phenotype.
    phenotypes : list of str, optional
        Columns to use (default: every numeric column but ``IID``/``FID``).
    alpha : float, default 5e-8
        Genome-wide threshold for one phenotype (``GENOME_WIDE``).
    source : str, default "--pheno"
        Name of the input in error messages.

    Returns
    -------
    tuple of (float, float)
        Study-wide threshold ``alpha / M_eff`` and ``M_eff``.

    References
    ----------
    Li J, Ji L (2005) Heredity 95:221, doi:10.1038/sj.hdy.6800717.
    """
    if phenotypes:
        missing = [p for p in phenotypes if p not in pheno.columns]
        if missing:
            raise InputError(f"{source}: phenotype column(s) {', '.join(missing)} not found")
        cols = list(phenotypes)
    else:
        cols = [c for c in pheno.select_dtypes("number").columns if c not in ("IID", "FID")]
    if not cols:
        raise InputError(f"{source}: no numeric phenotype columns to estimate M_eff from")
    corr = pheno[cols].corr().to_numpy()
    if np.isnan(corr).any():
        raise InputError(f"{source}: a phenotype column is constant or empty; cannot compute correlations")
    meff = effective_number_of_tests(corr)
    return alpha / meff, meff

