"""MDCNN: ablation rows build, any length passes, padding never changes a result, ArcFace conventions."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from emoconv.errors import ConfigError
from emoconv.models import build_model
from emoconv.models.mdcnn import ABLATION_ROWS, MDCNN, MDCNNConfig
from emoconv.training.batching import pad_batch

SMALL = dict(filters=6, fc_units=8)


def _model(**params) -> MDCNN:
    torch.manual_seed(0)
    return build_model("mdcnn", 4, (3, 0, 40), **{**SMALL, **params})


@pytest.mark.parametrize("row", sorted(ABLATION_ROWS))
def test_logits_do_not_depend_on_the_batch(row):
    model = _model(**ABLATION_ROWS[row]).eval()
    torch.manual_seed(1)
    items = [torch.randn(3, t, 40) for t in (37, 120, 9, 64)]
    x, lengths = pad_batch(items)
    x = x + 50.0 * (torch.arange(x.shape[2])[None, None, :, None] >= lengths[:, None, None, None])  # junk padding
    with torch.no_grad():
        batched = model(x, lengths=lengths)
        for i, item in enumerate(items):
            alone = model(item[None])
            torch.testing.assert_close(batched[i], alone[0], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(model.embed(x, lengths)[i], model.embed(item[None])[0], atol=1e-5, rtol=1e-5)


def test_full_size_model_on_half_a_second():
    model = build_model("mdcnn", 7, (3, 50, 40)).eval()
    assert model.body.blocks[0].branches[0].time.conv.out_channels == 128 and model.fc[1].out_features == 32
    with torch.no_grad():
        out = model(torch.randn(1, 3, 50, 40))
    assert out.shape == (1, 7) and torch.isfinite(out).all()


@pytest.mark.parametrize("frames", [1, 2, 3, 50, 3000])
def test_any_length_passes(frames):
    model = _model(filters=4).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, frames, 40))
        h, n = model.feature_map(torch.randn(1, 3, frames, 40), torch.tensor([frames]))
    assert out.shape == (1, 4) and torch.isfinite(out).all()
    assert h.shape == (1, 4, (frames + 1) // 2, 20) and n.tolist() == [(frames + 1) // 2]


def test_arcface_conventions():
    model = _model()
    assert model.needs_labels and model.variable_length
    assert not _model(head="softmax").needs_labels
    x, y = torch.randn(2, 3, 30, 40), torch.tensor([1, 3])
    model.eval()
    with torch.no_grad():
        plain = model(x, labels=y)
        model.train()
        margin = model(x, labels=y)
    torch.testing.assert_close(plain, model.head.scale * model.head.cosine(model.embed(x)))
    target = torch.arange(4)[None, :] == y[:, None]
    assert (margin[target] < plain[target]).all()
    torch.testing.assert_close(margin[~target], plain[~target])


def test_rows_differ_as_the_ablation_says():
    n = {row: sum(p.numel() for p in _model(**p).parameters()) for row, p in ABLATION_ROWS.items()}
    assert n["ff_gmp_softmax"] < n["cnn_gmp_softmax"]  # factorisation: 5+3 weights per tap pair instead of 15
    assert n["dilated2_spp_softmax"] == n["ff_spp_softmax"]  # dilation adds no weights
    assert n["multidilated_spp_softmax"] > n["dilated2_spp_softmax"]  # second branches
    assert n["ff_spp_softmax"] > n["ff_gmp_softmax"]  # 126 regions into the FC layer instead of 1
    model = _model(**ABLATION_ROWS["multidilated_spp_att_arcface"])
    assert model.pool.n_bins == 126 and model.attention is not None
    assert _model(spp_levels=[1, 2, 5, 8, 10]).pool.n_bins == 194


def test_bad_params_are_config_errors():
    with pytest.raises(ConfigError, match="body"):
        _model(body="vgg")
    with pytest.raises(ConfigError, match="unknown key"):
        _model(dilation=3)
    with pytest.raises(ConfigError, match="input_shape"):
        build_model("mdcnn", 4, (3, 40))
    with pytest.raises(ConfigError, match="lengths"):
        _model()(torch.randn(1, 3, 10, 40), lengths=torch.tensor([11]))
    with pytest.raises(ConfigError, match="margin"):
        MDCNNConfig(margin=-0.1)


def test_a_few_steps_fit_a_tiny_set():
    torch.manual_seed(0)
    model = _model(body="ff", n_blocks=2, attention=False, scale=8.0)
    items = [torch.randn(3, 20 + 7 * i, 40) + (i % 2) for i in range(8)]
    y = torch.tensor([i % 2 for i in range(8)])
    x, lengths = pad_batch(items)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(25):
        loss = F.cross_entropy(model(x, lengths=lengths, labels=y), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
