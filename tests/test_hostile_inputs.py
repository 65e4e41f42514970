"""Hostile inputs the earlier fuzzers and bad-input tables did not reach (audit of stop 22).

Each test is one defect found by the audit (``benchmarks/results/fuzz_s22.md``): before its fix the input
gave a Python traceback, was used silently with a wrong meaning, or was refused with a reason that named
the wrong thing. The contract: a one-line error naming the file, column, record or option (exit code 2,
nothing written), or, for one ECG record, a row of the rejects file with its reason while the batch goes on.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.exceptions import InputError
from edfgen.kernels.ecg.record import EcgRecord, RecordRejected
from test_bad_input import LEADS, _write_bfile, _write_wfdb

N = 120


def _run(args) -> "click.testing.Result":  # noqa: F821
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=True)


def _one_line_error(r, *expect: str) -> str:
    """The result is exit 2 with exactly one ``edfgen <cmd>: error:`` line holding ``expect``, no traceback."""
    assert r.exception is None or isinstance(r.exception, SystemExit), \
        f"unexpected {type(r.exception).__name__}: {r.exception}\n{r.output[-2000:]}"
    errors = [ln for ln in r.output.splitlines() if re.match(r"edfgen [\w-]+: error: ", ln)]
    assert r.exit_code == 2 and len(errors) == 1, r.output[-2000:]
    missing = [s for s in expect if s not in errors[0]]
    assert not missing, f"{missing} not in: {errors[0]}"
    return errors[0]


@pytest.fixture
def cohort(tmp_path: Path) -> Path:
    """PLINK genotypes of N samples and a phenotype table."""
    _write_bfile(tmp_path / "g", n=N)
    rng = np.random.default_rng(2)
    pd.DataFrame({"IID": [f"S{i:04d}" for i in range(N)], "qt": rng.normal(size=N),
                  "hr": rng.normal(60, 10, N)}).to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    return tmp_path


def _gwas(d: Path, *extra) -> list:
    return ["gwas", "--bfile", d / "g", "--pheno", d / "pheno.tsv", "--no-plots", "--maf", "0", "--hwe", "0",
            "--out", d / "out", *extra]


# --------------------------------------------------------------------------- variant and sample lists
def test_extract_list__binary_file_is_one_line_naming_the_line(cohort: Path):
    """Was: UnicodeDecodeError traceback from ``Path.read_text``."""
    (cohort / "ex.txt").write_bytes(b"rs1\n" + bytes(range(128, 256)))
    line = _one_line_error(_run(_gwas(cohort, "--extract", cohort / "ex.txt")), "--extract", "ex.txt:2", "not UTF-8")
    assert "Traceback" not in line
    assert not (cohort / "out").exists()


def test_extract_list__gzip_and_bom_read_as_text(tmp_path: Path):
    """Was: a gzipped --extract file (allowed for --keep) was a UnicodeDecodeError; a byte-order mark was
    glued to the first id, which then matched no variant."""
    from edfgen.formats.genotypes.selection import read_id_list, read_variant_list

    (tmp_path / "ex.txt.gz").write_bytes(gzip.compress(b"rs1\nrs2 extra\n"))
    assert read_variant_list(tmp_path / "ex.txt.gz") == {"rs1", "rs2", "extra"}   # every token, as plink reads it
    (tmp_path / "ex.txt").write_bytes(b"\xef\xbb\xbfrs1\r\nrs2\r\n")
    assert read_variant_list(tmp_path / "ex.txt") == {"rs1", "rs2"}
    (tmp_path / "keep.txt").write_bytes(b"\xef\xbb\xbfS0001\r\nS0002\r\n")
    assert read_id_list(tmp_path / "keep.txt") == {"S0001", "S0002"}
    (tmp_path / "mac.txt").write_bytes(b"rs1\rrs2\rrs3\r")        # old-Mac line ends: was {rs1} (review)
    assert read_variant_list(tmp_path / "mac.txt") == {"rs1", "rs2", "rs3"}
    (tmp_path / "mackeep.txt").write_bytes(b"S0001\rS0002\r")     # was FID S0001, IID S0002: {S0002}
    assert read_id_list(tmp_path / "mackeep.txt") == {"S0001", "S0002"}
    (tmp_path / "keep2.txt").write_bytes(b"\xef\xbb\xbfFID IID\nS0001 S0001\n")
    assert read_id_list(tmp_path / "keep2.txt") == {"S0001"}
    (tmp_path / "bad.txt").write_bytes(b"\xef\xbb\xbfS1\nS\xff2\n")
    with pytest.raises(InputError, match=r"bad.txt:2: not UTF-8 text \(byte offset 7\)"):
        read_id_list(tmp_path / "bad.txt")


def test_id_list__a_header_and_no_ids_is_refused_naming_the_file(tmp_path: Path):
    """Review s42geno: a --keep/--remove file holding only its id header (a RAP export of no participant) read as
    an empty set: --keep then said it left no sample of the genotypes, naming no file, and --remove was silent."""
    from edfgen.formats.genotypes.selection import read_id_list

    for name, text, head in [("k1", "participant.eid\n", "participant.eid"), ("k2", "FID IID\n", "IID"),
                             ("k3.csv", "eid,p31\n", "eid"), ("k4", "#IID\n", "#IID"), ("k5", "FINNGENID\r\n", "FINNGENID")]:
        (tmp_path / name).write_text(text)
        for what in ("--keep", "--remove"):
            with pytest.raises(InputError, match=rf"^{what} {tmp_path / name}: header {head!r} and no ids$"):
                read_id_list(tmp_path / name, what=what)
    (tmp_path / "one.txt").write_text("S0001\n")                   # one id and no header: still an id
    assert read_id_list(tmp_path / "one.txt") == {"S0001"}


def test_gwas_pheno__utf16_table_is_refused_naming_the_encoding(cohort: Path):
    """Was: '<pheno.tsv>:122: 1 field, the header has 3 (a short row)' for an Excel 'Unicode text' (UTF-16)
    export; now the error names the encoding, with and without a byte-order mark."""
    import lzma
    import zipfile

    text = (cohort / "pheno.tsv").read_text()
    (cohort / "pheno.tsv").write_bytes(text.encode("utf-16"))
    _one_line_error(_run(_gwas(cohort)), "pheno.tsv: UTF-16 text (byte-order mark)", "save the file as UTF-8")
    (cohort / "pheno.tsv").write_bytes(("\n" + text).encode("utf-16-le"))   # no BOM, a blank first line
    _one_line_error(_run(_gwas(cohort)), "pheno.tsv: NUL bytes", "UTF-16 without a byte-order mark")
    (cohort / "pheno.tsv").write_bytes(lzma.compress(text.encode()))
    _one_line_error(_run(_gwas(cohort)), "pheno.tsv: xz-compressed")
    with zipfile.ZipFile(cohort / "pheno.tsv", "w") as z:
        z.writestr("pheno.tsv", text)
    _one_line_error(_run(_gwas(cohort)), "pheno.tsv: zip-compressed")


# --------------------------------------------------------------------------- option values
@pytest.mark.parametrize("kb", ["nan", "inf", "-5", "0"])
def test_clump_kb__non_finite_or_not_positive_is_one_line(cohort: Path, kb: str):
    """Was: ``--kb nan`` ValueError and ``--kb inf`` OverflowError tracebacks (int() of the bp radius)."""
    from edfgen.kernels.clump import ClumpSettings

    with pytest.raises(InputError, match="kb must be a finite number > 0"):
        ClumpSettings(kb=float(kb))
    (cohort / "ss").mkdir()
    pd.DataFrame({"chromosome": "1", "base_pair_location": [1000, 2000], "effect_allele": "A", "other_allele": "G",
                  "beta": [0.1, 0.2], "standard_error": 0.05, "effect_allele_frequency": 0.3,
                  "p_value": [1e-9, 0.5], "variant_id": ["rs1", "rs2"], "n": N}).to_csv(
        cohort / "ss" / "qt.tsv.gz", sep="\t", index=False)
    r = _run(["clump", "--sumstats", cohort / "ss", "--bfile", cohort / "g", "--kb", kb, "--out", cohort / "cl"])
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    if float(kb) <= 0:     # the option's range, shown in --help, is checked by the command line (review s31d)
        assert r.exit_code == 2 and len(lines) == 1 and f"--kb: {float(kb)} is not in the range x>0" in lines[0], \
            r.output
    else:                  # nan, inf: refused by the command line too (review s34a)
        assert r.exit_code == 2 and len(lines) == 1 and f"--kb: '{kb}' is not a finite number" in lines[0], r.output
    assert not (cohort / "cl").exists()
    assert ClumpSettings(kb=250).bp_radius == 249_999          # a valid value is unchanged


@pytest.mark.parametrize("value", ["2", "-1", "nan"])
def test_gwas_kinship__outside_0_to_half_is_one_line(cohort: Path, value: str):
    """Was: --kinship 2 and nan removed no one silently; -1 removed nearly everyone ("only 2 samples left")."""
    from edfgen.kernels.qc import KINSHIP_2ND_DEGREE, QCSettings

    r = _run(_gwas(cohort, "--remove-related", "--kinship", value))
    if value == "nan":     # refused by the command line, as every number option's nan (review s34a)
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert r.exit_code == 2 and len(lines) == 1 and "--kinship: 'nan' is not a finite number" in lines[0]
    else:
        _one_line_error(r, "kinship cutoff must be in [0, 0.5]", value)
    assert not (cohort / "out").exists()
    assert QCSettings(kinship=0.5).kinship == 0.5 and QCSettings().kinship == KINSHIP_2ND_DEGREE


@pytest.mark.parametrize("option, value, expect", [("--window-kb", "-1", "window_kb"), ("--ld-r2", "2", "ld_r2")])
def test_annotate_ranges__refused_before_anything_is_read(tmp_path: Path, option, value, expect):
    """Was: a negative or NaN --window-kb and --ld-r2 2 ran and wrote a table (negative window: no locus known)."""
    from edfgen.kernels.annotate import AnnotateSettings

    loci = tmp_path / "loci.tsv"
    pd.DataFrame({"variant_id": ["rs1"], "chromosome": ["1"], "base_pair_location": [1_000_000],
                  "p_value": [1e-9]}).to_csv(loci, sep="\t", index=False)
    catalog = Path(__file__).resolve().parents[1] / "edfgen" / "data" / "ecg_traits_associations_2016-01-18.tsv"
    r = _run(["annotate", "--loci", loci, "--catalog", catalog, "--any-trait", option, value,
              "--out", tmp_path / "o" / "annotated.tsv"])
    _one_line_error(r, expect, value)
    assert not (tmp_path / "o").exists()
    assert AnnotateSettings(window_kb=0, ld_r2=1).window_kb == 0


def test_gwas_pheno_cols_and_prefix__contradiction_is_one_line(cohort: Path):
    """Was: --pheno-cols qt --pheno-prefix h ran qt only, --pheno-prefix silently ignored."""
    r = _run(_gwas(cohort, "--pheno-cols", "qt", "--pheno-prefix", "h"))
    _one_line_error(r, "--pheno-cols", "--pheno-prefix", "give one of them")
    assert not (cohort / "out").exists()


# --------------------------------------------------------------------------- genotype files
def test_gwas_lower_case_bim_alleles__written_upper_case_same_numbers(cohort: Path):
    """Was: a .bim with lower-case alleles (allowed by PLINK) gave lower-case ``effect_allele``/``other_allele`` in
    the GWAS-SSF files, which the format (and the GWAS Catalog validator, ``^[ACTG]+$``) refuses. Now upper case,
    with every number equal to the run on the upper-case .bim."""
    r = _run(_gwas(cohort))
    assert r.exit_code == 0, r.output[-3000:]
    upper = pd.read_csv(cohort / "out" / "qt.tsv.gz", sep="\t", dtype=str)
    bim = cohort / "g.bim"
    rows = [ln.split("\t") for ln in bim.read_text().splitlines()]
    assert all(re.fullmatch("[ACGT]+", x) for r_ in rows for x in r_[4:6])
    bim.write_text("\n".join("\t".join(r_[:4] + [x.lower() for x in r_[4:6]]) for r_ in rows) + "\n")
    r = _run(_gwas(cohort) + ["--force"])
    assert r.exit_code == 0, r.output[-3000:]
    lower = pd.read_csv(cohort / "out" / "qt.tsv.gz", sep="\t", dtype=str)
    assert lower["effect_allele"].str.fullmatch("[ACGT]+").all() and lower["other_allele"].str.fullmatch("[ACGT]+").all()
    pd.testing.assert_frame_equal(lower, upper)


def test_finemap_align_to_panel__lower_case_panel_alleles_match(cohort: Path):
    """Review of stop 22: summary statistics' alleles are upper case (GWAS-SSF, and the readers upper-case them)
    but an LD panel's .bim may be lower case: every variant was dropped ('0 variant(s) in the panel'). Reference:
    the same rows aligned to the upper-case panel."""
    from edfgen.commands.finemap import align_to_panel
    from edfgen.formats.genotypes.panel import PlinkGenotypes

    rows = pd.DataFrame({"variant_id": ["rs1", "rs2", "rs3"], "effect_allele": ["A", "G", "A"],
                         "other_allele": ["G", "A", "C"], "z": [2.0, 3.0, 1.0], "beta": [0.2, 0.3, 0.1]})
    upper = align_to_panel(rows, PlinkGenotypes(cohort / "g"))
    assert upper["variant_id"].tolist() == ["rs1", "rs2"] and upper["z"].tolist() == [2.0, -3.0]
    bim = cohort / "g.bim"
    bim.write_text(bim.read_text().replace("\tA\tG", "\ta\tg"))
    lower = align_to_panel(rows, PlinkGenotypes(cohort / "g"))
    pd.testing.assert_frame_equal(lower, upper)


@pytest.mark.parametrize("first, second, written", [("23", "X", "23"), ("X", "23", "23"), ("MT", "26", "25"),
                                                    ("24", "Y", "24"), ("XY", "25", "23"), ("X", "XY", "23")])
def test_gwas_plink_numeric_chromosome_codes__one_chromosome_with_its_name(cohort: Path, first, second, written):
    """Was: a .bim naming chromosome X both as 23 (plink1.9's code) and X failed after the whole GWAS, naming the
    *output* ('out/qt.tsv.gz: chromosome 23: position 1000 follows 60000'): 23 sorted after every named
    chromosome while both were written as 23; plink's 26 (MT) was written as 26, outside GWAS-SSF's 1-25."""
    bim = cohort / "g.bim"
    rows = [ln.split("\t") for ln in bim.read_text().splitlines()]
    for k, r in enumerate(rows):
        r[0] = first if k < 30 else second
    bim.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    r = _run(_gwas(cohort))
    assert r.exit_code == 0 and r.exception is None, r.output[-3000:]
    ss = pd.read_csv(cohort / "out" / "qt.tsv.gz", sep="\t", dtype={"chromosome": str})
    assert set(ss["chromosome"]) == {written}
    assert ss["base_pair_location"].is_monotonic_increasing and len(ss) == 60


def test_gwas_plink_negative_position__one_line_saying_plink_skips_it_and_how_to_drop_it(cohort: Path):
    """Stop 42 (s42geno): a .bim position of -5 is PLINK 1's mark for 'skip this variant' (plink2 --glm loads 59
    of 60 variants and tests them). edfgen refuses the fileset, in one line naming the file and variant, and now
    says what the negative number means and how to write the fileset without it (the line said only 'outside
    0..2147483646')."""
    bim = cohort / "g.bim"
    rows = [ln.split("\t") for ln in bim.read_text().splitlines()]
    rows[4][3] = "-5"
    bim.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    _one_line_error(_run(_gwas(cohort)), "g.bim: variant 5: base-pair position -5", "PLINK 1 marks a variant to skip",
                    "plink2 --bfile", "--make-bed")
    # review s42geno: the command is quoted for a shell (a folder with a blank) and writes into the working folder
    # (the input's may be read-only: the RAP's /mnt/project); run, plink2 writes the fileset without the variant
    import shlex
    import shutil
    import subprocess

    (cohort / "my data").mkdir()
    for name in ("g.bed", "g.bim", "g.fam", "pheno.tsv"):
        (cohort / name).rename(cohort / "my data" / name)
    line = _one_line_error(_run(_gwas(cohort / "my data")), "--make-bed --out ./g_kept writes")
    cmd = line.split("; ", 1)[1].split(" writes the fileset")[0]
    assert cmd == f"plink2 --bfile {shlex.quote(str(cohort / 'my data' / 'g'))} --make-bed --out ./g_kept"
    if shutil.which("plink2") is None:
        pytest.skip("plink2 not installed")
    (cohort / "work").mkdir()
    subprocess.run(shlex.split(cmd), cwd=cohort / "work", check=True, capture_output=True)
    assert len((cohort / "work" / "g_kept.bim").read_text().splitlines()) == len(rows) - 1


def test_gwas_plink_xy_and_mt__two_chromosomes_stay_two(cohort: Path):
    """Review of stop 22: PLINK's 25 is XY (the pseudo-autosomal region), 26 is MT; GWAS-SSF's 25 is MT. XY was
    written as 25, so a .bim with both came out as one chromosome '25', read back as MT. XY is written as X."""
    bim = cohort / "g.bim"
    rows = [ln.split("\t") for ln in bim.read_text().splitlines()]
    for k, r in enumerate(rows):
        r[0] = "25" if k < 30 else "26"
    bim.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    r = _run(_gwas(cohort))
    assert r.exit_code == 0 and r.exception is None, r.output[-3000:]
    ss = pd.read_csv(cohort / "out" / "qt.tsv.gz", sep="\t", dtype={"chromosome": str})
    assert ss["chromosome"].value_counts().to_dict() == {"23": 30, "25": 30}


def test_clump_pseudo_autosomal_lead__written_as_x_so_its_region_and_gene_are_found(cohort: Path):
    """Review of stop 22: clump kept the LD panel's chromosome labels, so a lead in PLINK's XY or 25 (the
    pseudo-autosomal region) was written as chromosome 'XY' / '25', while GWAS-SSF (``edfgen gwas``) writes
    that region as 23, read back as X: ``locus_frames`` (regional plots) found no region for it and the
    nearest gene (genes keyed X) was missing. clump now writes the labels a GWAS-SSF round trip gives
    (X for X/23/XY/25, Y for 24, MT for 26/M)."""
    from edfgen.commands.clump import locus_frames
    from edfgen.formats.genotypes.panel import open_panel
    from edfgen.kernels.annotate import nearest_genes
    from test_bad_input import _sumstats

    bim = cohort / "g.bim"
    rows = [ln.split("\t") for ln in bim.read_text().splitlines()]
    labels = ["1"] * 20 + ["XY"] * 20 + ["25"] * 20
    for r, c in zip(rows, labels):
        r[0] = c
    bim.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    ss = _sumstats(np.random.default_rng(3))
    ss["chromosome"] = ["1"] * 20 + ["23"] * 40          # as edfgen gwas writes XY / 25
    ss.loc[25, "p_value"] = 1e-11
    ss.to_csv(cohort / "y.tsv", sep="\t", index=False)
    r = _run(["clump", "--sumstats", cohort / "y.tsv", "--bfile", cohort / "g", "--p1", "1e-6", "--p2", "0.05",
              "--r2", "0.1", "--kb", "5", "--out", cohort / "cl"])
    assert r.exit_code == 0 and r.exception is None, r.output[-3000:]
    clumps = pd.read_csv(cohort / "cl" / "clumps.tsv", sep="\t", dtype={"chromosome": str})
    loci = pd.read_csv(cohort / "cl" / "loci.tsv", sep="\t", dtype={"chromosome": str})
    lead = dict(zip(clumps["variant_id"], clumps["chromosome"]))
    assert lead == {"rs10": "1", "rs11": "1", "rs26": "X", "rs41": "X"}, lead
    assert {"rs26", "rs41"} <= set(loci["variant_id"])
    assert all(lead[v] == c for v, c in zip(loci["variant_id"], loci["chromosome"]))
    with open_panel(str(cohort / "g")) as panel:
        frames = {row.variant_id: reg for row, reg, _ in locus_frames(loci, [cohort / "y.tsv"], panel, window_kb=3)}
    assert set(frames) == set(loci["variant_id"])
    assert all(len(reg) == 7 and v in set(reg["variant_id"]) for v, reg in frames.items())   # lead +- 3 kb
    genes = pd.DataFrame({"chromosome": ["1", "X"], "start": [9000, 25500], "end": [9500, 26000],
                          "gene": ["G1", "GX"], "strand": "+"})
    near = nearest_genes(loci["chromosome"], loci["base_pair_location"], genes)
    assert near["nearest_gene"].tolist() == ["G1" if c == "1" else "GX" for c in loci["chromosome"]]


@pytest.mark.parametrize("short", ["pvar", "psam"])
def test_pgen_pvar_or_psam_a_row_short__counts_named(tmp_path: Path, short: str):
    """Was: pgenlib's internals, "unreadable .pgen (PgfiInitPhase1() was called with raw_variant_ct == 9, but
    p.pgen contains 10 variants.)". Now the file that disagrees and both counts are named."""
    import shutil
    import subprocess

    from edfgen.formats.genotypes.pgen import PgenReader

    if shutil.which("plink2") is None:
        pytest.skip("plink2 not installed")
    subprocess.run(["plink2", "--dummy", "20", "10", "--make-pgen", "--out", "p"], cwd=tmp_path, check=True,
                   capture_output=True)
    f = tmp_path / f"p.{short}"
    f.write_text("".join(f.read_text().splitlines(keepends=True)[:-1]))
    what = {"pvar": "variants", "psam": "samples"}[short]
    n = {"pvar": 10, "psam": 20}[short]
    with pytest.raises(InputError, match=rf"^--pfile {tmp_path}/p: p.{short} lists {n - 1} {what} but p.pgen "
                                         rf"holds {n} \(a .pvar/.psam of another fileset, or rows lost\)$"):
        PgenReader(str(tmp_path / "p"))


def test_bgen_sample__ids_in_another_order_than_the_bgen_stores_refused(tmp_path: Path):
    """Was: a ``.sample`` listing the BGEN's own ids in another order was used, giving every genotype to the
    wrong participant. A ``.sample`` that renames the samples (ids the BGEN does not hold) is still used; so is
    one whose new ids happen to equal other samples' stored ids now and then (below)."""
    from test_readers import _write_bgen

    from edfgen.formats.genotypes.bgen import BgenReader

    n = 12
    _write_bgen(tmp_path / "g.bgen", [("v1", ["A", "G"], [2] * n, 0, 8, [255, 0] * n)], n, compression=1)
    head = "ID_1 ID_2 missing\n0 0 0\n"

    def sample(ids):
        (tmp_path / "g.sample").write_text(head + "".join(f"0 {i} 0\n" for i in ids))
        return BgenReader(str(tmp_path / "g.bgen"), sample=str(tmp_path / "g.sample"), fast=False)

    ids = [f"s{i}" for i in range(n)]
    assert sample(ids).samples["IID"].tolist() == ids
    assert sample([f"p{i}" for i in range(n)]).samples["IID"].tolist() == [f"p{i}" for i in range(n)]
    swapped = ids[:3] + [ids[4], ids[3]] + ids[5:]
    with pytest.raises(InputError, match=r"g.sample: sample 's4' is on row 4 but on row 5 of the ids stored in "
                                         r"--bgen .*g.bgen \(2 such samples, 0 new ids\)"):
        sample(swapped)
    for other in (ids[::-1], ids[1:] + ["s12"], ids[:3] + ["s4", "x"] + ids[5:]):   # reversed; shifted; a tie
        with pytest.raises(InputError, match=r"g.sample: sample .* the .sample lists them in another order"):
            sample(other)


def test_bgen_sample__plink2_fid_iid_ids_compared_whole(tmp_path: Path):
    """``plink2 --export bgen-1.2`` of a fileset with FIDs stores ``FID_IID`` in the BGEN while its ``.sample`` holds
    FID and IID apart: the order check compares them whole, so a shuffled ``.sample`` of such a file is refused (was:
    every row a 'new id', any order accepted: genotypes on the wrong people; review of stop 23)."""
    import subprocess

    from edfgen.formats.genotypes.bgen import BgenReader

    subprocess.run(["plink2", "--dummy", "12", "5", "--make-bed", "--out", str(tmp_path / "d"), "--silent"],
                   check=True)
    fam = (tmp_path / "d.fam").read_text().splitlines()
    (tmp_path / "d.fam").write_text("".join(f"F{i}\t" + ln.split("\t", 1)[1] + "\n" for i, ln in enumerate(fam)))
    subprocess.run(["plink2", "--bfile", str(tmp_path / "d"), "--export", "bgen-1.2", "bits=8", "--out",
                    str(tmp_path / "b"), "--silent"], check=True)
    good = BgenReader(str(tmp_path / "b.bgen"), sample=str(tmp_path / "b.sample"), fast=False)
    assert good.samples["IID"].tolist()[:2] == ["per0", "per1"]
    lines = (tmp_path / "b.sample").read_text().splitlines(keepends=True)
    (tmp_path / "shuf.sample").write_text("".join(lines[:2] + lines[2:][::-1]))
    with pytest.raises(InputError, match=r"shuf.sample: sample 'F11_per11' is on row 1 but on row 12 .* another order"):
        BgenReader(str(tmp_path / "b.bgen"), sample=str(tmp_path / "shuf.sample"), fast=False)


def test_clump_position_matching__plink_numeric_x_and_mt_panel_labels_found(cohort: Path):
    """Was: summary statistics whose ids are not the panel's (``chr:pos:ref:alt`` against rsIDs) are matched by
    chromosome, position and alleles, but a panel naming X, its pseudo-autosomal region and MT by PLINK's codes
    (23, XY, 26) never matched the GWAS-SSF rows (23 and 25, read back as X and MT): every X and MT variant was
    'not in LD panel'. The panel's labels are compared as a GWAS-SSF round trip gives them."""
    from test_bad_input import _sumstats

    bim = cohort / "g.bim"
    rows = [ln.split("\t") for ln in bim.read_text().splitlines()]
    for i, (r, c) in enumerate(zip(rows, ["1"] * 15 + ["23"] * 15 + ["XY"] * 15 + ["26"] * 15)):
        r[0] = c
        if c == "26":   # on the mitochondrial genome (16,569 bp): a 25 row beyond it is PLINK's XY, not MT
            r[3] = str(int(r[3]) - 44_000)
    bim.write_text("\n".join("\t".join(r) for r in rows) + "\n")
    ss = _sumstats(np.random.default_rng(3))
    ss["chromosome"] = ["1"] * 15 + ["23"] * 30 + ["25"] * 15          # as edfgen gwas writes them
    ss.loc[45:, "base_pair_location"] -= 44_000
    ss["variant_id"] = ss["chromosome"] + ":" + ss["base_pair_location"].astype(str) + ":G:A"
    ss.loc[[20, 50], "p_value"] = [1e-11, 1e-13]
    ss.to_csv(cohort / "y.tsv", sep="\t", index=False)
    r = _run(["clump", "--sumstats", cohort / "y.tsv", "--bfile", cohort / "g", "--p1", "1e-6", "--p2", "0.05",
              "--r2", "0.1", "--kb", "5", "--out", cohort / "cl"])
    assert r.exit_code == 0 and r.exception is None, r.output[-3000:]
    rejects = pd.read_csv(cohort / "cl" / "rejects.tsv", sep="\t")
    clumps = pd.read_csv(cohort / "cl" / "clumps.tsv", sep="\t", dtype={"chromosome": str})
    assert rejects.empty, rejects
    assert dict(zip(clumps["variant_id"], clumps["chromosome"])) == {
        "1:10000:G:A": "1", "1:11000:G:A": "1", "23:21000:G:A": "X", "23:41000:G:A": "X", "25:7000:G:A": "MT"}


def test_bgen_sample__no_type_line_is_named(tmp_path: Path):
    """Was: a ``.sample`` without its second (type) line lost its first sample to the skipped line and was
    refused with a wrong reason ("11 samples but the BGEN has 12"). plink2 says "Unrecognized .sample variable
    type 's0'"; edfgen names line 2 and what a type line holds."""
    from test_readers import _write_bgen

    from edfgen.formats.genotypes.bgen import BgenReader

    n = 12
    _write_bgen(tmp_path / "g.bgen", [("v1", ["A", "G"], [2] * n, 0, 8, [255, 0] * n)], n, compression=1)
    rows = "".join(f"0 s{i} 0 {i % 2 + 1}\n" for i in range(n))
    (tmp_path / "g.sample").write_text("ID_1 ID_2 missing sex\n0 0 0 D\n" + rows)
    assert BgenReader(str(tmp_path / "g.bgen"), sample=str(tmp_path / "g.sample")).samples["IID"].tolist() == \
        [f"s{i}" for i in range(n)]
    (tmp_path / "g.sample").write_text("ID_1 ID_2 missing sex\n" + rows)
    with pytest.raises(InputError, match=r"g.sample: line 2 must be the column types \(0 0 0, then D, C, P or B "
                                         r"per column\), not '0 s0 0 1': the type line is missing\?$"):
        BgenReader(str(tmp_path / "g.bgen"), sample=str(tmp_path / "g.sample"))


def test_bgen_sample__a_rename_whose_new_ids_equal_other_stored_ids_is_used_like_plink2(tmp_path: Path):
    """Was refused: a ``.sample`` renaming every sample of a BGEN that stores ids, where 3 of the 12 new ids
    happen to equal other samples' stored ids (as a re-pseudonymised cohort's ids do: UK Biobank gives each
    application its own 7-digit eids). plink2 (``--bgen g.bgen ref-first --sample g.sample``) uses the
    ``.sample`` ids in file order; so does edfgen now: same ids, same genotypes on each row. Refused still:
    a ``.sample`` whose changed rows mostly carry ids the BGEN stores on other rows (the test above)."""
    import subprocess

    from test_readers import _write_bgen

    from edfgen.formats.genotypes import GenotypeSource, open_genotypes

    if subprocess.run(["which", "plink2"], capture_output=True).returncode:
        pytest.skip("plink2 not installed")
    n = 12
    probs = {0: [255, 0], 1: [0, 255], 2: [0, 0]}      # 8-bit P(AA), P(AB): 0, 1, 2 copies of G
    variants = [(f"v{k}", ["A", "G"], [2] * n, 0, 8, sum((probs[(i * (k + 1)) % 3] for i in range(n)), []))
                for k in range(4)]
    _write_bgen(tmp_path / "g.bgen", variants, n, compression=1)
    new = ["s5", "p1", "p2", "s0", "p4", "p5", "p6", "s9", "p8", "p9", "p10", "p11"]
    (tmp_path / "g.sample").write_text("ID_1 ID_2 missing\n0 0 0\n" + "".join(f"0 {i} 0\n" for i in new))
    r = open_genotypes(GenotypeSource(bgen=str(tmp_path / "g.bgen"), sample=str(tmp_path / "g.sample")))
    subprocess.run(["plink2", "--threads", "1", "--bgen", "g.bgen", "ref-first", "--sample", "g.sample",
                    "--make-pgen", "--out", "p2"], cwd=tmp_path, check=True, capture_output=True)
    p2 = open_genotypes(GenotypeSource(pfile=str(tmp_path / "p2")))
    assert r.samples["IID"].tolist() == p2.samples["IID"].tolist() == new
    got, want = r.read(None, np.arange(4)), p2.read(None, np.arange(4))
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got[:, 0], [(i % 3) for i in range(n)])


