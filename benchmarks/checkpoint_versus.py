"""A candidate checkpoint against the shipped one on the same records: paired PTB-XL probe difference and LUDB R².

Both checkpoints' frozen EDFs go through ``edfgen evaluate --probe linear``'s probe (PTB-XL 352 labelled records,
8 patient-disjoint ``strat_fold`` folds, logistic probe with inner patient-grouped CV, seed 0); candidate − shipped
macro AUROC with a paired percentile bootstrap 95% CI over the same 1000 patient resamples
(``edfgen.model.baselines.paired_difference``). The random-weights and MiniRocket baselines do not depend on the
weights, so encoder − baseline changes by exactly this difference (``benchmarks/probe_baselines.py`` gives each).
LUDB records 1-100: ridge-probe R² of PR / QRS / QT as ``benchmarks/ludb_edf_r2.py``.

Run: ``OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. .venv/bin/python benchmarks/checkpoint_versus.py --candidate
runs/small_all/checkpoint [--shipped small]`` -> ``benchmarks/results/checkpoint_versus.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import time


from edf_pooling import TARGETS, probe_data
from ludb_delineation import RESULTS


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--candidate", required=True)
    ap.add_argument("--shipped", default="small")
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--out-name", default="checkpoint_versus")
    a = ap.parse_args(argv)
    from edfgen.model.baselines import paired_difference
    from edfgen.model.checkpoint import load_checkpoint
    from edfgen.model.data import embed_ecgs
    from edfgen.model.evaluation import evaluation_table, linear_probe_cv, ridge_probe_cv

    t0 = time.time()
    models = {"shipped": load_checkpoint(a.shipped), "candidate": load_checkpoint(a.candidate)}
    prep = models["shipped"].preprocessing
    assert models["candidate"].preprocessing == prep and models["candidate"].config == models["shipped"].config
    d = probe_data(prep)
    arr, keep, y, names, patients, folds = d["arr"], d["keep"], d["y"], d["names"], d["patients"], d["folds"]
    la, lfolds, targets = d["ludb"], d["ludb_folds"], d["targets"]
    res = {"benchmark": "checkpoint_versus", "shipped": str(a.shipped), "candidate": str(a.candidate),
           "candidate_sha256": models["candidate"].sha256, "shipped_sha256": models["shipped"].sha256,
           "records": len(keep), "patients": len(set(patients)), "bootstrap": a.bootstrap, "models": {}}
    prob = {}
    for m, loaded in models.items():
        x = embed_ecgs(loaded.model, arr.signals[keep], prep.crop_samples)
        prob[m] = linear_probe_cv(x, y, folds, groups=patients, seed=0).predictions
        row = evaluation_table(y, prob[m], names, groups=patients, n_boot=a.bootstrap, seed=0).iloc[-1]
        r2 = ridge_probe_cv(embed_ecgs(loaded.model, la.signals, prep.crop_samples), targets, lfolds)
        res["models"][m] = {"auroc": [round(float(row.auroc), 4), round(float(row.auroc_lower), 4),
                                      round(float(row.auroc_upper), 4)], "r2": {t: round(v, 4) for t, v in r2.items()}}
        print(m, res["models"][m], flush=True)
    d = paired_difference(y, prob["candidate"], prob["shipped"], groups=patients, n_boot=a.bootstrap, seed=0)
    res["candidate_minus_shipped"] = [round(float(v), 4) for v in d["macro"]]
    res["seconds"] = round(time.time() - t0, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{a.out_name}.json").write_text(json.dumps(res, indent=1) + "\n")
    c, s, dd = res["models"]["candidate"], res["models"]["shipped"], res["candidate_minus_shipped"]
    md = [f"# Candidate checkpoint vs shipped `{a.shipped}` (same records, same probes)", "",
          f"`OMP_NUM_THREADS=1 nice -n 15 PYTHONPATH=. .venv/bin/python benchmarks/checkpoint_versus.py --candidate "
          f"{a.candidate}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {res['seconds']:.0f} s); method: "
          "the script's docstring.", "",
          "| checkpoint | PTB-XL macro AUROC (95% CI) | LUDB R² PR / QRS / QT |", "|---|---|---|"]
    for name, r in (("shipped", s), ("candidate", c)):
        md.append(f"| {name} (sha256 {res[name + '_sha256'][:12]}) | {r['auroc'][0]:.3f} ({r['auroc'][1]:.3f}–"
                  f"{r['auroc'][2]:.3f}) | " + " / ".join(f"{r['r2'][t]:.3f}" for t in TARGETS) + " |")
    md += ["", f"Candidate − shipped macro AUROC (paired 95% CI): **{dd[0]:+.3f} ({dd[1]:+.3f} to {dd[2]:+.3f})**; "
           "encoder − random weights and encoder − MiniRocket change by the same amount.", ""]
    (RESULTS / f"{a.out_name}.md").write_text("\n".join(md))
    print("\n".join(md))
    return res


if __name__ == "__main__":
    main()
