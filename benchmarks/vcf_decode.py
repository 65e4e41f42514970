"""VCF/BCF decoding (edfgen.formats.genotypes.vcf, cyvcf2) against the .bed/.pgen readers and plink2 --vcf.

Data: ``plink2 --dummy N M`` dosages (2 % missing), exported by plink2 as a bgzipped VCF with DS
(tabix-indexed), a BCF with DS, a GT-only VCF and a .bed. Timed, each in its own child process,
alternating edfgen and plink2, ``--reps`` times (the minimum is reported):

* decoding every variant into float32 [N x 4096] blocks (``reader.blocks``), per format;
* ``plink2 --vcf FILE [dosage=DS] --make-pgen`` (plink2's own import: parse + write a .pgen);
* ``edfgen gwas --vcf`` vs ``plink2 --vcf ... --glm`` on one phenotype, and their agreement.

Run: ``python benchmarks/vcf_decode.py [--n 2000 --m 10000]`` -> ``results/vcf_decode.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _measure import timed  # noqa: E402

HERE = Path(__file__).parent
DECODE = """
import sys, time, numpy as np
from edfgen.formats.genotypes import GenotypeSource, open_genotypes
kind, path = sys.argv[1], sys.argv[2]
t0 = time.process_time()
r = open_genotypes(GenotypeSource(**{kind: path}))
t1 = time.process_time()
s = 0.0
for _, b in r.blocks(None, None, block=4096):
    s += float(np.nansum(b[:, :1]))
