"""``edfgen finemap`` (SuSiE-RSS) against pysusie (BSD port of susieR, own venv /work/benchenv/susie), and planted
causal variants in the 95 % credible sets of a simulated cohort.

Loci = the planted loci of truth.json (each planted variant ± 500 kb, its trait), GWAS by ``edfgen gwas``; every
region's z, LD matrix and n are handed to ``pysusie.susie_rss(z, R, n, L=10)`` in the reference venv: max |ΔPIP|,
credible sets identical? Then: planted causal variant inside a 95 % credible set of its trait (goal >= 90 %), median
set size.

Setup: ``python3 -m venv /work/benchenv/susie && /work/benchenv/susie/bin/pip install pysusie pycoloc``.
Usage: ``python benchmarks/finemap_vs_susie.py --work DIR`` (reuses DIR/cohort and DIR/gwas of ldsc_vs_ldsc.py
when present) -> ``results/finemap_vs_susie.json`` + ``.md``.
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
import json, sys, numpy as np, pysusie
d = np.load(sys.argv[1], allow_pickle=True)
out = {}
for key in d.files:
    if not key.startswith("z_"):
        continue
    k = key[2:]
    fit = pysusie.susie_rss(z=d["z_" + k], R=d["R_" + k], n=int(d["n_" + k]), L=10)
    get = lambda key: fit[key] if hasattr(fit, "__getitem__") else getattr(fit, key)
    pip = np.asarray(get("pip"))
    sets = get("sets")
    cs = [sorted(int(i) for i in v) for v in ((sets or {}).get("cs") or [])]
    out[k] = {"pip": pip.tolist(), "cs": cs}
json.dump(out, open(sys.argv[2], "w"))
"""


