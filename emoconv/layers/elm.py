"""Extreme learning machine and the utterance-level functionals fed to it.

The ELM (Huang, Zhu & Siew, "Extreme learning machine: theory and applications",
Neurocomputing 2006) is a one-hidden-layer network whose input weights are drawn at
random and never trained; only the output weights are fitted, in closed form, by
ridge regression onto one-hot targets. Han, Yu & Tashev ("Speech emotion recognition
using deep neural network and extreme learning machine", Interspeech 2014) put it on
top of utterance-level statistics of a frame-level network's posteriors; those
statistics are :func:`posterior_functionals`. The 3D CNN paper (Kim et al.) reuses
the same pair for its DNN-ELM, LSTM-ELM and 3D-CNN-DNN-ELM systems.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from scipy.special import expit, softmax
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.preprocessing import LabelEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from ..config import check

ACTIVATIONS = ("sigmoid", "tanh", "relu")


class ELMClassifier(ClassifierMixin, BaseEstimator):
    """Extreme learning machine classifier (scikit-learn estimator).

    Hidden layer ``H = g(standardise(X) @ W + b)`` with ``W`` and ``b`` drawn from
    ``N(0, 1 / n_features)`` and ``N(0, 1)``; output weights
    ``beta = (H^T H + alpha I)^-1 H^T Y`` with ``Y`` one-hot in {-1, +1}.

    Args:
        n_hidden: hidden units.
        activation: ``"sigmoid"``, ``"tanh"`` or ``"relu"``.
        alpha: ridge penalty on the output weights (``>= 0``; 0 gives the least-squares
            / pseudo-inverse solution).
        random_state: seed (or ``RandomState``) of the random hidden layer.

    ``predict_proba`` is the softmax of the output scores: ELM scores are not
    calibrated probabilities, but their order and argmax are those of ``predict``.

    >>> X = np.array([[0.0], [0.1], [1.0], [1.1]]); y = np.array(["a", "a", "b", "b"])
    >>> ELMClassifier(n_hidden=16, alpha=1e-6, random_state=0).fit(X, y).predict(X).tolist()
    ['a', 'a', 'b', 'b']
    """

    def __init__(self, n_hidden: int = 200, activation: str = "sigmoid", alpha: float = 1e-3,
                 random_state: int | None = None) -> None:
        self.n_hidden = n_hidden
        self.activation = activation
        self.alpha = alpha
        self.random_state = random_state

    def _hidden(self, X: np.ndarray) -> np.ndarray:
        z = self.scaler_.transform(X) @ self.hidden_weights_ + self.hidden_bias_
        if self.activation == "sigmoid":
            return expit(z)
        if self.activation == "tanh":
            return np.tanh(z)
        return np.maximum(z, 0.0)

    def fit(self, X, y) -> "ELMClassifier":
        check(isinstance(self.n_hidden, (int, np.integer)) and self.n_hidden > 0,
              f"elm.n_hidden: {self.n_hidden!r} must be a positive integer")
        check(self.activation in ACTIVATIONS,
              f"elm.activation: {self.activation!r} is not one of {', '.join(ACTIVATIONS)}")
        check(float(self.alpha) >= 0, f"elm.alpha: {self.alpha!r} must be >= 0")
        X, y = validate_data(self, X, y, dtype=np.float64)
        self._encoder = LabelEncoder().fit(y)
        self.classes_ = self._encoder.classes_
        targets = -np.ones((len(y), len(self.classes_)))
        targets[np.arange(len(y)), self._encoder.transform(y)] = 1.0
        rng = check_random_state(self.random_state)
        d = X.shape[1]
        self.scaler_ = StandardScaler().fit(X)
        self.hidden_weights_ = rng.normal(0.0, 1.0 / np.sqrt(d), size=(d, self.n_hidden))
        self.hidden_bias_ = rng.normal(0.0, 1.0, size=self.n_hidden)
        H = self._hidden(X)
        if self.alpha > 0:
            gram = H.T @ H + float(self.alpha) * np.eye(self.n_hidden)
            self.output_weights_ = np.linalg.solve(gram, H.T @ targets)
        else:
            self.output_weights_ = np.linalg.lstsq(H, targets, rcond=None)[0]
        return self

    def decision_function(self, X) -> np.ndarray:
        """Output scores ``(N, n_classes)``."""
        check_is_fitted(self, "output_weights_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self._hidden(X) @ self.output_weights_

    def predict_proba(self, X) -> np.ndarray:
        """Softmax of :meth:`decision_function`, ``(N, n_classes)``; rows sum to 1."""
        return softmax(self.decision_function(X), axis=1)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


def posterior_functionals(probs: torch.Tensor | np.ndarray, threshold: float = 0.2,
                          mask: torch.Tensor | np.ndarray | None = None) -> np.ndarray:
    """Utterance-level statistics of step-level class posteriors (Han et al., 2014).

    For every class ``k``: the maximum, minimum and mean of ``p_k`` over the steps,
    and the fraction of steps with ``p_k > threshold``.

    Args:
        probs: ``(B, S, K)`` posteriors of ``S`` steps (frames, segments, long-term
            states), or ``(S, K)`` for one utterance.
        threshold: level of the "share of confident steps" statistic (0.2 in Han et al.).
        mask: ``(B, S)`` booleans, True for valid steps (padding excluded); default all.

    Returns:
        ``(B, 4K)`` float32 (``(4K,)`` for a 2-D input), ordered ``[max | min | mean | share]``.
    """
    p = torch.as_tensor(probs, dtype=torch.float32)
    single = p.ndim == 2
    if single:
        p = p[None]
    if mask is None:
        m = torch.ones(p.shape[:2], dtype=torch.bool)
    else:
        m = torch.as_tensor(mask, dtype=torch.bool).reshape(p.shape[:2])
    mf = m[..., None].to(p.dtype)
    n = mf.sum(1).clamp_min(1.0)
    big = torch.finfo(p.dtype).max
    mx = torch.where(m[..., None], p, torch.full_like(p, -big)).amax(1)
    mn = torch.where(m[..., None], p, torch.full_like(p, big)).amin(1)
    mean = (p * mf).sum(1) / n
    share = ((p > threshold).to(p.dtype) * mf).sum(1) / n
    out = torch.cat([mx, mn, mean, share], dim=1).numpy()
    return out[0] if single else out


def functionals_of(step_probs: Sequence[torch.Tensor], threshold: float = 0.2) -> np.ndarray:
    """:func:`posterior_functionals` of a list of per-utterance ``(S_i, K)`` posteriors -> ``(N, 4K)``."""
    return np.stack([posterior_functionals(p, threshold) for p in step_probs])


def pad_steps(items: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack per-utterance tensors ``(T_i, *rest)`` into ``(B, Tmax, *rest)`` plus lengths ``(B,)``.

    Shorter items are padded by repeating their last step ("edge" padding), so a context
    window computed inside a network sees the same edge frames as a single utterance would.
    """
    lengths = torch.tensor([int(t.shape[0]) for t in items], dtype=torch.long)
    tmax = int(lengths.max())
    out = []
    for t in items:
        t = torch.as_tensor(t, dtype=torch.float32)
        if t.shape[0] < tmax:
            t = torch.cat([t, t[-1:].expand(tmax - t.shape[0], *t.shape[1:])], dim=0)
        out.append(t)
    return torch.stack(out), lengths


