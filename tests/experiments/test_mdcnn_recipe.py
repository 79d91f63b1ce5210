"""The multi-dilated CNN recipes and the trainer hooks they use (CLR + range test, early stopping on UA,
class weighting); the quick recipe end to end at a tiny size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from emoconv.errors import ConfigError, ProtocolError
from emoconv.experiments import run_sweep
from emoconv.experiments.recipe import load_recipe
from emoconv.models.mdcnn import ABLATION_ROWS
from emoconv.reports.writer import write_report
from emoconv.training import Examples, TrainConfig, fit
from emoconv.training import trainer as trainer_mod
from emoconv.training.clr import clr_step_size, triangular_lr

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "mdcnn"


# -- recipes ------------------------------------------------------------------------------------

def test_ablation_recipe_is_the_papers_setup():
    r = load_recipe(RECIPES / "ablation.yaml")
    rows = [{k: m.params[k] for k in ("body", "pool", "attention", "head")} for m in r.models]
    assert rows == list(ABLATION_ROWS.values())                        # Table 1's rows, in its order
    f = r.features
    assert (f.kind, f.n_mels, f.n_fft, f.win_ms, f.hop_ms, f.window, f.deltas, f.delta_width) == \
        ("logmel", 40, 512, 25, 10, "hamming", 2, 19)
    assert r.input.length == "variable" and r.normalize == "global"
    emodb, iemocap = r.protocol_for("emodb"), r.protocol_for("iemocap")
    assert (emodb.kind, emodb.val_speakers) == ("loso", 1)
    assert iemocap.kind == "session_speakers"
    assert r.corpora["iemocap"].options["improvised_only"] and r.corpora["iemocap"].options["four_class"]
    t = r.train
    assert (t.lr_schedule, t.lr_range_test, t.early_stop_on, t.class_weighted) == ("cyclic", True, "val_ua", True)
    assert r.report["layout"] == "mdcnn_ablation"
    with pytest.raises(ConfigError, match="corpus 'emodb' has no folder"):
        from emoconv.experiments.runner import Workspace
        Workspace(r, cache_dir=None).corpus_root(r.corpora["emodb"])


def test_spp_recipe_has_the_papers_partitions():
    r = load_recipe(RECIPES / "spp.yaml")
    assert [tuple(m.params["spp_levels"]) for m in r.models] == [(1,), (1, 5, 10), (1, 2, 5, 10), (1, 2, 5, 8, 10)]
    assert len({m.display for m in r.models}) == 4 and list(r.corpora) == ["iemocap"]
    assert {m.params["body"] for m in r.models} == {"ff"} and r.report["layout"] == "mdcnn_spp"
    assert list(load_recipe(RECIPES / "spp.yaml", ["corpora.emodb.skip=false"]).corpora) == ["iemocap", "emodb"]


def test_quick_recipe_runs_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    overrides = ["corpora.builtin.builtin.n_speakers=4", "corpora.builtin.builtin.utterances_per_class=3",
                 "corpora.builtin.builtin.max_duration_s=1.5", "protocol.folds=2", "train.max_epochs=1",
                 "train.lr_range_epochs=2", "train.progress=false"]
    for i in range(3):
        overrides += [f"models.{i}.params.filters=4", f"models.{i}.params.n_blocks=2"]
    recipe = load_recipe(RECIPES / "quick.yaml", overrides)
    res = run_sweep(recipe, tmp_path / "run", progress=False, cache_dir=tmp_path / "cache")
    assert len(res.planned) == 6 and not res.outcome.failed
    records = sorted((r for r in _records(tmp_path / "run")), key=lambda r: (r["variant_order"], r["fold"]))
    for r in records:
        assert r["input_shape"][0] == 3 and r["input_shape"][2] == 40      # (3 channels, T, 40 mel bands)
        assert r["grid"][0]["lr_bounds_from"] in ("range_test_val_ua", "settings_flat_range")
        assert len(r["grid"][0]["lr_range_ua"]) == 2
        assert 0 < r["grid"][0]["lr_min"] < r["grid"][0]["lr_max"]
        assert r["train"]["early_stop_on"] == "val_ua" and len(r["y_pred"]) == len(r["y_true"]) > 0
    report, out = write_report(tmp_path / "run", tmp_path / "report", options={"published": True})
    t1 = report.tables["Table 1"]
    assert list(t1["CNN section"]) == ["Traditional CNN", "CNN with FF", "Multi-dilated CNN with FF"]
    assert set(t1["builtin UA (paper, Table 1)"]) == {"-"}
    assert (out / "table_1.csv").is_file() and "Table 1" in (out / "report.md").read_text()


def _records(rundir: Path) -> list[dict]:
    from emoconv.experiments import ResultsStore

    return ResultsStore(rundir).records()


# -- trainer hooks ------------------------------------------------------------------------------

def _toy(n=48, seed=0, classes=3):
    g = torch.Generator().manual_seed(seed)
    y = np.arange(n) % classes
    return Examples([torch.randn(1, 4, 5, generator=g) * 0.5 + float(c) for c in y], y)


def _build():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(20, 3))


@pytest.fixture
def adam_lrs(monkeypatch):
    """The learning rate of every Adam step, in order."""
    seen: list[float] = []
    original = torch.optim.Adam.step

    def step(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", step)
    return seen


def test_cyclic_lr_is_stepped_once_per_batch(adam_lrs):
    cfg = TrainConfig(max_epochs=6, patience=10, batch_size=8, progress=False, lr_schedule="cyclic",
                      lr_min=1e-4, lr_max=1e-2, clr_step_epochs=2)
    res = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    step = clr_step_size(48, 8, 2)                                          # 12 batches per half cycle
    assert step == 12 and len(adam_lrs) == 6 * 6
    np.testing.assert_allclose(adam_lrs, triangular_lr(np.arange(36), 1e-4, 1e-2, step), rtol=1e-9)
    assert max(adam_lrs) == pytest.approx(1e-2) and adam_lrs[0] == pytest.approx(1e-4)
    assert res.grid[0]["lr_min"] == 1e-4 and res.grid[0]["lr_max"] == 1e-2
    assert res.grid[0]["lr_bounds_from"] == "settings"
    assert res.history[-1]["lr"] == pytest.approx(float(triangular_lr(36, 1e-4, 1e-2, step)))


def test_cyclic_default_bounds_come_from_the_grid_lr(adam_lrs):
    cfg = TrainConfig(max_epochs=1, batch_size=16, progress=False, lr_schedule="cyclic", lr=0.02)
    res = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    assert (res.grid[0]["lr_min"], res.grid[0]["lr_max"]) == pytest.approx((0.002, 0.02))
    assert adam_lrs[0] == pytest.approx(0.002)


def _spread(seed=0):
    """Classes far apart: an untrained linear model starts at a high loss that falls as the rate grows."""
    g = torch.Generator().manual_seed(seed)
    y = np.arange(48) % 3
    return Examples([torch.randn(1, 4, 5, generator=g) + 2.0 * (c - 1) for c in y], y)


def test_range_test_picks_and_records_the_bounds(adam_lrs):
    cfg = TrainConfig(max_epochs=2, batch_size=8, progress=False, lr_schedule="cyclic", lr_range_test=True,
                      lr_range_by="loss", lr_range_steps=40, lr_range_start=1e-4, lr_range_end=1.0)
    res = fit(_build, _spread(), _spread(seed=1), cfg, n_classes=3)
    info = res.grid[0]
    assert info["lr_bounds_from"] == "range_test" and 2 <= info["lr_range_batches"] <= 40
    assert 1e-4 < info["lr_min"] < 1e-3 < 1e-1 < info["lr_max"] <= 1.0    # the loss falls until the end here
    sweep, training = adam_lrs[:info["lr_range_batches"]], adam_lrs[info["lr_range_batches"]:]
    np.testing.assert_allclose(sweep, 1e-4 * (1e4 ** (1 / 39)) ** np.arange(len(sweep)), rtol=1e-9)
    assert info["lr_min"] in sweep and info["lr_max"] in sweep
    assert len(training) == 2 * 6                                          # then training steps from lr_min
    np.testing.assert_allclose(training, triangular_lr(np.arange(12), info["lr_min"], info["lr_max"], 6), rtol=1e-9)
    again = fit(_build, _spread(), _spread(seed=1), cfg, n_classes=3)          # deterministic
    assert (again.grid[0]["lr_min"], again.grid[0]["lr_max"]) == (info["lr_min"], info["lr_max"])


def test_epoch_range_test_reads_validation_ua_and_records_it(adam_lrs):
    """The paper's reading: one rate per epoch, validation UA after each; bounds where UA rose and where it peaked."""
    cfg = TrainConfig(max_epochs=2, batch_size=8, progress=False, lr_schedule="cyclic", lr_range_test=True,
                      lr_range_epochs=5, lr_range_start=1e-5, lr_range_end=10.0)
    res = fit(_build, _spread(), _spread(seed=1), cfg, n_classes=3)
    info = res.grid[0]
    assert info["lr_bounds_from"] == "range_test_val_ua"
    np.testing.assert_allclose(info["lr_range_lrs"], np.geomspace(1e-5, 10.0, 5))
    sweep = np.asarray(adam_lrs[:5 * 6])                                   # 5 epochs of 6 batches, one rate each
    np.testing.assert_allclose(sweep, np.repeat(np.geomspace(1e-5, 10.0, 5), 6), rtol=1e-9)
    ua = np.asarray(info["lr_range_ua"])
    peak = int(np.argmax(ua))
    assert info["lr_max"] == pytest.approx(info["lr_range_lrs"][peak]) and info["lr_min"] < info["lr_max"]
    assert ua.max() > info["lr_range_ua0"] + 0.3                           # the separable toy is learnt
    assert len(adam_lrs) == 5 * 6 + 2 * 6                                  # then the real training, from lr_min
    assert adam_lrs[5 * 6] == pytest.approx(info["lr_min"])
    again = fit(_build, _spread(), _spread(seed=1), cfg, n_classes=3)
    assert again.grid[0]["lr_range_ua"] == info["lr_range_ua"]           # seeded


