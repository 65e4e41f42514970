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
