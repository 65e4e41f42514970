"""The ECG encoder: configs, architecture, losses, pre-training, fine-tuning and checkpoints.

Public API::

    from edfgen.model import get_config, ECGEncoder, load_checkpoint, save_checkpoint
"""

import os

# torch's OpenMP threads spin while they wait for each other (libgomp's default). On cores shared with
# anything else (extract's reader process, other jobs) a spinning thread holds the core its partner needs:
# 2-thread extraction ran 1.6x slower and used 1.6x the CPU of passive waiting under load, for the same
# bits (benchmarks/results/extract_defaults_loaded_probe.md). Set before torch loads libgomp; a value the
# user set wins. (OpenBLAS, Hail and the readers do not read it.)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from edfgen.model.checkpoint import LoadedModel, load_checkpoint, save_checkpoint  # noqa: E402
from edfgen.model.config import CONFIGS, ModelConfig, get_config  # noqa: E402
from edfgen.model.encoder import ECGEncoder, count_parameters  # noqa: E402

__all__ = ["CONFIGS", "ECGEncoder", "LoadedModel", "ModelConfig", "count_parameters", "get_config",
           "load_checkpoint", "save_checkpoint"]
