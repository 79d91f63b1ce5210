"""Two :class:`~emoconv.layers.convtypes.ConvType` layers run once per utterance instead of once per frame.

The convolution-type study applies its two conv layers to every frame's spliced patch (``W = left + 1 +
right`` frames of context). Neighbouring patches overlap in ``W - 1`` frames, so computed patch by patch
the first layer recomputes each output ``W - w1 + 1`` times (12 times for a 5-wide kernel in a 16-frame
patch), and its max pooling runs on the ``(N, maps, F, 12)`` patch maps of all ``N`` frames.

:func:`conv_stack_on_sequence` gives the same outputs from one pass over each utterance:

1. the utterance is edge-padded with its own first and last frames (``left`` before, ``right`` after), as the
   patches are, and the first layer's convolution and ReLU run on the whole sequence: the output at patch
   position ``j`` of frame ``t`` is the sequence output at ``t + j``;
2. spectral pooling (S, ST) is the same for every patch, so it runs on the sequence too; a temporal pooling
   window of length ``l`` (``pool``, or shorter where the patch clips it) is a stride-1 max pool of length
   ``l`` on the sequence, read at ``t + stride * q`` for pooled position ``q``;
3. the second layer's output positions whose inputs are all full-length windows form a convolution dilated
   by the pooling stride on that max-pooled sequence (computed once, read at ``t + stride * r``); the few
   positions that touch a clipped window are computed per frame from their gathered inputs;
4. the second layer's ReLU and pooling run per frame on its (short) output, or on the sequence when they do
   not pool in time (S).

Max pooling is exact and the convolutions sum the same products, so the result equals the per-patch
computation up to float rounding (tested to 1e-5). The model chooses with ``CLDNN(compute=...)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .convtypes import ConvType
from .pooling import max_pool2d

__all__ = ["conv_stack_on_sequence", "edge_padded"]


def edge_padded(x: torch.Tensor, lengths: torch.Tensor, left: int, right: int) -> torch.Tensor:
    """``(B, C, T, F)`` padded frames -> ``(B, C, F, T + left + right)``, each utterance edge-padded.

    Position ``p`` of utterance ``b`` holds frame ``clamp(p - left, 0, lengths[b] - 1)``: the utterance's own
    first and last frames repeat, never the batch padding.
    """
    B, _, T, _ = x.shape
    pos = torch.arange(T + left + right, device=x.device) - left
    idx = torch.minimum(pos[None, :].clamp(min=0), (lengths - 1)[:, None])  # (B, Tp)
    rows = torch.arange(B, device=x.device)[:, None]
    return x.permute(0, 2, 1, 3)[rows, idx].permute(0, 2, 3, 1)  # (B, C, F, Tp)


def _windows(layer: ConvType) -> list[int]:
    """Length of each temporal pooling window of ``layer``'s output (its last ones may be clipped)."""
    conv_w = layer.context - layer.kernel[1] + 1
    size, stride = layer.pool_size[1], layer.pool_stride[1]
    return [min(size, conv_w - stride * q) for q in range(layer.out_context)]


def _spectral_pool(layer: ConvType, y: torch.Tensor) -> torch.Tensor:
    if layer.pool_size[0] == 1:
        return y
    return max_pool2d(y, (layer.pool_size[0], 1), (layer.pool_stride[0], 1), ceil_mode=True)


def conv_stack_on_sequence(
    first: ConvType, second: ConvType, x: torch.Tensor, lengths: torch.Tensor, left: int, right: int,
) -> torch.Tensor:
    """``second(first(patch))`` for every frame of a padded batch, computed on whole utterances.

    Args:
        first, second: the two conv layers (``second`` takes ``first``'s output patch).
        x: ``(B, C, T, F)`` padded frames. lengths: ``(B,)`` valid frames per utterance.
        left, right: the splicing context (``first.context == left + 1 + right``).

    Returns:
        ``(B, T, D)`` with ``D = second.out_features``: row ``(b, t)`` for ``t < lengths[b]`` equals both
        layers run on frame ``t``'s spliced patch (:func:`emoconv.models.cldnn.splice_batch`), flattened;
        rows past an utterance's end hold finite values of no meaning (mask them).
    """
    if first.context != left + 1 + right:
        raise ValueError(f"context {first.context} != left {left} + 1 + right {right}")
    B, T = x.shape[0], x.shape[2]
    y1 = _spectral_pool(first, first.act(first.conv(edge_padded(x, lengths, left, right))))
    windows = _windows(first)
    stride, full, w2 = first.pool_stride[1], first.pool_size[1], second.kernel[1]
    pooled = {size: (y1 if size == 1 else max_pool2d(y1, (1, size), 1)) for size in set(windows)}
    n_out = len(windows) - w2 + 1
    n_regular = 0  # positions whose inputs are all full windows: the first ones, since only the last windows clip
    while n_regular < n_out and all(windows[n_regular + k] == full for k in range(w2)):
        n_regular += 1
    parts = []
    if n_regular:
        z = F.conv2d(pooled[full], second.conv.weight, second.conv.bias, dilation=(1, stride))
        on_sequence = n_regular == n_out and second.pool_size[1] == 1  # no temporal pooling (S): finish here
        if on_sequence:
            z = second.pool(second.act(z))
        span = stride * (n_regular - 1) + 1
        parts.append(z.unfold(3, span, 1)[:, :, :, :T, ::stride])  # (B, maps, F2, T, n_regular) view
        if on_sequence:
            return parts[0].permute(0, 3, 1, 2, 4).reshape(B, T, -1)
    for r in range(n_regular, n_out):
        taps = torch.stack([pooled[windows[r + k]][..., stride * (r + k): stride * (r + k) + T]
                            for k in range(w2)], dim=-1)  # (B, maps, F1, T, w2)
        frames = taps.permute(0, 3, 1, 2, 4).flatten(0, 1)  # (B*T, maps, F1, w2)
        out = second.conv(frames)  # (B*T, maps, F2, 1)
        parts.append(out.unflatten(0, (B, T)).permute(0, 2, 3, 1, 4))
    z_frames = torch.cat(parts, dim=-1).permute(0, 3, 1, 2, 4).flatten(0, 1)  # (B*T, maps, F2, n_out)
    return second.pool(second.act(z_frames)).reshape(B, T, -1)
