"""Y left out for want of a male has its ``qc_report.tsv`` row (``y_no_males``), on both engines, whether no male
was selected or sample QC removed the last one (stop 29's leftover 3): it was a log line only, and the Hail engine,
which left Y out before sample QC only, failed Y's call rate (0 males called) when QC removed the last male."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings
from tests.test_sex_chromosomes import KINDS, PLINK2, _sexed_cohort
from tests.test_sex_chromosomes_subsets import _fam, _rewrite

N_Y = KINDS.count("24")


def _one_male_or_none(d: Path, scenario: str) -> dict:
    """``--remove`` of every male (``removed``), or of all but five whose chr1 calls are missing (``failed_qc``:
    sample QC removes them; five, so that the first pass can fit Y's model on them before the call rates are
    known); the source options."""
    fam = _fam(d)
    males = fam[fam[4] == "1"]
    if scenario == "failed_qc":
        last = males.index[:5].to_numpy(int)

        def miss(G, props):
            G[np.ix_(last, np.flatnonzero(props["chromosome"] == "1"))] = np.nan
        _rewrite(d, "g", miss)
        males = males.iloc[5:]
    males.iloc[:, :2].to_csv(d / "males.txt", sep="\t", header=False, index=False)
    return {"remove": str(d / "males.txt")}


def _run(d: Path, out: Path, engine: str, **source) -> tuple[set, pd.DataFrame]:
    run_gwas(GenotypeSource(bfile=str(d / "g"), **source), d / "pheno.tsv", d / "covar.tsv", out, covar_cols=["age"],
             qc=QCSettings(), settings=GwasSettings(engine=engine, transform="none", plots=False))
    return (set(pd.read_csv(out / "y.tsv.gz", sep="\t")["variant_id"]),
            pd.read_csv(out / "qc_report.tsv", sep="\t").set_index("filter"))


@pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
@pytest.mark.parametrize("scenario", ["removed", "failed_qc"])
def test_gwas__y_without_males_has_its_qc_row_as_plink2_skips_it(tmp_path, scenario):
    d = _sexed_cohort(tmp_path)
    source = _one_male_or_none(d, scenario)
    kept, qc = _run(d, tmp_path / "fast", "fast", **source)
    row = qc.loc["y_no_males"]
    assert (row["level"], row["threshold"], row["removed"]) == ("variant", "chrY: >= 1 male analysed", N_Y)
    # the rows add up: the biallelic variants, minus Y, are those the variant filters start from
    assert row["remaining"] == qc.loc["biallelic", "remaining"] - N_Y
    assert row["remaining"] == qc.loc["variant_call_rate", "removed"] + qc.loc["variant_call_rate", "remaining"]
    assert list(qc.index[:4]) == ["biallelic", "sample_call_rate", "y_no_males", "variant_call_rate"]
    assert qc.loc["sample_call_rate", "removed"] == (5 if scenario == "failed_qc" else 0)
    subprocess.run([PLINK2, "--bfile", str(d / "g"), "--pheno", str(d / "pheno.p2"), "--covar", str(d / "covar.p2"),
                    "--glm", "hide-covar", "--remove", source["remove"], "--maf", "0.01", "--geno", "0.05",
                    "--mind", "0.05", "--out", str(d / "p2"), "--silent"], check=True)
    ref = pd.read_csv(d / "p2.y.glm.linear", sep="\t")
    assert "Y" not in set(ref["#CHROM"]) and kept == set(ref["ID"])


def test_gwas__y_with_males_has_no_such_row(tmp_path):
    d = _sexed_cohort(tmp_path)
    _, qc = _run(d, tmp_path / "fast", "fast")
    assert "y_no_males" not in qc.index


@pytest.mark.parametrize("scenario", ["removed", "failed_qc"])
def test_gwas_hail__y_without_males_as_the_fast_engine(hail_context, tmp_path, scenario):
    d = _sexed_cohort(tmp_path)
    source = _one_male_or_none(d, scenario)
    kept, qc = {}, {}
    for engine in ("fast", "hail"):
        kept[engine], qc[engine] = _run(d, tmp_path / engine, engine, **source)
    assert kept["hail"] == kept["fast"] and len(kept["fast"]) == len(KINDS) - N_Y
    pd.testing.assert_frame_equal(qc["hail"], qc["fast"])
    assert qc["hail"].loc["y_no_males", "removed"] == N_Y
