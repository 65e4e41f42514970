"""The phenotype and covariate tables of ``edfgen gwas`` (review s31a): a phenotype is never its own covariate,
PLINK's -9 is read as missing as plink2 reads it, huge values, many-level text covariates, blanks around ids and
CR-only files are refused or said, never silently fitted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.gwas_design import (covariate_columns, covariate_design, parse_missing_code, read_gwas_tables,
                                         read_missing_code, select_phenotypes)
from edfgen.exceptions import InputError
from edfgen.formats.tables import read_table
from edfgen.kernels.association import linear_association, prepare_phenotypes


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def _cohort(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"IID": [f"S{i}" for i in range(n)], "qt": rng.normal(400, 30, n).round(1),
                         "age": rng.integers(40, 70, n), "sex": rng.integers(0, 2, n),
                         "height": rng.normal(170, 9, n).round(1)})


def test_default_covariates_leave_out_the_phenotypes(tmp_path, caplog):
    """Was: one table given to --pheno and --covar made the phenotype its own covariate (p = 0 everywhere)."""
    t = _cohort()
    t.to_csv(tmp_path / "all.tsv", sep="\t", index=False)
    with caplog.at_level("WARNING"):
        tables = read_gwas_tables(tmp_path / "all.tsv", tmp_path / "all.tsv", pheno_cols=["qt"])
    assert tables.design.columns == ["intercept", "age", "sex", "height"]
    assert any("left out of the default covariates" in m and "qt" in m for m in _warnings(caplog))
    assert covariate_columns(t, None, ["qt", "height"], "all.tsv") == ["age", "sex"]
    # every column a phenotype (no --pheno-cols): no covariate, not all of them (each phenotype was adjusted for
    # itself: covariate_design read the empty list of covariate_columns as "all columns"; review s42geno)
    assert read_gwas_tables(tmp_path / "all.tsv", tmp_path / "all.tsv").design.columns == ["intercept"]


def test_id_alias_columns_beside_iid_are_no_default_phenotype_or_covariate(tmp_path, caplog):
    """Review s42geno: a table with IID and a biobank's id column (participant.eid, eid, f.eid, FINNGENID) ran the
    unused id column as a phenotype (numeric eids) and, as a covariate, refused FinnGen's text ids with the advice
    to give --categorical participant.eid. Those columns are left out of the defaults as FID is, in one log line."""
    t = _cohort(60)
    for alias, ids in [("participant.eid", 1000000 + np.arange(60)), ("eid", 1000000 + np.arange(60)),
                       ("f.eid", 1000000 + np.arange(60)), ("FINNGENID", [f"FG{i:08d}" for i in range(60)])]:
        caplog.clear()
        t.insert(1, alias, ids)
        t[["IID", alias, "qt"]].to_csv(tmp_path / "p.tsv", sep="\t", index=False)
        t.drop(columns="qt").to_csv(tmp_path / "c.tsv", sep="\t", index=False)
        with caplog.at_level("INFO", logger="edfgen"):
            tables = read_gwas_tables(tmp_path / "p.tsv", tmp_path / "c.tsv")
        assert tables.names == ["qt"] and tables.design.columns == ["intercept", "age", "sex", "height"], alias
        assert f"p.tsv: participant-id column(s) {alias} left out of the default phenotypes" in caplog.text
        assert f"c.tsv: participant-id column(s) {alias} left out of the default covariates" in caplog.text
        t = t.drop(columns=alias)
    t.insert(1, "FID", t["IID"])       # (FID silently, as before)
    t.to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    with caplog.at_level("INFO", logger="edfgen"):
        caplog.clear()
        assert read_gwas_tables(tmp_path / "p.tsv", None).names == ["qt", "age", "sex", "height"]
    assert "participant-id column" not in caplog.text


def test_column_lists_given_as_one_string_are_read_as_on_the_command_line(tmp_path):
    """Review s32c: run_gwas(pheno_cols="qt") looked for the columns q and t; a string is "a,b" as --pheno-cols."""
    _cohort().to_csv(tmp_path / "all.tsv", sep="\t", index=False)
    tables = read_gwas_tables(tmp_path / "all.tsv", tmp_path / "all.tsv", pheno_cols="qt,height", covar_cols="age,sex",
                              categorical="sex")
    assert tables.names == ["qt", "height"] and tables.design.columns == ["intercept", "age", "sex=1"]

def test_a_covariate_named_as_phenotype_is_refused(tmp_path):
    t = _cohort()
    t.to_csv(tmp_path / "all.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"covariate 'height' is also a phenotype") as err:
        read_gwas_tables(tmp_path / "all.tsv", tmp_path / "all.tsv", pheno_cols=["height"],
                         covar_cols=["age", "sex", "height"])
    assert "\n" not in str(err.value)


def test_a_named_covariate_is_left_out_of_the_default_phenotypes_with_a_warning(tmp_path, caplog):
    """Review s31h #3: a phenotype table carrying ``age`` (taken by the default "every numeric column" selection)
    with --covariates age,sex refused the whole GWAS, blaming the covariate file; the named covariate wins."""
    t = _cohort()
    t[["IID", "qt", "height", "age"]].to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    t[["IID", "age", "sex"]].to_csv(tmp_path / "cov.tsv", sep="\t", index=False)
    with caplog.at_level("WARNING"):
        tables = read_gwas_tables(tmp_path / "pheno.tsv", tmp_path / "cov.tsv", covar_cols=["age", "sex"])
    assert tables.names == ["qt", "height"] and tables.design.columns == ["intercept", "age", "sex"]
    assert "pheno.tsv: 1 column(s) named in --covariates left out of the phenotypes (all numeric columns): age" in \
        " ".join(_warnings(caplog))
    t[["IID", "age"]].to_csv(tmp_path / "only_age.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match=r"only_age.tsv: no phenotype column left: .*age.* named covariates"):
        read_gwas_tables(tmp_path / "only_age.tsv", tmp_path / "cov.tsv", covar_cols=["age", "sex"])


def test_a_phenotype_the_covariates_explain_completely_gets_na(caplog):
    """Was: the residual's rounding noise (1e-25) gave SE 0 and p 0 for every variant."""
    t = _cohort()
    rng = np.random.default_rng(1)
    C = np.column_stack([np.ones(len(t)), t["age"], t["height"]]).astype(float)
    Y = np.column_stack([t["height"], t["qt"]]).astype(float)   # the first phenotype is a covariate
    G = rng.binomial(2, 0.3, size=(len(t), 20)).astype(float)
    with caplog.at_level("WARNING"):
        prep = prepare_phenotypes(Y, C, names=["height", "qt"])
    assert any("'height'" in m and "explain them completely" in m for m in _warnings(caplog))
    for kw in ({}, {"missing_genotypes": "drop"}):
        G[3, 2] = np.nan if kw else G[3, 2]
        res = linear_association(G, prep, **kw)
        assert np.isnan(res.p_value[:, 0]).all() and np.isnan(res.beta[:, 0]).all()
        assert np.isnan(res.standard_error[:, 0]).all()
        assert np.isfinite(res.p_value[:, 1]).all() and (res.p_value[:, 1] > 0).all()


