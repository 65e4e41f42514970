"""Where and in which precision a frozen encoder runs (``edfgen extract --device/--precision``).

``auto`` device: CUDA when available, else Apple MPS, else the CPU. ``auto`` precision: bfloat16 autocast
on a CUDA GPU that supports it (Ampere and later), float16 on an older one, float32 on the CPU and
MPS, so the CPU path is the float32 model, unchanged. Under autocast the matrix products run in the
low-precision type and the embeddings come back as float32 (the EDFs); the agreement with float32 is
checked in ``tests/test_extract_device.py`` (CPU bfloat16 autocast emulates the GPU path).

References
----------
PyTorch documentation, "Automatic Mixed Precision package - torch.amp" (``torch.autocast``).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from edfgen.exceptions import InputError

DEVICES = ("auto", "cpu", "cuda", "mps")     # (no torch import here: the options classes use these names)
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def resolve_device(device: str = "auto"):
    """The torch device of ``--device`` (one of :data:`DEVICES`); an unavailable one is an input error."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps is not None and mps.is_available())
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is visible to torch (torch.cuda.is_available() is False)")
    if device == "mps" and not has_mps:
        raise InputError("--device mps: Apple MPS is not available to torch")
    if device not in DEVICES:
        raise InputError(f"--device {device}: choose {', '.join(DEVICES)}")
    return torch.device(device)


def check_device_name(device: str | None) -> None:
    """Refuse a ``--device`` of ``edfgen pretrain`` that is not auto, cpu, cuda, cuda:N or mps (its spelling only:
    whether that device exists is :func:`resolve_train_device`'s check; no torch import, for option time)."""
    if device is None or device in DEVICES or re.fullmatch(r"cuda:\d+", device):
        return
    raise InputError(f"--device {device}: choose auto, cpu, cuda, cuda:N (a GPU index, e.g. cuda:0) or mps")


def resolve_train_device(device: str | None, local_rank: int = 0):
    """The torch device ``edfgen pretrain`` trains on, always with an index for CUDA (``torch.cuda.set_device``
    refuses a bare ``cuda``).

    Parameters
    ----------
    device
        ``None`` or ``"auto"`` (CUDA when available, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
    local_rank
        This process's GPU under ``torchrun`` (``LOCAL_RANK``; 0 for a single process): the index of ``cuda``.

    Returns
    -------
    torch.device
        ``cuda:N`` for CUDA. An unknown name, or a GPU that torch does not see, is an :class:`InputError`.
    """
    import torch

    check_device_name(device)
    if device in (None, "auto"):
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        device = f"cuda:{local_rank}"
    if not device.startswith("cuda:"):
        return resolve_device(device)
    if not torch.cuda.is_available():
        raise InputError(f"--device {device}: no CUDA GPU is visible to torch (torch.cuda.is_available() is False)")
    n = torch.cuda.device_count()
    if int(device.split(":")[1]) >= n:
        raise InputError(f"--device {device}: torch sees {n} CUDA GPU(s), cuda:0 to cuda:{n - 1}")
    return torch.device(device)


def resolve_precision(precision: str, device) -> str:
    """``fp32``, ``bf16`` or ``fp16`` for ``--precision`` on ``device`` (``auto``: see module docstring)."""
    import torch

    if precision not in PRECISIONS:
        raise InputError(f"--precision {precision}: choose {', '.join(PRECISIONS)}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def autocast_encoder(encoder, precision: str):
    """``encoder`` (a torch module) wrapped so that its ``embed`` runs under ``torch.autocast`` in
    ``precision`` (``bf16``/``fp16``) and returns float32; its parameters stay those of ``encoder``."""
    import torch

    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]

    class AutocastEncoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = encoder

        def embed(self, x, *, check_units: bool = True):
            x = torch.as_tensor(x)        # (a numpy array has no .device; check_input moves it to the weights')
            with torch.autocast(device_type=next(self.encoder.parameters()).device.type, dtype=dtype):
                return self.encoder.embed(x, check_units=check_units).float()

    return AutocastEncoder().eval()


def load_model(checkpoint: Any, device: str = "cpu", precision: str = "fp32"):
    """A :class:`~edfgen.model.checkpoint.LoadedModel` on ``device`` in ``precision``: ``checkpoint`` is a
    shipped name, a path or an already loaded model (moved when another device is asked for)."""
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    if hasattr(checkpoint, "model") and hasattr(checkpoint, "preprocessing"):
        loaded = checkpoint
        if next(loaded.model.parameters()).device != dev:
            loaded.model.to(dev)     # (nn.Module.to moves the parameters in place)
    else:
        from edfgen.model.checkpoint import load_checkpoint

        loaded = load_checkpoint(checkpoint, device=dev)
    if prec == "fp32":
        return loaded
    return dataclasses.replace(loaded, model=autocast_encoder(loaded.model, prec))