def _scripted(monkeypatch, losses, uas):
    """Make validation return scripted (loss, UA) figures per epoch."""
    it = iter(zip(losses, uas))

    def evaluate(*args, **kwargs):
        loss, ua = next(it)
        return loss, ua, ua

    monkeypatch.setattr(trainer_mod, "evaluate", evaluate)


@pytest.mark.parametrize("on, best, epochs", [("val_loss", 2, 5), ("val_ua", 3, 6)])
def test_early_stop_on(monkeypatch, on, best, epochs):
    _scripted(monkeypatch, [1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1], [0.3, 0.4, 0.6, 0.5, 0.5, 0.6, 0.6, 0.6])
    cfg = TrainConfig(max_epochs=8, patience=3, batch_size=16, progress=False, early_stop_on=on)
    res = fit(_build, _toy(), _toy(seed=1), cfg, n_classes=3)
    assert (res.best_epoch, res.epochs) == (best, epochs)                  # ties in UA do not count as better


def test_class_weighting_uses_the_papers_formula(monkeypatch):
    seen = []
    import emoconv.training.loop as loop_mod  # the trainer's default loss lives with the batch loop

    original = loop_mod.F.cross_entropy

    def ce(logits, y, weight=None, **kwargs):
        seen.append(None if weight is None else weight.clone())
        return original(logits, y, weight=weight, **kwargs)

    monkeypatch.setattr(loop_mod.F, "cross_entropy", ce)
    train = Examples(_toy().x[:7], np.array([0, 0, 0, 0, 1, 1, 2]))
    cfg = TrainConfig(max_epochs=1, batch_size=8, progress=False, class_weighted=True, class_weight_alpha=2.0)
    fit(_build, train, _toy(seed=1), cfg, n_classes=3)
    torch.testing.assert_close(seen[0], torch.tensor([2 * 7 / 4, 2 * 7 / 2, 2 * 7 / 1]))
    absent = Examples(_toy().x[:4], np.array([0, 1, 0, 1]))
    with pytest.raises(ProtocolError, match=r"class\(es\) 2 have no training examples"):
        fit(_build, absent, _toy(seed=1), TrainConfig(max_epochs=1, progress=False, class_weighted=True), 3)
    torch.testing.assert_close(trainer_mod.class_weights(np.array([0, 0, 0, 1]), 3), torch.tensor([4 / 9, 4 / 3, 0]))


