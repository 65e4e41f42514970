"""UK Biobank's genotype-file conventions (review s29): withdrawn participants as negative ids in the
``.fam``/``.sample`` files, a chrX file with its own sample set, integer-coded categorical covariates."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.formats.genotypes.source import GenotypeSource

N, M, N_WITHDRAWN = 160, 120, 7


def _bfile(d: Path, *, seed: int = 3, withdrawn: int = N_WITHDRAWN, chromosome: str = "1") -> Path:
    """A PLINK fileset of ``N`` samples whose first ``withdrawn`` ids are UK Biobank's ``-1, -2, ...``."""
    from bed_reader import to_bed

    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    G = rng.binomial(2, rng.uniform(0.1, 0.5, M), (N, M)).astype(np.float32)
    iid = np.array([f"-{i + 1}" if i < withdrawn else str(1_000_000 + i) for i in range(N)])
    to_bed(d / "g.bed", G, count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": [f"rs{i}" for i in range(M)], "chromosome": np.repeat([chromosome], M),
        "bp_position": np.arange(1, M + 1) * 1000, "allele_1": np.full(M, "A"), "allele_2": np.full(M, "G"),
        "sex": np.where(np.arange(N) % 2 == 0, 1, 2)})
    return d / "g"


def test_select_samples__leaves_out_negative_ids_and_logs_the_count(tmp_path, caplog):
    from edfgen.formats.genotypes.panel import GenotypePanel
    from edfgen.formats.genotypes.plink1 import BedReader
    from edfgen.formats.genotypes.selection import select_samples

    prefix = _bfile(tmp_path)
    reader = BedReader(str(prefix))
    ids = reader.samples["IID"].to_numpy(str)
    want = np.array([i for i, s in enumerate(ids) if not (s.startswith("-") and s[1:].isdigit())])
    with caplog.at_level(logging.INFO, logger="edfgen"):
        rows = select_samples(reader)
    assert len(want) == N - N_WITHDRAWN and np.array_equal(rows, want)
    assert f"{N_WITHDRAWN} samples with negative ids (UK Biobank withdrawn participants) left out" in caplog.text
    assert reader.n_withdrawn == N_WITHDRAWN
    # a --keep that names them is told so as a warning (review s29e F4), and they stay out
    keep = tmp_path / "keep.txt"
    keep.write_text("\n".join(ids[:10]) + "\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        rows = select_samples(reader, keep=keep)
    named = sum(1 for s in ids[:10] if s.startswith("-") and s[1:].isdigit())
    assert named and f"--keep names {named} negative ids" in caplog.text
    assert np.array_equal(rows, [i for i in range(10) if not (ids[i].startswith("-") and ids[i][1:].isdigit())])
    # an LD panel opened without --keep/--remove (clump, ldsc, finemap, coloc, mr proxies) drops them too
    panel = GenotypePanel(reader)
    assert np.array_equal(panel.sample_index, want) and panel.n_withdrawn == N_WITHDRAWN
    # "-1x" or "1-2" are ordinary ids
    from edfgen.formats.genotypes.base import withdrawn_samples
    assert withdrawn_samples(["-1", "-25", "-1x", "1-2", "-", "1000001"]).tolist() == [True, True, False, False,
                                                                                          False, False]


def test_keep_remove__csv_tables_read_and_files_matching_few_samples_named(tmp_path, caplog):
    """Review s32d F4: a UK Biobank `eid,reason` CSV given to --remove was read as one column, matched no sample
    and removed no one, silently; --keep of such a file left 'no sample' without saying why. CSV (quoted too) and
    tab tables are read as the phenotype reader reads them; a file none of whose ids is a sample is an error
    naming it, one with few a warning."""
    from edfgen.exceptions import InputError
    from edfgen.formats.genotypes.plink1 import BedReader
    from edfgen.formats.genotypes.selection import select_samples

    reader = BedReader(str(_bfile(tmp_path)))
    ids = reader.samples["IID"].to_numpy(str)
    real = [i for i in ids if not i.startswith("-")]
    (tmp_path / "rm.csv").write_text("eid,reason\n" + "".join(f"{i},consent\n" for i in real[:10]))
    assert len(select_samples(reader, remove=tmp_path / "rm.csv")) == len(real) - 10
    (tmp_path / "keep.csv").write_text('"eid","31-0.0"\n' + "".join(f'"{i}","1"\n' for i in real[:20]))
    assert set(ids[select_samples(reader, keep=tmp_path / "keep.csv")]) == set(real[:20])
    (tmp_path / "keep.tsv").write_text("FID\tIID\n" + "".join(f"{i}\t{i}\n" for i in real[5:25]))
    assert set(ids[select_samples(reader, keep=tmp_path / "keep.tsv")]) == set(real[5:25])
    (tmp_path / "floats.txt").write_text("".join(f"{i}.0\n" for i in real[:5]))
    with pytest.raises(InputError, match=rf"^--keep \S*floats.txt: none of its 5 ids is a sample of \S+g "
                                         rf"\(its ids: '{real[0]}.0', .*the samples' ids look like '{real[0]}'\)$"):
        select_samples(reader, keep=tmp_path / "floats.txt")
    (tmp_path / "few.txt").write_text("".join(f"{i}\n" for i in real[:3]) + "".join(f"x{i}\n" for i in range(7)))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert len(select_samples(reader, keep=tmp_path / "few.txt")) == 3
    assert "few.txt: only 3 of its 10 ids are samples of" in caplog.text and "(not found: 'x0', 'x1'" in caplog.text


def test_keep_remove__quoted_one_column_lists_read_and_a_remove_matching_nobody_is_a_warning(tmp_path, caplog):
    """Review s32h F3: a one-column list with quoted ids (R's write.csv: '"eid"', '"1234"') kept its quotes and
    matched no sample. Review s32h F2: a --remove list naming no sample (a withdrawal list made on the whole
    biobank, run on a sub-cohort) was an error; plink2 accepts it: a one-line warning, nobody removed."""
    from edfgen.exceptions import InputError
    from edfgen.formats.genotypes.plink1 import BedReader
    from edfgen.formats.genotypes.selection import select_samples

    reader = BedReader(str(_bfile(tmp_path)))
    ids = reader.samples["IID"].to_numpy(str)
    real = [i for i in ids if not i.startswith("-")]
    for name, head in (("q.csv", '"eid"\n'), ("q.txt", ""), ("q.tsv", '"FID"\t"IID"\n')):
        sep = "\t" if name.endswith("tsv") else ""
        rows = "".join((f'"{i}"{sep}' if sep else "") + f'"{i}"\n' for i in real[:7])
        (tmp_path / name).write_text(head + rows)
        assert set(ids[select_samples(reader, keep=tmp_path / name)]) == set(real[:7]), name
    (tmp_path / "nobody.txt").write_text("X1\nX2\n")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert len(select_samples(reader, remove=tmp_path / "nobody.txt")) == len(real)
    warned = [r.getMessage() for r in caplog.records if "nobody.txt" in r.getMessage()]
    assert len(warned) == 1 and "none of its 2 ids is a sample of" in warned[0] and "removed 0 samples" in warned[0]
    with pytest.raises(InputError, match=r"^--keep \S*nobody.txt: none of its 2 ids is a sample"):
        select_samples(reader, keep=tmp_path / "nobody.txt")


def test_gwas__no_shared_sample_error_shows_an_id_of_each_side(tmp_path):
    """Review s32d F5: phenotype ids written as floats ('1000007.0') shared no sample with the genotypes; the
    error now shows one id of each side."""
    from edfgen.commands.gwas import run_gwas
    from edfgen.exceptions import InputError

    prefix = _bfile(tmp_path / "g")
    fam = pd.read_csv(f"{prefix}.fam", sep=r"\s+", header=None, dtype=str)[1]
    real = fam[~fam.str.startswith("-")]
    pd.DataFrame({"IID": real + ".0", "y": np.arange(len(real), dtype=float)}).to_csv(tmp_path / "p.tsv", sep="\t",
                                                                                      index=False)
    with pytest.raises(InputError, match=r"only 0 samples are shared .* same ids\? \(genotype ids look like "
                                         rf"'{min(real)}', phenotype ids like '{min(real)}.0'\)$"):
        run_gwas(GenotypeSource(bfile=str(prefix)), tmp_path / "p.tsv", None, tmp_path / "o")


def test_gwas__withdrawn_samples_left_out_and_counted_in_the_manifest(tmp_path):
    """A phenotype table that (wrongly) lists the negative ids: they still never enter the GWAS, which equals
    the GWAS with them removed by --remove (the reference)."""
    from edfgen.commands.gwas import run_gwas

    prefix = _bfile(tmp_path / "g")
    fam = pd.read_csv(f"{prefix}.fam", sep=r"\s+", header=None, dtype=str)
    rng = np.random.default_rng(0)
    pd.DataFrame({"IID": fam[1], "y": rng.normal(size=N)}).to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    pd.DataFrame({"IID": fam[1], "age": rng.normal(50, 5, N)}).to_csv(tmp_path / "c.tsv", sep="\t", index=False)
    (tmp_path / "rm.txt").write_text("\n".join(fam[1][:N_WITHDRAWN]) + "\n")
    res = run_gwas(GenotypeSource(bfile=str(prefix)), tmp_path / "p.tsv", tmp_path / "c.tsv", tmp_path / "a")
    ref = run_gwas(GenotypeSource(bfile=str(prefix), remove=str(tmp_path / "rm.txt")), tmp_path / "p.tsv",
                   tmp_path / "c.tsv", tmp_path / "b")
    assert res.samples.withdrawn == N_WITHDRAWN and ref.samples.withdrawn == N_WITHDRAWN
    assert res.samples.genotypes == res.samples.used == N - N_WITHDRAWN
    assert f"({N_WITHDRAWN} withdrawn left out)" in res.samples.describe()
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["extra"]["samples"]["withdrawn"] == N_WITHDRAWN
    assert man["extra"]["sex_chromosomes"]["sex_source"] == f"{prefix}.fam"      # the file sex came from (F8)
    a = pd.read_csv(tmp_path / "a" / "y.tsv.gz", sep="\t")
    b = pd.read_csv(tmp_path / "b" / "y.tsv.gz", sep="\t")
    assert (a["n"] == N - N_WITHDRAWN).all()
    pd.testing.assert_frame_equal(a, b)


def _plink2(*args) -> None:
    import subprocess
    subprocess.run(["plink2", *map(str, args), "--threads", "1"], check=True, capture_output=True)


@pytest.mark.skipif(__import__("shutil").which("plink2") is None, reason="plink2 writes the BGEN files")
def test_ld_panel__x_bgen_with_its_own_samples(tmp_path, caplog):
    """UK Biobank's X BGEN has its own ``.sample`` (fewer participants). An LD panel over a ``{chr}`` template of
    1 + X reads each file with its own sample index: it equals the panel of files that plink2 cut to the
    samples in both (``--keep``), the reference; a GWAS over both refuses in one line, naming --chr X."""
    from edfgen.commands.gwas import run_gwas
    from edfgen.exceptions import InputError
    from edfgen.formats.genotypes.panel import open_panel

    for c, seed in (("1", 1), ("X", 2)):
        _bfile(tmp_path / f"b{c}", seed=seed, withdrawn=3, chromosome=c)
    fam = pd.read_csv(tmp_path / "bX" / "g.fam", sep=r"\s+", header=None, dtype=str)
    fam[4] = "2"                                              # (diploid X: the test is about samples)
    fam.to_csv(tmp_path / "bX" / "g.fam", sep="\t", header=False, index=False)
    drop = fam[1].iloc[[5, 17, 40, 41, 99]]
    (tmp_path / "dropX.txt").write_text("\n".join(f"{i}\t{i}" for i in drop) + "\n")
    (tmp_path / "imp").mkdir()
    _plink2("--bfile", tmp_path / "b1" / "g", "--export", "bgen-1.2", "bits=8", "id-paste=iid",
            "--out", tmp_path / "imp" / "c1")
    _plink2("--bfile", tmp_path / "bX" / "g", "--remove", tmp_path / "dropX.txt", "--export", "bgen-1.2", "bits=8",
            "id-paste=iid", "--out", tmp_path / "imp" / "cX")
    # the reference: both files cut by plink2 to the samples they share
    (tmp_path / "ref").mkdir()
    for c in ("1", "X"):
        _plink2("--bfile", tmp_path / f"b{c}" / "g", "--remove", tmp_path / "dropX.txt", "--export", "bgen-1.2",
                "bits=8", "id-paste=iid", "--out", tmp_path / "ref" / f"c{c}")
    src = GenotypeSource(bgen=str(tmp_path / "imp" / "c{chr}.bgen"), sample=str(tmp_path / "imp" / "c{chr}.sample"))
    ref = GenotypeSource(bgen=str(tmp_path / "ref" / "c{chr}.bgen"), sample=str(tmp_path / "ref" / "c{chr}.sample"))
    with caplog.at_level(logging.INFO, logger="edfgen"), open_panel(src) as a, open_panel(ref) as b:
        assert a.n_samples == b.n_samples == N - 5 - 3          # in both files, not withdrawn
        assert np.array_equal(a.reader.samples["IID"].to_numpy()[a.sample_index],
                              b.reader.samples["IID"].to_numpy()[b.sample_index])
        rows = np.arange(a.n_variants)
        assert a.n_variants == b.n_variants == 2 * M
        assert np.array_equal(a.read(rows), b.read(rows))
        assert set(a.variants.chromosome) == {"1", "X"}
    assert "the LD panel uses the 155 in every file" in caplog.text
    from edfgen.formats.genotypes.sex import sex_file
    assert sex_file(src) == str(tmp_path / "imp" / "c1.sample")                   # manifests' sex_source (F8)
    rng = np.random.default_rng(0)
    pd.DataFrame({"IID": fam[1], "y": rng.normal(size=N)}).to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"not the same samples as .*--chr X"):
        run_gwas(src, tmp_path / "p.tsv", None, tmp_path / "g")


