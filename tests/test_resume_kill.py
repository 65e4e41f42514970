"""Kills, reruns and ``--force`` against a user's files (benchmarks/kill_resume.py found these; each case is
deterministic: the kill is a chosen hook, not a timer)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen.cli import cli


def test_annotate_rerun__keeps_a_users_file_in_its_regional_plots_folder(tiny_sim_cohort, tmp_path, monkeypatch):
    """annotate listed its regional-plot folder as a whole in <out>.manifest.json, so a rerun removed everything in
    it, a user's notes put there included (benchmarks/kill_resume.py, --force trial); it lists the plots it drew, so
    that the rerun refuses in one line (the notes kept), as for a user's file in gwas's plots/."""
    import edfgen.commands.annotate as an
    from edfgen.pipeline import packaged_catalog

    bim = pd.read_csv(tiny_sim_cohort / "genotypes.bim", sep="\t", header=None)
    loci = tmp_path / "loci.tsv"
    pd.DataFrame({"variant_id": [bim[1][0]], "chromosome": [str(bim[0][0])], "base_pair_location": [bim[3][0]],
                  "p_value": [1e-9], "phenotype": ["edf_001"]}).to_csv(loci, sep="\t", index=False)
    sumstats = tmp_path / "edf_001.tsv"
    pd.DataFrame({"variant_id": bim[1][:3], "chromosome": bim[0][:3].astype(str), "base_pair_location": bim[3][:3],
                  "effect_allele": bim[4][:3], "other_allele": bim[5][:3], "beta": 0.1, "standard_error": 0.1,
                  "p_value": 0.5}).to_csv(sumstats, sep="\t", index=False)

    def draw(loci, sumstats, panel, folder, **kw):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "1_edf_001.png").write_bytes(b"png")
        return [folder / "1_edf_001.png"]

    monkeypatch.setattr(an, "write_regional_plots", draw)
    out = tmp_path / "res" / "annotated.tsv"
    args = ["annotate", "--loci", str(loci), "--catalog", str(packaged_catalog()), "--any-trait", "--ld-bfile",
            str(tiny_sim_cohort / "genotypes"), "--regional-plots", "1", "--sumstats", str(sumstats), "--out", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    mine = tmp_path / "res" / "annotated_regional" / "my_notes.txt"
    mine.write_text("mine")
    res = CliRunner().invoke(cli, args)            # refused in one line, as gwas refuses a user's file in its plots/
    assert res.exit_code == 2 and "annotated_regional/my_notes.txt exists and was not written" in res.output
    assert mine.read_text() == "mine"
    assert (tmp_path / "res" / "annotated_regional" / "1_edf_001.png").exists()
    mine.unlink()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output


def _foreign_lock(folder: Path, *, age_s: float, heartbeat: bool) -> Path:
    """The lock of a writer on another host (a cluster node), last refreshed ``age_s`` seconds ago."""
    import json
    import os
    import time

    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / ".edfgen.lock"
    info = {"host": "node-that-ran-the-job", "pid": 4242, "started_ticks": "123", "command": "edfgen gwas",
            "since": "2026-12-07T01:00:00", **({"heartbeat_s": 60} if heartbeat else {})}
    lock.write_text(json.dumps(info))
    os.utime(lock, (time.time() - age_s, time.time() - age_s))
    return lock


def test_folder_lock__a_killed_job_on_another_node_stops_blocking_once_its_heartbeat_stops(tmp_path):
    """A cluster job killed by its time limit (SIGKILL) left its lock, and the resubmitted job, on another node,
    was refused forever ("remove .edfgen.lock by hand"): another host's pid cannot be checked. A writer now refreshes
    its lock's time every minute; a lock from another host whose heartbeat stopped long ago is stale and taken over."""
    import pytest

    from edfgen.exceptions import InputError
    from edfgen.formats.lock import folder_lock

    _foreign_lock(tmp_path / "killed", age_s=3600, heartbeat=True)
    with folder_lock(tmp_path / "killed", "edfgen gwas") as lock:     # taken over
        assert '"node-that-ran-the-job"' not in lock.read_text()
    _foreign_lock(tmp_path / "alive", age_s=30, heartbeat=True)       # refreshed a moment ago: that job runs
    with pytest.raises(InputError, match="in use by 'edfgen gwas' .pid 4242 on node-that-ran-the-job"):
        with folder_lock(tmp_path / "alive", "edfgen gwas"):
            pass
    _foreign_lock(tmp_path / "old", age_s=3600, heartbeat=False)      # an older edfgen's lock: no heartbeat to judge
    with pytest.raises(InputError, match="remove .*edfgen.lock"):
        with folder_lock(tmp_path / "old", "edfgen gwas"):
            pass


