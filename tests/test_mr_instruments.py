"""``edfgen mr`` instruments: clumping by default (checked against plink1.9 --clump at TwoSampleMR's
r² 0.001 / 10,000 kb), per-instrument rsq/F, weak-instrument and --no-clump warnings, per-instrument
Steiger (TwoSampleMR steiger_filtering formulas re-derived here) and --steiger-filter."""

from __future__ import annotations

import logging
import math
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import optimize, special, stats

from clump_sim import plink_clump, simulate_genotypes, simulate_traits
from edfgen.cli import cli
from edfgen.commands.mr import MRSettings, run_mr
from edfgen.formats.dictionary import check_file
from edfgen.exceptions import InputError

needs_plink = pytest.mark.skipif(shutil.which("plink1.9") is None, reason="plink1.9 not on PATH")


def _run(args):
    return CliRunner().invoke(cli, ["mr", *map(str, args)], catch_exceptions=False)


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    d = tmp_path_factory.mktemp("mr_inst")
    bim = simulate_genotypes(d / "geno", n=700, chromosomes=3, length=1e6, seed=3)
    simulate_traits(d / "geno", bim, traits={"qt": 5, "hr": 2}, out_dir=d / "ss", seed=5, h2_per_locus=0.1)
    return d


@needs_plink
def test_mr__clumps_by_default_like_plink19_twosamplemr_defaults(panel, tmp_path):
    exp, out = panel / "ss" / "qt.tsv.gz", panel / "ss" / "hr.tsv.gz"
    r = _run(["--exposure", exp, "--outcome", out, "--bfile", panel / "geno", "--out", tmp_path / "d", "--no-plots",
              "--nboot", 20, "--presso-sims", 0])
    assert r.exit_code == 0, r.output
    h = pd.read_csv(tmp_path / "d" / "harmonised.tsv", sep="\t")
    ref = plink_clump(panel / "geno", exp, tmp_path / "plink", p1=5e-8, p2=0.01, r2=0.001, kb=10000)
    assert len(ref) >= 2 and sorted(h["SNP"]) == sorted(ref["SNP"])
    check_file("mr_harmonised", tmp_path / "d" / "harmonised.tsv")
    # rsq.exposure: TwoSampleMR get_r_from_pn (F(1, n-1) quantile of p), F = (b/se)^2
    f_ref = stats.f.isf(h["pval.exposure"], 1, h["samplesize.exposure"] - 1)  # inf where p underflows F's isf
    ok = np.isfinite(f_ref)
    assert ok.sum() >= 2 and np.isfinite(h["rsq.exposure"]).all()
    np.testing.assert_allclose(h["rsq.exposure"][ok], (f_ref / (h["samplesize.exposure"] - 2 + f_ref))[ok],
                               rtol=1e-4)  # p-values are written with 6 significant digits
    np.testing.assert_allclose(h["F"], (h["beta.exposure"] / h["se.exposure"]) ** 2, rtol=1e-9)
    # without clumping, every genome-wide variant of the loci is an instrument, with a warning
    r = _run(["--exposure", exp, "--outcome", out, "--no-clump", "--out", tmp_path / "n", "--no-plots",
              "--nboot", 20, "--presso-sims", 0])
    assert r.exit_code == 0, r.output
    hn = pd.read_csv(tmp_path / "n" / "harmonised.tsv", sep="\t")
    ss = pd.read_csv(exp, sep="\t")
    assert len(hn) == int((ss["p_value"] < 5e-8).sum()) > len(h)
    assert "WARNING edfgen.commands.mr: --no-clump: the exposure rows with p < 5e-08" in r.output


def _instruments_of(d, exposure):
    h = pd.read_csv(d / "harmonised.tsv", sep="\t")
    return sorted(h.loc[h["exposure"] == exposure, "SNP"])


