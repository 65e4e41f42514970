"""Linkage disequilibrium (r²) from hard-call genotype arrays, one index variant against a window.

Two r² estimators, both computed with matrix products on the genotype block of a window
(never all pairs over the genome):

``"plink"`` (default, what ``plink1.9 --clump`` uses)
    The maximum-likelihood two-locus haplotype frequencies from *unphased* genotypes: the 3x3
    genotype count table of the pair (samples missing at either variant dropped, founders only)
    gives the known haplotype counts; the double heterozygotes are split by solving the
    likelihood's cubic analytically (PLINK 1.9 ``em_phase_hethet``), and
    ``r² = D² / (p1 p2 q1 q2)``. The count tables of one index variant against ``m`` window
    variants are one ``[3, n] @ [n, 3m]`` product.
``"corr"``
    Squared Pearson correlation of allele counts over the samples observed at both variants
    (PLINK's ``--r2`` on unphased data, LDstore/bigsnpr style), from the same count tables.

Both return a *signed* r² (sign of D / of the correlation), like PLINK's ``cur_r2``.

Sex chromosomes, as plink 1.9 ``--clump``: the samples that carry one copy of a variant's chromosome (males
on X and Y, :meth:`edfgen.formats.genotypes.panel.GenotypePanel.haploid`; their heterozygous calls already
missing) count 1/2 in the two-locus table, i.e. one haplotype each (``haploid`` of :func:`two_locus_counts` and
:func:`r2_vector`; :class:`WindowLD` asks the panel). This is PLINK 1.9's ``em_phase_hethet_nobase`` with
``is_x1 = is_x2`` (the males' homozygous cells subtracted once from the known haplotype counts).

:class:`WindowLD` answers the clumping question (``|r²| > r2``) for an index variant against its
whole window once, from bit-packed genotype classes (AND + population count, as PLINK 1.9) that the
panel hands it (:meth:`edfgen.formats.genotypes.panel.GenotypePanel.class_bits`: repacked from the
``.bed``'s 2-bit codes for PLINK 1, else from decoded hard calls), and keeps the answer for every
phenotype clumped against the same panel. The panels that open genotype files are in
:mod:`edfgen.formats.genotypes.panel`.

References
----------
Chang CC et al. (2015) "Second-generation PLINK: rising to the challenge of larger and richer
datasets", GigaScience 4:7, doi:10.1186/s13742-015-0047-8 (``--clump``, ``em_phase_hethet``).
Excoffier L, Slatkin M (1995) "Maximum-likelihood estimation of molecular haplotype
frequencies in a diploid population", Mol Biol Evol 12:921, PMID 7476138.
Gaunt TR et al. (2007) "Cubic exact solutions for the estimation of pairwise haplotype
frequencies", BMC Bioinformatics 8:428, doi:10.1186/1471-2105-8-428.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Protocol

import numpy as np

from edfgen.exceptions import InputError

log = logging.getLogger(__name__)

R2_METHODS = ("plink", "corr")

# PLINK 1.9 tolerances (plink_common.h): 2^-30, 2^-35, 2^-44
_EPSILON = 2.0 ** -30
_SMALLISH_EPSILON = 2.0 ** -35
_SMALL_EPSILON = 2.0 ** -44


# ----------------------------------------------------------------------------- kernels
def _cubic_real_roots(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real roots of ``x³ + a x² + b x + c`` (vectorised PLINK ``cubic_real_roots``).

    Returns ``(roots [m, 3] sorted ascending, count [m])``; roots within 2^-30 are merged.
    """
    m = a.shape[0]
    sol = np.zeros((m, 3))
    cnt = np.ones(m, dtype=np.int64)
    a2 = a * a
    qq = (a2 - 3 * b) / 9.0
    rr = (2 * a2 * a - 9 * a * b + 27 * c) / 54.0
    r2 = rr * rr
    q3 = qq * qq * qq
    adiv3 = a / 3.0
    three = r2 < q3
    if three.any():
        q, r, ad = qq[three], rr[three], adiv3[three]
        sq = np.sqrt(q)
        th = np.arccos(np.clip(r / (q * sq), -1.0, 1.0)) / 3.0
        sq = -2 * sq
        s = np.stack([sq * np.cos(th) - ad, sq * np.cos(th + 2.0 * np.pi / 3.0) - ad,
                      sq * np.cos(th - 2.0 * np.pi / 3.0) - ad], axis=1)
        s.sort(axis=1)
        n3 = np.full(s.shape[0], 3)
        first_eq = (s[:, 1] - s[:, 0]) < _EPSILON
        s[first_eq, 1] = s[first_eq, 2]
        n3[first_eq] = np.where((s[first_eq, 1] - s[first_eq, 0]) < _EPSILON, 1, 2)
        rest = ~first_eq
        n3[rest] = np.where((s[rest, 2] - s[rest, 1]) < _EPSILON, 2, 3)
        sol[three] = s
        cnt[three] = n3
    one = ~three
    if one.any():
        q, r, ad, rsq, qcub = qq[one], rr[one], adiv3[one], r2[one], q3[one]
        d = -np.cbrt(np.abs(r) + np.sqrt(np.maximum(rsq - qcub, 0.0)))
        s = np.zeros((q.shape[0], 3))
        n1 = np.ones(q.shape[0], dtype=np.int64)
        zero = d == 0.0
        s[zero, 0] = -ad[zero]
        nz = ~zero
        d = np.where(r < 0.0, -d, d)
        with np.errstate(divide="ignore", invalid="ignore"):
            sqv = np.where(nz, q / np.where(nz, d, 1.0), 0.0)
        s[nz, 0] = (d + sqv - ad)[nz]
        double = nz & (np.abs(d - sqv) < 8 * _EPSILON)
        pos = double & (d >= 0.0)
        neg = double & (d < 0.0)
        s[pos, 1] = s[pos, 0]
        s[pos, 0] = (-d - ad)[pos]
        s[neg, 1] = (-d - ad)[neg]
        n1[double] = 2
        sol[one] = s
        cnt[one] = n1
    return sol, cnt


