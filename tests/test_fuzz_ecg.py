"""Fuzzing the ECG readers and checkpoints (issue 19, item 7): hypothesis mutates a valid file of each
reader (truncation at a random offset, byte flips, zeroed or duplicated blocks, deleted or duplicated
lines and fields, numbers replaced by extreme values) and every outcome must keep the rule of
:mod:`fuzz_ecg_cases`: used correctly, or a reject / one-line error with the reason - never another
exception. Fixed seeds (``derandomize``), no example database; ``benchmarks/fuzz_ecg.py`` runs many more.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_ecg_cases import BINARY_OPS, FIELD_OPS, READERS, TEXT_OPS, apply, outcome, write_valid

FUZZ = settings(max_examples=18, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@st.composite
def mutation(draw, kind: str):
    parts = {"wfdb16": ["hea", "dat"], "wfdb212": ["hea", "dat"], "npz": ["bin", "fields"], "hdf5": ["bin", "fields"],
             "cardiosoft": ["xml"], "muse": ["xml"], "aecg": ["xml"], "dicom": ["bin"],
             "edf": ["bin", "hea"], "bdf": ["bin", "hea"],
             "checkpoint": ["json", "bin"]}[kind]
    role = draw(st.sampled_from(parts))
    ops = TEXT_OPS if role in ("hea", "xml", "json") else FIELD_OPS if role == "fields" else BINARY_OPS
    n = draw(st.integers(1, 3))  # up to three mutations of the same part
    return role, [(draw(st.sampled_from(ops)), draw(st.integers(0, 2 ** 30)), draw(st.integers(0, 2 ** 16)))
                  for _ in range(n)], draw(st.booleans())


@pytest.mark.parametrize("kind", READERS)
def test_fuzz__valid_file_is_used(kind: str, tmp_path: Path):
    """The starting point of every mutation is a file the reader uses (the fuzzing is not vacuous)."""
    assert outcome(kind, write_valid(kind, tmp_path / kind)) == ("used", "")


@pytest.mark.parametrize("kind", READERS)
@FUZZ
@given(data=st.data())
def test_fuzz_reader__reject_or_error_with_reason_or_used(kind: str, tmp_path: Path, data):
    """WFDB (format 16 fast path, format 212 through wfdb), npz, HDF5, CardioSoft, MUSE and aECG XML, DICOM,
    EDF+C and BDF (whole file mutated as bytes, or as text: header numbers replaced by extreme values), checkpoints."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    parts = write_valid(kind, folder)
    role, ops, fix_sha = data.draw(mutation(kind))
    for op, a, b in ops:
        apply(kind, parts, role, op, a, b, fix_sha=fix_sha)
    result, message = outcome(kind, parts)
    assert result != "defect", f"{kind} {role} {ops}: {message}"
    assert result == "used" or message and "\n" not in message
