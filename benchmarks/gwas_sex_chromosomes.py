"""Benchmark: ``edfgen gwas`` (fast engine) before and after X, Y and MT are tested by sex (round 28).

    python benchmarks/gwas_sex_chromosomes.py [--n 2000 --m 4000 --phenotypes 8 --repeats 3 --ref HEAD]

A PLINK 1 fileset of ``--n`` samples (half male, 1.5 % of unknown sex in the .fam) and ``--m`` variants: 75 %
on chromosome 1, 15 % non-PAR X (males 0/2), 5 % Y (females missing), 5 % MT; and the same variants all on
chromosome 1 (the autosomal control: nothing there may cost more). ``edfgen gwas`` (linear, ``--phenotypes``
columns, default QC, no plots) runs in a fresh process per repeat, by the tree of ``--ref`` (``git archive``:
before the change) and by this tree, interleaved; CPU seconds (user + sys of the child) are compared by their
medians; then ``run_gwas`` alone (timed inside the child, start-up excluded) on the autosomal cohort, ``--repeats``
+ 2 times each. Writes ``results/gwas_sex_chromosomes.{md,json}``.
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
from _measure import ROOT, before_tree, timed, write_results  # noqa: E402


#: run_gwas alone, timed in the child (imports excluded): argv = cohort folder, out folder
INPROCESS = """
import sys, time, json
from pathlib import Path
from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings
d, out = Path(sys.argv[1]), Path(sys.argv[2])
t = time.process_time()
run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", out, covar_cols=["age"],
         qc=QCSettings(), settings=GwasSettings(plots=False), threads=1, force=True)
