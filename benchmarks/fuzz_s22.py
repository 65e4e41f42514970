"""Hostile-input audit of every edfgen command (stop 22): hand-made broken inputs, before and after the fixes.

Where the seeded fuzzers (``fuzz_ecg.py``, ``fuzz_inputs_genotypes.py``, ``fuzz_tables.py``) mutate bytes at
random, these cases are the named mistakes of real files (``benchmarks/_fuzz_s22_cases.py``): WFDB headers
that contradict themselves, uncalibrated gains, absurd sampling rates, XML in other encodings, BGEN ``.sample``
files of another order, split chromosomes, BOMs in id lists, NaN options, contradictory options, output
folders holding a user's files. Each case runs ``edfgen`` in-process (click's runner) on a private copy of
small valid inputs with one thing broken and is classified:

- **ECG records** (``extract`` over three good records and the broken one): ``used`` (the record is in the EDF
  table), ``reject: <reason>`` (listed in the rejects file, the batch went on), ``error`` (one line, exit 2),
  ``TRACEBACK``;
- **commands**: ``ran`` (exit 0), ``error: <line>`` (one ``edfgen <cmd>: error:`` or click usage line),
  ``TRACEBACK`` (an exception other than the CLI's one-line errors), ``MULTI-LINE``.
  ``lost`` marks a case after which a file of the input folder is gone.

With ``--baseline DIR`` (a folder holding another tree's ``edfgen`` package, e.g. ``git archive HEAD edfgen``
before the fixes) every case also runs against it, in a child process, and the table shows both.

Run: ``nice -n 10 python benchmarks/fuzz_s22.py [--baseline /tmp/base]`` -> ``benchmarks/results/fuzz_s22.json``
and ``.md`` (the cases table, ``<case>`` standing for the case's folder; the findings and fixes are written by hand
below it, kept on rerun).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
MARK = "<!-- findings below are kept on rerun -->"


def _invoke(args: list) -> tuple[int, str, BaseException | None]:
    from click.testing import CliRunner

    from edfgen.cli import cli

    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True, prog_name="edfgen")  # as users see it
    exc = r.exception if r.exception is not None and not isinstance(r.exception, SystemExit) else None
    return r.exit_code, r.output, exc


def _command_outcome(code: int, output: str, exc) -> str:
    if exc is not None:
        return f"TRACEBACK {type(exc).__name__}: {' '.join(str(exc).split())[:160]}"
    if code == 0:
        return "ran"
    lines = [ln for ln in output.splitlines() if re.match(r"(edfgen [\w-]+: error: |Error: )", ln)]
    return f"error: {lines[0][:220]}" if len(lines) == 1 else f"MULTI-LINE (exit {code})"


def _ecg_outcome(d: Path, code: int, output: str, exc) -> str:
    import pandas as pd

    if exc is not None or code != 0:
        return _command_outcome(code, output, exc)
    out = d / "out"
    ids = set(pd.read_csv(out / "edfs.tsv", sep="\t", dtype={"IID": str})["IID"])
    rej = [pd.read_csv(p, sep="\t", dtype=str) for p in out.glob("*rejects*.tsv")]
    rej = pd.concat(rej) if rej else pd.DataFrame(columns=["record", "reason"])
    good = {"R0", "R1", "R2"} <= ids
    new = sorted(ids - {"R0", "R1", "R2"})
    bits = [] if good else ["GOOD RECORDS LOST"]
    bits += [f"used {', '.join(new)}"] if new else []
    bits += [f"reject: {' '.join(str(r).split())[:160]}" for r in rej["reason"]]
    return "; ".join(bits) or "nothing used, nothing rejected"


def _child(out_json: str) -> None:
    """Run every case against the ``edfgen`` on ``sys.path``; write ``[{group, case, outcome}]``."""
    import logging
    import warnings

    sys.path[:0] = [str(ROOT / "tests"), str(HERE)]
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    import _fuzz_s22_cases as cases

    work = Path(tempfile.mkdtemp(prefix="edfgen-s22-"))
    results = []
    try:
        base = work / "base"
        cases.write_base(base)
        runs = [("ECG records", name, cases.extract, fn, True) for name, fn in cases.ECG]
        runs += [(group, name, cmd, fn, False) for group, name, cmd, fn in cases.COMMANDS]
        geno = None
        if shutil.which("plink2"):
            geno = work / "geno"
            cases.write_genotype_formats(geno)
            runs += [("genotype formats", name, cmd, fn, False) for name, cmd, fn in cases.GENOTYPE_FORMATS]
        for k, (group, name, cmd, fn, is_ecg) in enumerate(runs):
            d = work / f"c{k}"
            shutil.copytree(geno if group == "genotype formats" else base, d, symlinks=True,
                            ignore=shutil.ignore_patterns("*.log", "done"))
            t0 = time.perf_counter()
            try:
                fn(d)
            except Exception as exc:  # the case's own set-up failed: reported, not counted
                results.append({"group": group, "case": name, "outcome": f"SETUP {type(exc).__name__}: {exc}"})
                continue
            before = {p.relative_to(d) for p in d.rglob("*")}
            try:
                code, output, exc = _invoke(cmd(d, d / "out"))
                outcome = _ecg_outcome(d, code, output, exc) if is_ecg else _command_outcome(code, output, exc)
                if exc is not None:
                    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                    outcome += f" [at {tb.strip().splitlines()[-3].strip()[:120]}]"
            except Exception as exc:  # the classification itself failed (an output missing)
                outcome = f"CHECK FAILED {type(exc).__name__}: {exc}"
            outcome = outcome.replace(str(d), "<case>")          # the same text for the same outcome in any run
            lost = sorted(str(p) for p in before - {p.relative_to(d) for p in d.rglob("*")})
            results.append({"group": group, "case": name, "outcome": outcome + (f" (lost {lost[:3]})" if lost else ""),
                            "seconds": round(time.perf_counter() - t0, 2)})
            for p in d.rglob("*"):
                if p.is_dir() and not p.is_symlink():
                    os.chmod(p, 0o755)
            shutil.rmtree(d, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        Path(out_json).write_text(json.dumps(results, indent=1))


def _run_tree(tree: Path, work: Path, name: str) -> list[dict]:
    out = work / f"{name}.json"
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", str(out)], env=env,
                          cwd=work, capture_output=True, text=True)
    if not out.exists():
        raise RuntimeError(f"{name}: the case run died (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(out.read_text())


def _cell(outcome: str) -> str:
    return outcome.replace("|", "\\|").replace("\n", " ")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, help="folder holding the edfgen package of the tree before the fixes")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return _child(a.child)
    load = os.getloadavg()[0]
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="edfgen-s22-") as tmp:
        after = _run_tree(ROOT, Path(tmp), "after")
        before = _run_tree(a.baseline, Path(tmp), "before") if a.baseline else None
    seconds = round(time.perf_counter() - t0, 1)
    res = {"command": " ".join(["python benchmarks/fuzz_s22.py"] + (["--baseline", str(a.baseline)] if a.baseline else [])),
           "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_at_start": load,
           "host": platform.node(), "seconds": seconds, "after": after, "before": before}
    bad = re.compile(r"TRACEBACK|MULTI-LINE|GOOD RECORDS LOST|lost \[|CHECK FAILED")
    md = ["# Hostile-input audit of every command (stop 22)", "",
          f"`{res['command']}` at commit {commit} (the working tree), {res['date']}, load average {load:.1f} at "
          f"start, {seconds} s. Cases: `benchmarks/_fuzz_s22_cases.py`; outcome classes: `benchmarks/fuzz_s22.py`.",
          "", f"{len(after)} cases; defects now (traceback, multi-line error, good records lost, an input file lost): "
          f"{sum(bool(bad.search(r['outcome'])) for r in after)}"
          + (f"; before the fixes: {sum(bool(bad.search(r['outcome'])) for r in before)}." if before else "."), ""]
    prior = {(r["group"], r["case"]): r["outcome"] for r in before or []}
    for group in dict.fromkeys(r["group"] for r in after):
        md += [f"## {group}", "", "| case | outcome | before the fixes |" if before else "| case | outcome |",
               "|---|---|---|" if before else "|---|---|"]
        for r in (r for r in after if r["group"] == group):
            was = prior.get((group, r["case"]), "")
            same = before is not None and was == r["outcome"]
            md.append(f"| {r['case']} | {_cell(r['outcome'])} |" + (f" {'same' if same else _cell(was)} |" if before else ""))
        md.append("")
    md_path = RESULTS / "fuzz_s22.md"
    kept = md_path.read_text().split(MARK, 1)[1] if md_path.exists() and MARK in md_path.read_text() else "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "fuzz_s22.json").write_text(json.dumps(res, indent=1))
    md_path.write_text("\n".join(md) + "\n" + MARK + kept)
    print("\n".join(md))


if __name__ == "__main__":
    main()
