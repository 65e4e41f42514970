"""``edfgen model info``: a config's size and shapes without allocating it."""

from __future__ import annotations

from edfgen.exceptions import ConfigError
from edfgen.kernels.ecg.preprocessing_config import Preprocessing
from edfgen.model.checkpoint import load_checkpoint
from edfgen.model.config import get_config
from edfgen.model.encoder import count_parameters


def model_info(*, config_name: str | None = None, checkpoint: str | None = None) -> dict:
    """Summary of a named config or a checkpoint: parameters (meta device), frames per crop, width, depth.

    Returns
    -------
    dict
        ``name, parameters, encoder_parameters, width, depth, mlm_depth, layers, heads, ffn, block,
        frames_per_crop, frame_hop_ms, crop_samples, sampling_rate, config, preprocessing`` (the checkpoint's:
        sampling rate, leads, window, crops, filters; the default for a named config) (+ ``sha256, path,
        metadata`` for a checkpoint: the training command and settings).
    """
    if (config_name is None) == (checkpoint is None):
        raise ConfigError("model info: give exactly one of --config or --checkpoint")
    extra = {}
    if checkpoint is not None:
        loaded = load_checkpoint(checkpoint)
        cfg, prep = loaded.config, loaded.preprocessing
        extra = {"sha256": loaded.sha256, "path": str(loaded.path), "metadata": loaded.metadata}
    else:
        cfg, prep = get_config(config_name), Preprocessing()
    return {"name": cfg.name, "parameters": count_parameters(cfg), "encoder_parameters": count_parameters(cfg, heads=False),
            "width": cfg.width, "depth": cfg.depth, "mlm_depth": cfg.mlm_depth, "layers": cfg.depth + cfg.mlm_depth,
            "heads": cfg.heads, "ffn": cfg.ffn, "block": cfg.block, "frames_per_crop": cfg.frames(prep.crop_samples),
            "frame_hop_ms": 1000.0 * cfg.stride / prep.sampling_rate, "crop_samples": prep.crop_samples,
            "sampling_rate": prep.sampling_rate, "config": cfg.to_dict(), "preprocessing": prep.to_dict(),
            **extra}