# --------------------------------------------------------------------------- ECG records
def _record(rid: str, fs: float, seconds: float = 10.0) -> EcgRecord:
    n = int(round(fs * seconds)) if fs * seconds >= 1 else 5000     # 1e-300 Hz: the header's samples, 5000
    t = np.arange(n) / max(fs, 1.0)
    sig = np.stack([np.sin(2 * np.pi * 1.2 * t) * (0.5 + 0.05 * k) + 0.01 * np.sin(2 * np.pi * 9 * k * t)
                    for k in range(12)]).astype(np.float32)
    return EcgRecord(record_id=rid, signal=sig, fs=fs, leads=LEADS, path=f"{rid}.hea")


@pytest.mark.parametrize("fs", [1e-300, 1.0, 49.9])
def test_preprocess__sampling_rate_below_50_hz_is_a_reject(fs: float):
    """Was: a header rate of 1e-300 Hz reached the resampler: ValueError traceback ending the batch; 1 Hz
    was used (5000 samples = 83 minutes of 'ECG' upsampled 500-fold)."""
    from edfgen.kernels.ecg.preprocess import preprocess_many

    batch = preprocess_many([_record("a", 500.0), _record("slow", fs), _record("b", 100.0)])
    assert batch.record_ids == ["a", "b"]
    assert [(r[0], "below 50 Hz" in r[2]) for r in batch.rejects] == [("slow", True)], batch.rejects


