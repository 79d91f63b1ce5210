"""Late (score) fusion of two systems' run records on the same folds, and their paired comparison.

Each run record keeps the class probabilities of its test utterances (``probs``, one row per entry of
``utterances``). Two result folders run with the same protocol on the same corpus have the same folds;
:func:`fuse` matches their records by fold and seed, checks that the test utterances agree, and scores the
weighted mean of the probabilities, ``w p_a + (1 - w) p_b``. The weight is fixed beforehand (0.5 by
default): choosing it on the test folds would report a figure no user could reach. :func:`fuse_cv` chooses
it per fold instead, on the other folds' test predictions only (pooled UA over a grid), so no test speaker's
labels pick the weight used on that speaker.

>>> a = [{"fold": 0, "seed": 0, "utterances": ["u1", "u2"], "labels": ["x", "y"], "y_true": [0, 1],
...       "probs": [[0.6, 0.4], [0.6, 0.4]]}]
>>> b = [{"fold": 0, "seed": 0, "utterances": ["u1", "u2"], "labels": ["x", "y"], "y_true": [0, 1],
...       "probs": [[0.9, 0.1], [0.2, 0.8]]}]
>>> fuse(a, b)[0]["y_pred"]
[0, 1]
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError

__all__ = ["best_weight", "compare", "fold_ua", "fuse", "fuse_cv", "fused_records"]


def _by_fold(records: Sequence[dict[str, Any]], name: str) -> dict[tuple[int, int], dict[str, Any]]:
    out = {}
    for r in records:
        if "probs" not in r:
            raise ConfigError(f"{name}: run {r.get('key')} has no test probabilities (written before emoconv "
                              "kept them); rerun it to fuse it")
        out[(int(r["fold"]), int(r["seed"]))] = r
    return out


def fuse(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], weight: float = 0.5) -> list[dict[str, Any]]:
    """Fused fold records ``{fold, seed, y_true, y_pred, labels, utterances}`` of the folds both systems ran."""
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"fusion weight must be in [0, 1], got {weight}")
    fa, fb = _by_fold(a, "first system"), _by_fold(b, "second system")
    out = []
    for key in sorted(set(fa) & set(fb)):
        ra, rb = fa[key], fb[key]
        if list(ra["utterances"]) != list(rb["utterances"]) or list(ra["labels"]) != list(rb["labels"]):
            raise ConfigError(f"fold {key[0]}: the two systems tested different utterances or labels; fuse runs "
                              "of the same corpus and protocol")
        p = weight * np.asarray(ra["probs"], dtype=np.float64) + (1 - weight) * np.asarray(rb["probs"], np.float64)
        out.append({"fold": key[0], "seed": key[1], "labels": list(ra["labels"]), "utterances": list(ra["utterances"]),
                    "y_true": list(ra["y_true"]), "y_pred": p.argmax(1).tolist()})
    return out


def _grid(grid: Sequence[float] | None) -> list[float]:
    return [round(0.05 * i, 2) for i in range(21)] if grid is None else [float(w) for w in grid]


def _best(by_weight: dict[float, dict[Any, dict[str, Any]]], keys: Sequence[Any], grid: Sequence[float]) -> float:
    """The weight of ``grid`` with the best pooled fused UA over the folds ``keys``; ties nearest 0.5."""
    from ..protocol import pooled_metrics

    labels = by_weight[grid[0]][keys[0]]["labels"]

    def score(w: float) -> tuple[float, float]:
        recs = [by_weight[w][k] for k in keys]
        return pooled_metrics([(r["y_true"], r["y_pred"]) for r in recs], labels)["ua"], -abs(w - 0.5)

    return max(grid, key=score)


def _fused_by_weight(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], grid: list[float]) -> tuple[
        dict[float, dict[Any, dict[str, Any]]], list[Any]]:
    by_weight = {w: {(r["fold"], r["seed"]): r for r in fuse(a, b, w)} for w in grid}
    return by_weight, sorted(by_weight[grid[0]])


def fuse_cv(
    a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], grid: Sequence[float] | None = None
) -> list[dict[str, Any]]:
    """:func:`fuse` with each fold's weight chosen on the other folds (their pooled fused UA over ``grid``).

    ``grid`` defaults to 0, 0.05, ..., 1; ties go to the weight nearest 0.5. Each record gets
    ``fusion_weight``. Needs at least two folds.
    """
    grid = _grid(grid)
    by_weight, keys = _fused_by_weight(a, b, grid)
    if len(keys) < 2:
        raise ConfigError("fuse_cv: choosing the weight on the other folds needs at least two folds")
    return [dict(by_weight[w][key], fusion_weight=w)
            for key in keys for w in [_best(by_weight, [k for k in keys if k != key], grid)]]


def best_weight(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]], grid: Sequence[float] | None = None) -> float:
    """The weight of ``a`` (``grid`` as in :func:`fuse_cv`) with the best pooled fused UA over every fold both
    systems ran: the weight a model trained after the cross-validation ships with (no fold is tested on it)."""
    grid = _grid(grid)
    by_weight, keys = _fused_by_weight(a, b, grid)
    if not keys:
        raise ConfigError("best_weight: the two systems share no fold")
    return _best(by_weight, keys, grid)


def fused_records(fused: Sequence[dict[str, Any]], like: Sequence[dict[str, Any]], variant: str) -> list[
        dict[str, Any]]:
    """Fused fold records (from :func:`fuse` or :func:`fuse_cv`) as run records: with ``metrics`` and the
    corpus, recipe and protocol of the matching fold of ``like`` (one system's records), named ``variant``;
    what :func:`emoconv.experiments.evidence.variant_evidence` reads."""
    from ..protocol import classification_metrics

    base = {(int(r["fold"]), int(r["seed"])): r for r in like}
    out = []
    for f in fused:
        r = base[(int(f["fold"]), int(f["seed"]))]
        out.append({**f, "corpus": r["corpus"], "recipe": r.get("recipe"), "protocol": r.get("protocol"),
                    "variant": variant, "metrics": classification_metrics(f["y_true"], f["y_pred"], f["labels"])})
    return out


def fold_ua(records: Sequence[dict[str, Any]]) -> dict[tuple[int, int], float]:
    """UA (fraction) of each fold record, keyed by ``(fold, seed)``."""
    from ..protocol import classification_metrics

    return {(int(r["fold"]), int(r["seed"])): float(classification_metrics(r["y_true"], r["y_pred"],
                                                                           r["labels"])["ua"]) for r in records}


def compare(base: Sequence[dict[str, Any]], new: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Pooled UA of both (percent), the per-fold UA difference and a paired Wilcoxon test over folds."""
    from ..protocol import pooled_metrics
    from ..protocol.stats import paired_wilcoxon

    ua_a, ua_b = fold_ua(base), fold_ua(new)
    keys = sorted(set(ua_a) & set(ua_b))
    if not keys:
        raise ConfigError("compare: the two systems share no fold")
    pick = {k: r for r in base for k in [(int(r["fold"]), int(r["seed"]))] if k in keys}
    pick_b = {k: r for r in new for k in [(int(r["fold"]), int(r["seed"]))] if k in keys}
    labels = next(iter(pick.values()))["labels"]
    pooled_a = pooled_metrics([(pick[k]["y_true"], pick[k]["y_pred"]) for k in keys], labels)
    pooled_b = pooled_metrics([(pick_b[k]["y_true"], pick_b[k]["y_pred"]) for k in keys], labels)
    a, b = [ua_a[k] for k in keys], [ua_b[k] for k in keys]
    test = paired_wilcoxon(a, b)
    return {"folds": len(keys), "base_ua": 100 * pooled_a["ua"], "new_ua": 100 * pooled_b["ua"],
            "base_fold_mean": 100 * float(np.mean(a)), "new_fold_mean": 100 * float(np.mean(b)),
            "new_wins": int(sum(y > x for x, y in zip(a, b))), "p_value": test["p_value"], "test": test}
