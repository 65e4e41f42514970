"""The Hail engine's default temporary folder: one per user, private (review s33a F2).

Without ``--tmp-dir``, Hail's temporary files, checkpoints, ``hail.log``, the BGEN indexes and the QC'd-genotype
cache (which a later run reuses by name) go to ``<system temp>/edfgen-hail-<uid>``, created ``0700``. A
shared fixed ``/tmp/edfgen-hail`` locked out every user but the first, let another user read the cached
genotypes, and let one plant a link that the next run wrote through. A folder of that name that is a link,
not a folder, or belongs to someone else is refused in one line naming ``--tmp-dir``.

:func:`scratch_tmp_dir` gives one step (KING, PCA) a sub-folder of its own for Hail's temporary files, removed
with all it holds when the step ends, so a run leaves none of its tables there and never removes another's.
"""

from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager

from edfgen.exceptions import OutputError


def _uid() -> int | None:
    return os.getuid() if hasattr(os, "getuid") else None


def private_tmp_dir(base: str | None = None) -> str:
    """Create (or check) this user's private Hail folder and return its path.

    Parameters
    ----------
    base
        The folder to put it in; :func:`tempfile.gettempdir` when ``None``.

    Returns
    -------
    str
        ``<base>/edfgen-hail-<uid>``, a folder owned by this user with mode ``0700``.

    Raises
    ------
    OutputError
        The path is a symbolic link, not a folder, or owned by another user: one line naming ``--tmp-dir``.
    """
    uid = _uid()
    path = os.path.join(base or tempfile.gettempdir(), f"edfgen-hail-{uid if uid is not None else 'user'}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise OutputError(f"{path}: cannot create Hail's temporary folder ({exc.strerror or exc}); give "
                          "--tmp-dir a folder of your own") from exc
    st = os.lstat(path)
    why = ("is a symbolic link" if stat.S_ISLNK(st.st_mode) else "is not a folder" if not stat.S_ISDIR(st.st_mode)
           else f"belongs to another user (uid {st.st_uid})" if uid is not None and st.st_uid != uid else None)
    if why:
        raise OutputError(f"{path}: Hail's temporary folder {why}, so edfgen will not write there; remove it or "
                          "give --tmp-dir a folder of your own")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)          # ours, but open to others (an earlier umask, a chmod): private again
    return path


@contextmanager
def scratch_tmp_dir(hl, prefix: str):
    """Hail's temporary folder moved, within the block, to a new sub-folder of it, removed afterwards.

    ``hl.king``, ``hl.ld_prune``, ``hl.maximal_independent_set`` and ``hl.hwe_normalized_pca`` checkpoint and
    persist tables in Hail's temporary folder and never remove them, nor did edfgen its own ``king``/``pca``
    checkpoints: each run left them in the (per-user, reused) folder (review s34e F2); ``hl.index_bgen`` leaves a
    file in the local temporary folder (s38). Everything Hail writes to its temporary folder (and to the local
    one, where it is the same folder, as in a local run) while the block runs goes to ``<tmp>/edfgen-<prefix>-<random>``, which is removed when
    the block ends (error or not); nothing else in the folder is touched. Collect what the block computes before
    it ends: a table read lazily from the sub-folder cannot be read after.

    Parameters
    ----------
    hl
        The ``hail`` module, started.
    prefix
        What the step is, in the sub-folder's name (``king``, ``pca``).

    Returns
    -------
    context manager
        Yields the sub-folder's path.
    """
    backend = hl.current_backend()
    parent, local = backend.remote_tmpdir, backend.local_tmpdir
    # the local temporary folder too where it is the same folder (edfgen's local runs): hl.index_bgen writes there
    same = local.removeprefix("file://").rstrip("/") == parent.removeprefix("file://").rstrip("/")
    with hl.TemporaryDirectory(prefix=f"edfgen-{prefix}-", dir=parent) as sub:
        try:    # (both set inside: a failed second one must not leave the first on the deleted sub-folder)
            backend.remote_tmpdir = sub
            if same:
                backend.local_tmpdir = sub if "://" in sub else f"file://{sub}"
            yield sub
        finally:
            backend.remote_tmpdir = parent
            if same:
                backend.local_tmpdir = local
