"""Speed of ``edfgen gwas --binary --logistic-test firth-fallback`` when many variant x phenotype pairs are
refitted by Firth, against ``plink2 --glm firth-fallback`` and ``plink2 --glm firth`` on the same files (s35e).

The case: N samples, M variants (half of them rare, MAF 0.2-2 %: separation and one-carrier fits), 8 diseases
with case rates 5-10 %, covariates age and sex; ``--firth-threshold 0.5`` so that every other pair is refitted.
Runs are interleaved (plink2 firth-fallback, plink2 firth, then each edfgen tree), ``repeats`` times; medians
of wall and CPU seconds (user + sys of the child, ``/usr/bin/time -v``) and the 1-min load average are kept.
With ``--baseline`` (another edfgen package tree, e.g. ``git worktree add /tmp/base HEAD~1``), the Firth rows of
both trees' kernels are also compared in full precision (``--compare``: beta, SE and p of every refitted pair).

Usage::

    python benchmarks/firth_speed.py --work /tmp/firth_speed [--n 2000 --m 3000 --repeats 3 --baseline /tmp/base]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from _measure import timed  # noqa: E402
from gwas_small import bytecode_env, commit_of, edfgen_cmd, median_of  # noqa: E402

DISEASES = 8


def make_case(work: Path, n: int, m: int, seed: int = 35) -> None:
    """``g.bed`` (hard calls, no missing values; half the variants rare), ``oc.tsv``/``oc.p2`` (8 diseases,
    5-10 % cases, one with missing values, effects on variants 0-3) and ``cv.tsv``/``cv.p2`` (age, sex)."""
    from bed_reader import to_bed

    if (work / "g.bed").exists():
        return
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    f = np.r_[rng.uniform(0.05, 0.5, m - m // 2), rng.uniform(0.002, 0.02, m // 2)]
    G = rng.binomial(2, rng.permutation(f), (n, m)).astype(np.float32)
    iid = np.array([f"S{i:05d}" for i in range(n)])
    to_bed(work / "g.bed", G, count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": [f"v{i}" for i in range(m)], "chromosome": np.repeat(["1", "2"], [m // 2, m - m // 2]),
        "bp_position": np.r_[np.arange(1, m // 2 + 1), np.arange(1, m - m // 2 + 1)] * 1000,
        "allele_1": np.full(m, "A"), "allele_2": np.full(m, "G")})
    age, sex = rng.normal(50, 10, n), rng.integers(0, 2, n)
    rate = np.linspace(0.05, 0.10, DISEASES)
    lin = (np.log(rate / (1 - rate))[None, :] + 0.4 * G[:, [j % 4 for j in range(DISEASES)]]
           + 0.02 * (age - 50)[:, None] + 0.3 * sex[:, None])
    Y = (rng.random((n, DISEASES)) < 1 / (1 + np.exp(-lin))).astype(float)
    Y[rng.random(n) < 0.05, 1] = np.nan
    names = [f"d{j + 1}" for j in range(DISEASES)]
    oc = pd.DataFrame({"IID": iid, **dict(zip(names, Y.T))})
    oc.to_csv(work / "oc.tsv", sep="\t", index=False, na_rep="NA")
    p2 = oc.copy()
    p2[names] = p2[names] + 1                                  # plink2: 1 control, 2 case
    p2.insert(0, "#FID", iid)
    p2.to_csv(work / "oc.p2", sep="\t", index=False, na_rep="NA", float_format="%.0f")
    cv = pd.DataFrame({"IID": iid, "age": age, "sex": sex})
    cv.to_csv(work / "cv.tsv", sep="\t", index=False)
    cv.insert(0, "#FID", iid)
    cv.to_csv(work / "cv.p2", sep="\t", index=False)


#: run in a child with a tree first on sys.path: the Wald test and the Firth fallback of the case, saved to npz
KERNEL = """
import sys, time
sys.path.insert(0, {tree!r})
import numpy as np, pandas as pd
from bed_reader import open_bed
from edfgen.kernels.logistic import prepare_logistic, logistic_association
from edfgen.kernels.firth import firth_fallback
w = {work!r}
G = open_bed(w + "/g.bed").read(dtype="float64")
oc, cv = pd.read_csv(w + "/oc.tsv", sep="\\t"), pd.read_csv(w + "/cv.tsv", sep="\\t")
C = np.column_stack([np.ones(len(cv)), cv["age"], cv["sex"]])
prep = prepare_logistic(oc.iloc[:, 1:].to_numpy(float), C)
res = logistic_association(G, prep)
t0 = time.process_time()
out = firth_fallback(G, prep, res, {threshold!r})
print(time.process_time() - t0)
np.savez({npz!r}, beta=out.beta, se=out.standard_error, p=out.p_value, firth=out.firth, converged=out.converged)
"""


def compare_kernels(work: Path, trees: dict, threshold: float, env: dict) -> dict:
    """Each tree's :func:`firth_fallback` on the case in a child; the largest relative differences of the
    refitted rows' beta, SE and p to the first tree's, the number of refitted rows and each tree's CPU s.
    ``se_chi2_above_1e-6``: SE's among the rows with ``χ² >= 1e-6`` (``SE = |β| / sqrt(χ²)`` is ill-conditioned
    as ``χ² = 2 (ℓ1 - ℓ0) -> 0``: ``ℓ`` ~ -500 holds 1e-13 of rounding); ``chi2_abs``: the largest ``|Δχ²|``."""
    got, cpu = {}, {}
    for name, tree in trees.items():
        npz = work / f"kernel_{name}.npz"
        code = KERNEL.format(tree=str(tree or REPO), work=str(work), threshold=threshold, npz=str(npz))
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        cpu[name] = round(float(proc.stdout.split()[-1]), 2)
        got[name] = np.load(npz)
    ref = got[next(iter(trees))]
    out = {"refitted": int(ref["firth"].sum()), "firth_cpu_s": cpu}
    for name, g in got.items():
        assert (g["firth"] == ref["firth"]).all() and (g["converged"] == ref["converged"]).all(), name
        rows = ref["firth"] & ref["converged"]
        rel = {k: np.abs(g[k][rows] - ref[k][rows]) / np.maximum(np.abs(ref[k][rows]), 1e-300)
               for k in ("beta", "se", "p")}
        chi2 = {t: (z["beta"][rows] / z["se"][rows]) ** 2 for t, z in (("ref", ref), ("got", g))}
        out[name] = {**{k: float(v.max()) for k, v in rel.items()},
                     "se_chi2_above_1e-6": float(rel["se"][chi2["ref"] >= 1e-6].max()),
                     "chi2_abs": float(np.nanmax(np.abs(chi2["got"] - chi2["ref"])))}
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--m", type=int, default=3000)
    ap.add_argument("--threshold", type=float, default=0.5, help="edfgen --firth-threshold")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline", default=None, help="another edfgen package tree timed in the same runs")
    ap.add_argument("--skip-plink2-firth", action="store_true", help="leave out plink2 --glm firth")
    ap.add_argument("--work", default="/tmp/edfgen-firth-speed")
    ap.add_argument("--out", default=None, help="JSON of the results (default: print only)")
    a = ap.parse_args(argv)
    work = Path(a.work) / f"n{a.n}_m{a.m}"
    make_case(work, a.n, a.m)
    env = bytecode_env(a.work, a.threads, str(REPO))
    trees = {"edfgen": None, **({"baseline": Path(a.baseline)} if a.baseline else {})}
    for tree in trees.values():  # compile the bytecode once (as an installed package has it)
        subprocess.run([*edfgen_cmd(tree), "gwas", "--help"], env=env, capture_output=True, check=True)
    p2 = ["--bfile", str(work / "g"), "--pheno", str(work / "oc.p2"), "--covar", str(work / "cv.p2"),
          "--threads", str(a.threads), "--memory", "4000", "--silent"]
    e = ["gwas", "-q", "--bfile", str(work / "g"), "--pheno", str(work / "oc.tsv"), "--covar", str(work / "cv.tsv"),
         "--covariates", "age,sex", "--binary", "--logistic-test", "firth-fallback", "--firth-threshold",
         str(a.threshold), "--maf", "0", "--call-rate", "0", "--hwe", "0", "--sample-call-rate", "0", "--no-plots",
         "--threads", str(a.threads), "--force"]
    tools = {"plink2_fallback": lambda out: ["plink2", *p2, "--glm", "firth-fallback", "hide-covar", "--out", out]}
    if not a.skip_plink2_firth:
        tools["plink2_firth"] = lambda out: ["plink2", *p2, "--glm", "firth", "hide-covar", "--out", out]
    for name, tree in trees.items():
        tools[name] = (lambda t: lambda out: [*edfgen_cmd(t), *e, "--out", out])(tree)
    runs = {k: [] for k in tools}
    loads = []
    for _ in range(a.repeats):
        for name, cmd in tools.items():
            out = work / "runs" / name
            shutil.rmtree(out, ignore_errors=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            runs[name].append(timed(cmd(str(out) if name in trees else str(out))))
            loads.append(os.getloadavg()[0])
    row = {k: {m: median_of(v, f"{m}_s") for m in ("wall", "cpu")} for k, v in runs.items()}
    for name in trees:
        for ref in [k for k in tools if k.startswith("plink2")]:
            row[name][f"wall_ratio_{ref}"] = round(row[name]["wall"] / row[ref]["wall"], 2)
            row[name][f"cpu_ratio_{ref}"] = round(row[name]["cpu"] / row[ref]["cpu"], 2)
    summary = pd.read_csv(work / "runs" / "edfgen" / "gwas_summary.tsv", sep="\t")
    result = dict(n=a.n, m=a.m, diseases=DISEASES, threshold=a.threshold, threads=a.threads, repeats=a.repeats,
                  commit=commit_of(REPO), baseline=a.baseline and commit_of(Path(a.baseline)),
                  n_firth=int(summary["n_firth"].sum()), times=row,
                  load_1min=[round(x, 1) for x in (min(loads), float(np.median(loads)), max(loads))])
    if a.baseline:
        result["kernel"] = compare_kernels(work, {"baseline": Path(a.baseline), "edfgen": None}, a.threshold,
                                           bytecode_env(a.work, a.threads, str(REPO)))
    text = json.dumps(result, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return result


if __name__ == "__main__":
    main()
