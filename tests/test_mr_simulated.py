"""Simulated cohorts: MR detects the planted trait -> disease links and stays null elsewhere."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from edfgen.commands.mr import MRSettings, run_mr
from edfgen.simulate.mr import per_variant_linear, per_variant_logistic, simulate_mr_study, sumstats_frame


def test_per_variant_regressions__match_statsmodels():
    rng = np.random.default_rng(0)
    G = rng.binomial(2, [0.2, 0.5, 0.7], size=(800, 3)).astype(float)
    y = 0.2 * G[:, 1] + rng.normal(size=800)
    d = (rng.random(800) < 1 / (1 + np.exp(-(-1.5 + 0.4 * G[:, 0])))).astype(float)
    bl, sl = per_variant_linear(G, y)
    bg, sg = per_variant_logistic(G, d)
    for j in range(3):
        X = sm.add_constant(G[:, j])
        ols, logit = sm.OLS(y, X).fit(), sm.Logit(d, X).fit(disp=0)
        assert bl[j] == pytest.approx(ols.params[1], rel=1e-9) and sl[j] == pytest.approx(ols.bse[1], rel=1e-9)
        assert bg[j] == pytest.approx(logit.params[1], rel=1e-6) and sg[j] == pytest.approx(logit.bse[1], rel=1e-6)
    G[rng.random(G.shape) < 0.05] = np.nan            # missing calls: dropped per variant
    bl, sl = per_variant_linear(G, y)
    for j in range(3):
        ols = sm.OLS(y, sm.add_constant(G[:, j]), missing="drop").fit()
        assert bl[j] == pytest.approx(ols.params[1], rel=1e-9) and sl[j] == pytest.approx(ols.bse[1], rel=1e-9)


def _write(study, root):
    (root / "exp").mkdir(parents=True)
    (root / "out").mkdir(parents=True)
    for k, v in study.exposures.items():
        v.to_csv(root / "exp" / f"{k}.tsv", sep="\t", index=False)
    for k, v in study.outcomes.items():
        v.to_csv(root / "out" / f"{k}.tsv", sep="\t", index=False)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mr_simulated__planted_links_detected_null_pairs_null(tmp_path, seed):
    study = simulate_mr_study(seed)
    _write(study, tmp_path)
    run = run_mr(tmp_path / "exp", tmp_path / "out", tmp_path / "res",
                 settings=MRSettings(p_threshold=1e-5, nboot=200, presso_sims=200, seed=seed), plots=False,
                 clump=False)
    res = run.tables["mr_results"]
    ivw = res[res["method"] == "Inverse variance weighted"].set_index(["exposure", "outcome"])
    causal = {(c["exposure"], c["outcome"]): c["effect"] for c in study.causal}
    for pair, effect in causal.items():
        r = ivw.loc[pair]
        assert r["pval"] < 0.05 and np.sign(r["b"]) == np.sign(effect), pair
        assert abs(r["b"] - effect) < 3 * r["se"], pair
        assert res[(res["exposure"] == pair[0]) & (res["outcome"] == pair[1]) & (res["method"] == "Weighted median")
                   ]["b"].iloc[0] * effect > 0
    null = ivw.drop(index=list(causal))
    assert (null["pval"] > 0.01).all(), null["pval"]
    st = run.tables["mr_steiger"]
    assert st["correct_causal_direction"].all() and (st["r2_source_outcome"] == "lor_liability").all()


def _residualise(y, X):
    X = np.column_stack([np.ones(len(y)), X])
    ok = np.isfinite(y) & np.isfinite(X).all(1)
    coef = np.linalg.lstsq(X[ok], y[ok], rcond=None)[0]
    return np.where(ok, y - X @ coef, np.nan)


def test_mr_simulated__sim_cohort_two_sample(sim_cohort, tmp_path):
    """The shared simulated cohort (``sim_cohort``): exposure GWAS (age/sex-residualised per-variant
    OLS) on one half, disease GWAS (per-variant logistic) on the other, instruments = the planted loci
    of ``truth.json`` (oracle clumps); the planted trait -> disease links get the right sign, the null
    and confounded outcomes stay null."""
    from bed_reader import open_bed

    root = sim_cohort
    truth = json.loads((root / "truth.json").read_text())
    links = truth["causal"]
    phys = pd.read_csv(root / "physiology.tsv", sep="\t", dtype={"IID": str}).set_index("IID")
    outc = pd.read_csv(root / "outcomes.tsv", sep="\t", dtype={"IID": str}).set_index("IID")
    cov = pd.read_csv(root / "covariates.tsv", sep="\t", dtype={"IID": str}).set_index("IID")
    with open_bed(str(root / "genotypes.bed")) as bed:
        iid = np.asarray(bed.iid).astype(str)
        G = bed.read(dtype="float64")
        sid, a1, a2 = np.asarray(bed.sid), np.asarray(bed.allele_1), np.asarray(bed.allele_2)
    G = np.where(np.isnan(G), np.nanmean(G, axis=0), G)
    phys, outc, cov = phys.reindex(iid), outc.reindex(iid), cov.reindex(iid)
    n = len(iid)
    A, B = np.arange(n) < n // 2, np.arange(n) >= n // 2
    exposures = sorted({c["exposure"] for c in links} | {c["trait"] for c in truth.get("confounded", [])})
    outcomes = sorted(set(outc.columns))
    (tmp_path / "exp").mkdir()
    (tmp_path / "out").mkdir()
    for t in exposures:
        y = _residualise(phys[t].to_numpy(float), cov[["age", "sex"]].to_numpy(float))
        ok = A & np.isfinite(y)
        b, se = per_variant_linear(G[ok], y[ok])
        sumstats_frame(sid, a1, a2, G[ok].mean(0) / 2, b, se, int(ok.sum())).to_csv(
            tmp_path / "exp" / f"{t}.tsv", sep="\t", index=False)
    for o in outcomes:
        d = outc[o].to_numpy(float)
        b, se = per_variant_logistic(G[B], d[B])
        sumstats_frame(sid, a1, a2, G[B].mean(0) / 2, b, se, int(B.sum()), n_cases=float(d[B].sum())).to_csv(
            tmp_path / "out" / f"{o}.tsv", sep="\t", index=False)
    loci = pd.DataFrame([{"phenotype": lc["trait"], "variant_id": lc["variant_id"]} for lc in truth["loci"]])
    loci.to_csv(tmp_path / "clumps.tsv", sep="\t", index=False)
    run = run_mr(tmp_path / "exp", tmp_path / "out", None, instruments=tmp_path / "clumps.tsv",
                 settings=MRSettings(p_threshold=None, nboot=200, presso_sims=200, seed=1))  # oracle list
    res = run.tables["mr_results"]
    ivw = res[res["method"] == "Inverse variance weighted"].set_index(["exposure", "outcome"])
    causal = {(c["exposure"], c["outcome"]): c["effect"] for c in links}
    for pair, effect in causal.items():
        assert np.sign(ivw.at[pair, "b"]) == np.sign(effect), (pair, ivw.loc[pair].to_dict())
    z = (ivw["b"] / ivw["se"]).drop(index=list(causal))
    assert (z.abs() < 4).all(), z[z.abs() >= 4]