def test_covariate_design__warns_about_integer_codes_not_declared_categorical(caplog):
    """Review s29 F5: UK Biobank's assessment centre (11008..11021) fitted as one slope without a word. Warned:
    integer codes by name (centre, batch, 54-0.0) or by value (few distinct whole numbers >= 1000); not: age,
    sex, PCs, a 0/1/2 score, year of birth, or a code declared categorical."""
    from edfgen.commands.gwas_design import covariate_design

    rng = np.random.default_rng(2)
    n = 300
    t = pd.DataFrame({"IID": [str(i) for i in range(n)], "age": rng.integers(40, 71, n), "sex": rng.integers(0, 2, n),
                      "PC1": rng.normal(size=n), "smoking": rng.integers(0, 3, n),
                      "year_of_birth": rng.integers(1940, 1960, n), "assessment_centre": rng.integers(11008, 11022, n),
                      "batch": rng.integers(1, 96, n), "54-0.0": rng.integers(11008, 11022, n),
                      "plate_code": rng.integers(1000, 1010, n)})

    def warned(columns, categorical=()):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            covariate_design(t, columns, categorical=categorical, source="cov.tsv")
        return sorted(c for c in columns if any(f"covariate {c!r} holds" in r.getMessage() for r in caplog.records))

    assert warned(["age", "sex", "PC1", "smoking", "year_of_birth"]) == []
    assert warned(["age", "assessment_centre", "batch", "54-0.0", "plate_code"]) == sorted(
        ["assessment_centre", "batch", "54-0.0", "plate_code"])
    assert warned(["age", "assessment_centre"], categorical=["assessment_centre"]) == []
    msg = next(r.getMessage() for r in caplog.records) if warned(["assessment_centre"]) else ""
    assert "14 distinct whole numbers (11008..11021)" in msg and "--categorical assessment_centre" in msg


