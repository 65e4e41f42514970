"""Summary statistics written by other tools (plink2, plink 1.9, REGENIE, BOLT-LMM, SAIGE, METAL, GCTA, LDSC), as
users bring them to ldsc/coloc/finemap/mr: tiny files in each tool's documented (or plink's actual) layout."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError
from edfgen.formats.sumstats import read_sumstats
from edfgen.formats.sumstats.zscores import load_zstats

#: plink2 --glm logistic hybrid output as plink2 v2.00 writes it (ERRCODE rows carry NA estimates)
PLINK2_HYBRID = ("#CHROM\tPOS\tID\tREF\tALT\tA1\tFIRTH?\tTEST\tOBS_CT\tOR\tLOG(OR)_SE\tZ_STAT\tP\tERRCODE\n"
                 "chr1\t1000\trs1\tA\tG\tG\tN\tADD\t5000\t1.1\t0.02\t4.77\t1.9e-06\t.\n"
                 "chr1\t1100\trs2\tA\tG\tA\tY\tADD\t5000\t1.1\t0.02\t4.77\t1.9e-06\t.\n"
                 "chr1\t1200\trs3\tA\tG\tG\tY\tADD\t5000\tNA\tNA\tNA\tNA\tFIRTH_CONVERGE_FAIL\n"
                 "chrX\t1300\trs4\tA\tG\tG\tN\tADD\t5000\tNA\tNA\tNA\tNA\tVIF_TOO_HIGH\n"
                 "chrX\t1400\trs5\tC\tT\tT\tN\tADD\t5000\t0.9\t0.02\t-5.27\t1.4e-07\t.\n")


def test_zstats__rows_without_an_estimate_are_counted_in_a_log_line(tmp_path, caplog):
    """plink2's ERRCODE rows (NA), GWAS-SSF's '.'/empty/NA: ldsc, coloc and finemap leave them out and say how many
    (they were dropped without a word)."""
    f = tmp_path / "y.glm.logistic.hybrid"
    f.write_text(PLINK2_HYBRID)
    with caplog.at_level(logging.INFO, logger="edfgen.formats.sumstats.zscores"):
        z = load_zstats("y", [f])
    assert list(z.table["variant_id"]) == ["rs1", "rs2", "rs5"]
    assert "2 of 5 rows without a beta and a positive standard error" in caplog.text and "rs3" in caplog.text
    t = z.table.set_index("variant_id")
    # A1 is the effect allele: G on rs1 (ALT), A on rs2 (REF), T on rs5; beta = ln OR
    assert list(t["effect_allele"]) == ["G", "A", "T"] and list(t["other_allele"]) == ["A", "G", "C"]
    np.testing.assert_allclose(t["z"], np.log([1.1, 1.1, 0.9]) / 0.02)
    assert list(t["chromosome"]) == ["1", "1", "X"] and (t["n"] == 5000).all()


#: METAL SCHEME SAMPLESIZE output (lower-case alleles, Weight = summed N, no chromosome)
METAL_SAMPLESIZE = ("MarkerName\tAllele1\tAllele2\tWeight\tZscore\tP-value\tDirection\n"
                    "rs1\ta\tg\t7000.00\t4.332\t1.476e-05\t++\n"
                    "rs2\tt\tc\t6500.00\t-2.035\t0.0418\t-?\n"
                    "rs3\tg\tc\t7000.00\t0.100\t0.9203\t+-\n")


def test_metal_samplesize__weight_is_the_per_variant_n_and_allele1_the_effect(tmp_path):
    """ldsc needs the per-variant N: METAL's Weight gives it (it asked for --sample-size, one N for all)."""
    f = tmp_path / "METAANALYSIS1.TBL"
    f.write_text(METAL_SAMPLESIZE)
    z = load_zstats("y", [f], allow_z=True, need_n=True).table.set_index("variant_id")
    assert list(z["n"]) == [7000, 6500, 7000]
    assert list(z["effect_allele"]) == ["A", "T", "G"] and list(z["other_allele"]) == ["G", "C", "C"]
    np.testing.assert_allclose(z["z"], [4.332, -2.035, 0.100])
    # a Weight column outside METAL's header is not a sample size
    g = tmp_path / "w.tsv"
    g.write_text("SNP\tA1\tA2\tWeight\tZ\nrs1\tA\tG\t7000\t4.3\n")
    assert "n" not in load_zstats("w", [g], allow_z=True).table.columns


