"""``edfgen mr --multivariable``: multivariable MR of several exposures on each outcome.

Instruments are the union of every exposure's variants with p < ``p_threshold`` (and in the
``--instruments`` list when given), re-clumped together against the LD panel on the smallest p of each
variant across the exposures (TwoSampleMR ``mv_extract_exposures``). Every exposure and outcome is
harmonised to the first exposure's alleles (TwoSampleMR ``mv_harmonise_data``); a variant is used when
it is kept in every harmonisation. Estimates: :func:`edfgen.kernels.mr.multivariable.mvmr_ivw` (MVMR-IVW,
conditional F of Sanderson 2021, Q_A), one ``mvmr_results.tsv`` row per exposure and outcome.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from edfgen.commands.mr_join import candidate_rows, key_outcome
from edfgen.commands.mr_instruments import (clump_instruments, list_phenotypes, load_phenotype, one_row_per_variant,
                                            select_instruments)
from edfgen.commands.sumstats_options import check_columns_present
from edfgen.exceptions import InputError
from edfgen.formats.manifest import recording
from edfgen.formats.sumstats import read_instruments
from edfgen.formats.sumstats.twosamplemr import object_strings
from edfgen.formats.tables import PathLike, prepare_out_dir, write_table
from edfgen.kernels.alleles import variant_allele_keys
from edfgen.kernels.mr.harmonise import harmonise
from edfgen.kernels.mr.multivariable import mvmr_ivw

log = logging.getLogger(__name__)

MVMR_COLUMNS = ["exposure", "outcome", "method", "nsnp", "b", "se", "pval", "lo_ci", "up_ci", "conditional_f",
                "q_a", "q_a_df", "q_a_pval"]
MVMR_METHOD = "Multivariable IVW"
#: ``mvmr_harmonised.tsv``: each instrument's effect on each exposure and the outcome, harmonised to the first
#: exposure's effect allele, one row per outcome, instrument and trait
MVMR_HARMONISED_COLUMNS = ["outcome", "variant_id", "effect_allele", "other_allele", "trait", "role", "beta", "se",
                           "p_value", "reason", "mr_keep", "matched_by"]
#: the ``matched_by`` warnings of :func:`~edfgen.commands.mr_join.key_outcome` point to this file
_TABLE = "mvmr_harmonised.tsv"


@dataclass(frozen=True)
class MVMRRun:
    """What :func:`run_mvmr` computed: ``mvmr_results``, the instruments used per outcome, and
    ``mvmr_harmonised`` (:data:`MVMR_HARMONISED_COLUMNS`)."""

    results: pd.DataFrame
    instruments: dict
    seconds: float
    harmonised: pd.DataFrame | None = None


def _harmonised_rows(oname: str, ref: pd.DataFrame, names: list[str], tables: list[pd.DataFrame],
                     matched: list[dict], keep: np.ndarray) -> pd.DataFrame:
    """``mvmr_harmonised`` rows of one outcome: the first exposure's rows (``ref``, the alleles every trait is
    harmonised to) and the harmonised tables of the other exposures and the outcome (``tables``, in that order);
    ``matched``: for each table, instrument id -> the key that found it in that file
    (:func:`~edfgen.commands.mr_join.key_outcome`), ``matched_by`` as in ``harmonised.tsv`` (the first exposure's
    own rows: ``variant_id``); ``mr_keep``: the instrument is in this outcome's estimate."""
    base = {"outcome": oname, "variant_id": ref["variant_id"].to_numpy(object),
            "effect_allele": ref["effect_allele"].astype(str).str.upper().to_numpy(object),
            "other_allele": ref["other_allele"].astype(str).str.upper().to_numpy(object), "mr_keep": keep}
    first = {c: pd.to_numeric(ref[c], errors="coerce").to_numpy(float) for c in ("beta", "standard_error", "p_value")}
    ok = np.isfinite(first["beta"]) & np.isfinite(first["standard_error"])
    parts = [pd.DataFrame({**base, "trait": names[0], "role": "exposure", "beta": first["beta"],
                           "se": first["standard_error"], "p_value": first["p_value"],
                           "reason": np.where(ok, "kept", "missing_estimate"), "matched_by": "variant_id"})]
    for i, (trait, h, by) in enumerate(zip([*names[1:], oname], tables, matched)):
        found = h["variant_id"].map(by).to_numpy(object)
        parts.append(pd.DataFrame({**base, "trait": trait, "role": "outcome" if i == len(tables) - 1 else "exposure",
                                   "beta": h["beta_outcome"].to_numpy(float), "se": h["se_outcome"].to_numpy(float),
                                   "p_value": h["p_outcome"].to_numpy(float), "reason": h["reason"].to_numpy(object),
                                   "matched_by": np.where(h["reason"] == "missing_in_outcome", None, found)}))
    return pd.concat(parts, ignore_index=True)[MVMR_HARMONISED_COLUMNS]


