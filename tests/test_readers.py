"""Genotype readers (PLINK 1 .bed, PLINK 2 .pgen, BGEN) against files plink2 wrote, and the fast GWAS
engine on BGEN/PGEN against plink2 --glm."""

from __future__ import annotations

import dataclasses

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError
from edfgen.formats.genotypes import (GenotypeSource, expand_template, open_genotypes, parse_chromosomes,
                                     read_id_list, select_samples, select_variants)

pytestmark = pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")

N, M = 500, 1200


def _plink2(*args, cwd: Path) -> None:
    subprocess.run(["plink2", "--threads", "1", *map(str, args)], cwd=cwd, check=True, capture_output=True)


def dummy_pgen(d: Path, n: int, m: int, *, seed: int, spacing: int) -> None:
    """``d/raw.pgen``: plink2 --dummy dosages (2 % missing), the first half of the variants on
    chromosome 1 and the rest on chromosome 2, ``spacing`` bp apart, ids ``rs1..``."""
    _plink2("--dummy", n, m, "0.02", "acgt", "dosage-freq=0.4", "--seed", seed, "--make-pgen", "--out", "raw", cwd=d)
    pvar = pd.read_csv(d / "raw.pvar", sep="\t")
    pvar["#CHROM"] = np.where(np.arange(m) < m // 2, "1", "2")
    pvar["POS"] = 10_000 + np.arange(m) * spacing
    pvar["ID"] = [f"rs{i + 1}" for i in range(m)]
    pvar.to_csv(d / "raw.pvar", sep="\t", index=False)


def write_pheno_covar(d: Path, n: int, *, seed: int, missing_row: int) -> None:
    """``pheno.tsv`` (y1, y2 normal; y2 missing in ``missing_row``) and ``covar.tsv`` (age, sex) for
    the samples of ``d/raw.psam``."""
    rng = np.random.default_rng(seed)
    iid = pd.read_csv(d / "raw.psam", sep="\t")["#IID"]
    ph = pd.DataFrame({"IID": iid, "y1": rng.normal(size=n), "y2": rng.normal(size=n)})
    ph.loc[missing_row, "y2"] = np.nan
    ph.to_csv(d / "pheno.tsv", sep="\t", index=False, na_rep="NA")
    pd.DataFrame({"IID": iid, "age": rng.normal(50, 8, n), "sex": rng.integers(0, 2, n)}).to_csv(
        d / "covar.tsv", sep="\t", index=False)


@pytest.fixture(scope="module")
def fileset(tmp_path_factory) -> Path:
    """plink2 --dummy dosages (2 % missing) on chromosomes 1 and 2 as .pgen, per-chromosome BGEN 1.2
    8-bit and BGEN 1.3 16-bit (ref-first: second allele = ALT) and a .bed; phenotypes and covariates."""
    d = tmp_path_factory.mktemp("readers")
    dummy_pgen(d, N, M, seed=11, spacing=1000)
    for c in (1, 2):
        _plink2("--pfile", "raw", "--chr", c, "--export", "bgen-1.2", "bits=8", "ref-first", "--out", f"imp8_chr{c}",
                cwd=d)
    _plink2("--pfile", "raw", "--export", "bgen-1.3", "bits=16", "ref-first", "--out", "imp16", cwd=d)
    _plink2("--pfile", "raw", "--make-bed", "--out", "hard", cwd=d)
    write_pheno_covar(d, N, seed=3, missing_row=7)
    return d


@pytest.mark.parametrize("suffix", [".pvar.zst", ".pvar.gz"])
def test_pgen_with_a_compressed_pvar_reads_as_the_plain_one(fileset, tmp_path, suffix):
    """plink2 --make-pgen vzs writes PREFIX.pvar.zst (gzip: .pvar.gz): --pfile read it as the .pvar (s35d: the
    reader took .pvar.gz but the file check refused it, "--pfile X.pvar: file not found"; .zst was refused)."""
    import gzip

    import zstandard

    for ext in (".pgen", ".psam"):
        shutil.copy(fileset / f"raw{ext}", tmp_path / f"c{ext}")
    text = (fileset / "raw.pvar").read_bytes()
    packed = zstandard.ZstdCompressor().compress(text) if suffix == ".pvar.zst" else gzip.compress(text)
    (tmp_path / f"c{suffix}").write_bytes(packed)
    src = GenotypeSource(pfile=str(tmp_path / "c"))
    assert src.paths()[1] == str(tmp_path / f"c{suffix}")
    got, ref = open_genotypes(src), open_genotypes(GenotypeSource(pfile=str(fileset / "raw")))
    pd.testing.assert_frame_equal(got.variants, ref.variants)
    v = np.arange(0, M, 97)
    np.testing.assert_array_equal(got.read(None, v), ref.read(None, v))


def test_pgen_bgen_bed_read_the_same_dosages(fileset):
    d = fileset
    pg = open_genotypes(GenotypeSource(pfile=str(d / "raw")))
    b8 = open_genotypes(GenotypeSource(bgen=str(d / "imp8_chr{chr}.bgen"), sample=str(d / "imp8_chr{chr}.sample")))
    b16 = open_genotypes(GenotypeSource(bgen=str(d / "imp16.bgen")))      # sample ids from the BGEN header
    bed = open_genotypes(GenotypeSource(bfile=str(d / "hard")))
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


def _bgen_fast_and_cbgen(path, sample=None, *, threads=2):
    from edfgen.formats.genotypes.bgen import BgenReader

    fast, ref = BgenReader(path, sample=sample, threads=threads), BgenReader(path, sample=sample, fast=False)
    assert fast._fd is not None and ref._fd is None
    return fast, ref


def _count_cbgen_calls(reader, monkeypatch) -> list[int]:
    """Variants the fast reader hands to cbgen (recorded into the returned list)."""
    calls: list[int] = []
    orig = reader._dosage_cbgen

    def spy(v, sidx):
        calls.append(v)
        return orig(v, sidx)

    monkeypatch.setattr(reader, "_dosage_cbgen", spy)
    return calls


@pytest.mark.parametrize("export", [("bgen-1.2", "bits=8"), ("bgen-1.2", "bits=16"), ("bgen-1.3", "bits=16"),
                                    ("bgen-1.2", "bits=5"), ("bgen-1.3", "bits=12"), ("bgen-1.2", "bits=1")])
def test_bgen_fast_decoder_equals_cbgen_on_plink2_files(fileset, tmp_path, monkeypatch, export):
    """The fast BGEN decoder (pread + isal/zstd + numpy) gives cbgen's float32 dosages bit for bit on
    plink2-written files (zlib for 1.2, zstd for 1.3; 2 % missing calls), whole and on sample/variant
    subsets in any order, through read and blocks, without calling cbgen; and both are plink2's own
    dosages to the bit depth's resolution."""
    d = fileset
    _plink2("--pfile", "raw", "--export", *export, "ref-first", "--out", tmp_path / "x", cwd=d)
    fast, ref = _bgen_fast_and_cbgen(str(tmp_path / "x.bgen"))
    calls = _count_cbgen_calls(fast, monkeypatch)
    v = np.arange(M)
    F, R = fast.read(None, v), ref.read(None, v)
    assert F.dtype == np.float32 and F.flags.f_contiguous and F.shape == (N, M)
    np.testing.assert_array_equal(F, R)                  # NaN where missing, equal bits elsewhere
    assert 0.005 < np.isnan(F).mean() < 0.5
    P = open_genotypes(GenotypeSource(pfile=str(d / "raw"))).read(None, v)
    bits = int(export[1].split("=")[1])
    assert (np.isnan(F) == np.isnan(P)).all() and np.nanmax(np.abs(F - P)) <= 2 / (2 ** bits - 1) + 1e-6
    s, w = np.array([9, 3, 400, 0, 3]), np.array([700, 5, 599, 600, 12, 5, 1199])
    np.testing.assert_array_equal(fast.read(s, w), R[np.ix_(s, w)])
    np.testing.assert_array_equal(fast.read(s, w, dtype=np.int8), ref.read(s, w, dtype=np.int8))
    H = fast.read(None, v, dtype=np.int8)                # int8 hard calls decoded directly (LD, clumping)
    np.testing.assert_array_equal(H, np.where(np.isnan(R), -127, np.floor(R + 0.5)))
    assert H.dtype == np.int8 and H.flags.f_contiguous
    got = np.hstack([blk for _, blk in fast.blocks(s, v[::-1], block=500)])
    np.testing.assert_array_equal(got, R[np.ix_(s, v[::-1])])
    fast.BATCH_BYTES, fast.MAX_GAP = 7 * (10 + 5 * N), 0     # batches of 7 variants, one pread per gap
    sparse = np.r_[0:40, 41, 43, 300:350:3, 1100:1200]
    np.testing.assert_array_equal(fast.read(None, sparse), R[:, sparse])
    assert calls == []


def _bgen_bits(values, bits: int) -> bytes:
    acc = 0
    for i, x in enumerate(values):
        acc |= int(x) << (i * bits)
    return acc.to_bytes((len(values) * bits + 7) // 8, "little")


def _write_bgen(path: Path, variants, n: int, *, compression: int, layout: int = 2) -> None:
    """A BGEN file as the specification lays it out (Band & Marchini 2018), with sample ids.

    ``variants``: (id, alleles, ploidy [n] with bit 7 for missing, phased, bits, stored integers)."""
    import zlib

    samples = b"".join(len(f"s{i}").to_bytes(2, "little") + f"s{i}".encode() for i in range(n))
    sample_block = (8 + len(samples)).to_bytes(4, "little") + n.to_bytes(4, "little") + samples
    flags = compression | (layout << 2) | (1 << 31)
    header = b"".join(x.to_bytes(4, "little") for x in (20, len(variants), n)) + b"bgen" + flags.to_bytes(4, "little")
    out = [(20 + len(sample_block)).to_bytes(4, "little"), header, sample_block]
    for k, (vid, alleles, ploidy, phased, bits, ints) in enumerate(variants):
        head = b"".join(len(x).to_bytes(2, "little") + x for x in (vid.encode(), vid.encode(), b"1"))
        head += (1000 + k).to_bytes(4, "little") + len(alleles).to_bytes(2, "little")
        head += b"".join(len(a).to_bytes(4, "little") + a for a in map(str.encode, alleles))
        real = [p & 63 for p in ploidy]
        data = (n.to_bytes(4, "little") + len(alleles).to_bytes(2, "little") + bytes([min(real), max(real)])
                + bytes(ploidy) + bytes([phased, bits]) + _bgen_bits(ints, bits))
        if compression == 0:
            block = len(data).to_bytes(4, "little") + data
        else:
            if compression == 1:
                packed = zlib.compress(data)
            else:
                import zstandard
                packed = zstandard.ZstdCompressor().compress(data)
            block = (len(packed) + 4).to_bytes(4, "little") + len(data).to_bytes(4, "little") + packed
        out.append(head + block)
    path.write_bytes(b"".join(out))


@pytest.mark.parametrize("compression", [0, 1, 2])
def test_bgen_fast_decoder_bit_depths_phasing_and_fallbacks(tmp_path, monkeypatch, compression):
    """Hand-written BGEN layout 2 files (no compression, zlib, zstd): unphased and phased biallelic
    diploid rows at 1-32 bits with missing samples decode fast and equal both cbgen and the exact
    dosage (P(AB) + 2 P(BB), P(B|1) + P(B|2)); a multi-allelic row reads NaN, as before, and no row
    needs cbgen (haploid samples: test_haploid_genotypes; a ploidy above 2 is an error:
    test_fuzz_genotypes::test_bgen_non_diploid_ploidy)."""
    if compression == 2:
        pytest.importorskip("zstandard")
    rng = np.random.default_rng(compression)
    n, variants, exact = 37, [], []
    for k, (bits, phased) in enumerate([(b, 0) for b in (1, 2, 3, 7, 8, 9, 12, 16, 23, 24, 31, 32)]
                                       + [(b, 1) for b in (8, 5, 16, 32)]):
        top = 2 ** bits - 1
        a = rng.integers(0, top + 1, n)
        b = rng.integers(0, top + 1, n) if phased else np.array([rng.integers(0, top - x + 1) for x in a])
        miss = rng.random(n) < 0.15
        a, b = np.where(miss, 0, a), np.where(miss, 0, b)
        ploidy = np.where(miss, 0x82, 2)
        variants.append((f"v{k}", ["A", "G"], ploidy.tolist(), phased, bits, np.c_[a, b].ravel().tolist()))
        d = (2 * top - a - b) / top if phased else (b + 2 * (top - a - b)) / top
        exact.append(np.where(miss, np.nan, d))
    tri = ("tri", ["A", "G", "T"], [2] * n, 0, 8, [0, 0, 0, 0, 255] * n)   # multi-allelic
    # libbgen misreads uncompressed layout-2 blocks (it expects no length field): there the reference
    # is the same rows zlib-compressed
    variants += [tri]
    _write_bgen(tmp_path / "h.bgen", variants, n, compression=compression)
    _write_bgen(tmp_path / "z.bgen", variants, n, compression=1)
    fast, ref = _bgen_fast_and_cbgen(str(tmp_path / "h.bgen"), threads=1)
    if compression == 0:
        from edfgen.formats.genotypes.bgen import BgenReader
        ref = BgenReader(str(tmp_path / "z.bgen"), fast=False)
    assert list(fast.variants["n_alleles"]) == [2] * (len(variants) - 1) + [3]
    calls = _count_cbgen_calls(fast, monkeypatch)
    v = np.arange(len(variants))
    F, R = fast.read(None, v), ref.read(None, v)
    np.testing.assert_array_equal(F, R)
    np.testing.assert_allclose(F[:, :len(exact)], np.array(exact).T, rtol=0, atol=3e-7)
    np.testing.assert_array_equal(fast.read(None, v, dtype=np.int8), ref.read(None, v, dtype=np.int8))
    assert np.isnan(F[:, -1]).all()
    assert calls == []
    s = np.array([36, 0, 5, 5])
    np.testing.assert_array_equal(fast.read(s, v[::-1]), R[np.ix_(s, v[::-1])])
    fast.close()
    ref.close()


def test_bgen_fast_decoder_on_phased_plink2_file(tmp_path, monkeypatch):
    """plink2's phased BGEN (from a phased VCF, biallelic sites): fast == cbgen == the VCF's allele counts."""
    rng = np.random.default_rng(5)
    n, m = 30, 200
    hap = rng.integers(0, 2, (m, n, 2))
    miss = rng.random((m, n)) < 0.05
    gts = np.where(miss, ".|.", hap[..., 0].astype(str).astype(object) + "|" + hap[..., 1].astype(str).astype(object))
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=1>", '##FORMAT=<ID=GT,Number=1,Type=String,Description="GT">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
                       + [f"s{i}" for i in range(n)])]
    lines += ["\t".join(["1", str(100 + 10 * j), f"v{j}", "A", "C", ".", ".", ".", "GT", *gts[j]]) for j in range(m)]
    (tmp_path / "ph.vcf").write_text("\n".join(lines) + "\n")
    _plink2("--vcf", "ph.vcf", "--export", "bgen-1.2", "bits=8", "ref-first", "--out", "ph", cwd=tmp_path)
    fast, ref = _bgen_fast_and_cbgen(str(tmp_path / "ph.bgen"), str(tmp_path / "ph.sample"))
    calls = _count_cbgen_calls(fast, monkeypatch)
    v = np.arange(m)
    F = fast.read(None, v)
    np.testing.assert_array_equal(F, ref.read(None, v))
    np.testing.assert_array_equal(F, np.where(miss, np.nan, hap.sum(axis=2)).T)
    assert calls == [] and ref._bgen.read_genotype(int(ref._offsets[0])).phased