def test_discovery__gcta_mlma_and_plink19_assoc_outputs_are_found_in_a_folder(tmp_path):
    """A folder of GCTA --mlma/--mlma-loco or plink 1.9 --assoc outputs was refused as holding no summary statistics
    (the same files given by name were read)."""
    from edfgen.formats.sumstats.discovery import MR_REQUIRED, expand_sumstats, phenotype_name

    mlma = "Chr\tSNP\tbp\tA1\tA2\tFreq\tb\tse\tp\n1\trs1\t1000\tA\tG\t0.3\t0.1\t0.02\t5.7e-07\n"
    for name in ("hr.mlma", "qt.loco.mlma"):
        (tmp_path / name).write_text(mlma)
    found = expand_sumstats([tmp_path], "--outcome", required=MR_REQUIRED)
    assert sorted(f.name for f in found) == ["hr.mlma", "qt.loco.mlma"]
    assert [phenotype_name(n) for n in ("hr.mlma", "qt.loco.mlma", "cad.assoc", "qt.qassoc")] == ["hr", "qt", "cad",
                                                                                                 "qt"]
    t = load_zstats("hr", [tmp_path / "hr.mlma"]).table      # GCTA's A1 is the effect allele, Freq its frequency
    assert list(t["effect_allele"]) == ["A"] and t["z"].iloc[0] == pytest.approx(5.0)
    assert t["effect_allele_frequency"].iloc[0] == pytest.approx(0.3)
    p = tmp_path / "p19"
    p.mkdir()
    (p / "qt.qassoc").write_text(" CHR SNP BP NMISS BETA SE R2 T P\n 1 rs1 1000 175 -0.02506 0.03663 0.0027 -0.6842 0.4948\n")
    assert [f.name for f in expand_sumstats([p], "--sumstats", required=("variant_id", "p_value"))] == ["qt.qassoc"]


def test_discovery__a_tools_two_tests_of_one_out_read_the_regression_models_file(tmp_path, caplog):
    """plink 1.9 --assoc --linear of one --out writes res.qassoc beside res.assoc.linear (GCTA --mlma and --mlma-loco:
    res.mlma beside res.loco.mlma): both were phenotype 'res', read as chromosome pieces and refused as 'variant
    appears twice'. The regression model's file is read, the other named in a warning."""
    from edfgen.formats.sumstats.discovery import expand_sumstats, group_by_phenotype, read_phenotype_sumstats

    (tmp_path / "res.assoc.linear").write_text(" CHR SNP BP A1 TEST NMISS BETA STAT P\n 1 rs1 1000 A ADD 175 -0.02 -0.68 "
                                               "0.49\n 1 rs2 2000 G ADD 175 0.2 6.6 1e-9\n")
    (tmp_path / "res.qassoc").write_text(" CHR SNP BP NMISS BETA SE R2 T P\n 1 rs1 1000 175 -0.02 0.03 0.0027 -0.68 0.49\n"
                                         " 1 rs2 2000 175 0.2 0.03 0.2 6.6 1e-9\n")
    mlma = "Chr\tSNP\tbp\tA1\tA2\tFreq\tb\tse\tp\n1\trs1\t1000\tA\tG\t0.3\t0.1\t0.02\t5.7e-07\n"
    (tmp_path / "hr.mlma").write_text(mlma)
    (tmp_path / "hr.loco.mlma").write_text(mlma)
    found = expand_sumstats([tmp_path], "--sumstats", required=("variant_id", "p_value"))
    with caplog.at_level(logging.WARNING):
        groups = group_by_phenotype(found)
    assert {k: [f.name for f in v] for k, v in groups.items()} == {"hr": ["hr.loco.mlma"], "res": ["res.assoc.linear"]}
    assert "left out " + str(tmp_path / "res.qassoc") in caplog.text
    assert len(read_phenotype_sumstats(groups["res"], required=("variant_id", "p_value"), option="--sumstats")) == 2
    # the same name in two folders (chromosome pieces) stays one group of both
    for c in ("1", "2"):
        (tmp_path / c).mkdir()
        (tmp_path / c / "y.qassoc").write_text(" CHR SNP BP NMISS BETA SE R2 T P\n 1 rs1 1000 175 -0.02 0.03 0.0027 -0.68 0.49\n")
    assert len(group_by_phenotype([tmp_path / "1" / "y.qassoc", tmp_path / "2" / "y.qassoc"])["y"]) == 2


#: plink 1.9 --assoc outputs as plink 1.9 writes them (space-padded)
QASSOC = (" CHR     SNP         BP    NMISS       BETA         SE         R2        T            P \n"
          "   1    snp0          0      175   -0.02506    0.03663   0.002698  -0.6842       0.4948 \n")
ASSOC = (" CHR     SNP         BP   A1      F_A      F_U   A2        CHISQ            P           OR \n"
         "   1    snp0          0    A   0.2375   0.2263    T      0.06108       0.8048        1.065 \n")
ASSOC_CI = (" CHR     SNP         BP   A1      F_A      F_U   A2        CHISQ            P           OR           SE"
            "          L95          U95 \n"
            "   1    snp0          0    A   0.2375   0.2263    T      0.06108       0.8048        1.065       0.2541"
            "       0.6471        1.752 \n")


