"""edfgen interpret: adjusted OLS (checked against statsmodels), k-means EDF clusters, outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from click.testing import CliRunner

from edfgen.exceptions import InputError
from edfgen.commands.interpret import interpret_edfs
from edfgen.kernels.edf import associate, cluster_edfs
from edfgen.formats.dictionary import check_file


def _cohort(n=300, p=12, seed=0):
    """EDFs built from 3 latent factors (4 EDFs each); factor 0 tracks heart rate, factor 1 QRS."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(40, 70, n)
    sex = rng.choice(["F", "M"], n)
    hr = 60 + 10 * rng.standard_normal(n) + 0.1 * (age - 55)
    qrs = 95 + 8 * rng.standard_normal(n) + 4 * (sex == "M")
    qt = 400 - 2 * (hr - 60) + 10 * rng.standard_normal(n)
    f = np.column_stack([(hr - 60) / 10, (qrs - 95) / 8, rng.standard_normal(n)])
    load = np.repeat(np.eye(3), p // 3, axis=0) * rng.uniform(0.5, 1.5, (p, 1))
    edfs = f @ load.T + 0.3 * rng.standard_normal((n, p)) + 0.01 * age[:, None]
    iid = [f"S{i:04d}" for i in range(n)]
    edf = pd.DataFrame(edfs, columns=[f"edf_{j:03d}" for j in range(1, p + 1)])
    edf.insert(0, "IID", iid)
    bio = pd.DataFrame({"IID": iid, "heart_rate_bpm": hr, "qrs_duration_ms": qrs, "qt_interval_ms": qt})
    cov = pd.DataFrame({"IID": iid, "age": age, "sex": sex})
    return edf, bio, cov


def test_associate__matches_statsmodels_ols_including_missing_values():
    edf, bio, cov = _cohort()
    bio.loc[::7, "qt_interval_ms"] = np.nan  # dropped for that biomarker only
    sexnum = (cov["sex"] == "M").astype(float).to_numpy()
    covar = np.column_stack([cov["age"], sexnum])
    bcols = ["heart_rate_bpm", "qrs_duration_ms", "qt_interval_ms"]
    res = associate(edf.iloc[:, 1:].to_numpy(), bio[bcols].to_numpy(), covar)
    for j, k in [(0, 0), (5, 1), (11, 2), (3, 2), (8, 0)]:
        X = sm.add_constant(np.column_stack([covar, bio[bcols[k]].to_numpy()]))
        fit = sm.OLS(edf.iloc[:, 1 + j].to_numpy(), X, missing="drop").fit()
        np.testing.assert_allclose(res.beta[j, k], fit.params[-1], rtol=1e-8)
        np.testing.assert_allclose(res.se[j, k], fit.bse[-1], rtol=1e-8)
        np.testing.assert_allclose(res.t[j, k], fit.tvalues[-1], rtol=1e-8)
        np.testing.assert_allclose(res.p_value[j, k], fit.pvalues[-1], rtol=1e-8)
        assert res.dof[k] == fit.df_resid and res.n[k] == fit.nobs
    assert res.n.tolist() == [300, 300, 300 - 43]
    y = edf.iloc[:, 1:].to_numpy()
    y[5, 2] = np.inf
    with pytest.raises(InputError, match="edfs must be finite; 1 non-finite value.*inf at row 5, column 2"):
        associate(y, bio[bcols].to_numpy(), covar)
    covar[7, 1] = np.nan
    with pytest.raises(InputError, match="covariates must be finite.*nan at row 7, column 1"):
        associate(edf.iloc[:, 1:].to_numpy(), bio[bcols].to_numpy(), covar)


def test_cluster_edfs__recovers_planted_groups():
    from sklearn.metrics import adjusted_rand_score

    edf, _, _ = _cohort(n=500)
    labels = cluster_edfs(edf.iloc[:, 1:].to_numpy(), 3, seed=1)
    assert adjusted_rand_score(labels, np.repeat([0, 1, 2], 4)) == 1.0
    assert labels[0] == 1 and sorted(set(labels)) == [1, 2, 3]
    with pytest.raises(InputError, match="--clusters 13"):
        cluster_edfs(edf.iloc[:, 1:].to_numpy(), 13)


def test_interpret_edfs__outputs_and_planted_associations(tmp_path):
    edf, bio, cov = _cohort()
    for name, df in (("edfs.tsv", edf), ("phys.tsv", bio), ("covar.tsv", cov)):
        df.to_csv(tmp_path / name, sep="\t", index=False)
    res = interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "out", biomarkers=tmp_path / "phys.tsv",
                         covar=tmp_path / "covar.tsv", clusters=3)
    check_file("edf_associations", res.associations)
    check_file("edf_clusters", res.clusters)
    a = pd.read_csv(res.associations, sep="\t")
    assert len(a) == 12 * 3 and a["significant"].dtype == bool
    sig = a[a["significant"]].groupby("biomarker")["edf"].apply(set)
    hr_edfs = {f"edf_{j:03d}" for j in range(1, 5)}
    qrs_edfs = {f"edf_{j:03d}" for j in range(5, 9)}
    assert hr_edfs <= sig["heart_rate_bpm"] and qrs_edfs <= sig["qrs_duration_ms"]
    noise_edfs = {f"edf_{j:03d}" for j in range(9, 13)}  # the factor unrelated to any biomarker
    assert not noise_edfs & (sig["heart_rate_bpm"] | sig["qrs_duration_ms"])
    assert (a["significant"] == (a["p_value"] < 0.01)).all()
    assert res.heatmap.stat().st_size > 1000 and (tmp_path / "out" / "manifest.json").exists()
    cl = pd.read_csv(res.clusters, sep="\t")
    assert cl.groupby("cluster")["edf"].apply(len).tolist() == [4, 4, 4]
    with pytest.raises(InputError, match="not empty"):
        interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "out", biomarkers=tmp_path / "phys.tsv")


