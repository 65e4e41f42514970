"""Benchmark: small GWAS runs (N = 2,000 x 30k variants) against plink2, and what edfgen's fixed costs are.

In one run, on the same data (``gwas_vs_plink2.make_data``: two populations, 22 chromosomes, covariates
age, sex, centre):

* quantitative phenotypes, 1 / 8 / 64 at once, ``.bed`` and BGEN 1.2 8-bit input: ``edfgen gwas`` (default
  options, plots included) vs ``plink2 --glm`` (same QC), through ``gwas_vs_plink2.main`` (its own result
  files, tag ``small``);
* ``--binary`` with 8 diseases (case rate 10-30 %): ``edfgen gwas --binary`` (fast engine, Wald) vs
  ``plink2 --glm firth-fallback``;
* the fixed costs of one edfgen run: ``python -c pass``, ``import edfgen.commands.gwas`` (pandas, scipy,
  the readers, matplotlib through the plot module), the same run with ``--no-plots``, and edfgen's own split
  (QC, association, export) from ``manifest.json``.

Usage::

    python benchmarks/gwas_small.py [--n 2000 --m 30000]

Writes ``benchmarks/results/gwas_small.json`` and ``.md`` (and ``gwas_vs_plink2_small.*``,
``gwas_vs_plink2_bgen_small.*``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _measure import timed  # noqa: E402
import gwas_vs_plink2  # noqa: E402

EDFGEN = [sys.executable, "-c", "from edfgen.cli import main; main()"]


def binary_outcomes(work: Path, k: int = 8, seed: int = 3) -> None:
    """``outcomes.tsv`` (0/1) and ``outcomes.p2`` (plink2's 1 = control, 2 = case) from the phenotypes."""
    ph = pd.read_csv(work / "pheno.tsv", sep="\t")
    rng = np.random.default_rng(seed)
    out = pd.DataFrame({"IID": ph["IID"]})
    for j in range(k):
        y = ph[f"edf_{j + 1:03d}"].to_numpy() + rng.normal(0, 1, len(ph))
        q = np.nanquantile(y, 1 - (0.1 + 0.2 * j / max(k - 1, 1)))
        out[f"d{j + 1}"] = np.where(np.isnan(y), np.nan, (y > q).astype(float))
    out.to_csv(work / "outcomes.tsv", sep="\t", index=False, na_rep="NA")
    p2 = out.copy()
    p2[p2.columns[1:]] = p2[p2.columns[1:]] + 1
    p2.insert(0, "#FID", p2["IID"])
    p2.to_csv(work / "outcomes.p2", sep="\t", index=False, na_rep="NA", float_format="%.0f")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--m", type=int, default=30000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=os.environ.get("EDFGEN_BENCH_DIR", "/tmp/edfgen-bench"))
    ap.add_argument("--results", default=str(HERE / "results"))
    ap.add_argument("--skip-quantitative", action="store_true", help="only the binary run and the fixed costs")
    a = ap.parse_args(argv)
    common = ["--n", str(a.n), "--m", str(a.m), "--p", "1", "8", "64", "--threads", str(a.threads), "--work", a.work,
              "--results", a.results, "--tag", "small"]
    quant = {}
    if not a.skip_quantitative:
        for fmt in ("bed", "bgen"):
            r = gwas_vs_plink2.main([*common, "--format", fmt])
            quant[fmt] = [{k: row[k] for k in ("phenotypes", "plink2_s", "edfgen_s", "ratio", "plink2_cpu_s",
                                               "edfgen_cpu_s", "cpu_ratio", "load_average_1min")} for row in r["runs"]]
    work = Path(a.work) / f"n{a.n}_m{a.m}_p64_miss0"
    gwas_vs_plink2.make_data(work, a.n, a.m, 64)
    binary_outcomes(work)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads),
               PYTHONPATH=str(REPO))
    qc2 = ["--maf", "0.01", "--geno", "0.05", "--hwe", "1e-6", "--mind", "0.05"]
    out2, oute = work / "plink2_bin", work / "edfgen_bin"
    shutil.rmtree(out2, ignore_errors=True)
    out2.mkdir()
    p2 = timed(["plink2", "--bfile", str(work / "g"), "--pheno", str(work / "outcomes.p2"), "--covar",
                str(work / "covar.p2"), "--glm", "firth-fallback", "hide-covar", *qc2, "--threads", str(a.threads),
                "--memory", "4000", "--out", str(out2 / "r"), "--silent"])
    base = [*EDFGEN, "gwas", "-q", "--bfile", str(work / "g"), "--covar", str(work / "covar.tsv"),
            "--threads", str(a.threads), "--force"]
    eb = timed([*base, "--pheno", str(work / "outcomes.tsv"), "--binary", "--out", str(oute)], env=env)
    man = json.loads((oute / "manifest.json").read_text())
    ours = pd.read_csv(oute / "d1.tsv.gz", sep="\t")
    ref = pd.read_csv(out2 / "r.d1.glm.logistic.hybrid", sep="\t")
    mm = ours.merge(ref[ref["FIRTH?"] == "N"], left_on="variant_id", right_on="ID")
    sign = np.where(mm["effect_allele"] == mm["A1"], 1.0, -1.0)
    binary = dict(diseases=8, plink2_firth_fallback_s=p2["wall_s"], edfgen_s=eb["wall_s"],
                  ratio=round(eb["wall_s"] / p2["wall_s"], 2), plink2_cpu_s=p2["cpu_s"], edfgen_cpu_s=eb["cpu_s"],
                  cpu_ratio=round(eb["cpu_s"] / p2["cpu_s"], 2), edfgen_timings_s=man["extra"]["timings_s"],
                  max_abs_log_or_diff_non_firth=float(np.abs(mm["beta"] - sign * np.log(mm["OR"])).max()),
                  load_average_1min=round(os.getloadavg()[0], 1))
    print(binary, flush=True)
    # fixed costs
    fixed = dict(python_start_s=timed([sys.executable, "-c", "pass"])["wall_s"],
                 import_gwas_s=timed([sys.executable, "-c", "import edfgen.commands.gwas"], env=env)["wall_s"])
    q1 = [*base, "--pheno", str(work / "pheno.tsv"), "--pheno-cols", "edf_001", "--transform", "none"]
    with_plots = timed([*q1, "--out", str(work / "e1")], env=env)
    no_plots = timed([*q1, "--no-plots", "--out", str(work / "e2")], env=env)
    fixed.update(one_phenotype_s=with_plots["wall_s"], one_phenotype_no_plots_s=no_plots["wall_s"],
                 one_phenotype_timings_s=json.loads((work / "e1" / "manifest.json").read_text())["extra"]["timings_s"],
                 load_average_1min=round(os.getloadavg()[0], 1))
    print(fixed, flush=True)
    for d in (out2, oute, work / "e1", work / "e2"):
        shutil.rmtree(d, ignore_errors=True)
    result = dict(n=a.n, m=a.m, threads=a.threads, quantitative=quant, binary=binary, fixed_costs=fixed,
                  commit=subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True).stdout.strip(), cpu_count=os.cpu_count())
    res = Path(a.results)
    res.mkdir(parents=True, exist_ok=True)
    (res / "gwas_small.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [f"# Small GWAS runs vs plink2 (N = {a.n:,}, {a.m:,} variants, {a.threads} threads)", "",
          f"Measured at commit {result['commit']}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, on a shared "
          "2-core machine (load averages in the tables). edfgen with its default options (plots included).", "",
          "| input | phenotypes | plink2 wall s | edfgen wall s | wall ratio | CPU ratio | load |", "|---|---|---|---|---|---|---|"]
    for fmt, rows in quant.items():
        md += [f"| {fmt} | {r['phenotypes']} | {r['plink2_s']} | {r['edfgen_s']} | **{r['ratio']}** | {r['cpu_ratio']} | "
               f"{r['load_average_1min']} |" for r in rows]
    md += [f"| bed, `--binary` (8 diseases) vs `--glm firth-fallback` | 8 | {binary['plink2_firth_fallback_s']} | "
           f"{binary['edfgen_s']} | **{binary['ratio']}** | {binary['cpu_ratio']} | {binary['load_average_1min']} |", "",
           f"Binary: max |Δ log OR| vs plink2 on its non-Firth rows {binary['max_abs_log_or_diff_non_firth']:.2g}; "
           f"edfgen split {binary['edfgen_timings_s']}.", "",
           "## Fixed costs of one run (1 phenotype, .bed)", "",
           "| part | wall s |", "|---|---|",
           f"| `python -c pass` | {fixed['python_start_s']} |",
           f"| `import edfgen.commands.gwas` (incl. Python start) | {fixed['import_gwas_s']} |",
           f"| whole run, `--no-plots` | {fixed['one_phenotype_no_plots_s']} |",
           f"| whole run, default (plots) | {fixed['one_phenotype_s']} |", "",
           f"edfgen's own split of the default run: {fixed['one_phenotype_timings_s']} (load {fixed['load_average_1min']})."]
    (res / "gwas_small.md").write_text("\n".join(md) + "\n")
    return result


if __name__ == "__main__":
    main()
