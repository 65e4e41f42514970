"""BGZF (blocked gzip) writing and tabix indexing of position-sorted text tables.

BGZF is a series of gzip members of at most 64 KiB each, with the compressed block size in a
``BC`` extra field and an empty end-of-file block (SAM/BAM specification, section 4.1). Every gzip
reader (Python's :mod:`gzip`, pandas, ``zcat``) reads it as plain gzip; ``tabix`` and htslib can
seek in it. Blocks are deflated with ISA-L (:mod:`isal`, level 1 by default; :mod:`zlib` when isal is
missing); both release the GIL, so files written from threads compress in parallel. The tabix index
is built while writing (:class:`TabixSpec`, :meth:`BgzfWriter.write_records`), byte for byte the
index htslib's ``tbx_index`` builds from the finished file, or afterwards by htslib through
:mod:`pysam` (:func:`tabix_index`).

References
----------
Li H et al. (2009) The Sequence Alignment/Map format and SAMtools. Bioinformatics 25:2078.
doi:10.1093/bioinformatics/btp352 (BGZF: SAMv1 specification section 4.1).
Li H (2011) Tabix: fast retrieval of sequence features from generic TAB-delimited files.
Bioinformatics 27:718. doi:10.1093/bioinformatics/btq671
SAM/BAM Format Specification Working Group. The tabix index file format (htslib ``tabix.pdf``);
binning scheme: SAMv1 specification section 5 (``reg2bin``), index building as ``hts_idx_push``,
``hts_idx_finish`` and ``compress_binning`` in htslib's ``hts.c``.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from edfgen.exceptions import InputError

try:  # ISA-L deflate: 3-4x faster than zlib at level 1 and as small (measured in benchmarks/README.md)
    from isal import isal_zlib as _deflate
except ImportError:  # pragma: no cover - isal is a dependency; zlib gives the same format
    _deflate = zlib


def zlib_stream(data: bytes, level: int = 1) -> bytes:
    """``data`` as one zlib stream (RFC 1950: header, deflate, Adler-32), deflated by ISA-L as the BGZF
    blocks are (:mod:`zlib` when isal is missing): the ``IDAT`` data of a PNG (``edfgen.plots.raster``), 6-7x
    faster than :func:`zlib.compress` at level 1 on a plot's rows (0.5 vs 3.4 ms, a few % larger)."""
    return _deflate.compress(data, level)


#: uncompressed bytes per block (htslib's BGZF_BLOCK_SIZE: compressed blocks stay under 64 KiB)
BLOCK_SIZE = 0xFF00
#: the empty block that ends every BGZF file
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_HEADER = struct.Struct("<4BI2BH2BHH")  # magic, CM, FLG, MTIME, XFL, OS, XLEN, 'B', 'C', SLEN, BSIZE


def bgzf_block(data: bytes, level: int = 1) -> bytes:
    """One BGZF block holding ``data`` (at most :data:`BLOCK_SIZE` bytes)."""
    if len(data) > BLOCK_SIZE:
        raise ValueError(f"a BGZF block holds at most {BLOCK_SIZE} bytes, got {len(data)}")
    cdata = _deflate.compress(data, level, wbits=-15)
    if len(cdata) + 25 >= 65536:  # incompressible data: store it
        cdata = zlib.compress(data, 0, wbits=-15)
    bsize = len(cdata) + 25  # 18-byte header + 8-byte trailer - 1
    header = _HEADER.pack(0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, ord("B"), ord("C"), 2, bsize)
    return header + cdata + struct.pack("<II", _deflate.crc32(data) & 0xFFFFFFFF, len(data) & 0xFFFFFFFF)


