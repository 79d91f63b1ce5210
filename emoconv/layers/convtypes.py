"""The four convolution types of the convolution-type study: S-, T-, ST- and FST-Conv.

From the convolution-type study (C.-W. Huang and S. S. Narayanan, "Characterizing types of
convolution in deep convolutional recurrent neural networks for robust speech emotion
recognition", arXiv:1706.02901; ../shared/papers/cldnn-four-convolution-types.txt),
Section 3.1, Tables 1 and 2.

One spliced frame is a small spectro-temporal patch ``(C, F, W)``: ``F`` spectral bins
(40 log-mel bands or 13 MFCCs) by ``W`` context frames (10 left + the frame + 5 right = 16).
A convolution type is fixed by the shape of its kernel and the direction(s) it pools in:

=====  ===============  ======================  =================
kind   kernel (h x w)   moves along             pooling (m x n)
=====  ===============  ======================  =================
S      h x 1            spectrum                3 x 1, stride 2 x 1
T      1 x w            time                    1 x 3, stride 1 x 2
ST     h x w            spectrum and time       3 x 3, stride 2 x 2
FST    F x w            time (full spectrum)    1 x 3, stride 1 x 2
=====  ===============  ======================  =================

Every type uses 32 feature maps, ReLU, convolution stride 1 and max pooling of size 3 /
stride 2 in its direction(s) (Table 1). Pooling windows that run past the end of an axis
are clipped (``ceil_mode``), and a pooling size larger than the axis shrinks to the axis,
so every kernel size in the paper's Table 2 ranges gives a valid output (the paper does not
say how its Keras layers treated a 2-wide input to a 3-wide pool).
"""

from __future__ import annotations

import itertools
from typing import Any, Iterable, Sequence

import torch
from torch import nn

from ..errors import ConfigError
from .pooling import MaxPool2d

__all__ = [
    "CONV_KINDS",
    "ConvType",
    "TABLE2_RANGES",
    "default_kernels",
    "kernel_candidates",
    "top_k",
]

CONV_KINDS: tuple[str, ...] = ("S", "T", "ST", "FST")

#: Table 2 of the paper: tuning ranges (inclusive) per kind for (h1, w1, h2, w2);
#: ``"M"`` = the full spectral height of the layer's input (FST's first layer).
TABLE2_RANGES: dict[str, dict[str, tuple[Any, ...]]] = {
    "T": {"h1": (1,), "w1": tuple(range(3, 9)), "h2": (1,), "w2": (2, 3)},
    "S": {"h1": tuple(range(4, 10)), "w1": (1,), "h2": (3, 4), "w2": (1,)},
    "ST": {"h1": tuple(range(4, 10)), "w1": tuple(range(3, 9)), "h2": (3, 4), "w2": (2, 3)},
    "FST": {"h1": ("M",), "w1": tuple(range(3, 9)), "h2": (1,), "w2": (2, 3)},
}


def _pool_dims(kind: str) -> tuple[bool, bool]:
    """(pools along spectrum, pools along time) for a kind."""
    return {"S": (True, False), "T": (False, True), "ST": (True, True), "FST": (False, True)}[kind]


