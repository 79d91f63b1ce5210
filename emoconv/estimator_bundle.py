"""Bundles of estimators (the SVM, DNN-ELM, LSTM-ELM): the fitted estimator saved with skops, loaded only from
allowed types.

A network bundle keeps its weights in ``weights.safetensors``; an estimator's bundle (``"kind": "estimator"`` in
``bundle.json``) keeps the fitted estimator in ``estimator.skops`` (skops.io: a format of plain data and type
names, not pickled code). An estimator that holds a network (the network + ELM systems) says what to keep with
``bundle_state() -> (part, tensors)``: the ``part`` goes to ``estimator.skops``, the tensors to
``weights.safetensors`` (``model.*``), and loading builds the registered model afresh and hands both back to
its ``load_bundle_state(part, tensors)`` (``"estimator_state": true`` in ``bundle.json``). Loading refuses a
file that names a type outside scikit-learn, numpy, scipy and the estimators emoconv registers as bundleable (:data:`BUNDLEABLE`), so opening a bundle cannot run code it brings.

Scoring follows the estimator's own rules: its ``predict`` gives the label (the SVM: scikit-learn's one-vs-one
votes), its ``predict_proba`` the probabilities. A per-speaker standardised SVM meets an unheard speaker at
prediction time: with ``same_speaker`` the files are standardised together, as one speaker's (its training
rule); a single file is standardised with the training set's statistics instead, and its row says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import BundleError, EmoconvError

__all__ = ["BUNDLEABLE", "ESTIMATOR_FILE", "estimator_parts", "load_estimator", "predict_estimator",
           "save_estimator"]

ESTIMATOR_FILE = "estimator.skops"
#: Estimator classes (module.qualname) that a bundle may hold besides scikit-learn / numpy / scipy types.
BUNDLEABLE = frozenset({"emoconv.models.svm.SVMClassifier", "emoconv.layers.elm.ELMClassifier"})
_LIBRARIES = ("sklearn.", "numpy.", "scipy.")


def estimator_parts(estimator: Any) -> tuple[Any, dict[str, Any]]:
    """(what ``estimator.skops`` holds, tensors for ``weights.safetensors``) of a bundleable estimator."""
    if hasattr(estimator, "bundle_state"):
        return estimator.bundle_state()
    return estimator, {}


def save_estimator(folder: Path, estimator: Any) -> None:
    """Write ``estimator`` to ``folder/estimator.skops``."""
    import skops.io as sio

    name = f"{type(estimator).__module__}.{type(estimator).__qualname__}"
    if name not in BUNDLEABLE:
        raise BundleError(f"{name}: this estimator cannot be bundled (bundleable: {', '.join(sorted(BUNDLEABLE))})")
    sio.dump(estimator, folder / ESTIMATOR_FILE)


def load_estimator(folder: Path, meta: dict[str, Any] | None = None, tensors: dict[str, Any] | None = None,
                   build: Any = None) -> Any:
    """The estimator of a bundle folder; :class:`BundleError` for a missing, damaged or untrusted file.

    With ``meta["estimator_state"]``, ``build()`` (the bundle's registered model, built afresh) is given the
    skops part and the bundle's ``model.*`` tensors (``load_bundle_state``).
    """
    part = _load_part(folder)
    if not (meta or {}).get("estimator_state"):
        return part
    state = {k[len("model."):]: v for k, v in (tensors or {}).items() if k.startswith("model.")}
    return build().load_bundle_state(part, state)


def _load_part(folder: Path) -> Any:
    import skops.io as sio

    path = folder / ESTIMATOR_FILE
    if not path.is_file():
        raise BundleError(f"{folder}: an estimator bundle needs {ESTIMATOR_FILE}; re-export the bundle")
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises zipfile / JSON / its own errors for a damaged file
        raise BundleError(f"{path}: damaged estimator ({type(exc).__name__}: {exc}); re-export the bundle") from None
    refused = [t for t in untrusted if t not in BUNDLEABLE and not t.startswith(_LIBRARIES)]
    if refused:
        raise BundleError(f"{path}: holds types emoconv does not load ({', '.join(refused[:3])}); "
                          "only bundles written by emoconv can be opened")
    try:
        return sio.load(path, trusted=list(untrusted))
    except Exception as exc:
        raise BundleError(f"{path}: damaged estimator ({type(exc).__name__}: {exc}); re-export the bundle") from None


def predict_estimator(estimator: Any, names: Sequence[str], feats: Sequence[Any], labels: Sequence[str],
                      same_speaker: bool, pipeline: Any = None) -> list[dict[str, Any]]:
    """One row per file (``file``, ``label``, ``probabilities`` and a ``note`` where the rule was adapted).

    ``pipeline`` (:class:`~emoconv.features.pipeline.InputPipeline`) that cuts each file into several examples
    (3D-CNN volumes): every segment is scored and the file's probabilities are their aggregate, as in a run.
    """
    if not feats:
        return []
    kw: dict[str, Any] = {}
    note = None
    segments = pipeline is not None and pipeline.aggregates
    if segments:  # every segment an example (3D-CNN volumes); the file's probabilities aggregate them
        x, groups = pipeline.shape(list(feats))
    elif getattr(estimator, "variable_length", False):  # per-frame inputs (the network + ELM systems) as they are
        x = list(feats)
    else:
        x = [np.asarray(f, dtype=np.float64).reshape(-1) for f in feats]
    if getattr(estimator, "uses_speakers", False):
        if same_speaker and len(x) > 1:
            kw["speakers"] = ["predict"] * len(x)
        else:
            note = ("per-speaker standardised model: scored with its training set's statistics (pass several "
                    "files of one speaker with --same-speaker for its own rule)")
    try:
        probs = np.asarray(estimator.predict_proba(x, **kw))
        if segments:
            probs = pipeline.aggregate(probs.astype(np.float32), groups, len(feats))
        pred = np.asarray(estimator.predict(x, **kw)) if hasattr(estimator, "predict") and not segments \
            else probs.argmax(1)
    except EmoconvError as exc:
        raise BundleError(f"the bundle's estimator cannot score these files ({exc})") from None
    rows = []
    for name, p, k in zip(names, probs, pred):
        row: dict[str, Any] = {"file": str(name), "label": labels[int(k)],
                               "probabilities": {lab: round(float(v), 6) for lab, v in zip(labels, p)}}
        if note:
            row["note"] = note
        rows.append(row)
    return rows
