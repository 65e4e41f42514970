"""The pipeline end to end (`edfgen demo` / `edfgen run`), its resume logic, config validation, report and notebooks."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.exceptions import ConfigError, InputError
from edfgen.pipeline import STATE_FILE, config_from_dict, load_config

REPO = Path(__file__).resolve().parents[1]


def test_load_config__unknown_section_and_keys_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown section\(s\) \['gwass'\]"):
        config_from_dict({"run": {"out": "o"}, "gwass": {}}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"\[run\] unknown key"):
        config_from_dict({"run": {"out": "o", "outt": 1}, "simulate": {}}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"\[clump\] unknown key 'p3' for 'edfgen clump'"):
        config_from_dict({"run": {"out": "o"}, "simulate": {}, "clump": {"p3": 1}}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"\[gwas\] out: set by the pipeline"):
        config_from_dict({"run": {"out": "o"}, "simulate": {}, "gwas": {"out": "x"}}, base=tmp_path)


def test_load_config__a_stage_sections_error_names_the_file_and_a_bom_is_read(tmp_path):
    """`[gwas] maff = 0.01` said "[gwas] unknown key 'maff'" without the file (every [run]/[inputs] error names
    it); a config saved with a UTF-8 BOM failed as 'invalid TOML' (review findings)."""
    cfg = tmp_path / "my.toml"
    cfg.write_text('[run]\nout = "o"\n[simulate]\n[gwas]\nmaff = 0.01\n')
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert str(err.value).startswith(f"{cfg}: ") and "[gwas] unknown key 'maff'" in str(err.value)
    cfg.write_bytes(b"\xef\xbb\xbf" + b'[run]\nout = "o"\n[simulate]\n')
    assert load_config(cfg).out == (tmp_path / "o").resolve()


def test_load_config__one_genome_build_for_every_stage(tmp_path):
    """[gwas] reference_genome = GRCh37 (without [inputs]) is every genotype stage's build: clump and annotate
    got GRCh38 (review finding: GRCh37 loci annotated against GRCh38 positions and genes); sections naming
    different builds are an error."""
    cfg = config_from_dict({"run": {"out": "o"}, "simulate": {}, "gwas": {"reference_genome": "GRCh37"}}, base=tmp_path)
    assert cfg.inputs["reference_genome"] == "GRCh37"
    with pytest.raises(ConfigError, match=r"reference_genome differs between sections \(\[gwas\] GRCh37, "
                                          r"\[annotate\] GRCh38\)"):
        config_from_dict({"run": {"out": "o"}, "simulate": {}, "gwas": {"reference_genome": "GRCh37"},
                          "annotate": {"reference_genome": "GRCh38"}}, base=tmp_path)
    assert "reference_genome" not in config_from_dict({"run": {"out": "o"}, "simulate": {}}, base=tmp_path).inputs


def test_load_config__missing_required_inputs(tmp_path):
    with pytest.raises(ConfigError, match=r"\[run\] out is required"):
        config_from_dict({"simulate": {}}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"\[inputs\] ecg is required"):
        config_from_dict({"run": {"out": "o"}}, base=tmp_path)
    with pytest.raises(InputError, match=r"bfile .*missing.bed:? (file )?not found"):
        config_from_dict({"run": {"out": "o"}, "inputs": {"ecg": ".", "covar": ".", "bfile": "missing"}}, base=tmp_path)


def test_load_config__invalid_toml_is_one_line(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[run\nout = 1")
    res = CliRunner().invoke(cli, ["run", "--config", str(p)])
    assert res.exit_code == 2
    assert "invalid TOML" in res.output and len(res.output.strip().splitlines()) == 1


@pytest.mark.parametrize("raw, message", [
    ({"run": {"out": 5}}, r"\[run\] out: expected a string"),
    ({"run": {"out": "o", "two_sample_split": "false"}}, r"\[run\] two_sample_split: expected true or false"),
    ({"run": {"out": "o", "biomarker_gwas": 1}}, r"\[run\] biomarker_gwas: expected true or false"),
    ({"run": {"out": "o"}, "inputs": {"ecg": 3}}, r"\[inputs\] ecg: expected a path"),
    ({"run": {"out": "o"}, "gwas": {"maf": "abc"}}, r"\[gwas\] maf: expected a number, got 'abc'"),
    ({"run": {"out": "o"}, "gwas": {"maf": 0.7}}, r"\[gwas\] maf: 0.7 must be <= 0.5"),
    ({"run": {"out": "o"}, "gwas": {"no_plots": "true"}}, r"\[gwas\] no_plots: expected true or false"),
    ({"run": {"out": "o"}, "gwas": {"transform": "log"}}, r"\[gwas\] transform: 'log' is not one of"),
    ({"run": {"out": "o"}, "gwas_outcomes": {"covar_cols": [1, 2]}}, r"\[gwas_outcomes\] covar_cols: expected a list of strings"),
    ({"run": {"out": "o"}, "extract": {"batch_size": 2.5}}, r"\[extract\] batch_size: expected an integer"),
    ({"run": {"out": "o"}, "extract": {"batch_size": True}}, r"\[extract\] batch_size: expected an integer"),
    ({"run": {"out": "o"}, "extract": {"batch_size": 0}}, r"\[extract\] batch_size: 0 must be >= 1"),
    ({"run": {"out": "o"}, "clump": {"p1": "5e-8"}}, r"\[clump\] p1: expected a number"),
    ({"run": {"out": "o"}, "mr": {"nboot": "many"}}, r"\[mr\] nboot: expected an integer"),
    ({"run": {"out": "o"}, "mr": {"prevalence": 1.5}}, r"\[mr\] prevalence: 1.5 must be < 1"),
    ({"run": {"out": "o"}, "simulate": {"n": "100"}}, r"\[simulate\] n: expected an integer"),
    ({"run": {"out": "o"}, "annotate": {"window_kb": "wide"}}, r"\[annotate\] window_kb: expected a number"),
    ({"run": {"out": "o"}, "interpret": {"clusters": 0}}, r"\[interpret\] clusters: 0 must be >= 1"),
    ({"run": {"out": "o"}, "mr": "fast"}, r"\[mr\] must be a table"),
])
def test_load_config__every_value_type_checked_before_any_stage(tmp_path, raw, message):
    """A wrongly typed value is a one-line ConfigError naming the section and key, raised when the config
    is read (before any stage runs), and `edfgen run` exits 2 with that line, writing nothing."""
    raw = {"simulate": {}, **raw}
    with pytest.raises(ConfigError, match=message):
        config_from_dict(raw, base=tmp_path)
    from edfgen.pipeline import render_toml

    p = tmp_path / "p.toml"
    p.write_text(render_toml(raw) if all(isinstance(v, dict) for v in raw.values()) else "")
    if p.read_text():
        res = CliRunner().invoke(cli, ["run", "--config", str(p)])
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
        assert sorted(x.name for x in tmp_path.iterdir()) == ["p.toml"]


@pytest.mark.parametrize("code, want", [(-9, "-9"), (-9.5, "-9.5"), ("none", "none")])
def test_load_config__missing_code_may_be_a_toml_number(tmp_path, code, want):
    """``[gwas] missing_code = -9`` (a TOML number, as users write the code) was refused as "expected a string";
    a boolean still is."""
    cfg = config_from_dict({"simulate": {}, "run": {"out": "o"}, "gwas": {"missing_code": code}}, base=tmp_path)
    assert cfg.stages["gwas"].missing_code == want
    with pytest.raises(ConfigError, match=r"\[gwas\] missing_code: expected a string"):
        config_from_dict({"simulate": {}, "run": {"out": "o"}, "gwas": {"missing_code": True}}, base=tmp_path)


def test_pipeline__never_enters_the_cli():
    """The pipeline builds the commands' options dataclasses itself (the CLI generates its options from the
    same classes), so it never imports the CLI or click."""
    import edfgen.pipeline as pipeline

    assert "edfgen.cli" not in Path(pipeline.__file__).read_text() and "click" not in Path(pipeline.__file__).read_text()


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, sim_cohort, hail_context):
    """Every stage of `edfgen run` on the shared small simulated cohort (n=1000); reused by the
    report, resume and notebook tests."""
    from edfgen.pipeline import STAGE_OPTIONS, packaged_catalog
    from edfgen.pipeline import render_toml, run_pipeline

    c = sim_cohort
    raw = {"run": {"out": "run", "biomarker_gwas": True, "pca": False,   # (the pca stage: test_ukb_recipe)
                   "genetics": True},
           "inputs": {"ecg": f"{c}/ecg", "bfile": f"{c}/genotypes", "covar": f"{c}/covariates.tsv",
                      "biomarkers": f"{c}/physiology.tsv", "outcomes": f"{c}/outcomes.tsv", "truth": f"{c}/truth.json",
                      "catalog": str(packaged_catalog())},
           **STAGE_OPTIONS, "mr": {"nboot": 50, "presso_sims": 100, "max_plots": 3},
           "ldsc": {"rg": False},    # (rg: tests/test_ldsc.py; every pair here would take minutes)
           "coloc": {"max_causal": 3}}
    # test time: the truth checks read IVW / Wald ratio p-values (no bootstrap) and no test here reads the MR plots
    # or coloc's numbers (the planted loci have one or two causal variants; L = 10 fits, ~1,500 of them, took a
    # minute): 50 draws for the mode estimates' SEs, the plots of 3 pairs, L = 3
    d = tmp_path_factory.mktemp("pipeline")
    (d / "pipeline.toml").write_text(render_toml(raw))
    return run_pipeline(load_config(d / "pipeline.toml"))


def test_run__writes_every_stage_and_top_level_files(small_run):
    out = small_run.out
    for f in ("manifest.json", "loci.tsv", "mr_results.tsv", "report.html", STATE_FILE):
        assert (out / f).exists(), f
    ran = {s.name for s in small_run.stages if s.status == "ran"}
    assert ran == {"extract", "interpret", "gwas", "gwas_outcomes", "gwas_biomarkers", "clump", "clump_biomarkers",
                   "annotate", "mr", "mr_biomarkers", "ldsc", "finemap", "coloc"}
    html = (out / "report.html").read_text()
    for section in ("Cohort", "EDFs and known biomarkers", "GWAS of EDFs", "Independent loci",
                    "Mendelian randomization", "Truth", "Heritability", "Fine-mapping", "Colocalisation"):
        assert section in html, section
    assert "data:image/png;base64" in html
    man = json.loads((out / "manifest.json").read_text())
    assert man["command"] == "edfgen run" and {s["name"] for s in man["extra"]["stages"]} == ran
    # only the run's own files: a user's file kept in the folder (out = ".") is not listed (review finding: a
    # rerun then marked it unfinished and gwas refused the user's --covariates there, run after run)
    assert set(man["outputs"]) <= {"loci.tsv", "mr_results.tsv", "truth_summary.json", "report.html", STATE_FILE,
                                   "report_figures/"} and "report.html" in man["outputs"]


def test_run__truth_section_scores_planted_loci_and_links(small_run):
    from edfgen.report import score_truth

    out = small_run.out
    truth = json.loads(Path(load_config(out.parent / "pipeline.toml").inputs["truth"]).read_text())
    ts = score_truth(out, truth)
    # the small cohort (n=1000, effects x2) recovers most planted loci with few false ones
    assert ts.loci_recall >= 0.6 and ts.false_loci <= 3
    assert set(ts.mr["planted"]) == {True, False} and len(ts.mr) >= 10
    # the strongest planted link (heart rate -> GSVT) is found; at most 2 of ~70 null pairs pass Bonferroni
    # (one-sample design at n=1000: the demo splits the cohort in two for a proper two-sample design)
    hr = ts.mr[(ts.mr["exposure"] == "heart_rate_bpm") & (ts.mr["outcome"] == "GSVT")]
    assert hr["detected"].all() and len(hr) == 1
    assert ts.mr.loc[~ts.mr["planted"], "detected"].sum() <= 2


def test_demo__config_round_trips_through_toml_and_validates(tmp_path):
    import tomllib

    from edfgen.pipeline import demo_config
    from edfgen.pipeline import render_toml

    raw = demo_config(n=100, seed=1)
    assert tomllib.loads(render_toml(raw)) == raw
    cfg = config_from_dict(raw, base=tmp_path)
    assert not cfg.two_sample_split and "simulate" in cfg.stages and cfg.inputs["catalog"].exists()
    assert cfg.stages["simulate"].biobank == 200    # the disease GWAS's own, larger sample


def test_run__resumes_skipping_finished_stages(small_run):
    from edfgen.pipeline import run_pipeline

    toml = small_run.out.parent / "pipeline.toml"
    res = run_pipeline(load_config(toml))
    assert {s.status for s in res.stages} == {"skipped"}
    # a changed option reruns that stage, not the upstream ones
    toml.write_text(toml.read_text().replace("[annotate]\n", "[annotate]\nwindow_kb = 250\n"))
    res = run_pipeline(load_config(toml))
    status = {s.name: s.status for s in res.stages}
    assert status["annotate"] == "ran" and status["extract"] == "skipped" and status["gwas"] == "skipped"


def test_demo__refuses_foreign_nonempty_dir(tmp_path):
    (tmp_path / "precious.txt").write_text("x")
    res = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--force" in res.output
    assert (tmp_path / "precious.txt").read_text() == "x"


def test_demo__a_folder_holding_only_a_killed_runs_lock_is_not_foreign(tmp_path, monkeypatch):
    """Second read s39: a demo killed before its state file left only `.edfgen.lock` (or the takeover helper), and
    the rerun was refused as a foreign non-empty folder ("use --force"); the lock files are not data."""
    import edfgen.pipeline as pl
    from edfgen.formats.lock import HIDDEN_NAMES

    for name in HIDDEN_NAMES:
        (tmp_path / name).write_text("")

    def stub(cfg, force=False):
        raise InputError("stub: the pipeline would run here")

    monkeypatch.setattr(pl, "run_pipeline", stub)
    with pytest.raises(InputError, match="stub: the pipeline would run here"):
        pl.run_demo(pl.DemoOptions(out=str(tmp_path)))


@pytest.mark.parametrize("name", ["01_manhattan.ipynb", "02_loci_and_novelty.ipynb", "03_mendelian_randomization.ipynb",
                                  "04_genetics_and_truth.ipynb"])
def test_notebooks__first_cell_names_the_folder_and_the_subfolders_they_read(name):
    """Review s32c: 01 and 03 said they read an `edfgen gwas` / `edfgen mr` folder; they read OUT/gwas, OUT/mr of
    an `edfgen run` folder, and a command's own folder failed with FileNotFoundError."""
    import json
    import re

    cells = json.loads((REPO / "notebooks" / name).read_text())["cells"]
    intro = "".join(cells[0]["source"])
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    read = set(re.findall(r'OUT / "([a-z_]+)"', code)) - {"notebook_figures"}
    assert "`edfgen run`" in intro and read and all(f"{d}/" in intro for d in read), (read, intro)

