"""The durable chunks of ``edfgen extract`` (``<out>.parts/``): what a killed run has done, and the resume key.

What this module knows: the layout of ``<out>.parts/`` and when its contents may be reused.

* ``state.json`` holds the resume key (:func:`resume_state`): the checkpoint's weights sha256, its **full
  model config** (a config edited between a kill and the rerun changes the EDFs without changing the
  weights), the preprocessing, the quality thresholds and ``--fs``. Parts written under another key
  are discarded as a whole.
* ``chunk_NNNNNN.npz`` holds, per chunk of records, the EDF rows, rejects and notes of the accepted records
  (``<out>.notes.tsv``) with each record's input fingerprint (:func:`record_fingerprints`); a record is done only while its files are unchanged.

Chunks are written atomically (:func:`edfgen.formats.tables.atomic_write`); a chunk or state file that
cannot be read (a disk that lost it) makes the run start afresh instead of failing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from edfgen.exceptions import InputError
from edfgen.formats.ecg.records import RecordRef
from edfgen.formats.ecg.wfdb_header import header_files
from edfgen.formats.manifest import stat_key_or_missing
from edfgen.formats.tables import atomic_write, clean_temp_files, is_temp_name

log = logging.getLogger(__name__)

#: 2: each record's input fingerprint is stored beside its EDF (resume by fingerprint);
#: 3: the resume key holds the full model config of the checkpoint
#: 4: a record's quality is judged on the window used and an all-missing lead is zeroed like a flat one
#: (stop 29): chunks of format 3 may hold records rejected under the older rules, so they are not reused
#: 5: a WFDB record's fingerprint covers every file its header names (signal files under other names, the segments
#: of a multi-segment record; review s30g): a format-4 key missed them, so its chunks are not reused
#: 6: the notes of the accepted records are kept beside their EDFs (``<out>.notes.tsv`` lists resumed records too;
#: review s32g)
#: 7: records with spikes injected alike on every lead are rejected and chest leads out of order noted (session
#: 37): chunks of format 6 may hold records rejected, or notes missing, under the new rules (review rev37e F6)
PARTS_FORMAT = 7


def parts_dir(out: Path) -> Path:
    """``<out>.parts``: the chunks of an unfinished extract into ``out``."""
    return out.with_name(out.name + ".parts")


def own_file(path: str, parts: Path) -> bool:
    """True for files that extract itself writes (chunks, temporary files): never read as ECGs.

    ``os.path.realpath``, not ``Path.resolve``: a symbolic link loop in the folder (a reject row of its own) must
    not raise here."""
    p = Path(path)
    return is_temp_name(p.name) or Path(os.path.realpath(parts)) in Path(os.path.realpath(p)).parents


#: the files extract writes in ``<out>.parts/`` (besides its temporary files): nothing else there is removed
_OWN_NAME = re.compile(r"state\.json|chunk_\d{6}\.npz")


def _own_entry(entry: os.DirEntry) -> bool:
    return is_temp_name(entry.name) or (_OWN_NAME.fullmatch(entry.name) is not None
                                        and entry.is_file(follow_symlinks=False))


def _read_state(parts: Path) -> dict | None:
    """The resume key in ``parts/state.json`` (a JSON object with its ``format``), or ``None``."""
    try:
        state = json.loads((parts / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and "format" in state else None


def check_parts(out: Path) -> None:
    """Refuse, before any work, a ``<out>.parts`` that edfgen extract did not write: a symbolic link, a file, or a
    folder holding anything but its own files (``state.json``, ``chunk_NNNNNN.npz``, temporary files) or chunks
    without its ``state.json``. Only such a folder of its own is ever resumed from or removed, ``--force`` or not.

    Raises
    ------
    InputError
        One line naming the folder (and what it holds that is not edfgen's).
    """
    parts = parts_dir(out)
    if parts.is_symlink() or (parts.exists() and not parts.is_dir()):
        kind = "a symbolic link" if parts.is_symlink() else "a file"
        raise InputError(f"--out {out}: {parts} is {kind}, not the folder of partial results edfgen extract writes; "
                         "move it away or choose another --out")
    if not parts.is_dir():
        return
    with os.scandir(parts) as it:
        entries = list(it)
    foreign = sorted(e.name for e in entries if not _own_entry(e))
    # (a state.json that cannot be read, zero length after a crash, is extract's own: open_parts starts afresh)
    if not foreign and entries and not (parts / "state.json").is_file():
        foreign = ["chunks without the state.json of edfgen extract"]
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise InputError(f"--out {out}: {parts} holds what edfgen extract did not write ({shown}); move it away "
                         "or choose another --out")


def discard_parts(parts: Path) -> None:
    """Remove extract's own files from ``parts`` (chunks and temporary files first, ``state.json`` last), then the
    folder if that left it empty; anything else there is kept."""
    if parts.is_symlink() or not parts.is_dir():
        return
    with os.scandir(parts) as it:
        own = [Path(e.path) for e in it if _own_entry(e)]
    for p in sorted(own, key=lambda p: p.name == "state.json"):
        with contextlib.suppress(OSError):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink()
    with contextlib.suppress(OSError):
        parts.rmdir()


@dataclass
class Parts:
    """What the durable chunks of an interrupted run hold (rows in chunk order)."""

    ids: list[str]
    fps: list[str]
    edfs: np.ndarray | None
    rejects: list[tuple[str, str, str]]
    reject_fps: list[str]
    next_chunk: int
    notes: list[tuple[str, str, str]] = field(default_factory=list)
    note_fps: list[str] = field(default_factory=list)


def read_parts(parts: Path) -> Parts:
    """Every chunk of ``parts`` (temporary files skipped)."""
    ids: list[str] = []
    fps: list[str] = []
    arrays: list[np.ndarray] = []
    rejects: list[tuple[str, str, str]] = []
    reject_fps: list[str] = []
    notes: list[tuple[str, str, str]] = []
    note_fps: list[str] = []
    last = -1
    for f in sorted(parts.glob("chunk_*.npz")):
        if is_temp_name(f.name):
            continue
        with np.load(f, allow_pickle=False) as z:
            ids.extend(z["ids"].tolist())
            fps.extend(z["fps"].tolist())
            arrays.append(z["edfs"])
            rejects.extend(zip(z["reject_ids"].tolist(), z["reject_paths"].tolist(), z["reject_reasons"].tolist()))
            reject_fps.extend(z["reject_fps"].tolist())
            notes.extend(zip(z["note_ids"].tolist(), z["note_paths"].tolist(), z["note_texts"].tolist()))
            note_fps.extend(z["note_fps"].tolist())
        last = max(last, int(f.stem.split("_")[1]))
    nonempty = [a for a in arrays if len(a)]
    return Parts(ids, fps, np.concatenate(nonempty) if nonempty else None, rejects, reject_fps, last + 1, notes,
                 note_fps)


def write_chunk(parts: Path, index: int, ids: list[str], edfs: list[np.ndarray], d: int,
                rejects: list[tuple[str, str, str]], fps: dict[str, str],
                notes: list[tuple[str, str, str]] = ()) -> None:
    """Write chunk ``index`` (EDF rows of ``ids``, ``rejects``, the ``notes`` of the accepted records, their
    fingerprints) atomically."""
    path = parts / f"chunk_{index:06d}.npz"
    arr = np.concatenate(edfs) if edfs else np.zeros((0, d), np.float32)
    with atomic_write(path, "wb") as fh:
        np.savez(fh, ids=np.array(ids, dtype=str), edfs=arr.astype(np.float32),
                 fps=np.array([fps[i] for i in ids], dtype=str),
                 reject_ids=np.array([r[0] for r in rejects], dtype=str),
                 reject_paths=np.array([r[1] for r in rejects], dtype=str),
                 reject_reasons=np.array([r[2] for r in rejects], dtype=str),
                 reject_fps=np.array([fps[r[0]] for r in rejects], dtype=str),
                 note_ids=np.array([n[0] for n in notes], dtype=str),
                 note_paths=np.array([n[1] for n in notes], dtype=str),
                 note_texts=np.array([n[2] for n in notes], dtype=str),
                 note_fps=np.array([fps[n[0]] for n in notes], dtype=str))


def record_fingerprints(refs: Sequence[RecordRef]) -> dict[str, str]:
    """record id -> fingerprint of the record's files, by :func:`edfgen.formats.manifest.stat_key` (one
    ``scandir`` per folder; no signals read).

    The files: every file beside ``ref.path`` whose name is the record's file stem plus an extension (a WFDB
    ``.hea`` with its ``.dat``/``.mat``), and, for a WFDB record, every file its header names
    (:func:`~edfgen.formats.ecg.wfdb_header.header_files`: a signal file under another name, the segment
    headers of a multi-segment record and their signal files), so that a rerun never reuses the EDFs of a record
    whose signals changed."""
    listing: dict[str, dict[str, list[tuple[str, str]]]] = {}
    out = {}
    for r in refs:
        p = Path(r.path)
        folder = str(p.parent)
        if folder not in listing:
            groups: dict[str, list[tuple[str, str]]] = {}
            try:
                for e in os.scandir(folder):
                    if e.is_file() and not is_temp_name(e.name):
                        groups.setdefault(e.name.split(".")[0], []).append((e.name, e.path))
            except OSError:
                pass
            listing[folder] = groups
        h = hashlib.sha256(f"{r.record_id}\0{r.path}\0{r.fmt}".encode())
        stem = p.name.split(".")[0]
        for name, path in sorted(listing[folder].get(stem, [])):
            if name == p.name or name.startswith(p.stem + ".") or name.startswith(stem + "."):
                h.update(f"\0{name}:{stat_key_or_missing(path)}".encode())
        for path in header_files(p) if r.fmt == "wfdb" else ():
            h.update(f"\0{path}:{stat_key_or_missing(path)}".encode())
        out[r.record_id] = h.hexdigest()[:24]
    return out


def resume_state(*, checkpoint_sha256: str, model_config: dict | None, preprocessing: dict, quality: dict,
                 fs: float | None) -> dict:
    """The resume key of an extract: parts written under another key are never reused.

    ``model_config`` is the checkpoint's whole architecture (``ModelConfig.to_dict()``): values such as
    ``input_scale_mv`` change every EDF while the weights, and so their sha256, stay the same.
    """
    return json.loads(json.dumps({"format": PARTS_FORMAT, "checkpoint_sha256": checkpoint_sha256,
                                  "model_config": model_config, "preprocessing": preprocessing,
                                  "quality": quality, "fs": fs}))


def open_parts(parts: Path, state: dict) -> Parts:
    """Make ``parts`` hold only chunks written under ``state`` and return them.

    Parts of another state (checkpoint, model config, preprocessing, thresholds, ``--fs``), or that
    cannot be read, are removed with a warning (only extract's own files: :func:`discard_parts`; the folder was
    checked to be its own by :func:`check_parts`) and the run starts afresh.
    """
    state_file = parts / "state.json"
    old = _read_state(parts) if parts.exists() else state
    if old is None:
        log.warning("%s: its state.json cannot be read (a disk that lost it); starting afresh", parts)
        discard_parts(parts)
    elif old != state:
        log.warning("%s: partial results from another checkpoint/model config/preprocessing/quality thresholds "
                    "or edfgen version; "
                    "starting afresh", parts)
        discard_parts(parts)
    parts.mkdir(parents=True, exist_ok=True)
    clean_temp_files(parts, recursive=False)
    if not state_file.exists():
        with atomic_write(state_file) as fh:
            json.dump(state, fh)
    try:
        return read_parts(parts)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("%s: unreadable partial results (%s); starting afresh", parts, exc)
        for f in parts.glob("chunk_*.npz"):
            f.unlink()
        return Parts([], [], None, [], [], 0)
