"""Cheap retraining of `small`'s top layers on cached frozen features (issue 22 item 2), measured honestly.

Training the whole encoder on the 2 shared CPU cores is too slow (120 steps ≈ 36 min), so this freezes the conv
feature encoder, the positional convolution and the lowest ``--freeze-below`` transformer layers (of the 4 context
+ 2 masked-prediction layers), runs them **once** over every training ECG and caches their output, then trains the
remaining layers (and ``final_norm``, the auxiliary and CMSC heads) for many steps on the cache. Objectives:

* the auxiliary measurement head (linear on the pooled final layer; heart rate, PR, QRS, QT, QRS axis; targets from
  the LUDB-tuned delineator for real ECGs, the simulator's physiology for simulated ones), weight ``--w-aux``;
* frame-level distillation of the delineator's beat-level output: per 40 ms frame, the fraction of the frame's
  centre 20 samples inside a P wave, a QRS complex and an ST-T segment (QRS offset to T end) of any beat (the
  median-beat fiducials placed at every detected R peak), regressed by a linear frame head (mean squared error;
  the head is dropped, so the checkpoint keeps the `small` architecture) — a linear head on frames makes the
  time-averaged EDFs carry the fraction of time in each wave, i.e. duration × heart rate; weight ``--w-frame``;
* CMSC between the two 5 s crops of a recording (the shipped head), weight ``--w-cmsc``;
* optionally ``--w-anchor``: mean squared error between the candidate's and the shipped weights' pooled EDFs;
* optionally ``--w-target NAME=W`` (repeatable): weight of one auxiliary target inside the auxiliary loss (default 1
  each; e.g. ``qt_interval=4`` for a heavier QT signal);
* optionally ``--w-tend``: a fourth frame channel, the T-wave end region (the last ``--tend-frames`` frames of each
  ST-T run of the cached labels, i.e. the frames around the delineator's T end), weighted by ``--w-tend``;
* optionally ``--w-rocket``: the pooled final layer of each crop regresses, by a linear head that is dropped
  afterwards, the standardised principal components of that crop's MiniRocket features
  (``benchmarks/rocket_targets.py``: fitted without labels on the training crops only; mean squared error); with
  ``--rocket-fixed-targets`` the augmented view regresses the fixed crops' components (teacher on clean crops);
* optionally ``--qrs-from-500hz-only``: no QRS target (auxiliary or frame) from the records read at 100 Hz (PTB-XL
  ``records100``, ``ptbxl_extra``), whose QRS boundaries the delineator times poorly (with them, LUDB QRS R² fell).

Training data: every real ECG folder except ``ludb_dev`` (kept out so that the LUDB R² stays honest) plus
``--simulated`` simulated ECGs. No diagnosis label is read for training. Each recording is cached in two views:
the two fixed 5 s crops (as ``extract``) and one augmented copy (crop jitter ≤ 0.5 s, gain, noise, wander, lead
dropout as ``edfgen pretrain``); each step draws one view per recording. The PTB-XL 500 Hz probe records
(352 labelled) and LUDB 1-100 are also cached (fixed crops) for a quick evaluation of the candidate against the
shipped weights; ``benchmarks/checkpoint_versus.py`` then judges the written checkpoint.

Run (1 thread, deterministic given the seed, thread count, PyTorch and delineator versions)::

    OMP_NUM_THREADS=1 nice -n 10 PYTHONPATH=. .venv/bin/python benchmarks/encoder_distill.py \
        --work runs/distill --freeze-below 4 --simulated 2000 --steps 500 --warmup 25 --log-every 25 \
        --w-anchor 20 --qrs-from-500hz-only --out-name encoder_distill_k4_anchor20_qrs500

(the run that gave the shipped `small`, from the first-stage weights as ``--shipped``; see
``edfgen/checkpoints/README.md``, "Third round")

-> ``<work>/cache_k<K>_s<N>.npz`` (reused when present), ``<work>/checkpoint.{safetensors,json}``, ``<work>/log.tsv``,
``benchmarks/results/<out-name>.{json,md}``.

Continuing from already retrained weights (issue 22, fourth round): ``--shipped`` is the start (and the anchor and
quick-evaluation reference) and ``--cache-source`` the checkpoint the cache was built with; the cache is accepted
only if the two have bit-identical frozen parameters (conv encoder, projection, positional conv and the lowest
``--freeze-below`` layers), which is what makes the cached lower-layer outputs valid for the start weights.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from edf_pooling import probe_data
from ludb_delineation import RESULTS

ECG = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "ecg").resolve()
TRAIN_FOLDERS = ("ptbxl/records500", "ptbxl/records100", "ptbxl_extra/records100", "cinc2021", "cinc2021_extra")
WAVES = ("p_wave", "qrs", "st_t")
HALF = 10  # a frame's label: samples [20 f + 10, 20 f + 30), the centre of its 40-sample receptive field


def wave_masks(signals: np.ndarray, fs: float) -> np.ndarray:
    """``uint8 [N, 3, T]``: sample inside a P wave / QRS / ST-T of any beat; 255 everywhere = not delineated."""
    from edfgen.kernels.ecg.biomarkers import delineate

    n, _, t = signals.shape
    out = np.zeros((n, len(WAVES), t), np.uint8)
    for i in range(n):
        d = delineate(signals[i].astype(float), fs)
        if d is None:
            out[i] = 255
            continue
        bounds = [(d.p_onset, d.p_offset), (d.qrs_onset, d.qrs_offset), (d.qrs_offset, d.t_end)]
        for w, (a, b) in enumerate(bounds):
            if not (np.isfinite(a) and np.isfinite(b)) or b <= a:
                out[i, w] = 255
                continue
            for r in d.r_peaks:
                lo, hi = int(r - d.r_index + a), int(r - d.r_index + b) + 1
                out[i, w, max(lo, 0):max(min(hi, t), 0)] = 1
    return out


def frame_labels(masks: np.ndarray, starts: np.ndarray, crop: int, frames: int, hop: int) -> np.ndarray:
    """``float16 [N, 2, frames, 3]`` fractions of each frame's centre samples in each wave (NaN: not delineated)."""
    n = len(masks)
    out = np.empty((n, 2, frames, len(WAVES)), np.float16)
    idx = np.arange(frames)[:, None] * hop + HALF + np.arange(hop)[None, :]  # [F, hop]
    for i in range(n):
        for c in range(2):
            m = masks[i][:, starts[i, c] + idx].astype(np.float32)  # [3, F, hop]
            v = m.mean(-1).T
            v[:, m.max(axis=(1, 2)) == 255] = np.nan
            out[i, c] = v
    return out


