"""Benchmark: the HWE genotype counts of dosages (:func:`edfgen.kernels.qc.hard_call_counts`), counted in
cache-sized column slices, against counting the output of :func:`~edfgen.kernels.qc.hard_calls` (the former
code: ``np.count_nonzero(hard_calls(d) == v, axis=0)`` for v = 0, 1, 2).

Blocks as ``edfgen gwas`` reads a BGEN of the small cohort (``benchmarks/gwas_small.py``: 1,939 analysed samples,
535 variants per block), float32 dosages of an 8-bit BGEN (multiples of 1/255, two thirds of them hard calls)
and the same as float64 (VCF DS); per block, best of ``--repeats`` runs of ``--loops`` calls, process CPU time.
The counts are checked equal.

Usage::

    python benchmarks/hard_call_counts.py [--repeats 5 --tag s36]

Writes ``benchmarks/results/hard_call_counts.json`` and ``.md`` (``--tag T``: ``hard_call_counts_T.*``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from edfgen.kernels.qc import hard_call_counts, hard_calls  # noqa: E402


def former(d: np.ndarray):
    """The counts as the code before the change made them."""
    g = hard_calls(d)
    return tuple(np.count_nonzero(g == v, axis=0).astype(np.int64) for v in (0, 1, 2))


def best_ms(f, d, loops: int, repeats: int) -> float:
    runs = []
    for _ in range(repeats):
        t = time.process_time()
        for _ in range(loops):
            f(d)
        runs.append((time.process_time() - t) / loops * 1e3)
    return round(min(runs), 2)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1939)
    ap.add_argument("--m", type=int, default=535)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--loops", type=int, default=20)
    ap.add_argument("--tag", default="")
    a = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    d = (rng.integers(0, 511, size=(a.n, a.m)) / 255).astype(np.float32)
    hard = rng.random(d.shape) < 2 / 3
    d[hard] = np.rint(d[hard])
    d[rng.random(d.shape) < 0.01] = np.nan
    rows = []
    for name, x in (("float32 (BGEN)", d), ("float64 (VCF DS)", d.astype(np.float64))):
        assert all(np.array_equal(p, q) for p, q in zip(former(x), hard_call_counts(x)))
        old, new = best_ms(former, x, a.loops, a.repeats), best_ms(hard_call_counts, x, a.loops, a.repeats)
        rows.append(dict(dosages=name, former_ms=old, now_ms=new, speedup=round(old / new, 2)))
        print(rows[-1], flush=True)
    result = dict(n=a.n, m=a.m, repeats=a.repeats, loops=a.loops, load_average_1min=round(os.getloadavg()[0], 1),
                  date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), rows=rows)
    stem = "hard_call_counts" + (f"_{a.tag}" if a.tag else "")
    out = HERE / "results"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1))
    lines = [f"# HWE genotype counts of dosages, per block ({a.n} x {a.m})", "",
             f"Measured {result['date']}, 1-min load average {result['load_average_1min']}; best of {a.repeats} x "
             f"{a.loops} calls, process CPU ms per block; counts checked equal.", "",
             "| dosages | former ms | now ms | speed-up |", "|---|---|---|---|"]
    lines += [f"| {r['dosages']} | {r['former_ms']} | {r['now_ms']} | **{r['speedup']}x** |" for r in rows]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    return result


if __name__ == "__main__":
    main()
