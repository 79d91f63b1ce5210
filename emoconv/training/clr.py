"""Triangular cyclical learning rate and the learning-rate range test that picks its bounds.

Reference: Smith, "Cyclical Learning Rates for Training Neural Networks" (WACV 2017), as used by the
multi-dilated CNN SER system (Scientific Reports 15:8254, 2025), Eqs. 16-19:

    cycle = floor(1 + t / (2 * stepsize)),  x = |t / stepsize - 2 * cycle + 1|,
    lr_t = lr_min + (lr_max - lr_min) * max(0, 1 - x)

for batch (iteration) ``t``. This is exactly ``torch.optim.lr_scheduler.CyclicLR(mode="triangular")``, which
is used here. The step size (half a cycle, in batches) is ``epochs_per_step * ceil(N / batch_size)``: the
paper's Eq. 19 ties it to the number of training samples ``N`` over the batch size; Smith recommends 2-10
epochs per half cycle, and ``epochs_per_step`` (default 1, one epoch of batches) sets that multiple. Call
``scheduler.step()`` after every optimiser step (per batch, not per epoch).

Two range tests pick the bounds; the model's weights are restored after either.

* :func:`lr_range_test_epochs` (``train.lr_range_by: val_ua``, the default) is the paper's reading: a few
  epochs, each at one rate of a geometric series from ``lr_start`` to ``lr_end``, with validation UA after
  each; ``min`` is the rate of the first epoch whose UA has made an obvious rise (a quarter of the way from
  the untrained model's UA to the best), ``max`` the rate at which UA peaked (the next rate made it fall,
  or the series ended there). When no epoch beats the untrained model by 5 UA points the curve is flat and
  the bounds of the settings are used (``lr_max`` = ``train.lr``, ``lr_min`` a tenth of it), recorded as
  ``lr_bounds_from: settings_flat_range``.
* :func:`lr_range_test` (``train.lr_range_by: loss``, Smith's section 3.3) trains a few hundred batches while
  the rate grows exponentially and reads the bounds off the smoothed training loss: ``max`` at its lowest
  point, ``min`` where it has made 10 % of its total drop. On small real corpora the per-batch loss is noisy
  enough that its minimum often falls at the first few batches (bounds near ``lr_start``, a model that never
  trains) or at the end of the sweep; the validation-UA test does not have that failure.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.lr_scheduler import CyclicLR

from ..errors import ConfigError
from .loop import evaluate, forward, is_variable, iterate_batches
from .optim import adam


def clr_step_size(n_train: int, batch_size: int, epochs_per_step: float = 1.0) -> int:
    """Half-cycle length in batches: ``max(1, round(epochs_per_step * ceil(n_train / batch_size)))``.

    >>> clr_step_size(428, 32), clr_step_size(428, 32, epochs_per_step=4)
    (14, 56)
    """
    if n_train < 1 or batch_size < 1 or epochs_per_step <= 0:
        raise ConfigError(f"clr: need n_train >= 1, batch_size >= 1, epochs_per_step > 0; got "
                          f"{n_train}, {batch_size}, {epochs_per_step}")
    return max(1, int(round(epochs_per_step * math.ceil(n_train / batch_size))))


def cyclic_lr(optimizer: torch.optim.Optimizer, lr_min: float, lr_max: float, n_train: int, batch_size: int,
              epochs_per_step: float = 1.0) -> CyclicLR:
    """A triangular :class:`~torch.optim.lr_scheduler.CyclicLR` between ``lr_min`` and ``lr_max``.

    Momentum is not cycled (Adam has none to cycle). Step it once per batch.
    """
    if not 0 < lr_min < lr_max:
        raise ConfigError(f"clr: need 0 < lr_min < lr_max, got lr_min={lr_min}, lr_max={lr_max}")
    step = clr_step_size(n_train, batch_size, epochs_per_step)
    return CyclicLR(optimizer, base_lr=lr_min, max_lr=lr_max, step_size_up=step, mode="triangular",
                    cycle_momentum=False)


def triangular_lr(t: int | np.ndarray, lr_min: float, lr_max: float, stepsize: int) -> Any:
    """Eqs. 16-18 in closed form, for checking schedules: ``lr`` at batch ``t``."""
    t = np.asarray(t, dtype=np.float64)
    cycle = np.floor(1 + t / (2 * stepsize))
    x = np.abs(t / stepsize - 2 * cycle + 1)
    return lr_min + (lr_max - lr_min) * np.maximum(0.0, 1 - x)


@dataclass
class RangeTestResult:
    """Rates tried, raw and smoothed losses, and the suggested ``(lr_min, lr_max)``."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggested: tuple[float, float]


