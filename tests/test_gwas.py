"""edfgen gwas: kernel vs statsmodels, whole runs vs plink2 --glm and Hail linear/logistic_regression_rows."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings
from edfgen.commands.gwas_design import covariate_design, expand_columns
from edfgen.kernels.association import (inverse_normal_transform, linear_association, missingness_groups,
                                         prepare_phenotypes)
from edfgen.kernels.logistic import logistic_association, prepare_logistic, separated
from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.formats.dictionary import check_file

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
NO_QC = QCSettings(maf=0.0, call_rate=0.0, hwe_p=0.0, sample_call_rate=0.0)


def make_cohort(d: Path, *, n=500, m=1200, p=5, seed=1, miss=0.005) -> Path:
    """PLINK genotypes (two populations, ~0.5% missing calls, every 7th early variant complete),
    quantitative phenotypes with missing values, covariates with a categorical centre and a few
    missing ages, and two binary outcomes."""
    from bed_reader import to_bed

    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pop = rng.integers(0, 2, n)
    f = rng.uniform(0.05, 0.5, m)
    fp = np.clip(f + rng.normal(0, 0.05, (2, m)), 0.02, 0.98)
    G = rng.binomial(2, fp[pop]).astype(float)
    G[rng.random((n, m)) < miss] = np.nan
    complete = np.zeros(m, dtype=bool)
    complete[: m // 2 : 7] = True
    G[:, complete] = np.nan_to_num(G[:, complete], nan=1.0)
    iid = np.array([f"S{i:04d}" for i in range(n)])
    to_bed(d / "g.bed", G.astype(np.float32), count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": [f"rs{i + 1}" for i in range(m)],
        "chromosome": np.repeat(["1", "2"], m // 2), "bp_position": np.tile(np.arange(1, m // 2 + 1) * 1000, 2),
        "allele_1": rng.choice(list("AC"), m), "allele_2": rng.choice(list("GT"), m)})
    age, sex, centre = rng.normal(50, 10, n), rng.integers(0, 2, n), rng.choice(["A", "B", "C"], n)
    g0 = G[:, 7]  # a complete-call variant with an effect on edf_001 and the outcomes
    Y = rng.normal(size=(n, p)) + 0.01 * age[:, None] + 0.3 * sex[:, None] + 0.2 * (centre == "B")[:, None]
    Y[:, 0] += 0.6 * g0
    for j in range(1, p, 2):
        Y[rng.random(n) < 0.1, j] = np.nan
    ph = pd.DataFrame(Y, columns=[f"edf_{j + 1:03d}" for j in range(p)])
    ph.insert(0, "IID", iid)
    ph.to_csv(d / "pheno.tsv", sep="\t", index=False, na_rep="NA")
    cv = pd.DataFrame({"IID": iid, "age": age, "sex": sex, "centre": centre})
    cv.loc[rng.choice(n, 5, replace=False), "age"] = np.nan
    cv.to_csv(d / "covar.tsv", sep="\t", index=False, na_rep="NA")
    lin = -1.0 + 0.9 * g0[:, None] + 0.01 * (age[:, None] - 50)
    B = (rng.random((n, 2)) < 1 / (1 + np.exp(-lin))).astype(float)
    B[rng.random(n) < 0.05, 1] = np.nan
    pd.DataFrame({"IID": iid, "cad": B[:, 0], "af": B[:, 1]}).to_csv(d / "outcomes.tsv", sep="\t", index=False,
                                                                     na_rep="NA")
    return d


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    return make_cohort(tmp_path_factory.mktemp("gwas_cohort"))


@pytest.fixture(scope="module")
def small_bfile(cohort) -> str:
    """The first 200 variants (binary tests: Hail's logistic regression is per-variant Newton)."""
    sub = cohort / "small"
    subprocess.run(["plink2", "--bfile", str(cohort / "g"), "--extract", "range", "/dev/stdin", "--make-bed",
                    "--out", str(sub), "--silent"], input="1 1 200000 r\n", text=True, check=True)
    return str(sub)


@pytest.fixture(scope="module")
def fast_run(cohort, tmp_path_factory):
    out = tmp_path_factory.mktemp("gwas_fast") / "out"
    res = run_gwas(GenotypeSource(bfile=str(cohort / "g")), cohort / "pheno.tsv", cohort / "covar.tsv", out,
                   covar_cols=["age", "sex", "centre"], qc=NO_QC, settings=GwasSettings(plots_max=2))
    return out, res


def _blom(x):
    ok = ~np.isnan(x)
    out = np.full(len(x), np.nan)
    r = stats.rankdata(x[ok])  # average ranks for ties
    out[ok] = stats.norm.ppf((r - 0.375) / (ok.sum() + 0.25))
    return out


def test_inverse_normal_transform__blom_ranks_ties_and_missing():
    x = np.array([3.0, 1.0, np.nan, 2.0, 2.0, 10.0])
    got = inverse_normal_transform(x)
    np.testing.assert_allclose(got, _blom(x), rtol=1e-12)
    assert np.isnan(got[2]) and got[3] == got[4]
    Y = np.random.default_rng(0).normal(size=(50, 3))
    np.testing.assert_allclose(inverse_normal_transform(Y)[:, 1], _blom(Y[:, 1]))


def test_expand_columns__ranges():
    assert expand_columns(["age", "PC1..PC3", "x2..4"]) == ["age", "PC1", "PC2", "PC3", "x2", "x3", "x4"]
    assert expand_columns(["edf_009..edf_011"]) == ["edf_009", "edf_010", "edf_011"]


def test_covariate_design__indicators_drop_first_level_and_intercept():
    t = pd.DataFrame({"IID": list("abcde"), "age": [1.0, 2, 3, np.nan, 5], "centre": ["B", "A", "C", "A", "B"],
                      "batch": [1, 2, 1, 2, 1]})
    d = covariate_design(t, ["age", "centre", "batch"], categorical=["batch"])
    assert d.columns == ["intercept", "age", "centre=B", "centre=C", "batch=2"]
    ref = pd.get_dummies(t[["centre"]].astype(str), drop_first=True, dtype=float).to_numpy()
    np.testing.assert_array_equal(d.matrix[[0, 1, 2, 4]][:, 2:4], ref[[0, 1, 2, 4]])
    assert np.isnan(d.matrix[3]).all() and (d.matrix[[0, 1, 2, 4], 0] == 1).all()
    with pytest.raises(InputError, match="covar.tsv: covariate column\\(s\\) PC1"):
        covariate_design(t, ["PC1..PC2"], source="covar.tsv")
    t = t.assign(PC1=[0.1, 0.2, 0.3, 0.4, 0.5], PC2=[1.0, 0.0, 1.0, 2.0, 0.0])
    with pytest.raises(InputError, match=r"covar.tsv: covariate\(s\) PC1 listed twice in the covariate columns "
                                         r"\(age, PC1..PC2, PC1\)"):
        covariate_design(t, ["age", "PC1..PC2", "PC1"], source="covar.tsv")


def test_covariate_design__a_categorical_column_outside_the_covariates_is_refused():
    """Review s31d #5: `--covariates age,sex --categorical centre` left centre out of the model, silently."""
    t = pd.DataFrame({"IID": list("abcd"), "age": [1.0, 2, 3, 4], "sex": [0, 1, 0, 1], "centre": list("ABAB")})
    with pytest.raises(InputError, match=r"^--categorical centre: not among --covariates age,sex; add it there$"):
        covariate_design(t, ["age", "sex"], categorical=["centre"])
    assert covariate_design(t, ["age", "centre"], categorical=["centre"]).columns == ["intercept", "age", "centre=B"]
    assert "centre=B" in covariate_design(t, None, categorical=["centre"]).columns      # default: every column


def test_covariate_design__a_cut_has_list_says_how_many_more():
    """Review s31d #8: `(has: IID, ..., PC8)` cut at 15 names read as if PC9 and PC10 were absent."""
    from edfgen.commands.gwas_design import select_phenotypes

    t = pd.DataFrame({"IID": ["a", "b"], "age": [1.0, 2], **{f"PC{i}": [0.1, 0.2 * i] for i in range(1, 21)}})
    with pytest.raises(InputError, match=r"PC21 not found \(has: IID, age, PC1, .*, PC13, … and 7 more\); genotype PCs"):
        covariate_design(t, ["age", "PC21"], source="covar.tsv")
    with pytest.raises(InputError, match=r"edf_1 not found \(has: IID, age, PC1, .*, PC13, … and 7 more\)$"):
        select_phenotypes(t, columns=["edf_1"])


def test_gwas_cli__a_0_1_phenotype_without_binary_is_warned_and_no_covar_says_no_covariates(cohort, tmp_path):
    """Review s31d #4: a 0/1 outcome table without --binary ran a linear GWAS of the rank-INT of 0/1 without a
    word; now a warning names the columns and --binary (a linear model of 0/1 stays allowed). #10: without
    --covar the sample line said "500 in covariates (500 complete)"; now "no covariates"."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    r = CliRunner().invoke(cli, ["gwas", "--bfile", str(cohort / "g"), "--pheno", str(cohort / "outcomes.tsv"),
                                 "--no-plots", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    warned = [ln for ln in r.output.splitlines() if "only two values" in ln]
    assert warned and "phenotype(s) cad, af hold only two values (0/1 or 1/2)" in warned[0] and "--binary" in warned[0]
    assert "no covariates, " in r.output and "in covariates" not in r.output
    r = CliRunner().invoke(cli, ["gwas", "--bfile", str(cohort / "g"), "--pheno", str(cohort / "outcomes.tsv"),
                                 "--categorical", "centre", "--out", str(tmp_path / "c")])
    assert r.exit_code == 2 and "--categorical needs --covar FILE" in r.output, r.output
    r = CliRunner().invoke(cli, ["gwas", "--bfile", str(cohort / "g"), "--pheno", str(cohort / "outcomes.tsv"),
                                 "--binary", "--no-plots", "--out", str(tmp_path / "b")])
    assert r.exit_code == 0 and "only two values" not in r.output, r.output


def test_gwas_cli__interprets_measured_biomarkers_with_every_pr_present(cohort, tmp_path):
    """Review s40ecg #1: `edfgen interpret`'s measured_biomarkers.tsv, every record with a PR, has an all-empty
    pr_missing_reason; read back as an all-NaN float column it was picked as a phenotype and `edfgen gwas --pheno`
    (and `edfgen run`'s biomarker GWAS) failed: "phenotype 'pr_missing_reason' has no values in the 500 analysed
    samples". It is a note, never a phenotype (another all-empty column stays refused in one line naming it:
    test_bad_input's all-missing phenotype)."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    ph = pd.read_csv(cohort / "pheno.tsv", sep="\t")[["IID", "edf_001", "edf_002"]]
    ph = ph.rename(columns={"edf_001": "heart_rate_bpm", "edf_002": "pr_interval_ms"}).assign(pr_missing_reason="")
    ph.to_csv(tmp_path / "measured_biomarkers.tsv", sep="\t", index=False)
    r = CliRunner().invoke(cli, ["gwas", "--bfile", str(cohort / "g"), "--pheno", str(tmp_path / "measured_biomarkers.tsv"),
                                 "--no-plots", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    summary = pd.read_csv(tmp_path / "o" / "gwas_summary.tsv", sep="\t")
    assert set(summary.iloc[:, 0]) == {"heart_rate_bpm", "pr_interval_ms"}, summary


def test_docs__effect_allele_is_bim_column_5_the_a1_of_glm_omit_ref():
    """Review s32f #3: "effect allele = PLINK A1" read as plink2 --glm's A1, which by default is the minor allele
    (14 % of a cohort's rows had the other allele and sign). The dictionary and README name omit-ref."""
    from edfgen.formats.dictionary import DICTIONARY_DIR, load_entry

    for entry in ("sumstats", "pca_variants"):
        d = load_entry(entry).set_index("column")["description"]
        assert "plink2 ALT" in d["effect_allele"] and "omit-ref" in d["effect_allele"], entry
    readme = (DICTIONARY_DIR.parent / "README.md").read_text()
    assert readme.count("omit-ref") >= 2 and "default A1 is the minor" in readme


def test_linear_association__matches_statsmodels_per_phenotype_and_missing_mode():
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    n, m = 120, 6
    C = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
    G = rng.binomial(2, 0.3, (n, m)).astype(float)
    G[rng.random((n, m)) < 0.05] = np.nan
    Y = rng.normal(size=(n, 3)) + 0.3 * np.nan_to_num(G[:, :1])
    Y[:15, 1] = np.nan
    prep = prepare_phenotypes(Y, C)
    assert len(missingness_groups(Y)) == 2
    called = ~np.isnan(G)
    stats_ = (called.sum(0), np.nansum(G, 0), np.nansum(G ** 2, 0))
    for mode, cs in (("mean-impute", None), ("drop", None), ("mean-impute", stats_), ("drop", stats_)):
        r = linear_association(G, prep, missing_genotypes=mode, call_stats=cs)
        for j in range(m):
            for p in range(3):
                ok = ~np.isnan(Y[:, p])
                g = G[ok, j]
                if mode == "drop":
                    sel = ~np.isnan(g)
                    X, y = np.column_stack([C[ok][sel], g[sel]]), Y[ok, p][sel]
                else:
                    X, y = np.column_stack([C[ok], np.where(np.isnan(g), np.nanmean(g), g)]), Y[ok, p]
                fit = sm.OLS(y, X).fit()
                np.testing.assert_allclose([r.beta[j, p], r.standard_error[j, p], r.p_value[j, p]],
                                           [fit.params[-1], fit.bse[-1], fit.pvalues[-1]], rtol=1e-9)
                assert r.n[j, p] == len(y)


def _plink2_inputs(cohort: Path, d: Path, pheno: pd.DataFrame) -> tuple[Path, Path]:
    cv = pd.read_csv(cohort / "covar.tsv", sep="\t")
    cv = pd.get_dummies(cv, columns=["centre"], drop_first=True, dtype=float)
    cv.insert(0, "#FID", cv["IID"])
    cv.to_csv(d / "covar.p2", sep="\t", index=False, na_rep="NA")
    pheno = pheno.copy()
    pheno.insert(0, "#FID", pheno["IID"])
    pheno.to_csv(d / "pheno.p2", sep="\t", index=False, na_rep="NA")
    return d / "pheno.p2", d / "covar.p2"


def _close_to_printed(ours: np.ndarray, printed: np.ndarray) -> np.ndarray:
    """plink2 prints 6 significant digits: |ours - printed| within half a unit of the 6th digit (+1e-6 rel)."""
    ulp = 10.0 ** (np.floor(np.log10(np.abs(printed))) - 5)
    return np.abs(ours - printed) <= 0.5 * ulp * (1 + 1e-9) + 1e-6 * np.abs(printed)


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_run_gwas__matches_plink2_glm(cohort, fast_run, tmp_path):
    """Default run (inverse-normal y, mean-impute) vs plink2 on complete-call variants, and
    --missing-genotypes drop vs plink2 on every variant. Both tools see the same transformed y."""
    out, res = fast_run
    used = pd.read_csv(out / "samples.tsv", sep="\t", dtype=str)["IID"]
    ph = pd.read_csv(cohort / "pheno.tsv", sep="\t", dtype={"IID": str}).set_index("IID").loc[used]
    ph = ph.apply(lambda c: _blom(c.to_numpy()), axis=0).reset_index()   # independent INT
    pfile, cfile = _plink2_inputs(cohort, tmp_path, ph)
    keep = tmp_path / "keep.txt"
    keep.write_text("".join(f"{i}\t{i}\n" for i in used))
    subprocess.run(["plink2", "--bfile", str(cohort / "g"), "--pheno", str(pfile), "--covar", str(cfile),
                    "--keep", str(keep), "--glm", "hide-covar", "--threads", "2", "--silent",
                    "--out", str(tmp_path / "p2")], check=True)
    drop = tmp_path / "drop"
    run_gwas(GenotypeSource(bfile=str(cohort / "g")), cohort / "pheno.tsv", cohort / "covar.tsv", drop,
             covar_cols=["age", "sex", "centre"], qc=NO_QC,
             settings=GwasSettings(missing_genotypes="drop", plots=False))
    for name in res.phenotypes:
        p2 = pd.read_csv(tmp_path / f"p2.{name}.glm.linear", sep="\t")
        for d, complete_only in ((out, True), (drop, False)):
            ours = pd.read_csv(d / f"{name}.tsv.gz", sep="\t")
            m = ours.merge(p2, left_on="variant_id", right_on="ID", validate="1:1")
            assert len(m) == len(ours) == len(p2)
            if complete_only:
                m = m[m["OBS_CT"] == m["OBS_CT"].max()]
                assert len(m) >= 80
            sign = np.where(m["effect_allele"] == m["A1"], 1.0, -1.0)
            # the effect allele is .bim column 5 = plink2's ALT (the A1 of --glm omit-ref), also where plink2's
            # default A1 (the minor allele) is REF: there its BETA has the other sign (review s32f #3)
            assert (m["effect_allele"] == m["ALT"]).all() and (m["other_allele"] == m["REF"]).all()
            assert (m["A1"] == m["REF"]).any() and (m["A1"] == m["ALT"]).any()
            assert (m["n"] == m["OBS_CT"]).all()
            for col, ref in (("beta", m["BETA"] * sign), ("standard_error", m["SE"]), ("p_value", m["P"])):
                ok = _close_to_printed(m[col].to_numpy(), ref.to_numpy())
                assert ok.all(), (name, col, m.loc[~ok, [col]].head(), ref[~ok].head())


@pytest.mark.parametrize("chained_above", [8, 0], ids=["per-group", "chained"])
def test_run_gwas__fast_engine_matches_hail_linear_regression_rows(hail_context, cohort, fast_run, tmp_path,
                                                                    monkeypatch, chained_above):
    """Both Hail forms (one plain-list call per missingness pattern; one chained list-of-lists call)."""
    import edfgen.engines.hail_gwas as gw

    monkeypatch.setattr(gw, "CHAINED_ABOVE_GROUPS", chained_above)
    out, res = fast_run
    hail_out = tmp_path / "hail"
    persisted = Path(hail_context.tmp_dir()).glob("persist_*")
    before = sorted(p.name for p in persisted)
    r2 = run_gwas(GenotypeSource(bfile=str(cohort / "g")), cohort / "pheno.tsv", cohort / "covar.tsv", hail_out,
                  covar_cols=["age", "sex", "centre"], qc=NO_QC, settings=GwasSettings(engine="hail", plots=False))
    assert r2.engine == "hail" and res.engine == "fast"
    # review s33d F7: linear_regression_rows' persisted result tables (variants x phenotypes) were left behind
    assert sorted(p.name for p in Path(hail_context.tmp_dir()).glob("persist_*")) == before
    for name in res.phenotypes:
        a = pd.read_csv(out / f"{name}.tsv.gz", sep="\t")
        b = pd.read_csv(hail_out / f"{name}.tsv.gz", sep="\t")
        m = a.merge(b, on=["variant_id", "effect_allele", "other_allele"], validate="1:1")
        assert len(m) == len(a)
        for col in ("beta", "standard_error", "p_value", "effect_allele_frequency"):
            np.testing.assert_allclose(m[col + "_x"], m[col + "_y"], rtol=1e-6)
        np.testing.assert_array_equal(m["n_x"], m["n_y"])


def test_run_gwas__outputs_dictionary_manifest_and_missingness(cohort, fast_run):
    out, res = fast_run
    ph = pd.read_csv(cohort / "pheno.tsv", sep="\t", dtype={"IID": str}).set_index("IID")
    used = pd.read_csv(out / "samples.tsv", sep="\t", dtype=str)["IID"]
    summary = pd.read_csv(out / "gwas_summary.tsv", sep="\t").set_index("phenotype")
    for name in res.phenotypes:
        f = out / f"{name}.tsv.gz"
        check_file("sumstats", f)
        ss = pd.read_csv(f, sep="\t")
        assert (np.diff(ss["base_pair_location"][ss["chromosome"] == 1]) > 0).all()
        # per-phenotype missingness: n = samples with this phenotype, none lost to other phenotypes
        assert ss["n"].max() == ph.loc[used, name].notna().sum() == summary.loc[name, "n"]
    assert summary.loc["edf_001", "n_significant"] >= 1
    assert summary.loc["edf_001", "n"] > summary.loc["edf_002", "n"]
    check_file("gwas_summary", out / "gwas_summary.tsv")
    check_file("qc_report", out / "qc_report.tsv")
    check_file("gwas_samples", out / "samples.tsv")
    # the metadata lists the covariates as named, centre once, not its indicator columns (review s32f #4)
    import yaml

    meta = yaml.safe_load((out / "edf_001.tsv.gz-meta.yaml").read_text())
    assert meta["adjusted_covariates"] == ["age", "sex", "centre"]
    man = json.loads((out / "manifest.json").read_text())
    assert man["extra"]["samples"] == {"genotypes": 500, "phenotypes": 500, "covariates": 500,
                                       "complete_covariates": 495, "overlap": 495, "used": 495, "withdrawn": 0}
    assert man["parameters"]["transform"] == "inverse-normal"
    assert man["parameters"]["covariates"] == ["intercept", "age", "sex", "centre=B", "centre=C"]
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == ["combined_min_p.manhattan.npz", "combined_min_p.manhattan.png", "edf_001.manhattan.png",
                     "edf_001.qq.png", "edf_002.manhattan.png", "edf_002.qq.png"]
    # the combined plot's points, from which the report redraws it with gene labels
    with np.load(out / "plots" / "combined_min_p.manhattan.npz") as z:
        assert z["points"].dtype == np.uint8 and set(np.unique(z["points"])) <= {0, 1, 2} and z["points"].any()
        assert list(z["chromosomes"]) == sorted({str(c) for c in ss["chromosome"]}, key=int)


def test_run_gwas__too_few_or_duplicated_samples_is_input_error(cohort, tmp_path):
    ph = pd.read_csv(cohort / "pheno.tsv", sep="\t")
    ph.assign(IID="X" + ph["IID"]).to_csv(tmp_path / "other.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"only 0 samples .*other\.tsv"):
        run_gwas(GenotypeSource(bfile=str(cohort / "g")), tmp_path / "other.tsv", cohort / "covar.tsv",
                 tmp_path / "o1")
    with pytest.raises(InputError, match=r"other\.tsv\) and covariates \(none given\) with complete"):  # was (None)
        run_gwas(GenotypeSource(bfile=str(cohort / "g")), tmp_path / "other.tsv", None, tmp_path / "o1")
    ph.assign(**{"a b": 1.0, "a/b": 2.0}).to_csv(tmp_path / "clash.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"clash\.tsv: phenotype columns \['a b', 'a/b'\] give the same file name a_b"):
        run_gwas(GenotypeSource(bfile=str(cohort / "g")), tmp_path / "clash.tsv", cohort / "covar.tsv",
                 tmp_path / "o3")
    pd.concat([ph, ph.head(1)]).to_csv(tmp_path / "dup.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"dup\.tsv: duplicated IID"):
        run_gwas(GenotypeSource(bfile=str(cohort / "g")), tmp_path / "dup.tsv", cohort / "covar.tsv",
                 tmp_path / "o2")


def test_run_gwas__missing_genotypes_drop_refusals_name_the_real_reason(cohort, tmp_path):
    """Review s32f: --binary --missing-genotypes drop was refused with "Hail mean-imputes missing calls" although
    the fast engine ran; the reason is the logistic model. Hail's refusal names Hail."""
    with pytest.raises(InputError) as err:
        run_gwas(GenotypeSource(bfile=str(cohort / "g")), cohort / "outcomes.tsv", cohort / "covar.tsv", tmp_path / "b",
                 settings=GwasSettings(binary=True, missing_genotypes="drop", plots=False))
    assert "drop is for the linear model: --binary's logistic tests mean-impute" in str(err.value)
    assert "Hail" not in str(err.value)
    with pytest.raises(InputError, match="drop is implemented in the fast engine, not hail"):
        run_gwas(GenotypeSource(bfile=str(cohort / "g")), cohort / "pheno.tsv", cohort / "covar.tsv", tmp_path / "h",
                 settings=GwasSettings(engine="hail", missing_genotypes="drop", plots=False))


def test_run_gwas__binary_wald_matches_statsmodels_logit(hail_context, cohort, small_bfile, tmp_path):
    """Hail logistic Wald vs statsmodels Logit (complete-call variants; rtol 1e-4: both stop Newton
    at ~1e-6 change). Hail mean-imputes missing calls, so only complete-call variants are compared."""
    import statsmodels.api as sm

    out = tmp_path / "bin"
    res = run_gwas(GenotypeSource(bfile=small_bfile), cohort / "outcomes.tsv", cohort / "covar.tsv", out,
                   covar_cols=["age", "sex", "centre"], qc=NO_QC,
                   settings=GwasSettings(binary=True, engine="hail", plots=False))
    assert res.engine == "hail"
    used = pd.read_csv(out / "samples.tsv", sep="\t", dtype=str)["IID"]
    from bed_reader import open_bed

    bed = open_bed(cohort / "g.bed")
    iids = pd.Index(bed.iid.astype(str))
    rows = iids.get_indexer(used)
    cv = pd.read_csv(cohort / "covar.tsv", sep="\t", dtype={"IID": str}).set_index("IID").loc[used]
    X0 = np.column_stack([np.ones(len(used)), cv["age"], cv["sex"], cv["centre"] == "B", cv["centre"] == "C"])
    oc = pd.read_csv(cohort / "outcomes.tsv", sep="\t", dtype={"IID": str}).set_index("IID").loc[used]
    for name in ("cad", "af"):
        ss = pd.read_csv(out / f"{name}.tsv.gz", sep="\t").set_index("variant_id")
        check_file("sumstats", out / f"{name}.tsv.gz")
        y = oc[name].to_numpy()
        ok = ~np.isnan(y)
        for vid in ("rs8", "rs15", "rs29"):  # complete-call variants; rs8 carries the planted effect
            g = bed.read(index=np.s_[rows, int(vid[2:]) - 1], dtype="float64")[:, 0]
            fit = sm.Logit(y[ok], np.column_stack([X0[ok].astype(float), g[ok]])).fit(disp=0, tol=1e-10)
            np.testing.assert_allclose(ss.loc[vid, ["beta", "standard_error", "p_value"]].to_numpy(float),
                                       [fit.params[-1], fit.bse[-1], fit.pvalues[-1]], rtol=1e-4)
            assert ss.loc[vid, "n"] == ok.sum()
    assert pd.read_csv(out / "cad.tsv.gz", sep="\t").set_index("variant_id").loc["rs8", "p_value"] < 1e-3


def _firth_reference(X, y, iters=200):
    """Naive Firth-penalised logistic regression (Heinze & Schemper 2002, as R logistf): the restricted
    model fixes the last coefficient at 0 but keeps the full-model Jeffreys penalty; LRT between the two."""
    def fit(free):
        b = np.zeros(X.shape[1])
        for _ in range(iters):
            mu = 1 / (1 + np.exp(-X @ b))
            W = mu * (1 - mu)
            inv_full = np.linalg.inv(X.T @ (X * W[:, None]))
            h = np.einsum("ij,jk,ik->i", X * W[:, None], inv_full, X)
            U = X.T @ (y - mu + h * (0.5 - mu))
            Xf = X[:, free]
            step = np.linalg.solve(Xf.T @ (Xf * W[:, None]), U[free])
            b[free] += step
            if np.abs(step).max() < 1e-11:
                break
        mu = 1 / (1 + np.exp(-X @ b))
        W = mu * (1 - mu)
        return b, (y * np.log(mu) + (1 - y) * np.log(1 - mu)).sum() + 0.5 * np.linalg.slogdet(X.T @ (X * W[:, None]))[1]
    k = X.shape[1]
    b, ll1 = fit(np.arange(k))
    _, ll0 = fit(np.arange(k - 1))
    return b[-1], stats.chi2.sf(2 * (ll1 - ll0), 1)


def test_run_gwas__binary_firth_matches_naive_firth(hail_context, cohort, small_bfile, tmp_path):
    from bed_reader import open_bed

    tiny, out = tmp_path / "tiny", tmp_path / "firth"  # Firth fits two models per variant: 30 variants
    subprocess.run(["plink2", "--bfile", small_bfile, "--extract", "range", "/dev/stdin", "--make-bed",
                    "--out", str(tiny), "--silent"], input="1 1 30000 r\n", text=True, check=True)
    run_gwas(GenotypeSource(bfile=str(tiny)), cohort / "outcomes.tsv", None, out, pheno_cols=["cad"], qc=NO_QC,
             settings=GwasSettings(binary=True, logistic_test="firth", plots=False))
    ss = pd.read_csv(out / "cad.tsv.gz", sep="\t").set_index("variant_id")
    # Hail's Firth path has no fallback: no firth_refit row nor firth column; Firth fits that do not converge
    # (Hail returns missing) are refitted by edfgen's, left out and counted in fit_failed where that fails too
    qc = pd.read_csv(out / "qc_report.tsv", sep="\t").set_index("filter")
    assert qc.index[-1] == "fit_failed" and "firth_refit" not in qc.index and "firth" not in ss.columns
    assert qc.loc["fit_failed", "removed"] == qc.loc["hwe", "remaining"] - len(ss)
    assert np.isfinite(ss[["beta", "standard_error", "p_value"]].to_numpy()).all()
    bed = open_bed(cohort / "g.bed")
    y = pd.read_csv(cohort / "outcomes.tsv", sep="\t")["cad"].to_numpy()
    for vid in ("rs8", "rs15"):
        g = bed.read(index=np.s_[:, int(vid[2:]) - 1], dtype="float64")[:, 0]
        beta, p = _firth_reference(np.column_stack([np.ones(len(y)), g]), y)
        np.testing.assert_allclose(ss.loc[vid, ["beta", "p_value"]].to_numpy(float), [beta, p], rtol=1e-4)


def test_gwas_cli__runs_and_reports_counts(cohort, tmp_path):
    from click.testing import CliRunner

    from edfgen.cli import cli

    r = CliRunner().invoke(cli, ["gwas", "--bfile", str(cohort / "g"), "--pheno", str(cohort / "pheno.tsv"),
                                 "--pheno-cols", "edf_001..edf_002", "--covar", str(cohort / "covar.tsv"),
                                 "--covar-cols", "age,sex,centre", "--no-plots", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "495 used after QC" in r.output
    assert sorted(p.name for p in (tmp_path / "o").glob("*.tsv.gz")) == ["edf_001.tsv.gz", "edf_002.tsv.gz"]
    r = CliRunner().invoke(cli, ["gwas", "--bfile", str(cohort / "g"), "--pheno", str(cohort / "pheno.tsv"),
                                 "--covar", str(cohort / "covar.tsv"), "--covar-cols", "PC1..PC3",
                                 "--out", str(tmp_path / "o2")])
    assert r.exit_code == 2 and "covar.tsv: covariate column(s) PC1, PC2, PC3 not found" in r.output


def test_run_gwas__recovers_planted_loci_in_simulated_cohort(sim_cohort, tmp_path):
    """End to end on the simulated cohort (default QC and inverse-normal transform): planted variants
    reach p < 5e-8 with the planted sign (effect allele = truth effect allele = PLINK A1)."""
    truth = json.loads((sim_cohort / "truth.json").read_text())
    loci = pd.DataFrame(truth["loci"])
    traits = ["heart_rate_bpm", "qt_interval_ms", "qrs_duration_ms"]
    out = tmp_path / "sim"
    res = run_gwas(GenotypeSource(bfile=str(sim_cohort / "genotypes")), sim_cohort / "physiology.tsv",
                   sim_cohort / "covariates.tsv", out, pheno_cols=traits, covar_cols=["age", "sex", "centre"],
                   settings=GwasSettings(plots_max=1))
    assert res.engine == "fast" and res.samples.used == truth["n"]
    hits, total = 0, 0
    for trait in traits:
        ss = pd.read_csv(out / f"{trait}.tsv.gz", sep="\t").set_index("variant_id")
        planted = loci[loci["trait"] == trait]
        for row in planted.itertuples():
            if row.variant_id not in ss.index:  # removed by QC
                continue
            total += 1
            r = ss.loc[row.variant_id]
            sign = 1 if r["effect_allele"] == row.effect_allele else -1
            hits += bool(r["p_value"] < 5e-8 and np.sign(sign * r["beta"]) == np.sign(row.beta))
    assert total >= 5 and hits / total >= 0.8
    assert (res.summary["lambda_gc"].between(0.8, 1.3)).all()
    assert (out / "plots" / "heart_rate_bpm.manhattan.png").stat().st_size > 1000


def test_run_gwas__sample_call_rate_failures_take_the_two_pass_path(cohort, fast_run, tmp_path):
    """When samples fail the call rate, QC runs first and association uses only the passing samples."""
    from bed_reader import open_bed

    with open_bed(cohort / "g.bed") as bed:
        G = bed.read(dtype="float32")
        iid = bed.iid.astype(str)
    cov = pd.read_csv(cohort / "covar.tsv", sep="\t", dtype={"IID": str})
    complete = set(cov["IID"][cov.notna().all(axis=1)])
    rate = (~np.isnan(G)).mean(1)
    expected = [i for i, r in zip(iid, rate) if r >= 0.9955 and i in complete]
    assert 50 < len(expected) < len(complete)
    out = tmp_path / "scr"
    res = run_gwas(GenotypeSource(bfile=str(cohort / "g")), cohort / "pheno.tsv", cohort / "covar.tsv", out,
                   pheno_cols=["edf_001"], covar_cols=["age", "sex", "centre"],
                   qc=QCSettings(sample_call_rate=0.9955, maf=0, call_rate=0, hwe_p=0),
                   settings=GwasSettings(plots=False))
    assert list(pd.read_csv(out / "samples.tsv", sep="\t", dtype=str)["IID"]) == expected
    qc = pd.read_csv(out / "qc_report.tsv", sep="\t").set_index("filter")
    assert qc.loc["sample_call_rate", "removed"] == len(complete) - len(expected)
    assert pd.read_csv(out / "edf_001.tsv.gz", sep="\t")["n"].max() == len(expected) == res.samples.used


# ----------------------------------------------------------------------------------------------
# fast logistic (Wald) engine
# ----------------------------------------------------------------------------------------------
def test_logistic_association__matches_statsmodels_and_separation_gives_nan():
    """Kernel vs statsmodels Logit (mean-imputed calls, a phenotype with its own samples); a variant that
    separates cases from controls and a monomorphic one give NaN (not converged), not a crash."""
    import statsmodels.api as sm

    rng = np.random.default_rng(3)
    n, m = 400, 40
    C = np.column_stack([np.ones(n), rng.normal(size=n), rng.integers(0, 2, n)])
    G = rng.binomial(2, rng.uniform(0.1, 0.5, m), (n, m)).astype(float)
    G[rng.random((n, m)) < 0.02] = np.nan
    lin = -0.5 + 0.4 * C[:, 1] + 0.7 * np.nan_to_num(G[:, 0], nan=1.0)
    Y = (rng.random((n, 2)) < 1 / (1 + np.exp(-lin[:, None]))).astype(float)
    Y[rng.random(n) < 0.15, 1] = np.nan
    G[:, 5] = 2.0 * Y[:, 0]                   # perfectly separates the cases of phenotype 0
    G[:, 6] = 1.0                              # monomorphic
    r = logistic_association(G, prepare_logistic(Y, C))
    assert np.isnan(r.beta[5, 0]) and np.isnan(r.p_value[5, 0]) and not r.converged[5, 0]
    assert np.isnan(r.beta[6]).all() and not r.converged[6].any()
    assert r.converged[[0, 1, 2, 3, 4, 7, 8]].all()
    for j in (0, 1, 2, 9):
        for p in (0, 1):
            ok = ~np.isnan(Y[:, p])
            g = G[ok, j].copy()
            g[np.isnan(g)] = np.nanmean(g)
            fit = sm.Logit(Y[ok, p], np.column_stack([C[ok], g])).fit(disp=0, tol=1e-12)
            np.testing.assert_allclose([r.beta[j, p], r.standard_error[j, p], r.p_value[j, p]],
                                       [fit.params[-1], fit.bse[-1], fit.pvalues[-1]], rtol=1e-5)
            assert r.n[j, p] == ok.sum()
            np.testing.assert_allclose(r.effect_allele_frequency[j, p], np.nanmean(G[ok, j]) / 2)


def test_run_gwas__fast_binary_engine_matches_hail_logistic_wald(hail_context, sim_cohort, tmp_path):
    """The simulated cohort's outcomes (one with 10% missing values) on 400 variants: fast engine (chosen
    by --engine auto) vs Hail logistic_regression_rows Wald, rtol 1e-5 (complete-call variants, then all)."""
    from bed_reader import open_bed

    bim = pd.read_csv(sim_cohort / "genotypes.bim", sep="\t", header=None)
    (tmp_path / "ids.txt").write_text("\n".join(bim[1].iloc[:400]) + "\n")
    sub = tmp_path / "sub"
    subprocess.run(["plink2", "--bfile", str(sim_cohort / "genotypes"), "--extract", str(tmp_path / "ids.txt"),
                    "--make-bed", "--out", str(sub), "--silent"], check=True)
    oc = pd.read_csv(sim_cohort / "outcomes.tsv", sep="\t", dtype={"IID": str})
    names = ["AF", "LBBB", "MI"]
    oc.loc[np.random.default_rng(0).random(len(oc)) < 0.1, "LBBB"] = np.nan
    oc[["IID", *names]].to_csv(tmp_path / "oc.tsv", sep="\t", index=False, na_rep="NA")
    runs = {}
    for engine in ("auto", "hail"):
        res = run_gwas(GenotypeSource(bfile=str(sub)), tmp_path / "oc.tsv", sim_cohort / "covariates.tsv",
                       tmp_path / engine, covar_cols=["age", "sex"], qc=NO_QC,
                       settings=GwasSettings(binary=True, engine=engine, plots=False))
        runs[engine] = res
    assert runs["auto"].engine == "fast" and runs["hail"].engine == "hail"
    used = pd.read_csv(tmp_path / "auto" / "samples.tsv", sep="\t", dtype=str)["IID"]
    with open_bed(f"{sub}.bed") as bed:
        G = bed.read(index=np.s_[pd.Index(bed.iid.astype(str)).get_indexer(used), :], dtype="float32")
        complete = set(bed.sid[~np.isnan(G).any(0)])
        sid = bed.sid
    assert 50 < len(complete) < 400
    left_out = {"auto": 0, "hail": 0}
    for name in names:
        a = pd.read_csv(tmp_path / "auto" / f"{name}.tsv.gz", sep="\t")
        b = pd.read_csv(tmp_path / "hail" / f"{name}.tsv.gz", sep="\t")
        left_out["hail"] += 400 - len(b)
        # Hail keeps fits whose called genotypes separate cases from controls (mean-imputed missing calls in
        # cases make them finite, with huge SEs); edfgen fails them as plink2 does (review s31b)
        y = oc.set_index("IID").loc[used, name].to_numpy(float)
        sep = set(sid[separated(G[~np.isnan(y)], y[~np.isnan(y)])])
        b = b[~b["variant_id"].isin(sep)]
        check_file("sumstats", tmp_path / "auto" / f"{name}.tsv.gz")
        m = a.merge(b, on=["variant_id", "effect_allele", "other_allele"], validate="1:1")
        # fits without an estimate are left out of the files (the GWAS Catalog refuses NA), the same in both
        assert len(m) == len(a) == len(b) <= 400 and a[["beta", "standard_error", "p_value"]].notna().all().all()
        left_out["auto"] += 400 - len(a)
        np.testing.assert_array_equal(m["n_x"], m["n_y"])
        expected_n = oc.set_index("IID").loc[used, name].notna().sum()
        assert (m["n_x"] == expected_n).all()
        # rare variants without carriers among the cases (quasi-separation) do not converge in either engine
        np.testing.assert_array_equal(m["beta_x"].isna(), m["beta_y"].isna())
        c = m[m["variant_id"].isin(complete) & m["beta_y"].notna()]
        assert len(c) > 0.8 * len(complete)
        for col in ("beta", "standard_error", "p_value", "effect_allele_frequency"):
            np.testing.assert_allclose(c[col + "_x"], c[col + "_y"], rtol=1e-5, err_msg=f"{name} {col}")
        # variants with missing calls too: both mean-impute among the phenotype's own samples
        for col in ("beta", "standard_error", "p_value"):
            np.testing.assert_allclose(m[col + "_x"], m[col + "_y"], rtol=1e-5, equal_nan=True)
    for engine in ("auto", "hail"):   # and counted in qc_report.tsv
        qc = pd.read_csv(tmp_path / engine / "qc_report.tsv", sep="\t").set_index("filter")
        assert qc.loc["fit_failed", "removed"] == left_out[engine]
        assert qc.loc["fit_failed", "remaining"] == 3 * 400 - left_out[engine]
    assert left_out["auto"] > left_out["hail"]


def test_gwas_cli__binary_auto_engine_is_fast_and_firth_is_hail(hail_context, cohort, small_bfile, tmp_path):
    from click.testing import CliRunner

    from edfgen.cli import cli

    tiny = tmp_path / "tiny"  # Firth on Hail fits two models per variant: 30 variants
    subprocess.run(["plink2", "--bfile", small_bfile, "--extract", "range", "/dev/stdin", "--make-bed",
                    "--out", str(tiny), "--silent"], input="1 1 30000 r\n", text=True, check=True)
    args = ["gwas", "--bfile", str(tiny), "--pheno", str(cohort / "outcomes.tsv"), "--binary", "--no-plots",
            "--maf", "0", "--hwe", "0"]
    r = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "wald")])
    assert r.exit_code == 0, r.output
    assert "engine fast" in r.output
    r = CliRunner().invoke(cli, [*args, "--logistic-test", "firth", "--out", str(tmp_path / "firth")])
    assert r.exit_code == 0, r.output
    assert "engine hail" in r.output
    r = CliRunner().invoke(cli, [*args, "--engine", "fast", "--logistic-test", "firth", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "--engine fast needs" in r.output


def _ridge_base(cohort) -> list[str]:
    return ["gwas", "--bfile", str(cohort / "g"), "--pheno", str(cohort / "pheno.tsv"), "--covar",
            str(cohort / "covar.tsv"), "--covar-cols", "age,sex,centre", "--no-plots", "--maf", "0", "--hwe", "0"]


@pytest.fixture(scope="module")
def ridge_step1(cohort, tmp_path_factory) -> Path:
    """``--model ridge-loco --multivariate`` on the cohort (step 1 and step 2): its --out."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    out = tmp_path_factory.mktemp("ridge_step1") / "ridge"
    r = CliRunner().invoke(cli, _ridge_base(cohort) + ["--model", "ridge-loco", "--multivariate", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out


def test_gwas__meta_yaml_analysis_software_names_the_association_model(fast_run, ridge_step1):
    """User read s40: every GWAS-SSF -meta.yaml said `analysis_software: edfgen X (linear regression)`, also for
    --model ridge-loco (REGENIE-style step 2 on LOCO residuals): a methods section, or the GWAS Catalog's
    ingest, read off the metadata would name the wrong analysis. Plain runs keep their label."""
    assert "analysis_software: edfgen " in (fast_run[0] / "edf_001.tsv.gz-meta.yaml").read_text()
    assert "(linear regression)" in (fast_run[0] / "edf_001.tsv.gz-meta.yaml").read_text()
    ridge = (ridge_step1 / "edf_001.tsv.gz-meta.yaml").read_text()
    assert "ridge-LOCO" in ridge and "(linear regression)" not in ridge, ridge
    from edfgen.commands.gwas_output import analysis_label

    assert analysis_label(binary=True, model="linear", logistic_test="firth") == "Firth logistic regression"
    assert "lmm-loco" in analysis_label(binary=False, model="lmm-loco", logistic_test=None)


def test_meta_yaml__a_long_analysis_software_is_one_line_and_reads_plainly(tmp_path):
    """Review s40user F4: yaml.safe_dump folded values over 80 characters onto a second line, so `grep
    analysis_software *-meta.yaml` showed half the label; the binary ridge label read "... with Firth fallback with
    ridge-LOCO predictions (...(...))" (parentheses inside the version's). Now one line, one "with", no nesting."""
    import yaml

    from edfgen.commands.gwas_output import analysis_label
    from edfgen.formats.sumstats.write import SumstatsMeta, write_meta

    labels = {(b, m, t): analysis_label(binary=b, model=m, logistic_test=t)
              for b, t in [(False, None), (True, "wald"), (True, "firth"), (True, "firth-fallback")]
              for m in ("linear", "ridge-loco", "lmm-loco")}
    for label in labels.values():
        assert "(" not in label and label.count(" with ") <= 1, label
    long = labels[(True, "ridge-loco", "firth-fallback")]
    assert long.startswith("logistic regression with Firth fallback") and "ridge-LOCO" in long, long
    software = f"edfgen 9.9.9 ({long})"
    assert len(software) > 80
    meta = write_meta(tmp_path / "x.tsv.gz", SumstatsMeta(trait="edf_001", analysis_software=software), "0" * 32)
    text = meta.read_text()
    assert f"analysis_software: {software}\n" in text, text
    assert yaml.safe_load(text)["analysis_software"] == software


def test_gwas_cli__ridge_loco_and_multivariate_outputs_match_their_definitions(cohort, ridge_step1, tmp_path):
    """--model ridge-loco writes loco/ (dictionary columns) and its step 2 is OLS of the transformed
    phenotype minus the chromosome's LOCO prediction on covariates + variant (statsmodels); reusing
    loco/ with --loco-predictions gives the same statistics; --multivariate's min_p is the smallest
    per-phenotype p of the same run."""
    import statsmodels.api as sm
    from click.testing import CliRunner

    from edfgen.cli import cli
    from edfgen.commands.gwas_design import covariate_design

    base, out = _ridge_base(cohort), ridge_step1
    check_file("loco_predictions", out / "loco" / "edf_001.loco.tsv.gz")
    check_file("loco_summary", out / "loco" / "loco_summary.tsv")
    check_file("multivariate", out / "multivariate.tsv.gz")
    loco = pd.read_csv(out / "loco" / "edf_001.loco.tsv.gz", sep="\t", dtype={"IID": str}).set_index("IID")
    used = pd.read_csv(out / "samples.tsv", sep="\t", dtype=str)["IID"].to_numpy()
    y = inverse_normal_transform(pd.read_csv(cohort / "pheno.tsv", sep="\t", dtype={"IID": str})
                                 .set_index("IID").loc[used, "edf_001"].to_numpy())
    cov = pd.read_csv(cohort / "covar.tsv", sep="\t", dtype={"IID": str})
    design = covariate_design(cov, ["age", "sex", "centre"])
    C = pd.DataFrame(design.matrix, index=design.ids).loc[used].to_numpy()
    from bed_reader import open_bed

    ss = pd.read_csv(out / "edf_001.tsv.gz", sep="\t").set_index("variant_id")
    with open_bed(str(cohort / "g.bed")) as bed:
        rows = pd.Index(np.asarray(bed.iid, dtype=str)).get_indexer(used)
        for j in (0, 7, 14):                                   # complete-call variants on chromosome 1
            g = bed.read(index=np.s_[rows, j], dtype="float64")[:, 0]
            fit = sm.OLS(y - loco.loc[used, "chr1"].to_numpy(), np.column_stack([C, g])).fit()
            np.testing.assert_allclose(ss.loc[f"rs{j + 1}", "beta"], fit.params[-1], rtol=1e-5)
            np.testing.assert_allclose(ss.loc[f"rs{j + 1}", "p_value"], fit.pvalues[-1], rtol=1e-4)
    again = tmp_path / "again"
    r = CliRunner().invoke(cli, base + ["--model", "ridge-loco", "--loco-predictions", str(out / "loco"),
                                        "--out", str(again)])
    assert r.exit_code == 0, r.output
    assert not (again / "loco").exists() and "step 1 was fitted on" not in r.output
    assert "step 2 needs the phenotypes, covariates and transform" not in r.output
    b = pd.read_csv(again / "edf_001.tsv.gz", sep="\t").set_index("variant_id")
    np.testing.assert_array_equal(b.loc[ss.index, "p_value"], ss["p_value"])
    mv = pd.read_csv(out / "multivariate.tsv.gz", sep="\t").set_index("variant_id")
    pmin = pd.concat([pd.read_csv(out / f"edf_00{k}.tsv.gz", sep="\t").set_index("variant_id")["p_value"]
                      for k in range(1, 6)], axis=1).min(axis=1)
    np.testing.assert_allclose(mv["min_p"], pmin.loc[mv.index], rtol=1e-6)
    assert (mv["n_phenotypes"] == 5).mean() > 0.99 and mv["p_value"].notna().mean() > 0.99
    man = json.loads((out / "manifest.json").read_text())
    assert 1 <= man["extra"]["multivariate"]["m_eff"] <= 5 + 1e-9
    r = CliRunner().invoke(cli, base + ["--loco-predictions", str(out / "loco"), "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "--loco-predictions needs --model ridge-loco" in r.output
    r = CliRunner().invoke(cli, base + ["--model", "ridge-loco", "--engine", "hail", "--out", str(tmp_path / "y")])
    assert r.exit_code == 2 and "fast engine" in r.output


def test_gwas_cli__loco_predictions_fitted_on_other_inputs_refused_even_in_a_moved_folder(cohort, ridge_step1,
                                                                                          tmp_path, caplog):
    """Step 1 writes loco/step1_fingerprint.json; a copy of loco/ elsewhere (no manifest beside it: checked nothing
    before, review s32e) is refused in one line when the phenotype values, the transform or the covariates differ,
    and accepted on a subset of step 1's samples; a phenotype step 1 did not fit names the file expected; a
    folder without the fingerprint warns 'cannot verify' and is checked against its manifest (refused the same)."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    base = _ridge_base(cohort)
    moved = tmp_path / "shipped" / "loco"
    shutil.copytree(ridge_step1 / "loco", moved)
    fp = json.loads((moved / "step1_fingerprint.json").read_text())
    assert fp["n_samples"] == len(pd.read_csv(ridge_step1 / "samples.tsv", sep="\t"))
    assert fp["transform"] == "inverse-normal" and not fp["binary"]
    assert sorted(fp["phenotypes"]) == [f"edf_00{k}" for k in range(1, 6)] and "centre=B" in fp["covariates"]

    def step2(*args, loco=moved, pheno=cohort / "pheno.tsv", out="s2"):
        argv = [*base[:3], "--pheno", str(pheno), *base[5:], *args]
        return CliRunner().invoke(cli, [*argv, "--model", "ridge-loco", "--loco-predictions", str(loco),
                                        "--out", str(tmp_path / out)])

    table = pd.read_csv(cohort / "pheno.tsv", sep="\t", dtype={"IID": str})
    permuted = table.assign(edf_001=table["edf_001"].sample(frac=1, random_state=3).to_numpy())
    permuted.to_csv(tmp_path / "permuted.tsv", sep="\t", index=False, na_rep="NA")
    r = step2(pheno=tmp_path / "permuted.tsv")
    assert r.exit_code == 2 and f"--loco-predictions {moved}: phenotype(s) 'edf_001' in --pheno" in r.output
    assert "than step 1 was fitted on" in r.output and "rerun step 1" in r.output and "'edf_002'" not in r.output
    r = step2("--transform", "none")
    assert r.exit_code == 2 and "step 1 used --transform inverse-normal, this run --transform none" in r.output
    r = CliRunner().invoke(cli, [*[a if a != "age,sex,centre" else "age,sex" for a in base], "--model", "ridge-loco",
                                 "--loco-predictions", str(moved), "--out", str(tmp_path / "cov")])
    assert r.exit_code == 2 and "step 1 adjusted for age, sex, centre=B, centre=C, this run for age, sex" in r.output
    covar = pd.read_csv(cohort / "covar.tsv", sep="\t", dtype={"IID": str})
    covar.assign(age=covar["age"] + 1).to_csv(tmp_path / "older.tsv", sep="\t", index=False, na_rep="NA")
    r = CliRunner().invoke(cli, [*base[:5], "--covar", str(tmp_path / "older.tsv"), *base[7:], "--model",
                                 "ridge-loco", "--loco-predictions", str(moved), "--out", str(tmp_path / "older")])
    assert r.exit_code == 2 and "covariates age, sex, centre=B, centre=C have other values" in r.output
    # a phenotype step 1 did not fit: the folder and the file expected (it named edf_001's file)
    table.assign(new_trait=table["edf_001"]).to_csv(tmp_path / "more.tsv", sep="\t", index=False, na_rep="NA")
    r = step2("--pheno-cols", "new_trait", pheno=tmp_path / "more.tsv")
    assert r.exit_code == 2 and f"step 1 fitted no phenotype 'new_trait' (expected {moved / 'new_trait.loco.tsv.gz'}" \
        in r.output
    # the same values in another file, on a subset of step 1's samples: accepted, nothing to warn about
    (tmp_path / "keep.txt").write_text("\n".join(table["IID"][:300]) + "\n")
    r = step2("--keep", str(tmp_path / "keep.txt"), "--pheno-cols", "edf_001,edf_002", pheno=tmp_path / "more.tsv")
    assert r.exit_code == 0, r.output
    assert "WARNING" not in r.output and len(pd.read_csv(tmp_path / "s2" / "samples.tsv", sep="\t")) <= 300
    # an older edfgen's folder (no fingerprint) beside its step-1 manifest: one warning, then the manifest's checks
    old = tmp_path / "old"
    shutil.copytree(ridge_step1, old)
    (old / "loco" / "step1_fingerprint.json").unlink()
    r = step2("--transform", "none", loco=old / "loco", out="s2old")
    assert r.exit_code == 2 and "cannot verify" in r.output
    assert f"--loco-predictions {old / 'loco'}: step 1 used --transform inverse-normal, this run --transform none" \
        in r.output


def test_gwas_cli__loco_models_on_one_chromosome_refused_up_front(cohort, tmp_path):
    """ridge-loco's step 1 on one chromosome gave LOCO predictions ~0, i.e. plain linear regression, silently
    (review s32e); both LOCO models now refuse it in one line before any pass over the genotypes."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    for model in ("ridge-loco", "lmm-loco"):
        r = CliRunner().invoke(cli, [*_ridge_base(cohort), "--chr", "1", "--model", model,
                                     "--out", str(tmp_path / model)])
        assert r.exit_code == 2, r.output
        assert f"--model {model}: the analysed variants are on 1 chromosome(s) (1)" in r.output
        assert "needs >= 2 chromosomes" in r.output and not (tmp_path / model / "samples.tsv").exists()


# ----------------------------------------------------------------------------------------------
# streamed outputs (bounded memory): block boundaries and input order do not change a byte
# ----------------------------------------------------------------------------------------------
def test_run_gwas__streamed_outputs_do_not_depend_on_blocks_or_variant_order(cohort, tmp_path):
    """Results are written block by block (QC per block); tiny blocks over a shuffled .bed give the
    same files, byte for byte, as large blocks over the sorted one, and lambda_gc from the bounded
    summaries is within 1e-3 of the exact median."""
    import gzip

    from bed_reader import open_bed, to_bed

    from edfgen.kernels.association import lambda_gc

    with open_bed(cohort / "g.bed", count_A1=True) as bed:
        G = bed.read(dtype="float32")
        props = {k: getattr(bed, k) for k in ("iid", "fid", "sid", "chromosome", "bp_position", "allele_1",
                                                "allele_2")}
    order = np.random.default_rng(5).permutation(G.shape[1])
    to_bed(tmp_path / "shuffled.bed", G[:, order], count_A1=True,
           properties={k: (v[order] if k in ("sid", "chromosome", "bp_position", "allele_1", "allele_2") else v)
                       for k, v in props.items()})
    qc = QCSettings(maf=0.05, call_rate=0.99, hwe_p=1e-6, sample_call_rate=0.0)
    runs = {}
    for name, prefix, block in (("whole", cohort / "g", 4096), ("tiny", tmp_path / "shuffled", 7)):
        runs[name] = tmp_path / name
        run_gwas(GenotypeSource(bfile=str(prefix)), cohort / "pheno.tsv", cohort / "covar.tsv", runs[name],
                 covar_cols=["age", "sex", "centre"], qc=qc, settings=GwasSettings(block_size=block, plots=False))
    for f in ("edf_001", "edf_002", "edf_005"):
        a, b = (gzip.decompress((runs[k] / f"{f}.tsv.gz").read_bytes()) for k in ("whole", "tiny"))
        assert a == b and len(a.splitlines()) > 500
    for f in ("qc_report.tsv", "gwas_summary.tsv", "samples.tsv"):
        assert (runs["whole"] / f).read_text() == (runs["tiny"] / f).read_text()
    qc_report = pd.read_csv(runs["tiny"] / "qc_report.tsv", sep="\t").set_index("filter")
    assert qc_report.loc["maf", "removed"] + qc_report.loc["variant_call_rate", "removed"] > 0
    summary = pd.read_csv(runs["tiny"] / "gwas_summary.tsv", sep="\t").set_index("phenotype")
    for f in summary.index:
        exact = lambda_gc(pd.read_csv(runs["tiny"] / f"{f}.tsv.gz", sep="\t")["p_value"].to_numpy())
        assert summary.loc[f, "lambda_gc"] == pytest.approx(exact, rel=1e-3)


def test_keep_freed_memory__sets_both_glibc_thresholds_once_and_blocks_are_8_mib(monkeypatch):
    """glibc stops adapting its mmap threshold (it stays 128 KiB) when either parameter is set alone, which
    made every block's arrays fresh memory: both are set (M_MMAP_THRESHOLD -3, M_TRIM_THRESHOLD -1), once per
    process; a block's float64 genotypes stay within 8 MiB (logistic models' blocks: 256 MiB, as before)."""
    import ctypes

    import edfgen.engines.stream as stream

    calls = []

    class Libc:
        def mallopt(self, param, value):
            calls.append((param.value, value.value))
            return 1

    monkeypatch.setattr(ctypes, "CDLL", lambda name: Libc())
    monkeypatch.setattr(stream, "_malloc_set", False)
    stream.keep_freed_memory()
    stream.keep_freed_memory()
    assert calls == [(-3, 32 * 2 ** 20), (-1, 256 * 2 ** 20)]
    for n in (2000, 10000, 65536):
        b = stream.auto_block_size(n, 1, threads=2)
        assert 8 * n * b <= 8 * 2 ** 20 < 8 * n * (b + 1)
    assert stream.auto_block_size(500_000, 1, threads=1) == 16
    assert stream.auto_block_size(2000, 1, binary=True, threads=2) == 4096     # logistic blocks: as before (same fits)
    # more threads than were measured (review s29e F2): the large blocks, which they can share, as before stop 29
    assert stream.auto_block_size(10_000, 1, threads=16) == 256 * 2 ** 20 // (8 * 10_000)
    assert stream.auto_block_size(2000, 1, threads=None) == stream.auto_block_size(
        2000, 1, threads=stream.usable_threads(None))


def test_gwas_outputs__rows_must_come_in_output_order(tmp_path):
    from edfgen.kernels.association import AssociationResult
    from edfgen.commands.gwas_output import GwasOutputs

    variants = pd.DataFrame({"chromosome": ["1"] * 4, "base_pair_location": [10, 20, 30, 40],
                             "effect_allele": list("AAAA"), "other_allele": list("GGGG"),
                             "variant_id": [f"v{i}" for i in range(4)], "rsid": ["NA"] * 4})
    res = AssociationResult(*(np.full((2, 1), 0.5) for _ in range(3)), n=np.full((2, 1), 100),
                            effect_allele_frequency=np.full((2, 1), 0.3))
    out = GwasOutputs(tmp_path, variants, ["y"], ["y"], model="linear regression", reference_genome="GRCh38",
                      plots=False)
    out.add(np.array([2, 3]), res)
    with pytest.raises(ValueError, match="output order"):
        out.add(np.array([0, 1]), res)
    out.abort()
    assert not list(tmp_path.iterdir())  # the temporary file is gone, nothing half-written is left


def test_gwas_outputs__small_blocks_written_in_batches_same_file(tmp_path, monkeypatch):
    """Consecutive blocks reach the writers together (``batch_rows`` rows, the rest at close); the file is
    the one written block by block, and a batch of logistic results keeps its class and its None fields."""
    import gzip

    import edfgen.commands.gwas_output as go
    from edfgen.kernels.association import AssociationResult
    from edfgen.kernels.logistic import LogisticAssociationResult

    M = 10
    variants = pd.DataFrame({"chromosome": ["1"] * M, "base_pair_location": np.arange(1, M + 1) * 10,
                             "effect_allele": ["A"] * M, "other_allele": ["G"] * M,
                             "variant_id": [f"v{i}" for i in range(M)], "rsid": ["NA"] * M})
    rng = np.random.default_rng(0)
    res = AssociationResult(beta=rng.normal(size=(M, 1)), standard_error=rng.uniform(0.1, 1, (M, 1)),
                            p_value=rng.uniform(size=(M, 1)), n=np.full((M, 1), 100),
                            effect_allele_frequency=rng.uniform(0.05, 0.5, (M, 1)))
    files = {}
    for name, batch in (("one_by_one", 1), ("batched", 4)):
        monkeypatch.setattr(go, "WRITE_BATCH_ROWS", batch)
        out = go.GwasOutputs(tmp_path / name, variants, ["y"], ["y"], model="linear regression",
                             reference_genome="GRCh38", plots=False)
        handed = []
        monkeypatch.setattr(out, "_write_block", lambda rows, r, share, first, f=out._write_block:
                            (handed.append(len(rows)), f(rows, r, share, first))[1])
        for a in range(0, M, 3):                       # blocks of 3, 3, 3, 1 rows
            out.add(np.arange(a, min(a + 3, M)), res.rows(np.arange(a, min(a + 3, M))))
        out.close()
        files[name] = gzip.decompress((tmp_path / name / "y.tsv.gz").read_bytes())
        assert handed == ([3, 3, 3, 1] if batch == 1 else [6, 4])
    assert files["one_by_one"] == files["batched"] and len(files["batched"].splitlines()) == M + 1
    log_res = LogisticAssociationResult(**res.rows(np.arange(2)).__dict__, converged=np.ones((2, 1), bool))
    rows, joined = go._joined([(np.arange(2), log_res), (np.arange(2, 4), log_res)])
    assert isinstance(joined, LogisticAssociationResult) and joined.firth is None
    np.testing.assert_array_equal(rows, np.arange(4))
    np.testing.assert_array_equal(joined.beta, np.r_[log_res.beta, log_res.beta])
    assert joined.converged.shape == (4, 1)


def test_run_gwas__tabix_index_built_while_writing_equals_htslibs(cohort, tmp_path, monkeypatch):
    """Beyond its memory budget the GWAS lets htslib index each finished file; both give the same .tbi."""
    import gzip

    from edfgen.commands import gwas_output

    out = {}
    for name, budget in (("while_writing", gwas_output.INDEX_MEMORY), ("htslib", 0)):
        monkeypatch.setattr(gwas_output, "INDEX_MEMORY", budget)
        out[name] = tmp_path / name
        run_gwas(GenotypeSource(bfile=str(cohort / "g")), cohort / "pheno.tsv", cohort / "covar.tsv", out[name],
                 pheno_cols=["edf_001", "edf_002"], covar_cols=["age", "sex"], qc=NO_QC,
                 settings=GwasSettings(plots=False))
    for f in ("edf_001.tsv.gz", "edf_002.tsv.gz"):
        assert (out["while_writing"] / f).read_bytes() == (out["htslib"] / f).read_bytes()
        a, b = (gzip.decompress((out[k] / f"{f}.tbi").read_bytes()) for k in ("while_writing", "htslib"))
        assert a == b and len(a) > 100


def test_run_gwas__zero_padded_chromosome_names_as_uk_biobank_writes_them(hail_context, cohort, fast_run, tmp_path):
    """Was: UK Biobank's imputed BGEN files (and ``plink2 --output-chr 0M``) name chromosome 1 ``01``; the GWAS
    stopped at writing ("rows of chromosome 01 are not together": ``01`` had no place in the chromosome order)
    and a ``.bim`` with ``01`` wrote ``01`` into GWAS-SSF files. Now ``01`` is chromosome 1 everywhere: the same
    results as the plainly named fileset (plink2-checked in test_run_gwas__matches_plink2_glm), from a ``.bed``
    and from per-chromosome BGEN files through a ``{chr}`` template and ``--chr 01-02`` (fast engine, and Hail,
    whose GRCh37 contigs have no ``01``); clumping with the ``01`` fileset as LD panel finds the same clumps."""
    from edfgen.commands.clump import run_clump
    from edfgen.kernels.clump import ClumpSettings

    g = str(cohort / "g")
    subprocess.run(["plink2", "--bfile", g, "--make-bed", "--output-chr", "0M", "--out", str(tmp_path / "z"),
                    "--silent"], check=True)
    assert (tmp_path / "z.bim").read_text().startswith("01\t")
    for c in (1, 2):
        subprocess.run(["plink2", "--bfile", g, "--chr", str(c), "--export", "bgen-1.2", "bits=8", "--output-chr",
                        "0M", "--out", str(tmp_path / f"z_chr0{c}"), "--silent"], check=True)   # ukb_imp_chr01 style
    want = pd.concat([pd.read_csv(fast_run[0] / f"edf_00{j}.tsv.gz", sep="\t").assign(ph=j) for j in (1, 2)])
    sources = {"bed": GenotypeSource(bfile=str(tmp_path / "z")),
               "bgen": GenotypeSource(bgen=str(tmp_path / "z_chr{chr}.bgen"), sample=str(tmp_path / "z_chr{chr}.sample"),
                                      chromosomes=("01-02",))}
    sources["hail"] = sources["bgen"]
    for name, src in sources.items():
        run_gwas(src, cohort / "pheno.tsv", cohort / "covar.tsv", tmp_path / name, pheno_cols=["edf_001", "edf_002"],
                 covar_cols=["age", "sex", "centre"], qc=NO_QC,
                 settings=GwasSettings(plots=False, engine="hail" if name == "hail" else "fast"))
        got = pd.concat([pd.read_csv(tmp_path / name / f"edf_00{j}.tsv.gz", sep="\t").assign(ph=j) for j in (1, 2)])
        assert list(got["chromosome"].unique()) == [1, 2], name
        m = want.merge(got, on=["ph", "variant_id"], suffixes=("", "_z"))
        assert len(m) == len(want) == len(got), name
        sign = np.where(m["effect_allele"] == m["effect_allele_z"], 1.0, -1.0)
        assert (m["base_pair_location"] == m["base_pair_location_z"]).all()
        np.testing.assert_allclose(sign * m["beta_z"], m["beta"], rtol=1e-6, atol=1e-9, err_msg=name)
        np.testing.assert_allclose(m["p_value_z"], m["p_value"], rtol=1e-5, err_msg=name)
    settings = ClumpSettings(p1=1e-3, p2=1e-2)
    plain = run_clump([fast_run[0] / "edf_001.tsv.gz"], out_dir=tmp_path / "c_plain", bfile=g, settings=settings)
    zero = run_clump([fast_run[0] / "edf_001.tsv.gz"], out_dir=tmp_path / "c_zero", bfile=str(tmp_path / "z"),
                     settings=settings)
    a = pd.read_csv(plain.out_dir / "clumps.tsv", sep="\t")
    b = pd.read_csv(zero.out_dir / "clumps.tsv", sep="\t")
    assert len(a) > 0
    pd.testing.assert_frame_equal(a, b)


def test_run_gwas__variant_ids_the_catalog_validator_refuses_are_kept_and_warned_once(cohort, tmp_path, caplog):
    """Review s32f #2: a ``.bim`` id of ``.`` becomes ``chr:pos:ref:alt`` and an id may hold ``:`` (UK Biobank),
    which the GWAS Catalog validator refuses (``^[A-Za-z0-9_]+$``). The ids stay as they are (clump and
    --extract join on them); one warning gives their count, an example and plink2's fix. rs ids: no warning."""
    bim = pd.read_csv(cohort / "g.bim", sep="\t", header=None, dtype=str)
    bim.loc[::100, 1] = "."
    bim.loc[1, 1] = "1:2:A:C"
    for ext in ("bed", "fam"):
        shutil.copy(cohort / f"g.{ext}", tmp_path / f"x.{ext}")
    bim.to_csv(tmp_path / "x.bim", sep="\t", header=False, index=False)
    with caplog.at_level("WARNING"):
        run_gwas(GenotypeSource(bfile=str(tmp_path / "x")), cohort / "pheno.tsv", cohort / "covar.tsv",
                 tmp_path / "o", pheno_cols=["edf_001", "edf_002"], covar_cols=["age"], qc=NO_QC,
                 settings=GwasSettings(plots=False))
    warned = [r.getMessage() for r in caplog.records if "variant ids hold" in r.getMessage()]
    assert len(warned) == 1, warned
    first = f"{bim.loc[0, 0]}:{bim.loc[0, 3]}:{bim.loc[0, 5]}:{bim.loc[0, 4]}"
    assert warned[0].startswith(f"13 of 1200 variant ids hold characters other than letters, digits and '_' "
                                f"(e.g. '{first}')") and "plink2 --set-all-var-ids '@_#_$r_$a'" in warned[0]
    got = pd.read_csv(tmp_path / "o" / "edf_001.tsv.gz", sep="\t", dtype={"variant_id": str})
    assert first in set(got["variant_id"]) and "1:2:A:C" in set(got["variant_id"])
    caplog.clear()
    from edfgen.formats.sumstats.write import warn_non_ssf_variant_ids

    with caplog.at_level("WARNING"):
        warn_non_ssf_variant_ids(["rs1", "1_100_A_G", "AFFX_SNP_1"])
    assert "variant ids" not in caplog.text
