"""X-CLDNN / LDNN: shapes, splicing at utterance edges, padding invariance, module outputs."""

from __future__ import annotations

import pytest
import torch

from emoconv.errors import ConfigError
from emoconv.features import splice
from emoconv.models import MODELS, build_model
from emoconv.models.cldnn import CLDNN, extract_module_outputs, pad_spliced, splice_batch


def _model(conv: str, n_bins: int = 40, n_classes: int = 4, **kw) -> CLDNN:
    torch.manual_seed(0)
    return build_model("cldnn", n_classes, (1, 50, n_bins), conv=conv, **kw).eval()


@pytest.mark.parametrize("conv,n_bins,cnn_dim", [
    ("S", 40, 32 * 7 * 16), ("T", 40, 32 * 40 * 2), ("T", 13, 32 * 13 * 2),
    ("ST", 40, 32 * 7 * 2), ("FST", 40, 32 * 1 * 2), ("FST", 13, 32 * 1 * 2), ("none", 13, None),
])
def test_forward_and_module_shapes(conv, n_bins, cnn_dim):
    m = _model(conv, n_bins)
    assert m.variable_length is True
    x = torch.randn(3, 1, 30, n_bins)
    lengths = torch.tensor([30, 12, 4])
    assert tuple(m(x, lengths).shape) == (3, 4)
    assert tuple(m.embed(x, lengths).shape) == (3, 32)
    outs = m.module_outputs(x, lengths)
    assert tuple(outs["raw"].shape) == (3, n_bins * 16)
    assert tuple(outs["blstm"].shape) == (3, 256)
    assert tuple(outs["mlp"].shape) == (3, 4)
    assert torch.allclose(outs["mlp"].sum(1), torch.ones(3), atol=1e-6)
    if cnn_dim is None:
        assert "cnn" not in outs
    else:
        assert tuple(outs["cnn"].shape) == (3, cnn_dim)


def test_splice_batch_repeats_each_utterances_own_edges():
    T, F = 9, 3
    x = torch.full((2, 1, T, F), 1e6)  # padding value must never appear in a patch
    a = torch.arange(T * F, dtype=torch.float32).view(T, F)
    b = -torch.arange(4 * F, dtype=torch.float32).view(4, F)
    x[0, 0] = a
    x[1, 0, :4] = b
    patches, bi, ti = splice_batch(x, torch.tensor([T, 4]), 10, 5)
    assert tuple(patches.shape) == (T + 4, 1, F, 16)
    assert bi.tolist() == [0] * T + [1] * 4 and ti.tolist() == list(range(T)) + list(range(4))
    assert torch.equal(patches[:T, 0], splice(a, 10, 5))
    assert torch.equal(patches[T:, 0], splice(b, 10, 5))
    # by hand: first frame of b sees b[0] ten times on the left, last frame sees b[3] on the right
    assert torch.equal(patches[T, 0, :, 0], b[0]) and torch.equal(patches[-1, 0, :, -1], b[3])
    assert patches.abs().max() < 1e6


@pytest.mark.parametrize("conv", ["ST", "FST", "none"])
def test_logits_do_not_depend_on_batch_padding(conv):
    m = _model(conv)
    utts = [torch.randn(1, n, 40) for n in (23, 7, 15)]
    alone = torch.cat([m(u.unsqueeze(0)) for u in utts])
    x = torch.zeros(3, 1, 23, 40)
    x.normal_()  # garbage in the padded frames
    for i, u in enumerate(utts):
        x[i, :, : u.shape[1]] = u
    batched = m(x, torch.tensor([23, 7, 15]))
    assert torch.allclose(alone, batched, atol=1e-5)


def test_pre_spliced_input_gives_the_same_logits():
    m = _model("T")
    utts = [torch.randn(n, 40) for n in (11, 6)]
    views = [splice(u, 10, 5) for u in utts]
    assert all(v.untyped_storage().nbytes() < v.numel() * 4 for v in views)  # strided views, not copies
    xs, lengths = pad_spliced(views)
    assert tuple(xs.shape) == (2, 11, 40, 16) and lengths.tolist() == [11, 6]
    frames = torch.zeros(2, 1, 11, 40)
    frames[0, 0], frames[1, 0, :6] = utts[0], utts[1]
    assert torch.allclose(m(xs, lengths), m(frames, lengths), atol=1e-5)


def test_extract_module_outputs_is_batch_size_invariant():
    m = _model("FST", 13)
    feats = [torch.randn(1, n, 13) for n in (5, 19, 8, 12)]
    one = extract_module_outputs(m, feats, batch_size=1)
    many = extract_module_outputs(m, feats, batch_size=3)
    assert set(one) == {"raw", "cnn", "blstm", "mlp"}
    for k in one:
        assert one[k].shape[0] == 4
        assert abs(one[k] - many[k]).max() < 1e-5


def test_training_step_reduces_loss():
    torch.manual_seed(0)
    m = build_model("cldnn", 2, (1, 20, 13), conv="FST", dropout=0.0)
    x = torch.randn(4, 1, 20, 13)
    x[:2] += 1.0
    y = torch.tensor([0, 0, 1, 1])
    lengths = torch.tensor([20, 17, 20, 9])
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    first = None
    for _ in range(10):
        loss = torch.nn.functional.cross_entropy(m(x, lengths), y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        assert m.cnn[0].conv.weight.grad.abs().sum() > 0
        opt.step()
    assert loss.item() < 0.5 * first


def test_builder_and_errors():
    assert "cldnn" in MODELS
    m = build_model("cldnn", 6, (1, 100, 40), conv="ST", kernel1=[5, 4], kernel2=[4, 3])
    assert m.cnn[0].kernel == (5, 4) and m.cnn[1].kernel == (4, 3)
    with pytest.raises(ConfigError, match="unknown parameter"):
        build_model("cldnn", 6, (1, 100, 40), conv="T", kernel=3)
    with pytest.raises(ConfigError, match="conv='XY'"):
        build_model("cldnn", 6, (1, 100, 40), conv="XY")
    with pytest.raises(ConfigError, match="width must be 1"):
        build_model("cldnn", 6, (1, 100, 40), conv="S", kernel1=(5, 3))
    with pytest.raises(ValueError, match="lengths"):
        m(torch.randn(2, 1, 10, 40), torch.tensor([11, 3]))
    with pytest.raises(ValueError, match="expects"):
        m(torch.randn(2, 1, 10, 13))
