"""``edfgen mr`` end to end: fixture, matrix, reverse, instruments, proxies, bad input."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from statsmodels.stats.multitest import multipletests

from edfgen.cli import cli
from edfgen.formats.dictionary import check_file
from edfgen.commands.mr import TABLES

ENTRIES = {"harmonised.tsv": "mr_harmonised", **{f"{t}.tsv": t for t in TABLES}}


@pytest.fixture(scope="module")
def fx(shared_data):
    d = shared_data / "mr"
    return d / "twosamplemr_test_commondata_exp_dat.csv", d / "twosamplemr_test_commondata_out_dat.csv"


def _errors(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.startswith("edfgen mr: error")]


def _run(args):
    """``edfgen mr`` with ``--no-clump`` unless the test names ``--clump``/``--no-clump`` (the fixtures'
    exposures are instrument lists already; the default clumping is tested on its own)."""
    args = list(map(str, args))
    if "--clump" not in args and "--no-clump" not in args:
        args.append("--no-clump")
    return CliRunner().invoke(cli, ["mr", *args], catch_exceptions=False)


def test_mr_cli__fixture_end_to_end(fx, tmp_path):
    out = tmp_path / "o"
    r = _run(["--exposure", fx[0], "--outcome", fx[1], "--out", out, "--nboot", 200, "--presso-sims", 200,
              "--seed", 3])
    assert r.exit_code == 0, r.output
    for fname, entry in ENTRIES.items():
        check_file(entry, out / fname)
    res = pd.read_csv(out / "mr_results.tsv", sep="\t").set_index("method")
    assert res.at["Inverse variance weighted", "b"] == pytest.approx(0.4459, abs=1e-3)
    assert res.at["MR Egger", "b"] == pytest.approx(0.5025, abs=1e-3)
    assert res.at["Weighted median", "b"] == pytest.approx(0.3870, abs=1e-3)
    assert res.at["Simple mode", "b"] == pytest.approx(0.3402, abs=1e-3)
    assert res.at["Weighted mode", "b"] == pytest.approx(0.3791, abs=1e-2)
    assert res.at["MR Egger", "or"] == pytest.approx(np.exp(res.at["MR Egger", "b"]))
    h = pd.read_csv(out / "harmonised.tsv", sep="\t")
    assert len(h) == 79 and h["mr_keep"].all()
    twosamplemr = {"SNP", "exposure", "outcome", "mr_keep", "palindromic", "ambiguous"} | {
        f"{c}.{side}" for side in ("exposure", "outcome")
        for c in ("effect_allele", "other_allele", "beta", "se", "pval", "eaf", "samplesize")}
    assert twosamplemr <= set(h.columns)  # harmonise_data()'s names
    single = pd.read_csv(out / "mr_singlesnp.tsv", sep="\t")
    loo = pd.read_csv(out / "mr_leaveoneout.tsv", sep="\t")
    assert {"SNP", "b", "se", "p"} <= set(single.columns) & set(loo.columns) and "All" in set(loo["SNP"])
    # the Wald ratios of mr_singlesnp from harmonised.tsv's TwoSampleMR columns
    w = single[single["method"] == "Wald ratio"].set_index("SNP")
    hh = h.set_index("SNP").loc[w.index]
    np.testing.assert_allclose(w["b"], hh["beta.outcome"] / hh["beta.exposure"], rtol=1e-6)
    m = json.loads((out / "manifest.json").read_text())
    assert m["command"] == "edfgen mr" and m["seed"] == 3 and "mr_results.tsv" in m["outputs"]
    assert len(list((out / "plots").glob("*.png"))) == 4
    ple = pd.read_csv(out / "mr_pleiotropy.tsv", sep="\t")
    assert ple.at[0, "egger_intercept"] == pytest.approx(-0.00172, abs=1e-5)
    # same seed -> identical bootstrap SEs
    r2 = _run(["--exposure", fx[0], "--outcome", fx[1], "--out", tmp_path / "o2", "--nboot", 200,
               "--presso-sims", 200, "--seed", 3, "--no-plots"])
    assert r2.exit_code == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "mr_results.tsv", sep="\t"),
                                  pd.read_csv(tmp_path / "o2" / "mr_results.tsv", sep="\t"))
    assert not (tmp_path / "o2" / "plots").exists()


def _ssf(df: pd.DataFrame, suffix: str) -> pd.DataFrame:
    return pd.DataFrame({"variant_id": df["SNP"], "effect_allele": df[f"effect_allele.{suffix}"],
                         "other_allele": df[f"other_allele.{suffix}"], "beta": df[f"beta.{suffix}"],
                         "standard_error": df[f"se.{suffix}"], "p_value": df[f"pval.{suffix}"],
                         "effect_allele_frequency": df[f"eaf.{suffix}"], "n": df[f"samplesize.{suffix}"]})


def test_mr_cli__matrix_with_bonferroni_and_fdr(fx, tmp_path):
    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    ed, od = tmp_path / "exp", tmp_path / "out"
    ed.mkdir(), od.mkdir()
    exp.to_csv(ed / "bmi.tsv.gz", sep="\t", index=False)
    exp.assign(beta=exp["beta"] * 2, standard_error=exp["standard_error"] * 2).to_csv(ed / "bmi2.tsv", sep="\t", index=False)
    out.to_csv(od / "chd.tsv", sep="\t", index=False)
    pd.DataFrame({"phenotype": ["chd"], "n_hits": [3]}).to_csv(od / "gwas_summary.tsv", sep="\t", index=False)
    rng = np.random.default_rng(0)
    out.assign(beta=rng.normal(0, out["standard_error"])).to_csv(od / "noise.tsv", sep="\t", index=False)
    r = _run(["--exposure", ed, "--outcome", od, "--out", tmp_path / "m", "--nboot", 100, "--presso-sims", 100,
              "--max-plots", 1])
    assert r.exit_code == 0, r.output
    res = pd.read_csv(tmp_path / "m" / "mr_results.tsv", sep="\t")
    check_file("mr_results", tmp_path / "m" / "mr_results.tsv")
    assert set(zip(res["exposure"], res["outcome"])) == {(e, o) for e in ("bmi", "bmi2") for o in ("chd", "noise")}
    ivw = res[res["method"] == "Inverse variance weighted"].set_index(["exposure", "outcome"])
    assert ivw.at[("bmi", "chd"), "b"] == pytest.approx(0.4459, abs=1e-3)
    assert ivw.at[("bmi2", "chd"), "b"] == pytest.approx(0.4459 / 2, abs=1e-3)
    np.testing.assert_allclose(ivw["p_bonferroni"], np.minimum(1, ivw["pval"] * 4))
    np.testing.assert_allclose(ivw["q_fdr"], multipletests(ivw["pval"], method="fdr_bh")[1])
    assert len(list((tmp_path / "m" / "plots").glob("*.png"))) == 4  # capped at one pair


def test_mr_cli__reverse_swaps_direction(fx, tmp_path):
    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    exp.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    r1 = _run(["--exposure", tmp_path / "b.tsv", "--outcome", tmp_path / "a.tsv", "--out", tmp_path / "r1",
               "--no-plots", "--nboot", 50, "--presso-sims", 0])
    r2 = _run(["--exposure", tmp_path / "a.tsv", "--outcome", tmp_path / "b.tsv", "--out", tmp_path / "r2",
               "--reverse", "--no-plots", "--nboot", 50, "--presso-sims", 0])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    a = pd.read_csv(tmp_path / "r1" / "mr_results.tsv", sep="\t")
    b = pd.read_csv(tmp_path / "r2" / "mr_results.tsv", sep="\t")
    assert (b["exposure"] == "b").all() and (b["outcome"] == "a").all()
    pd.testing.assert_frame_equal(a, b)
    assert not (tmp_path / "r2" / "mr_presso.tsv").read_text().strip().count("\n")  # header only


def test_mr_cli__full_sumstats_with_threshold_and_instrument_list(fx, tmp_path):
    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    noise = pd.DataFrame({"variant_id": [f"rsX{i}" for i in range(50)], "effect_allele": "A", "other_allele": "G",
                          "beta": 0.001, "standard_error": 0.01, "p_value": 0.9, "effect_allele_frequency": 0.3,
                          "n": 1000})
    full = pd.concat([exp, noise])
    full.to_csv(tmp_path / "bmi.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    r = _run(["--exposure", tmp_path / "bmi.tsv", "--outcome", tmp_path / "chd.tsv", "--out", tmp_path / "p",
              "--p-threshold", 5e-8, "--no-plots", "--nboot", 50, "--presso-sims", 0])
    assert r.exit_code == 0, r.output
    h = pd.read_csv(tmp_path / "p" / "harmonised.tsv", sep="\t")
    assert set(h["SNP"]) == set(exp.loc[exp["p_value"] < 5e-8, "variant_id"])
    clumps = pd.DataFrame({"phenotype": ["bmi"] * 10 + ["other"] * 5,
                           "variant_id": list(exp["variant_id"][:10]) + list(exp["variant_id"][10:15])})
    clumps.to_csv(tmp_path / "clumps.tsv", sep="\t", index=False)
    r = _run(["--exposure", tmp_path / "bmi.tsv", "--outcome", tmp_path / "chd.tsv", "--out", tmp_path / "c",
              "--instruments", tmp_path / "clumps.tsv", "--no-plots", "--nboot", 50, "--presso-sims", 0])
    assert r.exit_code == 0, r.output
    h = pd.read_csv(tmp_path / "c" / "harmonised.tsv", sep="\t")
    assert set(h["SNP"]) == set(exp["variant_id"][:10])


def test_mr_cli__bad_input_is_one_line_error(fx, tmp_path):
    bad = pd.read_csv(fx[0]).drop(columns=["se.exposure"])
    bad.to_csv(tmp_path / "bad.csv", index=False)
    r = CliRunner().invoke(cli, ["mr", "--no-clump", "--exposure", str(tmp_path / "bad.csv"), "--outcome", str(fx[1]),
                                 "--out", str(tmp_path / "x")])
    assert r.exit_code == 2
    (err,) = _errors(r.output)
    assert err.startswith("edfgen mr: error:") and "standard_error" in err and "bad.csv" in err
    # ids of the outcome unknown to the exposure and no chr/pos to fall back on (mr_join): nothing found, said
    other = pd.read_csv(fx[1]).assign(SNP=lambda d: "zz" + d["SNP"])
    other.drop(columns=["chr", "pos"]).to_csv(tmp_path / "other.csv", index=False)
    r = CliRunner().invoke(cli, ["mr", "--no-clump", "--exposure", str(fx[0]), "--outcome", str(tmp_path / "other.csv"),
                                 "--out", str(tmp_path / "y")])
    (err,) = _errors(r.output)
    assert r.exit_code == 2 and "missing_in_outcome=79" in err and "e.g. exposure 'rs" in err and "outcome 'zzrs" in err
    assert not (tmp_path / "y" / "manifest.json").exists()
    r = CliRunner().invoke(cli, ["mr", "--no-clump", "--exposure", str(fx[0]), "--outcome", str(fx[1]), "--out",
                                 str(tmp_path / "z"), "--methods", "ivw,raps"])
    assert r.exit_code == 2 and "raps" in r.output


def test_mr_cli__outcome_ids_unknown_to_the_exposure_meet_by_chromosome_position_and_alleles(fx, tmp_path):
    """TwoSampleMR's exposure and outcome exports (chr, pos beside SNP): the outcome's ids renamed, its instruments are
    found by chromosome, position and allele pair (mr_join) and give the estimates of the run keyed by SNP."""
    other = pd.read_csv(fx[1]).assign(SNP=lambda d: "zz" + d["SNP"])
    other.to_csv(tmp_path / "other.csv", index=False)
    args = ["--exposure", fx[0], "--nboot", 10, "--presso-sims", 0, "--no-plots", "--methods", "ivw,egger"]
    assert _run([*args, "--outcome", fx[1], "--out", tmp_path / "a"]).exit_code == 0
    assert _run([*args, "--outcome", tmp_path / "other.csv", "--out", tmp_path / "b"]).exit_code == 0
    a, b = (pd.read_csv(tmp_path / d / "mr_results.tsv", sep="\t") for d in ("a", "b"))
    pd.testing.assert_frame_equal(a.drop(columns="outcome"), b.drop(columns="outcome"))
    ha, hb = (pd.read_csv(tmp_path / d / "harmonised.tsv", sep="\t") for d in ("a", "b"))
    assert set(ha["matched_by"].dropna()) == {"variant_id"} and set(hb["matched_by"].dropna()) == {"position"}
    assert hb["matched_by"].notna().sum() == ha["matched_by"].notna().sum() > 0


def _proxy_panel(tmp_path: Path) -> None:
    """panel.bed/.bim/.fam with proxies p1 (r² ~ 0.95 with t1) and p2 (r = -1 with t2), e.tsv (exposure
    of t1, t2, f1), o.tsv (outcome of p1, p2, f1) and o_noprox.tsv (f1 only)."""
    from bed_reader import to_bed

    rng = np.random.default_rng(1)
    n = 400
    t1 = rng.binomial(2, 0.3, n).astype(float)
    p1 = t1.copy()
    p1[:8] = rng.binomial(2, 0.3, 8)  # r² ~ 0.95 with t1
    t2 = rng.binomial(2, 0.4, n).astype(float)
    p2 = 2 - t2  # perfect negative correlation of counted alleles
    far = rng.binomial(2, 0.5, n).astype(float)
    G = np.column_stack([t1, p1, t2, p2, far])
    to_bed(tmp_path / "panel.bed", G, properties={
        "sid": ["t1", "p1", "t2", "p2", "f1"], "chromosome": ["1", "1", "1", "1", "1"],
        "bp_position": [1000, 2000, 50000, 51000, 10_000_000], "allele_1": ["A", "C", "G", "T", "A"],
        "allele_2": ["G", "T", "A", "C", "C"]})
    # exposure effects of the bim allele_1 of t1 and t2; true causal effect 0.5
    exp = pd.DataFrame({"variant_id": ["t1", "t2", "f1"], "effect_allele": ["A", "G", "A"],
                        "other_allele": ["G", "A", "C"], "beta": [0.1, 0.2, 0.15],
                        "standard_error": [0.01, 0.01, 0.01], "p_value": [1e-20] * 3,
                        "effect_allele_frequency": [0.3, 0.4, 0.5], "n": [1000] * 3})
    # outcome only has the proxies: p1's C travels with t1's A; p2's T (counted) travels with t2's A
    out = pd.DataFrame({"variant_id": ["p1", "p2", "f1"], "effect_allele": ["C", "T", "A"],
                        "other_allele": ["T", "C", "C"], "beta": [0.05, -0.1, 0.075],
                        "standard_error": [0.02] * 3, "p_value": [0.01] * 3,
                        "effect_allele_frequency": [0.3, 0.6, 0.5], "n": [2000] * 3})
    exp.to_csv(tmp_path / "e.tsv", sep="\t", index=False)
    out.drop(index=[0, 1]).to_csv(tmp_path / "o_noprox.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "o.tsv", sep="\t", index=False)


def test_mr_cli__proxies_from_ld_panel(tmp_path):
    _proxy_panel(tmp_path)
    outd = tmp_path / "res"
    r = _run(["--exposure", tmp_path / "e.tsv", "--outcome", tmp_path / "o.tsv", "--out", outd, "--proxies",
              "--ld-bfile", tmp_path / "panel", "--no-plots", "--nboot", 50, "--presso-sims", 0])
    assert r.exit_code == 0, r.output
    # the outcome file holds p1/p2 but not t1/t2: proxies replace them
    h = pd.read_csv(outd / "harmonised.tsv", sep="\t").set_index("SNP")  # TwoSampleMR's names
    check_file("mr_harmonised", outd / "harmonised.tsv")
    assert h.at["t1", "reason"] == "proxy_used" and h.at["t1", "proxy_snp.outcome"] == "p1"
    assert h.at["t1", "proxy_r2.outcome"] >= 0.8 and h.at["t2", "proxy_r2.outcome"] == pytest.approx(1.0)
    assert h.at["t1", "beta.outcome"] == pytest.approx(0.05)   # C ~ A: same sign
    assert h.at["t2", "beta.outcome"] == pytest.approx(0.1)    # T(counted) ~ A(counted) via r < 0: flipped
    assert h.at["f1", "reason"] == "kept"
    man = json.loads((outd / "manifest.json").read_text())     # panel: .bim/.fam hashed, .bed by size only
    assert sorted(Path(p).suffix for p in man["inputs"] if "panel" in p) == [".bim", ".fam"]
    assert man["parameters"]["ld_panel_bed_bytes"] == (tmp_path / "panel.bed").stat().st_size
    r = _run(["--exposure", tmp_path / "e.tsv", "--outcome", tmp_path / "o_noprox.tsv", "--out", tmp_path / "np",
              "--no-plots", "--nboot", 50, "--presso-sims", 0])
    h = pd.read_csv(tmp_path / "np" / "harmonised.tsv", sep="\t").set_index("SNP")
    assert (h.loc[["t1", "t2"], "reason"] == "missing_in_outcome").all()
    assert not h.loc[["t1", "t2"], "mr_keep"].any()


def test_mr_library__defaults_are_the_commands_with_an_ld_panel_and_a_missing_instrument(tmp_path):
    """run_mr(..., ld_bfile=...) gives edfgen mr --ld-bfile's tables: proxies stay off unless asked for
    (review s32c: the library turned them on whenever a panel was given, so a notebook's MR differed)."""
    from edfgen.commands.mr import MRSettings, run_mr

    _proxy_panel(tmp_path)
    r = _run(["--exposure", tmp_path / "e.tsv", "--outcome", tmp_path / "o.tsv", "--out", tmp_path / "cli",
              "--ld-bfile", tmp_path / "panel", "--no-plots", "--nboot", 50, "--presso-sims", 0])
    assert r.exit_code == 0, r.output
    run_mr(tmp_path / "e.tsv", tmp_path / "o.tsv", tmp_path / "api", ld_bfile=str(tmp_path / "panel"), clump=False,
           plots=False, settings=MRSettings(nboot=50, presso=False, presso_sims=1))
    for name in ("harmonised.tsv", "mr_results.tsv"):
        cli_t, api_t = (pd.read_csv(tmp_path / d / name, sep="\t") for d in ("cli", "api"))
        pd.testing.assert_frame_equal(api_t, cli_t)
    h = pd.read_csv(tmp_path / "api" / "harmonised.tsv", sep="\t").set_index("SNP")
    assert (h.loc[["t1", "t2"], "reason"] == "missing_in_outcome").all()

def test_mr_cli__clump_selects_independent_instruments(tmp_path):
    from bed_reader import to_bed

    rng = np.random.default_rng(2)
    n = 500
    a = rng.binomial(2, 0.3, n).astype(float)
    b = a.copy()
    b[:10] = rng.binomial(2, 0.3, 10)  # in strong LD with a
    c = rng.binomial(2, 0.4, n).astype(float)  # independent
    to_bed(tmp_path / "panel.bed", np.column_stack([a, b, c]), properties={
        "sid": ["va", "vb", "vc"], "chromosome": ["1", "1", "1"], "bp_position": [1000, 5000, 9000],
        "allele_1": ["A", "C", "G"], "allele_2": ["G", "T", "A"]})
    exp = pd.DataFrame({"variant_id": ["va", "vb", "vc"], "chromosome": "1", "base_pair_location": [1000, 5000, 9000],
                        "effect_allele": ["A", "C", "G"], "other_allele": ["G", "T", "A"], "beta": [0.2, 0.19, 0.15],
                        "standard_error": [0.01] * 3, "p_value": [1e-80, 1e-70, 1e-40],
                        "effect_allele_frequency": [0.3, 0.3, 0.4], "n": 5000})
    out = exp.assign(beta=exp["beta"] * 0.3, standard_error=0.02, p_value=0.01)
    exp.to_csv(tmp_path / "e.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "o.tsv", sep="\t", index=False)
    r = _run(["--exposure", tmp_path / "e.tsv", "--outcome", tmp_path / "o.tsv", "--out", tmp_path / "res",
              "--clump", "--ld-bfile", tmp_path / "panel", "--p-threshold", 5e-8, "--no-plots", "--nboot", 50,
              "--presso-sims", 0, "--clump-r2", 0.01, "--clump-kb", 1000])
    assert r.exit_code == 0, r.output
    h = pd.read_csv(tmp_path / "res" / "harmonised.tsv", sep="\t")
    assert sorted(h["SNP"]) == ["va", "vc"]  # vb is clumped with the stronger va
    m = json.loads((tmp_path / "res" / "manifest.json").read_text())["parameters"]
    assert (m["clump_r2"], m["clump_kb"], m["clump"]) == (0.01, 1000, True)
    r = CliRunner().invoke(cli, ["mr", "--exposure", str(tmp_path / "e.tsv"), "--outcome", str(tmp_path / "o.tsv"),
                                 "--out", str(tmp_path / "res2")])
    assert r.exit_code == 2 and "--ld-bfile" in _errors(r.output)[0]


def test_mr_cli__steiger_sources_binary_and_user_r2(fx, tmp_path):
    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    exp.to_csv(tmp_path / "bmi.tsv", sep="\t", index=False)
    out.assign(n_cases=60801, n=184305).to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    out.assign(variance_explained=1e-5).to_csv(tmp_path / "chd_r2.tsv", sep="\t", index=False)
    r = _run(["--exposure", tmp_path / "bmi.tsv", "--outcome", tmp_path / "chd.tsv", "--out", tmp_path / "a",
              "--no-plots", "--nboot", 50, "--presso-sims", 0, "--prevalence", 0.05])
    assert r.exit_code == 0, r.output
    st = pd.read_csv(tmp_path / "a" / "mr_steiger.tsv", sep="\t").iloc[0]
    check_file("mr_steiger", tmp_path / "a" / "mr_steiger.tsv")
    assert st["r2_source.exposure"] == "p_n" and st["r2_source.outcome"] == "lor_liability"
    assert bool(st["correct_causal_direction"]) and st["steiger_pval"] < 1e-10
    r = _run(["--exposure", tmp_path / "bmi.tsv", "--outcome", tmp_path / "chd_r2.tsv", "--out", tmp_path / "b",
              "--no-plots", "--nboot", 50, "--presso-sims", 0])
    st = pd.read_csv(tmp_path / "b" / "mr_steiger.tsv", sep="\t").iloc[0]
    assert st["r2_source.outcome"] == "user_r2" and st["snp_r2.outcome"] == pytest.approx(79 * 1e-5)


def test_mr_cli__an_imputation_rsq_column_is_not_variance_explained(fx, tmp_path):
    """A bare Rsq / r2 column (minimac's imputation quality) was read as the variance of the outcome explained:
    snp_r2.outcome 0.95 x 79 = 75, Steiger reversed with p = 0 (review finding). It is named in a warning and r
    comes from p and n; --columns rsq=Rsq reads it on purpose, refused when outside [0, 1)."""
    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    exp.to_csv(tmp_path / "bmi.tsv", sep="\t", index=False)
    out.assign(Rsq=[1.0] + [0.95] * (len(out) - 1)).to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    base = ["--exposure", tmp_path / "bmi.tsv", "--outcome", tmp_path / "chd.tsv", "--no-plots", "--nboot", 50,
            "--presso-sims", 0]
    r = _run([*base, "--out", tmp_path / "a"])
    assert r.exit_code == 0, r.output
    assert "'Rsq' is not read as variance explained" in r.output
    st = pd.read_csv(tmp_path / "a" / "mr_steiger.tsv", sep="\t").iloc[0]
    assert st["r2_source.outcome"] == "p_n" and st["snp_r2.outcome"] < 0.01 and bool(st["correct_causal_direction"])
    r = _run([*base, "--columns", "rsq=Rsq", "--out", tmp_path / "b"])
    assert r.exit_code == 2 and "'variance_explained'" in r.output and "outside [0, 1)" in r.output, r.output
    exp.assign(variance_explained=0.02).to_csv(tmp_path / "bmi.tsv", sep="\t", index=False)   # 79 x 0.02 > 1
    exp[["variant_id"]].to_csv(tmp_path / "independent.tsv", sep="\t", index=False)
    r = _run([*base, "--instruments", tmp_path / "independent.tsv", "--out", tmp_path / "c"])
    assert r.exit_code == 2 and "sums to 1.58" in r.output, r.output
    r = _run([*base, "--out", tmp_path / "d"])      # --no-clump: correlated rows may exceed 1, said
    assert r.exit_code == 0 and "sums to 1.58" in r.output and "not clumped" in r.output, r.output


def test_mr_cli__full_sumstats_without_selection_is_refused(tmp_path):
    n = 6000
    df = pd.DataFrame({"SNP": [f"rs{i}" for i in range(n)], "A1": "A", "A2": "G", "BETA": 0.01, "SE": 0.01,
                       "P": 0.3})
    df.to_csv(tmp_path / "full.tsv", sep="\t", index=False)
    r = CliRunner().invoke(cli, ["mr", "--no-clump", "--exposure", str(tmp_path / "full.tsv"), "--outcome", str(tmp_path / "full.tsv"),
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "--p-threshold" in _errors(r.output)[0]


def test_mr_cli__single_instrument_gives_wald_ratio(fx, tmp_path):
    exp = _ssf(pd.read_csv(fx[0]), "exposure").head(1)
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    exp.to_csv(tmp_path / "e.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "o.tsv", sep="\t", index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)     # e.g. an empty legend on the scatter plot
        r = _run(["--exposure", tmp_path / "e.tsv", "--outcome", tmp_path / "o.tsv", "--out", tmp_path / "w"])
    assert r.exit_code == 0, r.output
    assert len(list((tmp_path / "w" / "plots").glob("*.scatter.png"))) == 1
    res = pd.read_csv(tmp_path / "w" / "mr_results.tsv", sep="\t")
    h = pd.read_csv(tmp_path / "w" / "harmonised.tsv", sep="\t").iloc[0]
    assert list(res["method"]) == ["Wald ratio"]
    assert res.at[0, "b"] == pytest.approx(h["beta.outcome"] / h["beta.exposure"])
    assert res.at[0, "se"] == pytest.approx(h["se.outcome"] / abs(h["beta.exposure"]))
    for fname, entry in ENTRIES.items():
        check_file(entry, tmp_path / "w" / fname)



def test_mr_cli__wald_se_second_gives_the_delta_method_se_of_wald_ratios(fx, tmp_path):
    """--wald-se second: the one-instrument pair's Wald ratio and every mr_singlesnp ratio carry the second-order
    SE (counting se_exp: a weak instrument's first-order SE is too small); the default stays TwoSampleMR's."""
    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    exp.head(1).to_csv(tmp_path / "e1.tsv", sep="\t", index=False)
    exp.head(5).to_csv(tmp_path / "e5.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "o.tsv", sep="\t", index=False)
    for e in ("e1", "e5"):
        r = _run(["--exposure", tmp_path / f"{e}.tsv", "--outcome", tmp_path / "o.tsv", "--out", tmp_path / e,
                  "--wald-se", "second", "--no-plots", "--nboot", 20, "--presso-sims", 0])
        assert r.exit_code == 0, r.output
    h = pd.read_csv(tmp_path / "e5" / "harmonised.tsv", sep="\t").set_index("SNP")
    second = np.sqrt(h["se.outcome"] ** 2 / h["beta.exposure"] ** 2
                     + h["beta.outcome"] ** 2 * h["se.exposure"] ** 2 / h["beta.exposure"] ** 4)
    single = pd.read_csv(tmp_path / "e5" / "mr_singlesnp.tsv", sep="\t")
    w = single[single["method"] == "Wald ratio"].set_index("SNP")
    np.testing.assert_allclose(w["se"], second.loc[w.index], rtol=1e-10)
    assert (w["se"] > h.loc[w.index, "se.outcome"] / h.loc[w.index, "beta.exposure"].abs()).all()
    res = pd.read_csv(tmp_path / "e1" / "mr_results.tsv", sep="\t")
    assert list(res["method"]) == ["Wald ratio"]
    assert res.at[0, "se"] == pytest.approx(second.loc[exp["variant_id"].iloc[0]], rel=1e-10)
    assert json.loads((tmp_path / "e1" / "manifest.json").read_text())["parameters"]["wald_se"] == "second"


def test_mr_cli__phi_sets_the_mode_bandwidth(fx, tmp_path):
    """--phi reaches the simple and weighted modes (Hartwig 2017's bandwidth multiplier; MRSettings.phi had no
    option, so the command always used 1): the estimates equal the kernels' at that phi on harmonised.tsv."""
    from edfgen.kernels.mr import methods as M

    for phi in (1, 0.25):
        r = _run(["--exposure", fx[0], "--outcome", fx[1], "--out", tmp_path / str(phi), "--phi", phi, "--no-plots",
                  "--nboot", 20, "--presso-sims", 0, "--methods", "simple_mode,weighted_mode"])
        assert r.exit_code == 0, r.output
    h = pd.read_csv(tmp_path / "0.25" / "harmonised.tsv", sep="\t")
    h = h[h["mr_keep"]].sort_values("SNP")
    arrays = [h[c].to_numpy(float) for c in ("beta.exposure", "beta.outcome", "se.exposure", "se.outcome")]
    res = {phi: pd.read_csv(tmp_path / phi / "mr_results.tsv", sep="\t").set_index("method")["b"]
           for phi in ("1", "0.25")}
    assert res["0.25"]["Simple mode"] == pytest.approx(M.simple_mode(*arrays, nboot=10, phi=0.25).b, rel=1e-9)
    assert res["0.25"]["Weighted mode"] == pytest.approx(M.weighted_mode(*arrays, nboot=10, phi=0.25).b, rel=1e-9)
    assert res["1"]["Simple mode"] == pytest.approx(0.3402, abs=1e-3)               # TwoSampleMR's, at phi 1
    assert res["0.25"]["Simple mode"] != pytest.approx(res["1"]["Simple mode"], abs=1e-4)


def test_readme__mr_synopsis_lists_every_analysis_setting_and_phi_is_explained():
    """README's `edfgen mr` synopsis lists every option that sets an MRSettings field; --phi and --wald-se (and
    --prevalence) were missing, and --phi was explained nowhere (review of s37mr, finding 5): the mode text says
    what it multiplies and where it comes from."""
    import dataclasses
    import re

    from edfgen.commands.mr import MROptions, MRSettings

    text = (Path(__file__).parents[1] / "README.md").read_text()
    section = text[text.index("## Mendelian randomization: `edfgen mr`"):]
    section = section[:section.index("\n## ")]
    synopsis = section[section.index("```bash"):section.index("```\n", section.index("```bash") + 3)]
    settings = {f.name for f in dataclasses.fields(MROptions)} & {f.name for f in dataclasses.fields(MRSettings)}
    assert [n for n in sorted(settings) if "--" + n.replace("_", "-") not in synopsis] == []
    prose = " ".join(section.split())
    assert re.search(r"Weighted mode \(.{0,80}`--phi`.{0,200}Hartwig.{0,100}`mr_mode`", prose), "--phi not explained"
    assert "`--wald-se second`" in prose

@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_mr_cli__ld_panel_in_any_genotype_format_gives_the_same_proxies_and_clumps(tmp_path):
    """--proxies and --clump read the LD panel through the genotype options: the same genotypes as
    .bed (--ld-bfile and --bfile), .pgen, BGEN ({chr} template) and VCF give the same tables;
    --keep/--extract apply to the panel."""
    import subprocess

    _proxy_panel(tmp_path)
    d = tmp_path
    run = (lambda *a: subprocess.run(["plink2", "--threads", "1", "--bfile", "panel", *map(str, a)], cwd=d,
                                     check=True, capture_output=True))
    run("--make-pgen", "--out", "panel2")
    run("--export", "bgen-1.2", "bits=8", "ref-first", "--out", "panel_chr1")   # BGEN: A1 stays the 2nd allele
    run("--export", "vcf", "bgz", "--out", "panel")
    clumped = pd.DataFrame({"variant_id": ["t1", "p1", "t2", "f1"], "chromosome": "1",
                            "base_pair_location": [1000, 2000, 50000, 10_000_000],
                            "effect_allele": ["A", "C", "G", "A"], "other_allele": ["G", "T", "A", "C"],
                            "beta": [0.2, 0.19, 0.15, 0.1],
                            "standard_error": 0.01, "p_value": [1e-80, 1e-70, 1e-40, 1e-30],
                            "effect_allele_frequency": 0.3, "n": 5000})
    clumped.to_csv(d / "full.tsv", sep="\t", index=False)
    noisy = clumped["beta"] * 0.3 + [0.002, -0.001, -0.003, 0.001]
    clumped.assign(beta=noisy, standard_error=0.02, p_value=0.01).to_csv(d / "full_o.tsv", sep="\t", index=False)
    panels = {"ld-bfile": ["--ld-bfile", d / "panel"], "bfile": ["--bfile", d / "panel"],
              "pfile": ["--pfile", d / "panel2"], "bgen": ["--bgen", d / "panel_chr{chr}.bgen", "--sample",
                                                        d / "panel_chr1.sample"],
              "vcf": ["--vcf", d / "panel.vcf.gz"]}
    common = ["--no-plots", "--nboot", 50, "--presso-sims", 0]
    got = {}
    for name, opts in panels.items():
        r1 = _run(["--exposure", d / "e.tsv", "--outcome", d / "o.tsv", "--out", d / f"p_{name}", "--proxies",
                   *opts, *common])
        r2 = _run(["--exposure", d / "full.tsv", "--outcome", d / "full_o.tsv", "--out", d / f"c_{name}", "--clump",
                   "--p-threshold", 5e-8, "--clump-r2", 0.01, "--clump-kb", 1000, *opts, *common])
        assert r1.exit_code == 0 and r2.exit_code == 0, name + r1.output + r2.output
        got[name] = [pd.read_csv(d / f"{k}_{name}" / f, sep="\t") for k in "pc" for f in ("harmonised.tsv",
                                                                                         "mr_results.tsv")]
    h = got["bfile"][0].set_index("SNP")
    assert h.at["t1", "proxy_snp.outcome"] == "p1" and h.at["t2", "proxy_snp.outcome"] == "p2"
    assert sorted(got["bfile"][2]["SNP"]) == ["f1", "t1", "t2"]      # p1 clumped with the stronger t1
    for name in panels:
        for a, b in zip(got[name], got["bfile"]):
            pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12)
    man = json.loads((d / "p_pfile" / "manifest.json").read_text())
    assert man["parameters"]["ld_bfile"] == f"--pfile {d / 'panel2'}"
    # --keep and --extract shape the panel: without p1 in it, t1 gets no proxy
    (d / "extract.txt").write_text("t1\nt2\np2\nf1\n")
    fam = pd.read_csv(d / "panel.fam", sep=r"\s+", header=None)
    (d / "keep.txt").write_text("\n".join(fam[1].astype(str)[:300]) + "\n")
    r = _run(["--exposure", d / "e.tsv", "--outcome", d / "o.tsv", "--out", d / "p_sel", "--proxies", "--pfile",
              d / "panel2", "--extract", d / "extract.txt", "--keep", d / "keep.txt", *common])
    assert r.exit_code == 0, r.output
    h = pd.read_csv(d / "p_sel" / "harmonised.tsv", sep="\t").set_index("SNP")
    assert h.at["t1", "reason"] == "missing_in_outcome" and h.at["t2", "proxy_snp.outcome"] == "p2"
    from edfgen.commands import run     # `edfgen run`'s [mr] section: the same filters on ld_bfile
    from edfgen.commands.mr import MROptions

    run(MROptions(ld_bfile=str(d / "panel"), extract=str(d / "extract.txt"), keep_ids=str(d / "keep.txt"), proxies=True,
                  clump=False,
                  plots=False, nboot=50, presso_sims=0, exposure=(d / "e.tsv",), outcome=(d / "o.tsv",),
                  out=d / "p_stage"))
    for f in ("harmonised.tsv", "mr_results.tsv"):
        pd.testing.assert_frame_equal(pd.read_csv(d / "p_stage" / f, sep="\t"), pd.read_csv(d / "p_sel" / f, sep="\t"))


def test_mr_cli__per_chromosome_sumstats_are_one_phenotype(fx, tmp_path):
    """Exposure and outcome split by chromosome (one directory of y_chrN files; two directories
    holding the same file name) give the MR tables of the whole files; a variant in two of one
    phenotype's files is a one-line input error naming both."""
    raw = pd.read_csv(fx[0])
    exp = _ssf(raw, "exposure").assign(chromosome=raw["chr.exposure"].astype(str))
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    out = out.assign(chromosome=out["variant_id"].map(exp.set_index("variant_id")["chromosome"]).fillna("1"))
    # the whole files in the order the split files are read (file names sorted: chr1, chr10, chr11, ..., chr2)
    exp = exp.sort_values("chromosome", key=lambda c: c.map(lambda x: f"bmi_chr{x}.tsv"), kind="stable")
    exp.to_csv(tmp_path / "bmi.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    (tmp_path / "e").mkdir()
    for c, part in exp.groupby("chromosome"):
        part.to_csv(tmp_path / "e" / f"bmi_chr{c}.tsv", sep="\t", index=False)
    low = out["chromosome"].astype(int) <= 5
    for k, part in (("o1", out[low]), ("o2", out[~low])):
        (tmp_path / k).mkdir()
        part.to_csv(tmp_path / k / "chd.tsv", sep="\t", index=False)
    common = ["--no-plots", "--nboot", 100, "--presso-sims", 50, "--seed", 4]
    r1 = _run(["--exposure", tmp_path / "bmi.tsv", "--outcome", tmp_path / "chd.tsv", "--out", tmp_path / "w", *common])
    r2 = _run(["--exposure", tmp_path / "e", "--outcome", tmp_path / "o1", "--outcome", tmp_path / "o2",
               "--out", tmp_path / "s", *common])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    assert exp["chromosome"].nunique() > 10
    for f in ("harmonised.tsv", *(f"{t}.tsv" for t in TABLES)):
        a, b = (pd.read_csv(tmp_path / k / f, sep="\t") for k in "ws")
        assert len(a) or f == "mr_presso.tsv"
        pd.testing.assert_frame_equal(a, b)
    res = pd.read_csv(tmp_path / "s" / "mr_results.tsv", sep="\t")
    assert set(zip(res["exposure"], res["outcome"])) == {("bmi", "chd")}
    # the whole outcome file beside its chromosomes 1-5: those variants appear twice
    r = CliRunner().invoke(cli, ["mr", "--no-clump", "--exposure", str(tmp_path / "e"), "--outcome", str(tmp_path / "o1"),
                                 "--outcome", str(tmp_path / "chd.tsv"), "--out", str(tmp_path / "x"),
                                 *map(str, common)])
    assert r.exit_code == 2
    err = _errors(r.output)
    assert len(err) == 1 and "appears twice" in err[0] and str(tmp_path / "o1" / "chd.tsv") in err[0] \
        and str(tmp_path / "chd.tsv") in err[0]


def test_mr_cli__a_folder_of_per_chromosome_gwas_folders_is_read_as_exposure_and_as_outcome(fx, tmp_path):
    """s34d finding 3: `--exposure gwas/` and `--outcome gwas/` holding one `edfgen gwas --chr N` output folder per
    chromosome (gwas/chr1/bmi.tsv ...) were refused ("only folders, which are not searched"). A folder without
    summary statistics of its own is now searched one level down, for both options: the TwoSampleMR fixture split
    so gives the whole files' tables (IVW 0.4459, TwoSampleMR's); an unfinished sub-folder is refused; a folder
    with nothing readable is one line."""
    from edfgen.commands.mr import MRSettings, run_mr

    raw = pd.read_csv(fx[0])
    exp = _ssf(raw, "exposure").assign(chromosome=raw["chr.exposure"].astype(str))
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    out = out.assign(chromosome=out["variant_id"].map(exp.set_index("variant_id")["chromosome"]).fillna("1"))
    exp.to_csv(tmp_path / "bmi.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    for side, df, name in (("e", exp, "bmi"), ("o", out, "chd")):
        for c, part in df.groupby("chromosome"):
            d = tmp_path / side / f"chr{c}"
            (d / "plots").mkdir(parents=True)     # as edfgen gwas writes it, with its other tables
            part.to_csv(d / f"{name}.tsv", sep="\t", index=False)
            pd.DataFrame({"phenotype": [name], "n": [1]}).to_csv(d / "gwas_summary.tsv", sep="\t", index=False)
        (tmp_path / side / "README.txt").write_text("one edfgen gwas --chr N run per folder")
    settings = MRSettings(nboot=20, presso=False)
    whole = run_mr(tmp_path / "bmi.tsv", tmp_path / "chd.tsv", None, settings=settings, clump=False, plots=False)
    split = run_mr(tmp_path / "e", tmp_path / "o", None, settings=settings, clump=False, plots=False)
    a, b = (r.tables["mr_results"].set_index("method") for r in (whole, split))
    assert exp["chromosome"].nunique() > 10 and a.at["Inverse variance weighted", "nsnp"] == 79
    assert b.at["Inverse variance weighted", "b"] == pytest.approx(0.4459, abs=1e-3)
    for m in ("Inverse variance weighted", "MR Egger"):
        cols = ["b", "se", "pval"]
        np.testing.assert_allclose(b.loc[m, cols].astype(float), a.loc[m, cols].astype(float), rtol=1e-10)
    assert sorted(split.harmonised["variant_id"]) == sorted(whole.harmonised["variant_id"])
    assert set(split.harmonised["exposure"]) == {"bmi"} and set(split.harmonised["outcome"]) == {"chd"}
    # a sub-folder whose gwas run did not finish is refused as the folder itself would be (house rule)
    (tmp_path / "e" / "chr2" / "manifest.json").write_text('{"command": "edfgen gwas", "finished": false}')
    r = _run(["--exposure", tmp_path / "e", "--outcome", tmp_path / "o", "--out", tmp_path / "u", "--no-plots"])
    assert r.exit_code == 2 and _errors(r.output) == [
        f"edfgen mr: error: --exposure {tmp_path / 'e'}: 'edfgen gwas' did not finish writing {tmp_path / 'e' / 'chr2'} "
        f"({tmp_path / 'e' / 'chr2' / 'manifest.json'} is still in progress, started ?: the command was stopped and "
        "some outputs may be missing); rerun that command, or pass --allow-incomplete to use what it wrote"]
    (tmp_path / "e" / "chr2" / "manifest.json").unlink()
    (tmp_path / "empty" / "chr1").mkdir(parents=True)
    (tmp_path / "empty" / "chr1" / "notes.tsv").write_text("a\tb\n1\t2\n")
    r = _run(["--exposure", tmp_path / "e", "--outcome", tmp_path / "empty", "--out", tmp_path / "x", "--no-plots"])
    assert r.exit_code == 2 and len(_errors(r.output)) == 1
    assert _errors(r.output)[0].startswith(f"edfgen mr: error: --outcome {tmp_path / 'empty'}: directory and its "
                                           "sub-folders (chr1) hold no summary-statistics files (no columns for variant_id")


def test_mr_cli__coloc_pp4_without_coloc_is_one_line_error(fx, tmp_path):
    """``--coloc-pp4`` filters by a coloc.tsv that only ``--coloc`` names: refused before anything is read,
    from the CLI, the library call and a pipeline's ``[mr]`` section (whose coloc stage runs after mr)."""
    from edfgen.commands.mr import run_mr
    from edfgen.exceptions import ConfigError, InputError
    from edfgen.pipeline_config import config_from_dict

    r = _run(["--exposure", fx[0], "--outcome", fx[1], "--coloc-pp4", "0.8", "--out", tmp_path / "o"])
    err = _errors(r.output)
    assert r.exit_code == 2 and len(err) == 1 and "--coloc-pp4 0.8 needs --coloc FILE" in err[0], r.output
    assert not (tmp_path / "o").exists()
    with pytest.raises(InputError, match="needs --coloc FILE"):
        run_mr(fx[0], fx[1], tmp_path / "o", coloc_pp4=0.8)
    with pytest.raises(ConfigError, match=r"\[mr\] --coloc-pp4 0.8 needs --coloc FILE"):
        config_from_dict({"run": {"out": str(tmp_path / "run")}, "mr": {"coloc_pp4": 0.8}})


def test_mr_cli__coloc_pp4_that_no_locus_passes_gives_empty_tables_and_a_warning(fx, tmp_path):
    """No locus of --coloc passes --coloc-pp4 (the README's example on a null cohort): was a KeyError traceback
    after a headerless harmonised.tsv; now exit 0, a warning naming the file and every table with its header."""
    coloc = tmp_path / "coloc.tsv"
    pd.DataFrame({"trait_1": ["twosamplemr_test_commondata_exp_dat"], "trait_2": ["twosamplemr_test_commondata_out_dat"],
                  "pp_h4": [0.3], "top_variant": ["rs1"]}).to_csv(coloc, sep="\t", index=False)
    r = _run(["--exposure", fx[0], "--outcome", fx[1], "--coloc", coloc, "--coloc-pp4", "0.8", "--out",
              tmp_path / "o", "--no-plots"])
    assert r.exit_code == 0, r.output
    assert "no exposure-outcome pair has a locus with PP.H4 >= 0.8" in r.output and str(coloc) in r.output
    for fname, entry in ENTRIES.items():
        check_file(entry, tmp_path / "o" / fname)
        assert pd.read_csv(tmp_path / "o" / fname, sep="\t").empty
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["extra"]["pairs_without_coloc"]


def test_mr_cli__gwas_vcf_exposure_and_outcome_as_opengwas_ships_them(fx, tmp_path):
    """The fixture's two IEU OpenGWAS studies (ieu-a-2 BMI, ieu-a-7 CHD) as the GWAS-VCF files OpenGWAS
    distributes (ALT = effect allele, LP = -log10 p; the outcome without SS): TwoSampleMR's values, and the same
    results as from the CSV files (was: a .vcf.gz was read as a plain table and refused)."""
    from gwasvcf_writer import write_gwas_vcf

    exp, out = pd.read_csv(fx[0]), pd.read_csv(fx[1])
    as_ssf = {"exposure": exp.rename(columns={"chr.exposure": "chromosome", "pos.exposure": "base_pair_location",
                                              "SNP": "variant_id", "effect_allele.exposure": "effect_allele",
                                              "other_allele.exposure": "other_allele", "beta.exposure": "beta",
                                              "se.exposure": "standard_error", "pval.exposure": "p_value",
                                              "eaf.exposure": "effect_allele_frequency", "samplesize.exposure": "n"}),
              "outcome": out.rename(columns={"chr": "chromosome", "pos": "base_pair_location", "SNP": "variant_id",
                                             "effect_allele.outcome": "effect_allele",
                                             "other_allele.outcome": "other_allele", "beta.outcome": "beta",
                                             "se.outcome": "standard_error", "pval.outcome": "p_value",
                                             "eaf.outcome": "effect_allele_frequency", "samplesize.outcome": "n"})}
    write_gwas_vcf(tmp_path / "ieu-a-2.vcf.gz", as_ssf["exposure"], "IEU-a-2")
    # CHD, case-control: no per-row SS, the totals on the ##SAMPLE line (ieu-a-7: 60,801 cases, 123,504 controls)
    write_gwas_vcf(tmp_path / "ieu-a-7.vcf", as_ssf["outcome"], "IEU-a-7", sample_size=False, study_id=True,
                   cases=60801, controls=123504)
    r = _run(["--exposure", tmp_path / "ieu-a-2.vcf.gz", "--outcome", tmp_path / "ieu-a-7.vcf", "--out",
              tmp_path / "vcf", "--nboot", 200, "--presso-sims", 50, "--seed", 3, "--no-plots"])
    assert r.exit_code == 0, r.output
    res = pd.read_csv(tmp_path / "vcf" / "mr_results.tsv", sep="\t")
    assert set(res["exposure"]) == {"ieu-a-2"} and set(res["outcome"]) == {"ieu-a-7"}
    b = res.set_index("method")["b"]
    assert b["Inverse variance weighted"] == pytest.approx(0.4459, abs=1e-3)
    assert b["MR Egger"] == pytest.approx(0.5025, abs=1e-3)
    assert b["Weighted median"] == pytest.approx(0.3870, abs=1e-3)
    r = _run(["--exposure", fx[0], "--outcome", fx[1], "--out", tmp_path / "csv", "--nboot", 200, "--presso-sims",
              50, "--seed", 3, "--no-plots"])
    ref = pd.read_csv(tmp_path / "csv" / "mr_results.tsv", sep="\t")
    # the bootstrap SEs are seeded by --seed and the pair's names (which differ here): the rest is identical
    fixed = ~res["method"].str.contains("median|mode|PRESSO").to_numpy()
    np.testing.assert_allclose(res["b"].to_numpy()[fixed], ref["b"].to_numpy()[fixed], rtol=1e-9)
    np.testing.assert_allclose(res[["se", "pval"]].to_numpy()[fixed], ref[["se", "pval"]].to_numpy()[fixed], rtol=1e-9)
    np.testing.assert_allclose(res["b"].to_numpy()[~fixed & ~res["method"].str.contains("PRESSO").to_numpy()],
                               ref["b"].to_numpy()[~fixed & ~ref["method"].str.contains("PRESSO").to_numpy()], rtol=1e-9)
    h = pd.read_csv(tmp_path / "vcf" / "harmonised.tsv", sep="\t")
    assert len(h) == 79 and (h["samplesize.outcome"] == 184305).all()
    assert (h["samplesize.outcome"] == pd.read_csv(tmp_path / "csv" / "harmonised.tsv", sep="\t")["samplesize.outcome"]).all()


def test_mr_cli__multi_allelic_sites_one_row_per_alt_are_matched_by_alleles(fx, tmp_path):
    """GWAS-VCF stores a multi-allelic site as one row per ALT allele under one ID (specification section 3).
    Was: MR refused the whole file ('variant ... appears on rows 1, 2'). Now the outcome row with the exposure's
    alleles is used (before or after the other allele's row), an exposure site's strongest allele is its
    instrument, and the results equal the fixture's (TwoSampleMR's IVW 0.4459, 79 SNPs); the same variant with the
    same alleles twice and other values (here on the other strand) leaves that instrument out, duplicated_in_outcome."""
    from gwasvcf_writer import write_gwas_vcf

    exp, out = pd.read_csv(fx[0]), pd.read_csv(fx[1])
    e = exp.rename(columns={"chr.exposure": "chromosome", "pos.exposure": "base_pair_location", "SNP": "variant_id",
                            "effect_allele.exposure": "effect_allele", "other_allele.exposure": "other_allele",
                            "beta.exposure": "beta", "se.exposure": "standard_error", "pval.exposure": "p_value",
                            "eaf.exposure": "effect_allele_frequency", "samplesize.exposure": "n"})
    o = out.rename(columns={"chr": "chromosome", "pos": "base_pair_location", "SNP": "variant_id",
                            "effect_allele.outcome": "effect_allele", "other_allele.outcome": "other_allele",
                            "beta.outcome": "beta", "se.outcome": "standard_error", "pval.outcome": "p_value",
                            "eaf.outcome": "effect_allele_frequency", "samplesize.outcome": "n"})
    other = {"A": "C", "C": "G", "G": "T", "T": "A"}

    def second_alt(rows, p_scale):   # the same site with another ALT allele (not the exposure's pair)
        extra = rows.copy()
        extra["effect_allele"] = [other[a] if other[a] != b else other[other[a]]
                                  for a, b in zip(rows["effect_allele"], rows["other_allele"])]
        extra["beta"] = rows["beta"] * -3.0
        extra["p_value"] = np.minimum(rows["p_value"] * p_scale, 1.0)
        return extra

    o_multi = pd.concat([second_alt(o.iloc[:5], 1.0), o, second_alt(o.iloc[5:10], 1.0)], ignore_index=True)
    e_multi = pd.concat([e, second_alt(e.iloc[:4], 1e3)], ignore_index=True)
    write_gwas_vcf(tmp_path / "ieu-a-2.vcf.gz", e_multi, "IEU-a-2")
    write_gwas_vcf(tmp_path / "ieu-a-7.vcf.gz", o_multi, "IEU-a-7")
    r = _run(["--exposure", tmp_path / "ieu-a-2.vcf.gz", "--outcome", tmp_path / "ieu-a-7.vcf.gz", "--out",
              tmp_path / "o", "--nboot", 100, "--presso-sims", 50, "--seed", 3, "--no-plots"])
    assert r.exit_code == 0, r.output
    res = pd.read_csv(tmp_path / "o" / "mr_results.tsv", sep="\t").set_index("method")
    assert res.at["Inverse variance weighted", "b"] == pytest.approx(0.4459, abs=1e-3)
    assert res.at["Inverse variance weighted", "nsnp"] == 79
    h = pd.read_csv(tmp_path / "o" / "harmonised.tsv", sep="\t").set_index("SNP")
    np.testing.assert_allclose(h.loc[o["variant_id"].iloc[:10], "beta.outcome"].abs(),
                               o["beta"].iloc[:10].abs().to_numpy(), rtol=1e-9)
    comp = str.maketrans("ACGT", "TGCA")      # the same repeat written on the other strand is still a repeat:
    strand = o.iloc[:1].assign(effect_allele=o["effect_allele"].iloc[0].translate(comp),   # never one row picked
                               other_allele=o["other_allele"].iloc[0].translate(comp), beta=o["beta"].iloc[0] * 2)
    write_gwas_vcf(tmp_path / "rep2.vcf", pd.concat([o, strand], ignore_index=True), "IEU-a-7")
    r = _run(["--exposure", fx[0], "--outcome", tmp_path / "rep2.vcf", "--out", tmp_path / "o3", "--no-plots"])
    assert r.exit_code == 0, r.output
    h = pd.read_csv(tmp_path / "o3" / "harmonised.tsv", sep="\t").set_index("SNP")
    assert h.at[o["variant_id"].iloc[0], "reason"] == "duplicated_in_outcome" and (h["reason"] == "kept").sum() == 78


def test_mr_cli__odds_ratios_without_case_counts_and_an_unused_prevalence_are_warned(fx, tmp_path):
    """An odds-ratio outcome without case/control counts was silently treated as continuous and --prevalence
    silently ignored (review finding; the README said binary traits need n_cases *or* --prevalence)."""
    import numpy as np

    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    exp.to_csv(tmp_path / "bmi.tsv", sep="\t", index=False)
    orr = out.assign(odds_ratio=np.exp(out["beta"])).drop(columns="beta")
    orr.to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    r = _run(["--exposure", tmp_path / "bmi.tsv", "--outcome", tmp_path / "chd.tsv", "--out", tmp_path / "a",
              "--no-plots", "--nboot", 50, "--presso-sims", 0, "--prevalence", 0.05])
    assert r.exit_code == 0, r.output
    assert "effects are log odds ratios but the file gives no case/control counts" in r.output
    assert "--prevalence 0.05 is not used" in r.output
    st = pd.read_csv(tmp_path / "a" / "mr_steiger.tsv", sep="\t").iloc[0]
    assert st["r2_source.outcome"] == "p_n"
    orr.assign(n_cases=60801).to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    r = _run(["--exposure", tmp_path / "bmi.tsv", "--outcome", tmp_path / "chd.tsv", "--out", tmp_path / "b",
              "--no-plots", "--nboot", 50, "--presso-sims", 0, "--prevalence", 0.05])
    assert r.exit_code == 0 and "log odds ratios" not in r.output and "is not used" not in r.output, r.output
    assert pd.read_csv(tmp_path / "b" / "mr_steiger.tsv", sep="\t").iloc[0]["r2_source.outcome"] == "lor_liability"
    # a quantitative outcome whose odds_ratio column is all NA, as GWAS Catalog harmonised files carry
    # hm_odds_ratio beside hm_beta, is not log odds (s35d: warned for every such .h.tsv.gz)
    out.assign(odds_ratio=np.nan).to_csv(tmp_path / "ht.tsv", sep="\t", index=False, na_rep="NA")
    r = _run(["--exposure", tmp_path / "bmi.tsv", "--outcome", tmp_path / "ht.tsv", "--out", tmp_path / "c",
              "--no-plots", "--nboot", 50, "--presso-sims", 0])
    assert r.exit_code == 0 and "log odds ratios" not in r.output, r.output


def test_mr_cli__sample_size_fills_n_of_files_without_it_for_steiger(fx, tmp_path):
    """A BOLT-LMM / REGENIE-without-N / FinnGen file has no n: mr had no --sample-size (ldsc, finemap and coloc
    have it), so Steiger was NA ('missing_n') for the same numbers that gave it from GWAS-SSF (s35d). With
    --sample-size FILE=N both files give the Steiger of the files with n; an n of its own wins."""
    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    ne, no = 339224, 184305      # one N per file, as --sample-size gives
    exp.assign(n=ne).to_csv(tmp_path / "e.tsv", sep="\t", index=False)
    out.assign(n=no).to_csv(tmp_path / "o.tsv", sep="\t", index=False)
    (tmp_path / "non").mkdir()
    exp.drop(columns="n").to_csv(tmp_path / "non" / "e.tsv", sep="\t", index=False)
    out.drop(columns="n").to_csv(tmp_path / "non" / "o.tsv", sep="\t", index=False)
    common = ["--no-plots", "--nboot", 50, "--presso-sims", 0]
    r = _run(["--exposure", tmp_path / "e.tsv", "--outcome", tmp_path / "o.tsv", "--out", tmp_path / "a", *common])
    assert r.exit_code == 0, r.output
    r = _run(["--exposure", tmp_path / "non" / "e.tsv", "--outcome", tmp_path / "non" / "o.tsv", "--out",
              tmp_path / "b", "--sample-size", f"{tmp_path / 'non' / 'e.tsv'}={ne}",
              "--sample-size", f"{tmp_path / 'non' / 'o.tsv'}={no}", *common])
    assert r.exit_code == 0, r.output
    want, got = (pd.read_csv(tmp_path / d / "mr_steiger.tsv", sep="\t") for d in ("a", "b"))
    assert want["r2_source.outcome"].iloc[0] == "p_n"
    pd.testing.assert_frame_equal(got, want)
    r = _run(["--exposure", tmp_path / "e.tsv", "--outcome", tmp_path / "non" / "o.tsv", "--out", tmp_path / "c",
              "--sample-size", f"{tmp_path / 'x.tsv'}=5", *common])
    assert r.exit_code != 0 and "--sample-size" in r.output and "not one of the summary-statistics files" in r.output


def test_mr_cli__primary_estimates_corrected_as_one_family_and_always_run(fx, tmp_path):
    """Bonferroni/BH were per method: a 1-instrument pair (Wald ratio) was corrected only among the other
    1-instrument pairs, so mr_results.tsv and the report's significance disagreed (review finding). IVW and the
    Wald ratio are one family over all pairs; --methods without them still runs each pair's primary estimate
    (the report said 'no pair was tested')."""
    from edfgen.report_mr import mr_pair_table

    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    ed = tmp_path / "exp"
    ed.mkdir()
    exp.to_csv(ed / "bmi.tsv", sep="\t", index=False)
    exp.sort_values("p_value").head(1).to_csv(ed / "one.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    r = _run(["--exposure", ed, "--outcome", tmp_path / "chd.tsv", "--out", tmp_path / "a", "--no-plots",
              "--nboot", 50, "--presso-sims", 0, "--methods", "egger,weighted_median"])
    assert r.exit_code == 0, r.output
    res = pd.read_csv(tmp_path / "a" / "mr_results.tsv", sep="\t")
    prim = res[res["method"].isin(["Inverse variance weighted", "Wald ratio"])].set_index("exposure")
    assert sorted(prim["method"]) == ["Inverse variance weighted", "Wald ratio"]
    for e in ("bmi", "one"):
        assert prim.at[e, "p_bonferroni"] == pytest.approx(min(1.0, 2 * prim.at[e, "pval"]), rel=1e-6)
    egger = res[res["method"] == "MR Egger"]
    assert len(egger) == 1 and egger["p_bonferroni"].iloc[0] == pytest.approx(egger["pval"].iloc[0], rel=1e-6)
    t = mr_pair_table(tmp_path / "a").set_index("exposure")
    for e in ("bmi", "one"):
        assert bool(t.at[e, "significant"]) == bool(prim.at[e, "p_bonferroni"] < 0.05)


def test_mr_cli__a_pair_gives_the_same_numbers_alone_and_inside_a_matrix(fx, tmp_path):
    """One generator was shared across pairs: a pair's weighted-median SE (and MR-PRESSO p) changed with the
    other pairs, their order and the methods run (review finding: 0.08260 alone, 0.08106 second in a matrix).
    Each pair's random parts are seeded by --seed and the names."""
    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    ed, od = tmp_path / "exp", tmp_path / "out"
    ed.mkdir(), od.mkdir()
    exp.to_csv(ed / "bmi.tsv", sep="\t", index=False)
    exp.assign(beta=exp["beta"] * 1.1).to_csv(ed / "abmi.tsv", sep="\t", index=False)   # sorts first
    out.to_csv(od / "chd.tsv", sep="\t", index=False)
    out.assign(beta=out["beta"] * 0.9).to_csv(od / "achd.tsv", sep="\t", index=False)
    opts = ["--no-plots", "--nboot", 200, "--presso-sims", 50, "--seed", 3]
    r = _run(["--exposure", ed, "--outcome", od, "--out", tmp_path / "all", *opts])
    assert r.exit_code == 0, r.output
    r = _run(["--exposure", ed / "bmi.tsv", "--outcome", od / "chd.tsv", "--out", tmp_path / "one", *opts,
              "--methods", "ivw,weighted_median"])
    assert r.exit_code == 0, r.output
    key = ["exposure", "outcome", "method"]
    both = pd.read_csv(tmp_path / "all" / "mr_results.tsv", sep="\t").merge(
        pd.read_csv(tmp_path / "one" / "mr_results.tsv", sep="\t"), on=key, suffixes=("_all", "_one"))
    assert set(both["method"]) >= {"Weighted median", "MR-PRESSO (outlier-corrected)"}
    np.testing.assert_array_equal(both["se_all"], both["se_one"])
    np.testing.assert_array_equal(both["pval_all"], both["pval_one"])


def test_mr_cli__exposures_without_instruments_and_unestimated_pairs_are_warned(fx, tmp_path):
    """An exposure with no instruments appeared in no table with only an INFO line, and a pair whose only
    instrument was dropped in harmonisation (an ambiguous palindrome) vanished without a word (review finding):
    both are warned about and listed in the manifest."""
    import json

    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    ed = tmp_path / "exp"
    ed.mkdir()
    exp.to_csv(ed / "bmi.tsv", sep="\t", index=False)
    exp.assign(p_value=0.5).to_csv(ed / "none.tsv", sep="\t", index=False)
    pal = {"variant_id": "rsPAL", "effect_allele": "A", "other_allele": "T", "beta": 0.05, "standard_error": 0.005,
           "p_value": 1e-20, "effect_allele_frequency": 0.49, "n": 300000}
    pd.DataFrame([pal]).to_csv(ed / "pal.tsv", sep="\t", index=False)
    pd.concat([out, pd.DataFrame([{**pal, "beta": 0.01, "p_value": 0.1, "n": 184305}])]).to_csv(
        tmp_path / "chd.tsv", sep="\t", index=False)
    r = _run(["--exposure", ed, "--outcome", tmp_path / "chd.tsv", "--out", tmp_path / "a", "--no-plots",
              "--nboot", 50, "--presso-sims", 0])
    assert r.exit_code == 0, r.output
    assert "1 of 3 exposures have no instruments and appear in no result table: none" in r.output
    assert "1 exposure-outcome pair(s) kept no instrument" in r.output and "pal -> chd (palindromic" in r.output
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["extra"]["exposures_without_instruments"] == ["none"]
    assert man["extra"]["pairs_not_estimated"][0].startswith("pal -> chd (palindromic")


def test_mr_cli__reverse_without_instruments_names_the_outcome_files(fx, tmp_path):
    """Under --reverse the instruments come from the --outcome files; their absence was blamed on --exposure."""
    exp = _ssf(pd.read_csv(fx[0]), "exposure")
    out = _ssf(pd.read_csv(fx[1]), "outcome")
    exp.to_csv(tmp_path / "a.tsv", sep="\t", index=False)
    out.assign(p_value=0.5).to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    r = _run(["--exposure", tmp_path / "a.tsv", "--outcome", tmp_path / "b.tsv", "--out", tmp_path / "r",
              "--reverse", "--no-plots", "--nboot", 50, "--presso-sims", 0])
    assert r.exit_code == 2 and f"--outcome {tmp_path / 'b.tsv'}: no instruments selected" in r.output, r.output


def test_mr_cli__a_harmonised_table_gives_the_trait_of_the_option_it_is_given_with(fx, shared_data, tmp_path):
    """A harmonised dat given as --outcome was read from its .exposure columns (IVW = Egger = WM = 1); as
    --exposure it gives the fixture's numbers, and with --reverse each file keeps its option's trait
    (review s30a finding 1)."""
    dat = shared_data / "mr" / "twosamplemr_test_commondata_dat.csv"
    args = ["--no-plots", "--nboot", 50, "--presso-sims", 0]
    for name, exp, out in (("as_outcome", fx[0], dat), ("as_exposure", dat, fx[1]), ("both", dat, dat)):
        r = _run(["--exposure", exp, "--outcome", out, "--out", tmp_path / name, *args])
        assert r.exit_code == 0, r.output
        res = pd.read_csv(tmp_path / name / "mr_results.tsv", sep="\t").set_index("method")
        assert res.at["Inverse variance weighted", "b"] == pytest.approx(0.4459, abs=1e-3), name
        assert res.at["Weighted median", "b"] == pytest.approx(0.3870, abs=1e-3), name
    r = _run(["--exposure", dat, "--outcome", dat, "--out", tmp_path / "rev", "--reverse", "--p-threshold", 1, *args])
    h = pd.read_csv(tmp_path / "rev" / "harmonised.tsv", sep="\t").set_index("SNP")
    d = pd.read_csv(dat).set_index("SNP").loc[h.index]
    np.testing.assert_allclose(h["beta.exposure"].abs(), d["beta.outcome"].abs())   # instruments: the outcome trait
    np.testing.assert_allclose(h["se.outcome"], d["se.exposure"])


def test_mr_cli__exposure_row_order_changes_no_estimate_or_bootstrap_se(fx, tmp_path):
    """The same instruments in another row order give the same numbers, the bootstrap SEs of the medians and
    modes included: instruments are taken in variant-id order (TwoSampleMR's merge order), not the file's, so
    the seeded draws index the same instruments (s36b: a shuffled file moved a weighted-median p 3e-6 -> 4e-7)."""
    shuffled = tmp_path / "shuffled" / fx[0].name        # the same name: the pair's seed is drawn from it
    shuffled.parent.mkdir()
    pd.read_csv(fx[0]).sample(frac=1, random_state=7).to_csv(shuffled, index=False)
    common = ["--outcome", fx[1], "--nboot", 50, "--presso-sims", 50, "--no-plots"]
    for exposure, out in ((fx[0], "a"), (shuffled, "b")):
        r = _run(["--exposure", exposure, "--out", tmp_path / out, *common])
        assert r.exit_code == 0, r.output
    for table in ("mr_results", "mr_leaveoneout", "mr_presso", "harmonised"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "a" / f"{table}.tsv", sep="\t"),
                                      pd.read_csv(tmp_path / "b" / f"{table}.tsv", sep="\t"))


def test_mr_cli__an_exposure_fifo_gives_the_results_of_the_file(tmp_path, fed_fifo):
    """`mr --exposure <(zcat exposure.tsv.gz)` waited for ever (stop 39 matrix, benchmarks/results/
    fuzz_cli_matrix.md): the header was read from the FIFO, then the rows opened it again with no writer left.
    A stream is now read once per command (textio._STREAM_TEXT); its results are the file's."""
    from test_bad_input import _mr_pair

    exp, out = _mr_pair(np.random.default_rng(5))
    exp.to_csv(tmp_path / "exposure.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "outcome.tsv", sep="\t", index=False)
    fifo, within = fed_fifo("qt.tsv", (tmp_path / "exposure.tsv").read_bytes())
    (tmp_path / "plain").mkdir()                        # the same name: the bootstrap's seed follows the pair's name
    shutil.copy(tmp_path / "exposure.tsv", tmp_path / "plain" / "qt.tsv")
    common = ["mr", "--no-clump", "--outcome", str(tmp_path / "outcome.tsv"), "--nboot", "10", "--presso-sims", "0",
              "--no-plots"]
    results = []
    for name, exposure in (("fifo", fifo), ("file", tmp_path / "plain" / "qt.tsv")):
        r = within(60, lambda: CliRunner().invoke(cli, [*common, "--exposure", str(exposure), "--out",
                                                        str(tmp_path / name)]))
        assert r.exit_code == 0, r.output
        results.append(pd.read_csv(tmp_path / name / "mr_results.tsv", sep="\t"))
    assert len(results[0]) >= 3
    pd.testing.assert_frame_equal(results[0], results[1])


def test_mr_cli__manifest_records_the_declared_genome_builds(tmp_path):
    """User read s40: the MR manifest said which options ran but not the genome build of the exposure and outcome
    files (a methods section's line; mr matches builds by position only when they agree)."""
    from test_coloc import _small_coloc_inputs

    _small_coloc_inputs(tmp_path)
    Path(f"{tmp_path / 'exp.tsv'}-meta.yaml").write_text("genome_assembly: GRCh38\n")
    Path(f"{tmp_path / 'out.tsv'}-meta.yaml").write_text("genome_assembly: hg38\n")
    (tmp_path / "keep.txt").write_text("S0001\nS0002\nS0003\n")
    r = _run(["--exposure", str(tmp_path / "exp.tsv"), "--outcome", str(tmp_path / "out.tsv"), "--bfile",
              str(tmp_path / "g"), "--remove", str(tmp_path / "keep.txt"), "--no-plots", "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    man = json.loads((tmp_path / "m" / "manifest.json").read_text())
    extra = man["extra"]
    assert extra["exposure_genome_assembly"] == "GRCh38" and extra["outcome_genome_assembly"] == "GRCh38"
    # the LD panel's filters and build (README: `--proxies --pfile ukb_panel --keep eur.txt`): were not recorded
    panel = man["parameters"]["genotypes"]
    assert panel["remove"] == str(tmp_path / "keep.txt") and panel["reference_genome"] == "GRCh38"


def test_manifest__an_unfiltered_ld_panel_records_its_build_or_undeclared(tmp_path):
    """s41safe #4: an LD panel given as a plain PLINK prefix (`run_mr(ld_bfile=prefix)` from Python; `clump
    --ld-bfile g` without filters) was recorded as {"bfile": prefix} alone: no genome build in the manifest. It now
    records the build the command takes its positions to be in, or 'undeclared' where none was given."""
    from test_coloc import _small_coloc_inputs

    from edfgen.commands.mr import run_mr

    _small_coloc_inputs(tmp_path)
    run_mr(tmp_path / "exp.tsv", tmp_path / "out.tsv", tmp_path / "m", ld_bfile=str(tmp_path / "g"), clump=False,
           plots=False)
    panel = json.loads((tmp_path / "m" / "manifest.json").read_text())["parameters"]["genotypes"]
    assert panel == {"bfile": str(tmp_path / "g"), "reference_genome": "undeclared"}, panel
    r = CliRunner().invoke(cli, ["clump", "--sumstats", str(tmp_path / "exp.tsv"), "--ld-bfile", str(tmp_path / "g"),
                                 "--reference-genome", "GRCh37", "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    panel = json.loads((tmp_path / "c" / "manifest.json").read_text())["parameters"]["genotypes"]
    assert panel == {"bfile": str(tmp_path / "g"), "reference_genome": "GRCh37"}, panel


#: hostile instruments added to the TwoSampleMR fixture: (id, exposure ea, oa, eaf, outcome ea, oa, eaf) and what
#: TwoSampleMR's harmonise_data (action 2, tolerance 0.08) gives: (sign of the outcome beta 0.05, mr_keep, reason)
HOSTILE_MR = [
    ("x1", "A", "G", 0.3, "t", "c", 0.3, 1, True, "kept"),                      # other strand, lower case
    ("x2", "A", "G", 0.3, "G", "A", 0.7, -1, True, "kept"),                     # alleles swapped
    ("x3", "A", "T", 0.45, "A", "T", 0.44, 1, False, "palindromic_ambiguous_maf"),
    ("x4", "A", "T", 0.42, "T", "A", 0.58, -1, False, "palindromic_ambiguous_maf"),  # 1 - 0.58 > 0.42 in doubles (R too)
    ("x5", "A", "T", 0.30, "A", "T", 0.70, -1, True, "kept"),                   # palindrome: strand by frequency
    ("x6", "I", "D", 0.3, "AT", "A", 0.3, 1, True, "kept"),                     # I/D against sequences
    ("x7", "D", "I", 0.3, "AT", "A", 0.3, -1, True, "kept"),
    ("x8", "C", "G", 0.2, None, None, None, 0, False, "missing_in_outcome"),
    ("x9", "C", "G", 0.2, "C", "G", np.nan, 1, False, "palindromic_ambiguous_maf"),   # eaf missing: 0.5
    ("x10", "C", "T", 0.2, "C", "T", np.nan, 1, True, "kept"),
    ("x11", "A", "T", np.nan, "A", "T", 0.1, 1, False, "palindromic_ambiguous_maf"),
    ("x12", "AT", "A", 0.3, "D", "I", 0.3, -1, True, "kept"),                   # sequences against D/I
    ("x13", "A", "G", 0.3, "A", "C", 0.3, 1, False, "incompatible_alleles"),
]


def test_mr_cli__twosamplemr_method_names_and_hostile_alleles_harmonised_as_twosamplemr(fx, tmp_path):
    """TwoSampleMR's method names (mr(method_list = c("mr_ivw", "mr_egger_regression"))) were refused as unknown;
    the instruments an outcome leaves out were counted only in total. Strand flips, case, I/D against sequences,
    palindromes at the 0.42 bound and without eaf give TwoSampleMR's harmonised values; IVW and Egger equal the
    closed forms on TwoSampleMR's own harmonised fixture plus the hand-worked rows (to 1e-9)."""
    e, o = pd.read_csv(fx[0]), pd.read_csv(fx[1])
    exp_rows, out_rows = [], []
    for i, (snp, ea, oa, eaf, ob1, ob2, ofr, *_rest) in enumerate(HOSTILE_MR):
        exp_rows.append(e.iloc[0].to_dict() | {"SNP": snp, "effect_allele.exposure": ea, "other_allele.exposure": oa,
                                               "eaf.exposure": eaf, "beta.exposure": 0.03, "pval.exposure": 1e-10,
                                               "chr.exposure": 23, "pos.exposure": 1000 + i})
        if ob1 is not None:
            out_rows.append(o.iloc[0].to_dict() | {"SNP": snp, "effect_allele.outcome": ob1, "other_allele.outcome": ob2,
                                                   "eaf.outcome": ofr, "beta.outcome": 0.05, "chr": 23, "pos": 1000 + i})
    pd.concat([e, pd.DataFrame(exp_rows)]).to_csv(tmp_path / "exp.csv", index=False)
    pd.concat([o, pd.DataFrame(out_rows)]).to_csv(tmp_path / "out.csv", index=False)
    r = _run(["--exposure", tmp_path / "exp.csv", "--outcome", tmp_path / "out.csv", "--out", tmp_path / "o",
              "--methods", "mr_ivw,mr_egger_regression", "--presso-sims", 0, "--no-plots"])
    assert r.exit_code == 0, r.output
    h = pd.read_csv(tmp_path / "o" / "harmonised.tsv", sep="\t").set_index("SNP")
    for snp, *_alleles, sign, keep, reason in HOSTILE_MR:
        assert (h.at[snp, "mr_keep"], h.at[snp, "reason"]) == (keep, reason), snp
        if sign:
            assert h.at[snp, "beta.outcome"] == pytest.approx(0.05 * sign), snp
    assert "exp -> out: 6 of 92 instruments not used (palindromic_ambiguous_maf 4, " in r.output
    ref = pd.read_csv(fx[1].parent / "twosamplemr_test_commondata_dat.csv")
    kept = [(0.03, 0.05 * s, o.at[0, "se.outcome"]) for _snp, *_a, s, k, _r in HOSTILE_MR if k]
    bx = np.r_[ref["beta.exposure"], [k[0] for k in kept]]
    by = np.r_[ref["beta.outcome"], [k[1] for k in kept]]
    w = 1 / np.r_[ref["se.outcome"], [k[2] for k in kept]] ** 2
    ivw = np.sum(w * bx * by) / np.sum(w * bx ** 2)
    s = np.sign(bx)
    X = np.column_stack([np.ones_like(bx), np.abs(bx)]) * np.sqrt(w)[:, None]
    egger = np.linalg.lstsq(X, by * s * np.sqrt(w), rcond=None)[0][1]
    res = pd.read_csv(tmp_path / "o" / "mr_results.tsv", sep="\t").set_index("method")
    assert res.at["Inverse variance weighted", "nsnp"] == 79 + len(kept)
    assert res.at["Inverse variance weighted", "b"] == pytest.approx(ivw, abs=1e-9)
    assert res.at["MR Egger", "b"] == pytest.approx(egger, abs=1e-9)
