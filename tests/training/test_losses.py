"""Class weights r_c = alpha * N / N_c."""

from __future__ import annotations

import pytest
import torch

from emoconv.errors import ConfigError, ProtocolError
from emoconv.training.losses import class_weights, weighted_cross_entropy


def test_formula_and_default_alpha():
    y = [0] * 6 + [1] * 3 + [2] * 1
    torch.testing.assert_close(class_weights(y, 3, alpha=2.0), torch.tensor([2 * 10 / 6, 2 * 10 / 3, 2 * 10 / 1]))
    torch.testing.assert_close(class_weights([0, 1, 2, 0, 1, 2], 3), torch.ones(3))  # balanced -> 1
    w = class_weights(y, 3)
    assert float((w * torch.tensor([6.0, 3.0, 1.0])).sum()) == pytest.approx(10.0)  # total weight = N


def test_weighted_loss_uses_the_weights():
    loss = weighted_cross_entropy([0, 0, 0, 1], 2)
    torch.testing.assert_close(loss.weight, class_weights([0, 0, 0, 1], 2))
    logits, y = torch.randn(4, 2), torch.tensor([0, 1, 0, 1])
    expected = torch.nn.functional.cross_entropy(logits, y, weight=loss.weight)
    torch.testing.assert_close(loss(logits, y), expected)


def test_errors():
    with pytest.raises(ProtocolError, match="class.*2.*no training examples"):
        class_weights([0, 1, 1], 3)
    with pytest.raises(ConfigError, match="labels must be in"):
        class_weights([0, 3], 3)
    with pytest.raises(ProtocolError, match="empty"):
        class_weights([], 3)
    with pytest.raises(ConfigError, match="alpha"):
        class_weights([0, 1], 2, alpha=0.0)