def test_interpret_edfs__measure_from_ecg_files(shared_data, tmp_path):
    from edfgen.kernels.ecg.biomarkers import measure_biomarkers
    from edfgen.formats.ecg.records import read_wfdb

    src = shared_data / "ecg" / "cinc2021"
    heas = sorted(src.glob("E075*.hea"))[:12]
    rng = np.random.default_rng(0)
    edf = pd.DataFrame(rng.standard_normal((len(heas), 4)), columns=[f"edf_{j:03d}" for j in range(1, 5)])
    edf.insert(0, "IID", [h.stem for h in heas])
    edf.to_csv(tmp_path / "edfs.tsv", sep="\t", index=False)
    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for h in heas:
        for suffix in (".hea", ".mat"):
            (ecg / (h.stem + suffix)).write_bytes(h.with_suffix(suffix).read_bytes())
    (ecg / "broken.hea").write_text("broken 12 500 5000\n")          # header without its signal file
    r = CliRunner().invoke(__import__("edfgen.cli", fromlist=["cli"]).cli,
                           ["interpret", "--edf", str(tmp_path / "edfs.tsv"), "--measure-from", str(ecg),
                            "--out", str(tmp_path / "out"), "--clusters", "2", "-q"])
    assert r.exit_code == 0, r.output
    m = pd.read_csv(tmp_path / "out" / "measured_biomarkers.tsv", sep="\t").set_index("IID")
    check_file("measured_biomarkers", tmp_path / "out" / "measured_biomarkers.tsv")
    check_file("ecg_rejects", tmp_path / "out" / "rejects.tsv")
    rej = pd.read_csv(tmp_path / "out" / "rejects.tsv", sep="\t")
    assert rej["record"].tolist() == ["broken"] and "broken" not in m.index
    ref = measure_biomarkers(read_wfdb(heas[3]).signal, 500.0)
    np.testing.assert_allclose(m.loc[heas[3].stem, "heart_rate_bpm"], ref.loc[0, "heart_rate_bpm"], rtol=1e-5)
    a = pd.read_csv(tmp_path / "out" / "associations.tsv", sep="\t")
    assert set(a["biomarker"]) >= {"heart_rate_bpm", "qt_interval_ms"}
    # why a PR is NaN is written (s40 brief b), as a note beside the PR, not a biomarker tested against the EDFs
    from edfgen.kernels.ecg.p_wave import PR_MISSING_REASONS

    assert m["pr_missing_reason"].fillna("").isin(["", *PR_MISSING_REASONS]).all()
    assert ((m["pr_missing_reason"].fillna("") == "") == m["pr_interval_ms"].notna()).all()
    assert "pr_missing_reason" not in set(a["biomarker"])
    # review s40ecg #1: the records with a PR only (every reason empty: read back as an all-NaN float column) given
    # back as --biomarkers: pr_missing_reason is still no biomarker (text columns were dropped anyway, this was not)
    m[m["pr_interval_ms"].notna()].drop(columns="pr_missing_reason").assign(pr_missing_reason="").to_csv(
        tmp_path / "with_pr.tsv", sep="\t")
    interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "again", biomarkers=tmp_path / "with_pr.tsv", clusters=2)
    again = pd.read_csv(tmp_path / "again" / "associations.tsv", sep="\t")
    assert "pr_missing_reason" not in set(again["biomarker"]) and "pr_interval_ms" in set(again["biomarker"])
    # ... nor a phenotype of `edfgen gwas --pheno` (nor `edfgen run`'s biomarker GWAS): it failed on it
    from edfgen.commands.gwas_design import select_phenotypes
    from edfgen.formats.tables import read_table

    phenotypes = select_phenotypes(read_table(tmp_path / "with_pr.tsv", id_column="IID"))
    assert "pr_missing_reason" not in phenotypes and "pr_interval_ms" in phenotypes
    # second read s40 #1: nor one picked by --pheno-prefix (the reasons' text was refused as "not a number")
    m.to_csv(tmp_path / "all.tsv", sep="\t")
    for prefix in ("p", "pr"):
        phenotypes = select_phenotypes(read_table(tmp_path / "all.tsv", id_column="IID"), prefix=prefix)
        assert "pr_missing_reason" not in phenotypes and "pr_interval_ms" in phenotypes
    # the manifest keys the measured ECGs (review s30j F2: only the EDF table was recorded)
    import json

    assert any(Path(k).name == "ecg" for k in json.loads((tmp_path / "out" / "manifest.json").read_text())["inputs"])


