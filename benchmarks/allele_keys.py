"""Benchmark: ``variant_allele_keys`` (the strand-free variant + allele-pair key that ``mr``, the sumstats readers
and per-chromosome file checks use) before/after building the pair text once per distinct allele pair (stop 29).

On 500,000 rows (SNVs and a few indels, a seventh with lower-case alleles), CPU seconds of each tree's function,
interleaved, median of ``--repeats``; the keys must be identical.

Usage::

    python benchmarks/allele_keys.py --ref 71f8e12 [--rows 500000 --repeats 5]

Writes ``benchmarks/results/allele_keys.{json,md}``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import before_and_after, run_record, write_results  # noqa: E402


def table(n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` rows of variant ids and effect/other alleles."""
    rng = np.random.default_rng(seed)
    al = np.array(list("ACGT") + ["AT", "GCC", "TTTA"])
    ea, oa = al[rng.integers(0, 4, n)], al[rng.integers(0, 7, n)]
    df = pd.DataFrame({"variant_id": [f"rs{i}" for i in range(n)], "effect_allele": ea, "other_allele": oa})
    df.loc[::7, "effect_allele"] = pd.Series(ea[::7]).str.lower().to_numpy()
    return df


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="HEAD~1")
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    funcs = before_and_after(a.ref, "edfgen/kernels/alleles.py", "edfgen_keys_")
    df = table(a.rows)
    cpu = {k: [] for k in funcs}
    keys = {}
    for _ in range(a.repeats):
        for name, mod in funcs.items():
            t = time.process_time()
            keys[name] = mod.variant_allele_keys(df)
            cpu[name].append(time.process_time() - t)
    same = bool(keys["before"].equals(keys["after"]))
    res = {**run_record("allele_keys.py", a.ref), "rows": a.rows, "repeats": a.repeats, "identical_keys": same,
           "cpu_s": {k: statistics.median(v) for k, v in cpu.items()}}
    ratio = res["cpu_s"]["before"] / res["cpu_s"]["after"]
    md = ["# `variant_allele_keys`: the pair text built once per distinct allele pair (stop 29)", "",
          f"`{res['command']}`; commit {res['commit']} (before: {a.ref}), {res['date']}, 1-min load "
          f"{res['load_1min']:.2f} (2 shared cores). {a.rows:,} rows, CPU seconds, median of {a.repeats} interleaved.",
          "", "| before CPU s | after CPU s | ratio | keys identical |", "|---|---|---|---|",
          f"| {res['cpu_s']['before']:.3f} | {res['cpu_s']['after']:.3f} | {ratio:.1f} | {same} |"]
    write_results("allele_keys", res, md)


if __name__ == "__main__":
    main()
