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

__all__ = ["check_final", "check_fold_ensemble", "final_epochs", "fold_ensemble", "train_final"]


def check_final(recipe: Any, corpus: str) -> None:
    """Settings the final model cannot take; ``emoconv train`` checks them before cross-validation starts."""
    if recipe.input_for(corpus, recipe.models[0]).length == "segment":
        raise ConfigError("emoconv train: input.length: segment is not supported for the final model; use "
                          "variable or pad")


_GLOBAL_NORM = ("--final fold-ensemble: normalize: global gives each fold model its own statistics; use "
                "normalize=speaker or utterance, or --final all-speakers")


def _estimator_refused(name: str) -> ConfigError:
    return ConfigError(f"--final fold-ensemble: {name} is an estimator, not a network; use --final all-speakers")


def check_fold_ensemble(recipe: Any) -> None:
    """What :func:`fold_ensemble` cannot take, refused before cross-validation starts (a model whose input
    shape this meta-device probe cannot guess is left to the check on the fold bundles)."""
    import torch
    from torch import nn

    from ..models import build_model

    spec = recipe.models[0]
    if recipe.normalize_for(spec) == "global":
        raise ConfigError(_GLOBAL_NORM)
    try:
        with torch.device("meta"):
            probe = build_model(spec.name, n_classes=2, input_shape=(1, 300, 40), **dict(spec.params))
    except Exception:  # noqa: BLE001
        return
    if not isinstance(probe, nn.Module):
        raise _estimator_refused(spec.name)


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
                progress: bool = True, checkpoints: str | Path | None = None) -> Path:
    """Train ``recipe.models[0]`` on every utterance of ``corpus`` for ``epochs`` epochs; write the bundle.

    Returns the bundle folder. ``evidence`` (from :func:`emoconv.experiments.evidence.variant_evidence`) is
    stored in ``bundle.json`` and as ``evidence.json`` beside it, so ``emoconv predict --info`` shows it.
    ``checkpoints`` (a folder): the training saves its state there now and then, so that the same command after
    an interruption resumes it (:mod:`emoconv.training.checkpoint`); deleted once the bundle is written.
    """
    import torch

    from .. import __version__
    from ..bundle import save_bundle
    from ..fileio import atomic_write_json
    from ..models import build_model
    from ..features.kinds import is_segmented
    from .classifiers import Split, as_classifier
    from .inputs import prepare_inputs
    from .runner import _split_of

    model_spec = recipe.models[0]
    feat_cfg = recipe.features_for(model_spec)
    input_cfg = recipe.input_for(corpus, model_spec)
    check_final(recipe, corpus)
    segmented = is_segmented(feat_cfg)  # 3D-CNN volumes: every segment of an utterance is one example
    inputs = prepare_inputs(ws, corpus, feat_cfg, recipe.normalize_for(model_spec), input_cfg,
                            segmented=segmented)  # every speaker trains
    utts, labels, y_all, speakers = inputs.utts, inputs.labels, inputs.y_all, inputs.speakers
    input_shape = inputs.input_shape
    params = dict(model_spec.params)

    def build() -> Any:
        return build_model(model_spec.name, n_classes=len(labels), input_shape=input_shape, **params)

    cfg = replace(recipe.train, max_epochs=max(1, int(epochs)), seed=recipe.seeds[0], progress=progress)
    clf = as_classifier(build, cfg, len(labels), segmented)  # one interface for every family, as in the runner
    if not clf.bundleable:
        raise ConfigError(f"emoconv train: model {model_spec.name!r} cannot be bundled (bundleable: networks, "
                          "the svm and the network + ELM systems)")
    if not clf.shapes_inputs:  # an estimator (the SVM): fitted once on every speaker's features as they are
        inputs.as_utterances()
    groups = np.asarray(inputs.groups)
    train = Split(inputs.xs, y_all[groups], groups, [speakers[int(g)] for g in groups])
    if cfg.wave_augment.active and clf.shapes_inputs:
        from .wave_augment import augmented_train

        train = _split_of(augmented_train(cfg.wave_augment, ws, feat_cfg, utts, speakers, inputs.norm,
                                          inputs.pipe.shape_one, range(len(utts)), y_all,
                                          dict(enumerate(inputs.xs))), speakers)
    torch.manual_seed(cfg.seed)
    bar = None
    if progress and epochs:
        from tqdm import tqdm

        bar = tqdm(total=int(epochs), desc="final model (all speakers)", unit="epoch")
    ckpt = _final_checkpoint(checkpoints, recipe, corpus, ws, epochs)
    try:
        clf.fit(train, None, progress=_EpochBar(bar) if bar else None, checkpoint=ckpt)
    finally:
        if bar is not None:
            bar.close()
    model, norm, frames = clf.model, inputs.norm, inputs.frames
    trained_epochs = clf.stats()["epochs"] or None  # None for an estimator (fitted once)
    extra = {"recipe": recipe.name, "corpus": corpus, "variant": model_spec.display, "fold": None,
             "seed": cfg.seed, "n_utterances": len(utts), "corpus_content": ws.fingerprint(corpus),
             "protocol": {"config": evidence.get("protocol"), "fold": {"train": "all speakers",
                                                                      "test_speakers": []}},
             "final_model": {"epochs": trained_epochs, "speakers": sorted(set(speakers))},
             "emoconv_version": __version__}  # no "metrics": no fold of its own; evidence.json holds the figures
    path = save_bundle(Path(out), model=model, model_name=model_spec.name, model_params=params,
                       input_shape=input_shape, labels=labels, features=feat_cfg, input_cfg=input_cfg,
                       frames=frames, normalizer=norm, extra=extra)
    atomic_write_json(path / "evidence.json", {**evidence, "bundle_fold": None, "bundle_seed": cfg.seed})
    if ckpt is not None:
        ckpt.clear()
    return path


