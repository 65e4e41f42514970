"""Genes from a user-supplied GTF or BED file (the nearest gene(s) of each locus:
:func:`edfgen.kernels.annotate.nearest_genes`).

GTF (GENCODE/Ensembl; ``gene`` features, name from ``gene_name`` else ``gene_id``; 1-based,
inclusive) or BED (``chrom, start, end, name[, score, strand]``; 0-based half-open, converted to
1-based inclusive). Chromosome labels lose any ``chr`` prefix. Coordinates must be the same build
as the loci (GRCh38 in edfgen).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from edfgen.exceptions import InputError
from edfgen.formats.textio import read_text_bytes

GENE_COLUMNS = ["chromosome", "start", "end", "gene", "strand"]


def _lines(path: Path):
    """The decoded lines of a (gzip/BGZF, checked for truncation) text file."""
    data = read_text_bytes(path)
    try:
        return [ln.rstrip("\r") for ln in data.decode("utf-8").split("\n")]   # "\n" only, as pandas
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"--genes {path}:{line}: not UTF-8 text (byte offset {exc.start})") from None


def read_genes(path: str | Path) -> pd.DataFrame:
    """Read a GTF or BED gene annotation.

    Returns
    -------
    DataFrame ``chromosome, start, end, gene, strand`` (1-based inclusive), sorted.

    Raises
    ------
    InputError
        Missing file, no gene records, or a malformed line (named by line number).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"--genes {path}: file not found")
    is_gtf = bool(re.search(r"\.gtf(\.gz)?$", path.name))
    rows = []
    bed_fields = None
    for ln, line in enumerate(_lines(path), 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        f = line.split("\t")
        if not is_gtf and len(f) >= 9 and re.search(r'gene_(id|name) "', f[8]):
            is_gtf = True
        try:
            if is_gtf:
                if len(f) != 9:
                    raise ValueError(f"{len(f)} fields, a GTF line has 9")
                if f[2] != "gene":
                    continue
                name = re.search(r'gene_name "([^"]+)"', f[8]) or re.search(r'gene_id "([^"]+)"', f[8])
                if not name:
                    raise ValueError("no gene_name/gene_id attribute")
                row = (f[0], int(f[3]), int(f[4]), name.group(1), f[6])
            else:
                if len(f) < 4 or len(f) > 12:
                    raise ValueError(f"{len(f)} fields, BED needs 4 to 12 (chrom, start, end, name, ...)")
                if bed_fields is not None and len(f) != bed_fields:
                    raise ValueError(f"{len(f)} fields, the lines before have {bed_fields}")
                bed_fields = len(f)
                row = (f[0], int(f[1]) + 1, int(f[2]), f[3], f[5] if len(f) > 5 else ".")
            if not row[0] or row[1] < 1 or row[2] < row[1] - 1 or row[2] >= 2**31:
                raise ValueError(f"bad coordinates {row[0]!r}:{row[1]}-{row[2]}")
            rows.append(row)
        except ValueError as exc:
            raise InputError(f"--genes {path}:{ln}: {exc}") from None
    if not rows:
        raise InputError(f"--genes {path}: no gene records found (GTF 'gene' features or BED lines)")
    genes = pd.DataFrame(rows, columns=GENE_COLUMNS)
    genes["chromosome"] = genes["chromosome"].str.replace("^chr", "", regex=True)
    return genes.sort_values(["chromosome", "start"]).reset_index(drop=True)
