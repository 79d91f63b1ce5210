"""Model registry: every architecture is built by name from recipes and bundles.

A registered builder has the signature ``build(n_classes: int, input_shape: tuple[int, ...], **params) -> nn.Module``
where ``input_shape`` is the shape of one example without the batch axis, e.g. ``(C, T, F)``.
Models take a batch ``(B, *input_shape)`` and return logits ``(B, n_classes)``.

The model classes are importable from here too (``from emoconv.models import ECNet``), each loaded from its
module on first use.

>>> from emoconv.models import ECNet, build_model
>>> isinstance(build_model("ecnet", n_classes=4, input_shape=(1, 60, 40)), ECNet)
True
"""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

from .._lazy import lazy_exports
from ..registry import Registry

ModelBuilder = Callable[..., nn.Module]

#: The modules that register models (imported on first use; ``mts.a2`` loads ``mts`` alone).
_MODULES = ("mts", "mdcnn", "cldnn", "cnn3d", "baselines3d", "ecnet", "svm", "ensemble")

#: Builders by name, e.g. ``MODELS.get("mts.a2")(n_classes=7, input_shape=(1, 300, 161), conv="mts")``.
MODELS: Registry[ModelBuilder] = Registry("model", modules=[f"{__name__}.{m}" for m in _MODULES])


def build_model(name: str, n_classes: int, input_shape: tuple[int, ...], **params: Any) -> nn.Module:
    """Build registered model ``name`` (its module is imported on first use, see :class:`~emoconv.registry.Registry`)."""
    return MODELS.get(name)(n_classes=n_classes, input_shape=tuple(input_shape), **params)


_EXPORTS = {
    "MTSNet": "mts", "MTSResNet18": "mts", "make_conv": "mts", "MDCNN": "mdcnn", "MDCNNConfig": "mdcnn",
    "CLDNN": "cldnn", "CNN3DDNN": "cnn3d", "CNN3DSteps": "cnn3d", "ECNet": "ecnet", "SVMClassifier": "svm",
    "FoldEnsemble": "ensemble",
}

__all__ = ["MODELS", "ModelBuilder", "build_model", *sorted(_EXPORTS)]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
