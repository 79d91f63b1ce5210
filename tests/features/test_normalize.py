"""Normalizer modes, no leakage of test statistics, and state round trips."""

from __future__ import annotations

import pytest
import torch

from emoconv.errors import BundleError, ConfigError
from emoconv.features import Normalizer


def _feats(n, mean, std, seed, t=30):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(2, t + i, 5, generator=g) * std + mean for i in range(n)]


def _pooled(feats):
    x = torch.cat(feats, dim=1)
    return x.mean(dim=1), x.std(dim=1, unbiased=False)


def test_global_uses_training_statistics_only():
    train = _feats(4, 3.0, 2.0, seed=0)
    test = _feats(3, -5.0, 0.5, seed=1)
    norm = Normalizer("global").fit(train)
    m, s = _pooled(norm.transform_many(train))
    torch.testing.assert_close(m, torch.zeros_like(m), atol=1e-5, rtol=0)
    torch.testing.assert_close(s, torch.ones_like(s), atol=1e-5, rtol=0)
    # test features are shifted by the *training* mean: they stay far from 0
    tm, _ = _pooled(norm.transform_many(test))
    assert torch.all(tm < -3.0)
    mean, std = _pooled(train)
    torch.testing.assert_close(norm.transform(test[0]), (test[0] - mean[:, None]) / std[:, None])


def test_speaker_mode_uses_each_speakers_own_statistics():
    a, b = _feats(3, 10.0, 3.0, seed=2), _feats(2, -4.0, 0.1, seed=3)
    norm = Normalizer("speaker").fit(a, ["a"] * 3)
    out = norm.transform_many(a + b, ["a"] * 3 + ["b"] * 2)  # "b" unseen in training
    for group in (out[:3], out[3:]):
        m, s = _pooled(group)
        torch.testing.assert_close(m, torch.zeros_like(m), atol=1e-4, rtol=0)
        torch.testing.assert_close(s, torch.ones_like(s), atol=1e-4, rtol=0)
    torch.testing.assert_close(norm.transform(a[0], "a"), out[0])
    with pytest.raises(ConfigError, match="speaker 'b'"):
        norm.transform(b[0], "b")
    with pytest.raises(ConfigError, match="one speaker per utterance"):
        norm.transform_many(a, ["a"])


def test_utterance_and_none_modes_and_2d_input():
    x = torch.randn(40, 6) * 4 + 1
    z = Normalizer("utterance").transform(x)
    assert z.shape == x.shape
    torch.testing.assert_close(z.mean(dim=0), torch.zeros(6), atol=1e-5, rtol=0)
    assert Normalizer("none").transform(x) is x


def test_constant_bins_do_not_produce_nan():
    feats = [torch.ones(1, 10, 3)]
    out = Normalizer("global").fit(feats).transform(feats[0])
    assert torch.all(out == 0)


def test_errors():
    with pytest.raises(ConfigError, match="mode 'batch'"):
        Normalizer("batch")
    with pytest.raises(ConfigError, match="not fitted"):
        Normalizer("global").transform(torch.zeros(1, 3, 2))
    norm = Normalizer("global").fit([torch.randn(1, 5, 4)])
    with pytest.raises(ConfigError, match="same feature settings"):
        norm.transform(torch.zeros(1, 5, 3))


@pytest.mark.parametrize("mode", ["global", "speaker", "utterance", "none"])
def test_state_dict_round_trip(mode):
    feats = _feats(3, 1.0, 2.0, seed=4)
    norm = Normalizer(mode).fit(feats, ["s1", "s2", "s1"])
    back = Normalizer.from_state_dict(norm.state_dict())
    assert back.mode == mode
    speaker = "s1" if mode == "speaker" else None
    torch.testing.assert_close(back.transform(feats[0], speaker), norm.transform(feats[0], speaker))


def test_malformed_state_is_a_bundle_error():
    with pytest.raises(BundleError, match="normaliser state"):
        Normalizer.from_state_dict({"mode": "global", "mean": None, "std": None})
    with pytest.raises(BundleError, match="normaliser state"):
        Normalizer.from_state_dict({"mean": torch.zeros(1, 1, 2)})
