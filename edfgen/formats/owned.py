"""Which files under an output folder are edfgen's: those its manifest, complete or in progress, lists
(:func:`listed_outputs`). :mod:`edfgen.formats.manifest` (which re-exports these) removes only such files on
``--force`` and on a rerun, and refuses a planned output, or a folder it writes into, that holds any other file
(:func:`not_listed`): a user's file is never deleted.

Manifests list files one by one. An older edfgen listed some folders whole (gwas ``plots/`` and ``loco/``, clump
``regional/``, annotate ``<out>_regional/``, mr ``plots/``, ldsc ``ldscores/``, simulate ``ecg/`` and ``biobank/``), so
a user's file put there later looked like edfgen's and the first rerun or ``--force`` deleted it. Such a folder
now counts only some of its files as edfgen's (:func:`owned_files`): those the current run plans to write, and those
unchanged since that manifest was finished (status-change time, which no program can set back, no later than its
``finished`` second, or than the manifest file's own status-change time when that is later by at most
:data:`CLOCK_SKEW_S`: the file server's clock, which stamps the files, may run ahead of the machine's, which wrote
``finished``, on NFS or Lustre), they and every folder from the listed one down to them (moving a folder changes that folder's
time only: ``mv ~/notes plots/``, or ``rm -r plots && mv ~/myplots plots``); anything else in it may be a user's
file: refused in one line that says why (:func:`unowned_reason`), or kept.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any, Iterable

from edfgen.formats.atomic import is_temp_name
from edfgen.formats.lock import HIDDEN_NAMES, JUNK_NAMES, dead_writer_lock

MANIFEST = "manifest.json"

#: how much later than its ``finished`` stamp (this machine's clock) a manifest's own status-change time (the file
#: server's clock, as its files') may be and still stand for the time the run finished (module docstring)
CLOCK_SKEW_S = 600.0


class Anchor:
    """``path`` -> its folder resolved (links followed), its own name kept: one ``realpath`` per folder, not per
    file (review s40: a resolve per entry made each stage check of simulate's 10,000 listed records cost 0.5 s)."""

    def __init__(self) -> None:
        self._real: dict[str, str] = {}

    def __call__(self, path: str | os.PathLike) -> Path:
        parent, name = os.path.split(os.path.abspath(path))
        real = self._real.get(parent)
        if real is None:
            real = self._real[parent] = os.path.realpath(parent)
        return Path(real, name) if name else Path(real)


def anchored(path: str | os.PathLike) -> Path:
    """``path`` absolute, with the folder it lies in resolved (links followed) and its own name kept (a link is not
    followed to its target): the form in which :func:`listed_outputs` returns a manifest's outputs.

    Parameters
    ----------
    path
        A file or folder.

    Returns
    -------
    Path
        The anchored path.
    """
    return Anchor()(path)


def listed_outputs(manifest: dict[str, Any] | None, base: str | os.PathLike) -> list[Path]:
    """The paths (under ``base``, :func:`anchored`) that a manifest, complete or in progress, lists as its outputs.

    Entries that would leave ``base`` (absolute, ``..``, a folder linked elsewhere) are ignored: a manifest never
    makes edfgen touch a file outside the folder it describes."""
    return [p for _, p in _entries(manifest, base)]


def _entries(manifest: dict[str, Any] | None, base: str | os.PathLike) -> list[tuple[str, Path]]:
    """Each output entry of ``manifest`` as written, with its path (:func:`listed_outputs`' rule)."""
    root = os.path.realpath(base)
    prefix = root.rstrip(os.sep) + os.sep
    anchor, out = Anchor(), []
    for o in (manifest or {}).get("outputs", []) or []:
        if not isinstance(o, str) or not o.strip("/") or os.path.isabs(o):
            continue
        p = anchor(os.path.join(root, os.path.normpath(o.rstrip("/"))))
        if str(p).startswith(prefix) and str(p) != root:
            out.append((o, p))
    return out


def _finished_s(manifest: dict[str, Any] | None) -> float | None:
    """The manifest's ``finished`` time (seconds since the epoch), or ``None`` (in progress, unreadable)."""
    try:
        t = _dt.datetime.fromisoformat(str((manifest or {})["finished"]))
    except (KeyError, TypeError, ValueError):
        return None
    return (t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)).timestamp()


