"""Reading summary statistics, review s28c: plink2 ``--glm log10`` / ``cols=`` without REF / R's ``X.CHROM``, a
raw tool output beside its GWAS-SSF conversion, a clashing lookup table in a folder, TEST columns that are data,
``--columns`` entries naming nothing, z-only input by ``--columns z=``, ``--sample-size`` names and fractional N,
odds ratios that are not positive, and LDSC/fastGWA file names. Each file is written from the truth table of
``test_sumstats_formats`` and must read back as it (compared by variant id)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.sumstats_options import parse_case_counts, parse_sample_sizes
from edfgen.exceptions import InputError
from edfgen.formats.sumstats import parse_column_option, read_header, read_sumstats, read_sumstats_columns
from edfgen.formats.sumstats.discovery import (CLUMP_REQUIRED, MR_REQUIRED, expand_sumstats, group_by_phenotype,
                                               phenotype_name, read_phenotype_sumstats)
from edfgen.formats.sumstats.zscores import read_zstats
from tests.test_sumstats_formats import N_VAR, _check, _write, make_truth
from tests.test_sumstats_tools import _glm, _same


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return make_truth()


def _ssf(truth) -> pd.DataFrame:
    return truth[["chromosome", "base_pair_location", "effect_allele", "other_allele", "beta", "standard_error",
                  "effect_allele_frequency", "p_value", "variant_id"]]


# --- 1: plink2 --glm log10, cols= without REF, R's X.CHROM --------------------------------------------------------

def test_plink2_log10_and_x_chrom__read_as_plink2_with_a1_the_effect(truth, tmp_path):
    """plink2's ``log10`` modifier writes LOG10_P instead of P: the layout was not found and ALT/A1 clashed (clump
    refused a file it read before); R's check.names writes #CHROM as X.CHROM. Both read as plink2, A1 the effect
    allele, the other allele the one of REF/ALT that is not A1 (wrong on every A1 = REF row if ALT were read)."""
    glm = _glm(truth, "#CHROM")
    log10 = glm.drop(columns="P").assign(LOG10_P=-np.log10(glm["P"]))
    for name, df in (("l10.glm.linear", log10), ("r.glm.linear", glm.rename(columns={"#CHROM": "X.CHROM"}))):
        got, m = read_sumstats(_write(tmp_path / name, df), required=MR_REQUIRED)
        assert m.layout == "plink2 --glm" and len(got) == N_VAR, name
        _check(got, truth)
    # clump (id and p) reads the log10 file too
    fast = read_sumstats_columns(tmp_path / "l10.glm.linear", required=CLUMP_REQUIRED)
    np.testing.assert_allclose(fast.set_index("variant_id").loc[truth["variant_id"], "p_value"], truth["p_value"],
                               rtol=1e-6)


def test_plink2_without_ref__a1_is_the_effect_and_no_other_allele_is_invented(truth, tmp_path):
    """``cols=`` without REF (``#CHROM POS ID ALT A1 ...``): plink2, A1 the effect allele; its other allele is unknown
    where A1 = ALT, so MR refuses it in one line naming REF, and clump reads it."""
    f = _write(tmp_path / "noref.glm.linear", _glm(truth, "#CHROM").drop(columns="REF"))
    df, m = read_sumstats(f, required=CLUMP_REQUIRED)
    assert m.layout == "plink2 --glm" and (df.set_index("variant_id").loc[truth["variant_id"], "effect_allele"]
                                           == truth["effect_allele"].to_numpy()).all()
    with pytest.raises(InputError, match=r"noref\.glm\.linear: no column for other_allele .*no REF column") as e:
        read_sumstats(f, required=MR_REQUIRED)
    assert len(str(e.value).splitlines()) == 1


def test_alias_clash__never_suggests_alt_and_a_field_not_needed_does_not_refuse(truth, tmp_path):
    """A header with A1 and ALT (not a plink2 layout): the fix suggested is A1 (the tested allele), never ALT; a
    command that needs no alleles (clump) reads the file."""
    df = _ssf(truth).rename(columns={"effect_allele": "A1", "variant_id": "SNP"}).assign(ALT=truth["other_allele"])
    df = df[["ALT", *[c for c in df.columns if c != "ALT"]]]
    f = _write(tmp_path / "alt_first.tsv", df.drop(columns=["chromosome", "base_pair_location"]))
    with pytest.raises(InputError, match=r"--columns ea=A1$"):
        read_sumstats(f, required=MR_REQUIRED)
    got, _ = read_sumstats(f, required=CLUMP_REQUIRED)
    assert "effect_allele" not in got.columns and len(got) == N_VAR


# --- 2, 3: discovery -------------------------------------------------------------------------------------------

def test_raw_output_beside_its_gwas_ssf_conversion__the_conversion_is_read(truth, tmp_path, caplog):
    """height.regenie and height.tsv in one folder were one phenotype and refused as overlapping per-chromosome
    files; the GWAS-SSF file is kept, the raw output named in a warning."""
    d = tmp_path / "both"
    d.mkdir()
    reg = pd.DataFrame({"CHROM": truth["chromosome"], "GENPOS": truth["base_pair_location"], "ID": truth["variant_id"],
                        "ALLELE0": truth["other_allele"], "ALLELE1": truth["effect_allele"], "N": 5000, "TEST": "ADD",
                        "BETA": truth["beta"], "SE": truth["standard_error"], "LOG10P": -np.log10(truth["p_value"])})
    _write(d / "height.regenie", reg, sep=" ")
    _write(d / "height.tsv", _ssf(truth))
    files = expand_sumstats([d], "--outcome", required=MR_REQUIRED)
    with caplog.at_level(logging.WARNING):
        groups = group_by_phenotype(files)
    assert groups == {"height": [d / "height.tsv"]}
    assert "height.regenie" in caplog.text
    _same(read_phenotype_sumstats(groups["height"], required=MR_REQUIRED), truth)
    # per-chromosome raw outputs of one phenotype stay one group
    assert len(group_by_phenotype([d / "h_chr1.regenie", d / "h_chr2.regenie"])["h"]) == 2


def test_overlap_error_names_the_option_given(truth, tmp_path):
    """The per-chromosome overlap error said --sumstats whatever the option was."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _write(tmp_path / "a" / "x.tsv", _ssf(truth)), _write(tmp_path / "b" / "x.tsv", _ssf(truth))
    with pytest.raises(InputError, match=r"^--outcome: variant .* appears twice"):
        read_phenotype_sumstats([a, b], required=MR_REQUIRED, option="--outcome")


def test_same_named_files_of_two_studies_collide_in_one_line_saying_how_to_rename(truth, tmp_path, caplog):
    """review s33c F5: a REGENIE file and a GWAS-SSF file of one name from different folders: the REGENIE one was
    left out as the 'raw output beside its conversion' (it was not beside it); two GWAS-SSF files of one name said
    only that per-chromosome files must not overlap."""
    (tmp_path / "ukb").mkdir()
    (tmp_path / "finngen").mkdir()
    reg = pd.DataFrame({"CHROM": truth["chromosome"], "GENPOS": truth["base_pair_location"], "ID": truth["variant_id"],
                        "ALLELE0": truth["other_allele"], "ALLELE1": truth["effect_allele"], "N": 5000, "TEST": "ADD",
                        "BETA": truth["beta"], "SE": truth["standard_error"], "LOG10P": -np.log10(truth["p_value"])})
    a = _write(tmp_path / "ukb" / "af.tsv", _ssf(truth))
    raw = _write(tmp_path / "finngen" / "af.regenie", reg, sep=" ")
    with caplog.at_level(logging.WARNING):
        groups = group_by_phenotype([a, raw])
    assert groups == {"af": [a, raw]} and "left out" not in caplog.text
    b = _write(tmp_path / "finngen" / "af.tsv", _ssf(truth))
    with pytest.raises(InputError, match=r"appears twice .*different studies, rename one \(e\.g\. af\.tsv to "
                                         r"finngen_af\.tsv\)$"):
        read_phenotype_sumstats(group_by_phenotype([a, b])["af"], required=MR_REQUIRED, option="--outcome")


def test_a_variant_repeated_inside_one_of_a_phenotypes_per_chromosome_files_is_refused(truth, tmp_path):
    """review rev35b #1: keying only the chromosomes found in two files (for speed at 10^7 rows) let a repeat inside
    one per-chromosome file through (chr2 only in f1, one row written twice), though a repeat on a chromosome shared
    by two files was refused; rows sharing chromosome and position with another row are keyed instead."""
    ssf = _ssf(truth).sort_values(["chromosome", "base_pair_location"])
    first = ssf["chromosome"].astype(str) == str(ssf["chromosome"].iloc[0])
    (tmp_path / "f0").mkdir()
    (tmp_path / "f1").mkdir()
    rest = ssf[~first]
    a = _write(tmp_path / "f0" / "ph.tsv", ssf[first])
    b = _write(tmp_path / "f1" / "ph.tsv", pd.concat([rest, rest.iloc[[3]]]))
    with pytest.raises(InputError, match=rf"variant '{rest['variant_id'].iloc[3]} .*' of phenotype 'ph' appears "
                                         rf"twice \({b}\)"):
        read_phenotype_sumstats([a, b], required=MR_REQUIRED)
    # a multi-allelic site (same position, other alleles) is no repeat
    other = rest.iloc[[3]].assign(other_allele="ACGT", variant_id="multi")
    b = _write(tmp_path / "f1" / "ph.tsv", pd.concat([rest, other]))
    assert len(read_phenotype_sumstats([a, b], required=MR_REQUIRED)) == len(ssf) + 1


def test_same_named_files_of_two_studies_sharing_no_variant_are_refused_when_they_interleave(truth, tmp_path):
    """s34d finding 4: /a/x.tsv and /b/x.tsv of two studies on the same chromosomes, with no variant in common, were
    concatenated into one phenotype. A first rule (no chromosome in two files) refused chromosome X's and XY's
    files of UK Biobank's layout (XY is coded 23 as X) and region chunks of one chromosome (review rev34 #1): two
    studies' variants alternate along a chromosome, one phenotype's files hold stretches of it."""
    ssf = _ssf(truth).sort_values(["chromosome", "base_pair_location"])
    assert ssf["chromosome"].nunique() > 1
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = _write(tmp_path / "a" / "x.tsv", ssf.iloc[::2]), _write(tmp_path / "b" / "x.tsv", ssf.iloc[1::2])
    with pytest.raises(InputError, match=rf"^--outcome: {a} and {b} both hold variants all along chromosome \w+ of "
                                         r"phenotype 'x' \(interleaved, \d+ stretches\): .*"
                                         r"different studies, rename one \(e\.g\. x\.tsv to b_x\.tsv\)$"):
        read_phenotype_sumstats([a, b], required=MR_REQUIRED, option="--outcome")
    # chr-prefixed labels and leading zeros name the same chromosome
    first = ssf["chromosome"].astype(str) == str(ssf["chromosome"].iloc[0])
    odd = ssf.iloc[1::2][first.iloc[1::2].to_numpy()]
    _write(tmp_path / "b" / "x.tsv", odd.assign(chromosome="chr0" + str(ssf["chromosome"].iloc[0])))
    with pytest.raises(InputError, match="interleaved"):
        read_phenotype_sumstats([a, b], required=MR_REQUIRED)
    # files of different chromosomes, and region chunks of one chromosome, combine
    one, other = _write(tmp_path / "a" / "x.tsv", ssf[first]), _write(tmp_path / "b" / "x.tsv", ssf[~first])
    assert len(read_phenotype_sumstats([one, other], required=MR_REQUIRED)) == len(ssf)
    c1 = ssf[first]
    cut = c1["base_pair_location"].iloc[len(c1) // 2]
    lo = _write(tmp_path / "a" / "x.tsv", c1[c1["base_pair_location"] < cut])
    hi = _write(tmp_path / "b" / "x.tsv", c1[c1["base_pair_location"] >= cut])
    assert len(read_phenotype_sumstats([lo, hi], required=MR_REQUIRED)) == len(c1)
    # chromosome X's file (non-PAR) beside XY's (PAR1 before it, PAR2 after it: both coded 23 in GWAS-SSF)
    x = c1.assign(chromosome="X")
    pos = x["base_pair_location"]
    par = (pos < pos.quantile(0.2)) | (pos > pos.quantile(0.8))
    xf = _write(tmp_path / "a" / "x.tsv", x[~par])
    xy = _write(tmp_path / "b" / "x.tsv", x[par].assign(chromosome="XY"))
    assert len(read_phenotype_sumstats([xf, xy], required=MR_REQUIRED)) == len(x)


def test_a_lookup_table_with_a_clashing_header_is_skipped_not_refusing_the_folder(truth, tmp_path):
    """lookup.tsv (SNP ID CHR CHROM) beside good.tsv refused the whole folder; it has no p or effect, so it is no
    summary statistics under any reading and is skipped. A file that is sumstats under one reading still raises."""
    _write(tmp_path / "good.tsv", _ssf(truth))
    _write(tmp_path / "lookup.tsv", pd.DataFrame({"SNP": ["rs1"], "ID": ["x"], "CHR": [1], "CHROM": ["chr1"]}))
    assert expand_sumstats([tmp_path]) == [tmp_path / "good.tsv"]
    assert expand_sumstats([tmp_path], required=MR_REQUIRED) == [tmp_path / "good.tsv"]
    both = _ssf(truth).rename(columns={"variant_id": "SNP"}).assign(ID=truth["variant_id"])
    _write(tmp_path / "ambiguous.tsv", both)
    with pytest.raises(InputError, match=r"ambiguous\.tsv: columns 'SNP' and 'ID' both read as variant_id"):
        expand_sumstats([tmp_path])


# --- 5, 7: the shared options --------------------------------------------------------------------------------

def test_columns_naming_no_column_and_sample_size_naming_no_file_are_refused_before_reading(truth, tmp_path):
    """A typo in --columns left the file's own column read; a --sample-size naming a glob or another path got a
    'no sample size column' error after reading. Both are one-line refusals from the files found, before reading."""
    from edfgen.commands.sumstats_options import check_sumstats_options

    f = _write(tmp_path / "t.tsv", _ssf(truth))
    with pytest.raises(InputError, match=r"^--columns names 'PX', in no header of the --sumstats files") as e:
        check_sumstats_options([f], "--sumstats", columns=parse_column_option("p=PX"))
    assert len(str(e.value).splitlines()) == 1
    check_sumstats_options([f], "--sumstats", columns=parse_column_option("p=p_value"))
    with pytest.raises(InputError, match=r"--sample-size .*\*\.tsv: not one of the summary-statistics files read"):
        check_sumstats_options([f], "--sumstats", sample_sizes=parse_sample_sizes([f"{tmp_path}/*.tsv=5000"]))
    with pytest.raises(InputError, match=r"--case-counts .*typo\.tsv: not one of"):
        check_sumstats_options([f], "--exposure/--outcome", case_counts=parse_case_counts([f"{tmp_path}/typo.tsv=1,2"]))


def test_every_command_refuses_a_columns_entry_in_no_header(truth, tmp_path):
    """clump, ldsc, finemap, coloc, annotate and mr: '--columns p=PX' used to be ignored in all but mr (the file's
    own P read instead) -- each now refuses it before any other input is needed."""
    from edfgen.commands.annotate import run_annotate
    from edfgen.commands.clump import run_clump
    from edfgen.commands.coloc import run_coloc
    from edfgen.commands.finemap import run_finemap
    from edfgen.commands.ldsc import run_ldsc
    from edfgen.commands.mr import run_mr
    from edfgen.commands.mr_multivariable import run_mvmr

    f = _write(tmp_path / "t.tsv", _ssf(truth))
    cols = parse_column_option("p=PX")
    calls = {
        "clump": lambda: run_clump([f], out_dir=tmp_path / "c", columns=cols),
        "ldsc": lambda: run_ldsc([f], out_dir=tmp_path / "l", ref_ld_chr=str(tmp_path / "none/"), columns=cols),
        "finemap": lambda: run_finemap([f], loci=tmp_path / "none.tsv", out_dir=tmp_path / "f", genotypes=object(),
                                       columns=cols),
        "coloc": lambda: run_coloc([f], [f], loci=tmp_path / "none.tsv", out_dir=tmp_path / "o", genotypes=object(),
                                   columns=cols),
        "annotate": lambda: run_annotate(tmp_path / "none.tsv", tmp_path / "none2.tsv", tmp_path / "a.tsv",
                                         sumstats=[f], columns=cols),
        "mr": lambda: run_mr([f], [f], tmp_path / "m", columns=cols),
        "mr --multivariable": lambda: run_mvmr([f], [f], tmp_path / "v", p_threshold=5e-8, columns=cols),
    }
    for name, call in calls.items():
        with pytest.raises(InputError, match=r"--columns names 'PX', in no header"):
            call()
    # mr's --case-counts names a file read, as ldsc/coloc/finemap's (a typo was ignored in silence)
    with pytest.raises(InputError, match=r"--case-counts .*typo\.tsv: not one of the summary-statistics files read"):
        run_mr([f], [f], tmp_path / "m2", case_counts=parse_case_counts([f"{tmp_path}/typo.tsv=100,200"]))


def test_sample_size_may_be_fractional_case_counts_whole(tmp_path):
    assert list(parse_sample_sizes([f"{tmp_path}/a.tsv=4873.5"]).values()) == [4873.5]
    for bad in ("a.tsv=0", "a.tsv=-3", "a.tsv=nan", "a.tsv=inf", "a.tsv=x"):
        with pytest.raises(InputError, match="expected FILE=N"):
            parse_sample_sizes([bad])
    with pytest.raises(InputError, match="positive whole numbers"):
        parse_case_counts(["a.tsv=10.5,20"])


def test_ldsc_zscores__a_z_column_named_by_columns(truth, tmp_path):
    """MTAG's mtag_z, Z_EUR: '--columns z=COL' was an unknown key; now the z column is read where z-only input is
    allowed (z equal to beta/se of the truth)."""
    z = pd.DataFrame({"SNP": truth["variant_id"], "A1": truth["effect_allele"], "A2": truth["other_allele"],
                      "Z_EUR": truth["beta"] / truth["standard_error"], "N": 5000})
    f = _write(tmp_path / "mtag.tsv.gz", z)
    with pytest.raises(InputError, match=r"nor a z-score column .*--columns z=Z_COL"):
        read_zstats([f], need_n=True, allow_z=True)
    zs = read_zstats([f], need_n=True, allow_z=True, columns=parse_column_option("z=Z_EUR"))
    t = zs["mtag"].table.set_index("variant_id").loc[truth["variant_id"]]
    np.testing.assert_allclose(t["z"], truth["beta"] / truth["standard_error"], rtol=1e-9)
    # a folder of such files is found with the same option
    zs = read_zstats([tmp_path], need_n=True, allow_z=True, columns=parse_column_option("z=Z_EUR"))
    assert list(zs) == ["mtag"]


# --- 8: odds ratios -------------------------------------------------------------------------------------------

def test_odds_ratio_not_positive_is_refused_naming_the_column_and_row(truth, tmp_path):
    base = _ssf(truth).assign(beta=np.nan, standard_error=np.nan, OR=np.exp(truth["beta"]))
    for v in (0.0, -1.2, np.inf):
        f = _write(tmp_path / "or.tsv", base.assign(OR=np.where(np.arange(N_VAR) == 2, v, base["OR"])))
        with pytest.raises(InputError, match=rf"or\.tsv: column 'OR', row 3 \(variant {truth['variant_id'][2]}\): "
                                             r"odds ratio .* is not a positive finite number") as e:
            read_sumstats(f, required=MR_REQUIRED[:3] + ("beta",))
        assert len(str(e.value).splitlines()) == 1


def test_beta_and_odds_ratio_both__beta_kept_disagreement_warned(truth, tmp_path, caplog):
    agree = _ssf(truth).assign(odds_ratio=np.round(np.exp(truth["beta"]), 3))   # rounded to 3 decimals: agrees
    with caplog.at_level(logging.WARNING):
        df, _ = read_sumstats(_write(tmp_path / "agree.tsv", agree))
    _same(df, truth)
    assert "disagree" not in caplog.text
    off = agree.assign(odds_ratio=np.exp(-truth["beta"]) + 0.1)       # another allele's OR: every row disagrees
    with caplog.at_level(logging.WARNING):
        df, _ = read_sumstats(_write(tmp_path / "off.tsv", off))
    _same(df, truth)                                                   # beta kept
    assert f"beta and ln(odds_ratio) disagree on {N_VAR} of {N_VAR} rows" in caplog.text


# --- 9, 10 ------------------------------------------------------------------------------------------------------

def test_z_warning_mentions_another_test(truth, tmp_path, caplog):
    f = _write(tmp_path / "t.tsv", _ssf(truth).assign(p_value=np.minimum(1, truth["p_value"] * 40)))
    with caplog.at_level(logging.WARNING):
        read_sumstats(f)
    assert "p from another test (t with few df, SPA, LMM)" in caplog.text


def test_ldsc_munged_and_fastgwa_names(truth, tmp_path):
    assert phenotype_name("d/height.sumstats.gz") == "height"
    assert phenotype_name("d/height.fastGWA") == "height"
    fast = pd.DataFrame({"CHR": truth["chromosome"], "SNP": truth["variant_id"], "POS": truth["base_pair_location"],
                         "A1": truth["effect_allele"], "A2": truth["other_allele"], "N": 5000, "AF1":
                         truth["effect_allele_frequency"], "BETA": truth["beta"], "SE": truth["standard_error"],
                         "P": truth["p_value"]})
    _write(tmp_path / "height.fastGWA", fast)
    files = expand_sumstats([tmp_path], required=MR_REQUIRED)
    assert files == [tmp_path / "height.fastGWA"] and list(group_by_phenotype(files)) == ["height"]


def test_case_counts_for_a_file_with_its_own_counts_is_warned(tmp_path, caplog):
    """Final review s28d F3: the file's own n_cases/n_controls (or n) now win over --case-counts/--sample-size in
    every command, mr included (before, mr's option won): a user correcting a file's counts is told, not ignored
    in silence."""
    import logging

    from edfgen.commands.sumstats_options import check_sumstats_options

    f = tmp_path / "o.tsv"
    f.write_text("variant_id\tp_value\tn\tn_cases\tn_controls\nrs1\t0.1\t100\t40\t60\n")
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        check_sumstats_options([f], "--outcome", case_counts={str(f.resolve()): (10, 20)},
                               sample_sizes={str(f.resolve()): 30})
    assert "--case-counts" in caplog.text and "its own n_cases/n_controls, which win" in caplog.text
    assert "--sample-size" in caplog.text and "its own n, which win" in caplog.text


# --- review s30a: missing variant ids, an rsID at two positions --------------------------------------------------

def test_missing_variant_ids_are_named_by_position_or_left_out(truth, tmp_path, caplog):
    """plink2 writes ID '.' for an unnamed variant; '.', empty and NA ids were read as the literal ids '.' and
    'nan', so two unnamed rows with one allele pair were 'one variant repeated' and mr refused the whole file
    (review s30a finding 2). They are named chrom:pos:other:effect; without positions they are left out, warned."""
    from edfgen.formats.sumstats import load_sumstats

    ssf = _ssf(truth).copy()
    ssf["effect_allele"], ssf["other_allele"] = "G", "A"
    ssf["variant_id"] = ssf["variant_id"].astype(object)
    ssf.loc[[3, 4], "variant_id"] = "."
    ssf.loc[[5], "variant_id"] = np.nan
    df = load_sumstats(_write(tmp_path / "dots.tsv", ssf))
    row = truth.iloc[3]
    assert f"{row['chromosome']}:{row['base_pair_location']}:A:G" in set(df["variant_id"])
    assert not df["variant_id"].isin([".", "nan"]).any() and len(df) == N_VAR
    # the fast column reader (clump, ldsc) names them the same way (review s30i: it kept '.', so clump lost a lead)
    from edfgen.formats.sumstats.read import read_sumstats_columns

    fast = read_sumstats_columns(tmp_path / "dots.tsv", required=("variant_id", "p_value"), arrow_strings=True)
    assert fast["variant_id"].astype(str).tolist() == df["variant_id"].tolist()
    bare = ssf.drop(columns=["chromosome", "base_pair_location"])
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        df = load_sumstats(_write(tmp_path / "bare.tsv", bare))
    assert len(df) == N_VAR - 3 and "bare.tsv: 3 row(s) without a variant id" in caplog.text
    # rows without an id whose position is missing too (GWAS Catalog harmonised rows it could not harmonise): left
    # out and warned, without an INFO line saying "0 row(s) ... named chromosome:position" first (s35d)
    unplaced = ssf.astype({"base_pair_location": object})
    unplaced.loc[[3, 4, 5], "base_pair_location"] = np.nan
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="edfgen"):
        df = load_sumstats(_write(tmp_path / "unplaced.tsv", unplaced))
    assert len(df) == N_VAR - 3 and "unplaced.tsv: 3 row(s) without a variant id" in caplog.text
    assert "0 row(s)" not in caplog.text, caplog.text
    ssf.loc[[3, 4], "base_pair_location"] = 10                     # the same place twice: a real repeat, kept
    caplog.clear()                                                 # (left out only where it is an instrument)
    with caplog.at_level(logging.INFO, logger="edfgen"):
        df = load_sumstats(_write(tmp_path / "dots2.tsv", ssf))
    assert (df["variant_id"] == "1:10:A:G").sum() == 2
    assert "dots2.tsv: 1 variant(s) on several rows with the same alleles and different values (e.g. '1:10:A:G' " \
           "on rows 4, 5)" in caplog.text


def test_an_rsid_at_two_positions_is_refused_only_as_an_instrument(truth, tmp_path, caplog):
    """One rsID that dbSNP places twice refused the whole file, instrument or not (review s30a finding 2); as an
    instrument it stopped the run, now it is left out with a warning (which row is meant? neither is picked)."""
    from edfgen.commands.mr_instruments import select_instruments
    from edfgen.formats.sumstats import load_sumstats

    ssf = _ssf(truth).copy()
    ssf.loc[7, ["variant_id", "effect_allele", "other_allele"]] = ["rs1003", *ssf.loc[3, ["effect_allele", "other_allele"]]]
    ssf.loc[7, "chromosome"] = "5"
    df = load_sumstats(_write(tmp_path / "twice.tsv", ssf))
    assert (df["variant_id"] == "rs1003").sum() == 2
    assert len(select_instruments(df[df["variant_id"] != "rs1003"], "y", p_threshold=1.0, instruments=None,
                                  source="twice.tsv")) == N_VAR - 2
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        sel = select_instruments(df, "y", p_threshold=1.0, instruments=None, source="twice.tsv")
    assert len(sel) == N_VAR - 2 and "rs1003" not in set(sel["variant_id"])
    assert "twice.tsv: 1 instrument(s) of y on several rows with the same alleles and different values or positions " \
           "(e.g. 'rs1003' on 2 rows): left out" in caplog.text


def test_a_folder_of_per_chromosome_folders_is_searched_one_level_down(truth, tmp_path):
    """Review s33d nit, s34d finding 3: `--outcome DIR` holding `chr1/AF.tsv.gz`, `chr2/AF.tsv.gz` (per-chromosome
    gwas runs) said 'no columns for variant_id ...', then that the folders are not searched: a folder without
    summary statistics of its own is searched one level down; with nothing readable there, one line names it."""
    for c in ("chr1", "chr2"):
        (tmp_path / "out" / c).mkdir(parents=True)
        (tmp_path / "out" / c / "AF.tsv.gz").write_bytes(b"")
    with pytest.raises(InputError, match=r"^--outcome .*out: directory and its sub-folders \(chr1, chr2\) hold "
                                         r"no summary-statistics files \(no columns for variant_id"):
        expand_sumstats([tmp_path / "out"], "--outcome", required=MR_REQUIRED)
    (tmp_path / "out" / "chr1" / "notes.pdf").write_bytes(b"%PDF")
    (tmp_path / "out" / "chr1" / "AF.tsv.gz").unlink()
    (tmp_path / "out" / "chr2" / "AF.tsv.gz").unlink()
    with pytest.raises(InputError, match=r"^--outcome .*out: no file in it or its sub-folders \(chr1, chr2\) is named "
                                         r"like summary statistics \(skipped by name: chr1/notes.pdf;"):
        expand_sumstats([tmp_path / "out"], "--outcome", required=MR_REQUIRED)
    ssf = _ssf(truth)
    for c in ("chr1", "chr2"):
        _write(tmp_path / "out" / c / "AF.tsv.gz", ssf)
    found = expand_sumstats([tmp_path / "out"], "--outcome", required=MR_REQUIRED)
    assert found == [tmp_path / "out" / "chr1" / "AF.tsv.gz", tmp_path / "out" / "chr2" / "AF.tsv.gz"]
    _write(tmp_path / "out" / "AF.tsv.gz", ssf)    # a folder with summary statistics of its own: those alone
    assert expand_sumstats([tmp_path / "out"], "--outcome", required=MR_REQUIRED) == [tmp_path / "out" / "AF.tsv.gz"]


def test_a_folder_searched_one_level_down_reads_each_header_once(truth, tmp_path, monkeypatch):
    """s35b: discovery read the headers of a folder's own files twice when it went on to its sub-folders."""
    from edfgen.formats.sumstats import discovery

    (tmp_path / "out" / "chr1").mkdir(parents=True)
    (tmp_path / "out" / "gwas_summary.tsv").write_text("phenotype\tn_hits\nAF\t3\n")
    _write(tmp_path / "out" / "chr1" / "AF.tsv.gz", _ssf(truth))
    read: list = []
    monkeypatch.setattr(discovery, "read_header", lambda path: read.append(path) or read_header(path))
    assert expand_sumstats([tmp_path / "out"], "--outcome", required=MR_REQUIRED) == [tmp_path / "out" / "chr1" /
                                                                                      "AF.tsv.gz"]
    assert sorted(read) == [tmp_path / "out" / "chr1" / "AF.tsv.gz", tmp_path / "out" / "gwas_summary.tsv"]


def test_a_folder_with_files_of_its_own_says_which_sub_folders_it_leaves_unread(truth, tmp_path, caplog):
    """Review rev35 finding 5: since s35b, ``ldsc`` on a folder with a z-only file of its own (``zz.tsv``) no longer
    reads its sub-folders (``chr1/qt.tsv``), with no log line. Now an INFO line names the sub-folders left out; a
    sub-folder without files named like summary statistics (``logs``) is not named."""
    from edfgen.formats.sumstats.zscores import zstats_files

    (tmp_path / "F" / "logs").mkdir(parents=True)
    (tmp_path / "F" / "logs" / "run.log").write_text("x\n")
    ssf = _ssf(truth)
    pd.DataFrame({"SNP": ssf["variant_id"], "A1": ssf["effect_allele"], "A2": ssf["other_allele"],
                  "Z": ssf["beta"] / ssf["standard_error"], "N": 1000}).to_csv(tmp_path / "F" / "zz.tsv", sep="\t",
                                                                               index=False)
    with caplog.at_level(logging.INFO, logger="edfgen"):
        assert zstats_files([tmp_path / "F"], allow_z=True) == [tmp_path / "F" / "zz.tsv"]
    assert "sub-folders" not in caplog.text
    (tmp_path / "F" / "chr1").mkdir()
    _write(tmp_path / "F" / "chr1" / "qt.tsv", ssf)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="edfgen"):
        assert zstats_files([tmp_path / "F"], allow_z=True) == [tmp_path / "F" / "zz.tsv"]
    assert "F: read its own 1 file(s), not its sub-folders (chr1), whose files named like summary" in caplog.text


