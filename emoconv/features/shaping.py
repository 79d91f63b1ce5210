"""Fitting variable-length features to fixed-size network inputs.

* :func:`pad_or_crop`: one fixed-length input per utterance (zero padding).
* :func:`segment` and :func:`aggregate_segments`: fixed windows over an utterance,
  classified one by one and combined into an utterance-level score, as in
  segment-based SER (e.g. Mao et al., 2014; Fayek et al., 2017).
* :func:`splice`: each frame with its left/right context frames, the input of
  frame-level DNN/CLDNN classifiers (Sainath et al., 2015).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..errors import ConfigError


def _check_3d(x: Tensor, name: str) -> None:
    if x.ndim != 3:
        raise ConfigError(f"{name} expects (C, T, F) features, got shape {tuple(x.shape)}")


def pad_or_crop(x: Tensor, frames: int, mode: str = "end") -> Tensor:
    """Zero-pad or crop ``(C, T, F)`` features to ``(C, frames, F)``.

    ``mode="end"`` keeps the start (pads/crops at the end); ``mode="center"`` keeps
    the middle (pads/crops equally at both ends, the extra frame at the end).

    >>> pad_or_crop(torch.ones(1, 3, 2), 5)[0, :, 0]
    tensor([1., 1., 1., 0., 0.])
    >>> pad_or_crop(torch.arange(5.0).view(1, 5, 1), 3, mode="center").flatten()
    tensor([1., 2., 3.])
    """
    _check_3d(x, "pad_or_crop")
    if not isinstance(frames, int) or frames < 1:
        raise ConfigError(f"pad_or_crop: frames {frames!r} must be a positive integer")
    if mode not in ("end", "center"):
        raise ConfigError(f"pad_or_crop: mode {mode!r} must be 'end' or 'center'")
    t = x.shape[1]
    if t >= frames:
        start = 0 if mode == "end" else (t - frames) // 2
        return x[:, start : start + frames]
    missing = frames - t
    before = 0 if mode == "end" else missing // 2
    return F.pad(x, (0, 0, before, missing - before))


def segment(x: Tensor, win: int, hop: int) -> Tensor:
    """Cut ``(C, T, F)`` features into windows of ``win`` frames every ``hop`` frames.

    Returns ``(S, C, win, F)`` with ``S = 1 + ceil(max(T - win, 0) / hop)`` (at most
    ``ceil(T / hop)``, so every segment starts inside the input): the last partial
    window is zero-padded, and an input shorter than ``win`` gives one padded
    segment. With ``hop > win`` the frames between windows are skipped. Segments
    are copies (safe to modify).

    >>> segment(torch.zeros(1, 10, 4), win=4, hop=3).shape
    torch.Size([3, 1, 4, 4])
    """
    _check_3d(x, "segment")
    for name, v in (("win", win), ("hop", hop)):
        if not isinstance(v, int) or v < 1:
            raise ConfigError(f"segment: {name} {v!r} must be a positive integer")
    t = x.shape[1]
    n = min(1 + -(-max(t - win, 0) // hop), -(-t // hop))
    x = F.pad(x, (0, 0, 0, win + (n - 1) * hop - t))
    return x.unfold(1, win, hop).permute(1, 0, 3, 2).contiguous()  # (C, S, F, win) -> (S, C, win, F)


def aggregate_segments(posteriors: Tensor, how: str = "mean") -> Tensor:
    """Combine segment posteriors ``(S, K)`` into one utterance score ``(K,)``.

    ``"mean"`` averages, ``"max"`` takes each class's maximum, ``"vote"`` returns the
    fraction of segments whose argmax is each class (ties in a segment go to the
    lowest class index).

    >>> p = torch.tensor([[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]])
    >>> aggregate_segments(p, "vote")
    tensor([0.3333, 0.6667])
    """
    if posteriors.ndim != 2 or posteriors.shape[0] == 0:
        raise ConfigError(f"aggregate_segments expects (S, K) with S >= 1, got shape {tuple(posteriors.shape)}")
    if how == "mean":
        return posteriors.mean(dim=0)
    if how == "max":
        return posteriors.amax(dim=0)
    if how == "vote":
        votes = torch.bincount(posteriors.argmax(dim=1), minlength=posteriors.shape[1])
        return votes.to(posteriors.dtype if posteriors.is_floating_point() else torch.float32) / posteriors.shape[0]
    raise ConfigError(f"aggregate_segments: how {how!r} must be 'mean', 'max' or 'vote'")


def splice(x: Tensor, left: int, right: int) -> Tensor:
    """Each frame with ``left`` past and ``right`` future frames: ``(T, F) -> (T, F, left+1+right)``.

    ``out[t, f, j] == x[clip(t - left + j, 0, T - 1), f]``: edges repeat the first/last
    frame. The result is a strided view of one edge-padded copy of ``x``
    (``T + left + right`` frames), so the context is never materialised; call
    ``.contiguous()`` before modifying it.

    >>> splice(torch.arange(3.0).view(3, 1), 1, 1)[:, 0]
    tensor([[0., 0., 1.],
            [0., 1., 2.],
            [1., 2., 2.]])
    """
    if x.ndim != 2:
        raise ConfigError(f"splice expects (T, F) features, got shape {tuple(x.shape)}")
    for name, v in (("left", left), ("right", right)):
        if not isinstance(v, int) or v < 0:
            raise ConfigError(f"splice: {name} {v!r} must be a non-negative integer")
    if x.shape[0] == 0:
        raise ConfigError("splice: empty input (T = 0)")
    t, f = x.shape
    padded = torch.cat([x[:1].expand(left, f), x, x[-1:].expand(right, f)]).contiguous()
    return padded.as_strided((t, f, left + 1 + right), (f, 1, f))
