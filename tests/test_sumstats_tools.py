"""Summary statistics from other tools, as users hand them over (review of stop 28): headers that lost plink2's
``#``, two columns meaning one thing, ``MAF``, plink 1.9's ``--linear``/``--logistic`` files with covariate rows,
odds ratios on some rows only, each tool's frequency column, Excel's BOM, ``.`` and ``;``, directories of tool
outputs, Neale lab UK Biobank files, and beta/se that disagree with p. Each file is written here from the truth
table of ``test_sumstats_formats`` and must read back as it (compared by variant id)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError
from edfgen.formats.sumstats import Z95, parse_column_option, read_sumstats, read_sumstats_columns
from edfgen.formats.sumstats.discovery import CLUMP_REQUIRED, MR_REQUIRED, expand_sumstats, phenotype_name
from tests.test_sumstats_formats import N_VAR, _check, _write, make_truth


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return make_truth()


def _same(df, truth, cols=("beta", "standard_error", "p_value"), rtol=1e-6):
    """Alleles and ``cols`` of ``df`` equal the truth's, by variant id (files without positions)."""
    got = df.set_index("variant_id").loc[truth["variant_id"]]
    t = truth.set_index("variant_id")
    assert (got["effect_allele"] == t["effect_allele"]).all() and (got["other_allele"] == t["other_allele"]).all()
    for c in cols:
        np.testing.assert_allclose(got[c].astype(float), t[c], rtol=rtol, err_msg=c)


FAST = {"required": ("variant_id", "p_value"), "optional": ("chromosome", "beta", "standard_error")}


def _glm(truth, chrom_name: str) -> pd.DataFrame:
    """A plink2 ``--glm`` linear file of the truth, A1 = REF on about a third of the rows, with covariate rows."""
    a1_is_ref = np.random.default_rng(3).random(N_VAR) < 0.35
    ref = np.where(a1_is_ref, truth["effect_allele"], truth["other_allele"])
    alt = np.where(a1_is_ref, truth["other_allele"], truth["effect_allele"])
    add = pd.DataFrame({chrom_name: truth["chromosome"], "POS": truth["base_pair_location"], "ID": truth["variant_id"],
                        "REF": ref, "ALT": alt, "A1": truth["effect_allele"],
                        "A1_FREQ": truth["effect_allele_frequency"],
                        "TEST": "ADD", "OBS_CT": 5000, "BETA": truth["beta"], "SE": truth["standard_error"],
                        "T_STAT": truth["beta"] / truth["standard_error"], "P": truth["p_value"], "ERRCODE": "."})
    return pd.concat([add, add.assign(TEST="sex", BETA=0.9, SE=0.01, P=1e-200)]).sort_values("POS", kind="stable")


def test_plink2_glm__chrom_without_hash_is_still_plink2_a1_is_the_effect(truth, tmp_path):
    """R's read.table and sed drop the '#' of '#CHROM': the file was read by aliases, ALT as the effect allele
    although BETA is A1's (wrong sign where A1 = REF) and covariate rows kept. It now reads as with the '#'."""
    with_hash, m1 = read_sumstats(_write(tmp_path / "a.glm.linear", _glm(truth, "#CHROM")))
    without, m2 = read_sumstats(_write(tmp_path / "b.glm.linear", _glm(truth, "CHROM")))
    assert m1.layout == m2.layout == "plink2 --glm" and len(without) == N_VAR
    _check(without, truth)
    cols = ["variant_id", "effect_allele", "other_allele", "beta", "standard_error", "p_value"]
    pd.testing.assert_frame_equal(with_hash[cols], without[cols])
    assert "other_allele = whichever of REF/ALT is not A1" in m2.notes
    assert "kept TEST == ADD (40 of 80 rows)" in m2.notes


