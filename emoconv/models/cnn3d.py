"""3D CNNs over spectro-temporal volumes (Kim, Saurous et al.-style 3D CNN for SER).

From "Learning spectro-temporal features with 3D CNNs for speech emotion recognition"
(J. Kim, K. P. Truong, G. Englebienne, V. Evers; ACII 2017). An utterance segment is a
volume ``(1, L, T, S)``: ``L`` long-term windows of ``T`` short-term frames of ``S``
log-spectral bins (10 x 10 x 256, built by :mod:`emoconv.features.volumes`).

* :class:`CNN3DDNN` ("3D-CNN-DNN"): homogeneous 3D convolutions (4 kernels each, one
  kernel resolution for every layer, "same" padding), a 2 x 2 x 2 max-pool after every
  convolution but the first, flatten, two fully-connected layers of 512 with dropout 0.5,
  logits.
* :class:`CNN3DSteps` + :class:`~emoconv.layers.elm.NetworkELM` ("3D-CNN-DNN-ELM"): the
  same convolutions but pooling only T and S (1 x 2 x 2), so the ``L`` long-term states
  survive; the ``(4, T', S')`` map of every state is flattened and fed to a temporal series
  of (shared) fully-connected layers of 512, giving step logits ``(B, L, K)``; utterance
  functionals of the step posteriors feed an ELM.

Parameter counts with the paper's 4-class setting match its Table 4 to the thousand
(e.g. 807,952 for 3 x (2 x 2 x 128) 3D-CNN-DNN, 545,812 for the ELM variant); see
docs/cnn3d.md for the one row that differs.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch import nn

from ..config import check
from ..layers.elm import NetworkELM
from . import MODELS

#: Kernel resolutions (L, T, S) of the paper's Table 3 sweep, in its row order, by group.
TABLE3_KERNELS: dict[str, tuple[tuple[int, int, int], ...]] = {
    "shallow temporal, deep spectral": ((2, 2, 2), (2, 2, 32), (2, 2, 128), (2, 2, 256)),
    "deep temporal, shallow spectral": ((4, 2, 2), (8, 2, 2), (2, 4, 2), (2, 8, 2)),
    "deep temporal, deep spectral": ((4, 2, 128), (8, 2, 128), (2, 4, 128), (2, 8, 128)),
}


def table3_configs(depth: int = 3) -> list[dict[str, Any]]:
    """The Table 3 sweep as model specs: ``{"name", "group", "params"}`` for ``cnn3d.dnn``.

    >>> [c["params"]["kernel"] for c in table3_configs()][:3]
    [(2, 2, 2), (2, 2, 32), (2, 2, 128)]
    """
    return [
        {"name": "cnn3d.dnn", "group": group, "params": {"kernel": k, "depth": depth}}
        for group, kernels in TABLE3_KERNELS.items() for k in kernels
    ]


def _kernel(kernel: Sequence[int]) -> tuple[int, int, int]:
    k = tuple(int(v) for v in kernel)
    check(len(k) == 3 and all(v >= 1 for v in k),
          f"model.kernel: {list(kernel)!r} must be three positive sizes (L, T, S)")
    return k  # type: ignore[return-value]


def _input(input_shape: Sequence[int]) -> tuple[int, int, int, int]:
    check(len(input_shape) == 4, f"model input_shape {tuple(input_shape)} must be (C, L, T, S), e.g. (1, 10, 10, 256)")
    return tuple(int(v) for v in input_shape)  # type: ignore[return-value]


def same_pads(kernel: Sequence[int]) -> tuple[int, ...]:
    """``F.pad`` / ``ConstantPadNd`` amounts that keep a stride-1 convolution's output size.

    Last axis first; ``(k - 1) // 2`` before and ``k // 2`` after each axis (the placement
    ``padding="same"`` uses), e.g. ``(2, 32) -> (15, 16, 0, 1)``.
    """
    pads: list[int] = []
    for size in reversed(tuple(kernel)):
        pads += [(size - 1) // 2, size // 2]
    return tuple(pads)


class Conv3dStack(nn.Module):
    """``depth`` homogeneous 3D conv layers (ReLU), max-pool after every layer but the first.

    Input ``(B, C, L, T, S)`` -> ``(B, channels, L', T', S')``; "same" zero padding (for an
    even kernel size ``k`` the extra row goes after: ``(k - 1) // 2`` before, ``k // 2``
    after, as ``padding="same"`` does), so only the pools shrink the volume (floor division
    by ``pool`` per axis). ``pool_first=True`` also pools after the first layer.
    """

    def __init__(self, in_channels: int, kernel: Sequence[int], depth: int = 3, channels: int = 4,
                 pool: Sequence[int] = (2, 2, 2), pool_first: bool = False) -> None:
        super().__init__()
        check(depth >= 1, f"model.depth: {depth!r} must be at least 1")
        check(channels >= 1, f"model.channels: {channels!r} must be at least 1")
        k = _kernel(kernel)
        pads = same_pads(k)
        layers: list[nn.Module] = []
        for i in range(depth):
            layers += [nn.ConstantPad3d(tuple(pads), 0.0),
                       nn.Conv3d(in_channels if i == 0 else channels, channels, k),
                       nn.ReLU(inplace=True)]
            if i > 0 or pool_first:
                layers.append(nn.MaxPool3d(tuple(pool)))
        self.body = nn.Sequential(*layers)
        self.depth, self.channels, self.pool = depth, channels, tuple(pool)
        self.n_pools = depth if pool_first else depth - 1

    def out_shape(self, l: int, t: int, s: int) -> tuple[int, int, int, int]:
        for _ in range(self.n_pools):
            l, t, s = l // self.pool[0], t // self.pool[1], s // self.pool[2]
        check(min(l, t, s) >= 1, f"model.depth: {self.depth} pools shrink the input to nothing; use fewer layers")
        return self.channels, l, t, s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def _fc(n_in: int, hidden: int, layers: int, dropout: float) -> nn.Sequential:
    mods: list[nn.Module] = []
    for i in range(layers):
        mods += [nn.Linear(n_in if i == 0 else hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout)]
    return nn.Sequential(*mods)


class CNN3DDNN(nn.Module):
    """3D-CNN-DNN: ``(B, C, L, T, S)`` -> logits ``(B, n_classes)``.

    Args:
        n_classes: output classes.
        input_shape: ``(C, L, T, S)``, e.g. ``(1, 10, 10, 256)``.
        kernel: conv kernel resolution ``(L, T, S)``, the same for every layer (Table 3).
        depth: number of conv layers (the paper's best: 3).
        channels: kernels per conv layer (4 in the paper).
        hidden, fc_layers, dropout: the fully-connected head (2 x 512, dropout 0.5).
        pool_first: also pool after the first conv layer (the paper does not; its depth-2
            parameter counts in Table 4 are only reproduced with it, see docs/cnn3d.md).
    """

    def __init__(self, n_classes: int, input_shape: Sequence[int], kernel: Sequence[int] = (2, 2, 128),
                 depth: int = 3, channels: int = 4, hidden: int = 512, fc_layers: int = 2,
                 dropout: float = 0.5, pool_first: bool = False) -> None:
        super().__init__()
        c, l, t, s = _input(input_shape)
        self.convs = Conv3dStack(c, kernel, depth, channels, pool=(2, 2, 2), pool_first=pool_first)
        co, lo, to, so = self.convs.out_shape(l, t, s)
        self.fc = _fc(co * lo * to * so, hidden, fc_layers, dropout)
        self.out = nn.Linear(hidden, n_classes)

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Top fully-connected representation ``(B, hidden)`` (after ReLU, before dropout)."""
        h = self.convs(x).flatten(1)
        mods = list(self.fc)
        for mod in mods[:-1]:  # the last module is the final dropout
            h = mod(h)
        return h

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.fc(self.convs(x).flatten(1)))