def test_plink19_assoc__qassoc_and_assoc_without_ci_refused_saying_why_with_ci_read(tmp_path):
    """A .qassoc names no allele and an .assoc without --ci no SE: the refusal said to map them with --columns,
    which cannot help; it now says what plink 1.9 wrote and how to rerun it. With --ci the .assoc is read, A1 the
    effect allele, beta = ln OR."""
    q, a, c = tmp_path / "y.qassoc", tmp_path / "y.assoc", tmp_path / "ci" / "y.assoc"
    c.parent.mkdir()
    q.write_text(QASSOC)
    a.write_text(ASSOC)
    c.write_text(ASSOC_CI)
    with pytest.raises(InputError, match=r"y\.qassoc: no column for effect_allele, other_allele \(plink 1\.9 --assoc "
                                         r"on a quantitative trait \(\.qassoc\) names no allele"):
        read_sumstats(q)
    # its BETA is the minor allele's in the analysed samples (plink 1.9 without --keep-allele-order), not the .bim's A1
    with pytest.raises(InputError, match=r"minor in the analysed samples .*--keep-allele-order.*plink --freq"):
        read_sumstats(q)
    with pytest.raises(InputError, match=r"y\.assoc: no column for standard_error \(plink 1\.9 --assoc .* --ci 0\.95"):
        load_zstats("y", [a])
    df = read_sumstats(c)[0]
    assert list(df["effect_allele"]) == ["A"] and list(df["other_allele"]) == ["T"]
    assert df["beta"].iloc[0] == pytest.approx(np.log(1.065)) and df["standard_error"].iloc[0] == 0.2541


def test_annotate_loci__another_tools_sumstats_refused_saying_to_clump_them(tmp_path):
    """A plink2 --glm file given to annotate/finemap/coloc as --loci: refused naming the four columns it lacks, and
    now which tool's file it is and that clump makes the loci from it."""
    from edfgen.formats.catalog import read_loci

    f = tmp_path / "y.glm.logistic.hybrid"
    f.write_text(PLINK2_HYBRID)
    with pytest.raises(InputError, match=r"--loci .*y\.glm\.logistic\.hybrid: missing column\(s\) variant_id, "
                                         r"chromosome, base_pair_location, p_value \(need .*; read as plink2 --glm "
                                         r"summary statistics: give them to edfgen clump"):
        read_loci(f)


def test_ldsc_munged__mr_refuses_it_saying_it_holds_z_scores_and_ldsc_reads_it(tmp_path):
    """LDSC's munged SNP A1 A2 Z N: ldsc reads it (A1 the effect allele, N per variant); mr refuses it saying the
    file has z-scores only (it suggested --columns beta=...,se=..., which the file cannot give)."""
    import gzip

    f = tmp_path / "hr.sumstats.gz"
    with gzip.open(f, "wt") as fh:
        fh.write("SNP\tA1\tA2\tZ\tN\nrs1\tA\tG\t5.000\t7777.000\nrs2\tT\tC\t-2.500\t7000.000\n")
    z = load_zstats("hr", [f], allow_z=True, need_n=True).table
    assert list(z["effect_allele"]) == ["A", "T"] and list(z["z"]) == [5.0, -2.5] and list(z["n"]) == [7777, 7000]
    with pytest.raises(InputError, match=r"hr\.sumstats\.gz: no column for beta, standard_error, p_value \(the file has "
                                         r"z-scores, no beta and standard error"):
        read_sumstats(f)


#: a PGC daner-style file (OR with the SE of ln OR, Nca/Nco per variant), as LDSC's munge_sumstats --daner-n reads it
PGC = ("CHR\tSNP\tBP\tA1\tA2\tFRQ_A_40463\tFRQ_U_312354\tINFO\tOR\tSE\tP\tDirection\tNca\tNco\n"
       "1\trs1\t1000\tA\tG\t0.31\t0.30\t0.99\t1.105\t0.02\t5.7e-07\t++\t40463\t312354\n"
       "1\trs2\t2000\tT\tC\t0.5\t0.5\t0.98\t0.95\t0.02\t0.01\t--\t30000\t300000\n")


@pytest.mark.parametrize("cases, controls", [("Nca", "Nco"), ("N_CAS", "N_CON"), ("NCASE", "NCONTROL")])
def test_case_counts__ldsc_munge_and_pgc_names_give_n(tmp_path, cases, controls):
    """Case and control counts under LDSC's munge_sumstats names (N_CAS/N_CON, NCASE/NCONTROL) or PGC's Nca/Nco:
    ldsc refused such a file asking for --sample-size or --case-counts (one count for all variants)."""
    f = tmp_path / "scz.tsv"
    f.write_text(PGC.replace("Nca", cases).replace("Nco", controls))
    z = load_zstats("scz", [f], need_n=True)
    t = z.table.set_index("variant_id")
    assert list(t["n_cases"]) == [40463, 30000] and list(t["n"]) == [352817, 330000] and z.binary
    assert list(t["effect_allele"]) == ["A", "T"]
    np.testing.assert_allclose(t["beta"], np.log([1.105, 0.95]))


def _regenie(chrom: str, pos: int, vid: str) -> str:
    return ("CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ INFO N TEST BETA SE CHISQ LOG10P EXTRA\n"
            f"{chrom} {pos} {vid} G A 0.3 1 5000 ADD 0.1 0.02 25 6.24 NA\n")