def _final_checkpoint(folder: str | Path | None, recipe: Any, corpus: str, ws: Any, epochs: int) -> Any:
    """The final training's checkpoint, keyed by everything it depends on (None: no folder, or switched off)."""
    from .. import __version__
    from ..fileio import stable_hash
    from ..training.checkpoint import TrainingCheckpoint

    if folder is None:
        return None
    key = stable_hash([recipe.to_dict(), corpus, ws.fingerprint(corpus), int(epochs), __version__])
    return TrainingCheckpoint.at(Path(folder) / f"{recipe.name}-{key}")


def fold_ensemble(records: list[Any], rundir: str | Path, out: str | Path, evidence: dict[str, Any]) -> Path:
    """The cross-validation's fold models as one bundle (:class:`~emoconv.models.ensemble.FoldEnsemble`: their
    probabilities averaged), instead of one more model trained on every speaker; returns the bundle folder.

    ``records``: one finished run per fold, each with its bundle (the sweep ran with ``bundle: all``). The
    members must share features, input shaping, classes and normalisation rule; a per-speaker or per-utterance
    normalised model normalises each file by its own statistics at prediction, whatever its fold, but the
    folds' global statistics differ, so ``normalize: global`` is refused. Each member has seen every speaker
    but its fold's test speakers; no speaker is held out from the ensemble as a whole, so its figure is the
    folds' cross-validated one (``evidence``), measured on the members one by one.
    """
    from .. import __version__
    from ..bundle import load_bundle, save_bundle

    rundir = Path(rundir)
    records = sorted(records, key=lambda r: (int(r["fold"]), int(r["seed"])))
    missing = [int(r["fold"]) for r in records if not r.get("bundle")]
    if missing:
        raise ConfigError(f"{rundir}: the runs of fold(s) {missing} kept no model (made without --final "
                          "fold-ensemble); pass another --workdir")
    bundles = [load_bundle(rundir / r["bundle"]) for r in records]
    first = bundles[0]
    if first.estimator:
        raise _estimator_refused(first.meta["model"])
    if first.normalizer is not None and first.normalizer.mode == "global":
        raise ConfigError(_GLOBAL_NORM)
    for b, r in zip(bundles[1:], records[1:]):
        for what in ("labels", "features", "input", "frames", "input_shape"):
            if b.meta.get(what) != first.meta.get(what):
                raise ConfigError(f"{rundir / r['bundle']}: its {what} differ from fold {records[0]['fold']}'s; "
                                  "the fold models cannot be averaged (rerun into a new --workdir)")
    members = [{"model": b.meta["model"], "params": b.meta["model_params"]} for b in bundles]
    from ..models.ensemble import FoldEnsemble

    model = FoldEnsemble([b.model for b in bundles]).eval()
    extra = {"recipe": records[0].get("recipe"), "corpus": records[0].get("corpus"),
             "variant": f"{records[0].get('variant')} (fold ensemble of {len(bundles)})", "fold": None,
             "seed": records[0].get("seed"), "n_utterances": records[0].get("n_utterances"),
             "corpus_content": records[0].get("corpus_content"),
             "protocol": {"config": evidence.get("protocol"), "fold": {"train": "every fold model's training "
                                                                       "speakers", "test_speakers": []}},
             "final_model": {"kind": "fold ensemble", "members": len(bundles),
                             "folds": [int(r["fold"]) for r in records], "epochs": None},
             "emoconv_version": __version__}
    path = save_bundle(Path(out), model=model, model_name="ensemble", model_params={"members": members},
                       input_shape=tuple(first.meta["input_shape"]), labels=first.labels, features=first.features,
                       input_cfg=first.input_cfg, frames=first.meta.get("frames"), normalizer=first.normalizer,
                       extra=extra)
    from ..fileio import atomic_write_json

    atomic_write_json(path / "evidence.json", {**evidence, "bundle_fold": None, "bundle_seed": None})
    return path


class _EpochBar:
    """Adapts the trainer's per-epoch ``set_postfix`` / ``update(0)`` calls to one tick per epoch."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def set_postfix(self, **kw: Any) -> None:
        self.bar.set_postfix(**kw)

    def update(self, n: int = 0) -> None:
        self.bar.update(1)
