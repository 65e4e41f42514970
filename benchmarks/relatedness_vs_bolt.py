"""Relatives: ``edfgen gwas`` linear, ridge-loco and lmm-loco side by side with BOLT-LMM 2.4 on family cohorts.

Cohorts: ``simulate_cohort(..., families=K, family_structure=S, ecg=False)``, one per ``--seeds`` value
(default: 500 families alternating sibships of 3 children of simulated parents and parent-offspring trios, in
n = 3000, the rest unrelated; msprime genotypes; ``--family-structure sibs2-4 --families 400 --seeds 23`` is
the first, single-cohort version). Phenotypes made here from the .bed: on every chromosome but the last two,
a polygenic background (normal effects on every standardised variant) plus ``--planted`` large loci (one
variant each, explaining ``--planted-share`` of the variance each); total h² ``--h2``; the last two
chromosomes null. Reported per method and seed, and as the mean over seeds: λGC on the null chromosomes
(pooled over phenotypes), mean χ² at the planted loci (χ² = the 1-df χ² of the p-value), with the SE over
seeds and the ratio of each method's planted χ² to BOLT's paired by seed (mean, 95% t interval), wall and CPU time
(edfgen: the whole ``edfgen gwas`` command; BOLT: ``bolt --lmm`` or ``--lmmInfOnly`` ``--LDscoresUseChip`` run once
per phenotype, summed; ``--threads`` 1 by default), and BOLT's / lmm-loco's h² estimates.

BOLT-LMM is a reference tool only (``apt-get install bolt-lmm``, Debian package 2.4); if it is missing or
fails, the other rows are still written. A run with the same settings as the results file already holds
replaces only the methods and seeds it runs (``--methods lmm-loco`` re-measures one model).

Cohort options (``--n --seeds --chromosomes --variants --families --family-structure --work``) come from
``_measure.cohort_arguments``; ``--work DIR`` keeps each seed's cohort in ``DIR/seed<k>`` for later runs.

Usage: ``nice python benchmarks/relatedness_vs_bolt.py --name relatedness_vs_bolt_seeds --work /tmp/cohorts
--methods linear lmm-loco bolt-lmm-inf bolt-lmm`` (seeds 23-27 by default; the 5-seed results file). Writes
``results/relatedness_vs_bolt_<structure>.json`` and ``.md`` (``--name`` to choose).

References: Loh P-R et al. (2015) Nat Genet 47:284 (BOLT-LMM); Mbatchou J et al. (2021) Nat Genet 53:1097
(REGENIE); Yang J et al. (2014) Nat Genet 46:100 (MLMA-LOCO); Kang HM et al. (2008) Genetics 178:1709 (EMMA).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from _measure import cohort_arguments, edfgen_env, simulated_cohort, timed  # noqa: E402
NOTE = ("The null-chromosome λGC of a method varies by about ±0.02–0.03 between cohorts"
        " of this size (`relatedness_diagnosis.md`), hence several seeds. lmm-loco's h² is the mean over phenotypes of its REML "
        "estimate on the whole-genome GRM (since `lmm_power_gap.md`: δ fitted once and used with every LOCO GRM, "
        "as BOLT does; before, the mean of the REML fits on each LOCO GRM, which miss the left-out chromosome's "
        "share); BOLT's is its whole-genome pseudo-heritability (Monte-Carlo REML). With `--lmm` BOLT reports "
        "P_BOLT_LMM_INF only when its cross-validation expects no gain from the non-infinitesimal model (as on the "
        "sibs2-4 cohort, `relatedness_vs_bolt.md`); `--lmmInfOnly` (the note says which ran) computes that "
        "statistic without the cross-validation, so its time is a lower bound of `--lmm`'s. "
        "lmm-loco's time is dominated by one dense eigendecomposition of the N × N LOCO GRM per chromosome "
        "(O(chromosomes × N³)); the GRM itself and rotating the genotypes are O(N² M) (measured by hand on this "
        "machine at load ~30 with a multi-threaded BLAS, whose threads spin under load: `numpy.linalg.eigh` of a 3,000 × 3,000 GRM 23–27 CPU s; the GRM product of 1,500 "
        "standardised variants 0.4 CPU s; on 1 thread the whole lmm-loco run has a fixed cost of 38.7 CPU s shared by every phenotype, `relatedness_vs_bolt_phenotypes.md`). BOLT's statistic is read from its χ² column (`--verboseStats`): its "
        "printed P has 2 significant digits, which puts λGC on steps of about 0.047 (0.954, 1.000, 1.047). "
        "Threads: rows with threads = 1 ran every method single-threaded (BLAS too); BOLT with `--numThreads=2` on "
        "this loaded machine spent 12× the CPU of 1 thread (seed 25, q0, `--lmmInfOnly`: 108 vs 8.7 CPU s, "
        "measured by hand), so the 2-thread CPU times of the older results (`relatedness_vs_bolt_sibs3_trio.md`: "
        "441 CPU s) are mostly spinning.")


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


def thread_env(threads: int) -> dict:
    """This tree's edfgen with BLAS/OpenMP limited to ``threads``."""
    return {**edfgen_env(), **{v: str(threads) for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                         "MKL_NUM_THREADS")}}