print(f"{t1 - t0:.3f} {time.process_time() - t1:.3f}")
"""


def plink2(*args, cwd: Path) -> None:
    subprocess.run(["plink2", "--threads", "1", *map(str, args)], cwd=cwd, check=True, capture_output=True)


def make_data(d: Path, n: int, m: int) -> None:
    import pysam

    d.mkdir(parents=True, exist_ok=True)
    if (d / "gt.vcf.gz").exists():
        return
    plink2("--dummy", n, m, "0.02", "acgt", "dosage-freq=0.4", "--seed", 5, "--make-pgen", "--out", "raw", cwd=d)
    pvar = pd.read_csv(d / "raw.pvar", sep="\t")
    pvar["#CHROM"] = np.where(np.arange(m) < m // 2, "1", "2")
    pvar["POS"] = 10_000 + np.arange(m) * 100
    pvar["ID"] = [f"rs{i + 1}" for i in range(m)]
    pvar.to_csv(d / "raw.pvar", sep="\t", index=False)
    plink2("--pfile", "raw", "--export", "vcf", "bgz", "vcf-dosage=DS", "--out", "ds", cwd=d)
    pysam.tabix_index(str(d / "ds.vcf.gz"), preset="vcf", force=True)
    plink2("--pfile", "raw", "--export", "bcf", "vcf-dosage=DS", "--out", "ds", cwd=d)
    plink2("--pfile", "raw", "--export", "vcf", "bgz", "--out", "gt", cwd=d)
    plink2("--pfile", "raw", "--make-bed", "--out", "hard", cwd=d)
    rng = np.random.default_rng(1)
    iid = pd.read_csv(d / "raw.psam", sep="\t")["#IID"]
    pd.DataFrame({"IID": iid, "y": rng.normal(size=n)}).to_csv(d / "pheno.tsv", sep="\t", index=False)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--m", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--work", type=Path, default=Path("/tmp/edfgen-bench-vcf"))
    a = ap.parse_args(argv)
    d = a.work / f"n{a.n}_m{a.m}"
    make_data(d, a.n, a.m)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    py = sys.executable
    edfgen = str(Path(py).parent / "edfgen")
    jobs = {
        "decode vcf.gz DS (edfgen)": [py, "-c", DECODE, "vcf", str(d / "ds.vcf.gz")],
        "decode vcf.gz GT (edfgen)": [py, "-c", DECODE, "vcf", str(d / "gt.vcf.gz")],
        "decode bcf DS (edfgen)": [py, "-c", DECODE, "vcf", str(d / "ds.bcf")],
        "decode .bed (edfgen)": [py, "-c", DECODE, "bfile", str(d / "hard")],
        "decode .pgen (edfgen)": [py, "-c", DECODE, "pfile", str(d / "raw")],
        "import vcf.gz DS (plink2 --make-pgen)": ["plink2", "--threads", "1", "--vcf", str(d / "ds.vcf.gz"),
                                                  "dosage=DS", "--make-pgen", "--out", str(d / "p2ds")],
        "import vcf.gz GT (plink2 --make-pgen)": ["plink2", "--threads", "1", "--vcf", str(d / "gt.vcf.gz"),
                                                  "--make-pgen", "--out", str(d / "p2gt")],
        "import bcf DS (plink2 --make-pgen)": ["plink2", "--threads", "1", "--bcf", str(d / "ds.bcf"),
                                               "dosage=DS", "--make-pgen", "--out", str(d / "p2bcf")],
        "gwas vcf.gz DS (edfgen --threads 1)": [edfgen, "gwas", "-q", "--vcf", str(d / "ds.vcf.gz"), "--pheno",
                                                str(d / "pheno.tsv"), "--transform", "none", "--missing-genotypes",
                                                "drop", "--maf", "0", "--call-rate", "0", "--hwe", "0",
                                                "--sample-call-rate", "0", "--no-plots", "--threads", "1", "--force",
                                                "--out", str(d / "edf_gwas")],
        "gwas vcf.gz DS (plink2 --glm)": ["plink2", "--threads", "1", "--vcf", str(d / "ds.vcf.gz"), "dosage=DS",
                                          "--pheno", str(d / "pheno.tsv"), "--glm", "allow-no-covars", "omit-ref",
                                          "--out", str(d / "p2glm")],
    }
    res: dict[str, list] = {k: [] for k in jobs}
    loads = []
    for _ in range(a.reps):
        for k, cmd in jobs.items():      # alternating edfgen and plink2 within each repetition
            res[k].append(timed(cmd, env=env))
            loads.append(os.getloadavg()[0])
    best = {k: min(v, key=lambda r: r["wall_s"]) for k, v in res.items()}
    for k, v in res.items():   # decode jobs print the CPU s of opening (site scan) and of decoding
        if k.startswith("decode"):
            best[k]["open_cpu_s"] = min(float(r["stdout_tail"][0].split()[0]) for r in v)
            best[k]["decode_cpu_s"] = min(float(r["stdout_tail"][0].split()[1]) for r in v)
    e = pd.read_csv(d / "edf_gwas" / "y.tsv.gz", sep="\t")
    p = pd.read_csv(d / "p2glm.y.glm.linear", sep="\t")
    mm = e.merge(p, left_on="variant_id", right_on="ID")
    agree = {"variants": int(len(mm)), "of_edfgen": int(len(e)), "of_plink2": int(len(p)),
             "max_dbeta_over_se": float((np.abs(mm["beta"] - mm["BETA"]) / mm["SE"]).max()),
             "max_rel_dse": float((np.abs(mm["standard_error"] - mm["SE"]) / mm["SE"]).max()),
             "max_dlog10p": float(np.abs(np.log10(mm["p_value"]) - np.log10(mm["P"])).max()),
             "n_equal": bool((mm["n"] == mm["OBS_CT"]).all())}
    out = {"n": a.n, "m": a.m, "reps": a.reps, "load_avg_1min": [round(x, 2) for x in loads],
           "best": {k: {kk: v[kk] for kk in ("wall_s", "cpu_s", "peak_rss_mib", "open_cpu_s", "decode_cpu_s")
                        if kk in v} for k, v in best.items()},
           "agreement_gwas_vs_plink2": agree,
           "file_bytes": {f: (d / f).stat().st_size for f in ("ds.vcf.gz", "gt.vcf.gz", "ds.bcf", "hard.bed",
                                                              "raw.pgen")}}
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "vcf_decode.json").write_text(json.dumps(out, indent=2))
    scale = 10_000 / a.m * 2000 / a.n
    lines = [f"# VCF/BCF decoding, N = {a.n}, M = {a.m} (best of {a.reps}, alternating; load average "
             f"{min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores)", "",
             "| job | wall s | CPU s (process) | of which open / decode CPU s | decode CPU s per 10k variants x 2000 "
             "samples | peak RSS MiB |", "|---|---|---|---|---|---|"]
    for k, v in best.items():
        parts = f"{v['open_cpu_s']} / {v['decode_cpu_s']}" if "decode_cpu_s" in v else "-"
        per = f"{v['decode_cpu_s'] * scale:.2f}" if "decode_cpu_s" in v else f"({v['cpu_s'] * scale:.2f} whole job)"
        lines.append(f"| {k} | {v['wall_s']} | {v['cpu_s']} | {parts} | {per} | {v['peak_rss_mib']} |")
    lines += ["", f"edfgen gwas --vcf vs plink2 --vcf dosage=DS --glm: {agree}"]
    (HERE / "results" / "vcf_decode.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return out


if __name__ == "__main__":
    main()
