"""ArcFace head: reduces to normalised softmax logits, margin on the target only, safe at cos = +-1."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from emoconv.errors import ConfigError
from emoconv.layers.arcface import ArcFace


def test_no_margin_unit_scale_equals_normalised_softmax_logits():
    torch.manual_seed(0)
    head = ArcFace(8, 5, margin=0.0, scale=1.0)
    x, y = torch.randn(4, 8), torch.tensor([0, 1, 2, 4])
    expected = F.normalize(x, dim=1) @ F.normalize(head.weight, dim=1).T
    torch.testing.assert_close(head(x, y), expected)
    torch.testing.assert_close(head(x), expected)
    # the same as a bias-free linear layer whose rows and inputs are unit vectors
    lin = torch.nn.Linear(8, 5, bias=False)
    lin.weight.data = F.normalize(head.weight.data, dim=1)
    torch.testing.assert_close(head(x), lin(F.normalize(x, dim=1)))


def test_margin_on_target_class_only_and_inference_has_none():
    torch.manual_seed(1)
    head = ArcFace(6, 3, margin=0.5, scale=2.0)
    x, y = torch.randn(5, 6), torch.tensor([0, 1, 2, 1, 0])
    cos = head.cosine(x).detach()
    train = head(x, y).detach()
    torch.testing.assert_close(head(x), 2.0 * cos)
    for i, c in enumerate(y.tolist()):
        theta = math.acos(float(cos[i, c]))
        want = 2.0 * (math.cos(theta + 0.5) if theta + 0.5 <= math.pi else float(cos[i, c]) - 0.5 * math.sin(0.5))
        assert abs(float(train[i, c]) - want) < 1e-5
        others = [k for k in range(3) if k != c]
        torch.testing.assert_close(train[i, others], 2.0 * cos[i, others])
    assert (train.gather(1, y[:, None]) < head(x).gather(1, y[:, None])).all()


def test_fallback_when_theta_plus_margin_exceeds_pi():
    head = ArcFace(2, 2, margin=0.5, scale=1.0)
    head.weight.data = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    angle = math.pi - 0.2  # theta + m > pi
    x = torch.tensor([[math.cos(angle), math.sin(angle)]])
    out = head(x, torch.tensor([0])).detach()
    assert abs(float(out[0, 0]) - (math.cos(angle) - 0.5 * math.sin(0.5))) < 1e-6


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_gradients_finite_at_cos_plus_minus_one(sign):
    head = ArcFace(4, 3, margin=0.5, scale=2.0)
    x = (sign * head.weight.detach()[1:2].clone()).requires_grad_(True)
    y = torch.tensor([1])
    with torch.no_grad():
        assert abs(float(head.cosine(x)[0, 1]) - sign) < 1e-6
    F.cross_entropy(head(x, y), y).backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(head.weight.grad).all()


def test_bad_settings():
    with pytest.raises(ConfigError, match="margin"):
        ArcFace(4, 2, margin=2.0)
    with pytest.raises(ConfigError, match="scale"):
        ArcFace(4, 2, scale=0.0)
