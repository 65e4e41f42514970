"""A covariate constant, or a combination of the others, among ONE phenotype's samples (``sex`` for a trait
measured in women only; ``centre=D`` for a trait not measured in centre D; the reference centre's samples all
missing the trait) is left out of that phenotype's regressions with a warning naming it, as plink2 --glm ("Not
including covariate 'sex' in --glm regression on phenotype 'y_f'"); the other phenotypes keep it (review s33b
F1-F3). Before, the fast linear path refused the run naming 'column 5', ``--binary`` lost the phenotype (its
null fit "did not converge") and the Hail engine printed wrong numbers. And a categorical covariate's reference
level is chosen among the analysed samples: ``--keep`` without the reference centre runs, as plink2 (F4)."""
from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.commands.gwas_levels import reference_among_analysed
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.association import linear_association, prepare_phenotypes
from edfgen.kernels.logistic import logistic_association, prepare_logistic
from edfgen.kernels.models import make_model
from edfgen.kernels.qc import QCSettings

PLINK2 = shutil.which("plink2")
NAMES = ["intercept", "age", "sex", "centre=B", "centre=C", "centre=D"]


def _data(n=400, m=6, seed=4):
    """Genotypes [n, m], covariates (intercept, age, sex, centre B/C/D beside reference A), the sex and centre
    of each sample, and phenotypes: complete; women only; missing in centre D; missing in centre A."""
    rng = np.random.default_rng(seed)
    sex = rng.integers(0, 2, n)
    centre = rng.integers(0, 4, n)
    G = rng.binomial(2, rng.uniform(0.2, 0.5, m), size=(n, m)).astype(float)
    C = np.column_stack([np.ones(n), rng.normal(50, 8, n), sex, *(centre == c for c in (1, 2, 3))]).astype(float)
    y = 0.3 * G[:, 0] + 0.02 * C[:, 1] + 0.4 * sex + 0.3 * centre + rng.normal(size=n)
    Y = np.column_stack([y, np.where(sex == 0, y, np.nan), np.where(centre != 3, y, np.nan),
                         np.where(centre != 0, y, np.nan)])
    return G, C, sex, centre, Y


def test_linear_kernel__covariate_constant_in_one_phenotype_left_out_as_statsmodels(caplog):
    import statsmodels.api as sm

    G, C, sex, centre, Y = _data()
    names = ["y", "y_f", "y_noD", "y_noA"]
    with caplog.at_level(logging.WARNING):
        prep = make_model("linear").prepare(C, Y, names=names, covariate_names=NAMES)
    res = linear_association(G, prep)
    text = caplog.text
    assert "'sex'" in text and "'y_f'" in text and "'centre=D'" in text and "'y_noD'" in text
    assert "'y_noA'" in text and "column" not in text
    dropped = {0: [], 1: [2], 2: [5], 3: [5]}       # y_noA: the last of intercept + B, C, D (same span)
    for p in range(4):
        ok = ~np.isnan(Y[:, p])
        X = np.delete(C[ok], dropped[p], axis=1)
        for j in range(G.shape[1]):
            fit = sm.OLS(Y[ok, p], np.column_stack([X, G[ok, j]])).fit()
            np.testing.assert_allclose(res.beta[j, p], fit.params[-1], rtol=1e-8)
            np.testing.assert_allclose(res.standard_error[j, p], fit.bse[-1], rtol=1e-8)
            np.testing.assert_allclose(res.p_value[j, p], fit.pvalues[-1], rtol=1e-6)
    G[::7, 1] = np.nan                                      # plink2's drop of missing calls: same design per group
    drop = linear_association(G, prepare_phenotypes(Y, C), missing_genotypes="drop")
    ok = ~np.isnan(Y[:, 1]) & ~np.isnan(G[:, 1])
    fit = sm.OLS(Y[ok, 1], np.column_stack([np.delete(C[ok], [2], axis=1), G[ok, 1]])).fit()
    np.testing.assert_allclose(drop.beta[1, 1], fit.params[-1], rtol=1e-8)
    np.testing.assert_allclose(drop.standard_error[1, 1], fit.bse[-1], rtol=1e-8)


