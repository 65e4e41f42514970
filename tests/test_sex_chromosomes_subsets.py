"""Sex chromosomes where the analysed samples are not the files' mix of sexes, checked against plink2 ``--glm``:
no male among them (Y skipped, as plink2 "Skipping chrY since there are no males"), none of known sex (X on
everyone, as plink2 with every sample ambiguous), X-labelled variants in PAR coordinates (plink2
``--split-par``), the LOCO passes' messages, and a ``.sample`` sex column written from floats. Review s28b,
findings F1, F2, F4, F7, F8; F3 (KING on autosomes) is in :func:`test_king__autosomes_only_no_sex_bias`."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas import GwasSettings, run_gwas
from edfgen.formats.genotypes.source import GenotypeSource
from edfgen.kernels.qc import QCSettings
from tests.test_sex_chromosomes import KINDS, PLINK2, _assert_equal_to_plink2, _plink2_glm, _sexed_cohort

needs_plink2 = pytest.mark.skipif(PLINK2 is None, reason="plink2 not installed")


def _gwas(d: Path, out: Path, bfile: str = "g", **source) -> pd.DataFrame:
    """edfgen's GWAS of ``d``'s cohort as plink2 runs it (missing calls dropped per variant)."""
    run_gwas(GenotypeSource(bfile=str(d / bfile), **source), d / "pheno.tsv", d / "covar.tsv", out,
             covar_cols=["age"], qc=QCSettings(),
             settings=GwasSettings(transform="none", plots=False, missing_genotypes="drop"))
    return pd.read_csv(out / "y.tsv.gz", sep="\t").set_index("variant_id")


def _fam(d: Path, name: str = "g") -> pd.DataFrame:
    return pd.read_csv(d / f"{name}.fam", sep=r"\s+", header=None, dtype=str)


def _rewrite(d: Path, name: str, edit) -> None:
    """``g`` rewritten as ``name`` after ``edit(G, properties)`` (in place)."""
    from bed_reader import open_bed, to_bed

    with open_bed(d / "g.bed") as b:
        G = b.read(dtype="float64")
        props = {k: np.asarray(getattr(b, k)) for k in ("fid", "iid", "sex", "sid", "chromosome", "bp_position",
                                                         "allele_1", "allele_2")}
    edit(G, props)
    to_bed(d / f"{name}.bed", G, count_A1=False, properties=props)


@needs_plink2
@pytest.mark.parametrize("imputed", [False, True])
def test_gwas__no_males_analysed_skips_y_as_plink2(tmp_path, caplog, imputed):
    """Females and unknown-sex samples only (``--remove`` the males). Array data (females' Y calls missing): Y
    failed every sample's call rate and the run ended in a ValueError traceback; imputed data (every sample has
    a Y call): Y was tested on the females. plink2 skips Y: so does edfgen, with a warning; the rest equals
    plink2's (X on the females and the unknown-sex samples: one sex known, so no sex covariate, nobody left
    out)."""
    d = _sexed_cohort(tmp_path)
    bfile = "g"
    if imputed:
        bfile = "g2"
        rng = np.random.default_rng(0)

        def fill_y(G, props):
            y = props["chromosome"] == "24"
            G[:, y] = np.where(np.isnan(G[:, y]), 2.0 * rng.binomial(1, 0.3, G[:, y].shape), G[:, y])
        _rewrite(d, bfile, fill_y)
    fam = _fam(d, bfile)
    fam[fam[4] == "1"].iloc[:, :2].to_csv(d / "males.txt", sep="\t", header=False, index=False)
    with caplog.at_level(logging.WARNING):
        ours = _gwas(d, tmp_path / "out", bfile, remove=str(d / "males.txt"))
    assert "no males among the analysed samples: chrY not tested (6 variants)" in caplog.text
    assert "unknown sex" not in caplog.text
    subprocess.run([PLINK2, "--bfile", str(d / bfile), "--pheno", str(d / "pheno.p2"), "--covar", str(d / "covar.p2"),
                    "--glm", "hide-covar", "--remove", str(d / "males.txt"), "--maf", "0.01", "--geno", "0.05",
                    "--mind", "0.05", "--out", str(d / "p2"), "--silent"], check=True)
    ref = pd.read_csv(d / "p2.y.glm.linear", sep="\t").set_index("ID")
    assert "Y" not in set(ref["#CHROM"]) and len(ref) == len(KINDS) - 6
    _assert_equal_to_plink2(ours, ref)
    assert ours["n"].max() == 370 and len(ours) == len(KINDS) - 6
    rec = json.loads((tmp_path / "out" / "manifest.json").read_text())["extra"]["sex_chromosomes"]
    assert rec["males"] == 0 and rec["Y"] == "not tested: no males"


def test_analysed_sex__what_is_left_out_is_warned(caplog):
    """Some analysed samples of unknown sex among males and females: "K samples of unknown sex left out of X"
    (they were left out silently); no male: Y left out."""
    from edfgen.engines.sex_chromosomes import analysed_sex

    kinds = np.array(["", "X", "Y"], dtype=object)
    with caplog.at_level(logging.WARNING):
        sex, tested = analysed_sex(kinds, np.array([1, 2, 0, 0]), label="g.fam")
    assert tested.all() and "2 samples of unknown sex (g.fam) left out of X" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        sex, tested = analysed_sex(kinds, np.array([2, 2, 0]))
    assert tested.tolist() == [True, True, False] and "chrY not tested" in caplog.text
    assert analysed_sex(kinds, np.array([0, 0]))[0] is None


def test_reader_qc__no_sample_left_is_an_input_error(tmp_path):
    """Every sample removed by QC: the one-line MIN_SAMPLES error, not numpy's reduction error on 0 samples."""
    from edfgen.engines.gwas_stream import open_selection, stream_qc
    from edfgen.exceptions import InputError
    from edfgen.formats.genotypes.sex import sample_sex

    d = _sexed_cohort(tmp_path)
    reader, samples, variants = open_selection(GenotypeSource(bfile=str(d / "g")))
    ids = set(reader.samples["IID"])
    with pytest.raises(InputError, match=r"only 0 samples left after sample QC \(need >= 1\)"):
        stream_qc(reader, samples, variants, ids, QCSettings(), min_info=None, related=lambda rows: ids,
                  sex=sample_sex(reader.samples))


