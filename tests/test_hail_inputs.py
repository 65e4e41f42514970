"""The Hail engine reads VCF, BGEN and PLINK input as the fast engine does, and refuses what it cannot read in
one line naming the file (review s30h): a ``DS`` with a missing ``GT`` used, a ``GT`` allele beyond the row's
ALT alleles refused, plain gzip read, malformed lines and cut BGZF files named, a short ``.sample`` named with
both counts, relative paths handed to Spark absolute, and ``multivariate.tsv.gz``'s chromosome codes those of
the per-phenotype files."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError
from edfgen.formats.genotypes import GenotypeSource

N, M = 80, 30


def _write_vcf(path: Path, cells: np.ndarray, samples: list[str], chrom: str = "1") -> None:
    head = ["##fileformat=VCFv4.2", f"##contig=<ID={chrom}>",
            '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
            '##FORMAT=<ID=DS,Number=1,Type=Float,Description="ALT dosage">',
            "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *samples])]
    rows = ["\t".join([chrom, str(100_000 + 1000 * j), f"rs{j + 1}", "A", "G", ".", ".", ".", "GT:DS", *cells[j]])
            for j in range(len(cells))]
    path.write_text("\n".join(head + rows) + "\n")


@pytest.fixture(scope="module")
def vcfdata(tmp_path_factory):
    """``ds.vcf``: GT:DS of N samples x M variants with 10 % of the cells ``./.:DS`` (a dosage without a hard
    call, legal VCF) and 3 % ``./.:.``; ``pheno.tsv`` (y1, y2), ``covar.tsv`` (age). Returns the folder and the
    expected dosages ``[N, M]`` (NaN where both are missing)."""
    d = tmp_path_factory.mktemp("hail_inputs")
    rng = np.random.default_rng(30)
    samples = [f"S{i:03d}" for i in range(N)]
    a = rng.binomial(1, rng.uniform(0.15, 0.5, M)[:, None, None], (M, N, 2))
    ds = np.clip(a.sum(2) + rng.uniform(-0.2, 0.2, (M, N)), 0, 2).round(3)
    gt = np.char.add(np.char.add(a[..., 0].astype(str), "/"), a[..., 1].astype(str))
    u = rng.random((M, N))
    no_gt, none = u < 0.10, (u >= 0.10) & (u < 0.13)
    gt = np.where(no_gt | none, "./.", gt)
    cells = np.char.add(np.char.add(gt, ":"), np.where(none, ".", np.char.mod("%.3f", ds)))
    _write_vcf(d / "ds.vcf", cells, samples)
    want = np.where(none, np.nan, ds).T
    g = np.where(np.isnan(want), np.nanmean(want, axis=0), want)
    age = rng.normal(50, 8, N).round(1)
    pd.DataFrame({"IID": samples, "y1": 0.5 * g[:, 3] + rng.normal(size=N),
                  "y2": 0.3 * g[:, 7] + rng.normal(size=N)}).to_csv(d / "pheno.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": samples, "age": age}).to_csv(d / "covar.tsv", sep="\t", index=False)
    return d, want, cells, samples


def _gwas(d: Path, source: GenotypeSource, out: Path, engine: str, **settings):
    from edfgen.commands.gwas import GwasSettings, run_gwas
    from edfgen.engines.hail import HailSettings
    from edfgen.kernels.qc import QCSettings

    return run_gwas(source, d / "pheno.tsv", d / "covar.tsv", out, covar_cols=["age"],
                    qc=QCSettings(maf=0.0, call_rate=0.0, hwe_p=0.0, sample_call_rate=0.0),
                    settings=GwasSettings(engine=engine, transform="none", plots=False, **settings),
                    hail=HailSettings(tmp_dir=str(out.parent / "hail_tmp")), threads=1)


def test_hail_import__relative_paths_handed_to_spark_absolute(tmp_path, monkeypatch):
    """A Spark executor resolves a relative path against its own work folder: ``--bfile sim/genotypes`` failed on
    a cluster (``FileNotFoundException: .../app-.../0/sim/genotypes.bed``). Hail now gets absolute paths, and
    ``HailSettings.tmp_dir`` (checkpoints) is absolute; remote paths are left as given."""
    from edfgen.engines.hail import HailSettings
    from edfgen.engines.hail_import import import_genotypes, local_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sim").mkdir()
    for ext in ("bed", "bim", "fam"):
        (tmp_path / "sim" / f"genotypes.{ext}").write_text("")
    seen = {}

    def import_plink(**kw):
        seen.update(kw)
        raise RuntimeError("stop here")
    with pytest.raises(InputError, match="stop here"):
        import_genotypes(GenotypeSource(bfile="sim/genotypes"), hl=SimpleNamespace(import_plink=import_plink))
    assert seen["bed"] == str(tmp_path / "sim" / "genotypes.bed") and os.path.isabs(seen["fam"])
    assert HailSettings(tmp_dir="scratch").tmp_dir == str(tmp_path / "scratch")
    assert local_path("gs://b/x.vcf.bgz") == "gs://b/x.vcf.bgz" and HailSettings().tmp_dir is None


def test_hail_import__fam_hash_header_refused_not_read_as_a_sample(tmp_path):
    """The fast engine skips a ``#FID IID ...`` header line as plink2 does; Hail's import_plink would read it as a
    sample (every genotype on the next person), so the Hail engine refuses it before importing."""
    from edfgen.engines.hail_import import import_genotypes

    for ext in ("bed", "bim"):
        (tmp_path / f"g.{ext}").write_text("")
    (tmp_path / "g.fam").write_text("#FID IID PAT MAT SEX PHENO\nA A 0 0 1 -9\n")
    called = []
    with pytest.raises(InputError, match=r"g\.fam: its '#FID' header line would be read as a sample by Hail"):
        import_genotypes(GenotypeSource(bfile=str(tmp_path / "g")),
                         hl=SimpleNamespace(import_plink=lambda **kw: called.append(kw)))
    assert not called



def test_hail_import__ds_only_and_missing_ds_beside_a_call_as_the_fast_engine(hail_context, tmp_path):
    """s36c item 4: FORMAT ``DS`` alone with ``.`` dosages (a missing call), and ``GT:DS`` whose DS is ``.``
    beside a call (``0/1:.``: the call's count, plink2 ``dosage=DS``) or beside no call (``./.:.``: missing), are
    read by Hail's import as by the fast engine's reader (checked, no change needed)."""
    from edfgen.engines.hail_import import import_genotypes

    samples = [f"S{i}" for i in range(4)]
    ds_only = np.array([["0.1", ".", "1.9", "1"], [".", ".", "2", "0.5"]])
    gt_ds = np.array([["0/1:.", "./.:.", "1/1:1.8", "0/0:."], ["1/1:.", "0/1:0.9", "./.:.", "./.:0.4"]])
    _write_vcf(tmp_path / "gtds.vcf", gt_ds, samples)
    _write_vcf(tmp_path / "ds.vcf", ds_only, samples)
    text = (tmp_path / "ds.vcf").read_text().replace("\tGT:DS\t", "\tDS\t").replace(
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n', "")
    (tmp_path / "ds.vcf").write_text(text)
    want = {"ds": [[0.1, np.nan, 1.9, 1], [np.nan, np.nan, 2, 0.5]],
            "gtds": [[1, np.nan, 1.8, 0], [2, 0.9, np.nan, 0.4]]}
    for name, rows in want.items():
        source = GenotypeSource(vcf=str(tmp_path / f"{name}.vcf"))
        x = np.array(import_genotypes(source, hl=hail_context).x.collect(), dtype=float).reshape(2, 4)
        np.testing.assert_allclose(x, rows, rtol=1e-6)
        np.testing.assert_allclose(source.open_reader().read(None, np.arange(2)).T, rows, rtol=1e-6)

def test_hail_engine__vcf_dosage_without_gt_and_plain_gzip_as_the_fast_engine(hail_context, vcfdata, tmp_path):
    """``./.:0.95`` is a dosage without a hard call: plink2 ``dosage=DS`` and the fast engine use the DS; Hail's
    entry was missing there (``if_else`` on the missing ploidy), so 10 % of the dosages were dropped and every
    EAF, beta and SE differed. A plain-gzip ``.vcf.gz`` (not BGZF) was a Java ``ZipException`` on Hail."""
    from edfgen.engines.hail_import import import_genotypes

    d, want, _, _ = vcfdata
    mt = import_genotypes(GenotypeSource(vcf=str(d / "ds.vcf")), hl=hail_context)
    x = np.array(mt.x.collect(), dtype=float).reshape(M, N).T
    np.testing.assert_allclose(x, want, rtol=1e-6)       # NaN exactly where DS and GT are both missing
    with open(d / "ds.vcf", "rb") as src, gzip.open(tmp_path / "plain.vcf.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    out = {}
    for engine, vcf in (("fast", "ds.vcf"), ("hail", "ds.vcf"), ("hail_gz", "plain.vcf.gz")):
        _gwas(d, GenotypeSource(vcf=str(d / vcf) if vcf == "ds.vcf" else str(tmp_path / vcf)),
              tmp_path / engine, engine.split("_")[0])
        out[engine] = pd.read_csv(tmp_path / engine / "y1.tsv.gz", sep="\t")
    a = out["fast"]
    for k in ("hail", "hail_gz"):
        b = out[k]
        assert list(b["variant_id"]) == list(a["variant_id"]) and len(a) == M
        np.testing.assert_allclose(b["effect_allele_frequency"], a["effect_allele_frequency"], rtol=1e-6)
        assert (np.abs(b["beta"] - a["beta"]) / a["standard_error"]).max() < 1e-5
        np.testing.assert_allclose(b["standard_error"], a["standard_error"], rtol=1e-5)


@pytest.mark.parametrize("bad", ["allele_index", "short_line", "cut_bgzf"])
def test_hail_engine__malformed_vcf_refused_in_one_line_naming_it(hail_context, vcfdata, tmp_path, bad):
    """A GT allele beyond the row's ALT alleles (``0/5`` in a biallelic row) was read by Hail as one ALT copy
    (the fast engine refuses it); a short line and a BGZF file cut in half were a Python traceback plus a
    200-300-line Java trace at the first Hail pass. Each is now one InputError naming the file."""
    d, _, cells, samples = vcfdata
    vcf = tmp_path / "bad.vcf"
    if bad == "allele_index":
        cells = cells.copy()
        cells[12, 4] = "0/5:1.000"
        _write_vcf(vcf, cells, samples)
        match = (rf"--vcf {vcf}: 1:112000 rs13: the GT call of sample S004 names allele 5, the row has 1 ALT "
                 r"allele$")
    elif bad == "short_line":
        _write_vcf(vcf, cells, samples)
        lines = vcf.read_text().splitlines()
        lines[20] = "\t".join(lines[20].split("\t")[:-7])
        vcf.write_text("\n".join(lines) + "\n")
        match = (rf"--vcf {vcf}: record 16 \(line 21\): the Hail engine cannot read it \(VCFParseError: [^)]*\)$")
        # (s39: record K (line N) as the fast engine names it, was "at file:...:offset B")
    else:
        import pysam

        pysam.tabix_compress(str(d / "ds.vcf"), str(tmp_path / "whole.vcf.gz"))
        raw = (tmp_path / "whole.vcf.gz").read_bytes()
        vcf = tmp_path / "cut.vcf.gz"
        vcf.write_bytes(raw[: len(raw) // 2])
        match = rf"--vcf {vcf}: .*(block gzip|ZipException|EOF|end of)"
    with pytest.raises(InputError, match=match) as err:
        _gwas(d, GenotypeSource(vcf=str(vcf)), tmp_path / "out", "hail")
    assert "\n" not in str(err.value) and "\tat " not in str(err.value)


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_hail_import__short_sample_file_named_with_both_counts(hail_context, vcfdata, tmp_path):
    """A ``.sample`` with fewer rows than the BGEN: Hail's error named the BGEN only, its list cut off; now the
    ``.sample`` file and both counts, as the fast engine."""
    from edfgen.engines.hail_import import import_genotypes

    d, _, _, _ = vcfdata
    subprocess.run(["plink2", "--threads", "1", "--vcf", str(d / "ds.vcf"), "dosage=DS", "--export", "bgen-1.2",
                    "bits=8", "ref-first", "--out", str(tmp_path / "b")], check=True, capture_output=True)
    lines = (tmp_path / "b.sample").read_text().splitlines()
    (tmp_path / "short.sample").write_text("\n".join(lines[:-10]) + "\n")
    with pytest.raises(InputError, match=rf"--sample {tmp_path}/short.sample: 70 samples but the BGEN "
                                         rf"{tmp_path}/b.bgen has 80$"):
        import_genotypes(GenotypeSource(bgen=str(tmp_path / "b.bgen"), sample=str(tmp_path / "short.sample")),
                         hl=hail_context, tmp_dir=str(tmp_path))


def test_gwas_multivariate__chromosome_codes_of_the_per_phenotype_files_on_both_engines(hail_context, vcfdata,
                                                                                          tmp_path):
    """A .bim's X (23) came back from Hail as ``X`` (its contig) in ``multivariate.tsv.gz`` and as 23 from the
    fast engine; both now write the GWAS-SSF code of the per-phenotype files."""
    from bed_reader import to_bed

    d, _, _, samples = vcfdata
    m = 160                                               # (MOSTest's null correlation needs >= 100 variants)
    g = np.random.default_rng(6).binomial(2, 0.3, (N, m)).astype(np.float32)
    to_bed(tmp_path / "g.bed", g, count_A1=True, properties={
        "iid": samples, "fid": samples, "sex": [1 + i % 2 for i in range(N)], "sid": [f"rs{j + 1}" for j in range(m)],
        "chromosome": ["1"] * 120 + ["23"] * 40, "bp_position": 3_000_000 + 1000 * np.arange(m),
        "allele_1": ["G"] * m, "allele_2": ["A"] * m})
    codes = {}
    for engine in ("fast", "hail"):
        _gwas(d, GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / engine, engine, multivariate=True)
        mv = pd.read_csv(tmp_path / engine / "multivariate.tsv.gz", sep="\t", dtype={"chromosome": str})
        per = pd.read_csv(tmp_path / engine / "y1.tsv.gz", sep="\t", dtype={"chromosome": str})
        codes[engine] = sorted(set(mv["chromosome"]))
        assert codes[engine] == sorted(set(per["chromosome"]))
    assert codes["fast"] == codes["hail"] == ["1", "23"]


def test_gwas_hail__extract_matching_nothing_is_the_fast_engines_one_line_error(hail_context, vcfdata, tmp_path):
    """An --extract (or --chr) that matches no variant: the fast engine says so in one line; Hail's QC took the
    sample call rates over no variant and stopped in a TypeError traceback (s38). Both engines now raise the same
    error and leave no output behind."""
    d = vcfdata[0]
    (tmp_path / "none.txt").write_text("rs_not_there\n")
    errors = {}
    for engine in ("fast", "hail"):
        with pytest.raises(InputError) as exc:
            _gwas(d, GenotypeSource(vcf=str(d / "ds.vcf"), extract=str(tmp_path / "none.txt")), tmp_path / engine,
                  engine)
        errors[engine] = str(exc.value)
        assert not [p for p in (tmp_path / engine).rglob("*") if p.is_file()]
    assert errors["hail"] == errors["fast"] == f"--extract/--chr leave no variant of {d / 'ds.vcf'}"


def test_gwas_hail__contig_outside_the_reference_refused_in_one_line_with_the_way_out(hail_context, vcfdata,
                                                                                        tmp_path):
    """A .bim's unplaced chromosome 0 (array data): the fast engine tests the variant (written as given, with a
    warning); Hail's import refuses every locus outside its reference. The one line names the file and the locus
    and now says how to run it (s38: it gave Hail's message alone)."""
    from bed_reader import to_bed

    d, _, _, samples = vcfdata
    g = np.random.default_rng(3).binomial(2, 0.3, (N, 4)).astype(np.float32)
    to_bed(tmp_path / "g.bed", g, count_A1=True, properties={
        "iid": samples, "fid": samples, "sid": ["rs1", "rs2", "rs3", "rs4"], "chromosome": ["0", "1", "1", "1"],
        "bp_position": [5, 1000, 2000, 3000], "allele_1": ["G"] * 4, "allele_2": ["A"] * 4})
    with pytest.raises(InputError) as exc:
        _gwas(d, GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / "out", "hail")
    msg = str(exc.value)
    assert msg.startswith(f"--bfile {tmp_path / 'g'}: cannot import") and "\n" not in msg
    assert "Invalid locus" in msg and "--engine fast" in msg and "plink2 --not-chr" in msg
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()]


