"""The batch loop's shared pieces: examples in memory, batching, the model-call conventions, batched scoring.

Conventions honoured for models: ``model.variable_length`` -> batches are length-bucketed and padded, and the
model is called as ``model(x, lengths=lengths)``; ``model.needs_labels`` -> during training
``model(x, ..., labels=y)`` (margin heads). A model whose outputs are not one row of logits per example (the
step-level networks of the network + ELM systems, :class:`emoconv.layers.elm.StepTraining`) owns three more
pieces: ``collate(items) -> (x, lengths)`` builds its batches (in the seeded order of fixed-shape examples),
``training_loss(outputs, y, lengths, weight)`` is its loss, and ``utterance_logits(outputs, lengths)`` maps its
outputs to ``(B, K)`` logits for validation figures and scoring.

>>> ex = Examples([torch.zeros(1, 5, 4) for _ in range(3)], [0, 1, 0])
>>> [tuple(x.shape) for x, _, _, _ in iterate_batches(ex, 2, False, False, None)]
[(2, 1, 5, 4), (1, 1, 5, 4)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Examples", "collate_of", "evaluate", "forward", "is_variable", "iterate_batches", "loss_of",
           "predict_logits"]


@dataclass
class Examples:
    """Examples in memory: ``x[i]`` a tensor ``(C, T, F)`` (or any per-example shape), ``y[i]`` a class index.

    ``group[i]`` maps a segment back to its utterance (segmented inputs); ``None`` = one example per utterance.
    """

    x: list[torch.Tensor]
    y: np.ndarray
    group: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.y = np.asarray(self.y, dtype=np.int64)
        if len(self.x) != len(self.y):
            raise ValueError(f"{len(self.x)} examples but {len(self.y)} labels")

    def __len__(self) -> int:
        return len(self.x)


def is_variable(model: nn.Module) -> bool:
    return bool(getattr(model, "variable_length", False))


def collate_of(model: nn.Module) -> Callable[[list[torch.Tensor]], tuple[torch.Tensor, torch.Tensor]] | None:
    """The model's own batch builder ``collate(items) -> (x, lengths)``, or None (stack / pad)."""
    return getattr(model, "collate", None)


def loss_of(model: nn.Module) -> Callable[..., torch.Tensor]:
    """``loss(outputs, y, lengths, weight)``: the model's ``training_loss``, else cross-entropy on ``(B, K)`` logits."""
    own = getattr(model, "training_loss", None)
    if own is not None:
        return own
    return lambda logits, y, lengths, weight: F.cross_entropy(logits.float(), y, weight=weight)


def _utterance_logits(model: nn.Module, out: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    own = getattr(model, "utterance_logits", None)
    return out if own is None else own(out, lengths)


def iterate_batches(
    data: Examples, batch_size: int, variable: bool, shuffle: bool, rng: np.random.Generator | None,
    collate: Callable[[list[torch.Tensor]], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, np.ndarray]]:
    """Yield ``(x, lengths, y, indices)``; ``x`` is (B, C, T, F) (padded when ``variable``).

    ``collate`` (a model's own batch builder) makes ``(x, lengths)`` of the examples of each batch, taken in
    the order of fixed-shape examples (a seeded permutation when ``shuffle``).
    """
    n = len(data)
    if variable and collate is None:
        from .batching import bucket_batches, pad_batch

        lengths = [int(t.shape[1]) if t.dim() >= 2 else int(t.shape[0]) for t in data.x]
        seed = int(rng.integers(2**31)) if (shuffle and rng is not None) else 0
        for idx in bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed):
            idx = np.asarray(idx)
            x, lens = pad_batch([data.x[i] for i in idx])
            yield x, lens, torch.from_numpy(data.y[idx]), idx
        return
    order = rng.permutation(n) if (shuffle and rng is not None) else np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        if collate is not None:
            x, lens = collate([data.x[i] for i in idx])
            yield x, lens, torch.from_numpy(data.y[idx]), idx
            continue
        x = torch.stack([data.x[i] for i in idx])
        yield x, None, torch.from_numpy(data.y[idx]), idx


def forward(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None,
             labels: torch.Tensor | None = None) -> torch.Tensor:
    kwargs: dict[str, Any] = {}
    if lengths is not None:
        kwargs["lengths"] = lengths
    if labels is not None and getattr(model, "needs_labels", False):
        kwargs["labels"] = labels
    return model(x, **kwargs)


@torch.no_grad()
def predict_logits(model: nn.Module, data: Examples, batch_size: int = 64, device: str = "cpu") -> np.ndarray:
    """Logits ``(N, K)`` for every example, in the order of ``data``."""
    model.eval()
    out = np.zeros((len(data), 0), dtype=np.float32)
    chunks: list[tuple[np.ndarray, np.ndarray]] = []
    for x, lens, _, idx in iterate_batches(data, batch_size, is_variable(model), False, None, collate_of(model)):
        lens = None if lens is None else lens.to(device)
        logits = _utterance_logits(model, forward(model, x.to(device), lens), lens)
        chunks.append((idx, logits.float().cpu().numpy()))
    if chunks:
        k = chunks[0][1].shape[1]
        out = np.zeros((len(data), k), dtype=np.float32)
        for idx, lg in chunks:
            out[idx] = lg
    return out


def evaluate(model: nn.Module, data: Examples, batch_size: int, device: str,
              weight: torch.Tensor | None) -> tuple[float, float, float]:
    """(loss, accuracy, UA) on ``data``.

    A model with its own ``training_loss`` is scored batch by batch: the loss is the mean over batches of its
    loss, weighted by the batch's example count.
    """
    if getattr(model, "training_loss", None) is not None:
        loss, logits = _own_loss_and_logits(model, data, batch_size, device, weight)
    else:
        logits = torch.from_numpy(predict_logits(model, data, batch_size, device))
        loss = float(F.cross_entropy(logits, torch.from_numpy(data.y), weight=weight))
    pred = logits.argmax(1).numpy()
    acc = float(np.mean(pred == data.y))
    recalls = [np.mean(pred[data.y == c] == c) for c in np.unique(data.y)]
    return loss, acc, float(np.mean(recalls))


@torch.no_grad()
def _own_loss_and_logits(model: nn.Module, data: Examples, batch_size: int, device: str,
                         weight: torch.Tensor | None) -> tuple[float, torch.Tensor]:
    model.eval()
    total, logits = 0.0, torch.zeros(len(data), 0)
    for x, lens, y, idx in iterate_batches(data, batch_size, is_variable(model), False, None, collate_of(model)):
        lens = None if lens is None else lens.to(device)
        out = forward(model, x.to(device), lens)
        total += float(model.training_loss(out, y.to(device), lens, weight)) * len(idx)
        part = _utterance_logits(model, out, lens).float().cpu()
        if logits.shape[1] == 0:
            logits = torch.zeros(len(data), part.shape[1])
        logits[torch.from_numpy(idx)] = part
    return total / max(len(data), 1), logits
