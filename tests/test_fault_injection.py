"""Fault injection: ``kill -9`` at several points of ``extract``, ``gwas``, ``clump``, ``mr`` and ``run``, then a
rerun (resume, or ``--force``) gives the outputs of an uninterrupted run and leaves no temporary file.

Each case starts the command as a subprocess and kills it with ``os.kill(pid, SIGKILL)``, either from this
process when a file appears (a durable chunk, a stage's in-progress manifest) or from inside the
subprocess at its N-th atomic rename (``edfgen.formats.atomic`` renames every finished temporary file onto its
target: killing just before the N-th rename leaves a complete temporary file, as a kill during an export
does). The uninterrupted reference is one ``edfgen run`` of the same small simulated cohort (n = 120,
300 variants); every table is compared to it by content (gzip files decompressed; manifests, which hold
times and paths, excluded). EDFs of a resumed ``extract`` are compared with ``rtol = 1e-6``: its batches
differ from an uninterrupted run's, and the encoder's float32 sums depend on the batch.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from edfgen.formats.bgzf import EOF_BLOCK
from edfgen.formats.tables import is_temp_name

REPO = Path(__file__).resolve().parents[1]

#: the stage options of every run here (small and fast: no plots, no PRESSO, few bootstrap draws)
STAGES = {
    "extract": {"checkpoint": "tiny", "workers": 0, "batch_size": 16, "chunk_size": 32},
    "gwas": {"covar_cols": "age,sex,centre", "no_plots": True},
    "gwas_outcomes": {"covar_cols": "age,sex", "no_plots": True},
    "clump": {"p1": 1e-4},      # n = 120: index variants (MR instruments) at a suggestive threshold
    "mr": {"nboot": 20, "presso_sims": 0, "plots": False, "p_threshold": 1e-4},
}

#: run inside the subprocess: SIGKILL itself just before the KILL_AT-th atomic rename, then run the CLI
KILLER = """
import os, signal, sys, types
import edfgen.formats.atomic as t
n, calls, real = int(os.environ["KILL_AT"]), [0], os.replace
def replace(a, b):
    calls[0] += 1
    if calls[0] == n:
        os.kill(os.getpid(), signal.SIGKILL)
    return real(a, b)
t.os = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
t.os.replace = replace
from edfgen.cli import main
main(sys.argv[1:])
"""

ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _edfgen(*args: str | Path, kill_at: int | None = None) -> subprocess.Popen:
    argv = [str(a) for a in args]
    if kill_at is None:
        cmd = [sys.executable, "-m", "edfgen.cli", *argv]
        env = ENV
    else:
        cmd = [sys.executable, "-c", KILLER, *argv]
        env = {**ENV, "KILL_AT": str(kill_at)}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _killed(p: subprocess.Popen, timeout: float = 600) -> None:
    out, _ = p.communicate(timeout=timeout)
    assert p.returncode == -signal.SIGKILL, f"exit {p.returncode}, not killed:\n{out[-3000:]}"


def _kill_when(p: subprocess.Popen, ready, timeout: float = 600) -> None:
    """SIGKILL ``p`` as soon as ``ready()`` is true (polled every 5 ms)."""
    t0 = time.monotonic()
    while not ready():
        if p.poll() is not None:
            out = p.stdout.read() if p.stdout else ""
            pytest.fail(f"finished (exit {p.returncode}) before the kill point:\n{out[-3000:]}")
        assert time.monotonic() - t0 < timeout, "kill point not reached"
        time.sleep(0.005)
    os.kill(p.pid, signal.SIGKILL)
    p.communicate(timeout=60)
    assert p.returncode == -signal.SIGKILL


def _in_progress(manifest: Path) -> bool:
    try:
        return json.loads(manifest.read_text()).get("finished") is None
    except (OSError, ValueError):
        return False


def _no_temp_files(d: Path) -> None:
    left = [p for p in d.rglob("*") if is_temp_name(p.name) or p.name.endswith(".parts")]
    assert not left, f"temporary files left: {left}"


def _tables(d: Path) -> dict[str, bytes]:
    """rel path -> content of every output file under ``d`` (gzip decompressed), manifests and the
    pipeline's own bookkeeping (times, absolute paths) excluded."""
    skip = ("manifest.json", "pipeline_state.json", "report.html", "pipeline.toml")
    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_file() and not p.name.endswith(skip) and not p.name.endswith(".png"):
            data = p.read_bytes()
            data = gzip.decompress(data) if p.name.endswith(".gz") else data
            if p.name.endswith("-meta.yaml"):    # GWAS-SSF metadata: the day it was written
                data = b"".join(x for x in data.splitlines(True) if not x.startswith(b"date_metadata"))
            out[p.relative_to(d).as_posix()] = data
    return out


def _same_tables(got: Path, ref: Path) -> None:
    a, b = _tables(got), _tables(ref)
    assert sorted(a) == sorted(b)
    diff = [k for k in a if a[k] != b[k]]
    assert not diff, f"differ from the uninterrupted run: {diff[:5]}"


