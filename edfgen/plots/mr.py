"""MR plots (PNG): scatter with method slopes, single-SNP forest, funnel, leave-one-out.

Same content as TwoSampleMR's ``mr_scatter_plot``, ``mr_forest_plot``, ``mr_funnel_plot`` and
``mr_leaveoneout_plot``; they take the in-memory tables of :class:`edfgen.commands.mr.MRRun` or the
written files (TwoSampleMR's column names). :func:`plot_pairs` draws the four plots for the most significant pairs
of a run (capped, so a 64 x 8 matrix does not write 2,000 files).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.sumstats.twosamplemr import internal_columns
from edfgen.formats.tables import safe_filename
from edfgen.kernels.mr import CI95_Z
from edfgen.plots._mpl import subplots
from edfgen.plots._mpl import save_png


def _save(fig, path: Path) -> Path:
    return save_png(fig, path, dpi=110, bbox_inches="tight")


def _safe(name: str) -> str:
    return safe_filename(name).strip("_")[:80] or "trait"


def _per_allele(binary: bool) -> str:
    return "log odds ratio per allele" if binary else "beta per allele"


def scatter_plot(h: pd.DataFrame, results: pd.DataFrame, path: Path, *, binary: bool = False) -> Path:
    """Variant-outcome vs variant-exposure effects (exposure oriented positive, error bars 1 SE),
    one line per method (MR Egger with its intercept). ``binary``: the outcome is a disease, its
    effects log odds ratios (the axis says so; the plot stays on the log-odds scale)."""
    h = internal_columns(h, "harmonised")
    k = h[h["mr_keep"]]
    s = np.where(k["beta_exposure"] < 0, -1.0, 1.0)
    x, y = k["beta_exposure"].to_numpy() * s, k["beta_outcome"].to_numpy() * s
    fig, ax = subplots(figsize=(6, 5))
    ax.errorbar(x, y, xerr=k["se_exposure"], yerr=k["se_outcome"], fmt="o", ms=3, color="0.3", ecolor="0.7", lw=0.8)
    xs = np.linspace(0, max(x.max(), 1e-12) * 1.05, 10)
    for _, r in results.iterrows():
        if r["method"] == "Wald ratio":
            continue
        a = 0.0
        if r["method"] == "MR Egger":
            a = float(h.attrs.get("egger_intercept", 0.0))
        ax.plot(xs, a + r["b"] * xs, label=f"{r['method']} ({r['b']:.3g})", lw=1.2)
    ax.axhline(0, color="0.8", lw=0.6)
    ax.set_xlabel(f"SNP effect on {k['exposure'].iloc[0]} ({_per_allele(False)})")
    ax.set_ylabel(f"SNP effect on {k['outcome'].iloc[0]} ({_per_allele(binary)})")
    if ax.get_legend_handles_labels()[1]:     # a single instrument has only a Wald ratio: no lines
        ax.legend(fontsize=7, loc="best")
    return _save(fig, path)


def _ci_rows(d: pd.DataFrame, labels, colors):
    """One row per estimate of ``d`` (``b``, ``se``), top to bottom: point, 95% CI (b ± 1.96 se, as
    ``mr_results.tsv``: :data:`~edfgen.kernels.mr.CI95_Z`), a dashed zero line."""
    fig, ax = subplots(figsize=(6, max(2.5, 0.18 * len(d) + 1)))
    yy = np.arange(len(d))[::-1]
    ax.errorbar(d["b"], yy, xerr=CI95_Z * d["se"], fmt="none", ecolor=colors, lw=0.8)
    ax.scatter(d["b"], yy, c=colors, s=10, zorder=3)
    ax.axvline(0, color="0.6", lw=0.6, ls="--")
    ax.set_yticks(yy)
    ax.set_yticklabels(labels, fontsize=6)
    return fig, ax


def _effect_label(d: pd.DataFrame, binary: bool) -> str:
    exp, out = d["exposure"].iloc[0], d["outcome"].iloc[0]
    return (f"MR effect: log odds ratio of {out} per unit of {exp}" if binary
            else f"MR effect: {out} per unit of {exp}") if {"exposure", "outcome"} <= set(d.columns) else "MR effect"


def forest_plot(single: pd.DataFrame, path: Path, *, binary: bool = False) -> Path:
    """Per-variant Wald ratios with 95% CI, then the pooled IVW / Egger estimates."""
    single = internal_columns(single, "mr_singlesnp")
    per = single[single["method"] == "Wald ratio"].sort_values("b")
    pooled = single[single["method"] != "Wald ratio"]
    d = pd.concat([per, pooled])
    fig, ax = _ci_rows(d, d["variant_id"], ["0.3"] * len(per) + ["tab:red"] * len(pooled))
    ax.set_xlabel(f"{_effect_label(d, binary)} (95% CI)")
    return _save(fig, path)


def funnel_plot(single: pd.DataFrame, path: Path, *, binary: bool = False) -> Path:
    """Wald ratio vs its precision 1/SE, with vertical lines at the pooled estimates."""
    per = single[single["method"] == "Wald ratio"]
    fig, ax = subplots(figsize=(5, 4))
    ax.scatter(per["b"], 1 / per["se"], s=10, color="0.3")
    for i, (_, r) in enumerate(single[single["method"] != "Wald ratio"].iterrows()):
        ax.axvline(r["b"], lw=1, label=r["method"], color=f"C{i}")
    ax.set_xlabel(f"Wald ratio ({_effect_label(single, binary).removeprefix('MR effect: ')})")
    ax.set_ylabel("1 / SE")
    if (single["method"] != "Wald ratio").any():
        ax.legend(fontsize=7)
    return _save(fig, path)


def leaveoneout_plot(loo: pd.DataFrame, path: Path, *, binary: bool = False) -> Path:
    """Estimate with each variant left out (95% CI), and with all variants.

    Raises
    ------
    InputError
        When ``loo`` has no rows: leave-one-out is computed only for pairs with at least 3 instruments
        (as TwoSampleMR's ``mr_leaveoneout``).
    """
    loo = internal_columns(loo, "mr_leaveoneout")
    if loo.empty:
        raise InputError("leaveoneout_plot: no leave-one-out rows (computed only for pairs with >= 3 instruments)")
    d = pd.concat([loo[loo["excluded"] != "All"].sort_values("b"), loo[loo["excluded"] == "All"]])
    fig, ax = _ci_rows(d, d["excluded"], ["tab:red" if e == "All" else "0.3" for e in d["excluded"]])
    ax.set_xlabel(f"{d['method'].iloc[0]} leaving out one variant: "
                  f"{_effect_label(d, binary).removeprefix('MR effect: ')} (95% CI)")
    return _save(fig, path)


def _selected_pairs(harmonised: pd.DataFrame, tables: dict, max_pairs: int):
    """``(exposure, outcome, stem, select)`` of each pair :func:`plot_pairs` draws, in order: up to ``max_pairs``
    (smallest IVW/Wald p first) with an instrument kept; ``select(df)`` is the pair's rows of a table."""
    res = tables["mr_results"]
    if res.empty or max_pairs <= 0:
        return
    main = res[res["method"].isin(["Inverse variance weighted", "Wald ratio"])]
    pairs = (main.sort_values("pval")[["exposure", "outcome"]].drop_duplicates().head(max_pairs)
             .itertuples(index=False))
    for exp, outc in pairs:
        def sel(df, exp=exp, outc=outc):
            return df[(df["exposure"] == exp) & (df["outcome"] == outc)]

        if sel(harmonised)["mr_keep"].any():
            yield exp, outc, f"{_safe(exp)}__{_safe(outc)}", sel


def pair_plot_names(harmonised: pd.DataFrame, tables: dict, *, max_pairs: int = 20) -> list[str]:
    """The file names :func:`plot_pairs` gives its plots, known before any is drawn (``mr`` lists them in its
    in-progress manifest, not ``plots/`` as a whole: a rerun after a kill removed a user's file put there,
    review s39).

    Parameters
    ----------
    harmonised : DataFrame
        The harmonised instruments (``exposure``, ``outcome``, ``mr_keep``).
    tables : dict
        The MR tables by name (``mr_results``, ``mr_singlesnp``, ``mr_leaveoneout``).
    max_pairs : int
        At most this many pairs.

    Returns
    -------
    list of str
        ``<exposure>__<outcome>.<kind>.png``, in the order they are drawn.
    """
    names = []
    for _, _, stem, sel in _selected_pairs(harmonised, tables, max_pairs):
        kinds = ["scatter"] + (["forest", "funnel"] if len(sel(tables["mr_singlesnp"])) else []) \
            + (["leaveoneout"] if len(sel(tables["mr_leaveoneout"])) else [])
        names += [f"{stem}.{k}.png" for k in kinds]
    return names


def plot_pairs(out_dir: Path, harmonised: pd.DataFrame, tables: dict, *, max_pairs: int = 20,
               binary=frozenset()) -> list[Path]:
    """Write the four plots for up to ``max_pairs`` pairs (smallest IVW/Wald p first) under ``out_dir``;
    ``binary``: the outcomes that are diseases (axes in log odds ratios).

    Files: ``<exposure>__<outcome>.{scatter,forest,funnel,leaveoneout}.png`` (:func:`pair_plot_names`).
    """
    out_dir = Path(out_dir)
    written = []
    for _, outc, stem, sel in _selected_pairs(harmonised, tables, max_pairs):
        ple = sel(tables["mr_pleiotropy"])
        h = sel(harmonised).copy()
        h.attrs["egger_intercept"] = float(ple["egger_intercept"].iloc[0]) if len(ple) else 0.0
        r = sel(tables["mr_results"])
        b = outc in binary
        written.append(scatter_plot(h, r[r["method"] != "Inverse variance weighted (fixed effects)"],
                                    out_dir / f"{stem}.scatter.png", binary=b))
        single = sel(tables["mr_singlesnp"])
        if len(single):
            written.append(forest_plot(single, out_dir / f"{stem}.forest.png", binary=b))
            written.append(funnel_plot(single, out_dir / f"{stem}.funnel.png", binary=b))
        loo = sel(tables["mr_leaveoneout"])
        if len(loo):
            written.append(leaveoneout_plot(loo, out_dir / f"{stem}.leaveoneout.png", binary=b))
    return written
