"""What ``edfgen ldsc``'s regressions read (:mod:`edfgen.commands.ldsc`): in-sample LD scores of the autosomes of a
genotype panel (:func:`insample_ldscores`) and every phenotype's z-scores aligned to the LD-score variants by ldsc's
``--rg`` allele rule (:func:`align_zscores`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.panel import genotype_label, open_panel
from edfgen.formats.genotypes.plink1 import BIM_COLUMNS, read_plink_text
from edfgen.formats.ldscore import ldscore_files, write_ldscores
from edfgen.formats.sumstats import chrom_key
from edfgen.formats.sumstats.layout import genotype_chromosome_labels
from edfgen.formats.sumstats.discovery import declared_build
from edfgen.formats.sumstats.zscores import ZStats, key_column, rows_by_id
from edfgen.kernels.ldscore import chromosome_ld_scores
from edfgen.progress import progress

log = logging.getLogger("edfgen.commands.ldsc")

#: the chromosomes LD score regression uses, as ldsc's ``--ref-ld-chr`` reads them
AUTOSOMES = tuple(str(c) for c in range(1, 23))


# ---------------------------------------------------------------------------------------------- LD scores
def _bim_cm(source) -> np.ndarray | None:
    """The .bim centimorgans of a PLINK 1 panel (None for other formats)."""
    prefix = source if isinstance(source, (str, Path)) else (source.bfile if getattr(source, "kind", "") == "bfile"
                                                             else None)
    if prefix is None:
        return None
    bim = read_plink_text(Path(f"{prefix}.bim"), BIM_COLUMNS, optional="cm")
    return pd.to_numeric(bim["cm"], errors="coerce").to_numpy(np.float64)


def insample_ldscores(source, out_dir: Path | None, *, ld_wind_cm: float | None = None,
                      ld_wind_kb: float | None = None,
                      plan: Callable[[list[Path]], None] | None = None) -> tuple[pd.DataFrame, float]:
    """LD scores of the autosomes 1-22 of a genotype panel (:func:`~edfgen.kernels.ldscore.chromosome_ld_scores`),
    written to ``out_dir/<chr>.l2.ldscore.gz`` (+ ``.l2.M``, ``.l2.M_5_50``) when ``out_dir`` is given.

    X, Y, MT and other contigs are left out (logged), as ldsc's ``--ref-ld-chr`` and :func:`read_ldscores_chr`
    read only 1-22: males are hemizygous on X, whose expected chi² the autosomal model does not describe.
    Returns ``(CHR, SNP, BP, L2 table, M_5_50 summed)``. Without a window: 1 cM when the .bim has
    centimorgans, else 1000 kb.

    Parameters
    ----------
    source : str, Path or GenotypeSource
        Genotype panel: a PLINK 1 prefix or the ``--bfile/--pfile/--bgen`` source.
    out_dir : Path or None
        Folder for the ldsc-format LD-score files (None: not written).
    ld_wind_cm, ld_wind_kb : float, optional
        Window radius in cM (the .bim's) or kb; give at most one.
    plan : callable, optional
        Called with every file about to be written in ``out_dir`` (all chromosomes) before any is written
        (``ldsc`` lists them in its in-progress manifest: :func:`edfgen.formats.manifest.plan_outputs`).

    Returns
    -------
    tuple of (DataFrame, float)
        ``CHR, SNP, BP, L2`` of the polymorphic autosomal variants and ``M_5_50`` summed over chromosomes.

    References
    ----------
    Bulik-Sullivan BK et al. (2015) Nat Genet 47:291. doi:10.1038/ng.3211
    """
    if ld_wind_cm is not None and ld_wind_kb is not None:
        raise InputError("give one of --ld-wind-cm and --ld-wind-kb")
    cm = _bim_cm(source)
    if ld_wind_kb is None and ld_wind_cm is None:
        if cm is not None and np.nanmax(np.abs(cm)) > 0:
            ld_wind_cm = 1.0
        else:
            ld_wind_kb = 1000.0
        log.info("ldsc: LD score window %s", f"{ld_wind_cm} cM" if ld_wind_cm else f"{ld_wind_kb} kb")
    if ld_wind_cm is not None and (cm is None or not np.nanmax(np.abs(cm)) > 0):
        raise InputError("--ld-wind-cm needs a .bim (--bfile) with centimorgans; these genotypes have none: "
                         "use --ld-wind-kb")
    frames, m_tot = [], 0.0
    with open_panel(source) as panel:
        v = panel.variants
        chrom = np.asarray(v.chromosome).astype(str)
        pos = np.asarray(v.position, dtype=np.float64)
        coord_all = pos if ld_wind_kb is not None else cm[panel._rows]
        window = ld_wind_kb * 1000 if ld_wind_kb is not None else ld_wind_cm
        chroms = autosomes_of(chrom, genotype_label(source))
        if out_dir is not None and plan is not None:
            plan([Path(f) for c in chroms for f in ldscore_files(str(out_dir / c))])
        for c in progress(sorted(chroms, key=lambda x: chrom_key(pd.Series([x])).iloc[0]), desc="LD scores",
                          unit="chromosome"):
            rows = np.flatnonzero(chrom == c)
            rows = rows[np.argsort(coord_all[rows], kind="stable")]
            res = chromosome_ld_scores(panel, rows, coord_all[rows], window)
            df = pd.DataFrame({"CHR": c, "SNP": v.variant_id[res.rows], "BP": v.position[res.rows],
                               "L2": np.round(res.l2, 3)})           # as written (3 decimals, ldsc's layout)
            if out_dir is not None:
                write_ldscores(out_dir / c, df["CHR"], df["SNP"], df["BP"], df["L2"], m=res.m, m_5_50=res.m_5_50)
            frames.append(df)
            m_tot += res.m_5_50
    return pd.concat(frames, ignore_index=True), m_tot


def autosomes_of(chrom: np.ndarray, label: str | None = None) -> list[str]:
    """The labels in ``chrom`` (a panel's chromosome per variant) that name an autosome 1-22; the number of
    variants on the others is logged, and a panel without autosomes is a one-line :class:`InputError`.

    Parameters
    ----------
    chrom : str array [V]
        The panel's chromosome label of each variant.
    label : str, optional
        The genotypes' name, for the error message.

    Returns
    -------
    list of str
        The autosome labels, as written in ``chrom``.
    """
    labels = pd.unique(chrom)
    auto = [c for c, plain in zip(labels, genotype_chromosome_labels(labels)) if plain in AUTOSOMES]
    other = [c for c in labels if c not in auto]
    if not auto:
        raise InputError(f"ldsc: the genotypes {label or ''} have no variant on an autosome 1-22 (chromosomes "
                         f"{', '.join(genotype_chromosome_labels(other))}); LD score regression uses the autosomes only")
    if other:
        n_other = int(np.isin(chrom, other).sum())
        log.info("ldsc: in-sample LD scores of the autosomes 1-22 only, as ldsc's --ref-ld-chr: %d variant(s) on %s "
                 "left out", n_other, ", ".join(other))
    return auto


#: allele codes of ldsc's ``--rg`` rule (the complement of code ``c`` is ``3 - c``)
_CODE = {"A": 0, "C": 1, "G": 2, "T": 3}


def allele_classes(a1, a2) -> tuple[np.ndarray, np.ndarray]:
    """ldsc's ``--rg`` allele rule, one variant of one phenotype at a time: ``(class, sign)``.

    Two phenotypes' alleles of a variant agree (the same, swapped and/or on the other strand) exactly when
    their classes are equal and >= 0; ``class`` is -1 unless the variant is a SNP that is not
    strand-ambiguous. ``sign`` is +1 when the alleles are in the class's canonical order (or its
    complement), -1 when swapped, so ``sign_1 sign_2`` is +1 for a pair in the same orientation and -1 for
    a flipped one (the four relabellings form a group, and swapping is its sign).

    Parameters
    ----------
    a1, a2 : str array [V]
        Effect and other alleles.

    Returns
    -------
    tuple of (int array [V], float array [V])
    """
    a = pd.Series(np.asarray(a1, dtype=str)).map(_CODE).fillna(-1).to_numpy(np.int64)
    b = pd.Series(np.asarray(a2, dtype=str)).map(_CODE).fillna(-1).to_numpy(np.int64)
    valid = (a >= 0) & (b >= 0) & (a != b) & (3 - a != b)
    same = np.minimum(4 * a + b, 4 * (3 - a) + (3 - b))
    swap = np.minimum(4 * b + a, 4 * (3 - b) + (3 - a))
    return np.where(valid, np.minimum(same, swap), -1), np.where(valid & (swap < same), -1.0, 1.0)


@dataclass(frozen=True)
class AlignedZ:
    """Every phenotype's z-scores on the LD-score variants (one row a phenotype, columns in ``ld`` order):
    ``z`` turned to each variant's canonical allele order (:func:`allele_classes`; NaN where the phenotype
    lacks the variant), ``n``, and ``cls`` the allele class (-1: absent or not a strand-unambiguous SNP)."""

    names: list[str]
    z: np.ndarray
    n: np.ndarray
    cls: np.ndarray


def align_zscores(zs: dict[str, ZStats], ld: pd.DataFrame) -> AlignedZ:
    """:class:`AlignedZ` of ``zs`` on the variants of ``ld`` (matched by variant id; ``ld.SNP`` unique).

    Parameters
    ----------
    zs : dict of str to ZStats
        Phenotype -> z-scores.
    ld : DataFrame
        LD scores (``SNP`` unique).

    Returns
    -------
    AlignedZ
    """
    index = pd.Index(ld["SNP"])
    if not index.is_unique:
        raise InputError("ldsc: the LD scores name a variant id twice (drop duplicated SNPs first)")
    shape = (len(zs), len(index))
    z_all, n_all, cls_all = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, -1, dtype=np.int8)
    for j, z in enumerate(zs.values()):
        t, _ = rows_by_id(z, index)
        pos = t["pos"].to_numpy()
        ok = pos >= 0
        cls, sign = allele_classes(t["effect_allele"].to_numpy()[ok], t["other_allele"].to_numpy()[ok])
        z_all[j, pos[ok]] = sign * t["z"].to_numpy(np.float64)[ok]
        n_all[j, pos[ok]] = t["n"].to_numpy(np.float64)[ok]
        cls_all[j, pos[ok]] = cls
    return AlignedZ(list(zs), z_all, n_all, cls_all)


# ---------------------------------------------------------------------------------------------- genome builds
_RS = r"^rs\d+$"
# A trait found by its own positions in at least this share of the variants it could be found by (the fewer of its
# rows and the LD scores') is on the LD scores' build. On the other build a chr:pos:ref:alt id names an LD-score
# variant only where both builds give the same position (and the alleles agree): 0.44 % of the genes in
# shared/data/genes start at one position on GRCh37 and GRCh38, so a trait off the build finds < 1 %; a trait on
# the build finds what the two variant sets share, which a 50 % threshold would refuse for an array GWAS against
# HapMap3 LD scores (a third of its variants or fewer there).
_ON_BUILD_SHARE = 0.10


@dataclass(frozen=True)
class _BuildEvidence:
    """How one trait's variants meet the LD scores: ``by_position`` (most of its keys found there are
    ``chr:pos:ref:alt``, or, finding < 10 % of what it could, most of its own ids are), ``positions`` its ids that
    are positions (``example`` one of those), how many are found there and ``share``, that count over the fewer of
    its rows and the LD scores' (``n`` its rows)."""
    by_position: bool
    positions: int
    n: int
    example: str
    found: int
    share: float


