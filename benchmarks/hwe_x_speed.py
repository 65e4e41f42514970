"""Benchmark: X's exact HWE test (``hwe_x_exact_p``, ``hwe_x_exact_below``: plink2's Graffelman-Weir ``--hwe`` on
X) before and after 1 - the mass around the mode and the cheap bound replaced the tail sum (review rev29d F3).

    python benchmarks/hwe_x_speed.py [--ref HEAD~1 --repeats 1]

Null X variants (allele frequency uniform 0.01-0.5, half women in HWE, half men) at N = 10k, 100k and 500k:
CPU seconds (``time.process_time``, one thread) of the exact p of ``--exact`` variants, and of the ``--hwe 1e-6``
screen of ``--screen`` variants, for the kernel of ``--ref`` (``git archive``) and of this tree, interleaved;
the p-values (max |log ratio|) and the screen's decisions must agree. Writes ``results/hwe_x_speed.{md,json}``.
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




def _null_counts(rng, n: int, m: int) -> np.ndarray:
    p = rng.uniform(0.01, 0.5, m)
    fem = np.array([rng.multinomial(n // 2, [q * q, 2 * q * (1 - q), (1 - q) ** 2]) for q in p])
    m1 = rng.binomial(n - n // 2, p)
    return np.column_stack([fem, m1, n - n // 2 - m1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default="HEAD~1")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--exact", type=int, default=10)
    ap.add_argument("--screen", type=int, default=100)
    a = ap.parse_args()
    mods = before_and_after(a.ref, "edfgen/kernels/qc.py", "edfgen_hwex_")
    rng = np.random.default_rng(1)
    res = {**run_record("hwe_x_speed.py", a.ref), "sizes": []}
    for n in (10_000, 100_000, 500_000):
        exact, screen = _null_counts(rng, n, a.exact), _null_counts(rng, n, a.screen)
        cpu = {f"{k}_{w}": [] for k in mods for w in ("exact", "screen")}
        out = {}
        for _ in range(a.repeats):
            for k, mod in mods.items():
                t = time.process_time()
                out[k, "exact"] = mod.hwe_x_exact_p(*exact.T)
                cpu[f"{k}_exact"].append(time.process_time() - t)
                t = time.process_time()
                out[k, "screen"] = mod.hwe_x_exact_below(*screen.T, 1e-6)
                cpu[f"{k}_screen"].append(time.process_time() - t)
        assert (out["before", "screen"] == out["after", "screen"]).all()
        lobs = mods["after"].hwe_x_log_prob_observed(*screen.T)
        res["sizes"].append({
            "n": n, "exact_variants": a.exact, "screen_variants": a.screen,
            "screen_share_past_old_prefilter": float((lobs < np.log(2e-6)).mean()),
            "max_abs_log_ratio": float(np.abs(np.log(out["after", "exact"]) - np.log(out["before", "exact"])).max()),
            **{f"{k}_cpu_s": round(statistics.median(v), 3) for k, v in cpu.items()}})
    res["load_1min_end"] = os.getloadavg()[0]
    md = ["# X's exact HWE: 1 - the mass around the mode, cheap bound first (review rev29d F3)", "",
          f"`{res['command']}`; commit {res['commit']} (before: {a.ref}), {res['date']}, 1-min load "
          f"{res['load_1min']:.2f} -> {res['load_1min_end']:.2f} (2 shared cores), OMP_NUM_THREADS=1, "
          f"{a.repeats} interleaved repeat(s), CPU seconds (median). Null X variants, half women, half men; "
          "exact: `hwe_x_exact_p` of every variant; screen: `hwe_x_exact_below(..., 1e-6)` (the `--hwe` filter), "
          "same decisions before and after.", "",
          "| N | exact: variants | before CPU s | after CPU s | ratio | max abs log ratio of p | screen: variants "
          "| share past the old pre-filter | before CPU s | after CPU s | ratio |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in res["sizes"]:
        md.append(f"| {r['n']:,} | {r['exact_variants']} | {r['before_exact_cpu_s']:.2f} | {r['after_exact_cpu_s']:.2f} "
                  f"| {r['before_exact_cpu_s'] / max(r['after_exact_cpu_s'], 1e-3):.0f} | {r['max_abs_log_ratio']:.1e} "
                  f"| {r['screen_variants']} | {r['screen_share_past_old_prefilter']:.0%} | {r['before_screen_cpu_s']:.2f} "
                  f"| {r['after_screen_cpu_s']:.2f} | {r['before_screen_cpu_s'] / max(r['after_screen_cpu_s'], 1e-3):.0f} |")
    write_results("hwe_x_speed", res, md)


if __name__ == "__main__":
    main()
