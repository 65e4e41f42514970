"""Scaling of the whole method (issue 23 item 5): ``edfgen gwas`` (linear and ridge-loco), ``edfgen clump``
(64 phenotypes) and ``edfgen extract`` measured at three sizes per axis, fitted scaling laws with their
residuals, and the projection to UK Biobank size (500k samples x 10M variants x 128 EDFs) on one 64-core
machine and on a Spark cluster, in CPU-hours per phenotype.

Measurement
-----------
Each case is one child command under ``/usr/bin/time -v``: **CPU = user + sys** of the child (and its
waited-for children) and **peak RSS**; wall time is recorded but not used (the machine has 2 cores shared
with other jobs). Every command runs with 1 thread (``--threads 1``, BLAS/OMP 1 thread), under ``nice``, so
CPU seconds are the work and not thread spinning. A case that does not finish within ``--case-timeout``
seconds of wall time is killed and recorded as *not measured* (never extrapolated into the table).

One axis varies at a time around the base point N = 10,000 samples, M = 100,000 variants, P = 8 phenotypes:
N 10k / 50k / 100k; M 100k / 300k / 1M; P 8 / 64 / 256 (gwas). The largest inputs are N = 100k x M = 100k
and N = 10k x M = 1M (.bed 2.5 GB each).

Genotypes (why tiling does not bias the timings)
-----------------------------------------------
Each .bed is written directly in PLINK 1 bytes: a block of ``TILE`` = 997 variants is simulated for the N
samples (allele frequencies U(0.05, 0.5), Hardy-Weinberg, no missing calls) and the variant axis is the block
repeated (new ids and positions every time, 22 chromosomes, 1.1 kb apart, so a repeat is 1.1 Mb away, beyond
the 1,000 kb clump window). The fast engine's cost per variant does not depend on the genotype values
(dense decode, mean-impute, products; no sparse or MAF-dependent path), so repeated blocks cost what new ones
would; generating N x 997 genotypes instead of N x M keeps the inputs cheap (seconds, not the ~10 GB int8
matrix ``gwas_vs_plink2.make_data`` would need). plink2 ``--dummy`` was not used: it writes all variants
from the random generator (slower at 2.5 GB) and has no per-variant allele-frequency spread or layout
control. Phenotypes are independent normals (3 % of samples missing, one pattern); covariates age, sex,
centre (categorical). Inputs live under ``--work`` (/tmp) and are deleted at the end (``--keep-data`` keeps).

Clump input: 64 synthetic GWAS-SSF files per M (``edfgen.formats.sumstats.SumstatsWriter``): uniform null
p-values plus, per phenotype, 2-3 of 8 shared "factors" x 5 loci (40 loci shared between EDFs, as EDFs of
one encoder share loci), each locus 11 variants +-5 positions around the lead with p from 1e-30 to 1e-9:
~100-165 variants at p <= 5e-8 per phenotype, independent of M and N (the number of loci is biology, not
array density). The same files serve the N axis (LD from the N-sample .bed).

Extract: ``edfgen simulate`` WFDB ECGs (10 s, 12 leads, 500 Hz), ``edfgen extract`` on 3 ECG counts (the
first k records) with the default checkpoint, batch size, 1 model thread, workers 0.

BGEN: the base .bed exported by ``plink2 --export bgen-1.2 bits=8`` (zlib, UK Biobank's layout), ``gwas
--bgen`` at the base point; the CPU difference to the .bed run is the decode cost per variant x sample.

ridge-loco (``--only ridge``) runs at its own points (``RIDGE_POINTS``): N 10k/50k/100k at M = 20k (at M = 100k
its N axis did not fit the shared machine's time), M 20k/100k/300k at N = 10k, P 8/64 at N = 10k, M = 100k, plus
linear beside its N axis; its step 1 is fitted to the kernel's multiply-adds (``ridge_flops``), passes over the
genotypes (N x M) and the LOCO text (N x P).

Usage: ``nice -n 10 python benchmarks/scale.py [--only gwas ridge clump extract bgen] [--case-timeout 900]``;
cases already in ``results/scale.json`` are reused (``--rerun`` measures again); ``--refit`` rewrites the
report and plots from the stored runs. Writes ``results/scale.json``, ``results/scale.md`` and
``results/scale_*.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
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
BASE = dict(n=10_000, m=100_000, p=8)
AXES = dict(n=[10_000, 50_000, 100_000], m=[100_000, 300_000, 1_000_000], p=[8, 64, 256])
#: CROSS points (N, M, P) for the linear fit: P and N varied together, to separate per-variant-x-phenotype costs
#: (output rows) from per-variant-x-sample-x-phenotype costs (products)
CROSS = [(100_000, 100_000, 64)]
#: runs the command as a child subreaper and waits for every descendant (a JVM that outlives its parent
#: included), so ``/usr/bin/time`` counts the CPU of the whole process tree
REAPER = ("import ctypes, os, subprocess, sys; ctypes.CDLL(None).prctl(36, 1, 0, 0, 0); "
          "rc = subprocess.call(sys.argv[1:])\n"
          "while True:\n try: os.wait()\n except ChildProcessError: break\nsys.exit(rc)")
TILE = 997
SPACING = 1100
CLUMP_P = 64
EXTRACT_COUNTS = [200, 800, 2400]


# --------------------------------------------------------------------------- inputs
def write_bfile(prefix: Path, n: int, m: int, seed: int = 7) -> None:
    """PLINK 1 .bed/.bim/.fam with ``n`` samples and ``m`` variants: a simulated block of ``TILE`` variants
    (HWE, frequencies U(0.05, 0.5), no missing calls) repeated along the variant axis."""
    if Path(f"{prefix}.done").exists():
        return
    rng = np.random.default_rng(seed)
    n4 = -(-n // 4)
    freq = rng.uniform(0.05, 0.5, TILE)
    block = np.empty((TILE, n4), dtype=np.uint8)
    code = np.array([3, 2, 0], dtype=np.uint8)  # allele-1 count 0, 1, 2 -> .bed codes 11, 10, 00
    for s in range(0, TILE, 100):
        f = freq[s:s + 100, None]
        g = (rng.random((len(f), n)) < f).astype(np.uint8) + (rng.random((len(f), n)) < f)
        c = np.zeros((len(f), n4 * 4), dtype=np.uint8)
        c[:, :n] = code[g]
        c = c.reshape(len(f), n4, 4)
        block[s:s + 100] = c[..., 0] | (c[..., 1] << 2) | (c[..., 2] << 4) | (c[..., 3] << 6)
    with open(f"{prefix}.bed", "wb") as fh:
        fh.write(bytes([0x6C, 0x1B, 0x01]))
        for s in range(0, m, TILE):
            fh.write(block[:min(TILE, m - s)].tobytes())
    chrom = np.repeat(np.arange(1, 23), -(-m // 22))[:m]
    first = np.searchsorted(chrom, chrom)
    pos = (np.arange(m) - first + 1) * SPACING
    pd.DataFrame({"c": chrom, "id": [f"v{i}" for i in range(m)], "cm": 0, "pos": pos, "a1": "A", "a2": "G"}).to_csv(
        f"{prefix}.bim", sep="\t", header=False, index=False)
    iid = [f"S{i:06d}" for i in range(n)]
    pd.DataFrame({"f": iid, "i": iid, "p": 0, "m": 0, "s": 0, "y": -9}).to_csv(f"{prefix}.fam", sep=" ", header=False,
                                                                                 index=False)
    Path(f"{prefix}.done").write_text("ok")


def write_tables(d: Path, n: int, p: int, seed: int = 11) -> None:
    """``pheno.tsv`` (edf_001..edf_p, 3 % of samples missing) and ``covar.tsv`` (age, sex, centre)."""
    if (d / f"pheno_{p}.tsv").exists():
        return
    rng = np.random.default_rng(seed)
    iid = [f"S{i:06d}" for i in range(n)]
    age, sex, centre = rng.normal(55, 8, n), rng.integers(0, 2, n), rng.choice(["A", "B", "C"], n)
    y = rng.normal(size=(n, p)) + 0.02 * age[:, None] + 0.2 * sex[:, None]
    y[rng.random(n) < 0.03] = np.nan
    ph = pd.DataFrame(y, columns=[f"edf_{j + 1:03d}" for j in range(p)])
    ph.insert(0, "IID", iid)
    ph.to_csv(d / f"pheno_{p}.tsv", sep="\t", index=False, na_rep="NA", float_format="%.6g")
    pd.DataFrame({"IID": iid, "age": age, "sex": sex, "centre": centre}).to_csv(d / "covar.tsv", sep="\t", index=False)


def write_clump_sumstats(bfile: Path, out: Path, p: int = CLUMP_P, seed: int = 5) -> list[Path]:
    """``p`` GWAS-SSF files over ``bfile``'s variants: null p-values plus shared planted loci (see module doc)."""
    from edfgen.formats.sumstats import SumstatsWriter

    done = out / "done"
    paths = [out / f"edf_{j + 1:03d}.tsv.gz" for j in range(p)]
    if done.exists():
        return paths
    out.mkdir(parents=True, exist_ok=True)
    bim = pd.read_csv(f"{bfile}.bim", sep="\t", header=None, names=["chromosome", "variant_id", "cm", "pos", "a1",
                                                                      "a2"], dtype={"chromosome": str})
    m = len(bim)
    rng = np.random.default_rng(seed)
    leads = rng.choice(np.arange(10, m - 10), 40, replace=False)
    base = pd.DataFrame({"chromosome": bim.chromosome, "base_pair_location": bim.pos, "effect_allele": bim.a1,
                         "other_allele": bim.a2, "variant_id": bim.variant_id, "rsid": bim.variant_id})
    writer = SumstatsWriter(base, index=False)
    eaf, nobs, df = rng.uniform(0.05, 0.5, m), np.full(m, 10_000), np.full(m, 9_990.0)
    for j, path in enumerate(paths):
        pv = rng.random(m)
        for f in rng.choice(8, rng.integers(2, 4), replace=False):
            for lead in leads[f * 5:(f + 1) * 5]:
                pv[lead - 5:lead + 6] = 10.0 ** -rng.uniform(9, 30, 11)
        z = np.abs(np.sqrt(2) * _erfcinv(pv))
        se = np.full(m, 0.01)
        writer.write(path, z * se, se, eaf, pv, nobs, df=df)
    done.write_text("ok")
    return paths