print(json.dumps({"cpu_s": time.process_time() - t}))
"""


def cohort(folder: Path, n: int, m: int, P: int, sexed: bool, seed: int = 28) -> None:
    from bed_reader import to_bed

    rng = np.random.default_rng(seed)
    sex = np.where(rng.random(n) < 0.5, 1, 2)
    sex[rng.random(n) < 0.015] = 0
    kinds = (["1"] * int(0.75 * m) + ["23"] * int(0.15 * m) + ["24"] * int(0.05 * m)) if sexed else []
    kinds += (["26"] if sexed else ["1"]) * (m - len(kinds))
    p = rng.uniform(0.05, 0.5, m)
    g = rng.binomial(2, p, size=(n, m)).astype(np.float32)
    hap = np.isin(kinds, ["23", "24", "26"])
    for j in np.flatnonzero(hap):
        rows = sex != 2 if kinds[j] == "23" else np.ones(n, bool)
        g[rows, j] = 2 * rng.binomial(1, p[j], int(rows.sum()))
        if kinds[j] == "24":
            g[sex != 1, j] = np.nan
    iid = [f"s{i}" for i in range(n)]
    pos = np.arange(1, m + 1) * 100 + 3_000_000
    to_bed(folder / "g.bed", g, count_A1=False, properties={
        "fid": iid, "iid": iid, "sex": sex, "sid": [f"v{j}" for j in range(m)], "chromosome": kinds,
        "bp_position": pos, "allele_1": ["A"] * m, "allele_2": ["G"] * m})
    Y = rng.normal(size=(n, P))
    pd.DataFrame(Y, columns=[f"y{k}" for k in range(P)]).assign(IID=iid).to_csv(folder / "pheno.tsv", sep="\t",
                                                                                   index=False)
    pd.DataFrame({"IID": iid, "age": rng.normal(50, 8, n)}).to_csv(folder / "covar.tsv", sep="\t", index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--m", type=int, default=4000)
    ap.add_argument("--phenotypes", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--ref", default="HEAD")
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    work = Path(a.work or tempfile.mkdtemp(prefix="s28sex_bench_"))
    before = before_tree(work, a.ref)
    trees = {"before": before, "after": ROOT}
    res: dict = {"command": " ".join(["python", *sys.argv]), "date": datetime.datetime.now(datetime.timezone.utc)
                 .isoformat(timespec="seconds"), "load_1min": os.getloadavg()[0], "ref": a.ref,
                 "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                          capture_output=True, text=True).stdout.strip(),
                 "n": a.n, "m": a.m, "phenotypes": a.phenotypes, "cases": {}}
    for case, sexed in (("X_Y_MT", True), ("autosomes_only", False)):
        folder = work / case
        folder.mkdir(exist_ok=True)
        cohort(folder, a.n, a.m, a.phenotypes, sexed)
        cpu: dict = {k: [] for k in trees}
        for _ in range(a.repeats):
            for name, tree in trees.items():
                env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
                r = timed([sys.executable, "-m", "edfgen", "gwas", "--bfile", str(folder / "g"), "--pheno",
                           str(folder / "pheno.tsv"), "--covar", str(folder / "covar.tsv"), "--covariates", "age",
                           "--out", str(folder / f"out_{name}"), "--no-plots", "--force", "--threads", "1"],
                          env=env, cwd=tree)
                cpu[name].append(r["cpu_s"])
        res["cases"][case] = {k: {"cpu_s": v, "median_cpu_s": statistics.median(v)} for k, v in cpu.items()}
        res["cases"][case]["ratio_after_before"] = (statistics.median(cpu["after"])
                                                    / statistics.median(cpu["before"]))
        same = []
        for k in range(a.phenotypes):     # chromosome 1's rows, every column: the same text before and after
            b, f = (pd.read_csv(folder / f"out_{t}" / f"y{k}.tsv.gz", sep="\t", dtype=str) for t in trees)
            same.append(b[b["chromosome"] == "1"].reset_index(drop=True).equals(
                f[f["chromosome"] == "1"].reset_index(drop=True)))
        res["cases"][case]["chr1_rows_identical"] = all(same)
        res["cases"][case]["rows_per_chromosome"] = {t: pd.read_csv(folder / f"out_{t}" / "y0.tsv.gz", sep="\t",
                                                                    dtype=str)["chromosome"].value_counts().to_dict()
                                                     for t in trees}
    ip: dict = {k: [] for k in trees}      # run_gwas alone on the autosomal cohort (start-up excluded)
    for _ in range(a.repeats + 2):
        for name, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
            out = subprocess.run([sys.executable, "-c", INPROCESS, str(work / "autosomes_only"),
                                  str(work / f"inproc_{name}")], env=env, cwd=tree, capture_output=True, text=True,
                                 check=True).stdout.strip().splitlines()[-1]
            ip[name].append(round(json.loads(out)["cpu_s"], 3))
    med = {k: statistics.median(v) for k, v in ip.items()}
    res["autosomes_only_in_process"] = {"cpu_s": ip, "median_cpu_s": med, "ratio_after_before": med["after"]
                                        / med["before"]}
    md = [f"# edfgen gwas on X, Y and MT: before ({a.ref}) and after reading sex",
          "", f"`{res['command']}`; commit {res['commit']}, {res['date']}, 1-min load {res['load_1min']:.2f} "
          f"(2 shared cores); N={a.n}, M={a.m}, {a.phenotypes} phenotypes, {a.repeats} interleaved repeats, CPU "
          "seconds of the child (user + sys), medians.", "",
          "| cohort | before CPU s | after CPU s | after / before | chr1 rows identical | rows per chromosome "
          "(GWAS-SSF codes) before -> after |", "|---|---|---|---|---|---|"]
    for case, c in res["cases"].items():
        md.append(f"| {case} | {c['before']['median_cpu_s']:.2f} | {c['after']['median_cpu_s']:.2f} | "
                  f"{c['ratio_after_before']:.3f} | {c['chr1_rows_identical']} | {c['rows_per_chromosome']['before']} "
                  f"-> {c['rows_per_chromosome']['after']} |")
    md += ["", "X_Y_MT: 75 % chr1, 15 % X, 5 % Y, 5 % MT, 1.5 % of samples of unknown sex (X read a second time for "
           "them); before, Y's variants all failed the call rate (females' missing calls) and were not tested. The CPU "
           "seconds are mostly start-up (Python imports) at this size; single runs spread by +-30 % under the shared load."]
    md += ["", f"run_gwas alone (`time.process_time()` in the child, imports excluded; {a.repeats + 2} interleaved "
           f"runs) on autosomes_only: before {med['before']:.3f} s, after {med['after']:.3f} s median CPU (ratio "
           f"{med['after'] / med['before']:.2f}; single runs {min(ip['before']):.2f}-{max(ip['before']):.2f} and "
           f"{min(ip['after']):.2f}-{max(ip['after']):.2f} s)."]
    write_results("gwas_sex_chromosomes", res, md)


if __name__ == "__main__":
    main()
