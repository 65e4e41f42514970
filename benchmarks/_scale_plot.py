"""Plots of :mod:`scale`: ``scale_cpu.png`` (CPU and peak RSS per axis with the fitted laws),
``scale_residuals.png`` and ``scale_projection.png``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from _scale_cases import AXES, BASE
from _scale_fit import (NEALE_CPU_H, REGENIE_H, RIDGE_FIXED, TARGET, TERMS, _is_base, axis_rows, predict, ridge_axis,
                        ridge_cpu)

def _style_column(ax, j: int, axis: str, title: str) -> None:
    """Log-log axes, labels and grid of column ``j`` (CPU above, peak RSS below) of a per-axis figure."""
    for i, lab in enumerate(["CPU s (user + sys, 1 thread)", "peak RSS MiB"]):
        ax[i, j].set_xscale("log")
        ax[i, j].set_yscale("log")
        ax[i, j].set_xlabel({"n": "samples N", "m": "variants M", "p": "phenotypes P"}[axis])
        ax[i, j].set_ylabel(lab)
        ax[i, j].grid(alpha=0.3, which="both")
    ax[0, j].set_title(title, fontsize=9)


def _finish(fig, legend_ax, path: Path) -> None:
    """Legend on ``legend_ax``, tight layout, ``path`` written at 110 dpi, figure closed."""
    import matplotlib.pyplot as plt

    legend_ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot(res: dict, lin, ridge, clump, extract, out: Path) -> None:
    """scale_cpu.png (CPU and peak RSS per axis, with the fitted laws), scale_residuals.png,
    scale_projection.png (CPU-hours per phenotype by component, with the published figures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [("gwas linear", lin, "C0", TERMS["gwas"]), ("gwas ridge-loco", ridge, "C1", None),
              ("clump (64 phenotypes)", clump, "C2", TERMS["clump"])]
    fig, ax = plt.subplots(2, 3, figsize=(13, 7.5))
    for j, axis in enumerate(AXES):
        for name, rows, colour, terms in series:
            fixed = RIDGE_FIXED[axis] if terms is None else {k: v for k, v in BASE.items() if k != axis}
            pts = sorted((r[axis], r["cpu_s"], r["peak_rss_mib"]) for r in (
                ridge_axis(rows, axis) if terms is None else [r for r in rows if r["axis"] == axis or _is_base(r)]))
            if not pts or (axis == "p" and name.startswith("clump")):
                continue
            x = np.array([q[0] for q in pts], dtype=float)
            ax[0, j].plot(x, [q[1] for q in pts], "o", color=colour, label=f"{name} measured"
                          + (" (N axis at M = 20k)" if terms is None else ""))
            ax[1, j].plot(x, [q[2] for q in pts], "o-", color=colour, label=name)
            xs = np.geomspace(x.min(), x.max(), 30)
            at = lambda v: [{**fixed, axis: v}[k] for k in "nmp"]  # noqa: E731
            ys = ([predict(res["fits"][name], terms, *at(v)) for v in xs] if name in res["fits"] else
                  [ridge_cpu(res, *at(v)) for v in xs] if terms is None and "ridge-loco step 1" in res["fits"]
                  else None)
            if ys is not None and len(pts) > 1:
                ax[0, j].plot(xs, ys, "-", color=colour, alpha=0.6, label=f"{name} fit")
        _style_column(ax, j, axis, f"{axis.upper()} varied (others at N={BASE['n']:,}, M={BASE['m']:,}, "
                      f"P={BASE['p']})")
    _finish(fig, ax[0, 0], out / "scale_cpu.png")

    fig, ax = plt.subplots(figsize=(8, 3.8))
    for k, (name, f) in enumerate(res["fits"].items()):
        ax.plot(np.full(len(f["residual_pct"]), k) + np.linspace(-0.15, 0.15, len(f["residual_pct"])),
                f["residual_pct"], "o")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(len(res["fits"])), list(res["fits"]), fontsize=8)
    ax.set_ylabel("fit - measured, % of measured")
    ax.set_title("Residuals of the fitted cost models (each point one measured case)", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "scale_residuals.png", dpi=110)
    plt.close(fig)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw=dict(width_ratios=[1.3, 1]))
    bars = [("edfgen linear\n(projected)", res["per_phenotype_linear"], "C0"),
            ("edfgen ridge-loco\n(projected)", res["per_phenotype_ridge"], "C1"),
            *([("edfgen --engine hail, 128 per run\n(association only; extrapolated)",
                res["hail"]["target_cpu_hours_per_phenotype"], "C4")]
              if (res.get("hail") or {}).get("target_cpu_hours_per_phenotype") else []),
            ("REGENIE v2.0.2, UKB n=400k\n(runtime per trait, Jiang 2021)", REGENIE_H, "silver"),
            ("Neale lab, Hail\n(~200k CPU-h / 4k traits)", NEALE_CPU_H, "grey")]
    for i, (lab, v, colour) in enumerate(bars):
        ax.barh(i, v, color=colour)
        ax.text(v * 1.1, i, f"{v:.2g}", va="center", fontsize=8)
    ax.set_yticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(0.01, max(300, 3 * max(b[1] for b in bars)))
    ax.set_xlabel("CPU-hours per phenotype, log scale")
    ax.set_title("UK Biobank size: 500k x 10M variants x 128 EDFs", fontsize=10)
    left = 0.0
    for k, v in [(k, v / TARGET["p"]) for k, v in res["projection_cpu_hours"].items() if not k.startswith("(alt.)")]:
        bx.bar(0, v, bottom=left, label=k, width=0.5)
        left += v
    bx.set_xticks([0], ["edfgen ridge-loco, by component"], fontsize=8)
    bx.set_xlim(-0.4, 3.6)
    bx.set_ylabel("CPU-hours per phenotype")
    bx.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    fig.savefig(out / "scale_projection.png", dpi=110)
    plt.close(fig)


def plot_hail(res: dict, out: Path) -> None:
    """scale_hail.png: CPU and peak RSS of ``gwas --engine hail`` and of the fast engine at the same points, per
    axis (the other two sizes at ``HAIL_FIXED``), with the Hail cost model's line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = res.get("hail")
    if not h:
        return
    fig, ax = plt.subplots(2, 3, figsize=(13, 7))
    for j, axis in enumerate("nmp"):
        rows = axis_rows(h["points"], axis, h["fixed"])
        if not rows:
            continue
        x = np.array([r[axis] for r in rows], dtype=float)
        for key, fkey, i in [("cpu_s", "fast_cpu_s", 0), ("peak_rss_mib", "fast_peak_rss_mib", 1)]:
            ax[i, j].plot(x, [r[key] for r in rows], "o-", color="C4", label="--engine hail (local[1])")
            ax[i, j].plot(x, [r[fkey] or np.nan for r in rows], "s-", color="C0", label="fast engine")
        if "fit" in h and len(rows) > 1:
            xs = np.geomspace(x.min(), x.max(), 30)
            at = lambda v: [{**h["fixed"][axis], axis: v}[k] for k in "nmp"]  # noqa: E731
            ax[0, j].plot(xs, [predict(h["fit"], TERMS["gwas"], *at(v)) for v in xs], "-", color="C4", alpha=0.5,
                          label="Hail cost model")
        _style_column(ax, j, axis, f"{axis.upper()} varied "
                      f"({', '.join(f'{k.upper()}={v:,}' for k, v in h['fixed'][axis].items())})")
    _finish(fig, ax[0, 0], out / "scale_hail.png")
