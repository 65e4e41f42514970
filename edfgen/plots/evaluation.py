"""Figure of an ECG model evaluation: AUROC and AUPRC per label with their 95% CIs.

Draws the table it is handed (:data:`edfgen.model.evaluation.EVALUATION_COLUMNS`); reads no files.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.plots._mpl import save_png, subplots


def plot_evaluation(table: pd.DataFrame, path: str | os.PathLike) -> Path:
    """AUROC and AUPRC per label with 95% CIs (PNG).

    A percentile bootstrap interval need not contain its estimate (AUPRC is biased upward under resampling with
    duplicates, Efron & Tibshirani 1993, ch. 13): the bar is then drawn only on the side the interval reaches, the
    other side clipped to 0; a NaN bound draws no bar on its side.

    References
    ----------
    Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap. Chapman & Hall.
    """
    fig, axes = subplots(1, 2, figsize=(9, 0.4 * len(table) + 1.5), sharey=True)
    yy = np.arange(len(table))
    for ax, m, ref in ((axes[0], "auroc", 0.5), (axes[1], "auprc", None)):
        est = table[m].to_numpy()
        err = np.vstack([est - table[f"{m}_lower"].to_numpy(), table[f"{m}_upper"].to_numpy() - est])
        err = np.clip(err, 0, None)         # negative when the interval excludes the estimate; NaN stays NaN
        ax.errorbar(est, yy, xerr=err, fmt="o", capsize=3)
        if ref is not None:
            ax.axvline(ref, color="grey", ls="--", lw=0.8)
        else:
            ax.plot(table["prevalence"], yy, "x", color="grey", label="prevalence")
            ax.legend(loc="lower right", fontsize=8)
        ax.set_xlabel(m.upper() + " (95% CI)")
        ax.set_xlim(0, 1)
    axes[0].set_yticks(yy)
    axes[0].set_yticklabels(table["label"])
    fig.tight_layout()
    return save_png(fig, path, dpi=120)
