"""SpecAugment masks and mixup on training batches (emoconv.training.augment)."""

import numpy as np
import pytest
import torch
from torch import nn

from emoconv.errors import ConfigError
from emoconv.experiments.recipe import build_recipe
from emoconv.experiments.runconfig import train_key as _train_key
from emoconv.training import BatchAugment, Examples, TrainConfig, fit, mixup, spec_augment
from emoconv.training import trainer as trainer_mod


def _masked(out):
    """Per example: masked time frames and masked frequency bins (all-zero rows/columns of ones input)."""
    zero = out[:, 0] == 0  # (B, T, F)
    return zero.all(dim=2).sum(dim=1), zero.all(dim=1).sum(dim=1)


def test_masks_stay_within_their_widths_and_counts():
    cfg = BatchAugment(time_masks=2, time_width=6, freq_masks=1, freq_width=4)
    gen = torch.Generator().manual_seed(0)
    frames, bins = [], []
    for _ in range(50):
        t, f = _masked(spec_augment(torch.ones(8, 1, 40, 16), cfg, gen))
        frames.append(t)
        bins.append(f)
    frames, bins = torch.cat(frames), torch.cat(bins)
    assert frames.max() <= 2 * 5 and bins.max() <= 3  # widths are drawn in [0, width)
    assert frames.float().mean() > 1 and bins.float().mean() > 0.5  # masks do happen
    assert len(set(frames.tolist())) > 3  # per-example widths, not one per batch


def test_masks_are_seeded_and_leave_other_batches_alone():
    cfg = BatchAugment(time_masks=1, time_width=10)
    x = torch.randn(4, 1, 30, 8)
    a = spec_augment(x, cfg, torch.Generator().manual_seed(3))
    b = spec_augment(x, cfg, torch.Generator().manual_seed(3))
    c = spec_augment(x, cfg, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.equal(a, x) and torch.equal(x, x.clone())  # input untouched
    flat = torch.randn(4, 88)  # functionals: not a spectrogram batch
    assert torch.equal(spec_augment(flat, cfg, torch.Generator()), flat)


def test_mixup_mixes_pairs_and_keeps_the_longer_length():
    x = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 1, 3, 2).contiguous()
    y = torch.tensor([0, 1, 2, 3])
    lens = torch.tensor([3, 1, 2, 3])
    mixed, ya, yb, lam, ml = mixup(x, y, lens, 0.4, torch.Generator().manual_seed(0))
    assert 0.0 <= lam <= 1.0 and torch.equal(ya, y)
    expect = lam * y.float() + (1 - lam) * yb.float()
    assert torch.allclose(mixed[:, 0, 0, 0], expect)
    assert torch.equal(ml, torch.maximum(lens, lens[yb]))


def _toy(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = np.arange(n) % 3
    return Examples([torch.randn(1, 6, 5, generator=g) * 0.3 + float(c) for c in y], y)


def _build():
    return nn.Sequential(nn.Flatten(), nn.Linear(30, 3))


def test_trainer_augments_training_batches_only_and_is_reproducible(monkeypatch):
    calls = []
    real = trainer_mod.spec_augment

    def spy(x, cfg, gen):
        calls.append(x.shape[0])
        return real(x, cfg, gen)

    monkeypatch.setattr(trainer_mod, "spec_augment", spy)
    aug = BatchAugment(time_masks=1, time_width=3, mixup=0.2)
    cfg = TrainConfig(max_epochs=3, patience=5, batch_size=16, progress=False, lr=0.05, batch_augment=aug)
    a = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    assert sum(calls) == 3 * 48  # every training example once per epoch; validation never
    b = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    plain = fit(_build, _toy(), _toy(seed=1), TrainConfig(max_epochs=3, patience=5, batch_size=16, progress=False,
                                                          lr=0.05), n_classes=3)
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    assert [h["train_loss"] for h in a.history] != [h["train_loss"] for h in plain.history]


def test_run_keys_take_batch_augment_only_when_set():
    assert "batch_augment" not in _train_key(TrainConfig())
    assert _train_key(TrainConfig(batch_augment=BatchAugment(mixup=0.2)))["batch_augment"]["mixup"] == 0.2


@pytest.mark.parametrize("bad, match", [({"time_masks": -1}, "time_masks"), ({"mixup": -0.5}, "mixup"),
                                        ({"time_widht": 3}, "time_widht")])
def test_bad_batch_augment_is_one_line_at_load(bad, match):
    tree = {"name": "r", "corpora": {"builtin": {}}, "models": [{"name": "mts.a4"}],
            "train": {"batch_augment": bad}}
    with pytest.raises(ConfigError, match=match):
        build_recipe(tree)