#: what each notebook prints when its sections ran on the small run (none skipped for want of a file)
NOTEBOOK_PRINTS = {"04_genetics_and_truth.ipynb": [
    r"\d+ phenotypes; median h2 [\d.]+; median LDSC intercept [\d.]+", r"no ldsc/rg\.tsv",   # small_run: rg off
    r"\d+ credible sets at \d+ loci", r"\d+ tests; \d+ with PP\.H4 >= 0\.8", r"loci recovered \d+/\d+",
    r"biomarkers: LDSC h2 vs planted h2", r"planted causal variants in a 95% credible set",
    r"variants within 250 kb, \d+ samples; r² agrees with edfgen"]}


@pytest.mark.parametrize("name", ["01_manhattan.ipynb", "02_loci_and_novelty.ipynb", "03_mendelian_randomization.ipynb",
                                  "04_genetics_and_truth.ipynb"])
def test_notebooks__execute_on_a_small_run(small_run, name):
    """Each notebook runs headless on a small pipeline output (04 reads the ldsc/finemap/coloc tables and
    truth_summary.json, and loads genotypes with pandas-plink, its LD checked against edfgen's in the notebook)."""
    import re

    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "notebooks are stored without outputs"
    os.environ["EDFGEN_OUT"] = str(small_run.out)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    finally:
        os.environ.pop("EDFGEN_OUT", None)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    for pattern in NOTEBOOK_PRINTS.get(name, []):
        assert re.search(pattern, printed), (pattern, printed[-3000:])


