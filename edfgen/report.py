"""``report.html``: one self-contained page summarising a pipeline output directory.

Sections: cohort summary, EDF ↔ biomarker associations, combined Manhattan and QQ plots, loci with
novelty, Mendelian randomization, and (when the run has a ``truth.json``, as the simulated cohort
does) a truth section scoring what the pipeline found against what was planted.
Images are embedded (base64), so the file can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import html
import json
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.formats.tables import atomic_write, safe_filename
from edfgen.plots.mr import _safe
from edfgen.report_genetics import genetics_sections
from edfgen.kernels.mr.methods import primary_estimates
from edfgen.simulate.truth import score_edf_links, score_loci, score_mr_links

IVW = "Inverse variance weighted"


def _img(path: Path, width: int = 900) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img width="{width}" src="data:image/png;base64,{data}"><figcaption>{html.escape(path.name)}</figcaption></figure>'


def _fmt(v) -> str:
    """Numbers for people: whole numbers as integers (thousands separated), others to 3 significant
    digits; missing values blank (never ``NaN``)."""
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, numbers.Real):
        f = float(v)
        if f != f:
            return ""
        if f.is_integer() and abs(f) < 1e15:
            return f"{int(f):,}" if abs(f) >= 10_000 else str(int(f))
        return f"{f:.3g}"
    return str(v)


def _table(df: pd.DataFrame, max_rows: int = 40) -> str:
    if df is None or df.empty:
        return "<p><em>none</em></p>"
    more = f"<p><em>{len(df) - max_rows} more rows in the file.</em></p>" if len(df) > max_rows else ""
    # every cell formatted here (to_html's formatters are skipped for some dtypes); lists wrap after commas
    shown = df.head(max_rows).apply(lambda col: col.map(lambda v: _fmt(v).replace(",", ",\u200b")
                                                        if isinstance(v, str) else _fmt(v)))
    body = shown.to_html(index=False, border=0, classes="t", escape=True)
    return f"<div class='tw'>{body}</div>" + more


#: loci table: what a reader looks for first, the long phenotype list last (and shortened)
LOCI_COLUMNS = ["locus", "variant_id", "chromosome", "base_pair_location", "p_value", "novel", "known_by",
                "nearest_catalog_trait", "nearest_catalog_distance", "nearest_catalog_variant", "ld_r2",
                "nearest_gene", "phenotypes"]


def _loci_table(loci: pd.DataFrame, max_rows: int = 40, max_phenotypes: int = 3) -> str:
    """The loci table with ``novel`` and the nearest known association next to the lead variant, and
    the comma-joined ``phenotypes`` cut to the first few names (``+N more``)."""
    cols = [c for c in LOCI_COLUMNS if c in loci.columns]
    d = loci[cols + [c for c in loci.columns if c not in cols and c not in ("nearest_catalog_p_value",
                                                                           "nearest_catalog_pubmed_id",
                                                                           "ld_catalog_variant", "gene_distance")]]
    d = d.copy()
    if "p_value" in d:
        d = d.sort_values("p_value", kind="stable")
        d["p_value"] = [f"{v:.2e}" if v == v else "" for v in d["p_value"].astype(float)]
    if "phenotypes" in d:
        def short(v):
            names = [x for x in str(v).split(",") if x] if v == v else []
            return ", ".join(names[:max_phenotypes]) + (f" (+{len(names) - max_phenotypes} more)"
                                                        if len(names) > max_phenotypes else "")
        d["phenotypes"] = d["phenotypes"].map(short)
    return _table(d, max_rows)


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, sep="\t") if path.exists() else None


@dataclass(frozen=True)
class TruthScore:
    """Pipeline findings scored against a simulated cohort's ``truth.json``."""

    loci: pd.DataFrame          # edfgen.simulate.truth.score_loci: per trait + an "all" row
    mr: pd.DataFrame            # per (exposure, outcome) pair: planted, p, detected
    edf_mr: pd.DataFrame        # per planted link: best EDF for the trait and its MR p to the disease

    def _all(self, column: str) -> float:
        return float(self.loci.loc[self.loci["trait"] == "all", column].iloc[0]) if len(self.loci) else float("nan")

    @property
    def loci_recall(self) -> float:
        return self._all("recall")

    @property
    def false_loci(self) -> int:
        return int(self._all("n_false_index")) if len(self.loci) else 0

    @property
    def loci_recovered(self) -> tuple[int, int]:
        return int(self._all("n_recovered")), int(self._all("n_planted"))


