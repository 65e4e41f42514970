"""Tabix index built while writing BGZF (``BgzfWriter(tabix=TabixSpec())``): the same ``.tbi`` as
htslib's ``tbx_index`` (through pysam) builds from the finished file, decompressed byte for byte,
and region queries through it that return what a plain filter of the table returns."""

from __future__ import annotations

import gzip
import io
import string

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError
from edfgen.formats.bgzf import BLOCK_SIZE, BgzfWriter, TabixSpec, _khash_order, reg2bin

pysam = pytest.importorskip("pysam")

_LETTERS = np.frombuffer(string.ascii_letters.encode(), dtype=np.uint8)


def _lines(chrom, pos, payload, end=None, rng=None):
    """One line per row: chrom, pos[, end], then a payload of the given length (random letters, so
    that blocks compress little and chunks span many BGZF blocks)."""
    rng = rng or np.random.default_rng(0)
    pay = _LETTERS[rng.integers(0, 52, int(np.sum(payload)))].tobytes()
    cuts = np.r_[0, np.cumsum(payload)].tolist()
    mids = [""] * len(pos) if end is None else [f"\t{e}" for e in end]
    return [f"{c}\t{p}{m}\t".encode() + pay[a:b] + b"\n"
            for c, p, m, a, b in zip(chrom, pos, mids, cuts[:-1], cuts[1:])]