def test_templates_selection_and_errors(fileset, tmp_path):
    d = fileset
    one = open_genotypes(GenotypeSource(bgen=str(d / "imp8_chr{chr}.bgen"), sample=str(d / "imp8_chr1.sample"),
                                        chromosomes=("2",)))
    assert set(one.variants["chromosome"]) == {"2"} and one.n_variants == M // 2
    rep = open_genotypes(GenotypeSource(bgen=(str(d / "imp8_chr1.bgen"), str(d / "imp8_chr2.bgen")),
                                        sample=str(d / "imp8_chr1.sample")))
    assert rep.n_variants == M
    assert parse_chromosomes("1-3,X,chr5") == ["1", "2", "3", "X", "5"]
    for c in ("01", "02", "10"):       # UK Biobank-style file names: chromosome 1 spelled 01 in the file name
        (tmp_path / f"ukb_chr{c}.bgen").touch()
    tpl = str(tmp_path / "ukb_chr{chr}.bgen")
    assert expand_template([tpl], option="--bgen", chromosomes=None) == [
        (str(tmp_path / "ukb_chr01.bgen"), "1"), (str(tmp_path / "ukb_chr02.bgen"), "2"),
        (str(tmp_path / "ukb_chr10.bgen"), "10")]
    assert expand_template([tpl], option="--bgen", chromosomes=parse_chromosomes("01,10")) == [
        (str(tmp_path / "ukb_chr01.bgen"), "1"), (str(tmp_path / "ukb_chr10.bgen"), "10")]
    with pytest.raises(InputError, match="ukb_chr3.bgen not found"):
        expand_template([tpl], option="--bgen", chromosomes=["3"])
    (tmp_path / "ukb_chr1.bgen").touch()      # both spellings: never one picked silently
    with pytest.raises(InputError, match="both .*ukb_chr1.bgen and .*ukb_chr01.bgen exist for chromosome 1"):
        expand_template([tpl], option="--bgen", chromosomes=None)
    with pytest.raises(InputError, match="chromosome 3 of --chr"):
        open_genotypes(GenotypeSource(bgen=str(d / "imp8_chr{chr}.bgen"), chromosomes=("1", "3")))
    bad = tmp_path / "other.sample"   # per-chromosome files must list the same samples
    lines = (d / "imp8_chr2.sample").read_text().splitlines()
    lines[2] = lines[2].replace(lines[2].split()[1], "renamed", 1)  # an id the BGEN does not store
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="not the same samples"):
        open_genotypes(GenotypeSource(bgen=(str(d / "imp8_chr1.bgen"), str(d / "imp8_chr2.bgen")),
                                      sample=(str(d / "imp8_chr1.sample"), str(bad))))
    lines = (d / "imp8_chr2.sample").read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]  # two of the BGEN's own ids swapped: refused by the BGEN reader
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="another order"):
        open_genotypes(GenotypeSource(bgen=(str(d / "imp8_chr1.bgen"), str(d / "imp8_chr2.bgen")),
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



def test_templates__chromosome_23_finds_the_x_file_and_x_the_23_file(tmp_path):
    """Review s32d F6: `--chr 23` with a `{chr}` template looked for `..._chr23_...` only, while `--chr 01` finds
    `chr1`; now X, Y and MT are also spelled 23, 24 and 26 (and the other way round)."""
    (tmp_path / "ukb_chrX.bgen").touch()
    (tmp_path / "b_chr23.bgen").touch()
    ukb, b = str(tmp_path / "ukb_chr{chr}.bgen"), str(tmp_path / "b_chr{chr}.bgen")
    assert expand_template([ukb], option="--bgen", chromosomes=parse_chromosomes("23")) == [
        (str(tmp_path / "ukb_chrX.bgen"), "23")]
    assert expand_template([b], option="--bgen", chromosomes=["X"]) == [(str(tmp_path / "b_chr23.bgen"), "X")]
    assert expand_template([b], option="--bgen", chromosomes=None) == [(str(tmp_path / "b_chr23.bgen"), "X")]
    with pytest.raises(InputError, match="ukb_chr24.bgen not found"):
        expand_template([ukb], option="--bgen", chromosomes=["24"])

def test_mach_r2_equals_plink2(fileset):
    from edfgen.engines.stream import count_variants

    d = fileset
    _plink2("--pfile", "raw", "--freq", "cols=+machr2", "--out", "fr", cwd=d)
    ref = pd.read_csv(d / "fr.afreq", sep="\t")
    pg = open_genotypes(GenotypeSource(pfile=str(d / "raw")))
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
    from edfgen.kernels.qc import QCSettings
    from edfgen.commands.gwas import GwasSettings, run_gwas

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
    from edfgen.kernels.qc import QCSettings
    from edfgen.commands.gwas import GwasSettings, run_gwas

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
    from edfgen.commands.clump import run_clump
    from edfgen.kernels.clump import ClumpSettings
    from edfgen.kernels.qc import QCSettings
    from edfgen.commands.gwas import GwasSettings, run_gwas

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

    from edfgen.formats.tables import read_table

    f = tmp_path / "pheno.tsv"
    f.write_text(f"FID\t{key}\ty\n0\t1000017\t0.5\n0\t1000023\t1.5\n" if key == "ID_2" else
                 f"{key}\ty\n1000017\t0.5\n1000023\t1.5\n")
    with caplog.at_level(logging.DEBUG, logger="edfgen"):
        t = read_table(f, id_column="IID")
    assert list(t["IID"]) == ["1000017", "1000023"] and t["IID"].dtype == object
    assert f"participant ids from column {key}" in caplog.text


def test_annotate_grch37_matches_by_rsid_and_lifted_position_only(tmp_path, caplog):
    """A GRCh37 locus is known by its rsID, or by position after liftover; a GRCh37 position that is
    numerically near a GRCh38 catalog position is never compared without liftover."""
    from edfgen.commands.annotate import run_annotate
    from edfgen.formats.liftover import Chain

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
    with caplog.at_level("WARNING"):
        plain = run_annotate(loci, cat, tmp_path / "a.tsv", any_trait=True, reference_genome="GRCh37")
    assert list(plain["known_by"]) == ["rsid", "", ""] and list(plain["novel"]) == [False, True, True]
    # said (review s30: all loci novel by default without a word): novelty judged by rsID only
    assert "without --liftover-chain: the 3 loci are matched with the GRCh38 catalog by rsID only" in caplog.text
    caplog.clear()
    assert plain["nearest_catalog_distance"].isna().all()     # no positional comparison across builds
    lifted = run_annotate(loci, cat, tmp_path / "b.tsv", any_trait=True, reference_genome="GRCh37",
                          liftover_chain=chain)
    assert list(lifted["known_by"]) == ["rsid", "window", ""] and list(lifted["novel"]) == [False, False, True]
    assert lifted["nearest_catalog_distance"].tolist()[1:] == [38_750_000 - 38_725_184, 38_547_672 - 37_720_000]
    assert list(lifted["base_pair_location"]) == [38_766_675, 39_750_000, 38_720_000]   # output stays GRCh37
    assert "rsID only" not in caplog.text
    # loci without any rsID read as GRCh38: their build cannot be checked, and a warning says so
    no_rs = tmp_path / "loci_cpra.tsv"
    pd.read_csv(loci, sep="\t").iloc[1:].to_csv(no_rs, sep="\t", index=False)
    with caplog.at_level("WARNING"):
        run_annotate(no_rs, cat, tmp_path / "c.tsv", any_trait=True)
    assert "no rsIDs, so their build cannot be checked" in caplog.text


def test_hail_import_grch37_positions_beyond_grch38_chromosome_ends(hail_context, tmp_path):
    """chr1:249,000,000 exists on GRCh37 (chr1 is 249,250,621 bp) but not on GRCh38 (248,956,422 bp)."""
    from bed_reader import to_bed

    from edfgen.engines.hail_import import import_genotypes

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
    from edfgen.kernels.qc import QCSettings
    from edfgen.commands.gwas import GwasSettings, run_gwas
    from edfgen.engines.hail import HailSettings

    d = fileset
    for c in (1, 2):   # UK Biobank's .sample files repeat the participant id in ID_1 (Hail keys samples by it)
        lines = (d / f"imp8_chr{c}.sample").read_text().splitlines()
        (tmp_path / f"ukb_chr{c}.sample").write_text("\n".join(lines[:2] + [" ".join([ln.split()[1], *ln.split()[1:]])
                                                                            for ln in lines[2:]]) + "\n")
    from edfgen.engines.stream import count_variants

    src = GenotypeSource(bgen=str(d / "imp8_chr{chr}.bgen"), sample=str(tmp_path / "ukb_chr{chr}.sample"),
                         reference_genome="GRCh37")
    with src.open_reader() as reader:   # --min-info half-way into the widest gap near the median INFO
        info = np.sort(count_variants(reader, np.arange(reader.n_samples), np.arange(reader.n_variants)).info)
    mid = np.flatnonzero((info > np.quantile(info, 0.3)) & (info < np.quantile(info, 0.7)))
    gap = mid[np.argmax(np.diff(info[mid]))] if len(mid) > 1 else len(info) // 2
    src = dataclasses.replace(src, min_info=float(info[gap] + info[gap + 1]) / 2)
    n_kept = int((info >= src.min_info).sum())
    assert 0 < n_kept < M
    qc = QCSettings(maf=0.0, call_rate=0.0, hwe_p=0.0, sample_call_rate=0.0)
    out = {}
    for engine in ("fast", "hail"):
        res = run_gwas(src, d / "pheno.tsv", d / "covar.tsv", tmp_path / engine, pheno_cols=["y1"], qc=qc,
                       settings=GwasSettings(plots=False, engine=engine), threads=1,
                       hail=HailSettings(threads=1, tmp_dir=str(tmp_path / "hail_tmp")))
        assert res.engine == engine
        # the build of the genotypes is what every -meta.yaml says (one option, never NR)
        assert "genome_assembly: GRCh37" in (tmp_path / engine / "y1.tsv.gz-meta.yaml").read_text()
        out[engine] = pd.read_csv(tmp_path / engine / "y1.tsv.gz", sep="\t").set_index("variant_id")
    f, h = out["fast"], out["hail"].loc[out["fast"].index]
    assert len(f) == len(out["hail"]) == n_kept and (f["effect_allele"] == h["effect_allele"]).all()
    for c in ("beta", "standard_error", "p_value"):   # float32 dosages here, Hail's float64: ~1e-8 apart
        np.testing.assert_allclose(f[c], h[c], rtol=1e-4, atol=1e-7)


def test_bgen_index_cache__a_file_replaced_with_its_mtime_restored_is_indexed_again(fileset, tmp_path, monkeypatch):
    """The BGEN index cache is keyed on size, mtime and a digest of the first and last MiB: a BGEN overwritten by
    one of the same size whose mtime was restored (touch -r, cp -p) is indexed again (review finding: it kept the
    old file's variant ids), while a chmod keeps the cache (ctime would have thrown it away)."""
    import os
    import shutil

    from edfgen.formats.genotypes.bgen import BgenReader

    monkeypatch.setenv("EDFGEN_CACHE", str(tmp_path / "cache"))
    path = tmp_path / "g.bgen"
    shutil.copy(fileset / "imp8_chr1.bgen", path)
    sample = str(fileset / "imp8_chr1.sample")
    first = BgenReader(str(path), sample=sample).variants["variant_id"].iloc[0]
    data = path.read_bytes()
    renamed = first[:-1] + ("X" if first[-1] != "X" else "Y")               # same length: same size, same layout
    at = data.index(first.encode())
    st = path.stat()
    path.write_bytes(data[:at] + renamed.encode() + data[at + len(first):])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))                     # mtime restored
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    assert BgenReader(str(path), sample=sample).variants["variant_id"].iloc[0] == renamed
    cached = sorted((tmp_path / "cache").rglob("*.metafile"))
    assert len(cached) == 2                                    # the first file's index, then the replacement's
    os.chmod(path, 0o640)                                                  # ctime changes, content does not
    assert BgenReader(str(path), sample=sample).variants["variant_id"].iloc[0] == renamed
    assert sorted((tmp_path / "cache").rglob("*.metafile")) == cached       # no new index built


