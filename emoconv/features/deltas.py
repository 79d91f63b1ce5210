"""Delta (regression) features along time.

Deltas follow the Savitzky-Golay formulation used by librosa's
``feature.delta(width=N, mode="interp")``: derivative order ``d`` is the
``d``-th derivative of a degree-``d`` polynomial fitted by least squares to
``N`` consecutive frames (Savitzky & Golay, 1964; the multi-dilated CNN paper
uses N = 9). Delta-deltas are therefore the second-derivative filter applied to
the static features, not the delta of the delta.

Because the polynomial degree equals the derivative order, the derivative of
each fit is constant over its window. In librosa's ``interp`` mode the first and
last ``N // 2`` frames take the value of the first/last full window, so here a
valid convolution with :func:`scipy.signal.savgol_coeffs` is followed by edge
replication (a weighted sum of shifted views), which runs batched in torch and matches librosa to float precision.
Utterances shorter than ``N`` frames use the largest odd window that fits
(librosa raises instead); under 3 frames the deltas are zero.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from ..errors import ConfigError


@lru_cache(maxsize=32)
def _kernel(width: int, order: int) -> np.ndarray:
    import scipy.signal  # imported here: scipy.signal costs ~0.3 s, which `emoconv predict` should not pay

    # use="dot": taps in time order, tap j multiplies frame i - width // 2 + j.
    return scipy.signal.savgol_coeffs(width, polyorder=order, deriv=order, use="dot")


def _check(order: int, width: int) -> None:
    if not isinstance(order, int) or order < 1:
        raise ConfigError(f"delta order {order!r} must be a positive integer (1 = delta, 2 = delta-delta)")
    if not isinstance(width, int) or width < 3 or width % 2 == 0:
        raise ConfigError(f"delta width {width!r} must be an odd integer >= 3; fix features.delta_width")


def delta_batch(x: Tensor, lengths: Tensor | list[int], order: int, width: int) -> Tensor:
    """Order-``order`` deltas of a padded batch along time.

    Args:
        x: ``(B, T, F)`` features; utterance ``b`` occupies frames ``[0, lengths[b])``.
        lengths: ``(B,)`` valid frame counts.
        order: derivative order (1 delta, 2 delta-delta).
        width: odd window in frames.

    Returns:
        ``(B, T, F)``; frames at or beyond ``lengths[b]`` are unspecified.
    """
    _check(order, width)
    b, t, f = x.shape
    lengths = torch.as_tensor(lengths, dtype=torch.long)
    full = (lengths >= width).nonzero().flatten()
    every = 0 < len(full) == b and t >= width
    out = torch.empty(0) if every else torch.zeros_like(x)
    if len(full) > 0 and t >= width:
        xs = x if every else x[full]  # (B', T, F)
        k = _kernel(width, order).tolist()
        n_valid = t - width + 1
        # weighted sum of shifted views: the valid correlation with the Savitzky-Golay taps
        valid = xs[:, :n_valid] * k[0]
        for j in range(1, width):
            if k[j] != 0.0:
                valid.add_(xs[:, j : j + n_valid], alpha=k[j])  # (B', T-w+1, F)
        # frame i takes valid window clamp(i - half, 0, T_b - width): edges repeat the end windows.
        half = width // 2
        pos = torch.arange(t, device=x.device).view(1, t) - half
        hi = (lengths[full].to(x.device) - width).view(-1, 1)
        idx = torch.minimum(pos.clamp(min=0), hi)  # (B', T)
        res = torch.gather(valid, 1, idx.unsqueeze(-1).expand(-1, -1, f))
        if every:
            return res
        out[full] = res
    for i in (lengths < width).nonzero().flatten().tolist():
        n = int(lengths[i])
        w = n if n % 2 == 1 else n - 1
        if w >= 3 and w > order:
            out[i, :n] = delta_batch(x[i : i + 1, :n], [n], order, w)[0]
    return out


def add_deltas(x: Tensor, order: int, width: int = 9) -> Tensor:
    """Stack static features with their deltas as channels.

    Args:
        x: ``(T, F)`` static features.
        order: 0 (static only), 1 (+delta) or 2 (+delta, +delta-delta).
        width: odd regression window in frames (librosa's ``width``).

    Returns:
        ``(1 + order, T, F)``: channel ``d`` equals
        ``librosa.feature.delta(x.T, width=width, order=d, mode="interp").T``.

    >>> add_deltas(torch.arange(20.0).view(10, 2), order=1, width=3)[1, :, 0]
    tensor([2., 2., 2., 2., 2., 2., 2., 2., 2., 2.])
    """
    if x.ndim != 2:
        raise ConfigError(f"add_deltas expects (T, F) features, got shape {tuple(x.shape)}")
    if not isinstance(order, int) or order not in (0, 1, 2):
        raise ConfigError(f"delta order {order!r} must be 0, 1 or 2")
    if order > 0:
        _check(order, width)
    x = x.float()
    chans = [x] + [delta_batch(x.unsqueeze(0), [x.shape[0]], d, width)[0] for d in range(1, order + 1)]
    return torch.stack(chans)
