"""Self-supervised pre-training: AdamW, warm-up + cosine, accumulation, bf16 on GPU, resume, DDP.

Run single-process (``edfgen pretrain ...``) or under ``torchrun`` (``RANK``/``WORLD_SIZE`` in the
environment): DistributedDataParallel with ``gloo`` on CPU and ``nccl`` on GPU; every rank draws
its own data (a :class:`~torch.utils.data.DistributedSampler` over file data, a rank-specific
seed for simulated data); only rank 0 writes.

Determinism and resume: the global torch RNG is re-seeded from ``(seed, step, micro-step, rank)``
before every micro-batch, and simulated ECGs use ``participant_rng``-style seeds derived from the same
tuple, so a resumed run continues exactly like an uninterrupted one (given the same settings and data:
other data is refused). The training state (:mod:`edfgen.model.train_state`: weights, AdamW moments and a JSON
document in one safetensors file, written before the checkpoint) never uses pickle.

Outputs in ``out_dir``: ``checkpoint.{safetensors,json}`` (the encoder, loadable with
:func:`~edfgen.model.checkpoint.load_checkpoint`), ``train_state.safetensors`` (resume),
``pretrain_log.tsv`` (losses per logged step) and ``manifest.json``.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.distributed as dist

from edfgen.exceptions import ConfigError, EdfgenError, InputError, StageError
from edfgen.formats.ecg.records import discover_records
from edfgen.formats.ecg.units import Z_LEAD_SD_MV
from edfgen.kernels.ecg.biomarkers import measure_biomarkers
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.formats.tables import write_table
from edfgen.model.checkpoint import load_checkpoint, save_checkpoint
from edfgen.model.config import ModelConfig
from edfgen.model.device import resolve_train_device
from edfgen.model.data import augment, is_bundle, load_ecgs, two_crops, window_array
from edfgen.model.encoder import ECGEncoder
from edfgen.model.targets import encode_targets
from edfgen.model.train_state import load_train_state, read_resumable, run_data, save_train_state
from edfgen.simulate.ecg import random_physiology, synthesize_batch

log = logging.getLogger(__name__)

LOG_COLUMNS = ["step", "lr", "loss", "contrastive", "mlm", "cmsc", "diversity", "aux", "acc_contrastive", "acc_mlm",
               "acc_cmsc", "perplexity", "mask_frac", "gumbel_temp", "seconds"]


@dataclass(frozen=True)
class PretrainSettings:
    """Optimisation settings (all per optimizer step; batch sizes per rank).

    Attributes
    ----------
    steps
        Optimizer updates.
    batch_size
        10 s recordings per micro-batch per rank (each gives two 5 s crops).
    accum
        Micro-batches accumulated per update (effective batch = batch_size × accum × world size).
    lr, warmup, weight_decay, betas, clip
        AdamW; linear warm-up over ``warmup`` updates then cosine decay to ``min_lr_ratio × lr``;
        weight decay on matrices only; gradient-norm clipping.
    seed
        Seeds initialisation, masking, dropout, augmentation and simulated data.
    checkpoint_every, log_every
        Update intervals for writing checkpoint + train state, and a log row.
    jitter, scale_sd, noise_mv, wander_mv, lead_dropout
        Augmentations (:func:`~edfgen.model.data.two_crops`, :func:`~edfgen.model.data.augment`).
    """

    steps: int = 1000
    batch_size: int = 32
    accum: int = 1
    lr: float = 1e-3
    warmup: int = 100
    weight_decay: float = 0.01
    betas: tuple[float, float] = (0.9, 0.98)
    min_lr_ratio: float = 0.02
    clip: float = 1.0
    seed: int = 0
    checkpoint_every: int = 200
    log_every: int = 10
    jitter: int = 250
    scale_sd: float = 0.1
    noise_mv: float = 0.02
    wander_mv: float = 0.0
    lead_dropout: float = 0.0

    def __post_init__(self):
        # NaN passes the command line's ranges: --lr nan/-1 was a torch traceback, --wander-mv nan ran (review s34b)
        checks = (("--lr", self.lr, self.lr > 0, "> 0"), ("--wander-mv", self.wander_mv, self.wander_mv >= 0, ">= 0"),
                  ("--lead-dropout", self.lead_dropout, 0 <= self.lead_dropout < 1, "in [0, 1)"))
        for name, value, ok, want in checks:
            if not (math.isfinite(value) and ok):
                raise InputError(f"{name} {value}: must be a finite number {want}")


@dataclass(frozen=True)
class PretrainResult:
    """Summary of a run: final step, last logged losses, the checkpoint JSON path, seconds, and the steps this
    call trained (fewer than ``step`` when it resumed; 0 when the run was already complete)."""

    step: int
    last: dict
    checkpoint: Path
    seconds: float
    log: pd.DataFrame = field(repr=False, default=None)
    model: ECGEncoder = field(repr=False, default=None)
    steps_run: int | None = None


def lr_at(step: int, s: PretrainSettings) -> float:
    """Learning rate for update ``step`` (0-based): linear warm-up, then cosine decay."""
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    frac = (step - s.warmup) / max(1, s.steps - s.warmup)
    return s.lr * (s.min_lr_ratio + (1 - s.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def _seed(*parts: int) -> int:
    h = 1469598103934665603
    for p in parts:
        h = ((h ^ (int(p) & 0xFFFFFFFF)) * 1099511628211) % (1 << 63)
    return h


class SimulatedSource:
    """On-the-fly simulated recordings: ``n`` participants' physiology (``sim_seed``), fresh noise per batch.

    Physiology rows come from :func:`edfgen.simulate.ecg.random_physiology`; each batch draws rows
    uniformly and synthesises their ECGs with a seed derived from ``(sim_seed, step, micro, rank)``
    (new beat-to-beat variability, baseline wander and noise every time), then band-passes them.
    """

    def __init__(self, n: int, sim_seed: int, prep: Preprocessing, aux_targets: Sequence[str] = ()):
        if n < 1:
            raise InputError(f"--simulated {n}: need at least 1 participant")
        self.physiology = random_physiology(n, rng=np.random.default_rng(sim_seed))
        self.sim_seed, self.prep = sim_seed, prep
        # the simulator's known physiology is the auxiliary truth
        self.targets = encode_targets(self.physiology, aux_targets) if aux_targets else None

    def batch(self, size: int, *, step: int, micro: int, rank: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        rng = np.random.default_rng(_seed(self.sim_seed, step, micro, rank, 1))
        idx = rng.integers(0, len(self.physiology), size)
        x = synthesize_batch(self.physiology.iloc[idx], seed=_seed(self.sim_seed, step, micro, rank, 2),
                             fs=self.prep.sampling_rate, duration_s=self.prep.window_s)
        y = torch.from_numpy(self.targets[idx]) if self.targets is not None else None
        return torch.from_numpy(window_array(x, self.prep)), y


class ArraySource:
    """Preprocessed recordings in memory, sampled epoch-wise with a :class:`DistributedSampler`."""

    def __init__(self, signals: np.ndarray, *, rank: int, world: int, seed: int, targets: np.ndarray | None = None):
        from torch.utils.data import DistributedSampler

        self.signals, self.targets = signals, targets
        self.sampler = DistributedSampler(range(len(signals)), num_replicas=world, rank=rank, shuffle=True,
                                          seed=seed, drop_last=False)
        self._epoch, self._order = None, None

    def batch(self, size: int, *, index: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The ``index``-th batch of this rank's stream (epochs follow each other), with its targets."""
        per_epoch = len(self.sampler)
        start = index * size
        out = []
        while len(out) < size:
            epoch, off = divmod(start + len(out), per_epoch)
            if epoch != self._epoch:
                self.sampler.set_epoch(epoch)
                self._epoch, self._order = epoch, list(self.sampler)
            take = min(size - len(out), per_epoch - off)
            out += self._order[off:off + take]
        idx = np.asarray(out)
        y = torch.from_numpy(self.targets[idx]) if self.targets is not None else None
        return torch.from_numpy(self.signals[idx]), y


