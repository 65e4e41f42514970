"""Checkpoints: safetensors weights + a JSON sidecar (architecture, preprocessing, sha256). Never pickle.

A checkpoint ``<prefix>`` is two files:

``<prefix>.safetensors``
    The encoder's ``state_dict`` (float32 tensors).
``<prefix>.json``
    ``{"format": "edfgen-checkpoint", "format_version": 1, "weights": "<prefix>.safetensors",
    "sha256": "<hex of the weights file>", "config": ModelConfig.to_dict(),
    "preprocessing": Preprocessing.to_dict(), "edfgen_version": ..., "metadata": {...}}``.

:func:`load_checkpoint` checks, in this order and before anything is allocated: the JSON, every config
value's type and range (:class:`~edfgen.model.config.ModelConfig`, :class:`Preprocessing`), the weights
entry (a regular file inside the checkpoint's folder), the safetensors header against the file size and
every key and shape against the architecture (computed on the ``meta`` device), then the sha256; only then
are the weights read and the model built, and a non-finite weight refused. Each failure is a one-line
:class:`~edfgen.exceptions.CheckpointError` naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch

from edfgen import DEFAULT_CHECKPOINT, __version__  # DEFAULT_CHECKPOINT re-exported
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.exceptions import CheckpointError, ConfigError
from edfgen.formats.atomic import chmod_as_created
from edfgen.formats.tables import atomic_path, atomic_write
from edfgen.model.config import ModelConfig
from edfgen.model.encoder import ECGEncoder
from edfgen.formats.manifest import finite_json, sha256_file

FORMAT = "edfgen-checkpoint"
FORMAT_VERSION = 1
#: directory of the checkpoints shipped inside the package
PACKAGE_DIR = Path(__file__).resolve().parents[1] / "checkpoints"
#: suffixes of PyTorch pickles (``torch.save``), which are refused with a hint rather than "not found"
TORCH_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin")


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

    def __repr__(self) -> str:  # the dataclass repr printed the whole module tree (5,000+ characters in a notebook)
        m = self.model
        where = next(m.parameters()).device
        head = f", head of {len(self.config.labels)} label(s)" if self.config.labels else ""
        return (f"LoadedModel({self.config.name!r}, width={self.config.width}{head}, "
                f"{self.preprocessing.sampling_rate:g} Hz, {'train' if m.training else 'eval'} on {where}, "
                f"sha256={self.sha256[:12]}…, path={str(self.path)!r})")


def resolve_checkpoint(name_or_path: str | Path) -> Path:
    """The JSON path of a shipped name (``tiny``), a prefix, a ``.json`` or a ``.safetensors`` path."""
    if not str(name_or_path).strip():  # was: ValueError "PosixPath('.') has an empty name" traceback
        shipped = sorted(q.stem for q in PACKAGE_DIR.glob("*.json"))
        raise CheckpointError(f"checkpoint '': empty; give a shipped name ({', '.join(shipped)}) or a checkpoint "
                              f"prefix or .json path")
    p = Path(name_or_path)
    if isinstance(name_or_path, str) and "/" not in name_or_path and not p.suffix:
        shipped = PACKAGE_DIR / f"{name_or_path}.json"
        if shipped.exists():
            return shipped
    given = p
    if p.suffix == ".safetensors":
        p = p.with_suffix(".json")
    elif p.suffix != ".json":
        p = p.with_name(p.name + ".json")
    if not p.exists() and given.suffix.lower() in TORCH_SUFFIXES and given.is_file():
        raise CheckpointError(f"{given}: a PyTorch file is not read (unpickling it can run code); edfgen checkpoints "
                              f"are <prefix>.json + <prefix>.safetensors: load its state_dict into "
                              f"edfgen.model.ECGEncoder(config) in Python you trust and write it with "
                              f"edfgen.model.save_checkpoint(model, config, preprocessing, prefix)")
    if not p.exists() and given.is_dir():
        inside = sorted(str(q.with_suffix("")) for q in given.glob("*.json") if q.with_suffix(".safetensors").exists())
        raise CheckpointError(f"checkpoint {str(name_or_path)!r} is a folder: give the checkpoint's prefix "
                              f"({'there: ' + ', '.join(inside[:5]) if inside else 'no <name>.json + <name>.safetensors there'})")
    if not p.exists():
        shipped = sorted(q.stem for q in PACKAGE_DIR.glob("*.json"))
        raise CheckpointError(f"checkpoint {str(name_or_path)!r} not found ({p} missing; shipped: {shipped})")
    return p


def checkpoint_digest(name_or_path: str | Path) -> str:
    """The identity of a checkpoint by content, wherever it lies: a hex sha256 over the bytes of its JSON and of its
    weights file (named by the JSON's ``weights``, else ``<prefix>.safetensors``). ``edfgen run`` keys its extract
    stage by it, so the shipped checkpoint of another install, or a copy moved elsewhere, is the same checkpoint,
    while one retrained in place is not (review s34c #2).

    Parameters
    ----------
    name_or_path
        A shipped name (``tiny``), a prefix, a ``.json`` or a ``.safetensors`` path (:func:`resolve_checkpoint`).

    Returns
    -------
    str
        Hex sha256; the weights are read once per ``edfgen run`` (:func:`edfgen.formats.manifest.memoised_digests`).

    Raises
    ------
    CheckpointError
        The checkpoint is not found.
    """
    meta = resolve_checkpoint(name_or_path)
    try:
        weights = _weights_path(meta, json.loads(meta.read_text()).get("weights"))
    except (CheckpointError, OSError, ValueError, AttributeError):   # extract says what is wrong with it
        weights = meta.with_suffix(".safetensors")
    parts = [(meta, "json"), (weights, "weights")]
    text = "".join(f"{what}\0{sha256_file(f) if f.is_file() else 'absent'}\n" for f, what in parts)
    return hashlib.sha256(text.encode()).hexdigest()


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
    # both files complete (and the weights hashed) under temporary names before either is renamed: the window in
    # which a kill leaves a JSON and weights of different saves is the instant between the two renames
    # (pretrain never needs the checkpoint to resume: edfgen.model.train_state)
    with atomic_path(weights) as tmp_w, atomic_write(meta) as fh:
        save_file(state, str(tmp_w), metadata={"format": FORMAT})
        chmod_as_created(tmp_w)     # safetensors writes 0600: the umask decides, as for every output (review s33a F6)
        doc = {"format": FORMAT, "format_version": FORMAT_VERSION, "weights": weights.name,
               "sha256": sha256_file(tmp_w), "config": config.to_dict(), "preprocessing": preprocessing.to_dict(),
               "edfgen_version": __version__, "metadata": metadata or {}}
        json.dump(finite_json(doc), fh, indent=1, allow_nan=False)   # strict JSON: a NaN in the metadata is null
        fh.write("\n")
        fh.flush()
    return meta


#: safetensors dtypes a checkpoint may store (bytes per value); weights are loaded as float32
_ST_DTYPES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}
#: the largest safetensors header read (the JSON index of tensors; a few hundred kB for 600 M parameters)
_MAX_HEADER = 64 * 2 ** 20


def _weights_path(meta: Path, entry) -> Path:
    """The weights file named by a checkpoint JSON's ``weights`` entry: a file name relative to the JSON,
    inside its folder (lexically: a symlinked weights file is fine), that is a regular file."""
    if not isinstance(entry, str) or not entry.strip():
        raise CheckpointError(f"{meta}: 'weights' must be a file name, got {entry!r}")
    rel = Path(os.path.normpath(entry))
    if not rel.parts or rel.parts == (".",):  # "." and "./" name the checkpoint's folder itself
        raise CheckpointError(f"{meta}: weights {entry!r} is a folder, not a .safetensors file")
    if rel.is_absolute() or rel.parts[0] == ".." or rel.drive:
        raise CheckpointError(f"{meta}: weights path {entry!r} is outside the checkpoint folder "
                              f"{meta.parent} (give a path relative to the JSON, inside its folder)")
    weights = meta.parent / rel
    if weights.is_dir():
        raise CheckpointError(f"{meta}: weights {entry!r} is a folder, not a .safetensors file")
    if not weights.exists():
        raise CheckpointError(f"{meta}: weights file {weights} missing")
    if not weights.is_file():
        raise CheckpointError(f"{meta}: weights {entry!r} is not a regular file")
    return weights


def read_safetensors_header(path: Path) -> dict:
    """The tensor index of a ``.safetensors`` file (name -> ``{dtype, shape, data_offsets}``), validated
    against the file's size without reading any tensor.

    Format: an 8-byte little-endian header length ``N``, ``N`` bytes of JSON, then the tensor bytes;
    each tensor's ``data_offsets`` ``[begin, end)`` are relative to the end of the header.

    Raises
    ------
    CheckpointError
        A header that is truncated, not JSON, or names a tensor whose dtype is not a float type, whose
        shape is not a list of non-negative integers, or whose bytes do not fit ``shape x dtype`` inside
        the file.

    References
    ----------
    Hugging Face, "safetensors" format specification (github.com/huggingface/safetensors, README "Format").
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(8)
            n = int.from_bytes(head, "little") if len(head) == 8 else -1
            if n < 2 or n > min(_MAX_HEADER, size - 8):
                raise CheckpointError(f"{path}: not a safetensors file (header length {n}, file size {size} bytes)")
            doc = json.loads(fh.read(n))
    except CheckpointError:    # a ValueError too: not to be reworded as 'not JSON' below
        raise
    except OSError as exc:
        raise CheckpointError(f"{path}: unreadable weights file ({exc.strerror or exc})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: safetensors header is not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"{path}: safetensors header is not a JSON object")
    data = size - 8 - n
    tensors = {}
    for name, info in doc.items():
        if name == "__metadata__":
            continue
        ok = isinstance(info, dict) and info.get("dtype") in _ST_DTYPES and isinstance(info.get("shape"), list) \
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in info["shape"]) \
            and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2 \
            and all(isinstance(o, int) and not isinstance(o, bool) for o in info["data_offsets"])
        if not ok:
            raise CheckpointError(f"{path}: tensor {name!r}: bad safetensors entry {str(info)[:80]} "
                                  f"(need a float dtype {sorted(_ST_DTYPES)}, a shape and data_offsets)")
        begin, end = info["data_offsets"]
        nbytes = math.prod(info["shape"]) * _ST_DTYPES[info["dtype"]]
        if not 0 <= begin <= end <= data or end - begin != nbytes:
            raise CheckpointError(f"{path}: tensor {name!r} ({info['dtype']} {info['shape']}) needs {nbytes} bytes "
                                  f"at offsets {begin}-{end} of {data}: the file is truncated or corrupt")
        tensors[name] = info
    return tensors


class _SkipInit(torch.overrides.TorchFunctionMode):
    """Skip weight initialisation (``torch.nn.init.*``, ``Tensor.normal_``/``uniform_``): on the ``meta``
    device it computes nothing, but ``normal_`` there goes through PyTorch's Python decompositions, whose
    first use imports the compiler stack (~5 s)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in ("normal_", "uniform_") or (name.endswith("_") and getattr(func, "__module__", "") == "torch.nn.init"):
            tensor = args[0] if args else kwargs.get("tensor")
            if isinstance(tensor, torch.Tensor):
                return tensor
        return func(*args, **kwargs)


def expected_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Name -> shape of every tensor of the encoder ``config`` describes, built on PyTorch's ``meta``
    device without initialisation (no memory is allocated, whatever the size of the architecture:
    0.2 s for ``lfm-600m``)."""
    with torch.device("meta"), _SkipInit():
        model = ECGEncoder(config)
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def _check_header(weights: Path, header: dict, expected: dict[str, tuple[int, ...]], config: ModelConfig) -> None:
    """Keys and shapes of the safetensors index against the architecture, before anything is allocated."""
    missing = sorted(set(expected) - set(header))
    unexpected = sorted(set(header) - set(expected))
    if missing:
        raise CheckpointError(f"{weights}: missing key {missing[0]!r} for config {config.name!r}"
                              + (f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""))
    if unexpected:
        raise CheckpointError(f"{weights}: unexpected key {unexpected[0]!r} for config {config.name!r}"
                              + (f" (+{len(unexpected) - 1} more)" if len(unexpected) > 1 else ""))
    for k, shape in expected.items():
        if tuple(header[k]["shape"]) != shape:
            raise CheckpointError(f"{weights}: key {k!r} has shape {tuple(header[k]['shape'])}, config "
                                  f"{config.name!r} needs {shape}")


def read_checkpoint_json(name_or_path: str | Path) -> tuple[Path, dict]:
    """The path and document of a checkpoint's JSON, checked to be an edfgen checkpoint with a valid config
    (its weights are not read).

    Raises
    ------
    CheckpointError
        Not found, not JSON, another format or ``format_version``, a missing key or a bad config: one line naming
        the file (and, for a bad config, the edfgen version that wrote it when it is not this one).
    """
    meta = resolve_checkpoint(name_or_path)
    try:
        doc = json.loads(meta.read_text())
    except (OSError, ValueError, RecursionError) as exc:  # ValueError: not JSON, not UTF-8
        raise CheckpointError(f"{meta}: unreadable checkpoint JSON ({' '.join(str(exc).split())[:200]})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise CheckpointError(f"{meta}: not an edfgen checkpoint (format {doc.get('format') if isinstance(doc, dict) else None!r})")
    version = doc.get("format_version", FORMAT_VERSION)   # a hand-written JSON without it: the first format
    if version != FORMAT_VERSION or isinstance(version, bool):
        raise CheckpointError(f"{meta}: checkpoint format_version {version!r} (written by edfgen "
                              f"{doc.get('edfgen_version', '?')}); this edfgen {__version__} reads format_version "
                              f"{FORMAT_VERSION}: load it with the edfgen that wrote it")
    for key in ("weights", "sha256", "config", "preprocessing"):
        if key not in doc:
            raise CheckpointError(f"{meta}: missing key {key!r}")
    try:
        ModelConfig.from_dict(doc["config"])
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{meta}: bad config: {exc}{_other_version(doc)}") from None
    checkpoint_preprocessing(meta, doc)
    return meta, doc


def _other_version(doc: dict) -> str:
    """``" (written by edfgen X; this is edfgen Y)"`` when the checkpoint's ``edfgen_version`` is not this one (a key a
    newer edfgen added reads 'unknown key' otherwise), else ``""``."""
    other = doc.get("edfgen_version")
    return f" (written by edfgen {other}; this is edfgen {__version__})" if other not in (None, __version__) else ""


def checkpoint_preprocessing(meta: Path, doc: dict) -> Preprocessing:
    """The preprocessing a checkpoint's inputs must have (``doc`` from :func:`read_checkpoint_json`)."""
    try:
        return Preprocessing.from_dict(doc["preprocessing"])
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{meta}: bad config: {exc}{_other_version(doc)}") from None


def load_checkpoint(name_or_path: str | Path = DEFAULT_CHECKPOINT, *, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a checkpoint by shipped name (``"small"``, ``"tiny"``) or path; verify it; return the model in eval mode.

    Raises
    ------
    CheckpointError
        Missing/unreadable files, unknown format, a config value of the wrong type or out of range, a
        weights entry that is not a file inside the checkpoint's folder, a truncated or corrupt
        safetensors header, any missing/unexpected key or shape mismatch between the JSON architecture
        and the weights (checked before anything is allocated), sha256 mismatch, or a non-finite weight.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    meta, doc = read_checkpoint_json(name_or_path)
    weights = _weights_path(meta, doc["weights"])
    config = ModelConfig.from_dict(doc["config"])
    preprocessing = checkpoint_preprocessing(meta, doc)
    if config.in_channels != len(preprocessing.leads):
        raise CheckpointError(f"{meta}: bad config: in_channels {config.in_channels} but preprocessing has "
                              f"{len(preprocessing.leads)} leads")
    expected = expected_shapes(config)  # on the meta device: nothing allocated
    _check_header(weights, read_safetensors_header(weights), expected, config)
    digest = sha256_file(weights)
    if digest != doc["sha256"]:
        raise CheckpointError(f"{weights}: sha256 {digest[:12]}… does not match {meta.name} ({str(doc['sha256'])[:12]}…)")
    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{weights}: unreadable safetensors ({exc})") from None
    model = ECGEncoder(config)
    for k in expected:  # one NaN weight would give all-NA EDFs downstream
        if not bool(torch.isfinite(state[k]).all()):
            n_bad = int((~torch.isfinite(state[k])).sum())
            raise CheckpointError(f"{weights}: tensor {k!r} has {n_bad} non-finite value(s) (NaN/inf); "
                                  f"the checkpoint is corrupt or training diverged")
    model.load_state_dict(state, strict=True)
    model.to(device).eval()
    return LoadedModel(model=model, config=config, preprocessing=preprocessing, sha256=digest, path=meta,
                       metadata=doc.get("metadata", {}))
