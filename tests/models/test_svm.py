"""SVM baseline: per-speaker standardisation, class weighting, kernels, folds and the estimator contract."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from torch import nn

from emoconv.corpora.base import Utterance
from emoconv.errors import ConfigError, ProtocolError
from emoconv.models import build_model
from emoconv.models.svm import SVMClassifier, evaluate_folds, speaker_standardize, unweighted_accuracy
from emoconv.protocol import ProtocolConfig, make_folds


def _data(n_spk: int = 6, per: int = 24, k: int = 3, seed: int = 0):
    """Class signal small against large per-speaker offsets and scales."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((k, 10)) * 1.5
    xs, ys, ss = [], [], []
    for s in range(n_spk):
        offset, scale = rng.normal(0, 20, 10), rng.uniform(0.5, 3, 10)
        y = np.arange(per) % k
        xs.append((means[y] + 0.5 * rng.standard_normal((per, 10))) * scale + offset)
        ys.append(y)
        ss += [f"s{s}"] * per
    return np.concatenate(xs), np.concatenate(ys), np.asarray(ss)


def test_speaker_standardize():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [10.0, 0.0], [30.0, 2.0]])
    z = speaker_standardize(x, ["a", "a", "b", "b"])
    assert np.allclose(z, [[-1, 0], [1, 0], [-1, -1], [1, 1]])


def test_speaker_standardisation_removes_speaker_offsets():
    x, y, spk = _data()
    tr, te = spk != "s5", spk == "s5"
    per_spk = SVMClassifier(3, kernel="linear").fit(x[tr], y[tr], train_speakers=spk[tr])
    ua = unweighted_accuracy(y[te], per_spk.predict(x[te], speakers=spk[te]))
    glob = SVMClassifier(3, kernel="linear", standardize="global").fit(x[tr], y[tr])
    ua_glob = unweighted_accuracy(y[te], glob.predict(x[te]))
    assert ua >= 0.9 and ua > ua_glob + 0.2


@pytest.mark.parametrize("kernel", ["linear", "poly", "rbf"])
def test_kernels_and_probabilities(kernel):
    x, y, spk = _data(seed=1)
    m = SVMClassifier(4, kernel=kernel, degree=2).fit(x[spk != "s0"], y[spk != "s0"], train_speakers=spk[spk != "s0"])
    p = m.predict_proba(x[spk == "s0"], speakers=spk[spk == "s0"])
    assert p.shape == (24, 4) and np.allclose(p.sum(1), 1)
    assert np.all(p[:, 3] == 0)  # class 3 never seen in training
    assert np.array_equal(m.predict(x[spk == "s0"], speakers=spk[spk == "s0"]),
                          m.svc_.predict(speaker_standardize(x[spk == "s0"], spk[spk == "s0"])))
    assert unweighted_accuracy(y[spk == "s0"], p.argmax(1)) > 0.6


def test_binary_and_c_grid_selection():
    x, y, spk = _data(k=2, seed=2)
    tr, va = np.isin(spk, ["s0", "s1", "s2", "s3"]), spk == "s4"
    m = SVMClassifier(2, C=[1e-4, 1.0], kernel="linear").fit(
        x[tr], y[tr], x[va], y[va], train_speakers=spk[tr], val_speakers=spk[va])
    assert set(m.val_scores_) == {1e-4, 1.0}
    assert m.C_ == max(m.val_scores_, key=lambda c: (m.val_scores_[c], -c))
    assert m.predict_proba(x[va], speakers=spk[va]).shape == (24, 2)


def test_errors():
    x, y, spk = _data()
    with pytest.raises(ConfigError, match="needs the speakers"):
        SVMClassifier(3).fit(x, y)
    with pytest.raises(ConfigError, match="svm.kernel"):
        SVMClassifier(3, kernel="sigmoid")
    with pytest.raises(ProtocolError, match="single class"):
        SVMClassifier(3).fit(x[:3], [0, 0, 0], train_speakers=spk[:3])
    with pytest.raises(ConfigError, match="call fit"):
        SVMClassifier(3).predict(x, speakers=spk)