def test_minus_9_is_missing_in_phenotypes_covariates_and_categoricals(tmp_path, caplog):
    """Was: -9 was a number in covariates (age -9 years) and categoricals (a level '-9'), and in a phenotype
    unless it was the column's minimum (a signed trait): N differed from plink2's with no warning."""
    t = _cohort()
    t["axis"] = np.random.default_rng(2).normal(30, 40, len(t)).round(0) + 0.5   # signed: values below -9
    t.loc[:9, "axis"] = -9
    t.loc[10:14, "age"] = -9
    t["centre"] = np.where(np.arange(len(t)) % 2, "Leeds", "Bristol")
    t.loc[15:17, "centre"] = "-9"
    t.to_csv(tmp_path / "all.tsv", sep="\t", index=False)
    with caplog.at_level("WARNING"):
        tables = read_gwas_tables(tmp_path / "all.tsv", tmp_path / "all.tsv", pheno_cols=["axis"],
                                  covar_cols=["age", "sex", "centre"])
    assert tables.phenotypes["axis"].isna().sum() == 10
    complete = ~np.isnan(tables.design.matrix).any(axis=1)
    assert complete.sum() == len(t) - 5 - 3
    assert tables.design.columns == ["intercept", "age", "sex", "centre=Bristol"]
    said = _warnings(caplog)
    for column, count in (("axis", 10), ("age", 5), ("centre", 3)):
        assert any(f"column '{column}': {count} value(s) -9 read as missing" in m for m in said), said
    caplog.clear()
    with caplog.at_level("WARNING"):   # --missing-code none: -9 is a value (and the text '-9' a level)
        tables = read_gwas_tables(tmp_path / "all.tsv", tmp_path / "all.tsv", pheno_cols=["axis"],
                                  covar_cols=["age", "sex", "centre"], categorical=["centre"], missing_code=None)
    assert tables.phenotypes["axis"].isna().sum() == 0 and tables.design.categorical["centre"][0] == "-9"
    assert not any("-9" in m for m in _warnings(caplog))
    assert parse_missing_code("none") is None and parse_missing_code("-9") == -9.0
    with pytest.raises(InputError, match="--missing-code 'x'"):
        parse_missing_code("x")
    assert read_missing_code(t, ["qt"], -9.0, "t").equals(t)