#: tabix (``.tbi``) binning: 16 kb bottom bins, 5 levels (SAMv1 section 5.3)
_MIN_SHIFT, _N_LVLS = 14, 5
_N_BINS = ((1 << (3 * _N_LVLS + 3)) - 1) // 7  # 37449
_META_BIN = _N_BINS + 1  # pseudo-bin 37450: the sequence's offsets and record counts
_MAX_POS = 1 << (_MIN_SHIFT + 3 * _N_LVLS)  # 2^29: the largest coordinate a .tbi can hold
_LEVEL_FIRST = tuple(((1 << 3 * lvl) - 1) // 7 for lvl in range(_N_LVLS + 1))  # 0, 1, 9, 73, 585, 4681
_NO_OFFSET = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class TabixSpec:
    """Header of a tabix index of a generic tab-separated table (``tabix -s -b -e -S -c``).

    Columns are 1-based. ``end_col=None``: each row is one position (the index records
    ``end_col = pos_col``, as :func:`tabix_index` does); otherwise rows are closed intervals
    ``[pos, end]`` and :meth:`BgzfWriter.write_records` takes their ends. The first
    ``skip_lines`` lines, and any later line that starts with ``meta_char``, are not indexed.
    """

    seq_col: int = 1
    pos_col: int = 2
    end_col: int | None = None
    skip_lines: int = 1
    meta_char: str = "#"

    def __post_init__(self):
        cols = [self.seq_col, self.pos_col] + ([] if self.end_col is None else [self.end_col])
        if any(not isinstance(c, int) or c < 1 for c in cols) or self.seq_col == self.pos_col:
            raise ValueError(f"TabixSpec: columns are 1-based and distinct, got {self}")
        if not isinstance(self.skip_lines, int) or self.skip_lines < 0:
            raise ValueError(f"TabixSpec: skip_lines must be >= 0, got {self.skip_lines!r}")
        if len(self.meta_char) != 1 or ord(self.meta_char) > 127:
            raise ValueError(f"TabixSpec: meta_char must be one ASCII character, got {self.meta_char!r}")

    def conf(self) -> bytes:
        """The 24 bytes of htslib's ``tbx_conf_t``: format 0 (generic, 1-based), columns, meta, skip."""
        end = self.pos_col if self.end_col is None else self.end_col
        return struct.pack("<6i", 0, self.seq_col, self.pos_col, end, ord(self.meta_char), self.skip_lines)


def reg2bin(beg: np.ndarray, end: np.ndarray) -> np.ndarray:
    """UCSC/SAMv1 bin of each 0-based half-open interval ``[beg, end)`` (htslib's ``hts_reg2bin``,
    ``min_shift=14``, 5 levels): the smallest bin that contains it."""
    beg = np.asarray(beg, dtype=np.int64)
    last = np.asarray(end, dtype=np.int64) - 1
    out = np.zeros(beg.shape, dtype=np.int64)
    todo = np.ones(beg.shape, dtype=bool)
    for lvl in range(_N_LVLS, 0, -1):
        s = _MIN_SHIFT + 3 * (_N_LVLS - lvl)
        hit = todo & ((beg >> s) == (last >> s))
        out[hit] = _LEVEL_FIRST[lvl] + (beg[hit] >> s)
        todo &= ~hit
    return out


@functools.lru_cache(maxsize=256)
def _khash_order(puts: bytes) -> np.ndarray:
    """The keys of htslib's per-sequence bin hash after ``kh_put`` of each int64 of ``puts`` in
    turn, in bucket order: the order ``hts_idx_save`` writes bins in.

    khash (``KHASH_MAP_INIT_INT``): identity hash, power-of-two table, triangular probing; before
    every put (of a new or a present key) the table doubles, rehashing in place with kick-out, once
    it holds ``int(0.77 * n_buckets + 0.5)`` keys. Between resizes, keys whose home bucket is free
    go there (vectorised); the rest are probed one by one. The result depends only on the put
    sequence, so files over the same variants share it (hence the cache).
    """
    p = np.frombuffer(puts, dtype=np.int64)
    uniq, first = np.unique(p, return_index=True)
    o = np.argsort(first, kind="stable")
    keys, new_at = uniq[o], first[o]  # distinct keys, in the order they enter the hash
    slots = np.zeros(0, dtype=np.int64)
    k0 = 0  # keys placed so far
    while len(p):  # a resize at the first put, then at every put that finds the table full
        slots = _kh_rehash(slots, max(4, 2 * len(slots)))  # kh_resize(n_buckets + 1): doubles
        upper = int(len(slots) * 0.77 + 0.5)
        # the next resize comes at the put after the one that brought the table to `upper` keys
        j = int(new_at[upper - 1]) + 1 if upper <= len(keys) else len(p)
        k1 = upper if j < len(p) else len(keys)
        _kh_insert(slots, keys[k0:k1])
        k0 = k1
        if j >= len(p):
            break
    out = slots[slots >= 0]
    out.setflags(write=False)  # shared through the cache
    return out


def _kh_rehash(slots: np.ndarray, new: int) -> np.ndarray:
    """``kh_resize`` to ``new`` buckets: each old bucket in turn goes to the first free bucket of
    its probe sequence, kicking an old, not yet moved key out of it (moved next)."""
    out = np.full(new, -1, dtype=np.int64)
    old = slots[slots >= 0]
    home = old & (new - 1)
    if len(np.unique(home)) == len(home):  # no two keys share a home: every key lands there
        out[home] = old
        return out
    keys = slots.tolist()
    n_old, mask = len(keys), new - 1
    keys += [-1] * (new - n_old)
    pending = [k >= 0 for k in keys[:n_old]]
    free = [True] * new
    for jj in range(n_old):
        if not pending[jj]:
            continue
        k = keys[jj]
        pending[jj] = False
        while True:
            i, step = k & mask, 0
            while not free[i]:
                step += 1
                i = (i + step) & mask
            free[i] = False
            if i < n_old and pending[i]:
                keys[i], k = k, keys[i]
                pending[i] = False
            else:
                keys[i] = k
                break
    out[:] = [k if not f else -1 for k, f in zip(keys, free)]
    return out


def _kh_insert(slots: np.ndarray, keys: np.ndarray) -> None:
    """``kh_put`` of new ``keys`` in turn (no resize in between).

    Each key is first given its home bucket when no placed key and no earlier key of ``keys``
    holds it; the others probe in key order, a bucket being taken at key ``j``'s turn when its
    owner came before ``j``; a later key whose home a probing key takes probes in its turn.
    """
    n, mask = len(keys), len(slots) - 1
    if not n:
        return
    home = keys & mask
    owner = np.full(len(slots), n, dtype=np.int64)  # n: nobody; -1: placed before
    owner[slots >= 0] = -1
    cand = np.flatnonzero(owner[home] == n)
    _, first = np.unique(home[cand], return_index=True)
    winners = cand[first]
    owner[home[winners]] = winners
    waiting = np.ones(n, dtype=bool)
    waiting[winners] = False
    heap = np.flatnonzero(waiting).tolist()  # ascending: already a heap
    if heap:
        own, hl = owner.tolist(), home.tolist()
        while heap:
            j = heapq.heappop(heap)
            i, step = hl[j], 0
            while own[i] < j:  # taken before key j's turn
                step += 1
                i = (i + step) & mask
            if own[i] != n:  # the home of a later key: that key probes in its turn
                heapq.heappush(heap, own[i])
            own[i] = j
        owner = np.asarray(own, dtype=np.int64)
    placed = (owner >= 0) & (owner < n)
    slots[placed] = keys[owner[placed]]


class _TabixBuilder:
    """Tabix index of the records of a :class:`BgzfWriter`, built as htslib's ``tbx_index`` builds
    it from the finished file (``hts_idx_push`` per line, ``hts_idx_finish``, ``hts_idx_save``).

    Rows are reduced as they come (vectorised) to what the index needs: the start of each run of
    consecutive rows in one bin, the first row of each 16 kb window, per sequence its first row
    and row count. Positions are uncompressed byte offsets until :meth:`finish` maps them onto the
    BGZF blocks (virtual offset = compressed block offset << 16 | offset in the block).
    """

    def __init__(self, spec: TabixSpec, name: str):
        self.spec, self.name = spec, name
        self.names: dict[str, int] = {}
        self.first_start: list[int] = []  # per tid: uncompressed offset of its first row
        self.n_rows: list[int] = []
        self.lin_max: list[int] = []  # per tid: largest 16 kb window touched so far
        self.runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (tid, bin, start) of bin runs
        self.lin: list[tuple[int, np.ndarray, np.ndarray]] = []  # (tid, windows, start) first rows
        self.last_tid = self.last_bin = -1
        self.last_beg = 0

    def _tid(self, label, first: bool) -> int:
        name = label.decode() if isinstance(label, bytes) else str(label)
        tid = self.names.get(name)
        if tid is None:
            if not name or any(c in name for c in "\t\n\r"):
                raise InputError(f"{self.name}: sequence name {name!r} cannot be indexed")
            tid = self.names[name] = len(self.names)
            self.first_start.append(-1)
            self.n_rows.append(0)
            self.lin_max.append(-1)
        elif not (first and tid == self.last_tid):
            raise InputError(f"{self.name}: rows of chromosome {name} are not together "
                             "(a tabix index needs rows grouped by chromosome, sorted by position)")
        return tid

    def add(self, start0: int, lengths: np.ndarray, chrom, pos, end=None) -> None:
        n = len(lengths)
        if n == 0:
            return
        ends = start0 + np.cumsum(lengths)
        starts = np.empty(n, dtype=np.int64)
        starts[0] = start0
        starts[1:] = ends[:-1]
        pos = _int_column(pos, "pos", self.name)
        beg = np.maximum(pos - 1, 0)  # tbx_parse1: 0-based begin, clamped at 0
        stop = np.maximum(pos if end is None else _int_column(end, "end", self.name), 1)
        big = np.flatnonzero((beg > _MAX_POS) | (stop > _MAX_POS))
        if big.size:
            raise InputError(f"{self.name}: position {int(max(beg[big[0]] + 1, stop[big[0]]))} is beyond "
                             f"{_MAX_POS} (the largest a .tbi index holds)")
        if end is not None and (bad := np.flatnonzero(stop < beg)).size:
            raise InputError(f"{self.name}: row end {int(stop[bad[0]])} before its start {int(pos[bad[0]])}")
        chrom = np.asarray(chrom)
        cut = np.flatnonzero(chrom[1:] != chrom[:-1]) + 1
        seg = np.concatenate(([0], cut, [n]))
        seg_tid = np.array([self._tid(chrom[a], k == 0) for k, a in enumerate(seg[:-1])], dtype=np.int64)
        tid = np.repeat(seg_tid, np.diff(seg))
        # hts_idx_push: positions must not decrease within a sequence
        same = tid[1:] == tid[:-1]
        down = np.flatnonzero(same & (beg[1:] < beg[:-1]))
        if seg_tid[0] == self.last_tid and beg[0] < self.last_beg:
            down = np.concatenate(([-1], down))
        if down.size:
            i = int(down[0]) + 1
            prev = self.last_beg + 1 if i == 0 else int(pos[i - 1])
            raise InputError(f"{self.name}: chromosome {chrom[i]}: position {int(pos[i])} follows {prev} "
                             "(a tabix index needs rows sorted by position within a chromosome)")
        bins = (_LEVEL_FIRST[_N_LVLS] + (beg >> _MIN_SHIFT)) if end is None else reg2bin(beg, stop)
        new = np.empty(n, dtype=bool)
        new[0] = not (seg_tid[0] == self.last_tid and bins[0] == self.last_bin)
        new[1:] = ~same | (bins[1:] != bins[:-1])
        # compact types (a bin id < 37450, a window < 2^15 per sequence): ~10 bytes less per bin and file
        self.runs.append((tid[new].astype(np.int32), bins[new].astype(np.uint16), starts[new]))
        for k, t in enumerate(seg_tid.tolist()):
            a, b = int(seg[k]), int(seg[k + 1])
            if self.first_start[t] < 0:
                self.first_start[t] = int(starts[a])
            self.n_rows[t] += b - a
            # linear index (insert_to_l): window w holds the start of the first row whose
            # [beg, end) touches it; cover = running max of the rows' last windows
            bw = beg[a:b] >> _MIN_SHIFT
            cover = np.maximum.accumulate(np.maximum((stop[a:b] - 1) >> _MIN_SHIFT, self.lin_max[t]))
            top = int(cover[-1])
            if top > self.lin_max[t]:
                win = np.arange(self.lin_max[t] + 1, top + 1)
                first = np.searchsorted(cover, win)
                ok = bw[first] <= win
                self.lin.append((t, win[ok].astype(np.int32), starts[a:b][first[ok]]))
                self.lin_max[t] = top
        self.last_tid, self.last_bin, self.last_beg = int(tid[-1]), int(bins[-1]), int(beg[-1])

    def finish(self, total: int, block_sizes: list[int]) -> bytes:
        """The uncompressed ``.tbi`` content, given the file's total uncompressed length and the
        compressed size of each of its data blocks (all :data:`BLOCK_SIZE` long but the last)."""
        nblk = len(block_sizes)
        if nblk != -(-total // BLOCK_SIZE):
            raise AssertionError("tabix: BGZF blocks are not all BLOCK_SIZE long")
        caddr = np.zeros(nblk + 1, dtype=np.uint64)
        np.cumsum(np.asarray(block_sizes, dtype=np.uint64), out=caddr[1:])

        def voff(upos):  # bgzf_tell after reading up to upos: at a block's end, the next block's start
            upos = np.asarray(upos, dtype=np.int64)
            blk = np.where(upos >= total, nblk, upos // BLOCK_SIZE)
            return (caddr[blk] << np.uint64(16)) | np.where(upos >= total, 0, upos % BLOCK_SIZE).astype(np.uint64)

        n_ref = len(self.names)
        names = b"".join(k.encode() + b"\0" for k in self.names)
        out = [b"TBI\1", struct.pack("<i", n_ref), self.spec.conf(), struct.pack("<i", len(names)), names]
        if n_ref:
            r_tid, r_bin, r_start = (np.concatenate(x) for x in zip(*self.runs))
            r_tid, r_bin = r_tid.astype(np.int64), r_bin.astype(np.int64)
            r_u = voff(r_start)
            r_v = voff(np.append(r_start[1:], total))  # a run ends where the next one starts
            seq_off = voff(np.append(self.first_start, total))
            bounds = np.searchsorted(r_tid, np.arange(n_ref + 1))
            lin = {}
            for t, win, st in self.lin:
                lin.setdefault(t, []).append((win, st))
            for t in range(n_ref):
                a, b = bounds[t], bounds[t + 1]
                out.append(self._bins(r_bin[a:b], r_u[a:b], r_v[a:b], seq_off[t], seq_off[t + 1], self.n_rows[t]))
                lidx = np.full(self.lin_max[t] + 1, _NO_OFFSET, dtype=np.uint64)
                for win, st in lin.get(t, ()):
                    lidx[win] = voff(st)
                out.append(struct.pack("<i", len(lidx)) + _fill_linear(lidx).astype("<u8").tobytes())
        out.append(struct.pack("<Q", 0))  # n_no_coor
        return b"".join(out)

    @staticmethod
    def _bins(bins, u, v, off_beg, off_end, n_mapped) -> bytes:
        """One sequence's binning index: chunks per bin merged as ``compress_binning`` merges them,
        written in htslib's hash order, with the pseudo-bin."""
        order = _khash_order(np.concatenate((bins, [_META_BIN, _META_BIN])).astype(np.int64).tobytes())
        o = np.lexsort((u, bins))
        b, u, v = bins[o], u[o], v[o]
        # merge a bin into its parent when its chunks span < 64 KiB of compressed file (deepest level
        # first); a bin's verdict depends only on its chunks, all in by the time its level is reached
        for lvl in range(_N_LVLS, 0, -1):
            head = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
            tail = np.r_[head[1:], len(b)] - 1
            hb = b[head]
            at = (hb >= _LEVEL_FIRST[lvl]) & (hb < _LEVEL_FIRST[lvl] + (1 << 3 * lvl))
            small = at & ((v[tail] >> np.uint64(16)) - (u[head] >> np.uint64(16)) < np.uint64(0x10000))
            if not small.any():
                continue
            parent = (hb - 1) >> 3
            move = small & np.isin(parent, hb)
            if move.any():
                b = np.where(np.repeat(move, tail - head + 1), np.repeat(parent, tail - head + 1), b)
                o = np.lexsort((u, b))
                b, u, v = b[o], u[o], v[o]
        # merge adjacent chunks that start in the BGZF block where the previous one ends
        head_flag = np.r_[True, b[1:] != b[:-1]]
        rank = np.cumsum(head_flag) - 1
        key = (rank.astype(np.uint64) << np.uint64(48)) | (v >> np.uint64(16))
        reach = np.maximum.accumulate(key) & np.uint64((1 << 48) - 1)
        start = head_flag.copy()
        start[1:] |= reach[:-1] < (u[1:] >> np.uint64(16))
        idx = np.flatnonzero(start)
        cb, cu, cv = b[idx], u[idx], np.maximum.reduceat(v, idx)
        ub, first, count = np.unique(cb, return_index=True, return_counts=True)
        out_keys = order[np.isin(order, ub) | (order == _META_BIN)]  # bins merged away are gone
        at = np.searchsorted(ub, out_keys).clip(0, max(len(ub) - 1, 0))
        nch = np.where(out_keys == _META_BIN, 2, count[at] if len(ub) else 0).astype(np.int64)
        head = np.concatenate(([0], np.cumsum(1 + 2 * nch)[:-1]))
        words = np.empty(int((1 + 2 * nch).sum()), dtype=np.uint64)
        words[head] = out_keys.astype(np.uint64) | (nch.astype(np.uint64) << np.uint64(32))  # bin, n_chunk
        q = np.empty(len(ub), dtype=np.int64)  # output position of each bin
        real = out_keys != _META_BIN
        q[at[real]] = np.flatnonzero(real)
        grp = np.repeat(np.arange(len(ub)), count)
        w = head[q[grp]] + 1 + 2 * (np.arange(len(cb)) - first[grp])
        words[w], words[w + 1] = cu, cv
        m = head[np.flatnonzero(~real)[0]] + 1
        words[m:m + 4] = np.array([off_beg, off_end, n_mapped, 0], dtype=np.uint64)
        return struct.pack("<i", len(out_keys)) + words.astype("<u8").tobytes()


def _fill_linear(lidx: np.ndarray) -> np.ndarray:
    """``update_loff`` as current htslib has it (1.24, bundled with pysam 0.24): an empty 16 kb
    window gets the offset of the next window that has one (older htslib took the previous
    window's); windows after the last row do not exist."""
    n = len(lidx)
    nxt = np.where(lidx != _NO_OFFSET, np.arange(n), n)
    nxt = np.minimum.accumulate(nxt[::-1])[::-1]
    return np.append(lidx, _NO_OFFSET)[nxt]


def _int_column(values, what: str, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            pass
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr == np.round(arr)).all():
        return arr.astype(np.int64)
    raise InputError(f"{name}: tabix {what} must be whole numbers on every row, got dtype {arr.dtype}"
                     + (" with missing values" if arr.dtype.kind == "f" else ""))


class BgzfWriter:
    """Write BGZF to an open binary file; ``md5`` is the digest of the bytes written so far.

    With ``tabix``, the tabix index is built while writing: :meth:`write` the header (the
    ``tabix.skip_lines`` lines), then the rows with :meth:`write_records`; after :meth:`close`,
    :meth:`tabix_bytes` is the ``.tbi`` file, the same index ``tabix``/:func:`tabix_index` would
    build from the finished file (decompressed byte for byte), without reading the file again.

    Examples
    --------
    >>> import gzip, io
    >>> buf = io.BytesIO()
    >>> w = BgzfWriter(buf); w.write(b"a\\tb\\n" * 40000); w.close()
    >>> gzip.decompress(buf.getvalue()) == b"a\\tb\\n" * 40000
    True
    >>> w = BgzfWriter(io.BytesIO(), tabix=TabixSpec())
    >>> w.write(b"chromosome\\tbase_pair_location\\n")
    >>> w.write_records(b"1\\t10\\n1\\t20\\n", np.array(["1", "1"]), np.array([10, 20]), np.array([5, 5]))
    >>> w.close(); gzip.decompress(w.tabix_bytes())[:4]
    b'TBI\\x01'
    """

    def __init__(self, fh: BinaryIO, *, level: int = 1, tabix: TabixSpec | None = None, name: str | None = None):
        self.fh, self.level = fh, level
        self._buf = bytearray()
        self._md5 = hashlib.md5()
        self.closed = False
        self._upos = 0  # uncompressed bytes written
        self._block_sizes: list[int] = []  # compressed size of each data block
        self._tabix = None if tabix is None else _TabixBuilder(tabix, name or getattr(fh, "name", "<BGZF stream>"))
        self._head = bytearray()  # the lines before the first record (tabix checks them)
        self._tbi: bytes | None = None

    def _emit(self, block: bytes) -> None:
        self.fh.write(block)
        self._md5.update(block)

    def _put(self, data) -> None:
        self._upos += len(data)
        self._buf += data
        if len(self._buf) >= BLOCK_SIZE:
            view = memoryview(self._buf)
            n_full = len(self._buf) // BLOCK_SIZE * BLOCK_SIZE
            for s in range(0, n_full, BLOCK_SIZE):
                block = bgzf_block(bytes(view[s:s + BLOCK_SIZE]), self.level)
                self._block_sizes.append(len(block))
                self._emit(block)
            view.release()
            del self._buf[:n_full]

    def write(self, data: bytes) -> None:
        """Append ``data`` (with ``tabix``: only the header lines, before :meth:`write_records`)."""
        if self._tabix is not None:
            if self._tabix.names:
                raise ValueError("BgzfWriter: with tabix, lines after the first write_records() "
                                 "must go through write_records()")
            self._head += data
        self._put(data)

    def write_records(self, body: bytes, chrom, pos, line_lengths, *, end=None) -> None:
        """Append data lines and index them.

        Parameters
        ----------
        body
            The lines, concatenated, each ending in a newline, in file order.
        chrom
            Sequence name of each line (its ``seq_col`` text), e.g. an object or ``str`` array.
        pos
            1-based position of each line (its ``pos_col`` value), integers.
        line_lengths
            Bytes of each line, newline included (they sum to ``len(body)``).
        end
            1-based inclusive end of each line (its ``end_col`` value); only with
            ``TabixSpec(end_col=...)``.

        Rows must be grouped by chromosome and sorted by position within it, over all calls
        (as tabix requires; :class:`InputError` otherwise). The text of ``body`` is not parsed:
        ``chrom``/``pos`` must be what its columns hold.
        """
        tbx = self._tabix
        if self.closed:
            raise ValueError("BgzfWriter: write_records() after close()")
        if tbx is None:
            raise ValueError("BgzfWriter: write_records() needs BgzfWriter(..., tabix=TabixSpec(...))")
        if (end is None) != (tbx.spec.end_col is None):
            raise ValueError("BgzfWriter.write_records: give `end` exactly when TabixSpec.end_col is set")
        lengths = np.asarray(line_lengths, dtype=np.int64)
        if lengths.ndim != 1 or len(chrom) != len(lengths) or len(pos) != len(lengths) or (
                end is not None and len(end) != len(lengths)):
            raise ValueError("BgzfWriter.write_records: chrom, pos, line_lengths (and end) need one value per line")
        if int(lengths.sum()) != len(body) or (len(lengths) and lengths.min() < 1):
            raise ValueError(f"BgzfWriter.write_records: line lengths sum to {int(lengths.sum())}, body has "
                             f"{len(body)} bytes")
        if not len(lengths):
            return
        if not tbx.names:
            self._check_header()
        tbx.add(self._upos, lengths, chrom, pos, end)
        self._put(body)

    def _check_header(self) -> None:
        spec, head = self._tabix.spec, bytes(self._head)
        lines = head.split(b"\n")
        if lines[-1]:
            raise ValueError("BgzfWriter: the header written before write_records() must end with a newline")
        extra = [ln for ln in lines[spec.skip_lines:-1] if not ln.startswith(spec.meta_char.encode())]
        if len(lines) - 1 < spec.skip_lines or extra:
            raise ValueError(f"BgzfWriter: {len(lines) - 1} header line(s) written, TabixSpec skips "
                             f"{spec.skip_lines} and then lines starting with {spec.meta_char!r}")
        self._head = bytearray()

    def close(self) -> None:
        if self.closed:
            return
        if self._buf:
            block = bgzf_block(bytes(self._buf), self.level)
            self._block_sizes.append(len(block))
            self._emit(block)
            self._buf.clear()
        self._emit(EOF_BLOCK)
        self.closed = True
        if self._tabix is not None:
            raw = self._tabix.finish(self._upos, self._block_sizes)
            self._tbi = b"".join(bgzf_block(raw[s:s + BLOCK_SIZE], self.level) for s in range(0, len(raw), BLOCK_SIZE))
            self._tbi += EOF_BLOCK
            self._tabix = None

    def tabix_bytes(self) -> bytes:
        """The ``.tbi`` file (BGZF-compressed, as htslib writes it), after :meth:`close`."""
        if self._tbi is None:
            raise ValueError("BgzfWriter.tabix_bytes: needs tabix=TabixSpec(...) and close() first")
        return self._tbi

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()


def tabix_index(path: str | os.PathLike, *, seq_col: int = 1, pos_col: int = 2, skip_lines: int = 1) -> Path:
    """Build ``<path>.tbi`` for a BGZF, position-sorted table (columns 1-based, as ``tabix -s -b -e``).

    Equivalent to ``tabix -s SEQ -b POS -e POS -S SKIP path`` (1-based closed positions).

    Raises
    ------
    OSError
        From htslib, e.g. when the file is not BGZF or not sorted by position within chromosomes.
    """
    import pysam

    path = Path(path)
    pysam.tabix_index(str(path), seq_col=seq_col - 1, start_col=pos_col - 1, end_col=pos_col - 1,
                      line_skip=skip_lines, zerobased=False, force=True, keep_original=True)
    return Path(f"{path}.tbi")
