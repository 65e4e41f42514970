"""The whole association method on the Hail engine (local Spark here; the same code on a cluster, see
test_spark_cluster.py): ``--model ridge-loco`` step 2 from the fast engine's step 1 (``--loco-predictions``),
``--multivariate``, ``--keep/--remove/--extract`` and variant QC give the fast engine's files: the same names,
columns, rows and numbers (1e-6 relative); step 2 holds one chromosome's LOCO predictions at a time (read from
the on-disk store), and a corrupt store or one without the analysed samples is a one-line error naming the file."""

from __future__ import annotations

import gzip
import json
import shutil
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.commands import gwas as gwas_command
from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.engines import hail_gwas
from edfgen.engines.hail import HailSettings
from edfgen.exceptions import InputError
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.formats.loco import LocoStore, open_loco_predictions
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


def spy_loco_residency(monkeypatch) -> dict:
    """Spies on the Hail engine's ridge-loco step 2: the predictions object ``hail_model_pass`` gets, and at
    each Hail regression (``hail_linear``) the number of chromosome matrices read from the LOCO store so far
    and how many of them are still alive (weak references to what ``LocoStore.loco`` returned)."""
    seen: dict = {"loco_types": [], "calls": []}
    handed: list[weakref.ref] = []
    real_loco, real_linear, real_pass = LocoStore.loco, hail_gwas.hail_linear, gwas_command.hail_model_pass

    def loco(self, chromosome):
        values = real_loco(self, chromosome)
        if not any(r() is values for r in handed):
            handed.append(weakref.ref(values))
        return values

    def linear(*args, **kwargs):
        seen["calls"].append({"read": len(handed), "alive": sum(r() is not None for r in handed)})
        return real_linear(*args, **kwargs)

    def model_pass(*args, **kwargs):
        seen["loco_types"].append(type(kwargs.get("loco")))
        return real_pass(*args, **kwargs)

    monkeypatch.setattr(LocoStore, "loco", loco)
    monkeypatch.setattr(hail_gwas, "hail_linear", linear)
    monkeypatch.setattr(gwas_command, "hail_model_pass", model_pass)
    return seen


def test_hail_engine__ridge_loco_multivariate_and_selection_equal_the_fast_engine(hail_context, cohort, step1,
                                                                                   tmp_path, monkeypatch):
    """Also: the Hail step 2 reads the predictions lazily from the on-disk store, one chromosome per Hail pass
    (its two regressions, plain and permuted), none left in memory from the chromosomes before."""
    src = GenotypeSource(bfile=str(cohort / "g"), remove=str(cohort / "remove.txt"),
                         extract=str(cohort / "extract.txt"))
    out = {}
    for engine in ("fast", "hail"):
        seen = spy_loco_residency(monkeypatch) if engine == "hail" else None
        settings = GwasSettings(engine=engine, model="ridge-loco", loco_predictions=str(step1), multivariate=True,
                                plots=False)
        r = run_gwas(src, cohort / "pheno.tsv", cohort / "covar.tsv", tmp_path / engine,
                     covar_cols=["age", "sex", "centre"], qc=QCSettings(maf=0.02, hwe_p=1e-6), settings=settings,
                     hail=HailSettings(tmp_dir=str(tmp_path / "hail_tmp")), threads=1)
        assert r.engine == engine
        out[engine] = tmp_path / engine
    assert seen["loco_types"] == [LocoStore]
    # 2 chromosomes x (plain, permuted): chromosome k's pass sees exactly k + 1 matrices read, at most one alive
    assert [c["read"] for c in seen["calls"]] == [1, 1, 2, 2]
    assert max(c["alive"] for c in seen["calls"]) <= 1
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


def _one_line_error(excinfo, path) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and str(path) in msg, msg
    return msg


