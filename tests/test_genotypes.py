"""Genotype import and QC: HWE exact test vs Hail, QC vs plink2 and Hail, KING relatedness, importers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError
from edfgen.engines.hail import HailSettings, hail_qc, related_callback, related_pairs
from edfgen.engines.hail_import import import_genotypes
from edfgen.engines.gwas_stream import reader_qc
from edfgen.formats.genotypes.plink1 import BedReader
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings, hwe_exact_p

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def stream_qc(prefix: str, settings: QCSettings, *, related: bool = False):
    """The streamed engine's QC (:func:`edfgen.engines.gwas_stream.reader_qc`) of every sample and variant of a
    PLINK fileset (``related``: KING through Hail, as ``edfgen gwas --remove-related``):
    ``(variants kept, sample rows kept, steps, N genotyped)``."""
    reader = BedReader(prefix)
    cb = related_callback(GenotypeSource(bfile=prefix), reader.samples["IID"].to_numpy(), settings,
                          HailSettings()) if related else None
    variants, samples, steps = reader_qc(reader, np.arange(reader.n_samples),
                                         reader.variants.assign(row=np.arange(reader.n_variants)), settings,
                                         related=cb)
    return variants, samples, steps, reader.n_samples


def _qc_cohort(d: Path, seed: int = 5) -> Path:
    """PLINK data with planted QC failures: low-call-rate variants and samples, rare variants and
    variants far out of Hardy-Weinberg equilibrium (no heterozygotes)."""
    from bed_reader import to_bed

    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n, m = 400, 600
    f = rng.uniform(0.02, 0.5, m)
    f[:40] = rng.uniform(0.0005, 0.008, 40)                    # rare: fail MAF 0.01
    G = rng.binomial(2, f, (n, m)).astype(float)
    hom = rng.random((n, 30)) < 0.5                             # 30 variants without heterozygotes: fail HWE
    G[:, 100:130] = np.where(hom, 0.0, 2.0)
    G[rng.random((n, m)) < 0.003] = np.nan
    blk = G[:, 200:225]
    blk[rng.random((n, 25)) < 0.08] = np.nan                    # ~8% missing: fail call rate 0.95
    G[:, 200:225] = blk
    low = G[:6]
    low[rng.random((6, m)) < 0.2] = np.nan                      # 6 samples with ~80% call rate
    G[:6] = low
    iid = np.array([f"Q{i:03d}" for i in range(n)])
    to_bed(d / "q.bed", G.astype(np.float32), count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": [f"v{i}" for i in range(m)], "chromosome": np.repeat(["1"], m),
        "bp_position": np.arange(1, m + 1) * 100, "allele_1": np.full(m, "A"), "allele_2": np.full(m, "G")})
    return d / "q"


@pytest.fixture(scope="module")
def qc_bfile(tmp_path_factory) -> str:
    return str(_qc_cohort(tmp_path_factory.mktemp("qc")))


def test_hwe_exact_p__matches_hail_hardy_weinberg_test(hail_context):
    hl = hail_context
    rng = np.random.default_rng(0)
    trip = [(int(a), int(b), int(c)) for a, b, c in rng.integers(0, 60, (60, 3))]
    trip += [(500, 10, 490), (900, 95, 5), (0, 0, 30), (3000, 2000, 300), (400, 100, 500), (1, 0, 1)]
    a, b, c = (np.array(v) for v in zip(*trip))
    ref = hl.eval(hl.literal(trip, dtype=hl.tarray(hl.ttuple(hl.tint32, hl.tint32, hl.tint32))).map(lambda t: hl.hardy_weinberg_test(t[0], t[1], t[2]).p_value))
    got = hwe_exact_p(a, b, c, midp=True)  # Hail's test is the mid-p version
    exact = (np.minimum(2 * a + b, 2 * c + b) < 1000) | (got < 1e-2)
    np.testing.assert_allclose(got[exact], np.array(ref)[exact], rtol=1e-6)
    assert (np.array(ref)[~exact] > 1e-3).all()  # screened variants are nowhere near a filter threshold


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_plink_qc__same_variants_and_samples_as_plink2(qc_bfile, tmp_path):
    variants, samples, steps, n = stream_qc(qc_bfile, QCSettings())
    subprocess.run(["plink2", "--bfile", qc_bfile, "--mind", "0.05", "--geno", "0.05", "--maf", "0.01",
                    "--hwe", "1e-6", "--write-snplist", "--write-samples", "--out", str(tmp_path / "p2"),
                    "--silent"], check=True)
    ref_v = set((tmp_path / "p2.snplist").read_text().split())
    ref_s = set(pd.read_csv(tmp_path / "p2.id", sep="\t")["IID"])
    assert set(variants["variant_id"]) == ref_v
    fam = pd.read_csv(qc_bfile + ".fam", sep=r"\s+", header=None)[1].to_numpy()
    assert set(fam[samples]) == ref_s
    rep = {s.filter: s for s in steps}
    assert [s.filter for s in steps] == ["biallelic", "sample_call_rate", "variant_call_rate", "maf", "hwe"]
    assert rep["sample_call_rate"].removed == 6 and rep["variant_call_rate"].removed >= 20
    assert rep["maf"].removed >= 30 and rep["hwe"].removed == 30
    assert rep["hwe"].remaining == len(variants) and n == 400


def test_hail_qc__same_result_as_numpy_qc_and_checkpoint_reused(hail_context, qc_bfile, tmp_path):
    hl = hail_context
    mt = import_genotypes(GenotypeSource(bfile=qc_bfile), hl=hl)
    ckpt = str(tmp_path / "qc.mt")
    mt_qc, v_hail, steps_hail, _ = hail_qc(hl, mt, None, QCSettings(), checkpoint=ckpt)
    mt2, v2, steps2, n2 = hail_qc(hl, None, None, QCSettings(), checkpoint=ckpt)  # no input: read from the cache
    as_list = lambda v: v.astype(object).where(v.notna(), None).to_numpy().tolist()  # noqa: E731
    assert as_list(v2) == as_list(v_hail) and steps2 == steps_hail and n2 == 400
    assert mt2.count() == mt_qc.count() == (len(v_hail), 394)
    v_np, _, steps_np, _ = stream_qc(qc_bfile, QCSettings())
    assert list(v_hail["variant_id"]) == list(v_np["variant_id"])
    assert [(s.filter, s.removed, s.remaining) for s in steps_hail] == \
           [(s.filter, s.removed, s.remaining) for s in steps_np]
    assert (v_hail["effect_allele"] == "A").all() and (v_hail["chromosome"] == "1").all()


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_plink_qc__remove_related_matches_plink2_king_and_splits_siblings(hail_context, sim_cohort, tmp_path):
    """Hail's KING pairs above 0.0884 equal plink2 --make-king-table's; every planted sibling pair is
    found and no related pair is left after removal. (On the simulated cohort's short genome KING is noisy,
    SD ~0.03 for unrelated pairs (README "Simulated cohort"), so many unrelated pairs pass 0.0884 besides the 15
    sibling pairs, more than 15 samples go, and the maximal independent set may drop both siblings.)"""
    hl = hail_context
    truth = json.loads((sim_cohort / "truth.json").read_text())
    bfile = str(sim_cohort / "genotypes")
    subprocess.run(["plink2", "--bfile", bfile, "--make-king-table", "--king-table-filter", "0.0884",
                    "--threads", "2", "--out", str(tmp_path / "k"), "--silent"], check=True)
    ref = pd.read_csv(tmp_path / "k.kin0", sep="\t")
    ref_pairs = {tuple(sorted(p)): phi for p, phi in zip(zip(ref["IID1"], ref["IID2"]), ref["KINSHIP"])}
    mt = import_genotypes(GenotypeSource(bfile=bfile), hl=hl)
    got = related_pairs(hl, mt).to_pandas()
    got_pairs = {tuple(sorted(p)): phi for p, phi in zip(zip(got["i"], got["j"]), got["phi"])}
    border = {p for p in set(ref_pairs) ^ set(got_pairs) if abs(ref_pairs.get(p, got_pairs.get(p)) - 0.0884) > 1e-3}
    assert not border and len(ref_pairs) > 15
    common = sorted(set(ref_pairs) & set(got_pairs))
    np.testing.assert_allclose([got_pairs[p] for p in common], [ref_pairs[p] for p in common], atol=1e-4)
    before = set(os.listdir(hl.tmp_dir().removeprefix("file://")))
    _, samples, steps, _ = stream_qc(bfile, QCSettings(remove_related=True), related=True)
    # review s34e F2: KING's temporary tables (king-*.ht, hl.king's products) were left in Hail's folder
    assert set(os.listdir(hl.tmp_dir().removeprefix("file://"))) == before
    fam = pd.read_csv(bfile + ".fam", sep=r"\s+", header=None)[1].to_numpy()
    kept = set(fam[samples])
    assert not [p for p in got_pairs if p[0] in kept and p[1] in kept]
    assert all(tuple(sorted(p)) in got_pairs for p in truth["related_pairs"])  # every sibling pair detected
    assert not any(a in kept and b in kept for a, b in truth["related_pairs"])
    assert {s.filter: s for s in steps}["related"].removed == len(fam) - len(kept)


def test_import_genotypes__vcf_bgen_mt_equal_plink(hail_context, qc_bfile, tmp_path):
    hl = hail_context
    ref = import_genotypes(GenotypeSource(bfile=qc_bfile), hl=hl)
    ref = ref.filter_rows(ref.locus.position <= 3000)          # 30 variants
    ref.write(str(tmp_path / "g.mt"))
    hl.export_vcf(ref.annotate_entries(GT=hl.or_missing(hl.is_defined(ref.x),
                                                        hl.unphased_diploid_gt_index_call(hl.int32(ref.x))),
                                       DS=ref.x).drop("x", "varid"), str(tmp_path / "g.vcf.bgz"))
    gp = hl.or_missing(hl.is_defined(ref.x), hl.literal([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])[hl.int32(ref.x)])
    hl.export_bgen(ref.annotate_entries(GP=gp), str(tmp_path / "g"))
    expected = np.array(hl.or_else(ref.x, -1.0).collect(), dtype=float)  # missing -> -1 (collect drops NA)
    for src in (GenotypeSource(vcf=str(tmp_path / "g.vcf.bgz")),
                GenotypeSource(vcf=str(tmp_path / "g.vcf.bgz"), vcf_field="DS"),
                GenotypeSource(bgen=str(tmp_path / "g.bgen"), sample=str(tmp_path / "g.sample")),
                GenotypeSource(mt=str(tmp_path / "g.mt"))):
        mt = import_genotypes(src, tmp_dir=str(tmp_path), hl=hl)
        assert mt.s.collect() == ref.s.collect()
        got = np.array(hl.or_else(mt.x, -1.0).collect(), dtype=float)
        assert len(got) == len(expected), src
        np.testing.assert_allclose(got, expected, atol=1e-3 if src.bgen else 0)
    assert list((tmp_path / "edfgen-bgen-index").glob("*.idx2"))  # index built into the tmp dir
    # and nothing of hl.index_bgen's left in Hail's temp folder (each new BGEN left an index_bgen_* file: s38)
    assert not [p.name for p in Path(hl.tmp_dir().removeprefix("file://")).glob("*index_bgen*")]


def test_genotype_source__errors_name_the_option(tmp_path):
    with pytest.raises(InputError, match="exactly one of --bfile, --pfile, --vcf, --bgen, --mt"):
        GenotypeSource(bfile="a", vcf="b")
    with pytest.raises(InputError, match=r"--bfile .*nothing\.bed: file not found"):
        GenotypeSource(bfile=str(tmp_path / "nothing"))


def test_genotype_source__missing_sample_file_named_as_sample(tmp_path):
    """Was: '--bgen x.sample: file not found' for a missing --sample file, a {chr} template's included
    (review s30f)."""
    for c in ("1", "2"):
        (tmp_path / f"c{c}.bgen").write_bytes(b"")
    (tmp_path / "c1.sample").write_text("")
    with pytest.raises(InputError, match=r"^--sample .*nonexist\.sample: file not found"):
        GenotypeSource(bgen=str(tmp_path / "c1.bgen"), sample=str(tmp_path / "nonexist.sample"))
    with pytest.raises(InputError, match=r"^--sample .*c2\.sample: file not found"):
        GenotypeSource(bgen=str(tmp_path / "c{chr}.bgen"), sample=str(tmp_path / "c{chr}.sample"))
    with pytest.raises(InputError, match=r"^--bgen .*c3\.bgen: file not found"):
        GenotypeSource(bgen=str(tmp_path / "c3.bgen"), sample=str(tmp_path / "c1.sample"))


def test_genotype_source__an_option_of_another_format_is_refused(tmp_path):
    """Review s34a #2: `clump --bfile g --sample missing.sample`, `gwas --bfile g --vcf-field DS` and `gwas --bfile g
    --skip-bad-variants` ran as if the option were not there; `ldsc --ref-ld-chr ... --sample s` too."""
    from edfgen.commands.ldsc import LdscOptions
    from edfgen.commands.options import genotype_source

    for ext in ("bed", "bim", "fam"):
        (tmp_path / f"g.{ext}").write_text("")
    g = str(tmp_path / "g")
    with pytest.raises(InputError, match=r"^--sample is for --bgen genotypes, not --bfile .*g: leave it out$"):
        GenotypeSource(bfile=g, sample=str(tmp_path / "missing.sample"))
    with pytest.raises(InputError, match=r"^--vcf-field DS is for --vcf or --mt genotypes, not --bfile"):
        GenotypeSource(bfile=g, vcf_field="DS")
    with pytest.raises(InputError, match=r"^--skip-bad-variants is for --bgen genotypes, not --bfile"):
        GenotypeSource(bfile=g, skip_bad_variants=True)
    assert GenotypeSource(bfile=g, vcf_field="auto").kind == "bfile"
    o = LdscOptions(sumstats=(__file__,), out=tmp_path / "o", ref_ld_chr="ld/", sample=("s.sample",))
    with pytest.raises(InputError, match=r"^--sample s\.sample is the \.sample file of a --bgen: give --bgen too$"):
        genotype_source(o, required=False)


def test_import_genotypes__bim_dot_ids_as_the_fast_reader(hail_context, tmp_path):
    """Was: a ``.`` .bim id stayed ``.`` in the Hail engine too; both engines now give ``chr:pos:A2:A1``, the
    PGEN/VCF/BGEN readers' id (review s30f)."""
    from test_bad_input import _write_bfile

    _write_bfile(tmp_path / "g", n=12, m=6)
    bim = tmp_path / "g.bim"
    rows = [r.split("\t") for r in bim.read_text().splitlines()]
    for r in rows[::2]:
        r[1] = "."
    bim.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    want = BedReader(tmp_path / "g").variants["variant_id"].tolist()
    assert want[:2] == ["1:1000:G:A", "rs2"]
    assert import_genotypes(GenotypeSource(bfile=str(tmp_path / "g")), hl=hail_context).varid.collect() == want


def _imputed_vcf(path: Path, seed: int = 3, n: int = 200, m_good: int = 400, m_bad: int = 200,
                 q_max: float = 0.95) -> Path:
    """A VCF of ``DS`` dosages of ``n`` unrelated samples: ``m_good`` variants hard calls (0/1/2), then ``m_bad``
    imputed-style ones (``q g + (1 - q) 2p``, quality ``q`` 0.1-``q_max``: at low ``q`` every dosage is near
    ``2p``, as a UK Biobank low-INFO variant)."""
    rng = np.random.default_rng(seed)
    m = m_good + m_bad
    p = rng.uniform(0.1, 0.5, m)
    G = rng.binomial(2, p, (n, m)).astype(float)
    q = np.r_[np.ones(m_good), rng.uniform(0.1, q_max, m_bad)]
    D = q * G + (1 - q) * 2 * p
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=1,length=100000000>",
             '##FORMAT=<ID=DS,Number=1,Type=Float,Description="dosage">',
             "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"]
                       + [f"S{i:03d}" for i in range(n)])]
    for j in range(m):
        lines.append("\t".join(["1", str(1000 * (j + 1)), f"v{j}", "G", "A", ".", "PASS", ".", "DS"]
                               + [f"{d:.4f}" for d in D[:, j]]))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_hwe_on_dosages__counts_plink2_hard_calls(tmp_path):
    """Review s32d F3: the HWE test of dosage input counted rounded dosages; plink2 counts hard calls, a dosage
    more than 0.1 from an integer being no call (--hard-call-threshold 0.1). On a poorly imputed variant the
    two differ: the variants kept are now plink2's."""
    from edfgen.engines.gwas_stream import reader_qc

    vcf = _imputed_vcf(tmp_path / "imp.vcf")
    reader = GenotypeSource(vcf=str(vcf)).open_reader()
    variants, _, steps = reader_qc(reader, np.arange(reader.n_samples),
                                   reader.variants.assign(row=np.arange(reader.n_variants)), QCSettings())
    subprocess.run(["plink2", "--vcf", str(vcf), "dosage=DS", "--maf", "0.01", "--hwe", "1e-6",
                    "--write-snplist", "--out", str(tmp_path / "p2"), "--silent"], check=True)
    ref = set((tmp_path / "p2.snplist").read_text().split())
    assert set(variants["variant_id"]) == ref
    assert {s.filter: s for s in steps}["hwe"].removed >= 5          # (the poorly imputed variants are tested)


def test_king_on_dosages__poorly_imputed_variants_are_no_calls(hail_context, tmp_path):
    """Review s32d F1: KING on rounded dosages read a poorly imputed variant (everyone's dosage near 2p, one
    rounded genotype) as shared genotypes and related most pairs of unrelated samples. Their dosages are no
    hard calls now (plink2's --hard-call-threshold 0.1) and KING's 0.95 call-rate filter drops them: the pairs
    are those of the well-imputed variants alone. The Hail QC's HWE counts are the fast engine's."""
    from edfgen.engines.gwas_stream import reader_qc
    from edfgen.engines.hail import _common_variants

    hl = hail_context
    vcf = _imputed_vcf(tmp_path / "imp.vcf", n=100, m_good=2000, m_bad=300, q_max=0.6)
    mt = import_genotypes(GenotypeSource(vcf=str(vcf)), hl=hl)
    common, common_good = _common_variants(hl, mt), _common_variants(hl, mt.filter_rows(mt.locus.position <= 2e6))
    assert common.count_rows() == common_good.count_rows()
    pairs, good = related_pairs(hl, common).to_pandas(), related_pairs(hl, common_good).to_pandas()
    assert len(pairs) == len(good) < 20
    assert set(zip(pairs["i"], pairs["j"])) == set(zip(good["i"], good["j"]))
    _, _, steps, _ = hail_qc(hl, mt, None, QCSettings())
    reader = GenotypeSource(vcf=str(vcf)).open_reader()
    _, _, fast = reader_qc(reader, np.arange(reader.n_samples), reader.variants.assign(row=np.arange(reader.n_variants)),
                           QCSettings())
    assert [(s.filter, s.removed) for s in steps] == [(s.filter, s.removed) for s in fast]
