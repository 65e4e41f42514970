"""LD reference panels: the hard calls of a genotype file's (founder) samples at selected variants, read
in cached blocks, and their bit-packed genotype classes for :class:`edfgen.kernels.ld.WindowLD`.

:func:`open_panel` opens a PLINK 1 prefix or a :class:`~edfgen.formats.genotypes.source.GenotypeSource`
(any format, with ``--keep/--remove/--extract/--chr``); :func:`panel_fingerprint` says how a manifest
records a panel. The r² arithmetic is in :mod:`edfgen.kernels.ld`.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.chromosomes import selection_chromosome_names
from edfgen.formats.genotypes.base import log_withdrawn, withdrawn_samples
from edfgen.formats.genotypes.plink1 import BedReader
from edfgen.formats.genotypes.selection import select_samples, select_variants
from edfgen.formats.genotypes.sex import MALE, sample_sex
from edfgen.formats.sumstats.layout import genotype_chromosome_labels

log = logging.getLogger(__name__)


def _unique_index(keys) -> pd.Series:
    """Row of each key, keys on several rows left out (they are ambiguous)."""
    s = pd.Series(np.arange(len(keys)), index=pd.Index(keys))
    return s[~s.index.duplicated(keep=False)]


def _position_allele_keys(chromosome, position, a1, a2) -> np.ndarray:
    """``chromosome:position:allele:allele`` with the alleles in sorted order (either order of a variant gives one
    key): the key by which summary statistics and a panel's rows are matched by position."""
    a1, a2 = np.asarray(a1, dtype=str), np.asarray(a2, dtype=str)
    lo, hi = np.where(a1 < a2, a1, a2), np.where(a1 < a2, a2, a1)
    return (pd.Series(np.asarray(chromosome, dtype=str)) + ":" + pd.Series(np.asarray(position, dtype=str)) + ":"
            + pd.Series(lo) + ":" + pd.Series(hi)).to_numpy()


def locate_in_panel(df: pd.DataFrame, panel: "GenotypePanel", phenotype: str, *,
                    repeated_ids: str = "error") -> tuple[pd.Series, str]:
    """Row of each summary-statistics variant in the panel's ``.bim``.

    By ``variant_id`` (PLINK's SNP matching); when that finds fewer than half of the variants
    (e.g. ``chr:pos:ref:alt`` ids against an rsID reference panel), by ``rsid``, then by
    chromosome, position and the unordered allele pair, whichever finds most (the panel's chromosome
    labels as a GWAS-SSF round trip gives them: PLINK's 23, XY and 25 are X, 26 is MT). One rule for every
    command that reads summary statistics against a panel (clump, finemap, coloc); the panel's indexes are
    built once per panel (:class:`PlinkVariants`).

    Parameters
    ----------
    repeated_ids
        A variant id on several panel rows (a multi-allelic site split into biallelic rows) that the summary
        statistics use: ``"error"`` (clump: its LD would be ambiguous), or ``"position"`` (finemap, coloc:
        such rows are found by position and alleles, else left out, with a warning).

    Returns
    -------
    ``(panel row of each row of df, float with NaN where not found; the key that matched)``
    """
    v = panel.variants
    ids = df["variant_id"].astype(str)
    repeated = ids.isin(v.duplicated_ids).to_numpy() if v.duplicated_ids else np.zeros(len(ids), dtype=bool)
    if repeated.any() and repeated_ids == "error":
        raise InputError(f"{panel.prefix}.bim: duplicated variant id(s) used by {phenotype}, "
                         f"e.g. {str(ids[repeated].iloc[0])!r}")
    has_position = {"chromosome", "base_pair_location", "effect_allele", "other_allele"} <= set(df.columns)

    def by_position() -> pd.Series:
        sk = _position_allele_keys(df["chromosome"].astype(str).str.replace("^chr", "", regex=True),
                                   pd.to_numeric(df["base_pair_location"], errors="coerce").astype("Int64").astype(str),
                                   df["effect_allele"].astype(str).str.upper(), df["other_allele"].astype(str).str.upper())
        return pd.Series(sk, index=df.index).map(v.rows_by_position_alleles)

    best = (ids.map(v.rows_by_id), "variant_id")
    if best[0].notna().mean() < 0.5:
        tries = [(df["rsid"].astype(str).map(v.rows_by_id), "rsid")] if "rsid" in df.columns else []
        if has_position:
            tries.append((by_position(), "chromosome:position:alleles"))
        for cand in tries:
            if cand[0].notna().sum() > best[0].notna().sum():
                best = cand
        if best[1] != "variant_id":
            log.debug("%s: variants matched to the LD panel by %s (%d of %d)", phenotype, best[1],
                      int(best[0].notna().sum()), len(ids))
    if repeated.any() and best[1] == "variant_id":
        rows = best[0].copy()
        found = by_position()[repeated] if has_position else pd.Series(np.nan, index=df.index[repeated])
        rows[repeated] = found.to_numpy()
        log.warning("%s: %d variant id(s) on several rows of %s.bim (e.g. %s): matched by position and alleles "
                    "(%d found)", phenotype, int(repeated.sum()), panel.prefix, ids[repeated].iloc[0],
                    int(found.notna().sum()))
        best = (rows, best[1])
    return best