# --- review of s40: a .pq sumstats file; the header check reads the first line only ------------------------------

def test_read_sumstats__a_pq_file_is_parquet(truth, tmp_path):
    """A sumstats file named .pq (read_table's other parquet name) was refused as 'NUL bytes ... UTF-16' since the
    CR-only line-end check read every file but '.parquet' as text (review of s40); its header was never read."""
    path = tmp_path / "height.pq"
    _ssf(truth).to_parquet(path, index=False)
    assert read_header(path) == list(_ssf(truth).columns)
    df, _ = read_sumstats(path)
    _check(df, truth)


def test_sumstats_discovery__a_pq_file_is_found_and_named_like_a_parquet_one(truth, tmp_path):
    """A folder's `height.pq` was not found as summary statistics and a `.pq` given by name kept the suffix in its
    phenotype name (`height.pq`), so clump's `phenotype` column did not match mr's exposure (s40 lead)."""
    from edfgen.formats.sumstats.discovery import phenotype_name, sumstats_in_directory

    _ssf(truth).to_parquet(tmp_path / "height.pq", index=False)
    assert phenotype_name(tmp_path / "height.pq") == phenotype_name(tmp_path / "height.parquet") == "height"
    assert [p.name for p in sumstats_in_directory(tmp_path, "--sumstats")] == ["height.pq"]


