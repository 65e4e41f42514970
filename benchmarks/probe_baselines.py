"""Encoder vs baselines on real labelled ECGs: ``edfgen evaluate --probe linear --baseline ...`` on PTB-XL.

The shared labelled PTB-XL records (``../shared/data/ecg/ptbxl``, 500 Hz, 5 diagnostic superclasses), PTB-XL's
``strat_fold`` as the outer folds (8 folds, patient-disjoint: every ``patient_id`` in one fold), the same
logistic probe (penalty by inner patient-grouped CV), out-of-fold predictions; macro AUROC with percentile
bootstrap 95% CIs over patients, and encoder − baseline with a paired bootstrap CI (same resamples).
Baselines (``edfgen.model.baselines``): the checkpoint's architecture with random weights, the 10 measured
biomarkers, MiniRocket (only when sktime is importable; run with the benchmark venv
``/work/benchenv/sktime/bin/python``, which adds sktime to edfgen's environment).

Goals (issue 22): encoder >= random weights + 0.03 and >= MiniRocket + 0.015.

Run: ``OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. /work/benchenv/sktime/bin/python benchmarks/probe_baselines.py
[--checkpoint small]`` -> ``benchmarks/results/probe_baselines.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PTBXL = (ROOT / ".." / "shared" / "data" / "ecg" / "ptbxl").resolve()


def _ci(x: float | None, fmt: str = ".3f") -> str:
    """``x`` formatted, or ``NA`` (a bootstrap CI is NA when too few resamples hold both classes: --bootstrap 2)."""
    return "NA" if x is None or x != x else format(x, fmt)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="small")
    ap.add_argument("--baseline", default="random,biomarkers,minirocket")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--out-name", default="probe_baselines")
    a = ap.parse_args(argv)
    from edfgen.commands.evaluate import run_evaluate

    t0, c0 = time.time(), time.process_time()
    out = Path(tempfile.mkdtemp(prefix="edfgen-probe-baselines-"))
    res = run_evaluate(checkpoint=a.checkpoint, ecg=[PTBXL], labels=None, label_columns=None, probe="linear",
                       folds=None, min_positives=10, ptbxl_resolution="hr", n_boot=a.bootstrap, out=out, seed=0,
                       threads=1, force=True, baselines=tuple(a.baseline.split(",")))
    base = res.baselines
    macro = base[base.label == "macro"].set_index("model")
    summary = {"benchmark": "probe_baselines", "checkpoint": a.checkpoint, "records": res.summary["records_scored"],
               "patients": res.summary["patients"], "folds": res.summary["folds"], "labels": res.summary["labels"],
               "bootstrap": a.bootstrap, "skipped": res.summary.get("baselines_skipped", {}),
               "seconds": round(time.time() - t0, 1), "cpu_seconds": round(time.process_time() - c0, 1),
               "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}",
               "macro": {m: {k: (None if r[k] != r[k] else round(float(r[k]), 4))
                             for k in ("auroc", "auroc_lower", "auroc_upper", "auprc", "encoder_minus_auroc",
                                       "encoder_minus_auroc_lower", "encoder_minus_auroc_upper")}
                         | {"features": r["features"]} for m, r in macro.iterrows()},
               "per_label": [{k: (None if v != v else v) for k, v in r.items()}      # (NaN is no JSON: null)
                             for r in base[base.label != "macro"][["model", "label", "n_positive", "auroc", "auroc_lower",
                                                                   "auroc_upper"]].round(4).to_dict(orient="records")]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{a.out_name}.json").write_text(json.dumps(summary, indent=1) + "\n")
    md = [f"# Linear probe on PTB-XL: encoder `{a.checkpoint}` vs baselines", "",
          f"`OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. /work/benchenv/sktime/bin/python benchmarks/probe_baselines.py` "
          f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {summary['seconds']:.0f} s, {summary['machine']}). "
          f"{summary['records']} labelled records, {summary['patients']} patients, outer folds: {summary['folds']} "
          f"(patient-disjoint), labels {', '.join(summary['labels'])}; 95% CIs: {a.bootstrap} patient resamples.", "",
          "| model | macro AUROC (95% CI) | encoder − model (paired 95% CI) | macro AUPRC |", "|---|---|---|---|"]
    for m, r in summary["macro"].items():
        d = ("–" if r["encoder_minus_auroc"] is None else
             f"{_ci(r['encoder_minus_auroc'], '+.3f')} ({_ci(r['encoder_minus_auroc_lower'], '+.3f')} to "
             f"{_ci(r['encoder_minus_auroc_upper'], '+.3f')})")
        md.append(f"| {m} | **{_ci(r['auroc'])}** ({_ci(r['auroc_lower'])}–{_ci(r['auroc_upper'])}) | {d} | "
                  f"{_ci(r['auprc'])} |")
    md += ["", "Goals: encoder − random weights >= 0.03; encoder − MiniRocket >= 0.015.", ""]
    md += [f"- `{m}`: {r['features']}" for m, r in summary["macro"].items()]
    md += [f"- `{m}` skipped: {why}" for m, why in summary["skipped"].items()]
    md += ["", "Per label (AUROC, 95% CI):", "", "| model | label | cases | AUROC (95% CI) |", "|---|---|---|---|"]
    md += [f"| {r['model']} | {r['label']} | {r['n_positive']} | {_ci(r['auroc'])} ({_ci(r['auroc_lower'])}–"
           f"{_ci(r['auroc_upper'])}) |" for r in summary["per_label"]]
    (RESULTS / f"{a.out_name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return summary


if __name__ == "__main__":
    main()
