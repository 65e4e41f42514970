"""Per-phenotype z-scores for the summary-statistics methods (ldsc, finemap, coloc): files or folders in any
layout ``edfgen mr`` reads, one phenotype's per-chromosome files combined, ``z = beta / standard_error``.

Options the commands pass through (:mod:`edfgen.commands.sumstats_options`): ``columns`` (``--columns``, a
layout not recognised), ``sample_sizes`` (``--sample-size FILE=N``) and ``case_counts`` (``--case-counts
FILE=CASES,CONTROLS``) for files without ``n``/``n_cases``/``n_controls`` columns, and ``allow_z``: a file with a
z-score column (``Z``, ``zscore``, ``z_stat``) and no beta/standard error is read as z alone (LDSC's munged
``SNP A1 A2 Z N``, a METAL SAMPLESIZE run; ldsc needs only z and N, Bulik-Sullivan et al. 2015).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.sumstats.discovery import (MR_REQUIRED, FileTest, combine_phenotype, expand_sumstats,
                                               group_by_phenotype, header_maps)
from edfgen.formats.paths import file_args
from edfgen.formats.sumstats.layout import sumstats_columns
from edfgen.formats.sumstats.read import checked_header, read_sumstats, read_sumstats_columns
from edfgen.kernels.alleles import upper_text, variant_allele_codes
from edfgen.kernels.validate import numeric_values

log = logging.getLogger(__name__)

Z_OPTIONAL = ("chromosome", "base_pair_location", "n", "n_cases", "n_controls", "effect_allele_frequency",
              "p_value", "rsid")
#: z-score column names (lower case) read when a file has no beta and standard error (``allow_z``)
Z_NAMES = ("z", "zscore", "z_score", "z_stat", "zstat")
#: what a folder without beta/se files is told where z-only files are read
Z_HINT = "; or z-scores alone: --columns z=Z_COL"
#: the columns a z-only file needs
Z_REQUIRED = ("variant_id", "effect_allele", "other_allele", "z")


def _z_column_map(header: list[str], columns: dict[str, str] | None, allow_z: bool) -> dict[str, str]:
    """The ``--columns`` entries this file has, plus its z-score column when ``allow_z`` and the header gives no
    beta and standard error."""
    user = {k: v for k, v in (columns or {}).items() if k in header}
    if allow_z and "z" not in user.values() and not {"beta", "standard_error"} <= sumstats_columns(header, user,
                                                                                                    need=()):
        zcol = next((c for c in header if str(c).lower() in Z_NAMES), None)
        if zcol is not None:
            user[zcol] = "z"
    return user


def _read_file(path: Path, columns: dict[str, str] | None, allow_z: bool) -> pd.DataFrame:
    """One file's columns :data:`MR_REQUIRED` (or :data:`Z_REQUIRED`) and :data:`Z_OPTIONAL`: fast without a
    column map (:func:`read_sumstats_columns`), else :func:`read_sumstats` with it."""
    header = checked_header(path)
    cmap = _z_column_map(header, columns, allow_z)
    if allow_z and "z" not in cmap.values() and not {"beta", "standard_error"} <= sumstats_columns(header, cmap,
                                                                                                   need=()):
        raise InputError(f"{path}: no column for beta and standard_error, nor a z-score column ({', '.join(Z_NAMES)}) "
                         f"(the file's header: {' '.join(map(str, header[:30]))}); name them with --columns, e.g. "
                         f"--columns z=Z_COL, or --columns beta=BETA_COL,se=SE_COL")
    if not cmap:
        return read_sumstats_columns(path, required=MR_REQUIRED, optional=Z_OPTIONAL)
    required = Z_REQUIRED if "z" in cmap.values() else MR_REQUIRED
    df = read_sumstats(path, column_map=cmap, required=required)[0]
    df = df[[c for c in dict.fromkeys((*required, *MR_REQUIRED, *Z_OPTIONAL)) if c in df.columns]].copy()
    if "z" in df.columns:
        df["z"] = numeric_values(df["z"], source=str(path), column=next(k for k, v in cmap.items() if v == "z"),
                                 ids=df["variant_id"].astype(str).to_numpy(), id_name="variant")
    return df


def _given(table: dict[str, object] | None, files: Sequence[Path]):
    """The value a ``FILE=...`` option gives one of ``files`` (resolved paths), or None."""
    return next((table[k] for k in (str(Path(f).resolve()) for f in files) if k in (table or {})), None)


@dataclass(frozen=True)
class ZStats:
    """One phenotype's summary statistics: ``table`` with ``variant_id, effect_allele, other_allele, beta,
    standard_error, z`` and whichever of :data:`Z_OPTIONAL` the files have (one row per variant id and allele
    pair: a multi-allelic site's rows, one per ALT under one id, are kept for matching by alleles; rows with a
    missing or non-positive standard error dropped); ``files`` read; ``binary`` when the files give
    case counts (``sample_prevalence``: median ``n_cases / n``, for an effective ``n`` 0.5; ``sample_pq``: the
    ``P (1 - P)`` of the regression on ``n``: 1/4 for an effective ``n``, 1/2 for half of it; ``sample_pq_seen``:
    ``n_cases n_controls / ((n_cases + n_controls) n)`` as the file gives it: :func:`_sample_prevalence`)."""

    phenotype: str
    table: pd.DataFrame
    files: tuple[Path, ...]
    sample_prevalence: float | None = None
    sample_pq: float | None = None
    sample_pq_seen: float | None = None

    @property
    def binary(self) -> bool:
        return self.sample_prevalence is not None


def _estimated(df: pd.DataFrame, z_only: bool) -> np.ndarray:
    """Rows with a z-score (``z_only``), else with a beta and a positive standard error."""
    df = df.reindex(columns=["z", "beta", "standard_error"])      # a column the file lacks: all missing
    if z_only:
        return pd.to_numeric(df["z"], errors="coerce").notna().to_numpy(dtype=bool)
    se = pd.to_numeric(df["standard_error"], errors="coerce")
    return (se.gt(0) & pd.to_numeric(df["beta"], errors="coerce").notna()).to_numpy(dtype=bool)


def load_zstats(name: str, files: Sequence[Path], *, need_n: bool = False, columns: dict[str, str] | None = None,
                sample_sizes: dict[str, float] | None = None,
                case_counts: dict[str, tuple[float, float]] | None = None, allow_z: bool = False,
                option: str = "--sumstats") -> ZStats:
    """Read one phenotype (its files combined by :func:`combine_phenotype`), compute ``z``; an input error names the
    file. ``sample_sizes``/``case_counts`` (``{resolved file: N}``, ``{resolved file: (cases, controls)}``) fill
    ``n`` (and ``n_cases``/``n_controls``) where the files have none; ``need_n``: a phenotype without n is an
    input error (LD score regression needs the per-variant N)."""
    tables = [_read_file(Path(f), columns, allow_z) for f in files]
    z_only = not any("beta" in t.columns for t in tables) and any("z" in t.columns for t in tables)
    for f, t in zip(files, tables):     # plink2's ERRCODE rows (NA), '.', empty: counted per file, never lost unsaid
        ok = _estimated(t, z_only)
        if not ok.all():
            log.info("%s: %d of %d rows without %s (%s; e.g. variant %s): left out", f, int((~ok).sum()), ok.size,
                     "a z-score" if z_only else "a beta and a positive standard error",
                     "NA, '.' or empty" if z_only else "NA, '.', empty or SE <= 0", t["variant_id"].to_numpy()[~ok][0])
    df = combine_phenotype(tables, files, option=option)
    df = pd.DataFrame({c: (df[c].to_numpy(object) if df[c].dtype.kind not in "fiub" else df[c].to_numpy())
                       for c in df.columns})
    for c in ("beta", "standard_error", "n", "n_cases", "n_controls", "effect_allele_frequency"):
        if c in df.columns:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    df["variant_id"] = df["variant_id"].astype(str)
    df["effect_allele"] = upper_text(df["effect_allele"])
    df["other_allele"] = upper_text(df["other_allele"])
    df = df[_estimated(df, z_only)].reset_index(drop=True)       # counted per file above
    # the same variant with the same alleles on two rows (either order or strand, the MR readers' rule):
    # conflicting copies, both left out (said); one id with different allele pairs (a multi-allelic site) stays,
    # each row matched by its alleles downstream
    twice = variant_allele_codes(df).duplicated(keep=False).to_numpy()
    if twice.any():
        log.warning("%s: %d rows repeat a variant with the same alleles (e.g. %s): conflicting copies left out",
                    files[0], int(twice.sum()), df["variant_id"].to_numpy()[twice][0])
        df = df[~twice].reset_index(drop=True)
    if df.empty:
        raise InputError(f"{files[0]}: no variant with " + ("a z-score" if z_only else
                                                             "a beta and a positive standard_error"))
    if z_only:
        log.info("%s: no beta and standard error; z-scores read from the file's z column", files[0])
    else:
        df["z"] = df["beta"] / df["standard_error"]
    cc = _given(case_counts, files)
    if cc is not None:
        for col, v in zip(("n_cases", "n_controls"), cc):
            df[col] = df[col].fillna(v) if col in df.columns else v
    if ("n" not in df.columns or df["n"].isna().any()) and {"n_cases", "n_controls"} <= set(df.columns):
        total = df["n_cases"] + df["n_controls"]
        df["n"] = df["n"].fillna(total) if "n" in df.columns else total
    df = fill_sample_size(df, _given(sample_sizes, files), files[0])
    if need_n and ("n" not in df.columns or df["n"].isna().all()):
        raise InputError(f"{files[0]}: {NO_N}; LD score regression needs the per-variant N: give "
                         f"--sample-size {files[0]}=N (or --case-counts {files[0]}=CASES,CONTROLS)")
    if need_n and df["n"].isna().any():
        bad = df.loc[df["n"].isna(), "variant_id"].iloc[0]
        raise InputError(f"{files[0]}: n missing for variant {bad!r} (and {int(df['n'].isna().sum()) - 1} more); "
                         f"--sample-size {files[0]}=N fills the rows without n")
    return ZStats(name, df, tuple(Path(f) for f in files), *_sample_prevalence(df))


#: ``q = n_cases n_controls / ((n_cases + n_controls) n)`` above 1/4 is read as an effective-n convention: below
#: this (``sqrt(1/4 * 1/2)``, the geometric midpoint) ``n`` is the effective n, a sum of per-cohort ``Neff`` (PGC,
#: METAL; q exactly 1/4), at or above it half of it (PGC's ``NEFFDIV2``, ``Neff_half``; q exactly 1/2)
PQ_HALF_FROM = float(np.sqrt(0.25 * 0.5))
#: ``q`` above this is above 1/4 by more than rounding: n exactly the effective n (``4 / (1/n_cases + 1/n_controls)``
#: computed in floating point) gives 1/4 plus one rounding step on about 1 count pair in 6
PQ_QUARTER = 0.25 * (1 + 1e-9)
#: ``q`` above this fits no single-cohort sample-size convention (1/4: the effective n, 1/2: half of it), though
#: a meta-analysis of cohorts with different case fractions exceeds each by the ratio of Neff of the totals to the
#: sum of the cohorts' Neff (5000/395000 + 30000/30000 in NEFFDIV2: 0.811); an n taken from n_cases gives
#: ``q = 1 - P``, above 3/4 whenever cases are under a quarter of the sample
PQ_MAX = 0.75
#: ``n`` within this of ``n_cases`` (median over variants of ``|n - n_cases| / n_cases``) is taken from
#: ``n_cases``: with ``q`` above :data:`PQ_MAX` it is refused
N_IS_CASES = 0.01


def _sample_prevalence(df: pd.DataFrame) -> tuple[float | None, float | None, float | None]:
    """The sample prevalence ``P`` the liability scale takes for this case-control trait (Lee 2011), the
    ``P (1 - P)`` of the regression on ``n`` and the ``q = n_cases n_controls / ((n_cases + n_controls) n)`` seen
    (the median over variants), or ``(None, None, None)`` without ``n_cases``.

    The regression's noncentrality is ``n h² P (1 - P)`` summed over cohorts: ``sum_i N_i P_i (1 - P_i) = sum_i
    Neff_i / 4``. ``q <= 1/4``: ``n`` is the total (or near it), ``P (1 - P) = q`` and ``P`` from the counts. ``q >
    1/4`` cannot be a total: ``n`` follows an effective-n convention. A sum of per-cohort effective n ``4 /
    (1/n_cases_i + 1/n_controls_i)`` (PGC, METAL; Grotzinger et al. 2023) needs exactly 1/4, though ``q`` from the
    total counts exceeds 1/4 whenever the cohorts' case fractions differ (``Neff`` is concave, so ``Neff`` of the
    totals >= the sum of the cohorts'); half of it (``NEFFDIV2``) needs 1/2. ``q`` below :data:`PQ_HALF_FROM` is
    taken as the former, at or above it as the latter; ``P`` is 0.5 for both (``q`` above :data:`PQ_MAX`, half
    the effective n of cohorts with different case fractions or an ``n`` taken from ``n_cases``, is read as the
    latter: :func:`check_prevalence_n` refuses the second and warns about the first)."""
    if "n_cases" not in df.columns or not df["n_cases"].notna().any():
        return None, None, None
    cases = df["n_cases"]
    n = df["n"] if "n" in df.columns else cases + df.get("n_controls", np.nan)
    controls = df["n_controls"].fillna(n - cases) if "n_controls" in df.columns else n - cases
    seen = float(np.nanmedian(cases * controls / ((cases + controls) * n)))
    if not np.isfinite(seen):
        return float("nan"), float("nan"), seen
    if seen > PQ_QUARTER:
        return 0.5, (0.25 if seen < PQ_HALF_FROM else 0.5), seen
    minor = 0.5 * (1 - np.sqrt(max(1 - 4 * seen, 0.0)))    # P (1 - P) = q; P > 0.5 when cases outnumber controls
    return float(1 - minor if np.nanmedian(cases / (cases + controls)) > 0.5 else minor), seen, seen


def check_prevalence_n(zs: dict[str, ZStats], prevalence: dict[str, float]) -> dict[str, float]:
    """Refuse a phenotype given a population prevalence whose ``n`` was taken from its ``n_cases``: ``q = n_cases
    n_controls / ((n_cases + n_controls) n)`` above :data:`PQ_MAX` with ``n`` within :data:`N_IS_CASES` of
    ``n_cases`` (median over variants), which no ``P (1 - P)`` of :func:`_sample_prevalence` makes right. Any
    other ``q`` above :data:`PQ_MAX` (half the effective n of a meta-analysis of cohorts with different case
    fractions: 5000/395000 + 30000/30000 gives 0.811) is warned about, naming the file: ``P (1 - P) = 1/2`` is
    used.

    Parameters
    ----------
    zs : dict of str to ZStats
        Phenotype -> summary statistics.
    prevalence : dict of str to float
        Phenotype -> population prevalence (``--prevalence``).

    Returns
    -------
    dict of str to float
        ``prevalence``, unchanged.

    Raises
    ------
    InputError
        One line naming the phenotype's first file, its median ``n`` and the ``q`` seen, when ``n`` is its
        ``n_cases`` as above.
    """
    for name in prevalence:
        z = zs[name]
        if not (z.binary and z.sample_pq_seen is not None and z.sample_pq_seen > PQ_MAX):
            continue
        t = z.table
        off = float(np.nanmedian(np.abs(t["n"] - t["n_cases"]) / t["n_cases"])) if "n_cases" in t else np.nan
        if not off < N_IS_CASES:
            log.warning("%s: its n (median %g) gives n_cases n_controls / ((n_cases + n_controls) n) = %.4g > 3/4, "
                        "more than half the effective n of one cohort gives (1/2), as half the summed effective n "
                        "of cohorts with different case fractions does: the liability-scale h² of %s takes "
                        "P(1 - P) = 1/2 (check the file's n)", z.files[0], float(t["n"].median()), z.sample_pq_seen,
                        name)
        else:
            raise InputError(f"{z.files[0]}: its n (median {float(z.table['n'].median()):g}) gives n_cases n_controls "
                             f"/ ((n_cases + n_controls) n) = {z.sample_pq_seen:.4g} > 3/4, which no sample-size "
                             "convention gives (the total n or the effective n: 1/4 or less; half the effective n: "
                             "1/2): is n the number of cases? correct the file's n (--prevalence needs it)")
    return prevalence


def say_sample_size_convention(z: ZStats) -> None:
    """Log the effective-n convention :func:`_sample_prevalence` read ``z``'s ``n`` as, when ``q`` is above 1/4
    (by more than rounding, :data:`PQ_QUARTER`): INFO for the effective ``n`` (``P (1 - P)`` 1/4), a warning for
    half of it (1/2). ``q`` is the median over all the phenotype's files: the message names the phenotype, its
    first file and how many more.

    Parameters
    ----------
    z : ZStats
        A case-control phenotype's summary statistics.
    """
    seen = z.sample_pq_seen
    if seen is None or not seen > PQ_QUARTER:
        return
    who = f"{z.phenotype} ({z.files[0]}{f' and {len(z.files) - 1} more file(s)' if len(z.files) > 1 else ''})"
    what = ("the effective n (a sum of the cohorts' effective n)" if z.sample_pq == 0.25 else
            "half the effective n (PGC's NEFFDIV2; if it is the sum of the effective n of cohorts "
            "with very different case fractions, 1/4 is right: check the file's n)")
    (log.info if z.sample_pq == 0.25 else log.warning)(
        "%s: its n is below the effective n of its case counts 4/(1/n_cases + 1/n_controls) (q = n_cases n_controls "
        "/ ((n_cases + n_controls) n) = %.4g > 1/4): n taken as %s; the liability-scale h² of %s takes P(1 - P) = %g",
        who, seen, what, z.phenotype, z.sample_pq)


def fill_sample_size(df: pd.DataFrame, size: float | None, source) -> pd.DataFrame:
    """``df`` with its ``n`` filled by ``size`` (``--sample-size FILE=N``) on the rows without one; the file's own
    ``n`` is kept where it has one (said, naming ``source``). ``size`` None: ``df`` as it is.

    Parameters
    ----------
    df : DataFrame
        Summary statistics, with or without a column ``n``.
    size : float or None
        The sample size the option gives the file.
    source : str or Path
        The file, for the message.

    Returns
    -------
    DataFrame
    """
    if size is None:
        return df
    if "n" not in df.columns:
        return df.assign(n=float(size))
    own = pd.to_numeric(df["n"], errors="coerce")
    if own.notna().any():
        log.info("%s: --sample-size %g fills only the rows without n (the file's n column is kept)", source, size)
    return df.assign(n=own.fillna(size))


#: the one wording of a phenotype without a sample size
NO_N = "no sample size column n (or n_cases + n_controls)"


def has_n(z: ZStats) -> bool:
    """Whether ``z`` gives a sample size on some rows (a column ``n``, or filled from the options)."""
    return "n" in z.table.columns and bool(z.table["n"].notna().any())


def key_column(z: ZStats, ids: pd.Index) -> tuple[str, np.ndarray]:
    """The column of ``z.table`` that :func:`rows_by_id` matches ``ids`` by (``variant_id``, or ``rsid`` when
    ``variant_id`` finds fewer than half of the rows and ``rsid`` more), and each row's position in ``ids`` (-1:
    not there).

    Parameters
    ----------
    z : ZStats
        One phenotype's summary statistics.
    ids : pandas.Index
        LD-score SNP names (unique).

    Returns
    -------
    tuple of (str, ndarray of int)
    """
    t = z.table
    pos = ids.get_indexer(t["variant_id"].astype(object))
    if "rsid" in t.columns and (pos >= 0).mean() < 0.5:
        rs = t["rsid"].astype(object)
        rs_pos = np.where(rs.notna().to_numpy(), ids.get_indexer(rs), -1)
        if (rs_pos >= 0).sum() > (pos >= 0).sum():
            return "rsid", rs_pos
    return "variant_id", pos


def rows_by_id(z: ZStats, ids: pd.Index) -> tuple[pd.DataFrame, str]:
    """The rows of ``z.table`` whose key is in ``ids`` (LD-score SNP names, unique), with columns ``key`` and
    ``pos`` (its position in ``ids``): the key is ``variant_id``, or ``rsid`` when ``variant_id`` finds fewer than
    half of the rows and ``rsid`` more (``chr:pos:ref:alt`` ids against rsID-keyed LD scores); a key on several of
    those rows (a multi-allelic site: LD scores carry no alleles to tell them apart) is left out, with a warning.

    Returns
    -------
    ``(matching rows, the column used as key)``
    """
    t = z.table
    col, pos = key_column(z, ids)
    hit = pos >= 0
    t = t[hit].assign(key=t[col].to_numpy(dtype=object)[hit], pos=pos[hit])
    many = t["pos"].duplicated(keep=False).to_numpy()
    if many.any():
        log.warning("%s: %d rows share a %s with another (multi-allelic sites, e.g. %s) and are left out: LD scores "
                    "carry no alleles to match them by", z.files[0], int(many.sum()), col, t["key"].to_numpy()[many][0])
        t = t[~many]
    return t.reset_index(drop=True), col


def zstats_test(columns: dict[str, str] | None = None, allow_z: bool = False) -> FileTest:
    """Which files of a folder the z-score commands read (a :data:`~edfgen.formats.sumstats.discovery.FileTest`):
    a header with the columns MR needs, or with ``allow_z`` a z-only one (:data:`Z_REQUIRED`, its z-score column
    one of :data:`Z_NAMES`: LDSC's munged ``SNP A1 A2 Z N``)."""
    def test(path: Path, header: list) -> bool:
        if header_maps(header, MR_REQUIRED, columns, source=str(path)):
            return True
        return allow_z and header_maps(header, Z_REQUIRED, _z_column_map(header, columns, True), source=str(path))
    return test


def zstats_files(paths: Sequence[str | Path] | str | Path, option: str = "--sumstats", *,
                 columns: dict[str, str] | None = None, allow_z: bool = False) -> list[Path]:
    """The summary-statistics files of ``paths`` (one path or several; :func:`expand_sumstats`, a folder's files by
    :func:`zstats_test`: with ``allow_z`` its z-only files too, in the folder or, without any of its own, its
    sub-folders), each once, before any is read (so a ``FILE=...`` option can be checked against them first)."""
    paths = file_args(paths, option)    # (one path was read per character)
    if not paths:
        raise InputError(f"{option}: give at least one summary-statistics file or folder")
    return expand_sumstats(paths, option, required=MR_REQUIRED, columns=columns, hint=Z_HINT if allow_z else "",
                           test=zstats_test(columns, allow_z))


def read_zstats(paths: Sequence[str | Path], option: str = "--sumstats", *, need_n: bool = False,
                columns: dict[str, str] | None = None, sample_sizes: dict[str, float] | None = None,
                case_counts: dict[str, tuple[float, float]] | None = None,
                allow_z: bool = False, keep: Callable[[ZStats], ZStats] | None = None) -> dict[str, ZStats]:
    """Every phenotype of the files/folders ``paths`` (:func:`zstats_files`), each read by :func:`load_zstats`
    with the same options. ``keep``: applied to each phenotype as soon as it is read (e.g. cutting it to the rows
    near the loci), so that one whole phenotype at a time is in memory rather than all of them."""
    files = zstats_files(paths, option, columns=columns, allow_z=allow_z)
    keep = keep or (lambda z: z)
    return {name: keep(load_zstats(name, fs, need_n=need_n, columns=columns, sample_sizes=sample_sizes,
                                   case_counts=case_counts, allow_z=allow_z, option=option))
            for name, fs in group_by_phenotype(files).items()}
