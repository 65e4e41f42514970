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


def test_clump_per_chromosome_files_equal_whole_genome_with_a_pgen_panel(fileset, tmp_path):
    """One phenotype's per-chromosome sumstats (gwas --chr N, one directory each) clump exactly like the
    whole-genome file; a variant in two of them is an input error."""
    from edfgen.genetics.clump import ClumpSettings, run_clump
    from edfgen.genetics.genotypes import GenotypeSource, QCSettings
    from edfgen.genetics.gwas import GwasSettings, run_gwas

    d = fileset
    qc = QCSettings(maf=0.0, call_rate=0.0, hwe_p=0.0, sample_call_rate=0.0)
    gs = GwasSettings(plots=False)
    run_gwas(GenotypeSource(pfile=str(d / "raw")), d / "pheno.tsv", d / "covar.tsv", tmp_path / "all", qc=qc,
             settings=gs, threads=1)
    for c in ("1", "2"):
        run_gwas(GenotypeSource(pfile=str(d / "raw"), chromosomes=(c,)), d / "pheno.tsv", d / "covar.tsv",
                 tmp_path / f"chr{c}", qc=qc, settings=gs, threads=1)
    panel = GenotypeSource(pfile=str(d / "raw"))
    settings = ClumpSettings(p1=0.05, p2=0.5, r2=0.001, kb=200)
    whole = run_clump([tmp_path / "all" / "y1.tsv.gz", tmp_path / "all" / "y2.tsv.gz"], out_dir=tmp_path / "cw",
                      bfile=panel, settings=settings)
    split = run_clump([tmp_path / f"chr{c}" / f"y{k}.tsv.gz" for c in "12" for k in "12"], out_dir=tmp_path / "cs",
                      bfile=panel, settings=settings)
    assert len(whole.clumps) > 20 and set(whole.clumps["phenotype"]) == {"y1", "y2"}
    pd.testing.assert_frame_equal(whole.clumps, split.clumps)
    pd.testing.assert_frame_equal(whole.loci, split.loci)
    with pytest.raises(InputError, match="appears twice"):
        run_clump([tmp_path / "chr1" / "y1.tsv.gz", tmp_path / "all" / "y1.tsv.gz"], out_dir=tmp_path / "cx",
                  bfile=panel, settings=settings)


@pytest.mark.parametrize("key", ["IID", "#IID", "eid", "ID_2"])
def test_participant_id_column_as_biobanks_name_it(tmp_path, caplog, key):
    import logging

    from edfgen.io.tables import read_table

    f = tmp_path / "pheno.tsv"
    f.write_text(f"FID\t{key}\ty\n0\t1000017\t0.5\n0\t1000023\t1.5\n" if key == "ID_2" else
                 f"{key}\ty\n1000017\t0.5\n1000023\t1.5\n")
    with caplog.at_level(logging.INFO, logger="edfgen"):
        t = read_table(f, id_column="IID")
    assert list(t["IID"]) == ["1000017", "1000023"] and t["IID"].dtype == object
    assert f"participant ids from column {key}" in caplog.text


def test_annotate_grch37_matches_by_rsid_and_lifted_position_only(tmp_path):
    """A GRCh37 locus is known by its rsID, or by position after liftover; a GRCh37 position that is
    numerically near a GRCh38 catalog position is never compared without liftover."""
    from edfgen.genetics.catalog import run_annotate
    from edfgen.genetics.liftover import Chain

    chain = tmp_path / "hg19ToHg38.tiny.chain"
    chain.write_text("chain 1000 chr3 198022430 + 30000000 50001000 chr3 198295559 + 29000000 49000000 1\n"
                     "10000000 1000 0\n10000000\n\n"
                     "chain 50 chr5 1000 + 100 200 chr5 1000 - 300 400 2\n100\n")
    c = Chain.read(chain)
    to_c, to_p = c.lift(["3", "chr3", "3", "3", "3", "5", "7"],
                        [39_750_000, 40_000_500, 40_001_001, 30_000_001, 30_000_000, 101, 5])
    assert list(to_c) == ["3", None, "3", "3", None, "5", None]      # gap, before the chain, unknown chromosome
    np.testing.assert_array_equal(to_p, [38_750_000, np.nan, 39_000_001, 29_000_001, np.nan, 700, np.nan])
    loci = tmp_path / "loci_b37.tsv"
    pd.DataFrame({"variant_id": ["rs6795970", "3:39750000:A:G", "3:38720000:C:T"], "chromosome": ["3", "3", "3"],
                  "base_pair_location": [38_766_675, 39_750_000, 38_720_000], "p_value": [1e-12, 1e-9, 1e-8]}
                 ).to_csv(loci, sep="\t", index=False)
    cat = Path(__file__).parent / "data" / "gwas_catalog_v1.0.2_small.tsv"
    with pytest.raises(InputError, match="GRCh37"):           # the file name says b37: GRCh38 refuses it
        run_annotate(loci, cat, tmp_path / "x.tsv", any_trait=True)
    plain = run_annotate(loci, cat, tmp_path / "a.tsv", any_trait=True, reference_genome="GRCh37")
    assert list(plain["known_by"]) == ["rsid", "", ""] and list(plain["novel"]) == [False, True, True]
    assert plain["nearest_catalog_distance"].isna().all()     # no positional comparison across builds
    lifted = run_annotate(loci, cat, tmp_path / "b.tsv", any_trait=True, reference_genome="GRCh37",
                          liftover_chain=chain)
    assert list(lifted["known_by"]) == ["rsid", "window", ""] and list(lifted["novel"]) == [False, False, True]
    assert lifted["nearest_catalog_distance"].tolist()[1:] == [38_750_000 - 38_725_184, 38_547_672 - 37_720_000]
    assert list(lifted["base_pair_location"]) == [38_766_675, 39_750_000, 38_720_000]   # output stays GRCh37


