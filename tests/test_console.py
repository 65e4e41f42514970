"""The console: progress modes (bar, periodic log lines, none), the end-of-command warning summary,
quiet per-phenotype chatter, and the covariate-overlap warning."""

from __future__ import annotations

import io
import logging

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen import progress as prog
from edfgen.exceptions import InputError


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.fixture
def captured():
    """The edfgen logger at INFO into a string buffer (restored after)."""
    prog.configure_logging(0)
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    prog.logger.handlers[0] = handler
    yield buf
    prog.configure_logging(0)


def test_log_progress_lines_at_the_interval(captured):
    clock = _Clock()
    bar = prog.LogProgress(total=100, desc="association", unit="block", interval=30, clock=clock)
    for _ in range(10):          # 10 blocks in 20 s: no line yet (shorter than the interval)
        clock.t += 2
        bar.update(1)
    assert captured.getvalue() == ""
    for _ in range(10):          # 10 more in 20 s: one line at t = 30 s
        clock.t += 2
        bar.update(1)
    lines = captured.getvalue().splitlines()
    assert len(lines) == 1
    # 15 done at t = 30 s: 0.5 block/s, 85 left -> ETA 170 s = 2m50s
    assert lines[0] == "association: 15/100 block (0.5 block/s, 0m30s elapsed, ETA 2m50s)"


def test_log_progress_iterates_and_counts_unknown_totals(captured):
    clock = _Clock()
    items = iter(range(7))       # no len(): no total, no ETA
    bar = prog.LogProgress(items, desc="records", unit="rec", interval=1, clock=clock)
    seen = []
    for x in bar:
        clock.t += 1
        seen.append(x)
    assert seen == list(range(7)) and bar.n == 7
    last = captured.getvalue().splitlines()[-1]
    assert last.startswith("records: 7 rec (") and "ETA" not in last


@pytest.mark.parametrize("env, option, tty, expected", [
    (None, None, False, "log"), (None, None, True, "bar"), ("none", None, True, "none"), ("1", None, False, "bar"),
    ("log", "bar", False, "bar"), ("bogus", None, False, "log"), (None, "none", True, "none")])
def test_progress_mode(monkeypatch, env, option, tty, expected):
    if env is None:
        monkeypatch.delenv("EDFGEN_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("EDFGEN_PROGRESS", env)
    monkeypatch.setattr(prog.sys.stderr, "isatty", lambda: tty, raising=False)
    prog.configure_logging(0, option)
    try:
        assert prog.progress_mode() == expected
        bar = prog.progress(range(3), total=3)
        assert isinstance(bar, prog.LogProgress) == (expected == "log")
        assert list(bar) == [0, 1, 2]
    finally:
        prog.configure_logging(0)
    prog.configure_logging(-1, "bar")            # -q: no progress whatever the option
    assert prog.progress_mode() == "none"
    prog.configure_logging(0)


def test_warning_summary_ends_the_command():
    import click

    from edfgen.cli._options import verbosity

    @click.command()
    @verbosity
    def cmd():
        log = logging.getLogger("edfgen.commands.gwas")
        log.info("one line per step")
        for _ in range(3):
            log.warning("383 logistic fits did not converge: see qc_report.tsv")
        log.debug("per-phenotype detail")

    r = CliRunner().invoke(cmd, ["--progress", "log"])
    assert r.exit_code == 0, r.output
    err = r.stderr if hasattr(r, "stderr") else r.output
    assert "per-phenotype detail" not in err
    assert "1 warning(s) to check:" in err
    assert "  - 383 logistic fits did not converge: see qc_report.tsv (x3)" in err
    r = CliRunner().invoke(cmd, ["-v"])
    assert "per-phenotype detail" in (r.stderr if hasattr(r, "stderr") else r.output)
    assert CliRunner().invoke(cmd, ["--progress", "fast"]).exit_code == 2

    @click.command()
    @verbosity
    def failing():
        logging.getLogger("edfgen.commands.interpret").warning("no --covar, so the associations are unadjusted")
        raise InputError("bad.tsv: only 0 participants")

    # review s31d #10: an input error stays one line (the warning was logged as it came), no summary block
    r = CliRunner().invoke(failing, [])
    err = r.stderr if hasattr(r, "stderr") else r.output
    assert isinstance(r.exception, InputError) and "unadjusted" in err and "warning(s) to check" not in err


def test_covariate_overlap_warning(caplog):
    from edfgen.commands.gwas import _warn_overlap

    with caplog.at_level(logging.WARNING, logger="edfgen"):
        _warn_overlap(5000, 4800, "pheno.tsv", "cov.tsv")   # 4% dropped: quiet
        assert not caplog.records
        _warn_overlap(5000, 199, "pheno.tsv", "cov.tsv")
    (rec,) = caplog.records
    assert rec.levelname == "WARNING"
    assert "only 199 of the 5000" in rec.getMessage() and "96% dropped" in rec.getMessage()


def test_result_counts_line():
    from edfgen.commands.gwas import GwasResult, SampleCounts
    from edfgen.pipeline import result_counts

    res = GwasResult(out_dir="x", phenotypes=["a", "b"], summary=pd.DataFrame(), qc=pd.DataFrame(),
                     samples=SampleCounts(10, 9, 8, 8, 7, 6), engine="fast", timings={})
    assert result_counts(res) == "phenotypes=2, samples=6"
    assert result_counts(np.zeros(2)) == ""


def test_hail_start_keeps_spark_notes_off_the_console(tmp_path, monkeypatch):
    """init_hail hands the Spark driver a log4j2 configuration with errors only on stderr (Spark's and
    Hadoop's start-up WARN lines and PySpark's "Setting default log level" lines stay off the console;
    measured: 0 stderr lines for a Hail start and a count, 4 before)."""
    import hail as hl

    from edfgen.engines import hail as eh

    seen = {}
    monkeypatch.setattr(hl.utils.java.Env, "_hc", None)
    monkeypatch.setattr(hl, "init", lambda **kw: seen.update(kw))
    monkeypatch.setattr(hl, "default_reference", lambda *a: None)
    monkeypatch.setattr(hl, "spark_context", lambda: (_ for _ in ()).throw(RuntimeError("no spark")))
    eh.init_hail(eh.HailSettings(tmp_dir=str(tmp_path)))
    opt = seen["spark_conf"]["spark.driver.extraJavaOptions"]
    conf = tmp_path / "edfgen-log4j2.properties"
    assert opt == f"-Dlog4j2.configurationFile=file:{conf}"
    text = conf.read_text()
    assert "rootLogger.level = error" in text and "logger.spark.level = error" in text