def panel_fingerprint(prefix) -> tuple[list[Path], int | None]:
    """How a manifest records an LD reference panel: ``(small files, bytes of the genotype files)``.

    For a PLINK 1 prefix: ``([PREFIX.bim, PREFIX.fam], size of PREFIX.bed)``. For a
    :class:`~edfgen.formats.genotypes.source.GenotypeSource` or reader: its variant/sample files and the
    summed size of its genotype files (``.bed``, ``.pgen``, ``.bgen``); its ``--keep/--remove/--extract`` files are
    small files too. The small files go to the
    manifest inputs (sha256); genotype files are recorded by size only (``ld_panel_bed_bytes``),
    because hashing a biobank's genotypes takes longer than clumping or MR with them. The byte count
    is ``None`` when no genotype file exists.
    """
    if isinstance(prefix, (str, Path)):
        bed = Path(f"{prefix}.bed")
        return [Path(f"{prefix}.{e}") for e in ("bim", "fam")], (bed.stat().st_size if bed.exists() else None)
    paths = [Path(p) for p in prefix.paths()]
    big = [p for p in paths if p.suffix in (".bed", ".pgen", ".bgen", ".gz", ".bgz", ".bcf", ".vcf")]
    small = [p for p in paths if p not in big] + [Path(p) for p in getattr(prefix, "selection_files", list)()]
    size = sum(p.stat().st_size for p in big if p.exists()) if any(p.exists() for p in big) else None
    return small, size


def genotype_label(source) -> str | None:
    """How a manifest names a genotype input (``--bfile``/``--ld-bfile`` of clump and mr, the LD
    panel of finemap, coloc and ldsc): the prefix
    given, or ``--pfile PREFIX``, ``--bgen FILE`` ... for a
    :class:`~edfgen.formats.genotypes.source.GenotypeSource` of another format."""
    if source is None or isinstance(source, (str, Path)):
        return None if source is None else str(source)
    return source.label if source.kind == "bfile" else f"--{source.kind} {source.label}"


def genotype_parameters(source, *, reference_genome: str | None = None) -> dict | str | None:
    """How a manifest records the genotypes of an LD panel (finemap, coloc, ldsc, mr, clump): a
    :class:`~edfgen.formats.genotypes.source.GenotypeSource`'s :meth:`parameters` (as gwas records its genotypes),
    ``{"bfile": prefix, "reference_genome": ...}`` for a PLINK prefix: the build ``reference_genome`` the command
    takes its positions to be in, or ``"undeclared"`` (a prefix alone, such as ``run_mr(ld_bfile=prefix)``'s, recorded
    no build at all: s41safe #4)."""
    if hasattr(source, "parameters"):
        return source.parameters()
    return {"bfile": None if source is None else str(source), "reference_genome": reference_genome or "undeclared"}


