"""ridge-LOCO (REGENIE step 1 + 2) and the MOSTest multivariate test on a simulated cohort with families.

Measures, on one cohort from ``edfgen simulate --families K`` with polygenic phenotypes made here
(effects on every chromosome but the last, which is null):

1. calibration on the null chromosome with relatives kept: λGC and type-I error at 1e-3 / 1e-5,
   ``--model linear`` vs ``--model ridge-loco``; power: mean χ² at the planted large-effect variants;
2. agreement of the LOCO predictions with sgkit's ``regenie`` (an independent implementation of the
   same method), run in a separate virtualenv (sgkit pins numpy < 2.2; it is never an edfgen
   dependency) on the same standardised genotypes and phenotypes written to files;
3. wall time of ``edfgen gwas --model ridge-loco`` relative to ``--model linear`` at 8 and 64 phenotypes;
4. ``--multivariate``: null λ and type-I error of MOSTest on a second, independent permutation of the
   genotypes, and loci found by MOSTest vs min-P (M_eff-corrected) at 5e-8.

5. ``--memory``: peak resident memory (RSS) of ``edfgen gwas --model ridge-loco`` at 1,024 phenotypes
   (N = 2,000, 22 chromosomes), this tree vs the code of ``--before-ref`` (LOCO predictions held in memory),
   each run in its own process (``os.wait4``'s ``ru_maxrss``); written to ``results/ridge_loco_memory.*``.

6. ``--binary-compare``: binary traits (liability threshold, prevalence 20 %, of the phenotypes of part 1) on
   the family cohort: ``--binary`` with ``--model linear``, ``ridge-loco`` of ``--before-ref`` (linear level 1
   mapped to the logit scale), ``ridge-loco`` now (logistic level 1), and with ``--logistic-test
   firth-fallback``: null-chromosome λGC and type-I error, mean χ² at the planted variants, wall time;
   written to ``results/ridge_loco_binary.*``.

Usage: ``python benchmarks/ridge_loco.py [--n 3000] [--families 700] [--sgkit-python /tmp/sgkit-venv/bin/python]``
(create the sgkit venv with ``python3 -m venv /tmp/sgkit-venv && /tmp/sgkit-venv/bin/pip install sgkit``;
without it, part 2 is skipped). Writes ``results/ridge_loco.json`` and ``results/ridge_loco.md``.
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

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _measure import before_tree  # noqa: E402

SGKIT_SCRIPT = r"""
import sys, numpy as np
from sgkit.stats.regenie import regenie_transform
d = np.load(sys.argv[1])
kw = dict(variant_block_size=int(d["block_size"]), sample_block_size=tuple(int(v) for v in d["fold_sizes"]),
          add_intercept=False, normalize=False)
if d["alphas"].size:
    kw["alphas"] = d["alphas"]