def test_mr__instrument_list_with_several_exposures_uses_each_exposures_own_clumps(panel, tmp_path):
    """review s33c F1: a listed qt variant that qt's clumping removed came back because another exposure's
    clumping kept it (the list was joined to every exposure's index variants by id only)."""
    exp, out = panel / "ss" / "qt.tsv.gz", panel / "ss" / "hr.tsv.gz"
    ss = pd.read_csv(exp, sep="\t")
    listed = ss.loc[ss["p_value"] < 5e-8, ["variant_id"]].assign(phenotype="qt")   # correlated rows: unclumped
    listed.to_csv(tmp_path / "list.tsv", sep="\t", index=False)
    args = ["--outcome", out, "--instruments", tmp_path / "list.tsv", "--bfile", panel / "geno", "--no-plots",
            "--nboot", 20, "--presso-sims", 0]
    r = _run(["--exposure", exp, "--out", tmp_path / "one", *args])
    assert r.exit_code == 0, r.output
    one = _instruments_of(tmp_path / "one", "qt")
    dropped = sorted(set(listed["variant_id"]) - set(one))
    assert len(one) >= 2 and dropped
    # a second exposure whose only variant is one that qt's clumping dropped: it leads that exposure's clump
    (tmp_path / "b").mkdir()
    ss[ss["variant_id"] == dropped[0]].to_csv(tmp_path / "b" / "other.tsv.gz", sep="\t", index=False)
    r = _run(["--exposure", exp, "--exposure", tmp_path / "b" / "other.tsv.gz", "--out", tmp_path / "two", *args])
    assert r.exit_code == 0, r.output
    assert _instruments_of(tmp_path / "two", "qt") == one


@needs_plink
def test_mr__instrument_list_taken_as_given_is_clumped_on_its_own_rows_like_plink19(panel, tmp_path):
    """review s33d F1: the whole exposure file was clumped, so an unlisted stronger variant absorbed listed
    instruments, silently; TwoSampleMR's clump_data clumps the listed rows only."""
    exp, out = panel / "ss" / "qt.tsv.gz", panel / "ss" / "hr.tsv.gz"
    ss = pd.read_csv(exp, sep="\t")
    top = plink_clump(panel / "geno", exp, tmp_path / "all", p1=5e-8, p2=1, r2=0.001, kb=10000)["SNP"]
    rows = ss[(ss["p_value"] < 5e-8) & ~ss["variant_id"].isin(top)]     # each locus without its index variant
    rows.to_csv(tmp_path / "listed.tsv.gz", sep="\t", index=False)
    rows[["variant_id"]].assign(phenotype="qt").to_csv(tmp_path / "list.tsv", sep="\t", index=False)
    ref = plink_clump(panel / "geno", tmp_path / "listed.tsv.gz", tmp_path / "listed", p1=1, p2=1, r2=0.001,
                      kb=10000)
    assert len(ref) >= 2
    r = _run(["--exposure", exp, "--outcome", out, "--instruments", tmp_path / "list.tsv", "--bfile",
              panel / "geno", "--out", tmp_path / "d", "--no-plots", "--nboot", 20, "--presso-sims", 0])
    assert r.exit_code == 0, r.output
    assert _instruments_of(tmp_path / "d", "qt") == sorted(ref["SNP"])
    assert (f"{len(rows) - len(ref)} of {len(rows)} listed instruments of qt are in LD with a stronger variant "
            "(clumping): left out") in r.output


def test_mr__instrument_list_taken_as_given_unless_p_threshold_and_left_out_counted(panel, tmp_path):
    """review s33c F3: a listed instrument with p >= 5e-8 was dropped by the default --p-threshold, and an id
    missing from the exposure was dropped, both silently (TwoSampleMR does not threshold a given list)."""
    exp, out = panel / "ss" / "qt.tsv.gz", panel / "ss" / "hr.tsv.gz"
    ss = pd.read_csv(exp, sep="\t").sort_values("p_value")
    strong = list(ss["variant_id"].iloc[:2])
    weak = ss.loc[(ss["p_value"] > 1e-4) & (ss["p_value"] < 1e-2), "variant_id"].iloc[0]
    pd.DataFrame({"variant_id": [*strong, weak, "rs_notthere"], "phenotype": "qt"}).to_csv(
        tmp_path / "list.tsv", sep="\t", index=False)
    args = ["--exposure", exp, "--outcome", out, "--instruments", tmp_path / "list.tsv", "--no-plots",
            "--nboot", 20, "--presso-sims", 0]
    r = _run([*args, "--out", tmp_path / "given"])
    assert r.exit_code == 0, r.output
    assert _instruments_of(tmp_path / "given", "qt") == sorted([*strong, weak])
    assert "1 of 4 listed instruments of qt are not in the file: left out" in r.output
    r = _run([*args, "--p-threshold", 5e-8, "--out", tmp_path / "thr"])
    assert r.exit_code == 0, r.output
    assert _instruments_of(tmp_path / "thr", "qt") == sorted(strong)
    assert "1 of 3 listed instruments of qt have p >= 5e-08 (--p-threshold): left out" in r.output


