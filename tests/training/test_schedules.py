"""One-cycle learning rate, min_epochs and fixed-epoch training without validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from emoconv.errors import ConfigError
from emoconv.training import Examples, TrainConfig, fit


def _toy(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = np.arange(n) % 3
    return Examples([torch.randn(1, 4, 5, generator=g) * 0.3 + float(c) for c in y], y)


def _build():
    return nn.Sequential(nn.Flatten(), nn.Linear(20, 3))


def test_onecycle_warms_up_then_anneals():
    cfg = TrainConfig(max_epochs=10, patience=50, batch_size=8, lr=0.1, lr_schedule="onecycle", progress=False)
    lrs = [h["lr"] for h in fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3).history]
    peak = int(np.argmax(lrs))
    assert 0 <= peak <= 2 and max(lrs) == pytest.approx(0.1, rel=0.05)
    assert all(a >= b for a, b in zip(lrs[peak:], lrs[peak + 1:])) and lrs[-1] < 1e-3


def test_min_epochs_delays_early_stopping():
    cfg = TrainConfig(max_epochs=40, patience=2, batch_size=8, lr=0.5, progress=False)
    short = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    from dataclasses import replace

    held = fit(_build, _toy(), _toy(seed=1), replace(cfg, min_epochs=25), n_classes=3)
    assert short.epochs < 25 <= held.epochs


def test_fixed_epochs_trains_exactly_max_epochs_and_keeps_the_last_weights():
    cfg = TrainConfig(max_epochs=7, batch_size=8, lr=0.05, fixed_epochs=True, lr_schedule="onecycle", progress=False)
    res = fit(_build, _toy(), None, cfg, n_classes=3)
    assert res.epochs == 7 and res.best_epoch == 7 and "val_loss" not in res.history[-1]
    again = fit(_build, _toy(), None, cfg, n_classes=3)
    assert all(torch.equal(a, b) for a, b in zip(res.model.parameters(), again.model.parameters()))


def test_fixed_epochs_refuses_what_needs_validation():
    with pytest.raises(ConfigError, match="fixed_epochs"):
        TrainConfig(fixed_epochs=True, lr_grid=(0.1, 0.01))
    with pytest.raises(ConfigError, match="min_epochs"):
        TrainConfig(max_epochs=5, min_epochs=6)
    with pytest.raises(ConfigError, match="lr_schedule"):
        TrainConfig(lr_schedule="cosine")
