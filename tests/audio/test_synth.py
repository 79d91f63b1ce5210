"""The source-filter emotional speech generator: determinism, shapes, and prosody directions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from emoconv.audio.synth import (
    EMOTION_STYLES,
    EmotionStyle,
    SpeakerProfile,
    make_speakers,
    synthesize_utterance,
)
from emoconv.corpora.base import SHARED_LABELS
from emoconv.errors import ConfigError

SR = 16_000
SPEAKERS = make_speakers(8, seed=0)


def _utt(speaker: SpeakerProfile, label: str, seed: int, duration: float = 1.5) -> np.ndarray:
    return synthesize_utterance(speaker, EMOTION_STYLES[label], np.random.default_rng(seed), SR, duration_s=duration)


def test_same_seed_gives_identical_samples_and_other_seed_differs():
    a = _utt(SPEAKERS[0], "anger", 7)
    b = _utt(SPEAKERS[0], "anger", 7)
    c = _utt(SPEAKERS[0], "anger", 8)
    assert a.tobytes() == b.tobytes()
    assert a.shape == c.shape
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("duration", [0.5, 1.0, 2.37])
def test_output_is_float32_of_requested_length_bounded_and_not_silent(duration):
    x = _utt(SPEAKERS[3], "happiness", 1, duration)
    assert x.dtype == np.float32 and x.ndim == 1
    assert x.shape[0] == round(duration * SR)
    assert np.all(np.isfinite(x))
    assert 0.01 < np.max(np.abs(x)) < 1.0
    assert np.sqrt(np.mean(x**2)) > 1e-3


def test_random_duration_is_between_one_and_three_seconds():
    lengths = [synthesize_utterance(SPEAKERS[0], EMOTION_STYLES["neutral"], np.random.default_rng(s)).shape[0]
               for s in range(5)]
    assert all(SR <= n <= 3 * SR for n in lengths)
    assert len(set(lengths)) > 1


def test_other_sample_rate():
    x = synthesize_utterance(SPEAKERS[0], EMOTION_STYLES["neutral"], np.random.default_rng(0), 8000, duration_s=1.0)
    assert x.shape == (8000,)


def test_speakers_alternate_gender_and_rates_spread_at_least_1_5x():
    genders = [s.gender for s in SPEAKERS]
    assert genders == ["f", "m"] * 4
    assert len({s.name for s in SPEAKERS}) == 8
    rates = [s.rate_sps for s in SPEAKERS]
    assert max(rates) / min(rates) >= 1.5
    f0_f = [s.f0_hz for s in SPEAKERS if s.gender == "f"]
    f0_m = [s.f0_hz for s in SPEAKERS if s.gender == "m"]
    assert min(f0_f) > max(f0_m)
    assert make_speakers(8, seed=0) == SPEAKERS
    assert make_speakers(3, seed=0) == SPEAKERS[:3]
    assert make_speakers(2, seed=1) != SPEAKERS[:2]


def _syllable_rate(x: np.ndarray) -> float:
    """Envelope peaks per second (a crude syllable count)."""
    _, _, z = signal.stft(x, SR, nperseg=320, noverlap=160)
    env = signal.savgol_filter(np.log(np.sum(np.abs(z) ** 2, axis=0) + 1e-10), 7, 2)
    peaks, _ = signal.find_peaks(env, prominence=3.0)
    return len(peaks) / (len(x) / SR)


def test_fast_speaker_produces_more_syllables_per_second_than_slow_speaker():
    rates = [s.rate_sps for s in SPEAKERS]
    slow, fast = SPEAKERS[int(np.argmin(rates))], SPEAKERS[int(np.argmax(rates))]
    r_slow = np.mean([_syllable_rate(_utt(slow, "neutral", s, 3.0)) for s in range(5)])
    r_fast = np.mean([_syllable_rate(_utt(fast, "neutral", s, 3.0)) for s in range(5)])
    assert r_fast / r_slow > 1.3


def _median_f0(x: np.ndarray) -> float:
    import librosa

    f0 = librosa.yin(x, fmin=60, fmax=600, sr=SR, frame_length=1024, hop_length=256)
    rms = librosa.feature.rms(y=x, frame_length=1024, hop_length=256)[0]
    return float(np.median(f0[rms > 0.3 * rms.max()]))


def test_pitch_moves_in_the_intended_direction_per_class():
    spk = SPEAKERS[1]  # a male voice: yin is reliable on low pitch
    f0 = {lab: np.mean([_median_f0(_utt(spk, lab, s)) for s in range(4)])
          for lab in ("neutral", "anger", "happiness", "sadness")}
    assert abs(f0["neutral"] / spk.f0_hz - 1.0) < 0.2  # the base pitch is what was asked for
    assert f0["anger"] > 1.1 * f0["neutral"]
    assert f0["happiness"] > 1.1 * f0["neutral"]
    assert f0["sadness"] < 0.97 * f0["neutral"]


def _centroid(x: np.ndarray) -> float:
    f, _, z = signal.stft(x, SR, nperseg=512)
    p = np.abs(z) ** 2
    return float(np.sum(f[:, None] * p) / np.sum(p))


def test_anger_is_louder_and_brighter_than_sadness():
    spk = SPEAKERS[2]
    ang = [_utt(spk, "anger", s) for s in range(4)]
    sad = [_utt(spk, "sadness", s) for s in range(4)]
    rms = lambda xs: np.mean([20 * np.log10(np.sqrt(np.mean(x**2))) for x in xs])  # noqa: E731
    assert rms(ang) > rms(sad) + 6.0
    assert np.mean([_centroid(x) for x in ang]) > 1.2 * np.mean([_centroid(x) for x in sad])


def test_every_shared_label_has_a_style():
    assert set(EMOTION_STYLES) == set(SHARED_LABELS)
    assert all(name == style.name for name, style in EMOTION_STYLES.items())


def test_zero_variability_still_depends_on_rng_but_is_deterministic():
    style = EmotionStyle("neutral", variability=0.0)
    a = synthesize_utterance(SPEAKERS[0], style, np.random.default_rng(3), duration_s=0.8)
    b = synthesize_utterance(SPEAKERS[0], style, np.random.default_rng(3), duration_s=0.8)
    assert np.array_equal(a, b)


@pytest.mark.parametrize(
    ("make", "setting"),
    [
        (lambda: SpeakerProfile("a_b", "f", 200.0), "speaker.name"),
        (lambda: SpeakerProfile("x", "q", 200.0), "speaker.gender"),
        (lambda: SpeakerProfile("x", "m", 900.0), "speaker.f0_hz"),
        (lambda: EmotionStyle("x", f0_scale=5.0), "style.f0_scale"),
        (lambda: EmotionStyle("x", tilt=2.0), "style.tilt"),
        (lambda: EmotionStyle("x", jitter=-0.1), "style.jitter"),
        (lambda: make_speakers(0), "n_speakers"),
        (lambda: _utt(SPEAKERS[0], "neutral", 0, 0.1), "duration_s"),
    ],
)
def test_bad_settings_raise_config_error_naming_the_setting(make, setting):
    with pytest.raises(ConfigError, match=setting):
        make()
