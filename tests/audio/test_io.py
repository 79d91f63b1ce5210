"""load_audio / audio_info on generated files of every container, depth, rate and failure."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from testaudio import tone

from emoconv.audio import AUDIO_EXTENSIONS, audio_info, load_audio
from emoconv.errors import AudioError, ConfigError


def _write(path, x, sr, **kw):
    sf.write(str(path), x, sr, **kw)
    return path


@pytest.mark.parametrize(
    "fmt,subtype,tol",
    [
        ("WAV", "PCM_16", 1e-4),
        ("WAV", "PCM_24", 1e-6),
        ("WAV", "PCM_32", 1e-7),
        ("WAV", "FLOAT", 0.0),
        ("FLAC", "PCM_16", 1e-4),
        ("FLAC", "PCM_24", 1e-6),
        ("AIFF", "PCM_16", 1e-4),
    ],
)
def test_lossless_formats_round_trip_at_16k(tmp_path, fmt, subtype, tol):
    x = tone(0.2, 16_000, seed=1)
    path = _write(tmp_path / f"x.{fmt.lower()}", x, 16_000, format=fmt, subtype=subtype)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1 and y.shape == x.shape
    assert np.max(np.abs(y - x)) <= tol + 1e-9


def test_ogg_vorbis_is_lossy_but_close(tmp_path):
    x = tone(0.3, 16_000, seed=2)
    y = load_audio(_write(tmp_path / "x.ogg", x, 16_000, format="OGG", subtype="VORBIS"))
    assert y.shape == x.shape and y.dtype == np.float32
    # Vorbis keeps the waveform shape: strongly correlated with the input.
    assert np.corrcoef(x, y)[0, 1] > 0.95


@pytest.mark.parametrize("sr", [8_000, 22_050, 44_100, 48_000])
def test_any_rate_is_resampled_to_16k_keeping_duration_and_pitch(tmp_path, sr):
    seconds, freq = 0.25, 440.0
    t = np.arange(int(seconds * sr)) / sr
    x = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    y = load_audio(_write(tmp_path / "x.wav", x, sr, subtype="PCM_16"))
    assert y.dtype == np.float32
    assert abs(y.shape[0] - round(seconds * 16_000)) <= 1
    spectrum = np.abs(np.fft.rfft(y))
    peak_hz = np.argmax(spectrum) * 16_000 / y.shape[0]
    assert abs(peak_hz - freq) < 8.0  # one FFT bin at 0.25 s is 4 Hz
    assert 0.45 < np.max(np.abs(y)) < 0.56


def test_other_target_rate(tmp_path):
    x = tone(0.2, 16_000)
    y = load_audio(_write(tmp_path / "x.wav", x, 16_000), sample_rate=8_000)
    assert y.shape == (1600,)


def test_stereo_is_averaged_to_mono(tmp_path):
    left = tone(0.2, 16_000, seed=3)
    right = 0.5 * tone(0.2, 16_000, freq=330.0, seed=4)
    y = load_audio(_write(tmp_path / "s.wav", np.stack([left, right], 1), 16_000, subtype="FLOAT"))
    assert y.shape == left.shape
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-6)


def test_aiff_named_wav_is_read_from_its_header(tmp_path):
    # TESS ships AIFF data under .wav names; libsndfile goes by the header.
    x = tone(0.2, 24_000, seed=5)
    path = _write(tmp_path / "OAF_back_angry.wav", x, 24_000, format="AIFF", subtype="PCM_16")
    assert audio_info(path).format == "AIFF"
    y = load_audio(path)
    assert y.shape == (3200,)


def test_audio_info_reads_header_only(tmp_path):
    path = _write(tmp_path / "x.flac", tone(0.3, 8_000), 8_000, format="FLAC")
    info = audio_info(path)
    assert (info.samplerate, info.channels, info.frames) == (8_000, 1, 2_400)


def test_extensions_cover_the_readable_containers():
    assert {".wav", ".flac", ".ogg", ".aiff", ".aif"} <= AUDIO_EXTENSIONS


# ---------------------------------------------------------------- failures


def _fails(path, pattern, **kw):
    with pytest.raises(AudioError, match=pattern) as info:
        load_audio(path, **kw)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def test_garbage_bytes_are_unreadable(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(b"this is not audio at all" * 20)
    message = _fails(path, "unreadable audio")
    assert "re-export" in message
    with pytest.raises(AudioError, match="garbage.wav: unreadable audio"):
        audio_info(path)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    _fails(path, "empty file")
    with pytest.raises(AudioError, match="empty file"):
        audio_info(path)


def test_zero_frames(tmp_path):
    path = _write(tmp_path / "frames0.wav", np.zeros(0, np.float32), 16_000)
    _fails(path, r"no audio samples \(0 frames\)")


def test_all_zero_audio(tmp_path):
    path = _write(tmp_path / "silent.wav", np.zeros(3200, np.float32), 16_000)
    _fails(path, "all zeros")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_wav(tmp_path, bad):
    x = tone(0.2, 16_000)
    x[100] = bad
    path = _write(tmp_path / "nonfinite.wav", x, 16_000, subtype="FLOAT")
    _fails(path, "NaN or infinite")


def test_too_short(tmp_path):
    path = _write(tmp_path / "short.wav", tone(0.02, 16_000), 16_000)
    message = _fails(path, "too short")
    assert "20 ms < 50 ms" in message
    # the same file passes with a lower minimum
    assert load_audio(path, min_duration_s=0.01).shape == (320,)


def test_missing_file(tmp_path):
    _fails(tmp_path / "nope.wav", "file not found")
    with pytest.raises(AudioError, match="nope.wav: file not found"):
        audio_info(tmp_path / "nope.wav")


def test_bad_sample_rate_is_a_config_error(tmp_path):
    path = _write(tmp_path / "x.wav", tone(0.1, 16_000), 16_000)
    with pytest.raises(ConfigError, match="sample_rate"):
        load_audio(path, sample_rate=0)
    assert load_audio(path, sample_rate=np.int64(8_000)).shape == (800,)
