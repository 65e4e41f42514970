"""GWAS plots of many phenotypes: the former per-phenotype ``manhattan_plot`` + ``qq_plot`` (thinned
matplotlib scatters over the whole p-value column) against :class:`edfgen.plots.GwasPlotAccumulator`
(bounded summaries fed block by block, raster PNGs).

    python benchmarks/gwas_plots.py [--variants 100000 1000000] [--phenotypes 64] [--old-phenotypes 2]

The former functions are loaded from git (``--old-commit``, the last commit before the accumulator).
Per variant count: the accumulator gets all phenotypes in blocks of ``--block`` rows and writes
2 x P + 1 plots; the former path plots ``--old-phenotypes`` phenotypes (Manhattan + QQ each) from
the full column, as ``gwas._write_outputs`` did. Old and new alternate in one run (``--reps``);
wall and CPU (user+sys of this process) per plot are reported with their ratio and the load
average (the machine is shared). Peak memory: tracemalloc in a separate pass (one old phenotype;
the accumulator's add + all plots), plus the [M, P] float64 matrix the former path held.
Writes ``results/gwas_plots.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
import tracemalloc
import types
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


#: imports of the former plot modules (edfgen.io, before the renovation) -> the same helper today (file writing only)
OLD_IMPORTS = (("from edfgen.io.tables import atomic_path", "from edfgen.formats.atomic import atomic_path"),)
#: imports of the former plot modules whose code is timed -> the names taken from that commit's file: today's
#: ``chrom_key`` is ~7x faster than the former, so the former plots must sort chromosomes with their own
OLD_HELPERS = (("from edfgen.io.sumstats import chrom_key", "edfgen/io/sumstats.py", ("CHROM_ORDER", "chrom_key")),)


def _git_show(commit: str, rel: str) -> str:
    return subprocess.run(["git", "show", f"{commit}:{rel}"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout


def old_definitions(commit: str, rel: str, names) -> dict:
    """The top-level definitions ``names`` of ``commit:rel`` (exec'd alone, with ``numpy``/``pandas``: the rest of
    that module imports what no longer exists)."""
    import ast

    src = _git_show(commit, rel)
    tree = ast.parse(src)
    nodes = [n for n in tree.body if (isinstance(n, ast.FunctionDef) and n.name in names) or (
        isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id in names for t in n.targets))]
    ns = {"np": np, "pd": pd}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), f"{commit}:{rel}", "exec"), ns)
    missing = [n for n in names if n not in ns]
    if missing:
        raise SystemExit(f"{commit}:{rel} defines no {', '.join(missing)}")
    return {n: ns[n] for n in names}


def old_functions(commit: str):
    """The former ``manhattan_plot`` and ``qq_plot`` from ``commit`` (exec'd from ``git show``), with that commit's
    own ``chrom_key`` (:data:`OLD_HELPERS`)."""
    out = {}
    for name, rel in (("manhattan_plot", "edfgen/plots/manhattan.py"), ("qq_plot", "edfgen/plots/qq.py")):
        src = _git_show(commit, rel)
        for before, now in OLD_IMPORTS:          # that commit's helpers, where the renovation (issue 18) put them
            src = src.replace(before, now)
        mod = types.ModuleType(f"old_{name}")
        for line, helper_rel, names in OLD_HELPERS:
            if line in src:
                src = src.replace(line, "")
                mod.__dict__.update(old_definitions(commit, helper_rel, names))
        exec(compile(src, f"{commit}:{rel}", "exec"), mod.__dict__)
        out[name] = getattr(mod, name)
    return out["manhattan_plot"], out["qq_plot"]


def genome(m: int) -> tuple[np.ndarray, np.ndarray]:
    """22 chromosomes proportional to their GRCh38 lengths, sorted by chromosome then position."""
    lengths = np.array([248, 242, 198, 190, 181, 171, 159, 145, 138, 134, 135, 133, 114, 107, 102, 90, 83, 80,
                        59, 64, 47, 51], dtype=float)
    per = np.floor(lengths / lengths.sum() * m).astype(int)
    per[0] += m - per.sum()
    chrom = np.repeat(np.arange(1, 23).astype(str), per)
    pos = np.concatenate([np.sort(np.random.default_rng(c).integers(1, int(lengths[c] * 1e6), k))
                          for c, k in enumerate(per)])
    return chrom, pos


def block_p(b: int, rows: int, n_ph: int) -> np.ndarray:
    """p-values of block ``b``: uniform with a few planted hits (deterministic per block)."""
    rng = np.random.default_rng(1000 + b)
    p = rng.random((rows, n_ph))
    hits = rng.random((rows, n_ph)) < 2e-5
    p[hits] = 10.0 ** -rng.uniform(8, 30, hits.sum())
    return p


def column(j: int, m: int, block: int, n_ph: int) -> np.ndarray:
    return np.concatenate([block_p(b, min(block, m - s), n_ph)[:, j] for b, s in enumerate(range(0, m, block))])


def run_new(chrom, pos, m: int, n_ph: int, block: int, out: Path) -> dict:
    from edfgen.plots import GwasPlotAccumulator

    w0 = time.perf_counter()
    acc = GwasPlotAccumulator(chrom, pos, n_ph)
    t_add = c_add = 0.0
    for b, s in enumerate(range(0, m, block)):
        p = block_p(b, min(block, m - s), n_ph)
        w, c = time.perf_counter(), time.process_time()
        acc.add(np.arange(s, s + len(p)), p)
        t_add += time.perf_counter() - w
        c_add += time.process_time() - c
    w1, c1 = time.perf_counter(), time.process_time()
    for j in range(n_ph):
        acc.manhattan(j, out / f"new_{j}.manhattan.png", title=f"edf_{j + 1:03d}")
        acc.qq(j, out / f"new_{j}.qq.png", title=f"edf_{j + 1:03d}")
    acc.manhattan_min_p(out / "new_min.manhattan.png", title=f"minimum p across {n_ph} phenotypes",
                        study_wide=5e-8 / n_ph)
    w2, c2 = time.perf_counter(), time.process_time()
    n_plots = 2 * n_ph + 1
    return {"init_s": w1 - w0 - t_add, "add_s": t_add, "add_cpu_s": c_add,
            "add_values_per_s": m * n_ph / t_add, "plots": n_plots, "plot_s": w2 - w1, "plot_cpu_s": c2 - c1,
            "ms_per_plot": (w2 - w1) / n_plots * 1e3, "cpu_ms_per_plot": (c2 - c1) / n_plots * 1e3,
            "state_nbytes": acc.state_nbytes(),
            "png_bytes_mean": float(np.mean([f.stat().st_size for f in out.glob("new_*.png")]))}


def run_old(old, chrom, pos, m: int, n_ph: int, block: int, n_old: int, out: Path) -> dict:
    from edfgen.kernels.association import lambda_gc

    manhattan_plot, qq_plot = old
    base = pd.DataFrame({"chromosome": chrom, "base_pair_location": pos})
    wall = cpu = 0.0
    for j in range(n_old):
        p = column(j, m, block, n_ph)
        lam = lambda_gc(p)
        w, c = time.perf_counter(), time.process_time()
        manhattan_plot(base.assign(p_value=p), out / f"old_{j}.manhattan.png", title=f"edf_{j + 1:03d}")
        qq_plot(p, out / f"old_{j}.qq.png", title=f"edf_{j + 1:03d}", lambda_gc=lam)
        wall += time.perf_counter() - w
        cpu += time.process_time() - c
    n_plots = 2 * n_old
    return {"plots": n_plots, "ms_per_plot": wall / n_plots * 1e3, "cpu_ms_per_plot": cpu / n_plots * 1e3,
            "png_bytes_mean": float(np.mean([f.stat().st_size for f in out.glob("old_*.png")]))}


NO_OLD = {"plots": 0, "ms_per_plot": float("nan"), "cpu_ms_per_plot": float("nan"), "png_bytes_mean": float("nan")}


def peak(fn) -> float:
    """Peak traced memory (MB) while ``fn`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--phenotypes", type=int, default=64)
    ap.add_argument("--old-phenotypes", type=int, default=2)
    ap.add_argument("--block", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--old-commit", default="7c8a04d")
    args = ap.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    try:
        old = old_functions(args.old_commit)
    except (OSError, subprocess.CalledProcessError) as e:  # no git, or a shallow clone without that commit
        print(f"former functions unavailable ({e}); measuring the accumulator only")
        old = None
    n_ph = args.phenotypes
    res: dict = {"phenotypes": n_ph, "block": args.block, "old_commit": args.old_commit, "cpu_count": os.cpu_count(),
                 "load_avg_start": os.getloadavg(), "by_variants": {}}
    with tempfile.TemporaryDirectory() as d:
        out = Path(d)
        run_new(*genome(10_000), 10_000, 2, args.block, out)  # warm-up: imports, fonts
        if old:
            run_old(old, *genome(10_000), 10_000, 2, args.block, 1, out)
        for m in args.variants:
            chrom, pos = genome(m)
            reps = []
            for _ in range(args.reps):  # alternate old and new
                o = run_old(old, chrom, pos, m, n_ph, args.block, args.old_phenotypes, out) if old else NO_OLD
                n = run_new(chrom, pos, m, n_ph, args.block, out)
                reps.append({"old": o, "new": n, "load_avg": os.getloadavg()[0]})
            best = {k: min((r[k] for r in reps), key=lambda x: x["ms_per_plot"] if old or k == "new" else 0)
                    for k in ("old", "new")}
            mem_old = peak(lambda: run_old(old, chrom, pos, m, 1, args.block, 1, out)) if old else float("nan")
            mem_new = peak(lambda: run_new(chrom, pos, m, n_ph, args.block, out))
            res["by_variants"][str(m)] = {
                "reps": reps, "old_ms_per_plot": best["old"]["ms_per_plot"],
                "new_ms_per_plot": best["new"]["ms_per_plot"],
                "old_cpu_ms_per_plot": best["old"]["cpu_ms_per_plot"],
                "new_cpu_ms_per_plot": best["new"]["cpu_ms_per_plot"],
                "wall_ratio_old_over_new": best["old"]["ms_per_plot"] / best["new"]["ms_per_plot"],
                "cpu_ratio_old_over_new": best["old"]["cpu_ms_per_plot"] / best["new"]["cpu_ms_per_plot"],
                "new_add_values_per_s": best["new"]["add_values_per_s"], "new_add_s": best["new"]["add_s"],
                "new_state_nbytes": best["new"]["state_nbytes"],
                "old_peak_mb_one_phenotype_plots": mem_old,
                "old_p_matrix_mb": m * n_ph * 8 / 1e6,
                "new_peak_mb_add_and_all_plots": mem_new,
                "png_bytes_mean": {"old": best["old"]["png_bytes_mean"], "new": best["new"]["png_bytes_mean"]}}
            print(m, json.dumps({k: v for k, v in res["by_variants"][str(m)].items() if k != "reps"}), flush=True)
    res["load_avg_end"] = os.getloadavg()
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "gwas_plots.json").write_text(json.dumps(res, indent=1))
    la = res["load_avg_start"][0], res["load_avg_end"][0]
    lines = [f"# GWAS plots: former manhattan_plot + qq_plot vs GwasPlotAccumulator ({n_ph} phenotypes, "
             f"blocks of {args.block} rows; load average {la[0]:.1f} -> {la[1]:.1f} on {os.cpu_count()} cores)", "",
             "| variants | old ms/plot (wall / CPU) | new ms/plot (wall / CPU) | ratio old/new (wall / CPU) | "
             "new add() values/s | old peak MB (1 phenotype's plots + [M,P] p matrix) | "
             "new peak MB (add + all plots) | new state MB (per-phenotype / kept / layout) |",
             "|---|---|---|---|---|---|---|---|"]
    for m, r in res["by_variants"].items():
        s = r["new_state_nbytes"]
        lines.append(f"| {int(m):,} | {r['old_ms_per_plot']:.0f} / {r['old_cpu_ms_per_plot']:.0f} | "
                     f"{r['new_ms_per_plot']:.1f} / {r['new_cpu_ms_per_plot']:.1f} | "
                     f"{r['wall_ratio_old_over_new']:.0f} / {r['cpu_ratio_old_over_new']:.0f} | "
                     f"{r['new_add_values_per_s'] / 1e6:.0f} M | "
                     f"{r['old_peak_mb_one_phenotype_plots']:.0f} + {r['old_p_matrix_mb']:.0f} | "
                     f"{r['new_peak_mb_add_and_all_plots']:.0f} | "
                     f"{s['per_phenotype'] / 1e6:.1f} / {s['kept'] / 1e6:.2f} / {s['layout'] / 1e6:.1f} |")
    lines += ["", f"Old: {args.old_phenotypes} phenotypes (Manhattan + QQ each) per repetition, from the full column, "
              f"as the former `gwas._write_outputs` (functions from commit {args.old_commit}); new: all "
              f"{2 * n_ph + 1} plots ({n_ph} Manhattan, {n_ph} QQ, the minimum-p Manhattan) from the accumulator. "
              f"Best of {args.reps} alternating repetitions; CPU = user+sys of this process. Peak memory: tracemalloc "
              "(numpy and Python allocations; matplotlib's C++ buffers are not traced)."]
    (HERE / "results" / "gwas_plots.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
