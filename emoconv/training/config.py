"""Training settings, validated where they enter."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import check


@dataclass(frozen=True)
class TrainConfig:
    """How one model is trained and selected.

    ``weight_decay_grid`` / ``lr_grid`` list the values tried on the validation
    partition (a grid search); an empty grid means just ``weight_decay`` / ``lr``.
    The grid point with the best ``select_by`` on validation wins (ties: lower
    validation loss). Early stopping watches validation loss with ``patience`` and
    restores the best epoch's weights.
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

    def __post_init__(self) -> None:
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
        check(self.lr_schedule in ("none", "cyclic"),
              f"train.lr_schedule must be none or cyclic, got {self.lr_schedule!r}")

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
