"""Which files under an output folder are edfgen's: those its manifest, complete or in progress, lists
(:func:`listed_outputs`), files or whole folders. :mod:`edfgen.formats.manifest` (which re-exports these) removes
only such files on ``--force`` and on a rerun, and refuses a planned output, or a folder it writes into, that holds
any other file (:func:`not_listed`): a user's file is never deleted."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

from edfgen.formats.atomic import is_temp_name
from edfgen.formats.lock import HIDDEN_NAMES

MANIFEST = "manifest.json"


def listed_outputs(manifest: dict[str, Any] | None, base: str | os.PathLike) -> list[Path]:
    """The paths (under ``base``) that a manifest, complete or in progress, lists as its outputs.

    Entries that would leave ``base`` (absolute, ``..``) are ignored: a manifest never makes
    edfgen touch a file outside the folder it describes."""
    base = Path(base).resolve()
    out = []
    for o in (manifest or {}).get("outputs", []) or []:
        if not isinstance(o, str) or not o.strip("/"):
            continue
        p = (base / o.rstrip("/")).resolve()
        if p != base and base in p.parents:
            out.append(p)
    return out


def unlisted_file(base: str | os.PathLike, *, name: str = MANIFEST) -> Path | None:
    """The first file under the folder ``base`` (in sorted order) that its manifest ``name``, complete or in
    progress, does not list as an output: a file edfgen did not write there. The manifest itself, the folder
    lock and edfgen temporary files (and what their folders hold) are not counted. ``None`` when every file
    is edfgen's, or ``base`` is no folder."""
    base = Path(base)
    if not base.is_dir():
        return None
    covered = set(listed_outputs(read_json(base / name), base))
    for f in sorted(base.rglob("*")):
        rel = f.relative_to(base)
        if (not f.is_file() or rel.as_posix() in (name, *HIDDEN_NAMES) or any(is_temp_name(p) for p in rel.parts)):
            continue
        r = f.resolve()
        if r not in covered and not any(c in r.parents for c in covered):
            return f
    return None


def subfolders(entries: Iterable[str]) -> list[str]:
    """The sub-folders (``"plots/"``) that the relative output names ``entries`` lie in or are (``"plots/"``)."""
    out = []
    for x in entries:
        rel = Path(x.rstrip("/"))
        out += [f"{p.as_posix()}/" for p in reversed(rel.parents) if p != Path(".")]
        out += [f"{rel.as_posix()}/"] if x.endswith("/") else []
    return out


def not_listed(path: Path, listed: Iterable[Path]) -> Path | None:
    """The first file at or under ``path`` that no entry of ``listed`` (files, or folders; resolved) covers.

    A caller that asks for many paths passes ``listed`` as a (frozen)set, built once: review s39, a set rebuilt for
    each of simulate's 10,000 planned records made a rerun's check grow with the square of the files."""
    if not path.exists():
        return None
    covered = listed if isinstance(listed, (set, frozenset)) else set(listed)
    files = [q for q in path.rglob("*") if q.is_file()] if path.is_dir() else [path]
    for f in files:
        r = f.resolve()
        if r not in covered and not any(c in r.parents for c in covered):
            return f
    return None


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path`` (a manifest), or ``None`` when it is absent, unreadable or no object."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None