X = np.zeros((d["G"].shape[0], 0))
ds = regenie_transform(d["G"], X, d["Y"], d["contigs"], **kw)
pre = "" if "loco_prediction" in ds else "regenie_"   # sgkit 0.10 prefixes the names
np.save(sys.argv[2], np.asarray(ds[pre + "loco_prediction"].values))
np.save(sys.argv[2] + ".meta.npy", np.asarray(ds[pre + "meta_prediction"].values))
"""


def make_phenotypes(bfile: Path, n_pheno: int, seed: int, h2: float = 0.5, n_planted: int = 6):
    """Phenotypes = polygenic part (every variant of every chromosome but the last, normal effects,
    total h2 shared among correlated phenotypes) + planted large effects + noise. Returns the
    genotype matrix, chromosome labels, variant ids, phenotypes and planted variant indices."""
    from bed_reader import open_bed

    with open_bed(str(bfile.with_suffix(".bed"))) as bed:
        G = bed.read(dtype="float64")
        iid = np.asarray(bed.iid, dtype=str)
        chrom = np.asarray(bed.chromosome, dtype=str)
        sid = np.asarray(bed.sid, dtype=str)
    rng = np.random.default_rng(seed)
    Gi = np.where(np.isnan(G), np.nanmean(G, 0), G)
    Z = (Gi - Gi.mean(0)) / np.maximum(Gi.std(0), 1e-9)
    null_chr = chrom[-1]
    causal = np.flatnonzero(chrom != null_chr)
    # genetic correlation 0.5 between phenotypes: shared + specific effects
    shared = rng.standard_normal(len(causal))
    B = np.sqrt(0.5) * shared[:, None] + np.sqrt(0.5) * rng.standard_normal((len(causal), n_pheno))
    g = Z[:, causal] @ B
    g = g / g.std(0) * np.sqrt(h2)
    planted = rng.choice(causal, n_planted, replace=False)
    g += Z[:, planted] @ (np.sqrt(0.01) * rng.choice([-1, 1], (n_planted, n_pheno)))
    e = rng.standard_normal((len(iid), n_pheno))
    Y = g + e * np.sqrt(1 - h2)
    return G, chrom, sid, iid, Y, planted, null_chr


def calibration(p: np.ndarray) -> dict:
    from edfgen.kernels.association import lambda_gc

    p = p[np.isfinite(p)]
    return {"lambda_gc": lambda_gc(p), "type1_1e-3": float((p < 1e-3).mean()), "type1_1e-5": float((p < 1e-5).mean()),
            "n_tests": int(p.size)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--families", type=int, default=700)
    ap.add_argument("--chromosomes", type=int, default=4)
    ap.add_argument("--variants-per-chromosome", type=int, default=2500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sgkit-python", default="/tmp/sgkit-venv/bin/python")
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--work", default=None, help="Work directory (a cohort already simulated there is reused).")
    ap.add_argument("--reuse-runs", action="store_true", help="Reuse the gwas runs (and wall times) found in --work.")
    ap.add_argument("--memory", action="store_true", help="Only part 5: peak RSS at --memory-phenotypes phenotypes.")
    ap.add_argument("--memory-phenotypes", type=int, default=1024)
    ap.add_argument("--memory-n", type=int, default=2000)
    ap.add_argument("--memory-chromosomes", type=int, default=22)
    ap.add_argument("--memory-variants-per-chromosome", type=int, default=50)
    ap.add_argument("--before-ref", default="3ccee39", help="git commit whose code is the 'before' of parts 5-6.")
    ap.add_argument("--binary-compare", action="store_true", help="Only part 6: binary traits, before vs after.")
    ap.add_argument("--binary-phenotypes", type=int, default=8)
    args = ap.parse_args(argv)
    if args.memory:
        return memory_benchmark(args, argv)
    if args.binary_compare:
        return binary_benchmark(args, argv)

    from edfgen.commands.gwas import GwasSettings, run_gwas
    from edfgen.formats.genotypes.source import GenotypeSource
    from edfgen.kernels.qc import QCSettings
    from edfgen.kernels.models import GenomeBlocks
    from edfgen.kernels.ridge import ridge_loco_predictions, shrinkage_grid
    from edfgen.simulate.cohort import simulate_cohort

    results: dict = {"params": vars(args), "load_average": os.getloadavg()}
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="edfgen-ridge-bench-"))
    t = time.perf_counter()
    if (work / "cohort" / "truth.json").exists():
        from types import SimpleNamespace

        from edfgen.simulate.cohort import load_truth

        truth = load_truth(work / "cohort")
        assert truth["n"] == args.n and len(truth["families"]) == args.families, "another cohort in --work"
        cohort = SimpleNamespace(n=truth["n"], n_families=len(truth["families"]), truth=truth,
                                 n_related_pairs=len(truth["related_pairs"]), n_variants=truth["n_variants"],
                                 bfile=work / "cohort" / "genotypes", covariates=work / "cohort" / "covariates.tsv")
    else:
        cohort = simulate_cohort(work / "cohort", n=args.n, seed=args.seed, chromosomes=args.chromosomes,
                                 variants_per_chromosome=args.variants_per_chromosome, ecg=False,
                                 families=args.families)
    results["cohort"] = {"n": cohort.n, "families": cohort.n_families, "sibling_pairs": cohort.n_related_pairs,
                         "in_families": int(sum(len(f["children"]) for f in cohort.truth["families"])),
                         "variants": cohort.n_variants, "simulate_s": round(time.perf_counter() - t, 1)}
    print(results["cohort"], flush=True)
    G, chrom, sid, iid, Y, planted, null_chr = make_phenotypes(cohort.bfile, 64, args.seed)
    cov = pd.read_csv(cohort.covariates, sep="\t")
    names = [f"y{j + 1:02d}" for j in range(Y.shape[1])]
    ph = pd.DataFrame(Y, columns=names)
    ph.insert(0, "IID", iid)
    ph.to_csv(work / "pheno.tsv", sep="\t", index=False)
    cov[["IID", "age", "sex"]].to_csv(work / "covar.tsv", sep="\t", index=False)
    source = GenotypeSource(bfile=str(cohort.bfile))
    qc = QCSettings(maf=0.01, call_rate=0.95, hwe_p=0.0, sample_call_rate=0.95)

    # 1 + 3: end-to-end runs, 8 and 64 phenotypes, linear vs ridge-loco, relatives kept
    runs = {}
    for n_pheno in ((8, 64) if not args.skip_timing else (8,)):
        for model in ("linear", "ridge-loco"):
            out = work / f"gwas_{model}_{n_pheno}"
            timing = work / f"gwas_{model}_{n_pheno}.wall_s"
            if args.reuse_runs and timing.exists():      # a previous invocation's run of the same cohort
                wall = float(timing.read_text())
            else:
                t = time.perf_counter()
                run_gwas(source, work / "pheno.tsv", work / "covar.tsv", out, pheno_cols=names[:n_pheno], qc=qc,
                         settings=GwasSettings(model=model, plots=False), threads=1, force=True)
                wall = time.perf_counter() - t
                timing.write_text(str(wall))
            runs[(model, n_pheno)] = out
            results.setdefault("wall_s", {})[f"{model}_{n_pheno}"] = round(wall, 2)
            print(model, n_pheno, round(wall, 1), "s", flush=True)
    for n_pheno in ((8, 64) if not args.skip_timing else (8,)):
        w = results["wall_s"]
        results.setdefault("time_ratio", {})[str(n_pheno)] = round(w[f"ridge-loco_{n_pheno}"] / w[f"linear_{n_pheno}"], 2)
    # calibration on the null chromosome, power at the planted variants (8 phenotypes)
    planted_ids = set(sid[planted])
    for model in ("linear", "ridge-loco"):
        ps, chi_planted = [], []
        for name in names[:8]:
            ss = pd.read_csv(runs[(model, 8)] / f"{name}.tsv.gz", sep="\t")
            ps.append(ss.loc[ss.chromosome.astype(str) == null_chr, "p_value"].to_numpy())
            z = ss.loc[ss.variant_id.isin(planted_ids), "beta"] / ss.loc[ss.variant_id.isin(planted_ids), "standard_error"]
            chi_planted.append((z ** 2).to_numpy())
        cal = calibration(np.concatenate(ps))
        cal["lambda_gc_per_phenotype_median"] = float(np.median([calibration(p)["lambda_gc"] for p in ps]))
        cal["mean_chi2_planted"] = float(np.concatenate(chi_planted).mean())
        results.setdefault("calibration_null_chromosome", {})[model] = cal
        print(model, cal, flush=True)

    # 2: sgkit agreement, on the standardised inputs of step 1 (first 8 phenotypes)
    sg = Path(args.sgkit_python)
    if sg.exists():
        from edfgen.kernels.ridge import _folds, _standardise_block

        n = len(iid)
        C = np.ones((n, 1))
        Q, _ = np.linalg.qr(C)
        Yr = Y[:, :8] - Y[:, :8].mean(0)
        scale = np.sqrt((Yr ** 2).sum(0) / (n - 1))
        Ys = Yr / scale
        Gs = np.concatenate([_standardise_block(G[:, chrom == c], Q) for c in dict.fromkeys(chrom)], axis=1)
        keep_chrom = np.concatenate([np.repeat(c, _standardise_block(G[:, chrom == c], Q).shape[1])
                                     for c in dict.fromkeys(chrom)])
        contigs = pd.factorize(keep_chrom)[0]
        block = 500
        fold_sizes = np.bincount(_folds(n, 5, contiguous=True))
        genome = GenomeBlocks.from_arrays(Gs, keep_chrom)
        agree = {}
        for label, alphas in (("same shrinkage grid", shrinkage_grid(Gs.shape[1])),):
            npz = work / "sgkit_in.npz"
            np.savez(npz, G=Gs, Y=Ys, contigs=contigs, block_size=block, fold_sizes=fold_sizes,
                     alphas=np.zeros(0) if alphas is None else alphas)
            t = time.perf_counter()
            proc = subprocess.run([str(sg), "-c", SGKIT_SCRIPT, str(npz), str(work / "sgkit_out.npy")],
                                  capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
            if proc.returncode:
                print(proc.stderr[-3000:])
                raise SystemExit("sgkit failed")
            sg_time = time.perf_counter() - t
            ref = np.load(work / "sgkit_out.npy")                         # [contigs, samples, outcomes]
            ref_meta = np.load(str(work / "sgkit_out.npy") + ".meta.npy")   # [samples, outcomes]
            t = time.perf_counter()
            mine = ridge_loco_predictions(genome, Ys, C, block_size=block, folds=5,
                                          level0_shrinkage=alphas, level1_shrinkage=alphas,
                                          fold_ids=_folds(n, 5, contiguous=True))
            my_time = time.perf_counter() - t
            got = np.stack([mine.loco(c) for c in dict.fromkeys(keep_chrom)])   # Ys is already scaled
            corr = [np.corrcoef(got[c, :, p], ref[c, :, p])[0, 1] for c in range(ref.shape[0]) for p in range(8)]
            meta = mine.genome
            agree[label] = {"whole_genome_max_abs_diff": float(np.abs(meta - ref_meta).max()),
                            "whole_genome_min_correlation": float(min(np.corrcoef(meta[:, p], ref_meta[:, p])[0, 1]
                                                                      for p in range(8))),
                            "max_abs_diff": float(np.abs(got - ref).max()), "sd_prediction": float(ref.std()),
                            "min_correlation": float(np.min(corr)), "median_correlation": float(np.median(corr)),
                            "sgkit_s": round(sg_time, 1), "edfgen_step1_s": round(my_time, 1)}
            print(label, agree[label], flush=True)
        results["sgkit_agreement"] = agree

    # 4: multivariate on 8 phenotypes
    from edfgen.kernels.association import lambda_gc

    out = work / "gwas_mv"
    run_gwas(source, work / "pheno.tsv", work / "covar.tsv", out, pheno_cols=names[:8], qc=qc,
             settings=GwasSettings(multivariate=True, plots=False), threads=1)
    mv = pd.read_csv(out / "multivariate.tsv.gz", sep="\t")
    mv_loci = {"mostest_5e-8": int((mv.p_value < 5e-8).sum()), "min_p_5e-8": int((mv.min_p_corrected < 5e-8).sum()),
               "planted_mostest": int(mv.loc[mv.variant_id.isin(planted_ids), "p_value"].lt(5e-8).sum()),
               "planted_min_p": int(mv.loc[mv.variant_id.isin(planted_ids), "min_p_corrected"].lt(5e-8).sum()),
               "null_chromosome_lambda": lambda_gc(mv.loc[mv.chromosome.astype(str) == null_chr, "p_value"])}
    # null calibration on an independent permutation of the samples of the genotypes
    from edfgen.kernels.models import LinearModel
    from edfgen.kernels.multivariate import mostest, z_scores
    from edfgen.kernels.clump import effective_number_of_tests

    rng = np.random.default_rng(99)
    Cfull = np.column_stack([np.ones(len(iid)), cov.set_index("IID").loc[iid, ["age", "sex"]].to_numpy(float)])
    from edfgen.kernels.association import inverse_normal_transform

    Yt = inverse_normal_transform(Y[:, :8])
    lin = LinearModel()
    st = lin.prepare(Cfull, Yt)
    r0 = lin.test_block(st, G[rng.permutation(len(iid))])
    r1 = lin.test_block(st, G[rng.permutation(len(iid))])
    m_eff = effective_number_of_tests(np.corrcoef(Yt, rowvar=False))
    res = mostest(z_scores(r1.beta, r1.p_value), z_scores(r0.beta, r0.p_value), r1.p_value, m_eff=m_eff)
    mv_loci["permutation_null"] = {**calibration(res.p_value), "min_p": calibration(res.min_p_corrected)}
    results["multivariate"] = mv_loci
    print(mv_loci, flush=True)

    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ridge_loco.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    lines = ["# ridge-LOCO and MOSTest on a simulated cohort with families", "",
             f"`python benchmarks/ridge_loco.py {' '.join(argv or sys.argv[1:])}` ; load average {results['load_average']}",
             "", f"Cohort: {results['cohort']}", "", "## Null chromosome (relatives kept), 8 phenotypes", "",
             "| model | λGC (pooled) | median λGC per phenotype | type-I 1e-3 | type-I 1e-5 | tests | mean χ² at planted |",
             "|---|---|---|---|---|---|---|"]
    for m, c in results["calibration_null_chromosome"].items():
        lines.append(f"| {m} | {c['lambda_gc']:.3f} | {c['lambda_gc_per_phenotype_median']:.3f} | {c['type1_1e-3']:.2e} | "
                     f"{c['type1_1e-5']:.2e} | {c['n_tests']} | {c['mean_chi2_planted']:.1f} |")
    lines += ["", "## Wall time (edfgen gwas, 1 thread)", "", "| phenotypes | linear s | ridge-loco s | ratio |",
              "|---|---|---|---|"]
    for k, ratio in results.get("time_ratio", {}).items():
        lines.append(f"| {k} | {results['wall_s'][f'linear_{k}']} | {results['wall_s'][f'ridge-loco_{k}']} | {ratio} |")
    if "sgkit_agreement" in results:
        lines += ["", "## Step-1 predictions vs sgkit `regenie_transform` (same standardised inputs, folds, blocks, shrinkage)", "",
                  "| setting | whole-genome max abs diff | whole-genome min r | LOCO max abs diff | SD of sgkit LOCO | LOCO min r | LOCO median r | sgkit s | edfgen s |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for k, a in results["sgkit_agreement"].items():
            lines.append(f"| {k} | {a['whole_genome_max_abs_diff']:.2e} | {a['whole_genome_min_correlation']:.6f} | "
                         f"{a['max_abs_diff']:.2e} | {a['sd_prediction']:.3f} | {a['min_correlation']:.4f} | "
                         f"{a['median_correlation']:.4f} | {a['sgkit_s']} | {a['edfgen_step1_s']} |")
        lines += ["", "sgkit's stage 3 applies the level-1 coefficients, fitted on standardised level-0 predictions, to the "
                  "unstandardised ones (`_stage_3(B2, YP1, ...)` in sgkit/stats/regenie.py), so its LOCO predictions "
                  "differ from its own whole-genome prediction's scale; edfgen standardises in both places (as "
                  "REGENIE does). The whole-genome (level-1) predictions are the like-for-like comparison."]
    lines += ["", "## Multivariate (MOSTest) vs min-P, 8 phenotypes", "", "```", json.dumps(mv_loci, indent=1, default=float), "```"]
    (out_dir / "ridge_loco.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def _run_edfgen(src: Path, args: list[str]) -> tuple[float, float]:
    """``python -m edfgen ARGS`` with the package at ``src``, 1 BLAS thread, in its own process:
    (wall s, peak RSS MiB of that process)."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    where = subprocess.run([sys.executable, "-c", "import edfgen; print(edfgen.__file__)"], env=env, cwd=src,
                           capture_output=True, text=True, check=True).stdout.strip()
    if not where.startswith(str(src)):
        raise SystemExit(f"edfgen imported from {where}, not {src}")
    probe = [sys.executable, "-c", "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)",
             sys.executable, "-m", "edfgen", *args]
    t = time.perf_counter()
    # cwd = the package's parent: ``python -m`` puts the working directory first on sys.path
    proc = subprocess.run(probe, env=env, capture_output=True, text=True, cwd=src)
    wall = time.perf_counter() - t
    if proc.returncode:
        print(proc.stderr[-3000:])
        raise SystemExit(f"edfgen {' '.join(args[:3])} ... failed ({src})")
    return wall, int(proc.stdout.strip().splitlines()[-1]) / 1024


