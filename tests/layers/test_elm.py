"""ELM classifier, posterior functionals and the network + ELM estimator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from torch import nn

from emoconv.errors import ConfigError
from emoconv.layers.elm import ELMClassifier, NetworkELM, pad_steps, posterior_functionals


def _blobs(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(-3, 0.5, (n, 4)), rng.normal(3, 0.5, (n, 4))])
    y = np.array(["calm"] * n + ["loud"] * n)
    return X, y


def test_elm_fits_separable_toy_problem_exactly():
    X, y = _blobs()
    elm = ELMClassifier(n_hidden=50, alpha=1e-6, random_state=0).fit(X, y)
    assert (elm.predict(X) == y).all()
    Xt, yt = _blobs(10, seed=1)
    assert (elm.predict(Xt) == yt).all()
    proba = elm.predict_proba(Xt)
    assert proba.shape == (20, 2)
    np.testing.assert_allclose(proba.sum(1), 1.0, rtol=1e-6)
    assert list(elm.classes_) == ["calm", "loud"]


def test_elm_interpolates_random_labels_with_enough_hidden_units():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(30, 5))
    y = rng.integers(0, 3, 30)
    elm = ELMClassifier(n_hidden=200, alpha=0.0, activation="tanh", random_state=1).fit(X, y)
    assert (elm.predict(X) == y).all()


def test_elm_is_a_reproducible_sklearn_estimator():
    X, y = _blobs()
    a = ELMClassifier(n_hidden=20, random_state=5).fit(X, y).decision_function(X)
    b = clone(ELMClassifier(n_hidden=20, random_state=5)).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(a, b)
    c = ELMClassifier(n_hidden=20, random_state=6).fit(X, y).decision_function(X)
    assert not np.allclose(a, c)
    assert ELMClassifier(n_hidden=7).get_params()["n_hidden"] == 7


def test_elm_rejects_bad_settings():
    X, y = _blobs(5)
    with pytest.raises(ConfigError, match="elm.activation"):
        ELMClassifier(activation="softplus").fit(X, y)
    with pytest.raises(ConfigError, match="elm.n_hidden"):
        ELMClassifier(n_hidden=0).fit(X, y)


def test_posterior_functionals_by_hand():
    p = torch.tensor([[0.9, 0.1], [0.5, 0.5], [0.1, 0.9], [0.0, 1.0]])
    f = posterior_functionals(p, threshold=0.2)
    np.testing.assert_allclose(f, [0.9, 1.0, 0.0, 0.1, 0.375, 0.625, 0.5, 0.75], atol=1e-6)
    # padded steps are ignored when masked
    batch = torch.stack([p, torch.cat([p[:2], torch.ones(2, 2)])])
    mask = torch.tensor([[True] * 4, [True, True, False, False]])
    fb = posterior_functionals(batch, 0.2, mask)
    np.testing.assert_allclose(fb[1], posterior_functionals(p[:2], 0.2), atol=1e-6)


def test_pad_steps_repeats_the_last_step():
    x, lengths = pad_steps([torch.ones(2, 3), torch.arange(12.0).view(4, 3)])
    assert x.shape == (2, 4, 3) and lengths.tolist() == [2, 4]
    assert torch.equal(x[0, 3], torch.ones(3))


class _Steps(nn.Module):
    """Tiny frame-level classifier: (B, T, F) -> (B, T, K)."""

    def __init__(self, f=3, k=2):
        super().__init__()
        self.lin = nn.Linear(f, k)

    def embed(self, x, lengths=None):
        return x.mean(1)

    def forward(self, x, lengths=None):
        return self.lin(x)


def test_network_elm_learns_a_frame_level_toy_task():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    feats, y = [], []
    for i in range(40):
        k = i % 2
        t = int(rng.integers(5, 12))
        feats.append(torch.tensor(rng.normal(2.0 * k - 1.0, 0.5, (t, 3)), dtype=torch.float32))
        y.append(k)
    est = NetworkELM(_Steps(), n_classes=2, epochs=15, batch_size=8, lr=0.05, elm_hidden=20, seed=0)
    est.fit(feats[:30], y[:30], feats[30:], y[30:])
    proba = est.predict_proba(feats[30:])
    assert proba.shape == (10, 2)
    assert (proba.argmax(1) == np.array(y[30:])).mean() == 1.0
    assert est.functionals(feats[:3]).shape == (3, 8)
    assert est.embed(feats[:3]).shape == (3, 3)
    assert est.history and "val_loss" in est.history[0]


@pytest.mark.parametrize("patience", [1, 3])
def test_network_elm_stops_by_the_trainers_patience_rule(patience):
    """Validation labels flipped: the validation loss rises once training works, so training stops
    ``patience`` epochs after the best one, as in the trainer (``emoconv.training.train_one``)."""
    torch.manual_seed(0)
    feats = [torch.randn(6, 3) + (2.0 if i % 2 else -2.0) for i in range(12)]
    y = np.array([i % 2 for i in range(12)])
    est = NetworkELM(_Steps(), n_classes=2, epochs=40, batch_size=4, lr=0.5, patience=patience, elm_hidden=8)
    est.fit(feats[:8], y[:8], feats[8:], 1 - y[8:])
    losses = [h["val_loss"] for h in est.history]
    assert len(losses) < 40 and len(losses) == int(np.argmin(losses)) + 1 + patience
    assert est.best_epoch == int(np.argmin(losses)) + 1


def test_network_elm_rejects_a_learning_rate_of_zero():
    with pytest.raises(ConfigError, match="model.lr"):
        NetworkELM(_Steps(), n_classes=2, lr=0.0)
