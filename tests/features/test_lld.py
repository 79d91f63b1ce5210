"""The 32 IS09 low-level descriptors of the DNN-ELM / LSTM-ELM baselines."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from testaudio import tone

from emoconv.errors import AudioError, ConfigError
from emoconv.features import FeatureCache
from emoconv.features.lld import LLD_NAMES, LLDConfig, extract_lld, lld_of_signal, with_context


def test_lld_shape_names_and_frame_rate():
    x = lld_of_signal(tone(1.0))
    assert x.shape == (99, 32) and len(LLD_NAMES) == 32  # 25 ms frames every 10 ms
    assert x.dtype == np.float32 and np.isfinite(x).all()
    assert LLD_NAMES[15] == "f0" and LLD_NAMES[31] == "f0_delta"
    assert lld_of_signal(tone(1.0), deltas=False).shape == (99, 16)


def test_f0_voicing_and_zcr_on_a_tone():
    x = lld_of_signal(tone(1.0, freq=220.0))
    mid = x[20:80]
    assert np.median(mid[:, 15]) == pytest.approx(220.0, rel=0.03)
    assert np.median(mid[:, 14]) > 0.5  # voiced
    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.3
    n = lld_of_signal(noise)
    assert np.median(n[20:80, 13]) > 3 * np.median(mid[:, 13])  # white noise crosses zero far more often
    louder = lld_of_signal(3 * tone(1.0, freq=220.0))  # peak 0.9: no clipping
    assert np.median(louder[20:80, 0]) == pytest.approx(3 * np.median(mid[:, 0]), rel=0.05)  # RMS energy


def test_context_window_stacks_neighbours():
    x = torch.arange(8.0).view(4, 2)
    c = with_context(x, 5)
    assert c.shape == (4, 10)
    assert c[0].view(2, 5)[0].tolist() == [0, 0, 0, 2, 4]  # feature 0 of frames -2..2 at t=0
    with pytest.raises(ConfigError, match="lld.context"):
        with_context(x, 4)


def test_extract_lld_caches(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(p, tone(0.6), 16_000)
    cache = FeatureCache(tmp_path / "c")
    a = extract_lld(LLDConfig(), [p], cache)[0]
    b = extract_lld(LLDConfig(), [p], cache)[0]
    assert cache.hits == 1 and torch.equal(a, b) and a.shape[1] == 32


def test_too_short_audio_is_an_audio_error(tmp_path):
    p = tmp_path / "short.wav"
    sf.write(p, tone(0.01), 16_000)
    with pytest.raises(AudioError, match="short.wav"):
        extract_lld(LLDConfig(), [p])
