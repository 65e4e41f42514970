"""The fast GWAS engine's pass over genotype blocks, for any reader (PLINK 1/2, BGEN, VCF).

One pass decodes each block of variants (the next block is decoded in a second thread while the
current one is tested), counts what variant QC needs (called, heterozygous and homozygous
effect-allele hard calls, dosage sums and sums of squares, per-sample missing calls) and runs the
association kernel of :mod:`edfgen.kernels.association` on it.

The QC rules applied to these counts (and MaCH r², the imputation INFO) are the kernels of
:mod:`edfgen.kernels.qc`; :func:`genome_from_reader` is the re-iterable pass ridge-LOCO's step 1 needs.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, Sequence

import numpy as np

from edfgen.formats.genotypes.base import MISSING_INT8, GenotypeReader
from edfgen.kernels.association import AssociationResult, missingness_groups
from edfgen.kernels.logistic import LogisticAssociationResult
from edfgen.kernels.models import GenomeBlocks, make_model
from edfgen.kernels.qc import VariantCounts, hard_call_counts, hard_calls
from edfgen.progress import progress

log = logging.getLogger(__name__)


#: memory budget of one block's float64 genotypes [samples x variants] where at most
#: :data:`SMALL_BLOCK_THREADS` threads work (8 MiB: see :func:`auto_block_size`)
BLOCK_GENOTYPE_BYTES = 8 * 2 ** 20
#: the genotype budget of the blocks of logistic models (``--binary``), and of every model with more threads than
#: :data:`SMALL_BLOCK_THREADS`: logistic kernels cut each block into chunks for the cache themselves
#: (:data:`edfgen.kernels.logistic.CHUNK_BYTES`) and a Newton fit's last digit depends on how its chunk was cut;
#: many threads need large blocks to share (a ``.bed`` block's decoding is split in 4 MiB parts, the products
#: use BLAS threads above :data:`edfgen.kernels.association.THREADED_PRODUCT_MIN`). The size before stop 29.
LOGISTIC_BLOCK_GENOTYPE_BYTES = LARGE_BLOCK_GENOTYPE_BYTES = 256 * 2 ** 20
#: the most threads for which the small blocks are used (measured on 2 cores; more cores were not measured)
SMALL_BLOCK_THREADS = 2
#: memory budget of one block's results [variants x phenotypes] (5 arrays, plus working copies)
BLOCK_RESULT_BYTES = 64 * 2 ** 20


def usable_threads(threads: int | None) -> int:
    """The threads a pass may use: ``threads``, or (None) the CPUs this process may run on."""
    if threads:
        return int(threads)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def auto_block_size(n_samples: int, n_phenotypes: int, *, binary: bool = False, threads: int | None = None,
                    largest: int = 4096, smallest: int = 16) -> int:
    """Variants per block so that one block's float64 genotypes stay within :data:`BLOCK_GENOTYPE_BYTES`
    (``binary``, or more than :data:`SMALL_BLOCK_THREADS` ``threads`` (None: the usable CPUs):
    :data:`LARGE_BLOCK_GENOTYPE_BYTES`) and its results within :data:`BLOCK_RESULT_BYTES`: on 2 threads
    524 for 2,000 samples, 104 for 10,000, 16 (the least) from 65,536; a few blocks are alive at once
    (decoding, testing, writing), so memory per block, not the number of variants, sets the peak.

    A block of a few MiB is decoded, converted, counted and multiplied while it stays in the CPU cache,
    and its arrays (decoded calls, float block, masks) reuse memory already mapped; the 256 MiB blocks used
    before stop 29 (4096 variants at 2,000 samples) were paid in page faults of fresh memory and in passes
    from main memory: the association pass of 2,000 samples x 30k variants took 0.27 CPU-s in 512-variant
    blocks vs 0.50 in 4096-variant ones, of 10,000 samples 1.19 in 104-variant blocks vs 3.59 in 3355-variant
    ones (``benchmarks/results/gwas_pass_blocks_s29*.md``, with glibc's default allocator for the large blocks).
    These were measured on 2 cores; with more threads, small blocks would leave them idle (one decoding part,
    one-thread products), so the large blocks are kept there (not measured on a many-core machine)."""
    small = not binary and usable_threads(threads) <= SMALL_BLOCK_THREADS
    budget = BLOCK_GENOTYPE_BYTES if small else LARGE_BLOCK_GENOTYPE_BYTES
    by_samples = budget // (8 * max(n_samples, 1))
    by_results = BLOCK_RESULT_BYTES // (48 * max(n_phenotypes, 1))
    return int(max(smallest, min(largest, by_samples, by_results)))


#: glibc ``mallopt`` parameters set by :func:`keep_freed_memory`: ``M_MMAP_THRESHOLD`` 32 MiB (glibc's most),
#: ``M_TRIM_THRESHOLD`` 256 MiB
MALLOC_SETTINGS = ((-3, 32 * 2 ** 20), (-1, 256 * 2 ** 20))
_malloc_set = False


def keep_freed_memory() -> None:
    """Let glibc's allocator keep the memory a block frees for the next block (once per process; nothing
    where the C library has no ``mallopt``).

    By default glibc maps every allocation above a threshold that adapts (128 KiB up) afresh and returns it
    when freed, and gives back the top of its heaps beyond twice that: each block's arrays (decoded bytes,
    dosages, float block) were paid again in page faults of fresh memory, which on a virtual machine cost
    more than the decoding (BGEN, 2,000 samples x 30k variants in 1024-variant blocks: 108k minor faults and
    1.25 CPU-s for the pass, vs 17k and 0.92 with these settings;
    ``benchmarks/results/gwas_pass_blocks_s29_bgen.md``). Setting either parameter alone stops the adaptation (the
    threshold stays 128 KiB), hence both. The heaps keep up to their high-water mark instead of shrinking
    between blocks, so the peak memory is that of one block's arrays, as before. The setting is the process's
    and is kept for its rest (the later stages of ``edfgen run``/``demo`` in the same process inherit it).
    """
    global _malloc_set
    if _malloc_set:
        return
    _malloc_set = True
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt            # the process's C library (glibc, musl)
    except (OSError, AttributeError):                 # pragma: no cover - macOS, Windows: no mallopt
        return
    for param, value in MALLOC_SETTINGS:
        mallopt(ctypes.c_int(param), ctypes.c_int(value))


class _Buffer:
    """A reusable float64 block ``[N, m]`` (Fortran order): writing into memory already mapped avoids
    the page faults of a fresh allocation per block, which cost more than the conversion itself."""

    def __init__(self):
        self._flat = np.empty(0)

    def get(self, n: int, m: int) -> np.ndarray:
        if self._flat.size < n * m:
            self._flat = np.empty(n * m)
        return self._flat[:n * m].reshape((n, m), order="F")


def block_counts(G: np.ndarray, *, buffer: _Buffer | None = None):
    """Counts of one block: (n_called, n_het, n_hom_alt, sum, sum of squares, n_hom_ref, missing per sample,
    float64 block).

    ``G`` is int8 hard calls (-127 missing) or float dosages (NaN missing); the genotype counts of dosages
    (``n_hom_ref``, ``n_het``, ``n_hom_alt``, for the HWE test) are plink2's hard calls
    (:func:`~edfgen.kernels.qc.hard_call_counts`: a dosage more than 0.1 from an integer is in none of them).
    The float64 block (NaN missing) is written into ``buffer`` when given (it is then overwritten by the next
    call).

    For hard calls the sums come from the float block: with ``g`` in {0, 1, 2},
    ``n_hom_alt = (sum g² - sum g) / 2`` and ``n_het = sum g - 2 n_hom_alt`` (exact in float64);
    only variants with a missing call are counted again on their own columns.
    """
    N, m = G.shape
    Gf = buffer.get(N, m) if buffer is not None else np.empty((N, m), order="F")
    if G.dtype == np.int8:
        np.copyto(Gf, G, casting="unsafe")
        missing_cols = np.flatnonzero(G.min(axis=0) < 0) if m else np.zeros(0, dtype=np.int64)
        n_called = np.full(m, N, dtype=np.int64)
        sample_missing = np.zeros(N, dtype=np.int64)
        if missing_cols.size:
            sub8 = G[:, missing_cols]
            miss = sub8 == MISSING_INT8
            sub = np.where(miss, 0.0, sub8.astype(np.float64))
            Gf[:, missing_cols] = np.where(miss, np.nan, sub)
            n_called[missing_cols] = N - miss.sum(0)
            sample_missing = miss.sum(1)
        s1 = Gf.sum(0)
        s2 = np.einsum("ij,ij->j", Gf, Gf)
        if missing_cols.size:
            s1[missing_cols] = sub.sum(0)
            s2[missing_cols] = np.einsum("ij,ij->j", sub, sub)
        n_hom = np.rint((s2 - s1) / 2.0).astype(np.int64)
        n_het = np.rint(s1).astype(np.int64) - 2 * n_hom
        return n_called, n_het, n_hom, s1, s2, n_called - n_het - n_hom, sample_missing, Gf
    np.copyto(Gf, G, casting="unsafe")
    s1 = Gf.sum(0)                                   # NaN where a dosage is missing
    s2 = np.einsum("ij,ij->j", Gf, Gf)
    n_called = np.full(m, N, dtype=np.int64)
    sample_missing = np.zeros(N, dtype=np.int64)
    missing_cols = np.flatnonzero(np.isnan(s1))
    if missing_cols.size:
        sub = Gf[:, missing_cols]
        miss = np.isnan(sub)
        z = np.where(miss, 0.0, sub)
        n_called[missing_cols] = N - miss.sum(0)
        sample_missing = miss.sum(1)
        s1[missing_cols] = z.sum(0)
        s2[missing_cols] = np.einsum("ij,ij->j", z, z)
    n_hom_ref, n_het, n_hom = hard_call_counts(G)    # (on the input's own, narrower type)
    return n_called, n_het, n_hom, s1, s2, n_hom_ref, sample_missing, Gf


def haploid_allele_frequency(Gf: np.ndarray, ploidy: np.ndarray, groups) -> tuple[np.ndarray, np.ndarray]:
    """Effect-allele frequency of a chrX block ``Gf`` [N, m] (NaN missing; males' hemizygous calls stored 0/2)
    counting one allele per male (``ploidy`` 1) and two per female, as plink2 counts X:
    ``(sum of females' counts + sum of males' counts / 2) / (2 females called + males called)``.

    Returns ``(frequency [m] over all N samples, frequency [m, P] over each phenotype group's samples)``;
    ``groups`` are the ``(mask [N], phenotype columns)`` of :func:`~edfgen.kernels.association.missingness_groups`.
    """
    half = ploidy.astype(np.float64) / 2.0
    called = ~np.isnan(Gf)
    alleles = np.where(called, Gf, 0.0) * half[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        whole = alleles.sum(0) / (called.T @ ploidy.astype(np.float64))
        P = 1 + max((int(c.max()) for _, c in groups), default=0)
        per = np.empty((Gf.shape[1], P))
        for mask, cols in groups:
            f = whole if mask.all() else alleles[mask].sum(0) / (called[mask].T @ ploidy[mask].astype(np.float64))
            per[:, cols] = f[:, None]
    return whole, per


def x_sex_counts(Gf: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """The :attr:`~edfgen.kernels.qc.VariantCounts.x_counts` of a chrX block ``Gf`` [N, m] (NaN missing, males
    0/2 as stored; dosages as plink2's hard calls, as :func:`block_counts`) for the samples' ``sex`` (1 male,
    2 female, others not counted): the females' 0/1/2 counts and the males' 0 and 2 counts, [m, 5]. With no
    male, the samples of unknown sex count with the females, as plink2 ``--hardy``/``--hwe`` counts them
    (review rev29d F4)."""
    male = sex == 1
    female = hard_calls(Gf[(sex == 2) | ((sex == 0) & ~male.any())])
    male = hard_calls(Gf[male])
    return np.column_stack([(female == 0).sum(0), (female == 1).sum(0), (female == 2).sum(0), (male == 0).sum(0),
                            (male == 2).sum(0)]).astype(np.int64)


def prefetched(it: Iterator, depth: int = 1) -> Iterator:
    """Iterate ``it`` with the next item(s) produced in a background thread (decoding overlaps compute)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        it = iter(it)
        pending = [pool.submit(next, it, None) for _ in range(depth)]
        while True:
            item = pending.pop(0).result()
            if item is None:
                return
            pending.append(pool.submit(next, it, None))
            yield item


def read_blocks(reader: GenotypeReader, sample_index: np.ndarray, variant_index: np.ndarray, *,
                block: int) -> Iterator[tuple[slice, np.ndarray]]:
    """Blocks in the cheapest form the reader decodes: int8 for hard-call files, float32 for dosages (the
    memory of one block reused for the next: :func:`keep_freed_memory`)."""
    keep_freed_memory()
    dtype = np.int8 if reader.hardcalls_only else np.float32
    return prefetched(reader.blocks(sample_index, variant_index, dtype=dtype, block=block))


def count_variants(reader: GenotypeReader, sample_index: np.ndarray, variant_index: np.ndarray, *,
                   block: int = 4096, ploidy: np.ndarray | None = None,
                   x_sex: np.ndarray | None = None) -> VariantCounts:
    """QC counts of the variants ``variant_index`` over the samples ``sample_index`` (one pass); with ``ploidy``
    (chrX, 1 per male) the ``allele_frequency`` of :func:`haploid_allele_frequency`; with ``x_sex`` (chrX, the
    samples' sex codes) the ``x_counts`` of :func:`x_sex_counts`."""
    M = len(variant_index)
    acc = [np.zeros(M) for _ in range(6)]
    freq = np.zeros(M) if ploidy is not None else None
    x_counts = np.zeros((M, 5), dtype=np.int64) if x_sex is not None else None
    everyone = [(np.ones(len(sample_index), dtype=bool), np.zeros(1, dtype=np.int64))]
    miss = np.zeros(len(sample_index), dtype=np.int64)
    buf = _Buffer()
    for sl, G in read_blocks(reader, sample_index, variant_index, block=block):
        *c, m, Gf = block_counts(G, buffer=buf)
        for a, v in zip(acc, c):
            a[sl] = v
        miss += m
        if freq is not None:
            freq[sl] = haploid_allele_frequency(Gf, ploidy, everyone)[0]
        if x_counts is not None:
            x_counts[sl] = x_sex_counts(Gf, x_sex)
    return VariantCounts(*(a.astype(np.int64) if i < 3 else a for i, a in enumerate(acc[:5])), sample_missing=miss,
                         allele_frequency=freq, x_counts=x_counts, n_hom_ref=acc[5].astype(np.int64))


def association_pass(reader: GenotypeReader, sample_index: np.ndarray, variant_index: np.ndarray, Y: np.ndarray,
                     C: np.ndarray, *, binary: bool = False, missing_genotypes: str = "mean-impute",
                     block: int = 4096, names=None, model=None, prepared=None, chromosomes=None,
                     permutation: np.ndarray | None = None, sink=None, firth_threshold: float | None = None,
                     haploid: bool = False, ploidy: np.ndarray | None = None, x_sex: np.ndarray | None = None,
                     ploidy_rows: np.ndarray | None = None):
    """Association of every variant in ``variant_index`` with the phenotypes ``Y`` (rows = ``sample_index``).

    ``model`` (:mod:`edfgen.kernels.models`; default: linear, or the logistic Wald test with ``binary``, with
    the Firth fallback below ``firth_threshold`` when given)
    tests each block from ``prepared`` (default ``model.prepare(C, Y)``). Models that need each
    block's chromosome (ridge-LOCO) get blocks cut where ``chromosomes`` (one label per variant)
    changes. With ``permutation`` (an order of the samples) every block is also tested with its
    samples permuted (the null z-scores of the multivariate test).

    Parameters
    ----------
    haploid : bool
        Every call is haploid (Y, MT): the 0/2 hard calls (and ``2 P(B)`` dosages) the readers give are
        tested as 0/1, as plink2 ``--glm`` codes them (beta per allele); the QC counts stay those of the
        0/2 block (whose ``sum / 2n`` is the haploid allele frequency).
    ploidy : int array [N], optional
        Copies of X each sample carries (1 male, 2 female): males' 0/2 calls are tested as stored
        (plink2's default ``--xchr-model 2``) but count one allele each in ``effect_allele_frequency`` and in
        the counts' ``allele_frequency`` (the MAF filter), as plink2 counts them.
    ploidy_rows : bool array [M], optional
        The variants ``ploidy`` applies to, in ``effect_allele_frequency`` only (X among the other chromosomes
        of the LOCO and multivariate passes; the counts' ``allele_frequency`` is then None); default all.
    x_sex : int array [N], optional
        chrX's samples' sex (1 male, 2 female): each block's counts carry :func:`x_sex_counts` (X's HWE test).
    sink : callable, optional
        ``sink(rows, result, counts)`` is called for every block, in order: ``rows`` a slice into
        ``variant_index``, ``result`` the block's :class:`~edfgen.kernels.association.AssociationResult`
        ``[m, P]``, ``counts`` its :class:`VariantCounts` (``sample_missing`` of this block only).
        With a sink no ``[M, P]`` array is kept (memory does not grow with the number of variants)
        and the result returned is ``None``.

    Returns
    -------
    ``(AssociationResult [M, P] or None, VariantCounts)``, plus the permuted ``AssociationResult`` with
    ``permutation``; the counts come from the same blocks.
    """
    if sink is not None and permutation is not None:
        raise ValueError("association_pass: a sink and a permutation cannot be combined")
    model = model or make_model("linear", binary=binary, missing_genotypes=missing_genotypes,
                                firth_threshold=firth_threshold)
    prepared = prepared if prepared is not None else model.prepare(C, Y, names=names)
    M, P = len(variant_index), Y.shape[1]
    fields = ("beta", "standard_error", "p_value", "effect_allele_frequency")
    keep_all = sink is None
    arrays = {k: np.empty((M, P)) for k in fields} if keep_all else None
    perm_arrays = {k: np.empty((M, P)) for k in fields} if permutation is not None else None
    n = np.empty((M, P), dtype=np.int64) if keep_all else None
    firth = (np.zeros((M, P), dtype=bool) if keep_all and model.binary
             and getattr(model, "firth_threshold", None) is not None else None)
    kept_wald = None if firth is None else np.zeros((M, P), dtype=bool)
    acc = [np.zeros(M) for _ in range(6)]
    sample_missing = np.zeros(len(sample_index), dtype=np.int64)
    allele_freq = np.zeros(M) if ploidy is not None and ploidy_rows is None else None
    x_counts = np.zeros((M, 5), dtype=np.int64) if x_sex is not None else None
    groups = [(mask, cols) for mask, cols in missingness_groups(Y)] if ploidy is not None else None
    if model.needs_chromosome:
        labels = np.asarray(chromosomes).astype(str)
        cuts = np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        segments = [(a, b, labels[a]) for a, b in zip(cuts, np.r_[cuts[1:], M])]
    else:
        segments = [(0, M, None)]

    def blocks():
        for a, b, chrom in segments:
            for sl, G in read_blocks(reader, sample_index, variant_index[a:b], block=block):
                yield slice(a + sl.start, a + sl.stop), G, chrom

    buf = _Buffer()
    for sl, G, chrom in progress(blocks(), total=sum(-(-(b - a) // block) for a, b, _ in segments),
                                 desc="association"):
        n_called, n_het, n_hom, s1, s2, n_ref, miss, Gf = block_counts(G, buffer=buf)
        for a, v in zip(acc, (n_called, n_het, n_hom, s1, s2, n_ref)):
            a[sl] = v
        sample_missing += miss
        on_x = slice(None) if ploidy_rows is None else np.flatnonzero(ploidy_rows[sl])
        freq = (haploid_allele_frequency(Gf[:, on_x], ploidy, groups)
                if ploidy is not None and (ploidy_rows is None or len(on_x)) else None)
        xc = x_sex_counts(Gf, x_sex) if x_sex is not None else None      # (before the model imputes Gf)
        if xc is not None:
            x_counts[sl] = xc
        if haploid:
            Gf *= 0.5
        r = model.test_block(prepared, Gf, chromosome=chrom,
                             call_stats=(n_called, s1 * 0.5, s2 * 0.25) if haploid else (n_called, s1, s2))
        if haploid:
            r.effect_allele_frequency[...] *= 2.0          # (the kernels' mean / 2: now the mean of 0/1 calls)
        elif freq is not None:
            r.effect_allele_frequency[on_x] = freq[1]
        if allele_freq is not None:
            allele_freq[sl] = freq[0]
        if sink is not None:
            sink(sl, r, VariantCounts(np.asarray(n_called, dtype=np.int64), np.asarray(n_het, dtype=np.int64),
                                      np.asarray(n_hom, dtype=np.int64), s1, s2, miss,
                                      allele_frequency=None if allele_freq is None else freq[0],
                                      x_counts=xc, n_hom_ref=np.asarray(n_ref, dtype=np.int64)))
            continue
        for k in arrays:
            arrays[k][sl] = getattr(r, k)
        n[sl] = r.n
        if firth is not None:
            firth[sl] = r.firth
            if r.firth_kept_wald is not None:
                kept_wald[sl] = r.firth_kept_wald
        if permutation is not None:
            rp = model.test_block(prepared, np.asfortranarray(Gf[permutation]), chromosome=chrom,
                                  call_stats=(n_called, s1, s2))
            for k in perm_arrays:
                perm_arrays[k][sl] = getattr(rp, k)
    counts = VariantCounts(acc[0].astype(np.int64), acc[1].astype(np.int64), acc[2].astype(np.int64), acc[3],
                           acc[4], sample_missing, allele_frequency=allele_freq, x_counts=x_counts,
                           n_hom_ref=acc[5].astype(np.int64))
    if not keep_all:
        result = None
    elif firth is not None:     # the Firth fallback's rows stay marked (the firth column of the GWAS-SSF files)
        result = LogisticAssociationResult(n=n, **arrays, firth=firth, firth_kept_wald=kept_wald)
    else:
        result = AssociationResult(n=n, **arrays)
    if permutation is not None:
        return result, counts, AssociationResult(n=n.copy(), **perm_arrays)
    return result, counts


def genome_from_reader(reader: GenotypeReader, sample_index: np.ndarray, variant_index: np.ndarray,
                       chromosomes: Sequence[str]) -> GenomeBlocks:
    """:class:`~edfgen.kernels.models.GenomeBlocks` over a genotype reader: the variants ``variant_index``
    (chromosome of each in ``chromosomes``) of the samples ``sample_index``."""
    labels = np.asarray(chromosomes).astype(str)
    order = list(dict.fromkeys(labels))
    groups = [(c, np.asarray(variant_index)[labels == c]) for c in order]

    def blocks(size: int, only=None):
        for c, idx in groups:
            if only is not None and c not in only:
                continue
            for _, G in read_blocks(reader, sample_index, idx, block=size):
                yield c, block_counts(G)[-1]

    return GenomeBlocks(blocks=blocks, chromosomes=tuple((c, len(idx)) for c, idx in groups))
