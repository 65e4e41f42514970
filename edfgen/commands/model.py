"""``edfgen model export`` and the pieces every model command shares: torch threads, reading ECGs with a
checkpoint's own preprocessing, and ``rejects.tsv``.

What this module knows: how the model commands (:mod:`edfgen.commands.pretrain`,
:mod:`edfgen.commands.finetune`, :mod:`edfgen.commands.evaluate`) turn files into arrays for
:mod:`edfgen.model` and arrays into files. ``edfgen model info`` writes nothing (it prints
:func:`edfgen.model.info.model_info`).
"""

from __future__ import annotations

import functools
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Sequence

import pandas as pd

from edfgen.commands.options import CommandOptions, opt, out_opt
from edfgen.exceptions import InputError
from edfgen.formats.ecg.records import REJECT_COLUMNS
from edfgen.formats.tables import write_table


def set_threads(n: int | None) -> None:
    """Torch intra-op threads (unchanged when ``n`` is ``None`` or 0)."""
    if n:
        import torch

        torch.set_num_threads(n)


def restores_threads(func):
    """Decorator: torch's intra-op threads are set back after ``func`` (a command's ``threads`` is for the command:
    ``run_evaluate(threads=1)`` left a notebook's torch on 1 thread; ``extract_edfs`` restores them too)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        import torch

        n = torch.get_num_threads()
        try:
            return func(*args, **kwargs)
        finally:
            torch.set_num_threads(n)
    return wrapper


def load_signals(ecg: Sequence[str | os.PathLike], checkpoint):
    """The ECGs preprocessed as ``checkpoint``'s JSON says (its weights are not loaded).

    Returns
    -------
    (:class:`edfgen.model.data.EcgArray`, :class:`~edfgen.kernels.ecg.preprocessing_config.Preprocessing`)
    """
    from edfgen.model.checkpoint import checkpoint_preprocessing, read_checkpoint_json  # imports torch
    from edfgen.model.data import load_ecgs

    prep = checkpoint_preprocessing(*read_checkpoint_json(checkpoint))   # a bad checkpoint: one line, before any ECG
    return load_ecgs(list(ecg), prep), prep


def write_rejects(rejects, out: Path) -> None:
    """``out/rejects.tsv`` (``record, path, reason``) when any ECG could not be used, and a warning with their count
    (repeated in the end-of-command summary, :func:`edfgen.progress.warning_summary`)."""
    if rejects:
        path = write_table(pd.DataFrame(rejects, columns=REJECT_COLUMNS), out / "rejects.tsv")
        record, _, reason = rejects[0]
        logging.getLogger(__name__).warning("%d ECG record(s) rejected (first: %s: %s) -> %s", len(rejects), record,
                                            reason, path)


def _is_edfgen_checkpoint_file(path: Path) -> bool:
    """Whether ``path`` is a file of an edfgen checkpoint: a JSON whose ``format`` is ``edfgen-checkpoint``, or a
    ``.safetensors`` whose header metadata says so (:func:`edfgen.model.checkpoint.save_checkpoint` writes both)."""
    from edfgen.model.checkpoint import FORMAT

    try:
        with open(path, "rb") as fh:
            if path.suffix == ".json":
                doc = json.loads(fh.read(1 << 20))
            else:
                n = int.from_bytes(fh.read(8), "little")
                doc = json.loads(fh.read(n)).get("__metadata__") if 2 <= n <= 1 << 26 else None
    except (OSError, ValueError, UnicodeDecodeError, AttributeError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def export_prefix(out: str | os.PathLike, source: Path) -> Path:
    """The prefix ``model export`` writes for ``--out out``: ``out`` without a ``.json``/``.safetensors`` suffix,
    or ``out/<source's name>`` when ``out`` is an existing folder or ends in ``/`` (a new folder, made by
    :func:`edfgen.model.checkpoint.save_checkpoint`).

    Raises
    ------
    InputError
        ``<prefix>.json`` or ``<prefix>.safetensors`` exists and is not an edfgen checkpoint's file (an earlier
        edfgen checkpoint's files are replaced; nothing else is), ``out`` is empty, or ``out`` is the prefix of
        ``source`` itself.
    """
    if not str(out).strip():  # was: Path('') is '.', so --out '' wrote into the working folder
        raise InputError("--out '': empty; give an output prefix (e.g. exported/tiny) or a folder ending in /")
    p = Path(out)
    if p.is_dir() or str(out).endswith(("/", os.sep)):
        p = p / source.stem
    elif p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    if p.with_name(p.name + ".json").resolve() == source.resolve():  # was: rewrote the (shipped) source in place
        raise InputError(f"--out {out}: is the checkpoint being exported ({source}); choose another prefix")
    for f in (p.with_name(p.name + ".json"), p.with_name(p.name + ".safetensors")):
        if (f.exists() or f.is_symlink()) and not (f.is_file() and _is_edfgen_checkpoint_file(f)):
            raise InputError(f"--out {out}: {f} exists and is not an edfgen checkpoint file (only an earlier "
                             f"edfgen checkpoint is replaced); move it away or choose another --out")
    return p


def run_export(*, checkpoint, out: str | os.PathLike):
    """Re-save a checkpoint under the prefix ``out`` (``<out>.safetensors`` and ``<out>.json``; see
    :func:`export_prefix` for a folder and for names already taken).

    Returns
    -------
    (path written, the checkpoint's sha256)
    """
    from edfgen.model.checkpoint import load_checkpoint, save_checkpoint  # imports torch

    m = load_checkpoint(checkpoint)
    prefix = export_prefix(out, m.path)
    path = save_checkpoint(m.model, m.config, m.preprocessing, prefix, metadata=m.metadata)
    return path, m.sha256


@dataclass(frozen=True)
class ModelInfoOptions(CommandOptions):
    """``edfgen model info`` (:func:`edfgen.model.info.model_info`)."""

    command: ClassVar[str] = "model info"
    config_name: str | None = opt(None, "A named config (tiny, small, base, lfm-600m).", cli=("--config",))
    checkpoint: str | None = opt(None, "A checkpoint name or path (instead of --config).", path="checkpoint")


@dataclass(frozen=True)
class ModelExportOptions(CommandOptions):
    """``edfgen model export`` (:func:`run_export`)."""

    command: ClassVar[str] = "model export"
    checkpoint: str | None = opt(None, "Checkpoint name or path (e.g. runs/tiny/checkpoint).", required=True,
                                 path="checkpoint")
    out: str | None = out_opt("prefix", "Output prefix (writes <prefix>.safetensors and <prefix>.json; an existing "
                              "folder or a name ending in /: <folder>/<checkpoint name>.*, the folder made if "
                              "new). Files not written by edfgen are never replaced.")


def run(o: ModelInfoOptions | ModelExportOptions):
    """``edfgen model info``: the config's size and shapes as a dict (:func:`edfgen.model.info.model_info`);
    ``edfgen model export``: :func:`run_export`."""
    if isinstance(o, ModelInfoOptions):
        from edfgen.model.info import model_info

        return model_info(config_name=o.config_name, checkpoint=o.checkpoint)
    return run_export(checkpoint=o.checkpoint, out=o.out)
