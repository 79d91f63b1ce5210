"""Triangular CLR (the paper's Eqs. 16-19) and the LR range test."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from emoconv.errors import ConfigError
from emoconv.models import build_model
from emoconv.training.batching import pad_batch
from emoconv.training.clr import (clr_step_size, cyclic_lr, lr_range_test, lr_range_test_epochs, suggest_bounds,
                                  suggest_bounds_ua, triangular_lr)


def test_step_size_from_n_train_and_batch_size():
    assert clr_step_size(428, 32) == 14
    assert clr_step_size(428, 32, epochs_per_step=2.0) == 28
    assert clr_step_size(3, 32) == 1
    with pytest.raises(ConfigError, match="batch_size"):
        clr_step_size(10, 0)


def test_schedule_values_follow_the_triangle():
    opt = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = cyclic_lr(opt, 1e-4, 1e-2, n_train=40, batch_size=10)  # step size 4 batches
    seen = []
    for _ in range(20):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(seen, triangular_lr(np.arange(20), 1e-4, 1e-2, 4), rtol=1e-9)
    assert seen[0] == pytest.approx(1e-4) and seen[4] == pytest.approx(1e-2) and seen[8] == pytest.approx(1e-4)
    assert seen[2] == pytest.approx((1e-4 + 1e-2) / 2)
    with pytest.raises(ConfigError, match="lr_min < lr_max"):
        cyclic_lr(opt, 1e-2, 1e-3, 40, 10)


def test_range_test_on_a_linear_model_returns_ordered_bounds_and_restores_weights():
    torch.manual_seed(0)
    x = torch.randn(64, 5)
    y = (x[:, 0] > 0).long()
    model = nn.Linear(5, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = lr_range_test(model, [(x[:32], y[:32]), (x[32:], y[32:])], lr_start=1e-5, lr_end=10.0, steps=120)
    lo, hi = result.suggested
    assert 1e-5 <= lo < hi <= 10.0
    assert len(result.lrs) == len(result.losses) == len(result.smoothed) >= 20
    assert np.all(np.diff(result.lrs) > 0)
    assert result.smoothed.min() < result.smoothed[0]
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k])


def test_range_test_with_variable_length_arcface_model():
    torch.manual_seed(0)
    model = build_model("mdcnn", 2, (3, 0, 40), filters=4, fc_units=8, n_blocks=1, spp_levels=[1, 2])
    items = [torch.randn(3, 10 + 3 * i, 40) + (i % 2) for i in range(6)]
    x, lengths = pad_batch(items)
    y = torch.tensor([i % 2 for i in range(6)])
    result = lr_range_test(model, [(x, lengths, y)], lr_start=1e-4, lr_end=1.0, steps=15)
    assert result.suggested[0] < result.suggested[1]


def test_custom_loss_fn_and_suggest_bounds_fallback():
    model = nn.Linear(2, 1)
    calls = []

    def loss_fn(m, batch):
        calls.append(1)
        return F.mse_loss(m(batch[0]), batch[1])

    lr_range_test(model, [(torch.randn(8, 2), torch.randn(8, 1))], steps=10, loss_fn=loss_fn)
    assert len(calls) >= 7
    # lowest loss at the first rate: min falls back to max / 10
    assert suggest_bounds(np.array([1e-3, 1e-2, 1e-1]), np.array([1.0, 2.0, 9.0])) == pytest.approx((1e-4, 1e-3))
    with pytest.raises(ConfigError, match="lr_start"):
        lr_range_test(model, [(torch.randn(8, 2), torch.randn(8, 1))], lr_start=1.0, lr_end=0.1)


def test_epoch_range_test_restores_weights_and_follows_the_ua_curve():
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rates, scripted = [], iter([0.5, 0.5, 0.6, 0.9, 0.95, 0.7])            # untrained, then one per epoch

    def epoch(m, opt):
        rates.append(opt.param_groups[0]["lr"])
        with torch.no_grad():
            m.weight.add_(1.0)                                             # "training" changes the weights

    res = lr_range_test_epochs(model, epoch, lambda m: next(scripted), lr_start=1e-4, lr_end=1e0, epochs=5)
    np.testing.assert_allclose(rates, np.geomspace(1e-4, 1.0, 5))
    assert res.ua0 == 0.5 and res.suggested == pytest.approx((1e-2, 1e-1))  # rose at 1e-2 (0.9), peaked at 1e-1
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, before[k])


def test_suggest_bounds_ua_edge_cases():
    lrs = np.array([1e-4, 1e-3, 1e-2])
    # best at the first epoch: min falls back to max / 10
    assert suggest_bounds_ua(lrs, np.array([0.6, 0.3, 0.2]), ua0=0.2) == pytest.approx((1e-5, 1e-4))
    # a noisy early bump below the obvious-rise mark does not set lr_min
    assert suggest_bounds_ua(lrs, np.array([0.22, 0.5, 0.9]), ua0=0.2) == pytest.approx((1e-3, 1e-2))
    # nothing beats the untrained model by 5 points: no bounds
    assert suggest_bounds_ua(lrs, np.array([0.22, 0.18, 0.24]), ua0=0.2) is None
    with pytest.raises(ConfigError, match="no epochs"):
        suggest_bounds_ua(np.array([]), np.array([]), ua0=0.1)
    with pytest.raises(ConfigError, match="at least 2 epochs"):
        lr_range_test_epochs(nn.Linear(2, 2), lambda m, o: None, lambda m: 0.5, epochs=1)