def test_per_chromosome_tool_outputs__a_chromosome_tag_inside_the_name_is_one_phenotype(tmp_path):
    """REGENIE run per chromosome (--out step2_chr1 writes step2_chr1_Y1.regenie) and plink2 (--out gwas.chr1 writes
    gwas.chr1.Y1.glm.linear): each chromosome's file was a phenotype of its own (mr, ldsc, clump ran per chromosome)."""
    from edfgen.formats.sumstats.discovery import group_by_phenotype, phenotype_name

    for c in ("1", "2"):
        (tmp_path / f"step2_chr{c}_Y1.regenie").write_text(_regenie(c, 1000, f"rs{c}"))
    groups = group_by_phenotype(sorted(tmp_path.glob("*.regenie")))
    assert list(groups) == ["step2_Y1"] and len(groups["step2_Y1"]) == 2
    t = load_zstats("step2_Y1", groups["step2_Y1"]).table
    assert sorted(t["variant_id"]) == ["rs1", "rs2"] and (t["effect_allele"] == "A").all()
    assert [phenotype_name(n) for n in ("gwas.chr1.Y1.glm.linear", "gwas_chrX.Y1.glm.logistic.hybrid",
                                        "chr22_Y2.regenie.gz", "ukb_chr3_v3_Y1.regenie", "bolt_chr1.stats.gz")] == [
        "gwas.Y1", "gwas.Y1", "Y2", "ukb_v3_Y1", "bolt"]
    # a GWAS-SSF file keeps a tag inside its name (only a trailing one is a chromosome's)
    assert phenotype_name("edf_chr1_window.tsv.gz") == "edf_chr1_window"


def test_zstats__rows_without_an_estimate_are_counted_in_the_file_that_holds_them(tmp_path, caplog):
    """A phenotype of per-chromosome files: the rows-without-an-estimate line named the first file (chr1's) for a row
    of chr2's file; each file's rows are counted in its own line."""
    chr1, chr2 = tmp_path / "step2_chr1_Y1.regenie", tmp_path / "step2_chr2_Y1.regenie"
    head = "CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ N TEST BETA SE CHISQ LOG10P EXTRA\n"
    chr1.write_text(head + "1 1000 rs1 G A 0.3 5000 ADD 0.1 0.02 25 6.24 NA\n")
    chr2.write_text(head + "2 1000 rs2 G A 0.3 5000 ADD 0.1 0.02 25 6.24 NA\n"
                    "2 2000 rs3 G A 0.3 5000 ADD NA NA NA NA TEST_FAIL\n2 3000 rs4 G A 0.3 5000 ADD . . . . NA\n")
    with caplog.at_level(logging.INFO, logger="edfgen.formats.sumstats.zscores"):
        z = load_zstats("step2_Y1", [chr1, chr2])
    assert sorted(z.table["variant_id"]) == ["rs1", "rs2"]
    assert f"{chr2}: 2 of 3 rows without a beta and a positive standard error" in caplog.text
    assert str(chr1) not in caplog.text


def test_per_chromosome_tool_outputs__chunks_of_a_chromosome_are_one_phenotype_too(tmp_path):
    """REGENIE run per chromosome chunk (--out step2_chr1_chunk1): step2_chr1_chunk1_Y1.regenie was phenotype
    step2_chunk1_Y1, a slice across chromosomes. All chunks of all chromosomes are one phenotype (combine_phenotype
    refuses pieces that overlap or interleave); a bare number after the tag (chunk or chromosome range?) is left."""
    from edfgen.formats.sumstats.discovery import group_by_phenotype, phenotype_name

    pieces = {"step2_chr1_chunk1_Y1": ("1", 1000, "rs1"), "step2_chr1_chunk2_Y1": ("1", 5000, "rs2"),
              "step2_chr2_chunk1_Y1": ("2", 1000, "rs3")}
    for n, v in pieces.items():
        (tmp_path / f"{n}.regenie").write_text(_regenie(*v))
    groups = group_by_phenotype(sorted(tmp_path.glob("*.regenie")))
    assert list(groups) == ["step2_Y1"] and len(groups["step2_Y1"]) == 3
    assert sorted(load_zstats("step2_Y1", groups["step2_Y1"]).table["variant_id"]) == ["rs1", "rs2", "rs3"]
    assert [phenotype_name(n) for n in ("gwas.chr1.part2.Y1.glm.linear", "step2_chunk3_chr1_Y1.regenie",
                                        "gwas.chr1.part1.glm.linear", "step2_chr1-2_Y1.regenie")] == [
        "gwas.Y1", "step2_Y1", "gwas.part1", "step2_chr1-2_Y1"]


#: plink2 --glm on a pgen with a tri-allelic variant (REF G, ALT C,A; C the omitted allele), as plink2 v2.00 wrote it;
#: the betas equal a least-squares fit of y on the G and A dosages (C omitted): 0.00433867, -0.0328654
PLINK2_MULTI = ("#CHROM\tPOS\tID\tREF\tALT\tA1\tTEST\tOBS_CT\tBETA\tSE\tT_STAT\tP\tERRCODE\n"
                "1\t2\tsnp2\tC\tT\tC\tADD\t175\t0.0315201\t0.0385352\t0.817957\t0.414507\t.\n"
                "1\t3\tsnp3\tG\tC,A\tG\tADD\t175\t0.00433867\t0.0419348\t0.103462\t0.917717\t.\n"
                "1\t3\tsnp3\tG\tC,A\tA\tADD\t175\t-0.0328654\t0.0352441\t-0.932506\t0.352382\t.\n"
                "1\t4\tsnp4\tG\tA\tA\tADD\t184\t-0.00352986\t0.0307952\t-0.114624\t0.90887\t.\n"
                "1\t5\tsnp5\tT\tC,G\tC\tADD\t184\t0.01\t0.03\t0.33\t0.74\t.\n")


