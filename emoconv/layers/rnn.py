"""Bidirectional LSTMs over variable-length batches without packing on CPU.

``nn.LSTM`` on a :class:`~torch.nn.utils.rnn.PackedSequence` is exact but, on CPU, its backward pass slices the
packed data once per time step and every slice's gradient is a full-size zero tensor plus an add: quadratic in
the sequence length. :func:`bidirectional_lstm` gives the same outputs and gradients (to float rounding) several
times faster at the CLDNN's size (``benchmarks/lstm_speed.py`` times both side by side; figures in
docs/results.md). The forward direction runs on the padded batch as it is (padding after a sequence's end cannot
reach its valid steps); the backward direction runs on each sequence reversed within its own length, and its
output is reversed back. Outputs past each length are zero, as ``pad_packed_sequence`` gives them. On other
devices (cuDNN) the packed call is used.

>>> lstm = nn.LSTM(3, 4, batch_first=True, bidirectional=True)
>>> x, lengths = torch.randn(2, 5, 3), torch.tensor([5, 2])
>>> out = bidirectional_lstm(lstm, x, lengths)
>>> ref = packed_bidirectional_lstm(lstm, x, lengths)
>>> tuple(out.shape), bool(torch.allclose(out, ref, atol=1e-6)), bool(out[1, 2:].abs().sum() == 0)
((2, 5, 8), True, True)
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["bidirectional_lstm", "packed_bidirectional_lstm", "reverse_within_lengths"]


def reverse_within_lengths(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``x (B, T, D)`` with each row's first ``lengths[b]`` steps reversed (the padding stays where it is)."""
    T = x.shape[1]
    steps = torch.arange(T, device=x.device)[None, :]
    lengths = lengths.to(x.device)[:, None]
    idx = torch.where(steps < lengths, lengths - 1 - steps, steps)
    return x.gather(1, idx[:, :, None].expand(-1, -1, x.shape[2]))


def packed_bidirectional_lstm(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The reference: ``lstm`` on the packed batch, ``(B, T, 2H)`` with zeros past each length."""
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = lstm(packed)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]


def bidirectional_lstm(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Outputs ``(B, T, 2H)`` of a ``batch_first`` bidirectional ``lstm`` on ``x (B, T, D)`` whose rows hold
    ``lengths`` valid steps (zeros past them); equal to the packed call, much faster to train on CPU."""
    if not (lstm.bidirectional and lstm.batch_first) or lstm.proj_size:
        raise ValueError("bidirectional_lstm needs nn.LSTM(batch_first=True, bidirectional=True) without proj_size")
    if x.device.type != "cpu":
        return packed_bidirectional_lstm(lstm, x, lengths)
    T = x.shape[1]
    mask = (torch.arange(T, device=x.device)[None, :] < lengths.to(x.device)[:, None])[:, :, None]
    template = nn.LSTM(lstm.input_size, lstm.hidden_size, bias=lstm.bias, batch_first=True, device="meta")
    names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if lstm.bias else [])
    h = x
    for layer in range(lstm.num_layers):
        if layer:
            template = nn.LSTM(2 * lstm.hidden_size, lstm.hidden_size, bias=lstm.bias, batch_first=True,
                               device="meta")
            if lstm.dropout and lstm.training:
                h = F.dropout(h, lstm.dropout, training=True)

        def run(inp: torch.Tensor, suffix: str) -> torch.Tensor:
            params = {f"{n}_l0": getattr(lstm, f"{n}_l{layer}{suffix}") for n in names}
            return functional_call(template, params, (inp,))[0]

        fwd = run(h, "")
        bwd = reverse_within_lengths(run(reverse_within_lengths(h, lengths), "_reverse"), lengths)
        h = torch.cat([fwd, bwd], dim=2) * mask
    return h
