"""PLINK 2 filesets (``PREFIX.pgen/.pvar/.psam``) through pgenlib, plink2's own reader library.

The variant table is ``PREFIX.pvar``, else ``PREFIX.pvar.zst`` (``plink2 --make-pgen vzs``), else
``PREFIX.pvar.gz`` (:func:`pvar_path`).

The counted (effect) allele is ALT (``.pvar`` column ALT; the first ALT of a multiallelic row), the A1 of
``plink2 --pfile ... --glm omit-ref`` (plink2's default A1 is the minor allele, not always ALT). Dosages are read where the file stores
them (imputed data), hard calls elsewhere; missing = NaN. Variants with more than two alleles are
listed (``n_alleles``) and read as all-missing: the biallelic QC filter removes them.

References
----------
Bad input: pgenlib checks the ``.pgen`` header against the ``.pvar``/``.psam`` counts when the file is
opened, and the last variant's record is read then (a truncated ``.pgen`` fails there, in one line);
any later pgenlib error is an :class:`~edfgen.exceptions.InputError` naming the file and variants.

Chang CC et al. (2015) Second-generation PLINK. GigaScience 4:7. doi:10.1186/s13742-015-0047-8
(file formats: https://www.cog-genomics.org/plink/2.0/formats).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.chromosomes import plain_chromosome_names
from edfgen.formats.genotypes.base import GenotypeReader, as_dtype, check_index, check_unique_iids, variant_table
from edfgen.formats.genotypes.plink1 import read_fam


#: the variant tables of a ``.pgen``, in the order looked for: plain, zstd (``plink2 --make-pgen vzs``), gzip
PVAR_SUFFIXES = (".pvar", ".pvar.zst", ".pvar.gz")


def pvar_path(prefix: str | Path) -> Path:
    """The variant table of the PLINK 2 fileset ``prefix``: the first of :data:`PVAR_SUFFIXES` that exists, else
    ``PREFIX.pvar`` (the name a "not found" error gives)."""
    found = (Path(f"{prefix}{s}") for s in PVAR_SUFFIXES)
    return next((p for p in found if p.exists()), Path(f"{prefix}.pvar"))


def _open_text(path: Path):
    """``path`` opened as text, through gzip (``.gz``) or zstd (``.zst``) by its name."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt")
    if path.suffix == ".zst":
        import zstandard

        return zstandard.open(path, "rt")
    return open(path)


def _header_and_skip(path: Path, marker: str) -> tuple[list[str] | None, int]:
    """Column names of a plink2 text file's ``#``-header line (``None`` if absent) and lines to skip."""
    skip = 0
    with _open_text(path) as fh:
        for line in fh:
            if line.startswith("##"):
                skip += 1
                continue
            if line.startswith(marker):
                return line[1:].split(), skip + 1
            return None, skip
    return None, skip


def _text_errors(read):
    """``read(path)`` with pandas' and decoding errors as one-line input errors naming the file."""
    import functools

    @functools.wraps(read)
    def wrapped(path):
        try:
            return read(path)
        except InputError:
            raise
        except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, KeyError,
                OSError, EOFError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise InputError(f"{path}: cannot be read as a PLINK 2 {Path(path).suffix} file ({first})") from None
    return wrapped


