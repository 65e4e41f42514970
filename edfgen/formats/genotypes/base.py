"""The genotype-reader interface every format implements (sgkit's dataset model, Hail's entry ``x``).

A reader exposes

``samples``
    DataFrame, one row per sample in file order: ``FID``, ``IID`` (the id genotypes are joined on)
    and whatever else the format names (``ID_1``/``ID_2`` of a BGEN ``.sample``, ``#IID`` of a
    ``.psam`` is read as ``IID``).
``variants``
    DataFrame, one row per variant in file order: ``chromosome`` (no ``chr`` prefix),
    ``base_pair_location``, ``variant_id``, ``effect_allele`` (the counted allele: PLINK 1 A1, the
    second/ALT allele of BGEN, PGEN and VCF), ``other_allele``, ``rsid`` (``rs`` ids only, else
    missing), ``n_alleles``.
``blocks(sample_idx, variant_idx, dtype=np.float32)``
    Yields ``(slice into variant_idx, array [len(sample_idx), m])`` of effect-allele counts or
    dosages, ``NaN`` for a missing call (``dtype=np.int8``: hard calls 0/1/2, dosages rounded, and
    ``-127`` missing, the form LD and QC counts use).

Engines (GWAS, LD, PCA) only ever call these; every format is one module of this package.
"""

from __future__ import annotations

import abc
import hashlib
import logging
import os
import shlex
import tempfile
from typing import Iterator, Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.chromosomes import plain_chromosome_names

log = logging.getLogger(__name__)

#: variant columns every reader provides
VARIANT_COLUMNS = ("chromosome", "base_pair_location", "variant_id", "effect_allele", "other_allele", "rsid",
                   "n_alleles")
MISSING_INT8 = -127
#: the largest base-pair position (plink2's limit, 2^31 - 2)
MAX_POSITION = 2 ** 31 - 2
DEFAULT_BLOCK = 4096


def normalise_chromosome(values) -> np.ndarray:
    """Chromosome names without a ``chr`` prefix or leading zeros (``chr1``, ``01`` -> ``1``), as strings
    (:func:`edfgen.formats.chromosomes.plain_chromosome_names`)."""
    return plain_chromosome_names(values).to_numpy(dtype=object)


def rsid_column(ids: pd.Series) -> pd.Series:
    """``rs`` ids of ``ids`` (``rs123``), missing for any other id."""
    ids = ids.astype(str)
    return ids.where(ids.str.match(r"^rs\d+$"))