def main() -> None:
    a = cohort_arguments(argparse.ArgumentParser(), n=2000, seed=3).parse_args()
    from edfgen.commands.finemap import read_loci, regions, run_finemap
    from edfgen.formats.genotypes.panel import open_panel
    from edfgen.formats.sumstats.zscores import read_zstats
    from edfgen.simulate.truth import read_truth_loci

    work, cohort = simulated_gwas(a, "finemap_bench_")
    truth = read_truth_loci(cohort / "truth.json")
    loci = pd.DataFrame({"locus": np.arange(1, len(truth) + 1), "variant_id": truth["variant_id"],
                         "chromosome": truth["chromosome"], "base_pair_location": truth["base_pair_location"],
                         "phenotypes": truth["trait"]})
    loci.to_csv(work / "planted_loci.tsv", sep="\t", index=False)
    t0 = time.perf_counter()
    run = run_finemap([work / "gwas"], loci=work / "planted_loci.tsv", out_dir=work / "finemap",
                      genotypes=str(cohort / "genotypes"), force=True)
    t_edf = time.perf_counter() - t0

    # planted causal variant in a 95 % credible set of its trait
    cs = run.credible_sets
    rows = []
    for lo, tr in zip(loci.itertuples(), truth.itertuples()):
        sets = cs[(cs["locus"] == lo.locus) & (cs["phenotype"] == tr.trait)]
        hit = sets[sets["variant_id"] == tr.variant_id]
        size = int(sets[sets["cs"] == hit["cs"].iloc[0]].shape[0]) if len(hit) else None
        pip = run.pip[(run.pip["locus"] == lo.locus) & (run.pip["variant_id"] == tr.variant_id)
                      & (run.pip["phenotype"] == tr.trait)]["pip"]
        rows.append({"locus": lo.locus, "trait": tr.trait, "variant_id": tr.variant_id,
                     "variance_explained": tr.variance_explained, "in_cs": bool(len(hit)), "cs_size": size,
                     "n_cs": int(sets["cs"].nunique()), "pip": float(pip.iloc[0]) if len(pip) else None})
    rec = pd.DataFrame(rows)

    # the same regions through pysusie
    zs = read_zstats([work / "gwas"])
    arrays, keys = {}, []
    with open_panel(str(cohort / "genotypes")) as panel:
        for reg in regions(read_loci(work / "planted_loci.tsv"), zs, panel, 500.0):
            k = f"{reg.locus}__{reg.phenotype}"
            arrays[f"z_{k}"], arrays[f"R_{k}"], arrays[f"n_{k}"] = reg.table["z"].to_numpy(), reg.R, reg.n
            arrays[f"id_{k}"] = reg.table["variant_id"].to_numpy(str)
            keys.append((reg.locus, reg.phenotype, k))
    np.savez(work / "regions.npz", **arrays)
    (work / "susie_driver.py").write_text(DRIVER)
    t0 = time.perf_counter()
    subprocess.run([str(VENV / "bin/python"), str(work / "susie_driver.py"), str(work / "regions.npz"),
                    str(work / "susie_ref.json")], check=True)
    t_ref = time.perf_counter() - t0
    ref = json.loads((work / "susie_ref.json").read_text())
    max_d, same_cs, n_reg = 0.0, 0, 0
    for locus, ph, k in keys:
        mine = run.pip[(run.pip["locus"] == locus) & (run.pip["phenotype"] == ph)]
        ids = arrays[f"id_{k}"]
        assert list(mine["variant_id"]) == list(ids)
        max_d = max(max_d, float(np.max(np.abs(mine["pip"].to_numpy() - np.asarray(ref[k]["pip"])))))
        my_cs = cs[(cs["locus"] == locus) & (cs["phenotype"] == ph)]
        pos = {v: i for i, v in enumerate(ids)}
        mine_sets = sorted(sorted(pos[v] for v in g["variant_id"]) for _, g in my_cs.groupby("cs"))
        same_cs += mine_sets == sorted(ref[k]["cs"])
        n_reg += 1
    res = {"regions": n_reg, "pip_max_abs_diff_vs_pysusie": max_d, "credible_sets_identical": f"{same_cs}/{n_reg}",
           "planted_in_95cs": f"{int(rec['in_cs'].sum())}/{len(rec)}", "planted_in_95cs_fraction": float(rec["in_cs"].mean()),
           "median_cs_size": float(rec["cs_size"].dropna().median()) if rec["cs_size"].notna().any() else None,
           "times_s": {"edfgen_finemap": round(t_edf, 2), "pysusie_same_regions": round(t_ref, 2)},
           "planted": rows, "load_avg": os.getloadavg()}
    md = ["# edfgen finemap (SuSiE-RSS) vs pysusie 0.1.0, planted causal variants\n",
          f"Simulated cohort n = {a.n} ({a.chromosomes} x {a.variants} variants), GWAS by edfgen gwas; {len(rec)} planted trait-variant loci "
          f"(each ± 500 kb, L = 10, coverage 0.95, purity 0.5, in-sample LD); load {os.getloadavg()[0]:.1f}.\n",
          f"- PIPs vs `pysusie.susie_rss(z, R, n, L=10)` on the same {n_reg} regions: max |ΔPIP| = {max_d:.2g}; "
          f"credible sets identical in {same_cs}/{n_reg}",
          f"- planted causal variant inside a 95 % credible set of its trait: {res['planted_in_95cs']} "
          f"({100 * res['planted_in_95cs_fraction']:.0f} %, goal >= 90 %); median size of that set: {res['median_cs_size']}",
          f"- times: edfgen finemap {t_edf:.1f} s (incl. reading, LD, kriging); pysusie on the same regions {t_ref:.1f} s\n",
          "| locus | trait | variant | variance explained | in 95 % CS | CS size | PIP |", "|---|---|---|---|---|---|---|"]
    md += [f"| {r['locus']} | {r['trait']} | {r['variant_id']} | {r['variance_explained']} | {r['in_cs']} | {r['cs_size']} | "
           f"{r['pip'] if r['pip'] is None else round(r['pip'], 3)} |" for r in rows]
    write_results("finemap_vs_susie", res, md)
    print("\n".join(md[:6]))


if __name__ == "__main__":
    main()