def test_gwas_hail__bim_allele_0_is_not_biallelic_as_in_the_fast_engine(hail_context, vcfdata, tmp_path):
    """A .bim's allele ``0`` (PLINK's missing allele code, as array data write a monomorphic variant's): the fast
    engine leaves the variant out as not biallelic; Hail took ``0`` for an allele and tested it (s38). Both now
    write the same variants and qc_report.tsv."""
    from bed_reader import to_bed

    d, _, _, samples = vcfdata
    g = np.random.default_rng(8).binomial(2, 0.3, (N, 6)).astype(np.float32)
    to_bed(tmp_path / "g.bed", g, count_A1=True, properties={
        "iid": samples, "fid": samples, "sid": [f"rs{j + 1}" for j in range(6)], "chromosome": ["1"] * 6,
        "bp_position": 1000 * np.arange(1, 7), "allele_1": ["0", "G", "G", "G", "G", "G"], "allele_2": ["A"] * 6})
    got = {}
    for engine in ("fast", "hail"):
        _gwas(d, GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / engine, engine)
        got[engine] = (pd.read_csv(tmp_path / engine / "y1.tsv.gz", sep="\t")["variant_id"].tolist(),
                       pd.read_csv(tmp_path / engine / "qc_report.tsv", sep="\t"))
    assert got["hail"][0] == got["fast"][0] == ["rs2", "rs3", "rs4", "rs5", "rs6"]
    pd.testing.assert_frame_equal(got["hail"][1], got["fast"][1])
    assert got["hail"][1].set_index("filter").loc["biallelic", "removed"] == 1