def test_plink2_multiallelic__other_allele_is_the_omitted_allele(tmp_path):
    """A multi-allelic variant's rows: each A1's beta is against the allele plink2 omitted (C here), but the other
    allele was read as the ALT list 'C,A', which matches no study's alleles (mr dropped the instrument as incompatible).
    A variant whose rows leave two alleles untested (snp5: a row filtered out) keeps its list."""
    f = tmp_path / "y.Q.glm.linear"
    f.write_text(PLINK2_MULTI)
    df, m = read_sumstats(f)
    t = df.set_index(["variant_id", "effect_allele"])["other_allele"]
    assert t[("snp3", "G")] == "C" and t[("snp3", "A")] == "C" and t[("snp2", "C")] == "T"
    assert t[("snp4", "A")] == "G" and "," in t[("snp5", "C")]      # T or G: not known, left a list
    assert "other_allele of 2 multi-allelic row(s) = the variant's omitted allele" in m.describe()
    ax = tmp_path / "ax" / "y.Q.glm.linear"        # cols=+ax: AX lists the non-A1 alleles
    ax.parent.mkdir()
    ax.write_text(PLINK2_MULTI.replace("\tALT\tA1\t", "\tALT\tA1\tAX\t").replace("\tC,A\tG\t", "\tC,A\tG\tC,A\t")
                  .replace("\tC,A\tA\t", "\tC,A\tA\tG,C\t").replace("\tT\tC\t", "\tT\tC\tT\t")
                  .replace("\tA\tA\t", "\tA\tA\tG\t").replace("\tC,G\tC\t", "\tC,G\tC\tT,G\t"))
    assert read_sumstats(ax)[0].set_index(["variant_id", "effect_allele"])["other_allele"][("snp3", "A")] == "C"


def test_plink2_multiallelic__unnamed_snv_and_indel_at_one_position_are_two_variants(tmp_path):
    """plink2 writes ID '.' for unnamed variants: a tri-allelic SNV (G>C,A) and a tri-allelic indel (GT>G,GTT) at one
    position were one variant (key chromosome:position:id), so the indel's rows got other_allele C, not one of its
    alleles. Each is its own variant: the SNV's omitted allele is C, the indel's G."""
    f = tmp_path / "same.Q.glm.linear"
    f.write_text("#CHROM\tPOS\tID\tREF\tALT\tA1\tTEST\tOBS_CT\tBETA\tSE\tT_STAT\tP\tERRCODE\n"
                 "1\t100\t.\tG\tC,A\tG\tADD\t200\t0.1\t0.02\t5\t1e-6\t.\n"
                 "1\t100\t.\tG\tC,A\tA\tADD\t200\t0.2\t0.02\t10\t1e-20\t.\n"
                 "1\t100\t.\tGT\tG,GTT\tGT\tADD\t200\t0.3\t0.02\t15\t1e-40\t.\n"
                 "1\t100\t.\tGT\tG,GTT\tGTT\tADD\t200\t0.4\t0.02\t20\t1e-60\t.\n")
    df = read_sumstats(f)[0]
    assert list(df["other_allele"]) == ["C", "C", "G", "G"]
    assert list(df["variant_id"]) == ["1:100:C:G", "1:100:C:A", "1:100:G:GT", "1:100:G:GTT"]


#: SAIGE (binary trait) output: Allele2 is the effect allele, N_case and N_ctrl and no N
SAIGE_BINARY = ("CHR POS MarkerID Allele1 Allele2 AC_Allele2 AF_Allele2 MissingRate BETA SE Tstat var p.value "
                "p.value.NA Is.SPA AF_case AF_ctrl N_case N_ctrl\n"
                "chr1 1000 rs1 G A 100 0.3 0 0.1 0.02 1 1 5.7e-07 5.7e-07 FALSE 0.31 0.29 2777 5000\n"
                "chrX 2000 rs2 C T 100 0.4 0 -0.05 0.02 1 1 0.0124 0.0124 FALSE 0.39 0.41 2700 5000\n")


def test_mr_saige_binary_outcome__samplesize_is_cases_plus_controls_and_allele2_the_effect(tmp_path):
    """harmonised.tsv's samplesize.outcome of a SAIGE binary outcome was NA (its N is N_case + N_ctrl; ldsc read it so,
    mr did not)."""
    from edfgen.commands.mr import MRSettings, run_mr

    out = tmp_path / "cad.txt"
    out.write_text(SAIGE_BINARY)
    exp = tmp_path / "hr.tsv"
    exp.write_text("variant_id\tchromosome\tbase_pair_location\teffect_allele\tother_allele\tbeta\tstandard_error\t"
                   "p_value\tn\nrs1\t1\t1000\tG\tA\t0.3\t0.02\t1e-40\t9000\nrs2\t23\t2000\tT\tC\t0.3\t0.02\t1e-40\t9000\n")
    run_mr(exp, out, tmp_path / "mr", settings=MRSettings(nboot=10, presso=False), plots=False, clump=False)
    h = pd.read_csv(tmp_path / "mr" / "harmonised.tsv", sep="\t").set_index("SNP")
    assert list(h["samplesize.outcome"]) == [7777, 7700]
    # the exposure's effect allele G is SAIGE's Allele1: the outcome's beta of A (0.1) is flipped to G's
    np.testing.assert_allclose(h["beta.outcome"], [-0.1, -0.05])
    assert list(h["effect_allele.outcome"]) == ["G", "T"]


