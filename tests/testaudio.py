"""Tiny synthetic audio for tests: import with ``from testaudio import tone``."""

from __future__ import annotations

import numpy as np


def tone(seconds: float = 0.5, sr: int = 16_000, freq: float = 220.0, seed: int = 0) -> np.ndarray:
    """A harmonic tone with a little noise, float32 in [-1, 1]: speech-shaped enough for loaders."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    x = 0.3 * x / np.max(np.abs(x)) + 0.01 * rng.standard_normal(t.shape)
    return x.astype(np.float32)


def write_wav(path, seconds: float = 0.1, sr: int = 8_000, channels: int = 1):
    """A short 16-bit tone file at ``path`` (parent folders created); returns the path."""
    from pathlib import Path

    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = tone(seconds, sr)
    sf.write(str(path), data if channels == 1 else np.stack([data, data], axis=1), sr, subtype="PCM_16")
    return path
