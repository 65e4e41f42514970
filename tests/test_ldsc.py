"""LD score regression: LD scores vs plink1.9 --r2, the regression vs statsmodels WLS with an explicit block
jackknife, liability scale, rg properties, ldsc file layout, the command on a simulated cohort vs planted h²."""

from __future__ import annotations

import json
import shutil
import subprocess
from itertools import combinations, product
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from scipy import stats

from clump_sim import assert_panel_recorded, cohort_sumstats
from edfgen.cli import cli
from edfgen.commands.ldsc import run_ldsc
from edfgen.exceptions import InputError
from edfgen.formats.genotypes.panel import PlinkGenotypes
from edfgen.formats.dictionary import check_file
from edfgen.formats.ldscore import read_ldscores_chr, write_ldscores
from edfgen.kernels.ldsc import ldsc_h2, ldsc_rg, liability_factor
from edfgen.kernels.ldscore import chromosome_ld_scores

PLINK = shutil.which("plink1.9")


def _simulated_chi2(seed=1, m=1500, n=20000, h2=0.3, intercept=1.05):
    rng = np.random.default_rng(seed)
    ld = rng.gamma(2.0, 30.0, m) + 1
    w = ld * rng.uniform(0.9, 1.1, m)
    z = rng.standard_normal(m) * np.sqrt(intercept + n * h2 * ld / m)
    return z, ld, w, np.full(m, float(n)), float(m)


def _wls_fit(y, x, w):
    return sm.WLS(y, x, weights=w).fit().params


def test_ldsc_h2__one_step_equals_statsmodels_wls_and_explicit_jackknife():
    """The h² regression written out independently: ldsc's weights updated twice, statsmodels WLS, then
    WLS refits leaving out each of 200 contiguous blocks (pseudovalues -> SE)."""
    z, ld, w_ld, n, m = _simulated_chi2()
    res = ldsc_h2(z, ld, w_ld, n, m, two_step=None)
    y = z * z
    nbar = n.mean()
    x = np.c_[n * ld / nbar, np.ones_like(ld)]

    def weights(h2, a):
        h2 = min(max(h2, 0), 1)
        return 1 / (2 * (a + h2 * n * np.fmax(ld, 1) / m) ** 2) / np.fmax(w_ld, 1)

    wt = weights(m * (y.mean() - 1) / np.mean(ld * n), 1.0)
    for _ in range(2):
        b = _wls_fit(y, x, wt)
        wt = weights(m * b[0] / nbar, b[1])
    b = _wls_fit(y, x, wt)
    assert res.h2 == pytest.approx(m * b[0] / nbar, rel=1e-9)
    assert res.intercept == pytest.approx(b[1], rel=1e-9)
    seps = np.floor(np.linspace(0, len(y), 201)).astype(int)
    dels = []
    for k in range(200):
        keep = np.ones(len(y), bool)
        keep[seps[k]:seps[k + 1]] = False
        dels.append(_wls_fit(y[keep], x[keep], wt[keep]))
    dels = np.array(dels)
    pseudo = 200 * b[None, :] - 199 * dels
    se = np.sqrt(pseudo.var(axis=0, ddof=1) / 200)
    assert res.h2_se == pytest.approx(m * se[0] / nbar, rel=1e-7)
    assert res.intercept_se == pytest.approx(se[1], rel=1e-7)
    assert res.mean_chi2 == pytest.approx(y.mean())
    assert res.lambda_gc == pytest.approx(np.median(y) / 0.4549)
    assert res.ratio == pytest.approx((res.intercept - 1) / (y.mean() - 1))


def test_ldsc_h2__two_step_intercept_is_the_wls_fit_below_the_cutoff():
    """Two-step: the intercept is the re-weighted WLS fit on chi² < 30 only (weights started from the
    aggregate estimate on all variants), the slope then refit on all variants with that intercept fixed."""
    z, ld, w_ld, n, m = _simulated_chi2(seed=4, m=20000, n=5000, h2=0.3)
    res = ldsc_h2(z, ld, w_ld, n, m, two_step=30)
    y = z * z
    low = y < 30
    assert 20 < (~low).sum() < 2000
    nbar = n.mean()

    def weights(h2, a, rows):
        h2 = min(max(h2, 0), 1)
        return 1 / (2 * (a + h2 * n[rows] * np.fmax(ld[rows], 1) / m) ** 2) / np.fmax(w_ld[rows], 1)

    wt = weights(m * (y.mean() - 1) / np.mean(ld * n), 1.0, low)
    x = np.c_[n[low] * ld[low] / nbar, np.ones(low.sum())]
    for _ in range(2):
        b = _wls_fit(y[low], x, wt)
        wt = weights(m * b[0] / nbar, b[1], low)
    b = _wls_fit(y[low], x, wt)
    assert res.intercept == pytest.approx(b[1], rel=1e-9)
    a, every = b[1], np.ones(len(y), bool)
    wt = weights(m * (y.mean() - 1) / np.mean(ld * n), 1.0, every)
    xs = (n * ld / nbar)[:, None]
    for _ in range(2):
        c = _wls_fit(y - a, xs, wt)
        wt = weights(m * c[0] / nbar, a, every)
    assert res.h2 == pytest.approx(m * _wls_fit(y - a, xs, wt)[0] / nbar, rel=1e-9)


def test_ldsc_h2__recovers_planted_h2_and_intercept():
    z, ld, w_ld, n, m = _simulated_chi2(seed=7, m=20000, n=2000, h2=0.25, intercept=1.1)
    res = ldsc_h2(z, ld, w_ld, n, m)
    assert abs(res.h2 - 0.25) < 3 * res.h2_se
    assert abs(res.intercept - 1.1) < 3 * res.intercept_se


def test_liability_factor__lee_2011_formula():
    k, p = 0.01, 0.3
    t = stats.norm.ppf(1 - k)
    z = stats.norm.pdf(t)
    assert liability_factor(p, k) == pytest.approx((k * (1 - k) / z ** 2) * (k * (1 - k) / (p * (1 - p))))
    with pytest.raises(InputError):
        liability_factor(0.5, 1.5)


def test_ldsc_rg__a_trait_with_itself_is_one_and_sign_flips():
    z, ld, w_ld, n, m = _simulated_chi2(seed=2, m=5000, n=2000)
    # z1 = z2: the covariance regression is the h² regression up to its starting weights (two IRWLS updates)
    same = ldsc_rg(z, z, ld, w_ld, n, n, m, two_step=None)
    assert same.rg == pytest.approx(1.0, abs=1e-3)
    assert same.gencov.intercept == pytest.approx(same.h2_1.intercept, rel=1e-2)
    flipped = ldsc_rg(z, -z, ld, w_ld, n, n, m, two_step=None)
    assert flipped.rg == pytest.approx(-same.rg, abs=1e-12)
    rng = np.random.default_rng(3)
    z2 = 0.6 * z + 0.8 * rng.standard_normal(len(z)) * np.sqrt(1 + n * 0.3 * ld / m)
    part = ldsc_rg(z, z2, ld, w_ld, n, n, m, two_step=None)
    assert 0 < part.rg < 1.2 and part.rg_se > 0
    assert part.p_value == pytest.approx(stats.chi2.sf((part.rg / part.rg_se) ** 2, 1))


@pytest.fixture(scope="module")
def cohort_ss(sim_cohort, tmp_path_factory):
    return cohort_sumstats(Path(sim_cohort), tmp_path_factory.mktemp("ldsc_ss"))


@pytest.mark.skipif(PLINK is None, reason="plink1.9 not on PATH")
def test_ld_scores__equal_bias_corrected_sum_of_plink_r2(sim_cohort, tmp_path):
    """LD scores of complete-call variants = 1 + sum over the window of r² - (1 - r²)/(n - 2), r² from plink1.9 --r2."""
    bfile = Path(sim_cohort) / "genotypes"
    subprocess.run([PLINK, "--bfile", str(bfile), "--chr", "1", "--geno", "0", "--from-bp", "0", "--to-bp",
                    "400000000", "--thin-count", "300", "--seed", "1", "--make-bed", "--out", str(tmp_path / "g")],
                   check=True, capture_output=True)
    subprocess.run([PLINK, "--bfile", str(tmp_path / "g"), "--r2", "--ld-window", "100000", "--ld-window-kb", "1000",
                    "--ld-window-r2", "0", "--out", str(tmp_path / "ld")], check=True, capture_output=True)
    pairs = pd.read_csv(tmp_path / "ld.ld", sep=r"\s+")
    with PlinkGenotypes(tmp_path / "g", founders_only=False) as panel:
        pos = panel.variants.position
        res = chromosome_ld_scores(panel, np.arange(panel.n_variants), pos, 1_000_000, chunk=37)
        n = panel.n_samples
        ids = panel.variants.variant_id
    adj = pairs["R2"] - (1 - pairs["R2"]) / (n - 2)
    inside = (pairs["BP_B"] - pairs["BP_A"]).abs() <= 1_000_000
    expect = pd.Series(1.0, index=ids)
    expect = expect.add(adj[inside].groupby(pairs["SNP_A"][inside]).sum(), fill_value=0)
    expect = expect.add(adj[inside].groupby(pairs["SNP_B"][inside]).sum(), fill_value=0)
    got = pd.Series(res.l2, index=ids[res.rows])
    assert len(got) == len(ids)
    np.testing.assert_allclose(got.to_numpy(), expect.loc[got.index].to_numpy(), atol=2e-3)