def lower(model, x, k: int):
    """Frozen part: conv features ▸ projection ▸ positional conv ▸ the first ``k`` transformer layers."""
    import torch.nn.functional as F

    _, h = model.extract(x)
    h = model.pos_norm(h + F.gelu(model.pos_conv(h.transpose(1, 2))).transpose(1, 2))
    for layer in (list(model.layers) + list(model.mlm_layers))[:k]:
        h = layer(h)
    return h


def upper(model, h, k: int):
    """Trained part: the remaining layers and ``final_norm``; ``upper(lower(x)) == forward_features(x)``."""
    for layer in (list(model.layers) + list(model.mlm_layers))[k:]:
        h = layer(h)
    return model.final_norm(h)


def run_lower(model, signals: np.ndarray, k: int, crop: int, *, seed: int | None, batch: int = 64):
    """Cache ``[N, 2, F, W]`` float16 (fixed crops, or augmented crops when ``seed`` is set) and the crop starts."""
    import torch

    hs, starts = [], []
    with torch.inference_mode():
        for x, c, st in view_crops(signals, crop, seed=seed, batch=batch):
            hs.append(lower(model, c.reshape(-1, 12, crop), k).view(len(x), 2, -1, model.config.width).half().numpy())
            starts.append(st)
    return np.concatenate(hs), np.concatenate(starts).astype(np.int64)


