"""Tests of the MTS paper's architectures (emoconv.models.mts)."""

from __future__ import annotations

import pytest
import torch

from emoconv.errors import ConfigError
from emoconv.layers.mts import MTSConv2d
from emoconv.layers.mts_stats import mts_usage, track_mts_usage
from emoconv.models import MODELS, build_model

NAMES = ["mts.a1", "mts.a2", "mts.a3", "mts.a4", "mts.resnet18"]
SHAPE = (1, 48, 32)  # (C, T, F): tiny spectrogram


def _count(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters() if p.requires_grad)


def test_registered():
    build_model("mts.a1", 2, SHAPE)  # imports the model modules
    for name in NAMES:
        assert name in MODELS


@pytest.mark.parametrize("name", NAMES)
def test_forward_shape_and_equal_parameter_counts(name):
    torch.manual_seed(0)
    std = build_model(name, 5, SHAPE, conv="standard")
    mts = build_model(name, 5, SHAPE, conv="mts", scales=(0.25, 0.5, 1, 2, 4))
    x = torch.randn(3, *SHAPE)
    assert std(x).shape == (3, 5)
    assert mts(x).shape == (3, 5)
    assert _count(std) == _count(mts)
    n_mts = sum(isinstance(m, MTSConv2d) for m in mts.modules())
    assert n_mts == {"mts.a1": 1, "mts.a2": 1, "mts.a3": 2, "mts.a4": 2, "mts.resnet18": 17}[name]
    assert not any(isinstance(m, MTSConv2d) for m in std.modules())


def test_paper_layer_sizes():
    a2 = build_model("mts.a2", 7, SHAPE, conv="mts")
    conv = a2.features[0]
    assert conv.kernel_size == (10, 5) and conv.out_channels == 10
    assert a2.head[2].out_features == 200
    assert a2.head[2].in_features == 10 * (48 - 9) * (32 - 4)  # flattened conv output, as in the paper


@pytest.mark.parametrize("name", ["mts.a2", "mts.a3"])
def test_gradients_and_usage_through_model(name):
    torch.manual_seed(1)
    model = build_model(name, 4, SHAPE, conv="mts", scales=(0.7, 1, 1.428))
    x = torch.randn(2, *SHAPE)
    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 3]))
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    model.eval()
    track_mts_usage(model)
    with torch.no_grad():
        model(x)
    usage = mts_usage(model)
    assert set(usage) == {0.7, 1.0, 1.428} and abs(sum(usage.values()) - 1) < 1e-9


def test_variant_options_reach_layers():
    model = build_model("mts.a3", 3, SHAPE, conv="mts", strategy="auto", mode="reference", penalty=0.2,
                        concat_scale=True, train_standard_infer_mts=True)
    layers = [m for m in model.modules() if isinstance(m, MTSConv2d)]
    assert all(m.strategy == "auto" and m.mode == "reference" and m.penalty == 0.2 for m in layers)
    assert layers[1].in_channels == 11  # concat_scale: one extra channel into the next conv
    assert model(torch.randn(2, *SHAPE)).shape == (2, 3)


def test_pool_option_accepts_other_lengths():
    model = build_model("mts.a2", 3, SHAPE, conv="mts", pool=(4, 4))
    assert model(torch.randn(2, 1, 80, 32)).shape == (2, 3)
    fixed = build_model("mts.a2", 3, SHAPE)
    with pytest.raises(ConfigError, match="input_shape"):
        fixed(torch.randn(2, 1, 80, 32))
    a4 = build_model("mts.a4", 3, SHAPE, conv="mts")
    assert a4(torch.randn(1, 1, 100, 40)).shape == (1, 3)


def test_bad_options_raise_config_error():
    with pytest.raises(ConfigError, match="unknown option"):
        build_model("mts.a1", 3, SHAPE, kernel=3)
    with pytest.raises(ConfigError, match="'standard' or 'mts'"):
        build_model("mts.a1", 3, SHAPE, conv="dilated")
    with pytest.raises(ConfigError, match="input_shape"):
        build_model("mts.a2", 3, (48, 32))
    with pytest.raises(ConfigError, match="lacks 1"):
        build_model("mts.a2", 3, SHAPE, conv="mts", scales=(0.5, 2))
