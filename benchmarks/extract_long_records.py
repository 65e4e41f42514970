"""Peak memory of ``edfgen extract`` on 30-minute (Holter, INCART-like) records, and its throughput on 10 s
records, for this tree against an earlier commit (review s29 F3).

Before, a reader read a whole batch at full length and cropped it afterwards, so peak memory grew with batch
size x record length (the review measured 3.2 GB for 64 records of 30 min at 257 Hz); now each record is cropped to
its window as it is read (:func:`edfgen.kernels.ecg.preprocess.preprocess_many` over
:func:`edfgen.formats.ecg.records.read_records_iter`).

Records
-------
- **Holter**: ``--distinct`` (20) ECGs of ``edfgen.simulate.ecg.synthesize_batch`` (10 s at 500 Hz) resampled to
  257 Hz (``scipy.signal.resample_poly``), tiled 180 times (alternately time-reversed, no jump at a junction) to
  30 min, written as format-16 WFDB (``wfdb.wrsamp``, 1000 adu/mV); the 64-record folder hard-links them
  (64 records, 20 distinct files, as the review's ``incart64``).
- **Throughput**: ``--n-short`` (200) 10 s ECGs of ``edfgen simulate`` (format-16 WFDB).

Each ``edfgen extract`` run (default checkpoint, default options: 1 reader process on 2 cores) is a child under
``/usr/bin/time -v``: peak RSS is that of its largest process (parent or reader), CPU = user + sys of all. The
trees alternate, ``--repeats`` times.

Run: ``OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/extract_long_records.py [--before REF]``
-> ``benchmarks/results/extract_long_records.{json,md}``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, before_tree, timed, write_results  # noqa: E402


def _holters(folder: Path, distinct: int, seed: int = 29) -> list[Path]:
    """``distinct`` 30-minute 257 Hz WFDB records in ``folder`` (module docstring)."""
    import wfdb
    from scipy.signal import resample_poly

    from edfgen.kernels.ecg import LEADS
    from edfgen.simulate.ecg import random_physiology, synthesize_batch

    folder.mkdir(parents=True, exist_ok=True)
    x = synthesize_batch(random_physiology(distinct, rng=np.random.default_rng(seed)), seed=seed)
    names = []
    for i, sig in enumerate(x):
        name = f"H{i:03d}"
        names.append(folder / f"{name}.hea")
        if names[-1].exists():
            continue
        s257 = resample_poly(sig.astype(np.float64), 257, 500, axis=1)
        tiles = [s257 if k % 2 == 0 else s257[:, ::-1] for k in range(180)]
        wfdb.wrsamp(name, fs=257, units=["mV"] * 12, sig_name=list(LEADS), p_signal=np.concatenate(tiles, axis=1).T,
                    fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(folder))
    return names


def _linked(src: list[Path], folder: Path, n: int) -> Path:
    """``n`` records in ``folder``, hard links to the ``src`` headers' files in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        hea = src[k % len(src)]
        name = f"L{k:03d}"
        if (folder / f"{name}.hea").exists():
            continue
        os.link(hea.with_suffix(".dat"), folder / f"{name}.dat")
        (folder / f"{name}.hea").write_text(hea.read_text().replace(hea.stem, name))
    return folder


