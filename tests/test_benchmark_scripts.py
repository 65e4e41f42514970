"""Benchmark scripts' own bookkeeping (``benchmarks/``): what they write when a number is NA, and where."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_probe_baselines__an_na_ci_is_written_na_not_a_crash():
    """Was (known defect, s38): ``probe_baselines.py --bootstrap 2`` ran the whole evaluation, then crashed writing
    its table (``unsupported format string passed to NoneType``): a CI is NA when too few resamples hold both
    classes. Proved on the real run too (PTB-XL, --baseline random --bootstrap 2: the table says 'NA–NA')."""
    probe_baselines = pytest.importorskip("probe_baselines")
    assert probe_baselines._ci(None) == "NA" and probe_baselines._ci(float("nan")) == "NA"
    assert probe_baselines._ci(0.81234) == "0.812" and probe_baselines._ci(-0.0123, "+.3f") == "-0.012"


def test_ecg_u_wave__results_are_written_atomically():
    """s41 review: ``benchmarks/ecg_u_wave.py`` wrote its results with ``Path.write_text``: a run stopped while writing
    left a truncated ``ecg_u_wave_s41.json`` in place of the committed one. Its writes now go through
    :func:`edfgen.formats.atomic.atomic_write`, as ``real_ecg_sources.py``'s do."""
    import ast

    tree = ast.parse((Path(__file__).resolve().parents[1] / "benchmarks" / "ecg_u_wave.py").read_text())
    calls = [n.func for n in ast.walk(tree) if isinstance(n, ast.Call)]
    names = {getattr(f, "attr", getattr(f, "id", None)) for f in calls}
    assert "write_text" not in names and "write_bytes" not in names and "atomic_write" in names
