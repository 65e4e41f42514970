"""The Firth fallback in the outputs of ``edfgen gwas --binary --logistic-test firth-fallback`` (issue 23): the
``firth_refit`` row of ``qc_report.tsv``, ``n_firth`` of ``gwas_summary.tsv`` and the ``firth`` column of the
GWAS-SSF files, against an independent count (statsmodels Logit's Wald p below the threshold, plus the
variants whose logistic fit plink2 ``--glm firth-fallback`` could not converge), and Firth refits that fail
counted in ``fit_failed`` and left out of the files."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.formats.dictionary import check_columns, check_file
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings
from test_logistic_plink2 import NO_QC, _cohort

THRESHOLD = 0.05
PHENOTYPES = ("d1", "d2")


def _gwas(d, out, qc=NO_QC, **settings):
    return run_gwas(GenotypeSource(bfile=str(d / "g")), d / "oc.tsv", d / "cv.tsv", d / out,
                    covar_cols=["age", "sex"], qc=qc, threads=1,
                    settings=GwasSettings(binary=True, engine="fast", plots=False, **settings))


def _statsmodels_wald(d) -> dict[str, pd.DataFrame]:
    """Per phenotype and variant: statsmodels Logit's Wald p of the variant (covariates age, sex) and whether
    its fit converged (False also where it raised, e.g. perfect separation); monomorphic variants flagged."""
    import statsmodels.api as sm
    from bed_reader import open_bed

    bed = open_bed(d / "g.bed")
    G = bed.read(dtype="float64")
    oc, cv = pd.read_csv(d / "oc.tsv", sep="\t"), pd.read_csv(d / "cv.tsv", sep="\t")
    X0 = np.column_stack([np.ones(len(cv)), cv["age"], cv["sex"]])
    out = {}
    for name in PHENOTYPES:
        y = oc[name].to_numpy()
        ok = ~np.isnan(y)
        rows = []
        for j in range(G.shape[1]):
            g = G[ok, j]
            p, conv = np.nan, False
            if np.ptp(g) > 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        fit = sm.Logit(y[ok], np.column_stack([X0[ok], g])).fit(disp=0, maxiter=100)
                        p, conv = fit.pvalues[-1], bool(fit.mle_retvals["converged"])
                    except Exception:          # PerfectSeparationError in older statsmodels
                        pass
            rows.append((bed.sid[j], p, conv, np.ptp(g) == 0))
        out[name] = pd.DataFrame(rows, columns=["variant_id", "p", "converged", "monomorphic"]).set_index("variant_id")
    return out


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_firth_fallback__counts_and_firth_column_equal_statsmodels_wald_p_and_plink2_firth_set(tmp_path):
    """edfgen refits a variant x phenotype pair by Firth exactly when statsmodels' Wald p < 0.05 or the plain
    logistic fit fails; plink2 --glm firth-fallback refits only the second kind (no p threshold), so its
    FIRTH?=Y set is edfgen's set minus the pairs with a small Wald p. The counts (qc_report firth_refit,
    gwas_summary n_firth) and the firth column agree with those sets; every written row has numbers; a
    Wald-only run has none of the three and the same numbers on the Wald rows."""
    _cohort(tmp_path)
    subprocess.run(["plink2", "--bfile", str(tmp_path / "g"), "--pheno", str(tmp_path / "oc.p2"), "--covar",
                    str(tmp_path / "cv.p2"), "--glm", "firth-fallback", "hide-covar", "--threads", "1", "--silent",
                    "--out", str(tmp_path / "p2")], check=True)
    _gwas(tmp_path, "f", logistic_test="firth-fallback", firth_threshold=THRESHOLD)
    _gwas(tmp_path, "w")
    ref = _statsmodels_wald(tmp_path)
    qc = pd.read_csv(tmp_path / "f" / "qc_report.tsv", sep="\t").set_index("filter")
    summary = pd.read_csv(tmp_path / "f" / "gwas_summary.tsv", sep="\t").set_index("phenotype")
    for f in ("qc_report", "gwas_summary"):
        check_file(f, tmp_path / "f" / f"{f}.tsv")
        check_file(f, tmp_path / "w" / f"{f}.tsv")
    assert list(qc.index[-2:]) == ["firth_refit", "fit_failed"]
    total = n_failed = 0
    for name in PHENOTYPES:
        check_file("sumstats", tmp_path / "f" / f"{name}.tsv.gz")
        check_file("sumstats", tmp_path / "w" / f"{name}.tsv.gz")
        ours = pd.read_csv(tmp_path / "f" / f"{name}.tsv.gz", sep="\t").set_index("variant_id")
        wald = pd.read_csv(tmp_path / "w" / f"{name}.tsv.gz", sep="\t").set_index("variant_id")
        p2 = pd.read_csv(tmp_path / f"p2.{name}.glm.logistic.hybrid", sep="\t").set_index("ID")
        sm = ref[name]
        assert ours.columns[-1] == "firth" and ours["firth"].dtype == bool and "firth" not in wald.columns
        assert np.isfinite(ours[["beta", "standard_error", "p_value"]].to_numpy()).all()
        # the threshold is not within 0.1% of any Wald p (edfgen's agree with statsmodels' to 1e-4)
        assert (np.abs(np.log(sm["p"].dropna() / THRESHOLD)) > 1e-3).all()
        small_p = set(sm.index[sm["p"] < THRESHOLD])
        failed_wald = set(sm.index[~sm["converged"] & ~sm["monomorphic"]])
        plink2_firth = set(p2.index[p2["FIRTH?"] == "Y"])
        assert failed_wald == plink2_firth and len(plink2_firth) >= 3      # the two references agree
        expected = small_p | failed_wald
        assert len(small_p) >= 5 and not small_p & failed_wald
        left_out = set(sm.index) - set(ours.index)                         # Firth fit failed, or monomorphic
        refitted = set(ours.index[ours["firth"]]) | (left_out - set(sm.index[sm["monomorphic"]]))
        assert refitted == expected
        assert plink2_firth <= refitted and refitted - plink2_firth == small_p
        assert summary.loc[name, "n_firth"] == len(expected)
        assert set(wald.index[wald["p_value"] < THRESHOLD]) == small_p     # edfgen's own Wald p, same set
        kept = ours.index[~ours["firth"]]
        pd.testing.assert_frame_equal(ours.loc[kept, wald.columns], wald.loc[kept])
        total += len(expected)
        n_failed += len(left_out)
    assert qc.loc["firth_refit", "removed"] == total == summary["n_firth"].sum()
    n_rows = sum(len(ref[n]) for n in PHENOTYPES)
    assert qc.loc["firth_refit", "remaining"] == n_rows - total
    assert qc.loc["fit_failed", "removed"] == n_failed and qc.loc["fit_failed", "remaining"] == n_rows - n_failed
    wqc = pd.read_csv(tmp_path / "w" / "qc_report.tsv", sep="\t")
    assert "firth_refit" not in set(wqc["filter"])
    assert "n_firth" not in pd.read_csv(tmp_path / "w" / "gwas_summary.tsv", sep="\t").columns


def test_firth_fallback__refits_that_fail_are_fit_failed_and_not_written(tmp_path, monkeypatch):
    """With Firth's Newton iterations capped at 2 most refits do not converge: those whose Wald fit converged
    keep the Wald result (firth False, review s31b: never a failed refit over a converged Wald fit); the others
    are left out of the GWAS-SSF files (no number written), counted in fit_failed, and still counted as refitted; the
    --multivariate pass (all results kept in memory) writes and counts the same. Variants removed by QC (MAF
    < 0.01, tested in the same pass as the association) are not counted."""
    from bed_reader import open_bed

    import edfgen.kernels.firth as firth

    _cohort(tmp_path, n=500, seed=3)
    full = firth.firth_full
    monkeypatch.setattr(firth, "firth_full", lambda *a, **k: full(*a, **{**k, "max_iterations": 2}))
    maf = QCSettings(call_rate=0.0, maf=0.01, hwe_p=0.0, sample_call_rate=0.0)
    _gwas(tmp_path, "f", maf, logistic_test="firth-fallback", firth_threshold=0.2)
    _gwas(tmp_path, "m", maf, logistic_test="firth-fallback", firth_threshold=0.2, multivariate=True)
    _gwas(tmp_path, "w", maf)
    bed = open_bed(tmp_path / "g.bed")
    G = bed.read(dtype="float64")
    af = G.mean(0) / 2                        # every sample has d1: QC counts over all of them
    passed = np.minimum(af, 1 - af) >= 0.01
    G, ids = G[:, passed], list(bed.sid[passed])
    assert 0 < (~passed).sum() < 20
    oc = pd.read_csv(tmp_path / "oc.tsv", sep="\t")
    tables = {}
    for out in ("f", "m"):
        tables[out] = [pd.read_csv(tmp_path / out / f, sep="\t") for f in ("qc_report.tsv", "gwas_summary.tsv")]
    pd.testing.assert_frame_equal(tables["m"][0], tables["f"][0])
    pd.testing.assert_frame_equal(tables["m"][1].drop(columns="lambda_gc"), tables["f"][1].drop(columns="lambda_gc"))
    qc, summary = tables["f"][0].set_index("filter"), tables["f"][1].set_index("phenotype")
    n_failed = n_refit = 0
    for name in PHENOTYPES:
        ours = pd.read_csv(tmp_path / "f" / f"{name}.tsv.gz", sep="\t").set_index("variant_id")
        wald = pd.read_csv(tmp_path / "w" / f"{name}.tsv.gz", sep="\t").set_index("variant_id")
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "m" / f"{name}.tsv.gz", sep="\t").set_index("variant_id"),
                                      ours)
        assert np.isfinite(ours[["beta", "standard_error", "p_value"]].to_numpy()).all()
        ok = oc[name].notna().to_numpy()
        mono = {v for v, g in zip(ids, G[ok].T) if np.ptp(g) == 0}
        wald_failed = set(ids) - set(wald.index) - mono
        expected = set(wald.index[wald["p_value"] < 0.2]) | wald_failed
        written = set(ours.index[ours["firth"]])
        gone = set(ids) - set(ours.index)
        # a failed Firth refit keeps a converged Wald result (firth False); without one the row is not written
        assert written <= expected and gone == (wald_failed - written) | mono
        assert len(expected - written - wald_failed) > 5                 # failed refits that kept the Wald row
        plain = ours.index[~ours["firth"]]
        pd.testing.assert_frame_equal(ours.loc[plain, wald.columns], wald.loc[plain])
        assert summary.loc[name, "n_firth"] == len(written) + len(gone - mono)
        n_refit += len(written) + len(gone - mono)
        n_failed += len(gone)
    assert qc.loc["firth_refit", "removed"] == n_refit
    assert qc.loc["fit_failed", "removed"] == n_failed


def test_dictionary__optional_columns_may_be_absent_but_are_still_checked(tmp_path):
    (tmp_path / "t.tsv").write_text("column\ttype\tunits\tdescription\nIID\tstring\t\tid\n"
                                    "firth\tbool (optional)\t\tonly with an option\n")
    check_columns("t", ["IID"], tmp_path)
    check_columns("t", ["IID", "firth"], tmp_path)
    with pytest.raises(AssertionError, match="undocumented"):
        check_columns("t", ["IID", "firth", "other"], tmp_path)
    with pytest.raises(AssertionError, match="absent"):
        check_columns("t", ["firth"], tmp_path)


def test_firth_full__converges_for_variants_carried_by_one_sample():
    """A variant carried by one sample (case or control) has a finite Firth maximum; the batched Newton fit
    reaches it (accepting only steps that do not lower the penalised likelihood: with an allowance for rounding
    it swung around the maximum for ever). Checked against scipy's maximisation with the covariates refitted."""
    from scipy import optimize
    from scipy.special import expit

    from edfgen.kernels.firth import firth_full

    rng = np.random.default_rng(4)
    n = 600
    C = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = (rng.random(n) < expit(-1.0 + 0.4 * C[:, 1])).astype(float)
    G = np.zeros((n, 4))
    G[np.flatnonzero(y == 0)[0], 0] = 1                 # one control carrier
    G[np.flatnonzero(y == 1)[0], 1] = 1                 # one case carrier
    G[np.flatnonzero(y == 0)[:2], 2] = 1                # two control carriers
    G[:, 3] = rng.binomial(2, 0.3, n)                    # common
    fit = firth_full(C, G, y)
    assert fit.converged.all()
    for j in range(G.shape[1]):
        X = np.column_stack([C, G[:, j]])

        def neg(b):
            eta = X @ b
            w = expit(eta) * (1 - expit(eta))
            return -((y * eta - np.logaddexp(0, eta)).sum() + 0.5 * np.linalg.slogdet(X.T @ (X * w[:, None]))[1])

        ref = optimize.minimize(neg, np.zeros(3), method="BFGS", options={"gtol": 1e-9})
        ref = optimize.minimize(neg, ref.x, method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-13})
        assert abs(fit.beta[j] - ref.x[-1]) < 1e-4, j
