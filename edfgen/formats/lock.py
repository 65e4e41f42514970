"""One writer per output folder: the lock file ``.edfgen.lock``.

Every command that writes a folder (through :func:`edfgen.formats.manifest.recording`, and
``edfgen run`` for its own folder) holds the folder's lock while it writes, so that a second
command given the same ``--out`` refuses in one line instead of mixing its files with the first
one's. The lock file is written whole to a temporary file, then hard-linked to its name (``link`` fails when
the name exists: atomic and exclusive on local file systems and NFS), so a writer killed at any moment leaves
either no lock or a complete one, never an empty one (on a file system without hard links it is created with
``O_CREAT | O_EXCL`` and then written). It holds the writer's host name, process id, process start time and
command. An empty or unreadable lock (a writer killed between creating and writing it, on such a file system,
or by an older edfgen) is waited for until it is :data:`UNREADABLE_S` seconds old, then taken over. A lock left by a
process that is gone (killed) is *stale*: on the same host, a process id that no longer exists, or
that now belongs to a process started at another time (a reused id), is taken over with a log line.
A lock from another host cannot be checked by its pid: while it holds the lock, a writer refreshes the lock
file's modification time every :data:`HEARTBEAT_S` seconds (a daemon thread; the lock records ``heartbeat_s``), and
a lock from another host whose heartbeat stopped more than :func:`stale_after` ago (a cluster job killed by its time
limit, resubmitted on another node) is stale and taken over with a log line. A lock from another host without a
heartbeat (an older edfgen) is refused with the instruction to remove it once that host's command is known to be
gone; a refusal of another host's lock with a heartbeat says when it is taken over automatically.

Several commands may find one stale lock at once (jobs requeued together): its takeover is serialized by an
``fcntl`` lock on the hidden :data:`TAKEOVER_NAME` (released when its holder dies, so never stale; the file is
removed by its holder), under which the lock is read again and removed only if it is still the one judged stale, so
that no taker removes the fresh lock another has just taken; then each takes the lock the normal (exclusive) way
and all but one are refused.

Within one process the lock is re-entrant (``edfgen run`` holds its folder while a stage locks
its own sub-folder; a nested :func:`folder_lock` of the same folder only counts).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:   # (not on Windows)
    fcntl = None

from edfgen.exceptions import ENVIRONMENT_ERRNOS, InputError, OutputError, environment_message
from edfgen.formats.atomic import temp_name

log = logging.getLogger(__name__)

#: the lock file's name inside the locked folder (hidden: never listed as an output or an input)
LOCK_NAME = ".edfgen.lock"
#: the file whose ``fcntl`` lock serializes the takeovers of a stale lock (hidden; removed by its holder)
TAKEOVER_NAME = ".edfgen.lock.takeover"
#: the lock's hidden files: never an output, an input, or a user's file in a folder (one left behind by an older
#: edfgen, or by a taker killed while taking over, does not make a folder "not empty")
HIDDEN_NAMES = (LOCK_NAME, TAKEOVER_NAME)
#: the files a desktop's file manager puts into any folder it shows (macOS Finder, Windows Explorer, KDE): no one's
#: data, kept where a command replaces a folder's files (simulate's ``ecg/``: s41safefix2 #1)
JUNK_NAMES = (".DS_Store", ".localized", "Thumbs.db", "ehthumbs.db", "desktop.ini", "Desktop.ini", ".directory")

_HELD: dict[str, int] = {}  # resolved folder -> nesting depth, in this process
#: resolved folder -> (content, modification time) of the stale lock of a writer that is gone, which this process took
#: over when it took the folder's lock (:func:`dead_writer_lock` while it holds it: s42files #1)
_TAKEN: dict[str, tuple[dict, float]] = {}
# the folders (keys of _TAKEN) whose holder wrote its own in-progress manifest: the killed writer's time window no
# longer judges anything there, so its lock is not put back when the holder exits (s42filesfix #2)
_OWN_RUN: set[str] = set()

#: seconds between two refreshes of a held lock's modification time (its heartbeat, read by other hosts)
HEARTBEAT_S = 60.0
#: a lock from another host is stale when its heartbeat stopped for this many beats, and at least
#: :data:`STALE_MIN_S` seconds (clock differences between hosts, a writer starved of CPU for a while)
STALE_BEATS = 10
STALE_MIN_S = 900.0
#: an empty or unreadable lock file older than this many seconds is stale (its writer was killed while taking it)
UNREADABLE_S = 5.0
#: seconds a taker of a stale lock waits for another taker's takeover (milliseconds when it runs) before refusing
TAKEOVER_WAIT_S = 10.0


def stale_after(heartbeat_s: float) -> float:
    """Seconds without a heartbeat after which another host's lock, refreshed every ``heartbeat_s``, is stale.

    Parameters
    ----------
    heartbeat_s
        The ``heartbeat_s`` its lock file records.

    Returns
    -------
    float
        ``max(STALE_BEATS * heartbeat_s, STALE_MIN_S)``.
    """
    return max(STALE_BEATS * heartbeat_s, STALE_MIN_S)


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
    if info is None or _stale(info, Path(folder) / LOCK_NAME) or _mine(info):
        return None
    return info


def dead_writer_lock(folder: str | os.PathLike) -> tuple[dict, float] | None:
    """The lock a writer that is gone (killed) left in ``folder`` (:func:`_stale`, readable, with its pid), and its
    modification time: that writer's last heartbeat (or, killed within :data:`HEARTBEAT_S` of taking it, the time it
    took it), a time at which it still ran. While this process holds ``folder``'s lock, having taken over such a
    lock to take it (:func:`folder_lock`), that lock as it was: a command judges the killed run's files after taking
    the folder (s42files #1: ``edfgen gwas`` refused what ``edfgen run``, judging first, resumed).

    Parameters
    ----------
    folder
        The folder.

    Returns
    -------
    tuple of (dict, float) or None
        The lock's content and modification time (seconds since the epoch); ``None`` without such a lock.
    """
    path = Path(folder) / LOCK_NAME
    info = _read(path)
    if info and _mine(info) and (taken := _TAKEN.get(str(Path(folder).resolve()))) is not None:
        return taken                  # taken over by this process: that writer's lock, as it was (s42files #1)
    if not info or "pid" not in info or not _stale(info, path):
        return None
    try:
        return info, path.stat().st_mtime
    except OSError:
        return None


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


def _silent_for(path: Path | None) -> float:
    """Seconds since the lock file ``path`` was last written or refreshed (0 when it cannot be told)."""
    try:
        return time.time() - path.stat().st_mtime if path is not None else 0.0
    except OSError:
        return 0.0


def _stale(info: dict, path: Path | None = None) -> bool:
    if "pid" not in info:             # unreadable: a writer killed between create and write
        return time.time() - info.get("_mtime", 0.0) > UNREADABLE_S
    if info.get("host") != socket.gethostname():   # another host: judged by its heartbeat, where it keeps one
        beat = info.get("heartbeat_s")
        return (isinstance(beat, (int, float)) and not isinstance(beat, bool) and beat > 0
                and _silent_for(path) > stale_after(float(beat)))
    pid = info.get("pid")
    return not isinstance(pid, int) or not _alive(pid, info.get("started_ticks"))


def _describe(info: dict) -> str:
    if "pid" not in info:
        return (f"a command taking its lock right now, or one killed while taking it (its lock file {LOCK_NAME} is "
                f"empty or unreadable: it is taken over once {UNREADABLE_S:.0f} s old; rerun in a few seconds)")
    return (f"'{info.get('command', 'edfgen')}' (pid {info.get('pid')} on {info.get('host')}, since "
            f"{info.get('since', '?')})")


def _write_lock(fd: int, path: Path, info: dict, *, name: Path | None = None) -> None:
    """Write ``info`` into the new file ``path`` (open as ``fd``); when that fails (a full disk), remove it and raise
    one line naming the lock ``name`` (default ``path``).

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
            raise OutputError(environment_message(exc, name or path)) from None
        raise


def _create(path: Path, info: dict, folder: Path, option: str) -> None:
    """Create the lock file ``path`` holding ``info``, whole or not at all: written to a temporary file, then
    hard-linked to ``path`` (atomic; fails when ``path`` exists, like ``O_EXCL``). On a file system without hard
    links, ``path`` is created with ``O_EXCL`` and written (a kill between the two leaves it empty: :func:`_stale`).

    Raises
    ------
    FileExistsError
        ``path`` exists (another writer's lock).
    InputError
        ``folder`` cannot be written in.
    OutputError
        The disk is full, the quota spent, or the file system read-only.
    """
    tmp = temp_name(path, suffix="")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        raise InputError(f"{option} {folder}: cannot write its lock file ({exc.strerror}): not a folder edfgen "
                         "can write in") from None
    try:
        _write_lock(fd, tmp, info, name=path)
        try:
            os.link(tmp, path)
            return
        except FileExistsError:
            with contextlib.suppress(OSError):   # NFSv3: a retransmitted link() answers EEXIST though the first
                if os.stat(tmp).st_nlink == 2:    # one made it (open(2)'s recipe: 2 links, the lock is ours)
                    return
            raise
        except OSError:               # no hard links here (FAT, some FUSE/SMB mounts): O_EXCL on the name
            pass
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    _write_lock(fd, path, info)


def _refusal(other: dict, path: Path, folder: Path, option: str) -> str:
    """The one line refusing ``folder``, whose lock ``path`` (content ``other``) a live writer holds: for another
    host's lock, when it is taken over automatically (its heartbeat) or that it must be removed by hand."""
    line = f"{option} {folder}: in use by {_describe(other)}; wait for it to finish or choose another {option}"
    if "pid" not in other or other.get("host") == socket.gethostname():
        return line
    beat = other.get("heartbeat_s")
    if isinstance(beat, (int, float)) and not isinstance(beat, bool) and beat > 0:
        return (f"{line}; its last heartbeat was {_silent_for(path) / 60:.0f} min ago: it is taken over "
                f"automatically after {stale_after(float(beat)) / 60:.0f} min without one (or remove {path} if no "
                "edfgen runs there any more)")
    return f"{line}; if no edfgen runs there any more, remove {path}"


@contextlib.contextmanager
def _takeover_guard(folder: Path) -> Iterator[None]:
    """Hold the ``fcntl`` lock of ``folder``'s :data:`TAKEOVER_NAME` for the block, so that one process at a time
    (on any host sharing the folder: NFS locks) judges and removes a stale lock; released when its holder dies, so
    never stale. The holder removes the file before releasing it; a waiter that then gets the lock of the removed
    file opens the current one again. Where ``fcntl`` locks are not available, the block runs unguarded.

    Raises
    ------
    InputError
        Another process held it for :data:`TAKEOVER_WAIT_S` seconds (a takeover takes milliseconds: one stopped).
    """
    guard = folder / TAKEOVER_NAME
    deadline = time.monotonic() + TAKEOVER_WAIT_S
    while fcntl is not None:
        try:
            fd = os.open(guard, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError:
            break
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            mine, now = os.fstat(fd), guard.stat()
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EACCES, errno.EAGAIN):      # held by another taker: wait for it
                if time.monotonic() > deadline:
                    raise InputError(f"{folder}: another command has been taking over its stale lock for "
                                     f"{TAKEOVER_WAIT_S:.0f} s (stopped?); if none runs, remove "
                                     f"{guard}") from None
                time.sleep(0.01)
                continue
            if isinstance(exc, FileNotFoundError):             # removed by its holder meanwhile
                continue
            with contextlib.suppress(OSError):
                guard.unlink()        # never left behind: it would be taken for a user's file
            break                     # no POSIX locks on this file system (NFS without lockd: ENOLCK; Lustre
            #                           without flock; some FUSE/SMB mounts): the takeover runs unguarded
        if (mine.st_ino, mine.st_dev) != (now.st_ino, now.st_dev):
            os.close(fd)              # its holder removed it after we opened it, and another took a new one
            continue
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                guard.unlink()        # before the release (close): a waiter on this file sees it is gone
            os.close(fd)
        return
    yield


def _take_over(path: Path, other: dict) -> float | None:
    """Remove the stale lock ``path``, read as ``other``, only if it is still that one: under
    :func:`_takeover_guard` it is read again and removed only when its content is the same and it is still stale,
    so that of several takers of one stale lock none removes the fresh lock another has just taken. Returns its
    modification time (its writer's last heartbeat) when this call removed it, else ``None``."""
    with _takeover_guard(path.parent):
        again = _read(path)
        if again is not None and again == other and _stale(again, path):
            with contextlib.suppress(FileNotFoundError):
                beat = path.stat().st_mtime
                path.unlink()
                return beat
    return None


def _put_back(path: Path, other: dict, beat: float) -> None:
    """Write the killed writer's lock ``other`` back at ``path`` with its last heartbeat ``beat`` as its modification
    time, whole or not at all and only where no lock is (hard link, as :func:`_create`); nothing when that fails.
    A holder that took it over and fails before its own run began (refused: a user's file at a planned name) leaves
    the folder as it found it, so the next try still judges the killed run's files by the time it ran (s42filesfix
    #2: the second ``--force`` overwrote the user's file the first had refused to)."""
    tmp = temp_name(path, suffix="")
    with contextlib.suppress(OSError, ValueError):
        try:
            with open(tmp, "x") as fh:
                json.dump(other, fh)
            os.utime(tmp, (beat, beat))
            os.link(tmp, path)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()


def own_run_began(folder: str | os.PathLike) -> None:
    """Note that this process, holding ``folder``'s lock, has written its own in-progress manifest there: a killed
    writer's lock it took over (:func:`dead_writer_lock`) is then not put back when it lets the folder go.

    Parameters
    ----------
    folder
        The folder whose lock this process holds.
    """
    key = str(Path(folder).resolve())
    if key in _TAKEN:
        _OWN_RUN.add(key)


def _wait_unreadable(other: dict, path: Path) -> None:
    """Wait (at most :data:`UNREADABLE_S` seconds) until the empty or unreadable lock ``path`` is old enough to be
    stale, or is written: a writer killed while taking it on a file system without hard links, or by an older
    edfgen, never blocks a rerun with a refusal (:func:`check_unlocked` and :func:`folder_lock` both wait)."""
    left = UNREADABLE_S - (time.time() - other.get("_mtime", 0.0))
    log.warning("%s: its lock file is empty or unreadable (a command taking it right now, or one killed while "
                "taking it): waiting %.0f s, then taking it over", path.parent, max(left, 0.0))
    time.sleep(min(max(left, 0.0), UNREADABLE_S) + 0.05)


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, command: str, *, option: str = "--out") -> Iterator[Path]:
    """Hold the write lock of ``folder`` (created if missing) for the block.

    A stale lock (a dead process on this host; another host's whose heartbeat stopped more than
    :func:`stale_after` ago; an empty or unreadable one :data:`UNREADABLE_S` seconds old) is taken over with a log
    line; a fresh empty or unreadable one is waited for.

    Raises
    ------
    InputError
        Another live process holds it (one line naming it; another host's lock: when it is taken over
        automatically, or, without a heartbeat, to remove it by hand); ``folder`` cannot be written in; another
        command's takeover of its stale lock is stuck (:data:`TAKEOVER_WAIT_S`); or another command keeps creating
        the lock.
    OutputError
        The lock file cannot be written: the disk is full, the quota spent, or the file system read-only.
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
            "command": command, "since": time.strftime("%Y-%m-%dT%H:%M:%S"), "since_s": round(time.time(), 3),
            "heartbeat_s": HEARTBEAT_S}
    taken = None
    for attempt in range(4):
        try:
            _create(path, info, folder, option)
        except FileExistsError:
            other = _read(path)
            if other is None:
                continue              # removed meanwhile: try again
            if "pid" not in other and not _stale(other, path) and attempt < 3:
                _wait_unreadable(other, path)
                continue
            if not _stale(other, path):
                raise InputError(_refusal(other, path, folder, option)) from None
            if "pid" not in other:
                log.warning("%s: taking over its empty or unreadable lock file (a command killed while taking it)",
                            folder)
            elif other.get("host") == socket.gethostname():
                log.warning("%s: taking over the stale lock of %s, which is no longer running", folder,
                            _describe(other))
            else:
                log.warning("%s: taking over the stale lock of %s: its heartbeat stopped %.0f min ago (killed)",
                            folder, _describe(other), _silent_for(path) / 60)
            if (beat := _take_over(path, other)) is not None and "pid" in other:
                taken = (other, beat)
            continue
        break
    else:
        raise InputError(f"{option} {folder}: cannot take its lock {path} (another command keeps creating it)")
    _HELD[key] = 1
    if taken is not None:             # what the dead writer's files are judged by while this process holds it
        _TAKEN[key] = taken
    stop, failed = threading.Event(), False
    beat = threading.Thread(target=_heartbeat, args=(path, stop, info["heartbeat_s"], info), daemon=True,
                            name=f"edfgen-lock-heartbeat {folder}")
    try:
        try:
            beat.start()
        except RuntimeError as exc:   # "can't start new thread" (a thread or memory limit): run without one
            log.warning("%s: cannot start the heartbeat of its lock (%s): another host may take the lock over "
                        "after %.0f min", folder, exc, stale_after(info["heartbeat_s"]) / 60)
        yield path
    except BaseException:
        failed = True
        raise
    finally:
        stop.set()
        if beat.is_alive():
            beat.join(timeout=5)
        _HELD.pop(key, None)
        dead = _TAKEN.get(key) if failed and key not in _OWN_RUN else None
        _TAKEN.pop(key, None)
        _OWN_RUN.discard(key)
        if _read(path) == info:
            with contextlib.suppress(OSError):
                path.unlink()
                if dead is not None:  # failed (refused) before its own run began: the killed run's lock is back
                    _put_back(path, *dead)


def _heartbeat(path: Path, stop: threading.Event, every: float, info: dict | None = None) -> None:
    """Refresh the modification time of the held lock ``path`` every ``every`` seconds until ``stop`` is set: other
    hosts, which cannot check the pid, tell a live writer from a killed one by it (:func:`_stale`).

    A lock file removed, unwritable or on a vanished mount is left alone (never an error in the command), and a
    lock file whose content is not this writer's ``info`` (removed by hand and taken by another command) is never
    refreshed: a killed writer's lock must not be kept alive by another's beat."""
    while not stop.wait(every):
        try:
            if info is None or _read(path) == info:
                os.utime(path)
        except (OSError, ValueError):
            pass


def check_unlocked(folder: str | os.PathLike, *, option: str = "--out") -> None:
    """Refuse (one line) a folder another live process is writing, before a command starts its work; an empty or
    unreadable lock (a command taking it right now, or one killed while taking it) is waited for, as
    :func:`folder_lock` does, until it is written or stale.

    Parameters
    ----------
    folder
        The folder.
    option
        The option that names it, for the message.

    Raises
    ------
    InputError
        Another live process holds its lock.
    """
    other = lock_owner(folder)
    if other is not None and "pid" not in other:
        _wait_unreadable(other, Path(folder) / LOCK_NAME)
        other = lock_owner(folder)
    if other is not None:
        raise InputError(_refusal(other, Path(folder) / LOCK_NAME, Path(folder), option))