def _config(d: Path, cohort: Path, out: str = "run") -> Path:
    from edfgen.pipeline import render_toml

    raw = {"run": {"out": out, "pca": False},
           "inputs": {"ecg": str(cohort / "ecg"), "bfile": str(cohort / "genotypes"),
                      "covar": str(cohort / "covariates.tsv"), "outcomes": str(cohort / "outcomes.tsv")},
           **STAGES}
    d.mkdir(parents=True, exist_ok=True)
    (d / "pipeline.toml").write_text(render_toml(raw))
    return d / "pipeline.toml"


@pytest.fixture(scope="module")
def cohort(tiny_sim_cohort) -> Path:
    return tiny_sim_cohort


@pytest.fixture(scope="module")
def reference(cohort, tmp_path_factory) -> Path:
    """The uninterrupted `edfgen run` every case is compared to."""
    from edfgen.pipeline import load_config, run_pipeline

    res = run_pipeline(load_config(_config(tmp_path_factory.mktemp("fi_ref"), cohort)))
    assert {s.name: s.status for s in res.stages} == {"extract": "ran", "gwas": "ran", "gwas_outcomes": "ran",
                                                      "clump": "ran", "mr": "ran"}
    return res.out


def _extract_args(cohort: Path, out: Path) -> list:
    o = STAGES["extract"]
    return ["extract", "--ecg", cohort / "ecg", "--out", out, "--checkpoint", o["checkpoint"], "--workers", "0",
            "--batch-size", str(o["batch_size"]), "--chunk-size", str(o["chunk_size"])]


def _gwas_args(cohort: Path, pheno: Path, out: Path) -> list:
    return ["gwas", "--bfile", cohort / "genotypes", "--pheno", pheno, "--covar", cohort / "covariates.tsv",
            "--covar-cols", "age,sex,centre", "--no-plots", "--out", out]


# ----------------------------------------------------------------------------------------------- extract
@pytest.mark.parametrize("point", ["after 1 durable chunk (external kill)", "during the 2nd chunk's rename"])
def test_kill_extract__resume_equals_uninterrupted(cohort, reference, tmp_path, point):
    out = tmp_path / "edfs.tsv"
    if point.startswith("after"):
        p = _edfgen(*_extract_args(cohort, out))
        _kill_when(p, lambda: len(list((tmp_path / "edfs.tsv.parts").glob("chunk_*.npz"))) >= 1)
    else:
        _killed(_edfgen(*_extract_args(cohort, out), kill_at=3))   # state.json, chunk 0, chunk 1 (killed)
        assert any(is_temp_name(f.name) for f in (tmp_path / "edfs.tsv.parts").iterdir())
    assert not out.exists()
    from edfgen.commands import run
    from edfgen.commands.extract import ExtractOptions

    opts = {k: v for k, v in STAGES["extract"].items()}
    res = run(ExtractOptions(**opts, ecg=(cohort / "ecg",), out=out))
    assert res.resumed >= 32
    ref = reference / "extract"
    pd.testing.assert_frame_equal(pd.read_csv(out, sep="\t"), pd.read_csv(ref / "edfs.tsv", sep="\t"), rtol=1e-6)
    pd.testing.assert_frame_equal(pd.read_csv(res.rejects, sep="\t"), pd.read_csv(ref / "edfs.tsv.rejects.tsv", sep="\t"))
    _no_temp_files(tmp_path)


