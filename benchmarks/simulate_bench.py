"""Wall time and peak memory of ``edfgen simulate``, with reference points.

Runs, each in its own process under ``/usr/bin/time -v`` (peak RSS = "Maximum resident set size"):

1. ``edfgen simulate --n 3000`` (defaults: 3 chromosomes x 10,000 SNPs, ECGs for everyone);
2. ``edfgen simulate --n 20000`` (same settings);
3. ``edfgen simulate --n 100000 --variants-per-chromosome 2000 --no-ecg`` (bounded memory: the
   genotypes stream to the .bed in blocks), unless ``--skip-100k``;
4. reference: ``plink2 --dummy`` writing a random .bed of the same size as runs 1 and 2 (no
   genealogy, no LD: the I/O floor of producing the genotype file);
5. ECG stage alone in one process: records/s of ``synthesize_ecg`` and of writing WFDB with
   edfgen's writer vs ``wfdb.wrsamp`` (the reference writer), on 300 records.

Run: ``nice -n 10 .venv/bin/python benchmarks/simulate_bench.py [--skip-100k]``
-> ``benchmarks/results/simulate.json`` and ``simulate.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))
from _measure import timed  # noqa: E402
EDFGEN = str(Path(sys.executable).with_name("edfgen"))


def du_mib(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20, 1)


def run_simulate(tmp: Path, n: int, extra: list[str]) -> dict:
    out = tmp / f"sim_{n}"
    r = timed([EDFGEN, "simulate", "--out", str(out), "--n", str(n), "-q", *extra])
    r.update({"n": n, "args": extra, "output_mib": du_mib(out),
              "n_ecg_records": len(list((out / "ecg").glob("*.hea"))) if (out / "ecg").exists() else 0})
    shutil.rmtree(out)
    return r


def run_plink_dummy(tmp: Path, n: int, m: int) -> dict | None:
    if not shutil.which("plink2"):
        return None
    out = tmp / f"dummy_{n}"
    r = timed(["plink2", "--dummy", str(n), str(m), "acgt", "--threads", "1", "--make-bed", "--out", str(out)])
    r.update({"n": n, "variants": m})
    for f in tmp.glob(f"dummy_{n}*"):
        f.unlink()
    return r


def ecg_stage(tmp: Path, k: int = 300) -> dict:
    import wfdb

    from edfgen.kernels.ecg import LEADS
    from edfgen.simulate.ecg import BeatParams, participant_rng, random_physiology, synthesize_ecg
    from edfgen.simulate.cohort import write_wfdb_record

    phys = random_physiology(k, rng=np.random.default_rng(0)).to_dict("records")
    t0 = time.perf_counter()
    xs = [synthesize_ecg(BeatParams(**row), rng=participant_rng(0, i)) for i, row in enumerate(phys)]
    synth = time.perf_counter() - t0
    d1, d2 = tmp / "own", tmp / "wfdb"
    d1.mkdir()
    d2.mkdir()
    t0 = time.perf_counter()
    for i, x in enumerate(xs):
        write_wfdb_record(d1, f"R{i:05d}", x, 500)
    own = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i, x in enumerate(xs):
        d = np.clip(np.round(x.astype(np.float64) * 1000), -32767, 32767).astype(np.int16)
        wfdb.wrsamp(f"R{i:05d}", fs=500, units=["mV"] * 12, sig_name=list(LEADS), d_signal=d.T, fmt=["16"] * 12,
                    adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(d2))
    ref = time.perf_counter() - t0
    # the two writers produce records wfdb reads back identically
    a = wfdb.rdrecord(str(d1 / "R00007")).p_signal
    b = wfdb.rdrecord(str(d2 / "R00007")).p_signal
    identical = bool(np.array_equal(a, b))
    shutil.rmtree(d1)
    shutil.rmtree(d2)
    return {"records": k, "synthesize_records_per_s": round(k / synth, 1),
            "write_records_per_s_edfgen": round(k / own, 1), "write_records_per_s_wfdb_wrsamp": round(k / ref, 1),
            "writer_speedup_vs_wfdb": round(ref / own, 1), "records_read_back_identical": identical}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-100k", action="store_true")
    args = ap.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    res: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                             "note": "shared 2-core machine; other jobs were running"}, "runs": []}
    with tempfile.TemporaryDirectory(prefix="edfgen-simbench-") as tmp:
        tmp = Path(tmp)
        res["ecg_stage"] = ecg_stage(tmp)
        print(res["ecg_stage"], flush=True)
        for n, extra in [(3000, []), (20000, [])] + ([] if args.skip_100k else
                                                      [(100000, ["--variants-per-chromosome", "2000", "--no-ecg"])]):
            r = run_simulate(tmp, n, extra)
            print(r, flush=True)
            res["runs"].append(r)
        res["plink2_dummy"] = [d for d in (run_plink_dummy(tmp, n, 30000) for n in (3000, 20000)) if d]
    for r in res["runs"]:
        ref = next((d for d in res["plink2_dummy"] if d["n"] == r["n"]), None)
        if ref and not r["args"]:
            r["wall_ratio_vs_plink2_dummy"] = round(r["wall_s"] / max(ref["wall_s"], 1e-3), 1)
    (RESULTS / "simulate.json").write_text(json.dumps(res, indent=2) + "\n")
    lines = ["# edfgen simulate: wall time and peak memory", "",
             "Shared 2-core machine (other jobs running), `nice -n 10`. Produced by `benchmarks/simulate_bench.py`.", "",
             "| n | arguments | wall (s) | CPU (s) | peak RSS (MiB) | output (MiB) | ECG records | wall / plink2 --dummy |",
             "|---|---|---|---|---|---|---|---|"]
    for r in res["runs"]:
        lines.append(f"| {r['n']} | {' '.join(r['args']) or 'defaults (3 x 10,000 SNPs, ECGs)'} | {r['wall_s']} | "
                     f"{r['cpu_s']} | {r['peak_rss_mib']} | {r['output_mib']} | {r['n_ecg_records']} | "
                     f"{r.get('wall_ratio_vs_plink2_dummy', '-')} |")
    lines += ["", "Reference `plink2 --dummy N 30000 acgt --make-bed` (random genotypes, no LD, no phenotypes):", ""]
    for d in res["plink2_dummy"]:
        lines.append(f"- n = {d['n']}: {d['wall_s']} s, peak RSS {d['peak_rss_mib']} MiB")
    e = res["ecg_stage"]
    lines += ["", f"ECG stage ({e['records']} records, one core): synthesis {e['synthesize_records_per_s']} records/s; "
              f"WFDB writing {e['write_records_per_s_edfgen']} records/s with edfgen's writer vs "
              f"{e['write_records_per_s_wfdb_wrsamp']} records/s with `wfdb.wrsamp` "
              f"({e['writer_speedup_vs_wfdb']}x; read back identical: {e['records_read_back_identical']})."]
    (RESULTS / "simulate.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
