"""``edfgen gwas --engine hail`` on a real multi-process Spark standalone cluster: a master and two workers
(one core each, separate JVMs) on 127.0.0.1, started from the pyspark that Hail installs. The command runs
in a subprocess (the test session's own Hail context is local and cannot be re-initialised with another
master), on per-chromosome BGEN (``{chr}``, ``--min-info``) and on PLINK input (``--keep``, ``--extract``,
``--model ridge-loco`` step 2 from the fast engine's step 1); its files equal the fast
engine's, and both workers ran tasks.

Marked ``cluster`` (part of ``make test`` and CI; ``-m "not cluster"`` leaves it out).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.engines.hail import java_major_version
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings

from test_gwas_hail_models import compare_outputs
from test_readers import _plink2, dummy_pgen, write_pheno_covar

pytestmark = [pytest.mark.cluster, pytest.mark.filterwarnings("ignore::DeprecationWarning"),
              pytest.mark.skipif(shutil.which("plink2") is None or (java_major_version() or 0) < 11,
                                 reason="needs plink2 and Java >= 11")]
REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


@dataclass
class SparkCluster:
    """A running standalone cluster: ``master`` (``spark://127.0.0.1:PORT``), the master's JSON UI, the
    workers' JSON UIs and work directories (one ``app-*/<executor id>/`` folder per executor they ran)."""

    master: str
    master_ui: str
    worker_uis: list[str]
    work_dirs: list[Path]
    procs: list[subprocess.Popen]


def _start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as fh:   # own process group: the whole JVM tree is stopped at the end
        return subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def _wait(check, what: str, procs: list[subprocess.Popen], timeout: float = 90.0):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"Spark {what}: a daemon exited with {p.returncode}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"Spark {what}: not ready after {timeout:.0f} s")


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory):
    """``spark-class org.apache.spark.deploy.master.Master`` and two ``...worker.Worker`` (1 core, 1.2 GB each)
    on 127.0.0.1 with free ports; stopped (SIGTERM, then SIGKILL after 20 s) at the end of the module."""
    spark_home = importlib.util.find_spec("pyspark").submodule_search_locations[0]
    d = tmp_path_factory.mktemp("spark")
    env = dict(os.environ, SPARK_HOME=spark_home, SPARK_LOCAL_IP="127.0.0.1", SPARK_DAEMON_MEMORY="256m",
               SPARK_LOG_DIR=str(d / "logs"), SPARK_NO_DAEMONIZE="1")
    spark_class = os.path.join(spark_home, "bin", "spark-class")
    port, ui = _free_port(), _free_port()
    master = f"spark://127.0.0.1:{port}"
    master_ui = f"http://127.0.0.1:{ui}/json/"
    procs = [_start([spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                     "--webui-port", str(ui)], env, d / "master.log")]
    try:
        _wait(lambda: _json(master_ui)["status"] == "ALIVE", "master", procs)
        worker_uis, work_dirs = [], []
        for i in (1, 2):
            wport = _free_port()
            work_dirs.append(d / f"worker{i}")
            worker_uis.append(f"http://127.0.0.1:{wport}/json/")
            procs.append(_start([spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                 "--cores", "1", "--memory", "1200m", "--webui-port", str(wport), "--work-dir",
                                 str(work_dirs[-1]), master], env, d / f"worker{i}.log"))
        _wait(lambda: _json(master_ui)["aliveworkers"] == 2, "workers", procs)
        yield SparkCluster(master, master_ui, worker_uis, work_dirs, procs)
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:  # pragma: no cover - a daemon that ignores SIGTERM
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """plink2 --dummy dosages (300 samples, 2 x 200 variants): per-chromosome BGEN 1.2 8-bit with UK Biobank
    style .sample files, a .bed of the hard calls; phenotypes, covariates, keep and extract lists."""
    d = tmp_path_factory.mktemp("cluster_inputs")
    n, m = 300, 400
    dummy_pgen(d, n, m, seed=17, spacing=1000)
    for c in (1, 2):
        _plink2("--pfile", "raw", "--chr", c, "--export", "bgen-1.2", "bits=8", "ref-first", "--out", f"imp_chr{c}",
                cwd=d)
        lines = (d / f"imp_chr{c}.sample").read_text().splitlines()   # ID_1 = ID_2 (Hail keys samples by ID_1)
        (d / f"imp_chr{c}.sample").write_text("\n".join(lines[:2] + [" ".join([ln.split()[1], *ln.split()[1:]])
                                                                     for ln in lines[2:]]) + "\n")
    _plink2("--pfile", "raw", "--make-bed", "--out", "hard", cwd=d)
    write_pheno_covar(d, n, seed=5, missing_row=4)
    fam = pd.read_csv(d / "hard.fam", sep=r"\s+", header=None, dtype=str)
    fam[[0, 1]].iloc[:260].to_csv(d / "keep.txt", sep="\t", header=False, index=False)
    pd.Series([f"rs{i + 1}" for i in range(0, m, 2)]).to_csv(d / "extract.txt", header=False, index=False)
    from edfgen.engines.stream import count_variants

    with GenotypeSource(bgen=str(d / "imp_chr{chr}.bgen"), sample=str(d / "imp_chr{chr}.sample")).open_reader() as rd:
        info = np.sort(count_variants(rd, np.arange(rd.n_samples), np.arange(rd.n_variants)).info)
    mid = len(info) // 2 + int(np.argmax(np.diff(info[len(info) // 2: len(info) // 2 + 40])))   # a gap near the median
    (d / "min_info.txt").write_text(f"{(info[mid] + info[mid + 1]) / 2:.6f}\n")
    return d