def test_interpret_edfs__needs_exactly_one_biomarker_source(tmp_path):
    edf, bio, _ = _cohort(n=20)
    edf.to_csv(tmp_path / "e.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="exactly one of --biomarkers"):
        interpret_edfs(tmp_path / "e.tsv", tmp_path / "o")


def test_measure_biomarker_table__missing_samples_measured_on_the_longest_complete_stretch(shared_data, tmp_path):
    """Was a reject ('NaN/inf samples'): a record whose last 0.6 s are missing in one lead. Now measured on its
    first 9.4 s, equal to measuring that stretch cut by hand; a lead with no sample at all, or a complete stretch
    shorter than 8 s (extract's limit), stays a reject."""
    import wfdb

    from edfgen.commands.interpret import measure_biomarker_table
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg import LEADS
    from edfgen.kernels.ecg.biomarkers import measure_biomarkers

    src = read_wfdb(shared_data / "ecg" / "cinc2021" / "E07500.hea")
    for name, (rows, cols) in {"edge": (slice(4700, None), 5), "absent": (slice(None), 8),
                               "short": (np.r_[0:1000, 1600:5000], 5)}.items():
        x = src.signal.T.astype(np.float64)
        x[rows, cols] = np.nan
        wfdb.wrsamp(name, fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=["16"] * 12,
                    adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    table, rejects = measure_biomarker_table(tmp_path)
    assert list(table["IID"]) == ["edge"] and list(rejects["record"]) == ["absent", "short"]
    assert "no sample present in lead(s) V3" in rejects["reason"].iloc[0]
    assert "longest stretch without missing samples is 1.20 s < min_duration_s 8 s" in rejects["reason"].iloc[1]
    want = measure_biomarkers(read_wfdb(tmp_path / "edge.hea").signal[:, :4700], 500.0).iloc[0]
    got = table.iloc[0].drop(["IID", "pr_missing_reason"])
    np.testing.assert_allclose(got.to_numpy(float), want[got.index].to_numpy(float), equal_nan=True)
    assert table["pr_missing_reason"].iloc[0] == want["pr_missing_reason"]


def test_measure_biomarker_table__flat_leads_reject_as_in_extract(shared_data, tmp_path):
    """Review s32g F5: a record with V1-V6 constant 0 (CinC JS11438; extract rejects it) was measured on its
    6 limb leads and not listed in rejects.tsv. The same check as extract rejects it with extract's reason;
    3 flat leads (tolerated by extract) are still measured."""
    import wfdb

    from edfgen.commands.interpret import measure_biomarker_table
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg import LEADS

    src = read_wfdb(shared_data / "ecg" / "cinc2021" / "E07500.hea")
    for name, n_flat in {"six": 6, "three": 3}.items():
        x = src.signal.T.astype(np.float64)
        x[:, 12 - n_flat:] = 0.0
        wfdb.wrsamp(name, fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=["16"] * 12,
                    adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    table, rejects = measure_biomarker_table(tmp_path)
    assert list(table["IID"]) == ["three"] and list(rejects["record"]) == ["six"]
    assert rejects["reason"].iloc[0].startswith("6 flat lead(s) V1, V2, V3, V4, V5, V6 (band-passed SD")


def test_measure_biomarker_table__a_record_below_50_hz_is_a_reject(shared_data, tmp_path):
    """Review s39real F4: measure_biomarkers refuses a rate below 50 Hz (fs 0.001 asked for 224 GiB); interpret
    lists such a record in rejects.tsv with extract's reason, and measures the others."""
    import wfdb

    from edfgen.commands.interpret import measure_biomarker_table
    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg import LEADS

    x = read_wfdb(shared_data / "ecg" / "cinc2021" / "E07500.hea").signal.T.astype(np.float64)
    for name, fs in {"ok": 500, "slow": 40}.items():
        wfdb.wrsamp(name, fs=fs, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x, fmt=["16"] * 12,
                    adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    table, rejects = measure_biomarker_table(tmp_path)
    assert list(table["IID"]) == ["ok"] and list(rejects["record"]) == ["slow"]
    assert rejects["reason"].iloc[0].startswith("sampling rate 40 Hz is below 50 Hz")


def test_interpret_edfs__biomarker_table_with_edf_columns(tmp_path, caplog):
    """Was a pandas KeyError traceback (the merge renamed both edf_* sides to _x/_y): a merged table's EDF-named
    columns are left out of the biomarkers with a warning; the EDF table itself, or naming an EDF column in
    --biomarker-columns, is one line naming the file or columns."""
    edf, bio, cov = _cohort(n=60)
    edf.to_csv(tmp_path / "edfs.tsv", sep="\t", index=False)
    edf.merge(bio, on="IID").merge(cov, on="IID").to_csv(tmp_path / "merged.tsv", sep="\t", index=False)
    bio.to_csv(tmp_path / "phys.tsv", sep="\t", index=False)
    cov.to_csv(tmp_path / "cov.tsv", sep="\t", index=False)
    with caplog.at_level("WARNING"):
        res = interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "m", biomarkers=tmp_path / "merged.tsv",
                             covar=tmp_path / "cov.tsv", clusters=2)
    assert res.biomarkers == ("heart_rate_bpm", "qrs_duration_ms", "qt_interval_ms")
    assert "12 column(s) named like EDFs (edf_001, edf_002, edf_003…) left out" in caplog.text
    ref = interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "p", biomarkers=tmp_path / "phys.tsv",
                         covar=tmp_path / "cov.tsv", clusters=2)
    pd.testing.assert_frame_equal(pd.read_csv(res.associations, sep="\t"), pd.read_csv(ref.associations, sep="\t"))
    with pytest.raises(InputError, match=r"--biomarkers .*edfs.tsv: no numeric biomarker columns \(only EDF-named"):
        interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "e", biomarkers=tmp_path / "edfs.tsv")
    with pytest.raises(InputError, match="--biomarker-columns edf_002, age: named like an EDF or covariate"):
        interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "c", biomarkers=tmp_path / "merged.tsv",
                       covar=tmp_path / "cov.tsv", biomarker_columns=["heart_rate_bpm", "edf_002", "age"])


