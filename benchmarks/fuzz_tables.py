"""Fuzzing the table readers (issue 19 item 7): cases per reader and their outcomes.

    python benchmarks/fuzz_tables.py [--cases 400] [--tag before]

With ``PYTHONPATH`` set to an older tree and ``--tag before``, the same cases run against that tree's
readers (``results/fuzz_tables_before.{json,md}``).

Runs the hypothesis harness of ``tests/fuzz_tables_cases.py`` (the one ``tests/test_fuzz_tables.py``
runs with fewer cases) on every table reader: summary statistics in each layout edfgen reads
(GWAS-SSF BGZF, plink2, REGENIE, SAIGE, BOLT-LMM, FinnGen gzip, TwoSampleMR CSV), plain tables
(phenotype TSV, space-separated covariates, gzipped CSV keep list), loci, the GWAS Catalog TSV, GTF
(BGZF) and BED genes. Outcomes: ``error`` (one-line EdfgenError), ``used`` (every row of the
mutated file returned), and the failures the rule forbids: ``crash`` (any other exception: a
traceback), ``silent_drop`` (fewer rows than the file holds, or a result from a stream that cannot
be whole), ``multi_line_error``. Writes ``results/fuzz_tables.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))


def main() -> None:
    from fuzz_tables_cases import KINDS, SEEDS, fuzz_reader

    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=400)
    ap.add_argument("--tag", default="", help="suffix of the result files (e.g. before)")
    ap.add_argument("--readers", nargs="*", default=None, help="only these readers (names of SEEDS; default: all)")
    args = ap.parse_args()
    logging.disable(logging.WARNING)
    rows, failures = [], []
    t_all = time.perf_counter()
    for reader in args.readers or SEEDS:
        t0 = time.perf_counter()
        tally = fuzz_reader(reader, args.cases, workdir=Path(tempfile.mkdtemp(prefix="edfgen-fuzz-")))
        c = tally.counts
        rows.append({"reader": reader, "cases": sum(c.values()), "error": c["error"], "used": c["used"],
                     "crash": c["crash"], "silent_drop": c["silent_drop"], "multi_line_error": c["multi_line_error"],
                     "mutations": {k: tally.kinds[k] for k in KINDS}, "seconds": round(time.perf_counter() - t0, 1)})
        failures += tally.failures
        print(rows[-1], flush=True)
    total = {k: sum(r[k] for r in rows) for k in ("cases", "error", "used", "crash", "silent_drop", "multi_line_error")}
    res = {"cases_per_reader": args.cases, "command": " ".join(sys.argv), "load_avg": os.getloadavg(), "readers": rows, "total": total,
           "failures": failures[:50], "seconds": round(time.perf_counter() - t_all, 1)}
    (HERE / "results").mkdir(exist_ok=True)
    import edfgen

    res["edfgen"] = str(Path(edfgen.__file__).parent)
    name = "fuzz_tables" + (f"_{args.tag}" if args.tag else "")
    (HERE / "results" / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
    md = [f"# Fuzzing the table readers (issue 19){' - ' + args.tag if args.tag else ''}", "",
          f"Readers of `{res['edfgen']}`.", "",
          f"{args.cases} hypothesis cases per reader (derandomised: the same cases every run), "
          f"{args.cases // len(KINDS)} of each mutation ({', '.join(KINDS)}); {res['seconds']} s in all. "
          "Expected outcome of every case: a clean one-line error or every row used; crashes and silent "
          "drops must be 0.", "",
          "| reader | cases | clean one-line error | used (every row) | crash / traceback | silent drop | "
          "multi-line error |", "|---|---|---|---|---|---|---|"]
    for r in rows + [{"reader": "**total**", **total}]:
        md.append(f"| {r['reader']} | {r['cases']} | {r['error']} | {r['used']} | {r['crash']} | "
                  f"{r['silent_drop']} | {r['multi_line_error']} |")
    if failures:
        md += ["", "First failures:", ""] + [f"- {f[:300]}" for f in failures[:10]]
    (HERE / "results" / f"{name}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