def test_loso_through_the_protocol_module():
    x, y, spk = _data(n_spk=4, per=12)
    utts = [Utterance(path=f"u{i}.wav", speaker=s, label=str(lab), corpus="toy") for i, (s, lab) in
            enumerate(zip(spk, y))]
    folds = make_folds(utts, ProtocolConfig(kind="loso", val_speakers=1))
    res = evaluate_folds(x, y, spk, folds, n_classes=3, kernel="linear")
    assert len(res["fold_ua"]) == 4 and sorted(res["y_true"].tolist()) == sorted(y.tolist())
    assert res["pooled_ua"] > 0.8
    leaky = [SimpleNamespace(train=np.arange(30), val=(), test=np.arange(20, 48))]
    with pytest.raises(ProtocolError, match="both train and test"):
        evaluate_folds(x, y, spk, leaky, n_classes=3)


def test_registered_as_an_estimator():
    est = build_model("svm", 6, (384,), kernel="rbf", C=[0.1, 1.0])
    assert isinstance(est, SVMClassifier) and not isinstance(est, nn.Module)
    with pytest.raises(ConfigError, match="unknown parameter"):
        build_model("svm", 6, (384,), gamma_typo=1)


def test_predictions_follow_scikit_learns_rule_and_probabilities_come_from_it():
    """On 7 weakly separated classes the one-vs-one votes and the one-vs-rest argmax disagree on many
    points; the classifier must predict by the library's votes and return the library's probabilities."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((140, 20)), np.arange(140) % 7
    x[:, :7] += np.eye(7)[y] * 0.6
    xt = rng.standard_normal((300, 20))
    m = SVMClassifier(7, standardize="none").fit(x, y)
    ref = m.svc_.predict(xt)
    assert (m.decision_scores(xt).argmax(1) != ref).sum() > 10  # the two rules really differ here
    assert np.array_equal(m.predict(xt), ref)
    np.testing.assert_allclose(m.predict_proba(xt), m.calibrated_.predict_proba(xt))
    cheap = SVMClassifier(7, standardize="none", probability=False).fit(x, y)
    assert np.array_equal(cheap.predict(xt), ref) and np.allclose(cheap.predict_proba(xt).sum(1), 1)


def test_train_on_train_and_val_with_speaker_grouped_c_search():
    x, y, spk = _data(n_spk=6, seed=3)
    tr, va, te = np.isin(spk, ["s0", "s1", "s2", "s3"]), spk == "s4", spk == "s5"
    m = SVMClassifier(3, C=[0.001, 0.1, 10.0], train_on="train+val", select_C="speaker_cv")
    m.fit(x[tr], y[tr], x[va], y[va], train_speakers=spk[tr], val_speakers=spk[va])
    assert m.svc_.support_vectors_.shape[0] > 0 and sum(m.svc_.n_support_) <= tr.sum() + va.sum()
    assert set(m.val_scores_) == {0.001, 0.1, 10.0} and m.C_ in m.val_scores_
    # the final SVM saw the validation speaker: refitting on train + val by hand gives the same predictions
    xs = speaker_standardize(np.concatenate([x[tr], x[va]]), np.concatenate([spk[tr], spk[va]]))
    ref = m._svc(m.C_).fit(xs, np.concatenate([y[tr], y[va]]))
    assert np.array_equal(m.predict(x[te], speakers=spk[te]), ref.predict(speaker_standardize(x[te], spk[te])))
    with pytest.raises(ConfigError, match="speaker_cv needs the speakers"):
        SVMClassifier(3, C=[0.1, 1.0], select_C="speaker_cv", standardize="global").fit(x[tr], y[tr])
    with pytest.raises(ConfigError, match="train_on"):
        SVMClassifier(3, train_on="all")