class CNN3DSteps(nn.Module):
    """The network of 3D-CNN-DNN-ELM: ``(B, C, L, T, S)`` -> step logits ``(B, L, n_classes)``.

    Pools are ``1 x 2 x 2`` (no long-term pooling); each of the ``L`` states' conv maps is
    flattened (``channels * T' * S'`` = 512 for the 10 x 10 x 256 input and 3 layers) and
    passed through the same ``fc_layers`` x ``hidden`` fully-connected layers.
    """

    def __init__(self, n_classes: int, input_shape: Sequence[int], kernel: Sequence[int] = (2, 2, 32),
                 depth: int = 3, channels: int = 4, hidden: int = 512, fc_layers: int = 2,
                 dropout: float = 0.5, pool_first: bool = False) -> None:
        super().__init__()
        c, l, t, s = _input(input_shape)
        self.convs = Conv3dStack(c, kernel, depth, channels, pool=(1, 2, 2), pool_first=pool_first)
        co, lo, to, so = self.convs.out_shape(l, t, s)
        self.steps = lo
        self.fc = _fc(co * to * so, hidden, fc_layers, dropout)
        self.out = nn.Linear(hidden, n_classes)

    def _states(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(x)  # (B, C, L, T', S')
        return h.permute(0, 2, 1, 3, 4).flatten(2)  # (B, L, C*T'*S')

    def step_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return torch.full_like(lengths, self.steps)

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Top fully-connected representation averaged over the ``L`` states, ``(B, hidden)``."""
        h = self._states(x)
        for mod in list(self.fc)[:-1]:
            h = mod(h)
        return h.mean(1)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.fc(self._states(x)))


_TRAIN_KEYS = ("epochs", "batch_size", "lr", "weight_decay", "patience", "elm_hidden", "elm_alpha",
               "elm_activation", "threshold", "class_weight", "device")


def _seeded(seed: int, make):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return make()


@MODELS.register("cnn3d.dnn")
def build_cnn3d_dnn(n_classes: int, input_shape: tuple[int, ...], kernel: Sequence[int] = (2, 2, 128),
                    depth: int = 3, channels: int = 4, hidden: int = 512, fc_layers: int = 2,
                    dropout: float = 0.5, pool_first: bool = False) -> CNN3DDNN:
    """3D-CNN-DNN (torch model, trained end to end by the trainer)."""
    return CNN3DDNN(n_classes, input_shape, kernel, depth, channels, hidden, fc_layers, dropout, pool_first)


@MODELS.register("cnn3d.dnn_elm")
def build_cnn3d_dnn_elm(n_classes: int, input_shape: tuple[int, ...], kernel: Sequence[int] = (2, 2, 32),
                        depth: int = 3, channels: int = 4, hidden: int = 512, fc_layers: int = 2,
                        dropout: float = 0.5, pool_first: bool = False, seed: int = 0,
                        **train: Any) -> NetworkELM:
    """3D-CNN-DNN-ELM (estimator: trains :class:`CNN3DSteps`, then the ELM). ``train``: NetworkELM settings."""
    unknown = sorted(set(train) - set(_TRAIN_KEYS))
    check(not unknown, f"model params: unknown key(s) {', '.join(unknown)}; known: {', '.join(_TRAIN_KEYS)}")
    net = _seeded(seed, lambda: CNN3DSteps(n_classes, input_shape, kernel, depth, channels, hidden,
                                           fc_layers, dropout, pool_first))
    return NetworkELM(net, n_classes, seed=seed, **train)


def count_parameters(model: nn.Module | NetworkELM) -> int:
    """Trainable parameters of a torch model or of an estimator's network (the ELM is not counted)."""
    from ..training.trainer import n_parameters

    return n_parameters(model.network if isinstance(model, NetworkELM) else model)