def _interpret_without_covar(tmp_path, *, n: int, clusters: int):
    """interpret_edfs of a _cohort's EDFs and biomarkers without --covar: (result, edf, biomarkers)."""
    edf, bio, _ = _cohort(n=n)
    edf.to_csv(tmp_path / "edfs.tsv", sep="\t", index=False)
    bio.to_csv(tmp_path / "phys.tsv", sep="\t", index=False)
    return (interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "o", biomarkers=tmp_path / "phys.tsv",
                           clusters=clusters), edf, bio)


def test_interpret_edfs__without_covar_warns_that_the_model_is_unadjusted(tmp_path, caplog):
    """README and --help say age and sex; without --covar the fit is edf ~ 1 + biomarker: say so (convention 2),
    and the fit is then the plain intercept-only OLS (statsmodels)."""
    with caplog.at_level("WARNING"):
        res, edf, bio = _interpret_without_covar(tmp_path, n=80, clusters=2)
    assert "no --covar, so the associations are unadjusted (edf ~ 1 + biomarker)" in caplog.text
    a = pd.read_csv(res.associations, sep="\t").set_index(["edf", "biomarker"])
    fit = sm.OLS(edf["edf_002"].to_numpy(), sm.add_constant(bio["qrs_duration_ms"].to_numpy())).fit()
    np.testing.assert_allclose(a.loc[("edf_002", "qrs_duration_ms"), "beta"], fit.params[-1], rtol=1e-5)