def test_loco_store__truncated_corrupt_or_other_samples_is_a_one_line_error_naming_the_file(step1, tmp_path):
    """The store the Hail step 2 reads (converted once from --loco-predictions): a truncated phenotype file, a
    truncated or corrupt store file, or analysed samples missing from it are one-line InputErrors naming the file."""
    names = pd.read_csv(step1 / "loco_summary.tsv", sep="\t")["file"].tolist()
    bad = tmp_path / "bad_loco"
    shutil.copytree(step1, bad)
    raw = (bad / names[1]).read_bytes()
    (bad / names[1]).write_bytes(raw[: len(raw) // 2])                      # truncated gzip
    with pytest.raises(InputError) as e:
        open_loco_predictions(bad, tmp_path / "s0")
    _one_line_error(e, bad / names[1])

    store = open_loco_predictions(step1, tmp_path / "s1")
    ids = store.sample_ids
    part = store.for_samples(ids[::-2], store.phenotypes[::-1])             # re-ordered subset: same values
    np.testing.assert_array_equal(part.loco("1"), store.loco("1")[::-1][::2][:, ::-1])
    assert part.loads == 1 and store.loads == 1
    part.release()
    assert part._cached is None
    with pytest.raises(InputError, match="1 analysed sample") as e:         # a sample step 1 did not see
        store.for_samples([*ids[:5], "not_in_step1"])
    _one_line_error(e, step1 / names[0])

    chr_file = tmp_path / "s1" / "chr1.f64"                                 # chromosome 2's matrix
    chr_file.write_bytes(chr_file.read_bytes()[:-8])
    with pytest.raises(InputError, match="truncated or corrupt") as e:
        store.loco("2")
    _one_line_error(e, chr_file)
    first = tmp_path / "s1" / "chr0.f64"
    values = np.fromfile(first)
    values[7] = np.nan
    values.tofile(first)
    with pytest.raises(InputError, match="non-finite") as e:
        LocoStore(tmp_path / "s1", ids, store.phenotypes, store.chromosomes, store.level1_shrinkage,
                  store.cv_r2).loco("1")
    _one_line_error(e, first)


def test_hail_engine__loco_predictions_without_the_analysed_samples_is_one_line(hail_context, cohort, step1,
                                                                                tmp_path):
    """--loco-predictions from a step 1 on other samples: the Hail run stops with one line naming the file."""
    other = tmp_path / "other_loco"
    shutil.copytree(step1, other)
    for f in pd.read_csv(other / "loco_summary.tsv", sep="\t")["file"]:
        df = pd.read_csv(other / f, sep="\t", dtype={"IID": str})
        with gzip.open(other / f, "wt") as fh:
            df.iloc[3:].to_csv(fh, sep="\t", index=False, float_format="%.17g")
    first = other / pd.read_csv(other / "loco_summary.tsv", sep="\t")["file"].iloc[0]
    args = (GenotypeSource(bfile=str(cohort / "g")), cohort / "pheno.tsv", cohort / "covar.tsv", tmp_path / "up")
    with pytest.raises(InputError, match="step1_fingerprint.json is of other samples than its predictions"):
        run_gwas(*args, covar_cols=["age", "sex", "centre"],   # the fingerprint of the unedited folder: up front
                 settings=GwasSettings(engine="hail", model="ridge-loco", loco_predictions=str(other)))
    (other / "step1_fingerprint.json").unlink()     # an older edfgen's folder: the Hail run's store finds it
    with pytest.raises(InputError, match="analysed sample") as e:
        run_gwas(GenotypeSource(bfile=str(cohort / "g")), cohort / "pheno.tsv", cohort / "covar.tsv",
                 tmp_path / "out", covar_cols=["age", "sex", "centre"], qc=QCSettings(maf=0.02),
                 settings=GwasSettings(engine="hail", model="ridge-loco", loco_predictions=str(other), plots=False),
                 hail=HailSettings(tmp_dir=str(tmp_path / "hail_tmp")), threads=1)
    _one_line_error(e, first)
    assert not list((tmp_path / "out").glob(".loco-scratch*"))             # the scratch store removed


def test_hail_engine__matrix_table_input_equals_the_fast_engine_on_its_bed(hail_context, cohort, tmp_path):
    """``gwas --mt`` (a Hail MatrixTable, the Hail engine's own input) raised IsADirectoryError from the cache
    key and no test ran it: the same genotypes as a MatrixTable give the fast engine's files on the .bed."""
    import hail as hl

    mt = hl.import_plink(str(cohort / "g.bed"), str(cohort / "g.bim"), str(cohort / "g.fam"),
                         reference_genome=None, a2_reference=True)
    mt.write(str(tmp_path / "g.mt"))
    out = {}
    for name, src in (("fast", GenotypeSource(bfile=str(cohort / "g"))), ("mt", GenotypeSource(mt=str(tmp_path / "g.mt")))):
        r = run_gwas(src, cohort / "pheno.tsv", cohort / "covar.tsv", tmp_path / name, covar_cols=["age", "sex"],
                     qc=QCSettings(maf=0.02), settings=GwasSettings(plots=False, transform="none"),
                     hail=HailSettings(tmp_dir=str(tmp_path / "hail_tmp")), threads=1)
        assert r.engine == ("fast" if name == "fast" else "hail")
        out[name] = tmp_path / name
    assert compare_outputs(out["fast"], out["mt"]) >= 2


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_hail_engine__vif_rule_as_plink2_and_the_fast_engine(hail_context, tmp_path):
    """Review s41: the Hail engine had no VIF rule: a genotype 99.98 % correlated with a covariate (plink2
    CORR_TOO_HIGH), one with VIF 140 and a covariate whose VIF with the genotype in the model is ~450 (plink2
    VIF_TOO_HIGH) got estimates where plink2 --glm and the fast engine write NA. Now the Hail engine's NA rows
    are the fast engine's, linear with missing calls (mean-imputed by both; plink2 drops them) and logistic Wald
    (NA rows leave the binary files), the latter plink2's ERRCODE rows; its other rows the fast engine's."""
    import subprocess

    from test_association_models import _collinear_cohort, _with_missing_calls

    G, y, _ = _collinear_cohort(tmp_path)
    bim = pd.read_csv(tmp_path / "g.bim", sep="\t", header=None)
    bim[0], bim[3] = 1, 1000 * (1 + np.arange(len(bim)))             # (Hail's loci must lie in GRCh38)
    bim.to_csv(tmp_path / "g.bim", sep="\t", header=False, index=False)
    subprocess.run(["plink2", "--bfile", str(tmp_path / "g"), "--pheno", str(tmp_path / "p.txt"), "--covar",
                    str(tmp_path / "c.txt"), "--glm", "hide-covar", "--threads", "1", "--out", str(tmp_path / "o")],
                   check=True, capture_output=True)
    errcode = pd.read_csv(tmp_path / "o.y.glm.linear", sep="\t").set_index("ID")["ERRCODE"]
    assert (errcode != ".").sum() >= 5 and errcode["v5"] == "VIF_TOO_HIGH"
    from bed_reader import open_bed, to_bed

    with open_bed(tmp_path / "g.bed") as bed:
        props = {"iid": bed.iid, "fid": bed.fid, "sid": bed.sid}
    to_bed(tmp_path / "m.bed", _with_missing_calls(G).astype(np.float32), count_A1=True, properties=props)
    shutil.copy(tmp_path / "g.bim", tmp_path / "m.bim")
    iid = pd.read_csv(tmp_path / "p.txt", sep="\t")["IID"]
    # y2, a second missingness group (review s41 test gap: one group only), missing where v12 or v13 differ from
    # v5: in its samples both are v5 (VIF_TOO_HIGH), in all samples neither is
    y2 = np.where((G[:, 12] != G[:, 5]) | (G[:, 13] != G[:, 5]), np.nan, y[::-1])
    pd.DataFrame({"IID": iid, "y": y, "y2": y2, "yb": (y > np.median(y)).astype(int)}).to_csv(
        tmp_path / "ph.tsv", sep="\t", index=False)
    qc = QCSettings(maf=0.0, call_rate=0.0, hwe_p=0.0, sample_call_rate=0.0)
    na, beta = {}, {}
    for engine in ("fast", "hail"):
        for bfile, binary in (("g", False), ("m", False), ("g", True))[engine == "hail":]:
            out = tmp_path / f"{engine}_{bfile}_{binary}"
            phenos = ["yb"] if binary else ["y", "y2"]
            run_gwas(GenotypeSource(bfile=str(tmp_path / bfile)), tmp_path / "ph.tsv", tmp_path / "c.txt", out,
                     pheno_cols=phenos, covar_cols=list("abcdz"), qc=qc,
                     settings=GwasSettings(engine=engine, plots=False, transform="none", binary=binary))
            for ph in phenos:
                res = pd.read_csv(out / f"{ph}.tsv.gz", sep="\t").set_index("variant_id")
                key = (engine, bfile, binary) if ph != "y2" else (engine, bfile, "y2")
                na[key] = (set(errcode.index) - set(res.index)) | set(res.index[res["beta"].isna()])
                beta[key] = res["beta"]
    want = set(errcode.index[errcode != "."])
    assert na["fast", "g", False] == want
    assert na["hail", "m", False] == na["fast", "m", False] and na["hail", "g", True] == na["fast", "g", True]
    assert len(na["hail", "m", False]) >= 5 and na["hail", "g", True] == want
    # each group's own NA rows (the flags of the group of the column, not another's)
    assert na["hail", "m", "y2"] == na["fast", "m", "y2"] == na["fast", "m", False] | {"v12", "v13"}
    for key in (("m", False), ("g", True), ("m", "y2")):             # (the rest: the fast engine's estimates)
        pd.testing.assert_series_equal(beta[("hail", *key)], beta[("fast", *key)], rtol=1e-5)


def test_hail_vif_flag__expression_size_does_not_grow_with_the_covariates_and_flags_as_numpy(hail_context):
    """Review s41 (cost): the VIF rule was written into Hail's expression one constant per entry of the KxK
    matrix, so its IR grew as K²: 223 s to compile at K = 145 covariates (22 centres + 100 batches + PCs, 5.5 s
    for the regression itself), per chromosome. Whole arrays now: the same IR at K = 3 and K = 40; and its flags
    are :func:`vif_too_high`'s on the genotypes mean-imputed (collinear, monomorphic, missing calls, all
    missing)."""
    from edfgen.kernels.covariates import MAX_VIF, covariate_vif, unit_columns, vif_too_high

    hl = hail_context
    rng = np.random.default_rng(5)
    n, size = 200, {}
    for K in (3, 40):
        C = np.column_stack([np.ones(n), rng.normal(size=(n, K - 1))])
        G = rng.binomial(2, 0.3, (n, 8)).astype(float)
        C[:, 1] = G[:, 0] + 0.05 * rng.normal(size=n)                 # g0's VIF ~ 1000 (plink2 VIF_TOO_HIGH)
        G[:, 1] = 1.0                                                 # monomorphic
        G[:, 2] = G[:, 0]
        G[0, 2] = 1 - G[0, 2]                                         # still collinear with covariate 1
        Gm = np.where(rng.random(G.shape) < np.r_[0.005, 0.05, 0.005, 0.05, 0.05, 0.05, 0, 0], np.nan, G)
        Gm[:, 7] = np.nan                                             # all missing
        Gm[:197, 6] = np.nan                                          # three calls
        called = ~np.isnan(Gm)
        x = np.nan_to_num(Gm)
        sums = [hl.Struct(nc=int(called[:, j].sum()), s1=float(x[:, j].sum()), s2=float((x[:, j] ** 2).sum()),
                          cx=(C[called[:, j]].T @ x[called[:, j], j]).tolist(), cc=C[called[:, j]].sum(0).tolist())
                for j in range(G.shape[1])]
        a = hl.literal(sums, dtype=hl.tarray(hl.tstruct(nc=hl.tint64, s1=hl.tfloat64, s2=hl.tfloat64,
                                                        cx=hl.tarray(hl.tfloat64), cc=hl.tarray(hl.tfloat64))))
        flags = a.map(lambda s: hail_gwas._vif_flag(hl, s, C, MAX_VIF, covariate_vif, unit_columns))
        size[K] = len(flags._ir.search(lambda node: True))
        if K == 40:                                     # (before the fix: 1682 nodes at K = 3, 2029726 at K = 40)
            assert size[40] == size[3], size
        mean = np.nanmean(np.where(called, Gm, np.nan)[:, :7], 0)
        want = np.r_[vif_too_high(np.where(called[:, :7], Gm[:, :7], mean), C), False]
        assert want[:3].all() and not want[3:6].any()
        np.testing.assert_array_equal(hl.eval(flags), want)