def test_folder_lock__a_held_lock_is_refreshed_while_its_command_runs(tmp_path, monkeypatch):
    """The heartbeat that tells other hosts the writer is alive: the lock's modification time moves on while held."""
    import json
    import os
    import time

    import edfgen.formats.lock as lk

    monkeypatch.setattr(lk, "HEARTBEAT_S", 0.05)
    with lk.folder_lock(tmp_path, "edfgen gwas") as lock:
        assert json.loads(lock.read_text())["heartbeat_s"] == 0.05
        os.utime(lock, (time.time() - 3600, time.time() - 3600))
        deadline = time.time() + 5
        while time.time() - lock.stat().st_mtime > 60 and time.time() < deadline:
            time.sleep(0.02)
        assert time.time() - lock.stat().st_mtime < 60
    assert not lock.exists()


def _killed_after_first_plot(monkeypatch, module, attr):
    """Replace ``module.attr`` (a drawer called once per plot with the PNG path second or first) by one that writes
    the first plot and then raises KeyboardInterrupt: a kill while the plots are drawn, at a chosen point."""
    def draw(*args, **kw):
        path = next(Path(a) for a in args if isinstance(a, (str, Path)) and str(a).endswith(".png"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")
        raise KeyboardInterrupt

    monkeypatch.setattr(module, attr, draw)


def _rerun_and_force_keep_a_users_file(args: list[str], folder: Path) -> None:
    """After a killed run: a user's file put into its output ``folder`` makes the plain rerun and ``--force`` refuse
    in one line, and is kept; then it is moved away (removed) for the caller's clean rerun."""
    mine = folder / "my_notes.txt"
    mine.write_text("mine")
    for extra, said in (([], "directory exists and is not empty, with an unfinished"),
                        (["--force"], f"{folder.name}/my_notes.txt exists and was not written by an earlier")):
        res = CliRunner().invoke(cli, args + extra)
        assert mine.read_text() == "mine"
        assert res.exit_code == 2 and said in res.output, res.output
    mine.unlink()


def _annotate_inputs(cohort: Path, tmp_path: Path) -> tuple[Path, Path]:
    bim = pd.read_csv(cohort / "genotypes.bim", sep="\t", header=None)
    loci = tmp_path / "loci.tsv"
    pd.DataFrame({"variant_id": bim[1][:2], "chromosome": bim[0][:2].astype(str), "base_pair_location": bim[3][:2],
                  "p_value": [1e-9, 1e-8], "phenotype": ["edf_001", "edf_001"]}).to_csv(loci, sep="\t", index=False)
    sumstats = tmp_path / "edf_001.tsv"
    pd.DataFrame({"variant_id": bim[1][:3], "chromosome": bim[0][:3].astype(str), "base_pair_location": bim[3][:3],
                  "effect_allele": bim[4][:3], "other_allele": bim[5][:3], "beta": 0.1, "standard_error": 0.1,
                  "p_value": [1e-9, 1e-8, 0.5]}).to_csv(sumstats, sep="\t", index=False)
    return loci, sumstats


def test_annotate_killed_while_drawing__rerun_keeps_a_users_file_in_the_plots_folder(tiny_sim_cohort, tmp_path,
                                                                                      monkeypatch):
    """A killed annotate's in-progress manifest listed ``<out>_regional/`` as a whole, so the plain rerun removed
    it with a user's notes put there in the meantime, exit 0 and not a word (review s39). It lists the plots it
    will draw, by name: the rerun refuses in one line, the notes kept; once they are moved away it runs."""
    import edfgen.plots.regional as reg
    from edfgen.pipeline import packaged_catalog

    loci, sumstats = _annotate_inputs(tiny_sim_cohort, tmp_path)
    out = tmp_path / "res" / "annotated.tsv"
    args = ["annotate", "--loci", str(loci), "--catalog", str(packaged_catalog()), "--any-trait", "--ld-bfile",
            str(tiny_sim_cohort / "genotypes"), "--regional-plots", "2", "--sumstats", str(sumstats), "--out", str(out)]
    with monkeypatch.context() as m:
        _killed_after_first_plot(m, reg, "regional_plot")
        res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0 and len(list((tmp_path / "res" / "annotated_regional").glob("*.png"))) == 1
    mine = tmp_path / "res" / "annotated_regional" / "my_notes.txt"
    mine.write_text("mine")
    res = CliRunner().invoke(cli, args)
    assert mine.read_text() == "mine"
    assert res.exit_code == 2 and "annotated_regional/my_notes.txt exists and was not written" in res.output
    mine.unlink()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "res" / "annotated_regional").glob("*.png"))) == 2