def _wfdb(d: Path, name: str, *, fmt: str = "16", gain: str = "1000/mV", nsig_line: int | None = None,
          n: int = 5000) -> Path:
    rng = np.random.default_rng(0)
    (rng.normal(0, 300, (n, 12))).round().astype("<i2").tofile(d / f"{name}.dat")
    lines = [f"{name} {nsig_line or 12} 500 {n}"] + [f"{name}.dat {fmt} {gain} 16 0 0 0 0 {lead}" for lead in LEADS]
    (d / f"{name}.hea").write_text("\n".join(lines) + "\n")
    return d / f"{name}.hea"


@pytest.mark.parametrize("fmt", ["16", "212", "24"])
def test_read_wfdb__adc_gain_zero_uncalibrated_is_rejected(tmp_path: Path, fmt: str):
    """Was: gain 0 (WFDB: uncalibrated) went to wfdb.rdrecord, which reads it as 200/mV: a guessed amplitude used."""
    from edfgen.formats.ecg.records import read_wfdb

    with pytest.raises(RecordRejected, match="ADC gain 0 on signal line 1 .* uncalibrated"):
        read_wfdb(_wfdb(tmp_path, "r", fmt=fmt, gain="0/mV"))
    with pytest.raises(RecordRejected, match="ADC gain 0"):
        read_wfdb(_wfdb(tmp_path, "r", fmt=fmt, gain="0(0)/mV"))
    if fmt == "16":
        assert read_wfdb(_wfdb(tmp_path, "r", fmt=fmt, gain="1000/mV")).signal.shape == (12, 5000)