def test_logistic_kernel__covariate_constant_in_one_phenotype_left_out_as_statsmodels(caplog):
    import statsmodels.api as sm

    G, C, sex, centre, Y = _data(n=600)
    rng = np.random.default_rng(1)
    b = (rng.random(len(C)) < 1 / (1 + np.exp(-(Y[:, 0] - Y[:, 0].mean())))).astype(float)
    B = np.column_stack([b, np.where(centre != 3, b, np.nan)])
    with caplog.at_level(logging.WARNING):
        prep = prepare_logistic(B, C, names=["b", "b_noD"], covariate_names=NAMES)
    assert "'centre=D'" in caplog.text and "'b_noD'" in caplog.text and not prep.null_failed
    res = logistic_association(G, prep)
    ok = centre != 3
    for j in range(G.shape[1]):
        fit = sm.Logit(B[ok, 1], np.column_stack([C[ok][:, :5], G[ok, j]])).fit(disp=0)
        np.testing.assert_allclose(res.beta[j, 1], fit.params[-1], rtol=1e-5)
        np.testing.assert_allclose(res.standard_error[j, 1], fit.bse[-1], rtol=1e-5)


def test_ridge_loco__covariate_constant_in_one_phenotype_left_out_once(caplog):
    """ridge-loco step 1 and step 2 (prepared again for each chromosome) fit the women-only phenotype without
    ``sex``: step 2 equals OLS of ``y - loco`` on the other covariates and the variant, warned about once (review
    s33d F6: once by each step before), also when step 1's predictions are given."""
    import statsmodels.api as sm

    from edfgen.kernels.models import GenomeBlocks

    G, C, sex, centre, Y = _data(n=300, m=40)
    genome = GenomeBlocks.from_arrays(G, ["1"] * 20 + ["2"] * 20)
    model = make_model("ridge-loco")
    with caplog.at_level(logging.WARNING):
        prep = model.prepare(C, Y[:, :2], names=["y", "y_f"], genome=genome, covariate_names=NAMES)
        res = {c: model.test_block(prep, G[:, 20 * i:20 * i + 20], chromosome=c) for i, c in enumerate("12")}
    assert caplog.text.count("'sex'") == 1 and "column" not in caplog.text
    caplog.clear()
    given = make_model("ridge-loco", predictions=prep.predictions)      # step 1 read, not run: step 2 says it
    with caplog.at_level(logging.WARNING):
        prep2 = given.prepare(C, Y[:, :2], names=["y", "y_f"], genome=genome, covariate_names=NAMES)
        for i, c in enumerate("12"):
            given.test_block(prep2, G[:, 20 * i:20 * i + 20], chromosome=c)
    assert caplog.text.count("'sex'") == 1
    ok = sex == 0
    y = Y[ok, 1] - prep.predictions.loco("2")[ok, 1]
    fit = sm.OLS(y, np.column_stack([np.delete(C[ok], [2], axis=1), G[ok, 25]])).fit()
    np.testing.assert_allclose(res["2"].beta[5, 1], fit.params[-1], rtol=1e-8)
    np.testing.assert_allclose(res["2"].standard_error[5, 1], fit.bse[-1], rtol=1e-8)


