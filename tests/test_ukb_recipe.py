"""The UK Biobank recipe (``examples/ukb.toml``) end to end on a UKB-shaped fixture made from a small
simulated cohort: field-20205 CardioSoft XML ECGs named ``<eid>_20205_2_0.xml``, per-chromosome GRCh37
BGEN files written by plink2 (``--export bgen-1.2 bits=8``) with their ``.sample``, ``eid`` tables
without PCs (so the pca stage runs and adds PC1..PC10 to the GWAS), ``eid``-keyed ECG measures and
diseases (``[inputs] biomarkers``/``outcomes``), and a FinnGen-layout outcome file with its case and
control counts given in ``[mr] outcomes``."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import have
from test_ecg_xml import write_cardiosoft

ROOT = Path(__file__).resolve().parents[1]
EID0 = 1_000_000


def _finngen(bfile: Path, y: np.ndarray, out: Path) -> None:
    """A FinnGen-layout file (``#chrom pos ref alt rsids nearest_genes pval mlogp beta sebeta af_alt
    af_alt_cases af_alt_controls``) of the binary ``y`` on every variant (per-allele log-odds from a
    one-step score approximation: beta = U / I)."""
    from bed_reader import open_bed

    bim = pd.read_csv(f"{bfile}.bim", sep="\t", header=None, names=["chr", "id", "cm", "pos", "a1", "a2"])
    with open_bed(f"{bfile}.bed", count_A1=True) as bed:
        G = bed.read(dtype="float64")
    G = np.where(np.isnan(G), np.nanmean(G, axis=0), G)
    p0 = y.mean()
    g = G - G.mean(axis=0)
    info = p0 * (1 - p0) * (g ** 2).sum(axis=0)
    beta = (g * (y - p0)[:, None]).sum(axis=0) / info
    se = 1 / np.sqrt(info)
    pval = 2 * stats.norm.sf(np.abs(beta / se))
    af = G.mean(axis=0) / 2
    df = pd.DataFrame({"#chrom": bim["chr"], "pos": bim["pos"], "ref": bim["a2"], "alt": bim["a1"],
                       "rsids": bim["id"], "nearest_genes": "", "pval": pval, "mlogp": -np.log10(pval),
                       "beta": beta, "sebeta": se, "af_alt": af, "af_alt_cases": G[y == 1].mean(0) / 2,
                       "af_alt_controls": G[y == 0].mean(0) / 2})
    with gzip.open(out, "wt") as fh:
        df.to_csv(fh, sep="\t", index=False, float_format="%.6g")


def make_ukb_fixture(root: Path, cohort: Path, chromosomes=(1, 2)) -> None:
    """The files of examples/ukb.toml's layout under ``root`` from a simulated ``cohort``."""
    from edfgen.formats.ecg.records import read_wfdb

    ukb = root / "ukb"
    (ukb / "ecg_20205").mkdir(parents=True)
    (ukb / "imp").mkdir()
    fam = pd.read_csv(cohort / "genotypes.fam", sep=r"\s+", header=None)
    eid = {iid: EID0 + i + 1 for i, iid in enumerate(fam[1])}
    for hea in sorted((cohort / "ecg").glob("*.hea")):
        rec = read_wfdb(hea)
        write_cardiosoft(ukb / "ecg_20205" / f"{eid[hea.stem]}_20205_2_0.xml", np.asarray(rec.signal, float), rec.fs)
    work = root / "work"
    work.mkdir()
    for ext in ("bed", "bim"):
        shutil.copy(cohort / f"genotypes.{ext}", work / f"g.{ext}")
    fam[0] = fam[1] = [eid[i] for i in fam[1]]
    fam[2] = fam[3] = 0
    fam.to_csv(work / "g.fam", sep="\t", header=False, index=False)
    for c in chromosomes:
        subprocess.run(["plink2", "--bfile", str(work / "g"), "--chr", str(c), "--export", "bgen-1.2", "bits=8",
                        "id-paste=iid", "--out", str(ukb / "imp" / f"ukb_imp_chr{c}_v3"), "--threads", "1"],
                       check=True, capture_output=True)
    cov = pd.read_csv(cohort / "covariates.tsv", sep="\t")
    cov.insert(0, "eid", cov.pop("IID").map(eid))
    cov = cov.rename(columns={"genotyping_batch": "genotyping_array"})
    cov[["eid", "age", "sex", "genotyping_array"]].to_csv(ukb / "covariates.tsv", sep="\t", index=False)
    pd.Series(sorted(eid.values())[5:]).to_csv(ukb / "keep.txt", index=False, header=False)  # 5 withdrawn
    for src, dst in (("physiology.tsv", "ecg_measures.tsv"), ("outcomes.tsv", "diseases.tsv")):
        t = pd.read_csv(cohort / src, sep="\t")
        t.insert(0, "eid", t.pop("IID").map(eid))
        if dst == "diseases.tsv":   # two common ones: 200 people give a rare disease too few cases for a GWAS
            t = t[["eid", *t.columns[1:][t.iloc[:, 1:].mean().between(0.15, 0.85)][:2]]]
        t.to_csv(ukb / dst, sep="\t", index=False)
    out = pd.read_csv(cohort / "outcomes.tsv", sep="\t").set_index("IID").loc[fam[1].map({v: k for k, v in eid.items()})]
    (root / "finngen").mkdir()
    _finngen(work / "g", out["GSVT"].to_numpy(float), root / "finngen" / "finngen_R10_I9_AF.gz")