def edfgen_run(model: str, bfile, pheno, out: Path, P: int, threads: int = 1) -> tuple[dict, dict, dict]:
    """One ``edfgen gwas`` command: p-values per phenotype, its wall/CPU time, lmm-loco's REML h²."""
    cmd = [sys.executable, "-m", "edfgen", "gwas", "--bfile", str(bfile), "--pheno", str(pheno), "--pheno-prefix",
           "q", "--transform", "none", "--engine", "fast", "--model", model, "--no-plots", "--threads",
           str(threads), "--out", str(out)]
    t = timed(cmd, env=thread_env(threads))
    p = {f"q{j}": pd.read_csv(out / f"q{j}.tsv.gz", sep="\t", usecols=["variant_id", "p_value"])
         .set_index("variant_id")["p_value"] for j in range(P)}
    extra = json.loads((out / "manifest.json").read_text()).get("extra", {})
    return p, t, extra.get("lmm_loco_reml_h2", {})


def bolt_p(stats_file: Path) -> tuple[pd.Series, str]:
    """BOLT's p-values by variant at full precision and the statistic's column (P_BOLT_LMM, else
    P_BOLT_LMM_INF): from the χ² column ``--verboseStats`` writes (CHISQ_BOLT_LMM[_INF]), else from
    ``(BETA/SE)²`` for the infinitesimal statistic. The printed P has 2 significant digits, which quantises
    the median χ² and so λGC to steps of about 0.047 (0.954, 1.000, 1.047)."""
    s = pd.read_csv(stats_file, sep=r"\s+")
    col = "P_BOLT_LMM" if "P_BOLT_LMM" in s else "P_BOLT_LMM_INF"
    chisq = col.replace("P_", "CHISQ_")
    if chisq in s:
        return pd.Series(stats.chi2.sf(s[chisq], 1), index=s["SNP"]), col
    if col == "P_BOLT_LMM_INF":
        return pd.Series(stats.chi2.sf((s["BETA"] / s["SE"]) ** 2, 1), index=s["SNP"]), col
    return s.set_index("SNP")[col], col


def bolt_read(stats_dir: Path, P: int) -> tuple[dict, dict, dict, str]:
    """BOLT outputs already written (``q<j>.stats`` and ``q<j>.log`` in ``stats_dir``, e.g. by a run of this
    script stopped part-way): the phenotypes found, wall time from BOLT's log (CPU time unknown)."""
    p, h2, wall = {}, {}, 0.0
    for j in range(P):
        stats_file, log = stats_dir / f"q{j}.stats", stats_dir / f"q{j}.log"
        if not (stats_file.exists() and log.exists()) or "Total elapsed time" not in log.read_text():
            continue
        text = log.read_text()
        wall += float(re.findall(r"Total elapsed time for analysis = ([0-9.]+) sec", text)[-1])
        p[f"q{j}"], col = bolt_p(stats_file)
        h2[f"q{j}"] = float(re.findall(r"h2g(?:_1)?\s*(?:\(1,1\))?\s*[=:]\s*([0-9.]+)", text)[-1])
        mode = "--lmmInfOnly" if "--lmmInfOnly" in text else "--lmm"
    note = (f"{mode}, statistic {col} (its χ² column); read from {stats_dir.name}/: {len(p)} of {P} phenotypes "
            f"({', '.join(p)})") if p else "no BOLT output found"
    return p, {"wall_s": wall, "cpu_s": float("nan")}, h2, note


