"""The fused MTS forward/backward (emoconv.layers.mts_fast) against the plain per-branch graph."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from mts_oracle import oracle_kernel as _oracle_kernel

from emoconv.layers.mts import MTSConv2d, resample_kernel
from emoconv.layers.mts_stats import mts_usage, track_mts_usage


# ------------------------------------------------------------------ fused path (emoconv.layers.mts_fast)
def _slow_reference(layer: MTSConv2d, x: torch.Tensor) -> torch.Tensor:
    """The previous implementation's graph, written out: one conv per branch (stretched kernel), each output
    resampled to the unscaled shape, ``torch.stack(...).max(0)`` with the unscaled branch first, bias after."""
    xp = F.pad(x, layer._reversed_padding_repeated_twice, mode=layer.padding_mode) \
        if layer.padding_mode != "zeros" else x
    pad = (0, 0) if layer.padding_mode != "zeros" else layer.padding
    conv = lambda w: F.conv2d(xp, w, None, layer.stride, pad, layer.dilation, layer.groups)  # noqa: E731
    y1 = conv(layer.weight)
    maps = [y1] + [F.interpolate(conv(_oracle_kernel(layer, s)),
                                 size=y1.shape[-2:], mode="bilinear", align_corners=False)
                   for s in layer.scales if s != 1.0]
    return torch.stack(maps).max(0).values + layer.bias.view(1, -1, 1, 1)


_FUSED_CASES = [
    ((0.5, 1, 2), {}), ((0.25, 0.5, 1, 2, 4), {"padding": (4, 2)}), ((2, 1, 0.7), {"stride": 2, "dilation": (2, 1)}),
    ((0.8, 0.9, 1, 1.111, 1.25), {"groups": 2}), ((0.5, 1, 2), {"padding": 2, "padding_mode": "reflect"}),
    ((0.5, 1, 1.428), {"scale_freq": True, "stride": (1, 2), "padding": 1}),
    # one input channel, as in the models' first layer
    ((0.5, 1, 2), {"in_channels": 1}), ((2, 0.5, 1), {"in_channels": 1, "stride": 2, "dilation": (2, 1), "padding": 3}),
]


@pytest.mark.parametrize("kernel_norm", ["none", "sum"])
@pytest.mark.parametrize("waste", [0.0, 3.0])  # 3.0: branches share grouped (zero-padded) conv calls
@pytest.mark.parametrize("scales,kw", _FUSED_CASES)
def test_fused_path_equals_slow_reference(scales, kw, waste, kernel_norm, monkeypatch):
    """Outputs and the gradients of weight, bias and input agree with the stack+max graph within 1e-5."""
    import emoconv.layers.mts_fast as mts_fast
    monkeypatch.setattr(mts_fast, "GROUP_WASTE", waste)
    calls, apply = [], mts_fast.MTSMerge.apply
    monkeypatch.setattr(mts_fast.MTSMerge, "apply", lambda *a: calls.append(1) or apply(*a))
    torch.manual_seed(11)
    kw = dict(kw)
    c_in = kw.pop("in_channels", 4)
    layer = MTSConv2d(c_in, 6, (10, 5), scales=scales, kernel_norm=kernel_norm, **kw)
    x = torch.randn(2, c_in, 50, 14, requires_grad=True)
    grads = []
    for fn in (layer, lambda t: _slow_reference(layer, t)):
        layer.zero_grad()
        x.grad = None
        out = fn(x)
        g_out = torch.randn(out.shape, generator=torch.Generator().manual_seed(12))
        (out * g_out).sum().backward()
        grads.append((out.detach(), layer.weight.grad.clone(), layer.bias.grad.clone(), x.grad.clone()))
    assert calls  # the fused path ran
    tol = 1e-5 if kernel_norm == "none" else 1e-4  # scaled kernels: float32 sums in another order
    for fast, slow in zip(*grads):
        torch.testing.assert_close(fast, slow, rtol=tol, atol=tol)
    with torch.no_grad():  # the inference branch (no winner index kept) gives the same values
        torch.testing.assert_close(layer(x), grads[1][0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("strategy", ["input", "auto"])
def test_fused_path_equals_plain_graph_with_input_branches_usage_and_concat(strategy):
    """Input-compressed branches, usage counts and the concat channel match the unfused graph."""
    torch.manual_seed(13)
    x = torch.randn(2, 2, 80, 9, requires_grad=True)
    results = []
    for fused in (True, False):
        layer = MTSConv2d(2, 3, (6, 3), scales=(0.5, 1, 2, 4), strategy=strategy, concat_scale=True)
        torch.manual_seed(14)
        layer.reset_parameters()
        layer.fused = fused
        layer.track_usage(True)
        x.grad = None
        out = layer(x)
        (out * torch.cos(out)).sum().backward()
        results.append((out.detach(), layer.weight.grad, x.grad.clone(), layer.usage()))
    for a, b in zip(results[0][:3], results[1][:3]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert results[0][3] == results[1][3] and sum(v > 0 for v in results[0][3].values()) >= 2


def test_fused_ties_go_to_unscaled_branch_and_gradient_to_winner_only():
    layer = MTSConv2d(1, 2, (4, 3), scales=(0.5, 1, 2))
    layer.track_usage(True)
    x = torch.zeros(1, 1, 20, 6, requires_grad=True)
    layer(x).sum().backward()
    assert layer.usage() == {0.5: 0.0, 1.0: 1.0, 2.0: 0.0}
    assert torch.count_nonzero(layer.weight.grad) == 0  # zero input: the unscaled kernel's gradient is 0
    torch.testing.assert_close(layer.bias.grad, torch.full((2,), 17.0 * 4))


def test_plan_groups():
    from emoconv.layers.mts_fast import plan_groups
    assert plan_groups([10, 5, 20], [5, 5, 5], 1, waste=0.0) == [[2], [0], [1]]
    assert plan_groups([10, 5, 20], [5, 5, 5], 1, waste=1.75) == [[2, 0, 1]]  # 3*20 <= 1.75*35
    assert plan_groups([10, 5, 20], [5, 5, 5], 1, waste=1.5) == [[2, 0], [1]]
    assert plan_groups([10, 10, 5], [5, 5, 5], 1, waste=1.0) == [[0, 1], [2]]  # equal lengths: no waste
    assert plan_groups([10, 20], [5, 10], 1, waste=9.0) == [[0], [1]]  # different widths never share
    assert plan_groups([10, 20], [5, 5], 2, waste=9.0) == [[0], [1]]  # grouped convs never share


def test_branches_whose_kernel_is_an_exact_copy_are_warned_about_and_counted():
    """floor(k*s) == k: PyTorch returns the kernel unchanged, so the branch duplicates the unscaled one."""
    w = torch.randn(2, 1, 10, 5)
    assert torch.equal(resample_kernel(w, 1.053), w)
    with pytest.warns(UserWarning, match=r"1\.053 .*exact copy.*effective branches: 4 of 5"):
        layer = MTSConv2d(1, 2, (10, 5), scales=(0.5, 0.95, 1, 1.053, 2))
    assert layer.copy_scales == (1.053,) and layer.effective_branches == 4
    with pytest.warns(UserWarning, match="effective branches: 1 of 3"):
        small = MTSConv2d(1, 2, 3, scales=(1.111, 1, 1.25))
    assert small.copy_scales == (1.111, 1.25)
    track_mts_usage(small)
    small(torch.randn(2, 1, 20, 8))
    assert mts_usage(small)[1.0] == 1.0  # the copies never win (ties go to the unscaled branch)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert MTSConv2d(1, 2, (10, 5), scales=(0.5, 1, 2)).effective_branches == 3
        # compressing the input for s > 1 is not a copy
        assert MTSConv2d(1, 2, (10, 5), scales=(1, 1.053), strategy="input").copy_scales == ()
