"""Reduced scaling measurement of ``edfgen gwas`` (fast engine, linear model, ``--no-plots``): three sizes per
axis (samples N, variants M, phenotypes P) around a base point, a power law fitted per axis, and the projection
to UK Biobank size (500k samples x 10M variants x 128 EDFs) with its assumptions.

Data: ``gwas_vs_plink2.make_data`` (PLINK .bed, no missing calls, 22 chromosomes, covariates age, sex,
centre). The N axis uses ``--keep`` subsets of the largest cohort, the M axis ``--extract`` of the first M
variants, the P axis ``--pheno-cols``. Wall, CPU (user+sys of the child) and peak RSS of the whole command.

Model: ``CPU = c * N^a * M^b * P^g`` with each exponent the least-squares slope of log CPU on its axis
(the other two at the base point) and ``c`` from the base point. The measured sizes are small (a shared
2-core machine): the fitted exponents include fixed costs (Python start, imports, table reading), which
flatten them; the projection is therefore also given with ``a = b = 1`` and the P exponent as fitted
(the products are linear in N and M; per-variant costs do not depend on N otherwise).

Usage: ``python benchmarks/scale.py [--base-n 4000 --base-m 40000 --base-p 8]`` (the committed result).
Writes ``results/scale.json`` and ``results/scale.md``.
"""

from __future__ import annotations

import argparse
import json
import os
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
TARGET = dict(n=500_000, m=10_000_000, p=128)
#: Neale lab UK Biobank GWAS on Hail: ~200,000 CPU-hours for ~4,000 phenotypes (issue 23)
NEALE_CPU_H_PER_PHENOTYPE = 50.0


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base-n", type=int, default=4000)
    ap.add_argument("--base-m", type=int, default=40000)
    ap.add_argument("--base-p", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default=os.environ.get("EDFGEN_BENCH_DIR", "/tmp/edfgen-bench"))
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--refit", action="store_true", help="refit and rewrite from results/scale.json's runs")
    a = ap.parse_args(argv)
    n0, m0, p0 = a.base_n, a.base_m, a.base_p
    axes = dict(n=[n0 // 2, n0, n0 * 2], m=[m0 // 2, m0, m0 * 2], p=[p0, p0 * 4, p0 * 16])
    if a.refit:
        return summarise({(r["n"], r["m"], r["p"]): r for r in json.loads((Path(a.out) / "scale.json").read_text())
                          ["runs"]}, axes, a)
    work = Path(a.work) / f"scale_n{max(axes['n'])}_m{max(axes['m'])}_p{max(axes['p'])}"
    gwas_vs_plink2.make_data(work, max(axes["n"]), max(axes["m"]), max(axes["p"]))
    ids = pd.read_csv(work / "g.fam", sep=r"\s+", header=None, dtype=str)
    bim = pd.read_csv(work / "g.bim", sep="\t", header=None, dtype=str)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads), PYTHONPATH=str(REPO))
    rows = []
    seen = {}
    for axis, values in axes.items():
        for v in values:
            size = {**dict(n=n0, m=m0, p=p0), axis: v}
            key = (size["n"], size["m"], size["p"])
            if key not in seen:
                ids.iloc[:size["n"], :2].to_csv(work / "keep.txt", sep="\t", header=False, index=False)
                bim[1].iloc[:size["m"]].to_csv(work / "extract.txt", header=False, index=False)
                r = timed([*EDFGEN, "gwas", "-q", "--bfile", str(work / "g"), "--keep", str(work / "keep.txt"),
                           "--extract", str(work / "extract.txt"), "--pheno", str(work / "pheno.tsv"),
                           "--pheno-cols", f"edf_001..edf_{size['p']:03d}", "--covar", str(work / "covar.tsv"),
                           "--categorical", "centre", "--no-plots", "--threads", str(a.threads), "--force",
                           "--out", str(work / "out")], env=env)
                seen[key] = dict(**size, wall_s=r["wall_s"], cpu_s=r["cpu_s"], peak_rss_mib=r["peak_rss_mib"],
                                 load_average_1min=round(os.getloadavg()[0], 1))
                print(seen[key], flush=True)
            rows.append(dict(axis=axis, **seen[key]))
    return summarise(seen, axes, a)