@pytest.mark.parametrize("fmt", ["16", "212"])
def test_read_wfdb__uncalibrated_channel_beside_the_12_leads_is_dropped_with_a_note(tmp_path: Path, fmt: str):
    """Was: an ADC gain of 0 on any signal line rejected the record, also on a channel that is not one of the 12
    leads (RESP, a marker). Now such a channel is left out with a note; a lead of gain 0 still rejects, by name.
    Reference: wfdb.rdrecord's physical read of the 12 leads (calibrated)."""
    import wfdb

    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.leads import canonicalise_leads

    names = list(LEADS) + ["RESP", "Marker"]
    p = np.random.default_rng(2).normal(0, 0.4, (5000, len(names)))
    wfdb.wrsamp("u", fs=500, units=["mV"] * len(names), sig_name=names, p_signal=p, fmt=[fmt] * len(names),
                adc_gain=[200.0] * len(names), baseline=[0] * len(names), write_dir=str(tmp_path))
    ref = wfdb.rdrecord(str(tmp_path / "u")).p_signal.T[:12]
    text = (tmp_path / "u.hea").read_text()
    for name in ("RESP", "Marker"):
        text = re.sub(rf"(\S+ {fmt}) 200(?:\.0)?(\(0\))?/mV(.* {name}\n)", r"\1 0/mV\3", text)
    assert text.count(" 0/mV") == 2, text
    (tmp_path / "u.hea").write_text(text)
    rec = read_wfdb(tmp_path / "u.hea")
    assert rec.leads == LEADS and rec.notes == ("dropped uncalibrated channel(s) (ADC gain 0): RESP, Marker",)
    np.testing.assert_allclose(rec.signal, ref, rtol=0, atol=1e-6)
    assert canonicalise_leads(rec).notes == rec.notes
    (tmp_path / "u.hea").write_text(re.sub(rf"(\S+ {fmt}) 200(?:\.0)?(\(0\))?/mV(.* V3\n)", r"\1 0/mV\3", text))
    with pytest.raises(RecordRejected, match=r"record u: ADC gain 0 on signal line 9 \(V3\) of the WFDB header"):
        read_wfdb(tmp_path / "u.hea")


