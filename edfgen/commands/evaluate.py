"""``edfgen evaluate``: a checkpoint scored on labelled ECGs -> ``evaluation.tsv``, ``predictions.tsv``,
``evaluation.png`` (and ``baselines.tsv`` with ``--probe linear``, ``rejects.tsv``) with the manifest.

What this module knows: the output folder; the scoring is :func:`edfgen.model.evaluation.evaluate_ecgs`,
the figure :func:`edfgen.plots.evaluation.plot_evaluation`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Sequence

from edfgen.commands.model import restores_threads, set_threads, write_rejects
from edfgen.commands.options import CommandOptions, as_list, force_opt, opt, out_opt, seed_opt, threads_opt
from edfgen.formats.paths import file_args
from edfgen.exceptions import OutputError
from edfgen.formats.manifest import recording
from edfgen.formats.tables import prepare_out_dir, write_table


@dataclass(frozen=True)
class EvaluateOptions(CommandOptions):
    """``edfgen evaluate`` (:func:`run_evaluate`)."""

    command: ClassVar[str] = "evaluate"
    checkpoint: str | None = opt(None, "Checkpoint name or path (fine-tuned for --probe head).", required=True,
                                 path="checkpoint")
    ecg: tuple[str, ...] = opt((), "ECG files/directories or .npz bundles (repeatable). Without --labels: one labelled "
                               "folder (PTB-XL ptbxl_database.csv + scp_statements.csv, or WFDB headers with '# Dx:' "
                               "SNOMED codes).", multiple=True, required=True, path="any", exists=True)
    labels: str | None = opt(None, "Outcomes table: IID + 0/1 columns (+ optional patient_id). Default: read from "
                             "the --ecg folder.", path="file", exists=True)
    label_columns: tuple[str, ...] | None = opt(None, "Comma-separated labels to score (default: all).", comma=True)
    probe: str = opt("head", "head: the fine-tuned disease head; linear: logistic-regression probe on the frozen EDFs "
                     "with out-of-fold predictions (any checkpoint).", choices=("head", "linear"))
    folds: int | None = opt(None, "Linear probe: K patient-grouped folds (default: PTB-XL strat_fold when present, "
                            "else 5).", range=(2, None))
    min_positives: int = opt(10, "Linear probe: skip labels with fewer cases (or controls).", range=(1, None))
    ptbxl_resolution: str = opt("auto", "PTB-XL folder: filename_hr (500 Hz) or filename_lr (100 Hz) records; auto = "
                                "hr when present.", choices=("auto", "hr", "lr"))
    baseline: tuple[str, ...] = opt(("random",), "With --probe linear, also score these baselines with the same probe, "
                                    "folds and bootstrap -> baselines.tsv: random (the checkpoint's architecture with "
                                    "random weights), minirocket (only when sktime is installed), biomarkers "
                                    "(the 10 measured ones); comma-separated; 'none' for none.", comma=True)
    n_boot: int = opt(1000, "Bootstrap replicates for the 95% CIs (patients resampled).", cli=("--bootstrap",),
                      range=(10, None))
    out: str | None = out_opt()
    seed: int = seed_opt()
    threads: int | None = threads_opt()
    force: bool = force_opt()


def run(o: EvaluateOptions):
    """``edfgen evaluate``: :func:`run_evaluate`."""
    return run_evaluate(checkpoint=o.checkpoint, ecg=o.ecg, labels=o.labels, label_columns=as_list(o.label_columns),
                        probe=o.probe, folds=o.folds, min_positives=o.min_positives,
                        ptbxl_resolution=o.ptbxl_resolution, baselines=tuple(b for b in o.baseline if b != "none"),
                        n_boot=o.n_boot, out=o.out, seed=o.seed,
                        threads=o.threads, force=o.force)


@restores_threads
def run_evaluate(*, checkpoint, ecg: Sequence[str | os.PathLike] | str | os.PathLike, out: str | os.PathLike,
                 labels: str | os.PathLike | None = None, label_columns: Sequence[str] | None = None,
                 probe: str = EvaluateOptions.probe, folds: int | None = None,
                 min_positives: int = EvaluateOptions.min_positives,
                 ptbxl_resolution: str = EvaluateOptions.ptbxl_resolution, n_boot: int = EvaluateOptions.n_boot,
                 baselines: Sequence[str] = EvaluateOptions.baseline, seed: int = EvaluateOptions.seed,
                 threads: int | None = None, force: bool = False):
    """Evaluate a checkpoint on labelled ECGs into ``out``, as ``edfgen evaluate`` does.

    Parameters
    ----------
    checkpoint : str or os.PathLike
        Checkpoint name or path (fine-tuned for ``probe="head"``).
    ecg : path or list of paths
        ECG files, folders or ``.npz`` bundles (:func:`~edfgen.formats.paths.file_args`).
    out : str or os.PathLike
        Output folder.
    labels, label_columns, probe, folds, min_positives, ptbxl_resolution, n_boot, baselines, seed, threads, force
        The command's options, with its defaults (:class:`EvaluateOptions`; ``edfgen evaluate --help``;
        ``n_boot`` is ``--bootstrap``, ``baselines`` ``--baseline``).

    Returns
    -------
    edfgen.model.evaluation.EvaluationResult
    """
    from edfgen.model.checkpoint import load_checkpoint  # imports torch
    from edfgen.model.evaluation import EvaluateSettings, evaluate_ecgs
    from edfgen.plots.evaluation import plot_evaluation

    out, ecg = Path(out), file_args(ecg, "--ecg")
    set_threads(threads)
    settings = EvaluateSettings(probe=probe, folds=folds, min_positives=min_positives, n_boot=n_boot, seed=seed,
                                ptbxl_resolution=ptbxl_resolution, baselines=tuple(baselines))
    prepare_out_dir(out, force=force)
    with recording(out, "edfgen evaluate", parameters={"checkpoint": str(checkpoint), "labels": labels and str(labels),
                                                       "label_columns": label_columns, **settings.__dict__},
                   inputs=[*ecg, labels], seed=seed) as manifest:
        loaded = load_checkpoint(checkpoint)
        manifest.extra["checkpoint_sha256"] = loaded.sha256
        res = evaluate_ecgs(loaded, ecg, labels=labels, label_columns=label_columns, settings=settings)
        manifest.extra["evaluation"] = res.summary
        write_table(res.table, out / "evaluation.tsv")
        write_table(res.predictions, out / "predictions.tsv")
        if res.baselines is not None:
            write_table(res.baselines, out / "baselines.tsv")
        write_rejects(res.rejects, out)
        try:                     # the figure last, and never at the cost of the tables, rejects or manifest
            plot_evaluation(res.table, out / "evaluation.png")
        except (OSError, OutputError):  # disk full, read-only...: the manifest's environment rule
            raise
        except Exception as exc:  # noqa: BLE001 - matplotlib raises many types; the figure is optional
            logging.getLogger(__name__).warning("evaluate: evaluation.png not drawn (%s: %s); the tables are "
                                                "complete", type(exc).__name__, exc)
            manifest.extra["figure_error"] = f"{type(exc).__name__}: {exc}"
    return res
