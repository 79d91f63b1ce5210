"""Planning and executing the runs of a recipe.

A run is one (corpus, model variant, fold, seed). Its key is a hash of everything
that affects its result (corpus spec, features, input shaping, normalisation,
protocol, model spec, training settings, seed, fold, package version), so the same
key always produces the same record and a changed recipe never reuses old results.
:func:`execute_run` is a pure function of (recipe, run): it loads (cached)
features, fits the normaliser on the training partition only, trains with the
validation grid search, scores the test partition and returns the record.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..config import to_dict
from ..errors import ConfigError
from ..features.kinds import features_dict
from ..fileio import stable_hash
from .classifiers import Split, as_classifier
from .runconfig import RunConfig, train_key  # noqa: F401  (train_key: re-exported)
from .recipe import ModelSpec, Recipe
from .record import RunRecord
from .workspace import Workspace


@dataclass(frozen=True)
class RunSpec:
    """One unit of work; ``key`` identifies its result."""

    key: str
    corpus: str
    model: ModelSpec
    variant: str
    fold: int
    seed: int
    order: int = 0
    config: RunConfig | None = field(default=None, compare=False)  # resolved at plan time

    def resolved(self, recipe: Recipe) -> RunConfig:
        """The run's configuration (resolved now for a spec built without one)."""
        return self.config or RunConfig.resolve(recipe, self.corpus, self.model, self.fold, self.seed)


def recipe_hash(recipe: Recipe) -> str:
    return stable_hash([recipe.to_dict(), __version__])


def run_key(recipe: Recipe, corpus: str, model: ModelSpec, fold: int, seed: int,
            corpus_fingerprint: str | None = None, noise_content: str | None = None) -> str:
    """Hash of everything that affects one run's result, wherever its files lie (``corpus_fingerprint``: the
    corpus's content, :meth:`Workspace.fingerprint`; ``noise_content``: the noise folder's,
    :func:`~emoconv.experiments.augment.noise_content`); see :meth:`RunConfig.key`."""
    return RunConfig.resolve(recipe, corpus, model, fold, seed).key(corpus_fingerprint, portable=True,
                                                                     noise_content=noise_content)


def plan_runs(recipe: Recipe, ws: Workspace) -> list[RunSpec]:
    """Every run of the recipe, in a stable order (corpus, model variant, fold, seed)."""
    runs = []
    from .augment import expand_conditions

    for corpus in recipe.corpora:
        order = 0
        for model in recipe.models:
            for variant in (v for m in model.variants() for v in expand_conditions(recipe, m)):
                label = variant_label(variant)
                for fold in range(len(ws.folds(corpus, variant))):
                    for seed in recipe.seeds:
                        cfg = RunConfig.resolve(recipe, corpus, variant, fold, seed)
                        runs.append(RunSpec(ws.run_key(cfg), corpus, variant, label, fold,
                                            seed, order, cfg))
                order += 1
    return runs


def variant_label(model: ModelSpec) -> str:
    """Readable label: the spec's label plus any swept parameter values."""
    base = model.display
    if "{" in base:  # "3D-CNN-DNN ({kernel})" -> "3D-CNN-DNN (2 x 2 x 128)": swept values in the label
        try:
            base = base.format(**{k: " x ".join(map(str, v)) if isinstance(v, (list, tuple)) else v
                                  for k, v in model.params.items()})
        except (KeyError, IndexError, ValueError):
            pass
    if model.protocol.get("kind") and f"[{model.protocol['kind']}]" not in base:
        base = f"{base} [{model.protocol['kind']}]"  # same model under another protocol: its own table row
    scales = model.params.get("scales")
    if model.params.get("conv") == "mts" and scales is not None and "{scales}" not in base:
        return f"{base} ({', '.join(f'{s:g}' for s in scales)})"
    return base


# -- one run ---------------------------------------------------------------------------------

