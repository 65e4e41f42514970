"""Benchmark: peak memory of ``edfgen gwas`` versus the number of variants (issue 12, bounded memory).

Data: N samples x M variants (random genotypes, bed-reader), P quantitative phenotypes with one
missingness pattern, covariates age and sex. For each M, ``edfgen gwas`` runs with its default
options (plots included) and ``plink2 --glm`` on the same files; both are measured with
``/usr/bin/time -v`` (peak RSS of the process). With ``--before DIR`` (a checkout of an earlier
commit, e.g. ``git worktree add /tmp/old <commit>``) that version of edfgen is measured too.

Memory that may grow with M: the variant table (~200 bytes per variant, read as Python strings, so
the peak while reading the .bim is higher) and per-variant QC counts (~50 bytes per variant). Per
phenotype file, the tabix index under construction grows with the number of 16 kb bins that hold
variants (~32 bytes each, at most ~190,000 for a whole genome); beyond 256 MiB for all files htslib
indexes the finished files instead (as here: 256 files x 100k spread variants). The results ``[M, P]``
(formerly ~48 bytes per variant and phenotype) are written block by block and no longer held.

Usage::

    python benchmarks/gwas_memory.py                       # N=1000, M in 100000 1000000, P=256
    python benchmarks/gwas_memory.py --m 20000 100000 --p 64 --before /tmp/old

Writes ``benchmarks/results/gwas_memory.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from _measure import timed  # noqa: E402


def make_data(d: Path, n: int, m: int, p: int, seed: int = 11) -> None:
    """``g.bed`` (written in chunks, never whole in memory), ``pheno.tsv``/``covar.tsv`` and plink2 copies."""
    from bed_reader import create_bed

    if (d / "done").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    iid = np.array([f"S{i:06d}" for i in range(n)])
    chrom = np.repeat(np.arange(1, 23), -(-m // 22))[:m].astype(str)
    # spread over 150 Mb per chromosome, as real variants are (sets the number of tabix bins per file)
    pos = np.concatenate([np.linspace(1, 150_000_000, (chrom == c).sum()).astype(np.int64) for c in pd.unique(chrom)])
    props = {"iid": iid, "fid": iid, "sid": [f"v{i}" for i in range(m)], "chromosome": chrom, "bp_position": pos,
             "allele_1": np.full(m, "A"), "allele_2": np.full(m, "G")}
    with create_bed(d / "g.bed", iid_count=n, sid_count=m, properties=props, major="SNP") as bed:
        for s in range(0, m, 20000):
            k = min(20000, m - s)
            f = rng.uniform(0.05, 0.5, k)
            G = (rng.random((n, k)) < f).astype(np.int8) + (rng.random((n, k)) < f).astype(np.int8)
            for j in range(k):
                bed.write(G[:, j])
    age, sex = rng.normal(55, 8, n), rng.integers(0, 2, n)
    Y = rng.normal(size=(n, p))
    Y[rng.random(n) < 0.03] = np.nan
    ph = pd.DataFrame(Y, columns=[f"edf_{j + 1:03d}" for j in range(p)])
    ph.insert(0, "IID", iid)
    ph.to_csv(d / "pheno.tsv", sep="\t", index=False, na_rep="NA", float_format="%.8g")
    cv = pd.DataFrame({"IID": iid, "age": age, "sex": sex})
    cv.to_csv(d / "covar.tsv", sep="\t", index=False)
    ph.insert(0, "#FID", iid)
    ph.to_csv(d / "pheno.p2", sep="\t", index=False, na_rep="NA", float_format="%.8g")
    cv.insert(0, "#FID", iid)
    cv.to_csv(d / "covar.p2", sep="\t", index=False)
    (d / "done").write_text("ok")


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--m", type=int, nargs="+", default=[100000, 1000000])
    ap.add_argument("--p", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--before", default=None, help="checkout of an earlier edfgen to measure as well")
    ap.add_argument("--before-max-m", type=int, default=200000,
                    help="measure --before only up to this many variants (it holds all results in memory)")
    ap.add_argument("--no-plink2", dest="plink2", action="store_false")
    ap.add_argument("--work", default=os.environ.get("EDFGEN_BENCH_DIR", "/tmp/edfgen-bench"))
    ap.add_argument("--results", default=str(HERE / "results"))
    a = ap.parse_args(argv)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads),
               MKL_NUM_THREADS=str(a.threads))
    versions = {"current": str(REPO)} | ({"before": a.before} if a.before else {})
    rows = []
    for m in a.m:
        work = Path(a.work) / f"memory_n{a.n}_m{m}_p{a.p}"
        make_data(work, a.n, m, a.p)
        out = work / "out"
        for label, root in versions.items():
            if label == "before" and m > a.before_max_m:
                continue
            shutil.rmtree(out, ignore_errors=True)
            # the editable install's import hook outranks PYTHONPATH: drop it so `root` is the edfgen imported
            code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__module__"
                    f".startswith('__editable__')]; sys.path.insert(0, {root!r}); import edfgen; "
                    f"assert edfgen.__file__.startswith({root!r}), edfgen.__file__; "
                    "from edfgen.cli import main; main()")
            r = timed([sys.executable, "-c", code, "gwas", "-q", "--bfile",
                       str(work / "g"), "--pheno", str(work / "pheno.tsv"), "--pheno-prefix", "edf_", "--covar",
                       str(work / "covar.tsv"), "--threads", str(a.threads), "--out", str(out)],
                      env)
            rows.append(dict(tool=f"edfgen ({label})", variants=m, phenotypes=a.p, samples=a.n,
                             peak_rss_mib=r["peak_rss_mib"], wall_s=r["wall_s"], cpu_s=r["cpu_s"],
                             load_average_1min=round(os.getloadavg()[0], 1)))
            print(rows[-1], flush=True)
        shutil.rmtree(out, ignore_errors=True)
        if a.plink2 and shutil.which("plink2"):
            out.mkdir()
            r = timed(["plink2", "--bfile", str(work / "g"), "--pheno", str(work / "pheno.p2"), "--covar",
                       str(work / "covar.p2"), "--glm", "hide-covar", "--maf", "0.01", "--geno", "0.05", "--hwe",
                       "1e-6", "--mind", "0.05", "--threads", str(a.threads), "--out", str(out / "r"), "--silent"])
            rows.append(dict(tool="plink2 --glm (default --memory)", variants=m, phenotypes=a.p, samples=a.n,
                             peak_rss_mib=r["peak_rss_mib"], wall_s=r["wall_s"], cpu_s=r["cpu_s"],
                             load_average_1min=round(os.getloadavg()[0], 1)))
            print(rows[-1], flush=True)
            shutil.rmtree(out, ignore_errors=True)
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    result = dict(n=a.n, p=a.p, threads=a.threads, commit=commit, before=a.before, runs=rows)
    res = Path(a.results)
    res.mkdir(parents=True, exist_ok=True)
    (res / "gwas_memory.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [f"# Peak memory of edfgen gwas vs number of variants (N={a.n}, {a.p} phenotypes, default options)", "",
          f"Measured at commit {commit}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
          + (f"; 'before' = the checkout at {a.before}" if a.before else "") + ".", "",
          "| tool | variants | peak RSS MiB | wall s | CPU s | load avg |", "|---|---|---|---|---|---|"]
    md += [f"| {r['tool']} | {r['variants']} | {r['peak_rss_mib']} | {r['wall_s']} | {r['cpu_s']} | "
           f"{r['load_average_1min']} |" for r in rows]
    md += ["", __doc__.split("\n\n")[2]]
    (res / "gwas_memory.md").write_text("\n".join(md) + "\n")
    return result


if __name__ == "__main__":
    main()
