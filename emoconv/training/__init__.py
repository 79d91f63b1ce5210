"""Training: Adam + L2, early stopping, validation grid search, batching helpers."""

from .config import TrainConfig, resolve_device
from .trainer import Examples, FitResult, fit, n_parameters, predict_logits

__all__ = ["Examples", "FitResult", "TrainConfig", "fit", "n_parameters", "predict_logits", "resolve_device"]
