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
   by the pooling stride on that max-pooled sequence (computed once, read at ``t + stride * r``); a position
   that touches a clipped window is a sum of single-tap convolutions of the shorter windows' sequences;
4. the second layer's pooling is a max over shifted views of those position sequences (its temporal windows),
   then its spectral pooling and ReLU (both commute with the max), so no per-frame copy of the second layer's
   output is ever made; only the result, ``(B, T, D)``, is written frame by frame.

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
    regular = [all(windows[r + k] == full for k in range(w2)) for r in range(n_out)]
    weight, bias = second.conv.weight, second.conv.bias
    z = None
    if any(regular):  # the dilated convolution on the max-pooled sequence, computed once
        z = F.conv2d(pooled[full], weight, bias, dilation=(1, stride))
        if all(regular) and second.pool_size[1] == 1:  # no temporal pooling (S): finish on the sequence
            z = second.pool(second.act(z))
            span = stride * (n_out - 1) + 1
            return z.unfold(3, span, 1)[:, :, :, :T, ::stride].permute(0, 3, 1, 2, 4).reshape(B, T, -1)

    def position(r: int) -> torch.Tensor:
        """Second conv output at patch position ``r`` for every frame: ``(B, maps, F2, T)``."""
        if regular[r]:
            return z[..., stride * r: stride * r + T]  # type: ignore[index]
        out = None  # a position touching a clipped window: one single-tap convolution per tap, summed
        for k in range(w2):
            o = stride * (r + k)
            term = F.conv2d(pooled[windows[r + k]][..., o: o + T], weight[..., k: k + 1],
                            bias if k == 0 else None)
            out = term if out is None else out + term
        return out  # type: ignore[return-value]

    # the second pooling per frame: the max over each window's positions (elementwise over shifted sequences),
    # then the spectral pooling and the ReLU (both commute with a max: max pooling and a monotone activation)
    step = second.pool_stride[1]
    zs = [position(r) for r in range(n_out)]
    cols = []
    for q, size in enumerate(_windows(second)):
        m = zs[step * q]
        for r in range(step * q + 1, step * q + size):
            m = torch.maximum(m, zs[r])
        cols.append(second.act(_spectral_pool(second, m)))
    return torch.stack(cols, dim=-1).permute(0, 3, 1, 2, 4).reshape(B, T, -1)
