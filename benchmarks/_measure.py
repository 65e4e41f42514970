"""Shared set-up of the benchmarks: measuring a child command (wall time, CPU time, peak memory), running
``python -m edfgen`` on this tree, and the simulated cohort + ``edfgen gwas`` that several benchmarks start from."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` under /usr/bin/time -v: wall s, user+sys s, peak RSS MiB (of that child alone)."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    err = proc.stderr
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", err).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", err).group(1))
    return {"wall_s": round(wall, 2), "cpu_s": round(user + sys_, 2), "peak_rss_mib": round(rss_kb / 1024, 1),
            "stdout_tail": proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []}


def edfgen_env() -> dict:
    """The environment that runs this tree's edfgen (``PYTHONPATH`` = the repository root)."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def run_edfgen(*args, measure: bool = False) -> dict | float:
    """``python -m edfgen ARGS`` of this tree: its :func:`timed` figures with ``measure``, else wall seconds
    (output captured; a failure raises with its tail)."""
    cmd = [sys.executable, "-m", "edfgen", *map(str, args)]
    if measure:
        return timed(cmd, env=edfgen_env())
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=edfgen_env())
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - t0


def cohort_arguments(ap: argparse.ArgumentParser, *, n: int, seed: int, chromosomes: int = 3,
                     variants: int = 3000) -> argparse.ArgumentParser:
    """The options of a benchmark on a simulated cohort: ``--n --seed --chromosomes --variants --work``."""
    ap.add_argument("--n", type=int, default=n)
    ap.add_argument("--seed", type=int, default=seed)
    ap.add_argument("--chromosomes", type=int, default=chromosomes)
    ap.add_argument("--variants", type=int, default=variants, help="variants per chromosome")
    ap.add_argument("--work", default=None, help="work folder (its cohort/ and gwas/ are reused when present)")
    return ap


def simulated_gwas(a: argparse.Namespace, prefix: str, *, gwas: bool = True) -> tuple[Path, Path]:
    """``(work, cohort)``: a cohort simulated once in ``WORK/cohort`` (:func:`cohort_arguments`' size and seed,
    no ECGs, effect scale 1) and, with ``gwas``, ``edfgen gwas`` of its 9 physiology traits (age, sex covariates)
    in ``WORK/gwas``; both are kept and reused when present."""
    from edfgen.simulate.cohort import simulate_cohort

    work = Path(a.work or tempfile.mkdtemp(prefix=prefix))
    cohort = work / "cohort"
    if not (cohort / "truth.json").exists():
        simulate_cohort(cohort, n=a.n, seed=a.seed, chromosomes=a.chromosomes, variants_per_chromosome=a.variants,
                        effect_scale=1.0, ecg=False)
    if gwas and not (work / "gwas" / "manifest.json").exists():
        run_edfgen("gwas", "--bfile", cohort / "genotypes", "--pheno", cohort / "physiology.tsv", "--covar",
                   cohort / "covariates.tsv", "--covariates", "age,sex", "--out", work / "gwas", "--no-plots")
    return work, cohort


def write_results(name: str, res: dict, md: list[str]) -> None:
    """``benchmarks/results/NAME.json`` (``res``) and ``NAME.md`` (the lines ``md``), and the markdown printed."""
    import json

    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(res, indent=1, default=float))
    (results / f"{name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