def test_bgen_metafile_beside_the_bgen__not_read_so_a_replaced_bgen_gives_its_own_ids(fileset, tmp_path, monkeypatch):
    """Was: ``FILE.bgen.metafile`` was trusted when newer than the BGEN, so a BGEN replaced by a corrected one
    (same block offsets, mtime older than the index: ``cp -p``, ``rsync -a``, ``tar x``) kept the old index's
    ids and positions without a word (review s30f). The index now always comes from the keyed cache."""
    import os
    import shutil

    from edfgen.formats.genotypes.bgen import BgenReader

    monkeypatch.setenv("EDFGEN_CACHE", str(tmp_path / "cache"))
    path, sample = tmp_path / "g.bgen", str(fileset / "imp8_chr1.sample")
    shutil.copy(fileset / "imp8_chr1.bgen", path)
    reader = BgenReader(str(path), sample=sample)
    first = reader.variants["variant_id"].iloc[0]
    reader._bgen.create_metafile(Path(f"{path}.metafile"), verbose=False)           # the index of this version
    data = path.read_bytes()
    renamed = first[:-1] + ("X" if first[-1] != "X" else "Y")               # same length: same block offsets
    at = data.index(first.encode())
    path.write_bytes(data[:at] + renamed.encode() + data[at + len(first):])
    os.utime(path, ns=(10**18, 10**18))                                    # older than the .metafile
    assert BgenReader(str(path), sample=sample).variants["variant_id"].iloc[0] == renamed


