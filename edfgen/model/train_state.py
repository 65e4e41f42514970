"""The resumable state of a pre-training run: ONE file, ``train_state.safetensors``, renamed into place atomically.

It holds the encoder's weights, the AdamW moments and, in the safetensors header metadata, a JSON document (step,
param groups, settings, config, preprocessing, data), so a kill at any moment leaves either the previous state or
the new one. ``checkpoint.*`` (the product other commands read) is written after it and is never needed to resume.
Runs written by older edfgen versions (moments only, with ``train_state.json``) are resumed when their checkpoint
names the same step. No pickle.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import torch

from edfgen.exceptions import InputError
from edfgen.formats.atomic import chmod_as_created
from edfgen.formats.tables import atomic_path
from edfgen.model.checkpoint import load_checkpoint

log = logging.getLogger(__name__)

#: key of the training-state document inside ``train_state.safetensors``' metadata
STATE_KEY = "edfgen_train_state"


def save_train_state(out_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer, step: int,
                     extra: dict, *, name: str = "train_state.safetensors",
                     tensors: dict[str, torch.Tensor] | None = None) -> None:
    """The whole resumable state as ONE file, ``train_state.safetensors``, renamed into place atomically.

    It holds the encoder's weights (``model.*``), the AdamW moments (``state.*``) and, in its header metadata,
    a JSON document (``step``, param groups, non-tensor optimizer scalars and ``extra``: settings, config,
    preprocessing, data). A kill at any moment therefore leaves either the previous state or the new one,
    never weights of one step with moments of another (``checkpoint.*`` is the product, written after it).
    No pickle.

    Parameters
    ----------
    out_dir
        The run's folder.
    model, optimizer
        The encoder (a DDP wrapper is unwrapped) and its AdamW.
    step
        Optimizer updates done.
    extra
        JSON-able fields added to the document.
    name
        The file's name in ``out_dir`` (``edfgen finetune`` writes ``finetune_state.safetensors``).
    tensors
        More tensors to store under their own keys (neither ``model.`` nor ``state.``; e.g. RNG states).
    """
    from safetensors.torch import save_file

    model = getattr(model, "module", model)
    sd = optimizer.state_dict()
    more = tensors or {}
    tensors = {f"model.{k}": v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    tensors.update({k: v.detach().cpu().contiguous() for k, v in more.items()})
    scalars = {}
    for idx, st in sd["state"].items():
        for k, v in st.items():
            if torch.is_tensor(v):
                tensors[f"state.{idx}.{k}"] = v.detach().cpu().contiguous()
            else:
                scalars[f"state.{idx}.{k}"] = v
    doc = {"step": step, "param_groups": sd["param_groups"], "scalars": scalars, **extra}
    with atomic_path(out_dir / name) as tmp:
        save_file(tensors, str(tmp), metadata={STATE_KEY: json.dumps(doc)})
        chmod_as_created(tmp)       # safetensors writes 0600; was chmod 0644 whatever the umask (review s33a F6)
    stale = out_dir / "train_state.json"   # written by pretrain before its state was one file; never finetune's
    if name == "train_state.safetensors" and stale.exists():
        stale.unlink()


def _read_state_doc(out_dir: Path) -> tuple[dict, bool]:
    """The training-state document and whether the weights are inside it (False: an older run's
    ``train_state.json`` beside a moments-only ``train_state.safetensors``)."""
    from safetensors import SafetensorError, safe_open

    path = out_dir / "train_state.safetensors"
    try:
        with safe_open(str(path), framework="pt") as fh:
            text = (fh.metadata() or {}).get(STATE_KEY)
    except (SafetensorError, OSError) as exc:
        raise InputError(f"--resume: {path}: unreadable training state ({exc}); start afresh with --force, "
                         f"or continue from its checkpoint with --init") from None
    if text is not None:
        return json.loads(text), True
    legacy = out_dir / "train_state.json"
    if not legacy.exists():
        raise InputError(f"--resume: {legacy} missing beside {path.name} (nothing consistent to resume); start "
                         f"afresh with --force, or continue from its checkpoint with --init")
    return json.loads(legacy.read_text()), False


def load_train_state(out_dir: Path, model: torch.nn.Module, optimizer: torch.optim.Optimizer) -> dict:
    """Restore ``model`` and ``optimizer`` from :func:`save_train_state`'s file; return its document.

    A run written by an older edfgen (moments only, ``train_state.json`` + ``checkpoint.*`` as separate
    files) is resumed from its checkpoint's weights when both name the same step.

    Raises
    ------
    InputError
        No training state, or (older runs) a checkpoint whose step differs from the training state's:
        one line with the remedy.
    """
    from safetensors.torch import load_file

    path = out_dir / "train_state.safetensors"
    if not path.exists():
        raise InputError(f"--resume: {path} not found (nothing to resume)")
    doc, inside = _read_state_doc(out_dir)
    tensors = load_file(str(path))
    if inside:
        weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    else:
        ckpt = load_checkpoint(out_dir / "checkpoint")
        done = ckpt.metadata.get("steps_done")
        if done != doc["step"]:
            raise InputError(f"--resume: {out_dir}/checkpoint.json is at step {done} but train_state.json at step "
                             f"{doc['step']} (the run was killed between writing them): start afresh with --force, "
                             f"or continue from the checkpoint with --init (fresh optimizer)")
        weights = ckpt.model.state_dict()
    getattr(model, "module", model).load_state_dict(weights)
    restore_optimizer(optimizer, doc, tensors)
    return doc


def restore_optimizer(optimizer: torch.optim.Optimizer, doc: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Load the optimizer state :func:`save_train_state` stored (``state.*`` tensors, the document's ``scalars`` and
    ``param_groups``) into ``optimizer``.

    Parameters
    ----------
    optimizer
        An optimizer over the same parameters, in the same order.
    doc, tensors
        The training-state document and the file's tensors.
    """
    state: dict = {}
    moments = [(k, v) for k, v in tensors.items() if k.startswith("state.")]
    for key, v in moments + list(doc["scalars"].items()):
        _, idx, k = key.split(".", 2)
        state.setdefault(int(idx), {})[k] = v
    optimizer.load_state_dict({"state": state, "param_groups": doc["param_groups"]})


