"""Relatives: ``edfgen gwas`` linear, ridge-loco and lmm-loco side by side with BOLT-LMM 2.4 on one family cohort.

Cohort: ``simulate_cohort(..., families=K, ecg=False)`` (nuclear families of 2-4 children of simulated parents
plus unrelated participants; msprime genotypes). Phenotypes made here from the .bed: on every chromosome but
the last two, a polygenic background (normal effects on every standardised variant) plus ``--planted`` large
loci (one variant each, explaining ``--planted-share`` of the variance each); total h² ``--h2``; the last two
chromosomes null. Reported per method: λGC on the null chromosomes (pooled over phenotypes), mean χ² at the
planted loci (χ² = the 1-df χ² of the p-value), wall time (edfgen: the whole ``edfgen gwas`` command; BOLT:
``bolt --lmm --LDscoresUseChip`` run once per phenotype, summed), and BOLT's / lmm-loco's h² estimates.

BOLT-LMM is a reference tool only (``apt-get install bolt-lmm``, Debian package 2.4); if it is missing or
fails, the other rows are still written.

Usage: ``nice python benchmarks/relatedness_vs_bolt.py [--n 3000 --families 400]``.
Writes ``results/relatedness_vs_bolt.json`` and ``.md``.

References: Loh P-R et al. (2015) Nat Genet 47:284 (BOLT-LMM); Mbatchou J et al. (2021) Nat Genet 53:1097
(REGENIE); Yang J et al. (2014) Nat Genet 46:100 (MLMA-LOCO); Kang HM et al. (2008) Genetics 178:1709 (EMMA).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
NOTE = ("One cohort, one seed: the null-chromosome λGC of a method varies by about ±0.02–0.03 between cohorts"
        " of this size (`relatedness_diagnosis.md`). lmm-loco's h² is the mean over phenotypes and LOCO GRMs "
        "of the REML estimate (each GRM leaves one chromosome out, so on the causal chromosomes it misses "
        "that chromosome's share); BOLT's is its whole-genome pseudo-heritability. BOLT reports "
        "P_BOLT_LMM_INF only when it expects no gain from its non-infinitesimal model (as here).")


def _chi2(p) -> np.ndarray:
    return stats.chi2.isf(np.asarray(p, float), 1)


def make_phenotypes(bfile: Path, a, rng) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Phenotype table (FID, IID, q0..) and the variants (with chromosome), planted variant ids."""
    from bed_reader import open_bed

    with open_bed(str(bfile) + ".bed") as bed:
        G = bed.read(dtype="float64")
        chrom = np.asarray(bed.chromosome, dtype=str)
        sid = np.asarray(bed.sid, dtype=str)
        fid, iid = np.asarray(bed.fid, dtype=str), np.asarray(bed.iid, dtype=str)
    G = np.where(np.isnan(G), np.nanmean(G, 0), G)
    sd = G.std(0)
    Z = (G - G.mean(0)) / np.where(sd > 0, sd, 1)
    nulls = list(dict.fromkeys(chrom))[-2:]
    causal = ~np.isin(chrom, nulls)
    maf = np.minimum(G.mean(0) / 2, 1 - G.mean(0) / 2)
    cand = np.flatnonzero(causal & (maf > 0.2))
    planted = rng.choice(cand, a.planted, replace=False)
    n, P = len(G), a.phenotypes
    poly = Z[:, causal] @ rng.standard_normal((int(causal.sum()), P))
    poly *= np.sqrt(a.h2 - a.planted * a.planted_share) / poly.std(0)
    big = Z[:, planted] @ (np.sqrt(a.planted_share) * rng.choice([-1, 1], (a.planted, P)))
    Y = poly + big + rng.standard_normal((n, P)) * np.sqrt(1 - a.h2)
    ph = pd.DataFrame(Y, columns=[f"q{j}" for j in range(P)])
    ph.insert(0, "IID", iid)
    ph.insert(0, "FID", fid)
    return ph, pd.DataFrame({"variant_id": sid, "chromosome": chrom}), nulls, list(sid[planted])