def test_interpret_edfs__a_text_value_in_a_biomarker_column_is_named_not_silently_dropped(tmp_path, caplog):
    """Review s30j F4: one typo ('abc') made heart_rate_bpm a text column, which the default biomarker list
    (numeric columns) left out without a word; it is now the one-line error --biomarker-columns gives. A
    column without any number (a site name) is left out with a warning naming it."""
    edf, bio, cov = _cohort(n=40)
    edf.to_csv(tmp_path / "edfs.tsv", sep="\t", index=False)
    bad = bio.astype({"heart_rate_bpm": object})
    bad.loc[3, "heart_rate_bpm"] = "abc"
    bad.to_csv(tmp_path / "bad.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"bad.tsv: column 'heart_rate_bpm', row 4 \(IID S0003\): value 'abc'"):
        interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "o", biomarkers=tmp_path / "bad.tsv", clusters=2)
    bio.assign(site="leeds").to_csv(tmp_path / "site.tsv", sep="\t", index=False)
    with caplog.at_level("WARNING"):
        res = interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "s", biomarkers=tmp_path / "site.tsv", clusters=2)
    assert res.biomarkers == ("heart_rate_bpm", "qrs_duration_ms", "qt_interval_ms")
    assert "column(s) site hold no numbers" in caplog.text


def test_associate__a_biomarker_or_edf_the_covariates_explain_is_nan_not_1e10(tmp_path, caplog):
    """Review s30j F5: a constant biomarker, or a copy of a covariate, gave beta ~ -1e10 from round-off
    residuals; it is NaN (not estimable), as is a constant EDF, and interpret names it in a warning."""
    edf, bio, cov = _cohort(n=60)
    covs = np.column_stack([cov["age"], cov["sex"] == "M"]).astype(float)
    b = np.column_stack([bio["heart_rate_bpm"], np.full(60, 60.0), cov["age"]])
    y = edf.drop(columns="IID").to_numpy()
    y[:, 1] = 3.0
    res = associate(y, b, covs)
    assert np.isnan(res.beta[:, 1:]).all() and np.isnan(res.p_value[:, 1:]).all() and np.isnan(res.se[1]).all()
    ok = np.delete(res.beta[:, 0], 1)
    assert np.isfinite(ok).all() and np.abs(ok).max() < 10
    edf.to_csv(tmp_path / "edfs.tsv", sep="\t", index=False)
    bio.assign(constant=60.0, age_copy=cov["age"]).to_csv(tmp_path / "bio.tsv", sep="\t", index=False)
    cov.to_csv(tmp_path / "cov.tsv", sep="\t", index=False)
    with caplog.at_level("WARNING"):
        r = interpret_edfs(tmp_path / "edfs.tsv", tmp_path / "o", biomarkers=tmp_path / "bio.tsv",
                           covar=tmp_path / "cov.tsv", clusters=2)
    assert "biomarker(s) constant, age_copy not estimable" in caplog.text
    a = pd.read_csv(r.associations, sep="\t")
    assert a.loc[a["biomarker"].isin(["constant", "age_copy"]), "beta"].isna().all()
    assert not a.loc[a["biomarker"].isin(["constant", "age_copy"]), "significant"].any()


def test_interpret_edfs__more_clusters_than_edfs_warns(tmp_path, caplog):
    """Review s30j nit: --clusters 20 with 12 EDFs became one cluster per EDF without a word."""
    with caplog.at_level("WARNING"):
        r, _, _ = _interpret_without_covar(tmp_path, n=40, clusters=20)
    assert "--clusters 20 is more than the 12 EDFs: one cluster per EDF" in caplog.text
    assert pd.read_csv(r.clusters, sep="\t")["cluster"].nunique() == 12


