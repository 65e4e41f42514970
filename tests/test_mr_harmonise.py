"""Harmonisation against TwoSampleMR's own harmonised fixture and hand-worked palindrome cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edfgen.exceptions import InputError
from edfgen.kernels.mr.harmonise import harmonise
from edfgen.formats.sumstats import load_sumstats


@pytest.fixture(scope="module")
def fixture_files(shared_data):
    d = shared_data / "mr"
    return (d / "twosamplemr_test_commondata_exp_dat.csv", d / "twosamplemr_test_commondata_out_dat.csv",
            d / "twosamplemr_test_commondata_dat.csv")


def test_harmonise__reproduces_twosamplemr_fixture(fixture_files):
    exp_f, out_f, ref_f = fixture_files
    h = harmonise(load_sumstats(exp_f), load_sumstats(out_f))
    ref = pd.read_csv(ref_f).set_index("SNP")
    h = h.set_index("variant_id")
    assert set(h.index) == set(ref.index)
    ref = ref.loc[h.index]
    assert (h["mr_keep"].to_numpy() == ref["mr_keep"].astype(bool).to_numpy()).all()
    assert (h["palindromic"].to_numpy() == ref["palindromic"].astype(bool).to_numpy()).all()
    assert (h["ambiguous"].to_numpy() == ref["ambiguous"].astype(bool).to_numpy()).all()
    np.testing.assert_allclose(h["beta_exposure"], ref["beta.exposure"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(h["beta_outcome"], ref["beta.outcome"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(h["eaf_outcome"], ref["eaf.outcome"], rtol=0, atol=1e-9)
    assert (h["effect_allele_outcome"] == ref["effect_allele.outcome"]).all()
    assert (h["other_allele_outcome"] == ref["other_allele.outcome"]).all()


def test_harmonise__fixture_with_outcome_alleles_swapped_and_strand_flipped(fixture_files):
    """Recoding the outcome (swap effect/other with beta sign, or complement strand) must not change
    the harmonised betas of non-palindromic variants."""
    exp_f, out_f, ref_f = fixture_files
    exp, out = load_sumstats(exp_f), load_sumstats(out_f)
    base = harmonise(exp, out).set_index("variant_id")
    sw = out.copy()
    sw["effect_allele"], sw["other_allele"] = out["other_allele"], out["effect_allele"]
    sw["beta"] = -out["beta"]
    sw["effect_allele_frequency"] = 1 - out["effect_allele_frequency"]
    comp = {"A": "T", "T": "A", "C": "G", "G": "C"}
    fl = out.copy()
    fl["effect_allele"] = out["effect_allele"].map(comp)
    fl["other_allele"] = out["other_allele"].map(comp)
    for variant in (sw, fl):
        h = harmonise(exp, variant).set_index("variant_id").loc[base.index]
        nonpal = ~base["palindromic"]
        np.testing.assert_allclose(h.loc[nonpal, "beta_outcome"], base.loc[nonpal, "beta_outcome"], atol=1e-12)
        assert h.loc[nonpal, "mr_keep"].all()


def _cases():
    exp = pd.DataFrame({
        "variant_id": [f"v{i}" for i in range(1, 10)],
        "effect_allele": ["A", "A", "A", "A", "A", "A", "C", "C", "A"],
        "other_allele": ["G", "G", "G", "G", "T", "T", "G", "G", "G"],
        "beta": [0.1] * 9, "standard_error": [0.01] * 9,
        "effect_allele_frequency": [0.3, 0.3, 0.3, 0.3, 0.2, 0.2, 0.45, np.nan, 0.3],
    })
    out = pd.DataFrame({
        "variant_id": [f"v{i}" for i in range(1, 9)],
        "effect_allele": ["G", "T", "C", "A", "A", "T", "C", "C"],
        "other_allele": ["A", "C", "T", "C", "T", "A", "G", "G"],
        "beta": [0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7], "standard_error": [0.02] * 8,
        "effect_allele_frequency": [0.7, 0.3, 0.7, 0.3, 0.8, 0.2, 0.3, 0.1],
    })
    return exp, out


# expected (beta_outcome, mr_keep, reason) per action, worked out by hand from TwoSampleMR's rules
EXPECTED = {
    "forward": {"v1": (-0.1, True, "kept"), "v2": (0.2, True, "kept"), "v3": (-0.3, True, "kept"),
                "v4": (None, False, "incompatible_alleles"), "v5": (0.4, True, "kept"),
                "v6": (-0.5, True, "kept"), "v7": (0.6, True, "kept"), "v8": (0.7, True, "kept"),
                "v9": (None, False, "missing_in_outcome")},
    "infer": {"v1": (-0.1, True, "kept"), "v2": (0.2, True, "kept"), "v3": (-0.3, True, "kept"),
              "v4": (None, False, "incompatible_alleles"), "v5": (-0.4, True, "kept"),
              "v6": (0.5, True, "kept"), "v7": (0.6, False, "palindromic_ambiguous_maf"),
              "v8": (None, False, "palindromic_ambiguous_maf"), "v9": (None, False, "missing_in_outcome")},
    "drop": {"v1": (-0.1, True, "kept"), "v2": (0.2, True, "kept"), "v3": (-0.3, True, "kept"),
             "v4": (None, False, "incompatible_alleles"), "v5": (None, False, "palindromic"),
             "v6": (None, False, "palindromic"), "v7": (None, False, "palindromic"),
             "v8": (None, False, "palindromic"), "v9": (None, False, "missing_in_outcome")},
}


@pytest.mark.parametrize("action", ["forward", "infer", "drop"])
def test_harmonise__palindrome_actions_on_hand_made_cases(action):
    exp, out = _cases()
    h = harmonise(exp, out, palindromes=action).set_index("variant_id")
    assert list(h.index) == [f"v{i}" for i in range(1, 10)]  # every exposure variant listed
    for vid, (beta, keep, reason) in EXPECTED[action].items():
        assert bool(h.at[vid, "mr_keep"]) is keep, (action, vid)
        assert h.at[vid, "reason"] == reason, (action, vid)
        if beta is not None:
            assert h.at[vid, "beta_outcome"] == pytest.approx(beta), (action, vid)
    assert h.at["v7", "ambiguous"] and h.at["v8", "ambiguous"] and not h.at["v5", "ambiguous"]


def test_harmonise__maf_threshold_narrows_ambiguity():
    exp, out = _cases()
    h = harmonise(exp, out, palindromes="infer", maf_threshold=0.46).set_index("variant_id")
    # v7: exposure 0.45, outcome 0.3 are outside (0.46, 0.54) and on the same side of 0.5: kept, not flipped
    assert h.at["v7", "mr_keep"] and h.at["v7", "beta_outcome"] == pytest.approx(0.6)
    assert not h.at["v8", "mr_keep"]  # missing frequency stays ambiguous


def test_harmonise__frequency_bounds_are_symmetric_like_twosamplemr():
    """0.5 - 0.42 is 0.08000000000000002 in floating point: a palindrome at eaf 0.58 was ambiguous (dropped) while
    one at 0.42 was kept; TwoSampleMR's tolerance 0.08 keeps both (review finding)."""
    def case(f):
        exp = pd.DataFrame({"variant_id": ["p"], "effect_allele": ["A"], "other_allele": ["T"], "beta": [0.1],
                            "standard_error": [0.01], "effect_allele_frequency": [f]})
        out = exp.assign(beta=0.2, standard_error=0.02)
        return bool(harmonise(exp, out, palindromes="infer").at[0, "ambiguous"])
    assert (case(0.42), case(0.58), case(0.4201), case(0.5799)) == (False, False, True, True)


