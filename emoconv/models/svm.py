"""SVM baseline on utterance-level functionals (the convolution-type study's Table 3).

C.-W. Huang and S. S. Narayanan (arXiv:1706.02901, Sec. 4.1 and 6.1) train scikit-learn SVMs
with linear, polynomial and RBF kernels on openSMILE challenge feature sets, after speaker
standardisation (every feature z-normalised per speaker, as recommended by Eyben et al.'s
benchmark of the challenge sets) and with class weighting, evaluated by leave-one-speaker-out
and on a fixed 70:10:20 speaker partition.

:class:`SVMClassifier` follows the toolkit's estimator convention
(``fit(train, y_train, val, y_val) -> self``, ``predict_proba(feats) -> (N, K)``) with optional
``*_speakers`` arguments for the per-speaker standardisation; it is registered in
:data:`emoconv.models.MODELS` as ``"svm"``. Predictions follow scikit-learn's own rule
(``SVC.predict``: one-vs-one votes); ``predict_proba`` gives the library's calibrated probabilities
(``CalibratedClassifierCV``, sigmoid, 5 seeded inner folds: scikit-learn's replacement for the
deprecated ``SVC(probability=True)``), or with ``probability=False`` (cheaper: no inner folds) the
softmax of the one-vs-rest decision values, which are scores, not probabilities, and whose argmax
can differ from the prediction on vote ties.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from ..config import check
from ..errors import ConfigError, ProtocolError
from ..protocol.metrics import unweighted_accuracy
from . import MODELS

__all__ = ["SVMClassifier", "build_svm", "evaluate_folds", "speaker_standardize", "unweighted_accuracy"]

KERNELS = ("linear", "poly", "rbf")


def speaker_standardize(x: np.ndarray, speakers: Sequence[str], eps: float = 1e-8) -> np.ndarray:
    """Z-normalise every column of ``x (N, D)`` within each speaker's rows; returns float32.

    Uses only the features (no labels), so test speakers are normalised with their own
    statistics. Columns constant within a speaker become 0.
    """
    x = np.asarray(x, dtype=np.float64)
    spk = np.asarray(list(speakers))
    if x.ndim != 2 or spk.shape != (x.shape[0],):
        raise ConfigError(f"speaker standardisation needs x (N, D) and N speakers; got {x.shape} and {spk.shape}")
    out = np.empty_like(x)
    for s in np.unique(spk):
        rows = spk == s
        mu = x[rows].mean(0)
        sd = x[rows].std(0)
        out[rows] = (x[rows] - mu) / np.where(sd > eps, sd, 1.0)
        out[np.ix_(rows, sd <= eps)] = 0.0
    return out.astype(np.float32)


def _as_matrix(feats: Any) -> np.ndarray:
    if isinstance(feats, np.ndarray):
        x = feats
    else:
        x = np.stack([np.asarray(f.detach().cpu() if hasattr(f, "detach") else f, dtype=np.float32).reshape(-1)
                      for f in feats])
    if x.ndim != 2:
        x = x.reshape(x.shape[0], -1)
    return np.asarray(x, dtype=np.float64)


def _names(speakers: Sequence[str] | None) -> list[str]:
    return [] if speakers is None else [str(s) for s in speakers]


class SVMClassifier:
    """Speaker-standardised, class-weighted SVC over utterance feature vectors.

    Args:
        n_classes: ``K``; ``predict_proba`` always returns ``K`` columns (0 for classes unseen in training).
        kernel: ``"linear"``, ``"poly"`` or ``"rbf"``. degree, gamma: scikit-learn SVC settings.
        C: one value, or a sequence searched on the validation set (best UA; ties -> smaller C).
        standardize: ``"speaker"`` (needs ``*_speakers`` arguments), ``"global"`` (training
            mean/std) or ``"none"``.
        class_weight: ``"balanced"`` (the paper's class weighting) or ``None``.
        probability: ``predict_proba`` from scikit-learn's calibration (default) or, when ``False``,
            the softmax of the decision values. Predictions are ``SVC.predict``'s either way.
        train_on: ``"train"`` (default; the validation speakers only choose ``C``) or ``"train+val"``:
            the final SVM is fitted on the training and validation speakers together, so that under
            leave-one-speaker-out it learns from every speaker but the test one, as the field runs it.
        select_C: how a ``C`` grid is searched: ``"val"`` (best UA on the validation set) or
            ``"speaker_cv"`` (scikit-learn's ``GridSearchCV`` over ``GroupKFold`` of the fitting
            speakers, at most 5 groups, scored by balanced accuracy = UA; needs no validation set).
    """

    def __init__(self, n_classes: int, kernel: str = "linear", C: float | Sequence[float] = 1.0,
                 degree: int = 3, gamma: str | float = "scale", standardize: str = "speaker",
                 class_weight: str | None = "balanced", max_iter: int = -1, probability: bool = True,
                 train_on: str = "train", select_C: str = "val") -> None:
        check(kernel in KERNELS, f"svm.kernel={kernel!r}: use one of {', '.join(KERNELS)}")
        check(standardize in ("speaker", "global", "none"),
              f"svm.standardize={standardize!r}: use 'speaker', 'global' or 'none'")
        check(class_weight in ("balanced", None), f"svm.class_weight={class_weight!r}: use 'balanced' or null")
        grid = tuple(float(c) for c in (C if isinstance(C, (list, tuple)) else (C,)))
        check(len(grid) > 0 and all(c > 0 for c in grid), f"svm.C={C!r}: values must be positive")
        check(n_classes >= 2, f"svm n_classes={n_classes}: need at least 2 classes")
        self.n_classes, self.kernel, self.C_grid = int(n_classes), kernel, grid
        self.degree, self.gamma, self.standardize = int(degree), gamma, standardize
        check(isinstance(probability, bool), f"svm.probability={probability!r}: use true or false")
        check(train_on in ("train", "train+val"), f"svm.train_on={train_on!r}: use 'train' or 'train+val'")
        check(select_C in ("val", "speaker_cv"), f"svm.select_C={select_C!r}: use 'val' or 'speaker_cv'")
        self.class_weight, self.max_iter, self.probability = class_weight, int(max_iter), probability
        self.train_on, self.select_C = train_on, select_C
        self.scaler_: StandardScaler | None = None
        self.svc_: SVC | None = None
        self.calibrated_: Any = None
        self.C_: float | None = None
        self.val_scores_: dict[float, float] = {}
        self.fallback_scaler_: StandardScaler | None = None

    #: its fitted state is plain data (scikit-learn objects), so a bundle can hold it (emoconv.estimator_bundle)
    bundleable = True

    @property
    def uses_speakers(self) -> bool:
        """True with per-speaker standardisation: the runner then passes ``train_speakers``/``val_speakers``
        to :meth:`fit` and ``speakers`` to :meth:`predict_proba` (the speakers of each utterance set)."""
        return self.standardize == "speaker"

    def _prep(self, feats: Any, speakers: Sequence[str] | None, fit: bool) -> np.ndarray:
        x = _as_matrix(feats)
        if self.standardize == "speaker":
            if speakers is None and not fit and self.fallback_scaler_ is not None:
                return self.fallback_scaler_.transform(x)  # a speaker heard alone (a bundle's single file)
            if speakers is None:
                raise ConfigError("svm standardize='speaker' needs the speakers of every set "
                                  "(train_speakers=, val_speakers=, speakers=); or use standardize='global'")
            return speaker_standardize(x, speakers).astype(np.float64)
        if self.standardize == "global":
            if fit:
                self.scaler_ = StandardScaler().fit(x)
            assert self.scaler_ is not None
            return self.scaler_.transform(x)
        return x

    def _svc(self, C: float) -> SVC:
        return SVC(C=C, kernel=self.kernel, degree=self.degree, gamma=self.gamma, random_state=0,
                   class_weight=self.class_weight, decision_function_shape="ovr", max_iter=self.max_iter)

    def _calibrate(self, x: np.ndarray, y: np.ndarray, C: float) -> Any:
        """scikit-learn's probability calibration of this SVC (``CalibratedClassifierCV``, sigmoid, the
        replacement for ``SVC(probability=True)``): 5 stratified inner folds, one calibrated model."""
        from sklearn.calibration import CalibratedClassifierCV
        from sklearn.model_selection import StratifiedKFold

        n_splits = int(min(5, np.bincount(y).max(initial=0), np.bincount(y)[np.bincount(y) > 0].min()))
        if n_splits < 2:
            return None  # a class with one example: no calibration folds; softmax of the scores instead
        cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=0)
        return CalibratedClassifierCV(self._svc(C), method="sigmoid", cv=cv, ensemble=False).fit(x, y)

    def fit(self, train_feats: Any, y_train: Sequence[int], val_feats: Any = None, y_val: Sequence[int] | None = None,
            train_speakers: Sequence[str] | None = None, val_speakers: Sequence[str] | None = None) -> "SVMClassifier":
        """Fit on the training set (and the validation set with ``train_on="train+val"``); with several
        ``C`` values pick one first (``select_C``)."""
        x = self._prep(train_feats, train_speakers, fit=True)
        y = np.asarray(y_train, dtype=np.int64)
        has_val = val_feats is not None and y_val is not None and len(y_val) > 0
        xv = self._prep(val_feats, val_speakers, fit=False) if has_val else None
        if self.train_on == "train+val" and has_val:
            assert xv is not None and y_val is not None
            if self.standardize == "global":  # refit the scaler on everything the SVM learns from
                raw = np.concatenate([_as_matrix(train_feats), _as_matrix(val_feats)])
                self.scaler_ = StandardScaler().fit(raw)
                x_fit = self.scaler_.transform(raw)
            else:
                x_fit = np.concatenate([x, xv])
            y_fit = np.concatenate([y, np.asarray(y_val, dtype=np.int64)])
            groups = _names(train_speakers) + _names(val_speakers)
        else:
            x_fit, y_fit, groups = x, y, _names(train_speakers)
        if len(np.unique(y_fit)) < 2:
            raise ProtocolError("svm: the training partition holds a single class; a classifier needs two or more")
        if y_fit.min() < 0 or y_fit.max() >= self.n_classes:
            raise ConfigError(f"svm: labels must be in [0, {self.n_classes}), got {y_fit.min()}..{y_fit.max()}")
        best_c = self.C_grid[0]
        if len(self.C_grid) > 1 and self.select_C == "val":
            if not has_val:
                raise ConfigError("svm: a C grid with select_C: val needs a validation set (val_feats, y_val)")
            for c in self.C_grid:
                pred = self._svc(c).fit(x, y).predict(xv)
                self.val_scores_[c] = unweighted_accuracy(y_val, pred)
            best_c = max(self.C_grid, key=lambda c: (self.val_scores_[c], -c))
        elif len(self.C_grid) > 1:
            best_c = self._speaker_cv(x_fit, y_fit, groups)
        self.C_ = best_c
        if self.standardize == "speaker":  # statistics for a test speaker heard alone (emoconv.estimator_bundle)
            raw = [_as_matrix(train_feats)] + ([_as_matrix(val_feats)] if self.train_on == "train+val" and has_val
                                               else [])
            self.fallback_scaler_ = StandardScaler().fit(np.concatenate(raw))
        self.svc_ = self._svc(best_c).fit(x_fit, y_fit)
        self.calibrated_ = self._calibrate(x_fit, y_fit, best_c) if self.probability else None
        return self

    def _speaker_cv(self, x: np.ndarray, y: np.ndarray, groups: Sequence[str]) -> float:
        """C by grouped cross-validation over the fitting speakers (no speaker in two inner folds)."""
        from sklearn.model_selection import GridSearchCV, GroupKFold

        n_groups = len(set(groups))
        if len(groups) != len(y) or n_groups < 2:
            raise ConfigError("svm: select_C: speaker_cv needs the speakers of the training set and at least two "
                              "of them (train_speakers=)")
        search = GridSearchCV(self._svc(self.C_grid[0]), {"C": list(self.C_grid)}, scoring="balanced_accuracy",
                              cv=GroupKFold(n_splits=min(5, n_groups)), n_jobs=1, error_score=0.0)
        search.fit(x, y, groups=np.asarray(groups))
        scores = search.cv_results_["mean_test_score"]
        self.val_scores_ = {float(c): float(v) for c, v in zip(self.C_grid, scores)}
        return max(self.C_grid, key=lambda c: (self.val_scores_[c], -c))

    def decision_scores(self, feats: Any, speakers: Sequence[str] | None = None) -> np.ndarray:
        """One-vs-rest decision values ``(N, K)``; ``-inf`` for classes absent from training."""
        if self.svc_ is None:
            raise ConfigError("svm: call fit() before predicting")
        d = self.svc_.decision_function(self._prep(feats, speakers, fit=False))
        classes = self.svc_.classes_
        if d.ndim == 1:  # binary: sklearn returns the score of classes_[1]
            d = np.stack([-d, d], axis=1)
        out = np.full((d.shape[0], self.n_classes), -np.inf)
        out[:, classes] = d
        return out

    def predict_proba(self, feats: Any, speakers: Sequence[str] | None = None) -> np.ndarray:
        """``(N, K)`` rows summing to 1: scikit-learn's calibrated probabilities (``probability=True``) or
        the softmax of the decision values; 0 for classes absent from training."""
        if self.svc_ is not None and getattr(self, "calibrated_", None) is not None:
            p = self.calibrated_.predict_proba(self._prep(feats, speakers, fit=False))
            out = np.zeros((p.shape[0], self.n_classes))
            out[:, self.calibrated_.classes_] = p
            return out
        d = self.decision_scores(feats, speakers)
        e = np.exp(d - d.max(1, keepdims=True))
        return e / e.sum(1, keepdims=True)

    def predict(self, feats: Any, speakers: Sequence[str] | None = None) -> np.ndarray:
        """Class indices by scikit-learn's own rule (``SVC.predict``: one-vs-one votes)."""
        if self.svc_ is None:
            raise ConfigError("svm: call fit() before predicting")
        return np.asarray(self.svc_.predict(self._prep(feats, speakers, fit=False)), dtype=np.int64)