def _union_clumped(frames: dict[str, pd.DataFrame], ids: list[str], ld_bfile, *, p_threshold: float,
                   r2: float, kb: float) -> list[str]:
    """The union re-clumped on each variant's smallest p across the exposures."""
    p = pd.concat([f.loc[f["variant_id"].isin(ids), ["variant_id", "p_value"]] for f in frames.values()])
    p = p.assign(p_value=pd.to_numeric(p["p_value"], errors="coerce")).groupby("variant_id", sort=False)[
        "p_value"].min().reset_index()
    with tempfile.TemporaryDirectory(prefix="edfgen-mvmr-") as tmp:
        path = Path(tmp) / "mvmr_union.tsv"
        p.to_csv(path, sep="\t", index=False)
        kept = set(clump_instruments([path], ld_bfile, p_threshold=p_threshold, r2=r2, kb=kb)[0]["variant_id"])
    return [v for v in ids if v in kept]


def run_mvmr(exposure: Sequence[PathLike], outcome: Sequence[PathLike], out_dir: PathLike | None, *,
             p_threshold: float | None, clump: bool = True, clump_r2: float = 0.001, clump_kb: float = 10000.0,
             instruments: PathLike | None = None, ld_bfile=None, palindromes: str = "infer",
             maf_threshold: float = 0.42, columns: dict[str, str] | None = None, force: bool = False,
             parameters: dict | None = None) -> MVMRRun:
    """Multivariable MR of the ``exposure`` phenotypes (two or more) on each ``outcome`` (module docstring).

    Clumping follows :func:`edfgen.commands.mr.run_mr`: on by default against ``ld_bfile``; without a
    panel an ``instruments`` list is taken as independent, with neither it is an input error.
    Exposure files must hold every instrument (full summary statistics), else the variant is dropped.
    """
    t0 = time.perf_counter()
    exp_groups = list_phenotypes(list(exposure), "--exposure", columns)
    out_groups = list_phenotypes(list(outcome), "--outcome", columns)
    check_columns_present(columns, [f for g in (exp_groups, out_groups) for fs in g.values() for f in fs],
                          "--exposure/--outcome")
    if len(exp_groups) < 2:
        raise InputError(f"--multivariable needs two or more exposures, got {len(exp_groups)} "
                         f"({', '.join(exp_groups)})")
    if clump and ld_bfile is None:
        if instruments is None:
            raise InputError("edfgen mr --multivariable clumps the union of instruments: give an LD reference panel "
                             "(--bfile/--ld-bfile, --pfile, --bgen or --vcf), an --instruments list, or --no-clump")
        clump = False
    elif not clump and instruments is None:
        log.warning("--no-clump: the union of exposure variants with p < %s is used as it is", p_threshold)
    if out_dir is not None:
        prepare_out_dir(out_dir, force=force, command="edfgen mr --multivariable")
    inst = read_instruments(instruments) if instruments is not None else None
    # only the columns MR uses, read fast where a file allows it (as the univariable path reads them)
    frames = {name: load_phenotype(fs, columns, role="exposure", only_mr_columns=True)
              for name, fs in exp_groups.items()}
    ids: list[str] = []
    for name, df in frames.items():
        sel = select_instruments(df, name, p_threshold=p_threshold, instruments=inst,
                                 source=" + ".join(map(str, exp_groups[name])))
        ids += [v for v in sel["variant_id"] if v not in set(ids)]
    if not ids:
        raise InputError(f"--exposure: no exposure variant with p < {p_threshold:g}")
    if clump:
        ids = _union_clumped(frames, ids, ld_bfile, p_threshold=p_threshold, r2=clump_r2, kb=clump_kb)
    names = list(frames)
    first = frames[names[0]]
    first = first[first["variant_id"].isin(set(ids))]
    twice = variant_allele_keys(first).duplicated(keep=False).to_numpy()
    repeated = set(first.loc[twice, "variant_id"])
    if twice.any():      # another exposure's instrument on rows of the first that differ: none of them picked
        log.warning("--multivariable: %d instrument(s) on several rows of %s with the same alleles and different "
                    "values (e.g. %r): left out", first.loc[twice, "variant_id"].nunique(), names[0],
                    str(first.loc[twice, "variant_id"].iloc[0]))
        first = first[~twice]
    ref = one_row_per_variant(first, source=names[0]).reset_index(drop=True)
    missing = set(ids) - set(ref["variant_id"]) - repeated      # (a repeated one is said above: counted once)
    if missing:
        log.warning("--multivariable: %d instrument(s) missing from %s are dropped", len(missing), names[0])
    kw = {"palindromes": palindromes, "maf_threshold": maf_threshold, "exposure_name": names[0]}
    # the other exposures and the outcomes keyed differently meet the instruments as in mr (mr_join)
    # (keyed on the rows an instrument can match: the same result as on the whole file, mr_join.candidate_rows)
    first_files = exp_groups[names[0]]
    sides = {n: (f"first exposure {names[0]}", f"exposure {n}") for n in names[1:]}
    keyed = {n: key_outcome(frames[n][candidate_rows(frames[n], ref)], ref, table=_TABLE, sides=sides[n],
                            files=(first_files, exp_groups[n])) for n in names[1:]}
    hs = [harmonise(ref, keyed[n][0][keyed[n][0]["variant_id"].isin(set(ids))], outcome_name=n, **kw)
          for n in names[1:]]
    matched_x = [keyed[n][1] for n in names[1:]]
    keep_x = np.logical_and.reduce([h["mr_keep"].to_numpy(bool) for h in hs])
    bx = np.column_stack([pd.to_numeric(ref["beta"]).to_numpy(float)] + [h["beta_outcome"].to_numpy(float) for h in hs])
    sx = np.column_stack([pd.to_numeric(ref["standard_error"]).to_numpy(float)]
                         + [h["se_outcome"].to_numpy(float) for h in hs])
    rows, used, harmonised = [], {}, []
    z = stats.norm.ppf(0.975)
    for oname, ofs in out_groups.items():
        exp_files = [f for fs in exp_groups.values() for f in fs]
        full = load_phenotype(ofs, columns, role="outcome", only_mr_columns=True, arrow_strings=True)
        odf, matched = key_outcome(object_strings(full[candidate_rows(full, ref)]), ref, table=_TABLE,
                                   files=(exp_files, ofs))
        del full
        ho = harmonise(ref, odf[odf["variant_id"].isin(set(ids))], outcome_name=oname, **kw)
        keep = keep_x & ho["mr_keep"].to_numpy(bool)
        used[oname] = ref.loc[keep, "variant_id"].tolist()
        if keep.sum() <= len(names) + 1:
            log.warning("--multivariable: %s has %d usable instruments for %d exposures: skipped", oname,
                        int(keep.sum()), len(names))
            harmonised.append(_harmonised_rows(oname, ref, names, [*hs, ho], [*matched_x, matched],
                                               np.zeros(len(ref), bool)))
            continue
        harmonised.append(_harmonised_rows(oname, ref, names, [*hs, ho], [*matched_x, matched], keep))
        r = mvmr_ivw(bx[keep], ho["beta_outcome"].to_numpy(float)[keep], sx[keep],
                     ho["se_outcome"].to_numpy(float)[keep])
        for j, n in enumerate(names):
            rows.append({"exposure": n, "outcome": oname, "method": MVMR_METHOD, "nsnp": r.nsnp, "b": r.b[j],
                         "se": r.se[j], "pval": r.pval[j], "lo_ci": r.b[j] - z * r.se[j],
                         "up_ci": r.b[j] + z * r.se[j], "conditional_f": r.conditional_f[j], "q_a": r.q_a,
                         "q_a_df": r.q_a_df, "q_a_pval": r.q_a_pval})
            if r.conditional_f[j] < 10:
                log.warning("--multivariable: %s -> %s: conditional F = %.1f < 10 (weak instruments given the "
                            "other exposures)", n, oname, r.conditional_f[j])
    res = pd.DataFrame(rows, columns=MVMR_COLUMNS)
    table = pd.concat(harmonised, ignore_index=True) if harmonised else pd.DataFrame(columns=MVMR_HARMONISED_COLUMNS)
    if out_dir is not None:
        files = [f for fs in [*exp_groups.values(), *out_groups.values()] for f in fs]
        with recording(out_dir, "edfgen mr --multivariable", parameters=parameters or {},
                       inputs=[*files, instruments], planned=["mvmr_results.tsv", "mvmr_harmonised.tsv"]) as man:
            write_table(res, Path(out_dir) / "mvmr_results.tsv")
            write_table(table, Path(out_dir) / "mvmr_harmonised.tsv")
            man.extra["n_instruments"] = {k: len(v) for k, v in used.items()}
    return MVMRRun(res, used, time.perf_counter() - t0, table)


__all__ = ["run_mvmr", "MVMRRun", "MVMR_COLUMNS", "MVMR_HARMONISED_COLUMNS"]
