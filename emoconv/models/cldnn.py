"""X-CLDNN and LDNN models of the convolution-type study.

Paper: C.-W. Huang and S. S. Narayanan, "Characterizing types of convolution in deep
convolutional recurrent neural networks for robust speech emotion recognition"
(arXiv:1706.02901), Section 3.3 and Fig. 1; the LDNN sub-network follows Sainath et al.'s CLDNN
(ICASSP 2015) with a bidirectional LSTM.

Per utterance the input is a sequence of spliced frames: frame ``t`` becomes the patch
``x[t - left : t + right + 1]`` transposed to ``(C, F, W)`` with ``W = left + 1 + right``
(10 + 1 + 5 = 16), edge frames repeated at the utterance's own first/last frame. The model:

1. two :class:`~emoconv.layers.convtypes.ConvType` layers (``conv="S"|"T"|"ST"|"FST"``) applied to
   every valid frame's patch (time folded into the batch; ``conv="none"`` = LDNN, the patch is
   flattened directly),
2. one BLSTM layer (128 cells per direction) over the frame sequence, each read within its own length,
3. mean pooling over the valid frames, dropout 0.2,
4. MLP: FC 128-32-32-N with ReLU (logits; the trainer applies softmax cross-entropy).

Splicing never materialises ``W`` copies of a whole utterance: with frame input
``(B, C, T, F)`` (what the trainer's ``pad_batch`` gives) the patches of the valid frames are
gathered straight from the padded batch, once per batch. Pre-spliced input ``(B, T, F, W)`` (or
``(B, T, C, F, W)``) from strided views (``emoconv.features.splice``) collated with
:func:`pad_spliced` is accepted too.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pad_sequence

from ..errors import ConfigError
from ..layers.convseq import conv_stack_on_sequence
from ..layers.convtypes import CONV_KINDS, ConvType, default_kernels
from ..layers.rnn import bidirectional_lstm
from . import MODELS

__all__ = ["CLDNN", "build_cldnn", "extract_module_outputs", "pad_spliced", "splice_batch", "MODULES"]

#: Names of the representations returned by :meth:`CLDNN.module_outputs` (in depth order).
MODULES: tuple[str, ...] = ("raw", "cnn", "blstm", "mlp")


def splice_batch(x: torch.Tensor, lengths: torch.Tensor, left: int, right: int) -> tuple[torch.Tensor, ...]:
    """Patches of every valid frame of a padded batch.

    Args:
        x: ``(B, C, T, F)`` padded frames. lengths: ``(B,)`` valid frames per utterance.
    Returns:
        ``(patches (N, C, F, W), b (N,), t (N,))`` for the ``N = lengths.sum()`` valid frames in
        (utterance, time) order; the context of frame ``t`` of utterance ``b`` is frames
        ``t - left .. t + right`` clamped to ``[0, lengths[b] - 1]`` (edges repeat the utterance's
        own first/last frame, never the padding).
    """
    B, _, T, _ = x.shape
    mask = torch.arange(T, device=x.device)[None, :] < lengths[:, None]
    b, t = mask.nonzero(as_tuple=True)
    offsets = torch.arange(-left, right + 1, device=x.device)
    idx = (t[:, None] + offsets[None, :]).clamp(min=0)
    idx = torch.minimum(idx, (lengths[b] - 1)[:, None])
    patches = x.permute(0, 2, 1, 3)[b[:, None], idx]  # (N, W, C, F)
    return patches.permute(0, 2, 3, 1).contiguous(), b, t


def pad_spliced(items: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate spliced utterances ``(T_i, F, W)`` (strided views are fine) into ``(B, Tmax, F, W)``.

    This is the only place the ``W``-fold copy happens: one batch at a time.
    Returns ``(x, lengths (B,) int64)``.
    """
    if not items:
        raise ValueError("pad_spliced needs at least one utterance")
    lengths = torch.tensor([int(i.shape[0]) for i in items], dtype=torch.long)
    return pad_sequence(list(items), batch_first=True), lengths


