"""Benchmark: ``edfgen gwas`` vs ``plink2 --glm`` on the same data, in one run.

Data: N samples x M variants (two populations, 0.2% missing calls; numpy, written with bed-reader),
P quantitative phenotypes (inverse-normal transformed once, so both tools see the same y; 3% of
participants lack all phenotypes, as EDFs are missing together when a participant has no ECG), covariates
age, sex and a 3-level centre (dummy-coded for plink2). Both tools use 2 threads and the same QC
(MAF 0.01, variant call rate 0.95, HWE 1e-6, sample call rate 0.95).

Reported per phenotype count (1, 8, 64, 256): wall time of the whole command for plink2 and edfgen
(fast engine: numpy QC + blockwise products; no JVM), edfgen's own split (QC, association, export),
and the ratio edfgen / plink2. ``--hail`` adds one run of the Hail engine (JVM start, import_plink,
QC, checkpoint, linear_regression_rows) at the largest P <= 64.

Usage::

    python benchmarks/gwas_vs_plink2.py                 # N=10000, M=100000, P in 1 8 64 256
    python benchmarks/gwas_vs_plink2.py --n 2000 --m 20000 --p 1 8   # quick
    # BGEN, before/after a change of one module, in the same runs: a copy of edfgen with the old module
    mkdir -p /tmp/base && cp -r edfgen /tmp/base/ && git show REV:edfgen/formats/genotypes/bgen.py \
        > /tmp/base/edfgen/formats/genotypes/bgen.py
    python benchmarks/gwas_vs_plink2.py --format bgen --no-plots --baseline /tmp/base --tag n10000 --p 1 8 64

Writes ``benchmarks/results/gwas_vs_plink2.json`` and ``.md``.
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
EDFGEN = [sys.executable, "-c", "from edfgen.cli import main; main()"]


NOTES = """Notes: wall = whole command (process start to exit); CPU = user+sys of the child. Both tools run the same
QC (MAF 0.01, call rate 0.95, HWE 1e-6, sample call rate 0.95) with 2 threads; plink2 gets `--memory 4000`.
Data: no missing calls by default (as Hail's balding_nichols_model; with missing calls plink2 refits per
variant and phenotype and is far slower), one phenotype missingness pattern. The machine is shared: see the
load average. edfgen streams: each block is decoded in a prefetch thread, tested in the main thread (float64
G^T [Q, Y_res]), then formatted, BGZF-compressed, tabix-indexed and summarised for the plots in two writer
threads; "association s" is that whole pass, "export s" the closing (indexes, metadata, 2P+1 plots).
Profile (py-spy, all threads; 256 phenotypes x 1,000 samples x 100k variants): GWAS-SSF text (Arrow casts) ~30%,
deflate ~15%, the products and t-test p-values ~20%, plots ~8%, HWE/QC ~7%; at 1-8 phenotypes the fixed
costs (Python start, table reading, ~1 s of plot set-up) dominate plink2's 1-2 s runs."""


