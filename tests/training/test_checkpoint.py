"""Training checkpoints: a fit interrupted mid-way and resumed equals the uninterrupted fit, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from emoconv.errors import ConfigError
from emoconv.training import BatchAugment, Examples, TrainConfig, fit
from emoconv.training.checkpoint import CHECKPOINT_ENV, TrainingCheckpoint, checkpoint_every


def _toy(n=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = np.arange(n) % 3
    return Examples([torch.randn(1, 6, 5, generator=g) * 0.8 + 0.3 * float(c) for c in y], y)


def _build():  # dropout: the resumed run must continue torch's global random state too
    return nn.Sequential(nn.Flatten(), nn.Linear(30, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))


class Interrupt(Exception):
    pass


class Progress:
    """The trainer's progress bar stand-in: counts epochs, raises :class:`Interrupt` at epoch ``stop_at``."""

    def __init__(self, stop_at=None):
        self.stop_at, self.epochs = stop_at, 0

    def set_postfix(self, **_):
        pass

    def update(self, _n):
        self.epochs += 1
        if self.stop_at is not None and self.epochs == self.stop_at:
            raise Interrupt


def _cfg(**kw):
    base = dict(max_epochs=7, patience=3, batch_size=8, progress=False, lr=0.02,
                batch_augment=BatchAugment(freq_masks=1, freq_width=2, mixup=0.2))
    base.update(kw)
    return TrainConfig(**base)


def _no_times(history):
    return [{k: v for k, v in h.items() if k != "time_s"} for h in history]


def _assert_same(a, b):
    assert _no_times(a.history) == _no_times(b.history)
    assert (a.best_epoch, a.epochs, a.hparams) == (b.best_epoch, b.epochs, b.hparams)
    for (na, pa), (nb, pb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert na == nb and torch.equal(pa, pb), na


@pytest.mark.parametrize("kw", [{}, {"lr_schedule": "cyclic"}, {"weight_decay_grid": (0.0, 1e-3)},
                                {"restore": "last"}])
def test_an_interrupted_fit_resumes_to_the_same_result(tmp_path, kw):
    cfg = _cfg(**kw)
    reference = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    total = sum(t["epochs"] for t in reference.grid)
    stop_at = total - 2  # the last grid point, a few epochs before its end
    ckpt = TrainingCheckpoint(tmp_path / "run", every_s=0)
    with pytest.raises(Interrupt):
        fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3, progress=Progress(stop_at), checkpoint=ckpt)
    assert any((tmp_path / "run").iterdir())
    again = Progress()
    resumed = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3, progress=again,
                  checkpoint=TrainingCheckpoint(tmp_path / "run", every_s=0))
    _assert_same(resumed, reference)
    took_up = [t.pop("resumed_after_epoch", None) for t in resumed.grid]
    assert took_up[-1] == stop_at - 1 - sum(t["epochs"] for t in reference.grid[:-1])
    assert all(e == t["epochs"] for e, t in zip(took_up[:-1], reference.grid))  # finished points: loaded
    assert resumed.grid == reference.grid
    assert again.epochs == total - stop_at + 1  # only the epochs after the checkpoint were trained


def test_fixed_epochs_resume_and_checkpoints_of_other_settings_are_ignored(tmp_path):
    cfg = _cfg(fixed_epochs=True, max_epochs=5)
    reference = fit(_build, _toy(), None, cfg, n_classes=3)
    with pytest.raises(Interrupt):
        fit(_build, _toy(), None, cfg, n_classes=3, progress=Progress(4),
            checkpoint=TrainingCheckpoint(tmp_path, every_s=0))
    _assert_same(fit(_build, _toy(), None, cfg, n_classes=3, checkpoint=TrainingCheckpoint(tmp_path, 0)), reference)
    other = _cfg(fixed_epochs=True, max_epochs=5, lr=0.05)  # another learning rate: starts afresh
    with pytest.warns(UserWarning, match="other settings"):
        counted = Progress()
        res = fit(_build, _toy(), None, other, n_classes=3, progress=counted,
                  checkpoint=TrainingCheckpoint(tmp_path, 0))
    assert counted.epochs == 5
    _assert_same(res, fit(_build, _toy(), None, other, n_classes=3))


def test_short_runs_write_nothing_and_a_torn_checkpoint_costs_only_time(tmp_path):
    cfg = _cfg()
    fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3, checkpoint=TrainingCheckpoint(tmp_path / "a", 300))
    assert not (tmp_path / "a").exists()  # never due within 300 s
    ckpt = TrainingCheckpoint(tmp_path / "b", 0)
    ckpt.folder.mkdir()
    ckpt.path(0).write_bytes(b"\x00 torn")
    with pytest.warns(UserWarning, match="unreadable"):
        res = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3, checkpoint=ckpt)
    _assert_same(res, fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3))
    ckpt.clear()
    assert not ckpt.folder.exists()


def test_the_interval_setting(monkeypatch):
    monkeypatch.delenv(CHECKPOINT_ENV, raising=False)
    assert checkpoint_every() == 300.0
    monkeypatch.setenv(CHECKPOINT_ENV, "0")
    assert checkpoint_every() == 0.0
    monkeypatch.setenv(CHECKPOINT_ENV, "off")
    assert checkpoint_every() is None
    for bad in ("-5", "soon"):
        monkeypatch.setenv(CHECKPOINT_ENV, bad)
        with pytest.raises(ConfigError, match=CHECKPOINT_ENV):
            checkpoint_every()


def test_a_checkpoint_that_cannot_be_written_warns_and_training_goes_on(tmp_path, monkeypatch):
    import emoconv.training.checkpoint as module

    cfg = _cfg()
    reference = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    calls = []

    def full_disk(path):
        calls.append(path)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module, "atomic_file", full_disk)
    with pytest.warns(UserWarning, match="No space left on device"):
        res = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3, checkpoint=TrainingCheckpoint(tmp_path / "c", 0))
    _assert_same(res, reference)
    assert len(calls) == 1  # switched off after the first failure
    assert not (tmp_path / "c").exists()