def test_phenotype_name__tool_suffixes_added_later_keep_the_names_files_had_before(tmp_path):
    """.assoc/.qassoc/.mlma/.loco.mlma became tools' names: hr.assoc.tsv.gz (phenotype hr.assoc before) was renamed
    hr and collided with hr.tsv.gz beside it; they are a tool's only as the file's last suffix (gzipped or not).
    A chromosome tag inside the name was taken out of any tool's file (ldl_chr1_eur.ma was ldl_eur): only REGENIE's
    and plink2's, which put a per-chromosome --out there."""
    from edfgen.formats.sumstats.discovery import group_by_phenotype, phenotype_name

    kept = {"hr.assoc.tsv.gz": "hr.assoc", "qt.mlma.txt": "qt.mlma", "res.loco.mlma.tsv": "res.loco.mlma",
            "x.qassoc.csv.gz": "x.qassoc", "ldl_chr1_eur.ma": "ldl_chr1_eur", "trait_chr2_adj.stats.gz":
            "trait_chr2_adj", "a.chr1.b.TBL": "a.chr1.b", "ldl_chr1_eur.sumstats.gz": "ldl_chr1_eur",
            "x_chr3_y.fastGWA": "x_chr3_y", "x.chr1.y.assoc.linear": "x.chr1.y", "ldl_chr1.sumstats.gz": "ldl"}
    tools = {"hr.assoc": "hr", "hr.assoc.gz": "hr", "res.qassoc.bgz": "res", "res.mlma": "res",
             "res.loco.mlma.gz": "res"}
    names = {**kept, **tools}
    assert {n: phenotype_name(n) for n in names} == names
    for n in ("hr.tsv.gz", "hr.assoc.tsv.gz"):
        (tmp_path / n).write_text("x")
    assert list(group_by_phenotype(sorted(tmp_path.iterdir()))) == ["hr.assoc", "hr"]


def test_phenotype_name__numeric_phenotypes_of_per_chromosome_runs_are_combined():
    """UK Biobank field ids as phenotype names (plink2 gwas.chr1.50.glm.linear, REGENIE step2_chr1_21001.regenie)
    stayed one phenotype per chromosome: a digit after the tag was read as a range (chr1-2); only '-<digit>' is. A
    phenotype part1_pheno (gwas.chr1.part1_pheno.glm.linear) lost its part1 as a chunk: a chunk's tag is one only
    followed by the tool's --out separator and more of the name."""
    from edfgen.formats.sumstats.discovery import phenotype_name

    names = {"gwas.chr1.50.glm.linear": "gwas.50", "gwas.chr2.50.glm.linear": "gwas.50",
             "step2_chr1_21001.regenie": "step2_21001", "step2_chr22_21001.regenie.gz": "step2_21001",
             "gwas.chr2.21001_irnt.glm.linear": "gwas.21001_irnt", "chr1_21001.regenie": "21001",
             "gwas.chr1.part1_pheno.glm.linear": "gwas.part1_pheno", "gwas.chr1.part2.Y1.glm.linear": "gwas.Y1",
             "step2_chr1_chunk2_Y1.regenie": "step2_Y1", "step2_chr1_chunk2.Y1.regenie": "step2_chunk2.Y1",
             "step2_chr1-2_Y1.regenie": "step2_chr1-2_Y1", "gwas.chr1-22.Y1.glm.linear": "gwas.chr1-22.Y1",
             "step2_chr1_part1.regenie": "step2_part1"}
    assert {n: phenotype_name(n) for n in names} == names


#: plink2 --glm linear output (v2.00a3.5, --dummy data) as written uncompressed; ``--glm zs`` writes the same text
#: zstd-compressed (frames without their content size, as a streaming compressor writes them)
PLINK2_LINEAR = ("#CHROM\tPOS\tID\tREF\tALT\tA1\tTEST\tOBS_CT\tBETA\tSE\tT_STAT\tP\tERRCODE\n"
                 "1\t1000\tsnp0\tG\tT\tG\tADD\t268\t-0.0483944\t0.0893163\t-0.541831\t0.588388\t.\n"
                 "1\t1100\tsnp1\tA\tG\tG\tADD\t268\t0.250000\t0.0892238\t2.80194\t0.00546\t.\n"
                 "2\t1200\tsnp2\tC\tT\tT\tADD\t268\t0.0100000\t0.0900000\t0.111111\t0.911612\t.\n")