def test_run_mr__library_default_takes_an_instrument_list_as_given_like_the_cli(shared_data, tmp_path):
    """s34d finding 1: MRSettings defaulted p_threshold to 5e-8, so run_mr(instruments=...) thinned a list that
    `edfgen mr --instruments` takes as given. TwoSampleMR fixture (BMI -> CHD, 79 SNPs) with 10 SNPs' exposure p
    raised to 1e-6 (no estimate uses p): the list of all 79 gives TwoSampleMR's IVW 0.4459."""
    d = shared_data / "mr"
    exp = pd.read_csv(d / "twosamplemr_test_commondata_exp_dat.csv")
    exp.loc[exp.index[:10], "pval.exposure"] = 1e-6
    exp.to_csv(tmp_path / "bmi.csv", index=False)
    exp[["SNP"]].rename(columns={"SNP": "variant_id"}).to_csv(tmp_path / "list.tsv", sep="\t", index=False)
    kw = {"instruments": tmp_path / "list.tsv", "plots": False}
    r = run_mr(tmp_path / "bmi.csv", d / "twosamplemr_test_commondata_out_dat.csv", None,
               settings=MRSettings(nboot=20, presso=False), **kw)
    ivw = r.tables["mr_results"].set_index("method").loc["Inverse variance weighted"]
    assert ivw["nsnp"] == 79 and ivw["b"] == pytest.approx(0.4459, abs=1e-3)
    thr = run_mr(tmp_path / "bmi.csv", d / "twosamplemr_test_commondata_out_dat.csv", None,
                 settings=MRSettings(p_threshold=5e-8, nboot=20, presso=False), **kw)
    assert thr.tables["mr_results"].set_index("method").at["Inverse variance weighted", "nsnp"] == 69
    # without a list the default is genome-wide, as the command line's
    assert MRSettings().instrument_threshold(listed=False) == 5e-8
    assert MRSettings().instrument_threshold(listed=True) is None
    assert MRSettings(p_threshold=1e-5).instrument_threshold(listed=True) == 1e-5
    nolist = run_mr(tmp_path / "bmi.csv", d / "twosamplemr_test_commondata_out_dat.csv", None, clump=False,
                    plots=False, settings=MRSettings(nboot=20, presso=False))
    assert len(nolist.harmonised) == 69
    # an explicit None keeps its meaning from before the default (review rev34 #3): every row of a pre-selected file
    assert MRSettings(p_threshold=None).instrument_threshold(listed=False) is None
    every = run_mr(tmp_path / "bmi.csv", d / "twosamplemr_test_commondata_out_dat.csv", None, clump=False,
                   plots=False, settings=MRSettings(p_threshold=None, nboot=20, presso=False))
    assert len(every.harmonised) == 79
    with pytest.raises(InputError, match="clumping every row of the exposure files needs an index-variant threshold"):
        run_mr(tmp_path / "bmi.csv", d / "twosamplemr_test_commondata_out_dat.csv", None, plots=False,
               settings=MRSettings(p_threshold=None, nboot=20, presso=False), ld_bfile=str(tmp_path / "none"))


