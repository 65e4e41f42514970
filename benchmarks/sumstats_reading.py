"""Reading summary statistics before and after a change to the readers: CPU seconds of ``read_sumstats`` (every
column) and ``read_sumstats_columns`` (the fast reader, asked for beta and SE as ldsc/finemap ask) on a GWAS-SSF
``.tsv.gz`` and of ``read_sumstats`` on a plink2 ``--glm`` file, for this tree and a baseline tree, interleaved
processes; each process times 3 calls after a warm-up call (its median), the table gives the median over processes.

    python benchmarks/sumstats_reading.py --base /tmp/base_tree --rows 1000000 --reps 3 --out benchmarks/results/sumstats_reading

The baseline tree is ``git archive <commit> edfgen | tar -x -C DIR``. Writes ``<out>.json`` and ``<out>.md``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import sys, time, json
from edfgen.formats.sumstats import read_sumstats, read_sumstats_columns
kind, path = sys.argv[1], sys.argv[2]


def read():
    if kind == "fast":
        return read_sumstats_columns(path, required=("variant_id", "p_value"),
                                     optional=("chromosome", "base_pair_location", "beta", "standard_error"))
    return read_sumstats(path)[0]


read()                                   # warm-up: lazy imports, first-call costs
cpu = []
for _ in range(3):
    t = time.process_time()
    df = read()
    cpu.append(time.process_time() - t)
print(json.dumps({"cpu_s": sorted(cpu)[1], "rows": len(df)}))
"""


def make_files(work: Path, rows: int) -> dict[str, Path]:
    rng = np.random.default_rng(1)
    ea = rng.choice(list("ACGT"), rows)
    oa = np.array(list("GTAC"))[np.searchsorted(list("ACGT"), ea)]
    beta, se = rng.normal(0, 0.02, rows), rng.uniform(0.01, 0.03, rows)
    from scipy.stats import norm

    p = 2 * norm.sf(np.abs(beta / se))
    ssf = pd.DataFrame({"chromosome": np.repeat(np.arange(1, 11), rows // 10 + 1)[:rows],
                        "base_pair_location": np.arange(rows) * 10 + 1, "effect_allele": ea, "other_allele": oa,
                        "beta": beta, "standard_error": se, "effect_allele_frequency": rng.uniform(0.01, 0.99, rows),
                        "p_value": p, "variant_id": [f"rs{i}" for i in range(rows)], "n": 10000})
    out = {"ssf": work / "bench.tsv.gz", "glm": work / "bench.hr.glm.linear"}
    with gzip.open(out["ssf"], "wt", compresslevel=1) as fh:
        ssf.to_csv(fh, sep="\t", index=False, float_format="%.6g")
    glm = pd.DataFrame({"#CHROM": ssf.chromosome, "POS": ssf.base_pair_location, "ID": ssf.variant_id,
                        "REF": oa, "ALT": ea, "A1": ea, "TEST": "ADD", "OBS_CT": 10000, "BETA": beta, "SE": se,
                        "T_STAT": beta / se, "P": p, "ERRCODE": "."})
    glm.to_csv(out["glm"], sep="\t", index=False, float_format="%.6g")
    return out


def run(tree: Path, kind: str, path: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, str(path)], capture_output=True, text=True, env=env,
                          cwd=tree, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])["cpu_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--work", type=Path, default=Path("/tmp/sumstats_reading_bench"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/sumstats_reading")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    files = make_files(a.work, a.rows)
    cases = [("fast", "ssf"), ("full", "ssf"), ("full", "glm")]
    times: dict[str, list[float]] = {}
    for _ in range(a.reps):
        for kind, f in cases:
            for tree, label in ((a.base, "base"), (ROOT, "new")):         # interleaved
                times.setdefault(f"{kind}_{f}_{label}", []).append(run(tree, kind, files[f]))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    res = {"command": " ".join(sys.argv), "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load_1min": os.getloadavg()[0], "rows": a.rows, "reps": a.reps, "cpu_s": times,
           "median_cpu_s": {k: float(np.median(v)) for k, v in times.items()}}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    med = res["median_cpu_s"]
    lines = [f"# Summary-statistics reading, {a.rows} rows: CPU s, median of {a.reps} interleaved runs",
             "", f"`{res['command']}` at {commit}, {res['date']}, load average {res['load_1min']:.1f} (2 shared cores)",
             "", "| reader | file | base CPU s | new CPU s | new / base |", "|---|---|---|---|---|"]
    for kind, f in cases:
        b, n = med[f"{kind}_{f}_base"], med[f"{kind}_{f}_new"]
        lines.append(f"| {'read_sumstats_columns' if kind == 'fast' else 'read_sumstats'} | {f} | {b:.2f} | {n:.2f} "
                     f"| {n / b:.2f} |")
    a.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
