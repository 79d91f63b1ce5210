"""``logmel_tracks``: log-mel frames with the IS09 LLD tracks aligned beside them."""

from __future__ import annotations

import pytest
import soundfile as sf
import torch
from testaudio import tone

from emoconv.errors import ConfigError
from emoconv.features import FeatureCache
from emoconv.features.kinds import extract_for, features_dict, parse_features
from emoconv.features.lld import LLDConfig, extract_lld
from emoconv.features.tracks import LogmelTracksConfig, align

pytest.importorskip("opensmile")


class _Utt:
    def __init__(self, path):
        self.path, self.speaker = path, "s"


def test_align_maps_frame_centres_and_holds_the_ends():
    src = torch.arange(10.0)[:, None] * torch.tensor([[1.0, -1.0]])  # two tracks on the 10 ms grid
    out = align(src, n_frames=5, hop_ms=10)  # centres 0, 10, ... ms; LLD centres 12.5, 22.5, ...
    assert out[:, 0].tolist() == [0.0, 0.0, 0.75, 1.75, 2.75] and out[:, 1].tolist() == [0.0, 0.0, -0.75, -1.75, -2.75]
    spaced = align(src, n_frames=3, hop_ms=40)  # 0, 40, 80 ms -> held at frame 0, then 2.75, 6.75
    assert spaced[:, 0].tolist() == [0.0, 2.75, 6.75]
    assert align(src, n_frames=20, hop_ms=20)[-1, 0] == 9.0  # beyond the last LLD frame: held


def test_extract_gives_logmel_then_tracks_through_the_cache(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(p, tone(1.0, freq=200.0), 16_000)
    cfg = parse_features({"kind": "logmel_tracks", "n_mels": 40, "win_ms": 25, "hop_ms": 20})
    assert isinstance(cfg, LogmelTracksConfig) and features_dict(cfg)["kind"] == "logmel_tracks"
    cache = FeatureCache(tmp_path / "c")
    x = extract_for(cfg, [_Utt(p)], cache)[0]
    mel = extract_for(parse_features({"kind": "logmel", "n_mels": 40, "win_ms": 25, "hop_ms": 20}), [_Utt(p)])[0]
    assert x.shape == (1, mel.shape[1], 72)
    assert torch.allclose(x[0, :, :40], mel[0])  # the log-mel part is kind: logmel's
    f0 = x[0, 10:-10, 40 + 15]
    assert f0.median().item() == pytest.approx(200.0, rel=0.03)  # F0 track aligned in column n_mels + 15
    raw = extract_lld(LLDConfig(), [p])[0]
    assert x[0, :, 40:].shape[1] == raw.shape[1] == 32
    extract_for(cfg, [_Utt(p)], cache)
    assert cache.hits == 2  # both parts read back


def test_bad_settings_name_the_field():
    with pytest.raises(ConfigError, match="features"):
        parse_features({"kind": "logmel_tracks", "n_mels": 0})
    with pytest.raises(ConfigError, match="hop"):
        parse_features({"kind": "logmel_tracks", "hop": 10})
    with pytest.raises(ConfigError, match="lld_deltas"):
        parse_features({"kind": "logmel_tracks", "lld_deltas": "yes"})
    assert parse_features({"kind": "logmel_tracks", "sample_rate": 8000}).n_tracks == 32  # the LLDs run at 16 kHz
