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