@pytest.mark.parametrize("cache", ["a_file", "no/such/parent"])
def test_index_cache_unusable__one_line_naming_the_folder_and_edfgen_cache(fileset, tmp_path, monkeypatch, cache):
    """Was: a traceback (FileExistsError, FileNotFoundError from mkdir) for an EDFGEN_CACHE that is a file or cannot
    be created (review s30f)."""
    from edfgen.exceptions import InputError
    from edfgen.formats.genotypes.bgen import BgenReader
    from edfgen.formats.genotypes.vcf import cached_tabix_index

    (tmp_path / "a_file").write_text("x")
    (tmp_path / "no").write_text("x")                                      # its "parent" is a file too
    monkeypatch.setenv("EDFGEN_CACHE", str(tmp_path / cache))
    with pytest.raises(InputError, match=r"--bgen .*imp8_chr1\.bgen: cannot write its index to the cache folder "
                                         r".*EDFGEN_CACHE"):
        BgenReader(str(fileset / "imp8_chr1.bgen"), sample=str(fileset / "imp8_chr1.sample"))
    vcf = tmp_path / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\ts1\n"
                   "1\t10\t.\tA\tG\t.\t.\t.\tGT\t0/1\n")
    import pysam

    pysam.tabix_compress(str(vcf), str(vcf) + ".gz")
    with pytest.raises(InputError, match=r"--vcf .*v\.vcf\.gz: cannot write its index .*EDFGEN_CACHE"):
        cached_tabix_index(str(vcf) + ".gz")


