"""How the report layouts read run records: grouping, figures over folds, mean ± std cells, published cells.

Every paper layout (``mts_table1``, ``cldnn_*``, ``mdcnn_*``, ``cnn3d_tables``) and the generic summary build their
cells from these few functions, so a figure means the same in each table: a metric over the runs of a cell
(folds x seeds), in percent unless asked otherwise, summarised by its mean and *sample* standard deviation
(0 for a single run).

>>> recs = [{"corpus": "c", "variant": "v", "metrics": {"ua": u}} for u in (0.5, 0.7)]
>>> mean_std(metric_values(recs, "ua"))
'60.00 ± 14.14'
>>> mean_std(metric_values(recs, "ua", scale=1.0), digits=3)
'0.600 ± 0.141'
>>> list(group_by(recs, "corpus", "variant"))
[('c', 'v')]
>>> published_cell(None), published_cell(66.91), published_cell(70.0, digits=1, missing="-")
('–', '66.91', '70.0')
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Mapping, Sequence

import numpy as np

__all__ = ["group_by", "in_recipe_order", "mean_std", "mean_and_std", "metric_values", "pooled_ua",
           "published_cell", "corpora_of"]

Record = Mapping[str, Any]


def group_by(records: Sequence[Record], *fields: str,
             key: Callable[[Record], Hashable] | None = None) -> dict[Any, list[Record]]:
    """Records per value of ``fields`` (a tuple of the record's values) or of ``key(record)``, in order of first
    appearance."""
    out: dict[Any, list[Record]] = {}
    for r in records:
        k = key(r) if key is not None else tuple(r[f] for f in fields)
        out.setdefault(k, []).append(r)
    return out


def in_recipe_order(records: Sequence[Record]) -> dict[str, list[Record]]:
    """Records per variant, the variants in the recipe's order (``variant_order``; records written without one
    come first, by name)."""
    groups = group_by(records, key=lambda r: r["variant"])
    order = {v: min(r.get("variant_order", 0) for r in recs) for v, recs in groups.items()}
    return {v: groups[v] for v in sorted(groups, key=lambda v: (order[v], v))}


def corpora_of(records: Sequence[Record]) -> list[str]:
    """The corpora of ``records`` in order of first appearance."""
    return list(dict.fromkeys(r["corpus"] for r in records))


def metric_values(records: Sequence[Record], metric: str = "ua", part: str = "metrics",
                  scale: float = 100.0) -> np.ndarray:
    """``record[part][metric] * scale`` for each record (``part="val"``: the validation figure)."""
    return np.array([float(r[part][metric]) for r in records], dtype=float) * scale


def mean_and_std(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; 0.0 for a single value)."""
    v = np.asarray(values, dtype=float)
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def mean_std(values: Sequence[float] | np.ndarray, digits: int = 2) -> str:
    """One table cell, ``'12.34 ± 5.67'``; empty when there are no values."""
    if len(values) == 0:
        return ""
    m, s = mean_and_std(values)
    return f"{m:.{digits}f} ± {s:.{digits}f}"


def pooled_ua(records: Sequence[Record], scale: float = 100.0) -> float:
    """UA of the test predictions of all ``records`` taken together (not the mean of per-run UAs)."""
    from ..protocol import unweighted_accuracy

    return scale * unweighted_accuracy(np.concatenate([r["y_true"] for r in records]),
                                       np.concatenate([r["y_pred"] for r in records]))


def published_cell(value: float | None, digits: int = 2, missing: str = "–") -> str:
    """A paper's printed figure as a cell (``missing`` where the paper has none)."""
    return missing if value is None else f"{value:.{digits}f}"
