"""Region attention: v = sigmoid(Wx + b), alpha = softmax over regions of v.u, y = x * alpha."""

from __future__ import annotations

import torch

from emoconv.layers.attention import RegionAttention


def test_matches_formula_and_weights_sum_to_one():
    torch.manual_seed(0)
    att = RegionAttention(6, attention_dim=4)
    x = torch.randn(3, 7, 6)
    y = att(x)
    v = torch.sigmoid(x @ att.proj.weight.T + att.proj.bias)
    alpha = torch.softmax(v @ att.context, dim=1)
    torch.testing.assert_close(y, x * alpha[..., None])
    torch.testing.assert_close(att.last_weights.sum(1), torch.ones(3))
    assert att.last_weights.shape == (3, 7)


def test_single_region_is_identity_and_gradients_flow():
    att = RegionAttention(5)
    x = torch.randn(2, 1, 5, requires_grad=True)
    y = att(x)
    torch.testing.assert_close(y, x)
    att(torch.randn(2, 4, 5)).pow(2).sum().backward()
    assert att.context.grad is not None and att.context.grad.abs().sum() > 0


def test_regions_are_weighed_independently_per_utterance():
    att = RegionAttention(3)
    x = torch.randn(2, 4, 3)
    torch.testing.assert_close(att(x)[1:], att(x[1:]))
