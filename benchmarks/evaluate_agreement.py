"""``edfgen evaluate`` end to end on the shipped weights against ``benchmarks/real_ecg_eval.py``'s figures.

Runs the console command (a subprocess: parsing, the quick exit and the exit status included)::

    edfgen evaluate --checkpoint small --ecg ../shared/data/ecg/ptbxl --probe linear \\
        --baseline random,biomarkers,minirocket --threads 1 --out DIR

with this interpreter (run it with the sktime benchmark venv so that MiniRocket is scored) and compares every
model's macro and per-label AUROC and macro 95% CI in ``DIR/baselines.tsv`` with the same method in
``benchmarks/results/real_ecg_eval.json`` (same 352 PTB-XL records, ``strat_fold`` folds, probe, seed and
1000 patient resamples). The encoder, random weights and MiniRocket see the same preprocessed signals in both and
must agree to the printed precision; the biomarkers need not: ``evaluate`` measures them on the checkpoint's
preprocessed signals (``edfgen.model.baselines.baseline_features``: 0.5–100 Hz band-pass, notch, the 10 s
window), ``real_ecg_eval.py`` on the raw records as ``interpret --measure-from`` does
(``measure_biomarker_table``). With ``--plain-python P`` (an interpreter without sktime) it also runs
``--baseline minirocket`` there and keeps what the command says about the skipped baseline.

Run: ``OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. /work/benchenv/sktime/bin/python benchmarks/evaluate_agreement.py
--plain-python .venv/bin/python`` -> ``benchmarks/results/evaluate_agreement.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PTBXL = (ROOT / ".." / "shared" / "data" / "ecg" / "ptbxl").resolve()
#: model in baselines.tsv -> method in real_ecg_eval.json (``{checkpoint}`` filled in)
METHODS = {"encoder": "probe:{checkpoint}", "random": "random:{checkpoint}", "biomarkers": "biomarkers",
           "minirocket": "minirocket"}


def run_cli(python: str, args: list[str]) -> dict:
    """Run ``python -m edfgen evaluate ARGS``; exit status, wall and child CPU seconds, stdout and stderr."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    r = subprocess.run([python, "-m", "edfgen", "evaluate", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"python": python, "args": args, "returncode": r.returncode, "seconds": round(time.perf_counter() - t0, 1),
            "cpu_seconds": round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1),
            "stdout": r.stdout, "stderr": r.stderr, "traceback": "Traceback" in r.stderr}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="small")
    ap.add_argument("--plain-python", default=None, help="an interpreter without sktime (the skipped-baseline check)")
    ap.add_argument("--reference", type=Path, default=RESULTS / "real_ecg_eval.json")
    ap.add_argument("--out-name", default="evaluate_agreement")
    ap.add_argument("--render", action="store_true", help="only rewrite the .md from the stored .json")
    a = ap.parse_args(argv)
    if a.render:
        res = json.loads((RESULTS / f"{a.out_name}.json").read_text())
        (RESULTS / f"{a.out_name}.md").write_text(render(res))
        return res
    ref = json.loads(a.reference.read_text())
    common = ["--checkpoint", a.checkpoint, "--ecg", str(PTBXL), "--probe", "linear", "--threads", "1"]
    res: dict = {"benchmark": "evaluate_agreement", "checkpoint": a.checkpoint, "reference": str(a.reference.relative_to(ROOT)),
                 "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"}
    with tempfile.TemporaryDirectory(prefix="edfgen-evaluate-agreement-") as tmp:
        out = Path(tmp) / "full"
        run = run_cli(sys.executable, [*common, "--baseline", "random,biomarkers,minirocket", "--out", str(out)])
        res["full"] = {k: v for k, v in run.items() if k != "stderr"} | {"stderr_tail": run["stderr"][-2000:]}
        if run["returncode"] != 0:
            raise SystemExit(f"edfgen evaluate failed ({run['returncode']}):\n{run['stderr'][-3000:]}")
        manifest = json.loads((out / "manifest.json").read_text())
        res["checkpoint_sha256"] = manifest["extra"]["checkpoint_sha256"]
        base = pd.read_csv(out / "baselines.tsv", sep="\t")
        rows = []
        for model, key in METHODS.items():
            key = key.format(checkpoint=a.checkpoint)
            sub = base[base.model == model].set_index("label")
            if sub.empty or key not in ref["methods"]:
                rows.append({"model": model, "reference_method": key, "missing": True})
                continue
            m = ref["methods"][key]
            per = {k: round(float(sub.loc[k, "auroc"]), 4) for k in m["per_label_auroc"]}
            row = {"model": model, "reference_method": key,
                   "evaluate_macro": round(float(sub.loc["macro", "auroc"]), 4),
                   "evaluate_ci": [round(float(sub.loc["macro", "auroc_lower"]), 4),
                                   round(float(sub.loc["macro", "auroc_upper"]), 4)],
                   "reference_macro": m["macro_auroc"], "reference_ci": m["macro_auroc_ci"],
                   "evaluate_per_label": per, "reference_per_label": m["per_label_auroc"],
                   "max_abs_difference": round(max([abs(per[k] - m["per_label_auroc"][k]) for k in per]
                                                   + [abs(row_v - ref_v) for row_v, ref_v in zip(
                                                       [float(sub.loc["macro", c]) for c in ("auroc", "auroc_lower", "auroc_upper")],
                                                       [m["macro_auroc"], *m["macro_auroc_ci"]])]), 4)}
            if model != "encoder":
                row["encoder_minus"] = [round(float(sub.loc["macro", c]), 4) for c in
                                        ("encoder_minus_auroc", "encoder_minus_auroc_lower", "encoder_minus_auroc_upper")]
            rows.append(row)
        res["comparison"] = rows
        res["reference_sha256"] = ref["methods"].get(METHODS["encoder"].format(checkpoint=a.checkpoint), {}).get("sha256")
    if a.plain_python:
        with tempfile.TemporaryDirectory(prefix="edfgen-evaluate-agreement-") as tmp:
            run = run_cli(a.plain_python, [*common, "--baseline", "minirocket", "--bootstrap", "100",
                                           "--out", str(Path(tmp) / "plain")])
        res["without_sktime"] = {k: v for k, v in run.items() if k != "stderr"} | {"stderr_tail": run["stderr"][-2000:]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{a.out_name}.json").write_text(json.dumps(res, indent=1) + "\n")
    md = render(res)
    (RESULTS / f"{a.out_name}.md").write_text(md)
    print(md)
    return res


def render(res: dict) -> str:
    """The Markdown report."""
    f = res["full"]
    lines = [f"# `edfgen evaluate` end to end vs `real_ecg_eval.py` (checkpoint `{res['checkpoint']}`)", "",
             f"`{' '.join(['edfgen evaluate', *f['args']])}` run by `{f['python']}`: exit status {f['returncode']}, "
             f"traceback on stderr: {f['traceback']}; {f['seconds']} s wall, {f['cpu_seconds']} s CPU ({res['machine']}). "
             f"Weights sha256 {res['checkpoint_sha256'][:12]}… (reference file: {res['reference_sha256'] and res['reference_sha256'][:12]}…). "
             f"Reference: `{res['reference']}` (same records, folds, probe, seed, bootstrap).", "",
             "| model | evaluate macro AUROC (95% CI) | real_ecg_eval (95% CI) | max abs difference (macro, CI, per label) | encoder − model (paired 95% CI) |",
             "|---|---|---|---|---|"]
    for r in res["comparison"]:
        if r.get("missing"):
            lines.append(f"| {r['model']} | – | not in the reference (`{r['reference_method']}`) | – | – |")
            continue
        d = r.get("encoder_minus")
        lines.append(f"| {r['model']} | {r['evaluate_macro']:.4f} ({r['evaluate_ci'][0]:.4f}–{r['evaluate_ci'][1]:.4f}) | "
                     f"{r['reference_macro']:.4f} ({r['reference_ci'][0]:.4f}–{r['reference_ci'][1]:.4f}) | "
                     f"{r['max_abs_difference']:.4f} | "
                     + (f"{d[0]:+.4f} ({d[1]:+.4f} to {d[2]:+.4f})" if d else "–") + " |")
    lines += ["", "The biomarkers are measured on different inputs (the script's docstring), so they may differ; "
              "the other models must agree.", "", "Console output:", "", "```", f["stdout"].rstrip(), "```", ""]
    if "without_sktime" in res:
        w = res["without_sktime"]
        lines += [f"Without sktime (`{w['python']}`, `--baseline minirocket`): exit status {w['returncode']}, "
                  f"traceback: {w['traceback']}, {w['cpu_seconds']} s CPU. Console:", "", "```",
                  (w["stdout"] + w["stderr_tail"]).rstrip(), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