def owned_files(manifest: dict[str, Any] | None, base: str | os.PathLike, *,
                plan: Iterable[str | os.PathLike] = (), name: str = MANIFEST) -> frozenset[Path]:
    """The files under ``base`` that are edfgen's by its ``manifest`` (:func:`anchored`): each output it lists, and,
    under a folder it lists whole (an older edfgen's manifest: module docstring), each file that ``plan`` (absolute
    paths the current run is about to write) names or that has not changed since the manifest was finished: its
    ``st_ctime`` and that of every folder from the listed one down to it earlier than the second after ``finished``
    (or than the manifest file's own ``st_ctime``, module docstring) (a file moved, copied or linked in later, one changed since, one in a folder moved in or put in
    the listed folder's place, is not). An in-progress manifest's folder counts only the planned files.

    Parameters
    ----------
    manifest
        The parsed manifest (or ``None``).
    base
        The folder it describes.
    plan
        The files the current run writes (a rerun's planned outputs), absolute.
    name
        The manifest's file name in ``base`` (its own status-change time: module docstring).

    Returns
    -------
    frozenset of Path
        The files (and listed entries that are no folder) edfgen may replace or remove.
    """
    # a desktop's junk is never edfgen's, even listed (an older edfgen listed a Thumbs.db made during its run) or
    # unchanged since in a folder listed whole: never removed (s42filesfix #3)
    listed = [p for p in listed_outputs(manifest, base) if p.name not in JUNK_NAMES]
    folders = _folders(listed)
    if not folders:
        return frozenset(listed)
    anchor = Anchor()
    planned = {anchor(p) for p in plan}
    edfgens = _edfgens_time(manifest, base, name)
    owned = {p for p in listed if p not in folders}
    for d in folders:
        # a folder moved in keeps its files' times and changes its own only: each folder, the listed one included
        # (replaced: rm -r plots && mv ~/myplots plots), must be unchanged too (review of s40)
        unchanged: dict[str, bool] = {}
        for folder, dirs, files in os.walk(d):
            here = unchanged[folder] = unchanged.get(os.path.dirname(folder), True) and edfgens(_ctime(Path(folder)))
            for name in files + [x for x in dirs if os.path.islink(os.path.join(folder, x))]:
                f = Path(folder, name)
                if name not in JUNK_NAMES and (f in planned or (here and edfgens(_ctime(f)))):
                    owned.add(f)
    return frozenset(owned)


def _edfgens_time(manifest: dict[str, Any] | None, base: str | os.PathLike, name: str):
    """Whether a status-change time is one at which a file in a folder ``manifest`` lists whole is still edfgen's:
    before that run finished (:func:`_limit`), or, for a killed run, while it provably ran (:func:`_while_it_ran`)."""
    limit = _limit(manifest, base, name)
    lo, hi = _while_it_ran(manifest, base) if limit == float("-inf") else (float("inf"), float("-inf"))
    return lambda t: t < limit or lo <= t <= hi


def _while_it_ran(manifest: dict[str, Any] | None, base: str | os.PathLike) -> tuple[float, float]:
    """``(lo, hi)``: the status-change times at which the killed run of the in-progress ``manifest`` provably still
    ran (s41safe #2): from its ``started`` second to its lock's last heartbeat (:func:`dead_writer_lock`: the lock of
    ``base``, of a writer that is gone, of the same command, taken no later than ``started``: that run's, since a run
    takes over any earlier lock); an empty range without such a lock, or for a removal's manifest."""
    m = manifest or {}
    found = dead_writer_lock(base)
    if found is None or m.get("finished") is not None or (m.get("extra") or {}).get("removing"):
        return float("inf"), float("-inf")
    info, beat = found
    try:
        started = _dt.datetime.fromisoformat(str(m["started"]))
        since = info.get("since_s")     # seconds since the epoch; an older lock's local time else (another time zone)
        if not isinstance(since, (int, float)) or isinstance(since, bool):
            since = _dt.datetime.strptime(str(info["since"]), "%Y-%m-%dT%H:%M:%S").timestamp()
    except (KeyError, TypeError, ValueError):
        return float("inf"), float("-inf")
    started_s = (started if started.tzinfo else started.replace(tzinfo=_dt.timezone.utc)).timestamp()
    if info.get("command") != m.get("command") or since > started_s + 1:
        return float("inf"), float("-inf")
    return started_s, beat


