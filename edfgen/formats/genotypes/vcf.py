"""VCF and BCF genotypes (``.vcf``, ``.vcf.gz``/``.vcf.bgz``, ``.bcf``) through cyvcf2 (htslib).

The counted (effect) allele is the first ALT allele, as ``plink2 --vcf`` (A1 = ALT) and Hail's
``import_vcf`` alt allele. What is read per sample:

``field="DS"`` (the default when the header declares ``FORMAT/DS``)
    the ALT dosage ``DS``; a sample whose ``DS`` is absent or ``.`` takes its ``GT`` count, as
    ``plink2 --vcf FILE dosage=DS`` does (``plink2 --export vcf vcf-dosage=DS`` writes ``DS`` only
    where the dosage differs from the hard call). A dosage-only file (``FORMAT`` ``DS`` without ``GT``,
    as imputation servers write) is read too: a ``DS`` of ``.`` is then missing.
    A haploid call with a ``DS`` (minimac/TOPMed write males on non-PAR X as ``GT`` ``0``/``1`` with ``DS``
    in 0..1) counts ``2 x DS``, as the haploid hard call counts 2 and as ``plink2 --vcf FILE dosage=DS``
    reads it (0/2 coding; a haploid ``DS`` above 1 is an error, as in plink2). Without ``GT`` (a
    dosage-only file) the ploidy is unknown and ``DS`` is read as it is (warned where the file has X, Y or MT
    variants: a male's hemizygous ``DS`` is then half the 0/2 of the same call with ``GT``).
``field="GT"``
    the hard call: number of non-reference alleles (0/1/2), missing (``./.``, a half call ``0/.``) = NaN
    (``plink2 --vcf-half-call missing``; plink2 refuses half calls by default; they counted their called
    allele before 2026-12-05), a haploid call ``1`` counts 2, as in plink2. A record without ``GT`` is an
    error (read a dosage-only file with ``field="DS"``). A file with ``FORMAT/GP`` and no ``DS`` is read this
    way, with a warning that ``GP`` is ignored.

Sample ids (``IID``, also used as ``FID``) are the header's sample names. Variant ids are the
``ID`` column, ``chr:pos:ref:alt`` where it is ``.``. Rows with more than one ALT allele are listed
(``n_alleles`` > 2) and read as all-missing: the biallelic QC filter removes them (split them with
``bcftools norm -m-`` to test each ALT).

Bad input: every line of a text VCF is checked before htslib parses it
(:func:`~edfgen.formats.genotypes.vcf_check.check_vcf_text`); a record htslib cannot parse, a ``DS``
outside 0..2 (0..1 for a haploid call), a GT call of more than two alleles (``0/1/1``) or a GT allele
index beyond the row's ALT alleles (``0/2`` in a biallelic row; plink2: "invalid GT field") is an
:class:`~edfgen.exceptions.InputError` naming the record and its line. GT is counted from htslib's
allele codes in one vectorised pass (``VcfReader._gt_keys``), cheaper than cyvcf2's ``gt_types``
(``benchmarks/results/vcf_decode_gt_check.md``).

Access: the sites are scanned once when the file is opened (samples not parsed). Reads of variants
then go through the tabix/CSI index (``FILE.tbi`` or ``FILE.csi``) when there is one; without it
the file is streamed in order (the GWAS engine reads in file order). The first read of variants
before the last one read (LD windows) builds a tabix index of a bgzipped VCF into
``$EDFGEN_CACHE`` (default ``<tmp>/edfgen-vcf-index``), named by the file's stat fingerprint; a
BCF or plain VCF without an index is streamed again from the start instead (index it with
``bcftools index``).

References
----------
Danecek P et al. (2011) The variant call format and VCFtools. Bioinformatics 27:2156.
doi:10.1093/bioinformatics/btr330
Pedersen BS, Quinlan AR (2017) cyvcf2: fast, flexible variant analysis with Python.
Bioinformatics 33:1867. doi:10.1093/bioinformatics/btx057
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.atomic import temp_name
from edfgen.formats.chromosomes import plain_chromosome_names, selection_chromosome_names
from edfgen.formats.genotypes.base import (
    GenotypeReader,
    as_dtype,
    check_index,
    check_unique_iids,
    index_cache,
    make_index_cache,
    stat_id,
    variant_table,
)
from edfgen.formats.genotypes.vcf_check import check_vcf_text, record_at

log = logging.getLogger(__name__)

#: hard-call count of a GT call from its two allele codes ``k = clip((htslib GT value >> 1), -1, 2) + 1``:
#: 0 = no second allele (a haploid call), 1 = missing, 2 = REF, 3 = ALT; row: first allele, column: second
#: (``_GT_COUNT[4 * k0 + k1]``). A haploid ALT counts 2 and a half call (``0/.``) is missing, as
#: ``plink2 --vcf-half-call missing`` reads them (plink2 refuses half calls by default).
_GT_COUNT = np.array([[np.nan, np.nan, np.nan, np.nan],     # (no first allele: not written by htslib)
                      [np.nan, np.nan, np.nan, np.nan],    # .  ./.  ./0  ./1
                      [0.0, np.nan, 0.0, 1.0],             # 0  0/.  0/0  0/1
                      [2.0, np.nan, 1.0, 2.0]],            # 1  1/.  1/0  1/1
                     dtype=np.float32).ravel()
#: an indexed read of variants further apart than this many records is split into two region queries
_GAP = 256


def _index_path(path: str) -> str | None:
    for ext in (".tbi", ".csi"):
        if Path(path + ext).exists():
            return path + ext
    return None


def _tabix_indexable(path: str) -> bool:
    """Whether ``path`` is a BGZF-compressed (gzip with the ``BC`` extra field) text VCF, which tabix indexes."""
    import gzip

    with open(path, "rb") as fh:
        head = fh.read(16)
    if not (len(head) == 16 and head[:4] == b"\x1f\x8b\x08\x04" and head[12:14] == b"BC"):
        return False
    with gzip.open(path, "rb") as fh:
        return fh.read(3) != b"BCF"


def cached_tabix_index(path: str) -> str:
    """A tabix index of the bgzipped VCF ``path`` in ``$EDFGEN_CACHE`` (default ``<tmp>/edfgen-vcf-index``),
    built once (atomically) and named by the file's absolute path, size and mtime."""
    import pysam

    key = hashlib.sha256(stat_id(path).encode()).hexdigest()[:20]
    cache = Path(index_cache("edfgen-vcf-index"))
    out = cache / f"{key}.tbi"
    if not out.exists():
        make_index_cache(cache, f"--vcf {path}")
        tmp = temp_name(out)              # edfgen's temporary-file rule: a killed process's leftover is cleaned
        try:
            pysam.tabix_index(path, preset="vcf", index=str(tmp), force=True)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
    return str(out)


