"""The conv stack computed once per utterance equals the per-patch computation, values and gradients."""

from __future__ import annotations

import pytest
import torch

from emoconv.layers.convseq import conv_stack_on_sequence, edge_padded
from emoconv.models.cldnn import CLDNN, splice_batch

# every kind, the defaults plus kernels whose pooling windows clip at the patch's end (T 1x8: 9 conv
# positions, last pool window 2 wide) and wide second kernels (ST 3-wide after a clipped window)
CASES = [
    ("T", (1, 5), (1, 2)), ("T", (1, 8), (1, 3)), ("T", (1, 3), (1, 2)),
    ("ST", (6, 5), (3, 2)), ("ST", (9, 3), (4, 3)), ("ST", (4, 8), (4, 2)),
    ("S", (6, 1), (3, 1)), ("S", (9, 1), (4, 1)),
    ("FST", None, (None, 2)), ("FST", None, (None, 3)),
]


def _model(kind, k1, k2, n_bins=20):
    torch.manual_seed(0)
    kw = {} if k1 is None else {"kernel1": k1}
    return CLDNN(5, n_bins, conv=kind, kernel2=k2, **kw)


def test_edge_padding_repeats_each_utterances_own_frames():
    x = torch.arange(2 * 6 * 3, dtype=torch.float32).reshape(2, 1, 6, 3)
    out = edge_padded(x, torch.tensor([6, 2]), left=2, right=1)  # (B, C, F, 9)
    assert out.shape == (2, 1, 3, 9)
    assert torch.equal(out[0, 0, :, 2:8], x[0, 0].T)
    assert torch.equal(out[1, 0, :, 0], x[1, 0, 0]) and torch.equal(out[1, 0, :, 1], x[1, 0, 0])
    assert torch.equal(out[1, 0, :, 4], x[1, 0, 1]) and torch.equal(out[1, 0, :, 8], x[1, 0, 1])  # never padding


@pytest.mark.parametrize("kind,k1,k2", CASES)
def test_sequence_stack_equals_patch_stack(kind, k1, k2):
    model = _model(kind, k1, k2)
    first, second = model.cnn
    x = torch.randn(3, 1, 23, 20)
    lengths = torch.tensor([23, 9, 1])
    patches, b, t = splice_batch(x, lengths, model.left, model.right)
    ref = second(first(patches)).flatten(1)
    seq = conv_stack_on_sequence(first, second, x, lengths, model.left, model.right)
    assert seq.shape == (3, 23, second.out_features)
    torch.testing.assert_close(seq[b, t], ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind,k1,k2", CASES[::2])
def test_model_logits_and_gradients_match_the_patch_path(kind, k1, k2):
    model = _model(kind, k1, k2).eval()  # dropout off: both paths see the same network
    x = torch.randn(4, 1, 30, 20)
    lengths = torch.tensor([30, 17, 6, 2])
    grads, logits = {}, {}
    for mode in ("patches", "sequence"):
        model.zero_grad()
        model.compute = mode
        out = model(x, lengths)
        (out * torch.arange(5.0)).sum().backward()
        logits[mode] = out.detach()
        grads[mode] = {n: p.grad.clone() for n, p in model.named_parameters()}
    torch.testing.assert_close(logits["sequence"], logits["patches"], rtol=1e-5, atol=1e-5)
    for name, g in grads["patches"].items():
        torch.testing.assert_close(grads["sequence"][name], g, rtol=1e-4, atol=1e-5, msg=name)


def test_module_outputs_agree_and_padding_is_ignored():
    model = _model("ST", (6, 5), (3, 2)).eval()
    x = torch.randn(2, 1, 14, 20)
    lengths = torch.tensor([14, 5])
    a = model.module_outputs(x, lengths)
    longer = torch.cat([x, torch.randn(2, 1, 6, 20) * 100], dim=2)  # junk past every length
    c = model.module_outputs(longer, lengths)
    model.compute = "patches"
    ref = model.module_outputs(x, lengths)
    for name in ref:
        torch.testing.assert_close(a[name], ref[name], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(c[name], ref[name], rtol=1e-5, atol=1e-5)


def test_compute_is_validated():
    from emoconv.errors import ConfigError
    with pytest.raises(ConfigError, match="compute"):
        CLDNN(5, 12, conv="T", compute="fast")
