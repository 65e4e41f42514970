"""Writing GWAS-SSF files as the GWAS Catalog takes them: BGZF + tabix index + ``<file>-meta.yaml``,
rows formatted block by block (:class:`SumstatsFormatter`, :class:`SumstatsStream`,
:class:`SumstatsWriter`), with ``neg_log_10_p_value`` exact below float64's range
(:func:`edfgen.kernels.pvalues.neg_log10_p`) and such p-values printed from it."""

from __future__ import annotations

import datetime
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.formats.bgzf import BgzfWriter, TabixSpec, tabix_index
from edfgen.formats.sumstats.layout import SSF_COLUMNS, ssf_chromosome_codes
from edfgen.formats.tables import PathLike, atomic_write, temp_name
from edfgen.kernels.pvalues import TINY_P, neg_log10_p

log = logging.getLogger(__name__)

#: columns written after :data:`SSF_COLUMNS` by :class:`SumstatsWriter` (NA where they do not apply)
SSF_EXTRA_COLUMNS = ["n_cases", "n_controls", "neg_log_10_p_value"]
#: the optional last column of ``edfgen gwas --binary --logistic-test firth-fallback``: True where the row's
#: statistics come from the Firth refit, False where from the Wald test
FIRTH_COLUMN = "firth"
#: GWAS-SSF version written into ``file_type`` of the metadata
SSF_VERSION = "GWAS-SSF v1.0"
def p_value_strings(p: np.ndarray, nlp: np.ndarray, *, digits: int = 8) -> list[str | None]:
    """``p`` printed with ``digits`` significant digits, or from ``nlp = -log10 p`` (``"3.2e-412"``)
    where ``p < 1e-300``; ``None`` where ``p`` is missing."""
    out: list[str | None] = []
    for pv, nl in zip(np.asarray(p, dtype=float), np.asarray(nlp, dtype=float)):
        if not np.isfinite(pv):
            out.append(None)
        elif pv >= TINY_P or not np.isfinite(nl):
            out.append(f"{pv:.{digits}g}")
        else:
            e = int(np.floor(-nl))
            m = round(10.0 ** (-nl - e), digits - 1)
            if m >= 10.0:
                m, e = m / 10.0, e + 1
            out.append(f"{m:.{digits - 1}g}e{e:d}")
    return out


def p_value_column(p: np.ndarray, nlp: np.ndarray) -> np.ndarray:
    """A p-value column for a table written with ``float_format="%.8g"``: ``p`` itself where no value is below
    1e-300; else an object column with those rows printed from ``nlp = -log10 p`` (:func:`p_value_strings`) and
    the others the doubles nearest their 8-digit text (:func:`round_significant`), so the file is the same as
    with every row formatted, but only the rows that need it are formatted one by one (a p of 1 is given as ``"1"``: an object column would
    print 1.0 as ``1.0``, ``%.8g`` as ``1``).

    Parameters
    ----------
    p, nlp : array [M]
        p-values (0 where they underflowed) and their exact ``-log10``.

    Returns
    -------
    array [M], float64 or object (float, str or None).
    """
    p = np.asarray(p, dtype=float)
    tiny = np.isfinite(p) & (p < TINY_P)
    if not tiny.any():
        return p
    rounded = round_significant(p)
    out = rounded.astype(object)
    out[tiny] = p_value_strings(p[tiny], np.asarray(nlp, dtype=float)[tiny])
    out[rounded == 1.0] = "1"           # (0.999999999 too: "%.8g" prints it 1)
    return out