def test_harmonise__bad_action_and_threshold_are_input_errors():
    exp, out = _cases()
    with pytest.raises(InputError, match="palindromes"):
        harmonise(exp, out, palindromes="guess")
    with pytest.raises(InputError, match="maf-threshold"):
        harmonise(exp, out, maf_threshold=0.7)


def test_harmonise__indels_coded_as_insertion_deletion():
    exp = pd.DataFrame({"variant_id": ["i1", "i2"], "effect_allele": ["AT", "A"], "other_allele": ["A", "AT"],
                        "beta": [0.1, 0.1], "standard_error": [0.01, 0.01]})
    out = pd.DataFrame({"variant_id": ["i1", "i2"], "effect_allele": ["I", "I"], "other_allele": ["D", "D"],
                        "beta": [0.2, 0.2], "standard_error": [0.02, 0.02]})
    h = harmonise(exp, out).set_index("variant_id")
    # i1: insertion allele AT is the exposure effect allele -> same direction; i2: opposite
    assert h.at["i1", "mr_keep"] and h.at["i1", "beta_outcome"] == pytest.approx(0.2)
    assert h.at["i2", "mr_keep"] and h.at["i2", "beta_outcome"] == pytest.approx(-0.2)


def test_harmonise__an_outcome_repeat_excludes_only_its_allele_pair_at_a_multi_allelic_site():
    """Review s42sumfix finding 2: the outcome exclusion was keyed on variant_id, so a multi-allelic outcome site
    rs1 with one A/G row and two A/T rows that differ marked the A/G instrument duplicated_in_outcome (the A/G row
    is unique and is the one the instrument means). Now only the repeated pair is excluded: an A/G instrument uses
    its row (on the other strand and flipped too); an A/T instrument is duplicated_in_outcome."""
    exp = pd.DataFrame({"variant_id": ["rs1", "rs2", "rs3"], "effect_allele": ["A", "C", "A"],
                        "other_allele": ["G", "T", "T"], "beta": [0.1, 0.2, 0.3], "standard_error": [0.01] * 3})
    out = pd.DataFrame({"variant_id": ["rs1", "rs1", "rs1", "rs2", "rs3", "rs3", "rs3"],
                        "effect_allele": ["C", "A", "A", "C", "A", "A", "A"],
                        "other_allele": ["T", "T", "T", "T", "C", "T", "T"],
                        "beta": [0.05, 0.3, 0.4, 0.1, 0.6, 0.7, 0.8], "standard_error": [0.02] * 7})
    h = harmonise(exp, out).set_index("variant_id")     # rs1 C/T: A/G on the other strand, effect allele G
    assert h.at["rs1", "reason"] == "kept" and h.at["rs1", "mr_keep"]
    assert h.at["rs1", "beta_outcome"] == pytest.approx(-0.05) and h.at["rs2", "reason"] == "kept"
    assert h.at["rs3", "reason"] == "duplicated_in_outcome" and not h.at["rs3", "mr_keep"]