def test_clump_killed_while_drawing__rerun_and_force_keep_a_users_file_in_regional(tiny_sim_cohort, tmp_path,
                                                                                   monkeypatch):
    """The same for ``clump --regional-plots``: its in-progress manifest listed ``regional/`` as a whole, and the
    plain rerun of the killed run removed a user's file put there (review s39). It names each plot before drawing
    it: the rerun and ``--force`` refuse in one line, the file kept."""
    import edfgen.plots.regional as reg

    _, sumstats = _annotate_inputs(tiny_sim_cohort, tmp_path)
    out = tmp_path / "clumped"
    args = ["clump", "--sumstats", str(sumstats), "--bfile", str(tiny_sim_cohort / "genotypes"), "--p1", "1e-6",
            "--regional-plots", "2", "--out", str(out)]
    with monkeypatch.context() as m:
        _killed_after_first_plot(m, reg, "regional_plot")
        res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0 and len(list((out / "regional").glob("*.png"))) == 1
    _rerun_and_force_keep_a_users_file(args, out / "regional")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output


def test_gwas_killed_while_drawing__rerun_and_force_keep_a_users_file_in_plots(tiny_sim_cohort, tmp_path,
                                                                               monkeypatch):
    """The same for ``gwas`` (plots on): its in-progress manifest listed ``plots/`` as a whole (review s39)."""
    import edfgen.plots.thin as thin

    iids = pd.read_csv(tiny_sim_cohort / "covariates.tsv", sep="\t", dtype={"IID": str})["IID"]
    pd.DataFrame({"IID": iids, "x": np.random.default_rng(0).normal(size=len(iids))}).to_csv(
        tmp_path / "a.tsv", sep="\t", index=False)
    out = tmp_path / "gwas"
    args = ["gwas", "--bfile", str(tiny_sim_cohort / "genotypes"), "--pheno", str(tmp_path / "a.tsv"), "--covar",
            str(tiny_sim_cohort / "covariates.tsv"), "--covar-cols", "age,sex", "--maf", "0.05", "--out", str(out)]
    with monkeypatch.context() as m:
        _killed_after_first_plot(m, thin.GwasPlotAccumulator, "manhattan")
        res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0 and len(list((out / "plots").glob("*.png"))) == 1
    _rerun_and_force_keep_a_users_file(args, out / "plots")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert (out / "plots" / "x.qq.png").exists()


def test_gwas_ridge_loco_killed__rerun_keeps_a_users_file_in_loco(tiny_sim_cohort, tmp_path, monkeypatch):
    """``gwas --model ridge-loco`` listed ``loco/`` as a whole in its in-progress manifest, like ``plots/`` (review
    s39): killed once the predictions are written, a user's file put into ``loco/`` was removed by the rerun. It
    lists the LOCO files by name (formats.loco.loco_files): ``--force`` refuses in one line, the file kept."""
    import shutil

    import edfgen.commands.gwas as gw

    for ext in ("bed", "fam"):                      # two chromosomes: LOCO leaves one out
        shutil.copy(tiny_sim_cohort / f"genotypes.{ext}", tmp_path / f"g.{ext}")
    bim = pd.read_csv(tiny_sim_cohort / "genotypes.bim", sep="\t", header=None)
    bim.loc[len(bim) // 2:, 0] = 2
    bim.to_csv(tmp_path / "g.bim", sep="\t", header=False, index=False)
    iids = pd.read_csv(tiny_sim_cohort / "covariates.tsv", sep="\t", dtype={"IID": str})["IID"]
    pd.DataFrame({"IID": iids, "x": np.random.default_rng(0).normal(size=len(iids))}).to_csv(
        tmp_path / "a.tsv", sep="\t", index=False)
    out = tmp_path / "gwas"
    args = ["gwas", "--bfile", str(tmp_path / "g"), "--pheno", str(tmp_path / "a.tsv"), "--covar",
            str(tiny_sim_cohort / "covariates.tsv"), "--covar-cols", "age,sex", "--maf", "0.05", "--no-plots",
            "--model", "ridge-loco", "--out", str(out)]

    def killed(*a, **kw):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(gw, "write_loco_fingerprint", killed)
        res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0 and (out / "loco" / "x.loco.tsv.gz").exists(), res.output
    mine = out / "loco" / "my_notes.txt"
    mine.write_text("mine")
    res = CliRunner().invoke(cli, args + ["--force"])
    assert mine.read_text() == "mine"
    assert res.exit_code == 2 and "loco/my_notes.txt exists and was not written by an earlier" in res.output
    mine.unlink()
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert (out / "loco" / "step1_fingerprint.json").exists()


def test_mr_killed_while_drawing__rerun_and_force_keep_a_users_file_in_plots(shared_data, tmp_path, monkeypatch):
    """The same for ``edfgen mr`` (plots on): its in-progress manifest listed ``plots/`` as a whole, so the plain
    rerun of a run killed while drawing removed a user's file put there, exit 0 (review s39). It names the pair
    plots before drawing them (pair_plot_names): the rerun and ``--force`` refuse in one line, the file kept."""
    import edfgen.plots.mr as mrp

    d = shared_data / "mr"
    out = tmp_path / "mr"
    args = ["mr", "--exposure", str(d / "twosamplemr_test_commondata_exp_dat.csv"), "--outcome",
            str(d / "twosamplemr_test_commondata_out_dat.csv"), "--no-clump", "--methods", "ivw", "--nboot", "20", "--presso-sims", "0",
            "--out", str(out)]
    with monkeypatch.context() as m:
        _killed_after_first_plot(m, mrp, "scatter_plot")
        res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0 and len(list((out / "plots").glob("*.png"))) == 1, res.output
    _rerun_and_force_keep_a_users_file(args, out / "plots")

    def drawn(h, *a, **kw):                         # (the plots themselves are tested in test_plots)
        path = next(x for x in a if isinstance(x, Path))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"png")
        return path

    for kind in ("scatter", "forest", "funnel", "leaveoneout"):
        monkeypatch.setattr(mrp, f"{kind}_plot", drawn)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert sorted(p.name.split(".")[1] for p in (out / "plots").glob("*.png")) == [
        "forest", "funnel", "leaveoneout", "scatter"]


