"""``--model lmm-loco`` (edfgen.kernels.lmm): REML δ against a direct REML on the untransformed matrices,
GLS statistics against statsmodels GLS, and calibration on a family cohort against linear regression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import optimize

from edfgen.kernels.association import lambda_gc
from edfgen.kernels.lmm import fit_null, gls_association, grm_numerator


def _tiny(seed=0, n=90):
    rng = np.random.default_rng(seed)
    # relatives: pairs share half their genotypes
    base = rng.binomial(2, 0.3, size=(n // 2, 400)).astype(float)
    G = np.vstack([base, np.where(rng.random((n // 2, 400)) < 0.5, base, rng.binomial(2, 0.3, (n // 2, 400)))])
    num, m = grm_numerator(G)
    K = num / m
    C = np.column_stack([np.ones(n), rng.standard_normal(n)])
    g = G[:, :200] @ rng.standard_normal(200) * 0.08
    Y = np.column_stack([g + rng.standard_normal(n), 0.3 * g + rng.standard_normal(n) + C[:, 1]])
    Gt = rng.binomial(2, 0.25, size=(n, 5)).astype(float)
    Gt[3, 2] = np.nan                      # a missing call: mean-imputed
    return K, Y, C, Gt


def _direct_neg_reml(log_delta, K, y, X):
    """-REML log-likelihood (σ² profiled) from V = K + δ I itself, no eigendecomposition."""
    n, k = X.shape
    V = K + np.exp(log_delta) * np.eye(n)
    Vi = np.linalg.inv(V)
    XtViX = X.T @ Vi @ X
    P = Vi - Vi @ X @ np.linalg.solve(XtViX, X.T @ Vi)
    sig = y @ P @ y / (n - k)
    return 0.5 * ((n - k) * np.log(sig) + np.linalg.slogdet(V)[1] + np.linalg.slogdet(XtViX)[1])


def test_reml_and_gls_match_direct_reml_and_statsmodels():
    sm = pytest.importorskip("statsmodels.api")
    K, Y, C, Gt = _tiny()
    null = fit_null(K, Y, C)
    res = gls_association(Gt, null)
    for j in range(Y.shape[1]):
        ref = optimize.minimize_scalar(_direct_neg_reml, bounds=(-10, 10), args=(K, Y[:, j], C), method="bounded",
                                       options={"xatol": 1e-7})
        assert np.log(null.delta[j]) == pytest.approx(ref.x, abs=2e-3)
        assert _direct_neg_reml(np.log(null.delta[j]), K, Y[:, j], C) <= ref.fun + 1e-7
        V = K + null.delta[j] * np.eye(len(K))
        for v in range(Gt.shape[1]):
            g = Gt[:, v].copy()
            g[np.isnan(g)] = np.nanmean(g)
            fit = sm.GLS(Y[:, j], np.column_stack([C, g]), sigma=V).fit()
            np.testing.assert_allclose(res.beta[v, j], fit.params[-1], rtol=1e-6)
            np.testing.assert_allclose(res.standard_error[v, j], fit.bse[-1], rtol=1e-6)
            np.testing.assert_allclose(res.p_value[v, j], fit.pvalues[-1], rtol=1e-6)
    assert np.allclose(res.effect_allele_frequency[:, 0], np.nanmean(Gt, 0) / 2)


@pytest.fixture(scope="module")
def family_cohort(tmp_path_factory):
    """Families of 2-4 children; 8 polygenic phenotypes (h² 0.8) on chromosomes 1-2, chromosome 3 null."""
    from bed_reader import open_bed

    from edfgen.simulate.cohort import simulate_cohort

    d = tmp_path_factory.mktemp("lmm")
    co = simulate_cohort(d / "c", n=700, seed=5, chromosomes=3, variants_per_chromosome=400, ecg=False,
                         families=150)
    with open_bed(str(co.bfile) + ".bed") as bed:
        G = bed.read(dtype="float64")
        chrom = np.asarray(bed.chromosome, dtype=str)
        iid = np.asarray(bed.iid, dtype=str)
    G = np.where(np.isnan(G), np.nanmean(G, 0), G)
    sd = G.std(0)
    Z = (G - G.mean(0)) / np.where(sd > 0, sd, 1)
    rng = np.random.default_rng(1)
    causal = chrom != "3"
    g = Z[:, causal] @ rng.standard_normal((int(causal.sum()), 8))
    g *= np.sqrt(0.8) / g.std(0)
    Y = g + rng.standard_normal(g.shape) * np.sqrt(0.2)
    pd.DataFrame(Y, columns=[f"q{i}" for i in range(8)]).assign(IID=iid)[["IID"] + [f"q{i}" for i in range(8)]] \
        .to_csv(d / "pheno.tsv", sep="\t", index=False)
    return co.bfile, d / "pheno.tsv"


def _null_lambda(out):
    ps = [pd.read_csv(out / f"q{i}.tsv.gz", sep="\t") for i in range(8)]
    return lambda_gc(np.concatenate([p.loc[p["chromosome"].astype(str) == "3", "p_value"].to_numpy() for p in ps]))


def test_lmm_loco_calibrates_family_cohort_better_than_linear(family_cohort, tmp_path):
    from edfgen.cli import cli

    bfile, pheno = family_cohort
    lam = {}
    for model in ("linear", "lmm-loco"):
        out = tmp_path / model
        r = CliRunner().invoke(cli, ["gwas", "--bfile", str(bfile), "--pheno", str(pheno), "--pheno-prefix", "q",
                                     "--transform", "none", "--engine", "fast", "--model", model, "--no-plots",
                                     "--out", str(out)])
        assert r.exit_code == 0, r.output
        lam[model] = _null_lambda(out)
    import json

    h2 = json.loads((tmp_path / "lmm-loco" / "manifest.json").read_text())["extra"]["lmm_loco_reml_h2"]
    assert list(h2) == ["genome"] and sorted(h2["genome"]) == [f"q{i}" for i in range(8)]   # one δ per phenotype
    assert all(0 < v < 1 for v in h2["genome"].values())
    assert lam["linear"] > 1.05
    assert abs(lam["lmm-loco"] - 1) < abs(lam["linear"] - 1)
    assert abs(lam["lmm-loco"] - 1) < 0.08    # 0.949 with δ per LOCO GRM (linear 1.315): 400 null variants in LD


def test_lmm_loco_refusals(family_cohort, tmp_path):
    from edfgen.cli import cli

    bfile, pheno = family_cohort
    base = ["gwas", "--bfile", str(bfile), "--pheno", str(pheno), "--pheno-prefix", "q", "--model", "lmm-loco",
            "--no-plots"]
    r = CliRunner().invoke(cli, base + ["--engine", "hail", "--out", str(tmp_path / "h")])
    assert r.exit_code != 0 and "lmm-loco runs in the fast engine" in r.output.strip().splitlines()[-1]
    r = CliRunner().invoke(cli, base + ["--binary", "--out", str(tmp_path / "b")])
    assert r.exit_code != 0 and "lmm-loco" in r.output


def test_lmm_loco_model_limits(monkeypatch):
    """Above the sample limit: one line pointing to ridge-loco; missing phenotype values: refused by name."""
    import edfgen.kernels.models as models
    from edfgen.exceptions import InputError

    K, Y, C, Gt = _tiny()
    genome = models.GenomeBlocks.from_arrays(np.hstack([Gt, Gt]), ["1"] * 5 + ["2"] * 5)
    model = models.make_model("lmm-loco")
    monkeypatch.setattr(models, "LMM_MAX_SAMPLES", 50)
    with pytest.raises(InputError, match="90 samples > 50.*ridge-loco"):
        model.prepare(C, Y, genome=genome)
    monkeypatch.setattr(models, "LMM_MAX_SAMPLES", 50_000)
    Y[4, 1] = np.nan
    with pytest.raises(InputError, match="'b' has missing values"):
        model.prepare(C, Y, names=["a", "b"], genome=genome)
    Y[4, 1] = 0.0
    loco = models.LmmLocoModel(variance="loco")
    prepared = loco.prepare(C, Y, names=["a", "b"], genome=genome)
    res = loco.test_block(prepared, Gt, chromosome="2")      # the GRM of chromosome 1 only
    num, m = grm_numerator(Gt)
    ref = gls_association(Gt, fit_null(num / m, Y, C))
    np.testing.assert_allclose(res.p_value, ref.p_value, rtol=1e-10)
    assert set(prepared.h2) == {"2"}
    with pytest.raises(InputError, match="variance 'chromosome'"):
        models.LmmLocoModel(variance="chromosome").prepare(C, Y, genome=genome)
    with pytest.raises(InputError, match="solver 'cholesky'"):     # REML per LOCO GRM needs the eigenvalues
        models.LmmLocoModel(variance="loco", solver="cholesky").prepare(C, Y, genome=genome)
    with pytest.raises(InputError, match="solver 'qr'"):
        models.LmmLocoModel(solver="qr").prepare(C, Y, genome=genome)


@pytest.mark.parametrize("solver", ["auto", "eigen", "cholesky"])
def test_lmm_loco_genome_variance_is_gls_with_the_whole_genome_reml_delta(solver):
    """The default ``variance="genome"``: δ of each phenotype from a direct REML on the whole-genome GRM (no
    eigendecomposition), then every LOCO GRM's test equals statsmodels GLS(sigma = K_LOCO + δ I), by the
    eigendecomposition of the LOCO GRM or one Cholesky factor per phenotype (``auto``: here the Cholesky)."""
    import edfgen.kernels.models as models

    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(3)
    K, Y, C, _ = _tiny(seed=3)
    n = len(K)
    base = rng.binomial(2, 0.3, size=(n // 2, 60)).astype(float)
    G = np.vstack([base, np.where(rng.random((n // 2, 60)) < 0.5, base, rng.binomial(2, 0.3, (n // 2, 60)))])
    Y = Y + 0.4 * (G[:, :40] - G[:, :40].mean(0)) @ rng.standard_normal((40, 2)) / np.sqrt(40)
    chrom = np.repeat(["1", "2", "3"], 20)
    model = models.LmmLocoModel(solver=solver)
    assert models.make_model("lmm-loco") == models.LmmLocoModel() and model.variance == "genome"
    prepared = model.prepare(C, Y, genome=models.GenomeBlocks.from_arrays(G, list(chrom)))
    num, m = grm_numerator(G)
    for j in range(Y.shape[1]):
        ref = optimize.minimize_scalar(_direct_neg_reml, bounds=(-10, 10), args=(num / m, Y[:, j], C),
                                       method="bounded", options={"xatol": 1e-7})
        assert np.log(prepared.delta[j]) == pytest.approx(ref.x, abs=2e-3)
    np.testing.assert_allclose(prepared.h2["genome"], 1 / (1 + prepared.delta))
    for c in ("1", "3"):
        res = model.test_block(prepared, G[:, chrom == c], chromosome=c)
        assert isinstance(prepared.current[1], list) == (solver != "eigen")
        num_c, m_c = grm_numerator(G[:, chrom != c])
        for j in range(Y.shape[1]):
            V = num_c / m_c + prepared.delta[j] * np.eye(n)
            for v in range(0, 20, 7):
                fit = sm.GLS(Y[:, j], np.column_stack([C, G[:, chrom == c][:, v]]), sigma=V).fit()
                np.testing.assert_allclose(res.beta[v, j], fit.params[-1], rtol=1e-6)
                np.testing.assert_allclose(res.standard_error[v, j], fit.bse[-1], rtol=1e-6)
                np.testing.assert_allclose(res.p_value[v, j], fit.pvalues[-1], rtol=1e-6)
    assert set(prepared.h2) == {"genome"}


def test_lmm_loco_genome_variance_gains_power_at_the_same_calibration(family_cohort):
    """On the family cohort (causal chromosomes 1-2, null 3): the whole-genome δ gives the causal chromosomes'
    variants a larger mean χ² than δ refitted on each LOCO GRM (which leaves half the polygenic variance,
    and with it part of the relatives' covariance, to the residual); the null chromosome's mean χ² is
    unchanged and its λGC stays near 1."""
    from bed_reader import open_bed
    from scipy import stats

    import edfgen.kernels.models as models

    bfile, pheno = family_cohort
    with open_bed(str(bfile) + ".bed") as bed:
        G = bed.read(dtype="float64")
        chrom = np.asarray(bed.chromosome, dtype=str)
    Y = pd.read_csv(pheno, sep="\t").filter(like="q").to_numpy(float)
    C = np.ones((len(Y), 1))
    genome = models.GenomeBlocks.from_arrays(G, list(chrom))
    chi2, null, lam = {}, {}, {}
    for variance in ("genome", "loco"):
        model = models.LmmLocoModel(variance=variance)
        prepared = model.prepare(C, Y, genome=genome)
        p = {c: model.test_block(prepared, G[:, chrom == c], chromosome=c).p_value for c in ("1", "2", "3")}
        chi2[variance] = np.nanmean(stats.chi2.isf(np.concatenate([p["1"], p["2"]]), 1))
        null[variance] = np.nanmean(stats.chi2.isf(p["3"], 1))
        lam[variance] = lambda_gc(p["3"].ravel())
    # measured: causal mean χ² 2.85 vs 2.48; null mean χ² 0.959 vs 0.963, λGC 0.946 vs 0.969 (the median of
    # 400 null variants in LD × 8 phenotypes moves by ±0.05 per phenotype with small changes of δ)
    assert chi2["genome"] > 1.10 * chi2["loco"]
    assert abs(null["genome"] - null["loco"]) < 0.02 and abs(lam["genome"] - 1) < 0.08


def test_lmm_loco_cholesky_and_eigen_solvers_agree_on_the_family_cohort(family_cohort):
    """The genome-wide δ default tested through one Cholesky factor per phenotype gives the statistics of the
    eigendecomposition path to 1e-10 (relative) on a family cohort; ``auto`` takes the Cholesky for few
    phenotypes and the eigendecomposition for many."""
    from bed_reader import open_bed

    import edfgen.kernels.models as models
    from edfgen.kernels.lmm import cholesky_is_cheaper

    bfile, pheno = family_cohort
    with open_bed(str(bfile) + ".bed") as bed:
        G = bed.read(dtype="float64")
        chrom = np.asarray(bed.chromosome, dtype=str)
    Y = pd.read_csv(pheno, sep="\t").filter(like="q").to_numpy(float)[:, :3]
    C = np.column_stack([np.ones(len(Y)), np.linspace(-1, 1, len(Y))])
    genome = models.GenomeBlocks.from_arrays(G, list(chrom))
    res = {}
    for solver in ("eigen", "cholesky"):
        model = models.LmmLocoModel(solver=solver)
        prepared = model.prepare(C, Y, genome=genome)
        res[solver] = [model.test_block(prepared, G[:, chrom == c], chromosome=c) for c in ("1", "3")]
    for e, ch in zip(res["eigen"], res["cholesky"]):
        assert np.isfinite(e.p_value).mean() > 0.9
        for f in ("beta", "standard_error", "p_value", "effect_allele_frequency"):
            # (rtol 1e-10, and 1e-10 of the field's scale for values near 0: a beta of -2.75e-6 among betas of
            # ~0.1 differed by 1.02e-10 of itself, 2.8e-16 absolute, in one CI run: rounding, not the solver)
            want = getattr(e, f)
            np.testing.assert_allclose(getattr(ch, f), want, rtol=1e-10, atol=1e-10 * np.nanmax(np.abs(want)))
        assert (ch.n == e.n).all()
    n = len(Y)
    assert cholesky_is_cheaper(n, 400, 1) and cholesky_is_cheaper(3000, 1500, 4)
    assert not cholesky_is_cheaper(3000, 1500, 128) and not cholesky_is_cheaper(3000, 100_000, 8)


def test_lmm_loco_auto_solver_keeps_the_eigendecomposition_when_the_factors_would_not_fit(monkeypatch):
    """``auto`` takes one Cholesky factor per phenotype for few phenotypes, but not beyond 2 phenotypes when their
    N × N factors exceed ``CHOLESKY_MAX_BYTES``; the statistics are the same either way."""
    import edfgen.kernels.models as models

    K, Y, C, Gt = _tiny(seed=2)
    Y = np.column_stack([Y, Y[:, ::-1] + 0.1 * Y])          # 4 phenotypes
    G = np.hstack([Gt, Gt[::-1]])
    genome = models.GenomeBlocks.from_arrays(G, ["1"] * 5 + ["2"] * 5)
    model = models.LmmLocoModel()
    out = {}
    for budget in ("default", "none"):
        if budget == "none":
            monkeypatch.setattr(models, "CHOLESKY_MAX_BYTES", 0)
        prepared = model.prepare(C, Y, genome=genome)
        out[budget] = model.test_block(prepared, Gt, chromosome="1")
        assert isinstance(prepared.current[1], list) == (budget == "default")
    for f in ("beta", "standard_error", "p_value"):
        np.testing.assert_allclose(getattr(out["none"], f), getattr(out["default"], f), rtol=1e-10)


def test_reml_components_and_statistic_match_two_dimensional_reml_and_gcta_mlma():
    """(σg², σe²) against a 2-D maximisation of the unprofiled restricted likelihood of V = σg² K + σe² I, and
    the t statistic against GCTA-MLMA's χ² = (x'Py)² / x'Px at those components: t² = χ² (n-k-1) / (n-k-χ²)
    exactly (the residual variance re-estimated per variant), so the χ² of edfgen's p is GCTA's up to the
    t(n-k-1) tail (null ratio ≈ 1 - 1/n, no deflation)."""
    from scipy import stats

    K, Y, C, Gt = _tiny()
    null = fit_null(K, Y, C)
    n, k = C.shape
    y = Y[:, 0]                                # phenotype 1's REML optimum is on the boundary σg² = 0

    def neg_reml(t):
        V = np.exp(t[0]) * K + np.exp(t[1]) * np.eye(n)
        Vi = np.linalg.inv(V)
        A = C.T @ Vi @ C
        P = Vi - Vi @ C @ np.linalg.solve(A, C.T @ Vi)
        return 0.5 * (np.linalg.slogdet(V)[1] + np.linalg.slogdet(A)[1] + y @ P @ y), P

    ref = optimize.minimize(lambda t: neg_reml(t)[0], np.log([y.var() / 2] * 2), method="Nelder-Mead",
                            options=dict(xatol=1e-9, fatol=1e-13, maxiter=4000))
    sg, se = np.exp(ref.x)
    assert null.yy[0] / (n - k) == pytest.approx(sg, rel=1e-5)            # σg² (profiled in edfgen)
    assert null.delta[0] * null.yy[0] / (n - k) == pytest.approx(se, rel=1e-5)
    P = neg_reml(ref.x)[1]
    X = np.where(np.isnan(Gt), np.nanmean(Gt, 0), Gt)
    chi2 = (X.T @ P @ y) ** 2 / np.einsum("ij,ij->j", X, P @ X)
    t = stats.t.isf(gls_association(Gt, null).p_value[:, 0] / 2, n - k - 1)
    np.testing.assert_allclose(t ** 2, chi2 * (n - k - 1) / (n - k - chi2), rtol=1e-4)


def test_loco_models__one_chromosome_refused_before_any_genotype_pass():
    """lmm-loco refused one chromosome only after its whole-genome GRM pass, and ridge-loco's step 1 ran on it
    with LOCO predictions ~0 (plain linear regression, review s32e): both refuse before reading a block."""
    from edfgen.exceptions import InputError
    from edfgen.kernels.models import GenomeBlocks, LmmLocoModel, RidgeLocoModel

    def blocks(size, only=None):
        raise AssertionError("read the genotypes")
        yield

    genome = GenomeBlocks(blocks=blocks, chromosomes=(("7", 500),))
    Y, C = np.random.default_rng(0).normal(size=(60, 2)), np.ones((60, 1))
    for model in (LmmLocoModel(), RidgeLocoModel()):
        with pytest.raises(InputError, match=rf"--model {model.name}: the analysed variants are on 1 chromosome\(s\) "
                                             r"\(7\).*needs >= 2 chromosomes"):
            model.prepare(C, Y, names=["a", "b"], genome=genome, sample_ids=np.arange(60).astype(str))


def test_gls__a_variant_that_fits_the_phenotype_exactly_is_na_not_se_0_and_p_0():
    """As the linear test (review s32a F4): an exact fit leaves a residual sum of squares of rounding noise, so SE 0
    and p 0 (counted as a hit) before; now NA, and the other variants' statistics are untouched."""
    K, Y, C, Gt = _tiny()
    Gt = np.nan_to_num(Gt, nan=0.0)
    y = np.column_stack([2.0 * Gt[:, 1] + 0.5 * C[:, 1], Y[:, 0]])
    res = gls_association(Gt, fit_null(K, y, C))
    assert np.isnan(res.beta[1, 0]) and np.isnan(res.standard_error[1, 0]) and np.isnan(res.p_value[1, 0])
    others = np.delete(np.arange(Gt.shape[1]), 1)
    assert np.all(np.isfinite(res.p_value[others, 0])) and np.all(res.standard_error[others, 0] > 0)
    assert np.all(np.isfinite(res.p_value[:, 1]))