def _write_both(tmp_path, name, header: bytes, lines, chrom, pos, *, end=None, spec=TabixSpec(), calls=1):
    """Write with the index built on the fly (``calls`` write_records calls), then index the same
    file with pysam; returns (path, our .tbi bytes, decompressed ours, decompressed htslib's)."""
    path = tmp_path / f"{name}.tsv.gz"
    lens = np.array([len(ln) for ln in lines], dtype=np.int64)
    chrom = np.asarray(chrom, dtype=object)
    pos = np.asarray(pos)
    with open(path, "wb") as fh:
        w = BgzfWriter(fh, tabix=spec)
        w.write(header)
        bounds = np.linspace(0, len(lines), calls + 1).astype(int)
        for a, b in zip(bounds[:-1], bounds[1:]):
            w.write_records(b"".join(lines[a:b]), chrom[a:b], pos[a:b], lens[a:b],
                            end=None if end is None else np.asarray(end)[a:b])
        w.close()
    ours = w.tabix_bytes()
    assert ours.endswith(bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000"))
    end_col = spec.pos_col if spec.end_col is None else spec.end_col
    pysam.tabix_index(str(path), seq_col=spec.seq_col - 1, start_col=spec.pos_col - 1, end_col=end_col - 1,
                      line_skip=spec.skip_lines, meta_char=spec.meta_char, zerobased=False, force=True,
                      keep_original=True)
    ref = gzip.decompress((tmp_path / f"{name}.tsv.gz.tbi").read_bytes())
    mine = tmp_path / f"{name}.mine.tbi"
    mine.write_bytes(ours)
    return path, mine, gzip.decompress(ours), ref


def _sorted_positions(rng, n, hi, lo=1):
    return np.sort(rng.integers(lo, hi, n))


def _case(kind: str, rng):
    """(header, chrom, pos, payload lengths, end, spec, calls) for one test file."""
    header, end, spec, calls = b"chromosome\tbase_pair_location\tx\n", None, TabixSpec(), 3
    if kind == "one_chromosome":
        n = 3000
        chrom, pos, pay = ["1"] * n, _sorted_positions(rng, n, 3_000_000), rng.integers(1, 40, n)
    elif kind == "22_chromosomes":
        n = 22_000
        chrom = np.repeat([str(c) for c in range(1, 23)], n // 22)
        pos = np.concatenate([_sorted_positions(rng, n // 22, 250_000_000) for _ in range(22)])
        pay, calls = rng.integers(1, 30, n), 7
    elif kind == "many_blocks_long_and_short_lines":
        n = 4000
        chrom, pos = ["chr7"] * n, _sorted_positions(rng, n, 400_000)
        pos[100:260] = pos[100]  # equal positions
        pay = rng.integers(0, 5, n)
        pay[500], pay[1500:1510] = 3 * BLOCK_SIZE, BLOCK_SIZE + 17  # lines longer than a block
        pay[2000:3000] = rng.integers(200, 2000, 1000)
        calls = 250  # many small write_records calls
    elif kind == "large_positions":
        n = 3000
        chrom, pos, pay = ["X"] * n, _sorted_positions(rng, n, 1 << 29, 200_000_000), rng.integers(1, 60, n)
    elif kind == "dense_tiny_lines":
        n = 30_000
        chrom, pos, pay = ["22"] * n, _sorted_positions(rng, n, 30_000_000), np.zeros(n, dtype=int)
    elif kind == "header_meta_lines_and_skip_2":
        n = 500
        chrom, pos, pay = ["MT"] * n, np.arange(1, n + 1) * 37, rng.integers(1, 9, n)
        header, spec = b"title\ncolumns\n#note\n#more\n", TabixSpec(skip_lines=2)
    elif kind == "many_contigs_and_position_zero":
        n = 8000
        chrom = np.repeat([f"ctg{i}" for i in range(200)], n // 200)
        pos = np.concatenate([_sorted_positions(rng, n // 200, 10**6, lo=0) for _ in range(200)])
        pay = rng.integers(1, 80, n)
    elif kind == "intervals_over_bins_of_every_level":
        n = 20_000
        chrom = np.repeat(["1", "2"], n // 2)
        pos = np.concatenate([_sorted_positions(rng, n // 2, 40_000_000) for _ in range(2)])
        span = rng.choice([0, 5, 30_000, 200_000, 2_000_000, 20_000_000], size=n, p=[.5, .2, .15, .1, .04, .01])
        end, pay, spec = pos + span, rng.integers(20, 200, n), TabixSpec(end_col=3)
        header = b"c\tbeg\tend\tx\n"
    elif kind == "empty_intervals":
        n = 400
        chrom, pos = ["3"] * n, _sorted_positions(rng, n, 200_000)
        end, pay, spec = pos - rng.integers(0, 2, n), rng.integers(1, 9, n), TabixSpec(end_col=3)
    elif kind == "no_rows":
        chrom, pos, pay = [], np.zeros(0, dtype=int), np.zeros(0, dtype=int)
    else:  # pragma: no cover
        raise ValueError(kind)
    return header, list(chrom), pos, pay, end, spec, calls


CASES = ["one_chromosome", "22_chromosomes", "many_blocks_long_and_short_lines", "large_positions",
         "dense_tiny_lines", "header_meta_lines_and_skip_2", "many_contigs_and_position_zero",
         "intervals_over_bins_of_every_level", "empty_intervals", "no_rows"]


@pytest.mark.parametrize("kind", CASES)
def test_tabix_bytes__equal_to_htslib_index(tmp_path, kind):
    rng = np.random.default_rng(CASES.index(kind))
    header, chrom, pos, pay, end, spec, calls = _case(kind, rng)
    lines = _lines(chrom, pos, pay, end, rng)
    path, _, ours, ref = _write_both(tmp_path, kind, header, lines, chrom, pos, end=end, spec=spec, calls=calls)
    assert ours[:4] == b"TBI\x01" and len(ours) == len(ref)
    assert ours == ref
    if kind == "intervals_over_bins_of_every_level":  # compress_binning kept bins on several levels
        levels = {int(np.searchsorted([1, 9, 73, 585, 4681, 37449], b, side="right")) for b in _bin_ids(ours)}
        assert len(levels - {6}) >= 3


def _bin_ids(tbi: bytes) -> list[int]:
    """Bin numbers of every sequence of an uncompressed .tbi (a plain reader of the format)."""
    n_ref = int.from_bytes(tbi[4:8], "little")
    o = 36 + int.from_bytes(tbi[32:36], "little")
    out = []
    for _ in range(n_ref):
        n_bin = int.from_bytes(tbi[o:o + 4], "little")
        o += 4
        for _ in range(n_bin):
            out.append(int.from_bytes(tbi[o:o + 4], "little"))
            n_chunk = int.from_bytes(tbi[o + 4:o + 8], "little")
            o += 8 + 16 * n_chunk
        n_intv = int.from_bytes(tbi[o:o + 4], "little")
        o += 4 + 8 * n_intv
    assert len(tbi) == o + 8  # n_no_coor
    return out


@pytest.mark.parametrize("kind", ["22_chromosomes", "intervals_over_bins_of_every_level", "many_blocks_long_and_short_lines"])
def test_tabix_bytes__queries_return_the_rows_of_a_plain_filter(tmp_path, kind):
    rng = np.random.default_rng(10 + CASES.index(kind))
    header, chrom, pos, pay, end, spec, calls = _case(kind, rng)
    lines = _lines(chrom, pos, pay, end, rng)
    path, mine, _, _ = _write_both(tmp_path, kind, header, lines, chrom, pos, end=end, spec=spec, calls=calls)
    df = pd.DataFrame({"c": chrom, "beg": np.asarray(pos) - 1, "end": np.asarray(pos if end is None else end)})
    df["beg"] = df.beg.clip(lower=0)
    df["row"] = np.arange(len(df))
    with pysam.TabixFile(str(path), index=str(mine)) as tb:
        for _ in range(25):
            c = chrom[int(rng.integers(len(chrom)))]
            hi = int(df.end[df.c == c].max())
            a = int(rng.integers(0, hi))
            b = a + int(rng.choice([1, 500, 20_000, 300_000, 3_000_000]))
            got = [ln.encode() + b"\n" for ln in tb.fetch(c, a, b)]
            want = df[(df.c == c) & (df.beg < b) & (df.end > a)].row
            assert got == [lines[i] for i in want], (c, a, b)
        assert tb.contigs == list(dict.fromkeys(chrom))


def test_tabix_bytes__gwas_ssf_layout_as_sumstats_writer_writes_it(tmp_path):
    """The exact GWAS-SSF text SumstatsWriter writes (one header line, chromosome column 1,
    position column 2): the same BGZF bytes and the index htslib builds for that file."""
    from edfgen.formats.sumstats import SumstatsWriter

    rng = np.random.default_rng(5)
    m = 20_000
    chrom = np.repeat([str(c) for c in (1, 2, 3, 10, 22)], m // 5)
    pos = np.concatenate([_sorted_positions(rng, m // 5, 200_000_000) for _ in range(5)])
    pos[10:20] = pos[10]
    base = pd.DataFrame({"chromosome": chrom, "base_pair_location": pos,
                         "effect_allele": rng.choice(list("ACGT"), m), "other_allele": rng.choice(list("ACGT"), m),
                         "variant_id": [f"{c}_{p}" for c, p in zip(chrom, pos)], "rsid": [f"rs{i}" for i in range(m)]})
    ref_path = tmp_path / "ssf.tsv.gz"
    SumstatsWriter(base, index=False).write(ref_path, rng.normal(0, .05, m), np.full(m, .02), rng.random(m),
                                            rng.random(m), np.full(m, 10_000))
    text = gzip.decompress(ref_path.read_bytes())
    cut = text.index(b"\n") + 1
    body = text[cut:]
    lens = np.diff(np.r_[-1, np.flatnonzero(np.frombuffer(body, dtype=np.uint8) == 10)])
    assert len(lens) == m
    buf = io.BytesIO()
    w = BgzfWriter(buf, tabix=TabixSpec(seq_col=1, pos_col=2, skip_lines=1))
    w.write(text[:cut])
    for a in range(0, m, 4_500):  # block by block, as a streaming writer calls it
        b = min(a + 4_500, m)
        s0, s1 = int(lens[:a].sum()), int(lens[:b].sum())
        w.write_records(body[s0:s1], base.chromosome.to_numpy(dtype=object)[a:b],
                        base.base_pair_location.to_numpy()[a:b], lens[a:b])
    w.close()
    assert buf.getvalue() == ref_path.read_bytes()
    pysam.tabix_index(str(ref_path), seq_col=0, start_col=1, end_col=1, line_skip=1, zerobased=False,
                      force=True, keep_original=True)
    assert gzip.decompress(w.tabix_bytes()) == gzip.decompress((tmp_path / "ssf.tsv.gz.tbi").read_bytes())


class _KhashInt:
    """htslib's khash.h for int keys, kept close to the C: 2-bit flags per bucket (bit 1: empty,
    bit 0: deleted), ``kh_put`` resizing first when full, ``kh_resize`` rehashing in place."""

    EMPTY, DELETED = 2, 1

    def __init__(self):
        self.n_buckets = self.size = self.n_occupied = self.upper_bound = 0
        self.keys: list[int] = []
        self.flags: list[int] = []

    def resize(self, new_n_buckets: int) -> None:
        new_n_buckets = max(4, 1 << (new_n_buckets - 1).bit_length())  # kroundup32; at least 4
        if self.size >= int(new_n_buckets * 0.77 + 0.5):
            return  # requested size is too small
        new_flags = [self.EMPTY] * new_n_buckets
        if self.n_buckets < new_n_buckets:
            self.keys.extend([0] * (new_n_buckets - self.n_buckets))
        new_mask = new_n_buckets - 1
        for j in range(self.n_buckets):
            if self.flags[j] != 0:  # __ac_iseither
                continue
            key = self.keys[j]
            self.flags[j] |= self.DELETED
            while True:  # kick-out process
                i = key & new_mask
                step = 0
                while new_flags[i] & self.EMPTY == 0:
                    step += 1
                    i = (i + step) & new_mask
                new_flags[i] &= ~self.EMPTY
                if i < self.n_buckets and self.flags[i] == 0:
                    self.keys[i], key = key, self.keys[i]
                    self.flags[i] |= self.DELETED
                    continue
                self.keys[i] = key
                break
        del self.keys[new_n_buckets:]
        self.flags, self.n_buckets = new_flags, new_n_buckets
        self.n_occupied, self.upper_bound = self.size, int(new_n_buckets * 0.77 + 0.5)

    def put(self, key: int) -> None:
        if self.n_occupied >= self.upper_bound:
            self.resize(self.n_buckets - 1 if self.n_buckets > (self.size << 1) else self.n_buckets + 1)
        mask, i, step = self.n_buckets - 1, key & self.n_buckets - 1, 0
        while self.flags[i] & self.EMPTY == 0 and (self.flags[i] & self.DELETED or self.keys[i] != key):
            step += 1
            i = (i + step) & mask
        if self.flags[i] & self.EMPTY:
            self.keys[i], self.flags[i] = key, 0
            self.size += 1
            self.n_occupied += 1

    def bucket_order(self) -> list[int]:
        return [k for k, f in zip(self.keys, self.flags) if f == 0]


def _khash_reference(puts):
    h = _KhashInt()
    for key in puts:
        h.put(key)
    return h.bucket_order()


def test_khash_order__matches_a_transcription_of_khash():
    rng = np.random.default_rng(3)
    for t in range(300):
        n = int(rng.integers(0, 400))
        puts = [rng.integers(0, 40_000, n),  # anything
                np.sort(rng.choice(20_000, n, replace=False)) + 4681,  # leaf bins in file order
                rng.integers(0, 64, n),  # many repeats and collisions
                np.r_[np.sort(rng.integers(4681, 4681 + 16_000, n)), [37450, 37450]]][t % 4].astype(np.int64)
        assert _khash_order.__wrapped__(puts.tobytes()).tolist() == _khash_reference(puts.tolist())


def test_reg2bin__smallest_bin_holding_the_interval():
    beg = np.array([0, 16383, 16383, 0, 131071, 5 << 26, 0])
    end = np.array([1, 16384, 16385, 1 << 17, 131073, (5 << 26) + 1, 1 << 29])
    assert reg2bin(beg, end).tolist() == [4681, 4681, 585, 585, 73, 4681 + (5 << 12), 0]


def _writer(spec=TabixSpec()):
    w = BgzfWriter(io.BytesIO(), tabix=spec)
    w.write(b"chromosome\tbase_pair_location\n")
    return w


def _rows(chrom, pos):
    lines = [f"{c}\t{p}\n".encode() for c, p in zip(chrom, pos)]
    return b"".join(lines), np.array(chrom, dtype=object), np.array(pos), np.array([len(x) for x in lines])


def test_write_records__refuses_what_tabix_refuses():
    w = _writer()
    with pytest.raises(InputError, match=r"chromosome 1: position 5 follows 9"):
        w.write_records(*_rows(["1", "1"], [9, 5]))
    w = _writer()
    w.write_records(*_rows(["1", "1"], [5, 9]))
    with pytest.raises(InputError, match="position 7 follows 9"):  # across calls too
        w.write_records(*_rows(["1"], [7]))
    w.write_records(*_rows(["2"], [1]))
    with pytest.raises(InputError, match="rows of chromosome 1 are not together"):
        w.write_records(*_rows(["1"], [100]))
    with pytest.raises(InputError, match="beyond 536870912"):
        _writer().write_records(*_rows(["1"], [(1 << 29) + 2]))
    with pytest.raises(InputError, match="whole numbers"):
        _writer().write_records(*_rows(["1"], [1.5]))


def test_write_records__misuse_is_a_value_error():
    body, chrom, pos, lens = _rows(["1", "1"], [5, 9])
    with pytest.raises(ValueError, match="line lengths sum"):
        _writer().write_records(body + b"x", chrom, pos, lens)
    with pytest.raises(ValueError, match="one value per line"):
        _writer().write_records(body, chrom[:1], pos, lens)
    with pytest.raises(ValueError, match="needs BgzfWriter"):
        BgzfWriter(io.BytesIO()).write_records(body, chrom, pos, lens)
    w = BgzfWriter(io.BytesIO(), tabix=TabixSpec(skip_lines=2))
    w.write(b"one header line\n")
    with pytest.raises(ValueError, match="1 header line"):
        w.write_records(body, chrom, pos, lens)
    w = _writer()
    w.write_records(body, chrom, pos, lens)
    with pytest.raises(ValueError, match="must go through write_records"):
        w.write(b"1\t10\n")
    with pytest.raises(ValueError, match="close"):
        w.tabix_bytes()
    w.close()
    with pytest.raises(ValueError, match="after close"):
        w.write_records(body, chrom, pos, lens)
    with pytest.raises(ValueError):
        TabixSpec(seq_col=0)
