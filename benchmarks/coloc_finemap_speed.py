"""``edfgen coloc`` and ``edfgen finemap`` before and after session 38's speed work (s38perf): CPU seconds, wall
seconds and peak memory of the tree before (``--before``, default the branch's merge base with main, extracted by
``git archive``) and this tree, run interleaved ``--repeats`` times (default 3; medians reported) on the same
inputs, and whether their outputs (``coloc.tsv``; ``credible_sets.tsv``, ``pip.tsv``, ``ld_check.tsv``) and
warnings are the same.

Inputs: a finished ``edfgen demo`` folder (``--demo-dir DEMO``: its ``gwas/``, ``gwas_outcomes/``,
``clump/loci.tsv`` and ``cohort/genotypes``), or by default a smaller one made here: a simulated cohort
(``--n``, ``--chromosomes``, ``--variants``), ``edfgen gwas`` of its 9 physiology traits, each copied
``--copies`` times under other names (exposures, as the demo's 128 EDFs of one GWAS share their variants), of its
8 outcomes (``--binary``), and ``edfgen clump`` of the exposures for the loci. Writes
``benchmarks/results/coloc_finemap_speed[_TAG].{md,json}``.

    OMP_NUM_THREADS=1 python benchmarks/coloc_finemap_speed.py [--demo-dir /tmp/demo] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import (ROOT, before_ref, before_tree, cohort_arguments, run_edfgen, run_record,  # noqa: E402
                      simulated_gwas, timed, write_results)
from mr_speed import same_tables  # noqa: E402


def demo_inputs(a: argparse.Namespace) -> dict:
    """``{exposure, outcome, loci, bfile}`` of ``--demo-dir``, else of a small simulated study made in ``--work``."""
    if a.demo_dir:
        d = Path(a.demo_dir)
        return {"exposure": d / "gwas", "outcome": d / "gwas_outcomes", "loci": d / "clump" / "loci.tsv",
                "bfile": d / "cohort" / "genotypes"}
    work, cohort = simulated_gwas(a, "coloc_finemap_speed_")
    exp = work / "exposures"
    if not (work / "clump" / "loci.tsv").exists():
        exp.mkdir(exist_ok=True)
        for f in sorted((work / "gwas").glob("*.tsv.gz")):
            stem = f.name.removesuffix(".tsv.gz")
            for k in range(a.copies):
                for suffix in (".tsv.gz", ".tsv.gz.tbi", ".tsv.gz-meta.yaml"):
                    if (work / "gwas" / f"{stem}{suffix}").exists():
                        shutil.copy(work / "gwas" / f"{stem}{suffix}", exp / f"{stem}_{k}{suffix}")
        run_edfgen("gwas", "--bfile", cohort / "genotypes", "--pheno", cohort / "outcomes.tsv", "--binary",
                   "--covar", cohort / "covariates.tsv", "--covariates", "age,sex", "--out", work / "outcomes",
                   "--no-plots", "--force")
        run_edfgen("clump", "--sumstats", exp, "--bfile", cohort / "genotypes", "--out", work / "clump", "--force")
    return {"exposure": exp, "outcome": work / "outcomes", "loci": work / "clump" / "loci.tsv",
            "bfile": cohort / "genotypes"}


def commands(inp: dict, out: Path) -> dict[str, list[str]]:
    """The two commands, writing under ``out``."""
    common = ["--bfile", str(inp["bfile"]), "--loci", str(inp["loci"]), "--progress", "none", "--force"]
    return {"coloc": ["coloc", "--exposure", str(inp["exposure"]), "--outcome", str(inp["outcome"]), *common,
                      "--out", str(out / "coloc")],
            "finemap": ["finemap", "--sumstats", str(inp["exposure"]), *common, "--out", str(out / "finemap")]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cohort_arguments(ap, n=3000, seed=5, chromosomes=3, variants=3000)
    ap.add_argument("--copies", type=int, default=8, help="copies of each simulated exposure GWAS")
    ap.add_argument("--demo-dir", default=None, help="a finished edfgen demo folder instead of simulated inputs")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", default=None, help="commit of the 'before' tree (default: merge base with main)")
    ap.add_argument("--tag", default="", help="results named coloc_finemap_speed_TAG")
    a = ap.parse_args()
    a.work = a.work or tempfile.mkdtemp(prefix="coloc_finemap_speed_")
    ref = before_ref(a.before)
    inp = demo_inputs(a)
    work = Path(a.work)
    trees = {"before": before_tree(work, ref), "after": ROOT}
    res = {"runs": {}, "same": {}, "warnings": {}, "inputs": {k: str(v) for k, v in inp.items()},
           **run_record("coloc_finemap_speed.py", ref)}
    for rep in range(a.repeats):
        for tree, path in trees.items():
            for cmd, args in commands(inp, work / tree).items():
                env = {**os.environ, "PYTHONPATH": str(path), "OMP_NUM_THREADS": "1"}
                res["runs"].setdefault(f"{cmd}_{tree}", []).append(
                    timed([sys.executable, "-m", "edfgen", *args], env=env, cwd=path, warnings=True))
    for cmd in ("coloc", "finemap"):
        res["same"][cmd] = same_tables(work / "before" / cmd, work / "after" / cmd)
        res["warnings"][cmd] = {t: sorted({x["warnings"] for x in res["runs"][f"{cmd}_{t}"]}) for t in trees}
    res["median"] = {k: {m: statistics.median(x[m] for x in v) for m in ("cpu_s", "wall_s", "peak_rss_mib")}
                     for k, v in res["runs"].items()}
    r = res["median"]
    res["cpu_ratio"] = {c: r[f"{c}_before"]["cpu_s"] / r[f"{c}_after"]["cpu_s"] for c in ("coloc", "finemap")}
    md = ["# edfgen coloc and finemap speed (s38perf)", "",
          f"Command: `{res['command']}`; commit {res['commit']} (after: working tree) vs {ref[:7]} (before); "
          f"{res['date']}; 1-minute load average {res['load_1min']:.1f} on 2 shared cores (wall seconds are noisy, "
          f"CPU seconds less so). Medians of {a.repeats} interleaved runs, `OMP_NUM_THREADS=1`. Inputs: "
          + (f"the demo folder `{a.demo_dir}`." if a.demo_dir else
             f"simulated, n = {a.n}, {a.chromosomes} x {a.variants} variants, 9 physiology GWAS x {a.copies} copies "
             "as exposures, 8 binary outcomes, loci of `edfgen clump`."), "",
          "| command | before CPU s | after CPU s | CPU ratio | before wall s | after wall s | before peak MiB | "
          "after peak MiB | outputs | warnings before/after |", "|---|---|---|---|---|---|---|---|---|---|"]
    for c in ("coloc", "finemap"):
        b, f = r[f"{c}_before"], r[f"{c}_after"]
        md.append(f"| {c} | {b['cpu_s']:.1f} | {f['cpu_s']:.1f} | {res['cpu_ratio'][c]:.2f} | {b['wall_s']:.1f} | "
                  f"{f['wall_s']:.1f} | {b['peak_rss_mib']:.0f} | {f['peak_rss_mib']:.0f} | {res['same'][c]} | "
                  f"{res['warnings'][c]['before']}/{res['warnings'][c]['after']} |")
    write_results("coloc_finemap_speed" + (f"_{a.tag}" if a.tag else ""), res, md)


if __name__ == "__main__":
    main()
