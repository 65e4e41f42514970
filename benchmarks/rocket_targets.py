"""MiniRocket targets for ``encoder_distill.py --w-rocket`` (issue 22 item 2, fifth round): random convolutional
features of every cached training crop, reduced by PCA, to be regressed from the encoder's pooled final layer.

For each training recording of ``encoder_distill.py``'s cache (the real ECGs of ``TRAIN_FOLDERS`` — ``ludb_dev``
and nothing labelled is read — then the simulated ones, same seeds) and each of its two cached views (fixed
crops; jittered and augmented crops, regenerated bit for bit by ``encoder_distill.view_crops``), both 5 s crops are
decimated to 100 Hz (``scipy.signal.decimate``, zero phase, as the MiniRocket baseline of
``edfgen.model.baselines``) and transformed by sktime's ``MiniRocketMultivariate`` (10,000 kernels, seed 0, as
the baseline). The transform's biases are fitted without labels on ``--fit-crops`` fixed crops drawn from the
training recordings only (never the PTB-XL probe records' labels or LUDB); each feature is standardised and the
standardised features reduced by PCA to ``--components`` components (both fitted on the fixed-view crops of the
training recordings), each component scaled to unit variance.

Why: the MiniRocket baseline beats the encoder's linear probe on PTB-XL (0.868 vs 0.855); regressing its
principal components from the 128 EDFs (a linear head dropped after training) asks the top layers to carry the
global information MiniRocket has.

References: Dempster A, Schmidt DF, Webb GI. MiniRocket: a very fast (almost) deterministic transform for time
series classification. KDD 2021. doi:10.1145/3447548.3467231. Hinton G, Vinyals O, Dean J. Distilling the
knowledge in a neural network. arXiv:1503.02531 (2015).

Run (sktime env, 1 thread; deterministic given the seeds and the sktime / numba / scikit-learn versions)::

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 nice -n 10 PYTHONPATH=. /work/benchenv/sktime/bin/python \\
        benchmarks/rocket_targets.py --work runs/distill5

-> ``<work>/rocket_c<components>_s<simulated>.npz``: ``targets`` float32 ``[N, 2 views, 2 crops, components]``,
``explained`` (variance ratio per component), ``records``; and ``<...>.meta.json`` (timings, versions).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from encoder_distill import training_signals, view_crops


def decimated(crops: np.ndarray, fs: float) -> np.ndarray:
    """``[n, 12, T]`` crops at ``fs`` -> float64 at 100 Hz, as the MiniRocket baseline decimates
    (:func:`edfgen.model.baselines.decimated_to_100hz`)."""
    from edfgen.model.baselines import decimated_to_100hz

    return decimated_to_100hz(crops, fs)[0]


def rocket_features(model, x: np.ndarray, chunk: int = 256) -> np.ndarray:
    """MiniRocket features (float32) of ``[n, 12, T]`` decimated crops, transformed in chunks."""
    return np.concatenate([np.asarray(model.transform(x[s:s + chunk]), np.float32)
                           for s in range(0, len(x), chunk)])


def fit_reduction(feats: np.ndarray, components: int, seed: int) -> dict:
    """Standardise each feature, PCA to ``components``, unit variance per component; returns the fitted maps."""
    from sklearn.decomposition import PCA

    mu = feats.mean(0)
    sd = feats.std(0)
    sd[sd < 1e-6] = 1.0
    pca = PCA(n_components=components, svd_solver="randomized", random_state=seed).fit((feats - mu) / sd)
    scale = np.sqrt(pca.explained_variance_).astype(np.float32)
    return {"mu": mu, "sd": sd, "pca": pca, "scale": scale}


def reduce(red: dict, feats: np.ndarray) -> np.ndarray:
    """Apply :func:`fit_reduction`'s maps: ``[n, 10000] -> [n, components]`` standardised components."""
    return (red["pca"].transform((feats - red["mu"]) / red["sd"]) / red["scale"]).astype(np.float32)