@_text_errors
def read_pvar(path: str | Path) -> pd.DataFrame:
    """A ``.pvar`` (or ``.bim``-like headerless file) as the standard variants table (effect = ALT)."""
    path = Path(path)
    names, skip = _header_and_skip(path, "#CHROM")
    if names is None:   # headerless: .bim column order (CHROM ID [CM] POS ALT REF)
        raw = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, skiprows=skip, keep_default_na=False)
        cols = ["CHROM", "ID", "CM", "POS", "ALT", "REF"] if raw.shape[1] >= 6 else ["CHROM", "ID", "POS", "ALT", "REF"]
        raw = raw.iloc[:, :len(cols)]
        raw.columns = cols
    else:
        raw = pd.read_csv(path, sep="\t", header=None, names=names, dtype=str, skiprows=skip,
                          usecols=["CHROM", "POS", "ID", "REF", "ALT"], keep_default_na=False)
    missing = [c for c in ("CHROM", "POS", "ID", "REF", "ALT") if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: no {', '.join(missing)} column")
    short = (raw.isna() | (raw == "")).any(axis=1).to_numpy()     # a line with fewer fields than the header
    if short.any():
        raise InputError(f"{path}: line {skip + int(short.argmax()) + 1}: an empty or missing CHROM, POS, ID, REF "
                         "or ALT field")
    alt = raw["ALT"].fillna(".")
    n_alleles = np.where(alt == ".", 1, alt.str.count(",") + 2)
    vid = raw["ID"].fillna(".")
    vid = vid.where(vid != ".", plain_chromosome_names(raw["CHROM"]) + ":" + raw["POS"] + ":" +
                    raw["REF"] + ":" + alt)
    return variant_table(raw["CHROM"], raw["POS"], vid, alt.str.split(",").str[0], raw["REF"], n_alleles,
                         source=str(path))


@_text_errors
def read_psam(path: str | Path) -> pd.DataFrame:
    """A ``.psam`` (``#FID IID ...`` or ``#IID ...``; headerless = ``.fam`` columns) with ``FID`` and ``IID``."""
    path = Path(path)
    with open(path) as fh:
        first = fh.readline()
    if first.startswith("#"):
        tab = pd.read_csv(path, sep=r"\s+", dtype=str, keep_default_na=False)
        tab.columns = [c.lstrip("#") for c in tab.columns]
        if "IID" not in tab.columns:
            raise InputError(f"{path}: no IID column in the header")
        if "FID" not in tab.columns:
            tab.insert(0, "FID", tab["IID"])
    else:
        tab = pd.read_csv(path, sep=r"\s+", header=None, dtype=str, keep_default_na=False)
        tab = tab.iloc[:, :6]
        tab.columns = ["FID", "IID", "PAT", "MAT", "SEX", "PHENO"][:tab.shape[1]]
    short = (tab.isna() | (tab == "")).any(axis=1).to_numpy()
    if short.any():
        raise InputError(f"{path}: line {int(short.argmax()) + 1 + first.startswith('#')} has fewer than "
                         f"{tab.shape[1]} fields")
    check_unique_iids(tab, str(path))
    return tab


def plink_fids(path: str | Path) -> pd.Series:
    """The family ids that plink2 and plink 1.9 give the samples of a ``.fam`` or ``.psam``: a Series IID → FID.

    Parameters
    ----------
    path
        A ``.psam`` (:func:`read_psam`) or a ``.fam`` (:func:`~edfgen.formats.genotypes.plink1.read_fam`); another
        name is an input error.

    Returns
    -------
    pandas.Series
        FIDs (strings) indexed by IID. A ``.psam`` without a FID column (``#IID ...``) gives FID ``0``: plink2
        matches its samples only to ``--pheno`` rows of FID ``0`` (or to an ``#IID``-only file), not to FID = IID.
    """
    path = Path(path)
    if path.suffix not in (".fam", ".psam"):
        raise InputError(f"{path}: not a .fam or .psam file (its name ends in neither)")
    if path.suffix == ".psam":
        tab = read_psam(path)
        with open(path) as fh:
            first = fh.readline().split()
        if first and first[0].startswith("#") and first[0] != "#FID":
            tab["FID"] = "0"
    else:
        tab = read_fam(str(path)[:-len(".fam")])
    return pd.Series(tab["FID"].to_numpy(), index=tab["IID"].to_numpy(), dtype=str)


class PgenReader(GenotypeReader):
    """Reader of a PLINK 2 fileset (``PREFIX.pgen``, ``.pvar`` / ``.pvar.zst`` / ``.pvar.gz``, ``.psam``)."""

    kind = "pfile"

    def __init__(self, prefix: str | Path):
        import pgenlib

        self.prefix = str(prefix)
        self.label = self.prefix
        pvar = pvar_path(self.prefix)
        self._files = [Path(f"{self.prefix}.pgen"), pvar, Path(f"{self.prefix}.psam")]
        for p in self._files:
            if not p.exists():
                raise InputError(f"PLINK 2 fileset {self.prefix}: {p.name} not found")
        self.variants = read_pvar(pvar)
        self.samples = read_psam(self._files[2])
        nall = self.variants["n_alleles"].to_numpy()
        offsets = None
        if (nall > 2).any():
            offsets = np.zeros(len(nall) + 1, dtype=np.uintp)
            offsets[1:] = np.cumsum(np.maximum(nall, 2))
        try:
            self._pgen = pgenlib.PgenReader(str(self._files[0]).encode(), raw_sample_ct=len(self.samples),
                                            variant_ct=len(self.variants), allele_idx_offsets=offsets)
        except Exception as exc:   # pgenlib raises RuntimeError with plink2's message
            msg = _message(exc)
            counts = re.search(r"raw_(variant|sample)_ct == (\d+), but .* contains (\d+) ", msg)
            if counts:
                kind, listed, held = counts.groups()
                table = pvar.name if kind == "variant" else self._files[2].name
                raise InputError(f"--pfile {self.prefix}: {table} lists {listed} {kind}s but {self._files[0].name} "
                                 f"holds {held} (a .pvar/.psam of another fileset, or rows lost)") from None
            raise InputError(f"--pfile {self.prefix}: unreadable .pgen ({msg})") from None
        self._multi = nall != 2
        if len(nall):               # the last record: a truncated .pgen fails here, not mid-GWAS
            self._read_rows(np.array([len(nall) - 1]), np.empty((1, len(self.samples)), dtype=np.float32))

    def paths(self) -> list[str]:
        return [str(p) for p in self._files]

    def read(self, sample_idx, variant_idx, *, dtype=np.float32) -> np.ndarray:
        vidx = check_index(variant_idx, self.n_variants, "variant", self.label)
        sidx = None if sample_idx is None else check_index(sample_idx, self.n_samples, "sample", self.label)
        buf = np.empty((len(vidx), self.n_samples), dtype=np.float32)
        if len(vidx):
            self._read_rows(vidx, buf)
        out = buf.T if sidx is None else buf.T[sidx]
        out = np.asarray(out, order="F")
        out[out == -9] = np.nan
        if self._multi[vidx].any():
            out[:, self._multi[vidx]] = np.nan
        return as_dtype(out, dtype)

    def _read_rows(self, vidx: np.ndarray, buf: np.ndarray) -> None:
        try:
            self._pgen.read_dosages_list(vidx.astype(np.uint32), buf)
        except Exception as exc:   # noqa: BLE001 - pgenlib raises RuntimeError
            raise InputError(f"--pfile {self.prefix}: {self._files[0].name} records of variants {int(vidx.min()) + 1}.."
                             f"{int(vidx.max()) + 1} unreadable ({_message(exc)}): truncated or corrupt .pgen") from None

    def close(self) -> None:
        self._pgen.close()


def _message(exc: Exception) -> str:
    """pgenlib's message (bytes or str) as one line."""
    msg = exc.args[0] if exc.args else exc
    msg = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    return " ".join(msg.split())[:200]
