"""GWAS-SSF writer speed: BGZF (ISA-L) with and without the tabix index, against the plain gzip
(zlib level 1) stream the writer produced before (same text, one gzip member).

    python benchmarks/sumstats_writer.py [--variants 200000] [--reps 5]

Writes ``results/sumstats_writer.{json,md}``. The machine is shared: the load average is recorded.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    from edfgen.formats.sumstats import SumstatsWriter

    m = args.variants
    rng = np.random.default_rng(0)
    base = pd.DataFrame({"chromosome": np.repeat([str(c) for c in range(1, 21)], m // 20),
                         "base_pair_location": np.tile(np.arange(1, m // 20 + 1) * 100, 20),
                         "effect_allele": rng.choice(list("ACGT"), m), "other_allele": rng.choice(list("ACGT"), m),
                         "variant_id": [f"rs{i}" for i in range(m)], "rsid": [f"rs{i}" for i in range(m)]})
    beta, se, p, eaf, n = rng.normal(0, .05, m), np.full(m, .02), rng.random(m), rng.random(m), np.full(m, 10000)
    d = Path(tempfile.mkdtemp())
    writers = {"bgzf_tabix": SumstatsWriter(base), "bgzf_only": SumstatsWriter(base, index=False)}
    times: dict[str, list[float]] = {k: [] for k in [*writers, "plain_gzip_level1"]}
    sizes: dict[str, int] = {}
    for rep in range(args.reps):
        for k, w in writers.items():
            f = d / f"{k}{rep}.tsv.gz"
            t0 = time.perf_counter()
            w.write(f, beta, se, eaf, p, n)
            times[k].append(time.perf_counter() - t0)
            sizes[k] = f.stat().st_size
        text = gzip.decompress((d / f"bgzf_only{rep}.tsv.gz").read_bytes())
        t0 = time.perf_counter()  # the compression step of the former writer on the same bytes
        z = zlib.compressobj(1, zlib.DEFLATED, 31)
        blob = z.compress(text) + z.flush()
        times["plain_gzip_level1"].append(time.perf_counter() - t0)
        sizes["plain_gzip_level1"] = len(blob)
    res = {"variants": m, "reps": args.reps, "load_avg": os.getloadavg(),
           "median_s": {k: float(np.median(v)) for k, v in times.items()},
           "min_s": {k: float(min(v)) for k, v in times.items()}, "bytes": sizes}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "sumstats_writer.json").write_text(json.dumps(res, indent=1))
    lines = [f"# GWAS-SSF writer, {m} variants per file ({args.reps} reps, load average {res['load_avg'][0]:.1f})", "",
             "| step | median s | min s | bytes |", "|---|---|---|---|"]
    for k in times:
        lines.append(f"| {k} | {res['median_s'][k]:.3f} | {res['min_s'][k]:.3f} | {sizes[k]} |")
    lines += ["", "bgzf_* include formatting the text (Arrow); plain_gzip_level1 is only the deflate step the "
              "former writer ran on the same text."]
    (HERE / "results" / "sumstats_writer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
