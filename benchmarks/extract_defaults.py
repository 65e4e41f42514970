"""``edfgen extract`` from the command line, start-up included: the default against the other ways of
splitting 2 cores between readers and the model, with and without OpenMP's passive waiting.

Issue 22 item 3: the default checkpoint must reach >= 100 ECGs/s end to end on 2 CPU cores with default
options (``edfgen extract`` on 2,000 simulated ECGs, quiet machine). Each case is one ``python -m edfgen
extract --ecg DIR --out T`` child (CPU = user + sys of the child and its reader processes), the cases
interleaved ``--repeats`` times, medians reported. Cases:

* ``--workers``/``--threads``: edfgen's default (none given), ``0/2`` (model on 2 threads, reading in the main
  process), ``1/1`` and ``1/2``;
* ``OMP_WAIT_POLICY``: ``PASSIVE`` (torch's threads sleep at once when they wait: what ``edfgen.model`` sets
  unless the variable is set), ``ACTIVE`` (they spin), or ``unset``: the variable removed and the edfgen tree of
  ``--before`` (a commit from before edfgen set it, ``git archive``-d), i.e. libgomp's default (spin for a
  while, then sleep) as edfgen ran until then.

Within one tree, every case's EDF table must be identical (the model's output does not depend on the thread
count, the reader processes or batch composition): checked, not assumed. (The ``--before`` tree may ship other
weights, so its tables are compared among themselves.)

Run: ``python benchmarks/extract_defaults.py [--n 2000 --repeats 3 --cohort DIR]`` ->
``benchmarks/results/extract_defaults[_TAG].{json,md}``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _measure import ROOT, before_tree, timed, write_results  # noqa: E402

CASES = {
    "default": [],
    "workers 0, threads 2": ["--workers", "0", "--threads", "2"],
    "workers 1, threads 1": ["--workers", "1", "--threads", "1"],
    "workers 1, threads 2": ["--workers", "1", "--threads", "2"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cohort", type=Path, default=None, help="existing directory of WFDB records (else simulated)")
    ap.add_argument("--cases", nargs="*", default=list(CASES), choices=list(CASES))
    ap.add_argument("--policies", nargs="*", default=["PASSIVE", "ACTIVE"],
                    help="OMP_WAIT_POLICY values to time ('unset': the variable removed)")
    ap.add_argument("--before", default="6c885a9", help="commit whose tree runs the 'unset' cases")
    ap.add_argument("--tag", default="")
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("EDFGEN_BENCH_DIR", tempfile.gettempdir()))
                    / "edfgen-extract-defaults")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    ecg = a.cohort
    if ecg is None:
        ecg = a.work / f"cohort{a.n}" / "ecg"
        if not ecg.is_dir():
            sys.path.insert(0, str(ROOT))
            from edfgen.simulate.cohort import simulate_cohort

            simulate_cohort(ecg.parent, n=a.n, seed=0, chromosomes=1, variants_per_chromosome=200)
    n_records = len(list(ecg.glob("*.hea")))
    rows: dict[tuple[str, str], list[dict]] = {}
    digests: dict[tuple[str, str], str] = {}
    start_load = os.getloadavg()[0]
    t_start = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    for rep in range(a.repeats):
        for case in a.cases:
            for policy in a.policies:
                tree = before_tree(a.work, a.before) if policy == "unset" else ROOT
                env = {**os.environ, "PYTHONPATH": str(tree)}
                for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY"):
                    env.pop(k, None)
                if policy != "unset":
                    env["OMP_WAIT_POLICY"] = policy
                out = a.work / "out" / f"{case.replace(' ', '').replace(',', '_')}_{policy}" / "edfs.tsv"
                if out.parent.exists():
                    for f in sorted(out.parent.glob("*")):
                        if f.is_file():
                            f.unlink()
                r = timed([sys.executable, "-m", "edfgen", "extract", "--ecg", str(ecg), "--out", str(out),
                           *CASES[case]], env=env, cwd=a.work)
                r["load"] = round(os.getloadavg()[0], 1)
                rows.setdefault((case, policy), []).append(r)
                digests[(case, policy)] = hashlib.sha256(out.read_bytes()).hexdigest()
                print(rep, case, policy, r["wall_s"], r["cpu_s"], r["load"], flush=True)
    # one tree's cases must agree bit for bit (the 'unset' tree may ship other weights)
    identical = all(len({d for (c, p), d in digests.items() if (p == "unset") == before}) <= 1
                    for before in (True, False))
    res = {"n_ecgs": n_records, "repeats": a.repeats, "started": t_start, "start_load": start_load,
           "end_load": os.getloadavg()[0], "cores": os.cpu_count(), "identical_outputs": identical, "cases": [
               {"case": c, "omp_wait_policy": p, "runs": v,
                "wall_s": statistics.median(x["wall_s"] for x in v),
                "cpu_s": statistics.median(x["cpu_s"] for x in v)} for (c, p), v in rows.items()]}
    md = [f"# `edfgen extract` from the command line, start-up included ({n_records} ECGs, {os.cpu_count()} cores)",
          "",
          f"Measured {t_start} by `benchmarks/extract_defaults.py` (medians of {a.repeats} interleaved runs; "
          f"1-min load average {start_load:.1f} at the start, {res['end_load']:.1f} at the end). "
          "ECGs/s wall = records / wall seconds of the whole command; CPU-normalised = records / (CPU s / 2), what "
          "2 dedicated cores give with both kept busy.", "",
          "| case | OMP_WAIT_POLICY | wall s | ECGs/s wall | CPU s | CPU-ms/ECG | ECGs/s CPU-normalised | load (runs) |",
          "|---|---|---|---|---|---|---|---|"]
    for r in res["cases"]:
        loads = ", ".join(str(x["load"]) for x in r["runs"])
        md.append(f"| {r['case']} | {r['omp_wait_policy']} | {r['wall_s']:.2f} | {n_records / r['wall_s']:.1f} | "
                  f"{r['cpu_s']:.2f} | {1e3 * r['cpu_s'] / n_records:.2f} | {n_records / (r['cpu_s'] / 2):.1f} | "
                  f"{loads} |")
    md += ["", f"`unset`: the variable removed, edfgen's tree of {a.before} (before edfgen set it).",
           f"EDF tables identical across the cases of each tree (sha256): **{identical}**."]
    write_results("extract_defaults" + (f"_{a.tag}" if a.tag else ""), res, md)


if __name__ == "__main__":
    main()
