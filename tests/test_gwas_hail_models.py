"""The whole association method on the Hail engine (local Spark here; the same code on a cluster, see
test_spark_cluster.py): ``--model ridge-loco`` step 2 from the fast engine's step 1 (``--loco-predictions``),
``--multivariate``, ``--keep/--remove/--extract`` and variant QC give the fast engine's files: the same names,
columns, rows and numbers (1e-6 relative)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.engines.hail import HailSettings
from edfgen.exceptions import InputError
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings

from test_gwas import make_cohort

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
NUMERIC = ("beta", "standard_error", "p_value", "effect_allele_frequency")


def compare_outputs(fast: Path, hail: Path, *, rtol: float = 1e-6, beta_in_se: float | None = None) -> int:
    """Assert that two ``edfgen gwas`` output folders hold the same files (names, columns, rows; numbers to
    ``rtol``); returns the number of phenotype files compared. ``beta_in_se``: compare ``beta`` as
    ``|beta_fast - beta_hail| / standard_error <= beta_in_se`` instead (a relative tolerance cannot hold for
    betas near 0 when the two engines read dosages at different precisions)."""
    def listing(d: Path) -> set[str]:
        return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file() and p.name != "manifest.json"}

    assert listing(fast) == listing(hail)
    n = 0
    for f in sorted(fast.glob("*.tsv.gz")):
        a = pd.read_csv(f, sep="\t")
        b = pd.read_csv(hail / f.name, sep="\t")
        assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0, f.name
        for c in a.columns:
            if c == "beta" and beta_in_se is not None:
                assert (np.abs(a[c] - b[c]) / a["standard_error"]).max() <= beta_in_se, f"{f.name}:{c}"
            elif pd.api.types.is_float_dtype(a[c]) and c != "base_pair_location":
                atol = 1.01e-6 if c == "neg_log_10_p_value" else 0   # printed to 6 decimals
                np.testing.assert_allclose(b[c], a[c], rtol=rtol, atol=atol, err_msg=f"{f.name}:{c}")
            else:
                assert (a[c].astype(str) == b[c].astype(str)).all(), f"{f.name}:{c}"
        n += 1
    for name in ("qc_report.tsv", "samples.tsv"):
        pd.testing.assert_frame_equal(pd.read_csv(fast / name, sep="\t"), pd.read_csv(hail / name, sep="\t"))
    summ = [pd.read_csv(d / "gwas_summary.tsv", sep="\t") for d in (fast, hail)]
    pd.testing.assert_frame_equal(summ[0], summ[1], rtol=rtol)
    return n


@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    d = make_cohort(tmp_path_factory.mktemp("hail_models"), n=400, m=600, p=2, seed=5)
    ids = pd.read_csv(d / "pheno.tsv", sep="\t", dtype={"IID": str})["IID"]
    ids.iloc[::9].to_frame().assign(FID=lambda x: x["IID"])[["FID", "IID"]].to_csv(d / "remove.txt", sep="\t",
                                                                                   index=False, header=False)
    ids.iloc[::50].to_csv(d / "keep_extra.txt", index=False, header=False)
    bim = pd.read_csv(d / "g.bim", sep="\t", header=None)
    bim[1].iloc[::3].to_csv(d / "extract.txt", index=False, header=False)
    return d


@pytest.fixture(scope="module")
def step1(cohort, tmp_path_factory) -> Path:
    """REGENIE step 1 on the fast engine (all samples, every variant)."""
    out = tmp_path_factory.mktemp("step1") / "out"
    run_gwas(GenotypeSource(bfile=str(cohort / "g")), cohort / "pheno.tsv", cohort / "covar.tsv", out,
             covar_cols=["age", "sex", "centre"], settings=GwasSettings(model="ridge-loco", plots=False))
    return out / "loco"


def test_hail_engine__ridge_loco_multivariate_and_selection_equal_the_fast_engine(hail_context, cohort, step1,
                                                                                   tmp_path):
    src = GenotypeSource(bfile=str(cohort / "g"), remove=str(cohort / "remove.txt"),
                         extract=str(cohort / "extract.txt"))
    out = {}
    for engine in ("fast", "hail"):
        settings = GwasSettings(engine=engine, model="ridge-loco", loco_predictions=str(step1), multivariate=True,
                                plots=False)
        r = run_gwas(src, cohort / "pheno.tsv", cohort / "covar.tsv", tmp_path / engine,
                     covar_cols=["age", "sex", "centre"], qc=QCSettings(maf=0.02, hwe_p=1e-6), settings=settings,
                     hail=HailSettings(tmp_dir=str(tmp_path / "hail_tmp")), threads=1)
        assert r.engine == engine
        out[engine] = tmp_path / engine
    assert compare_outputs(out["fast"], out["hail"]) == 3          # 2 phenotypes + multivariate.tsv.gz
    used = pd.read_csv(out["hail"] / "samples.tsv", sep="\t", dtype=str)["IID"]
    removed = set(pd.read_csv(cohort / "remove.txt", sep="\t", header=None, dtype=str)[1])
    assert len(used) > 300 and not removed & set(used)
    ss = pd.read_csv(out["hail"] / "edf_001.tsv.gz", sep="\t")
    extracted = set(pd.read_csv(cohort / "extract.txt", header=None, dtype=str)[0])
    assert set(ss["variant_id"]) <= extracted and ss["chromosome"].nunique() == 2
    man = json.loads((out["hail"] / "manifest.json").read_text())
    assert man["parameters"]["engine"] == "hail" and man["parameters"]["association_model"] == "ridge-loco"
    print("hail timings", man["extra"]["timings_s"])


def test_hail_engine__ridge_loco_needs_step1_predictions_and_a_linear_model(cohort, tmp_path):
    src = GenotypeSource(bfile=str(cohort / "g"))
    with pytest.raises(InputError, match="step 1 runs in the fast engine"):
        run_gwas(src, cohort / "pheno.tsv", cohort / "covar.tsv", tmp_path / "a",
                 settings=GwasSettings(engine="hail", model="ridge-loco"))
    with pytest.raises(InputError, match="fast engine only"):
        run_gwas(src, cohort / "outcomes.tsv", cohort / "covar.tsv", tmp_path / "b",
                 settings=GwasSettings(engine="hail", model="ridge-loco", binary=True, loco_predictions="x"))