@needs_plink2
def test_gwas__analysed_samples_of_unknown_sex_only_as_plink2(tmp_path, caplog):
    """The .fam knows the sex of some samples but none of those analysed (``--keep`` a batch without sex): X on
    all of them without a sex covariate, as plink2 (its 400 "ambiguous"); edfgen refused the whole GWAS (X fitted
    on 0 samples)."""
    d = _sexed_cohort(tmp_path)
    fam = _fam(d)
    fam.loc[:399, 4] = "0"
    fam.to_csv(d / "g.fam", sep=" ", header=False, index=False)
    fam.iloc[:400, :2].to_csv(d / "keep.txt", sep="\t", header=False, index=False)
    with caplog.at_level(logging.WARNING):
        ours = _gwas(d, tmp_path / "out", keep=str(d / "keep.txt"), chromosomes=("1", "X"))
    assert "none of the 400 analysed samples has a known sex" in caplog.text
    assert ours["n"].max() == 400 and (ours["chromosome"].astype(str).isin(["1", "X", "23"])).all()
    ref = _plink2_glm(d, "--keep", str(d / "keep.txt"), "--chr", "1,X,XY")   # (edfgen's X holds PAR)
    fitted = ref["BETA"].notna()     # (plink2 refuses 2 of them: CORR_TOO_HIGH, its own collinearity guard)
    assert fitted.sum() >= len(ref) - 2
    _assert_equal_to_plink2(ours.loc[ref.index[fitted]], ref[fitted])
    rec = json.loads((tmp_path / "out" / "manifest.json").read_text())["extra"]["sex_chromosomes"]
    assert rec["unknown_sex"] == 400 and rec["sex_used"] is False and rec["X"].startswith("everyone")


