"""Bootstrap confidence intervals, Wilcoxon tests and improvement summaries."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

from emoconv.errors import ConfigError
from emoconv.protocol import bootstrap_ua_ci, classification_metrics, improvement_summary, paired_wilcoxon


def predictions(n: int, k: int = 4, hit: float = 0.6, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = rng.integers(0, k, n)
    p = np.where(rng.random(n) < hit, t, rng.integers(0, k, n))
    return t, p


def test_bootstrap_ci_contains_point_estimate_and_narrows_with_n():
    widths = []
    for n in (60, 600):
        t, p = predictions(n)
        ua = classification_metrics(t, p, 4)["ua"]
        low, high = bootstrap_ua_ci(t, p, n_boot=400, seed=1)
        assert 0.0 <= low < ua < high <= 1.0
        widths.append(high - low)
    # the width shrinks roughly like 1/sqrt(n): 10x the data, about 1/3.2 the width
    assert widths[1] < 0.5 * widths[0]


def test_bootstrap_is_seeded_and_accepts_names():
    t, p = predictions(80, k=2)
    names = np.array(["anger", "sadness"])
    a = bootstrap_ua_ci(t, p, n_boot=200, seed=5)
    assert bootstrap_ua_ci(t, p, n_boot=200, seed=5) == a
    assert bootstrap_ua_ci(t, p, n_boot=200, seed=6) != a
    assert bootstrap_ua_ci(names[t], names[p], n_boot=200, seed=5, labels=["anger", "sadness"]) == a
    # a wider level gives a wider interval
    lo99, hi99 = bootstrap_ua_ci(t, p, n_boot=200, seed=5, alpha=0.01)
    assert lo99 <= a[0] and hi99 >= a[1]


def test_bootstrap_perfect_predictions_give_a_point_interval():
    t = np.array([0, 1, 2, 0, 1, 2, 0])
    assert bootstrap_ua_ci(t, t, n_boot=50) == (1.0, 1.0)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_boot": 1}, "n_boot"), ({"alpha": 1.5}, "alpha"),
])
def test_bootstrap_bad_settings(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        bootstrap_ua_ci([0, 1], [0, 1], **kwargs)
    with pytest.raises(ConfigError, match="y_true has 2 labels but y_pred 1"):
        bootstrap_ua_ci([0, 1], [0])


def test_wilcoxon_hand_computed_exact_example():
    # differences 1..5 and -6: W+ = 15, W- = 6; 14 of the 64 sign patterns give W <= 6
    a = [0.0] * 6
    b = [1, 2, 3, 4, 5, -6]
    r = paired_wilcoxon(a, b)
    assert r["statistic"] == 6.0
    assert r["p_value"] == pytest.approx(2 * 14 / 64)
    assert (r["n"], r["n_nonzero"], r["reason"]) == (6, 6, None)


def test_wilcoxon_equals_scipy_with_ties_and_zeros():
    a = np.array([0.50, 0.60, 0.70, 0.40, 0.55, 0.65, 0.62, 0.71])
    b = np.array([0.55, 0.58, 0.80, 0.47, 0.57, 0.69, 0.62, 0.76])  # one zero, tied |d| = 0.02 and 0.05
    r = paired_wilcoxon(a, b)
    ref = scipy.stats.wilcoxon(np.round(b - a, 12))
    assert r["statistic"] == pytest.approx(ref.statistic)
    assert r["p_value"] == pytest.approx(ref.pvalue)
    assert r["statistic"] == 1.5  # only -0.02 is negative; it ties with +0.02 at rank 1.5
    assert (r["n"], r["n_nonzero"]) == (8, 7)


def test_wilcoxon_float_noise_keeps_ties():
    # 0.55 - 0.5 and 0.45 - 0.4 differ in the last bits; they must tie like 5 and 5
    r = paired_wilcoxon([0.5, 0.4, 0.3, 0.2], [0.55, 0.45, 0.2, 0.3])
    ref = scipy.stats.wilcoxon([5, 5, -10, 10])
    assert r["statistic"] == ref.statistic and r["p_value"] == pytest.approx(ref.pvalue)


def test_wilcoxon_degenerate_inputs():
    r = paired_wilcoxon([0.5, 0.6, 0.7], [0.5, 0.6, 0.7])
    assert r["p_value"] is None and r["statistic"] is None and "all differences are zero" in r["reason"]
    r = paired_wilcoxon([0.5], [0.7])
    assert r["p_value"] is None and "fewer than 2 pairs (n=1)" in r["reason"]
    with pytest.raises(ConfigError, match="3 baseline scores but 2 new scores"):
        paired_wilcoxon([1, 2, 3], [1, 2])
    with pytest.raises(ConfigError, match="NaN or infinity"):
        paired_wilcoxon([1, float("nan")], [1, 2])


def test_improvement_summary_hand_values():
    base = [0.50, 0.60, 0.70, 0.40, 0.55]
    new = [0.55, 0.60, 0.80, 0.45, 0.50]
    s = improvement_summary(base, new)
    d = np.array([0.05, 0.0, 0.10, 0.05, -0.05])
    assert s["mean"] == pytest.approx(d.mean())
    assert s["std"] == pytest.approx(d.std(ddof=1))
    assert s["max_improvement"] == pytest.approx(0.10)
    assert (s["n_better"], s["n_worse"], s["n_equal"], s["n"]) == (3, 1, 1, 5)
    assert s["wilcoxon"] == paired_wilcoxon(base, new)
    assert s["wilcoxon"]["n_nonzero"] == 4
    with pytest.raises(ConfigError, match="no score pairs"):
        improvement_summary([], [])