#: every table a pipeline run writes -> its data-dictionary entry (regex on the path inside the run directory)
PIPELINE_TABLES = [
    (r"extract/edfs\.tsv", "edf_table"), (r"extract/edfs\.tsv\.pheno", "edf_pheno"),
    (r"extract/edfs\.tsv\.rejects\.tsv", "ecg_rejects"), (r"extract/edfs\.tsv\.notes\.tsv", "ecg_notes"),
    (r"interpret/associations\.tsv", "edf_associations"), (r"interpret/clusters\.tsv", "edf_clusters"),
    (r"gwas[a-z_]*/[^/]+\.tsv\.gz", "sumstats"), (r"gwas[a-z_]*/gwas_summary\.tsv", "gwas_summary"),
    (r"gwas[a-z_]*/qc_report\.tsv", "qc_report"), (r"gwas[a-z_]*/samples\.tsv", "gwas_samples"),
    (r"(clump[a-z_]*/)?clumps\.tsv", "clumps"), (r"clump[a-z_]*/loci\.tsv", "loci"), (r"loci\.tsv", "study_loci"),
    (r"pca/pcs\.tsv", "pcs"), (r"pca/eigenvalues\.tsv", "pca_eigenvalues"), (r"pca/pruned_variants\.tsv", "pca_variants"),
    (r"covariates/covariates_pcs\.tsv", "covariates_pcs"),
    (r"clump[a-z_]*/rejects\.tsv", "clump_rejects"), (r"clump[a-z_]*/truth_recovery\.tsv", "truth_recovery"),
    (r"annotate/annotated_loci\.tsv", "annotated_loci"),
    (r"(mr[a-z_]*/)?harmonised\.tsv", "mr_harmonised"), (r"(mr[a-z_]*/)?mr_results\.tsv", "mr_results"),
    (r"mr[a-z_]*/mr_heterogeneity\.tsv", "mr_heterogeneity"), (r"mr[a-z_]*/mr_pleiotropy\.tsv", "mr_pleiotropy"),
    (r"mr[a-z_]*/mr_leaveoneout\.tsv", "mr_leaveoneout"), (r"mr[a-z_]*/mr_singlesnp\.tsv", "mr_singlesnp"),
    (r"mr[a-z_]*/mr_steiger\.tsv", "mr_steiger"), (r"mr[a-z_]*/mr_presso\.tsv", "mr_presso"),
    (r"split/edfs\.half_a\.tsv", "edf_table"), (r"split/outcomes\.half_b\.tsv", "outcomes"),
    (r"split/biomarkers\.half_a\.tsv", "physiology"),
    (r"ldsc/h2\.tsv", "ldsc_h2"), (r"ldsc/rg\.tsv", "ldsc_rg"),
    (r"finemap/credible_sets\.tsv", "finemap_credible_sets"), (r"finemap/pip\.tsv", "finemap_pip"),
    (r"finemap/ld_check\.tsv", "finemap_ld_check"), (r"coloc/coloc\.tsv", "coloc"),
]


def test_run__every_table_written_is_in_the_data_dictionary(small_run):
    import re

    from edfgen.formats.dictionary import check_file

    tables = [p for p in small_run.out.rglob("*") if p.is_file() and re.search(r"\.(tsv|tsv\.gz|pheno)$", p.name)]
    assert len(tables) > 50
    for p in tables:
        rel = p.relative_to(small_run.out).as_posix()
        entry = next((e for pat, e in PIPELINE_TABLES if re.fullmatch(pat, rel)), None)
        assert entry is not None, f"{rel}: written by the pipeline but mapped to no data_dictionary entry"
        if p.suffix == ".pheno":
            from edfgen.formats.dictionary import check_columns

            check_columns(entry, pd.read_csv(p, sep=r"\s+", nrows=0).columns)
        else:
            check_file(entry, p)


def test_run__hashes_each_input_once(tmp_path, monkeypatch):
    """Within `edfgen run` (formats.manifest.memoised_digests), the stage keys and the stages' manifests
    share one digest per input file (memoised by path and stat): a file is read again only when it changed."""
    import builtins

    import edfgen.formats.manifest as m

    reads = []
    monkeypatch.setattr(m, "open", lambda p, *a, **k: reads.append(str(p)) or builtins.open(p, *a, **k),
                        raising=False)
    f = tmp_path / "x.tsv"
    f.write_text("a\n")
    with m.memoised_digests():
        key = m.input_digest(f)                      # the pipeline's stage key
        man = m.Manifest(command="edfgen gwas")
        man.add_inputs([f, tmp_path])                # the stage's manifest: the file, and a folder holding it
        assert man.inputs[str(f)] == key and reads == [str(f)]
        f.write_text("bb\n")                        # rewritten by a stage: hashed again
        assert m.input_digest(f) != key and reads == [str(f)] * 2
    assert m.input_digest(f) == m.input_digest(f) and reads == [str(f)] * 4   # outside a run: no memo


def test_load_config__sections_build_the_commands_options(tmp_path):
    """A TOML section builds the command's own options dataclass: defaults from the class, paths resolved
    against the TOML's folder, the genotype formats other than [inputs] bfile refused."""
    from edfgen.commands.gwas import GwasOptions
    from edfgen.commands.mr import MROptions

    cfg = config_from_dict({"run": {"out": "o"}, "simulate": {}, "mr": {"ld_bfile": "panel", "nboot": 50},
                            "gwas": {"reference_genome": "GRCh37"}}, base=tmp_path)
    assert cfg.stages["mr"] == MROptions(ld_bfile=str(tmp_path / "panel"), nboot=50)
    assert cfg.stages["gwas"] == GwasOptions(reference_genome="GRCh37")
    assert cfg.stages["gwas_outcomes"].reference_genome == "GRCh38"
    for section in ("gwas", "clump", "mr"):
        with pytest.raises(ConfigError, match=rf"\[{section}\] pfile: set by the pipeline"):
            config_from_dict({"run": {"out": "o"}, "simulate": {}, section: {"pfile": "x"}}, base=tmp_path)


def test_run__stage_reruns_when_a_file_named_by_an_option_changes(tmp_path, monkeypatch):
    """A stage's key covers the files its options name outside the run (a --keep list, a checkpoint's JSON and
    weights): rewriting one reruns the stage (review finding: `keep` rewritten with other IDs, or a checkpoint
    retrained in place, left every stage 'skipped' with stale results); unchanged, the stage is skipped."""
    import json as _json

    import edfgen.pipeline as pl

    calls = []

    def fake_run(options):
        out = Path(options.out)
        folder = out.parent if out.suffix else out
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "manifest.json").write_text(_json.dumps({"command": f"edfgen {options.command}",
                                                           "finished": "now", "outputs": []}))
        calls.append(options.command)

    monkeypatch.setattr(pl, "run_command", fake_run)
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    keep = tmp_path / "o" / "keep.txt"          # inside the run's folder (out = "." beside the user's files)
    keep.parent.mkdir()
    keep.write_text("a\nb\nc\n")
    ck = tmp_path / "ck"
    ck.with_suffix(".json").write_text("{}")
    ck.with_suffix(".safetensors").write_bytes(b"w1")

    def run_once():
        r = pl._Runner(cfg)
        r.stage("gwas", "gwas", {"keep_ids": str(keep), "out": tmp_path / "o" / "gwas"}, [], tmp_path / "o" / "gwas")
        r.stage("extract", "extract", {"checkpoint": str(ck), "out": tmp_path / "o" / "x" / "edfs.tsv"}, [],
                tmp_path / "o" / "x", manifest=tmp_path / "o" / "x" / "manifest.json")
        r._write_state()
        return [s.status for s in r.records]

    assert "skipped" not in run_once() and run_once() == ["skipped", "skipped"] and calls == ["gwas", "extract"]
    keep.write_text("a\nb\n")
    assert run_once()[0] != "skipped" and calls[-1] == "gwas"
    ck.with_suffix(".safetensors").write_bytes(b"w2")                 # weights retrained in place
    got = run_once()
    assert got[0] == "skipped" and got[1] != "skipped" and calls[-1] == "extract"