def binary_benchmark(args, argv) -> int:
    """Part 6: binary traits on the family cohort, before vs after the logistic level 1 and the Firth fallback."""
    from edfgen.simulate.cohort import simulate_cohort

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="edfgen-ridge-binary-"))
    if (work / "cohort" / "truth.json").exists():
        bfile, covar = work / "cohort" / "genotypes", work / "cohort" / "covariates.tsv"
    else:
        c = simulate_cohort(work / "cohort", n=args.n, seed=args.seed, chromosomes=args.chromosomes,
                            variants_per_chromosome=args.variants_per_chromosome, ecg=False, families=args.families)
        bfile, covar = c.bfile, c.covariates
    P = args.binary_phenotypes
    G, chrom, sid, iid, Y, planted, null_chr = make_phenotypes(Path(bfile), P, args.seed)
    Yb = (Y > np.quantile(Y, 0.8, axis=0)).astype(int)
    names = [f"d{j + 1:02d}" for j in range(P)]
    ph = pd.DataFrame(Yb, columns=names)
    ph.insert(0, "IID", iid)
    ph.to_csv(work / "binary.tsv", sep="\t", index=False)
    pd.read_csv(covar, sep="\t")[["IID", "age", "sex"]].to_csv(work / "covar.tsv", sep="\t", index=False)
    before = before_tree(work, args.before_ref)
    base = ["gwas", "--bfile", str(bfile), "--pheno", str(work / "binary.tsv"), "--pheno-prefix", "d", "--covar",
            str(work / "covar.tsv"), "--binary", "--no-plots", "--threads", "1", "--force", "--maf", "0.01", "--hwe", "0"]
    setups = {"linear (logistic Wald)": (ROOT, ["--model", "linear"]),
              "ridge-loco before (linear level 1)": (before, ["--model", "ridge-loco"]),
              "ridge-loco after (logistic level 1)": (ROOT, ["--model", "ridge-loco"]),
              "ridge-loco after + firth-fallback": (ROOT, ["--model", "ridge-loco", "--logistic-test", "firth-fallback"]),
              "linear + firth-fallback": (ROOT, ["--model", "linear", "--logistic-test", "firth-fallback"])}
    results: dict = {"params": {k: getattr(args, k) for k in ("n", "families", "chromosomes", "variants_per_chromosome",
                                                              "seed", "binary_phenotypes", "before_ref")},
                     "load_average_start": os.getloadavg(), "runs": {}}
    planted_ids = set(sid[planted])
    for k, (label, (src, extra)) in enumerate(setups.items()):
        out = work / f"binary_{k}"
        wall, rss = _run_edfgen(src, base + extra + ["--out", str(out)])
        ps, chi = [], []
        for name in names:
            ss = pd.read_csv(out / f"{name}.tsv.gz", sep="\t")
            ps.append(ss.loc[ss.chromosome.astype(str) == null_chr, "p_value"].to_numpy())
            sel = ss.variant_id.isin(planted_ids)
            chi.append(((ss.loc[sel, "beta"] / ss.loc[sel, "standard_error"]) ** 2).to_numpy())
        cal = calibration(np.concatenate(ps))
        cal.update(type1_5e_2=float((np.concatenate(ps) < 0.05).mean()), mean_chi2_planted=float(np.concatenate(chi).mean()),
                   wall_s=round(wall, 1), peak_rss_mib=round(rss, 1))
        results["runs"][label] = cal
        print(label, cal, flush=True)
    results["load_average_end"] = os.getloadavg()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ridge_loco_binary.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    lines = ["# ridge-LOCO for binary traits: logistic level 1 and Firth fallback (issue 23)", "",
             f"`python benchmarks/ridge_loco.py {' '.join(argv if argv is not None else sys.argv[1:])}`; load average "
             f"{[round(x, 1) for x in results['load_average_start']]} at the start, "
             f"{[round(x, 1) for x in results['load_average_end']]} at the end (2 cores shared).", "",
             f"Family cohort of part 1 (`simulate --families`, n = {args.n}, {args.families} families, "
             f"{args.chromosomes} chromosomes x {args.variants_per_chromosome}, the last one null); {P} binary traits: "
             "the top 20 % of the part-1 phenotypes (h² 0.5 on the liability, 6 planted variants). "
             f"`edfgen gwas --binary --threads 1`; *before* = commit `{args.before_ref}` (level 1 linear ridge mapped "
             "to the logit scale).", "",
             "| setup | null-chr λGC | type-I 5e-2 | type-I 1e-3 | tests | mean χ² planted | wall s | peak RSS MiB |",
             "|---|---|---|---|---|---|---|---|"]
    for label, c in results["runs"].items():
        lines.append(f"| {label} | {c['lambda_gc']:.3f} | {c['type1_5e_2']:.4f} | {c['type1_1e-3']:.1e} | {c['n_tests']} | "
                     f"{c['mean_chi2_planted']:.1f} | {c['wall_s']} | {c['peak_rss_mib']} |")
    (out_dir / "ridge_loco_binary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


def memory_benchmark(args, argv) -> int:
    """Part 5: peak RSS of ``gwas --model ridge-loco`` at many phenotypes, before vs after streaming."""
    from bed_reader import to_bed

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="edfgen-ridge-mem-"))
    work.mkdir(parents=True, exist_ok=True)
    n, P = args.memory_n, args.memory_phenotypes
    chroms, per = args.memory_chromosomes, args.memory_variants_per_chromosome
    rng = np.random.default_rng(args.seed)
    m = chroms * per
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), (n, m)).astype(np.float32)
    iid = [f"s{i:05d}" for i in range(n)]
    to_bed(str(work / "g.bed"), G, properties=dict(
        iid=iid, fid=iid, sid=[f"rs{j + 1}" for j in range(m)],
        chromosome=np.repeat([str(c + 1) for c in range(chroms)], per), bp_position=np.tile(np.arange(1, per + 1) * 1000, chroms),
        allele_1=["A"] * m, allele_2=["G"] * m))
    Z = (G - G.mean(0)) / G.std(0)
    g = Z @ rng.normal(size=(m, 16)) @ rng.normal(size=(16, P))        # 16 shared genetic factors
    Y = np.sqrt(0.3) * g / g.std(0) + np.sqrt(0.7) * rng.normal(size=(n, P))
    ph = pd.DataFrame(Y, columns=[f"y{j + 1:04d}" for j in range(P)])
    ph.insert(0, "IID", iid)
    ph.to_csv(work / "pheno.tsv", sep="\t", index=False, float_format="%.5g")
    pd.DataFrame({"IID": iid, "age": rng.normal(50, 8, n)}).to_csv(work / "covar.tsv", sep="\t", index=False)
    before = before_tree(work, args.before_ref)
    results: dict = {"params": {k: v for k, v in vars(args).items() if k.startswith("memory") or k in ("seed", "before_ref")},
                     "load_average_start": os.getloadavg(), "runs": {}}
    for label, src in (("before", before), ("after", ROOT)):
        out = work / f"out_{label}"
        cmd = [sys.executable, "-m", "edfgen", "gwas", "--bfile", str(work / "g"), "--pheno", str(work / "pheno.tsv"),
               "--pheno-prefix", "y", "--covar", str(work / "covar.tsv"), "--model", "ridge-loco", "--no-plots",
               "--threads", "1", "--force", "--out", str(out)]
        wall, peak = _run_edfgen(src, cmd[3:])
        man = json.loads((out / "manifest.json").read_text())
        results["runs"][label] = {"peak_rss_mib": round(peak, 1), "wall_s": round(wall, 1),
                                  "timings_s": man.get("timings_s") or man.get("extra", {}).get("timings_s")}
        print(label, results["runs"][label], flush=True)
    # same numbers before and after
    a = pd.read_csv(work / "out_before" / "y0001.tsv.gz", sep="\t")
    b = pd.read_csv(work / "out_after" / "y0001.tsv.gz", sep="\t")
    results["max_abs_diff_p_y0001"] = float(np.abs(a["p_value"] - b["p_value"]).max())
    la = pd.read_csv(work / "out_before" / "loco" / "y1024.loco.tsv.gz", sep="\t") if P >= 1024 else None
    if la is not None:
        lb = pd.read_csv(work / "out_after" / "loco" / "y1024.loco.tsv.gz", sep="\t")
        results["max_abs_diff_loco_y1024"] = float(np.abs(la.drop(columns="IID") - lb.drop(columns="IID")).max().max())
    results["load_average_end"] = os.getloadavg()
    loco_mib = chroms * n * P * 8 / 2 ** 20
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "ridge_loco_memory.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    r = results["runs"]
    lines = ["# ridge-LOCO peak memory at many phenotypes (issue 23)", "",
             f"`python benchmarks/ridge_loco.py {' '.join(argv if argv is not None else sys.argv[1:])}`; load average "
             f"{[round(x, 1) for x in results['load_average_start']]} at the start, "
             f"{[round(x, 1) for x in results['load_average_end']]} at the end (2 cores shared).", "",
             f"`edfgen gwas --model ridge-loco --threads 1 --no-plots` on N = {n} samples, {chroms} chromosomes x {per} "
             f"unlinked SNPs, {P} quantitative phenotypes (16 shared genetic factors, h² 0.3); each run in its own process, "
             "peak RSS = `ru_maxrss`. *before*: the code of commit "
             f"`{args.before_ref}` (LOCO predictions `C x N x P` in memory, level-0 predictions in memory up to 1 GiB); "
             "*after*: this tree (each phenotype's predictions appended to one scratch file per chromosome as level 1 "
             "finishes it, step 2 reads one chromosome's `N x P` at a time, level-0 predictions beyond 256 MiB in a "
             "block-major scratch file whose pages are released).", "",
             "| code | peak RSS MiB | wall s |", "|---|---|---|"]
    for k in ("before", "after"):
        lines.append(f"| {k} | {r[k]['peak_rss_mib']} | {r[k]['wall_s']} |")
    lines += ["", f"LOCO predictions alone are {loco_mib:.0f} MiB in memory ({chroms} x {n} x {P} x 8 B). "
              f"Same results: max |Δp| "
              f"(y0001) {results['max_abs_diff_p_y0001']:.1e}"
              + (f", max |Δ| of y1024's LOCO predictions {results['max_abs_diff_loco_y1024']:.1e}" if la is not None else "")
              + "."]
    (out_dir / "ridge_loco_memory.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
