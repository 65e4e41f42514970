"""``edfgen pretrain``, ``edfgen finetune``, ``edfgen evaluate`` and ``edfgen model info|export``.

Options only: each command's click options are generated from its options dataclass
(:class:`edfgen.commands.pretrain.PretrainOptions`, ...); the command calls ``run(options)`` of its module
in :mod:`edfgen.commands` (which writes the files) and prints one line.
"""

from __future__ import annotations

import json

import click

from edfgen.cli._options import options_from, verbosity
from edfgen.commands.evaluate import EvaluateOptions
from edfgen.commands.finetune import FinetuneOptions
from edfgen.commands.model import ModelExportOptions, ModelInfoOptions
from edfgen.commands.pretrain import PretrainOptions


@click.command()
@options_from(PretrainOptions)
@verbosity
def pretrain(options: PretrainOptions):
    """Self-supervised pre-training (contrastive + masked prediction + CMSC). Works under torchrun."""
    from edfgen.commands.pretrain import run

    res = run(options)
    if res is not None and res.steps_run == 0:   # a finished run resumed: nothing trained
        click.echo(f"pretrain: already complete at step {res.step} -> {res.checkpoint}")
    elif res is not None:  # rank 0
        click.echo(f"pretrain: {res.step} steps in {res.seconds:.0f} s, loss {res.last.get('loss', float('nan')):.3f}"
                   f" -> {res.checkpoint}")


@click.group()
def model():
    """Inspect model configs and checkpoints."""


@model.command("info")
@options_from(ModelInfoOptions)
def info(options: ModelInfoOptions):
    """Print a config's size and shapes as JSON (parameters counted on the meta device)."""
    from edfgen.commands.model import run

    click.echo(json.dumps(run(options), indent=1))


@model.command("export")
@options_from(ModelExportOptions)
def export(options: ModelExportOptions):
    """Re-save a checkpoint under a new prefix (e.g. to ship it as edfgen/checkpoints/tiny)."""
    from edfgen.commands.model import run

    path, sha = run(options)
    click.echo(f"model export: {path} (sha256 {sha})")


@click.command()
@options_from(FinetuneOptions)
@verbosity
def finetune(options: FinetuneOptions):
    """Fine-tune a multi-label disease head (BCE, early stopping on validation mean AUROC)."""
    from edfgen.commands.finetune import run

    res = run(options)
    click.echo(f"finetune: best validation mean AUROC {res.best_val_auroc:.3f} (epoch {res.best_epoch}, "
               f"{res.n_train} train / {res.n_val} validation) -> {res.checkpoint}")


@click.command()
@options_from(EvaluateOptions)
@verbosity
def evaluate(options: EvaluateOptions):
    """Per-label and macro AUROC/AUPRC with bootstrap 95% CIs -> evaluation.tsv, predictions.tsv, evaluation.png."""
    from edfgen.commands.evaluate import run

    res = run(options)
    click.echo(f"evaluate ({options.probe}): macro AUROC {res.table['auroc'].iloc[-1]:.3f} over "
               f"{len(res.table) - 1} labels, {res.summary['records_scored']} records -> {options.out}/evaluation.tsv")
    for name, b in res.summary.get("baselines", {}).items():
        if name != "encoder":
            d = b["encoder_minus"]
            click.echo(f"  baseline {name}: macro AUROC {b['macro_auroc']:.3f} ({b['ci'][0]:.3f}-{b['ci'][1]:.3f}); "
                       f"encoder - {name} {d[0]:+.3f} ({d[1]:+.3f} to {d[2]:+.3f}) -> {options.out}/baselines.tsv")
    default = EvaluateOptions.__dataclass_fields__["baseline"].default
    if options.probe == "head" and tuple(options.baseline) == tuple(default):
        return   # the default baseline is for --probe linear: no notice on every head run (manifest.json keeps it)
    for name, why in res.summary.get("baselines_skipped", {}).items():
        click.echo(f"  baseline {name}: {why}")
