"""How ``edfgen mr`` finds each instrument in an outcome: by ``variant_id``, else by rsID, else by chromosome,
position and allele pair; and the genome builds the two sides declare.

Files keyed differently meet: a GWAS-SSF / GWAS Catalog harmonised outcome (``variant_id`` ``1_1000000_G_A`` and
an ``rsid`` column) and an rsID-keyed exposure; a FinnGen outcome (first of ``rsids``, else ``chrom:pos:ref:alt``)
and an exposure keyed ``chr:pos:ref:alt``. For the instruments whose id the outcome lacks (:func:`key_outcome`):

1. ``rsid``: the exposure's rsID (its ``rsid`` column, else its ``variant_id`` when that is an rsID) is one of
   the outcome's (its ``rsid`` cell, which may list several, ``rs1,rs2`` or ``rs1;rs2``, or its ``variant_id`` when
   that is an rsID);
2. ``position``: same chromosome, position and unordered allele pair (either orientation, either strand, as
   :func:`~edfgen.kernels.alleles.variant_allele_keys` keys a variant), when the two sides do not declare
   different genome builds (:func:`check_builds`). Without a declaration on one side the positions are taken as
   on the same build, with a warning, unless fewer than half of the instruments already found by id or rsID (at
   least 5) sit at the same position in the outcome (:func:`position_agreement`): then its positions are on
   another build and are not used.

The matched outcome rows are copied under the exposure's id, so harmonisation (:mod:`edfgen.kernels.mr.harmonise`)
then aligns alleles exactly as for an id match; a multi-allelic site's rows all travel and are told apart by
alleles there. Each instrument's key is written to ``harmonised.tsv`` (``matched_by.outcome``) and counted in
the manifest.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.sumstats import declared_build
from edfgen.kernels.alleles import variant_allele_keys

log = logging.getLogger(__name__)

#: the keys an instrument is found by, in the order tried
JOIN_KEYS = ("variant_id", "rsid", "position")
_RS = r"^rs\d+$"


def _rsids(df: pd.DataFrame) -> pd.Series:
    """Each row's rsIDs, one per entry (the index repeats for a cell listing several, ``rs1,rs2`` or ``rs1;rs2``,
    as FinnGen's ``rsids`` and merged dbSNP entries do): its ``rsid`` column's where that holds rsIDs, else its
    ``variant_id`` where that is one."""
    vid = df["variant_id"].astype("string")
    out = vid.where(vid.str.match(_RS, na=False))
    if "rsid" in df.columns:
        rs = df["rsid"].astype("string").str.split(r"[,;]", regex=True).explode().str.strip()
        rs = rs[rs.str.match(_RS, na=False)]
        rest = out[~out.index.isin(rs.index)]
        out = pd.concat([rs, rest]) if len(rs) and len(rest) else (rs if len(rs) else rest)  # (no empty concat)
    return out.dropna()


def _position_keys(df: pd.DataFrame) -> pd.Series | None:
    """``chromosome:position A/G`` of each row (unordered, strand-free allele pair), or None without the columns."""
    if not {"chromosome", "base_pair_location", "effect_allele", "other_allele"} <= set(df.columns):
        return None
    pos = pd.to_numeric(df["base_pair_location"], errors="coerce")
    site = df["chromosome"].astype(str) + ":" + pos.astype("Int64").astype(str)
    keys = variant_allele_keys(df.assign(variant_id=site))
    return keys.where(pos.notna().to_numpy())


def _first(per_row: pd.Series, n: int) -> pd.Series:
    """The first rsID of each of ``n`` rows (index ``0..n-1`` as :func:`_rsids` gives it on a reset frame), NA where
    none."""
    return per_row[~per_row.index.duplicated()].reindex(range(n))


def key_outcome(outcome: pd.DataFrame, instruments: pd.DataFrame, *,
                files: tuple[Sequence[str | Path], Sequence[str | Path]] | None = None, positions: bool = True,
                builds_known: bool = True, table: str = "harmonised.tsv",
                sides: tuple[str, str] = ("exposure", "outcome")) -> tuple[pd.DataFrame, dict[str, str]]:
    """The outcome rows with copies, under the instrument's id, of the rows that match an instrument missing by
    ``variant_id`` through its rsID or (``positions``) its chromosome, position and allele pair (module docstring).

    Parameters
    ----------
    outcome
        GWAS-SSF outcome frame (``variant_id``, alleles; ``rsid``, ``chromosome``, ``base_pair_location`` used
        when present).
    instruments
        The instruments of every exposure (``variant_id``, alleles; the same optional columns).
    files
        ``(the instruments' files, the outcome's files)``: ``positions`` and ``builds_known`` are then what their
        declared builds say (:func:`check_builds`, warned with ``sides``; :func:`builds_declared`), and the two
        arguments below are not used.
    positions
        Try the position key; False when the builds differ (:func:`check_builds`): then an instrument id that is
        not an rsID (``1:1000:A:G``, a position on its own build) is not matched by id either.
    builds_known
        Both sides declare their build (:func:`builds_declared`); else matching by position is warned about, and
        turned off when the instruments found by id or rsID sit at other positions in the outcome
        (:func:`position_agreement`: another build).
    table
        The output file whose ``matched_by`` column that warning points to (``mvmr_harmonised.tsv`` for
        ``--multivariable``).
    sides
        The two sides as that warning names them (``("first exposure ldl", "exposure hdl")`` under
        ``--multivariable``).

    Returns
    -------
    ``(outcome frame, {instrument id: key})`` with key in :data:`JOIN_KEYS` for each instrument found.
    """
    if files is not None:
        positions, builds_known = check_builds(*files, sides=sides), builds_declared(*files)
    inst_ids = instruments["variant_id"].astype(str)
    ids = pd.Index(inst_ids.unique())
    have = set(ids[ids.isin(outcome["variant_id"].astype(str).to_numpy())])   # hashed once, against the few ids
    if not positions:       # builds differ: a chr:pos id names another variant on the other build
        positional = {i for i in have if not re.match(_RS, i)}
        if positional:
            log.warning("%d instrument ids are positions (e.g. %s) and the builds differ: not matched by id",
                        len(positional), sorted(positional)[0])
            vid = outcome["variant_id"].astype(str)      # renamed, not dropped: the rows may still match by rsID
            outcome = outcome.assign(variant_id=vid.where(~vid.isin(positional), vid + " (outcome build)"))
            have -= positional
    matched = {i: "variant_id" for i in ids if i in have}
    missing = instruments[~inst_ids.isin(have).to_numpy()].drop_duplicates("variant_id")
    copies = []
    for key in JOIN_KEYS[1:]:
        missing = missing.reset_index(drop=True)
        if missing.empty or (key == "position" and not positions):
            continue
        if key == "position" and not builds_known:
            found_so_far = pd.concat([outcome[outcome["variant_id"].isin(list(matched))], *copies])
            agree, n = position_agreement(instruments, found_so_far)
            if n >= 5 and agree < 0.5:
                log.warning("only %d of %d instruments found by id or rsID sit at the same position in the outcome: "
                            "its positions are on another build; the %d instrument(s) still missing are not looked "
                            "for by position", round(agree * n), n, len(missing))
                continue
        # the outcome's candidate rows first (a full GWAS has millions; keys are made for the few that may match)
        if key == "rsid":
            ek = _first(_rsids(missing), len(missing))
            wanted = set(ek.dropna())
            cand = outcome["variant_id"].isin(wanted).to_numpy()
            if "rsid" in outcome.columns:
                rs = outcome["rsid"].astype("string")
                listed = rs.str.contains(r"[,;]", regex=True, na=False).to_numpy()   # only these are split
                cand |= rs.isin(wanted).to_numpy()
                cand[listed] |= _rsids(outcome.iloc[np.flatnonzero(listed)].reset_index(drop=True)).isin(wanted) \
                    .groupby(level=0).any() \
                    .reindex(range(int(listed.sum())), fill_value=False).to_numpy()
            rows_of = np.flatnonzero(cand)
            sub = outcome.iloc[rows_of].reset_index(drop=True)
            per_row = _rsids(sub)
            per_row = per_row[per_row.isin(wanted)]
            rows_of, ok_ = rows_of[per_row.index.to_numpy()], per_row.reset_index(drop=True)
            ek = ek.reset_index(drop=True)
        else:
            ek = _position_keys(missing)
            if ek is None or _position_keys(outcome.iloc[:0]) is None:
                continue
            at = set(pd.to_numeric(missing["base_pair_location"], errors="coerce").dropna())
            rows_of = np.flatnonzero(pd.to_numeric(outcome["base_pair_location"], errors="coerce").isin(at).to_numpy())
            sub = outcome.iloc[rows_of]
            ok_ = _position_keys(sub)
        ek, ok_ = ek.to_numpy(dtype=object), ok_.to_numpy(dtype=object)
        if key == "position" and not builds_known:
            log.warning("%d instrument(s) looked for by chromosome:position:alleles while the %s or the %s "
                        "declares no genome build (-meta.yaml genome_assembly): positions taken as on the "
                        "same build; %s matched_by says which", int(len(ek)), sides[0], sides[1], table)
        by_key = pd.Series(rows_of)[pd.notna(ok_)].groupby(ok_[pd.notna(ok_)]).agg(list)
        found = np.array([pd.notna(k) and k in by_key.index for k in ek], dtype=bool)
        for vid, k in zip(missing["variant_id"].astype(str).to_numpy()[found], ek[found]):
            rows = outcome.iloc[by_key[k]].copy()
            rows["variant_id"] = vid
            copies.append(rows)
            matched[vid] = key
        missing = missing[~found]
    if not copies:
        return outcome, matched
    extra = pd.concat(copies, ignore_index=True)
    twice = variant_allele_keys(extra).duplicated(keep=False).to_numpy()
    if twice.any():     # one rsID on two outcome rows with the same alleles: which one? neither (said)
        gone = set(extra["variant_id"].to_numpy()[twice])
        # the rows stay under the instrument's id: harmonise leaves it out as duplicated_in_outcome (rows that
        # differ; a whole-row repeat is used once), as a repeat under the id itself, and no proxy is sought
        log.warning("%d instruments match several outcome rows with the same alleles by rsID/position (e.g. %s): "
                    "left out where the rows differ (duplicated_in_outcome)", len(gone), sorted(gone)[0])
    return pd.concat([outcome, extra], ignore_index=True), matched


def position_agreement(instruments: pd.DataFrame, found: pd.DataFrame) -> tuple[float, int]:
    """Of the instruments already found in the outcome (``found``: outcome rows under the instrument's id), the
    fraction whose outcome row has the instrument's chromosome and position, and how many were compared (rows with
    both): a low fraction says the outcome's positions are on another build."""
    cols = ["variant_id", "chromosome", "base_pair_location"]
    if found.empty or not set(cols) <= set(instruments.columns) or not set(cols) <= set(found.columns):
        return float("nan"), 0
    both = instruments[cols].drop_duplicates("variant_id").merge(found[cols].drop_duplicates("variant_id"),
                                                                  on="variant_id", suffixes=("", "_o"))
    pos = pd.to_numeric(both["base_pair_location"], errors="coerce")
    pos_o = pd.to_numeric(both["base_pair_location_o"], errors="coerce")
    ok = pos.notna() & pos_o.notna()
    n = int(ok.sum())
    same = (pos[ok] == pos_o[ok]) & (both.loc[ok, "chromosome"].astype(str).str.removeprefix("chr")
                                     == both.loc[ok, "chromosome_o"].astype(str).str.removeprefix("chr"))
    return (float(same.mean()) if n else float("nan")), n


