"""Time ``edfgen mr`` on a 64-EDF x 8-disease matrix with bootstraps (goal: seconds).

Synthetic GWAS-SSF files: 64 exposures with 20-40 instruments each (p < 5e-8 among 2,000 rows of
full summary statistics), 8 outcomes holding every variant; 3 planted causal pairs. Runs
:func:`edfgen.commands.mr.run_mr` (all 8 methods, nboot = 1000, MR-PRESSO 1000 simulations, leave-one-out,
Steiger) and, as the reference, TwoSampleMR's per-iteration bootstrap loops written plainly in
Python (``for i in range(nboot)``: weighted median, mode with a density per draw) on a sample of pairs,
extrapolated to the matrix. R/TwoSampleMR itself is not installed on the benchmark machine.

Writes ``benchmarks/results/mr_matrix.json`` and ``.md``.

Usage: ``python benchmarks/mr_matrix.py [--exposures 64 --outcomes 8 --nboot 1000]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.kernels.mr import methods as M
from edfgen.commands.mr import MRSettings, run_mr

HERE = Path(__file__).resolve().parent


def make_matrix(root: Path, n_exp: int, n_out: int, seed: int = 0) -> list[tuple[int, int, float]]:
    rng = np.random.default_rng(seed)
    m = 2000 * n_exp // 8
    ids = np.array([f"rs{i}" for i in range(m)])
    eaf = rng.uniform(0.05, 0.95, m)
    a1 = rng.choice(list("ACGT"), m)
    a2 = np.array([{"A": "G", "C": "T", "G": "A", "T": "C"}[a] for a in a1])
    n = 20000
    bx_all = np.zeros((n_exp, m))
    (root / "exp").mkdir()
    (root / "out").mkdir()
    for e in range(n_exp):
        k = rng.integers(20, 41)
        idx = rng.choice(m, k, replace=False)
        bx_all[e, idx] = rng.choice([-1, 1], k) * rng.uniform(0.05, 0.12, k)
        se = np.full(m, 1 / np.sqrt(n * 2 * eaf * (1 - eaf)))
        b = bx_all[e] + rng.normal(0, se)
        from scipy import stats

        p = 2 * stats.norm.sf(np.abs(b / se))
        pd.DataFrame({"variant_id": ids, "effect_allele": a1, "other_allele": a2, "beta": b, "standard_error": se,
                      "p_value": p, "effect_allele_frequency": eaf, "n": n}).to_csv(
            root / "exp" / f"edf_{e + 1:03d}.tsv.gz", sep="\t", index=False)
    causal = [(e, o, eff) for e, o, eff in [(0, 0, 0.4), (5, 1, -0.3), (10, 2, 0.25)] if e < n_exp and o < n_out]
    for o in range(n_out):
        by = np.zeros(m)
        for e, oo, eff in causal:
            if oo == o:
                by += eff * bx_all[e]
        se = np.full(m, 1 / np.sqrt(50000 * 2 * eaf * (1 - eaf)))
        b = by + rng.normal(0, se)
        flip = rng.random(m) < 0.3  # report some variants on the other allele
        from scipy import stats

        pd.DataFrame({"variant_id": ids, "effect_allele": np.where(flip, a2, a1),
                      "other_allele": np.where(flip, a1, a2), "beta": np.where(flip, -b, b), "standard_error": se,
                      "p_value": 2 * stats.norm.sf(np.abs(b / se)),
                      "effect_allele_frequency": np.where(flip, 1 - eaf, eaf), "n": 50000}).to_csv(
            root / "out" / f"disease_{o + 1}.tsv.gz", sep="\t", index=False)
    return causal


def naive_pair(bx, by, sx, sy, nboot, rng):
    """TwoSampleMR-style loops: one weighted-median and one density-mode per bootstrap iteration."""
    def wmed(b, w):
        o = np.argsort(b)
        b, w = b[o], w[o]
        ws = (np.cumsum(w) - 0.5 * w) / w.sum()
        i = np.max(np.flatnonzero(ws < 0.5))
        return b[i] + (b[i + 1] - b[i]) * (0.5 - ws[i]) / (ws[i + 1] - ws[i])

    w = 1 / (sy ** 2 / bx ** 2 + by ** 2 * sx ** 2 / bx ** 4)
    for _ in range(nboot):  # weighted median and simple median
        wmed(rng.normal(by, sy) / rng.normal(bx, sx), w)
        wmed(rng.normal(by, sy) / rng.normal(bx, sx), np.ones_like(w))
    biv = by / bx
    se_iv = np.sqrt(1 / w)
    for _ in range(nboot):  # simple + weighted mode, one R-style density each
        bb = rng.normal(biv, se_iv)
        s = 0.9 * min(np.std(bb, ddof=1), 1.4826 * np.median(np.abs(bb - np.median(bb)))) / len(bb) ** 0.2
        for ww in (np.ones_like(bb), se_iv ** -2):
            M.r_density_mode(bb[None], ww / ww.sum(), np.array([s]))
    for i in range(len(bx)):  # leave-one-out
        keep = np.arange(len(bx)) != i
        M.ivw(bx[keep], by[keep], sx[keep], sy[keep])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--exposures", type=int, default=64)
    ap.add_argument("--outcomes", type=int, default=8)
    ap.add_argument("--nboot", type=int, default=1000)
    ap.add_argument("--naive-pairs", type=int, default=4)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        causal = make_matrix(root, args.exposures, args.outcomes)
        settings = MRSettings(p_threshold=5e-8, nboot=args.nboot, presso_sims=1000, seed=1)
        t0 = time.perf_counter()
        res = run_mr(root / "exp", root / "out", root / "res", settings=settings, plots=True, max_plots=20,
                     clump=False)  # simulated variants are independent
        t_total = time.perf_counter() - t0
        t1, c1 = time.perf_counter(), time.process_time()
        run_mr(root / "exp", root / "out", None, settings=settings, clump=False)
        t_compute, c_compute = time.perf_counter() - t1, time.process_time() - c1
        H = res.harmonised
        ivw = res.tables["mr_results"]
        ivw = ivw[ivw["method"] == "Inverse variance weighted"].set_index(["exposure", "outcome"])
        found = [bool(ivw.at[(f"edf_{e + 1:03d}", f"disease_{o + 1}"), "p_bonferroni"] < 0.05) for e, o, _ in causal]
        null = ivw.drop(index=[(f"edf_{e + 1:03d}", f"disease_{o + 1}") for e, o, _ in causal])
        fp = int((null["p_bonferroni"] < 0.05).sum())
        # reference: naive loops on a few pairs, extrapolated
        rng = np.random.default_rng(0)
        pairs = H[H["mr_keep"]].groupby(["exposure", "outcome"])
        sample = list(pairs)[: args.naive_pairs]
        c2 = time.process_time()
        for _, g in sample:
            naive_pair(*(g[c].to_numpy(float) for c in ("beta_exposure", "beta_outcome", "se_exposure", "se_outcome")),
                       args.nboot, rng)
        t_naive_pair = (time.process_time() - c2) / len(sample)
        n_pairs = res.n_pairs
        out = {
            "exposures": args.exposures, "outcomes": args.outcomes, "pairs": n_pairs, "nboot": args.nboot,
            "presso_sims": 1000, "instruments_mean": float(H.groupby(["exposure", "outcome"]).size().mean()),
            "edfgen_seconds_total_with_io_and_20_plot_sets": round(t_total, 2),
            "edfgen_seconds_no_output_wall": round(t_compute, 2),
            "edfgen_seconds_no_output_cpu": round(c_compute, 2),
            "edfgen_cpu_ms_per_pair": round(1000 * c_compute / n_pairs, 2),
            "naive_loop_cpu_ms_per_pair": round(1000 * t_naive_pair, 1),
            "naive_loop_extrapolated_cpu_seconds": round(t_naive_pair * n_pairs, 1),
            "speedup_vs_naive_loops_cpu": round(t_naive_pair * n_pairs / c_compute, 1),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "planted_pairs_detected_bonferroni": f"{sum(found)}/{len(found)}",
            "null_pairs_bonferroni_significant": f"{fp}/{len(null)}",
            "machine": f"{platform.processor() or platform.machine()}, shared 2-core VM",
        }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "mr_matrix.json").write_text(json.dumps(out, indent=2) + "\n")
    md = ["# edfgen mr: 64 EDF x 8 disease matrix", "",
          f"{out['pairs']} pairs, ~{out['instruments_mean']:.0f} instruments each, 8 methods, nboot={out['nboot']},"
          f" MR-PRESSO {out['presso_sims']} simulations, leave-one-out, Steiger.", "",
          "| measure | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in out.items()] + [
          "", "Reference: TwoSampleMR-style per-iteration bootstrap loops in Python on "
              f"{args.naive_pairs} pairs, extrapolated (R is not installed here)."]
    (HERE / "results" / "mr_matrix.md").write_text("\n".join(md) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
