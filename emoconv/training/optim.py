"""The optimiser every emoconv network trains with: Adam, fused where PyTorch has the kernel.

>>> import torch
>>> opt = adam(torch.nn.Linear(4, 2).parameters(), lr=1e-3, weight_decay=1e-4)
>>> type(opt).__name__, opt.defaults["fused"]
('Adam', True)
"""

from __future__ import annotations

from typing import Any, Iterable

import torch

__all__ = ["adam"]


def adam(params: Iterable[Any], lr: float, weight_decay: float = 0.0, fused: bool = True) -> torch.optim.Adam:
    """``torch.optim.Adam``; ``fused`` (``train.fused_optimizer``) uses PyTorch's fused kernel when every
    parameter is a floating-point tensor on the CPU or a CUDA device (else the per-operation update)."""
    params = list(params)
    tensors = [p for group in params for p in (group["params"] if isinstance(group, dict) else [group])]
    ok = fused and tensors and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in tensors)
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **({"fused": True} if ok else {}))
