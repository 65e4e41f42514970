"""Layout-2 genotype blocks of a BGEN file decoded to dosages with numpy, a batch of variants at a time.

:class:`~edfgen.formats.genotypes.bgen.BgenReader` reads and decompresses the blocks; :func:`decode_rows`
turns a batch of decompressed blocks of one length into second-allele dosages (or int8 hard calls).
Biallelic blocks are read here; the rest is left to
:func:`~edfgen.formats.genotypes.bgen_check.block_problem`, which names what is wrong.

Diploid samples (every block of an autosome): 8-bit (and any depth up to 8) through a lookup table over
the byte pair of a sample, 16- and 32-bit and other depths arithmetically, in cbgen's float32 arithmetic
(``bgen_genotype_read32``: ``P = float32(x) / (2^B - 1)``, the last probability ``1 - sum``, then
:func:`~edfgen.formats.genotypes.base.dosage_from_probabilities`), so the dosages equal cbgen's bit for bit.

Haploid samples (ploidy 1: what ``plink2 --export bgen-1.2``/``bgen-1.3`` writes for males on non-PAR X,
and for Y and MT) store one probability, P(A) (phased or not); such a sample's dosage is
``2 x P(B) = 2 (1 - P(A))``, on the 0/2 scale of a haploid hard call, as ``plink2 --bgen`` imports it.
Ploidy 0 (no value stored: plink2 writes females on Y so) reads as missing, as plink2 reads it. Blocks
with a ploidy-0 or -1 sample are decoded by :func:`_decode_mixed` (sample offsets from the ploidy
column, one gather per batch of blocks); a ploidy above 2 is refused.

References
----------
Band G, Marchini J (2018) BGEN: a binary file format for imputed genotype and haplotype data.
bioRxiv 308296. doi:10.1101/308296
"""

from __future__ import annotations

import numpy as np

from edfgen.formats.genotypes.base import MISSING_INT8, to_int8
from edfgen.formats.genotypes.bgen_check import PROB_SUM_TOLERANCE


def _dosage_f32(a: np.ndarray, b: np.ndarray, bits: int, phased: bool, s: np.ndarray | None = None) -> np.ndarray:
    """Dosages from the two stored integers of a biallelic diploid sample, in cbgen's float32 arithmetic.

    Unphased: ``a``, ``b`` = P(AA), P(AB) in units of ``1 / (2^bits - 1)``; phased: P(A) of haplotype
    1 and 2. As ``bgen_genotype_read32`` (``float(x) / denom``, the last probability
    ``(denom - float(sum)) / denom``, sums in uint32) followed by :func:`dosage_from_probabilities`;
    ``s``: ``a + b`` when the caller has it.
    """
    f32 = np.float32
    denom = f32((1 << bits) - 1)
    if phased:
        return (denom - a.astype(f32)) / denom + (denom - b.astype(f32)) / denom
    s = np.add(a, b, dtype=np.uint32) if s is None else s
    return b.astype(f32) / denom + f32(2) * ((denom - s.astype(f32)) / denom)


_LUTS: dict[tuple, np.ndarray] = {}


#: what the look-up tables give for an unphased pair whose probabilities sum above 1 (no dosage is < 0)
_OVER_F32, _OVER_INT8 = np.float32(-1.0), np.int8(-128)


def _lut(bits: int, phased: bool, hard: bool = False) -> np.ndarray:
    """Dosage (``hard``: its int8 hard call) of every pair ``a | b << bits`` (bits <= 8); unphased pairs
    with ``a + b > 2^bits - 1`` (probabilities summing above 1) give ``_OVER_F32`` / ``_OVER_INT8``."""
    key = (bits, phased, hard)
    if key not in _LUTS:
        idx = np.arange(1 << (2 * bits), dtype=np.uint32)
        a, b = idx & ((1 << bits) - 1), idx >> bits
        d = _dosage_f32(a, b, bits, phased)
        d = to_int8(d) if hard else d
        if not phased:
            d[a + b > (1 << bits) - 1] = _OVER_INT8 if hard else _OVER_F32
        _LUTS[key] = d
    return _LUTS[key]


