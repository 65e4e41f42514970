"""Real-data evaluation: checkpoints vs baselines on the shared PTB-XL records, and reject rates on every real ECG.

What is scored (all on the same records and the same patient-disjoint folds):

1. **Linear probe** (``edfgen.model.evaluation.linear_probe_cv``: L2 logistic regression on standardised
   frozen EDFs, penalty by an inner grouped CV, out-of-fold predictions) of each ``--checkpoint``
   (default: the shipped default checkpoint and ``tiny``) for the 5 PTB-XL diagnostic superclasses
   (NORM, MI, STTC, CD, HYP; every diagnostic statement counts whatever its likelihood, as the PTB-XL
   benchmark), on the 352 labelled 500 Hz records of ``../shared/data/ecg/ptbxl`` (8 ``strat_fold`` folds,
   patient-disjoint). Macro and per-label AUROC with 95% bootstrap CIs (1000 patient resamples).
2. **Baselines with the same probe and folds**: MiniRocket (sktime ``MiniRocketMultivariate``, 10,000
   random-kernel features, no labels, on the band-passed signals decimated to 100 Hz as in the PTB-XL
   benchmark's 100 Hz setting; its label-free bias fit uses all records, or each training fold with
   ``--minirocket-fit fold``); the 10 biomarkers that
   ``edfgen interpret --measure-from`` measures (``edfgen.commands.interpret.measure_biomarker_table``, NaN imputed
   by the training fold's median); the first checkpoint's architecture with random weights
   (``ECGEncoder(config)`` after ``torch.manual_seed(0)``).
3. **Fine-tuning** of the first checkpoint (``edfgen.model.finetune.finetune``: LP-FT, ``--ft-epochs``
   epochs, early stopping on a random 20% of each training fold), out-of-fold on the same folds.
4. **Ridge-probe R²** (``ridge_probe_cv``, same folds) of each feature set for age (PTB-XL ``age``) and for
   the heart rate / QRS / QT / PR that ``edfgen.kernels.ecg.biomarkers`` measures on the records (machine
   measurements, not cardiologists': the cardiologist-annotated set of issue 10 is not in ``../shared``).
5. **Reject rates** of ``edfgen.kernels.ecg.preprocess`` on every real record in ``../shared/data/ecg``
   (``ptbxl/records500``, ``ptbxl/records100``, ``cinc2021``) with reasons, and the records it changed
   (notes such as trimmed flat edges).

Run (CPU time is printed; MiniRocket's first numba compilation adds 1–2 min, cached afterwards)::

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 \\
        nice -n 15 .venv/bin/python benchmarks/real_ecg_eval.py [--checkpoint small --checkpoint tiny]

On a busy machine the parts can run in parallel into one result file, e.g. ``--methods probe,random --merge``,
``--methods biomarkers,minirocket --merge``, ``--methods finetune --merge``, ``--methods rejects --merge``; a new
checkpoint is added to existing results with ``--checkpoint NEW --methods probe,random,finetune --merge``.

sktime is a benchmark-only dependency: ``.venv/bin/pip install sktime`` (it pulls numba).
-> ``benchmarks/results/real_ecg_eval.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
ECG = (ROOT / ".." / "shared" / "data" / "ecg").resolve()
PTBXL = ECG / "ptbxl"
#: interval targets of the ridge probe (edfgen-measured) and PTB-XL age
R2_TARGETS = ("age", "heart_rate_bpm", "qrs_duration_ms", "qt_interval_ms", "pr_interval_ms")
#: figures of issue 10 for tiny etc. (different split: probe trained on these records, tested on others)
ISSUE_FIGURES = {"tiny": 0.81, "minirocket": 0.87, "biomarkers": 0.80}


METHODS = ("probe", "random", "biomarkers", "minirocket", "finetune", "rejects")


def default_checkpoints() -> list[str]:
    """The package's default checkpoint (``edfgen.DEFAULT_CHECKPOINT``) and ``tiny``."""
    import edfgen

    return list(dict.fromkeys([str(getattr(edfgen, "DEFAULT_CHECKPOINT", "tiny")), "tiny"]))


