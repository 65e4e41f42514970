"""Atomic files: edfgen's one temporary-file rule, and writes that never leave half a file.

Every output is first written to a temporary file in the target directory and renamed over the
target only when complete (:func:`atomic_path`, :func:`atomic_write`), so a crash or Ctrl-C never
leaves a half-written output. A disk-full, read-only or permission error while writing becomes a
one-line :class:`~edfgen.exceptions.OutputError` naming the output (the temporary file removed).

Temporary files follow one naming rule, ``.<name>.edfgen-tmp-<pid>-<random><suffixes>`` (hidden,
beside their target, ``<random>`` exactly 12 lowercase hex digits, keeping the target's suffixes so that writers
choosing a format by extension work): :func:`is_temp_name` recognises them, every reader and discovery of
edfgen skips them, and :func:`clean_temp_files` (run by every command on its output folder before it writes)
removes those left by a killed process. Nothing else is ever taken for one: edfgen's marker, the pid and
the fixed-form token must all be there (a user's ``.thesis.20261206.tmp`` is the user's). The names of
edfgen < 0.2 (``.<name>.<8 random>.tmp``, from :func:`tempfile.mkstemp`) carry no marker, so they cannot
be told from a user's file and are no longer removed: a leftover temporary file is harmless, a deleted
user file is not.

This module knows file names and renames only (no table formats, no manifests): both
:mod:`edfgen.formats.tables` and :mod:`edfgen.formats.manifest` build on it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import IO, Iterator

from edfgen.exceptions import ENVIRONMENT_ERRNOS, OutputError, environment_message
from edfgen.formats.removable import warn_if_protected

PathLike = str | os.PathLike

#: the marker of edfgen's temporary files (see the module docstring)
TEMP_MARK = ".edfgen-tmp-"
#: the random part of a temporary name: :data:`TOKEN_BYTES` random bytes in lowercase hex
TOKEN_BYTES = 6
_TEMP_RE = re.compile(r"^\..+\.edfgen-tmp-(\d+)-[0-9a-f]{%d}(\..*)?$" % (2 * TOKEN_BYTES), re.DOTALL)


def temp_name(path: PathLike, *, suffix: str | None = None) -> Path:
    """A fresh temporary path beside ``path`` under the one naming rule (nothing is created)."""
    path = Path(path)
    suffix = suffix if suffix is not None else "".join(path.suffixes)
    token = os.urandom(TOKEN_BYTES).hex()
    return path.with_name(f".{path.name}{TEMP_MARK}{os.getpid()}-{token}{suffix}")


def temp_dir(path: PathLike) -> Path:
    """Create a fresh temporary folder beside ``path`` under the one naming rule (:func:`temp_name`), so that
    :func:`clean_temp_files` removes it if its process dies before removing it itself."""
    folder = temp_name(path, suffix="")
    folder.mkdir(parents=True)
    return folder


def is_temp_name(name: str | os.PathLike) -> bool:
    """True when ``name`` (a file or folder name, or a path: its last part) is an edfgen temporary file:
    ``.<name>.edfgen-tmp-<pid>-<12 hex digits>``, then nothing or the target's suffixes (:func:`temp_name`)."""
    return _TEMP_RE.match(Path(name).name) is not None


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def clean_temp_files(folder: PathLike, *, recursive: bool = True) -> list[Path]:
    """Remove the edfgen temporary files (and folders) under ``folder`` left by processes that are gone.

    A temporary file whose writer (the pid in its name) is still running is kept, so that a command
    never removes another live process's work in progress. Returns the paths removed.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    stack = [folder]
    while stack:
        d = stack.pop()
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            m = _TEMP_RE.match(e.name)
            if m is not None:
                if _pid_alive(int(m.group(1))):
                    continue
                p = Path(e.path)
                try:
                    if e.is_dir(follow_symlinks=False):
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        p.unlink()
                    removed.append(p)
                except FileNotFoundError:
                    pass
            elif recursive and e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
    return removed


@contextlib.contextmanager
def atomic_path(path: PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    The temporary name (:func:`temp_name`) keeps the target's suffixes (``.tsv.gz``, ``.bed``) so
    writers that choose a format by extension still work. On an exception the temporary file
    (or directory) is removed and the target is untouched; after a kill, :func:`clean_temp_files`
    removes it.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _raise_environment(exc, path)
        raise
    tmp_path = temp_name(path, suffix=suffix)
    try:
        yield tmp_path
        warn_if_protected(path)
        os.replace(tmp_path, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            if tmp_path.is_dir():
                shutil.rmtree(tmp_path, ignore_errors=True)
            elif tmp_path.exists() or tmp_path.is_symlink():
                tmp_path.unlink()
        if isinstance(exc, OSError):
            _raise_environment(exc, path, tmp_path)
        raise


def _raise_environment(exc: OSError, path: Path, tmp: Path | None = None) -> None:
    """Raise :class:`~edfgen.exceptions.OutputError` naming ``path`` for a disk-full, read-only or
    permission error about ``path``, its temporary file or an unnamed file (a failed ``write``)."""
    names = {None, str(path), str(path.parent), str(tmp)}
    if exc.errno in ENVIRONMENT_ERRNOS and (exc.filename is None or str(exc.filename) in names):
        raise OutputError(environment_message(exc, path)) from exc


def current_umask() -> int:
    """This process's umask, read without changing it where Linux shows it (``/proc/self/status``)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    old = os.umask(0o022)
    os.umask(old)
    return old


def chmod_as_created(path: PathLike) -> None:
    """Give ``path`` the mode a plain ``open(path, "w")`` would have given it (``0o666`` less the umask): for files
    that a library writes through its own private temporary file (0600 whatever the umask; safetensors)."""
    os.chmod(path, 0o666 & ~current_umask())


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file for writing; it replaces ``path`` when the block succeeds."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **open_kwargs) as fh:
            yield fh
