"""FeatureConfig validation and derived sizes."""

from __future__ import annotations

import pytest

from emoconv.config import from_dict, to_dict
from emoconv.errors import ConfigError
from emoconv.features import FeatureConfig


def test_defaults_and_derived_sizes():
    cfg = FeatureConfig()
    assert (cfg.win_length, cfg.hop_length, cfg.fft_size) == (400, 160, 400)
    assert (cfg.channels, cfg.n_bins) == (1, 40)
    assert cfg.n_frames(16000) == 101
    mts = FeatureConfig(kind="stft", win_ms=20, compression="none")
    assert (mts.win_length, mts.n_bins) == (320, 161)
    assert FeatureConfig(kind="mfcc", n_mfcc=20, deltas=2).n_bins == 20
    assert FeatureConfig(kind="stft", n_fft=512).n_bins == 257


@pytest.mark.parametrize(
    "field, value",
    [
        ("kind", "mel"),
        ("sample_rate", 0),
        ("win_ms", -1.0),
        ("hop_ms", 0.0),
        ("n_fft", 128),  # shorter than the 400-sample window
        ("window", "blackman"),
        ("n_mels", 0),
        ("n_mfcc", 41),  # more than n_mels
        ("fmin", 8000.0),
        ("fmax", 9000.0),
        ("compression", "cube"),
        ("power", 0.0),
        ("log_offset", 0.0),
        ("deltas", 3),
        ("delta_width", 8),
        ("delta_width", 1),
        ("min_duration_s", -0.1),
    ],
)
def test_invalid_values_name_the_field(field, value):
    with pytest.raises(ConfigError, match=rf"features\.{field}\b"):
        FeatureConfig(**{field: value})


def test_round_trip_through_plain_dict():
    cfg = FeatureConfig(kind="mfcc", deltas=2, fmax=7600.0)
    assert from_dict(FeatureConfig, to_dict(cfg)) == cfg
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(FeatureConfig, {"nmels": 40}, where="features")
