"""The report's MR part and the demo's truth summary.

* :func:`mr_pair_table`: per exposure-outcome pair, every method side by side (IVW, MR Egger with its
  intercept, weighted median, weighted mode, MR-PRESSO outlier-corrected), IVW heterogeneity and the
  Steiger direction, from one ``edfgen mr`` output folder; :func:`mr_section` renders the significant
  pairs (Bonferroni on the primary estimate) grouped by exposure and, for EDFs, by the biomarker each
  tracks best, with the scatter, forest and leave-one-out plots of the strongest pairs.
* :func:`truth_summary` / :func:`write_truth_summary`: ``truth_summary.json`` of a run on a simulated
  cohort (planted vs found loci and MR links), which the report's truth section reads.

The HTML helpers (``table``, ``img``) are passed in by :mod:`edfgen.report`, which calls these functions.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.formats.manifest import finite_json, read_manifest
from edfgen.formats.tables import atomic_write
from edfgen.kernels.mr.methods import primary_estimates
from edfgen.plots.mr import _safe

TRUTH_SUMMARY = "truth_summary.json"
TRUTH_KEYS = ("loci_planted", "loci_recovered", "loci_false", "mr_ran", "mr_links_in_truth", "mr_links_planted",
              "mr_links_detected_biomarker", "mr_links_detected_edf", "mr_null_pairs", "mr_false_positives")
#: mr_results method -> short column prefix of the side-by-side table
SIDE_BY_SIDE = {"Inverse variance weighted": "ivw", "Wald ratio": "wald", "MR Egger": "egger",
                "Weighted median": "wmedian", "Weighted mode": "wmode", "MR-PRESSO (outlier-corrected)": "presso"}


def _read(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path, sep="\t") if path.exists() else None


def mr_pair_table(mr_dir: Path, *, alpha: float = 0.05) -> pd.DataFrame:
    """One row per pair of ``mr_dir``'s ``mr_results.tsv``: ``b``/``p`` of each method of :data:`SIDE_BY_SIDE`,
    the Egger intercept and its p, IVW Cochran's Q p, Steiger direction and p, and ``significant``
    (``p_bonferroni`` of the primary estimate below ``alpha``; for a table without that column, p below
    ``alpha`` / pairs); smallest primary p first."""
    res = _read(mr_dir / "mr_results.tsv")
    if res is None or not len(res):
        return pd.DataFrame()
    key = ["exposure", "outcome"]
    prim = primary_estimates(res)
    # edfgen mr's own Bonferroni column when there is one (one family: IVW and Wald ratio over every pair), so
    # the page and mr_results.tsv agree by construction; a table without it (another tool's): alpha / pairs
    bonf = prim["p_bonferroni"] if "p_bonferroni" in prim.columns else prim["pval"] * max(len(prim), 1)
    prim = prim[key + ["method", "nsnp", "pval"]].rename(columns={"method": "primary", "pval": "p_primary"})
    prim["significant"] = bonf.to_numpy(float) < alpha
    sub = res[res["method"].isin(SIDE_BY_SIDE)].assign(m=lambda d: d["method"].map(SIDE_BY_SIDE))
    wide = sub.pivot_table(index=key, columns="m", values=["b", "pval"], aggfunc="first")
    wide.columns = [f"{m}_{'p' if v == 'pval' else 'b'}" for v, m in wide.columns]
    t = prim.merge(wide.reset_index(), on=key, how="left")
    ple = _read(mr_dir / "mr_pleiotropy.tsv")
    if ple is not None and len(ple):
        t = t.merge(ple[key + ["egger_intercept", "pval", "mean_f"]].rename(columns={"pval": "egger_intercept_p"}),
                    on=key, how="left")
    het = _read(mr_dir / "mr_heterogeneity.tsv")
    if het is not None and len(het):
        h = het[het["method"] == "Inverse variance weighted"][key + ["Q", "Q_pval"]].rename(
            columns={"Q": "ivw_Q", "Q_pval": "ivw_Q_p"})
        t = t.merge(h, on=key, how="left")
    st = _read(mr_dir / "mr_steiger.tsv")
    if st is not None and len(st):
        t = t.merge(st[key + ["correct_causal_direction", "steiger_pval"]], on=key, how="left")
    order = [c for c in ["exposure", "outcome", "nsnp", "primary", "p_primary", "significant", "mean_f",
                         *[f"{m}_{x}" for m in SIDE_BY_SIDE.values() for x in ("b", "p")], "egger_intercept",
                         "egger_intercept_p", "ivw_Q", "ivw_Q_p", "correct_causal_direction", "steiger_pval"]
             if c in t.columns]
    return t[order].sort_values("p_primary").reset_index(drop=True)


def _bp(b, p) -> str:
    """``b (p)`` as the page shows it: b to 3 significant digits, p scientific below 1e-3; blank when missing."""
    try:
        b, p = float(b), float(p)
    except (TypeError, ValueError):
        return ""
    if b != b:
        return ""
    ptxt = "" if p != p else "< 1e-300" if p == 0 else f"{p:.2e}" if p < 1e-3 else f"{p:.3g}"
    return f"{b:.3g} ({ptxt})" if ptxt else f"{b:.3g}"


#: page columns of :func:`compact_pairs`: header -> (b column, p column); IVW and the Wald ratio (one instrument)
#: share a column, ``primary`` says which
COMPACT_METHODS = {"IVW / Wald b (p)": (("ivw_b", "wald_b"), ("ivw_p", "wald_p")), "Egger b (p)": ("egger_b", "egger_p"),
                   "w. median b (p)": ("wmedian_b", "wmedian_p"), "w. mode b (p)": ("wmode_b", "wmode_p"),
                   "PRESSO b (p)": ("presso_b", "presso_p"), "Egger intercept (p)": ("egger_intercept",
                                                                                      "egger_intercept_p")}


def compact_pairs(t: pd.DataFrame) -> pd.DataFrame:
    """:func:`mr_pair_table` rows as the report shows them, narrow enough for a 1400 px page: each method's
    ``b (p)`` in one cell, IVW and Wald ratio in one column, the Steiger direction with its p; the full table
    (every column apart) is :func:`mr_pair_table`'s. ``significant`` is left out (the text says which rows are)."""
    if t.empty:
        return t
    d = t[[c for c in ("exposure", "outcome", "nsnp") if c in t]].copy()
    d["primary"] = t["primary"].replace({"Inverse variance weighted": "IVW", "Wald ratio": "Wald"})
    d["p_primary"] = t["p_primary"]
    if "mean_f" in t:
        d["mean_f"] = t["mean_f"]
    for head, (bcol, pcol) in COMPACT_METHODS.items():
        bcols, pcols = (bcol, pcol) if isinstance(bcol, tuple) else ((bcol,), (pcol,))
        if not any(c in t for c in bcols):
            continue
        b = pd.concat([t[c] for c in bcols if c in t], axis=1).bfill(axis=1).iloc[:, 0]
        p = pd.concat([t[c] for c in pcols if c in t], axis=1).bfill(axis=1).iloc[:, 0]
        d[head] = [_bp(x, y) for x, y in zip(b, p)]
    if "ivw_Q_p" in t:
        d["ivw_Q_p"] = t["ivw_Q_p"]
    if "correct_causal_direction" in t:
        ok = t["correct_causal_direction"].map(lambda v: "" if v != v else "yes" if str(v).lower() == "true" else "no")
        d["Steiger direction (p)"] = [f"{o} ({_bp(0, q).split('(')[-1]}" if o and q == q else o
                                      for o, q in zip(ok, t.get("steiger_pval", pd.Series(np.nan, index=t.index)))]
    return d


