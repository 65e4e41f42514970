"""Logging set-up and progress bars shared by the library and the CLI."""

from __future__ import annotations

import logging
import sys
from typing import Iterable, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

logger = logging.getLogger("edfgen")

_QUIET = False


def configure_logging(verbosity: int = 0) -> None:
    """Configure the ``edfgen`` logger.

    Parameters
    ----------
    verbosity
        ``-1`` quiet (warnings only, no progress bars), ``0`` info, ``>= 1`` debug.
    """
    global _QUIET
    _QUIET = verbosity < 0
    level = logging.WARNING if verbosity < 0 else logging.INFO if verbosity == 0 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False


def progress(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "",
             unit: str = "it") -> "tqdm[T]":
    """A tqdm progress bar on stderr, silent under ``-q`` or when stderr is not a terminal
    (unless ``EDFGEN_PROGRESS=1``)."""
    import os

    disable = _QUIET or (not sys.stderr.isatty() and os.environ.get("EDFGEN_PROGRESS") != "1")
    return tqdm(iterable, total=total, desc=desc, unit=unit, disable=disable, file=sys.stderr,
                dynamic_ncols=True, leave=False)