def test_find_proxies__a_multi_allelic_proxy_site_gives_the_row_with_the_panels_alleles():
    """Review of stop 24: with an outcome site stored one row per ALT allele (GWAS-VCF), the proxy took the id's first
    row and checked only its effect allele against the panel, after complementing: a T/A row passed for an A/G
    proxy (T -> A) and its beta became the A-vs-G effect. Now the row whose two alleles are the panel's (either
    order, or both complemented) is used; a row sharing only one allele with the panel is no proxy."""
    from types import SimpleNamespace

    from edfgen.kernels.mr.harmonise import find_proxies

    g = np.random.default_rng(0).integers(0, 3, 200).astype(np.int8)
    panel = SimpleNamespace(variant_id=np.array(["rsT", "rsP"]), chromosome=np.array(["1", "1"]),
                            position=np.array([1000, 2000]), allele1=np.array(["A", "A"]),
                            allele2=np.array(["G", "G"]), rows_by_id={"rsT": 0, "rsP": 1})
    genotypes = lambda rows: np.column_stack([g for _ in rows])   # noqa: E731 - target and proxy: r = 1
    out = pd.DataFrame({"variant_id": ["rsP", "rsP"], "effect_allele": ["T", "G"], "other_allele": ["A", "A"],
                        "beta": [0.50, 0.10], "standard_error": [0.01, 0.01], "p_value": [1e-9, 1e-3]})
    got = find_proxies(["rsT"], out, panel, genotypes)
    assert got[["variant_id", "effect_allele", "other_allele", "proxy_variant"]].values.tolist() == [
        ["rsT", "G", "A", "rsP"]] and got["beta"].tolist() == [0.10]
    # the other strand (C/T for G/A) is the same variant; one shared allele (T/A vs A/G) is not
    flipped = out.iloc[[1]].assign(effect_allele="C", other_allele="T")
    assert find_proxies(["rsT"], flipped, panel, genotypes)["effect_allele"].tolist() == ["G"]
    assert find_proxies(["rsT"], out.iloc[[0]], panel, genotypes).empty