def test_manifests__keep_remove_extract_files_are_hashed_inputs(tmp_path):
    """Review s29 F6: the --keep/--remove/--extract lists decide who and what was analysed: gwas and clump
    manifests hash them with the other inputs, so an edited keep list shows as a changed input."""
    import hashlib

    from edfgen.commands.clump import ClumpSettings, run_clump
    from edfgen.commands.gwas import run_gwas

    prefix = _bfile(tmp_path / "g", withdrawn=0)
    fam = pd.read_csv(f"{prefix}.fam", sep=r"\s+", header=None, dtype=str)
    rng = np.random.default_rng(1)
    pd.DataFrame({"IID": fam[1], "y": rng.normal(size=N)}).to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    keep, remove, extract = tmp_path / "keep.txt", tmp_path / "remove.txt", tmp_path / "extract.txt"
    keep.write_text("\n".join(fam[1][:120]) + "\n")
    remove.write_text(fam[1][0] + "\n")
    extract.write_text("\n".join(f"rs{i}" for i in range(100)) + "\n")
    src = GenotypeSource(bfile=str(prefix), keep=str(keep), remove=str(remove), extract=str(extract))

    def inputs(d):
        return json.loads((d / "manifest.json").read_text())["inputs"]

    run_gwas(src, tmp_path / "p.tsv", None, tmp_path / "a")
    first = inputs(tmp_path / "a")
    for f in (keep, remove, extract):
        assert first[str(f)] == hashlib.sha256(f.read_bytes()).hexdigest()
    run_clump([tmp_path / "a"], out_dir=tmp_path / "c", bfile=src, settings=ClumpSettings(p1=1.0, p2=1.0))
    assert inputs(tmp_path / "c")[str(keep)] == first[str(keep)]
    keep.write_text("\n".join(fam[1][:110]) + "\n")            # a release later: 10 more withdrawn
    run_gwas(src, tmp_path / "p.tsv", None, tmp_path / "a", force=True)
    assert inputs(tmp_path / "a")[str(keep)] == hashlib.sha256(keep.read_bytes()).hexdigest() != first[str(keep)]