#: auxiliary targets that need the patient's own inter-lead amplitude ratios (not used for z-scored records)
AMPLITUDE_TARGETS = ("qrs_axis_sin", "qrs_axis_cos")


def measured_targets(signals: np.ndarray, names: Sequence[str], *, fs: float, chunk: int = 256,
                     z_scored: np.ndarray | None = None) -> np.ndarray:
    """Auxiliary targets of real recordings, measured by the classical delineator.

    ``signals [N, 12, T]`` preprocessed mV -> ``float32 [N, len(names)]`` standardised, NaN where the
    delineator found no value (e.g. no P wave in atrial fibrillation: that target is skipped for the record).
    ``z_scored [N]`` (:attr:`~edfgen.model.data.EcgArray.z_scored`): records read from units ``z`` whose leads
    were rescaled to typical amplitudes; their QRS axis (:data:`AMPLITUDE_TARGETS`, from inter-lead amplitude
    ratios) is not the patient's and is skipped, their intervals and heart rate are used.
    """
    parts = [measure_biomarkers(signals[i:i + chunk], fs=fs) for i in range(0, len(signals), chunk)]
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    y = encode_targets(table, names)
    if z_scored is not None and len(y):
        for j, name in enumerate(names):
            if name in AMPLITUDE_TARGETS:
                y[np.asarray(z_scored, dtype=bool), j] = np.nan
    log.info("pretrain: auxiliary targets measured on %d real ECGs (%s measured)", len(y),
             ", ".join(f"{n} {np.isfinite(y[:, j]).mean():.0%}" for j, n in enumerate(names)))
    return y


