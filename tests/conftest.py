"""Shared test helpers: tiny synthetic audio and the optional real corpora."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(1)

SHARED_CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def tone(seconds: float = 0.5, sr: int = 16_000, freq: float = 220.0, seed: int = 0) -> np.ndarray:
    """A harmonic tone with a little noise, float32 in [-1, 1]: speech-shaped enough for loaders."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    x = 0.3 * x / np.max(np.abs(x)) + 0.01 * rng.standard_normal(t.shape)
    return x.astype(np.float32)


@pytest.fixture
def shared_corpora() -> Path:
    """Path of ../shared/corpora; skips the test when the folder is absent."""
    if not SHARED_CORPORA.is_dir():
        pytest.skip("../shared/corpora is absent")
    return SHARED_CORPORA
