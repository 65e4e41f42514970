"""``edfgen mr --multivariable`` on a simulated lipid-like study (three correlated exposures, like LDL/HDL/TG
-> CHD; simulated because the shared fixture holds only BMI -> CHD): MVMR-IVW against statsmodels WLS
(MendelianRandomization ``mr_mvivw`` SE rule), conditional F and Q_A against a loop re-implementation of
MVMR's ``strength_mvmr``/``pleiotropy_mvmr`` (statsmodels OLS for the delta regressions)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from scipy import stats

from edfgen.cli import cli
from edfgen.formats.dictionary import check_file
from edfgen.kernels.mr.multivariable import mvmr_ivw

NAMES = ("ldl", "hdl", "tg")
THETA = np.array([0.4, -0.1, 0.0])


def _study(rng, k=90, extra_pleio=0.0, y_noise=1.0):
    """Variant-exposure effects with shared pathways (correlated betas), outcome with direct effects THETA."""
    g = rng.normal(0, 0.04, (k, 3))
    g[:, 2] += 0.5 * g[:, 0] - 0.3 * g[:, 1]
    sx = rng.uniform(0.004, 0.007, (k, 3))
    bx = g + rng.normal(0, sx)
    sy = rng.uniform(0.008, 0.012, k)
    by = g @ THETA + rng.normal(0, y_noise * sy) + extra_pleio * rng.normal(0, 0.02, k)
    return bx, sx, by, sy


def _reference(bx, sx, by, sy):
    k, p = bx.shape
    fit = sm.WLS(by, bx, weights=sy ** -2).fit()
    sigma = np.sqrt(fit.scale)
    se = fit.bse / min(1.0, sigma)
    f = []
    for j in range(p):                                    # strength_mvmr, gencov = 0
        others = [i for i in range(p) if i != j]
        delta = sm.OLS(bx[:, j], bx[:, others]).fit().params
        s2 = sx[:, j] ** 2
        for d, i in zip(delta, others):
            s2 = s2 + sx[:, i] ** 2 * d ** 2
        sub = sum(d * bx[:, i] for d, i in zip(delta, others))
        f.append(np.sum((bx[:, j] - sub) ** 2 / s2) / k)
    s2a = sy ** 2 + sum(fit.params[j] ** 2 * sx[:, j] ** 2 for j in range(p))   # pleiotropy_mvmr
    q = np.sum((by - bx @ fit.params) ** 2 / s2a)
    return fit.params, se, 2 * stats.norm.sf(np.abs(fit.params / se)), np.array(f), q, stats.chi2.sf(q, k - p - 1)


@pytest.mark.parametrize("pleio", [0.0, 1.0], ids=["fixed", "random"])
def test_mvmr_ivw__matches_statsmodels_and_mvmr_formulas(pleio):
    bx, sx, by, sy = _study(np.random.default_rng(3), extra_pleio=pleio, y_noise=0.5 if pleio == 0 else 1.0)
    r = mvmr_ivw(bx, by, sx, sy)
    b, se, p, f, q, qp = _reference(bx, sx, by, sy)
    for got, ref in ((r.b, b), (r.se, se), (r.pval, p), (r.conditional_f, f)):
        assert np.max(np.abs(got - ref) / np.abs(ref)) < 1e-9
    assert r.q_a == pytest.approx(q, rel=1e-10) and r.q_a_pval == pytest.approx(qp, rel=1e-8)
    assert r.q_a_df == len(by) - 4
    assert (r.sigma > 1) == (pleio > 0)                     # both SE branches of mr_mvivw exercised


def test_mr_cli__multivariable_end_to_end(tmp_path):
    rng = np.random.default_rng(7)
    bx, sx, by, sy = _study(rng, k=60)
    ids = [f"rs{i}" for i in range(60)]
    flip = rng.random(60) < 0.3                              # other-allele coding in the HDL file
    for j, n in enumerate(NAMES):
        b = np.where(flip, -bx[:, j], bx[:, j]) if n == "hdl" else bx[:, j]
        pd.DataFrame({"variant_id": ids, "effect_allele": np.where(flip & (n == "hdl"), "G", "A"),
                      "other_allele": np.where(flip & (n == "hdl"), "A", "G"), "beta": b,
                      "standard_error": sx[:, j], "p_value": 2 * stats.norm.sf(np.abs(b / sx[:, j])),
                      "effect_allele_frequency": np.where(flip & (n == "hdl"), 0.7, 0.3), "n": 90000}).to_csv(
            tmp_path / f"{n}.tsv", sep="\t", index=False)
    pd.DataFrame({"variant_id": ids, "effect_allele": "A", "other_allele": "G", "beta": by, "standard_error": sy,
                  "p_value": 2 * stats.norm.sf(np.abs(by / sy)), "effect_allele_frequency": 0.3,
                  "n": 200000}).to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    pd.DataFrame({"variant_id": ids}).to_csv(tmp_path / "inst.tsv", sep="\t", index=False)
    args = ["mr", "--multivariable", *sum((["--exposure", str(tmp_path / f"{n}.tsv")] for n in NAMES), []),
            "--outcome", str(tmp_path / "chd.tsv"), "--instruments", str(tmp_path / "inst.tsv"), "--p-threshold", 1,
            "--out", str(tmp_path / "mv")]
    r = CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    check_file("mvmr_results", tmp_path / "mv" / "mvmr_results.tsv")
    # the instruments used, each trait's effect on the first exposure's allele (HDL's flipped rows turned back)
    check_file("mvmr_harmonised", tmp_path / "mv" / "mvmr_harmonised.tsv")
    h = pd.read_csv(tmp_path / "mv" / "mvmr_harmonised.tsv", sep="\t")
    assert len(h) == 60 * 4 and h["mr_keep"].all() and set(h["reason"]) == {"kept"}
    assert (h["effect_allele"] == "A").all() and list(h.drop_duplicates("trait")["role"]) == ["exposure"] * 3 + ["outcome"]
    wide = h.pivot(index="variant_id", columns="trait", values="beta").loc[ids]
    np.testing.assert_allclose(wide[list(NAMES)].to_numpy(), bx, rtol=1e-12)
    np.testing.assert_allclose(wide["chd"].to_numpy(), by, rtol=1e-12)
    res = pd.read_csv(tmp_path / "mv" / "mvmr_results.tsv", sep="\t").set_index("exposure")
    b, se, p, f, q, _ = _reference(bx, sx, by, sy)
    np.testing.assert_allclose(res.loc[list(NAMES), "b"], b, rtol=1e-5)
    np.testing.assert_allclose(res.loc[list(NAMES), "se"], se, rtol=1e-5)
    np.testing.assert_allclose(res.loc[list(NAMES), "conditional_f"], f, rtol=1e-5)
    assert (res["nsnp"] == 60).all() and res["q_a"].iloc[0] == pytest.approx(q, rel=1e-5)
    assert res.at["ldl", "pval"] < 1e-6 and res.at["tg", "pval"] > 1e-3
    # MendelianRandomization's mr_mvivw interval, b -/+ qnorm(0.975) se (data_dictionary/mvmr_results.tsv said 1.96)
    np.testing.assert_allclose(res["lo_ci"], res["b"] - stats.norm.ppf(0.975) * res["se"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res["up_ci"], res["b"] + stats.norm.ppf(0.975) * res["se"], rtol=1e-12, atol=1e-12)
    # one exposure is refused; the univariable tables are not written
    r = CliRunner().invoke(cli, ["mr", "--multivariable", "--exposure", str(tmp_path / "ldl.tsv"), "--outcome",
                                 str(tmp_path / "chd.tsv"), "--no-clump", "--out", str(tmp_path / "one")])
    assert r.exit_code == 2 and "two or more exposures" in r.output


def test_mr_cli__multivariable_reads_only_mr_columns_and_keys_only_candidate_rows(tmp_path, monkeypatch):
    """Full summary statistics (the instruments among many null variants, GWAS-SSF columns MR does not use) are
    read as the univariable path reads them: only MR's columns, fast, and the outcome and the other exposures keyed
    on the rows an instrument can match (s37mr: --multivariable read every file whole and keyed every row of a
    2M-row outcome); the estimates are those of the instruments alone."""
    import edfgen.commands.mr_multivariable as mv

    rng = np.random.default_rng(11)
    k, null = 40, 2000
    bx, sx, by, sy = _study(rng, k=k)
    ids = [f"rs{i}" for i in range(k + null)]

    def gwas(b, s):
        b = np.r_[b, rng.normal(0, 0.001, null)]
        s = np.r_[s, np.full(null, 0.01)]
        return pd.DataFrame({"variant_id": ids, "chromosome": 1, "base_pair_location": np.arange(k + null) * 10 + 5,
                             "effect_allele": "A", "other_allele": "G", "beta": b, "standard_error": s,
                             "ci_lower": b - 1.96 * s, "ci_upper": b + 1.96 * s,
                             "p_value": 2 * stats.norm.sf(np.abs(b / s)), "effect_allele_frequency": 0.3, "n": 1e5})

    for j, n in enumerate(NAMES):
        gwas(bx[:, j], sx[:, j]).to_csv(tmp_path / f"{n}.tsv", sep="\t", index=False)
    gwas(by, sy).to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    pd.DataFrame({"variant_id": ids[:k]}).to_csv(tmp_path / "inst.tsv", sep="\t", index=False)
    read, keyed = [], []
    load, key = mv.load_phenotype, mv.key_outcome
    monkeypatch.setattr(mv, "load_phenotype", lambda *a, **kw: read.append(kw.get("only_mr_columns")) or load(*a, **kw))
    monkeypatch.setattr(mv, "key_outcome", lambda df, *a, **kw: keyed.append(len(df)) or key(df, *a, **kw))
    run = mv.run_mvmr([tmp_path / f"{n}.tsv" for n in NAMES], [tmp_path / "chd.tsv"], None, p_threshold=None,
                      clump=False, instruments=tmp_path / "inst.tsv")
    assert read == [True] * 4                                 # three exposures and the outcome
    assert len(keyed) == 3 and max(keyed) <= k + 1            # the instruments' rows (and the first, kept always)
    b, se, _, f, q, _ = _reference(bx, sx, by, sy)
    res = run.results.set_index("exposure").loc[list(NAMES)]
    np.testing.assert_allclose(res["b"], b, rtol=1e-9)
    np.testing.assert_allclose(res["se"], se, rtol=1e-9)
    np.testing.assert_allclose(res["conditional_f"], f, rtol=1e-9)


def test_mr_cli__multivariable_refuses_options_it_does_not_implement(tmp_path):
    """--reverse, --steiger-filter and --coloc-pp4 were silently ignored by --multivariable (--reverse ran the
    forward direction: the wrong analysis); they are refused in one line. --coloc alone (it does nothing without
    --coloc-pp4), --proxies and --methods leave the MVMR-IVW asked for unchanged: run, with one warning that they
    are not used, as the univariable settings (--nboot, --wald-se, ...) are (review of s37mr, finding 2: they had
    become refusals, exit 2, for runs that used to give valid results)."""
    bx, sx, by, sy = _study(np.random.default_rng(5), k=30)
    ids = [f"rs{i}" for i in range(30)]
    for j, n in enumerate(NAMES):
        pd.DataFrame({"variant_id": ids, "effect_allele": "A", "other_allele": "G", "beta": bx[:, j],
                      "standard_error": sx[:, j], "p_value": 2 * stats.norm.sf(np.abs(bx[:, j] / sx[:, j])),
                      "effect_allele_frequency": 0.3, "n": 90000}).to_csv(tmp_path / f"{n}.tsv", sep="\t", index=False)
    pd.DataFrame({"variant_id": ids, "effect_allele": "A", "other_allele": "G", "beta": by, "standard_error": sy,
                  "p_value": 2 * stats.norm.sf(np.abs(by / sy)), "effect_allele_frequency": 0.3,
                  "n": 200000}).to_csv(tmp_path / "chd.tsv", sep="\t", index=False)
    coloc = tmp_path / "coloc.tsv"
    coloc.write_text("exposure\toutcome\n")
    base = ["mr", "--multivariable", *sum((["--exposure", str(tmp_path / f"{n}.tsv")] for n in NAMES), []),
            "--outcome", str(tmp_path / "chd.tsv"), "--no-clump", "--p-threshold", 1]
    for extra, named in ((["--reverse"], "--reverse"), (["--steiger-filter", "--proxies"], "--steiger-filter"),
                         (["--coloc", coloc, "--coloc-pp4", 0.8], "--coloc-pp4")):
        r = CliRunner().invoke(cli, list(map(str, [*base, *extra, "--out", tmp_path / "no"])))
        assert r.exit_code == 2 and f"does not implement {named} (" in r.output, r.output
        assert not (tmp_path / "no").exists()
    r = CliRunner().invoke(cli, list(map(str, [*base, "--out", tmp_path / "ref"])), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    ref = pd.read_csv(tmp_path / "ref" / "mvmr_results.tsv", sep="\t")
    r = CliRunner().invoke(cli, list(map(str, [*base, "--nboot", 50, "--wald-se", "second", "--coloc", coloc,
                                               "--proxies", "--methods", "egger", "--out", tmp_path / "mv"])),
                           catch_exceptions=False)
    assert r.exit_code == 0, r.output
    assert "--multivariable: --nboot, --wald-se, --coloc, --proxies, --methods not used" in r.output
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "mv" / "mvmr_results.tsv", sep="\t"), ref)
    assert len(ref) == 3


def test_mvmr__outcome_flipped_or_reordered_and_exposure_in_other_units(tmp_path):
    """Metamorphic checks of run_mvmr: the outcome's alleles swapped (beta negated, eaf 1-eaf) or its rows
    reordered change nothing; an exposure in units 10x (beta, se x10) divides its direct effect and SE by 10 and
    moves no p-value, conditional F or Q_A."""
    from edfgen.commands.mr_multivariable import run_mvmr

    rng = np.random.default_rng(9)
    bx, sx, by, sy = _study(rng, k=50)
    ids = [f"rs{i}" for i in range(50)]

    def ssf(b, s, ea="A", oa="G", eaf=0.3):
        return pd.DataFrame({"variant_id": ids, "effect_allele": ea, "other_allele": oa, "beta": b,
                             "standard_error": s, "p_value": 2 * stats.norm.sf(np.abs(b / s)),
                             "effect_allele_frequency": eaf, "n": 1e5})

    def mvmr(folder, exposures, outcome):
        d = tmp_path / folder
        d.mkdir()
        for n, df in zip(NAMES, exposures):
            df.to_csv(d / f"{n}.tsv", sep="\t", index=False)
        outcome.to_csv(d / "chd.tsv", sep="\t", index=False)
        return run_mvmr([d / f"{n}.tsv" for n in NAMES], [d / "chd.tsv"], None, p_threshold=1.0,
                        clump=False).results.set_index("exposure")

    exposures = [ssf(bx[:, j], sx[:, j]) for j in range(3)]
    ref = mvmr("ref", exposures, ssf(by, sy))
    swapped = mvmr("swapped", exposures, ssf(-by, sy, ea="G", oa="A", eaf=0.7))
    shuffled = mvmr("shuffled", exposures, ssf(by, sy).sample(frac=1, random_state=1))
    for got in (swapped, shuffled):
        pd.testing.assert_frame_equal(got, ref, rtol=1e-12)
    scaled = mvmr("scaled", [ssf(10 * bx[:, 0], 10 * sx[:, 0]), *exposures[1:]], ssf(by, sy))
    factor = np.array([10.0, 1.0, 1.0])[:, None]
    np.testing.assert_allclose(scaled[["b", "se", "lo_ci", "up_ci"]].to_numpy() * factor,
                               ref[["b", "se", "lo_ci", "up_ci"]].to_numpy(), rtol=1e-9)
    for col in ("pval", "conditional_f", "q_a", "q_a_pval", "nsnp"):
        np.testing.assert_allclose(scaled[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-9, err_msg=col)


def test_readme__lists_the_options_multivariable_refuses_and_those_it_does_not_use():
    """README said --proxies and --methods were refused by --multivariable (and nothing of the options it warns
    about): the sentence names every option of _MV_REFUSED as refused and of _MV_UNUSED as not used."""
    import re
    from pathlib import Path

    from edfgen.commands.mr import _MV_REFUSED, _MV_UNUSED, _mv_flag

    text = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    refused, _, unused = text.partition("Univariable options it does not implement are refused")[2].partition(
        "the others are not used")
    unused = re.sub(r"\([^)]*\)", "", unused.split(".")[0])     # (asides name other options)

    def flags(part):
        return set(re.findall(r"`(--[a-z0-9-]+)`", part))

    assert flags(refused) == {_mv_flag(n) for n in _MV_REFUSED}
    assert flags(unused) == {_mv_flag(n) for n in _MV_UNUSED}


def test_mvmr_harmonised__matched_by_says_how_each_trait_found_the_instrument(tmp_path, caplog):
    """mvmr_harmonised.tsv had no matched_by, while the warning about matching by position without declared builds
    told --multivariable users "harmonised.tsv matched_by says which" (a file it does not write; review of s37mr,
    finding 3): each trait's row now says how that file's row was found (variant_id, rsid, position; NA when
    missing), as harmonised.tsv's matched_by, and the warning names mvmr_harmonised.tsv."""
    from edfgen.commands.mr_multivariable import run_mvmr

    bx, sx, by, sy = _study(np.random.default_rng(11), k=30)
    ids = np.array([f"rs{i}" for i in range(30)], dtype=object)
    pos = 1_000_000 + 100_000 * np.arange(30)

    def ssf(b, s, vid, **extra):
        return pd.DataFrame({"variant_id": vid, "chromosome": "1", "base_pair_location": pos, "effect_allele": "A",
                             "other_allele": "G", "beta": b, "standard_error": s,
                             "p_value": 2 * stats.norm.sf(np.abs(b / s)), "effect_allele_frequency": 0.3,
                             "n": 90000, **extra})

    ssf(bx[:, 0], sx[:, 0], ids).to_csv(tmp_path / "ldl.tsv", sep="\t", index=False)
    hdl_ids = np.where(np.arange(30) < 5, [f"1:{p}:A:G" for p in pos], ids)          # 5 rows keyed by position,
    ssf(bx[:, 1], sx[:, 1], hdl_ids, rsid=ids).to_csv(tmp_path / "hdl.tsv", sep="\t", index=False)   # with rsIDs
    ssf(bx[:, 2], sx[:, 2], ids).to_csv(tmp_path / "tg.tsv", sep="\t", index=False)
    chd_ids = np.where(np.arange(30) < 8, [f"1_{p}_A_G" for p in pos], ids)           # GWAS-SSF ids, no rsid
    ssf(by, sy, chd_ids).drop(index=29).to_csv(tmp_path / "chd.tsv", sep="\t", index=False)   # rs29 missing
    with caplog.at_level("WARNING", logger="edfgen"):
        run = run_mvmr([tmp_path / f"{n}.tsv" for n in NAMES], [tmp_path / "chd.tsv"], tmp_path / "mv",
                       p_threshold=1.0, clump=False)
    check_file("mvmr_harmonised", tmp_path / "mv" / "mvmr_harmonised.tsv")
    h = pd.read_csv(tmp_path / "mv" / "mvmr_harmonised.tsv", sep="\t")
    assert list(h.columns) == list(run.harmonised.columns)
    by_trait = h.pivot(index="variant_id", columns="trait", values="matched_by").loc[list(ids)]
    assert (by_trait["ldl"] == "variant_id").all() and (by_trait["tg"] == "variant_id").all()
    assert list(by_trait["hdl"]) == ["rsid"] * 5 + ["variant_id"] * 25
    assert list(by_trait["chd"].iloc[:29]) == ["position"] * 8 + ["variant_id"] * 21
    assert pd.isna(by_trait.at["rs29", "chd"])
    assert h.loc[h["trait"] == "chd"].set_index("variant_id").at["rs29", "reason"] == "missing_in_outcome"
    assert run.results["nsnp"].iloc[0] == 29
    assert "mvmr_harmonised.tsv matched_by says which" in caplog.text
    assert " harmonised.tsv matched_by" not in caplog.text


