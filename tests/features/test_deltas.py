"""add_deltas / delta_batch against librosa.feature.delta(mode="interp")."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from emoconv.errors import ConfigError
from emoconv.features import add_deltas
from emoconv.features.deltas import delta_batch


@pytest.mark.parametrize("width", [3, 5, 9])
@pytest.mark.parametrize("frames", [9, 10, 57])
def test_matches_librosa(width, frames):
    x = torch.from_numpy(np.random.default_rng(frames).standard_normal((frames, 6)).astype(np.float32))
    out = add_deltas(x, order=2, width=width)
    assert out.shape == (3, frames, 6)
    torch.testing.assert_close(out[0], x)
    for order in (1, 2):
        ref = librosa.feature.delta(x.numpy().T, width=width, order=order, mode="interp").T
        np.testing.assert_allclose(out[order].numpy(), ref, atol=1e-5)


def test_linear_and_quadratic_signals_have_exact_derivatives():
    t = torch.arange(30.0)
    x = torch.stack([3 * t, 0.5 * t**2], dim=1)  # (T, 2)
    out = add_deltas(x, order=2, width=9)
    torch.testing.assert_close(out[1, :, 0], torch.full((30,), 3.0))
    torch.testing.assert_close(out[2, :, 1], torch.full((30,), 1.0), atol=1e-4, rtol=0)
    # first derivative of t^2 / 2 is t in the interior
    torch.testing.assert_close(out[1, 4:-4, 1], t[4:-4], atol=1e-4, rtol=0)


def test_short_input_shrinks_the_window():
    x = torch.from_numpy(np.random.default_rng(0).standard_normal((6, 3)).astype(np.float32))
    out = add_deltas(x, order=1, width=9)  # librosa would raise; we use width 5
    ref = librosa.feature.delta(x.numpy().T, width=5, order=1, mode="interp").T
    np.testing.assert_allclose(out[1].numpy(), ref, atol=1e-5)
    assert torch.all(add_deltas(x[:2], order=2, width=9)[1:] == 0)


def test_batch_ignores_padding_frames():
    rng = np.random.default_rng(1)
    a = torch.from_numpy(rng.standard_normal((20, 4)).astype(np.float32))
    batch = torch.full((2, 30, 4), 1e6)  # garbage after each utterance's length
    batch[0, :20] = a
    batch[1, :12] = a[:12]
    out = delta_batch(batch, [20, 12], order=1, width=9)
    torch.testing.assert_close(out[0, :20], add_deltas(a, 1, 9)[1])
    torch.testing.assert_close(out[1, :12], add_deltas(a[:12], 1, 9)[1])


@pytest.mark.parametrize("kwargs, message", [
    ({"order": 3}, "order 3"),
    ({"order": 1, "width": 4}, "width 4"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        add_deltas(torch.zeros(10, 2), **kwargs)
    with pytest.raises(ConfigError, match=r"\(T, F\)"):
        add_deltas(torch.zeros(1, 10, 2), 1)
