"""The architectures of the MTS paper (Guizzo et al., ICASSP 2020), each in standard or MTS form.

Registered in :data:`emoconv.models.MODELS`: ``mts.a1``, ``mts.a2``, ``mts.a3``, ``mts.a4`` and
``mts.resnet18``. Every builder has the signature::

    build(n_classes, input_shape=(C, T, F), conv="standard" | "mts", scales=(0.5, 1, 2),
          strategy="kernel", mode="shared", dropout=0.0, **variant_options) -> nn.Module

and the model maps ``(B, C, T, F)`` -> logits ``(B, n_classes)`` (no softmax: the trainer applies
cross-entropy). ``conv`` switches the MTS-enabled convolutions between ``nn.Conv2d`` and
:class:`~emoconv.layers.mts.MTSConv2d`; the trainable parameter count is the same either way (except
with ``concat_scale``, which feeds one more channel to the next layer, or ``mode="reference"``,
whose per-scale copies are extra parameters). ``variant_options``: ``scale_freq``, ``penalty``,
``penalty_kind``, ``train_standard_infer_mts``, ``concat_scale`` (see ``MTSConv2d``), plus
``pool=(t, f)`` for A1-A3 (adaptive max pooling before the FC; default none, as in the paper) and
``width`` for ``mts.resnet18``. Kernels are ``[time, frequency]``; hidden units are ReLU.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import nn

from ..layers.pooling import MaxPool2d
from ..errors import ConfigError
from ..layers.mts import MTSConv2d
from . import MODELS

__all__ = ["MTSNet", "MTSResNet18", "make_conv"]

_MTS_OPTIONS = ("scale_freq", "penalty", "penalty_kind", "train_standard_infer_mts", "concat_scale", "kernel_norm")
KERNEL = (10, 5)  # the paper's [time, frequency] kernel
FC_UNITS = 200


def make_conv(conv: str, in_ch: int, out_ch: int, kernel_size: Sequence[int] | int, *, scales=(0.5, 1.0, 2.0),
              strategy: str = "kernel", mode: str = "shared", mts_options: dict | None = None,
              **conv_args: Any) -> nn.Conv2d:
    """``nn.Conv2d`` (``conv="standard"``) or ``MTSConv2d`` (``conv="mts"``) with the same arguments."""
    if conv == "standard":
        return nn.Conv2d(in_ch, out_ch, kernel_size, **conv_args)
    if conv == "mts":
        return MTSConv2d(in_ch, out_ch, kernel_size, scales=tuple(scales), strategy=strategy, mode=mode,
                         **(mts_options or {}), **conv_args)
    raise ConfigError(f"model.conv: {conv!r} is not 'standard' or 'mts'; pick one")


def _channels_out(layer: nn.Module) -> int:
    return layer.output_channels if isinstance(layer, MTSConv2d) else layer.out_channels


def _check_shape(input_shape: Sequence[int], name: str) -> tuple[int, int, int]:
    shape = tuple(int(v) for v in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ConfigError(f"{name}: input_shape must be (channels, time, freq), got {tuple(input_shape)}")
    return shape  # type: ignore[return-value]


def _split_options(name: str, options: dict[str, Any], extra: Sequence[str]) -> tuple[dict, dict]:
    unknown = sorted(set(options) - set(_MTS_OPTIONS) - set(extra))
    if unknown:
        raise ConfigError(f"{name}: unknown option(s) {', '.join(unknown)}; known: "
                          f"{', '.join((*_MTS_OPTIONS, *extra))}")
    return ({k: v for k, v in options.items() if k in _MTS_OPTIONS},
            {k: v for k, v in options.items() if k in extra})


class MTSNet(nn.Module):
    """A plain CNN: ``features`` (convs, ReLU, pooling), optional adaptive pooling, flatten, FC head.

    Input ``(B, C, T, F)`` -> logits ``(B, n_classes)``. The FC input size is found by running
    ``features`` once on zeros of ``input_shape`` at construction.
    """

    def __init__(self, features: nn.Sequential, input_shape: tuple[int, int, int], n_classes: int,
                 hidden: int = FC_UNITS, dropout: float = 0.0, pool: Sequence[int] | None = None) -> None:
        super().__init__()
        self.input_shape = input_shape
        self.features = features
        self.pool = nn.AdaptiveMaxPool2d(tuple(pool)) if pool else nn.Identity()
        self.fixed_size = not pool  # without pooling the FC fixes (T, F)
        with torch.no_grad():
            was = features.training
            features.eval()
            n_in = self.pool(features(torch.zeros(1, *input_shape))).numel()
            features.train(was)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(n_in, hidden), nn.ReLU(inplace=True),
                                  nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T, F)`` -> ``(B, n_classes)``."""
        want = self.input_shape if self.fixed_size else self.input_shape[:1]
        if x.dim() != 4 or tuple(x.shape[1:1 + len(want)]) != want:
            raise ConfigError(f"model: expected input (batch, {', '.join(map(str, want))}, ...), got "
                              f"{tuple(x.shape)}; pad/crop to input_shape or build with pool=(t, f)")
        return self.head(self.pool(self.features(x)))


