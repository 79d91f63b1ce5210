"""The early-stopping rule every training loop of emoconv uses (the trainer, the network + ELM estimators).

A score (higher is better: validation UA, or minus the validation loss) is watched epoch by epoch, optionally
smoothed over the last ``smooth`` epochs; an epoch that beats the best by more than ``min_delta`` becomes the
best (its weights are kept), any other epoch after ``min_epochs`` counts against ``patience``; training stops
once ``patience`` epochs in a row have not improved.

>>> rule = EarlyStopping(patience=2)
>>> [rule.step(epoch, -loss) for epoch, loss in enumerate([1.0, 0.8, 0.9, 0.85], start=1)]
[False, False, False, True]
>>> rule.best_epoch, rule.best_score
(2, -0.8)
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable

import numpy as np

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Best-epoch bookkeeping and the patience rule; :meth:`step` returns True when training should stop."""

    def __init__(self, patience: int, min_delta: float = 0.0, min_epochs: int = 0, smooth: int = 1) -> None:
        self.patience, self.min_delta, self.min_epochs, self.smooth = int(patience), float(min_delta), \
            int(min_epochs), max(1, int(smooth))
        self.best_score, self.best_epoch, self.best_state, self.bad = -math.inf, 0, None, 0
        self.last_score = -math.inf  # the latest (smoothed) score
        self._scores: list[float] = []

    def step(self, epoch: int, score: float, state: Callable[[], Any] | None = None) -> bool:
        """Record ``score`` of ``epoch``; keep ``state()`` (a copy of the weights) when it is the best so far.
        Returns whether ``patience`` epochs have now passed without improvement."""
        self._scores.append(float(score))
        smoothed = float(np.mean(self._scores[-self.smooth:]))
        self.last_score = smoothed
        if smoothed > self.best_score + self.min_delta:
            self.best_score, self.best_epoch, self.bad = smoothed, epoch, 0
            if state is not None:
                self.best_state = state()
        elif epoch > self.min_epochs:
            self.bad += 1
        return self.bad >= self.patience

    def state_dict(self) -> dict[str, Any]:
        """The bookkeeping so far (best score, epoch and weights, patience count, scores), for a checkpoint."""
        return {"best_score": self.best_score, "best_epoch": self.best_epoch, "best_state": self.best_state,
                "bad": self.bad, "last_score": self.last_score, "scores": list(self._scores)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s bookkeeping."""
        self.best_score, self.best_epoch, self.best_state = state["best_score"], state["best_epoch"], \
            state["best_state"]
        self.bad, self.last_score, self._scores = state["bad"], state["last_score"], list(state["scores"])

    @staticmethod
    def copy_of(module: Any) -> Callable[[], Any]:
        """A ``state`` callable: a deep copy of ``module.state_dict()``."""
        return lambda: copy.deepcopy(module.state_dict())
