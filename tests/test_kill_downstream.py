"""Real ``kill -9`` of a command's subprocess mid-write (s42files): a ``--force`` rerun killed beside a Finder
``.DS_Store``, and each downstream command (clump, annotate, mr, ldsc, finemap, coloc) killed at an atomic rename:
no partial file under a final name, and a plain rerun writes the bytes of an uninterrupted run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen.cli import cli
from tests.test_fault_injection import _edfgen, _killed, _no_temp_files, _tables


#: the atomic renames at which the --force rerun is killed (before its in-progress manifest; writing its outputs)
KILL_POINTS = (3, 5)


def _invoke(args: list) -> str:
    res = CliRunner().invoke(cli, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


def _pheno(cohort: Path, path: Path) -> Path:
    iids = pd.read_csv(cohort / "covariates.tsv", sep="\t", dtype={"IID": str})["IID"]
    pd.DataFrame({"IID": iids, "x": np.random.default_rng(0).normal(size=len(iids))}).to_csv(path, sep="\t", index=False)
    return path


def test_gwas__a_kill_during_a_force_rerun_beside_a_ds_store_leaves_a_folder_the_next_run_takes(tiny_sim_cohort,
                                                                                                   tmp_path):
    """s42files #4: `gwas --force` over an older edfgen's output (manifest listing plots/ whole) with a Finder
    plots/.DS_Store keeps the .DS_Store; killed (SIGKILL) while writing, its in-progress manifest lists its files one
    by one, so the .DS_Store was 'not written by an earlier edfgen gwas' and the next plain rerun AND every --force
    were refused (exit 2) whatever the user did (so was a --force over a current output once the Finder had shown
    plots/). A desktop's junk is no one's data and never written: the runs now proceed, it kept, the tables those of
    an uninterrupted run."""
    import time

    pheno = _pheno(tiny_sim_cohort, tmp_path / "a.tsv")
    args = ["gwas", "--bfile", tiny_sim_cohort / "genotypes", "--pheno", pheno, "--covar",
            tiny_sim_cohort / "covariates.tsv", "--covar-cols", "age,sex", "--maf", "0.05"]
    ref, out = tmp_path / "ref", tmp_path / "gw"
    _invoke([*args, "--out", ref])
    _invoke([*args, "--out", out])
    m = json.loads((out / "manifest.json").read_text())
    m["outputs"] = [o for o in m["outputs"] if not o.startswith("plots/")] + ["plots/"]     # as an older edfgen wrote it
    (out / "manifest.json").write_text(json.dumps(m))
    time.sleep(1.05)                                       # (the Finder came later than that run's last second)
    (out / "plots" / ".DS_Store").write_bytes(b"finder")
    for kill_at in KILL_POINTS:
        _killed(_edfgen(*args, "--out", out, "--force", kill_at=kill_at))
        assert json.loads((out / "manifest.json").read_text())["finished"] is None
        for extra in ([], ["--force"]):
            _invoke([*args, "--out", out, *extra])
            assert (out / "plots" / ".DS_Store").read_bytes() == b"finder"
            assert _tables(out) == {**_tables(ref), "plots/.DS_Store": b"finder"}
        _no_temp_files(out)


@pytest.fixture(scope="module")
def upstream(tiny_sim_cohort, tmp_path_factory) -> Path:
    """Two ECG-trait GWAS (the exposures), two disease GWAS (the outcomes) and their clumping (p1 1e-4: 4 loci) of
    the tiny cohort: what the downstream commands read."""
    d, c = tmp_path_factory.mktemp("kill_downstream"), tiny_sim_cohort
    common = ["--bfile", c / "genotypes", "--covar", c / "covariates.tsv", "--covar-cols", "age,sex", "--no-plots"]
    _invoke(["gwas", "--pheno", c / "physiology.tsv", "--pheno-cols", "qrs_duration_ms,qt_interval_ms", *common,
             "--out", d / "gwas"])
    _invoke(["gwas", "--pheno", c / "outcomes.tsv", "--pheno-cols", "AF,MI", *common, "--out", d / "outcomes"])
    _invoke(["clump", "--sumstats", d / "gwas", "--bfile", c / "genotypes", "--p1", "1e-4", "--out", d / "clump"])
    return d


def _downstream(command: str, up: Path, cohort: Path, out: Path) -> list:
    from edfgen.pipeline import packaged_catalog

    g, loci = cohort / "genotypes", up / "clump" / "loci.tsv"
    return {"clump": ["clump", "--sumstats", up / "gwas", "--bfile", g, "--p1", "1e-4", "--out", out],
            "annotate": ["annotate", "--loci", loci, "--catalog", packaged_catalog(), "--any-trait",
                         "--out", out / "annotated.tsv"],
            "mr": ["mr", "--exposure", up / "gwas", "--outcome", up / "outcomes", "--instruments",
                   up / "clump" / "clumps.tsv", "--nboot", "20", "--presso-sims", "0", "--no-plots", "--p-threshold",
                   "1e-4", "--bfile", g, "--out", out],
            "ldsc": ["ldsc", "--sumstats", up / "gwas", "--bfile", g, "--rg", "--out", out],
            "finemap": ["finemap", "--sumstats", up / "gwas", "--loci", loci, "--bfile", g, "--out", out],
            "coloc": ["coloc", "--exposure", up / "gwas", "--outcome", up / "outcomes", "--loci", loci, "--bfile", g,
                      "--out", out]}[command]


#: each command, SIGKILLed just before this atomic rename of a run into a new folder (its renames: the in-progress
#: manifest first, then its outputs one by one, the complete manifest last): at least one output renamed and one
#: pending where it writes more than one table; annotate and coloc write one (annotated.tsv, coloc.tsv): killed
#: after it, before their plots or complete manifest (at 2 they were killed before it, checking nothing: s42filesfix #4)
KILLED_AT = {"clump": 3, "annotate": 3, "mr": 4, "ldsc": 6, "finemap": 3, "coloc": 3}


@pytest.mark.parametrize("command", list(KILLED_AT))
def test_downstream_command_killed_mid_write__no_partial_output_and_a_plain_rerun_writes_the_same_bytes(
        command, upstream, tiny_sim_cohort, tmp_path):
    """s42files #7: each downstream command killed (a real SIGKILL of its process) after one of its outputs was
    renamed into place and before another (annotate and coloc, one table each: before their plots or manifest; PNGs
    not compared): what
    lies under a final name is whole (the very bytes of an uninterrupted run), the manifest says the run did not
    finish, and a plain rerun, no --force, writes every output with the bytes of an uninterrupted run, no temporary
    file left."""
    ref, out = tmp_path / "ref", tmp_path / "killed"
    _invoke(_downstream(command, upstream, tiny_sim_cohort, ref))
    expected = _tables(ref)
    assert expected
    _killed(_edfgen(*_downstream(command, upstream, tiny_sim_cohort, out), kill_at=KILLED_AT[command]))
    manifest = next(out.glob("*manifest.json"))
    assert json.loads(manifest.read_text())["finished"] is None
    left = {k: v for k, v in _tables(out).items() if ".edfgen-tmp-" not in k and not k.startswith(".edfgen.lock")}
    assert set(left) < set(expected) or len(expected) == 1, sorted(left)   # (its stale lock aside) pending ones
    assert left, sorted(expected)                   # a table renamed before the kill is checked (s42filesfix #4)
    assert any(".edfgen-tmp-" in p.name for p in out.rglob("*"))   # killed with a whole output not yet renamed
    assert all(left[k] == expected[k] for k in left), [k for k in left if left[k] != expected[k]]
    _invoke(_downstream(command, upstream, tiny_sim_cohort, out))
    assert _tables(out) == expected
    _no_temp_files(out)


def test_run_stage__a_ds_store_in_a_stage_folder_does_not_stop_its_rerun(tiny_sim_cohort, tmp_path, monkeypatch):
    """s42files #4, in `edfgen run`: a stage to rerun (its options changed) whose plots/ the Finder had shown removed
    its own files, left plots/ holding the .DS_Store, and then its command refused the folder ('directory exists and
    is not empty ... holding files that edfgen did not write: move them away'). A folder holding only a desktop's junk
    is empty to a command: the stage reruns, the .DS_Store kept."""
    import edfgen.pipeline as pl
    from edfgen.pipeline import config_from_dict

    monkeypatch.setattr(pl, "package_code_digest", lambda: "code")
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    gw = tmp_path / "o" / "gwas"
    wiring = {"out": gw, "bfile": str(tiny_sim_cohort / "genotypes"), "pheno": str(_pheno(tiny_sim_cohort, tmp_path / "a.tsv")),
              "covar": str(tiny_sim_cohort / "covariates.tsv"), "covar_cols": "age,sex", "maf": 0.05}
    pl._Runner(cfg).stage("gwas", "gwas", wiring, [], gw)
    (gw / "plots" / ".DS_Store").write_bytes(b"finder")
    pl._Runner(cfg).stage("gwas", "gwas", {**wiring, "maf": 0.1}, [], gw)
    assert (gw / "plots" / ".DS_Store").read_bytes() == b"finder" and (gw / "plots" / "x.qq.png").exists()
    assert json.loads((gw / "manifest.json").read_text())["finished"]


def test_prepare_out_dir__only_a_desktops_junk_is_empty_an_empty_folder_of_the_users_is_not(tmp_path):
    """s42files #4: what the stage rerun above meets, without a GWAS: plots/.DS_Store (and a top-level Thumbs.db)
    make no folder 'not empty'; an empty sub-folder, which may be the user's, still does."""
    from edfgen.exceptions import InputError
    from edfgen.formats.tables import prepare_out_dir

    (tmp_path / "gw" / "plots").mkdir(parents=True)
    (tmp_path / "gw" / "plots" / ".DS_Store").write_bytes(b"finder")
    (tmp_path / "gw" / "Thumbs.db").write_bytes(b"explorer")
    assert prepare_out_dir(tmp_path / "gw", command="edfgen gwas") == tmp_path / "gw"
    (tmp_path / "gw" / "mine").mkdir()
    with pytest.raises(InputError, match="directory exists and is not empty"):
        prepare_out_dir(tmp_path / "gw", command="edfgen gwas")