def _cohort(d: Path, n=500, m=25) -> Path:
    """PLINK files (no missing calls), pheno.tsv (y complete, y_f women only, y_noD / y_noA missing in centre D /
    the reference centre A), covar.tsv (age, sex, centre as text) and their plink2 copies."""
    from bed_reader import to_bed

    rng = np.random.default_rng(33)
    G = rng.binomial(2, rng.uniform(0.15, 0.5, m), size=(n, m)).astype(float)
    iid = [f"s{i}" for i in range(n)]
    to_bed(d / "g.bed", G, count_A1=False, properties={
        "fid": iid, "iid": iid, "sex": np.zeros(n, int), "sid": [f"v{j}" for j in range(m)], "chromosome": ["1"] * m,
        "bp_position": np.arange(1, m + 1) * 1000, "allele_1": ["A"] * m, "allele_2": ["G"] * m})
    sex = rng.integers(0, 2, n)
    centre = np.array(list("ABCD"))[rng.integers(0, 4, n)]
    age = rng.normal(50, 8, n).round(1)
    y = (0.3 * G[:, 3] + 0.02 * age + 0.5 * sex + (centre == "C") + rng.normal(size=n)).round(4)
    pheno = pd.DataFrame({"IID": iid, "y": y, "y_f": np.where(sex == 0, y, np.nan),
                          "y_noD": np.where(centre != "D", y, np.nan), "y_noA": np.where(centre != "A", y, np.nan)})
    pheno.to_csv(d / "pheno.tsv", sep="\t", index=False, na_rep="NA")
    b = (rng.random(n) < 1 / (1 + np.exp(-(y - y.mean())))).astype(float)
    pd.DataFrame({"IID": iid, "b": b, "b_noD": np.where(centre != "D", b, np.nan)}).to_csv(
        d / "bin.tsv", sep="\t", index=False, na_rep="NA")
    pd.DataFrame({"IID": iid, "age": age, "sex": sex, "centre": centre}).to_csv(d / "covar.tsv", sep="\t",
                                                                                index=False)
    pheno.assign(**{"#FID": iid})[["#FID", *pheno.columns]].to_csv(d / "pheno.p2", sep="\t", index=False,
                                                                    na_rep="NA")
    pd.DataFrame({"#FID": iid, "IID": iid, "age": age, "sex": sex, "centre": centre}).to_csv(d / "covar.p2", sep="\t",
                                                                                 index=False)
    return d


def _assert_plink2(out: Path, p2: Path, names) -> None:
    """edfgen's files in ``out`` equal plink2's ``<p2>.<name>.glm.linear``."""
    for name in names:
        ours = pd.read_csv(out / f"{name}.tsv.gz", sep="\t").set_index("variant_id")
        ref = pd.read_csv(f"{p2}.{name}.glm.linear", sep="\t").set_index("ID").loc[ours.index]
        assert len(ours) == 25
        sign = np.where(ref["A1"] == ours["effect_allele"], 1.0, -1.0)
        np.testing.assert_allclose(ours["beta"], sign * ref["BETA"], rtol=1e-5, err_msg=name)
        np.testing.assert_allclose(ours["standard_error"], ref["SE"], rtol=1e-5, err_msg=name)
        np.testing.assert_allclose(ours["p_value"], ref["P"], rtol=1e-4, err_msg=name)
        np.testing.assert_array_equal(ours["n"], ref["OBS_CT"])


@pytest.fixture(scope="module")
def cohort_p2(tmp_path_factory) -> Path:
    if PLINK2 is None:
        pytest.skip("plink2 not installed")
    d = _cohort(tmp_path_factory.mktemp("groupcov"))
    subprocess.run([PLINK2, "--bfile", str(d / "g"), "--pheno", str(d / "pheno.p2"), "--covar", str(d / "covar.p2"),
                    "--glm", "hide-covar", "--out", str(d / "p2"), "--silent"], check=True)
    log = (d / "p2.log").read_text()
    assert "Not including covariate 'sex' in --glm regression on phenotype 'y_f'" in log
    return d


def _persisted() -> list[str]:
    """The ``persist_*`` tables in the Hail context's temp folder (Hail's regressions persist their results)."""
    import hail as hl

    return sorted(p.name for p in Path(hl.tmp_dir()).glob("persist_*"))


@pytest.mark.parametrize("engine", ["fast", "hail"])
def test_gwas__covariate_constant_in_one_phenotype_equal_to_plink2(cohort_p2, tmp_path, engine, request, caplog):
    d = cohort_p2
    hail = None
    if engine == "hail":
        request.getfixturevalue("hail_context")
        from edfgen.engines.hail import HailSettings
        hail = HailSettings(tmp_dir=str(tmp_path / "hail_tmp"))
    before = _persisted() if engine == "hail" else []
    with caplog.at_level(logging.WARNING):
        run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", tmp_path / "e",
                 covar_cols=["age", "sex", "centre"], categorical=["centre"], qc=QCSettings(), hail=hail,
                 settings=GwasSettings(transform="none", plots=False, engine=engine), threads=1)
    _assert_plink2(tmp_path / "e", d / "p2", ["y", "y_f", "y_noD", "y_noA"])
    if engine == "hail":        # review s33d F7: each regression's persisted result table was left behind
        assert _persisted() == before
    assert "'sex'" in caplog.text and "'y_f'" in caplog.text and "'centre=D'" in caplog.text