def _lut_haploid(bits: int, phased: bool, hard: bool = False) -> np.ndarray:
    """:func:`_lut` (pairs ``a | b << bits``) followed by the haploid dosage ``2 (2^bits - 1 - a) / (2^bits - 1)``
    (``hard``: its hard call) of every value ``a`` (index ``2^(2 bits) + a``)."""
    key = (bits, phased, hard, 1)
    if key not in _LUTS:
        denom = np.float32((1 << bits) - 1)
        hap = np.float32(2) * ((denom - np.arange(1 << bits, dtype=np.uint32).astype(np.float32)) / denom)
        _LUTS[key] = np.concatenate([_lut(bits, phased, hard), to_int8(hap) if hard else hap])
    return _LUTS[key]


def _over_one(block: np.ndarray, missing: np.ndarray | None) -> np.ndarray:
    """Rows of a look-up result ``block`` with a called sample whose probabilities sum above 1."""
    sentinel = _OVER_INT8 if block.dtype == np.int8 else _OVER_F32
    if block.size == 0 or block.min() > sentinel:
        return np.zeros(len(block), dtype=bool)
    hit = block == sentinel
    return (hit & ~missing).any(axis=1) if missing is not None else hit.any(axis=1)


def _unpack(probs: np.ndarray, k: np.ndarray, bits: int) -> np.ndarray:
    """Values ``k`` (indices) of ``bits`` bits each, packed little-endian from bit 0 of each row of ``probs``:
    ``k [n]`` the same for every row, or ``k [g, n]`` per row."""
    first = k.astype(np.int64) * bits
    byte, shift = first >> 3, (first & 7).astype(np.uint64)
    nbytes = (bits + 7 + 7) // 8
    padded = np.concatenate([probs, np.zeros((len(probs), nbytes), dtype=np.uint8)], axis=1)
    v = np.zeros((len(probs), k.shape[-1]), dtype=np.uint64)
    for i in range(nbytes):
        col = padded[:, byte + i] if k.ndim == 1 else np.take_along_axis(padded, byte + i, axis=1)
        v |= col.astype(np.uint64) << np.uint64(8 * i)
    return (v >> shift) & np.uint64((1 << bits) - 1)


def _header(arr: np.ndarray, N: int):
    """Header fields of decompressed layout-2 blocks ``arr [g, length]``: (samples, alleles, phased, bits)."""
    head = np.ascontiguousarray(arr[:, :6])
    return (head[:, :4].copy().view("<u4").ravel(), head[:, 4:6].copy().view("<u2").ravel(),
            arr[:, 8 + N].astype(np.int64), arr[:, 9 + N].astype(np.int64))


