"""BGEN bytes checked before any decoder sees them: the layout of the whole file (:func:`scan_bgen`) and
the contents of one genotype block (:func:`block_problem`).

cbgen (libbgen, C) trusts the lengths and counts it reads: a truncated file, a header that announces
more variants than the file holds, a misaligned variant block or a ploidy byte above the block's
maximum made it read outside its buffers and end the process with SIGSEGV. So every BGEN is walked
here first, with :mod:`struct` over ``os.pread`` windows (the variant headers only; the genotype
payloads are skipped by their lengths): header length and offset, variant and sample counts, magic,
flags (compression 0-2, layout 1-2), the sample-id block, and each variant's identifying fields and
genotype-block lengths against the file's size; the variants must end exactly where the file does.
Any mismatch is an :class:`~edfgen.exceptions.InputError` naming the file, the variant (ordinal and
id when known) and the byte offset.

The genotype blocks are checked as they are decoded (:class:`~edfgen.formats.genotypes.bgen.BgenReader`
vectorises the common case; :func:`block_problem` is the scalar check and the message): the
compressed payload must decompress (zlib, zstd) to the length its header states; layout 2 blocks
must hold the file's sample count, two alleles, haploid or diploid samples (ploidy 1 or 2, missing or
not, or 0: missing, as plink2 writes females on Y; the block's ploidy range equal to theirs), a
phased flag 0/1, 1-32 bits per probability and exactly the bytes those imply (one value per haploid
sample, two per diploid); and each sample's stored
probabilities must sum to at most ``1 + PROB_SUM_TOLERANCE`` (the implied last probability is one
minus that sum: above 1 it is negative, and the dosage was decoded as about -1).

References
----------
Band G, Marchini J (2018) BGEN: a binary file format for imputed genotype and haplotype data.
bioRxiv 308296. doi:10.1101/308296 (layouts 1 and 2: https://www.well.ox.ac.uk/~gav/bgen_format/spec/latest.html)
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from edfgen.exceptions import InputError

#: stored probabilities of one sample may sum to at most 1 + this (the last one is 1 - their sum)
PROB_SUM_TOLERANCE = 1e-6
#: bytes read per variant header at a time
_WINDOW = 4096

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
#: the bytes a chromosome name may hold (printable ASCII, no blank)
_PRINTABLE = bytes(range(33, 127))


@dataclass(frozen=True)
class BgenLayout:
    """What :func:`scan_bgen` found: header fields and, per variant, where its genotype block lies.

    ``starts[i]`` is the byte offset of variant ``i``'s genotype block (its length field; cbgen's
    metafile offset), ``ends[i]`` the first byte after it; ``n_alleles[i]`` its allele count (of every variant,
    or of the first ``first`` walked: ``n_variants`` is the header's count).
    """

    n_variants: int
    n_samples: int
    compression: int
    layout: int
    sample_ids: bool
    starts: np.ndarray
    ends: np.ndarray
    n_alleles: np.ndarray


class _Truncated(Exception):
    pass


def _fail(label: str, where: str, what: str) -> InputError:
    return InputError(f"{label}: {where}: {what}")


def scan_bgen(path: str, *, label: str | None = None, first: int | None = None) -> BgenLayout:
    """Walk the layout of the BGEN ``path`` (see the module docstring) without decoding a genotype; with
    ``first``, the header and the first ``first`` variants only (``starts``/``ends``/``n_alleles`` of those; the
    file's end not checked): what one block says of the file, without a walk over every variant header (about
    5 us each: minutes over a biobank's 90 million).

    Raises
    ------
    InputError
        A header, sample block or variant block that does not fit the file, with its byte offset.
    """
    label = label or f"--bgen {path}"
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise InputError(f"{label}: cannot be read ({exc.strerror or exc})") from None
    try:
        size = os.fstat(fd).st_size
        return _scan(fd, size, label, first)
    finally:
        os.close(fd)


def _scan(fd: int, size: int, label: str, first: int | None = None) -> BgenLayout:
    head = os.pread(fd, 24, 0)
    if len(head) < 24:
        raise _fail(label, "header", f"the file has {size} bytes, a BGEN header needs at least 24: not a BGEN "
                    "file, or truncated")
    offset, lh, m, n = struct.unpack_from("<IIII", head, 0)
    magic = head[16:20]
    if magic not in (b"bgen", b"\0\0\0\0"):
        raise _fail(label, "header", f"magic bytes {magic!r} at byte 16 (expected b'bgen'): not a BGEN file")
    if lh < 20 or lh > offset:
        raise _fail(label, "header", f"header length {lh} at byte 4 must be >= 20 and <= the first variant's "
                    f"offset {offset}")
    if offset + 4 > size:
        raise _fail(label, "header", f"the first variant starts at byte {offset + 4}, past the end of the file "
                    f"({size} bytes): truncated")
    flags = _U32.unpack(os.pread(fd, 4, lh))[0]       # the last 4 bytes of the header block (from byte 4)
    compression, layout, sample_ids = flags & 3, (flags >> 2) & 15, bool(flags >> 31)
    if compression == 3 or layout not in (1, 2) or (layout == 1 and compression == 2):
        raise _fail(label, "header", f"flags {flags:#010x} at byte {lh}: compression {compression} with layout "
                    f"{layout} (valid: layout 1 with compression 0/1, layout 2 with 0/1/2)")
    if n == 0:
        raise _fail(label, "header", "0 samples")
    if sample_ids:
        _check_sample_block(fd, 4 + lh, offset + 4, n, label)
    k = m if first is None else min(m, first)
    starts = np.empty(k, dtype=np.int64)
    ends = np.empty(k, dtype=np.int64)
    nall = np.empty(k, dtype=np.int64)
    pos = offset + 4
    for i in range(k):
        try:
            nxt = _variant_common(fd, pos, size, compression, n, i, starts, ends, nall) if layout == 2 else None
            pos = nxt if nxt is not None else _variant(fd, pos, size, layout, compression, n, i, starts, ends, nall)
        except _Truncated as exc:
            raise _fail(label, f"variant {i + 1} of {m} (byte offset {exc.args[1]})",
                        f"{exc.args[0]} runs past the end of the file ({size} bytes): the file is truncated, "
                        f"or the header's variant count ({m}) is more than it holds") from None
        except ValueError as exc:
            raise _fail(label, f"variant {i + 1} of {m} (byte offset {pos})", f"{exc} (misaligned or corrupt "
                        "variant block)") from None
    if k == m and pos != size:
        raise _fail(label, f"byte offset {pos}", f"{size - pos} bytes follow the {m} variants the header announces "
                    "(wrong variant count in the header, or data appended)")
    return BgenLayout(n_variants=m, n_samples=n, compression=compression, layout=layout, sample_ids=sample_ids,
                      starts=starts, ends=ends, n_alleles=nall)


def _check_sample_block(fd: int, at: int, first_variant: int, n: int, label: str) -> None:
    """The sample-identifier block at ``at``: its length, sample count and every id length fit."""
    head = os.pread(fd, 8, at)
    if len(head) < 8:
        raise _fail(label, f"sample block (byte offset {at})", "truncated")
    length, n_ids = struct.unpack("<II", head)
    if at + length > first_variant or length < 8:
        raise _fail(label, f"sample block (byte offset {at})", f"length {length} does not fit before the first "
                    f"variant (byte {first_variant})")
    if n_ids != n:
        raise _fail(label, f"sample block (byte offset {at})", f"{n_ids} sample ids, the header has {n} samples")
    data = os.pread(fd, length - 8, at + 8)
    o, end = 0, len(data)
    for k in range(n):
        if o + 2 > end:
            raise _fail(label, f"sample block (byte offset {at + 8 + o})", f"sample id {k + 1} runs past the block")
        o += 2 + _U16.unpack_from(data, o)[0]
    if o != end:
        raise _fail(label, f"sample block (byte offset {at})", f"the {n} ids take {o + 8} bytes, the block says "
                    f"{length}")


def _variant_common(fd: int, pos: int, size: int, compression: int, n: int, i: int,
                    starts: np.ndarray, ends: np.ndarray, nall: np.ndarray) -> int | None:
    """:func:`_variant` for a layout-2 variant whose header fits one window (the common case, without
    bounds checks per field: any field beyond the window, or anything odd, returns None for :func:`_variant`)."""
    buf = os.pread(fd, _WINDOW, pos)
    u16, u32 = _U16.unpack_from, _U32.unpack_from
    try:
        o = 2 + u16(buf, 0)[0]
        o += 2 + u16(buf, o)[0]
        k = u16(buf, o)[0]
        chrom = buf[o + 2:o + 2 + k]
        o += 6 + k
        k_alleles = u16(buf, o)[0]
        o += 2
        for _ in range(k_alleles):
            o += 4 + u32(buf, o)[0]
        c = u32(buf, o)[0]
        d = u32(buf, o + 4)[0] if compression else c
    except struct.error:
        return None
    end = pos + o + 4 + c
    if (not chrom or chrom.translate(None, _PRINTABLE) or k_alleles < 1 or end > size
            or (compression and c < 4) or (k_alleles == 2 and not 10 + n <= d <= 10 + 9 * n)):
        return None
    starts[i], ends[i], nall[i] = pos + o, end, k_alleles
    return end


def _variant(fd: int, pos: int, size: int, layout: int, compression: int, n: int, i: int,
             starts: np.ndarray, ends: np.ndarray, nall: np.ndarray) -> int:
    """Check the variant block at ``pos``; record its genotype block; return where the next one starts."""
    buf = os.pread(fd, _WINDOW, pos)
    o = 0

    def need(k: int, what: str) -> None:
        nonlocal buf
        if o + k > len(buf):
            if pos + o + k > size:
                raise _Truncated(what, pos + o)
            buf = os.pread(fd, max(o + k + _WINDOW, 2 * len(buf)), pos)

    if layout == 1:
        need(4, "the sample count")
        n_here = _U32.unpack_from(buf, o)[0]
        if n_here != n:
            raise ValueError(f"{n_here} samples, the header has {n}")
        o += 4
    for what in ("variant id", "rsid", "chromosome"):
        need(2, f"the {what} length")
        k = _U16.unpack_from(buf, o)[0]
        need(2 + k, f"the {what}")
        if what == "chromosome" and (k == 0 or buf[o + 2:o + 2 + k].translate(None, _PRINTABLE)):
            raise ValueError(f"chromosome {bytes(buf[o + 2:o + 2 + k])!r} is not printable text")
        o += 2 + k
    need(4 if layout == 1 else 6, "the position")
    o += 4
    if layout == 2:
        k_alleles = _U16.unpack_from(buf, o)[0]
        o += 2
        if k_alleles < 1:
            raise ValueError("0 alleles")
    else:
        k_alleles = 2
    for a in range(k_alleles):
        need(4, f"allele {a + 1}'s length")
        length = _U32.unpack_from(buf, o)[0]
        if pos + o + 4 + length > size:
            raise _Truncated(f"allele {a + 1} ({length} bytes)", pos + o)
        o += 4 + length
        if o + 4 > len(buf):           # the allele was longer than the window: continue after it
            pos, o = pos + o, 0
            buf = os.pread(fd, _WINDOW, pos)
    start = pos + o
    if layout == 1 and compression == 0:
        end = start + 6 * n
    else:
        need(4, "the genotype block length")
        c = _U32.unpack_from(buf, o)[0]
        end = start + 4 + c
        if layout == 2 and compression:
            if c < 4:
                raise ValueError(f"genotype block length {c} < 4")
            need(8, "the decompressed length")
            d = _U32.unpack_from(buf, o + 4)[0]
        else:
            d = c
        if layout == 2 and k_alleles == 2 and not 10 + n <= d <= 10 + 9 * n:
            raise ValueError(f"genotype block of {d} bytes (decompressed) for {n} samples "
                             f"(a biallelic block has {10 + n}..{10 + 9 * n})")
    if end > size:
        raise _Truncated(f"the genotype block ({end - start} bytes)", start)
    starts[i], ends[i], nall[i] = start, end, k_alleles
    return end


def _values(data: np.ndarray, count: int, bits: int) -> np.ndarray:
    """The first ``count`` integers of ``bits`` bits packed little-endian in the bytes ``data``."""
    k = np.arange(count, dtype=np.int64) * bits
    byte, shift = k >> 3, (k & 7).astype(np.uint64)
    padded = np.concatenate([data, np.zeros(5, dtype=np.uint8)])
    v = np.zeros(count, dtype=np.uint64)
    for j in range((bits + 7 + 7) // 8):
        v |= padded[byte + j].astype(np.uint64) << np.uint64(8 * j)
    return (v >> shift) & np.uint64((1 << bits) - 1)


def decompress(payload: bytes, compression: int, length: int) -> bytes:
    """A genotype block's payload decompressed (zlib, zstd) or as it is; raises ValueError when corrupt."""
    if compression == 0:
        return bytes(payload)
    if compression == 1:
        try:
            return zlib.decompress(payload, bufsize=max(length, 1))
        except zlib.error as exc:
            raise ValueError(f"corrupt zlib data ({exc})") from None
    try:
        import zstandard
    except ImportError:   # pragma: no cover - zstandard comes with the install
        raise ValueError("zstd-compressed block and no zstandard module") from None
    try:
        return zstandard.ZstdDecompressor().decompress(payload, max_output_size=max(length, 1))
    except zstandard.ZstdError as exc:
        raise ValueError(f"corrupt zstd data ({exc})") from None


def split_block(raw: bytes, layout: int, compression: int) -> tuple[bytes, int]:
    """``(payload, decompressed length)`` of a genotype block's bytes ``raw`` (from its length field)."""
    if layout == 1 and compression == 0:
        return raw, len(raw)
    c = _U32.unpack_from(raw, 0)[0]
    if compression and layout == 2:
        return raw[8:4 + c], _U32.unpack_from(raw, 4)[0]
    return raw[4:4 + c], (-1 if layout == 1 else c)


def block_problem(raw: bytes, layout: int, compression: int, n: int) -> str | None:
    """What is wrong with one biallelic variant's genotype block ``raw`` (bytes from its length field to its
    end), or None when a decoder may read it (see the module docstring)."""
    payload, length = split_block(raw, layout, compression)
    try:
        data = decompress(payload, compression, length)
    except ValueError as exc:
        return f"the genotype block does not decompress: {exc}"
    if layout == 1:                    # BgenReader refuses layout 1 on opening (libbgen does not read it)
        return "BGEN layout 1"
    if len(data) != length:
        return f"decompressed to {len(data)} bytes, the block header says {length}"
    if len(data) < 10 + n:
        return f"genotype block of {len(data)} bytes, {n} samples need at least {10 + n}"
    n_here, k, pmin, pmax = struct.unpack_from("<IHBB", data, 0)
    if n_here != n:
        return f"genotype block for {n_here} samples, the file has {n}"
    if k != 2:
        return f"genotype block with {k} alleles, the variant lists 2"
    ploidy = np.frombuffer(data, dtype=np.uint8, count=n, offset=8)
    p = (ploidy & 127).astype(np.int64)                       # bit 7: missing
    odd = np.flatnonzero(p > 2)                               # ploidy 0 (plink2: females on Y): missing
    if len(odd) or not pmin <= pmax <= 2 or (n and (pmin != p.min() or pmax != p.max())):
        s = int(odd[0]) if len(odd) else 0
        return (f"ploidy {int(p[s])} of sample {s + 1} (block ploidy range {pmin}-{pmax}): only haploid and "
                "diploid genotypes are read")
    phased, bits = data[8 + n], data[9 + n]
    if phased > 1:
        return f"phased flag {phased} (0 or 1)"
    if not 1 <= bits <= 32:
        return f"{bits} bits per probability (1-32)"
    values = int(p.sum())                                     # ploidy 1: one value, 2: two (phased or not)
    expect = 10 + n + (values * bits + 7) // 8
    if len(data) != expect:
        return f"genotype block of {len(data)} bytes, {n} samples at {bits} bits need {expect}"
    if phased or not values:
        return None                         # one stored probability per haplotype: never above 1
    v = _values(np.frombuffer(data, dtype=np.uint8, offset=10 + n), values, bits).astype(np.int64)
    first = np.minimum(np.cumsum(p) - p, values - 1)          # a haploid sample's one value is <= 1
    total = np.where(p == 2, v[first] + v[np.minimum(first + 1, values - 1)], 0)
    return _sum_problem(total, (1 << bits) - 1, (ploidy & 128) != 0)


def _sum_problem(total: np.ndarray, denom: int, missing: np.ndarray) -> str | None:
    over = np.flatnonzero((total > denom * (1 + PROB_SUM_TOLERANCE)) & ~missing)
    if not len(over):
        return None
    s = int(over[0])
    return (f"the genotype probabilities of sample {s + 1} sum to {total[s] / denom:.6g} > 1 "
            f"({len(over)} samples)")