def test_read_wfdb__variable_layout_multi_segment_record_reads_as_wfdb(tmp_path: Path):
    """A variable-layout multi-segment record (MIMIC waveform style) has a first 'layout' segment of 0 samples
    and no signal file; the 0-samples reject must not fire on it (review of stop 22). Reference: wfdb.rdrecord."""
    import wfdb

    from edfgen.formats.ecg.records import read_wfdb

    rng = np.random.default_rng(0)
    for seg in ("ms_1", "ms_2"):
        wfdb.wrsamp(seg, fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=rng.normal(0, 0.3, (5000, 12)),
                    fmt=["16"] * 12, adc_gain=[1000] * 12, baseline=[0] * 12, write_dir=str(tmp_path))
    (tmp_path / "ms_layout.hea").write_text("ms_layout 12 500 0\n" + "".join(
        f"~ 0 1000/mV 16 0 0 0 0 {lead}\n" for lead in LEADS))
    (tmp_path / "ms.hea").write_text("ms/3 12 500 10000\nms_layout 0\nms_1 5000\nms_2 5000\n")
    ref = wfdb.rdrecord(str(tmp_path / "ms"), m2s=True)
    rec = read_wfdb(tmp_path / "ms.hea")
    assert rec.signal.shape == (12, 10000) and rec.fs == 500
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, atol=1e-3)


def _segments(d: Path, name: str, specs, *, layout=LEADS, n: int = 5000) -> tuple[Path, list]:
    """A variable-layout multi-segment record: per segment (signal names, gains, baselines, units, format); returns
    its header and, as the independent reference, each segment read alone by wfdb.rdrecord (physical, in mV)."""
    import wfdb

    rng = np.random.default_rng(1)
    refs = []
    for k, (names, gain, base, units, fmt) in enumerate(specs, start=1):
        mv = rng.normal(0, 0.4, (n, len(names)))
        scale = {"mV": 1.0, "uV": 1000.0}[units]
        wfdb.wrsamp(f"{name}_{k}", fs=500, units=[units] * len(names), sig_name=list(names), p_signal=mv * scale,
                    fmt=[fmt] * len(names), adc_gain=[gain] * len(names), baseline=[base] * len(names),
                    write_dir=str(d))
        ref = wfdb.rdrecord(str(d / f"{name}_{k}"))
        refs.append(dict(zip(names, ref.p_signal.T / scale)))
    (d / f"{name}_layout.hea").write_text(f"{name}_layout {len(layout)} 500 0\n" + "".join(
        f"~ 0 1000/mV 16 0 0 0 0 {lead}\n" for lead in layout))
    (d / f"{name}.hea").write_text(f"{name}/{len(specs) + 1} {len(layout)} 500 {n * len(specs)}\n{name}_layout 0\n"
                                   + "".join(f"{name}_{k} {n}\n" for k in range(1, len(specs) + 1)))
    return d / f"{name}.hea", refs


def test_read_wfdb__multi_segment_record_with_other_gains_per_segment_reads_each_segment_in_mv(tmp_path: Path):
    """Was: a variable-layout record whose segments store a signal with different gains/baselines (MIMIC) was
    rejected ('cannot be converted to single segment, in digital format'), and a fixed-layout one was read with the
    first segment's gains for all (amplitudes wrong by the gain ratio). Reference: each segment alone, wfdb's
    physical read; and wfdb.rdrecord(physical=True) of the whole record."""
    import wfdb

    from edfgen.formats.ecg.records import read_wfdb

    specs = [(LEADS, 1000, 0, "mV", "16"), (LEADS, 200, -37, "mV", "212"), (LEADS, 1, 25, "uV", "16")]
    hea, refs = _segments(tmp_path, "mv", specs)
    rec = read_wfdb(hea)
    assert rec.signal.shape == (12, 15000) and rec.leads == LEADS and rec.fs == 500
    want = np.hstack([np.stack([r[lead] for lead in LEADS]) for r in refs])
    np.testing.assert_allclose(rec.signal, want, rtol=0, atol=1e-6)
    whole = wfdb.rdrecord(str(tmp_path / "mv"), m2s=True, physical=True, sampto=10000).p_signal.T  # segments in mV
    np.testing.assert_allclose(rec.signal[:, :10000], whole, rtol=0, atol=1e-6)
    # the same segments as a fixed layout (no layout segment): each with its own gains, not the first one's
    (tmp_path / "fx.hea").write_text("fx/3 12 500 15000\nmv_1 5000\nmv_2 5000\nmv_3 5000\n")
    np.testing.assert_allclose(read_wfdb(tmp_path / "fx.hea").signal, want, rtol=0, atol=1e-6)