def test_alias_conflict__two_columns_for_one_field_refused_naming_both_unless_one_is_the_ssf_name(truth, tmp_path):
    """Two columns that alias one field: the first in the header used to win silently (ALT over A1, MAF over EAF)."""
    base = truth[["variant_id", "effect_allele", "other_allele", "beta", "standard_error", "p_value"]]
    both = base.rename(columns={"variant_id": "SNP", "effect_allele": "A1", "other_allele": "A2", "beta": "BETA",
                                "standard_error": "SE", "p_value": "P"})
    both.insert(1, "ALT", truth["other_allele"])    # ALT before A1: old reading took ALT, the wrong allele
    f = _write(tmp_path / "alt_a1.tsv", both)
    # the suggestion is the tested allele A1, never ALT (A1 carries the effect in plink's outputs)
    with pytest.raises(InputError, match=r"alt_a1\.tsv: columns 'ALT' and 'A1' both read as effect_allele; .*--columns "
                                         r"ea=A1$") as e:
        read_sumstats(f)
    assert len(str(e.value).splitlines()) == 1
    with pytest.raises(InputError, match="'ALT' and 'A1'"):
        read_sumstats_columns(f, required=MR_REQUIRED)      # the fast reader refuses alike
    # a command that needs no alleles (clump: id and p) reads the file: the clash is on a field it does not use
    assert len(read_sumstats_columns(f, **FAST)) == N_VAR
    df, m = read_sumstats(f, column_map=parse_column_option("ea=A1"))   # the user picks one
    _same(df, truth)
    # a column spelled as the GWAS-SSF name wins over an alias (documented rule), whatever the order
    exact = base.rename(columns={"variant_id": "SNP"}).assign(B=-truth["beta"])[
        ["SNP", "B", "effect_allele", "other_allele", "beta", "standard_error", "p_value"]]
    df, m = read_sumstats(_write(tmp_path / "b_beta.tsv", exact))
    np.testing.assert_allclose(df.set_index("variant_id").loc[truth["variant_id"], "beta"], truth["beta"])


def test_maf_is_not_read_as_the_effect_allele_frequency(truth, tmp_path):
    """A MAF is below 0.5 whichever allele is the effect allele; read as the EAF, --palindromes infer flipped every
    palindrome whose effect allele is the major one. It is left unread (and said so); --columns eaf=MAF maps it."""
    maf = np.minimum(truth["effect_allele_frequency"], 1 - truth["effect_allele_frequency"])
    generic = pd.DataFrame({"SNP": truth["variant_id"], "A1": truth["effect_allele"], "A2": truth["other_allele"],
                            "MAF": maf, "BETA": truth["beta"], "SE": truth["standard_error"], "P": truth["p_value"]})
    df, m = read_sumstats(_write(tmp_path / "maf.tsv", generic))
    assert "effect_allele_frequency" not in df.columns
    assert any("MAF not read as effect_allele_frequency" in n and "--columns eaf=MAF" in n for n in m.notes)
    df, _ = read_sumstats(_write(tmp_path / "maf_eaf.tsv", generic.assign(EAF=truth["effect_allele_frequency"])))
    np.testing.assert_allclose(df.set_index("variant_id").loc[truth["variant_id"], "effect_allele_frequency"],
                               truth["effect_allele_frequency"])
    df, _ = read_sumstats(tmp_path / "maf.tsv", column_map=parse_column_option("eaf=MAF"))
    np.testing.assert_allclose(df["effect_allele_frequency"], maf)


def _assoc(truth, *, logistic: bool = False) -> pd.DataFrame:
    """plink 1.9 --linear / --logistic output of the truth with an age covariate row under each variant."""
    eff = {"OR": np.exp(truth["beta"])} if logistic else {"BETA": truth["beta"]}
    add = pd.DataFrame({"CHR": truth["chromosome"], "SNP": truth["variant_id"], "BP": truth["base_pair_location"],
                        "A1": truth["effect_allele"], "TEST": "ADD", "NMISS": 4990, **eff,
                        "STAT": truth["beta"] / truth["standard_error"], "P": truth["p_value"]})
    cov = add.assign(TEST="AGE", STAT=30.0, P=1e-250, **{k: 1.5 for k in eff})
    return pd.concat([add, cov]).sort_values("BP", kind="stable")