def _shared_strings(values) -> np.ndarray:
    """``values`` as an object array whose equal strings are one Python object: chromosomes and alleles
    repeat, and a separate ~50-byte string per variant and column made up most of a large variant
    table's memory."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    return np.asarray(uniques, dtype=object)[codes]


def _negative_position_hint(source: str) -> str:
    """What a negative position means (PLINK 1's mark for a variant to skip, which plink2 skips too) and, for a
    ``.bim``/``.pvar`` ``source``, the plink2 command (quoted for a shell) that writes the fileset without it into
    the working folder (the input's may be read-only: the RAP's /mnt/project)."""
    stem, ext = os.path.splitext(str(source))
    packed = ext if ext in (".zst", ".gz") else ""    # a compressed .pvar (plink2 reads both: checked on files)
    if packed:
        stem, ext = os.path.splitext(stem)
    q, out = shlex.quote(stem), shlex.quote(f"./{os.path.basename(stem)}_kept")   # (inputs may be read-only)
    how = {(".bim", ""): f"plink2 --bfile {q} --make-bed --out {out}",
           (".pvar", ""): f"plink2 --pfile {q} --make-pgen --out {out}",
           (".pvar", ".zst"): f"plink2 --pfile {q} vzs --make-pgen --out {out}",
           (".pvar", ".gz"): f"plink2 --pgen {shlex.quote(stem + '.pgen')} --pvar {shlex.quote(stem + '.pvar.gz')} "
                             f"--psam {shlex.quote(stem + '.psam')} --make-pgen --out {out}"}.get((ext, packed))
    return (" (PLINK 1 marks a variant to skip with a negative position, and plink2 skips it"
            + (f"; {how} writes the fileset without it)" if how else ")"))


def variant_table(chromosome, position, variant_id, effect_allele, other_allele, n_alleles=None,
                  *, source: str = "") -> pd.DataFrame:
    """The standard variants DataFrame (see the module docstring)."""
    try:
        pos = np.asarray(position, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raw = pd.Series(np.asarray(position, dtype=object))
        bad = int(pd.to_numeric(raw, errors="coerce").isna().to_numpy().argmax())
        raise InputError(f"{source}: variant {bad + 1}: base-pair position {str(raw.iloc[bad])!r} is not an integer"
                         ) from None
    if len(pos) and (pos.min() < 0 or pos.max() > MAX_POSITION):
        bad = int(np.argmax((pos < 0) | (pos > MAX_POSITION)))
        raise InputError(f"{source}: variant {bad + 1}: base-pair position {int(pos[bad])} is outside 0..{MAX_POSITION}"
                         + (_negative_position_hint(source) if pos[bad] < 0 else ""))
    vid = pd.Series(np.asarray(variant_id, dtype=object)).astype(str)
    df = pd.DataFrame({
        "chromosome": _shared_strings(normalise_chromosome(chromosome)), "base_pair_location": pos, "variant_id": vid,
        "effect_allele": _shared_strings(effect_allele), "other_allele": _shared_strings(other_allele),
    })
    df["rsid"] = rsid_column(vid)
    df["n_alleles"] = 2 if n_alleles is None else np.asarray(n_alleles, dtype=np.int64)
    return df


def dosage_from_probabilities(probs: np.ndarray) -> np.ndarray:
    """Second-allele dosage of biallelic diploid genotype probabilities.

    ``probs [n, 3]`` unphased (P(AA), P(AB), P(BB)): ``P(AB) + 2 P(BB)``; ``[n, 4]`` phased
    (per haplotype P(A), P(B)): ``P(B)_1 + P(B)_2``. Missing samples (NaN) stay NaN.
    """
    if probs.shape[1] == 3:
        return probs[:, 1] + 2.0 * probs[:, 2]
    if probs.shape[1] == 4:
        return probs[:, 1] + probs[:, 3]
    raise ValueError(f"{probs.shape[1]} probabilities per sample (biallelic diploid has 3 or 4)")


def to_int8(block: np.ndarray) -> np.ndarray:
    """Hard calls of a float dosage block: rounded half up, ``-127`` where missing."""
    out = np.floor(np.nan_to_num(block, nan=-254.0) + 0.5)
    out = np.where(np.isnan(block), MISSING_INT8, out)
    return out.astype(np.int8)


class GenotypeReader(abc.ABC):
    """Base class of every genotype reader (see the module docstring).

    Subclasses set ``self.samples``, ``self.variants`` and ``self.label`` in ``__init__`` and
    implement :meth:`read`; they may override :meth:`blocks` when the format decodes faster in
    larger pieces.
    """

    #: short name of the format, as the CLI option (``bfile``, ``bgen``, ``pfile``, ``vcf``)
    kind: str = ""
    #: True when the file holds only hard calls (int8 reads need no rounding)
    hardcalls_only: bool = False
    samples: pd.DataFrame
    variants: pd.DataFrame
    label: str

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    @property
    def n_variants(self) -> int:
        return len(self.variants)

    @property
    def n_withdrawn(self) -> int:
        """Samples whose id marks a UK Biobank withdrawal (:func:`withdrawn_samples`), left out of every analysis."""
        return int(withdrawn_samples(self.samples["IID"]).sum())

    @abc.abstractmethod
    def paths(self) -> list[str]:
        """Files read (for manifests and fingerprints)."""

    @abc.abstractmethod
    def read(self, sample_idx: np.ndarray | None, variant_idx: np.ndarray, *, dtype=np.float32) -> np.ndarray:
        """Genotypes ``[len(sample_idx), len(variant_idx)]`` (all samples when ``sample_idx`` is None),
        in the order given; float: NaN missing; int8: hard calls, -127 missing."""

    def blocks(self, sample_idx: Sequence[int] | None = None, variant_idx: Sequence[int] | None = None, *,
               dtype=np.float32, block: int = DEFAULT_BLOCK) -> Iterator[tuple[slice, np.ndarray]]:
        """Yield ``(slice into variant_idx, genotypes [samples, m])`` for consecutive blocks of ``block``
        variants (all variants when ``variant_idx`` is None)."""
        vidx = np.arange(self.n_variants) if variant_idx is None else np.asarray(variant_idx, dtype=np.int64)
        sidx = None if sample_idx is None else np.asarray(sample_idx, dtype=np.int64)
        for start in range(0, len(vidx), block):
            sl = slice(start, min(start + block, len(vidx)))
            yield sl, self.read(sidx, vidx[sl], dtype=dtype)

    def fingerprint(self) -> str:
        """Stat fingerprint (absolute path, size, mtime) of the files read."""
        h = hashlib.sha256()
        for p in self.paths():
            h.update(f"{stat_id(p)};".encode())
        return h.hexdigest()[:16]

    def class_bits(self, sample_idx: np.ndarray | None, variant_idx: np.ndarray) -> np.ndarray:
        """Bit-packed genotype classes ``uint8 [len(variant_idx), 3, ceil(n / 8)]`` (``n`` samples read):
        bit ``i % 8`` (little bit order) of byte ``i // 8`` of class ``a`` is set when sample ``i`` carries
        ``a`` copies of the counted allele (0/1/2; a missing call is in no class; dosages rounded).

        This generic version decodes int8 hard calls; a format whose bytes already hold 2-bit classes
        (PLINK 1 ``.bed``) repacks them without decoding.
        """
        return pack_classes(self.read(sample_idx, variant_idx, dtype=np.int8))

    def bad_variants(self) -> dict[int, str]:
        """Rows of :attr:`variants` set aside as bad (with the reason) by a reader opened to skip bad
        variants (BGEN ``skip_bad``); formats without such a check have none."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release file handles."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.label!r}, {self.n_samples} samples, {self.n_variants} variants)"


