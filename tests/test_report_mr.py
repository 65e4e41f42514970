"""The report's MR tables (every method side by side per pair, grouped by the biomarker an EDF tracks)
and truth_summary.json."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.mr import PRESSO_METHOD, MRSettings, run_mr
from edfgen.report_mr import (TRUTH_KEYS, compact_pairs, edf_tracks, mr_pair_table, mr_section, read_truth_summary,
                              truth_summary, write_truth_summary)


@pytest.fixture(scope="module")
def mr_dir(shared_data, tmp_path_factory):
    d = tmp_path_factory.mktemp("report_mr")
    exp = pd.read_csv(shared_data / "mr" / "twosamplemr_test_commondata_exp_dat.csv")
    out = pd.read_csv(shared_data / "mr" / "twosamplemr_test_commondata_out_dat.csv")
    (d / "e").mkdir()
    exp.to_csv(d / "e" / "edf_001.csv", index=False)
    rng = np.random.default_rng(0)
    exp.assign(**{"beta.exposure": rng.permutation(exp["beta.exposure"].to_numpy())}).to_csv(d / "e" / "edf_002.csv",
                                                                                                index=False)
    out.to_csv(d / "chd.csv", index=False)
    run_mr(d / "e", d / "chd.csv", d / "mr", clump=False, max_plots=1,
           settings=MRSettings(nboot=50, presso_sims=200))
    return d


def test_mr_pair_table__methods_side_by_side(mr_dir):
    t = mr_pair_table(mr_dir / "mr").set_index("exposure")
    res = pd.read_csv(mr_dir / "mr" / "mr_results.tsv", sep="\t").set_index(["exposure", "method"])
    for col, method in (("ivw", "Inverse variance weighted"), ("egger", "MR Egger"), ("wmedian", "Weighted median"),
                        ("wmode", "Weighted mode"), ("presso", PRESSO_METHOD)):
        assert t.at["edf_001", f"{col}_b"] == pytest.approx(res.at[("edf_001", method), "b"])
        assert t.at["edf_001", f"{col}_p"] == pytest.approx(res.at[("edf_001", method), "pval"])
    ple = pd.read_csv(mr_dir / "mr" / "mr_pleiotropy.tsv", sep="\t").set_index("exposure")
    assert t.at["edf_001", "egger_intercept"] == pytest.approx(ple.at["edf_001", "egger_intercept"])
    assert {"ivw_Q_p", "correct_causal_direction", "steiger_pval", "significant"} <= set(t.columns)
    assert t.at["edf_001", "significant"] == (t.at["edf_001", "p_primary"] < 0.05 / 2)


def test_compact_pairs__one_b_p_cell_per_method_for_the_page(mr_dir):
    """The page's MR table: the same numbers as mr_pair_table, each method's b and p in one cell."""
    t = mr_pair_table(mr_dir / "mr")
    c = compact_pairs(t).set_index("exposure")
    row = t.set_index("exposure").loc["edf_001"]
    for head, b, p in (("IVW / Wald b (p)", "ivw_b", "ivw_p"), ("Egger b (p)", "egger_b", "egger_p"),
                       ("w. median b (p)", "wmedian_b", "wmedian_p"), ("PRESSO b (p)", "presso_b", "presso_p")):
        got = c.at["edf_001", head]
        bb, pp = float(got.split(" (")[0]), float(got.split(" (")[1].rstrip(")"))
        assert bb == pytest.approx(row[b], rel=5e-3) and pp == pytest.approx(row[p], rel=5e-3), (head, got)
    assert c.at["edf_001", "primary"] == "IVW" and "significant" not in c.columns and len(c.columns) < len(t.columns)
    assert c.at["edf_001", "Steiger direction (p)"].startswith(("yes (", "no ("))


def test_mr_section__grouped_by_tracked_biomarker(mr_dir):
    (mr_dir / "interpret").mkdir(exist_ok=True)
    pd.DataFrame({"edf": ["edf_001", "edf_001", "edf_002"], "biomarker": ["qt_interval_ms", "heart_rate_bpm", "bmi"],
                  "t": [-9.0, 3.0, 1.0]}).to_csv(mr_dir / "interpret" / "associations.tsv", sep="\t", index=False)
    assert edf_tracks(pd.read_csv(mr_dir / "interpret" / "associations.tsv", sep="\t")) == {
        "edf_001": "qt_interval_ms", "edf_002": "bmi"}
    html = "".join(mr_section(mr_dir, lambda df, n=40: f"<table>{len(df)}</table>", lambda p, caption="", **kw: f"<img {p.name}>"))
    assert "EDF → disease" in html and "EDFs tracking <b>qt_interval_ms</b>" in html
    assert "edf_001__chd.scatter.png" in html


def test_mr_section__says_why_it_is_empty(tmp_path):
    """An MR stage that tested no pair (no exposure had instruments) and a folder without MR left the report's
    MR heading bare; each is said."""
    def html():
        return "".join(mr_section(tmp_path, lambda df, n=40: "<table/>", lambda p, caption="", **kw: ""))
    assert "No Mendelian randomization in this folder" in html()
    (tmp_path / "mr").mkdir()
    pd.DataFrame(columns=["exposure", "outcome", "method", "nsnp", "b", "se", "pval"]).to_csv(
        tmp_path / "mr" / "mr_results.tsv", sep="\t", index=False)
    text = html()   # no manifest: an unfinished stage
    assert "MR EDF → disease" in text and "did not finish" in text
    assert "No Mendelian randomization in this folder" not in text
    from edfgen.formats.manifest import Manifest

    Manifest(command="edfgen mr").write(tmp_path / "mr")      # finished, nothing tested
    assert "No exposure-outcome pair was tested" in html()


def test_truth_summary__keys_and_counts(tmp_path):
    loci = pd.DataFrame({"trait": ["a", "all"], "n_planted": [3, 3], "n_recovered": [2, 2], "recall": [.67, .67],
                         "n_index": [3, 3], "n_false_index": [1, 1]})
    mr = pd.DataFrame({"exposure": ["a", "a", "b"], "outcome": ["X", "Y", "X"], "method": "Inverse variance weighted",
                       "nsnp": 3, "b": 0.1, "pval": [1e-9, 0.2, 1e-4], "planted": [True, False, False],
                       "detected": [True, False, True]})
    edf = pd.DataFrame({"trait": ["a"], "outcome": ["X"], "edf": ["edf_003"], "edf_trait_t": [5.0],
                        "mr_pval": [1e-5], "detected": [True]})
    s = truth_summary(loci, mr, edf)
    assert set(TRUTH_KEYS) <= set(s)
    assert (s["loci_planted"], s["loci_recovered"], s["loci_false"]) == (3, 2, 1)
    assert (s["mr_links_planted"], s["mr_links_detected_biomarker"], s["mr_links_detected_edf"]) == (1, 1, 1)
    assert (s["mr_null_pairs"], s["mr_false_positives"]) == (2, 1)
    assert s["links"][0]["edf"] == "edf_003"
    assert s["mr_ran"] is True
    write_truth_summary(tmp_path, s)
    assert read_truth_summary(tmp_path) == json.loads(json.dumps(s))


def test_truth_summary__mr_skipped_says_skipped_not_zero_links_found(tmp_path):
    """demo --n 300 runs no MR (no instruments): truth_summary.json said mr_links_planted 0 and the report
    "MR links found via biomarkers 0/0", read as none of the 3 planted links found. Now mr_ran false, the MR
    counts null, the links of truth.json counted, and the report says MR was skipped."""
    from edfgen.report import write_report

    loci = pd.DataFrame({"trait": ["all"], "n_planted": [26], "n_recovered": [0], "recall": [0.0], "n_index": [0],
                         "n_false_index": [0]})
    empty = pd.DataFrame(columns=["exposure", "outcome", "method", "nsnp", "b", "pval", "planted", "detected"])
    s = truth_summary(loci, empty, pd.DataFrame(), links_in_truth=3)
    assert s["mr_ran"] is False and s["mr_links_in_truth"] == 3
    assert [s[k] for k in ("mr_links_planted", "mr_links_detected_biomarker", "mr_links_detected_edf",
                           "mr_null_pairs", "mr_false_positives")] == [None] * 5
    write_truth_summary(tmp_path, s)
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"causal": [{"exposure": "a", "outcome": "X"}]}))
    html = write_report(tmp_path, truth=truth).read_text()
    assert "MR skipped: no biomarker → disease pair was tested" in html and "none of the 3 planted links" in html
    assert "via biomarkers 0/0" not in html


def test_write_truth_summary__strict_json_with_nan_written_null(tmp_path):
    """truth_summary.json held bare NaN (a planted link without an EDF p): not JSON for strict parsers."""
    import json as _json

    path = write_truth_summary(tmp_path, {"links": [{"pval_edf": float("nan"), "n": np.int64(3)}], "rate": np.float64(0.5)})
    text = path.read_text()
    assert "NaN" not in text
    assert _json.loads(text, parse_constant=lambda c: pytest.fail(c)) == {"links": [{"pval_edf": None, "n": 3}], "rate": 0.5}
