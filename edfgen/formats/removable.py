"""Whether this process may remove a list of files and folders, checked before any is removed.

``--force`` and the pipeline's rerun of a stage remove an earlier run's outputs one by one
(:func:`edfgen.formats.manifest.remove_outputs`): a deletion refused halfway (a sub-folder another user
owns, a sticky shared folder) used to leave half of the earlier results deleted and nothing new written.
:func:`first_unremovable` lets the caller refuse before deleting anything, and :func:`unremovable_reason` says why.
Besides permissions, Linux inode flags (``chattr +i`` immutable, ``chattr +a`` append-only, read with the
``FS_IOC_GETFLAGS`` ioctl: :func:`inode_flags`) refuse a removal, root's included (review s34c #3). :func:`warn_if_protected` says when an
earlier output made read-only (or another user's) is replaced anyway, as a rename or unlink in a writable folder may.
"""

from __future__ import annotations

import logging
import os
import stat
import struct
import sys
from pathlib import Path
from typing import Iterable

try:
    import fcntl
except ImportError:   # (not on Windows)
    fcntl = None

#: Linux inode flags (``linux/fs.h``, set by ``chattr``): an immutable file or folder may not be removed or
#: changed, an append-only one not removed, nor may an append-only folder's entries be; root included
FS_IMMUTABLE_FL, FS_APPEND_FL = 0x10, 0x20
#: ``FS_IOC_GETFLAGS`` = ``_IOR('f', 1, long)``
_FS_IOC_GETFLAGS = (2 << 30) | (struct.calcsize("l") << 16) | (ord("f") << 8) | 1


def inode_flags(path: Path) -> int:
    """The Linux inode flags of ``path`` (those ``lsattr`` shows; a link is not followed); 0 on other systems, for
    anything but a regular file or folder, or when they cannot be read (a file system without them, no read access).

    Parameters
    ----------
    path
        A file or folder.

    Returns
    -------
    int
        The flags, e.g. ``FS_IMMUTABLE_FL``.
    """
    if fcntl is None or not sys.platform.startswith("linux"):
        return 0
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode) and not stat.S_ISDIR(os.lstat(path).st_mode):
            return 0
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError:
        return 0
    try:
        return struct.unpack("i", fcntl.ioctl(fd, _FS_IOC_GETFLAGS, bytes(8))[:4])[0]
    except OSError:
        return 0
    finally:
        os.close(fd)


def _flag_refusal(folder: Path, entry: Path) -> str | None:
    """Why the inode flags of ``entry`` or of its ``folder`` refuse its removal, or ``None``."""
    own, held = inode_flags(entry), inode_flags(folder)
    if own & FS_IMMUTABLE_FL:
        return f"immutable: chattr -i {entry}"
    if own & FS_APPEND_FL:
        return f"append-only: chattr -a {entry}"
    for flag, what, undo in ((FS_IMMUTABLE_FL, "immutable", "-i"), (FS_APPEND_FL, "append-only", "-a")):
        if held & flag:
            return f"its folder is {what}: chattr {undo} {folder}"
    return None


def _may_unlink_from(folder: Path, entry: Path) -> bool:
    """Whether ``entry`` (a name in ``folder``) may be unlinked: ``folder`` writable and searchable, neither
    immutable nor append-only (nor ``folder`` append-only), and, when ``folder`` is sticky (``/tmp``-like),
    ``entry`` or ``folder`` owned by this user (or the user is root)."""
    if not os.access(folder, os.W_OK | os.X_OK) or _flag_refusal(folder, entry) is not None:
        return False
    try:
        st_dir = folder.stat()
        if not st_dir.st_mode & stat.S_ISVTX:
            return True
        uid = os.geteuid()
        return uid == 0 or uid in (st_dir.st_uid, entry.lstat().st_uid)
    except OSError:
        return False


def first_unremovable(paths: Iterable[Path]) -> Path | None:
    """The first of ``paths`` (files, links, or folders with all they hold) that this process may not remove,
    or the first thing inside such a folder that it may not; ``None`` when every one may be removed.
    Paths that do not exist are skipped.

    Parameters
    ----------
    paths
        Absolute paths about to be removed.

    Returns
    -------
    Path or None
        The file or folder whose removal the system would refuse (permission, an immutable or append-only flag),
        else ``None``.
    """
    for p in paths:
        if not (p.exists() or p.is_symlink()):
            continue
        if not _may_unlink_from(p.parent, p):
            return p
        if p.is_dir() and not p.is_symlink():
            for folder, dirs, files in os.walk(p, onerror=_raise):
                for name in dirs + files:
                    if not _may_unlink_from(Path(folder), Path(folder) / name):
                        return Path(folder) / name
    return None


def unremovable_reason(path: Path) -> str:
    """Why the system refuses to remove ``path`` (found by :func:`first_unremovable`), for a one-line error:
    ``"immutable: chattr -i <path>"``, ``"append-only: chattr -a <path>"``, ``"its folder is append-only: chattr
    -a <folder>"`` (or immutable), else ``"Permission denied"``.

    Parameters
    ----------
    path
        The file or folder that may not be removed.

    Returns
    -------
    str
        The reason, with the command that lifts a flag.
    """
    return _flag_refusal(path.parent, path) or "Permission denied"


def protected_reason(path: Path) -> str | None:
    """Why the earlier output ``path`` is protected: ``"read-only"`` (no write bit) or ``"owned by another user
    (uid N)"``; ``None`` for an ordinary file, a folder, a link or a missing path.

    Parameters
    ----------
    path
        An earlier output about to be replaced or removed.

    Returns
    -------
    str or None
        The reason, for a warning.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    if not st.st_mode & 0o222:
        return "read-only"
    if hasattr(os, "geteuid") and st.st_uid != os.geteuid():
        return f"owned by another user (uid {st.st_uid})"
    return None


def warn_if_protected(path: Path) -> None:
    """Log a warning when the earlier output ``path`` about to be replaced or removed is a file made read-only
    (no write bit) or owned by another user: a ``chmod a-w`` meant to freeze results is not honoured by a rename
    or an unlink in a writable folder, so the user is told (review s33a F7). Nothing for a missing file."""
    warn_protected([path])


def warn_protected(paths: Iterable[Path]) -> None:
    """One warning for all of ``paths`` that are protected (:func:`protected_reason`): the file when one is, else
    their count and the first as an example (one line per file was hundreds for a run of many EDFs, review s33d).

    Parameters
    ----------
    paths
        Earlier outputs about to be replaced or removed.
    """
    found = [(p, why) for p in paths if (why := protected_reason(p)) is not None]
    if len(found) == 1:
        logging.getLogger(__name__).warning("replacing %s, which was %s", *found[0])
    elif found:
        logging.getLogger(__name__).warning("replacing %d earlier outputs that were read-only or another user's, "
                                            "e.g. %s (%s)", len(found), *found[0])


def _raise(exc: OSError) -> None:
    raise exc
