"""Which layers and poolings of a frozen encoder to use as EDFs: encoder vs random weights (vs MiniRocket).

Issue 22 asks to measure cheap changes that may widen encoder − random weights and encoder − MiniRocket and
raise the LUDB interval R²; changing how the frozen layers are pooled needs no retraining. For the checkpoint
(default ``small``) and the same architecture with random weights (``torch.manual_seed(0)``, as
``edfgen evaluate --baseline random``), every layer's output is pooled over time (mean, SD, max; then the mean
over the two 5 s crops, as ``edfgen extract``): the conv features (``conv``), the 4 context layers (``l1``-``l4``),
the context norm (``ctx``), the masked-prediction layer (``m1``) and the final norm (``final``: the shipped EDFs
are ``final.mean``). Variants concatenate some of these.

* LUDB records 1-100: ridge-probe R² for the cardiologists' PR / QRS / QT (``edfgen.model.evaluation.ridge_probe_cv``,
  5 subject-disjoint folds of 20 consecutive records; ``benchmarks/ludb_edf_r2.py``'s protocol) for every variant.
* PTB-XL 352 labelled records: the logistic probe of ``edfgen evaluate --probe linear`` (8 patient-disjoint
  ``strat_fold`` folds, inner patient-grouped CV) for the variants in ``--probe-variants``; macro AUROC with 95% CI
  over 1000 patient resamples and encoder − random weights (and − MiniRocket when sktime is importable) with
  paired bootstrap CIs (``edfgen.model.baselines.paired_difference``).

Run: ``OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. /work/benchenv/sktime/bin/python benchmarks/edf_pooling.py``
-> ``benchmarks/results/edf_pooling.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ludb_delineation import LUDB, RESULTS, load_ludb

PTBXL = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ecg" / "ptbxl").resolve()
TARGETS = ("pr_interval_ms", "qrs_duration_ms", "qt_interval_ms")
VARIANTS = {"final.mean": ["final.mean"], "ctx.mean": ["ctx.mean"], "m1.mean": ["m1.mean"],
            "l2.mean": ["l2.mean"], "conv.mean": ["conv.mean"],
            "final+ctx": ["final.mean", "ctx.mean"], "final+m1": ["final.mean", "m1.mean"],
            "final.mean+std": ["final.mean", "final.std"], "final.mean+max": ["final.mean", "final.max"],
            "conv+final": ["conv.mean", "final.mean"],
            "all.mean": ["l1.mean", "l2.mean", "l3.mean", "l4.mean", "m1.mean", "final.mean"]}


def layer_features(model, signals: np.ndarray, crop: int, batch: int = 64) -> dict[str, np.ndarray]:
    """``{layer.pool: [N, D]}``: every layer's output pooled over time, averaged over the two crops."""
    import torch
    import torch.nn.functional as F

    from edfgen.model.data import two_crops

    model.eval()
    out: dict[str, list] = {}
    pools = {"mean": lambda t: t.mean(1), "std": lambda t: t.std(1), "max": lambda t: t.amax(1)}
    with torch.inference_mode():
        for s in range(0, len(signals), batch):
            c = two_crops(torch.from_numpy(np.ascontiguousarray(signals[s:s + batch])), crop)
            b = c.shape[0]
            f, h = model.extract(c.reshape(-1, *c.shape[2:]))
            h = model.pos_norm(h + F.gelu(model.pos_conv(h.transpose(1, 2))).transpose(1, 2))
            layers = {"conv": f}
            for i, layer in enumerate(model.layers):
                h = layer(h)
                layers[f"l{i + 1}"] = h
            layers["ctx"] = model.context_norm(h)
            for i, layer in enumerate(model.mlm_layers):
                h = layer(h)
                layers[f"m{i + 1}"] = h
            layers["final"] = model.final_norm(h)
            for k, v in layers.items():
                for p, fn in pools.items():
                    out.setdefault(f"{k}.{p}", []).append(fn(v).view(b, 2, -1).mean(1).numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def probe_data(prep) -> dict:
    """The records and folds of both probes: PTB-XL (``arr``, ``keep``, ``y``, ``names``, ``patients``, ``folds``:
    ``edfgen evaluate --probe linear``'s labels, 5 superclasses with >= 10 cases and controls, ``strat_fold``) and
    LUDB 1-100 (``ludb``, ``ludb_ids``, ``ludb_folds``: 5 x 20 consecutive records, ``targets``: cardiologists'
    PR / QRS / QT)."""
    from edfgen.formats.labels import read_label_set
    from edfgen.model.data import load_ecgs
    from edfgen.model.evaluation import patient_folds
    from edfgen.model.finetune import align_labels

    recs = {str(r["record"]): r for r in load_ludb()}
    la = load_ecgs([LUDB / "data"], prep)
    lids = [str(i) for i in la.ids]
    order = sorted(lids, key=int)
    lfolds = np.array([order.index(i) * 5 // len(order) for i in lids])
    targets = {t: np.array([recs[i]["reference"][t] for i in lids]) for t in TARGETS}
    ls = read_label_set([PTBXL], ptbxl_resolution="hr")
    arr = load_ecgs(list(ls.records), prep)
    keep, y, names = align_labels(arr.ids, ls.labels, label_names=ls.names)
    known = np.isfinite(y)
    use = (np.where(known, y, 0).sum(0) >= 10) & (np.where(known, 1 - y, 0).sum(0) >= 10)
    y, names = y[:, use], [n for n, u in zip(names, use) if u]
    patients = [ls.patients[str(arr.ids[i])] for i in keep]
    folds = patient_folds(patients, predefined=[ls.folds[str(arr.ids[i])] for i in keep], seed=0)
    return {"arr": arr, "keep": keep, "y": y, "names": names, "patients": patients, "folds": folds, "ludb": la,
            "ludb_ids": lids, "ludb_folds": lfolds, "targets": targets}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="small")
    ap.add_argument("--probe-variants", default="final.mean,m1.mean,final+ctx,final+m1")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--out-name", default="edf_pooling")
    a = ap.parse_args(argv)
    import torch

    from edfgen.model.baselines import BaselineUnavailable, baseline_features, paired_difference
    from edfgen.model.checkpoint import load_checkpoint
    from edfgen.model.encoder import ECGEncoder
    from edfgen.model.evaluation import evaluation_table, linear_probe_cv, ridge_probe_cv

    t0 = time.time()
    loaded = load_checkpoint(a.checkpoint)
    prep = loaded.preprocessing
    torch.manual_seed(0)
    models = {"encoder": loaded.model, "random": ECGEncoder(loaded.model.config).eval()}
    d = probe_data(prep)
    arr, keep, y, names, patients, folds = d["arr"], d["keep"], d["y"], d["names"], d["patients"], d["folds"]
    la, lids, lfolds, targets = d["ludb"], d["ludb_ids"], d["ludb_folds"], d["targets"]
    feats = {m: (layer_features(model, arr.signals[keep], prep.crop_samples),
                 layer_features(model, la.signals, prep.crop_samples)) for m, model in models.items()}
    res = {"benchmark": "edf_pooling", "checkpoint": a.checkpoint, "ludb_records": len(lids), "ptbxl_records": len(keep),
           "patients": len(set(patients)), "labels": names, "bootstrap": a.bootstrap, "r2": {}, "probe": {}}
    for v, keys in VARIANTS.items():
        for m in models:
            x = np.concatenate([feats[m][1][k] for k in keys], 1)
            res["r2"][f"{m}:{v}"] = {t: round(r, 4) for t, r in ridge_probe_cv(x, targets, lfolds).items()}
            res["r2"][f"{m}:{v}"]["dim"] = int(x.shape[1])
            print(m, v, res["r2"][f"{m}:{v}"], flush=True)
    try:
        mr, _ = baseline_features("minirocket", loaded, arr.signals[keep], seed=0)
        mr_prob = linear_probe_cv(mr, y, folds, groups=patients, seed=0).predictions
        res["r2"]["minirocket"] = {t: round(r, 4) for t, r in ridge_probe_cv(
            baseline_features("minirocket", loaded, la.signals, seed=0)[0], targets, lfolds).items()}
        res["r2"]["minirocket"]["dim"] = int(mr.shape[1])
    except BaselineUnavailable as exc:
        mr_prob, res["minirocket"] = None, str(exc)
    for v in a.probe_variants.split(","):
        prob = {}
        for m in models:
            x = np.concatenate([feats[m][0][k] for k in VARIANTS[v]], 1)
            prob[m] = linear_probe_cv(x, y, folds, groups=patients, seed=0).predictions
            row = evaluation_table(y, prob[m], names, groups=patients, n_boot=a.bootstrap, seed=0).iloc[-1]
            res["probe"][f"{m}:{v}"] = {"auroc": round(float(row.auroc), 4), "lower": round(float(row.auroc_lower), 4),
                                        "upper": round(float(row.auroc_upper), 4), "dim": int(x.shape[1])}
        d = paired_difference(y, prob["encoder"], prob["random"], groups=patients, n_boot=a.bootstrap, seed=0)["macro"]
        res["probe"][f"encoder:{v}"]["minus_random"] = [round(float(z), 4) for z in d]
        if mr_prob is not None:
            d = paired_difference(y, prob["encoder"], mr_prob, groups=patients, n_boot=a.bootstrap, seed=0)["macro"]
            res["probe"][f"encoder:{v}"]["minus_minirocket"] = [round(float(z), 4) for z in d]
        print(v, res["probe"][f"encoder:{v}"], res["probe"][f"random:{v}"], flush=True)
    res["seconds"] = round(time.time() - t0, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{a.out_name}.json").write_text(json.dumps(res, indent=1) + "\n")

    def ci(t):
        return "–" if t is None else f"{t[0]:+.3f} ({t[1]:+.3f} to {t[2]:+.3f})"

    md = [f"# EDF pooling variants of `{a.checkpoint}`: encoder vs random weights", "",
          f"`OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. /work/benchenv/sktime/bin/python benchmarks/edf_pooling.py` "
          f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {res['seconds']:.0f} s on the shared 2 cores); "
          "method: the script's docstring. Shipped EDFs: `final.mean`.", "",
          "PTB-XL linear probe (352 records, 338 patients, 8 patient-disjoint folds; 95% CIs over patients):", "",
          "| variant | dims | encoder AUROC (95% CI) | random weights AUROC | encoder − random (paired CI) | "
          "encoder − MiniRocket (paired CI) |", "|---|---|---|---|---|---|"]
    for v in a.probe_variants.split(","):
        e, r = res["probe"][f"encoder:{v}"], res["probe"][f"random:{v}"]
        md.append(f"| {v} | {e['dim']} | {e['auroc']:.3f} ({e['lower']:.3f}–{e['upper']:.3f}) | "
                  f"{r['auroc']:.3f} ({r['lower']:.3f}–{r['upper']:.3f}) | {ci(e['minus_random'])} | "
                  f"{ci(e.get('minus_minirocket'))} |")
    md += ["", "LUDB records 1-100, ridge-probe R² (5 subject-disjoint folds):", "",
           "| variant | dims | encoder PR / QRS / QT | random weights PR / QRS / QT |", "|---|---|---|---|"]
    for v in VARIANTS:
        e, r = res["r2"][f"encoder:{v}"], res["r2"][f"random:{v}"]
        md.append(f"| {v} | {e['dim']} | " + " / ".join(f"{e[t]:.3f}" for t in TARGETS) + " | "
                  + " / ".join(f"{r[t]:.3f}" for t in TARGETS) + " |")
    if "minirocket" in res["r2"]:
        md.append(f"| MiniRocket | {res['r2']['minirocket']['dim']} | " + " / ".join(f"{res['r2']['minirocket'][t]:.3f}" for t in TARGETS) + " | – |")
    md += ["", "MiniRocket: " + res.get("minirocket", "sktime MiniRocketMultivariate, 10,000 kernels, 100 Hz"), ""]
    (RESULTS / f"{a.out_name}.md").write_text("\n".join(md))
    print("\n".join(md))
    return res


if __name__ == "__main__":
    main()