@pytest.mark.parametrize("coding", [{1: 1, 2: 0}, {1: "Male", 2: "Female"}])
def test_gwas__warns_when_covariate_sex_differs_from_the_genotype_files(tmp_path, caplog, coding):
    """Review s29 F7: 20 samples whose covariate sex is flipped against the .fam's sex are counted (UK Biobank's
    0 = female / 1 = male, or text); none when they agree."""
    from edfgen.commands.gwas import run_gwas

    prefix = _bfile(tmp_path / "g", withdrawn=0)
    fam = pd.read_csv(f"{prefix}.fam", sep=r"\s+", header=None, dtype=str)
    rng = np.random.default_rng(5)
    pd.DataFrame({"IID": fam[1], "y": rng.normal(size=N)}).to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    files_sex = fam[4].astype(int).to_numpy()
    flipped = files_sex.copy()
    flipped[rng.choice(N, 20, replace=False)] ^= 3                 # 1 <-> 2
    for name, sex in (("same", files_sex), ("flip", flipped)):
        pd.DataFrame({"IID": fam[1], "age": rng.normal(50, 5, N), "sex": [coding[v] for v in sex]}).to_csv(
            tmp_path / f"{name}.tsv", sep="\t", index=False)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            run_gwas(GenotypeSource(bfile=str(prefix)), tmp_path / "p.tsv", tmp_path / f"{name}.tsv", tmp_path / name,
                     covar_cols=["age", "sex"], categorical=["sex"] if isinstance(coding[1], str) else ())
        said = [r.getMessage() for r in caplog.records if "differs from the sex in the genotype files" in r.getMessage()]
        assert said == ([] if name == "same" else [said[0]])
        if name == "flip":
            assert f"{name}.tsv: 20 samples whose covariate 'sex' differs" in said[0] and f"of {N} with both" in said[0]


