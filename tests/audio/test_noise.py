"""Noise mixing at exact SNRs, disjoint noise splits and the deterministic on-the-fly augmenter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from testaudio import tone

from emoconv.audio.noise import (
    CONDITIONS, NoiseAugmenter, NoiseConfig, NoisePool, esc_source_id, mix_at_snr, snr_db, split_noise,
)
from emoconv.errors import AudioError, ConfigError


def _noise(n: int, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


@pytest.mark.parametrize("snr", [-10.0, -3.3, 0.0, 7.5, 15.0])
@pytest.mark.parametrize("noise_len", [1200, 8000, 20000])  # shorter (looped), equal, longer (cropped)
def test_mixture_snr_is_exact(snr, noise_len):
    speech = tone(0.5, 16000)
    mixed, added = mix_at_snr(speech, _noise(noise_len), snr, rng=1, return_noise=True)
    assert mixed.shape == speech.shape and mixed.dtype == np.float32
    assert abs(snr_db(speech, mixed.astype(np.float64) - speech) - snr) < 0.1
    assert abs(snr_db(speech, added) - snr) < 0.01
    assert np.allclose(mixed, speech + added, atol=1e-6)


def test_short_noise_is_looped_and_long_noise_cropped():
    speech = tone(0.25, 16000)  # 4000 samples
    base = _noise(1000, 3)
    _, added = mix_at_snr(speech, base, 0.0, rng=0, return_noise=True)
    assert np.allclose(added[:3000], added[1000:4000], atol=1e-7)  # period = clip length
    ramp = np.arange(1, 50001, dtype=np.float32) / 50000  # strictly increasing: a slice is recognisable
    _, added = mix_at_snr(speech, ramp, 0.0, rng=0, return_noise=True)
    steps = np.diff(added.astype(np.float64))
    assert np.allclose(steps, steps[0], rtol=0.02) and steps[0] > 0  # one contiguous, unlooped slice
    start = added[0] / steps[0] - 1  # ramp value at the slice start is (start + 1) / 50000
    assert 0 <= round(start) <= 50000 - 4000


def test_silent_inputs_raise():
    with pytest.raises(AudioError, match="noise clip is silent"):
        mix_at_snr(tone(0.1), np.zeros(500, np.float32), 0.0)
    with pytest.raises(AudioError, match="speech is silent"):
        mix_at_snr(np.zeros(800, np.float32), _noise(500), 0.0)


def test_a_short_event_in_a_zero_padded_clip_is_found():
    """ESC-10 clips are 5 s with the event often at the start and digital silence after it: random offsets
    for a 1 s utterance miss it almost always; the mix still lands on the event, at the exact SNR."""
    speech = tone(1.0, 16000)
    clip = np.zeros(80000, np.float32)
    clip[:100] = _noise(100, 4)
    for seed in range(5):
        mixed, added = mix_at_snr(speech, clip, 5.0, rng=seed, return_noise=True)
        assert abs(snr_db(speech, added) - 5.0) < 0.01
        assert np.count_nonzero(added) > 0
    with pytest.raises(AudioError, match="noise clip is silent"):  # longer than the speech, silent throughout
        mix_at_snr(tone(0.1), np.zeros(50000, np.float32), 0.0)


def _pool(n: int) -> NoisePool:
    return NoisePool([_noise(3000 + 100 * i, i) for i in range(n)], [f"c{i:02d}.wav" for i in range(n)])


def test_split_is_disjoint_complete_and_seeded():
    pool = _pool(20)
    train, test = split_noise(pool, 0.25, seed=3)
    assert set(train.names).isdisjoint(test.names)
    assert sorted(train.names + test.names) == pool.names
    assert len(test) == 5
    again = split_noise(NoisePool(pool.clips[::-1], pool.names[::-1]), 0.25, seed=3)
    assert sorted(again[1].names) == sorted(test.names)  # input order does not matter
    assert sorted(split_noise(pool, 0.25, seed=4)[1].names) != sorted(test.names)
    with pytest.raises(ConfigError, match="at least 2"):
        split_noise(_pool(1))


def test_split_keeps_groups_together():
    names = [f"00{k} - x/{f}-{src}-{t}.ogg" for k, (f, src) in enumerate([(1, 100), (2, 200), (3, 300)] * 2)
             for t in "AB"]
    pool = NoisePool([_noise(100, i) for i in range(len(names))], names)
    train, test = split_noise(pool, 0.4, seed=0, group=esc_source_id)
    assert {esc_source_id(n) for n in train.names}.isdisjoint({esc_source_id(n) for n in test.names})
    assert esc_source_id("001 - Dog bark/1-100032-A.ogg") == "100032"


def test_pool_from_folder_reads_any_format_and_reports_bad_files(tmp_path: Path):
    d = tmp_path / "001 - Dog bark"
    d.mkdir()
    sf.write(d / "1-1-A.ogg", tone(0.3, 44100, seed=1), 44100)
    sf.write(tmp_path / "b.wav", tone(0.2, 8000, seed=2), 8000)
    (tmp_path / "broken.wav").write_bytes(b"not audio at all")
    pool = NoisePool.from_folder(tmp_path, 16000)
    assert pool.names == ["001 - Dog bark/1-1-A.ogg", "b.wav"]
    assert abs(pool.clips[0].shape[0] - 4800) <= 2 and abs(pool.clips[1].shape[0] - 3200) <= 2
    assert len(pool.problems) == 1 and "broken.wav" in pool.problems[0]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AudioError, match="no usable noise audio"):
        NoisePool.from_folder(empty)
    with pytest.raises(AudioError, match="not found"):
        NoisePool.from_folder(tmp_path / "missing")


def test_augmenter_is_deterministic_and_follows_its_plan():
    pool = _pool(30)
    aug = NoiseAugmenter(pool, n_clips=20, n_snrs=3, seed=7)
    assert aug.copies == 60
    assert len(aug.expand(5)) == 5 * 61 and aug.expand(5)[0] == (0, -1)
    plan = aug.plan(4)
    clips = [c for c, _ in plan[::3]]
    assert len(set(clips)) == 20  # distinct clips when the pool is large enough
    snrs = sorted({s for _, s in plan})
    assert len(snrs) == 3 and all(-10 <= s <= 15 for s in snrs)
    speech = tone(0.3, 16000, seed=4)
    c17 = aug.copy(speech, 4, 17)
    assert np.array_equal(c17, NoiseAugmenter(pool, 20, 3, seed=7).copy(speech, 4, 17))  # fresh object
    assert not np.array_equal(c17, aug.copy(speech, 4, 16))
    assert not np.array_equal(c17, NoiseAugmenter(pool, 20, 3, seed=8).copy(speech, 4, 17))
    assert abs(snr_db(speech, c17.astype(np.float64) - speech) - plan[17][1]) < 0.1
    assert np.array_equal(aug.get(speech, 4, -1), speech)
    with pytest.raises(IndexError):
        aug.copy(speech, 0, 60)


def test_write_only_when_asked(tmp_path: Path):
    aug = NoiseAugmenter(_pool(3), n_clips=2, n_snrs=2, seed=0)
    speech = tone(0.2, 16000)
    paths = aug.write(speech, 0, tmp_path, "utt")
    assert len(paths) == 4 and all(p.is_file() for p in paths)
    data, sr = sf.read(paths[3], dtype="float32")
    assert sr == 16000 and np.allclose(data, aug.copy(speech, 0, 3), atol=1e-7)
    assert not list(tmp_path.glob(".*.tmp"))


def test_config_and_conditions():
    with pytest.raises(ConfigError, match="snr_low"):
        NoiseConfig(snr_low=5, snr_high=0)
    with pytest.raises(ConfigError, match="n_clips"):
        NoiseConfig(n_clips=0)
    assert CONDITIONS["clean"]["test"] == "clean" and "test noise" in CONDITIONS["noisy"]["test"]


def test_esc10_noise_split(shared_corpora: Path):
    folder = shared_corpora / "esc10" / "001 - Dog bark"
    if not folder.is_dir():
        pytest.skip("ESC-10 dog bark folder absent")
    pool = NoisePool.from_folder(folder, 16000)
    assert len(pool) >= 10 and not pool.problems
    train, test = split_noise(pool, 0.2, seed=0, group=esc_source_id)
    assert {esc_source_id(n) for n in train.names}.isdisjoint({esc_source_id(n) for n in test.names})
    aug = NoiseAugmenter(train, n_clips=3, n_snrs=2, seed=1)
    speech = tone(1.0, 16000)
    for j in range(aug.copies):
        noisy = aug.copy(speech, 0, j)
        assert abs(snr_db(speech, noisy.astype(np.float64) - speech) - aug.plan(0)[j][1]) < 0.1
