"""The docstring examples run and say what the code does (review s32c: measure_biomarkers' example asserted the
simulator's QT and failed unnoticed, since no test ran the examples). Every module with an example is listed."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

MODULES = ["edfgen.formats.bgzf", "edfgen.kernels.ecg.biomarkers", "edfgen.kernels.ecg.p_wave", "edfgen.kernels.ecg.r_peaks",
           "edfgen.kernels.mr.methods", "edfgen.model.encoder",
           "edfgen.simulate.ecg"]


def test_every_module_with_an_example_is_listed():
    root = Path(__file__).resolve().parents[1]
    with_examples = sorted(".".join(p.relative_to(root).with_suffix("").parts)
                           for p in (root / "edfgen").rglob("*.py") if ">>> " in p.read_text())
    assert with_examples == sorted(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0, result
