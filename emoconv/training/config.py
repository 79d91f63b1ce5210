"""Training settings, validated where they enter."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import check
from .augment import BatchAugment, WaveAugment

KEY_OPTIONAL = ("batch_augment", "min_epochs", "wave_augment", "fixed_epochs", "lr_range_by", "lr_range_epochs",
                "fused_optimizer", "restore")
"""TrainConfig fields (added after 0.2.0) that enter run keys only when they differ from the default."""


@dataclass(frozen=True)
class TrainConfig:
    """How one model is trained and selected.

    ``weight_decay_grid`` / ``lr_grid`` list the values tried on the validation
    partition (a grid search); an empty grid means just ``weight_decay`` / ``lr``.
    The grid point with the best ``select_by`` on validation wins (ties: lower
    validation loss). Early stopping watches validation loss with ``patience`` and
    restores the best epoch's weights.

    ``restore`` says which weights early stopping leaves: ``best`` (the default) those of the best epoch on the
    watched validation figure; ``last`` those of the epoch training stopped at, ``patience`` epochs later (what
    a stopping rule that only ends training does, e.g. Keras's ``EarlyStopping`` by default). The MTS paper
    says "early stopping with 10 epochs patience for validation loss improvement" and not which weights it
    tested; ``best`` is the reading emoconv takes, ``last`` the other one.

    ``fused_optimizer`` runs Adam as PyTorch's fused kernel (one pass over each weight tensor; on CPU about 6x
    faster than the per-operation update, which dominates the steps of A2/A3's large FC layers). It computes the
    same update in another order of float operations: weights agree to about 1e-7 after a few steps, not bit
    for bit, so ``false`` (the update of emoconv before 2026-12-02) is kept as an option.

    ``amp`` trains with mixed precision (float16 autocast and a gradient scaler) when
    the run is on a CUDA device; on CPU it is a no-op (training stays float32, so CPU
    results do not depend on it). Validation and test scoring stay float32.

    Schedules and stopping (the multi-dilated CNN recipes, Sci. Rep. 15:8254, 2025):
    ``lr_schedule: cyclic`` is Smith's triangular CLR (:func:`emoconv.training.clr.cyclic_lr`)
    stepped once per batch between ``lr_min`` and ``lr_max`` (unset: ``lr_max`` = the grid's
    ``lr``, ``lr_min`` = ``lr_max / 10``), half a cycle every ``clr_step_epochs`` epochs of
    batches; ``lr_range_test: true`` picks both bounds first and records them in the grid results:
    with ``lr_range_by: val_ua`` (default; the paper's reading) from validation UA after each of
    ``lr_range_epochs`` epochs at rates from ``lr_range_start`` to ``lr_range_end``
    (:func:`emoconv.training.clr.lr_range_test_epochs`), with ``lr_range_by: loss`` from the smoothed
    training loss over ``lr_range_steps`` batches (:func:`emoconv.training.clr.lr_range_test`).
    ``early_stop_on`` is the validation figure early stopping watches (``val_loss``: lowest
    loss; ``val_ua``: highest UA, the paper's choice). ``class_weighted`` weighs the loss by
    ``r_c = alpha N / N_c`` (:func:`emoconv.training.losses.class_weights`; ``class_weight_alpha``
    unset = ``1 / K``); a class without training examples is then a ProtocolError.
    ``smooth_epochs`` (default 1) makes early stopping and best-epoch selection watch the mean of the
    last ``smooth_epochs`` epochs' figure instead of one epoch's, so that one noisy validation epoch
    neither stops training early nor is picked by luck. ``mts_probe: true`` adds, after every epoch, a
    diagnostic of each MTS layer on the first validation batch to the history (per-scale win shares,
    response amplitudes, gradient through each branch: :func:`emoconv.layers.mts_stats.probe_mts`).
    ``lr_schedule: onecycle`` is torch's ``OneCycleLR`` (cosine warm-up over the first 10 % of
    ``max_epochs`` to the grid's ``lr``, then cosine annealing), stepped once per batch; with it, early
    stopping only starts counting after ``min_epochs`` epochs (default 0: from the first epoch).
    ``batch_augment`` masks (SpecAugment) and mixes (mixup) training batches
    (:class:`emoconv.training.augment.BatchAugment`; off by default). ``wave_augment`` adds speed, gain,
    crop and noise variants of the training utterances, redrawn every epoch, features cached
    (:mod:`emoconv.experiments.wave_augment`; off by default).

    ``fixed_epochs: true`` uses no validation at all: the validation speakers join the training partition,
    the model trains exactly ``max_epochs`` epochs (best with ``lr_schedule: onecycle``) and the last
    weights are kept; the number of epochs is then a fixed part of the recipe, never tuned on the fold.

    Run keys: fields added after 0.2.0 (:data:`KEY_OPTIONAL`) enter a run's key only when set away from
    their default, so adding a setting does not invalidate the results of every earlier sweep.
    """

    lr: float = 1e-3
    weight_decay: float = 0.0
    weight_decay_grid: tuple[float, ...] = ()
    lr_grid: tuple[float, ...] = ()
    batch_size: int = 32
    max_epochs: int = 500
    patience: int = 10
    min_delta: float = 0.0
    class_weighted: bool = False
    select_by: str = "val_ua"
    seed: int = 0
    device: str = "auto"
    eval_batch_size: int = 64
    progress: bool = True
    lr_schedule: str = "none"
    amp: bool = False
    lr_min: float | None = None
    lr_max: float | None = None
    clr_step_epochs: float = 1.0
    lr_range_test: bool = False
    lr_range_steps: int = 100
    lr_range_start: float = 1e-6
    lr_range_end: float = 1.0
    lr_range_by: str = "val_ua"
    lr_range_epochs: int = 8
    early_stop_on: str = "val_loss"
    class_weight_alpha: float | None = None
    smooth_epochs: int = 1
    mts_probe: bool = False
    batch_augment: BatchAugment = field(default_factory=BatchAugment)
    min_epochs: int = 0
    wave_augment: WaveAugment = field(default_factory=WaveAugment)
    fixed_epochs: bool = False
    fused_optimizer: bool = True
    restore: str = "best"

    def __post_init__(self) -> None:
        check(self.restore in ("best", "last"), f"train.restore must be best or last, got {self.restore!r}")
        check(self.lr > 0, f"train.lr must be > 0, got {self.lr}")
        check(all(v > 0 for v in self.lr_grid), "train.lr_grid values must be > 0")
        check(self.weight_decay >= 0, "train.weight_decay must be >= 0")
        check(all(v >= 0 for v in self.weight_decay_grid), "train.weight_decay_grid values must be >= 0")
        check(self.batch_size >= 1, f"train.batch_size must be >= 1, got {self.batch_size}")
        check(self.max_epochs >= 1, f"train.max_epochs must be >= 1, got {self.max_epochs}")
        check(self.patience >= 1, f"train.patience must be >= 1, got {self.patience}")
        check(self.select_by in ("val_ua", "val_loss", "val_accuracy"),
              f"train.select_by must be val_ua, val_loss or val_accuracy, got {self.select_by!r}")
        check(self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:"),
              f"train.device must be auto, cpu or cuda[:N], got {self.device!r}")
        check(self.lr_schedule in ("none", "cyclic", "onecycle"),
              f"train.lr_schedule must be none, cyclic or onecycle, got {self.lr_schedule!r}")
        self._check_schedule()

    def _check_schedule(self) -> None:
        """Validate the CLR, range-test, early-stopping and class-weight settings."""
        cyclic = self.lr_schedule == "cyclic"
        for name in ("lr_min", "lr_max", "lr_range_test"):
            check(cyclic or not getattr(self, name), f"train.{name} needs train.lr_schedule: cyclic")
        check(self.lr_min is None or self.lr_min > 0, f"train.lr_min must be > 0, got {self.lr_min}")
        check(self.lr_max is None or self.lr_max > 0, f"train.lr_max must be > 0, got {self.lr_max}")
        top = self.lr_max if self.lr_max is not None else min(self.lr_grid or (self.lr,))
        check(self.lr_min is None or self.lr_min < top,
              f"train.lr_min ({self.lr_min}) must be below the CLR maximum ({top}: train.lr_max, else train.lr)")
        check(not (self.lr_max is not None and self.lr_grid),
              "train.lr_max and train.lr_grid both set the CLR maximum; keep one")
        check(not (self.lr_range_test and (self.lr_min is not None or self.lr_max is not None or self.lr_grid)),
              "train.lr_range_test picks the CLR bounds itself; drop train.lr_min, lr_max and lr_grid")
        check(self.clr_step_epochs > 0, f"train.clr_step_epochs must be > 0, got {self.clr_step_epochs}")
        check(self.lr_range_steps >= 2, f"train.lr_range_steps must be >= 2, got {self.lr_range_steps}")
        check(0 < self.lr_range_start < self.lr_range_end,
              f"train.lr_range_start/lr_range_end: need 0 < start < end, got {self.lr_range_start}, "
              f"{self.lr_range_end}")
        check(self.lr_range_by in ("val_ua", "loss"),
              f"train.lr_range_by must be val_ua (validation UA per epoch) or loss (per batch), got "
              f"{self.lr_range_by!r}")
        check(isinstance(self.lr_range_epochs, int) and self.lr_range_epochs >= 2,
              f"train.lr_range_epochs must be an integer >= 2, got {self.lr_range_epochs!r}")
        check(self.early_stop_on in ("val_loss", "val_ua"),
              f"train.early_stop_on must be val_loss or val_ua, got {self.early_stop_on!r}")
        check(self.class_weight_alpha is None or self.class_weight_alpha > 0,
              f"train.class_weight_alpha must be > 0 (or unset for 1/K), got {self.class_weight_alpha}")
        check(isinstance(self.smooth_epochs, int) and self.smooth_epochs >= 1,
              f"train.smooth_epochs must be an integer >= 1, got {self.smooth_epochs!r}")
        check(not self.fixed_epochs or (len(self.grid()) == 1 and not self.lr_range_test),
              "train.fixed_epochs trains without validation, so nothing can pick a grid point or run the range "
              "test: give one lr and weight_decay, and drop train.lr_range_test")
        check(isinstance(self.min_epochs, int) and 0 <= self.min_epochs <= self.max_epochs,
              f"train.min_epochs must be an integer in [0, max_epochs], got {self.min_epochs!r}")
        check(self.class_weighted or self.class_weight_alpha is None,
              "train.class_weight_alpha needs train.class_weighted: true")

    def grid(self) -> list[dict[str, float]]:
        """Hyperparameter points to try: the product of the lr and weight-decay grids."""
        lrs = self.lr_grid or (self.lr,)
        wds = self.weight_decay_grid or (self.weight_decay,)
        return [{"lr": lr, "weight_decay": wd} for lr in lrs for wd in wds]


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return name
