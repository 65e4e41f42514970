"""``edfgen finetune``: a disease head fitted on labelled ECGs, written with its log and manifest.

What this module knows: the output folder (``checkpoint.{safetensors,json}``, ``finetune_log.tsv``,
``rejects.tsv``, ``manifest.json``); the training is :func:`edfgen.model.finetune.finetune`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from edfgen.commands.model import load_signals, set_threads, write_rejects
from edfgen.formats.labels import read_labels
from edfgen.formats.manifest import recording
from edfgen.formats.tables import prepare_out_dir


def run_finetune(*, checkpoint, ecg: Sequence[str | os.PathLike], labels: str | os.PathLike,
                 label_columns: Sequence[str] | None, label_fraction: float, epochs: int, patience: int,
                 batch_size: int, lr: float, encoder_lr: float, from_scratch: bool, linear_probe: bool,
                 out: str | os.PathLike, seed: int, threads: int | None, force: bool):
    """Fine-tune (see ``edfgen finetune --help`` for the options) into ``out``.

    Returns
    -------
    edfgen.model.finetune.FinetuneResult
    """
    from edfgen.model.finetune import FinetuneSettings, finetune  # imports torch

    out = Path(out)
    set_threads(threads)
    prepare_out_dir(out, force=force, command="edfgen finetune")
    settings = FinetuneSettings(label_fraction=label_fraction, epochs=epochs, patience=patience,
                                batch_size=batch_size, lr=lr, encoder_lr=encoder_lr, from_scratch=from_scratch,
                                linear_probe=linear_probe, seed=seed)
    with recording(out, "edfgen finetune", parameters={"checkpoint": str(checkpoint), **settings.__dict__},
                   inputs=[*ecg, labels], seed=seed):
        arr, _ = load_signals(ecg, checkpoint)
        res = finetune(arr.signals, arr.ids, read_labels(labels), checkpoint=checkpoint, settings=settings,
                       out_dir=out, label_names=label_columns)
        write_rejects(arr.rejects, out)
    return res
