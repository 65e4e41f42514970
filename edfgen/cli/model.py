"""``edfgen pretrain``, ``edfgen finetune``, ``edfgen evaluate`` and ``edfgen model info|export``.

Options only: each command calls its ``run_...`` function in :mod:`edfgen.commands` (which writes the
files) and prints one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from edfgen import DEFAULT_CHECKPOINT
from edfgen.cli._options import comma_list, existing_path, force, out_dir, seed, threads, verbosity


@click.command()
@click.option("--config", "config_name", default="small", show_default=True,
              help="Model config (tiny, small, base, lfm-600m).")
@click.option("--ecg", "ecg", multiple=True, type=existing_path(), help="ECG files/directories or .npz bundles (repeatable).")
@click.option("--simulated", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also train on N simulated participants (ECGs synthesised per batch, fresh noise).")
@click.option("--sim-seed", type=click.IntRange(min=0, max=2**32 - 1), default=0, show_default=True, help="Physiology seed of the simulated participants.")
@click.option("--steps", type=click.IntRange(min=1), default=1000, show_default=True, help="Optimizer updates.")
@click.option("--batch-size", type=click.IntRange(min=2), default=32, show_default=True,
              help="10 s recordings per micro-batch per process (two 5 s crops each).")
@click.option("--accum", type=click.IntRange(min=1), default=1, show_default=True, help="Gradient accumulation.")
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Peak learning rate (AdamW).")
@click.option("--warmup", type=click.IntRange(min=1), default=100, show_default=True, help="Linear warm-up updates.")
@click.option("--checkpoint-every", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--wander-mv", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Augmentation: baseline wander (0.05-0.5 Hz sinusoid per lead) up to this amplitude in mV.")
@click.option("--lead-dropout", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Augmentation: probability that each lead of a crop is zeroed.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option("--device", default=None, help="cpu or cuda (default: cuda if available).")
@out_dir()
@seed
@threads
@force
@verbosity
def pretrain(config_name, ecg, simulated, sim_seed, steps, batch_size, accum, lr, warmup, checkpoint_every, wander_mv,
             lead_dropout, resume, device, out, seed, threads, force):
    """Self-supervised pre-training (contrastive + masked prediction + CMSC). Works under torchrun."""
    from edfgen.commands.pretrain import run_pretrain

    res = run_pretrain(out=out, config_name=config_name, ecg=ecg, simulated=simulated, sim_seed=sim_seed, steps=steps,
                       batch_size=batch_size, accum=accum, lr=lr, warmup=warmup, checkpoint_every=checkpoint_every,
                       wander_mv=wander_mv, lead_dropout=lead_dropout, resume=resume, device=device, seed=seed,
                       threads=threads, force=force)
    if res is not None:  # rank 0
        click.echo(f"pretrain: {res.step} steps in {res.seconds:.0f} s, loss {res.last.get('loss', float('nan')):.3f}"
                   f" -> {res.checkpoint}")


@click.group()
def model():
    """Inspect model configs and checkpoints."""


@model.command("info")
@click.option("--config", "config_name", default=None, help="A named config (tiny, base, lfm-600m).")
@click.option("--checkpoint", default=None, help="A checkpoint name or path (instead of --config).")
def info(config_name, checkpoint):
    """Print a config's size and shapes as JSON (parameters counted on the meta device)."""
    from edfgen.model.info import model_info

    click.echo(json.dumps(model_info(config_name=config_name, checkpoint=checkpoint), indent=1))


@model.command("export")
@click.option("--checkpoint", required=True, help="Checkpoint name or path (e.g. runs/tiny/checkpoint).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output prefix (writes <prefix>.safetensors and <prefix>.json).")
def export(checkpoint, out):
    """Re-save a checkpoint under a new prefix (e.g. to ship it as edfgen/checkpoints/tiny)."""
    from edfgen.commands.model import run_export

    path, sha = run_export(checkpoint=checkpoint, out=out)
    click.echo(f"model export: {path} (sha256 {sha})")


@click.command()
@click.option("--checkpoint", default=DEFAULT_CHECKPOINT, show_default=True, help="Pre-trained checkpoint name or path.")
@click.option("--ecg", "ecg", multiple=True, required=True, type=existing_path(),
              help="ECG files/directories or .npz bundles (repeatable).")