def decode_rows(arr: np.ndarray, N: int, sidx: np.ndarray | None, out: np.ndarray | None = None, *,
                 hard: bool = False) -> tuple[np.ndarray | None, np.ndarray]:
    """Dosages ``[g, n]`` of decompressed layout-2 blocks ``arr [g, length]`` of one length (written
    into ``out`` when given; ``hard``: int8 hard calls as :func:`to_int8` makes them), and which rows are
    not biallelic blocks of N samples of ploidy 1 or 2 or hold probabilities summing above 1 (checked for
    the samples read; left for :func:`~edfgen.formats.genotypes.bgen_check.block_problem`; their rows of the
    result are undefined). Blocks whose minimum ploidy is 0 or 1 go to :func:`_decode_mixed`."""
    g, length = arr.shape
    bad = np.ones(g, dtype=bool)
    if length < 10 + N:
        return None, bad
    mixed = arr[:, 6] < 2                                # blocks with haploid (or ploidy-0) samples
    if mixed.any():
        dos = out if out is not None else np.empty((g, N if sidx is None else len(sidx)),
                                                   dtype=np.int8 if hard else np.float32)
        if mixed.all():
            return _decode_mixed(arr, N, sidx, out=dos, hard=hard)
        dos[mixed], bad[mixed] = _decode_mixed(arr[mixed], N, sidx, hard=hard)
        rest, bad[~mixed] = decode_rows(arr[~mixed], N, sidx, hard=hard)
        if rest is not None:
            dos[~mixed] = rest
        return dos, bad
    n_field, k_field, phased, bits = _header(arr, N)
    expect = 10 + N + (2 * N * bits + 7) // 8
    bad = (n_field != N) | (k_field != 2) | (phased > 1) | (bits < 1) | (bits > 32) | (expect != length)
    bad |= (arr[:, 6] != 2) | (arr[:, 7] != 2)           # the block's minimum and maximum ploidy
    ploidy = arr[:, 8:8 + N]
    odd = ploidy != 2
    missing = None
    if odd.any():
        bad |= (odd & (ploidy != 0x82)).any(axis=1)    # 0x82: missing, diploid
        missing = odd
    good = ~bad
    if not good.any():
        return None, bad
    dos = out if out is not None else np.empty((g, N if sidx is None else len(sidx)),
                                               dtype=np.int8 if hard else np.float32)
    miss_read = None if missing is None else missing if sidx is None else np.take(missing, sidx, axis=1)
    over = np.zeros(g, dtype=bool)
    for key in np.unique(phased[good] * 64 + bits[good]).tolist():
        ph, b = bool(key // 64), key % 64
        sel = good & (phased * 64 + bits == key)
        whole = bool(sel.all())
        probs = arr[:, 10 + N:] if whole else arr[sel, 10 + N:]
        if b == 8:                                     # [g, N] pairs a | b << 8: one table look-up
            v = probs.view("<u2") if (10 + N) % 2 == 0 and length % 2 == 0 else np.ascontiguousarray(probs).view("<u2")
            if sidx is not None:
                v = np.take(v, sidx, axis=1)                  # (twice as fast as v[:, sidx])
            if whole:
                np.take(_lut(8, ph, hard), v, out=dos)
                if not ph:
                    over |= _over_one(dos, miss_read)
            else:
                dos[sel] = part = np.take(_lut(8, ph, hard), v)
                if not ph:
                    over[sel] |= _over_one(part, None if miss_read is None else miss_read[sel])
            continue
        if b in (16, 32):
            v = np.ascontiguousarray(probs).view("<u2" if b == 16 else "<u4")
            a_, b_ = ((v[:, 0::2], v[:, 1::2]) if sidx is None else
                      (np.take(v, 2 * sidx, axis=1), np.take(v, 2 * sidx + 1, axis=1)))
        else:
            k = np.arange(N) if sidx is None else sidx
            a_, b_ = _unpack(probs, 2 * k, b), _unpack(probs, 2 * k + 1, b)
        total = None if ph or b < 8 else np.add(a_, b_, dtype=np.uint32 if b <= 16 else np.uint64)
        res = (np.take(_lut(b, ph, hard), a_ | (b_ << np.uint64(b))) if b < 8 and b not in (16, 32)
               else _dosage_f32(a_, b_, b, ph, total))
        if not ph:
            ms = None if miss_read is None else miss_read if whole else miss_read[sel]
            if b < 8:
                o1 = _over_one(res, ms)
            else:                               # the tolerance is < 1 unit up to 19 bits
                limit = ((1 << b) - 1) * (1 + PROB_SUM_TOLERANCE)
                o1 = np.zeros(len(total), dtype=bool)
                if total.size and total.max() > limit:
                    above = total > limit
                    o1 = (above & ~ms).any(axis=1) if ms is not None else above.any(axis=1)
            if whole:
                over |= o1
            else:
                over[sel] |= o1
        if hard and res.dtype != np.int8:
            res = to_int8(res)
        if whole:
            dos[...] = res
        else:
            dos[sel] = res
    if missing is not None:
        dos[miss_read] = MISSING_INT8 if hard else np.nan
    return dos, bad | over


def _values_at(probs: np.ndarray, k: np.ndarray, bits: int) -> np.ndarray:
    """The values ``k`` of each row of ``probs`` (``bits`` bits each, packed): ``k [n]`` for every row or
    ``k [g, n]`` per row; 8, 16 and 32 bits by a typed view, other depths by :func:`_unpack`."""
    if bits in (8, 16, 32):
        v = np.ascontiguousarray(probs).view({8: "u1", 16: "<u2", 32: "<u4"}[bits])
        if v.shape[1] == 0:                            # every sample of ploidy 0
            return np.zeros((len(v), k.shape[-1]), dtype=v.dtype)
        k = np.minimum(k, v.shape[1] - 1)              # (a ploidy-0 sample at the end: read missing)
        return np.take(v, k, axis=1) if k.ndim == 1 else np.take_along_axis(v, k, axis=1)
    return _unpack(probs, k, bits)


def _decode_mixed(arr: np.ndarray, N: int, sidx: np.ndarray | None, *, out: np.ndarray | None = None,
                  hard: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """:func:`decode_rows` of blocks with haploid samples: a sample of ploidy ``p`` (0, 1 or 2) stores ``p``
    values (unphased: P(A) [, P(AB)]; phased: P(A) of each haplotype), so its first value is at the sum
    of the ploidies before it. Diploid samples read as in :func:`_dosage_f32`, haploid ones as
    ``2 x P(B) = 2 (denom - x) / denom`` in float32 (cbgen's last probability, doubled), ploidy 0 as
    missing (``plink2 --export bgen-1.2`` writes females on Y so; plink2 reads them missing). Returns the
    dosages (or hard calls) ``[g, n]`` and the rows that are bad (any other ploidy, a wrong length or
    header, probabilities summing above 1; their rows of the result are undefined); ``out``: as in
    :func:`decode_rows`."""
    g, length = arr.shape
    n_field, k_field, phased, bits = _header(arr, N)
    ploidy = arr[:, 8:8 + N]
    p = ploidy & 63                                          # uint8; bit 7: missing, bit 6: unused (bad)
    expect = 10 + N + (p.sum(axis=1, dtype=np.int64) * bits + 7) // 8
    bad = (n_field != N) | (k_field != 2) | (phased > 1) | (bits < 1) | (bits > 32) | (expect != length)
    bad |= ((ploidy & 127) > 2).any(axis=1) | (arr[:, 6] != p.min(axis=1)) | (arr[:, 7] != p.max(axis=1))
    n = N if sidx is None else len(sidx)
    dos = out if out is not None else np.empty((g, n), dtype=np.int8 if hard else np.float32)
    f32 = np.float32
    for key in np.unique(phased[~bad] * 64 + bits[~bad]).tolist():
        ph, b = bool(key // 64), key % 64
        sel = ~bad & (phased * 64 + bits == key)
        pk = p[sel]
        if (pk == pk[0]).all():                            # one ploidy pattern (the usual: the same males)
            pk = pk[0]
        first = np.cumsum(pk, axis=-1, dtype=np.int64) - pk   # index of each sample's first value
        miss = ploidy[sel]
        miss = (miss > 127) | (miss == 0)
        if sidx is not None:
            pk, first, miss = np.take(pk, sidx, axis=-1), np.take(first, sidx, axis=-1), miss[:, sidx]
        probs = arr[sel, 10 + N:]
        two = pk == 2
        a, c = _values_at(probs, first, b), _values_at(probs, first + two, b)   # c: a diploid's second value
        if b <= 8:                                         # one look-up: pairs, then haploid values after them
            key2 = np.where(two, a.astype(np.uint32) | (c.astype(np.uint32) << np.uint32(b)),
                            a.astype(np.uint32) + np.uint32(1 << (2 * b)))
            d = np.take(_lut_haploid(b, ph, hard), key2)
            if not ph:
                bad[np.flatnonzero(sel)[_over_one(d, miss)]] = True
        else:
            denom = f32((1 << b) - 1)
            d = np.where(two, _dosage_f32(a, c, b, ph), f32(2) * ((denom - a.astype(f32)) / denom))
            if not ph:                                     # only a diploid sample's two values can sum above 1
                over = (np.add(a, c, dtype=np.int64) > ((1 << b) - 1) * (1 + PROB_SUM_TOLERANCE)) & two & ~miss
                bad[np.flatnonzero(sel)[over.any(axis=1)]] = True
            d = to_int8(d) if hard else d
        d[miss] = MISSING_INT8 if hard else np.nan
        dos[sel] = d
    return dos, bad