def test_gls__an_all_missing_variant_has_no_allele_frequency_as_the_linear_test():
    """Review s39edge: a variant without one called genotype among the analysed samples was written by
    ``--model lmm-loco`` with ``effect_allele_frequency`` 0 (a monomorphic variant's value, a number where there is
    none; the linear model and plink2 --freq give NA); now NaN on both solvers, its statistics NA, the other
    variants' frequency their called mean / 2 (exact) and their statistics untouched."""
    from edfgen.kernels.lmm import gls_whitened, whitened_nulls

    K, Y, C, Gt = _tiny()
    Gt[:, 4] = np.nan
    null = fit_null(K, Y, C)
    for res in (gls_association(Gt, null), gls_whitened(Gt, whitened_nulls(K, Y, C, null.delta))):
        assert np.isnan(res.effect_allele_frequency[4]).all()
        assert np.isnan(res.beta[4]).all() and np.isnan(res.p_value[4]).all()
        np.testing.assert_allclose(res.effect_allele_frequency[:4, 0], np.nanmean(Gt[:, :4], axis=0) / 2, rtol=1e-12)
        assert np.isfinite(res.p_value[:4]).all()


def test_reml_delta__at_the_score_root_so_threads_rounding_does_not_move_the_statistics():
    """Review s41: ``--model lmm-loco`` with ``--threads 2`` gave betas up to 9e-7 relative from ``--threads 1``.
    Not edfgen's chunking (the GRM numerator is summed block by block in file order, bit for bit the same): the
    BLAS thread count changes the eigendecomposition's last-bit rounding, and Brent's search on the flat REML
    minimum (xatol 1e-6 on log delta) turned that into 1e-8 of delta. Now delta is the root of the REML score:
    eigenvalues moved by 1e-15 (another thread count's rounding) move it by < 1e-12, where it moved by ~1e-8;
    the score matches the likelihood's numerical derivative, and with 1 or 2 BLAS threads the LOCO statistics
    agree to 1e-9."""
    from threadpoolctl import threadpool_limits

    from edfgen.kernels import lmm
    from edfgen.kernels.models import GenomeBlocks, LmmLocoModel

    rng = np.random.default_rng(1)
    n = 300
    s = np.sort(rng.gamma(1.0, 1.0, n))
    yt = rng.normal(size=n) * np.sqrt(s + 2.0)
    Ct = rng.normal(size=(n, 3))
    for x in (-1.0, 0.3, 1.5):
        h = 1e-5
        numeric = (lmm._neg_reml(x + h, s, yt, Ct) - lmm._neg_reml(x - h, s, yt, Ct)) / (2 * h)
        assert abs(lmm._reml_score(x, s, yt, Ct) - numeric) < 1e-7 * max(1.0, abs(numeric))
    d0 = lmm.reml_delta(s, yt, Ct)
    moved = [abs(lmm.reml_delta(s * (1 + 1e-15 * rng.standard_normal(n)), yt, Ct) / d0 - 1) for _ in range(8)]
    assert max(moved) < 1e-12, moved

    n, m = 600, 1500
    G = rng.binomial(2, rng.uniform(0.05, 0.5, m), (n, m)).astype(float)
    y = G[:, :50] @ rng.normal(0, 0.1, 50) + rng.normal(size=n)
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    res = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            model = LmmLocoModel(block_size=256)
            state = model.prepare(C, y[:, None], genome=GenomeBlocks.from_arrays(G, ["1"] * 750 + ["2"] * 750))
            res.append(model.test_block(state, G[:, 750:], chromosome="2"))
    np.testing.assert_allclose(res[0].beta, res[1].beta, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res[0].p_value, res[1].p_value, rtol=1e-9)