def _x_labelled_par(d: Path) -> None:
    """``gx``: the cohort with its PAR variants (25, at PAR1 positions of both builds) labelled X (23), as GRCh38
    VCF and BGEN label them (placed before the other X variants: plink2 wants each chromosome contiguous)."""
    def relabel(G, props):
        props["chromosome"] = np.where(props["chromosome"] == "25", "23", props["chromosome"])
        order = np.lexsort((props["bp_position"], props["chromosome"].astype(int)))
        G[:] = G[:, order]
        for k in ("sid", "chromosome", "bp_position", "allele_1", "allele_2"):
            props[k] = props[k][order]
    _rewrite(d, "gx", relabel)


@needs_plink2
@pytest.mark.parametrize("build", ["GRCh37", "GRCh38"])
def test_gwas__x_labelled_par_by_coordinates_as_plink2_split_par(tmp_path, build):
    """X-labelled variants inside PAR1 are tested as PAR (everyone, no sex covariate) by the fast engine, as by
    Hail: equal to plink2 ``--split-par b37/b38``; the fast engine tested them as non-PAR X (plink2's default)."""
    d = _sexed_cohort(tmp_path)
    _x_labelled_par(d)
    ours = _gwas(d, tmp_path / "out", "gx", reference_genome=build)
    par = [f"v{j}" for j, c in enumerate(KINDS) if c == "25"]
    assert set(ours.loc[par, "n"]) == {700}
    subprocess.run([PLINK2, "--bfile", str(d / "gx"), "--split-par", {"GRCh37": "b37", "GRCh38": "b38"}[build],
                    "--make-bed", "--out", str(d / "gs"), "--silent"], check=True)
    subprocess.run([PLINK2, "--bfile", str(d / "gs"), "--pheno", str(d / "pheno.p2"), "--covar", str(d / "covar.p2"),
                    "--glm", "hide-covar", "--maf", "0.01", "--geno", "0.05", "--mind", "0.05",
                    "--out", str(d / "p2"), "--silent"], check=True)
    ref = pd.read_csv(d / "p2.y.glm.linear", sep="\t").set_index("ID")
    assert set(ref.loc[par, "#CHROM"]) <= {"XY", "PAR1"}     # (plink2 v2.00a3.5 names it PAR1)
    _assert_equal_to_plink2(ours, ref)


@pytest.mark.parametrize("bad_female", [False, True])
def test_gwas__variants_moved_into_par_logged_once(tmp_path, caplog, bad_female):
    """The variants' kinds (X, Y, MT, PAR by coordinates) are computed once per run and travel with the variants:
    the INFO line on the X-labelled variants moved into PAR came twice in one pass and seven times when a sample
    failed the call rate (``bad_female``: QC first, then association), once per computation."""
    d = _sexed_cohort(tmp_path, bad_female=bad_female)
    _x_labelled_par(d)
    with caplog.at_level(logging.INFO, logger="edfgen"):
        ours = _gwas(d, tmp_path / "out", "gx", reference_genome="GRCh38")
    moved = [r for r in caplog.records if "X-labelled variants lie in" in r.getMessage()]
    assert len(moved) == 1 and moved[0].getMessage().startswith("5 X-labelled variants")
    assert ("QC first, then association" in caplog.text) == bad_female
    par = [f"v{j}" for j, c in enumerate(KINDS) if c == "25"]
    assert set(ours.loc[par, "n"]) == {699 if bad_female else 700}     # (PAR: everyone, as an autosome)


