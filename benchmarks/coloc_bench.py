"""``edfgen coloc`` on planted shared / distinct causal variants, and against pycoloc (port of coloc 5, own venv).

On a simulated cohort's genotypes, for each of ``--pairs`` regions a causal variant is drawn (MAF > 10 %); a
"shared" pair of traits both depend on it, a "distinct" pair on it and on a second variant 100-400 kb away with
r² < 0.01 (each effect explains 2 % of the variance, n = all samples); summary statistics of the region by OLS.
``edfgen coloc`` (ABF and coloc-SuSiE, in-sample LD) is scored: PP.H4 >= 0.8 for shared pairs, PP.H3 >= 0.8 for
distinct ones. The same regions through ``pycoloc.coloc_abf`` (datasets with beta, varbeta, N, MAF, type quant)
and ``pycoloc.coloc_bf_bf`` (edfgen's SuSiE log BFs of the pair reported): max |ΔPP|.

Usage: ``python benchmarks/coloc_bench.py --work DIR`` (reuses DIR/cohort) -> ``results/coloc.json`` + ``.md``.
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
from _measure import cohort_arguments, simulated_gwas, write_results  # noqa: E402
VENV = Path(os.environ.get("SUSIE_VENV", "/work/benchenv/susie"))

DRIVER = r"""
import json, sys, numpy as np, pycoloc
spec = json.load(open(sys.argv[1]))
out = {}
for key, d in spec.items():
    ds = lambda s: {"beta": np.array(d["beta" + s]), "varbeta": np.array(d["varbeta" + s]), "N": d["N" + s],
                    "MAF": np.array(d["MAF"]), "snp": d["snp"], "type": "quant"}
    r = pycoloc.coloc_abf(ds("1"), ds("2"), p1=1e-4, p2=1e-4, p12=1e-5)
    row = {"abf": [float(r["summary"][f"PP.H{k}.abf"]) for k in range(5)]}
    if d.get("bf1") is not None:
        b = pycoloc.coloc_bf_bf(np.array([d["bf1"]]), np.array([d["bf2"]]), snps1=d["snp"], snps2=d["snp"],
                                p1=1e-4, p2=1e-4, p12=1e-5)
        s = b["summary"]
        row["susie"] = [float(s[f"PP.H{k}.abf"].iloc[0]) for k in range(5)]
    out[key] = row
