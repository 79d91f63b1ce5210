"""The time-only bilinear resize used by the MTS branches (emoconv.layers.mts_fast.resize_bilinear)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from emoconv.layers.mts_fast import _TimeResize, resize_bilinear


def _reference(y: torch.Tensor, out_hw) -> torch.Tensor:
    return F.interpolate(y, size=out_hw, mode="bilinear", align_corners=False)


@pytest.mark.parametrize("shape,t_out", [((2, 3, 17, 5), 23), ((2, 3, 17, 5), 9), ((1, 4, 146, 81), 150),
                                         ((3, 2, 6, 1), 6), ((1, 1, 1, 7), 4)])
def test_values_and_gradient_equal_interpolate(shape, t_out):
    torch.manual_seed(0)
    y = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    out_hw = (t_out, shape[-1])
    out = resize_bilinear(y, out_hw)
    assert out.shape == (*shape[:2], *out_hw) and out.is_contiguous()
    torch.testing.assert_close(out, _reference(y, out_hw), rtol=1e-12, atol=1e-12)
    g = torch.randn(out.shape, dtype=torch.float64)
    (gy,) = torch.autograd.grad(out, y, g)
    (gr,) = torch.autograd.grad(_reference(y, out_hw), y, g)
    torch.testing.assert_close(gy, gr, rtol=1e-12, atol=1e-12)
    if y.numel() < 1000:
        assert torch.autograd.gradcheck(lambda v: resize_bilinear(v, out_hw), (y,))


def test_float32_within_rounding_and_takes_the_fast_path(monkeypatch):
    calls, apply = [], _TimeResize.apply
    monkeypatch.setattr(_TimeResize, "apply", lambda *a: calls.append(1) or apply(*a))
    y = torch.randn(4, 16, 146, 81)
    torch.testing.assert_close(resize_bilinear(y, (150, 81)), _reference(y, (150, 81)), rtol=1e-6, atol=1e-6)
    assert calls == [1]


def test_non_contiguous_input_and_frequency_resize_fall_back_correctly():
    y = torch.randn(2, 5, 9, 12).transpose(2, 3)  # (2, 5, 12, 9), not contiguous
    torch.testing.assert_close(resize_bilinear(y, (20, 9)), _reference(y, (20, 9)))
    z = torch.randn(2, 3, 10, 8)  # frequency changes too: plain F.interpolate
    assert torch.equal(resize_bilinear(z, (12, 5)), _reference(z, (12, 5)))
