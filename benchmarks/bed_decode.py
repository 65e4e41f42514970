"""Benchmark: decoding a PLINK 1 ``.bed`` into int8 hard calls, edfgen's numpy table lookup
(:meth:`edfgen.formats.genotypes.plink1.BedReader.read`) against bed-reader (the Rust decoder it replaced).

On the cohort of ``benchmarks/gwas_small.py`` (N = 2,000, 30k variants), blocks of 4,096 variants as
``edfgen gwas`` reads them, all samples and a sorted subset (97 %, as a run whose phenotypes miss a few
samples reads), each followed by the int8 -> float64 copy the association pass makes (the block the
linear kernel multiplies). Process CPU time (``time.process_time``: bed-reader decodes in its own
threads) and wall time, best of ``--repeats``, both decoders with ``--threads`` threads (default 1); the
calls are checked equal. ``--bfile PREFIX`` times another fileset instead (e.g. a larger N, where blocks
are split over the threads).

Usage::

    python benchmarks/bed_decode.py [--repeats 5 --tag s21] [--bfile PREFIX --threads 2 --block 3355]

Writes ``benchmarks/results/bed_decode.json`` and ``.md`` (``--tag T``: ``bed_decode_T.*``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from gwas_small import commit_of, small_data

from edfgen.formats.genotypes.plink1 import BedReader


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--m", type=int, default=30000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--block", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--bfile", default=None, help="time this fileset instead of the small cohort")
    ap.add_argument("--tag", default="")
    ap.add_argument("--work", default=os.environ.get("EDFGEN_BENCH_DIR", "/tmp/edfgen-bench"))
    ap.add_argument("--results", default=str(HERE / "results"))
    a = ap.parse_args(argv)
    from bed_reader import open_bed

    prefix = a.bfile or small_data(a.work, a.n, a.m) / "g"
    ours = BedReader(prefix, threads=a.threads)
    theirs = open_bed(f"{prefix}.bed", count_A1=True, num_threads=a.threads)
    N, M = ours.n_samples, ours.n_variants
    subset = np.sort(np.random.default_rng(0).choice(N, round(0.97 * N), replace=False))
    blocks = [np.arange(s, min(s + a.block, M)) for s in range(0, M, a.block)]

    def run(decode, rows, convert: bool) -> tuple[float, float]:
        buf = np.empty((N if rows is None else len(rows)) * a.block)
        best, wall = float("inf"), float("inf")
        for _ in range(a.repeats):
            t0, w0 = time.process_time(), time.perf_counter()
            for v in blocks:
                g = decode(rows, v)
                if convert:
                    np.copyto(buf[:g.size].reshape(g.shape, order="F"), g, casting="unsafe")
            best, wall = min(best, time.process_time() - t0), min(wall, time.perf_counter() - w0)
        return best, wall

    dec = {"edfgen": lambda rows, v: ours.read(rows, v, dtype=np.int8),
           "bed-reader": lambda rows, v: theirs.read(index=np.s_[np.s_[:] if rows is None else rows, v],
                                                     dtype="int8", order="F")}
    for rows in (None, subset):          # the calls are the same before anything is timed
        for v in (blocks[0], blocks[-1]):
            np.testing.assert_array_equal(dec["edfgen"](rows, v), dec["bed-reader"](rows, v))
    rows_out = []
    for label, rows in (("all samples", None), (f"{len(subset):,} of {N:,} samples", subset)):
        for convert in (False, True):
            r = {"samples": label, "float64 copy": convert}
            for k, f in dec.items():
                cpu, wall = run(f, rows, convert)
                r[f"{k}_cpu_s"], r[f"{k}_wall_s"] = round(cpu, 4), round(wall, 4)
            r["ratio"] = round(r["bed-reader_cpu_s"] / r["edfgen_cpu_s"], 2)
            rows_out.append(r)
            print(r, flush=True)
    result = {"n": N, "m": M, "block": a.block, "repeats": a.repeats, "threads": a.threads, "rows": rows_out,
              "commit": commit_of(HERE.parent), "load_average_1min": round(os.getloadavg()[0], 1)}
    res = Path(a.results)
    res.mkdir(parents=True, exist_ok=True)
    stem = "bed_decode" + (f"_{a.tag}" if a.tag else "")
    (res / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [f"# `.bed` decoding: edfgen's numpy lookup vs bed-reader (N = {N:,}, {M:,} variants, blocks of {a.block:,})",
          "", (f"Measured at commit {result['commit']}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, shared "
               f"2-core machine (1-min load {result['load_average_1min']}); process CPU s and wall s, best of "
               f"{a.repeats} each; {a.threads} thread(s) each; int8 calls checked equal."), "",
          ("| samples | + float64 copy | edfgen CPU s | bed-reader CPU s | bed-reader / edfgen CPU | edfgen wall s "
           "| bed-reader wall s |"), "|---|---|---|---|---|---|---|"]
    md += [f"| {r['samples']} | {'yes' if r['float64 copy'] else 'no'} | {r['edfgen_cpu_s']} | {r['bed-reader_cpu_s']} "
           f"| **{r['ratio']}×** | {r['edfgen_wall_s']} | {r['bed-reader_wall_s']} |" for r in rows_out]
    (res / f"{stem}.md").write_text("\n".join(md) + "\n")
    return result


if __name__ == "__main__":
    main()