class ConvType(nn.Module):
    """One convolution layer of type ``kind`` with ReLU and directional max pooling.

    Args:
        kind: ``"S"``, ``"T"``, ``"ST"`` or ``"FST"``.
        in_channels: channels ``C`` of the input patch (1 for static log-mels).
        n_bins: spectral height ``F`` of the input patch (40, 13, or a previous layer's output).
        context: temporal width ``W`` of the input patch (16 for 10 left + 5 right context).
        maps: number of feature maps (32 in the paper).
        kernel: ``(h, w)``. S needs ``w == 1``, T needs ``h == 1``; for FST ``h`` is ``None``
            or ``n_bins`` (the kernel always spans the whole spectrum). ``None`` picks the
            first-layer default of :func:`default_kernels`.
        pool: pooling size in the kind's direction(s) (3).
        stride: pooling stride in the kind's direction(s) (2).

    Shapes:
        input ``(N, C, F, W)`` -> output ``(N, maps, out_bins, out_context)``.
    """

    def __init__(
        self,
        kind: str,
        in_channels: int,
        n_bins: int,
        context: int = 16,
        maps: int = 32,
        kernel: tuple[int | None, int] | None = None,
        pool: int = 3,
        stride: int = 2,
    ) -> None:
        super().__init__()
        if kind not in CONV_KINDS:
            raise ConfigError(f"conv kind {kind!r} is unknown; use one of {', '.join(CONV_KINDS)}")
        for name, value in (("in_channels", in_channels), ("n_bins", n_bins), ("context", context),
                            ("maps", maps), ("pool", pool), ("stride", stride)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{kind}-Conv {name}={value!r}: must be a positive integer")
        h, w = default_kernels(kind, n_bins)[0] if kernel is None else tuple(kernel)
        if kind == "FST":
            if h not in (None, n_bins):
                raise ConfigError(f"FST-Conv kernel height {h} != input height {n_bins}: FST kernels span "
                                  "the whole spectrum; give h=None or the input height")
            h = n_bins
        if kind == "S" and w != 1:
            raise ConfigError(f"S-Conv kernel {(h, w)}: width must be 1 (spectral-only kernel)")
        if kind == "T" and h != 1:
            raise ConfigError(f"T-Conv kernel {(h, w)}: height must be 1 (temporal-only kernel)")
        if not (isinstance(h, int) and isinstance(w, int) and h >= 1 and w >= 1):
            raise ConfigError(f"{kind}-Conv kernel {(h, w)}: sizes must be positive integers")
        if h > n_bins or w > context:
            raise ConfigError(f"{kind}-Conv kernel {(h, w)} is larger than its input ({n_bins} bins x "
                              f"{context} frames); choose a smaller kernel")
        self.kind, self.kernel = kind, (int(h), int(w))
        self.in_channels, self.n_bins, self.context, self.maps = in_channels, n_bins, context, maps
        self.conv = nn.Conv2d(in_channels, maps, kernel_size=self.kernel, stride=1)
        self.act = nn.ReLU()
        conv_f, conv_w = n_bins - h + 1, context - w + 1
        pool_f, pool_t = _pool_dims(kind)
        pk = (min(pool, conv_f) if pool_f else 1, min(pool, conv_w) if pool_t else 1)
        ps = (stride if pool_f else 1, stride if pool_t else 1)
        self.pool_size, self.pool_stride = pk, ps
        self.pool = MaxPool2d(pk, ps, ceil_mode=True)
        self.out_bins = _pooled(conv_f, pk[0], ps[0])
        self.out_context = _pooled(conv_w, pk[1], ps[1])

    @property
    def out_features(self) -> int:
        """Size of one flattened output patch: ``maps * out_bins * out_context``."""
        return self.maps * self.out_bins * self.out_context

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, F, W)`` -> ``(N, maps, out_bins, out_context)``."""
        if x.dim() != 4 or x.shape[1:] != (self.in_channels, self.n_bins, self.context):
            raise ValueError(f"{self.kind}-Conv expects (N, {self.in_channels}, {self.n_bins}, {self.context}), "
                             f"got {tuple(x.shape)}")
        return self.pool(self.act(self.conv(x)))

    def extra_repr(self) -> str:
        return (f"kind={self.kind}, kernel={self.kernel}, pool={self.pool_size}/{self.pool_stride}, "
                f"out=({self.maps}, {self.out_bins}, {self.out_context})")


def _pooled(length: int, size: int, stride: int) -> int:
    """Output length of a ceil-mode pooling whose last window starts inside the input."""
    out = -(-(length - size) // stride) + 1
    if (out - 1) * stride >= length:
        out -= 1
    return out


def default_kernels(kind: str, n_bins: int) -> tuple[tuple[int | None, int], tuple[int | None, int]]:
    """Default ``(kernel1, kernel2)`` per kind, inside the Table 2 ranges.

    S: (6x1, 3x1); T: (1x5, 1x2); ST: (6x5, 3x2); FST: (F x5, 1x2). The paper selects
    its kernels per model on validation data and does not list the winners; these are
    mid-range picks for quick runs. Use :func:`kernel_candidates` to search.
    """
    if kind not in CONV_KINDS:
        raise ConfigError(f"conv kind {kind!r} is unknown; use one of {', '.join(CONV_KINDS)}")
    h1 = min(6, max(1, n_bins - 4))
    return {
        "S": ((h1, 1), (3, 1)),
        "T": ((1, 5), (1, 2)),
        "ST": ((h1, 5), (3, 2)),
        "FST": ((n_bins, 5), (None, 2)),
    }[kind]


def _valid(kind: str, n_bins: int, context: int, k1: tuple[Any, int], k2: tuple[Any, int]) -> bool:
    try:
        first = ConvType(kind, 1, n_bins, context, maps=1, kernel=k1)
        ConvType(kind, 1, first.out_bins, first.out_context, maps=1, kernel=k2)
    except ConfigError:
        return False
    return True


def kernel_candidates(
    kind: str,
    n_bins: int,
    context: int = 16,
    top_s: Sequence[dict[str, Any]] = (),
    top_t: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Candidate kernel settings for ``kind`` over the Table 2 ranges.

    Each candidate is a dict ``{"conv": kind, "kernel1": (h1, w1), "kernel2": (h2, w2)}`` that can
    be passed as model parameters (``build_model("cldnn", ..., **candidate)``). S, T and FST list
    every combination (12 each on 40 log-mels); combinations whose output would be empty are
    dropped. ST is restricted as in the paper: the spectral sizes (h1, h2) of the given top S
    candidates crossed with the temporal sizes (w1, w2) of the given top T candidates
    (k x k candidates from the top k of each; see :func:`top_k`). FST kernels have ``h1 = n_bins``
    and ``h2 = None`` (full height of the first layer's 1-bin output).
    """
    if kind not in CONV_KINDS:
        raise ConfigError(f"conv kind {kind!r} is unknown; use one of {', '.join(CONV_KINDS)}")
    if kind == "ST":
        if not top_s or not top_t:
            raise ConfigError("ST-Conv kernel search needs the top S and T candidates (top_s=, top_t=); "
                              "run the S and T searches first as the paper does")
        pairs: Iterable[tuple[tuple[Any, int], tuple[Any, int]]] = (
            ((s["kernel1"][0], t["kernel1"][1]), (s["kernel2"][0], t["kernel2"][1]))
            for s in top_s for t in top_t
        )
    else:
        r = TABLE2_RANGES[kind]
        h1s = (n_bins,) if kind == "FST" else r["h1"]
        h2s = (None,) if kind == "FST" else r["h2"]
        pairs = (((h1, w1), (h2, w2)) for h1, w1, h2, w2 in itertools.product(h1s, r["w1"], h2s, r["w2"]))
    out: list[dict[str, Any]] = []
    for k1, k2 in pairs:
        cand = {"conv": kind, "kernel1": tuple(k1), "kernel2": tuple(k2)}
        if _valid(kind, n_bins, context, k1, k2) and cand not in out:
            out.append(cand)
    return out


def top_k(results: Sequence[tuple[dict[str, Any], float]], k: int) -> list[dict[str, Any]]:
    """The ``k`` candidates with the highest score from ``[(candidate, validation score), ...]``.

    Ties keep the order given (stable sort), so results are reproducible.
    """
    if k < 1:
        raise ConfigError(f"top_k k={k}: must be at least 1")
    ranked = sorted(range(len(results)), key=lambda i: -float(results[i][1]))
    return [dict(results[i][0]) for i in ranked[:k]]
