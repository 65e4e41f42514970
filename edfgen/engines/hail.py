"""One Hail (Spark) context per process, started lazily with edfgen's defaults.

The same code runs locally (``local[*]``, the default) and on a Spark cluster
(``spark_master="yarn"`` or ``spark://...``; on Dataproc, ``hailctl dataproc submit``).
The reference genome is GRCh38. Hail's warning that it was tested on Java 11 is silenced:
Hail 0.2.139 runs on Java 17, which is what edfgen is tested on.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import warnings
from dataclasses import dataclass

from edfgen.exceptions import ToolError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HailSettings:
    """How to start Hail. ``None`` means Hail's/Spark's default."""

    spark_master: str | None = None
    tmp_dir: str | None = None
    driver_memory: str | None = None
    executor_memory: str | None = None
    threads: int | None = None
    log_path: str | None = None


def java_major_version() -> int | None:
    """Major version of the ``java`` on PATH (or ``$JAVA_HOME``), ``None`` if absent."""
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else shutil.which("java")
    if not java or not os.path.exists(java):
        return None
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    import re

    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def init_hail(settings: HailSettings | None = None):
    """Start Hail once per process (idempotent) and return the ``hail`` module.

    Raises
    ------
    ToolError
        Java >= 11 is not installed.
    """
    import hail as hl

    settings = settings or HailSettings()
    if hl.utils.java.Env._hc is not None:  # already running: reuse
        return hl
    if (java_major_version() or 0) < 11:
        raise ToolError("Hail needs Java >= 11: install it (Debian/Ubuntu: 'apt-get install openjdk-17-jre-headless'; "
                        "macOS: 'brew install openjdk@17') or set JAVA_HOME")
    warnings.filterwarnings("ignore", message=".*Hail was built and tested with Java.*")
    warnings.filterwarnings("ignore", message=".*default_reference argument is deprecated.*")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))
    master = settings.spark_master or (f"local[{settings.threads}]" if settings.threads else "local[*]")
    spark_conf = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"}
    if settings.driver_memory:
        spark_conf["spark.driver.memory"] = settings.driver_memory
    else:
        spark_conf["spark.driver.memory"] = os.environ.get("EDFGEN_DRIVER_MEMORY", "4g")
    if settings.executor_memory:
        spark_conf["spark.executor.memory"] = settings.executor_memory
    tmp_dir = settings.tmp_dir or os.path.join(tempfile.gettempdir(), "edfgen-hail")
    os.makedirs(tmp_dir, exist_ok=True) if "://" not in tmp_dir else None
    log_path = settings.log_path or os.path.join(tmp_dir, "hail.log")
    log.info("starting Hail (master=%s, tmp_dir=%s, log=%s)", master, tmp_dir, log_path)
    hl.init(master=master, tmp_dir=tmp_dir, local_tmpdir=tmp_dir if "://" not in tmp_dir else None,
            log=log_path, quiet=True, spark_conf=spark_conf, idempotent=True)
    hl.default_reference("GRCh38")
    try:
        hl.spark_context().setLogLevel("ERROR")
    except Exception:  # pragma: no cover - non-Spark backends
        pass
    return hl
