"""Whether this process may remove a list of files and folders, checked before any is removed.

``--force`` and the pipeline's rerun of a stage remove an earlier run's outputs one by one
(:func:`edfgen.formats.manifest.remove_outputs`): a deletion refused halfway (a sub-folder another user
owns, a sticky shared folder) used to leave half of the earlier results deleted and nothing new written.
:func:`first_unremovable` lets the caller refuse before deleting anything.
"""

from __future__ import annotations

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


def _raise(exc: OSError) -> None:
    raise exc
