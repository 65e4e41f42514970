"""Provenance: a ``manifest.json`` beside every output.

The manifest records the edfgen version, the command line, the parameters, the sha256 of
every input (a directory is fingerprinted by the sorted names, sizes and sha256 of its files),
the seed, start and end times, and the outputs written. It is written **last** and atomically,
so its presence marks a complete output directory; the pipeline uses it to skip stages whose
inputs and parameters are unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from edfgen import __version__
from edfgen.io.tables import atomic_write

MANIFEST = "manifest.json"
_CHUNK = 1 << 20


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def sha256_path(path: str | os.PathLike) -> str:
    """sha256 of a file, or of a directory's sorted (relative name, sha256) list, recursively."""
    p = Path(path)
    if p.is_dir():
        h = hashlib.sha256()
        for f in sorted(q for q in p.rglob("*") if q.is_file() and q.name != MANIFEST):
            h.update(f"{f.relative_to(p)}\0{sha256_file(f)}\n".encode())
        return h.hexdigest()
    return sha256_file(p)


def fingerprint(path: str | os.PathLike) -> str:
    """A cheap change detector for resume checks: sha256 over (relative name, size, mtime) of a file or of
    every file under a directory. Unlike :func:`sha256_path` it reads no contents, so checking whether a
    stage is up to date stays instant on biobank-sized inputs (as ``make`` does, it trusts mtimes)."""
    p = Path(path)
    files = sorted(q for q in p.rglob("*") if q.is_file() and q.name != MANIFEST) if p.is_dir() else [p]
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(p) if p.is_dir() else f.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


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
    command_line: list[str] = field(default_factory=lambda: list(sys.argv))
    python: str = field(default_factory=platform.python_version)

    def add_inputs(self, paths: Iterable[str | os.PathLike | None]) -> None:
        """Record the sha256 of each existing input path (files and directories)."""
        for p in paths:
            if p is None:
                continue
            p = Path(p)
            if p.exists():
                self.inputs[str(p)] = sha256_path(p)

    def to_dict(self) -> dict[str, Any]:
        return _jsonable({
            "edfgen_version": self.edfgen_version, "command": self.command,
            "command_line": self.command_line, "parameters": self.parameters,
            "inputs": self.inputs, "seed": self.seed, "started": self.started,
            "finished": self.finished, "outputs": sorted(self.outputs), "python": self.python,
            **({"extra": self.extra} if self.extra else {}),
        })

    def write(self, out_dir: str | os.PathLike) -> Path:
        """Write ``manifest.json`` atomically into ``out_dir`` (sets ``finished``)."""
        out_dir = Path(out_dir)
        self.finished = _now()
        if not self.outputs:
            self.outputs = sorted(str(p.relative_to(out_dir)) for p in out_dir.rglob("*")
                                  if p.is_file() and p.name != MANIFEST and not p.name.startswith("."))
        path = out_dir / MANIFEST
        with atomic_write(path) as fh:
            json.dump(self.to_dict(), fh, indent=2)
            fh.write("\n")
        return path


@contextlib.contextmanager
def recording(out_dir: str | os.PathLike, command: str, *, parameters: dict[str, Any] | None = None,
              inputs: Iterable[str | os.PathLike | None] = (), seed: int | None = None) -> Iterator[Manifest]:
    """Context manager: create ``out_dir``, remove any stale manifest, yield a :class:`Manifest`
    and write it only if the block succeeds."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stale = out_dir / MANIFEST
    if stale.exists():
        stale.unlink()
    m = Manifest(command=command, parameters=dict(parameters or {}), seed=seed)
    m.add_inputs(inputs)
    yield m
    m.write(out_dir)


def read_manifest(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The parsed manifest of ``out_dir``, or ``None`` if absent or unreadable."""
    path = Path(out_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def is_up_to_date(out_dir: str | os.PathLike, command: str, parameters: dict[str, Any],
                  inputs: Iterable[str | os.PathLike | None]) -> bool:
    """True when ``out_dir`` has a complete manifest for the same command, parameters and input hashes."""
    m = read_manifest(out_dir)
    if not m or m.get("command") != command or m.get("finished") is None:
        return False
    if m.get("parameters") != _jsonable(parameters):
        return False
    probe = Manifest(command=command)
    probe.add_inputs(inputs)
    if m.get("inputs") != probe.inputs:
        return False
    return all((Path(out_dir) / o).exists() for o in m.get("outputs", []))
