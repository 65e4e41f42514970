"""Benchmark: small GWAS runs (N = 2,000 x 30k variants) against plink2, and what edfgen's fixed costs are.

In one run, on the same data (``gwas_vs_plink2.make_data``: two populations, 22 chromosomes, covariates
age, sex, centre), each case repeated ``--repeats`` times with the tools interleaved (plink2, edfgen, the
``--baseline`` edfgen tree), medians reported:

* quantitative phenotypes, 1 / 8 / 64 at once, ``.bed`` and BGEN 1.2 8-bit input: ``edfgen gwas`` (default
  options, plots included) vs ``plink2 --glm`` (same QC);
* ``--binary`` with 8 diseases (case rate 10-30 %): ``edfgen gwas --binary`` (fast engine, Wald) vs
  ``plink2 --glm firth-fallback``;
* the fixed costs of one edfgen run: ``python -c pass``, ``import edfgen.cli.genetics`` (what ``edfgen gwas``
  imports before it starts), the same 1-phenotype run with ``--no-plots``, and edfgen's own split (QC,
  association, export) from ``manifest.json``.

Both edfgen trees run from compiled bytecode (``PYTHONPYCACHEPREFIX`` under the work folder, warmed once, and
``PYTHONDONTWRITEBYTECODE`` unset for the children), as an installed package does; without it every run
compiles edfgen's modules again (~0.1 CPU-s measured here).

Usage::

    git archive REV edfgen | tar -x -C /tmp/base      # the tree before a change
    python benchmarks/gwas_small.py [--n 2000 --m 30000 --repeats 3 --baseline /tmp/base]

Writes ``benchmarks/results/gwas_small.json`` and ``.md`` (``--tag T``: ``gwas_small_T.*``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _measure import timed  # noqa: E402
import gwas_vs_plink2  # noqa: E402

QC2 = ["--maf", "0.01", "--geno", "0.05", "--hwe", "1e-6", "--mind", "0.05"]


def small_data(root, n: int, m: int) -> Path:
    """The small cohort (``gwas_vs_plink2.make_data``: N samples x M variants, 64 phenotypes) under ``root``."""
    work = Path(root) / f"n{n}_m{m}_p64_miss0"
    gwas_vs_plink2.make_data(work, n, m, 64)
    return work


def bytecode_env(root, threads: int, pythonpath: str) -> dict:
    """The environment of the timed runs: ``threads`` BLAS threads and bytecode compiled once under ``root``
    (``PYTHONPYCACHEPREFIX``), as an installed package has it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               PYTHONPATH=pythonpath, PYTHONPYCACHEPREFIX=str(Path(root) / "pycache"))
    return env


def binary_outcomes(work: Path, k: int = 8, seed: int = 3) -> None:
    """``outcomes.tsv`` (0/1) and ``outcomes.p2`` (plink2's 1 = control, 2 = case) from the phenotypes."""
    ph = pd.read_csv(work / "pheno.tsv", sep="\t")
    rng = np.random.default_rng(seed)
    out = pd.DataFrame({"IID": ph["IID"]})
    for j in range(k):
        y = ph[f"edf_{j + 1:03d}"].to_numpy() + rng.normal(0, 1, len(ph))
        q = np.nanquantile(y, 1 - (0.1 + 0.2 * j / max(k - 1, 1)))
        out[f"d{j + 1}"] = np.where(np.isnan(y), np.nan, (y > q).astype(float))
    out.to_csv(work / "outcomes.tsv", sep="\t", index=False, na_rep="NA")
    p2 = out.copy()
    p2[p2.columns[1:]] = p2[p2.columns[1:]] + 1
    p2.insert(0, "#FID", p2["IID"])
    p2.to_csv(work / "outcomes.p2", sep="\t", index=False, na_rep="NA", float_format="%.0f")


def edfgen_cmd(tree: Path | None) -> list[str]:
    """``edfgen`` from the repository (``tree`` None) or another package tree (put first on sys.path)."""
    pre = f"import sys; sys.path.insert(0, {str(tree)!r}); " if tree else ""
    return [sys.executable, "-c", pre + "from edfgen.cli import main; main()"]


def commit_of(tree: Path) -> str:
    """The tree's commit: ``git rev-parse``, or the ``COMMIT`` file of a ``git archive`` copy."""
    if (tree / "COMMIT").exists():
        return (tree / "COMMIT").read_text().strip()
    return subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip()