def test_huge_values_are_refused_in_one_line(caplog):
    """Was: 1e200 in a phenotype gave NA for every variant and numpy overflow warnings; in a covariate, the
    wrong diagnosis 'a linear combination of nothing'."""
    t = _cohort(60)
    t.loc[5, "height"] = 1e300
    with pytest.raises(InputError, match=r"p.tsv: column 'height', row 6 \(IID S5\): value 1e\+300 is too large"):
        covariate_design(t, ["age", "height"], source="p.tsv")
    with pytest.raises(InputError, match=r"column 'height', row 6 \(IID S5\): value 1e\+300"):
        select_phenotypes(t, columns=["height"], source="p.tsv")
    t.loc[5, "height"] = 1e20                    # large but fine (plink2 agrees)
    assert covariate_design(t, ["age", "height"]).columns == ["intercept", "age", "height"]


def test_a_text_covariate_with_many_levels_is_refused():
    """Was: a date column taken by the default covariates became 346 indicators (217 s, lambda 1.42)."""
    t = _cohort(400)
    t["visit"] = [f"2010-01-{i % 60:02d}" for i in range(len(t))]
    with pytest.raises(InputError, match=r"covariate 'visit' is text with 60 distinct values \(over 20 for 400 "
                                         r"samples\).*--categorical visit"):
        covariate_design(t, source="c.tsv")
    design = covariate_design(t, categorical=["visit"])          # declared: taken as meant
    assert sum(c.startswith("visit=") for c in design.columns) == 59
    t["centre"] = [f"C{i % 12}" for i in range(len(t))]          # a dozen centres: fine
    assert sum(c.startswith("centre=") for c in covariate_design(t, ["centre"]).columns) == 11


def test_a_named_text_covariate_with_many_levels_is_taken_as_meant(tmp_path):
    """Review s31h #5: UK Biobank's 22 assessment centres named in --covariates were refused in a cohort of 300 (limit
    15); the level check is for covariates taken by default (a date or free-text column), not named ones."""
    t = _cohort(300)
    t["centre"] = [f"centre{i % 22}" for i in range(len(t))]
    t.to_csv(tmp_path / "cov.tsv", sep="\t", index=False)
    t[["IID", "qt"]].to_csv(tmp_path / "pheno.tsv", sep="\t", index=False)
    tables = read_gwas_tables(tmp_path / "pheno.tsv", tmp_path / "cov.tsv", covar_cols=["age", "sex", "centre"])
    assert sum(c.startswith("centre=") for c in tables.design.columns) == 21
    with pytest.raises(InputError, match=r"cov.tsv: covariate 'centre' is text with 22 distinct values \(over 15 for "
                                         r"300 samples\).*--covariates.*--categorical centre"):
        read_gwas_tables(tmp_path / "pheno.tsv", tmp_path / "cov.tsv")          # taken by default: checked


def test_plink2_missing_category_none_is_a_level_with_a_warning(caplog):
    """Was silent: plink2 reads NONE as a missing category, edfgen as a level (N 800 against 760)."""
    t = _cohort(100)
    t["centre"] = np.where(np.arange(100) % 2, "Leeds", "Bristol").astype(object)
    t.loc[:4, "centre"] = "NONE"
    with caplog.at_level("WARNING"):
        assert "NONE" in covariate_design(t, ["centre"], source="c.tsv").categorical["centre"]
    assert any("'centre': 5 value(s) NONE kept as a level" in m for m in _warnings(caplog))


def test_a_text_column_with_a_few_numbers_names_the_numbers():
    """Was: 'value Bristol is not a number (760 such values)': the 40 -9s were the odd ones."""
    t = _cohort(100)
    t["centre"] = np.where(np.arange(100) % 2, "Leeds", "Bristol").astype(object)
    t.loc[:3, "centre"] = "7"
    with pytest.raises(InputError, match=r"column 'centre' mixes text \(96 values, e.g. 'Bristol'\) and numbers "
                                         r"\(4: '7'\)"):
        covariate_design(t, ["centre"], source="c.tsv")
    t["age"] = t["age"].astype(object)
    t.loc[3, "age"] = "old"                                       # numbers with a stray word: as before
    with pytest.raises(InputError, match=r"column 'age', row 4 \(IID S3\): value 'old' is not a number"):
        covariate_design(t, ["age"], source="c.tsv")


def test_blanks_around_ids_are_removed_with_a_warning(tmp_path, caplog):
    """Was: 'S3 ' never matched the .fam's S3: those people were dropped without a word."""
    (tmp_path / "p.tsv").write_text("IID\tqt\nS1\t1\nS2 \t2\n S3\t3\n")
    with caplog.at_level("WARNING"):
        t = read_table(tmp_path / "p.tsv", id_column="IID")
    assert t["IID"].tolist() == ["S1", "S2", "S3"]
    assert any("2 IID value(s) with blanks around them" in m for m in _warnings(caplog))
    (tmp_path / "d.tsv").write_text("IID\tqt\nS1\t1\nS1 \t2\n")
    with pytest.raises(InputError, match="duplicated IID 'S1'"):
        read_table(tmp_path / "d.tsv", id_column="IID")


