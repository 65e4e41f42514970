"""Paired comparison of two runs of ``real_ecg_eval.py --save-predictions`` on the same records and folds.

For every method present in both prediction files (``p_<method>_<label>`` columns; the checkpoint part of a
``finetune:<checkpoint>`` / ``probe:<checkpoint>`` name is dropped so that runs of different checkpoints pair up),
macro AUROC of run A minus run B with a percentile bootstrap 95% CI over patients, the same resamples for both
(``edfgen.model.baselines.paired_difference``, 1000 resamples, seed 0 as in ``real_ecg_eval.py``).

Run (the shipped weights against the first-stage ones, fine-tuning)::

    PYTHONPATH=. .venv/bin/python benchmarks/real_ecg_eval.py --checkpoint small --methods finetune \\
        --save-predictions --out-name ft_paired_shipped
    PYTHONPATH=. .venv/bin/python benchmarks/real_ecg_eval.py --checkpoint STAGE1.json --methods finetune \\
        --save-predictions --out-name ft_paired_stage1
    PYTHONPATH=. .venv/bin/python benchmarks/finetune_paired.py ft_paired_shipped ft_paired_stage1

-> ``benchmarks/results/finetune_paired.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def methods(table: pd.DataFrame, labels: list[str]) -> dict[str, list[str]]:
    """``{method without its checkpoint: [its probability columns in label order]}``."""
    out: dict[str, list[str]] = {}
    for c in table.columns:
        if c.startswith("p_") and c.endswith(f"_{labels[0]}"):
            name = c[2:-len(labels[0]) - 1]
            out[name.split(":")[0]] = [f"p_{name}_{k}" for k in labels]
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a", help="out-name of run A (results/<a>_predictions.tsv)")
    ap.add_argument("b", help="out-name of run B")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--out-name", default="finetune_paired")
    args = ap.parse_args(argv)
    from edfgen.model.baselines import paired_difference

    ta = pd.read_csv(RESULTS / f"{args.a}_predictions.tsv", sep="\t", dtype={"IID": str, "patient_id": str})
    tb = pd.read_csv(RESULTS / f"{args.b}_predictions.tsv", sep="\t", dtype={"IID": str, "patient_id": str})
    if list(ta["IID"]) != list(tb["IID"]) or list(ta["fold"]) != list(tb["fold"]):
        raise SystemExit("the two runs scored different records or folds")
    labels = [c[2:] for c in ta.columns if c.startswith("y_")]
    y = ta[[f"y_{k}" for k in labels]].to_numpy(float)
    if not np.array_equal(y, tb[[f"y_{k}" for k in labels]].to_numpy(float), equal_nan=True):
        raise SystemExit("the two runs have different labels")
    ma, mb = methods(ta, labels), methods(tb, labels)
    meta = {r: json.loads((RESULTS / f"{r}.json").read_text()) for r in (args.a, args.b)}
    res = {"benchmark": "finetune_paired", "a": args.a, "b": args.b, "records": len(ta),
           "patients": int(ta["patient_id"].nunique()), "bootstrap": args.bootstrap, "labels": labels,
           "sha256": {r: {k: v.get("sha256") for k, v in m["methods"].items()} for r, m in meta.items()},
           "runs": {r: {k: m["methods"][k]["macro_auroc"] for k in m["methods"]} for r, m in meta.items()},
           "differences": {}}
    for m in sorted(set(ma) & set(mb)):
        d = paired_difference(y, ta[ma[m]].to_numpy(float), tb[mb[m]].to_numpy(float), groups=ta["patient_id"],
                              n_boot=args.bootstrap, seed=0)
        res["differences"][m] = {"macro": [round(v, 4) for v in d["macro"]],
                                 **{k: [round(v, 4) for v in d[str(j)]] for j, k in enumerate(labels)}}
    (RESULTS / f"{args.out_name}.json").write_text(json.dumps(res, indent=1) + "\n")
    md = [f"# Paired AUROC difference: `{args.a}` − `{args.b}`", "",
          f"{res['records']} records, {res['patients']} patients, same folds; 95% CIs from {args.bootstrap} patient "
          "resamples shared by both runs. Macro AUROC of each run: "
          + "; ".join(f"`{r}` " + ", ".join(f"{k} {v}" for k, v in runs.items()) for r, runs in res["runs"].items()) + ".",
          "", "| method | macro A − B (95% CI) | " + " | ".join(labels) + " |", "|---|---|" + "---|" * len(labels)]
    for m, d in res["differences"].items():
        md.append(f"| {m} | **{d['macro'][0]:+.4f}** ({d['macro'][1]:+.4f} to {d['macro'][2]:+.4f}) | "
                  + " | ".join(f"{d[k][0]:+.3f}" for k in labels) + " |")
    (RESULTS / f"{args.out_name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return res


if __name__ == "__main__":
    main()
