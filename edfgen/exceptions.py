"""Exceptions raised by the edfgen library.

The CLI prints an :class:`EdfgenError` as one line and exits with its ``exit_code``:
2 for bad input (a file, column, record or argument the user can fix), 1 for a failure.
Unexpected exceptions keep their traceback.
"""

from __future__ import annotations

import errno


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


class OutputError(EdfgenError):
    """The place an output goes cannot take it: disk full, quota, read-only file system, permission
    denied. The message names the path; nothing is left under the output's final name (atomic
    writes), so a plain rerun works once the cause is fixed."""


#: errno values that mean "the output location cannot take the write" (:class:`OutputError`)
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def environment_message(exc: OSError, path: object = None) -> str:
    """One line for an :class:`OSError` of the environment: the path, what the system said, what to do."""
    where = path if path is not None else (exc.filename or "an output file")
    what = exc.strerror or str(exc)
    hint = {errno.ENOSPC: "free some space", errno.EDQUOT: "free some space or raise the quota",
            errno.EROFS: "write to a writable folder", errno.EACCES: "write to a folder you may write to",
            errno.EPERM: "write to a folder you may write to"}.get(exc.errno, "")
    return f"{where}: cannot write ({what}){'; ' + hint + ' and run the command again' if hint else ''}"


class ToolError(EdfgenError):
    """An external tool (plink, Java, Spark) is missing or failed."""


class StageError(EdfgenError):
    """A pipeline stage failed after its inputs were validated."""
