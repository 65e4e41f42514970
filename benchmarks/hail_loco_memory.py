"""Benchmark: peak driver memory of ``edfgen gwas --engine hail --model ridge-loco`` (issue 23 item 3).

Step 2 of ridge-LOCO on Hail used to read ``--loco-predictions`` whole (``C x N x P`` floats on the Python
driver: 11 GB for 22 chromosomes x 500k samples x 128 phenotypes, plus the copies made while stacking and
selecting samples); it now converts the directory once into the on-disk store of the fast engine
(:class:`edfgen.formats.loco.LocoStore`) and reads one chromosome's ``N x P`` per Hail pass.

Data: N samples, C chromosomes x M unlinked SNPs (random genotypes, bed-reader), P quantitative phenotypes
(16 shared genetic factors, h² 0.3), covariate age. Step 1 runs once in the fast engine (this tree); then
the Hail step 2 (``--loco-predictions``) runs with the code of ``--before-ref`` (``git archive``) and with
this tree, each in its own process, 1 thread, and the fast engine's step 2 on the same predictions gives
the reference numbers. Memory: peak RSS (``VmHWM``) of the Python driver process, and of the Spark JVM (its
child, sampled every 0.2 s); CPU: user + sys of both (wall times are distorted by the shared machine).

Usage::

    python benchmarks/hail_loco_memory.py                      # N 2,000, 6 chromosomes x 200, P 256
    python benchmarks/hail_loco_memory.py --phenotypes 64 --work /tmp/hlm

Writes ``benchmarks/results/hail_loco_memory.json`` and ``.md``.
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
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _measure import before_tree, write_results  # noqa: E402

#: run ``python -m edfgen ARGS`` in this process and print, at the end, one JSON line: the driver's own peak
#: RSS and CPU, and the largest peak RSS and the CPU of its descendant processes (the Spark JVM)
PROBE = r'''
import json, os, resource, runpy, sys, threading, time
seen = {}
def status(pid):
    out = {}
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith(("VmHWM:", "VmRSS:")):
                out[line.split(":")[0]] = int(line.split()[1])
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        out["cpu"] = (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None
    return out
def descendants(pid):
    out = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            for c in open(f"/proc/{pid}/task/{t}/children").read().split():
                out += [int(c), *descendants(int(c))]
    except OSError:
        pass
    return out
def poll():
    while True:
        for pid in descendants(os.getpid()):
            s = status(pid)
            if s:
                seen[pid] = s
        time.sleep(0.2)
threading.Thread(target=poll, daemon=True).start()
sys.argv = ["edfgen", *sys.argv[1:]]
rc = 0
try:
    runpy.run_module("edfgen", run_name="__main__")
except SystemExit as e:
    rc = e.code or 0
me = status(os.getpid())
ru = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"rc": rc, "driver_peak_rss_kib": me["VmHWM"], "driver_cpu_s": ru.ru_utime + ru.ru_stime,
                  "jvm_peak_rss_kib": max((s.get("VmHWM", 0) for s in seen.values()), default=0),
                  "jvm_cpu_s": sum(s.get("cpu", 0.0) for s in seen.values())}))
sys.stdout.flush()
os._exit(0 if rc == 0 else 1)
'''


def make_data(work: Path, n: int, chroms: int, per: int, P: int, seed: int) -> None:
    """``g.bed/.bim/.fam``, ``pheno.tsv`` (``y0001..``) and ``covar.tsv`` (age) in ``work``."""
    from bed_reader import to_bed

    rng = np.random.default_rng(seed)
    m = chroms * per
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), (n, m)).astype(np.float32)
    iid = [f"s{i:05d}" for i in range(n)]
    to_bed(str(work / "g.bed"), G, properties=dict(
        iid=iid, fid=iid, sid=[f"rs{j + 1}" for j in range(m)],
        chromosome=np.repeat([str(c + 1) for c in range(chroms)], per),
        bp_position=np.tile(np.arange(1, per + 1) * 1000, chroms), allele_1=["A"] * m, allele_2=["G"] * m))
    Z = (G - G.mean(0)) / G.std(0)
    g = Z @ rng.normal(size=(m, 16)) @ rng.normal(size=(16, P))
    Y = np.sqrt(0.3) * g / g.std(0) + np.sqrt(0.7) * rng.normal(size=(n, P))
    ph = pd.DataFrame(Y, columns=[f"y{j + 1:04d}" for j in range(P)])
    ph.insert(0, "IID", iid)
    ph.to_csv(work / "pheno.tsv", sep="\t", index=False, float_format="%.5g")
    pd.DataFrame({"IID": iid, "age": rng.normal(50, 8, n)}).to_csv(work / "covar.tsv", sep="\t", index=False)


def run(src: Path, args: list[str]) -> dict:
    """``python -m edfgen ARGS`` with the package at ``src`` under :data:`PROBE`, 1 BLAS thread: wall s and the
    probe's figures (MiB, CPU s)."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], env=env, capture_output=True, text=True,
                          cwd=src)
    wall = time.perf_counter() - t
    try:
        probe = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        probe = {"rc": proc.returncode}
    if proc.returncode or probe.get("rc"):
        print(proc.stderr[-4000:])
        raise SystemExit(f"edfgen {' '.join(map(str, args[:3]))} ... failed ({src})")
    return {"wall_s": round(wall, 1), "driver_peak_rss_mib": round(probe["driver_peak_rss_kib"] / 1024, 1),
            "driver_cpu_s": round(probe["driver_cpu_s"], 1),
            "jvm_peak_rss_mib": round(probe["jvm_peak_rss_kib"] / 1024, 1), "jvm_cpu_s": round(probe["jvm_cpu_s"], 1)}