def builds_declared(exposure_files: Sequence[str | Path], outcome_files: Sequence[str | Path]) -> bool:
    """Whether both sides declare a genome build (``-meta.yaml`` ``genome_assembly``)."""
    try:
        return bool(declared_build(exposure_files)) and bool(declared_build(outcome_files))
    except InputError:
        return True     # they declare, and disagree: check_builds says so


def join_summary(matched: dict[str, str], n_instruments: int) -> dict[str, int]:
    """``{key: instruments found by it}`` (every key of :data:`JOIN_KEYS`) and ``not_found``."""
    counts = {k: sum(1 for v in matched.values() if v == k) for k in JOIN_KEYS}
    return {**counts, "not_found": n_instruments - sum(counts.values())}


def check_builds(exposure_files: Sequence[str | Path], outcome_files: Sequence[str | Path], *,
                 sides: tuple[str, str] = ("exposure", "outcome")) -> bool:
    """Whether the positions of the exposure and outcome files are comparable: the builds their GWAS-SSF
    ``-meta.yaml`` declare (``genome_assembly``, as ``edfgen clump`` reads them) do not differ. Different builds,
    or files of one side that declare different builds, are warned about (naming the files) and give False: the
    caller then matches by variant id and rsID only (ids and rsIDs do not depend on the build).

    ``sides`` names the two sides in the warning (``("first exposure ldl", "exposure hdl")`` under
    ``--multivariable``).

    Returns
    -------
    True when both sides declare the same build or either declares none.
    """
    try:
        be, bo = declared_build(exposure_files), declared_build(outcome_files)
    except InputError as exc:      # one side's files disagree among themselves
        log.warning("%s: instruments are matched by variant id and rsID only, never by position", exc)
        return False
    if be and bo and be != bo:
        log.warning("the %s files declare genome build %s and the %s files %s (-meta.yaml "
                    "genome_assembly; e.g. %s and %s): instruments are matched by variant id and rsID only, never "
                    "by position; lift one side over to match the other", sides[0], be, sides[1], bo,
                    exposure_files[0], outcome_files[0])
        return False
    return True