def _strongest_qq(plots: list[Path], summary: pd.DataFrame | None) -> Path | None:
    """The QQ plot of the phenotype with the most genome-wide hits (then the largest λGC)."""
    qq = [p for p in plots if p.name.endswith(".qq.png")]
    if not qq:
        return None
    if summary is not None and len(summary):
        ranked = summary.sort_values(["n_significant", "lambda_gc"], ascending=False)
        by_name = {p.name: p for p in qq}
        for name in ranked["phenotype"].astype(str):
            hit = by_name.get(f"{safe_filename(name)}.qq.png")
            if hit is not None:
                return hit
    return qq[0]


def _strongest_mr_plots(mr_dir: Path, prim: pd.DataFrame, *, pairs: int = 2) -> list[Path]:
    """Scatter and leave-one-out plots of the strongest pairs with >= 2 instruments (IVW rows, smallest
    p first); a 1-variant Wald ratio has nothing to show in a scatter."""
    multi = prim[(prim["method"] == IVW) & (prim["nsnp"] >= 2)].sort_values("pval")
    out = []
    for exp, outc in multi[["exposure", "outcome"]].itertuples(index=False):
        stem = f"{_safe(exp)}__{_safe(outc)}"
        found = [p for kind in ("scatter", "leaveoneout") for p in mr_dir.rglob(f"{stem}.{kind}.png")]
        if found:
            out += found
        if len(out) >= 2 * pairs:
            break
    return out


