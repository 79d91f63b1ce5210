"""Score fusion of two systems' records and their paired comparison."""

from __future__ import annotations

import pytest

from emoconv.errors import ConfigError
from emoconv.experiments.fusion import compare, fuse, fuse_cv


def _rec(fold, probs, y_true=(0, 1, 1), utts=("a", "b", "c")):
    y_pred = [max(range(len(p)), key=p.__getitem__) for p in probs]
    return {"fold": fold, "seed": 0, "labels": ["x", "y"], "utterances": list(utts), "y_true": list(y_true),
            "y_pred": y_pred, "probs": [list(p) for p in probs]}


def test_fusion_weighs_probabilities_and_compare_counts_folds():
    a = [_rec(0, [(0.9, 0.1), (0.6, 0.4), (0.2, 0.8)]), _rec(1, [(0.4, 0.6), (0.3, 0.7), (0.6, 0.4)])]
    b = [_rec(0, [(0.6, 0.4), (0.1, 0.9), (0.6, 0.4)]), _rec(1, [(0.8, 0.2), (0.4, 0.6), (0.2, 0.8)])]
    fused = fuse(a, b, 0.5)
    assert [r["y_pred"] for r in fused] == [[0, 1, 1], [0, 1, 1]]  # every utterance right after fusion
    assert fuse(a, b, 1.0)[0]["y_pred"] == a[0]["y_pred"] and fuse(a, b, 0.0)[1]["y_pred"] == b[1]["y_pred"]
    c = compare(a, fused)
    assert c["folds"] == 2 and c["new_ua"] == 100.0 and c["new_wins"] == 2 and c["base_ua"] < 100


def test_fusion_refuses_records_that_do_not_match():
    a = [_rec(0, [(0.9, 0.1), (0.6, 0.4), (0.2, 0.8)])]
    other = [_rec(0, [(0.9, 0.1), (0.6, 0.4), (0.2, 0.8)], utts=("a", "b", "d"))]
    with pytest.raises(ConfigError, match="different utterances"):
        fuse(a, other)
    old = [{k: v for k, v in a[0].items() if k != "probs"} | {"key": "k1"}]
    with pytest.raises(ConfigError, match="no test probabilities"):
        fuse(a, old)
    with pytest.raises(ConfigError, match="weight"):
        fuse(a, a, 1.5)


def test_cv_weight_is_chosen_on_the_other_folds_only():
    right_a = [(0.7, 0.3), (0.4, 0.6), (0.45, 0.55)]  # a: right on every utterance of y = (0, 1, 1)
    wrong_b = [(0.1, 0.9), (0.9, 0.1), (0.8, 0.2)]  # b: confidently wrong
    a = [_rec(0, right_a), _rec(1, right_a), _rec(2, wrong_b)]
    b = [_rec(0, wrong_b), _rec(1, wrong_b), _rec(2, right_a)]
    fused = {r["fold"]: r for r in fuse_cv(a, b)}
    # fold 2's own labels favour b, but its weight comes from folds 0 and 1, where a is right: a wins there
    assert fused[2]["fusion_weight"] > 0.5 and fused[2]["y_pred"] == a[2]["y_pred"]
    assert all(0.0 <= r["fusion_weight"] <= 1.0 for r in fused.values())
    with pytest.raises(ConfigError, match="two folds"):
        fuse_cv(a[:1], b[:1])


def test_the_shipped_weight_is_the_best_on_all_folds_and_fused_records_carry_metrics():
    from emoconv.experiments.evidence import variant_evidence
    from emoconv.experiments.fusion import best_weight, fused_records

    right_a = [(0.7, 0.3), (0.4, 0.6), (0.45, 0.55)]
    wrong_b = [(0.1, 0.9), (0.9, 0.1), (0.8, 0.2)]
    a = [_rec(0, right_a), _rec(1, right_a), _rec(2, wrong_b)]
    b = [_rec(0, wrong_b), _rec(1, wrong_b), _rec(2, right_a)]
    w = best_weight(a, b)
    assert w > 0.5 and fuse(a, b, w)[0]["y_pred"] == a[0]["y_pred"]  # a is right on two folds of three
    assert best_weight(b, a) == pytest.approx(1 - w)
    proto = [{"config": {"kind": "loso"}, "fold": {"test_speakers": [f"s{i}"]}} for i in range(3)]
    like = [dict(r, corpus="c", recipe="r", protocol=p) for r, p in zip(a, proto)]
    recs = fused_records(fuse_cv(a, b), like, "a + b (fused)")
    from emoconv.experiments.fusion import fold_ua

    assert [r["metrics"]["ua"] for r in recs] == list(fold_ua(recs).values())  # each fold's own fused UA
    assert recs[2]["y_pred"] == a[2]["y_pred"] and recs[2]["metrics"]["ua"] == 0.0  # a's weight, from the others
    ev = variant_evidence(recs, 3)
    assert ev["variant"] == "a + b (fused)" and ev["protocol"] == {"kind": "loso"}
    assert [f["test_speakers"] for f in ev["per_fold"]] == [["s0"], ["s1"], ["s2"]]
    with pytest.raises(ConfigError, match="share no fold"):
        best_weight(a[:1], [dict(b[1])])
