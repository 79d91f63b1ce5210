"""The unpacked bidirectional LSTM equals the packed one: outputs, gradients, zeros past each length."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from emoconv.layers.rnn import bidirectional_lstm, packed_bidirectional_lstm, reverse_within_lengths


def test_reverse_within_lengths_leaves_the_padding_in_place():
    x = torch.arange(8.0).reshape(2, 4, 1)
    out = reverse_within_lengths(x, torch.tensor([4, 2]))
    assert out[..., 0].tolist() == [[3, 2, 1, 0], [5, 4, 6, 7]]


@pytest.mark.parametrize("layers", [1, 2])
def test_outputs_and_gradients_equal_the_packed_call(layers):
    torch.manual_seed(layers)
    lstm = nn.LSTM(6, 5, num_layers=layers, batch_first=True, bidirectional=True)
    lengths = torch.tensor([9, 3, 7, 1])
    x = torch.randn(4, 9, 6) * (torch.arange(9)[None, :, None] < lengths[:, None, None])  # zero padding
    outs, grads = [], []
    for fn in (bidirectional_lstm, packed_bidirectional_lstm):
        xi = x.clone().requires_grad_(True)
        out = fn(lstm, xi, lengths)
        outs.append(out)
        grads.append(torch.autograd.grad((out ** 2).sum(), [xi, *lstm.parameters()]))
    assert outs[0].shape == (4, 9, 10)
    assert torch.allclose(outs[0], outs[1], atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-5) for a, b in zip(*grads))
    assert outs[0][1, 3:].abs().sum() == 0 and outs[0][3, 1:].abs().sum() == 0


def test_unidirectional_lstms_are_refused():
    with pytest.raises(ValueError, match="bidirectional"):
        bidirectional_lstm(nn.LSTM(3, 4, batch_first=True), torch.zeros(1, 2, 3), torch.tensor([2]))
