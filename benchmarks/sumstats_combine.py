"""Benchmark: one phenotype's per-chromosome summary statistics combined (``combine_phenotype``: repeats and
interleaved studies refused) at biobank size, this tree against a ``--baseline`` tree, in one run.

A GWAS run per chromosome (``gwas --chr N`` jobs on a cluster) leaves 22 files per phenotype; ``clump``,
``annotate``, ``mr``, ``ldsc``, ``finemap`` and ``coloc`` combine them for every phenotype. Each tree is timed
in a fresh process on the same simulated GWAS-SSF tables (ids ``chr_pos_ref_alt``, random alleles, increasing
positions), medians of ``--repeats``.

Usage::

    git archive REV edfgen | tar -x -C /tmp/base
    python benchmarks/sumstats_combine.py --baseline /tmp/base [--rows 1000000 10000000 --repeats 3]

Writes ``benchmarks/results/sumstats_combine.json`` and ``.md`` (``--tag T``: ``sumstats_combine_T.*``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent

CHILD = r"""
import sys, time, json
import edfgen
assert edfgen.__file__.startswith(sys.argv[2]), (edfgen.__file__, sys.argv[2])
import numpy as np, pandas as pd
from edfgen.formats.sumstats.discovery import combine_phenotype
rows, files = int(sys.argv[1]), 22
per = rows // files
tables = []
for i in range(1, files + 1):
    rng = np.random.default_rng(i)
    pos = np.cumsum(rng.integers(1, 20, per))
    a = rng.choice(np.array(list("ACGT"), dtype=object), (per, 2))
    ids = pd.Series(str(i) + "_" + pd.Series(pos).astype(str) + "_" + a[:, 0] + "_" + a[:, 1])
    tables.append(pd.DataFrame({"variant_id": ids, "chromosome": str(i), "base_pair_location": pos,
                                "effect_allele": a[:, 0], "other_allele": a[:, 1], "beta": rng.normal(size=per),
                                "standard_error": 1.0, "p_value": 0.5}))
paths = [f"/gwas/chr{i}/edf_001.tsv.gz" for i in range(1, files + 1)]
t0, c0 = time.perf_counter(), time.process_time()
out = combine_phenotype(tables, paths)
print(json.dumps({"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "rows": len(out)}))
"""


def run(tree: Path, rows: int) -> dict:
    """``combine_phenotype`` of ``tree`` on ``rows`` rows in 22 files, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as cwd:      # not the repository: ``python -c`` imports from its cwd first
        out = subprocess.run([sys.executable, "-c", CHILD, str(rows), str(tree)], env=env, capture_output=True, text=True,
                             check=True, cwd=cwd)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--baseline", required=True, help="the edfgen package tree before the change")
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    table = []
    for rows in a.rows:
        runs = {"edfgen": [], "baseline": []}
        for _ in range(a.repeats):                  # interleaved: the machine's load hits both alike
            runs["edfgen"].append(run(REPO, rows))
            runs["baseline"].append(run(Path(a.baseline), rows))
        row = {"rows": rows, "load_average_1min": round(os.getloadavg()[0], 1)}
        for k, v in runs.items():
            row[f"{k}_wall_s"] = round(float(np.median([r["wall_s"] for r in v])), 2)
            row[f"{k}_cpu_s"] = round(float(np.median([r["cpu_s"] for r in v])), 2)
        row["speed_up_cpu"] = round(row["baseline_cpu_s"] / row["edfgen_cpu_s"], 1)
        table.append(row)
        print(row, flush=True)
    stem = "sumstats_combine" + (f"_{a.tag}" if a.tag else "")
    res = HERE / "results"
    (res / f"{stem}.json").write_text(json.dumps({"repeats": a.repeats, "baseline": a.baseline, "rows": table},
                                                 indent=2) + "\n")
    lines = ["# One phenotype's 22 per-chromosome sumstats combined (`combine_phenotype`)", "",
             f"Medians of {a.repeats} interleaved fresh-process runs; baseline tree `{a.baseline}`; shared 2-core "
             "machine (1-min load average in the table).", "",
             "| rows | edfgen wall s | edfgen CPU s | baseline wall s | baseline CPU s | CPU speed-up | load |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['rows']:,} | {r['edfgen_wall_s']} | {r['edfgen_cpu_s']} | {r['baseline_wall_s']} | "
              f"{r['baseline_cpu_s']} | **{r['speed_up_cpu']}x** | {r['load_average_1min']} |" for r in table]
    (res / f"{stem}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
