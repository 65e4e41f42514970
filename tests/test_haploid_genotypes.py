"""Haploid calls (males on non-PAR X, Y, MT) read as plink2 reads them, in every format: a VCF haploid ``GT``
counts 0/2, a haploid ``GT:DS`` (minimac/TOPMed style, ``DS`` in 0..1) ``2 x DS`` (``plink2 --vcf dosage=DS``),
a BGEN ploidy-1 sample ``2 x P(B)`` and a ploidy-0 one missing (``plink2 --export bgen-1.2/1.3`` writes males on
X that way and females on Y with ploidy 0); ``edfgen gwas`` on each equals ``plink2 --glm no-x-sex`` with sex as
a covariate. The reference is plink2's own import of the same VCF (``--update-sex``), read by pgenlib."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError
from edfgen.formats.genotypes import GenotypeSource, open_genotypes
from test_readers import _bgen_fast_and_cbgen, _compare_glm, _count_cbgen_calls, _plink2, _write_bgen

pytestmark = pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")

N = 400
#: (chromosome, number of variants, first position, kind)
LAYOUT = [("1", 30, 1_000_000, "auto"), ("X", 50, 5_000_000, "x"), ("Y", 4, 3_000_000, "y"), ("MT", 4, 100, "mt")]


def _vcf(path: Path, chrom, pos, fmt: str, cells, samples, extra_format: str = "") -> None:
    head = ["##fileformat=VCFv4.2", *(f"##contig=<ID={c}>" for c in dict.fromkeys(chrom)),
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
            *(['##FORMAT=<ID=DS,Number=1,Type=Float,Description="ALT dosage">'] if "DS" in fmt else []),
            *([extra_format] if extra_format else []),
            "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])]
    rows = ["\t".join([c, str(p), f"v{j}", "A", "G", ".", ".", ".", fmt, *cells[j]])
            for j, (c, p) in enumerate(zip(chrom, pos))]
    path.write_text("\n".join(head + rows) + "\n")


@pytest.fixture(scope="module")
def xdata(tmp_path_factory) -> tuple[Path, np.ndarray]:
    """One simulated data set (half the samples male; ~2 % missing) as a GT VCF (haploid male calls on X,
    Y and MT, females ``.`` on Y), the same calls as GT:DS with the haploid DS 0/1, plink2's import of the
    GT VCF (``--update-sex``) as .pgen, its BGEN 1.2 8-bit and 1.3 16-bit exports (ref-first), a GT:DS VCF
    of fractional dosages (haploid DS in 0..1) with plink2's ``dosage=DS`` import; phenotype y (an X
    effect, a sex effect) and covariates age, sex. Returns the folder and the expected ALT counts [n, m]."""
    d = tmp_path_factory.mktemp("haploid")
    rng = np.random.default_rng(27)
    samples = [f"S{i:03d}" for i in range(N)]
    male = rng.permutation(np.arange(N) < N // 2)
    chrom, pos, kind = [], [], []
    for c, m, p0, k in LAYOUT:
        chrom += [c] * m
        pos += [p0 + 1000 * i for i in range(m)]
        kind += [k] * m
    G, gt, ds, fr, fds = [], [], [], [], []
    for k in kind:
        a = rng.binomial(1, rng.uniform(0.1, 0.5), (N, 2))
        hap = male if k in ("x", "y") else np.full(N, k == "mt")
        absent = (k == "y") & ~male
        miss = (rng.random(N) < 0.02) | absent
        g = np.where(hap, 2 * a[:, 0], a.sum(1)).astype(float)
        G.append(np.where(miss, np.nan, g))
        call = np.where(hap, a[:, 0].astype(str), np.char.add(np.char.add(a[:, 0].astype(str), "/"), a[:, 1].astype(str)))
        call = np.where(miss, np.where(hap | absent, ".", "./."), call)
        gt.append(call)
        count = np.where(hap, a[:, 0], a.sum(1))                      # DS: one copy per haploid allele
        ds.append(np.char.add(np.char.add(call, ":"), np.where(miss, ".", count.astype(str))))
        f = np.round(np.where(hap, rng.uniform(0, 1, N), rng.uniform(0, 2, N)), 3)
        fr.append(np.where(miss, np.nan, np.where(hap, 2 * f, f)))
        fcall = np.where(hap, np.round(f).astype(int).astype(str), np.where(f < 0.5, "0/0", np.where(f < 1.5, "0/1", "1/1")))
        fcall = np.where(miss, np.where(hap | absent, ".", "./."), fcall)
        fds.append(np.char.add(np.char.add(fcall, ":"), np.where(miss, ".", np.char.mod("%.3f", f))))
    _vcf(d / "gt.vcf", chrom, pos, "GT", gt, samples)
    _vcf(d / "ds.vcf", chrom, pos, "GT:DS", ds, samples)
    _vcf(d / "frac.vcf", chrom, pos, "GT:DS", fds, samples)
    sex = pd.DataFrame({"#IID": samples, "SEX": np.where(male, 1, 2)})
    sex.to_csv(d / "sex.txt", sep="\t", index=False)
    _plink2("--vcf", "gt.vcf", "--update-sex", "sex.txt", "--make-pgen", "--out", "p", cwd=d)
    _plink2("--pfile", "p", "--export", "bgen-1.2", "bits=8", "ref-first", "--out", "b12", cwd=d)
    _plink2("--pfile", "p", "--export", "bgen-1.3", "bits=16", "ref-first", "--out", "b13", cwd=d)
    _plink2("--vcf", "frac.vcf", "dosage=DS", "--update-sex", "sex.txt", "--make-pgen", "--out", "pf", cwd=d)
    _plink2("--pfile", "pf", "--export", "bgen-1.3", "bits=16", "ref-first", "--out", "bf", cwd=d)
    G = np.array(G).T
    x = np.flatnonzero(np.array(kind) == "x")
    gm = np.where(np.isnan(G), np.nanmean(G, axis=0), G)
    age = rng.normal(50, 8, N).round(1)
    y = 0.4 * gm[:, x[3]] + 0.3 * gm[:, 2] + 0.5 * male + 0.02 * age + rng.normal(size=N)
    pd.DataFrame({"IID": samples, "y": y}).to_csv(d / "pheno.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": samples, "age": age, "sex": np.where(male, 1, 2)}).to_csv(d / "covar.tsv", sep="\t",
                                                                                    index=False)
    np.save(d / "frac.npy", np.array(fr).T)
    return d, G


def _open(d: Path, what: str):
    if what.startswith("b"):
        return open_genotypes(GenotypeSource(bgen=[str(d / f"{what}.bgen")], sample=[str(d / f"{what}.sample")]))
    if what.startswith("p"):
        return open_genotypes(GenotypeSource(pfile=str(d / what)))
    return open_genotypes(GenotypeSource(vcf=str(d / f"{what}.vcf")))


def test_haploid_calls_read_alike_in_vcf_gt_vcf_ds_and_plink2_bgen(xdata):
    """The same calls as VCF GT, VCF GT:DS (haploid DS 0/1), plink2's .pgen and its BGEN 1.2 8-bit / 1.3
    16-bit exports read to the same ALT counts: males on X, Y and MT 0/2, females on Y missing. Before:
    the DS file read males 0/1 and the BGEN was refused (ploidy 1)."""
    d, G = xdata
    v = np.arange(G.shape[1])
    ref = _open(d, "p")
    np.testing.assert_array_equal(ref.read(None, v), G)                  # plink2's import: the reference
    for what in ("gt", "ds", "b12", "b13"):
        r = _open(d, what)
        assert list(r.samples["IID"]) == list(ref.samples["IID"])
        np.testing.assert_array_equal(r.read(None, v), G, err_msg=what)
        np.testing.assert_array_equal(r.read(None, v, dtype=np.int8), ref.read(None, v, dtype=np.int8), err_msg=what)
        s = np.array([399, 0, 17, 17, 200])
        np.testing.assert_array_equal(r.read(s, v[::-1]), G[np.ix_(s, v[::-1])], err_msg=what)
    assert _open(d, "ds").field == "DS" and _open(d, "gt").field == "GT"


def test_haploid_ds_reads_twice_ds_as_plink2_dosage_ds(xdata, monkeypatch):
    """Fractional dosages (haploid DS in 0..1): edfgen's VCF DS = 2 x DS for a haploid GT, DS otherwise, and
    equals plink2's ``--vcf dosage=DS`` import (stored in 1/16384 steps) and the BGEN 1.3 16-bit plink2
    exports from it (fast decoder and cbgen alike, the fast one handing no variant to cbgen)."""
    d, _ = xdata
    exact = np.load(d / "frac.npy")
    v = np.arange(exact.shape[1])
    vcf, pf = _open(d, "frac"), _open(d, "pf")
    X = vcf.read(None, v)
    np.testing.assert_allclose(X, exact, rtol=0, atol=1e-6)
    np.testing.assert_allclose(X, pf.read(None, v), rtol=0, atol=2 / 16384)
    fast, ref = _bgen_fast_and_cbgen(str(d / "bf.bgen"), str(d / "bf.sample"))
    calls = _count_cbgen_calls(fast, monkeypatch)
    F = fast.read(None, v)
    np.testing.assert_array_equal(F, ref.read(None, v))
    np.testing.assert_allclose(F, pf.read(None, v), rtol=0, atol=2 / 65535 + 2 / 16384)
    assert calls == []


def test_haploid_ds_above_one_is_an_error_like_plink2_and_gp_is_ignored_with_a_warning(xdata, tmp_path, caplog):
    """A haploid DS above 1 is an error naming the file, the variant and the sample (plink2: "invalid DS
    field"); a diploid DS of 1.5 is read. A GT:GP VCF (no DS) reads GT and warns once that GP is ignored."""
    samples = ["a", "b"]
    _vcf(tmp_path / "bad.vcf", ["X", "X"], [5_000_000, 5_000_100], "GT:DS", [["1:0.5", "0/1:1.5"],
                                                                              ["0:1.5", "0/1:1.5"]], samples)
    r = open_genotypes(GenotypeSource(vcf=str(tmp_path / "bad.vcf")))
    np.testing.assert_allclose(r.read(None, [0]), [[1.0], [1.5]])
    with pytest.raises(InputError, match=r"bad.vcf: record 2 \(line 7\), X:5000100 v1: haploid GT, DS 1.5 of "
                                         r"sample a is outside 0..1"):
        r.read(None, [1])
    p = subprocess.run(["plink2", "--threads", "1", "--vcf", "bad.vcf", "dosage=DS", "--make-pgen", "--out", "q"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode != 0 and "invalid DS field" in p.stdout + p.stderr
    gp = '##FORMAT=<ID=GP,Number=G,Type=Float,Description="Genotype probabilities">'
    _vcf(tmp_path / "gp.vcf", ["1"], [100], "GT:GP", [["0/1:0.1,0.8,0.1", "1/1:0,0.1,0.9"]], samples,
         extra_format=gp)
    with caplog.at_level(logging.WARNING):
        r = open_genotypes(GenotypeSource(vcf=str(tmp_path / "gp.vcf")))
        np.testing.assert_array_equal(r.read(None, [0]), [[1.0], [2.0]])
    said = [m for m in caplog.messages if "GP" in m]
    assert len(said) == 1 and "ignored" in said[0] and "gp.vcf" in said[0]


@pytest.mark.parametrize("compression", [0, 1])
def test_bgen_mixed_ploidy_fast_decoder_equals_cbgen_and_the_exact_dosage(tmp_path, monkeypatch, compression):
    """Hand-written BGEN blocks with ploidy 0, 1 and 2 samples (missing or not), unphased and phased, 1-32
    bits: the fast decoder equals cbgen and the exact dosage (diploid P(AB) + 2 P(BB) or P(B|1) + P(B|2);
    haploid 2 P(B); ploidy 0 missing), without handing a variant to cbgen; a diploid sample's probabilities
    summing above 1 in such a block, or a ploidy of 3, is a bad variant."""
    from edfgen.formats.genotypes.bgen import BgenReader

    rng = np.random.default_rng(3)
    n, variants, exact = 23, [], []
    for k, (bits, phased) in enumerate([(b, 0) for b in (1, 3, 8, 12, 16, 32)] + [(b, 1) for b in (8, 5, 16)]):
        top = 2 ** bits - 1
        ploidy = rng.choice([1, 2], n)
        ploidy[0] = 1
        ploidy[rng.random(n) < 0.1] = 0
        ploidy[-1] = 0 if k % 2 else ploidy[-1]                    # a ploidy-0 last sample (no value after it)
        miss = (rng.random(n) < 0.15) | (ploidy == 0)
        ints, d = [], []
        for p, m in zip(ploidy, miss):
            a = 0 if m else int(rng.integers(0, top + 1))
            if p == 1:
                ints += [a]
                d.append(2 * (top - a) / top)
            elif p == 2:
                b = 0 if m else int(rng.integers(0, top + 1) if phased else rng.integers(0, top - a + 1))
                ints += [a, b]
                d.append((2 * top - a - b) / top if phased else (b + 2 * (top - a - b)) / top)
            else:
                d.append(np.nan)
        variants.append((f"v{k}", ["A", "G"], np.where(miss & (ploidy > 0), ploidy | 0x80, ploidy).tolist(),
                         phased, bits, ints))
        exact.append(np.where(miss, np.nan, d))
    variants.append(("dip", ["A", "G"], [2] * n, 0, 8, [0, 255] * n))               # all diploid: dosage 1
    variants.append(("none", ["A", "G"], [0x80] * n, 0, 16, []))                     # every sample ploidy 0
    exact.append(np.full(n, np.nan))
    _write_bgen(tmp_path / "h.bgen", variants, n, compression=compression)
    _write_bgen(tmp_path / "z.bgen", variants, n, compression=1)   # libbgen misreads uncompressed layout 2
    fast = BgenReader(str(tmp_path / "h.bgen"), threads=1)
    ref = BgenReader(str(tmp_path / "z.bgen"), fast=False)
    calls = _count_cbgen_calls(fast, monkeypatch)
    v = np.arange(len(variants))
    F = fast.read(None, v)
    np.testing.assert_array_equal(F, ref.read(None, v))
    np.testing.assert_allclose(F[:, :-2], np.array(exact[:-1]).T, rtol=0, atol=3e-7)
    np.testing.assert_array_equal(F[:, -2], 1.0)
    assert np.isnan(F[:, -1]).all()
    np.testing.assert_array_equal(fast.read(None, v, dtype=np.int8), ref.read(None, v, dtype=np.int8))
    s = np.array([22, 0, 5, 5])
    np.testing.assert_array_equal(fast.read(s, v[::-1]), F[np.ix_(s, v[::-1])])
    assert calls == []
    over = [1, 2] + [2] * (n - 2)
    tri = [3] + [2] * (n - 1)
    _write_bgen(tmp_path / "bad.bgen", [("over", ["A", "G"], over, 0, 8, [10] + [200, 100] + [0, 0] * (n - 2)),
                                        ("tri", ["A", "G"], tri, 0, 8, [0] * (3 + 2 * (n - 1)))], n, compression=1)
    for fast in (True, False):
        r = BgenReader(str(tmp_path / "bad.bgen"), fast=fast)
        with pytest.raises(InputError, match=r"variant over .*sample 2 sum to 1.17647 > 1"):
            r.read(None, [0])
        with pytest.raises(InputError, match=r"variant tri .*ploidy 3 of sample 1"):
            r.read(None, [1])


@pytest.mark.parametrize("what", ["gt", "ds", "b12", "b13"])
def test_gwas_on_haploid_x_matches_plink2_glm(xdata, tmp_path, what):
    """``edfgen gwas`` (fast engine, no QC filter) on chromosomes 1 and X read from each format equals
    ``plink2 --pfile --glm no-x-sex`` on plink2's import of the GT VCF (males 0/2 on X, sex and age as
    covariates) to plink2's printed digits (|dbeta|/SE and |dSE|/SE < 1e-5)."""
    from click.testing import CliRunner

    from edfgen.cli import cli

    d, _ = xdata
    _plink2("--pfile", "p", "--chr", "1,X", "--pheno", "pheno.tsv", "--covar", "covar.tsv", "--covar-name",
            "age,sex", "--glm", "no-x-sex", "hide-covar", "omit-ref", "--out", tmp_path / "ref", cwd=d)
    geno = (["--bgen", str(d / f"{what}.bgen"), "--sample", str(d / f"{what}.sample")] if what.startswith("b")
            else ["--vcf", str(d / f"{what}.vcf")])
    r = CliRunner().invoke(cli, ["gwas", *geno, "--chr", "1,X", "--pheno", str(d / "pheno.tsv"), "--covar",
                                 str(d / "covar.tsv"), "--covariates", "age,sex", "--transform", "none",
                                 "--missing-genotypes", "drop", "--maf", "0", "--call-rate", "0", "--hwe", "0",
                                 "--sample-call-rate", "0", "--no-plots", "--threads", "1",
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    e = pd.read_csv(tmp_path / "out" / "y.tsv.gz", sep="\t", dtype={"chromosome": str})
    assert (e["chromosome"] == "23").sum() == 50 or (e["chromosome"] == "X").sum() == 50
    worst = _compare_glm(tmp_path / "out", {"y": [tmp_path / "ref.y.glm.linear"]}, beta_se=1e-5, se_rel=1e-5)
    logging.getLogger(__name__).info("%s vs plink2 --glm, max |dbeta|/SE, |dSE|/SE, |dlog10 p|: %s", what, worst)


def test_hail_engine__plink2_sample_files_read_and_haploid_bgen_refused_in_one_line(hail_context, xdata, tmp_path):
    """Hail names BGEN samples by ID_1: plink2's own .sample export writes ID_1 = 0 for every sample, so the
    Hail engine refused it as one duplicated IID; it now reads ID_2 (the IID, as the fast engine and plink2 do)
    and gives the fast engine's numbers. Hail reads diploid genotypes only: a BGEN with haploid males on X is a
    one-line error naming the file (was a Java traceback at the first Hail action)."""
    from edfgen.commands.gwas import GwasSettings, run_gwas
    from edfgen.engines.hail import HailSettings
    from edfgen.kernels.qc import QCSettings

    d, _ = xdata
    _plink2("--pfile", "p", "--chr", "1", "--export", "bgen-1.2", "bits=8", "ref-first", "--out", tmp_path / "a",
            cwd=d)
    assert set(pd.read_csv(tmp_path / "a.sample", sep=" ")["ID_1"].iloc[1:].astype(str)) == {"0"}
    hail = HailSettings(tmp_dir=str(tmp_path / "hail_tmp"))
    out = {}
    for engine in ("fast", "hail"):
        out[engine] = tmp_path / engine
        run_gwas(GenotypeSource(bgen=str(tmp_path / "a.bgen"), sample=str(tmp_path / "a.sample")), d / "pheno.tsv",
                 d / "covar.tsv", out[engine], covar_cols=["age", "sex"], qc=QCSettings(maf=0.01),
                 settings=GwasSettings(engine=engine, transform="none", plots=False), hail=hail, threads=1)
    a, b = (pd.read_csv(out[k] / "y.tsv.gz", sep="\t") for k in ("fast", "hail"))
    assert list(a.columns) == list(b.columns) and len(a) == len(b) == 30
    assert (np.abs(a["beta"] - b["beta"]) / a["standard_error"]).max() < 1e-6
    np.testing.assert_allclose(b["p_value"], a["p_value"], rtol=1e-5)
    with pytest.raises(InputError, match=r"--bgen .*b12.bgen: the Hail engine cannot read it \(HailException: Hail "
                                         r"only supports diploid genotypes"):
        run_gwas(GenotypeSource(bgen=str(d / "b12.bgen"), sample=str(d / "b12.sample")), d / "pheno.tsv",
                 d / "covar.tsv", tmp_path / "hx", covar_cols=["age", "sex"],
                 settings=GwasSettings(engine="hail", transform="none", plots=False), hail=hail, threads=1)
    assert not (tmp_path / "hx").exists() or not any(p for p in (tmp_path / "hx").iterdir() if not p.name.startswith("."))


@pytest.mark.parametrize("what", ["gt", "ds"])
def test_hail_engine__haploid_vcf_calls_count_two_copies_like_the_fast_engine(hail_context, xdata, tmp_path, what):
    """Hail's ``n_alt_alleles`` counts a haploid call 0/1 and its DS was taken as written, while the fast engine
    reads them 0/2 (as PLINK stores them, and 2 x DS): the same VCF gave other X results on the two engines."""
    from edfgen.commands.gwas import GwasSettings, run_gwas
    from edfgen.engines.hail import HailSettings
    from edfgen.kernels.qc import QCSettings

    d, _ = xdata
    out = {}
    for engine in ("fast", "hail"):
        out[engine] = tmp_path / engine
        run_gwas(GenotypeSource(vcf=str(d / f"{what}.vcf"), chromosomes=("1", "X")), d / "pheno.tsv",
                 d / "covar.tsv", out[engine], covar_cols=["age", "sex"], qc=QCSettings(maf=0.01),
                 settings=GwasSettings(engine=engine, transform="none", plots=False),
                 hail=HailSettings(tmp_dir=str(tmp_path / "hail_tmp")), threads=1)
    a, b = (pd.read_csv(out[k] / "y.tsv.gz", sep="\t", dtype={"chromosome": str}) for k in ("fast", "hail"))
    assert len(a) == len(b) and (a["chromosome"] == "23").sum() >= 40
    assert (np.abs(a["beta"] - b["beta"]) / a["standard_error"]).max() < 1e-6
    np.testing.assert_allclose(b["effect_allele_frequency"], a["effect_allele_frequency"], rtol=1e-6)