def test_read_wfdb__multi_segment_signal_absent_from_a_segment_is_nan_there(tmp_path: Path):
    """A signal that a segment lacks (variable layout) and a '~' gap are NaN there, as WFDB reads them
    (reference: wfdb.rdrecord(physical=True)); with a lead missing from a segment the longest complete stretch is
    used (a reject naming the lead when it is shorter than 8 s), a non-ECG channel missing from a segment is dropped with the other extra
    channels and the record is used; a gap in every lead is cut, the 20 s before it used."""
    from dataclasses import replace

    import wfdb

    from edfgen.formats.ecg.records import read_wfdb
    from edfgen.kernels.ecg.preprocess import preprocess_many

    no_v3 = tuple(lead for lead in LEADS if lead != "V3")
    specs = [(LEADS + ("RESP",), 1000, 0, "mV", "16"), (no_v3, 500, 12, "mV", "16")]
    hea, refs = _segments(tmp_path, "gap", specs, layout=LEADS + ("RESP",))
    rec = read_wfdb(hea)
    ref = wfdb.rdrecord(str(tmp_path / "gap"), m2s=True, physical=True)
    assert list(rec.leads) == list(ref.sig_name)
    np.testing.assert_allclose(rec.signal, ref.p_signal.T, rtol=0, atol=1e-6)   # NaN where wfdb has NaN
    assert np.isnan(rec.signal[8, 5000:]).all() and np.isnan(rec.signal[12, 5000:]).all()
    assert np.isfinite(rec.signal[:12][np.arange(12) != 8]).all()
    batch = preprocess_many([rec])     # V3 is missing from the second segment: the first (10 s, complete) is used
    cut = [n for *_, n in batch.notes if n.startswith("cut ")]     # (its random leads are also noted 'noise')
    assert batch.record_ids == ["gap"] and cut[0].endswith(": 10.000 s from 0.000 s (of 20.000 s) (the file holds "
                                                           "no lead V3 in segment gap_2 (5000 samples))")  # not RESP
    np.testing.assert_array_equal(batch.signals, preprocess_many([replace(rec, signal=rec.signal[:, :5000])]).signals)
    short = replace(rec, signal=rec.signal[:, 1000:])   # 8 s of it: still enough; 7.98 s is not
    assert preprocess_many([short]).record_ids == ["gap"]
    reason = preprocess_many([replace(rec, signal=rec.signal[:, 1010:])]).rejects[0][2]
    assert ("lead V3: 5000 missing samples (1 lead(s) affected; the file holds no lead V3 in segment gap_2 (5000 "
            "samples))" in reason and "longest stretch without missing samples is 7.98 s" in reason)
    # RESP only in the first segment, V3 in both, then a 10-s gap
    hea, _ = _segments(tmp_path, "resp", [specs[0], (LEADS, 500, 12, "mV", "16")], layout=LEADS + ("RESP",))
    (tmp_path / "resp.hea").write_text(hea.read_text().replace("resp/3 13 500 10000", "resp/4 13 500 15000") + "~ 5000\n")
    rec = read_wfdb(tmp_path / "resp.hea")
    assert rec.signal.shape == (13, 15000) and np.isnan(rec.signal[:, 10000:]).all()
    batch = preprocess_many([rec])     # the gap is NaN in every lead: cut, the 20 s before it used
    assert batch.record_ids == ["resp"], batch.rejects
    assert ("cut to its longest stretch without missing (NaN/inf) samples: 20.000 s from 0.000 s (of 30.000 s) (the "
            "file holds a null segment (~) of 5000 samples (no signal recorded there))") in [n for *_, n in batch.notes]
    np.testing.assert_array_equal(batch.signals, preprocess_many([replace(rec, signal=rec.signal[:, :10000])]).signals)


def test_discover_records__segments_of_a_multi_segment_record_are_not_records_of_their_own(tmp_path: Path):
    """Was: in a MIMIC-style folder every segment header was a record (a participant) of its own ('mv_1', 'mv_2')
    and the layout a reject ('0 samples'). A master that names itself as a segment stays listed (and is a reject)."""
    from edfgen.formats.ecg.records import discover_records, read_record

    _segments(tmp_path, "mv", [(LEADS, 1000, 0, "mV", "16"), (LEADS, 200, 5, "mV", "16")])
    _wfdb(tmp_path, "good")
    (tmp_path / "loop.hea").write_text("loop/2 12 500 10000\nloop 5000\nmv_1 5000\n")
    refs = {r.record_id: r for r in discover_records([tmp_path])}
    assert sorted(refs) == ["good", "loop", "mv"]
    assert read_record(refs["mv"]).signal.shape == (12, 10000)
    with pytest.raises(RecordRejected, match="record loop: WFDB segment loop is itself multi-segment"):
        read_record(refs["loop"])


def test_discover_records__dangling_symlink_is_a_reject_not_skipped(tmp_path: Path):
    """Was: a dangling ``.hea`` symlink in an ECG folder was skipped without a word (not in the rejects file)."""
    from edfgen.formats.ecg.records import discover_records, read_record

    _wfdb(tmp_path, "good")
    (tmp_path / "gone.hea").symlink_to(tmp_path / "nowhere.hea")
    refs = {r.record_id: r for r in discover_records([tmp_path])}
    assert set(refs) == {"good", "gone"} and refs["gone"].fmt == "rejected"
    with pytest.raises(RecordRejected, match="symbolic link to a missing file"):
        read_record(refs["gone"])
    assert read_record(refs["good"]).signal.shape == (12, 5000)
    (tmp_path / "loop.hea").symlink_to(tmp_path / "loop.hea")
    loop = {r.record_id: r for r in discover_records([tmp_path])}["loop"]
    with pytest.raises(RecordRejected, match="a symbolic link loop"):
        read_record(loop)


@pytest.mark.parametrize("kind, reason", [
    ("zero samples", "WFDB header gives 0 samples per signal"),
    ("15 signals declared, 12 lines", "declares 15 signals on its record line but has 12 signal lines"),
    ("3 signals declared, 12 lines", "declares 3 signals on its record line but has 12 signal lines"),
    ("format 999", "unsupported WFDB format '999' on signal line 1"),
])
def test_read_wfdb__header_contradictions_give_a_reason_not_a_python_error(tmp_path: Path, kind: str, reason: str):
    """Was: 'unreadable WFDB record (ValueError: sampto must be greater than sampfrom)', '(IndexError: list index
    out of range)', '(KeyError: '999')'; 3 declared signals with 12 lines read the first 3 ('missing lead(s)')."""
    from edfgen.formats.ecg.records import read_wfdb

    hea = _wfdb(tmp_path, "r", n=0 if kind == "zero samples" else 5000, nsig_line=int(kind.split()[0]) if "declared" in kind else None,
                fmt="999" if "999" in kind else "16")
    with pytest.raises(RecordRejected) as info:
        read_wfdb(hea)
    assert reason in str(info.value) and "Error" not in str(info.value)


def test_extract__gain_zero_and_1e300_rate_records_rejected_batch_goes_on(tmp_path: Path):
    """End to end: the two records are listed in the rejects file with their reasons, the good ones are used; a
    dangling link named like a good record is a reject of its own and does not push the good record out as a
    duplicate (review of stop 22)."""

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    for i in range(2):
        _write_wfdb(ecg, f"R{i}", seed=i)
    _wfdb(ecg, "GAIN0", gain="0/mV")
    _write_wfdb(ecg, "SLOW", fs="1e-300")
    (ecg / "0").mkdir()      # a dangling link named as a real record, listed first: a reject that claims no id
    (ecg / "0" / "R1.hea").symlink_to(tmp_path / "nowhere.hea")
    r, out = _extract_with_tiny(ecg, tmp_path)
    assert sorted(pd.read_csv(out, sep="\t", dtype={"IID": str})["IID"]) == ["R0", "R1"]
    rej = pd.concat([pd.read_csv(p, sep="\t", dtype=str) for p in out.parent.glob("*rejects*.tsv")])
    reasons = dict(zip(rej["record"], rej["reason"]))
    assert "ADC gain 0" in reasons["GAIN0"] and "below 50 Hz" in reasons["SLOW"], reasons
    assert "symbolic link to a missing file" in reasons["R1"], reasons   # and R1 itself is in the EDFs (above)