def test_ldsc_killed_while_writing_ldscores__rerun_and_force_keep_a_users_file_in_ldscores(tiny_sim_cohort, tmp_path,
                                                                                          monkeypatch):
    """``edfgen ldsc`` with in-sample LD scores listed ``ldscores/`` as a whole in its in-progress manifest: killed
    after the first chromosome's files, a user's file put into ``ldscores/`` was removed by the rerun (review s39).
    It lists each chromosome's files by name before writing them: the rerun and ``--force`` refuse in one line."""
    import shutil

    import edfgen.commands.ldsc_inputs as li

    for ext in ("bed", "fam"):                      # two chromosomes: killed between them
        shutil.copy(tiny_sim_cohort / f"genotypes.{ext}", tmp_path / f"g.{ext}")
    bim = pd.read_csv(tiny_sim_cohort / "genotypes.bim", sep="\t", header=None)
    bim.loc[len(bim) // 2:, 0] = 2
    bim.to_csv(tmp_path / "g.bim", sep="\t", header=False, index=False)
    rng = np.random.default_rng(0)
    pd.DataFrame({"variant_id": bim[1], "chromosome": bim[0].astype(str), "base_pair_location": bim[3],
                  "effect_allele": bim[4], "other_allele": bim[5], "beta": rng.normal(0, 0.05, len(bim)),
                  "standard_error": 0.05, "p_value": 0.5, "n": 120}).to_csv(tmp_path / "y.tsv", sep="\t", index=False)
    out = tmp_path / "ldsc"
    args = ["ldsc", "--sumstats", str(tmp_path / "y.tsv"), "--bfile", str(tmp_path / "g"), "--ld-wind-kb", "1000",
            "--out", str(out)]
    real = li.write_ldscores

    def killed_after_first(prefix, *a, **kw):
        written = real(prefix, *a, **kw)
        raise KeyboardInterrupt(written)

    with monkeypatch.context() as m:
        m.setattr(li, "write_ldscores", killed_after_first)
        res = CliRunner().invoke(cli, args)
    assert res.exit_code != 0 and (out / "ldscores" / "1.l2.ldscore.gz").exists(), res.output
    _rerun_and_force_keep_a_users_file(args, out / "ldscores")
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert (out / "ldscores" / "2.l2.M_5_50").exists()


def test_simulate_force__keeps_a_users_file_in_ecg(tmp_path, monkeypatch):
    """``edfgen simulate``'s manifest listed ``ecg/`` (and ``biobank/``) as a whole, so ``--force`` removed a user's
    file put into ``ecg/``, exit 0 and not a word (review s39, reproduced with the real simulator). It lists the
    records by name: ``--force`` refuses in one line, the file kept. (The simulation is stubbed: only the files
    and the manifest are under test here.)"""
    import json

    import edfgen.simulate.cohort as co

    def simulated(stage, **kw):
        for name in ("genotypes.bed", "genotypes.bim", "genotypes.fam", "physiology.tsv", "covariates.tsv",
                     "outcomes.tsv"):
            (stage / name).write_text("x\n")
        (stage / "ecg").mkdir()
        for rec in ("P000001.hea", "P000001.dat"):
            (stage / "ecg" / rec).write_text("x\n")
        truth = {"n_variants": 1, "related_pairs": [], "families": []}
        (stage / "truth.json").write_text(json.dumps(truth))
        return truth

    monkeypatch.setattr(co, "_simulate_into", simulated)
    monkeypatch.setattr(co.CohortResult, "summary", lambda self: "stub")
    out = tmp_path / "cohort"
    args = ["simulate", "--out", str(out), "--n", "10", "--chromosomes", "1", "--variants-per-chromosome", "300"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    mine = out / "ecg" / "my_notes.txt"
    mine.write_text("mine")
    res = CliRunner().invoke(cli, args + ["--force"])
    assert mine.read_text() == "mine"
    assert res.exit_code == 2 and "ecg/my_notes.txt exists and was not written by an earlier" in res.output, res.output
    mine.unlink()
    res = CliRunner().invoke(cli, args + ["--force"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (out / "ecg").iterdir()) == ["P000001.dat", "P000001.hea"]
    assert "ecg/P000001.hea" in json.loads((out / "manifest.json").read_text())["outputs"]


#: an older edfgen's gwas stage, in a subprocess: takes the folder lock (heartbeat every HEARTBEAT s), writes an
#: in-progress manifest listing plots/ whole and its files, says so, then works on until SIGKILLed
_OLD_KILLED_STAGE = """
import datetime as dt, json, os, sys, time
from pathlib import Path
import edfgen.formats.lock as lk
lk.HEARTBEAT_S = float(os.environ["HEARTBEAT"])
gw = Path(sys.argv[1])
with lk.folder_lock(gw, "edfgen gwas"):
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    (gw / "manifest.json").write_text(json.dumps({"command": "edfgen gwas", "started": started, "finished": None,
                                                  "outputs": ["edf_001.tsv.gz", "plots/"], "extra": {"in_progress": True}}))
    time.sleep(0.05)
    (gw / "plots").mkdir()
    for f in ("edf_001.tsv.gz", "plots/edf_001.png"):
        (gw / f).write_text("killed run's output")
    print("written", flush=True)
    time.sleep(120)
"""


def _old_stage_killed(gw: Path, *, heartbeat: float) -> None:
    """Run :data:`_OLD_KILLED_STAGE` into ``gw`` and SIGKILL it once its files are written and (``heartbeat`` small)
    its lock's heartbeat came after them."""
    import os
    import signal
    import subprocess
    import sys
    import time

    gw.mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "HEARTBEAT": str(heartbeat)}
    p = subprocess.Popen([sys.executable, "-c", _OLD_KILLED_STAGE, str(gw)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "written"
        written = max(os.lstat(gw / f).st_ctime for f in ("plots", "edf_001.tsv.gz", "plots/edf_001.png"))
        deadline = time.monotonic() + 10
        while heartbeat < 5 and (gw / ".edfgen.lock").stat().st_mtime <= written and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=20)
    assert p.returncode == -signal.SIGKILL and (gw / ".edfgen.lock").exists()


def test_run__an_older_edfgens_killed_stage_listing_a_folder_whole_resumes_when_provably_its_own(tmp_path,
                                                                                                 monkeypatch):
    """s41safe #2: a stage an older edfgen was killed in (a real SIGKILL), its in-progress manifest listing plots/
    whole: `edfgen run` refused every file there ('that run did not finish'), and the README sent the user to rerun the
    command with --force. Its files changed between its start and its lock's last heartbeat (a time it still ran) are
    its own: the stage now reruns by itself, replacing them. A file changed after that last heartbeat (written in the
    killed run's last moments, or put there since) cannot be told from a user's: still refused, nothing removed."""
    import shutil

    import edfgen.pipeline as pl
    from edfgen.exceptions import InputError
    from edfgen.pipeline import config_from_dict

    ran = []
    monkeypatch.setattr(pl, "run_command", ran.append)
    monkeypatch.setattr(pl, "package_code_digest", lambda: "code")   # (about a second: not what this test is about)
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    gw = tmp_path / "o" / "gwas"
    _old_stage_killed(gw, heartbeat=0.1)
    pl._Runner(cfg).stage("gwas", "gwas", {"out": gw}, [], gw)                # its files: replaced, no refusal
    assert len(ran) == 1 and not (gw / "plots").exists() and not (gw / "edf_001.tsv.gz").exists()
    shutil.rmtree(gw)
    _old_stage_killed(gw, heartbeat=0.1)
    (gw / "plots" / "mine.txt").write_text("a user's file")                   # put there after the kill
    with pytest.raises(InputError, match=r"plots/mine\.txt is in plots/, .* that run did not finish"):
        pl._Runner(cfg).stage("gwas", "gwas", {"out": gw}, [], gw)
    assert len(ran) == 1 and (gw / "plots" / "edf_001.png").exists() and (gw / "plots" / "mine.txt").exists()
    shutil.rmtree(gw)
    _old_stage_killed(gw, heartbeat=60)                          # no heartbeat after its last files
    with pytest.raises(InputError, match=r"plots/edf_001\.png is in plots/, .* that run did not finish"):
        pl._Runner(cfg).stage("gwas", "gwas", {"out": gw}, [], gw)
    assert len(ran) == 1 and (gw / "plots" / "edf_001.png").exists()


def test_run_stages__a_killed_stages_half_written_temp_file_does_not_stop_its_resume(tmp_path, monkeypatch):
    """s41safefix #3: edfgen run first removed stale temporary files in its whole folder, recursively, before judging
    a stage an older edfgen was killed in (its manifest listing plots/ whole): removing the killed run's half-written
    plots/.edf_002.png.edfgen-tmp-* changed plots/'s status-change time past the lock's last heartbeat, so that
    stage's own plot counted as not provably its own and the resume was refused, naming edfgen's plot. Through
    _run_stages (the first stage, simulate, is the killed one): it now resumes, the temp file gone too."""
    import edfgen.pipeline as pl
    from edfgen.pipeline import config_from_dict

    class Stop(Exception):
        pass

    def run_command(options):
        raise Stop

    monkeypatch.setattr(pl, "run_command", run_command)
    monkeypatch.setattr(pl, "package_code_digest", lambda: "code")
    script = _OLD_KILLED_STAGE.replace("edfgen gwas", "edfgen simulate").replace(
        '    print("written"', '    (gw / "plots" / f".edf_002.png.edfgen-tmp-{os.getpid()}-0123456789ab").write_text("half")'
                               '\n    print("written"')
    monkeypatch.setitem(globals(), "_OLD_KILLED_STAGE", script)
    cohort = tmp_path / "o" / "cohort"
    _old_stage_killed(cohort, heartbeat=0.1)
    assert [p.name for p in (cohort / "plots").iterdir() if "edfgen-tmp" in p.name]
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    with pytest.raises(Stop):                                 # reached the command: the stage was not refused
        pl._run_stages(cfg, force=False)
    assert not (cohort / "plots").exists() and not (cohort / "edf_001.tsv.gz").exists()


def test_owned_files__a_killed_runs_lock_is_timed_by_since_s_not_by_its_local_time(tmp_path):
    """s41safefix #6: the lock's `since` is local time, read back in the reader's time zone: a killed stage whose lock
    was taken under another zone (TZ of a cluster job, a laptop travelling) seemed taken after that run started, so
    its files never counted as its own. The lock now also holds `since_s` (seconds since the epoch), read first; an
    older lock (no since_s) is still read by its `since`."""
    import datetime as dt
    import json
    import socket
    import subprocess
    import time

    from edfgen.formats.owned import owned_files

    out = tmp_path / "gw"
    (out / "plots").mkdir(parents=True)
    started = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    manifest = {"command": "edfgen gwas", "started": started.isoformat(), "finished": None,
                "outputs": ["plots/"], "extra": {"in_progress": True}}
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / "plots" / "p.png").write_text("killed run's plot")
    dead = subprocess.Popen(["true"])
    dead.wait()
    local = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started.timestamp()))
    elsewhere = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started.timestamp() + 5 * 3600))
    for since, since_s, owned in [(elsewhere, started.timestamp(), True), (local, None, True), (elsewhere, None, False)]:
        info = {"host": socket.gethostname(), "pid": dead.pid, "started_ticks": "1", "command": "edfgen gwas",
                "since": since, **({"since_s": since_s} if since_s is not None else {}), "heartbeat_s": 60}
        (out / ".edfgen.lock").write_text(json.dumps(info))           # (its time now: a heartbeat after the plot)
        assert ((out / "plots" / "p.png") in owned_files(manifest, out)) is owned, (since, since_s)