def _folders(listed: Iterable[Path]) -> list[Path]:
    return [p for p in listed if p.is_dir() and not p.is_symlink()]


def _limit(manifest: dict[str, Any] | None, base: str | os.PathLike, name: str) -> float:
    """The status-change time before which a file in a folder ``manifest`` lists whole is unchanged since that run
    finished: ``finished`` + 1 s, or the manifest file's own ``st_ctime`` when later by at most :data:`CLOCK_SKEW_S`
    (second read s40 #4: the files' times come from the file server's clock) and the file still holds that manifest
    (not one rewritten since, as ``mark_in_progress`` does: its time is not the run's end); ``-inf`` for a run that
    did not finish."""
    finished = _finished_s(manifest)
    if finished is None:
        return float("-inf")
    own = _ctime(Path(base, name), follow=True)
    if not finished <= own <= finished + CLOCK_SKEW_S or (read_json(Path(base, name)) or {}).get("finished") != (
            manifest or {}).get("finished"):
        return finished + 1
    # strictly before the manifest's own time: Linux stamps files from a coarse clock (a few ms), so a change made
    # just after the manifest was written can carry its very time; on a file system with 1 s times ``finished`` + 1
    # covers the run's last second (a skewed server's last second is refused, never deleted: late review of s40)
    return max(finished + 1, own)


def _first(found: list[Path], manifest: dict[str, Any] | None, base: str | os.PathLike, name: str) -> Path | None:
    """The file of ``found`` a refusal names: in sorted order, but first one changed after the run of ``manifest``
    finished. A user's file put in a folder an older manifest lists whole changes that folder's time, so that its
    unchanged files stop counting as edfgen's too: the refusal named the first of those (an edfgen plot 'changed
    after that run finished'), not the user's file (second read s40 #3)."""
    if len(found) < 2 or not (folders := whole_folders(manifest, base)):
        return min(found, default=None)
    edfgens = _edfgens_time(manifest, base, name)
    return min(found, key=lambda f: (edfgens(_changed(f, folders)), f))


def _changed(f: Path, folders: list[Path]) -> float:
    """The latest status-change time of ``f`` and of the folders between it and the whole-listed folder holding it
    (that folder not counted: a change of it changes every file's standing): a folder moved in keeps its files'
    times (late review of s40)."""
    top = next((d for d in folders if d in f.parents), None)
    between = f.parents[:len(f.parents) - len(top.parents) - 1] if top is not None else ()
    return max([_ctime(f), *(_ctime(p) for p in between)])


def _ctime(f: Path, *, follow: bool = False) -> float:
    try:
        return (os.stat if follow else os.lstat)(f).st_ctime
    except OSError:
        return float("inf")


def whole_folders(manifest: dict[str, Any] | None, base: str | os.PathLike) -> list[Path]:
    """The folders (under ``base``) that ``manifest`` lists whole (an older edfgen's; module docstring).

    Parameters
    ----------
    manifest
        The parsed manifest (or ``None``).
    base
        The folder it describes.

    Returns
    -------
    list of Path
        The folders, :func:`anchored`.
    """
    return _folders(listed_outputs(manifest, base))