def _zstd_stream(text: str, frames: int = 2) -> bytes:
    """``text`` zstd-compressed as plink2 writes it: streamed (no content size in the frame headers), in ``frames``
    consecutive frames (a valid zstd file may hold several; ``zstd -dc`` reads them all)."""
    import zstandard

    data, cut, out = text.encode(), len(text) // frames, b""
    for i in range(frames):
        obj = zstandard.ZstdCompressor().compressobj()
        out += obj.compress(data[i * cut: None if i == frames - 1 else (i + 1) * cut]) + obj.flush()
    return out


def test_plink2_zst__glm_zs_output_reads_as_its_uncompressed_text(tmp_path):
    """plink2 --glm zs writes .glm.linear.zst: every command refused it ('zstd-compressed: ... decompress it first')
    though zstandard is installed; now read like gzip, the same table as the uncompressed file, found in a folder,
    named like it (phenotype Y1), and a file cut short refused as truncated (zstd itself reads a cut frame silently)."""
    import zstandard

    from edfgen.formats.sumstats.discovery import expand_sumstats, phenotype_name
    from edfgen.formats.sumstats.read import checked_header

    plain = tmp_path / "plain" / "gwas.Y1.glm.linear"
    plain.parent.mkdir()
    plain.write_text(PLINK2_LINEAR)
    zst = tmp_path / "zs" / "gwas.Y1.glm.linear.zst"
    zst.parent.mkdir()
    zst.write_bytes(_zstd_stream(PLINK2_LINEAR))
    assert zstandard.get_frame_parameters(zst.read_bytes()).content_size == zstandard.CONTENTSIZE_UNKNOWN
    want, _ = read_sumstats(plain)
    got, mapping = read_sumstats(zst)
    pd.testing.assert_frame_equal(got, want)
    assert mapping.layout == "plink2 --glm" and list(got["other_allele"]) == ["T", "A", "C"]
    assert checked_header(zst) == checked_header(plain)
    assert expand_sumstats([zst.parent]) == [zst] and phenotype_name(zst) == phenotype_name(plain) == "gwas.Y1"
    pd.testing.assert_frame_equal(load_zstats("Y1", [zst]).table, load_zstats("Y1", [plain]).table)
    csv = tmp_path / "gwas.csv.zst"            # a comma-separated one by its name, as .csv.gz
    csv.write_bytes(_zstd_stream(PLINK2_LINEAR.replace("\t", ",")))
    pd.testing.assert_frame_equal(read_sumstats(csv)[0], want)
    cut = tmp_path / "cut.glm.linear.zst"
    cut.write_bytes(zst.read_bytes()[:-3])
    with pytest.raises(InputError, match=r"cut\.glm\.linear\.zst: truncated zstd file"):
        read_sumstats(cut)


@pytest.mark.skipif(__import__("shutil").which("plink2") is None, reason="plink2 not installed")
def test_plink2_zst__a_real_glm_zs_run_reads_as_the_same_runs_uncompressed_output(tmp_path):
    """The same plink2 run written twice, --glm zs and --glm: edfgen reads the .zst as the plain file, row for row."""
    import subprocess

    def plink2(*args):
        subprocess.run(["plink2", "--threads", "1", *args], cwd=tmp_path, check=True, capture_output=True)
    plink2("--dummy", "200", "300", "0.1", "acgt", "scalar-pheno", "--seed", "7", "--out", "d")
    plink2("--pfile", "d", "--glm", "zs", "allow-no-covars", "--out", "z")
    plink2("--pfile", "d", "--glm", "allow-no-covars", "--out", "u")
    got, _ = read_sumstats(tmp_path / "z.PHENO1.glm.linear.zst")
    want, _ = read_sumstats(tmp_path / "u.PHENO1.glm.linear")
    assert len(want) == 300
    pd.testing.assert_frame_equal(got, want)


def test_regenie_binary__n_cases_and_n_controls_are_the_case_counts(tmp_path):
    """REGENIE step 2 on a binary trait (--bt --af-cc) writes N_CASES and N_CONTROLS beside N: they were kept as
    unknown columns, so ldsc had no sample prevalence (liability-scale h2 needed --case-counts) and mr's Steiger
    no case counts. Header as REGENIE v3 writes it."""
    f = tmp_path / "step2_bin_Y1.regenie"
    f.write_text("CHROM GENPOS ID ALLELE0 ALLELE1 A1FREQ A1FREQ_CASES A1FREQ_CONTROLS INFO N N_CASES N_CONTROLS TEST "
                 "BETA SE CHISQ LOG10P EXTRA\n"
                 "22 37658671 rs1 G GC 0.0141485 0.0157116 0.0121671 0.4 1873 1047 826 ADD 0.960713 0.475595 4.08049 "
                 "1.3627 NA\n"
                 "22 37658900 rs2 A G 0.2 0.21 0.19 0.9 1870 1045 825 ADD 0.1 0.05 4.0 1.34 NA\n")
    df, mapping = read_sumstats(f)
    assert mapping.mapping["N_CASES"] == "n_cases" and mapping.mapping["N_CONTROLS"] == "n_controls"
    assert list(df["n_cases"]) == [1047, 1045] and list(df["n_controls"]) == [826, 825]
    z = load_zstats("Y1", [f])
    assert z.binary and z.sample_prevalence == pytest.approx(np.median([1047 / 1873, 1045 / 1870]))


