"""Fuzzing edfgen's ECG readers and checkpoint loader (issue 19), and extract throughput before/after.

Part 1, fuzz: for each reader (WFDB format 16 fast path, WFDB format 212 through ``wfdb.rdrecord``,
``.npz``, HDF5, GE CardioSoft XML, GE MUSE XML, checkpoint JSON + safetensors) ``--cases`` valid files
are mutated with a seeded generator (truncation at a random offset, byte flips, zeroed or duplicated
64-byte blocks, deleted/duplicated lines and fields, numbers replaced by extreme values; 1-3 mutations
per case) and read as ``edfgen extract`` reads them (discover, read, preprocess; checkpoints: load).
Outcomes (``tests/fuzz_ecg_cases.py``): **used** (a correct record / a loaded model), **reject** (a
record set aside with a one-line reason), **error** (a one-line error), **defect** (any other
exception or a multi-line message: a traceback in the CLI), **crash** (the process died by a signal).
Each reader runs in a child process that reports case by case, so a crash is counted, not fatal.

Part 2, throughput: ``edfgen extract`` end to end (``extract_throughput.py``'s simulated WFDB cohort,
default checkpoint, 1 reader process + 1 model thread: the 2-core default) with this tree and with the
tree before the issue-19 changes (``--baseline``: a folder holding that tree's ``edfgen`` package),
alternated in fresh processes; the ratio of medians after / before.

With ``--baseline`` the same fuzz cases also run against the tree before the change (its defect counts).

Run: ``nice -n 10 .venv/bin/python benchmarks/fuzz_ecg.py [--cases 200] [--baseline DIR --n 400]``
-> ``benchmarks/results/fuzz_ecg.json`` and ``.md`` (``--name``: other file names, e.g. ``--readers edf bdf
--name fuzz_edf_s24``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(REPO / "tests"))


def _worker(kind: str, start: int, cases: int, seed: int) -> None:
    """Run cases ``start..cases-1`` of one reader; print one JSON line per case (flushed)."""
    import warnings

    import fuzz_ecg_cases as fc

    warnings.simplefilter("ignore")
    base = Path(tempfile.mkdtemp(prefix=f"edfgen-fuzz-{kind}-"))
    try:
        for i in range(start, cases):
            rng = random.Random(f"{seed}-{kind}-{i}")
            folder = base / f"c{i}"
            parts = fc.write_valid(kind, folder)
            roles = [r for r in parts if r != "main"]
            role = rng.choice(roles)
            ops = fc.TEXT_OPS if role in fc.TEXT_PARTS.values() else fc.FIELD_OPS if role == "fields" else fc.BINARY_OPS
            muts = [(rng.choice(ops), rng.randrange(2 ** 30), rng.randrange(2 ** 16)) for _ in range(rng.randint(1, 3))]
            fix_sha = rng.random() < 0.5
            print(json.dumps({"case": i, "start": True}), flush=True)
            for op, a, b in muts:
                fc.apply(kind, parts, role, op, a, b, fix_sha=fix_sha)
            t0 = time.perf_counter()
            result, message = fc.outcome(kind, parts)
            print(json.dumps({"case": i, "role": role, "ops": [m[0] for m in muts], "outcome": result,
                              "message": message[:300], "seconds": round(time.perf_counter() - t0, 4)}), flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


#: address-space limit of a fuzz worker: a checkpoint config that makes the old loader build a model of
#: tens of GB (e.g. depth 32767) must fail there, not exhaust the shared machine
WORKER_MEMORY = 6 * 2 ** 30


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))


def _fuzz(kind: str, cases: int, seed: int, tree: Path = REPO) -> dict:
    """Cases of one reader in child processes; a child killed by a signal counts a crash and a new child
    goes on with the next case."""
    counts: Counter = Counter()
    ops: Counter = Counter()
    examples: dict[str, list[str]] = {}
    seconds = 0.0
    start = 0
    t0 = time.perf_counter()
    while start < cases:
        proc = subprocess.Popen([sys.executable, __file__, "--worker", kind, str(start), str(cases), str(seed)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=_limit_memory,
                                env={**os.environ, "PYTHONPATH": str(tree)})
        current = start
        for line in proc.stdout:
            rec = json.loads(line)
            current = rec["case"]
            if rec.get("start"):
                continue
            counts[rec["outcome"]] += 1
            seconds += rec["seconds"]
            for op in rec["ops"]:
                ops[op] += 1
            ex = examples.setdefault(rec["outcome"], [])
            if len(ex) < (20 if rec["outcome"] == "defect" else 3) and rec["message"] not in ex:
                ex.append(rec["message"])
            current = rec["case"] + 1
        rc = proc.wait()
        err = proc.stderr.read()
        if rc == 0:
            break
        if rc < 0:  # killed by a signal while reading case `current`
            counts["crash"] += 1
            examples.setdefault("crash", []).append(f"case {current}: signal {-rc}")
        else:
            counts["defect"] += 1
            examples.setdefault("defect", []).append(f"case {current}: worker exit {rc}: {err[-300:]}")
        start = current + 1
    return {"cases": sum(counts.values()), "outcomes": dict(counts), "mutations": dict(ops),
            "read_seconds_per_case": round(seconds / max(1, sum(counts.values())), 4),
            "wall_seconds": round(time.perf_counter() - t0, 1), "examples": examples}


_EXTRACT = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from edfgen.commands.extract import extract_edfs
t0, c0 = time.perf_counter(), sum(os.times()[:4])
r = extract_edfs([sys.argv[2]], sys.argv[3], workers=1, threads=1, batch_size=64)
print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": sum(os.times()[:4]) - c0, "n": r.n_records,
                  "rejected": r.n_rejected}))
"""


