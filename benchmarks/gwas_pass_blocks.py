"""Benchmark: the fast engine's association pass alone, by block size, BLAS threads of the product and numpy's
hugepage advice (what a small GWAS's pass costs besides the command's fixed costs; stop 29, issue 23 item 4).

Each configuration runs in a fresh process (page faults and the BLAS thread pool start cold, as in a command)
on the data of ``gwas_small.py`` (``--data``: a ``make_data`` folder with ``g.bed``, and ``g.bgen`` for
``--format bgen``): ``association_pass`` (linear, P random phenotypes, 4 covariates) over every variant and
sample with ``--threads`` BLAS threads, results passed to a sink that keeps nothing. Configurations are
interleaved, ``--repeats`` times; reported: medians of wall, CPU (user + sys of the process, from
``getrusage``), sys alone and minor page faults, over the pass only (not the imports).

* ``block`` variants per block (the engine's default for N = 2,000 is 4096);
* ``threaded``: the product ``G^T [Q, Y]`` may use every BLAS thread whatever its size
  (``THREADED_PRODUCT_MIN = 0``; before stop 29 it always could); otherwise the kernel's rule;
* ``madvise0``: ``NUMPY_MADVISE_HUGEPAGE=0`` (numpy otherwise advises huge pages for arrays >= 4 MB);
* ``malloc_default``: glibc's allocator left as it is (``edfgen.engines.stream.keep_freed_memory`` skipped).

Before stop 29 the engine ran N = 2,000 in 4096-variant blocks, threaded product, default malloc: the
``threaded`` row.

Usage::

    python benchmarks/gwas_pass_blocks.py --data /tmp/edfgen-bench/n2000_m30000_p64_miss0 --tag s29
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

CHILD = """
import json, os, resource, sys, time
import numpy as np
from threadpoolctl import threadpool_limits
import edfgen.kernels.association as assoc
from edfgen.engines.stream import association_pass
import edfgen.engines.stream as stream
data, fmt, block, P, threads, threaded, malloc_default = (sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                                          int(sys.argv[5]), sys.argv[6] == "1", sys.argv[7] == "1")
if threaded:
    assoc.THREADED_PRODUCT_MIN = 0
if malloc_default:
    stream.keep_freed_memory = lambda: None
if fmt == "bed":
    from edfgen.formats.genotypes.plink1 import BedReader
    reader = BedReader(f"{data}/g", threads=threads)
else:
    from edfgen.formats.genotypes.bgen import BgenReader
    reader = BgenReader(f"{data}/g.bgen", sample=f"{data}/g.sample", threads=threads)
N = reader.n_samples
rng = np.random.default_rng(1)
Y, C = rng.normal(size=(N, P)), np.c_[np.ones(N), rng.normal(size=(N, 3))]
check = []
with threadpool_limits(threads):
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    association_pass(reader, np.arange(N), np.arange(reader.n_variants), Y, C, block=block,
                     sink=lambda sl, r, c: check.append(float(np.nansum(r.beta))))
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps(dict(wall_s=t1 - t0, cpu_s=r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime,
                      sys_s=r1.ru_stime - r0.ru_stime, minflt=r1.ru_minflt - r0.ru_minflt, check=sum(check))))
"""


def run_one(data: str, fmt: str, block: int, p: int, threads: int, threaded: bool, madvise0: bool,
            malloc_default: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": str(threads)}
    if madvise0:
        env["NUMPY_MADVISE_HUGEPAGE"] = "0"
    out = subprocess.run([sys.executable, "-c", CHILD, data, fmt, str(block), str(p), str(threads),
                          "1" if threaded else "0", "1" if malloc_default else "0"], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--format", choices=["bed", "bgen"], default="bed")
    ap.add_argument("--p", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--blocks", type=int, nargs="+", default=[4096, 1024, 512, 256])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threaded-block", type=int, default=None,
                    help="block size of the threaded-product row (default: the first of --blocks)")
    ap.add_argument("--threaded-keeps-memory", action="store_true",
                    help="the threaded-product row with keep_freed_memory (default: glibc's allocator as before)")
    ap.add_argument("--tag", default="")
    ap.add_argument("--results", default=str(HERE / "results"))
    a = ap.parse_args(argv)
    configs = [dict(block=b, threaded=False, madvise0=False, malloc_default=False) for b in a.blocks]
    configs += [dict(block=b, threaded=False, madvise0=False, malloc_default=True) for b in a.blocks[:2]]
    configs += [dict(block=a.threaded_block or a.blocks[0], threaded=True, madvise0=False,
                     malloc_default=not a.threaded_keeps_memory),
                dict(block=a.blocks[0], threaded=False, madvise0=True, malloc_default=False)]
    rows = []
    for p in a.p:
        runs = {i: [] for i in range(len(configs))}
        for _ in range(a.repeats):
            for i, c in enumerate(configs):
                runs[i].append(run_one(a.data, a.format, p=p, threads=a.threads, **c))
        for i, c in enumerate(configs):
            checks = {round(r["check"], 9) for r in runs[i]}
            row = dict(phenotypes=p, **c, **{k: round(float(np.median([r[k] for r in runs[i]])), 3)
                                             for k in ("wall_s", "cpu_s", "sys_s", "minflt")},
                       same_result=len(checks) == 1 and checks == {round(runs[0][0]["check"], 9)})
            rows.append(row)
            print(row, flush=True)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    result = dict(data=a.data, format=a.format, threads=a.threads, repeats=a.repeats, commit=commit,
                  load_average_1min=round(os.getloadavg()[0], 1), cpu_count=os.cpu_count(), rows=rows)
    stem = "gwas_pass_blocks" + (f"_{a.tag}" if a.tag else "")
    res = Path(a.results)
    res.mkdir(parents=True, exist_ok=True)
    (res / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [f"# The association pass alone by block size, BLAS threads and hugepage advice ({a.format}, "
          f"{a.threads} threads)", "",
          f"Data `{a.data}`; commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; medians of "
          f"{a.repeats} interleaved runs, each in a fresh process, of `association_pass` alone (no imports, no "
          f"output); shared 2-core machine, 1-min load average {result['load_average_1min']} at the end. "
          "`threaded`: the product may use every BLAS thread; `madvise0`: "
          "`NUMPY_MADVISE_HUGEPAGE=0`; `malloc default`: glibc's allocator not set by `keep_freed_memory`. Before "
          "stop 29: the first block size, threaded, malloc default.", "",
          "| phenotypes | block | threaded product | madvise0 | malloc default | wall s | CPU s | sys s | minor faults "
          "| same result |", "|---|---|---|---|---|---|---|---|---|---|"]
    md += [f"| {r['phenotypes']} | {r['block']} | {r['threaded']} | {r['madvise0']} | {r['malloc_default']} | "
           f"{r['wall_s']} | {r['cpu_s']} | "
           f"{r['sys_s']} | {r['minflt']:.0f} | {r['same_result']} |" for r in rows]
    (res / f"{stem}.md").write_text("\n".join(md) + "\n")
    return result


if __name__ == "__main__":
    main()
