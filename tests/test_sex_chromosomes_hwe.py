"""X's Hardy-Weinberg test as plink2 2.00a3.5's ``--hwe`` runs it (Graffelman & Weir 2016: females' genotypes and
males' alleles together, samples of unknown sex left out, heterozygous males left out), checked by running
plink2 (``--hardy``'s ``.hardy.x`` P, ``--glm`` after ``--hwe``). edfgen skipped X's HWE (stop 29's leftover 1);
the brief's "females only" is plink2's ``FEMALE_ONLY_P`` column, not what its ``--hwe`` filters on."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings, hwe_x_exact_p, hwe_x_exact_below
from tests.test_sex_chromosomes import PLINK2

needs_plink2 = pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")
N_AUTO, N_X = 6, 24


def _x_cohort(d: Path, n_unknown: int, n_auto: int = N_AUTO) -> Path:
    """900 samples (``n_unknown`` of them of unknown sex, the rest half male); ``n_auto`` chr1 and 24 non-PAR X
    variants in HWE (males 0/2) but: X0 every female heterozygous, X1 males' allele frequency 0.7 against the females'
    0.3 (fails Graffelman-Weir, not the females-only test), X2 the unknown-sex samples all homozygous (fails
    only if they are counted), X3 a few heterozygous males (left out by plink2), X4 a mild female excess of
    heterozygotes (p ~ 1e-3: kept at 1e-6)."""
    from bed_reader import to_bed

    rng = np.random.default_rng(29)
    n = 900
    sex = np.r_[np.ones((n - n_unknown) // 2, int), np.full(n - n_unknown - (n - n_unknown) // 2, 2),
                np.zeros(n_unknown, int)]
    rng.shuffle(sex)
    male, female, unknown = sex == 1, sex == 2, sex == 0
    M = n_auto + N_X
    p = rng.uniform(0.15, 0.45, M)
    g = rng.binomial(2, p, size=(n, M)).astype(float)
    x = np.arange(n_auto, M)
    hemi = male | (unknown & (np.arange(n) % 2 == 0))      # half the unknown-sex samples are men
    g[np.ix_(hemi, x)] = 2.0 * rng.binomial(1, p[x], size=(int(hemi.sum()), N_X))
    x0, x1, x2, x3, x4 = x[:5]
    g[female, x0] = 1.0
    g[male, x1] = 2.0 * rng.binomial(1, 0.7, int(male.sum()))
    g[female, x1] = rng.binomial(2, 0.3, int(female.sum()))
    g[unknown, x2] = 2.0
    g[np.flatnonzero(male)[:6], x3] = 1.0
    fem = np.flatnonzero(female)
    hom = fem[np.isin(g[fem, x4], (0.0, 2.0))]
    g[hom[:int(0.12 * len(hom))], x4] = 1.0
    g[rng.choice(n, 5, replace=False), n_auto + 8] = np.nan
    iid = [f"s{i}" for i in range(n)]
    to_bed(d / "g.bed", g, count_A1=False, properties={
        "fid": iid, "iid": iid, "sex": sex, "sid": [f"v{j}" for j in range(M)],
        "chromosome": ["1"] * n_auto + ["23"] * N_X, "bp_position": np.arange(1, M + 1) * 1000 + 3_000_000,
        "allele_1": ["A"] * M, "allele_2": ["G"] * M})
    age = rng.normal(50, 8, n)
    y = 0.3 * g[:, n_auto + 6] + 0.5 * male + 0.02 * age + rng.normal(0, 1, n)
    pd.DataFrame({"IID": iid, "y": y}).to_csv(d / "pheno.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": iid, "age": age}).to_csv(d / "covar.tsv", sep="\t", index=False)
    pd.DataFrame({"#FID": iid, "IID": iid, "y": y}).to_csv(d / "pheno.p2", sep="\t", index=False)
    pd.DataFrame({"#FID": iid, "IID": iid, "age": age}).to_csv(d / "covar.p2", sep="\t", index=False)
    return d


def _plink2(d: Path, *args) -> None:
    subprocess.run([PLINK2, "--bfile", str(d / "g"), *args, "--silent"], check=True)


@needs_plink2
@pytest.mark.parametrize("n_unknown", [0, 60])
def test_hwe_x_exact_p__equal_to_plink2_hardy_x(tmp_path, n_unknown):
    d = _x_cohort(tmp_path, n_unknown)
    _plink2(d, "--hardy", "--out", str(d / "h"))
    h = pd.read_csv(d / "h.hardy.x", sep="\t")
    counts = h[["FEMALE_HOM_A1_CT", "FEMALE_HET_A1_CT", "FEMALE_TWO_AX_CT", "MALE_A1_CT", "MALE_AX_CT"]].to_numpy()
    p = hwe_x_exact_p(*counts.T)
    np.testing.assert_allclose(p, h["P"], rtol=2e-5)                 # (plink2 prints 6 digits)
    assert (p[:2] < 1e-20).all() and p[4] > 1e-6
    np.testing.assert_array_equal(hwe_x_exact_below(*counts.T, 1e-6), h["P"].to_numpy() < 1e-6)
    # the allele labels swapped: the same p
    np.testing.assert_allclose(hwe_x_exact_p(*counts[:, [2, 1, 0, 4, 3]].T), p, rtol=1e-9)


def test_hwe_x_exact_p__small_tables_by_enumeration():
    """Against a brute-force sum over every table with the same numbers of females, males and allele copies."""
    from math import exp, lgamma, log

    def brute(f1, fh, f2, m1, m2):
        nf, nm = f1 + fh + f2, m1 + m2
        n1, t = m1 + 2 * f1 + fh, 2 * nf + nm

        def lp(a, h, c, m):
            return (lgamma(nm + 1) + lgamma(nf + 1) + lgamma(n1 + 1) + lgamma(t - n1 + 1) + h * log(2)
                    - lgamma(m + 1) - lgamma(nm - m + 1) - lgamma(a + 1) - lgamma(h + 1) - lgamma(c + 1)
                    - lgamma(t + 1))
        obs = lp(f1, fh, f2, m1)
        tot = 0.0
        for m in range(nm + 1):
            r = n1 - m
            for h in range(r % 2, min(r, 2 * nf - r) + 1, 2) if 0 <= r <= 2 * nf else ():
                a = (r - h) // 2
                if lp(a, h, nf - h - a, m) <= obs + 1e-7:
                    tot += exp(lp(a, h, nf - h - a, m))
        return min(tot, 1.0)

    tables = [(3, 10, 0, 1, 7), (0, 5, 0, 0, 0), (10, 0, 0, 5, 5), (0, 40, 0, 13, 23), (4, 12, 21, 25, 11),
              (7, 20, 9, 0, 30), (0, 0, 12, 0, 9)]
    for t in tables:
        np.testing.assert_allclose(hwe_x_exact_p(*[[v] for v in t])[0], brute(*t), rtol=1e-9, err_msg=str(t))
    assert hwe_x_exact_p([0], [0], [0], [3], [4])[0] == 1.0         # no female: nothing to test


@needs_plink2
@pytest.mark.parametrize("n_unknown", [0, 60])
def test_gwas__x_hwe_removes_what_plink2_removes(tmp_path, n_unknown):
    """edfgen's default QC kept every X variant (no HWE on X); plink2 --hwe removes X0 and X1 (Graffelman-Weir),
    keeps X2 (unknown sex left out) and X4. The GWAS-SSF variants and the qc_report's hwe row equal plink2's."""
    d = _x_cohort(tmp_path, n_unknown)
    out = tmp_path / "e"
    run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", out, covar_cols=["age"],
             qc=QCSettings(), settings=GwasSettings(transform="none", plots=False, missing_genotypes="drop"))
    ours = pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id")
    _plink2(d, "--pheno", str(d / "pheno.p2"), "--covar", str(d / "covar.p2"), "--glm", "hide-covar", "--maf",
            "0.01", "--geno", "0.05", "--mind", "0.05", "--hwe", "1e-6", "--out", str(d / "p2"))
    ref = pd.read_csv(d / "p2.y.glm.linear", sep="\t").set_index("ID")
    x = [f"v{j}" for j in range(N_AUTO, N_AUTO + N_X)]
    assert {"v6", "v7"}.isdisjoint(ref.index) and {"v8", "v9", "v10"} <= set(ref.index)
    assert set(ours.index) == set(ref.index)
    ref = ref.loc[ours.index]
    sign = np.where(ref["A1"] == ours["effect_allele"], 1.0, -1.0)
    np.testing.assert_allclose(ours["beta"], sign * ref["BETA"], rtol=1e-5, atol=1e-7)
    qc = pd.read_csv(out / "qc_report.tsv", sep="\t").set_index("filter")
    assert qc.loc["hwe", "removed"] == len(set(x) - set(ref.index)) == 2
    assert qc.loc["hwe", "threshold"] == "p >= 1e-06 (autosomes and PAR; X: females and males, Graffelman-Weir, as plink2)"


def test_gwas__x_without_sex_not_hwe_tested(tmp_path):
    """No sex in the files (every .fam sex 0): plink2 writes no .hardy.x and --hwe keeps all of X; so does
    edfgen (and says so: "(autosomes and PAR)")."""
    d = _x_cohort(tmp_path, 0)
    fam = pd.read_csv(d / "g.fam", sep=r"\s+", header=None)
    fam[4] = 0
    fam.to_csv(d / "g.fam", sep=" ", header=False, index=False)
    out = tmp_path / "e"
    run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", out, covar_cols=["age"],
             qc=QCSettings(), settings=GwasSettings(transform="none", plots=False, missing_genotypes="drop"))
    ours = pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id")
    assert {f"v{j}" for j in range(N_AUTO, N_AUTO + N_X)} <= set(ours.index)
    qc = pd.read_csv(out / "qc_report.tsv", sep="\t").set_index("filter")
    assert qc.loc["hwe", "threshold"] == "p >= 1e-06 (autosomes and PAR)" and qc.loc["hwe", "removed"] == 0


@needs_plink2
def test_gwas_hail__x_hwe_as_the_fast_engine_and_plink2(hail_context, tmp_path):
    """The Hail engine's QC tests X's HWE as the fast engine and plink2 (it kept all of X)."""
    d = _x_cohort(tmp_path, 60)
    kept, rows = {}, {}
    for engine in ("fast", "hail"):
        run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", tmp_path / engine,
                 covar_cols=["age"], qc=QCSettings(), settings=GwasSettings(engine=engine, transform="none",
                                                                           plots=False))
        kept[engine] = set(pd.read_csv(tmp_path / engine / "y.tsv.gz", sep="\t")["variant_id"])
        rows[engine] = pd.read_csv(tmp_path / engine / "qc_report.tsv", sep="\t").set_index("filter").loc["hwe"]
    _plink2(d, "--hwe", "1e-6", "--maf", "0.01", "--geno", "0.05", "--mind", "0.05", "--write-snplist",
            "--out", str(d / "p2"))
    ref = set((d / "p2.snplist").read_text().split())
    assert kept["hail"] == kept["fast"] == ref and "v6" not in ref and "v7" not in ref
    assert rows["hail"].to_dict() == rows["fast"].to_dict() and rows["hail"]["removed"] == 2


@needs_plink2
def test_hwe_x_exact_p__half_a_million_samples_fast_and_equal_to_plink2(tmp_path):
    """N = 500k (250k women, 250k men), 6 X variants in HWE or near it (p from ~1e-3 to 1): the same P as
    plink2's .hardy.x, in well under a CPU-second each (review rev29d F3: the tail sum took ~1.6 CPU-s a variant,
    ~10 s for these 6; now 1 - the mass around the mode, ~0.1 s each)."""
    import time

    rng = np.random.default_rng(30)
    n, M = 500_000, 6
    sex = np.r_[np.ones(n // 2, np.int8), np.full(n // 2, 2, np.int8)]
    p = np.array([0.02, 0.1, 0.25, 0.4, 0.3, 0.3])
    G = np.empty((M, n), np.uint8)
    for j in range(M):
        G[j, sex == 2] = rng.binomial(2, p[j], n // 2)
        G[j, sex == 1] = 2 * rng.binomial(1, p[j] * (1.01 if j == 4 else 1.0), n // 2)
    fem_hom = np.flatnonzero((sex == 2) & (G[5] != 1))
    G[5, fem_hom[:700]] = 1                    # a slight female excess of heterozygotes
    code = np.array([3, 2, 0], np.uint8)[G].reshape(M, -1, 4)     # .bed 2-bit codes (A1 count 2, 1, 0)
    packed = code[:, :, 0] | (code[:, :, 1] << 2) | (code[:, :, 2] << 4) | (code[:, :, 3] << 6)
    (tmp_path / "g.bed").write_bytes(b"\x6c\x1b\x01" + packed.astype(np.uint8).tobytes())
    (tmp_path / "g.fam").write_text("".join(f"s{i} s{i} 0 0 {s} -9\n" for i, s in enumerate(sex)))
    (tmp_path / "g.bim").write_text("".join(f"23\tv{j}\t0\t{5_000_000 + j}\tA\tG\n" for j in range(M)))
    _plink2(tmp_path, "--hardy", "--out", str(tmp_path / "h"))
    h = pd.read_csv(tmp_path / "h.hardy.x", sep="\t")
    counts = h[["FEMALE_HOM_A1_CT", "FEMALE_HET_A1_CT", "FEMALE_TWO_AX_CT", "MALE_A1_CT", "MALE_AX_CT"]].to_numpy()
    t0 = time.process_time()
    p_x = hwe_x_exact_p(*counts.T)
    cpu = time.process_time() - t0
    np.testing.assert_allclose(p_x, h["P"], rtol=2e-5)
    assert h["P"].min() < 0.05 and cpu < 5.0, (h["P"].tolist(), cpu)   # before the fix 9.9 s; after 0.6-1 s (a margin for load)
    np.testing.assert_array_equal(hwe_x_exact_below(*counts.T, 0.05), h["P"].to_numpy() < 0.05)


@needs_plink2
def test_gwas_hail__no_male_analysed_unknown_sex_counted_with_women_as_plink2(hail_context, tmp_path):
    """Every male removed (--remove): plink2's X HWE counts the 60 unknown-sex samples with the women (X2, whose
    unknown-sex samples are all homozygous, then fails); edfgen counted the known women only and kept it
    (review rev29d F4). Both engines keep what plink2 --remove --hwe keeps."""
    d = _x_cohort(tmp_path, 60)
    fam = pd.read_csv(d / "g.fam", sep=r"\s+", header=None)
    fam.loc[fam[4] == 1, [0, 1]].to_csv(d / "males.txt", sep="\t", header=False, index=False)
    kept = {}
    for engine in ("fast", "hail"):
        run_gwas(GenotypeSource(bfile=str(d / "g"), remove=str(d / "males.txt")), d / "pheno.tsv", d / "covar.tsv",
                 tmp_path / engine, covar_cols=["age"], qc=QCSettings(),
                 settings=GwasSettings(engine=engine, transform="none", plots=False))
        kept[engine] = set(pd.read_csv(tmp_path / engine / "y.tsv.gz", sep="\t")["variant_id"])
    _plink2(d, "--remove", str(d / "males.txt"), "--hwe", "1e-6", "--maf", "0.01", "--geno", "0.05", "--mind",
            "0.05", "--write-snplist", "--out", str(d / "p2"))
    ref = set((d / "p2.snplist").read_text().split())
    assert kept["hail"] == kept["fast"] == ref and f"v{N_AUTO + 2}" not in ref and f"v{N_AUTO}" not in ref


@needs_plink2
def test_gwas_hail__pseudo_autosomal_region_hwe_tested_as_plink2(hail_context, tmp_path):
    """The pseudo-autosomal region (PLINK's 25, men diploid there) gets the ordinary HWE test, as plink2 --hwe
    tests XY: its variant with every sample heterozygous is removed by both engines (review rev29d F5: edfgen
    tested autosomes only and kept it)."""
    from bed_reader import to_bed

    rng = np.random.default_rng(31)
    n, chroms = 600, ["1"] * 4 + ["25"] * 4
    sex = rng.choice([1, 2], n)
    g = rng.binomial(2, rng.uniform(0.2, 0.45, len(chroms)), size=(n, len(chroms))).astype(float)
    g[:, 4] = 1.0                                  # PAR: every sample heterozygous
    g[:, 0] = 1.0                                  # chr1: the same (removed before too)
    iid = [f"s{i}" for i in range(n)]
    to_bed(tmp_path / "g.bed", g, count_A1=False, properties={
        "fid": iid, "iid": iid, "sex": sex, "sid": [f"v{j}" for j in range(len(chroms))], "chromosome": chroms,
        "bp_position": np.arange(1, len(chroms) + 1) * 1000 + 200_000, "allele_1": ["A"] * len(chroms),
        "allele_2": ["G"] * len(chroms)})
    pd.DataFrame({"IID": iid, "y": rng.normal(size=n)}).to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": iid, "age": rng.normal(50, 8, n)}).to_csv(tmp_path / "covar.tsv", sep="\t", index=False)
    kept = {}
    for engine in ("fast", "hail"):
        run_gwas(GenotypeSource(bfile=str(tmp_path / "g")), tmp_path / "pheno.tsv", tmp_path / "covar.tsv",
                 tmp_path / engine, covar_cols=["age"], qc=QCSettings(),
                 settings=GwasSettings(engine=engine, transform="none", plots=False))
        kept[engine] = set(pd.read_csv(tmp_path / engine / "y.tsv.gz", sep="\t")["variant_id"])
    _plink2(tmp_path, "--hwe", "1e-6", "--maf", "0.01", "--geno", "0.05", "--mind", "0.05", "--write-snplist",
            "--out", str(tmp_path / "p2"))
    ref = set((tmp_path / "p2.snplist").read_text().split())
    assert kept["hail"] == kept["fast"] == ref == {f"v{j}" for j in (1, 2, 3, 5, 6, 7)}


def test_hwe_diploid__autosomes_and_par_by_label_or_by_coordinates():
    """PAR by its labels (XY, 25, PAR1) or X-labelled inside the build's PAR coordinates (kind ""): the diploid
    test; non-PAR X, Y, MT and unplaced contigs: not it."""
    from edfgen.engines.sex_chromosomes import chromosome_kinds
    from edfgen.formats.chromosomes import hwe_diploid

    labels = np.array(["1", "chr22", "XY", "25", "PAR1", "X", "X", "Y", "MT", "Un"], dtype=object)
    pos = np.array([1, 1, 1, 1, 1, 100_000, 5_000_000, 5_000_000, 1, 1])
    assert hwe_diploid(labels).tolist() == [True, True, True, True, True, False, False, False, False, False]
    kinds = chromosome_kinds(labels[[0, 5, 6, 7]], pos[[0, 5, 6, 7]], "GRCh38")
    assert hwe_diploid(labels[[0, 5, 6, 7]], kinds).tolist() == [True, True, False, False]



N_AUTO_MODELS = 120     # chr1 variants: enough for MOSTest's null correlation


def _x_cohort_for_models(d: Path) -> tuple[Path, set]:
    """:func:`_x_cohort` (60 of unknown sex, :data:`N_AUTO_MODELS` chr1 variants, a second phenotype ``y2``) whose
    X14 has 15 heterozygous females and no other carrier: MAF 15/1260 counting one allele per male (kept),
    15/1800 with males' calls as stored (removed); and the variants plink2's QC keeps (plink2 ``--freq
    --remove-nosex`` in ``d/f.afreq``: X's frequencies over the samples of known sex)."""
    from bed_reader import open_bed, to_bed

    _x_cohort(d, 60, N_AUTO_MODELS)
    with open_bed(d / "g.bed", count_A1=False) as b:
        G = b.read(dtype="float64")
        props = {k: np.asarray(getattr(b, k)) for k in ("fid", "iid", "sex", "sid", "chromosome", "bp_position",
                                                         "allele_1", "allele_2")}
    x14 = N_AUTO_MODELS + 14
    G[:, x14] = 0.0
    G[np.flatnonzero(props["sex"] == 2)[:15], x14] = 1.0
    to_bed(d / "g.bed", G, count_A1=False, properties=props)
    pheno = pd.read_csv(d / "pheno.tsv", sep="\t")
    pheno.assign(y2=np.random.default_rng(3).normal(size=len(pheno))).to_csv(d / "pheno.tsv", sep="\t", index=False)
    _plink2(d, "--hwe", "1e-6", "--maf", "0.01", "--geno", "0.05", "--mind", "0.05", "--write-snplist",
            "--out", str(d / "p2"))
    _plink2(d, "--freq", "--remove-nosex", "--out", str(d / "f"))
    ref = set((d / "p2.snplist").read_text().split())
    assert f"v{x14}" in ref and {f"v{N_AUTO_MODELS}", f"v{N_AUTO_MODELS + 1}"}.isdisjoint(ref)   # X0, X1: G-W
    return d, ref


def _kept_and_qc(d: Path, out: Path, **settings) -> tuple[set, pd.DataFrame]:
    """The variants of ``y.tsv.gz`` (with X's effect-allele frequency checked against plink2 ``--freq``: one
    allele per male, the samples of known sex) and ``qc_report.tsv`` of a GWAS with ``settings``."""
    run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", out, covar_cols=["age"],
             qc=QCSettings(), settings=GwasSettings(transform="none", plots=False, **settings))
    ours = pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id")
    x = ours[ours["chromosome"] == 23]
    f = pd.read_csv(d / "f.afreq", sep="\t").set_index("ID").loc[x.index]
    np.testing.assert_allclose(x["effect_allele_frequency"],
                               np.where(f["ALT"] == x["effect_allele"], f["ALT_FREQS"], 1 - f["ALT_FREQS"]), atol=2e-6)
    return set(ours.index), pd.read_csv(out / "qc_report.tsv", sep="\t").set_index("filter")


@needs_plink2
@pytest.mark.parametrize("mode", [{"multivariate": True}, {"model": "ridge-loco"}, {"model": "lmm-loco"}])
def test_gwas_models__x_qc_reads_sex_as_plink2(tmp_path, mode):
    """``--multivariate`` and ``--model ridge-loco/lmm-loco`` test without sex, but their QC reads it as the
    default run and plink2 do (review s31f F1: they dropped sex for the QC too, keeping the X variants that fail
    Graffelman-Weir and counting males' X calls as two alleles in the MAF filter and effect_allele_frequency)."""
    d, ref = _x_cohort_for_models(tmp_path)
    kept, qc = _kept_and_qc(d, tmp_path / "model", **mode)
    kept_default, qc_default = _kept_and_qc(d, tmp_path / "default")
    assert kept == kept_default == ref
    pd.testing.assert_frame_equal(qc, qc_default)


@needs_plink2
def test_gwas_hail_multivariate__x_qc_reads_sex_as_plink2(hail_context, tmp_path):
    """The Hail engine's ``--multivariate`` QC and X frequencies read sex too (review s31f F1), as the fast
    engine's."""
    d, ref = _x_cohort_for_models(tmp_path)
    kept, qc = _kept_and_qc(d, tmp_path / "hail", engine="hail", multivariate=True)
    kept_fast, qc_fast = _kept_and_qc(d, tmp_path / "fast", multivariate=True)
    assert kept == kept_fast == ref
    pd.testing.assert_frame_equal(qc, qc_fast)