def test_gwas_hail_binary__covariate_constant_in_one_phenotype_equal_to_the_fast_engine(cohort_p2, tmp_path,
                                                                                       hail_context, caplog):
    """Hail's logistic_regression_rows gets each group's independent covariates: the fast engine's numbers (whose
    kernel equals statsmodels without the covariate, above); before, Hail fitted the all-zero 'centre=D'."""
    from edfgen.engines.hail import HailSettings

    d = cohort_p2
    before = _persisted()
    for engine in ("fast", "hail"):
        run_gwas(GenotypeSource(bfile=str(d / "g")), d / "bin.tsv", d / "covar.tsv", tmp_path / engine,
                 covar_cols=["age", "sex", "centre"], categorical=["centre"], qc=QCSettings(), threads=1,
                 hail=HailSettings(tmp_dir=str(tmp_path / "hail_tmp")) if engine == "hail" else None,
                 settings=GwasSettings(binary=True, plots=False, engine=engine))
    assert caplog.text.count("'centre=D'") >= 2
    assert _persisted() == before       # review s33d F7: logistic_regression_rows' tables removed too
    for name in ("b", "b_noD"):
        a, h = (pd.read_csv(tmp_path / e / f"{name}.tsv.gz", sep="\t").set_index("variant_id") for e in ("fast", "hail"))
        assert len(a) == len(h) == 25
        for col in ("beta", "standard_error", "p_value"):
            np.testing.assert_allclose(h.loc[a.index, col], a[col], rtol=1e-5, err_msg=f"{name}:{col}")


def test_reference_among_analysed__first_present_level_becomes_the_reference():
    names = ["intercept", "age", "centre=B", "centre=C", "centre=D"]
    C = np.array([[1, 50, 0, 1, 0], [1, 40, 0, 0, 1], [1, 45, 0, 1, 0]], dtype=float)   # no A (reference), no B
    C2, n2 = reference_among_analysed(C, names, {"centre": ["A", "B", "C", "D"]})
    assert n2 == ["intercept", "age", "centre=B", "centre=D"]                 # C is the reference (B: all zero)
    np.testing.assert_array_equal(C2, C[:, [0, 1, 2, 4]])
    C[0, 2:] = 0                                                                # an A sample: nothing changes
    assert reference_among_analysed(C, names, {"centre": ["A", "B", "C", "D"]})[1] == names


def test_gwas__keep_without_the_reference_level_equal_to_plink2(cohort_p2, tmp_path):
    """Review s33b F4: the reference centre (A, first of the levels on the whole table) has no kept sample: the
    run was refused ("'centre=D' is a linear combination of 'intercept', 'centre=B', 'centre=C'")."""
    d = cohort_p2
    cov = pd.read_csv(d / "covar.tsv", sep="\t")
    kept = cov.loc[cov["centre"] != "A", "IID"]
    kept.to_csv(tmp_path / "keep.txt", index=False, header=False)
    pd.DataFrame({"f": kept, "i": kept}).to_csv(tmp_path / "keep.p2", sep="\t", index=False, header=False)
    run_gwas(GenotypeSource(bfile=str(d / "g"), keep=str(tmp_path / "keep.txt")), d / "pheno.tsv", d / "covar.tsv",
             tmp_path / "e", covar_cols=["age", "sex", "centre"], categorical=["centre"], qc=QCSettings(),
             pheno_cols=["y", "y_noD"], settings=GwasSettings(transform="none", plots=False), threads=1)
    subprocess.run([PLINK2, "--bfile", str(d / "g"), "--pheno", str(d / "pheno.p2"), "--covar", str(d / "covar.p2"),
                    "--keep", str(tmp_path / "keep.p2"), "--glm", "hide-covar", "--out", str(tmp_path / "p2"),
                    "--silent"], check=True)
    _assert_plink2(tmp_path / "e", tmp_path / "p2", ["y", "y_noD"])


