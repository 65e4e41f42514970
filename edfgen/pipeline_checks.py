"""The checks of ``edfgen run`` that are not a stage's own (see :mod:`edfgen.pipeline`).

* Is a finished stage still done? Its key is unchanged *and* every output its manifest lists is there, as it was
  when the stage finished (:func:`output_fingerprints`, :func:`changed_outputs`): an output deleted or edited by
  hand reruns the stage, so a later stage never runs on a partial folder.
* Which files a stage's options name (:func:`option_files`): their content keys the stage too, folders
  (``loco_predictions``) and file prefixes (``ref_ld_chr``) included.
* After the run (:func:`drop_earlier_outputs`): the run's own files of an earlier run that this run did not write
  again (its ``covariates/covariates_pcs.tsv`` of a pca stage no longer run, a two-sample split's halves) go.
"""

from __future__ import annotations

import dataclasses
import glob
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Iterable

from edfgen.commands.options import CommandOptions
from edfgen.exceptions import EdfgenError
from edfgen.formats.manifest import fingerprint, listed_outputs, read_manifest

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------- stage outputs

def output_fingerprints(manifest: Path) -> dict[str, str]:
    """What a finished stage wrote, as its manifest ``manifest`` lists it: relative name -> :func:`fingerprint`
    (stat only: nothing is read) of each output that exists.

    Parameters
    ----------
    manifest
        The stage's ``manifest.json`` (or ``<file>.manifest.json``); its outputs are relative to its folder.
    """
    base = manifest.parent
    m = read_manifest(base, name=manifest.name)
    return {p.relative_to(base.resolve()).as_posix(): fingerprint(p) for p in listed_outputs(m, base) if p.exists()}


def changed_outputs(manifest: Path, recorded: dict[str, str] | None) -> list[str] | None:
    """The outputs of a finished stage that are missing, or differ from ``recorded`` (:func:`output_fingerprints`
    when the stage finished; ``None`` from an earlier edfgen: existence only), by relative name; ``None`` when the
    manifest is absent or in progress (the stage did not finish).

    Parameters
    ----------
    manifest
        The stage's manifest.
    recorded
        The fingerprints recorded when the stage finished.
    """
    base = manifest.parent
    m = read_manifest(base, name=manifest.name, complete=True)
    if m is None:
        return None
    changed = []
    for p in listed_outputs(m, base):
        rel = p.relative_to(base.resolve()).as_posix()
        if not p.exists() or (isinstance(recorded, dict) and recorded.get(rel) != fingerprint(p)):
            changed.append(rel)
    return changed


def stage_done(name: str, manifest: Path, recorded: dict[str, str] | None) -> bool:
    """Whether the stage ``name`` (whose key is unchanged) finished and every output its manifest lists is as it
    wrote it; an output missing or changed since is logged as a warning (the stage runs again)."""
    changed = changed_outputs(manifest, recorded)
    if changed:
        log.warning("stage %s: its output%s missing or changed since the stage finished: it runs again", name,
                    f" {changed[0]} is" if len(changed) == 1 else
                    f"s {', '.join(changed[:3])}" + (f" and {len(changed) - 3} more" if len(changed) > 3 else "") + " are")
    return changed == []


# ----------------------------------------------------------------------------------------------- stage keys

def _candidates(key: str, v: str, kind: str | None) -> list[Path]:
    """The paths the value ``v`` of option ``key`` (of path kind ``kind``) names."""
    if key == "checkpoint":
        from edfgen.model.checkpoint import resolve_checkpoint   # (imports torch)

        meta = resolve_checkpoint(v)
        return [meta, meta.with_suffix(".safetensors")]
    if key.endswith("bfile"):
        return [Path(f"{Path(v).expanduser()}.{e}") for e in ("bed", "bim", "fam")]
    p = Path(v).expanduser()
    if kind == "text" and not p.exists():   # a file prefix (ldsc PREFIX{chr}, '@' for the chromosome)
        pattern = glob.escape(str(p)).replace("@", "*").replace("{chr}", "*") + "*"
        return [Path(q) for q in sorted(glob.glob(pattern)) if Path(q).is_file()]
    return [p]


def option_files(cls: type[CommandOptions], *option_sets: dict[str, Any], known: Iterable[Path | None] = ()
                 ) -> list[Path]:
    """Files and folders named by a stage's option values, whose content keys the stage too: a ``keep``/
    ``remove``/``extract`` list rewritten, a checkpoint retrained in place (its JSON and weights, found as extract
    finds them), a PLINK panel rebuilt (``*bfile``: its .bed/.bim/.fam), a folder rewritten (``loco_predictions``,
    ``[annotate] sumstats``) or the files of a prefix (``ref_ld_chr``) reruns the stage.

    Parameters
    ----------
    cls
        The stage's options class (which options are paths, and of which kind).
    option_sets
        The stage's options and wiring (field name -> value).
    known
        The stage's inputs: a folder among them is not listed again (each is walked once).
    """
    kinds = {f.name: f.metadata.get("path") for f in dataclasses.fields(cls)}
    seen = {os.path.abspath(p) for p in known if p is not None}
    found: list[Path] = []
    for options in option_sets:
        for key, value in sorted(options.items()):
            if key == "out":
                continue
            for v in value if isinstance(value, (list, tuple)) else [value]:
                if not isinstance(v, str) or not v or len(v) > 4096 or "://" in v:
                    continue
                try:
                    cands = _candidates(key, v, kinds.get(key))
                    found += [c for c in cands if c.is_file()
                              or (kinds.get(key) and c.is_dir() and os.path.abspath(c) not in seen)]
                except (OSError, RuntimeError, EdfgenError):   # not a path (a name, a ~user that is none)
                    continue
    return list(dict.fromkeys(found))


# ----------------------------------------------------------------------------------------------- the run's files

def drop_earlier_outputs(out: Path, earlier: Iterable[str], own: Iterable[Path | None]) -> list[str]:
    """Remove the files that the earlier run's manifest listed as the run's own (``earlier``, relative to ``out``)
    and this run did not write (``own``): no file of an earlier configuration is left looking like this one's.
    Only paths under ``out`` that the earlier manifest lists are touched.

    Returns
    -------
    list of str
        The relative names removed.
    """
    mine = {os.path.abspath(p) for p in own if p is not None}
    gone = []
    for rel in earlier:
        p = (out / str(rel).rstrip("/")).resolve()
        if out.resolve() not in p.parents or str(p) in mine or not (p.exists() or p.is_symlink()):
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink()
        gone.append(str(rel))
        if p.parent != out.resolve() and not any(p.parent.iterdir()):
            p.parent.rmdir()
    if gone:
        log.info("files of an earlier run that this configuration does not make, removed: %s", ", ".join(gone))
    return gone
