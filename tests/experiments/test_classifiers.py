"""One classifier interface for networks and estimators."""

from __future__ import annotations

import numpy as np
import torch

from emoconv.experiments.classifiers import EstimatorClassifier, Split, TorchClassifier, as_classifier
from emoconv.models import build_model
from emoconv.training import TrainConfig


class SpeakerAware:
    """A fake estimator that records what it was given."""

    uses_speakers = True
    n_parameters = 7

    def fit(self, x, y, vx, vy, train_speakers=None, val_speakers=None):
        self.seen = (len(x), list(y), None if vx is None else len(vx), train_speakers, val_speakers)

    def predict_proba(self, x, speakers=None):
        self.scored = speakers
        return np.tile([0.25, 0.75], (len(x), 1))

    def predict(self, x, speakers=None):
        return np.zeros(len(x), dtype=np.int64)


def split(n: int, speakers: str) -> Split:
    return Split([torch.zeros(1, 1, 3) for _ in range(n)], np.arange(n) % 2, np.arange(n), list(speakers))


def test_estimators_get_speakers_and_keep_their_own_rule():
    clf = as_classifier(SpeakerAware, TrainConfig(), 2)
    assert isinstance(clf, EstimatorClassifier) and not clf.bundleable and clf.noise_conditions
    clf.fit(split(4, "aabb"), split(2, "cc"))
    assert clf.model.seen == (4, [0, 1, 0, 1], 2, list("aabb"), list("cc"))
    test = split(3, "ddd")
    assert clf.predict_proba(test).shape == (3, 2) and clf.model.scored == list("ddd")
    assert clf.predict(test).tolist() == [0, 0, 0] and clf.n_parameters() == 7
    assert clf.stats()["history"] == [] and clf.stats()["branch_usage"] is None


def test_segmented_estimators_leave_the_rule_to_aggregation():
    clf = EstimatorClassifier(SpeakerAware(), segmented=True)
    assert clf.shapes_inputs and clf.predict(split(2, "ab")) is None


def test_networks_train_through_the_trainer_and_report_its_statistics():
    torch.manual_seed(0)
    data = Split([torch.randn(1, 16, 8) + (i % 2) for i in range(8)], np.arange(8) % 2, np.arange(8), ["s"] * 8)
    clf = as_classifier(lambda: build_model("ecnet", 2, (1, 16, 8)), TrainConfig(max_epochs=2, progress=False), 2)
    assert isinstance(clf, TorchClassifier) and clf.bundleable and clf.shapes_inputs
    clf.fit(data, data)
    probs = clf.predict_proba(data)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    stats = clf.stats()
    assert stats["epochs"] == len(stats["history"]) == 2 and stats["val"]["ua"] >= 0
    assert clf.predict(data) is None and clf.n_parameters() > 1000