def test_run__a_stage_folder_with_a_users_file_is_refused_without_the_force_hint(tmp_path, monkeypatch):
    """A stage folder holding a file edfgen did not write is refused; the message said "use --force", which
    `edfgen run --force` cannot pass on (the pipeline never forces a stage): it now says to move the file."""
    import edfgen.pipeline as pl
    from edfgen.exceptions import InputError as _InputError
    from edfgen.formats.tables import prepare_out_dir

    monkeypatch.setattr(pl, "run_command", lambda o: prepare_out_dir(o.out, force=o.force, command="edfgen gwas"))
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    (tmp_path / "o" / "gwas").mkdir(parents=True)
    (tmp_path / "o" / "gwas" / "notes.txt").write_text("mine")
    with pytest.raises(_InputError) as err:
        pl._Runner(cfg, force=True).stage("gwas", "gwas", {"out": tmp_path / "o" / "gwas"}, [], tmp_path / "o" / "gwas")
    assert str(err.value).startswith("stage gwas: --out ") and "--force" in str(err.value)
    assert "use --force" not in str(err.value) and "notes.txt was not written by edfgen" in str(err.value)
    assert (tmp_path / "o" / "gwas" / "notes.txt").read_text() == "mine"


def test_run__a_stage_folder_holding_an_empty_folder_names_it(tmp_path, monkeypatch):
    """Review s32b F9: a stage folder holding only an empty sub-folder of the user's was refused as "with files
    edfgen did not write", naming none (there are none). The refusal names what is there."""
    import edfgen.pipeline as pl
    from edfgen.formats.tables import prepare_out_dir

    monkeypatch.setattr(pl, "run_command", lambda o: prepare_out_dir(o.out, force=o.force, command="edfgen mr"))
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    mr = tmp_path / "o" / "mr"
    (mr / "plots").mkdir(parents=True)
    with pytest.raises(InputError) as err:
        pl._Runner(cfg).stage("mr", "mr", {"out": mr}, [], mr)
    assert "holding plots/ (empty) that edfgen did not write: move them away" in str(err.value)
    assert (mr / "plots").is_dir()


def test_run__a_users_file_in_a_stage_folder_is_named_before_any_earlier_output_is_removed(tmp_path, monkeypatch):
    """A stage to rerun removed every earlier output of its folder, then its command refused the folder because of
    a user's file, with a message that did not say which (review s30e F5): the file is named, nothing removed."""
    import edfgen.pipeline as pl
    from edfgen.formats.manifest import Manifest, read_manifest

    ran = []
    monkeypatch.setattr(pl, "run_command", ran.append)
    gw = tmp_path / "o" / "gwas"
    (gw / "plots").mkdir(parents=True)
    m = Manifest(command="edfgen gwas")
    m.outputs = ["edf_001.tsv.gz", "plots/edf_001.png"]
    for f in m.outputs:
        (gw / f).write_text("earlier output")
    m.write(gw)
    (gw / "plots" / "my_notes.txt").write_text("mine")
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    with pytest.raises(InputError) as err:
        pl._Runner(cfg, force=True).stage("gwas", "gwas", {"out": gw}, [], gw)
    assert str(err.value) == (f"stage gwas: --out {gw}: plots/my_notes.txt was not written by edfgen (not listed in "
                              "its manifest.json); move it away: edfgen run replaces only its own files, --force or not")
    assert not ran and read_manifest(gw, complete=True) is not None
    assert [(gw / f).read_text() for f in m.outputs] == ["earlier output"] * 2
    (gw / "plots" / "my_notes.txt").unlink()
    pl._Runner(cfg, force=True).stage("gwas", "gwas", {"out": gw}, [], gw)   # edfgen's own files only: it reruns
    assert len(ran) == 1 and not (gw / "edf_001.tsv.gz").exists()


def test_run__a_rerun_that_fails_leaves_the_run_manifest_in_progress(tmp_path, monkeypatch):
    """The run's manifest.json was written only at the end: a rerun that failed halfway left the earlier run's
    summary files (loci.tsv, report.html) marked complete beside the new stages' outputs (review finding). It is
    marked in progress when a run starts."""
    import edfgen.pipeline as pl
    from edfgen.exceptions import InputError as _InputError
    from edfgen.formats.manifest import Manifest, read_manifest

    out = tmp_path / "o"
    out.mkdir()
    m = Manifest(command="edfgen run")
    m.outputs = ["loci.tsv"]
    (out / "loci.tsv").write_text("locus\n")
    m.write(out)
    assert read_manifest(out, complete=True) is not None

    def fail(options):
        raise _InputError("stage input went wrong")

    monkeypatch.setattr(pl, "run_command", fail)
    cfg = config_from_dict({"run": {"out": str(out)}, "simulate": {}}, base=tmp_path)
    with pytest.raises(_InputError, match="stage simulate: stage input went wrong"):
        pl.run_pipeline(cfg)
    assert read_manifest(out, complete=True) is None and read_manifest(out)["extra"]["in_progress"]
    assert (out / "loci.tsv").exists()


def test_covar_cols_with_pcs__listed_pcs_and_ranges_not_added_twice():
    """The README's pipeline.toml lists covar_cols "age,sex,centre,PC1..PC10" and the pca stage appended PC1..PC10
    again (the range was compared as text), stopping the GWAS on a collinear covariate (review finding)."""
    from edfgen.commands.study_inputs import covar_cols_with_pcs

    pcs = [f"PC{i}" for i in range(1, 11)]
    assert covar_cols_with_pcs(("age", "sex", "centre", "PC1..PC10"), pcs) == ("age", "sex", "centre", "PC1..PC10")
    assert covar_cols_with_pcs(("age", "PC1..PC4"), pcs) == ("age", "PC1..PC4", *pcs[4:])
    assert covar_cols_with_pcs(("age", "PC2"), pcs) == ("age", "PC2", "PC1", *pcs[2:])


def test_load_config__one_build_reads_the_deprecated_genome_assembly_key_too(tmp_path):
    """[gwas] genome_assembly = "GRCh37" (the deprecated name, still accepted) set only the gwas stage's build;
    clump and annotate stayed GRCh38 and a conflicting [annotate] build was accepted (second review)."""
    cfg = config_from_dict({"run": {"out": "o"}, "simulate": {}, "gwas": {"genome_assembly": "GRCh37"}}, base=tmp_path)
    assert cfg.inputs["reference_genome"] == "GRCh37"
    with pytest.raises(ConfigError, match="reference_genome differs between sections"):
        config_from_dict({"run": {"out": "o"}, "simulate": {}, "gwas": {"genome_assembly": "GRCh37"},
                          "annotate": {"reference_genome": "GRCh38"}}, base=tmp_path)


def test_config__checkpoint_path_is_relative_to_the_config_like_every_other_path(tmp_path):
    """`[extract] checkpoint = "../ck/tiny.json"` was left relative to the current directory (every other path
    is the config's folder's): the run failed late, or used another checkpoint found from the current
    directory (review finding). A shipped name stays a name."""
    sub = tmp_path / "cfg"
    sub.mkdir()
    (tmp_path / "ck").mkdir()
    for f in (tmp_path / "ck" / "tiny.json", sub / "my_encoder.json"):   # (a checkpoint not found is refused)
        f.write_text("{}")
    cfg = config_from_dict({"run": {"out": "o"}, "simulate": {}, "extract": {"checkpoint": "../ck/tiny.json"}}, base=sub)
    assert cfg.stages["extract"].checkpoint == str((tmp_path / "ck" / "tiny.json").resolve())
    cfg = config_from_dict({"run": {"out": "o"}, "simulate": {}, "extract": {"checkpoint": "tiny"}}, base=sub)
    assert cfg.stages["extract"].checkpoint == "tiny"
    # a bare local prefix (no '/', no suffix) that is no shipped name is the config folder's too
    cfg = config_from_dict({"run": {"out": "o"}, "simulate": {}, "extract": {"checkpoint": "my_encoder"}}, base=sub)
    assert cfg.stages["extract"].checkpoint == str((sub / "my_encoder").resolve())


