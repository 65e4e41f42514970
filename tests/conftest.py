"""Shared pytest fixtures: one Hail context per session, small simulated cohorts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()

os.environ.setdefault("MPLBACKEND", "Agg")


#: Simulated-ECG interval checks: (allowed range of the mean error edfgen - simulator truth, ms; largest
#: per-record departure from that mean, ms). The simulator defines PR, QRS and QT by its own wave shapes (QT and
#: PR by the tangent method); the delineator follows LUDB's cardiologists (``DEFAULT_SETTINGS``, tuned on LUDB
#: records 1-80), who mark the QRS onset and the T end where the waves visibly leave and meet the baseline:
#: on the simulator that is a QRS 17 ms, QT 23 ms longer and PR 11 ms shorter than its truth (SD 2 ms over
#: records), a convention, checked to stay within these ranges, with a tight per-record spread around it.
SIM_INTERVAL_CONVENTION = {
    "qt_interval_ms": ((15.0, 30.0), 15.0),
    "qrs_duration_ms": ((10.0, 24.0), 12.0),
    "pr_interval_ms": ((-17.0, -5.0), 10.0),
}


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        if os.environ.get("CI"):  # the reference data must be there in CI: never skip its tests silently
            pytest.fail(f"shared data not found at {SHARED_DATA} (CI runs with ../shared beside the clone)")
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture
def fed_fifo(tmp_path):
    """``fed_fifo(name, data) -> (path, within)``: a FIFO under ``tmp_path`` that a thread writes ``data`` into once
    (as ``cat file > fifo &`` does), and ``within(seconds, fn)``, which returns ``fn()`` or fails the test when it
    has not returned in time (a FIFO opened again, with no writer left, blocks for ever): the FIFO is then opened
    for writing, which releases the blocked reader, so a hang fails the test instead of blocking CI."""
    import threading

    def make(name: str, data: bytes):
        path = tmp_path / name
        os.mkfifo(path)
        threading.Thread(target=path.write_bytes, args=(data,), daemon=True).start()

        def within(seconds: float, fn):
            done: dict = {}

            def target():
                try:
                    done["value"] = fn()
                except BaseException as exc:   # re-raised in the test's thread
                    done["error"] = exc
            t = threading.Thread(target=target, daemon=True)
            t.start()
            t.join(seconds)
            if t.is_alive():
                for _ in range(50):               # release every open() of the FIFO still waiting for a writer
                    try:
                        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                    except OSError:
                        break
                t.join(10)
                pytest.fail(f"still running after {seconds} s: {path} (a FIFO) was opened again with no writer")
            if "error" in done:
                raise done["error"]
            return done.get("value")
        return path, within
    return make


@pytest.fixture(scope="session")
def hail_context(tmp_path_factory):
    """Start Hail once for the whole test session (2 local threads, small driver memory)."""
    from edfgen.engines.hail import HailSettings, init_hail

    tmp = tmp_path_factory.mktemp("hail")
    hl = init_hail(HailSettings(threads=2, tmp_dir=str(tmp), driver_memory="3g"))
    yield hl


#: Parameters of the ``sim_cohort`` fixture (see its docstring).
SIM_COHORT_PARAMS = dict(n=1000, seed=7, chromosomes=3, variants_per_chromosome=2000, effect_scale=2.0)


@pytest.fixture(scope="module")
def torch_one_thread():
    """Small models: one torch thread is as fast and immune to oversubscription on a shared machine (a test module
    opts in with ``pytestmark = pytest.mark.usefixtures("torch_one_thread")``)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def sim_cohort(tmp_path_factory) -> Path:
    """Path of a small simulated cohort, generated once per test session (~20-30 s on 2 cores).

    ``simulate_cohort(dir, n=1000, seed=7, chromosomes=3, variants_per_chromosome=2000, effect_scale=2.0)``:

    - 1000 participants ``P000001..P001000`` (15 full-sibling pairs, ``truth["related_pairs"]``);
    - 3 chromosomes x 2000 SNPs (msprime coalescent, MAF >= 1 %, ~3 % of SNPs with missing calls),
      ``genotypes.bed/.bim/.fam`` (A1 = derived allele = effect allele of truth.json);
    - ``physiology.tsv`` with 22 planted loci (26 trait effects, 4 pleiotropic variants) whose variance
      shares are doubled (``effect_scale=2``, 4-8 % each) so that ~95 % of them reach p < 5e-8 at n = 1000
      when regressing the trait on the variant with age and sex;
    - ``outcomes.tsv``: GSVT caused by heart_rate_bpm, AF by qt_interval_ms, LBBB by qrs_duration_ms,
      HYP confounded with r_amplitude_mv, the rest null; ``covariates.tsv`` (age, sex, centre, ...);
    - ``ecg/P*.hea/.dat`` WFDB 12-lead records (10 s, 500 Hz, mV); ``truth.json``; ``manifest.json``.

    Read the truth with ``edfgen.simulate.cohort.load_truth(path)``. Treat the directory as read-only
    (copy it if a test must modify it).
    """
    from edfgen.simulate.cohort import simulate_cohort

    out = tmp_path_factory.mktemp("sim_cohort") / "cohort"
    simulate_cohort(out, **SIM_COHORT_PARAMS)
    return out


@pytest.fixture(scope="session")
def tiny_sim_cohort(tmp_path_factory) -> Path:
    """A very small simulated cohort with ECGs, for tests of file handling and crashes rather than of
    statistics: ``simulate_cohort(dir, n=120, seed=11, chromosomes=1, variants_per_chromosome=300,
    effect_scale=6.0)``. Treat it as read-only."""
    from edfgen.simulate.cohort import simulate_cohort

    out = tmp_path_factory.mktemp("tiny_sim_cohort") / "cohort"
    simulate_cohort(out, n=120, seed=11, chromosomes=1, variants_per_chromosome=300, effect_scale=6.0)
    return out


def pytest_sessionstart(session):
    """In CI the reference tools must be installed (`.ci/run` does it): their tests must not skip silently."""
    if os.environ.get("CI"):
        missing = [t for t in ("plink2", "plink1.9") if not have(t)]
        if missing:
            raise pytest.UsageError(f"CI: reference tool(s) {', '.join(missing)} not on PATH (install: apt-get install plink2 plink1.9)")