def evaluate_folds(x: np.ndarray, y: Sequence[int], speakers: Sequence[str], folds: Sequence[Any],
                   n_classes: int, **params: Any) -> dict[str, Any]:
    """Train/test an :class:`SVMClassifier` on every fold (objects with ``train``/``val``/``test`` indices,
    e.g. :class:`emoconv.protocol.Fold` from ``ProtocolConfig(kind="loso")`` or a 70:10:20 split).

    Returns ``{"fold_ua": [...], "ua_mean", "ua_std", "pooled_ua", "C": [...], "y_true", "y_pred"}``
    (pooled = UA over all folds' test predictions together, the usual LOSO figure). Raises
    :class:`ProtocolError` when a fold's test speakers also appear in its training partition.
    """
    x = _as_matrix(x)
    y = np.asarray(y, dtype=np.int64)
    spk = np.asarray(list(speakers))
    uas, cs, yt, yp = [], [], [], []
    for k, fold in enumerate(folds):
        tr, te = np.asarray(fold.train, dtype=np.int64), np.asarray(fold.test, dtype=np.int64)
        va = np.asarray(getattr(fold, "val", ()) or (), dtype=np.int64)
        shared = set(spk[tr]) & set(spk[te])
        if shared:
            raise ProtocolError(f"fold {k}: speaker(s) {sorted(shared)[:3]} in both train and test; "
                                "use a speaker-independent protocol")
        model = SVMClassifier(n_classes, **params)
        has_val = va.size > 0
        model.fit(x[tr], y[tr], x[va] if has_val else None, y[va] if has_val else None,
                  train_speakers=spk[tr], val_speakers=spk[va] if has_val else None)
        pred = model.predict(x[te], speakers=spk[te])
        uas.append(unweighted_accuracy(y[te], pred))
        cs.append(model.C_)
        yt.append(y[te])
        yp.append(pred)
    if not uas:
        raise ProtocolError("svm evaluation: no folds given")
    y_true, y_pred = np.concatenate(yt), np.concatenate(yp)
    return {"fold_ua": uas, "ua_mean": float(np.mean(uas)), "ua_std": float(np.std(uas)),
            "pooled_ua": unweighted_accuracy(y_true, y_pred), "C": cs, "y_true": y_true, "y_pred": y_pred}


@MODELS.register("svm")
def build_svm(n_classes: int, input_shape: tuple[int, ...] = (), **params: Any) -> SVMClassifier:
    """Registered builder: ``params`` = kernel, C, degree, gamma, standardize, class_weight, max_iter,
    probability, train_on, select_C."""
    known = {"kernel", "C", "degree", "gamma", "standardize", "class_weight", "max_iter", "probability",
             "train_on", "select_C"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(f"svm: unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return SVMClassifier(n_classes, **params)