def test_mvmr__other_exposures_are_matched_by_position_only_on_the_same_build(tmp_path, caplog):
    """The other exposures were keyed to the first one's instruments with positions always on and the builds taken
    as known: an HDL file on GRCh38 keyed chr:pos met an LDL file on GRCh37 by position without a word (the same
    numbers name other variants on the other build), and undeclared builds were not warned about. They are now
    keyed as an outcome is (README: "--multivariable finds the outcomes' and the other exposures' instruments the
    same way"): different declared builds match by id and rsID only, with check_builds' warning."""
    from edfgen.commands.mr_multivariable import run_mvmr

    bx, sx, by, sy = _study(np.random.default_rng(13), k=30)
    ids = np.array([f"rs{i}" for i in range(30)], dtype=object)
    pos = 1_000_000 + 100_000 * np.arange(30)

    def write(name, b, s, vid, build):
        pd.DataFrame({"variant_id": vid, "chromosome": "1", "base_pair_location": pos, "effect_allele": "A",
                      "other_allele": "G", "beta": b, "standard_error": s,
                      "p_value": 2 * stats.norm.sf(np.abs(b / s)), "effect_allele_frequency": 0.3,
                      "n": 90000}).to_csv(tmp_path / f"{name}.tsv", sep="\t", index=False)
        meta = tmp_path / f"{name}.tsv-meta.yaml"
        meta.unlink(missing_ok=True)
        if build:
            meta.write_text(f"genome_assembly: {build}\n")

    def run(hdl_build):
        write("ldl", bx[:, 0], sx[:, 0], ids, "GRCh37")
        write("hdl", bx[:, 1], sx[:, 1], np.where(np.arange(30) < 5, [f"1:{p}:A:G" for p in pos], ids), hdl_build)
        write("tg", bx[:, 2], sx[:, 2], ids, "GRCh37")
        write("chd", by, sy, ids, "GRCh37")
        caplog.clear()
        with caplog.at_level("WARNING", logger="edfgen"):
            h = run_mvmr([tmp_path / f"{n}.tsv" for n in NAMES], [tmp_path / "chd.tsv"], None, p_threshold=1.0,
                         clump=False).harmonised
        return h[h["trait"] == "hdl"].set_index("variant_id")

    other = run("GRCh38")
    assert (other.loc[ids[:5], "reason"] == "missing_in_outcome").all() and other["matched_by"].iloc[:5].isna().all()
    # the two sides named as what they are (review rev37e F1: "the outcome files" was said of exposure hdl)
    assert "the first exposure ldl files declare genome build GRCh37 and the exposure hdl files GRCh38" in caplog.text
    assert int(other["mr_keep"].sum()) == 25
    same = run("GRCh37")
    assert list(same.loc[ids[:5], "matched_by"]) == ["position"] * 5 and int(same["mr_keep"].sum()) == 30
    undeclared = run(None)
    assert list(undeclared.loc[ids[:5], "matched_by"]) == ["position"] * 5
    assert "while the first exposure ldl or the exposure hdl declares no genome build" in caplog.text


