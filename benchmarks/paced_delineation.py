"""Paced ECGs: the pacing-stimulus detector on every real record, and the delineator before/after it on LUDB.

1. **Detector census** (``edfgen.kernels.ecg.pacing.detect_pacing`` on the raw independent leads I, II, V1-V6,
   R peaks from ``detect_r_peaks``) on every real record in ``../shared/data/ecg``: PTB-XL ``records500`` (truth:
   ``PACE`` in ``scp_codes``) and ``records100`` (no labels; 100 Hz is below the detector's 250 Hz floor),
   CinC 2021 and its extra records (truth: SNOMED 10370003 "pacing rhythm" among ``# Dx``), LUDB records 1-100
   (truth: a non-empty "Cardiac pacing" cell of ``ludb.csv``, or "P-synchrony" among the header's diagnoses:
   a pacing mode). Confusion table per data set, every flagged unpaced and missed paced record named.
2. **Delineation against LUDB's cardiologists**, the tree before (``--before``, default ``git merge-base HEAD
   main``) and this tree in the same run, each in its own process: the 5-fold cross-validation of
   ``benchmarks/ludb_delineation.py`` (settings tuned on 4 folds of 20 consecutive records, scored on the held-out
   fold). In this tree the paced-QRS-onset threshold ``paced_qrs_on_rel`` is tuned the same way: on the paced
   records (detected) of the 4 training folds, minimising their median absolute QRS-onset error. Reported on the
   held-out folds, for LUDB's paced records (truth above), the others, and all: the median over records of the
   absolute per-record error of each global boundary (P on/off, QRS on/off, T off; a record's error = the median
   over its beats of detected - cardiologists' median over the 12 leads, beats matched within 150 ms) and of PR,
   QRS and QT; the same with the shipped settings in both trees (in-sample), where a change can only be the
   code's (in the cross-validation a fold's grid search may choose other settings once its training paced records
   measure differently, which moves that fold's unpaced records too). Also ``measure_record``'s own PR/QRS/QT R² on the 100 records (shipped settings, as
   ``ludb_edf_r2.py`` computes it, on all records both measure) and the records whose values changed.
3. **CPU time** of ``delineate`` per record (LUDB, shipped settings): median of 3 repetitions per process, 3
   processes per tree interleaved (before, after, before, ...), the median over processes.

Run: ``OMP_NUM_THREADS=1 nice -n 10 PYTHONPATH=. /work/main/.venv/bin/python benchmarks/paced_delineation.py``
-> ``benchmarks/results/paced_delineation_s24.{json,md}`` (about 10 min on one core).
"""

from __future__ import annotations

import argparse
import ast
import csv
import dataclasses
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _measure import ROOT, before_ref, before_tree, write_results
from ludb_delineation import LUDB, TOLERANCE_S, candidate_table, fold_settings, intervals_of, load_ludb

DATA = LUDB.parent
BOUNDS = {"p_on": "p_onset", "p_off": "p_offset", "qrs_on": "qrs_onset", "qrs_off": "qrs_offset", "t_off": "t_end"}
INTERVALS = ("pr_interval_ms", "qrs_duration_ms", "qt_interval_ms")
PACED_REL_GRID = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3)


