"""The ``.bed`` decoder of :class:`edfgen.formats.genotypes.plink1.BedReader` (numpy table lookup) against
bed-reader's (the Rust decoder it replaced, an independent implementation of the PLINK 1 format): every
sample count modulo 4 (padding bits), missing calls, sample subsets in any order, repeated and
out-of-order variants, int8 and float reads, one and several decoding threads."""

import threading

import numpy as np
import pytest

from edfgen.formats.genotypes import plink1
from edfgen.formats.genotypes.base import MISSING_INT8
from edfgen.formats.genotypes.plink1 import BedReader


def _write_bed(prefix, n: int, m: int, seed: int) -> np.ndarray:
    """A fileset with ``n`` samples, ``m`` variants (2 % missing calls) written by bed-reader's ``to_bed``;
    returns the genotypes [n, m] (NaN missing)."""
    from bed_reader import to_bed

    rng = np.random.default_rng(seed)
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), (n, m)).astype(np.float32)
    G[rng.random((n, m)) < 0.02] = np.nan
    iid = np.array([f"S{i}" for i in range(n)])
    to_bed(f"{prefix}.bed", G, count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": [f"v{i}" for i in range(m)], "chromosome": np.repeat(["1"], m),
        "bp_position": np.arange(1, m + 1) * 10, "allele_1": np.full(m, "A"), "allele_2": np.full(m, "G")})
    return G


def _reference(prefix, rows, cols, dtype) -> np.ndarray:
    from bed_reader import open_bed

    with open_bed(f"{prefix}.bed", count_A1=True) as bed:
        return bed.read(index=np.s_[rows, cols], dtype=dtype, order="F")


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 37, 402])
def test_bed_decode__equals_bed_reader(tmp_path, n):
    m = 53
    G = _write_bed(tmp_path / "g", n, m, seed=n)
    r = BedReader(tmp_path / "g", threads=1)
    rng = np.random.default_rng(n)
    subsets = [None, np.sort(rng.choice(n, max(1, n - 2), replace=False)), rng.permutation(n), np.array([n - 1, 0, n - 1]),
               rng.permutation(n)[:max(1, n // 5)]]                # a few of many: the codes of those alone
    variants = [np.arange(m), rng.permutation(m)[:17], np.array([m - 1, 0, 0, 5])]
    for rows in subsets:
        for cols in variants:
            got = r.read(rows, cols, dtype=np.int8)
            ref = _reference(tmp_path / "g", np.s_[:] if rows is None else rows, cols, "int8")
            assert got.dtype == np.int8 and got.shape == ref.shape
            np.testing.assert_array_equal(got, ref)
            # against the written genotypes as well: -127 exactly where a call is missing
            want = G[:, cols] if rows is None else G[rows][:, cols]
            np.testing.assert_array_equal(got == MISSING_INT8, np.isnan(want))
            np.testing.assert_array_equal(got[got != MISSING_INT8], want[~np.isnan(want)])
            f = r.read(rows, cols, dtype=np.float64)
            np.testing.assert_array_equal(f, _reference(tmp_path / "g", np.s_[:] if rows is None else rows, cols,
                                                        "float64"))
    r.close()
    np.testing.assert_array_equal(r.read(None, variants[1], dtype=np.int8),     # closed, then read again
                                  _reference(tmp_path / "g", np.s_[:], variants[1], "int8"))


def test_bed_decode__several_threads_same_calls(tmp_path, monkeypatch):
    """A block large enough to be split over threads decodes to the same calls as one thread."""
    n, m = 203, 300
    _write_bed(tmp_path / "g", n, m, seed=7)
    monkeypatch.setattr(plink1, "_PARALLEL_MIN", 1000)       # split even this small block
    pools = []

    class Recording(plink1.ThreadPoolExecutor):
        def __init__(self, workers, **kw):
            pools.append(workers)
            super().__init__(workers, **kw)

    monkeypatch.setattr(plink1, "ThreadPoolExecutor", Recording)
    for k, rows in enumerate([np.random.default_rng(1).permutation(n)[:150], np.arange(n)[::7], None]):
        one = BedReader(tmp_path / "g", threads=1).read(rows, np.arange(m), dtype=np.int8)
        assert pools == [2] * k
        three = BedReader(tmp_path / "g", threads=3).read(rows, np.arange(m), dtype=np.int8)
        assert pools == [2] * (k + 1)                            # split in 3: 2 helper threads and this one
        np.testing.assert_array_equal(one, three)
    assert not [t for t in threading.enumerate() if t.name.startswith("edfgen-bed")]   # none left running
    np.testing.assert_array_equal(three, _reference(tmp_path / "g", np.s_[:], np.s_[:], "int8"))
