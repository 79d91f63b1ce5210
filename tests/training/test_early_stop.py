"""The one early-stopping rule of the trainer and the network + ELM estimators."""

from __future__ import annotations

import numpy as np
import torch

from emoconv.training.early_stop import EarlyStopping


def test_smoothing_min_delta_and_min_epochs():
    rule = EarlyStopping(patience=2, smooth=2)
    stops = [rule.step(e, s) for e, s in enumerate([0.1, 0.5, 0.2, 0.3, 0.2], start=1)]
    assert rule.best_epoch == 3 and stops == [False, False, False, False, True]  # smoothed: .1 .3 .35 .25 .25
    late = EarlyStopping(patience=1, min_epochs=3)
    assert [late.step(e, 0.0) for e in (1, 2, 3, 4)] == [False, False, False, True]  # no count before epoch 4
    strict = EarlyStopping(patience=1, min_delta=0.05)
    assert [strict.step(e, s) for e, s in enumerate([0.5, 0.52], start=1)] == [False, True]  # +0.02 < min_delta


def test_the_best_weights_are_a_copy():
    net = torch.nn.Linear(2, 1)
    rule = EarlyStopping(patience=3)
    rule.step(1, 1.0, EarlyStopping.copy_of(net))
    with torch.no_grad():
        net.weight.add_(1.0)
    assert not torch.equal(rule.best_state["weight"], net.weight)


def test_the_network_elm_stops_by_the_same_rule():
    from emoconv.layers.elm import NetworkELM

    class Steps(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(3, 2)

        def forward(self, x, lengths=None):
            return self.lin(x)

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    feats = [torch.tensor(rng.normal(size=(5, 3)), dtype=torch.float32) for _ in range(8)]
    y = np.arange(8) % 2
    elm = NetworkELM(Steps(), 2, epochs=30, patience=2, lr=0.5, elm_hidden=4)
    elm.fit(feats, y, feats[:4], (1 - y)[:4])  # validation labels flipped: its loss rises once training works
    losses = [h["val_loss"] for h in elm.history]
    best = int(np.argmin(losses))
    assert len(losses) == best + 3  # stopped `patience` epochs after the best one
