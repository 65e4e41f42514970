"""Benchmark: the variants' kinds (X, Y, MT, PAR by coordinates) computed once per ``edfgen gwas`` run (stop 29)
instead of once per pass.

    python benchmarks/gwas_variant_kinds.py [--n 60 --m 1000000 --repeats 3 --ref HEAD]

A PLINK 1 fileset of ``--n`` samples (half male) and ``--m`` variants on chromosomes 1-22 and X (5 % X, a few
inside PAR1's GRCh38 coordinates); ``run_gwas`` (fast engine, default QC, no plots) runs in a fresh process per
repeat, by the tree of ``--ref`` (``git archive``: before the change) and by this tree, interleaved, twice: as
is (the one pass) and with one sample missing 10 % of its calls (fails the sample call rate: the first pass is
dropped, QC, then the association pass). The child counts the calls of ``chromosome_kinds`` and their CPU
seconds and times ``run_gwas`` (``time.process_time``, imports excluded). Writes
``results/gwas_variant_kinds.{md,json}``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, before_tree, write_results  # noqa: E402

#: run_gwas in the child with chromosome_kinds counted and timed: argv = cohort folder, out folder
CHILD = """
import sys, time, json
from pathlib import Path
import edfgen.engines.sex_chromosomes as sc, edfgen.engines.gwas_stream as gs
from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings
calls = []
inner = sc.chromosome_kinds
def counted(*a, **k):
    t = time.process_time()
    out = inner(*a, **k)
    calls.append(time.process_time() - t)
    return out
for m in (sc, gs):
    if hasattr(m, "chromosome_kinds"):
        m.chromosome_kinds = counted
d, out = Path(sys.argv[1]), Path(sys.argv[2])
t = time.process_time()
run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", None, out, qc=QCSettings(),
         settings=GwasSettings(transform="none", plots=False))
print(json.dumps({"cpu_s": time.process_time() - t, "kinds_calls": len(calls), "kinds_cpu_s": sum(calls)}))
"""


def make_cohort(d: Path, n: int, m: int, bad_sample: bool) -> None:
    from bed_reader import to_bed

    rng = np.random.default_rng(29)
    chrom = np.r_[np.repeat(np.arange(1, 23), (m - m // 20) // 22 + 1)[:m - m // 20], np.full(m // 20, 23)]
    pos = np.empty(m, dtype=np.int64)
    for c in np.unique(chrom):
        at = np.flatnonzero(chrom == c)
        pos[at] = 2_000_000 + np.arange(len(at)) * 97
    g = rng.binomial(2, 0.3, size=(n, m)).astype(np.int8)
    male = np.arange(n) % 2 == 0
    x = np.flatnonzero(chrom == 23)
    g[np.ix_(male, x)] = 2 * (g[np.ix_(male, x)] > 0)
    if bad_sample:
        g[1, rng.choice(m, m // 10, replace=False)] = -127
    iid = [f"s{i}" for i in range(n)]
    to_bed(d / "g.bed", g, count_A1=False, properties={
        "fid": iid, "iid": iid, "sex": np.where(male, 1, 2), "sid": [f"v{j}" for j in range(m)],
        "chromosome": chrom.astype(str), "bp_position": pos, "allele_1": ["A"] * m, "allele_2": ["G"] * m})
    pd.DataFrame({"IID": iid, "y": rng.normal(size=n)}).to_csv(d / "pheno.tsv", sep="\t", index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--m", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ref", default="HEAD")
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="edfgen_kinds_"))
    trees = {"before": before_tree(work, a.ref), "after": ROOT}
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    res = {"command": "python benchmarks/gwas_variant_kinds.py " + " ".join(sys.argv[1:]), "commit": commit,
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "load_1min": os.getloadavg()[0], "ref": a.ref, "n": a.n, "m": a.m, "runs": {}}
    for path in ("one_pass", "qc_first"):
        d = work / path
        d.mkdir(exist_ok=True)
        if not (d / "g.bed").exists():
            make_cohort(d, a.n, a.m, bad_sample=path == "qc_first")
        runs = {k: [] for k in trees}
        for r in range(a.repeats):
            for name, tree in trees.items():
                out = work / f"out_{path}_{name}_{r}"
                proc = subprocess.run([sys.executable, "-c", CHILD, str(d), str(out)], capture_output=True, text=True,
                                      cwd=tree, env={**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"},
                                      check=True)
                runs[name].append(json.loads(proc.stdout.strip().splitlines()[-1]))
        res["runs"][path] = runs
    res["load_1min_end"] = os.getloadavg()[0]

    def med(path, name, key):
        return statistics.median(r[key] for r in res["runs"][path][name])

    md = ["# edfgen gwas: the variants' kinds computed once per run (stop 29)", "",
          f"`{res['command']}`; commit {commit} (before: {a.ref}), {res['date']}, 1-min load {res['load_1min']:.2f} "
          f"at the start, {res['load_1min_end']:.2f} at the end (2 shared cores); N={a.n}, M={a.m:,} (5 % X), "
          f"{a.repeats} interleaved repeats, CPU seconds in the child (`time.process_time`, imports excluded), "
          "medians.", "",
          "| path | calls of chromosome_kinds before -> after | their CPU s before -> after | run_gwas CPU s before "
          "| after | after / before |", "|---|---|---|---|---|---|"]
    for path in res["runs"]:
        b, f = (med(path, k, "cpu_s") for k in ("before", "after"))
        md.append(f"| {path} | {med(path, 'before', 'kinds_calls'):.0f} -> {med(path, 'after', 'kinds_calls'):.0f} "
                  f"| {med(path, 'before', 'kinds_cpu_s'):.2f} -> {med(path, 'after', 'kinds_cpu_s'):.2f} "
                  f"| {b:.1f} | {f:.1f} | {f / b:.3f} |")
    md += ["", "one_pass: every sample passes the call rate (QC and association in one pass); qc_first: one sample "
           "fails it, so the first pass is dropped, QC runs, then the association pass (the kinds were computed in "
           "each: up to 7 times). The whole run's CPU is dominated by reading and testing 1M variants; single runs "
           "spread by several percent under the shared load, so only the kinds' own seconds are a clean figure."]
    write_results("gwas_variant_kinds", res, md)


if __name__ == "__main__":
    main()
