"""The report's genetics sections (``edfgen ldsc``/``finemap``/``coloc`` stages): h² per phenotype with SE, the rg
heatmap, credible sets per locus and the colocalisation table. Called by :func:`edfgen.report.write_report` with its
table and image helpers (so this module does not import the report)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Callable

import pandas as pd

from edfgen.formats.manifest import read_manifest
from edfgen.plots.genetics import plot_rg_heatmap


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, sep="\t") if path.exists() else None


def genetics_sections(out: Path, *, table: Callable[[pd.DataFrame, int], str], img: Callable[[Path, int], str]) -> list[str]:
    """HTML of the sections whose stage ran (``out/ldsc``, ``out/finemap``, ``out/coloc``); empty when none did."""
    parts: list[str] = []
    h2 = _read(out / "ldsc" / "h2.tsv")
    if h2 is not None and len(h2):
        h2 = h2.sort_values("h2", ascending=False)
        mi = h2["intercept"].median()
        parts.append("<h2>Heritability and genetic correlation (LD score regression)</h2>")
        parts.append(f"<p class='k'>{len(h2)} phenotypes; median LDSC intercept {mi:.3f} (1 = no confounding); "
                     f"h² = SNP heritability ± jackknife SE, most heritable first.</p>")
        parts.append(table(h2[["phenotype", "h2", "h2_se", "intercept", "intercept_se", "mean_chi2", "lambda_gc",
                               "ratio"]], 40))
        rg = _read(out / "ldsc" / "rg.tsv")
        if rg is not None and len(rg):
            png = plot_rg_heatmap(rg, out / "report_figures" / "rg_heatmap.png",   # not in ldsc/: a rerun of
                                  # the stage would find a file its manifest does not list and refuse
                                  title="Genetic correlation: EDFs, biomarkers, diseases (dots: Bonferroni)")
            parts.append(img(png, "Genetic correlation (LDSC rg) between EDFs, biomarkers and diseases; dots: Bonferroni-significant"))
            parts.append(table(rg.reindex(rg["p_value"].sort_values().index), 20))
    cs = _read(out / "finemap" / "credible_sets.tsv")
    if cs is not None:
        params = (read_manifest(out / "finemap") or {}).get("parameters") or {}
        parts.append(f"<h2>Fine-mapping (SuSiE, {100 * float(params.get('coverage') or 0.95):g} % credible sets)</h2>")
        if len(cs):
            sizes = cs.groupby(["locus", "phenotype", "cs"]).size()
            summ = (cs.sort_values("pip", ascending=False).groupby(["locus", "phenotype", "cs"], sort=False)
                    .agg(top_variant=("variant_id", "first"), top_pip=("pip", "first"),
                         cs_min_abs_corr=("cs_min_abs_corr", "first")).reset_index())
            summ["size"] = sizes.loc[list(zip(summ["locus"], summ["phenotype"], summ["cs"]))].to_numpy()
            parts.append(f"<p class='k'>{len(summ)} credible sets; median size {int(summ['size'].median())} "
                         f"variant(s).</p>")
            parts.append(table(summ.sort_values(["locus", "phenotype", "cs"]), 40))
        chk = _read(out / "finemap" / "ld_check.tsv")
        if chk is not None and (chk["s"] > 0.1).any():
            parts.append(f"<p><em>LD check: {int((chk['s'] > 0.1).sum())} region(s) with kriging s > 0.1 "
                         f"(the panel may not fit): {html.escape(', '.join(map(str, chk.loc[chk['s'] > 0.1, 'locus'])))}"
                         "</em></p>")
    co = _read(out / "coloc" / "coloc.tsv")
    if co is not None:
        parts.append("<h2>Colocalisation (EDF locus × disease)</h2>")
        n4 = int((co["pp_h4"] >= 0.8).sum())
        parts.append(f"<p class='k'>{len(co)} tests; {n4} with PP.H4 ≥ 0.8 (shared causal variant); largest PP.H4 "
                     "first.</p>")
        parts.append(table(co.sort_values("pp_h4", ascending=False), 25))
    return parts