def test_find_proxies__a_palindromic_proxy_is_put_on_the_panels_strand_by_frequency_or_left_out():
    """review s33c F2: a C/G proxy given on the other strand was read as forward strand, so its outcome effect
    changed sign. As TwoSampleMR (maf_threshold 0.3), the outcome's eaf against the panel's frequency tells the
    strand; at a MAF >= 0.3 the proxy is not used, with a reason in harmonised.tsv."""
    from types import SimpleNamespace

    from edfgen.kernels.mr.harmonise import find_proxies, harmonise

    def panel_of(freq):
        g = np.random.default_rng(0).binomial(2, freq, 400).astype(np.int8)
        panel = SimpleNamespace(variant_id=np.array(["rsT", "rsP"]), chromosome=np.array(["1", "1"]),
                                position=np.array([1000, 2000]), allele1=np.array(["A", "C"]),
                                allele2=np.array(["G", "G"]), rows_by_id={"rsT": 0, "rsP": 1})
        return panel, lambda rows: np.column_stack([g for _ in rows])       # target and proxy: r = 1

    panel, genotypes = panel_of(0.13)
    fwd = pd.DataFrame({"variant_id": ["rsP"], "effect_allele": ["C"], "other_allele": ["G"], "beta": [0.1],
                        "standard_error": [0.01], "p_value": [1e-9], "effect_allele_frequency": [0.13]})
    rev = fwd.assign(effect_allele="G", other_allele="C")      # the same data on the other strand
    for out in (fwd, rev):
        got = find_proxies(["rsT"], out, panel, genotypes)
        assert got[["effect_allele", "other_allele", "beta"]].values.tolist() == [["A", "G", 0.1]]
        assert got["proxy_reason"].isna().all()
    exposure = pd.DataFrame({"variant_id": ["rsT"], "effect_allele": ["A"], "other_allele": ["G"], "beta": [0.2],
                             "standard_error": [0.02], "p_value": [1e-12], "effect_allele_frequency": [0.13]})
    panel, genotypes = panel_of(0.45)                          # MAF 0.45: the strand cannot be told
    got = find_proxies(["rsT"], fwd.assign(effect_allele_frequency=0.45), panel, genotypes)
    assert got["proxy_reason"].tolist() == ["palindromic_proxy_ambiguous"]
    h = harmonise(exposure, fwd.iloc[:0], proxies=got)
    assert h[["mr_keep", "reason", "proxy_variant"]].values.tolist() == [[False, "palindromic_proxy_ambiguous", "rsP"]]


