"""Fine-tuning for multi-label disease prediction (scoring: :mod:`edfgen.model.evaluation`).

Three modes share one head (a linear layer on the pooled embedding, mean over time and over the two
5 s crops):

* fine-tune (default): encoder initialised from a checkpoint; first the head alone is fitted on the
  frozen EDFs (linear probe), then everything is trained end to end at ``encoder_lr`` ("LP-FT",
  Kumar et al. 2022, arXiv:2202.10054, which avoids distorting pre-trained features with a random
  head); the validation curve includes the probe epochs, so early stopping can keep the probe;
* ``from_scratch``: the same architecture, randomly initialised, trained end to end;
* ``linear_probe``: frozen encoder, EDFs computed once, only the head is trained.

Loss: binary cross-entropy per label with ``pos_weight = n_negative / n_positive`` (capped) for rare
labels; missing labels (NaN) are masked. Early stopping on the validation mean AUROC (labels with
both classes in the validation split). The best epoch's weights are saved as a checkpoint whose
config carries the label names.
"""

from __future__ import annotations

import copy
import math
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from edfgen import DEFAULT_CHECKPOINT
from edfgen.exceptions import InputError, StageError
from edfgen.formats.tables import write_table
from edfgen.model.checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from edfgen.model.data import augment, embed_ecgs, two_crops
from edfgen.model.encoder import ECGEncoder
from edfgen.model.finetune_state import (STATE_NAME, read_finetune_state, restore_finetune_state, run_fingerprint,
                                         save_finetune_state)
from edfgen.model.metrics import auroc_rows
from edfgen.reprs import ReadableRepr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetuneSettings:
    """Fine-tuning options.

    Attributes
    ----------
    label_fraction
        Share of labelled participants used (sampled once with ``seed``) before the train/validation split.
    val_fraction
        Share of those held out for early stopping.
    epochs, patience
        Maximum epochs; stop after ``patience`` epochs without a better validation mean AUROC.
    batch_size, lr, encoder_lr, weight_decay
        AdamW; ``lr`` for the head, ``encoder_lr`` for the encoder.
    max_pos_weight
        Cap of the BCE ``pos_weight``.
    linear_probe, from_scratch
        Mode (see module docstring); mutually exclusive.
    seed
        Seeds the subsampling, split, initialisation and batches.
    """

    label_fraction: float = 1.0
    val_fraction: float = 0.2
    epochs: int = 20
    patience: int = 4
    batch_size: int = 64
    lr: float = 1e-3
    encoder_lr: float = 3e-4
    weight_decay: float = 0.01
    max_pos_weight: float = 50.0
    linear_probe: bool = False
    from_scratch: bool = False
    seed: int = 0

    def __post_init__(self):
        if not 0 < self.label_fraction <= 1:
            raise InputError(f"--label-fraction {self.label_fraction}: must be in (0, 1]")
        for name, value in (("--lr", self.lr), ("--encoder-lr", self.encoder_lr)):
            if not (math.isfinite(value) and value > 0):  # NaN was a torch traceback, a negative lr trained uphill
                raise InputError(f"{name} {value}: must be a finite number > 0")
        if self.linear_probe and self.from_scratch:
            raise InputError("--linear-probe and --from-scratch are mutually exclusive")


@dataclass(frozen=True, repr=False)
class FinetuneResult(ReadableRepr):
    """Best validation mean AUROC, its epoch, the checkpoint written, sizes and the per-epoch log."""

    best_val_auroc: float
    best_epoch: int
    checkpoint: Path | None
    n_train: int
    n_val: int
    log: pd.DataFrame
    model: ECGEncoder