def bolt_run(bfile, pheno: Path, out: Path, P: int, inf_only: bool = False,
             threads: int = 1) -> tuple[dict, dict, dict, str]:
    """BOLT-LMM once per phenotype (``threads`` threads; ``inf_only``: ``--lmmInfOnly``, the infinitesimal model without
    ``--lmm``'s cross-validation of the non-infinitesimal one): p-values, summed wall/CPU time, h², a note."""
    exe = shutil.which("bolt") or shutil.which("bolt-lmm")
    if exe is None:
        return {}, {"wall_s": float("nan"), "cpu_s": float("nan")}, {}, "bolt not installed"
    p, h2, t, note = {}, {}, {"wall_s": 0.0, "cpu_s": 0.0}, ""
    for j in range(P):
        stats_file = out / f"q{j}.stats"
        log = out / f"q{j}.log"
        cmd = [exe, f"--bfile={bfile}", f"--phenoFile={pheno}", f"--phenoCol=q{j}",
               "--lmmInfOnly" if inf_only else "--lmm", "--LDscoresUseChip",
               f"--numThreads={threads}", f"--statsFile={stats_file}", "--verboseStats"]
        try:   # through sh to keep BOLT's whole log (its CPU time counts: sh waits for it)
            r = timed(["sh", "-c", f"{shlex.join(cmd)} > {shlex.quote(str(log))} 2>&1"])
        except RuntimeError:
            return p, t, h2, "bolt failed: " + log.read_text().strip().splitlines()[-1]
        r["stdout"] = log.read_text()
        t = {k: t[k] + r[k] for k in t}
        p[f"q{j}"], col = bolt_p(stats_file)
        note = f"{'--lmmInfOnly' if inf_only else '--lmm'}, statistic {col} (its χ² column)"
        found = re.findall(r"h2g(?:_1)?\s*(?:\(1,1\))?\s*[=:]\s*([0-9.]+)", r["stdout"])
        if found:
            h2[f"q{j}"] = float(found[-1])
    return p, t, h2, note


def record(res_path: Path, settings: dict, seed: int, cohort: dict, method: str, row: dict) -> None:
    """Add one method's row of one seed to the results file (.json and .md) under a file lock, keeping what
    other runs with the same settings wrote (runs of other methods may write the same file meanwhile)."""
    import fcntl

    with open(res_path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        per_seed = {}
        if res_path.exists():
            old = json.loads(res_path.read_text())
            if old.get("settings") == settings:
                per_seed = old["per_seed"]
        rec = per_seed.setdefault(str(seed), {"methods": {}})
        rec["cohort"] = cohort
        rec["methods"][method] = row
        res = dict(settings=settings, cpus=os.cpu_count(), per_seed=per_seed, summary=summarise(per_seed),
                   paired_planted_chi2_ratio=paired_ratios(per_seed))
        tmp = res_path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(res, indent=2) + "\n")
        os.replace(tmp, res_path)
        write_md(res, res_path.with_suffix(".md"))
    res_path.with_suffix(".lock").unlink(missing_ok=True)


