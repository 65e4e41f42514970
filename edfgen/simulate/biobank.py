"""A larger biobank of people without ECGs (genotypes and diseases only) from the same population as a
simulated cohort: the outcome GWAS of a two-sample MR, as real studies take it from a disease consortium
or a biobank far larger than the cohort with the exposure measured.

Genomes are mosaics of the cohort's: along each chromosome, segments of ``segment_kb`` (a fixed grid)
are copied whole, each from a participant drawn at random for that person and segment. Linkage
disequilibrium within a segment and the allele frequencies are those of the cohort (so instruments that
tag a planted causal variant tag it in the biobank too); segments are independent. Physiology (not
written: nobody has an ECG) follows :func:`edfgen.simulate.phenotypes.physiology` with the planted loci
of ``truth.json`` as the genetic part (the small polygenic background goes into the environment), and
the diseases follow :func:`edfgen.simulate.phenotypes.outcomes` with the cohort's causal effects;
covariates are drawn afresh (unrelated people). Random streams use ``seed`` offset by
:data:`SEED_OFFSET`, so the biobank's are not the cohort's.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.formats.genotypes.plink1 import BedReader
from edfgen.formats.genotypes.plink1_write import BedWriter, write_fam
from edfgen.formats.tables import write_table
from edfgen.simulate.ecg import PHYSIOLOGY_COLUMNS
from edfgen.simulate.genotypes import pedigree
from edfgen.simulate.phenotypes import covariates, outcomes, physiology
from edfgen.simulate.streams import stream

log = logging.getLogger(__name__)

#: added to the cohort seed for the biobank's random streams
SEED_OFFSET = 7_777_777
#: genotype segments copied whole from one donor (kb)
SEGMENT_KB = 250.0
#: the biobank's files, inside ``<cohort>/biobank/``
BIOBANK_FILES = ("genotypes.bed", "genotypes.bim", "genotypes.fam", "covariates.tsv", "outcomes.tsv")


def simulate_biobank(cohort: Path, out: Path, *, n: int, seed: int, truth: dict,
                     segment_kb: float = SEGMENT_KB, block: int = 2000) -> dict:
    """Write ``out/genotypes.bed/.bim/.fam``, ``covariates.tsv`` and ``outcomes.tsv`` for ``n`` people
    (module docstring) from the cohort ``cohort/genotypes`` and its ``truth``; returns a summary
    (``n``, realised prevalences, causal effects) for truth.json's ``biobank`` entry."""
    out.mkdir(parents=True, exist_ok=True)
    bim = pd.read_csv(cohort / "genotypes.bim", sep="\t", header=None, names=["chr", "id", "cm", "pos", "a1", "a2"],
                      dtype={"chr": str, "id": str, "a1": str, "a2": str})
    seed_b = int(seed) + SEED_OFFSET
    rng = stream(seed_b, 21)
    seg = bim.groupby("chr", sort=False)["pos"].transform(lambda p: (p - p.min()) // int(segment_kb * 1000))
    seg_key = bim["chr"] + ":" + seg.astype(str)
    codes, uniq = pd.factorize(seg_key)
    with BedReader(cohort / "genotypes", threads=1) as bed:   # the cohort's .bed, decoded as gwas decodes it
        n_c = bed.n_samples
        donors = rng.integers(0, n_c, size=(len(uniq), n))
        loci = {lc["variant_id"] for lc in truth["loci"]}
        wanted = {vid: i for i, vid in enumerate(bim["id"]) if vid in loci}
        causal: dict[str, np.ndarray] = {}
        with BedWriter(out / "genotypes.bed") as w:
            for s in range(0, len(bim), block):
                cols = np.arange(s, min(s + block, len(bim)))
                g = bed.read(None, cols, dtype=np.int8)                   # [n_c, m], MISSING_INT8 (< 0) missing
                d = np.empty((len(cols), n), dtype=np.int8)
                for k, c in enumerate(cols):
                    d[k] = g[donors[codes[c]], k]
                miss = d < 0
                w.write(np.where(miss, 0, d), miss)
                for vid, i in wanted.items():
                    if s <= i < s + len(cols):
                        causal[vid] = d[i - s].astype(float)
    bim.to_csv(out / "genotypes.bim", sep="\t", header=False, index=False)
    iids = [f"B{i + 1:07d}" for i in range(n)]
    traits = list(PHYSIOLOGY_COLUMNS)
    genetic = {t: np.zeros(n) for t in traits}
    for lc in truth["loci"]:
        dos = causal[lc["variant_id"]]
        dos = np.where(dos < 0, np.nan, dos)
        genetic[lc["trait"]] += lc["beta_sd"] * (np.nan_to_num(dos, nan=2 * lc["effect_allele_frequency"])
                                                  - 2 * lc["effect_allele_frequency"])
    h2 = {t: {**v, "total": v["planted"]} for t, v in truth["heritability"].items()}   # background -> environment
    confounder = stream(seed_b, 11).standard_normal(n)
    cov = covariates(n, seed_b, confounder, pedigree(n, seed_b, 0), iids)
    phys = physiology(cov, genetic, {t: np.zeros(n) for t in traits}, h2, confounder, seed_b)
    table, causal_links, prevalence = outcomes(cov, phys, confounder, seed_b)
    write_fam(pd.DataFrame({"fid": iids, "iid": iids, "pat": "0", "mat": "0",
                            "sex": np.where(cov["sex"] == 1, 1, 2), "pheno": -9}), out / "genotypes.fam")
    write_table(cov, out / "covariates.tsv")
    write_table(table, out / "outcomes.tsv")
    log.info("biobank: %d people without ECGs, %d variants, prevalences %s", n, len(bim),
             ", ".join(f"{k} {v:.3f}" for k, v in prevalence.items()))
    return {"n": n, "seed_offset": SEED_OFFSET, "segment_kb": segment_kb, "prevalence": prevalence,
            "causal": causal_links}
