"""``edfgen evaluate``: a checkpoint scored on labelled ECGs -> ``evaluation.tsv``, ``predictions.tsv``,
``evaluation.png`` (and ``rejects.tsv``) with the manifest.

What this module knows: the output folder; the scoring is :func:`edfgen.model.evaluation.evaluate_ecgs`,
the figure :func:`edfgen.plots.evaluation.plot_evaluation`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from edfgen.commands.model import set_threads, write_rejects
from edfgen.formats.manifest import recording
from edfgen.formats.tables import prepare_out_dir, write_table


def run_evaluate(*, checkpoint, ecg: Sequence[str | os.PathLike], labels: str | os.PathLike | None,
                 label_columns: Sequence[str] | None, probe: str, folds: int | None, min_positives: int,
                 ptbxl_resolution: str, n_boot: int, out: str | os.PathLike, seed: int, threads: int | None,
                 force: bool):
    """Evaluate (see ``edfgen evaluate --help`` for the options) into ``out``.

    Returns
    -------
    edfgen.model.evaluation.EvaluationResult
    """
    from edfgen.model.checkpoint import load_checkpoint  # imports torch
    from edfgen.model.evaluation import EvaluateSettings, evaluate_ecgs
    from edfgen.plots.evaluation import plot_evaluation

    out = Path(out)
    set_threads(threads)
    settings = EvaluateSettings(probe=probe, folds=folds, min_positives=min_positives, n_boot=n_boot, seed=seed,
                                ptbxl_resolution=ptbxl_resolution)
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
        plot_evaluation(res.table, out / "evaluation.png")
        write_rejects(res.rejects, out)
    return res
