"""One-line errors that tell the user what to type: ``--bfile x.bed`` suggests ``--bfile x``; missing PC
covariates point to the pca stage; mr's messages name files, not Python reprs."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.exceptions import InputError


def test_bfile_with_extension_suggests_the_prefix(tmp_path):
    for ext in ("bed", "bim", "fam"):
        (tmp_path / f"x.{ext}").write_text("")
    pd.DataFrame({"IID": ["a"], "y": [1.0]}).to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    r = CliRunner().invoke(cli, ["gwas", "--bfile", str(tmp_path / "x.bed"), "--pheno", str(tmp_path / "p.tsv"),
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 2
    line = r.output.strip().splitlines()[-1]
    assert line == (f"edfgen gwas: error: --bfile {tmp_path}/x.bed: give the fileset prefix without the "
                    f"extension: --bfile {tmp_path}/x")
    from edfgen.formats.genotypes.source import GenotypeSource

    with pytest.raises(InputError, match=r"--bfile .*/nothere.bed.bed: file not found"):
        GenotypeSource(bfile=str(tmp_path / "nothere.bed"))       # no x.bed beside: the plain message


def test_missing_pc_covariates_point_to_the_pca_stage(tmp_path):
    from edfgen.commands.gwas_design import covariate_design

    cov = pd.DataFrame({"IID": ["a", "b", "c"], "age": [40, 50, 60]})
    with pytest.raises(InputError, match=r"PC1, PC2 not found .*edfgen pca.*pca stage of `edfgen run`"):
        covariate_design(cov, ["age", "PC1", "PC2"], source="cov.tsv")
    with pytest.raises(InputError) as e:
        covariate_design(cov, ["height"], source="cov.tsv")
    assert "pca" not in str(e.value)


def test_mr_no_instruments_names_files_not_reprs(tmp_path):
    from edfgen.commands.mr import parse_case_counts

    ssf = pd.DataFrame({"variant_id": ["rs1", "rs2"], "chromosome": ["1", "1"], "base_pair_location": [1, 2],
                        "effect_allele": ["A", "C"], "other_allele": ["G", "T"], "beta": [0.1, 0.2],
                        "standard_error": [0.05, 0.05], "p_value": [0.5, 0.4], "effect_allele_frequency": [0.3, 0.4]})
    ssf.to_csv(tmp_path / "exp.tsv", sep="\t", index=False)
    ssf.to_csv(tmp_path / "out.tsv", sep="\t", index=False)
    r = CliRunner().invoke(cli, ["mr", "--exposure", str(tmp_path / "exp.tsv"), "--outcome", str(tmp_path / "out.tsv"),
                                 "--p-threshold", "1e-8", "--no-clump", "--out", str(tmp_path / "mr")])
    assert r.exit_code == 2, r.output
    line = r.output.strip().splitlines()[-1]
    assert f"--exposure {tmp_path}/exp.tsv: no instruments selected in any file (--p-threshold/--clump-p1 1e-08)" in line
    assert "(" + "'" not in line and "None" not in line and "PosixPath" not in line
    assert parse_case_counts([f"{tmp_path}/out.tsv=10,20"]) == {str(tmp_path / "out.tsv"): (10.0, 20.0)}
    with pytest.raises(InputError, match="FILE=CASES,CONTROLS"):
        parse_case_counts(["out.tsv=10"])