def test_cr_only_line_endings_are_one_short_error(tmp_path):
    """Was: the whole file was one header line: 'duplicate column name(s) ...' 13.7 kB long."""
    path = tmp_path / "mac.tsv"
    path.write_bytes(b"IID\tqt\r" + b"".join(b"S%d\t%d.5\r" % (i, i % 7) for i in range(300)))
    with pytest.raises(InputError) as err:
        read_table(path, id_column="IID")
    assert str(err.value).startswith(f"{path}: lines end in CR only") and len(str(err.value)) < 200
    path.write_bytes(b"IID\tqt\r\nS1\t1\r\n")                    # CRLF: read as before
    assert read_table(path, id_column="IID")["qt"].tolist() == [1]


def test_a_1_2_phenotype_without_binary_is_warned(tmp_path, caplog):
    t = _cohort()
    t["case"] = 1 + (np.arange(len(t)) % 3 == 0)
    t.to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    with caplog.at_level("WARNING"):
        read_gwas_tables(tmp_path / "p.tsv", None, pheno_cols=["case", "qt"])
    said = [m for m in _warnings(caplog) if "--binary" in m]
    assert len(said) == 1 and "phenotype(s) case hold only two values" in said[0]


def _small_run_inputs(d, n=60, k=60, seed=2):
    """PLINK genotypes of ``n`` samples x 20 variants, a phenotype and ``k`` random covariates."""
    from bed_reader import to_bed

    rng = np.random.default_rng(seed)
    iid = np.array([f"S{i}" for i in range(n)])
    to_bed(d / "g.bed", rng.binomial(2, 0.3, (n, 20)).astype(np.float32), count_A1=True, properties={
        "iid": iid, "fid": iid, "sid": [f"rs{i + 1}" for i in range(20)], "chromosome": ["1"] * 20,
        "bp_position": np.arange(1, 21) * 1000, "allele_1": ["A"] * 20, "allele_2": ["G"] * 20})
    pd.DataFrame({"IID": iid, "y": rng.normal(size=n)}).to_csv(d / "pheno.tsv", sep="\t", index=False)
    cv = pd.DataFrame(rng.normal(size=(n, k)), columns=[f"c{j}" for j in range(k)])
    cv.insert(0, "IID", iid)
    cv.to_csv(d / "covar.tsv", sep="\t", index=False)
    return d / "g", d / "pheno.tsv", d / "covar.tsv"


@pytest.mark.parametrize("k", [59, 60])
def test_more_covariates_than_samples_is_said_so_not_blamed_on_one_covariate(tmp_path, k):
    """Review s32a F5: 60 random covariates for 60 samples were refused as "covariate 'c59' is a linear combination
    of 'intercept', 'c0', ..." (none is redundant: there are more parameters than samples)."""
    from edfgen.commands.gwas import GwasSettings, run_gwas
    from edfgen.formats.genotypes.source import GenotypeSource

    g, pheno, covar = _small_run_inputs(tmp_path, k=k)
    with pytest.raises(InputError, match=rf"covar.tsv: 60 analysed samples for {k} covariates \+ the intercept "
                                         r"\(need more samples than covariates \+ 2\): use fewer covariates$"):
        run_gwas(GenotypeSource(bfile=str(g)), pheno, covar, tmp_path / "out", pheno_cols=["y"],
                 settings=GwasSettings(transform="none", plots=False, engine="fast"))


def test_too_few_samples_after_keep_names_the_keep_file(tmp_path):
    """Review s32a F6: a --keep of 30 people was refused with "are the IID columns the same ids?" (they were)."""
    from edfgen.commands.gwas import GwasSettings, run_gwas
    from edfgen.formats.genotypes.source import GenotypeSource

    g, pheno, covar = _small_run_inputs(tmp_path, k=2)
    keep = tmp_path / "keep.txt"
    keep.write_text("".join(f"S{i} S{i}\n" for i in range(30)))
    with pytest.raises(InputError, match=rf"only 30 samples .* \(need >= 50\); --keep {keep} leaves 30 genotyped "
                                         r"samples$"):
        run_gwas(GenotypeSource(bfile=str(g), keep=str(keep)), pheno, covar, tmp_path / "out", pheno_cols=["y"],
                 settings=GwasSettings(transform="none", plots=False, engine="fast"))


