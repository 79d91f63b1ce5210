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

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..config import to_dict
from ..errors import ConfigError
from ..features.kinds import features_dict
from ..fileio import stable_hash
from .recipe import InputConfig, ModelSpec, Recipe
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


def recipe_hash(recipe: Recipe) -> str:
    return stable_hash([recipe.to_dict(), __version__])


@functools.lru_cache(maxsize=1)
def _default_train() -> dict[str, Any]:
    from ..training.config import TrainConfig

    return to_dict(TrainConfig())


def _train_key(train: Any) -> dict[str, Any]:
    """The training settings that enter a run key (newer fields only when set; see ``KEY_OPTIONAL``)."""
    from ..training.config import KEY_OPTIONAL

    default = _default_train()
    out = {k: v for k, v in to_dict(train).items() if k not in ("progress", "eval_batch_size")}
    # how the range test reads its curve changed what a range-tested run is, so it always enters those keys
    keep = {"lr_range_by", "lr_range_epochs"} if out.get("lr_range_test") else set()
    for k in KEY_OPTIONAL:
        if k not in keep and out.get(k) == default.get(k):
            out.pop(k, None)
    return out


def run_key(recipe: Recipe, corpus: str, model: ModelSpec, fold: int, seed: int,
            corpus_fingerprint: str | None = None) -> str:
    """Hash of everything that affects one run's result (``corpus_fingerprint``: the corpus's content,
    :meth:`Workspace.fingerprint`)."""
    parts = {
        "corpus": to_dict(recipe.corpora[corpus]),
        "features": features_dict(recipe.features_for(model)),
        "input": to_dict(recipe.input_for(corpus, model)),
        "normalize": recipe.normalize_for(model),
        "protocol": to_dict(recipe.protocol_for(corpus, model)),
        "model": to_dict(model),
        "train": _train_key(recipe.train),
        "seed": seed,
        "fold": fold,
        "version": __version__,
    }
    if corpus_fingerprint is not None:
        parts["corpus_content"] = corpus_fingerprint
    from .augment import augment_for

    augment = augment_for(recipe, model)
    if augment.active:
        parts["augment"] = augment.key_dict()
    return stable_hash(parts, length=20)


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
                        key = run_key(recipe, corpus, variant, fold, seed, ws.fingerprint(corpus)["hash"])
                        runs.append(RunSpec(key, corpus, variant,
                                            label, fold, seed, order))
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

def _shape_inputs(cfg: InputConfig, feats: list[torch.Tensor], corpus_max: int, segmented: bool):
    """Shape per-utterance features into model examples; returns (examples, groups, frames).

    ``groups[i]`` is the utterance of example ``i``. Segmented feature kinds (one tensor
    ``(n_seg, ...)`` per utterance) give one example per segment, as does ``length: segment``.
    """
    from ..features import pad_or_crop, segment

    if segmented:
        xs = [row for f in feats for row in f.unbind(0)]
        return xs, np.repeat(np.arange(len(feats)), [f.shape[0] for f in feats]), None
    if cfg.length == "variable":
        return list(feats), np.arange(len(feats)), None
    if cfg.length == "pad":
        frames = cfg.frames or min(corpus_max, cfg.max_frames)
        return [pad_or_crop(f, frames, cfg.pad_mode) for f in feats], np.arange(len(feats)), frames
    xs, groups = [], []
    for i, f in enumerate(feats):
        segs = segment(f, cfg.segment_frames, cfg.segment_hop)
        xs.extend(segs.unbind(0))
        groups.extend([i] * segs.shape[0])
    return xs, np.asarray(groups), cfg.segment_frames


def _utterance_probs(probs: np.ndarray, groups: np.ndarray, n_utts: int, how: str) -> np.ndarray:
    from ..features import aggregate_segments

    out = np.zeros((n_utts, probs.shape[1]), dtype=np.float32)
    order = np.argsort(groups, kind="stable")  # one pass over the segments instead of a scan per utterance
    starts = np.searchsorted(groups[order], np.arange(n_utts + 1))
    for u in range(n_utts):
        rows = order[starts[u]:starts[u + 1]]
        out[u] = np.asarray(aggregate_segments(torch.from_numpy(probs[rows]), how))
    return out