@pytest.mark.parametrize("gz", [False, True])
def test_read_header__reads_the_first_line_only(truth, tmp_path, monkeypatch, gz):
    """The first-line check read (and gunzipped) up to 16 MiB of every file whose header was read: a 26 MiB .tsv.gz
    header took 185 ms instead of 9 ms, some 45 s more over a folder of 256 phenotypes (review of s40). It reads to
    the first line end: the bytes it is handed are counted."""
    import gzip
    import io

    import edfgen.formats.sumstats.read as read_mod

    path = tmp_path / ("big.tsv.gz" if gz else "big.tsv")
    rng = np.random.default_rng(1)
    rows = _ssf(truth).sample(40_000, replace=True, random_state=1).assign(beta=lambda d: rng.normal(size=len(d)))
    data = rows.to_csv(sep="\t", index=False).encode()       # ~3 MB (~1.3 MB gzipped: no repeats) after the header
    path.write_bytes(gzip.compress(data, compresslevel=1) if gz else data)
    handed = []

    class Counted(io.BufferedReader):
        def read(self, size=-1):
            handed.append(len(out := super().read(size)))
            return out

        def readline(self, size=-1):
            handed.append(len(out := super().readline(size)))
            return out

    def counted_open(p, mode="rb", *a, **k):
        return gzip.GzipFile(fileobj=Counted(io.FileIO(p))) if gz else Counted(io.FileIO(p))

    monkeypatch.setattr(gzip, "open", counted_open) if gz else monkeypatch.setattr(read_mod, "open", counted_open,
                                                                                   raising=False)
    assert read_header(path) == list(_ssf(truth).columns)
    assert 0 < sum(handed) < 200_000, sum(handed)