def test_decimal_commas_are_named_not_read_as_thousands_of_levels(tmp_path, caplog):
    """Was: a covariate written with decimal commas ('57,44', a European spreadsheet's export) named in --covariates
    became one indicator per value (a warning listing ~2,000 'age=57,44' names, then 'more covariates than
    samples'); taken by default it was blamed on its level count with advice to pass --categorical; a phenotype
    table of them was 'no numeric phenotype columns'."""
    t = _cohort(300)
    dec = t.assign(height=t["height"].map(lambda v: f"{v}".replace(".", ",")),
                   qt=t["qt"].map(lambda v: f"{v}".replace(".", ",")))
    for cols in (["age", "height"], None):
        with pytest.raises(InputError, match=r"c.tsv: covariate 'height' is read as text \(numbers written with a "
                                             r"comma, e.g. '\d+,\d': a decimal comma or a thousands separator; write "
                                             r"them with '.' as the decimal mark and no separators\)"):
            covariate_design(dec.drop(columns="qt"), cols, source="c.tsv")
    with pytest.raises(InputError, match=r"p.tsv: no numeric phenotype columns \(qt: numbers written with a comma"):
        select_phenotypes(dec[["IID", "qt"]], source="p.tsv")
    with pytest.raises(InputError, match=r"row 1 \(IID S0\): value '\d+,\d' is not a number \(300 such values\) "
                                         r"\(numbers written with a comma"):
        select_phenotypes(dec[["IID", "qt"]], columns=["qt"], source="p.tsv")
    # review rev36: an unselected text column of comma lists is skipped (warned), not an error; thousands
    # separators are named as such (advising '.' alone would read 85,085 as 85.085)
    lists = t[["IID", "qt"]].assign(codes=[f"{800 + i % 7},{600 + i % 5}" for i in range(len(t))])
    assert select_phenotypes(lists, source="p.tsv") == ["qt"]
    assert "skipped: codes (codes: numbers written with a comma, e.g. '800,600'" in _warnings(caplog)[-1]
    with pytest.raises(InputError, match=r"'weight' is read as text \(.*e.g. '85,085': a decimal comma or a "
                                         r"thousands separator"):
        covariate_design(t.assign(weight="85,085"), ["age", "weight"], source="c.tsv")
    words = t.assign(centre=[f"C{i % 5}" for i in range(len(t))])     # a true text covariate: no hint, as before
    assert sum(c.startswith("centre=") for c in covariate_design(words, ["centre"]).columns) == 4


def test_a_header_read_as_one_column_names_the_separator_it_holds(tmp_path):
    """Was: a ';'-separated .csv (decimal-comma locales) or a comma-separated .tsv said only '3 fields, the header
    has 1' or 'missing column IID (has: IID;qt)'."""
    semi = tmp_path / "p.csv"
    semi.write_text("IID;qt\nS1;1,5\nS2;2,5\n")
    with pytest.raises(InputError, match=r"p.csv:2: 2 fields, the header has 1 .*the header is one column holding "
                                         r"';': the fields look ';'-separated"):
        read_table(semi, id_column="IID")
    comma = tmp_path / "p.tsv"
    comma.write_text("IID,qt\nS1,1.5\nS2,2.5\n")
    with pytest.raises(InputError, match=r"missing column\(s\) IID .*\(has: IID,qt\) \(the header is one column "
                                         r"holding ','"):
        read_table(comma, id_column="IID")
    one = tmp_path / "keep.tsv"                                       # a real one-column table: no hint
    one.write_text("IID\nS1\n")
    assert read_table(one, id_column="IID")["IID"].tolist() == ["S1"]


def test_the_dropped_constant_covariates_warning_is_bounded(caplog):
    from edfgen.commands.gwas_levels import drop_constant_indicators
    C = np.column_stack([np.ones(10), np.ones((10, 40)), np.arange(10.0)])
    names = ["intercept", *[f"age={i}" for i in range(40)], "x"]
    kept, kept_names = drop_constant_indicators(C, names)
    assert kept_names == ["intercept", "x"]
    (msg,) = _warnings(caplog)
    assert msg.endswith("age=14, … and 25 more")


def test_trailing_delimiters_give_no_empty_phenotype(tmp_path):
    """Was: a tab at the end of every line (a spreadsheet's export) made a phenotype 'Unnamed: 2' that failed the
    run ('has no values in the analysed samples'); two trailing commas were 'duplicate column name(s) '''."""
    one = tmp_path / "p.tsv"
    one.write_text("IID\tqt\t\nS1\t1.5\t\nS2\t2.5\t\n")
    assert read_table(one, id_column="IID").columns.tolist() == ["IID", "qt"]
    assert select_phenotypes(read_table(one, id_column="IID"), source="p.tsv") == ["qt"]
    two = tmp_path / "p.csv"
    two.write_text("IID,qt,,\nS1,1.5,,\nS2,2.5,,\n")
    assert read_table(two, id_column="IID")["qt"].tolist() == [1.5, 2.5]
    held = tmp_path / "h.tsv"                                         # a nameless column with values: kept
    held.write_text("IID\t\tqt\nS1\t3\t1\n")
    assert read_table(held, id_column="IID").columns.tolist() == ["IID", "Unnamed: 1", "qt"]
    rows = tmp_path / "r.csv"                        # review rev36: row names (R's write.csv) left out, warned
    pd.DataFrame({"IID": ["S1", "S2"], "qt": [1.5, 2.5]}, index=[1, 2]).to_csv(rows)
    assert read_table(rows, id_column="IID").columns.tolist() == ["IID", "qt"]


