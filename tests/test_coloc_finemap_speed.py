"""coloc and finemap speed and memory (s38perf): the faster arithmetic gives bit-identical numbers to the plain
code it replaced (scipy's logsumexp, the single-effect likelihood, the kriging EM, credible-set purity, the
pandas merge of a pair's rows), and each phenotype is cut to its rows near the loci as it is read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp

from edfgen.kernels.susie import (_lbf, _loglik_of, _mix_weights, credible_sets, logsumexp_1d,
                                  optimize_prior_variance, susie_rss)


def test_logsumexp_1d__bit_identical_to_scipy_with_ties_infinities_and_zero_weights():
    rng = np.random.default_rng(0)
    for t in range(3000):
        p = int(rng.integers(1, 400))
        a = rng.normal(0, rng.uniform(0.01, 300), p)
        if t % 5 == 0:
            a[rng.integers(p)] = -np.inf
        if t % 7 == 0 and p > 2:
            a[:2] = a.max()                                  # a tied maximum: scipy's own path
        b = None if t % 2 else rng.dirichlet(np.ones(p))
        if t % 11 == 2 and b is not None:
            b[0] = 0.0
        got, want = logsumexp_1d(a, b), float(logsumexp(a, b=b))
        assert got == want or (np.isnan(got) and np.isnan(want)), (t, got, want)
    assert logsumexp_1d(np.full(3, -np.inf)) == -np.inf


def _ld(p, rng):
    x = rng.normal(size=(300, p))
    x = np.cumsum(x, 1) * 0.4 + x                           # neighbours correlated, as in a region
    x = (x - x.mean(0)) / x.std(0)
    return x.T @ x / 300


def test_single_effect_likelihood_and_kriging_em__bit_identical_to_the_plain_formulas():
    """The optimiser's objective with the v-free terms computed once equals log sum prior exp(lbf) from
    :func:`_lbf` bit for bit (Brent's search would follow another path on a 1-ulp change, moving V by ~1e-9); the
    kriging EM with reused buffers equals the loop that allocated ``post`` and took ``post.mean(0)``."""
    rng = np.random.default_rng(1)
    for _ in range(200):
        p = int(rng.integers(2, 500))
        b, s2 = rng.normal(0, rng.uniform(0.01, 3), p), rng.uniform(1e-4, 2, p)
        prior = rng.dirichlet(np.ones(p))
        f = _loglik_of(b, s2, prior)
        for v in (0.0, float(np.exp(rng.uniform(-30, 15)))):
            lbf = _lbf(b, s2, v)
            m = lbf.max()
            assert f(v) == float(m + np.log(np.sum(prior * np.exp(lbf - m))))
    for _ in range(40):
        ll = rng.normal(0, rng.uniform(0.1, 20), (int(rng.integers(2, 300)), int(rng.integers(5, 60))))
        lik = np.exp(ll - ll.max(1, keepdims=True))
        w = np.full(lik.shape[1], 1.0 / lik.shape[1])
        for _ in range(500):
            post = lik * w
            post /= post.sum(1, keepdims=True)
            w_new = post.mean(0)
            if np.max(np.abs(w_new - w)) < 1e-10:
                break
            w = w_new
        assert np.array_equal(_mix_weights(ll), w_new)


def test_credible_sets__purity_from_one_row_rejects_the_same_sets_as_the_whole_submatrix():
    """A diffuse effect's 'set' (most of the region) is dropped on its first variant's row; the sets kept, their
    purity and order are those of the min over the whole submatrix (susieR's rule)."""
    rng = np.random.default_rng(2)
    kept = 0
    for _ in range(8):
        p = int(rng.integers(20, 120))
        R = _ld(p, rng)
        beta = np.zeros(p)
        beta[rng.integers(p, size=2)] = rng.normal(0, 5, 2)
        fit = susie_rss(R @ beta + rng.normal(size=p), R, 5000)
        for min_abs_corr in (0.0, 0.5, 0.9):
            got = credible_sets(fit, R, min_abs_corr=min_abs_corr)
            want = []
            for l in np.flatnonzero(fit.V > 1e-9):
                o = np.argsort(-fit.alpha[l], kind="stable")
                idx = o[:int(np.sum(np.cumsum(fit.alpha[l][o]) < 0.95)) + 1]
                if any(sorted(idx.tolist()) == sorted(w[1].tolist()) for w in want):
                    continue
                purity = 1.0 if len(idx) == 1 else float(np.min(np.abs(R[np.ix_(idx, idx)])))
                want.append((l, idx, purity))
            want = sorted([w for w in want if w[2] >= min_abs_corr], key=lambda w: -w[2])
            assert [(c.effect, c.variants.tolist(), c.min_abs_corr) for c in got] == \
                [(w[0], w[1].tolist(), w[2]) for w in want]
            kept += len(got)
    assert kept > 0


def test_optimize_prior_variance__unchanged_by_the_precomputed_likelihood():
    """The estimated prior variance of a single effect (what SuSiE's credible sets hang on) is the one Brent's
    search gives on :func:`_lbf` itself."""
    from scipy import optimize

    rng = np.random.default_rng(3)
    for _ in range(50):
        p = int(rng.integers(5, 300))
        b, s2 = rng.normal(0, 0.05, p), np.full(p, 1e-3)
        b[rng.integers(p)] = 0.3
        prior = np.full(p, 1.0 / p)

        def nll(lv):
            lbf = _lbf(b, s2, np.exp(lv))
            m = lbf.max()
            return -float(m + np.log(np.sum(prior * np.exp(lbf - m))))
        lv = optimize.minimize_scalar(nll, bounds=(-30.0, 15.0), method="bounded", options={"xatol": 1e-8}).x
        assert optimize_prior_variance(b, s2, prior, 0.0) == float(np.exp(lv))


def test_shared_rows__equals_the_pandas_merge_it_replaced():
    """A pair's rows at the panel rows both traits have, trait 2's columns suffixed ``_2`` only where trait 1 has
    the column (a trait 1 without ``n`` gets trait 2's as ``n``, as the merge gave)."""
    from edfgen.commands.coloc import _shared_rows

    rng = np.random.default_rng(4)
    for drop_n in (False, True):
        rows1, rows2 = np.sort(rng.choice(300, 120, replace=False)), np.sort(rng.choice(300, 150, replace=False))
        t1 = pd.DataFrame({"variant_id": [f"rs{r}" for r in rows1], "beta": rng.normal(size=120),
                           "standard_error": rng.uniform(size=120), "z": rng.normal(size=120),
                           "n": np.full(120, 1000.0), "row": rows1})
        t2 = pd.DataFrame({"variant_id": [f"rs{r}" for r in rows2], "beta": rng.normal(size=150),
                           "standard_error": rng.uniform(size=150), "z": rng.normal(size=150),
                           "n": rng.integers(900, 1100, 150), "row": rows2})
        if drop_n:
            t1 = t1.drop(columns="n")
        want = t1.merge(t2[["row", "beta", "standard_error", "z", "n"]], on="row", suffixes=("", "_2"))
        pd.testing.assert_frame_equal(_shared_rows(t1, t2), want)


@pytest.mark.parametrize("command", ["finemap", "coloc"])
def test_finemap_and_coloc__keep_only_each_phenotypes_rows_near_the_loci(sim_cohort, tmp_path, monkeypatch, command):
    """Every phenotype was held whole while every locus was fine-mapped or colocalised (136 genome-wide files of
    a demo: 1.8 GB; biobank-size files would not fit at all); now each is located in the panel and cut to the
    rows within --window-kb of some lead as it is read (the matching rule still sees the whole file)."""
    import edfgen.commands.coloc as coloc_mod
    import edfgen.commands.finemap as finemap_mod
    from edfgen.commands.coloc import run_coloc
    from edfgen.commands.finemap import run_finemap

    bim = pd.read_csv(Path(sim_cohort) / "genotypes.bim", sep=r"\s+", header=None, dtype={0: str})
    rng = np.random.default_rng(6)
    files = []
    for name in ("a", "b"):                 # every panel variant, random effects: the rows kept are what is tested
        beta, se = rng.normal(0, 0.02, len(bim)), np.full(len(bim), 0.02)
        pd.DataFrame({"variant_id": bim[1], "chromosome": bim[0], "base_pair_location": bim[3],
                      "effect_allele": bim[4], "other_allele": bim[5], "beta": beta, "standard_error": se,
                      "effect_allele_frequency": 0.3, "p_value": 0.5, "n": 2000}).to_csv(
            tmp_path / f"{name}.tsv", sep="\t", index=False)
        files.append(tmp_path / f"{name}.tsv")
    leads = bim.iloc[[len(bim) // 4, len(bim) // 2]]
    loci = pd.DataFrame({"locus": [1, 2], "chromosome": leads[0].to_numpy(), "base_pair_location": leads[3].to_numpy(),
                         "phenotypes": ["a", "a,b"]})
    loci.to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    far = np.ones(len(bim), dtype=bool)        # an exposure with no row near a locus: cut to nothing, no error
    for lead in loci.itertuples():
        far &= ~((bim[0] == str(lead.chromosome)) & ((bim[3] - lead.base_pair_location).abs() <= 100_000)).to_numpy()
    pd.read_csv(files[0], sep="\t")[far].to_csv(tmp_path / "c.tsv", sep="\t", index=False)
    held = []
    if command == "finemap":
        real = finemap_mod.regions
        monkeypatch.setattr(finemap_mod, "regions", lambda lo, zs, *a, **k: held.extend(zs.values()) or
                            real(lo, zs, *a, **k))
        run_finemap(files, loci=tmp_path / "loci.tsv", out_dir=tmp_path / "o", genotypes=str(Path(sim_cohort) /
                                                                                              "genotypes"),
                    window_kb=100)
    else:
        real = coloc_mod._coloc_rows
        monkeypatch.setattr(coloc_mod, "_coloc_rows", lambda work, *a, **k: held.extend(w[1] for w in work) or
                            real(work, *a, **k))
        run_coloc([files[0], tmp_path / "c.tsv"], files[1:], loci=tmp_path / "loci.tsv", out_dir=tmp_path / "o", window_kb=100,
                  genotypes=str(Path(sim_cohort) / "genotypes"))
    assert held and all(len(z.table) < len(bim) / 2 for z in held)
    assert command == "finemap" or (pd.read_csv(tmp_path / "o" / "coloc.tsv", sep="\t")["trait_1"] == "a").all()
    from edfgen.commands.finemap import locus_regions, read_loci
    from edfgen.formats.sumstats.zscores import read_zstats

    whole = read_zstats(files, "--sumstats", sample_sizes=None)
    for z in held:          # the rows kept are every row fine-mapping / coloc would take from the whole file
        want = pd.Index(np.concatenate([r.index for _, r in locus_regions(read_loci(tmp_path / "loci.tsv"),
                                                                            whole[z.phenotype], 100)])).unique()
        assert len(want) > 0 and sorted(z.table.index) == sorted(want), (z.phenotype, len(z.table), len(want))
    for z in held:
        t = z.table
        near = np.zeros(len(t), dtype=bool)
        for lead in loci.itertuples():
            near |= ((t["chromosome"].astype(str) == str(lead.chromosome))
                     & ((t["base_pair_location"] - lead.base_pair_location).abs() <= 100_000)).to_numpy()
        assert near.all() and "row" in t.columns, (z.phenotype, int((~near).sum()), len(t))


def test_kriging__conditional_means_from_the_eigenvectors_equal_the_whole_precision_matrix():
    """The kriging check takes the precision matrix's diagonal and its product with z from the eigenvectors
    (O(p^2)) instead of forming U diag(1/d) U' (O(p^3)): the same numbers within 1e-12, the same flags."""
    from edfgen.kernels.susie import adjust_z, kriging_rss, ld_eigen

    rng = np.random.default_rng(7)
    for _ in range(10):
        p = int(rng.integers(10, 200))
        R = _ld(p, rng)
        z = R @ np.where(rng.random(p) < 0.02, 6.0, 0.0) + rng.normal(size=p)
        res = kriging_rss(z, R, 5000)
        d, u = ld_eigen(R)
        with np.errstate(divide="ignore"):
            dinv = 1.0 / ((1 - res.s) * d + res.s)
        dinv[~np.isfinite(dinv)] = 0.0
        prec = (u * dinv) @ u.T
        zt = adjust_z(z, 5000)
        want = -(prec @ zt - np.diag(prec) * zt) / np.diag(prec)
        np.testing.assert_allclose(res.condmean, want, rtol=0, atol=1e-12)
        np.testing.assert_allclose(res.condvar, 1 / np.diag(prec), rtol=1e-12)


def test_near_loci__plink_par_rows_coded_25_stay_on_x_when_the_mt_rows_are_cut_away():
    """PLINK's ``25`` is X (PAR) only in a file that also has ``26`` (MT): the cut kept the raw codes, so once the
    MT row was cut away the PAR rows read as MT and left the X locus (fine-mapping, coloc's exposures lost them).
    The cut now carries the whole file's labels, which read the same again."""
    from edfgen.commands.finemap import locus_regions, near_loci
    from edfgen.formats.sumstats.layout import chromosome_labels
    from edfgen.formats.sumstats.zscores import ZStats

    t = pd.DataFrame({"variant_id": list("abcde"), "chromosome": ["1", "25", "25", "23", "26"],
                      "base_pair_location": [1000, 1_000_000, 1_100_000, 2_800_000, 500], "z": 1.0})
    z = ZStats("p", t, (Path("p.tsv"),))
    loci = pd.DataFrame({"locus": [1], "chromosome": ["X"], "base_pair_location": [1_050_000], "phenotypes": ["p"]})
    whole = [r["variant_id"].tolist() for _, r in locus_regions(loci, z, 2000)]
    cut = near_loci(z, loci, 2000)
    assert whole == [["b", "c", "d"]]
    assert [r["variant_id"].tolist() for _, r in locus_regions(loci, cut, 2000)] == whole
    assert cut.table["chromosome"].tolist() == ["X", "X", "X"] and cut.table.index.tolist() == [1, 2, 3]
    assert chromosome_labels(pd.Series(["1", "X", "X", "MT"])).tolist() == ["1", "X", "X", "MT"]


def _trait(rng, p, hit):
    z = rng.normal(size=p)
    z[hit] = 9.0
    return pd.DataFrame({"row": np.arange(p), "variant_id": [f"1:{1000 + i}:A:G" for i in range(p)],
                         "base_pair_location": 1000 + np.arange(p), "beta": z * 0.01, "standard_error": 0.01, "z": z,
                         "n": 5000.0})


def test_coloc_region__an_outcome_fit_is_not_reused_for_an_exposure_of_the_same_name():
    """The SuSiE fits of a locus were cached by trait name only: with exposures {A, B} and outcomes {A, B} from
    other files, pair B x A took outcome B's fit as exposure B's (PP.H0 2.79e-27 against 9.52e-28 alone)."""
    from edfgen.commands.coloc import coloc_region
    from edfgen.formats.sumstats.zscores import ZStats

    rng, p = np.random.default_rng(3), 30
    ex = {n: _trait(rng, p, 3) for n in "AB"}
    oc = {n: _trait(rng, p, 20) for n in "AB"}
    R = np.eye(p) * 0.9 + 0.1

    def run(pairs):
        cache = {("R", np.arange(p).tobytes()): (R, np.ones(p, bool))}
        return {(e, o): coloc_region(1, ex[e], oc[o], ZStats(e, ex[e], (Path(f"ex/{e}.tsv"),)),
                                     ZStats(o, oc[o], (Path(f"oc/{o}.tsv"),)), None, cache=cache)
                for e, o in pairs}
    shared, alone = run([("A", "B"), ("B", "A")]), run([("B", "A")])
    assert [r["method"] for r in alone[("B", "A")]] == ["abf", "susie"]
    assert shared[("B", "A")] == alone[("B", "A")]


def test_coloc__same_named_exposure_and_outcome_from_other_files_are_colocalised_the_same_file_is_warned(
        sim_cohort, tmp_path, caplog):
    """An exposure and an outcome of one name were skipped silently, even from other files (another consortium's
    trait named like the EDF): now colocalised; a trait given as both (the same file) is still not colocalised
    with itself, and a warning says so."""
    import logging

    from edfgen.commands.coloc import run_coloc

    bim = pd.read_csv(Path(sim_cohort) / "genotypes.bim", sep=r"\s+", header=None, dtype={0: str})
    rng = np.random.default_rng(8)
    lead = len(bim) // 3
    paths = []
    for where in ("ex", "oc"):
        beta = rng.normal(0, 0.02, len(bim))
        beta[lead] = 0.3
        (tmp_path / where).mkdir()
        pd.DataFrame({"variant_id": bim[1], "chromosome": bim[0], "base_pair_location": bim[3],
                      "effect_allele": bim[4], "other_allele": bim[5], "beta": beta, "standard_error": 0.02,
                      "effect_allele_frequency": 0.3, "p_value": 0.5, "n": 2000}).to_csv(
            tmp_path / where / "a.tsv", sep="\t", index=False)
        paths.append(tmp_path / where / "a.tsv")
    pd.DataFrame({"locus": [1], "chromosome": [bim[0][lead]], "base_pair_location": [bim[3][lead]],
                  "phenotypes": ["a"]}).to_csv(tmp_path / "loci.tsv", sep="\t", index=False)
    kw = {"loci": tmp_path / "loci.tsv", "window_kb": 50, "genotypes": str(Path(sim_cohort) / "genotypes")}
    other = run_coloc([paths[0]], [paths[1]], out_dir=tmp_path / "o1", **kw).coloc
    assert len(other) > 0 and (other["trait_1"] == "a").all() and (other["trait_2"] == "a").all()
    with caplog.at_level(logging.WARNING):
        same = run_coloc([paths[0]], [paths[0]], out_dir=tmp_path / "o2", **kw).coloc
    assert same.empty
    assert any("both exposure and outcome" in r.getMessage() and ": a" in r.getMessage() for r in caplog.records)


def test_shared_rows__a_repeated_panel_row_is_a_clear_error_and_unsorted_unique_rows_match_the_merge():
    """``intersect1d(assume_unique=True)`` paired a repeated row with another variant's numbers (coloc_region is
    public: its rows need not come from align_to_panel)."""
    from edfgen.commands.coloc import _shared_rows
    from edfgen.exceptions import InputError

    t1 = pd.DataFrame({"row": [5, 5, 7], "variant_id": ["x", "y", "z"], "beta": [1., 2, 3], "standard_error": 1.,
                       "z": [1., 2, 3]})
    t2 = pd.DataFrame({"row": [7, 9], "variant_id": ["z", "w"], "beta": [4., 5], "standard_error": 1., "z": [4., 5]})
    with pytest.raises(InputError, match="trait 1's region rows repeat a panel row .*5"):
        _shared_rows(t1, t2)
    with pytest.raises(InputError, match="trait 2's"):
        _shared_rows(t2, t1)
    u1, u2 = t1.iloc[[2, 0]], pd.concat([t2, t2.assign(row=[5, 3])]).iloc[[3, 0, 2]]     # unique, not sorted
    want = u1.merge(u2[["row", "beta", "standard_error", "z"]], on="row", suffixes=("", "_2"))
    pd.testing.assert_frame_equal(_shared_rows(u1, u2).sort_values("row", ignore_index=True),
                                  want.sort_values("row", ignore_index=True))


def test_logsumexp_1d__a_non_finite_result_takes_scipys_last_step():
    """A tiny weight on the largest term overflowed sum / weight to inf, where scipy rescales (0.3069)."""
    for a, b in (([1.0, 2.0], [0.5, 1e-320]), ([1.0, 2.0], [1e300, 1e300]), ([2.0, 1.0], [1e-320, 0.5])):
        with np.errstate(over="ignore"):
            got, want = logsumexp_1d(np.array(a), np.array(b)), float(logsumexp(a, b=b))
        assert np.isfinite(want) and got == want, (a, b, got, want)
    with np.errstate(over="ignore"):
        assert logsumexp_1d(np.array([1.0, 2.0]), np.array([0.5, 1e-320])) == pytest.approx(0.30685281944005466)
