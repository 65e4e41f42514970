"""Colocalisation: coloc ABF against the formulas of Wakefield 2009 / Giambartolomei 2014 written out, sdY vs
statsmodels, edfgen coloc on planted shared / distinct causal variants, the mr --coloc-pp4 filter."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner
from scipy import stats

from clump_sim import assert_panel_recorded, panel_without_calls
from edfgen.cli import cli
from edfgen.commands.coloc import restrict_to_coloc
from edfgen.exceptions import InputError
from edfgen.formats.dictionary import check_file
from edfgen.formats.genotypes.panel import PlinkGenotypes
from edfgen.kernels.coloc import coloc_abf, combine_abf, sdy_estimate, wakefield_labf
from edfgen.simulate.mr import per_variant_linear


def test_wakefield_labf__equals_the_abf_formula():
    rng = np.random.default_rng(0)
    beta, se = rng.normal(0, 0.1, 50), rng.uniform(0.02, 0.05, 50)
    for binary, sdy, w in ((False, 2.0, (0.15 * 2.0) ** 2), (True, 1.0, 0.2 ** 2)):
        v, z = se ** 2, beta / se
        abf = np.sqrt(v / (v + w)) * np.exp(z ** 2 / 2 * w / (v + w))
        np.testing.assert_allclose(wakefield_labf(beta, se, binary=binary, sdy=sdy), np.log(abf), rtol=1e-12)


def test_combine_abf__posteriors_equal_giambartolomei_sums():
    rng = np.random.default_rng(1)
    l1, l2 = rng.normal(0, 2, 30), rng.normal(0, 2, 30)
    l1[7] = l2[7] = 9.0
    p1, p2, p12 = 1e-4, 1e-4, 1e-5
    a1, a2 = np.exp(l1), np.exp(l2)
    h = np.array([1.0, p1 * a1.sum(), p2 * a2.sum(), p1 * p2 * (a1.sum() * a2.sum() - (a1 * a2).sum()),
                  p12 * (a1 * a2).sum()])
    res = combine_abf(l1, l2, p1, p2, p12)
    np.testing.assert_allclose(res.pp, h / h.sum(), rtol=1e-9)
    assert res.top == 7 and res.nsnps == 30


def test_sdy_estimate__equals_ols_through_the_origin():
    rng = np.random.default_rng(2)
    maf, n = rng.uniform(0.05, 0.5, 200), 5000
    vb = 4.0 / (2 * n * maf * (1 - maf)) * rng.uniform(0.9, 1.1, 200)
    fit = sm.OLS(2 * n * maf * (1 - maf), 1 / vb).fit()
    assert sdy_estimate(vb, maf, n) == pytest.approx(np.sqrt(fit.params[0]), rel=1e-10)
    assert sdy_estimate(vb, maf, n) == pytest.approx(2.0, rel=0.05)


def _pair_sumstats(panel, win, gx, gy, rng, folder: Path, name: str, share=0.08):
    """Two traits on the region's variants: trait 1 caused by ``gx``, trait 2 by ``gy``; GWAS-SSF-like files."""
    g = panel.read(win).astype(float)
    g[g < 0] = np.nan
    v = panel.variants
    for tag, causal in (("1", gx), ("2", gy)):
        s = (causal - causal.mean()) / causal.std()
        y = np.sqrt(share) * s + np.sqrt(1 - share) * rng.standard_normal(len(s))
        beta, se = per_variant_linear(g, y)
        pd.DataFrame({"chromosome": v.chromosome[win], "base_pair_location": v.position[win],
                      "effect_allele": v.allele1[win], "other_allele": v.allele2[win], "beta": beta,
                      "standard_error": se, "effect_allele_frequency": np.nanmean(g, 0) / 2,
                      "p_value": 2 * stats.norm.sf(np.abs(beta / se)),
                      "variant_id": v.variant_id[win], "n": (~np.isnan(g)).sum(0)}).to_csv(
            folder / ("exp" if tag == "1" else "out") / f"{name}_{tag}.tsv", sep="\t", index=False)


def _shared_pair(sim_cohort, tmp_path, rng, window_bp: int):
    """One shared causal variant (the first common one): exp/s_1.tsv and out/s_2.tsv over +-window_bp around it;
    returns (bfile, chromosomes, positions, the causal variant's index)."""
    for d in ("exp", "out"):
        (tmp_path / d).mkdir()
    bfile = Path(sim_cohort) / "genotypes"
    with PlinkGenotypes(bfile, founders_only=False) as panel:
        chrom, pos = panel.variants.chromosome, panel.variants.position
        g_all = panel.read(np.arange(panel.n_variants))
        maf = np.minimum(g_all.mean(0) / 2, 1 - g_all.mean(0) / 2)
        chosen = np.flatnonzero((g_all >= 0).all(0) & (maf > 0.2))[0]
        win = np.flatnonzero((chrom == chrom[chosen]) & (np.abs(pos - pos[chosen]) <= window_bp))
        _pair_sumstats(panel, win, g_all[:, chosen].astype(float), g_all[:, chosen].astype(float), rng, tmp_path, "s")
    return bfile, chrom, pos, chosen