json.dump(out, open(sys.argv[2], "w"))
"""


def main() -> None:
    ap = cohort_arguments(argparse.ArgumentParser(), n=2000, seed=3)
    ap.add_argument("--pairs", type=int, default=10)
    ap.add_argument("--draw-seed", type=int, default=11, help="seed of the regions and effects drawn")
    a = ap.parse_args()
    from edfgen.commands.coloc import run_coloc
    from edfgen.formats.genotypes.panel import open_panel
    from edfgen.kernels.coloc import coloc_bf_bf
    from edfgen.kernels.susie import susie_rss
    from edfgen.commands.finemap_ld import region_ld
    from edfgen.simulate.mr import per_variant_linear
    from scipy.stats import norm

    work, cohort = simulated_gwas(a, "coloc_bench_", gwas=False)
    rng = np.random.default_rng(a.draw_seed)
    d = work / "coloc_bench"
    (d / "exp").mkdir(parents=True, exist_ok=True)
    (d / "out").mkdir(parents=True, exist_ok=True)
    loci, planted = [], []
    with open_panel(str(cohort / "genotypes"), founders_only=False) as panel:
        v = panel.variants
        chrom, pos = np.asarray(v.chromosome).astype(str), np.asarray(v.position)
        used = []
        k = 0
        while k < 2 * a.pairs:
            c = int(rng.integers(panel.n_variants))
            if any(chrom[c] == chrom[u] and abs(pos[c] - pos[u]) < 1_200_000 for u in used):
                continue
            win = np.flatnonzero((chrom == chrom[c]) & (np.abs(pos - pos[c]) <= 500_000))
            g = panel.read(win).astype(np.float64)
            g[g < 0] = np.nan
            gc = g[:, win == c][:, 0]
            f = np.nanmean(gc) / 2
            if min(f, 1 - f) < 0.1 or np.isnan(gc).any():
                continue
            kind = "shared" if k % 2 == 0 else "distinct"
            gd = gc
            if kind == "distinct":
                far = win[(np.abs(pos[win] - pos[c]) >= 100_000) & (np.abs(pos[win] - pos[c]) <= 400_000)]
                ok = []
                for j in far:
                    x = g[:, win == j][:, 0]
                    fj = np.nanmean(x) / 2
                    if np.isnan(x).any() or min(fj, 1 - fj) < 0.1:
                        continue
                    if np.corrcoef(x, gc)[0, 1] ** 2 < 0.01:
                        ok.append(j)
                if not ok:
                    continue
                dj = int(rng.choice(ok))
                gd = g[:, win == dj][:, 0]
            used.append(c)
            ys = []
            for gg in (gc, gd):
                s = (gg - gg.mean()) / gg.std()
                ys.append(np.sqrt(0.02) * s + np.sqrt(0.98) * rng.standard_normal(len(s)))
            for tag, y, folder in (("1", ys[0], "exp"), ("2", ys[1], "out")):
                beta, se = per_variant_linear(g, y)
                eaf = np.nanmean(g, axis=0) / 2
                pd.DataFrame({"chromosome": chrom[win], "base_pair_location": pos[win],
                              "effect_allele": v.allele1[win], "other_allele": v.allele2[win], "beta": beta,
                              "standard_error": se, "effect_allele_frequency": eaf,
                              "p_value": 2 * norm.sf(np.abs(beta / se)),   # (unused by coloc; a placeholder
                              # 0.5 made the sumstats reader warn that beta/se and p disagree, once per file)
                              "variant_id": v.variant_id[win], "n": (~np.isnan(g)).sum(0)}).to_csv(
                    d / folder / f"{kind}{k}_{tag}.tsv.gz", sep="\t", index=False)
            loci.append({"locus": k + 1, "chromosome": chrom[c], "base_pair_location": int(pos[c]),
                         "phenotypes": f"{kind}{k}_1"})
            planted.append({"locus": k + 1, "kind": kind, "trait_1": f"{kind}{k}_1", "trait_2": f"{kind}{k}_2",
                            "causal_1": v.variant_id[c], "causal_2": v.variant_id[dj] if kind == "distinct" else v.variant_id[c]})
            k += 1
    pd.DataFrame(loci).to_csv(d / "loci.tsv", sep="\t", index=False)
    t0 = time.perf_counter()
    run = run_coloc([d / "exp"], [d / "out"], loci=d / "loci.tsv", out_dir=d / "result", genotypes=str(cohort / "genotypes"),
                    force=True)
    t_edf = time.perf_counter() - t0
    res_t = run.coloc
    rows = []
    for p in planted:
        r = res_t[(res_t["locus"] == p["locus"]) & (res_t["trait_1"] == p["trait_1"]) & (res_t["trait_2"] == p["trait_2"])]
        for method in ("abf", "susie"):
            m = r[r["method"] == method]
            rows.append({**p, "method": method, "pp_h3": float(m["pp_h3"].iloc[0]) if len(m) else None,
                         "pp_h4": float(m["pp_h4"].iloc[0]) if len(m) else None,
                         "top_variant": m["top_variant"].iloc[0] if len(m) else None})
    sc = pd.DataFrame(rows)

    # the same regions through pycoloc
    from edfgen.formats.sumstats.zscores import read_zstats

    spec = {}
    ex, oc = read_zstats([d / "exp"]), read_zstats([d / "out"])
    with open_panel(str(cohort / "genotypes")) as panel:
        for p in planted:
            t1, t2 = ex[p["trait_1"]].table, oc[p["trait_2"]].table
            m = t1.merge(t2, on="variant_id", suffixes=("1", "2"))
            f = m["effect_allele_frequency1"]
            item = {"beta1": m["beta1"].tolist(), "varbeta1": (m["standard_error1"] ** 2).tolist(), "N1": int(m["n1"].median()),
                    "beta2": m["beta2"].tolist(), "varbeta2": (m["standard_error2"] ** 2).tolist(), "N2": int(m["n2"].median()),
                    "MAF": np.minimum(f, 1 - f).tolist(), "snp": m["variant_id"].tolist(), "bf1": None}
            rows_p = panel.variants.rows_by_id[m["variant_id"]].to_numpy()
            R = region_ld(panel, rows_p)[0]
            f1 = susie_rss(m["z1"].to_numpy(), R, item["N1"])
            f2 = susie_rss(m["z2"].to_numpy(), R, item["N2"])
            if f1.sets and f2.sets:
                i, j, best = max(coloc_bf_bf(f1.lbf_variable[[c.effect for c in f1.sets]],
                                             f2.lbf_variable[[c.effect for c in f2.sets]]), key=lambda x: x[2].pp[4])
                item["bf1"] = f1.lbf_variable[f1.sets[i].effect].tolist()
                item["bf2"] = f2.lbf_variable[f2.sets[j].effect].tolist()
                item["edf_susie"] = best.pp.tolist()
            spec[str(p["locus"])] = item
    (d / "spec.json").write_text(json.dumps(spec))
    (d / "driver.py").write_text(DRIVER)
    subprocess.run([str(VENV / "bin/python"), str(d / "driver.py"), str(d / "spec.json"), str(d / "ref.json")], check=True)
    ref = json.loads((d / "ref.json").read_text())
    abf_d, sus_d = 0.0, 0.0
    for p in planted:
        mine = res_t[(res_t["locus"] == p["locus"]) & (res_t["method"] == "abf") & (res_t["trait_2"] == p["trait_2"])]
        pp = mine[[f"pp_h{k}" for k in range(5)]].to_numpy(float)[0]
        abf_d = max(abf_d, float(np.max(np.abs(pp - np.array(ref[str(p["locus"])]["abf"])))))
        if "susie" in ref[str(p["locus"])]:
            sus_d = max(sus_d, float(np.max(np.abs(np.array(spec[str(p["locus"])]["edf_susie"])
                                                   - np.array(ref[str(p["locus"])]["susie"])))))

    def frac(kind, method, col):
        s = sc[(sc["kind"] == kind) & (sc["method"] == method)]
        return f"{int((s[col].fillna(0) >= 0.8).sum())}/{len(s)}"

    out = {"pairs": len(planted), "abf_pp_max_abs_diff_vs_pycoloc": abf_d, "susie_pp_max_abs_diff_vs_pycoloc": sus_d,
           "shared_pp_h4_ge_0.8": {"abf": frac("shared", "abf", "pp_h4"), "susie": frac("shared", "susie", "pp_h4")},
           "distinct_pp_h3_ge_0.8": {"abf": frac("distinct", "abf", "pp_h3"), "susie": frac("distinct", "susie", "pp_h3")},
           "time_s_edfgen_coloc": round(t_edf, 2), "rows": rows, "load_avg": os.getloadavg()}
    md = ["# edfgen coloc: planted shared / distinct causal variants, and pycoloc 0.1.0\n",
          f"Cohort n = 2000 (simulated genotypes), {len(planted)} regions (± 500 kb), each planted effect 2 % of the "
          f"variance; in-sample LD; priors p1 = p2 = 1e-4, p12 = 1e-5; load {os.getloadavg()[0]:.1f}.\n",
          f"- shared causal variant, PP.H4 >= 0.8: ABF {out['shared_pp_h4_ge_0.8']['abf']}, coloc-SuSiE "
          f"{out['shared_pp_h4_ge_0.8']['susie']} (a missing SuSiE row = a trait without a credible set)",
          f"- distinct causal variants, PP.H3 >= 0.8: ABF {out['distinct_pp_h3_ge_0.8']['abf']}, coloc-SuSiE "
          f"{out['distinct_pp_h3_ge_0.8']['susie']}",
          f"- vs pycoloc.coloc_abf (same betas, varbeta, N, MAF; sdY estimated by both): max |ΔPP| = {abf_d:.2g}; "
          f"vs pycoloc.coloc_bf_bf on edfgen's SuSiE log BFs: max |ΔPP| = {sus_d:.2g}",
          f"- edfgen coloc on the {len(planted)} regions: {t_edf:.1f} s\n"]
    write_results("coloc", out, md)


if __name__ == "__main__":
    main()
