"""Adam, fused where PyTorch has the kernel (train.fused_optimizer): the same training to float rounding."""

from __future__ import annotations

import copy

import torch

from emoconv.experiments.runconfig import train_key
from emoconv.training import TrainConfig, adam


def _train(model, fused, steps=5):
    opt = adam(model.parameters(), 1e-2, 1e-3, fused)
    g = torch.Generator().manual_seed(1)
    for _ in range(steps):
        x, y = torch.randn(16, 1, 20, 8, generator=g), torch.randint(0, 3, (16,), generator=g)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    return opt


def test_fused_adam_trains_as_the_per_operation_update_does():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3), torch.nn.ReLU(), torch.nn.Flatten(),
                              torch.nn.Linear(4 * 18 * 6, 3))
    plain, fused = copy.deepcopy(net), copy.deepcopy(net)
    assert not _train(plain, False).defaults["fused"] and _train(fused, True).defaults["fused"]
    start = [p.detach() for p in net.parameters()]
    moved = max((a - b).abs().max().item() for a, b in zip(plain.parameters(), start))
    diff = max((a - b).abs().max().item() for a, b in zip(plain.parameters(), fused.parameters()))
    assert moved > 1e-3 and diff < 1e-5  # trained, and to the same weights up to rounding


def test_the_fused_update_enters_run_keys_only_when_turned_off():
    assert "fused_optimizer" not in train_key(TrainConfig())  # earlier folders keep their keys
    assert train_key(TrainConfig(fused_optimizer=False))["fused_optimizer"] is False