def summarise(seen: dict, axes: dict, a) -> dict:
    """Fit the cost model to the runs ``seen`` ((N, M, P) -> measurements) and write scale.json/.md."""
    n0, m0, p0 = a.base_n, a.base_m, a.base_p
    rows = [dict(axis=axis, **seen[tuple({**dict(n=n0, m=m0, p=p0), axis: v}[k] for k in "nmp")])
            for axis, values in axes.items() for v in values]
    exps = {}
    for axis in axes:
        sub = [r for r in rows if r["axis"] == axis]
        exps[axis] = float(np.polyfit(np.log([r[axis] for r in sub]), np.log([r["cpu_s"] for r in sub]), 1)[0])
    base = seen[(n0, m0, p0)]

    # CPU = f + u M + v M N at P = p0 (least squares over the N and M axes: fixed, per-variant, per
    # variant x sample costs), the variable part growing as P^g (P axis)
    nm = [r for r in rows if r["axis"] in ("n", "m")]
    A = np.array([[1.0, r["m"], r["m"] * r["n"]] for r in nm])
    fixed, per_variant, per_entry = np.linalg.lstsq(A, np.array([r["cpu_s"] for r in nm]), rcond=None)[0]
    p_rows = [r for r in rows if r["axis"] == "p"]
    var_p = np.array([r["cpu_s"] - fixed for r in p_rows])
    g_var = float(np.polyfit(np.log([r["p"] for r in p_rows]), np.log(np.maximum(var_p, 1e-3)), 1)[0])
    n_rows = [r for r in rows if r["axis"] == "n"]
    var_n = np.array([r["cpu_s"] - fixed for r in n_rows])
    a_var = (float(np.polyfit(np.log([r["n"] for r in n_rows]), np.log(var_n), 1)[0]) if (var_n > 0).all()
             else None)
    projected = (TARGET["m"] * (per_variant + per_entry * TARGET["n"]) * (TARGET["p"] / p0) ** g_var) / 3600
    flops = 2.0 * TARGET["n"] * (5 + TARGET["p"]) * TARGET["m"]
    rss = {axis: float(np.polyfit(np.log([r[axis] for r in rows if r["axis"] == axis]),
                                  np.log([r["peak_rss_mib"] for r in rows if r["axis"] == axis]), 1)[0]) for axis in axes}
    result = dict(base=dict(n=n0, m=m0, p=p0), threads=a.threads, runs=list(seen.values()),
                  raw_cpu_exponents=exps, fixed_cpu_s=float(fixed), cpu_s_per_variant=float(per_variant),
                  cpu_s_per_variant_sample=float(per_entry),
                  variable_part_exponent_p=g_var, variable_part_exponent_n=a_var, rss_exponents=rss, target=TARGET,
                  projected_cpu_hours=projected, projected_cpu_hours_per_phenotype=projected / TARGET["p"],
                  neale_hail_cpu_hours_per_phenotype=NEALE_CPU_H_PER_PHENOTYPE,
                  projected_wall_hours_64_cores=projected / 64,
                  measured=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    out = Path(a.out)
    (out / "scale.json").write_text(json.dumps(result, indent=2) + "\n")
    md = ["# edfgen gwas scaling (fast engine, linear, --no-plots) and a UK Biobank-size projection", "",
          f"Measured {result['measured']} on a shared 2-core machine, {a.threads} threads (load averages per row). "
          "Reduced measurement: three sizes per axis around the base point "
          f"N = {n0:,}, M = {m0:,}, P = {p0}; `gwas` linear only (ridge-loco, clump, extract not measured here).", "",
          "| N | M | P | wall s | CPU s | peak RSS MiB | load |", "|---|---|---|---|---|---|---|"]
    md += [f"| {r['n']:,} | {r['m']:,} | {r['p']} | {r['wall_s']} | {r['cpu_s']} | {r['peak_rss_mib']} | "
           f"{r['load_average_1min']} |" for r in seen.values()]
    md += ["", f"Raw power-law slopes of log CPU (CPU ∝ N^a M^b P^g): a = {exps['n']:.2f}, b = {exps['m']:.2f}, "
           f"g = {exps['p']:.2f}: flattened by the fixed and per-variant costs, which dominate at these sizes. "
           f"Least-squares fit CPU = f + u M + v M N over the N and M axes (P = {p0}): **f = {fixed:.2f} CPU-s "
           f"fixed** (Python, imports, tables), **u = {per_variant:.3g} CPU-s per variant** (QC, output rows), "
           f"**v = {per_entry:.3g} CPU-s per variant × sample** (decoding, products); the variable part grows as "
           f"P^{g_var:.2f} "
           f"(P axis); its N exponent is "
           + (f"{a_var:.2f}" if a_var is not None else "not measurable here (the N axis is within the noise of the "
              "fixed part at this load)")
           + f". Peak RSS exponents N {rss['n']:.2f}, M {rss['m']:.2f}, P {rss['p']:.2f}.", "",
           "Projection to N = 500,000, M = 10,000,000, P = 128 with that model, M (u + v N) (P/8)^"
           f"{g_var:.2f} (the fixed part is negligible there): **{projected:,.0f} CPU-hours, "
           f"{projected / 128:,.2f} per phenotype**, ≈ {projected / 64:,.1f} h wall on one 64-core machine if the "
           "work spread perfectly over the cores (not measured: 2 threads here). Neale lab's UK Biobank GWAS on "
           f"Hail: ≈ {NEALE_CPU_H_PER_PHENOTYPE:.0f} CPU-hours per phenotype (≈ 200,000 CPU-hours / 4,000 "
           "phenotypes, issue 23's figure).", "",
           "Assumptions and limits: an extrapolation over 2.5 orders of magnitude in N and M from runs of a few "
           "CPU-seconds; hard-call .bed input (BGEN decoding adds ~0.55 CPU-s per 10k variants × 10k samples, "
           "`gwas_vs_plink2_bgen_n10000.md`: 5.5e-9 CPU-s per entry, ≈ 7.6 CPU-hours more at 500k × 10M); no missing "
           "calls, one missingness pattern; ridge-loco, clump, extract and the Spark cluster not measured here.", "",
           f"Cross-check by operation count: the products `G^T [Q, Y]` alone are 2 N (K + P) M ≈ {flops:.2g} flops "
           f"(K = 5 covariates), ≈ {flops / 20e9 / 3600:,.0f} CPU-hours at an assumed 20 GFLOP/s per core; the "
           f"output rows, linear in P (u × 16), add ≈ {per_variant * 16 * TARGET['m'] / 3600:,.0f}. The fitted "
           "model's P exponent comes from small N, where output costs dominate, so it underestimates the products "
           f"at N = 500k: read the projection as **{projected:,.0f}–{max(projected, flops / 20e9 / 3600 + per_variant * 16 * TARGET['m'] / 3600 + per_entry * TARGET['n'] * TARGET['m'] / 3600):,.0f} CPU-hours** "
           "(0.1–0.2 per phenotype) for the linear fast engine on .bed; the Neale-lab Hail figure (≈ 50 per phenotype) "
           "is a different engine, cohort and workload (imputed BGEN, per-phenotype runs): not like for like."]
    (out / "scale.md").write_text("\n".join(md) + "\n")
    return result


if __name__ == "__main__":
    main()
