"""Several genotype files of the same samples read as one (a biobank's one file per chromosome)."""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.base import GenotypeReader, check_index

log = logging.getLogger(__name__)


class ConcatReader(GenotypeReader):
    """Variants of ``parts`` one after the other.

    Parameters
    ----------
    parts
        One reader per file (a ``{chr}`` template's files).
    common_samples
        False (a GWAS): every part must list the same samples in the same order. True (an LD panel: LD is
        computed within a chromosome): the parts may list different samples (UK Biobank ships chrX and XY
        with their own ``.sample``, a few hundred participants fewer); each part keeps its own sample index
        and the reader's samples are those in every part, in the first part's order (logged when some are
        left out).

    Raises
    ------
    InputError
        A part whose sample ids differ from the first part's (named, with the first differing id), unless
        ``common_samples``; with it, parts that share fewer than 2 samples.
    """

    def __init__(self, parts: Sequence[GenotypeReader], *, common_samples: bool = False):
        if not parts:
            raise InputError("no genotype files given")
        self.parts = list(parts)
        first = self.parts[0]
        self.kind = first.kind
        self.hardcalls_only = all(p.hardcalls_only for p in self.parts)
        ids = first.samples["IID"].to_numpy()
        self._sample_rows: list[np.ndarray | None] = [None] * len(self.parts)   # part rows of self.samples
        self.samples = first.samples
        differ = [p for p in self.parts[1:] if len(p.samples) != len(ids) or (p.samples["IID"].to_numpy() != ids).any()]
        if differ and not common_samples:
            p = differ[0]
            other = p.samples["IID"].to_numpy()
            if len(other) != len(ids):
                why = f"{len(other)} samples, {first.label} has {len(ids)}"
            else:
                i = int(np.flatnonzero(other != ids)[0])
                why = f"sample {i + 1} is {other[i]!r}, in {first.label} {ids[i]!r}"
            raise InputError(f"{p.label}: not the same samples as {first.label} ({why}); per-chromosome files of "
                             "one GWAS must list the same samples in the same order: run a file with its own "
                             "samples (UK Biobank's X, XY) as its own GWAS (--chr X) with its own --out")
        if differ:
            common = pd.Index(ids)
            for p in differ:
                common = common[common.isin(p.samples["IID"].to_numpy())]
            if len(common) < 2:
                raise InputError(f"{differ[0].label}: shares {len(common)} samples with {first.label}: not the "
                                 "same cohort?")
            for k, p in enumerate(self.parts):
                rows = pd.Index(p.samples["IID"].to_numpy()).get_indexer(common)
                if len(rows) != len(p.samples) or (rows != np.arange(len(rows))).any():
                    self._sample_rows[k] = rows.astype(np.int64)
            self.samples = first.samples.iloc[self._sample_rows[0]].reset_index(drop=True) \
                if self._sample_rows[0] is not None else first.samples
            log.info("%s lists %d samples, %s %d: the LD panel uses the %d in every file (each file read with its "
                     "own sample index)", differ[0].label, len(differ[0].samples), first.label, len(ids), len(common))
        self.variants = pd.concat([p.variants for p in self.parts], ignore_index=True)
        self.label = " + ".join(p.label for p in self.parts) if len(self.parts) <= 3 else \
            f"{self.parts[0].label} ... {self.parts[-1].label} ({len(self.parts)} files)"
        sizes = np.array([p.n_variants for p in self.parts])
        self._part = np.repeat(np.arange(len(self.parts)), sizes)
        self._local = np.arange(len(self._part)) - np.repeat(np.r_[0, np.cumsum(sizes)[:-1]], sizes)

    def _rows_of(self, k: int, sample_idx):
        """Rows of part ``k`` for rows ``sample_idx`` of :attr:`samples` (None: all)."""
        rows = self._sample_rows[k]
        if rows is None:
            return sample_idx
        return rows if sample_idx is None else rows[np.asarray(sample_idx, dtype=np.int64)]

    def paths(self) -> list[str]:
        return [f for p in self.parts for f in p.paths()]

    def read(self, sample_idx, variant_idx, *, dtype=np.float32) -> np.ndarray:
        vidx = check_index(variant_idx, self.n_variants, "variant", self.label)
        part = self._part[vidx]
        n = self.n_samples if sample_idx is None else len(sample_idx)
        if len(vidx) and (part == part[0]).all():
            k = int(part[0])
            return self.parts[k].read(self._rows_of(k, sample_idx), self._local[vidx], dtype=dtype)
        out = np.empty((n, len(vidx)), dtype=dtype, order="F")
        for k in np.unique(part):
            sel = np.flatnonzero(part == k)
            out[:, sel] = self.parts[int(k)].read(self._rows_of(int(k), sample_idx), self._local[vidx[sel]], dtype=dtype)
        return out

    def bad_variants(self) -> dict[int, str]:
        out: dict[int, str] = {}
        first = 0
        for p in self.parts:
            out.update({first + v: why for v, why in p.bad_variants().items()})
            first += p.n_variants
        return out

    def close(self) -> None:
        for p in self.parts:
            p.close()