def max_rel_diff(a_dir: Path, b_dir: Path, names: list[str]) -> dict:
    """Largest relative difference of beta, standard_error, p_value over the phenotype files ``names``."""
    out = {}
    for col in ("beta", "standard_error", "p_value"):
        worst = 0.0
        for name in names:
            a = pd.read_csv(a_dir / f"{name}.tsv.gz", sep="\t")
            b = pd.read_csv(b_dir / f"{name}.tsv.gz", sep="\t")
            assert list(a["variant_id"]) == list(b["variant_id"]), name
            worst = max(worst, float((np.abs(a[col] - b[col]) / np.abs(a[col]).clip(1e-300)).max()))
        out[col] = worst
    return out


#: step 2's reading of the predictions alone (no Hail) in a fresh process: ``before`` reads them whole and
#: selects the analysed samples (the former Hail path), ``after`` opens the store and reads, subtracts and
#: releases one chromosome at a time (:func:`edfgen.engines.hail_gwas.hail_model_pass`'s loop); prints the
#: peak of ``tracemalloc`` (numpy's allocations) and ``ru_maxrss``, in MiB
READER = r'''
import json, resource, sys, tempfile, tracemalloc
import numpy as np
from edfgen.formats.loco import open_loco_predictions, read_loco_predictions
mode, d = sys.argv[1], sys.argv[2]
tracemalloc.start()
if mode == "before":
    preds = read_loco_predictions(d)
else:
    preds = open_loco_predictions(d, tempfile.mkdtemp(dir=sys.argv[3]))
ids = preds.sample_ids[::-1]
preds = preds.for_samples(ids, preds.phenotypes)
Y = np.ones((len(ids), len(preds.phenotypes)))
total = 0.0
for c in preds.chromosomes:
    resid = Y - preds.loco(c)
    getattr(preds, "release", lambda: None)()
    total += float(resid.sum())
    del resid
print(json.dumps({"traced_peak_mib": tracemalloc.get_traced_memory()[1] / 2 ** 20,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "checksum": total}))
'''


