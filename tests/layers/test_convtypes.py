"""The four convolution types: shapes, the direction they convolve and pool in, kernel search."""

from __future__ import annotations

import pytest
import torch

from emoconv.errors import ConfigError
from emoconv.layers.convtypes import TABLE2_RANGES, ConvType, default_kernels, kernel_candidates, top_k

# (kind, n_bins, kernel); expected sizes follow the hand formula in _expected
CASES = [
    ("S", 40, (6, 1)),
    ("T", 40, (1, 5)),
    ("ST", 40, (6, 5)),
    ("FST", 40, (40, 5)),
    ("T", 13, (1, 8)),
    ("FST", 13, (13, 3)),
]


def _expected(n: int, pooled: bool) -> int:
    """Ceil-mode pooling of size 3, stride 2, the last window starting inside the axis."""
    if not pooled:
        return n
    out = -(-(n - 3) // 2) + 1
    return out - 1 if (out - 1) * 2 >= n else out


@pytest.mark.parametrize("kind,n_bins,kernel", CASES)
def test_output_shape_matches_hand_formula(kind, n_bins, kernel):
    layer = ConvType(kind, 1, n_bins, 16, 32, kernel)
    y = layer(torch.randn(5, 1, n_bins, 16))
    pool_f = kind in ("S", "ST")
    pool_t = kind in ("T", "ST", "FST")
    want = (5, 32, _expected(n_bins - kernel[0] + 1, pool_f), _expected(16 - kernel[1] + 1, pool_t))
    assert tuple(y.shape) == want
    assert (layer.out_bins, layer.out_context) == want[2:]
    assert layer.out_features == 32 * want[2] * want[3]


def test_hand_numbers():
    assert tuple(ConvType("S", 1, 40, 16, 32, (6, 1))(torch.zeros(1, 1, 40, 16)).shape) == (1, 32, 17, 16)
    assert tuple(ConvType("T", 1, 40, 16, 32, (1, 5))(torch.zeros(1, 1, 40, 16)).shape) == (1, 32, 40, 6)
    assert tuple(ConvType("ST", 1, 40, 16, 32, (6, 5))(torch.zeros(1, 1, 40, 16)).shape) == (1, 32, 17, 6)
    assert tuple(ConvType("FST", 1, 40, 16, 32, (40, 5))(torch.zeros(1, 1, 40, 16)).shape) == (1, 32, 1, 6)
    # a 2-wide axis into a 3-wide pool: the window is clipped, one output
    t = ConvType("T", 32, 40, 2, 32, (1, 1))
    assert tuple(t(torch.zeros(1, 32, 40, 2)).shape) == (1, 32, 40, 1)


def _positive(layer: ConvType) -> ConvType:
    with torch.no_grad():
        layer.conv.weight.fill_(1.0)
        layer.conv.bias.zero_()
    return layer


def test_s_conv_never_mixes_time_and_pools_spectrum_only():
    layer = _positive(ConvType("S", 1, 40, 16, 4, (5, 1)))
    x = torch.zeros(1, 1, 40, 16)
    x[0, 0, :, 7] = 1.0  # one active time column
    y = layer(x)
    active_cols = (y[0].abs().sum(dim=(0, 1)) > 0).nonzero().flatten().tolist()
    assert active_cols == [7]
    assert layer.pool_size == (3, 1) and layer.pool_stride == (2, 1)
    assert y.shape[-1] == 16 and y.shape[-2] < 36


def test_t_conv_never_mixes_bins_and_pools_time_only():
    layer = _positive(ConvType("T", 1, 40, 16, 4, (1, 4)))
    x = torch.zeros(1, 1, 40, 16)
    x[0, 0, 11, :] = 1.0  # one active bin
    y = layer(x)
    active_rows = (y[0].abs().sum(dim=(0, 2)) > 0).nonzero().flatten().tolist()
    assert active_rows == [11]
    assert layer.pool_size == (1, 3) and layer.pool_stride == (1, 2)
    assert y.shape[-2] == 40


def test_st_pools_both_and_fst_spans_the_spectrum():
    st = ConvType("ST", 1, 40, 16, 4, (4, 3))
    assert st.pool_size == (3, 3) and st.pool_stride == (2, 2)
    fst = _positive(ConvType("FST", 1, 13, 16, 4, None))
    assert fst.kernel[0] == 13 and fst.out_bins == 1 and fst.pool_size == (1, 3)
    x = torch.zeros(1, 1, 13, 16)
    x[0, 0, 12, 0] = 1.0  # the last bin reaches the single output row: full-spectrum kernel
    assert fst.conv(x)[0, 0, 0, 0] == 1.0


def test_parameter_count():
    layer = ConvType("ST", 3, 40, 16, 32, (6, 5))
    assert sum(p.numel() for p in layer.parameters()) == 32 * (3 * 6 * 5 + 1)


@pytest.mark.parametrize("kind,kernel,msg", [
    ("S", (5, 2), "width must be 1"),
    ("T", (2, 5), "height must be 1"),
    ("FST", (20, 5), "span"),
    ("ST", (41, 3), "larger than its input"),
    ("X", (1, 1), "unknown"),
])
def test_bad_kernels_raise_config_error(kind, kernel, msg):
    with pytest.raises(ConfigError, match=msg):
        ConvType(kind, 1, 40, 16, 32, kernel)


def test_wrong_input_shape_is_reported():
    with pytest.raises(ValueError, match=r"\(N, 1, 40, 16\)"):
        ConvType("T", 1, 40)(torch.zeros(2, 1, 13, 16))


def test_default_kernels_are_in_table2_ranges():
    for kind in ("S", "T", "ST"):
        (h1, w1), (h2, w2) = default_kernels(kind, 40)
        r = TABLE2_RANGES[kind]
        assert h1 in r["h1"] and w1 in r["w1"] and h2 in r["h2"] and w2 in r["w2"]


def test_kernel_candidates_cover_table2():
    for kind in ("S", "T", "FST"):
        cands = kernel_candidates(kind, 40)
        assert len(cands) == 12
        assert len({(tuple(c["kernel1"]), tuple(c["kernel2"])) for c in cands}) == 12
    t13 = kernel_candidates("T", 13)
    assert len(t13) == 12
    # S on 13 MFCCs: only combinations that keep a non-empty output survive
    s13 = kernel_candidates("S", 13)
    assert 0 < len(s13) < 12
    assert all(c["kernel1"][0] in range(4, 10) for c in s13)


def test_st_search_is_restricted_to_top_k_of_s_and_t():
    s = kernel_candidates("S", 40)
    t = kernel_candidates("T", 40)
    with pytest.raises(ConfigError, match="top S and T"):
        kernel_candidates("ST", 40)
    best_s = top_k([(c, i == 5) for i, c in enumerate(s)], 1)
    best_t = top_k([(c, float(i)) for i, c in enumerate(t)], 2)
    assert best_s == [s[5]] and best_t == [t[11], t[10]]
    st = kernel_candidates("ST", 40, top_s=best_s, top_t=best_t)
    assert len(st) == 2
    for cand, tt in zip(st, best_t):
        assert cand["kernel1"] == (s[5]["kernel1"][0], tt["kernel1"][1])
        assert cand["kernel2"] == (s[5]["kernel2"][0], tt["kernel2"][1])