def execute_run(recipe: Recipe, run: RunSpec, ws: Workspace, rundir: Path | None = None,
                progress: Any = None) -> dict[str, Any]:
    """Train and evaluate one run; return its result record (JSON-ready)."""
    from dataclasses import replace

    from ..features import Normalizer
    from ..features.kinds import is_segmented
    from ..models import build_model
    from ..protocol import classification_metrics
    from ..training import Examples, fit, n_parameters, predict_logits
    from ..training.config import resolve_device

    t0 = time.perf_counter()
    utts = ws.utterances(run.corpus)
    labels = ws.labels(run.corpus)
    index = {lab: i for i, lab in enumerate(labels)}
    y_all = np.array([index[u.label] for u in utts])
    fold = ws.folds(run.corpus, run.model)[run.fold]
    feat_cfg = recipe.features_for(run.model)
    segmented = is_segmented(feat_cfg)
    feats = ws.features(run.corpus, feat_cfg)
    speakers = [u.speaker for u in utts]

    norm_mode = recipe.normalize_for(run.model)
    fit_idx = tuple(fold.train) + (tuple(fold.val) if recipe.train.fixed_epochs else ())  # what trains
    norm = Normalizer(norm_mode).fit([feats[i] for i in fit_idx], [speakers[i] for i in fit_idx])
    normed = norm.transform_many(feats, speakers) if norm_mode != "none" else list(feats)
    input_cfg = recipe.input_for(run.corpus, run.model)
    torch.manual_seed(run.seed)
    cfg = replace(recipe.train, seed=run.seed)
    params = dict(run.model.params)
    n_classes = len(labels)
    test_utts = np.sort(np.asarray(fold.test, dtype=np.int64))  # the order part() yields
    device = resolve_device(cfg.device)

    def select(idx: Any) -> list[int]:
        return sorted(int(i) for i in idx)

    corpus_max = max(int(f.shape[1]) for f in feats) if not segmented else 0
    xs, groups, frames = _shape_inputs(input_cfg, normed, corpus_max, segmented)
    input_shape = tuple(xs[0].shape)

    def build() -> Any:
        return build_model(run.model.name, n_classes=n_classes, input_shape=input_shape, **params)

    probe = build()
    usage = None
    from .augment import augment_for

    augment = augment_for(recipe, run.model)
    noisy_ids: list[str] | None = None
    est_pred: np.ndarray | None = None
    describe = None
    if augment.active and not isinstance(probe, torch.nn.Module):
        raise ConfigError(f"augment: model {run.model.display!r} is an estimator; noise conditions apply to "
                          "networks only (set models[i].augment: {condition: none})")
    if not isinstance(probe, torch.nn.Module) and segmented:  # estimator on segments (3D-CNN-DNN-ELM volumes)
        def rows(idx: Any) -> np.ndarray:
            return np.flatnonzero(np.isin(groups, np.asarray(idx, dtype=np.int64)))

        tr, va, te = rows(fold.train), rows(fold.val), rows(fold.test)
        probe.fit([xs[r] for r in tr], y_all[groups[tr]], [xs[r] for r in va], y_all[groups[va]])
        seg_probs = np.asarray(probe.predict_proba([xs[r] for r in te]), dtype=np.float32)
        probs = _utterance_probs(seg_probs, np.searchsorted(test_utts, groups[te]), len(test_utts),
                                 input_cfg.aggregate)
        result, model, frames = None, probe, None
    elif not isinstance(probe, torch.nn.Module):  # an estimator: fit/predict_proba on per-utterance features
        tr, va = select(fold.train), select(fold.val)
        fit_kw: dict[str, Any] = {}
        test_kw: dict[str, Any] = {}
        if getattr(probe, "uses_speakers", False):  # e.g. the SVM's per-speaker standardisation
            fit_kw = {"train_speakers": [speakers[i] for i in tr], "val_speakers": [speakers[i] for i in va]}
            test_kw = {"speakers": [speakers[i] for i in test_utts]}
        probe.fit([normed[i] for i in tr], y_all[tr], [normed[i] for i in va], y_all[va], **fit_kw)
        test_x = [normed[i] for i in test_utts]
        probs = np.asarray(probe.predict_proba(test_x, **test_kw), dtype=np.float32)
        if hasattr(probe, "predict"):  # the estimator's own decision rule (the SVM's one-vs-one votes)
            est_pred = np.asarray(probe.predict(test_x, **test_kw), dtype=np.int64)
        result, model, frames = None, probe, None
    else:
        def part(idx: tuple[int, ...]) -> Examples:
            rows = np.flatnonzero(np.isin(groups, np.asarray(idx, dtype=np.int64)))
            return Examples([xs[r] for r in rows], y_all[groups[rows]], groups[rows])

        train, val, test = part(fit_idx), None if cfg.fixed_epochs else part(fold.val), part(fold.test)

        def shape_one(f: torch.Tensor) -> torch.Tensor:
            return _shape_inputs(input_cfg, [f], corpus_max, False)[0][0] if input_cfg.length == "pad" else f

        if (augment.active or cfg.wave_augment.active) and (segmented or input_cfg.length == "segment"):
            raise ConfigError("augment / train.wave_augment need one example per utterance; use input.length "
                              "variable or pad")
        by_utt = {int(g): xs[r] for r, g in enumerate(groups)}
        if augment.active:  # noise conditions (emoconv.experiments.augment)
            from .augment import noisy_partitions

            train, val, test, noisy_ids, describe = noisy_partitions(
                augment, ws, run.corpus, feat_cfg, utts, norm, shape_one, fold, y_all, by_utt)
        if cfg.wave_augment.active:  # speed / gain / crop / noise variants (emoconv.experiments.wave_augment)
            from .wave_augment import augmented_train

            train = augmented_train(cfg.wave_augment, ws, feat_cfg, utts, speakers, norm, shape_one, fit_idx,
                                    y_all, by_utt)
        result = fit(build, train, val, cfg, n_classes=n_classes, progress=progress)
        model = result.model
        usage = _track_usage(model, True)
        test_logits = predict_logits(model, test, cfg.eval_batch_size, device)
        usage = _track_usage(model, False) if usage is not None else None
        probs = torch.softmax(torch.from_numpy(test_logits), 1).numpy()
        if segmented or input_cfg.length == "segment":
            local = np.searchsorted(test_utts, test.group)
            probs = _utterance_probs(probs, local, len(test_utts), input_cfg.aggregate)
    y_true = y_all[test_utts] if noisy_ids is None else test.y
    y_pred = probs.argmax(1) if est_pred is None else est_pred
    metrics = classification_metrics(y_true, y_pred, labels)
    record: dict[str, Any] = {
        "key": run.key, "recipe": recipe.name, "corpus": run.corpus, "corpus_loader": recipe.corpora[run.corpus].name,
        "model": run.model.name, "variant": run.variant, "variant_order": run.order, "group": run.model.group or run.model.name,
        "params": params, "fold": run.fold, "seed": run.seed,
        "protocol": {"config": to_dict(recipe.protocol_for(run.corpus, run.model)), "fold": fold.describe()},
        "labels": labels, "n_utterances": len(utts), "input_shape": list(input_shape),
        "skipped_files": list(ws.skipped.get(run.corpus, [])),
        "metrics": metrics, "y_true": y_true.tolist(), "y_pred": y_pred.tolist(),
        "probs": np.round(probs, 5).tolist(),  # per test example, for score fusion (emoconv.experiments.fusion)
        "utterances": [utts[i].uid for i in test_utts] if noisy_ids is None else noisy_ids,
        "val": _chosen_val(result) if result else {},
        "hparams": result.hparams if result else {}, "grid": result.grid if result else [],
        "best_epoch": result.best_epoch if result else None, "epochs": result.epochs if result else 0,
        "history": result.history if result else [],
        "epoch_time_mean_s": result.epoch_time_mean if result else 0.0,
        "n_params": n_parameters(model) if isinstance(model, torch.nn.Module) else _estimator_params(model),
        "branch_usage": usage, "device": device,
        "features": features_dict(feat_cfg), "input": to_dict(input_cfg), "normalize": norm_mode,
        "train": to_dict(cfg), "version": __version__, "duration_s": time.perf_counter() - t0,
    }
    if augment.active:
        record["condition"] = augment.condition
        record["augment"] = describe() if describe is not None else {}
    wanted = recipe.bundle == "all" or (recipe.bundle == "first_fold" and run.fold == 0 and run.seed == recipe.seeds[0])
    if wanted and rundir is not None and recipe.report.get("embeddings") and hasattr(model, "embed"):
        from .embeddings import save_embedding

        record["embedding"] = save_embedding(Path(rundir), run.key, model, xs, groups, test_utts, normed,
                                              segmented, device)
        record["embedding_abs"] = str((Path(rundir) / record["embedding"]).resolve())
    if wanted and rundir is not None and isinstance(model, torch.nn.Module):
        from ..bundle import save_bundle

        save_bundle(Path(rundir) / "bundles" / run.key, model=model, model_name=run.model.name,
                    model_params=params, input_shape=input_shape, labels=labels, features=feat_cfg,
                    input_cfg=input_cfg, frames=frames, normalizer=norm,
                    extra={"run_key": run.key, "corpus": run.corpus, "fold": run.fold, "metrics": metrics,
                           "recipe": recipe.name, "variant": run.variant, "seed": run.seed,
                           "protocol": record["protocol"], "n_utterances": len(utts),
                           "corpus_content": ws.fingerprint(run.corpus)})
        record["bundle"] = str(Path("bundles") / run.key)
    return record


def _estimator_params(est: Any) -> int:
    """Parameter count of an estimator when it reports one (``n_parameters`` attribute or method)."""
    n = getattr(est, "n_parameters", None)
    n = n() if callable(n) else n
    net = getattr(est, "network", None)
    if n is None and isinstance(net, torch.nn.Module):  # network + ELM estimators: the network's weights
        n = sum(p.numel() for p in net.parameters() if p.requires_grad)
    return int(n) if n is not None else 0


def _chosen_val(result: Any) -> dict[str, float]:
    """Validation figures at the chosen grid point (used to pick variants without touching test data)."""
    for trial in result.grid:
        if all(trial.get(k) == v for k, v in result.hparams.items()) and "val_ua" in trial:
            return {"ua": trial["val_ua"], "accuracy": trial["val_accuracy"], "loss": trial["val_loss"]}
    return {}


def _track_usage(model: torch.nn.Module, start: bool) -> Any:
    """Start (start=True) or read and stop (False) MTS branch-usage tracking; None without MTS layers."""
    try:
        from ..layers import mts, mts_stats
    except ImportError:  # pragma: no cover
        return None
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
