"""What one ``edfgen`` command costs besides its work (issue 23 item 4, ``benchmarks/gwas_small.py``).

* ``edfgen gwas`` on a ``.bed`` imports none of the libraries its path does not use (torch,
  statsmodels, Hail, scipy.stats, scikit-learn, pooch; matplotlib only when it draws plots);
* the console entry point ends the process without the interpreter's teardown (0.20-0.23 CPU-s after a
  small GWAS) but with everything the teardown would have done for the command's results: exit handlers
  run, standard output flushed, exit codes kept, and a non-daemon thread still at work is waited for.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}

#: runs ``edfgen`` from the console entry point; an exit handler (registered first, so it runs last)
#: writes the imported modules to argv[1]
RECORD_MODULES = """
import atexit, json, sys
atexit.register(lambda: open(sys.argv[1], "w").write(json.dumps(sorted(sys.modules))))
from edfgen.cli import main
main(sys.argv[2:])
"""

NEVER_ON_GWAS = ("torch", "statsmodels", "hail", "pyspark", "sklearn", "scipy.stats", "rich", "seaborn", "pooch")


def _gwas(cohort: Path, out: Path, *extra: str) -> list[str]:
    return ["gwas", "--bfile", str(cohort / "genotypes"), "--pheno", str(cohort / "physiology.tsv"),
            "--pheno-cols", "heart_rate_bpm", "--covar", str(cohort / "covariates.tsv"), "--covariates", "age,sex",
            "--out", str(out), *extra]


def _imported(tmp_path: Path, args: list[str]) -> tuple[subprocess.CompletedProcess, set[str]]:
    record = tmp_path / f"modules{len(list(tmp_path.glob('modules*')))}.json"
    r = subprocess.run([sys.executable, "-c", RECORD_MODULES, str(record), *args], env=ENV, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r, set(json.loads(record.read_text()))


def _loaded(modules: set[str], name: str) -> bool:
    return name in modules or any(m.startswith(name + ".") for m in modules)


def test_gwas_on_a_bed_imports_no_heavy_library_it_does_not_use(tiny_sim_cohort, tmp_path):
    r, modules = _imported(tmp_path, _gwas(tiny_sim_cohort, tmp_path / "np", "--no-plots"))
    # the summary line reached the pipe before the process ended without teardown
    assert "1 phenotype(s)" in r.stdout and "written to" in r.stdout
    assert (tmp_path / "np" / "heart_rate_bpm.tsv.gz").stat().st_size > 0
    assert {"numpy", "pandas", "edfgen.commands.gwas"} <= modules      # the record is of this run
    loaded = [m for m in (*NEVER_ON_GWAS, "matplotlib") if _loaded(modules, m)]
    assert not loaded, f"edfgen gwas --no-plots imported {loaded}"
    _, modules = _imported(tmp_path, _gwas(tiny_sim_cohort, tmp_path / "plots"))
    assert _loaded(modules, "matplotlib") and (tmp_path / "plots" / "plots").is_dir()
    loaded = [m for m in NEVER_ON_GWAS if _loaded(modules, m)]
    assert not loaded, f"edfgen gwas imported {loaded}"


def test_quick_exit_keeps_exit_codes_and_one_line_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "edfgen", "gwas", "--bfile", str(tmp_path / "none"), "--pheno",
                        str(tmp_path / "none.tsv"), "--pheno-cols", "y", "--out", str(tmp_path / "o")],
                       env=ENV, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2, r.stderr          # click's usage error: the phenotype file does not exist
    assert "none.tsv" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "edfgen", "--version"], env=ENV, capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("edfgen, version")


WAITS_FOR_THREAD = """
import sys, threading, time
from pathlib import Path
def work():
    time.sleep(0.5)
    Path(sys.argv[1]).write_text("done")
threading.Thread(target=work).start()      # a non-daemon thread still at work when the command ends
from edfgen.cli import main
main(["--version"])
"""


def _script(script: str, path: Path) -> str:
    """Run ``script`` with ``path`` as its argument; what it left in ``path``."""
    r = subprocess.run([sys.executable, "-c", script, str(path)], env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return path.read_text()


def test_quick_exit_waits_for_a_non_daemon_thread_at_work(tmp_path):
    assert _script(WAITS_FOR_THREAD, tmp_path / "flag") == "done"


LEAVES_A_FILE_OPEN = """
import sys
class Teardown:                            # its finaliser runs in the interpreter's teardown, not after os._exit
    def __del__(self, _open=open, _path=sys.argv[1] + ".teardown"):
        _open(_path, "w").write("ran")
marker = Teardown()
f = open(sys.argv[1], "w")
f.write("buffered")                        # never flushed nor closed: teardown would have written it
from edfgen.cli import main
main(["gwas", "--help"])                   # a real subcommand: resolved, imported, run, then the quick exit
"""


def test_quick_exit_writes_out_a_file_left_open(tmp_path):
    assert _script(LEAVES_A_FILE_OPEN, tmp_path / "open.txt") == "buffered"
    assert not (tmp_path / "open.txt.teardown").exists()     # the quick exit ran (a normal exit would write it)


def test_quick_exit_prints_nothing_after_a_command_that_imported_torch(tmp_path):
    # the scan for open files touches every object: torch.distributed's deprecated reduce_op warned on it
    r = subprocess.run([sys.executable, "-m", "edfgen", "extract", "--help"], env=ENV, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0 and "--checkpoint" in r.stdout
    assert r.stderr == "", r.stderr


DEAD_WEAK_PROXY = """
import sys, weakref
class Gone:
    pass
class Teardown:
    def __del__(self, _open=open, _path=sys.argv[1] + ".teardown"):
        _open(_path, "w").write("ran")
marker = Teardown()
obj = Gone()
proxies = [weakref.proxy(obj)]             # as sktime/numba leave behind: isinstance() on it raises ReferenceError
del obj
f = open(sys.argv[1], "w")
f.write("buffered")
from edfgen.cli import main
main(["--version"])
"""


def test_quick_exit_survives_a_dead_weak_proxy(tmp_path):
    # edfgen evaluate --baseline minirocket (sktime imported) printed its results, then crashed in the open-file
    # scan with ReferenceError and exit status 1
    assert _script(DEAD_WEAK_PROXY, tmp_path / "open.txt") == "buffered"
    assert not (tmp_path / "open.txt.teardown").exists()     # the quick exit ran, not the normal teardown


def test_exit_now_leaves_a_process_under_pytest_alone():
    from edfgen.cli import exit_now

    assert exit_now(SystemExit(0)) is None      # returned: this process is pytest's