def _builder(name: str, make_features: Callable[..., nn.Sequential], pool_default=None) -> Callable[..., nn.Module]:
    def build(n_classes: int, input_shape: Sequence[int] = (1, 300, 161), conv: str = "standard",
              scales: Sequence[float] = (0.5, 1.0, 2.0), strategy: str = "kernel", mode: str = "shared",
              dropout: float = 0.0, **variant_options: Any) -> nn.Module:
        shape = _check_shape(input_shape, name)
        mts_options, extra = _split_options(name, variant_options, ("pool",))
        if n_classes < 2:
            raise ConfigError(f"{name}: n_classes must be >= 2, got {n_classes}")

        def conv_fn(in_ch: int, out_ch: int, kernel=KERNEL, **kw: Any) -> nn.Conv2d:
            return make_conv(conv, in_ch, out_ch, kernel, scales=scales, strategy=strategy, mode=mode,
                             mts_options=mts_options, **kw)

        pool = extra.get("pool", pool_default)
        return MTSNet(make_features(shape[0], conv_fn), shape, n_classes, dropout=dropout, pool=pool)

    build.__doc__ = f"Build ``{name}``: ``(B, C, T, F)`` -> logits ``(B, n_classes)``; see the module doc."
    build.__name__ = f"build_{name.replace('.', '_')}"
    return build


def _a1(c: int, conv_fn: Callable[..., nn.Module]) -> nn.Sequential:
    """A1: conv (1 channel, [10,5]) - ReLU."""
    c1 = conv_fn(c, 1)
    return nn.Sequential(c1, nn.ReLU(inplace=True))


def _a2(c: int, conv_fn: Callable[..., nn.Module]) -> nn.Sequential:
    """A2: conv (10 channels, [10,5]) - ReLU."""
    c1 = conv_fn(c, 10)
    return nn.Sequential(c1, nn.ReLU(inplace=True))


def _a3(c: int, conv_fn: Callable[..., nn.Module]) -> nn.Sequential:
    """A3: conv (10, [10,5]) - ReLU - max-pool [2,2] - conv (10, [10,5]) - ReLU."""
    c1 = conv_fn(c, 10)
    c2 = conv_fn(_channels_out(c1), 10)
    return nn.Sequential(c1, nn.ReLU(inplace=True), MaxPool2d(2), c2, nn.ReLU(inplace=True))


def _a4(c: int, conv_fn: Callable[..., nn.Module]) -> nn.Sequential:
    """A4, AlexNet-style (Krizhevsky et al., 2012) scaled to spectrograms: 5 convs, MTS in the first two.

    conv1 16ch [10,5] stride 2 - pool 2 - conv2 32ch [10,5] - pool 2 - conv3 48ch 3x3 - conv4 48ch 3x3 -
    conv5 32ch 3x3 - pool 2 (then adaptive max pooling to 4x4 before the FC layers).
    """
    c1 = conv_fn(c, 16, KERNEL, stride=2, padding=(4, 2))
    c2 = conv_fn(_channels_out(c1), 32, KERNEL, padding=(4, 2))
    relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
    return nn.Sequential(
        c1, relu(), MaxPool2d(2, ceil_mode=True), c2, relu(), MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(_channels_out(c2), 48, 3, padding=1), relu(), nn.Conv2d(48, 48, 3, padding=1), relu(),
        nn.Conv2d(48, 32, 3, padding=1), relu(), MaxPool2d(2, ceil_mode=True))


