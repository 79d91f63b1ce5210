"""Class-weighted cross-entropy for imbalanced emotion corpora.

Reference: the multi-dilated CNN SER system (Scientific Reports 15:8254, 2025), Eq. 15: the weight of class
``c`` is ``r_c = alpha * N / N_c`` with ``N`` training examples, ``N_c`` of them in class ``c``, and a scale
``alpha``. The paper does not give ``alpha``; the default ``alpha = 1 / K`` makes a balanced set weigh 1 per
class (the same as scikit-learn's "balanced" weights and the trainer's default class weighting).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, ProtocolError


def class_weights(labels: Sequence[int] | np.ndarray, n_classes: int, alpha: float | None = None) -> torch.Tensor:
    """``r_c = alpha * N / N_c`` as a float32 tensor ``(K,)``; ``alpha`` defaults to ``1 / K``.

    >>> [round(w, 4) for w in class_weights([0, 0, 0, 1], 2).tolist()]
    [0.6667, 2.0]
    """
    y = np.asarray(labels, dtype=np.int64).ravel()
    if n_classes < 1:
        raise ConfigError(f"n_classes must be >= 1, got {n_classes}")
    if y.size == 0:
        raise ProtocolError("class weights: the training set is empty; check the split")
    if y.min() < 0 or y.max() >= n_classes:
        raise ConfigError(f"class weights: labels must be in [0, {n_classes - 1}], got {y.min()}..{y.max()}")
    a = 1.0 / n_classes if alpha is None else float(alpha)
    if a <= 0:
        raise ConfigError(f"class weights: alpha must be > 0, got {a}")
    counts = np.bincount(y, minlength=n_classes)
    if (counts == 0).any():
        missing = ", ".join(str(c) for c in np.flatnonzero(counts == 0))
        raise ProtocolError(f"class weights: class(es) {missing} have no training examples; "
                            "drop them from the label set or change the split")
    return torch.tensor(a * y.size / counts, dtype=torch.float32)


def weighted_cross_entropy(labels: Sequence[int] | np.ndarray, n_classes: int,
                           alpha: float | None = None) -> nn.CrossEntropyLoss:
    """``nn.CrossEntropyLoss`` weighted by :func:`class_weights` of the training ``labels``."""
    return nn.CrossEntropyLoss(weight=class_weights(labels, n_classes, alpha))