def test_find_proxies__takes_the_best_usable_proxy_when_a_better_one_is_ambiguous_or_mismatched():
    """review s33d F4: the best proxy alone was tried, so an A/T proxy of MAF 0.45 (strand not inferable) or one
    whose outcome alleles differ from the panel's lost the instrument although the next proxy (r² >= 0.8) was fine."""
    from types import SimpleNamespace

    from edfgen.kernels.mr.harmonise import find_proxies

    rng = np.random.default_rng(1)
    g = rng.binomial(2, 0.45, 400).astype(np.int8)
    near = g.copy()
    near[:12] = rng.binomial(2, 0.45, 12)                     # r² about 0.95 with the target
    counts = [g, g, near]                                      # target, best proxy (r = 1), next proxy
    panel = SimpleNamespace(variant_id=np.array(["rsT", "rsBest", "rsNext"]), chromosome=np.array(["1"] * 3),
                            position=np.array([1000, 2000, 3000]), allele1=np.array(["A", "A", "C"]),
                            allele2=np.array(["G", "T", "T"]), rows_by_id={"rsT": 0, "rsBest": 1, "rsNext": 2})
    genotypes = lambda rows: np.column_stack([counts[r] for r in rows])   # noqa: E731
    out = pd.DataFrame({"variant_id": ["rsBest", "rsNext"], "effect_allele": ["A", "C"], "other_allele": ["T", "T"],
                        "beta": [0.5, 0.1], "standard_error": [0.01, 0.01], "p_value": [1e-9, 1e-3],
                        "effect_allele_frequency": [0.45, 0.45]})
    got = find_proxies(["rsT"], out, panel, genotypes)
    assert got[["variant_id", "effect_allele", "other_allele", "proxy_variant", "beta"]].values.tolist() == [
        ["rsT", "A", "G", "rsNext", 0.1]]
    assert got["proxy_reason"].isna().all() and 0.8 <= got["proxy_r2"].iloc[0] < 1
    # the best proxy's outcome alleles are not the panel's (A/C for A/T): the next one is taken too
    got = find_proxies(["rsT"], out.assign(other_allele=["C", "T"]), panel, genotypes)
    assert got["proxy_variant"].tolist() == ["rsNext"] and got["proxy_reason"].isna().all()
    # no usable proxy above --proxy-r2: the ambiguous one is reported with its reason
    got = find_proxies(["rsT"], out, panel, genotypes, r2_min=0.99)
    assert got[["proxy_variant", "proxy_reason"]].values.tolist() == [["rsBest", "palindromic_proxy_ambiguous"]]