def test_names__id_aliases_in_the_error_and_harmonised_catalog_names(tmp_path):
    """Review s29 F8: an id column of another name (then ukbconv's ``f.eid``, read since stop 42; now a RAP Table
    Exporter's title ``Participant ID``): the error lists the id names accepted; a GWAS Catalog harmonised file
    ``GCST..._buildGRCh38.h.tsv.gz`` is the phenotype ``GCST..._buildGRCh38``."""
    from edfgen.exceptions import InputError
    from edfgen.formats.sumstats.discovery import phenotype_name
    from edfgen.formats.tables import read_table

    (tmp_path / "t.tsv").write_text("Participant ID\tage\n1000001\t50\n")
    with pytest.raises(InputError, match=r"missing column\(s\) IID \(the participant id: one of IID, #IID, eid, "
                                         r"ID_2, participant\.eid, f\.eid, FINNGENID\) \(has: Participant ID, age\)"):
        read_table(tmp_path / "t.tsv", id_column="IID")
    assert phenotype_name("x/GCST90000001_buildGRCh38.h.tsv.gz") == "GCST90000001_buildGRCh38"
    assert phenotype_name("27863252-GCST004131-EFO_0004314.h.tsv.gz") == "27863252-GCST004131-EFO_0004314"
    assert phenotype_name("GCST90000001_buildGRCh38.tsv.gz") == "GCST90000001_buildGRCh38"
    assert phenotype_name("edf_001.tsv.gz") == "edf_001"


