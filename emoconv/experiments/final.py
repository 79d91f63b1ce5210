"""The model a user ships: one network trained on every speaker of a corpus, written as a bundle.

Cross-validation (:func:`emoconv.experiments.run_sweep`) says how well a recipe does on speakers it has not
heard; :func:`train_final` then trains the same recipe once more on all speakers, with the same
normalisation, input shaping, augmentation and training settings, for a fixed number of epochs (there is no
held-out speaker left to stop on): ``train.max_epochs`` with ``train.fixed_epochs``, else the median of the
epochs that cross-validation's early stopping picked. The bundle carries the cross-validated evidence.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["final_epochs", "train_final"]


def final_epochs(recipe: Any, records: list[dict[str, Any]]) -> int:
    """Epochs for the final model: ``max_epochs`` under ``fixed_epochs``, else the folds' median best epoch;
    0 for an estimator (fitted once)."""
    if records and all(not r.get("epochs") for r in records):
        return 0  # an estimator (the SVM): fitted once, no epochs
    if recipe.train.fixed_epochs:
        return int(recipe.train.max_epochs)
    best = [int(r["best_epoch"]) for r in records if r.get("best_epoch")]
    if not best:
        raise ConfigError("no cross-validation run chose an epoch; the final model cannot be sized")
    return max(1, int(round(float(np.median(best)))))


def train_final(recipe: Any, corpus: str, ws: Any, out: str | Path, epochs: int, evidence: dict[str, Any],
                progress: bool = True) -> Path:
    """Train ``recipe.models[0]`` on every utterance of ``corpus`` for ``epochs`` epochs; write the bundle.

    Returns the bundle folder. ``evidence`` (from :func:`emoconv.experiments.evidence.variant_evidence`) is
    stored in ``bundle.json`` and as ``evidence.json`` beside it, so ``emoconv predict --info`` shows it.
    """
    import torch

    from .. import __version__
    from ..bundle import save_bundle
    from ..features import Normalizer
    from ..fileio import atomic_write_json
    from ..models import build_model
    from ..training import Examples, fit
    from ..features.pipeline import InputPipeline

    model_spec = recipe.models[0]
    utts = ws.utterances(corpus)
    labels = ws.labels(corpus)
    index = {lab: i for i, lab in enumerate(labels)}
    y_all = np.array([index[u.label] for u in utts])
    speakers = [u.speaker for u in utts]
    feat_cfg = recipe.features_for(model_spec)
    feats = ws.features(corpus, feat_cfg)
    input_cfg = recipe.input_for(corpus, model_spec)
    if input_cfg.length == "segment":
        raise ConfigError("emoconv train: input.length: segment is not supported for the final model; use "
                          "variable or pad")
    norm_mode = recipe.normalize_for(model_spec)
    norm = Normalizer(norm_mode).fit(list(feats), speakers)
    normed = norm.transform_many(feats, speakers) if norm_mode != "none" else list(feats)
    pipe = InputPipeline.fit(input_cfg, normed)
    xs, _ = pipe.shape(normed)
    frames = pipe.frames
    input_shape = tuple(xs[0].shape)
    params = dict(model_spec.params)

    def build() -> Any:
        return build_model(model_spec.name, n_classes=len(labels), input_shape=input_shape, **params)

    cfg = replace(recipe.train, max_epochs=max(1, int(epochs)), seed=recipe.seeds[0], progress=progress)
    network = isinstance(build(), torch.nn.Module)
    if network:
        train: Any = Examples(list(xs), y_all, np.arange(len(xs)))
        if cfg.wave_augment.active:
            from .wave_augment import augmented_train

            train = augmented_train(cfg.wave_augment, ws, feat_cfg, utts, speakers, norm, pipe.shape_one,
                                    range(len(utts)), y_all, dict(enumerate(xs)))
        torch.manual_seed(cfg.seed)
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=int(epochs), desc="final model (all speakers)", unit="epoch")
        try:
            model = fit(build, train, None, cfg, n_classes=len(labels),
                        progress=_EpochBar(bar) if bar else None).model
        finally:
            if bar is not None:
                bar.close()
    else:  # an estimator (the SVM): fitted once on every speaker's features as they are
        from .classifiers import Split, as_classifier

        clf = as_classifier(build, cfg, len(labels))
        if not clf.bundleable:
            raise ConfigError(f"emoconv train: model {model_spec.name!r} cannot be bundled (bundleable: networks "
                              "and the svm)")
        clf.fit(Split(list(normed), y_all, np.arange(len(utts)), speakers), None)
        model = clf.model
    extra = {"recipe": recipe.name, "corpus": corpus, "variant": model_spec.display, "fold": None,
             "seed": cfg.seed, "n_utterances": len(utts), "corpus_content": ws.fingerprint(corpus),
             "protocol": {"config": evidence.get("protocol"), "fold": {"train": "all speakers",
                                                                      "test_speakers": []}},
             "final_model": {"epochs": int(epochs) if network else None, "speakers": sorted(set(speakers))},
             "emoconv_version": __version__}  # no "metrics": no fold of its own; evidence.json holds the figures
    path = save_bundle(Path(out), model=model, model_name=model_spec.name, model_params=params,
                       input_shape=input_shape, labels=labels, features=feat_cfg, input_cfg=input_cfg,
                       frames=frames, normalizer=norm, extra=extra)
    atomic_write_json(path / "evidence.json", {**evidence, "bundle_fold": None, "bundle_seed": cfg.seed})
    return path


class _EpochBar:
    """Adapts the trainer's per-epoch ``set_postfix`` / ``update(0)`` calls to one tick per epoch."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def set_postfix(self, **kw: Any) -> None:
        self.bar.set_postfix(**kw)

    def update(self, n: int = 0) -> None:
        self.bar.update(1)
