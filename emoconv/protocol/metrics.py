"""Classification metrics for emotion recognition, per fold and across folds.

Speech emotion recognition reports two accuracies: *weighted accuracy* (WA, the plain
share of correctly classified utterances, so large classes weigh more) and *unweighted
accuracy* (UA, the mean of the per-class recalls, so every class weighs the same), the
pair popularised by the INTERSPEECH 2009 Emotion Challenge (Schuller, Steidl and
Batliner, 2009). All counting is done by scikit-learn.

Labels may be given as class names or as integer indices into ``labels``.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import ConfigError

DEFAULT_KEYS = ("accuracy", "ua", "wa", "macro_f1")


def encode_labels(y: Iterable[Any], labels: Sequence[str] | int, name: str = "y") -> np.ndarray:
    """Class indices (int64, shape (N,)) for ``y`` given as names in ``labels`` or as indices.

    >>> encode_labels(["anger", "neutral"], ["neutral", "anger"]).tolist()
    [1, 0]
    >>> encode_labels([2, 0], 3).tolist()
    [2, 0]
    """
    names = _names(labels)
    k = len(names)
    arr = np.asarray(list(y) if not isinstance(y, np.ndarray) else y)
    if arr.ndim != 1:
        raise ConfigError(f"{name}: expected a flat sequence of labels, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind in "iu":
        bad = arr[(arr < 0) | (arr >= k)]
        if bad.size:
            raise ConfigError(f"{name}: class index {int(bad[0])} is outside 0..{k - 1}; pass labels with "
                              f"all {max(k, int(bad.max()) + 1)} classes")
        return arr.astype(np.int64)
    lookup = {n: i for i, n in enumerate(names)}
    try:
        return np.array([lookup[str(v)] for v in arr], dtype=np.int64)
    except KeyError as exc:
        raise ConfigError(f"{name}: label {exc.args[0]!r} is not among {', '.join(names)}; "
                          f"pass the full label list") from None


def _names(labels: Sequence[str] | int) -> list[str]:
    if isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
        if labels < 1:
            raise ConfigError(f"labels: need at least 1 class, got {labels}")
        return [str(i) for i in range(int(labels))]
    names = [str(n) for n in labels]
    if not names or len(set(names)) != len(names):
        raise ConfigError(f"labels: need a non-empty list of distinct class names, got {names}")
    return names


def classification_metrics(y_true: Sequence[Any], y_pred: Sequence[Any],
                           labels: Sequence[str] | int) -> dict[str, Any]:
    """Accuracy, WA, UA, macro F1, per-class recall/precision/F1 and the confusion matrix.

    ``y_true``, ``y_pred``: shape (N,), class names or indices into ``labels`` (a list of
    names, or a class count K). Returns a JSON-ready dict:

    - ``accuracy`` = ``wa``: correct / N.
    - ``ua``: mean recall over the classes present in ``y_true``.
    - ``macro_f1``: mean F1 over the classes present in ``y_true`` or ``y_pred``.
    - ``recall``/``precision``/``f1``: {class name: value}, ``None`` where undefined
      (recall: class absent from ``y_true``; precision: never predicted).
    - ``confusion``: K x K counts, rows = true class, columns = predicted, order of ``labels``.
    - ``labels``: class names; ``n``: N.

    >>> m = classification_metrics([0, 0, 0, 1], [0, 0, 0, 0], 2)
    >>> m["wa"], m["ua"]
    (0.75, 0.5)
    """
    names = _names(labels)
    t = encode_labels(y_true, names, "y_true")
    p = encode_labels(y_pred, names, "y_pred")
    if t.shape != p.shape:
        raise ConfigError(f"y_true has {t.size} labels but y_pred {p.size}; pass one prediction per utterance")
    if t.size == 0:
        raise ConfigError("y_true is empty; metrics need at least one utterance")
    k = len(names)
    idx = list(range(k))
    present = np.unique(t).tolist()
    seen = np.union1d(t, p).tolist()
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    prec, rec, f1, support = precision_recall_fscore_support(t, p, labels=idx, zero_division=0)
    predicted = np.bincount(p, minlength=k)
    acc = float(accuracy_score(t, p))
    return {
        "accuracy": acc,
        "wa": acc,
        "ua": float(np.mean(rec[present])),
        "macro_f1": float(f1_score(t, p, labels=seen, average="macro", zero_division=0)),
        "recall": {names[i]: (float(rec[i]) if support[i] > 0 else None) for i in idx},
        "precision": {names[i]: (float(prec[i]) if predicted[i] > 0 else None) for i in idx},
        "f1": {names[i]: (float(f1[i]) if i in seen else None) for i in idx},
        "confusion": confusion_matrix(t, p, labels=idx).tolist(),
        "labels": names,
        "n": int(t.size),
    }


def unweighted_accuracy(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """UA of integer labels: mean recall over the classes present in ``y_true``.

    >>> round(unweighted_accuracy([0, 0, 0, 1], [0, 0, 1, 1]), 4)
    0.8333
    """
    t, p = np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape or t.size == 0:
        raise ConfigError(f"unweighted_accuracy: need equal, non-empty label arrays, got {t.size} and {p.size}")
    return float(np.mean([np.mean(p[t == c] == c) for c in np.unique(t)]))


def summarize_folds(fold_metrics: Sequence[dict[str, Any]],
                    keys: Sequence[str] = DEFAULT_KEYS) -> dict[str, dict[str, Any]]:
    """Mean and sample standard deviation (ddof=1; 0.0 for one fold) of each key across folds.

    Returns ``{key: {"mean": float, "std": float, "values": [per-fold values]}}``.

    >>> summarize_folds([{"ua": 0.5}, {"ua": 0.7}], keys=("ua",))["ua"]["mean"]
    0.6
    """
    if not fold_metrics:
        raise ConfigError("summarize_folds: no fold metrics given; run at least one fold")
    out: dict[str, dict[str, Any]] = {}
    for key in keys:
        values = []
        for i, m in enumerate(fold_metrics):
            if key not in m or m[key] is None:
                raise ConfigError(f"summarize_folds: fold {i} has no {key!r}; known keys: {', '.join(sorted(m))}")
            values.append(float(m[key]))
        arr = np.asarray(values)
        std = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
        out[key] = {"mean": float(arr.mean()), "std": std, "values": values}
    return out


def pooled_metrics(fold_predictions: Sequence[tuple[Sequence[Any], Sequence[Any]]],
                   labels: Sequence[str] | int) -> dict[str, Any]:
    """:func:`classification_metrics` over all folds' ``(y_true, y_pred)`` pairs concatenated.

    Pooled UA differs from the mean of per-fold UAs when folds differ in size or class mix.
    """
    if not fold_predictions:
        raise ConfigError("pooled_metrics: no fold predictions given; run at least one fold")
    names = _names(labels)
    ts, ps = [], []
    for i, (yt, yp) in enumerate(fold_predictions):
        ts.append(encode_labels(yt, names, f"fold {i} y_true"))
        ps.append(encode_labels(yp, names, f"fold {i} y_pred"))
        if ts[-1].shape != ps[-1].shape:
            raise ConfigError(f"fold {i}: y_true has {ts[-1].size} labels but y_pred {ps[-1].size}; "
                              f"pass one prediction per utterance")
    return classification_metrics(np.concatenate(ts), np.concatenate(ps), names)