def view_crops(signals: np.ndarray, crop: int, *, seed: int | None, batch: int = 64):
    """Yield ``(x, crops [b, 2, 12, crop], starts [b, 2])`` per batch: the cached views, reproducibly.

    ``seed`` None: the two fixed crops (as ``extract``); else crops jittered by up to 0.5 s and augmented as
    ``edfgen pretrain`` (generator seeded per batch start, so a rerun with the same ``batch`` gives the same crops).
    """
    import torch

    from edfgen.model.data import augment, two_crops

    w = signals.shape[-1]
    for s in range(0, len(signals), batch):
        x = torch.from_numpy(np.ascontiguousarray(signals[s:s + batch]))
        if seed is None:
            c = two_crops(x, crop)
            st = np.tile([0, w - crop], (len(x), 1))
        else:
            g = torch.Generator().manual_seed(seed * 1_000_003 + s)
            j = torch.randint(0, 251, (len(x), 2), generator=g)
            st = np.stack([j[:, 0].numpy(), (w - crop) - j[:, 1].numpy()], 1)
            c = torch.stack([x[i, :, st[i, q]:st[i, q] + crop] for i in range(len(x)) for q in range(2)])
            c = augment(c.view(len(x), 2, 12, crop), wander_mv=0.1, lead_dropout=0.1, generator=g)
        yield x, c, st


def training_signals(prep, simulated: int, sim_seed: int):
    """``(arr, phys, signals)``: the real training ECGs (``TRAIN_FOLDERS``) then ``simulated`` simulated ones."""
    from edfgen.formats.ecg.units import Z_LEAD_SD_MV
    from edfgen.model.data import load_ecgs, window_array
    from edfgen.simulate.ecg import random_physiology, synthesize_batch

    arr = load_ecgs([ECG / f for f in TRAIN_FOLDERS], prep, z_scale=Z_LEAD_SD_MV)
    phys = random_physiology(simulated, rng=np.random.default_rng(sim_seed))
    sim = np.concatenate([window_array(synthesize_batch(phys.iloc[s:s + 256], seed=sim_seed, start_index=s,
                                                        fs=prep.sampling_rate, duration_s=prep.window_s), prep)
                          for s in range(0, simulated, 256)])
    return arr, phys, np.concatenate([arr.signals, sim])


def build_cache(path: Path, a) -> None:
    import pandas as pd

    from edfgen.model.checkpoint import load_checkpoint
    from edfgen.model.pretrain import measured_targets
    from edfgen.model.targets import encode_targets

    t0 = time.time()
    shipped = load_checkpoint(a.shipped)
    model, cfg, prep = shipped.model.eval(), shipped.config, shipped.preprocessing
    crop, fs = prep.crop_samples, prep.sampling_rate
    arr, phys, signals = training_signals(prep, a.simulated, a.sim_seed)
    print(f"real: {len(arr.ids)} records, {len(arr.rejects)} rejected ({time.time() - t0:.0f} s)", flush=True)
    y_real = measured_targets(arr.signals, cfg.aux_targets, fs=fs, z_scored=arr.z_scored)
    y = np.concatenate([y_real, encode_targets(phys, cfg.aux_targets)]).astype(np.float32)
    print(f"targets measured ({time.time() - t0:.0f} s)", flush=True)
    masks = wave_masks(signals, fs)
    print(f"waves delineated ({time.time() - t0:.0f} s)", flush=True)
    frames, hop = cfg.frames(crop), cfg.stride
    views, labels = [], []
    for v, seed in enumerate((None, a.seed + 1)):
        h, st = run_lower(model, signals, a.freeze_below, crop, seed=seed)
        views.append(h)
        labels.append(frame_labels(masks, st, crop, frames, hop))
        print(f"view {v} cached ({time.time() - t0:.0f} s)", flush=True)
    d = probe_data(prep)
    ptb = run_lower(model, d["arr"].signals[d["keep"]], a.freeze_below, crop, seed=None)[0]
    ludb = run_lower(model, d["ludb"].signals, a.freeze_below, crop, seed=None)[0]
    np.savez(path, h=np.stack(views, 1), labels=np.stack(labels, 1), y=y, real=np.arange(len(y)) < len(y_real),
             ptb=ptb, ludb=ludb, freeze_below=a.freeze_below, shipped_sha256=shipped.sha256)
    pd.Series({"records": len(y), "real": len(y_real), "seconds": round(time.time() - t0)}).to_json(
        path.with_suffix(".meta.json"))
    print(f"cache {path} ({time.time() - t0:.0f} s)", flush=True)


def pooled(model, h: np.ndarray, k: int, batch: int = 128) -> np.ndarray:
    """EDFs from cached ``[N, 2, F, W]`` lower features: mean over frames and crops."""
    import torch

    model.eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(h), batch):
            x = torch.from_numpy(h[s:s + batch].astype(np.float32))
            e = upper(model, x.reshape(-1, *x.shape[2:]), k).mean(1).view(len(x), 2, -1).mean(1)
            out.append(e.numpy())
    return np.concatenate(out)