def test_stage__a_skipped_stage_still_loses_a_killed_writers_temp_file(tmp_path, monkeypatch):
    """s41safefix #3, its other side: edfgen run no longer removes temp files in the stages' folders up front, so a
    stage that is up to date (skipped) removes a killed writer's leftover itself (a half-written export can be GBs)."""
    import edfgen.pipeline as pl
    from edfgen.formats.manifest import recording
    from edfgen.pipeline import config_from_dict

    monkeypatch.setattr(pl, "package_code_digest", lambda: "code")

    def run_command(options):
        with recording(options.out, "edfgen gwas", planned=["a.tsv"]):
            (Path(options.out) / "a.tsv").write_text("x")

    monkeypatch.setattr(pl, "run_command", run_command)
    cfg = config_from_dict({"run": {"out": str(tmp_path / "o")}, "simulate": {}}, base=tmp_path)
    gw = tmp_path / "o" / "gwas"
    pl._Runner(cfg).stage("gwas", "gwas", {"out": gw}, [], gw)
    (gw / "sub").mkdir()
    left = gw / "sub" / ".big.tsv.edfgen-tmp-999999999-0123456789ab"         # (no such pid)
    left.write_text("half")
    runner = pl._Runner(cfg)
    assert runner.stage("gwas", "gwas", {"out": gw}, [], gw) == gw and runner.records[-1].status == "skipped"
    assert not left.exists()