def reader_only(work: Path, n: int, P: int, C: int, before_src: Path) -> dict:
    """Peak memory of step 2's reading of ``C x N x P`` predictions (random values written by
    :func:`edfgen.formats.loco.write_loco_predictions`), before vs after, each in its own process."""
    from edfgen.formats.loco import write_loco_predictions
    from edfgen.kernels.ridge import LocoPredictions

    d = work / f"loco_n{n}_p{P}_c{C}"
    if not (d / "loco_summary.tsv").exists():
        rng = np.random.default_rng(5)
        preds = LocoPredictions(sample_ids=np.array([f"s{i:06d}" for i in range(n)]),
                                phenotypes=[f"y{j + 1:04d}" for j in range(P)], chromosomes=[str(c + 1) for c in range(C)],
                                loco_values=rng.normal(size=(C, n, P)), genome=rng.normal(size=(n, P)),
                                level1_shrinkage=np.ones(P), cv_r2=np.full(P, 0.1))
        write_loco_predictions(preds, d)
        del preds
    out = {"n": n, "phenotypes": P, "chromosomes": C, "loco_predictions_mib": round(C * n * P * 8 / 2 ** 20, 1)}
    for label, src in (("before", before_src), ("after", ROOT)):
        env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", READER, label, str(d), str(work)], env=env, cwd=src,
                              capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(proc.stderr[-3000:])
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        out[label] = {"traced_peak_mib": round(r["traced_peak_mib"], 1), "peak_rss_mib": round(r["peak_rss_mib"], 1),
                      "wall_s": round(time.perf_counter() - t, 1), "checksum": r["checksum"]}
        print("reader", label, out[label], flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--phenotypes", type=int, default=256)
    ap.add_argument("--chromosomes", type=int, default=6)
    ap.add_argument("--per", type=int, default=200, help="SNPs per chromosome")
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--before-ref", default="15ca637", help="commit with the in-memory Hail step 2")
    ap.add_argument("--work", default=None)
    ap.add_argument("--reader", type=int, nargs=3, default=(5000, 128, 22), metavar=("N", "P", "C"),
                    help="size of the reader-only part (no Hail): samples, phenotypes, chromosomes")
    ap.add_argument("--reader-only", action="store_true", help="only the reader part; merged into the results")
    args = ap.parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="edfgen-hail-loco-"))
    work.mkdir(parents=True, exist_ok=True)
    reader = reader_only(work, *args.reader, before_tree(work, args.before_ref))
    if args.reader_only:
        res = json.loads((HERE / "results" / "hail_loco_memory.json").read_text())
        md = (HERE / "results" / "hail_loco_memory.md").read_text().rstrip("\n").split("\n")
        md = md[:md.index("## Reading the predictions alone (no Hail)") - 1] if any(
            line.startswith("## Reading") for line in md) else md
        res["reader_only"] = reader
        write_results("hail_loco_memory", res, md + reader_md(reader, argv))
        return 0
    n, P, C = args.n, args.phenotypes, args.chromosomes
    if not (work / "pheno.tsv").exists():
        make_data(work, n, C, args.per, P, args.seed)
    common = ["--bfile", work / "g", "--pheno", work / "pheno.tsv", "--pheno-prefix", "y", "--covar",
              work / "covar.tsv", "--model", "ridge-loco", "--no-plots", "--threads", "1", "--force"]
    res: dict = {"params": vars(args), "load_average_start": os.getloadavg(), "runs": {}}
    if not (work / "step1" / "loco" / "loco_summary.tsv").exists():
        res["runs"]["step1_fast"] = run(ROOT, ["gwas", *common, "--out", work / "step1"])
    loco = ["--loco-predictions", work / "step1" / "loco"]
    res["runs"]["step2_fast"] = run(ROOT, ["gwas", *common, *loco, "--out", work / "fast"])
    for label, src in (("before", before_tree(work, args.before_ref)), ("after", ROOT)):
        res["runs"][f"hail_{label}"] = run(src, ["gwas", *common, *loco, "--engine", "hail", "--driver-memory", "2g",
                                                 "--tmp-dir", work / f"tmp_{label}", "--out", work / f"hail_{label}"])
        print(label, res["runs"][f"hail_{label}"], flush=True)
    res["load_average_end"] = os.getloadavg()
    names = [f"y{j + 1:04d}" for j in range(P)]
    res["max_rel_diff_hail_after_vs_fast"] = max_rel_diff(work / "fast", work / "hail_after", names)
    res["max_rel_diff_hail_after_vs_before"] = max_rel_diff(work / "hail_before", work / "hail_after", names)
    res["loco_predictions_mib"] = round(C * n * P * 8 / 2 ** 20, 1)
    r = res["runs"]
    md = ["# Hail ridge-loco step 2: driver memory (issue 23 item 3)", "",
          f"`python benchmarks/hail_loco_memory.py {' '.join(argv if argv is not None else sys.argv[1:])}`; load "
          f"average {[round(x, 1) for x in res['load_average_start']]} at the start, "
          f"{[round(x, 1) for x in res['load_average_end']]} at the end (2 cores shared by several jobs: compare "
          "CPU seconds, not wall).", "",
          f"`edfgen gwas --engine hail --model ridge-loco --loco-predictions <step 1>/loco --threads 1 "
          f"--driver-memory 2g` on N = {n} samples, {C} chromosomes x {args.per} unlinked SNPs, {P} quantitative "
          f"phenotypes; step 1 once in the fast engine. *before*: the code of commit `{args.before_ref}` (the "
          "predictions read whole: `C x N x P` floats on the driver, plus the copies made while stacking them and "
          "selecting the analysed samples); *after*: this tree (`--loco-predictions` converted once, one "
          "phenotype's file at a time, to the fast engine's on-disk store; one chromosome's `N x P` read per Hail "
          "pass and released before it runs). Peak RSS = `VmHWM` of the Python driver process; the JVM (Spark "
          "driver + local executors, its child) sampled every 0.2 s.", "",
          "| run | driver peak RSS MiB | JVM peak RSS MiB | driver CPU s | JVM CPU s | wall s |",
          "|---|---|---|---|---|---|"]
    for k, v in r.items():
        md.append(f"| {k} | {v['driver_peak_rss_mib']} | {v['jvm_peak_rss_mib'] or '-'} | {v['driver_cpu_s']} | "
                  f"{v['jvm_cpu_s'] or '-'} | {v['wall_s']} |")
    d, a = res["max_rel_diff_hail_after_vs_fast"], res["max_rel_diff_hail_after_vs_before"]
    md += ["", f"All LOCO predictions are {res['loco_predictions_mib']} MiB ({C} x {n} x {P} x 8 B); one chromosome "
           f"{res['loco_predictions_mib'] / C:.1f} MiB. Driver peak RSS before - after: "
           f"{r['hail_before']['driver_peak_rss_mib'] - r['hail_after']['driver_peak_rss_mib']:.1f} MiB.", "",
           "Same numbers: largest relative difference, Hail (after) vs the fast engine's step 2 on the same "
           f"predictions: beta {d['beta']:.1e}, standard_error {d['standard_error']:.1e}, p_value {d['p_value']:.1e}; "
           f"Hail after vs before: beta {a['beta']:.1e}, standard_error {a['standard_error']:.1e}, "
           f"p_value {a['p_value']:.1e} ({P} phenotype files)."]
    res["reader_only"] = reader
    write_results("hail_loco_memory", res, md + reader_md(reader, argv))
    return 0