def _reason_kind(reason: str) -> str:
    """A reject reason without its record-specific numbers (to count reasons)."""
    return re.sub(r"\s+", " ", re.sub(r"[-+]?\d[\d.,:eE+-]*", "#", reason.split(" (")[0])).strip()


def reject_report(prep) -> dict:
    """Reject counts, reasons and notes of ``edfgen.kernels.ecg.preprocess`` on every real record in ``../shared``."""
    from edfgen.formats.ecg.records import RecordRejected, discover_records, read_record
    from edfgen.kernels.ecg.preprocess import preprocess_many

    out = {}
    for name, folder in (("ptbxl/records500", PTBXL / "records500"), ("ptbxl/records100", PTBXL / "records100"),
                         ("cinc2021", ECG / "cinc2021")):
        t0 = time.perf_counter()
        refs = discover_records([folder])
        rejects, notes = [], []
        for s in range(0, len(refs), 256):
            recs = []
            for ref in refs[s:s + 256]:
                try:
                    recs.append(read_record(ref))
                except RecordRejected as exc:
                    recs.append(exc)
            b = preprocess_many(recs, prep)
            rejects += b.rejects
            notes += list(getattr(b, "notes", []))
        out[name] = {"records": len(refs), "rejected": len(rejects),
                     "reject_rate": round(len(rejects) / max(len(refs), 1), 5),
                     "reasons": dict(Counter(_reason_kind(r[2]) for r in rejects).most_common()),
                     "rejected_records": [f"{r[0]}: {r[2]}" for r in rejects][:50],
                     "records_with_notes": len({n[0] for n in notes}),
                     "notes": dict(Counter(_reason_kind(n[2]) for n in notes).most_common(10)),
                     "seconds": round(time.perf_counter() - t0, 1)}
    total = sum(v["records"] for v in out.values())
    rej = sum(v["rejected"] for v in out.values())
    out["all"] = {"records": total, "rejected": rej, "reject_rate": round(rej / max(total, 1), 5)}
    return out


def _minirocket(seed: int):
    try:
        from sktime.transformations.rocket import MiniRocketMultivariate
    except ImportError:                                    # sktime < 0.30 layout
        from sktime.transformations.panel.rocket import MiniRocketMultivariate
    return MiniRocketMultivariate(num_kernels=10_000, random_state=seed, n_jobs=1)


