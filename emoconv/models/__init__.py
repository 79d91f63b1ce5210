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

#: Builders by name, e.g. ``MODELS.get("mts.a2")(n_classes=7, input_shape=(1, 300, 161), conv="mts")``.
MODELS: Registry[ModelBuilder] = Registry("model")


def build_model(name: str, n_classes: int, input_shape: tuple[int, ...], **params: Any) -> nn.Module:
    """Build registered model ``name``; imports the model modules on first use.

    The module named by the prefix before the first dot (``mts`` for ``mts.a2``) is
    imported first, so loading one bundle does not import every system.
    """
    if name not in MODELS:
        import importlib

        try:
            importlib.import_module(f"{__name__}.{name.split('.')[0]}")
        except ImportError:
            pass
    if name not in MODELS:
        _import_all()
    return MODELS.get(name)(n_classes=n_classes, input_shape=tuple(input_shape), **params)


def _import_all() -> None:
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):  # type: ignore[name-defined]
        importlib.import_module(f"{__name__}.{mod.name}")


_EXPORTS = {
    "MTSNet": "mts", "MTSResNet18": "mts", "make_conv": "mts", "MDCNN": "mdcnn", "MDCNNConfig": "mdcnn",
    "CLDNN": "cldnn", "CNN3DDNN": "cnn3d", "CNN3DSteps": "cnn3d", "ECNet": "ecnet", "SVMClassifier": "svm",
}

__all__ = ["MODELS", "ModelBuilder", "build_model", *sorted(_EXPORTS)]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
