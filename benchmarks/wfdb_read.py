"""Reading the real WFDB records: how many are read or rejected, and the CPU time of ``read_wfdb``, this tree
against a baseline tree (stop 23, issue 22's real-data side: extra channels, multi-segment records).

Each tree reads every ``.hea`` under the folders in a child process (``cwd`` and ``PYTHONPATH`` = that tree); the
trees alternate ``--rounds`` times and the medians of the CPU seconds are reported, with the load average.

    git archive <base commit> edfgen | tar -x -C /tmp/base
    python benchmarks/wfdb_read.py --base /tmp/base --out benchmarks/results/wfdb_read_s23
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "ecg"

CHILD = r"""
import json, sys, time
from pathlib import Path
from edfgen.formats.ecg.records import RecordRejected, read_wfdb
out = {}
for folder in sys.argv[1:]:
    heas = sorted(Path(folder).rglob("*.hea"))
    t0, ok, rej = time.process_time(), 0, {}
    for h in heas:
        try:
            read_wfdb(h)
            ok += 1
        except RecordRejected as exc:
            rej[h.stem] = exc.reason
    out[Path(folder).name] = {"records": len(heas), "read": ok, "rejected": len(rej), "cpu_s": time.process_time() - t0,
                              "rejects": dict(sorted(rej.items())[:3])}
print(json.dumps(out))
"""


def run_tree(tree: Path, folders: list[Path]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", CHILD, *map(str, folders)], cwd=tree, env=env, capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, required=True, help="baseline tree (holds edfgen/)")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "wfdb_read_s23")
    a = ap.parse_args()
    folders = sorted(p for p in a.data.iterdir() if p.is_dir())
    runs: dict[str, list[dict]] = {"base": [], "this": []}
    for _ in range(a.rounds):
        for name, tree in (("base", a.base), ("this", ROOT)):
            runs[name].append(run_tree(tree, folders))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    res = {"command": " ".join(["python", "benchmarks/wfdb_read.py", *sys.argv[1:]]), "commit": commit,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_avg": os.getloadavg(), "folders": {}}
    lines = [f"# read_wfdb on the real records: this tree ({commit}) against {a.base}", "",
             f"`{res['command']}`, {res['date']}, load average {res['load_avg'][0]:.2f} (2 shared cores), "
             f"median of {a.rounds} interleaved rounds, CPU seconds of the reading loop.", "",
             "| folder | records | read (base) | read (this) | rejected (base) | rejected (this) | CPU s base | CPU s this | ratio |",
             "|---|---|---|---|---|---|---|---|---|"]
    for f in (p.name for p in folders):
        b, t = runs["base"][0][f], runs["this"][0][f]
        cb = statistics.median(r[f]["cpu_s"] for r in runs["base"])
        ct = statistics.median(r[f]["cpu_s"] for r in runs["this"])
        res["folders"][f] = {"base": {**b, "cpu_s": cb}, "this": {**t, "cpu_s": ct}}
        lines.append(f"| {f} | {t['records']} | {b['read']} | {t['read']} | {b['rejected']} | {t['rejected']} | "
                     f"{cb:.2f} | {ct:.2f} | {ct / cb:.2f} |")
    a.out.with_suffix(".json").write_text(json.dumps(res, indent=1) + "\n")
    a.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
