"""3D CNN input volumes: gain normalisation, 2 s segments, 10 x 10 x 256 volumes, caching."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
from testaudio import tone

from emoconv.errors import ConfigError
from emoconv.features import FeatureCache
from emoconv.features.volumes import (VolumeConfig, compute_volumes, extract_segments, normalize_gain,
                                      segment_waveform, speaker_gains, stack_segments, volumes_of_segments)

SR = 16_000


@pytest.mark.parametrize("seconds", [0.5, 2.0, 3.7])
def test_volume_shape_for_short_exact_and_long_utterances(seconds):
    vols = compute_volumes(VolumeConfig(), [tone(seconds)], ["s1"])
    assert len(vols) == 1 and vols[0].shape == (1, 1, 10, 10, 256)
    assert vols[0].dtype == torch.float32 and torch.isfinite(vols[0]).all()


def test_split_mode_gives_one_segment_per_started_2s():
    cfg = VolumeConfig(long_utterances="split")
    vols = compute_volumes(cfg, [tone(0.5), tone(2.0), tone(4.1)], ["a", "a", "a"])
    assert [v.shape[0] for v in vols] == [1, 1, 3]
    x, owner = stack_segments(vols)
    assert x.shape == (5, 1, 10, 10, 256) and owner.tolist() == [0, 1, 2, 2, 2]


def test_short_utterance_is_zero_padded_and_long_one_trimmed():
    cfg = VolumeConfig()
    seg = segment_waveform(np.ones(8000, np.float32), cfg)
    assert seg.shape == (1, 32000) and seg[0, :8000].all() and not seg[0, 8000:].any()
    long = np.arange(40000, dtype=np.float32)
    assert np.array_equal(segment_waveform(long, cfg)[0], long[:32000])
    # padded region of the volume is the log floor (silence), the speech part is not
    vol = compute_volumes(cfg, [tone(0.5)], ["s"])[0][0, 0]  # (L, T, S)
    floor = float(np.log(1e-6))
    assert torch.allclose(vol[4:], torch.full_like(vol[4:], floor))
    assert vol[0].mean() > floor + 5


def test_per_speaker_minmax_gain():
    a, b = np.array([-0.2, 0.1], np.float32), np.array([0.0, 0.4], np.float32)
    gains = speaker_gains([a, b, 10 * a], ["x", "x", "y"])
    assert gains["x"] == pytest.approx((-0.2, 0.4)) and gains["y"] == pytest.approx((-2.0, 1.0))
    np.testing.assert_allclose(normalize_gain(b, gains["x"]), [-1 / 3, 1.0], atol=1e-6)
    np.testing.assert_allclose(normalize_gain(a, gains["x"], "peak"), [-0.5, 0.25], atol=1e-6)
    # a speaker recorded 10x louder gives the same volumes after normalisation
    quiet = compute_volumes(VolumeConfig(), [tone(1.0)], ["q"])[0]
    loud = compute_volumes(VolumeConfig(), [10 * tone(1.0)], ["l"])[0]
    assert torch.allclose(quiet, loud, atol=1e-3)


def test_volume_is_the_log_spectrogram_reshaped():
    cfg = VolumeConfig(gain_norm="none")
    x = np.random.default_rng(0).standard_normal(32000).astype(np.float32)
    vol = volumes_of_segments(cfg, x[None])[0, 0]  # (10, 10, 256)
    frame = 37  # frame 37 = long-term window 3, short-term frame 7
    start = frame * 320 - 256  # centred 512-sample frame (reflect padding only touches frame 0)
    win = torch.hamming_window(512, periodic=True).numpy()
    ref = np.log(np.abs(np.fft.rfft(x[start:start + 512] * win))[:256] + 1e-6)
    np.testing.assert_allclose(vol[3, 7].numpy(), ref, atol=1e-3)


def test_config_validation_names_the_setting():
    with pytest.raises(ConfigError, match="volumes.long_term"):
        VolumeConfig(long_term=5)
    with pytest.raises(ConfigError, match="volumes.n_bins"):
        VolumeConfig(n_bins=300)
    with pytest.raises(ConfigError, match="volumes.gain_norm"):
        VolumeConfig(gain_norm="rms")
    with pytest.raises(ConfigError, match="volumes.kind"):
        compute_volumes(VolumeConfig(), [tone(0.5)], ["s"], kind="mel")


def test_extract_segments_caches_and_matches_in_memory(tmp_path):
    paths = []
    for i, sec in enumerate([0.4, 0.9, 2.5]):
        p = tmp_path / f"u{i}.wav"
        sf.write(p, tone(sec, seed=i), SR)
        paths.append(p)
    speakers = ["emodb/03", "emodb/03", "savee/03"]
    cache = FeatureCache(tmp_path / "cache")
    first = extract_segments(VolumeConfig(), paths, speakers, cache=cache)
    assert cache.stats()["hits"] == 0
    again = extract_segments(VolumeConfig(), paths, speakers, cache=cache)
    assert cache.stats()["hits"] == 6  # 3 gain ranges + 3 volumes
    for a, b in zip(first, again):
        assert torch.equal(a, b)
    waves = [sf.read(p, dtype="float32")[0] for p in paths]
    ref = compute_volumes(VolumeConfig(), waves, speakers)
    for a, b in zip(first, ref):
        assert torch.allclose(a, b, atol=1e-4)
    raw = extract_segments(VolumeConfig(), paths, speakers, cache=cache, kind="waveform")
    assert raw[0].shape == (1, 1, 32000) and float(raw[0].abs().max()) <= 1.0 + 1e-6
