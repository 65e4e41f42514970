"""Writing PLINK 1 binary filesets (``.bed`` SNP-major, ``.bim``, ``.fam``): bytes only.

This module knows the PLINK 1 layout as a writer (the reader, and ``BED_MAGIC``, are :mod:`edfgen.formats.genotypes.plink1`):
the ``.bed`` magic number, the 2-bit genotype codes packed four samples to a byte (low bits first,
each variant's row padded to whole bytes), and the tab-separated ``.bim`` / ``.fam`` tables.

=======  ===================================================================================
code     meaning (of the count of the ``.bim``'s allele 1, A1)
=======  ===================================================================================
``00``   2 (homozygous A1)
``01``   missing
``10``   1 (heterozygous)
``11``   0 (homozygous A2)
=======  ===================================================================================

Reference: PLINK 1.9 file formats, https://www.cog-genomics.org/plink/1.9/formats#bed
"""

from __future__ import annotations

import os
from typing import BinaryIO

import numpy as np
import pandas as pd

from edfgen.formats.genotypes.plink1 import BED_MAGIC

__all__ = ["BED_MAGIC", "BIM_COLUMNS", "FAM_COLUMNS", "BedWriter", "encode_bed", "write_bim", "write_fam"]

#: the columns of a ``.bim`` (no header): chromosome, variant id, position (cM), position (bp), A1, A2
BIM_COLUMNS = ("chr", "id", "cm", "pos", "a1", "a2")
#: the columns of a ``.fam`` (no header): family, individual, father, mother, sex (1 male, 2 female), phenotype
FAM_COLUMNS = ("fid", "iid", "pat", "mat", "sex", "pheno")


def encode_bed(dosage: np.ndarray, missing: np.ndarray | None = None) -> bytes:
    """PLINK 1 SNP-major bytes (without the magic) of ``dosage`` ``[m variants, n samples]``.

    Parameters
    ----------
    dosage
        Integer counts of A1 (0, 1, 2), ``[m, n]``.
    missing
        Boolean ``[m, n]``, True where the call is missing (its dosage is ignored), or ``None``.

    Returns
    -------
    bytes
        ``m`` rows of ``ceil(n / 4)`` bytes: 2 -> ``00``, 1 -> ``10``, 0 -> ``11``, missing -> ``01``.
    """
    code = np.array([3, 2, 0], dtype=np.uint8)[dosage]
    if missing is not None:
        code[missing] = 1
    m, n = code.shape
    pad = (-n) % 4
    if pad:
        code = np.concatenate([code, np.zeros((m, pad), dtype=np.uint8)], axis=1)
    c = code.reshape(m, -1, 4)
    packed = c[..., 0] | (c[..., 1] << 2) | (c[..., 2] << 4) | (c[..., 3] << 6)
    return packed.astype(np.uint8).tobytes()


class BedWriter:
    """A ``.bed`` written block by block: the magic on opening, then :meth:`write` per block of
    variants (SNP-major, so blocks append). Use as a context manager.

    Parameters
    ----------
    path
        The ``.bed`` file (created or truncated).
    """

    def __init__(self, path: str | os.PathLike):
        self._fh: BinaryIO = open(path, "wb")
        self._fh.write(BED_MAGIC)

    def write(self, dosage: np.ndarray, missing: np.ndarray | None = None) -> None:
        """Append the variants ``dosage`` ``[m, n]`` (see :func:`encode_bed`)."""
        self._fh.write(encode_bed(dosage, missing))

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> BedWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_bim(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a ``.bim``: the columns of ``table`` in order (:data:`BIM_COLUMNS`), tab-separated, no header."""
    table.to_csv(path, sep="\t", header=False, index=False)


def write_fam(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a ``.fam``: the columns of ``table`` in order (:data:`FAM_COLUMNS`), tab-separated, no header."""
    table.to_csv(path, sep="\t", header=False, index=False)