def test_pca__withdrawn_samples_left_out(hail_context, tmp_path):
    """Review s29 F2: ``edfgen pca`` (Hail) gave PCs to the 25 withdrawn participants. Their PCs equal those of the
    fileset without them (plink2 --remove, the reference), to the sign."""
    import shutil

    from edfgen.commands.pca import run_pca

    prefix = _bfile(tmp_path / "g")
    fam = pd.read_csv(f"{prefix}.fam", sep=r"\s+", header=None, dtype=str)
    gone = fam[1][:N_WITHDRAWN]
    res = run_pca(GenotypeSource(bfile=str(prefix)), tmp_path / "a", k=2, maf=0.05, ld_r2=0.99, ld_window_kb=1)
    pcs = pd.read_csv(tmp_path / "a" / "pcs.tsv", sep="\t", dtype={"IID": str})
    assert res.n_samples == len(pcs) == N - N_WITHDRAWN and not pcs["IID"].isin(gone).any()
    assert json.loads((tmp_path / "a" / "manifest.json").read_text())["extra"]["n_withdrawn"] == N_WITHDRAWN
    if shutil.which("plink2"):
        (tmp_path / "rm.txt").write_text("\n".join(f"{i}\t{i}" for i in gone) + "\n")
        _plink2("--bfile", prefix, "--remove", tmp_path / "rm.txt", "--make-bed", "--out", tmp_path / "ref")
        run_pca(GenotypeSource(bfile=str(tmp_path / "ref")), tmp_path / "b", k=2, maf=0.05, ld_r2=0.99, ld_window_kb=1)
        ref = pd.read_csv(tmp_path / "b" / "pcs.tsv", sep="\t", dtype={"IID": str}).set_index("IID").loc[pcs["IID"]]
        for k in ("PC1", "PC2"):
            a, b = pcs[k].to_numpy(), ref[k].to_numpy()
            np.testing.assert_allclose(a * np.sign(a @ b), b, atol=1e-6)