# ----------------------------------------------------------------------------------------------- gwas
def test_kill_gwas_export__clump_still_works_and_force_rerun_equals_uninterrupted(cohort, reference, tmp_path):
    """Item 3: kill -9 during the export leaves a temporary .tsv.gz; clump on that folder refuses it without
    --allow-incomplete (issue 19) and with it ignores the temporary file, and a plain rerun of `gwas` (`--force` beside a
    user's file) removes it and the killed run's files, giving the uninterrupted outputs."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    pheno = reference / "extract" / "edfs.tsv"
    out = tmp_path / "gwas"
    _killed(_edfgen(*_gwas_args(cohort, pheno, out), kill_at=6))   # in-progress manifest, then 4 files, killed at the 5th
    temps = [f for f in out.iterdir() if is_temp_name(f.name)]
    assert temps and any(".tsv.gz" in f.name for f in temps)
    assert _in_progress(out / "manifest.json")
    for f in (f for f in out.glob("*.tsv.gz") if not is_temp_name(f.name)):   # final names: whole files only
        assert f.read_bytes().endswith(EOF_BLOCK) and gzip.decompress(f.read_bytes())
    clump = ["clump", "--sumstats", str(out), "--bfile", str(cohort / "genotypes"), "--out", str(tmp_path / "clump")]
    res = CliRunner().invoke(cli, clump)                        # issue 19: a killed folder is refused ...
    assert res.exit_code == 2 and "did not finish" in res.output and "--allow-incomplete" in res.output
    res = CliRunner().invoke(cli, clump + ["--allow-incomplete"])   # ... unless asked for
    assert res.exit_code == 0, res.output
    (out / "notes.txt").write_text("mine")                       # a file of the user's: the rerun needs --force
    res = CliRunner().invoke(cli, [str(a) for a in _gwas_args(cohort, pheno, out)])
    assert res.exit_code == 2 and "--force" in res.output
    (out / "notes.txt").unlink()             # review s31d #6: only the killed run's files: the plain rerun restarts
    res = CliRunner().invoke(cli, [str(a) for a in _gwas_args(cohort, pheno, out)])
    assert res.exit_code == 0 and "an unfinished 'edfgen gwas' run" in res.output, res.output
    _same_tables(out, reference / "gwas")
    _no_temp_files(out)


# ----------------------------------------------------------------------------------------------- clump, mr
def test_kill_clump__force_rerun_equals_uninterrupted(cohort, reference, tmp_path):
    from click.testing import CliRunner

    from edfgen.cli import cli

    args = ["clump", "--sumstats", reference / "gwas", "--bfile", cohort / "genotypes", "--p1", "1e-4",
            "--out", tmp_path / "clump"]
    _killed(_edfgen(*args, kill_at=3))          # in-progress manifest, clumps.tsv, loci.tsv (killed)
    assert (tmp_path / "clump" / "clumps.tsv").exists() and not (tmp_path / "clump" / "loci.tsv").exists()
    res = CliRunner().invoke(cli, [str(a) for a in args] + ["--force"])
    assert res.exit_code == 0, res.output
    _same_tables(tmp_path / "clump", reference / "clump")
    _no_temp_files(tmp_path)


def test_kill_mr__force_rerun_equals_uninterrupted(cohort, reference, tmp_path):
    from click.testing import CliRunner

    from edfgen.cli import cli

    args = ["mr", "--exposure", reference / "gwas", "--outcome", reference / "gwas_outcomes", "--instruments",
            reference / "clump" / "clumps.tsv", "--nboot", "20", "--presso-sims", "0", "--no-plots",
            "--p-threshold", "1e-4", "--bfile", cohort / "genotypes",   # as the pipeline's mr stage
            "--out", tmp_path / "mr"]
    _killed(_edfgen(*args, kill_at=3))          # in-progress manifest, harmonised.tsv, first table (killed)
    assert _in_progress(tmp_path / "mr" / "manifest.json")
    res = CliRunner().invoke(cli, [str(a) for a in args] + ["--force"])
    assert res.exit_code == 0, res.output
    _same_tables(tmp_path / "mr", reference / "mr")
    _no_temp_files(tmp_path)


# ----------------------------------------------------------------------------------------------- run
@pytest.mark.parametrize("point", ["gwas in progress (external kill)", "mr export (6th rename of the resumed run)"])
def test_kill_run__rerun_resumes_and_equals_uninterrupted(cohort, reference, tmp_path, point):
    """`edfgen run` killed (first run, or a rerun that resumes), then rerun without --force: the finished
    stages are skipped, the killed one replaces only its own files, and every output equals the
    uninterrupted run's."""
    from edfgen.pipeline import load_config, run_pipeline

    toml = _config(tmp_path, cohort)
    run = tmp_path / "run"
    if point.startswith("gwas"):
        p = _edfgen("run", "--config", toml)
        _kill_when(p, lambda: _in_progress(run / "gwas" / "manifest.json") and any((run / "gwas").glob("*.tsv.gz")))
    else:   # the finished stages up to clump, as the reference computed them; the rerun computes mr, killed in its export
        import edfgen.pipeline as pl

        def copied(options):      # each stage's outputs copied from the reference's, not computed again (~10 s)
            stage = Path(options.out).relative_to(run).parts[0]
            shutil.copytree(reference / stage, run / stage, dirs_exist_ok=True)

        real, pl.run_command = pl.run_command, copied
        try:
            first = run_pipeline(load_config(toml))   # (its keys: this folder's paths)
        finally:
            pl.run_command = real
        assert {s.status for s in first.stages} == {"ran"}
        shutil.rmtree(run / "mr")
        state = json.loads((run / "pipeline_state.json").read_text())
        del state["mr"]
        (run / "pipeline_state.json").write_text(json.dumps(state))
        _killed(_edfgen("run", "--config", toml, kill_at=3))
        assert _in_progress(run / "mr" / "manifest.json")
    (run / "gwas" / "notes.txt").write_text("a user's file") if point.startswith("gwas") else None
    if point.startswith("gwas"):
        # a file edfgen did not write in a stage folder: the stage refuses (the pipeline never forces)
        from edfgen.exceptions import InputError

        with pytest.raises(InputError, match="stage gwas: .*: notes.txt was not written by edfgen"):
            run_pipeline(load_config(toml))
        assert (run / "gwas" / "notes.txt").read_text() == "a user's file"
        (run / "gwas" / "notes.txt").unlink()
    res = run_pipeline(load_config(toml))
    status = {s.name: s.status for s in res.stages}
    if point.startswith("gwas"):
        assert status["extract"] == "skipped" and status["gwas"] == "ran"
    else:
        assert status == {"extract": "skipped", "gwas": "skipped", "gwas_outcomes": "skipped", "clump": "skipped",
                          "mr": "ran"}
    _same_tables(run, reference)
    _no_temp_files(run)