@needs_plink2
def test_gwas_hail__x_labelled_par_as_the_fast_engine(hail_context, tmp_path):
    """The same X-labelled PAR variants on both engines: the same numbers (Hail classifies PAR by locus)."""
    d = _sexed_cohort(tmp_path)
    _x_labelled_par(d)
    res = {}
    for engine in ("fast", "hail"):
        run_gwas(GenotypeSource(bfile=str(d / "gx")), d / "pheno.tsv", d / "covar.tsv", tmp_path / engine,
                 covar_cols=["age"], qc=QCSettings(), settings=GwasSettings(engine=engine, transform="none",
                                                                           plots=False))
        res[engine] = pd.read_csv(tmp_path / engine / "y.tsv.gz", sep="\t").set_index("variant_id")
    fast, hail = res["fast"], res["hail"].loc[res["fast"].index]
    par = [f"v{j}" for j, c in enumerate(KINDS) if c == "25"]
    assert set(fast.loc[par, "n"]) == {700}
    np.testing.assert_array_equal(hail["n"], fast["n"])
    for col in ("beta", "standard_error", "p_value", "effect_allele_frequency"):
        np.testing.assert_allclose(hail[col], fast[col], rtol=1e-6, atol=1e-8, err_msg=col)


def test_gwas_ridge_loco__says_it_reads_no_sex_though_the_fam_has_it(tmp_path, caplog):
    """--model ridge-loco's tests read no sex (its QC does): the warning says so, not that the genotype files give
    no sex, and the manifest records the files' sex and that it was not used."""
    d = _sexed_cohort(tmp_path)
    with caplog.at_level(logging.WARNING):
        run_gwas(GenotypeSource(bfile=str(d / "g")), d / "pheno.tsv", d / "covar.tsv", tmp_path / "out",
                 covar_cols=["age"], qc=QCSettings(),
                 settings=GwasSettings(transform="none", plots=False, model="ridge-loco"))
    assert "--model ridge-loco does not read sex in its tests" in caplog.text
    assert "the QC and X's effect_allele_frequency do" in caplog.text
    assert "give no sex" not in caplog.text
    rec = json.loads((tmp_path / "out" / "manifest.json").read_text())["extra"]["sex_chromosomes"]
    assert rec["sex_source"] == f"{d / 'g'}.fam" and rec["sex_used"] is False and rec["males"] == 330
    assert rec["Y"].startswith("everyone, 0/2")


def test_sample_sex__float_codes_read_and_unreadable_values_warned(caplog):
    """A .sample sex column written from floats (1.0/2.0) is read as 1/2; values it cannot read are warned about,
    naming the file, the column and a few of them (they were silently "no sex")."""
    from edfgen.formats.genotypes.sex import sample_sex

    with caplog.at_level(logging.WARNING):
        got = sample_sex(pd.DataFrame({"ID_1": list("abcd"), "sex": ["1.0", "2.0", "NA", "0"]}), "c.sample")
    assert got.tolist() == [1, 2, 0, 0] and not caplog.text
    with caplog.at_level(logging.WARNING):
        got = sample_sex(pd.DataFrame({"ID_1": list("abcde"), "Sex": ["3", "x", "3", "1", "-9"]}), "c.sample")
    assert got.tolist() == [0, 0, 0, 1, 0]
    assert "c.sample: column 'Sex' has 3 sex values it cannot read (e.g. '3', 'x')" in caplog.text


