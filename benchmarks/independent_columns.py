"""Benchmark: ``independent_columns`` (the covariates Y's males and X's samples of known sex keep) before and after
one Gram-Schmidt pass replaced one least-squares fit per column (stop 29).

    python benchmarks/independent_columns.py [--ref HEAD~1 --repeats 5]

Designs: intercept, age, sex, a one-hot centre (all levels: collinear with the intercept), PCs and sex again, on
the males (sex constant); the function of ``--ref`` (``git archive``) and of this tree, interleaved, CPU seconds
(``time.process_time``, one thread), medians; the columns kept must be the same. Writes
``results/independent_columns.{md,json}``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import before_and_after, run_record, write_results  # noqa: E402




def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="HEAD~1")
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    funcs = {k: mod.independent_columns
             for k, mod in before_and_after(a.ref, "edfgen/engines/sex_chromosomes.py", "edfgen_indep_").items()}
    rng = np.random.default_rng(1)
    res = {**run_record("independent_columns.py", a.ref), "designs": []}
    for n, n_pcs, n_centres in ((20_000, 10, 10), (200_000, 20, 22), (500_000, 20, 22)):
        centre = rng.integers(0, n_centres, n)
        sex = (rng.random(n) < 0.5).astype(float)
        C = np.column_stack([np.ones(n), rng.normal(50, 8, n), sex, (centre[:, None] == np.arange(n_centres)),
                             rng.normal(size=(n, n_pcs)), sex])[sex == 1]
        names = [f"c{j}" for j in range(C.shape[1])]
        cpu = {k: [] for k in funcs}
        kept = {}
        for _ in range(a.repeats):
            for k, f in funcs.items():
                t = time.process_time()
                kept[k] = f(C, names)[1]
                cpu[k].append(time.process_time() - t)
        assert kept["before"] == kept["after"]
        res["designs"].append({"rows": len(C), "columns": C.shape[1], "kept": len(kept["after"]),
                               **{f"{k}_cpu_s": round(statistics.median(v), 4) for k, v in cpu.items()}})
    res["load_1min_end"] = os.getloadavg()[0]
    md = ["# independent_columns: one Gram-Schmidt pass instead of one least-squares fit per column (stop 29)", "",
          f"`{res['command']}`; commit {res['commit']} (before: {a.ref}), {res['date']}, 1-min load "
          f"{res['load_1min']:.2f} -> {res['load_1min_end']:.2f} (2 shared cores), OMP_NUM_THREADS=1, "
          f"{a.repeats} interleaved repeats, medians of CPU seconds; the same columns kept in every design.", "",
          "| rows (males) | columns | kept | before CPU s | after CPU s | before / after |", "|---|---|---|---|---|---|"]
    for r in res["designs"]:
        md.append(f"| {r['rows']:,} | {r['columns']} | {r['kept']} | {r['before_cpu_s']:.3f} | {r['after_cpu_s']:.3f} "
                  f"| {r['before_cpu_s'] / r['after_cpu_s']:.1f} |")
    write_results("independent_columns", res, md)


if __name__ == "__main__":
    main()
