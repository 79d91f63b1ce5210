import numpy as np
import pytest
import torch
from torch import nn

from emoconv.errors import ConfigError
from emoconv.training import Examples, TrainConfig, fit, predict_logits
from emoconv.training.trainer import class_weights


def _toy(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = np.arange(n) % 3
    x = [torch.randn(1, 4, 5, generator=g) * 0.3 + float(c) for c in y]
    return Examples(x, y)


def _build():
    return nn.Sequential(nn.Flatten(), nn.Linear(20, 3))


def test_fit_learns_and_is_deterministic():
    cfg = TrainConfig(max_epochs=30, patience=5, batch_size=8, progress=False, lr=0.05)
    a = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    b = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    assert a.history[-1]["val_ua"] > 0.9
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)


def test_early_stopping_restores_best_epoch():
    cfg = TrainConfig(max_epochs=200, patience=3, batch_size=8, progress=False, lr=0.5)
    res = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    assert res.epochs < 200
    assert res.epochs - res.best_epoch == 3
    best_val = min(h["val_loss"] for h in res.history)
    logits = torch.from_numpy(predict_logits(res.model, _toy(seed=1)))
    loss = float(nn.functional.cross_entropy(logits, torch.from_numpy(_toy(seed=1).y)))
    assert loss == pytest.approx(best_val, rel=1e-5)


def test_restore_last_keeps_the_weights_training_stopped_at():
    cfg = TrainConfig(max_epochs=200, patience=3, batch_size=8, progress=False, lr=0.5, restore="last")
    res = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    best = fit(_build, _toy(), _toy(seed=1), TrainConfig(max_epochs=200, patience=3, batch_size=8, progress=False,
                                                         lr=0.5), n_classes=3)
    assert [h["val_loss"] for h in res.history] == [h["val_loss"] for h in best.history]  # the same training
    assert res.best_epoch == res.epochs == best.epochs and best.best_epoch == best.epochs - 3
    logits = torch.from_numpy(predict_logits(res.model, _toy(seed=1)))
    loss = float(nn.functional.cross_entropy(logits, torch.from_numpy(_toy(seed=1).y)))
    assert loss == pytest.approx(res.history[-1]["val_loss"], rel=1e-5)  # the last epoch's weights
    assert loss != pytest.approx(min(h["val_loss"] for h in res.history), rel=1e-3)
    with pytest.raises(ConfigError, match="train.restore"):
        TrainConfig(restore="final")


def test_grid_search_records_every_point_and_picks_by_validation():
    cfg = TrainConfig(max_epochs=5, patience=5, progress=False, weight_decay_grid=(0.0, 10.0), lr=0.05)
    res = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    assert [t["weight_decay"] for t in res.grid] == [0.0, 10.0]
    best = max(res.grid, key=lambda t: (t["val_ua"], -t["val_loss"]))
    assert res.hparams["weight_decay"] == best["weight_decay"]


def test_class_weights_inverse_frequency():
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    assert torch.allclose(w, torch.tensor([4 / 9, 4 / 3, 0.0]))


def test_empty_partition_is_config_error():
    with pytest.raises(ConfigError, match="empty"):
        fit(_build, _toy(), Examples([], np.array([])), TrainConfig(progress=False), n_classes=3)


def test_bad_train_setting():
    with pytest.raises(ConfigError, match="train.batch_size"):
        TrainConfig(batch_size=0)


def test_smoothed_early_stopping_watches_the_mean_of_recent_epochs():
    cfg = TrainConfig(max_epochs=40, patience=4, batch_size=8, progress=False, lr=0.5, smooth_epochs=3,
                      early_stop_on="val_ua")
    res = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    h = res.history
    for i, rec in enumerate(h):
        window = [r["val_ua"] for r in h[max(0, i - 2):i + 1]]
        assert rec["score"] == pytest.approx(np.mean(window))
    assert res.best_epoch == 1 + int(np.argmax([r["score"] for r in h]))
    with pytest.raises(ConfigError, match="smooth_epochs"):
        TrainConfig(smooth_epochs=0)


def test_mts_probe_is_recorded_every_epoch():
    from emoconv.layers.mts import MTSConv2d

    def build():
        return nn.Sequential(MTSConv2d(1, 2, (2, 2), scales=(0.5, 1, 2)), nn.ReLU(), nn.Flatten(), nn.Linear(24, 3))

    cfg = TrainConfig(max_epochs=3, patience=5, batch_size=8, progress=False, lr=0.05, mts_probe=True)
    res = fit(build, _toy(), _toy(seed=1), cfg, n_classes=3)
    assert all(set(h["mts"]["0"]) == {"win", "amplitude", "grad", "grad_share"} for h in res.history)