def builds_text(exposure_files: Sequence[str | Path], outcome_files: Sequence[str | Path]) -> str:
    """`` (builds: exposure GRCh38, outcome GRCh37)`` for an error message when they differ, else ``""``."""
    try:
        be, bo = declared_build(exposure_files), declared_build(outcome_files)
    except InputError:
        return ""
    return f"; the builds differ: exposure {be}, outcome {bo} (-meta.yaml)" if be and bo and be != bo else ""


def candidate_rows(outcome: pd.DataFrame, instruments: pd.DataFrame, near: set | None = None) -> np.ndarray:
    """The outcome rows :func:`key_outcome` (and LD proxies) can use, as a boolean mask: a full GWAS has millions
    of rows, the instruments a few hundred, so the outcome is cut to these before it is keyed.

    A row is kept where its ``variant_id`` is an instrument's id or rsID, its ``rsid`` cell is one of them or lists
    several (``rs1,rs2``: :func:`key_outcome` splits those), its position is an instrument's (the position key
    compares chromosome and alleles next), or its id is in ``near``; and the first row (an example id of the
    outcome in :func:`run_mr`'s error message). A superset of the rows every key can match, so that the
    result of :func:`key_outcome` is the same as on the whole frame.

    Parameters
    ----------
    outcome : DataFrame
        The outcome's rows (``variant_id``; ``rsid``, ``base_pair_location`` used when present).
    instruments : DataFrame
        The instruments of every exposure (``variant_id``; ``rsid``, ``base_pair_location`` when present).
    near : set of str, optional
        Outcome ids LD proxies may need (:func:`proxy_candidates`).

    Returns
    -------
    ndarray of bool, one per outcome row.
    """
    ids = set(instruments["variant_id"].astype(str)) | set(_rsids(instruments.reset_index(drop=True)).astype(str))
    ids |= near or set()
    keep = outcome["variant_id"].isin(ids).to_numpy(dtype=bool)      # (text already: read_sumstats)
    if "rsid" in outcome.columns:
        rs = outcome["rsid"] if isinstance(outcome["rsid"].dtype, pd.ArrowDtype) else outcome["rsid"].astype("string")
        keep |= (rs.isin(ids) | rs.str.contains(r"[,;]", regex=True, na=False)).to_numpy(dtype=bool)
    if "base_pair_location" in outcome.columns and "base_pair_location" in instruments.columns:
        at = pd.to_numeric(instruments["base_pair_location"], errors="coerce").dropna().unique()
        keep |= pd.to_numeric(outcome["base_pair_location"], errors="coerce").isin(at).to_numpy()
    keep[:1] = True
    return keep


