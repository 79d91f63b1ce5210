"""Reading audio files into mono float32 at a target sample rate.

libsndfile (through soundfile) detects the container from the file header, not
the extension, so TESS's AIFF files named ``.wav`` load like any other file.
Resampling uses soxr (high quality).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ..errors import AudioError

#: Extensions the corpus scanners treat as audio.
AUDIO_EXTENSIONS = frozenset({".wav", ".flac", ".ogg", ".aif", ".aiff", ".aifc", ".oga"})


def load_audio(
    path: str | os.PathLike[str],
    sample_rate: int = 16_000,
    min_duration_s: float = 0.05,
) -> np.ndarray:
    """Load ``path`` as a mono float32 waveform of shape ``(N,)`` at ``sample_rate``.

    Any format, bit depth, rate and channel count that libsndfile reads is accepted;
    channels are averaged and the signal resampled with soxr. Raises
    :class:`~emoconv.errors.AudioError` naming the file for unreadable, empty,
    all-zero, NaN/inf or shorter-than-``min_duration_s`` audio.
    """
    p = Path(path)
    if not p.is_file():
        raise AudioError(f"{p}: file not found; check the path")
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile's errors are RuntimeError/LibsndfileError/TypeError
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AudioError(f"{p}: unreadable audio ({reason}); re-export it as WAV or FLAC") from None
    if data.shape[0] == 0:
        raise AudioError(f"{p}: no audio samples (0 frames); remove the file or fix the export")
    if not np.all(np.isfinite(data)):
        raise AudioError(f"{p}: audio contains NaN or infinite samples; re-export the file")
    wav = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if sr != sample_rate:
        wav = soxr.resample(wav, sr, sample_rate, quality="HQ").astype(np.float32, copy=False)
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


def audio_info(path: str | os.PathLike[str]) -> sf._SoundFileInfo:
    """Header information (rate, channels, frames, format) without reading samples."""
    try:
        return sf.info(str(path))
    except Exception as exc:
        raise AudioError(f"{path}: unreadable audio ({exc}); re-export it as WAV or FLAC") from None