@functools.cache
def _htslib_errors_only() -> None:
    """Keep htslib's warnings (``[W::vcf_parse] Contig '1' is not defined in the header``: the reader
    handles that) off stderr, so that ``-q`` is quiet: cyvcf2 links its own htslib, whose
    ``hts_set_log_level`` is set to errors only (``HTS_LOG_ERROR``) once per process."""
    import ctypes

    import cyvcf2.cyvcf2 as ext

    try:
        ctypes.CDLL(ext.__file__).hts_set_log_level(1)
    except (OSError, AttributeError):     # another build of cyvcf2: its warnings stay
        pass


class VcfReader(GenotypeReader):
    """Reader of one VCF or BCF file (see the module docstring).

    Parameters
    ----------
    path
        ``.vcf``, ``.vcf.gz``/``.bgz`` (bgzip or gzip) or ``.bcf``.
    field : {"DS", "GT"} or None
        What to read; None: ``DS`` when the header declares it, else ``GT``.
    threads
        htslib decompression threads (None: htslib's default, one).

    Raises
    ------
    InputError
        Missing or unreadable file, no sample, duplicated sample names, a requested field the header
        does not declare, or a record that differs from the one scanned when the file was opened.
    """

    kind = "vcf"

    def __init__(self, path: str | Path, *, field: str | None = None, threads: int | None = None):
        self.path = str(path)
        self.label = self.path
        if not Path(self.path).exists():
            raise InputError(f"--vcf {self.path}: file not found")
        self._threads = threads
        self._header_lines = check_vcf_text(self.path)    # None for a BCF
        vcf = self._open()
        try:
            formats = {h.info().get("ID") for h in vcf.header_iter() if h.type == "FORMAT"}
            names = list(vcf.samples)
        finally:
            vcf.close()
        if field is None or field == "auto":
            field = "DS" if "DS" in formats else "GT"
            if field == "GT" and "GP" in formats:
                log.warning("--vcf %s: the header declares FORMAT/GP but no DS: the GP probabilities are ignored "
                            "and the GT hard calls read (for dosages, convert it with plink2 --vcf FILE dosage=GP "
                            "--make-pgen and read the .pgen)", self.path)
        if field not in ("DS", "GT"):
            raise InputError(f"--vcf-field {field!r}: choose GT or DS")
        if field not in formats:
            other = "GT" if field == "DS" else "DS"
            hint = f" (use --vcf-field {other})" if other in formats else ""
            raise InputError(f"--vcf {self.path}: the header declares no FORMAT/{field} field{hint}")
        if not names:
            raise InputError(f"--vcf {self.path}: no sample columns")
        self.field = field
        self.hardcalls_only = field == "GT"
        self.samples = pd.DataFrame({"FID": names, "IID": names}, dtype=object)
        check_unique_iids(self.samples, self.path)
        self._index = self._own_index = _index_path(self.path)
        self.variants, self._contig = self._scan_sites()
        # X, Y and MT rows: where a record there has DS without GT, a male's ploidy is unknown (warned once)
        self._haploid_chrom = np.isin(selection_chromosome_names(self._contig), ["X", "Y", "MT"])
        self._ploidy_warned = False
        pos = self.variants["base_pair_location"].to_numpy()
        self._pos = pos
        # first record of each (contig, position): where a region query that starts there begins
        new = np.ones(len(pos), dtype=bool)
        new[1:] = (pos[1:] != pos[:-1]) | (self._contig[1:] != self._contig[:-1])
        self._first_at = np.maximum.accumulate(np.where(new, np.arange(len(pos)), 0))
        self._multi = self.variants["n_alleles"].to_numpy() > 2
        # the largest GT allele code (allele + 1) a decoded row may hold: 2 (ALT '.' too, as plink2)
        self._max_code = np.maximum(self.variants["n_alleles"].to_numpy(), 2)
        self._stream = None     # unindexed reads: (open VCF, iterator, ordinal of the next record)
        self._warned = False
        self._bgzf = _tabix_indexable(self.path)

    def _warn_unknown_ploidy(self, ordinal: int) -> None:
        """WARNING (once) that the X, Y or MT record ``ordinal`` has ``DS`` without ``GT``: no ploidy, so a male's
        hemizygous dosage (0..1, as minimac/TOPMed write it) is read as a diploid one, half the 0/2 of the same
        call with ``GT`` or in a ``.bed``/``.bgen`` (review s35d: X betas 0.47 off the .bed's, silently)."""
        self._ploidy_warned = True
        names = selection_chromosome_names(self._contig[self._haploid_chrom])
        log.warning("--vcf %s: %s: DS without GT, as %d variants on %s here: the file gives no ploidy, so a male's "
                    "hemizygous dosage (0..1) is read as a diploid one (a hemizygous ALT counts 1, a heterozygote, "
                    "not 2 as with GT or in a .bed/.bgen of the same data); give these chromosomes as GT:DS",
                    self.path, self._site(ordinal), int(self._haploid_chrom.sum()), ", ".join(sorted(set(names))))

    # ------------------------------------------------------------------ files
    def _open(self, samples=None):
        from cyvcf2 import VCF

        _htslib_errors_only()
        kw = {"threads": self._threads} if self._threads and self._threads > 1 else {}
        try:
            return VCF(self.path, gts012=True, lazy=True, samples=samples, **kw)
        except Exception as exc:   # cyvcf2 raises OSError, or a bare Exception from htslib
            raise InputError(f"--vcf {self.path}: unreadable VCF/BCF ({str(exc).strip()[:200]})") from None

    def _scan_sites(self) -> tuple[pd.DataFrame, np.ndarray]:
        vcf = self._open(samples=[])   # no sample parsed: the sites only
        chrom, pos, vid, ref, alt, nall = [], [], [], [], [], []
        try:
            for rec in vcf:
                chrom.append(rec.CHROM)
                pos.append(rec.POS)
                vid.append(rec.ID)
                ref.append(rec.REF)
                a = rec.ALT
                alt.append(a[0] if a else ".")
                nall.append(1 + len(a))
        except Exception as exc:  # htslib parse errors surface as generic exceptions
            raise InputError(f"--vcf {self.path}: {self._where(len(pos))}: unreadable "
                             f"({str(exc).strip()[:200]})") from None
        finally:
            vcf.close()
        if not pos:
            raise InputError(f"--vcf {self.path}: no variant records")
        contig = np.asarray(chrom, dtype=object)
        ids = pd.Series(vid, dtype=object)
        missing = ids.isna() | (ids == ".")
        if missing.any():
            short = plain_chromosome_names(contig)
            made = short + ":" + pd.Series(pos).astype(str) + ":" + pd.Series(ref) + ":" + pd.Series(alt)
            ids = ids.where(~missing, made)
        tab = variant_table(contig, pos, ids, alt, ref, nall, source=self.path)
        return tab, contig

    def paths(self) -> list[str]:
        return [self.path] + ([self._own_index] if self._own_index else [])

    # ------------------------------------------------------------------ records
    def _region(self, first: int, last: int):
        """Records ``first..last`` (same contig) through the index: yields ``(ordinal, record)``."""
        vcf = self._open()
        try:
            if self._index != self._own_index:
                vcf.set_index(self._index)
            it = vcf(f"{self._contig[first]}:{self._pos[first]}-{self._pos[last]}")
            ordinal = int(self._first_at[first])
            for rec in it:
                if rec.POS < self._pos[first]:   # a record that starts before the region and overlaps it
                    continue
                if ordinal > last:
                    break
                yield ordinal, rec
                ordinal += 1
        finally:
            vcf.close()

    def _sequential(self, first: int, last: int):
        """Records ``first..last`` by streaming the file (restarted when ``first`` is behind the stream)."""
        if self._stream is None or first < self._stream[2]:
            if self._stream is not None:
                self._stream[0].close()
                if not self._warned:
                    log.warning("%s has no .tbi/.csi index: re-reading it from the start for earlier variants "
                                "(index it with `bcftools index` or `tabix -p vcf`)", self.path)
                    self._warned = True
            vcf = self._open()
            self._stream = [vcf, iter(vcf), 0]
        vcf, it, nxt = self._stream
        try:
            while nxt <= last:
                rec = next(it)
                nxt += 1
                self._stream[2] = nxt
                if nxt - 1 >= first:
                    yield nxt - 1, rec
        except StopIteration:
            return

    def _where(self, ordinal: int) -> str:
        """``record k`` (from 1) of the 0-based ``ordinal``, with its line in a text VCF."""
        if self._header_lines is None:          # (BCF: no lines)
            return f"record {ordinal + 1}"
        return record_at(self._header_lines + ordinal + 1, self._header_lines)

    def _site(self, ordinal: int) -> str:
        """:meth:`_where` with the record's ``CHROM:POS`` and variant id."""
        return (f"{self._where(ordinal)}, {self._contig[ordinal]}:{self._pos[ordinal]} "
                f"{self.variants['variant_id'].iat[ordinal]}")

    def _gt_keys(self, rec, ordinal: int) -> np.ndarray | None:
        """The ``_GT_COUNT`` index ``4 * k0 + k1`` of every sample's GT call (int32 ``[n_samples]``) from
        htslib's allele codes (``((allele + 1) << 1) | phased``, 0 when missing, a negative 'vector end'
        after a haploid call). A call of more
        than two alleles (``0/1/1``), or an allele index beyond the row's ALT alleles (``0/2`` in a
        biallelic row), is an error naming the record and sample (cyvcf2's ``gt_types`` read both as one
        copy; plink2 refuses both: "invalid GT field"). A row whose ALT is ``.`` may call allele 1, as
        plink2 reads it. One vectorised pass over the int32 codes (cheaper than ``gt_types``); ``key % 4 == 0``
        is a haploid call (``0``, ``1``, ``.``). A record without GT (a dosage-only file) gives None when DS is
        read, and an error when GT is."""
        gt = rec.format("GT", int)
        if gt is None:                                   # no GT in this record: a dosage-only file
            if self.field == "DS":
                return None
            raise InputError(f"--vcf {self.path}: {self._site(ordinal)}: no GT in its FORMAT "
                             f"({':'.join(rec.FORMAT)}); the file has dosages only? read them with --vcf-field DS")
        if gt.shape[1] > 2:
            raise InputError(f"--vcf {self.path}: {self._where(ordinal)}: a genotype has {gt.shape[1]} alleles "
                             "(only diploid and haploid calls can be counted)")
        k = gt >> 1                                      # allele + 1: 0 missing, < 0 no such allele
        if k.max() > self._max_code[ordinal]:
            s, j = np.argwhere(k > self._max_code[ordinal])[0]
            n_alt = int(self._max_code[ordinal]) - 1
            raise InputError(f"--vcf {self.path}: {self._site(ordinal)}: the GT call of sample "
                             f"{self.samples['IID'].iat[s]} names allele {int(k[s, j]) - 1}, the row has {n_alt} "
                             f"ALT allele{'s' if n_alt > 1 else ''}")
        np.clip(k, -1, 2, out=k)
        k += 1
        return 4 * k[:, 0] + (k[:, 1] if k.shape[1] > 1 else 0)

    def _decode(self, rec, ordinal: int) -> np.ndarray:
        """One record's effect-allele counts or dosages, float32 ``[n_samples]``; a GT call :meth:`_gt_keys`
        cannot count is an error naming the record and sample, and so is a ``DS`` outside 0..2, or outside
        0..1 where the sample's GT is haploid: that ``DS`` (one copy, as minimac/TOPMed write males on
        non-PAR X) counts ``2 x DS``, on the 0/2 scale of a haploid hard call, as ``plink2 --vcf FILE
        dosage=DS`` reads it (plink2 refuses a haploid ``DS`` above 1: "invalid DS field")."""
        key = self._gt_keys(rec, ordinal)
        if key is None and self._haploid_chrom[ordinal] and not self._ploidy_warned:
            self._warn_unknown_ploidy(ordinal)
        x = np.full(self.n_samples, np.nan, dtype=np.float32) if key is None else _GT_COUNT[key]
        if self.field == "DS":
            ds = rec.format("DS")
            if ds is not None:
                d = ds[:, 0]
                haploid = None if key is None or (key & 3).all() else (key & 3) == 0
                top = np.float32(2) if haploid is None else np.where(haploid, np.float32(1), np.float32(2))
                out = (d < 0) | (d > top) | np.isinf(d)
                if out.any():
                    s = int(np.flatnonzero(out)[0])
                    hap = haploid is not None and bool(haploid[s])
                    raise InputError(f"--vcf {self.path}: {self._site(ordinal)}: {'haploid GT, ' if hap else ''}"
                                     f"DS {d[s]:g} of sample {self.samples['IID'].iloc[s]} is outside "
                                     f"0..{1 if hap else 2}")
                if haploid is not None:
                    with np.errstate(invalid="ignore"):          # htslib's missing value is a signalling NaN
                        d = np.where(haploid, np.float32(2) * d, d)
                x = np.where(np.isnan(d), x, d).astype(np.float32, copy=False)
        return x

    def read(self, sample_idx, variant_idx, *, dtype=np.float32) -> np.ndarray:
        vidx = check_index(variant_idx, self.n_variants, "variant", self.label)
        sidx = None if sample_idx is None else check_index(sample_idx, self.n_samples, "sample", self.label)
        uniq, inv = np.unique(vidx, return_inverse=True)
        out = np.full((self.n_samples if sidx is None else len(sidx), len(uniq)), np.nan, dtype=np.float32,
                      order="F")
        want = uniq[~self._multi[uniq]]
        col = {int(v): j for j, v in enumerate(uniq)}
        if (len(want) and self._index is None and self._bgzf and self._stream is not None
                and want[0] < self._stream[2]):   # reading backwards in an unindexed bgzipped VCF: index it once
            log.info("%s: building a tabix index for random access (LD windows)", self.path)
            self._index = cached_tabix_index(self.path)
            self.close()
        if len(want):
            # runs of wanted records on one contig, split at gaps the index can skip
            brk = np.flatnonzero((self._contig[want[1:]] != self._contig[want[:-1]]) |
                                 ((np.diff(want) > _GAP) if self._index else False)) + 1
            for run in np.split(want, brk):
                first, last = int(run[0]), int(run[-1])
                wanted = set(run.tolist())
                records = self._region(first, last) if self._index else self._sequential(first, last)
                seen = self._read_run(records, wanted, first, out, col, sidx)
                if seen != len(run):
                    raise InputError(f"--vcf {self.path}: read {seen} of {len(run)} records "
                                     f"{self._contig[first]}:{self._pos[first]}-{self._pos[last]} "
                                     "(file changed, or an index out of date)")
        if len(uniq) != len(vidx) or (uniq != vidx).any():
            out = np.asarray(out[:, inv], order="F")
        return as_dtype(out, dtype)

    def _read_run(self, records, wanted: set, first: int, out: np.ndarray, col: dict, sidx) -> int:
        """Decode the ``wanted`` records of the ``(ordinal, record)`` iterator into ``out``; htslib's parse
        errors become one line naming the record."""
        seen, at = 0, first
        try:
            for ordinal, rec in records:
                at = ordinal
                if rec.POS != self._pos[ordinal] or rec.CHROM != self._contig[ordinal]:
                    raise InputError(f"--vcf {self.path}: record {ordinal + 1} is {rec.CHROM}:{rec.POS}, "
                                     f"was {self._contig[ordinal]}:{self._pos[ordinal]} when opened "
                                     "(file changed, unsorted, or an index out of date)")
                if ordinal in wanted:
                    x = self._decode(rec, ordinal)
                    out[:, col[ordinal]] = x if sidx is None else x[sidx]
                    seen += 1
                at = ordinal + 1
        except InputError:
            raise
        except Exception as exc:  # noqa: BLE001 - cyvcf2 raises bare Exceptions with htslib's message
            self.close()
            raise InputError(f"--vcf {self.path}: {self._where(at)}: unreadable ({str(exc).strip()[:200]})") from None
        return seen

    def close(self) -> None:
        if self._stream is not None:
            self._stream[0].close()
            self._stream = None