def test_plink19_assoc_linear_and_logistic__add_rows_only_se_from_stat_no_other_allele(truth, tmp_path):
    """plink 1.9 writes one row per term: its covariate rows (p ~ 1e-250 here) became clump's leads. Read as a
    layout: TEST == ADD only, for clump's fast reader too; SE = |BETA / STAT|; A1 is the effect allele and, with no
    other allele, MR's reading is refused saying so (an added A2 column is used)."""
    lin = _write(tmp_path / "hr.assoc.linear", _assoc(truth), sep=" ")
    fast = read_sumstats_columns(lin, **FAST)
    assert len(fast) == N_VAR and fast["p_value"].min() > 1e-200
    np.testing.assert_allclose(fast.set_index("variant_id").loc[truth["variant_id"], "p_value"], truth["p_value"])
    df, m = read_sumstats(lin, required=CLUMP_REQUIRED)
    assert m.layout == "plink 1.9 --linear/--logistic" and len(df) == N_VAR
    np.testing.assert_allclose(df.set_index("variant_id").loc[truth["variant_id"], "standard_error"],
                               truth["standard_error"], rtol=1e-6)
    assert any(n.startswith("standard_error = |beta / STAT|") for n in m.notes)
    with pytest.raises(InputError, match=r"no column for other_allele .*only the tested allele A1: add an A2 column"):
        read_sumstats(lin, required=MR_REQUIRED)
    logi = _assoc(truth, logistic=True).assign(A2=np.tile(truth["other_allele"].to_numpy(), 2)[
        np.argsort(np.r_[np.arange(N_VAR), np.arange(N_VAR)], kind="stable")])
    df, m = read_sumstats(_write(tmp_path / "cad.assoc.logistic", logi, sep=" "), required=MR_REQUIRED)
    _check(df, truth, cols=("beta", "standard_error", "p_value"))
    assert phenotype_name(tmp_path / "cad.assoc.logistic") == "cad"


def test_test_column__tool_layouts_keep_add_rows_and_none_left_is_an_error(truth, tmp_path, caplog):
    """The TEST == ADD filter is for the plink2, plink 1.9 and REGENIE layouts (found with or without '#'); in any
    other file a column called TEST is the user's data (review s28c F4: a QC column TEST = pass refused the file).
    A REGENIE --test dominant file (no ADD row) was reported downstream as 'missing_in_outcome'."""
    glm = _glm(truth, "CHROM")
    with caplog.at_level(logging.INFO, logger="edfgen.formats.sumstats.layout"):
        df, _ = read_sumstats(_write(tmp_path / "nohash.glm.linear", glm))
    assert len(df) == N_VAR and f"{N_VAR} of {2 * N_VAR} rows dropped" in caplog.text
    gen = pd.DataFrame({"SNP": truth["variant_id"], "A1": truth["effect_allele"], "A2": truth["other_allele"],
                        "TEST": "pass", "BETA": truth["beta"], "SE": truth["standard_error"], "P": truth["p_value"]})
    f = _write(tmp_path / "generic.tsv", gen)
    assert len(read_sumstats_columns(f, **FAST)) == N_VAR
    df, m = read_sumstats(f)
    _same(df, truth)
    assert (df["TEST"] == "pass").all()
    reg = pd.DataFrame({"CHROM": truth["chromosome"], "GENPOS": truth["base_pair_location"], "ID": truth["variant_id"],
                        "ALLELE0": truth["other_allele"], "ALLELE1": truth["effect_allele"], "N": 5000,
                        "TEST": "DOM", "BETA": truth["beta"], "SE": truth["standard_error"],
                        "LOG10P": -np.log10(truth["p_value"])})
    with pytest.raises(InputError, match=r"dom\.regenie: no row has TEST == ADD \(its TEST values: DOM\)"):
        read_sumstats(_write(tmp_path / "dom.regenie", reg, sep=" "))
    with pytest.raises(InputError, match=r"ADD-CONDTL"):       # REGENIE --interaction: named in the refusal
        read_sumstats(_write(tmp_path / "gxe.regenie", reg.assign(TEST="ADD-INT_SNP"), sep=" "))


