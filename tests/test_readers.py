"""Genotype readers (PLINK 1 .bed, PLINK 2 .pgen, BGEN) against files plink2 wrote, and the fast GWAS
engine on BGEN/PGEN against plink2 --glm."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError
from edfgen.genetics.readers import (GenotypeFiles, open_genotypes, parse_chromosomes, read_id_list,
                                     select_samples, select_variants)

pytestmark = pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")

N, M = 500, 1200


def _plink2(*args, cwd: Path) -> None:
    subprocess.run(["plink2", "--threads", "1", *map(str, args)], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def fileset(tmp_path_factory) -> Path:
    """plink2 --dummy dosages (2 % missing) on chromosomes 1 and 2 as .pgen, per-chromosome BGEN 1.2
    8-bit and BGEN 1.3 16-bit (ref-first: second allele = ALT) and a .bed; phenotypes and covariates."""
    d = tmp_path_factory.mktemp("readers")
    _plink2("--dummy", N, M, "0.02", "acgt", "dosage-freq=0.4", "--seed", 11, "--make-pgen", "--out", "raw", cwd=d)
    pvar = pd.read_csv(d / "raw.pvar", sep="\t")
    half = M // 2
    pvar["#CHROM"] = np.where(np.arange(M) < half, "1", "2")
    pvar["POS"] = 10_000 + np.arange(M) * 1000
    pvar["ID"] = [f"rs{i + 1}" for i in range(M)]
    pvar.to_csv(d / "raw.pvar", sep="\t", index=False)
    for c in (1, 2):
        _plink2("--pfile", "raw", "--chr", c, "--export", "bgen-1.2", "bits=8", "ref-first", "--out", f"imp8_chr{c}",
                cwd=d)
    _plink2("--pfile", "raw", "--export", "bgen-1.3", "bits=16", "ref-first", "--out", "imp16", cwd=d)
    _plink2("--pfile", "raw", "--make-bed", "--out", "hard", cwd=d)
    rng = np.random.default_rng(3)
    iid = pd.read_csv(d / "raw.psam", sep="\t")["#IID"]
    ph = pd.DataFrame({"IID": iid, "y1": rng.normal(size=N), "y2": rng.normal(size=N)})
    ph.loc[7, "y2"] = np.nan
    ph.to_csv(d / "pheno.tsv", sep="\t", index=False, na_rep="NA")
    pd.DataFrame({"IID": iid, "age": rng.normal(50, 8, N), "sex": rng.integers(0, 2, N)}).to_csv(
        d / "covar.tsv", sep="\t", index=False)
    return d


def test_pgen_bgen_bed_read_the_same_dosages(fileset):
    d = fileset
    pg = open_genotypes(GenotypeFiles(pfile=(str(d / "raw"),)))
    b8 = open_genotypes(GenotypeFiles(bgen=(str(d / "imp8_chr{chr}.bgen"),), sample=(str(d / "imp8_chr{chr}.sample"),)))
    b16 = open_genotypes(GenotypeFiles(bgen=(str(d / "imp16.bgen"),)))      # sample ids from the BGEN header
    bed = open_genotypes(GenotypeFiles(bfile=(str(d / "hard"),)))
    assert (pg.n_samples, pg.n_variants) == (N, M) and b8.n_variants == M and len(b8.parts) == 2
    for r in (b8, b16, bed):
        assert (r.samples["IID"].to_numpy() == pg.samples["IID"].to_numpy()).all()
        cols = ["chromosome", "base_pair_location", "variant_id", "effect_allele", "other_allele"]
        pd.testing.assert_frame_equal(r.variants[cols], pg.variants[cols])
    assert pg.variants["rsid"].notna().all()
    v = np.arange(M)
    P, B8, B16, H = (r.read(None, v) for r in (pg, b8, b16, bed))
    assert 0.005 < np.isnan(P).mean() < 0.5
    for X in (B8, B16):
        assert (np.isnan(X) == np.isnan(P)).all()
    assert np.nanmax(np.abs(B8 - P)) <= 1 / 255 + 1e-6        # 8-bit probabilities
    assert np.nanmax(np.abs(B16 - P)) <= 1 / 65535 * 2 + 1e-6
    # plink2 --make-bed: hard call = nearest integer, missing beyond 0.1 from it (--hard-call-threshold)
    called = ~np.isnan(H)
    assert (called <= ~np.isnan(P)).all() and 0.3 < called.mean() < 0.99
    np.testing.assert_array_equal(H[called], np.floor(P[called] + 0.5))
    assert np.abs(H - P)[called].max() <= 0.1 + 1e-4
    assert 0.2 < np.mean(P[~np.isnan(P)] % 1 != 0) < 0.6      # dosages really are fractional
    # subsets in any order, int8 hard calls, block iteration
    s, w = np.array([9, 3, 400, 0]), np.array([700, 5, 599, 600, 12])
    for r, X in ((pg, P), (b8, B8), (bed, H)):
        np.testing.assert_array_equal(r.read(s, w), X[np.ix_(s, w)])
        h = r.read(s, w, dtype=np.int8)
        np.testing.assert_array_equal(h, np.where(np.isnan(X[np.ix_(s, w)]), -127, np.floor(X[np.ix_(s, w)] + 0.5)))
        got = np.hstack([blk for _, blk in r.blocks(s, w, block=2)])
        np.testing.assert_array_equal(got, X[np.ix_(s, w)])


def test_templates_selection_and_errors(fileset, tmp_path):
    d = fileset
    one = open_genotypes(GenotypeFiles(bgen=(str(d / "imp8_chr{chr}.bgen"),), sample=(str(d / "imp8_chr1.sample"),)),
                         chromosomes=["2"])
    assert set(one.variants["chromosome"]) == {"2"} and one.n_variants == M // 2
    rep = open_genotypes(GenotypeFiles(bgen=(str(d / "imp8_chr1.bgen"), str(d / "imp8_chr2.bgen")),
                                       sample=(str(d / "imp8_chr1.sample"),)))
    assert rep.n_variants == M
    assert parse_chromosomes("1-3,X,chr5") == ["1", "2", "3", "X", "5"]
    with pytest.raises(InputError, match="chromosome 3 of --chr"):
        open_genotypes(GenotypeFiles(bgen=(str(d / "imp8_chr{chr}.bgen"),)), chromosomes=["1", "3"])
    bad = tmp_path / "other.sample"   # per-chromosome files must list the same samples
    lines = (d / "imp8_chr2.sample").read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="not the same samples"):
        open_genotypes(GenotypeFiles(bgen=(str(d / "imp8_chr1.bgen"), str(d / "imp8_chr2.bgen")),
                                     sample=(str(d / "imp8_chr1.sample"), str(bad))))
    # --keep (one id per line, FID IID, or a header with eid), --remove, --extract, --chr
    ids = one.samples["IID"].to_numpy()
    (tmp_path / "keep.txt").write_text("\n".join(ids[:50]) + "\n")
    (tmp_path / "keep2.txt").write_text("".join(f"0 {i}\n" for i in ids[:50]))
    (tmp_path / "keep3.tsv").write_text("eid\tx\n" + "".join(f"{i}\t1\n" for i in ids[:50]))
    for f in ("keep.txt", "keep2.txt", "keep3.tsv"):
        assert read_id_list(tmp_path / f) == set(ids[:50])
    (tmp_path / "remove.txt").write_text(f"{ids[0]}\n{ids[1]}\n")
    assert list(select_samples(one, keep=tmp_path / "keep.txt", remove=tmp_path / "remove.txt")) == list(range(2, 50))
    (tmp_path / "extract.txt").write_text("rs1\nrs700\nrs1199\nnot_there\n")
    assert list(select_variants(rep, extract=tmp_path / "extract.txt", chromosomes=["2"])) == [699, 1198]


def test_mach_r2_equals_plink2(fileset):
    from edfgen.genetics.blockwise import count_variants

    d = fileset
    _plink2("--pfile", "raw", "--freq", "cols=+machr2", "--out", "fr", cwd=d)
    ref = pd.read_csv(d / "fr.afreq", sep="\t")
    pg = open_genotypes(GenotypeFiles(pfile=(str(d / "raw"),)))
    info = count_variants(pg, np.arange(N), np.arange(M), block=100).info
    np.testing.assert_allclose(info, ref["MACH_R2"].to_numpy(float), rtol=2e-5, atol=2e-6)


def _compare_glm(out: Path, ref_files: dict[str, list[Path]], *, beta_se: float, se_rel: float):
    worst = {}
    for y, files in ref_files.items():
        e = pd.read_csv(out / f"{y}.tsv.gz", sep="\t")
        p = pd.concat([pd.read_csv(f, sep="\t") for f in files])
        m = e.merge(p, left_on="variant_id", right_on="ID")
        assert len(m) == len(e) == len(p)
        assert (m["effect_allele"] == m["A1"]).all()
        assert (m["n"] == m["OBS_CT"]).all()
        d_beta = (np.abs(m["beta"] - m["BETA"]) / m["SE"]).max()
        d_se = (np.abs(m["standard_error"] - m["SE"]) / m["SE"]).max()
        d_lp = np.abs(np.log10(m["p_value"]) - np.log10(m["P"])).max()
        assert d_beta < beta_se and d_se < se_rel and d_lp < 1e-3, (y, d_beta, d_se, d_lp)
        worst[y] = (d_beta, d_se, d_lp)
    return worst


def test_gwas_on_per_chromosome_bgen_and_pgen_matches_plink2_glm(fileset, tmp_path):
    """The fast engine on BGEN ({chr} template) and PGEN equals plink2 --glm (samples with a missing
    dosage dropped per variant, as plink2). BGEN: plink2 stores dosages in 1/16384 steps, so betas
    agree to 1e-3 SE; PGEN (the same stored dosages) to plink2's 6 printed digits."""
    from edfgen.genetics.genotypes import GenotypeSource, QCSettings
    from edfgen.genetics.gwas import GwasSettings, run_gwas

    d = fileset
    qc = QCSettings(maf=0.0, call_rate=0.0, hwe_p=0.0, sample_call_rate=0.0)
    settings = GwasSettings(transform="none", missing_genotypes="drop", plots=False)
    for c in (1, 2):
        _plink2("--bgen", f"imp8_chr{c}.bgen", "ref-first", "--sample", f"imp8_chr{c}.sample", "--pheno", "pheno.tsv",
                "--covar", "covar.tsv", "--glm", "hide-covar", "omit-ref", "--out", f"bg{c}", cwd=d)
    _plink2("--pfile", "raw", "--pheno", "pheno.tsv", "--covar", "covar.tsv", "--glm", "hide-covar", "omit-ref",
            "--out", "pg", cwd=d)
    src = GenotypeSource(bgen=str(d / "imp8_chr{chr}.bgen"), sample=str(d / "imp8_chr{chr}.sample"))
    res = run_gwas(src, d / "pheno.tsv", d / "covar.tsv", tmp_path / "bgen", qc=qc, settings=settings, threads=1)
    assert res.engine == "fast" and int(res.summary["variants_tested"].max()) == M
    _compare_glm(tmp_path / "bgen", {y: [d / f"bg{c}.{y}.glm.linear" for c in (1, 2)] for y in ("y1", "y2")},
                 beta_se=1e-3, se_rel=1e-4)
    res = run_gwas(GenotypeSource(pfile=str(d / "raw")), d / "pheno.tsv", d / "covar.tsv", tmp_path / "pgen",
                   qc=qc, settings=settings, threads=1)
    _compare_glm(tmp_path / "pgen", {y: [d / f"pg.{y}.glm.linear"] for y in ("y1", "y2")}, beta_se=2e-5, se_rel=2e-5)


