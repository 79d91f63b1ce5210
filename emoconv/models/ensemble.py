"""An ensemble of trained networks that averages their class probabilities: what ``emoconv train --final
fold-ensemble`` ships (the cross-validation's fold models, instead of one more model trained on every speaker).

:class:`FoldEnsemble` holds ``K`` member networks that take the same input; its output is the log of their
mean softmax, so ``softmax(ensemble(x))`` is the members' averaged probabilities and everything that reads a
network's logits (``emoconv predict``, ``--timeline``, the ONNX export) reads the ensemble's unchanged.

>>> import torch
>>> from emoconv.models import build_model
>>> members = [{"model": "mts.a1", "params": {"conv": "standard"}}] * 2
>>> net = build_model("ensemble", n_classes=4, input_shape=(1, 60, 40), members=members)
>>> out = net(torch.randn(3, 1, 60, 40))
>>> out.shape, bool(torch.allclose(out.softmax(1).sum(1), torch.ones(3)))
(torch.Size([3, 4]), True)
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn

from ..errors import ConfigError
from . import MODELS

__all__ = ["FoldEnsemble"]


class FoldEnsemble(nn.Module):
    """Mean of ``members``' class probabilities, returned as log-probabilities ``(B, n_classes)``.

    Args:
        members: networks with the same input ``(B, C, T, F)`` and the same classes. Variable-length members
            (those with ``variable_length = True``) take ``lengths``; the ensemble is variable-length when all
            of them are.
    """

    def __init__(self, members: Sequence[nn.Module]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ConfigError(f"an ensemble needs at least two members, got {len(members)}")
        self.members = nn.ModuleList(members)
        self.variable_length = all(getattr(m, "variable_length", False) for m in members)
        self._log_k = math.log(len(members))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        outs = []
        for m in self.members:
            kwargs = {"lengths": lengths} if lengths is not None and getattr(m, "variable_length", False) else {}
            outs.append(torch.log_softmax(m(x, **kwargs), dim=1))
        return torch.logsumexp(torch.stack(outs), dim=0) - self._log_k  # log(mean(softmax)), stable


@MODELS.register("ensemble")
def build(n_classes: int, input_shape: Sequence[int], members: Sequence[dict[str, Any]] = (),
          **params: Any) -> FoldEnsemble:
    """``members``: ``[{"model": NAME, "params": {...}}, ...]``, each built with ``build_model`` (untrained)."""
    from . import build_model

    if params:
        raise ConfigError(f"model ensemble: unknown parameter(s) {', '.join(sorted(params))}; it takes members")
    nets = []
    for i, spec in enumerate(members):
        if not isinstance(spec, dict) or not isinstance(spec.get("model"), str) or spec["model"] == "ensemble":
            raise ConfigError(f"model ensemble: members.{i} must be {{model: NAME, params: {{...}}}} of a network")
        nets.append(build_model(spec["model"], n_classes=n_classes, input_shape=tuple(input_shape),
                                **dict(spec.get("params") or {})))
    return FoldEnsemble(nets)