def test_ridge_loco_binary__covariate_constant_in_one_phenotype_runs_step_1():
    """Final read of stop 33: `--binary --model ridge-loco` refused a women-only disease with `sex` among the
    covariates ('the covariates-only logistic model does not converge') right after warning that `sex` is left
    out: level 1's null fit used every covariate. Now it runs, and the disease's predictions are finite."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from test_ridge_binary import _cohort

    from edfgen.kernels.models import GenomeBlocks
    from edfgen.kernels.ridge import ridge_loco_predictions

    G, chrom, C, Y = _cohort(n=600, m=300)
    sex = (np.arange(len(C)) % 2).astype(float)
    C = np.column_stack([C, sex])
    Y[sex == 0, 0] = np.nan
    loco = ridge_loco_predictions(GenomeBlocks.from_arrays(G, chrom), Y, C, block_size=100, binary=True,
                                  names=["a", "b", "c"], covariate_names=["int", "x", "sex"])
    assert np.isfinite(loco.genome[sex == 1, 0]).all() and np.isfinite(loco.loco_values[..., 0]).all()


def test_group_covariates__said_once_per_phenotype_and_covariate_within_a_run(caplog):
    """Review s34e F1: each design (autosomes, X, Y) and each chromosome's Hail regression said it again. Within
    covariate_warnings_once a pair is said once (a new covariate or phenotype still is); outside, every time."""
    from edfgen.kernels.covariates import covariate_warnings_once, group_covariates

    G, C, sex, centre, Y = _data()
    cols, f = np.array([1, 2]), sex == 0
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            group_covariates(C[f], cols, names=["y", "y_f", "y_g"], covariate_names=NAMES)
    assert caplog.text.count("not including") == 2
    caplog.clear()
    with caplog.at_level(logging.WARNING), covariate_warnings_once():
        for _ in range(3):
            group_covariates(C[f], cols, names=["y", "y_f", "y_g"], covariate_names=NAMES)
        group_covariates(C[f & (centre != 3)], cols, names=["y", "y_f", "y_g"], covariate_names=NAMES)
    assert caplog.text.count("'sex'") == 1 and caplog.text.count("not including") == 2
    assert "covariate(s) 'centre=D' in the regression on phenotype(s) 'y_f', 'y_g'" in caplog.text


def test_prepare_logistic__null_model_failure_said_once_per_phenotype_within_a_run(caplog):
    """s36b: a covariate separating a --binary phenotype's cases made the null-model warning twice in a run with
    X (the autosomes' and X's designs each said it). Within covariate_warnings_once: once; outside: every time;
    the phenotype's fits are left out both times."""
    from edfgen.kernels.covariates import covariate_warnings_once
    from edfgen.kernels.logistic import prepare_logistic

    rng = np.random.default_rng(4)
    y = (rng.random(400) < 0.1).astype(float)
    sep = np.where(y == 0, rng.random(400) < 0.05, 0.0)          # 1 only among controls: quasi-separation
    C = np.column_stack([np.ones(400), rng.standard_normal(400), sep])
    for block, said in ((covariate_warnings_once, 1), (contextlib.nullcontext, 2)):
        caplog.clear()
        with caplog.at_level(logging.WARNING), block():
            fits = [prepare_logistic(y[:, None], C, names=["dis"]) for _ in range(2)]
        assert caplog.text.count("covariates-only logistic model") == said
        assert all(f.null_failed == frozenset({0}) for f in fits)