@pytest.mark.slow
@pytest.mark.skipif(not have("plink2"), reason="plink2 writes the fixture's BGEN files")
def test_ukb_recipe__end_to_end_on_a_ukb_shaped_fixture(tmp_path, hail_context):
    from edfgen.pipeline import load_config, run_pipeline
    from edfgen.simulate.cohort import simulate_cohort

    cohort = tmp_path / "cohort"
    simulate_cohort(cohort, n=200, seed=3, chromosomes=2, variants_per_chromosome=250, effect_scale=6.0)
    make_ukb_fixture(tmp_path, cohort)
    text = (ROOT / "examples" / "ukb.toml").read_text()
    # the fixture: 2 chromosomes, the tiny encoder, loose clumping so that a small cohort has instruments
    for old, new in (('chr = "1-22"', 'chr = "1-2"'), ('checkpoint = "small"', 'checkpoint = "tiny"'),
                     ("[clump]\n", "[clump]\np1 = 1e-3\np2 = 1e-2\n"), ("[mr]\n", "[mr]\nnboot = 100\npresso_sims = 0\n")):
        assert old in text
        text = text.replace(old, new)
    (tmp_path / "ukb.toml").write_text(text)
    t0 = time.perf_counter()
    res = run_pipeline(load_config(tmp_path / "ukb.toml"))
    seconds = time.perf_counter() - t0
    ran = {s.name: s.status for s in res.stages}
    assert [n for n in ("extract", "interpret", "pca", "gwas", "gwas_outcomes", "clump", "mr")
            if ran.get(n) != "ran"] == []
    out = tmp_path / "ukb-edfgen"
    edfs = pd.read_csv(out / "extract" / "edfs.tsv", sep="\t", dtype={"IID": str})
    assert edfs["IID"].astype(int).between(EID0 + 1, EID0 + 200).all() and len(edfs) == 200
    pcs = pd.read_csv(out / "pca" / "pcs.tsv", sep="\t")
    assert [c for c in pcs.columns if c.startswith("PC")] == [f"PC{i}" for i in range(1, 11)]
    gman = json.loads((out / "gwas" / "manifest.json").read_text())
    assert {f"PC{i}" for i in range(1, 11)} <= set(gman["parameters"]["covariates"])
    samples = pd.read_csv(out / "gwas" / "samples.tsv", sep="\t")
    assert len(samples) == 195                                                   # keep.txt leaves out 5
    meta = (out / "gwas" / "edf_001.tsv.gz-meta.yaml").read_text()
    assert "GRCh37" in meta
    mr = pd.read_csv(out / "mr" / "mr_results.tsv", sep="\t")
    assert "finngen_R10_I9_AF" in set(mr["outcome"]) and len(mr)
    # the report's cohort tables read the eid-keyed biomarkers and diseases (review s29 F1)
    report = (out / "report.html").read_text()
    assert "qrs_duration_ms" in report and "prevalence" in report
    (out / "ukb_fixture_timing.json").write_text(json.dumps({"seconds": seconds, "stages": ran}))
    print(f"UKB-shaped fixture end to end: {seconds:.1f} s, stages {ran}")
