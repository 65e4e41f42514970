"""Several genotype files of the same samples read as one (a biobank's one file per chromosome)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.genotypes.base import GenotypeReader, check_index


class ConcatReader(GenotypeReader):
    """Variants of ``parts`` one after the other; every part must list the same samples in the same order.

    Raises
    ------
    InputError
        A part whose sample ids differ from the first part's (named, with the first differing id).
    """

    def __init__(self, parts: Sequence[GenotypeReader]):
        if not parts:
            raise InputError("no genotype files given")
        self.parts = list(parts)
        first = self.parts[0]
        self.kind = first.kind
        self.hardcalls_only = all(p.hardcalls_only for p in self.parts)
        ids = first.samples["IID"].to_numpy()
        for p in self.parts[1:]:
            other = p.samples["IID"].to_numpy()
            if len(other) != len(ids) or (other != ids).any():
                if len(other) != len(ids):
                    why = f"{len(other)} samples, {first.label} has {len(ids)}"
                else:
                    i = int(np.flatnonzero(other != ids)[0])
                    why = f"sample {i + 1} is {other[i]!r}, in {first.label} {ids[i]!r}"
                raise InputError(f"{p.label}: not the same samples as {first.label} ({why}); "
                                 "per-chromosome files must list the same samples in the same order")
        self.samples = first.samples
        self.variants = pd.concat([p.variants for p in self.parts], ignore_index=True)
        self.label = " + ".join(p.label for p in self.parts) if len(self.parts) <= 3 else \
            f"{self.parts[0].label} ... {self.parts[-1].label} ({len(self.parts)} files)"
        sizes = np.array([p.n_variants for p in self.parts])
        self._part = np.repeat(np.arange(len(self.parts)), sizes)
        self._local = np.arange(len(self._part)) - np.repeat(np.r_[0, np.cumsum(sizes)[:-1]], sizes)

    def paths(self) -> list[str]:
        return [f for p in self.parts for f in p.paths()]

    def read(self, sample_idx, variant_idx, *, dtype=np.float32) -> np.ndarray:
        vidx = check_index(variant_idx, self.n_variants, "variant", self.label)
        part = self._part[vidx]
        n = self.n_samples if sample_idx is None else len(sample_idx)
        if len(vidx) and (part == part[0]).all():
            return self.parts[int(part[0])].read(sample_idx, self._local[vidx], dtype=dtype)
        out = np.empty((n, len(vidx)), dtype=dtype, order="F")
        for k in np.unique(part):
            sel = np.flatnonzero(part == k)
            out[:, sel] = self.parts[int(k)].read(sample_idx, self._local[vidx[sel]], dtype=dtype)
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
