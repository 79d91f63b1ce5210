"""The MTS design-study layout (``report: {layout: mts_study}``): accuracy and UA per variant and fold, a
paired test of each variant against the standard convolution, and what the MTS layers did (from the
per-epoch probes that ``train.mts_probe: true`` records): per-scale win shares, response amplitudes and
shares of the kernel gradient, at the selected epoch, averaged over folds.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..protocol import improvement_summary
from .base import LAYOUTS, Report


def _probe_at_best(rec: dict[str, Any]) -> dict[str, Any]:
    hist = rec.get("history") or []
    if not hist:
        return {}
    best = rec.get("best_epoch") or len(hist)
    return hist[min(best, len(hist)) - 1].get("mts", {})


@LAYOUTS.register("mts_study")
def mts_study(records: list[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> Report:
    by_variant: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
    for r in records:
        by_variant[r["variant"]][int(r["fold"])] = r
    order = sorted(by_variant, key=lambda v: (min(r.get("variant_order", 0) for r in by_variant[v].values()), v))
    base = next((v for v in order if "standard" in v.lower()), order[0])
    folds = sorted({f for d in by_variant.values() for f in d})
    rows, probes = [], []
    for v in order:
        d = by_variant[v]
        ua = [100 * d[f]["metrics"]["ua"] for f in folds if f in d]
        acc = [100 * d[f]["metrics"]["accuracy"] for f in folds if f in d]
        row: dict[str, Any] = {"variant": v, "folds": len(ua)}
        row.update({f"UA fold {f}": 100 * d[f]["metrics"]["ua"] if f in d else None for f in folds})
        row.update({"UA mean": float(np.mean(ua)), "accuracy mean": float(np.mean(acc)),
                    "best epochs": ", ".join(str(d[f].get("best_epoch")) for f in folds if f in d)})
        paired = [(100 * by_variant[base][f]["metrics"]["ua"], 100 * d[f]["metrics"]["ua"])
                  for f in folds if f in d and f in by_variant[base]]
        if v != base and len(paired) >= 2:
            s = improvement_summary([p[0] for p in paired], [p[1] for p in paired])
            row.update({"vs standard (pp)": s["mean"], "wins": f"{s['n_better']}/{s['n']}",
                        "Wilcoxon p": s["wilcoxon"].get("p_value")})
        rows.append(row)
        per_layer: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for f in folds:
            if f in d:
                for layer, p in _probe_at_best(d[f]).items():
                    per_layer[layer].append(p)
        for layer, ps in sorted(per_layer.items()):
            scales = list(ps[0]["win"])
            fmt = lambda key: ", ".join(f"{np.mean([p[key][s] for p in ps]):.2f}" for s in scales)  # noqa: E731
            probes.append({"variant": v, "layer": layer, "scales": ", ".join(scales), "win share": fmt("win"),
                           "mean |response|": fmt("amplitude"), "gradient share": fmt("grad_share")})
    report = Report(title="MTS design study")
    report.tables["UA per fold (%)"] = pd.DataFrame(rows)
    if probes:
        report.tables["What the MTS layers did (selected epoch, mean over folds)"] = pd.DataFrame(probes)
    report.text.append(
        f"Test UA and accuracy in %, per speaker-independent fold; 'vs standard' is the mean paired difference "
        f"to '{base}' over folds, with a two-sided Wilcoxon signed-rank p-value (4 folds cannot reach p < 0.1). "
        "Probe columns list one value per scale, in the order of 'scales'.")
    return report