def test_select_variants__chr_names_meet_plink_codes_and_par_names():
    """``--chr X`` on a UK Biobank-style ``.bim`` (23 X, 24 Y, 25 XY, 26 MT) selected nothing (labels compared as
    text; ``--chr 1-22,X`` dropped X without a word); plink2's ``PAR1``/``PAR2`` were refused by ``--chr``. One
    name per chromosome on both sides now: X takes 23, XY, 25 and PAR1/2 (the outputs label them X)."""
    from types import SimpleNamespace

    from edfgen.formats.sumstats.layout import genotype_chromosome_labels

    chrom = ["1", "23", "25", "24", "26", "chrX", "PAR1", "PAR2", "XY", "M", "01", "2"]
    reader = SimpleNamespace(variants=pd.DataFrame({"chromosome": chrom, "variant_id": [f"v{i}" for i in range(12)],
                                                    "rsid": [None] * 12}), label="test.bed")
    x_rows = [1, 2, 5, 6, 7, 8]
    assert list(select_variants(reader, chromosomes=["X"])) == x_rows
    assert list(select_variants(reader, chromosomes=["23"])) == x_rows
    assert list(select_variants(reader, chromosomes=parse_chromosomes("1-22,X"))) == sorted([0, 10, 11, *x_rows])
    for par in ("XY", "25", "PAR1"):        # the pseudo-autosomal region alone, as before
        assert list(select_variants(reader, chromosomes=parse_chromosomes(par))) == [2, 6, 7, 8], par
    upper = SimpleNamespace(variants=reader.variants.assign(chromosome=["CHR1", "Chr23"] + chrom[2:]), label="u")
    assert list(select_variants(upper, chromosomes=["1"])) == [0, 10] and 1 in select_variants(upper, chromosomes=["X"])
    assert list(select_variants(reader, chromosomes=["MT", "Y"])) == [3, 4, 9]
    # the outputs name every X row X, so what --chr X selects is what the summary statistics call X
    assert set(genotype_chromosome_labels(np.asarray(chrom, dtype=object)[x_rows])) == {"X"}
    with pytest.raises(InputError, match="not a chromosome"):
        parse_chromosomes("PAR3")