#: a sample id that UK Biobank wrote in place of a withdrawn participant's eid (``-1``, ``-2``, ...)
WITHDRAWN_ID = r"-[0-9]+"


def withdrawn_samples(ids) -> np.ndarray:
    """Which ``ids`` are UK Biobank withdrawals: bool mask of the ids matching ``^-[0-9]+$``.

    UK Biobank keeps the rows of participants who have withdrawn in the genotype files it dispenses (the
    ``.fam`` of the called genotypes, the ``.sample`` of the imputed BGENs), with the eid replaced by a
    negative number, so that the files' sample order does not change; their data may no longer be used.
    Every genotype reader's selection (:func:`~edfgen.formats.genotypes.selection.select_samples`, the LD
    panels, the Hail import) leaves them out before ``--keep``/``--remove``.

    References
    ----------
    UK Biobank, Genetic data: participant withdrawals are notified to applications and must be removed
    (https://biobank.ctsu.ox.ac.uk/crystal/ukb/docs/instruct_gfetch.html); negative eids in the imputed
    ``.sample`` files, dropped as withdrawn participants: ukbrapR issue 33
    (https://github.com/lcpilling/ukbrapR/issues/33).
    """
    return pd.Series(np.asarray(ids, dtype=str)).str.fullmatch(WITHDRAWN_ID).to_numpy(dtype=bool)


def log_withdrawn(label, n: int) -> None:
    """The one INFO line that says ``n`` UK Biobank withdrawn participants (:func:`withdrawn_samples`) of ``label``
    were left out (nothing when ``n`` is 0)."""
    if n:
        log.info("%s: %d samples with negative ids (UK Biobank withdrawn participants) left out", label, int(n))


def check_unique_iids(samples, source: str) -> None:
    """Duplicated sample ids are an input error naming ``source``, the first duplicate and their count.

    ``samples``: a samples table (its ``IID`` column) or the ids themselves (e.g. read by Hail)."""
    ids = samples["IID"] if isinstance(samples, pd.DataFrame) else pd.Series(np.asarray(samples, dtype=str))
    dup = ids[ids.duplicated()]
    if len(dup):
        raise InputError(f"{source}: duplicated IID {str(dup.iloc[0])!r} ({dup.nunique()} duplicated ids)")


def index_cache(default: str) -> str:
    """The folder of the genotype readers' index caches: ``$EDFGEN_CACHE``, else ``<tmp>/default``."""
    return os.environ.get("EDFGEN_CACHE") or os.path.join(tempfile.gettempdir(), default)


def make_index_cache(folder: str | os.PathLike, label: str) -> None:
    """Create the index cache ``folder`` if needed and check that it can be written to.

    Raises
    ------
    InputError
        ``folder`` cannot be created (a file, an unmounted or read-only path) or written to; names ``label``
        (the option and file being indexed), the folder and ``$EDFGEN_CACHE``.
    """
    try:
        os.makedirs(folder, exist_ok=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as exc:
        raise InputError(f"{label}: cannot write its index to the cache folder {folder} ({exc.strerror or exc}); "
                         "set EDFGEN_CACHE to a writable folder") from None


def stat_id(path: str | os.PathLike) -> str:
    """``absolute path:size:mtime_ns:digest`` of a file: what the genotype readers' fingerprints and index
    caches are keyed on. ``digest`` is a sha256 of the file's first and last MiB (two reads, whatever the size):
    a file replaced by one of the same size with its modification time restored (``cp -p``, ``rsync -t``,
    ``touch -r``) got the old file's cached index, i.e. its variant ids and positions; the status-change time
    would catch that too, but it also changes on ``chmod``, ``mv`` or ``cp -a``, which must not throw away a
    UK Biobank index or Hail import."""
    st = os.stat(path)
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read(1 << 20))
        if st.st_size > 2 << 20:
            fh.seek(-(1 << 20), os.SEEK_END)
            h.update(fh.read(1 << 20))
        else:
            h.update(fh.read())
    return f"{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}:{h.hexdigest()[:16]}"


def pack_classes(g: np.ndarray) -> np.ndarray:
    """Int8 hard calls ``[n, k]`` (``-127`` missing) as bit-packed genotype classes ``uint8 [k, 3, ceil(n / 8)]``
    (see :meth:`GenotypeReader.class_bits`)."""
    g = np.ascontiguousarray(np.asarray(g).T)
    n = g.shape[1]
    packed = np.zeros((g.shape[0], 3, (n + 7) // 8), dtype=np.uint8)
    for a in range(3):
        packed[:, a, :] = np.packbits(g == a, axis=1, bitorder="little")
    return packed


def check_index(idx: np.ndarray, n: int, what: str, source: str) -> np.ndarray:
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise IndexError(f"{source}: {what} index {int(idx.min())}..{int(idx.max())} outside 0..{n - 1}")
    return idx


def as_dtype(block: np.ndarray, dtype) -> np.ndarray:
    """A float block (NaN missing) in ``dtype`` (int8 hard calls or a float type)."""
    if np.dtype(dtype) == np.int8:
        return to_int8(block)
    return np.asarray(block, dtype=dtype)
