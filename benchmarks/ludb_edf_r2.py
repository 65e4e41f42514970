"""Interval content of EDFs against cardiologists: ridge-probe R² for PR, QRS and QT on LUDB records 1-100.

Targets: the cardiologists' PR, QRS and QT of each record (``edfgen.kernels.ecg.delineation_score``: per beat the
median over the 12 separately annotated leads of each boundary, then the median over beats; PR missing where no
P wave was marked). Features, each probed by ``edfgen.model.evaluation.ridge_probe_cv`` (standardised features,
``RidgeCV`` penalty by leave-one-out within the training folds, R² on the pooled out-of-fold predictions) on
5 folds of 20 consecutive records (one record per subject in LUDB, so the folds are subject-disjoint):

* ``encoder:<name>``: the checkpoint's frozen EDFs (``edfgen extract`` features, default ``small``);
* ``random:<name>``: the same architecture with random weights (``torch.manual_seed(0)``);
* ``biomarkers``: the 10 biomarkers ``measure_record`` measures (the delineator tuned on these records, so
  in-sample for it: an upper reference, not a baseline);
* ``minirocket``: sktime MiniRocket (10,000 kernels, 100 Hz), when sktime is importable.

Run: ``OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. .venv/bin/python benchmarks/ludb_edf_r2.py [--checkpoint small]``
-> ``benchmarks/results/ludb_edf_r2.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from ludb_delineation import LUDB, RESULTS, load_ludb

TARGETS = ("pr_interval_ms", "qrs_duration_ms", "qt_interval_ms")
GOAL = 0.75


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", action="append", default=None, help="checkpoint(s) (default: small)")
    ap.add_argument("--out-name", default="ludb_edf_r2")
    a = ap.parse_args(argv)
    from edfgen.model.baselines import BaselineUnavailable, baseline_features
    from edfgen.model.checkpoint import load_checkpoint
    from edfgen.model.data import embed_ecgs, load_ecgs
    from edfgen.model.evaluation import ridge_probe_cv

    t0 = time.time()
    recs = {str(r["record"]): r for r in load_ludb()}
    res = {"benchmark": "ludb_edf_r2", "records": len(recs), "folds": "5 x 20 consecutive records", "r2": {},
           "features": {}}
    folds = None
    for name in a.checkpoint or ["small"]:
        loaded = load_checkpoint(name)
        arr = load_ecgs([LUDB / "data"], loaded.preprocessing)
        ids = [str(i) for i in arr.ids]
        if folds is None:
            order = sorted(ids, key=int)
            folds = np.array([order.index(i) * 5 // len(order) for i in ids])
            targets = {t: np.array([recs[i]["reference"][t] for i in ids]) for t in TARGETS}
            res["rejected"] = len(arr.rejects)
        feats = {f"encoder:{name}": (embed_ecgs(loaded.model, arr.signals, loaded.preprocessing.crop_samples),
                                     f"frozen EDFs of {name}")}
        for base in ("random", "biomarkers", "minirocket"):
            if base != "random" and f"{base}" in res["r2"]:
                continue
            try:
                x, what = baseline_features(base, loaded, arr.signals, seed=0)
            except BaselineUnavailable as exc:
                res["features"][base] = str(exc)
                continue
            feats[f"{base}:{name}" if base == "random" else base] = (x, what)
        for key, (x, what) in feats.items():
            r2 = ridge_probe_cv(x, targets, folds)
            res["r2"][key] = {t: round(v, 4) for t, v in r2.items()}
            res["features"][key] = what
            print(key, res["r2"][key], flush=True)
    res["seconds"] = round(time.time() - t0, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{a.out_name}.json").write_text(json.dumps(res, indent=1) + "\n")
    md = ["# EDF ridge-probe R² against LUDB cardiologists (records 1-100, 5 subject-disjoint folds)", "",
          f"`OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. .venv/bin/python benchmarks/ludb_edf_r2.py` "
          f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {res['seconds']:.0f} s); method: the script's "
          f"docstring. Goal: R² >= {GOAL} for each interval.", "",
          "| features | PR R² | QRS R² | QT R² |", "|---|---|---|---|"]
    for key, r2 in res["r2"].items():
        md.append(f"| {key} | " + " | ".join(f"{r2[t]:.3f}" for t in TARGETS) + " |")
    md += ["", *(f"- `{k}`: {v}" for k, v in res["features"].items()), ""]
    (RESULTS / f"{a.out_name}.md").write_text("\n".join(md))
    print("\n".join(md))
    return res


if __name__ == "__main__":
    main()
