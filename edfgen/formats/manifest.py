"""Provenance: a ``manifest.json`` beside every output, and the one rule for telling inputs apart.

The manifest records the edfgen version, the command line, the parameters, a digest of every
input (:func:`input_digest`), the seed, start and end times, and the outputs written. A command whose
output is one file (``extract``, ``annotate``) writes ``<out>.manifest.json`` beside it instead, so
that several such outputs can share a folder.

Life cycle (:func:`recording`): when a command starts writing, it removes the outputs listed by the
earlier run's manifest of the same command (and nothing else: files edfgen did not write are kept;
a planned output name that is taken by such a file is refused with one line), then writes an
*in-progress* manifest (``finished: null``) listing the outputs it plans, and finally the complete
manifest, atomically. So a complete manifest marks a complete output, and after a crash the
in-progress manifest still says which files are edfgen's (``--force`` removes them, never others).

One rule for telling files apart (this module is its only place; nothing else hashes or stats an
input for identity):

=====================================  =============================================================
:func:`stat_key` ``(path)``            one file, no contents read: ``"size:mtime_ns:ctime_ns"``
:func:`stat_key_or_missing`            the same, ``"missing"`` for a file that cannot be stat'ed
:func:`fingerprint` ``(path, *,        one input (file, or folder: every file under it but manifests
content=False)``                       and temporary files, by relative name): sha256 hex over the
                                       :func:`stat_key` of each file, or with ``content=True`` over
                                       their bytes (:func:`sha256_file` for a single file)
:func:`input_digest` ``(path)``        the provenance rule of manifests and the pipeline's stage keys:
                                       ``fingerprint(content=True)`` of inputs of at most
                                       :data:`SMALL_INPUT_BYTES`, else ``"stat:" + fingerprint()``;
                                       :data:`STREAM` for a FIFO or pipe (:func:`is_stream`)
=====================================  =============================================================

Manifests, the pipeline's stage keys and ``extract``'s per-record resume (:func:`stat_key` of each
file of a record) use these functions. Two neighbours keep their own narrower rule: the genotype
readers name their caches (BGEN metafile, tabix index, Hail import) by
:func:`edfgen.formats.genotypes.base.stat_id` (path, size, modification time and a digest of the first and
last MiB: a file replaced with its time restored is caught, a chmod or move does not throw a cache away), and an
LD panel is recorded by :func:`edfgen.formats.genotypes.panel.panel_fingerprint` (small files as inputs, genotype
bytes by size).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import logging
import os
import platform
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from edfgen import __version__
from edfgen.exceptions import ENVIRONMENT_ERRNOS, InputError, OutputError, environment_error
from edfgen.formats.atomic import atomic_write, clean_temp_files, is_temp_name
from edfgen.formats.jsonsafe import finite_json   # re-exported: callers import it from here
from edfgen.formats.lock import HIDDEN_NAMES, JUNK_NAMES, folder_lock, own_run_began
from edfgen.formats.owned import (MANIFEST, Anchor, anchored, folders_holding_files, listed_outputs,  # noqa: F401
                                  owned_files, unlisted_file, unlisted_file_said, unowned_reason)  # (re-exported)
from edfgen.formats.owned import (kept_by_force, kept_name_planned, more_there, not_listed as _not_listed,
                                  read_json as _read_json, subfolders as _subfolders, whole_folders as _whole_folders)
from edfgen.formats.removable import first_unremovable, unremovable_reason, warn_protected
from edfgen.formats.recorded import PATH_PARAMETERS, package_versions, resolved_path  # noqa: F401  (re-exported)

_CHUNK = 1 << 20

log = logging.getLogger(__name__)


#: digests of the current :func:`memoised_digests` block, keyed by (absolute path, :func:`stat_key`)
_DIGESTS: dict[tuple[str, str], str] | None = None


@contextlib.contextmanager
def memoised_digests() -> Iterator[None]:
    """Within the block, :func:`sha256_file` hashes each file once: ``edfgen run`` asks for the same
    inputs' digests for its stage keys and for every stage's manifest. Entries are keyed by the
    file's absolute path and :func:`stat_key`, so a file rewritten inside the block is hashed again."""
    global _DIGESTS
    outer, _DIGESTS = _DIGESTS, ({} if _DIGESTS is None else _DIGESTS)
    try:
        yield
    finally:
        _DIGESTS = outer


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of the bytes of one file, read in 1 MiB chunks (``fingerprint(path, content=True)``
    of a file; also the ``sha256`` that checkpoints and ``annotate`` record); memoised inside
    :func:`memoised_digests`."""
    memo = _DIGESTS
    key = (os.path.abspath(path), stat_key(path)) if memo is not None else None
    if key is not None and key in memo:
        return memo[key]
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    if key is not None:
        memo[key] = h.hexdigest()
    return h.hexdigest()


#: inputs up to this many bytes (a file, or all files of a directory) are told apart by content
SMALL_INPUT_BYTES = 64 << 20


def _input_files(p: Path) -> list[Path]:
    """The files of an input: itself, or every file under a directory but manifests, lock and temporary files."""
    if not p.is_dir():
        return [p]
    return sorted(q for q in p.rglob("*") if q.is_file() and q.name not in (MANIFEST, *HIDDEN_NAMES)
                  and not q.name.endswith(f".{MANIFEST}") and not is_temp_name(q.name))


def stat_key(path: str | os.PathLike, *, ctime: bool = True) -> str:
    """The stat fingerprint of one file: size, modification and (``ctime``) status-change times (ns).

    The change time (``st_ctime_ns``) cannot be set by programs, so an input replaced by a copy that
    keeps the original's modification time (``cp -p``, ``rsync -t``) still gets a new key. It also
    moves on a ``chmod`` or an in-place restore, so edfgen's own outputs are keyed without it
    (``ctime=False``: size and modification time)."""
    st = os.stat(path)
    return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}" if ctime else f"{st.st_size}:{st.st_mtime_ns}"


def stat_key_or_missing(path: str | os.PathLike, *, ctime: bool = True) -> str:
    """:func:`stat_key`, or ``"missing"`` for a file that cannot be stat'ed (gone, an unreadable folder, a name with a
    NUL byte: a TOML ``"\\u0000"``), as the resume keys of ``extract`` and ``pretrain`` take each record's files."""
    try:
        return stat_key(path, ctime=ctime)
    except (OSError, ValueError):
        return "missing"