def minirocket_probe(signals: np.ndarray, y: np.ndarray, folds: np.ndarray, patients, *, seed: int,
                     decimate: int, per_fold: bool) -> tuple[np.ndarray, np.ndarray, dict]:
    """Out-of-fold probabilities of the logistic probe on MiniRocket features.

    MiniRocket's fit sees no label: it draws each kernel's biases from quantiles of its convolution output on
    random training examples. ``per_fold`` fits it on each training fold (test signals unseen); otherwise it is
    fitted once on all records (label-free, transductive) and the features are shared by the folds.
    Returns (probabilities, the features fitted on all records or on the last fold, info).
    """
    from scipy.signal import decimate as sp_decimate

    from edfgen.model.evaluation import linear_probe_cv

    x = signals.astype(np.float64)
    if decimate > 1:
        x = sp_decimate(x, decimate, axis=-1, zero_phase=True)
    x = np.ascontiguousarray(x)
    t0 = time.perf_counter()
    if not per_fold:
        feats = np.asarray(_minirocket(seed).fit_transform(x), dtype=np.float64)
        info = {"fit": "once on all records (label-free)", "fit_transform_seconds": round(time.perf_counter() - t0, 1)}
        pred = linear_probe_cv(feats, y, folds, groups=patients, seed=seed).predictions
        return pred, feats, {**info, "features": int(feats.shape[1]), "input_hz": 500 // decimate}
    pred = np.full(y.shape, np.nan)
    for f in np.unique(folds):
        train = folds != f
        feats = np.asarray(_minirocket(seed).fit(x[train]).transform(x), dtype=np.float64)
        # fold f is the probe's only held-out fold; the other folds are its training data
        res = linear_probe_cv(feats, y, np.where(train, 0, 1), groups=patients, seed=seed, test_folds=[1])
        pred[~train] = res.predictions[~train]
    return pred, feats, {"fit": "on each training fold", "features": int(feats.shape[1]), "input_hz": 500 // decimate,
                         "fit_transform_seconds": round(time.perf_counter() - t0, 1)}


def finetune_oof(checkpoint: str, signals: np.ndarray, ids: list[str], y: np.ndarray, names: list[str],
                 folds: np.ndarray, *, epochs: int, seed: int) -> tuple[np.ndarray, list[dict]]:
    """Out-of-fold probabilities of models fine-tuned (LP-FT) on each training fold."""
    from edfgen.model.checkpoint import load_checkpoint
    from edfgen.model.finetune import FinetuneSettings, finetune, predict

    crop = load_checkpoint(checkpoint).preprocessing.crop_samples
    labels = pd.DataFrame(y, columns=names)
    labels.insert(0, "IID", ids)
    pred = np.full(y.shape, np.nan)
    log = []
    for f in np.unique(folds):
        train = np.flatnonzero(folds != f)
        test = np.flatnonzero(folds == f)
        t0 = time.perf_counter()
        res = finetune(signals[train], [ids[i] for i in train], labels.iloc[train], checkpoint=checkpoint,
                       settings=FinetuneSettings(epochs=epochs, patience=2, batch_size=32, seed=seed))
        pred[test] = predict(res.model, signals[test], crop)
        log.append({"fold": int(f), "best_epoch": res.best_epoch, "best_val_mean_auroc": round(res.best_val_auroc, 4),
                    "seconds": round(time.perf_counter() - t0, 1)})
        print(f"  finetune fold {f}: {log[-1]} ({time.process_time():.0f} s CPU)", flush=True)
    return pred, log


def _summary(table: pd.DataFrame) -> dict:
    t = table.set_index("label")
    return {"macro_auroc": round(float(t.loc["macro", "auroc"]), 4),
            "macro_auroc_ci": [round(float(t.loc["macro", "auroc_lower"]), 4), round(float(t.loc["macro", "auroc_upper"]), 4)],
            "macro_auprc": round(float(t.loc["macro", "auprc"]), 4),
            "per_label_auroc": {k: round(float(v), 4) for k, v in t["auroc"].drop("macro").items()},
            "per_label_auroc_ci": {k: [round(float(t.loc[k, "auroc_lower"]), 4), round(float(t.loc[k, "auroc_upper"]), 4)]
                                   for k in t.index if k != "macro"}}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", action="append", default=None,
                    help="checkpoint name or path (repeatable; default: the shipped default and tiny); the first "
                         "one is also fine-tuned and gives the random-weights architecture")
    ap.add_argument("--ft-epochs", type=int, default=2, help="fine-tuning epochs per fold (0: skip fine-tuning)")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minirocket-decimate", type=int, default=5, help="500 Hz / this = MiniRocket input rate")
    ap.add_argument("--minirocket-fit", choices=["all", "fold"], default="all",
                    help="fit MiniRocket's (label-free) biases once on all records, or on each training fold (8x the CPU)")
    ap.add_argument("--methods", default=",".join(METHODS),
                    help=f"comma-separated subset of {','.join(METHODS)} (default: all)")
    ap.add_argument("--merge", action="store_true",
                    help="update results/<out-name>.json (same records) with the methods run now instead of "
                         "rewriting it: runs of different --methods may go in parallel, or a new checkpoint be added")
    ap.add_argument("--out-name", default="real_ecg_eval")
    ap.add_argument("--save-predictions", action="store_true",
                    help="also write each method's out-of-fold probabilities (+ labels, patients, folds) to "
                         "results/<out-name>_predictions.tsv, for paired comparisons between runs")
    a = ap.parse_args(argv)
    methods = set(a.methods.split(","))
    if methods - set(METHODS):
        ap.error(f"--methods: unknown {sorted(methods - set(METHODS))}")

    import torch

    from edfgen.kernels.ecg.biomarkers import BIOMARKER_COLUMNS
    from edfgen.commands.interpret import measure_biomarker_table
    from edfgen.model.checkpoint import load_checkpoint
    from edfgen.model.data import embed_ecgs, load_ecgs
    from edfgen.model.encoder import ECGEncoder
    from edfgen.formats.labels import PTBXL_SUPERCLASSES, read_ptbxl
    from edfgen.model.evaluation import evaluation_table, linear_probe_cv, patient_folds, ridge_probe_cv

    torch.set_num_threads(1)
    t_start, cpu_start = time.perf_counter(), time.process_time()
    checkpoints = a.checkpoint or default_checkpoints()
    loaded = {c: load_checkpoint(c) for c in checkpoints}
    primary = loaded[checkpoints[0]]
    names = list(PTBXL_SUPERCLASSES)

    # records, labels, folds (the records every method can use)
    ls = read_ptbxl(PTBXL, resolution="hr")
    signals_by_prep, ids_sets = {}, []
    for c, m in loaded.items():
        key = json.dumps(m.preprocessing.to_dict(), sort_keys=True)
        if key not in signals_by_prep:
            arr = load_ecgs(list(ls.records), m.preprocessing)
            signals_by_prep[key] = (arr, m.preprocessing)
            ids_sets.append(set(arr.ids))
    print(f"{len(ls.records)} labelled records read", flush=True)
    meas, meas_rejects = measure_biomarker_table(list(ls.records))
    print(f"biomarkers measured ({time.process_time() - cpu_start:.0f} s CPU)", flush=True)
    ids_sets.append(set(meas["IID"]))
    ids = [i for i in ls.labels["IID"] if all(i in s for s in ids_sets)]
    lab = ls.labels.set_index("IID").loc[ids, names].to_numpy(float)
    patients = [ls.patients[i] for i in ids]
    folds = patient_folds(patients, predefined=[ls.folds[i] for i in ids])
    db = pd.read_csv(PTBXL / "ptbxl_database.csv")
    db["IID"] = db["filename_hr"].str.split("/").str[-1]
    age = db.set_index("IID").loc[ids, "age"].to_numpy(float)
    age[age >= 300] = np.nan                                  # PTB-XL codes ages over 89 as 300
    meas = meas.set_index("IID").loc[ids]
    targets = {"age": age, **{k: meas[k].to_numpy(float) for k in R2_TARGETS[1:]}}

    def signals_for(m):
        arr, _ = signals_by_prep[json.dumps(m.preprocessing.to_dict(), sort_keys=True)]
        pos = {r: k for k, r in enumerate(arr.ids)}
        return arr.signals[[pos[i] for i in ids]]

    res: dict = {"benchmark": "real_ecg_eval", "data": str(PTBXL.relative_to(ECG.parent.parent)),
                 "records": len(ids), "patients": len(set(patients)), "folds": "PTB-XL strat_fold (8, patient-disjoint)",
                 "label_convention": "diagnostic==1 statements whatever their likelihood -> diagnostic_class",
                 "prevalence": dict(zip(names, lab.mean(0).round(4).tolist())), "bootstrap": a.bootstrap,
                 "label_notes": ls.notes, "methods": {}, "ridge_r2": {}, "threads": 1,
                 "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"}

    res["records_sha256"] = hashlib.sha256("\n".join(ids).encode()).hexdigest()
    run_key = f"{a.out_name}:{os.getpid()}:{a.methods}"

    def save() -> str:
        """(Re)write the results after every method, so an interrupted run keeps what it measured; with --merge,
        under a lock, into the existing file (its other methods kept)."""
        import fcntl

        res["runs"] = {run_key: {"methods": a.methods, "checkpoints": checkpoints,
                                 "seconds": round(time.perf_counter() - t_start, 1),
                                 "cpu_seconds": round(time.process_time() - cpu_start, 1),
                                 "machine": res["machine"]}}
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{a.out_name}.json"
        with open(Path(tempfile.gettempdir()) / f"edfgen-{a.out_name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            out = res
            if a.merge and path.exists():
                old = json.loads(path.read_text())
                if old.get("records_sha256") != res["records_sha256"]:
                    raise SystemExit(f"--merge: {path} was computed on other records")
                out = {**old, **{k: v for k, v in res.items() if k not in ("methods", "ridge_r2", "runs")}}
                for key in ("methods", "ridge_r2", "runs"):
                    out[key] = {**old.get(key, {}), **res.get(key, {})}
                if "rejects" not in res and "rejects" in old:
                    out["rejects"] = old["rejects"]
            out["seconds"] = round(sum(r["seconds"] for r in out["runs"].values()), 1)
            out["cpu_seconds"] = round(sum(r["cpu_seconds"] for r in out["runs"].values()), 1)
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(out, indent=1) + "\n")
            tmp.replace(path)
            md = render(out)
            (RESULTS / f"{a.out_name}.md").write_text(md)
        return md

    saved = pd.DataFrame({"IID": ids, "patient_id": patients, "fold": folds,
                          **{f"y_{k}": lab[:, j] for j, k in enumerate(names)}})

    def score(name: str, prob: np.ndarray, extra: dict) -> None:
        if a.save_predictions:
            for j, k in enumerate(names):
                saved[f"p_{name}_{k}"] = prob[:, j]
            saved.to_csv(RESULTS / f"{a.out_name}_predictions.tsv", sep="\t", index=False)
        table = evaluation_table(lab, prob, names, groups=patients, n_boot=a.bootstrap, seed=a.seed)
        res["methods"][name] = {**_summary(table), **extra}
        m = res["methods"][name]
        print(f"{name}: macro AUROC {m['macro_auroc']} {m['macro_auroc_ci']} ({time.process_time() - cpu_start:.0f} s CPU)",
              flush=True)
        save()

    def probe_features(name: str, feats: np.ndarray, extra: dict, r2: bool = True) -> None:
        t0 = time.perf_counter()
        pr = linear_probe_cv(feats, lab, folds, groups=patients, seed=a.seed)
        extra = {**extra, "probe_seconds": round(time.perf_counter() - t0, 1)}
        score(name, pr.predictions, extra)
        if r2:
            res["ridge_r2"][name] = {k: round(v, 4) for k, v in ridge_probe_cv(feats, targets, folds).items()}

    # 1. checkpoints (linear probe on frozen EDFs)
    for c, m in loaded.items() if "probe" in methods else ():
        t0 = time.perf_counter()
        feats = embed_ecgs(m.model, signals_for(m), m.preprocessing.crop_samples)
        probe_features(f"probe:{c}", feats, {"kind": "linear probe on frozen EDFs", "checkpoint": str(m.path),
                                             "sha256": m.sha256, "edf_dim": int(feats.shape[1]),
                                             "embed_seconds": round(time.perf_counter() - t0, 1)})
    # 2a. random weights, same architecture as the first checkpoint
    if "random" in methods:
        torch.manual_seed(0)
        rand = ECGEncoder(primary.config).eval()
        feats = embed_ecgs(rand, signals_for(primary), primary.preprocessing.crop_samples)
        probe_features(f"random:{primary.config.name}", feats,
                       {"kind": f"ECGEncoder({primary.config.name}) random weights, torch.manual_seed(0)"})
    # 2b. measured biomarkers
    bcols = [c for c in BIOMARKER_COLUMNS if c != "n_beats"]
    if "biomarkers" in methods:
        probe_features("biomarkers", meas[bcols].to_numpy(float),
                       {"kind": f"the {len(bcols)} biomarkers of interpret --measure-from", "columns": bcols,
                        "records_with_nan": int(meas[bcols].isna().any(axis=1).sum())}, r2=False)
    # 2c. MiniRocket
    if "minirocket" in methods:
        import sktime

        t0 = time.perf_counter()
        prob, feats, info = minirocket_probe(signals_for(primary), lab, folds, patients, seed=a.seed,
                                             decimate=a.minirocket_decimate, per_fold=a.minirocket_fit == "fold")
        score("minirocket", prob, {"kind": f"sktime {sktime.__version__} MiniRocketMultivariate, 10,000 kernels, "
                                           f"{info['input_hz']} Hz, fitted {info['fit']}",
                                   **info, "seconds": round(time.perf_counter() - t0, 1)})
        res["ridge_r2"]["minirocket"] = {k: round(v, 4) for k, v in ridge_probe_cv(feats, targets, folds).items()}
    # 3. fine-tuning of the first checkpoint
    if "finetune" in methods and a.ft_epochs > 0:
        t0 = time.perf_counter()
        prob, log = finetune_oof(checkpoints[0], signals_for(primary), ids, lab, names, folds, epochs=a.ft_epochs,
                                 seed=a.seed)
        score(f"finetune:{checkpoints[0]}", prob, {"kind": f"LP-FT, {a.ft_epochs} epochs per phase, out of fold",
                                                   "folds": log, "seconds": round(time.perf_counter() - t0, 1)})
    res["measure_rejects"] = int(len(meas_rejects))
    # 4. reject rates on every real record
    if "rejects" in methods:
        res["rejects"] = reject_report(primary.preprocessing)
    md = save()
    print(md)
    return res


