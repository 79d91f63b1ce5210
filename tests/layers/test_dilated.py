"""MDCB structure, the dilation schedule, and receptive fields (analytic and by impulse response)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from emoconv.errors import ConfigError
from emoconv.layers.dilated import (
    MDCB, ConvBody, FactorisedBranch, body_dilations, body_receptive_field, mdcb_dilations, receptive_field,
)


def test_schedule_by_block_index():
    # the paper: block 3i+1 -> (1, 2), 3i+2 -> (2,), 3i+3 -> (3, 2)
    for i in range(4):
        assert mdcb_dilations(3 * i + 1) == (1, 2)
        assert mdcb_dilations(3 * i + 2) == (2,)
        assert mdcb_dilations(3 * i + 3) == (3, 2)
    with pytest.raises(ConfigError, match="1-based"):
        mdcb_dilations(0)


def test_block_structure_factorised_with_leaky_relu_after_every_conv():
    body = ConvBody("multidilated", in_channels=4, channels=6, n_blocks=7)
    assert len(body.blocks) == 7
    assert [b.dilations for b in body.blocks] == [(1, 2), (2,), (3, 2), (1, 2), (2,), (3, 2), (1, 2)]
    for blk in body.blocks:
        assert len(blk.branches) == len(blk.dilations)
        for branch, d in zip(blk.branches, blk.dilations):
            assert isinstance(branch, FactorisedBranch)
            assert branch.time.conv.kernel_size == (5, 1) and branch.time.conv.dilation == (d, 1)
            assert branch.freq.conv.kernel_size == (1, 3) and branch.freq.conv.dilation == (1, d)
            assert isinstance(branch.time.act, nn.LeakyReLU) and isinstance(branch.freq.act, nn.LeakyReLU)
            assert branch.freq.conv.out_channels == 6
    assert body.blocks[0].branches[0].time.conv.in_channels == 4


def test_comparison_bodies():
    plain = ConvBody("plain", 3, 5, n_blocks=7)
    assert [b.layer.conv.kernel_size for b in plain.blocks] == [(5, 3)] * 7
    ff = ConvBody("ff", 3, 5)
    assert all(b.dilations == (1,) for b in ff.blocks)
    d2 = ConvBody("dilated2", 3, 5)
    assert all(b.dilations == (2,) for b in d2.blocks)
    assert body_dilations("dilated2", 3) == [(2,)] * 3
    with pytest.raises(ConfigError, match="unknown body"):
        ConvBody("resnet", 3, 5)


def test_sum_and_concat_merge_shapes_and_values():
    x = torch.randn(2, 3, 13, 20)
    blk = MDCB(3, 5, (1, 2), merge="sum")
    expected = blk.branches[0](x) + blk.branches[1](x)
    torch.testing.assert_close(blk(x), expected)
    cat = MDCB(3, 5, (3, 2), merge="concat")
    assert cat.mix.conv.in_channels == 10 and cat(x).shape == (2, 5, 13, 20)
    with pytest.raises(ConfigError, match="merge"):
        MDCB(3, 5, merge="mean")


def test_padded_frames_are_zeroed():
    blk = MDCB(2, 3, (3, 2))
    out = blk(torch.randn(2, 2, 10, 8), torch.tensor([10, 4]))
    assert out[1, :, 4:].abs().max() == 0
    assert out[1, :, :4].abs().max() > 0


def test_receptive_field_formula():
    # Eq. 7 and the paper's remark: dilations (1, 2, 3) and (2, 2, 2) have the same RF
    assert receptive_field(5, [1, 2, 3]) == receptive_field(5, [2, 2, 2]) == 25
    assert body_receptive_field("ff") == (29, 15)
    assert body_receptive_field("dilated2") == (57, 29)
    # widest branches 2,2,3,2,2,3,2 -> sum 16
    assert body_receptive_field("multidilated") == (65, 33)


def _impulse_offsets(body: str) -> tuple[np.ndarray, np.ndarray]:
    """Time and frequency offsets of the input that reach the centre output (support of the gradient)."""
    torch.manual_seed(0)
    net = ConvBody(body, in_channels=2, channels=2, n_blocks=7).double()
    t, f = 161, 81
    x = torch.randn(1, 2, t, f, dtype=torch.float64, requires_grad=True)
    net(x)[0, :, t // 2, f // 2].sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))
    return np.flatnonzero(g.sum(1) > 0) - t // 2, np.flatnonzero(g.sum(0) > 0) - f // 2


def _reachable(body: str, half_kernel: int) -> set[int]:
    """Offsets reachable by summing one tap offset k * d (|k| <= half_kernel) of one branch per block."""
    reach = {0}
    for dils in body_dilations(body):
        taps = {k * d for d in dils for k in range(-half_kernel, half_kernel + 1)}
        reach = {r + o for r in reach for o in taps}
    return reach


@pytest.mark.parametrize("body", ["plain", "ff", "dilated2", "multidilated"])
def test_receptive_field_by_impulse_response(body):
    rf_t, rf_f = body_receptive_field(body)
    ot, of = _impulse_offsets(body)
    assert ot.min() == -(rf_t // 2) and ot.max() == rf_t // 2
    assert of.min() == -(rf_f // 2) and of.max() == rf_f // 2
    assert set(ot.tolist()) == _reachable(body, 2) and set(of.tolist()) == _reachable(body, 1)
    if body == "dilated2":
        # gridding: a fixed dilation of 2 only ever reaches even offsets (half the field is never seen)
        assert np.all(ot % 2 == 0) and np.all(of % 2 == 0)
    elif body == "multidilated":
        # no gridding: every offset is covered except the two outermost odd frames (+-31 of +-32)
        assert sorted(set(range(-32, 33)) - set(ot.tolist())) == [-31, 31]
        assert len(of) == rf_f
    else:
        assert len(ot) == rf_t and len(of) == rf_f
