"""Association models (edfgen.kernels.models), REGENIE step 1 (edfgen.kernels.ridge) and MOSTest
(edfgen.kernels.multivariate) against naive references and statsmodels, and their calibration on a
simulated cohort with families."""

from __future__ import annotations

import gzip
import io

import numpy as np
import pandas as pd
import pytest
from scipy import special

from edfgen.exceptions import InputError
from edfgen.kernels.association import lambda_gc, linear_association, prepare_phenotypes
from edfgen.kernels.logistic import logistic_association, prepare_logistic
from edfgen.kernels.models import GenomeBlocks, LinearModel, LogisticModel, RidgeLocoModel, make_model
from edfgen.kernels.multivariate import GAMMA_FIT_MIN_VARIANTS, mostest, z_scores
from edfgen.formats.loco import read_loco_predictions, write_loco_predictions
from edfgen.kernels.ridge import LocoPredictions, ridge_loco_predictions, shrinkage_grid


def _data(n=300, m=60, p=3, seed=0, binary=False):
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, rng.uniform(0.1, 0.5, m), (n, m)).astype(float)
    G[rng.random((n, m)) < 0.01] = np.nan
    C = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    eta = 0.3 * np.nan_to_num(G[:, :p], nan=1.0) + 0.2 * C[:, 1:2]
    if binary:
        Y = (rng.random((n, p)) < 1 / (1 + np.exp(-(eta - 1)))).astype(float)
    else:
        Y = eta + rng.normal(size=(n, p))
    Y[rng.random((n, p)) < 0.05] = np.nan
    return G, C, Y


# --------------------------------------------------------------------------- the interface

def test_linear_and_logistic_models__are_the_kernels_bit_for_bit():
    G, C, Y = _data()
    lin = LinearModel()
    assert not lin.needs_genome and not lin.binary
    a = lin.test_block(lin.prepare(C, Y), G)
    b = linear_association(G, prepare_phenotypes(Y, C))
    for k in ("beta", "standard_error", "p_value", "n", "effect_allele_frequency"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    G, C, Y = _data(binary=True)
    log_ = LogisticModel()
    assert log_.binary and isinstance(make_model("linear", binary=True), LogisticModel)
    a = log_.test_block(log_.prepare(C, Y), G)
    b = logistic_association(G, prepare_logistic(Y, C))
    for k in ("beta", "standard_error", "p_value", "converged"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))


def test_linear_association__small_products_on_one_blas_thread_same_statistics(monkeypatch):
    """The product ``G^T [Q, Y_res]`` of a small block (and of its mean-imputed columns) runs under a one-thread
    BLAS limit, one of at least ``THREADED_PRODUCT_MIN`` multiply-adds under the caller's threads; the statistics
    are the same either way and are each variant's own least squares (numpy's lstsq, mean-imputed calls)."""
    import contextlib

    import edfgen.kernels.association as assoc

    G, C, Y = _data(n=300, m=40, p=2)
    Y = np.nan_to_num(Y, nan=0.5)                        # one group: every sample
    prep = prepare_phenotypes(Y, C)
    real = linear_association(G, prep)

    seen = []

    class Spy:                                           # threadpoolctl's controller, recording the limits set
        def limit(self, limits: int):
            seen.append(limits)
            return contextlib.nullcontext()

    monkeypatch.setattr(assoc, "_blas", Spy())
    small = linear_association(G, prep)
    assert seen == [1, 1]                                # the block's product and its imputed columns' product
    monkeypatch.setattr(assoc, "THREADED_PRODUCT_MIN", 1)
    seen.clear()
    big = linear_association(G, prep)
    assert seen == []
    for k in ("beta", "standard_error", "p_value"):
        np.testing.assert_array_equal(getattr(small, k), getattr(big, k))
        np.testing.assert_allclose(getattr(real, k), getattr(big, k), rtol=1e-12)
    for j in range(G.shape[1]):
        g = np.where(np.isnan(G[:, j]), np.nanmean(G[:, j]), G[:, j])
        coef = np.linalg.lstsq(np.column_stack([C, g]), Y, rcond=None)[0]
        np.testing.assert_allclose(real.beta[j], coef[-1], rtol=1e-9, atol=1e-12)


def test_make_model__names_the_bad_choice():
    with pytest.raises(InputError, match="--model 'bolt'"):
        make_model("bolt")
    assert isinstance(make_model("ridge-loco"), RidgeLocoModel)


def test_logistic_offset__matches_statsmodels_glm_with_offset():
    sm = pytest.importorskip("statsmodels.api")
    G, C, Y = _data(n=400, m=6, p=2, seed=3, binary=True)
    Y = np.nan_to_num(Y, nan=0.0)
    G = np.nan_to_num(G, nan=1.0)
    off = np.random.default_rng(9).normal(0, 0.5, Y.shape)
    r = logistic_association(G, prepare_logistic(Y, C, offset=off))
    for p in range(2):
        for j in range(G.shape[1]):
            fit = sm.GLM(Y[:, p], np.column_stack([C, G[:, j]]), family=sm.families.Binomial(),
                         offset=off[:, p]).fit(tol=1e-12)
            np.testing.assert_allclose(r.beta[j, p], fit.params[-1], rtol=1e-5)
            np.testing.assert_allclose(r.standard_error[j, p], fit.bse[-1], rtol=1e-5)
            np.testing.assert_allclose(r.p_value[j, p], fit.pvalues[-1], rtol=1e-4)


# --------------------------------------------------------------------------- REGENIE step 1

