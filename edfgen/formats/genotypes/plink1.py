"""PLINK 1 binary filesets (``PREFIX.bed/.bim/.fam``) through bed-reader.

The counted (effect) allele is A1, ``.bim`` column 5 (``count_A1``), as ``plink --bfile`` and Hail's
``import_plink(a2_reference=True)``. bed-reader decodes in Rust with its own threads; int8 decoding
is several times faster than float, so float reads decode int8 and convert.

pandas-plink (the design card's first choice) reads the same files into dask arrays; bed-reader
replaces it because it reads any sample x variant subset directly, multithreaded, without dask.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.base import MISSING_INT8, GenotypeReader, check_index, check_unique_iids, variant_table


def read_bim(prefix: str | Path) -> pd.DataFrame:
    """The ``.bim`` as the standard variants table (effect allele = A1, column 5); malformed lines are
    an input error naming the file and line."""
    from edfgen.formats.genotypes.source import read_plink_text

    path = Path(f"{prefix}.bim")
    bim = read_plink_text(path, ["chrom", "id", "cm", "pos", "a1", "a2"], str)
    return variant_table(bim["chrom"], bim["pos"], bim["id"], bim["a1"], bim["a2"], source=str(path))


def read_fam(prefix: str | Path) -> pd.DataFrame:
    """The ``.fam``: ``FID, IID, PAT, MAT, SEX, PHENO`` as strings; duplicated IIDs are an input error."""
    from edfgen.formats.genotypes.source import read_plink_text

    path = Path(f"{prefix}.fam")
    fam = read_plink_text(path, ["FID", "IID", "PAT", "MAT", "SEX", "PHENO"], str)
    check_unique_iids(fam, str(path))
    return fam


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
        from edfgen.formats.genotypes.source import open_bed

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

    def close(self) -> None:
        self._bed.__exit__(None, None, None)