def _sexed_cohort(d: Path, n=300, y_variants=0) -> Path:
    """PLINK files with chromosomes 1, 2 and X (males' X 0/2), ``y_variants`` on Y (males 0/2, females missing)
    and the .fam's sex; pheno.tsv: y, y_f (women only); covar.tsv: age, sex (1 = female)."""
    from bed_reader import to_bed

    rng = np.random.default_rng(8)
    chrom = ["1"] * 30 + ["2"] * 30 + ["X"] * 10 + ["Y"] * y_variants
    G = rng.binomial(2, rng.uniform(0.15, 0.5, len(chrom)), size=(n, len(chrom))).astype(float)
    male = np.arange(n) % 2 == 0
    G[np.ix_(male, np.arange(60, len(chrom)))] = 2 * rng.binomial(1, 0.3, (male.sum(), len(chrom) - 60))
    G[np.ix_(~male, np.arange(70, len(chrom)))] = np.nan
    iid = [f"s{i}" for i in range(n)]
    to_bed(d / "g.bed", G, count_A1=False, properties={
        "fid": iid, "iid": iid, "sex": np.where(male, 1, 2), "sid": [f"v{j}" for j in range(len(chrom))],
        "chromosome": chrom, "bp_position": [1000 * (j + 1) if c not in "XY" else 5_000_000 + 1000 * j
                                              for j, c in enumerate(chrom)],
        "allele_1": ["A"] * len(chrom), "allele_2": ["G"] * len(chrom)})
    age = rng.normal(50, 8, n).round(1)
    y = (0.3 * G[:, 3] + 0.02 * age + 0.5 * ~male + rng.normal(size=n)).round(4)
    pd.DataFrame({"IID": iid, "y": y, "y_f": np.where(male, np.nan, y)}).to_csv(d / "pheno.tsv", sep="\t",
                                                                               index=False, na_rep="NA")
    pd.DataFrame({"IID": iid, "age": age, "sex": (~male).astype(int)}).to_csv(d / "covar.tsv", sep="\t",
                                                                             index=False)
    return d


@pytest.mark.slow
def test_gwas__covariate_left_out_said_once_by_each_engine(tmp_path, request, caplog):
    """Review s34e F1: 'not including covariate(s) 'sex' ... 'y_f'' was said by the fast engine once per design
    (autosomes, X) and by the Hail engine with --model ridge-loco once per chromosome (22 times on a genome).
    (rev34 #9: 38 s after the module's other Hail tests, 58 s alone; the Hail run itself takes 11-17 s once
    Hail is warm, 47-56 s cold: not its 70 variants, as one phenotype or two chromosomes save nothing measurable.)"""
    from edfgen.engines.hail import HailSettings

    d = _sexed_cohort(tmp_path)
    run = dict(covar_cols=["age", "sex"], qc=QCSettings(hwe_p=0), threads=1)
    with caplog.at_level(logging.WARNING):
        run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", tmp_path / "fast",
                 settings=GwasSettings(transform="none", plots=False, engine="fast"), **run)
    assert caplog.text.count("not including covariate(s) 'sex'") == 1
    run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", tmp_path / "step1",
             settings=GwasSettings(transform="none", plots=False, engine="fast", model="ridge-loco"), **run)
    request.getfixturevalue("hail_context")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", tmp_path / "hail",
                 hail=HailSettings(tmp_dir=str(tmp_path / "hail_tmp")),
                 settings=GwasSettings(transform="none", plots=False, engine="hail", model="ridge-loco",
                                       loco_predictions=str(tmp_path / "step1" / "loco")), **run)
    assert caplog.text.count("not including covariate(s) 'sex'") == 1
    res = pd.read_csv(tmp_path / "hail" / "y_f.tsv.gz", sep="\t")
    assert len(res) == 70 and set(res["chromosome"].astype(str)) == {"1", "2", "23"}