def test_run__temp_files_outside_the_stages_folders_and_in_dropped_stages_folders_are_removed(tmp_path, monkeypatch):
    """s41safefix2 #4: since edfgen run cleans temp files in the stages' folders only once each is judged, a killed
    writer's leftover in the run's own folders (split/, covariates/, report_figures/) or in the folder of a stage that
    the run drops (drop_stale) was never removed (and kept that stage's folder from going once emptied)."""
    import json

    import edfgen.pipeline as pl
    from edfgen.formats.manifest import recording
    from edfgen.pipeline import config_from_dict

    out = tmp_path / "o"
    cfg = config_from_dict({"run": {"out": str(out)}, "simulate": {}}, base=tmp_path)
    temp = ".x.tsv.edfgen-tmp-999999999-0123456789ab"              # (no such pid)
    for d in ("split", "covariates", "report_figures", "ldsc"):
        (out / d).mkdir(parents=True)
        (out / d / temp).write_text("half")

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(pl, "mark_in_progress", stop)           # (just after the run's cleaning: no stage run)
    with pytest.raises(KeyboardInterrupt):
        pl._run_stages(cfg, force=False)
    assert [d for d in ("split", "covariates", "report_figures") if (out / d / temp).exists()] == []
    with recording(out / "ldsc", "edfgen ldsc", planned=["h2.tsv"]):
        (out / "ldsc" / "h2.tsv").write_text("x")
    (out / "ldsc" / temp).write_text("half")
    runner = pl._Runner(cfg)
    runner.state = {"ldsc": {"command": "edfgen ldsc", "wiring": {"out": str(out / "ldsc")}}}
    runner.drop_stale()
    assert not (out / "ldsc").exists() and json.loads(runner.state_path.read_text()) == {}