def round_significant(x: np.ndarray, digits: int = 8) -> np.ndarray:
    """Round to ``digits`` significant digits (as ``%.8g`` would print), NaN kept.

    The rounded integer is divided (or multiplied) by an exact power of ten (up to 1e22), so the result is the
    double nearest to the decimal and prints with ``digits`` digits (``1.4576648e-18``, not
    ``1.4576647999999998e-18`` as a division by the inexact ``1e25`` gave; review s32a F8); the rare values
    that need a larger power (``|x| < 1e-15`` or ``> 1e29`` at 8 digits) are formatted one by one.
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        k = digits - 1 - np.floor(np.log10(np.abs(x)))
        ten_k = 10.0 ** np.clip(np.abs(k), 0, 22)
        r = np.where(k >= 0, np.round(x * ten_k) / ten_k, np.round(x / ten_k) * ten_k)
    far = np.flatnonzero(np.isfinite(x) & (np.abs(k) > 22))
    r[far] = [float(f"{v:.{digits}g}") for v in x[far]]
    return np.where(np.isfinite(r), r, x)


@dataclass(frozen=True)
class SumstatsMeta:
    """What ``<file>-meta.yaml`` says about one GWAS-SSF file (GWAS Catalog metadata schema).

    Attributes
    ----------
    trait
        Phenotype name (``trait_description``).
    sample_size
        Largest ``n`` of the file.
    case_count, control_count
        Binary outcomes only.
    genome_assembly
        ``GRCh37``, ``GRCh38``, ... or ``NR`` (not reported).
    covariates
        ``adjusted_covariates``.
    analysis_software
        e.g. ``edfgen 0.1.0 (linear regression)``.
    """

    trait: str
    sample_size: int | None = None
    case_count: int | None = None
    control_count: int | None = None
    genome_assembly: str = "NR"
    covariates: tuple[str, ...] = ()
    analysis_software: str = ""

    def to_dict(self, data_file_name: str, md5: str) -> dict:
        """The metadata fields in the order of the GWAS Catalog's ``gwas-sumstats-tools`` schema."""
        sample: dict = {"sample_size": None if self.sample_size is None else int(self.sample_size)}
        binary = self.case_count is not None
        sample["case_control_study"] = binary
        if binary:
            sample.update(case_count=int(self.case_count), control_count=int(self.control_count or 0))
        return {
            "date_metadata_last_modified": datetime.date.today().isoformat(),
            "trait_description": [self.trait],
            "genome_assembly": self.genome_assembly,
            "coordinate_system": "1-based",
            "samples": [sample],
            "data_file_name": data_file_name,
            "file_type": SSF_VERSION,
            "data_file_md5sum": md5,
            "analysis_software": self.analysis_software or None,
            "adjusted_covariates": list(self.covariates) or None,
            "is_harmonised": False,
            "is_sorted": True,
        }


def meta_path(path: PathLike) -> Path:
    """``<file>-meta.yaml`` beside a GWAS-SSF file (the GWAS Catalog's naming)."""
    return Path(f"{path}-meta.yaml")


def write_meta(path: PathLike, meta: SumstatsMeta, md5: str) -> Path:
    """Write ``<path>-meta.yaml`` for the GWAS-SSF file ``path`` (whose md5 is ``md5``)."""
    import yaml

    out = meta_path(path)
    d = {k: v for k, v in meta.to_dict(Path(path).name, md5).items() if v is not None}
    with atomic_write(out) as fh:
        # width: a value on one line, never folded at 80 characters (a grep of analysis_software saw half of it)
        yaml.safe_dump(d, fh, sort_keys=False, default_flow_style=False, width=10**6)
    return out


