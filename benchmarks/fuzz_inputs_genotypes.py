"""Benchmark: fuzzing the genotype readers (BGEN 8-bit zlib, BGEN 16-bit zstd, PGEN, BED, VCF) with many more
cases than the test suite, against plink2 in the same run.

Each case is one mutation (truncation at a random offset, a byte flip, deletion or duplication of a byte
run / text field / line, an extreme number written over a field) of one file of a small plink2-written
fileset, read in a worker subprocess (``tests/genotype_fuzz.py``). Outcomes: ``error`` (a one-line edfgen
error), ``used`` (read completely, equal to plink2 ``--export A`` of the same bytes within 1e-3), and the
failures ``crash`` (signal), ``traceback``, ``differs``; ``plink2_rejects`` counts files edfgen read but
plink2 refuses (reported; see the notes).

Usage::

    python benchmarks/fuzz_inputs_genotypes.py                # 400 cases per reader
    python benchmarks/fuzz_inputs_genotypes.py --cases 100    # quick

Writes ``benchmarks/results/fuzz_genotypes.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import collections
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

import genotype_fuzz as gf  # noqa: E402

OUTCOMES = ("error", "used", "plink2_rejects", "differs", "traceback", "crash")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=400, help="cases per reader")
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--out", default=str(HERE / "results" / "fuzz_genotypes"))
    a = ap.parse_args()
    plink2 = subprocess.run(["plink2", "--version"], capture_output=True, text=True).stdout.strip()
    rows, examples = [], {}
    with tempfile.TemporaryDirectory(prefix="edfgen-fuzz-") as tmp:
        fixtures = gf.make_fixtures(Path(tmp) / "fixtures")
        for reader in gf.READERS:
            t0 = time.perf_counter()
            res = gf.fuzz(reader, gf.random_mutations(reader, a.cases, a.seed), fixtures, Path(tmp) / reader)
            counts = collections.Counter(r["outcome"] for r in res)
            rows.append({"reader": reader, "cases": len(res), **{o: counts.get(o, 0) for o in OUTCOMES},
                         "seconds": round(time.perf_counter() - t0, 1)})
            examples[reader] = {o: [(r["mutation"], " ".join(r.get("message", "").split())[:240]) for r in res
                                    if r["outcome"] == o][:3]
                                for o in OUTCOMES if counts.get(o) and o != "used"}
            print(rows[-1], flush=True)
    total = {o: sum(r[o] for r in rows) for o in ("cases", *OUTCOMES)}
    out = {"cases_per_reader": a.cases, "seed": a.seed, "plink2": plink2, "python": platform.python_version(),
           "rows": rows, "total": total, "examples": examples}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out + ".json").write_text(json.dumps(out, indent=1) + "\n")
    cols = ["reader", "cases", *OUTCOMES, "seconds"]
    md = ["# Fuzzing the genotype readers", "",
          f"`python benchmarks/fuzz_inputs_genotypes.py --cases {a.cases} --seed {a.seed}`; reference: {plink2}.", "",
          "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    md += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    md += ["| total | " + " | ".join(str(total[c]) for c in ("cases", *OUTCOMES)) + " | |", "",
           "Outcomes: error = one-line edfgen error naming the file (and record/line/byte offset); used = read "
           "completely and equal to plink2 `--export A` of the same mutated files (within 1e-3); crash = the "
           "worker died of a signal; traceback = any other exception or a multi-line error; differs = read but not "
           "what plink2 reads; plink2_rejects = read by edfgen, refused by plink2.", "",
           "Examples of each outcome but `used` (mutation: reader:file:op@position/argument):", ""]
    for reader, ex in examples.items():
        for o, items in ex.items():
            for mu, msg in items:
                md.append(f"- {reader} {o}: `{mu}`: {msg.replace('|', '/')}")
    Path(a.out + ".md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
