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
import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .augment import mixup, spec_augment
from .config import TrainConfig, resolve_device


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


def _is_variable(model: nn.Module) -> bool:
    return bool(getattr(model, "variable_length", False))


def iterate_batches(
    data: Examples, batch_size: int, variable: bool, shuffle: bool, rng: np.random.Generator | None
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, np.ndarray]]:
    """Yield ``(x, lengths, y, indices)``; ``x`` is (B, C, T, F) (padded when ``variable``)."""
    n = len(data)
    if variable:
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
        x = torch.stack([data.x[i] for i in idx])
        yield x, None, torch.from_numpy(data.y[idx]), idx


def _forward(model: nn.Module, x: torch.Tensor, lengths: torch.Tensor | None,
             labels: torch.Tensor | None = None) -> torch.Tensor:
    kwargs: dict[str, Any] = {}
    if lengths is not None:
        kwargs["lengths"] = lengths
    if labels is not None and getattr(model, "needs_labels", False):
        kwargs["labels"] = labels
    return model(x, **kwargs)


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


def _clr_bounds(model: nn.Module, train: Examples, cfg: TrainConfig, lr: float, weight_decay: float,
                weight: torch.Tensor | None, device: str) -> dict[str, Any]:
    """CLR ``(lr_min, lr_max)``: from the settings, or from a range test on the training partition."""
    if not cfg.lr_range_test:
        top = cfg.lr_max if cfg.lr_max is not None else lr
        low = cfg.lr_min if cfg.lr_min is not None else top / 10
        return {"lr_min": low, "lr_max": top, "lr_bounds_from": "settings"}
    from .clr import lr_range_test

    rng = np.random.default_rng([cfg.seed, 7])
    batches = [(x, lens, y) for x, lens, y, _ in iterate_batches(train, cfg.batch_size, _is_variable(model), True, rng)]

    def loss_fn(m: nn.Module, batch: Any) -> torch.Tensor:
        x, lens, y = batch
        y = y.to(device)
        logits = _forward(m, x.to(device), None if lens is None else lens.to(device), y)
        return F.cross_entropy(logits.float(), y, weight=weight)

    res = lr_range_test(model, batches, lr_start=cfg.lr_range_start, lr_end=cfg.lr_range_end,
                        steps=cfg.lr_range_steps, loss_fn=loss_fn,
                        optimizer=lambda p, r: torch.optim.Adam(p, lr=r, weight_decay=weight_decay))
    low, top = res.suggested
    return {"lr_min": low, "lr_max": top, "lr_bounds_from": "range_test", "lr_range_batches": len(res.lrs)}


@torch.no_grad()
def predict_logits(model: nn.Module, data: Examples, batch_size: int = 64, device: str = "cpu") -> np.ndarray:
    """Logits ``(N, K)`` for every example, in the order of ``data``."""
    model.eval()
    out = np.zeros((len(data), 0), dtype=np.float32)
    chunks: list[tuple[np.ndarray, np.ndarray]] = []
    for x, lens, _, idx in iterate_batches(data, batch_size, _is_variable(model), False, None):
        logits = _forward(model, x.to(device), None if lens is None else lens.to(device))
        chunks.append((idx, logits.float().cpu().numpy()))
    if chunks:
        k = chunks[0][1].shape[1]
        out = np.zeros((len(data), k), dtype=np.float32)
        for idx, lg in chunks:
            out[idx] = lg
    return out


