"""Masking and the four pre-training losses, as pure tensor functions.

* :func:`span_mask` — wav2vec 2.0 span masking (vectorised).
* :func:`contrastive_loss` — wav2vec 2.0: masked context outputs vs quantized targets with distractors.
* :func:`diversity_loss` — wav2vec 2.0 codebook diversity (perplexity) penalty.
* :func:`masked_prediction_loss` — w2v-BERT: cross-entropy on the quantizer code indices of masked frames.
* :func:`cmsc_loss` — CLOCS CMSC: the two 5 s crops of one 10 s recording are positives (InfoNCE).
* :func:`aux_loss` — masked smooth-L1 regression of signal-derived measurements (:mod:`edfgen.model.targets`).

References
----------
Baevski A, et al. wav2vec 2.0. NeurIPS 2020. arXiv:2006.11477.
Chung Y-A, et al. w2v-BERT: Combining Contrastive Learning and Masked Language Modeling for
Self-Supervised Speech Pre-Training. ASRU 2021. arXiv:2108.06209.
Kiyasseh D, Zhu T, Clifton DA. CLOCS: Contrastive Learning of Cardiac Signals Across Space, Time,
and Patients. ICML 2021. arXiv:2005.13249.
McKeen K, et al. ECG-FM: An Open Electrocardiogram Foundation Model. arXiv:2408.05178 (2024).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def span_mask(n: int, t: int, *, mask_prob: float, mask_length: int, generator: torch.Generator | None = None,
              device: torch.device | str = "cpu") -> Tensor:
    """Boolean span mask ``[n, t]``.

    Every frame independently starts a span with probability ``q = mask_prob / mask_length``; each
    span covers ``mask_length`` frames (clipped at the end). A frame at index ``i`` is therefore masked
    with probability ``1 - (1 - q) ** min(i + 1, mask_length)``. Every row gets at least one masked
    frame (a random one is forced when no span started) so every crop contributes to the losses.

    Returns
    -------
    Tensor
        ``[n, t]`` bool, True = masked.
    """
    q = mask_prob / mask_length
    starts = torch.rand(n, t, generator=generator, device=device) < q
    kernel = torch.ones(1, 1, mask_length, device=device)
    covered = F.conv1d(F.pad(starts.float().unsqueeze(1), (mask_length - 1, 0)), kernel).squeeze(1) > 0
    empty = ~covered.any(dim=1)
    if empty.any():
        idx = torch.randint(0, t, (n,), generator=generator, device=device)
        covered[empty, idx[empty]] = True
    return covered


def contrastive_loss(context: Tensor, targets: Tensor, mask: Tensor, *, num_negatives: int, temperature: float,
                     generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """wav2vec 2.0 contrastive loss over masked frames.

    For each masked frame, the context vector must pick its own quantized target among
    ``num_negatives`` distractors: quantized targets of other frames of the same crop (sampled
    uniformly, never the frame itself). Distractors identical to the positive are excluded.

    Parameters
    ----------
    context
        ``[N, T, D]`` projected context-network outputs.
    targets
        ``[N, T, D]`` projected quantized targets.
    mask
        ``[N, T]`` bool, frames whose context is scored.

    Returns
    -------
    (loss, accuracy)
        Mean cross-entropy over masked frames; fraction of masked frames whose positive scores highest.
    """
    n, t, d = targets.shape
    b_idx, t_idx = mask.nonzero(as_tuple=True)  # [M]
    m = b_idx.numel()
    neg = torch.randint(0, t - 1, (m, num_negatives), generator=generator, device=targets.device)
    neg = neg + (neg >= t_idx.unsqueeze(1)).long()  # skip the frame itself
    pos = targets[b_idx, t_idx]  # [M, D]
    negs = targets[b_idx.unsqueeze(1), neg]  # [M, K, D]
    c = context[b_idx, t_idx]  # [M, D]
    cand = torch.cat([pos.unsqueeze(1), negs], dim=1)  # [M, 1+K, D]
    logits = F.cosine_similarity(c.unsqueeze(1).float(), cand.float(), dim=-1) / temperature
    same = (negs == pos.unsqueeze(1)).all(dim=-1)
    logits[:, 1:] = logits[:, 1:].masked_fill(same, float("-inf"))
    labels = torch.zeros(m, dtype=torch.long, device=logits.device)
    loss = F.cross_entropy(logits, labels)
    acc = (logits.argmax(dim=1) == 0).float().mean()
    return loss, acc


def diversity_loss(perplexity: Tensor, num_vars: int) -> Tensor:
    """``(G·V − perplexity) / (G·V)``: 0 when all code entries are used equally."""
    return (num_vars - perplexity) / num_vars


def masked_prediction_loss(logits: Tensor, codes: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """w2v-BERT masked prediction: cross-entropy on code indices of masked frames.

    Parameters
    ----------
    logits
        ``[N, T, G, V]`` predictions from the masked-prediction module.
    codes
        ``[N, T, G]`` int64 target code indices (the quantizer's, detached).
    mask
        ``[N, T]`` bool.

    Returns
    -------
    (loss, accuracy)
    """
    sel = logits[mask].float()  # [M, G, V]
    tgt = codes[mask]  # [M, G]
    loss = F.cross_entropy(sel.reshape(-1, sel.shape[-1]), tgt.reshape(-1))
    acc = (sel.argmax(-1) == tgt).float().mean()
    return loss, acc


def cmsc_loss(z1: Tensor, z2: Tensor, *, temperature: float) -> tuple[Tensor, Tensor]:
    """CLOCS contrastive multi-segment coding (symmetric InfoNCE).

    Parameters
    ----------
    z1, z2
        ``[B, D]`` embeddings of the first and second 5 s crop of the same ``B`` recordings. Row ``i`` of
        ``z1`` and ``z2`` are positives; all other recordings in the batch are negatives.

    Returns
    -------
    (loss, accuracy)
        Mean of both directions' cross-entropy; fraction of crops whose partner ranks first.
    """
    z1 = F.normalize(z1.float(), dim=-1)
    z2 = F.normalize(z2.float(), dim=-1)
    logits = z1 @ z2.T / temperature
    labels = torch.arange(z1.shape[0], device=z1.device)
    loss = 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
    acc = (logits.argmax(dim=1) == labels).float().mean()
    return loss, acc


def aux_loss(pred: Tensor, target: Tensor, *, beta: float = 1.0) -> Tensor:
    """Smooth-L1 (Huber) loss over the finite entries of ``target`` (NaN = not measured).

    Parameters
    ----------
    pred, target
        Same shape ``[..., K]`` (standardised units). Huber rather than squared error, because real
        targets come from an automatic delineator whose occasional failures are outliers.

    Returns
    -------
    Scalar mean over measured entries (0 when none is measured).
    """
    ok = torch.isfinite(target)
    if not bool(ok.any()):
        return pred.sum() * 0.0
    return F.smooth_l1_loss(pred[ok], target[ok], beta=beta)