def test_mr__instrument_list_naming_no_exposure_is_a_one_line_error(panel, tmp_path):
    """review s33d F8: a list whose phenotype column names no exposure (a renamed file) said only "no instruments
    selected in any file"."""
    exp, out = panel / "ss" / "qt.tsv.gz", panel / "ss" / "hr.tsv.gz"
    ss = pd.read_csv(exp, sep="\t").sort_values("p_value")
    ids = list(ss["variant_id"].iloc[:2])
    pd.DataFrame({"variant_id": ids, "phenotype": ["qt_interval_ms", "heart_rate"]}).to_csv(
        tmp_path / "list.tsv", sep="\t", index=False)
    r = _run(["--exposure", exp, "--outcome", out, "--instruments", tmp_path / "list.tsv", "--no-plots",
              "--out", tmp_path / "d"])
    assert r.exit_code != 0
    assert r.output.strip().splitlines()[-1] == (
        f"edfgen mr: error: --instruments {tmp_path / 'list.tsv'}: its phenotype column names heart_rate, "
        "qt_interval_ms, but no --exposure file is called that (qt); rename the files or the list's phenotypes "
        "(a list without a phenotype column is joined by variant id only)")
    pd.DataFrame({"variant_id": ids}).to_csv(tmp_path / "ids.tsv", sep="\t", index=False)   # by variant id: used
    r = _run(["--exposure", exp, "--outcome", out, "--instruments", tmp_path / "ids.tsv", "--no-plots",
              "--nboot", 20, "--presso-sims", 0, "--out", tmp_path / "i"])
    assert r.exit_code == 0, r.output
    assert _instruments_of(tmp_path / "i", "qt") == sorted(ids)


def test_mr__instruments_missing_from_the_ld_panel_warn_without_naming_a_rejects_file(panel, tmp_path):
    """review s33c F7: the warning pointed to a rejects.tsv that mr does not write."""
    exp, out = panel / "ss" / "qt.tsv.gz", panel / "ss" / "hr.tsv.gz"
    bim = pd.read_csv(panel / "geno.bim", sep="\t", header=None)
    top = pd.read_csv(exp, sep="\t").sort_values("p_value")["variant_id"].iloc[0]
    bim.loc[bim[1] != top, [1]].to_csv(tmp_path / "extract.txt", header=False, index=False)
    r = _run(["--exposure", exp, "--outcome", out, "--bfile", panel / "geno", "--extract", tmp_path / "extract.txt",
              "--out", tmp_path / "d", "--no-plots", "--nboot", 20, "--presso-sims", 0])
    assert r.exit_code == 0, r.output
    assert f"are not in the LD panel, so they cannot lead a locus (strongest: {top} of qt" in r.output
    assert "they are not used as instruments" in r.output and "rejects.tsv" not in r.output
    assert not (tmp_path / "d" / "rejects.tsv").exists() and top not in _instruments_of(tmp_path / "d", "qt")


def test_mr__listed_instruments_missing_from_the_ld_panel_are_counted_as_such_not_as_in_ld(panel, tmp_path):
    """s34d finding 2: a listed instrument the LD panel lacks was counted as 'in LD with a stronger variant', with
    the list taken as given and with --p-threshold; it is counted and named as not in the LD panel."""
    exp, out = panel / "ss" / "qt.tsv.gz", panel / "ss" / "hr.tsv.gz"
    ss = pd.read_csv(exp, sep="\t").sort_values("p_value")
    top, second = ss["variant_id"].iloc[0], ss.loc[ss["chromosome"] != ss["chromosome"].iloc[0], "variant_id"].iloc[0]
    pd.DataFrame({"variant_id": [top, second], "phenotype": "qt"}).to_csv(tmp_path / "list.tsv", sep="\t",
                                                                          index=False)
    bim = pd.read_csv(panel / "geno.bim", sep="\t", header=None)
    bim.loc[bim[1] != top, [1]].to_csv(tmp_path / "extract.txt", header=False, index=False)
    args = ["--exposure", exp, "--outcome", out, "--instruments", tmp_path / "list.tsv", "--bfile", panel / "geno",
            "--extract", tmp_path / "extract.txt", "--no-plots", "--nboot", 20, "--presso-sims", 0]
    for extra in ([], ["--p-threshold", 5e-8]):
        r = _run([*args, *extra, "--out", tmp_path / f"d{len(extra)}"])
        assert r.exit_code == 0, r.output
        assert f"1 of 2 listed instruments of qt are not in the LD panel ({top}): left out" in r.output
        assert "in LD with a stronger variant" not in r.output
        assert _instruments_of(tmp_path / f"d{len(extra)}", "qt") == [second]
    assert "1 variant(s) are not in the LD panel" in r.output.replace("with p <= 5e-08 ", "")


