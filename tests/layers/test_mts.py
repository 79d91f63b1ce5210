"""Tests of the MTS convolution layer (emoconv.layers.mts)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from mts_oracle import oracle_kernel as _oracle_kernel
from mts_oracle import smooth as _smooth
from torch import nn

from emoconv.errors import ConfigError
from emoconv.layers.mts import PAPER_SCALE_SETS, MTSConv2d, resample_kernel
from emoconv.layers.mts_stats import average_reference_kernels, mts_usage, penalty_loss, track_mts_usage


def _n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters() if p.requires_grad)



def test_paper_scale_sets():
    assert len(PAPER_SCALE_SETS) == 11
    assert PAPER_SCALE_SETS[1] == (0.5, 1.0, 2.0) and PAPER_SCALE_SETS[-1][-1] == 1.428
    assert [len(s) for s in PAPER_SCALE_SETS] == [3] * 6 + [5] * 3 + [7] * 2


@pytest.mark.parametrize("kw", [{}, {"bias": False}, {"groups": 2, "stride": (1, 2), "padding": 3}])
def test_parameter_count_equals_conv2d(kw):
    ref = nn.Conv2d(4, 6, (10, 5), **kw)
    m = MTSConv2d(4, 6, (10, 5), scales=(0.25, 0.5, 1, 2, 4), **kw)
    assert _n_params(m) == _n_params(ref)
    assert [n for n, _ in m.named_parameters()] == [n for n, _ in ref.named_parameters()]


@pytest.mark.parametrize("kw", [{}, {"padding": (4, 2)}, {"stride": 2, "dilation": (2, 1)},
                                {"padding": "same"}, {"padding": 2, "padding_mode": "reflect"}, {"groups": 2}])
def test_scale_one_equals_conv2d(kw):
    torch.manual_seed(0)
    ref = nn.Conv2d(4, 6, (10, 5), **kw)
    m = MTSConv2d(4, 6, (10, 5), scales=(1,), **kw)
    m.load_state_dict(ref.state_dict())
    x = torch.randn(2, 4, 30, 12)
    torch.testing.assert_close(m(x), ref(x), rtol=0, atol=0)


def test_resample_kernel_lengths_and_identity():
    w = torch.randn(3, 2, 10, 5)
    assert resample_kernel(w, 1.0) is w
    lengths = {s: resample_kernel(w, s).shape[-2] for s in (0.25, 0.5, 0.7, 2, 4, 1.428)}
    assert lengths == {0.25: 2, 0.5: 5, 0.7: 7, 2: 20, 4: 40, 1.428: 14}
    assert resample_kernel(w, 2.0).shape[-1] == 5 and resample_kernel(w, 2.0, 2.0).shape[-1] == 10
    const = torch.ones(1, 1, 10, 5)
    torch.testing.assert_close(resample_kernel(const, 2.0), torch.ones(1, 1, 20, 5))



def test_default_amplitude_rule_is_sum_in_shared_mode_and_published_in_reference_mode():
    assert MTSConv2d(1, 1, 3).kernel_norm == "sum"
    assert MTSConv2d(1, 1, 3, mode="reference").kernel_norm == "none"
    assert MTSConv2d(1, 1, 3, kernel_norm="none").kernel_norm == "none"


def _manual_mts(layer: MTSConv2d, x: torch.Tensor) -> torch.Tensor:
    """Straightforward MTS forward (stack + max) used as the oracle."""
    y1 = F.conv2d(x, layer.weight, None, layer.stride, layer.padding)
    maps = [y1 if s == 1 else F.interpolate(F.conv2d(x, _oracle_kernel(layer, s), None, layer.stride,
                                                     layer.padding), size=y1.shape[-2:], mode="bilinear",
                                            align_corners=False) for s in layer.scales]
    return torch.stack(maps).amax(0) + layer.bias.view(1, -1, 1, 1)


@pytest.mark.parametrize("kernel_norm", ["none", "sum", "l2"])
def test_forward_and_gradient_match_oracle(kernel_norm):
    torch.manual_seed(1)
    layer = MTSConv2d(2, 3, (6, 3), scales=(0.5, 1, 2), padding=(2, 1), kernel_norm=kernel_norm)
    x = torch.randn(2, 2, 40, 9)
    out = layer(x)
    (g_layer,) = torch.autograd.grad((out * torch.cos(out)).sum(), layer.weight)
    ref = _manual_mts(layer, x)
    torch.testing.assert_close(out, ref)
    with torch.no_grad():  # the inference fast path gives the same values
        torch.testing.assert_close(layer(x), ref)
    (g_ref,) = torch.autograd.grad((ref * torch.cos(ref)).sum(), layer.weight)
    torch.testing.assert_close(g_layer, g_ref)


def test_stretched_branch_gradient_reaches_shared_weight():
    """A positive kernel on a positive input: the 2x branch (twice the taps) wins everywhere, so every
    gradient of the output must come through the stretched kernel. Detached copies (reference mode) give 0."""
    x = torch.rand(2, 1, 40, 8) + 0.5
    grads = {}
    for mode in ("shared", "reference"):
        layer = MTSConv2d(1, 1, (4, 3), scales=(1, 2), mode=mode, kernel_norm="none")
        with torch.no_grad():
            layer.weight.fill_(0.1)
            layer.bias.zero_()
        layer.track_usage(True)
        layer(x).sum().backward()
        assert layer.usage() == {1.0: 0.0, 2.0: 1.0}
        grads[mode] = layer.weight.grad.clone()
    assert grads["shared"].abs().min() > 0
    assert torch.count_nonzero(grads["reference"]) == 0


@pytest.mark.parametrize("scales", PAPER_SCALE_SETS)
@pytest.mark.parametrize("kernel", [(10, 5), (3, 3), (4, 2), (1, 1)])
def test_output_shape_matches_conv2d(scales, kernel):
    x = torch.randn(1, 2, 24, 10)
    for kw in ({}, {"padding": 1, "stride": (2, 1)}):
        ref = nn.Conv2d(2, 3, kernel, **kw)(x)
        assert MTSConv2d(2, 3, kernel, scales=scales, **kw)(x).shape == ref.shape


def test_small_input_with_long_stretched_kernel():
    layer = MTSConv2d(1, 2, (3, 3), scales=(1, 4), padding=1)
    assert layer(torch.randn(1, 1, 4, 4)).shape == (1, 2, 4, 4)


def test_usage_sums_to_one_and_accumulates_over_batches():
    torch.manual_seed(2)
    layer = MTSConv2d(1, 4, (6, 3), scales=(0.5, 0.7, 1, 1.428, 2)).eval()
    xs = [torch.randn(3, 1, 30, 9), torch.randn(1, 1, 30, 9)]
    per_batch = []
    for x in xs:
        layer.track_usage(True)
        layer(x)
        per_batch.append(layer.usage())
    layer.track_usage(True)
    for x in xs:
        layer(x)
    total = layer.usage()
    assert math.isclose(sum(total.values()), 1.0, rel_tol=1e-9)
    assert sum(v > 0 for v in total.values()) >= 2
    for s in layer.scales:  # weighted by the batches' sizes (3 : 1), not just the last batch
        assert math.isclose(total[s], 0.75 * per_batch[0][s] + 0.25 * per_batch[1][s], abs_tol=1e-9)
    layer.track_usage(False)
    layer(xs[0])
    assert layer.usage() == total


def test_ties_go_to_unscaled_branch():
    layer = MTSConv2d(1, 2, (4, 3), scales=(0.5, 1, 2))
    layer.track_usage(True)
    layer(torch.zeros(1, 1, 20, 6))
    assert layer.usage() == {0.5: 0.0, 1.0: 1.0, 2.0: 0.0}


def test_strategies_agree_on_smooth_input():
    """'input' (compress x by 1/s, original kernel) vs 'kernel' (stretched kernel): equal up to
    interpolation; on inputs and kernels smooth along time the relative L2 difference stays below 10%."""
    torch.manual_seed(3)
    x = _smooth((2, 2, 160, 12))
    k = MTSConv2d(2, 3, (10, 5), scales=(0.5, 1, 2, 4))
    with torch.no_grad():
        k.weight.copy_(_smooth((3, 2, 10, 5), seed=4, coarse=3))
    outs = {}
    for strategy in ("kernel", "input", "auto"):
        m = MTSConv2d(2, 3, (10, 5), scales=(0.5, 1, 2, 4), strategy=strategy)
        m.load_state_dict(k.state_dict())
        outs[strategy] = m(x)
    base = outs["kernel"].norm()
    assert (outs["input"] - outs["kernel"]).norm() / base < 0.10
    assert (outs["auto"] - outs["kernel"]).norm() / base < 0.10
    assert not torch.equal(outs["input"], outs["kernel"])


def test_auto_compresses_the_input_of_time_strided_layers_too():
    """A4's first layer (stride 2): ``auto`` takes the input path for s = 2 where it is cheaper, and stays
    close to the stretched kernel on smooth input; ``input`` itself still refuses strides."""
    x = _smooth((2, 2, 160, 12))
    kernel = MTSConv2d(2, 3, (10, 5), scales=(0.5, 1, 2), stride=(2, 1), padding=(4, 2))
    auto = MTSConv2d(2, 3, (10, 5), scales=(0.5, 1, 2), stride=(2, 1), padding=(4, 2), strategy="auto")
    with torch.no_grad():
        kernel.weight.copy_(_smooth((3, 2, 10, 5), seed=4, coarse=3))
    auto.load_state_dict(kernel.state_dict())
    assert auto._use_input(2.0, x) and not kernel._use_input(2.0, x)
    a, k = auto(x), kernel(x)
    assert a.shape == k.shape and not torch.equal(a, k)
    assert (a - k).norm() / k.norm() < 0.10
    with pytest.raises(ConfigError, match="time stride 1"):
        MTSConv2d(2, 3, (10, 5), scales=(0.5, 1, 2), stride=(2, 1), strategy="input")


def test_invalid_settings_raise_config_error():
    with pytest.raises(ConfigError, match="lacks 1"):
        MTSConv2d(1, 1, 3, scales=(0.5, 2))
    with pytest.raises(ConfigError, match="strategy"):
        MTSConv2d(1, 1, 3, strategy="fast")
    with pytest.raises(ConfigError, match="time stride 1"):
        MTSConv2d(1, 1, 3, stride=2, strategy="input")
    with pytest.raises(ConfigError, match="positive"):
        MTSConv2d(1, 1, 3, scales=(1, -2))
    with pytest.raises(ConfigError, match="expected input"):
        MTSConv2d(1, 1, 3)(torch.zeros(1, 5, 5))
    with pytest.raises(ConfigError, match="cannot scale frequency"):
        MTSConv2d(1, 1, 3, scale_freq=True, strategy="input")


def test_auto_strategy_with_scale_freq_stretches_kernels_in_both_axes():
    """``auto`` must not take the time-only input path when frequency is scaled too."""
    torch.manual_seed(3)
    x = torch.randn(2, 2, 120, 16)
    kernel = MTSConv2d(2, 3, (10, 3), scales=(0.5, 1, 2), scale_freq=True, strategy="kernel")
    auto = MTSConv2d(2, 3, (10, 3), scales=(0.5, 1, 2), scale_freq=True, strategy="auto")
    auto.load_state_dict(kernel.state_dict())
    assert not auto._use_input(2.0, x)
    torch.testing.assert_close(auto(x), kernel(x), rtol=0, atol=0)


def test_reference_mode_copies_and_epoch_averaging():
    layer = MTSConv2d(1, 2, (4, 2), scales=(0.5, 1, 2), mode="reference")
    assert len(layer.ref_weights) == 2 and _n_params(layer) > _n_params(nn.Conv2d(1, 2, (4, 2)))
    layer(torch.randn(1, 1, 20, 5)).sum().backward()
    assert layer.ref_weights[1].grad is not None
    # the branches' biases are the shared bias's storage (published: conv.bias.data = input_bias)
    assert all(cb.data_ptr() == layer.bias.data_ptr() for cb in layer.ref_biases)
    with torch.no_grad():
        for cw in layer.ref_weights:
            cw.zero_()
    before_w, before_b = layer.weight.detach().clone(), layer.bias.detach().clone()
    average_reference_kernels(nn.Sequential(layer))
    torch.testing.assert_close(layer.weight.detach(), before_w / 3)
    torch.testing.assert_close(layer.bias.detach(), before_b)  # one bias: its average is itself


# Weight and bias after 6 Adam steps (lr 0.01, weight decay 0.001; averaging after every 2nd step) of the
# published layer (pooled_map, train_and_eval), run side by side with this layer: they agreed exactly (0.0).
_PUBLISHED_WEIGHT = [
    0.07518523186445236, 0.13564647734165192, 0.17415691912174225, 0.11056440323591232, 0.12825538218021393,
    0.12675419449806213, 0.0891021117568016, 0.037613749504089355, -0.015413922257721424, 0.025023415684700012,
    -0.057211145758628845, -0.11220722645521164, -0.17335569858551025, -0.1416252851486206, -0.08334828168153763,
    -0.08858083933591843, -0.038177043199539185, 0.023496480658650398, 0.0486828088760376, 0.09488224238157272,
    0.12775583565235138, 0.15026181936264038, 0.1757754534482956, 0.17480653524398804]
_PUBLISHED_BIAS = [-0.06882977485656738, -0.005401449277997017]


def test_reference_mode_equals_the_published_layer_after_training_steps():
    """Deterministic init and inputs (no RNG), Adam, averaging once per 'epoch' of two steps."""
    layer = MTSConv2d(1, 2, (4, 3), scales=(0.5, 1.0, 2.0), mode="reference")
    with torch.no_grad():
        layer.weight.copy_(torch.sin(torch.arange(24, dtype=torch.float32) * 0.37).reshape(2, 1, 4, 3) * 0.3)
        layer.bias.copy_(torch.cos(torch.arange(2, dtype=torch.float32)) * 0.1)
    opt = torch.optim.Adam(layer.parameters(), lr=0.01, weight_decay=0.001)
    t = torch.arange(2 * 24 * 6, dtype=torch.float32).reshape(2, 1, 24, 6)
    for step in range(6):
        x = torch.sin(t * 0.13 + step) + 0.5 * torch.cos(t * 0.029 * (step + 1))
        target = torch.tanh(x[:, :, :21, :4].mean(1, keepdim=True)).expand(-1, 2, -1, -1)
        loss = ((layer(x) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 2 == 1:
            layer.average_reference_kernels()
    torch.testing.assert_close(layer.weight.detach().flatten(), torch.tensor(_PUBLISHED_WEIGHT), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(layer.bias.detach(), torch.tensor(_PUBLISHED_BIAS), rtol=1e-5, atol=1e-6)
    shared = MTSConv2d(1, 2, (4, 2))
    w = shared.weight.detach().clone()
    shared.average_reference_kernels()
    assert torch.equal(shared.weight.detach(), w)


def test_penalty_scale_favours_unscaled_branch():
    torch.manual_seed(5)
    x = torch.randn(2, 1, 40, 8)
    usage = {}
    for pen in (0.0, 0.5, 2.0):
        layer = MTSConv2d(1, 4, (6, 3), scales=(0.5, 1, 2), penalty=pen)
        torch.manual_seed(6)
        layer.reset_parameters()
        layer.track_usage(True)
        layer(x)
        usage[pen] = layer.usage()[1.0]
    assert usage[0.0] < usage[0.5] < usage[2.0]
    assert usage[2.0] > 0.5  # rescaled maps are then <= 0: the unscaled branch wins wherever it is positive


def test_penalty_loss_term():
    x = torch.rand(1, 1, 30, 6) + 0.5
    layer = MTSConv2d(1, 1, (4, 3), scales=(1, 2), penalty=0.3, penalty_kind="loss")
    with torch.no_grad():
        layer.weight.fill_(0.1)
    model = nn.Sequential(layer)
    model(x)
    term = penalty_loss(model)
    assert term.item() > 0 and term.requires_grad
    model.eval()
    model(x)
    assert penalty_loss(model).item() == 0.0
    assert penalty_loss(nn.Sequential(MTSConv2d(1, 1, 3), nn.Linear(2, 2))).item() == 0.0
    assert penalty_loss(nn.Linear(2, 2)).item() == 0.0


def test_train_standard_infer_mts():
    torch.manual_seed(7)
    layer = MTSConv2d(1, 2, (6, 3), scales=(0.5, 1, 2), train_standard_infer_mts=True)
    ref = nn.Conv2d(1, 2, (6, 3))
    ref.load_state_dict(layer.state_dict())
    x = torch.randn(1, 1, 30, 8)
    torch.testing.assert_close(layer.train()(x), ref(x))
    assert not torch.allclose(layer.eval()(x), ref(x))


def test_concat_scale_channel():
    torch.manual_seed(8)
    layer = MTSConv2d(1, 1, (6, 3), scales=(0.5, 1, 2), concat_scale=True)
    assert layer.output_channels == 2
    y = layer(torch.randn(2, 1, 30, 8))
    assert y.shape == (2, 2, 25, 6)
    logs = torch.tensor([math.log(0.5), 0.0, math.log(2.0)])
    assert torch.isclose(y[:, 1:, None], logs.view(1, 1, 3, 1, 1)).any(2).all()
    assert y[:, 1].unique().numel() >= 2


def test_mts_usage_averages_layers():
    torch.manual_seed(9)
    model = nn.Sequential(MTSConv2d(1, 2, (4, 3), scales=(0.5, 1, 2)), nn.ReLU(),
                          MTSConv2d(2, 2, (4, 3), scales=(0.5, 1, 2)))
    assert mts_usage(model) == {}
    track_mts_usage(model)
    model(torch.randn(2, 1, 30, 9))
    per = mts_usage(model, per_layer=True)
    assert set(per) == {"0", "2"}
    mean = mts_usage(model)
    for s in (0.5, 1.0, 2.0):
        assert math.isclose(mean[s], (per["0"][s] + per["2"][s]) / 2)
    assert math.isclose(sum(mean.values()), 1.0)
    mixed = nn.Sequential(MTSConv2d(1, 1, 3, scales=(1, 2)), MTSConv2d(1, 1, 3, scales=(0.5, 1)))
    track_mts_usage(mixed)
    mixed(torch.randn(1, 1, 12, 12))
    with pytest.raises(ConfigError, match="different scale sets"):
        mts_usage(mixed)


@pytest.mark.parametrize("kernel_norm", ["none", "sum", "l2"])
def test_branch_gradients_sum_to_the_kernels_gradient(kernel_norm):
    from emoconv.layers.mts_stats import branch_gradients, probe_mts

    torch.manual_seed(5)
    layer = MTSConv2d(2, 3, (6, 3), scales=(0.5, 1, 2), kernel_norm=kernel_norm)
    x = torch.randn(2, 2, 40, 9)
    out = layer(x)
    g = torch.randn_like(out)
    (out * g).sum().backward()
    win, maps, vecs = branch_gradients(layer, x, g)
    torch.testing.assert_close(sum(vecs), layer.weight.grad, rtol=1e-4, atol=1e-5)
    track_mts_usage(nn.Sequential(layer))
    with torch.no_grad():
        layer(x)
    usage = layer.usage()
    assert all(math.isclose(usage[s], float((win == i).float().mean()), abs_tol=1e-6)
               for i, s in enumerate(layer.scales))
    model = nn.Sequential(layer, nn.ReLU(), nn.Flatten(), nn.LazyLinear(4))
    model(x)
    report = probe_mts(model, x, torch.tensor([0, 3]))
    assert set(report["0"]) == {"win", "amplitude", "grad", "grad_share"}
    assert math.isclose(sum(report["0"]["win"].values()), 1.0) and math.isclose(sum(report["0"]["grad_share"].values()), 1.0)
    assert all(p.grad is None for p in model.parameters())  # the probe leaves no gradients behind


def test_kernel_norm_equalises_the_response_to_a_constant_input():
    x = torch.ones(1, 1, 60, 8)
    amps = {}
    for norm in ("none", "sum"):
        layer = MTSConv2d(1, 1, (10, 3), scales=(0.5, 1, 2), kernel_norm=norm, bias=False)
        with torch.no_grad():
            layer.weight.fill_(0.1)
        amps[norm] = [float(m[..., 10:-10, :].mean()) for m in layer.branch_maps(x)]
    assert amps["none"][2] > 1.8 * amps["none"][1] and amps["none"][0] < 0.6 * amps["none"][1]
    assert all(math.isclose(a, amps["sum"][1], rel_tol=1e-5) for a in amps["sum"])
    with pytest.raises(ConfigError, match="kernel_norm"):
        MTSConv2d(1, 1, 3, kernel_norm="max")
    with pytest.raises(ConfigError, match="mode='shared'"):
        MTSConv2d(1, 1, 3, kernel_norm="sum", mode="reference")