def test_odds_ratios__converted_per_row_where_the_beta_is_empty(truth, tmp_path):
    """GWAS Catalog harmonised files carry an hm_beta column that is empty for case-control studies, and GWAS-SSF
    files have beta NA beside odds_ratio: the odds ratios were ignored (0 instruments, 'missing_estimate')."""
    lo = np.exp(truth["beta"] - Z95 * truth["standard_error"])
    hi = np.exp(truth["beta"] + Z95 * truth["standard_error"])
    mixed = np.arange(N_VAR) % 2 == 0          # beta given on these rows, odds ratio + CI on the others
    hm = pd.DataFrame({"hm_variant_id": truth["variant_id"], "hm_chrom": truth["chromosome"],
                       "hm_pos": truth["base_pair_location"], "hm_other_allele": truth["other_allele"],
                       "hm_effect_allele": truth["effect_allele"], "hm_beta": np.where(mixed, truth["beta"], np.nan),
                       "hm_odds_ratio": np.where(mixed, np.nan, np.exp(truth["beta"])),
                       "hm_ci_lower": np.where(mixed, np.nan, lo), "hm_ci_upper": np.where(mixed, np.nan, hi),
                       "hm_effect_allele_frequency": truth["effect_allele_frequency"], "p_value": truth["p_value"],
                       "standard_error": np.where(mixed, truth["standard_error"], np.nan)})
    df, m = read_sumstats(_write(tmp_path / "GCST1.h.tsv.gz", hm))
    _check(df, truth)
    assert any(f"on {N_VAR // 2} of {N_VAR} rows" in n for n in m.notes)
    ssf = truth.drop(columns="beta").assign(beta=np.nan, standard_error=np.nan, odds_ratio=np.exp(truth["beta"]),
                                            ci_lower=lo, ci_upper=hi)
    f = _write(tmp_path / "ssf_or.tsv", ssf)
    df, m = read_sumstats(f)
    _check(df, truth)
    fast = read_sumstats_columns(f, required=MR_REQUIRED, optional=("p_value",))     # ldsc/finemap's reader
    np.testing.assert_allclose(fast.set_index("variant_id").loc[truth["variant_id"], "beta"], truth["beta"], atol=1e-9)


def test_frequency_columns__metal_fastgwa_giant_are_the_effect_alleles(truth, tmp_path):
    """METAL's Freq1, fastGWA's AF1 and GIANT's Freq_Tested_Allele were not read: every palindrome became
    'ambiguous' under --palindromes infer."""
    t = truth
    metal = pd.DataFrame({"MarkerName": t["variant_id"], "Allele1": t["effect_allele"].str.lower(),
                          "Allele2": t["other_allele"].str.lower(), "Freq1": t["effect_allele_frequency"],
                          "FreqSE": 0.01, "Effect": t["beta"], "StdErr": t["standard_error"], "P-value": t["p_value"],
                          "Direction": "++"})
    fastgwa = pd.DataFrame({"CHR": t["chromosome"], "SNP": t["variant_id"], "POS": t["base_pair_location"],
                            "A1": t["effect_allele"], "A2": t["other_allele"], "N": 5000,
                            "AF1": t["effect_allele_frequency"], "BETA": t["beta"], "SE": t["standard_error"],
                            "P": t["p_value"]})
    giant = pd.DataFrame({"SNP": t["variant_id"], "CHR": t["chromosome"], "POS": t["base_pair_location"],
                          "Tested_Allele": t["effect_allele"], "Other_Allele": t["other_allele"],
                          "Freq_Tested_Allele": t["effect_allele_frequency"], "BETA": t["beta"],
                          "SE": t["standard_error"], "P": t["p_value"], "N": 5000})
    for name, table in (("METAANALYSIS1.TBL", metal), ("hr.fastGWA", fastgwa), ("height.txt", giant)):
        df, m = read_sumstats(_write(tmp_path / name, table))
        got = df.set_index("variant_id").loc[t["variant_id"]]
        assert (got["effect_allele"].to_numpy() == t["effect_allele"].to_numpy()).all(), name
        np.testing.assert_allclose(got["effect_allele_frequency"], t["effect_allele_frequency"], err_msg=name)
        np.testing.assert_allclose(got["beta"], t["beta"], err_msg=name)


