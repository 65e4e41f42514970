"""The ECG encoder: a w2v-BERT-style model with a CMSC patient-contrastive objective, plain PyTorch.

Pipeline order (as MAE's ``models_mae.py``): input scaling ▸ conv feature extractor ▸ layer norm +
projection ▸ span masking (learned mask embedding) ▸ convolutional positional embedding ▸ context
layers (contrastive loss against Gumbel-quantized conv features) ▸ masked-prediction layers (code
index cross-entropy) ▸ final norm. :meth:`ECGEncoder.forward_features` is where the frozen EDF
extractor cuts; :meth:`ECGEncoder.embed` averages it over time (the EDFs).

Shapes: ``x [N, 12, T]`` in millivolts at 500 Hz (``T = 2500`` for a 5 s crop) → ``[N, F, width]``
with ``F = config.frames(T)`` (125 for ``tiny``).

Input scale: the encoder computes ``clamp(x / config.input_scale_mv, -input_clip, input_clip)`` itself
(unit gain for ordinary amplitudes, artefacts beyond ±8 mV clipped), so callers feed band-passed
millivolts and never standardise them.

References
----------
Baevski A, et al. wav2vec 2.0. NeurIPS 2020. arXiv:2006.11477.
Chung Y-A, et al. w2v-BERT. ASRU 2021. arXiv:2108.06209.
Gulati A, et al. Conformer: Convolution-augmented Transformer for Speech Recognition. Interspeech 2020.
Kiyasseh D, et al. CLOCS. ICML 2021. arXiv:2005.13249.
McKeen K, et al. ECG-FM (fairseq-signals ``wav2vec2_cmsc``). arXiv:2408.05178.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from edfgen.exceptions import InputError
from edfgen.model.config import ModelConfig
from edfgen.model.losses import (aux_loss, cmsc_loss, contrastive_loss, diversity_loss, masked_prediction_loss,
                                 span_mask)
from edfgen.model.quantizer import GumbelQuantizer


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of ``[N, C, T]``."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: Tensor) -> Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class FeatureExtractor(nn.Module):
    """Strided 1-D convolutions over the 12 leads: ``[N, 12, T] -> [N, C, F]``."""

    def __init__(self, in_channels: int, layers):
        super().__init__()
        blocks = []
        c_in = in_channels
        for c, k, s in layers:
            blocks.append(nn.Sequential(nn.Conv1d(c_in, c, k, stride=s, bias=False), ChannelLayerNorm(c), nn.GELU()))
            c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.out_channels = c_in

    def forward(self, x: Tensor) -> Tensor:
        return self.blocks(x)


class FeedForward(nn.Module):
    def __init__(self, width: int, hidden: int, dropout: float, activation=nn.GELU):
        super().__init__()
        self.net = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, hidden), activation(), nn.Dropout(dropout),
                                 nn.Linear(hidden, width), nn.Dropout(dropout))

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class ConvModule(nn.Module):
    """Conformer convolution module: pointwise+GLU ▸ depthwise ▸ LayerNorm ▸ SiLU ▸ pointwise.

    LayerNorm replaces the paper's BatchNorm so that training (DDP, small batches) and inference agree.
    """

    def __init__(self, width: int, kernel: int, dropout: float):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.pw1 = nn.Linear(width, 2 * width)
        self.dw = nn.Conv1d(width, width, kernel, padding=kernel // 2, groups=width)
        self.norm2 = nn.LayerNorm(width)
        self.pw2 = nn.Linear(width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        y = F.glu(self.pw1(self.norm(x)), dim=-1)
        y = self.dw(y.transpose(1, 2)).transpose(1, 2)
        return self.drop(self.pw2(F.silu(self.norm2(y))))


class Block(nn.Module):
    """Pre-LN transformer block, or a conformer block (macaron FFN ▸ MHSA ▸ conv ▸ FFN ▸ LN). ``[N, F, W]``."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        w = cfg.width
        self.heads = cfg.heads
        self.dropout = cfg.dropout
        self.conformer = cfg.block == "conformer"
        act = nn.SiLU if self.conformer else nn.GELU
        self.norm_attn = nn.LayerNorm(w)
        self.qkv = nn.Linear(w, 3 * w)
        self.proj = nn.Linear(w, w)
        self.drop = nn.Dropout(cfg.dropout)
        self.ffn = FeedForward(w, cfg.ffn, cfg.dropout, act)
        if self.conformer:
            self.ffn0 = FeedForward(w, cfg.ffn, cfg.dropout, act)
            self.conv = ConvModule(w, cfg.conformer_kernel, cfg.dropout)
            self.norm_out = nn.LayerNorm(w)

    def attention(self, x: Tensor) -> Tensor:
        n, t, w = x.shape
        qkv = self.qkv(self.norm_attn(x)).view(n, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2],
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.drop(self.proj(y.transpose(1, 2).reshape(n, t, w)))

    def forward(self, x: Tensor) -> Tensor:
        if self.conformer:
            x = x + 0.5 * self.ffn0(x)
            x = x + self.attention(x)
            x = x + self.conv(x)
            x = x + 0.5 * self.ffn(x)
            return self.norm_out(x)
        x = x + self.attention(x)
        return x + self.ffn(x)


