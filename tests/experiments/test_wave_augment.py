"""Waveform augmentation of training utterances: the effects, their draws, the cache, the settings."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from testaudio import tone

from emoconv.errors import ConfigError
from emoconv.experiments.wave_augment import WaveAugmenter
from emoconv.features import FeatureCache
from emoconv.features.config import FeatureConfig
from emoconv.training.augment import WaveAugment

SR = 16_000


def _peak_hz(x: np.ndarray) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / SR)[np.argmax(spec)])


def test_speed_changes_length_and_pitch_together():
    aug = WaveAugmenter(WaveAugment(copies=1, speeds=(1.25,)), SR)
    x = np.sin(2 * np.pi * 400 * np.arange(SR) / SR).astype(np.float32)
    plan = aug.plan("u1", 0)
    y = aug.apply(x, plan)
    assert plan["speed"] == 1.25 and abs(len(y) - SR / 1.25) <= 2
    assert _peak_hz(y) == pytest.approx(500, abs=5)  # 400 Hz played 1.25x faster


def test_gain_and_crop():
    aug = WaveAugmenter(WaveAugment(copies=1, gain_db=(-6, -6), crop=0.5), SR)
    x = tone(1.0, SR)
    for v in range(5):
        plan = aug.plan("u1", v)
        y = aug.apply(x, plan)
        assert 0.5 * len(x) - 1 <= len(y) <= len(x)
        start = int(plan["start"] * (len(x) - len(y)))
        assert np.allclose(y, x[start:start + len(y)] * 10 ** (-6 / 20), atol=1e-6)


def test_draws_are_seeded_per_utterance_and_variant():
    cfg = WaveAugment(copies=1, variants=4, speeds=(0.9, 1.0, 1.1), gain_db=(-6, 6), crop=0.8)
    a, b = WaveAugmenter(cfg, SR), WaveAugmenter(cfg, SR)
    assert a.plan("u1", 2) == b.plan("u1", 2)
    assert a.plan("u1", 2) != a.plan("u1", 3) and a.plan("u1", 2) != a.plan("u2", 2)
    other = WaveAugmenter(WaveAugment(copies=1, variants=4, speeds=(0.9, 1.0, 1.1), gain_db=(-6, 6), crop=0.8,
                                      seed=1), SR)
    assert other.plan("u1", 2) != a.plan("u1", 2)


def test_noise_is_mixed_at_the_drawn_snr(tmp_path):
    noise = tmp_path / "noise"
    noise.mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        sf.write(str(noise / f"n{i}.wav"), (0.1 * rng.standard_normal(SR)).astype(np.float32), SR)
    aug = WaveAugmenter(WaveAugment(copies=1, noise_dir=str(noise), snr_range=(10, 10)), SR)
    x = tone(1.0, SR)
    plan = aug.plan("u1", 0)
    y = aug.apply(x, plan)
    snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean((y - x).astype(np.float64) ** 2))
    assert plan["noise"] in ("n0.wav", "n1.wav") and snr == pytest.approx(10, abs=0.05)


def test_features_of_a_variant_are_cached(tmp_path, monkeypatch):
    path = tmp_path / "u1.wav"
    sf.write(str(path), tone(0.5, SR), SR)
    utt = SimpleNamespace(uid="c:u1", path=path)
    feat = FeatureConfig(kind="logmel", n_mels=20)
    cache = FeatureCache(tmp_path / "cache")
    aug = WaveAugmenter(WaveAugment(copies=1, variants=3, speeds=(0.9, 1.1)), SR)
    import emoconv.features.spectral as spectral

    calls = []
    real = spectral.compute_features
    monkeypatch.setattr(spectral, "compute_features", lambda cfg, waves: calls.append(len(waves)) or real(cfg, waves))
    first = aug.features(feat, utt, [0, 2], cache)
    again = aug.features(feat, utt, [2, 0, 1], cache)
    assert calls == [2, 1]  # the second call computes only variant 1
    assert all(np.array_equal(a, b) for a, b in zip(first, [again[1], again[0]]))


@pytest.mark.parametrize("kw, match", [
    ({"copies": 2, "variants": 1}, "variants"), ({"speeds": (0.3,)}, "speeds"), ({"crop": 0.0}, "crop"),
    ({"gain_db": (6, -6)}, "gain_db"), ({"noise_dir": "/no/such/folder"}, "noise_dir"), ({"copies": -1}, "copies")])
def test_bad_settings_name_the_setting(kw, match):
    with pytest.raises(ConfigError, match=f"train.wave_augment.{match}"):
        WaveAugment(**kw)


def test_recipe_refuses_noise_conditions_with_wave_augment(tmp_path):
    from emoconv.experiments.recipe import build_recipe

    tree = {"name": "x", "corpora": {"builtin": {}}, "models": [{"name": "mts.a3"}],
            "augment": {"noise_dir": str(tmp_path), "condition": "clean"},
            "train": {"wave_augment": {"copies": 1, "speeds": [0.9, 1.1]}}}
    with pytest.raises(ConfigError, match="cannot be combined"):
        build_recipe(tree)


@pytest.mark.parametrize("tree, match", [
    # noise conditions on features that cannot be computed from noisy audio in memory
    ({"augment": {"noise_dir": "NOISE", "conditions": ["clean", "noisy"]},
      "models": [{"name": "cnn3d.base.dnn_elm", "features": {"kind": "lld"}}]},
     r"models\.0 \(cnn3d\.base\.dnn_elm\): noise conditions need features computed from audio"),
    # waveform variants with segmented inputs
    ({"input": {"length": "segment"}, "train": {"wave_augment": {"copies": 1, "speeds": [0.9, 1.1]}},
      "models": [{"name": "mts.a3"}]}, r"models\.0 .*need one example per utterance"),
])
def test_recipe_load_refuses_what_a_run_could_not_do(tmp_path, tree, match):
    """Errors that used to surface when the run started are raised when the recipe is loaded."""
    from emoconv.experiments.recipe import build_recipe

    tree = {"name": "x", "corpora": {"builtin": {}}, **tree}
    if "augment" in tree:
        tree["augment"]["noise_dir"] = str(tmp_path)
    with pytest.raises(ConfigError, match=match):
        build_recipe(tree)