def test_mvmr__an_instrument_on_rows_of_the_first_exposure_that_differ_is_left_out_never_picked(tmp_path, caplog):
    """A variant repeated with other values in a file no longer stops mr; under --multivariable another exposure's
    instrument could sit on such rows of the first exposure, and one_row_per_variant took the row of smaller p
    silently. It is left out with a warning: the results of the first exposure without that variant."""
    import logging

    from edfgen.commands.mr_multivariable import run_mvmr

    rng = np.random.default_rng(9)
    bx, sx, by, sy = _study(rng, k=50)
    ids = [f"rs{i}" for i in range(50)]

    def ssf(b, s):
        return pd.DataFrame({"variant_id": ids, "effect_allele": "A", "other_allele": "G", "beta": b,
                             "standard_error": s, "p_value": 2 * stats.norm.sf(np.abs(b / s)),
                             "effect_allele_frequency": 0.3, "n": 1e5})

    def mvmr(folder, first):
        d = tmp_path / folder
        d.mkdir()
        for n, df in zip(NAMES, [first, *(ssf(bx[:, j], sx[:, j]) for j in (1, 2))]):
            df.to_csv(d / f"{n}.tsv", sep="\t", index=False)
        ssf(by, sy).to_csv(d / "chd.tsv", sep="\t", index=False)
        return run_mvmr([d / f"{n}.tsv" for n in NAMES], [d / "chd.tsv"], None, p_threshold=1.0,
                        clump=False).results.set_index("exposure")

    first = ssf(bx[:, 0], sx[:, 0])
    without = mvmr("without", first.drop(index=3))
    caplog.clear()          # (rs3 is missing from ldl in that run)
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        got = mvmr("twice", pd.concat([first, first.iloc[[3]].assign(beta=first.at[3, "beta"] * 3, p_value=1e-300)]))
    assert (got["nsnp"] == 49).all()
    assert f"--multivariable: 1 instrument(s) on several rows of {NAMES[0]} with the same alleles and different " \
           "values (e.g. 'rs3'): left out" in caplog.text
    assert "missing from" not in caplog.text, caplog.text     # counted once (review s42sumfix finding 3)
    pd.testing.assert_frame_equal(got, without, rtol=1e-12)