def _naive_step1(G, chrom, Y, C, *, block_size, folds, lam0, lam1):
    """Textbook REGENIE step 1 with explicit per-fold ridge solves (no eigendecomposition, no
    shared products): the reference for ridge_loco_predictions."""
    n = len(Y)
    Q, _ = np.linalg.qr(C)
    Yr = Y - Q @ (Q.T @ Y)
    Ys = Yr / np.sqrt((Yr ** 2).sum(0) / (n - C.shape[1]))
    fold = (np.arange(n) * folds) // n
    cols, bchrom = [], []
    for c in dict.fromkeys(chrom):
        idx = np.flatnonzero(chrom == c)
        for i in range(0, len(idx), block_size):
            X = G[:, idx[i:i + block_size]]
            X = X - Q @ (Q.T @ X)
            X = X / X.std(0)
            W = np.zeros((n, len(lam0), Y.shape[1]))
            for f in range(folds):
                tr, te = fold != f, fold == f
                for r, lam in enumerate(lam0):
                    beta = np.linalg.solve(X[tr].T @ X[tr] + lam * np.eye(X.shape[1]), X[tr].T @ Ys[tr])
                    W[te, r] = X[te] @ beta
            cols.append(W)
            bchrom += [c] * len(lam0)
    bchrom = np.array(bchrom)
    loco = {c: np.zeros_like(Y) for c in dict.fromkeys(chrom)}
    for p in range(Y.shape[1]):
        X = np.concatenate([W[:, :, p] for W in cols], axis=1)
        X = (X - X.mean(0)) / X.std(0)
        preds = np.zeros((len(lam1), n))
        r2 = np.zeros((folds, len(lam1)))
        betas = {}
        for f in range(folds):
            tr, te = fold != f, fold == f
            for s, lam in enumerate(lam1):
                b = np.linalg.solve(X[tr].T @ X[tr] + lam * np.eye(X.shape[1]), X[tr].T @ Ys[tr, p])
                betas[f, s] = b
                preds[s, te] = X[te] @ b
                y = Ys[te, p]
                r2[f, s] = 1 - ((y - preds[s, te]) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        best = int(np.argmax(r2.mean(0)))
        for c in loco:
            keep = bchrom != c
            for f in range(folds):
                te = fold == f
                loco[c][te, p] = X[np.ix_(te, keep)] @ betas[f, best][keep]
    scale = np.sqrt((Yr ** 2).sum(0) / (n - C.shape[1]))
    return {c: v * scale for c, v in loco.items()}


def test_ridge_loco_predictions__equal_a_naive_per_fold_ridge():
    rng = np.random.default_rng(5)
    n, m = 240, 90
    G = rng.binomial(2, rng.uniform(0.1, 0.5, m), (n, m)).astype(float)
    chrom = np.repeat(["1", "2", "3"], m // 3)
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    Y = G[:, :40] @ rng.normal(0, 0.15, (40, 2)) + rng.normal(size=(n, 2))
    lam0 = shrinkage_grid(m)
    got = ridge_loco_predictions(GenomeBlocks.from_arrays(G, chrom), Y, C, block_size=12, folds=4,
                                 fold_ids=(np.arange(n) * 4) // n)
    nblocks = sum(-(-30 // 12) for _ in range(3))
    ref = _naive_step1(G, chrom, Y, C, block_size=12, folds=4, lam0=lam0, lam1=shrinkage_grid(nblocks * 5))
    assert got.chromosomes == ["1", "2", "3"]
    for c in got.chromosomes:
        np.testing.assert_allclose(got.loco(c), ref[c], rtol=1e-10, atol=1e-12)
    # a chromosome absent from step 1 gets the whole-genome prediction
    np.testing.assert_array_equal(got.loco("X"), got.genome)


def _ridge_cohort(p: int):
    """200 samples x 60 variants on 2 chromosomes, ``p`` traits from the first 20 (seed 6); its generator goes on."""
    rng = np.random.default_rng(6)
    n, m = 200, 60
    G = rng.binomial(2, rng.uniform(0.1, 0.5, m), (n, m)).astype(float)
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    Y = G[:, :20] @ rng.normal(0, 0.2, (20, p)) + rng.normal(size=(n, p))
    return rng, G, np.repeat(["1", "2"], m // 2), C, Y


def test_ridge_loco_predictions__samples_in_another_order_get_the_same_predictions():
    """s36b: the random folds were drawn over the samples' positions, so a re-sorted .fam put samples in other
    folds and moved ridge-loco p-values up to 30-fold; drawn over the ids, each sample keeps its fold."""
    rng, G, chrom, C, Y = _ridge_cohort(2)
    n = len(G)
    ids = np.array([f"s{i:03d}" for i in range(n)])
    perm = rng.permutation(n)
    a = ridge_loco_predictions(GenomeBlocks.from_arrays(G, chrom), Y, C, sample_ids=ids, block_size=10, folds=5)
    b = ridge_loco_predictions(GenomeBlocks.from_arrays(G[perm], chrom), Y[perm], C[perm], sample_ids=ids[perm],
                               block_size=10, folds=5)
    for c in ("1", "2"):
        np.testing.assert_allclose(b.loco(c), a.loco(c)[perm], rtol=1e-9, atol=1e-12)


def test_ridge_loco_predictions__spilled_level0_is_block_contiguous_and_equal(monkeypatch, tmp_path):
    """Beyond ``memory_limit`` the level-0 predictions go to a memory-mapped file laid out block-major
    [B, P, N, R], so a block is stored with one contiguous write (a [P, N, B R] file was rewritten page by page
    for every block: issue 23's scaling run wrote 7.8 GB in 2.5 min for a 5.5 GB file); results equal the
    in-memory path."""
    _, G, chrom, C, Y = _ridge_cohort(3)
    n = len(G)
    kw = dict(block_size=10, folds=4)
    mem = ridge_loco_predictions(GenomeBlocks.from_arrays(G, chrom), Y, C, **kw)
    shapes, writes = [], []

    class Recording(np.memmap):
        def __setitem__(self, key, value):
            writes.append(np.shape(value))
            super().__setitem__(key, value)

    def recording(*a, **k):
        shapes.append(k["shape"])
        return Recording(*a, **k)

    monkeypatch.setattr(np, "memmap", recording)
    disk = ridge_loco_predictions(GenomeBlocks.from_arrays(G, chrom), Y, C, memory_limit=0, tmp_dir=str(tmp_path),
                                  **kw)
    assert shapes == [(6, 3, n, 5)]           # blocks, P, N, shrinkage values
    assert writes == [(3, n, 5)] * 6          # one contiguous write of every block (all folds, all shrinkages)
    assert list(tmp_path.iterdir()) == []     # the scratch file is removed
    np.testing.assert_array_equal(disk.loco_values, mem.loco_values)
    np.testing.assert_array_equal(disk.genome, mem.genome)


def test_standardise_block__mean_imputed_residualised_unit_variance_constant_columns_dropped():
    """Level 0's one-pass standardisation (variance from sums of squares) against lstsq residuals and ``np.std``."""
    from edfgen.kernels.ridge import _standardise_block

    rng = np.random.default_rng(8)
    n = 300
    C = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    G = rng.binomial(2, 0.3, (n, 6)).astype(float)
    G[[3, 50, 70], 1] = np.nan
    G[:, 4] = 1.0                                              # constant: dropped
    Q, _ = np.linalg.qr(C)
    ref = np.where(np.isnan(G), np.nanmean(G, axis=0), G)
    ref = ref - C @ np.linalg.lstsq(C, ref, rcond=None)[0]
    ref = np.delete(ref, 4, axis=1)
    ref /= ref.std(axis=0)
    got = _standardise_block(G, Q)
    np.testing.assert_allclose(got, ref, rtol=1e-11, atol=1e-12)
    assert np.isnan(G[3, 1])                                   # the caller's block is not modified


def test_standardise_block__an_all_missing_column_is_dropped_without_a_runtime_warning():
    """Review s39edge: ``--model ridge-loco`` on a fileset with a variant that no analysed sample has called printed
    numpy's ``RuntimeWarning: Mean of empty slice`` (and the source line) among its output, and the NaN column made
    the constant-column threshold ignore the block's values; now the column is imputed 0 (constant: dropped, as
    the linear test reports no statistic for it) and the rest is the same as without it (to 1e-12)."""
    import warnings

    from edfgen.kernels.ridge import _standardise_block

    rng = np.random.default_rng(9)
    n = 200
    Q, _ = np.linalg.qr(np.column_stack([np.ones(n), rng.normal(size=n)]))
    G = rng.binomial(2, 0.3, (n, 5)).astype(float)
    G[[3, 9], 0] = np.nan
    G[:, 2] = np.nan                                           # no called genotype
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = _standardise_block(G, Q)
    np.testing.assert_allclose(got, _standardise_block(np.delete(G, 2, axis=1), Q), rtol=1e-12, atol=1e-12)


def test_shrinkage_grid__is_regenies():
    np.testing.assert_allclose(shrinkage_grid(1000), [1000 * 99, 1000 * 3, 1000, 1000 / 3, 1000 / 99])
    with pytest.raises(InputError, match="heritabilities"):
        shrinkage_grid(10, [0.0, 0.5])


def test_loco_predictions__round_trip_through_files_and_reorder(tmp_path):
    rng = np.random.default_rng(2)
    preds = LocoPredictions(sample_ids=np.array(["a", "b", "c"]), phenotypes=["y1", "y 2"], chromosomes=["1", "22"],
                            loco_values=rng.normal(size=(2, 3, 2)), genome=rng.normal(size=(3, 2)),
                            level1_shrinkage=np.array([1.0, 2.0]), cv_r2=np.array([0.1, 0.2]))
    write_loco_predictions(preds, tmp_path / "loco")
    back = read_loco_predictions(tmp_path / "loco")
    assert back.phenotypes == ["y1", "y 2"] and back.chromosomes == ["1", "22"]
    np.testing.assert_allclose(back.loco_values, preds.loco_values, rtol=1e-9)
    sub = back.for_samples(["c", "a"], ["y 2"])
    np.testing.assert_allclose(sub.loco("22")[:, 0], preds.loco_values[1, [2, 0], 1], rtol=1e-9)
    with pytest.raises(InputError, match="no prediction"):
        back.for_samples(["a", "zz"])
    with pytest.raises(InputError, match="loco_summary.tsv"):
        read_loco_predictions(tmp_path)


def test_loco_fingerprint__the_same_covariates_in_another_order_match_other_values_do_not():
    """Review s32h F6: step 2 with --covariates sex,centre,age after a step 1 with age,sex,centre was refused
    ('step 1 adjusted for age, sex, ..., this run for sex, ..., age'): the same model. Names are compared as a
    set and the values digested in name order; a changed value or another covariate is still refused."""
    from edfgen.formats.loco_check import fingerprint_differences, loco_fingerprint

    rng = np.random.default_rng(5)
    ids = np.array([f"s{i}" for i in range(20)])
    Y = rng.normal(size=(20, 1))
    C = np.column_stack([np.ones(20), rng.normal(size=20), rng.integers(0, 2, 20), rng.normal(size=20)])
    names = ["intercept", "age", "sex", "bmi"]
    step1 = loco_fingerprint(ids, Y, ["y"], C, names, transform="none", binary=False)
    perm = [0, 2, 3, 1]
    now = loco_fingerprint(ids, Y, ["y"], C[:, perm], [names[k] for k in perm], transform="none", binary=False)
    assert fingerprint_differences(step1, now) == []
    C2 = C[:, perm].copy()
    C2[3, 3] += 1.0
    changed = loco_fingerprint(ids, Y, ["y"], C2, [names[k] for k in perm], transform="none", binary=False)
    assert fingerprint_differences(step1, changed) == ["covariates sex, bmi, age have other values for step 1's "
                                                       "samples"]
    fewer = loco_fingerprint(ids, Y, ["y"], C[:, :3], names[:3], transform="none", binary=False)
    assert fingerprint_differences(step1, fewer)[0].startswith("step 1 adjusted for age, sex, bmi, this run for")


def test_read_loco_predictions__bad_cells_one_line_and_another_sample_order_read(tmp_path):
    """Text in a prediction cell or in loco_summary.tsv's cv_r2 raised a numpy ValueError traceback; a second
    phenotype's file with the same samples in another order was refused, naming the wrong file (review findings)."""
    import gzip

    rng = np.random.default_rng(3)
    preds = LocoPredictions(sample_ids=np.array(["a", "b", "c"]), phenotypes=["y1", "y2"], chromosomes=["1", "2"],
                            loco_values=rng.normal(size=(2, 3, 2)), genome=rng.normal(size=(3, 2)),
                            level1_shrinkage=np.array([1.0, 2.0]), cv_r2=np.array([0.1, 0.2]))
    d = write_loco_predictions(preds, tmp_path / "loco")
    files = pd.read_csv(d / "loco_summary.tsv", sep="\t")["file"].tolist()
    second = d / files[1]
    lines = gzip.open(second, "rt").read().splitlines()
    gzip.open(second, "wt").write("\n".join([lines[0], lines[3], lines[1], lines[2]]) + "\n")   # c, a, b
    back = read_loco_predictions(d)
    np.testing.assert_allclose(back.loco_values, preds.loco_values, rtol=1e-9)
    bad = lines[2].split("\t")
    bad[2] = "abc"
    gzip.open(second, "wt").write("\n".join([lines[0], lines[1], "\t".join(bad), lines[3]]) + "\n")
    with pytest.raises(InputError, match=rf"{files[1]}: column 'chr1', row 2 \(IID b\): value 'abc' is not a number"):
        read_loco_predictions(d)
    gzip.open(second, "wt").write("\n".join([lines[0], lines[1], lines[2]]) + "\n")              # b dropped
    with pytest.raises(InputError, match=rf"{files[1]}: samples differ from {files[0]}'s"):
        read_loco_predictions(d)
    summ = pd.read_csv(d / "loco_summary.tsv", sep="\t").astype({"cv_r2": object})
    summ.loc[1, "cv_r2"] = "abc"
    summ.to_csv(d / "loco_summary.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"loco_summary.tsv: column 'cv_r2', row 2 \(phenotype y2\): value 'abc'"):
        read_loco_predictions(d)


def test_write_loco_predictions__shortest_exact_text_read_back_bit_for_bit(tmp_path, monkeypatch):
    """The .loco.tsv.gz writer formats with ``repr`` (not pandas' ``to_csv``, ~50x slower: half of a ridge-loco
    run at N = 20k in issue 23's profile): every double reads back exactly with a correctly rounded parser, and the
    values equal what pandas' ``%.17g`` writer stored, with ``NA`` for a non-finite value."""
    rng = np.random.default_rng(12)
    n = 400
    loco = rng.normal(size=(3, n, 1)) * np.logspace(-12, 6, n)[None, :, None]
    loco[1, 7, 0] = np.nan
    preds = LocoPredictions(sample_ids=np.array([f"s{i}" for i in range(n)]), phenotypes=["y"],
                            chromosomes=["1", "2", "X"], loco_values=loco, genome=rng.normal(size=(n, 1)) / 3,
                            level1_shrinkage=np.array([1.0]), cv_r2=np.array([0.1]))
    write_loco_predictions(preds, tmp_path / "loco")
    got = pd.read_csv(tmp_path / "loco" / "y.loco.tsv.gz", sep="\t", dtype={"IID": str}, float_precision="round_trip")
    assert list(got.columns) == ["IID", "genome", "chr1", "chr2", "chrX"]
    want = np.column_stack([preds.genome[:, 0], loco[:, :, 0].T])
    np.testing.assert_array_equal(got.iloc[:, 1:].to_numpy(), want)
    old = pd.DataFrame(want, columns=got.columns[1:]).to_csv(sep="\t", index=False, float_format="%.17g", na_rep="NA")
    np.testing.assert_array_equal(pd.read_csv(io.StringIO(old), sep="\t", float_precision="round_trip").to_numpy(),
                                  got.iloc[:, 1:].to_numpy())
    with gzip.open(tmp_path / "loco" / "y.loco.tsv.gz", "rt") as fh:
        assert fh.read().splitlines()[8].split("\t")[3] == "NA"
    # the reader of --loco-predictions gets every double back exactly (pandas' default parser is off by an ulp
    # on about half of such values, so this fails without read_table's exact_floats)
    loco[1, 7, 0] = 0.1
    monkeypatch.setattr("edfgen.formats.loco.LOCO_TEXT_ROWS", 7)     # several chunks of text, one file
    write_loco_predictions(preds, tmp_path / "loco2")
    back = read_loco_predictions(tmp_path / "loco2")
    np.testing.assert_array_equal(back.loco_values, preds.loco_values)
    np.testing.assert_array_equal(back.genome, preds.genome)


def test_ridge_loco_model__step2_is_linear_regression_on_phenotype_minus_loco():
    """test_block on chromosome c equals the linear kernel on y - loco_c (the REGENIE step-2 model)."""
    rng = np.random.default_rng(8)
    n, m = 300, 80
    G = rng.binomial(2, 0.3, (n, m)).astype(float)
    chrom = np.repeat(["1", "2"], m // 2)
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    Y = G[:, :30] @ rng.normal(0, 0.2, (30, 2)) + rng.normal(size=(n, 2))
    model = RidgeLocoModel(block_size=10)
    state = model.prepare(C, Y, genome=GenomeBlocks.from_arrays(G, chrom))
    got = model.test_block(state, G[:, 50:60], chromosome="2")
    ref = linear_association(G[:, 50:60], prepare_phenotypes(Y - state.predictions.loco("2"), C))
    np.testing.assert_array_equal(got.beta, ref.beta)
    np.testing.assert_array_equal(got.p_value, ref.p_value)
    with pytest.raises(InputError, match="chromosome"):
        model.test_block(state, G[:, :5])


# --------------------------------------------------------------------------- MOSTest

def _correlated_z(m, p, rho, rng):
    R = np.full((p, p), rho) + (1 - rho) * np.eye(p)
    return rng.standard_normal((m, p)) @ np.linalg.cholesky(R).T


def test_mostest__without_regularisation_is_the_chi2_of_whitened_z():
    """With all P <= 10 eigenvalues kept and z-vectors truly N(0, C0), T ~ chi2(P): the fitted gamma
    is close to shape P/2, scale 2, and p-values of fresh null vectors are uniform."""
    from scipy import stats

    rng = np.random.default_rng(0)
    p = 6
    zp = _correlated_z(40000, p, 0.5, rng)
    z = _correlated_z(20000, p, 0.5, rng)
    pv = 2 * stats.norm.sf(np.abs(z))
    res = mostest(z, zp, pv, m_eff=3.0)
    assert abs(res.gamma_shape - p / 2) < 0.1 and abs(res.gamma_scale - 2) < 0.05
    C = np.corrcoef(zp, rowvar=False)
    T = np.einsum("ij,ij->i", z @ np.linalg.inv(C), z)
    np.testing.assert_allclose(res.statistic, T, rtol=1e-8)
    assert 0.95 < lambda_gc(res.p_value) < 1.05
    assert (res.p_value < 1e-3).mean() < 2.5e-3
    np.testing.assert_allclose(res.min_p_corrected, np.minimum(1, pv.min(1) * 3.0))


def test_mostest__finds_a_spread_effect_that_min_p_misses():
    rng = np.random.default_rng(1)
    p = 12
    zp = _correlated_z(30000, p, 0.3, rng)
    z = _correlated_z(2000, p, 0.3, rng)
    from scipy import stats

    z[:20] += 1.6 * np.tile([1, -1], p // 2)        # small effects of opposite signs on correlated traits
    pv = 2 * stats.norm.sf(np.abs(z))
    res = mostest(z, zp, pv, m_eff=10.0)
    assert (res.p_value[:20] < 5e-8).sum() > (res.min_p_corrected[:20] < 5e-8).sum()
    assert (res.p_value[20:] < 5e-8).sum() == 0


def test_mostest__needs_two_phenotypes_and_enough_null_vectors():
    z = np.zeros((50, 1))
    with pytest.raises(InputError, match="at least 2 phenotypes"):
        mostest(z, z, z, m_eff=1)
    with pytest.raises(InputError, match="null correlation"):
        mostest(np.zeros((50, 3)), np.zeros((50, 3)), np.zeros((50, 3)), m_eff=1)


def test_mostest__warns_when_the_gamma_tail_rests_on_few_permuted_variants(caplog):
    """A gamma fitted to a few thousand permuted T extrapolates its tail to 5e-8 (review s31f F2: thresholds
    36.4 vs 40.5 on two such fits, 39.7 under chi2_4): WARNING below GAMMA_FIT_MIN_VARIANTS, none at it."""
    import logging

    from scipy import stats

    rng = np.random.default_rng(5)
    z = _correlated_z(50, 3, 0.4, rng)
    pv = 2 * stats.norm.sf(np.abs(z))
    with caplog.at_level(logging.WARNING):
        mostest(z, _correlated_z(4000, 3, 0.4, rng), pv, m_eff=2.5)
    assert "fitted to 4000 permuted variants (< 100000" in caplog.text and "each --chr job" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        mostest(z, _correlated_z(GAMMA_FIT_MIN_VARIANTS, 3, 0.4, rng), pv, m_eff=2.5)
    assert "permuted variants" not in caplog.text


def test_z_scores__signed_normal_quantile_of_p():
    np.testing.assert_allclose(z_scores(np.array([1.0, -2.0]), np.array([0.05, 0.05])), [1.959964, -1.959964],
                               rtol=1e-6)


def test_z_scores__a_p_below_a_doubles_range_gives_the_z_of_its_t_statistic_not_inf():
    """Review s39edge: the strongest hit of a study (beta/SE = 101, N = 5,000, p 3.7e-1212 in its GWAS-SSF file,
    0 as a double) had z = inf, so ``--multivariate`` wrote it with n_phenotypes 1 and statistic and p NA: the hit
    was missing from multivariate.tsv.gz. With the SE and the t-test's df, the z of an underflowed p is the normal
    quantile of the t-test's p in log space: here against mpmath (50 digits) to 1e-9 relative, normal Wald (df None)
    too, and the z just above the underflow threshold is unchanged (the ordinary quantile)."""
    import mpmath as mp

    mp.mp.dps = 50
    beta, se, df = np.array([2.9729962, -2.9729962, 40.0, 0.2]), np.array([0.029381101, 0.029381101, 1.0, 0.1]), 4996
    t = beta / se
    p = np.array([0.0, 0.0, 0.0, 2 * special.stdtr(df, -2.0)])
    got_t = z_scores(beta, p, standard_error=se, df=np.full(4, df))
    got_n = z_scores(beta, p, standard_error=se)

    def z_of(log_p):    # the normal z whose two-sided p is exp(log_p)
        return float(mp.findroot(lambda z: mp.log(2 * mp.ncdf(-z)) - log_p, mp.sqrt(-2 * log_p)))

    for i in range(3):
        x = df / (df + mp.mpf(t[i]) ** 2)
        log_pt = mp.log(mp.betainc(df / 2, 0.5, 0, x, regularized=True))
        assert got_t[i] == pytest.approx(np.sign(beta[i]) * z_of(log_pt), rel=1e-9)
        assert got_n[i] == pytest.approx(t[i], rel=1e-9)        # the normal Wald z is beta / se itself
    assert got_t[3] == pytest.approx(z_scores(beta[3:], p[3:])[0], rel=1e-12)
    assert np.isinf(z_scores(beta[:1], p[:1])[0])              # without the SE: as before


def _underflow_inputs(M: int = 400, n: int = 5000):
    """A two-phenotype result whose first variant has p 0 as a double (beta/SE 101, df n - 4) and its permuted
    twin: ``(variants, res, perm, Y)`` for :func:`write_multivariate`."""
    from edfgen.kernels.association import AssociationResult

    rng = np.random.default_rng(3)
    se = np.full((M, 2), 0.03)
    beta = rng.normal(0, 0.03, (M, 2))
    beta[0] = [2.9729962, 0.1]
    p = 2 * special.stdtr(n - 4, -np.abs(beta / se))
    assert p[0, 0] == 0.0
    res = AssociationResult(beta=beta, standard_error=se, p_value=p, n=np.full((M, 2), n),
                            effect_allele_frequency=np.full((M, 2), 0.3))
    pb = rng.normal(0, 0.03, (M, 2))
    perm = AssociationResult(beta=pb, standard_error=se, p_value=2 * special.stdtr(n - 4, -np.abs(pb / se)),
                             n=np.full((M, 2), n), effect_allele_frequency=np.full((M, 2), 0.3))
    variants = pd.DataFrame({"chromosome": "1", "base_pair_location": np.arange(1, M + 1) * 100, "effect_allele": "A",
                             "other_allele": "G", "variant_id": [f"v{i}" for i in range(M)], "rsid": None})
    return variants, res, perm, rng.normal(size=(n, 2))


def test_write_multivariate__the_strongest_hit_with_an_underflowed_p_is_tested_not_na(tmp_path):
    """Review s39edge: ``gwas --multivariate`` wrote the study's strongest variant (p 0 as a double) with
    n_phenotypes 1 and statistic NA. Now it has both phenotypes and T = z C0⁻¹ z from the t-test's z-scores: here
    with C0 near the identity, T within 1 % of z1² + z2² (the z of the first phenotype from log p, 73.7 at
    beta/SE 101 and df 4,996, not 101), and the other rows as before."""
    from edfgen.commands.gwas_output import write_multivariate

    variants, res, perm, Y = _underflow_inputs()
    beta, p, se, n = res.beta, res.p_value, res.standard_error, 5000
    write_multivariate(tmp_path, variants, res, perm, Y, plots=False, n_covariates=3)
    with gzip.open(tmp_path / "multivariate.tsv.gz", "rt") as fh:
        out = pd.read_csv(fh, sep="\t").set_index("variant_id")
    z1 = z_scores(beta[:1, :1], p[:1, :1], standard_error=se[:1, :1], df=np.array([[n - 4]]))[0, 0]
    assert 73.5 < z1 < 74
    assert out.loc["v0", "n_phenotypes"] == 2
    assert out.loc["v0", "statistic"] == pytest.approx(z1 ** 2 + z_scores(beta[0, 1], p[0, 1]) ** 2, rel=0.01)
    assert out["statistic"].notna().all() and (out["n_phenotypes"] == 2).all()
    with gzip.open(tmp_path / "multivariate.tsv.gz", "rt") as fh:      # p of v0 printed from its -log10, not 0
        text = pd.read_csv(fh, sep="\t", dtype={"p_value": str}).set_index("variant_id")
    nlp = out.loc["v0", "neg_log_10_p_value"]
    assert nlp > 1000 and text.loc["v0", "p_value"].endswith(f"e-{int(np.ceil(nlp))}")
    rest = out.drop(index="v0")
    np.testing.assert_allclose(rest["neg_log_10_p_value"], -np.log10(rest["p_value"]), rtol=1e-6, atol=1e-6)


def test_write_multivariate__underflowed_p_min_p_text_from_exact_neg_log10_and_only_those_rows_looped(
        tmp_path, monkeypatch):
    """Review s39edgefix: (a) once one MOSTest p was below 1e-300, every row's p was formatted in a Python loop
    (10 s per 2M variants): now only the rows that need it, the column byte-identical to formatting every row;
    (b) that p's text came from the -log10 rounded to 6 decimals (7th-8th digits noise): now from the exact one;
    (c) min_p and min_p_corrected were written 0 for that variant: now printed from their -log10 like p_value
    (the largest per-phenotype -log10 p, in log space, and that minus log10 M_eff)."""
    import gzip

    import edfgen.commands.gwas_output as go
    import edfgen.formats.sumstats.write as sw
    from edfgen.kernels.multivariate import mostest
    from edfgen.kernels.pvalues import neg_log10_p

    variants, res, perm, Y = _underflow_inputs()
    seen: list[int] = []

    def counting(p, nlp, **kw):
        seen.append(len(p))
        return sw.p_value_strings.__wrapped__(p, nlp, **kw)

    counting.__wrapped__ = sw.p_value_strings
    monkeypatch.setattr(sw, "p_value_strings", counting)
    info = go.write_multivariate(tmp_path, variants, res, perm, Y, plots=False, n_covariates=3)
    assert seen and max(seen) < 10, seen                  # not every one of the 400 rows
    with gzip.open(tmp_path / "multivariate.tsv.gz", "rt") as fh:
        text = pd.read_csv(fh, sep="\t", dtype=str, keep_default_na=False).set_index("variant_id")
    df = res.n - 3 - 1
    z = z_scores(res.beta, res.p_value, standard_error=res.standard_error, df=df)
    mv = mostest(z, z_scores(perm.beta, perm.p_value), res.p_value, m_eff=info["m_eff"])
    want = counting.__wrapped__(mv.p_value, mv.neg_log10_p)              # every row formatted, exact -log10
    assert text.loc[variants["variant_id"], "p_value"].tolist() == [w or "NA" for w in want]
    nl_min = neg_log10_p(res.p_value[0], beta=res.beta[0], standard_error=res.standard_error[0], df=df[0]).max()
    assert 1000 < nl_min
    assert text.loc["v0", "min_p"] == counting.__wrapped__([0.0], [nl_min])[0]
    assert text.loc["v0", "min_p_corrected"] == counting.__wrapped__([0.0], [nl_min - np.log10(info["m_eff"])])[0]
    rest = text.drop(index="v0")
    assert rest["min_p"].tolist() == [f"{v:.8g}" for v in mv.min_p[1:]]
    assert (mv.min_p_corrected == 1.0).sum() > 50              # a p of 1 written "1", as %.8g prints it
    assert rest["min_p_corrected"].tolist() == [f"{v:.8g}" for v in mv.min_p_corrected[1:]]


def test_p_value_column__written_as_every_row_formatted(tmp_path):
    """:func:`p_value_column` (the rows below 1e-300 from their -log10, the others as doubles) writes the bytes
    that formatting every row with :func:`p_value_strings` writes: 1, 0 without a -log10, NA, 1e-05, 8 digits; a p
    that rounds to 1 at 8 digits (0.999999999) is "1" too, not "1.0" (review s39vif F5)."""
    from edfgen.formats.sumstats import p_value_column, p_value_strings
    from edfgen.formats.tables import write_table

    rng = np.random.default_rng(0)
    p = np.concatenate([[1.0, 0.0, np.nan, 1e-5, 0.0, 1e-300, 9.99999999e-301, 0.5, 1.4576648e-18],
                        10 ** -rng.uniform(0, 320, 300), [0.999999999, 0.99999999951, 0.9999999949]])
    with np.errstate(divide="ignore"):
        nlp = -np.log10(p)
    nlp[[1, 4, 6]] = [np.nan, 1211.4300000001, 300.0000000004]
    for name, col in (("new", p_value_column(p, nlp)), ("old", p_value_strings(p, nlp))):
        write_table(pd.DataFrame({"p_value": col, "x": 0.25}), tmp_path / f"{name}.tsv", float_format="%.8g")
    assert (tmp_path / "new.tsv").read_bytes() == (tmp_path / "old.tsv").read_bytes()
    assert p_value_column(p[7:9], nlp[7:9]).dtype == float       # none below 1e-300: the doubles themselves


def test_mostest__p_below_a_doubles_range_has_its_exact_neg_log10():
    """Review s39edge: MOSTest's p of the strongest hit (T = 5,831 over a gamma null) is 0 as a double, written
    ``0`` with no -log10 beside it (ties at 0 in clump, the strength lost). ``neg_log10_p`` is now the gamma tail in
    log space: against mpmath's regularised upper incomplete gamma (50 digits) to 1e-9 relative, and equal to
    -log10 p where p is a normal double."""
    import mpmath as mp

    from edfgen.kernels.pvalues import neg_log10_gamma_sf

    mp.mp.dps = 50
    x = np.array([5831.1953, 800.0, 3.0, 40.0])
    for shape, scale in ((1.0, 2.0), (1.37, 1.6), (4.2, 0.9)):
        got = neg_log10_gamma_sf(x, shape, scale)
        ref = [float(-mp.log10(mp.gammainc(shape, mp.mpf(v) / scale, mp.inf, regularized=True))) for v in x]
        np.testing.assert_allclose(got, ref, rtol=1e-9)
    rng = np.random.default_rng(4)
    zp = rng.normal(size=(300, 2))
    z = np.vstack([[74.0, 2.0], rng.normal(size=(5, 2))])
    res = mostest(z, zp, np.full(z.shape, 0.5), m_eff=2.0)
    assert res.p_value[0] == 0.0 and 1000 < res.neg_log10_p[0] < np.inf
    np.testing.assert_allclose(res.neg_log10_p[1:], -np.log10(res.p_value[1:]), rtol=1e-9)


# --------------------------------------------------------------------------- calibration with relatives

def _family_genotypes(rng, n_families=200, children=3, n_unrelated=200, m=1200, n_chrom=3):
    """Unlinked SNPs; each family: two random parents (not sampled), ``children`` Mendelian children."""
    f = rng.uniform(0.05, 0.5, m)
    parents = rng.binomial(1, f, (n_families, 4, m))           # 4 haplotypes per family (father, mother)
    kids = []
    for _ in range(children):
        pick_f = rng.integers(0, 2, (n_families, m))
        pick_m = 2 + rng.integers(0, 2, (n_families, m))
        kids.append(np.take_along_axis(parents, pick_f[:, None], 1)[:, 0]
                    + np.take_along_axis(parents, pick_m[:, None], 1)[:, 0])
    G = np.concatenate([np.stack(kids, 1).reshape(-1, m), rng.binomial(2, f, (n_unrelated, m))]).astype(float)
    return G, np.repeat([str(c + 1) for c in range(n_chrom)], m // n_chrom)


def test_ridge_loco__calibrated_on_a_null_chromosome_with_siblings_where_linear_is_inflated():
    """600 siblings (200 families of 3) + 200 unrelated, h2 = 0.6 spread over chromosomes 1-2,
    chromosome 3 null: plain linear regression is inflated (λGC ~ 1.2, as the issue's held-out
    cohort: 1.14); ridge-LOCO removes it (pooled λGC over 8 phenotypes within 0.9-1.08), and it
    gains power at the causal variants (mean χ² at chromosomes 1-2 higher after removing the
    other chromosome's polygenic prediction)."""
    rng = np.random.default_rng(11)
    G, chrom = _family_genotypes(rng)
    n, m = G.shape
    Z = (G - G.mean(0)) / G.std(0)
    causal = np.flatnonzero(chrom != "3")
    g = Z[:, causal] @ rng.standard_normal((len(causal), 8))
    Y = np.sqrt(0.6) * g / g.std(0) + np.sqrt(0.4) * rng.standard_normal((n, 8))
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    null = chrom == "3"
    lin = LinearModel()
    r_lin = lin.test_block(lin.prepare(C, Y), G)
    ridge = RidgeLocoModel(block_size=100)
    state = ridge.prepare(C, Y, genome=GenomeBlocks.from_arrays(G, chrom))
    r_null = ridge.test_block(state, G[:, null], chromosome="3")
    lam_lin, lam_ridge = lambda_gc(r_lin.p_value[null]), lambda_gc(r_null.p_value)
    assert lam_lin > 1.1
    assert 0.9 < lam_ridge < 1.08 and lam_ridge < lam_lin - 0.08
    assert (r_null.p_value < 1e-3).mean() < 3e-3
    chi_lin = ((r_lin.beta / r_lin.standard_error)[chrom == "1"] ** 2).mean()
    r1 = ridge.test_block(state, G[:, chrom == "1"], chromosome="1")
    chi_ridge = ((r1.beta / r1.standard_error) ** 2).mean()
    assert chi_ridge > 1.02 * chi_lin / lam_lin


def _collinear_cohort(tmp_path=None):
    """Genotypes, phenotype and covariates [1, a, b, c, d, z] for the VIF rule: v0 99.98% correlated with covariate
    ``a`` (plink2 CORR_TOO_HIGH), v1 99.6% with ``c`` (VIF 140: VIF_TOO_HIGH), v2 0.87 with ``b`` (tested), and
    covariate ``d = v5 + 3 z + e``: v5's own VIF ~20 but ``d``'s with v5 in the model ~450 (plink2 VIF_TOO_HIGH);
    v6..v13 are v5 with more and more calls redrawn, so ``d``'s VIF with them crosses 50. Written as plink2 files
    under ``tmp_path`` if given."""
    rng = np.random.default_rng(1)
    n, m = 600, 20
    G = rng.binomial(2, 0.3, (n, m)).astype(np.float32)
    a = G[:, 0] + rng.normal(0, 0.02 * G[:, 0].std(), n)
    b = rng.normal(size=n)
    c = G[:, 1] + rng.normal(0, 0.085 * G[:, 1].std(), n)
    G[:, 2] = np.clip(np.round(b * 0.7 + 0.6), 0, 2)
    z = rng.normal(size=n)
    d = G[:, 5] + 3 * z + rng.normal(0, 0.145, n)
    for j, frac in zip(range(6, 14), (0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.6)):
        G[:, j] = np.where(rng.random(n) < frac, rng.binomial(2, 0.3, n), G[:, 5])
    y = rng.normal(size=n) + 0.2 * G[:, 0]
    C = np.column_stack([np.ones(n), a, b, c, d, z])
    if tmp_path is not None:
        from bed_reader import to_bed

        iid = np.array([f"S{i:03d}" for i in range(n)])
        to_bed(tmp_path / "g.bed", G, count_A1=True, properties={"iid": iid, "fid": iid,
                                                                 "sid": [f"v{j}" for j in range(m)]})
        pd.DataFrame({"#FID": iid, "IID": iid, "y": y}).to_csv(tmp_path / "p.txt", sep="\t", index=False)
        pd.DataFrame({"#FID": iid, "IID": iid, **dict(zip("abcdz", C[:, 1:].T))}).to_csv(
            tmp_path / "c.txt", sep="\t", index=False)
    return G.astype(float), y, C


def _with_missing_calls(G):
    """``G`` with 30 calls of each variant missing."""
    rng = np.random.default_rng(0)
    G = G.copy()
    for j in range(G.shape[1]):
        G[rng.choice(len(G), 30, replace=False), j] = np.nan
    return G


def _max_vif(G, C):
    """Each variant's largest VIF among the predictors (covariates but the intercept, and the genotype), from the
    inverse of their correlation matrix (as plink2 --vif): an independent computation."""
    return np.array([np.diag(np.linalg.inv(np.corrcoef(np.column_stack([C[:, 1:], g]), rowvar=False))).max()
                     for g in G.T])


def test_linear_association__na_where_a_predictor_vif_is_above_50():
    """Review s39edgefix: a genotype 99.98% correlated with a covariate got an OLS estimate (beta -1.57, SE 3.80:
    its variance inflated 2,500-fold) where plink2 --glm writes NA. Review s39vif F2: only the genotype's own VIF
    was checked, but plink2 checks every predictor's: a covariate ``d = g + 3 z + e`` with ``z`` also a covariate
    has a VIF of ~450 with ``g`` in the model (g's own: 20), NA VIF_TOO_HIGH in plink2, an estimate in edfgen. Now
    NA exactly where the largest VIF (correlation-matrix inverse, computed apart) is above 50; the rest tested."""
    G, y, C = _collinear_cohort()
    res = linear_association(G, prepare_phenotypes(y[:, None], C))
    vif = _max_vif(G, C)
    assert (vif[[0, 1, 5]] > 50).all() and (vif[[2, 3, 4]] < 50).all()
    assert (vif[6:14] > 50).sum() >= 2 and (vif[6:14] < 50).sum() >= 2          # both sides of the threshold
    np.testing.assert_array_equal(np.isnan(res.beta[:, 0]), vif > 50)
    np.testing.assert_array_equal(np.isnan(res.p_value[:, 0]), vif > 50)
    Gm = _with_missing_calls(G)                 # --missing-genotypes drop: every VIF on each variant's called samples
    drop = linear_association(Gm, prepare_phenotypes(y[:, None], C), missing_genotypes="drop")
    called = [~np.isnan(g) for g in Gm.T]
    vif_s = np.array([_max_vif(g[s][:, None], C[s])[0] for g, s in zip(Gm.T, called)])
    assert (vif_s[6:14] > 50).sum() >= 2 and (vif_s[6:14] < 50).sum() >= 2
    np.testing.assert_array_equal(np.isnan(drop.beta[:, 0]), vif_s > 50)


def test_linear_association__covariates_collinear_among_themselves_warned_and_fitted(caplog):
    """``age`` and ``age²`` (VIF ~100 on each other: plink2 --glm skips the phenotype) are warned about once,
    naming both, and fitted: the per-variant VIF check leaves them out, so the variants are tested (not all NA)."""
    rng = np.random.default_rng(3)
    n = 300
    age = rng.uniform(40, 70, n)
    C = np.column_stack([np.ones(n), age, age ** 2])
    G = rng.binomial(2, 0.3, (n, 5)).astype(float)
    with caplog.at_level("WARNING"):
        prep = prepare_phenotypes(rng.normal(size=(n, 1)), C, covariate_names=["1", "age", "age2"])
    res = linear_association(G, prep)
    msg = [r.getMessage() for r in caplog.records if "variance inflation" in r.getMessage()]
    assert len(msg) == 1 and "'age'" in msg[0] and "'age2'" in msg[0]
    assert np.isfinite(res.beta).all()
    from edfgen.kernels.covariates import covariate_warnings_once
    from edfgen.kernels.logistic import logistic_association, prepare_logistic

    caplog.clear()
    with caplog.at_level("WARNING"), covariate_warnings_once():       # --binary: warned too (once), fitted
        for m in (n - 7, n):        # (groups of other samples, other VIFs: review s39, warned once per group)
            prep = prepare_logistic((rng.random((m, 1)) < 0.5).astype(float), C[:m],
                                    covariate_names=["1", "age", "age2"])
    assert len([r for r in caplog.records if "variance inflation" in r.getMessage()]) == 1
    assert np.isfinite(logistic_association(G, prep).beta).all()


def test_logistic_association__na_where_a_predictor_vif_is_above_50_firth_fallback_too():
    """Review s39vif F3: the VIF rule reached the linear test only; --binary gave an estimate where plink2's
    logistic --glm writes NA VIF_TOO_HIGH (v5..v11 of the cohort). Now the Wald fit and the Firth fallback are NA
    exactly where the largest VIF (correlation-matrix inverse) is above 50, converged False (fit_failed)."""
    from edfgen.kernels.firth import firth_fallback
    from edfgen.kernels.logistic import logistic_association, prepare_logistic

    G, y, C = _collinear_cohort()
    prep = prepare_logistic((y > np.median(y)).astype(float)[:, None], C)
    res = logistic_association(G, prep)
    high = _max_vif(G, C) > 50
    np.testing.assert_array_equal(np.isnan(res.beta[:, 0]), high)
    np.testing.assert_array_equal(res.converged[:, 0], ~high)
    refit = firth_fallback(G, prep, res, 1.0)              # every row picked: the NA ones stay NA
    np.testing.assert_array_equal(np.isnan(refit.beta[:, 0]), high)
    assert refit.firth[~high, 0].all() and not refit.firth[high, 0].any()


@pytest.mark.skipif(__import__("shutil").which("plink2") is None, reason="plink2 not installed")
def test_logistic_association__vif_rule_as_plink2(tmp_path):
    """The NA rows of the logistic Wald test are plink2 --glm no-firth's CORR_TOO_HIGH/VIF_TOO_HIGH rows on the same
    files (the others' odds ratios plink2's)."""
    import subprocess

    from edfgen.kernels.logistic import logistic_association, prepare_logistic

    G, y, C = _collinear_cohort(tmp_path)
    yb = (y > np.median(y)).astype(float)
    iid = pd.read_csv(tmp_path / "p.txt", sep="\t")["IID"]
    pd.DataFrame({"#FID": iid, "IID": iid, "y": yb + 1}).to_csv(tmp_path / "pb.txt", sep="\t", index=False)
    subprocess.run(["plink2", "--bfile", str(tmp_path / "g"), "--pheno", str(tmp_path / "pb.txt"), "--covar",
                    str(tmp_path / "c.txt"), "--glm", "hide-covar", "no-firth", "--threads", "1", "--out",
                    str(tmp_path / "o")], check=True, capture_output=True)
    ref = pd.read_csv(tmp_path / "o.y.glm.logistic", sep="\t").set_index("ID")
    res = logistic_association(G, prepare_logistic(yb[:, None], C))
    na = (ref["ERRCODE"] != ".").to_numpy()
    assert na.sum() >= 5 and ref["ERRCODE"]["v5"] == "VIF_TOO_HIGH"
    np.testing.assert_array_equal(np.isnan(res.beta[:, 0]), na)
    np.testing.assert_allclose(np.exp(res.beta[~na, 0]), ref["OR"].to_numpy()[~na], rtol=1e-4)


@pytest.mark.skipif(__import__("shutil").which("plink2") is None, reason="plink2 not installed")
def test_linear_association__vif_rule_as_plink2(tmp_path):
    """The NA rows (VIF above 50, genotype's or a covariate's) are plink2 --glm's CORR_TOO_HIGH/VIF_TOO_HIGH rows
    on the same files, and the others' beta and p plink2's."""
    import subprocess

    G, y, C = _collinear_cohort(tmp_path)
    subprocess.run(["plink2", "--bfile", str(tmp_path / "g"), "--pheno", str(tmp_path / "p.txt"), "--covar",
                    str(tmp_path / "c.txt"), "--glm", "hide-covar", "--threads", "1", "--out", str(tmp_path / "o")],
                   check=True, capture_output=True)
    ref = pd.read_csv(tmp_path / "o.y.glm.linear", sep="\t").set_index("ID")
    assert ref["ERRCODE"].tolist()[:2] == ["CORR_TOO_HIGH", "VIF_TOO_HIGH"] and ref["ERRCODE"]["v5"] == "VIF_TOO_HIGH"
    res = linear_association(G, prepare_phenotypes(y[:, None], C))
    na = (ref["ERRCODE"] != ".").to_numpy()
    assert na.sum() >= 5 and (~na[6:14]).sum() >= 2
    np.testing.assert_array_equal(np.isnan(res.beta[:, 0]), na)
    np.testing.assert_allclose(res.beta[~na, 0], ref["BETA"].to_numpy()[~na], rtol=1e-4)
    np.testing.assert_allclose(res.p_value[~na, 0], ref["P"].to_numpy()[~na], rtol=1e-3)
    from bed_reader import open_bed, to_bed                  # with missing calls: plink2 drops them, as "drop"

    Gm = _with_missing_calls(G)
    with open_bed(tmp_path / "g.bed") as bed:
        props = {"iid": bed.iid, "fid": bed.fid, "sid": bed.sid}
    to_bed(tmp_path / "m.bed", Gm.astype(np.float32), count_A1=True, properties=props)
    subprocess.run(["plink2", "--bfile", str(tmp_path / "m"), "--pheno", str(tmp_path / "p.txt"), "--covar",
                    str(tmp_path / "c.txt"), "--glm", "hide-covar", "--threads", "1", "--out", str(tmp_path / "om")],
                   check=True, capture_output=True)
    ref = pd.read_csv(tmp_path / "om.y.glm.linear", sep="\t").set_index("ID")
    drop = linear_association(Gm, prepare_phenotypes(y[:, None], C), missing_genotypes="drop")
    na = (ref["ERRCODE"] != ".").to_numpy()
    assert ref["ERRCODE"]["v5"] == "VIF_TOO_HIGH" and (~na[6:14]).sum() >= 2
    np.testing.assert_array_equal(np.isnan(drop.beta[:, 0]), na)
    np.testing.assert_allclose(drop.beta[~na, 0], ref["BETA"].to_numpy()[~na], rtol=1e-4)


@pytest.mark.skipif(__import__("shutil").which("plink2") is None, reason="plink2 not installed")
def test_lmm_loco__vif_rule_as_plink2(tmp_path):
    """Review s40: --model lmm-loco gave an estimate where plink2 --glm writes NA VIF_TOO_HIGH / CORR_TOO_HIGH (the
    linear, ridge-LOCO and logistic tests apply the rule). Now its NA rows are plink2's on the same files (the
    collinear cohort's variants on chromosome 1; 200 unrelated variants on chromosome 2 give the LOCO GRM)."""
    import subprocess

    from edfgen.kernels.models import LmmLocoModel

    G, y, C = _collinear_cohort(tmp_path)
    subprocess.run(["plink2", "--bfile", str(tmp_path / "g"), "--pheno", str(tmp_path / "p.txt"), "--covar",
                    str(tmp_path / "c.txt"), "--glm", "hide-covar", "--threads", "1", "--out", str(tmp_path / "o")],
                   check=True, capture_output=True)
    na = (pd.read_csv(tmp_path / "o.y.glm.linear", sep="\t")["ERRCODE"] != ".").to_numpy()
    assert na.sum() >= 5 and (~na[6:14]).sum() >= 2
    other = np.random.default_rng(2).binomial(2, 0.3, (len(G), 200)).astype(float)
    chrom = ["1"] * G.shape[1] + ["2"] * other.shape[1]
    model = LmmLocoModel(block_size=64)
    state = model.prepare(C, y[:, None], genome=GenomeBlocks.from_arrays(np.hstack([G, other]), chrom))
    res = model.test_block(state, G, chromosome="1")
    np.testing.assert_array_equal(np.isnan(res.beta[:, 0]), na)
    np.testing.assert_array_equal(np.isnan(res.p_value[:, 0]), na)
    assert np.isfinite(res.standard_error[~na, 0]).all() and np.isnan(res.standard_error[na, 0]).all()