class SumstatsFormatter:
    """GWAS-SSF text rows of one set of variants (e.g. one block of a GWAS), for any number of phenotypes.

    The variant columns are formatted once (Arrow casts) and joined into two pre-built pieces
    (``chromosome .. other_allele`` and ``variant_id, rsid``; alleles upper-cased, as GWAS-SSF requires,
    whatever case the genotype file used); numbers use Arrow's C++ formatter
    after rounding to 8 significant digits. Arrow compute kernels run outside the GIL, so several
    threads can format at once. Columns :data:`SSF_COLUMNS` + :data:`SSF_EXTRA_COLUMNS`.

    Parameters
    ----------
    base : DataFrame
        ``chromosome, base_pair_location, effect_allele, other_allele, variant_id, rsid`` of the rows,
        in file order.
    """

    columns = SSF_COLUMNS + SSF_EXTRA_COLUMNS

    def __init__(self, base: pd.DataFrame):
        import pyarrow as pa
        import pyarrow.compute as pc

        self.pa, self.pc = pa, pc
        self.m = len(base)
        base = base.assign(chromosome=ssf_chromosome_codes(base["chromosome"]))  # X, x -> 23 ...
        self.chromosome = base["chromosome"].to_numpy()
        self.position = base["base_pair_location"].to_numpy(dtype=np.int64)
        cols = {c: self._str(pa.array(base[c].to_numpy(), from_pandas=True)) for c in
                ("chromosome", "base_pair_location", "effect_allele", "other_allele", "variant_id", "rsid")}
        for c in ("effect_allele", "other_allele"):   # GWAS-SSF alleles are upper case; .bim/VCF may not be
            cols[c] = pc.utf8_upper(cols[c])
        self.head = pc.binary_join_element_wise(*[cols[c] for c in SSF_COLUMNS[:4]], "\t")
        self.ids = pc.binary_join_element_wise(cols["variant_id"], cols["rsid"], "\t")
        self.newline = pa.array(["\n"] * self.m)
        self.na = pa.array(["NA"] * self.m)
        self._cache: dict = {}

    def _str(self, arr):
        return self.pc.fill_null(self.pc.cast(arr, self.pa.string()), "NA")

    def _num(self, v):
        return self._str(self.pa.array(round_significant(np.asarray(v, dtype=float)), from_pandas=True))

    def _column(self, v):
        """An integer column (one value per row, or one value for all rows); NA when ``v`` is None."""
        if v is None:
            return self.na
        return self._str(self.pa.array(np.broadcast_to(np.asarray(v), (self.m,))))

    def _shared(self, name: str, v, make):
        """``make(v)``, reused while the next phenotype has equal values (the allele frequency and
        ``n`` are the same for all phenotypes of one missingness group)."""
        v = None if v is None else np.asarray(v)
        hit = self._cache.get(name)
        if hit is not None and (v is None and hit[0] is None or v is not None and hit[0] is not None
                                and np.array_equal(hit[0], v, equal_nan=v.dtype.kind == "f")):
            return hit[1]
        out = make(v)
        self._cache[name] = (None if v is None else v.copy(), out)
        return out

    def rows(self, beta, se, eaf, p, n, *, df=None, n_cases=None, n_controls=None,
             keep: np.ndarray | None = None, firth: np.ndarray | None = None) -> tuple[bytes, np.ndarray]:
        """``(text of the rows, bytes per row)`` for one phenotype; ``df``: t-test degrees of freedom per
        row (linear model), ``None`` for a normal Wald statistic (see :func:`neg_log10_p`); ``keep``: a
        mask of the rows to write (the others are left out; give the same mask to :meth:`SumstatsStream.append`);
        ``firth``: a bool per row, written as a last column :data:`FIRTH_COLUMN` (``True``/``False``; the
        stream's header must name it: ``SumstatsStream(..., firth=True)``)."""
        pa, pc = self.pa, self.pc
        p = np.asarray(p, dtype=float)
        nlp = neg_log10_p(p, beta=beta, standard_error=se, df=df)
        p_str = self._num(p)
        tiny = np.isfinite(p) & (p < TINY_P)
        if tiny.any():
            fixed = np.asarray(p_value_strings(p[tiny], nlp[tiny]), dtype=object)
            full = np.full(self.m, None, dtype=object)
            full[tiny] = fixed
            p_str = pc.if_else(pa.array(tiny), pa.array(full, type=pa.string()), p_str)
        pieces = [self.head, self._num(beta), self._num(se), self._shared("eaf", eaf, self._num), p_str, self.ids,
                  self._shared("n", n, self._column), self._shared("n_cases", n_cases, self._column),
                  self._shared("n_controls", n_controls, self._column),
                  self._str(pa.array(np.round(nlp, 6), from_pandas=True)), self.newline]
        if firth is not None:
            pieces.insert(-1, pc.if_else(pa.array(np.asarray(firth, dtype=bool)), "True", "False"))
        line = pc.binary_join_element_wise(*pieces[:-1], "\t")
        line = pc.binary_join_element_wise(line, self.newline, "")
        if keep is not None:
            line = line.filter(pa.array(np.asarray(keep, dtype=bool)))
        if not len(line):
            return b"", np.zeros(0, dtype=np.int64)
        offsets = np.frombuffer(line.buffers()[1], dtype=np.int32 if line.type == pa.string() else np.int64)
        offsets = offsets[line.offset:line.offset + len(line) + 1]
        body = line.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]
        return body, np.diff(offsets).astype(np.int64)


class SumstatsStream:
    """One GWAS-SSF file written block by block (bounded memory): BGZF (ISA-L deflate level 1) into a
    temporary file (:func:`edfgen.formats.tables.temp_name`) with its tabix index built from the rows as
    they are written (``.tbi``: chromosome column 1, position column 2, one header line; the bytes
    htslib's ``tabix`` writes), then, on :meth:`close`, the ``.tbi``, the rename onto ``path`` and
    ``<file>-meta.yaml``. Rows must come in :func:`sort_sumstats` order. One thread at a time.

    The index under construction holds ~32 bytes per 16 kb bin that has rows (up to ~6 MB for a
    whole genome); with ``index_while_writing=False`` htslib indexes the finished file instead (no
    memory, one more read of the file). ``firth``: the header ends with :data:`FIRTH_COLUMN` (the rows must
    then come from ``SumstatsFormatter.rows(..., firth=...)``).
    """

    def __init__(self, path: PathLike, *, index: bool = True, level: int = 1, index_while_writing: bool = True,
                 firth: bool = False):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.index = index
        self.tmp = temp_name(self.path)
        self._fh = open(self.tmp, "wb")
        self._build = index and index_while_writing
        try:
            self._w = BgzfWriter(self._fh, level=level, tabix=TabixSpec() if self._build else None,
                                 name=str(self.path))
            columns = SumstatsFormatter.columns + ([FIRTH_COLUMN] if firth else [])
            self._w.write(("\t".join(columns) + "\n").encode())
        except BaseException:
            self.abort()
            raise

    def append(self, body: bytes, line_lengths: np.ndarray, formatter: SumstatsFormatter,
               keep: np.ndarray | None = None) -> None:
        """Append rows formatted by ``formatter`` (:meth:`SumstatsFormatter.rows` gives ``body`` and
        ``line_lengths``); their chromosomes and positions go into the tabix index as they are written."""
        if self._build:
            chrom, pos = formatter.chromosome, formatter.position
            if keep is not None:
                chrom, pos = chrom[keep], pos[keep]
            self._w.write_records(body, chrom, pos, line_lengths)
        else:
            self._w.write(body)

    def close(self, meta: SumstatsMeta | None = None) -> str:
        """Finish the file (index, rename, metadata); returns the md5 of the compressed file."""
        tbi = None
        try:
            self._w.close()
            self._fh.close()                         # a full disk may fail here (the buffered end)
            if self._build:
                tbi = temp_name(Path(f"{self.path}.tbi"))
                tbi.write_bytes(self._w.tabix_bytes())
            elif self.index:
                tbi = tabix_index(self.tmp)
        except BaseException:
            self.abort()
            if tbi is not None:
                tbi.unlink(missing_ok=True)
            raise
        os.replace(self.tmp, self.path)              # the data first, then its index
        if tbi is not None:
            os.replace(tbi, f"{self.path}.tbi")
        if meta is not None:
            write_meta(self.path, meta, self._w.md5)
        return self._w.md5

    def abort(self) -> None:
        """Drop the temporary file (the target is untouched)."""
        if not self._fh.closed:
            self._fh.close()
        for f in (self.tmp, Path(f"{self.tmp}.tbi")):
            f.unlink(missing_ok=True)