def _skippable_frame(payload: bytes = b"\x15\x00\x00\x00", magic: int = 0x184D2A50) -> bytes:
    """A zstd skippable frame (RFC 8878 section 3.1.2) as ``pzstd`` writes first: its magic, little-endian, the
    payload's length, the payload."""
    return magic.to_bytes(4, "little") + len(payload).to_bytes(4, "little") + payload


def test_zst_written_by_pzstd__a_leading_skippable_frame_is_read_as_zstd(tmp_path):
    """pzstd (parallel zstd) starts its files with a skippable frame (bytes 50 2a 4d 18): zstd -dc reads them, edfgen
    took only the 28 b5 2f fd magic for zstd and refused them as 'NUL bytes ... UTF-16' in every reader."""
    from edfgen.formats import textio
    from edfgen.formats.sumstats.discovery import expand_sumstats
    from edfgen.formats.sumstats.read import checked_header

    plain = tmp_path / "gwas.Y1.glm.linear"
    plain.write_text(PLINK2_LINEAR)
    want, _ = read_sumstats(plain)
    folder = tmp_path / "pz"
    folder.mkdir()
    for magic in (0x184D2A50, 0x184D2A5F):
        f = folder / f"gwas.Y{magic & 15}.glm.linear.zst"
        f.write_bytes(_skippable_frame(magic=magic) + _zstd_stream(PLINK2_LINEAR))
        assert textio.is_zstd(f.read_bytes()[:4])
        assert textio.read_text_bytes(f) == PLINK2_LINEAR.encode()
        assert textio.decompress_checked(f.read_bytes(), f) == PLINK2_LINEAR.encode()   # (a stream's path)
        with textio.open_decompressed(f) as fh:
            assert fh.readline() == PLINK2_LINEAR.encode().split(b"\n")[0] + b"\n"
        assert checked_header(f) == checked_header(plain)
        pd.testing.assert_frame_equal(read_sumstats(f)[0], want)
    assert len(expand_sumstats([folder])) == 2
    assert not textio.is_zstd(b"P*M\x17") and not textio.is_zstd(b"\x60*M\x18") and not textio.is_zstd(b"P*")


def test_zst_starting_with_blank_lines__read_as_the_tsv_and_tsv_gz_of_the_same_text(tmp_path):
    """A .tsv.zst whose text starts with an empty line: its header reader read the first line only, so it was 'empty
    (no header line)' and expand_sumstats skipped it, while the same text as .tsv / .tsv.gz was read."""
    import gzip

    from edfgen.formats.sumstats.discovery import expand_sumstats
    from edfgen.formats.sumstats.read import checked_header

    text = "\n\r\n" + PLINK2_LINEAR
    for d in ("plain", "gz", "zst"):
        (tmp_path / d).mkdir()
    plain = tmp_path / "plain" / "gwas.Y1.glm.linear"
    plain.write_text(text)
    gz = tmp_path / "gz" / "gwas.Y1.glm.linear.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    zst = tmp_path / "zst" / "gwas.Y1.glm.linear.zst"
    zst.write_bytes(_zstd_stream(text))
    assert checked_header(zst) == checked_header(gz) == checked_header(plain)
    assert checked_header(zst)[0] == "#CHROM"
    assert expand_sumstats([zst.parent]) == [zst] and expand_sumstats([gz.parent]) == [gz]
    pd.testing.assert_frame_equal(read_sumstats(zst)[0], read_sumstats(plain)[0])


def test_zst_long_window_and_compressed_twice__read_or_named(tmp_path):
    """``zstd --long=30`` (a 1 GiB window) was 'corrupt zstd data' (zstandard decodes at most 2^27 by default); a file
    zstd-compressed twice said 'edfgen reads zstd text; decompress it first', as if it were not read at all."""
    import zstandard

    from edfgen.formats.sumstats.read import checked_header

    params = zstandard.ZstdCompressionParameters(window_log=30, enable_ldm=True)
    obj = zstandard.ZstdCompressor(compression_params=params).compressobj()
    long = tmp_path / "long.glm.linear.zst"
    long.write_bytes(obj.compress(PLINK2_LINEAR.encode()) + obj.flush())
    assert zstandard.get_frame_parameters(long.read_bytes()).window_size == 1 << 30
    plain = tmp_path / "gwas.Y1.glm.linear"
    plain.write_text(PLINK2_LINEAR)
    pd.testing.assert_frame_equal(read_sumstats(long)[0], read_sumstats(plain)[0])
    assert checked_header(long) == checked_header(plain)
    twice = tmp_path / "twice.glm.linear.zst"
    twice.write_bytes(zstandard.ZstdCompressor().compress(_zstd_stream(PLINK2_LINEAR)))
    for read in (read_sumstats, checked_header):
        with pytest.raises(InputError, match=r"twice\.glm\.linear\.zst: compressed twice \(its decompressed content "
                                             r"is zstd-compressed again\)"):
            read(twice)
