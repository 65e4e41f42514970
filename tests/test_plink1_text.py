"""PLINK 1 ``.fam``/``.bim`` text and ``.bed`` padding as plink2 reads them (review s30f).

Each test is one hostile fileset of the review: a ``.fam`` with a header line or 1-3 rows short (both had every
genotype on the wrong person or a sample dropped, without an error), ``.`` variant ids (kept as ``.``, unlike
the PGEN/VCF/BGEN readers), and extra or missing optional columns (read shifted, or refused).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.plink1 import BedReader, check_plink_fileset
from test_bad_input import _write_bfile


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


def _copy(src: Path, dst: Path, *, skip: str = "") -> None:
    for ext in ("bed", "bim", "fam"):
        if ext != skip:
            shutil.copy(src.with_suffix(f".{ext}"), dst.with_suffix(f".{ext}"))


@pytest.mark.parametrize("n", [39, 40])          # 40 rows fit a .bed of 39 samples (10 bytes per variant each)
@pytest.mark.parametrize("header", ["FID\tIID\tPAT\tMAT\tSEX\tPHENO", "fid iid father mother sex phenotype"])
def test_fam_header_line__refused_naming_the_line(tmp_path: Path, n: int, header: str):
    """Was: read as a sample, every genotype shifted to the next person (n % 4 != 0: no error at all)."""
    _write_bfile(tmp_path / "g", n=n)
    _write(tmp_path / "g.fam", [header] + _lines(tmp_path / "g.fam"))
    with pytest.raises(InputError, match=r"g\.fam: line 1 looks like a header .*a \.fam has no header line unless"):
        check_plink_fileset(tmp_path / "g")
    with pytest.raises(InputError, match="header"):
        BedReader(tmp_path / "g")


@pytest.mark.parametrize("n", [39, 40])
def test_fam_hash_header_lines__skipped_as_plink2_and_plink19_read_them(tmp_path: Path, n: int):
    """Was (stop 30): refused. plink2 and plink 1.9 read ``#FID IID PAT MAT SEX PHENO1`` at the top of a
    ``.fam`` as a header line, not a sample: the same samples and genotypes as the fileset without it, and the
    same allele frequencies from plink2 (the reference) when it is installed."""
    _write_bfile(tmp_path / "g", n=n, m=12)
    _copy(tmp_path / "g", tmp_path / "h", skip="fam")
    _write(tmp_path / "h.fam", ["## written by a pipeline", "#FID IID PAT MAT SEX PHENO1"]
           + _lines(tmp_path / "g.fam"))
    want, got = BedReader(tmp_path / "g"), BedReader(tmp_path / "h")
    assert got.samples.equals(want.samples)
    np.testing.assert_array_equal(got.read(None, np.arange(12)), want.read(None, np.arange(12)))
    assert check_plink_fileset(tmp_path / "h").equals(want.samples)
    if shutil.which("plink2"):
        for prefix in ("g", "h"):
            subprocess.run(["plink2", "--bfile", tmp_path / prefix, "--freq", "--out", tmp_path / prefix],
                           check=True, capture_output=True)
        assert (tmp_path / "h.afreq").read_text() == (tmp_path / "g.afreq").read_text()


@pytest.mark.parametrize("lines, match", [
    (lambda fam: ["#IID SEX"] + fam, r"h\.fam: line 1 is a header naming other columns"),
    (lambda fam: fam[:5] + ["#FID IID PAT MAT SEX PHENO"] + fam[5:], r"h\.fam: line 6 starts with '#' after"),
    (lambda fam: ["#FID IID PAT MAT SEX PHENO", "FID IID PAT MAT SEX PHENO"] + fam, r"h\.fam: line 2 looks like"),
])
def test_fam_other_hash_lines__refused_naming_the_line(tmp_path: Path, lines, match: str):
    """plink2 reads the columns a ``#IID``-style header names (a .psam's) and refuses ``#`` lines after the first
    sample: edfgen refuses both rather than read them as a .fam."""
    _write_bfile(tmp_path / "g", n=20, m=4)
    _copy(tmp_path / "g", tmp_path / "h", skip="fam")
    _write(tmp_path / "h.fam", lines(_lines(tmp_path / "g.fam")))
    with pytest.raises(InputError, match=match):
        BedReader(tmp_path / "h")


@pytest.mark.parametrize("short", [1, 3])
def test_fam_short_of_rows__non_zero_padding_bits_refused_naming_fam_and_bed(tmp_path: Path, short: int):
    """Was: 40 samples in the .bed, 37-39 rows in the .fam: the size check passes and the last samples are
    dropped silently (plink2 reads the padding slots otherwise). A .bed written for n samples pads with zeros."""
    _write_bfile(tmp_path / "g", n=40, m=30)
    _write(tmp_path / "g.fam", _lines(tmp_path / "g.fam")[:40 - short])
    with pytest.raises(InputError, match=r"g\.fam: \d+ samples, but .*g\.bed holds genotypes of more"):
        BedReader(tmp_path / "g")


def test_fam_right_length__zero_padding_of_plink2_and_bed_reader_accepted(tmp_path: Path):
    """Filesets of 37-39 samples written by bed-reader and by plink2 --make-bed (zero padding) are read."""
    for n in (37, 38, 39):
        _write_bfile(tmp_path / f"g{n}", n=n, m=30)
        assert BedReader(tmp_path / f"g{n}").n_samples == n
    if shutil.which("plink2"):
        subprocess.run(["plink2", "--bfile", tmp_path / "g37", "--make-bed", "--out", tmp_path / "p37"],
                       check=True, capture_output=True)
        assert BedReader(tmp_path / "p37").n_samples == 37


@pytest.mark.skipif(shutil.which("plink2") is None, reason="plink2 not installed")
def test_bim_dot_ids__read_as_chr_pos_a2_a1_the_ids_of_the_same_data_as_pgen(tmp_path: Path):
    """Was: a ``.`` id stayed ``.`` (duplicated, so clump refused the GWAS output), while the PGEN reader gives
    the same variant ``chr:pos:REF:ALT``. Reference: plink2 --make-pgen of the same fileset."""
    _write_bfile(tmp_path / "g", n=20, m=12)
    rows = [r.split("\t") for r in _lines(tmp_path / "g.bim")]
    for r in rows[::3]:
        r[1] = "."
    rows[3][0] = "chr1"
    _write(tmp_path / "g.bim", ["\t".join(r) for r in rows])
    subprocess.run(["plink2", "--bfile", tmp_path / "g", "--make-pgen", "--out", tmp_path / "p"], check=True,
                   capture_output=True)
    from edfgen.formats.genotypes.pgen import PgenReader

    bed, pgen = BedReader(tmp_path / "g").variants, PgenReader(tmp_path / "p").variants
    assert bed["variant_id"].tolist() == pgen["variant_id"].tolist()
    assert bed["variant_id"].iloc[0] == "1:1000:G:A" and bed["variant_id"].iloc[3] == "1:4000:G:A"
    assert bed["variant_id"].iloc[1] == "rs2"


def test_fam_and_bim_extra_columns_ignored_and_bim_without_cm_read_as_plink2(tmp_path: Path):
    """Was: a 7-column .fam read IID from PAT ('duplicated IID'), a 7-column .bim its position from A1, and a
    5-column .bim (no cM) was refused; plink2 reads all three with the 6-column fileset's results. A .fam
    phenotype ``NA`` is text, not a missing column."""
    _write_bfile(tmp_path / "g", n=21, m=15)
    want = BedReader(tmp_path / "g")
    fam, bim = _lines(tmp_path / "g.fam"), _lines(tmp_path / "g.bim")
    _copy(tmp_path / "g", tmp_path / "x")
    _write(tmp_path / "x.fam", [ln + "\textra\tcols" for ln in fam[:-1]] + [fam[-1].rsplit(maxsplit=1)[0] + "\tNA"])
    _write(tmp_path / "x.bim", [ln + " extra" for ln in bim])
    _copy(tmp_path / "g", tmp_path / "c", skip="bim")
    _write(tmp_path / "c.bim", ["\t".join(ln.split("\t")[:2] + ln.split("\t")[3:]) for ln in bim])
    for prefix in ("x", "c"):
        got = BedReader(tmp_path / prefix)
        assert got.samples["IID"].tolist() == want.samples["IID"].tolist()
        assert got.variants.equals(want.variants)
        np.testing.assert_array_equal(got.read(None, np.arange(15)), want.read(None, np.arange(15)))
    assert BedReader(tmp_path / "x").samples["PHENO"].iloc[-1] == "NA"


def test_fam_too_few_columns__names_the_count(tmp_path: Path):
    _write_bfile(tmp_path / "g", n=8, m=4)
    _write(tmp_path / "g.fam", [" ".join(ln.split()[:2]) for ln in _lines(tmp_path / "g.fam")])
    with pytest.raises(InputError, match=r"g\.fam: line 1 has 2 columns; a PLINK \.fam has 6"):
        BedReader(tmp_path / "g")
