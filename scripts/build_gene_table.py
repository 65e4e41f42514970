"""Build edfgen's packaged protein-coding gene tables (``edfgen/data/genes_GRCh37.tsv.gz``,
``genes_GRCh38.tsv.gz``) from the Ensembl gene tables in ``../shared/data/genes/`` (Ensembl 75 for GRCh37,
107 for GRCh38; see that folder's README for their source and licence).

Kept: ``gene_type == protein_coding``; columns ``chromosome, start, end, gene, strand`` (1-based,
inclusive: the layout :func:`edfgen.formats.genes.read_genes` reads), ``gene`` the Ensembl symbol (the
gene id where Ensembl has no symbol). gzip with mtime 0, so a rebuild is byte-identical.

Usage: ``python scripts/build_gene_table.py [--src ../shared/data/genes] [--out edfgen/data]``
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILDS = ("GRCh37", "GRCh38")
COLUMNS = ("chromosome", "start", "end", "gene", "strand")


def build(src: Path, out: Path, build: str) -> tuple[Path, int]:
    rows = []
    with gzip.open(src / f"genes_{build}.tsv.gz", "rt") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            if r["gene_type"] == "protein_coding":
                rows.append((r["chromosome"], r["start"], r["end"], r["gene_name"] or r["gene_id"], r["strand"]))
    text = io.StringIO()
    text.write("\t".join(COLUMNS) + "\n")
    for r in rows:   # the source order: chromosome (1-22, X, Y, MT), start, end
        text.write("\t".join(r) + "\n")
    path = out / f"genes_{build}.tsv.gz"
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9,
                                                 filename="") as gz:
        gz.write(text.getvalue().encode())
    return path, len(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", type=Path, default=ROOT.parent / "shared" / "data" / "genes")
    ap.add_argument("--out", type=Path, default=ROOT / "edfgen" / "data")
    a = ap.parse_args()
    for b in BUILDS:
        path, n = build(a.src, a.out, b)
        print(f"{path}: {n} protein-coding genes, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