def quick_eval(model, cache, k: int, d: dict, n_boot: int) -> dict:
    from edfgen.model.evaluation import evaluation_table, linear_probe_cv, ridge_probe_cv

    x = pooled(model, cache["ptb"], k)
    prob = linear_probe_cv(x, d["y"], d["folds"], groups=d["patients"], seed=0).predictions
    row = evaluation_table(d["y"], prob, d["names"], groups=d["patients"], n_boot=n_boot, seed=0).iloc[-1]
    r2 = ridge_probe_cv(pooled(model, cache["ludb"], k), d["targets"], d["ludb_folds"])
    return {"auroc": round(float(row.auroc), 4), "r2": {t: round(v, 4) for t, v in r2.items()}, "prob": prob}


def drop_qrs_100hz(cache: dict, aux_targets) -> None:
    """NaN the QRS-duration auxiliary target and the QRS frame channel of the records read from 100 Hz folders.

    The cache keeps the real records in the order :func:`~edfgen.formats.ecg.records.discover_records` lists
    ``TRAIN_FOLDERS`` minus the rejects; this holds only when every reject lies after the last 100 Hz record
    (asserted; the one reject, ``JS11438``, is in ``cinc2021_extra``).
    """
    from edfgen.formats.ecg.records import discover_records

    refs = discover_records([ECG / f for f in TRAIN_FOLDERS])
    is100 = np.array(["records100" in str(r.path) for r in refs])
    n_real = int(cache["real"].sum())
    last100 = int(np.flatnonzero(is100)[-1])
    assert len(refs) >= n_real and n_real > last100 and not is100[n_real:].any()
    rows = np.flatnonzero(is100[:n_real])
    cache["y"][rows, list(aux_targets).index("qrs_duration")] = np.nan
    cache["labels"][rows, :, :, :, WAVES.index("qrs")] = np.nan
    print(f"QRS targets dropped for {len(rows)} records read at 100 Hz", flush=True)


def frozen_state(model, k: int) -> dict:
    """The parameters and buffers that :func:`lower` uses (everything except the trained layers and heads)."""
    skip = tuple(f"layers.{i}." for i in range(k, 4)) + tuple(f"mlm_layers.{i - 4}." for i in range(max(k, 4), 6)) \
        + ("final_norm.", "aux_head.", "cmsc_proj.", "mlm_head.", "quantizer.", "project_q.", "final_proj.", "mask_emb")
    return {n: v for n, v in model.state_dict().items() if not n.startswith(skip)}


def check_cache_source(shipped, source, k: int) -> None:
    """Raise unless ``source`` (the cache's builder) and ``shipped`` share every frozen tensor bit for bit."""
    import torch

    a, b = frozen_state(shipped.model, k), frozen_state(source.model, k)
    bad = [n for n in a if n not in b or not torch.equal(a[n], b[n])]
    if bad or set(a) != set(b):
        raise SystemExit(f"cache built with {source.sha256[:12]} is not valid for {shipped.sha256[:12]}: "
                         f"frozen tensors differ ({(bad or sorted(set(a) ^ set(b)))[:3]})")
    print(f"cache source {source.sha256[:12]}: {len(a)} frozen tensors identical to {shipped.sha256[:12]}", flush=True)


def target_weights(spec: list, aux_targets) -> np.ndarray:
    """``--w-target NAME=W`` list -> weight per auxiliary target (1 unless given)."""
    w = np.ones(len(aux_targets), np.float32)
    for item in spec:
        name, _, value = item.partition("=")
        if name not in aux_targets:
            raise SystemExit(f"--w-target {item}: unknown target {name!r} (known: {', '.join(aux_targets)})")
        w[list(aux_targets).index(name)] = float(value)
    return w


def weighted_aux_loss(pred, target, w):
    """Smooth-L1 over the finite entries of ``target``, each weighted by its target's weight (mean over entries).

    With all weights 1 this equals :func:`edfgen.model.losses.aux_loss` (same Huber, same mean).
    """
    import torch.nn.functional as F

    ok = target.isfinite()
    if not bool(ok.any()):
        return pred.sum() * 0
    per = F.smooth_l1_loss(pred[ok], target[ok], reduction="none", beta=1.0)
    return (per * w.expand_as(target)[ok]).mean()


