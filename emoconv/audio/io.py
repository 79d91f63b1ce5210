"""Reading audio files into mono float32 at a target sample rate.

libsndfile (through soundfile) detects the container from the file header, not
the extension, so TESS's AIFF files named ``.wav`` load like any other file.
Resampling uses soxr (high quality).
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import AudioError, ConfigError

#: Extensions the corpus scanners treat as audio.
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".aif", ".aiff", ".aifc", ".oga", ".mp3"})


def load_audio(
    path: str | os.PathLike[str],
    sample_rate: int = 16_000,
    min_duration_s: float = 0.05,
) -> np.ndarray:
    """Load ``path`` as a mono float32 waveform of shape ``(N,)`` at ``sample_rate``.

    Any format, bit depth, rate and channel count that libsndfile reads is accepted;
    channels are averaged and the signal resampled with soxr. Raises
    :class:`~emoconv.errors.AudioError` naming the file for unreadable, empty,
    all-zero, NaN/inf or shorter-than-``min_duration_s`` audio, and
    :class:`~emoconv.errors.ConfigError` for a non-positive ``sample_rate``.
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, numbers.Integral) or sample_rate <= 0:
        raise ConfigError(f"sample_rate must be a positive integer in Hz, got {sample_rate!r}")
    p = _existing_file(path)
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile's errors are RuntimeError/LibsndfileError/TypeError
        raise AudioError(f"{p}: unreadable audio ({_reason(exc)}); re-export it as WAV or FLAC") from None
    if data.shape[0] == 0:
        raise AudioError(f"{p}: no audio samples (0 frames); remove the file or fix the export")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{p}: audio contains NaN or infinite samples; re-export the file")
    wav = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if sr != sample_rate:
        wav = soxr.resample(wav, sr, int(sample_rate), quality="HQ").astype(np.float32, copy=False)
    wav = np.ascontiguousarray(wav, dtype=np.float32)
    if not np.any(wav):
        raise AudioError(f"{p}: audio is all zeros (silent); remove the file from the corpus")
    duration = wav.shape[0] / sample_rate
    if duration < min_duration_s:
        raise AudioError(
            f"{p}: audio too short ({duration * 1000:.0f} ms < {min_duration_s * 1000:.0f} ms); "
            "remove it or lower the minimum duration"
        )
    return wav


def content_problem(path: str | os.PathLike[str], min_duration_s: float = 0.05) -> str | None:
    """Why ``path`` cannot be used as speech (unreadable, empty, NaN/inf, all zeros, shorter than
    ``min_duration_s``), decoded at its own rate; ``None`` when it is usable."""
    try:
        rate = int(audio_info(path).samplerate)
        load_audio(path, rate, min_duration_s)
    except (AudioError, ConfigError) as exc:
        text, prefix = str(exc), f"{Path(path)}: "
        return text[len(prefix):] if text.startswith(prefix) else text
    return None


def audio_info(path: str | os.PathLike[str]) -> sf._SoundFileInfo:
    """Header information (rate, channels, frames, format) without reading samples.

    Cheap (only the header is parsed), so corpus scans call it on every file. Raises
    :class:`~emoconv.errors.AudioError` naming the file when it is missing, empty
    (0 bytes) or not in a format libsndfile recognises.
    """
    p = _existing_file(path)
    try:
        return sf.info(str(p))
    except Exception as exc:
        raise AudioError(f"{p}: unreadable audio ({_reason(exc)}); re-export it as WAV or FLAC") from None


def _existing_file(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"{p}: file not found; check the path")
    if p.stat().st_size == 0:
        raise AudioError(f"{p}: empty file (0 bytes); remove it or copy it again")
    return p


def _reason(exc: Exception) -> str:
    """libsndfile's message without the repeated "Error opening '<path>': " prefix."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if text.startswith("Error opening") and "': " in text:
        text = text.split("': ", 1)[1]
    return text.rstrip(".") or type(exc).__name__