def _lnlike(k11, k12, k21, k22, center, f11, f12, f21, f22, half, incr):
    """PLINK ``calc_lnlike``: two-locus log likelihood at a freq11 increment (vectorised)."""
    g11, g22 = f11 + incr, f22 + incr
    g12, g21 = f12 + half - incr, f21 + half - incr
    with np.errstate(divide="ignore", invalid="ignore"):
        ll = center * np.log(g11 * g22 + g12 * g21)
        for k, g in ((k11, g11), (k12, g12), (k21, g21), (k22, g22)):
            ll = ll + np.where(k != 0.0, k * np.log(np.where(k != 0.0, g, 1.0)), 0.0)
    return ll


def r2_from_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Haplotype-frequency r² from 3x3 two-locus genotype count tables (PLINK 1.9 ``--clump``).

    Parameters
    ----------
    counts : float array ``[m, 3, 3]``
        ``counts[j, a, b]`` = number of samples with genotype ``a`` (0/1/2 copies of one
        allele) at the index variant and ``b`` at window variant ``j``; missing calls excluded.

    Returns
    -------
    (r2, ok)
        ``r2 [m]``: signed r² (sign of D), exactly 0 when ``|D| < 2^-44``;
        ``ok [m]``: False where PLINK's ``em_phase_hethet`` fails (a variant monomorphic
        over the jointly observed samples); such pairs are never clumped.

    Notes
    -----
    Vectorised transcription of PLINK 1.9's ``em_phase_hethet_nobase``/``em_phase_hethet``
    including its choice among several in-range cubic roots (PLINK keeps the first root's
    log likelihood as the comparison baseline), so threshold decisions match PLINK.
    """
    c = np.asarray(counts, dtype=np.float64).reshape(-1, 9)
    k11 = 2 * c[:, 0] + c[:, 1] + c[:, 3]
    k12 = 2 * c[:, 2] + c[:, 1] + c[:, 5]
    k21 = 2 * c[:, 6] + c[:, 3] + c[:, 7]
    k22 = 2 * c[:, 8] + c[:, 5] + c[:, 7]
    center = c[:, 4]
    twice_tot = k11 + k12 + k21 + k22 + 2 * center
    ok = twice_tot != 0.0
    recip = np.where(ok, 1.0 / np.where(ok, twice_tot, 1.0), 0.0)
    f11, f12, f21, f22 = k11 * recip, k12 * recip, k21 * recip, k22 * recip
    p1122, p1221 = f11 * f22, f12 * f21
    half = center * recip
    freq1x = f11 + f12 + half
    freq2x = 1.0 - freq1x
    freqx1 = f11 + f21 + half
    freqx2 = 1.0 - freqx1
    has_c = center > 0
    prods_zero = (p1122 == 0.0) & (p1221 == 0.0)
    ok &= has_c | ~prods_zero

    m = c.shape[0]
    sol = np.zeros((m, 3))
    start = np.zeros(m, dtype=np.int64)
    end = np.ones(m, dtype=np.int64)
    cub = has_c & ~prods_zero & ok
    if cub.any():
        s, n = _cubic_real_roots(0.5 * (f11 + f22 - f12 - f21 - 3 * half)[cub],
                                 0.5 * (p1122 + p1221 + half * (f12 + f21 - f11 - f22 + half))[cub],
                                 (-0.5 * half * p1122)[cub])
        h = half[cub]
        rows = np.arange(s.shape[0])
        for _ in range(3):
            dec = (n > 0) & (s[rows, np.maximum(n - 1, 0)] > h + _SMALLISH_EPSILON)
            n = n - dec
        st = np.zeros_like(n)
        for _ in range(3):
            inc = (st < n) & (s[rows, np.minimum(st, 2)] < -_SMALLISH_EPSILON)
            st = st + inc
        lost = st == n
        s[lost, 0] = 0.0
        s[lost, 1] = h[lost]
        st[lost] = 0
        n[lost] = 2
        keep = ~lost
        lo = s[rows, np.minimum(st, 2)]
        s[rows[keep], np.minimum(st, 2)[keep]] = np.where(lo < 0, 0.0, lo)[keep]
        hi_idx = np.maximum(n - 1, 0)
        hi = s[rows, hi_idx]
        s[rows[keep], hi_idx[keep]] = np.where(hi > h, h, hi)[keep]
        sol[cub], start[cub], end[cub] = s, st, n
    spec = has_c & prods_zero
    if spec.any():
        xx, xy, h = (f11 + f22)[spec], (f12 + f21)[spec], half[spec]
        three = (xx + _SMALLISH_EPSILON < h + xy) & (xy + _SMALLISH_EPSILON < h + xx)
        s = np.zeros((xx.shape[0], 3))
        s[:, 1] = np.where(three, (h + xy - xx) * 0.5, h)
        s[:, 2] = np.where(three, h, 0.0)
        sol[spec], start[spec], end[spec] = s, 0, np.where(three, 3, 2)
    rows = np.arange(m)
    best = sol[rows, np.minimum(start, 2)]
    args = (k11, k12, k21, k22, center, f11, f12, f21, f22, half)
    best_ll = _lnlike(*args, best)
    for j in (1, 2):
        active = has_c & (j > start) & (j < end)
        if active.any():
            cur = _lnlike(*args, sol[:, j])
            best = np.where(active & (cur > best_ll), sol[:, j], best)
    freq11 = np.where(has_c, f11 + best, f11)
    expected = freqx1 * freq1x
    d = freq11 - expected
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(np.abs(d) >= _SMALL_EPSILON, np.abs(d) * d / (expected * freq2x * freqx2), 0.0)
    ok &= np.isfinite(r2)
    return np.where(ok, r2, 0.0), ok


def two_locus_counts(index: np.ndarray, block: np.ndarray, haploid: np.ndarray | None = None) -> np.ndarray:
    """3x3 genotype count tables of one variant against each column of a block.

    Parameters
    ----------
    index : int8 ``[n]`` allele counts 0/1/2 (negative = missing).
    block : int8 ``[n, m]`` allele counts (negative = missing).
    haploid : bool ``[n]``, optional
        Samples with one copy of the chromosome (males on X and Y, :meth:`GenotypePanel.haploid
        <edfgen.formats.genotypes.panel.GenotypePanel.haploid>`), hemizygous calls stored as 0/2 and
        heterozygous calls missing: each counts 1/2, i.e. as one haplotype (plink 1.9 ``--clump``:
        ``em_phase_hethet_nobase`` with ``is_x1 = is_x2``, the males' homozygous cells subtracted once).

    Returns
    -------
    float64 ``[m, 3, 3]``: ``counts[j, a, b]`` = samples with ``a`` at ``index`` and ``b`` at
    column ``j`` (samples missing at either dropped; haploid samples 1/2 each).

    Notes
    -----
    This is the product ``onehot(index)^T @ onehot(block)`` (``[3, n] @ [n, 3m]``), evaluated as
    nine column-wise masked counts over the int8 block (the rows of each index genotype class
    against each genotype value): the same arithmetic without materialising float one-hot
    matrices, ~5x faster and 24x less memory than the float64 product.
    """
    index = np.asarray(index)
    block = np.asarray(block, dtype=np.int8)
    m = block.shape[1]
    out = np.empty((m, 3, 3))
    for a in range(3):
        sub = block[index == a]
        for b in range(3):
            out[:, a, b] = np.count_nonzero(sub == b, axis=0)
    if haploid is not None and np.any(haploid):
        out -= 0.5 * two_locus_counts(index[haploid], block[haploid])
    return out


def r2_vector(index: np.ndarray, block: np.ndarray, *, method: str = "plink",
              haploid: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """r² of one index variant with every variant of a window block.

    Parameters
    ----------
    index : int8 ``[n]``
        Allele counts 0/1/2 of the index variant, negative for a missing call.
    block : int8 ``[n, m]``
        Allele counts of the window variants (same samples), negative = missing.
    method
        ``"plink"`` (haplotype-frequency ML r², matches ``plink1.9 --clump``) or ``"corr"``
        (squared allele-count correlation). Missing calls are dropped per pair for both.
    haploid : bool ``[n]``, optional
        Samples that are one haplotype here (males on X and Y; their heterozygous calls missing): they count
        1/2 in the two-locus table (:func:`two_locus_counts`), as plink 1.9 ``--clump`` counts them.

    Returns
    -------
    (r2 [m], ok [m])
        Signed r² and whether it is defined (both variants polymorphic among the samples
        observed at both).
    """
    if method not in R2_METHODS:
        raise InputError(f"r2 method {method!r} unknown (choose from {', '.join(R2_METHODS)})")
    index = np.asarray(index)
    block = np.asarray(block)
    n, m = block.shape
    if m == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    counts = two_locus_counts(index, block, haploid)
    return r2_from_counts(counts) if method == "plink" else corr_r2_from_counts(counts)


def corr_r2_from_counts(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed squared Pearson correlation of allele counts from 3x3 two-locus count tables.

    Exactly the pairwise-complete correlation of the 0/1/2 codes (the table holds every sample
    observed at both variants). Returns ``(r2 [m], ok [m])``; ``ok`` is False when a variant is
    monomorphic among those samples.
    """
    c = np.asarray(counts, dtype=np.float64)
    g = np.arange(3.0)
    n = c.sum(axis=(1, 2))
    ca, cb = c.sum(axis=2), c.sum(axis=1)                    # [m, 3] margins of index / window
    sx, sy = ca @ g, cb @ g
    sxx, syy = ca @ (g * g), cb @ (g * g)
    sxy = np.einsum("mab,a,b->m", c, g, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = sxy - sx * sy / n
        vx = sxx - sx * sx / n
        vy = syy - sy * sy / n
        r = cov / np.sqrt(vx * vy)
    ok = np.isfinite(r) & (vx > 1e-9) & (vy > 1e-9)
    r = np.where(ok, r, 0.0)
    return np.sign(r) * r * r, ok


# ----------------------------------------------------------------------------- shared window LD
class LDPanel(Protocol):
    """What the LD kernels need of a genotype panel (implemented by
    :class:`edfgen.formats.genotypes.panel.GenotypePanel`; kernels never open files themselves).

    ``variants`` has ``chromosome``, ``position``, ``variant_id`` arrays and ``rows_by_id``;
    ``read(rows)`` returns int8 hard calls ``[n_samples, len(rows)]`` (-1 missing);
    ``class_bits(rows)`` the bit-packed genotype classes ``uint8 [len(rows), 3, ceil(n / 8)]``;
    ``haploid(row)``/``haploid_bits(row)`` the samples that are one haplotype on that row's chromosome (males on X
    and Y), bool or bit-packed, or None.
    """

    variants: object
    n_samples: int
    _block: int     # variants per read/class_bits block (the window cache is sized in these)

    def read(self, rows: np.ndarray) -> np.ndarray: ...

    def class_bits(self, rows: np.ndarray) -> np.ndarray: ...

    def haploid(self, row: int) -> np.ndarray | None: ...

    def haploid_bits(self, row: int) -> np.ndarray | None: ...


def chromosome_runs(chrom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(starts, ends)`` of the runs of equal chromosome labels (or codes), in file order."""
    if len(chrom) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(chrom[1:] != chrom[:-1]) + 1
    return np.r_[0, change].astype(np.int64), np.r_[change, len(chrom)].astype(np.int64)


class WindowLD:
    """Which panel variants within a window are in LD with an index variant, computed once per
    index variant and shared by every phenotype clumped against the panel.

    For an index variant (panel row ``i``) the window is every panel variant on its chromosome
    with ``|bp - bp_i| <= radius`` (a contiguous range of panel rows when the panel is sorted);
    the stored answer is ``linked [window]``: r² defined and ``|r²| > r2`` (the clumping test),
    so phenotypes whose index variants coincide reuse it, and :meth:`ensure` computes the index
    variants several phenotypes ask for at once.

    Parameters
    ----------
    panel : :class:`~edfgen.formats.genotypes.panel.GenotypePanel`
        The LD panel (sorted by chromosome and position: see :attr:`usable`); read through its
        ``variants``, ``n_samples``, ``_block`` and ``class_bits(block)``.
    radius : int
        Window radius in bp (``ClumpSettings.bp_radius``).
    r2 : float
        LD threshold (strict ``>``).
    method : str
        ``"plink"`` or ``"corr"`` (:func:`r2_vector`).
    cache_mb : int
        Memory for bit-packed genotype blocks (least recently used ones are dropped).

    Notes
    -----
    The 3x3 two-locus genotype table of two variants is the product ``I_a^T I_b`` of their
    genotype-class indicator matrices (``[3, n] @ [n, 3]``; a missing call is in no class), the
    tables :func:`two_locus_counts` builds. Here the indicators are packed 64 samples to a
    word, once per block of panel variants, and the product is an AND and a population count
    per word (as PLINK 1.9 does), for an index variant against its whole window at once; 48x
    less memory than float32 indicators, so windows of many index variants stay cached. r² then
    comes from :func:`r2_from_counts` (or :func:`corr_r2_from_counts`) on all pairs of a round
    at once, so the answers are identical to :func:`r2_vector`'s.
    """

    def __init__(self, panel, *, radius: int, r2: float, method: str = "plink",
                 cache_mb: int = 512):
        if method not in R2_METHODS:
            raise InputError(f"r2 method {method!r} unknown (choose from {', '.join(R2_METHODS)})")
        self.panel, self.radius, self.r2, self.method = panel, int(radius), float(r2), method
        v = panel.variants
        chrom, pos = np.asarray(v.chromosome).astype(str), np.asarray(v.position, dtype=np.int64)
        self._lo = np.zeros(len(pos), dtype=np.int64)
        self._hi = np.zeros(len(pos), dtype=np.int64)
        self.usable = True
        if len(pos):
            starts, ends = chromosome_runs(chrom)
            self.usable = len(set(chrom[starts])) == len(starts)     # each chromosome one run of rows
            for s, e in zip(starts, ends):
                p = pos[s:e]
                if np.any(np.diff(p) < 0):
                    self.usable = False
                    break
                self._lo[s:e] = s + np.searchsorted(p, p - self.radius, side="left")
                self._hi[s:e] = s + np.searchsorted(p, p + self.radius, side="right")
        self._words = (panel.n_samples + 63) // 64
        self._bits: "OrderedDict[int, np.ndarray]" = OrderedDict()
        self._bits_max = max(2, (cache_mb << 20) // max(1, panel._block * 3 * self._words * 8))
        self._linked: dict[int, np.ndarray] = {}
        self.n_pairs = 0

    def window(self, row: int) -> tuple[int, int]:
        """Panel rows ``[lo, hi)`` of the window of panel row ``row``."""
        return int(self._lo[row]), int(self._hi[row])

    def linked(self, row: int, rows: np.ndarray) -> np.ndarray:
        """bool ``[len(rows)]``: is panel row ``rows[j]`` (inside ``row``'s window) linked to ``row``."""
        self.ensure([row])
        return self._linked[int(row)][np.asarray(rows, dtype=np.int64) - self._lo[row]]

    def _block_bits(self, b: int) -> np.ndarray:
        """uint64 ``[variants of block b, 3, words]``: genotype classes 0/1/2 (copies of the counted
        allele, A1 for PLINK 1), bit ``i % 64`` of word ``i // 64`` for sample ``i``."""
        arr = self._bits.get(b)
        if arr is not None:
            self._bits.move_to_end(b)
            return arr
        bits = self.panel.class_bits(b)                                     # uint8 [k, 3, ceil(n / 8)]
        packed = np.zeros((bits.shape[0], 3, self._words * 8), dtype=np.uint8)
        packed[:, :, :bits.shape[2]] = bits
        arr = packed.view(np.uint64)
        self._bits[b] = arr
        while len(self._bits) > self._bits_max:
            self._bits.popitem(last=False)
        return arr

    def _rows_bits(self, lo: int, hi: int) -> np.ndarray:
        """Packed classes ``[hi - lo, 3, words]`` of panel rows ``lo..hi-1``."""
        size = self.panel._block
        parts = [self._block_bits(b)[max(lo - b * size, 0):min(hi - b * size, size)]
                 for b in range(lo // size, (hi - 1) // size + 1)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def counts(self, row: int, lo: int, hi: int) -> np.ndarray:
        """3x3 two-locus genotype tables ``[hi - lo, 3, 3]`` of panel row ``row`` against rows ``lo..hi-1``."""
        x = self._rows_bits(row, row + 1)[0]                          # [3, words]
        w = self._rows_bits(lo, hi)                                   # [m, 3, words]
        out = np.empty((hi - lo, 3, 3))
        for a in range(3):
            for b in range(3):
                out[:, a, b] = np.bitwise_count(w[:, b, :] & x[a]).sum(axis=1)
        h = self.panel.haploid_bits(row)
        if h is not None:                   # males on X/Y: one haplotype each (two_locus_counts' ``haploid``)
            packed = np.zeros(self._words * 8, dtype=np.uint8)
            packed[:h.size] = h
            xh = x & packed.view(np.uint64)
            for a in range(3):
                for b in range(3):
                    out[:, a, b] -= 0.5 * np.bitwise_count(w[:, b, :] & xh[a]).sum(axis=1)
        return out

    def ensure(self, rows) -> None:
        """Compute the windows of the panel rows ``rows`` not computed yet (all pairs of them in one
        :func:`r2_from_counts` call)."""
        todo = np.unique(np.asarray([r for r in rows if int(r) not in self._linked], dtype=np.int64))
        if todo.size == 0:
            return
        tables, spans, o = [], [], 0
        for i in todo:
            lo, hi = self.window(int(i))
            tables.append(self.counts(int(i), lo, hi))
            spans.append((int(i), o, o + hi - lo))
            o += hi - lo
        c = np.concatenate(tables)
        r2, ok = (r2_from_counts if self.method == "plink" else corr_r2_from_counts)(c)
        linked = ok & (np.abs(r2) > self.r2)
        self.n_pairs += c.shape[0]
        for i, s0, s1 in spans:
            self._linked[i] = linked[s0:s1]