class StepTraining(torch.nn.Module):
    """The trainer's view of a step-level network (see :mod:`emoconv.training.loop`'s conventions).

    Examples are per-utterance tensors ``(T_i, *rest)``; :meth:`collate` edge-pads a batch (:func:`pad_steps`)
    and standardises it with ``mean`` / ``std`` (the training set's, along the last axis). The network maps
    ``(x (B, T, *rest), lengths)`` to step logits ``(B, S, K)``; :meth:`training_loss` is the cross-entropy of the
    utterance label on every valid step, and :meth:`utterance_logits` the log of the mean step posterior.
    """

    def __init__(self, network: torch.nn.Module, mean: torch.Tensor | None = None,
                 std: torch.Tensor | None = None) -> None:
        super().__init__()
        self.network, self.mean, self.std = network, mean, std

    def collate(self, items: Sequence[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        x, lengths = pad_steps(items)
        if self.mean is not None:
            x = (x - self.mean) / self.std
        return x, lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.network(x, lengths=lengths)

    def step_mask(self, logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``(B, S)`` True on the valid steps (the network's ``step_lengths`` when it has one)."""
        steps = logits.shape[1]
        step_len = self.network.step_lengths(lengths) if hasattr(self.network, "step_lengths") else lengths
        step_len = torch.clamp(step_len.to(logits.device), max=steps)
        return torch.arange(steps, device=logits.device)[None, :] < step_len[:, None]

    def training_loss(self, logits: torch.Tensor, y: torch.Tensor, lengths: torch.Tensor,
                      weight: torch.Tensor | None) -> torch.Tensor:
        mask = self.step_mask(logits, lengths)
        target = y.long()[:, None].expand(mask.shape)
        return torch.nn.functional.cross_entropy(logits[mask], target[mask], weight=weight)

    def utterance_logits(self, logits: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = self.step_mask(logits, lengths).unsqueeze(-1)
        probs = (logits.softmax(-1) * mask).sum(1) / mask.sum(1).clamp_min(1)
        return probs.clamp_min(1e-12).log()


class NetworkELM:
    """A step-level network trained by cross-entropy, then an ELM on utterance functionals.

    The recipe of Han et al. (Interspeech 2014) generalised to any network that maps a
    batch to step logits: the network ``net(x, lengths) -> (B, S, K)`` is trained with the
    utterance label on every valid step by the project's trainer
    (:func:`emoconv.training.trainer.train_one`: Adam, mini-batches in a seeded order, early stopping on the
    validation loss); its softmax posteriors are summarised per utterance by
    :func:`posterior_functionals` (``4K`` values) and an :class:`ELMClassifier` is fitted on
    the training utterances' functionals. Used by DNN-ELM and LSTM-ELM (steps = frames)
    and 3D-CNN-DNN-ELM (steps = long-term states).

    Follows the project's estimator convention: ``fit(train_feats, y_train, val_feats,
    y_val) -> self`` and ``predict_proba(feats) -> (N, K)``. ``feats`` are lists of
    per-utterance tensors; variable first-axis lengths are edge-padded (:func:`pad_steps`).
    Inputs are standardised with the mean and std of the training set along their last axis.
    After :meth:`fit`, :attr:`history` and :attr:`best_epoch` hold the trainer's epoch records.
    """

    variable_length = True
    bundleable = True  # emoconv.estimator_bundle: the ELM with skops, the network and input statistics as tensors

    def __init__(self, network: torch.nn.Module, n_classes: int, epochs: int = 20, batch_size: int = 128,
                 lr: float = 3e-3, weight_decay: float = 0.0, patience: int = 3, elm_hidden: int = 256,
                 elm_alpha: float = 1.0, elm_activation: str = "sigmoid", threshold: float = 0.2,
                 class_weight: str | None = None, seed: int = 0, device: str = "cpu") -> None:
        check(n_classes >= 2, f"model.n_classes: {n_classes!r} must be at least 2")
        check(epochs >= 1, f"model.epochs: {epochs!r} must be at least 1")
        check(batch_size >= 1, f"model.batch_size: {batch_size!r} must be at least 1")
        check(lr > 0, f"model.lr: {lr!r} must be > 0")
        check(weight_decay >= 0, f"model.weight_decay: {weight_decay!r} must be >= 0")
        check(patience >= 1, f"model.patience: {patience!r} must be at least 1")
        check(class_weight in (None, "balanced"), f"model.class_weight: {class_weight!r} must be null or 'balanced'")
        self.network, self.n_classes = network, int(n_classes)
        self.epochs, self.batch_size, self.lr, self.weight_decay = epochs, batch_size, lr, weight_decay
        self.patience, self.threshold, self.class_weight = patience, threshold, class_weight
        self.seed, self.device = seed, torch.device(device)
        self.elm = ELMClassifier(n_hidden=elm_hidden, activation=elm_activation, alpha=elm_alpha,
                                 random_state=seed)
        self.history: list[dict[str, float]] = []
        self.best_epoch: int | None = None
        self.steps = StepTraining(network)

    def _examples(self, feats: Sequence[torch.Tensor], y: np.ndarray | None = None):
        from ..training.loop import Examples

        return Examples(list(feats), np.zeros(len(feats), np.int64) if y is None else y)

    @torch.no_grad()
    def step_posteriors(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Softmax posteriors of every valid step, one ``(S_i, K)`` tensor per utterance."""
        from ..training.loop import iterate_batches

        self.network.eval()
        out: list[torch.Tensor] = []
        for x, lengths, _, _ in iterate_batches(self._examples(feats), self.batch_size, False, False, None,
                                                self.steps.collate):
            logits = self.steps(x.to(self.device), lengths.to(self.device))
            mask = self.steps.step_mask(logits, lengths).cpu()
            out.extend(p[m] for p, m in zip(logits.softmax(-1).cpu(), mask))
        return out

    def functionals(self, feats: Sequence[torch.Tensor]) -> np.ndarray:
        """Utterance-level ELM inputs ``(N, 4K)``."""
        return functionals_of(self.step_posteriors(feats), self.threshold)

    # ------------------------------------------------------------------ estimator API
    def fit(self, train_feats, y_train, val_feats=None, y_val=None) -> "NetworkELM":
        from ..training import TrainConfig
        from ..training.trainer import train_one

        y_train = np.asarray(y_train, dtype=np.int64)
        check(len(train_feats) == len(y_train) > 0, "fit: train_feats and y_train must be non-empty and equally long")
        flat = torch.cat([torch.as_tensor(t, dtype=torch.float32).reshape(-1, t.shape[-1]) for t in train_feats])
        self.steps.mean, self.steps.std = flat.mean(0), flat.std(0).clamp_min(1e-5)
        cfg = TrainConfig(lr=self.lr, weight_decay=self.weight_decay, batch_size=self.batch_size,
                          max_epochs=self.epochs, patience=self.patience, class_weighted=self.class_weight is not None,
                          seed=self.seed, device=str(self.device), eval_batch_size=self.batch_size, progress=False)
        val = None
        if val_feats is not None and len(val_feats):
            val = self._examples(val_feats, np.asarray(y_val, dtype=np.int64))
        _, self.best_epoch, self.history = train_one(lambda: self.steps, self._examples(train_feats, y_train), val,
                                                     cfg, self.n_classes, self.lr, self.weight_decay)
        self.elm.fit(self.functionals(train_feats), y_train)
        return self

    def predict_proba(self, feats) -> np.ndarray:
        """``(N, K)`` class scores of the ELM (softmax of its outputs); unseen classes get 0."""
        scores = self.elm.predict_proba(self.functionals(feats))
        out = np.zeros((len(feats), self.n_classes))
        out[:, self.elm.classes_.astype(int)] = scores
        return out

    def predict(self, feats) -> np.ndarray:
        return self.predict_proba(feats).argmax(1)

    # ------------------------------------------------------------------ bundle hooks (emoconv.estimator_bundle)
    def bundle_state(self) -> tuple[ELMClassifier, dict[str, torch.Tensor]]:
        """What a bundle keeps: the fitted ELM (saved with skops) and the tensors (network weights, input statistics)."""
        check(self.steps.mean is not None, "NetworkELM: fit the estimator before bundling it")
        tensors = {f"network.{k}": v for k, v in self.network.state_dict().items()}
        return self.elm, {**tensors, "input.mean": self.steps.mean, "input.std": self.steps.std}

    def load_bundle_state(self, elm: ELMClassifier, tensors: dict[str, torch.Tensor]) -> "NetworkELM":
        """Restore :meth:`bundle_state` into this (freshly built) estimator; returns it, in eval mode."""
        self.network.load_state_dict({k[len("network."):]: v for k, v in tensors.items() if k.startswith("network.")})
        self.steps.mean, self.steps.std = tensors["input.mean"], tensors["input.std"]
        self.elm = elm
        self.network.eval()
        return self

    @torch.no_grad()
    def embed(self, feats) -> np.ndarray:
        """Utterance representations ``(N, D)``: the network's ``embed`` (top FC layer, step mean)."""
        from ..training.loop import iterate_batches

        self.network.eval()
        parts = [self.network.embed(x.to(self.device), lengths=lengths.to(self.device)).cpu().numpy()
                 for x, lengths, _, _ in iterate_batches(self._examples(feats), self.batch_size, False, False, None,
                                                         self.steps.collate)]
        return np.concatenate(parts)
