"""``edfgen mr`` against a full outcome GWAS, before and after the rsID / position fallback of
:mod:`edfgen.commands.mr_join`: what the fallback costs when some instruments are really absent from the outcome
(the keys are then tried on the outcome's candidate rows), and the new case it opens (a GWAS-SSF outcome keyed
``1_1000000_G_A`` beside an ``rsid`` column, which found no instrument before).

Writes ``benchmarks/results/mr_outcome_join.{md,json}``. CPU seconds of the child process (user + sys), medians of
interleaved runs of the tree before (``--before``, default HEAD) and this tree.

    OMP_NUM_THREADS=1 nice -n 10 python benchmarks/mr_outcome_join.py [--rows 500000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, before_tree, timed, write_results  # noqa: E402


def make_inputs(work: Path, rows: int, k: int = 100, absent: int = 10, seed: int = 1) -> None:
    """``out_rsid.tsv`` (rsID ids), ``out_ssf.tsv`` (``1_pos_oa_ea`` ids + ``rsid``): ``rows`` variants; ``exp.tsv``:
    ``k`` instruments, the last ``absent`` of them in neither outcome."""
    rng = np.random.default_rng(seed)
    pos = np.arange(rows) * 100 + 1000
    alleles = np.array([("A", "G"), ("C", "T"), ("A", "C"), ("G", "T")])[np.arange(rows) % 4]
    rs = np.array([f"rs{i}" for i in range(rows)], dtype=object)
    by = rng.normal(0, 0.01, rows)
    out = pd.DataFrame({"chromosome": "1", "base_pair_location": pos, "effect_allele": alleles[:, 0],
                        "other_allele": alleles[:, 1], "beta": by, "standard_error": 0.01, "p_value": 0.5,
                        "variant_id": rs})
    pick = rng.choice(rows, k, replace=False)
    exp = out.iloc[pick].assign(beta=rng.normal(0, 0.1, k), p_value=1e-20).reset_index(drop=True)
    exp.loc[k - absent:, "variant_id"] = [f"rs{rows + i}" for i in range(absent)]      # rsIDs the outcome lacks
    exp.loc[k - absent:, "base_pair_location"] = 99
    exp.to_csv(work / "exp.tsv", sep="\t", index=False)
    out.to_csv(work / "out_rsid.tsv", sep="\t", index=False)
    out.assign(variant_id=[f"1_{p}_{o}_{e}" for p, o, e in zip(pos, alleles[:, 1], alleles[:, 0])],
               rsid=rs).to_csv(work / "out_ssf.tsv", sep="\t", index=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", default="HEAD")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mr_outcome_join_"))
    make_inputs(work, a.rows)
    before = before_tree(work, a.before)
    trees = {"before": before, "after": ROOT}
    times: dict[str, list[float]] = {f"{t}_{o}": [] for t in trees for o in ("rsid", "ssf")}
    kept: dict[str, str] = {}
    for r in range(a.repeats):
        for tree, path in trees.items():
            for o in ("rsid", "ssf"):
                cmd = [sys.executable, "-m", "edfgen", "mr", "--exposure", str(work / "exp.tsv"), "--outcome",
                       str(work / f"out_{o}.tsv"), "--no-clump", "--no-plots", "--presso-sims", "0", "--nboot", "10",
                       "--methods", "ivw", "--progress", "none", "--out", str(work / f"{tree}_{o}_{r}")]
                env = {**os.environ, "PYTHONPATH": str(path), "OMP_NUM_THREADS": "1"}
                try:
                    res = timed(cmd, env=env, cwd=path)
                    times[f"{tree}_{o}"].append(res["cpu_s"])
                    kept[f"{tree}_{o}"] = " ".join(res["stdout_tail"])
                except RuntimeError as exc:
                    lines = [ln.strip() for ln in str(exc).splitlines() if "error:" in ln]
                    kept[f"{tree}_{o}"] = (lines[0] if lines else str(exc).strip().splitlines()[-1])[:240]
    med = {k: (statistics.median(v) if v else None) for k, v in times.items()}
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    load = os.getloadavg()
    res = {"rows": a.rows, "instruments": 100, "absent_from_outcome": 10, "repeats": a.repeats, "cpu_s": times,
           "median_cpu_s": med, "result": kept, "commit": commit, "before": a.before,
           "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), "load": load}
    fmt = (lambda v: "failed" if v is None else f"{v:.2f}")
    md = [f"# edfgen mr: outcome join fallback (rows {a.rows:,}, 100 instruments, 10 absent from the outcome)", "",
          f"Command: `OMP_NUM_THREADS=1 nice -n 10 python benchmarks/mr_outcome_join.py --rows {a.rows} --repeats "
          f"{a.repeats}`; commit {commit} (after = working tree) vs {a.before}; {res['date']}; load average "
          f"{load[0]:.1f} on 2 shared cores. CPU seconds (user + sys) of `edfgen mr --no-clump`, median of "
          f"{a.repeats} interleaved runs.", "",
          "| outcome | before | after | what after prints |", "|---|---|---|---|",
          f"| rsID ids (90 instruments by variant_id, 10 not found: the fallback keys are tried) | "
          f"{fmt(med['before_rsid'])} | {fmt(med['after_rsid'])} | {kept.get('after_rsid', '')} |",
          f"| GWAS-SSF ids `1_pos_oa_ea` + rsid | {fmt(med['before_ssf'])} ({kept.get('before_ssf', '')}) | "
          f"{fmt(med['after_ssf'])} | {kept.get('after_ssf', '')} |"]
    write_results("mr_outcome_join", res, md)


if __name__ == "__main__":
    main()