def _build_evidence(z: ZStats, index: pd.Index) -> _BuildEvidence:
    col, pos = key_column(z, index)
    own = z.table[col].astype(object)
    is_pos = own.notna().to_numpy(bool) & ~own.astype(str).str.match(_RS).to_numpy(bool)
    hit = pos >= 0
    found = int(hit.sum())
    n = len(own)
    share = found / max(min(n, len(index)), 1)
    # found by the keys that found it (rsIDs where known meet rsID LD scores whatever its unnamed rest is); found
    # too little to say by what: by its own ids (positions off the LD scores' build find next to nothing)
    by_position = (is_pos[hit].sum() > found / 2) if share >= _ON_BUILD_SHARE else (is_pos.sum() > n / 2)
    return _BuildEvidence(bool(by_position), int(is_pos.sum()), n,
                          str(own[is_pos].iloc[0]) if is_pos.any() else "", found, share)


def check_rg_builds(zs: dict[str, ZStats], ld: pd.DataFrame, pairs: list[tuple[str, str]]) -> None:
    """Refuse or warn about ``--rg`` pairs whose summary statistics declare different genome builds (their
    ``-meta.yaml`` ``genome_assembly``, :func:`~edfgen.formats.sumstats.discovery.declared_build`).

    Both traits meet on the LD-score variants, each by its id column (:func:`key_column`). A trait whose keys found
    there are mostly ``chr:pos:ref:alt`` is found by positions, which on the other build than the LD scores' ids name
    other variants or none; one found by rsIDs (say rsIDs where known, positions for the rest, against rsID LD scores)
    is found by the same variant on either build. One that finds fewer than 10 % of what it could is judged by its own
    ids (all rows of that column): mostly positions, it is found by positions. A pair is an :class:`InputError`, naming
    the two files that declare the builds and the trait(s) found by positions, when a trait found by positions finds
    fewer than 10 % of the variants it could (the fewer of its rows and the LD scores'): on the LD scores' build it
    finds what the two variant sets share, off it < 1 % (where both builds give one position). When both traits are
    found by positions and one finds less, the one that finds the smaller share is named as the one off the LD scores'
    build (both when the shares are equal). Otherwise the pair is computed, with a warning (both found by positions on
    the LD scores' build: their positions are on one build, so a -meta.yaml is likely wrong, which it says). A
    phenotype in no pair is not checked (as without ``--rg``).

    Parameters
    ----------
    zs : dict of str to ZStats
        Phenotype -> summary statistics.
    ld : DataFrame
        LD scores (``SNP`` unique).
    pairs : list of (str, str)
        The phenotype pairs rg is computed for.

    Raises
    ------
    InputError
        A pair of different declared builds as above; or the files of one phenotype in a pair declaring
        different builds.
    """
    paired = list(dict.fromkeys(n for pair in pairs for n in pair))     # (a phenotype in no pair: as h² only)
    builds = {name: declared_build(zs[name].files) for name in paired}
    differ = [(a, b) for a, b in pairs if builds[a] and builds[b] and builds[a] != builds[b]]
    if not differ:
        return
    index = pd.Index(ld["SNP"].astype(object))
    ev = {name: _build_evidence(zs[name], index) for name in dict.fromkeys(n for pair in differ for n in pair)}

    def declarer(name: str) -> Path:       # the file whose -meta.yaml declared the build (not merely the first)
        return next((f for f in zs[name].files if declared_build([f])), zs[name].files[0])

    def by_positions(name: str) -> str:
        e = ev[name]
        return (f"{name} ({e.positions} of its {e.n} ids positions, e.g. {e.example}; {e.found} found in the LD "
                f"scores, {e.share:.0%} of what it could)")

    for a, b in differ:
        moved = [n for n in (a, b) if ev[n].by_position]
        if all(ev[n].share >= _ON_BUILD_SHARE for n in moved):
            continue        # its positions find its share there: on the LD scores' build (both: one build, whatever
            #                 the -meta.yaml say), so rg pairs the same variants
        if len(moved) == 2 and ev[a].share != ev[b].share:
            off = min(moved, key=lambda n: ev[n].share)      # the one the LD scores' positions fit less
            other = b if off == a else a
            fix = (f"{off} finds {ev[off].share:.0%} of the variants it could there and {other} {ev[other].share:.0%}, so "
                   f"{off} is likely the one not on the LD scores' build: lift {off} over to {builds[other]}")
        elif len(moved) == 2:
            fix = "lift one over to the other's build (the LD scores' build)"
        else:
            off = moved[0]
            fix = (f"{off} finds only {ev[off].share:.0%} of the variants it could there, so it is likely not on the LD "
                   f"scores' build: lift {off} over to it")
        raise InputError(
            f"ldsc --rg {a} x {b}: {declarer(a)} declares genome build {builds[a]} and {declarer(b)} "
            f"{builds[b]} (-meta.yaml genome_assembly), and {' and '.join(by_positions(n) for n in moved)} "
            f"{'meets' if len(moved) == 1 else 'meet'} the LD scores by ids that are positions, which name "
            f"other variants on the other build: rg would pair other variants; {fix}")
    a, b = differ[0]

    def how(name: str) -> str:
        e = ev[name]
        return f"{name} {builds[name]}: {e.found} of {e.n} found by {'position' if e.by_position else 'rsID'}"

    both = (f"; {a} and {b} are both found by positions there, so their positions are on one build: the -meta.yaml "
            f"of {declarer(a)} or of {declarer(b)} is likely wrong") if ev[a].by_position and ev[b].by_position else ""
    log.warning("ldsc --rg: %d pair(s) declare different genome builds (e.g. %s, %s: -meta.yaml "
                "genome_assembly); computed, as their variants are found in the LD scores by rsID, the same variant on "
                "either build, or by positions that find them there (on the LD scores' build)%s", len(differ),
                how(a), how(b), both)