def test_gwas__women_only_phenotype_with_chrY_refused_naming_chrY_and_chr(tmp_path):
    """Review s34e F4: chrY is tested on the males; a women-only phenotype has no value there, and the run stopped
    with "only 0 samples with phenotype(s) 'y_f' for 0 covariates" (after warning that 'intercept' and 'age' are
    left out of its 0 samples). plink2 stops too ("degenerate on chrY"); the error now says why and what to do."""
    from edfgen.exceptions import InputError

    d = _sexed_cohort(tmp_path, y_variants=5)
    with pytest.raises(InputError, match=r"^phenotype\(s\) 'y_f' \(0 values\) among the 150 males, the only samples "
                                         r"chrY is tested on .*--chr 1-22,X"):
        run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", tmp_path / "o",
                 covar_cols=["age", "sex"], qc=QCSettings(hwe_p=0), threads=1,
                 settings=GwasSettings(transform="none", plots=False, engine="fast"))
    res = run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", tmp_path / "y",
                   covar_cols=["age", "sex"], qc=QCSettings(hwe_p=0), threads=1, pheno_cols=["y"],
                   settings=GwasSettings(transform="none", plots=False, engine="fast"))
    assert len(pd.read_csv(tmp_path / "y" / "y.tsv.gz", sep="\t")) == 75 and res.phenotypes == ["y"]


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
def test_gwas__category_of_one_person_counted_in_n_not_in_plink2_obs_ct(tmp_path):
    """A categorical level held by ONE person (a genotyping batch of one): the linear fit is the same with them
    (their indicator fits them exactly, one sample and one coefficient more: the same degrees of freedom) or
    without them, so beta, SE and p equal plink2's; plink2's linear OBS_CT leaves that person out, ``n`` counts
    every sample with complete data (documented in data_dictionary/sumstats.tsv and the README). plink2's
    logistic OBS_CT counts them, as ``n`` does. This pins the documented difference: one, not more, not less."""
    from bed_reader import to_bed

    rng = np.random.default_rng(3)
    n, m = 300, 30
    iid = np.array([f"S{i:03d}" for i in range(n)])
    to_bed(tmp_path / "g.bed", rng.binomial(2, 0.3, (n, m)).astype(np.float32), count_A1=True,
           properties={"iid": iid, "fid": iid, "sid": [f"v{j}" for j in range(m)], "chromosome": ["1"] * m,
                       "bp_position": list(1000 * (1 + np.arange(m)))})
    batch = np.where(np.arange(n) % 2 == 0, "bA", "bB").astype(object)
    batch[5] = "bC"
    y = rng.normal(size=n) + 3.0 * (batch == "bC")
    age = rng.normal(50, 5, n)
    yb = 1 + (y > np.median(y))                                       # (plink2: 1 control, 2 case)
    pd.DataFrame({"#FID": iid, "IID": iid, "y": y, "yb": yb}).to_csv(tmp_path / "p.txt", sep="\t", index=False)
    pd.DataFrame({"#FID": iid, "IID": iid, "age": age, "batch": batch}).to_csv(tmp_path / "c.txt", sep="\t",
                                                                               index=False)
    pd.DataFrame({"IID": iid, "y": y}).to_csv(tmp_path / "ph.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": iid, "age": age, "batch": batch}).to_csv(tmp_path / "cv.tsv", sep="\t", index=False)
    subprocess.run([PLINK2, "--bfile", str(tmp_path / "g"), "--pheno", str(tmp_path / "p.txt"), "--covar",
                    str(tmp_path / "c.txt"), "--glm", "hide-covar", "--threads", "1", "--out", str(tmp_path / "o")],
                   check=True, capture_output=True)
    run_gwas(GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / "ph.tsv", tmp_path / "cv.tsv", tmp_path / "out",
             covar_cols=["age", "batch"], categorical=["batch"],
             qc=QCSettings(maf=0.0, call_rate=0.0, hwe_p=0.0, sample_call_rate=0.0),
             settings=GwasSettings(engine="fast", plots=False, transform="none"))
    m_ = pd.read_csv(tmp_path / "out" / "y.tsv.gz", sep="\t").merge(
        pd.read_csv(tmp_path / "o.y.glm.linear", sep="\t"), left_on="variant_id", right_on="ID", validate="1:1")
    assert len(m_) == m and (m_["n"] == n).all() and (m_["OBS_CT"] == n - 1).all()
    logistic = pd.read_csv(tmp_path / "o.yb.glm.logistic.hybrid", sep="\t")
    assert len(logistic) == m and (logistic["OBS_CT"] == n).all()
    np.testing.assert_allclose(m_["beta"], m_["BETA"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(m_["standard_error"], m_["SE"], rtol=1e-4)
    np.testing.assert_allclose(m_["p_value"], m_["P"], rtol=1e-3)