def tend_channel(labels: np.ndarray, n_frames: int) -> np.ndarray:
    """T-end region per frame from cached labels ``[..., F, 3]``: 1 on the last ``n_frames`` frames of each ST-T run.

    An ST-T run is a maximal run of frames with ST-T fraction > 0; its last frame holds the delineator's T end.
    Runs touching the crop's last frame are cut by the crop (T end unseen) and left 0; NaN where ST-T is NaN.
    """
    st = labels[..., WAVES.index("st_t")].astype(np.float32)
    on = st > 0
    end = on & ~np.concatenate([on[..., 1:], np.zeros_like(on[..., :1])], -1)
    end[..., -1] = False
    region = end.copy()
    for s in range(1, n_frames):
        region[..., :-s] |= end[..., s:] & on[..., :-s]
    out = region.astype(np.float16)
    out[np.isnan(st)] = np.nan
    return out


def train(cache: dict, a, log_rows: list):
    """Train the layers above ``freeze_below`` on the cached features; returns the encoder (shipped + trained)."""
    import copy

    import torch
    import torch.nn.functional as F

    from edfgen.model.checkpoint import load_checkpoint
    from edfgen.model.losses import aux_loss, cmsc_loss
    from edfgen.model.pretrain import PretrainSettings, lr_at

    torch.manual_seed(a.seed)
    model = load_checkpoint(a.shipped).model
    cfg, k = model.config, a.freeze_below
    ref = copy.deepcopy(model).eval() if a.w_anchor > 0 else None
    for p in model.parameters():
        p.requires_grad_(False)
    trained = (list(model.layers) + list(model.mlm_layers))[k:] + [model.final_norm, model.aux_head, model.cmsc_proj]
    n_ch = len(WAVES) + (1 if a.w_tend > 0 else 0)
    frame_head = torch.nn.Linear(cfg.width, n_ch)
    rocket = cache.get("rocket")
    rocket_head = torch.nn.Linear(cfg.width, rocket.shape[-1]) if rocket is not None else None
    w_target = torch.from_numpy(target_weights(a.w_target, cfg.aux_targets))
    params = [p for m in trained for p in m.parameters()] + list(frame_head.parameters())
    params += list(rocket_head.parameters()) if rocket_head is not None else []
    for p in params:
        p.requires_grad_(True)
    decay = [p for p in params if p.ndim >= 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-6)
    sched = PretrainSettings(steps=a.steps, lr=a.lr, warmup=a.warmup)
    h, labels, y = cache["h"], cache["labels"], cache["y"]
    n, frames, width = len(y), h.shape[3], h.shape[4]
    rng = np.random.default_rng(a.seed)
    order, pos = rng.permutation(n), 0
    t0, acc = time.time(), {}
    for step in range(a.steps):
        if pos + a.batch_size > n:
            order, pos = rng.permutation(n), 0
        idx = np.sort(order[pos:pos + a.batch_size])
        pos += a.batch_size
        view = rng.integers(0, 2, len(idx))
        x = torch.from_numpy(h[idx, view].astype(np.float32)).view(-1, frames, width)
        lab = torch.from_numpy(labels[idx, view].astype(np.float32))
        if a.w_tend > 0:
            lab = torch.cat([lab, torch.from_numpy(tend_channel(labels[idx, view], a.tend_frames)
                                                   .astype(np.float32))[..., None]], -1)
        yy = torch.from_numpy(y[idx])
        torch.manual_seed(a.seed * 1_000_003 + step)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, sched)
        model.train()
        out = upper(model, x, k)
        pool = out.mean(1)
        b = len(idx)
        yb = yy.unsqueeze(1).expand(b, 2, -1)
        pa = model.aux_head(pool).view(b, 2, -1)
        l_aux = aux_loss(pa, yb) if not a.w_target else weighted_aux_loss(pa, yb, w_target)
        fr = frame_head(out).view(b, 2, frames, n_ch)
        ok = torch.isfinite(lab[..., :len(WAVES)])
        l_frame = F.mse_loss(fr[..., :len(WAVES)][ok], lab[..., :len(WAVES)][ok]) if bool(ok.any()) else fr.sum() * 0
        l_tend = fr.sum() * 0
        if a.w_tend > 0:
            okt = torch.isfinite(lab[..., -1])
            if bool(okt.any()):
                l_tend = F.mse_loss(fr[..., -1][okt], lab[..., -1][okt])
        z = model.cmsc_proj(pool).view(b, 2, -1)
        l_cmsc, acc_cmsc = cmsc_loss(z[:, 0], z[:, 1], temperature=cfg.cmsc_temp)
        loss = a.w_aux * l_aux + a.w_frame * l_frame + a.w_cmsc * l_cmsc + a.w_tend * l_tend
        l_rocket = loss.new_zeros(())
        if rocket_head is not None:  # each crop's pooled final layer -> that crop's MiniRocket components
            rv = np.zeros_like(view) if a.rocket_fixed_targets else view
            l_rocket = F.mse_loss(rocket_head(pool), torch.from_numpy(rocket[idx, rv]).view(b * 2, -1))
            loss = loss + a.w_rocket * l_rocket
        l_anchor = loss.new_zeros(())
        if ref is not None:
            with torch.no_grad():
                target = upper(ref, x, k).mean(1)
            l_anchor = F.mse_loss(pool, target)
            loss = loss + a.w_anchor * l_anchor
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        for key, v in (("loss", loss), ("aux", l_aux), ("frame", l_frame), ("cmsc", l_cmsc), ("anchor", l_anchor), ("tend", l_tend),
                       ("rocket", l_rocket), ("acc_cmsc", acc_cmsc)):
            acc[key] = acc.get(key, 0.0) + float(v.detach()) / a.log_every
        if (step + 1) % a.log_every == 0:
            row = {"step": step + 1, "lr": opt.param_groups[0]["lr"], **{q: round(v, 5) for q, v in acc.items()},
                   "seconds": round(time.time() - t0, 1)}
            log_rows.append(row)
            print(row, flush=True)
            acc = {}
    return model.eval()


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True, help="folder for the cache, the checkpoint and the log")
    ap.add_argument("--shipped", default="small")
    ap.add_argument("--freeze-below", type=int, default=4, help="transformer layers kept frozen (of 6)")
    ap.add_argument("--simulated", type=int, default=2000)
    ap.add_argument("--sim-seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--warmup", type=int, default=25)
    ap.add_argument("--w-aux", type=float, default=5.0)
    ap.add_argument("--w-frame", type=float, default=10.0)
    ap.add_argument("--w-cmsc", type=float, default=1.0)
    ap.add_argument("--w-anchor", type=float, default=0.0)
    ap.add_argument("--w-target", action="append", default=[], metavar="NAME=W",
                    help="weight of one auxiliary target inside the auxiliary loss (repeatable; default 1 each)")
    ap.add_argument("--w-tend", type=float, default=0.0, help="weight of the T-end region frame channel (0: off)")
    ap.add_argument("--tend-frames", type=int, default=2, help="frames of the T-end region (40 ms each)")
    ap.add_argument("--w-rocket", type=float, default=0.0,
                    help="weight of the MiniRocket-component regression (0: off; targets: benchmarks/rocket_targets.py)")
    ap.add_argument("--rocket-targets", default=None,
                    help="rocket_targets.py's .npz (default <work>/rocket_c64_s<simulated>.npz)")
    ap.add_argument("--rocket-fixed-targets", action="store_true",
                    help="both views regress the fixed (unaugmented) crops' MiniRocket components")
    ap.add_argument("--cache-source", default=None,
                    help="checkpoint the cache was built with, if not --shipped (frozen tensors must be identical)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=50)
    ap.add_argument("--bootstrap", type=int, default=200)
    ap.add_argument("--qrs-from-500hz-only", action="store_true",
                    help="drop the QRS targets (aux and frame) of the 100 Hz records (PTB-XL records100, ptbxl_extra)")
    ap.add_argument("--cache-only", action="store_true")
    ap.add_argument("--out-name", default="encoder_distill")
    a = ap.parse_args(argv)
    import sys

    import pandas as pd
    import torch

    from edfgen.model.checkpoint import load_checkpoint, save_checkpoint

    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"cache_k{a.freeze_below}_s{a.simulated}.npz"
    if not path.exists():
        build_cache(path, a)
    if a.cache_only:
        return {}
    t0 = time.time()
    with np.load(path) as z:
        cache = {q: z[q] for q in z.files}
    shipped = load_checkpoint(a.shipped)
    source = shipped if a.cache_source is None else load_checkpoint(a.cache_source)
    assert str(cache["shipped_sha256"]) == source.sha256 and int(cache["freeze_below"]) == a.freeze_below
    if source is not shipped:
        check_cache_source(shipped, source, a.freeze_below)
    if a.qrs_from_500hz_only:
        drop_qrs_100hz(cache, shipped.config.aux_targets)
    if a.w_rocket > 0:
        rpath = Path(a.rocket_targets or work / f"rocket_c64_s{a.simulated}.npz")
        with np.load(rpath) as z:
            cache["rocket"] = z["targets"]
        if cache["rocket"].shape[:3] != (len(cache["y"]), 2, 2):
            raise SystemExit(f"{rpath}: targets {cache['rocket'].shape} do not match the cache's "
                             f"{len(cache['y'])} recordings x 2 views x 2 crops")
    rows: list = []
    model = train(cache, a, rows)
    seconds = time.time() - t0
    command = "OMP_NUM_THREADS=%s python benchmarks/encoder_distill.py %s" % (
        torch.get_num_threads(), " ".join(sys.argv[1:] if argv is None else argv))
    ckpt = save_checkpoint(model, shipped.config, shipped.preprocessing, work / "checkpoint",
                           metadata={"command": command, "init": shipped.sha256, "settings": vars(a),
                                     "cache_records": int(len(cache["y"])), "cache_real": int(cache["real"].sum())})
    pd.DataFrame(rows).to_csv(work / "log.tsv", sep="\t", index=False)
    d = probe_data(shipped.preprocessing)
    res = {"benchmark": "encoder_distill", "command": command, "settings": vars(a), "train_seconds": round(seconds),
           "records": int(len(cache["y"])), "real": int(cache["real"].sum()),
           "candidate_sha256": json.loads(ckpt.read_text())["sha256"], "log_tail": rows[-3:]}
    for name, m in (("shipped", shipped.model), ("candidate", model)):
        r = quick_eval(m, cache, a.freeze_below, d, a.bootstrap)
        r.pop("prob")
        res[name] = r
        print(name, r, flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{a.out_name}.json").write_text(json.dumps(res, indent=1, default=str) + "\n")
    (RESULTS / f"{a.out_name}.md").write_text(markdown(res))
    return res


def markdown(res: dict) -> str:
    """The result as a short Markdown page (quick evaluation on the cached features)."""
    s = res["settings"]
    lines = [f"# Top-layer retraining of `small` on cached frozen features ({res['settings']['out_name']})", "",
             f"`{res['command']}` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; training "
             f"{res['train_seconds']} s on 1 shared CPU thread); method: the script's docstring.", "",
             f"Frozen: conv features + the lowest {s['freeze_below']} of 6 transformer layers; trained: the rest, "
             f"`final_norm`, the auxiliary and CMSC heads. Data: {res['records']} recordings ({res['real']} real, "
             f"`ludb_dev` left out; {res['records'] - res['real']} simulated); {s['steps']} steps of "
             f"{s['batch_size']} recordings, lr {s['lr']}, weights aux {s['w_aux']} / frame {s['w_frame']} / "
             f"CMSC {s['w_cmsc']} / anchor {s['w_anchor']} / MiniRocket components {s.get('w_rocket', 0.0)}.", "",
             "Quick evaluation on the cached (float16) lower-layer features, same probes as `checkpoint_versus.py` "
             f"({s['bootstrap']} bootstrap resamples; `checkpoint_versus.py` on the written checkpoint is the "
             "judgement):", "",
             "| weights | PTB-XL macro AUROC | LUDB R² PR / QRS / QT |", "|---|---|---|"]
    for name in ("shipped", "candidate"):
        r = res[name]
        lines.append(f"| {name} | {r['auroc']:.3f} | " + " / ".join(f"{v:.3f}" for v in r["r2"].values()) + " |")
    lines += ["", "Last logged training rows: " + "; ".join(
        f"step {r['step']}: aux {r['aux']:.3f}, frame {r['frame']:.4f}, CMSC {r['cmsc']:.3f}"
        + (f", MiniRocket {r['rocket']:.3f}" if r.get("rocket") else "") for r in res["log_tail"]),
        ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
