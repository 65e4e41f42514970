"""Wall time of ``edfgen ldsc`` (in-sample LD scores, h², rg), ``edfgen finemap`` and ``edfgen coloc`` on a simulated
cohort (default N = 10,000, 5 x 20,000 = 100k variants), plus the LDSC intercepts found.

The 9 physiology traits are the phenotypes (ldsc --rg over all pairs; finemap of every clumped locus; coloc of
every locus of heart_rate_bpm, qt_interval_ms, pr_interval_ms with the other six traits as outcomes).

Usage: ``python benchmarks/genetics_timing.py --n 10000 --chromosomes 5 --variants 20000 --work DIR``
-> ``results/genetics_timing.json`` + ``.md``.
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

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _measure import timed  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def edfgen(*args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return timed([sys.executable, "-m", "edfgen", *args], env=env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--chromosomes", type=int, default=5)
    ap.add_argument("--variants", type=int, default=20000)
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    from edfgen.simulate.cohort import simulate_cohort

    work = Path(a.work or tempfile.mkdtemp(prefix="genetics_timing_"))
    cohort = work / "cohort"
    if not (cohort / "truth.json").exists():
        simulate_cohort(cohort, n=a.n, seed=5, chromosomes=a.chromosomes, variants_per_chromosome=a.variants,
                        effect_scale=1.0, ecg=False)
    geno = str(cohort / "genotypes")
    if not (work / "gwas" / "manifest.json").exists():
        edfgen("gwas", "--bfile", geno, "--pheno", str(cohort / "physiology.tsv"), "--covar", str(cohort / "covariates.tsv"),
               "--covariates", "age,sex", "--out", str(work / "gwas"), "--no-plots")
    if not (work / "clump" / "manifest.json").exists():
        edfgen("clump", "--sumstats", str(work / "gwas"), "--bfile", geno, "--out", str(work / "clump"))
    times = {}
    times["ldsc_insample_h2_rg"] = edfgen("ldsc", "--sumstats", str(work / "gwas"), "--bfile", geno, "--ld-wind-kb", "1000",
                                          "--rg", "--out", str(work / "ldsc"), "--force")
    times["finemap"] = edfgen("finemap", "--loci", str(work / "clump" / "loci.tsv"), "--sumstats", str(work / "gwas"),
                              "--bfile", geno, "--out", str(work / "finemap"), "--force")
    ex = [str(work / "gwas" / f"{t}.tsv.gz") for t in ("heart_rate_bpm", "qt_interval_ms", "pr_interval_ms")]
    oc = [str(p) for p in sorted((work / "gwas").glob("*.tsv.gz")) if str(p) not in ex]
    times["coloc"] = edfgen("coloc", *[x for e in ex for x in ("--exposure", e)], *[x for o in oc for x in ("--outcome", o)],
                            "--loci", str(work / "clump" / "loci.tsv"), "--bfile", geno, "--out", str(work / "coloc"),
                            "--force")
    h2 = pd.read_csv(work / "ldsc" / "h2.tsv", sep="\t")
    truth = json.loads((cohort / "truth.json").read_text())
    h2["planted"] = [truth["heritability"][p]["total"] for p in h2["phenotype"]]
    h2["within_2se"] = (h2["h2"] - h2["planted"]).abs() <= 2 * h2["h2_se"]
    loci = pd.read_csv(work / "clump" / "loci.tsv", sep="\t")
    fm = pd.read_csv(work / "finemap" / "ld_check.tsv", sep="\t")
    co = pd.read_csv(work / "coloc" / "coloc.tsv", sep="\t")
    res = {"n": a.n, "variants": a.chromosomes * a.variants, "loci": len(loci), "finemap_regions": len(fm),
           "coloc_rows": len(co), "times": times, "h2": h2.to_dict("records"),
           "intercept_median": float(h2["intercept"].median()), "load_avg": os.getloadavg()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "genetics_timing.json").write_text(json.dumps(res, indent=1, default=float))
    md = [f"# ldsc / finemap / coloc times, N = {a.n:,}, {res['variants']:,} variants (load {os.getloadavg()[0]:.1f})\n",
          "| command | wall s | CPU s | peak RSS MiB | work |", "|---|---|---|---|---|",
          f"| ldsc (in-sample LD scores, 1000 kb; h² of 9 traits; rg of 36 pairs) | {times['ldsc_insample_h2_rg']['wall_s']} | "
          f"{times['ldsc_insample_h2_rg']['cpu_s']} | {times['ldsc_insample_h2_rg']['peak_rss_mib']} | {res['variants']:,} LD scores |",
          f"| finemap (SuSiE L = 10, ± 500 kb) | {times['finemap']['wall_s']} | {times['finemap']['cpu_s']} | "
          f"{times['finemap']['peak_rss_mib']} | {len(fm)} regions |",
          f"| coloc (ABF + coloc-SuSiE) | {times['coloc']['wall_s']} | {times['coloc']['cpu_s']} | "
          f"{times['coloc']['peak_rss_mib']} | {len(co)} rows |", "",
          f"LDSC intercepts: median {res['intercept_median']:.3f}; h² within 2 SE of planted: "
          f"{int(h2['within_2se'].sum())}/{len(h2)}\n", h2.round(4).to_markdown(index=False)]
    (RESULTS / "genetics_timing.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
