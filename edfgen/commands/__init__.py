"""Commands: one module per ``edfgen`` command.

Each module holds the command's frozen options dataclass (``GwasOptions``, ...: the only place an
option's default, range or choice is written) and ``run(options)``, which wires formats -> kernels and
engines -> output files inside the manifest recording. The command line (:mod:`edfgen.cli`) generates
its click options from the dataclass and calls ``run``; ``edfgen run`` (:mod:`edfgen.pipeline`) builds
the same dataclasses from its TOML sections and calls the same ``run``. Shared option groups and their
validation are in :mod:`edfgen.commands.options`.

Commands import formats, kernels, engines, plots, the model and the simulator; nothing below them
imports a command.
"""

from __future__ import annotations

import importlib
from typing import Any

#: command name -> module (imported on first use: ``edfgen gwas`` does not import torch)
MODULES = {"simulate": "simulate", "extract": "extract", "interpret": "interpret", "gwas": "gwas", "pca": "pca",
           "clump": "clump", "annotate": "annotate", "mr": "mr", "ldsc": "ldsc", "finemap": "finemap",
           "coloc": "coloc", "catalog download": "catalog",
           "pretrain": "pretrain", "finetune": "finetune", "evaluate": "evaluate", "model info": "model",
           "model export": "model"}


def run(options: Any):
    """Run the command of ``options`` (``options.command``) and return its result.

    Parameters
    ----------
    options
        A command's options dataclass (``GwasOptions(...)``, ...). Checked first as the command line checks
        its options (:meth:`edfgen.commands.options.CommandOptions.checked`: required fields, ranges, choices;
        a list field given as ``"a,b"`` is two names), so a bad value is a one-line
        :class:`~edfgen.exceptions.InputError` before any work.
    """
    options = options.checked()
    return importlib.import_module(f"edfgen.commands.{MODULES[options.command]}").run(options)