@needs_plink2
def test_king__autosomes_only_no_sex_bias(hail_context, tmp_path):
    """--remove-related's KING (:func:`edfgen.engines.hail._common_variants` + ``hl.king``) reads the autosomes
    only, as plink2 ``--make-king-table``: the same phi for every pair, and no sex pattern in unrelated samples.
    On X, Y and MT as well, males' 0/2 and everyone's haploid calls read as homozygous pulled the mean phi down
    by sex pair (review s28b exp8: male-male -0.075, female-female -0.029)."""
    from bed_reader import to_bed

    from edfgen.engines.hail import _common_variants, hail_calls
    from edfgen.engines.hail_import import import_genotypes

    hl = hail_context
    rng = np.random.default_rng(3)
    n = 600
    sex = np.r_[np.ones(300, int), np.full(300, 2)]
    kinds = ["1"] * 300 + ["2"] * 300 + ["23"] * 30 + ["26"] * 6
    M = len(kinds)
    p = rng.uniform(0.05, 0.5, M)
    g = rng.binomial(2, p, (n, M)).astype(float)
    for j, c in enumerate(kinds):
        if c == "23":
            g[sex == 1, j] = 2.0 * rng.binomial(1, p[j], 300)
        elif c == "26":
            g[:, j] = 2.0 * rng.binomial(1, p[j], n)
    bp = np.r_[np.arange(300) * 3000 + 1_000_000, np.arange(300) * 3000 + 1_000_000, np.arange(30) * 3000 + 3_000_000,
               np.arange(6) * 1000 + 500]
    iid = [f"s{i}" for i in range(n)]
    to_bed(tmp_path / "g.bed", g, count_A1=False, properties={
        "fid": iid, "iid": iid, "sex": sex, "sid": [f"v{j}" for j in range(M)], "chromosome": kinds,
        "bp_position": bp, "allele_1": ["A"] * M, "allele_2": ["G"] * M})
    mt = import_genotypes(GenotypeSource(bfile=str(tmp_path / "g")), tmp_dir=str(tmp_path), hl=hl,
                          min_info_in_qc=True)
    common = _common_variants(hl, mt)
    assert common.count_rows() == 600
    king = hl.king(common.select_entries(GT=hail_calls(hl, common.x)).GT)
    ours = king.filter_entries(king.s_1 < king.s).entries().to_pandas()
    male = dict(zip(iid, sex == 1))
    pair = np.array([["FF", "MF"], ["MF", "MM"]])[ours["s_1"].map(male).to_numpy(int), ours["s"].map(male).to_numpy(int)]
    mean_phi = ours.groupby(pair)["phi"].mean()
    assert mean_phi.max() - mean_phi.min() < 0.01, mean_phi
    subprocess.run([PLINK2, "--bfile", str(tmp_path / "g"), "--make-king-table", "--out", str(tmp_path / "k"),
                    "--silent"], check=True)
    ref = pd.read_csv(tmp_path / "k.kin0", sep="\t")
    ref = ref.set_index(ref[["IID1", "IID2"]].min(axis=1) + ":" + ref[["IID1", "IID2"]].max(axis=1))
    ours = ours.set_index(ours[["s_1", "s"]].min(axis=1) + ":" + ours[["s_1", "s"]].max(axis=1))
    assert len(ref) == len(ours) == n * (n - 1) // 2
    np.testing.assert_allclose(ours["phi"].to_numpy(), ref.loc[ours.index, "KINSHIP"].to_numpy(), atol=1e-4)


@pytest.mark.parametrize("subset", ["no_males", "unknown_only"])
def test_gwas_hail__analysed_subsets_as_the_fast_engine(hail_context, tmp_path, subset):
    """No male analysed (Y left out), or none of known sex (X on everyone): Hail's QC and association give the
    fast engine's numbers (both mean-imputing)."""
    d = _sexed_cohort(tmp_path)
    fam = _fam(d)
    if subset == "no_males":
        fam[fam[4] == "1"].iloc[:, :2].to_csv(d / "sel.txt", sep="\t", header=False, index=False)
        sel = {"remove": str(d / "sel.txt")}
    else:
        fam.loc[:399, 4] = "0"
        fam.to_csv(d / "g.fam", sep=" ", header=False, index=False)
        fam.iloc[:400, :2].to_csv(d / "sel.txt", sep="\t", header=False, index=False)
        sel = {"keep": str(d / "sel.txt")}
    res = {}
    for engine in ("fast", "hail"):
        run_gwas(GenotypeSource(bfile=str(d / "g"), **sel), d / "pheno.tsv", d / "covar.tsv", tmp_path / engine,
                 covar_cols=["age"], qc=QCSettings(), settings=GwasSettings(engine=engine, transform="none",
                                                                           plots=False))
        res[engine] = pd.read_csv(tmp_path / engine / "y.tsv.gz", sep="\t").set_index("variant_id")
    fast, hail = res["fast"], res["hail"]
    assert set(fast.index) == set(hail.index)
    hail = hail.loc[fast.index]
    y = [f"v{j}" for j, c in enumerate(KINDS) if c == "24"]
    assert not set(y) & set(fast.index) or subset != "no_males"
    np.testing.assert_array_equal(hail["n"], fast["n"])
    for col in ("beta", "standard_error", "p_value", "effect_allele_frequency"):
        np.testing.assert_allclose(hail[col], fast[col], rtol=1e-6, atol=1e-8, err_msg=col)


