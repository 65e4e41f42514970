"""PLINK 1 binary filesets (``PREFIX.bed/.bim/.fam``) through bed-reader.

The counted (effect) allele is A1, ``.bim`` column 5 (``count_A1``), as ``plink --bfile`` and Hail's
``import_plink(a2_reference=True)``. bed-reader decodes in Rust with its own threads; int8 decoding
is several times faster than float, so float reads decode int8 and convert.

pandas-plink (the design card's first choice) reads the same files into dask arrays; bed-reader
replaces it because it reads any sample x variant subset directly, multithreaded, without dask.

This is the one PLINK 1 parser: ``.bim``/``.fam`` text (:func:`read_bim`, :func:`read_fam`), the
``.bed`` header and size check (:func:`check_bed`), and the ``.bed``'s 2-bit codes repacked as
genotype-class bits for LD (:meth:`BedReader.class_bits`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.base import MISSING_INT8, GenotypeReader, check_index, check_unique_iids, variant_table

#: first bytes of a PLINK 1 .bed: magic 0x6c 0x1b, then 0x01 = variant-major
BED_MAGIC = b"\x6c\x1b\x01"


def check_bed(prefix: str | Path, n_samples: int, n_variants: int) -> None:
    """Check a PLINK 1 ``.bed`` against its ``.fam``/``.bim`` before any genotype is decoded.

    The file must start with the magic bytes ``6c 1b 01`` (variant-major) and hold exactly
    ``3 + n_variants * ceil(n_samples / 4)`` bytes (PLINK 1 binary format).

    Raises
    ------
    InputError
        Bad magic bytes, a sample-major file, or a size that does not fit the ``.fam``/``.bim`` counts
        (a truncated ``.bed``, or ``.fam``/``.bim`` that belong to another fileset); names the file.
    """
    bed = Path(f"{prefix}.bed")
    try:
        size = bed.stat().st_size
        with open(bed, "rb") as fh:
            magic = fh.read(3)
    except OSError as exc:
        raise InputError(f"{bed}: cannot be read ({exc.strerror or exc})") from None
    if magic[:2] != BED_MAGIC[:2]:
        raise InputError(f"{bed}: not a PLINK 1 .bed file (magic bytes {magic.hex() or 'missing'}, expected 6c1b01)")
    if magic[2:3] != BED_MAGIC[2:]:
        raise InputError(f"{bed}: sample-major .bed (mode byte {magic[2:3].hex() or 'missing'}); rewrite it "
                         f"variant-major with plink --bfile {prefix} --make-bed")
    expected = 3 + int(n_variants) * ((int(n_samples) + 3) // 4)
    if size != expected:
        what = "truncated" if size < expected else "longer than expected"
        raise InputError(f"{bed}: {size} bytes, but {int(n_variants)} variants (.bim) x {int(n_samples)} samples "
                         f"(.fam) need {expected}: the .bed is {what}, or the .bim/.fam belong to another fileset")


def read_plink_text(path: Path, names: list[str], dtype) -> pd.DataFrame:
    """A whitespace-separated .bim/.fam with exactly ``len(names)`` columns on every line."""
    try:
        df = pd.read_csv(path, sep=r"\s+", header=None, dtype=dtype, names=names)
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: empty file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise InputError(f"{path}: cannot be read as a PLINK {path.suffix} file "
                         f"({str(exc).splitlines()[0][:200]})") from None
    short = df[names[-1]].isna().to_numpy()
    if short.any():
        raise InputError(f"{path}: line {int(short.argmax()) + 1} has fewer than {len(names)} columns")
    if len(df) == 0:
        raise InputError(f"{path}: empty file")
    return df


def read_bim(prefix: str | Path) -> pd.DataFrame:
    """The ``.bim`` as the standard variants table (effect allele = A1, column 5); malformed lines are
    an input error naming the file and line."""
    path = Path(f"{prefix}.bim")
    bim = read_plink_text(path, ["chrom", "id", "cm", "pos", "a1", "a2"], str)
    return variant_table(bim["chrom"], bim["pos"], bim["id"], bim["a1"], bim["a2"], source=str(path))


def read_fam(prefix: str | Path) -> pd.DataFrame:
    """The ``.fam``: ``FID, IID, PAT, MAT, SEX, PHENO`` as strings; duplicated IIDs are an input error."""
    path = Path(f"{prefix}.fam")
    fam = read_plink_text(path, ["FID", "IID", "PAT", "MAT", "SEX", "PHENO"], str)
    check_unique_iids(fam, str(path))
    return fam


def _bed_reader_open_bed():
    """bed-reader's ``open_bed``, imported without pooch.

    bed-reader imports pooch, when installed, to fetch its sample files (an optional dependency: without
    it only ``bed_reader.sample_file`` is unavailable, which edfgen never calls); pooch brings tqdm,
    asyncio, ftplib and ssl, ~40 ms CPU of every small ``gwas`` run
    (``benchmarks/results/gwas_fixed_costs_s20.md``). While bed-reader loads, ``import pooch`` fails.
    """
    if "bed_reader" not in sys.modules and "pooch" not in sys.modules:
        sys.modules["pooch"] = None  # type: ignore[assignment]
        try:
            import bed_reader  # noqa: F401
        finally:
            del sys.modules["pooch"]
    from bed_reader import open_bed as _open

    return _open


def open_bed(prefix: str, n_samples: int, n_variants: int, threads: int | None = None):
    _open = _bed_reader_open_bed()
    check_bed(prefix, n_samples, n_variants)
    return _open(f"{prefix}.bed", iid_count=n_samples, sid_count=n_variants, count_A1=True,
                 num_threads=threads, properties={})


def check_plink_fileset(prefix: str | Path) -> pd.DataFrame:
    """Validate a PLINK 1 fileset before any work: ``.fam`` readable with unique IIDs, ``.bim`` with six
    columns and integer positions on every line, ``.bed`` magic and size (:func:`check_bed`).
    Returns the ``.fam`` table."""
    fam = read_fam(str(prefix))
    bim = read_bim(str(prefix))  # columns and integer positions, line by line
    check_bed(prefix, len(fam), len(bim))
    return fam


def _bits_of(byte: int, first: int) -> int:
    return sum(((byte >> (first + 2 * j)) & 1) << j for j in range(4))


#: the 4 low / high bits of the 2-bit .bed codes of one byte (4 samples), as a 4-bit number
_LOW_BITS = np.array([_bits_of(v, 0) for v in range(256)], dtype=np.uint8)
_HIGH_BITS = np.array([_bits_of(v, 1) for v in range(256)], dtype=np.uint8)


class BedReader(GenotypeReader):
    """Reader of a PLINK 1 binary fileset.

    Parameters
    ----------
    prefix
        Fileset prefix (``PREFIX.bed``, ``.bim``, ``.fam``).
    threads
        bed-reader decoding threads (None: all cores).
    """

    kind = "bfile"
    hardcalls_only = True

    def __init__(self, prefix: str | Path, *, threads: int | None = None):
        self.prefix = str(prefix)
        for ext in ("bed", "bim", "fam"):
            if not Path(f"{self.prefix}.{ext}").exists():
                raise InputError(f"PLINK fileset {self.prefix}: {Path(self.prefix).name}.{ext} not found")
        self.label = self.prefix
        self.variants = read_bim(self.prefix)
        self.samples = read_fam(self.prefix)
        # checks the .bed against the .fam/.bim counts (truncated, or another fileset's) before opening it
        self._bed = open_bed(self.prefix, len(self.samples), len(self.variants), threads)

    def paths(self) -> list[str]:
        return [f"{self.prefix}.{e}" for e in ("bed", "bim", "fam")]

    def read(self, sample_idx, variant_idx, *, dtype=np.float32) -> np.ndarray:
        vidx = check_index(variant_idx, self.n_variants, "variant", self.label)
        rows = np.s_[:] if sample_idx is None else check_index(sample_idx, self.n_samples, "sample", self.label)
        n = self.n_samples if sample_idx is None else len(rows)
        if vidx.size == 0:
            return np.zeros((n, 0), dtype=dtype)
        g8 = self._bed.read(index=np.s_[rows, vidx], dtype="int8", order="F")
        if np.dtype(dtype) == np.int8:
            return g8
        out = g8.astype(dtype)
        out[g8 == MISSING_INT8] = np.nan
        return out

    def _raw_bed(self) -> np.ndarray | None:
        """The ``.bed`` bytes ``[variants, bytes per variant]`` (memory-mapped once; ``None`` when the
        file is not the variant-major fileset it was opened as)."""
        if not hasattr(self, "_raw"):
            self._raw = None
            path = Path(f"{self.prefix}.bed")
            if path.is_file():
                raw = np.memmap(path, dtype=np.uint8, mode="r")
                bpv = (len(self.samples) + 3) // 4
                if raw.size == 3 + bpv * len(self.variants) and bytes(raw[:3]) == BED_MAGIC:
                    self._raw = raw[3:].reshape(len(self.variants), bpv)
        return self._raw

    def class_bits(self, sample_idx, variant_idx) -> np.ndarray:
        """Genotype classes repacked from the ``.bed``'s 2-bit codes when every sample is read (no
        decoding); a subset of samples goes through :meth:`GenotypeReader.class_bits`."""
        raw = self._raw_bed() if sample_idx is None else None
        if raw is None:
            return super().class_bits(sample_idx, variant_idx)
        n = self.n_samples
        # .bed: 2 bits per sample, low bits first; 0 = two A1, 1 = missing, 2 = one, 3 = none
        x = raw[check_index(variant_idx, self.n_variants, "variant", self.label)]
        if x.shape[1] % 2:
            x = np.concatenate([x, np.zeros((x.shape[0], 1), dtype=np.uint8)], axis=1)
        lo = _LOW_BITS[x[:, 0::2]] | (_LOW_BITS[x[:, 1::2]] << 4)     # [k, bytes]: 8 samples a byte
        hi = _HIGH_BITS[x[:, 0::2]] | (_HIGH_BITS[x[:, 1::2]] << 4)
        m = lo.shape[1]
        valid = np.packbits(np.arange(m * 8) < n, bitorder="little")   # padding samples in no class
        packed = np.empty((x.shape[0], 3, m), dtype=np.uint8)
        packed[:, 2] = ~lo & ~hi & valid
        packed[:, 1] = ~lo & hi
        packed[:, 0] = lo & hi
        return packed

    def close(self) -> None:
        self._bed.__exit__(None, None, None)