def _dist_info() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return rank, world, local


def _param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (decay if p.ndim >= 2 and "mask_emb" not in name and "quantizer.vars" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _run_preprocessing(preprocessing: Preprocessing, out_dir: Path, *, resumed: dict | None, init) -> Preprocessing:
    """A resumed run keeps the preprocessing it was saved with (its training state's; a run begun before a default
    changed, e.g. ``filter_padding``, goes on as it started); ``--init`` from weights trained with another
    preprocessing is said in the log (the new run's is used and stored)."""
    from edfgen.model.checkpoint import resolve_checkpoint

    resume = resumed is not None
    if not resume and init is None:
        return preprocessing
    try:
        if resume and "preprocessing" in resumed:   # the training state's
            doc = resumed
        else:                                       # --init's, or an older run's checkpoint (its state had none)
            doc = json.loads(resolve_checkpoint(out_dir / "checkpoint" if resume else init).read_text())
        saved = Preprocessing.from_dict(doc["preprocessing"])
    except (EdfgenError, OSError, ValueError, KeyError, TypeError):   # reported where the checkpoint is loaded
        return preprocessing
    if saved == preprocessing:
        return preprocessing
    diff = {k: (v, getattr(preprocessing, k)) for k, v in saved.to_dict().items() if preprocessing.to_dict()[k] != v}
    if resume:
        log.info("pretrain --resume: keeping the run's own preprocessing (%s)",
                 ", ".join(f"{k} {a!r}, not today's default {b!r}" for k, (a, b) in diff.items()))
        return saved
    log.info("pretrain --init %s: its weights were trained with %s; this run uses %s", init,
             ", ".join(f"{k} {a!r}" for k, (a, _) in diff.items()), ", ".join(f"{k} {b!r}" for k, (_, b) in diff.items()))
    return preprocessing


def _config_difference(a: ModelConfig, b: ModelConfig) -> str:
    """The fields in which two configs differ, as ``name a vs b`` (``labels``: a fine-tuned checkpoint's head)."""
    da, db = a.to_dict(), b.to_dict()
    parts = [f"{k} {da.get(k)!r} vs {db.get(k)!r}" for k in sorted(set(da) | set(db)) if da.get(k) != db.get(k)]
    text = ", ".join(parts[:3]) + (f" (+{len(parts) - 3} more)" if len(parts) > 3 else "")
    if da.get("labels") and not db.get("labels"):
        text += " (a fine-tuned checkpoint with a disease head: pre-training continues from an encoder without one)"
    return text


def pretrain(out_dir: str | Path, *, config: ModelConfig, settings: PretrainSettings = PretrainSettings(),
             preprocessing: Preprocessing = Preprocessing(), ecg: Sequence[str | Path] = (),
             simulated: int = 0, sim_seed: int = 0, resume: bool = False, stop_at: int | None = None,
             device: str | None = None, metadata: dict | None = None, init: str | Path | None = None) -> PretrainResult:
    """Pre-train an encoder; see the module docstring for outputs and DDP.

    Parameters
    ----------
    out_dir
        Output directory (rank 0 writes).
    config, settings, preprocessing
        Architecture/objective, optimisation, and the preprocessing stored with the checkpoint.
    ecg
        ECG files/directories/bundles (:func:`~edfgen.model.data.load_ecgs`).
    simulated, sim_seed
        Number of simulated participants (0 = none) and their physiology seed.
        With both sources, micro-batches alternate between them.
    resume
        Continue from ``out_dir/train_state.json`` and ``checkpoint.*``.
    init
        Continued pre-training: start from this checkpoint's weights (its config must equal ``config``); the
        optimizer and the learning-rate schedule start afresh. Ignored when resuming.
    stop_at
        Stop (after checkpointing) once this update is reached, without changing the schedule
        (lets a long schedule run in pieces; used by the resume test).
    device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"`` (default: CUDA when available; ``cuda`` is
        ``cuda:LOCAL_RANK``: :func:`~edfgen.model.device.resolve_train_device`).
    """
    out_dir = Path(out_dir)
    s = settings
    rank, world, local = _dist_info()
    distributed = world > 1
    dev = resolve_train_device(device, local)
    own_group = distributed and not dist.is_initialized()
    if own_group:
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if not ecg and simulated <= 0:
        raise InputError("pretrain: give --ecg FILES and/or --simulated N")
    found = discover_records([p for p in ecg if not is_bundle(p)]) if ecg else []   # once: key and data
    data = run_data(ecg, simulated, sim_seed, out_dir=out_dir, refs=found)
    resumed = read_resumable(out_dir, config=config, data=data) if resume else None
    preprocessing = _run_preprocessing(preprocessing, out_dir, resumed=resumed, init=init)
    sources = []
    if ecg:
        arr = load_ecgs(ecg, preprocessing, z_scale=Z_LEAD_SD_MV, refs=found)
        log.info("pretrain: %d ECGs from files (%d rejected, %d in units z rescaled to typical lead SDs)",
                 len(arr.ids), len(arr.rejects), 0 if arr.z_scored is None else int(arr.z_scored.sum()))
        targets = measured_targets(arr.signals, config.aux_targets, fs=preprocessing.sampling_rate,
                                   z_scored=arr.z_scored) if config.aux_targets else None
        sources.append(ArraySource(arr.signals, rank=rank, world=world, seed=s.seed, targets=targets))
    if simulated > 0:
        sources.append(SimulatedSource(simulated, sim_seed, preprocessing, config.aux_targets))

    torch.manual_seed(s.seed)
    model = ECGEncoder(config).to(dev)
    optimizer = torch.optim.AdamW(_param_groups(model, s.weight_decay), lr=s.lr, betas=s.betas, eps=1e-6)
    step, history = 0, []
    if init is not None and not resume:
        start = load_checkpoint(init, device=dev)
        if start.config != config:
            raise ConfigError(f"--init {init}: its config differs from --config {config.name!r} in "
                              f"{_config_difference(start.config, config)}")
        model.load_state_dict(start.model.state_dict())
        log.info("pretrain: weights from %s (sha256 %s)", start.path, start.sha256[:12])
    if resume:
        doc = load_train_state(out_dir, model, optimizer)
        step = int(doc["step"])
        if doc.get("settings") and doc["settings"] != json.loads(json.dumps(asdict(s))):
            log.warning("pretrain --resume: settings differ from the interrupted run; the result will "
                        "not equal an uninterrupted run")
        if (out_dir / "pretrain_log.tsv").exists():
            history = [r for r in pd.read_csv(out_dir / "pretrain_log.tsv", sep="\t",  # rows rewritten unchanged
                                              float_precision="round_trip").to_dict("records") if r["step"] <= step]
    ddp = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None) \
        if distributed else model
    def autocast():  # bf16 autocast on GPU only; CPU stays float32
        return torch.autocast("cuda", dtype=torch.bfloat16) if dev.type == "cuda" else nullcontext()
    crop = preprocessing.crop_samples
    end = s.steps if stop_at is None else min(stop_at, s.steps)
    t0 = time.time()
    acc: dict[str, float] = {}
    model.train()
    last: dict = {}

    def write_outputs(step_done: int) -> Path | None:
        if rank != 0:
            return None
        meta = {"steps_done": step_done, "settings": asdict(s), "world_size": world,
                "data": {"ecg": [str(p) for p in ecg], "simulated": simulated, "sim_seed": sim_seed},
                **(metadata or {})}
        # log, state (one file), checkpoint: a kill between them leaves the log ahead of the state (--resume drops
        # its later rows) or the state ahead of the checkpoint (--resume rewrites it), never a step lost from either
        if history:
            write_table(pd.DataFrame(history, columns=LOG_COLUMNS), out_dir / "pretrain_log.tsv")
        save_train_state(out_dir, model, optimizer, step_done,
                         {"settings": asdict(s), "config": config.to_dict(), "preprocessing": preprocessing.to_dict(),
                          "data": data})
        return save_checkpoint(model, config, preprocessing, out_dir / "checkpoint", metadata=meta)

    ckpt, first_step = None, step
    while step < end:
        model.set_num_updates(step)
        lr = lr_at(step, s)
        for g in optimizer.param_groups:
            g["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        for micro in range(s.accum):
            torch.manual_seed(_seed(s.seed, step, micro, rank, 3))
            gen = torch.Generator().manual_seed(_seed(s.seed, step, micro, rank, 4))
            src = sources[(step * s.accum + micro) % len(sources)]
            if isinstance(src, SimulatedSource):
                x, y = src.batch(s.batch_size, step=step, micro=micro, rank=rank)
            else:
                x, y = src.batch(s.batch_size, index=(step * s.accum + micro) // len(sources))
            crops = augment(two_crops(x, crop, jitter=s.jitter, generator=gen), scale_sd=s.scale_sd,
                            noise_mv=s.noise_mv, wander_mv=s.wander_mv, lead_dropout=s.lead_dropout,
                            fs=preprocessing.sampling_rate, generator=gen).to(dev, non_blocking=True)
            sync = ddp.no_sync() if distributed and micro < s.accum - 1 else nullcontext()
            with sync, autocast():
                out = ddp(crops, pretrain=True, aux_targets=None if y is None else y.to(dev))
                loss = out["loss"] / s.accum
            with sync:
                loss.backward()
            for k, v in out.items():
                acc[k] = acc.get(k, 0.0) + float(v.detach()) / s.accum
            if not math.isfinite(float(out["loss"].detach())):  # was: exit 0 and a NaN checkpoint extract refuses
                raise StageError(f"pretrain: the loss is not finite at update {step + 1} (training diverged): lower "
                                 f"--lr ({s.lr:g})")
        if s.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), s.clip)
        optimizer.step()
        step += 1
        if step % s.log_every == 0 or step == end:
            n_acc = s.log_every if step % s.log_every == 0 else (step % s.log_every)
            last = {k: v / n_acc for k, v in acc.items()}
            row = {"step": step, "lr": lr, **{k: last.get(k) for k in LOG_COLUMNS[2:-2]},
                   "gumbel_temp": model.quantizer.temperature, "seconds": round(time.time() - t0, 2)}
            history.append(row)
            acc = {}
            if rank == 0:
                log.info("step %d/%d lr %.2e loss %.3f (con %.3f mlm %.3f cmsc %.3f div %.3f aux %.3f) acc cmsc %.2f",
                         step, s.steps, lr, row["loss"], row["contrastive"], row["mlm"], row["cmsc"],
                         row["diversity"], row["aux"], row["acc_cmsc"])
        if step % s.checkpoint_every == 0 or step == end:
            ckpt = write_outputs(step)
    if ckpt is None:
        ckpt = write_outputs(step)
    if distributed:
        dist.barrier()
        if own_group:
            dist.destroy_process_group()
    return PretrainResult(step=step, last=last, checkpoint=out_dir / "checkpoint.json", seconds=time.time() - t0,
                          log=pd.DataFrame(history, columns=LOG_COLUMNS), model=model, steps_run=step - first_step)