def _throughput(baseline: Path, n: int, reps: int) -> dict:
    from extract_throughput import _write_wfdb

    tmp = Path(tempfile.mkdtemp(prefix="edfgen-fuzz-tp-"))
    try:
        _write_wfdb(n, tmp / "cohort")
        ecg = tmp / "cohort" / "ecg"
        runs: dict[str, list[dict]] = {"before": [], "after": []}
        for rep in range(reps):
            for label, tree in (("before", baseline), ("after", REPO)):
                out = tmp / f"{label}{rep}" / "edfs.tsv"
                proc = subprocess.run([sys.executable, "-c", _EXTRACT, str(tree), str(ecg), str(out)],
                                      capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tree)})
                if proc.returncode:
                    raise SystemExit(f"extract with {tree} failed: {proc.stderr[-2000:]}")
                runs[label].append(json.loads(proc.stdout.strip().splitlines()[-1]))
        same = (tmp / "before0" / "edfs.tsv").read_bytes() == (tmp / "after0" / "edfs.tsv").read_bytes()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    med = {k: {"seconds": statistics.median(r["seconds"] for r in v), "cpu": statistics.median(r["cpu"] for r in v)}
           for k, v in runs.items()}
    return {"n_ecgs": n, "repeats": reps, "runs": runs, "median": med, "edf_tables_identical": same,
            "ecgs_per_s": {k: round(n / v["seconds"], 1) for k, v in med.items()},
            "ratio_after_before_wall": round(med["after"]["seconds"] / med["before"]["seconds"], 3),
            "ratio_after_before_cpu": round(med["after"]["cpu"] / med["before"]["cpu"], 3)}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        return
    sys.path.insert(0, str(HERE))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", type=int, default=200, help="mutated files per reader")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--readers", nargs="*", default=None)
    ap.add_argument("--baseline", type=Path, default=None, help="folder with the edfgen tree before the change")
    ap.add_argument("--n", type=int, default=400, help="ECGs for the throughput runs")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--name", default="fuzz_ecg", help="results file names: results/<name>.json and .md")
    ap.add_argument("--throughput-only", action="store_true",
                    help="keep the fuzz results of the last run (results/fuzz_ecg.json), redo the throughput part")
    args = ap.parse_args()
    import fuzz_ecg_cases as fc

    res: dict = {"benchmark": "fuzz_ecg", "seed": args.seed, "cases_per_reader": args.cases,
                 "load_average_start": os.getloadavg()[0], "readers": {}}
    if args.throughput_only:
        res = json.loads((RESULTS / "fuzz_ecg.json").read_text())
        args.cases, args.seed, args.readers = res["cases_per_reader"], res["seed"], []
    for kind in [] if args.throughput_only else args.readers or fc.READERS:
        res["readers"][kind] = _fuzz(kind, args.cases, args.seed)
        print(kind, res["readers"][kind]["outcomes"], flush=True)
    if args.baseline and not args.throughput_only:  # the same cases against the tree before the change
        res["readers_before"] = {}
        for kind in args.readers or fc.READERS:
            res["readers_before"][kind] = _fuzz(kind, args.cases, args.seed, args.baseline)
            print("before", kind, res["readers_before"][kind]["outcomes"], flush=True)
    total = Counter()
    for r in res["readers"].values():
        total.update(r["outcomes"])
    res["total"] = dict(total)
    res["crashes"] = total.get("crash", 0)
    res["defects_tracebacks"] = total.get("defect", 0)
    if args.baseline:
        res["throughput"] = _throughput(args.baseline, args.n, args.reps)
    res["load_average_end"] = os.getloadavg()[0]
    RESULTS.mkdir(exist_ok=True)
    res["command"] = " ".join(["python", "benchmarks/fuzz_ecg.py", *sys.argv[1:]])
    res["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                   cwd=REPO).stdout.strip()
    (RESULTS / f"{args.name}.json").write_text(json.dumps(res, indent=2) + "\n")
    names = {"wfdb16": "WFDB format 16 (fast path)", "wfdb212": "WFDB format 212 (wfdb.rdrecord)", "npz": ".npz",
             "hdf5": "HDF5", "cardiosoft": "CardioSoft XML", "muse": "MUSE XML", "aecg": "HL7 aECG XML", "dicom": "DICOM",
             "edf": "EDF+C (16-bit)", "bdf": "BDF (24-bit)",
             "checkpoint": "checkpoint (JSON + safetensors)"}
    lines = ["# Fuzzing the ECG readers and the checkpoint loader (issue 19)", "",
             f"{args.cases} mutated files per reader, seed {args.seed}; load average "
             f"{res['load_average_start']:.1f} at start; `{res['command']}` at commit {res['commit']}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Outcomes: used = read correctly (record preprocessed to "
             "finite input, or model loaded); reject = record set aside with a one-line reason; error = one-line "
             "error; defect = another exception or a multi-line message (a traceback); crash = killed by a signal.",
             "", "| reader | cases | used | reject | error | defect (traceback) | crash | read s/case |",
             "|---|---|---|---|---|---|---|---|"]
    for kind, r in res["readers"].items():
        o = r["outcomes"]
        lines.append(f"| {names.get(kind, kind)} | {r['cases']} | {o.get('used', 0)} | {o.get('reject', 0)} | "
                     f"{o.get('error', 0)} | {o.get('defect', 0)} | {o.get('crash', 0)} | {r['read_seconds_per_case']} |")
    lines += ["", f"Total: {res['total']}; crashes {res['crashes']}, defects/tracebacks {res['defects_tracebacks']}.", ""]
    if "readers_before" in res:
        lines += ["The same cases against the tree before the issue-19 changes (`--baseline`):", "",
                  "| reader | used | reject | error | defect (traceback) | crash |", "|---|---|---|---|---|---|"]
        for kind, r in res["readers_before"].items():
            o = r["outcomes"]
            lines.append(f"| {names.get(kind, kind)} | {o.get('used', 0)} | {o.get('reject', 0)} | {o.get('error', 0)} | "
                         f"{o.get('defect', 0)} | {o.get('crash', 0)} |")
        lines.append("")
        for kind, r in res["readers_before"].items():
            for msg in r["examples"].get("defect", [])[:3]:
                lines.append(f"- before, {kind} defect: {msg[:200]}")
        lines.append("")
    for kind, r in res["readers"].items():
        for outcome in ("defect", "crash"):
            for msg in r["examples"].get(outcome, []):
                lines.append(f"- {kind} {outcome}: {msg}")
    if "throughput" in res:
        t = res["throughput"]
        lines += ["", "## extract throughput before / after", "",
                  f"`edfgen extract` of {t['n_ecgs']} simulated WFDB ECGs (default checkpoint, workers=1, 1 model "
                  f"thread), {t['repeats']} alternated runs per tree in fresh processes; medians.", "",
                  "| tree | wall s | CPU s | ECGs/s |", "|---|---|---|---|",
                  *(f"| {k} | {v['seconds']:.2f} | {v['cpu']:.2f} | {t['ecgs_per_s'][k]} |" for k, v in t["median"].items()),
                  "", f"Ratio after / before: wall {t['ratio_after_before_wall']}, CPU {t['ratio_after_before_cpu']}; "
                  f"EDF tables byte-identical: {t['edf_tables_identical']}."]
    lines.append("")
    (RESULTS / f"{args.name}.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