def test_mr_rows__multi_allelic_ids_are_counted_once_whatever_else_repeats(caplog):
    """Review s42sumfix finding 6: the multi-allelic count was (ids on several rows) - (repeated allele pairs), so
    an id both multi-allelic and repeated within one pair (rs1: A/G, A/T, A/T that differ) was not counted, and an
    id repeated in two pairs took one off another id's count. Now: the ids with several allele pairs."""
    from edfgen.formats.sumstats.twosamplemr import mr_rows

    df = pd.DataFrame({"variant_id": ["rs1", "rs1", "rs1", "rs2", "rs2", "rs3", "rs3", "rs4"],
                       "effect_allele": ["A", "A", "A", "C", "C", "G", "G", "A"],
                       "other_allele": ["G", "T", "T", "T", "T", "A", "C", "G"],
                       "beta": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], "standard_error": 0.1, "p_value": 0.5})
    with caplog.at_level(logging.INFO, logger="edfgen"):
        out = mr_rows(df, "m.tsv")
    assert len(out) == len(df)
    assert "m.tsv: 2 variant id(s) on several rows with different alleles" in caplog.text, caplog.text   # rs1, rs3
    assert "m.tsv: 2 variant(s) on several rows with the same alleles and different values" in caplog.text  # rs1, rs2


def test_expand_sumstats__a_zstd_file_cut_inside_its_first_block_is_named_not_dropped(tmp_path):
    """A .zst cut inside its first block decompresses to nothing: its header read found no line, so a folder
    {a.tsv, b.tsv.zst} silently became [a.tsv] and the file given directly was called "empty (no header line)"
    (second read s42); it is named as truncated, as a cut .gz is."""
    import zstandard

    (tmp_path / "a.tsv").write_text("variant_id\tp_value\nrs1\t0.1\n")
    whole = zstandard.ZstdCompressor().compress(b"variant_id\tp_value\nrs1\t0.1\n" * 50)
    (tmp_path / "b.tsv.zst").write_bytes(whole[:12])
    with pytest.raises(InputError, match=r"b\.tsv\.zst.*truncated zstd"):
        expand_sumstats([tmp_path])
    with pytest.raises(InputError, match=r"b\.tsv\.zst.*truncated zstd"):
        read_header(tmp_path / "b.tsv.zst")
