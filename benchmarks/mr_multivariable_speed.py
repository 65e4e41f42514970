"""``edfgen mr --multivariable`` on a full outcome GWAS, before and after session 37's reading change (s37mr): the
univariable path reads only the columns MR uses (:func:`~edfgen.formats.sumstats.read.fast_sumstats_columns`) and
keys the outcome on the rows an instrument can match (:func:`~edfgen.commands.mr_join.candidate_rows`); the
multivariable path read every exposure and outcome file whole and keyed the whole outcome.

One case, run ``--repeats`` times (default 3; medians reported) by the tree before (``--before``, default the
branch's merge base with main, extracted by ``git archive``) and by this tree, interleaved, on the same generated
inputs: two exposures of ``--exposure-rows`` variants (default 500,000; full summary statistics, as MVMR needs
every instrument's effect on every exposure) and one outcome of ``--rows`` variants (default 2,000,000), GWAS-SSF
TSVs with the confidence-interval columns a GWAS Catalog file carries. ``edfgen mr --multivariable --no-clump
--p-threshold 5e-8``. Reported: CPU seconds (user + sys), wall seconds and peak memory of the child process, and
whether ``mvmr_results.tsv`` is the same. Writes ``benchmarks/results/mr_multivariable_speed_s37.{md,json}``.

    OMP_NUM_THREADS=1 python benchmarks/mr_multivariable_speed.py [--rows 2000000] [--exposure-rows 500000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, before_ref, before_tree, run_record, timed, write_results  # noqa: E402
from mr_speed import same_tables  # noqa: E402

INSTRUMENTS = 40


def _write(path: Path, chrom, pos, alleles, eaf, rs, beta, se, n) -> None:
    """One GWAS-SSF TSV (6 significant digits, as GWAS files give them) with ``ci_lower``/``ci_upper``."""
    pd.DataFrame({"chromosome": chrom, "base_pair_location": pos, "effect_allele": alleles[:, 0],
                  "other_allele": alleles[:, 1], "beta": beta, "standard_error": se, "ci_lower": beta - 1.96 * se,
                  "ci_upper": beta + 1.96 * se, "effect_allele_frequency": eaf,
                  "p_value": 2 * norm.sf(np.abs(beta / se)), "variant_id": rs, "n": n}).to_csv(
        path, sep="\t", index=False, float_format="%.6g")


def make_inputs(work: Path, rows: int, exposure_rows: int, *, seed: int = 1) -> None:
    """``work/x1.tsv``, ``work/x2.tsv`` (every ``rows // exposure_rows``-th variant of the outcome's, with
    ``INSTRUMENTS`` variants of large, correlated effects on both) and ``work/y.tsv`` (``rows`` variants on 22
    chromosomes, rsIDs, five allele pairs, one of them palindromic; effects 0.3 x1 + 0.1 x2 at the instruments)."""
    rng = np.random.default_rng(seed)
    work.mkdir(parents=True, exist_ok=True)
    per = -(-rows // 22)
    chrom = np.repeat(np.arange(1, 23), per)[:rows]
    pos = (np.arange(rows) % per) * 100 + 1000
    alleles = np.array([("A", "G"), ("C", "T"), ("A", "C"), ("G", "T"), ("A", "T")])[np.arange(rows) % 5]
    eaf = rng.uniform(0.05, 0.95, rows).round(4)
    rs = np.array([f"rs{i}" for i in range(rows)], dtype=object)
    sub = np.arange(0, rows, max(1, rows // exposure_rows))[:exposure_rows]
    inst = rng.choice(sub.size, INSTRUMENTS, replace=False)
    bx = rng.normal(0, 0.004, (sub.size, 2))
    bx[inst] = rng.multivariate_normal([0, 0], [[0.04 ** 2, 0.5 * 0.04 ** 2], [0.5 * 0.04 ** 2, 0.04 ** 2]],
                                       INSTRUMENTS)
    for j in range(2):
        _write(work / f"x{j + 1}.tsv", chrom[sub], pos[sub], alleles[sub], eaf[sub], rs[sub],
               bx[:, j].round(6), 0.004, 100000)
    by = rng.normal(0, 0.006, rows)
    by[sub[inst]] += 0.3 * bx[inst, 0] + 0.1 * bx[inst, 1]
    _write(work / "y.tsv", chrom, pos, alleles, eaf, rs, by.round(6), 0.006, 200000)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000, help="variants of the outcome")
    ap.add_argument("--exposure-rows", type=int, default=500_000, help="variants of each exposure")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--before", default=None, help="commit of the 'before' tree (default: merge base with main)")
    ap.add_argument("--work", default=None)
    a = ap.parse_args()
    ref = before_ref(a.before)
    work = Path(a.work or tempfile.mkdtemp(prefix="mr_mv_speed_"))
    data = work / f"data_{a.rows}_{a.exposure_rows}"
    if not (data / "y.tsv").exists():
        make_inputs(data, a.rows, a.exposure_rows)
    trees = {"before": before_tree(work, ref), "after": ROOT}
    res = {"runs": {}, **run_record("mr_multivariable_speed.py", ref)}
    for _ in range(a.repeats):
        for tree, path in trees.items():
            cmd = [sys.executable, "-m", "edfgen", "mr", "--multivariable", "--exposure", str(data / "x1.tsv"),
                   "--exposure", str(data / "x2.tsv"), "--outcome", str(data / "y.tsv"), "--no-clump",
                   "--p-threshold", "5e-8", "--progress", "none", "--force", "--out", str(work / tree)]
            env = {**os.environ, "PYTHONPATH": str(path), "OMP_NUM_THREADS": "1"}
            res["runs"].setdefault(tree, []).append(timed(cmd, env=env, cwd=path))
    # mvmr_results.tsv alone (the tree after also writes mvmr_harmonised.tsv)
    for tree in trees:
        (work / f"{tree}_results").mkdir(exist_ok=True)
        (work / f"{tree}_results" / "mvmr_results.tsv").write_bytes((work / tree / "mvmr_results.tsv").read_bytes())
    res["same"] = same_tables(work / "before_results", work / "after_results")
    res["median"] = {k: {m: statistics.median(x[m] for x in v) for m in ("cpu_s", "wall_s", "peak_rss_mib")}
                     for k, v in res["runs"].items()}
    b, f = res["median"]["before"], res["median"]["after"]
    nsnp = pd.read_csv(work / "after" / "mvmr_results.tsv", sep="\t")["nsnp"].iloc[0]
    md = ["# edfgen mr --multivariable speed (s37mr): only the columns and rows MR uses", "",
          f"Command: `{res['command']}`; commit {res['commit']} (after: working tree) vs {ref[:7]} (before); "
          f"{res['date']}; 1-minute load average {res['load_1min']:.1f} on 2 shared cores (other jobs running: "
          f"wall seconds are noisy, CPU seconds less so). Medians of {a.repeats} interleaved runs. "
          "`edfgen mr --multivariable --no-clump --p-threshold 5e-8`, two exposures of "
          f"{a.exposure_rows:,} variants and one outcome of {a.rows:,} variants (GWAS-SSF TSV, 12 columns); "
          f"{nsnp} instruments used.", "",
          "| tree | CPU s | wall s | peak MiB |", "|---|---|---|---|",
          f"| before | {b['cpu_s']:.2f} | {b['wall_s']:.2f} | {b['peak_rss_mib']:.0f} |",
          f"| after | {f['cpu_s']:.2f} | {f['wall_s']:.2f} | {f['peak_rss_mib']:.0f} |", "",
          f"`mvmr_results.tsv` before vs after: {res['same']}."]
    write_results("mr_multivariable_speed_s37", res, md)


if __name__ == "__main__":
    main()