class SumstatsWriter:
    """Writes many GWAS-SSF files over the same variants (all rows at once; see :class:`SumstatsStream`
    for block-by-block writing). ``base`` must be sorted by :func:`sort_sumstats`. Thread-safe: one
    file per call.
    """

    def __init__(self, base: pd.DataFrame, *, index: bool = True):
        self.formatter = SumstatsFormatter(base)
        self.m = len(base)
        self.index = index

    def write(self, path: PathLike, beta, se, eaf, p, n, *, df=None, n_cases=None, n_controls=None,
              meta: SumstatsMeta | None = None) -> str:
        """Write one file; returns its md5 (arguments as :meth:`SumstatsFormatter.rows`)."""
        body, lengths = self.formatter.rows(beta, se, eaf, p, n, df=df, n_cases=n_cases, n_controls=n_controls)
        stream = SumstatsStream(path, index=self.index)
        try:
            stream.append(body, lengths, self.formatter)
        except BaseException:
            stream.abort()
            raise
        return stream.close(meta)


def warn_non_ssf_chromosomes(chromosomes) -> None:
    """Warn once about chromosome labels that GWAS-SSF has no code for (it takes 1-25; X, Y, MT in any case are
    written 23-25): ``0`` (unplaced, as plink2 writes it) or a contig such as ``chrUn`` is written as given,
    and the GWAS Catalog validator refuses those rows."""
    codes = pd.unique(ssf_chromosome_codes(pd.unique(np.asarray(chromosomes, dtype=object))))
    other = [str(c) for c in codes if str(c) not in {str(i) for i in range(1, 26)}]
    if other:
        log.warning("chromosome(s) %s have no GWAS-SSF code (1-25): written as given, and the GWAS Catalog "
                    "validator refuses those rows", ", ".join(sorted(other)[:10]))


#: the GWAS Catalog validator's pattern of ``variant_id`` (gwas-sumstats-tools' schema; GWAS-SSF writes
#: ``<chr>_<pos>_<ref>_<alt>``)
SSF_VARIANT_ID = "^[A-Za-z0-9_]+$"


def warn_non_ssf_variant_ids(variant_ids) -> None:
    """Warn once when variant ids hold characters the GWAS Catalog validator refuses (outside
    :data:`SSF_VARIANT_ID`): ``chr:pos:ref:alt`` built for a ``.`` id, or a genotype file's own ids with ``:``.

    The ids are written unchanged (clump, ``--extract`` and the MR commands join on them); the warning
    gives their count, an example and the fix: ids such as ``plink2 --set-all-var-ids '@_#_$r_$a'`` writes."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(np.asarray(variant_ids, dtype=object), type=pa.string())
    bad = pc.invert(pc.fill_null(pc.match_substring_regex(ids, SSF_VARIANT_ID), False))
    n = pc.sum(bad).as_py() or 0
    if n:
        example = pc.filter(ids, bad)[0].as_py()
        log.warning("%d of %d variant ids hold characters other than letters, digits and '_' (e.g. %r): written "
                    "as given, and the GWAS Catalog validator refuses those rows (variant_id must match %s); to "
                    "submit, give the genotypes such ids: plink2 --set-all-var-ids '@_#_$r_$a'",
                    n, len(ids), example, SSF_VARIANT_ID)
