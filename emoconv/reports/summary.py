"""Generic experiment summaries: per (corpus, variant) fold statistics, pooled UA with a CI, paired tests."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..protocol import bootstrap_ua_ci, paired_wilcoxon, pooled_metrics
from .records import corpora_of, group_by, mean_and_std, metric_values


def summary_table(records: Sequence[dict[str, Any]], n_boot: int = 1000) -> pd.DataFrame:
    """One row per (corpus, variant): folds, mean/std of accuracy, UA, WA, macro-F1; pooled UA and its 95% CI."""
    groups = group_by(records, "corpus", "variant")
    corpora = corpora_of(records)
    rows = []
    for (corpus, variant), recs in sorted(groups.items(), key=lambda kv: (
            corpora.index(kv[0][0]), kv[1][0].get("variant_order", 0))):
        recs = sorted(recs, key=lambda r: (r["fold"], r["seed"]))
        labels = recs[0]["labels"]
        row: dict[str, Any] = {"corpus": corpus, "variant": variant, "model": recs[0]["model"], "runs": len(recs)}
        for key in ("accuracy", "ua", "wa", "macro_f1"):
            row[f"{key}_mean"], row[f"{key}_std"] = mean_and_std(metric_values(recs, key))
        y_true = np.concatenate([r["y_true"] for r in recs])
        y_pred = np.concatenate([r["y_pred"] for r in recs])
        pooled = pooled_metrics([(r["y_true"], r["y_pred"]) for r in recs], labels)
        lo, hi = bootstrap_ua_ci(y_true, y_pred, n_boot=n_boot, seed=0)
        row.update(pooled_ua=pooled["ua"] * 100, ua_ci_low=lo * 100, ua_ci_high=hi * 100,
                   epochs_mean=float(np.mean([r["epochs"] for r in recs])),
                   epoch_time_s=float(np.mean([r["epoch_time_mean_s"] for r in recs])),
                   n_params=int(recs[0]["n_params"]))
        rows.append(row)
    return pd.DataFrame(rows)


def paired_tests(records: Sequence[dict[str, Any]], baseline: str | None = None,
                 metric: str = "ua") -> pd.DataFrame:
    """Two-sided Wilcoxon signed-rank tests of each variant against ``baseline`` over matched (corpus, fold, seed).

    ``baseline`` defaults to the first variant in record order (the recipe's first model).
    """
    variants = list(dict.fromkeys(r["variant"] for r in records))
    if not variants:
        return pd.DataFrame()
    baseline = baseline or variants[0]
    by = {(r["variant"], r["corpus"], r["fold"], r["seed"]): r["metrics"][metric] for r in records}
    rows = []
    for v in variants:
        if v == baseline:
            continue
        keys = sorted(k[1:] for k in by if k[0] == v and (baseline, *k[1:]) in by)
        a = [by[(baseline, *k)] * 100 for k in keys]
        b = [by[(v, *k)] * 100 for k in keys]
        test = paired_wilcoxon(a, b)
        rows.append({"baseline": baseline, "variant": v, "pairs": len(keys), f"{metric}_baseline": np.mean(a) if a else None,
                     f"{metric}_variant": np.mean(b) if b else None,
                     "mean_diff": float(np.mean(np.subtract(b, a))) if a else None,
                     "wins": int(np.sum(np.subtract(b, a) > 0)), "p_value": test.get("p_value"),
                     "note": test.get("reason", "")})
    return pd.DataFrame(rows)


def format_mean_std(df: pd.DataFrame, keys: Sequence[str] = ("accuracy", "ua", "wa", "macro_f1")) -> pd.DataFrame:
    """Replace ``x_mean``/``x_std`` column pairs by one ``x`` column '12.3 ± 4.5'."""
    out = df.copy()
    for k in keys:
        if f"{k}_mean" in out:
            out[k] = [f"{m:.2f} ± {s:.2f}" for m, s in zip(out[f"{k}_mean"], out[f"{k}_std"])]
            out = out.drop(columns=[f"{k}_mean", f"{k}_std"])
    if "pooled_ua" in out:
        out["pooled UA [95% CI]"] = [f"{p:.2f} [{lo:.2f}, {hi:.2f}]" for p, lo, hi in
                                     zip(out["pooled_ua"], out["ua_ci_low"], out["ua_ci_high"])]
        out = out.drop(columns=["pooled_ua", "ua_ci_low", "ua_ci_high"])
    return out
