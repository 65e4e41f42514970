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

from edfgen.commands.study_loci import STUDY_LOCI_COLUMNS
from edfgen.formats.tables import atomic_write, read_table, safe_filename
from edfgen.kernels.ecg.p_wave import REASON_COLUMN
from edfgen.kernels.pvalues import neg_log10_or_given
from edfgen.plots.manhattan import LEGIBLE_PT, manhattan_from_points, manhattan_plot
from edfgen.plots.qq import qq_plot
from edfgen.report_mr import mr_section, read_truth_summary
from edfgen.report_genetics import genetics_sections
from edfgen.simulate.truth import score_edf_links, score_loci, score_mr_links

IVW = "Inverse variance weighted"


def _img(path: Path, caption: str, *, half: bool = False, small: bool = False) -> str:
    """A figure at the page's full width (``half``: half of it, two side by side; ``small``: a square
    plot beside another), with ``caption`` as its caption and alt text (what it shows, never a file name)."""
    data = base64.b64encode(path.read_bytes()).decode()
    cap = html.escape(caption)
    kind = "small" if small else "half" if half else "full"
    return (f'<figure class="{kind}"><img alt="{cap}" src="data:image/png;base64,{data}">'
            f'<figcaption>{cap}</figcaption></figure>')


def _p_text(v) -> str:
    """A p-value as people read it: scientific with 3 digits; 0 (underflow) as "< 1e-300", unless it is the text
    of a p below a double's range (kept)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f != f:
        return ""
    if f == 0 and isinstance(v, str) and any(ch in "123456789" for ch in v.lower().split("e")[0]):
        return v.strip()        # text of a p below a double's range ("3.72e-1212"): as written
    return "< 1e-300" if f == 0 else f"{f:.2e}" if f < 1e-3 else f"{f:.3g}"


def _is_p(column: str) -> bool:
    c = str(column).lower()
    if c.startswith("neg_log"):     # neg_log_10_p_value is a -log10, not a p (1211.43, not "1.21e+03")
        return False
    return c in ("p", "pval", "p_value", "pvalue") or c.endswith(("_p_value", "_pval", ".pval")) or c.startswith("p_")


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
    shown = df.head(max_rows).apply(lambda col: col.map(_p_text) if _is_p(col.name) else col.map(
        lambda v: _fmt(v).replace(",", ",\u200b") if isinstance(v, str) else _fmt(v)))
    shown.columns = [str(c).replace("_", "_\u200b") for c in shown.columns]   # long names break at "_"
    body = shown.to_html(index=False, border=0, classes="t", escape=True)
    return f"<div class='tw'>{body}</div>" + more


#: loci table: what a reader looks for first, the long phenotype list last (and shortened)
LOCI_COLUMNS = [c for c in STUDY_LOCI_COLUMNS if c not in ("n_phenotypes",)] + ["known_by", "nearest_catalog_trait"]


def _p_from_neg_log10(p: float, nlp: float) -> str:
    """A lead's p with 3 digits (``3.20e-12``); below a double's range from its ``-log10`` (``3.72e-1212``)."""
    if p != p:
        return ""
    if p >= 1e-300 or nlp != nlp:
        return f"{p:.2e}"
    e = int(np.floor(-nlp))
    m = 10.0 ** (-nlp - e)
    if m >= 9.995:
        m, e = m / 10.0, e + 1
    return f"{m:.2f}e{e:d}"


def _loci_table(loci: pd.DataFrame, max_rows: int = 40, max_phenotypes: int = 3) -> str:
    """The loci table with ``novel`` and the nearest known association next to the lead variant, and
    the comma-joined ``phenotypes`` cut to the first few names (``+N more``)."""
    cols = [c for c in LOCI_COLUMNS if c in loci.columns]
    d = loci[cols].copy()    # the file has every column; the page the ones that fit a screen
    if "catalog_version" in d:   # the same for every row (named in full above the table): its date
        d["catalog_version"] = d["catalog_version"].astype(str).str.extract(r"(\d{4}-\d{2}-\d{2})")[0]
    if "tracked_biomarker" in d:   # one column "tracked_biomarker (r)": QT (0.42)
        r = pd.to_numeric(d.pop("tracked_biomarker_r"), errors="coerce") if "tracked_biomarker_r" in d else None
        tb = [f"{b} ({x:.2f})" if isinstance(b, str) and x == x else "" for b, x in
              zip(d["tracked_biomarker"], r if r is not None else [np.nan] * len(d))]
        d.insert(d.columns.get_loc("tracked_biomarker"), "tracked_biomarker (r)", tb)
        d = d.drop(columns="tracked_biomarker")
    if {"chromosome", "base_pair_location"} <= set(d.columns):   # one "position" column: 2:32454751
        pos = d["chromosome"].astype(str) + ":" + d["base_pair_location"].map(lambda v: _fmt(v).replace(",", ""))
        d.insert(d.columns.get_loc("chromosome"), "position", pos)
        d = d.drop(columns=["chromosome", "base_pair_location"])
    if "p_value" in d:      # ranked by -log10 p: the file's neg_log_10_p_value tells apart leads at p 0
        nlp = neg_log10_or_given(d["p_value"], d.get("neg_log_10_p_value"))
        p = pd.to_numeric(d["p_value"], errors="coerce").to_numpy(dtype=float)
        # a p of 0 without its -log10 (a lead list with a literal 0) is the strongest there is, not the last:
        # ranked first, so the row cap never drops it (NaN p last)
        order = np.argsort(-np.where((p == 0) & np.isnan(nlp), np.inf, nlp), kind="stable")
        d, nlp = d.iloc[order], nlp[order]
        d["p_value"] = [_p_from_neg_log10(v, nl) for v, nl in zip(d["p_value"].astype(float), nlp)]
    if "neg_log_10_p_value" in d:
        d["neg_log_10_p_value"] = [f"{v:.2f}" if v == v else "" for v in nlp]
    if "nearest_catalog_trait" in d:
        d["nearest_catalog_trait"] = d["nearest_catalog_trait"].map(
            lambda v: v if not isinstance(v, str) or len(v) <= 28 else v[:27] + "…")
    if "phenotypes" in d:
        def short(v):
            names = [x for x in str(v).split(",") if x] if v == v else []
            return ", ".join(names[:max_phenotypes]) + (f" (+{len(names) - max_phenotypes} more)"
                                                        if len(names) > max_phenotypes else "")
        d["phenotypes"] = d["phenotypes"].map(short)
    return _table(d, max_rows)


def _read(path: Path) -> pd.DataFrame | None:
    """A stage output (written by edfgen: tab-separated, ``IID`` for participants) or None."""
    return pd.read_csv(path, sep="\t") if path.exists() else None


def _participant_values(path: str | Path) -> pd.DataFrame:
    """The numeric columns of a user's per-participant table (``[inputs] biomarkers``/``outcomes``), read
    as every stage reads it (:func:`~edfgen.formats.tables.read_table`: TSV/CSV/parquet, the id named
    ``IID``, ``eid``, ``#IID`` or ``ID_2``), without the id columns."""
    df = read_table(path, id_column="IID")
    # pr_missing_reason (interpret's measured_biomarkers.tsv) is a note on the PR: all empty, it reads as numbers
    return df.drop(columns=["IID", "FID", "#FID", REASON_COLUMN], errors="ignore").select_dtypes("number")


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


CSS = """body{font-family:system-ui,sans-serif;max-width:1600px;margin:1.5em auto;padding:0 1.5em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table.meta{font-size:.9em;border-collapse:collapse}table.meta th{text-align:left;padding:1px 12px 1px 0;color:#555;
font-weight:500;white-space:nowrap;vertical-align:top}table.meta td{padding:1px 0;overflow-wrap:anywhere}
div.tw{max-width:100%;overflow-x:auto}
table.t{border-collapse:collapse;font-size:.85em;table-layout:auto}
table.t td,table.t th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap;vertical-align:top}
table.t th{position:sticky;top:0;background:#f6f6f6;cursor:pointer;white-space:normal;max-width:8em;
vertical-align:bottom}table.t th:hover{background:#e8eef8}
figure{margin:1em 0}figure.full img{width:100%;height:auto}figure.half{display:inline-block;width:49%;
vertical-align:top;margin:1em .5% 1em 0}figure.half img{width:100%;height:auto}
figure.small{display:inline-block;width:40%;max-width:560px;vertical-align:top}figure.small img{width:100%}
figcaption{font-size:.85em;color:#444;margin-top:.3em}div.loci table.t{font-size:.8em}
div.loci table.t td,div.loci table.t th,div.compact table.t td,div.compact table.t th{padding:2px 6px}
div.compact table.t{font-size:.8em}
div.loci table.t td:last-child{white-space:normal;min-width:10em}.k{font-size:1.2em;font-weight:600}
@media (max-width:900px){figure.half,figure.small{display:block;width:100%}body{padding:0 .6em}}"""

#: click a column header to sort the table by it (numbers as numbers; click again to reverse)
SORT_JS = """document.querySelectorAll('table.t').forEach(function(t){var hs=t.querySelectorAll('th');
hs.forEach(function(h,i){h.title='sort';h.addEventListener('click',function(){var b=t.tBodies[0],
r=Array.from(b.rows),d=h.dataset.d==='1'?-1:1;h.dataset.d=d===1?'1':'0';function v(x){var s=x.cells[i].innerText
.replace(/[<,\u200b ]/g,'');var n=parseFloat(s);return n===n?n:s.toLowerCase()}r.sort(function(a,c){var x=v(a),
y=v(c);return (x>y?1:x<y?-1:0)*d});r.forEach(function(x){b.appendChild(x)})})})});"""


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _header(out: Path, *, command: str | None, reference_genome: str | None, catalog: str | None) -> str:
    """The report's header: version, date, command, checkpoint, covariates, N per GWAS, build, catalog."""
    import datetime

    from edfgen import __version__

    ext = _json(out / "extract" / "edfs.tsv.manifest.json")
    ck = ext.get("extra", {}).get("checkpoint") or ext.get("parameters", {}).get("checkpoint")
    sha = ext.get("extra", {}).get("checkpoint_sha256", "")
    rows = [("edfgen", __version__),
            ("date", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")),
            ("command", command or ""),
            ("checkpoint", f"{Path(str(ck)).stem} (sha256 {sha[:16]}…)" if ck else "")]
    gw = _json(out / "gwas" / "manifest.json").get("parameters", {})
    covs = [c for c in gw.get("covariates", []) if c != "intercept"]
    rows.append(("covariates", ", ".join(covs)))
    sizes = []
    for d in sorted(out.glob("gwas*")):
        summ = _read(d / "gwas_summary.tsv")
        if summ is not None and len(summ):
            n = summ["n"].astype(float)
            sizes.append(f"{d.name}: {len(summ)} phenotypes, n = {_fmt(n.max())}"
                         + (f" (min {_fmt(n.min())})" if n.min() != n.max() else ""))
    rows.append(("sample sizes", "; ".join(sizes)))
    rows.append(("genome build", reference_genome or gw.get("reference_genome", "")))
    rows.append(("GWAS Catalog", catalog or "not compared"))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows if v)
    return f"<h1>edfgen report</h1><p>{html.escape(str(out))}</p><table class='meta'>{body}</table>"


def _phenotype_of(png: Path) -> str:
    return png.name.split(".")[0]


#: gene labels on the report's Manhattan plots: the nearest gene of at most this many of the strongest loci
MAX_GENE_LABELS = 15


def _loci_labels(loci: pd.DataFrame | None, phenotype: str | None = None) -> pd.DataFrame | None:
    """Lead variants of ``loci`` (of ``phenotype`` when given: its name in the locus's ``phenotypes``) with
    ``label`` = ``nearest_gene`` (the variant id where no gene is near), for the Manhattan plots."""
    if loci is None or not len(loci) or not {"chromosome", "base_pair_location", "p_value"} <= set(loci.columns):
        return None
    d = loci
    if phenotype is not None and "phenotypes" in d:
        d = d[d["phenotypes"].astype(str).str.split(",").map(lambda names: phenotype in names)]
    gene = d["nearest_gene"] if "nearest_gene" in d else pd.Series(np.nan, index=d.index, dtype=object)
    has_gene = gene.notna() & (gene.astype(str).str.strip() != "")
    return d.assign(label=gene.where(has_gene, d["variant_id"] if "variant_id" in d else np.nan))


def _strongest_phenotype(out: Path, summary: pd.DataFrame | None) -> tuple[str, Path] | None:
    """The phenotype with the most genome-wide hits (then the largest λGC) whose summary statistics exist."""
    if summary is None or not len(summary):
        return None
    for name in summary.sort_values(["n_significant", "lambda_gc"], ascending=False)["phenotype"].astype(str):
        path = out / "gwas" / f"{safe_filename(name)}.tsv.gz"
        if path.exists():
            return name, path
    return None


def _gwas_figures(out: Path, summary: pd.DataFrame | None, loci: pd.DataFrame | None) -> list[str]:
    """The GWAS section's figures, drawn for the page (text of :data:`LEGIBLE_PT` points, at least 11 px at a
    1400 px window): the combined Manhattan (from the GWAS stage's saved points) with the nearest gene of the
    strongest loci, and the Manhattan and QQ plots of the EDF with most hits, the QQ with λGC and, when the ldsc
    stage ran, its LDSC intercept. Runs without those files fall back to the GWAS stage's own PNGs."""
    from edfgen.formats.sumstats import read_sumstats
    from edfgen.kernels.association import lambda_gc

    parts: list[str] = []
    figs = out / "report_figures"
    plots = sorted((out / "gwas").rglob("*.png"))
    n_ph = len(summary) if summary is not None else 0
    lines = "dashed: p = 5e-8; dash-dotted: 5e-8 / number of EDFs; dotted: 1e-5"
    labels = _loci_labels(loci)
    n_lab = min(MAX_GENE_LABELS, labels["label"].nunique()) if labels is not None else 0
    points = out / "gwas" / "plots" / "combined_min_p.manhattan.npz"
    combined = [p for p in plots if p.name == "combined_min_p.manhattan.png"]
    if points.exists():
        png = manhattan_from_points(points, figs / "combined_min_p.manhattan.png", labels=labels,
                                    max_labels=MAX_GENE_LABELS, title=f"minimum p across the {n_ph} EDF GWAS")
        parts.append(_img(png, f"Manhattan plot of the smallest p across the {n_ph} EDF GWAS at each variant, "
                               f"labelled with the nearest gene of the strongest loci (up to {n_lab}, where a label "
                               f"fits; {lines})"))
    elif combined:
        parts.append(_img(combined[0], f"Manhattan plot of the smallest p across the {n_ph} EDF GWAS at each "
                                       f"variant ({lines})"))
    top = _strongest_phenotype(out, summary)
    if top is None:     # no summary statistics: the GWAS stage's plots of the EDF with most hits
        qq = _strongest_qq(plots, summary)
        if qq is not None:
            hit = summary[summary["phenotype"].astype(str).map(safe_filename) == _phenotype_of(qq)] \
                if summary is not None else []
            lam_txt = f", λGC = {float(hit['lambda_gc'].iloc[0]):.3f}" if len(hit) else ""
            man = qq.with_name(qq.name.replace(".qq.png", ".manhattan.png"))
            if man.exists():
                parts.append(_img(man, f"Manhattan plot of {_phenotype_of(qq)}, the EDF with the most genome-wide hits"))
            parts.append(_img(qq, f"QQ plot of {_phenotype_of(qq)}{lam_txt} (observed vs expected −log10 p)",
                              small=True))
        return parts
    name, path = top
    df, _ = read_sumstats(path)
    p = df["p_value"].to_numpy(dtype=float)
    row = summary[summary["phenotype"].astype(str) == name]
    lam = float(row["lambda_gc"].iloc[0]) if len(row) and pd.notna(row["lambda_gc"].iloc[0]) else lambda_gc(p)
    h2 = _read(out / "ldsc" / "h2.tsv")
    h2row = h2[h2["phenotype"].astype(str) == name] if h2 is not None else None
    icpt, icpt_se = ((float(h2row["intercept"].iloc[0]), float(h2row["intercept_se"].iloc[0]))
                     if h2row is not None and len(h2row) else (None, None))
    stem = safe_filename(name)
    own = _loci_labels(loci, name)
    man = manhattan_plot(df, figs / f"{stem}.manhattan.png", title=name, labels=own, label_leads=MAX_GENE_LABELS,
                         width=1400, height=480, fontsize=LEGIBLE_PT)
    parts.append(_img(man, f"Manhattan plot of {name}, the EDF with the most genome-wide hits, labelled with the "
                           "nearest gene of its loci (dashed: p = 5e-8; dotted: 1e-5)"))
    qq = qq_plot(p, figs / f"{stem}.qq.png", title=name, lambda_gc=lam, ldsc_intercept=icpt,
                 ldsc_intercept_se=icpt_se, fontsize=LEGIBLE_PT, size=560)
    icpt_txt = f", LDSC intercept = {icpt:.3f} (SE {icpt_se:.3f})" if icpt is not None else ""
    parts.append(_img(qq, f"QQ plot of {name}, λGC = {lam:.3f}{icpt_txt} (observed vs expected −log10 p; "
                          "band: 95% under the null)", small=True))
    return parts


def _interpret_section(folder: Path) -> list[str]:
    """The heatmap and the strongest EDF per biomarker of ``edfgen interpret``'s output folder.

    Parameters
    ----------
    folder
        ``<out>/interpret``.

    Returns
    -------
    list of str
        HTML parts; a biomarker without an estimable association (all NA, too few participants, or
        constant after the covariates) is named as such rather than given a row.
    """
    parts = []
    covariates = _json(folder / "manifest.json").get("parameters", {}).get("covariates")
    model = (f"adjusted for {', '.join(covariates)}" if covariates
             else "unadjusted" if covariates is not None else "adjusted for the covariates of interpret")
    heat = folder / "heatmap.png"
    if heat.exists():
        parts.append(_img(heat, "EDF × biomarker associations: signed t of EDF ~ biomarker + covariates; EDFs "
                                "(x, labelled by number) ordered by k-means cluster, then hierarchical clustering; "
                                "dots: significant pairs"))
    assoc = _read(folder / "associations.tsv")
    if assoc is None:
        return parts
    estimable = assoc[assoc["t"].notna()]
    if len(estimable):
        top = estimable.loc[estimable.groupby("biomarker")["t"].apply(lambda s: s.abs().idxmax())]
        parts.append(f"<p>Most strongly associated EDF per biomarker (OLS {model}):</p>" + _table(top))
    missing = sorted(set(assoc["biomarker"].astype(str)) - set(estimable["biomarker"].astype(str)))
    if missing:
        parts.append("<p>Not estimable (too few participants with a value, or constant after the covariates): "
                     + html.escape(", ".join(missing)) + "</p>")
    return parts


def write_report(out: str | Path, *, bfile: str | Path | None = None, biomarkers: str | Path | None = None,
                 outcomes: str | Path | None = None, truth: str | Path | None = None, command: str | None = None,
                 reference_genome: str | None = None, catalog: str | None = None) -> Path:
    """Write ``<out>/report.html`` from whatever stage outputs exist in ``out``.

    The pipeline's inputs add the cohort summary (``bfile``: genotype counts; ``biomarkers``,
    ``outcomes``: distributions and prevalences) and, for a simulated cohort, ``truth`` (its
    ``truth.json``) adds the truth section. ``command``, ``reference_genome`` and ``catalog`` (its
    version, :func:`edfgen.commands.study_loci.catalog_version`) go into the header.
    """
    out = Path(out)
    parts = [_header(out, command=command, reference_genome=reference_genome, catalog=catalog)]

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
    # each table says which file and how many people it describes: the outcomes of `edfgen run` may be a
    # biobank's, not the ECG cohort's (review s30j F6)
    if biomarkers:
        phys = _participant_values(biomarkers)
        parts.append(f"<p>Biomarkers ({html.escape(Path(biomarkers).name)}, n = {len(phys):,}):</p>"
                     + _table(phys.describe().T.reset_index().rename(columns={"index": "trait"})))
    if outcomes:
        dis = _participant_values(outcomes)
        prev = dis.mean().rename("prevalence").reset_index().rename(columns={"index": "disease"})
        parts.append(f"<p>Disease prevalence in the outcome GWAS sample ({html.escape(str(outcomes))}, "
                     f"n = {len(dis):,}):</p>" + _table(prev))
    gwas_summary = _read(out / "gwas" / "gwas_summary.tsv")

    parts.append("<h2>EDFs and known biomarkers</h2>")
    parts += _interpret_section(out / "interpret")

    loci = _read(out / "loci.tsv")
    ann = _read(out / "annotate" / "annotated_loci.tsv")
    if loci is None:
        loci = ann if ann is not None else _read(out / "clump" / "loci.tsv")

    parts.append("<h2>GWAS of EDFs</h2>")
    if gwas_summary is not None:
        lam = gwas_summary["lambda_gc"]
        parts.append(f"<p>{len(gwas_summary)} phenotypes; λGC median {lam.median():.3f} (range {lam.min():.3f}–{lam.max():.3f}); "
                     f"{int((gwas_summary['n_significant'] > 0).sum())} with variants at p &lt; 5e-8.</p>")
    parts += _gwas_figures(out, gwas_summary, loci)

    parts.append("<h2>Independent loci</h2>")
    if loci is not None:
        nov = loci["novel"].astype(str).str.lower().eq("true").sum() if "novel" in loci else None
        cat_txt = (f"; {int(nov)} novel against the {catalog}" if catalog and nov is not None
                   else f"; {int(nov)} novel against the GWAS Catalog" if nov is not None and ann is not None else "")
        parts.append(f"<p class='k'>{len(loci)} independent loci across all EDFs{cat_txt}</p>"
                     "<p>Click a column header to sort. Effects are those of the lead EDF at the lead variant; "
                     "tracked_biomarker_r: Pearson r between the lead EDF and the biomarker it tracks best.</p>"
                     + "<div class='loci'>" + _loci_table(loci) + "</div>")
    regional = sorted(p for d in ("annotate", "clump") for p in (out / d).rglob("*.png")
                      if "regional" in str(p.relative_to(out))) if out.exists() else []
    if regional:
        parts.append(f"<p>Regional plot of each locus ({len(regional)}): −log10 p of the lead EDF around the lead "
                     "variant, coloured by r² with it, with the genes below.</p>")
        for p in regional[:60]:
            locus, _, rest = p.stem.partition("_")
            parts.append(_img(p, f"Regional plot of locus {locus} ({rest.replace('_', ' ')}): −log10 p by "
                                 "position, colour = r² with the lead variant, genes track below", half=True))

    parts.append("<h2>Mendelian randomization</h2>")
    parts += mr_section(out, lambda df, n=40: f"<div class='compact'>{_table(df, n)}</div>", _img)

    parts += genetics_sections(out, table=_table, img=_img)   # ldsc / finemap / coloc stages

    if truth is not None and Path(truth).exists():
        ts = score_truth(out, json.loads(Path(truth).read_text()))
        parts.append("<h2>Truth: what was planted vs what was found</h2>")
        summ = read_truth_summary(out)
        if summ is not None:
            mr_text = (f"MR links found via biomarkers {summ['mr_links_detected_biomarker']}/{summ['mr_links_planted']}, "
                       f"via EDFs {summ['mr_links_detected_edf']}/{summ['mr_links_planted']}; false positives among "
                       f"null pairs {summ['mr_false_positives']}/{summ['mr_null_pairs']}")
            if summ.get("mr_ran") is False:        # (older summaries have no mr_ran: MR ran)
                mr_text = (f"MR skipped: no biomarker → disease pair was tested (no instruments, or no outcome GWAS), "
                           f"so none of the {summ.get('mr_links_in_truth')} planted links could be found")
            parts.append(f"<p class='k'>truth_summary.json: loci {summ['loci_recovered']}/{summ['loci_planted']} "
                         f"recovered, {summ['loci_false']} false; {mr_text}</p>")
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
    doc = (f"<!doctype html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
           f"<title>edfgen report</title><style>{CSS}</style></head><body>{''.join(parts)}"
           f"<script>{SORT_JS}</script></body></html>")
    path = out / "report.html"
    with atomic_write(path) as fh:
        fh.write(doc)
    return path