class CLDNN(nn.Module):
    """X-CLDNN (``conv`` in S, T, ST, FST) or LDNN (``conv="none"``).

    Args:
        n_classes: ``N`` output classes. n_bins: spectral bins ``F`` (40 log-mels, 13 MFCCs).
        in_channels: feature channels ``C`` (1: static features, as in the paper).
        conv: convolution type, or ``"none"`` for the LDNN baseline.
        kernel1, kernel2: ``(h, w)`` of the two conv layers (defaults: :func:`default_kernels`).
        maps: feature maps per conv layer (32). left, right: splicing context (10, 5).
        lstm_hidden: BLSTM cells per direction (128). fc: hidden FC sizes (128, 32, 32).
        dropout: on the mean-pooled BLSTM output (0.2).
        compute: ``"sequence"`` (default) runs the two conv layers once per utterance and reads each frame's
            patch outputs from the result (:mod:`emoconv.layers.convseq`; 3-16x fewer operations, equal up to
            float rounding); ``"patches"`` runs them on every frame's spliced patch, as the paper describes
            (the FST-CLDNN runs recorded on EMOVO before 2026-12-02 used it). Pre-spliced input always uses patches.

    ``forward(x, lengths=None)``: ``x`` is ``(B, C, T, F)`` frames or ``(B, T, F, W)`` /
    ``(B, T, C, F, W)`` spliced patches (recognised by the trailing ``(F, W)`` when ``F != W``);
    ``lengths (B,)`` valid frames (``None`` = all ``T``). Returns logits ``(B, N)``.
    """

    variable_length = True

    def __init__(
        self,
        n_classes: int,
        n_bins: int,
        in_channels: int = 1,
        conv: str = "FST",
        kernel1: Sequence[int | None] | None = None,
        kernel2: Sequence[int | None] | None = None,
        maps: int = 32,
        left: int = 10,
        right: int = 5,
        lstm_hidden: int = 128,
        fc: Sequence[int] = (128, 32, 32),
        dropout: float = 0.2,
        compute: str = "sequence",
    ) -> None:
        super().__init__()
        if compute not in ("sequence", "patches"):
            raise ConfigError(f"cldnn compute={compute!r}: use 'sequence' or 'patches'")
        self.compute = compute
        if conv not in CONV_KINDS + ("none",):
            raise ConfigError(f"cldnn conv={conv!r}: use one of {', '.join(CONV_KINDS)} or 'none' (LDNN)")
        if n_classes < 2 or n_bins < 1 or in_channels < 1 or left < 0 or right < 0:
            raise ConfigError(f"cldnn: n_classes={n_classes}, n_bins={n_bins}, in_channels={in_channels}, "
                              f"left={left}, right={right} are out of range")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"cldnn dropout={dropout}: must be in [0, 1)")
        self.conv_kind, self.n_bins, self.in_channels = conv, n_bins, in_channels
        self.left, self.right, self.context = left, right, left + 1 + right
        if conv == "none":
            self.cnn = nn.Identity()
            cnn_out = in_channels * n_bins * self.context
        else:
            d1, d2 = default_kernels(conv, n_bins)
            k1 = tuple(kernel1) if kernel1 is not None else d1
            k2 = tuple(kernel2) if kernel2 is not None else d2
            first = ConvType(conv, in_channels, n_bins, self.context, maps, k1)  # type: ignore[arg-type]
            second = ConvType(conv, maps, first.out_bins, first.out_context, maps, k2)  # type: ignore[arg-type]
            self.cnn = nn.Sequential(first, second)
            cnn_out = second.out_features
        self.cnn_features = cnn_out
        self.blstm = nn.LSTM(cnn_out, lstm_hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        layers: list[nn.Module] = []
        width = 2 * lstm_hidden
        for size in fc:
            layers += [nn.Linear(width, int(size)), nn.ReLU()]
            width = int(size)
        self.hidden = nn.Sequential(*layers)
        self.out = nn.Linear(width, n_classes)

    # -- input handling -------------------------------------------------------------------
    def _is_spliced(self, x: torch.Tensor) -> bool:
        return x.shape[-2:] == (self.n_bins, self.context) and self.n_bins != self.context and x.dim() in (4, 5)

    def _patches(
        self, x: torch.Tensor, lengths: torch.Tensor | None, splice: bool = True
    ) -> tuple[torch.Tensor | None, ...]:
        """(patches (N, C, F, W), b, t, lengths (B,)) for the valid frames of the batch.

        With ``splice=False`` frame input is not spliced (``patches``, ``b``, ``t`` are None): the sequence path
        reads ``x`` and ``lengths``.
        """
        F_, W = self.n_bins, self.context
        spliced = self._is_spliced(x)
        if spliced:
            if x.dim() == 4:
                x = x.unsqueeze(2)
            B, T = x.shape[:2]
        elif x.dim() == 4 and x.shape[1] == self.in_channels and x.shape[-1] == F_:
            B, T = x.shape[0], x.shape[2]
        else:
            raise ValueError(f"CLDNN expects (B, {self.in_channels}, T, {F_}) frames or (B, T, {F_}, {W}) "
                             f"spliced patches, got {tuple(x.shape)}")
        if lengths is None:
            lengths = torch.full((B,), T, dtype=torch.long, device=x.device)
        lengths = lengths.to(device=x.device, dtype=torch.long)
        if lengths.shape != (B,) or int(lengths.min()) < 1 or int(lengths.max()) > T:
            raise ValueError(f"lengths must be (B,) = ({B},) with values in [1, {T}], got {lengths.tolist()}")
        if spliced:
            mask = torch.arange(T, device=x.device)[None, :] < lengths[:, None]
            b, t = mask.nonzero(as_tuple=True)
            patches = x[b, t]
            if patches.shape[1] != self.in_channels:
                raise ValueError(f"CLDNN expects {self.in_channels} channel(s), got {patches.shape[1]}")
        elif splice:
            patches, b, t = splice_batch(x, lengths, self.left, self.right)
        else:
            patches = b = t = None
        return patches, b, t, lengths

    def _run(self, x: torch.Tensor, lengths: torch.Tensor | None, keep: bool) -> dict[str, torch.Tensor]:
        on_sequence = self.compute == "sequence" and self.conv_kind != "none" and not self._is_spliced(x)
        patches, b, t, lengths = self._patches(x, lengths, splice=keep or not on_sequence)
        B, T = lengths.shape[0], int(lengths.max())
        if on_sequence:
            first, second = self.cnn
            valid = (torch.arange(T, device=x.device)[None, :] < lengths[:, None])[:, :, None]
            seq = conv_stack_on_sequence(first, second, x[:, :, :T], lengths, self.left, self.right) * valid
        else:
            feats = self.cnn(patches).flatten(1)  # (N, D)
            seq = feats.new_zeros(B, T, feats.shape[1])
            seq[b, t] = feats
        # the packed call's outputs, several times faster to train on CPU (emoconv.layers.rnn); zeros past each length
        out = bidirectional_lstm(self.blstm, seq, lengths)
        denom = lengths.to(out.dtype)[:, None]
        pooled = out.sum(1) / denom
        hidden = self.hidden(self.dropout(pooled))
        res = {"blstm": pooled, "hidden": hidden, "logits": self.out(hidden)}
        if keep:
            def mean_of(v: torch.Tensor) -> torch.Tensor:
                return v.new_zeros(B, v.shape[1]).index_add_(0, b, v) / denom
            res["raw"] = mean_of(patches.flatten(1))
            res["cnn"] = seq.sum(1) / denom if on_sequence else mean_of(feats)
        return res

    # -- public API -----------------------------------------------------------------------
    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` frames ``(B, C, T, F)`` or patches ``(B, T, F, W)`` -> logits ``(B, n_classes)``."""
        return self._run(x, lengths, keep=False)["logits"]

    def embed(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Top hidden representation ``(B, fc[-1])`` (the last ReLU FC layer)."""
        return self._run(x, lengths, keep=False)["hidden"]

    def module_outputs(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Mean-pooled outputs per module, for the module-wise analysis (the paper's Sec. 7.4).

        Returns ``{"raw": (B, C*F*W), "cnn": (B, D_cnn), "blstm": (B, 2*hidden), "mlp": (B, N)}``:
        ``raw`` = spliced input patches averaged over valid frames, ``cnn`` = flattened second conv
        layer output averaged over valid frames (absent for the LDNN), ``blstm`` = the mean-pooled
        BLSTM output, ``mlp`` = the MLP module's output layer (softmax posteriors). Call in eval mode.
        """
        res = self._run(x, lengths, keep=True)
        out = {"raw": res["raw"], "cnn": res["cnn"], "blstm": res["blstm"], "mlp": res["logits"].softmax(-1)}
        if self.conv_kind == "none":
            del out["cnn"]
        return out


@torch.no_grad()
def extract_module_outputs(
    model: CLDNN, feats: Sequence[torch.Tensor], batch_size: int = 16, device: str | torch.device = "cpu"
) -> dict[str, np.ndarray]:
    """Module representations ``{name: (N, D) float32}`` for utterance features ``(C, T_i, F)``.

    Batches are formed in order and padded; padding does not change any utterance's outputs.
    The model is put in eval mode (dropout off) and left there.
    """
    model.eval().to(device)
    chunks: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(feats), batch_size):
        items = feats[start:start + batch_size]
        lengths = torch.tensor([int(f.shape[1]) for f in items], dtype=torch.long)
        x = pad_sequence([f.transpose(0, 1) for f in items], batch_first=True).transpose(1, 2)  # (B, C, T, F)
        outs = model.module_outputs(x.to(device), lengths.to(device))
        for name, value in outs.items():
            chunks.setdefault(name, []).append(value.float().cpu().numpy())
    return {name: np.concatenate(v) for name, v in chunks.items()}


@MODELS.register("cldnn")
def build_cldnn(n_classes: int, input_shape: tuple[int, ...], conv: str = "FST", **params: Any) -> CLDNN:
    """Registered builder: ``input_shape = (C, T, F)`` of one utterance's frames (``T`` is ignored).

    ``params``: kernel1, kernel2, maps, left, right, lstm_hidden, fc, dropout, compute (see :class:`CLDNN`).
    Use ``conv="none"`` for the LDNN baselines (log-mels: F=40; MFCCs: F=13).
    """
    if len(input_shape) != 3:
        raise ConfigError(f"cldnn input_shape {tuple(input_shape)}: expected (C, T, F) frames")
    known = {"kernel1", "kernel2", "maps", "left", "right", "lstm_hidden", "fc", "dropout", "compute"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(f"cldnn: unknown parameter(s) {', '.join(unknown)}; known: conv, {', '.join(sorted(known))}")
    return CLDNN(n_classes, n_bins=int(input_shape[2]), in_channels=int(input_shape[0]), conv=conv, **params)