def run_data(ecg, simulated: int, sim_seed: int, *, files: bool = True, out_dir=None, refs=None) -> dict:
    """What a run trains on, comparable across working directories: ``--ecg`` paths resolved, the simulated
    participants and their seed (0 participants: no seed) and (``files``) ``ecg_records``, one fingerprint per
    ``--ecg`` path of the files its records are read from (:func:`ecg_record_files`: names, sizes and modification
    times), so that records replaced under the same paths are other data, and ``ecg_records_ctime``, the same with
    their change times (extract's key, :func:`~edfgen.formats.manifest.stat_key`: a replacement that kept the
    modification time, ``cp -p`` or ``rsync -t``, cannot be told from a ``chmod`` by it: :func:`read_resumable`
    resumes then, with a warning; the two keys tell the user which changed).

    Parameters
    ----------
    ecg
        The ``--ecg`` paths.
    simulated, sim_seed
        Simulated participants and their seed.
    files
        Fingerprint the records' files (``False``: an older run's saved data, whose files are not known).
    out_dir
        The run's own folder: files under it are never the data (``--out`` inside ``--ecg``).
    refs
        Records the run has discovered already (:func:`~edfgen.formats.ecg.records.discover_records` of its
        ``--ecg`` paths that are not bundles), not discovered again: :func:`ecg_record_files`.

    Returns
    -------
    dict
        ``ecg``, ``simulated``, ``sim_seed`` and (``files``) ``ecg_records`` and ``ecg_records_ctime``.
    """
    from edfgen.formats.manifest import stat_key_or_missing

    data = {"ecg": [str(Path(p).resolve()) for p in ecg], "simulated": int(simulated),
            "sim_seed": int(sim_seed) if simulated else None}
    if files:
        keys, ckeys = [], []
        for p in ecg:
            h, hc = hashlib.sha256(), hashlib.sha256()
            base = os.path.abspath(p if Path(p).is_dir() else Path(p).parent)   # names relative to the path given
            under = os.path.join(base, "")
            for f in map(str, ecg_record_files(p, out_dir=out_dir, refs=refs)):
                ckey = stat_key_or_missing(f)   # extract's key: size, modification and change times
                key = ckey if ckey == "missing" else ckey.rsplit(":", 1)[0]   # size and modification time
                rel = f[len(under):] if f.startswith(under) else os.path.relpath(f, base)   # (relpath: slow)
                h.update(f"{rel}\0{key}\n".encode())
                hc.update(f"{rel}\0{ckey}\n".encode())
            keys.append(h.hexdigest())
            ckeys.append(hc.hexdigest())
        data["ecg_records"] = keys
        data["ecg_records_ctime"] = ckeys
    return data