def test_hail_import_grch37_positions_beyond_grch38_chromosome_ends(hail_context, tmp_path):
    """chr1:249,000,000 exists on GRCh37 (chr1 is 249,250,621 bp) but not on GRCh38 (248,956,422 bp)."""
    from bed_reader import to_bed

    from edfgen.genetics.genotypes import GenotypeSource, import_genotypes

    rng = np.random.default_rng(0)
    iid = np.array([f"S{i}" for i in range(60)])
    to_bed(tmp_path / "g.bed", rng.integers(0, 3, (60, 3)).astype(np.float32), count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": ["rs1", "rs2", "rs3"], "chromosome": ["1", "1", "2"],
        "bp_position": [1_000_000, 249_000_000, 5_000], "allele_1": ["A"] * 3, "allele_2": ["G"] * 3})
    mt = import_genotypes(GenotypeSource(bfile=str(tmp_path / "g"), reference_genome="GRCh37"), hl=hail_context)
    rows = mt.rows().collect()
    assert [(r.locus.contig, r.locus.position) for r in rows] == [("1", 1_000_000), ("1", 249_000_000), ("2", 5_000)]
    with pytest.raises(Exception, match="249000000"):   # the default GRCh38 rejects the locus
        import_genotypes(GenotypeSource(bfile=str(tmp_path / "g")), hl=hail_context).rows().collect()


def test_hail_engine_reads_per_chromosome_grch37_bgen_like_the_fast_engine(fileset, hail_context, tmp_path):
    """The cluster engine (Hail, local mode here) on the {chr}-templated GRCh37 BGEN set gives the fast
    engine's statistics (both mean-impute missing dosages)."""
    from edfgen.genetics.genotypes import GenotypeSource, QCSettings
    from edfgen.genetics.gwas import GwasSettings, run_gwas
    from edfgen.genetics.hail_context import HailSettings

    d = fileset
    for c in (1, 2):   # UK Biobank's .sample files repeat the participant id in ID_1 (Hail keys samples by it)
        lines = (d / f"imp8_chr{c}.sample").read_text().splitlines()
        (tmp_path / f"ukb_chr{c}.sample").write_text("\n".join(lines[:2] + [" ".join([ln.split()[1], *ln.split()[1:]])
                                                                            for ln in lines[2:]]) + "\n")
    src = GenotypeSource(bgen=str(d / "imp8_chr{chr}.bgen"), sample=str(tmp_path / "ukb_chr{chr}.sample"),
                         reference_genome="GRCh37")
    qc = QCSettings(maf=0.0, call_rate=0.0, hwe_p=0.0, sample_call_rate=0.0)
    out = {}
    for engine in ("fast", "hail"):
        res = run_gwas(src, d / "pheno.tsv", d / "covar.tsv", tmp_path / engine, pheno_cols=["y1"], qc=qc,
                       settings=GwasSettings(plots=False, engine=engine), threads=1,
                       hail=HailSettings(threads=1, tmp_dir=str(tmp_path / "hail_tmp")))
        assert res.engine == engine
        out[engine] = pd.read_csv(tmp_path / engine / "y1.tsv.gz", sep="\t").set_index("variant_id")
    f, h = out["fast"], out["hail"].loc[out["fast"].index]
    assert len(f) == M and (f["effect_allele"] == h["effect_allele"]).all()
    for c in ("beta", "standard_error", "p_value"):   # float32 dosages here, Hail's float64: ~1e-8 apart
        np.testing.assert_allclose(f[c], h[c], rtol=1e-4, atol=1e-7)
