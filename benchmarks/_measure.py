"""Measuring a child command for the benchmarks: wall time, CPU time and peak memory."""

from __future__ import annotations

import re
import subprocess
import time


def timed(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd`` under /usr/bin/time -v: wall s, user+sys s, peak RSS MiB (of that child alone)."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    err = proc.stderr
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", err).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", err).group(1))
    return {"wall_s": round(wall, 2), "cpu_s": round(user + sys_, 2), "peak_rss_mib": round(rss_kb / 1024, 1),
            "stdout_tail": proc.stdout.strip().splitlines()[-1:] if proc.stdout.strip() else []}