def test_mr__weak_instruments_warn(tmp_path, caplog):
    rng = np.random.default_rng(1)
    k = 8
    ids = [f"rs{i}" for i in range(k)]
    se = np.full(k, 0.02)
    b = rng.choice([-1, 1], k) * 0.05  # F = 6.25
    base = {"variant_id": ids, "effect_allele": "A", "other_allele": "G", "effect_allele_frequency": 0.3}
    pd.DataFrame({**base, "beta": b, "standard_error": se, "p_value": 2 * stats.norm.sf(np.abs(b / se)),
                  "n": 2500}).to_csv(tmp_path / "e.tsv", sep="\t", index=False)
    pd.DataFrame({**base, "beta": 0.2 * b + rng.normal(0, 0.01, k), "standard_error": 0.01, "p_value": 0.5,
                  "n": 10000}).to_csv(tmp_path / "o.tsv", sep="\t", index=False)
    with caplog.at_level(logging.WARNING):
        run_mr(tmp_path / "e.tsv", tmp_path / "o.tsv", None, clump=False, plots=False,
               settings=MRSettings(p_threshold=1.0, nboot=20, presso=False))
    assert any("weak instruments, mean F = 6.2" in m for m in caplog.messages)


def _r_test_p(r1, r2, n1, n2):
    """psych::r.test, two independent correlations: z of the Fisher-z difference, two-sided p."""
    z = (np.arctanh(r1) - np.arctanh(r2)) / np.sqrt(1 / (n1 - 3) + 1 / (n2 - 3))
    return 2 * stats.norm.cdf(-np.abs(z))


def _liability_r2(lor, af, ncase, nctrl, prev):
    """TwoSampleMR get_r_from_lor by brute force: the case/control allele frequencies of the 2x2 table with
    the observed odds ratio and margins solved by root finding, then Lee 2012 eq. 10."""
    prop = ncase / (ncase + nctrl)
    out = []
    for b, f in zip(lor, af):
        odds = math.exp(b)

        def gap(fc):  # allele frequency in cases -> in controls from the margin; OR mismatch
            fk = (f - prop * fc) / (1 - prop)
            return math.log(fc / (1 - fc)) - math.log(fk / (1 - fk)) - math.log(odds)
        lo, hi = max(0.0, (f - (1 - prop)) / prop) + 1e-9, min(1.0, f / prop) - 1e-9  # both frequencies in (0, 1)
        fc = optimize.brentq(gap, lo, hi, xtol=1e-15)
        fk = (f - prop * fc) / (1 - prop)
        pop = fk * (1 - prev) + fc * prev
        vg = b * b * pop * (1 - pop)
        out.append(vg / (vg + math.pi ** 2 / 3))
    return np.array(out)