for _name, _make, _pool in (("mts.a1", _a1, None), ("mts.a2", _a2, None), ("mts.a3", _a3, None),
                            ("mts.a4", _a4, (4, 4))):
    MODELS.register(_name)(_builder(_name, _make, _pool))


# ------------------------------------------------------------------------------------- ResNet18
class _Block(nn.Module):
    """ResNet basic block (He et al., 2016): two 3x3 convs (MTS-capable) with batch norm and a skip."""

    def __init__(self, conv_fn: Callable[..., nn.Module], in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        self.conv1 = conv_fn(in_ch, out_ch, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(_channels_out(self.conv1))
        self.conv2 = conv_fn(_channels_out(self.conv1), out_ch, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(_channels_out(self.conv2))
        self.out_ch = _channels_out(self.conv2)
        self.down = None
        if stride != 1 or in_ch != self.out_ch:
            self.down = nn.Sequential(nn.Conv2d(in_ch, self.out_ch, 1, stride=stride, bias=False),
                                      nn.BatchNorm2d(self.out_ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + (x if self.down is None else self.down(x)))


class MTSResNet18(nn.Module):
    """ResNet18 for spectrograms: stem conv [7,7]/2 + max-pool, 4 stages of 2 basic blocks, avg-pool, FC.

    Input ``(B, C, T, F)`` -> ``(B, n_classes)``. Widths ``width * (1, 2, 4, 8)`` (default 16, a quarter of
    He et al.'s 64, for small corpora on CPU). With ``conv="mts"`` the stem and every 3x3 conv are MTS;
    the 1x1 shortcut convs stay standard (a one-tap kernel cannot be stretched meaningfully).
    """

    def __init__(self, conv_fn: Callable[..., nn.Module], in_ch: int, n_classes: int, width: int = 16,
                 dropout: float = 0.0) -> None:
        super().__init__()
        stem = conv_fn(in_ch, width, 7, stride=2, padding=3, bias=False)
        self.stem = nn.Sequential(stem, nn.BatchNorm2d(_channels_out(stem)), nn.ReLU(inplace=True),
                                  MaxPool2d(3, stride=2, padding=1))
        blocks, ch = [], _channels_out(stem)
        for i, w in enumerate((width, 2 * width, 4 * width, 8 * width)):
            for j in range(2):
                block = _Block(conv_fn, ch, w, 2 if (j == 0 and i > 0) else 1)
                blocks.append(block)
                ch = block.out_ch
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(ch, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, T, F)`` -> ``(B, n_classes)``."""
        return self.head(self.blocks(self.stem(x)))


@MODELS.register("mts.resnet18")
def build_resnet18(n_classes: int, input_shape: Sequence[int] = (1, 300, 161), conv: str = "standard",
                   scales: Sequence[float] = (0.5, 1.0, 2.0), strategy: str = "kernel", mode: str = "shared",
                   dropout: float = 0.0, **variant_options: Any) -> nn.Module:
    """Build ``mts.resnet18``: ``(B, C, T, F)`` -> logits ``(B, n_classes)``; option ``width`` (16)."""
    shape = _check_shape(input_shape, "mts.resnet18")
    mts_options, extra = _split_options("mts.resnet18", variant_options, ("width",))
    if n_classes < 2:
        raise ConfigError(f"mts.resnet18: n_classes must be >= 2, got {n_classes}")

    def conv_fn(in_ch: int, out_ch: int, kernel: Any, **kw: Any) -> nn.Conv2d:
        return make_conv(conv, in_ch, out_ch, kernel, scales=scales, strategy=strategy, mode=mode,
                         mts_options=mts_options, **kw)

    return MTSResNet18(conv_fn, shape[0], n_classes, width=int(extra.get("width", 16)), dropout=dropout)
