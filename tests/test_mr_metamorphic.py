"""Metamorphic checks of ``edfgen mr`` on the TwoSampleMR fixture (BMI -> CHD, 79 SNPs): transformations of the
inputs that must leave every table unchanged (the outcome's alleles swapped or on the other strand, its rows
reordered) or change it in a known way (the exposure in other units: every causal estimate and SE scales, no
p-value, heterogeneity, Steiger or MR-PRESSO statistic moves), and a repeated outcome row refused, never counted
twice. The exposure's row order is tested in ``test_mr_cli.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edfgen.commands.mr import MRSettings, run_mr
from edfgen.exceptions import InputError

SETTINGS = MRSettings(nboot=60, presso_sims=60, seed=5)
OUT = "twosamplemr_test_commondata_out_dat.csv"
EXP = "twosamplemr_test_commondata_exp_dat.csv"
#: columns in outcome units per exposure unit (they scale by 1/c when the exposure is in units c times smaller)
CAUSAL = {"b", "se", "lo_ci", "up_ci", "raw_b", "raw_se", "corrected_b", "corrected_se"}
COMPLEMENT = str.maketrans("ACGT", "TGCA")


@pytest.fixture(scope="module")
def base(shared_data):
    d = shared_data / "mr"
    return d, _tables(d / EXP, d / OUT)


def _tables(exposure: Path, outcome: Path) -> dict[str, pd.DataFrame]:
    return run_mr(exposure, outcome, None, settings=SETTINGS, clump=False, plots=False).tables


def _write(df: pd.DataFrame, folder: Path, name: str) -> Path:
    folder.mkdir()
    df.to_csv(folder / name, index=False)           # the same file name: the pair's name (and bootstrap seed)
    return folder / name


def _outcome_variants(d: Path, tmp_path: Path) -> dict[str, Path]:
    o = pd.read_csv(d / OUT)
    swapped = o.assign(**{"effect_allele.outcome": o["other_allele.outcome"],
                          "other_allele.outcome": o["effect_allele.outcome"],
                          "beta.outcome": -o["beta.outcome"], "eaf.outcome": 1 - o["eaf.outcome"]})
    strand = o.assign(**{c: o[c].str.translate(COMPLEMENT) for c in ("effect_allele.outcome", "other_allele.outcome")})
    return {"alleles swapped": _write(swapped, tmp_path / "swapped", OUT),
            "other strand": _write(strand, tmp_path / "strand", OUT),
            "rows reordered": _write(o.sample(frac=1, random_state=2), tmp_path / "shuffled", OUT)}


def test_mr__outcome_alleles_swapped_strand_flipped_or_reordered_change_no_table(base, tmp_path):
    d, ref = base
    for what, path in _outcome_variants(d, tmp_path).items():
        got = _tables(d / EXP, path)
        for name, table in ref.items():
            assert len(table), name
            pd.testing.assert_frame_equal(got[name], table, rtol=1e-10, obj=f"{what}: {name}")


def test_mr__exposure_in_other_units_scales_estimates_and_keeps_every_p_value(base, tmp_path):
    d, ref = base
    c = 10.0
    e = pd.read_csv(d / EXP)
    scaled = _tables(_write(e.assign(**{"beta.exposure": c * e["beta.exposure"], "se.exposure": c * e["se.exposure"]}),
                            tmp_path / "scaled", EXP), d / OUT)
    for name, table in ref.items():
        got = scaled[name]
        for col in table.columns:
            if col in ("or", "or_lci95", "or_uci95") or table[col].dtype.kind != "f":
                continue
            # mr_pleiotropy's se is the Egger intercept's, in outcome units: unchanged
            factor = c if col in CAUSAL and not (name == "mr_pleiotropy" and col == "se") else 1.0
            np.testing.assert_allclose(got[col].to_numpy() * factor, table[col].to_numpy(), rtol=1e-8,
                                       err_msg=f"{name}.{col}")
    p = ref["mr_results"].set_index("method")["pval"]
    assert p.notna().all() and np.isfinite(ref["mr_steiger"]["steiger_pval"]).all()


def test_mr__a_repeated_outcome_row_is_harmless_unless_it_disagrees_at_an_instrument(base, tmp_path, caplog):
    """A variant repeated with the same alleles anywhere in the outcome stopped the whole run ('variant ... with the
    same alleles appears on rows 6, 80'), stricter than TwoSampleMR (format_data keeps the first row, warned). Now:
    a repeat of a variant that is not an instrument changes nothing; an instrument's row repeated whole is used
    once (the fixture's results exactly); repeated with other values (beta, or the other allele) the instrument is
    left out, reason duplicated_in_outcome: the results of the outcome without that variant, never one row picked."""
    import logging

    d, ref = base
    o = pd.read_csv(d / OUT)
    snp = o.at[5, "SNP"]
    stranger = o.iloc[[7, 7]].assign(SNP="rs999999999", **{"beta.outcome": [0.1, -0.2]})   # not an instrument
    whole = _tables(d / EXP, _write(pd.concat([o, o.iloc[[5]], stranger]), tmp_path / "whole", OUT))
    for name in ("mr_results", "mr_heterogeneity", "mr_pleiotropy"):
        pd.testing.assert_frame_equal(whole[name], ref[name])
    without = run_mr(d / EXP, _write(o.drop(index=5), tmp_path / "without", OUT), None, settings=SETTINGS,
                     clump=False, plots=False)
    for k, row in enumerate((o.iloc[[5]].assign(**{"beta.outcome": o.at[5, "beta.outcome"] * 1.5}),   # other beta
                             o.iloc[[5]].assign(**{"effect_allele.outcome": o.at[5, "other_allele.outcome"],
                                                   "other_allele.outcome": o.at[5, "effect_allele.outcome"],
                                                   "beta.outcome": -o.at[5, "beta.outcome"]}))):   # other allele
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="edfgen"):
            run = run_mr(d / EXP, _write(pd.concat([o, row]), tmp_path / f"dup{k}", OUT), None, settings=SETTINGS,
                         clump=False, plots=False)
        h = run.harmonised.set_index("variant_id")
        assert h.at[snp, "reason"] == "duplicated_in_outcome" and not h.at[snp, "mr_keep"]
        assert (h["reason"] == "duplicated_in_outcome").sum() == 1
        assert "1 of 79 instruments not used (duplicated_in_outcome 1;" in caplog.text
        for name in ("mr_results", "mr_heterogeneity", "mr_pleiotropy"):
            pd.testing.assert_frame_equal(run.tables[name], without.tables[name])


def test_mr__a_repeated_exposure_row_is_used_once_or_its_instrument_left_out(base, tmp_path, caplog):
    """The exposure had the outcome's strictness: any variant repeated with the same alleles stopped the run. A row
    repeated whole is now used once (the fixture's results); repeated with another beta, that instrument is left
    out with a warning: the results of the exposure without it."""
    import logging

    d, ref = base
    e = pd.read_csv(d / EXP)
    snp = e.at[5, "SNP"]
    whole = _tables(_write(pd.concat([e, e.iloc[[5]]]), tmp_path / "whole", EXP), d / OUT)
    without = _tables(_write(e.drop(index=5), tmp_path / "without", EXP), d / OUT)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        other = _tables(_write(pd.concat([e, e.iloc[[5]].assign(**{"beta.exposure": e.at[5, "beta.exposure"] * 2})]),
                               tmp_path / "other", EXP), d / OUT)
    assert f"1 instrument(s) of {EXP.removesuffix('.csv')} on several rows with the same alleles and different " \
           f"values or positions (e.g. '{snp}' on 2 rows): left out, never one of the rows picked" in caplog.text, caplog.text
    for name in ("mr_results", "mr_heterogeneity", "mr_pleiotropy"):
        pd.testing.assert_frame_equal(whole[name], ref[name])
        pd.testing.assert_frame_equal(other[name], without[name])


def test_mr__a_repeat_inside_one_of_an_outcomes_per_chromosome_files_is_harmless(base, tmp_path):
    """The same rule where the outcome is one phenotype's per-chromosome files: a variant (not an instrument)
    repeated with other values inside one file stopped the run ('appears twice (b/out.csv): files of one name ...
    must not overlap'); the split outcome now gives the fixture's tables, and a variant in two files is still refused."""
    d, ref = base
    o = pd.read_csv(d / OUT)
    lo, hi = o[o["chr"] <= 5], o[o["chr"] > 5]
    extra = hi.iloc[[0, 0]].assign(SNP="rs999999999", **{"beta.outcome": [0.1, -0.2]})
    a = _write(lo, tmp_path / "a", OUT)
    b = _write(pd.concat([hi, extra]), tmp_path / "b", OUT)
    got = run_mr(d / EXP, [a, b], None, settings=SETTINGS, clump=False, plots=False).tables
    for name in ("mr_results", "mr_heterogeneity", "mr_pleiotropy"):
        pd.testing.assert_frame_equal(got[name], ref[name])
    c = _write(pd.concat([lo, hi.iloc[[0]]]), tmp_path / "c", OUT)
    with pytest.raises(InputError, match=rf"variant '{hi['SNP'].iloc[0]} .*' of phenotype .* appears twice"):
        run_mr(d / EXP, [c, b], None, settings=SETTINGS, clump=False, plots=False)


def test_mr__a_repeat_that_disagrees_is_left_out_even_when_one_row_fails_the_p_threshold(base, tmp_path, caplog):
    """Review s42sumfix finding 1: the p filter ran before the 'rows that differ' check, so an instrument on two
    rows that disagree, one p < 5e-8 and one p >= 5e-8, kept the strong row silently (a pick). The disagreement is
    now found among all selected rows: the instrument is left out, named in the warning, as without the p filter."""
    import logging

    d, _ = base
    e = pd.read_csv(d / EXP)
    k = int(np.flatnonzero(e["SNP"] == "rs543874")[0])
    weak = e.iloc[[k]].assign(**{"beta.exposure": 0.001, "pval.exposure": 0.5})
    path = _write(pd.concat([e, weak]), tmp_path / "weak", EXP)
    without = run_mr(_write(e.drop(index=k), tmp_path / "without", EXP), d / OUT, None,
                     settings=MRSettings(nboot=60, presso_sims=60, seed=5, p_threshold=5e-8), clump=False,
                     plots=False)
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        got = run_mr(path, d / OUT, None, settings=MRSettings(nboot=60, presso_sims=60, seed=5, p_threshold=5e-8),
                     clump=False, plots=False)
    assert "rs543874" not in set(got.harmonised["variant_id"])
    assert "(e.g. 'rs543874' on 2 rows): left out, never one of the rows picked" in caplog.text, caplog.text
    for name in ("mr_results", "mr_heterogeneity", "mr_pleiotropy"):
        pd.testing.assert_frame_equal(got.tables[name], without.tables[name])