def _gwas_args(cohort: Path, tmp_path: Path, out: Path) -> list[str]:
    iids = pd.read_csv(cohort / "covariates.tsv", sep="\t", dtype={"IID": str})["IID"]
    pd.DataFrame({"IID": iids, "x": np.random.default_rng(0).normal(size=len(iids))}).to_csv(
        tmp_path / "a.tsv", sep="\t", index=False)
    return ["gwas", "--bfile", str(cohort / "genotypes"), "--pheno", str(tmp_path / "a.tsv"), "--covar",
            str(cohort / "covariates.tsv"), "--covar-cols", "age,sex", "--maf", "0.05", "--no-plots", "--out", str(out)]


def test_gwas__an_older_edfgens_killed_run_listing_plots_whole_resumes_as_edfgen_run_does(tiny_sim_cohort, tmp_path):
    """s42files #1: `edfgen run` resumed a stage an older edfgen was killed in (a real SIGKILL, its in-progress
    manifest listing plots/ whole: its files there changed before its lock's last heartbeat are its own), but `edfgen
    gwas --out` on the same folder refused its plot ("that run did not finish"): the command takes the folder's lock
    first, taking the dead writer's lock over, and then judged the files without that lock's heartbeat. It now judges
    them by the lock it took over: the plain rerun replaces the killed run's files; a user's file put there after the
    kill is still refused, nothing removed."""
    import shutil

    gw = tmp_path / "gw"
    args = _gwas_args(tiny_sim_cohort, tmp_path, gw)
    _old_stage_killed(gw, heartbeat=0.1)
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert not (gw / "plots").exists() and not (gw / "edf_001.tsv.gz").exists() and (gw / "x.tsv.gz").exists()
    shutil.rmtree(gw)
    _old_stage_killed(gw, heartbeat=0.1)
    (gw / "plots" / "mine.txt").write_text("a user's file")                   # put there after the kill
    for extra in ([], ["--force"]):
        res = CliRunner().invoke(cli, args + extra)
        assert (gw / "plots" / "mine.txt").read_text() == "a user's file"
        if not extra:
            assert res.exit_code == 2 and "unfinished 'edfgen gwas' run" in res.output, res.output
            assert (gw / "plots" / "edf_001.png").exists()
    assert res.exit_code == 0 and "--force kept 2 file(s)" in res.output, res.output   # (plots/ changed: both kept)


