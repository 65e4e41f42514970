"""Lower-case chromosome labels (``chrx``, ``y``, ``mt``, ``chrmt``, ``xy``) read as X, Y, MT and XY by every reader
(s36c): summary statistics kept them lower case, so an exposure's ``chrx`` row never met an outcome's or an LD
panel's ``X`` by chromosome:position:alleles (``edfgen mr`` found no instrument, ``edfgen clump`` rejected the X, Y
and MT leads as "not in LD panel"), and the Hail engine refused a ``.bim`` with ``chrx`` (not a GRCh38 contig)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen.cli import cli
from tests.test_sex_chromosomes import _sexed_cohort

#: the cohort's PLINK codes -> the lower-case labels a file may write instead
LOWER = {"23": "chrx", "24": "chry", "26": "mt", "25": "xy"}


def _relabel_bim(src: Path, dst: Path, labels: dict, missing_id_row: int | None = None) -> None:
    """``src``'s fileset copied to ``dst`` with its chromosome codes replaced by ``labels`` (and the variant id of
    ``missing_id_row`` set to '.', named chromosome:position:alleles by the reader)."""
    for ext in ("bed", "fam"):
        (dst.parent / f"{dst.name}.{ext}").write_bytes((src.parent / f"{src.name}.{ext}").read_bytes())
    bim = pd.read_csv(f"{src}.bim", sep="\t", header=None, dtype=str)
    bim[0] = bim[0].replace(labels)
    if missing_id_row is not None:
        bim.loc[missing_id_row, 1] = "."
    bim.to_csv(f"{dst}.bim", sep="\t", header=False, index=False)


def _gwas(d: Path, bfile: Path, out: Path, engine: str = "fast") -> pd.DataFrame:
    r = CliRunner().invoke(cli, ["gwas", "--bfile", str(bfile), "--pheno", str(d / "pheno.tsv"), "--covar",
                                 str(d / "covar.tsv"), "--covariates", "age", "--engine", engine, "--no-plots",
                                 "--out", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return pd.read_csv(out / "y.tsv.gz", sep="\t", dtype={"chromosome": str})


def test_chromosome_names__lower_case_x_y_mt_read_upper_case_in_genotypes_and_sumstats():
    from edfgen.formats.chromosomes import plain_chromosome_names
    from edfgen.formats.sumstats.layout import chromosome_labels

    names = ["chrx", "x", "chrX", "Y", "chry", "mt", "chrmt", "chrm", "xy", "Xy", "par1", "0x", "1", "chrUn_gl1"]
    assert plain_chromosome_names(names).tolist() == ["X", "X", "X", "Y", "Y", "MT", "MT", "M", "XY", "XY", "PAR1",
                                                      "X", "1", "Un_gl1"]
    assert chromosome_labels(pd.Series(names)).tolist() == ["X", "X", "X", "Y", "Y", "MT", "MT", "MT", "X", "X", "X",
                                                            "X", "1", "Un_gl1"]


@pytest.mark.parametrize("genome", ["GRCh37", "GRCh38"])
def test_contig_recoding__hail_takes_any_case_and_prefix(genome):
    from edfgen.engines.hail_import import _contig_recoding

    rec = _contig_recoding(genome)
    x, mt, one = ("X", "MT", "1") if genome == "GRCh37" else ("chrX", "chrM", "chr1")
    assert {rec.get(k, k) for k in ("chrx", "x", "X", "23", "xy", "par2", "0X")} == {x}
    assert {rec.get(k, k) for k in ("mt", "chrmt", "chrM", "M", "26", "0m")} == {mt}
    assert {rec.get(k, k) for k in ("1", "chr1", "CHR1", "01", "chr01")} == {one}


@pytest.mark.parametrize("engine", ["fast", "hail"])
def test_gwas__bim_with_lower_case_chrx_chry_mt_xy_as_plink_codes(tmp_path, request, engine):
    """The same calls labelled 23/24/26/25 and chrx/chry/mt/xy give the same GWAS-SSF rows (X, Y and MT tested
    as such: haploid males, Y on males), a '.' id named X:... as with X; the Hail engine refused chrx."""
    if engine == "hail":
        request.getfixturevalue("hail_context")
    d = _sexed_cohort(tmp_path)
    x_row = 9            # a non-PAR X variant (tests.test_sex_chromosomes.KINDS)
    _relabel_bim(d / "g", d / "upper", {"23": "X", "24": "Y", "26": "MT", "25": "XY"}, missing_id_row=x_row)
    _relabel_bim(d / "g", d / "lower", LOWER, missing_id_row=x_row)
    ref = _gwas(d, d / "upper", tmp_path / "upper")
    got = _gwas(d, d / "lower", tmp_path / f"lower_{engine}", engine)
    assert "X:3010000:G:A" in set(got["variant_id"])
    assert set(got["chromosome"]) == {"1", "23", "24", "25"}
    pd.testing.assert_frame_equal(got.set_index("variant_id").loc[ref["variant_id"]],
                                  ref.set_index("variant_id"), check_exact=False, rtol=1e-6)


def _sumstats(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The cohort's GWAS written twice: X, Y and MT as ``chrx``/``chry``/``mt`` with variant ids no genotype file
    has (found by chromosome:position:alleles only), and as ``X``/``Y``/``MT`` with the file's ids."""
    d = _sexed_cohort(tmp_path)
    t = _gwas(d, d / "g", tmp_path / "gwas")
    up = t.assign(chromosome=t["chromosome"].replace({"23": "X", "24": "Y", "25": "MT"}))
    low = t.assign(chromosome=t["chromosome"].replace({"23": "chrx", "24": "chry", "25": "mt"}),
                   variant_id="other_" + t["variant_id"])
    up.to_csv(tmp_path / "up.tsv", sep="\t", index=False)
    low.to_csv(tmp_path / "low.tsv", sep="\t", index=False)
    return d, tmp_path / "up.tsv", tmp_path / "low.tsv"


def test_clump__sumstats_chrx_leads_matched_to_the_panel_by_position(tmp_path):
    d, _, low = _sumstats(tmp_path)
    r = CliRunner().invoke(cli, ["clump", "--sumstats", str(low), "--bfile", str(d / "g"), "--p1", "1e-3",
                                 "--out", str(tmp_path / "c")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    clumps = pd.read_csv(tmp_path / "c" / "clumps.tsv", sep="\t", dtype={"chromosome": str})
    assert set(clumps["chromosome"]) >= {"X", "Y"}
    assert pd.read_csv(tmp_path / "c" / "rejects.tsv", sep="\t").empty


def test_mr__chrx_exposure_meets_x_outcome_by_position(tmp_path):
    _, up, low = _sumstats(tmp_path)
    r = CliRunner().invoke(cli, ["mr", "--exposure", str(low), "--outcome", str(up), "--p-threshold", "1e-3",
                                 "--no-clump", "--out", str(tmp_path / "m")], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    h = pd.read_csv(tmp_path / "m" / "harmonised.tsv", sep="\t")
    assert len(h) >= 3 and set(h["matched_by"]) == {"position"}
    np.testing.assert_allclose(h["beta.exposure"], h["beta.outcome"])