def test_template__a_file_holding_another_chromosome_is_named(fileset, tmp_path):
    """A ``{chr}`` template's chromosome-2 file that is a copy of chromosome 1's gave every chromosome-1 variant
    twice, silently (review s27): the file is named with what it holds."""
    import shutil

    d = fileset
    for c in ("1", "2"):
        shutil.copy(d / "imp8_chr1.bgen", tmp_path / f"t_chr{c}.bgen")
    with pytest.raises(InputError, match=r"--bgen .*t_chr2.bgen: the \{chr\} template's file of chromosome 2 "
                                         r"holds variants of chromosome 1: is it the right file\?"):
        open_genotypes(GenotypeSource(bgen=str(tmp_path / "t_chr{chr}.bgen"), sample=str(d / "imp8_chr1.sample")))
    one = open_genotypes(GenotypeSource(bgen=str(tmp_path / "t_chr{chr}.bgen"), sample=str(d / "imp8_chr1.sample"),
                                        chromosomes=("1",)))
    assert set(one.variants["chromosome"]) == {"1"}


def test_hail_cache_keys__selection_contents_and_folders(fileset, tmp_path):
    """The Hail engine's genotype cache was keyed on the --extract file's name, not its contents (a list edited
    in place reused the old selection, silently); a MatrixTable folder (``--mt``) raised IsADirectoryError."""
    from edfgen.formats.genotypes.source import path_id

    ext = tmp_path / "extract.txt"
    ext.write_text("rs1\nrs2\n")
    src = GenotypeSource(bfile=str(fileset / "hard"), extract=str(ext))
    before = src.fingerprint()
    ext.write_text("rs1\nrs3\n")              # same size, same name
    assert src.fingerprint() != before
    mt = tmp_path / "g.mt"
    mt.mkdir()
    (mt / "metadata.json.gz").write_bytes(b"1")
    first = GenotypeSource(mt=str(mt)).fingerprint()
    (mt / "metadata.json.gz").write_bytes(b"22")
    assert GenotypeSource(mt=str(mt)).fingerprint() != first and path_id("gs://b/x.bgen") == "gs://b/x.bgen"