def make_data(d: Path, n: int, m: int, p: int, seed: int = 7, missing_rate: float = 0.0) -> None:
    from bed_reader import to_bed

    from edfgen.kernels.association import inverse_normal_transform

    if (d / "done").exists():
        return
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pop = rng.integers(0, 2, n)
    G = np.empty((n, m), dtype=np.int8)
    for s in range(0, m, 2500):
        k = min(2500, m - s)
        f = rng.uniform(0.02, 0.5, k)
        fp = np.clip(f + rng.normal(0, 0.03, (2, k)), 0.01, 0.99)
        blk = (rng.random((n, k)) < fp[pop]).astype(np.int8) + (rng.random((n, k)) < fp[pop]).astype(np.int8)
        if missing_rate > 0:
            blk[rng.random((n, k)) < missing_rate] = -127
        G[:, s:s + k] = blk
    iid = np.array([f"S{i:05d}" for i in range(n)])
    chrom = np.repeat(np.arange(1, 23), -(-m // 22))[:m].astype(str)
    pos = np.concatenate([np.arange(1, (chrom == c).sum() + 1) * 500 for c in pd.unique(chrom)])
    to_bed(d / "g.bed", G, count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": [f"v{i}" for i in range(m)], "chromosome": chrom, "bp_position": pos,
        "allele_1": np.full(m, "A"), "allele_2": np.full(m, "G")})
    age, sex, centre = rng.normal(55, 8, n), rng.integers(0, 2, n), rng.choice(["A", "B", "C"], n)
    Y = rng.normal(size=(n, p)) + 0.02 * age[:, None] + 0.2 * sex[:, None]
    Y[:, ::4] += 0.15 * np.where(G[:, 100:101] < 0, 1, G[:, 100:101])
    Y[rng.random(n) < 0.03] = np.nan  # 3% of participants without an ECG: no EDFs (one missingness pattern)
    Y = inverse_normal_transform(Y)
    ph = pd.DataFrame(Y, columns=[f"edf_{j + 1:03d}" for j in range(p)])
    ph.insert(0, "IID", iid)
    ph.to_csv(d / "pheno.tsv", sep="\t", index=False, na_rep="NA", float_format="%.10g")
    cv = pd.DataFrame({"IID": iid, "age": age, "sex": sex, "centre": centre})
    cv.to_csv(d / "covar.tsv", sep="\t", index=False)
    # plink2 versions: #FID column, dummy-coded centre
    ph.insert(0, "#FID", iid)
    ph.to_csv(d / "pheno.p2", sep="\t", index=False, na_rep="NA", float_format="%.10g")
    cv = pd.get_dummies(cv, columns=["centre"], drop_first=True, dtype=float)
    cv.insert(0, "#FID", iid)
    cv.to_csv(d / "covar.p2", sep="\t", index=False)
    (d / "done").write_text("ok")


DECODE_SCRIPT = """
import json, sys, time
import numpy as np
from edfgen.formats.genotypes.bgen import BgenReader
path, sample, fast, threads, m = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4]), int(sys.argv[5])
r = BgenReader(path, sample=sample, fast=fast, threads=threads)
m = min(m, r.n_variants)
t, c = time.perf_counter(), time.process_time()
for _ in r.blocks(None, np.arange(m), block=4096):
    pass
print(json.dumps(dict(wall=time.perf_counter() - t, cpu=time.process_time() - c, m=m, n=r.n_samples)))
"""


def bgen_decode_times(bgen: Path, sample: Path, threads: int, m: int, env) -> dict:
    """Decoding alone (BgenReader.blocks over the first m variants, all samples, float32), per 10k variants:
    the fast decoder with 1 and ``threads`` threads and the cbgen path it replaces (one variant at a time)."""
    out = {}
    for name, fast, th in (("fast_1thread", "1", 1), (f"fast_{threads}threads", "1", threads), ("cbgen", "0", 1)):
        r = subprocess.run([sys.executable, "-c", DECODE_SCRIPT, str(bgen), str(sample), fast, str(th), str(m)],
                           capture_output=True, text=True, env=env, check=True)
        d = json.loads(r.stdout.strip().splitlines()[-1])
        out[name] = dict(cpu_s_per_10k=round(d["cpu"] / d["m"] * 1e4, 4),
                         wall_s_per_10k=round(d["wall"] / d["m"] * 1e4, 4), variants=d["m"], samples=d["n"])
    return out


def timed(cmd: list[str], env=None) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds user+sys, peak RSS MiB) of a child command."""
    from _measure import timed as measure

    r = measure(cmd, env)
    return r["wall_s"], r["cpu_s"], r["peak_rss_mib"]


def _medians(runs: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    """Median wall and CPU seconds and the largest peak RSS of repeated :func:`timed` runs."""
    return (float(np.median([r[0] for r in runs])), float(np.median([r[1] for r in runs])),
            max(r[2] for r in runs))


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--m", type=int, default=100000)
    ap.add_argument("--p", type=int, nargs="+", default=[1, 8, 64, 256])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--missing-rate", type=float, default=0.0,
                    help="fraction of missing genotype calls (default 0, like Hail's balding_nichols_model)")
    ap.add_argument("--hail", action="store_true", help="also time the Hail engine once")
    ap.add_argument("--format", choices=["bed", "bgen"], default="bed",
                    help="genotype input of both tools: the .bed, or the same calls as BGEN 1.2 8-bit "
                         "(plink2 --export bgen-1.2 bits=8 ref-first; plink2 reads it with --bgen ... ref-first)")
    ap.add_argument("--decode-variants", type=int, default=20000,
                    help="bgen: variants read when timing the BGEN decoding alone (fast vs cbgen)")
    ap.add_argument("--no-plots", dest="plots", action="store_false",
                    help="run edfgen with --no-plots (default: edfgen's default options, plots included)")
    ap.add_argument("--baseline", default=None,
                    help="directory holding another edfgen package tree (e.g. `git archive REV edfgen | tar -x -C DIR`, "
                         "or a copy with one module swapped): it is timed too, right after the current one, on the same "
                         "data and options (a before/after comparison in one run)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs of each tool per phenotype count, interleaved (plink2, edfgen, baseline): medians of "
                         "wall and CPU, the largest peak RSS")
    ap.add_argument("--tag", default="", help="suffix of the result file names")
    ap.add_argument("--work", default=os.environ.get("EDFGEN_BENCH_DIR", "/tmp/edfgen-bench"))
    ap.add_argument("--results", default=str(HERE / "results"))
    a = ap.parse_args(argv)
    if shutil.which("plink2") is None:
        sys.exit("plink2 not on PATH")
    work = Path(a.work) / f"n{a.n}_m{a.m}_p{max(a.p)}_miss{a.missing_rate:g}"
    t = time.perf_counter()
    make_data(work, a.n, a.m, max(a.p), missing_rate=a.missing_rate)
    print(os.getloadavg(), flush=True)
    print(f"data ready in {time.perf_counter() - t:.1f}s: {work}", flush=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads),
               MKL_NUM_THREADS=str(a.threads), PYTHONPATH=str(REPO))
    qc2 = ["--maf", "0.01", "--geno", "0.05", "--hwe", "1e-6", "--mind", "0.05"]
    geno2, geno_e = ["--bfile", str(work / "g")], ["--bfile", str(work / "g")]
    decode = None
    if a.format == "bgen":
        if not (work / "g.bgen").exists():
            subprocess.run(["plink2", "--bfile", str(work / "g"), "--export", "bgen-1.2", "bits=8", "ref-first",
                            "--threads", str(a.threads), "--out", str(work / "g"), "--silent"], check=True)
        geno2 = ["--bgen", str(work / "g.bgen"), "ref-first", "--sample", str(work / "g.sample")]
        geno_e = ["--bgen", str(work / "g.bgen"), "--sample", str(work / "g.sample")]
        decode = bgen_decode_times(work / "g.bgen", work / "g.sample", a.threads, a.decode_variants, env)
        print("BGEN decoding per 10k variants:", decode, flush=True)
    rows = []
    for p in a.p:
        cols = f"edf_001..edf_{p:03d}"
        pcols = ",".join(f"edf_{j + 1:03d}" for j in range(p))
        out2 = work / f"plink2_p{p}"
        oute = work / f"edfgen_p{p}"
        # sys.path[0] first: `python -c` puts the working directory before PYTHONPATH
        base = [sys.executable, "-c", f"import sys; sys.path.insert(0, {a.baseline!r}); "
                "from edfgen.cli import main; main()"] if a.baseline else None
        runs: dict[str, list] = {"plink2": [], "edfgen": [], "baseline": []}
        for _ in range(a.repeats):
            shutil.rmtree(out2, ignore_errors=True)
            out2.mkdir()
            runs["plink2"].append(timed(["plink2", *geno2, "--pheno", str(work / "pheno.p2"), "--pheno-name", pcols,
                                         "--covar", str(work / "covar.p2"), "--glm", "hide-covar", *qc2, "--threads",
                                         str(a.threads), "--memory", "4000", "--out", str(out2 / "r"), "--silent"]))
            for name, cmd, out in (("edfgen", EDFGEN, oute), ("baseline", base, work / f"baseline_p{p}")):
                if cmd is not None:
                    runs[name].append(timed([*cmd, "gwas", "-q", *geno_e, "--pheno", str(work / "pheno.tsv"),
                                             "--pheno-cols", cols, "--covar", str(work / "covar.tsv"), "--transform",
                                             "none", *([] if a.plots else ["--no-plots"]), "--threads",
                                             str(a.threads), "--force", "--out", str(out)], env=env))
        (t_p2, c_p2, m_p2), (t_e, c_e, m_e) = _medians(runs["plink2"]), _medians(runs["edfgen"])
        man = json.loads((oute / "manifest.json").read_text())
        tim = man["extra"]["timings_s"]
        # agreement on complete-call variants of the first phenotype
        ours = pd.read_csv(oute / "edf_001.tsv.gz", sep="\t")
        ref = pd.read_csv(out2 / "r.edf_001.glm.linear", sep="\t")
        mm = ours.merge(ref, left_on="variant_id", right_on="ID")
        full = mm["OBS_CT"] == mm["OBS_CT"].max()
        sign = np.where(mm["effect_allele"] == mm["A1"], 1.0, -1.0)
        rel = (np.abs(mm["beta"] - sign * mm["BETA"]) / np.abs(mm["BETA"]))[full]
        row = dict(phenotypes=p, plink2_s=round(t_p2, 2), edfgen_s=round(t_e, 2), ratio=round(t_e / t_p2, 2),
                   plink2_cpu_s=round(c_p2, 2), edfgen_cpu_s=round(c_e, 2), cpu_ratio=round(c_e / c_p2, 2),
                   load_average_1min=round(os.getloadavg()[0], 1), plink2_peak_rss_mib=m_p2, edfgen_peak_rss_mib=m_e,
                   edfgen_qc_s=tim.get("import_qc"), edfgen_association_s=tim.get("association"),
                   edfgen_export_s=tim.get("export"), variants_tested=man["extra"]["variants_tested"],
                   beta_max_rel_diff_complete_calls=float(rel.max()))
        if a.baseline:
            t_b, c_b, m_b = _medians(runs["baseline"])
            row.update(baseline_s=round(t_b, 2), baseline_cpu_s=round(c_b, 2), baseline_ratio=round(t_b / t_p2, 2),
                       baseline_cpu_ratio=round(c_b / c_p2, 2), baseline_peak_rss_mib=m_b)
            shutil.rmtree(work / f"baseline_p{p}", ignore_errors=True)
        row["repeats"] = a.repeats
        rows.append(row)
        print(row, flush=True)
        shutil.rmtree(oute, ignore_errors=True)
        shutil.rmtree(out2, ignore_errors=True)
    hail_row = None
    if a.hail:
        p = max([q for q in a.p if q <= 64] or [min(a.p)])
        outh = work / "hail"
        t_h, c_h, _ = timed([*EDFGEN, "gwas", "-q", "--bfile", str(work / "g"), "--pheno", str(work / "pheno.tsv"),
                     "--pheno-cols", f"edf_001..edf_{p:03d}", "--covar", str(work / "covar.tsv"), "--transform",
                     "none", "--no-plots", "--engine", "hail", "--threads", str(a.threads), "--force",
                     "--tmp-dir", str(work / "hail_tmp"), "--driver-memory", "6g", "--out", str(outh)], env=env)
        tim = json.loads((outh / "manifest.json").read_text())["extra"]["timings_s"]
        hail_row = dict(phenotypes=p, edfgen_hail_engine_s=round(t_h, 2), edfgen_hail_engine_driver_cpu_s=round(c_h, 2), **{f"hail_{k}_s": v for k, v in tim.items()})
        print(hail_row, flush=True)
        shutil.rmtree(outh, ignore_errors=True)
        shutil.rmtree(work / "hail_tmp", ignore_errors=True)
    result = dict(format=a.format, edfgen_plots=a.plots, baseline=a.baseline, n=a.n, m=a.m, threads=a.threads, missing_rate=a.missing_rate, plink2=subprocess.run(["plink2", "--version"], capture_output=True,
                  text=True).stdout.strip(), cpu_count=os.cpu_count(), runs=rows, hail=hail_row, bgen_decode=decode,
                  commit=subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True).stdout.strip(),
                  note="wall times of whole commands (process start to exit), same QC in both tools; "
                       "edfgen fast engine reads the .bed with bed-reader and does no JVM start")
    res_dir = Path(a.results)
    res_dir.mkdir(parents=True, exist_ok=True)
    name = "gwas_vs_plink2" + ("_bgen" if a.format == "bgen" else "") + (f"_missing{a.missing_rate:g}" if a.missing_rate else "") + (f"_{a.tag}" if a.tag else "")
    (res_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [f"# edfgen gwas vs plink2 --glm, {a.format} input (N={a.n}, M={a.m}, missing calls {a.missing_rate:g}, "
          f"{a.threads} threads)", "", "edfgen ran with " + ("its default options (plots included)" if a.plots else
                                                              "--no-plots") + ".", f"Measured at commit {result['commit']}, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}."
          + (f" Medians of {a.repeats} interleaved runs of each tool (peak RSS: the largest)." if a.repeats > 1 else ""),
          "", "| phenotypes | plink2 wall s | edfgen wall s | wall ratio | plink2 CPU s | edfgen CPU s | CPU ratio "
          "| edfgen QC s | association s | export s | plink2 peak RSS MiB | edfgen peak RSS MiB | load avg |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    md += [f"| {r['phenotypes']} | {r['plink2_s']} | {r['edfgen_s']} | {r['ratio']} | {r['plink2_cpu_s']} | "
           f"{r['edfgen_cpu_s']} | {r['cpu_ratio']} | {r['edfgen_qc_s']} | {r['edfgen_association_s']} | "
           f"{r['edfgen_export_s']} | {r['plink2_peak_rss_mib']} | {r['edfgen_peak_rss_mib']} | {r['load_average_1min']} |"
           for r in rows]
    if a.baseline:
        md += ["", f"Baseline edfgen (`--baseline {a.baseline}`), same runs: " + "; ".join(
            f"{r['phenotypes']} phenotypes: wall {r['baseline_s']} s (ratio {r['baseline_ratio']}), CPU "
            f"{r['baseline_cpu_s']} s (ratio {r['baseline_cpu_ratio']}), peak RSS {r['baseline_peak_rss_mib']} MiB"
            for r in rows) + "."]
    if decode:
        md += ["", f"BGEN decoding alone (`BgenReader.blocks`, {next(iter(decode.values()))['variants']} variants x "
               f"{a.n} samples, float32), per 10k variants: " + "; ".join(
                   f"{k} CPU {v['cpu_s_per_10k']} s, wall {v['wall_s_per_10k']} s" for k, v in decode.items()) + "."]
    if hail_row:
        md += ["", f"Hail engine at {hail_row['phenotypes']} phenotypes: {hail_row['edfgen_hail_engine_s']} s "
               f"({', '.join(f'{k} {v}' for k, v in hail_row.items() if k.startswith('hail_'))})."]
    md += ["", NOTES]
    (res_dir / f"{name}.md").write_text("\n".join(md) + "\n")
    return result


if __name__ == "__main__":
    main()