def _extract(src: Path, ecg: Path, out: Path) -> dict:
    """``python -m edfgen extract`` of the tree ``src`` (its cwd, so that ``-m`` finds it first)."""
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    return timed([sys.executable, "-m", "edfgen", "extract", "--ecg", str(ecg), "--out", str(out / "edfs.tsv"),
                  "--progress", "none", "--force"], env=env, cwd=src)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default="main", help="the commit timed as 'before' (git archive)")
    ap.add_argument("--distinct", type=int, default=20)
    ap.add_argument("--n-short", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3, help="throughput runs per tree (alternating)")
    ap.add_argument("--work", type=Path, default=None)
    a = ap.parse_args()
    work = a.work or Path(tempfile.mkdtemp(prefix="extract_long_"))
    before_ref = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", a.before], check=True,
                                capture_output=True, text=True).stdout.strip()
    after_ref = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], check=True,
                               capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "edfgen"], check=True,
                                capture_output=True, text=True).stdout.strip())
    trees = {"before": before_tree(work, a.before), "after": ROOT}
    src = _holters(work / "holter_src", a.distinct)
    folders = {20: _linked(src, work / "holter20", 20), 64: _linked(src, work / "holter64", 64)}
    short = work / "short"
    if not (short / "ecg").exists():
        from edfgen.simulate.cohort import simulate_cohort

        simulate_cohort(short, n=a.n_short, seed=29, chromosomes=1, variants_per_chromosome=200)
    load0 = os.getloadavg()
    memory = {}
    for n, folder in folders.items():
        for tree, path in trees.items():
            r = _extract(path, folder, work / f"out_{tree}_{n}")
            memory[f"{tree} {n}"] = r
            print(tree, n, r, flush=True)
    speed = {t: [] for t in trees}
    for _ in range(a.repeats):
        for tree, path in trees.items():
            r = _extract(path, short / "ecg", work / f"out_{tree}_short")
            speed[tree].append(r)
            print(tree, "short", r, flush=True)
    load1 = os.getloadavg()
    med = {t: {k: statistics.median(r[k] for r in rs) for k in ("cpu_s", "wall_s", "peak_rss_mib")}
           for t, rs in speed.items()}
    same = all((work / f"out_before_{n}" / "edfs.tsv").read_bytes() == (work / f"out_after_{n}" / "edfs.tsv").read_bytes()
               for n in folders)
    same_short = ((work / "out_before_short" / "edfs.tsv").read_bytes()
                  == (work / "out_after_short" / "edfs.tsv").read_bytes())
    res = {"command": "OMP_NUM_THREADS=1 nice -n 10 python benchmarks/extract_long_records.py "
                      f"--before {a.before}",
           "before_commit": before_ref, "after_commit": after_ref + ("+uncommitted" if dirty else ""),
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": platform.processor() or platform.machine(),
           "cpus": os.cpu_count(), "loadavg_start": load0, "loadavg_end": load1,
           "holter": "30 min, 257 Hz, 12 leads, WFDB fmt 16 (synthesize_batch tiled); 64 = 20 distinct hard-linked",
           "memory": {k: {kk: v[kk] for kk in ("wall_s", "cpu_s", "peak_rss_mib")} for k, v in memory.items()},
           "throughput_runs": {t: [{kk: r[kk] for kk in ("wall_s", "cpu_s", "peak_rss_mib")} for r in rs]
                               for t, rs in speed.items()},
           "throughput_median": med, "n_short": a.n_short,
           "edf_tables_identical_before_after": {"holter": same, "short": same_short}}
    md = [f"# extract on long records: peak memory and 10 s throughput (before {before_ref}, after {res['after_commit']})",
          "", f"Command: `{res['command']}`; date {res['date']}; {res['cpus']} CPUs shared, load average "
          f"{load0[0]:.1f} at start, {load1[0]:.1f} at end (CPU time is the figure to compare; wall times are "
          "under load). Default checkpoint and options (1 reader process).", "",
          "## 30-minute 257 Hz records (peak RSS of the largest process)", "",
          "| records | before MiB | after MiB | before CPU s | after CPU s |", "|---|---|---|---|---|"]
    for n in folders:
        b, f = memory[f"before {n}"], memory[f"after {n}"]
        md.append(f"| {n} | {b['peak_rss_mib']:.0f} | {f['peak_rss_mib']:.0f} | {b['cpu_s']:.1f} | {f['cpu_s']:.1f} |")
    md += ["", f"EDF tables before and after byte-identical: Holter {same}, 10 s {same_short}.", "",
           f"## {a.n_short} simulated 10 s ECGs (median of {a.repeats} alternating runs)", "",
           "| tree | CPU s | wall s | ECGs per CPU s | peak MiB |", "|---|---|---|---|---|"]
    for t in trees:
        m = med[t]
        md.append(f"| {t} | {m['cpu_s']:.2f} | {m['wall_s']:.2f} | {a.n_short / m['cpu_s']:.1f} | "
                  f"{m['peak_rss_mib']:.0f} |")
    md += ["", f"CPU ratio after / before: {med['after']['cpu_s'] / med['before']['cpu_s']:.3f} (includes start-up: "
           "imports and checkpoint load)."]
    write_results("extract_long_records", res, md)


if __name__ == "__main__":
    main()