def test_load_config__stage_keys_are_the_commands_option_names_too(tmp_path):
    """README: "each stage section takes that command's options"; `[gwas] covariates = ...` (and max_plots, chr,
    keep, remove) was refused as unknown because only the field names (covar_cols, plots_max, chromosomes,
    keep_ids, remove_ids) were keys. Both spellings build the same options; both at once, an unknown key (with a
    suggestion) and a filter also in [inputs] stay one-line errors."""
    from edfgen.commands.gwas import GwasOptions

    keep = tmp_path / "keep.txt"
    keep.write_text("a\n")
    base = {"run": {"out": "o"}, "simulate": {}}
    cli = config_from_dict({**base, "gwas": {"covariates": "age,sex", "max_plots": 3, "chr": "1-2", "keep": "keep.txt",
                                             "remove": "keep.txt", "pheno-prefix": "edf_"}}, base=tmp_path)
    fields = config_from_dict({**base, "gwas": {"covar_cols": ["age", "sex"], "plots_max": 3, "chromosomes": "1-2",
                                                "keep_ids": "keep.txt", "remove_ids": "keep.txt",
                                                "pheno_prefix": "edf_"}}, base=tmp_path)
    want = GwasOptions(covar_cols=("age", "sex"), plots_max=3, chromosomes="1-2", keep_ids=str(keep),
                       remove_ids=str(keep), pheno_prefix="edf_")
    assert cli.stages["gwas"] == fields.stages["gwas"] == want
    assert config_from_dict({**base, "interpret": {"p": 0.05}}, base=tmp_path).stages["interpret"].p_threshold == 0.05
    with pytest.raises(ConfigError, match=r"\[gwas\] covar_cols and covariates are the same option: give one"):
        config_from_dict({**base, "gwas": {"covar_cols": "age", "covariates": "sex"}}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"\[gwas\] unknown key 'covariate' for 'edfgen gwas' \(did you mean "
                                          r"covariates\?\) \(known: .*max_plots"):
        config_from_dict({**base, "gwas": {"covariate": "age"}}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"\[gwas\] covar: set by the pipeline"):
        config_from_dict({**base, "gwas": {"covar": "c.tsv"}}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"\[clump\] chr and \[inputs\] chr both given"):
        config_from_dict({**base, "inputs": {"chr": "1"}, "clump": {"chr": "2"}}, base=tmp_path)


def test_run__gwas_pheno_prefix_chooses_edfs_not_the_biomarker_gwas_columns(tmp_path, monkeypatch):
    """`[gwas] pheno_prefix = "edf_"` was applied to the biomarker GWAS too, which stopped ("physiology.tsv: no
    column starts with --pheno-prefix 'edf_'"): the biomarker GWAS takes every column of the biomarker table."""
    import dataclasses as dc

    import edfgen.pipeline as pl

    class Stop(Exception):
        pass

    seen = {}

    def fake_stage(self, name, section, wiring, inputs, out_dir, **kw):   # what _Runner.stage hands run_command
        seen[name] = dc.replace(self.cfg.stages[section], **wiring)
        if name == "gwas_biomarkers":
            raise Stop
        return out_dir

    monkeypatch.setattr(pl._Runner, "stage", fake_stage)
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o"), "biomarker_gwas": True, "pca": False}, "simulate": {},
                            "gwas": {"pheno_prefix": "edf_", "pheno_cols": "edf_001..edf_004", "maf": 0.05}},
                           base=tmp_path)
    with pytest.raises(Stop):
        pl._run_stages(cfg, force=False)
    assert seen["gwas"].pheno_prefix == "edf_" and seen["gwas"].pheno_cols == ("edf_001..edf_004",)
    bio = seen["gwas_biomarkers"]
    assert bio.pheno_prefix is None and bio.pheno_cols is None and bio.maf == 0.05
    assert str(bio.pheno).endswith("physiology.tsv")
    cohort = tmp_path / "o" / "cohort"     # every GWAS keeps its genotypes and covariates
    assert seen["gwas"].bfile == bio.bfile == str(cohort / "genotypes")
    assert str(seen["gwas"].covar) == str(bio.covar) == str(cohort / "covariates.tsv")
    assert seen["gwas_outcomes"].bfile == str(cohort / "genotypes") and seen["gwas_outcomes"].binary


def test_run__stages_no_longer_asked_for_are_not_used_and_their_outputs_go(tiny_sim_cohort, tmp_path):
    """Review s30e F1, F4: the pipeline wired a stage by whether its folder existed, so with outcomes (or
    biomarkers) taken out of [inputs] the earlier run's gwas_outcomes (gwas_biomarkers, clump_biomarkers) still fed
    MR, clump and ldsc, and stayed in the report; with no MR instruments the earlier run's mr_results.tsv stayed,
    listed as this run's. Only the configured stages run, and what the others wrote earlier is removed (a user's
    file kept)."""
    from edfgen.formats.manifest import read_manifest
    from edfgen.pipeline import render_toml, run_pipeline

    c = tiny_sim_cohort
    raw = {"run": {"out": "run", "pca": False, "biomarker_gwas": True},
           "inputs": {"ecg": str(c / "ecg"), "bfile": str(c / "genotypes"), "covar": str(c / "covariates.tsv"),
                      "outcomes": str(c / "outcomes.tsv"), "biomarkers": str(c / "physiology.tsv")},
           "extract": {"checkpoint": "tiny", "workers": 0, "batch_size": 16, "chunk_size": 32},
           "gwas": {"covar_cols": "age,sex", "no_plots": True}, "gwas_outcomes": {"covar_cols": "age,sex", "no_plots": True},
           "clump": {"p1": 1e-4}, "mr": {"nboot": 20, "presso_sims": 0, "plots": False, "p_threshold": 1e-4}}

    def run():
        (tmp_path / "pipeline.toml").write_text(render_toml(raw))
        res = run_pipeline(load_config(tmp_path / "pipeline.toml"))
        return {s.name: s.status for s in res.stages}, res.out, read_manifest(res.out, complete=True)["outputs"]

    got, out, listed = run()
    assert got["mr"] == got["mr_biomarkers"] == "ran" and "mr_results.tsv" in listed
    (out / "mr" / "my_notes.txt").write_text("mine")
    raw["clump"] = {"p1": 1e-300}                                # no index variants: no MR instruments
    got, out, listed = run()
    assert got["mr"] == got["mr_biomarkers"] == "no-instruments"
    assert not (out / "mr_results.tsv").exists() and "mr_results.tsv" not in listed and not (out / "mr_biomarkers").exists()
    assert [p.name for p in (out / "mr").iterdir()] == ["my_notes.txt"]
    raw["clump"] = {"p1": 1e-4}
    del raw["inputs"]["outcomes"], raw["inputs"]["biomarkers"]   # neither configured any more
    got, out, listed = run()
    assert set(got) == {"extract", "gwas", "clump"}
    for stage in ("interpret", "gwas_outcomes", "gwas_biomarkers", "clump_biomarkers", "mr_biomarkers"):
        assert not (out / stage).exists(), stage
    assert set(json.loads((out / STATE_FILE).read_text())) == {"extract", "gwas", "clump"}
    assert (out / "mr" / "my_notes.txt").read_text() == "mine" and not (out / "mr_results.tsv").exists()


class StageReached(Exception):
    """Raised by the fake stages of :func:`wiring_until` and :func:`stop_at_first_stage`."""


def stop_at_first_stage(monkeypatch):
    """Fake ``edfgen run`` stages: the first one called appends its name to the returned list and raises
    :class:`StageReached` (what ran before any stage: the configuration's checks). Returns ``(seen, StageReached)``."""
    import edfgen.pipeline as pl

    seen = []

    def fake_stage(self, name, section, wiring, inputs, out_dir, **kw):
        seen.append(name)
        raise StageReached

    monkeypatch.setattr(pl._Runner, "stage", fake_stage)
    return seen, StageReached


