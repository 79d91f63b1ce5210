"""3D-CNN-DNN and 3D-CNN-DNN-ELM: shapes, parameter counts, the Table 3 sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emoconv.errors import ConfigError
from emoconv.layers.elm import NetworkELM
from emoconv.models import build_model
from emoconv.models.cnn3d import CNN3DDNN, TABLE3_KERNELS, count_parameters, same_pads, table3_configs

PAPER_SHAPE = (1, 10, 10, 256)


@pytest.mark.parametrize("kernel, expected", [((2, 2, 2), 789_808), ((2, 2, 32), 794_128), ((2, 2, 128), 807_952)])
def test_cnn3d_dnn_parameter_counts(kernel, expected):
    # the paper's Table 4: 798K (a digit swap of 789K), 793K, 807K
    assert count_parameters(build_model("cnn3d.dnn", 4, PAPER_SHAPE, kernel=kernel)) == expected


@pytest.mark.parametrize("kernel, expected", [((2, 2, 2), 527_664), ((2, 2, 32), 531_984), ((2, 2, 128), 545_808)])
def test_cnn3d_dnn_elm_parameter_counts_match_table4(kernel, expected):
    est = build_model("cnn3d.dnn_elm", 4, PAPER_SHAPE, kernel=kernel)
    assert isinstance(est, NetworkELM)
    assert count_parameters(est) == expected  # paper: 528K, 531K, 546K


def test_forward_shapes_and_embedding():
    torch.manual_seed(0)
    x = torch.randn(2, 1, 10, 10, 256)
    m = CNN3DDNN(4, PAPER_SHAPE, kernel=(2, 2, 32)).eval()
    assert m(x).shape == (2, 4)
    assert m.embed(x).shape == (2, 512)
    assert (m.embed(x) >= 0).all()  # ReLU output of the top FC layer
    steps = build_model("cnn3d.dnn_elm", 4, PAPER_SHAPE).network
    assert steps(x).shape == (2, 10, 4)  # one logit vector per long-term state
    assert steps.embed(x).shape == (2, 512)


def test_conv_stack_keeps_the_volume_and_pools_all_but_first():
    m = CNN3DDNN(3, (1, 8, 8, 16), kernel=(2, 2, 4), depth=3, hidden=16)
    h = m.convs(torch.randn(1, 1, 8, 8, 16))
    assert h.shape == (1, 4, 2, 2, 4)  # two 2x2x2 pools
    assert same_pads((2, 32)) == (15, 16, 0, 1)


def test_table3_sweep_builds_and_runs_every_kernel():
    configs = table3_configs()
    assert len(configs) == 12 == sum(len(v) for v in TABLE3_KERNELS.values())
    assert configs[2]["params"]["kernel"] == (2, 2, 128)
    x = torch.randn(1, 1, 10, 10, 32)  # small S: "same" padding runs even the 256-deep kernel
    for c in configs:
        m = build_model(c["name"], 4, (1, 10, 10, 32), **c["params"], hidden=8).eval()
        assert m(x).shape == (1, 4)


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="model.kernel"):
        build_model("cnn3d.dnn", 4, PAPER_SHAPE, kernel=(2, 2))
    with pytest.raises(ConfigError, match="input_shape"):
        build_model("cnn3d.dnn", 4, (10, 10, 256))
    with pytest.raises(ConfigError, match="shrink"):
        build_model("cnn3d.dnn", 4, (1, 4, 4, 8), depth=5)
    with pytest.raises(ConfigError, match="unknown key"):
        build_model("cnn3d.dnn_elm", 4, PAPER_SHAPE, learning_rate=1.0)


def test_dnn_elm_estimator_trains_on_tiny_volumes():
    rng = np.random.default_rng(0)
    shape = (1, 4, 4, 16)
    feats = [torch.tensor(rng.normal(i % 2, 1.0, shape), dtype=torch.float32) for i in range(24)]
    y = [i % 2 for i in range(24)]
    est = build_model("cnn3d.dnn_elm", 2, shape, kernel=(2, 2, 4), hidden=16, epochs=3, batch_size=8,
                      elm_hidden=16)
    est.fit(feats[:16], y[:16], feats[16:], y[16:])
    proba = est.predict_proba(feats[16:])
    assert proba.shape == (8, 2) and np.allclose(proba.sum(1), 1.0)
    assert est.embed(feats[:2]).shape == (2, 16)
