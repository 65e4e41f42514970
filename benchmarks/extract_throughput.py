"""EDF extraction throughput of a shipped encoder (default: the default checkpoint) on 2 CPU cores (10 s 12-lead ECGs at 500 Hz).

Measures
--------
1. **model alone**: ``embed_windows`` on random ``[B, 12, 5000]`` tensors (two 5 s crops each);
2. **reading**: edfgen's WFDB reader vs the reference ``wfdb.rdrecord`` (physical units) per record;
3. **preprocessing**: ``preprocess_many`` (resample/filter/window/quality) per record;
4. **end to end**: ``edfgen.commands.extract.extract_edfs`` from a directory of WFDB records (``.hea`` + format-16
   ``.dat``), writing the EDF table, with 0, 1 and 2 reader processes.

ECGs are written by ``edfgen simulate`` (here, or ``--cohort DIR``: an existing directory of WFDB
records, e.g. ``<cohort>/ecg``). Goal: >= 300 ECGs/s end to end.

Run: ``nice -n 10 .venv/bin/python benchmarks/extract_throughput.py [--n 2000]``
-> ``benchmarks/results/extract_throughput.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _write_wfdb(n: int, out: Path, seed: int = 0) -> str:
    """WFDB ECGs written by ``edfgen simulate`` (its library function; a 1-chromosome toy genome)."""
    from edfgen.simulate.cohort import simulate_cohort

    simulate_cohort(out, n=n, seed=seed, chromosomes=1, variants_per_chromosome=200)
    return "`edfgen simulate` (simulate_cohort, format-16 WFDB .hea/.dat)"


def _load_model(name: str):
    from edfgen.model.checkpoint import load_checkpoint

    return load_checkpoint(name), f"checkpoint {name}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="ECGs for the end-to-end runs")
    ap.add_argument("--cohort", type=Path, default=None, help="existing directory of WFDB records")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--checkpoint", default=None, help="checkpoint name or path (default: edfgen's default)")
    ap.add_argument("--goal", type=float, default=100.0, help="ECGs/s goal end to end (issue 10: 100 for the default)")
    args = ap.parse_args()
    if args.checkpoint is None:
        from edfgen.model.checkpoint import DEFAULT_CHECKPOINT

        args.checkpoint = DEFAULT_CHECKPOINT

    import torch

    from edfgen.formats.ecg.records import discover_records, read_record
    from edfgen.kernels.ecg.preprocess import preprocess_many
    from edfgen.commands.extract import extract_edfs
    from edfgen.kernels.edf import embed_windows

    torch.set_num_threads(args.threads)
    loaded, model_desc = _load_model(args.checkpoint)
    prep = loaded.preprocessing
    res: dict = {"benchmark": "extract_throughput", "cpu_threads": args.threads, "batch_size": args.batch_size,
                 "model": model_desc, "config": loaded.config.name, "edf_dim": loaded.config.width,
                 "machine": f"{platform.machine()} {os.cpu_count()} visible cores (shared with other jobs)",
                 "load_average_start": os.getloadavg()[0]}

    # 1. model alone (2 threads, and 1 thread for its CPU cost without thread spinning)
    x = np.random.default_rng(0).standard_normal((args.batch_size, 12, prep.window_samples)).astype(np.float32) * 0.3
    embed_windows(loaded.model, x, prep)
    reps, t0, c0 = 8, time.perf_counter(), _cpu()
    for _ in range(reps):
        embed_windows(loaded.model, x, prep)
    res["model_alone_ecgs_per_s"] = round(reps * len(x) / (time.perf_counter() - t0), 1)
    res["model_alone_cpu_ms_per_ecg"] = round(1e3 * (_cpu() - c0) / (reps * len(x)), 3)
    torch.set_num_threads(1)
    t0, c0 = time.perf_counter(), _cpu()
    for _ in range(reps):
        embed_windows(loaded.model, x, prep)
    res["model_alone_1_thread_ecgs_per_s"] = round(reps * len(x) / (time.perf_counter() - t0), 1)
    res["model_alone_1_thread_cpu_ms_per_ecg"] = round(1e3 * (_cpu() - c0) / (reps * len(x)), 3)
    torch.set_num_threads(args.threads)

    tmp = Path(tempfile.mkdtemp(prefix="edfgen-bench-"))
    try:
        if args.cohort:
            ecg_dir, res["ecg_source"] = args.cohort, f"existing directory {args.cohort}"
        else:
            ecg_dir = tmp / "cohort" / "ecg"
            t0 = time.perf_counter()
            res["ecg_source"] = _write_wfdb(args.n, tmp / "cohort")
            res["simulate_seconds"] = round(time.perf_counter() - t0, 1)
        refs = discover_records([ecg_dir])
        res["n_ecgs"] = len(refs)

        # 2. reading: edfgen vs wfdb.rdrecord (the reference reader)
        import wfdb

        sub = refs[:300]
        t0 = time.perf_counter()
        recs = [read_record(r) for r in sub]
        t_edfgen = time.perf_counter() - t0
        t0 = time.perf_counter()
        ref_sig = [wfdb.rdrecord(r.path[:-4]).p_signal for r in sub]
        t_wfdb = time.perf_counter() - t0
        maxdiff = max(float(np.nanmax(np.abs(a.signal - b.T))) for a, b in zip(recs, ref_sig))
        res["read_ms_per_ecg"] = {"edfgen": round(1e3 * t_edfgen / len(sub), 3), "wfdb_rdrecord": round(1e3 * t_wfdb / len(sub), 3),
                                  "speedup": round(t_wfdb / t_edfgen, 2), "max_abs_diff_mv": maxdiff}

        # 3. preprocessing (vectorised batches)
        t0 = time.perf_counter()
        for i in range(0, len(recs), args.batch_size):
            preprocess_many(recs[i:i + args.batch_size], prep)
        res["preprocess_ms_per_ecg"] = round(1e3 * (time.perf_counter() - t0) / len(recs), 3)

        # 4. end to end
        e2e = {}
        for workers, threads in ((0, args.threads), (1, 1), (1, args.threads)):
            out = tmp / f"out{workers}_{threads}" / "edfs.tsv"
            t0, c0 = time.perf_counter(), _cpu()
            r = extract_edfs([ecg_dir], out, checkpoint=loaded, batch_size=args.batch_size, workers=workers,
                             threads=threads)
            dt, cpu = time.perf_counter() - t0, _cpu() - c0
            e2e[f"workers={workers}, model threads={threads}"] = {
                "seconds": round(dt, 2), "ecgs_per_s": round(len(refs) / dt, 1), "cpu_seconds": round(cpu, 2),
                "cpu_ms_per_ecg": round(1e3 * cpu / len(refs), 3),
                "ecgs_per_s_on_2_dedicated_cores": round(len(refs) / (cpu / 2), 1), "rejected": r.n_rejected}
        res["end_to_end"] = e2e
        best = max(v["ecgs_per_s"] for v in e2e.values())
        res["end_to_end_best_ecgs_per_s"] = best
        res["end_to_end_best_cpu_normalised_ecgs_per_s"] = max(v["ecgs_per_s_on_2_dedicated_cores"] for v in e2e.values())
        res["goal_ecgs_per_s"] = args.goal
        res["goal_met_wall_clock"] = bool(best >= args.goal)
        res["goal_met_cpu_normalised"] = bool(res["end_to_end_best_cpu_normalised_ecgs_per_s"] >= args.goal)
        res["load_average_end"] = os.getloadavg()[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "extract_throughput.json").write_text(json.dumps(res, indent=2) + "\n")
    rd = res["read_ms_per_ecg"]
    lines = [
        f"# EDF extraction throughput (`{args.checkpoint}`, 2 CPU cores, 10 s 12-lead ECGs at 500 Hz)", "",
        f"Model: {res['model']} (EDF dimension {res['edf_dim']}). ECGs: {res['n_ecgs']} from {res['ecg_source']}.",
        f"Machine: {res['machine']}; load average {res['load_average_start']:.1f} at start, "
        f"{res['load_average_end']:.1f} at end (other jobs share the 2 cores).", "",
        "| stage | result |", "|---|---|",
        f"| model alone (random tensors, batch {args.batch_size}) | {res['model_alone_ecgs_per_s']} ECGs/s wall; "
        f"{res['model_alone_cpu_ms_per_ecg']} CPU-ms/ECG |",
        f"| model alone, 1 thread | {res['model_alone_1_thread_ecgs_per_s']} ECGs/s; "
        f"{res['model_alone_1_thread_cpu_ms_per_ecg']} CPU-ms/ECG |",
        f"| WFDB read, edfgen | {rd['edfgen']} ms/ECG |",
        f"| WFDB read, wfdb.rdrecord (reference) | {rd['wfdb_rdrecord']} ms/ECG (edfgen {rd['speedup']}x faster; max |diff| {rd['max_abs_diff_mv']:.1e} mV) |",
        f"| preprocessing (resample/filter/window/quality) | {res['preprocess_ms_per_ecg']} ms/ECG |",
    ]
    for k, v in res["end_to_end"].items():
        lines.append(f"| end to end, {k} | {v['ecgs_per_s']} ECGs/s wall ({v['seconds']} s); {v['cpu_ms_per_ecg']} "
                     f"CPU-ms/ECG = {v['ecgs_per_s_on_2_dedicated_cores']} ECGs/s on 2 dedicated cores |")
    lines += ["", "`edfgen extract`'s default on 2 cores is workers=1 with 2 model threads (one reader process "
              "overlaps reading/filtering with inference); torch's threads wait passively (`edfgen.model` sets "
              "OMP_WAIT_POLICY=PASSIVE), without which 2 threads collapse on shared cores "
              "(`extract_defaults.py` times the command line, start-up included).",
              "", "Wall-clock rates depend on what else runs on the shared cores; the CPU-normalised rate "
              "(ECGs / (CPU seconds / 2)) is what 2 dedicated cores would give with both kept busy.", "",
              f"Goal >= {args.goal:g} ECGs/s end to end: wall clock {'met' if res['goal_met_wall_clock'] else 'NOT met'} "
              f"(best {res['end_to_end_best_ecgs_per_s']}); CPU-normalised "
              f"{'met' if res['goal_met_cpu_normalised'] else 'NOT met'} "
              f"(best {res['end_to_end_best_cpu_normalised_ecgs_per_s']}).", ""]
    (RESULTS / "extract_throughput.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
