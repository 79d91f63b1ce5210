"""Length bucketing and zero padding with lengths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emoconv.errors import ConfigError
from emoconv.training.batching import bucket_batches, pad_batch


def test_every_index_once_and_buckets_are_length_sorted():
    rng = np.random.default_rng(0)
    lengths = rng.integers(120, 900, size=535).tolist()
    batches = bucket_batches(lengths, 32, shuffle=True, seed=3)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(535))
    assert len(batches) == 17 and sorted(len(b) for b in batches)[1:] == [32] * 16
    # buckets are contiguous runs of the sorted lengths: their ranges do not overlap
    spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in batches)
    assert all(hi <= nxt_lo for (_, hi), (nxt_lo, _) in zip(spans, spans[1:]))
    padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
    assert padded < 1.05 * sum(lengths)  # little padding, unlike 535 * max(lengths)


def test_deterministic_by_seed_and_unshuffled_order():
    lengths = [5, 3, 9, 1, 7, 2, 8, 4]
    assert bucket_batches(lengths, 3, seed=1) == bucket_batches(lengths, 3, seed=1)
    orders = {tuple(map(tuple, bucket_batches(lengths, 2, seed=s))) for s in range(10)}
    assert len(orders) > 1
    assert bucket_batches(lengths, 3, shuffle=False) == [[3, 5, 1], [7, 0, 4], [6, 2]]
    with pytest.raises(ConfigError, match="batch_size"):
        bucket_batches(lengths, 0)


def test_pad_batch_shapes_zeros_and_lengths():
    a, b = torch.randn(3, 4, 40), torch.randn(3, 9, 40)
    x, lengths = pad_batch([a, b])
    assert x.shape == (2, 3, 9, 40) and lengths.dtype == torch.long and lengths.tolist() == [4, 9]
    torch.testing.assert_close(x[0, :, :4], a)
    torch.testing.assert_close(x[1], b)
    assert x[0, :, 4:].abs().sum() == 0


def test_pad_batch_rejects_mismatched_or_empty():
    with pytest.raises(ConfigError, match="example 1"):
        pad_batch([torch.randn(3, 4, 40), torch.randn(3, 4, 39)])
    with pytest.raises(ConfigError, match="empty"):
        pad_batch([])
    with pytest.raises(ConfigError, match=r"\(C, T, F\)"):
        pad_batch([torch.randn(4, 40)])
