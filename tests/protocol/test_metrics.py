"""Classification metrics against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from emoconv.errors import ConfigError
from emoconv.protocol import classification_metrics, pooled_metrics, summarize_folds

NAMES = ["neutral", "anger", "happiness"]


def test_imbalanced_example_ua_differs_from_wa():
    # 6 neutral (5 right), 3 anger (1 right, 2 -> neutral), 1 happiness (wrong, -> anger)
    y_true = ["neutral"] * 6 + ["anger"] * 3 + ["happiness"]
    y_pred = ["neutral"] * 5 + ["anger"] + ["anger", "neutral", "neutral"] + ["anger"]
    m = classification_metrics(y_true, y_pred, NAMES)
    assert m["n"] == 10
    assert m["accuracy"] == m["wa"] == pytest.approx(6 / 10)
    assert m["ua"] == pytest.approx((5 / 6 + 1 / 3 + 0) / 3)
    assert m["ua"] != pytest.approx(m["wa"])
    assert m["confusion"] == [[5, 1, 0], [2, 1, 0], [0, 1, 0]]
    assert m["recall"] == pytest.approx({"neutral": 5 / 6, "anger": 1 / 3, "happiness": 0.0})
    # precision: neutral 5/7, anger 1/3, happiness never predicted -> None
    assert m["precision"]["neutral"] == pytest.approx(5 / 7)
    assert m["precision"]["happiness"] is None
    f1_neutral = 2 * (5 / 7) * (5 / 6) / (5 / 7 + 5 / 6)
    f1_anger = 2 * (1 / 3) * (1 / 3) / (2 / 3)
    assert m["macro_f1"] == pytest.approx((f1_neutral + f1_anger + 0.0) / 3)
    assert m["labels"] == NAMES
    json.dumps(m)  # JSON-ready


def test_indices_and_names_agree_and_int_labels():
    y_true, y_pred = [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2]
    by_idx = classification_metrics(y_true, y_pred, NAMES)
    by_name = classification_metrics([NAMES[i] for i in y_true], [NAMES[i] for i in y_pred], NAMES)
    by_count = classification_metrics(np.array(y_true), np.array(y_pred), 3)
    for key in ("accuracy", "ua", "macro_f1", "confusion"):
        assert by_idx[key] == by_name[key] == by_count[key]
    assert by_count["labels"] == ["0", "1", "2"]


def test_ua_ignores_classes_absent_from_y_true():
    # "happiness" never occurs in y_true: UA averages neutral and anger only
    m = classification_metrics(["neutral", "neutral", "anger"], ["neutral", "happiness", "anger"], NAMES)
    assert m["ua"] == pytest.approx((0.5 + 1.0) / 2)
    assert m["recall"]["happiness"] is None
    # macro F1 counts the wrongly predicted class (F1 0): (2/3 + 1 + 0) / 3
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1.0 + 0.0) / 3)


@pytest.mark.parametrize("y_true, y_pred, labels, match", [
    ([0, 1], [0], 2, "y_true has 2 labels but y_pred 1"),
    ([], [], 2, "y_true is empty"),
    (["fear"], ["anger"], NAMES, "y_true: label 'fear' is not among neutral, anger, happiness"),
    ([0, 3], [0, 0], 3, r"y_true: class index 3 is outside 0..2"),
    ([0], [0], ["a", "a"], "distinct class names"),
])
def test_bad_input(y_true, y_pred, labels, match):
    with pytest.raises(ConfigError, match=match):
        classification_metrics(y_true, y_pred, labels)


def test_summarize_folds_mean_and_sample_std():
    folds = [{"accuracy": 0.6, "ua": 0.5, "wa": 0.6, "macro_f1": 0.4},
             {"accuracy": 0.8, "ua": 0.7, "wa": 0.8, "macro_f1": 0.6},
             {"accuracy": 0.7, "ua": 0.9, "wa": 0.7, "macro_f1": 0.5}]
    s = summarize_folds(folds)
    assert set(s) == {"accuracy", "ua", "wa", "macro_f1"}
    assert s["ua"]["values"] == [0.5, 0.7, 0.9]
    assert s["ua"]["mean"] == pytest.approx(0.7)
    assert s["ua"]["std"] == pytest.approx(0.2)  # sqrt(((-.2)^2 + 0 + .2^2) / 2)
    assert summarize_folds(folds[:1], keys=("ua",))["ua"]["std"] == 0.0
    with pytest.raises(ConfigError, match="fold 1 has no 'f1'"):
        summarize_folds([{"f1": 1.0}, {"ua": 1.0}], keys=("f1",))
    with pytest.raises(ConfigError, match="no fold metrics"):
        summarize_folds([])


def test_pooled_metrics_differ_from_mean_of_folds():
    f1 = ([0, 0, 0, 0, 1], [0, 0, 0, 0, 0])   # UA 0.5
    f2 = ([1, 1, 1], [1, 1, 1])               # UA 1.0
    pooled = pooled_metrics([f1, f2], 2)
    assert pooled["n"] == 8
    assert pooled["ua"] == pytest.approx((1.0 + 0.75) / 2)  # class 1: 3 of 4 right
    assert pooled["confusion"] == [[4, 0], [1, 3]]
    per_fold = summarize_folds([classification_metrics(*f, 2) for f in (f1, f2)], keys=("ua",))
    assert per_fold["ua"]["mean"] == pytest.approx(0.75)
    with pytest.raises(ConfigError, match="fold 1: y_true has 2 labels but y_pred 1"):
        pooled_metrics([f1, ([0, 1], [0])], 2)
