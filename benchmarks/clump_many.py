"""``edfgen clump`` on many EDFs in one call against ``plink1.9 --clump`` run once per EDF.

1. Genotypes: ``edfgen.simulate.cohort.simulate_cohort`` (genetics only; default n = 10,000,
   10 chromosomes x 10,000 SNPs = 100,000 variants, ~1% missing calls on some variants) unless
   ``--cohort DIR`` names an existing one.
2. EDF-like phenotypes (``--edfs``, default 256): 8 latent factors, each driven by 5 planted
   common variants (40 causal loci, 2 Mb apart); every EDF loads on 2-3 factors plus noise, so
   EDFs are correlated and share causal loci, as EDFs of one encoder do.
3. Summary statistics of every EDF: per-variant OLS (missing calls mean-imputed, t test) written
   with :class:`edfgen.formats.sumstats.SumstatsWriter` (the GWAS-SSF BGZF files ``edfgen gwas``
   writes).
4. For each EDF count in ``--counts`` (default 64 and 256, the first k EDFs): ``plink1.9 --clump``
   once per EDF file (reading the same ``.tsv.gz``; ``--clump-snp-field variant_id
   --clump-field p_value``, ``--threads 1``) and ``edfgen clump`` with all k files in one call,
   alternating which goes first over ``--reps`` repetitions; wall time and CPU (user + sys of the
   child processes), and per-EDF index-variant identity (Jaccard, 1.0 = identical sets).

Settings: ``p1 = 5e-8, p2 = 0.01, r2 = 0.01, kb = 1000`` (the issue's).

Run (not under ``nice`` for the final figures):
``.venv/bin/python benchmarks/clump_many.py [--cohort DIR] [--n 10000] [--counts 64 256]``
-> ``benchmarks/results/clump_many.json`` and ``clump_many.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
EDFGEN = str(Path(sys.executable).with_name("edfgen"))
SETTINGS = dict(p1=5e-8, p2=0.01, r2=0.01, kb=1000)


def edf_phenotypes(bed: Path, bim: pd.DataFrame, *, n_edf: int, seed: int = 11, factors: int = 8,
                   loci_per_factor: int = 5, h2_locus: float = 0.006) -> tuple[np.ndarray, list[dict]]:
    """``Y [n, n_edf]`` correlated EDF-like phenotypes over shared causal loci, and the loci."""
    from bed_reader import open_bed

    rng = np.random.default_rng(seed)
    with open_bed(bed) as b:
        n = b.iid_count
        af = np.zeros(len(bim))
        for s in range(0, len(bim), 10_000):
            af[s:s + 10_000] = np.nanmean(b.read(index=np.s_[:, s:s + 10_000], dtype="float32"), axis=0) / 2
        common = np.flatnonzero(np.minimum(af, 1 - af) > 0.15)
        chosen: list[int] = []
        for c in rng.permutation(common):
            if all(bim.chromosome[c] != bim.chromosome[u] or abs(bim.pos[c] - bim.pos[u]) > 2_000_000 for u in chosen):
                chosen.append(int(c))
            if len(chosen) == factors * loci_per_factor:
                break
        g = b.read(index=np.s_[:, np.sort(chosen)], dtype="float32")
    order = {c: j for j, c in enumerate(np.sort(chosen))}
    g = np.where(np.isnan(g), np.nanmean(g, axis=0), g)
    g = (g - g.mean(0)) / g.std(0)
    fac = np.zeros((n, factors))
    loci = []
    for f in range(factors):
        for c in chosen[f * loci_per_factor:(f + 1) * loci_per_factor]:
            fac[:, f] += rng.choice([-1, 1]) * g[:, order[c]]
            loci.append({"variant_id": bim.variant_id[c], "chromosome": str(bim.chromosome[c]),
                         "base_pair_location": int(bim.pos[c]), "factor": f})
    fac /= fac.std(0)
    y = np.empty((n, n_edf))
    for k in range(n_edf):
        load = np.zeros(factors)
        pick = rng.choice(factors, size=rng.integers(2, 4), replace=False)
        load[pick] = rng.uniform(0.5, 1.0, size=pick.size) * rng.choice([-1, 1], size=pick.size)
        genetic = fac @ load
        var_g = h2_locus * loci_per_factor * float(load @ load)
        y[:, k] = np.sqrt(var_g) * genetic / genetic.std() + np.sqrt(1 - var_g) * rng.normal(size=n)
    return y, loci


def write_edf_sumstats(bed: Path, bim: pd.DataFrame, y: np.ndarray, out: Path, *, block: int = 5000) -> list[Path]:
    """Per-variant OLS of every column of ``y`` (missing calls mean-imputed) -> ``out/edf_NNN.tsv.gz``."""
    from bed_reader import open_bed

    from edfgen.formats.sumstats import SumstatsWriter

    n, k = y.shape
    yc = y - y.mean(0)
    yy = (yc * yc).sum(0)
    m = len(bim)
    beta, se = np.empty((m, k), dtype=np.float64), np.empty((m, k), dtype=np.float64)
    eaf, nobs = np.empty(m), np.empty(m, dtype=np.int64)
    with open_bed(bed) as b:
        for s in range(0, m, block):
            g = b.read(index=np.s_[:, s:s + block], dtype="float32")
            miss = np.isnan(g)
            mu = np.nanmean(g, axis=0)
            eaf[s:s + block] = mu / 2
            nobs[s:s + block] = n - miss.sum(0)
            gc = np.where(miss, 0.0, g - mu).astype(np.float64)
            gg = (gc * gc).sum(0)
            b_ = (gc.T @ yc) / gg[:, None]
            rss = yy[None, :] - b_ * b_ * gg[:, None]
            beta[s:s + block] = b_
            se[s:s + block] = np.sqrt(np.maximum(rss, 0) / (n - 2) / gg[:, None])
    base = pd.DataFrame({"chromosome": bim.chromosome.astype(str), "base_pair_location": bim.pos,
                         "effect_allele": bim.a1, "other_allele": bim.a2, "variant_id": bim.variant_id,
                         "rsid": bim.variant_id})
    writer = SumstatsWriter(base, index=False)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for j in range(k):
        t = beta[:, j] / se[:, j]
        p = 2 * stats.t.sf(np.abs(t), n - 2)
        path = out / f"edf_{j + 1:03d}.tsv.gz"
        writer.write(path, beta[:, j], se[:, j], eaf, p, nobs, df=np.full(m, n - 2.0))
        paths.append(path)
    return paths


def _timed(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd``; (wall seconds, child CPU seconds user + sys)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                              "OPENBLAS_NUM_THREADS": "1"})
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} ... failed: {res.stderr[-2000:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def run_plink(bfile: Path, paths: list[Path], work: Path) -> tuple[float, float, dict[str, set]]:
    wall = cpu = 0.0
    index = {}
    for p in paths:
        name = p.name.removesuffix(".tsv.gz")
        out = work / name
        w, c = _timed(["plink1.9", "--bfile", str(bfile), "--clump", str(p), "--clump-snp-field", "variant_id",
                       "--clump-field", "p_value", "--clump-p1", repr(SETTINGS["p1"]), "--clump-p2",
                       repr(SETTINGS["p2"]), "--clump-r2", repr(SETTINGS["r2"]), "--clump-kb", repr(SETTINGS["kb"]),
                       "--threads", "1", "--allow-no-sex", "--silent", "--out", str(out)])
        wall, cpu = wall + w, cpu + c
        f = Path(f"{out}.clumped")
        index[name] = set(pd.read_csv(f, sep=r"\s+")["SNP"]) if f.exists() else set()
    return wall, cpu, index


def run_edfgen(bfile: Path, paths: list[Path], out: Path) -> tuple[float, float, dict[str, set]]:
    w, c = _timed([EDFGEN, "clump", "--bfile", str(bfile), "--out", str(out), "--force",
                   "--p1", repr(SETTINGS["p1"]), "--p2", repr(SETTINGS["p2"]), "--r2", repr(SETTINGS["r2"]),
                   "--kb", repr(SETTINGS["kb"]), "--sumstats", *map(str, paths)])
    cl = pd.read_csv(out / "clumps.tsv", sep="\t", dtype={"variant_id": str})
    index = {p.name.removesuffix(".tsv.gz"): set(cl.loc[cl.phenotype == p.name.removesuffix(".tsv.gz"), "variant_id"])
             for p in paths}
    return w, c, index


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohort", type=Path, default=None, help="existing simulated cohort directory (genotypes.*)")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--chromosomes", type=int, default=10)
    ap.add_argument("--variants-per-chromosome", type=int, default=10_000)
    ap.add_argument("--edfs", type=int, default=256)
    ap.add_argument("--counts", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--sumstats", type=Path, default=None,
                    help="reuse (or write) the EDF sumstats in this directory instead of a temporary one")
    ap.add_argument("--out", type=Path, default=RESULTS / "clump_many")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="edfgen-clump-many-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        cohort = args.cohort
        if cohort is None:
            from edfgen.simulate.cohort import simulate_cohort

            cohort = simulate_cohort(tmp / "cohort", n=args.n, seed=0, chromosomes=args.chromosomes,
                                     variants_per_chromosome=args.variants_per_chromosome, ecg=False).out_dir
        bfile = Path(cohort) / "genotypes"
        bim = pd.read_csv(f"{bfile}.bim", sep=r"\s+", header=None, dtype={0: str, 1: str},
                          names=["chromosome", "variant_id", "cm", "pos", "a1", "a2"])
        n = sum(1 for _ in open(f"{bfile}.fam"))
        ss_dir = args.sumstats or tmp / "sumstats"
        paths = sorted(ss_dir.glob("edf_*.tsv.gz")) if ss_dir.is_dir() else []
        loci = None
        if len(paths) < args.edfs:
            y, loci = edf_phenotypes(Path(f"{bfile}.bed"), bim, n_edf=args.edfs)
            paths = write_edf_sumstats(Path(f"{bfile}.bed"), bim, y, ss_dir)
        paths = paths[:args.edfs]
        t_setup = time.perf_counter() - t0
        rows = []
        for k in args.counts:
            sub = paths[:k]
            for rep in range(args.reps):
                load0 = os.getloadavg()[0]
                order = ("plink", "edfgen") if rep % 2 == 0 else ("edfgen", "plink")
                res = {}
                for tool in order:
                    work = tmp / f"{tool}_{k}_{rep}"
                    work.mkdir()
                    res[tool] = (run_plink(bfile, sub, work) if tool == "plink"
                                 else run_edfgen(bfile, sub, work / "out"))
                (pw, pc, pi), (ew, ec, ei) = res["plink"], res["edfgen"]
                jac = [len(pi[s] & ei[s]) / len(pi[s] | ei[s]) if (pi[s] | ei[s]) else 1.0 for s in pi]
                rows.append({"edfs": k, "rep": rep, "first": order[0], "plink_wall_s": round(pw, 2),
                             "plink_cpu_s": round(pc, 2), "edfgen_wall_s": round(ew, 2), "edfgen_cpu_s": round(ec, 2),
                             "wall_ratio": round(ew / pw, 3), "cpu_ratio": round(ec / pc, 3),
                             "index_plink": int(sum(map(len, pi.values()))),
                             "index_edfgen": int(sum(map(len, ei.values()))),
                             "edfs_identical": int(sum(j == 1.0 for j in jac)), "min_jaccard": round(min(jac), 4),
                             "mean_jaccard": round(float(np.mean(jac)), 4),
                             "load_before": round(load0, 2), "load_after": round(os.getloadavg()[0], 2)})
                print(rows[-1], flush=True)
    report = {"cohort": {"n": n, "variants": len(bim), "chromosomes": int(bim.chromosome.nunique()),
                         "edfs": len(paths), "setup_seconds": round(t_setup, 1),
                         "causal_loci": len(loci) if loci is not None else None},
              "settings": SETTINGS, "runs": rows,
              "cpu_note": "2 shared cores, other jobs may run; plink --threads 1; edfgen with OMP/MKL/OPENBLAS threads 1"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    lines = ["# edfgen clump (all EDFs, one call) vs plink1.9 --clump (once per EDF)", "",
             f"Cohort: n = {n}, {len(bim):,} variants on {bim.chromosome.nunique()} chromosomes "
             f"(`edfgen simulate`, ~{len(bim) // bim.chromosome.nunique():,} SNPs per chromosome); EDF-like phenotypes "
             "over 8 factors x 5 shared causal loci; sumstats written by `SumstatsWriter` (BGZF GWAS-SSF).",
             f"Settings: p1 = {SETTINGS['p1']:g}, p2 = {SETTINGS['p2']:g}, r2 = {SETTINGS['r2']:g}, "
             f"kb = {SETTINGS['kb']:g}. Ratios are edfgen / plink (< 1: edfgen faster).",
             "Sumstats: " + ("written by this run." if loci is not None else
                             f"reused from `{ss_dir}` (written earlier by this script's `edf_phenotypes` / "
                             "`write_edf_sumstats`, same seed)."), "",
             "| EDFs | rep | first | plink wall s | plink CPU s | edfgen wall s | edfgen CPU s | wall ratio | CPU ratio | "
             "index variants plink / edfgen | EDFs identical | min Jaccard | load avg before / after |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['edfs']} | {r['rep']} | {r['first']} | {r['plink_wall_s']} | {r['plink_cpu_s']} | "
                     f"{r['edfgen_wall_s']} | {r['edfgen_cpu_s']} | {r['wall_ratio']} | {r['cpu_ratio']} | "
                     f"{r['index_plink']} / {r['index_edfgen']} | {r['edfs_identical']}/{r['edfs']} | "
                     f"{r['min_jaccard']} | {r['load_before']} / {r['load_after']} |")
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return report


if __name__ == "__main__":
    main()