def _default_step(model: nn.Module, batch: Sequence[Any]) -> torch.Tensor:
    """Loss of one batch ``(x, y)`` or ``(x, lengths, y)`` following the trainer's model conventions."""
    if len(batch) == 2:
        x, y = batch
        lengths = None
    elif len(batch) == 3:
        x, lengths, y = batch
    else:
        raise ConfigError("lr range test: batches must be (x, y) or (x, lengths, y)")
    kwargs: dict[str, Any] = {}
    if lengths is not None:
        kwargs["lengths"] = lengths
    if getattr(model, "needs_labels", False):
        kwargs["labels"] = y
    return F.cross_entropy(model(x, **kwargs), y)


def lr_range_test(
    model: nn.Module,
    batches: Iterable[Sequence[Any]],
    *,
    lr_start: float = 1e-6,
    lr_end: float = 1.0,
    steps: int = 200,
    optimizer: Callable[[Any, float], torch.optim.Optimizer] | None = None,
    loss_fn: Callable[[nn.Module, Sequence[Any]], torch.Tensor] | None = None,
    smoothing: float = 0.9,
    diverge: float = 4.0,
    drop_fraction: float = 0.1,
) -> RangeTestResult:
    """Sweep the learning rate exponentially over ``steps`` batches and suggest CLR bounds.

    Args:
        batches: re-iterable batches ``(x, y)`` or ``(x, lengths, y)``; cycled until ``steps``.
        optimizer: ``factory(params, lr)``; default Adam.
        loss_fn: ``fn(model, batch) -> scalar loss``; default cross-entropy with the trainer's conventions.
        smoothing: exponential smoothing of the loss (bias-corrected).
        diverge: stop early once the smoothed loss exceeds ``diverge`` times its minimum.
        drop_fraction: ``lr_min`` is where the smoothed loss has made this fraction of its total drop.

    Returns a :class:`RangeTestResult`; ``suggested[0] < suggested[1]`` always. The model's weights are
    restored when the test ends.
    """
    if not 0 < lr_start < lr_end or steps < 2:
        raise ConfigError(f"lr range test: need 0 < lr_start < lr_end and steps >= 2, got "
                          f"{lr_start}, {lr_end}, {steps}")
    batch_list = list(batches)
    if not batch_list:
        raise ConfigError("lr range test: no batches given")
    state = copy.deepcopy(model.state_dict())
    was_training = model.training
    opt = (optimizer or adam)(model.parameters(), lr_start)
    gamma = (lr_end / lr_start) ** (1.0 / (steps - 1))
    lrs, losses, smooth = [], [], []
    avg, best = 0.0, math.inf
    model.train()
    try:
        for step in range(steps):
            lr = lr_start * gamma ** step
            for group in opt.param_groups:
                group["lr"] = lr
            loss = (loss_fn or _default_step)(model, batch_list[step % len(batch_list)])
            opt.zero_grad()
            loss.backward()
            opt.step()
            value = float(loss.detach())
            if not math.isfinite(value):
                break
            avg = smoothing * avg + (1 - smoothing) * value
            s = avg / (1 - smoothing ** (step + 1))
            lrs.append(lr)
            losses.append(value)
            smooth.append(s)
            best = min(best, s)
            if s > diverge * best and step > 5:
                break
    finally:
        model.load_state_dict(state)
        model.train(was_training)
    lrs_a, sm = np.asarray(lrs), np.asarray(smooth)
    return RangeTestResult(lrs_a, np.asarray(losses), sm, suggest_bounds(lrs_a, sm, drop_fraction))