class ECGEncoder(nn.Module):
    """w2v-BERT + CMSC ECG encoder with its pre-training heads (and an optional multi-label head).

    Parameters
    ----------
    config
        A :class:`~edfgen.model.config.ModelConfig`.

    Examples
    --------
    >>> from edfgen.model.config import get_config
    >>> m = ECGEncoder(get_config("tiny")).eval()
    >>> m.embed(torch.zeros(2, 12, 2500)).shape
    torch.Size([2, 96])
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = cfg = config
        self.feature_extractor = FeatureExtractor(cfg.in_channels, cfg.conv_layers)
        c = self.feature_extractor.out_channels
        self.feature_norm = nn.LayerNorm(c)
        self.post_extract_proj = nn.Linear(c, cfg.width)
        self.feature_dropout = nn.Dropout(cfg.dropout)
        self.mask_emb = nn.Parameter(torch.empty(cfg.width).uniform_())
        self.pos_conv = nn.Conv1d(cfg.width, cfg.width, cfg.pos_conv_kernel, padding=cfg.pos_conv_kernel // 2,
                                  groups=cfg.pos_conv_groups)
        self.pos_norm = nn.LayerNorm(cfg.width)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.depth))
        self.context_norm = nn.LayerNorm(cfg.width)
        self.mlm_layers = nn.ModuleList(Block(cfg) for _ in range(cfg.mlm_depth))
        self.final_norm = nn.LayerNorm(cfg.width)
        # pre-training heads
        self.quantizer = GumbelQuantizer(c, groups=cfg.codebook_groups, size=cfg.codebook_size,
                                         dim=cfg.codevector_dim)
        self.project_q = nn.Linear(cfg.codevector_dim, cfg.final_dim)
        self.final_proj = nn.Linear(cfg.width, cfg.final_dim)
        self.mlm_head = nn.Linear(cfg.width, cfg.codebook_groups * cfg.codebook_size)
        self.cmsc_proj = nn.Sequential(nn.Linear(cfg.width, cfg.width), nn.GELU(), nn.Linear(cfg.width, cfg.cmsc_dim))
        self.classifier = nn.Linear(cfg.width, len(cfg.labels)) if cfg.labels else None
        self.aux_head = nn.Linear(cfg.width, len(cfg.aux_targets)) if cfg.aux_targets else None

    # -- pipeline -------------------------------------------------------------------------------
    def scale_input(self, x: Tensor) -> Tensor:
        """``clamp(x / input_scale_mv, ±input_clip)``: the encoder's own input normalisation. ``[N, 12, T]``."""
        c = self.config.input_clip
        return (x * (1.0 / self.config.input_scale_mv)).clamp_(-c, c)

    def extract(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Conv features. ``x [N, 12, T]`` mV -> (normed conv features ``[N, F, C]``, projected ``[N, F, W]``)."""
        f = self.feature_extractor(self.scale_input(x)).transpose(1, 2)
        f = self.feature_norm(f)
        return f, self.post_extract_proj(self.feature_dropout(f))

    def context(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """Positional embedding + all layers. ``h [N, F, W]`` -> (context-norm output, final-norm output)."""
        h = h + F.gelu(self.pos_conv(h.transpose(1, 2))).transpose(1, 2)
        h = self.feature_dropout(self.pos_norm(h))
        for layer in self.layers:
            h = layer(h)
        c = self.context_norm(h)
        for layer in self.mlm_layers:
            h = layer(h)
        return c, self.final_norm(h)

    def check_input(self, x, *, units: bool = True) -> Tensor:
        """``x`` as the encoder takes it: a float tensor ``[N, in_channels, T]`` in mV of the weights' dtype and device.

        A numpy array, another float dtype or a tensor on another device is converted. Sampling rate and lead order
        cannot be seen here: band-pass and resample with :func:`edfgen.kernels.ecg.preprocess.preprocess` (an
        ``EcgRecord`` with its rate and lead names) first.

        Parameters
        ----------
        x : torch.Tensor or numpy.ndarray
            The batch, ``[N, in_channels, T]`` mV.
        units : bool
            Refuse records whose median lead SD (the batch's median record) exceeds the clip level (``input_clip``
            mV: µV or counts; mV ECGs have ~0.1-0.5). ``False`` where
            :func:`~edfgen.kernels.ecg.preprocess.preprocess` has judged each record's amplitude already (extract,
            evaluate, fine-tuning): a batch-level check there would stop a run on a noisy record that the user's
            quality thresholds let through, depending on the batch it fell in.

        Returns
        -------
        torch.Tensor
            ``x`` as a float tensor of the weights' dtype on their device.

        Raises
        ------
        InputError
            In one line: a wrong layout (``[12, T]``, ``[N, T, 12]``), integer samples (ADC counts), too few samples
            for the conv front end, or (``units``) amplitudes not in mV.
        """
        cfg = self.config
        want = f"[N, {cfg.in_channels}, T] mV"
        w = next(self.parameters())
        if not isinstance(x, Tensor):
            x = torch.as_tensor(x, device=w.device)    # (on the weights' device: a CUDA model takes numpy too)
        if not x.dtype.is_floating_point:
            raise InputError(f"ECGEncoder: x has integer samples ({x.dtype}: ADC counts?); the encoder takes "
                             f"float {want}: divide the counts by the gain (counts per mV)")
        if x.ndim == 2 and cfg.in_channels in x.shape:
            raise InputError(f"ECGEncoder: x has shape {tuple(x.shape)}; the encoder takes a batch {want}: add the "
                             f"batch axis (x[None])" + (" after transposing [T, 12]" if x.shape[0] != cfg.in_channels else ""))
        if x.ndim != 3 or x.shape[1] != cfg.in_channels:
            hint = (": it looks like [N, T, 12], transpose it (x.transpose(1, 2))"
                    if x.ndim == 3 and x.shape[2] == cfg.in_channels else "")
            raise InputError(f"ECGEncoder: x has shape {tuple(x.shape)}, expected {want}{hint}")
        if cfg.frames(x.shape[2]) < 1:
            need = 1
            for _, k, stride in reversed(cfg.conv_layers):
                need = (need - 1) * stride + k
            raise InputError(f"ECGEncoder: x has {x.shape[2]} samples per lead: too short for the conv front end "
                             f"(at least {need}; edfgen feeds 5 s crops, 2500 samples at 500 Hz)")
        if x.dtype != w.dtype or x.device != w.device:
            x = x.to(w.device, w.dtype)
        limit = cfg.input_clip * cfg.input_scale_mv
        if not units:
            return x
        lo, hi = x.aminmax() if x.numel() else (x.new_zeros(()), x.new_zeros(()))
        if max(-float(lo), float(hi)) > limit / 2:   # else no SD can exceed it (SD <= max |x|): skip the costly pass
            # the batch's median record: a µV or ADC-count array is refused, while one artefact-laden record that a
            # user's looser quality threshold let through does not stop a whole extract run
            sd = float(x.float().std(dim=2).median(dim=1).values.median())
            if sd > limit:
                raise InputError(f"ECGEncoder: x's records have a median lead SD of {sd:.3g} (median over the batch), "
                                 f"above the encoder's clip level {limit:g} mV (mV ECGs: ~0.1-0.5): are the samples in "
                                 "µV or ADC counts? Give millivolts (µV / 1000)")
        return x

    def forward_features(self, x: Tensor, *, check_units: bool = True) -> Tensor:
        """Final-layer output without masking. ``x [N, 12, T]`` mV -> ``[N, F, width]`` (:meth:`check_input`; its units
        check unless ``check_units=False``: for preprocessed input)."""
        _, h = self.extract(self.check_input(x, units=check_units))
        return self.context(h)[1]

    def embed(self, x: Tensor, *, check_units: bool = True) -> Tensor:
        """EDFs: :meth:`forward_features` averaged over time. ``x [N, 12, T]`` -> ``[N, width]``."""
        return self.forward_features(x, check_units=check_units).mean(dim=1)

    def forward(self, x: Tensor, *, pretrain: bool = False, generator: torch.Generator | None = None,
                aux_targets: Tensor | None = None):
        """:meth:`embed`, or :meth:`pretrain_losses` when ``pretrain`` (DDP must call ``forward``)."""
        if pretrain:
            return self.pretrain_losses(x, generator=generator, aux_targets=aux_targets)
        return self.embed(x)

    def predict_logits(self, x: Tensor) -> Tensor:
        """Multi-label logits of a fine-tuned model. ``x [N, 12, T]`` -> ``[N, len(config.labels)]``."""
        if self.classifier is None:
            raise RuntimeError("this encoder has no classifier head (config.labels is empty)")
        return self.classifier(self.embed(x))

    # -- pre-training ---------------------------------------------------------------------------
    def set_num_updates(self, step: int) -> None:
        """Anneal the Gumbel temperature: ``max(start * decay**step, end)``."""
        start, end, decay = self.config.gumbel_temp
        self.quantizer.temperature = max(start * decay ** step, end)

    def pretrain_losses(self, crops: Tensor, *, generator: torch.Generator | None = None,
                        aux_targets: Tensor | None = None) -> dict[str, Tensor]:
        """All pre-training losses for a batch of recordings.

        Parameters
        ----------
        crops
            ``[B, 2, 12, T]`` mV: the two 5 s crops of each of ``B`` 10 s recordings (CMSC positives).
        aux_targets
            ``[B, K]`` standardised measurements of each recording (:func:`edfgen.model.targets.encode_targets`,
            NaN = missing) for the auxiliary head; ignored when the config has no ``aux_targets``.

        Returns
        -------
        dict
            ``loss`` (weighted total), ``contrastive``, ``mlm``, ``cmsc``, ``diversity``, ``aux`` and the
            diagnostics ``acc_contrastive``, ``acc_mlm``, ``acc_cmsc``, ``perplexity``, ``mask_frac``.
        """
        cfg = self.config
        b = crops.shape[0]
        x = crops.reshape(b * 2, *crops.shape[2:])
        feats, h = self.extract(x)
        n, t, _ = h.shape
        q = self.quantizer(feats)
        mask = span_mask(n, t, mask_prob=cfg.mask_prob, mask_length=cfg.mask_length, generator=generator,
                         device=h.device)
        h = torch.where(mask.unsqueeze(-1), self.mask_emb.to(h.dtype), h)
        c, final = self.context(h)
        targets = self.project_q(q.quantized)
        l_con, acc_con = contrastive_loss(self.final_proj(c), targets, mask, num_negatives=cfg.num_negatives,
                                          temperature=cfg.logit_temp, generator=generator)
        l_div = diversity_loss(q.perplexity, q.num_vars)
        mlm_logits = self.mlm_head(final).view(n, t, cfg.codebook_groups, cfg.codebook_size)
        l_mlm, acc_mlm = masked_prediction_loss(mlm_logits, q.codes.detach(), mask)
        pooled = final.mean(dim=1)
        z = self.cmsc_proj(pooled).view(b, 2, -1)
        l_cmsc, acc_cmsc = cmsc_loss(z[:, 0], z[:, 1], temperature=cfg.cmsc_temp)
        total = (cfg.loss_contrastive * l_con + cfg.loss_mlm * l_mlm + cfg.loss_cmsc * l_cmsc
                 + cfg.loss_diversity * l_div)
        l_aux = pooled.new_zeros(())
        if self.aux_head is not None and aux_targets is not None:
            # fit on the pooled output of the *masked* input (no second, unmasked pass: half the cost); the
            # EDFs are pooled from unmasked input, which carries at least the same information
            l_aux = aux_loss(self.aux_head(pooled).view(b, 2, -1),
                             aux_targets.to(pooled).unsqueeze(1).expand(b, 2, -1))
            total = total + cfg.loss_aux * l_aux
        return {"loss": total, "contrastive": l_con, "mlm": l_mlm, "cmsc": l_cmsc, "diversity": l_div, "aux": l_aux,
                "acc_contrastive": acc_con.detach(), "acc_mlm": acc_mlm.detach(), "acc_cmsc": acc_cmsc.detach(),
                "perplexity": q.perplexity.detach(), "mask_frac": mask.float().mean().detach()}


def count_parameters(config: ModelConfig, *, heads: bool = True) -> int:
    """Parameters of an encoder built on the meta device (nothing is allocated).

    ``heads=False`` counts only the encoder used for EDF extraction (no quantizer/pre-training heads).
    """
    with torch.device("meta"):
        m = ECGEncoder(config)
    total = sum(p.numel() for p in m.parameters())
    if not heads:
        for mod in (m.quantizer, m.project_q, m.final_proj, m.mlm_head, m.cmsc_proj, m.classifier, m.aux_head):
            if mod is not None:
                total -= sum(p.numel() for p in mod.parameters())
    return total