def test_find_proxies__ids_matched_by_hash_not_pairwise_on_a_20k_variant_panel():
    """Review s32c: the panel ids were matched to the outcome's with np.isin on strings, which compares every pair
    (16 CPU-s at 20k x 20k ids, hours at a real panel); a hash join takes milliseconds. The best proxy is found."""
    import time
    from types import SimpleNamespace

    from edfgen.kernels.mr.harmonise import find_proxies

    n = 20_000
    ids = np.array([f"rs{100_000_000 + i}" for i in range(n)])
    panel = SimpleNamespace(variant_id=ids, chromosome=np.full(n, "1"), position=np.arange(n) * 100,
                            allele1=np.full(n, "A"), allele2=np.full(n, "G"), rows_by_id={s: i for i, s in enumerate(ids)})
    out = pd.DataFrame({"variant_id": np.delete(ids, n // 2), "effect_allele": "A", "other_allele": "G", "beta": 0.1,
                        "standard_error": 0.01, "p_value": 0.01})
    g = np.random.default_rng(0).integers(0, 3, (200, 1)).astype(np.int8)
    best = n // 2 + 7                           # the one panel row in LD with the target (r = 1); the rest random

    def genotypes(rows):
        noise = np.random.default_rng(1).integers(0, 3, (200, len(rows))).astype(np.int8)
        return np.where(np.isin(rows, [n // 2, best]), g, noise)

    t0 = time.process_time()
    got = find_proxies([ids[n // 2]], out, panel, genotypes, r2_min=0.8, window_kb=500)
    cpu = time.process_time() - t0
    assert got["proxy_variant"].tolist() == [ids[best]] and got["proxy_r2"].tolist() == [pytest.approx(1.0)]
    assert cpu < 2.0, cpu                       # before the fix ~16 s; after ~0.05 s (a margin for load)

def test_load_sumstats__a_harmonised_table_is_read_with_the_columns_of_its_role(fixture_files, tmp_path):
    """TwoSampleMR's harmonised ``dat`` (and edfgen's harmonised.tsv) hold two traits: the first ``X.exposure`` /
    ``X.outcome`` column of each field was read, so a dat given as --outcome was the exposure (IVW = 1), and in
    harmonise_data's own column order (se.outcome before se.exposure) a mix of both (review s30a finding 1)."""
    dat = pd.read_csv(fixture_files[2])
    first = ["SNP", "effect_allele.exposure", "other_allele.exposure", "effect_allele.outcome", "other_allele.outcome",
             "beta.exposure", "beta.outcome", "eaf.exposure", "eaf.outcome", "se.outcome", "pval.outcome",
             "samplesize.outcome"]
    dat = dat[first + [c for c in dat.columns if c not in first]]     # harmonise_data's order
    dat.to_csv(tmp_path / "dat.csv", index=False)
    for role in ("exposure", "outcome"):
        df = load_sumstats(tmp_path / "dat.csv", role=role).set_index("variant_id").loc[dat["SNP"]]
        for ours, theirs in (("beta", "beta"), ("standard_error", "se"), ("p_value", "pval"),
                             ("effect_allele_frequency", "eaf"), ("n", "samplesize")):
            np.testing.assert_allclose(df[ours].to_numpy(float), dat[f"{theirs}.{role}"].to_numpy(float), rtol=1e-12,
                                       err_msg=ours)
        assert (df["effect_allele"].to_numpy() == dat[f"effect_allele.{role}"].to_numpy()).all()
    with pytest.raises(InputError, match=r"dat\.csv: columns of two traits .*--exposure or --outcome"):
        load_sumstats(tmp_path / "dat.csv")
    dat.drop(columns=["se.outcome"]).to_csv(tmp_path / "no_se.csv", index=False)
    with pytest.raises(InputError, match=r"no_se\.csv: .*given as --outcome, it has no \.outcome column for "
                                         r"standard_error"):
        load_sumstats(tmp_path / "no_se.csv", role="outcome")


def _plain_outcome(fixture_files) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = pd.read_csv(fixture_files[1])
    return out, pd.DataFrame({"SNP": out["SNP"], "A1": out["effect_allele.outcome"], "A2": out["other_allele.outcome"],
                              "EAF": out["eaf.outcome"], "BETA": out["beta.outcome"], "SE": out["se.outcome"],
                              "P": out["pval.outcome"]})


def test_load_sumstats__two_frequency_columns_are_refused(fixture_files, tmp_path):
    """EAF and FRQ in one outcome: neither was read ('not needed here'), so every palindrome was dropped under
    --palindromes infer; MR reads the frequency, so the clash is refused as the README says (review s30a finding 4)."""
    out, t = _plain_outcome(fixture_files)
    t.assign(FRQ=t["EAF"]).to_csv(tmp_path / "o.tsv", sep="\t", index=False)
    with pytest.raises(InputError, match="o.tsv: columns 'EAF' and 'FRQ' both read as effect_allele_frequency.*"
                                         "--columns eaf=EAF"):
        load_sumstats(tmp_path / "o.tsv")
    df = load_sumstats(tmp_path / "o.tsv", {"FRQ": "effect_allele_frequency"})
    np.testing.assert_allclose(df["effect_allele_frequency"], out["eaf.outcome"])


def test_load_sumstats__without_p_values_they_are_inferred_from_beta_and_se(fixture_files, tmp_path):
    """A file without p-values was refused though MR needs none and TwoSampleMR's format_data infers them
    (review s30a finding 7)."""
    from scipy.stats import norm

    out, t = _plain_outcome(fixture_files)
    t.drop(columns="P").to_csv(tmp_path / "o.tsv", sep="\t", index=False)
    df = load_sumstats(tmp_path / "o.tsv")
    np.testing.assert_allclose(df["p_value"], 2 * norm.sf(np.abs(out["beta.outcome"] / out["se.outcome"])), rtol=1e-12)