def test_spark_standalone_cluster__hail_engine_equals_fast_engine_on_both_workers(spark_cluster, inputs, tmp_path):
    d = inputs
    qc = dict(maf=0.01, call_rate=0.0, hwe_p=0.0, sample_call_rate=0.0)   # hard calls: ~half missing
    common = ["--pheno", str(d / "pheno.tsv"), "--covar", str(d / "covar.tsv"), "--no-plots", "--maf", "0.01",
              "--call-rate", "0", "--hwe", "0", "--sample-call-rate", "0"]
    min_info = (d / "min_info.txt").read_text().strip()
    bgen = GenotypeSource(bgen=str(d / "imp_chr{chr}.bgen"), sample=str(d / "imp_chr{chr}.sample"),
                          reference_genome="GRCh37", min_info=float(min_info))
    plink = GenotypeSource(bfile=str(d / "hard"), keep=str(d / "keep.txt"), extract=str(d / "extract.txt"))
    # the fast engine, in this process: step 1 of ridge-LOCO, then the two runs to compare with
    step1 = tmp_path / "step1"
    run_gwas(GenotypeSource(bfile=str(d / "hard")), d / "pheno.tsv", d / "covar.tsv", step1, qc=QCSettings(**qc),
             settings=GwasSettings(model="ridge-loco", plots=False), threads=1)
    t0 = time.perf_counter()
    run_gwas(bgen, d / "pheno.tsv", d / "covar.tsv", tmp_path / "fast_bgen", qc=QCSettings(**qc),
             settings=GwasSettings(plots=False), threads=1)
    run_gwas(plink, d / "pheno.tsv", d / "covar.tsv", tmp_path / "fast_plink", qc=QCSettings(**qc),
             pheno_cols=["y1"], settings=GwasSettings(model="ridge-loco", loco_predictions=str(step1 / "loco"),
                                                      plots=False), threads=1)
    fast_s = time.perf_counter() - t0
    hail = ["--engine", "hail", "--spark-master", spark_cluster.master, "--driver-memory", "1g",
            "--executor-memory", "1g", "--tmp-dir", str(tmp_path / "hail_tmp")]
    runs = [["gwas", "--bgen", bgen.bgen, "--sample", bgen.sample, "--reference-genome", "GRCh37", "--min-info", min_info,
             *common, *hail, "--out", str(tmp_path / "hail_bgen")],
            ["gwas", "--bfile", plink.bfile, "--keep", plink.keep, "--extract", plink.extract, "--model", "ridge-loco",
             "--loco-predictions", str(step1 / "loco"), "--pheno-cols", "y1", *common, *hail,
             "--out", str(tmp_path / "hail_plink")]]
    # one driver process (one Spark application) runs both `edfgen gwas` commands through the CLI
    driver = ("import json, sys; from edfgen.cli import cli\n"
              "for args in json.loads(sys.argv[1]):\n"
              "    cli.main(args=args, prog_name='edfgen', standalone_mode=False)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", driver, json.dumps(runs)], env=env, capture_output=True, text=True,
                       timeout=420)
    cluster_s = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    assert "engine hail" in r.stdout + r.stderr
    for name in ("bgen", "plink"):
        man = json.loads((tmp_path / f"hail_{name}" / "manifest.json").read_text())
        assert man["parameters"]["engine"] == "hail"
    n_bgen = compare_outputs(tmp_path / "fast_bgen", tmp_path / "hail_bgen", rtol=BGEN_RTOL, beta_in_se=BGEN_RTOL)
    n_plink = compare_outputs(tmp_path / "fast_plink", tmp_path / "hail_plink")
    assert (n_bgen, n_plink) == (2, 1)
    info_kept = pd.read_csv(tmp_path / "hail_bgen" / "y1.tsv.gz", sep="\t")
    assert 150 < len(info_kept) < 250                                # --min-info dropped about half the variants
    # the application ran executors on both workers, and each executor finished tasks
    apps = _json(spark_cluster.master_ui)
    app_ids = {a["id"] for a in apps["completedapps"] + apps["activeapps"]}
    assert len(app_ids) == 1
    for ui, work in zip(spark_cluster.worker_uis, spark_cluster.work_dirs):
        ran = [e for e in _json(ui)["finishedexecutors"] + _json(ui)["executors"] if e["appid"] in app_ids]
        assert ran, f"no executor of {app_ids} on {ui}"
        logs = list(work.glob("app-*/*/stdout")) + list(work.glob("app-*/*/stderr"))
        assert sum(p.read_text(errors="replace").count("Finished task") for p in logs) > 0, work
    timings = [json.loads((tmp_path / f"hail_{k}" / "manifest.json").read_text())["extra"]["timings_s"]
               for k in ("bgen", "plink")]
    print(f"\nfast engine {fast_s:.1f} s; Spark standalone (2 workers x 1 core) {cluster_s:.1f} s; {timings}")


#: BGEN: the fast engine decodes 8-bit probabilities to float32 dosages (bit for bit cbgen's), Hail to float64:
#: SE and p agree to this relative tolerance, beta to this many standard errors (near-zero betas differ by
#: ~1e-5 relative, ~6e-9 absolute)
BGEN_RTOL = 1e-6