def wiring_until(monkeypatch, last: str):
    """Fake ``edfgen run`` stages: each records its wiring in the returned dict (by stage name), gwas writes one
    GWAS-SSF file and clump a ``clumps.tsv`` (no ``loci.tsv``: the study's loci table is not made), and the stage
    ``last`` raises :class:`StageReached`. Returns ``(seen, StageReached)``."""
    import edfgen.pipeline as pl

    seen = {}

    def fake_stage(self, name, section, wiring, inputs, out_dir, **kw):
        seen[name] = wiring
        dataclasses.replace(self.cfg.stages[section], **wiring).checked()   # as edfgen.commands.run checks them
        if name == "gwas":
            out_dir.mkdir(parents=True, exist_ok=True)
            pd.DataFrame({"chromosome": ["1"], "base_pair_location": [10], "effect_allele": ["G"],
                          "other_allele": ["A"], "beta": [0.1], "standard_error": [0.01], "p_value": [1e-9],
                          "effect_allele_frequency": [0.3], "variant_id": ["1:10:A:G"], "n": [100]}
                         ).to_csv(out_dir / "edf_001.tsv.gz", sep="\t", index=False)
        if name == "clump":
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "clumps.tsv").write_text("phenotype\tvariant_id\nedf_001\t1:10:A:G\n")
        if name == last:
            raise StageReached
        return out_dir

    monkeypatch.setattr(pl._Runner, "stage", fake_stage)
    return seen, StageReached


def test_run__an_earlier_runs_stage_folder_is_never_wired_into_this_run(tmp_path, monkeypatch):
    """Review s30e F1: with outcomes and biomarkers out of [inputs], the folders gwas_outcomes/, gwas_biomarkers/
    of an earlier run (on other genotypes) still fed mr, clump_biomarkers and ldsc, because the pipeline asked
    whether they existed, not whether the configuration asked for them."""
    import edfgen.pipeline as pl

    seen, Stop = wiring_until(monkeypatch, "ldsc")
    for stale in ("gwas_outcomes", "gwas_biomarkers", "clump_biomarkers"):
        (tmp_path / "o" / stale).mkdir(parents=True)
    (tmp_path / "ecg").mkdir()
    for f in ("g.bed", "g.bim", "g.fam", "c.tsv"):
        (tmp_path / f).write_text("")
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o"), "biomarker_gwas": True, "pca": False, "genetics": True},
                            "inputs": {"ecg": "ecg", "bfile": "g", "covar": "c.tsv"}}, base=tmp_path)
    with pytest.raises(Stop):
        pl._run_stages(cfg, force=False)
    assert list(seen) == ["extract", "gwas", "clump", "ldsc"]
    assert seen["ldsc"]["sumstats"] == (tmp_path / "o" / "gwas",)


def test_runner_drop_stale__removes_only_what_the_stages_manifest_lists_even_under_force(tmp_path):
    """`edfgen run --force` started from an empty state, so it no longer knew the stages of the earlier run and could
    not drop them; the cohort of simulate, a user's file and a folder outside the run are never touched."""
    import edfgen.pipeline as pl
    from edfgen.formats.manifest import Manifest

    out = tmp_path / "o"
    state = {}
    for name, folder in (("mr", out / "mr"), ("simulate", out / "cohort"), ("ldsc", tmp_path / "elsewhere")):
        folder.mkdir(parents=True)
        (folder / "result.tsv").write_text("x")
        m = Manifest(command=f"edfgen {name}")
        m.outputs = ["result.tsv"]
        m.write(folder)
        state[name] = {"key": "k", "command": f"edfgen {name}", "wiring": {"out": str(folder)}}
    (out / "mr" / "mine.txt").write_text("mine")
    (out / STATE_FILE).write_text(json.dumps(state))
    cfg = config_from_dict({"run": {"out": str(out)}, "simulate": {}}, base=tmp_path)
    pl._Runner(cfg, force=True).drop_stale()
    assert sorted(p.name for p in (out / "mr").iterdir()) == ["mine.txt"]
    assert (out / "cohort" / "result.tsv").exists() and (tmp_path / "elsewhere" / "result.tsv").exists()
    assert set(json.loads((out / STATE_FILE).read_text())) == {"simulate"}


def test_runner_drop_stale__keeps_an_earlier_stage_folder_the_configuration_now_reads(tmp_path):
    """An earlier run's gwas_outcomes folder given as this run's [inputs]/[mr] input was read by the run, then
    removed by drop_stale as a stage no longer run (review s30i): what the configuration names is kept."""
    import edfgen.pipeline as pl
    from edfgen.formats.manifest import Manifest

    out = tmp_path / "o"
    state = {}
    for name in ("gwas_outcomes", "mr_biomarkers"):
        folder = out / name
        folder.mkdir(parents=True)
        (folder / "result.tsv").write_text("x")
        m = Manifest(command="edfgen gwas")
        m.outputs = ["result.tsv"]
        m.write(folder)
        state[name] = {"key": "k", "command": "edfgen gwas", "wiring": {"out": str(folder)}}
    (out / STATE_FILE).write_text(json.dumps(state))
    cfg = config_from_dict({"run": {"out": str(out)}, "simulate": {}}, base=tmp_path)
    cfg.inputs["outcomes"] = out / "gwas_outcomes"          # as [inputs] would set it
    pl._Runner(cfg).drop_stale()
    assert (out / "gwas_outcomes" / "result.tsv").exists()
    assert not (out / "mr_biomarkers").exists()


def test_run__interpret_measure_from_runs_without_biomarkers_and_reruns_when_its_ecgs_change(tmp_path, monkeypatch,
                                                                                             capsys):
    """Review s30j F2: `[interpret] measure_from` without `[inputs] biomarkers` was silently ignored (no interpret
    stage), and with it the stage key held the unused biomarker table, not the measured ECG folder, so replaced
    ECGs left interpret 'up to date' with the old measurements."""
    import json as _json

    import edfgen.pipeline as pl

    class Stop(Exception):
        pass

    calls = []

    def fake_run(options):
        if options.command == "gwas":
            raise Stop
        out = Path(options.out)
        folder = out.parent if out.suffix else out
        folder.mkdir(parents=True, exist_ok=True)
        (folder / ("edfs.tsv.manifest.json" if out.suffix else "manifest.json")).write_text(_json.dumps(
            {"command": f"edfgen {options.command}", "finished": "now", "outputs": []}))
        calls.append((options.command, getattr(options, "measure_from", None), getattr(options, "biomarkers", 0)))

    monkeypatch.setattr(pl, "run_command", fake_run)
    for d in ("ecg", "ecgm"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "P1.hea").write_text("P1 12 500 5000\n")
    for f in ("g.bed", "g.bim", "g.fam", "c.tsv"):
        (tmp_path / f).write_text("")
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o"), "biomarker_gwas": False, "pca": False},
                            "inputs": {"ecg": "ecg", "bfile": "g", "covar": "c.tsv"},
                            "interpret": {"measure_from": "ecgm"}}, base=tmp_path)

    def run_once():
        with pytest.raises(Stop):
            pl._run_stages(cfg, force=False)
        return [c[0] for c in calls]

    assert run_once() == ["extract", "interpret"]
    assert calls[-1][1] == str(tmp_path / "ecgm") and calls[-1][2] is None
    started = [ln for ln in capsys.readouterr().err.splitlines() if "interpret: started:" in ln]
    assert f"--measure-from {tmp_path / 'ecgm'}" in started[0]         # the log says which biomarkers were used
    assert run_once() == ["extract", "interpret"]                      # unchanged: both skipped
    (tmp_path / "ecgm" / "P1.hea").write_text("P1 12 500 5001\n")      # a measured ECG replaced
    assert run_once() == ["extract", "interpret", "interpret"]


