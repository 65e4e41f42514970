"""Genes from a user-supplied GTF or BED file, or the protein-coding genes shipped with edfgen (the
nearest gene(s) of each locus: :func:`edfgen.kernels.annotate.nearest_genes`).

Shipped (:func:`packaged_genes`): ``edfgen/data/genes_GRCh37.tsv.gz`` (Ensembl 75 = GENCODE 19) and
``genes_GRCh38.tsv.gz`` (Ensembl 107 = GENCODE 41), protein-coding genes only, built by
``scripts/build_gene_table.py``; a TSV with the header ``chromosome start end gene strand`` (1-based,
inclusive), which :func:`read_genes` also reads from a user's file.

GTF (GENCODE/Ensembl; ``gene`` features, name from ``gene_name`` else ``gene_id``; 1-based,
inclusive) or BED (``chrom, start, end, name[, score, strand]``; 0-based half-open, converted to
1-based inclusive). Chromosome labels lose any ``chr`` prefix. Coordinates must be the same build
as the loci (GRCh38 in edfgen).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pandas as pd

from edfgen.exceptions import InputError

GENE_COLUMNS = ["chromosome", "start", "end", "gene", "strand"]


def packaged_genes(reference_genome: str) -> Path:
    """The shipped protein-coding gene table of ``reference_genome`` (``GRCh37`` or ``GRCh38``)."""
    from importlib import resources

    if reference_genome not in ("GRCh37", "GRCh38"):
        raise InputError(f"no shipped gene table for {reference_genome!r} (GRCh37, GRCh38); give --genes")
    return Path(str(resources.files("edfgen") / "data" / f"genes_{reference_genome}.tsv.gz"))


def _open_text(path: Path):
    return gzip.open(path, "rt") if path.name.endswith(".gz") else open(path)


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
    with _open_text(path) as fh:
        if fh.readline().rstrip("\n").split("\t") == GENE_COLUMNS:   # the shipped tables' layout
            genes = pd.read_csv(fh, sep="\t", names=GENE_COLUMNS, dtype={"chromosome": str, "gene": str})
            return genes.sort_values(["chromosome", "start"]).reset_index(drop=True)
    rows = []
    with _open_text(path) as fh:
        for ln, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            if not is_gtf and len(f) >= 9 and re.search(r'gene_(id|name) "', f[8]):
                is_gtf = True
            try:
                if is_gtf:
                    if len(f) < 9:
                        raise ValueError("fewer than 9 columns")
                    if f[2] != "gene":
                        continue
                    name = re.search(r'gene_name "([^"]+)"', f[8]) or re.search(r'gene_id "([^"]+)"', f[8])
                    if not name:
                        raise ValueError("no gene_name/gene_id attribute")
                    rows.append((f[0], int(f[3]), int(f[4]), name.group(1), f[6]))
                else:
                    if len(f) < 4:
                        raise ValueError("BED needs chrom, start, end, name")
                    rows.append((f[0], int(f[1]) + 1, int(f[2]), f[3], f[5] if len(f) > 5 else "."))
            except ValueError as exc:
                raise InputError(f"--genes {path}: line {ln}: {exc}") from None
    if not rows:
        raise InputError(f"--genes {path}: no gene records found (GTF 'gene' features or BED lines)")
    genes = pd.DataFrame(rows, columns=GENE_COLUMNS)
    genes["chromosome"] = genes["chromosome"].str.replace("^chr", "", regex=True)
    return genes.sort_values(["chromosome", "start"]).reset_index(drop=True)