def test_gwas_hail__no_variant_counted_for_a_sample_is_fully_called_as_in_the_fast_engine(hail_context, vcfdata,
                                                                                          tmp_path):
    """Hail's sample call rate over no counted variant was NaN, and QC stopped in a TypeError traceback (review of
    s38): an --extract of not-biallelic variants only (the 'no variant' check ran before the biallelic filter), or
    --chr Y with sexes in the .fam (a female counts no Y variant). Such a sample is fully called, as the fast
    engine's max(n, 1): the first is its one-line error, the second its results (Y tested on the males)."""
    from bed_reader import to_bed

    d, _, _, samples = vcfdata
    g = np.random.default_rng(5).binomial(2, 0.3, (N, 4)).astype(np.float32)
    to_bed(tmp_path / "g.bed", g, count_A1=True, properties={
        "iid": samples, "fid": samples, "sid": ["rs1", "rs2", "rs3", "rs4"], "sex": [1, 2] * (N // 2),
        "chromosome": ["1", "1", "24", "24"], "bp_position": [1000, 2000, 3_000_000, 4_000_000],
        "allele_1": ["0", "G", "G", "G"], "allele_2": ["A"] * 4})
    (tmp_path / "zero.txt").write_text("rs1\n")
    errors, got = {}, {}
    for engine in ("fast", "hail"):
        with pytest.raises(InputError) as exc:
            _gwas(d, GenotypeSource(bfile=str(tmp_path / "g"), extract=str(tmp_path / "zero.txt")),
                  tmp_path / f"zero_{engine}", engine)
        errors[engine] = str(exc.value)
        _gwas(d, GenotypeSource(bfile=str(tmp_path / "g"), chromosomes=("Y",)), tmp_path / f"y_{engine}", engine)
        got[engine] = (pd.read_csv(tmp_path / f"y_{engine}" / "y1.tsv.gz", sep="\t")[["variant_id", "n"]],
                       pd.read_csv(tmp_path / f"y_{engine}" / "qc_report.tsv", sep="\t"))
    assert errors["hail"] == errors["fast"] == f"--bfile {tmp_path / 'g'}: no variant passed QC"
    for hail_table, fast_table in zip(got["hail"], got["fast"]):
        pd.testing.assert_frame_equal(hail_table, fast_table)
    got = got["fast"][0]
    assert got["variant_id"].tolist() == ["rs3", "rs4"] and (got["n"] == N // 2).all()


@pytest.mark.parametrize("command", ["king", "pca"])
def test_hail_import__locus_outside_the_reference_advice_fits_the_command(hail_context, vcfdata, tmp_path, command):
    """A .bim's chromosome 0 read by Hail for --remove-related's KING on the fast engine, or by edfgen pca (Hail
    only): the one line said to use --engine fast, which the KING user already runs and pca does not have (review
    of s38). It now says to leave the variants out first (and, for KING, to give --remove the relatives)."""
    from bed_reader import to_bed

    from edfgen.engines.hail import related_callback
    from edfgen.kernels.qc import QCSettings

    d, _, _, samples = vcfdata
    g = np.random.default_rng(3).binomial(2, 0.3, (N, 4)).astype(np.float32)
    to_bed(tmp_path / "c.bed", g, count_A1=True, properties={
        "iid": samples, "fid": samples, "sid": ["rs1", "rs2", "rs3", "rs4"], "chromosome": ["0", "1", "1", "1"],
        "bp_position": [5, 1000, 2000, 3000], "allele_1": ["G"] * 4, "allele_2": ["A"] * 4})
    source = GenotypeSource(bfile=str(tmp_path / "c"))
    with pytest.raises(InputError) as exc:
        if command == "king":
            related_callback(source, np.asarray(samples), QCSettings(remove_related=True))(np.arange(N))
        else:
            from edfgen.commands.pca import run_pca
            run_pca(source, tmp_path / "pca", k=2)
    msg = str(exc.value)
    assert msg.startswith(f"--bfile {tmp_path / 'c'}: cannot import") and "Invalid locus" in msg, msg
    assert "--engine" not in msg and "plink2 --not-chr 0" in msg and "\n" not in msg
    assert ("--remove the relatives" in msg) == (command == "king")