def test_run__pfile_with_the_pca_stage_is_refused_before_any_stage(tmp_path, monkeypatch):
    """Review s30j F1: with `[inputs] pfile` and covariates without PCs, the pca stage (on by default) stopped the
    run after extract had run; the configuration is refused first, naming the conversion. With PCs in the
    covariates (no pca stage) a pfile run goes on."""
    import edfgen.pipeline as pl
    from edfgen.exceptions import ConfigError

    seen, Stop = stop_at_first_stage(monkeypatch)
    (tmp_path / "ecg").mkdir()
    for f in ("g.pgen", "g.pvar", "g.psam"):
        (tmp_path / f).write_text("")
    (tmp_path / "c.tsv").write_text("IID\tage\nP1\t50\n")
    (tmp_path / "pc.tsv").write_text("IID\tage\tPC1\nP1\t50\t0.1\n")
    raw = {"run": {"out": str(tmp_path / "o"), "biomarker_gwas": False},
           "inputs": {"ecg": "ecg", "pfile": "g", "covar": "c.tsv"}}
    with pytest.raises(ConfigError, match=r"\[inputs\] pfile .*g: the pca stage .*plink2 --pfile .*g --make-bed"):
        pl._run_stages(config_from_dict(raw, base=tmp_path), force=False)
    assert seen == []
    with pytest.raises(Stop):
        pl._run_stages(config_from_dict({**raw, "inputs": {**raw["inputs"], "covar": "pc.tsv"}}, base=tmp_path),
                       force=False)
    assert seen == ["extract"]


def test_run__stage_covariates_missing_from_their_table_are_refused_before_any_stage(tmp_path, monkeypatch):
    """Review s31d #3: `[gwas_outcomes] covariates = "...,PC1..PC10"` with a biobank (`outcomes_bfile`) whose
    covariates hold no PCs stopped the run after extract, pca and gwas, with a hint to add a [pca] section (whose
    PCs are the study's only). Now refused before any stage, naming the section, the file and what to do; the
    PCs that the pca stage will add to the study covariates count as present."""
    import edfgen.pipeline as pl

    seen, Stop = stop_at_first_stage(monkeypatch)
    (tmp_path / "ecg").mkdir()
    for f in ("g", "bb"):
        for ext in ("bed", "bim", "fam"):
            (tmp_path / f"{f}.{ext}").write_text("")
    (tmp_path / "c.tsv").write_text("IID\tage\tsex\nP1\t50\t1\n")
    (tmp_path / "bb.tsv").write_text("IID\tage\tsex\nB1\t50\t1\n")
    (tmp_path / "y.tsv").write_text("IID\tAF\nB1\t1\n")
    inputs = {"ecg": "ecg", "bfile": "g", "covar": "c.tsv", "outcomes": "y.tsv"}
    pcs = {"covariates": "age,sex,PC1..PC10"}

    def run(inp, **sections):
        seen.clear()
        raw = {"run": {"out": str(tmp_path / "o"), "biomarker_gwas": False}, "inputs": inp, **sections}
        pl._run_stages(config_from_dict(raw, base=tmp_path), force=False)

    biobank = {**inputs, "outcomes_bfile": "bb", "outcomes_covar": "bb.tsv"}
    with pytest.raises(ConfigError, match=r"\[gwas_outcomes\] covariates: column\(s\) PC1, .*PC10 not in .*bb.tsv "
                                          r"\(has: IID, age, sex\); the pca stage makes PCs of the study genotypes "
                                          r"only, not of outcomes_bfile"):
        run(biobank, gwas=pcs, gwas_outcomes=pcs)
    assert seen == []
    with pytest.raises(ConfigError, match=r"\[gwas\] covariates: column\(s\) PC11, .*PC20 not in .*c.tsv .*"
                                          r"has: IID, age, sex, PC1, PC2, .*PC10\); the pca stage"):
        run(inputs, gwas={"covariates": "age,sex,PC1..PC20"})
    with pytest.raises(ConfigError, match=r"\[gwas\] covariates: column\(s\) centre not in"):
        run(inputs, gwas={"covariates": "age,sex,centre", "categorical": "centre"})
    with pytest.raises(ConfigError, match=r"\[gwas\] categorical sex: not among its covariates age; add it there"):
        run(inputs, gwas={"covariates": "age", "categorical": "sex"})
    assert seen == []
    with pytest.raises(Stop):               # PCs of the pca stage (k = 12), a biobank without PCs in its model
        run(biobank, gwas={"covariates": "age,sex,PC1..PC12"}, gwas_outcomes={"covariates": "age,sex"}, pca={"k": 12})
    assert seen == ["extract"]


