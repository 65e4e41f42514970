"""Benchmark: reading GWAS-VCF summary statistics (IEU OpenGWAS) against the same rows as GWAS-SSF TSV.

    python benchmarks/gwas_vcf_read.py [--rows 1000000 --repeats 3]

Writes the same ``--rows`` random variants as a gzip GWAS-VCF (FORMAT ``ES:SE:LP:AF:SS``) and a gzip GWAS-SSF
TSV, reads each with :func:`edfgen.formats.sumstats.read_sumstats` in a fresh process (interleaved, ``--repeats``
times: CPU seconds of the read, peak RSS of the process), checks that both give the same statistics, and writes
``results/gwas_vcf_read.{md,json}``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def make(d: Path, n: int) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"chromosome": rng.integers(1, 23, n).astype(str), "base_pair_location": rng.integers(1, 2e8, n),
                       "variant_id": [f"rs{i}" for i in range(n)], "effect_allele": "A", "other_allele": "G",
                       "beta": rng.normal(0, .01, n), "standard_error": rng.uniform(.005, .02, n),
                       "p_value": rng.uniform(1e-9, 1, n), "effect_allele_frequency": rng.uniform(.01, .99, n),
                       "n": 300000})
    body = (df.chromosome + "\t" + df.base_pair_location.astype(str) + "\t" + df.variant_id + "\tG\tA\t.\tPASS\t.\t"
            "ES:SE:LP:AF:SS\t" + df.beta.map(repr) + ":" + df.standard_error.map(repr) + ":"
            + (-np.log10(df.p_value)).map(repr) + ":" + df.effect_allele_frequency.map(repr) + ":300000")
    vcf, tsv = d / "study.vcf.gz", d / "study.tsv.gz"
    with gzip.open(vcf, "wt", compresslevel=1) as f:
        f.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n" + "\n".join(body) + "\n")
    df.to_csv(tsv, sep="\t", index=False, float_format="%.17g", compression={"method": "gzip", "compresslevel": 1})
    return vcf, tsv


def child(path: str) -> None:
    """Read ``path`` with read_sumstats in this (fresh) process; print CPU seconds, peak RSS and the values."""
    import resource
    import sys

    from edfgen.formats.sumstats import read_sumstats

    t = time.process_time()
    df, m = read_sumstats(path)
    cpu = time.process_time() - t
    cols = ["beta", "standard_error", "p_value", "effect_allele_frequency"]
    np.save(path + ".values.npy", df[cols].to_numpy(float))
    print(json.dumps({"layout": m.layout, "rows": len(df), "cpu_s": cpu,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}), file=sys.stdout)


def main() -> None:
    import sys

    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child)
    runs: dict[str, list[dict]] = {"GWAS-VCF": [], "GWAS-SSF TSV": []}
    with tempfile.TemporaryDirectory() as d:
        vcf, tsv = make(Path(d), a.rows)
        for _ in range(a.repeats):          # each read in a fresh process (CPU and peak RSS of the read alone)
            for name, path in (("GWAS-VCF", vcf), ("GWAS-SSF TSV", tsv)):
                out = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                                     check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
                runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
        a_, b_ = np.load(str(vcf) + ".values.npy"), np.load(str(tsv) + ".values.npy")
        diff = float(np.max(np.abs(a_ - b_) / np.abs(b_)))
    med = {k: {m: float(np.median([r[m] for r in v])) for m in ("cpu_s", "peak_rss_mb")} for k, v in runs.items()}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True).stdout.strip()
    res = {"rows": a.rows, "repeats": a.repeats, "runs": runs, "median": med,
           "cpu_ratio_vcf_to_tsv": round(med["GWAS-VCF"]["cpu_s"] / med["GWAS-SSF TSV"]["cpu_s"], 2),
           "rss_ratio_vcf_to_tsv": round(med["GWAS-VCF"]["peak_rss_mb"] / med["GWAS-SSF TSV"]["peak_rss_mb"], 2),
           "max_relative_difference": diff, "commit": commit,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load_average_1min": round(os.getloadavg()[0], 1)}
    (HERE / "results" / "gwas_vcf_read.json").write_text(json.dumps(res, indent=2) + "\n")
    md = ["# Reading GWAS-VCF (IEU OpenGWAS) summary statistics", "",
          f"`python benchmarks/gwas_vcf_read.py --rows {a.rows} --repeats {a.repeats}` at {commit}, {res['date']}, "
          f"load {res['load_average_1min']} (shared 2-core machine). The same {a.rows:,} random variants as gzip "
          "GWAS-VCF (FORMAT ES:SE:LP:AF:SS) and gzip GWAS-SSF TSV, each read by `read_sumstats` in a fresh process "
          "(interleaved; medians; peak RSS of the whole process, Python and imports included).", "",
          "| file | median CPU s | median peak RSS (MB) |", "|---|---|---|",
          *[f"| {k} | {v['cpu_s']:.2f} | {v['peak_rss_mb']:.0f} |" for k, v in med.items()], "",
          f"**GWAS-VCF / TSV: CPU {res['cpu_ratio_vcf_to_tsv']}×, peak RSS {res['rss_ratio_vcf_to_tsv']}×**; largest "
          f"relative difference of beta, SE, p, AF between the two reads: {diff:.1e} (p from LP = -log10 p).", ""]
    (HERE / "results" / "gwas_vcf_read.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