def reader_md(r: dict, argv) -> list[str]:
    """The markdown of the reader-only part."""
    b, a = r["before"], r["after"]
    assert b["checksum"] == a["checksum"], (b["checksum"], a["checksum"])
    return ["", "## Reading the predictions alone (no Hail)", "",
            f"Step 2's reading of `--loco-predictions` at a larger size, without Hail (`--reader {r['n']} "
            f"{r['phenotypes']} {r['chromosomes']}`): {r['chromosomes']} chromosomes x {r['n']} samples x "
            f"{r['phenotypes']} phenotypes = {r['loco_predictions_mib']} MiB of predictions (random values), the "
            "analysed samples in another order; *before* reads them whole and selects the samples, *after* opens "
            "the store and reads, subtracts from `Y` and releases one chromosome at a time (the loop of "
            "`hail_model_pass`); `Y` (`N x P`) is allocated in both. Each in its own process: peak of "
            "`tracemalloc` (numpy's allocations) and `ru_maxrss`; the same checksum of `Y - LOCO` in both.", "",
            "| code | traced peak MiB | peak RSS MiB | wall s |", "|---|---|---|---|",
            f"| before | {b['traced_peak_mib']} | {b['peak_rss_mib']} | {b['wall_s']} |",
            f"| after | {a['traced_peak_mib']} | {a['peak_rss_mib']} | {a['wall_s']} |"]


if __name__ == "__main__":
    sys.exit(main())