@pytest.mark.parametrize("force", [False, True])
def test_recording__a_users_file_written_over_a_killed_runs_planned_file_is_refused_not_replaced(tmp_path, force):
    """s42files #3: an older edfgen's run, killed (a real SIGKILL), its manifest listing plots/ whole; the user then
    wrote their own figure over its plots/edf_001.png in place (the folder's time unchanged). The rerun and --force
    plan that very name, so they counted it edfgen's and wrote over it (edfgen run, which plans nothing, refused it).
    Its status-change time, after the killed run's last heartbeat, says it is not edfgen's: refused in one line naming
    it, nothing removed; the killed run's other planned file is replaced once the user moved theirs away.

    s42filesfix #2: that protection lasted one try. The first try took over (deleted) the killed run's lock, was
    refused, and removed its own lock; the second had no heartbeat to judge by and wrote over the user's figure. A
    holder refused before its own run began now puts the killed run's lock back as it was: every try is refused."""
    from edfgen.exceptions import InputError
    from edfgen.formats.manifest import recording

    gw = tmp_path / "gw"
    _old_stage_killed(gw, heartbeat=0.1)
    (gw / "plots" / "edf_001.png").write_text("the user's own figure")      # in place, after the kill
    planned = ["edf_001.tsv.gz", "plots/edf_001.png"]
    dead = ((gw / ".edfgen.lock").read_text(), (gw / ".edfgen.lock").stat().st_mtime)
    for _ in range(2):      # (and says what it may be, and what to do: s42filesfix #5)
        with pytest.raises(InputError, match=r"plots/edf_001\.png is in plots/, .* \(this run writes that very name.*"
                                             r"may be that run's last output or a file of yours: move it away"):
            with recording(gw, "edfgen gwas", planned=planned, force=force):
                pass
        assert (gw / "plots" / "edf_001.png").read_text() == "the user's own figure"
        assert (gw / "edf_001.tsv.gz").read_text() == "killed run's output"
    assert ((gw / ".edfgen.lock").read_text(), (gw / ".edfgen.lock").stat().st_mtime) == dead
    (gw / "plots" / "edf_001.png").rename(tmp_path / "mine.png")
    with recording(gw, "edfgen gwas", planned=planned, force=force):
        assert not (gw / "edf_001.tsv.gz").exists()
        for x in planned:
            (gw / x).parent.mkdir(exist_ok=True)
            (gw / x).write_text("new")
    assert (tmp_path / "mine.png").read_text() == "the user's own figure"
    assert not (gw / ".edfgen.lock").exists()       # its own run done: the killed run's lock is not put back


def test_gwas_force_twice__a_users_figure_at_a_planned_name_in_a_killed_runs_folder_survives_both(tiny_sim_cohort,
                                                                                                 tmp_path):
    """s42filesfix #2 as a user saw it: a killed run's folder (a real SIGKILL, manifest listing plots/ whole), the
    user's own figure put at plots/x.qq.png, a name gwas writes. The first `gwas --force` was refused, yet took the
    killed run's lock away with it; the second, with no heartbeat left to judge by, wrote over the figure. Every try
    is now refused, saying the file may be the killed run's last output and to move it away."""
    gw = tmp_path / "gw"
    args = [a for a in _gwas_args(tiny_sim_cohort, tmp_path, gw) if a != "--no-plots"]
    _old_stage_killed(gw, heartbeat=0.1)
    (gw / "plots" / "x.qq.png").write_text("the user's own figure")           # put there after the kill
    for _ in range(2):
        res = CliRunner().invoke(cli, [*args, "--force"])
        assert res.exit_code == 2 and "may be that run's last output or a file of yours: move it away" in res.output, \
            res.output
        assert (gw / "plots" / "x.qq.png").read_text() == "the user's own figure"
