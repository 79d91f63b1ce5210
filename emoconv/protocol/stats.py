"""Uncertainty and significance for comparing emotion recognisers.

- :func:`bootstrap_ua_ci`: percentile bootstrap confidence interval of the unweighted
  accuracy (Efron and Tibshirani, "An Introduction to the Bootstrap", 1993), resampling
  utterances with replacement; computed by ``scipy.stats.bootstrap``.
- :func:`paired_wilcoxon`: two-sided Wilcoxon signed-rank test on matched pairs (e.g.
  the same corpus/fold/model scored by a baseline and a new method), by
  ``scipy.stats.wilcoxon``; degenerate inputs get ``p_value=None`` and a reason.
- :func:`improvement_summary`: mean/std/max of the paired improvements, how many pairs
  improved and the Wilcoxon result, the summary the MTS paper (Guizzo, Weyde and
  Leveson, ICASSP 2020) gives under its results table.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError
from .metrics import encode_labels

_BATCH_ELEMENTS = 4_000_000  # bound on resampled labels held at once by scipy.stats.bootstrap
_DECIMALS = 12  # score differences are rounded so float noise (0.55 - 0.5 vs 0.45 - 0.4) keeps ties


def _ua(t: np.ndarray, p: np.ndarray, n_classes: int, axis: int = -1) -> np.ndarray:
    """UA along ``axis`` of class-index arrays; any leading (batch) shape is kept."""
    recalls = []
    for c in range(n_classes):
        is_c = t == c
        tot = is_c.sum(axis=axis)
        hit = (is_c & (p == c)).sum(axis=axis)
        with np.errstate(invalid="ignore", divide="ignore"):
            recalls.append(np.where(tot > 0, hit / np.maximum(tot, 1), np.nan))
    return np.nanmean(np.stack(recalls, axis=-1), axis=-1)


def bootstrap_ua_ci(y_true: Sequence[Any], y_pred: Sequence[Any], n_boot: int = 1000,
                    alpha: float = 0.05, seed: int = 0,
                    labels: Sequence[str] | int | None = None) -> tuple[float, float]:
    """Percentile-bootstrap ``(low, high)`` bounds of the UA at level ``1 - alpha``.

    ``y_true``, ``y_pred``: shape (N,) class indices, or names when ``labels`` lists them
    (without ``labels``, the classes are the sorted distinct values of both). Each of
    ``n_boot`` replicates resamples N utterance pairs with replacement; UA per replicate is
    the mean recall over the classes present in that replicate.
    """
    if n_boot < 2:
        raise ConfigError(f"n_boot: need at least 2 bootstrap replicates, got {n_boot}")
    if not 0.0 < alpha < 1.0:
        raise ConfigError(f"alpha: must be in (0, 1), got {alpha}")
    if labels is None:
        labels = sorted({str(v) for v in list(y_true) + list(y_pred)})
        y_true, y_pred = [str(v) for v in y_true], [str(v) for v in y_pred]
    t = encode_labels(y_true, labels, "y_true")
    p = encode_labels(y_pred, labels, "y_pred")
    if t.shape != p.shape:
        raise ConfigError(f"y_true has {t.size} labels but y_pred {p.size}; pass one prediction per utterance")
    if t.size == 0:
        raise ConfigError("y_true is empty; a confidence interval needs at least one utterance")
    k = int(max(t.max(), p.max())) + 1

    def statistic(tt: np.ndarray, pp: np.ndarray, axis: int = -1) -> np.ndarray:
        return _ua(tt, pp, k, axis)

    import scipy.stats

    res = scipy.stats.bootstrap(
        (t, p), statistic, n_resamples=int(n_boot), paired=True, vectorized=True,
        confidence_level=1.0 - alpha, method="percentile",
        batch=max(1, _BATCH_ELEMENTS // t.size), rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def paired_wilcoxon(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Two-sided Wilcoxon signed-rank test of ``b - a`` on matched pairs.

    Returns ``{"statistic", "p_value", "n", "n_nonzero", "reason"}``. Differences are
    rounded to 12 decimals so that float noise does not split ties; zero differences
    are dropped (scipy's ``zero_method="wilcox"``); ``statistic`` is scipy's (the smaller
    signed-rank sum). With fewer than 2 pairs or only zero differences the test is
    undefined: ``statistic`` and ``p_value`` are ``None`` and ``reason`` says why
    (``reason`` is ``None`` otherwise).

    >>> paired_wilcoxon([0.5, 0.6], [0.5, 0.6])["reason"]
    'all differences are zero: the two sets of scores are identical'
    """
    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise ConfigError(f"paired_wilcoxon: {x.size} baseline scores but {y.size} new scores; "
                          f"pass one score per matched pair")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ConfigError("paired_wilcoxon: scores contain NaN or infinity; drop or fix those pairs")
    d = np.round(y - x, _DECIMALS)
    out: dict[str, Any] = {"statistic": None, "p_value": None, "n": int(d.size),
                           "n_nonzero": int(np.count_nonzero(d)), "reason": None}
    if d.size < 2:
        out["reason"] = f"fewer than 2 pairs (n={d.size}): the test needs at least 2"
    elif out["n_nonzero"] == 0:
        out["reason"] = "all differences are zero: the two sets of scores are identical"
    else:
        import scipy.stats

        res = scipy.stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided")
        out["statistic"] = float(res.statistic)
        out["p_value"] = float(res.pvalue)
    return out


def improvement_summary(base: Sequence[float], new: Sequence[float]) -> dict[str, Any]:
    """How ``new`` scores compare with ``base`` scores on matched pairs.

    Returns ``mean`` and ``std`` (ddof=1; 0.0 for one pair) of ``new - base``,
    ``max_improvement`` (largest ``new - base``), ``n_better``/``n_worse``/``n_equal``,
    ``n`` and ``wilcoxon`` (:func:`paired_wilcoxon`).

    >>> s = improvement_summary([0.50, 0.60, 0.70], [0.55, 0.60, 0.80])
    >>> round(s["mean"], 4), round(s["max_improvement"], 4), s["n_better"]
    (0.05, 0.1, 2)
    """
    test = paired_wilcoxon(base, new)  # validates lengths and finiteness
    d = np.round(np.asarray(new, dtype=float).ravel() - np.asarray(base, dtype=float).ravel(), _DECIMALS)
    if d.size == 0:
        raise ConfigError("improvement_summary: no score pairs given")
    return {
        "mean": float(d.mean()),
        "std": float(d.std(ddof=1)) if d.size > 1 else 0.0,
        "max_improvement": float(d.max()),
        "n_better": int((d > 0).sum()),
        "n_worse": int((d < 0).sum()),
        "n_equal": int((d == 0).sum()),
        "n": int(d.size),
        "wilcoxon": test,
    }

