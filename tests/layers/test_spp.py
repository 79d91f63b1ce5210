"""Spatial pyramid pooling: fixed output size, tiny inputs, padding invariance; global max pooling."""

from __future__ import annotations

import math

import pytest
import torch

from emoconv.errors import ConfigError
from emoconv.layers.spp import GlobalMaxPool, SpatialPyramidPool


def _reference(x: torch.Tensor, n_t: int, n_f: int) -> torch.Tensor:
    """Loop version of adaptive max bins: bin i of n over L spans [floor(iL/n), ceil((i+1)L/n))."""
    _, t, f = x.shape
    out = torch.empty(x.shape[0], n_t, n_f)
    for i in range(n_t):
        for j in range(n_f):
            t0, t1 = (i * t) // n_t, math.ceil((i + 1) * t / n_t)
            f0, f1 = (j * f) // n_f, math.ceil((j + 1) * f / n_f)
            out[:, i, j] = x[:, t0:t1, f0:f1].amax(dim=(1, 2))
    return out.flatten(1).T  # (n_t * n_f, C)


@pytest.mark.parametrize("levels,n", [((1, 5, 10), 126), ((1,), 1), ((1, 2, 5, 10), 130), ((1, 2, 5, 8, 10), 194)])
def test_output_size_independent_of_length(levels, n):
    spp = SpatialPyramidPool(levels)
    assert spp.n_bins == n
    for t in (1, 3, 9, 10, 57, 400):
        assert spp(torch.randn(2, 4, t, 20)).shape == (2, n, 4)


def test_values_match_reference_for_tiny_input():
    torch.manual_seed(0)
    x = torch.randn(1, 3, 3, 7)  # 3 frames: smaller than the 5 and 10 grids
    out = SpatialPyramidPool((1, 5, 10))(x)[0]
    torch.testing.assert_close(out[0], x[0].amax(dim=(1, 2)))
    torch.testing.assert_close(out[1:26], _reference(x[0], 5, 5))
    torch.testing.assert_close(out[26:], _reference(x[0], 10, 10))


def test_single_frame_single_bin():
    x = torch.randn(1, 2, 1, 1)
    out = SpatialPyramidPool((1, 5, 10))(x)
    torch.testing.assert_close(out, x.flatten(1)[:, None, :].expand(1, 126, 2))


def test_lengths_exclude_padding():
    torch.manual_seed(1)
    a, b = torch.randn(4, 12, 20), torch.randn(4, 5, 20)
    x = torch.full((2, 4, 12, 20), 1e6)
    x[0], x[1, :, :5] = a, b
    spp = SpatialPyramidPool((1, 5, 10))
    out = spp(x, torch.tensor([12, 5]))
    torch.testing.assert_close(out[0], spp(a[None])[0])
    torch.testing.assert_close(out[1], spp(b[None])[0])
    assert out.max() < 1e6


def test_freq_and_time_axes():
    x = torch.randn(2, 3, 8, 20)
    freq = SpatialPyramidPool((1, 5), axes="freq")
    assert freq.n_bins == 6
    out = freq(x)
    torch.testing.assert_close(out[:, 1], x[..., :4].amax(dim=(2, 3)))
    assert SpatialPyramidPool((2,), axes="time")(x).shape == (2, 2, 3)


def test_bad_settings():
    with pytest.raises(ConfigError, match="spp_levels"):
        SpatialPyramidPool((1, 0))
    with pytest.raises(ConfigError, match="axes"):
        SpatialPyramidPool((1,), axes="diag")
    with pytest.raises(ConfigError, match=r"\(B, C, T, F\)"):
        SpatialPyramidPool()(torch.randn(3, 4, 5))


def test_global_max_pool_masks_padding():
    x = torch.randn(2, 3, 6, 4) - 10.0  # all negative: zero padding would win without -inf masking
    x[1, :, 2:] = 0.0
    out = GlobalMaxPool()(x, torch.tensor([6, 2]))
    assert out.shape == (2, 1, 3)
    torch.testing.assert_close(out[1, 0], x[1, :, :2].amax(dim=(1, 2)))
    torch.testing.assert_close(GlobalMaxPool()(x)[0], out[0])
