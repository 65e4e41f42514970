"""The pipeline end to end (`edfgen demo` / `edfgen run`), its resume logic, config validation, report and notebooks."""

from __future__ import annotations

import json
import os
from pathlib import Path

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


def test_load_config__missing_required_inputs(tmp_path):
    with pytest.raises(ConfigError, match=r"\[run\] out is required"):
        config_from_dict({"simulate": {}}, base=tmp_path)
    with pytest.raises(ConfigError, match=r"\[inputs\] ecg is required"):
        config_from_dict({"run": {"out": "o"}}, base=tmp_path)
    with pytest.raises(InputError, match=r"bfile .*missing.bed not found"):
        config_from_dict({"run": {"out": "o"}, "inputs": {"ecg": ".", "covar": ".", "bfile": "missing"}}, base=tmp_path)


def test_load_config__invalid_toml_is_one_line(tmp_path):
    p = tmp_path / "p.toml"
    p.write_text("[run\nout = 1")
    res = CliRunner().invoke(cli, ["run", "--config", str(p)])
    assert res.exit_code == 2
    assert "invalid TOML" in res.output and len(res.output.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, hail_context):
    """A small demo (n=600) through every stage; reused by the report, resume and notebook tests."""
    from edfgen.demo import run_demo

    out = tmp_path_factory.mktemp("demo") / "edfgen-demo"
    res = run_demo(out, n=600, seed=3)
    return res


def test_demo__writes_every_stage_and_top_level_files(demo_run):
    out = demo_run.out
    for f in ("manifest.json", "loci.tsv", "mr_results.tsv", "report.html", "pipeline.toml", STATE_FILE):
        assert (out / f).exists(), f
    ran = {s.name for s in demo_run.pipeline.stages if s.status == "ran"}
    assert {"simulate", "extract", "interpret", "gwas", "gwas_outcomes", "clump", "annotate", "mr"} <= ran
    html = (out / "report.html").read_text()
    for section in ("Cohort", "EDFs and known biomarkers", "GWAS of EDFs", "Independent loci",
                    "Mendelian randomization", "Truth"):
        assert section in html, section
    assert "data:image/png;base64" in html
    man = json.loads((out / "manifest.json").read_text())
    assert man["command"] == "edfgen run" and {s["name"] for s in man["extra"]["stages"]} >= ran


def test_run__resumes_skipping_finished_stages(demo_run):
    from edfgen.pipeline import run_pipeline

    cfg = load_config(demo_run.out / "pipeline.toml")
    res = run_pipeline(cfg)
    assert {s.status for s in res.stages} == {"skipped"}
    # a changed option reruns that stage and the ones downstream of its outputs, not the upstream ones
    text = (demo_run.out / "pipeline.toml").read_text().replace("[annotate]\n", "[annotate]\nwindow_kb = 250\n")
    (demo_run.out / "pipeline.toml").write_text(text)
    res = run_pipeline(load_config(demo_run.out / "pipeline.toml"))
    status = {s.name: s.status for s in res.stages}
    assert status["annotate"] == "ran" and status["extract"] == "skipped" and status["gwas"] == "skipped"


def test_demo__refuses_foreign_nonempty_dir(tmp_path):
    (tmp_path / "precious.txt").write_text("x")
    res = CliRunner().invoke(cli, ["demo", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--force" in res.output
    assert (tmp_path / "precious.txt").read_text() == "x"


@pytest.mark.parametrize("name", ["01_manhattan.ipynb", "02_loci_and_novelty.ipynb", "03_mendelian_randomization.ipynb"])
def test_notebooks__execute_on_a_small_run(demo_run, name):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "notebooks are stored without outputs"
    os.environ["EDFGEN_OUT"] = str(demo_run.out)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO / "notebooks")}}).execute()
    finally:
        os.environ.pop("EDFGEN_OUT", None)