def test_excel_forms__bom_in_the_fast_reader_dot_as_missing_semicolon_named(truth, tmp_path):
    """A UTF-8 BOM made the fast reader drop its first column ('\\ufeffchromosome') silently; '.' in a number
    column was refused (plink writes '.' for missing); a ';'-separated CSV got '2: 5 fields, the header has 1'."""
    ssf = truth[["chromosome", "base_pair_location", "effect_allele", "other_allele", "beta", "standard_error",
                 "p_value", "variant_id"]]
    f = tmp_path / "bom.tsv"
    f.write_bytes(b"\xef\xbb\xbf" + ssf.to_csv(sep="\t", index=False, lineterminator="\r\n").encode())
    fast = read_sumstats_columns(f, **FAST)
    assert fast.set_index("variant_id").loc[truth["variant_id"], "chromosome"].tolist() == truth["chromosome"].tolist()
    dot = ssf.astype({"beta": object, "standard_error": object})
    dot.loc[3, "beta"], dot.loc[5, "standard_error"] = ".", "."
    f = _write(tmp_path / "dot.tsv", dot)
    for df in (read_sumstats(f)[0], read_sumstats_columns(f, **FAST)):
        got = df.set_index("variant_id").loc[truth["variant_id"]]
        assert got["beta"].isna().tolist() == [i == 3 for i in range(N_VAR)]
        assert got["standard_error"].isna().tolist() == [i == 5 for i in range(N_VAR)]
    semi = tmp_path / "excel.csv"
    semi.write_text(ssf.head(5).to_csv(sep=";", index=False, decimal=","))
    with pytest.raises(InputError, match=r"excel\.csv: the header is separated by ';'"):
        read_sumstats(semi)
    semi.write_text(ssf.head(5)[["variant_id", "chromosome", "effect_allele"]].to_csv(sep=";", index=False))
    with pytest.raises(InputError, match="separated by ';'"):       # no decimal comma: one column, same message
        read_sumstats(semi)


def test_discovery__a_folder_of_tool_outputs_is_found_and_a_name_skip_is_said(truth, tmp_path):
    """.regenie, .stats, .glm.*, .TBL, .ma, .tsv.bgz and .assoc.* files were skipped by name, and the error blamed
    their columns."""
    d = tmp_path / "tools"
    d.mkdir()
    ssf = truth[["chromosome", "base_pair_location", "effect_allele", "other_allele", "beta", "standard_error",
                 "p_value", "variant_id"]]
    names = ["step2_Y1.regenie", "bolt.stats", "hr.glm.linear", "cad.glm.logistic.hybrid", "METAANALYSIS1.TBL",
             "cojo.ma", "neale.tsv.bgz", "hr.assoc.linear", "cad.assoc.logistic"]
    for n in names:
        _write(d / n, ssf)
    (d / "notes.md").write_text("not a table\n")
    found = expand_sumstats([d], "--outcome", required=MR_REQUIRED)
    assert sorted(f.name for f in found) == sorted(names)
    assert [phenotype_name(n) for n in names] == ["step2_Y1", "bolt", "hr", "cad", "METAANALYSIS1", "cojo",
                                                  "neale", "hr", "cad"]
    e = tmp_path / "other"
    e.mkdir()
    (e / "results.out").write_text("SNP\tP\nrs1\t0.5\n")
    with pytest.raises(InputError, match=r"no file is named like summary statistics \(skipped by name: results\.out"):
        expand_sumstats([e], "--outcome", required=MR_REQUIRED)


def test_neale_lab_ukb__alleles_from_variant_alt_is_the_effect(truth, tmp_path):
    """Neale lab UK Biobank files name the alleles only inside 'variant' (chr:pos:ref:alt; beta is alt's, per its
    README); minor_allele is not the effect allele; minor_AF becomes alt's frequency. Was refused, --columns too."""
    t = truth
    minor_is_alt = t["effect_allele_frequency"] < 0.5
    neale = pd.DataFrame({"variant": t["chromosome"] + ":" + t["base_pair_location"].astype(str) + ":"
                          + t["other_allele"] + ":" + t["effect_allele"],
                          "minor_allele": np.where(minor_is_alt, t["effect_allele"], t["other_allele"]),
                          "minor_AF": np.minimum(t["effect_allele_frequency"], 1 - t["effect_allele_frequency"]),
                          "low_confidence_variant": np.arange(N_VAR) == 7, "n_complete_samples": 5000, "AC": 10,
                          "ytx": 1.0, "beta": t["beta"], "se": t["standard_error"],
                          "tstat": t["beta"] / t["standard_error"], "pval": t["p_value"]})
    df, m = read_sumstats(_write(tmp_path / "21001_raw.gwas.imputed_v3.both_sexes.tsv.bgz", neale))
    assert m.layout == "Neale lab UK Biobank" and len(df) == N_VAR
    assert df["variant_id"].tolist() == neale["variant"].tolist()
    _check(df.assign(variant_id=t["variant_id"].to_numpy()), truth)
    assert df["low_confidence_variant"].sum() == 1 and "1 low_confidence_variant rows kept" in " ".join(m.notes)
    bad = neale.copy()
    bad.loc[2, "variant"] = "rs12345"
    with pytest.raises(InputError, match=r"column 'variant', row 3: 'rs12345' is not chr:pos:ref:alt"):
        read_sumstats(_write(tmp_path / "bad.tsv.bgz", bad))