def test_blanks_around_column_names_are_removed_and_latin1_is_read(tmp_path, caplog):
    """Was: a header ' qt ' (a spreadsheet's cell) made an output '_qt_.tsv.gz' and '--pheno-cols qt' not found;
    a Windows (Latin-1) export with 'é' in a name was 'cannot be read ('utf-8' codec can't decode ...)'."""
    spaced = tmp_path / "p.tsv"
    spaced.write_text("IID\t qt \tage\nS1\t1.5\t40\nS2\t2.5\t50\n")
    t = read_table(spaced, id_column="IID")
    assert t.columns.tolist() == ["IID", "qt", "age"] and select_phenotypes(t, columns=["qt"]) == ["qt"]
    assert "blanks around 1 column name(s) removed: ' qt '" in _warnings(caplog)[0]
    clash = tmp_path / "c.tsv"
    clash.write_text("IID\tqt\t qt\nS1\t1\t2\n")
    with pytest.raises(InputError, match=r"c.tsv: duplicate column name\(s\) 'qt'"):
        read_table(clash, id_column="IID")
    latin = tmp_path / "l.tsv"
    latin.write_bytes("IID\tqtç\nJosé\t1.5\nS2\t2.5\n".encode("latin-1"))
    t = read_table(latin, id_column="IID")
    assert t.columns.tolist() == ["IID", "qtç"] and t["IID"].tolist() == ["José", "S2"]
    assert "l.tsv: not UTF-8 text (byte 0xe7 at offset 6): bytes that are not UTF-8 read as Windows-1252" in \
        _warnings(caplog)[1]
    # review rev36: names differing in accented letters are two names; UTF-8 around a stray byte stays UTF-8;
    # Windows-1252's euro sign; a byte-order mark before a blank-padded name
    mixed = tmp_path / "m.tsv"
    mixed.write_bytes("IID\tGröße\tGrösse\nJosé\t1\t2\n".encode("utf-8") + "Renée\t3\t4\n€1\t5\t6\n".encode("cp1252"))
    t = read_table(mixed, id_column="IID")
    assert t.columns.tolist() == ["IID", "Größe", "Grösse"] and t["IID"].tolist() == ["José", "Renée", "€1"]
    bom = tmp_path / "b.csv"
    bom.write_bytes(b"\xef\xbb\xbfIID, qt\nS1,1.5\n")
    assert read_table(bom, id_column="IID").columns.tolist() == ["IID", "qt"]


def test_parquet_with_nullable_and_category_types_reads_as_its_text_table(tmp_path):
    """Was: a parquet table with pandas/R nullable types (``Int8``/``Float64`` holding NA, as R's arrow writes)
    crashed with 'TypeError: boolean value of NA is ambiguous' (a traceback); categories, booleans and dates
    are read as the same table written as text reads."""
    t = _cohort(300)
    t["qt"] = t["qt"].astype("Float64")
    t.loc[3, "qt"] = pd.NA
    t["sex"] = t["sex"].astype("Int8")
    t.loc[5, "sex"] = pd.NA
    t["centre"] = pd.Categorical([f"C{i % 4}" for i in range(len(t))])
    t["smoker"] = pd.array([i % 3 == 0 for i in range(len(t))], dtype="boolean")
    t.loc[7, "smoker"] = pd.NA
    t["height"] = t["height"].astype("float32")
    t.to_parquet(tmp_path / "t.parquet")
    text = t.assign(smoker=t["smoker"].astype("Float64"))
    text.to_csv(tmp_path / "t.tsv", sep="\t", index=False, na_rep="NA")
    kw = dict(pheno_cols=["qt"], covar_cols=["age", "sex", "centre", "smoker", "height"])
    a = read_gwas_tables(tmp_path / "t.parquet", tmp_path / "t.parquet", **kw)
    b = read_gwas_tables(tmp_path / "t.tsv", tmp_path / "t.tsv", **kw)
    assert a.design.columns == b.design.columns and "centre=C1" in a.design.columns
    np.testing.assert_allclose(a.design.matrix, b.design.matrix, rtol=1e-6)   # float32 height: 7 digits in text
    assert np.isnan(a.design.matrix[[5, 7]]).any(axis=1).all() and not np.isnan(a.design.matrix[0]).any()
    np.testing.assert_array_equal(a.phenotypes["qt"].to_numpy(), b.phenotypes["qt"].to_numpy())
    ids = pd.DataFrame({"IID": pd.array([1000001, 1000002, None], dtype="Int64"), "x": [1.0, 2.0, 3.0]})
    ids.to_parquet(tmp_path / "i.parquet")                # review rev36: a nullable integer id stays '1000001'
    assert read_table(tmp_path / "i.parquet", id_column="IID")["IID"].tolist()[:2] == ["1000001", "1000002"]