def ecg_record_files(path, *, out_dir=None, refs=None) -> list[Path]:
    """The files the ECG records of one ``--ecg`` path are read from, as discovery finds them
    (:func:`~edfgen.formats.ecg.records.discover_records`): each record's file (a WFDB header, an XML, EDF, HDF5,
    NumPy or DICOM file) and, for a WFDB record, every file its header names
    (:func:`~edfgen.formats.ecg.wfdb_header.header_files`: the signal files, the segments of a multi-segment
    record). Other files under a folder (notes, a README) are not data; files under ``out_dir`` are left out.

    Parameters
    ----------
    path
        One ``--ecg`` path (a file, a folder, a WFDB record name).
    out_dir
        A folder whose files are never data (the run's own ``--out``).
    refs
        Records discovered already (of this path and maybe others): those of this path are taken (the files
        under a folder; a file, or a WFDB record, given by name); a path none of them belongs to (a bundle, left
        out of the run's discovery) is discovered here.

    Returns
    -------
    list of Path
        Absolute, sorted, without repeats; ``[]`` for a path that does not exist.
    """
    from edfgen.formats.ecg.records import discover_records
    from edfgen.formats.ecg.wfdb_header import header_files

    refs = _refs_of(path, refs or [])
    if not refs:
        try:
            refs = discover_records([path])
        except InputError:   # a missing path: the run itself says so
            return []
    files = set()
    for r in refs:
        files.add(os.path.abspath(r.path))
        if r.fmt == "wfdb":
            files.update(map(os.path.abspath, header_files(r.path)))
    skip = _out_prefixes(path, out_dir)
    return [Path(f) for f in sorted(files) if not (skip and f.startswith(skip))]


def _refs_of(path, refs) -> list:
    """The records of ``refs`` found under the ``--ecg`` path ``path``: under it (a folder), the file itself, or
    (a WFDB record given as ``NAME``, ``NAME.hea`` or ``NAME.dat``) the header of that name."""
    given = os.path.abspath(path)
    under = os.path.join(given, "")
    names = () if os.path.isdir(given) else (given, os.path.splitext(given)[0])
    out = []
    for r in refs:
        a = os.path.abspath(r.path)
        if a == given or a.startswith(under) or (r.fmt == "wfdb" and os.path.splitext(a)[0] in names):
            out.append(r)
    return out


def _out_prefixes(path, out_dir) -> tuple[str, ...]:
    """The path prefixes (ending in a separator) that put a file found under ``path`` in ``out_dir``, as given and
    as it resolves, also seen through ``path`` when ``path`` is a link; ``()`` when ``out_dir`` is not under
    ``path`` (the common case: no per-file test)."""
    if out_dir is None:
        return ()
    given, real = os.path.abspath(path), os.path.realpath(path)
    outs = {os.path.abspath(out_dir), os.path.realpath(out_dir)}
    outs |= {os.path.join(given, os.path.relpath(o, real)) for o in list(outs) if o.startswith(os.path.join(real, ""))}
    return tuple(os.path.join(o, "") for o in outs if o.startswith((os.path.join(given, ""), os.path.join(real, ""))))