def test_run_ldsc__planted_h2_within_2se_and_ldsc_files_round_trip(sim_cohort, cohort_ss, tmp_path):
    truth = json.loads((Path(sim_cohort) / "truth.json").read_text())
    run = run_ldsc(cohort_ss, out_dir=tmp_path / "a", genotypes=str(Path(sim_cohort) / "genotypes"), ld_wind_kb=1000)
    h2 = run.h2.set_index("phenotype")
    # this cohort's h² is mostly 22 planted loci of 4-8 % each (effect_scale 2): far from LDSC's polygenic model,
    # so 3 SE per trait here (the 2-SE figure is measured in benchmarks/ldsc_vs_ldsc.py), and the mean on target
    zs = [(row["h2"] - truth["heritability"][name]["total"]) / row["h2_se"] for name, row in h2.iterrows()]
    assert max(abs(z) for z in zs) < 3, zs
    assert abs(np.mean(zs)) < 1.5, zs
    assert ((h2["intercept"] > 0.7) & (h2["intercept"] < 1.3)).all()
    assert_panel_recorded(tmp_path / "a", Path(sim_cohort) / "genotypes")
    # the written ldsc layout read back (--ref-ld-chr) gives the same regression
    ld, m = read_ldscores_chr(str(tmp_path / "a" / "ldscores") + "/")
    assert m == run.m and len(ld) == len(run.ldscores)
    res = CliRunner().invoke(cli, ["ldsc", "--sumstats", *map(str, cohort_ss[:3]), "--ref-ld-chr",
                                   str(tmp_path / "a" / "ldscores") + "/", "--rg", "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    again = pd.read_csv(tmp_path / "b" / "h2.tsv", sep="\t").set_index("phenotype")
    pd.testing.assert_series_equal(again["h2"], h2.loc[again.index, "h2"], rtol=1e-5)   # h2.tsv: 6 digits
    # chr:pos:ref:alt ids beside an rsid column meet rsID-keyed LD scores through the rsid (was: "0 variant(s)
    # match the LD scores by variant id")
    (tmp_path / "cpra").mkdir()
    for f in cohort_ss[:3]:
        ss = pd.read_csv(f, sep="\t", dtype={"chromosome": str})
        ss["variant_id"] = ss.chromosome + ":" + ss.base_pair_location.astype(str) + ":" + ss.other_allele + ":" \
            + ss.effect_allele
        ss.to_csv(tmp_path / "cpra" / Path(f).name, sep="\t", index=False)
    res = CliRunner().invoke(cli, ["ldsc", "--sumstats", str(tmp_path / "cpra"), "--ref-ld-chr",
                                   str(tmp_path / "a" / "ldscores") + "/", "--out", str(tmp_path / "b2")])
    assert res.exit_code == 0, res.output
    by_rsid = pd.read_csv(tmp_path / "b2" / "h2.tsv", sep="\t").set_index("phenotype")
    pd.testing.assert_series_equal(by_rsid["h2"], again.loc[by_rsid.index, "h2"])
    check_file("ldsc_h2", tmp_path / "a" / "h2.tsv")
    check_file("ldsc_ldscore", tmp_path / "a" / "ldscores" / "1.l2.ldscore.gz")
    check_file("ldsc_rg", tmp_path / "b" / "rg.tsv")
    rg = pd.read_csv(tmp_path / "b" / "rg.tsv", sep="\t")
    assert list(rg.columns) == ["phenotype_1", "phenotype_2", "rg", "rg_se", "z", "p_value", "gcov_int"]
    assert len(rg) == 3
    # --rg-across: only pairs of phenotypes from different --sumstats inputs: a folder of two + one file -> 2 pairs
    (tmp_path / "two").mkdir()
    for f in cohort_ss[:2]:
        shutil.copy(f, tmp_path / "two" / Path(f).name)
    res = CliRunner().invoke(cli, ["ldsc", "--sumstats", str(tmp_path / "two"), str(cohort_ss[2]), "--ref-ld-chr",
                                   str(tmp_path / "a" / "ldscores") + "/", "--rg", "--rg-across", "--out",
                                   str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    across = pd.read_csv(tmp_path / "c" / "rg.tsv", sep="\t")
    assert len(across) == 2          # the pair inside the folder is left out
    pd.testing.assert_frame_equal(across.reset_index(drop=True), rg.merge(across[["phenotype_1", "phenotype_2"]])
                                  .reset_index(drop=True), rtol=1e-6)   # the same numbers as in the full run
    # the report's section (pipeline stage folder out/ldsc)
    from edfgen.report import _img, _table
    from edfgen.report_genetics import genetics_sections

    shutil.copytree(tmp_path / "b", tmp_path / "run" / "ldsc")
    html = "".join(genetics_sections(tmp_path / "run", table=_table, img=_img))
    assert "<h2>Heritability" in html and "data:image/png" in html and (tmp_path / "run" / "report_figures" / "rg_heatmap.png").exists()


def test_cli_ldsc__missing_ldscore_files_is_one_line_error(cohort_ss, tmp_path):
    res = CliRunner().invoke(cli, ["ldsc", "--sumstats", str(cohort_ss[0]), "--ref-ld-chr", str(tmp_path / "none"),
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "no LD score files" in res.output and len(res.output.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------- rg of many pairs: the old path
_COMP = {"A": "T", "T": "A", "C": "G", "G": "C"}


def _match_alleles(a1, a2, b1, b2):
    """ldsc --rg's allele rule written on strings (edfgen's rg before it aligned all phenotypes at once)."""
    comp = lambda s: s.map(lambda x: _COMP.get(x, "?"))          # noqa: E731
    a1, a2, b1, b2 = (pd.Series(np.asarray(x, dtype=str)) for x in (a1, a2, b1, b2))
    valid = lambda x, y: x.isin(list(_COMP)) & y.isin(list(_COMP)) & (x != y) & (comp(x) != y)  # noqa: E731
    same = ((a1 == b1) & (a2 == b2)) | ((a1 == comp(b1)) & (a2 == comp(b2)))
    flip = ((a1 == b2) & (a2 == b1)) | ((a1 == comp(b2)) & (a2 == comp(b1)))
    keep = valid(a1, a2) & valid(b1, b2) & (same | flip)
    return keep.to_numpy(), flip.to_numpy()


def rg_pairwise_reference(zs, ld, m, *, two_step=None, groups=None):
    """The per-pair path edfgen had (pandas merge and allele match per pair, one :func:`ldsc_rg` each): the
    reference of the vectorised ``genetic_correlations``."""
    cols = ["variant_id", "z", "n", "effect_allele", "other_allele"]
    merged = {name: ld.merge(z.table[cols], left_on="SNP", right_on="variant_id", how="inner") for name, z in zs.items()}
    rows = []
    for p1, p2 in combinations(zs, 2):
        if groups is not None and groups[p1] == groups[p2]:
            continue
        d = merged[p1].merge(merged[p2][["SNP", *cols[1:]]], on="SNP", how="inner", suffixes=("", "_2"))
        keep, flip = _match_alleles(d["effect_allele"], d["other_allele"], d["effect_allele_2"], d["other_allele_2"])
        d = d[keep]
        if len(d) < 2:
            continue
        z2 = np.where(flip[keep], -1.0, 1.0) * d["z_2"].to_numpy()
        r = ldsc_rg(d["z"], z2, d["L2"], d["W"], d["n"], d["n_2"], m, two_step=two_step)
        rows.append({"phenotype_1": p1, "phenotype_2": p2, "rg": r.rg, "rg_se": r.rg_se, "z": r.z,
                     "p_value": r.p_value, "gcov_int": r.gencov.intercept})
    return pd.DataFrame(rows)


def _rg_panel(seed=1, v=3000, p=7):
    """Phenotypes sharing a genetic component, their alleles swapped, on the other strand, not SNPs,
    strand-ambiguous or missing for some variants, one without heritability (rg NA), one on its own variants."""
    from edfgen.formats.sumstats.zscores import ZStats

    rng = np.random.default_rng(seed)
    ld = pd.DataFrame({"SNP": [f"rs{i}" for i in range(v)], "L2": rng.gamma(2.0, 30.0, v) + 1})
    ld["W"] = ld["L2"] * rng.uniform(0.9, 1.1, v)
    bases = np.array(list("ACGT"))
    ea = bases[rng.integers(0, 4, v)]
    oa = np.array([rng.choice([b for b in "ACGT" if b not in (a, _COMP[a])]) for a in ea], dtype=object)
    amb = rng.random(v) < 0.03
    oa[amb] = [_COMP[a] for a in ea[amb]]                  # strand-ambiguous: dropped from every pair
    g = rng.standard_normal(v) * np.sqrt(ld["L2"].to_numpy() / v * 0.3 * 20000)
    zs = {}
    for k in range(p):
        z = 0.8 * g + rng.standard_normal(v)
        if k == 3:                                         # chi² falling with the LD score: h² < 0, rg NA
            z = rng.standard_normal(v) * np.sqrt(1.3 - 0.5 * ld["L2"].to_numpy() / ld["L2"].max())
        e, o = ea.astype(object), oa.copy()
        if k % 3 == 1:
            sw = rng.random(v) < 0.3
            e[sw], o[sw], z = oa[sw], ea[sw], np.where(sw, -z, z)
            st = rng.random(v) < 0.2
            e[st], o[st] = [_COMP.get(x, "N") for x in e[st]], [_COMP.get(x, "N") for x in o[st]]
        if k % 3 == 2:
            o[rng.random(v) < 0.05] = "AT"                 # an indel: dropped from this phenotype's pairs
        t = pd.DataFrame({"variant_id": ld["SNP"], "effect_allele": e, "other_allele": o, "z": z,
                          "n": rng.integers(15000, 25000, v).astype(float)})
        if k >= 5:
            t = t.sample(frac=0.9, random_state=k).reset_index(drop=True)
        zs[f"t{k}"] = ZStats(f"t{k}", t, (Path(f"t{k}.tsv"),))
    return zs, ld, float(v)


def test_genetic_correlations__vectorised_equals_the_per_pair_path(monkeypatch):
    """All pairs aligned at once and fitted in batches (small batches here) give the old per-pair path's
    numbers to 1e-10, with --rg-across groups and with two-step fits (the per-pair kernel)."""
    import edfgen.commands.ldsc as cmd

    zs, ld, m = _rg_panel()
    monkeypatch.setattr(cmd, "_BATCH_ELEMENTS", 4 * len(ld))          # batches of about 4 pairs
    cases = [({}, {}), ({"groups": {n: int(n[1]) % 2 for n in zs}}, {"groups": {n: int(n[1]) % 2 for n in zs}}),
             ({"two_step": 30.0}, {"two_step": 30.0})]
    for kw_new, kw_ref in cases:
        got = cmd.genetic_correlations(zs, ld, m, **kw_new)
        ref = rg_pairwise_reference(zs, ld, m, **kw_ref)
        assert len(got) == len(ref) > 0 and got["rg"].isna().sum() >= 1
        pd.testing.assert_frame_equal(got[["phenotype_1", "phenotype_2"]], ref[["phenotype_1", "phenotype_2"]])
        for c in ("rg", "rg_se", "z", "gcov_int"):
            np.testing.assert_allclose(got[c], ref[c], rtol=1e-10, atol=1e-13, err_msg=c)
        np.testing.assert_allclose(got["p_value"], ref["p_value"], rtol=1e-9, atol=1e-300, err_msg="p_value")
    assert (cmd.genetic_correlations(zs, ld, m, groups={n: 0 for n in zs})).empty


def test_gencov_rg_batch__a_pair_with_negative_weights_is_na_and_the_batch_goes_on():
    """s36b: a pair whose h² intercept is negative (a noisy small cohort: one-step intercepts 2.49 and -2.75) makes
    ldsc's gencov weights negative; that raised for the whole batch ("weights must be > 0 (an LD score or N <=
    0?)") and ``edfgen ldsc --rg`` wrote nothing. ldsc stops that pair alone: it is NA, the others unchanged."""
    from edfgen.kernels.ldsc_batch import gencov_rg_batch

    z1, ld, w, n, m = _simulated_chi2(seed=1)
    z2 = _simulated_chi2(seed=2)[0] + 0.5 * z1
    f1, f2 = ldsc_h2(z1, ld, w, n, m, two_step=None), ldsc_h2(z2, ld, w, n, m, two_step=None)

    def batch(int2):
        k = len(int2)
        return gencov_rg_batch(np.tile(z1, (k, 1)), np.tile(z2, (k, 1)), ld, w, np.tile(n, (k, 1)),
                               np.tile(n, (k, 1)), m, h1=np.full(k, f1.h2), h2=np.full(k, f2.h2),
                               int1=np.full(k, f1.intercept), int2=np.asarray(int2, float),
                               h1_delete=np.tile(f1.regression.tot_delete, (k, 1)),
                               h2_delete=np.tile(f2.regression.tot_delete, (k, 1)))

    alone, both = batch([f2.intercept]), batch([f2.intercept, -10.0])
    assert not alone.weights_failed[0] and list(both.weights_failed) == [False, True]
    for field in ("rg", "rg_se", "z", "p_value", "gencov", "gcov_int"):
        assert getattr(both, field)[0] == pytest.approx(getattr(alone, field)[0], rel=1e-12), field
        assert np.isnan(getattr(both, field)[1]), field
    assert np.isfinite(alone.rg[0])


def test_genetic_correlations__negative_weights_pair_is_na_with_its_reason(caplog):
    """s36b: a trait with h² > 0 but a strongly negative intercept (its h² clipped to 1 in ldsc's weights) gives
    negative gencov weights: that pair NA, said in the INFO line with the intercept, the other pairs fitted."""
    import logging

    import edfgen.commands.ldsc as cmd
    from edfgen.formats.sumstats.zscores import ZStats

    rng = np.random.default_rng(3)
    v, n = 3000, 20000.0
    ld = pd.DataFrame({"SNP": [f"rs{i}" for i in range(v)], "L2": rng.uniform(1.0, 50.0, v)})
    ld["W"] = ld["L2"]
    g = rng.standard_normal(v) * np.sqrt(ld["L2"].to_numpy() / v * 0.3 * n)
    # chi² exactly 15 l - 10: h² 2.25 (clipped to 1 in the weights), intercept -10
    steep = rng.choice([-1.0, 1.0], v) * np.sqrt(15 * ld["L2"].to_numpy() - 10)
    zs = {}
    for name, z in (("a", 0.8 * g + rng.standard_normal(v)), ("b", 0.7 * g + rng.standard_normal(v)),
                    ("steep", steep)):
        t = pd.DataFrame({"variant_id": ld["SNP"], "effect_allele": "A", "other_allele": "C", "z": z, "n": n})
        zs[name] = ZStats(name, t, (Path(f"{name}.tsv"),))
    with caplog.at_level(logging.INFO, logger="edfgen.commands.ldsc"):
        got = cmd.genetic_correlations(zs, ld, float(v)).set_index(["phenotype_1", "phenotype_2"])
    assert np.isfinite(got.loc[("a", "b"), "rg"]) and got.xs("steep", level=1)["rg"].isna().all()
    assert "steep" in caplog.text and "genetic-covariance weights negative" in caplog.text


def test_allele_classes__equal_exactly_when_ldsc_matches_alleles():
    """Every pair of allele pairs over A, C, G, T and an indel: classes equal iff ldsc's rule keeps the variant,
    and the signs' product is -1 iff it flips."""
    from edfgen.commands.ldsc import allele_classes

    pairs = [(a, b) for a in ["A", "C", "G", "T", "AT"] for b in ["A", "C", "G", "T", "AT"]]
    a1, a2 = zip(*[p for p, q in product(pairs, pairs)])
    b1, b2 = zip(*[q for p, q in product(pairs, pairs)])
    keep, flip = _match_alleles(a1, a2, b1, b2)
    ca, sa = allele_classes(a1, a2)
    cb, sb = allele_classes(b1, b2)
    np.testing.assert_array_equal((ca == cb) & (ca >= 0), keep)
    np.testing.assert_array_equal((sa * sb < 0)[keep], flip[keep])


# ------------------------------------------------------------- inputs without beta/se or n (LDSC munged, FinnGen)
def _ldsc_inputs(tmp_path, m=1500, n=20000):
    """One chromosome of ldsc-layout LD scores and z-scores simulated on them (h² 0.3, intercept 1.05)."""
    z, ld, _, _, _ = _simulated_chi2(seed=4, m=m, n=n)
    snp = np.array([f"rs{i + 1}" for i in range(m)], dtype=object)
    write_ldscores(tmp_path / "ld" / "1", np.full(m, "1"), snp, np.arange(m) * 1000 + 1, ld, m=m, m_5_50=m)
    a1, a2 = np.where(np.arange(m) % 2, "A", "C"), np.where(np.arange(m) % 2, "G", "T")
    return snp, a1, a2, z


def test_cli_ldsc__z_only_munged_file_and_sample_size_option_give_the_h2_of_beta_se_n(tmp_path):
    """LDSC needs only Z and N (Bulik-Sullivan 2015): its own munged layout SNP A1 A2 Z N gives the h² of the same
    z as beta/se with an n column, and so does a file without n given --sample-size (was: refused)."""
    (tmp_path / "ld").mkdir()
    snp, a1, a2, z = _ldsc_inputs(tmp_path)
    se = np.full(len(z), 0.01)
    pd.DataFrame({"variant_id": snp, "effect_allele": a1, "other_allele": a2, "beta": z * se, "standard_error": se,
                  "p_value": 2 * stats.norm.sf(np.abs(z)), "n": 20000}).to_csv(tmp_path / "ssf.tsv", sep="\t",
                                                                                index=False)
    pd.DataFrame({"SNP": snp, "A1": a1, "A2": a2, "Z": z, "N": 20000}).to_csv(tmp_path / "munged.sumstats.gz",
                                                                              sep="\t", index=False)
    pd.DataFrame({"SNP": snp, "A1": a1, "A2": a2, "BETA": z * se, "SE": se}).to_csv(tmp_path / "no_n.tsv", sep="\t",
                                                                                    index=False)
    ref = str(tmp_path / "ld") + "/"

    def h2_of(*args):
        out = tmp_path / f"o{len(list(tmp_path.glob('o*')))}"
        res = CliRunner().invoke(cli, ["ldsc", *args, "--ref-ld-chr", ref, "--out", str(out)])
        assert res.exit_code == 0, res.output
        return pd.read_csv(out / "h2.tsv", sep="\t").iloc[0]

    base = h2_of("--sumstats", str(tmp_path / "ssf.tsv"))
    ld, m = read_ldscores_chr(ref)          # the kernel on the same z, L2 and N: the command adds nothing
    kern = ldsc_h2(z, ld["L2"].to_numpy(), ld["L2"].to_numpy(), np.full(len(z), 20000.0), m)
    assert base["h2"] == pytest.approx(kern.h2, rel=1e-5) and base["intercept"] == pytest.approx(kern.intercept, rel=1e-5)
    munged = h2_of("--sumstats", str(tmp_path / "munged.sumstats.gz"))
    assert munged[["h2", "h2_se", "intercept"]].tolist() == pytest.approx(base[["h2", "h2_se", "intercept"]].tolist(),
                                                                         rel=1e-5)
    res = CliRunner().invoke(cli, ["ldsc", "--sumstats", str(tmp_path / "no_n.tsv"), "--ref-ld-chr", ref, "--out",
                                   str(tmp_path / "x")])
    assert res.exit_code != 0 and len(res.output.strip().splitlines()) == 1, res.output
    assert "no_n.tsv" in res.output and "--sample-size" in res.output
    given = h2_of("--sumstats", str(tmp_path / "no_n.tsv"), "--sample-size", f"{tmp_path / 'no_n.tsv'}=20000")
    assert given[["h2", "h2_se", "intercept"]].tolist() == pytest.approx(base[["h2", "h2_se", "intercept"]].tolist(),
                                                                        rel=1e-5)
    # a folder of munged files is found too, and a --sample-size naming a file not read is refused in one line
    (tmp_path / "dir").mkdir()
    shutil.copy(tmp_path / "munged.sumstats.gz", tmp_path / "dir" / "munged.sumstats.gz")
    assert h2_of("--sumstats", str(tmp_path / "dir"))["h2"] == pytest.approx(base["h2"], rel=1e-5)
    res = CliRunner().invoke(cli, ["ldsc", "--sumstats", str(tmp_path / "ssf.tsv"), "--ref-ld-chr", ref,
                                   "--sample-size", "typo.tsv=5", "--out", str(tmp_path / "y")])
    assert res.exit_code != 0 and "typo.tsv" in res.output and len(res.output.strip().splitlines()) == 1, res.output


def test_cli_ldsc__z_only_files_in_per_chromosome_sub_folders_are_found(tmp_path):
    """s35b: LDSC's z-only files (SNP A1 A2 Z N) were found in the folder given but not in its sub-folders (one
    ``gwas --chr N`` run per folder), where files with beta and SE are found: the same h² as the files in one."""
    (tmp_path / "ld").mkdir()
    snp, a1, a2, z = _ldsc_inputs(tmp_path)
    munged = pd.DataFrame({"SNP": snp, "A1": a1, "A2": a2, "Z": z, "N": 20000})
    munged.to_csv(tmp_path / "qt.sumstats.gz", sep="\t", index=False)
    for part, rows in (("part1", slice(0, 700)), ("part2", slice(700, None))):
        (tmp_path / "runs" / part).mkdir(parents=True)
        munged[rows].to_csv(tmp_path / "runs" / part / "qt.sumstats.gz", sep="\t", index=False)
    (tmp_path / "runs" / "README.txt").write_text("one run per folder\n")
    h2 = []
    for given in (tmp_path / "qt.sumstats.gz", tmp_path / "runs"):
        out = tmp_path / f"out{len(h2)}"
        res = CliRunner().invoke(cli, ["ldsc", "--sumstats", str(given), "--ref-ld-chr", str(tmp_path / "ld") + "/",
                                       "--out", str(out)])
        assert res.exit_code == 0, res.output
        h2.append(pd.read_csv(out / "h2.tsv", sep="\t").iloc[0])
    assert h2[1]["phenotype"] == "qt" and h2[1]["h2"] == pytest.approx(h2[0]["h2"], rel=1e-9)


# ------------------------------------------------------------- review s30d: hostile inputs
def _write_z(path, snp, a1, a2, z, n=20000):
    """A GWAS-SSF file of these z-scores (beta = z se, se 0.01)."""
    se = np.full(len(z), 0.01)
    pd.DataFrame({"variant_id": snp, "effect_allele": a1, "other_allele": a2, "beta": z * se, "standard_error": se,
                  "p_value": 2 * stats.norm.sf(np.abs(z)), "n": n}).to_csv(path, sep="\t", index=False)
    return str(path)


def test_cli_ldsc__a_phenotype_that_cannot_be_fitted_is_na_and_the_others_are_written(tmp_path):
    """Review s30d F1/F8: every p = 1 (z = 0) made the fitted intercept 0 and ldsc's weights 1/(2·0²) infinite: a
    LinAlgError traceback, and no h2.tsv even for the other phenotype. Now its h2 and rg rows are NA with a warning;
    and an rg that is NA because an h² on the pair's variants is <= 0 says so."""
    (tmp_path / "ld").mkdir()
    snp, a1, a2, z = _ldsc_inputs(tmp_path)
    good = _write_z(tmp_path / "good.tsv", snp, a1, a2, z)
    zero = _write_z(tmp_path / "allp1.tsv", snp, a1, a2, np.zeros(len(z)))
    ld, _ = read_ldscores_chr(str(tmp_path / "ld") + "/")     # chi² falling with LD: a negative h²
    neg = np.random.default_rng(5).standard_normal(len(z)) * np.sqrt(1.5 - ld["L2"].to_numpy() / ld["L2"].max())
    negative = _write_z(tmp_path / "neg.tsv", snp, a1, a2, neg)
    res = CliRunner().invoke(cli, ["ldsc", "--sumstats", good, "--sumstats", zero, "--sumstats", negative, "--rg",
                                   "--ref-ld-chr", str(tmp_path / "ld") + "/", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    h2 = pd.read_csv(tmp_path / "o" / "h2.tsv", sep="\t").set_index("phenotype")
    assert h2.loc["allp1", ["h2", "h2_se", "intercept"]].isna().all() and h2.loc["allp1", "mean_chi2"] == 0
    assert h2.loc["good", "h2"] > 0 and h2.loc["neg", "h2"] < 0
    rg = pd.read_csv(tmp_path / "o" / "rg.tsv", sep="\t").set_index(["phenotype_1", "phenotype_2"])
    assert len(rg) == 3 and rg["rg"].isna().all()
    assert "allp1" in res.output and "cannot be fitted" in res.output
    assert "pair(s) with neg are NA" in res.output and "variant(s) shared with good is -" in res.output


def test_cli_ldsc__fewer_than_200_matching_variants_is_a_one_line_error(tmp_path):
    """Review s30d F6: 2 variants gave a 'Singular matrix' traceback, 3-5 an h² of -0.9 ± 16 without a word."""
    (tmp_path / "ld").mkdir()
    snp, a1, a2, z = _ldsc_inputs(tmp_path)
    few = _write_z(tmp_path / "few.tsv", snp[:150], a1[:150], a2[:150], z[:150])
    res = CliRunner().invoke(cli, ["ldsc", "--sumstats", few, "--ref-ld-chr", str(tmp_path / "ld") + "/", "--out",
                                   str(tmp_path / "o")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert "few.tsv: phenotype few: 150 variant(s) match the LD scores" in res.output and "at least 200" in res.output
    # beside a phenotype that has them, it is an NA row (warned) and the other is fitted (review s30i: the error
    # lost every other phenotype's h², the failure the NA rows of unfittable phenotypes had just removed)
    full = _write_z(tmp_path / "full.tsv", snp, a1, a2, z)
    res = CliRunner().invoke(cli, ["ldsc", "--sumstats", few, full, "--ref-ld-chr", str(tmp_path / "ld") + "/",
                                   "--out", str(tmp_path / "o2")])
    assert res.exit_code == 0, res.output
    assert "phenotype few: 150 variant(s) match the LD scores" in res.output and "its h2.tsv row is NA" in res.output
    h2 = pd.read_csv(tmp_path / "o2" / "h2.tsv", sep="\t").set_index("phenotype")
    assert np.isnan(h2.loc["few", "h2"]) and np.isfinite(h2.loc["full", "h2"])


def test_cli_ldsc__n_missing_on_some_rows_names_the_sample_size_option(tmp_path):
    """Review s30d nit: 'n missing for variant ...' did not say that --sample-size FILE=N fills exactly those rows."""
    (tmp_path / "ld").mkdir()
    snp, a1, a2, z = _ldsc_inputs(tmp_path)
    f = _write_z(tmp_path / "half.tsv", snp, a1, a2, z, n=np.where(np.arange(len(z)) % 2, 20000.0, np.nan))
    args = ["ldsc", "--sumstats", f, "--ref-ld-chr", str(tmp_path / "ld") + "/"]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert "n missing for variant 'rs1' (and 749 more); --sample-size " in res.output
    res = CliRunner().invoke(cli, [*args, "--sample-size", f"{f}=20000", "--out", str(tmp_path / "o2")])
    assert res.exit_code == 0, res.output


def test_run_ldsc__in_sample_ld_scores_are_of_the_autosomes_only(sim_cohort, cohort_ss, tmp_path, caplog):
    """Review s30d F2: a panel's X (and any non-autosome) went into the in-sample regression, while ldsc and
    --ref-ld-chr read 1-22 only: the same LD scores read back gave another h². Now X is left out (logged)."""
    src = Path(sim_cohort) / "genotypes"
    for ext in ("bed", "fam"):
        shutil.copy(f"{src}.{ext}", tmp_path / f"g.{ext}")
    bim = pd.read_csv(f"{src}.bim", sep="\t", header=None, dtype={0: str})
    bim[0] = bim[0].replace({"3": "X"})
    bim.to_csv(tmp_path / "g.bim", sep="\t", header=False, index=False)
    with caplog.at_level("INFO", logger="edfgen"):
        run = run_ldsc(cohort_ss[:1], out_dir=tmp_path / "a", genotypes=str(tmp_path / "g"), ld_wind_kb=1000)
    assert set(run.ldscores["CHR"]) == {"1", "2"} and not (tmp_path / "a" / "ldscores" / "X.l2.ldscore.gz").exists()
    assert "autosomes 1-22 only" in caplog.text and "on X left out" in caplog.text
    again = run_ldsc(cohort_ss[:1], out_dir=tmp_path / "b", ref_ld_chr=str(tmp_path / "a" / "ldscores") + "/")
    assert again.h2["h2"].iloc[0] == pytest.approx(run.h2["h2"].iloc[0], rel=1e-5)


def test_cli_ldsc__prevalence_per_trait_of_a_pair_is_lee_2011_with_the_files_case_counts(tmp_path):
    """--prevalence cad=K1,t2d=K2 against a hand computation of Lee et al. (2011) eq. 23 (ldsc h2_obs_to_liab):
    h2_liab = h2_obs K²(1-K)² / (P(1-P) φ(Φ⁻¹(1-K))²), P the sample prevalence of the files' case counts. Was
    (known defect, s38): a file whose n is the effective n 4/(1/cases+1/controls) (PGC, METAL) had P = cases/n
    (0.294 for 3,000 cases and 17,000 controls, n 10,200) where the regression on that n needs P = 0.5; and a
    NAME=K naming no phenotype (a typo) was ignored, leaving that trait's h² on the observed scale without a word.
    rg, rg_se, z, p and gcov_int do not depend on the scale (ldsc converts h² and gcov, whose ratio rg is)."""
    (tmp_path / "ld").mkdir()
    snp, a1, a2, z = _ldsc_inputs(tmp_path)
    z2 = _simulated_chi2(seed=5, m=len(z), n=10200)[0]
    se = np.full(len(z), 0.01)
    neff = 4 / (1 / 3000 + 1 / 17000)                             # 10,200
    for name, zz, n, cases, controls in (("cad", z, 20000, 4000, 16000), ("t2d", z2, neff, 3000, 17000)):
        pd.DataFrame({"variant_id": snp, "effect_allele": a1, "other_allele": a2, "beta": zz * se,
                      "standard_error": se, "p_value": 2 * stats.norm.sf(np.abs(zz)), "n": n, "n_cases": cases,
                      "n_controls": controls}).to_csv(tmp_path / f"{name}.tsv", sep="\t", index=False)
    ref = str(tmp_path / "ld") + "/"

    def ldsc(*args):
        out = tmp_path / f"o{len(list(tmp_path.glob('o*')))}"
        res = CliRunner().invoke(cli, ["ldsc", "--sumstats", str(tmp_path / "cad.tsv"), "--sumstats",
                                       str(tmp_path / "t2d.tsv"), "--ref-ld-chr", ref, "--rg", *args, "--out", str(out)])
        return res, out

    res, obs = ldsc()
    assert res.exit_code == 0, res.output
    res, liab = ldsc("--prevalence", "cad=0.05,t2d=0.1")
    assert res.exit_code == 0, res.output
    h_obs = pd.read_csv(obs / "h2.tsv", sep="\t").set_index("phenotype")
    h_liab = pd.read_csv(liab / "h2.tsv", sep="\t").set_index("phenotype")
    # by hand: t = Φ⁻¹(1 - K), φ(t) = exp(-t²/2)/√(2π); cad P = 4000/20000 = 0.2; t2d (effective n) P = 0.5
    for name, k, p, t in (("cad", 0.05, 0.2, 1.6448536269514722), ("t2d", 0.1, 0.5, 1.2815515655446004)):
        phi = np.exp(-t * t / 2) / np.sqrt(2 * np.pi)
        factor = k ** 2 * (1 - k) ** 2 / (p * (1 - p) * phi ** 2)
        assert h_liab.at[name, "h2"] == pytest.approx(h_obs.at[name, "h2"] * factor, rel=2e-5), name
        assert h_liab.at[name, "h2_se"] == pytest.approx(h_obs.at[name, "h2_se"] * factor, rel=2e-5), name
        assert h_liab.at[name, "intercept"] == pytest.approx(h_obs.at[name, "intercept"], rel=1e-9)
    # t2d's factor, K = 0.1 and P = 0.5: 0.1² 0.9² / (0.25 φ(1.2816)²) = 1.0520 (was 1.4293 with P = 3000/10200)
    assert h_liab.at["t2d", "h2"] / h_obs.at["t2d", "h2"] == pytest.approx(1.0520, abs=1e-4)
    r_obs, r_liab = (pd.read_csv(d / "rg.tsv", sep="\t") for d in (obs, liab))
    pd.testing.assert_frame_equal(r_obs, r_liab)
    res, _ = ldsc("--prevalence", "cad=0.05,T2D=0.1")                 # a typo: refused, not ignored
    assert res.exit_code != 0 and "--prevalence T2D=...: no phenotype 'T2D' (phenotypes: cad, t2d)" in res.output
    res, _ = ldsc("--prevalence", "cad=5")
    assert res.exit_code != 0 and "--prevalence cad=5: a population prevalence must be in (0, 1)" in res.output


def test_parse_prevalence__a_bare_number_out_of_range_is_quoted_as_given():
    """Second read of s38: `--prevalence 5` was refused as `--prevalence cad=5: ...`, a text the user never
    wrote; a bare number is quoted as given."""
    from edfgen.commands.ldsc import parse_prevalence

    with pytest.raises(InputError, match=r"^--prevalence '5': a population prevalence must be in \(0, 1\)$"):
        parse_prevalence("5", ["cad", "t2d"])
    with pytest.raises(InputError, match=r"^--prevalence t2d=5: a population prevalence must be in \(0, 1\)$"):
        parse_prevalence("cad=0.1,t2d=5", ["cad", "t2d"])


def test_ldsc_prevalence__n_exactly_the_effective_n_is_quiet_and_n_from_n_cases_is_refused(tmp_path, caplog):
    """Second read of s38. (1) n exactly the effective n 4/(1/n_cases + 1/n_controls) gives q = 1/4 plus one
    rounding step on ~17% of count pairs (2500 cases, 12000 controls: 0.25 + 5.6e-17), which logged a wrong "its n
    is below the effective n"; now compared with 1/4 (1 + 1e-9). (2) An n taken from n_cases (q = 1 - P, here
    0.828) stopped with 'sample prevalence 1 must be in (0, 1)', then after s38 was computed with P(1 - P) = 1/2
    and an unfitting warning; now refused in one line naming the file and its n, before any work (the observed
    scale, which takes no P, is computed as before)."""
    (tmp_path / "ld").mkdir()
    snp, a1, a2, z = _ldsc_inputs(tmp_path, n=4000)
    se = np.full(len(z), 0.01)
    neff = 4 / (1 / 2500 + 1 / 12000)
    assert 2500 * 12000 / (14500 * neff) > 0.25                      # the rounding step this is about
    for name, n in (("full", neff), ("cases", 2500)):
        pd.DataFrame({"variant_id": snp, "effect_allele": a1, "other_allele": a2, "beta": z * se,
                      "standard_error": se, "p_value": 2 * stats.norm.sf(np.abs(z)), "n": n, "n_cases": 2500,
                      "n_controls": 12000}).to_csv(tmp_path / f"{name}.tsv", sep="\t", index=False)
    ref = str(tmp_path / "ld") + "/"
    with caplog.at_level("INFO", logger="edfgen"):
        run_ldsc([str(tmp_path / "full.tsv")], out_dir=tmp_path / "o", ref_ld_chr=ref, prevalence="0.1")
    assert "liability scale" in caplog.text and "below the effective n" not in caplog.text, caplog.text
    with pytest.raises(InputError) as e:
        run_ldsc([str(tmp_path / "cases.tsv")], out_dir=tmp_path / "c", ref_ld_chr=ref, prevalence="0.1")
    assert str(e.value) == (f"{tmp_path / 'cases.tsv'}: its n (median 2500) gives n_cases n_controls / ((n_cases + "
                            "n_controls) n) = 0.8276 > 3/4, which no sample-size convention gives (the total n or "
                            "the effective n: 1/4 or less; half the effective n: 1/2): is n the number of cases? "
                            "correct the file's n (--prevalence needs it)")
    run_ldsc([str(tmp_path / "cases.tsv")], out_dir=tmp_path / "c", ref_ld_chr=ref)       # observed scale: read


def test_say_sample_size_convention__names_the_phenotype_its_first_file_and_how_many_more(tmp_path, caplog):
    """Second read of s38: the effective-n message named z.files[0] while q is the median over all the
    phenotype's files (one phenotype's per-chromosome files)."""
    from edfgen.formats.sumstats.zscores import ZStats, say_sample_size_convention

    files = tuple(tmp_path / f"chr{c}" / "cad.tsv" for c in (1, 2, 3))
    with caplog.at_level("INFO", logger="edfgen"):
        say_sample_size_convention(ZStats("cad", pd.DataFrame(), files, 0.5, 0.5, 0.5))
    assert f"cad ({files[0]} and 2 more file(s)): its n is below the effective n" in caplog.text, caplog.text
    assert "the liability-scale h² of cad takes P(1 - P) = 0.5" in caplog.text


def test_cli_ldsc__prevalence_of_a_file_whose_n_is_the_total_the_effective_n_or_half_of_it(tmp_path):
    """Was (review of s38): a file whose n is below the effective n of its case counts (PGC's NEFFDIV2 or
    Neff_half given as n) had n_cases n_controls / ((n_cases + n_controls) n) = 0.5 > 1/4, silently clamped to
    P = 0.5, and its liability-scale h² twice too large. The regression's noncentrality is n h² P(1 - P), so the
    same z-scores on the total n, on the effective n and on half of it must give one liability-scale h²; the half
    one is warned about, naming the file, the q seen and the P(1 - P) used. An n a little below the effective n
    (a sum of cohorts' effective n, or rounding) takes P(1 - P) = 1/4, as the effective n does: its liability h²
    is its observed h² times the factor at 1/4, its 3% larger observed h² kept (was the same, by a 5% clamp)."""
    (tmp_path / "ld").mkdir()
    snp, a1, a2, z = _ldsc_inputs(tmp_path, n=10200)
    se = np.full(len(z), 0.01)
    neff = 4 / (1 / 3000 + 1 / 17000)                             # 10,200
    names = {"total": 20000, "full": neff, "half": neff / 2, "round": neff / 1.03}
    for name, n in names.items():
        pd.DataFrame({"variant_id": snp, "effect_allele": a1, "other_allele": a2, "beta": z * se,
                      "standard_error": se, "p_value": 2 * stats.norm.sf(np.abs(z)), "n": n, "n_cases": 3000,
                      "n_controls": 17000}).to_csv(tmp_path / f"{name}.tsv", sep="\t", index=False)

    def ldsc(out, *args):
        return CliRunner().invoke(cli, ["ldsc", *(a for name in names for a in
                                                  ("--sumstats", str(tmp_path / f"{name}.tsv"))),
                                        "--ref-ld-chr", str(tmp_path / "ld") + "/", *args, "--out", str(out)])
    res = ldsc(tmp_path / "o", "--prevalence", "0.1")
    assert res.exit_code == 0, res.output
    assert ldsc(tmp_path / "obs").exit_code == 0
    h2 = pd.read_csv(tmp_path / "o" / "h2.tsv", sep="\t").set_index("phenotype")["h2"]
    obs = pd.read_csv(tmp_path / "obs" / "h2.tsv", sep="\t").set_index("phenotype")["h2"]
    assert 0.1 < h2["full"] < 1.5
    assert h2["total"] == pytest.approx(h2["full"], rel=1e-6)      # P(1 - P) = 3000 17000 / 20000² = 0.1275
    assert h2["half"] == pytest.approx(h2["full"], rel=1e-6)       # was 2x
    t = 1.2815515655446004                                          # Φ⁻¹(1 - 0.1)
    factor = 0.1 ** 2 * 0.9 ** 2 / (0.25 * (np.exp(-t * t / 2) / np.sqrt(2 * np.pi)) ** 2)
    assert h2["round"] == pytest.approx(obs["round"] * factor, rel=1e-6)
    warned = [x for x in res.output.splitlines() if "WARNING" in x and "below the effective n" in x]
    assert len(warned) == 1 and f"half ({tmp_path / 'half.tsv'}): its n is below the effective n of its case " \
        "counts" in warned[0], res.output
    assert "q = n_cases n_controls / ((n_cases + n_controls) n) = 0.5 > 1/4" in warned[0]
    assert "half the effective n" in warned[0] and "takes P(1 - P) = 0.5" in warned[0]


@pytest.mark.parametrize("cohorts, q_seen", [(((2000, 8000), (4000, 4000)), 0.2778),
                                             (((3000, 12000), (2500, 2500)), 0.2731)])
def test_cli_ldsc__prevalence_of_a_meta_analysis_whose_n_is_the_sum_of_its_cohorts_effective_n(tmp_path, caplog,
                                                                                               cohorts, q_seen):
    """Was (review of s38 fixes): a meta-analysis whose n is the sum of its cohorts' effective n (PGC, METAL
    'Neff'; Grotzinger 2023) and whose n_cases / n_controls are the totals: the regression's noncentrality is
    sum_i N_i P_i (1 - P_i) h² = sum_i Neff_i / 4 h², so P(1 - P) is exactly 1/4, but the q of the totals is
    Neff(totals) / (4 sum Neff_i) > 1/4 (Neff is concave): cohorts 2000/8000 and 4000/4000, n = 6400 + 8000 =
    14400, q = 4 6000 12000 / 18000 / (4 14400) = 0.2778 took P(1 - P) = 0.2778, h² x0.90, with a wrong 'half
    the effective n?' warning. Now 1/4, said at INFO."""
    (tmp_path / "ld").mkdir()
    neff = sum(4 / (1 / a + 1 / b) for a, b in cohorts)
    snp, a1, a2, z = _ldsc_inputs(tmp_path, n=int(neff))
    se = np.full(len(z), 0.01)
    cases, controls = (sum(c[i] for c in cohorts) for i in (0, 1))
    assert 4 * cases * controls / (cases + controls) / (4 * neff) == pytest.approx(q_seen, abs=1e-4)
    pd.DataFrame({"variant_id": snp, "effect_allele": a1, "other_allele": a2, "beta": z * se, "standard_error": se,
                  "p_value": 2 * stats.norm.sf(np.abs(z)), "n": neff, "n_cases": cases,
                  "n_controls": controls}).to_csv(tmp_path / "meta.tsv", sep="\t", index=False)
    ref = str(tmp_path / "ld") + "/"
    with caplog.at_level("INFO", logger="edfgen"):
        run_ldsc([str(tmp_path / "meta.tsv")], out_dir=tmp_path / "obs", ref_ld_chr=ref)
        caplog.clear()
        liab = run_ldsc([str(tmp_path / "meta.tsv")], out_dir=tmp_path / "liab", ref_ld_chr=ref,
                        prevalence="meta=0.05")
    obs = pd.read_csv(tmp_path / "obs" / "h2.tsv", sep="\t")["h2"].iloc[0]
    t = 1.6448536269514722                                          # Φ⁻¹(1 - 0.05)
    factor = 0.05 ** 2 * 0.95 ** 2 / (0.25 * (np.exp(-t * t / 2) / np.sqrt(2 * np.pi)) ** 2)
    assert liab.h2["h2"].iloc[0] == pytest.approx(obs * factor, rel=1e-6)
    assert not [r for r in caplog.records if r.levelname == "WARNING"], caplog.text
    said = [r.getMessage() for r in caplog.records if "below the effective n" in r.getMessage()]
    assert len(said) == 1 and "meta.tsv" in said[0] and f"= {q_seen:.4g} > 1/4" in said[0], caplog.text
    assert "takes P(1 - P) = 0.25" in said[0]


@pytest.mark.parametrize("ids", ["rsid", "position"])
def test_cli_ldsc_rg__traits_declaring_different_builds(tmp_path, ids):
    """Was (known defect, s38): ldsc --rg said nothing when the two traits' -meta.yaml declare different genome
    builds. Each trait meets the LD scores by its variant id: by rsID (the same variant on either build) the pair
    is computed, with a warning; by chr:pos:ref:alt ids (a position on one build names another variant on the
    other) rg would pair other variants without a sign, so it is refused in one line, before any table is
    written. One build on both sides: no word."""
    (tmp_path / "ld").mkdir()
    m = 1500
    z1, ld, _, _, _ = _simulated_chi2(seed=4, m=m)
    z2 = 0.6 * z1 + 0.8 * _simulated_chi2(seed=6, m=m)[0]
    bp = np.arange(m) * 1000 + 1
    snp = np.array([f"rs{i + 1}" if ids == "rsid" else f"1:{b}:A:G" for i, b in enumerate(bp)], dtype=object)
    write_ldscores(tmp_path / "ld" / "1", np.full(m, "1"), snp, bp, ld, m=m, m_5_50=m)
    paths = [_write_z(tmp_path / f"{name}.tsv", snp, "A", "G", z) for name, z in (("a", z1), ("b", z2))]

    def rg(*builds):
        for p, build in zip(paths, builds):
            Path(f"{p}-meta.yaml").write_text(f"genome_assembly: {build}\n")
        out = tmp_path / f"o{len(list(tmp_path.glob('o*')))}"
        res = CliRunner().invoke(cli, ["ldsc", "--sumstats", *paths, "--ref-ld-chr", str(tmp_path / "ld") + "/",
                                       "--rg", "--out", str(out)])
        return res, out

    same, out = rg("GRCh38", "GRCh38")
    assert same.exit_code == 0 and "genome build" not in same.output, same.output
    expected = pd.read_csv(out / "rg.tsv", sep="\t")
    res, out = rg("GRCh37", "GRCh38")
    if ids == "rsid":
        assert res.exit_code == 0, res.output
        assert "ldsc --rg: 1 pair(s) declare different genome builds (e.g. a GRCh37: 1500 of 1500 found by rsID, " \
               "b GRCh38: 1500 of 1500 found by rsID:" in res.output, res.output
        pd.testing.assert_frame_equal(pd.read_csv(out / "rg.tsv", sep="\t"), expected)
    else:     # (s39: was refused "lift one over", though both positions are on the LD scores' build: one build)
        assert res.exit_code == 0, res.output
        assert "(e.g. a GRCh37: 1500 of 1500 found by position, b GRCh38: 1500 of 1500 found by position: " \
               "-meta.yaml genome_assembly)" in res.output
        assert f"a and b are both found by positions there, so their positions are on one build: the -meta.yaml " \
               f"of {paths[0]} or of {paths[1]} is likely wrong" in " ".join(res.output.split()), res.output
        pd.testing.assert_frame_equal(pd.read_csv(out / "rg.tsv", sep="\t"), expected)


def test_cli_ldsc_rg__a_trait_lifted_to_grch38_against_grch37_positions(tmp_path):
    """Known defect (s38 closing note): check_rg_builds refused every pair of two traits found in the LD scores by
    positions that declare different builds. Two GRCh37 traits (chr:pos:ref:alt ids) on GRCh37 LD scores: b
    declaring GRCh38 but on GRCh37 positions (its -meta.yaml is wrong; both positions find all their variants) is
    computed, as on one build, with a warning naming both files; b lifted to GRCh38 (edfgen.formats.liftover.Chain,
    ids rebuilt from the lifted positions) is refused in one line naming both files, both builds and b."""
    from edfgen.formats.liftover import Chain

    (tmp_path / "ld").mkdir()
    m = 1500
    z1, ld, _, _, _ = _simulated_chi2(seed=4, m=m)
    z2 = 0.6 * z1 + 0.8 * _simulated_chi2(seed=6, m=m)[0]
    bp = np.arange(m) * 1000 + 1
    ids37 = np.array([f"1:{b}:A:G" for b in bp], dtype=object)
    write_ldscores(tmp_path / "ld" / "1", np.full(m, "1"), ids37, bp, ld, m=m, m_5_50=m)
    chain = tmp_path / "hg19ToHg38.over.chain"           # GRCh38 = GRCh37 + 10,007 here (a shift, as on chr1)
    chain.write_text("chain 1000 chr1 249250621 + 0 2000000 chr1 248956422 + 10007 2010007 1\n2000000\n\n")
    chrom38, bp38 = Chain.read(chain).lift(np.full(m, "1"), bp)
    ids38 = np.array([f"{c}:{int(b)}:A:G" for c, b in zip(chrom38, bp38)], dtype=object)
    assert not set(ids38) & set(ids37)
    a = _write_z(tmp_path / "a.tsv", ids37, "A", "G", z1)
    Path(f"{a}-meta.yaml").write_text("genome_assembly: GRCh37\n")

    def rg(ids, build, tag):
        (tmp_path / tag).mkdir()
        b = _write_z(tmp_path / tag / "b.tsv", ids, "A", "G", z2)
        Path(f"{b}-meta.yaml").write_text(f"genome_assembly: {build}\n")
        res = CliRunner().invoke(cli, ["ldsc", "--sumstats", a, b, "--ref-ld-chr", str(tmp_path / "ld") + "/", "--rg",
                                       "--out", str(tmp_path / f"o_{tag}")])
        return res, b, tmp_path / f"o_{tag}"

    same, _, out = rg(ids37, "GRCh37", "same")
    assert same.exit_code == 0 and "genome build" not in same.output, same.output
    res, b, out2 = rg(ids37, "GRCh38", "mislabelled")                 # positions GRCh37, -meta.yaml GRCh38
    assert res.exit_code == 0, res.output
    assert f"the -meta.yaml of {a} or of {b} is likely wrong" in " ".join(res.output.split()), res.output
    pd.testing.assert_frame_equal(pd.read_csv(out2 / "rg.tsv", sep="\t"), pd.read_csv(out / "rg.tsv", sep="\t"))
    res, b, out3 = rg(ids38, "GRCh38", "lifted")
    assert res.exit_code != 0 and len(res.output.strip().splitlines()) == 1, res.output
    assert f"ldsc --rg a x b: {a} declares genome build GRCh37 and {b} GRCh38" in res.output, res.output
    assert "b (1500 of its 1500 ids positions, e.g. 1:10008:A:G; 0 found in the LD scores, 0% of what it could)" \
           in res.output and "so b is likely the one not on the LD scores' build: lift b over to GRCh37" in res.output
    assert not (out3 / "h2.tsv").exists()


def test_check_rg_builds__names_the_declaring_file_the_trait_off_the_ld_build_and_skips_unpaired(tmp_path):
    """Review of s38 (nits of check_rg_builds): the refusal named each phenotype's first file, not the one whose
    -meta.yaml declared the build; with both traits found by position ids it blamed the first of the pair, not the
    one off the LD scores' build (the one whose positions find fewer of its variants there); and a phenotype in
    no pair whose files declare different builds was refused under --rg (h² alone reads it)."""
    from edfgen.commands.ldsc_inputs import check_rg_builds
    from edfgen.formats.sumstats.zscores import ZStats

    snp = np.array([f"1:{1000 * i + 1}:A:G" for i in range(100)], dtype=object)
    ld = pd.DataFrame({"SNP": snp})
    shifted = np.array([f"1:{1000 * i + 1 + (7 if i >= 5 else 0)}:A:G" for i in range(100)], dtype=object)

    def zstats(name, ids, builds):
        files = []
        for k, build in enumerate(builds):
            f = tmp_path / f"d{k}" / f"{name}.tsv"
            f.parent.mkdir(exist_ok=True)
            f.write_text("x\n")
            if build:
                Path(f"{f}-meta.yaml").write_text(f"genome_assembly: {build}\n")
            files.append(f)
        return ZStats(name, pd.DataFrame({"variant_id": ids, "z": 1.0}), tuple(files))

    zs = {"a": zstats("a", shifted, [None, "GRCh37"]),       # its first file declares nothing
          "b": zstats("b", snp, ["GRCh38"]),
          "c": zstats("c", snp, ["GRCh37", "GRCh38"])}       # its own files disagree: in no pair here
    with pytest.raises(InputError) as e:
        check_rg_builds(zs, ld, [("a", "b")])
    msg = str(e.value)
    assert f"{tmp_path / 'd1' / 'a.tsv'} declares genome build GRCh37 and {tmp_path / 'd0' / 'b.tsv'} GRCh38" in msg
    assert "a (100 of its 100 ids positions, e.g. 1:1:A:G; 5 found in the LD scores, 5% of what it could) and " \
           "b (100 of its 100 ids positions, e.g. 1:1:A:G; 100 found in the LD scores, 100% of what it could) " \
           "meet the LD scores by ids that are positions" in msg, msg
    assert "a finds 5% of the variants it could there and b 100%, so a is likely the one not on the LD scores' " \
           "build: lift a over to GRCh38" in msg, msg
    with pytest.raises(InputError) as e:                       # b first in the pair: a is still the one named
        check_rg_builds(zs, ld, [("b", "a")])
    assert "so a is likely the one not on the LD scores' build" in str(e.value)
    check_rg_builds({"b": zs["b"], "c": zs["c"]}, ld, [])     # c in no pair: not refused
    with pytest.raises(InputError, match="summary statistics of different genome builds"):
        check_rg_builds({"b": zs["b"], "c": zs["c"]}, ld, [("b", "c")])


def test_check_rg_builds__by_position_decided_by_the_traits_own_ids(tmp_path, caplog):
    """Second read of s38 (check_rg_builds): by-position was decided from the keys FOUND in the LD scores, so in
    the usual in-sample case (LD-score ids the genotypes' chr:pos:ref:alt; a on that build, all found; b declaring
    the other build, none found) b counted as nothing, the refusal named a ("lift one over"), never b; and a pair
    with one by-position trait on the LD scores' build (all its positions found) and the other found by rsID was
    refused though rg is right. Now each trait's own ids decide, and one by-position trait is refused only when it
    finds < 10 % of what it could there."""
    from edfgen.commands.ldsc_inputs import check_rg_builds
    from edfgen.formats.sumstats.zscores import ZStats

    def zstats(name, ids, build):
        f = tmp_path / f"{name}.tsv"
        f.write_text("x\n")
        Path(f"{f}-meta.yaml").write_text(f"genome_assembly: {build}\n")
        return ZStats(name, pd.DataFrame({"variant_id": ids, "z": 1.0}), (f,))

    here = np.array([f"1:{1000 * i + 1}:A:G" for i in range(100)], dtype=object)
    there = np.array([f"1:{1000 * i + 501}:A:G" for i in range(100)], dtype=object)   # the other build's positions
    rs = np.array([f"rs{i + 1}" for i in range(100)], dtype=object)
    zs = {"a": zstats("a", here, "GRCh38"), "b": zstats("b", there, "GRCh37")}
    with pytest.raises(InputError) as e:                           # in-sample: b found by nothing is named
        check_rg_builds(zs, pd.DataFrame({"SNP": here}), [("a", "b")])
    msg = str(e.value)
    assert "b (100 of its 100 ids positions, e.g. 1:501:A:G; 0 found in the LD scores, 0% of what it could)" in msg
    assert "so b is likely the one not on the LD scores' build: lift b over to GRCh38" in msg, msg
    mixed = pd.DataFrame({"SNP": np.concatenate([rs, here])})      # .bim ids: rsIDs where known, else positions
    zs = {"a": zstats("a", rs, "GRCh37"), "b": zstats("b", here, "GRCh38")}
    with caplog.at_level("WARNING"):
        check_rg_builds(zs, mixed, [("a", "b")])                   # b's own positions found: on the LD build
    assert "(e.g. a GRCh37: 100 of 100 found by rsID, b GRCh38: 100 of 100 found by position" in caplog.text
    zs["b"] = zstats("b", there, "GRCh38")
    with pytest.raises(InputError) as e:                           # b's positions not there: off the LD build
        check_rg_builds(zs, mixed, [("a", "b")])
    msg = str(e.value)
    assert "and b (100 of its 100 ids positions, e.g. 1:501:A:G; 0 found in the LD scores, 0% of what it could) " \
           "meets the LD scores by ids that are positions" in msg, msg
    assert "b finds only 0% of the variants it could there, so it is likely not on the LD scores' build: lift b " \
           "over to it" in msg, msg


def test_check_rg_builds__traits_found_by_rsid_with_positions_for_the_rest_are_computed(tmp_path, caplog):
    """Review of s38 (last read): by-position was decided from all of a trait's own ids, so two traits whose ids
    are rsIDs where known and chr:pos:ref:alt for the (most numerous) rest, found in rsID LD scores by their rsIDs
    only, were both 'by position' and the pair refused ("1000 found ... 100% ... by ids that are positions"),
    though both meet the LD scores by rsID, the same variant on either build. Now the keys found decide."""
    from edfgen.commands.ldsc_inputs import check_rg_builds
    from edfgen.formats.sumstats.zscores import ZStats

    rs = [f"rs{i}" for i in range(1000)]
    ld = pd.DataFrame({"SNP": rs})

    def trait(name, build):
        f = tmp_path / f"{name}.tsv"
        f.write_text("x\n")
        Path(f"{f}-meta.yaml").write_text(f"genome_assembly: {build}\n")
        ids = rs + [f"1:{10000 + i}:A:G" for i in range(2400)]   # 30 % rsIDs (all in the LD scores), 70 % positions
        return ZStats(name, pd.DataFrame({"variant_id": ids, "z": 1.0, "n": 1000.0}), (f,))

    with caplog.at_level("WARNING"):
        check_rg_builds({"A": trait("A", "GRCh37"), "B": trait("B", "GRCh38")}, ld, [("A", "B")])
    assert "A GRCh37: 1000 of 3400 found by rsID, B GRCh38: 1000 of 3400 found by rsID" in caplog.text, caplog.text


def test_check_prevalence_n__neffdiv2_of_cohorts_with_different_case_fractions_is_warned_not_refused(tmp_path,
                                                                                                     caplog):
    """Review of s38 (last read): q > 3/4 was refused as 'is n the number of cases?', but half the summed
    effective n of a meta-analysis of cohorts with different case fractions (PGC NEFFDIV2; 5000/395000 +
    30000/30000: n = 39873.6, q = 0.811) gives it too. Now only an n that is n_cases (within 1 %) is refused; the
    other is computed with P(1 - P) = 1/2 and a warning naming the file."""
    from edfgen.formats.sumstats.zscores import ZStats, _sample_prevalence, check_prevalence_n

    neff = 4 / (1 / 5000 + 1 / 395000) + 4 / (1 / 30000 + 1 / 30000)
    f = tmp_path / "meta.tsv"

    def zs(n):
        t = pd.DataFrame({"variant_id": ["rs1", "rs2", "rs3"], "z": 1.0, "n": n, "n_cases": 35000.0,
                          "n_controls": 425000.0})
        return {"meta": ZStats("meta", t, (f,), *_sample_prevalence(t))}

    ok = zs(neff / 2)
    assert ok["meta"].sample_pq == 0.5 and round(ok["meta"].sample_pq_seen, 3) == 0.811
    with caplog.at_level("WARNING", logger="edfgen"):
        assert check_prevalence_n(ok, {"meta": 0.01}) == {"meta": 0.01}
    assert f"{f}: its n (median 39875) gives n_cases n_controls / ((n_cases + n_controls) n) = 0.811 > 3/4" \
           in caplog.text and "the liability-scale h² of meta takes P(1 - P) = 1/2" in caplog.text, caplog.text
    with pytest.raises(InputError, match="is n the number of cases"):
        check_prevalence_n(zs(35000.0 * 1.005), {"meta": 0.01})


def test_cli_ldsc__h2_tsv_counts_each_regressions_variants_and_the_manifest_says_build_and_versions(tmp_path):
    """User read s40: a methods section needs the number of variants in each LD score regression (ldsc prints
    "After merging with regression SNP LD, N SNPs remain"), the genome build and the software versions; h2.tsv
    said neither (mean_chi2 of an unknown count), the manifest no build and no library version."""
    import json

    import scipy

    (tmp_path / "ld").mkdir()
    snp, a1, a2, z = _ldsc_inputs(tmp_path)
    # review s40user F5: 200 variants absent from the LD scores in every file, so that the merged count (what
    # ldsc reports) differs from the file's row count
    extra = np.array([f"rsabsent{i}" for i in range(200)])
    az = np.random.default_rng(5).normal(size=200)

    def with_absent(ids, e1, e2, zz):
        return (np.concatenate([ids, extra]), np.concatenate([e1, np.full(200, "A")]),
                np.concatenate([e2, np.full(200, "G")]), np.concatenate([zz, az]))

    full = _write_z(tmp_path / "full.tsv", *with_absent(snp, a1, a2, z))
    part = _write_z(tmp_path / "part.tsv", *with_absent(snp[:1000], a1[:1000], a2[:1000], z[:1000]))
    zero = _write_z(tmp_path / "allp1.tsv", *with_absent(snp[:900], a1[:900], a2[:900], np.zeros(900)))  # NA row
    assert [len(pd.read_csv(p, sep="\t")) for p in (full, part, zero)] == [1700, 1200, 1100]
    for p in (full, part, zero):
        Path(f"{p}-meta.yaml").write_text("genome_assembly: GRCh37\n")
    res = CliRunner().invoke(cli, ["ldsc", "--sumstats", full, "--sumstats", part, "--sumstats", zero,
                                   "--ref-ld-chr", str(tmp_path / "ld") + "/", "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    h2 = pd.read_csv(tmp_path / "o" / "h2.tsv", sep="\t").set_index("phenotype")
    assert h2["n_variants"].to_dict() == {"full": 1500, "part": 1000, "allp1": 900}
    man = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert man["extra"]["sumstats_genome_assembly"] == "GRCh37"
    assert man["packages"]["numpy"] == np.__version__ and man["packages"]["scipy"] == scipy.__version__