def test_plot_heatmap__title_and_caption_inside_the_figure_with_few_edfs(tmp_path, monkeypatch):
    """Review s30j nit: with 8 EDFs the title and x caption were cut at the figure's edges."""
    import edfgen.plots.heatmap as hm

    figs = []
    monkeypatch.setattr(hm, "save_png", lambda fig, path, dpi: figs.append(fig) or Path(path))
    rng = np.random.default_rng(0)
    t = rng.standard_normal((8, 9))
    hm.plot_heatmap(t, np.abs(t) > 2, [f"edf_{j:03d}" for j in range(1, 9)], [f"bio_{i}" for i in range(9)],
                    tmp_path / "h.png", clusters=np.array([1, 1, 2, 2, 3, 3, 4, 4]),
                    title="EDF ~ biomarker + age + sex; dots: p < 0.01 (n = 200)")
    fig = figs[0]
    fig.canvas.draw()
    width = fig.bbox.width
    ax = fig.axes[0]
    for text in (ax.title, ax.xaxis.label):
        box = text.get_window_extent()
        assert box.x0 >= 0 and box.x1 <= width, text.get_text()


def test_interpret_edfs__p_nan_is_refused_not_every_pair_not_significant(tmp_path):
    """Review s34b: --p nan passed the command line's range (NaN compares false) and interpret wrote a table
    where no pair was significant ('0 of 864 pairs with p < nan'), exit 0."""
    edf, bio, _ = _cohort(n=20)
    edf.to_csv(tmp_path / "e.tsv", sep="\t", index=False)
    bio.to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"--p nan: must be in \(0, 1\]"):
        interpret_edfs(tmp_path / "e.tsv", tmp_path / "o", biomarkers=tmp_path / "b.tsv", p_threshold=float("nan"))
    assert not (tmp_path / "o").exists()


def test_interpret_edfs__measure_from_errors_name_measure_from(tmp_path):
    """Review s34b: an ECG folder with no measurable record was '--biomarkers DIR: no numeric biomarker columns';
    --biomarker-columns IID was 'value ... is not a number' under --biomarkers."""
    edf, _, _ = _cohort(n=20)
    edf.to_csv(tmp_path / "e.tsv", sep="\t", index=False)
    (tmp_path / "ecg").mkdir()
    (tmp_path / "ecg" / "bad.hea").write_text("hello world\n")
    with pytest.raises(InputError, match=r"--measure-from .*ecg: no ECG record could be measured \(1 rejected, "
                                         r"e\.g\. bad: "):
        interpret_edfs(tmp_path / "e.tsv", tmp_path / "o", measure_from=tmp_path / "ecg")
    (tmp_path / "none").mkdir()
    with pytest.raises(InputError, match=r"--measure-from .*none: no ECG record could be measured \(no ECG record "):
        interpret_edfs(tmp_path / "e.tsv", tmp_path / "o", measure_from=tmp_path / "none")
    _, bio, _ = _cohort(n=20)
    bio.to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"--biomarker-columns IID: .*or an id column.*of --biomarkers .*b\.tsv"):
        interpret_edfs(tmp_path / "e.tsv", tmp_path / "o2", biomarkers=tmp_path / "b.tsv", biomarker_columns=["IID"])


def test_measured_biomarkers_dictionary_names_the_delineators_qt_not_the_simulators_tangent_qt():
    """data_dictionary/measured_biomarkers.tsv called interpret --measure-from's QT a tangent-method QT: that is the
    simulator's definition (physiology.tsv). The delineator ends T by the trapezium-area method, where the wave meets
    the baseline, about 23 ms after the tangent on the same simulated beat (SIM_INTERVAL_CONVENTION)."""
    from conftest import SIM_INTERVAL_CONVENTION
    from edfgen.formats.dictionary import load_entry
    from edfgen.kernels.ecg.biomarkers import measure_biomarkers
    from edfgen.simulate.ecg import BeatParams, synthesize_ecg

    measured = load_entry("measured_biomarkers").set_index("column")["description"]
    simulated = load_entry("physiology").set_index("column")["description"]
    assert "tangent" in simulated["qt_interval_ms"] and "tangent" in simulated["pr_interval_ms"]
    assert "trapezium-area" in measured["qt_interval_ms"] and "trapezium-area" in measured["pr_interval_ms"]
    assert "not the tangent method" in measured["qt_interval_ms"]
    qt = measure_biomarkers(synthesize_ecg(BeatParams(72, 160, 95, 390, 50, 1.6, 0.45, 0.15, 0.0),
                                           rng=np.random.default_rng(3))).loc[0, "qt_interval_ms"]
    low, high = SIM_INTERVAL_CONVENTION["qt_interval_ms"][0]
    assert low <= qt - 390 <= high