@pytest.mark.parametrize("kind, fam_name", [("bfile", "g.fam"), ("pfile", "g.psam")])
def test_run__extract_takes_the_genotypes_fam_for_the_pheno_fids_and_reruns_when_it_changes(tmp_path, monkeypatch,
                                                                                            kind, fam_name):
    """Known since stop 32: `edfgen run` did not give extract the genotypes' .fam, so `edfs.tsv.pheno` had FID = IID
    and plink dropped every relative's row of a family .fam (75 of 120 loaded). Now wired from [inputs] bfile/pfile
    (a `[extract] fam` of the user's wins), and a rewritten .fam reruns extract (its FIDs are in the output)."""
    import json as _json

    import edfgen.pipeline as pl

    class Stop(Exception):
        pass

    calls = []

    def fake_run(options):
        if options.command != "extract":
            raise Stop
        out = Path(options.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        (out.parent / "edfs.tsv.manifest.json").write_text(_json.dumps(
            {"command": "edfgen extract", "finished": "now", "outputs": []}))
        calls.append(options.fam)

    monkeypatch.setattr(pl, "run_command", fake_run)
    (tmp_path / "ecg").mkdir()
    exts = ("bed", "bim", "fam") if kind == "bfile" else ("pgen", "pvar", "psam")
    for e in exts:
        (tmp_path / f"g.{e}").write_text("F1 P1 0 0 1 -9\n" if e == "fam" else "")
    (tmp_path / "mine.fam").write_text("F9 P1 0 0 1 -9\n")
    (tmp_path / "c.tsv").write_text("IID\tage\tPC1\nP1\t50\t0.1\n")
    raw = {"run": {"out": str(tmp_path / "o"), "biomarker_gwas": False, "pca": False},
           "inputs": {"ecg": "ecg", kind: "g", "covar": "c.tsv"}}

    def run_once(cfg):
        with pytest.raises(Stop):
            pl._run_stages(cfg, force=False)
        return len(calls)

    cfg = config_from_dict(raw, base=tmp_path)
    assert run_once(cfg) == 1 and Path(calls[-1]) == tmp_path / fam_name
    assert run_once(cfg) == 1                                     # unchanged: extract skipped
    (tmp_path / fam_name).write_text("F2 P1 0 0 1 -9\n")           # the genotypes' families rewritten
    assert run_once(cfg) == 2
    mine = config_from_dict({**raw, "extract": {"fam": "mine.fam"}}, base=tmp_path)
    assert run_once(mine) == 3 and Path(calls[-1]) == tmp_path / "mine.fam"


def test_runner_drop_stale__an_output_that_may_not_be_removed_keeps_the_stage_and_warns(tmp_path, monkeypatch, caplog):
    """Final read of stop 33: remove_outputs now refuses with an OutputError before removing anything when one
    output may not be removed (review s33a F3), which drop_stale did not catch: a finished `edfgen run` then failed
    at its last step (no report). The stage's outputs are kept, with a warning, as for any other refusal."""
    import edfgen.formats.manifest as mf
    import edfgen.pipeline as pl
    from edfgen.formats.manifest import Manifest

    out = tmp_path / "o"
    (out / "mr").mkdir(parents=True)
    (out / "mr" / "result.tsv").write_text("x")
    m = Manifest(command="edfgen mr")
    m.outputs = ["result.tsv"]
    m.write(out / "mr")
    (out / STATE_FILE).write_text(json.dumps({"mr": {"key": "k", "command": "edfgen mr",
                                                     "wiring": {"out": str(out / "mr")}}}))
    monkeypatch.setattr(mf, "first_unremovable", lambda paths: out / "mr" / "result.tsv")
    cfg = config_from_dict({"run": {"out": str(out)}, "simulate": {}}, base=tmp_path)
    with caplog.at_level("WARNING"):
        pl._Runner(cfg, force=True).drop_stale()
    assert (out / "mr" / "result.tsv").exists()
    assert "its earlier outputs were kept" in caplog.text and "cannot remove" in caplog.text


def test_study_loci__a_lead_below_a_doubles_range_keeps_its_neg_log10_p(tmp_path):
    """Review s39edge: the run's loci.tsv (the table users publish) copied clump's p_value alone, so a lead of
    p 3.7e-1212 read p 0 there, its neg_log_10_p_value (1211.43 in clump's loci.tsv) lost. Now the column follows
    p_value: clump's value where p is 0, -log10 p otherwise (exact), NA for p 0 without one; data dictionary too."""
    from edfgen.commands.study_loci import STUDY_LOCI_COLUMNS, study_loci

    loci = pd.DataFrame({"locus": [1, 2, 3], "variant_id": ["v0", "v1", "v2"], "chromosome": ["1", "2", "3"],
                         "base_pair_location": [1000, 2000, 3000], "p_value": [0.0, 1e-9, 0.0],
                         "neg_log_10_p_value": [1211.43, 9.0, np.nan], "phenotype": ["edf_001"] * 3,
                         "phenotypes": ["edf_001"] * 3, "n_phenotypes": [1, 1, 1]})
    loci.to_csv(tmp_path / "loci.tsv", sep="\t", index=False, na_rep="NA")
    out = study_loci(tmp_path / "loci.tsv", tmp_path)
    assert list(out.columns) == STUDY_LOCI_COLUMNS
    assert STUDY_LOCI_COLUMNS[STUDY_LOCI_COLUMNS.index("p_value") + 1] == "neg_log_10_p_value"
    np.testing.assert_allclose(out["neg_log_10_p_value"].to_numpy()[:2], [1211.43, 9.0], rtol=1e-12)
    assert np.isnan(out["neg_log_10_p_value"].iloc[2])
    loci.drop(columns="neg_log_10_p_value").to_csv(tmp_path / "old.tsv", sep="\t", index=False, na_rep="NA")
    np.testing.assert_allclose(study_loci(tmp_path / "old.tsv", tmp_path)["neg_log_10_p_value"].to_numpy()[1], 9.0)



def test_study_loci__p_text_below_a_doubles_range_read_as_annotate_reads_it(tmp_path):
    """Review of s39 (finding 9): the run's loci table read p_value as a double, so a loci.tsv without
    neg_log_10_p_value (a lead list not written by clump) and p '1e-400' gave NA there and 400 in annotate, which
    reads the p text. Both now read it (kernels.pvalues.neg_log10_or_given with the text); p_value stays a double,
    a literal 0 stays NA, a given -log10 p wins."""
    from edfgen.commands.study_loci import study_loci

    (tmp_path / "loci.tsv").write_text(
        "locus\tvariant_id\tchromosome\tbase_pair_location\tp_value\tphenotype\tphenotypes\tn_phenotypes\n"
        "1\tv0\t1\t1000\t1e-400\tedf_001\tedf_001\t1\n2\tv1\t2\t2000\t3.7E-1212\tedf_001\tedf_001\t1\n"
        "3\tv2\t3\t3000\t0\tedf_001\tedf_001\t1\n4\tv3\t4\t4000\t2.5e-9\tedf_001\tedf_001\t1\n")
    out = study_loci(tmp_path / "loci.tsv", tmp_path)
    nlp = out["neg_log_10_p_value"].to_numpy()
    np.testing.assert_allclose(nlp[[0, 1, 3]], [400.0, 1212 - np.log10(3.7), -np.log10(2.5e-9)], rtol=1e-12)
    assert np.isnan(nlp[2]) and out["p_value"].dtype == float and out["p_value"].tolist()[2:] == [0.0, 2.5e-9]
    from edfgen.kernels.pvalues import neg_log10_or_given
    np.testing.assert_allclose(neg_log10_or_given([0.0, 0.0], [7.0, np.nan], ["1e-400", "1e-400"]), [7.0, 400.0])

def test_run_config__a_symlink_loop_is_one_line(tmp_path):
    """`edfgen run --config` of a symlink loop was an OSError traceback (stop 39 matrix,
    benchmarks/results/fuzz_cli_matrix.md); now one line naming the file and the system's reason."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    (tmp_path / "a.toml").symlink_to(tmp_path / "b.toml")
    (tmp_path / "b.toml").symlink_to(tmp_path / "a.toml")
    r = CliRunner().invoke(cli, ["run", "--config", str(tmp_path / "a.toml")], prog_name="edfgen")
    assert r.exit_code == 2 and r.output.strip().splitlines() == [
        f"edfgen run: error: --config {tmp_path / 'a.toml'}: cannot be read (Too many levels of symbolic links)"], \
        r.output[-2000:]


def test_run__a_file_in_a_folder_an_older_manifest_lists_whole_is_refused_saying_so(tmp_path, monkeypatch):
    """Review of s40: a stage folder whose manifest, from an older edfgen, lists plots/ whole, after a chmod -R (or
    cp -a, rsync -a, a restore) of the folder: edfgen run refused its own plot as 'not written by edfgen (not listed in
    its manifest.json)' though the manifest lists its folder. It now says why edfgen cannot tell and what to do;
    nothing is removed."""
    import json

    import edfgen.pipeline as pl

    ran = []
    monkeypatch.setattr(pl, "run_command", ran.append)
    gw = tmp_path / "o" / "gwas"
    (gw / "plots").mkdir(parents=True)
    for f in ("edf_001.tsv.gz", "plots/edf_001.png"):
        (gw / f).write_text("earlier output")
    (gw / "manifest.json").write_text(json.dumps({"command": "edfgen gwas", "started": "2020-01-01T00:00:00+00:00",
                                                  "finished": "2020-01-01T00:00:00+00:00",
                                                  "outputs": ["edf_001.tsv.gz", "plots/"]}))
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    with pytest.raises(InputError) as err:
        pl._Runner(cfg).stage("gwas", "gwas", {"out": gw}, [], gw)
    assert str(err.value) == (f"stage gwas: --out {gw}: plots/edf_001.png is in plots/, which manifest.json (an older "
                              "edfgen's) lists as a whole folder, and it or a folder above it changed after that run "
                              "finished (2020-01-01T00:00:00+00:00; moved or copied in, a chmod, a restore), so edfgen "
                              "cannot tell it is its own: check it, and move or delete it yourself (or move all of plots/ "
                              "away if nothing in it is yours): edfgen run replaces "
                              "only its own files, --force or not")
    assert not ran and [(gw / f).read_text() for f in ("edf_001.tsv.gz", "plots/edf_001.png")] == ["earlier output"] * 2


def test_runner_drop_stale__files_it_cannot_tell_are_edfgens_keep_their_manifest_and_are_named(tmp_path, caplog):
    """Review of s40: a dropped stage whose manifest (an older edfgen's) lists plots/ whole, its files changed since
    that run (chmod -R, cp -a, a restore): they were kept but the manifest was deleted, leaving edfgen's own files no
    one's. The manifest now stays, listing that folder, and a WARNING names a file to check."""
    import logging

    import edfgen.pipeline as pl
    from edfgen.formats.manifest import read_manifest

    out = tmp_path / "o"
    mr = out / "mr"
    (mr / "plots").mkdir(parents=True)
    for f in ("mr_results.tsv", "plots/a__b.png"):
        (mr / f).write_text("earlier output")
    stamp = "2020-01-01T00:00:00+00:00"
    (mr / "manifest.json").write_text(json.dumps({"command": "edfgen mr", "started": stamp, "finished": stamp,
                                                  "outputs": ["mr_results.tsv", "plots/"]}))
    (out / STATE_FILE).write_text(json.dumps({"mr": {"key": "k", "command": "edfgen mr", "wiring": {"out": str(mr)}}}))
    cfg = config_from_dict({"run": {"out": str(out)}, "simulate": {}}, base=tmp_path)
    with caplog.at_level(logging.WARNING, logger="edfgen.pipeline"):
        pl._Runner(cfg).drop_stale()
    assert not (mr / "mr_results.tsv").exists() and (mr / "plots" / "a__b.png").read_text() == "earlier output"
    assert read_manifest(mr)["outputs"] == ["plots/"]
    assert f"stage mr: {mr}/plots/a__b.png is in plots/, which manifest.json (an older edfgen's) lists" in caplog.text
