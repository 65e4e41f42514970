"""Issue 19 item 7: hypothesis-driven fuzzing of every table reader (tables, summary statistics in each
layout edfgen reads, the GWAS Catalog, loci, GTF/BED genes). Each case mutates a valid seed file
(truncation at a random offset, byte flips, a field deleted or duplicated, an extreme number, a line
duplicated) and checks the rule: a one-line :class:`~edfgen.exceptions.EdfgenError`, or every row of
the file used; never another exception (a traceback), never fewer rows than the file holds, never a
result from a truncated gzip/BGZF stream. The cases are derandomised (the same every run); the
harness is ``tests/fuzz_tables_cases.py`` (``benchmarks/fuzz_tables.py`` runs more cases of it).
"""

from __future__ import annotations

import pytest

from fuzz_tables_cases import SEEDS, fuzz_reader

#: cases per reader here (~1-2 s each reader); the benchmark runs 400
CASES = 50


@pytest.mark.parametrize("reader", list(SEEDS))
def test_fuzz_reader_errors_cleanly_or_uses_every_row(reader, tmp_path):
    tally = fuzz_reader(reader, CASES, workdir=tmp_path)
    assert sum(tally.counts.values()) >= CASES * 0.9          # hypothesis ran the cases
    assert tally.bad == 0, "\n".join(tally.failures[:5])
    assert tally.counts["error"] > 0                          # the mutations do reach the checks


def test_fuzz_found__huge_or_fractional_positions_are_named_not_crashes(tmp_path):
    """Three crashes the 400-case fuzz run found (benchmarks/results/fuzz_tables.md before the fix): a
    20-digit position in loci (OverflowError), in a BED file (OverflowError) and in the catalog's CHR_POS
    (TypeError); a fractional loci position was truncated silently."""
    from edfgen.exceptions import InputError
    from edfgen.formats.catalog import read_catalog, read_loci
    from edfgen.formats.genes import read_genes

    head = "variant_id\tchromosome\tbase_pair_location\tp_value\n"
    for value in ("99999999999999999999", "1500.5", "-3"):
        (tmp_path / "loci.tsv").write_text(head + f"rs1\t1\t100\t1e-9\nrs2\t1\t{value}\t1e-9\n")
        with pytest.raises(InputError, match="variant rs2: base_pair_location .* is not a chromosome"):
            read_loci(tmp_path / "loci.tsv")
    (tmp_path / "g.bed").write_text("chr1\t10\t99999999999999999999\tGENE\n")
    with pytest.raises(InputError, match=r"g\.bed:1: bad coordinates"):
        read_genes(tmp_path / "g.bed")
    from fuzz_tables_cases import _catalog_seed

    lines = _catalog_seed().decode().split("\n")
    cols = lines[0].split("\t")
    row = lines[1].split("\t")
    row[cols.index("CHR_POS")] = "-9999999999999999999"
    (tmp_path / "cat.tsv").write_text("\n".join([lines[0], "\t".join(row), *lines[2:]]))
    cat = read_catalog(tmp_path / "cat.tsv")           # the catalog's own data: that position is NA
    assert cat["position"].isna().sum() == 1 + read_catalog_nas(lines)


def read_catalog_nas(lines) -> int:
    """Positions already NA in the seed (empty or non-numeric CHR_POS)."""
    import tempfile
    from pathlib import Path

    from edfgen.formats.catalog import read_catalog

    p = Path(tempfile.mkdtemp()) / "seed.tsv"
    p.write_text("\n".join(lines))
    return int(read_catalog(p)["position"].isna().sum())
