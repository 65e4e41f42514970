"""``edfgen pretrain``: self-supervised pre-training of the ECG encoder into an output folder.

What this module knows: the output folder and its manifest (on rank 0 of a ``torchrun`` job);
the training itself is :func:`edfgen.model.pretrain.pretrain`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Sequence

from edfgen.commands.model import restores_threads, set_threads
from edfgen.commands.options import SEED_RANGE, CommandOptions, force_opt, opt, out_opt, seed_opt, threads_opt
from edfgen.exceptions import InputError
from edfgen.formats.manifest import read_manifest, recording
from edfgen.formats.paths import file_arg, file_args
from edfgen.formats.tables import prepare_out_dir
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.model.device import check_device_name


@dataclass(frozen=True)
class PretrainOptions(CommandOptions):
    """``edfgen pretrain`` (:func:`run_pretrain`)."""

    command: ClassVar[str] = "pretrain"
    config_name: str = opt("small", "Model config (tiny, small, base, lfm-600m).", cli=("--config",))
    ecg: tuple[str, ...] = opt((), "ECG files/directories or .npz bundles (repeatable: give every folder). WFDB "
                               "records in units z (per-lead z-scores, e.g. ptbxl_extra) are read here, each lead "
                               "rescaled to a typical SD in mV.", multiple=True, path="any",
                               exists=True)
    simulated: int = opt(0, "Also train on N simulated participants (ECGs synthesised per batch, fresh noise).",
                         range=(0, None))
    sim_seed: int = opt(0, "Physiology seed of the simulated participants.", range=SEED_RANGE)
    steps: int = opt(1000, "Optimizer updates.", range=(1, None))
    batch_size: int = opt(32, "10 s recordings per micro-batch per process (two 5 s crops each).", range=(2, None))
    accum: int = opt(1, "Gradient accumulation.", range=(1, None))
    lr: float = opt(1e-3, "Peak learning rate (AdamW).", range=(0, None), open=(True, False))
    warmup: int = opt(100, "Linear warm-up updates.", range=(1, None))
    checkpoint_every: int = opt(200, "Write the checkpoint and the training state every N updates (and at the end).",
                                range=(1, None))
    wander_mv: float = opt(0.0, "Augmentation: baseline wander (0.05-0.5 Hz sinusoid per lead) up to this amplitude "
                           "in mV.", range=(0, None))
    lead_dropout: float = opt(0.0, "Augmentation: probability that each lead of a crop is zeroed.", range=(0, 1),
                              open=(False, True))
    resume: bool = opt(False, "Continue the run in --out from its last checkpoint.")
    init: str | None = opt(None, "Continued pre-training: start from this checkpoint's weights (name or path; same "
                           "--config), with a fresh optimizer and schedule.")
    device: str | None = opt(None, "auto, cpu, cuda, cuda:N (a GPU index) or mps (default auto: cuda if available; "
                             "cuda is cuda:LOCAL_RANK under torchrun, else cuda:0).")
    out: str | None = out_opt()
    seed: int = seed_opt()
    threads: int | None = threads_opt()
    force: bool = force_opt()

    def __post_init__(self):
        check_device_name(self.device)    # a misspelt device: refused before anything is read


def run(o: PretrainOptions):
    """``edfgen pretrain``: :func:`run_pretrain` (None on ranks other than 0)."""
    return run_pretrain(out=o.out, config_name=o.config_name, ecg=o.ecg, simulated=o.simulated, sim_seed=o.sim_seed,
                        steps=o.steps, batch_size=o.batch_size, accum=o.accum, lr=o.lr, warmup=o.warmup,
                        checkpoint_every=o.checkpoint_every, wander_mv=o.wander_mv, lead_dropout=o.lead_dropout,
                        resume=o.resume, device=o.device, seed=o.seed, threads=o.threads, force=o.force,
                        init=o.init)


@restores_threads
def run_pretrain(ecg: Sequence[str | os.PathLike] | str | os.PathLike = PretrainOptions.ecg,
                 out: str | os.PathLike | None = None, *, config_name: str = PretrainOptions.config_name,
                 simulated: int = PretrainOptions.simulated, sim_seed: int = PretrainOptions.sim_seed,
                 steps: int = PretrainOptions.steps, batch_size: int = PretrainOptions.batch_size,
                 accum: int = PretrainOptions.accum, lr: float = PretrainOptions.lr, warmup: int = PretrainOptions.warmup,
                 checkpoint_every: int = PretrainOptions.checkpoint_every, wander_mv: float = PretrainOptions.wander_mv,
                 lead_dropout: float = PretrainOptions.lead_dropout, resume: bool = False, device: str | None = None,
                 seed: int = PretrainOptions.seed, threads: int | None = None, force: bool = False,
                 init: str | None = None):
    """Pre-train (see ``edfgen pretrain --help`` for the options) and write ``out``, with the command's defaults:
    ``run_pretrain("ecgs/", "out/pretrain", steps=500)``, or ``run_pretrain(out="out/pretrain", simulated=2000)``
    (s42files #6: every option was a required keyword).

    Parameters
    ----------
    ecg
        ``--ecg``: ECG files or folders (one path or several); none with ``simulated``.
    out
        ``--out``: the output folder (required).
    config_name, simulated, sim_seed, steps, batch_size, accum, lr, warmup, checkpoint_every, wander_mv, lead_dropout, \
resume, device, seed, threads, force, init
        The options of ``edfgen pretrain`` (:class:`PretrainOptions`: ``--config`` is ``config_name``).

    Returns
    -------
    edfgen.model.pretrain.PretrainResult or None
        Rank 0 (or a single process) prepares ``out``, records the manifest and returns the result; other ranks of a
        ``torchrun`` job train and return ``None``.

    Raises
    ------
    InputError
        No ``out``; ``ecg`` not paths (a DataFrame: one line naming ``--ecg``).
    """
    from edfgen.model.config import get_config
    from edfgen.model.device import resolve_train_device
    from edfgen.model.pretrain import PretrainSettings, pretrain  # imports torch

    if out is None:
        raise InputError("pretrain: --out is required (out='folder')")
    ecg = [] if ecg is None else file_args(ecg, "--ecg")    # (one path is one folder, not its characters)
    resolve_train_device(device, int(os.environ.get("LOCAL_RANK", "0")))   # no such GPU: refused before --out is made
    out = Path(file_arg(out, "--out"))
    set_threads(threads)
    rank0 = int(os.environ.get("RANK", "0")) == 0
    if not resume and rank0:
        previous = read_manifest(out) if out.is_dir() else None
        if not force and previous and previous.get("command") == "edfgen pretrain" and not previous.get("finished") \
                and (out / "train_state.safetensors").exists():     # (none yet: nothing to resume, a plain rerun)
            raise InputError(f"--out {out}: holds an unfinished 'edfgen pretrain' run (started "
                             f"{previous.get('started', '?')}, killed?): --resume continues it, --force starts over")
        prepare_out_dir(out, force=force, command="edfgen pretrain")
    settings = PretrainSettings(steps=steps, batch_size=batch_size, accum=accum, lr=lr, warmup=min(warmup, steps),
                                seed=seed, checkpoint_every=checkpoint_every, wander_mv=wander_mv,
                                lead_dropout=lead_dropout)
    params = {"config": config_name, "simulated": simulated, "sim_seed": sim_seed, "resume": resume,
              "init": init, **settings.__dict__}
    cfg = get_config(config_name)
    if not rank0:
        pretrain(out, config=cfg, settings=settings, preprocessing=Preprocessing(), ecg=list(ecg),
                 simulated=simulated, sim_seed=sim_seed, resume=resume, device=device, init=init)
        return None
    with recording(out, "edfgen pretrain", parameters=params, inputs=list(ecg), seed=seed, replace=not resume):
        return pretrain(out, config=cfg, settings=settings, preprocessing=Preprocessing(), ecg=list(ecg),
                        simulated=simulated, sim_seed=sim_seed, resume=resume, device=device, init=init,
                        metadata={"command": "edfgen pretrain", "parameters": params})
