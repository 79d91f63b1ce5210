"""Training: Adam + L2, early stopping or fixed epochs, schedules, grid search, augmentation settings, batching."""

from .augment import BatchAugment, WaveAugment, mixup, spec_augment

from .checkpoint import TrainingCheckpoint
from .config import TrainConfig, resolve_device
from .optim import adam
from .trainer import Examples, FitResult, fit, n_parameters, predict_logits

__all__ = ["BatchAugment", "WaveAugment", "mixup", "spec_augment", "Examples", "FitResult", "TrainConfig",
           "TrainingCheckpoint", "adam", "fit", "n_parameters", "predict_logits", "resolve_device"]
