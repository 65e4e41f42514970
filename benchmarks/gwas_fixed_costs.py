"""Benchmark: where the CPU time of one small ``edfgen gwas`` run goes, from process start to exit.

Each run is ``edfgen gwas`` on the ``.bed`` of ``benchmarks/gwas_small.py`` (N = 2,000, 30k variants), 1 and
8 phenotypes, started from a small driver in a fresh interpreter that

* imports, in the order ``edfgen gwas`` imports them, click, numpy, pandas, scipy.special, PyYAML, the
  command's own modules and bed-reader (as the tree's ``plink1`` module imports it), and records the
  CPU time (user + system, all threads) each adds;
* wraps the steps of the run (reading the ``.bim``/``.fam``/tables, the association pass, the QC and
  its HWE test, the linear kernel, writing and plotting) and records their CPU time: the calling thread's
  own (``time.thread_time``) and the whole process's while the step ran (it includes the background
  threads: genotype prefetch, the matplotlib import started early, the compressing writer);
* records the process's CPU at its last exit handler; the child's total from ``/usr/bin/time`` minus
  that is the interpreter's teardown.

The driver adds its wrappers' overhead (microseconds a call). Medians of ``--repeats`` runs, with
``--baseline`` another edfgen tree measured in the same way, interleaved.

Usage::

    python benchmarks/gwas_fixed_costs.py [--repeats 3 --baseline /tmp/base]

Writes ``benchmarks/results/gwas_fixed_costs.json`` and ``.md`` (``--tag T``: ``gwas_fixed_costs_T.*``).
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
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _measure import timed  # noqa: E402
from gwas_small import QC2, bytecode_env, commit_of, small_data  # noqa: E402

DRIVER = r'''
import sys, time, functools, importlib, resource, atexit, threading, collections, json
def ru():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
out = {"interpreter start": ru()}
sys.path.insert(0, sys.argv[1])
for m in ["click", "numpy", "pandas", "scipy.special", "yaml", "edfgen.cli.genetics", "bed_reader"]:
    a = ru()
    if m == "bed_reader":   # as the command imports it: trees up to s20 through plink1, s21 decodes the .bed itself
        plink1 = importlib.import_module("edfgen.formats.genotypes.plink1")
        if hasattr(plink1, "_bed_reader_open_bed"):
            plink1._bed_reader_open_bed()
    else:
        importlib.import_module(m)
    out["import " + m] = ru() - a
stats = collections.defaultdict(lambda: [0, 0.0, 0.0])
def wrap(name, f):
    @functools.wraps(f)
    def w(*a, **k):
        t, p = time.thread_time(), ru()
        try:
            return f(*a, **k)
        finally:
            s = stats[name]; s[0] += 1; s[1] += time.thread_time() - t; s[2] += ru() - p
    return w
TARGETS = json.loads(sys.argv[2])
for mod, names in TARGETS.items():
    M = importlib.import_module(mod)
    for n in names:
        if "." in n:
            cls, meth = n.split(".")
            C = getattr(M, cls); setattr(C, meth, wrap(n, getattr(C, meth)))
            continue
        if not hasattr(M, n):   # a step that one of the trees compared does not have
            continue
        f = getattr(M, n); w = wrap(n, f)
        for mm in list(sys.modules.values()):
            if getattr(mm, "__name__", "").startswith("edfgen") and getattr(mm, n, None) is f:
                setattr(mm, n, w)
def report():
    out["steps"] = {k: {"calls": v[0], "thread_cpu": v[1], "process_cpu": v[2]} for k, v in stats.items()}
    out["at last exit handler"] = ru()
    out["edfgen_file"] = sys.modules["edfgen"].__file__
    open(sys.argv[3], "w").write(json.dumps(out))
atexit.register(report)
from edfgen.cli import main
main(sys.argv[4:])
'''

TARGETS = {
    "edfgen.formats.genotypes.plink1": ["read_bim", "read_fam", "BedReader.read"],
    "edfgen.formats.tables": ["read_table"],
    "edfgen.commands.gwas": ["run_gwas"],
    "edfgen.engines.gwas_stream": ["one_pass"],
    "edfgen.engines.stream": ["association_pass", "block_counts"],
    "edfgen.kernels.qc": ["variant_qc", "hwe_exact_below", "hwe_exact_p"],
    "edfgen.kernels.association": ["linear_association"],
    "edfgen.commands.gwas_design": ["covariate_design"],
    "edfgen.commands.gwas_output": ["output_order", "GwasOutputs.close", "GwasOutputs._draw"],
    "edfgen.formats.sumstats.layout": ["chrom_key"],
    "edfgen.formats.manifest": ["sha256_file"],
}
LABELS = {
    "read_bim": "`.bim` parsed into the variants table", "read_fam": "`.fam` parsed",
    "read_table": "phenotype + covariate tables read", "run_gwas": "the whole command (after imports)",
    "one_pass": "streamed pass (reading, QC, association, writing; all threads)",
    "association_pass": "association pass (blocks of variants)", "block_counts": "per-block counts + float block",
    "variant_qc": "variant QC (MAF, missingness, HWE)", "hwe_exact_p": "HWE exact test (tables built)",
    "hwe_exact_below": "HWE filter (bound first, exact test where it can fail)",
    "BedReader.read": "`.bed` genotypes decoded (in the prefetch thread)",
    "linear_association": "linear kernel", "covariate_design": "covariate design", "output_order": "output order",
    "GwasOutputs.close": "closing the outputs (summary, plots)", "GwasOutputs._draw": "drawing the plots",
    "chrom_key": "chromosome sort keys", "sha256_file": "input checksums for the manifest",
}


def one_run(tree: Path, args: list[str], env: dict, work: Path) -> dict:
    rec = work / "costs.json"
    t = timed([sys.executable, "-c", DRIVER, str(tree), json.dumps(TARGETS), str(rec), *args], env=env)
    r = json.loads(rec.read_text())
    r["total"] = t["cpu_s"]
    r["wall"] = t["wall_s"]
    r["teardown"] = t["cpu_s"] - r["at last exit handler"]
    return r


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--m", type=int, default=30000)
    ap.add_argument("--p", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", default=None)
    ap.add_argument("--tag", default="")
    ap.add_argument("--work", default=os.environ.get("EDFGEN_BENCH_DIR", "/tmp/edfgen-bench"))
    ap.add_argument("--results", default=str(HERE / "results"))
    a = ap.parse_args(argv)
    work = small_data(a.work, a.n, a.m)
    env = bytecode_env(a.work, 1, "")
    trees = {"edfgen": REPO, **({"baseline": Path(a.baseline)} if a.baseline else {})}
    plink = {}
    runs = {(t, p): [] for t in trees for p in a.p}
    for p in a.p:
        args = ["gwas", "-q", "--bfile", str(work / "g"), "--pheno", str(work / "pheno.tsv"), "--pheno-cols",
                f"edf_001..edf_{p:03d}", "--covar", str(work / "covar.tsv"), "--transform", "none", "--threads", "1",
                "--force", "--out", str(work / "fixed_costs_out")]
        for tree in trees.values():   # bytecode compiled once, as an installed package has it
            one_run(tree, args, env, work)
        p2 = []
        for _ in range(a.repeats):
            p2.append(timed(["plink2", "--bfile", str(work / "g"), "--pheno", str(work / "pheno.p2"), "--pheno-name",
                             ",".join(f"edf_{j + 1:03d}" for j in range(p)), "--covar", str(work / "covar.p2"),
                             "--glm", "hide-covar", *QC2, "--threads", "1", "--out", str(work / "fixed_costs_p2"), "--silent"]))
            for name, tree in trees.items():
                runs[(name, p)].append(one_run(tree, args, env, work))
        plink[p] = {"cpu": float(np.median([r["cpu_s"] for r in p2])), "wall": float(np.median([r["wall_s"] for r in p2]))}
    result = {"n": a.n, "m": a.m, "repeats": a.repeats, "baseline": a.baseline, "plink2": plink,
              "load_average_1min": round(os.getloadavg()[0], 1),
              "commit": commit_of(REPO),
              "medians": {}}
    for (name, p), rs in runs.items():
        med = {k: float(np.median([r[k] for r in rs])) for k in rs[0] if isinstance(rs[0][k], (int, float))}
        med["edfgen_file"] = rs[0]["edfgen_file"]
        med["steps"] = {s: {m: float(np.median([r["steps"].get(s, {}).get(m, 0.0) for r in rs]))
                            for m in ("calls", "thread_cpu", "process_cpu")} for s in rs[0]["steps"]}
        result["medians"][f"{name}_p{p}"] = med
    res = Path(a.results)
    res.mkdir(parents=True, exist_ok=True)
    stem = "gwas_fixed_costs" + (f"_{a.tag}" if a.tag else "")
    (res / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (res / f"{stem}.md").write_text(markdown(result, a) + "\n")
    return result


def markdown(r: dict, a) -> str:
    cols = [k for k in r["medians"]]
    ms = lambda v: f"{1000 * v:.0f}"  # noqa: E731
    md = [f"# Where one small `edfgen gwas` run's CPU goes (N = {r['n']:,}, {r['m']:,} variants, .bed, 1 thread)", "",
          f"Measured at commit {r['commit']}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, on a shared 2-core "
          f"machine (1-min load {r['load_average_1min']}). Medians of {r['repeats']} runs per column, CPU ms "
          "(user + system). Imports: what each adds in `edfgen gwas`'s order. Steps: the process's CPU while the "
          "step ran (background threads included), the calling thread's own in brackets; steps nest (the "
          "command contains the pass, the pass the blocks).", "",
          "| cost | " + " | ".join(c.replace("_p", ", ") + " phen." for c in cols) + " |",
          "|---|" + "---|" * len(cols)]
    first = r["medians"][cols[0]]
    for k in ["interpreter start"] + [k for k in first if k.startswith("import ")]:
        md.append(f"| {k} | " + " | ".join(ms(r["medians"][c].get(k, 0.0)) for c in cols) + " |")
    for s in TARGETS_ORDER([r["medians"][c] for c in cols]):
        md.append(f"| {LABELS.get(s, s)} (`{s}`) | " + " | ".join(
            f"{ms(r['medians'][c]['steps'].get(s, {}).get('process_cpu', 0.0))} "
            f"({ms(r['medians'][c]['steps'].get(s, {}).get('thread_cpu', 0.0))})" for c in cols) + " |")
    md.append("| interpreter teardown after the last exit handler | " + " | ".join(
        ms(r["medians"][c]["teardown"]) for c in cols) + " |")
    md.append("| **whole process** (`/usr/bin/time`) | " + " | ".join(
        f"**{ms(r['medians'][c]['total'])}**" for c in cols) + " |")
    md += ["", "plink2 `--glm` on the same files, same QC, 1 thread: " + ", ".join(
        f"{p} phenotype(s) {1000 * v['cpu']:.0f} ms CPU ({v['wall']:.2f} s wall)" for p, v in r["plink2"].items()) + "."]
    return "\n".join(md)


def TARGETS_ORDER(columns: list[dict]) -> list[str]:  # noqa: N802
    """The steps measured in any column (trees differ: a step one tree lacks is 0 in its columns)."""
    names = [n for ns in TARGETS.values() for n in ns]
    return [n for n in names if any(n in c["steps"] for c in columns)]


if __name__ == "__main__":
    main()
