"""Features of audio files, through the cache.

:func:`extract_features` looks every file up in a :class:`FeatureCache`, loads the
missing ones with :func:`emoconv.audio.load_audio` (resampled to the config's
rate, too-short/silent/broken files rejected with an :class:`AudioError` naming
the file), computes them in torch batches and stores them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor
from tqdm import tqdm

from ..audio.io import load_audio
from .cache import FeatureCache
from .config import FeatureConfig
from .spectral import compute_features


def extract_features(
    cfg: FeatureConfig,
    paths: Sequence[str | os.PathLike[str]],
    cache: FeatureCache | None = None,
    progress: bool = False,
    *,
    batch_files: int = 64,
    device: str | torch.device = "cpu",
) -> list[Tensor]:
    """Features of each file in ``paths``: a list of float32 ``(C, T, F)`` tensors in order.

    Args:
        cfg: feature settings (part of the cache key).
        paths: audio files in any format libsndfile reads.
        cache: where to read/write features; ``None`` computes everything afresh.
        progress: show a tqdm bar over files.
        batch_files: files loaded and computed together (bounds memory).
        device: where features are computed (see :func:`compute_features`).

    Raises:
        AudioError: a file is missing, unreadable, silent, non-finite or too short.
    """
    paths = [Path(p) for p in paths]
    out: list[Tensor | None] = [None] * len(paths)
    keys: list[str | None] = [None] * len(paths)
    todo: list[int] = []
    bar = tqdm(total=len(paths), desc="features", unit="file", disable=not progress)
    try:
        for i, p in enumerate(paths):
            if cache is not None:
                keys[i] = cache.key(cfg, p)
                out[i] = cache.get(cfg, p, key=keys[i])
            if out[i] is None:
                todo.append(i)
            else:
                bar.update(1)
        for start in range(0, len(todo), max(1, batch_files)):
            chunk = todo[start : start + max(1, batch_files)]
            waves = [load_audio(paths[i], cfg.sample_rate, cfg.min_duration_s) for i in chunk]
            for i, feats in zip(chunk, compute_features(cfg, waves, device=device)):
                if cache is not None:
                    cache.put(cfg, paths[i], feats, key=keys[i])
                out[i] = feats
            bar.update(len(chunk))
    finally:
        bar.close()
    return out  # type: ignore[return-value]
