"""ECNet, emoconv's own compact CNN: shapes, padding-invariance, MTS stages, bad settings."""

from __future__ import annotations

import pytest
import torch

from emoconv.errors import ConfigError
from emoconv.layers import MTSConv2d
from emoconv.models import build_model


def test_shapes_embed_and_size():
    net = build_model("ecnet", n_classes=5, input_shape=(1, 100, 40))
    assert net(torch.randn(3, 1, 100, 40)).shape == (3, 5)
    assert net.embed(torch.randn(2, 1, 64, 40)).shape == (2, 256)
    assert 50_000 < sum(p.numel() for p in net.parameters()) < 500_000  # sized for small corpora


def test_padded_frames_stay_out_of_the_pooling():
    """Zero padding (what batching adds) reaches the utterance only through the convolutions' receptive field
    at its end; the pooling mask keeps the padded frames themselves out."""
    torch.manual_seed(0)
    net = build_model("ecnet", n_classes=4, input_shape=(1, 80, 40)).eval()
    x = torch.randn(1, 1, 64, 40)
    with torch.no_grad():
        alone = net(x, lengths=torch.tensor([64]))
        padded = torch.cat([x, torch.zeros(1, 1, 64, 40)], dim=2)
        masked = (net(padded, lengths=torch.tensor([64])) - alone).abs().max()
        unmasked = (net(padded) - alone).abs().max()
    assert masked < 5e-3 and masked < unmasked / 3


def test_mts_stages_and_options():
    net = build_model("ecnet", n_classes=3, input_shape=(1, 50, 40), conv="mts", scales=(0.5, 1, 2),
                      channels=(8, 16), depth=2, hidden=32)
    layers = [m for m in net.modules() if isinstance(m, MTSConv2d)]
    assert len(layers) == 2  # the first convolution of each stage
    std = build_model("ecnet", n_classes=3, input_shape=(1, 50, 40), channels=(8, 16), depth=2, hidden=32)
    assert sum(p.numel() for p in net.parameters()) == sum(p.numel() for p in std.parameters())  # no extra weights
    assert net(torch.randn(2, 1, 50, 40)).shape == (2, 3)


@pytest.mark.parametrize("params, match", [
    ({"channels": []}, "channels"), ({"dropout": 1.0}, "dropout"), ({"depth": 0}, "depth"),
    ({"widht": 3}, "unknown parameter"), ({"conv": "fancy"}, "not 'standard' or 'mts'")])
def test_bad_settings_name_the_setting(params, match):
    with pytest.raises(ConfigError, match=match):
        build_model("ecnet", n_classes=3, input_shape=(1, 50, 40), **params)


def test_refuses_wrong_input():
    with pytest.raises(ConfigError, match="input_shape"):
        build_model("ecnet", n_classes=3, input_shape=(50, 40))
    net = build_model("ecnet", n_classes=3, input_shape=(1, 50, 40))
    with pytest.raises(ConfigError, match="expected input"):
        net(torch.randn(2, 3, 50, 40))


def test_tracks_branch_reads_the_last_columns_apart():
    torch.manual_seed(0)
    net = build_model("ecnet", n_classes=4, input_shape=(1, 80, 72), tracks=32).eval()
    x = torch.randn(2, 1, 80, 72)
    with torch.no_grad():
        base = net(x, lengths=torch.tensor([80, 50]))
        assert base.shape == (2, 4) and net.embed(x).shape == (2, 256 + 128)
        y = x.clone()
        y[..., 40:] += 1.0  # the tracks change: the output changes through the 1-D branch
        assert (net(y, lengths=torch.tensor([80, 50])) - base).abs().max() > 1e-4
    with pytest.raises(ConfigError, match="ecnet.tracks"):
        build_model("ecnet", n_classes=4, input_shape=(1, 80, 40), tracks=40)
    with pytest.raises(ConfigError, match=r"expected input \(batch, 1, time, 72\)"):
        net(torch.randn(1, 1, 80, 40))