def test_z_check__beta_se_disagreeing_with_p_is_warned(truth, tmp_path, caplog):
    """An odds ratio read as a beta (or the SE of an OR, or a wrong column) gives |beta/se| far from the z its p
    implies: warned, naming both medians; a consistent file is not."""
    ssf = truth[["chromosome", "base_pair_location", "effect_allele", "other_allele", "beta", "standard_error",
                 "p_value", "variant_id"]]
    with caplog.at_level(logging.WARNING):
        read_sumstats(_write(tmp_path / "ok.tsv", ssf))
        read_sumstats_columns(tmp_path / "ok.tsv", **FAST)
    assert "median |beta / se|" not in caplog.text
    for f in (_write(tmp_path / "or_as_beta.tsv", ssf.assign(beta=np.exp(ssf["beta"]))),):
        for read in (lambda: read_sumstats(f), lambda: read_sumstats_columns(f, **FAST)):
            caplog.clear()
            with caplog.at_level(logging.WARNING):
                read()
            assert "or_as_beta.tsv: the median |beta / se|" in caplog.text


def test_chromosome_25__pseudo_autosomal_beyond_the_mitochondrial_genome(tmp_path):
    """Review s28b F9: ``25`` is MT in GWAS-SSF but PLINK's XY (the pseudo-autosomal region, on X's coordinates) in
    plink2/BOLT/REGENIE files; every ``25`` row was read as MT, so a plink2 outcome's PAR rows never met X
    instruments. A ``25`` row beyond the mitochondrial genome's 16,569 bp is X; one within it stays MT."""
    path = tmp_path / "g.tsv"
    pd.DataFrame({"chromosome": ["25", "25", "23", "1"], "base_pair_location": [150, 2_000_000, 5, 5],
                  "variant_id": ["m1", "par1", "x1", "a1"], "effect_allele": "A", "other_allele": "G",
                  "beta": 0.1, "standard_error": 0.05, "p_value": 0.05}).to_csv(path, sep="\t", index=False)
    want = {"m1": "MT", "par1": "X", "x1": "X", "a1": "1"}
    df = read_sumstats(path)[0]
    assert dict(zip(df["variant_id"], df["chromosome"])) == want
    fast = read_sumstats_columns(path, required=("variant_id", "p_value"), optional=("chromosome", "base_pair_location"))
    fast = fast[0] if isinstance(fast, tuple) else fast
    assert dict(zip(fast["variant_id"], fast["chromosome"])) == want


def test_odds_ratio_zero_in_a_file_without_variant_id_is_a_one_line_error(tmp_path):
    """Final review s28d F1: a GWAS Catalog harmonised / FinnGen-like file (no variant_id: ids made from rsid or
    chrom:pos:ref:alt) with an odds ratio of 0 raised a TypeError traceback (the file name had been overwritten by
    the id recipe); now the one-line InputError naming the file and the odds-ratio column."""
    path = tmp_path / "gc.tsv"
    pd.DataFrame({"hm_rsid": ["rs1", "rs2", "rs3"], "hm_chrom": "1", "hm_pos": [10, 20, 30],
                  "hm_effect_allele": "A", "hm_other_allele": "G", "hm_odds_ratio": [1.1, 0.0, 0.9],
                  "hm_ci_lower": [1.0, 0.0, 0.8], "hm_ci_upper": [1.2, 0.1, 1.0],
                  "p_value": [0.01, 0.02, 0.03]}).to_csv(path, sep="\t", index=False)
    with pytest.raises(InputError, match=r"gc.tsv.*odds_ratio"):
        read_sumstats(path)


def test_chromosome_25_in_a_plink_coded_file_with_26_is_always_x(tmp_path):
    """Final review s28d F5: GRCh38's PAR1 starts at X:10,001, inside the mitochondrial genome's length, so a
    plink2 ``25`` row there was read as MT; a file that codes MT as ``26`` codes XY as ``25`` everywhere."""
    from edfgen.formats.sumstats.layout import chromosome_labels

    got = chromosome_labels(pd.Series(["25", "25", "26"]), pd.Series([12_000, 2_000_000, 100]))
    assert got.tolist() == ["X", "X", "MT"]
