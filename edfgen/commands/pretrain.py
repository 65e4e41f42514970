"""``edfgen pretrain``: self-supervised pre-training of the ECG encoder into an output folder.

What this module knows: the output folder and its manifest (on rank 0 of a ``torchrun`` job);
the training itself is :func:`edfgen.model.pretrain.pretrain`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from edfgen.commands.model import set_threads
from edfgen.formats.manifest import recording
from edfgen.formats.tables import prepare_out_dir
from edfgen.kernels.ecg.preprocessing_config import Preprocessing


def run_pretrain(*, out: str | os.PathLike, config_name: str, ecg: Sequence[str | os.PathLike], simulated: int,
                 sim_seed: int, steps: int, batch_size: int, accum: int, lr: float, warmup: int,
                 checkpoint_every: int, wander_mv: float, lead_dropout: float, resume: bool, device: str | None,
                 seed: int, threads: int | None, force: bool):
    """Pre-train (see ``edfgen pretrain --help`` for the options) and write ``out``.

    Rank 0 (or a single process) prepares ``out``, records the manifest and returns the
    :class:`edfgen.model.pretrain.PretrainResult`; other ranks of a ``torchrun`` job train and return ``None``.
    """
    from edfgen.model.config import get_config
    from edfgen.model.pretrain import PretrainSettings, pretrain  # imports torch

    out = Path(out)
    set_threads(threads)
    rank0 = int(os.environ.get("RANK", "0")) == 0
    if not resume and rank0:
        prepare_out_dir(out, force=force, command="edfgen pretrain")
    settings = PretrainSettings(steps=steps, batch_size=batch_size, accum=accum, lr=lr, warmup=min(warmup, steps),
                                seed=seed, checkpoint_every=checkpoint_every, wander_mv=wander_mv,
                                lead_dropout=lead_dropout)
    params = {"config": config_name, "simulated": simulated, "sim_seed": sim_seed, "resume": resume,
              **settings.__dict__}
    cfg = get_config(config_name)
    if not rank0:
        pretrain(out, config=cfg, settings=settings, preprocessing=Preprocessing(), ecg=list(ecg),
                 simulated=simulated, sim_seed=sim_seed, resume=resume, device=device)
        return None
    with recording(out, "edfgen pretrain", parameters=params, inputs=list(ecg), seed=seed, replace=not resume):
        return pretrain(out, config=cfg, settings=settings, preprocessing=Preprocessing(), ecg=list(ecg),
                        simulated=simulated, sim_seed=sim_seed, resume=resume, device=device,
                        metadata={"command": "edfgen pretrain", "parameters": params})