@dataclass(frozen=True)
class PlinkVariants:
    """The variants of an LD panel: one row per variant in file order."""

    chromosome: np.ndarray      # str [V]
    variant_id: np.ndarray      # str [V]
    position: np.ndarray        # int64 [V]
    allele1: np.ndarray         # str [V] (the counted allele), upper case as summary statistics' alleles
    allele2: np.ndarray         # str [V]

    @functools.cached_property
    def ssf_chromosome(self) -> np.ndarray:
        """The chromosome labels as edfgen's GWAS-SSF files give them back, which summary statistics, the
        GWAS Catalog and gene tables are keyed by: X for PLINK's 23, XY and 25, MT for 26 and M, no ``chr``
        (:func:`~edfgen.formats.sumstats.layout.genotype_chromosome_labels`)."""
        return genotype_chromosome_labels(self.chromosome)

    @functools.cached_property
    def rows_by_id(self) -> pd.Series:
        """Panel row of each variant id, built once per panel (ids listed more than once are
        left out: they are ambiguous)."""
        return _unique_index(self.variant_id)

    @functools.cached_property
    def duplicated_ids(self) -> frozenset:
        """Variant ids on more than one row (e.g. a multi-allelic site split into biallelic rows), once per panel."""
        idx = pd.Index(self.variant_id)
        return frozenset(idx[idx.duplicated()])

    @functools.cached_property
    def rows_by_position_alleles(self) -> pd.Series:
        """Panel row of each ``chromosome:position:allele:allele`` key (GWAS-SSF chromosome labels, alleles in
        sorted order), once per panel; keys on several rows left out."""
        return _unique_index(_position_allele_keys(self.ssf_chromosome, self.position, self.allele1, self.allele2))