def fingerprint(path: str | os.PathLike, *, content: bool = False, ctime: bool = True) -> str:
    """The identity of one input, a file or a directory (every file under it, by relative name,
    except manifests and edfgen temporary files): a hex sha256.

    Parameters
    ----------
    path
        A file or a directory.
    content
        ``False`` (default): a cheap change detector over (name, :func:`stat_key`) of each file;
        no contents are read, so checking whether a stage is up to date stays instant on
        biobank-sized inputs (like ``make``, it trusts stat). ``True``: over the bytes, i.e.
        :func:`sha256_file` of a file, or the sha256 of a directory's sorted
        ``(relative name, sha256_file)`` list.
    ctime
        With ``content=False``: whether the change times count (:func:`stat_key`); ``False`` for edfgen's own
        outputs, which a ``chmod`` or a restore in place leaves as they were.
    """
    p = Path(path)
    return _fingerprint(p, _input_files(p), content=content, ctime=ctime)


def _fingerprint(p: Path, files: list[Path], *, content: bool, ctime: bool = True) -> str:
    """:func:`fingerprint` of ``p`` whose files (:func:`_input_files`) the caller already listed."""
    if content:
        if not p.is_dir():
            return sha256_file(p)
        h = hashlib.sha256()
        for f in files:
            h.update(f"{f.relative_to(p)}\0{sha256_file(f)}\n".encode())
        return h.hexdigest()
    h, folder = hashlib.sha256(), len(files) != 1 or files[0] != p    # (one stat for the whole, not one per file)
    for f in files:
        h.update(f"{f.relative_to(p) if folder else f.name}\0{stat_key(f, ctime=ctime)}\n".encode())
    return h.hexdigest()


#: :func:`input_digest` of a stream (:func:`is_stream`), read once by the command: a run that read one is never
#: taken as unchanged (``edfgen run`` reruns its stage; ``edfgen.formats.loco_check.manifest_differences`` cannot match it)
STREAM = "stream"