def one_cohort(a, seed: int, work: Path, save) -> None:
    """Simulate the cohort of ``seed``, run ``a.methods`` on it; ``save(seed, cohort summary, method, row)``
    after each method."""
    from edfgen.kernels.association import lambda_gc
    from edfgen.simulate.cohort import load_truth

    cdir = Path(a.work) / f"seed{seed}" if a.work else work / "cohort"
    simulated_cohort(a, cdir, seed)   # a kept cohort of the same arguments is reused (phenotypes remade from the seed)
    co = SimpleNamespace(bfile=cdir / "genotypes", truth=load_truth(cdir))
    fams = co.truth["families"]
    ph, variants, nulls, planted = make_phenotypes(co.bfile, a, np.random.default_rng(seed))
    pheno = work / "pheno.tsv"
    ph.to_csv(pheno, sep="\t", index=False)
    null_ids = set(variants.loc[variants["chromosome"].isin(nulls), "variant_id"])
    cohort = dict(seed=seed, in_families=int(sum(len(f["children"]) + 2 * f.get("parents_genotyped", False)
                                                 for f in fams)),
                  structures={k: sum(f.get("structure") == k for f in fams)
                              for k in dict.fromkeys(f.get("structure") for f in fams)},
                  sibling_pairs=len(co.truth["related_pairs"]),
                  parent_offspring_pairs=len(co.truth.get("parent_offspring_pairs", [])),
                  variants=int(len(variants)), null_chromosomes=nulls, null_variants=len(null_ids))
    for m in a.methods:
        out = work / m
        out.mkdir()
        if m.startswith("bolt-lmm") and a.bolt_stats:
            p, t, h2, note = bolt_read(Path(a.bolt_stats), a.phenotypes)
        elif m.startswith("bolt-lmm"):
            p, t, h2, note = bolt_run(co.bfile, pheno, out, a.phenotypes, m == "bolt-lmm-inf", a.threads)
        else:
            p, t, h2 = edfgen_run(m, co.bfile, pheno, out / "gwas", a.phenotypes, a.threads)
            note = ""
        row = dict(seconds=round(t["wall_s"], 1), cpu_seconds=round(t["cpu_s"], 1), note=note, threads=a.threads,
                   load_average=round(os.getloadavg()[0], 1))
        if p:
            pn = np.concatenate([v[v.index.isin(null_ids)].to_numpy() for v in p.values()])
            row.update(null_lambda_gc=float(lambda_gc(pn)), null_type1_1e3=float((pn < 1e-3).mean()),
                       planted_mean_chi2=float(np.mean([_chi2(v.reindex(planted).to_numpy()) for v in p.values()])),
                       per_phenotype={q: dict(null_lambda_gc=float(lambda_gc(v[v.index.isin(null_ids)].to_numpy())),
                                              planted_mean_chi2=float(np.mean(_chi2(v.reindex(planted).to_numpy()))))
                                      for q, v in p.items()})
        if h2 and m == "lmm-loco":   # REML h² per chromosome and phenotype: mean over both
            row["h2_estimate"] = float(np.mean([list(d.values()) for d in h2.values()]))
        elif h2:
            row["h2_estimate"] = float(np.mean(list(h2.values())))
        save(seed, cohort, m, row)
        print(seed, m, json.dumps(row), flush=True)
        shutil.rmtree(out, ignore_errors=True)


def _mean_se(values) -> tuple[float, float]:
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], float)
    if v.size == 0:
        return float("nan"), float("nan")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else float("nan")


def paired_ratios(per_seed: dict, key: str = "planted_mean_chi2") -> dict:
    """For each edfgen method and each BOLT mode: the per-seed ratio method / BOLT of ``key`` over the seeds
    both ran, its mean and 95% t interval over seeds."""
    out = {}
    methods = {m for rec in per_seed.values() for m in rec["methods"]}
    for ref in sorted(m for m in methods if m.startswith("bolt-lmm")):
        for m in sorted(methods - {ref}):
            r = {s: rec["methods"][m][key] / rec["methods"][ref][key] for s, rec in per_seed.items()
                 if key in rec["methods"].get(m, {}) and key in rec["methods"].get(ref, {})}
            if len(r) < 2:
                continue
            mean, se = _mean_se(r.values())
            half = stats.t.ppf(0.975, len(r) - 1) * se
            out[f"{m}/{ref}"] = dict(seeds=len(r), per_seed=r, mean=mean, ci95=[mean - half, mean + half])
    return out


def summarise(per_seed: dict) -> dict:
    """Per method over the seeds: mean, SE and range of null λGC, mean ± SE of planted χ², h², wall/CPU time."""
    rows: dict = {}
    for rec in per_seed.values():
        for m, r in rec["methods"].items():
            rows.setdefault(m, []).append(r)
    out = {}
    for m, rs in rows.items():
        lam = [r.get("null_lambda_gc", np.nan) for r in rs]
        out[m] = dict(seeds=len(rs), null_lambda_gc_mean=float(np.mean(lam)), null_lambda_gc_min=float(np.min(lam)),
                      null_lambda_gc_max=float(np.max(lam)),
                      null_type1_1e3_mean=float(np.mean([r.get("null_type1_1e3", np.nan) for r in rs])))
        for k in ("null_lambda_gc", "planted_mean_chi2", "h2_estimate", "seconds", "cpu_seconds"):
            mean, se = _mean_se([r.get(k, np.nan) for r in rs])
            out[m][k if k in ("seconds", "cpu_seconds", "planted_mean_chi2", "h2_estimate") else k + "_mean"] = mean
            out[m][k + "_se"] = se
    lin = out.get("linear")
    for m, r in out.items():
        if lin:
            r["wall_ratio_to_linear"] = r["seconds"] / lin["seconds"]
            r["cpu_ratio_to_linear"] = r["cpu_seconds"] / lin["cpu_seconds"]
    return out


