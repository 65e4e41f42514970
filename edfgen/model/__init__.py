"""The ECG encoder: configs, architecture, losses, pre-training, fine-tuning and checkpoints.

Public API::

    from edfgen.model import get_config, ECGEncoder, load_checkpoint, save_checkpoint
"""

from edfgen.model.checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from edfgen.model.config import CONFIGS, ModelConfig, get_config
from edfgen.model.encoder import ECGEncoder, count_parameters

__all__ = ["CONFIGS", "ECGEncoder", "LoadedModel", "ModelConfig", "count_parameters", "get_config",
           "load_checkpoint", "save_checkpoint"]
