"""One writer per output folder: the lock file ``.edfgen.lock``.

Every command that writes a folder (through :func:`edfgen.formats.manifest.recording`, and
``edfgen run`` for its own folder) holds the folder's lock while it writes, so that a second
command given the same ``--out`` refuses in one line instead of mixing its files with the first
one's. The lock file is created with ``O_CREAT | O_EXCL`` (atomic on local file systems and NFSv3+)
and holds the writer's host name, process id, process start time and command. A lock left by a
process that is gone (killed) is *stale*: on the same host, a process id that no longer exists, or
that now belongs to a process started at another time (a reused id), is taken over with a log line.
A lock from another host cannot be checked and is refused with the instruction to remove it once
that host's command is known to be gone.

Within one process the lock is re-entrant (``edfgen run`` holds its folder while a stage locks
its own sub-folder; a nested :func:`folder_lock` of the same folder only counts).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Iterator

from edfgen.exceptions import ENVIRONMENT_ERRNOS, InputError, OutputError, environment_message

log = logging.getLogger(__name__)

#: the lock file's name inside the locked folder (hidden: never listed as an output or an input)
LOCK_NAME = ".edfgen.lock"

_HELD: dict[str, int] = {}  # resolved folder -> nesting depth, in this process


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (field 22 of ``/proc/<pid>/stat``, clock ticks since boot),
    or ``None`` where ``/proc`` cannot tell (other systems)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()[19]


def _state(pid: int) -> str | None:
    """Process ``pid``'s state letter (field 3 of ``/proc/<pid>/stat``: ``R``, ``S``, ``Z`` ...), or ``None``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2:].split()[0]


def _alive(pid: int, started: str | None) -> bool:
    """Whether process ``pid`` runs (a killed process its parent has not reaped yet, a zombie, does not) and
    (where known) is the one that started at ``started``."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    except OSError:
        return False
    if _state(pid) in ("Z", "X"):    # dead (zombie/dead): right after `timeout -s KILL`, its lock is stale
        return False
    now = _start_time(pid)
    return not (started and now and now != started)


def lock_owner(folder: str | os.PathLike) -> dict | None:
    """The live writer holding ``folder``'s lock (the lock file's content), or ``None`` when the folder
    is not locked, locked by this process, or the lock is stale."""
    info = _read(Path(folder) / LOCK_NAME)
    if info is None or _stale(info) or _mine(info):
        return None
    return info


def _read(path: Path) -> dict | None:
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError, UnicodeDecodeError):
        try:                          # being written, or garbage: judged by _stale from its age
            return {"_mtime": path.stat().st_mtime}
        except OSError:
            return None
    return info if isinstance(info, dict) else {}


def _mine(info: dict) -> bool:
    return info.get("host") == socket.gethostname() and info.get("pid") == os.getpid()


def _stale(info: dict) -> bool:
    if "pid" not in info:             # unreadable: a writer killed between create and write
        return time.time() - info.get("_mtime", 0.0) > 5.0
    if info.get("host") != socket.gethostname():
        return False
    pid = info.get("pid")
    return not isinstance(pid, int) or not _alive(pid, info.get("started_ticks"))


def _describe(info: dict) -> str:
    return (f"'{info.get('command', 'edfgen')}' (pid {info.get('pid')} on {info.get('host')}, since "
            f"{info.get('since', '?')})")


def _write_lock(fd: int, path: Path, info: dict) -> None:
    """Write ``info`` into the new lock file ``path`` (open as ``fd``); when that fails (a full disk), remove the
    empty lock and raise one line naming it.

    Raises
    ------
    OutputError
        The disk is full, the quota spent, or the file system read-only (:data:`ENVIRONMENT_ERRNOS`).
    """
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(info, fh)
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        if exc.errno in ENVIRONMENT_ERRNOS:
            raise OutputError(environment_message(exc, path)) from None
        raise


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, command: str, *, option: str = "--out") -> Iterator[Path]:
    """Hold the write lock of ``folder`` (created if missing) for the block.

    Raises
    ------
    InputError
        Another live process holds it (one line naming it), or the lock of a process on another
        host is there.
    """
    folder = Path(folder)
    key = str(folder.resolve())
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield folder / LOCK_NAME
        finally:
            _HELD[key] -= 1
        return
    path = folder / LOCK_NAME
    info = {"host": socket.gethostname(), "pid": os.getpid(), "started_ticks": _start_time(os.getpid()),
            "command": command, "since": time.strftime("%Y-%m-%dT%H:%M:%S")}
    for attempt in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
            raise InputError(f"{option} {folder}: cannot write its lock file ({exc.strerror}): not a folder edfgen "
                             "can write in") from None
        except FileExistsError:
            other = _read(path)
            if other is None:
                continue              # removed meanwhile: try again
            if not _stale(other):
                where = "" if other.get("host") == socket.gethostname() else (
                    f"; if no edfgen runs there any more, remove {path}")
                raise InputError(f"{option} {folder}: in use by {_describe(other)}; wait for it to finish or "
                                 f"choose another {option}{where}") from None
            log.warning("%s: taking over the stale lock of %s, which is no longer running", folder, _describe(other))
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            continue
        _write_lock(fd, path, info)
        break
    else:
        raise InputError(f"{option} {folder}: cannot take its lock {path} (another command keeps creating it)")
    _HELD[key] = 1
    try:
        yield path
    finally:
        _HELD.pop(key, None)
        if _read(path) == info:
            with contextlib.suppress(OSError):
                path.unlink()


def check_unlocked(folder: str | os.PathLike, *, option: str = "--out") -> None:
    """Refuse (one line) a folder another live process is writing, before a command starts its work."""
    other = lock_owner(folder)
    if other is not None:
        raise InputError(f"{option} {folder}: in use by {_describe(other)}; wait for it to finish or choose "
                         f"another {option}")