def probe_targets(model, red: dict, prep, n_boot: int = 1000) -> dict:
    """PTB-XL macro AUROC (95% CI) of the targets: the probe of ``checkpoint_versus.py`` on the mean of the two
    fixed crops' standardised components (MiniRocket and PCA fitted on the training crops, as for training), and
    on the mean of the two crops' 9,996 MiniRocket features before the PCA."""
    import torch

    from edf_pooling import probe_data
    from edfgen.model.data import two_crops
    from edfgen.model.evaluation import evaluation_table, linear_probe_cv

    d = probe_data(prep)
    sig = d["arr"].signals[d["keep"]]
    c = two_crops(torch.from_numpy(np.ascontiguousarray(sig)), prep.crop_samples).numpy()
    x = decimated(c.reshape(-1, 12, prep.crop_samples), prep.sampling_rate)
    f = rocket_features(model, x)
    out = {"records": len(sig)}
    for name, z in (("components", reduce(red, f).reshape(len(sig), 2, -1).mean(1)),
                    ("all_features", f.reshape(len(sig), 2, -1).mean(1))):
        prob = linear_probe_cv(z, d["y"], d["folds"], groups=d["patients"], seed=0).predictions
        row = evaluation_table(d["y"], prob, d["names"], groups=d["patients"], n_boot=n_boot, seed=0).iloc[-1]
        out[name] = {"dims": int(z.shape[1]), "auroc": [round(float(row.auroc), 4), round(float(row.auroc_lower), 4),
                                                        round(float(row.auroc_upper), 4)]}
        print(name, out[name], flush=True)
    return out


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True, help="encoder_distill.py's --work (the cache's folder)")
    ap.add_argument("--shipped", default="small", help="only its preprocessing is used")
    ap.add_argument("--simulated", type=int, default=2000)
    ap.add_argument("--sim-seed", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0, help="encoder_distill.py's --seed (augmented view: seed + 1)")
    ap.add_argument("--components", type=int, default=64)
    ap.add_argument("--fit-crops", type=int, default=2000, help="fixed crops the MiniRocket biases are fitted on")
    ap.add_argument("--probe-ptbxl", action="store_true",
                    help="also report the PTB-XL linear-probe macro AUROC of the targets themselves (mean of the 2 "
                         "fixed crops' components), the ceiling of what the regression can pass to the EDFs")
    a = ap.parse_args(argv)
    import sktime
    import sklearn
    import torch

    from edfgen.model.baselines import _minirocket
    from edfgen.model.checkpoint import load_checkpoint

    t0, c0 = time.time(), time.process_time()
    torch.set_num_threads(1)
    prep = load_checkpoint(a.shipped).preprocessing
    crop, fs = prep.crop_samples, prep.sampling_rate
    _, _, signals = training_signals(prep, a.simulated, a.sim_seed)
    n = len(signals)
    print(f"{n} training recordings ({time.time() - t0:.0f} s)", flush=True)
    views = []  # per view [N * 2, 12, 100 Hz samples]: crop 0 and crop 1 of each recording in turn
    for seed in (None, a.seed + 1):
        views.append(np.concatenate([decimated(c.reshape(-1, 12, crop).numpy(), fs)
                                     for _, c, _ in view_crops(signals, crop, seed=seed)]))
    del signals
    print(f"views cropped and decimated ({time.time() - t0:.0f} s)", flush=True)
    pick = np.sort(np.random.default_rng(a.seed).choice(n * 2, min(a.fit_crops, n * 2), replace=False))
    model = _minirocket(0).fit(views[0][pick])
    print(f"MiniRocket fitted on {len(pick)} fixed crops ({time.time() - t0:.0f} s)", flush=True)
    feats = []
    for v, x in enumerate(views):
        feats.append(rocket_features(model, x).astype(np.float16))
        print(f"view {v} transformed ({time.time() - t0:.0f} s)", flush=True)
    red = fit_reduction(feats[0].astype(np.float32), a.components, a.seed)
    targets = np.stack([reduce(red, f.astype(np.float32)).reshape(n, 2, -1) for f in feats], 1)
    out = Path(a.work) / f"rocket_c{a.components}_s{a.simulated}.npz"
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, targets=targets, explained=red["pca"].explained_variance_ratio_.astype(np.float32),
             records=n)
    tmp.replace(out)
    meta = {"records": n, "components": a.components, "fit_crops": len(pick),
            "explained_total": round(float(red["pca"].explained_variance_ratio_.sum()), 4),
            "seconds": round(time.time() - t0), "cpu_seconds": round(time.process_time() - c0),
            "versions": {"sktime": sktime.__version__, "scikit-learn": sklearn.__version__}, "settings": vars(a)}
    if a.probe_ptbxl:
        meta["ptbxl_probe_of_targets"] = probe_targets(model, red, prep)
    out.with_suffix(".meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(meta, flush=True)
    return out


if __name__ == "__main__":
    main()