def align_labels(ids: Sequence[str], labels: pd.DataFrame, *, label_names: Sequence[str] | None = None,
                 source: str = "labels") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Match label rows to ECG ids.

    Returns
    -------
    (index into ``ids`` of ECGs with a label row, ``float32 [M, L]`` labels (NaN = missing), label names)
    """
    names = list(label_names) if label_names else [c for c in labels.columns if c != "IID"]
    missing = [c for c in names if c not in labels.columns]
    if missing:
        raise InputError(f"{source}: missing label column(s) {missing}")
    lab = labels.set_index("IID")[names]
    num = lab.apply(pd.to_numeric, errors="coerce")
    text = num.isna().to_numpy() & lab.notna().to_numpy()      # a value that is not a number (not NA either)
    if text.any():
        r, c = np.argwhere(text)[0]
        raise InputError(f"{source}: column {names[c]} row IID {lab.index[r]}: value {lab.iat[r, c]!r} is not 0/1")
    lab = num
    vals = lab.to_numpy(dtype=float)
    bad = ~np.isnan(vals) & ~np.isin(vals, (0.0, 1.0))     # inf too: was taken as unknown, silently
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise InputError(f"{source}: column {names[c]} row IID {lab.index[r]}: value {vals[r, c]} is not 0/1")
    pos = pd.Index(lab.index).get_indexer(pd.Index([str(i) for i in ids]))
    keep = np.flatnonzero(pos >= 0)
    if len(keep) == 0:
        raise InputError(f"{source}: no IID matches an ECG record id (first ECG id: {ids[0] if len(ids) else None})")
    return keep, vals[pos[keep]].astype(np.float32), names


def warn_unmatched(ids: Sequence[str], labels: pd.DataFrame, source: str, *, command: str, fate: str) -> dict:
    """Warn about label rows without an ECG and ECGs without a label row (a typo in IIDs would otherwise train on, or
    score, a subset without a word).

    Parameters
    ----------
    ids
        ECG record ids.
    labels
        The label table (``IID`` column).
    source
        The labels' file, named in the warnings.
    command, fate
        The warnings' prefix (``"finetune"``) and what becomes of those rows (``"not used"``).

    Returns
    -------
    dict
        ``{"label_rows_without_ecg": int, "ecg_records_without_label": int}`` for the manifest.
    """
    ecg_ids = [str(i) for i in ids]
    lab_ids = labels["IID"].astype(str).tolist()
    have_ecg, have_label = set(ecg_ids), set(lab_ids)
    no_ecg = [i for i in lab_ids if i not in have_ecg]
    no_label = [i for i in ecg_ids if i not in have_label]
    if no_ecg:
        log.warning("%s: %d row(s) of %s have no ECG record (first IID %s): %s", command, len(no_ecg), source,
                    no_ecg[0], fate)
    if no_label:
        log.warning("%s: %d ECG record(s) have no row in %s (first: %s): %s", command, len(no_label), source,
                    no_label[0], fate)
    return {"label_rows_without_ecg": len(no_ecg), "ecg_records_without_label": len(no_label)}


def _mean_auroc(y: np.ndarray, p: np.ndarray) -> float:
    aucs = [auroc_rows(y[ok, j][None], p[ok, j][None])[0]
            for j in range(y.shape[1]) for ok in [np.isfinite(y[:, j])]]
    aucs = [a for a in aucs if np.isfinite(a)]
    return float(np.mean(aucs)) if aucs else float("nan")


def _bce(logits: torch.Tensor, y: torch.Tensor, pos_weight: torch.Tensor) -> torch.Tensor:
    known = torch.isfinite(y)
    loss = F.binary_cross_entropy_with_logits(logits, torch.nan_to_num(y), pos_weight=pos_weight, reduction="none")
    return (loss * known).sum() / known.sum().clamp(min=1)


@torch.inference_mode()
def predict(model: ECGEncoder, signals: np.ndarray, crop: int, *, batch_size: int = 256) -> np.ndarray:
    """Probabilities ``[N, L]`` of a fine-tuned model (embedding averaged over the two crops)."""
    emb = embed_ecgs(model, signals, crop, batch_size=batch_size)
    return torch.sigmoid(model.classifier(torch.from_numpy(emb))).numpy()



class _BestEpoch:
    """Early stopping on a validation score: keep a copy of ``module``'s weights at the best score and
    stop after ``patience`` epochs without improvement. ``best``/``epoch`` may carry over from an earlier
    phase (LP-FT: fine-tuning must beat the linear probe's best)."""

    def __init__(self, module: torch.nn.Module, patience: int, *, best: float = -np.inf, epoch: int = -1):
        self.module, self.patience, self.best, self.epoch, self.bad = module, patience, best, epoch, 0
        self.state = copy.deepcopy(module.state_dict()) if np.isfinite(best) else None

    def update(self, score: float, epoch: int) -> bool:
        """Record one epoch's score; True when training should stop."""
        if score > self.best:
            self.best, self.epoch, self.bad = score, epoch, 0
            self.state = copy.deepcopy(self.module.state_dict())
            return False
        self.bad += 1
        return self.bad >= self.patience

    def restore(self) -> None:
        if self.state is None:  # no epoch scored: every validation AUROC was NaN (was a TypeError traceback)
            raise StageError("finetune: the validation mean AUROC was NaN at every epoch (training diverged: "
                             "lower --lr / --encoder-lr; or no label has both classes among the validation records)")
        self.module.load_state_dict(self.state)


def _fit_head(model: ECGEncoder, x_tr, yt, x_va, y_va, crop, pos_weight, s: "FinetuneSettings", epochs: int,
              t0: float) -> tuple[float, int, list[dict]]:
    """Train only ``model.classifier`` on standardised frozen EDFs (full batch, 50 AdamW updates per epoch),
    keep the best validation epoch, and fold the standardisation into the head (so it takes raw EDFs)."""
    emb_tr = torch.from_numpy(embed_ecgs(model, x_tr, crop))
    emb_va = torch.from_numpy(embed_ecgs(model, x_va, crop))
    mu, sd = emb_tr.mean(0), emb_tr.std(0) + 1e-6
    z_tr, z_va = (emb_tr - mu) / sd, (emb_va - mu) / sd
    head = model.classifier
    opt = torch.optim.AdamW(head.parameters(), lr=s.lr * 10, weight_decay=s.weight_decay)
    stop, rows = _BestEpoch(head, s.patience), []
    for epoch in range(1, epochs + 1):
        total = 0.0
        for _ in range(50):
            loss = _bce(head(z_tr), yt, pos_weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) / 50
        with torch.no_grad():
            auc = _mean_auroc(y_va, torch.sigmoid(head(z_va)).numpy())
        rows.append({"epoch": epoch, "stage": "linear_probe", "train_loss": total, "val_mean_auroc": auc,
                     "seconds": round(time.time() - t0, 2)})
        log.info("linear probe epoch %d: train loss %.4f, validation mean AUROC %.4f", epoch, total, auc)
        if stop.update(auc, epoch):
            break
    stop.restore()
    with torch.no_grad():
        w = head.weight / sd
        head.bias -= (w * mu).sum(1)
        head.weight.copy_(w)
    return float(stop.best), stop.epoch, rows


def split_patients(patients: Sequence[str], settings: FinetuneSettings,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation rows, whole patients on one side (a patient's other ECGs never validate it).

    Records are permuted; patients are taken in the order of their first record in that permutation, whole,
    until ``label_fraction`` of the records is used, the first of them until ``val_fraction`` of those is
    reached validating. With one record per patient this is the plain record split.

    Parameters
    ----------
    patients
        Patient id of each labelled record.
    settings
        ``label_fraction`` and ``val_fraction``.
    rng
        Draws the permutation.

    Returns
    -------
    (train rows, validation rows)

    Raises
    ------
    InputError
        Fewer than two patients.
    """
    n = len(patients)
    order = rng.permutation(n)
    n_use = max(2, int(round(settings.label_fraction * n)))
    n_val = max(1, int(round(settings.val_fraction * n_use)))
    codes = pd.factorize(pd.Index([str(p) for p in patients])[order])[0]   # patients by first appearance
    by_patient = order[np.argsort(codes, kind="stable")]
    ends = np.cumsum(np.bincount(codes))                                   # records up to each patient
    if len(ends) < 2:
        raise InputError(f"finetune: the {n} labelled ECGs are of one patient: training and validation need two")
    g_use = max(2, int(np.searchsorted(ends, min(n_use, n))) + 1)
    g_val = min(int(np.searchsorted(ends, n_val)) + 1, g_use - 1)
    use = by_patient[:ends[g_use - 1]]
    return use[ends[g_val - 1]:], use[:ends[g_val - 1]]


def finetune(signals: np.ndarray, ids: Sequence[str], labels: pd.DataFrame, *, checkpoint: str | Path = DEFAULT_CHECKPOINT,
             settings: FinetuneSettings = FinetuneSettings(), out_dir: str | Path | None = None,
             label_names: Sequence[str] | None = None, metadata: dict | None = None,
             patients: dict | None = None, source: str = "labels", resume: bool = False) -> FinetuneResult:
    """Fine-tune (or linear-probe, or train from scratch) a multi-label head; see module docstring.

    Parameters
    ----------
    signals
        ``float32 [N, 12, window]`` preprocessed ECGs (mV), e.g. from :func:`edfgen.model.data.load_ecgs`.
    ids
        ``N`` record ids matched to ``labels["IID"]``.
    labels
        ``IID`` + one 0/1 column per disease.
    patients
        ``{IID: patient id}`` (:attr:`edfgen.formats.labels.LabelSet.patients`): the validation split keeps each
        patient's records together (:func:`split_patients`); default one patient per record.
    source
        The labels' file, named in errors.
    checkpoint
        Pre-trained checkpoint (architecture + preprocessing; weights unused with ``from_scratch``).
    out_dir
        If given, writes ``checkpoint.{safetensors,json}`` and ``finetune_log.tsv`` there, and after each end-to-end
        epoch the resumable state ``finetune_state.safetensors`` (removed once the checkpoint is written).
    resume
        Continue from ``out_dir``'s ``finetune_state.safetensors`` when it was written for the same base checkpoint,
        options, labels, split and ECGs (:func:`run_fingerprint`); otherwise start afresh, with a warning. A resumed
        run writes the same checkpoint, byte for byte, as an uninterrupted one.
    """
    s = settings
    base: LoadedModel = load_checkpoint(checkpoint)
    crop = base.preprocessing.crop_samples
    unmatched = warn_unmatched(ids, labels, source, command="finetune", fate="not used")
    keep, y, names = align_labels(ids, labels, label_names=label_names, source=source)
    who = [str(ids[i]) for i in keep]
    train, val = split_patients([patients.get(i, i) for i in who] if patients else who, s,
                                np.random.default_rng(s.seed))
    x_tr, y_tr = signals[keep[train]], y[train]
    x_va, y_va = signals[keep[val]], y[val]
    known = np.isfinite(y_va)
    pos_va = np.where(known, y_va, 0).sum(axis=0)
    if not ((pos_va > 0) & (pos_va < known.sum(axis=0))).any():     # early stopping needs a validation AUROC
        raise InputError(f"finetune: no label has both classes among the {len(val)} validation ECGs "
                         f"(positives per label: {dict(zip(names, pos_va.astype(int).tolist()))}); "
                         f"use more labelled participants or a larger --label-fraction")
    pos = np.nansum(y_tr, axis=0)
    neg = np.sum(np.isfinite(y_tr), axis=0) - pos
    pos_weight = torch.tensor(np.clip(neg / np.maximum(pos, 1), 1.0, s.max_pos_weight), dtype=torch.float32)
    log.info("finetune: %d train / %d validation ECGs, %d labels, mode %s", len(train), len(val), len(names),
             "linear probe" if s.linear_probe else "from scratch" if s.from_scratch else "fine-tune")

    fingerprint = None if out_dir is None else run_fingerprint(      # (only a run with files can be resumed)
        base, s, names, [who[i] for i in train], [who[i] for i in val], (x_tr, y_tr, x_va, y_va))
    saved = read_finetune_state(Path(out_dir), fingerprint) if resume and out_dir is not None else None
    torch.manual_seed(s.seed)
    cfg = base.config.replace(labels=tuple(names))
    model = ECGEncoder(cfg)
    if not s.from_scratch:
        state = {k: v for k, v in base.model.state_dict().items() if not k.startswith("classifier.")}
        model.load_state_dict(state, strict=False)
    yt = torch.from_numpy(y_tr)
    rows: list[dict] = []
    t0 = time.time()
    best, best_epoch = -np.inf, -1
    if not s.from_scratch and saved is None:
        # linear probe (the whole method in --linear-probe mode; the head's initialisation for fine-tuning: LP-FT)
        probe_epochs = s.epochs if s.linear_probe else max(1, s.epochs // 2)
        best, best_epoch, rows = _fit_head(model, x_tr, yt, x_va, y_va, crop, pos_weight, s, probe_epochs, t0)
    if not s.linear_probe:
        head = list(model.classifier.parameters())
        enc = [p for n, p in model.named_parameters() if not n.startswith("classifier.")]
        opt = torch.optim.AdamW([{"params": enc, "lr": s.encoder_lr if not s.from_scratch else s.lr},
                                 {"params": head, "lr": s.lr if s.from_scratch else s.encoder_lr}],
                                weight_decay=s.weight_decay)
        gen = torch.Generator().manual_seed(s.seed)
        stop = _BestEpoch(model, s.patience, best=best, epoch=best_epoch)
        first = len(rows) + 1
        last = first + s.epochs - 1
        if saved is not None:
            doc = restore_finetune_state(saved, model, opt, stop, gen)
            rows, first, last = doc["rows"], doc["epoch"] + 1, doc["last"]
            # the log's seconds count on from the killed run (a state without them: its last row's)
            t0 = time.time() - float(doc.get("seconds", rows[-1]["seconds"] if rows else 0.0))
            log.warning("finetune: the killed run is resumed after its epoch %d (%s)", first - 1,
                        Path(out_dir) / STATE_NAME)
        for epoch in range(first, last + 1) if saved is None or not saved[0]["stopped"] else ():
            model.train()
            perm = torch.randperm(len(train), generator=gen)
            total, nb = 0.0, 0
            for b in range(0, len(train), s.batch_size):
                idx = perm[b:b + s.batch_size].numpy()
                x = torch.from_numpy(x_tr[idx])
                crops = augment(two_crops(x, crop, jitter=100, generator=gen), generator=gen)
                # preprocessed signals: no batch-level units check (a short last minibatch of one noisy record
                # that the quality thresholds let through stopped the run)
                e = model.embed(crops.reshape(-1, *crops.shape[2:]), check_units=False).view(len(idx), 2, -1).mean(1)
                loss = _bce(model.classifier(e), yt[idx], pos_weight)
                opt.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                total, nb = total + float(loss.detach()), nb + 1
            auc = _mean_auroc(y_va, predict(model, x_va, crop))
            rows.append({"epoch": epoch, "stage": "scratch" if s.from_scratch else "finetune",
                         "train_loss": total / max(nb, 1), "val_mean_auroc": auc, "seconds": round(time.time() - t0, 2)})
            log.info("finetune epoch %d: train loss %.4f, validation mean AUROC %.4f", epoch, total / max(nb, 1), auc)
            done = stop.update(auc, epoch)
            if out_dir is not None:
                save_finetune_state(Path(out_dir), model, opt, stop, gen, rows, epoch, fingerprint, stopped=done or epoch == last,
                                    last=last, seconds=time.time() - t0)
            if done:
                break
        stop.restore()
        best, best_epoch = stop.best, stop.epoch
    model.eval()
    path = None
    hist = pd.DataFrame(rows, columns=["epoch", "stage", "train_loss", "val_mean_auroc", "seconds"])
    if out_dir is not None:
        out_dir = Path(out_dir)
        meta = {"finetune": asdict(s), "base_checkpoint": str(base.path), "base_sha256": base.sha256,
                "best_epoch": best_epoch, "best_val_mean_auroc": best, "n_train": len(train), "n_val": len(val),
                **unmatched, **(metadata or {})}
        path = save_checkpoint(model, cfg, base.preprocessing, out_dir / "checkpoint", metadata=meta)
        write_table(hist, out_dir / "finetune_log.tsv")
        (out_dir / STATE_NAME).unlink(missing_ok=True)      # the run is complete: nothing to resume
    return FinetuneResult(best_val_auroc=float(best), best_epoch=best_epoch, checkpoint=path, n_train=len(train),
                          n_val=len(val), log=hist, model=model)