def test_headerless_plink_tables_are_read_as_plink2_reads_them(tmp_path, caplog):
    """Was: PLINK's headerless 'FID IID value' phenotype file was refused as "duplicate column name(s) 'S0' in the
    header"; plink2 reads it (and a headerless --covar) with columns PHENO1 ... / COV1 ..."""
    t = _cohort(50)
    t[["IID", "qt", "height"]].assign(FID=t["IID"])[["FID", "IID", "qt", "height"]].to_csv(
        tmp_path / "p.txt", sep=" ", index=False, header=False)
    t[["IID", "age", "sex"]].assign(FID=t["IID"])[["FID", "IID", "age", "sex"]].to_csv(
        tmp_path / "c.txt", sep="\t", index=False, header=False, na_rep="NA")
    t.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    a = read_gwas_tables(tmp_path / "p.txt", tmp_path / "c.txt")
    assert a.names == ["PHENO1", "PHENO2"] and a.covariate_columns == ["COVAR1", "COVAR2"]   # as plink2 names them
    b = read_gwas_tables(tmp_path / "t.tsv", tmp_path / "t.tsv", pheno_cols=["qt", "height"], covar_cols=["age", "sex"])
    np.testing.assert_array_equal(a.design.matrix, b.design.matrix)
    np.testing.assert_array_equal(a.phenotypes[["PHENO1", "PHENO2"]].to_numpy(),
                                  b.phenotypes[["qt", "height"]].to_numpy())
    assert "p.txt: no header line (the first line is data: S0, S0, " in _warnings(caplog)[0]
    named = tmp_path / "n.tsv"                                        # a header of names: read as before
    named.write_text("IID\tqt\tS0\nS0\t1.5\t2\nS1\t2.5\t3\n")
    assert read_table(named, id_column="IID", headerless="PHENO").columns.tolist() == ["IID", "qt", "S0"]


@pytest.mark.parametrize("first", ["f.eid 30000 30010", "ID 30000 30001", "FID IID 1 2", "IID 30000 30001"])
def test_headerless__a_header_of_numbered_phenotypes_is_a_header(tmp_path, first):
    """Was (known defect, s37): a header naming its phenotypes by number (UK Biobank field ids) above numeric ids,
    with an id column not named as plink2 names it (``f.eid`` from R, ``ID``), was taken for PLINK's headerless data
    line: the ids became FID and the first phenotype (30000's values) the participant ids, without an error. It is a
    header now, and the missing id column is said; named ids (``FID IID 1 2``, ``IID 30000 30001``) read as before,
    and ``f.eid`` too since stop 42 (an id alias: its column holds the ids)."""
    from edfgen.exceptions import InputError
    from edfgen.formats.tables import read_table

    rows = "\n".join(f"{1000001 + i} " + " ".join(f"{0.5 + i + k:.2f}" for k in range(len(first.split()) - 1))
                     for i in range(5))
    path = tmp_path / "p.txt"
    path.write_text(f"{first}\n{rows}\n")
    if first.split()[0] == "ID":
        with pytest.raises(InputError, match="missing column"):
            read_table(path, id_column="IID", headerless="PHENO")
    else:
        t = read_table(path, id_column="IID", headerless="PHENO")
        assert t.columns.tolist()[-2:] == first.split()[-2:] and len(t) == 5


@pytest.mark.parametrize("first, columns", [("ID 30000 30001", None), ("#FID IID 30000 30001", ["#FID", "IID", "30000", "30001"]),
                                           ("FID IID 1 2", ["FID", "IID", "1", "2"]),
                                           ("p000 p000 0.5 1.5", ["FID", "IID", "PHENO1", "PHENO2"]),
                                           ("1000 1000 0.5 1.5", ["FID", "IID", "PHENO1", "PHENO2"])])
def test_headerless__a_first_line_naming_an_id_column_above_word_ids_is_a_header(tmp_path, first, columns):
    """Was (known defect, s38): ``ID 30000 30001`` (an id column named ``ID``, phenotypes named by UK Biobank field
    id) above word ids (``p001 1.2 3.4``) was read as PLINK's headerless data: ``ID`` became a participant and
    30000 its id, silently. A first line with a participant-id column's name (``ID``, plink2's ``#FID IID``,
    ``FID IID``) is a header whatever the ids below it; a true headerless first line (word or numeric ids) is data."""
    from edfgen.exceptions import InputError
    from edfgen.formats.tables import read_table

    n_ids = 1 if first.startswith("ID ") else 2
    rows = "".join(f"p{i:03d} " * n_ids + " ".join(f"{i + k}.25" for k in range(len(first.split()) - n_ids)) + "\n"
                   for i in range(1, 6))
    path = tmp_path / "p.txt"
    path.write_text(f"{first}\n{rows}")
    if columns is None:
        with pytest.raises(InputError, match=r"missing column\(s\) IID"):
            read_table(path, id_column="IID", headerless="PHENO")
        return
    t = read_table(path, id_column="IID", headerless="PHENO")
    assert t.columns.tolist() == columns
    assert t["IID"].tolist()[-5:] == [f"p{i:03d}" for i in range(1, 6)]
    assert len(t) == (6 if columns[2] == "PHENO1" else 5)


@pytest.mark.parametrize("lines, fid, iid", [(["ID 1001 1.5 2", "ID 1002 1.1 3"], ["ID", "ID"], ["1001", "1002"]),
                                              (["fam1 id 1.5 2", "fam1 p2 1.1 3"], ["fam1", "fam1"], ["id", "p2"])])
