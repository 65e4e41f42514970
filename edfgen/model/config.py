"""Named model configurations (timm ``default_cfgs`` style: factories over one frozen dataclass).

Four configs ship:

``tiny``
    The first CPU model (``edfgen/checkpoints/tiny.*``, pre-trained on simulated ECGs only):
    ~0.6 M parameters, 61 frames per 5 s crop (conv stride 40 = 80 ms frames), width 96, 4 + 2
    transformer layers; ~1300 crops/s on 2 CPU cores. Its 80 ms hop cannot localise QRS boundaries.
``small``
    The default encoder (``edfgen/checkpoints/small.*``, pre-trained on real + simulated ECGs):
    conv stride 20 (40 ms frames, 124 per 5 s crop), width 128 (= 128 EDFs), 4 + 2 transformer
    layers, and an auxiliary head that keeps heart rate, PR, QRS, QT and the QRS axis linearly
    decodable from the pooled embedding (:mod:`edfgen.model.targets`).
``base``
    A GPU model: conformer blocks, width 512, 8 + 4 layers.
``lfm-600m``
    The paper's size (w2v-BERT 0.6B-like): 24 conformer layers in total (12 contrastive + 12 masked
    prediction), width 1024, FFN 4096, 16 heads, ~600 M parameters.

A config is architecture *and* pre-training objective (mask and loss settings), as in fairseq's
``Wav2Vec2Config``; it is stored beside the weights in every checkpoint JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Callable

from edfgen.exceptions import ConfigError
from edfgen.kernels.validate import check_ranges, checked_fields

ConvSpec = tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class _ConvLayer:
    channels: int
    kernel: int
    stride: int


#: bounds of every numeric setting (generous: 2-16x the largest shipped config, so that a typo such as a
#: negative size or a width of 10^6 is refused before a model is built from it)
_CONV_RANGES = {"channels": (1, 8192), "kernel": (1, 4096), "stride": (1, 1024)}
_RANGES = {
    "in_channels": (1, 64), "input_scale_mv": (0.0, 1e6, "open"), "input_clip": (0.0, 1e6, "open"),
    "width": (1, 8192), "depth": (0, 256), "mlm_depth": (0, 256), "heads": (1, 256), "ffn": (1, 65536),
    "conformer_kernel": (1, 1024), "pos_conv_kernel": (1, 4096), "pos_conv_groups": (1, 8192),
    "codebook_groups": (1, 64), "codebook_size": (1, 65536), "codevector_dim": (1, 8192), "final_dim": (1, 8192),
    "gumbel_temp": (0.0, 1e6, "open"), "mask_prob": (0.0, 1.0), "mask_length": (1, 10000),
    "num_negatives": (1, 100000), "logit_temp": (0.0, 1e3, "open"), "cmsc_dim": (1, 8192),
    "cmsc_temp": (0.0, 1e3, "open"), "dropout": (0.0, 0.99), "loss_contrastive": (0.0, 1e6),
    "loss_mlm": (0.0, 1e6), "loss_cmsc": (0.0, 1e6), "loss_diversity": (0.0, 1e6), "loss_aux": (0.0, 1e6),
}


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and pre-training objective of an :class:`~edfgen.model.encoder.ECGEncoder`.

    Attributes
    ----------
    name
        Config name (``tiny``, ``base``, ``lfm-600m`` or a user name).
    in_channels
        Input leads (12, canonical order ``I, II, III, aVR, aVL, aVF, V1-V6``).
    input_scale_mv, input_clip
        Internal input normalisation: the encoder computes ``clamp(x / input_scale_mv, ±input_clip)``
        (unit gain for ordinary ECG amplitudes, artefacts clipped), so callers feed filtered signals in
        **millivolts** and never standardise them (no per-record z-scoring: amplitudes are phenotypes).
    conv_layers
        Feature extractor, ``(channels, kernel, stride)`` per 1-D convolution (channel layer norm + GELU);
        the product of strides is the frame hop in samples (40 = 80 ms at 500 Hz).
    width
        Transformer model dimension (= EDF dimension).
    depth
        Context-network layers that feed the wav2vec 2.0 contrastive loss.
    mlm_depth
        Further layers (w2v-BERT masked-prediction module) whose output predicts code indices; the
        EDFs are the output of the *last* of the ``depth + mlm_depth`` layers.
    heads, ffn
        Attention heads and feed-forward hidden size.
    block
        ``"transformer"`` (pre-LN self-attention + FFN) or ``"conformer"`` (macaron FFNs, self-attention
        and a depthwise-convolution module, as in w2v-BERT).
    conformer_kernel
        Depthwise kernel of the conformer convolution module.
    pos_conv_kernel, pos_conv_groups
        Convolutional relative positional embedding (wav2vec 2.0).
    codebook_groups, codebook_size, codevector_dim
        Gumbel-softmax product quantizer: ``groups`` codebooks of ``size`` entries, concatenated to
        ``codevector_dim``.
    final_dim
        Dimension of the space in which contrastive similarities are computed.
    gumbel_temp
        ``(start, end, decay per update)`` of the Gumbel-softmax temperature.
    mask_prob, mask_length
        Span masking: each frame starts a span of ``mask_length`` frames with probability
        ``mask_prob / mask_length`` (so ≈ ``1 - (1 - p/L)^L`` of frames are masked).
    num_negatives
        Distractors per masked frame for the contrastive loss (sampled from the same crop).
    logit_temp
        Temperature of the contrastive (cosine similarity) logits.
    cmsc_dim, cmsc_temp
        Projection dimension and temperature of the CMSC InfoNCE loss.
    dropout
        Dropout in the transformer and on features.
    loss_contrastive, loss_mlm, loss_cmsc, loss_diversity
        Loss weights (the total pre-training loss is their weighted sum; each is logged separately).
    labels
        Disease labels of a fine-tuned model (empty for a pre-trained encoder); a non-empty tuple
        adds a linear multi-label head on the pooled embedding.
    aux_targets, loss_aux
        Auxiliary measurement targets (names from :data:`edfgen.model.targets.AUX_TARGETS`) that a
        linear head on the pooled final layer predicts during pre-training, and the weight of that
        (masked smooth-L1) loss. Targets are measured from the signals (simulator physiology,
        classical delineation of real ECGs), never diagnoses; empty = no auxiliary head.
    """

    name: str = "tiny"
    in_channels: int = 12
    input_scale_mv: float = 1.0
    input_clip: float = 8.0
    conv_layers: ConvSpec = ((32, 10, 5), (64, 5, 2), (96, 4, 2), (96, 2, 2))
    width: int = 96
    depth: int = 4
    mlm_depth: int = 2
    heads: int = 4
    ffn: int = 192
    block: str = "transformer"
    conformer_kernel: int = 15
    pos_conv_kernel: int = 31
    pos_conv_groups: int = 8
    codebook_groups: int = 2
    codebook_size: int = 64
    codevector_dim: int = 64
    final_dim: int = 64
    gumbel_temp: tuple[float, float, float] = (2.0, 0.5, 0.999)
    mask_prob: float = 0.5
    mask_length: int = 3
    num_negatives: int = 20
    logit_temp: float = 0.1
    cmsc_dim: int = 64
    cmsc_temp: float = 0.1
    dropout: float = 0.1
    loss_contrastive: float = 1.0
    loss_mlm: float = 1.0
    loss_cmsc: float = 1.0
    loss_diversity: float = 0.1
    labels: tuple[str, ...] = ()
    aux_targets: tuple[str, ...] = ()
    loss_aux: float = 0.0

    def __post_init__(self):
        what = f"ModelConfig {self.name!r}"
        if not self.conv_layers or len(self.conv_layers) > 32:
            raise ConfigError(f"{what}: conv_layers must hold 1 to 32 (channels, kernel, stride) layers, "
                              f"got {len(self.conv_layers)}")
        for i, layer in enumerate(self.conv_layers):
            if len(layer) != 3:
                raise ConfigError(f"{what}: conv_layers[{i}] must be (channels, kernel, stride), got {list(layer)}")
            check_ranges(f"{what} conv_layers[{i}]", _ConvLayer(*layer), _CONV_RANGES)
        check_ranges(what, self, _RANGES)
        if self.depth + self.mlm_depth < 1:
            raise ConfigError(f"{what}: depth + mlm_depth must be >= 1 (the EDFs are the last layer's output)")
        if not 0 < self.gumbel_temp[2] <= 1 or self.gumbel_temp[1] > self.gumbel_temp[0]:
            raise ConfigError(f"{what}: gumbel_temp (start, end, decay) needs end <= start and 0 < decay <= 1, "
                              f"got {list(self.gumbel_temp)}")
        if len(set(self.labels)) != len(self.labels) or any(not str(v).strip() for v in self.labels):
            raise ConfigError(f"{what}: labels must be distinct non-empty names")
        if self.block not in ("transformer", "conformer"):
            raise ConfigError(f"ModelConfig {self.name!r}: block must be 'transformer' or 'conformer', got {self.block!r}")
        if self.width % self.heads:
            raise ConfigError(f"ModelConfig {self.name!r}: width {self.width} not divisible by heads {self.heads}")
        if self.codevector_dim % self.codebook_groups:
            raise ConfigError(f"ModelConfig {self.name!r}: codevector_dim {self.codevector_dim} "
                              f"not divisible by codebook_groups {self.codebook_groups}")
        if self.width % self.pos_conv_groups:
            raise ConfigError(f"ModelConfig {self.name!r}: width {self.width} not divisible by "
                              f"pos_conv_groups {self.pos_conv_groups}")
        if self.aux_targets:
            from edfgen.model.targets import check_targets

            check_targets(self.aux_targets)
        if not 0.0 < self.mask_prob < 1.0 or self.mask_length < 1:
            raise ConfigError(f"ModelConfig {self.name!r}: need 0 < mask_prob < 1 and mask_length >= 1")

    @property
    def stride(self) -> int:
        """Frame hop of the feature extractor in samples."""
        s = 1
        for _, _, st in self.conv_layers:
            s *= st
        return s

    def frames(self, samples: int) -> int:
        """Frames the feature extractor produces for ``samples`` input samples (no padding)."""
        t = samples
        for _, k, s in self.conv_layers:
            t = (t - k) // s + 1
        return t

    def to_dict(self) -> dict:
        d = asdict(self)
        d["conv_layers"] = [list(c) for c in self.conv_layers]
        d["gumbel_temp"] = list(self.gumbel_temp)
        d["labels"] = list(self.labels)
        d["aux_targets"] = list(self.aux_targets)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = checked_fields(cls, d, what="ModelConfig")
        if "conv_layers" in d:
            d["conv_layers"] = tuple(tuple(int(v) for v in c) for c in d["conv_layers"])
        if "gumbel_temp" in d:
            d["gumbel_temp"] = tuple(float(v) for v in d["gumbel_temp"])
        if "labels" in d:
            d["labels"] = tuple(str(v) for v in d["labels"])
        if "aux_targets" in d:
            d["aux_targets"] = tuple(str(v) for v in d["aux_targets"])
        return cls(**d)

    def replace(self, **changes) -> "ModelConfig":
        return replace(self, **changes)