def suggest_bounds(lrs: np.ndarray, smoothed: np.ndarray, drop_fraction: float = 0.1) -> tuple[float, float]:
    """``(lr_min, lr_max)`` from a range-test curve (see module docs); falls back to ``lr_max / 10``.

    >>> lrs = np.logspace(-5, 0, 6); loss = np.array([2.0, 1.9, 1.2, 0.8, 0.9, 3.0])
    >>> suggest_bounds(lrs, loss)
    (0.001, 0.01)
    """
    if len(lrs) == 0:
        raise ConfigError("lr range test: no finite loss was recorded; lower lr_start")
    i_max = int(np.argmin(smoothed))
    lr_max = float(lrs[i_max])
    target = smoothed[0] - drop_fraction * (smoothed[0] - smoothed[i_max])
    below = np.flatnonzero(smoothed[: i_max + 1] <= target)
    lr_min = float(lrs[below[0]]) if below.size else lr_max / 10
    if not lr_min < lr_max:
        lr_min = lr_max / 10
    return lr_min, lr_max


@dataclass
class EpochRangeResult:
    """Rates tried (one per epoch), validation UA after each, the untrained UA, and ``(lr_min, lr_max)``
    (``None`` when UA never rose: no rate in the range made the model learn within one epoch)."""

    lrs: np.ndarray
    ua: np.ndarray
    ua0: float
    suggested: tuple[float, float] | None


def lr_range_test_epochs(
    model: nn.Module,
    train_epoch: Callable[[nn.Module, torch.optim.Optimizer], Any],
    val_ua: Callable[[nn.Module], float],
    *,
    lr_start: float = 1e-5,
    lr_end: float = 0.1,
    epochs: int = 8,
    optimizer: Callable[[Any, float], torch.optim.Optimizer] | None = None,
    rise_fraction: float = 0.25,
) -> EpochRangeResult:
    """The paper's range test: ``epochs`` epochs at rates ``geomspace(lr_start, lr_end, epochs)``, UA after each.

    Args:
        train_epoch: ``fn(model, optimizer)`` trains one epoch (the optimiser's rate is already set).
        val_ua: ``fn(model) -> UA`` on the validation partition.
        rise_fraction: how far (of the way from the untrained UA to the best) UA must have risen for the
            "obvious increase" that marks ``lr_min``.

    The model's weights and train/eval mode are restored afterwards.
    """
    if not 0 < lr_start < lr_end or epochs < 2:
        raise ConfigError(f"lr range test: need 0 < lr_start < lr_end and at least 2 epochs, got "
                          f"{lr_start}, {lr_end}, {epochs}")
    state = copy.deepcopy(model.state_dict())
    was_training = model.training
    lrs = np.geomspace(lr_start, lr_end, epochs)
    opt = (optimizer or adam)(model.parameters(), float(lrs[0]))
    try:
        ua0 = float(val_ua(model))
        uas = []
        for lr in lrs:
            for group in opt.param_groups:
                group["lr"] = float(lr)
            model.train()
            train_epoch(model, opt)
            uas.append(float(val_ua(model)))
    finally:
        model.load_state_dict(state)
        model.train(was_training)
    ua = np.asarray(uas)
    return EpochRangeResult(lrs, ua, ua0, suggest_bounds_ua(lrs, ua, ua0, rise_fraction))