def score_truth(out: Path, truth: dict, *, window_kb: float = 250.0, alpha: float = 0.05) -> TruthScore:
    """Score loci and MR links of a pipeline output directory against ``truth.json``.

    The rules are :mod:`edfgen.simulate.truth`'s. Loci: a planted locus is recovered when an index
    variant of its trait's GWAS lies within ``window_kb``; an index variant near no planted locus of
    that trait is a false locus. MR: a planted trait -> disease link is detected when its IVW (or Wald
    ratio) p-value is below ``alpha`` / number of tested pairs (Bonferroni); the other pairs count as null.
    """
    clumps = _read(out / "clump_biomarkers" / "clumps.tsv")
    loci = score_loci(clumps, truth, window_kb=window_kb) if clumps is not None else pd.DataFrame()

    mr_rows = score_mr_links(_read(out / "mr_biomarkers" / "mr_results.tsv"), truth, alpha=alpha)
    edf_rows = score_edf_links(_read(out / "interpret" / "associations.tsv"), _read(out / "mr" / "mr_results.tsv"),
                               truth, alpha=alpha)
    return TruthScore(loci=loci, mr=mr_rows, edf_mr=edf_rows)


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
div.tw{max-width:100%;overflow-x:auto}
table.t{border-collapse:collapse;font-size:.85em;table-layout:auto}
table.t td,table.t th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right;white-space:normal;
overflow-wrap:break-word;max-width:22em;vertical-align:top}
figure{margin:1em 0}figcaption{font-size:.8em;color:#666}.k{font-size:1.2em;font-weight:600}"""


def write_report(out: str | Path, *, bfile: str | Path | None = None, biomarkers: str | Path | None = None,
                 outcomes: str | Path | None = None, truth: str | Path | None = None) -> Path:
    """Write ``<out>/report.html`` from whatever stage outputs exist in ``out``.

    The pipeline's inputs add the cohort summary (``bfile``: genotype counts; ``biomarkers``,
    ``outcomes``: distributions and prevalences) and, for a simulated cohort, ``truth`` (its
    ``truth.json``) adds the truth section.
    """
    out = Path(out)
    parts = [f"<h1>edfgen report</h1><p>{html.escape(str(out))}</p>"]

    # cohort
    parts.append("<h2>Cohort</h2>")
    fam = Path(f"{bfile}.fam") if bfile else None
    edfs = out / "extract" / "edfs.tsv"
    facts = []
    if fam is not None and fam.exists():
        facts.append(f"{sum(1 for _ in open(fam))} genotyped participants")
        facts.append(f"{sum(1 for _ in open(f'{bfile}.bim'))} variants")
    if edfs.exists():
        e = pd.read_csv(edfs, sep="\t", nrows=5)
        facts.append(f"{sum(1 for _ in open(edfs)) - 1} participants with EDFs ({e.shape[1] - 1} dimensions)")
    parts.append("<p>" + "; ".join(facts) + "</p>")
    phys = _read(Path(biomarkers)) if biomarkers else None
    if phys is not None:
        parts.append(_table(phys.drop(columns="IID").describe().T.reset_index().rename(columns={"index": "trait"})))
    outcomes = _read(Path(outcomes)) if outcomes else None
    if outcomes is not None:
        prev = outcomes.drop(columns="IID").mean().rename("prevalence").reset_index().rename(columns={"index": "disease"})
        parts.append(_table(prev))
    gwas_summary = _read(out / "gwas" / "gwas_summary.tsv")

    parts.append("<h2>EDFs and known biomarkers</h2>")
    for p in sorted((out / "interpret").glob("*.png"))[:2]:
        parts.append(_img(p))
    assoc = _read(out / "interpret" / "associations.tsv")
    if assoc is not None:
        top = assoc.loc[assoc.groupby("biomarker")["t"].apply(lambda s: s.abs().idxmax())]
        parts.append("<p>Most strongly associated EDF per biomarker (OLS adjusted for age and sex):</p>" + _table(top))

    parts.append("<h2>GWAS of EDFs</h2>")
    if gwas_summary is not None:
        lam = gwas_summary["lambda_gc"]
        parts.append(f"<p>{len(gwas_summary)} phenotypes; λGC median {lam.median():.3f} (range {lam.min():.3f}–{lam.max():.3f}); "
                     f"{int((gwas_summary['n_significant'] > 0).sum())} with variants at p &lt; 5e-8.</p>")
    plots = sorted((out / "gwas").rglob("*.png"))
    combined = [p for p in plots if any(k in p.name for k in ("combined", "min_p", "minp"))]
    for p in combined[:2] or plots[:2]:
        parts.append(_img(p))
    qq = _strongest_qq(plots, gwas_summary)
    if qq is not None:
        parts.append(_img(qq, 450))
    regional = sorted(p for d in ("clump", "annotate") for p in (out / d).rglob("*.png") if "regional" in p.name) \
        if out.exists() else []
    if regional:
        parts.append("<p>Regional plots of the top loci:</p>")
        for p in regional[:3]:
            parts.append(_img(p, 700))

    parts.append("<h2>Independent loci</h2>")
    loci = _read(out / "annotate" / "annotated_loci.tsv")
    if loci is None:
        loci = _read(out / "clump" / "loci.tsv")
    if loci is not None:
        novel = f"; {int(loci['novel'].astype(str).str.lower().eq('true').sum())} novel against the GWAS Catalog" if "novel" in loci else ""
        parts.append(f"<p class='k'>{len(loci)} independent loci across all EDFs{novel}</p>" + _loci_table(loci))

    parts.append("<h2>Mendelian randomization (EDF → disease)</h2>")
    mr = _read(out / "mr" / "mr_results.tsv")
    if mr is not None and len(mr):
        prim = primary_estimates(mr).sort_values("pval")
        parts.append(f"<p>{len(prim)} EDF–disease pairs tested (IVW, or Wald ratio with one instrument); smallest p first.</p>")
        parts.append(_table(prim, 25))
        for p in _strongest_mr_plots(out / "mr", prim):
            parts.append(_img(p, 600))

    parts += genetics_sections(out, table=_table, img=_img)   # ldsc / finemap / coloc stages

    if truth is not None and Path(truth).exists():
        ts = score_truth(out, json.loads(Path(truth).read_text()))
        parts.append("<h2>Truth: what was planted vs what was found</h2>")
        if len(ts.loci):
            rec, planted = ts.loci_recovered
            parts.append(f"<p class='k'>Planted loci recovered (index variant within 250 kb, biomarker GWAS): "
                         f"{rec}/{planted} "
                         f"(recall {ts.loci_recall:.2f}); false loci: {ts.false_loci}</p>" + _table(ts.loci))
        if len(ts.mr):
            pl = ts.mr[ts.mr["planted"]]
            nu = ts.mr[~ts.mr["planted"]]
            parts.append(f"<p class='k'>MR links (biomarker → disease, Bonferroni): planted detected {int(pl['detected'].sum())}/{len(pl)}; "
                         f"false positives among null pairs {int(nu['detected'].sum())}/{len(nu)}</p>" + _table(pl))
        if len(ts.edf_mr):
            parts.append(f"<p class='k'>Through EDFs: planted links detected via the EDF that best tracks the trait: "
                         f"{int(ts.edf_mr['detected'].sum())}/{len(ts.edf_mr)}</p>" + _table(ts.edf_mr))
    doc = f"<!doctype html><html><head><meta charset='utf-8'><title>edfgen report</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    path = out / "report.html"
    with atomic_write(path) as fh:
        fh.write(doc)
    return path
