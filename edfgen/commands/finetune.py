"""``edfgen finetune``: a disease head fitted on labelled ECGs, written with its log and manifest.

What this module knows: the output folder (``checkpoint.{safetensors,json}``, ``finetune_log.tsv``,
``rejects.tsv``, ``manifest.json``, and while it runs ``finetune_state.safetensors``: a rerun of a killed run
resumes from it, ``--force`` starts over); the training is :func:`edfgen.model.finetune.finetune`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Sequence

from edfgen import DEFAULT_CHECKPOINT
from edfgen.commands.model import load_signals, restores_threads, set_threads, write_rejects
from edfgen.commands.options import CommandOptions, as_list, force_opt, opt, out_opt, seed_opt, threads_opt
from edfgen.formats.paths import file_args
from edfgen.formats.labels import read_label_table
from edfgen.formats.manifest import read_manifest, recording
from edfgen.formats.tables import prepare_out_dir


#: what a run writes in ``--out`` (listed in its in-progress manifest, so that a rerun of a killed run takes the folder)
PLANNED = ("checkpoint.safetensors", "checkpoint.json", "finetune_log.tsv", "rejects.tsv", "finetune_state.safetensors")


@dataclass(frozen=True)
class FinetuneOptions(CommandOptions):
    """``edfgen finetune`` (:func:`run_finetune`)."""

    command: ClassVar[str] = "finetune"
    checkpoint: str = opt(DEFAULT_CHECKPOINT, "Pre-trained checkpoint name or path.", path="checkpoint")
    ecg: tuple[str, ...] = opt((), "ECG files/directories or .npz bundles (repeatable).", multiple=True, required=True,
                               path="any", exists=True)
    labels: str | None = opt(None, "Outcomes table: IID + 0/1 columns, optional patient_id (a patient's ECGs are "
                             "kept together on the training or the validation side).", required=True, path="file",
                             exists=True)
    label_columns: tuple[str, ...] | None = opt(None, "Comma-separated label columns (default: all but IID).",
                                                comma=True)
    label_fraction: float = opt(1.0, "Share of labelled participants to use.", range=(0, 1), open=(True, False))
    epochs: int = opt(20, "Most epochs of fine-tuning (or of the head with --linear-probe); the default LP-FT mode "
                      "first fits the head alone for up to max(1, epochs // 2) more, so up to 1.5 x epochs in all "
                      "(2 with --epochs 1).",
                      range=(1, None))
    patience: int = opt(4, "Stop after this many epochs without a better validation mean AUROC.", range=(1, None))
    batch_size: int = opt(64, "ECGs per training batch.", range=(2, None))
    lr: float = opt(1e-3, "Head learning rate.", range=(0, None), open=(True, False))
    encoder_lr: float = opt(3e-4, "Encoder learning rate.", range=(0, None), open=(True, False))
    from_scratch: bool = opt(False, "Same architecture, random initialisation.")
    linear_probe: bool = opt(False, "Frozen encoder; train only the head on the EDFs.")
    out: str | None = out_opt()
    seed: int = seed_opt()
    threads: int | None = threads_opt()
    force: bool = force_opt()


def run(o: FinetuneOptions):
    """``edfgen finetune``: :func:`run_finetune`."""
    return run_finetune(checkpoint=o.checkpoint, ecg=o.ecg, labels=o.labels, label_columns=as_list(o.label_columns),
                        label_fraction=o.label_fraction, epochs=o.epochs, patience=o.patience,
                        batch_size=o.batch_size, lr=o.lr, encoder_lr=o.encoder_lr, from_scratch=o.from_scratch,
                        linear_probe=o.linear_probe, out=o.out, seed=o.seed, threads=o.threads, force=o.force)


@restores_threads
def run_finetune(*, checkpoint=FinetuneOptions.checkpoint, ecg: Sequence[str | os.PathLike] | str | os.PathLike,
                 labels: str | os.PathLike, out: str | os.PathLike, label_columns: Sequence[str] | None = None,
                 label_fraction: float = FinetuneOptions.label_fraction, epochs: int = FinetuneOptions.epochs,
                 patience: int = FinetuneOptions.patience, batch_size: int = FinetuneOptions.batch_size,
                 lr: float = FinetuneOptions.lr, encoder_lr: float = FinetuneOptions.encoder_lr,
                 from_scratch: bool = False, linear_probe: bool = False, seed: int = FinetuneOptions.seed,
                 threads: int | None = None, force: bool = False):
    """Fine-tune a checkpoint on labelled ECGs into ``out``, as ``edfgen finetune`` does.

    Parameters
    ----------
    checkpoint : str or os.PathLike
        Pre-trained checkpoint name or path (default: the command's).
    ecg : path or list of paths
        ECG files, folders or ``.npz`` bundles (:func:`~edfgen.formats.paths.file_args`).
    labels : str or os.PathLike
        Outcomes table: IID and 0/1 columns, optional ``patient_id``.
    out : str or os.PathLike
        Output folder.
    label_columns, label_fraction, epochs, patience, batch_size, lr, encoder_lr, from_scratch, linear_probe
        The command's options, with its defaults (:class:`FinetuneOptions`; ``edfgen finetune --help``).
    seed, threads, force
        As the command's ``--seed``, ``--threads``, ``--force``.

    Returns
    -------
    edfgen.model.finetune.FinetuneResult
    """
    from edfgen.model.finetune import STATE_NAME, FinetuneSettings, finetune  # imports torch

    out, ecg = Path(out), file_args(ecg, "--ecg")
    set_threads(threads)
    prepare_out_dir(out, force=force, command="edfgen finetune")
    previous = read_manifest(out) if out.is_dir() else None
    # a rerun resumes a killed run (its state is kept; finetune checks it was written for the same inputs and options)
    resume = (not force and previous is not None and previous.get("command") == "edfgen finetune"
              and previous.get("finished") is None and (out / STATE_NAME).is_file())
    settings = FinetuneSettings(label_fraction=label_fraction, epochs=epochs, patience=patience,
                                batch_size=batch_size, lr=lr, encoder_lr=encoder_lr, from_scratch=from_scratch,
                                linear_probe=linear_probe, seed=seed)
    with recording(out, "edfgen finetune", parameters={"checkpoint": str(checkpoint), **settings.__dict__},
                   inputs=[*ecg, labels], seed=seed, planned=PLANNED, replace=not resume):
        arr, _ = load_signals(ecg, checkpoint)
        ls = read_label_table(labels, label_columns=label_columns)   # patient_id: not a label, keeps patients together
        res = finetune(arr.signals, arr.ids, ls.labels, checkpoint=checkpoint, settings=settings, out_dir=out,
                       label_names=label_columns, patients=ls.patients, source=str(labels), resume=resume)
        write_rejects(arr.rejects, out)
    return res