def test_mr__per_instrument_steiger_and_filter(shared_data, tmp_path):
    """Fixture BMI -> CHD with CHD as a case/control outcome (60,801 cases, prevalence 5%): per-variant
    rsq and Steiger p re-derived from the TwoSampleMR/psych formulas; the pair-level Steiger uses the same
    r²; --steiger-filter drops a variant planted to act on the outcome more than on the exposure."""
    d = shared_data / "mr"
    exp = pd.read_csv(d / "twosamplemr_test_commondata_exp_dat.csv")
    out = pd.read_csv(d / "twosamplemr_test_commondata_out_dat.csv")
    out["ncase.outcome"], out["ncontrol.outcome"] = 60801, 184305 - 60801
    rev = exp["SNP"].iloc[0]
    out.loc[out["SNP"] == rev, ["beta.outcome", "se.outcome"]] = [0.3, 0.01]  # reverse-direction variant
    exp.to_csv(tmp_path / "e.csv", index=False)
    out.to_csv(tmp_path / "o.csv", index=False)
    args = ["--exposure", tmp_path / "e.csv", "--outcome", tmp_path / "o.csv", "--no-clump", "--no-plots",
            "--nboot", 20, "--presso-sims", 0, "--prevalence", 0.05]
    assert _run([*args, "--out", tmp_path / "a"]).exit_code == 0
    h = pd.read_csv(tmp_path / "a" / "harmonised.tsv", sep="\t")
    k = h[h["mr_keep"]]
    e = exp.set_index("SNP").loc[k["SNP"]]  # the input's p-values (harmonised.tsv rounds to 6 digits)
    n_x = e["samplesize.exposure"].to_numpy(float)
    # F(1, n-1) quantile of p through the incomplete beta function (P(F > f) = I_{v/(v+f)}(v/2, 1/2))
    x = special.betaincinv((n_x - 1) / 2, 0.5, e["pval.exposure"].to_numpy(float))
    f_ref = (n_x - 1) * (1 - x) / x
    rsq_x = f_ref / (n_x - 2 + f_ref)
    rsq_y = _liability_r2(k["beta.outcome"].to_numpy(), k["eaf.outcome"].to_numpy(), 60801.0, 184305.0 - 60801,
                          0.05)
    ref_p = _r_test_p(np.sqrt(rsq_x), np.sqrt(rsq_y), n_x, 184305.0)
    rel = lambda a, b: np.max(np.abs(a - b) / np.abs(b))  # noqa: E731
    assert rel(k["rsq.exposure"].to_numpy(), rsq_x) < 1e-6
    assert rel(k["rsq.outcome"].to_numpy(), rsq_y) < 1e-6
    assert rel(k["steiger_pval"].to_numpy(), ref_p) < 1e-6
    assert (k["steiger_dir"] == (rsq_x > rsq_y)).all()
    assert not k.set_index("SNP").at[rev, "steiger_dir"] and k["steiger_dir"].sum() >= len(k) - 3
    st = pd.read_csv(tmp_path / "a" / "mr_steiger.tsv", sep="\t").iloc[0]
    assert st["snp_r2.exposure"] == pytest.approx(rsq_x.sum(), rel=1e-6)
    assert st["snp_r2.outcome"] == pytest.approx(rsq_y.sum(), rel=1e-6)
    assert st["steiger_pval"] == pytest.approx(_r_test_p(math.sqrt(rsq_x.sum()), math.sqrt(rsq_y.sum()),
                                                         n_x.mean(), 184305.0), rel=1e-6)
    assert st["correct_causal_direction"]
    # --steiger-filter: the reverse variant is dropped, the estimates use the others
    assert _run([*args, "--out", tmp_path / "f", "--steiger-filter"]).exit_code == 0
    hf = pd.read_csv(tmp_path / "f" / "harmonised.tsv", sep="\t").set_index("SNP")
    assert hf.at[rev, "reason"] == "steiger_reverse" and not hf.at[rev, "mr_keep"]
    assert set(hf.index[hf["reason"] == "steiger_reverse"]) == set(k.loc[~k["steiger_dir"].astype(bool), "SNP"])
    res = pd.read_csv(tmp_path / "f" / "mr_results.tsv", sep="\t").set_index("method")
    assert res.at["Inverse variance weighted", "nsnp"] == k["steiger_dir"].sum()


@needs_plink
def test_mr_multivariable__union_reclumped_on_smallest_p_like_plink19(panel, tmp_path):
    """TwoSampleMR mv_extract_exposures: the union of both exposures' genome-wide variants, clumped on
    each variant's smallest p across the exposures."""
    ss = [pd.read_csv(panel / "ss" / f"{t}.tsv.gz", sep="\t") for t in ("qt", "hr")]
    union = pd.concat(ss).query("p_value < 5e-8").groupby("variant_id", as_index=False)["p_value"].min()
    union.to_csv(tmp_path / "union.tsv.gz", sep="\t", index=False)
    ref = plink_clump(panel / "geno", tmp_path / "union.tsv.gz", tmp_path / "plink", p1=5e-8, p2=0.01, r2=0.001,
                      kb=10000)
    from edfgen.commands.mr_multivariable import run_mvmr

    res = run_mvmr([panel / "ss" / "qt.tsv.gz", panel / "ss" / "hr.tsv.gz"], [panel / "ss" / "qt.tsv.gz"], None,
                   p_threshold=5e-8, ld_bfile=panel / "geno")
    assert sorted(res.instruments["qt"]) == sorted(ref["SNP"]) and len(ref) >= 3