def _evaluate(model: nn.Module, data: Examples, batch_size: int, device: str,
              weight: torch.Tensor | None) -> tuple[float, float, float]:
    """(loss, accuracy, UA) on ``data``."""
    logits = torch.from_numpy(predict_logits(model, data, batch_size, device))
    y = torch.from_numpy(data.y)
    loss = float(F.cross_entropy(logits, y, weight=weight))
    pred = logits.argmax(1).numpy()
    acc = float(np.mean(pred == data.y))
    recalls = [np.mean(pred[data.y == c] == c) for c in np.unique(data.y)]
    return loss, acc, float(np.mean(recalls))


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

    batch = next(iterate_batches(val, 32, _is_variable(model), False, None), None)
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
) -> tuple[nn.Module, int, list[dict[str, float]]]:
    """Train one model at one hyperparameter point; return (best model, best epoch, history).

    ``val=None`` trains exactly ``cfg.max_epochs`` epochs and returns the last weights (no validation).

    ``info``, when given, receives the CLR bounds used (``lr_min``, ``lr_max``, ``lr_bounds_from``).
    """
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = build().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    weight = None
    if cfg.class_weighted:
        from .losses import class_weights as weights_of

        weight = weights_of(train.y, n_classes, cfg.class_weight_alpha).to(device)
    scheduler = None
    if cfg.lr_schedule == "cyclic":
        from .clr import cyclic_lr

        bounds = _clr_bounds(model, train, cfg, lr, weight_decay, weight, device)
        if info is not None:
            info.update(bounds)
        scheduler = cyclic_lr(opt, bounds["lr_min"], bounds["lr_max"], n_train=len(train),
                              batch_size=cfg.batch_size, epochs_per_step=cfg.clr_step_epochs)
    elif cfg.lr_schedule == "onecycle":
        steps = max(1, math.ceil(len(train) / cfg.batch_size))
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=cfg.max_epochs, steps_per_epoch=steps,
                                                        pct_start=0.1)
    variable = _is_variable(model)
    use_amp = cfg.amp and device.startswith("cuda")  # mixed precision on CUDA only; on CPU a no-op
    scaler = torch.amp.GradScaler("cuda") if use_amp else None
    aug = cfg.batch_augment
    aug_gen = torch.Generator().manual_seed(cfg.seed + 7919) if aug.active else None
    best_score, best_state, best_epoch, bad = -math.inf, None, 0, 0
    history: list[dict[str, float]] = []
    for epoch in range(1, cfg.max_epochs + 1):
        if hasattr(train, "new_epoch"):  # examples redrawn per epoch (noisy copies: emoconv.experiments.augment)
            train.new_epoch(epoch)
        model.train()
        t0 = time.perf_counter()
        total, count = 0.0, 0
        for x, lens, y, _ in iterate_batches(train, cfg.batch_size, variable, True, rng):
            x, y = x.to(device), y.to(device)
            y_b, lam = y, 1.0
            if aug_gen is not None:  # training batches only (emoconv.training.augment)
                x = spec_augment(x, aug, aug_gen)
                if aug.mixup > 0:
                    x, y, y_b, lam, lens = mixup(x, y, lens, aug.mixup, aug_gen)
            with torch.autocast("cuda", dtype=torch.float16) if use_amp else contextlib.nullcontext():
                logits = _forward(model, x, None if lens is None else lens.to(device), y if lam >= 0.5 else y_b)
                loss = F.cross_entropy(logits.float(), y, weight=weight)
                if lam < 1.0:
                    loss = lam * loss + (1.0 - lam) * F.cross_entropy(logits.float(), y_b, weight=weight)
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
        val_loss, val_acc, val_ua = _evaluate(model, val, cfg.eval_batch_size, device, weight)
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
        recent = [h[key] for h in history[-cfg.smooth_epochs:]]
        score = (1 if key == "val_ua" else -1) * float(np.mean(recent))
        history[-1]["score"] = score
        if score > best_score + cfg.min_delta:
            best_score, best_epoch, bad = score, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        elif epoch > cfg.min_epochs:
            bad += 1
        # MTS reference mode: fold the per-scale copies in after validation and model selection, as the
        # published training loop does (a no-op for every other model)
        _call_hook(model, "average_reference_kernels")
        if bad >= cfg.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return model, best_epoch, history


def fit(
    build: Callable[[], nn.Module],
    train: Examples,
    val: Examples | None,
    cfg: TrainConfig,
    n_classes: int,
    progress: Any = None,
) -> FitResult:
    """Grid-search ``cfg.grid()`` on ``val``; return the best model, retrained weights restored.

    ``build`` must return a fresh, untrained model each call (seeded by the trainer). ``val=None`` (with
    ``train.fixed_epochs``) trains the first grid point for ``max_epochs`` epochs and keeps the last weights.
    """
    if val is None:  # fixed epochs, no validation: one grid point
        if len(train) == 0:
            raise ConfigError("the training partition is empty; check the protocol settings")
        point = cfg.grid()[0]
        info: dict[str, Any] = {}
        model, best_epoch, history = train_one(build, train, None, cfg, n_classes, point["lr"],
                                               point["weight_decay"], progress, info)
        return FitResult(model=model, hparams=dict(point), best_epoch=best_epoch, epochs=len(history),
                         history=history, grid=[{**point, "best_epoch": best_epoch, "epochs": len(history), **info}])
    if len(train) == 0 or len(val) == 0:
        raise ConfigError("training or validation partition is empty; check the protocol settings")
    trials: list[dict[str, Any]] = []
    best: tuple[tuple[float, float], nn.Module, dict[str, float], int, list[dict[str, float]]] | None = None
    for point in cfg.grid():
        info: dict[str, Any] = {}
        model, best_epoch, history = train_one(build, train, val, cfg, n_classes, point["lr"],
                                               point["weight_decay"], progress, info)
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

