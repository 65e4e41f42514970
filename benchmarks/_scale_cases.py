"""Cases of :mod:`scale` (issue 23 item 5): the inputs (tiled PLINK .bed, phenotype/covariate tables, synthetic
GWAS-SSF for clump, simulated ECGs), the measurement of one child command (CPU of the whole process tree, peak
RSS, wall) and the runs per tool (``run_gwas``, ``run_ridge``, ``run_step2``, ``run_clump``, ``run_extract``,
``run_bgen``, ``run_hail``). See :mod:`scale`'s docstring for what is measured and why.
"""

from __future__ import annotations

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
        if self.a.stop_at and time.strftime("%H:%M", time.gmtime()) >= self.a.stop_at:
            print(key, f"not started: past --stop-at {self.a.stop_at} UTC", flush=True)
            return dict(status="not started")
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
#: with ``--ridge-p256``: the P axis's third size (issue 23 item 5: phenotypes 8/64/256)
RIDGE_P256 = ("p", 10_000, 100_000, 256)


def run_ridge(r: Runner) -> None:
    """ridge-loco at :data:`RIDGE_POINTS` (the most informative first: the N axis at M = 20k)."""
    r.store.setdefault("ridge_kernel_rates", ridge_kernel_rates())
    for axis, n, m, p in RIDGE_POINTS + ([RIDGE_P256] if r.a.ridge_p256 else []):
        if r.a.cases and f"{n},{m},{p}" not in r.a.cases:
            continue
        tag = f"gwas_ridge-loco_n{n}_m{m}_p{p}"
        r.case(tag, gwas_cmd(r.bfile(n, m), r.tables(n, p), p, r.work / f"out_{tag}", "ridge-loco"), tool="gwas",
               model="ridge-loco", axis=axis, n=n, m=m, p=p)
    for _, n, m, p in RIDGE_POINTS[:len(AXES["n"])]:    # linear beside ridge-loco's N axis (M = RIDGE_N_M)
        if r.a.cases and f"{n},{m},{p}" not in r.a.cases:
            continue
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


#: the Spark engine's points (its base case N = 10k x M = 100k x P = 8 did not finish in 2,400 s wall on the shared
#: machine): N 2k/5k/10k/20k at M = 20k, M 10k/20k/50k/100k at N = 5k, P 1/8/64 at N = 5k x M = 20k, N = 1k x M = 2k
HAIL_POINTS = [("n", 2_000, 20_000, 8), ("m", 5_000, 10_000, 8), ("m", 5_000, 20_000, 8), ("p", 5_000, 20_000, 1),
               ("n", 10_000, 20_000, 8), ("m", 5_000, 50_000, 8), ("p", 5_000, 20_000, 64),
               # after the first seven: a tiny run (its CPU is nearly all fixed cost: JVM, Spark, Hail start) to pin
               # the intercept, then M = 100k at N = 5k and N = 20k at M = 20k to take the per-entry terms further from it
               ("fixed", 1_000, 2_000, 8), ("m", 5_000, 100_000, 8), ("n", 20_000, 20_000, 8),
               # P = 64 at a second N: tells a per-phenotype cost per variant (M P) from one per entry (N M P)
               ("cross", 10_000, 20_000, 64)]


def run_hail(r: Runner) -> None:
    """``gwas --engine hail`` (Spark local[1], linear) at :data:`HAIL_POINTS`, and the fast engine beside each
    point (the same command without ``--engine hail``) for the ratio."""
    for axis, n, m, p in HAIL_POINTS:
        if r.a.cases and f"{n},{m},{p}" not in r.a.cases:
            continue
        common = gwas_cmd(r.bfile(n, m), r.tables(n, p), p, r.work / "out_hail", "linear")
        r.case(f"gwas_linear-hail_n{n}_m{m}_p{p}",
               [*common, "--engine", "hail", "--spark-master", "local[1]", "--driver-memory", "6g",
                "--tmp-dir", str(r.work / "hail_tmp")], tool="gwas", model="linear-hail", axis=f"hail {axis}",
               n=n, m=m, p=p)
    for axis, n, m, p in HAIL_POINTS:    # the fast engine at the same points (cheap)
        if r.a.cases and f"{n},{m},{p}" not in r.a.cases:
            continue
        tag = f"gwas_linear_n{n}_m{m}_p{p}"
        r.case(tag, gwas_cmd(r.bfile(n, m), r.tables(n, p), p, r.work / f"out_{tag}", "linear"), tool="gwas",
               model="linear", axis=f"beside hail {axis}", n=n, m=m, p=p)


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
