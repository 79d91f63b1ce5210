"""emoconv.layers.pooling: nn.MaxPool2d's values and gradients, pooled in channels-last memory."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from emoconv.layers import MaxPool2d, max_pool2d

CASES = [((4, 10, 51, 37), 2, None, 0, 1, True), ((4, 10, 51, 37), 3, 2, 1, 1, False),
         ((3, 1, 30, 40), (2, 1), None, 0, 1, True), ((2, 6, 17, 9), (1, 3), 1, 0, 1, False),
         ((2, 4, 21, 20), 3, 2, 1, 2, True)]


@pytest.mark.parametrize("shape,k,s,p,d,ceil", CASES)
def test_values_and_gradients_equal_torch_ties_included(shape, k, s, p, d, ceil):
    torch.manual_seed(0)
    base = F.relu(torch.randn(*shape))  # about half the points are 0: many ties inside a window
    base[0, 0, :3, :3] = 1.0  # a window of equal non-zero values
    x1, x2 = base.clone().requires_grad_(), base.clone().requires_grad_()
    y1 = F.max_pool2d(x1, k, s, p, d, ceil_mode=ceil)
    y2 = max_pool2d(x2, k, s, p, d, ceil_mode=ceil)
    assert y2.is_contiguous() and torch.equal(y1, y2)
    g = torch.randn_like(y1)
    y1.backward(g)
    y2.backward(g)
    assert torch.equal(x1.grad, x2.grad)


def test_second_order_use_and_no_grad_paths():
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(max_pool2d(x, 2), F.max_pool2d(x, 2))
    cl = x.contiguous(memory_format=torch.channels_last)  # already channels-last: torch's own call
    assert torch.equal(max_pool2d(cl, 2), F.max_pool2d(x, 2))
    with pytest.raises(RuntimeError):  # the hand-written backward is once-differentiable, and says so
        xr = x.clone().requires_grad_()
        (gx,) = torch.autograd.grad(max_pool2d(xr, 2).pow(2).sum(), xr, create_graph=True)
        gx.sum().backward()


def test_module_is_a_drop_in_for_nn_maxpool2d():
    m = MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
    ref = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
    assert isinstance(m, nn.MaxPool2d) and repr(m) == repr(ref) and m.state_dict() == {}
    x = torch.randn(2, 5, 13, 11)
    assert torch.equal(m(x), ref(x))
    with pytest.raises(ValueError, match="return_indices"):
        MaxPool2d(2, return_indices=True)


def test_models_pool_with_it_and_export_traces_torchs_own_op():
    from emoconv.models import build_model

    model = build_model("mts.a3", 4, (1, 60, 40), conv="standard")
    assert any(isinstance(m, MaxPool2d) for m in model.modules())
    x = torch.randn(2, 1, 60, 40)
    ep = torch.export.export(model.eval(), (x,))
    ops = {str(n.target) for n in ep.graph.nodes if n.op == "call_function"}
    assert any("max_pool2d" in op for op in ops) and not any("ChannelsLast" in op for op in ops)
    assert torch.allclose(ep.module()(x), model(x))