class GenotypePanel:
    """Allele counts of selected variants of an LD panel, from any genotype reader.

    Parameters
    ----------
    reader : :class:`edfgen.formats.genotypes.GenotypeReader`
        PLINK 1/2 or BGEN files (dosages are rounded to hard calls, as plink does for LD).
    founders_only
        Keep only founders (both parental ids ``0``; files without parents: every sample), as PLINK
        1.9 does for LD.
    cache_mb
        Decoded genotypes are read in contiguous blocks of variants (~8 MiB each) and kept in
        a least-recently-used cache of this size, so overlapping windows are decoded once.
    sample_index : array of int, optional
        Rows of ``reader.samples`` to use (``--keep/--remove``), before the founder filter. UK Biobank
        withdrawals (negative ids, :func:`~edfgen.formats.genotypes.base.withdrawn_samples`) are never used.
    variant_index : array of int, optional
        Rows of ``reader.variants`` that make up the panel (``--extract/--chr``); panel row ``i`` is
        reader row ``variant_index[i]``.

    Notes
    -----
    Memory is bounded by ``cache_mb`` plus one window (``n_samples x window`` int8), never the
    whole genome.
    """

    def __init__(self, reader, *, founders_only: bool = True, cache_mb: int = 256,
                 sample_index: np.ndarray | None = None, variant_index: np.ndarray | None = None):
        self.reader = reader
        self.prefix = Path(str(reader.label))
        v = reader.variants
        self._rows = np.arange(len(v)) if variant_index is None else np.asarray(variant_index, dtype=np.int64)
        v = v.iloc[self._rows]
        self.variants = PlinkVariants(chromosome=v["chromosome"].to_numpy(str), variant_id=v["variant_id"].to_numpy(str),
                                      position=v["base_pair_location"].to_numpy(np.int64),
                                      allele1=np.char.upper(v["effect_allele"].to_numpy(str)),
                                      allele2=np.char.upper(v["other_allele"].to_numpy(str)))
        self.n_variants = len(v)
        fam = reader.samples
        keep = np.zeros(len(fam), dtype=bool)
        keep[np.arange(len(fam)) if sample_index is None else np.asarray(sample_index)] = True
        gone = keep & withdrawn_samples(fam["IID"])     # UK Biobank withdrawals (negative ids): never in LD
        log_withdrawn(getattr(reader, "sample", None) or reader.label, int(gone.sum()))
        keep &= ~gone
        self.n_withdrawn = reader.n_withdrawn
        if founders_only and {"PAT", "MAT"} <= set(fam.columns):  # PLINK 1.9: founder = both parental ids "0"
            keep &= ((fam["PAT"].fillna("0") == "0") & (fam["MAT"].fillna("0") == "0")).to_numpy()
        self.sample_index = np.flatnonzero(keep)
        self.n_samples = int(keep.sum())
        if self.n_samples == 0:
            raise InputError(f"LD panel {reader.label}: no founders to compute LD from")
        self._all = self.n_samples == len(fam)
        self._sex = _SexChromosomes.of(fam, self.sample_index, self.variants.chromosome, str(reader.label))
        self._block = max(64, (8 << 20) // max(self.n_samples, 1))
        self._cache: "OrderedDict[int, np.ndarray]" = OrderedDict()
        self._cache_max = max(1, (cache_mb << 20) // (self._block * self.n_samples))

    def _get_block(self, b: int) -> np.ndarray:
        arr = self._cache.get(b)
        if arr is not None:
            self._cache.move_to_end(b)
            return arr
        rows = None if self._all else self.sample_index
        start, stop = b * self._block, min((b + 1) * self._block, self.n_variants)
        arr = self.reader.read(rows, self._rows[start:stop], dtype=np.int8)
        if self._sex is not None:
            arr = self._sex.missing_calls(arr, start, stop)
        self._cache[b] = arr
        while len(self._cache) > self._cache_max:
            self._cache.popitem(last=False)
        return arr

    def read(self, variant_index: np.ndarray) -> np.ndarray:
        """Allele counts ``int8 [n_samples, k]`` of the variants at ``variant_index`` (panel rows);
        missing calls are ``-127``."""
        idx = np.asarray(variant_index, dtype=np.intp)
        if idx.size == 0:
            return np.zeros((self.n_samples, 0), dtype=np.int8)
        if idx.min() < 0 or idx.max() >= self.n_variants:
            raise IndexError(f"{self.prefix}: variant index {int(idx.min())}..{int(idx.max())} outside the "
                             f"panel rows 0..{self.n_variants - 1}")
        blocks = idx // self._block
        out = np.empty((self.n_samples, idx.size), dtype=np.int8, order="F")
        for b in np.unique(blocks):
            sel = np.flatnonzero(blocks == b)
            out[:, sel] = self._get_block(int(b))[:, idx[sel] - b * self._block]
        return out

    def class_bits(self, b: int) -> np.ndarray:
        """Bit-packed genotype classes ``uint8 [variants of block b, 3, ceil(n_samples / 8)]`` of the panel's
        samples (:meth:`~edfgen.formats.genotypes.base.GenotypeReader.class_bits`), for
        :class:`edfgen.kernels.ld.WindowLD`."""
        start, stop = b * self._block, min((b + 1) * self._block, self.n_variants)
        bits = self.reader.class_bits(None if self._all else self.sample_index, self._rows[start:stop])
        return bits if self._sex is None else self._sex.missing_bits(bits, start, stop)

    def haploid(self, row: int) -> np.ndarray | None:
        """The samples that carry one copy of a panel row's chromosome (plink 1.9 ``--clump``'s model).

        LD counts each of them as one haplotype (:func:`edfgen.kernels.ld.r2_vector`'s ``haploid``); their
        heterozygous calls are missing (:meth:`read`, :meth:`class_bits`). See :class:`_SexChromosomes`.

        Parameters
        ----------
        row : int
            Panel row.

        Returns
        -------
        bool array [n_samples] or None
            The males (sex 1) when the row is on X (``X``/``23``, not the pseudo-autosomal ``XY``/25) or Y
            (``Y``/``24``); None elsewhere, or when the panel has no males or no sex.
        """
        return None if self._sex is None else self._sex.haploid(row)

    def haploid_bits(self, row: int) -> np.ndarray | None:
        """:meth:`haploid` bit-packed, for :class:`edfgen.kernels.ld.WindowLD`.

        Parameters
        ----------
        row : int
            Panel row.

        Returns
        -------
        uint8 array [ceil(n_samples / 8)] or None
            Bit ``i % 8`` of byte ``i // 8`` set for haploid sample ``i``; None where every sample is diploid.
        """
        return None if self.haploid(row) is None else self._sex.male_bits

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> "GenotypePanel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class _SexChromosomes:
    """The sex-chromosome model of an LD panel, plink 1.9 ``--clump``'s (checked with ``--clump-verbose``'s RSQ,
    ``tests/test_clump.py``): on X (``X``/``23``) a male's (sex 1) heterozygous call is missing and he is one
    haplotype; on Y (``Y``/``24``) only males are read (females and unknown sex missing), each one haplotype, a
    heterozygous call missing. Females and unknown sex are diploid on X; the pseudo-autosomal region
    (``XY``/25/PAR1/PAR2) and MT are read as autosomes. Sex comes from :func:`~edfgen.formats.genotypes.sex.sample_sex`
    (``.fam``, ``.psam``, a ``.sample``'s sex column); a panel without sex (VCF) reads X and Y as stored."""

    males: np.ndarray           # bool [n]
    male_bits: np.ndarray       # uint8 [ceil(n / 8)], bit-packed (little bit order, as class_bits)
    x: np.ndarray               # bool [V]
    y: np.ndarray               # bool [V]

    @classmethod
    def of(cls, fam: pd.DataFrame, sample_index: np.ndarray, chromosome: np.ndarray, label: str):
        """The model of a panel's samples and variants, or None when it has no X or Y variant or no sex."""
        names = selection_chromosome_names(chromosome)
        x, y = names == "X", names == "Y"
        sex = sample_sex(fam, label) if (x.any() or y.any()) else None
        if sex is None:
            return None
        males = sex[sample_index] == MALE
        log.debug("LD panel: %d males are haploid on %d X and %d Y variants (plink 1.9)", int(males.sum()),
                  int(x.sum()), int(y.sum()))
        return cls(males, np.packbits(males, bitorder="little"), x, y)

    def haploid(self, row: int) -> np.ndarray | None:
        """The males on an X or Y row, else (or without males) None."""
        return self.males if (self.x[row] or self.y[row]) and self.male_bits.any() else None

    def missing_calls(self, arr: np.ndarray, start: int, stop: int) -> np.ndarray:
        """int8 calls ``[n, stop - start]`` of panel rows ``start..stop-1`` with the model's missing calls."""
        x, y = self.x[start:stop], self.y[start:stop]
        if not (x.any() or y.any()):
            return arr
        arr = np.array(arr)
        sex_chrom = x | y
        sub = arr[np.ix_(self.males, sex_chrom)]
        arr[np.ix_(self.males, sex_chrom)] = np.where(sub == 1, np.int8(-127), sub)
        arr[np.ix_(~self.males, y)] = -127
        return arr

    def missing_bits(self, bits: np.ndarray, start: int, stop: int) -> np.ndarray:
        """Bit-packed classes ``[stop - start, 3, bytes]`` (:meth:`GenotypePanel.class_bits`) with the model's
        missing calls in no class."""
        x, y = self.x[start:stop], self.y[start:stop]
        if not (x.any() or y.any()):
            return bits
        bits = np.array(bits)
        bits[x | y, 1, :] &= ~self.male_bits
        bits[y] &= self.male_bits
        return bits


class PlinkGenotypes(GenotypePanel):
    """:class:`GenotypePanel` of a PLINK 1 fileset ``PREFIX.bed/.bim/.fam`` (edfgen's own numpy .bed decoder)."""

    def __init__(self, prefix: str | Path, *, founders_only: bool = True, cache_mb: int = 256):
        super().__init__(BedReader(str(prefix), threads=1), founders_only=founders_only, cache_mb=cache_mb)
        self.prefix = Path(str(prefix))


def open_panel(panel, *, founders_only: bool = True) -> GenotypePanel:
    """An LD panel from a PLINK 1 prefix, a :class:`~edfgen.formats.genotypes.source.GenotypeSource` (``--bfile``,
    ``--pfile``, ``--bgen`` with ``--keep/--remove/--chr/--extract``) or an open panel (returned as is)."""
    if isinstance(panel, GenotypePanel):
        return panel
    if isinstance(panel, (str, Path)):
        return PlinkGenotypes(panel, founders_only=founders_only)
    if panel.min_info is not None:
        raise InputError("--min-info filters association results; an LD panel uses every variant (drop --min-info)")
    reader = panel.open_reader(threads=1, common_samples=True)   # (LD within a chromosome: X may have its own samples)
    rows = select_samples(reader, keep=panel.keep, remove=panel.remove) if (panel.keep or panel.remove) else None
    cols = (select_variants(reader, extract=panel.extract, chromosomes=panel.chromosomes)
            if (panel.extract or panel.chromosomes) else None)
    return GenotypePanel(reader, founders_only=founders_only, sample_index=rows, variant_index=cols)
