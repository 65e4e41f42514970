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


def timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None, *, warnings: bool = False) -> dict:
    """Run ``cmd`` under /usr/bin/time -v: wall s, user+sys s, peak RSS MiB (of that child alone). ``cwd``: run
    it there (``python -m`` looks in its working folder first, before ``PYTHONPATH``). ``warnings``: also the
    number of edfgen WARNING lines it logged (``warnings``)."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env, cwd=cwd)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    err = proc.stderr
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", err).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", err).group(1))
    out = {"wall_s": round(wall, 2), "cpu_s": round(user + sys_, 2), "peak_rss_mib": round(rss_kb / 1024, 1),
           "stdout_tail": proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []}
    if warnings:
        out["warnings"] = sum(" WARNING " in line for line in err.splitlines())
    return out


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
                     variants: int = 3000, seeds: list[int] | None = None, families: int | None = None,
                     family_structure: str | None = None) -> argparse.ArgumentParser:
    """The options of a benchmark on a simulated cohort: ``--n --seed --chromosomes --variants --work``;
    with ``seeds`` ``--seeds`` (one cohort per seed, ``seed`` unused) instead of ``--seed``; with ``families`` also ``--families`` and
    ``--family-structure`` (``edfgen simulate``'s relatives)."""
    ap.add_argument("--n", type=int, default=n)
    if seeds is None:
        ap.add_argument("--seed", type=int, default=seed)
    else:
        ap.add_argument("--seeds", type=int, nargs="+", default=seeds, help="one cohort per seed")
    ap.add_argument("--chromosomes", type=int, default=chromosomes)
    ap.add_argument("--variants", type=int, default=variants, help="variants per chromosome")
    if families is not None:
        ap.add_argument("--families", type=int, default=families)
        ap.add_argument("--family-structure", default=family_structure or "sibs2-4",
                        help="edfgen simulate --family-structure")
    ap.add_argument("--work", default=None, help="work folder (its cohort/ and gwas/ are reused when present)")
    return ap


def cohort_kwargs(a: argparse.Namespace, seed: int | None = None) -> dict:
    """``simulate_cohort`` keywords of :func:`cohort_arguments`' options (``seed`` instead of ``a.seed``):
    no ECGs, effect scale 1, families when the options have them."""
    kw = dict(n=a.n, seed=a.seed if seed is None else seed, chromosomes=a.chromosomes,
              variants_per_chromosome=a.variants, effect_scale=1.0, ecg=False)
    if getattr(a, "families", None) is not None:
        kw.update(families=a.families, family_structure=a.family_structure)
    return kw


def simulated_cohort(a: argparse.Namespace, folder: Path, seed: int | None = None) -> bool:
    """The cohort of :func:`cohort_kwargs` in ``folder``, simulated unless the folder already holds one of the
    same parameters (its ``manifest.json``); True when it was (re)simulated."""
    import json

    from edfgen.simulate.cohort import simulate_cohort

    kw = cohort_kwargs(a, seed)
    try:
        params = json.loads((Path(folder) / "manifest.json").read_text())["parameters"]
        if all(params.get(k) == v for k, v in kw.items()) and (Path(folder) / "truth.json").exists():
            return False
    except (OSError, ValueError, KeyError):
        pass
    simulate_cohort(folder, force=True, **kw)
    return True


def simulated_gwas(a: argparse.Namespace, prefix: str, *, gwas: bool = True) -> tuple[Path, Path]:
    """``(work, cohort)``: a cohort simulated once in ``WORK/cohort`` (:func:`simulated_cohort`) and, with
    ``gwas``, ``edfgen gwas`` of its 9 physiology traits (age, sex covariates) in ``WORK/gwas``; both are kept
    and reused when present (the association is rerun when the cohort was resimulated)."""
    work = Path(a.work or tempfile.mkdtemp(prefix=prefix))
    cohort = work / "cohort"
    fresh = simulated_cohort(a, cohort)
    if gwas and (fresh or not (work / "gwas" / "manifest.json").exists()):
        run_edfgen("gwas", "--bfile", cohort / "genotypes", "--pheno", cohort / "physiology.tsv", "--covar",
                   cohort / "covariates.tsv", "--covariates", "age,sex", "--out", work / "gwas", "--no-plots",
                   "--force")
    return work, cohort


def before_ref(before: str | None) -> str:
    """The commit of a benchmark's 'before' tree: ``before`` (``--before``) when given, else this branch's merge
    base with main."""
    return before or subprocess.run(["git", "-C", str(ROOT), "merge-base", "HEAD", "main"], capture_output=True,
                                    text=True, check=True).stdout.strip()


def before_tree(work: Path, ref: str) -> Path:
    """The ``edfgen`` package of commit ``ref`` (``git archive``) extracted under ``work/before_src``: the
    'before' code a benchmark times beside this tree."""
    before = work / "before_src"
    if not (before / "edfgen").exists():
        before.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "edfgen"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
    return before


def load_module(path: Path, name: str):
    """The module in file ``path`` imported as ``name`` (a 'before' tree's module beside this tree's)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod          # (its dataclasses look their module up)
    spec.loader.exec_module(mod)
    return mod


def before_and_after(ref: str, module: str, prefix: str) -> dict:
    """``{"before": module of commit ref, "after": this tree's}`` for the file ``module`` (``edfgen/kernels/qc.py``),
    the 'before' tree extracted into a fresh temporary folder named ``prefix``..."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    name = Path(module).stem
    return {"before": load_module(before_tree(work, ref) / module, f"{name}_before"),
            "after": load_module(ROOT / module, f"{name}_after")}


def run_record(script: str, ref: str) -> dict:
    """What a before/after benchmark records of its run: command, this tree's commit, the 'before' ``ref``,
    date (UTC) and the 1-minute load average."""
    import datetime

    return {"command": f"python benchmarks/{script} " + " ".join(sys.argv[1:]),
            "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                     text=True).stdout.strip(), "ref": ref,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "load_1min": os.getloadavg()[0]}


def write_results(name: str, res: dict, md: list[str]) -> None:
    """``benchmarks/results/NAME.json`` (``res``) and ``NAME.md`` (the lines ``md``), and the markdown printed."""
    import json

    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / f"{name}.json").write_text(json.dumps(res, indent=1, default=float))
    (results / f"{name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
