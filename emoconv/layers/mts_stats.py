"""Model-level helpers for multi-time-scale convolution: find the MTS layers of a model, count which scale
wins (branch usage), fold reference-mode copies in, collect penalty terms, and probe a batch (per-scale
win shares, response amplitudes and each branch's gradient on the shared kernel).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .mts import MTSConv2d

__all__ = ["average_reference_kernels", "branch_gradients", "mts_layers", "mts_usage", "penalty_loss",
           "probe_mts", "track_mts_usage"]


def mts_layers(model: nn.Module) -> list[tuple[str, MTSConv2d]]:
    """All MTS layers of ``model`` with their qualified names."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, MTSConv2d)]


def track_mts_usage(model: nn.Module, enabled: bool = True) -> None:
    """Start (with reset) or stop usage counting in every MTS layer of ``model``."""
    for _, layer in mts_layers(model):
        layer.track_usage(enabled)


def mts_usage(model: nn.Module, per_layer: bool = False) -> dict:
    """Branch usage of ``model``'s MTS layers, averaged over layers: ``{scale: share}`` (shares sum to 1).

    With ``per_layer=True``: ``{layer_name: {scale: share}}``. Layers that saw no input are skipped;
    an empty dict means no MTS layer or nothing tracked. Layers must share one scale set to be averaged.
    """
    seen = [(n, layer.usage()) for n, layer in mts_layers(model) if float(layer._usage_counts.sum()) > 0]
    if per_layer:
        return dict(seen)
    if not seen:
        return {}
    keys = {tuple(u) for _, u in seen}
    if len(keys) > 1:
        raise ConfigError(f"mts_usage: layers use different scale sets {sorted(keys)}; pass per_layer=True")
    scales = next(iter(keys))
    return {s: sum(u[s] for _, u in seen) / len(seen) for s in scales}


def average_reference_kernels(model: nn.Module) -> None:
    """Call once per epoch: folds reference-mode copies into the shared kernels (no-op in shared mode)."""
    for _, layer in mts_layers(model):
        layer.average_reference_kernels()


def penalty_loss(model: nn.Module) -> torch.Tensor:
    """Sum of the layers' ``penalty_kind="loss"`` terms from the last forward; add it to the training loss."""
    terms = [layer.penalty_loss() for _, layer in mts_layers(model)]
    if terms:
        return torch.stack(terms).sum()
    p = next(model.parameters(), None)
    return torch.zeros((), device=p.device if p is not None else None)


def probe_mts(model: nn.Module, x: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor | None = None) -> dict:
    """One diagnostic pass of ``model`` on a batch ``x`` (labels ``y``), in eval mode, no parameter change.

    For every shared-mode MTS layer: ``win`` (share of output points each scale wins), ``amplitude`` (mean
    absolute branch response before the bias), ``grad`` (L2 norm of the cross-entropy gradient that reaches
    the shared kernel through each branch: the gradient at the layer output, masked to the points the
    branch wins, back through that branch's resampled kernel) and ``grad_share`` (each branch's share of
    the summed norms). Keys are ``f"{s:g}"``. Layers in reference mode are skipped.
    """
    layers = [(n, m) for n, m in mts_layers(model) if m.mode == "shared" and len(m.scales) > 1]
    if not layers:
        return {}
    seen: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    grads: dict[str, torch.Tensor] = {}

    def hook(name: str):
        def fn(mod: nn.Module, inputs: tuple, out: torch.Tensor) -> None:
            seen[name] = (inputs[0].detach(), out)
            if out.requires_grad:
                out.register_hook(lambda g: grads.__setitem__(name, g.detach()))
        return fn

    handles = [m.register_forward_hook(hook(n)) for n, m in layers]
    was = model.training
    model.eval()
    try:
        with torch.enable_grad():
            logits = model(x) if lengths is None else model(x, lengths=lengths)
            F.cross_entropy(logits.float(), y).backward()
    finally:
        for h in handles:
            h.remove()
        model.train(was)
        model.zero_grad(set_to_none=True)
    report = {}
    for name, layer in layers:
        if name not in seen or name not in grads:
            continue
        win, maps, vecs = branch_gradients(layer, seen[name][0], grads[name][:, :layer.out_channels])
        norms = [float(v.norm()) for v in vecs]
        total = sum(norms) or 1.0
        keys = [f"{s:g}" for s in layer.scales]
        n_pts = win.numel()
        report[name] = {
            "win": {k: float((win == i).sum()) / n_pts for i, k in enumerate(keys)},
            "amplitude": {k: float(m.detach().abs().mean()) for k, m in zip(keys, maps)},
            "grad": {k: v for k, v in zip(keys, norms)},
            "grad_share": {k: v / total for k, v in zip(keys, norms)},
        }
    return report


def branch_gradients(layer: MTSConv2d, x: torch.Tensor, g_out: torch.Tensor
                     ) -> tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor]]:
    """Split the shared kernel's gradient by branch: ``(winner index into scales, branch maps, per-branch
    gradients)`` for layer input ``x`` and the gradient ``g_out`` at the layer output. The gradients sum to
    the kernel's full gradient (the max passes each output point's gradient to its winner only)."""
    w = layer.weight.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        maps = layer.branch_maps(x, w)
        stacked = torch.stack([maps[i].detach() for i in layer._order])  # unscaled first: it wins ties
        win = torch.tensor(layer._order, device=stacked.device)[stacked.argmax(0)]
        vecs = []
        for i, m in enumerate(maps):
            (gw,) = torch.autograd.grad((m * g_out * (win == i).to(m.dtype)).sum(), w, retain_graph=True,
                                        allow_unused=True)
            vecs.append(torch.zeros_like(w) if gw is None else gw)
    return win, [m.detach() for m in maps], vecs