def read_resumable(out_dir: Path, *, config, data: dict) -> dict:
    """The training state's document, checked against this call's architecture and data.

    Parameters
    ----------
    out_dir
        The run's folder.
    config
        This call's :class:`~edfgen.model.config.ModelConfig`.
    data
        This call's :func:`run_data`.

    Raises
    ------
    InputError
        Nothing to resume, or other data than the run was trained on (its checkpoint and manifest would name only
        the last call's data): other ``--ecg`` paths or simulation, or records added, removed or changed in name,
        size or modification time. Records whose change times alone moved (a ``chmod``, an ACL, a hard link) are
        resumed with a warning: a same-size copy that kept its times cannot be told from them.
    ConfigError
        Another architecture.
    """
    from edfgen.exceptions import ConfigError

    path = out_dir / "train_state.safetensors"
    if not path.exists():
        raise InputError(f"--resume: {path} not found (nothing to resume)")
    doc, inside = _read_state_doc(out_dir)
    saved_config = doc.get("config")
    saved_data = doc.get("data")
    if not inside:   # an older run: its checkpoint carries the config and the data
        from edfgen.model.checkpoint import read_checkpoint_json

        meta = read_checkpoint_json(out_dir / "checkpoint")[1]
        saved_config = meta.get("config")
        old = meta.get("metadata", {}).get("data") or {}
        saved_data = run_data(old.get("ecg", []), old.get("simulated", 0), old.get("sim_seed", 0), files=False)
    if saved_config is not None and saved_config != json.loads(json.dumps(config.to_dict())):
        raise ConfigError(f"--resume: {out_dir} was trained with config {saved_config.get('name')!r}, not the "
                          f"requested {config.name!r}")
    for k in ("ecg_records", "ecg_records_ctime"):   # a run begun before its records' files were fingerprinted
        if saved_data is not None and k not in saved_data:   # (or keyed with their change times): not compared
            data = {key: v for key, v in data.items() if key != k}
    records = {k: v for k, v in (saved_data or {}).items() if k in ("ecg_records", "ecg_records_ctime")}
    if saved_data is not None and saved_data == {**data, **records} and saved_data != data:
        changed = [p for p, a, b in zip(data["ecg"], saved_data.get("ecg_records", ()), data.get("ecg_records", ()))
                   if a != b]
        if changed:
            raise InputError(f"--resume: the ECG records under --ecg {' '.join(changed)} changed (added, removed, "
                             f"replaced or modified) since {out_dir} was trained on them: resuming would train the "
                             f"rest on other data; start over with --force, or continue on the new records in a new "
                             f"--out with --init {out_dir}/checkpoint")
        changed = [p for p, a, b in zip(data["ecg"], saved_data["ecg_records_ctime"], data["ecg_records_ctime"])
                   if a != b]
        more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
        log.warning("--resume: the ECG records' files under %d --ecg path(s) (%s%s) have the same names, sizes and "
                    "modification times but new change times (ctime) since %s was trained on them (a chmod, an ACL, "
                    "a hard link, a backup tool): resuming. A same-size copy that kept its times (cp -p, rsync -t, "
                    "a restore) cannot be told from a chmod: if the data changed, rerun with --force (or continue "
                    "in a new --out with --init %s/checkpoint)", len(changed), ", ".join(changed[:3]), more,
                    out_dir, out_dir)
        return doc
    if saved_data is not None and saved_data != data:
        raise InputError(f"--resume: {out_dir} was trained on {_describe(saved_data)}, not {_describe(data)}: resume "
                         f"with the same --ecg/--simulated/--sim-seed, or continue on other data in a new --out "
                         f"with --init {out_dir}/checkpoint")
    return doc


def _describe(data: dict) -> str:
    parts = [f"--ecg {' '.join(data['ecg'])}"] if data["ecg"] else []
    if data["simulated"]:
        parts.append(f"--simulated {data['simulated']} --sim-seed {data['sim_seed']}")
    return " ".join(parts) or "no data"