def unowned_reason(path: str | os.PathLike, manifest: dict[str, Any] | None, base: str | os.PathLike, *,
                   name: str = MANIFEST) -> str | None:
    """Why edfgen does not count ``path``, a file in a folder that ``manifest`` (an older edfgen's) lists whole, as
    its own (:func:`owned_files`), as the rest of a refusal's sentence after the file's name; ``None`` for a file in
    no such folder (then simply not listed: a user's file).

    Parameters
    ----------
    path
        The file refused.
    manifest
        The parsed manifest of ``base`` (or ``None``).
    base
        The folder it describes.
    name
        The manifest's file name, as the message names it.

    Returns
    -------
    str or None
        ``"is in plots/, which manifest.json (an older edfgen's) lists as a whole folder, and ...: check it, and
        move or delete it yourself"``, or ``None``.
    """
    a = anchored(path)
    whole = next((d for d in whole_folders(manifest, base) if d in a.parents), None)
    if whole is None:
        return None
    m = manifest or {}
    if _finished_s(m) is not None:
        why = (f"it or a folder above it changed after that run finished ({m.get('finished')}; moved or copied in, "
               "a chmod, a restore)")
    elif (m.get("extra") or {}).get("removing"):
        why = "an earlier removal of that run's outputs (--force, a rerun) kept it"
    else:
        why = f"that run did not finish (started {m.get('started', '?')})"
    folder = whole.relative_to(os.path.realpath(base)).as_posix()
    return (f"is in {folder}/, which {name} (an older edfgen's) lists as a whole folder, and {why}, so edfgen cannot "
            f"tell it is its own: check it, and move or delete it yourself (or move all of {folder}/ away if nothing "
            "in it is yours)")


def kept_by_force(manifest: dict[str, Any] | None, base: str | os.PathLike, owned: Iterable[Path],
                  planned: Iterable[str] = ()) -> set[Path]:
    """The files (and links) in the folders that ``manifest`` (an older edfgen's) lists whole which are not in
    ``owned`` (:func:`owned_files`): what ``--force`` keeps, untouched, instead of refusing
    (:func:`edfgen.formats.manifest.recording`), a Finder ``.DS_Store`` put there having made every file there
    unowned. None inside a folder the current run plans whole (``planned`` entry ``"plots/"``: it writes files there by
    names not known yet), which stays refused.

    Parameters
    ----------
    manifest
        The earlier run's parsed manifest (or ``None``).
    base
        The folder it describes.
    owned
        :func:`owned_files` of it, with the current run's plan.
    planned
        The current run's planned outputs (relative names).

    Returns
    -------
    set of Path
        The files kept.
    """
    root = os.path.realpath(base)
    planned_folders = [Path(root, x.rstrip("/")) for x in planned if x.endswith("/")]
    return {f for d in whole_folders(manifest, base) for f in _unowned(d, owned)
            if not any(f == p or p in f.parents for p in planned_folders)}


def kept_name_planned(manifest: dict[str, Any] | None, base: str | os.PathLike, plan: Iterable[str | os.PathLike],
                      kept: Iterable[Path] = (), *, name: str = MANIFEST) -> str | None:
    """The first file (or link) at or under a ``plan`` entry (absolute paths the current run writes) that lies in a
    folder ``manifest`` (an older edfgen's) lists whole (:func:`whole_folders`; of a run that did not finish, only one
    where ``--force`` keeps files, ``kept``: :func:`kept_by_force`, or of a run whose lock tells while it ran,
    :func:`_while_it_ran`; else such a folder's planned files are taken for the killed run's), and that itself, or a
    folder between it and that folder, changed after that run finished (:func:`owned_files` without the plan; that
    folder's own time, which a kept file changes, not counted): a user's file put there under a name the run writes
    (s41safefix #1: ``--force`` wrote over it; s41safefix2 #2: so did a plain rerun, and ``--force`` with nothing
    else kept, since :func:`owned_files` counts every planned name as edfgen's), as a refusal says it (its name under
    ``base`` and why: :func:`unowned_reason`); ``None`` when none.

    Parameters
    ----------
    manifest
        The earlier run's parsed manifest (or ``None``).
    base
        The folder it describes.
    plan
        The files the current run writes, absolute.
    kept
        :func:`kept_by_force` of it.
    name
        The manifest's file name in ``base``.

    Returns
    -------
    str or None
        ``"plots/x.png is in plots/, which ...: check it, and move or delete it yourself (this run writes that very
        name, and --force never writes over such a file)"``, or ``None``.
    """
    kept, whole = list(kept), whole_folders(manifest, base)
    done = _finished_s(manifest) is not None
    # a killed run whose lock tells while it ran: a planned file changed outside that time is not its own either
    # (s42files #3: a user's figure written over its plot in place, the folder's time unchanged, was written over)
    timed = not done and whole and (lambda lo, hi: lo <= hi)(*_while_it_ran(manifest, base))
    folders = [d for d in whole if done or timed or any(d in f.parents for f in kept)]
    if not folders:
        return None
    anchor, edfgens = Anchor(), _edfgens_time(manifest, base, name)
    found = [f for p in plan if any(d in (a := anchor(p)).parents for d in folders) and os.path.lexists(a)
             for f in _unowned(a, ())]
    if (taken := min((f for f in found if not edfgens(_changed(f, whole))), default=None)) is None:
        return None
    # a killed run's: it may be that run's last output, written after its last heartbeat (s42filesfix #5)
    last = ("; written after the killed run's last heartbeat, it may be that run's last output or a file of yours: "
            "move it away (delete it if it is not yours) and run again") if timed else ""
    return (f"{taken.relative_to(os.path.realpath(base))} {unowned_reason(taken, manifest, base, name=name)} (this run "
            f"writes that very name, and edfgen never writes over such a file, even with --force{last})")


