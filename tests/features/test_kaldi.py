"""Kaldi-compatible features (kaldi-native-fbank): shapes, Kaldi's framing, deltas, cache and recipes."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from testaudio import tone

pytest.importorskip("kaldi_native_fbank")

from emoconv.errors import ConfigError  # noqa: E402
from emoconv.experiments.recipe import build_recipe  # noqa: E402
from emoconv.features import FeatureCache  # noqa: E402
from emoconv.features.kaldi import KaldiConfig, kaldi_features, kaldi_of_signal  # noqa: E402

SR = 16000
Y = tone(1.2301, SR, 220.0, seed=0)


def test_kaldi_framing_and_shapes():
    """snip_edges: 1 + (N - 400) // 160 frames of 25 ms every 10 ms."""
    n_frames = 1 + (len(Y) - 400) // 160
    fb = kaldi_of_signal(KaldiConfig(), Y)
    assert fb.shape == (1, n_frames, 40) and torch.isfinite(fb).all()
    mf = kaldi_of_signal(KaldiConfig(type="mfcc", deltas=2), Y)
    assert mf.shape == (3, n_frames, 13)


def test_deltas_are_the_htk_regression_applied_twice():
    cfg = KaldiConfig(deltas=2, delta_window=2)
    f = kaldi_of_signal(cfg, Y).double().numpy()
    x = f[0]
    w = np.arange(-2, 3) / 10.0

    def regress(a, taps):  # Kaldi: edge frames repeated, window applied to the statics
        h = len(taps) // 2
        pad = np.concatenate([a[:1].repeat(h, 0), a, a[-1:].repeat(h, 0)])
        return sum(taps[j] * pad[j:j + len(a)] for j in range(len(taps)))

    np.testing.assert_allclose(f[1], regress(x, w), rtol=1e-4, atol=1e-4)
    # second order: the first-order window convolved with itself (the delta of the delta away from the edges)
    np.testing.assert_allclose(f[2], regress(x, np.convolve(w, w)), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(f[2][4:-4], regress(regress(x, w), w)[4:-4], rtol=1e-4, atol=1e-4)


def test_log_energies_follow_the_16_bit_scale_and_no_dither_is_deterministic():
    a, b = kaldi_of_signal(KaldiConfig(), Y), kaldi_of_signal(KaldiConfig(), Y)
    assert torch.equal(a, b)
    half = kaldi_of_signal(KaldiConfig(), Y * 0.5)  # power scales by 1/4: log filterbank shifts by ln 4
    torch.testing.assert_close(a - half, torch.full_like(a, float(np.log(4.0))), rtol=0, atol=2e-2)


def test_cache_and_recipe_kind(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(p, Y, SR, subtype="FLOAT")
    cache = FeatureCache(tmp_path / "cache")
    first = kaldi_features(KaldiConfig(type="mfcc"), [p], cache)
    again = kaldi_features(KaldiConfig(type="mfcc"), [p], cache)
    assert torch.equal(first[0], again[0]) and len(list((tmp_path / "cache").rglob("*.safetensors"))) == 1
    r = build_recipe({"name": "k", "corpora": {"builtin": {}}, "features": {"kind": "kaldi", "type": "mfcc"},
                      "models": [{"name": "mts.a2"}]})
    assert isinstance(r.features, KaldiConfig) and r.features.n_bins == 13
    with pytest.raises(ConfigError, match="features.type"):
        build_recipe({"name": "k", "corpora": {"builtin": {}}, "features": {"kind": "kaldi", "type": "plp"},
                      "models": [{"name": "mts.a2"}]})
