"""Training: Adam + L2, early stopping, validation grid search, batch augmentation, batching helpers."""

from .augment import BatchAugment, mixup, spec_augment

from .config import TrainConfig, resolve_device
from .trainer import Examples, FitResult, fit, n_parameters, predict_logits

__all__ = ["BatchAugment", "mixup", "spec_augment", "Examples", "FitResult", "TrainConfig", "fit", "n_parameters", "predict_logits", "resolve_device"]