def execute_run(recipe: Recipe, run: RunSpec, ws: Workspace, rundir: Path | None = None,
                progress: Any = None) -> RunRecord:
    """Train and evaluate one run; return its result record (:meth:`RunRecord.to_dict` is its JSON)."""

    from ..features.kinds import is_segmented
    from ..models import build_model
    from ..protocol import classification_metrics
    from ..training.config import resolve_device
    from .inputs import prepare_inputs

    t0 = time.perf_counter()
    rc = run.resolved(recipe)
    fold = ws.folds_for(run.corpus, rc.protocol)[run.fold]
    feat_cfg = rc.features
    segmented = is_segmented(feat_cfg)
    norm_mode = rc.normalize
    fit_idx = tuple(fold.train) + (tuple(fold.val) if rc.train.fixed_epochs else ())  # what trains
    inputs = prepare_inputs(ws, run.corpus, feat_cfg, norm_mode, rc.input, fit_idx, segmented)
    utts, labels, y_all, speakers = inputs.utts, inputs.labels, inputs.y_all, inputs.speakers
    norm, normed, pipe = inputs.norm, inputs.normed, inputs.pipe
    input_cfg = rc.input
    torch.manual_seed(run.seed)
    cfg = rc.run_train
    params = dict(run.model.params)
    n_classes = len(labels)
    test_utts = np.sort(np.asarray(fold.test, dtype=np.int64))  # the order part() yields
    device = resolve_device(cfg.device)
    input_shape = inputs.input_shape

    def build() -> Any:
        return build_model(run.model.name, n_classes=n_classes, input_shape=input_shape, **params)

    clf = as_classifier(build, cfg, n_classes, segmented)
    if not clf.shapes_inputs:  # an estimator on per-utterance features: each utterance's features as they are
        inputs.as_utterances()
    xs, groups, frames = inputs.xs, inputs.groups, (inputs.frames if clf.shapes_inputs else None)
    augment = rc.augment
    noisy_ids: list[str] | None = None
    describe = None
    if augment.active and not clf.noise_conditions:
        raise ConfigError(f"augment: model {run.model.display!r} is an estimator on segments; noise conditions "
                          "need one example per utterance (set models[i].augment: {condition: none})")

    def part(idx: tuple[int, ...]) -> Split:
        rows = np.flatnonzero(np.isin(groups, np.asarray(idx, dtype=np.int64)))
        g = groups[rows]
        return Split([xs[r] for r in rows], y_all[g], g, [speakers[i] for i in g])

    train, val, test = part(fit_idx), None if cfg.fixed_epochs else part(fold.val), part(fold.test)

    shape_one = pipe.shape_one
    if (augment.active or cfg.wave_augment.active) and (segmented or input_cfg.length == "segment"):
        raise ConfigError("augment / train.wave_augment need one example per utterance; use input.length "
                          "variable or pad")
    by_utt = {int(g): xs[r] for r, g in enumerate(groups)}
    if augment.active:  # noise conditions (emoconv.experiments.augment)
        from .augment import noisy_partitions

        shaping = shape_one if clf.shapes_inputs else (lambda t: t)  # estimators take features as they are
        parts = noisy_partitions(augment, ws, run.corpus, feat_cfg, utts, norm, shaping, fold, y_all, by_utt)
        train, val, test = (None if e is None else _split_of(e, speakers) for e in parts[:3])
        noisy_ids, describe = parts[3], parts[4]
    if cfg.wave_augment.active:  # speed / gain / crop / noise variants (emoconv.experiments.wave_augment)
        from .wave_augment import augmented_train

        train = _split_of(augmented_train(cfg.wave_augment, ws, feat_cfg, utts, speakers, norm, shape_one, fit_idx,
                                          y_all, by_utt), speakers)
    from ..training.checkpoint import TrainingCheckpoint

    checkpoint = TrainingCheckpoint.at(None if rundir is None else Path(rundir) / "checkpoints" / run.key)
    clf.fit(train, val, progress=progress, checkpoint=checkpoint)
    model = clf.model
    probs = clf.predict_proba(test)
    est_pred = clf.predict(test)
    if noisy_ids is None and clf.shapes_inputs and pipe.aggregates:  # segments -> utterances
        probs = pipe.aggregate(probs, np.searchsorted(test_utts, test.groups), len(test_utts))
    assert test is not None
    y_true = y_all[test_utts] if noisy_ids is None else test.y
    y_pred = probs.argmax(1) if est_pred is None else est_pred
    metrics = classification_metrics(y_true, y_pred, labels)
    record: dict[str, Any] = {
        "key": run.key, "recipe": recipe.name, "corpus": run.corpus, "corpus_loader": recipe.corpora[run.corpus].name,
        "model": run.model.name, "variant": run.variant, "variant_order": run.order, "group": run.model.group or run.model.name,
        "params": params, "fold": run.fold, "seed": run.seed,
        "protocol": {"config": to_dict(rc.protocol), "fold": fold.describe()},
        "labels": labels, "n_utterances": len(utts), "input_shape": list(input_shape),
        "skipped_files": list(ws.skipped.get(run.corpus, [])),
        "metrics": metrics, "y_true": y_true.tolist(), "y_pred": y_pred.tolist(),
        "probs": np.round(probs, 5).tolist(),  # per test example, for score fusion (emoconv.experiments.fusion)
        "utterances": [utts[i].uid for i in test_utts] if noisy_ids is None else noisy_ids,
        **clf.stats(), "n_params": clf.n_parameters(), "device": device,
        "features": features_dict(feat_cfg), "input": to_dict(input_cfg), "normalize": norm_mode,
        "train": to_dict(cfg), "version": __version__, "duration_s": time.perf_counter() - t0,
    }
    if augment.active:
        record["condition"] = augment.condition
        record["augment"] = describe() if describe is not None else {}
    wanted = rc.bundle
    if wanted and rundir is not None and recipe.report.get("embeddings") and hasattr(model, "embed"):
        from .embeddings import save_embedding

        record["embedding"] = save_embedding(Path(rundir), run.key, model, xs, groups, test_utts, normed,
                                              segmented, device)
        record["embedding_abs"] = str((Path(rundir) / record["embedding"]).resolve())
    if wanted and rundir is not None and clf.bundleable:
        from ..bundle import save_bundle

        save_bundle(Path(rundir) / "bundles" / run.key, model=model, model_name=run.model.name,
                    model_params=params, input_shape=input_shape, labels=labels, features=feat_cfg,
                    input_cfg=input_cfg, frames=frames, normalizer=norm,
                    extra={"run_key": run.key, "corpus": run.corpus, "fold": run.fold, "metrics": metrics,
                           "recipe": recipe.name, "variant": run.variant, "seed": run.seed,
                           "protocol": record["protocol"], "n_utterances": len(utts),
                           "corpus_content": ws.fingerprint(run.corpus)})
        record["bundle"] = str(Path("bundles") / run.key)
    result = RunRecord.from_dict(record)  # checked as every reader will read it
    if checkpoint is not None:
        checkpoint.clear()
    return result


def _split_of(examples: Any, speakers: list[str]) -> Split:
    """A :class:`Split` over the trainer's examples (noisy or speed-perturbed copies, redrawn per epoch)."""
    groups = np.asarray(examples.group if examples.group is not None else np.arange(len(examples)))
    return Split(examples.x, examples.y, groups, [speakers[int(g)] for g in groups], examples=examples)
