"""Exceptions raised by the edfgen library.

The CLI prints an :class:`EdfgenError` as one line and exits with its ``exit_code``:
2 for bad input (a file, column, record or argument the user can fix), 1 for a failure.
Unexpected exceptions keep their traceback.
"""

from __future__ import annotations

import errno
import os


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


def was_read(exc: OSError) -> bool:
    """Whether a permission error (``EACCES``, ``EPERM``) came from a read: the file it names exists and this
    process may not read it (a write is refused on a folder or file that may not be written instead)."""
    name = exc.filename
    return (exc.errno in (errno.EACCES, errno.EPERM) and isinstance(name, (str, bytes, os.PathLike))
            and os.path.lexists(name) and not os.access(name, os.R_OK))


def environment_error(exc: OSError, path: object = None) -> EdfgenError:
    """The one-line error for an :class:`OSError` of the environment (review s33a F4).

    Parameters
    ----------
    exc
        The error, with ``errno`` in :data:`ENVIRONMENT_ERRNOS`.
    path
        The path to name; ``exc.filename`` when ``None``.

    Returns
    -------
    EdfgenError
        :class:`InputError` ``"<path>: cannot be read (Permission denied)"`` when the failing call was a read
        (:func:`was_read`), else :class:`OutputError` with :func:`environment_message`.
    """
    if was_read(exc):
        return InputError(f"{path if path is not None else exc.filename}: cannot be read ({exc.strerror or exc})")
    return OutputError(environment_message(exc, path))


class ToolError(EdfgenError):
    """An external tool (plink, Java, Spark) is missing or failed."""


class StageError(EdfgenError):
    """A pipeline stage failed after its inputs were validated."""