@click.option("--labels", required=True, type=existing_path(dir_okay=False), help="Outcomes table: IID + 0/1 columns.")
@click.option("--label-columns", default=None, callback=comma_list,
              help="Comma-separated label columns (default: all but IID).")
@click.option("--label-fraction", type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True,
              help="Share of labelled participants to use.")
@click.option("--epochs", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--patience", type=click.IntRange(min=1), default=4, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=2), default=64, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Head learning rate.")
@click.option("--encoder-lr", type=float, default=3e-4, show_default=True, help="Encoder learning rate.")
@click.option("--from-scratch", is_flag=True, help="Same architecture, random initialisation.")
@click.option("--linear-probe", is_flag=True, help="Frozen encoder; train only the head on the EDFs.")
@out_dir()
@seed
@threads
@force
@verbosity
def finetune(checkpoint, ecg, labels, label_columns, label_fraction, epochs, patience, batch_size, lr, encoder_lr,
             from_scratch, linear_probe, out, seed, threads, force):
    """Fine-tune a multi-label disease head (BCE, early stopping on validation mean AUROC)."""
    from edfgen.commands.finetune import run_finetune

    res = run_finetune(checkpoint=checkpoint, ecg=ecg, labels=labels, label_columns=label_columns,
                       label_fraction=label_fraction, epochs=epochs, patience=patience, batch_size=batch_size, lr=lr,
                       encoder_lr=encoder_lr, from_scratch=from_scratch, linear_probe=linear_probe, out=out, seed=seed,
                       threads=threads, force=force)
    click.echo(f"finetune: best validation mean AUROC {res.best_val_auroc:.3f} (epoch {res.best_epoch}, "
               f"{res.n_train} train / {res.n_val} validation) -> {res.checkpoint}")


@click.command()
@click.option("--checkpoint", required=True, help="Checkpoint name or path (fine-tuned for --probe head).")
@click.option("--ecg", "ecg", multiple=True, required=True, type=existing_path(),
              help="ECG files/directories or .npz bundles (repeatable). Without --labels: one labelled folder "
                   "(PTB-XL ptbxl_database.csv + scp_statements.csv, or WFDB headers with '# Dx:' SNOMED codes).")
@click.option("--labels", default=None, type=existing_path(dir_okay=False),
              help="Outcomes table: IID + 0/1 columns (+ optional patient_id). Default: read from the --ecg folder.")
@click.option("--label-columns", default=None, callback=comma_list,
              help="Comma-separated labels to score (default: all).")
@click.option("--probe", type=click.Choice(["head", "linear"]), default="head", show_default=True,
              help="head: the fine-tuned disease head; linear: logistic-regression probe on the frozen EDFs with "
                   "out-of-fold predictions (any checkpoint).")
@click.option("--folds", type=click.IntRange(min=2), default=None,
              help="Linear probe: K patient-grouped folds (default: PTB-XL strat_fold when present, else 5).")
@click.option("--min-positives", type=click.IntRange(min=1), default=10, show_default=True,
              help="Linear probe: skip labels with fewer cases (or controls).")
@click.option("--ptbxl-resolution", type=click.Choice(["auto", "hr", "lr"]), default="auto", show_default=True,
              help="PTB-XL folder: filename_hr (500 Hz) or filename_lr (100 Hz) records; auto = hr when present.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=10), default=1000, show_default=True,
              help="Bootstrap replicates for the 95% CIs (patients resampled).")
@out_dir()
@seed
@threads
@force
@verbosity
def evaluate(checkpoint, ecg, labels, label_columns, probe, folds, min_positives, ptbxl_resolution, n_boot, out, seed,
             threads, force):
    """Per-label and macro AUROC/AUPRC with bootstrap 95% CIs -> evaluation.tsv, predictions.tsv, evaluation.png."""
    from edfgen.commands.evaluate import run_evaluate

    res = run_evaluate(checkpoint=checkpoint, ecg=ecg, labels=labels, label_columns=label_columns, probe=probe,
                       folds=folds, min_positives=min_positives, ptbxl_resolution=ptbxl_resolution, n_boot=n_boot,
                       out=out, seed=seed, threads=threads, force=force)
    click.echo(f"evaluate ({probe}): macro AUROC {res.table['auroc'].iloc[-1]:.3f} over {len(res.table) - 1} labels, "
               f"{res.summary['records_scored']} records -> {out}/evaluation.tsv")
