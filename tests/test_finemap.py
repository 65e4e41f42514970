"""SuSiE-RSS fine-mapping: the single-effect closed form, credible sets, the kriging LD check, planted causal
variants in 95 % credible sets of a simulated cohort, the command's tables."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from clump_sim import assert_panel_recorded, cohort_sumstats, panel_without_calls
from edfgen.cli import cli
from edfgen.formats.dictionary import check_file
from edfgen.formats.genotypes.panel import PlinkGenotypes
from edfgen.kernels.susie import credible_sets, kriging_rss, susie_rss, susie_ss
from edfgen.simulate.truth import read_truth_loci


def _ld_block(p=40, rho=0.8, seed=0, n=3000):
    """Genotype-like correlated columns: an AR(1) correlation matrix and z-scores with one causal variant."""
    rng = np.random.default_rng(seed)
    R = rho ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    b = np.zeros(p)
    b[12] = 6.0
    z = R @ b + np.linalg.cholesky(R) @ rng.standard_normal(p)
    return z, R, n


def _single_effect_posterior(z, n, v):
    """Closed form: alpha_j ∝ N(b_j; 0, v + s²) / N(b_j; 0, s²), b_j = z̃_j / sqrt(n - 1), s² = 1 / (n - 1)."""
    zt = z * np.sqrt((n - 1) / (z ** 2 + n - 2))
    b, s2 = zt / np.sqrt(n - 1), 1.0 / (n - 1)
    bf = stats.norm.pdf(b, 0, np.sqrt(v + s2)) / stats.norm.pdf(b, 0, np.sqrt(s2))
    return bf / bf.sum(), bf


def test_susie_l1__pips_equal_the_single_effect_bayes_factor_posterior():
    z, R, n = _ld_block()
    fit = susie_rss(z, R, n, L=1, estimate_prior_variance=False)
    alpha, _ = _single_effect_posterior(z, n, 0.2)
    np.testing.assert_allclose(fit.pip, alpha, rtol=1e-9, atol=1e-12)


def test_susie_l1__estimated_prior_variance_maximises_the_marginal_likelihood():
    z, R, n = _ld_block(seed=3)
    fit = susie_rss(z, R, n, L=1)
    grid = np.exp(np.linspace(np.log(1e-4), np.log(1.0), 4001))
    ml = [np.log(_single_effect_posterior(z, n, v)[1].mean()) for v in grid]
    v_best = grid[int(np.argmax(ml))]
    assert fit.V[0] == pytest.approx(v_best, rel=5e-3)
    np.testing.assert_allclose(fit.pip, _single_effect_posterior(z, n, fit.V[0])[0], atol=1e-9)


def test_susie__two_causal_variants_two_credible_sets_and_null_effects_dropped():
    rng = np.random.default_rng(5)
    n, p = 2000, 60
    x = rng.standard_normal((n, p))
    x[:, 1:] = 0.7 * x[:, :-1] + 0.714 * x[:, 1:]              # neighbouring columns in LD
    x = (x - x.mean(0)) / x.std(0)
    y = 0.25 * x[:, 10] - 0.2 * x[:, 40] + rng.standard_normal(n)
    y = (y - y.mean()) / y.std()
    R = np.corrcoef(x, rowvar=False)
    z = x.T @ y / np.sqrt(n) / np.sqrt(1 - (x.T @ y / n) ** 2) * np.sqrt((n - 2) / n)
    fit = susie_rss(z, R, n, L=10)
    found = sorted(int(cs.variants[0]) for cs in fit.sets)
    assert len(fit.sets) == 2
    assert any(10 in cs.variants for cs in fit.sets) and any(40 in cs.variants for cs in fit.sets)
    assert (fit.V > 1e-9).sum() == 2, fit.V
    assert all(cs.coverage >= 0.95 for cs in fit.sets) and found
    # an impure set (variants in no LD) is dropped by the purity filter
    flat = susie_ss(np.eye(3) * (n - 1), np.array([1.0, 1.0, 1.0]) * 2, float(n - 1), n, L=1, estimate_prior_variance=False)
    assert credible_sets(flat, np.eye(3), coverage=0.95, min_abs_corr=0.5) == []


def test_kriging__an_allele_flip_is_flagged_and_consistent_data_are_not():
    z, R, n = _ld_block(p=50, rho=0.9, seed=2)
    ok = kriging_rss(z, R, n)
    assert ok.s < 0.05 and not ok.flagged.any()
    bad = z.copy()
    bad[13] = -bad[13]
    res = kriging_rss(bad, R, n)
    assert res.flagged[13] and res.flagged.sum() <= 2
    assert res.s > ok.s


@pytest.fixture(scope="module")
def cohort_ss(sim_cohort, tmp_path_factory):
    return cohort_sumstats(Path(sim_cohort), tmp_path_factory.mktemp("finemap_ss"))


def test_regions__phenotypes_with_the_same_variants_share_one_ld_matrix_and_its_eigen(sim_cohort, cohort_ss, tmp_path):
    """The phenotypes of one GWAS (the EDFs) have the same variants at a locus: their regions share one LD matrix and
    its eigen-decomposition, computed once (the pipeline test's 215 regions were 13 matrices, and an eigh per region
    was most of finemap's time); the kriging check from the shared one equals the one computed afresh."""
    from edfgen.commands.finemap import read_loci, regions
    from edfgen.formats.genotypes.panel import open_panel
    from edfgen.formats.sumstats.zscores import read_zstats, zstats_files

    t = read_truth_loci(Path(sim_cohort) / "truth.json").iloc[0]
    pd.DataFrame({"locus": [1], "chromosome": [t.chromosome], "base_pair_location": [t.base_pair_location],
                  "phenotypes": [t.trait]}).to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    zs = read_zstats(zstats_files([str(p) for p in cohort_ss[:2]]))
    with open_panel(str(Path(sim_cohort) / "genotypes")) as panel:
        a, b = regions(read_loci(tmp_path / "loci.tsv"), zs, panel, 300, only_leads=False)
    assert a.phenotype != b.phenotype and a.R is b.R and a.eigen is b.eigen and a.eigen is not None
    z = a.table["z"].to_numpy()
    shared, afresh = kriging_rss(z, a.R, a.n, eigen=a.eigen), kriging_rss(z, a.R.copy(), a.n)
    assert shared.s == afresh.s and np.array_equal(shared.log_lr, afresh.log_lr)


def test_run_finemap__planted_causal_variants_in_95pct_credible_sets(sim_cohort, cohort_ss, tmp_path):
    truth = read_truth_loci(Path(sim_cohort) / "truth.json").iloc[::2]   # 13 of the 26 planted loci (test time)
    loci = pd.DataFrame({"locus": np.arange(1, len(truth) + 1), "chromosome": truth["chromosome"],
                         "base_pair_location": truth["base_pair_location"], "phenotypes": truth["trait"]})
    loci.to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    res = CliRunner().invoke(cli, ["finemap", "--loci", str(tmp_path / "loci.tsv"), "--sumstats", *map(str, cohort_ss),
                                   "--bfile", str(Path(sim_cohort) / "genotypes"), "--window-kb", "300",
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    for entry, name in (("finemap_credible_sets", "credible_sets.tsv"), ("finemap_pip", "pip.tsv"),
                        ("finemap_ld_check", "ld_check.tsv")):
        check_file(entry, tmp_path / "o" / name)
    cs = pd.read_csv(tmp_path / "o" / "credible_sets.tsv", sep="\t")
    hits = [((cs["locus"] == i + 1) & (cs["phenotype"] == t.trait) & (cs["variant_id"] == t.variant_id)).any()
            for i, t in enumerate(truth.itertuples())]
    assert np.mean(hits) >= 0.8, hits
    chk = pd.read_csv(tmp_path / "o" / "ld_check.tsv", sep="\t")
    assert (chk["s"] < 0.1).all() and len(chk) == len(truth)
    assert_panel_recorded(tmp_path / "o", Path(sim_cohort) / "genotypes")


def test_run_finemap__loci_without_position_is_one_line_error(cohort_ss, sim_cohort, tmp_path):
    pd.DataFrame({"locus": [1], "chromosome": ["1"]}).to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    res = CliRunner().invoke(cli, ["finemap", "--loci", str(tmp_path / "loci.tsv"), "--sumstats", str(cohort_ss[0]),
                                   "--bfile", str(Path(sim_cohort) / "genotypes"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "base_pair_location" in res.output
    assert len(res.output.strip().splitlines()) == 1


def test_run_finemap__multi_allelic_rows_and_chr_pos_ids_give_the_same_credible_sets(sim_cohort, cohort_ss, tmp_path):
    """A multi-allelic site written one row per ALT under one id (the lead plus a second-allele row of p 0.5), and
    the same file with chr:pos:ref:alt ids beside an rsid column, fine-map exactly as the plain file: the row with
    the panel's alleles is used, the variants are found as clump finds them (review findings: every copy of a
    repeated id was dropped without a word, so the lead vanished and proxies formed credible sets; chr:pos ids
    skipped every region)."""
    truth = read_truth_loci(Path(sim_cohort) / "truth.json").iloc[:3]
    loci = pd.DataFrame({"locus": np.arange(1, 4), "chromosome": truth["chromosome"],
                         "base_pair_location": truth["base_pair_location"], "phenotypes": truth["trait"]})
    loci.to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    files = {p.name.split(".")[0]: p for p in cohort_ss}
    variants = {"plain": tmp_path / "plain", "multi": tmp_path / "multi", "cpra": tmp_path / "cpra"}
    for d in variants.values():
        d.mkdir()
    for t in truth.itertuples():
        ss = pd.read_csv(files[t.trait], sep="\t", dtype={"chromosome": str})
        ss.to_csv(variants["plain"] / f"{t.trait}.tsv.gz", sep="\t", index=False)
        lead = ss[ss["variant_id"] == t.variant_id].iloc[0]
        other = {"A": "C", "C": "G", "G": "T", "T": "A"}[lead.effect_allele]
        extra = lead.copy()
        extra["other_allele"], extra["p_value"], extra["beta"] = other if other != lead.other_allele else "T", 0.5, 0.01
        pd.concat([ss, extra.to_frame().T], ignore_index=True).sort_values("base_pair_location", kind="stable") \
            .to_csv(variants["multi"] / f"{t.trait}.tsv.gz", sep="\t", index=False)
        ss.assign(variant_id=ss.chromosome + ":" + ss.base_pair_location.astype(str) + ":" + ss.other_allele + ":"
                  + ss.effect_allele).to_csv(variants["cpra"] / f"{t.trait}.tsv.gz", sep="\t", index=False)
    got = {}
    for name, d in variants.items():
        res = CliRunner().invoke(cli, ["finemap", "--loci", str(tmp_path / "loci.tsv"), "--sumstats", str(d),
                                       "--bfile", str(Path(sim_cohort) / "genotypes"), "--window-kb", "200",
                                       "--out", str(tmp_path / f"o_{name}")])
        assert res.exit_code == 0, res.output
        got[name] = pd.read_csv(tmp_path / f"o_{name}" / "pip.tsv", sep="\t")
    base = got["plain"]
    assert set(truth.variant_id) <= set(base.variant_id)
    pd.testing.assert_frame_equal(got["multi"], base)
    cpra = got["cpra"]
    assert np.allclose(cpra["pip"], base["pip"]) and len(cpra) == len(base)


def test_run_finemap__a_panel_id_on_two_rows_is_matched_by_position_not_an_error(sim_cohort, cohort_ss, tmp_path):
    """A panel whose .bim names one id on two rows (a multi-allelic site split into biallelic rows) stopped finemap
    ("duplicated variant id(s) used by ..."; it skipped that variant before the shared panel-matching rule): the
    summary statistics' row is found by position and alleles, with a warning, and the credible sets are those of the
    plain panel (second review)."""
    import shutil

    truth = read_truth_loci(Path(sim_cohort) / "truth.json").iloc[:1]
    loci = pd.DataFrame({"locus": [1], "chromosome": truth["chromosome"].to_numpy(),
                         "base_pair_location": truth["base_pair_location"].to_numpy(),
                         "phenotypes": truth["trait"].to_numpy()})
    loci.to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    geno = Path(sim_cohort) / "genotypes"
    for ext in ("bed", "fam"):
        shutil.copy(f"{geno}.{ext}", tmp_path / f"dup.{ext}")
    bim = pd.read_csv(f"{geno}.bim", sep="\t", header=None, dtype={0: str, 1: str})
    i = int(np.flatnonzero(bim[1] == truth["variant_id"].iloc[0])[0])
    bim.loc[i + 1, 1] = bim.loc[i, 1]                     # the lead's id on the next row too
    bim.to_csv(tmp_path / "dup.bim", sep="\t", header=False, index=False)
    ss = [p for p in cohort_ss if p.name.startswith(truth["trait"].iloc[0] + ".")]
    got = {}
    for name, prefix in (("plain", geno), ("dup", tmp_path / "dup")):
        res = CliRunner().invoke(cli, ["finemap", "--loci", str(tmp_path / "loci.tsv"), "--sumstats", str(ss[0]),
                                       "--bfile", str(prefix), "--window-kb", "200", "--out", str(tmp_path / name)])
        assert res.exit_code == 0, res.output
        got[name] = pd.read_csv(tmp_path / name / "credible_sets.tsv", sep="\t")
    assert truth["variant_id"].iloc[0] in set(got["dup"]["variant_id"])
    assert set(got["dup"]["variant_id"]) <= set(got["plain"]["variant_id"]) | {bim.loc[i + 1, 1]}


# ------------------------------------------------------------- review s30d: hostile inputs
def _one_locus(sim_cohort, cohort_ss, tmp_path, phenotypes=None):
    """loci.tsv of the first planted locus (plus, without ``phenotypes``, a row without a position) and that
    trait's summary statistics."""
    t = read_truth_loci(Path(sim_cohort) / "truth.json").iloc[0]
    loci = pd.DataFrame({"locus": [1, 2], "chromosome": [t.chromosome, t.chromosome],
                         "base_pair_location": [t.base_pair_location, None], "phenotypes": [phenotypes or t.trait, t.trait]})
    loci.iloc[:1 if phenotypes else 2].to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    ss = pd.read_csv(next(p for p in cohort_ss if p.name.startswith(t.trait + ".")), sep="\t", dtype={"chromosome": str})
    return t, ss


def _finemap(tmp_path, sim_cohort, ss: pd.DataFrame, trait: str, tag: str):
    """``edfgen finemap`` of ``ss`` written as ``tag/<trait>.tsv``: (result, out folder)."""
    (tmp_path / tag).mkdir()
    ss.to_csv(tmp_path / tag / f"{trait}.tsv", sep="\t", index=False)
    out = tmp_path / f"o_{tag}"
    res = CliRunner().invoke(cli, ["finemap", "--loci", str(tmp_path / "loci.tsv"), "--sumstats",
                                   str(tmp_path / tag / f"{trait}.tsv"), "--bfile", str(Path(sim_cohort) / "genotypes"),
                                   "--window-kb", "100", "--out", str(out)])
    return res, out


def test_cli_finemap__no_phenotype_read_has_a_lead_is_a_one_line_error(sim_cohort, cohort_ss, tmp_path):
    """Review s30d F3: files not named in loci.tsv's phenotypes gave empty tables, exit 0 and no word."""
    t, ss = _one_locus(sim_cohort, cohort_ss, tmp_path, phenotypes="someone_else")
    res, _ = _finemap(tmp_path, sim_cohort, ss, t.trait, "a")
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    assert f"none of the 1 phenotype(s) read ({t.trait}) has a lead there" in res.output
    assert "someone_else" in res.output


def test_cli_finemap__panel_n_fallback_strand_flips_and_unplaced_loci_are_warned(sim_cohort, cohort_ss, tmp_path):
    """Review s30d F5, F7, nits: a file without n took the panel's sample count as SuSiE's n in silence; alleles on
    the other strand were dropped under '0 variant(s) in the panel'; a loci.tsv row without a position was skipped
    in silence; a z of 0 flipped to the panel's allele was written -0."""
    t, ss = _one_locus(sim_cohort, cohort_ss, tmp_path)
    near = (ss["chromosome"] == str(t.chromosome)) & ((ss["base_pair_location"] - t.base_pair_location).abs() < 1e5)
    res, _ = _finemap(tmp_path, sim_cohort, ss.drop(columns="n"), t.trait, "no_n")
    assert res.exit_code == 0, res.output
    assert f"{t.trait}.tsv: no n; SuSiE-RSS takes the LD panel's 1000 samples as n" in res.output and "--sample-size" in res.output
    assert "locus 2" in res.output and "without a chromosome or base_pair_location" in res.output
    comp = {"A": "T", "C": "G", "G": "C", "T": "A"}
    flipped = ss.assign(effect_allele=ss["effect_allele"].map(comp), other_allele=ss["other_allele"].map(comp))
    ambiguous = flipped["effect_allele"].map(comp) == flipped["other_allele"]
    res, _ = _finemap(tmp_path, sim_cohort, flipped[~ambiguous], t.trait, "strand")
    assert res.exit_code == 0, res.output
    assert "have other alleles there (e.g. " in res.output and "the panel's alleles on the other strand" in res.output
    assert "0 variant(s) in the panel with matching alleles; skipped" in res.output
    zero = ss.copy()
    swap = np.arange(len(zero)) % 2 == 1          # half of them given for the other allele: flipped to the panel's
    zero.loc[swap, ["effect_allele", "other_allele"]] = zero.loc[swap, ["other_allele", "effect_allele"]].to_numpy()
    zero = zero.assign(beta=np.where(near, 0.0, np.where(swap, -ss["beta"], ss["beta"])),
                       p_value=np.where(near, 1.0, ss["p_value"]))     # beta +0 on both alleles' rows
    res, out = _finemap(tmp_path, sim_cohort, zero, t.trait, "zero")
    assert res.exit_code == 0, res.output
    pip = pd.read_csv(out / "pip.tsv", sep="\t", dtype=str)
    assert (pip["z"] == "0").sum() > 1 and not (pip["z"] == "-0").any()


def _finemap_without_calls(sim_cohort, tmp_path, t, ss, variants):
    """``edfgen finemap`` of ``t``'s locus (``ss`` its trait's rows) on the cohort's panel with ``variants``' calls
    removed (``panel_without_calls``), into ``tmp_path / "o"``; the CLI result (exit code checked)."""
    panel = panel_without_calls(Path(sim_cohort) / "genotypes", tmp_path / "p", variants)
    (tmp_path / "a").mkdir()
    ss.to_csv(tmp_path / "a" / f"{t.trait}.tsv", sep="\t", index=False)
    res = CliRunner().invoke(cli, ["finemap", "--loci", str(tmp_path / "loci.tsv"), "--sumstats",
                                   str(tmp_path / "a" / f"{t.trait}.tsv"), "--bfile", str(panel), "--window-kb", "100",
                                   "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    return res


def test_cli_finemap__a_variant_without_genotypes_in_the_panel_is_left_out_not_fine_mapped_alone(sim_cohort, cohort_ss,
                                                                                               tmp_path):
    """A region variant with no variation in the LD panel (no calls, or monomorphic there) got LD 0 with every
    other variant, so SuSiE-RSS took it as independent of its LD partners: the planted causal variant, its calls
    removed from the panel, came out as a credible set of its own (PIP ~1, purity 1) beside its partners' set. It is
    left out now, as a variant the panel lacks is, with a warning naming it."""
    t, ss = _one_locus(sim_cohort, cohort_ss, tmp_path, phenotypes=None)
    res = _finemap_without_calls(sim_cohort, tmp_path, t, ss, t.variant_id)
    pip = pd.read_csv(tmp_path / "o" / "pip.tsv", sep="\t")
    cs = pd.read_csv(tmp_path / "o" / "credible_sets.tsv", sep="\t")
    assert t.variant_id not in set(pip["variant_id"]) and t.variant_id not in set(cs["variant_id"])
    assert "1 variant(s) without variation in the LD panel" in res.output and t.variant_id in res.output
    assert len(pip) > 10
    partners = _ld_partners(Path(sim_cohort) / "genotypes", t.variant_id, set(pip["variant_id"]))
    assert partners and set(partners) & set(cs["variant_id"]), (partners, cs)   # the signal, through its LD partner


def _ld_partners(bfile: Path, variant: str, among: set) -> list[str]:
    """The variants of ``among`` in LD r > 0.9 with ``variant`` in the PLINK fileset ``bfile``."""
    with PlinkGenotypes(bfile, founders_only=False) as panel:
        ids = np.asarray(panel.variants.variant_id)
        rows = np.flatnonzero(np.isin(ids, [variant, *among]))
        g = panel.read(rows).astype(float)
    g[g < 0] = np.nan
    ok = ~np.isnan(g).any(axis=1)
    r = np.corrcoef(g[ok].T)[list(ids[rows]).index(variant)]
    return [v for v, x in zip(ids[rows], r) if v != variant and abs(x) > 0.9]


def test_cli_finemap__the_strongest_variant_left_out_is_named_with_its_z_and_counted(sim_cohort, cohort_ss, tmp_path):
    """Review s37docs F1: of the variants without variation in the LD panel the warning named the first by panel row
    ("e.g. ..."), so the locus lead, the strongest z of the region, could vanish from pip.tsv and credible_sets.tsv
    behind a weak neighbour's name, and ld_check.tsv did not count them. The warning names the left-out variant with
    the largest |z|, its z and "the locus lead" when it is; ld_check.tsv n_no_ld counts them."""
    t, ss = _one_locus(sim_cohort, cohort_ss, tmp_path)
    near = ss[(ss["chromosome"] == str(t.chromosome)) & ((ss["base_pair_location"] - t.base_pair_location).abs() < 1e5)]
    first = near.sort_values("base_pair_location")["variant_id"].iloc[0]        # before the lead by panel row
    res = _finemap_without_calls(sim_cohort, tmp_path, t, ss, [first, t.variant_id])
    lead = near.set_index("variant_id").loc[t.variant_id]
    z = lead["beta"] / lead["standard_error"]
    got = re.search(rf"2 variant\(s\) without variation in the LD panel .* the strongest: {t.variant_id} "
                    rf"\(z = (-?[0-9.e+-]+) {t.trait}; at the locus lead's position\)", res.output)
    assert got and abs(abs(float(got.group(1))) - abs(z)) < 0.01 * abs(z), res.output
    chk = pd.read_csv(tmp_path / "o" / "ld_check.tsv", sep="\t")
    pip = pd.read_csv(tmp_path / "o" / "pip.tsv", sep="\t")
    assert chk["n_no_ld"].tolist() == [2] and chk["nsnps"].tolist() == [len(pip)], chk
    check_file("finemap_ld_check", tmp_path / "o" / "ld_check.tsv")


def test_read_loci__finemap_and_coloc_do_not_apply_annotates_build_declarations(tmp_path):
    """Review of s38 (finding 3, not reproduced): annotate's loci reader now reads the loci file's own -meta.yaml;
    finemap and coloc read --loci with their own reader (windows on the GWAS's positions, whose build their
    -meta.yaml and the LD panel check), so a loci.tsv beside a GRCh37 -meta.yaml, hg19 in its name, is read as it
    was at e7d113d, not refused with a pointer to a --reference-genome finemap lacks."""
    from edfgen.commands import coloc, finemap

    path = tmp_path / "loci_hg19.tsv"
    pd.DataFrame({"locus": [1], "chromosome": ["1"], "base_pair_location": [1000], "phenotypes": ["a"]}).to_csv(
        path, sep="\t", index=False)
    Path(f"{path}-meta.yaml").write_text("genome_assembly: GRCh37\n")
    assert coloc.read_loci is finemap.read_loci
    t = finemap.read_loci(path)
    assert t["base_pair_location"].tolist() == [1000] and t["phenotypes"].tolist() == ["a"]


def test_read_loci__finemap_reads_a_0_based_meta_yaml_plus_one(tmp_path):
    """Was: finemap/coloc's loci reader ignored a -meta.yaml declaring coordinate_system 0-based (windows 1 bp
    off); now + 1, and an unknown value (the same rule as summary statistics) is one line naming the -meta.yaml."""
    from edfgen.commands import finemap
    from edfgen.exceptions import InputError

    path = tmp_path / "loci.tsv"
    pd.DataFrame({"locus": [1], "chromosome": ["1"], "base_pair_location": [999], "phenotypes": ["a"]}).to_csv(
        path, sep="\t", index=False)
    Path(f"{path}-meta.yaml").write_text("coordinate_system: 0-based\n")
    assert finemap.read_loci(path)["base_pair_location"].tolist() == [1000]
    Path(f"{path}-meta.yaml").write_text("coordinate_system: 2-based\n")
    with pytest.raises(InputError, match=r"loci.tsv: its -meta.yaml declares coordinate_system '2-based': give 0-based"):
        finemap.read_loci(path)