def render(res: dict) -> str:
    """The Markdown report of a result dict."""
    names = list(res["prevalence"])
    lines = ["# Real-data evaluation: PTB-XL 5-superclass macro AUROC", "",
             f"{res['records']} labelled 500 Hz PTB-XL records of `../shared/data/ecg/ptbxl` ({res['patients']} patients), "
             f"{res['folds']}; labels: {res['label_convention']} (prevalence "
             + ", ".join(f"{k} {v:.2f}" for k, v in res["prevalence"].items()) + "). Out-of-fold predictions; "
             f"95% CIs from {res['bootstrap']} patient bootstrap resamples. {res['machine']}; "
             f"{res['seconds']} s wall, {res.get('cpu_seconds', float('nan'))} s CPU (1 thread).", "",
             "| method | macro AUROC (95% CI) | " + " | ".join(names) + " | what |",
             "|---|---|" + "---|" * len(names) + "---|"]
    for name, m in res["methods"].items():
        lines.append(f"| {name} | **{m['macro_auroc']:.3f}** ({m['macro_auroc_ci'][0]:.3f}–{m['macro_auroc_ci'][1]:.3f}) | "
                     + " | ".join(f"{m['per_label_auroc'][k]:.3f}" for k in names) + f" | {m['kind']} |")
    lines += ["", "Issue 10's figures on another split (probe trained on these records, tested on other PTB-XL records): "
              + ", ".join(f"{k} {v}" for k, v in ISSUE_FIGURES.items()) + ".", ""]
    if res["ridge_r2"]:
        tg = list(next(iter(res["ridge_r2"].values())))
        lines += ["Cross-validated R² of a ridge probe (same folds; intervals and heart rate as measured by "
                  "`edfgen.kernels.ecg.biomarkers` on the records, not by cardiologists):", "",
                  "| features | " + " | ".join(tg) + " |", "|---|" + "---|" * len(tg)]
        lines += [f"| {k} | " + " | ".join(f"{v[t]:.3f}" for t in tg) + " |" for k, v in res["ridge_r2"].items()]
        lines.append("")
    if "rejects" in res:
        lines += ["Reject rates of `edfgen.kernels.ecg.preprocess` on every real record in `../shared/data/ecg`:", "",
                  "| records | n | rejected | rate | reasons | changed (notes) |", "|---|---|---|---|---|---|"]
        for k, v in res["rejects"].items():
            if k == "all":
                continue
            lines.append(f"| {k} | {v['records']} | {v['rejected']} | {100 * v['reject_rate']:.2f}% | "
                         + ("; ".join(f"{r}: {n}" for r, n in v["reasons"].items()) or "–") + " | "
                         + (f"{v['records_with_notes']} ({'; '.join(f'{r}: {n}' for r, n in v['notes'].items())})"
                            if v["records_with_notes"] else "0") + " |")
        al = res["rejects"]["all"]
        lines += [f"| all | {al['records']} | {al['rejected']} | {100 * al['reject_rate']:.2f}% | | |", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