def test_chromosome_kinds__a_file_that_labels_its_par_keeps_its_x_as_x():
    """Final review s28d F2: with the default GRCh38 bounds, a GRCh37 file (UK Biobank labels PAR 25/XY) had its X
    variants at 2.70-2.78 Mb moved into PAR. A file that labels the region has split it: its X stays X; a file
    without PAR labels (GRCh38 VCF, chrX throughout) is split by the build's coordinates."""
    from edfgen.engines.sex_chromosomes import chromosome_kinds

    labels = np.array(["25", "X", "X", "X"], dtype=object)
    pos = np.array([100_000, 2_700_000, 2_750_000, 5_000_000])
    assert chromosome_kinds(labels, pos, "GRCh38").tolist() == ["", "X", "X", "X"]
    assert chromosome_kinds(labels[1:], pos[1:], "GRCh38").tolist() == ["", "", "X"]
    assert chromosome_kinds(labels[1:], pos[1:], "GRCh37").tolist() == ["X", "X", "X"]


def _independent_columns_by_fits(C, names, tol=1e-9):
    """The computation before stop 29, as reference: one least-squares fit per column on the columns kept before
    it (residual judged against the column's own length, review rev29d F1)."""
    kept = []
    for j in range(C.shape[1]):
        resid = C[:, j] - C[:, kept] @ np.linalg.lstsq(C[:, kept], C[:, j], rcond=None)[0] if kept else C[:, j]
        if np.linalg.norm(resid) > tol * np.linalg.norm(C[:, j]):
            kept.append(j)
    return [names[j] for j in kept]


@pytest.mark.parametrize("rows", ["all", "males", "one centre"])
def test_independent_columns__collinear_dummies_one_pass_same_columns(monkeypatch, rows):
    """One-hot centre beside the intercept, sex twice, a constant column, a combination of kept columns, a nearly
    collinear but independent one and a large-valued one: the same columns as one least-squares fit per column
    (the earlier of each collinear set), now from one Gram-Schmidt pass without any least-squares fit."""
    from edfgen.engines.sex_chromosomes import independent_columns

    rng = np.random.default_rng(5)
    n = 600
    centre = rng.integers(0, 4, n)
    sex = (rng.random(n) < 0.5).astype(float)
    age = rng.normal(50, 8, n)
    C = np.column_stack([np.ones(n), age * 365.25, (centre[:, None] == np.arange(4)).astype(float), sex, sex,
                         np.full(n, 3.0), rng.normal(size=(n, 2)), 2 * age - sex, sex + 1e-4 * rng.normal(size=n)])
    names = ["intercept", "age_days", "c0", "c1", "c2", "c3", "sex", "sex copy", "constant", "PC1", "PC2",
             "2 age - sex", "sex + noise"]
    keep = {"all": np.ones(n, bool), "males": sex == 1, "one centre": centre == 2}[rows]
    expected = {"all": ["intercept", "age_days", "c0", "c1", "c2", "sex", "PC1", "PC2", "sex + noise"],
                "males": ["intercept", "age_days", "c0", "c1", "c2", "PC1", "PC2", "sex + noise"],
                "one centre": ["intercept", "age_days", "sex", "PC1", "PC2", "sex + noise"]}[rows]
    assert _independent_columns_by_fits(C[keep], names) == expected

    def no_fit(*a, **k):
        raise AssertionError("a least-squares fit per column")

    monkeypatch.setattr(np.linalg, "lstsq", no_fit)
    Ck, kept = independent_columns(C[keep], names)
    assert kept == expected
    np.testing.assert_array_equal(Ck, C[keep][:, [names.index(c) for c in expected]])
