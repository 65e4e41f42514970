"""Gumbel-softmax product quantizer (wav2vec 2.0) that turns conv features into discrete targets.

References
----------
Baevski A, et al. wav2vec 2.0: A Framework for Self-Supervised Learning of Speech Representations.
NeurIPS 2020. arXiv:2006.11477.
Jang E, Gu S, Poole B. Categorical Reparameterization with Gumbel-Softmax. ICLR 2017. arXiv:1611.01144.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn


@dataclass(frozen=True)
class QuantizerOutput:
    """Result of :meth:`GumbelQuantizer.forward`.

    Attributes
    ----------
    quantized
        ``[N, T, codevector_dim]`` code vectors (straight-through Gumbel in training, hard argmax in eval).
    codes
        ``[N, T, G]`` int64 index of the chosen entry in each of the ``G`` codebooks (hard argmax of logits).
    perplexity
        Scalar: sum over groups of ``exp(entropy)`` of the batch-averaged softmax code distribution.
    num_vars
        ``G * V``, the maximum perplexity.
    """

    quantized: Tensor
    codes: Tensor
    perplexity: Tensor
    num_vars: int


class GumbelQuantizer(nn.Module):
    """Product quantizer: ``G`` codebooks of ``V`` entries, each entry ``dim / G`` wide.

    Parameters
    ----------
    in_dim
        Input feature dimension.
    groups, size
        Codebooks ``G`` and entries per codebook ``V``.
    dim
        Output code vector dimension (concatenation of ``G`` entries).
    """

    def __init__(self, in_dim: int, *, groups: int, size: int, dim: int):
        super().__init__()
        self.groups, self.size, self.dim = groups, size, dim
        self.vars = nn.Parameter(torch.empty(1, groups * size, dim // groups).uniform_())
        self.weight_proj = nn.Linear(in_dim, groups * size)
        nn.init.normal_(self.weight_proj.weight, mean=0.0, std=1.0)
        nn.init.zeros_(self.weight_proj.bias)
        self.temperature = 2.0  # set by the training loop (annealed)

    def forward(self, x: Tensor) -> QuantizerOutput:
        """``x [N, T, in_dim]`` -> :class:`QuantizerOutput`."""
        n, t, _ = x.shape
        g, v = self.groups, self.size
        logits = self.weight_proj(x).float().view(n * t * g, v)
        codes = logits.argmax(dim=-1)
        avg_probs = torch.softmax(logits.view(n * t, g, v), dim=-1).mean(dim=0)
        perplexity = torch.exp(-(avg_probs * torch.log(avg_probs + 1e-7)).sum(dim=-1)).sum()
        if self.training:
            onehot = F.gumbel_softmax(logits, tau=self.temperature, hard=True)
        else:
            onehot = F.one_hot(codes, v).to(logits.dtype)
        onehot = onehot.view(n * t, g, v).to(self.vars.dtype)
        entries = self.vars.view(g, v, -1)  # [G, V, dim/G]
        quantized = torch.einsum("bgv,gvd->bgd", onehot, entries).reshape(n, t, self.dim)
        return QuantizerOutput(quantized=quantized, codes=codes.view(n, t, g), perplexity=perplexity,
                               num_vars=g * v)