def median_of(runs: list[dict], key: str) -> float:
    return round(float(np.median([r[key] for r in runs])), 2)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--m", type=int, default=30000)
    ap.add_argument("--p", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--formats", nargs="*", default=["bed", "bgen"], choices=["bed", "bgen"],
                    help="quantitative runs on these inputs (none: only the binary run and the fixed costs)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--binary-repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline", default=None, help="another edfgen package tree timed in the same runs")
    ap.add_argument("--skip-binary", action="store_true")
    ap.add_argument("--skip-fixed", action="store_true", help="leave out the fixed-cost runs")
    ap.add_argument("--binary-without-baseline", action="store_true",
                    help="time the baseline tree on the quantitative runs only (its binary run is the long one)")
    ap.add_argument("--tag", default="")
    ap.add_argument("--work", default=os.environ.get("EDFGEN_BENCH_DIR", "/tmp/edfgen-bench"))
    ap.add_argument("--results", default=str(HERE / "results"))
    a = ap.parse_args(argv)
    work = small_data(a.work, a.n, a.m)
    binary_outcomes(work)
    if "bgen" in a.formats and not (work / "g.bgen").exists():
        subprocess.run(["plink2", "--bfile", str(work / "g"), "--export", "bgen-1.2", "bits=8", "ref-first",
                        "--threads", str(a.threads), "--out", str(work / "g"), "--silent"], check=True)
    env = bytecode_env(a.work, a.threads, str(REPO))
    trees = {"edfgen": None, **({"baseline": Path(a.baseline)} if a.baseline else {})}
    for tree in trees.values():  # compile the bytecode once (as an installed package has it)
        subprocess.run([*edfgen_cmd(tree), "gwas", "--help"], env=env, capture_output=True, check=True)
    geno = {"bed": (["--bfile", str(work / "g")], ["--bfile", str(work / "g")]),
            "bgen": (["--bgen", str(work / "g.bgen"), "ref-first", "--sample", str(work / "g.sample")],
                     ["--bgen", str(work / "g.bgen"), "--sample", str(work / "g.sample")])}

    def case(p2_args: list[str], e_args: list[str], repeats: int, out: Path, binary: bool = False) -> dict:
        used = {k: v for k, v in trees.items() if not (binary and a.binary_without_baseline and k == "baseline")}
        runs = {"plink2": [], **{k: [] for k in used}}
        for _ in range(repeats):
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            runs["plink2"].append(timed(["plink2", *p2_args, "--threads", str(a.threads), "--memory", "4000",
                                         "--out", str(out / "p2"), "--silent"]))
            for name, tree in used.items():
                runs[name].append(timed([*edfgen_cmd(tree), "gwas", "-q", *e_args, "--threads", str(a.threads),
                                         "--force", "--out", str(out / name)], env=env))
        row = {f"{k}_{m}": median_of(v, f"{m}_s") for k, v in runs.items() for m in ("wall", "cpu")}
        for k in used:
            row[f"{k}_ratio"] = round(row[f"{k}_wall"] / row["plink2_wall"], 2)
            row[f"{k}_cpu_ratio"] = round(row[f"{k}_cpu"] / row["plink2_cpu"], 2)
        row["edfgen_timings_s"] = json.loads((out / "edfgen" / "manifest.json").read_text())["extra"]["timings_s"]
        row["load_average_1min"] = round(os.getloadavg()[0], 1)
        row["repeats"] = repeats
        return row

    quant, binary, fixed = [], None, {}
    res = Path(a.results)
    res.mkdir(parents=True, exist_ok=True)
    stem = "gwas_small" + (f"_{a.tag}" if a.tag else "")

    def save(done: bool) -> dict:
        """Results so far (a long run under load keeps what it measured); ``done`` False marks them partial."""
        result = dict(n=a.n, m=a.m, threads=a.threads, repeats=a.repeats, baseline=a.baseline, quantitative=quant,
                      binary=binary, fixed_costs=fixed or None, complete=done,
                      commit=commit_of(REPO), cpu_count=os.cpu_count())
        (res / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
        (res / f"{stem}.md").write_text(markdown(result, a) + "\n")
        return result

    for fmt in a.formats:
        g2, ge = geno[fmt]
        for p in a.p:
            out = work / f"small_{fmt}_p{p}"
            row = case([*g2, "--pheno", str(work / "pheno.p2"), "--pheno-name",
                        ",".join(f"edf_{j + 1:03d}" for j in range(p)), "--covar", str(work / "covar.p2"), "--glm",
                        "hide-covar", *QC2],
                       [*ge, "--pheno", str(work / "pheno.tsv"), "--pheno-cols", f"edf_001..edf_{p:03d}", "--covar",
                        str(work / "covar.tsv"), "--transform", "none"], a.repeats, out)
            ours = pd.read_csv(out / "edfgen" / "edf_001.tsv.gz", sep="\t")
            ref = pd.read_csv(out / "p2.edf_001.glm.linear", sep="\t")
            mm = ours.merge(ref, left_on="variant_id", right_on="ID")
            sign = np.where(mm["effect_allele"] == mm["A1"], 1.0, -1.0)
            row.update(format=fmt, phenotypes=p, variants_compared=len(mm),
                       beta_max_rel_diff=float((np.abs(mm["beta"] - sign * mm["BETA"]) / np.abs(mm["BETA"])).max()))
            quant.append(row)
            print(row, flush=True)
            save(False)
            shutil.rmtree(out, ignore_errors=True)
    if not a.skip_binary:
        out = work / "small_binary"
        binary = case(["--bfile", str(work / "g"), "--pheno", str(work / "outcomes.p2"), "--covar",
                       str(work / "covar.p2"), "--glm", "firth-fallback", "hide-covar", *QC2],
                      ["--bfile", str(work / "g"), "--pheno", str(work / "outcomes.tsv"), "--covar",
                       str(work / "covar.tsv"), "--binary"], a.binary_repeats, out, binary=True)
        worst, firth_rows = 0.0, 0
        for j in range(8):
            ours = pd.read_csv(out / "edfgen" / f"d{j + 1}.tsv.gz", sep="\t")
            ref = pd.read_csv(out / f"p2.d{j + 1}.glm.logistic.hybrid", sep="\t")
            firth_rows += int((ref["FIRTH?"] == "Y").sum())
            mm = ours.merge(ref[ref["FIRTH?"] == "N"], left_on="variant_id", right_on="ID")
            sign = np.where(mm["effect_allele"] == mm["A1"], 1.0, -1.0)
            worst = max(worst, float(np.abs(mm["beta"] - sign * np.log(mm["OR"])).max()))
        binary.update(diseases=8, max_abs_log_or_diff_non_firth=worst, plink2_firth_rows=firth_rows)
        print(binary, flush=True)
        shutil.rmtree(out, ignore_errors=True)
        save(False)
    # fixed costs, each tree
    q1 = ["--bfile", str(work / "g"), "--pheno", str(work / "pheno.tsv"), "--pheno-cols", "edf_001", "--covar",
          str(work / "covar.tsv"), "--transform", "none", "--threads", str(a.threads), "--force"]
    for name, tree in ({} if a.skip_fixed else trees).items():
        pre = f"import sys; sys.path.insert(0, {str(tree)!r}); " if tree else ""
        f = {"python_start": [], "import_numeric": [], "import_plotting": [], "import_gwas_command": [],
             "no_plots": [], "plots": []}
        for _ in range(a.repeats):
            f["python_start"].append(timed([sys.executable, "-c", "pass"], env=env))
            f["import_numeric"].append(timed([sys.executable, "-c", "import numpy, pandas, scipy.special"], env=env))
            f["import_plotting"].append(timed([sys.executable, "-c", "import matplotlib.figure, "
                                               "matplotlib.backends.backend_agg"], env=env))
            f["import_gwas_command"].append(timed([sys.executable, "-c", pre + "import edfgen.cli.genetics"], env=env))
            f["no_plots"].append(timed([*edfgen_cmd(tree), "gwas", "-q", *q1, "--no-plots",
                                        "--out", str(work / f"fixed_{name}_np")], env=env))
            f["plots"].append(timed([*edfgen_cmd(tree), "gwas", "-q", *q1, "--out", str(work / f"fixed_{name}")],
                                    env=env))
        fixed[name] = {f"{k}_{m}": median_of(v, f"{m}_s") for k, v in f.items() for m in ("wall", "cpu")}
        fixed[name]["timings_s"] = json.loads((work / f"fixed_{name}" / "manifest.json").read_text())["extra"][
            "timings_s"]
        for d in (f"fixed_{name}_np", f"fixed_{name}"):
            shutil.rmtree(work / d, ignore_errors=True)
    if fixed:
        fixed["load_average_1min"] = round(os.getloadavg()[0], 1)
    print(fixed, flush=True)
    return save(True)


def markdown(r: dict, a) -> str:
    base = r["baseline"] is not None
    md = [f"# Small GWAS runs vs plink2 (N = {r['n']:,}, {r['m']:,} variants, {r['threads']} threads)", "",
          f"Measured at commit {r['commit']}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, on a shared "
          f"2-core machine (1-min load average in the tables). Medians of {r['repeats']} interleaved runs "
          f"(binary: {a.binary_repeats}); edfgen with its default options (plots included), from compiled bytecode."
          + (f" Baseline: the tree in `{r['baseline']}` (before this change), timed in the same runs." if base else "")
          + ("" if r["complete"] else " **Partial: the run was still going when this was written.**"),
          "", "| input | phenotypes | plink2 wall s | edfgen wall s | **wall ratio** | CPU ratio |"
          + (" baseline wall s | baseline wall ratio | baseline CPU ratio |" if base else "") + " load |",
          "|---|---|---|---|---|---|" + ("---|---|---|" if base else "") + "---|"]
    rows = [(q["format"], q["phenotypes"], q) for q in r["quantitative"]]
    if r["binary"]:
        rows.append(("bed, `--binary` vs `--glm firth-fallback`", 8, r["binary"]))
    for fmt, p, q in rows:
        md.append(f"| {fmt} | {p} | {q['plink2_wall']} | {q['edfgen_wall']} | **{q['edfgen_ratio']}** | "
                  f"{q['edfgen_cpu_ratio']} |" + ((f" {q['baseline_wall']} | {q['baseline_ratio']} | "
                                                    f"{q['baseline_cpu_ratio']} |" if "baseline_wall" in q
                                                    else " not run | | |") if base else "")
                  + f" {q['load_average_1min']} |")
    if r["quantitative"]:
        md += ["", "Agreement, first phenotype: max relative |Δβ| vs plink2 " + ", ".join(
            f"{q['format']} {q['phenotypes']}: {q['beta_max_rel_diff']:.2g}" for q in r["quantitative"]) + "."]
    if r["binary"]:
        b = r["binary"]
        md += ["", f"Binary: max |Δ log OR| vs plink2 on its non-Firth rows {b['max_abs_log_or_diff_non_firth']:.2g} "
               f"(plink2 fitted {b['plink2_firth_rows']} rows with Firth; edfgen leaves fits that fail out of its "
               f"files); edfgen's split {b['edfgen_timings_s']}."]
    f = r["fixed_costs"]
    if not f:
        return "\n".join(md)
    md += ["", "## Fixed costs of one run (1 phenotype, .bed), medians", "",
           "| part | edfgen wall s | edfgen CPU s |" + (" baseline wall s | baseline CPU s |" if base else ""),
           "|---|---|---|" + ("---|---|" if base else "")]
    labels = {"python_start": "`python -c pass`",
              "import_numeric": "`import numpy, pandas, scipy.special` (incl. Python start)",
              "import_plotting": "`import matplotlib.figure, matplotlib.backends.backend_agg` (incl. Python start)",
              "import_gwas_command": "`import edfgen.cli.genetics` (incl. Python start)",
              "no_plots": "whole run, `--no-plots`", "plots": "whole run, default (plots)"}
    for k, lab in labels.items():
        if k + "_wall" not in f["edfgen"]:
            continue
        md.append(f"| {lab} | {f['edfgen'][k + '_wall']} | {f['edfgen'][k + '_cpu']} |"
                  + (f" {f['baseline'][k + '_wall']} | {f['baseline'][k + '_cpu']} |" if base else ""))
    md += ["", f"edfgen's own split of the default run: {f['edfgen']['timings_s']}"
           + (f"; baseline {f['baseline']['timings_s']}" if base else "") + f" (load {f['load_average_1min']})."]
    return "\n".join(md)


if __name__ == "__main__":
    main()