def suggest_bounds_ua(lrs: np.ndarray, ua: np.ndarray, ua0: float, rise_fraction: float = 0.25,
                      min_rise: float = 0.05) -> tuple[float, float] | None:
    """``(lr_min, lr_max)`` from validation UA per epoch (see the module docstring), or ``None`` for a flat curve.

    ``lr_max`` is the rate of the (first) best epoch; ``lr_min`` the rate of the first epoch whose UA is at least
    ``ua0 + rise_fraction * (best - ua0)``, or a tenth of ``lr_max`` when that is the best epoch itself. When no
    epoch beats the untrained model by ``min_rise`` (UA as a fraction) the curve says nothing: ``None``.

    >>> lrs = np.array([1e-5, 1e-4, 1e-3, 1e-2, 1e-1]); ua = np.array([0.15, 0.2, 0.4, 0.55, 0.3])
    >>> suggest_bounds_ua(lrs, ua, ua0=0.14)
    (0.001, 0.01)
    >>> suggest_bounds_ua(lrs, np.array([0.14, 0.15, 0.14, 0.16, 0.14]), ua0=0.14) is None
    True
    """
    if len(lrs) == 0 or len(lrs) != len(ua):
        raise ConfigError("lr range test: no epochs were recorded")
    if float(np.max(ua)) < ua0 + min_rise:
        return None
    peak = int(np.argmax(ua))
    lr_max = float(lrs[peak])
    target = ua0 + rise_fraction * (float(ua[peak]) - ua0)
    rose = np.flatnonzero(ua[: peak + 1] >= target)
    first = int(rose[0]) if rose.size else peak
    lr_min = float(lrs[first]) if first < peak else lr_max / 10
    return lr_min, lr_max


def clr_bounds(model: nn.Module, train: Any, val: Any, cfg: Any, lr: float, weight_decay: float,
               weight: torch.Tensor | None, device: str) -> dict[str, Any]:
    """CLR ``(lr_min, lr_max)`` of one training (``cfg`` a TrainConfig): from the settings, or a range test.

    Returns the bounds and how they were found, for the run record (``lr_bounds_from``, and the rates and
    validation UAs of the epoch-wise test).
    """
    if not cfg.lr_range_test:
        top = cfg.lr_max if cfg.lr_max is not None else lr
        low = cfg.lr_min if cfg.lr_min is not None else top / 10
        return {"lr_min": low, "lr_max": top, "lr_bounds_from": "settings"}
    variable = is_variable(model)

    def make_opt(params: Any, rate: float) -> torch.optim.Optimizer:
        return adam(params, rate, weight_decay, cfg.fused_optimizer)

    def batch_loss(m: nn.Module, x: torch.Tensor, lens: torch.Tensor | None, y: torch.Tensor) -> torch.Tensor:
        y = y.to(device)
        logits = forward(m, x.to(device), None if lens is None else lens.to(device), y)
        return F.cross_entropy(logits.float(), y, weight=weight)

    rng = np.random.default_rng([cfg.seed, 7])
    if cfg.lr_range_by == "val_ua" and val is not None and len(val):
        def one_epoch(m: nn.Module, opt: torch.optim.Optimizer) -> None:
            for x, lens, y, _ in iterate_batches(train, cfg.batch_size, variable, True, rng):
                loss = batch_loss(m, x, lens, y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()

        res = lr_range_test_epochs(model, one_epoch, lambda m: evaluate(m, val, cfg.eval_batch_size, device, weight)[2],
                                   lr_start=cfg.lr_range_start, lr_end=cfg.lr_range_end, epochs=cfg.lr_range_epochs,
                                   optimizer=make_opt)
        found = res.suggested is not None
        # a flat curve (no rate made one epoch learn anything) says nothing: the settings' bounds instead
        low, top = res.suggested if res.suggested is not None else (lr / 10, lr)
        return {"lr_min": low, "lr_max": top, "lr_bounds_from": "range_test_val_ua" if found else "settings_flat_range",
                "lr_range_lrs": [float(v) for v in res.lrs], "lr_range_ua": [float(v) for v in res.ua],
                "lr_range_ua0": res.ua0}
    batches = [(x, lens, y) for x, lens, y, _ in iterate_batches(train, cfg.batch_size, variable, True, rng)]
    res_b = lr_range_test(model, batches, lr_start=cfg.lr_range_start, lr_end=cfg.lr_range_end,
                          steps=cfg.lr_range_steps, loss_fn=lambda m, b: batch_loss(m, *b), optimizer=make_opt)
    low, top = res_b.suggested
    return {"lr_min": low, "lr_max": top, "lr_bounds_from": "range_test", "lr_range_batches": len(res_b.lrs)}