def proxy_candidates(variants, ids, window_kb: float) -> set:
    """The LD panel's variant ids within ``window_kb`` kb (inclusive) of any of ``ids`` on its chromosome: the
    candidates :func:`~edfgen.kernels.mr.harmonise.find_proxies` correlates with a missing instrument.

    Parameters
    ----------
    variants
        The panel's variant table (``variant_id``, ``chromosome``, ``position`` arrays, ``rows_by_id``).
    ids : iterable of str
        Instrument ids.
    window_kb : float
        ``--proxies``' window.

    Returns
    -------
    set of str
    """
    rows = np.array([r for r in (variants.rows_by_id.get(i) for i in ids) if r is not None], dtype=np.int64)
    if rows.size == 0:
        return set()
    chrom, pos = np.asarray(variants.chromosome), np.asarray(variants.position)
    keep = np.zeros(len(pos), dtype=bool)
    for c in np.unique(chrom[rows]):
        on = np.flatnonzero(chrom == c)
        on = on[np.argsort(pos[on], kind="stable")]
        p, centre = pos[on], pos[rows[chrom[rows] == c]]
        lo = np.searchsorted(p, centre - window_kb * 1000, side="left")
        hi = np.searchsorted(p, centre + window_kb * 1000, side="right")
        depth = np.zeros(len(p) + 1, dtype=np.int64)
        np.add.at(depth, lo, 1)
        np.add.at(depth, hi, -1)
        keep[on[np.cumsum(depth)[:-1] > 0]] = True
    return set(np.asarray(variants.variant_id)[keep].astype(str))