def test_variant_r__p_underflow_uses_beta_se_n():
    """An instrument with p = 0 (an underflow: REGENIE LOG10P > 323) was clipped to 1e-300, so its r² was
    underestimated (z = 50: 0.066 instead of 0.111, review finding); beta, se and n give it, as
    TwoSampleMR's get_r_from_bsen."""
    from edfgen.commands.mr_instruments import variant_r

    h = pd.DataFrame({"beta_exposure": [0.5, 0.05], "se_exposure": [0.01, 0.01], "p_exposure": [0.0, 5.7e-7],
                      "n_exposure": [20000.0, 20000.0], "eaf_exposure": [0.3, 0.3]})
    r, n, src = variant_r(h, "exposure", None, None)
    F = np.array([2500.0, 25.0])
    assert src == "p_n" and r[0] ** 2 == pytest.approx(F[0] / (20000 - 2 + F[0]), rel=1e-9)
    assert r[1] ** 2 == pytest.approx(F[1] / (20000 - 2 + F[1]), rel=1e-2)   # from p and n, as before


def test_say_thinned__one_line_per_exposure_up_to_five_then_one_line_for_all(caplog):
    """The demo (128 EDFs, clumps.tsv's r2 0.1 index variants re-clumped at r2 0.001) printed 91 INFO lines, one per
    EDF, of listed instruments in LD with a stronger variant (stop 39): up to five exposures keep a line each,
    more get one line with the totals."""
    from edfgen.commands.mr_instruments import say_thinned

    rows = [(f"e{i}.tsv.gz", f"e{i}", i, 10) for i in range(1, 8)]
    with caplog.at_level("INFO", logger="edfgen"):
        say_thinned(rows[:5])
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"e{i}.tsv.gz: {i} of 10 listed instruments of e{i} are in LD with a stronger variant "
                     "(clumping): left out" for i in range(1, 6)]
    caplog.clear()
    with caplog.at_level("INFO", logger="edfgen"):
        say_thinned(rows)
    assert [r.getMessage() for r in caplog.records] == [
        "28 of 70 listed instruments of 7 exposures are in LD with a stronger variant (clumping): left out "
        "(e1 1 of 10, e2 2 of 10, e3 3 of 10, ...)"]


@needs_plink
@pytest.mark.filterwarnings("error::RuntimeWarning")    # (nboot=0, presso_sims=0: no numpy warning)
def test_mr__clumping_does_not_pick_a_strong_row_of_an_instrument_on_rows_that_disagree(panel, tmp_path, caplog):
    """Review s42sumfix finding 1, clumping path: clumping keeps the smallest p of a repeated id, and the p filter
    dropped the weak row before the 'rows that differ' check, so a clump index on a strong and a weak row that
    disagree was used with the strong row's values (a pick). select_instruments now leaves it out before any
    threshold, and keep_clumped keeps only selected rows: the index is not an instrument, named in a warning."""
    exp, out = panel / "ss" / "qt.tsv.gz", panel / "ss" / "hr.tsv.gz"
    base = run_mr(exp, out, None, ld_bfile=panel / "geno", settings=MRSettings(nboot=0, presso_sims=0),
                  plots=False).harmonised
    ss = pd.read_csv(exp, sep="\t")
    snp = str(base["variant_id"].iloc[0])
    weak = ss[ss["variant_id"] == snp].assign(beta=1e-4, p_value=0.5)
    f = tmp_path / "qt.tsv"
    pd.concat([ss, weak]).to_csv(f, sep="\t", index=False)
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        got = run_mr(f, out, None, ld_bfile=panel / "geno", settings=MRSettings(nboot=0, presso_sims=0),
                     plots=False).harmonised
    assert snp not in set(got["variant_id"]) and len(got) >= 1
    assert f"instrument(s) of qt on several rows with the same alleles and different values or positions " \
           f"(e.g. '{snp}' on 2 rows): left out" in caplog.text
