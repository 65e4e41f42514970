"""Truth of a simulated cohort (``truth.json``) and scoring what a run found against it.

* loci (:func:`score_loci`; ``edfgen clump --truth``'s ``truth_recovery.tsv``, the pipeline report's
  truth section, the clumping benchmark): a planted locus is *recovered* when an index variant of its
  trait lies on the same chromosome within ``window_kb``; an index variant is *false* when no planted
  locus of its trait lies within ``window_kb``.
* MR links (:func:`score_mr_links`, :func:`score_edf_links`; the report's truth section): a planted
  trait -> disease link is *detected* when its primary estimate's p-value (IVW, or the Wald ratio
  with one instrument: :func:`edfgen.kernels.mr.methods.primary_estimates`) is below ``alpha`` / the
  number of pairs tested (Bonferroni).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.kernels.mr.methods import primary_estimates

log = logging.getLogger(__name__)

TRUTH_COLUMNS = ["trait", "n_planted", "n_recovered", "recall", "n_index", "n_false_index"]


def read_truth_loci(truth: Mapping | str | Path) -> pd.DataFrame:
    """The planted loci of ``truth.json`` (content or path): ``chromosome`` (no ``chr``),
    ``base_pair_location``, ``trait`` (+ whatever else the entries carry).

    Raises
    ------
    InputError
        One line naming the file: not JSON, not an object with a ``loci`` list (another JSON file, e.g. a
        manifest.json), or a ``loci`` entry without ``chromosome``, ``base_pair_location`` or ``trait``.
    """
    source = "truth"
    if not isinstance(truth, Mapping):
        source = path = Path(truth)
        try:
            truth = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: cannot read truth JSON ({exc})") from None
    need = ["chromosome", "base_pair_location", "trait"]
    entries = truth.get("loci") if isinstance(truth, Mapping) else None
    if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
        raise InputError(f"{source}: not a truth.json of edfgen simulate (needs a 'loci' list of objects with "
                         f"{', '.join(need)}; see data_dictionary/truth_json.md)")
    loci = pd.DataFrame(entries)
    if loci.empty:
        return pd.DataFrame(columns=need + ["variant_id"])
    incomplete = loci.reindex(columns=need).isna().any(axis=1).to_numpy()
    if incomplete.any():
        bad = int(np.flatnonzero(incomplete)[0])
        lacking = [c for c in need if c not in loci.columns or pd.isna(loci.at[bad, c])]
        raise InputError(f"{source}: loci[{bad}] lacks {', '.join(lacking)}")
    loci["chromosome"] = loci["chromosome"].astype(str).str.replace("^chr", "", regex=True)
    loci["base_pair_location"] = loci["base_pair_location"].astype(np.int64)
    return loci


def warn_unmatched_traits(truth: Mapping | str | Path, phenotypes: Sequence[str], source: str) -> None:
    """Warn when no phenotype is a trait of the truth: loci are scored by phenotype name == trait, so
    every recall would be 0 (EDFs, ``edf_*``, are no planted trait; the biomarker GWAS's phenotypes are)."""
    traits = sorted(read_truth_loci(truth)["trait"].astype(str).unique())
    if traits and not set(traits) & set(map(str, phenotypes)):
        from edfgen.formats.tables import some_names

        log.warning("%s: none of its traits (%s) is a phenotype here (%s): recovery is scored by phenotype name == "
                    "trait, so truth_recovery.tsv recalls nothing (give the GWAS of the simulated physiology.tsv)",
                    source, some_names(traits, 6), some_names(sorted(set(map(str, phenotypes))), 6))


def score_loci(clumps: pd.DataFrame, truth: Mapping | str | Path, *, window_kb: float = 250.0,
                traits: Sequence[str] | None = None) -> pd.DataFrame:
    """Recovery of planted loci by clumping, per trait (phenotype name == truth ``trait``).

    A planted locus is *recovered* when an index variant of its trait lies on the same
    chromosome within ``window_kb``; an index variant is *false* when no planted locus of its
    trait lies within ``window_kb``.

    Parameters
    ----------
    clumps
        ``clumps.tsv`` rows (``phenotype, chromosome, base_pair_location``).
    truth
        ``truth.json`` content or path: ``{"loci": [{"chromosome", "base_pair_location",
        "trait", ...}]}``.
    traits
        Traits to score (default: every trait with planted loci).

    Returns
    -------
    DataFrame with columns ``trait, n_planted, n_recovered, recall, n_index, n_false_index``,
    one row per trait plus a final ``all`` row (sums; recall pooled).
    """
    loci = read_truth_loci(truth)
    traits = list(traits) if traits is not None else sorted(loci["trait"].astype(str).unique())
    w = window_kb * 1000
    rows = []
    cl = clumps.copy()
    cl["chromosome"] = cl["chromosome"].astype(str).str.replace("^chr", "", regex=True)
    for tr in traits:
        pl = loci[loci["trait"].astype(str) == tr]
        ix = cl[cl["phenotype"].astype(str) == tr]
        if len(pl) and len(ix):
            same = pl["chromosome"].to_numpy()[:, None] == ix["chromosome"].to_numpy()[None, :]
            near = same & (np.abs(pl["base_pair_location"].to_numpy()[:, None]
                                  - ix["base_pair_location"].to_numpy(np.int64)[None, :]) <= w)
        else:
            near = np.zeros((len(pl), len(ix)), dtype=bool)
        n_rec = int(near.any(axis=1).sum())
        rows.append({"trait": tr, "n_planted": len(pl), "n_recovered": n_rec,
                     "recall": n_rec / len(pl) if len(pl) else np.nan, "n_index": len(ix),
                     "n_false_index": int((~near.any(axis=0)).sum())})
    out = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    tot = out[["n_planted", "n_recovered", "n_index", "n_false_index"]].sum()
    out.loc[len(out)] = {"trait": "all", **{k: int(v) for k, v in tot.items()},
                         "recall": tot["n_recovered"] / tot["n_planted"] if tot["n_planted"] else np.nan}
    return out


MR_TRUTH_COLUMNS = ["exposure", "outcome", "method", "nsnp", "b", "pval", "planted", "detected"]


def planted_links(truth: Mapping) -> set[tuple[str, str]]:
    """The planted ``(exposure, outcome)`` links of ``truth.json``'s ``causal`` entries."""
    return {(c["exposure"], c["outcome"]) for c in truth.get("causal", [])}


def score_mr_links(results: pd.DataFrame | None, truth: Mapping, *, alpha: float = 0.05) -> pd.DataFrame:
    """Every tested trait -> disease pair of an ``mr_results`` table (primary estimate), whether it was
    planted and whether it is detected (``pval < alpha / pairs``); columns :data:`MR_TRUTH_COLUMNS`."""
    if results is None or not len(results):
        return pd.DataFrame(columns=MR_TRUTH_COLUMNS)
    causal = planted_links(truth)
    prim = primary_estimates(results)
    prim["planted"] = [(e, o) in causal for e, o in zip(prim["exposure"], prim["outcome"])]
    prim["detected"] = prim["pval"] < alpha / max(len(prim), 1)
    return prim[MR_TRUTH_COLUMNS]


def score_edf_links(associations: pd.DataFrame | None, results: pd.DataFrame | None, truth: Mapping, *,
                    alpha: float = 0.05) -> pd.DataFrame:
    """Per planted trait -> disease link: the EDF most associated with the trait (largest ``|t|`` in
    ``associations``, among the EDFs MR tested when any) and its MR p-value to the disease in
    ``results`` (EDF -> disease ``mr_results``), detected when below ``alpha`` / pairs tested."""
    rows = []
    if associations is not None and results is not None and len(results):
        prim = primary_estimates(results)
        n_tests = max(len(prim), 1)
        for exp, outc in sorted(planted_links(truth)):
            a = associations[associations["biomarker"] == exp]
            if a.empty:
                continue
            tested = a[a["edf"].isin(prim["exposure"])]
            best = (tested if len(tested) else a).loc[lambda d: d["t"].abs().idxmax()]
            row = prim[(prim["exposure"] == best["edf"]) & (prim["outcome"] == outc)]
            p = float(row["pval"].iloc[0]) if len(row) else float("nan")
            rows.append({"trait": exp, "outcome": outc, "edf": best["edf"], "edf_trait_t": float(best["t"]),
                         "mr_pval": p, "detected": bool(p < alpha / n_tests)})
    return pd.DataFrame(rows)

