"""One interface for every model family, so the runner trains and scores them all the same way.

A registered model builder returns either a torch network or an estimator (the SVM, the network + ELM
systems). :func:`as_classifier` wraps it in a :class:`Classifier`:

* ``fit(train, val, progress, checkpoint)`` on :class:`Split` partitions (``val`` may be ``None``: fixed
  epochs; ``checkpoint`` a :class:`~emoconv.training.checkpoint.TrainingCheckpoint` a network resumes from);
* ``predict_proba(split)`` -> ``(N, K)`` per example, ``predict(split)`` -> the family's own decision rule or
  ``None`` (then the arg-max of the probabilities);
* ``n_parameters()``, ``stats()`` (training history, grid, chosen hyper-parameters, MTS branch usage: the
  fields of the run record the family can fill), ``model`` (what a bundle or an embedding stores);
* capabilities: ``shapes_inputs`` (examples are padded/segmented by ``input``; estimators get each
  utterance's features as they are), ``bundleable``, ``noise_conditions``.

>>> import numpy as np, torch
>>> from emoconv.training import TrainConfig
>>> from emoconv.models import build_model
>>> split = Split([torch.randn(1, 20, 8) for _ in range(6)], np.array([0, 1] * 3), np.arange(6), ["a"] * 6)
>>> clf = as_classifier(lambda: build_model("ecnet", 2, (1, 20, 8)), TrainConfig(max_epochs=1, progress=False), 2)
>>> clf.fit(split, None); clf.predict_proba(split).shape
(6, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence

import numpy as np
import torch

__all__ = ["Classifier", "EstimatorClassifier", "Split", "TorchClassifier", "as_classifier"]


@dataclass
class Split:
    """One partition as model examples: ``x[i]`` (a tensor), ``y[i]``, the utterance ``groups[i]`` it comes from,
    and ``speakers[i]``. ``examples`` is the trainer's view when it differs (noisy copies redrawn per epoch)."""

    x: Sequence[torch.Tensor]
    y: np.ndarray
    groups: np.ndarray
    speakers: Sequence[str]
    examples: Any = None

    def __len__(self) -> int:
        return len(self.x)

    def as_examples(self) -> Any:
        from ..training import Examples

        return self.examples if self.examples is not None else Examples(list(self.x), self.y, self.groups)


class Classifier(Protocol):
    model: Any
    shapes_inputs: bool
    bundleable: bool
    noise_conditions: bool

    def fit(self, train: Split, val: Split | None, progress: Any = None, checkpoint: Any = None) -> None: ...

    def predict_proba(self, data: Split) -> np.ndarray: ...

    def predict(self, data: Split) -> np.ndarray | None: ...

    def n_parameters(self) -> int: ...

    def stats(self) -> dict[str, Any]: ...


class TorchClassifier:
    """A network trained by :func:`emoconv.training.fit` (grid search, early stopping, schedules)."""

    shapes_inputs = True
    bundleable = True
    noise_conditions = True

    def __init__(self, build: Callable[[], torch.nn.Module], cfg: Any, n_classes: int) -> None:
        from ..training.config import resolve_device

        self.build, self.cfg, self.n_classes = build, cfg, n_classes
        self.device = resolve_device(cfg.device)
        self.model: Any = None
        self.result: Any = None
        self.usage: Any = None

    def fit(self, train: Split, val: Split | None, progress: Any = None, checkpoint: Any = None) -> None:
        from ..training import fit

        self.result = fit(self.build, train.as_examples(), None if val is None else val.as_examples(), self.cfg,
                          n_classes=self.n_classes, progress=progress, checkpoint=checkpoint)
        self.model = self.result.model

    def predict_proba(self, data: Split) -> np.ndarray:
        from ..training import predict_logits

        tracking = _track_usage(self.model, True)
        logits = predict_logits(self.model, data.as_examples(), self.cfg.eval_batch_size, self.device)
        if tracking is not None:
            self.usage = _track_usage(self.model, False)
        return torch.softmax(torch.from_numpy(logits), 1).numpy()

    def predict(self, data: Split) -> np.ndarray | None:
        return None

    def n_parameters(self) -> int:
        from ..training import n_parameters

        return n_parameters(self.model)

    def stats(self) -> dict[str, Any]:
        r = self.result
        return {"val": _chosen_val(r), "hparams": r.hparams, "grid": r.grid, "best_epoch": r.best_epoch,
                "epochs": r.epochs, "history": r.history, "epoch_time_mean_s": r.epoch_time_mean,
                "branch_usage": self.usage}


