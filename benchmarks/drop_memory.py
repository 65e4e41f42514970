"""Benchmark: memory of ``--missing-genotypes drop`` with many phenotypes (stop 33).

The drop path (:func:`edfgen.kernels.association._drop_missing_ols`) needs, for every variant with a missing call,
``Q_S' Q_S`` and ``Q_S' Yres_S`` over its called samples ``S``. It formed every sample's ``Q_i Yres_i'`` at once:
an ``n x K x P`` array per block of variants (10 GB at 500,000 people, 20 covariates, 128 EDFs). Now they are
summed over blocks of samples of at most ``CALLED_PRODUCTS_BYTES`` (64 MiB). Setting that limit above the
array's size gives the earlier behaviour, so both run here in one process, on the same data:
peak traced allocation (``tracemalloc``, numpy's buffers included), CPU time, and the largest difference of
beta between the two.

Usage::

    python benchmarks/drop_memory.py                  # n 20000, 12 covariates, 128 phenotypes, 400 variants
    python benchmarks/drop_memory.py --n 50000 --p 256

Writes ``benchmarks/results/drop_memory.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from pathlib import Path

import numpy as np

import edfgen.kernels.association as assoc

RESULTS = Path(__file__).parent / "results"


def run(G, ph, limit: int) -> tuple[float, float, np.ndarray]:
    """Peak traced MiB, CPU seconds and beta of one drop-mode pass with the sample-block limit ``limit``."""
    assoc.CALLED_PRODUCTS_BYTES = limit
    tracemalloc.start()
    t = time.process_time()
    res = assoc.linear_association(G, ph, missing_genotypes="drop")
    cpu = time.process_time() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak, cpu, res.beta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--k", type=int, default=12, help="covariates, intercept included")
    ap.add_argument("--p", type=int, default=128)
    ap.add_argument("--m", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    C = np.column_stack([np.ones(a.n), rng.normal(size=(a.n, a.k - 1))])
    G = rng.binomial(2, 0.3, (a.n, a.m)).astype(float)
    G[rng.random(G.shape) < 0.03] = np.nan
    ph = assoc.prepare_phenotypes(rng.normal(size=(a.n, a.p)), C)
    default = assoc.CALLED_PRODUCTS_BYTES
    rows = {}
    for name, limit in (("blocks of samples (now)", default), ("all samples at once (before)", 1 << 62),
                        ("blocks of samples (now), again", default)):
        peak, cpu, beta = run(G, ph, limit)
        rows[name] = {"peak_traced_mib": round(peak, 1), "cpu_s": round(cpu, 2), "beta": beta}
    ref = rows["all samples at once (before)"]["beta"]
    for r in rows.values():
        b = r.pop("beta")
        r["max_rel_beta_diff_vs_before"] = float(np.nanmax(np.abs(b - ref) / np.abs(ref)))
    out = {"n": a.n, "k": a.k, "p": a.p, "m": a.m, "n_x_k_x_p_mib": round(a.n * a.k * a.p * 8 / 2**20, 1),
           "limit_bytes": default, "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "drop_memory.json").write_text(json.dumps(out, indent=1))
    lines = [f"# `--missing-genotypes drop`: memory with many phenotypes\n",
             f"`python benchmarks/drop_memory.py --n {a.n} --k {a.k} --p {a.p} --m {a.m}` (one process, same data; "
             f"the n x K x P array is {out['n_x_k_x_p_mib']} MiB)\n",
             "| drop path | peak traced MiB | CPU s | max relative beta difference vs before |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['peak_traced_mib']} | {v['cpu_s']} | {v['max_rel_beta_diff_vs_before']:.1e} |"
              for k, v in rows.items()]
    (RESULTS / "drop_memory.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