def test_check_bgen_for_hail__16_bit_refused_in_one_line(fileset):
    """Hail's import_bgen reads 8-bit BGEN only: plink2's 16-bit export gave a 259-line Java traceback."""
    from edfgen.engines.hail_import import check_bgen_for_hail

    check_bgen_for_hail(str(fileset / "imp8_chr1.bgen"))
    with pytest.raises(InputError, match=r"imp16.bgen: 16 bits per probability; the Hail engine reads 8-bit BGEN "
                                         r"only \(use --engine fast"):
        check_bgen_for_hail(str(fileset / "imp16.bgen"))


def test_check_bgen_for_hail__reads_the_header_and_the_first_variant_only(fileset, tmp_path, monkeypatch):
    """Review of s39known (finding 5): the 8-bit check before Hail (gwas, pca, --remove-related) walked every
    variant header (scan_bgen: 1.5 s per 300k variants, minutes over UK Biobank's 90 million) for the depth the
    first block says. Now the header and the first variant only: a 16-bit file cut after its first variant is
    refused for its bits (was: 'truncated', from the walk), and the reads do not grow with the variant count."""
    import os

    from edfgen.engines.hail_import import check_bgen_for_hail
    from edfgen.formats.genotypes.bgen_check import scan_bgen

    full = scan_bgen(str(fileset / "imp16.bgen"))
    cut = tmp_path / "cut16.bgen"
    cut.write_bytes((fileset / "imp16.bgen").read_bytes()[:int(full.ends[0]) + 10])
    with pytest.raises(InputError, match=r"cut16.bgen: 16 bits per probability; the Hail engine reads 8-bit"):
        check_bgen_for_hail(str(cut))
    assert full.n_variants > 20 and len(scan_bgen(str(cut), first=1).starts) == 1
    reads, pread = [], os.pread
    monkeypatch.setattr(os, "pread", lambda *a: reads.append(a) or pread(*a))
    check_bgen_for_hail(str(fileset / "imp8_chr1.bgen"))
    assert 0 < len(reads) <= 6, len(reads)      # (header, flags, sample ids, one variant; was one more per variant)


def test_import_genotypes__hails_error_on_a_truncated_bgen_is_the_layout_walks_line(fileset, tmp_path, monkeypatch):
    """With the check before Hail reading one variant (above), a BGEN cut short reached Hail, whose import said
    'cannot import (AssertionError: assertion failed)' (Hail 0.2.139 on a plink2 BGEN cut at 2000 bytes, run by
    hand). On Hail's error the file is walked whole: the line names the variant, byte offset and the truncation."""
    from edfgen.engines import hail_import
    from edfgen.formats.genotypes.source import GenotypeSource

    cut = tmp_path / "cut.bgen"
    cut.write_bytes((fileset / "imp8_chr1.bgen").read_bytes()[:5000])

    def hail_fails(*a, **k):
        raise AssertionError("assertion failed")
    monkeypatch.setattr(hail_import, "_import_bgen", hail_fails)
    with pytest.raises(InputError, match=r"cut.bgen: variant \d+ of \d+ \(byte offset \d+\): .* the file is truncated"):
        hail_import.import_genotypes(GenotypeSource(bgen=str(cut)), hl=None)
    with pytest.raises(InputError, match=r"cut.bgen: variant \d+ of \d+ .* truncated"):
        with hail_import.input_errors(GenotypeSource(bgen=str(cut))):
            raise AssertionError("assertion failed")          # (Hail's lazy pass)
    ok = GenotypeSource(bgen=str(fileset / "imp8_chr1.bgen"))
    with pytest.raises(InputError, match=r"imp8_chr1.bgen: cannot import \(assertion failed\)"):
        hail_import.import_genotypes(ok, hl=None)          # (an intact file: Hail's own words, as before)


