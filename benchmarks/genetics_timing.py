"""Wall time of ``edfgen ldsc`` (in-sample LD scores, h², rg), ``edfgen finemap`` and ``edfgen coloc`` on a simulated
cohort (default N = 10,000, 5 x 20,000 = 100k variants), plus the LDSC intercepts found.

The 9 physiology traits are the phenotypes (ldsc --rg over all pairs; finemap of every clumped locus; coloc of
every locus of heart_rate_bpm, qt_interval_ms, pr_interval_ms with the other six traits as outcomes).

Usage: ``python benchmarks/genetics_timing.py --n 10000 --chromosomes 5 --variants 20000 --work DIR``
-> ``results/genetics_timing.json`` + ``.md``.

``--rg-demo DIR`` (an ``edfgen demo`` output folder: its gwas, gwas_outcomes, gwas_biomarkers and ldsc/ldscores)
instead measures ``ldsc --rg``'s pairs/s on the demo's 145 phenotypes: the per-pair code of ``--before REV``
(``git show REV:edfgen/commands/ldsc.py``) against this tree's vectorised one on the same phenotypes (max
differences), this tree on all 10,440 pairs and on the 2,248 ``--rg-across`` pairs, and the whole ``edfgen ldsc``
stage as the demo runs it (in-sample LD scores, h², rg) with and without ``--rg-across``; its rg.tsv is compared
with the demo's own (written by the code of that run) -> ``results/ldsc_rg_rate.json`` + ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from _measure import cohort_arguments, run_edfgen, simulated_gwas, write_results  # noqa: E402



def edfgen(*args: str) -> dict:
    """``python -m edfgen ARGS`` of this tree, measured (:func:`_measure.timed`)."""
    return run_edfgen(*args, measure=True)


def _before_module(rev: str):
    """``edfgen/commands/ldsc.py`` as it was at ``rev`` (the per-pair rg path), as a module."""
    import importlib.util

    src = subprocess.run(["git", "show", f"{rev}:edfgen/commands/ldsc.py"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    mod = importlib.util.module_from_spec(importlib.util.spec_from_loader("ldsc_before", loader=None))
    sys.modules["ldsc_before"] = mod
    exec(compile(src, f"{rev}:edfgen/commands/ldsc.py", "exec"), mod.__dict__)
    return mod


def _max_diff(a: pd.DataFrame, b: pd.DataFrame) -> dict:
    """Largest absolute and relative differences of the rg columns of two rg tables of the same pairs."""
    import numpy as np

    keys = ["phenotype_1", "phenotype_2"]
    m = a.merge(b, on=keys, suffixes=("_a", "_b"))
    assert len(m) == len(a) == len(b), (len(m), len(a), len(b))
    out = {}
    for c in ("rg", "rg_se", "z", "p_value", "gcov_int"):
        x, y = m[c + "_a"].to_numpy(float), m[c + "_b"].to_numpy(float)
        out[c] = {"abs": float(np.nanmax(np.abs(x - y), initial=0)),
                  "rel": float(np.nanmax(np.abs(x - y) / np.maximum(np.abs(x), 1e-300), initial=0)),
                  "na_mismatch": int((np.isnan(x) != np.isnan(y)).sum())}
    return out


def rg_rate(demo: Path, before: str, subset: int, work: Path) -> None:
    """``--rg-demo``: pairs/s of the per-pair (``before``) and vectorised rg, and the whole ldsc stage."""
    from edfgen.commands.ldsc import genetic_correlations, input_groups
    from edfgen.formats.ldscore import read_ldscores_chr
    from edfgen.formats.sumstats.zscores import read_zstats

    inputs = [demo / d for d in ("gwas", "gwas_outcomes", "gwas_biomarkers")]
    zs = read_zstats(inputs, need_n=True)
    ld, m = read_ldscores_chr(str(demo / "ldsc" / "ldscores") + "/")
    ld["W"] = ld["L2"]
    ld = ld.drop_duplicates("SNP", keep=False).reset_index(drop=True)
    groups = input_groups(inputs, zs)
    sub = dict(list(zs.items())[:subset])
    old = _before_module(before)
    res = {"demo": str(demo), "before_rev": before, "phenotypes": len(zs), "ld_variants": len(ld),
           "subset_phenotypes": subset, "runs": {}, "load_avg_start": os.getloadavg()}

    def timed_rg(label, fn, zz, **kw):
        t0, c0 = time.perf_counter(), time.process_time()
        t = fn(zz, ld, m, **kw)
        sec, cpu = time.perf_counter() - t0, time.process_time() - c0
        res["runs"][label] = {"pairs": len(t), "seconds": round(sec, 2), "pairs_per_s": round(len(t) / sec, 1),
                              "cpu_s": round(cpu, 2), "pairs_per_cpu_s": round(len(t) / cpu, 1),
                              "load_avg": os.getloadavg()[0]}
        print(label, res["runs"][label], flush=True)
        return t

    t_old = timed_rg("before: per-pair, subset", old.genetic_correlations, sub)
    t_new = timed_rg("after: vectorised, subset", genetic_correlations, sub)
    res["subset_max_diff"] = _max_diff(t_old, t_new)
    timed_rg("after: vectorised, all pairs", genetic_correlations, zs)
    across = timed_rg("after: vectorised, --rg-across pairs", genetic_correlations, zs, groups=groups)
    # the whole stage as the demo runs it (this tree), with and without --rg-across
    stage = [*[str(d) for d in inputs], "--bfile", str(demo / "cohort" / "genotypes"), "--rg"]
    res["stage"] = {"rg_across": edfgen("ldsc", "--sumstats", *stage, "--rg-across", "--out", str(work / "across"),
                                        "--force"),
                    "all_pairs": edfgen("ldsc", "--sumstats", *stage, "--out", str(work / "all"), "--force")}
    stored = pd.read_csv(demo / "ldsc" / "rg.tsv", sep="\t")
    res["stage_vs_demo_rg_tsv"] = _max_diff(stored, pd.read_csv(work / "across" / "rg.tsv", sep="\t"))
    res["in_process_vs_demo_rg_tsv"] = _max_diff(stored, across)
    state = json.loads((demo / "pipeline_state.json").read_text())
    res["demo_ldsc_stage_seconds_recorded"] = state.get("ldsc", {}).get("seconds")
    res["load_avg_end"] = os.getloadavg()
    r, d = res["runs"], res["subset_max_diff"]
    md = [f"# ldsc --rg pairs/s on the demo's {len(zs)} phenotypes ({len(ld):,} LD-score variants)\n",
          f"Demo folder {demo}; before = `{before}` (per-pair pandas merge + allele match + 3 fits per pair), after = "
          f"this tree (z-scores aligned once, h² once per phenotype, gencov fits batched). Load average "
          f"{res['load_avg_start'][0]:.1f} at the start, {res['load_avg_end'][0]:.1f} at the end (2 cores shared).\n",
          "| run | pairs | wall s | pairs/s (wall) | CPU s | pairs per CPU s |", "|---|---|---|---|---|---|",
          *[f"| {k} | {v['pairs']:,} | {v['seconds']} | {v['pairs_per_s']} | {v['cpu_s']} | {v['pairs_per_cpu_s']} |"
            for k, v in r.items()], "",
          f"Subset ({subset} phenotypes), after vs before, max relative difference: "
          + ", ".join(f"{c} {v['rel']:.1e}" for c, v in d.items())
          + f"; NA mismatches {sum(v['na_mismatch'] for v in d.values())}.\n",
          "Whole `edfgen ldsc` stage as in the demo (in-sample LD scores, h² of all, rg), this tree:\n",
          "| stage | wall s | CPU s | peak RSS MiB |", "|---|---|---|---|",
          *[f"| {k} | {v['wall_s']} | {v['cpu_s']} | {v['peak_rss_mib']} |" for k, v in res["stage"].items()], "",
          f"The demo's recorded ldsc stage (before, --rg-across): {res['demo_ldsc_stage_seconds_recorded']} s.",
          "rg.tsv of --rg-across vs the demo's own (6 significant digits written): max relative difference "
          + ", ".join(f"{c} {v['rel']:.1e}" for c, v in res["stage_vs_demo_rg_tsv"].items()) + "."]
    write_results("ldsc_rg_rate", res, md)


def main() -> None:
    ap = cohort_arguments(argparse.ArgumentParser(), n=10000, seed=5, chromosomes=5, variants=20000)
    ap.add_argument("--rg-demo", default=None, help="an edfgen demo output folder: measure ldsc --rg pairs/s there")
    ap.add_argument("--before", default="3ccee39", help="git revision of the per-pair rg code (--rg-demo)")
    ap.add_argument("--subset", type=int, default=25, help="phenotypes the per-pair code is timed on (--rg-demo)")
    a = ap.parse_args()
    if a.rg_demo:
        rg_rate(Path(a.rg_demo), a.before, a.subset, Path(a.work or tempfile.mkdtemp(prefix="ldsc_rg_rate_")))
        return
    work, cohort = simulated_gwas(a, "genetics_timing_")
    geno = str(cohort / "genotypes")
    if not (work / "clump" / "manifest.json").exists():
        edfgen("clump", "--sumstats", str(work / "gwas"), "--bfile", geno, "--out", str(work / "clump"))
    times = {}
    times["ldsc_insample_h2_rg"] = edfgen("ldsc", "--sumstats", str(work / "gwas"), "--bfile", geno, "--ld-wind-kb", "1000",
                                          "--rg", "--out", str(work / "ldsc"), "--force")
    times["finemap"] = edfgen("finemap", "--loci", str(work / "clump" / "loci.tsv"), "--sumstats", str(work / "gwas"),
                              "--bfile", geno, "--out", str(work / "finemap"), "--force")
    ex = [str(work / "gwas" / f"{t}.tsv.gz") for t in ("heart_rate_bpm", "qt_interval_ms", "pr_interval_ms")]
    oc = [str(p) for p in sorted((work / "gwas").glob("*.tsv.gz")) if str(p) not in ex]
    times["coloc"] = edfgen("coloc", *[x for e in ex for x in ("--exposure", e)], *[x for o in oc for x in ("--outcome", o)],
                            "--loci", str(work / "clump" / "loci.tsv"), "--bfile", geno, "--out", str(work / "coloc"),
                            "--force")
    h2 = pd.read_csv(work / "ldsc" / "h2.tsv", sep="\t")
    truth = json.loads((cohort / "truth.json").read_text())
    h2["planted"] = [truth["heritability"][p]["total"] for p in h2["phenotype"]]
    h2["within_2se"] = (h2["h2"] - h2["planted"]).abs() <= 2 * h2["h2_se"]
    loci = pd.read_csv(work / "clump" / "loci.tsv", sep="\t")
    fm = pd.read_csv(work / "finemap" / "ld_check.tsv", sep="\t")
    co = pd.read_csv(work / "coloc" / "coloc.tsv", sep="\t")
    res = {"n": a.n, "variants": a.chromosomes * a.variants, "loci": len(loci), "finemap_regions": len(fm),
           "coloc_rows": len(co), "times": times, "h2": h2.to_dict("records"),
           "intercept_median": float(h2["intercept"].median()), "load_avg": os.getloadavg()}
    md = [f"# ldsc / finemap / coloc times, N = {a.n:,}, {res['variants']:,} variants (load {os.getloadavg()[0]:.1f})\n",
          "| command | wall s | CPU s | peak RSS MiB | work |", "|---|---|---|---|---|",
          f"| ldsc (in-sample LD scores, 1000 kb; h² of 9 traits; rg of 36 pairs) | {times['ldsc_insample_h2_rg']['wall_s']} | "
          f"{times['ldsc_insample_h2_rg']['cpu_s']} | {times['ldsc_insample_h2_rg']['peak_rss_mib']} | {res['variants']:,} LD scores |",
          f"| finemap (SuSiE L = 10, ± 500 kb) | {times['finemap']['wall_s']} | {times['finemap']['cpu_s']} | "
          f"{times['finemap']['peak_rss_mib']} | {len(fm)} regions |",
          f"| coloc (ABF + coloc-SuSiE) | {times['coloc']['wall_s']} | {times['coloc']['cpu_s']} | "
          f"{times['coloc']['peak_rss_mib']} | {len(co)} rows |", "",
          f"LDSC intercepts: median {res['intercept_median']:.3f}; h² within 2 SE of planted: "
          f"{int(h2['within_2se'].sum())}/{len(h2)}\n", h2.round(4).to_markdown(index=False)]
    write_results("genetics_timing", res, md)


if __name__ == "__main__":
    main()