def test_cli_coloc__planted_shared_and_distinct_causal_variants(sim_cohort, tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "exp").mkdir()
    (tmp_path / "out").mkdir()
    bfile = Path(sim_cohort) / "genotypes"
    loci = []
    with PlinkGenotypes(bfile, founders_only=False) as panel:
        chrom, pos = panel.variants.chromosome, panel.variants.position
        g_all = panel.read(np.arange(panel.n_variants))
        maf = np.minimum(g_all.mean(0) / 2, 1 - g_all.mean(0) / 2)
        good = np.flatnonzero((g_all >= 0).all(0) & (maf > 0.2))
        for k, chosen in enumerate(good[np.linspace(0, len(good) - 1, 4).astype(int)]):
            win = np.flatnonzero((chrom == chrom[chosen]) & (np.abs(pos - pos[chosen]) <= 300_000))
            gx = g_all[:, chosen].astype(float)
            gy = gx
            if k % 2:
                cands = [j for j in good if chrom[j] == chrom[chosen] and 100_000 < abs(pos[j] - pos[chosen]) < 250_000
                         and np.corrcoef(g_all[:, j], gx)[0, 1] ** 2 < 0.01]
                gy = g_all[:, cands[0]].astype(float)
            name = "distinct" if k % 2 else "shared"
            _pair_sumstats(panel, win, gx, gy, rng, tmp_path, f"{name}{k}")
            loci.append({"locus": k + 1, "chromosome": chrom[chosen], "base_pair_location": pos[chosen],
                         "phenotypes": f"{name}{k}_1"})
    pd.DataFrame(loci).to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    res = CliRunner().invoke(cli, ["coloc", "--exposure", str(tmp_path / "exp"), "--outcome", str(tmp_path / "out"),
                                   "--loci", str(tmp_path / "loci.tsv"), "--bfile", str(bfile), "--window-kb", "300",
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    check_file("coloc", tmp_path / "o" / "coloc.tsv")
    assert_panel_recorded(tmp_path / "o", bfile)
    t = pd.read_csv(tmp_path / "o" / "coloc.tsv", sep="\t")
    t = t[t["trait_2"].str[:-2] == t["trait_1"].str[:-2]]
    for _, r in t.iterrows():
        if r["trait_1"].startswith("shared"):
            assert r["pp_h4"] >= 0.8, r.to_dict()
        else:
            assert r["pp_h3"] >= 0.8, r.to_dict()
    assert set(t["method"]) == {"abf", "susie"} and len(t[t["method"] == "abf"]) == 4
    from edfgen.report import _img, _table
    from edfgen.report_genetics import genetics_sections

    html = "".join(genetics_sections(tmp_path / "o" / "..", table=_table, img=_img))
    assert html == ""                               # no stage folders named ldsc/finemap/coloc there
    (tmp_path / "run").mkdir()
    (tmp_path / "o").rename(tmp_path / "run" / "coloc")
    html = "".join(genetics_sections(tmp_path / "run", table=_table, img=_img))
    assert "<h2>Colocalisation" in html and "with PP.H4 ≥ 0.8" in html
    (tmp_path / "run" / "coloc").rename(tmp_path / "o")
    # mr --coloc-pp4: instruments only at colocalised loci (the shared pairs)
    res = CliRunner().invoke(cli, ["mr", "--exposure", str(tmp_path / "exp"), "--outcome", str(tmp_path / "out"),
                                   "--p-threshold", "1e-6", "--coloc", str(tmp_path / "o" / "coloc.tsv"),
                                   "--coloc-pp4", "0.8", "--no-clump", "--presso-sims", "0", "--nboot", "10", "--no-plots",
                                   "--out", str(tmp_path / "mr")])
    assert res.exit_code == 0, res.output
    h = pd.read_csv(tmp_path / "mr" / "harmonised.tsv", sep="\t")
    pairs = set(zip(h["exposure"], h["outcome"]))
    assert pairs == {("shared0_1", "shared0_2"), ("shared2_1", "shared2_2")}, pairs


def _z(tmp_path, name, pos, build=None):
    from edfgen.formats.sumstats.zscores import ZStats

    f = tmp_path / f"{name}.tsv"
    f.write_text("x\n")
    if build:
        (tmp_path / f"{name}.tsv-meta.yaml").write_text(f"genome_assembly: {build}\n")
    t = pd.DataFrame({"variant_id": [f"rs{i}" for i in range(len(pos))], "chromosome": "1",
                      "base_pair_location": pos})
    return ZStats(name, t, (f,))


def test_check_same_build__names_the_file_that_declared_and_a_variant_that_moved(tmp_path):
    """The refusal of a declared build named the first exposure file even when that file declared nothing (a
    second exposure file did); the refusal of undeclared builds gave as its example the first shared variant, which
    could be one at the same position in both files (``rs0 at 1:1000000 there, 1:1000000 in the exposures``)."""
    from edfgen.commands.coloc import check_same_build

    loci = pd.DataFrame({"locus": [1], "chromosome": ["1"], "base_pair_location": [1_000_000]})
    pos = np.arange(10) * 1000 + 1_000_000
    ex = {"e1": _z(tmp_path, "e1", pos), "e2": _z(tmp_path, "e2", pos, "GRCh38")}
    with pytest.raises(InputError) as err:
        check_same_build(ex, {"o": _z(tmp_path, "o", pos, "GRCh37")}, loci, 100)
    assert "e2.tsv" in str(err.value) and "e1.tsv" not in str(err.value), err.value
    moved = np.where(np.arange(10) < 2, pos, pos + 30_210)     # 2 of 10 at the same position, 8 moved
    with pytest.raises(InputError, match="only 2 of 10") as err:
        check_same_build({"e1": ex["e1"]}, {"o": _z(tmp_path, "o2", moved)}, loci, 100)
    assert "rs0 " not in str(err.value) and "rs1 " not in str(err.value), err.value
    assert "e.g. rs2 at 1:1032210 there, 1:1002000 in the exposures" in str(err.value), err.value


def test_restrict_to_coloc__keeps_instruments_near_colocalised_top_variants(tmp_path):
    pd.DataFrame({"locus": [1, 2, 3], "trait_1": ["e", "e", "e"], "trait_2": ["o", "o", "x"], "method": "abf",
                  "nsnps": 10, "pp_h0": 0, "pp_h1": 0, "pp_h2": 0, "pp_h3": [0.1, 0.9, 0.0], "pp_h4": [0.9, 0.1, 0.95],
                  "top_variant": ["a", "b", "c"]}).to_csv(tmp_path / "coloc.tsv", sep="\t", index=False)
    inst = pd.DataFrame({"variant_id": ["a", "a2", "b", "c", "far"], "chromosome": ["1", "1", "1", "2", "1"],
                         "base_pair_location": [1_000_000, 1_200_000, 5_000_000, 1_000_000, 9_000_000]})
    kept = restrict_to_coloc(inst, "e", "o", tmp_path / "coloc.tsv", 0.8)
    assert list(kept["variant_id"]) == ["a", "a2"]
    assert restrict_to_coloc(inst, "e", "o", None, None) is inst


def test_coloc_abf__identical_traits_favour_h4():
    rng = np.random.default_rng(4)
    beta, se = rng.normal(0, 0.01, 100), np.full(100, 0.02)
    beta[40] = 0.2
    res = coloc_abf(beta, se, beta, se)
    assert res.pp[4] > 0.99 and res.top == 40


def test_cli_coloc__outcome_without_n_column_finngen_needs_a_sample_size(sim_cohort, tmp_path):
    """A FinnGen-layout outcome (no n column; the README's outcome source) was a KeyError traceback. Now: a one-line
    error naming the file and the options; with --sample-size it gives the PPs of the same data with an n column;
    with --case-counts it is a case-control trait (ABF prior sd 0.2, as coloc.abf with type "cc")."""
    (tmp_path / "fg").mkdir()
    bfile, chrom, pos, chosen = _shared_pair(sim_cohort, tmp_path, np.random.default_rng(5), 200_000)
    loci = pd.DataFrame([{"locus": 1, "chromosome": chrom[chosen], "base_pair_location": pos[chosen],
                          "phenotypes": "s_1"}])
    loci.to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    ssf = pd.read_csv(tmp_path / "out" / "s_2.tsv", sep="\t")
    ssf["n"] = 1000                       # one n, as --sample-size gives
    ssf.to_csv(tmp_path / "out" / "s_2.tsv", sep="\t", index=False)
    fg = tmp_path / "fg" / "s_2.gz"
    pd.DataFrame({"#chrom": ssf["chromosome"], "pos": ssf["base_pair_location"], "ref": ssf["other_allele"],
                  "alt": ssf["effect_allele"], "rsids": ssf["variant_id"], "nearest_genes": "G",
                  "pval": ssf["p_value"], "mlogp": -np.log10(ssf["p_value"]), "beta": ssf["beta"],
                  "sebeta": ssf["standard_error"], "af_alt": ssf["effect_allele_frequency"]}).to_csv(
        fg, sep="\t", index=False)
    common = ["coloc", "--exposure", str(tmp_path / "exp"), "--loci", str(tmp_path / "loci.tsv"), "--bfile",
              str(bfile), "--window-kb", "200"]

    def run(outcome, *extra):
        out = tmp_path / f"o{len(list(tmp_path.glob('o*')))}"
        res = CliRunner().invoke(cli, [*common, "--outcome", str(outcome), *extra, "--out", str(out)])
        return res, out / "coloc.tsv"

    res, _ = run(fg)
    assert res.exit_code == 2, res.output          # InputError: usage-style exit, not a crash (was KeyError)
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1, res.output
    assert "s_2.gz" in res.output and "--sample-size" in res.output and "--case-counts" in res.output
    res, ref = run(tmp_path / "out")
    assert res.exit_code == 0, res.output
    res, got = run(fg, "--sample-size", f"{fg}=1000")
    assert res.exit_code == 0, res.output
    a, b = pd.read_csv(ref, sep="\t"), pd.read_csv(got, sep="\t")
    assert len(a) == 2 and list(a["method"]) == ["abf", "susie"] and a["pp_h4"].min() >= 0.8
    np.testing.assert_allclose(b[[f"pp_h{k}" for k in range(5)]], a[[f"pp_h{k}" for k in range(5)]], rtol=1e-4,
                               atol=1e-8)
    res, cc = run(fg, "--case-counts", f"{fg}=400,600")
    assert res.exit_code == 0, res.output
    c = pd.read_csv(cc, sep="\t").set_index("method")
    e = pd.read_csv(tmp_path / "exp" / "s_1.tsv", sep="\t")
    m = e.merge(ssf, on="variant_id", suffixes=("", "_2"))
    with PlinkGenotypes(bfile, founders_only=False) as panel:
        in_panel = m["variant_id"].isin(set(panel.variants.variant_id))
    m = m[in_panel]
    expect = coloc_abf(m["beta"], m["standard_error"], m["beta_2"], m["standard_error_2"], binary1=False,
                       binary2=True, sdy1=sdy_estimate(m["standard_error"] ** 2, np.minimum(
                           m["effect_allele_frequency"], 1 - m["effect_allele_frequency"]), m["n"]), sdy2=1.0)
    assert c.loc["abf", "nsnps"] == len(m)
    np.testing.assert_allclose(c.loc["abf", [f"pp_h{k}" for k in range(5)]].to_numpy(float), expect.pp, rtol=1e-4)


def test_cli_coloc__one_shared_variant_gives_the_abf_row_and_unmatched_inputs_are_reported(sim_cohort, tmp_path):
    """Review s30d F3/F4: a pair sharing one variant was dropped without a word (coloc.abf is defined there, PP.H3
    = 0); a pair sharing none is now a counted warning; exposures that have no lead in loci.tsv were an empty
    coloc.tsv and exit 0, now a one-line error."""
    rng = np.random.default_rng(7)
    bfile, chrom, pos, chosen = _shared_pair(sim_cohort, tmp_path, rng, 100_000)
    out = pd.read_csv(tmp_path / "out" / "s_2.tsv", sep="\t")
    lead = out["base_pair_location"] == pos[chosen]
    out[lead].to_csv(tmp_path / "out" / "single.tsv", sep="\t", index=False)
    out[lead].assign(variant_id="elsewhere", base_pair_location=1).to_csv(tmp_path / "out" / "none.tsv", sep="\t",
                                                                           index=False)
    pd.DataFrame([{"locus": 1, "chromosome": chrom[chosen], "base_pair_location": pos[chosen],
                   "phenotypes": "s_1"}]).to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    common = ["coloc", "--loci", str(tmp_path / "loci.tsv"), "--bfile", str(bfile), "--window-kb", "100"]
    res = CliRunner().invoke(cli, [*common, "--exposure", str(tmp_path / "exp"), "--outcome", str(tmp_path / "out"),
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "o" / "coloc.tsv", sep="\t")
    assert list(t["trait_2"]) == ["s_2", "s_2", "single"]
    one = t[t["trait_2"] == "single"].iloc[0]
    e = pd.read_csv(tmp_path / "exp" / "s_1.tsv", sep="\t")
    sd1 = sdy_estimate(e["standard_error"] ** 2, np.minimum(e["effect_allele_frequency"], 1 - e["effect_allele_frequency"]),
                       e["n"])
    l1 = wakefield_labf(e.loc[lead, "beta"].to_numpy(), e.loc[lead, "standard_error"].to_numpy(), binary=False,
                        sdy=sd1)[0]
    o = out[lead].iloc[0]
    sd2 = sdy_estimate(out["standard_error"][lead] ** 2, np.minimum(out["effect_allele_frequency"][lead], 1 -
                                                                      out["effect_allele_frequency"][lead]), out["n"][lead])
    l2 = wakefield_labf(np.array([o["beta"]]), np.array([o["standard_error"]]), binary=False, sdy=sd2)[0]
    h = np.array([1.0, 1e-4 * np.exp(l1), 1e-4 * np.exp(l2), 0.0, 1e-5 * np.exp(l1 + l2)])
    assert one["nsnps"] == 1 and one["method"] == "abf" and one["top_variant"] == o["variant_id"]
    np.testing.assert_allclose(one[[f"pp_h{k}" for k in range(5)]].to_numpy(float), h / h.sum(), rtol=1e-4)
    assert "1 locus x exposure x outcome pair(s) share no variant in the LD panel" in res.output
    assert "locus 1 s_1 x none" in res.output
    res = CliRunner().invoke(cli, [*common, "--exposure", str(tmp_path / "out" / "s_2.tsv"), "--outcome",
                                   str(tmp_path / "exp"), "--out", str(tmp_path / "o2")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert "none of the 1 phenotype(s) read (s_2) has a lead there (its phenotypes column names s_1)" in res.output


def test_coloc__each_traits_susie_fit_at_a_locus_is_made_once_for_all_its_pairs(sim_cohort, tmp_path, monkeypatch):
    """2 exposures x 3 outcomes on the same variants of one locus: 6 pairs, 5 SuSiE fits (one per trait), not 12
    (review s36a: the fit of a trait in a region does not depend on the other trait of the pair)."""
    import edfgen.commands.coloc as coloc_mod

    rng = np.random.default_rng(5)
    bfile, chrom, pos, chosen = _shared_pair(sim_cohort, tmp_path, rng, 150_000)
    win = np.flatnonzero((chrom == chrom[chosen]) & (np.abs(pos - pos[chosen]) <= 150_000))
    with PlinkGenotypes(bfile, founders_only=False) as panel:
        g = panel.read(np.array([chosen])).astype(float)[:, 0]
        for name in ("t", "u"):
            _pair_sumstats(panel, win, g, g, rng, tmp_path, name)
    (tmp_path / "exp" / "u_1.tsv").unlink()             # exposures s_1, t_1; outcomes s_2, t_2, u_2
    pd.DataFrame([{"locus": 1, "chromosome": chrom[chosen], "base_pair_location": pos[chosen],
                   "phenotypes": "s_1,t_1"}]).to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    fits = []
    real = coloc_mod.susie_rss
    monkeypatch.setattr(coloc_mod, "susie_rss", lambda z, *a, **k: fits.append(len(z)) or real(z, *a, **k))
    res = CliRunner().invoke(cli, ["coloc", "--exposure", str(tmp_path / "exp"), "--outcome", str(tmp_path / "out"),
                                   "--loci", str(tmp_path / "loci.tsv"), "--bfile", str(bfile), "--window-kb", "150",
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    t = pd.read_csv(tmp_path / "o" / "coloc.tsv", sep="\t")
    assert len(t[t["method"] == "abf"]) == 6
    assert len(fits) == 5, fits


def test_cli_coloc__susie_leaves_out_a_variant_without_genotypes_in_the_panel(sim_cohort, tmp_path):
    """coloc-SuSiE took a variant without variation in the LD panel (no calls there) for independent of its
    neighbours (LD 0): the shared causal variant, its calls removed from the panel, was the susie row's top variant
    with PP.H4 1 from the z-scores alone. It is left out of the SuSiE fits now, with a warning; the abf row, which
    uses no LD, keeps it; the susie row still finds the shared signal through the causal variant's LD partner.
    Review s37docs F2, F4: the susie row's nsnps counted the variant SuSiE did not fit; the warning named the first
    pair only (later pairs dropped it in silence) and a pair left with < 2 varying variants lost its susie row
    without a word."""
    rng = np.random.default_rng(5)
    bfile, chrom, pos, chosen = _shared_pair(sim_cohort, tmp_path, rng, 100_000)
    shutil.copy(tmp_path / "out" / "s_2.tsv", tmp_path / "out" / "s_3.tsv")        # a second outcome, same locus
    with PlinkGenotypes(bfile, founders_only=False) as panel:
        causal = panel.variants.variant_id[chosen]
        g = panel.read(np.arange(panel.n_variants)).astype(float)
        ids = np.asarray(panel.variants.variant_id)
    pd.DataFrame({"locus": [1], "chromosome": [chrom[chosen]], "base_pair_location": [pos[chosen]],
                  "phenotypes": ["s_1"]}).to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    holed = panel_without_calls(bfile, tmp_path / "p", causal)

    def coloc(exp, out, o):
        res = CliRunner().invoke(cli, ["coloc", "--exposure", str(exp), "--outcome", str(out), "--loci",
                                       str(tmp_path / "loci.tsv"), "--bfile", str(holed), "--window-kb", "100",
                                       "--out", str(o)])
        assert res.exit_code == 0, res.output
        return res, pd.read_csv(o / "coloc.tsv", sep="\t")

    res, t = coloc(tmp_path / "exp", tmp_path / "out", tmp_path / "o")
    assert len(t) == 4 and (t["trait_2"].value_counts() == 2).all(), t
    t = t[t["trait_2"] == "s_2"].set_index("method")
    assert t.at["abf", "top_variant"] == causal
    assert t.at["susie", "top_variant"] != causal and t.at["susie", "pp_h4"] > 0.8, t
    j = int(np.flatnonzero(ids == t.at["susie", "top_variant"])[0])                  # the causal's LD partner
    ok = (g[:, chosen] >= 0) & (g[:, j] >= 0)
    assert abs(np.corrcoef(g[ok, chosen], g[ok, j])[0, 1]) > 0.8              # r = 0.88 here
    assert t.at["susie", "nsnps"] == t.at["abf", "nsnps"] - 1, t
    logged = [x for x in res.output.splitlines() if "WARNING" in x and "without variation in the LD panel" in x]
    assert len(logged) == 1 and "1 variant(s)" in logged[0] and "of every pair there" in logged[0], res.output
    assert f"the strongest: {causal} (z = " in logged[0] and "s_1, " in logged[0] and "; at the locus lead's position)" in logged[0]

    for d in ("exp", "out"):                  # the causal variant and one neighbour: 1 varying variant, no SuSiE
        (tmp_path / f"{d}2").mkdir()
        for f in (tmp_path / d).glob("*.tsv"):
            x = pd.read_csv(f, sep="\t")
            x[x["variant_id"].isin([causal, ids[chosen + 1]])].to_csv(tmp_path / f"{d}2" / f.name, sep="\t",
                                                                        index=False)
    res, t = coloc(tmp_path / "exp2", tmp_path / "out2", tmp_path / "o2")
    assert t["method"].tolist() == ["abf", "abf"] and (t["nsnps"] == 2).all(), t
    assert "coloc locus 1 s_1 x s_2: 1 shared variant(s) vary in the LD panel; the abf row only" in res.output


def test_cli_coloc__exposure_and_outcome_of_different_builds_refused(sim_cohort, tmp_path):
    """coloc's regions are windows of positions: an outcome on GRCh37 with GRCh38 exposures (other consortia's
    summary statistics come in either) was colocalised over another region without a word. Declared builds that
    differ (-meta.yaml genome_assembly) are refused in one line; undeclared, shared variant ids at other positions
    (here NOS1AP's real GRCh37 -> GRCh38 shift, rs12143842 chr1:162,033,890 -> 162,064,100) are refused too."""
    rng = np.random.default_rng(7)
    bfile, chrom, pos, chosen = _shared_pair(sim_cohort, tmp_path, rng, 100_000)
    pd.DataFrame([{"locus": 1, "chromosome": chrom[chosen], "base_pair_location": pos[chosen],
                   "phenotypes": "s_1"}]).to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    common = ["coloc", "--loci", str(tmp_path / "loci.tsv"), "--bfile", str(bfile), "--window-kb", "100",
              "--exposure", str(tmp_path / "exp"), "--outcome", str(tmp_path / "out")]
    for side, build in (("exp/s_1", "GRCh38"), ("out/s_2", "GRCh37")):
        (tmp_path / f"{side}.tsv-meta.yaml").write_text(f"genome_assembly: {build}\ncoordinate_system: 1-based\n")
    res = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert "GRCh38" in res.output and "GRCh37" in res.output and "s_2.tsv" in res.output
    (tmp_path / "out" / "s_2.tsv-meta.yaml").write_text("genome_assembly: GRCh38\n")      # the same build: runs
    assert CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "o1")]).exit_code == 0
    # a panel read as another build than the files declare is said, as clump says it (coloc and finemap said nothing)
    res = CliRunner().invoke(cli, [*common, "--reference-genome", "GRCh37", "--out", str(tmp_path / "o3")])
    assert res.exit_code == 0 and "declare genome build GRCh38 (-meta.yaml) but the genotypes are read as GRCh37" \
        in res.output, res.output
    res = CliRunner().invoke(cli, ["finemap", "--loci", str(tmp_path / "loci.tsv"), "--bfile", str(bfile),
                                   "--sumstats", str(tmp_path / "exp" / "s_1.tsv"), "--window-kb", "100",
                                   "--reference-genome", "GRCh37", "--out", str(tmp_path / "f")])
    assert res.exit_code == 0 and "declare genome build GRCh38 (-meta.yaml) but the genotypes are read as GRCh37" \
        in res.output, res.output
    for side in ("exp/s_1", "out/s_2"):
        (tmp_path / f"{side}.tsv-meta.yaml").unlink()
    out = pd.read_csv(tmp_path / "out" / "s_2.tsv", sep="\t")
    out.assign(base_pair_location=out["base_pair_location"] + (162_064_100 - 162_033_890)).to_csv(
        tmp_path / "out" / "s_2.tsv", sep="\t", index=False)
    res = CliRunner().invoke(cli, [*common, "--out", str(tmp_path / "o2")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert "another genome build" in res.output and "s_2" in res.output, res.output


def test_coloc_region__a_later_pair_names_only_the_variants_without_variation_not_named_before(caplog):
    """Was (known defect, s38): the second pair of a locus whose shared variants hold one more variant without
    variation in the LD panel warned "2 variant(s) ... left out", counting the one the first pair's warning had
    named. It counts and names the new one now, and says how many others it leaves out."""
    import logging

    from edfgen.commands.coloc import coloc_region
    from edfgen.formats.sumstats.zscores import ZStats

    rng = np.random.default_rng(3)
    p = 8
    z = rng.normal(size=p)
    z[[1, 7]] = [9.0, 8.0]                                     # rows 1 and 7: no variation in the panel
    t = pd.DataFrame({"row": np.arange(p), "variant_id": [f"1:{1000 + i}:A:G" for i in range(p)],
                      "base_pair_location": 1000 + np.arange(p), "beta": z * 0.01, "standard_error": 0.01, "z": z,
                      "n": 5000.0})
    za, zb, zc = (ZStats(name, t, (Path(f"{name}.tsv"),)) for name in ("a", "b", "c"))
    poly = np.ones(p, dtype=bool)
    poly[[1, 7]] = False
    cache = {}
    for rows in (np.arange(p - 1), np.arange(p)):               # pair a x b: rows 0-6; pair a x c: rows 0-7
        R = np.where(np.outer(poly[rows], poly[rows]), 0.1, 0.0)
        np.fill_diagonal(R, 1.0)
        cache[("R", rows.tobytes())] = (R, poly[rows])
    with caplog.at_level(logging.WARNING):
        coloc_region(1, t, t.iloc[:p - 1], za, zb, None, cache=cache)
        coloc_region(1, t, t, za, zc, None, cache=cache)
        coloc_region(1, t, t, za, zc, None, cache=cache)          # nothing new: no third warning
    said = [r.getMessage() for r in caplog.records if "without variation" in r.getMessage()]
    assert len(said) == 2, said
    assert "1 variant(s) without" in said[0] and "the strongest: 1:1001:A:G" in said[0] and "earlier" not in said[0]
    assert "1 variant(s) without" in said[1] and "(and the 1 named in an earlier warning)" in said[1]
    assert "the strongest: 1:1007:A:G" in said[1]


def _small_coloc_inputs(d: Path) -> list[str]:
    """A 60-variant PLINK panel, exposure/outcome sumstats on it and a loci table: `coloc` runs in < 1 s."""
    from test_bad_input import _sumstats, _write_bfile

    rng = np.random.default_rng(11)
    _write_bfile(d / "g")
    ss = _sumstats(rng)
    ss.to_csv(d / "exp.tsv", sep="\t", index=False, na_rep="NA")
    ss.assign(beta=ss["beta"] * 0.5).to_csv(d / "out.tsv", sep="\t", index=False, na_rep="NA")
    pd.DataFrame({"locus": [1], "variant_id": ["rs10"], "chromosome": ["1"], "base_pair_location": [10000],
                  "p_value": [1e-12], "phenotypes": ["exp"]}).to_csv(d / "loci.tsv", sep="\t", index=False)
    return ["coloc", "--outcome", str(d / "out.tsv"), "--loci", str(d / "loci.tsv"), "--bfile", str(d / "g")]


@pytest.mark.parametrize("variant,expect", [
    ("empty", "empty (no header line)"), ("binary", "NUL bytes"), ("utf16", "UTF-16 text"),
    ("symlink_loop", "a symbolic link that leads nowhere")])
def test_cli_coloc__an_unreadable_exposure_file_is_one_line(tmp_path, variant, expect):
    """`coloc --exposure` of an empty, binary or UTF-16 file, or of a symlink loop, was a Python traceback
    (EmptyDataError, UnicodeDecodeError, RuntimeError: the header was read by pandas unchecked; stop 39 matrix,
    benchmarks/results/fuzz_cli_matrix.md). Now one line naming the file and what it is."""
    args = _small_coloc_inputs(tmp_path)
    bad = tmp_path / "bad.tsv"
    if variant == "empty":
        bad.write_bytes(b"")
    elif variant == "binary":
        bad.write_bytes(bytes(range(256)) * 4)
    elif variant == "utf16":
        bad.write_bytes((tmp_path / "exp.tsv").read_text().encode("utf-16"))
    else:
        (tmp_path / "loop.tsv").symlink_to(bad)
        bad.symlink_to(tmp_path / "loop.tsv")
    r = CliRunner().invoke(cli, [*args, "--exposure", str(bad), "--out", str(tmp_path / "o")])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and len(lines) == 1 and str(bad) in lines[0] and expect in lines[0], r.output
    assert not (tmp_path / "o").exists()


def test_cli_coloc__plain_text_under_a_gz_name_reads_as_the_plain_file(tmp_path):
    """A '.gz' name over plain text (a renamed file) was a BadGzipFile traceback from the header read while every
    other reader sniffs the bytes (stop 39 matrix): the same coloc.tsv as the plain file now."""
    args = _small_coloc_inputs(tmp_path)
    (tmp_path / "renamed").mkdir()
    (tmp_path / "renamed" / "exp.tsv.gz").write_bytes((tmp_path / "exp.tsv").read_bytes())
    for name, exposure in (("plain", tmp_path / "exp.tsv"), ("gz", tmp_path / "renamed" / "exp.tsv.gz")):
        r = CliRunner().invoke(cli, [*args, "--exposure", str(exposure), "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
    plain, gz = (pd.read_csv(tmp_path / n / "coloc.tsv", sep="\t") for n in ("plain", "gz"))
    assert len(plain) == 1
    pd.testing.assert_frame_equal(plain, gz)


def test_cli_coloc_and_finemap__manifests_record_the_declared_genome_builds_and_library_versions(tmp_path):
    """User read s40: a methods section needs the genome build of the summary statistics and of the LD panel, and
    the software versions; coloc's and finemap's manifests recorded none of them (clump's did record the build)."""
    import json

    import scipy

    args = _small_coloc_inputs(tmp_path)
    Path(f"{tmp_path / 'exp.tsv'}-meta.yaml").write_text("genome_assembly: GRCh37\n")
    r = CliRunner().invoke(cli, [*args, "--exposure", str(tmp_path / "exp.tsv"), "--out", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    extra = json.loads((tmp_path / "c" / "manifest.json").read_text())["extra"]
    assert extra["exposure_genome_assembly"] == "GRCh37" and extra["outcome_genome_assembly"] is None
    # which prior each trait got (coloc.abf: 0.15 sdY quantitative, 0.2 case-control) and its N
    from test_bad_input import N
    assert extra["exposure_traits"] == {"exp": {"type": "quantitative", "n": N}}
    assert extra["outcome_traits"] == {"out": {"type": "quantitative", "n": N}}
    r = CliRunner().invoke(cli, ["finemap", "--loci", str(tmp_path / "loci.tsv"), "--sumstats",
                                 str(tmp_path / "exp.tsv"), "--bfile", str(tmp_path / "g"), "--reference-genome",
                                 "GRCh37", "--out", str(tmp_path / "f")])
    assert r.exit_code == 0, r.output
    man = json.loads((tmp_path / "f" / "manifest.json").read_text())
    assert man["extra"]["sumstats_genome_assembly"] == "GRCh37"
    # --help: "--reference-genome: ... recorded in every output"; the LD panel's build was not (nor
    # --skip-bad-variants, which changes the LD)
    assert man["parameters"]["genotypes"]["reference_genome"] == "GRCh37"
    assert man["parameters"]["genotypes"]["skip_bad_variants"] is False
    assert man["packages"]["numpy"] == np.__version__ and man["packages"]["scipy"] == scipy.__version__