@pytest.mark.parametrize("settings, message", [
    ({"lr_min": 1e-4}, "train.lr_min needs train.lr_schedule: cyclic"),
    ({"lr_range_test": True}, "train.lr_range_test needs train.lr_schedule: cyclic"),
    ({"lr_schedule": "cyclic", "lr_min": 1e-2, "lr_max": 1e-3}, "train.lr_min .* must be below"),
    ({"lr_schedule": "cyclic", "lr_min": 1e-2}, r"train.lr_min .* must be below the CLR maximum \(0.001"),
    ({"lr_schedule": "cyclic", "lr_max": 1e-2, "lr_grid": (1e-3,)}, "train.lr_max and train.lr_grid"),
    ({"lr_schedule": "cyclic", "lr_range_test": True, "lr_max": 1e-2}, "train.lr_range_test picks"),
    ({"early_stop_on": "val_accuracy"}, "train.early_stop_on must be val_loss or val_ua"),
    ({"class_weight_alpha": 2.0}, "train.class_weight_alpha needs train.class_weighted"),
    ({"lr_schedule": "cyclic", "clr_step_epochs": 0}, "train.clr_step_epochs"),
    ({"lr_range_start": 1.0, "lr_range_end": 0.1}, "train.lr_range_start/lr_range_end"),
    ({"lr_range_by": "accuracy"}, "train.lr_range_by must be val_ua"),
    ({"lr_range_epochs": 1}, "train.lr_range_epochs must be an integer >= 2"),
])
def test_bad_schedule_settings(settings, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**settings)


def test_flat_epoch_range_test_falls_back_to_the_settings(monkeypatch):
    import emoconv.training.clr as clr_mod

    monkeypatch.setattr(clr_mod, "evaluate", lambda *a, **k: (1.0, 1 / 3, 1 / 3))   # UA never moves off chance
    cfg = TrainConfig(max_epochs=1, batch_size=8, progress=False, lr_schedule="cyclic", lr_range_test=True,
                      lr_range_epochs=3, lr=0.004)
    info = fit(_build, _spread(), _spread(seed=1), cfg, n_classes=3).grid[0]
    assert info["lr_bounds_from"] == "settings_flat_range"
    assert (info["lr_min"], info["lr_max"]) == pytest.approx((0.0004, 0.004)) and info["lr_range_ua"] == [1 / 3] * 3
