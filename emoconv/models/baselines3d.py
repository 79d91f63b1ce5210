"""The five baselines of the 3D CNN paper's Table 4 (Kim et al., ACII 2017).

* DNN-ELM (Han, Yu & Tashev, Interspeech 2014): frame-level DNN (3 x 256) on the 32 LLDs
  of :mod:`emoconv.features.lld` with a 5-frame context window, utterance functionals of
  its frame posteriors, ELM. Estimator (:class:`~emoconv.layers.elm.NetworkELM`).
* LSTM-ELM (Lee & Tashev, Interspeech 2015): 2 LSTM layers of 128 on the same LLDs (no
  context window), then functionals and an ELM. Estimator.
* 1D-CNN-LSTM (Trigeorgis et al., ICASSP 2016): a 2 s raw waveform (32000 samples) cut into
  20 sub-sequences of 1600; per sub-sequence conv (length 80), max-pool 2, conv (length
  800), max-pool 40; 2 LSTM layers (128 or 256) over the 20 sub-sequences. Torch model.
* 2D-CNN-LSTM (Zhao, Mao & Chen-style 2D CNN + LSTM) and 2D-CNN-LSTM-DNN (Sainath et al.,
  CLDNN, ICASSP 2015): on the same 10 x 10 x 256 volumes as the 3D CNN, a 2D CNN per
  long-term window (2 homogeneous layers of 4 kernels, (T x S) = 2 x 2, 2 x 32 or 2 x 128,
  max-pool 2 x 2 then 4 x 4), 2 LSTM layers of 128 over the L windows, optionally 2 fully
  connected layers of 512 (dropout 0.5). Torch models.

Inputs: LLD models take per-utterance ``(T, 32)`` tensors; the 1D CNN ``(B, 1, 32000)``
(or ``(B, 32000)``); the 2D CNNs ``(B, 1, L, T, S)``.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..layers.pooling import MaxPool2d
from ..config import check
from ..layers.elm import NetworkELM
from . import MODELS
from .cnn3d import _TRAIN_KEYS, _seeded, same_pads

#: Parameter counts (thousands) in the paper's Table 4, by registry name and key settings.
PAPER_TABLE4_K: dict[str, float] = {
    "cnn3d.base.dnn_elm": 141, "cnn3d.base.lstm_elm": 214,
    "cnn3d.base.cnn1d_lstm[128]": 1583, "cnn3d.base.cnn1d_lstm[256]": 2211,
    "cnn3d.base.cnn2d_lstm[2]": 264, "cnn3d.base.cnn2d_lstm[32]": 268, "cnn3d.base.cnn2d_lstm[128]": 282,
    "cnn3d.base.cnn2d_lstm_dnn[2]": 595, "cnn3d.base.cnn2d_lstm_dnn[32]": 607,
    "cnn3d.base.cnn2d_lstm_dnn[128]": 611,
    "cnn3d.dnn[2]": 798, "cnn3d.dnn[32]": 793, "cnn3d.dnn[128]": 807,
    "cnn3d.dnn_elm[2]": 528, "cnn3d.dnn_elm[32]": 531, "cnn3d.dnn_elm[128]": 546,
}


class FrameDNN(nn.Module):
    """Frame-level DNN of DNN-ELM: ``(B, T, F)`` -> frame logits ``(B, T, K)``.

    Each frame is spliced with ``context`` // 2 neighbours on each side (edges repeat the
    first/last frame), giving ``F * context`` inputs, then ``layers`` x ``hidden`` ReLU layers.
    """

    def __init__(self, n_classes: int, n_features: int = 32, context: int = 5, hidden: int = 256,
                 layers: int = 3, dropout: float = 0.0) -> None:
        super().__init__()
        check(context >= 1 and context % 2 == 1, f"model.context: {context!r} must be a positive odd frame count")
        self.context = context
        mods: list[nn.Module] = []
        for i in range(layers):
            mods += [nn.Linear(n_features * context if i == 0 else hidden, hidden), nn.ReLU(inplace=True),
                     nn.Dropout(dropout)]
        self.body = nn.Sequential(*mods)
        self.out = nn.Linear(hidden, n_classes)

    def _splice(self, x: torch.Tensor) -> torch.Tensor:
        if self.context == 1:
            return x
        half = self.context // 2
        padded = F.pad(x.transpose(1, 2), (half, half), mode="replicate")  # (B, F, T + 2 half)
        return padded.unfold(2, self.context, 1).permute(0, 2, 1, 3).flatten(2)  # (B, T, F * context)

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Top hidden layer averaged over the valid frames, ``(B, hidden)``."""
        return _masked_mean(self.body(self._splice(x)), lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.body(self._splice(x)))


