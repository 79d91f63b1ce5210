"""Variable-length batching: length buckets and zero padding with lengths.

Utterances keep their own length (no segmenting, no padding to a corpus-wide maximum). Sorting by length
and cutting the sorted list into batches keeps padding inside a batch small; the order of the batches is
shuffled with a seeded generator so training stays deterministic. Models that accept ``lengths`` mask the
padded frames (see :mod:`emoconv.models.mdcnn`), so padding never changes a result.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence

from ..errors import ConfigError


def bucket_batches(lengths: Sequence[int], batch_size: int, shuffle: bool = True, seed: int = 0) -> list[list[int]]:
    """Indices grouped into batches of similar length.

    Indices are sorted by length (ties broken by a seeded shuffle when ``shuffle``, else by index), cut into
    consecutive batches of ``batch_size`` (the last may be smaller), and the batch order is shuffled with
    ``seed`` when ``shuffle``. Every index appears exactly once.

    >>> bucket_batches([5, 1, 3, 2], 2, shuffle=False)
    [[1, 3], [2, 0]]
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    lens = np.asarray(lengths, dtype=np.int64)
    rng = np.random.default_rng(seed)
    tie = rng.permutation(len(lens)) if shuffle else np.arange(len(lens))
    order = np.lexsort((tie, lens))
    batches = [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def pad_batch(items: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad ``(C, T_i, F)`` tensors along time into ``x (B, C, T_max, F)`` and ``lengths (B,)`` (int64).

    >>> x, n = pad_batch([torch.ones(3, 2, 4), torch.ones(3, 5, 4)])
    >>> tuple(x.shape), n.tolist(), float(x[0, :, 2:].abs().sum())
    ((2, 3, 5, 4), [2, 5], 0.0)
    """
    if not items:
        raise ConfigError("pad_batch: got an empty list of examples; pass at least one (C, T, F) tensor")
    c, _, f = _shape(items[0], 0)
    for i, t in enumerate(items):
        ci, ti, fi = _shape(t, i)
        if (ci, fi) != (c, f) or ti < 1:
            raise ConfigError(
                f"pad_batch: example {i} has shape {tuple(t.shape)}, expected ({c}, T>=1, {f}); "
                "extract every example with the same feature settings"
            )
    lengths = torch.tensor([int(t.shape[1]) for t in items], dtype=torch.long)
    x = pad_sequence([t.transpose(0, 1) for t in items], batch_first=True)  # (B, T_max, C, F)
    return x.transpose(1, 2).contiguous(), lengths


def _shape(t: torch.Tensor, i: int) -> tuple[int, int, int]:
    if t.dim() != 3:
        raise ConfigError(f"pad_batch: example {i} has shape {tuple(t.shape)}; expected (C, T, F)")
    return int(t.shape[0]), int(t.shape[1]), int(t.shape[2])
