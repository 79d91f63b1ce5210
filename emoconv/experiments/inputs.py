"""A corpus's examples for one model, prepared the same way for a cross-validation run and for the final model.

:func:`prepare_inputs` loads the (cached) features, fits the normaliser on the utterances that train, normalises
every utterance, fits the :class:`~emoconv.features.pipeline.InputPipeline` and shapes the examples. The runner
(:func:`emoconv.experiments.runner.execute_run`, one fold) and ``emoconv train``'s final model
(:func:`emoconv.experiments.final.train_final`, every speaker) both call it, so a shipped model is fed
exactly like the models its cross-validated figure comes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch

__all__ = ["RunInputs", "prepare_inputs"]


@dataclass
class RunInputs:
    """What one model sees of one corpus.

    ``utts`` / ``labels`` / ``y_all`` / ``speakers``: the corpus (one entry per utterance); ``feats``: raw
    features; ``norm``: the fitted normaliser; ``normed``: every utterance normalised; ``pipe``: the input
    pipeline; ``xs`` / ``groups``: the shaped examples and the utterance of each (several per utterance when
    segmented); ``input_shape``: one example's shape (what the model is built for).
    """

    utts: list[Any]
    labels: list[str]
    y_all: np.ndarray
    speakers: list[str]
    feats: Sequence[torch.Tensor]
    norm: Any
    normed: list[torch.Tensor]
    pipe: Any
    xs: list[torch.Tensor]
    groups: np.ndarray

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.xs[0].shape)

    @property
    def frames(self) -> int | None:
        return self.pipe.frames

    def as_utterances(self) -> None:
        """Make every utterance's normalised features one example (estimators take them as they are)."""
        self.xs, self.groups = list(self.normed), np.arange(len(self.normed))


def prepare_inputs(ws: Any, corpus: str, feat_cfg: Any, norm_mode: str, input_cfg: Any,
                   fit_idx: Sequence[int] | None = None, segmented: bool = False) -> RunInputs:
    """Examples of ``corpus`` for a model (``fit_idx``: the utterances the normaliser is fitted on; all if None)."""
    from ..features import Normalizer
    from ..features.pipeline import InputPipeline

    utts = ws.utterances(corpus)
    labels = ws.labels(corpus)
    index = {lab: i for i, lab in enumerate(labels)}
    y_all = np.array([index[u.label] for u in utts])
    speakers = [u.speaker for u in utts]
    feats = ws.features(corpus, feat_cfg)
    idx = range(len(utts)) if fit_idx is None else fit_idx
    norm = Normalizer(norm_mode).fit([feats[i] for i in idx], [speakers[i] for i in idx])
    normed = norm.transform_many(feats, speakers) if norm_mode != "none" else list(feats)
    pipe = InputPipeline.fit(input_cfg, normed, segmented)  # the lengths of the whole corpus (no labels)
    xs, groups = pipe.shape(normed)
    return RunInputs(utts, labels, y_all, speakers, feats, norm, normed, pipe, xs, groups)