def is_stream(path: str | os.PathLike) -> bool:
    """Whether ``path`` (links followed) is neither a regular file nor a folder: a FIFO, a pipe (``cat x |`` into
    ``/dev/stdin``, ``<(...)``), a device. Opened again to be hashed it waits for a writer or reads nothing."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def input_digest(path: str | os.PathLike, *, ctime: bool = True) -> str:
    """The one provenance rule: ``fingerprint(path, content=True)`` of an input of at most
    :data:`SMALL_INPUT_BYTES` (file or directory), else ``"stat:" + fingerprint(path)``;
    ``"absent"`` for a path that does not exist; :data:`STREAM` for a FIFO or pipe (:func:`is_stream`; never
    opened again). ``ctime=False``: a large input's change times do not count
    (``edfgen run`` for the outputs of its own earlier stages, which a ``chmod -R`` leaves as they were)."""
    p = Path(path)
    if not p.exists():
        return "absent"
    if is_stream(p):
        return STREAM
    files = _input_files(p)      # walked once for the size test and the digest
    if sum(f.stat().st_size for f in files) <= SMALL_INPUT_BYTES:
        return _fingerprint(p, files, content=True)
    return "stat:" + _fingerprint(p, files, content=False, ctime=ctime)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class Manifest:
    """An output directory's provenance record (see module docstring)."""

    command: str
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    seed: int | None = None
    started: str = field(default_factory=_now)
    finished: str | None = None
    outputs: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    edfgen_version: str = __version__
    command_line: list[str] = field(default_factory=lambda: list(sys.argv))   # as typed
    python: str = field(default_factory=platform.python_version)
    working_directory: str = field(default_factory=os.getcwd)

    def __post_init__(self) -> None:
        # paths as typed are relative to the working directory: recorded absolute for whoever reads them later
        # (also one level down, whatever the key: gwas records its genotype options under ``parameters.genotypes``,
        # clump a filtered --ld-bfile under ``ld_bfile``; a dict is looked inside before its key is taken for a
        # path option, review s40user F3)
        def resolved(params: dict) -> dict:
            return {k: {k2: resolved_path(v2) if k2 in PATH_PARAMETERS else v2 for k2, v2 in v.items()}
                    if isinstance(v, dict)
                    else (os.path.abspath(v) if k == "out" and isinstance(v, str) and v and "://" not in v
                          else resolved_path(v)) if k in PATH_PARAMETERS else v
                    for k, v in params.items()}

        self.parameters = resolved(self.parameters)

    def add_inputs(self, paths: Iterable[str | os.PathLike | None]) -> None:
        """Record the :func:`input_digest` of each existing input path (files and directories), by its
        absolute path (a FIFO or pipe as :data:`STREAM`)."""
        for p in (Path(x) for x in paths if x is not None):
            if p.exists():
                try:
                    self.inputs[os.path.abspath(p)] = input_digest(p)
                except OSError as exc:           # review s33a F1: one line, before any earlier output is removed
                    raise InputError(f"{exc.filename or p}: cannot be read ({exc.strerror or exc})") from exc

    def to_dict(self) -> dict[str, Any]:
        return finite_json({
            "edfgen_version": self.edfgen_version, "command": self.command,
            "command_line": self.command_line, "parameters": self.parameters,
            "inputs": self.inputs, "seed": self.seed, "started": self.started,
            "finished": self.finished, "outputs": sorted(self.outputs), "python": self.python,
            "packages": package_versions(), "working_directory": self.working_directory,
            **({"extra": self.extra} if self.extra else {}),
        })

    def write(self, out_dir: str | os.PathLike, *, name: str = MANIFEST,
              exclude: dict[str, tuple[int, int]] | None = None) -> Path:
        """Write the manifest ``name`` atomically into ``out_dir`` (sets ``finished``).

        Without explicit ``outputs``, every non-hidden file under ``out_dir`` is listed except
        those in ``exclude`` (relative name -> (size, mtime_ns) when the command started) that are
        unchanged: files the command found there and kept are not claimed as its outputs."""
        out_dir = Path(out_dir)
        self.finished = _now()
        if not self.outputs:
            self.outputs = _files_written(out_dir, exclude or {})
        _write_json(out_dir / name, self.to_dict())
        return out_dir / name


def _snapshot(out_dir: Path) -> dict[str, tuple[int, int]]:
    """relative name -> (size, mtime_ns) of every file under ``out_dir``."""
    snap = {}
    for q in out_dir.rglob("*"):
        if q.is_file():
            st = q.stat()
            snap[q.relative_to(out_dir).as_posix()] = (st.st_size, st.st_mtime_ns)
    return snap


