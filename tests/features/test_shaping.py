"""pad_or_crop, segment, aggregate_segments and splice."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from emoconv.errors import ConfigError
from emoconv.features import aggregate_segments, pad_or_crop, segment, splice


def _ramp(c: int, t: int, f: int) -> torch.Tensor:
    return torch.arange(c * t * f, dtype=torch.float32).view(c, t, f) + 1  # no zeros


def test_pad_or_crop_end_and_center():
    x = _ramp(2, 5, 3)
    torch.testing.assert_close(pad_or_crop(x, 3), x[:, :3])
    torch.testing.assert_close(pad_or_crop(x, 3, "center"), x[:, 1:4])
    padded = pad_or_crop(x, 8, "end")
    assert padded.shape == (2, 8, 3)
    torch.testing.assert_close(padded[:, :5], x)
    assert torch.all(padded[:, 5:] == 0)
    centred = pad_or_crop(x, 8, "center")  # 3 missing: 1 before, 2 after
    torch.testing.assert_close(centred[:, 1:6], x)
    assert torch.all(centred[:, :1] == 0) and torch.all(centred[:, 6:] == 0)
    torch.testing.assert_close(pad_or_crop(x, 5), x)


@pytest.mark.parametrize("call, message", [
    (lambda: pad_or_crop(torch.zeros(3, 4), 5), r"\(C, T, F\)"),
    (lambda: pad_or_crop(torch.zeros(1, 3, 4), 0), "frames 0"),
    (lambda: pad_or_crop(torch.zeros(1, 3, 4), 2, "start"), "mode 'start'"),
    (lambda: segment(torch.zeros(1, 3, 4), 0, 1), "win 0"),
    (lambda: segment(torch.zeros(1, 3, 4), 2, 0), "hop 0"),
    (lambda: aggregate_segments(torch.zeros(2, 3), "median"), "how 'median'"),
    (lambda: aggregate_segments(torch.zeros(0, 3)), "S >= 1"),
    (lambda: splice(torch.zeros(2, 3), -1, 0), "left -1"),
])
def test_bad_arguments(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_segment_windows_and_padding():
    x = _ramp(2, 10, 3)
    s = segment(x, win=4, hop=3)  # starts 0, 3, 6; the last covers frames 6..9
    assert s.shape == (3, 2, 4, 3)
    for i, start in enumerate((0, 3, 6)):
        torch.testing.assert_close(s[i], x[:, start : start + 4])
    s = segment(x, win=4, hop=4)  # starts 0, 4, 8; the last has 2 real frames + 2 zeros
    assert s.shape == (3, 2, 4, 3)
    torch.testing.assert_close(s[2, :, :2], x[:, 8:])
    assert torch.all(s[2, :, 2:] == 0)
    short = segment(x[:, :2], win=5, hop=2)
    assert short.shape == (1, 2, 5, 3)
    torch.testing.assert_close(short[0, :, :2], x[:, :2])


@settings(max_examples=60, deadline=None)
@given(t=st.integers(1, 40), win=st.integers(1, 12), hop=st.integers(1, 12))
def test_segment_property(t, win, hop):
    x = _ramp(1, t, 2)
    s = segment(x, win, hop)
    n = s.shape[0]
    assert s.shape[1:] == (1, win, 2)
    assert (n - 1) * hop < t  # no segment starts past the end
    if hop <= win:
        assert (n - 1) * hop + win >= t  # every frame is in some segment
    for i in range(n):
        ref = pad_or_crop(x[:, i * hop : i * hop + win], win)
        torch.testing.assert_close(s[i], ref)


def test_aggregate_segments():
    p = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    torch.testing.assert_close(aggregate_segments(p, "mean"), torch.tensor([0.4, 0.375, 0.225]))
    torch.testing.assert_close(aggregate_segments(p, "max"), torch.tensor([0.7, 0.8, 0.6]))
    torch.testing.assert_close(aggregate_segments(p, "vote"), torch.tensor([0.5, 0.25, 0.25]))


def test_splice_is_a_view_with_repeated_edges():
    x = torch.arange(12.0).view(4, 3)
    out = splice(x, left=2, right=1)
    assert out.shape == (4, 3, 4)
    for t in range(4):
        for j in range(4):
            src = min(max(t - 2 + j, 0), 3)
            torch.testing.assert_close(out[t, :, j], x[src])
    # a view: all context windows share one (T + left + right, F) buffer
    assert out.untyped_storage().nbytes() == (4 + 3) * 3 * 4
    assert splice(x, 0, 0).squeeze(-1).equal(x)