def _extract_with_tiny(ecg: Path, tmp_path: Path):
    """``edfgen extract`` of the folder ``ecg`` with a copy of the shipped ``tiny`` checkpoint (no workers); asserts
    it succeeded and returns (the CLI result, the EDF table path)."""
    import shutil

    pkg = Path(__file__).resolve().parents[1] / "edfgen" / "checkpoints"
    for f in ("tiny.json", "tiny.safetensors"):
        shutil.copy(pkg / f, tmp_path / f)
    out = tmp_path / "o" / "edfs.tsv"
    r = _run(["extract", "--ecg", ecg, "--checkpoint", tmp_path / "tiny.json", "--workers", 0, "--out", out])
    assert r.exit_code == 0 and r.exception is None, r.output[-3000:]
    return r, out


def test_extract__real_ecgs_with_extra_channels_or_in_segments_give_the_edfs_of_their_12_leads(tmp_path: Path,
                                                                                                 shared_data: Path):
    """End to end on real ECGs (CinC 2021 E07500, E07501): written again with V4R, a RESP channel in Ohm and an
    uncalibrated marker beside the leads, and as a MIMIC-style variable-layout record of two segments with other
    gains and a RESP channel in the first only. Each gives the EDFs of its plain 12-lead copy; the segments are not
    participants. Was: both rejected (unknown units 'Ohm'; 'cannot be converted to single segment'), the segments
    two participants and the layout a reject."""

    import wfdb

    ecg = tmp_path / "ecg"
    ecg.mkdir()
    kw = dict(fs=500, write_dir=str(ecg))
    for name, src in (("PLAIN", "E07500"), ("PLAIN2", "E07501")):
        ref = wfdb.rdrecord(str(shared_data / "ecg" / "cinc2021" / src))
        wfdb.wrsamp(name, units=["mV"] * 12, sig_name=list(LEADS), p_signal=ref.p_signal, fmt=["16"] * 12, **kw,
                    adc_gain=[1000.0] * 12, baseline=[0] * 12)
        if name == "PLAIN":
            x = np.hstack([ref.p_signal, ref.p_signal[:, [3]] * -0.5, np.random.default_rng(0).normal(0, 1, (5000, 2))])
            wfdb.wrsamp("EXTRA", units=["mV"] * 13 + ["Ohm", "mV"], sig_name=[*LEADS, "V4R", "RESP", "Marker"],
                        p_signal=x, fmt=["16"] * 15, **kw, adc_gain=[1000.0] * 15, baseline=[0] * 15)
            text = (ecg / "EXTRA.hea").read_text().splitlines()
            text[-1] = re.sub(r" 1000(\.0)?(\(0\))?/mV ", " 0/mV ", text[-1])
            assert " 0/mV " in text[-1] and text[-1].endswith("Marker"), text[-1]
            (ecg / "EXTRA.hea").write_text("\n".join(text) + "\n")
        else:
            halves = [(ref.p_signal[:2500], 1000.0, 0, [*LEADS, "RESP"]), (ref.p_signal[2500:], 2000.0, 7, list(LEADS))]
            for k, (part, gain, base, names) in enumerate(halves, start=1):
                part = np.hstack([part, np.ones((2500, 1))]) if "RESP" in names else part
                wfdb.wrsamp(f"MS_{k}", units=["mV"] * 12 + ["Ohm"] * (len(names) - 12), sig_name=names, p_signal=part,
                            fmt=["16"] * len(names), **kw, adc_gain=[gain] * len(names),
                            baseline=[base] * len(names))
            (ecg / "MS_layout.hea").write_text("MS_layout 13 500 0\n" + "".join(
                f"~ 0 1000/mV 16 0 0 0 0 {lead}\n" for lead in [*LEADS, "RESP"]))
            (ecg / "MS.hea").write_text("MS/3 13 500 5000\nMS_layout 0\nMS_1 2500\nMS_2 2500\n")
    r, out = _extract_with_tiny(ecg, tmp_path)
    edfs = pd.read_csv(out, sep="\t", dtype={"IID": str}).set_index("IID")
    rej = pd.concat([pd.read_csv(p, sep="\t", dtype=str) for p in out.parent.glob("*rejects*.tsv")])
    assert sorted(edfs.index) == ["EXTRA", "MS", "PLAIN", "PLAIN2"] and rej.empty, (list(edfs.index), rej)
    np.testing.assert_array_equal(edfs.loc["EXTRA"], edfs.loc["PLAIN"])
    assert "2 record(s) had channels beside the 12 leads" in r.output, r.output[-2000:]
    manifest = json.loads((out.parent / "edfs.tsv.manifest.json").read_text())
    assert manifest["extra"]["n_dropped_channels"] == 2
    np.testing.assert_allclose(edfs.loc["MS"], edfs.loc["PLAIN2"], rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- interpret
def test_interpret__word_in_an_edf_or_named_biomarker_column_is_one_line(tmp_path: Path):
    """Was: ValueError traceback ('could not convert string to float') from ``to_numpy(float)``."""
    rng = np.random.default_rng(0)
    ids = [f"P{i}" for i in range(40)]
    edf = pd.DataFrame({"IID": ids, "edf_001": rng.normal(size=40).round(4).astype(str), "edf_002": rng.normal(size=40)})
    edf.loc[7, "edf_001"] = "abc"
    edf.to_csv(tmp_path / "edfs.tsv", sep="\t", index=False)
    bio = pd.DataFrame({"IID": ids, "hr": rng.normal(60, 5, 40).round(1).astype(str)})
    bio.to_csv(tmp_path / "bio.tsv", sep="\t", index=False)
    r = _run(["interpret", "--edf", tmp_path / "edfs.tsv", "--biomarkers", tmp_path / "bio.tsv", "--out", tmp_path / "i"])
    _one_line_error(r, "--edf", "edfs.tsv", "'edf_001'", "row 8", "P7", "'abc'")
    assert not (tmp_path / "i").exists()
    edf.loc[7, "edf_001"] = "0.1"
    edf.to_csv(tmp_path / "edfs.tsv", sep="\t", index=False)
    bio.loc[3, "hr"] = "fast"
    bio.to_csv(tmp_path / "bio.tsv", sep="\t", index=False)
    r = _run(["interpret", "--edf", tmp_path / "edfs.tsv", "--biomarkers", tmp_path / "bio.tsv",
              "--biomarker-columns", "hr", "--out", tmp_path / "i"])
    _one_line_error(r, "--biomarkers", "bio.tsv", "'hr'", "P3", "'fast'")
    bio.loc[3, "hr"] = "61.5"
    bio.to_csv(tmp_path / "bio.tsv", sep="\t", index=False)
    r = _run(["interpret", "--edf", tmp_path / "edfs.tsv", "--biomarkers", tmp_path / "bio.tsv",
              "--biomarker-columns", "hr", "--out", tmp_path / "i"])
    assert r.exit_code == 0, r.output[-3000:]


def test_select_phenotypes__plink_missing_code_minus_9_is_warned(caplog):
    """Was silent: -9 (PLINK's missing phenotype) was read as the number -9; then warned only when below every
    other value. Now read as missing in every column, as plink2 does (review s31a), with a warning per column
    (tests/test_gwas_tables.py has the covariates and ``--missing-code none``)."""
    from edfgen.commands.gwas_design import read_missing_code, select_phenotypes

    table = pd.DataFrame({"IID": ["a", "b", "c", "d"], "qt": [0.5, -9, 1.5, np.nan], "z": [-9, -12, 3, 4]})
    assert select_phenotypes(table, source="p.tsv") == ["qt", "z"]
    with caplog.at_level("WARNING"):
        read = read_missing_code(table, ["qt", "z"], -9.0, "p.tsv")
    assert read["qt"].isna().sum() == 2 and read["z"].tolist()[1:] == [-12, 3, 4] and np.isnan(read["z"][0])
    warned = [r.getMessage() for r in caplog.records if "-9" in r.getMessage()]
    assert len(warned) == 2 and "column 'qt': 1 value(s) -9 read as missing" in warned[0], warned


def test_segment_headers__record_line_cut_by_the_first_4_kb_read_whole(tmp_path: Path):
    """Discovery reads the first 4 kB of each header to spot multi-segment records: comments that push the record
    line across that boundary ('M' | 'S/3 ...') must not make it look single-segment (its segments would become
    participants; review of stop 23)."""
    from edfgen.formats.ecg.wfdb_header import segment_headers

    (tmp_path / "MS.hea").write_text("#" * 4094 + "\nMS/3 12 500 10000\nMS_layout 0\nMS_1 5000\nMS_2 5000\n")
    assert [p.name for p in segment_headers(tmp_path / "MS.hea")] == ["MS_layout.hea", "MS_1.hea", "MS_2.hea"]
    (tmp_path / "R.hea").write_text("#" * 4094 + "\nR 12 500 5000\n")
    assert segment_headers(tmp_path / "R.hea") == []


# --------------------------------------------------------------------------- the CLI matrix of stop 39
# (benchmarks/fuzz_cli_matrix.py: every command x path option x hostile variant; each test below is a cell of
# its table that was a defect)

@pytest.mark.parametrize("option", ["--pheno", "--keep", "--extract"])
def test_text_input__one_enormous_line_is_refused_before_it_is_split(cohort: Path, monkeypatch, option: str):
    """A file of one 50 MB line without a line end (a binary dump, a wrong file) as --pheno was split into 25
    million column names: 2.4 GB and 45 s before 'duplicate column name(s)'; as --keep/--remove it was a list of
    one id, used silently. A first line longer than any header (textio.MAX_FIRST_LINE, lowered here to 1 MiB so
    the test is fast) is now refused at once, naming the file."""
    from edfgen.formats import textio

    monkeypatch.setattr(textio, "MAX_FIRST_LINE", 1 << 20, raising=False)
    big = cohort / "big.tsv"
    big.write_bytes(b"A\t1\t" * (3 << 18))                  # 3 MiB, no line end
    args = _gwas(cohort) if option != "--pheno" else [a if a != cohort / "pheno.tsv" else big for a in _gwas(cohort)]
    r = _run([*args, option, big] if option != "--pheno" else args)
    _one_line_error(r, str(big), "first line is 3 MiB without a line end")
    assert not (cohort / "out").exists()


@pytest.mark.parametrize("table,value", [("edf", "inf"), ("bio", "-inf")])
def test_interpret__an_infinite_edf_or_biomarker_is_one_line(tmp_path: Path, table: str, value: str):
    """`interpret` with inf in an EDF or biomarker column left that participant out without a word ('7
    participants' instead of 8; stop 39 matrix, benchmarks/results/fuzz_cli_matrix.md): ±inf is no measurement,
    and gwas refuses it in --pheno the same way. Now the one-line error naming file, column, row and value."""
    ids = [f"R{i}" for i in range(8)]
    rng = np.random.default_rng(3)
    edf = pd.DataFrame({"IID": ids, "edf_001": rng.normal(size=8), "edf_002": rng.normal(size=8)})
    bio = pd.DataFrame({"IID": ids, "hr": np.linspace(55, 90, 8), "qt": np.linspace(380, 440, 8)})
    frame, column = (edf, "edf_001") if table == "edf" else (bio, "hr")
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    edf.to_csv(tmp_path / "edfs.tsv", sep="\t", index=False)
    bio.to_csv(tmp_path / "bio.tsv", sep="\t", index=False)
    r = _run(["interpret", "--edf", tmp_path / "edfs.tsv", "--biomarkers", tmp_path / "bio.tsv", "--clusters", 2,
              "--out", tmp_path / "i"])
    _one_line_error(r, f"column '{column}', row 2 (IID R1): value {value} is not finite")
    assert not (tmp_path / "i" / "associations.tsv").exists()


@pytest.mark.parametrize("option,content", [("--pheno", b""), ("--covar", b"\n\n")])
def test_read_table__an_empty_file_says_empty(cohort: Path, option: str, content: bytes):
    """An empty --pheno/--covar said "cannot be read as a tsv table (No columns to parse from file)", pandas'
    words (stop 39 matrix wording); now that the file is empty."""
    empty = cohort / "empty.tsv"
    empty.write_bytes(content)
    args = _gwas(cohort) if option == "--covar" else [empty if a == cohort / "pheno.tsv" else a for a in _gwas(cohort)]
    r = _run([*args, option, empty] if option == "--covar" else args)
    _one_line_error(r, f"{empty}: empty file ({'0 bytes' if not content else 'blank lines only'})")


@pytest.mark.parametrize("option", ["--exposure", "--outcome"])
def test_mr_sumstats__one_enormous_line_is_refused_before_pandas_splits_it(tmp_path: Path, monkeypatch, option: str):
    """`mr --exposure` of a 50 MB one-line file took over 30 s and 2.1 GB in the header read (pandas split it into
    25 million names; stop 39 matrix): now refused at once naming the file (MAX_FIRST_LINE lowered to 1 MiB)."""
    from edfgen.formats import textio
    from test_bad_input import _mr_pair

    monkeypatch.setattr(textio, "MAX_FIRST_LINE", 1 << 20, raising=False)
    exp, out = _mr_pair(np.random.default_rng(5))
    exp.to_csv(tmp_path / "exposure.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "outcome.tsv", sep="\t", index=False)
    big = tmp_path / "big.tsv"
    big.write_bytes(b"A\t1\t" * (3 << 18))
    files = {"--exposure": tmp_path / "exposure.tsv", "--outcome": tmp_path / "outcome.tsv", option: big}
    r = _run(["mr", "--no-clump", *sum(([k, v] for k, v in files.items()), []), "--no-plots", "--out", tmp_path / "o"])
    _one_line_error(r, "big.tsv", "first line is longer than 1 MiB")


def test_annotate__loci_with_a_header_only_warn(tmp_path: Path):
    """`annotate --loci` of a header-only file exited 0 with an empty table and only '0 loci' on stdout (stop 39
    matrix: a 'silent success'). An empty result stays right (clump may find no locus), and is now a warning."""
    from test_bad_input import CATALOG

    (tmp_path / "loci.tsv").write_text("variant_id\tchromosome\tbase_pair_location\tp_value\n")
    r = _run(["annotate", "--loci", tmp_path / "loci.tsv", "--catalog", CATALOG, "--any-trait",
              "--out", tmp_path / "a" / "annotated.tsv"])
    assert r.exit_code == 0, r.output
    assert "holds no locus (a header line only): the annotated table is empty" in r.output, r.output


@pytest.mark.parametrize("packed", [".zst", ".gz"])
def test_negative_position_hint__a_compressed_pvar_gets_a_plink2_command_that_runs(tmp_path, monkeypatch, packed):
    """A .pvar.zst / .pvar.gz with a negative position was told no command (second read s42); the command given
    is run through plink2 on a real fileset: it writes the fileset without the skipped variant."""
    import shlex
    import shutil
    import subprocess

    from edfgen.formats.genotypes.base import _negative_position_hint

    hint = _negative_position_hint(str(tmp_path / f"g.pvar{packed}"))
    assert "; plink2 " in hint and "--make-pgen --out ./g_kept writes the fileset" in hint
    if shutil.which("plink2") is None:
        pytest.skip("plink2 not installed")
    run = dict(cwd=tmp_path, check=True, capture_output=True)
    subprocess.run(["plink2", "--dummy", "6", "5", "--make-pgen", "--out", "g"], **run)
    rows = (tmp_path / "g.pvar").read_text().splitlines()
    rows[2] = "\t".join([rows[2].split("\t")[0], "-5", *rows[2].split("\t")[2:]])
    text = ("\n".join(rows) + "\n").encode()
    (tmp_path / "g.pvar").unlink()
    if packed == ".gz":
        (tmp_path / "g.pvar.gz").write_bytes(gzip.compress(text))
    else:
        import zstandard
        (tmp_path / "g.pvar.zst").write_bytes(zstandard.ZstdCompressor().compress(text))
    cmd = hint.split("; ", 1)[1].split(" writes the fileset")[0]
    subprocess.run(shlex.split(cmd), **run)
    kept = (tmp_path / "g_kept.pvar").read_text().splitlines()
    assert len(kept) == len(rows) - 1 and rows[2].split("\t")[2] not in {r.split("\t")[2] for r in kept}
