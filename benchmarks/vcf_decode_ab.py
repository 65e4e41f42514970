"""VCF/BCF decoding CPU time of this tree against a baseline tree (a change to the VCF reader, measured).

The data and the decoding job are ``vcf_decode.py``'s (``plink2 --dummy N M`` dosages exported by plink2 as a
bgzipped VCF with GT:DS, a GT-only VCF and a BCF with DS; every variant decoded into float32 blocks). Each
repetition runs, for every file, the baseline tree and this tree one after the other (order alternating
between repetitions), each in its own child process with one thread; the figures are medians over the
repetitions of the CPU seconds the child reports for opening (site scan and line check) and for decoding.

Run: ``python benchmarks/vcf_decode_ab.py --baseline DIR [--reps 7] [--tag NAME]`` (``DIR`` holds the
baseline's ``edfgen`` package, e.g. ``git archive HEAD edfgen | tar -x -C DIR``) ->
``results/vcf_decode_<tag>.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _measure import ROOT, timed  # noqa: E402
from vcf_decode import DECODE, make_data  # noqa: E402

HERE = Path(__file__).parent
FILES = {"vcf.gz GT:DS, read DS": "ds.vcf.gz", "vcf.gz GT": "gt.vcf.gz", "bcf GT:DS, read DS": "ds.bcf"}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, required=True, help="a tree holding the baseline edfgen package")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--m", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--tag", default="ab")
    ap.add_argument("--work", type=Path, default=Path("/tmp/edfgen-bench-vcf"))
    a = ap.parse_args(argv)
    d = a.work / f"n{a.n}_m{a.m}"
    make_data(d, a.n, a.m)
    trees = {"baseline": a.baseline.resolve(), "this tree": ROOT}
    env1 = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    runs: dict = {f: {t: [] for t in trees} for f in FILES}
    loads = [os.getloadavg()[0]]
    t0 = time.time()
    for rep in range(a.reps):
        order = list(trees) if rep % 2 == 0 else list(trees)[::-1]
        for label, f in FILES.items():
            for t in order:
                env = {**os.environ, **env1, "PYTHONPATH": str(trees[t])}
                r = timed([sys.executable, "-c", DECODE, "vcf", str(d / f)], env=env, cwd=trees[t])
                open_s, dec_s = map(float, r["stdout_tail"][0].split())
                runs[label][t].append({"open_cpu_s": open_s, "decode_cpu_s": dec_s, "cpu_s": r["cpu_s"]})
        loads.append(os.getloadavg()[0])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "edfgen"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip())
    summary = {}
    for label in FILES:
        med = {t: {k: statistics.median(r[k] for r in runs[label][t]) for k in ("open_cpu_s", "decode_cpu_s",
                                                                                 "cpu_s")} for t in trees}
        ratio = {k: med["this tree"][k] / med["baseline"][k] for k in med["baseline"]}
        summary[label] = {"median": med, "ratio_this_over_baseline": ratio}
    out = {"command": "python benchmarks/vcf_decode_ab.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "commit": commit + (" + working tree" if dirty else ""), "date_utc": time.strftime("%Y-%m-%d %H:%M",
                                                                                               time.gmtime(t0)),
           "n": a.n, "m": a.m, "reps": a.reps, "load_avg_1min": [round(x, 2) for x in loads], "summary": summary,
           "runs": runs}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / f"vcf_decode_{a.tag}.json").write_text(json.dumps(out, indent=2))
    lines = [f"# VCF decoding CPU, this tree vs baseline ({a.tag})", "",
             f"`{out['command']}` at {out['commit']}, {out['date_utc']} UTC; N = {a.n} samples, M = {a.m} variants; "
             f"medians of {a.reps} interleaved runs per tree, one thread each; load average "
             f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores.", "",
             "| file | open CPU s (base / this) | decode CPU s (base / this) | decode ratio | process CPU s "
             "(base / this) | process ratio |", "|---|---|---|---|---|---|"]
    for label, s in summary.items():
        b, t, r = s["median"]["baseline"], s["median"]["this tree"], s["ratio_this_over_baseline"]
        lines.append(f"| {label} | {b['open_cpu_s']:.3f} / {t['open_cpu_s']:.3f} | {b['decode_cpu_s']:.3f} / "
                     f"{t['decode_cpu_s']:.3f} | {r['decode_cpu_s']:.3f} | {b['cpu_s']:.2f} / {t['cpu_s']:.2f} | "
                     f"{r['cpu_s']:.3f} |")
    (HERE / "results" / f"vcf_decode_{a.tag}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


if __name__ == "__main__":
    main()
