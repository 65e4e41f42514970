"""Shared pytest fixtures: one Hail context per session, small simulated cohorts."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()

os.environ.setdefault("MPLBACKEND", "Agg")


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def hail_context(tmp_path_factory):
    """Start Hail once for the whole test session (2 local threads, small driver memory)."""
    from edfgen.genetics.hail_context import HailSettings, init_hail

    tmp = tmp_path_factory.mktemp("hail")
    hl = init_hail(HailSettings(threads=2, tmp_dir=str(tmp), driver_memory="3g"))
    yield hl
