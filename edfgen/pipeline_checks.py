"""The checks of ``edfgen run`` that are not a stage's own (see :mod:`edfgen.pipeline`).

* Is a finished stage still done? Its key is unchanged *and* every output its manifest lists is there, as it was
  when the stage finished (:func:`output_fingerprints`, :func:`changed_outputs`; size and modification time, not
  change time): an output deleted or edited by hand reruns the stage, so a later stage never runs on a partial
  folder, while a ``chmod`` or a restore in place does not.
* Which files a stage's options name (:func:`option_files`): their content keys the stage too, folders
  (``loco_predictions``) and file prefixes (``ref_ld_chr``) included; a checkpoint by its bytes, not its path.
* A stage's key (:func:`stage_key`, :func:`code_key`): its command, options, wiring and inputs, and the code that
  runs it (:func:`code_identity`: edfgen's version and its source files), so an upgraded or edited edfgen reruns it,
  unless only documentation, comments or the version number changed (:func:`same_code`, :func:`code_digest`).
* Before any stage runs (:func:`check_configuration`): the files the sections name exist, the checkpoint is one,
  and a section or ``[run]`` switch that this configuration leaves unused is named in a warning.
* After the run (:func:`drop_earlier_outputs`): the run's own files of an earlier run that this run did not write
  again (its ``covariates/covariates_pcs.tsv`` of a pca stage no longer run, a two-sample split's halves) go.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import glob
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any, Iterable

import edfgen
from edfgen.commands.options import CommandOptions, cli_spellings
from edfgen.exceptions import EdfgenError, InputError
from edfgen.formats.atomic import is_temp_name
from edfgen.formats.lock import HIDDEN_NAMES
from edfgen.formats.owned import anchored, owned_files
from edfgen.formats.manifest import (MANIFEST, STREAM, fingerprint, input_digest, listed_outputs, read_manifest,
                                     remove_empty_parents)

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------- stage outputs

def output_fingerprints(manifest: Path) -> dict[str, str]:
    """What a finished stage wrote, as its manifest ``manifest`` lists it: relative name -> :func:`output_key` of
    each output that exists.

    Parameters
    ----------
    manifest
        The stage's ``manifest.json`` (or ``<file>.manifest.json``); its outputs are relative to its folder.
    """
    keys = _output_keys(manifest.parent, read_manifest(manifest.parent, name=manifest.name))
    return {rel: key for rel, key in keys.items() if key is not None}


def _output_keys(base: Path, m: dict | None) -> dict[str, str | None]:
    """Relative name -> :func:`output_key` (``None``: missing) of each output the manifest ``m`` of ``base`` lists:
    O(1) system calls per file (review s40: a resolve of the folder for each entry made each stage check of
    simulate's 10,000 listed records cost 0.5 s)."""
    cut = len(os.path.realpath(base).rstrip(os.sep)) + 1      # (listed_outputs: under the folder resolved)
    out = {}
    for p in listed_outputs(m, base):
        try:
            out[str(p)[cut:].replace(os.sep, "/")] = output_key(p)
        except OSError:                                       # (missing, or unreadable: not as written)
            out[str(p)[cut:].replace(os.sep, "/")] = None
    return out


def output_key(path: Path) -> str:
    """The fingerprint of one output of a stage: sizes and modification times only (nothing is read, no change
    times), so a ``chmod -R`` of the results or a restore in place (``cp -a``, ``rsync -a``, ``tar -x``) keeps a
    stage done, while an output deleted, rewritten or edited to another size reruns it.

    Parameters
    ----------
    path
        A file or folder a stage wrote.
    """
    return fingerprint(path, ctime=False)


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
    return [rel for rel, key in _output_keys(base, m).items()
            if key is None or (isinstance(recorded, dict) and recorded.get(rel) != key)]


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
    if kind == "checkpoint":   # keyed by its content instead (:func:`stage_key`), wherever it lies
        return []
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
    ``remove``/``extract`` list rewritten, a PLINK panel rebuilt (``*bfile``: its .bed/.bim/.fam), a folder rewritten (``loco_predictions``,
    ``[annotate] sumstats``) or the files of a prefix (``ref_ld_chr``) reruns the stage. (A checkpoint is keyed by
    its content, not listed here: :func:`stage_key`.)

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


def _by_content(kinds: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with each checkpoint value replaced by its content digest
    (:func:`edfgen.model.checkpoint.checkpoint_digest`): the same checkpoint at another path (another install's
    shipped one, a copied project) is the same key; one not found is left as given (extract names it)."""
    keyed = dict(options)
    for key, v in options.items():
        if kinds.get(key) == "checkpoint" and isinstance(v, str):
            from edfgen.model.checkpoint import checkpoint_digest   # (imports torch)

            try:
                keyed[key] = {"sha256": checkpoint_digest(v)}
            except (OSError, EdfgenError):
                continue
    return keyed


def stage_key(command: str, cls: type[CommandOptions], tuned: dict[str, Any], wired: dict[str, Any],
              inputs: Iterable[Path | None], out: Path) -> str:
    """What decides whether a stage is up to date, but the code (:func:`code_key`): a hex sha256 of its command,
    options and wiring (a checkpoint by content), and of each input and file its options name
    (:func:`option_files`) by path and :func:`~edfgen.formats.manifest.input_digest`.

    Parameters
    ----------
    command
        ``edfgen <command>``.
    cls
        The stage's options class.
    tuned, wired
        Its options from the TOML, and the pipeline's wiring (JSON-able values).
    inputs
        Its input files and folders.
    out
        The run's folder: an earlier stage's output under it is keyed without change times (a ``chmod -R``).

    Returns
    -------
    str
        Hex sha256; a stream input (FIFO, pipe) makes a new key each time (read once: never up to date).
    """
    kinds = {f.name: f.metadata.get("path") for f in dataclasses.fields(cls)}
    inputs = list(inputs)
    h = hashlib.sha256(json.dumps([command, _by_content(kinds, tuned), _by_content(kinds, wired)],
                                  sort_keys=True).encode())
    for p in [*inputs, *option_files(cls, tuned, wired, known=inputs)]:
        if p is not None:   # an earlier stage's output (under out) is keyed as its outputs are: no ctime
            own = Path(p).resolve().is_relative_to(out.resolve())
            digest = input_digest(p, ctime=not own)
            h.update(f"{p}\0{digest}{os.urandom(16).hex() if digest == STREAM else ''}\n".encode())
    return h.hexdigest()


@functools.cache
def source_digest(root: Path) -> str:
    """A hex sha256 over the ``*.py`` files under ``root`` (by relative name and bytes; computed once per process):
    regular files only, no name starting with ``.`` (an editor's ``.#gwas.py`` lock link is no module; review rev34
    #4); and the bytes of the shipped data (:data:`DATA_FOLDERS`, :func:`_shipped_data`).

    Parameters
    ----------
    root
        The package's folder.

    Returns
    -------
    str
        The same for a copy of the package elsewhere; another for any edited, added or removed module.
    """
    h = hashlib.sha256()
    for rel, source in _sources(root):
        h.update(f"{rel}\0{hashlib.sha256(source).hexdigest()}\n".encode())
    h.update(_shipped_data(root).encode())
    return h.hexdigest()


#: the package's folders of shipped data that results depend on (genes, catalog): keyed by their bytes. Not
#: ``checkpoints``: a checkpoint is read only through a stage's checkpoint option (extract's ``checkpoint``), which the
#: stage's key already holds by content (:func:`_by_content`), so a checkpoint saved into ``edfgen/checkpoints/``
#: made every stage rerun, a retrained shipped one reruns extract and what follows it (s42files #5)
DATA_FOLDERS = ("data",)


@functools.cache
def _shipped_data(root: Path) -> str:
    """``relative name\\0sha256`` lines of each file in :data:`DATA_FOLDERS` under ``root`` but its ``*.md``
    documentation (regular files, no hidden name), once per process (9 ms for edfgen's 7 MB, warm): a release that
    changes only ``data/genes_GRCh38.tsv.gz`` changes what annotate finds nearest, so it is code to a stage's key
    (s41safefix #5: :func:`source_digest` and :func:`code_digest` read ``*.py`` only, so a stage kept stale genes)."""
    files = [f for d in DATA_FOLDERS for f in (root / d).rglob("*") if f.suffix != ".md" and f.is_file()
             and not any(part.startswith(".") for part in f.relative_to(root).parts)]
    return "".join(f"{rel}\0{hashlib.sha256(f.read_bytes()).hexdigest()}\n"
                   for rel, f in sorted((f.relative_to(root).as_posix(), f) for f in files))


@functools.cache
def _sources(root: Path) -> tuple[tuple[str, bytes], ...]:
    """``(relative name, bytes)`` of each module under ``root`` (:func:`source_digest`'s selection), read once per
    process: :func:`code_digest` digests the very bytes :func:`code_identity` did, even when computed later in the
    run (an editable install edited meanwhile)."""
    files = [f for f in root.rglob("*.py")
             if not any(part.startswith(".") for part in f.relative_to(root).parts) and f.is_file()]
    return tuple((rel, f.read_bytes()) for rel, f in sorted((f.relative_to(root).as_posix(), f) for f in files))


def code_identity() -> str:
    """The code that makes a stage's outputs: edfgen's version and :func:`source_digest` of the installed package
    (snakemake's rerun trigger "code", Nextflow's ``-resume`` script hash), e.g. ``0.1.0+3f2a…``: an upgraded or
    edited edfgen reruns every stage (review s34c #1).

    Returns
    -------
    str
        ``<version>+<sha256 hex>``.
    """
    return f"{edfgen.__version__}+{source_digest(Path(edfgen.__file__).resolve().parent)}"


@functools.cache
def code_digest(root: Path) -> str:
    """A hex sha256 over the result-relevant code of the ``*.py`` files under ``root`` (as :func:`source_digest`
    selects them): each module's syntax tree (``ast.dump``, no line numbers) without its docstrings (module, class,
    function), so without its comments and layout, and without a module-level ``__version__ =`` (computed once per
    process, about a second for edfgen's 2.7 MB of source; a file that does not parse by its bytes), and the bytes
    of the shipped data (:func:`_shipped_data`: genes, catalog). A release that
    changes only documentation, comments or the version number keeps it; any other change to any module (a statement,
    a name, a constant, a message) changes it: a whole-package rule, as a stage's imports cannot be known statically
    (commands are dispatched by name). (Bytecode, compiled with ``optimize=2``, is 3x cheaper but keeps a ``NOP``
    where a docstring was: adding one would count as code.)

    Parameters
    ----------
    root
        The package's folder.

    Returns
    -------
    str
        The digest.
    """
    h = hashlib.sha256()
    for rel, source in _sources(root):
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            h.update(f"{rel}\0{hashlib.sha256(source).hexdigest()}\n".encode())
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body and (
                    isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
                    and isinstance(node.body[0].value.value, str)):
                node.body = node.body[1:]
        tree.body = [n for n in tree.body if not (isinstance(n, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__version__" for t in n.targets))]
        h.update(f"{rel}\0{hashlib.sha256(ast.dump(tree).encode()).hexdigest()}\n".encode())
    h.update(_shipped_data(root).encode())            # (the shipped data, by its bytes)
    return h.hexdigest()


def package_code_digest() -> str:
    """:func:`code_digest` of the installed edfgen (recorded as a stage's ``code_digest`` in ``pipeline_state.json``).

    Returns
    -------
    str
        Hex sha256.
    """
    return code_digest(Path(edfgen.__file__).resolve().parent)


def same_code(done: Any) -> bool:
    """Whether the stage recorded as ``done`` (its ``pipeline_state.json`` entry) ran with this code: the same
    :func:`code_identity`, or the same :func:`package_code_digest` (only documentation, comments or the version
    number changed since: an upgrade that must not recompute a GWAS). An entry of an edfgen that recorded no digest
    and other code is other code.

    Parameters
    ----------
    done
        The stage's recorded entry (``code`` and ``code_digest``).

    Returns
    -------
    bool
        ``True`` when the code that made it is this code.
    """
    if not isinstance(done, dict) or not isinstance(done.get("code"), str):
        return False
    digest = done.get("code_digest")
    return done["code"] == code_identity() or isinstance(digest, str) and digest == package_code_digest()


def current_code(done: Any) -> str:
    """The code string that keys a stage whose earlier record is ``done``: its recorded ``code`` when that is this
    code (:func:`same_code`: the earlier key stays valid after a documentation-only upgrade), else
    :func:`code_identity`.

    Parameters
    ----------
    done
        The stage's recorded entry, or anything else (none).

    Returns
    -------
    str
        The code string.
    """
    return done["code"] if same_code(done) else code_identity()


def code_key(inputs_key: str, code: str | None) -> str:
    """A stage's key: its :func:`stage_key` with the ``code`` (:func:`code_identity`) that ran it; ``None``: the
    :func:`stage_key` alone (the key of an edfgen that did not record its code).

    Parameters
    ----------
    inputs_key
        :func:`stage_key`.
    code
        :func:`code_identity`, or ``None``.

    Returns
    -------
    str
        Hex sha256.
    """
    return inputs_key if code is None else hashlib.sha256(f"{inputs_key}\0{code}".encode()).hexdigest()


def ran_with_other_code(done: Any, inputs_key: str) -> bool:
    """Whether the stage recorded as ``done`` (its ``pipeline_state.json`` entry) ran with these options and inputs
    (``inputs_key``: :func:`stage_key`) but other code than :func:`code_identity`, or an edfgen that recorded none.

    Parameters
    ----------
    done
        The stage's recorded entry (``key`` and ``code``).
    inputs_key
        This run's :func:`stage_key` of the stage.

    Returns
    -------
    bool
        ``True`` when only the code changed.
    """
    if not isinstance(done, dict) or not isinstance(done.get("key"), str):
        return False
    code = done.get("code") if isinstance(done.get("code"), str) else None
    return not same_code(done) and done["key"] == code_key(inputs_key, code)


# ----------------------------------------------------------------------------------------------- the run's files

def earlier_outputs(out: Path) -> tuple[set[str], frozenset[Path]]:
    """What the earlier run's manifest in ``out`` lists (relative names) and the files that are edfgen's by it
    (:func:`edfgen.formats.owned.owned_files`), read before the run marks that manifest in progress: the mark rewrites
    the file, whose own status-change time then no longer stands for the earlier run's end (late review of s40).

    Returns
    -------
    tuple of (set of str, frozenset of Path)
        The listed outputs, and the files edfgen may remove.
    """
    manifest = read_manifest(out) or {}
    return set(manifest.get("outputs") or []), owned_files(manifest, out)


def drop_earlier_outputs(out: Path, earlier: Iterable[str], own: Iterable[Path | None], *,
                         owned: frozenset[Path] = frozenset()) -> list[str]:
    """Remove the files that the earlier run's manifest listed as the run's own (``earlier``, relative to ``out``)
    and this run did not write (``own``): no file of an earlier configuration is left looking like this one's.
    Only paths under ``out`` that the earlier manifest lists are touched; of a folder it lists whole, only the
    files in ``owned`` (edfgen's by that manifest: :func:`earlier_outputs`, unchanged since it finished), never a
    user's file put there, and the folder itself only once empty.

    Returns
    -------
    list of str
        The relative names removed.
    """
    mine = {anchored(p) for p in own if p is not None}
    base = Path(os.path.realpath(out))   # the form of anchored entries: an out that is a link too (second read s40)
    gone = []
    for rel in earlier:
        p = anchored(out / str(rel).rstrip("/"))
        if base not in p.parents or p in mine or not (p.exists() or p.is_symlink()):
            continue
        if p.is_dir() and not p.is_symlink():
            theirs = sorted(f for f in owned if p in f.parents and f not in mine)
            for f in theirs:
                f.unlink(missing_ok=True)
                remove_empty_parents(f, p.parent)     # the folders it empties, the listed one included
            gone += [str(f.relative_to(base)) for f in theirs]
            continue
        p.unlink()
        gone.append(str(rel))
        if p.parent != base and not any(p.parent.iterdir()):
            p.parent.rmdir()
    if gone:
        log.info("files of an earlier run that this configuration does not make, removed: %s", ", ".join(gone))
    return gone


# ----------------------------------------------------------------------------------------------- the configuration

def _key_as_written(cls: type[CommandOptions], section: dict[str, Any], name: str) -> str:
    """The TOML key that set the field ``name`` (``keep`` for ``keep_ids``), as the user wrote it."""
    spelled = cli_spellings(cls)
    return next((str(k) for k in section if spelled.get(str(k).replace("-", "_"), str(k).replace("-", "_")) == name),
                name)


def check_section_paths(raw: dict[str, Any], stages: dict[str, CommandOptions], out: Path, where: str) -> None:
    """Refuse, before any stage runs, a file or folder that a stage section names and that does not exist (an
    option the command checks for existence: ``[gwas] keep``, ``[interpret] measure_from``), or an ``[extract]
    checkpoint`` that is neither shipped nor found. A path inside ``out`` may be made by the run itself.

    Raises
    ------
    InputError
        One line naming the section, the key as written and the path.
    """
    for section, options in stages.items():
        given = raw.get(section)
        if not isinstance(given, dict) or not given:
            continue
        for f in dataclasses.fields(options):
            value = getattr(options, f.name)
            if f.default == value or not (f.metadata.get("exists") or f.metadata.get("path") == "checkpoint"):
                continue
            key = _key_as_written(type(options), given, f.name)
            for v in value if isinstance(value, (list, tuple)) else [value]:
                if f.metadata.get("path") == "checkpoint":
                    from edfgen.model.checkpoint import resolve_checkpoint   # (imports torch)

                    try:
                        resolve_checkpoint(v)
                    except EdfgenError as exc:
                        raise InputError(f"{where}: [{section}] {key}: {exc}") from None
                    continue
                p = Path(v)
                if not glob.has_magic(str(v)) and not p.exists() and out.resolve() not in p.resolve().parents:
                    raise InputError(f"{where}: [{section}] {key}: {v}: no such file or directory")


def warn_unused_sections(raw: dict[str, Any], inputs: dict[str, Any], *, has_outcomes: bool) -> list[str]:
    """Warn (one line each) about a stage section or ``[run]`` switch that this configuration leaves unused, naming
    what it needs: a stage runs because its inputs are given and its ``[run]`` switch is on, never because its
    section is there (except ``[pca]``, whose section turns the stage on when ``[run] pca`` is not given).

    Parameters
    ----------
    raw
        The parsed TOML.
    inputs
        The validated ``[inputs]``.
    has_outcomes
        Whether MR has outcomes (``[inputs] outcomes`` or ``[mr] outcomes``).

    Returns
    -------
    list of str
        The warnings logged.
    """
    run = raw.get("run") or {}
    simulating = "simulate" in raw          # the simulated cohort gives biomarkers and outcomes
    biomarkers, outcomes = simulating or "biomarkers" in inputs, simulating or "outcomes" in inputs
    interpret = raw.get("interpret") or {}
    needs = {
        "interpret": (biomarkers or interpret.get("measure_from") or interpret.get("measure-from"),
                      "[inputs] biomarkers or [interpret] measure_from"),
        "gwas_outcomes": (outcomes, "[inputs] outcomes"),
        "annotate": ("catalog" in inputs, "[inputs] catalog"),
        "mr": (outcomes or has_outcomes, "[inputs] outcomes or [mr] outcomes"),
        "pca": (run.get("pca", True), "[run] pca = true (it is false)"),
        **{s: (run.get("genetics", False), "[run] genetics = true") for s in ("ldsc", "finemap", "coloc")},
    }
    said = [f"[{s}] is given but its stage does not run: it needs {need}; its settings are unused"
            for s, (ok, need) in needs.items() if s in raw and not ok]
    if run.get("biomarker_gwas") and not biomarkers:
        said.append("[run] biomarker_gwas = true, but no biomarker GWAS runs: it needs [inputs] biomarkers")
    if run.get("genetics") and not simulating and "coloc" in raw and not outcomes:
        said.append("[coloc] is given but its stage does not run: it needs [inputs] outcomes")
    for line in said:
        log.warning("%s", line)
    return said


def check_configuration(raw: dict[str, Any], stages: dict[str, CommandOptions], inputs: dict[str, Any], out: Path,
                        where: str, *, has_outcomes: bool) -> None:
    """The checks of a whole configuration before any stage runs: :func:`check_section_paths` (refused) and
    :func:`warn_unused_sections` (warned)."""
    check_section_paths(raw, stages, out, where)
    for section in ("gwas", "gwas_outcomes"):   # refused by the gwas stage itself, after extract (review s34a)
        given = {str(k).replace("-", "_"): v for k, v in raw.get(section, {}).items()}   # CLI spellings too
        if given.get("skip_bad_variants") and "bgen" not in inputs:
            raise InputError(f"{where}: [{section}] skip_bad_variants is for [inputs] bgen genotypes: remove it")
    warn_unused_sections(raw, inputs, has_outcomes=has_outcomes)


def left_in(out_dir: Path) -> str:
    """What a stage folder holds besides its manifest, lock and temporary files, for a refusal to name: up to three
    entries, a folder with ``/`` (an empty one said so), e.g. ``notes.txt, plots/ (empty)``.

    Parameters
    ----------
    out_dir
        The stage's folder, once the earlier run's outputs were removed (what is left is not edfgen's).
    """
    try:
        entries = sorted(p for p in Path(out_dir).iterdir() if p.name not in (MANIFEST, *HIDDEN_NAMES)
                         and not is_temp_name(p.name))
    except OSError:
        return ""
    names = [p.name + ("/" + ("" if any(p.iterdir()) else " (empty)") if p.is_dir() else "") for p in entries[:3]]
    return ", ".join(names) + (f" and {len(entries) - 3} more" if len(entries) > 3 else "")
