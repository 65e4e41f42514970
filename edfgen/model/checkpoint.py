"""Checkpoints: safetensors weights + a JSON sidecar (architecture, preprocessing, sha256). Never pickle.

A checkpoint ``<prefix>`` is two files:

``<prefix>.safetensors``
    The encoder's ``state_dict`` (float32 tensors).
``<prefix>.json``
    ``{"format": "edfgen-checkpoint", "format_version": 1, "weights": "<prefix>.safetensors",
    "sha256": "<hex of the weights file>", "config": ModelConfig.to_dict(),
    "preprocessing": Preprocessing.to_dict(), "edfgen_version": ..., "metadata": {...}}``.

:func:`load_checkpoint` verifies the sha256, builds the architecture from the JSON and refuses any
missing or unexpected key, shape mismatch, non-finite weight, wrongly typed config value or a
weights path outside the checkpoint's folder with a one-line :class:`~edfgen.exceptions.CheckpointError`
naming the file and the key.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from edfgen import DEFAULT_CHECKPOINT, __version__  # DEFAULT_CHECKPOINT re-exported
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.exceptions import CheckpointError, ConfigError
from edfgen.formats.tables import atomic_path, atomic_write
from edfgen.model.config import ModelConfig
from edfgen.model.encoder import ECGEncoder
from edfgen.formats.manifest import sha256_file

FORMAT = "edfgen-checkpoint"
FORMAT_VERSION = 1
#: directory of the checkpoints shipped inside the package
PACKAGE_DIR = Path(__file__).resolve().parents[1] / "checkpoints"


@dataclass(frozen=True)
class LoadedModel:
    """A loaded checkpoint.

    Attributes
    ----------
    model
        The :class:`ECGEncoder` in ``eval()`` mode on the requested device.
    config, preprocessing
        Its architecture and the preprocessing its inputs must have.
    sha256
        Hex sha256 of the weights file (record it in manifests).
    path
        The JSON file it was loaded from.
    metadata
        Free-form training metadata stored in the JSON (command, steps, data).
    """

    model: ECGEncoder
    config: ModelConfig
    preprocessing: Preprocessing
    sha256: str
    path: Path
    metadata: dict = field(default_factory=dict)


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """The JSON path of a shipped name (``tiny``), a prefix, a ``.json`` or a ``.safetensors`` path."""
    p = Path(name_or_path)
    if isinstance(name_or_path, str) and "/" not in name_or_path and not p.suffix:
        shipped = PACKAGE_DIR / f"{name_or_path}.json"
        if shipped.exists():
            return shipped
    if p.suffix == ".safetensors":
        p = p.with_suffix(".json")
    elif p.suffix != ".json":
        p = p.with_name(p.name + ".json")
    if not p.exists():
        shipped = sorted(q.stem for q in PACKAGE_DIR.glob("*.json"))
        raise CheckpointError(f"checkpoint {str(name_or_path)!r} not found ({p} missing; shipped: {shipped})")
    return p


def save_checkpoint(model: ECGEncoder, config: ModelConfig, preprocessing: Preprocessing,
                    path_prefix: str | Path, *, metadata: dict | None = None) -> Path:
    """Write ``<prefix>.safetensors`` and ``<prefix>.json`` atomically; return the JSON path.

    Parameters
    ----------
    model
        The encoder (a DDP wrapper is unwrapped).
    config, preprocessing
        Stored in the JSON; ``config`` must be the model's architecture.
    path_prefix
        Path without extension (an extension ``.json``/``.safetensors`` is stripped).
    metadata
        JSON-able extra information (training command, steps, data).
    """
    from safetensors.torch import save_file

    model = getattr(model, "module", model)
    prefix = Path(path_prefix)
    if prefix.suffix in (".json", ".safetensors"):
        prefix = prefix.with_suffix("")
    prefix.parent.mkdir(parents=True, exist_ok=True)
    weights = prefix.with_name(prefix.name + ".safetensors")
    meta = prefix.with_name(prefix.name + ".json")
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    with atomic_path(weights) as tmp:
        save_file(state, str(tmp), metadata={"format": FORMAT})
    doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "weights": weights.name,
           "sha256": sha256_file(weights), "config": config.to_dict(), "preprocessing": preprocessing.to_dict(),
           "edfgen_version": __version__, "metadata": metadata or {}}
    with atomic_write(meta) as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    for f in (weights, meta):
        f.chmod(0o644)
    return meta


def load_checkpoint(name_or_path: str | Path = DEFAULT_CHECKPOINT, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a checkpoint by shipped name (``"small"``, ``"tiny"``) or path; verify it; return the model in eval mode.

    Raises
    ------
    CheckpointError
        Missing/unreadable files, unknown format, sha256 mismatch, or any missing/unexpected key or
        shape mismatch between the JSON architecture and the weights (message names file and key).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    meta = resolve_checkpoint(name_or_path)
    try:
        doc = json.loads(meta.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{meta}: unreadable checkpoint JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{meta}: not an edfgen checkpoint (format {doc.get('format') if isinstance(doc, dict) else None!r})")
    for key in ("weights", "sha256", "config", "preprocessing"):
        if key not in doc:
            raise CheckpointError(f"{meta}: missing key {key!r}")
    if not isinstance(doc["weights"], str) or not doc["weights"]:
        raise CheckpointError(f"{meta}: 'weights' must be a file name, got {doc['weights']!r}")
    weights = meta.parent / doc["weights"]
    rel = Path(os.path.normpath(doc["weights"]))  # lexical: a symlinked weights file is fine
    if rel.is_absolute() or rel.parts[0] == ".." or rel.drive:
        raise CheckpointError(f"{meta}: weights path {doc['weights']!r} is outside the checkpoint folder "
                              f"{meta.parent} (give a path relative to the JSON, inside its folder)")
    if not weights.exists():
        raise CheckpointError(f"{meta}: weights file {weights} missing")
    digest = sha256_file(weights)
    if digest != doc["sha256"]:
        raise CheckpointError(f"{weights}: sha256 {digest[:12]}… does not match {meta.name} ({str(doc['sha256'])[:12]}…)")
    try:
        config = ModelConfig.from_dict(doc["config"])
        preprocessing = Preprocessing.from_dict(doc["preprocessing"])
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{meta}: bad config: {exc}") from None
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights}: unreadable safetensors ({exc})") from None
    model = ECGEncoder(config)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing:
        raise CheckpointError(f"{weights}: missing key {missing[0]!r} for config {config.name!r}"
                              + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""))
    if unexpected:
        raise CheckpointError(f"{weights}: unexpected key {unexpected[0]!r} for config {config.name!r}"
                              + (f" (+{len(unexpected) - 1} more)" if len(unexpected) > 1 else ""))
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise CheckpointError(f"{weights}: key {k!r} has shape {tuple(state[k].shape)}, config "
                                  f"{config.name!r} needs {tuple(v.shape)}")
    for k in expected:  # one NaN weight would give all-NA EDFs downstream
        if not bool(torch.isfinite(state[k]).all()):
            n_bad = int((~torch.isfinite(state[k])).sum())
            raise CheckpointError(f"{weights}: tensor {k!r} has {n_bad} non-finite value(s) (NaN/inf); "
                                  f"the checkpoint is corrupt or training diverged")
    model.load_state_dict(state, strict=True)
    model.to(device).eval()
    return LoadedModel(model=model, config=config, preprocessing=preprocessing, sha256=digest, path=meta,
                       metadata=doc.get("metadata", {}))