def _unowned(path: Path, owned: Iterable[Path], skip=None, anchor=None) -> list[Path]:
    """The files (and links) at or under ``path`` (links not followed) that are not in ``owned``, unsorted; ``skip``
    (relative name parts under ``path`` -> bool) leaves some out. One ``realpath`` per folder (``anchor``: an
    :class:`Anchor` shared by a caller's many calls) and string keys: O(1) system calls per file (review s40: a
    resolve per file made each check of 10,000 records cost 0.5 s)."""
    if not path.is_dir() or path.is_symlink():
        owned = owned if isinstance(owned, (set, frozenset)) else set(owned)
        return [] if (anchor or Anchor())(path) in owned else [path]
    keys = {str(p) for p in owned}
    out = []
    for folder, dirs, files in os.walk(path):
        real = os.path.realpath(folder)
        rel = Path(folder).relative_to(path).parts
        for name in files + [x for x in dirs if os.path.islink(os.path.join(folder, x))]:
            if os.path.join(real, name) not in keys and not (skip and skip((*rel, name))):
                out.append(Path(folder, name))
    return out


def unlisted_file(base: str | os.PathLike, *, name: str = MANIFEST) -> Path | None:
    """The first file (or link to one) under the folder ``base`` (in sorted order, one changed after the run
    finished first: :func:`_first`) that is not edfgen's by its manifest ``name``, complete or in progress
    (:func:`owned_files`): a file edfgen did not write there. The manifest itself, the folder lock and edfgen
    temporary files (and what their folders hold) are not counted, nor a desktop's junk (:func:`junk`: kept, never
    edfgen's, never a reason to refuse). ``None`` when every file is edfgen's, or ``base`` is no folder."""
    base = Path(base)
    if not base.is_dir():
        return None
    ours, manifest = (name, *HIDDEN_NAMES), read_json(base / name)
    found = _unowned(base, owned_files(manifest, base, name=name),
                     skip=lambda parts: "/".join(parts) in ours or any(is_temp_name(x) for x in parts) or junk(parts))
    # files only (a link to one too): a link to a folder or a broken link is no one's output and never removed, so
    # no reason to refuse a stage (second read s40 #6: `data -> /tmp` in a stage folder, which a6ddc55 ran)
    return _first([f for f in found if f.is_file()], manifest, base, name)


def unlisted_file_said(base: str | os.PathLike, *, name: str = MANIFEST) -> str | None:
    """:func:`unlisted_file` as a refusal says it: its name under ``base`` and why it is not edfgen's
    (:func:`unowned_reason`, or not listed).

    Parameters
    ----------
    base
        The output folder.
    name
        Its manifest's file name.

    Returns
    -------
    str or None
        ``"notes.txt was not written by edfgen (not listed in its manifest.json); move it away"``, or ``None``.
    """
    found = unlisted_file(base, name=name)
    if found is None:
        return None
    why = unowned_reason(found, read_json(Path(base) / name), base, name=name)
    return f"{found.relative_to(base)} " + (why or f"was not written by edfgen (not listed in its {name}); move it away")


