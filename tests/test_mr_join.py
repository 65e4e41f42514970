"""How mr finds each instrument in an outcome keyed differently (edfgen.commands.mr_join): by rsID (GWAS-SSF /
GWAS Catalog harmonised ``1_1000_G_A`` ids beside an ``rsid`` column), by chromosome, position and allele pair
(either orientation or strand), and the builds the two sides' -meta.yaml declare. The reference is the IVW
estimate written out (sum bx by / se² over sum bx² / se²) on the truth table, with the outcome betas aligned by hand
to the exposure's effect allele."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from edfgen.cli import cli
from edfgen.commands.mr import MRSettings, run_mr
from edfgen.exceptions import InputError
from edfgen.formats.dictionary import check_file

COMP = str.maketrans("ACGT", "TGCA")
PAIRS = [("A", "G"), ("C", "T"), ("A", "C"), ("G", "T")]      # no palindromes: every instrument is kept


def _truth(m=30, seed=2):
    rng = np.random.default_rng(seed)
    ea, oa = zip(*(PAIRS[i % 4] for i in range(m)))
    bx = rng.choice([-1, 1], m) * rng.uniform(0.08, 0.15, m)
    by = 0.4 * bx + rng.normal(0, 0.01, m)
    return pd.DataFrame({"chromosome": "1", "base_pair_location": 1_000_000 + 50_000 * np.arange(m),
                         "rsid": [f"rs{100 + i}" for i in range(m)], "ea": ea, "oa": oa, "bx": bx, "by": by,
                         "sey": 0.012})


def _ivw(t: pd.DataFrame) -> float:
    return float((t.bx * t.by / t.sey ** 2).sum() / (t.bx ** 2 / t.sey ** 2).sum())


def _exposure(t: pd.DataFrame, ids) -> pd.DataFrame:
    return pd.DataFrame({"chromosome": t.chromosome, "base_pair_location": t.base_pair_location, "effect_allele": t.ea,
                         "other_allele": t.oa, "beta": t.bx, "standard_error": 0.01, "p_value": 1e-30,
                         "variant_id": ids})


def _outcome(t: pd.DataFrame) -> pd.DataFrame:
    """Outcome rows: every other one with the alleles swapped (beta negated), every third on the other strand."""
    swap = np.arange(len(t)) % 2 == 1
    flip = np.arange(len(t)) % 3 == 0
    ea = np.where(swap, t.oa, t.ea)
    oa = np.where(swap, t.ea, t.oa)
    ea = np.array([a.translate(COMP) if f else a for a, f in zip(ea, flip)])
    oa = np.array([a.translate(COMP) if f else a for a, f in zip(oa, flip)])
    return pd.DataFrame({"chromosome": t.chromosome, "base_pair_location": t.base_pair_location, "effect_allele": ea,
                         "other_allele": oa, "beta": np.where(swap, -t.by, t.by), "standard_error": t.sey,
                         "p_value": 0.01})


def _run(tmp_path, exp, out, name="m"):
    exp.to_csv(tmp_path / "exp.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "out.tsv", sep="\t", index=False)
    res = run_mr(tmp_path / "exp.tsv", tmp_path / "out.tsv", tmp_path / name, clump=False, plots=False,
                 settings=MRSettings(methods=("ivw",), nboot=10, presso=False))
    ivw = res.tables["mr_results"].set_index("method").loc["Inverse variance weighted"]
    return res, ivw, json.loads((tmp_path / name / "manifest.json").read_text())["extra"]["outcome_join"]


def test_mr__gwas_ssf_outcome_with_positional_ids_meets_rsid_exposure_by_rsid(tmp_path):
    """GWAS Catalog harmonised / GWAS-SSF outcome: variant_id 1_1000000_G_A, rsid beside it (was: 0 overlap,
    missing_in_outcome for every instrument)."""
    t = _truth()
    out = _outcome(t)
    out.insert(0, "variant_id", [f"1_{p}_{o}_{e}" for p, o, e in zip(t.base_pair_location, out.other_allele,
                                                                      out.effect_allele)])
    out["rsid"] = t.rsid
    res, ivw, joins = _run(tmp_path, _exposure(t, t.rsid), out)
    assert ivw["nsnp"] == len(t) and ivw["b"] == pytest.approx(_ivw(t), rel=1e-9)
    assert set(res.harmonised["matched_by"]) == {"rsid"}
    assert joins == {"out": {"variant_id": 0, "rsid": len(t), "position": 0, "not_found": 0}}
    check_file("mr_harmonised", tmp_path / "m" / "harmonised.tsv")


def test_mr__ids_of_other_forms_meet_by_chromosome_position_and_alleles(tmp_path):
    """Exposure chr:pos:ref:alt, outcome chr-prefixed ids of another form and no rsid: found by chromosome,
    position and allele pair in either orientation and strand; a second allele at the same position (a
    multi-allelic site) is not taken."""
    t = _truth(seed=3)
    out = _outcome(t)
    out["chromosome"] = "chr1"
    out.insert(0, "variant_id", [f"chr1_{p}" for p in t.base_pair_location])
    decoy = out.iloc[[4]].assign(effect_allele="T", other_allele="G", beta=5.0, variant_id="chr1_decoy")
    assert {"T", "G"} != {t.ea[4], t.oa[4]} and {"A", "C"} != {t.ea[4], t.oa[4]}
    out = pd.concat([out, decoy], ignore_index=True)
    ids = [f"1:{p}:{o}:{e}" for p, o, e in zip(t.base_pair_location, t.oa, t.ea)]
    res, ivw, joins = _run(tmp_path, _exposure(t, ids), out)
    assert ivw["nsnp"] == len(t) and ivw["b"] == pytest.approx(_ivw(t), rel=1e-9)
    assert set(res.harmonised["matched_by"]) == {"position"} and joins["out"]["position"] == len(t)


def test_mr__different_declared_builds_match_by_rsid_only_and_say_so(tmp_path, caplog):
    """-meta.yaml genome_assembly GRCh38 vs GRCh37 (F16): no position or chr:pos-id match (a position names another
    variant on the other build); the warning and the error name the builds. rsIDs still match."""
    t = _truth(seed=4)
    out = _outcome(t)
    out.insert(0, "variant_id", [f"1:{p}:{o}:{e}" for p, o, e in zip(t.base_pair_location, out.other_allele,
                                                                       out.effect_allele)])
    ids = [f"1:{p}:{o}:{e}" for p, o, e in zip(t.base_pair_location, t.oa, t.ea)]
    (tmp_path / "exp.tsv-meta.yaml").write_text("genome_assembly: GRCh38\n")
    (tmp_path / "out.tsv-meta.yaml").write_text("genome_assembly: GRCh37\n")
    with pytest.raises(InputError, match=r"builds differ: exposure GRCh38, outcome GRCh37"):
        _run(tmp_path, _exposure(t, ids), out)
    assert "declare genome build GRCh38" in caplog.text
    # same builds: the same files are found (by id where the id and alleles agree, else by position)
    (tmp_path / "out.tsv-meta.yaml").write_text("genome_assembly: GRCh38\n")
    res, ivw, joins = _run(tmp_path, _exposure(t, ids), out, name="m2")
    assert ivw["nsnp"] == len(t) and ivw["b"] == pytest.approx(_ivw(t), rel=1e-9)
    assert joins["out"]["not_found"] == 0
    # different builds, rsIDs on both sides: matched by rsid
    (tmp_path / "out.tsv-meta.yaml").write_text("genome_assembly: GRCh37\n")
    res, ivw, joins = _run(tmp_path, _exposure(t, ids).assign(rsid=t.rsid), out.assign(rsid=t.rsid), name="m3")
    assert ivw["b"] == pytest.approx(_ivw(t), rel=1e-9) and joins["out"]["rsid"] == len(t)


def test_key_outcome__rsid_on_two_rows_with_the_same_alleles_is_left_out():
    """Review s42sumfix finding 4: an instrument matched by rsID onto two outcome rows that differ was dropped from
    the join, so it ended missing_in_outcome (matched_by NA) and --proxies could seek a proxy for it; under its id
    the same rows give duplicated_in_outcome. Now the copies stay under its id: duplicated_in_outcome, matched_by
    rsid, and the id is in the outcome (mr seeks proxies only for ids absent from it)."""
    from edfgen.commands.mr_join import key_outcome
    from edfgen.kernels.mr.harmonise import harmonise

    inst = pd.DataFrame({"variant_id": ["1:100:A:G"], "rsid": ["rs1"], "effect_allele": ["G"], "other_allele": ["A"],
                         "beta": [0.2], "standard_error": [0.01]})
    out = pd.DataFrame({"variant_id": ["x", "y"], "rsid": ["rs1", "rs1"], "effect_allele": ["G", "A"],
                        "other_allele": ["A", "G"], "beta": [0.1, -0.2], "standard_error": [0.1, 0.1]})
    got, matched = key_outcome(out, inst)
    assert matched == {"1:100:A:G": "rsid"} and (got["variant_id"] == "1:100:A:G").sum() == 2
    h = harmonise(inst, got[got["variant_id"] == "1:100:A:G"])
    assert h["reason"].tolist() == ["duplicated_in_outcome"] and not h["mr_keep"].any()
    whole, _ = key_outcome(out.iloc[[0, 0]], inst)        # a whole-row repeat: used once
    assert harmonise(inst, whole[whole["variant_id"] == "1:100:A:G"])["reason"].tolist() == ["kept"]


def test_cli_mr__no_overlap_error_shows_an_id_of_each_side(tmp_path):
    t = _truth(seed=5)
    out = _outcome(t)
    out.insert(0, "variant_id", [f"v{i}" for i in range(len(t))])
    out = out.drop(columns=["base_pair_location"])
    _exposure(t, t.rsid).to_csv(tmp_path / "exp.tsv", sep="\t", index=False)
    out.to_csv(tmp_path / "out.tsv", sep="\t", index=False)
    res = CliRunner().invoke(cli, ["mr", "--exposure", str(tmp_path / "exp.tsv"), "--outcome", str(tmp_path / "out.tsv"),
                                   "--no-clump", "--no-plots", "--presso-sims", "0", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2, res.output
    assert "e.g. exposure 'rs100', outcome 'v0'" in res.output


def test_mvmr__outcome_keyed_by_positions_meets_the_instruments_by_rsid(tmp_path):
    """mr --multivariable: the GWAS-SSF outcome keyed 1_pos_oa_ea (+ rsid) gives the estimates of the same outcome
    keyed by rsID."""
    from edfgen.commands.mr_multivariable import run_mvmr

    t = _truth(m=40, seed=6)
    rng = np.random.default_rng(7)
    bx2 = rng.choice([-1, 1], len(t)) * rng.uniform(0.08, 0.15, len(t))
    t["by"] = 0.4 * t.bx + 0.2 * bx2 + rng.normal(0, 0.01, len(t))
    _exposure(t, t.rsid).to_csv(tmp_path / "e1.tsv", sep="\t", index=False)
    _exposure(t.assign(bx=bx2), t.rsid).to_csv(tmp_path / "e2.tsv", sep="\t", index=False)
    out = _outcome(t)
    out.assign(variant_id=t.rsid).to_csv(tmp_path / "y.tsv", sep="\t", index=False)
    (tmp_path / "ssf").mkdir()
    out.assign(variant_id=[f"1_{p}_{o}_{e}" for p, o, e in zip(t.base_pair_location, out.other_allele,
                                                                out.effect_allele)], rsid=t.rsid).drop(
        columns="base_pair_location").to_csv(tmp_path / "ssf" / "y.tsv", sep="\t", index=False)
    kw = {"p_threshold": 1e-8, "clump": False}
    a = run_mvmr([tmp_path / "e1.tsv", tmp_path / "e2.tsv"], [tmp_path / "y.tsv"], None, **kw).results
    b = run_mvmr([tmp_path / "e1.tsv", tmp_path / "e2.tsv"], [tmp_path / "ssf" / "y.tsv"], None, **kw).results
    assert len(a) == 2 and (a["nsnp"] == len(t)).all()
    pd.testing.assert_frame_equal(a, b)
    assert a.set_index("exposure")["b"].to_numpy() == pytest.approx([0.4, 0.2], abs=0.02)


def test_check_builds__outcomes_of_different_builds_warn_not_refuse(tmp_path, caplog):
    from edfgen.commands.mr_join import check_builds

    for name, build in (("e", "GRCh38"), ("o37", "GRCh37"), ("o38", "GRCh38")):
        (tmp_path / f"{name}.tsv").write_text("x\n")
        (tmp_path / f"{name}.tsv-meta.yaml").write_text(f"genome_assembly: {build}\n")
    e, o37, o38, bare = (tmp_path / "e.tsv", tmp_path / "o37.tsv", tmp_path / "o38.tsv", tmp_path / "bare.tsv")
    assert check_builds([e], [o38]) and check_builds([e], [bare]) and check_builds([bare], [o37])
    assert not check_builds([e], [o37]) and "GRCh38 and the outcome files GRCh37" in caplog.text
    assert not check_builds([e], [o37, o38])        # one phenotype's files disagree: warned, positions not used


def test_mr__outcome_rsid_cells_listing_several_rsids_are_matched(tmp_path):
    """Review s28b F6: an outcome rsid cell listing several rsIDs (FinnGen's rsids "rs1,rs2"; "rs1;rs2") was never
    matched (the candidate filter compared the raw cell); the instrument's rsID anywhere in the cell now finds it."""
    t = _truth()
    out = _outcome(t)
    out.insert(0, "variant_id", [f"1_{p}" for p in t.base_pair_location])
    out["base_pair_location"] += 7          # no position match: only the rsID can find them
    cells = []
    for i, rs in enumerate(t.rsid):
        cells.append({0: f"{rs},rs9{i}", 1: f"rs9{i},{rs}", 2: f"rs9{i}; {rs}"}.get(i % 4, rs))
    out["rsid"] = cells
    res, ivw, joins = _run(tmp_path, _exposure(t, t.rsid), out)
    assert ivw["nsnp"] == len(t) and ivw["b"] == pytest.approx(_ivw(t), rel=1e-9)
    assert joins["out"]["rsid"] == len(t) and joins["out"]["not_found"] == 0


def test_mr__position_matching_without_declared_builds_is_warned_and_off_when_positions_disagree(tmp_path, caplog):
    """Review s28b F5: without -meta.yaml builds, positions were matched silently. Now a warning says so; and when
    the instruments found by rsID sit at other positions in the outcome (another build: GRCh37 exposure, GRCh38
    FinnGen outcome), the rest are not matched by position at all."""
    import logging

    t = _truth(m=20)
    exp = _exposure(t, [rs if i < 14 else f"1:{p}" for i, (rs, p) in enumerate(zip(t.rsid, t.base_pair_location))])
    out = _outcome(t)
    out.insert(0, "variant_id", [f"chr1_{p}" for p in t.base_pair_location])
    out["rsid"] = [rs if i < 14 else "." for i, rs in enumerate(t.rsid)]
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        _, ivw, joins = _run(tmp_path, exp, out, name="same")
    assert joins["out"]["position"] == 6 and ivw["nsnp"] == 20
    assert "declares no genome build" in caplog.text
    caplog.clear()
    out["base_pair_location"] += 123_456    # the outcome on another build: rsID-found instruments elsewhere
    with caplog.at_level(logging.WARNING, logger="edfgen"):
        _, ivw, joins = _run(tmp_path, exp, out, name="other")
    assert joins["out"] == {"variant_id": 0, "rsid": 14, "position": 0, "not_found": 6} and ivw["nsnp"] == 14
    assert "only 0 of 14 instruments found by id or rsID sit at the same position" in caplog.text


def test_mr__ids_in_upper_case_or_padded_with_spaces_meet_as_in_twosamplemr(tmp_path):
    """An outcome keyed RS977747 or ' rs977747 ' without positions found no instrument; TwoSampleMR's format_data
    lower-cases and strips SNP, so the same files work there (review s30a finding 6). Other ids keep their case."""
    t = _truth()
    out = _outcome(t).drop(columns=["chromosome", "base_pair_location"])
    out.insert(0, "variant_id", [f" {r} " if i % 2 else r.upper() for i, r in enumerate(t.rsid)])
    res, ivw, joins = _run(tmp_path, _exposure(t, t.rsid), out)
    assert ivw["nsnp"] == len(t) and ivw["b"] == pytest.approx(_ivw(t), rel=1e-9)
    from edfgen.formats.sumstats.twosamplemr import tidy_variant_ids

    ids = pd.Series(["RS1", "Rs2", "rs3 ", "1:100:A:G", "X:5:ACGT:A", "rsx"])
    assert tidy_variant_ids(ids).tolist() == ["rs1", "rs2", "rs3", "1:100:A:G", "X:5:ACGT:A", "rsx"]


# ------------------------------------------------------------------ s36a: the outcome read fast and cut to candidates

def _gwas(rows=400, seed=4):
    """A GWAS-SSF outcome of ``rows`` variants on 2 chromosomes (positions repeated on both), 17-digit p-values."""
    rng = np.random.default_rng(seed)
    ea, oa = zip(*(PAIRS[i % 4] for i in range(rows)))
    beta = rng.normal(0, 0.02, rows)
    return pd.DataFrame({"chromosome": np.repeat(["1", "2"], rows // 2), "base_pair_location":
                         np.tile(1000 + 100 * np.arange(rows // 2), 2), "effect_allele": ea, "other_allele": oa,
                         "beta": beta, "standard_error": 0.01, "effect_allele_frequency": rng.uniform(0.1, 0.9, rows),
                         "p_value": rng.uniform(0, 1, rows), "variant_id": [f"rs{i}" for i in range(rows)],
                         "n": 5000})


def test_load_sumstats__only_mr_columns_reads_the_same_rows_and_values_fast(tmp_path):
    from edfgen.formats.sumstats import load_sumstats
    from edfgen.formats.sumstats.twosamplemr import object_strings

    g = _gwas().assign(ci_lower=0.0, variance_explained=1e-5, rsid=lambda d: d["variant_id"])
    g.loc[3, "variant_id"] = "RS3 "                     # tidied as TwoSampleMR's format_data does, either way
    g.to_csv(tmp_path / "y.tsv", sep="\t", index=False)
    whole = load_sumstats(tmp_path / "y.tsv", role="outcome")
    fast = load_sumstats(tmp_path / "y.tsv", role="outcome", only_mr_columns=True)
    arrow = load_sumstats(tmp_path / "y.tsv", role="outcome", only_mr_columns=True, arrow_strings=True)
    assert "ci_lower" in whole and "ci_lower" not in fast            # the columns MR does not use are not read
    assert isinstance(arrow["variant_id"].dtype, pd.ArrowDtype)
    assert fast["variant_id"].iloc[3] == "rs3"
    for df in (fast, object_strings(arrow)):
        pd.testing.assert_frame_equal(df, whole[list(df.columns)], check_exact=False, rtol=1e-15)
    # a TwoSampleMR export is read whole (its .outcome columns mapped), as before
    t = g.rename(columns={"variant_id": "SNP", "beta": "beta.outcome", "standard_error": "se.outcome",
                          "effect_allele": "effect_allele.outcome", "other_allele": "other_allele.outcome",
                          "p_value": "pval.outcome"})
    t.to_csv(tmp_path / "t.tsv", sep="\t", index=False)
    assert "ci_lower" in load_sumstats(tmp_path / "t.tsv", role="outcome", only_mr_columns=True)


def test_load_sumstats__a_repeat_is_still_named_by_its_rows_when_only_repeated_ids_are_keyed(tmp_path, caplog):
    """A repeated variant no longer stops mr (it refused the whole file): rows repeated whole are used once; a
    repeat whose values differ is kept, named by its rows in the log (only an instrument is left out of it)."""
    import logging

    from edfgen.formats.sumstats import load_sumstats

    g = _gwas(40)
    g = pd.concat([g.iloc[:7], g.iloc[[5]], g.iloc[7:], g.iloc[[5]]], ignore_index=True)   # rs5 on rows 6, 8, 42
    g.to_csv(tmp_path / "y.tsv", sep="\t", index=False)
    g.iloc[[7]].assign(beta=0.5).pipe(lambda r: pd.concat([g.iloc[:7], r, g.iloc[8:]])).to_csv(
        tmp_path / "d.tsv", sep="\t", index=False)                            # row 8 disagrees with row 6
    for kw in ({}, {"only_mr_columns": True, "arrow_strings": True}):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="edfgen"):
            df = load_sumstats(tmp_path / "y.tsv", **kw)
        assert len(df) == 40 and (df["variant_id"] == "rs5").sum() == 1
        assert "y.tsv: 2 row(s) repeat an earlier row whole (e.g. 'rs5' on row 8): each used once" in caplog.text
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="edfgen"):
            df = load_sumstats(tmp_path / "d.tsv", **kw)
        assert len(df) == 41 and sorted(df.loc[df["variant_id"] == "rs5", "beta"].round(6)) == sorted(
            [round(g.at[5, "beta"], 6), 0.5])
        assert ("d.tsv: 1 variant(s) on several rows with the same alleles and different values (e.g. 'rs5' on rows "
                "6, 8)") in caplog.text


def test_candidate_rows__key_outcome_on_the_cut_outcome_equals_it_on_the_whole_file():
    from edfgen.commands.mr_join import candidate_rows, key_outcome

    out = _gwas().assign(rsid=lambda d: d["variant_id"])
    out["variant_id"] = [f"{c}_{p}_{o}_{e}" for c, p, o, e in zip(out.chromosome, out.base_pair_location,
                                                                  out.other_allele, out.effect_allele)]
    out.loc[50, "rsid"] = "rs9000;rs50"                 # a cell listing two rsIDs
    inst = pd.DataFrame({"variant_id": ["1_1500_T_C", "rs9000", "rs120", "1:2000:C:A", "rs7777"],
                         "effect_allele": ["C", "C", "A", "A", "C"], "other_allele": ["T", "A", "G", "C", "T"],
                         "chromosome": "1", "base_pair_location": [1500, 6000, 13000, 2000, 99]})
    keep = candidate_rows(out, inst)
    assert keep[0] and keep.sum() < 20                  # the first row (an example id in messages) is always kept
    cut, m_cut = key_outcome(out[keep], inst)
    whole, m_whole = key_outcome(out, inst)
    assert m_cut == m_whole and set(m_cut.values()) == {"variant_id", "rsid", "position"}
    wanted = whole["variant_id"].isin(inst["variant_id"])
    pd.testing.assert_frame_equal(cut[cut["variant_id"].isin(inst["variant_id"])].reset_index(drop=True),
                                  whole[wanted].reset_index(drop=True))
    assert candidate_rows(out, inst, near={"2_1100_G_A"})[out["variant_id"] == "2_1100_G_A"].all()


def test_proxy_candidates__are_the_panel_variants_within_the_window_of_an_instrument():
    from types import SimpleNamespace

    from edfgen.commands.mr_join import proxy_candidates

    rng = np.random.default_rng(1)
    v = SimpleNamespace(variant_id=np.array([f"v{i}" for i in range(300)]), chromosome=rng.choice(["1", "2"], 300),
                        position=rng.integers(0, 3_000_000, 300))
    v.rows_by_id = pd.Series(np.arange(300), index=v.variant_id)
    ids = ["v3", "v77", "v150", "absent"]
    brute = {v.variant_id[j] for i in (3, 77, 150) for j in range(300)
             if v.chromosome[j] == v.chromosome[i] and abs(v.position[j] - v.position[i]) <= 250_000}
    assert proxy_candidates(v, ids, 250) == brute and proxy_candidates(v, ["absent"], 250) == set()


def test_repeated_rows__a_repeat_differing_only_in_a_column_mr_does_not_read_is_used_once_by_every_reader(tmp_path):
    """A row repeated on the MR columns is one variant whatever an extra column (``info``) says: the GWAS-SSF
    subset reader (only_mr_columns) and the whole-file reader both keep rs2 once (the whole-file one read the
    ``info`` column, called the rows different and left rs2 out of mr: second read s42), and so does harmonise."""
    from edfgen.formats.sumstats import load_sumstats
    from edfgen.kernels.mr.harmonise import harmonise

    g = pd.DataFrame({"variant_id": [f"rs{i}" for i in range(5)], "chromosome": "1",
                      "base_pair_location": np.arange(5) * 100 + 100, "effect_allele": "A", "other_allele": "G",
                      "beta": 0.1, "standard_error": 0.01, "p_value": 1e-10, "info": 0.9})
    g = pd.concat([g, g.iloc[[2]].assign(info=0.5)], ignore_index=True)
    g.to_csv(tmp_path / "i.tsv", sep="\t", index=False)
    for kw in ({}, {"only_mr_columns": True}):
        df = load_sumstats(tmp_path / "i.tsv", **kw)
        assert (df["variant_id"] == "rs2").sum() == 1, kw
    h = harmonise(g.iloc[:5].drop(columns="info"), g, exposure_name="x", outcome_name="y")
    assert h.loc[h["variant_id"] == "rs2", "mr_keep"].tolist() == [True]
    assert "duplicated_in_outcome" not in set(h["reason"].dropna())
