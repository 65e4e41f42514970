"""Exceptions raised by the edfgen library.

The CLI prints an :class:`EdfgenError` as one line and exits with its ``exit_code``:
2 for bad input (a file, column, record or argument the user can fix), 1 for a failure.
Unexpected exceptions keep their traceback.
"""

from __future__ import annotations


class EdfgenError(Exception):
    """Base class of every error edfgen raises on purpose."""

    exit_code = 1


class InputError(EdfgenError, ValueError):
    """Bad input: a file, column, record or argument value. Message names it."""

    exit_code = 2


class ConfigError(InputError):
    """Invalid configuration (pipeline TOML, model config, option combination)."""


class CheckpointError(InputError):
    """A model checkpoint whose config and weights do not match, or is unreadable."""


class ToolError(EdfgenError):
    """An external tool (plink, Java, Spark) is missing or failed."""


class StageError(EdfgenError):
    """A pipeline stage failed after its inputs were validated."""