def _tiny() -> ModelConfig:
    return ModelConfig()


def _small() -> ModelConfig:
    return ModelConfig(
        name="small", conv_layers=((64, 10, 5), (128, 3, 2), (128, 3, 2)), width=128, depth=4, mlm_depth=2,
        heads=4, ffn=256, codebook_groups=2, codebook_size=64, codevector_dim=64, final_dim=64, cmsc_dim=64,
        mask_prob=0.5, mask_length=5, num_negatives=20,
        aux_targets=("heart_rate", "pr_interval", "qrs_duration", "qt_interval", "qrs_axis_sin", "qrs_axis_cos"),
        loss_aux=1.0)


def _base() -> ModelConfig:
    return ModelConfig(
        name="base", conv_layers=((256, 10, 5), (256, 4, 2), (512, 4, 2)), width=512, depth=8, mlm_depth=4,
        heads=8, ffn=2048, block="conformer", conformer_kernel=31, codebook_groups=2, codebook_size=320,
        codevector_dim=256, final_dim=256, cmsc_dim=256, mask_prob=0.65, mask_length=10, num_negatives=100,
        gumbel_temp=(2.0, 0.5, 0.999995))


def _lfm600m() -> ModelConfig:
    return ModelConfig(
        name="lfm-600m", conv_layers=((512, 10, 5), (512, 4, 2), (512, 4, 2)), width=1024, depth=12,
        mlm_depth=12, heads=16, ffn=4096, block="conformer", conformer_kernel=31, pos_conv_kernel=127,
        pos_conv_groups=16, codebook_groups=2, codebook_size=320, codevector_dim=768, final_dim=768,
        cmsc_dim=256, mask_prob=0.65, mask_length=10, num_negatives=100, gumbel_temp=(2.0, 0.5, 0.999995))


#: name -> factory; ``get_config(name)`` builds a fresh :class:`ModelConfig`.
CONFIGS: dict[str, Callable[[], ModelConfig]] = {"tiny": _tiny, "small": _small, "base": _base, "lfm-600m": _lfm600m}


def get_config(name: str) -> ModelConfig:
    """The named config (``tiny``, ``base``, ``lfm-600m``); unknown names raise :class:`ConfigError`."""
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ConfigError(f"unknown model config {name!r}; choose one of {sorted(CONFIGS)}") from None
