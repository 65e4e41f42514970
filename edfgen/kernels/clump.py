"""LD clumping of GWAS summary statistics, as ``plink1.9 --clump`` does it, and loci across phenotypes.

Greedy clumping (Purcell et al. 2007): variants with ``p <= p1`` are taken in increasing p
(ties: file order of the LD panel's ``.bim``). Each one not yet clumped becomes an *index
variant*; it absorbs every not-yet-clumped variant of the same chromosome within ``kb`` whose
r² with it exceeds ``r2``. Absorbed variants with ``p < p2`` are listed as its clump
(``clumped_variants``); absorbed variants with larger p are only marked, so they cannot become
index variants or join later clumps either. r² comes from the LD panel's genotypes, one window
at a time (:mod:`edfgen.kernels.ld`), never all pairs.

Exactly PLINK 1.9's semantics, read from its source (``plink_ld.c: clump_reports``):

* r² is the haplotype-frequency maximum-likelihood r² from unphased genotypes, founders only,
  samples missing at either variant dropped per pair (``r2_method="plink"``); a pair with a
  monomorphic variant (over jointly observed samples) is never clumped.
* comparisons: index if ``p <= p1``; clumped if ``r² > r2`` (strict) and ``p < p2`` (strict).
* window: ``--clump-kb K`` means ``|bp - bp_index| <= 1000*K - 1`` (PLINK's ``bp_radius``).
* no overlap: a variant joins at most one clump, unless ``allow_overlap``
  (``--clump-allow-overlap``: absorbed variants may join later clumps too; index choice unchanged).
* variants of the summary statistics absent from the LD panel are skipped (PLINK warns);
  edfgen lists those with ``p <= p1`` in ``rejects.tsv``.
* several phenotypes: each is clumped on its own (one ``plink --clump`` run per file), then
  the index variants of all phenotypes are merged into loci (:func:`merge_loci`). What they
  share is done once (:func:`clump_files`): reading only the needed columns, matching a variant
  set to the panel, and the LD of an index variant with its window
  (:class:`~edfgen.kernels.ld.WindowLD`), which every phenotype with that index variant reuses.

References
----------
Purcell S et al. (2007) "PLINK: a tool set for whole-genome association and population-based
linkage analyses", Am J Hum Genet 81:559, doi:10.1086/519795.
Chang CC et al. (2015) GigaScience 4:7, doi:10.1186/s13742-015-0047-8.
Li J, Ji L (2005) "Adjusting multiple testing in multilocus analyses using the eigenvalues of a
correlation matrix", Heredity 95:221, doi:10.1038/sj.hdy.6800717.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.kernels.ld import R2_METHODS, WindowLD, chromosome_runs, r2_vector
from edfgen.formats.genotypes.panel import GenotypePanel, open_panel, panel_fingerprint
from edfgen.formats.sumstats import chrom_key, read_sumstats, read_sumstats_columns
from edfgen.progress import progress

log = logging.getLogger(__name__)

CLUMP_COLUMNS = ["phenotype", "variant_id", "chromosome", "base_pair_location", "p_value",
                 "n_clumped", "clumped_variants"]
LOCI_COLUMNS = ["locus", "variant_id", "chromosome", "base_pair_location", "p_value", "phenotype",
                "phenotypes", "n_phenotypes", "index_variants"]
REJECT_COLUMNS = ["phenotype", "variant_id", "p_value", "reason"]
TRUTH_COLUMNS = ["trait", "n_planted", "n_recovered", "recall", "n_index", "n_false_index"]


@dataclass(frozen=True)
class ClumpSettings:
    """Clumping thresholds (defaults: the paper's independent-loci definition).

    Attributes
    ----------
    p1 : index-variant threshold (``p <= p1``), default 5e-8.
    p2 : threshold for a variant to be listed in a clump (``p < p2``), default 0.01.
    r2 : LD threshold (``r² > r2`` joins the clump), default 0.01.
    kb : window radius in kb (``|Δbp| <= 1000*kb - 1``, as PLINK), default 1000.
    r2_method : ``"plink"`` (haplotype ML r², matches plink1.9) or ``"corr"``.
    allow_overlap : let a variant join several clumps (plink's ``--clump-allow-overlap``;
        index-variant choice is unchanged), default False.
    """

    p1: float = 5e-8
    p2: float = 0.01
    r2: float = 0.01
    kb: float = 1000.0
    r2_method: str = "plink"
    allow_overlap: bool = False

    def __post_init__(self):
        for name in ("p1", "p2"):
            v = getattr(self, name)
            if not 0 < v <= 1:
                raise InputError(f"clump: {name} must be in (0, 1], got {v}")
        if not 0 <= self.r2 < 1:
            raise InputError(f"clump: r2 must be in [0, 1), got {self.r2}")
        if self.kb <= 0:
            raise InputError(f"clump: kb must be > 0, got {self.kb}")
        if self.r2_method not in R2_METHODS:
            raise InputError(f"clump: r2_method {self.r2_method!r} unknown (choose from {', '.join(R2_METHODS)})")

    @property
    def bp_radius(self) -> int:
        """PLINK 1.9: ``bp_radius = (uint)(kb * 1000 * (1 + 2^-44)) - 1``."""
        return int(self.kb * 1000 * (1 + 2.0 ** -44)) - 1


@dataclass(frozen=True)
class ClumpKernelResult:
    """Clumps of one phenotype, as positions in the kernel's input arrays.

    Attributes
    ----------
    index : int ``[k]`` index variants in the order they were chosen (increasing p).
    members : list of k int arrays, the variants (``p < p2``) each index variant absorbed.
    """

    index: np.ndarray
    members: list[np.ndarray] = field(default_factory=list)


GenotypeFn = Callable[[np.ndarray], np.ndarray]


def _chrom_blocks(chrom: np.ndarray) -> dict[str, tuple[int, int]]:
    """Contiguous ``[start, end)`` of each chromosome label in file order."""
    blocks: dict[str, tuple[int, int]] = {}
    for s, e in zip(*chromosome_runs(chrom)):
        c = str(chrom[s])
        if c in blocks:
            raise InputError(f"LD panel .bim: chromosome {c} is not contiguous (sort the fileset)")
        blocks[c] = (int(s), int(e))
    return blocks


def _greedy_clump(p: np.ndarray, pos: np.ndarray, starts: np.ndarray, ends: np.ndarray,
                  settings: ClumpSettings):
    """PLINK 1.9's greedy clumping as a generator (the kernel of :func:`clump_arrays` and :func:`clump_files`).

    Yields ``(i, win)`` (an index variant and the candidate variants of its window, positions in
    the arrays) and is sent ``linked [len(win)]`` (r² defined and ``|r²| > r2``); returns a
    :class:`ClumpKernelResult`. Written as a generator so that many phenotypes can be clumped in
    lockstep and their index variants' LD computed together (:class:`~edfgen.kernels.ld.WindowLD`).
    ``starts``/``ends``: ``[start, end)`` of each chromosome's contiguous run of rows.
    """
    cand = np.flatnonzero(p <= settings.p1)
    order = cand[np.lexsort((cand, p[cand]))]            # ties: file order (PLINK 2021 fix)
    clumped = np.zeros(len(p), dtype=bool)
    radius = settings.bp_radius
    index: list[int] = []
    members: list[np.ndarray] = []
    for i in order:
        if clumped[i]:
            continue
        clumped[i] = True
        index.append(int(i))
        b = int(np.searchsorted(starts, i, side="right")) - 1
        s, e = int(starts[b]), int(ends[b])
        lo = s + int(np.searchsorted(pos[s:e], pos[i] - radius, side="left"))
        hi = s + int(np.searchsorted(pos[s:e], pos[i] + radius, side="right"))
        win = np.arange(lo, hi)
        win = win[(win != i) if settings.allow_overlap else ~clumped[lo:hi]]
        if win.size == 0:
            members.append(np.zeros(0, dtype=np.int64))
            continue
        linked = yield int(i), win
        absorbed = win[linked]
        clumped[absorbed] = True
        members.append(absorbed[p[absorbed] < settings.p2])
    return ClumpKernelResult(index=np.asarray(index, dtype=np.int64), members=members)


def _checked_blocks(chrom: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    blocks = _chrom_blocks(chrom)
    for c, (s, e) in blocks.items():
        if np.any(np.diff(pos[s:e]) < 0):
            raise InputError(f"LD panel .bim: positions on chromosome {c} are not sorted")
    se = np.array(sorted(blocks.values()), dtype=np.int64).reshape(-1, 2)
    return se[:, 0], se[:, 1]


def clump_arrays(p: np.ndarray, chrom: np.ndarray, pos: np.ndarray, genotypes: GenotypeFn, *,
                 settings: ClumpSettings = ClumpSettings()) -> ClumpKernelResult:
    """Greedy PLINK-1.9 clumping of one phenotype (the kernel).

    Parameters
    ----------
    p : float ``[V]``
        p-values of the variants found in both the summary statistics and the LD panel,
        **in LD-panel (.bim) order** (finite, in [0, 1]).
    chrom : str ``[V]``, pos : int ``[V]``
        Chromosome and position of each variant (positions ascending within a chromosome).
    genotypes
        ``genotypes(idx [k]) -> int8 [n, k]``: allele counts of variants ``idx`` (positions in
        these arrays), negative = missing.
    settings
        :class:`ClumpSettings`.

    Returns
    -------
    ClumpKernelResult
    """
    p = np.asarray(p, dtype=np.float64)
    chrom = np.asarray(chrom).astype(str)
    pos = np.asarray(pos, dtype=np.int64)
    gen = _greedy_clump(p, pos, *_checked_blocks(chrom, pos), settings)
    try:
        i, win = next(gen)
        while True:
            g = genotypes(np.r_[i, win])
            r2, ok = r2_vector(g[:, 0], g[:, 1:], method=settings.r2_method)
            i, win = gen.send(ok & (np.abs(r2) > settings.r2))
    except StopIteration as stop:
        return stop.value


# ----------------------------------------------------------------------------- wrappers
def expand_sumstats(paths: Sequence[str | Path]) -> list[Path]:
    """Summary-statistics inputs: files, directories (every ``*.tsv.gz`` inside) or glob patterns,
    in the order given (directory and glob matches sorted)."""
    import glob

    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            found = sorted(q for q in path.glob("*.tsv.gz") if not q.name.startswith("."))  # no temp files
            if not found:
                raise InputError(f"--sumstats {path}: directory holds no *.tsv.gz files")
            out += found
        elif path.exists():
            out.append(path)
        else:
            found = sorted(Path(f) for f in glob.glob(str(p)))
            if not found:
                raise InputError(f"--sumstats {p}: no such file")
            out += found
    return list(dict.fromkeys(out))


def phenotype_name(path: str | Path) -> str:
    """``<phenotype>.tsv.gz`` -> ``<phenotype>`` (also strips ``.tsv``, ``.txt``, ``.csv``, ``.gz``,
    ``.parquet``, in any case, and a trailing chromosome tag ``.chr1``, ``_chr22``, ``-chrX``: one
    phenotype's per-chromosome files share its name). The one naming rule of clump, mr and regional
    plots, so that the ``phenotype`` column of ``clumps.tsv`` matches ``edfgen mr``'s exposure names."""
    name = Path(path).name
    for suf in (".gz", ".tsv", ".txt", ".csv", ".parquet"):
        if name.lower().endswith(suf):
            name = name[: -len(suf)]
    return re.sub(r"[._-]chr(?:[0-9]{1,2}|X|Y|XY|MT|M)$", "", name, flags=re.IGNORECASE) or name


def group_by_phenotype(paths: Sequence[str | Path]) -> dict[str, list[Path]]:
    """Summary-statistics files by :func:`phenotype_name`, in first-seen order: several files of one
    phenotype (its chromosomes, e.g. ``gwas_chr1/edf_001.tsv.gz`` and ``gwas_chr2/edf_001.tsv.gz``)
    form one group."""
    groups: dict[str, list[Path]] = {}
    for p in paths:
        groups.setdefault(phenotype_name(p), []).append(Path(p))
    return groups


def read_phenotype_sumstats(paths: Sequence[str | Path], *, required: tuple[str, ...],
                            optional: tuple[str, ...] | None = None) -> pd.DataFrame:
    """One phenotype's summary statistics from one or several files (e.g. one per chromosome), combined.

    ``optional=None`` reads every column (:func:`~edfgen.formats.sumstats.read_sumstats`); a tuple reads
    only ``required + optional`` (:func:`~edfgen.formats.sumstats.read_sumstats_columns`, fast).

    Raises
    ------
    InputError
        A variant (same ``variant_id``, or same chromosome, position and alleles) in two of the files.
    """
    tables = []
    for p in paths:
        df = (read_sumstats(p, required=required)[0] if optional is None
              else read_sumstats_columns(p, required=required, optional=optional))
        tables.append(df.assign(__file=str(p)))
    if len(tables) == 1:
        return tables[0].drop(columns="__file")
    df = pd.concat(tables, ignore_index=True)
    keys = [["variant_id"]]
    if {"chromosome", "base_pair_location", "effect_allele", "other_allele"} <= set(df.columns):
        keys.append(["chromosome", "base_pair_location", "effect_allele", "other_allele"])
    for key in keys:
        k = df[key[0]].astype(str)
        for col in key[1:]:
            k = k + ":" + df[col].astype(str)
        dup = k.duplicated(keep=False)
        if dup.any():
            files = sorted(set(df.loc[dup & (k == k[dup].iloc[0]), "__file"]))
            raise InputError(f"--sumstats: variant {k[dup].iloc[0]} of phenotype {phenotype_name(paths[0])!r} "
                             f"appears twice ({' and '.join(files)}); per-chromosome files of one phenotype "
                             "must not overlap")
    return df.drop(columns="__file")


@dataclass
class _Matched:
    """Summary statistics of one phenotype aligned to the LD panel (bim order)."""

    phenotype: str
    table: pd.DataFrame            # rows in bim order: variant_id, chromosome, base_pair_location, p_value, bim
    rejects: pd.DataFrame


def _unique_index(keys) -> pd.Series:
    s = pd.Series(np.arange(len(keys)), index=pd.Index(keys))
    return s[~s.index.duplicated(keep=False)]


def _locate_in_panel(df: pd.DataFrame, panel: GenotypePanel, phenotype: str) -> tuple[pd.Series, str]:
    """Row of each summary-statistics variant in the panel's ``.bim``.

    By ``variant_id`` (PLINK's SNP matching); when that finds fewer than half of the variants
    (e.g. ``chr:pos:ref:alt`` ids against an rsID reference panel), by ``rsid``, then by
    chromosome, position and the unordered allele pair, whichever finds most. A variant id
    duplicated in the panel is an error when the summary statistics use it.
    """
    v = panel.variants
    ids = df["variant_id"].astype(str)
    dup = pd.Index(v.variant_id)[pd.Index(v.variant_id).duplicated()]
    if len(dup) and ids.isin(set(dup)).any():
        raise InputError(f"{panel.prefix}.bim: duplicated variant id(s) used by {phenotype}, "
                         f"e.g. {str(sorted(set(dup) & set(ids))[0])!r}")
    best = (ids.map(panel.variants.rows_by_id), "variant_id")
    if best[0].notna().mean() >= 0.5:
        return best
    tries = []
    if "rsid" in df.columns:
        tries.append((df["rsid"].astype(str).map(panel.variants.rows_by_id), "rsid"))
    if {"chromosome", "base_pair_location", "effect_allele", "other_allele"} <= set(df.columns):
        a1, a2 = np.asarray(v.allele1, dtype=str), np.asarray(v.allele2, dtype=str)
        lo, hi = np.where(a1 < a2, a1, a2), np.where(a1 < a2, a2, a1)
        pk = [f"{c}:{p}:{x}:{y}" for c, p, x, y in zip(v.chromosome, v.position, lo, hi)]
        e, o = df["effect_allele"].astype(str).str.upper(), df["other_allele"].astype(str).str.upper()
        sk = (df["chromosome"].astype(str).str.replace("^chr", "", regex=True) + ":"
              + pd.to_numeric(df["base_pair_location"], errors="coerce").astype("Int64").astype(str) + ":"
              + e.where(e < o, o) + ":" + o.where(e < o, e))
        tries.append((sk.map(_unique_index(pk)), "chromosome:position:alleles"))
    for cand in tries:
        if cand[0].notna().sum() > best[0].notna().sum():
            best = cand
    if best[1] != "variant_id":
        log.info("%s: variants matched to the LD panel by %s (%d of %d)", phenotype, best[1],
                 int(best[0].notna().sum()), len(ids))
    return best


def match_to_panel(df: pd.DataFrame, panel: GenotypePanel, *, phenotype: str, p1: float) -> _Matched:
    """Align summary statistics to the LD panel (by variant id as PLINK does; see
    :func:`_locate_in_panel` for the fallbacks).

    Rows with a missing/NA p-value are dropped (PLINK skips them); a duplicated variant id keeps
    its smallest p. Variants absent from the panel with ``p <= p1`` become rejects.
    """
    v = panel.variants
    p = pd.to_numeric(df["p_value"], errors="coerce")
    bad = p[(p < 0) | (p > 1)]
    if len(bad):
        raise InputError(f"{phenotype}: p_value {float(bad.iloc[0]):g} outside [0, 1] "
                         f"(variant {str(df.loc[bad.index[0], 'variant_id'])})")
    t = pd.DataFrame({"variant_id": df["variant_id"].astype(str), "p_value": p})
    for col in ("chromosome", "base_pair_location", "rsid", "effect_allele", "other_allele"):
        if col in df.columns:
            t[col] = df[col].to_numpy()
    t = t[t["p_value"].notna()]
    if t["variant_id"].duplicated().any():
        log.warning("%s: %d duplicated variant ids; keeping the smallest p of each", phenotype,
                    int(t["variant_id"].duplicated().sum()))
        t = t.sort_values("p_value", kind="stable").drop_duplicates("variant_id")
    t["bim"], how = _locate_in_panel(df.loc[t.index], panel, phenotype)
    missing = t[t["bim"].isna()]
    rejects = missing[missing["p_value"] <= p1].assign(phenotype=phenotype, reason=f"not in LD panel (matched by {how})")
    if len(missing):
        log.info("%s: %d variants not in the LD panel %s (%d with p <= p1)", phenotype, len(missing),
                 panel.prefix, len(rejects))
    t = t[t["bim"].notna()].copy()
    t["bim"] = t["bim"].astype(np.int64)
    if t["bim"].duplicated().any():
        log.warning("%s: %d rows match an LD-panel variant already matched; keeping the smallest p",
                    phenotype, int(t["bim"].duplicated().sum()))
        t = t.sort_values("p_value", kind="stable").drop_duplicates("bim")
    t = t.sort_values("bim").reset_index(drop=True)
    t["chromosome"] = v.chromosome[t["bim"]]
    if "base_pair_location" not in t.columns or t["base_pair_location"].isna().any():
        t["base_pair_location"] = v.position[t["bim"]]
    t["base_pair_location"] = t["base_pair_location"].astype(np.int64)
    return _Matched(phenotype, t, rejects[REJECT_COLUMNS].reset_index(drop=True))


def clump_phenotype(m: _Matched, panel: GenotypePanel, settings: ClumpSettings) -> pd.DataFrame:
    """Clump one phenotype's aligned summary statistics; returns ``clumps.tsv`` rows."""
    prep = _prepared_from_matched(m)
    ld = WindowLD(panel, radius=settings.bp_radius, r2=settings.r2, method=settings.r2_method)
    return _clump_rows(prep, _clump_lockstep([prep], panel, settings, ld)[0])


@dataclass
class _Prepared:
    """One phenotype ready for clumping: its variants in the LD panel, in panel order."""

    phenotype: str
    bim: np.ndarray             # int64 [V] panel rows, ascending
    p: np.ndarray               # float64 [V]
    ids: np.ndarray             # object [*]: variant ids (shared between phenotypes) ...
    rows: np.ndarray            # int64 [V]: ... ids[rows] are this phenotype's, in panel order
    pos: np.ndarray             # int64 [V] base_pair_location written to clumps.tsv
    chromosome: np.ndarray      # str [V] (the panel's)
    rejects: pd.DataFrame


def _prepared_from_matched(m: _Matched) -> _Prepared:
    t = m.table
    return _Prepared(m.phenotype, t["bim"].to_numpy(np.int64), t["p_value"].to_numpy(np.float64),
                     t["variant_id"].to_numpy(), np.arange(len(t)), t["base_pair_location"].to_numpy(np.int64),
                     t["chromosome"].to_numpy(), m.rejects)


@dataclass
class _VariantSet:
    """The variants of a summary-statistics file matched to the LD panel by ``variant_id``, once
    for every file with the same variant ids and positions (EDFs of one GWAS run)."""

    ids: pd.Series              # as read (equality test)
    pos: np.ndarray | None      # file base_pair_location, for equality and output
    id_str: np.ndarray          # object [R] ids as text
    bim: np.ndarray             # float64 [R] panel row by id, NaN when absent
    by_bim: np.ndarray          # int64: rows with a panel match, in panel order
    simple: bool                # no duplicated ids and no two rows on one panel variant
    missing: np.ndarray         # int64: rows without a panel match
    full: "_Prepared | None" = None   # panel-order arrays when every p-value is present

    def same(self, df: pd.DataFrame) -> bool:
        pos = df["base_pair_location"].to_numpy() if "base_pair_location" in df.columns else None
        if len(df) != len(self.id_str) or (pos is None) != (self.pos is None):
            return False
        if pos is not None and not np.array_equal(pos, self.pos):
            return False
        return bool(self.ids.equals(df["variant_id"]))


def _variant_set(df: pd.DataFrame, panel: GenotypePanel) -> _VariantSet:
    id_str = df["variant_id"].astype(str).to_numpy()
    bim = pd.Series(id_str).map(panel.variants.rows_by_id).to_numpy(np.float64)
    matched = np.flatnonzero(~np.isnan(bim))
    by_bim = matched[np.argsort(bim[matched], kind="stable")]
    panel_ids = pd.Index(panel.variants.variant_id)
    ambiguous = panel_ids[panel_ids.duplicated()]           # an error of match_to_panel when used
    simple = (not pd.Series(id_str).duplicated().any() and not pd.Series(bim[matched]).duplicated().any()
              and not (len(ambiguous) and pd.Series(id_str).isin(set(ambiguous)).any()))
    pos = df["base_pair_location"].to_numpy() if "base_pair_location" in df.columns else None
    return _VariantSet(df["variant_id"], pos, id_str, bim, by_bim.astype(np.int64), simple,
                       np.flatnonzero(np.isnan(bim)))


_FAST_OPTIONAL = ("base_pair_location",)
_NO_REJECTS = pd.DataFrame({"phenotype": pd.Series(dtype=object), "variant_id": pd.Series(dtype=object),
                            "p_value": pd.Series(dtype=np.float64), "reason": pd.Series(dtype=object)})
_MATCH_OPTIONAL = ("chromosome", "base_pair_location", "rsid", "effect_allele", "other_allele")


def _not_in_panel(name: str, vs: _VariantSet, p: np.ndarray, missing: np.ndarray, p1: float):
    """The variants ``missing`` from the panel that would qualify as index variants (``p <= p1``), and
    their ``rejects.tsv`` rows."""
    rej = missing[p[missing] <= p1]
    rejects = _NO_REJECTS if rej.size == 0 else pd.DataFrame(
        {"phenotype": name, "variant_id": vs.id_str[rej], "p_value": p[rej],
         "reason": "not in LD panel (matched by variant_id)"}, columns=REJECT_COLUMNS)
    return rej, rejects


def _prepare_fast(name: str, df: pd.DataFrame, vs: _VariantSet, panel: GenotypePanel,
                  settings: ClumpSettings, *, share: bool = True) -> _Prepared | None:
    """:func:`match_to_panel` for a file whose variant set was matched before (``None``: take the
    general path: duplicated ids, or fewer than half of the variants found by id)."""
    if not vs.simple:
        return None
    p = df["p_value"].to_numpy(np.float64)
    have = ~np.isnan(p)
    if share and have.all():            # the usual case: the variant set's arrays are shared
        if vs.full is None:
            vs.full = _prepare_fast(name, df, vs, panel, settings, share=False)
        if vs.full is None:
            return None
        f = vs.full
        _, rejects = _not_in_panel(name, vs, p, vs.missing, settings.p1)
        return _Prepared(name, f.bim, p[f.rows], f.ids, f.rows, f.pos, f.chromosome, rejects)
    found = ~np.isnan(vs.bim)
    if have.sum() == 0 or found[have].mean() < 0.5:
        return None
    rows = vs.by_bim[have[vs.by_bim]]
    bim = vs.bim[rows].astype(np.int64)
    miss = np.flatnonzero(have & ~found)
    rej, rejects = _not_in_panel(name, vs, p, miss, settings.p1)
    if len(miss):
        log.info("%s: %d variants not in the LD panel %s (%d with p <= p1)", name, len(miss), panel.prefix, len(rej))
    pos = vs.pos[rows] if vs.pos is not None else None
    if pos is None or np.isnan(np.asarray(pos, dtype=np.float64)).any():
        pos = panel.variants.position[bim]
    return _Prepared(name, bim, p[rows], vs.id_str, rows, np.asarray(pos, dtype=np.int64),
                     panel.variants.chromosome[bim], rejects)


def _read_groups(groups: dict[str, list[Path]], *, threads: int = 2):
    """``(name, paths, DataFrame)`` of every phenotype, files read ahead in a thread pool
    (decompression and parsing release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    def read(item):
        name, paths = item
        if len(paths) == 1:
            return name, paths, read_sumstats_columns(paths[0], required=("variant_id", "p_value"),
                                                      optional=_FAST_OPTIONAL, arrow_strings=True)
        return name, paths, read_phenotype_sumstats(paths, required=("variant_id", "p_value"),
                                                    optional=_MATCH_OPTIONAL)

    items = list(groups.items())
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        pending = [pool.submit(read, it) for it in items[:threads + 1]]
        for k in range(len(items)):
            res = pending[k].result()
            pending[k] = None
            if k + threads + 1 < len(items):
                pending.append(pool.submit(read, items[k + threads + 1]))
            yield res


def _clump_lockstep(preps: Sequence[_Prepared], panel: GenotypePanel, settings: ClumpSettings,
                    ld: WindowLD) -> list[ClumpKernelResult]:
    """Clump several phenotypes at once: every round, each unfinished phenotype asks for the LD
    of its next index variant; the distinct ones are computed together (:meth:`WindowLD.ensure`)."""
    results: list[ClumpKernelResult | None] = [None] * len(preps)
    if not ld.usable:          # a panel not sorted by chromosome and position: one variant at a time
        for k, pr in enumerate(preps):
            results[k] = clump_arrays(pr.p, pr.chromosome, panel.variants.position[pr.bim],
                                      lambda idx, b=pr.bim: panel.read(b[idx]), settings=settings)
        return results
    codes = pd.factorize(pd.Series(panel.variants.chromosome))[0]
    waiting: dict[int, tuple] = {}

    def step(k, gen, bim, value):
        try:
            req = next(gen) if value is None else gen.send(value)
            waiting[k] = (gen, bim, req)
        except StopIteration as stop:
            results[k] = stop.value

    for k, pr in enumerate(preps):
        gen = _greedy_clump(pr.p, panel.variants.position[pr.bim], *chromosome_runs(codes[pr.bim]), settings)
        step(k, gen, pr.bim, None)
    while waiting:
        ld.ensure([bim[req[0]] for _, bim, req in waiting.values()])
        current, waiting = waiting, {}
        for k, (gen, bim, (i, win)) in current.items():
            step(k, gen, bim, ld.linked(bim[i], bim[win]))
    return results


def _clump_columns(pr: _Prepared, res: ClumpKernelResult) -> dict[str, np.ndarray]:
    """The ``clumps.tsv`` columns of one phenotype (:data:`CLUMP_COLUMNS`)."""
    ids = pr.ids
    return {"phenotype": np.full(len(res.index), pr.phenotype, dtype=object),
            "variant_id": np.asarray(ids[pr.rows[res.index]], dtype=object),
            "chromosome": np.asarray(pr.chromosome[res.index], dtype=object),
            "base_pair_location": pr.pos[res.index].astype(np.int64), "p_value": pr.p[res.index],
            "n_clumped": np.array([len(mm) for mm in res.members], dtype=np.int64),
            "clumped_variants": np.array([",".join(ids[pr.rows[mm]]) for mm in res.members], dtype=object)}


def _clump_table(parts: Sequence[dict[str, np.ndarray]]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=CLUMP_COLUMNS)
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in CLUMP_COLUMNS})


def _clump_rows(pr: _Prepared, res: ClumpKernelResult) -> pd.DataFrame:
    return _clump_table([_clump_columns(pr, res)])


def merge_loci(clumps: pd.DataFrame, panel: GenotypePanel | None, *,
               settings: ClumpSettings = ClumpSettings(), ld: WindowLD | None = None) -> pd.DataFrame:
    """Merge index variants of all phenotypes into independent loci.

    Rule: the pooled index variants are clumped again exactly like variants (increasing p,
    ties by phenotype then position): each index variant not yet in a locus leads a new locus
    and takes every other index variant of the same chromosome within ``settings.kb`` whose
    r² with the lead exceeds ``settings.r2`` (the same test that made index variants
    independent within a phenotype), or that is the same variant. Without an LD panel
    (``panel=None``) every index variant within ``kb`` joins (conservative, distance only).
    ``ld``: the :class:`~edfgen.kernels.ld.WindowLD` of the clumping run (same ``r2``, ``kb``
    and method), whose windows of the index variants are reused.

    Returns
    -------
    DataFrame ``loci.tsv``: ``locus`` (1..L, by p), lead ``variant_id``, ``chromosome``,
    ``base_pair_location``, ``p_value`` (min p), ``phenotype`` (the lead's), ``phenotypes``
    (comma list by p), ``n_phenotypes``, ``index_variants`` (``phenotype:variant`` list).
    """
    if clumps.empty:
        return pd.DataFrame(columns=LOCI_COLUMNS)
    c = clumps.reset_index(drop=True).copy()
    c["chromosome"] = c["chromosome"].astype(str)
    order = np.lexsort((c["base_pair_location"].to_numpy(), c["phenotype"].astype(str).to_numpy(),
                        c["p_value"].to_numpy()))
    assigned = np.full(len(c), -1)
    radius = settings.bp_radius
    bim_of: dict[str, int] = {}
    if panel is not None:
        bim_of = pd.Series(np.arange(len(panel.variants.variant_id)),
                           index=panel.variants.variant_id).groupby(level=0).first().to_dict()
    rows = []
    chrom = c["chromosome"].to_numpy()
    pos = c["base_pair_location"].to_numpy(np.int64)
    vid = c["variant_id"].astype(str).to_numpy()
    for i in order:
        if assigned[i] >= 0:
            continue
        locus = len(rows)
        assigned[i] = locus
        near = np.flatnonzero((assigned < 0) & (chrom == chrom[i]) & (np.abs(pos - pos[i]) <= radius))
        if near.size:
            same = vid[near] == vid[i]
            join = same.copy()
            other = near[~same]
            if panel is not None and other.size:
                have = np.array([v in bim_of for v in vid[other]])
                if vid[i] in bim_of and have.any():
                    lead = bim_of[vid[i]]
                    prow = np.array([bim_of[v] for v in vid[other[have]]], dtype=np.int64)
                    hit = np.zeros(prow.size, dtype=bool)
                    if ld is not None and ld.usable:     # shared with clumping: rows inside the lead's window
                        lo, hi = ld.window(lead)
                        inside = (prow >= lo) & (prow < hi)
                        hit[inside] = ld.linked(lead, prow[inside])
                    else:
                        inside = np.zeros(prow.size, dtype=bool)
                    if (~inside).any():
                        g = panel.read(np.r_[lead, prow[~inside]])
                        r2, ok = r2_vector(g[:, 0], g[:, 1:], method=settings.r2_method)
                        hit[~inside] = ok & (np.abs(r2) > settings.r2)
                    linked = np.zeros(other.size, dtype=bool)
                    linked[np.flatnonzero(have)] = hit
                    join[~same] = linked
            elif panel is None:
                join[:] = True
            assigned[near[join]] = locus
        members = np.flatnonzero(assigned == locus)
        members = members[np.argsort(c["p_value"].to_numpy()[members], kind="stable")]
        phenos = list(dict.fromkeys(c["phenotype"].astype(str).to_numpy()[members]))
        rows.append({"locus": locus + 1, "variant_id": vid[i], "chromosome": chrom[i],
                     "base_pair_location": int(pos[i]), "p_value": float(c.at[i, "p_value"]),
                     "phenotype": str(c.at[i, "phenotype"]), "phenotypes": ",".join(phenos),
                     "n_phenotypes": len(phenos),
                     "index_variants": ",".join(f"{c.at[j, 'phenotype']}:{vid[j]}" for j in members)})
    return pd.DataFrame(rows, columns=LOCI_COLUMNS)


# ----------------------------------------------------------------------------- study-wide threshold
def effective_number_of_tests(corr: np.ndarray) -> float:
    """Li & Ji (2005) effective number of independent phenotypes from a correlation matrix.

    ``M_eff = sum_i f(|λ_i|)`` with ``f(x) = 1[x >= 1] + (x - floor(x))`` over the eigenvalues
    ``λ_i`` of the ``[P, P]`` correlation matrix. Equals P for uncorrelated phenotypes and 1 for
    identical ones.

    References
    ----------
    Li J, Ji L (2005) Heredity 95:221, doi:10.1038/sj.hdy.6800717.
    """
    corr = np.asarray(corr, dtype=np.float64)
    if corr.ndim != 2 or corr.shape[0] != corr.shape[1]:
        raise InputError(f"effective_number_of_tests: need a square correlation matrix, got {corr.shape}")
    lam = np.abs(np.linalg.eigvalsh(corr))
    lam = np.where(np.isclose(lam, np.round(lam), atol=1e-9), np.round(lam), lam)
    return float(np.sum((lam >= 1).astype(float) + (lam - np.floor(lam))))


def study_wide_threshold(pheno: pd.DataFrame, phenotypes: Sequence[str] | None = None, *,
                         alpha: float = 5e-8, source: str = "--pheno") -> tuple[float, float]:
    """``(alpha / M_eff, M_eff)`` from the phenotype columns of a table (Li & Ji 2005).

    ``phenotypes`` selects columns (default: all numeric columns except ids/covariates named
    ``IID``, ``FID``); pairwise-complete Pearson correlations.
    """
    if phenotypes:
        missing = [p for p in phenotypes if p not in pheno.columns]
        if missing:
            raise InputError(f"{source}: phenotype column(s) {', '.join(missing)} not found")
        cols = list(phenotypes)
    else:
        cols = [c for c in pheno.select_dtypes("number").columns if c not in ("IID", "FID")]
    if not cols:
        raise InputError(f"{source}: no numeric phenotype columns to estimate M_eff from")
    corr = pheno[cols].corr().to_numpy()
    if np.isnan(corr).any():
        raise InputError(f"{source}: a phenotype column is constant or empty; cannot compute correlations")
    meff = effective_number_of_tests(corr)
    return alpha / meff, meff


# ----------------------------------------------------------------------------- truth recovery
def _truth_loci(truth: Mapping | str | Path) -> pd.DataFrame:
    if not isinstance(truth, Mapping):
        path = Path(truth)
        try:
            truth = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: cannot read truth JSON ({exc})") from None
    loci = pd.DataFrame(list(truth.get("loci", [])))
    need = ["chromosome", "base_pair_location", "trait"]
    if loci.empty:
        return pd.DataFrame(columns=need + ["variant_id"])
    missing = [c for c in need if c not in loci.columns]
    if missing:
        raise InputError(f"truth: loci entries lack {', '.join(missing)}")
    loci["chromosome"] = loci["chromosome"].astype(str).str.replace("^chr", "", regex=True)
    loci["base_pair_location"] = loci["base_pair_location"].astype(np.int64)
    return loci


def score_truth(clumps: pd.DataFrame, truth: Mapping | str | Path, *, window_kb: float = 250.0,
                traits: Sequence[str] | None = None) -> pd.DataFrame:
    """Recovery of planted loci by clumping, per trait (phenotype name == truth ``trait``).

    A planted locus is *recovered* when an index variant of its trait lies on the same
    chromosome within ``window_kb``; an index variant is *false* when no planted locus of its
    trait lies within ``window_kb``.

    Parameters
    ----------
    clumps
        ``clumps.tsv`` rows (``phenotype, chromosome, base_pair_location``).
    truth
        ``truth.json`` content or path: ``{"loci": [{"chromosome", "base_pair_location",
        "trait", ...}]}``.
    traits
        Traits to score (default: every trait with planted loci).

    Returns
    -------
    DataFrame with columns ``trait, n_planted, n_recovered, recall, n_index, n_false_index``,
    one row per trait plus a final ``all`` row (sums; recall pooled).
    """
    loci = _truth_loci(truth)
    traits = list(traits) if traits is not None else sorted(loci["trait"].astype(str).unique())
    w = window_kb * 1000
    rows = []
    cl = clumps.copy()
    cl["chromosome"] = cl["chromosome"].astype(str).str.replace("^chr", "", regex=True)
    for tr in traits:
        pl = loci[loci["trait"].astype(str) == tr]
        ix = cl[cl["phenotype"].astype(str) == tr]
        if len(pl) and len(ix):
            same = pl["chromosome"].to_numpy()[:, None] == ix["chromosome"].to_numpy()[None, :]
            near = same & (np.abs(pl["base_pair_location"].to_numpy()[:, None]
                                  - ix["base_pair_location"].to_numpy(np.int64)[None, :]) <= w)
        else:
            near = np.zeros((len(pl), len(ix)), dtype=bool)
        n_rec = int(near.any(axis=1).sum())
        rows.append({"trait": tr, "n_planted": len(pl), "n_recovered": n_rec,
                     "recall": n_rec / len(pl) if len(pl) else np.nan, "n_index": len(ix),
                     "n_false_index": int((~near.any(axis=0)).sum())})
    out = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    tot = out[["n_planted", "n_recovered", "n_index", "n_false_index"]].sum()
    out.loc[len(out)] = {"trait": "all", **{k: int(v) for k, v in tot.items()},
                         "recall": tot["n_recovered"] / tot["n_planted"] if tot["n_planted"] else np.nan}
    return out


# ----------------------------------------------------------------------------- end to end
@dataclass(frozen=True)
class ClumpRun:
    """What :func:`run_clump` wrote and found."""

    out_dir: Path
    clumps: pd.DataFrame
    loci: pd.DataFrame
    rejects: pd.DataFrame
    settings: ClumpSettings
    m_eff: float | None = None
    truth: pd.DataFrame | None = None
    plots: tuple[str, ...] = ()


def clump_files(sumstats: Sequence[str | Path], panel: GenotypePanel, *,
                settings: ClumpSettings = ClumpSettings(), chunk: int = 64,
                threads: int = 2) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Clump GWAS-SSF files against one LD panel; files of the same phenotype (its chromosomes) are combined.

    Each phenotype is clumped on its own, exactly as one ``plink1.9 --clump`` run per file; the
    work shared between phenotypes is done once: files are read with only the needed columns
    (:func:`~edfgen.formats.sumstats.read_sumstats_columns`, ``threads`` files ahead), matched to the
    panel once per distinct variant set, and the LD of an index variant with its window is
    computed once and reused by every phenotype with the same index variant
    (:class:`~edfgen.kernels.ld.WindowLD`), for ``chunk`` phenotypes in lockstep so that index
    variants of one region go through one matrix product.

    Returns ``(clumps, loci, rejects)`` DataFrames (see :data:`CLUMP_COLUMNS`, :data:`LOCI_COLUMNS`).
    """
    ld = WindowLD(panel, radius=settings.bp_radius, r2=settings.r2, method=settings.r2_method)
    all_clumps, all_rejects = [], []
    sets: list[_VariantSet] = []
    batch: list[_Prepared] = []

    def flush():
        for pr, res in zip(batch, _clump_lockstep(batch, panel, settings, ld)):
            log.info("%s: %d index variants (p1=%g, r2=%g, kb=%g)", pr.phenotype, len(res.index), settings.p1,
                     settings.r2, settings.kb)
            all_clumps.append(_clump_columns(pr, res))
            all_rejects.append(pr.rejects)
        batch.clear()

    groups = group_by_phenotype(sumstats)   # several files of one phenotype: its chromosomes
    for name, paths, df in progress(_read_groups(groups, threads=threads), total=len(groups),
                                    desc="clumping", unit="phenotype"):
        prep = None
        if len(paths) == 1:
            vs = next((v for v in sets if v.same(df)), None)
            if vs is None:
                vs = _variant_set(df, panel)
                sets = [vs, *sets[:3]]
            prep = _prepare_fast(name, df, vs, panel, settings)
            if prep is None:       # matching needs rsid / chromosome:position:alleles: read them too
                df = read_phenotype_sumstats(paths, required=("variant_id", "p_value"), optional=_MATCH_OPTIONAL)
        if prep is None:
            prep = _prepared_from_matched(match_to_panel(df, panel, phenotype=name, p1=settings.p1))
        batch.append(prep)
        if len(batch) >= chunk:
            flush()
    flush()
    log.debug("clump: LD of %d index variants, %d pairs", len(ld._linked), ld.n_pairs)
    clumps = _clump_table(all_clumps)
    if len(clumps):
        key = chrom_key(clumps["chromosome"])
        clumps = clumps.assign(_k=key).sort_values(["phenotype", "_k", "base_pair_location"],
                                                   kind="stable").drop(columns="_k").reset_index(drop=True)
    all_rejects = [r for r in all_rejects if len(r)] or all_rejects[:1]
    rejects = pd.concat(all_rejects, ignore_index=True) if all_rejects else pd.DataFrame(columns=REJECT_COLUMNS)
    loci = merge_loci(clumps, panel, settings=settings, ld=ld)
    return clumps, loci, rejects


def run_clump(sumstats: Sequence[str | Path], *, out_dir: str | Path, bfile=None,
              ld_bfile: str | Path | None = None, settings: ClumpSettings = ClumpSettings(),
              study_wide: bool = False, pheno: str | Path | None = None, truth: str | Path | None = None,
              regional_plots: int = 0, genes: str | Path | None = None, force: bool = False,
              reference_genome: str | None = None) -> ClumpRun:
    """``edfgen clump``: clump every phenotype, merge loci, write ``clumps.tsv``, ``loci.tsv``,
    ``rejects.tsv`` (+ ``truth_recovery.tsv``, ``regional/*.png``) and ``manifest.json``.

    ``bfile`` (the study genotypes, LD panel unless ``ld_bfile``) is a PLINK 1 prefix or a
    :class:`~edfgen.formats.genotypes.source.GenotypeSource` (``--pfile``, ``--bgen`` ..., dosages rounded).

    ``study_wide=True`` replaces ``settings.p1`` by ``5e-8 / M_eff`` (Li & Ji 2005) from the
    phenotype table ``pheno`` (columns named like the summary-statistics files when present).
    """
    from edfgen.formats.tables import prepare_out_dir, read_table, write_table
    from edfgen.formats.manifest import recording

    if not sumstats:
        raise InputError("--sumstats: give at least one summary-statistics file")
    sumstats = expand_sumstats(sumstats)
    panel_prefix = ld_bfile or bfile
    if panel_prefix is None:
        raise InputError("clump: give --bfile (study genotypes) or --ld-bfile (reference panel)")
    out_dir = prepare_out_dir(out_dir, force=force, command="edfgen clump")
    m_eff = None
    if study_wide:
        if pheno is None:
            raise InputError("--study-wide needs --pheno FILE (the phenotype/EDF table)")
        table = read_table(pheno)
        names = list(group_by_phenotype(sumstats))
        cols = [n for n in names if n in table.columns]
        p1, m_eff = study_wide_threshold(table, cols if len(cols) >= 2 else None, source=str(pheno))
        settings = ClumpSettings(**{**asdict(settings), "p1": p1})
        log.info("study-wide threshold: M_eff = %.2f -> p1 = %.3g", m_eff, p1)
    panel_files, bed_bytes = panel_fingerprint(panel_prefix)
    inputs = [*sumstats, *panel_files, pheno, truth, genes]
    label = (lambda g: g if g is None or isinstance(g, (str, Path)) else g.label if g.kind == "bfile"
             else f"--{g.kind} {g.label}")
    params = {**asdict(settings), "study_wide": study_wide, "m_eff": m_eff, "bfile": label(bfile),
              "ld_bfile": ld_bfile, "ld_panel_bed_bytes": bed_bytes, "regional_plots": regional_plots,
              "reference_genome": reference_genome or getattr(bfile, "reference_genome", None)}
    planned = ["clumps.tsv", "loci.tsv", "rejects.tsv"] + (["truth_recovery.tsv"] if truth is not None else [])
    planned += ["regional/"] if regional_plots else []
    with recording(out_dir, "edfgen clump", parameters=params, inputs=inputs, planned=planned) as man, \
            open_panel(panel_prefix) as panel:
        clumps, loci, rejects = clump_files(sumstats, panel, settings=settings)
        write_table(clumps, out_dir / "clumps.tsv", float_format="%.6g")
        write_table(loci, out_dir / "loci.tsv", float_format="%.6g")
        write_table(rejects, out_dir / "rejects.tsv", float_format="%.6g")
        truth_df = None
        if truth is not None:
            truth_df = score_truth(clumps, truth)
            write_table(truth_df, out_dir / "truth_recovery.tsv", float_format="%.6g")
        plots: list[str] = []
        if regional_plots and len(loci):
            from edfgen.plots.regional import plot_loci

            plots = plot_loci(loci.head(regional_plots), sumstats, panel, out_dir / "regional",
                              genes=genes, window_kb=min(settings.kb, 500), r2_method=settings.r2_method)
        man.extra["n_index_variants"] = int(len(clumps))
        man.extra["n_loci"] = int(len(loci))
    return ClumpRun(out_dir, clumps, loci, rejects, settings, m_eff, truth_df, tuple(plots))
