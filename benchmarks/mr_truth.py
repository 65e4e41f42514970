"""Demo truth of MR over several simulation seeds, at reduced size: planted biomarker -> disease links
found, false positives among null pairs, with the demo's design (cohort GWAS of the biomarkers,
disease GWAS in a separate biobank without ECGs twice as large, instruments clumped, two-sample MR).

Per seed: ``edfgen simulate --no-ecg --biobank 2n`` (n = 2000 by default, 3 chromosomes x 5000 variants),
``edfgen gwas`` of the 9 physiology traits on the cohort and of the 8 diseases (logistic) on the biobank,
``edfgen clump`` of the trait GWAS, ``edfgen mr`` (instruments = clumps, re-clumped at r2 0.001 / 10 Mb
on the cohort panel). Scored with the report's rules (:func:`edfgen.report.score_truth` through
:func:`edfgen.report_mr.truth_summary`). The EDF route needs ECG extraction and is measured by the full
demo only (``truth_summary.json`` of ``make demo``).

Writes ``benchmarks/results/mr_truth.json`` and ``.md``. Usage: ``python benchmarks/mr_truth.py [--seeds 5] [--n 2000]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from edfgen.report_mr import truth_summary
from edfgen.simulate.truth import score_loci, score_mr_links

HERE = Path(__file__).resolve().parent


def edfgen(*args) -> None:
    subprocess.run([sys.executable, "-m", "edfgen", *map(str, args), "-q"], check=True, capture_output=True)


def one_seed(root: Path, seed: int, n: int, variants: int) -> dict:
    c = root / "cohort"
    edfgen("simulate", "--out", c, "--n", n, "--seed", seed, "--no-ecg", "--biobank", 2 * n, "--chromosomes", 3,
           "--variants-per-chromosome", variants)
    edfgen("gwas", "--bfile", c / "genotypes", "--pheno", c / "physiology.tsv", "--covar", c / "covariates.tsv",
           "--covar-cols", "age,sex,centre", "--out", root / "gwas_bio", "--no-plots")
    b = c / "biobank"
    edfgen("gwas", "--bfile", b / "genotypes", "--pheno", b / "outcomes.tsv", "--covar", b / "covariates.tsv",
           "--covar-cols", "age,sex,centre", "--binary", "--out", root / "gwas_out", "--no-plots")
    edfgen("clump", "--sumstats", root / "gwas_bio", "--bfile", c / "genotypes", "--out", root / "clump")
    edfgen("mr", "--exposure", root / "gwas_bio", "--outcome", root / "gwas_out", "--instruments",
           root / "clump" / "clumps.tsv", "--bfile", c / "genotypes", "--out", root / "mr", "--no-plots",
           "--nboot", 100, "--presso-sims", 0, "--seed", seed)
    truth = json.loads((c / "truth.json").read_text())
    loci = score_loci(pd.read_csv(root / "clump" / "clumps.tsv", sep="\t"), truth)
    mr = score_mr_links(pd.read_csv(root / "mr" / "mr_results.tsv", sep="\t"), truth)
    return {"seed": seed, **truth_summary(loci, mr, pd.DataFrame())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--variants", type=int, default=5000)
    args = ap.parse_args()
    rows, t0 = [], time.perf_counter()
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(one_seed(Path(tmp), seed, args.n, args.variants))
        print(json.dumps({k: rows[-1][k] for k in ("seed", "mr_links_detected_biomarker", "mr_links_planted",
                                                    "mr_false_positives", "mr_null_pairs")}), flush=True)
    per_link: dict[str, list[bool]] = {}
    for r in rows:
        for link in r["links"]:
            per_link.setdefault(f"{link['exposure']} -> {link['outcome']}", []).append(link["detected_biomarker"])
    fp, nulls = sum(r["mr_false_positives"] for r in rows), sum(r["mr_null_pairs"] for r in rows)
    res = {"seeds": args.seeds, "n_cohort": args.n, "n_biobank": 2 * args.n, "variants": 3 * args.variants,
           "seconds": round(time.perf_counter() - t0, 1),
           "links_detected_per_seed": [r["mr_links_detected_biomarker"] for r in rows],
           "links_planted_per_seed": [r["mr_links_planted"] for r in rows],
           "power_per_link": {k: sum(v) / len(v) for k, v in per_link.items()},
           "false_positives": fp, "null_pairs": nulls, "false_positive_rate": fp / nulls if nulls else None,
           "loci_recovered_per_seed": [f"{r['loci_recovered']}/{r['loci_planted']}" for r in rows],
           "loci_false_per_seed": [r["loci_false"] for r in rows], "per_seed": rows}
    out = HERE / "results"
    (out / "mr_truth.json").write_text(json.dumps(res, indent=1) + "\n")
    md = [f"# MR demo truth over {args.seeds} seeds (reduced size)", "",
          f"Cohort {args.n} with biomarkers, biobank {2 * args.n} without ECGs (disease GWAS), "
          f"{3 * args.variants} variants; biomarker -> disease MR, Bonferroni over the pairs tested. "
          f"{res['seconds']} s.", "",
          "| seed | links found | null pairs significant | loci recovered | false loci |", "|---|---|---|---|---|"]
    md += [f"| {r['seed']} | {r['mr_links_detected_biomarker']}/{r['mr_links_planted']} | "
           f"{r['mr_false_positives']}/{r['mr_null_pairs']} | {r['loci_recovered']}/{r['loci_planted']} | "
           f"{r['loci_false']} |" for r in rows]
    md += ["", "Power per planted link: " + ", ".join(f"{k} {v:.2f}" for k, v in res["power_per_link"].items()),
           f"False-positive rate among null pairs: {fp}/{nulls} = {res['false_positive_rate']:.3f}", ""]
    (out / "mr_truth.md").write_text("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