class FrameLSTM(nn.Module):
    """Frame-level LSTM of LSTM-ELM: ``(B, T, F)`` -> frame logits ``(B, T, K)`` (unidirectional)."""

    def __init__(self, n_classes: int, n_features: int = 32, hidden: int = 128, layers: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, num_layers=layers, batch_first=True)
        self.out = nn.Linear(hidden, n_classes)

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return _masked_mean(self.lstm(x)[0], lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.out(self.lstm(x)[0])


def _masked_mean(h: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    if lengths is None:
        return h.mean(1)
    mask = (torch.arange(h.shape[1], device=h.device)[None] < lengths[:, None]).to(h.dtype)
    return (h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp_min(1.0)


class _LSTMHead(nn.Module):
    """2 LSTM layers over a sequence ``(B, S, D)``, last state, optional FC layers, logits."""

    def __init__(self, n_in: int, n_classes: int, cells: int, lstm_layers: int, fc: int, fc_layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.lstm = nn.LSTM(n_in, cells, num_layers=lstm_layers, batch_first=True)
        mods: list[nn.Module] = []
        for i in range(fc_layers):
            mods += [nn.Linear(cells if i == 0 else fc, fc), nn.ReLU(inplace=True), nn.Dropout(dropout)]
        self.fc = nn.Sequential(*mods)
        self.out = nn.Linear(fc if fc_layers else cells, n_classes)

    def embed(self, seq: torch.Tensor) -> torch.Tensor:
        h = self.lstm(seq)[0][:, -1]
        for mod in list(self.fc)[:-1] if len(self.fc) else []:
            h = mod(h)
        return h

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        return self.out(self.fc(self.lstm(seq)[0][:, -1]))


class CNN1DLSTM(nn.Module):
    """1D-CNN-LSTM on raw waveform: ``(B, 1, N)`` or ``(B, N)`` -> logits ``(B, K)``.

    ``N = subsequences * sub_len`` (20 x 1600 for 2 s at 16 kHz). Every sub-sequence goes
    through conv(``kernel1``) -> ReLU -> max-pool(``pool1``) -> conv(``kernel2``) -> ReLU ->
    max-pool(``pool2``) ("same" padding, ``filters`` channels); the flattened result is one
    LSTM step.
    """

    def __init__(self, n_classes: int, input_shape: Sequence[int], subsequences: int = 20, filters: int = 40,
                 kernel1: int = 80, pool1: int = 2, kernel2: int = 800, pool2: int = 40, cells: int = 128,
                 lstm_layers: int = 2) -> None:
        super().__init__()
        n = int(input_shape[-1])
        check(n % subsequences == 0, f"model.subsequences: {subsequences} does not divide the {n} input samples")
        self.subsequences, self.sub_len = subsequences, n // subsequences
        out_len = (self.sub_len // pool1) // pool2
        check(out_len >= 1, f"model.pool2: the {self.sub_len}-sample sub-sequences are too short for the pools")
        self.conv = nn.Sequential(
            nn.ConstantPad1d(same_pads((kernel1,)), 0.0), nn.Conv1d(1, filters, kernel1), nn.ReLU(inplace=True),
            nn.MaxPool1d(pool1),
            nn.ConstantPad1d(same_pads((kernel2,)), 0.0), nn.Conv1d(filters, filters, kernel2), nn.ReLU(inplace=True),
            nn.MaxPool1d(pool2))
        self.head = _LSTMHead(filters * out_len, n_classes, cells, lstm_layers, 0, 0, 0.0)

    def _seq(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        subs = x.reshape(b * self.subsequences, 1, self.sub_len)
        return self.conv(subs).reshape(b, self.subsequences, -1)

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head.embed(self._seq(x))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self._seq(x))


class CNN2DLSTM(nn.Module):
    """2D-CNN-LSTM(-DNN): ``(B, C, L, T, S)`` -> logits ``(B, K)``.

    A 2D CNN (``depth`` homogeneous layers of ``channels`` kernels of size ``kernel`` over
    (T, S), "same" padding, ReLU, max-pools ``pools``) on each of the L maps, LSTM over L,
    last state, ``fc_layers`` x ``fc`` ReLU layers with dropout (0 for 2D-CNN-LSTM, 2 x 512
    for 2D-CNN-LSTM-DNN), logits.
    """

    def __init__(self, n_classes: int, input_shape: Sequence[int], kernel: Sequence[int] = (2, 32),
                 channels: int = 4, pools: Sequence[Sequence[int]] = ((2, 2), (4, 4)), cells: int = 128,
                 lstm_layers: int = 2, fc: int = 512, fc_layers: int = 0, dropout: float = 0.5) -> None:
        super().__init__()
        check(len(input_shape) == 4, f"model input_shape {tuple(input_shape)} must be (C, L, T, S)")
        c, _, t, s = (int(v) for v in input_shape)
        kernel = tuple(int(k) for k in kernel)
        check(len(kernel) == 2 and min(kernel) >= 1, f"model.kernel: {list(kernel)!r} must be two sizes (T, S)")
        mods: list[nn.Module] = []
        for i, pool in enumerate(pools):
            mods += [nn.ConstantPad2d(same_pads(kernel), 0.0), nn.Conv2d(c if i == 0 else channels, channels, kernel),
                     nn.ReLU(inplace=True), MaxPool2d(tuple(pool))]
            t, s = t // pool[0], s // pool[1]
        check(min(t, s) >= 1, "model.pools: the pools shrink the (T, S) maps to nothing")
        self.conv = nn.Sequential(*mods)
        self.head = _LSTMHead(channels * t * s, n_classes, cells, lstm_layers, fc, fc_layers, dropout)

    def _seq(self, x: torch.Tensor) -> torch.Tensor:
        b, c, l, t, s = x.shape
        maps = x.permute(0, 2, 1, 3, 4).reshape(b * l, c, t, s)
        return self.conv(maps).reshape(b, l, -1)

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head.embed(self._seq(x))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self._seq(x))


def _train_params(train: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(train) - set(_TRAIN_KEYS))
    check(not unknown, f"model params: unknown key(s) {', '.join(unknown)}; known: {', '.join(_TRAIN_KEYS)}")
    return train


@MODELS.register("cnn3d.base.dnn_elm")
def build_dnn_elm(n_classes: int, input_shape: tuple[int, ...] = (32,), context: int = 5, hidden: int = 256,
                  layers: int = 3, dropout: float = 0.0, seed: int = 0, **train: Any) -> NetworkELM:
    """DNN-ELM estimator; ``input_shape`` ends with the LLD count (32)."""
    net = _seeded(seed, lambda: FrameDNN(n_classes, int(input_shape[-1]), context, hidden, layers, dropout))
    return NetworkELM(net, n_classes, seed=seed, **_train_params(train))


@MODELS.register("cnn3d.base.lstm_elm")
def build_lstm_elm(n_classes: int, input_shape: tuple[int, ...] = (32,), cells: int = 128, layers: int = 2,
                   seed: int = 0, **train: Any) -> NetworkELM:
    """LSTM-ELM estimator; ``input_shape`` ends with the LLD count (32)."""
    net = _seeded(seed, lambda: FrameLSTM(n_classes, int(input_shape[-1]), cells, layers))
    return NetworkELM(net, n_classes, seed=seed, **_train_params(train))


@MODELS.register("cnn3d.base.cnn1d_lstm")
def build_cnn1d_lstm(n_classes: int, input_shape: tuple[int, ...] = (1, 32000), **params: Any) -> CNN1DLSTM:
    """1D-CNN-LSTM (torch model); params: subsequences, filters, kernel1, pool1, kernel2, pool2, cells."""
    return CNN1DLSTM(n_classes, input_shape, **params)


@MODELS.register("cnn3d.base.cnn2d_lstm")
def build_cnn2d_lstm(n_classes: int, input_shape: tuple[int, ...] = (1, 10, 10, 256),
                     kernel: Sequence[int] = (2, 32), **params: Any) -> CNN2DLSTM:
    """2D-CNN-LSTM (torch model); ``kernel`` (T, S) = (2, 2), (2, 32) or (2, 128) in the paper."""
    return CNN2DLSTM(n_classes, input_shape, kernel, fc_layers=0, **params)


@MODELS.register("cnn3d.base.cnn2d_lstm_dnn")
def build_cnn2d_lstm_dnn(n_classes: int, input_shape: tuple[int, ...] = (1, 10, 10, 256),
                         kernel: Sequence[int] = (2, 32), fc_layers: int = 2, **params: Any) -> CNN2DLSTM:
    """2D-CNN-LSTM-DNN (torch model): 2D-CNN-LSTM plus 2 x 512 fully-connected layers."""
    return CNN2DLSTM(n_classes, input_shape, kernel, fc_layers=fc_layers, **params)


def table4_models() -> list[dict[str, Any]]:
    """Every row of the paper's Table 4 as ``{"key", "name", "feature", "params"}`` model specs.

    ``feature`` names the input: ``"lld"`` (:func:`emoconv.features.lld.extract_lld`),
    ``"waveform"`` or ``"volume"`` (:func:`emoconv.features.volumes.extract_segments`).
    """
    rows: list[dict[str, Any]] = [
        {"key": "cnn3d.base.dnn_elm", "name": "cnn3d.base.dnn_elm", "feature": "lld", "params": {}},
        {"key": "cnn3d.base.lstm_elm", "name": "cnn3d.base.lstm_elm", "feature": "lld", "params": {}},
    ]
    for cells in (128, 256):
        rows.append({"key": f"cnn3d.base.cnn1d_lstm[{cells}]", "name": "cnn3d.base.cnn1d_lstm",
                     "feature": "waveform", "params": {"cells": cells}})
    for name in ("cnn3d.base.cnn2d_lstm", "cnn3d.base.cnn2d_lstm_dnn"):
        for depth in (2, 32, 128):
            rows.append({"key": f"{name}[{depth}]", "name": name, "feature": "volume",
                         "params": {"kernel": (2, depth)}})
    for name in ("cnn3d.dnn", "cnn3d.dnn_elm"):
        for depth in (2, 32, 128):
            rows.append({"key": f"{name}[{depth}]", "name": name, "feature": "volume",
                         "params": {"kernel": (2, 2, depth), "depth": 3}})
    return rows