def edf_tracks(associations: pd.DataFrame | None) -> dict[str, str]:
    """EDF -> the biomarker it is most associated with (largest ``|t|`` of ``interpret/associations.tsv``)."""
    if associations is None or not len(associations):
        return {}
    best = associations.loc[associations.groupby("edf")["t"].apply(lambda s: s.abs().idxmax())]
    return dict(zip(best["edf"], best["biomarker"]))


def mr_section(out: Path, table: Callable[..., str], img: Callable[..., str], *, max_pairs: int = 30,
               plot_pairs: int = 2) -> list[str]:
    """HTML of the MR part of the report: biomarker -> disease (``mr_biomarkers/``) and EDF -> disease
    (``mr/``), significant pairs with every method side by side, EDF pairs grouped by the biomarker each EDF
    tracks, and the plots of the strongest pairs."""
    parts = []
    tracks = edf_tracks(_read(out / "interpret" / "associations.tsv"))
    for sub, title in (("mr_biomarkers", "biomarker → disease"), ("mr", "EDF → disease")):
        t = mr_pair_table(out / sub)
        if t.empty:
            if (out / sub).is_dir():   # say why rather than leave the heading bare
                why = ("No exposure-outcome pair was tested: no exposure had instruments (variants passing the "
                       "instrument threshold and clumping)" if read_manifest(out / sub, complete=True) is not None
                       else "The MR stage did not finish (its manifest.json is missing or in progress): rerun it")
                parts.append(f"<h3>MR {title}</h3><p>{why}; see <code>{sub}/</code>.</p>")
            continue
        sig = t[t["significant"]]
        parts.append(f"<h3>MR {title}</h3><p>{len(t)} pairs tested; {len(sig)} significant (primary estimate, "
                     f"Bonferroni over the pairs). Every method side by side (b and p): IVW, Wald ratio (one "
                     f"instrument), MR Egger and its intercept, weighted median, weighted mode, MR-PRESSO "
                     f"outlier-corrected; IVW Cochran's Q; Steiger direction.</p>")
        show = sig if len(sig) else t.head(5)
        if sub == "mr" and tracks:
            show = show.assign(tracks=show["exposure"].map(tracks).fillna("")).sort_values(["tracks", "p_primary"])
            for bio, grp in show.groupby("tracks", sort=True):
                parts.append(f"<p>EDFs tracking <b>{bio or 'no biomarker'}</b>:</p>" + table(
                    compact_pairs(grp.drop(columns="tracks")), max_pairs))
        else:
            parts.append(("" if len(sig) else "<p>No significant pair; the 5 smallest p:</p>")
                         + table(compact_pairs(show), max_pairs))
        # plots of the strongest pairs with more than one instrument (a 1-SNP scatter shows nothing)
        multi = show[show["nsnp"] > 1] if len(show[show["nsnp"] > 1]) >= plot_pairs else t[t["nsnp"] > 1]
        for exp, outc in multi[["exposure", "outcome"]].head(plot_pairs).itertuples(index=False):
            stem = f"{_safe(exp)}__{_safe(outc)}"
            for kind in ("scatter", "forest", "leaveoneout"):
                for p in (out / sub).rglob(f"{stem}.{kind}.png"):
                    what = {"scatter": "scatter", "forest": "forest", "leaveoneout": "leave-one-out"}[kind]
                    parts.append(img(p, f"MR {what} plot: {exp} → {outc}", half=True))
    mv = _read(out / "mvmr" / "mvmr_results.tsv")
    if mv is not None and len(mv):
        parts.append("<h3>Multivariable MR</h3>" + table(mv, max_pairs))
    if not parts:
        parts.append("<p>No Mendelian randomization in this folder (no <code>mr/</code> or "
                     "<code>mr_biomarkers/</code> output): the run had no outcome GWAS, or clumping found no index "
                     "variant to use as instruments (the run's log says which).</p>")
    return parts


