"""Coordinate liftover with a UCSC chain file (e.g. ``hg19ToHg38.over.chain.gz``), for ``annotate``.

A chain file lists, per aligned chain (``chain score tName tSize tStrand tStart tEnd qName qSize
qStrand qStart qEnd id``), ungapped blocks ``size dt dq``: ``size`` bases aligned, then a gap of
``dt`` bases in the source (target) and ``dq`` in the destination (query). A position inside a
block maps to the same offset in the block's destination; positions in gaps or outside every chain
do not map. Where chains overlap, the highest-scoring one is used (UCSC ``liftOver`` with
``-minMatch=1`` for single bases). Positions are 1-based on input and output.

References
----------
Kent WJ et al. (2003) Evolution's cauldron: duplication, deletion, and rearrangement in the mouse
and human genomes. PNAS 100:11484 (chains). doi:10.1073/pnas.1932072100
UCSC chain format: https://genome.ucsc.edu/goldenPath/help/chain.html
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.sumstats.layout import genotype_chromosome_labels
from edfgen.formats.textio import read_text_bytes


@lru_cache(maxsize=None)     # once per name, not per chain header (a chain file has thousands)
def _chrom(c: str) -> str:
    """The loci's label of a chain's (or a locus's) chromosome: ``chrM`` is MT, 23 is X (as read_loci gives)."""
    return str(genotype_chromosome_labels([str(c)])[0])


@dataclass(frozen=True)
class Chain:
    """Aligned blocks of a chain file, one row each: source chromosome/start/end (0-based, half-open),
    destination chromosome, start, strand and size, chain score."""

    blocks: pd.DataFrame

    @classmethod
    def read(cls, path: str | Path) -> "Chain":
        """Parse a UCSC chain file (plain or gzipped).

        Raises
        ------
        InputError
            Missing file or a malformed line (named by number).
        """
        path = Path(path)
        if not path.exists():
            raise InputError(f"--liftover-chain {path}: file not found")
        data = read_text_bytes(path)     # gzip allowed; a truncated stream is refused
        rows = []
        head = None
        t = q = n = 0
        try:
            for n, line in enumerate(data.decode("utf-8").split("\n"), 1):
                f = line.split()
                if not f or line.startswith("#"):
                    continue
                if f[0] == "chain":
                    if len(f) < 12:
                        raise ValueError("a chain header has 12 fields")
                    head = (float(f[1]), _chrom(f[2]), _chrom(f[7]), int(f[8]), f[9])
                    t, q = int(f[5]), int(f[10])
                    continue
                if head is None or len(f) not in (1, 3):
                    raise ValueError("block line outside a chain or not 'size [dt dq]'")
                size = int(f[0])
                score, tname, qname, qsize, qstrand = head
                rows.append((tname, t, t + size, qname, q, qstrand, qsize, score))
                if len(f) == 3:
                    t, q = t + size + int(f[1]), q + size + int(f[2])
                else:
                    head = None
        except (ValueError, IndexError) as exc:   # UnicodeDecodeError too (a ValueError)
            raise InputError(f"--liftover-chain {path}: line {n}: {str(exc)[:200]}") from None
        if not rows:
            raise InputError(f"--liftover-chain {path}: no chains")
        b = pd.DataFrame(rows, columns=["chrom", "start", "end", "to_chrom", "to_start", "to_strand", "to_size",
                                        "score"])
        return cls(b.sort_values(["chrom", "score"], ascending=[True, False], kind="stable").reset_index(drop=True))

    def lift(self, chromosome, position) -> tuple[np.ndarray, np.ndarray]:
        """Lift 1-based positions: ``(chromosome [object, None where unmapped], position [float, NaN])``.

        MT maps to itself: GRCh37's MT is the rCRS, as GRCh38's (the shipped gene tables' 13 MT genes have the
        same coordinates in both), while a UCSC chain's ``chrM`` is hg19's other mitochondrion (NC_001807).
        """
        chrom = genotype_chromosome_labels(pd.Series(chromosome, dtype=object).astype(str))
        pos0 = np.asarray(position, dtype=np.int64) - 1
        out_c = np.full(len(pos0), None, dtype=object)
        out_p = np.full(len(pos0), np.nan)
        mt = chrom == "MT"
        out_c[mt], out_p[mt] = "MT", pos0[mt] + 1
        for c in pd.unique(chrom[~mt]):
            sel = np.flatnonzero(chrom == c)
            blk = self.blocks[self.blocks["chrom"] == c]
            if blk.empty:
                continue
            s, e = blk["start"].to_numpy(), blk["end"].to_numpy()
            for i in sel:                       # blocks are sorted by chain score: the first hit wins
                hit = np.flatnonzero((s <= pos0[i]) & (pos0[i] < e))
                if hit.size == 0:
                    continue
                r = blk.iloc[int(hit[0])]
                q = int(r["to_start"]) + int(pos0[i] - r["start"])
                if r["to_strand"] == "-":
                    q = int(r["to_size"]) - 1 - q
                out_c[i], out_p[i] = r["to_chrom"], q + 1
        return out_c, out_p