@pytest.mark.skipif(__import__("shutil").which("plink2") is None, reason="plink2 is the reference")
def test_gwas__biobank_export_id_columns_read_as_the_participant_id(tmp_path):
    """Stop 42 (s42geno): the participant-id columns that biobank exports write were refused ('missing column(s)
    IID'): UK Biobank RAP's ``dx extract_dataset`` CSV (``participant.eid,participant.p21001_i0``), ukbconv's R
    table (``f.eid``), FinnGen's phenotype and covariate files (``FINNGENID``). Each is read as the IID, as
    --pheno, --covar and --keep; the GWAS equals plink2 --glm on the same values under ``#FID IID``
    (plink2 prints 6 digits)."""
    from edfgen.commands.gwas import GwasSettings, run_gwas
    from edfgen.kernels.qc import QCSettings

    prefix = _bfile(tmp_path / "g", withdrawn=0)
    iid = pd.read_csv(f"{prefix}.fam", sep=r"\s+", header=None, dtype=str)[1]
    rng = np.random.default_rng(4)
    y, age = rng.normal(size=N).round(4), rng.normal(50, 5, N).round(1)
    pd.DataFrame({"participant.eid": iid, "participant.p21001_i0": y}).to_csv(tmp_path / "rap.csv", index=False)
    pd.DataFrame({"f.eid": iid, "f.21001.0.0": y}).to_csv(tmp_path / "ukbconv.tsv", sep="\t", index=False)
    pd.DataFrame({"FINNGENID": iid, "AGE_AT_DEATH_OR_END_OF_FOLLOWUP": age}).to_csv(tmp_path / "fg_cov.txt",
                                                                                    sep="\t", index=False)
    (tmp_path / "keep.csv").write_text("participant.eid,participant.p22001\n"
                                       + "".join(f"{i},{k % 2}\n" for k, i in enumerate(iid[:140])))
    pd.DataFrame({"#FID": iid, "IID": iid, "y": y, "age": age}).to_csv(tmp_path / "p2.tsv", sep="\t", index=False)
    (tmp_path / "keep2.txt").write_text("\n".join(f"{i} {i}" for i in iid[:140]) + "\n")
    _plink2("--bfile", prefix, "--pheno", tmp_path / "p2.tsv", "--pheno-name", "y", "--covar", tmp_path / "p2.tsv",
            "--covar-name", "age", "--keep", tmp_path / "keep2.txt", "--glm", "hide-covar", "--out", tmp_path / "p2",
            "--covar-variance-standardize")   # (plink2 2.00a3.5 calls 4 of these variants CORR_TOO_HIGH without it)
    ref = pd.read_csv(tmp_path / "p2.y.glm.linear", sep="\t")
    for pheno, name in (("rap.csv", "participant.p21001_i0"), ("ukbconv.tsv", "f.21001.0.0")):
        src = GenotypeSource(bfile=str(prefix), keep=str(tmp_path / "keep.csv"))
        run_gwas(src, tmp_path / pheno, tmp_path / "fg_cov.txt", tmp_path / name, qc=QCSettings(maf=0, hwe_p=0),
                 settings=GwasSettings(transform="none", plots=False), threads=1)
        ours = pd.read_csv(tmp_path / name / f"{name}.tsv.gz", sep="\t")
        assert ours["variant_id"].tolist() == ref["ID"].tolist() and (ours["n"] == ref["OBS_CT"]).all(), name
        sign = np.where(ours["effect_allele"] == ref["A1"], 1.0, -1.0)
        np.testing.assert_allclose(ours["beta"], sign * ref["BETA"], rtol=1e-5, atol=1e-8, err_msg=name)
        np.testing.assert_allclose(ours["standard_error"], ref["SE"], rtol=1e-5, err_msg=name)
        np.testing.assert_allclose(ours["p_value"], ref["P"], rtol=1e-5, err_msg=name)
    assert (ours["n"] == 140).all()