def truth_summary(loci: pd.DataFrame, mr: pd.DataFrame, edf_mr: pd.DataFrame, *,
                  links_in_truth: int | None = None) -> dict:
    """``truth_summary.json`` from the scored tables of :func:`edfgen.report.score_truth` (loci per trait
    with an ``all`` row; biomarker MR pairs with ``planted``/``detected``; planted links via EDFs) and the
    number of links ``truth.json`` plants. Without a biomarker MR pair tested (no instruments at a small n,
    no outcome GWAS) ``mr_ran`` is false and the MR counts are null, not 0 links found of 0."""
    allrow = loci[loci["trait"] == "all"] if len(loci) else loci
    get = (lambda c: int(allrow[c].iloc[0]) if len(allrow) else 0)  # noqa: E731
    planted = mr[mr["planted"]] if len(mr) else mr
    null = mr[~mr["planted"].astype(bool)] if len(mr) else mr
    det = (lambda d: int(d["detected"].astype(bool).sum()) if len(d) else 0)  # noqa: E731
    links = [{"exposure": r.exposure, "outcome": r.outcome, "pval_biomarker": float(r.pval),
              "detected_biomarker": bool(r.detected)} for r in planted.itertuples()] if len(planted) else []
    by_link = {(r.trait, r.outcome): r for r in edf_mr.itertuples()} if len(edf_mr) else {}
    for link in links:
        e = by_link.get((link["exposure"], link["outcome"]))
        link.update({"edf": e.edf if e else None, "pval_edf": float(e.mr_pval) if e else None,
                     "detected_edf": bool(e.detected) if e else False})
    ran = bool(len(mr))
    if_ran = (lambda v: v if ran else None)  # noqa: E731
    return {"loci_planted": get("n_planted"), "loci_recovered": get("n_recovered"), "loci_false": get("n_false_index"),
            "mr_ran": ran, "mr_links_in_truth": links_in_truth,
            "mr_links_planted": if_ran(len(planted)), "mr_links_detected_biomarker": if_ran(det(planted)),
            "mr_links_detected_edf": if_ran(det(edf_mr)), "mr_null_pairs": if_ran(len(null)),
            "mr_false_positives": if_ran(det(null)),
            "mr_false_positive_rate": (det(null) / len(null)) if len(null) else None,
            "rule": "loci: index variant within 250 kb of a planted locus of the trait (biomarker GWAS); MR: "
                    "primary estimate (IVW, Wald ratio with one instrument) p < 0.05 / pairs tested",
            "links": links}


def write_truth_summary(out: Path, summary: dict) -> Path:
    """Write ``<out>/truth_summary.json`` atomically."""
    path = Path(out) / TRUTH_SUMMARY
    with atomic_write(path) as fh:   # strict JSON: NaN (a link without an EDF p) written null, as manifests
        json.dump(finite_json(summary), fh, indent=1, allow_nan=False)
        fh.write("\n")
    return path


def read_truth_summary(out: Path) -> dict | None:
    path = Path(out) / TRUTH_SUMMARY
    return json.loads(path.read_text()) if path.exists() else None


__all__ = ["mr_pair_table", "compact_pairs", "mr_section", "edf_tracks", "truth_summary", "write_truth_summary",
           "read_truth_summary", "TRUTH_SUMMARY", "TRUTH_KEYS"]
