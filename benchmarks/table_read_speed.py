"""Reading speed of the checked table readers (issue 19: every row's fields counted, the BGZF end
checked, duplicate names refused) against the same readers of a baseline tree without the checks,
on the same files in the same run.

    python benchmarks/table_read_speed.py --baseline DIR [--variants 500000] [--reps 5]

``DIR`` is a checkout of the tree before the change (``git archive <commit> | tar -x -C DIR``). Each
tree reads in its own child process (``PYTHONPATH``), repetitions interleaved, median of ``--reps`` (CPU and wall time). Readers: ``read_table`` (pandas, every column), ``read_sumstats`` (every column, layout
mapping and value checks), ``read_sumstats_columns`` (the fast Arrow path of clump/mr, 3 columns).
Writes ``results/table_read_speed.{json,md}``; the machine is shared, the load average is recorded.
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

CHILD = """
import json, sys, time
from edfgen.formats.tables import read_table
from edfgen.formats.sumstats import read_sumstats, read_sumstats_columns
path, what = sys.argv[1], sys.argv[2]
f = {"read_table": lambda: read_table(path),
     "read_sumstats": lambda: read_sumstats(path)[0],
     "read_sumstats_columns": lambda: read_sumstats_columns(path, required=("variant_id", "p_value"),
                                                            optional=("beta",))}[what]
t0, c0 = time.perf_counter(), time.process_time(); n = len(f())
print(json.dumps({"s": time.perf_counter() - t0, "cpu": time.process_time() - c0, "rows": n}))
"""


def _write_ssf(path: Path, m: int) -> None:
    from edfgen.formats.sumstats import SumstatsWriter

    import pandas as pd

    rng = np.random.default_rng(0)
    base = pd.DataFrame({"chromosome": np.repeat([str(c) for c in range(1, 21)], m // 20),
                         "base_pair_location": np.tile(np.arange(1, m // 20 + 1) * 100, 20),
                         "effect_allele": rng.choice(list("ACGT"), m), "other_allele": rng.choice(list("ACGT"), m),
                         "variant_id": [f"rs{i}" for i in range(m)], "rsid": [f"rs{i}" for i in range(m)]})
    SumstatsWriter(base, index=False).write(path, rng.normal(0, .05, m), np.full(m, .02), rng.random(m),
                                            rng.random(m), np.full(m, 10000))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", required=True, help="checkout of the tree before the change")
    ap.add_argument("--variants", type=int, default=500_000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    d = Path(tempfile.mkdtemp())
    files = {"tsv.gz (BGZF)": d / "trait.tsv.gz", "tsv": d / "trait.tsv"}
    _write_ssf(files["tsv.gz (BGZF)"], args.variants)
    import gzip

    files["tsv"].write_bytes(gzip.decompress(files["tsv.gz (BGZF)"].read_bytes()))
    trees = {"after": str(REPO), "before": str(Path(args.baseline).resolve())}
    times: dict[str, dict[str, dict[str, list[float]]]] = {}
    cpu: dict[str, dict[str, dict[str, list[float]]]] = {}
    for rep in range(args.reps):
        for fname, path in files.items():
            for what in ("read_table", "read_sumstats", "read_sumstats_columns"):
                for tree, root in trees.items():
                    env = {**os.environ, "PYTHONPATH": root, "OMP_NUM_THREADS": "1"}
                    out = subprocess.run([sys.executable, "-c", CHILD, str(path), what], env=env,
                                         capture_output=True, text=True, check=True).stdout
                    r = json.loads(out.strip().splitlines()[-1])
                    assert r["rows"] == args.variants, (tree, what, r)
                    times.setdefault(fname, {}).setdefault(what, {}).setdefault(tree, []).append(r["s"])
                    cpu.setdefault(fname, {}).setdefault(what, {}).setdefault(tree, []).append(r["cpu"])
    rows = []
    for fname, by in times.items():
        for what, t in by.items():
            c = cpu[fname][what]
            cb, ca = float(np.median(c["before"])), float(np.median(c["after"]))
            rows.append({"file": fname, "reader": what,
                         "before_cpu_median_s": round(cb, 3), "after_cpu_median_s": round(ca, 3),
                         "ratio_cpu_median": round(ca / cb, 3),
                         "before_wall_median_s": round(float(np.median(t["before"])), 3),
                         "after_wall_median_s": round(float(np.median(t["after"])), 3),
                         "ratio_wall_median": round(float(np.median(t["after"]) / np.median(t["before"])), 3)})
    res = {"variants": args.variants, "reps": args.reps, "load_avg": os.getloadavg(), "baseline": args.baseline,
           "rows": rows}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "table_read_speed.json").write_text(json.dumps(res, indent=2) + "\n")
    md = ["# Table reading speed with the issue-19 checks (field counts, BGZF end, duplicate names)", "",
          f"{args.variants:,} GWAS-SSF rows (10 columns), median of {args.reps} runs, each tree in its own "
          f"process, repetitions interleaved; load average {', '.join(f'{x:.1f}' for x in res['load_avg'])} "
          "(CPU time of the read is the steadier figure on this shared machine).", "",
          "| file | reader | CPU s before | CPU s after | CPU after / before | wall s before | wall s after | "
          "wall after / before |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['file']} | `{r['reader']}` | {r['before_cpu_median_s']} | {r['after_cpu_median_s']} | "
                  f"**{r['ratio_cpu_median']}** | {r['before_wall_median_s']} | {r['after_wall_median_s']} | "
                  f"{r['ratio_wall_median']} |")
    (HERE / "results" / "table_read_speed.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