def test_input_errors__the_bgen_walk_only_for_hails_read_failure(fileset, monkeypatch):
    """Review of s39 (finding 2): on ANY error in a Hail pass every BGEN was walked whole (~5 us a variant: minutes
    over a biobank's 22 files) before anything asked whether the error was about the input: edfgen's own
    InputError (QC's '--extract/--chr leave no variant'), Hail's out-of-memory. Now only Hail's BGEN read failure
    (``AssertionError: assertion failed``, which no other line explains) is followed by the walk."""
    from edfgen.engines import hail_import
    from edfgen.formats.genotypes import bgen_check
    from edfgen.formats.genotypes.source import GenotypeSource

    walks, scan = [], bgen_check.scan_bgen
    monkeypatch.setattr(bgen_check, "scan_bgen", lambda *a, **k: walks.append(a) or scan(*a, **k))
    src = GenotypeSource(bgen=str(fileset / "imp8_chr1.bgen"))
    fatal = type("FatalError", (Exception,), {"__module__": "hail.utils.java"})
    with pytest.raises(InputError, match="leave no variant"):
        with hail_import.input_errors(src):
            raise InputError("--extract/--chr leave no variant")
    oom = fatal("java.lang.OutOfMemoryError: Java heap space")
    with pytest.raises(type(oom)):
        with hail_import.input_errors(src):
            raise oom

    def hail_fails(*a, **k):
        raise RuntimeError("Py4JNetworkError: the Java gateway is gone")
    monkeypatch.setattr(hail_import, "_import_bgen", hail_fails)
    with pytest.raises(InputError, match="cannot import .Py4JNetworkError"):
        hail_import.import_genotypes(src, hl=None)
    assert walks == []
    with pytest.raises(type(oom)):
        with hail_import.input_errors(src):
            raise fatal("HailException: Error summary: AssertionError: assertion failed")
    assert len(walks) == 1          # (an intact file: walked, nothing found, Hail's own error)


def test_remove_related_on_the_fast_engine__16_bit_bgen_refused_before_the_run_and_x_left_out(fileset, tmp_path):
    """Review s32d F2: --remove-related reads the BGEN with Hail's KING on the fast engine too; a 16-bit file (or
    UK Biobank's haploid X) was a Python + Java traceback from inside hl.king. The autosomes' files are checked
    before the run, in one line naming the file and what to do; a {chr} template's X file is not read."""
    import shutil as sh

    from edfgen.commands.gwas import GwasSettings, run_gwas
    from edfgen.engines.hail_import import king_source
    from edfgen.kernels.qc import QCSettings

    d = fileset
    with pytest.raises(InputError, match=r"^--bgen \S*imp16.bgen: 16 bits per probability; the Hail engine reads "
                                         r"8-bit BGEN only \(--remove-related runs Hail's KING"):
        run_gwas(GenotypeSource(bgen=str(d / "imp16.bgen")), d / "pheno.tsv", d / "covar.tsv", tmp_path / "o",
                 qc=QCSettings(remove_related=True), settings=GwasSettings(engine="fast"))
    assert not (tmp_path / "o" / "gwas_summary.tsv").exists()
    for c, src in (("1", "imp8_chr1"), ("X", "imp16")):     # (an X file Hail cannot read)
        sh.copy(d / f"{src}.bgen", tmp_path / f"k_chr{c}.bgen")
        sh.copy(d / "imp8_chr1.sample", tmp_path / f"k_chr{c}.sample")
    both = GenotypeSource(bgen=str(tmp_path / "k_chr{chr}.bgen"), sample=str(tmp_path / "k_chr{chr}.sample"))
    assert king_source(both).chromosomes == ("1",)
    assert king_source(GenotypeSource(bgen=str(d / "imp8_chr1.bgen"))).chromosomes is None


def test_index_bgen__a_killed_index_never_looks_finished(tmp_path):
    """A run killed inside hl.index_bgen left a 0-byte index under the final name, and every later run failed
    with an EOFException naming neither the file nor the fix: the index is written under a temporary name."""
    from types import SimpleNamespace

    from edfgen.engines.hail_import import _index_bgen

    idx = tmp_path / "edfgen-bgen-index" / "k.idx2"

    def killed(bgen, index_file_map, **kw):
        Path(index_file_map[bgen]).mkdir(parents=True)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _index_bgen(SimpleNamespace(index_bgen=killed), "a.bgen", str(idx), rg="GRCh37", rec={})
    assert not idx.exists() and not list(idx.parent.iterdir())

    def done(bgen, index_file_map, **kw):
        p = Path(index_file_map[bgen])
        p.mkdir(parents=True)
        (p / "index").write_text("x")

    _index_bgen(SimpleNamespace(index_bgen=done), "a.bgen", str(idx), rg="GRCh37", rec={})
    assert (idx / "index").read_text() == "x" and [p.name for p in idx.parent.iterdir()] == ["k.idx2"]