class EstimatorClassifier:
    """An estimator with ``fit(train_x, y_train, val_x, y_val)`` and ``predict_proba(x)`` (optionally ``predict``,
    ``uses_speakers`` for per-speaker standardisation, ``n_parameters``, ``network``).

    Under noise conditions (``augment``) an estimator on per-utterance features fits the clean training utterances
    and their noisy copies (the copies of the first epoch's draw, or every planned copy with ``expand``) at once.
    """

    def __init__(self, estimator: Any, segmented: bool = False) -> None:
        self.model = estimator
        self.shapes_inputs = segmented  # segments are its examples; otherwise each utterance's features as they are
        self.noise_conditions = not segmented  # noisy copies are more utterances; segments are not
        # estimators that say so are bundled (emoconv.estimator_bundle: the SVM, the network + ELM systems)
        self.bundleable = bool(getattr(estimator, "bundleable", False))

    def _speakers(self, data: Split) -> dict[str, Any]:
        return {"speakers": list(data.speakers)} if getattr(self.model, "uses_speakers", False) else {}

    def fit(self, train: Split, val: Split | None, progress: Any = None, checkpoint: Any = None) -> None:
        """Fit the estimator (minutes at most: no checkpoints; ``checkpoint`` is ignored)."""
        kw: dict[str, Any] = {}
        if getattr(self.model, "uses_speakers", False):  # e.g. the SVM's per-speaker standardisation
            kw = {"train_speakers": list(train.speakers), "val_speakers": [] if val is None else list(val.speakers)}
        self.model.fit(list(train.x), train.y, None if val is None else list(val.x),
                       None if val is None else val.y, **kw)

    def predict_proba(self, data: Split) -> np.ndarray:
        return np.asarray(self.model.predict_proba(list(data.x), **self._speakers(data)), dtype=np.float32)

    def predict(self, data: Split) -> np.ndarray | None:
        if not hasattr(self.model, "predict") or self.shapes_inputs:  # segment votes are aggregated, not ruled
            return None
        return np.asarray(self.model.predict(list(data.x), **self._speakers(data)), dtype=np.int64)

    def n_parameters(self) -> int:
        n = getattr(self.model, "n_parameters", None)
        n = n() if callable(n) else n
        net = getattr(self.model, "network", None)
        if n is None and isinstance(net, torch.nn.Module):  # network + ELM estimators: the network's weights
            n = sum(p.numel() for p in net.parameters() if p.requires_grad)
        return int(n) if n is not None else 0

    def stats(self) -> dict[str, Any]:
        # the network + ELM systems keep the trainer's epoch records of their network (emoconv.layers.elm)
        history = list(getattr(self.model, "history", None) or [])
        times = [h["time_s"] for h in history if "time_s" in h]
        return {"val": {}, "hparams": {}, "grid": [], "best_epoch": getattr(self.model, "best_epoch", None),
                "epochs": len(history), "history": history,
                "epoch_time_mean_s": float(np.mean(times)) if times else 0.0, "branch_usage": None}


def as_classifier(build: Callable[[], Any], cfg: Any, n_classes: int, segmented: bool = False) -> Classifier:
    """The :class:`Classifier` of what ``build()`` returns (a network or an estimator)."""
    probe = build()
    if isinstance(probe, torch.nn.Module):
        return TorchClassifier(build, cfg, n_classes)
    return EstimatorClassifier(probe, segmented)


def _chosen_val(result: Any) -> dict[str, float]:
    """Validation figures at the chosen grid point (used to pick variants without touching test data)."""
    for trial in result.grid:
        if all(trial.get(k) == v for k, v in result.hparams.items()) and "val_ua" in trial:
            return {"ua": trial["val_ua"], "accuracy": trial["val_accuracy"], "loss": trial["val_loss"]}
    return {}


def _track_usage(model: torch.nn.Module, start: bool) -> Any:
    """Start (start=True) or read and stop (False) MTS branch-usage tracking; None without MTS layers."""
    from ..layers import mts, mts_stats

    layers = [m for m in model.modules() if isinstance(m, mts.MTSConv2d)]
    if not layers:
        return None
    if start:
        for layer in layers:
            layer.track_usage(True)
        return True
    per_layer = mts_stats.mts_usage(model, per_layer=True)
    usage = {"per_layer": {name: {f"{k:g}": v for k, v in u.items()} for name, u in per_layer.items()}}
    try:
        usage["mean"] = {f"{k:g}": v for k, v in mts_stats.mts_usage(model).items()}
    except Exception:  # layers with different scale sets: per-layer figures only
        usage["mean"] = {}
    # branches that can differ from the unscaled one (a kernel with floor(k*s) = k is an exact copy)
    usage["effective_branches"] = {name: layer.effective_branches for name, layer in mts_stats.mts_layers(model)}
    for layer in layers:
        layer.track_usage(False)
    return usage