def _erfcinv(p: np.ndarray) -> np.ndarray:
    from scipy.special import erfcinv

    return erfcinv(p)


# --------------------------------------------------------------------------- measuring
def timed(cmd: list[str], env: dict, timeout: float) -> dict:
    """Run ``cmd`` under ``/usr/bin/time -v`` and ``nice``; CPU (user + sys), peak RSS, wall, or ``timeout``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(["nice", "-n", "10", "/usr/bin/time", "-v", sys.executable, "-c", REAPER, *cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this call started
        proc.communicate()
        return dict(status="timeout", wall_s=round(time.perf_counter() - t0, 1))
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[3:6])} failed:\n{out[-1500:]}\n"
                           f"{err.split('Command being timed')[0][-3000:]}")
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", err).group(1))
    sys_ = float(re.search(r"System time \(seconds\): ([\d.]+)", err).group(1))
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", err).group(1))
    written = int(re.search(r"File system outputs: (\d+)", err).group(1)) * 512
    return dict(status="ok", wall_s=round(wall, 2), cpu_s=round(user + sys_, 2), user_s=user, sys_s=sys_,
                peak_rss_mib=round(rss / 1024, 1),
                written_mib=round(written / 2**20, 1), load_1min=round(os.getloadavg()[0], 1))


class Runner:
    """Cases keyed by name, stored in ``scale.json`` as they finish (a rerun reuses them)."""

    def __init__(self, a):
        self.a, self.work = a, Path(a.work)
        self.path = Path(a.out) / "scale.json"
        old = json.loads(self.path.read_text()) if self.path.exists() else {}
        self.store = old if "cases" in old else {}
        self.cases = self.store.get("cases", {}) if not a.rerun else {}
        self.env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
                        PYTHONPATH=str(REPO), EDFGEN_PROGRESS="none")

    def save(self) -> None:
        """Merge this run's cases into scale.json under a lock (several runs may measure at once)."""
        import fcntl

        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            disk = json.loads(self.path.read_text()) if self.path.exists() else {}
            disk = disk if "cases" in disk else {}
            mine = {k: v for k, v in self.store.items() if k != "cases"}
            for k, v in mine.items():
                disk[k] = {**disk.get(k, {}), **v} if isinstance(v, dict) else v
            disk["cases"] = {**disk.get("cases", {}), **self.cases}
            self.path.write_text(json.dumps(disk, indent=1) + "\n")
            self.store = disk

    def case(self, key: str, cmd: list[str], **meta) -> dict:
        self.fresh = False
        if key in self.cases and self.cases[key]["status"] == "ok":
            return self.cases[key]
        self.fresh = True
        r = timed(cmd, self.env, self.a.case_timeout)
        self.cases[key] = dict(**meta, **r, measured=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        if r["status"] == "timeout":
            self.cases[key]["note"] = f"not measured: killed after {self.a.case_timeout:.0f} s wall"
        print(key, self.cases[key], flush=True)
        self.save()
        return self.cases[key]

    def bfile(self, n: int, m: int) -> Path:
        d = self.work / f"n{n}_m{m}"
        d.mkdir(parents=True, exist_ok=True)
        t0 = time.process_time()
        write_bfile(d / "g", n, m)
        self.store.setdefault("generate_cpu_s", {})[f"n{n}_m{m}"] = round(time.process_time() - t0, 1)
        return d / "g"

    def tables(self, n: int, p: int) -> Path:
        d = self.work / f"tables_n{n}"
        d.mkdir(parents=True, exist_ok=True)
        write_tables(d, n, p)
        return d


def gwas_cmd(bfile: Path, tables: Path, p: int, out: Path, model: str, *, bgen: Path | None = None) -> list[str]:
    geno = ["--bgen", str(bgen), "--sample", str(bgen.with_suffix(".sample"))] if bgen else ["--bfile", str(bfile)]
    return [*EDFGEN, "gwas", "-q", *geno, "--pheno", str(tables / f"pheno_{p}.tsv"),
            "--pheno-cols", f"edf_001..edf_{p:03d}", "--covar", str(tables / "covar.tsv"), "--categorical", "centre",
            "--model", model, "--no-plots", "--threads", "1", "--force", "--out", str(out)]


def points():
    """(axis, n, m, p) of every case: one axis varied at a time around ``BASE``."""
    for axis, values in AXES.items():
        for v in values:
            s = {**BASE, axis: v}
            yield axis, s["n"], s["m"], s["p"]


def run_gwas(r: Runner, model: str) -> None:
    for axis, n, m, p in points():
        if axis == "p" and model != "linear" and p > 64 and not r.a.ridge_p256:
            continue
        if r.a.cases and f"{n},{m},{p}" not in r.a.cases:
            continue
        tag = f"gwas_{model}_n{n}_m{m}_p{p}"
        out = r.work / f"out_{tag}"
        c = r.case(tag, gwas_cmd(r.bfile(n, m), r.tables(n, p), p, out, model), tool="gwas", model=model, axis=axis,
                   n=n, m=m, p=p)
        if model == "ridge-loco" and axis == "m" and r.fresh and c["status"] == "ok" and (out / "loco").is_dir():
            # step 2 alone from this run's step-1 predictions (as REGENIE's step 2 on imputed variants)
            loco = r.work / f"loco_{tag}"
            shutil.rmtree(loco, ignore_errors=True)
            shutil.copytree(out / "loco", loco)
            r.case(f"gwas_ridge-step2_n{n}_m{m}_p{p}",
                   [*gwas_cmd(r.bfile(n, m), r.tables(n, p), p, r.work / f"out_step2_{tag}", model),
                    "--loco-predictions", str(loco)], tool="gwas", model="ridge-step2", axis=axis, n=n, m=m, p=p)
    for n, m, p in CROSS if model == "linear" else []:
        r.case(f"gwas_{model}_n{n}_m{m}_p{p}", gwas_cmd(r.bfile(n, m), r.tables(n, p), p, r.work / f"out_{model}",
                                                       model), tool="gwas", model=model, axis="cross", n=n, m=m, p=p)


#: ridge-loco's N axis runs at a reduced variant count: at M = 100k its N = 50k/100k cases did not fit the shared
#: machine's time (issue 23 item 5's first run); the M axis is 20k/100k/300k at N = 10k, the P axis 8/64 at M = 100k
RIDGE_N_M = 20_000
RIDGE_POINTS = [("n", n, RIDGE_N_M, 8) for n in AXES["n"]] + [
    ("m", 10_000, 100_000, 8), ("p", 10_000, 100_000, 64), ("m", 10_000, 300_000, 8)]


def run_ridge(r: Runner) -> None:
    """ridge-loco at :data:`RIDGE_POINTS` (the most informative first: the N axis at M = 20k)."""
    r.store.setdefault("ridge_kernel_rates", ridge_kernel_rates())
    for axis, n, m, p in RIDGE_POINTS:
        if r.a.cases and f"{n},{m},{p}" not in r.a.cases:
            continue
        tag = f"gwas_ridge-loco_n{n}_m{m}_p{p}"
        r.case(tag, gwas_cmd(r.bfile(n, m), r.tables(n, p), p, r.work / f"out_{tag}", "ridge-loco"), tool="gwas",
               model="ridge-loco", axis=axis, n=n, m=m, p=p)
    for _, n, m, p in RIDGE_POINTS[:len(AXES["n"])]:    # linear beside ridge-loco's N axis (M = RIDGE_N_M)
        tag = f"gwas_linear_n{n}_m{m}_p{p}"
        r.case(tag, gwas_cmd(r.bfile(n, m), r.tables(n, p), p, r.work / f"out_{tag}", "linear"), tool="gwas",
               model="linear", axis=f"n at m={m}", n=n, m=m, p=p)


def run_step2(r: Runner) -> None:
    """ridge-loco step 2 alone (``--loco-predictions``) wherever a finished ridge-loco case left its step-1
    predictions (``out_<case>/loco``)."""
    for axis, n, m, p in points():
        tag = f"gwas_ridge-loco_n{n}_m{m}_p{p}"
        loco = r.work / f"out_{tag}" / "loco"
        if (loco / "loco_summary.tsv").exists():
            r.case(f"gwas_ridge-step2_n{n}_m{m}_p{p}",
                   [*gwas_cmd(r.bfile(n, m), r.tables(n, p), p, r.work / f"out_step2_{tag}", "ridge-loco"),
                    "--loco-predictions", str(loco)], tool="gwas", model="ridge-step2", axis=axis, n=n, m=m, p=p)


def run_clump(r: Runner) -> None:
    for axis, n, m, p in points():
        if axis == "p":
            continue
        bf = r.bfile(n, m)
        paths = write_clump_sumstats(r.bfile(BASE["n"], m), r.work / f"sumstats_m{m}")
        r.case(f"clump_n{n}_m{m}_p{CLUMP_P}", [*EDFGEN, "clump", "-q", "--bfile", str(bf), "--out",
                                               str(r.work / "clump_out"), "--force",
                                               "--sumstats", *map(str, paths)],
               tool="clump", axis=axis, n=n, m=m, p=CLUMP_P)


def run_extract(r: Runner) -> None:
    from edfgen.simulate.cohort import simulate_cohort

    top = max(EXTRACT_COUNTS)
    cohort = r.work / "ecg_cohort"
    if not (cohort / "done").exists():
        t0 = time.process_time()
        simulate_cohort(cohort, n=top, seed=0, chromosomes=1, variants_per_chromosome=200, force=True)
        r.store["ecg_simulate_cpu_s"] = round(time.process_time() - t0, 1)
        (cohort / "done").write_text("ok")
    recs = sorted((cohort / "ecg").glob("*.hea"))
    for k in EXTRACT_COUNTS:
        d = r.work / f"ecg_{k}"
        if not d.exists():
            d.mkdir()
            for h in recs[:k]:
                for f in h.parent.glob(h.stem + ".*"):
                    os.link(f, d / f.name)  # hard links: extract refuses links that leave the folder
        r.case(f"extract_{k}", [*EDFGEN, "extract", "--ecg", str(d), "--out", str(r.work / f"edfs_{k}.tsv"),
                                "--threads", "1", "--workers", "0", "--force", "--progress", "none"],
               tool="extract", axis="ecgs", ecgs=k)


def run_bgen(r: Runner) -> None:
    n, m, p = BASE["n"], BASE["m"], BASE["p"]
    bf = r.bfile(n, m)
    bgen = bf.with_name("g_bgen.bgen")
    if not bgen.exists():
        subprocess.run(["plink2", "--bfile", str(bf), "--export", "bgen-1.2", "bits=8", "ref-first", "--threads",
                        "1", "--out", str(bgen.with_suffix(""))], check=True, capture_output=True)
    r.case(f"gwas_linear_bgen_n{n}_m{m}_p{p}", gwas_cmd(bf, r.tables(n, p), p, r.work / "out_bgen",
                                                        "linear", bgen=bgen),
           tool="gwas", model="linear", axis="bgen", n=n, m=m, p=p, input="bgen-1.2 8-bit zlib",
           bytes=bgen.stat().st_size)


def run_hail(r: Runner) -> None:
    """``gwas --engine hail`` (Spark local[1]) at the base point, P = 64, and N = 50k: the Spark engine's cost."""
    for n, m, p in [(BASE["n"], BASE["m"], BASE["p"]), (50_000, BASE["m"], BASE["p"]), (BASE["n"], BASE["m"], 64)]:
        r.case(f"gwas_linear-hail_n{n}_m{m}_p{p}",
               [*gwas_cmd(r.bfile(n, m), r.tables(n, p), p, r.work / "out_hail", "linear"), "--engine", "hail",
                "--spark-master", "local[1]", "--driver-memory", "6g", "--tmp-dir", str(r.work / "hail_tmp")],
               tool="gwas", model="linear-hail", axis="hail", n=n, m=m, p=p)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", default=["gwas", "ridge", "step2", "clump", "extract", "bgen", "hail"])
    ap.add_argument("--case-timeout", type=float, default=900.0)
    ap.add_argument("--ridge-p256", action="store_true", help="also ridge-loco at P = 256")
    ap.add_argument("--cases", nargs="+", default=None, help="gwas/ridge: only these N,M,P points (parallel runs)")
    ap.add_argument("--work", default=os.environ.get("EDFGEN_BENCH_DIR", "/tmp/edfgen-scale"))
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--rerun", action="store_true")
    ap.add_argument("--keep-data", action="store_true")
    ap.add_argument("--refit", action="store_true", help="rewrite scale.md and the plots from scale.json")
    a = ap.parse_args(argv)
    r = Runner(a)
    if not a.refit:
        steps = dict(gwas=lambda: run_gwas(r, "linear"), ridge=lambda: run_ridge(r),
                     clump=lambda: run_clump(r), extract=lambda: run_extract(r), bgen=lambda: run_bgen(r),
                     hail=lambda: run_hail(r), step2=lambda: run_step2(r))
        try:
            for s in a.only:
                steps[s]()
        finally:
            r.save()
            if not a.keep_data:
                shutil.rmtree(r.work, ignore_errors=True)
    return write_report(r.store, Path(a.out))


# --------------------------------------------------------------------------- fitting and projection
TARGET = dict(n=500_000, m=10_000_000, p=128)
#: REGENIE step 1 runs on ~500k LD-pruned array SNPs (469,336 in Mbatchou et al. 2021's UK Biobank runs)
STEP1_M = 469_336
#: Neale lab UK Biobank GWAS on Hail: ~200,000 CPU-hours for ~4,000 phenotypes (issue 23)
NEALE_CPU_H = 50.0
#: REGENIE v2.0.2 on UK Biobank (n = 400,000), benchmarked by the fastGWA-GLMM authors (Jiang et al. 2021
#: Nat Genet 53:1616, Supplementary Table 6): 614.0 h for 50 traits = 12.3 h per trait (27.5 h for 1 trait)
REGENIE_H = 12.3
#: cost terms of each fitted model (N samples, M variants, P phenotypes; k ECGs)
TERMS = {
    "gwas": [("fixed", lambda n, m, p: 1.0), ("per variant", lambda n, m, p: m),
             ("per variant x sample", lambda n, m, p: m * n), ("per variant x phenotype", lambda n, m, p: m * p),
             ("per variant x sample x phenotype", lambda n, m, p: m * n * p)],
    # clump: reading (per variant), LD of the planted loci's variants (a fixed count: per sample) and of the
    # null variants with p < p2 in the windows (their number grows with M: per variant x sample)
    "clump": [("fixed", lambda n, m, p: 1.0), ("per variant", lambda n, m, p: m), ("per sample", lambda n, m, p: n),
              ("per variant x sample", lambda n, m, p: m * n)],
    "extract": [("fixed", lambda k: 1.0), ("per ECG", lambda k: k)],
}


def _ridge_counts(n: int, m: int, p: int, folds: int = 5, r: int = 5) -> tuple[float, float]:
    """``(BLAS multiply-adds, sum of b³ over the eigendecompositions)`` of ridge-loco step 1 as
    :mod:`edfgen.kernels.ridge` does it, at the block size ``b`` the kernel picks
    (:func:`edfgen.kernels.ridge.auto_block_size`), ``k = r M / b`` level-1 predictors. Multiply-adds: level 0
    the folds' XᵀX by syrk (N M b / 2), XᵀY (N M P), the coefficients (folds M b P r) and the held-out
    predictions (N M P r); level 1 per phenotype XᵀX by syrk (N k² / 2) and the LOCO products (folds N k).
    Eigendecompositions: one per block and fold (folds M / b of size b), one per phenotype and fold (size k)."""
    from edfgen.kernels.ridge import auto_block_size

    b = auto_block_size(n, m, p, folds=folds, n_shrinkage=r)
    k = r * -(-m // b)
    blas = n * m * b / 2 + n * m * p + folds * m * b * p * r + n * m * p * r + p * (n * k * k / 2 + folds * n * k)
    eig = folds * -(-m // b) * float(b) ** 3 + p * folds * float(k) ** 3
    return float(blas), eig


def ridge_flops(n: int, m: int, p: int) -> float:
    """BLAS multiply-adds of ridge-loco step 1 (:func:`_ridge_counts`)."""
    return _ridge_counts(n, m, p)[0]


def ridge_eig(n: int, m: int, p: int) -> float:
    """Sum of b³ over step 1's eigendecompositions (:func:`_ridge_counts`)."""
    return _ridge_counts(n, m, p)[1]


def ridge_kernel_rates() -> dict:
    """Single-thread rates of step 1's two kinds of work, measured here: BLAS syrk / gemm multiply-adds per CPU
    second at block size 2,000 and CPU seconds per b³ of ``numpy.linalg.eigh`` at b = 250 ... 2,000."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    out = {}
    with threadpool_limits(1):
        for b in (250, 1000, 2000):
            A = rng.normal(size=(b, b))
            A = A @ A.T
            t = time.process_time()
            np.linalg.eigh(A)
            out[f"eigh_{b}_s_per_b3"] = (time.process_time() - t) / b ** 3
        X = rng.normal(size=(20_000, 2_000))
        t = time.process_time()
        X.T @ X
        out["syrk_madd_per_s"] = 20_000 * 2_000 ** 2 / 2 / (time.process_time() - t)
        B = rng.normal(size=(2_000, 640))
        t = time.process_time()
        X @ B
        out["gemm_madd_per_s"] = 20_000 * 2_000 * 640 / (time.process_time() - t)
    return out


#: step 1's terms: BLAS multiply-adds, eigendecompositions (b³), passes over the N x M genotypes (decode,
#: standardisation, the fold gather) and the LOCO text (22 + 1 values per sample and phenotype)
TERMS["ridge step 1"] = [("fixed", lambda n, m, p: 1.0), ("per BLAS multiply-add", ridge_flops),
                         ("per eigendecomposition b³", ridge_eig),
                         ("per variant x sample", lambda n, m, p: n * m), ("per sample x phenotype", lambda n, m, p: n * p)]


#: the point each ridge-loco axis holds fixed (its N axis runs at M = RIDGE_N_M)
RIDGE_FIXED = dict(n=dict(m=RIDGE_N_M, p=8), m=dict(n=10_000, p=8), p=dict(n=10_000, m=100_000))


def ridge_axis(rows: list[dict], axis: str) -> list[dict]:
    """The ridge-loco cases on ``axis`` (the other two sizes at :data:`RIDGE_FIXED`)."""
    return sorted((r for r in rows if all(r[k] == v for k, v in RIDGE_FIXED[axis].items())), key=lambda r: r[axis])


def ridge_slopes(rows: list[dict], key: str = "cpu_s") -> dict:
    """:func:`slopes` over :func:`ridge_axis`'s points."""
    out = {}
    for axis in AXES:
        pts = [(r[axis], r[key]) for r in ridge_axis(rows, axis)]
        if len(pts) >= 2:
            x, y = np.log([q[0] for q in pts]), np.log([q[1] for q in pts])
            out[axis] = dict(exponent=round(float(np.polyfit(x, y, 1)[0]), 2),
                             last_two=round(float((y[-1] - y[-2]) / (x[-1] - x[-2])), 2), sizes=len(pts))
    return out


def fit(rows: list[dict], terms, args) -> dict:
    """Non-negative least squares of CPU on the cost ``terms``, weighted by 1/CPU (relative errors), with the
    per-point residuals (%)."""
    from scipy.optimize import nnls

    A = np.array([[f(*args(r)) for _, f in terms] for r in rows])
    y = np.array([r["cpu_s"] for r in rows])
    coef = nnls(A / y[:, None], np.ones(len(y)))[0]
    pred = A @ coef
    return dict(coef={name: float(c) for (name, _), c in zip(terms, coef)}, points=len(rows),
                residual_pct=[round(100 * (p_ - y_) / y_, 1) for p_, y_ in zip(pred, y)],
                max_abs_residual_pct=round(float(np.max(np.abs(100 * (pred - y) / y))), 1))


def _ridge_b(n: int, m: int, p: int) -> int:
    from edfgen.kernels.ridge import auto_block_size

    return auto_block_size(n, m, p)


def ridge_cpu(res: dict, n: int, m: int, p: int) -> float:
    """Fitted ridge-loco CPU: step 2 (linear x measured ratio) + fitted step 1."""
    return ((res.get("ridge_step2_over_linear") or 1.0) * predict(res["fits"]["gwas linear"], TERMS["gwas"], n, m, p)
            + predict(res["fits"]["ridge-loco step 1"], TERMS["ridge step 1"], n, m, p))


def predict(f: dict, terms, *args) -> float:
    return float(sum(f["coef"].get(name, 0.0) * g(*args) for name, g in terms))


def slopes(rows: list[dict], key: str = "cpu_s") -> dict:
    """Per axis: least-squares slope of log ``key`` on log size (the power-law exponent) over the axis's
    points, and the slope between its two largest sizes (closer to the asymptotic exponent)."""
    out = {}
    for axis in AXES:
        pts = sorted((r[axis], r[key]) for r in rows if r["axis"] == axis or _is_base(r))
        pts = list(dict(pts).items())
        if len(pts) >= 2:
            x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
            out[axis] = dict(exponent=round(float(np.polyfit(x, y, 1)[0]), 2),
                             last_two=round(float((y[-1] - y[-2]) / (x[-1] - x[-2])), 2), sizes=len(pts))
    return out


def _is_base(r: dict) -> bool:
    """The base point (clump: at its own P)."""
    return r.get("n") == BASE["n"] and r.get("m") == BASE["m"] and (r.get("p") == BASE["p"] or r["tool"] == "clump")


def write_report(store: dict, out: Path) -> dict:
    """Fit the scaling laws to the measured cases, project to ``TARGET`` and write scale.json/.md and plots."""
    cases = store.get("cases", {})
    ok = [c for c in cases.values() if c["status"] == "ok"]
    missing = [(k, c) for k, c in cases.items() if c["status"] != "ok"]
    sel = lambda tool, model=None: [c for c in ok if c["tool"] == tool and c.get("model") == model  # noqa: E731
                                    and c["axis"] not in ("bgen", "hail")]
    lin, ridge, step2 = sel("gwas", "linear"), sel("gwas", "ridge-loco"), sel("gwas", "ridge-step2")
    clump, extract = [c for c in ok if c["tool"] == "clump"], [c for c in ok if c["tool"] == "extract"]
    bgen = [c for c in ok if c.get("axis") == "bgen"]
    nmp = lambda r: (r["n"], r["m"], r["p"])  # noqa: E731
    fits, proj = {}, {}
    T = TARGET
    if len(lin) >= 5:
        fits["gwas linear"] = fit(lin, TERMS["gwas"], nmp)
    if len(clump) >= 3:
        fits["clump (64 phenotypes)"] = fit(clump, TERMS["clump"], nmp)
    if len(extract) >= 2:
        fits["extract"] = fit(extract, TERMS["extract"], lambda r: (r["ecgs"],))
    base_lin = next((c for c in lin if _is_base(c)), None)
    decode = None
    if bgen and base_lin:
        b = bgen[0]
        decode = max(b["cpu_s"] - base_lin["cpu_s"], 0.0) / (b["n"] * b["m"])
    if "gwas linear" in fits:
        f = fits["gwas linear"]
        proj["gwas linear, .bed-equivalent decode"] = predict(f, TERMS["gwas"], T["n"], T["m"], T["p"]) / 3600
        if decode is not None:
            proj["BGEN decode (8-bit zlib), added to every genotype pass"] = decode * T["n"] * T["m"] / 3600
    ratio2 = None
    if step2:
        pairs = [(s["cpu_s"], next((c["cpu_s"] for c in lin if nmp(c) == nmp(s)), None)) for s in step2]
        pairs = [(a, b) for a, b in pairs if b]
        ratio2 = float(np.mean([a / b for a, b in pairs])) if pairs else None
    if len(ridge) >= 2 and "gwas linear" in fits:
        # step 1 = ridge-loco - step 2 (step 2 = linear x the measured step-2 ratio), fitted to the kernel's
        # operation count: CPU = fixed + c x flops(N, M, P, auto block size)
        fl, r2 = fits["gwas linear"], ratio2 or 1.0
        s1 = [dict(r, cpu_s=max(r["cpu_s"] - r2 * predict(fl, TERMS["gwas"], *nmp(r)), 1e-3)) for r in ridge]
        t1 = TERMS["ridge step 1"]
        fits["ridge-loco step 1"] = fr = fit(s1, t1 if len(s1) >= 6 else t1[1:] if len(s1) >= 4 else t1[:2], nmp)
        fr["model_flops"] = {f"{r['n']},{r['m']},{r['p']}": ridge_flops(*nmp(r)) for r in ridge}
        fr["model_eig_b3"] = {f"{r['n']},{r['m']},{r['p']}": ridge_eig(*nmp(r)) for r in ridge}
        fr["target_flops"] = ridge_flops(T["n"], STEP1_M, T["p"])
        fr["target_eig_b3"] = ridge_eig(T["n"], STEP1_M, T["p"])
        rates = store.get("ridge_kernel_rates")
        if rates:
            # cross-check: the BLAS and eigh parts at the rates measured at block size 2,000, plus the fitted
            # per-entry terms (genotype passes, LOCO text)
            blas_rate = min(rates["syrk_madd_per_s"], rates["gemm_madd_per_s"])
            fr["target_from_rates_cpu_h"] = (fr["target_flops"] / blas_rate + fr["target_eig_b3"] * rates[
                "eigh_2000_s_per_b3"] + fr["coef"].get("per variant x sample", 0.0) * T["n"] * STEP1_M
                + fr["coef"].get("per sample x phenotype", 0.0) * T["n"] * T["p"]) / 3600
        fr["target_level0_gb"] = T["p"] * T["n"] * 5 * -(-STEP1_M // _ridge_b(T["n"], STEP1_M, T["p"])) * 8 / 1e9
        step1 = predict(fr, TERMS["ridge step 1"], T["n"], STEP1_M, T["p"]) / 3600
        proj["ridge-loco step 1 (469k array SNPs)"] = max(step1, 0.0)
        proj["ridge-loco step 2 extra over linear (x%.2f)" % r2] = (r2 - 1) * proj[
            "gwas linear, .bed-equivalent decode"]
    if "clump (64 phenotypes)" in fits:
        fc = fits["clump (64 phenotypes)"]
        proj["clump, LD from all 500k samples"] = predict(fc, TERMS["clump"], T["n"], T["m"], 0) * T["p"] / CLUMP_P / 3600
        proj["(alt.) clump, LD from a 10k-sample reference panel"] = predict(fc, TERMS["clump"], 10_000, T["m"], 0) * \
            T["p"] / CLUMP_P / 3600
    if clump:
        sl = slopes(clump)
        big = max((c for c in clump if c["axis"] == "n" or _is_base(c)), key=lambda c: c["n"])
        if "n" in sl and "m" in sl:
            a_n, b_m = sl["n"]["last_two"], sl["m"]["last_two"]
            proj[f"(alt.) clump, power law from N = {big['n']:,} (N^{a_n}, M^{b_m})"] = (
                big["cpu_s"] * (T["n"] / big["n"]) ** a_n * (T["m"] / big["m"]) ** b_m * T["p"] / CLUMP_P / 3600)
    if "extract" in fits:
        proj["extract, 500k ECGs"] = predict(fits["extract"], TERMS["extract"], T["n"]) / 3600
    main_keys = [k for k in proj if not k.startswith("(alt.)")]
    total_linear = sum(v for k, v in proj.items() if k in main_keys and "ridge" not in k)
    total_ridge = sum(proj[k] for k in main_keys)
    result = dict(store, base=BASE, axes=AXES, target=T, step1_variants=STEP1_M, fits=fits,
                  slopes={name: fn(rows) for name, rows, fn in [("gwas linear", lin, slopes),
                                                                 ("gwas ridge-loco", ridge, ridge_slopes),
                                                                 ("clump", clump, slopes)] if rows},
                  rss_slopes={name: fn(rows, "peak_rss_mib") for name, rows, fn in [
                      ("gwas linear", lin, slopes), ("gwas ridge-loco", ridge, ridge_slopes),
                      ("clump", clump, slopes)] if rows},
                  bgen_decode_cpu_s_per_entry=decode, ridge_step2_over_linear=ratio2,
                  projection_cpu_hours=proj, total_cpu_hours_linear=total_linear, total_cpu_hours_ridge=total_ridge,
                  per_phenotype_linear=total_linear / T["p"], per_phenotype_ridge=total_ridge / T["p"],
                  neale_hail_cpu_hours_per_phenotype=NEALE_CPU_H, regenie_hours_per_trait=REGENIE_H)
    (out / "scale.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(result, lin, ridge, clump, extract, out)
    (out / "scale.md").write_text(markdown(result, ok, missing, lin, ridge, step2, clump, extract, bgen) + "\n")
    return result


def plot(res: dict, lin, ridge, clump, extract, out: Path) -> None:
    """scale_cpu.png (CPU and peak RSS per axis, with the fitted laws), scale_residuals.png,
    scale_projection.png (CPU-hours per phenotype by component, with the published figures)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = [("gwas linear", lin, "C0", TERMS["gwas"]), ("gwas ridge-loco", ridge, "C1", None),
              ("clump (64 phenotypes)", clump, "C2", TERMS["clump"])]
    fig, ax = plt.subplots(2, 3, figsize=(13, 7.5))
    for j, axis in enumerate(AXES):
        for name, rows, colour, terms in series:
            fixed = RIDGE_FIXED[axis] if terms is None else {k: v for k, v in BASE.items() if k != axis}
            pts = sorted((r[axis], r["cpu_s"], r["peak_rss_mib"]) for r in (
                ridge_axis(rows, axis) if terms is None else [r for r in rows if r["axis"] == axis or _is_base(r)]))
            if not pts or (axis == "p" and name.startswith("clump")):
                continue
            x = np.array([q[0] for q in pts], dtype=float)
            ax[0, j].plot(x, [q[1] for q in pts], "o", color=colour, label=f"{name} measured"
                          + (" (N axis at M = 20k)" if terms is None else ""))
            ax[1, j].plot(x, [q[2] for q in pts], "o-", color=colour, label=name)
            xs = np.geomspace(x.min(), x.max(), 30)
            at = lambda v: [{**fixed, axis: v}[k] for k in "nmp"]  # noqa: E731
            ys = ([predict(res["fits"][name], terms, *at(v)) for v in xs] if name in res["fits"] else
                  [ridge_cpu(res, *at(v)) for v in xs] if terms is None and "ridge-loco step 1" in res["fits"]
                  else None)
            if ys is not None and len(pts) > 1:
                ax[0, j].plot(xs, ys, "-", color=colour, alpha=0.6, label=f"{name} fit")
        for i, lab in enumerate(["CPU s (user + sys, 1 thread)", "peak RSS MiB"]):
            ax[i, j].set_xscale("log")
            ax[i, j].set_yscale("log")
            ax[i, j].set_xlabel({"n": "samples N", "m": "variants M", "p": "phenotypes P"}[axis])
            ax[i, j].set_ylabel(lab)
            ax[i, j].grid(alpha=0.3, which="both")
        ax[0, j].set_title(f"{axis.upper()} varied (others at N={BASE['n']:,}, M={BASE['m']:,}, P={BASE['p']})",
                           fontsize=9)
    ax[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "scale_cpu.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(8, 3.8))
    for k, (name, f) in enumerate(res["fits"].items()):
        ax.plot(np.full(len(f["residual_pct"]), k) + np.linspace(-0.15, 0.15, len(f["residual_pct"])),
                f["residual_pct"], "o")
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(range(len(res["fits"])), list(res["fits"]), fontsize=8)
    ax.set_ylabel("fit - measured, % of measured")
    ax.set_title("Residuals of the fitted cost models (each point one measured case)", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "scale_residuals.png", dpi=110)
    plt.close(fig)

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.2), gridspec_kw=dict(width_ratios=[1.3, 1]))
    bars = [("edfgen linear\n(projected)", res["per_phenotype_linear"], "C0"),
            ("edfgen ridge-loco\n(projected)", res["per_phenotype_ridge"], "C1"),
            ("REGENIE v2.0.2, UKB n=400k\n(runtime per trait, Jiang 2021)", REGENIE_H, "silver"),
            ("Neale lab, Hail\n(~200k CPU-h / 4k traits)", NEALE_CPU_H, "grey")]
    for i, (lab, v, colour) in enumerate(bars):
        ax.barh(i, v, color=colour)
        ax.text(v * 1.1, i, f"{v:.2g}", va="center", fontsize=8)
    ax.set_yticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(0.01, 300)
    ax.set_xlabel("CPU-hours per phenotype, log scale")
    ax.set_title("UK Biobank size: 500k x 10M variants x 128 EDFs", fontsize=10)
    left = 0.0
    for k, v in [(k, v / TARGET["p"]) for k, v in res["projection_cpu_hours"].items() if not k.startswith("(alt.)")]:
        bx.bar(0, v, bottom=left, label=k, width=0.5)
        left += v
    bx.set_xticks([0], ["edfgen ridge-loco, by component"], fontsize=8)
    bx.set_xlim(-0.4, 3.6)
    bx.set_ylabel("CPU-hours per phenotype")
    bx.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    fig.savefig(out / "scale_projection.png", dpi=110)
    plt.close(fig)


def markdown(res: dict, ok, missing, lin, ridge, step2, clump, extract, bgen) -> str:
    T, fits, proj = res["target"], res["fits"], res["projection_cpu_hours"]
    md = ["# Scaling of edfgen (gwas linear / ridge-loco, clump, extract) and the UK Biobank-size projection", "",
          f"Measured {min(c['measured'] for c in ok)} – {max(c['measured'] for c in ok)} on a shared 2-core machine "
          "(other jobs running: load average per row). Every case is one child command at **1 thread** under "
          "`nice`; **CPU = user + sys of the whole process tree** (`/usr/bin/time -v` around a child subreaper), "
          "peak RSS of the largest process; wall is shown but depends on the other jobs. One axis varies at a "
          f"time around N = {BASE['n']:,} samples, M = {BASE['m']:,} variants, P = {BASE['p']} phenotypes. "
          "Genotypes: a simulated block of 997 variants (HWE, frequencies 0.05–0.5, no missing calls) written as "
          "PLINK .bed bytes and repeated along the variant axis (new ids/positions; 22 chromosomes) — the fast "
          "engine's per-variant cost does not depend on genotype values, so a repeat costs what a new variant "
          "would (see `scale.py`'s docstring). Script: `benchmarks/scale.py`; data in `scale.json`.", "",
          "## Measured cases", "",
          "| tool | model / input | N | M | P (ECGs) | CPU s | peak RSS MiB | wall s | load |",
          "|---|---|---|---|---|---|---|---|---|"]
    for c in sorted(ok, key=lambda c: (c["tool"], c.get("model") or "", c.get("axis") == "bgen", c.get("n", 0),
                                       c.get("m", 0), c.get("p", c.get("ecgs", 0)))):
        model = c.get("input", c.get("model", "")) if c.get("axis") == "bgen" else c.get("model", "")
        if c["tool"] == "extract":
            md.append(f"| extract | default checkpoint, workers 0 | | | {c['ecgs']:,} ECGs | {c['cpu_s']} | "
                      f"{c['peak_rss_mib']} | {c['wall_s']} | {c['load_1min']} |")
        else:
            md.append(f"| {c['tool']} | {model} | {c['n']:,} | {c['m']:,} | {c['p']} | {c['cpu_s']} | "
                      f"{c['peak_rss_mib']} | {c['wall_s']} | {c['load_1min']} |")
    if missing:
        md += ["", "**Not measured** (killed at the time limit, not extrapolated into the table): " + "; ".join(
            f"{k} ({c.get('note', c['status'])})" for k, c in missing) + "."]
    rep = res.get("repeat_base_linear")
    if rep:
        base = next((c for c in ok if c["tool"] == "gwas" and c.get("model") == "linear" and _is_base(c)), None)
        md += ["", "Noise: the base point (gwas linear) measured again later at a higher load: "
               + ", ".join(f"{r['cpu_s']} CPU s (load {r['load_1min']})" for r in rep)
               + (f" against {base['cpu_s']} (load {base['load_1min']}) in the table: CPU seconds inflate by up "
                  f"to {max(r['cpu_s'] for r in rep) / base['cpu_s']:.2f}× under contention." if base else "")]
    md += ["", "## Scaling laws", "", "Power-law exponents (slope of log CPU on log size, one axis at a time; "
           "`last two` = between the two largest sizes, closer to the asymptotic exponent):", "",
           "| tool | N exponent (last two) | M exponent (last two) | P exponent (last two) | "
           "peak RSS exponents N / M / P |", "|---|---|---|---|---|"]
    for name, sl in res["slopes"].items():
        rs = res["rss_slopes"].get(name, {})
        cell = lambda a: f"{sl[a]['exponent']} ({sl[a]['last_two']})" if a in sl else "–"  # noqa: E731
        md.append(f"| {name} | {cell('n')} | {cell('m')} | {cell('p')} | "
                  + " / ".join(str(rs[a]["exponent"]) if a in rs else "–" for a in "nmp") + " |")
    md += ["", "Cost models (non-negative least squares on relative errors; CPU seconds; residuals in "
           "`scale_residuals.png`):", ""]
    for name, f in fits.items():
        terms = " + ".join(f"{v:.3g}·[{k}]" for k, v in f["coef"].items() if v > 0)
        md.append(f"- **{name}**: CPU = {terms} ({f['points']} points; residuals "
                  f"{', '.join(f'{x:+.1f}%' for x in f['residual_pct'])}; max |residual| {f['max_abs_residual_pct']} %)")
    if "ridge-loco step 1" in fits:
        fr = fits["ridge-loco step 1"]
        rates = res.get("ridge_kernel_rates", {})
        md.append(f"- **ridge-loco step 1** = measured ridge-loco − step 2 (linear fit × the measured step-2 ratio), "
                  "fitted to the kernel's own work (`_ridge_counts`): BLAS multiply-adds (level 0: syrk XᵀX N·M·b/2, "
                  "XᵀY N·M·P, coefficients folds·M·b·P·R, held-out predictions N·M·P·R; level 1: P·(N·k²/2 + "
                  "folds·N·k), k = R·M/b), eigendecompositions (Σ b³: folds·M/b blocks of size b, P·folds of size k), "
                  "passes over the genotypes (N·M) and the LOCO text (N·P). Per measured point, multiply-adds / Σb³: "
                  + ", ".join(f"{k}: {v:.2g} / {fr['model_eig_b3'][k]:.2g}" for k, v in fr["model_flops"].items())
                  + f". At 500k × {STEP1_M:,} × 128 the kernel picks b = {_ridge_b(TARGET['n'], STEP1_M, TARGET['p'])}"
                  f": {fr['target_flops']:.2g} multiply-adds, Σb³ {fr['target_eig_b3']:.2g}; its level-0 predictions "
                  f"are {fr['target_level0_gb']:,.0f} GB (spilled to a temporary file, as REGENIE's `--lowmem` does).")
        if fr["coef"].get("per BLAS multiply-add"):
            md.append(f"- Fitted rates: {1 / fr['coef']['per BLAS multiply-add'] / 1e9:.1f} G BLAS multiply-adds per "
                      "CPU-s" + (f", {fr['coef']['per eigendecomposition b³']:.2g} CPU-s per b³ of eigendecomposition"
                                 if fr["coef"].get("per eigendecomposition b³") else "")
                      + (f"; measured on this machine (`ridge_kernel_rates`, 1 thread): syrk "
                         f"{rates['syrk_madd_per_s'] / 1e9:.1f} G and gemm {rates['gemm_madd_per_s'] / 1e9:.1f} G "
                         f"multiply-adds per CPU-s at b = 2,000, eigh {rates['eigh_250_s_per_b3']:.2g} / "
                         f"{rates['eigh_1000_s_per_b3']:.2g} / {rates['eigh_2000_s_per_b3']:.2g} CPU-s per b³ at "
                         "b = 250 / 1,000 / 2,000" if rates else "") + ".")
        if fr.get("target_from_rates_cpu_h") is not None:
            md.append(f"- Cross-check of the step-1 projection: the target's multiply-adds and eigendecompositions at "
                      f"the measured BLAS / eigh rates (b = 2,000) plus the fitted N·M and N·P terms give "
                      f"**{fr['target_from_rates_cpu_h']:.1f} CPU-hours** against "
                      f"{predict(fr, TERMS['ridge step 1'], TARGET['n'], STEP1_M, TARGET['p']) / 3600:.1f} from the fit "
                      "(the measured points use b = 200–500, the target b = 2,000: the fit extrapolates in b).")
        sn = res.get("slopes", {}).get("gwas ridge-loco", {}).get("n")
        if sn and sn["last_two"] > 1:
            top = max(AXES["n"])
            md.append(f"- N beyond the measured {top:,}: the fit is linear in N, while CPU grew as N^{sn['last_two']} "
                      f"between the two largest N (M = {RIDGE_N_M:,}); had that exponent held from {top:,} to "
                      f"{TARGET['n']:,}, step 1 would cost {(TARGET['n'] / top) ** (sn['last_two'] - 1):.2f}× the "
                      "projection below (contention noise on a shared machine, or cache effects of N-long arrays; "
                      "not resolved here).")
    not_run = [(ax, n, m, p) for ax, n, m, p in RIDGE_POINTS
               if res.get("cases", {}).get(f"gwas_ridge-loco_n{n}_m{m}_p{p}", {}).get("status") != "ok"]
    if not_run:
        md.append("- ridge-loco **not measured** at " + "; ".join(
            f"N = {n:,}, M = {m:,}, P = {p} ({res.get('cases', {}).get(f'gwas_ridge-loco_n{n}_m{m}_p{p}', {}).get('note', 'not run in the time')})"
            for _, n, m, p in not_run) + ".")
    if res.get("bgen_decode_cpu_s_per_entry") is not None:
        b = bgen[0]
        md.append(f"- **BGEN decode**: `gwas --bgen` (plink2-exported BGEN 1.2, 8-bit, zlib) at the base point "
                  f"{b['cpu_s']} CPU s vs .bed {next(c['cpu_s'] for c in lin if _is_base(c))} CPU s: "
                  f"**{res['bgen_decode_cpu_s_per_entry']:.3g} CPU s per variant × sample** more.")
    rat = [(r, next((c for c in lin if (c['n'], c['m'], c['p']) == (r['n'], r['m'], r['p'])), None)) for r in ridge]
    if any(c for _, c in rat):
        md.append("- **ridge-loco / linear CPU**: " + ", ".join(
            f"{r['cpu_s'] / c['cpu_s']:.1f}× at N={r['n'] // 1000}k M={r['m'] // 1000}k P={r['p']}" for r, c in rat
            if c) + (f"; step 2 alone (`--loco-predictions`) / linear: {res['ridge_step2_over_linear']:.2f}× "
                     f"(mean over {len(step2)} run(s): " + ", ".join(f"N={x['n'] // 1000}k M={x['m'] // 1000}k P={x['p']}" for x in step2) + ")" if res.get("ridge_step2_over_linear") else ""))
    if extract:
        md.append("- **extract**: " + ", ".join(
            f"{e['ecgs']:,} ECGs {1e3 * e['cpu_s'] / e['ecgs']:.1f} CPU-ms/ECG ({e['ecgs'] / e['cpu_s']:.0f} ECGs "
            f"per CPU-s; {e['ecgs'] / e['wall_s']:.0f} ECGs/s wall)" for e in sorted(extract, key=lambda e: e["ecgs"]))
            + (f"; marginal cost {1e3 * fits['extract']['coef']['per ECG']:.1f} CPU-ms per ECG, fixed "
               f"{fits['extract']['coef']['fixed']:.1f} CPU s (model load, imports)" if "extract" in fits else ""))
    if "ridge-loco step 1" in fits:
        under = []
        for c in res.get("cases", {}).values():
            if c.get("model") == "ridge-loco" and c.get("cpu_s_lower_bound"):
                pred = ridge_cpu(res, c["n"], c["m"], c["p"])
                under.append(f"N = {c['n']:,}: more than {c['cpu_s_lower_bound']} CPU-s used against {pred:.0f} "
                             f"predicted (≥ {c['cpu_s_lower_bound'] / pred:.2f}×)")
        if under:
            lb = max((c for c in res.get("cases", {}).values() if c.get("model") == "ridge-loco"
                      and c.get("cpu_s_lower_bound")), key=lambda c: c["cpu_s_lower_bound"] / ridge_cpu(
                          res, c["n"], c["m"], c["p"]))
            s2 = (res.get("ridge_step2_over_linear") or 1.0) * predict(fits["gwas linear"], TERMS["gwas"], lb["n"],
                                                                        lb["m"], lb["p"])
            rate = (lb["cpu_s_lower_bound"] - s2) / ridge_flops(lb["n"], lb["m"], lb["p"])
            alt = rate * fits["ridge-loco step 1"]["target_flops"] / 3600
            md.append("- **The ridge-loco fit rests on 2 points (P axis)**; the killed N-axis cases bound it from "
                      "below: " + "; ".join(under) + ". Read the ridge-loco step-1 projection as a lower bound: "
                      f"calibrating the operation count on the N = {lb['n']:,} bound instead gives **≥ {alt:,.0f} "
                      f"CPU-hours for step 1** ({alt / TARGET['p']:.2f} per EDF) at UK Biobank size.")
    md += ridge_profile_text(res)
    md += ["", "## Scaling bug found and fixed: ridge-loco's spilled level-0 predictions", "",
           "Beyond 1 GB the level-0 predictions (P × N × B·R doubles) go to a temporary memory-mapped file. "
           "Laid out [P, N, B·R], every block wrote R values into every N-row, touching every page of the file "
           "once per block: at N = 10k, M = 100k, P = 64 (a 5.5 GB file) the run had **written 18.1 GB after "
           "4 minutes** (`/proc/PID/io`), on its way to B = 220 rewrites. Fixed in `edfgen/kernels/ridge.py` "
           "(tests in `tests/test_association_models.py`): layout [P, B·R, N] and one contiguous write per "
           "block, gathered over the folds; an intermediate version (per-fold writes) measured 21.7 GB written "
           "for the same 5.5 GB file over the whole run (≈ 4×, the folds); the final one writes each page "
           "once. The first run's ridge-loco rows (superseded above) ran with that intermediate version (CPU "
           "seconds are not affected by the kernel's write-back; wall time is)."
           + (f" At UK Biobank size the file is {fits['ridge-loco step 1']['target_level0_gb']:,.0f} GB (below), so "
              "the old layout could not have finished." if "ridge-loco step 1" in fits else ""),
           "", f"## Projection to N = {T['n']:,}, M = {T['m']:,} imputed variants, P = {T['p']} EDFs", "",
           "| component | CPU-hours | per phenotype |", "|---|---|---|"]
    for k, v in proj.items():
        md.append(f"| {k} | {v:,.1f} | {v / T['p']:.3f} |")
    md += [f"| **total, linear** (extract + gwas + BGEN + clump) | **{res['total_cpu_hours_linear']:,.0f}** | "
           f"**{res['per_phenotype_linear']:.2f}** |",
           f"| **total, ridge-loco** | **{res['total_cpu_hours_ridge']:,.0f}** | **{res['per_phenotype_ridge']:.2f}** |",
           "", extra_text(res, lin)]
    return "\n".join(md)


def ridge_profile_text(res: dict) -> list[str]:
    """The ridge-loco profile (before / after the fixes) and the first run's superseded ridge-loco rows."""
    prof, old = res.get("ridge_profile"), res.get("superseded_ridge_cases", {})
    if not prof:
        return []
    b, a = prof["before"], prof["after"]
    per_run, at_target = 20_000 * 8 * 23, TARGET["n"] * TARGET["p"] * 23      # values: genome + 22 chromosomes
    md = ["", "## ridge-loco: where the time went, and the fixes", "",
          f"Profile: {prof['case']} ({prof['measured']}). Commit {b['commit']} (before) against this one (after), "
          "CPU seconds:", "", "| part | before | after the first fixes (LOCO text, level 0 products) |", "|---|---|---|"]
    for key, lab in [("loco_files", "`<out>/loco/*.loco.tsv.gz` text (22 chromosomes + genome per sample, phenotype)"),
                     ("step1", "step 1 kernel (`ridge_loco_predictions`)"), ("standardise", "… standardising blocks"),
                     ("eigh", "… eigendecompositions (level 0 + 1)"), ("level1", "… level 1"),
                     ("step2", "step 2 (association pass)"), ("cpu_s", "**whole run** (user + sys)")]:
        md.append(f"| {lab} | {b.get(key, '–')} | {a.get(key, '–')} |")
    md += ["", f"(The whole run before: {b['user_s']} user + {b['sys_s']} sys at load ~11; an earlier run of the same "
           f"code at load {prof['first_before_run']['load']}: {prof['first_before_run']['cpu_s']} CPU s — system "
           "time inflates under contention, user time is stable.)", "",
           f"- **LOCO files** (half of the run, and linear in N·P: ≈ {b['loco_files'] / per_run * 1e6:.0f} µs a value, "
           f"{b['loco_files'] / per_run * at_target / 3600:.1f} CPU-hours at 500k × 128, now "
           f"{a['loco_files'] / per_run * 1e6:.1f} µs, {a['loco_files'] / per_run * at_target / 3600:.2f} CPU-hours): "
           "pandas `to_csv(float_format='%.17g')` then gzip level 9. Now `float.__repr__` (the shortest text that "
           "reads back as the same double) joined per row and gzip level 1 (17-digit text compresses ~2.1× at level 1,"
           " 2.3× at 9, 12× faster): 17×. Values read back bit for bit with a correctly rounded parser "
           "(`tests/test_association_models.py::test_write_loco_predictions__shortest_exact_text_read_back_bit_for_bit`).",
           "- **Level 0**: each fold's rows were gathered (`X[rows]`, a copy) three times per block and fold, XᵀX "
           "ran as a general product of two copies (gemm), and the held-out predictions went through X_f·V "
           "(n_f·m² per fold: N·m² per block, as much as XᵀX). Now the samples are sorted by fold once per block "
           "(one gather, then slices), XᵀX is BLAS syrk (half the work), and the coefficients V·diag(1/(s+λ))·VᵀXᵀY "
           "[m, P·R] are formed first (folds·m²·P·R) and applied once (N·m·P·R): level 0 is now ≈ N·M·(b/2 + P·(R+1)) "
           "multiply-adds instead of ≈ N·M·(2b + P·R). Standardising a block takes fewer passes over memory "
           "(variance from the sums of squares, in place). Level 1's XᵀX is syrk too.",
           "- Nothing scaled worse than linearly in N: every step-1 term is N × (something in M, P, b), and the "
           "eigendecompositions (10·folds·b³ per block, 10·folds·k³ per phenotype) do not depend on N. The "
           "first run's N = 50k/100k cases were slow, not super-linear (its 2-point fit had a 42 CPU-s fixed cost "
           "that made them look cheap). The spilled level-0 file (block-major, one write per block) and step 2 "
           "were not hot spots (< 3 % each).",
           *_buffers_text(res),
           f"- Results: LOCO predictions differ by at most {prof['loco_max_rel_diff']:.0e} of the largest value "
           f"({prof['loco_max_abs_diff']:.0e} absolute) between the two commits at this size; the summary "
           "statistics files are identical; the per-fold naive-ridge reference test "
           "(`test_ridge_loco_predictions__equal_a_naive_per_fold_ridge`) now holds at rtol 1e-10 (was 1e-7)."]
    if old:
        md += ["", "The first run's ridge-loco cases (code before these fixes; superseded, kept in `scale.json` under "
               "`superseded_ridge_cases`):", ""]
        cases = res.get("cases", {})
        for k, c in old.items():
            now = cases.get(k, {})
            md.append(f"- N = {c['n']:,}, M = {c['m']:,}, P = {c['p']}: "
                      + (f"{c['cpu_s']} CPU s, {c['peak_rss_mib']} MiB" if c["status"] == "ok" else
                         f"not measured ({c.get('note', c['status'])})")
                      + (f" → now {now['cpu_s']} CPU s, {now['peak_rss_mib']} MiB"
                         + (f" ({c['cpu_s'] / now['cpu_s']:.1f}× less CPU)" if c["status"] == "ok" else "")
                         if now.get("status") == "ok" else ""))
    return md


def _buffers_text(res: dict) -> list[str]:
    """The second fix (reused buffers), from the N = 100k profile and the N axis measured before and after it."""
    q, before = res.get("ridge_profile_n100k"), res.get("ridge_cases_without_buffers", {})
    if not q:
        return []
    r = q["ratio_to_n20k"]
    now = res.get("cases", {})
    pairs = [(k, c, now.get(k)) for k, c in sorted(before.items(), key=lambda kv: (kv[1]["m"], kv[1]["p"], kv[1]["n"]))]
    return [f"- **A second profile at N = 100k** (M = 20k, P = 8: {q['cpu_s']} CPU-s, {q['user_s']:.0f} user + "
            f"{q['sys_s']:.0f} sys) against N = 20k: for 5× the samples the whole run took {r['total']}×, but "
            f"standardising blocks {r['standardise']}× and the rest of the level-0 loop {r['step1_self']}×, with "
            "30 % system time. Every N × b temporary beyond glibc's 32 MB mmap threshold (N·b·8 bytes: 29 MB at "
            "N = 20k, 146 MB at 100k) was mapped fresh and zeroed page by page by the kernel, several times per "
            "block. Fixed: the block's arrays (standardised block, its fold-sorted copy, the predictions) are "
            "buffers reused from block to block (`_work` in `edfgen/kernels/ridge.py`), level 1 standardises its "
            "predictors in place and skips the masked copy when no phenotype value is missing (the same operations: "
            "LOCO predictions and summary statistics bit-identical at N = 100k). Measured CPU s before → after this fix (user + sys of the whole run; "
            "`ridge_cases_without_buffers` in `scale.json`): "
            + ", ".join(f"N = {c['n'] // 1000}k M = {c['m'] // 1000}k P = {c['p']}: {c['cpu_s']} → "
                        + (f"{a['cpu_s']}" if a and a.get("status") == "ok" and a.get("user_s") is not None
                           else "not rerun") for k, c, a in pairs)
            + " (load " + "/".join(f"{c['load_1min']:.0f}" for _, c, _a in pairs) + " before, "
            + "/".join(f"{a['load_1min']:.0f}" for _, _c, a in pairs if a) + " after: part of the difference is "
            "contention on the shared machine; CPU grew as N^0.98 between N = 50k and 100k after, "
            "against N^1.11 before)."]


def rss_fit(rows: list[dict], m: int | None = None) -> dict | None:
    """Peak RSS (MiB) = a + b N + c N P + d M (non-negative least squares) and its value at ``TARGET`` (at ``m``
    variants: ridge-loco's step 1 runs on :data:`STEP1_M`)."""
    from scipy.optimize import nnls

    if len(rows) < 4:
        return None
    A = np.array([[1.0, r["n"], r["n"] * r["p"], r["m"]] for r in rows])
    y = np.array([r["peak_rss_mib"] for r in rows])
    c = nnls(A / y[:, None], np.ones(len(y)))[0]
    T = TARGET
    return dict(coef=[float(v) for v in c], target_gib=float(c @ [1.0, T["n"], T["n"] * T["p"], m or T["m"]]) / 1024,
                max_abs_residual_pct=round(float(np.max(np.abs(100 * (A @ c - y) / y))), 1))


def extra_text(res: dict, lin) -> str:
    T, proj = res["target"], res["projection_cpu_hours"]
    cases = [c for c in res.get("cases", {}).values() if c["status"] == "ok"]
    hail = [c for c in cases if c.get("model") == "linear-hail"]
    ridge = [c for c in cases if c.get("model") == "ridge-loco"]
    rl, rr = rss_fit(lin), rss_fit(ridge, STEP1_M)
    bg = next((c for c in cases if c.get("axis") == "bgen"), None)
    lines = ["## One 64-core machine", "",
             f"CPU-bound: spread over 64 cores (independent variant ranges: `--chr`/`--extract` shards or "
             f"`--threads 64`; the work per variant block is independent, not measured beyond 2 cores here), the "
             f"linear total is ≈ **{res['total_cpu_hours_linear'] / 64:,.1f} h wall** and ridge-loco "
             f"≈ **{res['total_cpu_hours_ridge'] / 64:,.1f} h wall**, if the cores are kept busy."]
    if rl:
        lines.append(f"Memory: peak RSS fitted as a + b·N + c·N·P + d·M (max residual {rl['max_abs_residual_pct']} %) "
                     f"gives ≈ **{rl['target_gib']:.1f} GiB** for one linear process at 500k × 128"
                     + (f", ≈ **{rr['target_gib']:.1f} GiB** for ridge-loco step 1 on {STEP1_M:,} variants (max residual "
                        f"{rr['max_abs_residual_pct']} %, a linear extrapolation; level 1 holds N × R·M/b doubles per phenotype, "
                        f"{T['n'] * 5 * -(-STEP1_M // _ridge_b(T['n'], STEP1_M, T['p'])) * 8 / 2**30:.1f} GiB at the "
                        "target, in a few copies at once; the LOCO predictions are streamed to disk, not held)"
                        if rr else "")
                     + "; 64 single-threaded shards multiply the per-process part, so on a 256–512 GB machine "
                     "run fewer, multi-threaded processes.")
    if bg:
        per_entry = bg.get("bytes", 0) / (bg["n"] * bg["m"])
        tb = per_entry * T["n"] * T["m"] / 1e12
        wall = max(res["total_cpu_hours_linear"] / 64, 1e-9)
        lines.append(f"I/O: the hard-call BGEN written here is {per_entry:.3f} B per variant × sample (8-bit, zlib; "
                     "probabilities 0/1 compress well), a lower bound; imputed dosages stored as two 8-bit "
                     "probabilities are up to 2 B per entry. 500k × 10M is then "
                     f"{tb:.1f}–{2 * T['n'] * T['m'] / 1e12:.0f} TB: {tb * 1e3 / 3600:.1f}–"
                     f"{2 * T['n'] * T['m'] / 1e9 / 3600:.1f} h per genotype pass at 1 GB/s, against "
                     f"≈ {wall:.1f} h of CPU wall on 64 cores. So a 64-core run needs "
                     f"≈ {tb * 1e3 / 3600 / wall:.1f}–{2 * T['n'] * T['m'] / 1e9 / 3600 / wall:.1f} GB/s of reads to "
                     "stay CPU-bound: local NVMe yes, network storage often not (then I/O-bound, and CPU-hours are "
                     "not the cost). The BGEN decode cost above was measured on the hard-call file; dosage BGEN "
                     "inflates more bytes per entry (UK Biobank's imputed v3 BGEN is ≈ 2.1 TB for 97M mostly "
                     "rare variants).")
    lines += ["", "## A Spark cluster", ""]
    if hail:
        from scipy.optimize import nnls

        A = np.array([[1.0, c["n"] * c["m"], c["n"] * c["m"] * c["p"]] for c in hail])
        y = np.array([c["cpu_s"] for c in hail])
        coef = nnls(A / y[:, None], np.ones(len(y)))[0]
        h = float(coef[1] * T["n"] * T["m"] + coef[2] * T["n"] * T["m"] * T["p"]) / 3600
        lines.append("`gwas --engine hail` (Hail `linear_regression_rows`, Spark local[1], 1 core) measured: "
                     + ", ".join(f"N={c['n']:,} M={c['m']:,} P={c['p']}: {c['cpu_s']} CPU s (fast engine "
                                 f"{next((x['cpu_s'] for x in lin if (x['n'], x['m'], x['p']) == (c['n'], c['m'], c['p'])), float('nan'))})"
                                 for c in hail)
                     + f". Fit CPU = {coef[0]:.3g} + {coef[1]:.3g}·N·M + {coef[2]:.3g}·N·M·P s → at UK Biobank size "
                     f"**{h:,.0f} CPU-hours, {h / T['p']:.2f} per phenotype** for the association pass on Hail "
                     "(plus BGEN import; ridge-loco step 2 on Hail reads step-1 predictions made by the fast engine).")
        res["hail_projection_cpu_hours"] = h
    else:
        lines.append("`--engine hail` (Spark local[1]) was **not measured**: its first case (N = 10k, M = 100k, P = 8) "
                     "was killed at the 2,400 s wall limit, its JVM having used more than 4.5 CPU-minutes by then "
                     "(`ps`, not the case's measurement) where the fast engine needs 7.7 CPU-s for the whole run "
                     "at this size (> 35×, a lower bound including the JVM start). No Spark-engine CPU-hours are "
                     "extrapolated from that.")
    lines.append("The fast engine on a cluster: variant ranges are independent, so K cluster jobs (`--chr`, "
                 "`--extract` shards; one job per node) cost the single-machine CPU-hours plus the fixed cost per "
                 f"job ({res['fits'].get('gwas linear', {}).get('coef', {}).get('fixed', float('nan')):.1f} CPU s "
                 "each, negligible): the same CPU-hours per phenotype as above, minus nothing for Spark.")
    lines += ["", "## Against published figures", "",
              f"- Neale lab, Hail, UK Biobank (~4,000 phenotypes, ~200,000 CPU-hours): **≈ {NEALE_CPU_H:.0f} CPU-hours "
              f"per phenotype**; projected edfgen: **{res['per_phenotype_linear']:.2f} (linear)** and "
              f"**{res['per_phenotype_ridge']:.2f} (ridge-loco)** CPU-hours per EDF, i.e. "
              f"{NEALE_CPU_H / max(res['per_phenotype_linear'], 1e-9):,.0f}× and "
              f"{NEALE_CPU_H / max(res['per_phenotype_ridge'], 1e-9):,.0f}× less. Not like for like: the Neale "
              "runs used a 2017–2018 Hail on binary and continuous traits over ~10M+ imputed variants; 128 EDFs "
              "sharing one genotype pass is the fast engine's best case.",
              f"- REGENIE v2.0.2 on UK Biobank (n = 400k, 469k step-1 SNPs, 11.4M step-2 variants), as benchmarked "
              f"by Jiang et al. 2021 (fastGWA-GLMM, Nat Genet 53:1616, Supplementary Table 6, quoted in "
              "github.com/rgcgithub/regenie/issues/208): 614 h for 50 traits, "
              f"**≈ {REGENIE_H} h per "
              "trait** (27.5 h for a single trait); REGENIE's own benchmark (Mbatchou et al. 2021, Nat Genet 53:1097, "
              "doi:10.1038/s41588-021-00870-7; rgcgithub.github.io/regenie/performance: 50 quantitative UK Biobank "
              "traits, 469,336 step-1 SNPs, 11.4M step-2 SNPs): 151× faster than BOLT-LMM in step 1, "
              "11.5× in step 2, 12.9 GB peak memory for the 50 traits. Ridge-loco projected here: "
              f"**{res['per_phenotype_ridge']:.2f} CPU-hours per EDF** at 128 EDFs.",
              "", "## Assumptions and limits", "",
              f"- Extrapolation: the largest measured products N·M are 1e10 (N = 100k × M = 100k, N = 10k × M = 1M); "
              f"the target is 5e12, 2.7 orders of magnitude beyond. The fitted models keep the measured per-entry "
              "costs constant: no cache or memory-bandwidth cliff is modelled (blocks are streamed, so the working "
              "set does not grow with M; it grows with N × P).",
              "- CPU-bound, 1 thread per core; hard-call genotypes with no missing calls and one missingness pattern "
              "of the phenotypes (more patterns cost more per-pattern products); no relatedness filtering, no plots.",
              f"- Ridge-loco: step 1 on {STEP1_M:,} array SNPs as REGENIE recommends (not on the 10M imputed "
              "variants), the auto-chosen block size; step 2 as measured with `--loco-predictions` relative to "
              "linear; only quantitative EDFs (no Firth).",
              "- Clump: synthetic GWAS-SSF with a fixed number of loci per EDF (independent of M), 64 EDFs per call, "
              "scaled linearly to 128; LD from the study genotypes (all N) or from a 10k reference panel.",
              "- Extract: the default checkpoint on CPU, 1 thread, 500k ECGs (one per participant); a GPU would "
              "change this component, not the genetics.",
              f"- Machine: shared 2-core VM with other jobs (load {min(c['load_1min'] for c in cases):.0f}–"
              f"{max(c['load_1min'] for c in cases):.0f}): CPU seconds inflate under contention "
              "(cache, memory bandwidth, hyper-threads), so the figures are upper bounds for a quiet machine."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
