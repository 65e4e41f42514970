"""``edfgen simulate --biobank N``: a biobank without ECGs from the cohort's population (same variants,
allele frequencies and LD within segments, planted causal effects) for a powered two-sample MR."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from bed_reader import open_bed
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.simulate.mr import per_variant_logistic


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    d = tmp_path_factory.mktemp("biobank") / "c"
    r = CliRunner().invoke(cli, ["simulate", "--out", str(d), "--n", "800", "--chromosomes", "2",
                                 "--variants-per-chromosome", "1500", "--no-ecg", "--biobank", "6000",
                                 "--effect-scale", "3", "--seed", "4"])
    assert r.exit_code == 0, r.output
    return d


def test_biobank__same_variants_frequencies_and_ld(cohort):
    b = cohort / "biobank"
    assert (b / "genotypes.bim").read_text() == (cohort / "genotypes.bim").read_text()
    with open_bed(str(cohort / "genotypes.bed")) as c, open_bed(str(b / "genotypes.bed")) as g:
        gc, gb = c.read(dtype="float32"), g.read(dtype="float32")
    assert gb.shape == (6000, 3000)
    fc, fb = np.nanmean(gc, 0) / 2, np.nanmean(gb, 0) / 2
    assert np.max(np.abs(fc - fb)) < 0.06                      # resampled from the cohort's genomes
    # LD of neighbouring variants (within a segment) is kept
    def r(g, i):
        x, y = g[:, i], g[:, i + 1]
        ok = ~np.isnan(x) & ~np.isnan(y)
        return np.corrcoef(x[ok], y[ok])[0, 1]
    idx = range(0, 1400, 7)
    rc = np.array([r(gc, i) for i in idx])
    rb = np.array([r(gb, i) for i in idx])
    ok = np.isfinite(rc) & np.isfinite(rb)
    assert np.corrcoef(rc[ok], rb[ok])[0, 1] > 0.9
    fam = pd.read_csv(b / "genotypes.fam", sep=r"\s+", header=None)
    out = pd.read_csv(b / "outcomes.tsv", sep="\t")
    cov = pd.read_csv(b / "covariates.tsv", sep="\t")
    assert list(fam[1]) == list(out["IID"]) == list(cov["IID"]) and len(out) == 6000
    truth = json.loads((cohort / "truth.json").read_text())
    assert truth["biobank"]["n"] == 6000 and set(truth["biobank"]["prevalence"]) == set(out.columns[1:])


def test_biobank__planted_causal_chain_reaches_the_diseases(cohort):
    """A variant planted for heart rate associates with GSVT in the biobank with the sign of
    beta(variant -> heart rate) x effect(heart rate -> GSVT); a null disease shows nothing."""
    truth = json.loads((cohort / "truth.json").read_text())
    link = next(c for c in truth["causal"] if c["exposure"] == "heart_rate_bpm")
    loci = [lc for lc in truth["loci"] if lc["trait"] == link["exposure"]]
    bim = pd.read_csv(cohort / "genotypes.bim", sep="\t", header=None)
    cols = [int(np.flatnonzero(bim[1] == lc["variant_id"])[0]) for lc in loci]
    with open_bed(str(cohort / "biobank" / "genotypes.bed")) as g:
        G = g.read(index=np.s_[:, cols], dtype="float64")
    y = pd.read_csv(cohort / "biobank" / "outcomes.tsv", sep="\t")
    b, se = per_variant_logistic(G, y[link["outcome"]].to_numpy(float))
    expected = np.sign([lc["beta_sd"] * link["effect"] for lc in loci])
    z = b / se
    assert (np.sign(z) == expected).mean() >= 0.75 and np.abs(z).max() > 3
    nul = truth["null_outcomes"][0]
    bn, sen = per_variant_logistic(G, y[nul].to_numpy(float))
    assert np.abs(bn / sen).max() < 4


class _BedReaderAdapter:
    """bed-reader behind the two calls simulate_biobank makes of edfgen's BedReader (the independent
    decoder the biobank read until it moved to edfgen's)."""

    def __init__(self, prefix, threads=None):
        self._bed = open_bed(f"{prefix}.bed")
        self.n_samples = self._bed.iid_count

    def read(self, sample_idx, variant_idx, *, dtype):
        assert sample_idx is None and np.dtype(dtype) == np.int8
        return self._bed.read(index=np.s_[:, variant_idx], dtype="int8")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._bed.__exit__(*exc)


def test_biobank__edfgen_bed_decoder_gives_the_bed_reader_files(cohort, tmp_path, monkeypatch):
    """The biobank built from the cohort's .bed decoded by edfgen's BedReader is byte-identical to the one
    built from bed-reader's decode (missing calls included: the cohort has variants with missing calls)."""
    import edfgen.simulate.biobank as bb

    truth = json.loads((cohort / "truth.json").read_text())
    with open_bed(str(cohort / "genotypes.bed")) as c:
        assert (c.read(dtype="int8") < 0).any()
    ours = bb.simulate_biobank(cohort, tmp_path / "ours", n=700, seed=4, truth=truth)
    monkeypatch.setattr(bb, "BedReader", _BedReaderAdapter)
    ref = bb.simulate_biobank(cohort, tmp_path / "ref", n=700, seed=4, truth=truth)
    assert json.dumps(ours, sort_keys=True, default=str) == json.dumps(ref, sort_keys=True, default=str)
    for f in bb.BIOBANK_FILES:
        assert (tmp_path / "ours" / f).read_bytes() == (tmp_path / "ref" / f).read_bytes(), f