def folders_holding_files(manifest: dict[str, Any] | None, base: str | os.PathLike) -> list[str]:
    """The entries of ``manifest`` (relative names) that name a folder it lists whole (:func:`whole_folders`) still
    holding a file or link at any depth, a desktop's junk aside (:func:`junk`: no one's, it needs no manifest to be
    kept; s42files #4): after a removal, files edfgen could not tell are its own.

    Parameters
    ----------
    manifest
        The parsed manifest (or ``None``).
    base
        The folder it describes.

    Returns
    -------
    list of str
        The entries, as the manifest writes them (``"plots/"``).
    """
    held = {d for d in whole_folders(manifest, base) if any(
        any(not junk((x,)) for x in files) or any(os.path.islink(os.path.join(f, x)) for x in dirs)
        for f, dirs, files in os.walk(d))}
    return [o for o, p in _entries(manifest, base) if p in held]


def subfolders(entries: Iterable[str]) -> list[str]:
    """The sub-folders (``"plots/"``) that the relative output names ``entries`` lie in or are (``"plots/"``)."""
    out = []
    for x in entries:
        rel = Path(x.rstrip("/"))
        out += [f"{p.as_posix()}/" for p in reversed(rel.parents) if p != Path(".")]
        out += [f"{rel.as_posix()}/"] if x.endswith("/") else []
    return out


def junk(parts: tuple[str, ...]) -> bool:
    """Whether the file named by the relative name ``parts`` is a desktop's junk (:data:`~edfgen.formats.lock.JUNK_NAMES`:
    a Finder ``.DS_Store`` ...): no one's data, which no command writes, so never a reason to refuse a rerun or
    ``--force`` and never removed (s42files #4: a ``.DS_Store`` in ``plots/`` refused every ``gwas --force``).

    Parameters
    ----------
    parts
        The file's name parts (its own name last).

    Returns
    -------
    bool
        Whether its own name is one of :data:`~edfgen.formats.lock.JUNK_NAMES`.
    """
    return bool(parts) and parts[-1] in JUNK_NAMES


def not_listed(path: Path, owned: Iterable[Path], *, anchor: Anchor | None = None,
               manifest: dict[str, Any] | None = None, base: str | os.PathLike | None = None,
               name: str = MANIFEST, skip_junk: bool = False) -> Path | None:
    """The first file at or under ``path`` (links not followed) that is not in ``owned`` (:func:`owned_files` of
    ``manifest``, in ``base`` as ``name``: given, one changed after that run finished is named first); with
    ``skip_junk``, a desktop's junk under it (:func:`junk`) is not counted.

    A caller that asks for many paths passes ``owned`` as a (frozen)set, built once (review s39, a set rebuilt for
    each of simulate's 10,000 planned records made a rerun's check grow with the square of the files), and one
    ``anchor`` (:class:`Anchor`, resolving each folder once)."""
    if not (path.exists() or path.is_symlink()):
        return None
    found = _unowned(path, owned, anchor=anchor, skip=junk if skip_junk else None)
    return _first(found, manifest, base, name) if base is not None else min(found, default=None)


def more_there(first: Path, path: Path, owned: Iterable[Path], base: str | os.PathLike, *, shown: int = 3,
               skip_junk: bool = False) -> str:
    """The end of a refusal that names ``first``, the first file at or under ``path`` not in ``owned``
    (:func:`not_listed`): how many more such files are there and the first ``shown`` of them, so that one refusal
    names them all (s41safefix2 #3: files an earlier ``--force`` kept were refused one per try, 20 tries).

    Parameters
    ----------
    first
        The file the refusal names.
    path
        The planned output or folder checked.
    owned
        The files counted as edfgen's there.
    base
        The output folder the names are relative to.
    shown
        How many of the others to name.
    skip_junk
        Whether a desktop's junk (:func:`junk`) is left out, as :func:`not_listed` left it out.

    Returns
    -------
    str
        ``" (and 19 more such file(s) there: plots/b.png, plots/c.png, plots/d.png, ...)"``, or ``""``.
    """
    others = sorted(f for f in _unowned(path, owned, skip=junk if skip_junk else None) if f != first)
    if not others:
        return ""
    names = ", ".join(f.relative_to(base).as_posix() for f in others[:shown]) + (", ..." if len(others) > shown else "")
    return f" (and {len(others)} more such file(s) there: {names})"


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path`` (a manifest), or ``None`` when it is absent, unreadable or no object."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
