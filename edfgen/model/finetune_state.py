"""The resumable state of ``edfgen finetune``: ONE file, ``finetune_state.safetensors``, written after each end-to-end
epoch (:func:`edfgen.model.train_state.save_train_state`: weights, AdamW moments and a JSON document, renamed into
place atomically) with the best epoch's weights and the RNG states, and the run's fingerprint: a rerun resumes from it
only when the base checkpoint, options, labels, split and ECGs are the same, and then writes the same checkpoint,
byte for byte, as an uninterrupted run. No pickle.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from edfgen.model.train_state import STATE_KEY, restore_optimizer, save_train_state

log = logging.getLogger(__name__)


#: the resumable state of ``edfgen finetune`` in its ``--out`` folder
STATE_NAME = "finetune_state.safetensors"


def run_fingerprint(base, settings, names: Sequence[str], train_ids: Sequence[str],
                    val_ids: Sequence[str], arrays: Sequence[np.ndarray]) -> str:
    """What a fine-tune depends on, as one hex sha256: the base checkpoint's weights and JSON, every option, the label
    names, the training and validation records (so the split and the patients), the bytes of their ECGs and labels,
    and what changes the trained bytes beyond them: torch's thread count (``--threads``; by default all cores, so the
    same command on another node), torch's and edfgen's versions.

    Parameters
    ----------
    base
        The base checkpoint (:class:`~edfgen.model.checkpoint.LoadedModel`): the sha256 of its weights, as loaded,
        and the bytes of its JSON (its config and metadata), read here.
    settings
        The run's options (:class:`~edfgen.model.finetune.FinetuneSettings`).
    names, train_ids, val_ids
        Label names and the record ids on each side of the split.
    arrays
        The training and validation signals and labels.

    Returns
    -------
    str
        A state saved under another fingerprint is never resumed.
    """
    from edfgen import __version__

    base_json = hashlib.sha256(Path(base.path).read_bytes()).hexdigest()     # (the weights: hashed when loaded)
    h = hashlib.sha256(json.dumps({"base": base.sha256, "base_json": base_json, "settings": asdict(settings),
                                   "labels": list(names), "train": list(train_ids), "val": list(val_ids),
                                   "threads": torch.get_num_threads(), "torch": torch.__version__,
                                   "edfgen": __version__}).encode())
    for a in arrays:
        h.update(str((a.dtype, a.shape)).encode())
        h.update(memoryview(np.ascontiguousarray(a)).cast("B"))
    return h.hexdigest()


def save_finetune_state(out_dir: Path, model, opt, stop, gen: torch.Generator, rows: list[dict], epoch: int,
                        fingerprint: str, *, stopped: bool, last: int, seconds: float = 0.0) -> None:
    """The state after ``epoch`` as one file, ``out_dir/finetune_state.safetensors``, renamed into place atomically.

    Parameters
    ----------
    out_dir
        The run's folder.
    model, opt
        The model being fine-tuned and its AdamW.
    stop
        The early stopping (``best``, ``epoch``, ``bad`` and the best epoch's weights ``state``).
    gen
        The generator of the batches and augmentations (the global torch RNG, of dropout, is stored too).
    rows
        The log so far.
    epoch, last
        The epoch just done and the run's last.
    fingerprint
        :func:`run_fingerprint` of the run.
    stopped
        Early stopping ended the run (or ``epoch == last``): a resumed run only writes the checkpoint.
    seconds
        Wall time since the start of fine-tuning: a resumed run counts its log's ``seconds`` on from it.
    """
    more = {"rng.torch": torch.get_rng_state(), "rng.batches": gen.get_state()}
    more.update({f"best.{k}": v for k, v in (stop.state or {}).items()})
    save_train_state(out_dir, model, opt, epoch, name=STATE_NAME, tensors=more,
                     extra={"fingerprint": fingerprint, "epoch": epoch, "last": last, "stopped": stopped, "rows": rows,
                            "best": stop.best, "best_epoch": stop.epoch, "bad": stop.bad, "seconds": seconds})


def read_finetune_state(out_dir: Path, fingerprint: str) -> tuple[dict, dict] | None:
    """The document and tensors of ``out_dir``'s fine-tune state when it was saved under ``fingerprint``; ``None``
    (with a warning when there is a state) otherwise.

    Parameters
    ----------
    out_dir
        The run's folder.
    fingerprint
        :func:`run_fingerprint` of this call.

    Returns
    -------
    tuple or None
        ``(document, tensors)``.
    """
    from safetensors import SafetensorError, safe_open
    from safetensors.torch import load_file

    path = out_dir / STATE_NAME
    if not path.exists():
        return None
    try:
        with safe_open(str(path), framework="pt") as fh:
            doc = json.loads((fh.metadata() or {}).get(STATE_KEY) or "{}")
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        log.warning("finetune: %s is unreadable (%s): not resumed, starting afresh", path, exc)
        return None
    if doc.get("fingerprint") != fingerprint:
        log.warning("finetune: %s was written for another base checkpoint, options, labels or ECGs: not resumed, "
                    "starting afresh (a run also depends on torch's thread count, --threads, and on the torch and "
                    "edfgen versions)", path)
        return None
    return doc, tensors


def restore_finetune_state(saved: tuple[dict, dict], model, opt, stop, gen: torch.Generator) -> dict:
    """Put a :func:`read_finetune_state` state back into the model, optimizer, early stopping and RNGs.

    Parameters
    ----------
    saved
        ``(document, tensors)`` from :func:`read_finetune_state`.
    model, opt, stop, gen
        As given to :func:`save_finetune_state`, freshly built by the same call.

    Returns
    -------
    dict
        The state's document (``epoch``, ``last``, ``rows``, ...).
    """
    doc, tensors = saved
    model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    restore_optimizer(opt, doc, tensors)
    best = {k[len("best."):]: v for k, v in tensors.items() if k.startswith("best.")}
    stop.best, stop.epoch, stop.bad, stop.state = doc["best"], doc["best_epoch"], doc["bad"], best or None
    torch.set_rng_state(tensors["rng.torch"])
    gen.set_state(tensors["rng.batches"])
    return doc
