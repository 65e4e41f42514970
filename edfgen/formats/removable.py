"""Whether this process may remove a list of files and folders, checked before any is removed.

``--force`` and the pipeline's rerun of a stage remove an earlier run's outputs one by one
(:func:`edfgen.formats.manifest.remove_outputs`): a deletion refused halfway (a sub-folder another user
owns, a sticky shared folder) used to leave half of the earlier results deleted and nothing new written.
:func:`first_unremovable` lets the caller refuse before deleting anything. :func:`warn_if_protected` says when an
earlier output made read-only (or another user's) is replaced anyway, as a rename or unlink in a writable folder may.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Iterable


def _may_unlink_from(folder: Path, entry: Path) -> bool:
    """Whether ``entry`` (a name in ``folder``) may be unlinked: ``folder`` writable and searchable, and, when
    ``folder`` is sticky (``/tmp``-like), ``entry`` or ``folder`` owned by this user (or the user is root)."""
    if not os.access(folder, os.W_OK | os.X_OK):
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
        The file or folder whose removal the system would refuse (permission), else ``None``.
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