def test_gwas_keep_extract_chr_min_info_match_plink2(fileset, tmp_path):
    from edfgen.genetics.genotypes import GenotypeSource, QCSettings
    from edfgen.genetics.gwas import GwasSettings, run_gwas

    d = fileset
    iid = pd.read_csv(d / "raw.psam", sep="\t")["#IID"]
    (tmp_path / "keep.txt").write_text("\n".join(iid[:400]) + "\n")
    (tmp_path / "remove.txt").write_text("\n".join(iid[:20]) + "\n")
    (tmp_path / "extract.txt").write_text("\n".join(f"rs{i}" for i in range(1, M + 1, 2)) + "\n")
    _plink2("--pfile", "raw", "--keep", tmp_path / "keep.txt", "--remove", tmp_path / "remove.txt", "--extract",
            tmp_path / "extract.txt", "--chr", "2", "--mach-r2-filter", "0.9", "2", "--pheno", "pheno.tsv",
            "--pheno-name", "y1", "--covar", "covar.tsv", "--glm", "hide-covar", "omit-ref", "--out", tmp_path / "sel",
            cwd=d)
    src = GenotypeSource(pfile=str(d / "raw"), keep=str(tmp_path / "keep.txt"), remove=str(tmp_path / "remove.txt"),
                         extract=str(tmp_path / "extract.txt"), chromosomes=("2",), min_info=0.9)
    run_gwas(src, d / "pheno.tsv", d / "covar.tsv", tmp_path / "out", pheno_cols=["y1"], threads=1,
             qc=QCSettings(maf=0.0, call_rate=0.0, hwe_p=0.0, sample_call_rate=0.0),
             settings=GwasSettings(transform="none", missing_genotypes="drop", plots=False))
    ref = pd.read_csv(tmp_path / "sel.y1.glm.linear", sep="\t")
    assert 50 < len(ref) < M // 4          # the filters did remove variants
    _compare_glm(tmp_path / "out", {"y1": [tmp_path / "sel.y1.glm.linear"]}, beta_se=2e-5, se_rel=2e-5)
    qc = pd.read_csv(tmp_path / "out" / "qc_report.tsv", sep="\t").set_index("filter")
    assert qc.loc["min_info", "removed"] > 0
