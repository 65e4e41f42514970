"""The resumable state of a pre-training run: ONE file, ``train_state.safetensors``, renamed into place atomically.

It holds the encoder's weights, the AdamW moments and, in the safetensors header metadata, a JSON document (step,
param groups, settings, config, preprocessing, data), so a kill at any moment leaves either the previous state or
the new one. ``checkpoint.*`` (the product other commands read) is written after it and is never needed to resume.
Runs written by older edfgen versions (moments only, with ``train_state.json``) are resumed when their checkpoint
names the same step. No pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from edfgen.exceptions import InputError
from edfgen.formats.atomic import chmod_as_created
from edfgen.formats.tables import atomic_path
from edfgen.model.checkpoint import load_checkpoint

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


def run_data(ecg, simulated: int, sim_seed: int, *, files: bool = True) -> dict:
    """What a run trains on, comparable across working directories: ``--ecg`` paths resolved, the simulated
    participants and their seed (0 participants: no seed) and (``files``) ``ecg_files``, the fingerprint of the
    files under the ``--ecg`` paths (:func:`edfgen.formats.manifest.fingerprint`: names, sizes, modification and
    change times), so that files replaced under the same paths are other data."""
    from edfgen.formats.manifest import fingerprint

    data = {"ecg": [str(Path(p).resolve()) for p in ecg], "simulated": int(simulated),
            "sim_seed": int(sim_seed) if simulated else None}
    if files:
        data["ecg_files"] = [fingerprint(p) if Path(p).exists() else "missing" for p in ecg]
    return data


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
        the last call's data).
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
    if saved_data is not None and "ecg_files" not in saved_data:    # a run begun before the files were fingerprinted
        data = {k: v for k, v in data.items() if k != "ecg_files"}
    if saved_data is not None and saved_data == {**data, "ecg_files": saved_data.get("ecg_files")} \
            and saved_data != data:
        changed = [p for p, a, b in zip(data["ecg"], saved_data["ecg_files"], data["ecg_files"]) if a != b]
        raise InputError(f"--resume: files under --ecg {' '.join(changed)} changed (added, removed, replaced or "
                         f"modified) since {out_dir} was trained on them: resuming would train the rest on other "
                         f"data; restore them, start over with --force, or continue on the new files in a new --out "
                         f"with --init {out_dir}/checkpoint")
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