def _files_written(out_dir: Path, before: dict[str, tuple[int, int]]) -> list[str]:
    now = _snapshot(out_dir)
    return sorted(k for k, v in now.items() if not Path(k).name.startswith(".") and not is_temp_name(k)
                  and Path(k).name not in (MANIFEST, *JUNK_NAMES) and before.get(k) != v)  # (s42filesfix #3)


def mark_in_progress(path: str | os.PathLike, manifest: dict[str, Any] | None = None, **extra: Any) -> None:
    """Rewrite the finished manifest at ``path`` (atomically) as in progress, with ``extra`` noted: what it lists is
    about to change (outputs removed, a run rerunning its stages), so readers see it as incomplete
    (:func:`read_manifest` ``complete=True``, :func:`check_upstream`). Nothing happens to a manifest that is
    absent or already in progress."""
    m = manifest if manifest is not None else _read_json(Path(path))
    if m is None or not m.get("finished"):
        return
    _write_json(Path(path), {**m, "finished": None, "extra": {**(m.get("extra") or {}), "in_progress": True, **extra}})


def remove_outputs(base: str | os.PathLike, *, command: str | None = None, name: str = MANIFEST,
                   option: str = "--out", plan: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Remove what the manifest ``base/name`` lists as its outputs, then the manifest itself, and
    the folders left empty by that; every other file is kept. This is what ``--force`` and the
    pipeline's rerun of a stage do to an earlier run's output. A folder that an older edfgen's manifest lists whole
    loses only the files :func:`~edfgen.formats.owned.owned_files` counts as edfgen's (``plan``: the files the
    current run writes, absolute), never a user's file put there; while it still holds files, the manifest stays (in
    progress, listing only such folders) so that they are not left no one's.

    Raises
    ------
    InputError
        The manifest belongs to another command than ``command``.
    OutputError
        One of the listed outputs may not be removed (:func:`~edfgen.formats.removable.first_unremovable`: a
        permission, an immutable or append-only flag); nothing was removed.
    """
    base = Path(base)
    mpath = base / name
    m = _read_json(mpath)
    if m is None:
        return []
    if command and m.get("command") != command:
        raise InputError(f"{option} {base}: {mpath.name} belongs to '{m.get('command')}', not '{command}'; "
                         f"give this command a place of its own")
    doomed = sorted(owned_files(m, base, plan=plan, name=name))
    if (blocked := first_unremovable(doomed)) is not None:   # review s33a F3: before any removal
        raise OutputError(f"{option} {base}: cannot remove {blocked} ({unremovable_reason(blocked)}); nothing was "
                          "removed")
    removed = []
    root = Path(os.path.realpath(base))
    # marked in progress before anything is deleted: a removal killed halfway leaves a manifest that says its outputs
    # are incomplete, not a complete one listing deleted files (read downstream as a whole GWAS missing phenotypes)
    mark_in_progress(mpath, m, removing=True)
    warn_protected(doomed)
    folders = _whole_folders(m, base)
    for p in doomed:
        if not (p.exists() or p.is_symlink()):
            continue
        p.unlink()
        removed.append(p)
        remove_empty_parents(p, root)
    for d in folders:   # an older manifest's whole folder goes when left empty (a user's empty sub-folder stays)
        with contextlib.suppress(OSError):
            d.rmdir()
    # files edfgen could not tell are its own (unowned_reason) keep the manifest, in progress and listing only their
    # folders: without it they would be no one's (review of s40)
    if kept := folders_holding_files(m, base):
        _write_json(mpath, {**(_read_json(mpath) or m), "outputs": kept})
    else:
        mpath.unlink(missing_ok=True)
    return removed


def check_not_inputs(outputs: Iterable[str | os.PathLike], inputs: Iterable[str | os.PathLike | None],
                     *, option: str = "--out") -> None:
    """Raise :class:`~edfgen.exceptions.InputError` if an output path is one of the inputs or a folder
    holding one (no command writes over its own input)."""
    ins = {Path(i).resolve(): i for i in inputs if i is not None and Path(i).exists()}
    for o in outputs if ins else ():       # (no input: no resolve of simulate's 10,000 planned files, review s40)
        r = Path(o).resolve()
        if r in ins:
            raise InputError(f"{option} {o}: is also an input of this command ({ins[r]}); write the output elsewhere")
        hit = next((i for i in ins if r in i.parents), None)
        if hit is not None:
            raise InputError(f"{option} {o}: holds an input of this command ({ins[hit]}); write the output elsewhere")


@contextlib.contextmanager
def recording(out_dir: str | os.PathLike, command: str, *, parameters: dict[str, Any] | None = None,
              inputs: Iterable[str | os.PathLike | None] = (), seed: int | None = None,
              planned: Iterable[str] = (), name: str = MANIFEST, option: str = "--out",
              replace: bool = True, folders: Iterable[str] = (), force: bool = False) -> Iterator[Manifest]:
    """Context manager around the writing of a command's outputs into ``out_dir`` (module docstring).

    On entry: create ``out_dir``, take its write lock (:func:`edfgen.formats.lock.folder_lock`, held
    until the complete manifest is written; a folder another live command writes is refused), remove
    stale temporary files, remove the outputs listed by the
    earlier manifest ``name`` of the same ``command`` (others are kept), refuse a ``planned`` output
    name (relative; ``"plots/"`` for a folder) that is taken by a file edfgen did not write or that
    is an input, refuse a sub-folder of a planned output (``"plots/x.png"``: ``plots/``) or of ``folders`` that holds
    such a file (and, replacing, a folder the earlier manifest lists whole that holds a file edfgen cannot tell is its
    own: :func:`~edfgen.formats.owned.unowned_reason`), and write an in-progress manifest listing ``planned``. A
    folder whose files are known only later (``folders``: clump's ``regional/``) is not listed as a whole: the command
    names each file with :func:`plan_outputs` before writing it, so that a rerun after a kill removes those and never a
    user's file put there meanwhile. Yields a :class:`Manifest`, written complete only if the block succeeds. On
    failure the in-progress manifest stays only while a planned output exists (so ``--force`` can remove it later),
    and a folder this call created is removed when left empty. A failure of the environment (disk full, read-only,
    permission: :class:`~edfgen.exceptions.OutputError`) removes the outputs this run wrote and its manifest, so that
    a plain rerun works once the cause is fixed. ``replace=False`` (a run that continues the earlier one, e.g.
    ``pretrain --resume``) keeps the earlier outputs and only drops the earlier manifest. ``force`` (``--force``) keeps
    the files of an older manifest's whole folder it cannot tell are its own (:func:`~edfgen.formats.owned.kept_by_force`)
    with one warning, instead of refusing them; a name it writes taken by a file changed since that run is refused
    (:func:`plan_outputs`, :func:`~edfgen.formats.owned.kept_name_planned`), with or without ``force``."""
    out_dir = Path(out_dir)
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = list(inputs)
    planned = [str(x) for x in planned]
    lock = contextlib.ExitStack()         # a folder output: one writer at a time (edfgen.formats.lock)
    try:
        if name == MANIFEST:
            lock.enter_context(folder_lock(out_dir, command, option=option))
        clean_temp_files(out_dir, recursive=name == MANIFEST)
        check_not_inputs([out_dir / x for x in planned], inputs, option=option)
        previous = _read_json(out_dir / name)
        if previous is not None and previous.get("command") != command:
            raise InputError(f"{option} {out_dir}: {name} belongs to '{previous.get('command')}', not '{command}'; "
                             f"give this command a place of its own")
        # edfgen's own files (kept with replace=False, yet its own), built once (simulate plans one file per record);
        # in a folder an older manifest lists whole, only those planned again or unchanged since (review s40)
        plan = [out_dir / x.rstrip("/") for x in planned]
        covered = owned_files(previous, out_dir, plan=plan, name=name)
        # checked before anything is removed: each planned output, the sub-folders it writes into (s39) and, replacing,
        # each folder the earlier manifest lists whole (what edfgen cannot tell is its own stays: s40 #2); only --force
        # goes on, keeping them (s41safe #1); junk (.DS_Store) under a folder entry not listed whole is skipped (s42files(fix) #4/#1)
        anchor, root = Anchor(), os.path.realpath(out_dir)
        whole = [str(d.relative_to(root)) for d in _whole_folders(previous, out_dir)] if replace else []
        left = kept_by_force(previous, out_dir, covered, planned) if force and replace and whole else set()
        for x in dict.fromkeys([*planned, *_subfolders([*planned, *folders]), *whole]):
            foreign = _not_listed(out_dir / x.rstrip("/"), covered | left, anchor=anchor, manifest=previous,
                                  base=out_dir, name=name, skip_junk=(skip := x.endswith("/") and x[:-1] not in whole))
            if foreign:     # (naming how many more are there: s41safefix2 #3, one per try after a --force kept some)
                why = unowned_reason(foreign, previous, out_dir, name=name)   # (an old whole folder: "move all")
                more = "" if why else more_there(foreign, out_dir / x.rstrip("/"), covered | left, out_dir, skip_junk=skip)
                raise InputError(f"{option} {out_dir}: {foreign.relative_to(out_dir)}{more} " + (
                    f"{why}, or choose another {option}" if why else f"exists and was not written by an earlier "
                    f"'{command}' (not listed in its {name}); move it away or choose another {option}"))
        if whole and (taken := kept_name_planned(previous, out_dir, plan, left, name=name)):  # s41safefix(2) #1/#2
            raise InputError(f"{option} {out_dir}: {taken}, or choose another {option}")
        if left:
            first = min(left, key=lambda f: (f.name.startswith("."), f)).relative_to(root)
            log.warning("%s %s: --force kept %d file(s) edfgen cannot tell are its own in the folder(s) %s lists whole "
                        "(an older edfgen's), such as %s: left as they are, no longer edfgen's; check them and move or "
                        "delete them yourself", option, out_dir, len(left), name, first)
        m = Manifest(command=command, parameters=dict(parameters or {}), seed=seed)
        m.add_inputs(inputs)                     # read before anything is removed: an unreadable input keeps them
        if replace:
            remove_outputs(out_dir, command=command, name=name, option=option, plan=plan)
        else:
            (out_dir / name).unlink(missing_ok=True)
        progress_m = Manifest(command=command, seed=seed, outputs=planned, extra={"in_progress": True})
        _write_json(out_dir / name, progress_m.to_dict())
        own_run_began(out_dir)   # (a try refused before this puts a killed run's lock it took back: s42filesfix #2)
        before = _snapshot(out_dir) if name == MANIFEST else {}
    except BaseException:
        lock.__exit__(*sys.exc_info())      # (the refusal reaches folder_lock: s42filesfix #2)
        if created:
            _remove_if_empty(out_dir)
        raise
    try:
        yield m
    except BaseException as exc:
        environment = isinstance(exc, OutputError) or (isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS)
        if environment and replace:   # disk full, read-only...: drop this run's outputs, so a plain rerun works
            with contextlib.suppress(OSError, InputError, OutputError):
                remove_outputs(out_dir, command=command, name=name, option=option)
        # planned, and what plan_outputs added (ldsc's ldscores/ files, written before h2.tsv): a manifest dropped
        # while they exist left edfgen's own files unlisted, refused as a user's by the rerun and --force
        ours = [out_dir / x.rstrip("/") for x in planned] + listed_outputs(_read_json(out_dir / name), out_dir)
        if not any(p.exists() for p in ours):
            (out_dir / name).unlink(missing_ok=True)
        lock.close()
        if created:
            _remove_if_empty(out_dir)
        if environment and not isinstance(exc, OutputError):
            raise environment_error(exc, exc.filename or out_dir) from exc
        raise
    with lock:
        m.write(out_dir, name=name, exclude=before)


def plan_outputs(out_dir: str | os.PathLike, outputs: Iterable[str], *, name: str = MANIFEST) -> None:
    """Add ``outputs`` (relative names) to the in-progress manifest ``out_dir/name`` that
    :func:`recording` wrote, atomically, before the command writes them: files named only once the work
    has begun (clump's regional plots, once its loci are known). A manifest that is absent or finished is
    left as it is.

    Parameters
    ----------
    out_dir : str or PathLike
        The folder :func:`recording` writes.
    outputs : iterable of str
        The files about to be written, relative to ``out_dir``.
    name : str
        The manifest's file name.

    Returns
    -------
    None
    """
    path = Path(out_dir) / name
    m = _read_json(path)
    if m is None or m.get("finished"):
        return
    outputs, listed = [str(x) for x in outputs], set(listed_outputs(m, out_dir))
    # a name taken by a file this run's manifest does not list (one --force kept: recording) is never written over
    if (taken := next((x for x in outputs if os.path.lexists(Path(out_dir) / x) and anchored(Path(out_dir) / x)
                       not in listed), None)) is not None:
        raise InputError(f"--out {out_dir}: {taken} exists and was not written by this run (not listed in its {name}); "
                         "move it away and run the command again")
    _write_json(path, {**m, "outputs": list(dict.fromkeys([*(m.get("outputs") or []), *outputs]))})


def remove_empty_parents(path: Path, root: Path) -> None:
    """Remove the folders above ``path`` that it leaves empty, up to (not including) ``root``."""
    parent = path.parent
    while parent != root and root in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            return
        parent = parent.parent


def _remove_if_empty(d: Path) -> None:
    with contextlib.suppress(OSError):
        d.rmdir()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    with atomic_write(path) as fh:
        json.dump(finite_json(data), fh, indent=2, allow_nan=False)
        fh.write("\n")


def check_upstream(paths: Iterable[str | os.PathLike | None], *, option: str, allow_incomplete: bool = False,
                   reads_sub_folders: Callable[[Path], bool] | None = None) -> None:
    """Refuse an input written by an edfgen command that did not finish: a folder whose
    ``manifest.json`` is still in progress (the command was killed: some of its files are missing),
    or a file whose ``<file>.manifest.json``, or whose folder's in-progress ``manifest.json`` listing
    it, says so. Glob patterns are checked through the files they match; a folder without a manifest through its
    sub-folders too when ``reads_sub_folders(folder)`` says the command reads them (None: always; the sumstats
    commands pass :func:`edfgen.formats.sumstats.discovery.reads_sub_folders` with their file test: one
    ``gwas --chr N`` run per folder, review rev34 #2). Inputs without a manifest (not written by edfgen) pass.
    ``allow_incomplete`` turns the refusal into a warning.

    Raises
    ------
    InputError
        One line naming the input, the command that did not finish and ``--allow-incomplete``.
    """
    import glob
    import logging

    for p in paths:
        if p is None:
            continue
        p = Path(p)
        targets = [p] if p.exists() else [Path(f) for f in sorted(glob.glob(str(p)))]
        if p.is_dir() and not (p / MANIFEST).exists() and (reads_sub_folders is None or reads_sub_folders(p)):
            targets += sorted(d for d in p.iterdir() if d.is_dir() and not d.name.startswith("."))
        for t in targets:
            where, m = _describing_manifest(t)
            if m is None or m.get("finished"):
                continue
            msg = (f"{option} {p}: '{m.get('command', 'edfgen')}' did not finish writing "
                   f"{'it' if t == p else t} ({where} is still in progress, started {m.get('started', '?')}: "
                   "the command was stopped and some outputs may be missing)")
            if not allow_incomplete:
                raise InputError(f"{msg}; rerun that command, or pass --allow-incomplete to use what it wrote")
            logging.getLogger(__name__).warning("%s; used as it is (--allow-incomplete)", msg)


def _describing_manifest(p: Path) -> tuple[Path | None, dict[str, Any] | None]:
    """The manifest that describes input ``p`` and its content: a folder's own, a file's
    ``<file>.manifest.json``, or its folder's ``manifest.json`` when that lists the file."""
    if p.is_dir():
        return p / MANIFEST, _read_json(p / MANIFEST)
    side = Path(f"{p}.manifest.json")
    if side.exists():
        return side, _read_json(side)
    m = _read_json(p.parent / MANIFEST)
    if m is not None and anchored(p) in listed_outputs(m, p.parent):
        return p.parent / MANIFEST, m
    return None, None


def recorded_parameter(path: str | os.PathLike, key: str) -> tuple[Any, str | None]:
    """The parameter ``key`` of the edfgen manifest that describes the file ``path`` (its own
    ``<file>.manifest.json``, or its folder's ``manifest.json`` when that lists it), and that manifest's command;
    ``(None, None)`` without one."""
    _, m = _describing_manifest(Path(path))
    if m is None:
        return None, None
    return (m.get("parameters") or {}).get(key), m.get("command")


def read_manifest(out_dir: str | os.PathLike, *, name: str = MANIFEST,
                  complete: bool = False) -> dict[str, Any] | None:
    """The parsed manifest ``name`` of ``out_dir``, or ``None`` if absent or unreadable (or, with
    ``complete``, still in progress: its command was interrupted)."""
    m = _read_json(Path(out_dir) / name)
    if m is not None and complete and not m.get("finished"):
        return None
    return m