def parse_args(argv=None) -> argparse.Namespace:
    """The benchmark's options (cohort options from ``_measure.cohort_arguments``)."""
    ap = cohort_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]), n=3000, seed=23,
                          chromosomes=6, variants=1500, seeds=[23, 24, 25, 26, 27], families=500,
                          family_structure="sibs3,trio")
    ap.add_argument("--keep-cohorts", dest="work", help=argparse.SUPPRESS)   # the first name of --work
    ap.add_argument("--phenotypes", type=int, default=4)
    ap.add_argument("--h2", type=float, default=0.5)
    ap.add_argument("--planted", type=int, default=8)
    ap.add_argument("--planted-share", type=float, default=0.005)
    ap.add_argument("--methods", nargs="+", default=["linear", "ridge-loco", "lmm-loco", "bolt-lmm-inf"],
                    help="edfgen gwas --model values; bolt-lmm: BOLT --lmm (with the cross-validation of its "
                    "non-infinitesimal model); bolt-lmm-inf: BOLT --lmmInfOnly (P_BOLT_LMM_INF, no cross-validation)")
    ap.add_argument("--threads", type=int, default=1, help="threads of every method (edfgen gwas --threads and "
                    "BLAS, BOLT --numThreads)")
    ap.add_argument("--bolt-stats", default=None, help="read BOLT's q<j>.stats/.log from this folder instead of "
                    "running it (phenotypes it lacks are left out of BOLT's row; one seed)")
    ap.add_argument("--name", default=None, help="results file name (default relatedness_vs_bolt_<structure>)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    return ap.parse_args(argv)


def main(argv=None) -> dict:
    a = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    name = a.name or "relatedness_vs_bolt_" + re.sub(r"[^A-Za-z0-9]+", "_", a.family_structure).strip("_")
    settings = dict(n=a.n, families=a.families, family_structure=a.family_structure, chromosomes=a.chromosomes,
                    variants_per_chromosome=a.variants, phenotypes=a.phenotypes, h2=a.h2,
                    planted=a.planted, planted_share=a.planted_share)
    res_path = Path(a.out) / f"{name}.json"
    res_path.parent.mkdir(parents=True, exist_ok=True)   # (a new --out folder: was FileNotFoundError after a cohort)
    for seed in a.seeds:
        work = Path(tempfile.mkdtemp(prefix="edfgen-bolt-"))
        try:   # same settings: this run's methods and seeds replace theirs, the rest is kept
            one_cohort(a, seed, work, lambda *r: record(res_path, settings, *r))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return json.loads(res_path.read_text())


def write_md(res: dict, path: Path) -> None:
    s, summary = res["settings"], res["summary"]
    seeds = sorted(res["per_seed"], key=int)
    c0 = res["per_seed"][seeds[0]]["cohort"]
    md = [f"# Relatives: linear, ridge-loco, lmm-loco and BOLT-LMM on family cohorts ({s['family_structure']})", "",
          f"Simulated cohorts (seeds {', '.join(seeds)}): n = {s['n']}, {s['families']} families of "
          f"`--family-structure {s['family_structure']}` ({c0['structures']}; {c0['in_families']} participants in "
          f"families: {c0['sibling_pairs']} sibling pairs, {c0['parent_offspring_pairs']} parent-offspring pairs), "
          f"the rest unrelated; {c0['variants']} variants on {s['chromosomes']} chromosomes; {s['phenotypes']} "
          f"phenotypes, h² = {s['h2']} on chromosomes other than {', '.join(c0['null_chromosomes'])} (null, "
          f"{c0['null_variants']} variants) with {s['planted']} planted loci of {s['planted_share']:.1%} variance "
          f"each. λGC pooled over phenotypes on the null chromosomes; mean χ² over planted loci × phenotypes. "
          f"Time: the whole `edfgen gwas` command (all phenotypes at once) or BOLT run once per phenotype "
          f"(`--numThreads` = the row's threads, summed); wall and CPU (user + sys) seconds, shared 2-core machine (load average "
          f"per row in the json).", "",
          "## Mean over seeds", "", "(over the seeds each method finished: compare methods seed by seed below)", "",
          "| method | seeds | null λGC mean ± SE (min–max) | type-I at 1e-3 | planted mean χ² ± SE | h² estimate ± SE "
          "| wall s | CPU s ± SE | wall ÷ linear | CPU ÷ linear |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for m, r in summary.items():
        md.append(f"| {m} | {r['seeds']} | {r['null_lambda_gc_mean']:.3f} ± {r.get('null_lambda_gc_se', np.nan):.3f} "
                  f"({r['null_lambda_gc_min']:.3f}–{r['null_lambda_gc_max']:.3f}) | {r['null_type1_1e3_mean']:.4f} | "
                  f"{r['planted_mean_chi2']:.2f} ± {r.get('planted_mean_chi2_se', np.nan):.2f} | "
                  f"{r['h2_estimate']:.3f} ± {r.get('h2_estimate_se', np.nan):.3f} | {r['seconds']:.1f} | "
                  f"{r['cpu_seconds']:.1f} ± {r.get('cpu_seconds_se', np.nan):.1f} | "
                  f"{r.get('wall_ratio_to_linear', float('nan')):.1f} | {r.get('cpu_ratio_to_linear', float('nan')):.1f} |")
    if res.get("paired_planted_chi2_ratio"):
        md += ["", "## Power: planted mean χ² of each method ÷ BOLT's, paired by seed", "",
               "| ratio | seeds | per seed | mean (95% t interval over seeds) |", "|---|---|---|---|"]
        for k, r in res["paired_planted_chi2_ratio"].items():
            md.append(f"| {k} | {r['seeds']} | {', '.join(f'{s}: {v:.3f}' for s, v in sorted(r['per_seed'].items()))}"
                      f" | {r['mean']:.3f} ({r['ci95'][0]:.3f}–{r['ci95'][1]:.3f}) |")
    pheno_rows = [(seed, m, q, v) for seed in seeds for m, r in res["per_seed"][seed]["methods"].items()
                  for q, v in r.get("per_phenotype", {}).items()]
    if pheno_rows:
        md += ["", "## Per phenotype (same phenotypes for every method)", "",
               "| seed | phenotype | " + " | ".join(f"{m} λGC / χ²" for m in summary) + " |",
               "|---|---|" + "---|" * len(summary)]
        for seed in seeds:
            ms = res["per_seed"][seed]["methods"]
            for q in sorted({q for _, _, q, _ in pheno_rows}):
                cells = [(f"{ms[m]['per_phenotype'][q]['null_lambda_gc']:.3f} / "
                          f"{ms[m]['per_phenotype'][q]['planted_mean_chi2']:.1f}")
                         if q in ms.get(m, {}).get("per_phenotype", {}) else "–" for m in summary]
                md.append(f"| {seed} | {q} | " + " | ".join(cells) + " |")
    md += ["", "## Per seed", "", "| seed | method | null λGC | type-I at 1e-3 | planted mean χ² | h² estimate | wall s "
           "| CPU s | load | note |", "|---|---|---|---|---|---|---|---|---|---|"]
    for seed in seeds:
        for m, r in res["per_seed"][seed]["methods"].items():
            md.append(f"| {seed} | {m} | {r.get('null_lambda_gc', float('nan')):.3f} | "
                      f"{r.get('null_type1_1e3', float('nan')):.4f} | {r.get('planted_mean_chi2', float('nan')):.1f} | "
                      f"{r.get('h2_estimate', float('nan')):.3f} | {r['seconds']} | {r.get('cpu_seconds', '')} | "
                      f"{r.get('load_average', '')} | {r['note']} |")
    md += ["", NOTE]
    path.write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