def ludb_paced() -> dict[int, bool]:
    """LUDB truth: "Cardiac pacing" cell non-empty or "P-synchrony" among the header's diagnoses."""
    out = {}
    with open(LUDB / "ludb.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            rid = int(row["ID"])
            header = (LUDB / "data" / f"{rid}.hea").read_text()
            out[rid] = bool(row["Cardiac pacing"].strip()) or "p-synchrony" in header.lower()
    return out


def boundary_errors(rec: dict, d) -> dict[str, float]:
    """Per global boundary: median over the record's beats of detected - reference (ms; NaN if none matched)."""
    fs, out = rec["fs"], {}
    for name, attr in BOUNDS.items():
        f = getattr(d, attr, math.nan) if d is not None else math.nan
        ref = rec["beats"][name].to_numpy(dtype=float)
        ref = ref[np.isfinite(ref)]
        if not math.isfinite(f) or len(ref) == 0 or len(d.r_peaks) == 0:
            out[name] = math.nan
            continue
        det = d.r_peaks + (f - d.r_index)
        e = det[np.abs(det[None, :] - ref[:, None]).argmin(1)] - ref
        e = e[np.abs(e) <= TOLERANCE_S * fs]
        out[name] = float(np.median(e) * 1000.0 / fs) if len(e) else math.nan
    return out


def worker_eval() -> dict:
    """Cross-validated delineation of LUDB 1-100 with the edfgen on ``PYTHONPATH``; per-record results."""
    from edfgen.kernels.ecg.biomarkers import DEFAULT_SETTINGS, delineate_beat, measure_record

    recs = load_ludb()
    tab = candidate_table(recs)

    def paced_threshold(st, train):
        """This tree: the paced onset threshold tuned on the training folds' paced records."""
        if not hasattr(st, "paced_qrs_on_rel"):
            return st
        mbs = tab[st.lp_hz]["mbs"]
        paced = [i for i in train if mbs[i] is not None and math.isfinite(mbs[i].stimulus_index)]

        def loss(rel):
            e = [boundary_errors(recs[i], delineate_beat(mbs[i], dataclasses.replace(st, paced_qrs_on_rel=rel)))
                 ["qrs_on"] for i in paced]
            return float(np.nanmedian(np.abs(e))) if paced else 0.0
        return dataclasses.replace(st, paced_qrs_on_rel=min(PACED_REL_GRID, key=loss))

    _, per_record, chosen = fold_settings(recs, tab, refine=paced_threshold)
    rows = []
    for i, (r, st) in enumerate(zip(recs, per_record)):
        mb = tab[st.lp_hz]["mbs"][i]
        d = None if mb is None else delineate_beat(mb, st)
        iv = intervals_of(d, r["fs"]) if d is not None else {c: math.nan for c in INTERVALS}
        m = measure_record(r["signal"], r["fs"])
        mb0 = tab[DEFAULT_SETTINGS.lp_hz]["mbs"][i]
        d0 = None if mb0 is None else delineate_beat(mb0, DEFAULT_SETTINGS)
        rows.append({"record": r["record"], "boundaries": boundary_errors(r, d), "intervals": iv,
                     "shipped_boundaries": boundary_errors(r, d0),
                     "reference": r["reference"], "measure_record": {c: m[c] for c in INTERVALS},
                     "stimulus": bool(mb is not None and math.isfinite(getattr(mb, "stimulus_index", math.nan)))})
    return {"records": rows, "fold_settings": chosen}


def worker_time(reps: int = 3) -> dict:
    """CPU seconds of ``delineate`` per LUDB record (median of ``reps``), edfgen from ``PYTHONPATH``."""
    from edfgen.kernels.ecg.biomarkers import delineate

    out = {}
    for r in load_ludb():
        ts = []
        for _ in range(reps):
            t0 = time.process_time()
            delineate(r["signal"], r["fs"])
            ts.append(time.process_time() - t0)
        out[str(r["record"])] = float(np.median(ts))
    return out


def _run_worker(tree: Path, mode: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", mode], cwd=tree, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {mode} in {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def census() -> dict:
    """The detector on every real record (module docstring, step 1); per data set counts and named records."""
    from edfgen.formats.ecg.records import read_ecg
    from edfgen.kernels.ecg.biomarkers import _INDEPENDENT, detect_r_peaks
    from edfgen.kernels.ecg.leads import canonicalise_leads
    from edfgen.kernels.ecg.pacing import detect_pacing

    ptb = {}
    with open(DATA / "ptbxl" / "ptbxl_database.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            ptb[f"{int(row['ecg_id']):05d}_hr"] = "PACE" in ast.literal_eval(row["scp_codes"])
    sets = {"ptbxl records500": (sorted((DATA / "ptbxl" / "records500").glob("*/*.hea")), lambda p: ptb.get(p.stem)),
            "ptbxl records100": (sorted((DATA / "ptbxl" / "records100").glob("*/*.hea")), lambda p: None)}
    for name in ("cinc2021", "cinc2021_extra"):
        sets[name] = (sorted((DATA / name).glob("*.hea")),
                      lambda p: any("10370003" in [c.strip() for c in ln.split(":", 1)[1].split(",")] for ln in p.read_text().splitlines()
                                    if ln.lstrip("# ").lower().startswith("dx")))
    lt = ludb_paced()
    sets["ludb_dev"] = (sorted((LUDB / "data").glob("*.hea"), key=lambda p: int(p.stem)), lambda p: lt[int(p.stem)])
    out = {}
    for name, (paths, truth_of) in sets.items():
        c = {"records": 0, "unreadable": [], "below_min_fs": 0, "tp": [], "fp": [], "fn": [], "tn": 0,
             "flagged_unlabelled": [], "cpu_s": 0.0, "largest_fraction_not_flagged": [0.0, ""]}
        for p in paths:
            try:
                rec = canonicalise_leads(read_ecg(p))
            except Exception as exc:  # noqa: BLE001 - counted and named, never silently dropped
                c["unreadable"].append(f"{p.stem}: {type(exc).__name__}")
                continue
            c["records"] += 1
            t0 = time.process_time()
            x = np.nan_to_num(np.asarray(rec.signal, dtype=float)[_INDEPENDENT])
            flagged = False
            if rec.fs < 250.0:
                c["below_min_fs"] += 1
            else:
                pc = detect_pacing(x, rec.fs, detect_r_peaks(x, rec.fs))
                flagged = pc.paced
                if not flagged and pc.beat_fraction > c["largest_fraction_not_flagged"][0]:
                    c["largest_fraction_not_flagged"] = [round(pc.beat_fraction, 3), p.stem]
            c["cpu_s"] += time.process_time() - t0
            truth = truth_of(p)
            tag = f"{p.stem}" + (f" (train {pc.beat_fraction:.2f} of beats at {1000 * pc.lag_s:.0f} ms)" if flagged else "")
            if truth is None:
                if flagged:
                    c["flagged_unlabelled"].append(tag)
            elif truth and flagged:
                c["tp"].append(tag)
            elif flagged:
                c["fp"].append(tag)
            elif truth:
                c["fn"].append(p.stem)
            else:
                c["tn"] += 1
        c["cpu_s"] = round(c["cpu_s"], 2)
        out[name] = c
    return out


def _mae(rows: list[dict], part: str, key: str) -> float:
    v = np.array([r[part][key] - (r["reference"][key] if part in ("intervals", "measure_record") else 0.0)
                  for r in rows], dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(np.abs(v))) if len(v) else math.nan


def summarise(ev: dict, truth: dict[int, bool]) -> dict:
    """Median absolute errors (ms) per boundary and interval, for paced / unpaced / all records; R²."""
    from ludb_edf_r2 import _r2_fixed

    rows = ev["records"]
    groups = {"paced": [r for r in rows if truth[r["record"]]], "unpaced": [r for r in rows if not truth[r["record"]]],
              "all": rows}
    out = {g: {"n": len(rs), **{b: _mae(rs, "boundaries", b) for b in BOUNDS},
               **{c: _mae(rs, "intervals", c) for c in INTERVALS}} for g, rs in groups.items()}
    out["shipped"] = {g: {"n": len(rs), **{b: _mae(rs, "shipped_boundaries", b) for b in BOUNDS},
                          **{c: _mae(rs, "measure_record", c) for c in INTERVALS}} for g, rs in groups.items()}
    ref = {c: np.array([r["reference"][c] for r in rows], dtype=float) for c in INTERVALS}
    got = {c: np.array([r["measure_record"][c] for r in rows], dtype=float) for c in INTERVALS}
    out["r2"] = {c: _r2_fixed(got[c], ref[c], np.ones(len(rows), bool)) for c in INTERVALS}
    out["r2_n"] = {c: int((np.isfinite(got[c]) & np.isfinite(ref[c])).sum()) for c in INTERVALS}
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", choices=("eval", "time"), help=argparse.SUPPRESS)
    ap.add_argument("--before", default=None, help="git ref of the tree before (default: merge-base HEAD main)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/paced_s24_bench"))
    ap.add_argument("--out-name", default="paced_delineation_s24")
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(worker_eval() if a.worker == "eval" else worker_time(), default=float))
        return
    t0 = time.time()
    ref = before_ref(a.before)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    trees = {"before": before_tree(a.work, ref), "after": ROOT}
    ev = {k: _run_worker(t, "eval") for k, t in trees.items()}
    times = {k: [] for k in trees}
    for _ in range(3):
        for k, t in trees.items():
            times[k].append(_run_worker(t, "time"))
    per_rec = {k: {rid: float(np.median([v[rid] for v in vs])) for rid in vs[0]} for k, vs in times.items()}
    truth = ludb_paced()
    summ = {k: summarise(v, truth) for k, v in ev.items()}
    changed = []
    for rb, ra in zip(ev["before"]["records"], ev["after"]["records"]):
        diff = [c for c in INTERVALS if not np.allclose(rb["measure_record"][c], ra["measure_record"][c], equal_nan=True)]
        diff += [f"shipped:{b}" for b in BOUNDS
                 if not np.allclose(rb["shipped_boundaries"][b], ra["shipped_boundaries"][b], equal_nan=True)]
        diff += [f"cv:{b}" for b in BOUNDS if not np.allclose(rb["boundaries"][b], ra["boundaries"][b], equal_nan=True)]
        if diff:
            changed.append({"record": ra["record"], "paced": truth[ra["record"]], "stimulus": ra["stimulus"],
                            "changed": diff})
    cen = census()
    load = os.getloadavg()
    res = {"benchmark": "paced_delineation_s24", "commit": commit, "before": ref, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
           "load_1_5_15": [round(v, 2) for v in load], "seconds": round(time.time() - t0, 1),
           "ludb_paced_truth": sorted(k for k, v in truth.items() if v), "summary": summ, "changed_records": changed,
           "census": cen, "delineate_cpu_s_per_record": {k: {"median": float(np.median(list(v.values()))),
                                                             "total": float(sum(v.values()))} for k, v in per_rec.items()},
           "per_record": {k: v["records"] for k, v in ev.items()}, "fold_settings": {k: v["fold_settings"] for k, v in ev.items()}}
    md = ["# Paced ECGs: stimulus detector and delineation before/after (LUDB held-out folds)", "",
          f"`OMP_NUM_THREADS=1 nice -n 10 PYTHONPATH=. {sys.executable} benchmarks/paced_delineation.py` "
          f"(commit {commit}, before = {ref[:10]}; {res['date']}, {res['seconds']:.0f} s, load {load[0]:.2f}/{load[1]:.2f}). "
          "Method: the module docstring.", "",
          f"LUDB paced records (truth): {', '.join(map(str, res['ludb_paced_truth']))}.", "",
          "## Median absolute error (ms) on the held-out folds", "",
          "| tree | records | n | " + " | ".join(BOUNDS) + " | PR | QRS | QT |", "|---" * (4 + len(BOUNDS) + 3) + "|"]
    for g in ("paced", "unpaced", "all"):
        for k in trees:
            s = summ[k][g]
            md.append(f"| {k} | {g} | {s['n']} | " + " | ".join(f"{s[b]:.1f}" for b in BOUNDS) + " | "
                      + " | ".join(f"{s[c]:.1f}" for c in INTERVALS) + " |")
    md += ["", "Shipped settings (`DEFAULT_SETTINGS`, the same in both trees; in-sample: tuned on these records), "
           "median absolute error (ms); intervals as `measure_record`:", "",
           "| tree | records | n | " + " | ".join(BOUNDS) + " | PR | QRS | QT |", "|---" * (4 + len(BOUNDS) + 3) + "|"]
    for g in ("paced", "unpaced", "all"):
        for k in trees:
            s = summ[k]["shipped"][g]
            md.append(f"| {k} | {g} | {s['n']} | " + " | ".join(f"{s[b]:.1f}" for b in BOUNDS) + " | "
                      + " | ".join(f"{s[c]:.1f}" for c in INTERVALS) + " |")
    md += ["", "## The delineator's own PR / QRS / QT R² on LUDB 1-100 (shipped settings, as ludb_edf_r2.py)", "",
           "| tree | PR R² | QRS R² | QT R² |", "|---|---|---|---|"]
    md += [f"| {k} | " + " | ".join(f"{summ[k]['r2'][c]:.3f} (n {summ[k]['r2_n'][c]})" for c in INTERVALS) + " |"
           for k in trees]
    md += ["", "Records whose values changed (`measure_record` intervals and `shipped:` boundaries: the same settings "
           "in both trees, so a change is the code's; `cv:` boundaries: held-out settings, which change wherever a "
           "fold's grid search chose differently because its training paced records now measure differently): "
           + ("; ".join(f"{c['record']} ({'paced' if c['paced'] else 'unpaced'}, stimulus "
                        f"{'detected' if c['stimulus'] else 'not detected'}: {', '.join(c['changed'])})" for c in changed)
              or "none"), "",
           "## Detector on every real record", "",
           "| data set | records | < 250 Hz (not assessed) | paced flagged (TP) | unpaced flagged (FP) | paced missed (FN) | "
           "unpaced not flagged (TN) | unlabelled flagged | largest train fraction not flagged | detector CPU s |",
           "|---" * 10 + "|"]
    for name, c in cen.items():
        lf = c["largest_fraction_not_flagged"]
        md.append(f"| {name} | {c['records']} | {c['below_min_fs']} | {len(c['tp'])} | {len(c['fp'])} | {len(c['fn'])} | "
                  f"{c['tn']} | {len(c['flagged_unlabelled'])} | {lf[0]:.2f} {lf[1]} | {c['cpu_s']:.1f} |")
    for name, c in cen.items():
        for what in ("tp", "fp", "fn", "flagged_unlabelled", "unreadable"):
            if c[what]:
                md.append(f"- {name} {what}: {', '.join(c[what])}")
    dc = res["delineate_cpu_s_per_record"]
    md += ["", "## delineate CPU time per LUDB record (s; median of 3 reps per process, median of 3 interleaved "
           "processes per tree)", "", "| tree | median per record | total, 100 records |", "|---|---|---|"]
    md += [f"| {k} | {v['median'] * 1000:.1f} ms | {v['total']:.2f} |" for k, v in dc.items()]
    md += ["", f"Ratio after / before (total): {dc['after']['total'] / dc['before']['total']:.3f}", ""]
    write_results(a.out_name, res, md)


if __name__ == "__main__":
    main()