def edfgen_run(model: str, bfile, pheno, out: Path, P: int) -> tuple[dict, float, dict]:
    t = time.perf_counter()
    cmd = [sys.executable, "-m", "edfgen", "gwas", "--bfile", str(bfile), "--pheno", str(pheno), "--pheno-prefix",
           "q", "--transform", "none", "--engine", "fast", "--model", model, "--no-plots", "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    secs = time.perf_counter() - t
    p = {f"q{j}": pd.read_csv(out / f"q{j}.tsv.gz", sep="\t", usecols=["variant_id", "p_value"])
         .set_index("variant_id")["p_value"] for j in range(P)}
    extra = json.loads((out / "manifest.json").read_text()).get("extra", {})
    return p, secs, extra.get("lmm_loco_reml_h2", {})


def bolt_run(bfile, pheno: Path, out: Path, P: int) -> tuple[dict, float, dict, str]:
    exe = shutil.which("bolt") or shutil.which("bolt-lmm")
    if exe is None:
        return {}, float("nan"), {}, "bolt not installed"
    p, h2, secs, note = {}, {}, 0.0, ""
    for j in range(P):
        stats_file = out / f"q{j}.stats"
        t = time.perf_counter()
        r = subprocess.run([exe, f"--bfile={bfile}", f"--phenoFile={pheno}", f"--phenoCol=q{j}", "--lmm",
                            "--LDscoresUseChip", "--numThreads=2", f"--statsFile={stats_file}", "--verboseStats"],
                           capture_output=True, text=True)
        secs += time.perf_counter() - t
        (out / f"q{j}.log").write_text(r.stdout + r.stderr)
        if r.returncode != 0:
            return p, secs, h2, "bolt failed: " + (r.stderr or r.stdout).strip().splitlines()[-1]
        s = pd.read_csv(stats_file, sep=r"\s+")
        col = "P_BOLT_LMM" if "P_BOLT_LMM" in s else "P_BOLT_LMM_INF"
        note = f"p-value column {col}"
        p[f"q{j}"] = s.set_index("SNP")[col]
        found = re.findall(r"h2g(?:_1)?\s*(?:\(1,1\))?\s*[=:]\s*([0-9.]+)", r.stdout)
        if found:
            h2[f"q{j}"] = float(found[-1])
    return p, secs, h2, note


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--families", type=int, default=400)
    ap.add_argument("--chromosomes", type=int, default=6)
    ap.add_argument("--variants-per-chromosome", type=int, default=1500)
    ap.add_argument("--phenotypes", type=int, default=4)
    ap.add_argument("--h2", type=float, default=0.5)
    ap.add_argument("--planted", type=int, default=8)
    ap.add_argument("--planted-share", type=float, default=0.005)
    ap.add_argument("--seed", type=int, default=23)
    ap.add_argument("--methods", nargs="+", default=["linear", "ridge-loco", "lmm-loco", "bolt-lmm"])
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    a = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from edfgen.kernels.association import lambda_gc
    from edfgen.simulate.cohort import simulate_cohort

    work = Path(tempfile.mkdtemp(prefix="edfgen-bolt-"))
    co = simulate_cohort(work / "cohort", n=a.n, seed=a.seed, chromosomes=a.chromosomes,
                         variants_per_chromosome=a.variants_per_chromosome, ecg=False, families=a.families)
    in_families = int(sum(len(f["children"]) for f in co.truth["families"]))
    ph, variants, nulls, planted = make_phenotypes(co.bfile, a, np.random.default_rng(a.seed))
    pheno = work / "pheno.tsv"
    ph.to_csv(pheno, sep="\t", index=False)
    null_ids = set(variants.loc[variants["chromosome"].isin(nulls), "variant_id"])
    methods = {}
    for m in a.methods:
        out = work / m
        out.mkdir()
        if m == "bolt-lmm":
            p, secs, h2, note = bolt_run(co.bfile, pheno, out, a.phenotypes)
        else:
            p, secs, h2 = edfgen_run(m, co.bfile, pheno, out / "gwas", a.phenotypes)
            note = ""
        row = dict(seconds=round(secs, 1), note=note)
        if p:
            pn = np.concatenate([v[v.index.isin(null_ids)].to_numpy() for v in p.values()])
            row.update(null_lambda_gc=float(lambda_gc(pn)), null_type1_1e3=float((pn < 1e-3).mean()),
                       planted_mean_chi2=float(np.mean([_chi2(v.reindex(planted).to_numpy()) for v in p.values()])))
        if h2 and m == "lmm-loco":   # REML h² per chromosome and phenotype: mean over both
            row["h2_estimate"] = float(np.mean([list(d.values()) for d in h2.values()]))
        elif h2:
            row["h2_estimate"] = float(np.mean(list(h2.values())))
        methods[m] = row
        print(m, json.dumps(row), flush=True)
    res = dict(cohort=dict(n=a.n, in_families=in_families, families=a.families, chromosomes=a.chromosomes,
                           variants=int(len(variants)), null_chromosomes=nulls, null_variants=len(null_ids),
                           phenotypes=a.phenotypes, h2=a.h2, planted=a.planted, planted_share=a.planted_share,
                           seed=a.seed),
               load_average=os.getloadavg()[0], cpus=os.cpu_count(), methods=methods)
    res_dir = Path(a.out)
    (res_dir / "relatedness_vs_bolt.json").write_text(json.dumps(res, indent=2) + "\n")
    c = res["cohort"]
    md = ["# Relatives: linear, ridge-loco, lmm-loco and BOLT-LMM on one family cohort", "",
          f"Simulated cohort (seed {a.seed}): n = {a.n} ({in_families} children in {a.families} families of 2-4, "
          f"the rest unrelated), {c['variants']} variants on {a.chromosomes} chromosomes; {a.phenotypes} "
          f"phenotypes, h² = {a.h2} on chromosomes other than {', '.join(nulls)} (null, {len(null_ids)} variants) "
          f"with {a.planted} planted loci of {a.planted_share:.1%} variance each. λGC pooled over phenotypes on the "
          f"null chromosomes; mean χ² over planted loci × phenotypes. Time: the whole `edfgen gwas` command (all "
          f"phenotypes at once) or BOLT run once per phenotype (summed). Shared 2-core machine, load average "
          f"{res['load_average']:.1f} at the end.", "",
          "| method | null λGC | type-I at 1e-3 | planted mean χ² | h² estimate | time (s) | note |",
          "|---|---|---|---|---|---|---|"]
    for m, r in methods.items():
        md.append(f"| {m} | {r.get('null_lambda_gc', float('nan')):.3f} | {r.get('null_type1_1e3', float('nan')):.4f}"
                  f" | {r.get('planted_mean_chi2', float('nan')):.1f} | {r.get('h2_estimate', float('nan')):.3f} | "
                  f"{r['seconds']} | {r['note']} |")
    md += ["", NOTE]
    (res_dir / "relatedness_vs_bolt.md").write_text("\n".join(md) + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return res


if __name__ == "__main__":
    main()
