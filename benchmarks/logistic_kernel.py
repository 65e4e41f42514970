"""Benchmark: the logistic Wald kernel of ``edfgen gwas --binary`` alone, this tree vs a baseline tree.

``edfgen.kernels.logistic.logistic_association`` on one block of the ``gwas_small.py`` data (N = 2,000 x the
first ``--m`` variants, the 8 outcomes, covariates intercept, age, sex, centre), with BLAS limited to 1 and to 2
threads (the engine's ``--threads``), each in its own process, min of ``--repeats`` CPU times (user+sys of the
process, so the machine's load counts less than in wall times). The numbers of both trees are compared
(max relative difference; the same fits converge).

Usage::

    git archive REV edfgen | tar -x -C /tmp/base
    python benchmarks/logistic_kernel.py --baseline /tmp/base

Writes ``benchmarks/results/logistic_kernel.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import gwas_small  # noqa: E402
import gwas_vs_plink2  # noqa: E402

SCRIPT = """
import sys, time, numpy as np, pandas as pd
sys.path.insert(0, sys.argv[1])
from threadpoolctl import threadpool_limits
from bed_reader import open_bed
from edfgen.kernels.logistic import logistic_association, prepare_logistic
work, m, threads, reps, out = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
G = open_bed(work + "/g.bed").read(index=np.s_[:, :m], dtype="float64")
oc, cv = pd.read_csv(work + "/outcomes.tsv", sep="\\t"), pd.read_csv(work + "/covar.tsv", sep="\\t")
C = np.column_stack([np.ones(len(cv)), cv.age, cv.sex, cv.centre == "B", cv.centre == "C"]).astype(float)
Y = oc.iloc[:, 1:].to_numpy()
ok = ~np.isnan(Y).any(1)
G, C, Y = np.asfortranarray(G[ok]), C[ok], Y[ok]
prep = prepare_logistic(Y, C)
best_cpu, best_wall = 1e9, 1e9
with threadpool_limits(limits=threads, user_api="blas"):
    for _ in range(reps):
        t, c = time.perf_counter(), time.process_time()
        r = logistic_association(G, prep)
        best_cpu, best_wall = min(best_cpu, time.process_time() - c), min(best_wall, time.perf_counter() - t)
np.save(out, np.stack([r.beta, r.standard_error, r.p_value, r.converged]))
print(best_cpu, best_wall, int(ok.sum()))
"""


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--m", type=int, default=4096)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", default=os.environ.get("EDFGEN_BENCH_DIR", "/tmp/edfgen-bench"))
    ap.add_argument("--results", default=str(HERE / "results"))
    a = ap.parse_args(argv)
    work = Path(a.work) / "n2000_m30000_p64_miss0"
    gwas_vs_plink2.make_data(work, 2000, 30000, 64)
    gwas_small.binary_outcomes(work)
    env = dict(os.environ, OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    rows, arrays = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for threads in (1, 2):
            for name, tree in (("baseline", a.baseline), ("edfgen", str(REPO))):
                out = f"{tmp}/{name}{threads}.npy"
                r = subprocess.run([sys.executable, "-c", SCRIPT, tree, str(work), str(a.m), str(threads),
                                    str(a.repeats), out], capture_output=True, text=True, env=env, check=True)
                cpu, wall, n = r.stdout.split()
                rows.append(dict(tree=name, blas_threads=threads, cpu_s=round(float(cpu), 2),
                                 wall_s=round(float(wall), 2), samples=int(n), load_average_1min=round(os.getloadavg()[0], 1)))
                arrays[(name, threads)] = np.load(out)
                print(rows[-1], flush=True)
        a0, b0 = arrays[("baseline", 1)], arrays[("edfgen", 2)]
        same_nan = bool((np.isnan(a0) == np.isnan(b0)).all())
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = float(np.nanmax(np.abs(a0[:3] - b0[:3]) / np.abs(a0[:3])))
    by = {(r["tree"], r["blas_threads"]): r for r in rows}
    result = dict(m=a.m, phenotypes=8, repeats=a.repeats, baseline=a.baseline, runs=rows,
                  cpu_speedup={t: round(by[("baseline", t)]["cpu_s"] / by[("edfgen", t)]["cpu_s"], 2) for t in (1, 2)},
                  max_rel_diff=rel, same_failed_fits=same_nan,
                  commit=subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True).stdout.strip())
    res = Path(a.results)
    res.mkdir(parents=True, exist_ok=True)
    (res / "logistic_kernel.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [f"# Logistic Wald kernel alone: {a.m:,} variants x 8 outcomes x {rows[0]['samples']:,} samples", "",
          f"Commit {result['commit']}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; baseline `{a.baseline}`. "
          f"Min of {a.repeats} runs; CPU = user+sys of the process (the machine is shared: see the load).", "",
          "| tree | BLAS threads | CPU s | wall s | load |", "|---|---|---|---|---|"]
    md += [f"| {r['tree']} | {r['blas_threads']} | {r['cpu_s']} | {r['wall_s']} | {r['load_average_1min']} |" for r in rows]
    md += ["", f"CPU baseline / edfgen: {result['cpu_speedup'][1]}x (1 thread), {result['cpu_speedup'][2]}x (2 threads). "
           f"Max relative difference of beta, SE, p: {rel:.2g}; the same fits fail in both: {same_nan}."]
    (res / "logistic_kernel.md").write_text("\n".join(md) + "\n")
    return result


if __name__ == "__main__":
    main()
