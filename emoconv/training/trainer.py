"""Training with Adam + L2, early stopping on validation loss, and a validation grid search.

The data are in memory: a :class:`Examples` holds one tensor per example (fixed
shape ``(C, T, F)`` for most models, variable ``T`` for models that declare
``variable_length = True``) and integer labels. Conventions honoured for models:

* ``model.variable_length`` -> batches are length-bucketed and padded, and the
  model is called as ``model(x, lengths=lengths)``;
* ``model.needs_labels`` -> during training ``model(x, ..., labels=y)`` (margin heads);
* optional hooks of the MTS layers (reference-mode kernel averaging once per epoch,
  penalty terms added to the loss) are called when the model has them.

``train.lr_schedule: cyclic`` steps a triangular CLR once per batch (bounds from the settings or
from a learning-rate range test on the training partition, recorded in :attr:`FitResult.grid`);
``train.early_stop_on`` picks the validation figure early stopping watches.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from .. import __version__
from ..errors import ConfigError
from .augment import mixup, spec_augment
from .checkpoint import TrainingCheckpoint
from .config import TrainConfig, resolve_device
from .early_stop import EarlyStopping
from .optim import adam
from .loop import (Examples, collate_of, evaluate, forward, is_variable, iterate_batches, loss_of,  # noqa: F401
                   predict_logits)


@dataclass
class FitResult:
    """The trained model (best epoch's weights) and what happened on the way."""

    model: nn.Module
    hparams: dict[str, float]
    best_epoch: int
    epochs: int
    history: list[dict[str, float]]
    grid: list[dict[str, Any]] = field(default_factory=list)

    @property
    def epoch_time_mean(self) -> float:
        times = [h["time_s"] for h in self.history]
        return float(np.mean(times)) if times else 0.0


def class_weights(y: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights N / (K * N_c), 0 for absent classes.

    The formula is :func:`emoconv.training.losses.class_weights` with ``alpha = 1 / K``, applied to
    the classes present (the trainer itself calls that function, which rejects absent classes).
    """
    from .losses import class_weights as weights_of

    y = np.asarray(y, dtype=np.int64)
    present = np.unique(y)
    w = torch.zeros(n_classes, dtype=torch.float32)
    w[torch.from_numpy(present)] = weights_of(np.searchsorted(present, y), len(present), alpha=1.0 / n_classes)
    return w


def _call_hook(model: nn.Module, name: str) -> Any:
    """Call MTS hooks (emoconv.layers.mts) when the model contains such layers."""
    try:
        from ..layers import mts_stats as mts_layers
    except ImportError:  # pragma: no cover - MTS layer module absent
        return None
    fn = getattr(mts_layers, name, None)
    return fn(model) if fn is not None else None


def _probe(model: nn.Module, val: Examples, record: dict[str, Any], device: str) -> None:
    """Store :func:`~emoconv.layers.mts_stats.probe_mts` of the first validation batch in ``record``."""
    from ..layers.mts_stats import probe_mts

    batch = next(iterate_batches(val, 32, is_variable(model), False, None, collate_of(model)), None)
    if batch is None:
        return
    x, lens, y, _ = batch
    report = probe_mts(model, x.to(device), y.to(device), None if lens is None else lens.to(device))
    if report:
        record["mts"] = report


def train_one(
    build: Callable[[], nn.Module],
    train: Examples,
    val: Examples | None,
    cfg: TrainConfig,
    n_classes: int,
    lr: float,
    weight_decay: float,
    progress: Any = None,
    info: dict[str, Any] | None = None,
    checkpoint: TrainingCheckpoint | None = None,
    point: int = 0,
) -> tuple[nn.Module, int, list[dict[str, float]]]:
    """Train one model at one hyperparameter point; return (best model, best epoch, history).

    ``val=None`` trains exactly ``cfg.max_epochs`` epochs and returns the last weights (no validation).

    ``info``, when given, receives the CLR bounds used (``lr_min``, ``lr_max``, ``lr_bounds_from``), and
    ``resumed_after_epoch`` when training took up a checkpoint. ``checkpoint`` saves the training state now
    and then and resumes from it (grid point ``point``; :mod:`emoconv.training.checkpoint`): the result
    equals an uninterrupted run's.
    """
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = build().to(device)
    meta = {"version": __version__, "point": point, "lr": float(lr), "weight_decay": float(weight_decay),
            "seed": cfg.seed}
    resumed = checkpoint.load(point, meta) if checkpoint is not None else None
    if resumed is not None and resumed["done"]:  # this grid point had finished
        model.load_state_dict(resumed["model"])
        if info is not None:
            info.update({**resumed["bounds"], "resumed_after_epoch": len(resumed["history"])})
        return model, resumed["best_epoch"], resumed["history"]
    opt = adam(model.parameters(), lr, weight_decay, cfg.fused_optimizer)
    weight = None
    if cfg.class_weighted:
        from .losses import class_weights as weights_of

        weight = weights_of(train.y, n_classes, cfg.class_weight_alpha).to(device)
    scheduler = None
    bounds: dict[str, Any] = {}
    if cfg.lr_schedule == "cyclic":
        from .clr import clr_bounds, cyclic_lr

        bounds = resumed["bounds"] if resumed is not None else clr_bounds(model, train, val, cfg, lr,
                                                                             weight_decay, weight, device)
        if info is not None:
            info.update(bounds)
        scheduler = cyclic_lr(opt, bounds["lr_min"], bounds["lr_max"], n_train=len(train),
                              batch_size=cfg.batch_size, epochs_per_step=cfg.clr_step_epochs)
    elif cfg.lr_schedule == "onecycle":
        steps = max(1, math.ceil(len(train) / cfg.batch_size))
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=cfg.max_epochs, steps_per_epoch=steps,
                                                        pct_start=0.1)
    variable, collate, loss_fn = is_variable(model), collate_of(model), loss_of(model)
    use_amp = cfg.amp and device.startswith("cuda")  # mixed precision on CUDA only; on CPU a no-op
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    aug = cfg.batch_augment
    aug_gen = torch.Generator().manual_seed(cfg.seed + 7919) if aug.active else None
    rule = EarlyStopping(cfg.patience, cfg.min_delta, cfg.min_epochs, cfg.smooth_epochs)
    best_epoch = 0
    history: list[dict[str, float]] = []
    parts = {"model": model, "opt": opt, "scheduler": scheduler, "scaler": scaler, "rule": rule}
    start = 1
    if resumed is not None:
        start = _restore(resumed, parts, rng, aug_gen) + 1
        history, best_epoch = resumed["history"], resumed["best_epoch"]
        if info is not None:  # recorded in the run's grid entry: where this training took up again
            info["resumed_after_epoch"] = start - 1
    for epoch in range(start, cfg.max_epochs + 1):
        if checkpoint is not None and epoch > start and checkpoint.due():  # the state after epoch - 1
            checkpoint.save(point, _state(parts, rng, aug_gen, epoch - 1, history, best_epoch, bounds), meta)
        if hasattr(train, "new_epoch"):  # examples redrawn per epoch (noisy copies: emoconv.experiments.augment)
            train.new_epoch(epoch)
        model.train()
        t0 = time.perf_counter()
        total, count = 0.0, 0
        for x, lens, y, _ in iterate_batches(train, cfg.batch_size, variable, True, rng, collate):
            x, y = x.to(device), y.to(device)
            y_b, lam = y, 1.0
            if aug_gen is not None:  # training batches only (emoconv.training.augment)
                x = spec_augment(x, aug, aug_gen)
                if aug.mixup > 0:
                    x, y, y_b, lam, lens = mixup(x, y, lens, aug.mixup, aug_gen)
            with torch.autocast("cuda", dtype=torch.float16) if use_amp else contextlib.nullcontext():
                lens = None if lens is None else lens.to(device)
                logits = forward(model, x, lens, y if lam >= 0.5 else y_b)
                loss = loss_fn(logits, y, lens, weight)
                if lam < 1.0:
                    loss = lam * loss + (1.0 - lam) * loss_fn(logits, y_b, lens, weight)
                penalty = _call_hook(model, "penalty_loss")
                if isinstance(penalty, torch.Tensor):
                    loss = loss + penalty
            opt.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                opt.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
            if scheduler is not None and getattr(scheduler, "total_steps", math.inf) > scheduler.last_epoch + 1:
                scheduler.step()
            total += float(loss.detach()) * len(y)
            count += len(y)
        train_time = time.perf_counter() - t0
        if val is None:  # a fixed number of epochs, no selection (the final model on every speaker)
            history.append({"epoch": epoch, "train_loss": total / max(count, 1), "time_s": train_time,
                            "lr": float(opt.param_groups[0]["lr"])})
            if progress is not None:
                progress.set_postfix(epoch=epoch, train_loss=f"{history[-1]['train_loss']:.3f}", refresh=False)
                progress.update(0)
            _call_hook(model, "average_reference_kernels")
            best_epoch = epoch
            continue
        val_loss, val_acc, val_ua = evaluate(model, val, cfg.eval_batch_size, device, weight)
        history.append({"epoch": epoch, "train_loss": total / max(count, 1), "val_loss": val_loss,
                        "val_accuracy": val_acc, "val_ua": val_ua, "time_s": train_time,
                        "lr": float(opt.param_groups[0]["lr"])})
        if progress is not None:
            progress.set_postfix(epoch=epoch, val_loss=f"{val_loss:.3f}", val_ua=f"{val_ua:.3f}", refresh=False)
            progress.update(0)
        if cfg.mts_probe:
            _probe(model, val, history[-1], device)
        if not math.isfinite(val_loss):
            break
        key = "val_ua" if cfg.early_stop_on == "val_ua" else "val_loss"
        stop = rule.step(epoch, (1 if key == "val_ua" else -1) * history[-1][key], EarlyStopping.copy_of(model))
        history[-1]["score"] = rule.last_score
        # MTS reference mode: fold the per-scale copies in after validation and model selection, as the
        # published training loop does (a no-op for every other model)
        _call_hook(model, "average_reference_kernels")
        if stop:
            break
    if val is not None and cfg.restore == "last" and math.isfinite(history[-1]["val_loss"]):
        chosen = len(history)  # the weights of the epoch training stopped at
    else:
        if rule.best_state is not None:  # (also "last" when the final epoch diverged)
            model.load_state_dict(rule.best_state)
        chosen = best_epoch if val is None else rule.best_epoch
    if checkpoint is not None and checkpoint.worth_keeping():  # a finished grid point of a long run
        checkpoint.save(point, {"done": True, "model": model.state_dict(), "best_epoch": chosen, "history": history,
                                "bounds": bounds}, meta)
    return model, chosen, history


def _state(parts: dict[str, Any], rng: np.random.Generator, aug_gen: torch.Generator | None, epoch: int,
           history: list[dict[str, float]], best_epoch: int, bounds: dict[str, Any]) -> dict[str, Any]:
    """Everything the next epoch depends on (the checkpoint of :func:`train_one`)."""
    state = {name: (None if obj is None else obj.state_dict()) for name, obj in parts.items()}
    return {**state, "done": False, "epoch": epoch, "history": history, "best_epoch": best_epoch, "bounds": bounds,
            "numpy_rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "aug_rng": None if aug_gen is None else aug_gen.get_state()}


def _restore(saved: dict[str, Any], parts: dict[str, Any], rng: np.random.Generator,
             aug_gen: torch.Generator | None) -> int:
    """Load :func:`_state`'s checkpoint into the training objects; returns the epoch it was taken after."""
    for name, obj in parts.items():
        if obj is not None and saved[name] is not None:
            obj.load_state_dict(saved[name])
    rng.bit_generator.state = saved["numpy_rng"]
    torch.set_rng_state(saved["torch_rng"])
    if saved["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(saved["cuda_rng"])
    if aug_gen is not None and saved["aug_rng"] is not None:
        aug_gen.set_state(saved["aug_rng"])
    return int(saved["epoch"])


def fit(
    build: Callable[[], nn.Module],
    train: Examples,
    val: Examples | None,
    cfg: TrainConfig,
    n_classes: int,
    progress: Any = None,
    checkpoint: TrainingCheckpoint | None = None,
) -> FitResult:
    """Grid-search ``cfg.grid()`` on ``val``; return the best model, retrained weights restored.

    ``build`` must return a fresh, untrained model each call (seeded by the trainer). ``val=None`` (with
    ``train.fixed_epochs``) trains the first grid point for ``max_epochs`` epochs and keeps the last weights.
    ``checkpoint`` makes an interrupted fit resume where it was (:mod:`emoconv.training.checkpoint`).
    """
    if val is None:  # fixed epochs, no validation: one grid point
        if len(train) == 0:
            raise ConfigError("the training partition is empty; check the protocol settings")
        point = cfg.grid()[0]
        info: dict[str, Any] = {}
        model, best_epoch, history = train_one(build, train, None, cfg, n_classes, point["lr"],
                                               point["weight_decay"], progress, info, checkpoint)
        return FitResult(model=model, hparams=dict(point), best_epoch=best_epoch, epochs=len(history),
                         history=history, grid=[{**point, "best_epoch": best_epoch, "epochs": len(history), **info}])
    if len(train) == 0 or len(val) == 0:
        raise ConfigError("training or validation partition is empty; check the protocol settings")
    trials: list[dict[str, Any]] = []
    best: tuple[tuple[float, float], nn.Module, dict[str, float], int, list[dict[str, float]]] | None = None
    for i, point in enumerate(cfg.grid()):
        info: dict[str, Any] = {}
        model, best_epoch, history = train_one(build, train, val, cfg, n_classes, point["lr"],
                                               point["weight_decay"], progress, info, checkpoint, i)
        at_best = history[best_epoch - 1] if best_epoch else history[-1]
        score = -at_best["val_loss"] if cfg.select_by == "val_loss" else at_best[cfg.select_by]
        key = (score, -at_best["val_loss"])
        trials.append({**point, "best_epoch": best_epoch, "epochs": len(history),
                       "val_loss": at_best["val_loss"], "val_ua": at_best["val_ua"],
                       "val_accuracy": at_best["val_accuracy"], **info})
        if best is None or key > best[0]:
            best = (key, model, point, best_epoch, history)
    assert best is not None
    _, model, point, best_epoch, history = best
    return FitResult(model=model, hparams=dict(point), best_epoch=best_epoch, epochs=len(history),
                     history=history, grid=trials)


def n_parameters(model: nn.Module) -> int:
    """Trainable parameter count."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)