def test_headerless__an_id_named_id_that_repeats_in_its_column_is_data(tmp_path, lines, fid, iid):
    """Was (review of s38): 'ID' counted as a header name always, so a headerless file whose FID or IID is
    literally ID/id was refused as "missing column(s) IID". A header word appears once: a first line one of whose
    ids repeats in its column below is data."""
    from edfgen.formats.tables import read_table

    path = tmp_path / "p.txt"
    path.write_text("\n".join(lines) + "\n")
    t = read_table(path, id_column="IID", headerless="PHENO")
    assert t.columns.tolist() == ["FID", "IID", "PHENO1", "PHENO2"]
    assert t["FID"].tolist() == fid and t["IID"].tolist() == iid and t["PHENO1"].tolist() == [1.5, 1.1]


def test_headerless__a_first_line_taken_as_a_header_for_its_id_name_says_so(tmp_path):
    """A first line that would be PLINK data but for the participant-id column it names (``ID 1001 1.5 2`` above
    other families) is a header; the missing-IID error says that is why and what to do (was: only "missing
    column(s) IID (has: ID, 1001, 1.5, 2)")."""
    from edfgen.exceptions import InputError
    from edfgen.formats.tables import read_table

    path = tmp_path / "p.txt"
    path.write_text("ID 1001 1.5 2\nfam2 1002 1.1 3\n")
    with pytest.raises(InputError, match=r"missing column\(s\) IID .*\(the first line was read as a header because "
                                         r"it names a participant-id column, 'ID'; .*give the file a header line"):
        read_table(path, id_column="IID", headerless="PHENO")


def test_headerless__a_first_line_of_word_ids_above_numeric_ids(tmp_path):
    """Was (review s37known F4): a headerless file whose first ids are a word and the next ones numbers was taken
    as a header and refused as "duplicate column name(s) 'NA12878'" or "missing column(s) IID", without saying why
    the first line was a header. FID = IID on it (``NA12878 NA12878``, which no header names) is data now; another
    word keeps the header reading (``f.eid 30000 30010`` looks the same) and the error says why."""
    from edfgen.exceptions import InputError
    from edfgen.formats.tables import read_table

    rows = "".join(f"{1002 + i} {1002 + i} {i}.5 {i}\n" for i in range(3))
    path = tmp_path / "p.txt"
    path.write_text("NA12878 NA12878 1.5 2\n" + rows)
    t = read_table(path, id_column="IID", headerless="PHENO")
    assert t.columns.tolist() == ["FID", "IID", "PHENO1", "PHENO2"] and t["IID"].tolist() == ["NA12878", "1002",
                                                                                               "1003", "1004"]
    why = "(first line taken as a header: the next lines' ids are numbers; "
    for first, error in (("famA 1001 1.5 2", "missing column(s) IID"), ("famA 1001 1.5 1.5", "duplicate column")):
        path.write_text(f"{first}\n{rows}")
        with pytest.raises(InputError) as err:
            read_table(path, id_column="IID", headerless="PHENO")
        assert error in str(err.value) and why in str(err.value)
    path.write_text("IID IID 1 2\n" + rows)                             # a real header's duplicate: no such words
    with pytest.raises(InputError, match="duplicate column") as err:
        read_table(path, id_column="IID", headerless="PHENO")
    assert why not in str(err.value)


def test_headerless__next_rows_copy_no_more_than_their_lines():
    """Was (review s37known F5): the look at a table's next lines split the whole file (``raw.split(b"\\n", n +
    1)``: the rest of it copied, +217 MB for a 217 MB table on every read)."""
    import tracemalloc

    from edfgen.formats.tables import _next_rows

    raw = b"a b 1 2\n" + b"1 1 0.5 1\n" * 2_000_000                   # 20 MB
    tracemalloc.start()
    try:
        rows = _next_rows(raw, None)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert rows == [["1", "1", "0.5", "1"]] * 100 and peak < 1_000_000


def test_headerless__numeric_ids_on_the_first_line_are_data(tmp_path):
    """The other direction: a headerless file whose lines all start with numeric ids (UK Biobank's) is data, its
    first line too; one whose first line's ids are words like the others' (``A1 A1``) also."""
    from edfgen.formats.tables import read_table

    for ids in (lambda i: f"{1000001 + i} {1000001 + i}", lambda i: f"A{i} A{i}"):
        path = tmp_path / "h.txt"
        path.write_text("".join(f"{ids(i)} {i}.5 NA\n" for i in range(4)))
        t = read_table(path, id_column="IID", headerless="PHENO")
        assert t.columns.tolist() == ["FID", "IID", "PHENO1", "PHENO2"] and len(t) == 4
        assert t["IID"].iloc[0] == ids(0).split()[1] and t["PHENO1"].tolist() == [0.5, 1.5, 2.5, 3.5]
