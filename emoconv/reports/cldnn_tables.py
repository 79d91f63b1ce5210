"""Report layouts and the module-wise analysis of the convolution-type study.

C.-W. Huang and S. S. Narayanan, "Characterizing types of convolution in deep convolutional
recurrent neural networks for robust speech emotion recognition" (arXiv:1706.02901):

* ``cldnn_table3``: SVM baselines, UA (%) per openSMILE set (columns) and protocol x kernel (rows);
  LOSO and TVT figures are pooled over the test predictions of all folds (Table 3).
* ``cldnn_table4``: every network under the noisy and the clean condition, UA mean ± std over
  folds and seeds, with the best SVM (by validation UA) in the clean column (Table 4).
* ``cldnn_table5``: SVM UA on the mean-pooled raw / CNN / BLSTM / MLP representations, read from
  ``RUNDIR/analysis/modulewise.json`` written by :func:`emoconv.experiments.analysis.analyze_run`
  (``emoconv analyze RUNDIR``).
* ``cldnn_study``: the three together.

``published: true`` (``emoconv report --published``) adds the paper's printed figures (its
Tables 3, 4 and 5, eNTERFACE'05), labelled "(published)"; they are not results of the run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .base import LAYOUTS, Report
from .records import corpora_of, group_by, mean_std, metric_values, pooled_ua, published_cell

__all__ = ["PUBLISHED_TABLE3", "PUBLISHED_TABLE4", "PUBLISHED_TABLE5", "table3", "table4", "table5"]

#: Column titles of Table 3 by feature set (the paper's challenge abbreviations).
SET_TITLES = {"IS09": "EC", "IS10": "PC", "IS11": "SSC", "IS12": "STC", "IS13": "ComParE 2013", "ComParE": "ComParE"}

#: Table 3 of the paper (UA %, eNTERFACE'05, best kernel per cell as printed).
PUBLISHED_TABLE3 = {"LOSO": {"EC": 66.61, "PC": 73.87, "SSC": 79.19, "STC": 81.18, "ComParE": 80.45},
                    "TVT": {"EC": 70.83, "PC": 71.66, "SSC": 77.92, "STC": 80.00, "ComParE": 80.83}}
#: Table 4 of the paper: model label -> (noisy UA %, clean UA %).
PUBLISHED_TABLE4: dict[str, tuple[float | None, float]] = {
    "SVM (ComParE)": (None, 80.83), "LDNN (MFCCs)": (75.51, 88.33), "LDNN (log-Mels)": (78.87, 90.42),
    "T-CLDNN (MFCCs)": (83.44, 87.92), "FST-CLDNN (MFCCs)": (84.45, 92.92), "T-CLDNN (log-Mels)": (84.23, 92.92),
    "S-CLDNN (log-Mels)": (82.73, 91.67), "ST-CLDNN (log-Mels)": (84.26, 93.75),
    "FST-CLDNN (log-Mels)": (86.21, 94.58),
}
#: Table 5 of the paper: model label -> UA % of (Raw, CNN, BLSTM, MLP).
PUBLISHED_TABLE5: dict[str, tuple[float, float, float, float]] = {
    "T-CLDNN (MFCCs)": (23.75, 52.50, 88.75, 88.75), "FST-CLDNN (MFCCs)": (23.75, 56.25, 88.75, 92.50),
    "T-CLDNN (log-Mels)": (27.92, 59.17, 93.33, 93.33), "S-CLDNN (log-Mels)": (27.92, 45.83, 88.33, 91.67),
    "ST-CLDNN (log-Mels)": (27.92, 55.83, 89.17, 89.17), "FST-CLDNN (log-Mels)": (27.92, 54.17, 89.17, 94.58),
}


def _ua(recs: Sequence[dict[str, Any]]) -> list[float]:
    return list(metric_values(recs, "ua"))


def _protocol(rec: dict[str, Any]) -> str:
    return "LOSO" if rec["protocol"]["config"].get("kind") == "loso" else "TVT"


def _is_svm(rec: dict[str, Any]) -> bool:
    return rec["model"] == "svm"


def _condition(rec: dict[str, Any]) -> str:
    """``clean`` or ``noisy``; a record without noise conditions (the paper's SVM) counts as clean."""
    return rec.get("condition") or "clean"


def table3(records: Sequence[dict[str, Any]], published: bool = False) -> pd.DataFrame:
    """Table 3: rows (protocol, kernel), columns feature sets; pooled test UA (%) over folds and seeds."""
    def cell(r: dict[str, Any]) -> tuple[str, str, str, str]:
        fset = SET_TITLES.get(r["features"].get("feature_set", ""), r["features"].get("feature_set", "?"))
        return r["corpus"], _protocol(r), r["params"].get("kernel", "linear"), fset

    cells = group_by([r for r in records if _is_svm(r) and _condition(r) == "clean"], key=cell)
    sets = [t for t in SET_TITLES.values() if any(k[3] == t for k in cells)]
    rows = []
    for corpus, proto, kernel in dict.fromkeys(k[:3] for k in cells):
        row: dict[str, Any] = {"corpus": corpus, "protocol": proto, "kernel": kernel}
        for s in sets:
            recs = cells.get((corpus, proto, kernel, s))
            row[s] = pooled_ua(recs) if recs else np.nan
        rows.append(row)
    if published:
        for proto, vals in PUBLISHED_TABLE3.items():
            rows.append({"corpus": "eNTERFACE'05 (published)", "protocol": proto, "kernel": "best",
                         **{s: vals.get(s, np.nan) for s in sets}})
    return pd.DataFrame(rows)


def table4(records: Sequence[dict[str, Any]], published: bool = False) -> pd.DataFrame:
    """Table 4: rows models, columns noisy / clean UA (%) mean ± std over folds and seeds.

    The SVM row is the SVM on the networks' protocol (the paper's TVT partitions; here whatever folds the
    networks of that corpus ran on, e.g. leave-one-speaker-out with a validation speaker), TVT without networks.
    """
    net_protocols = {(r["corpus"], _protocol(r)) for r in records if not _is_svm(r)}
    net_corpora = {c for c, _ in net_protocols}
    svms = [r for r in records if _is_svm(r) and ((r["corpus"], _protocol(r)) in net_protocols or (
        r["corpus"] not in net_corpora and _protocol(r) == "TVT"))]
    svm = group_by(svms, key=lambda r: (r["corpus"], _condition(r), r["variant"]))
    nets = group_by([r for r in records if not _is_svm(r)], "corpus", "variant")
    by = {k: group_by(recs, key=_condition) for k, recs in nets.items()}
    order = {k: recs[0].get("variant_order", 0) for k, recs in nets.items()}
    rows = []
    for corpus in corpora_of(records):
        cell = {}  # per condition, the optimal SVM, chosen on validation UA (the test UA would peek at test data)
        for cond in ("clean", "noisy"):
            have = {k: v for k, v in svm.items() if k[:2] == (corpus, cond)}
            if have:
                best = max(have, key=lambda k: np.mean([r.get("val", {}).get("ua", 0.0) for r in have[k]]))
                cell[cond] = (best[2], have[best])
        if cell:
            names = dict.fromkeys(name for name, _ in cell.values())
            rows.append({"corpus": corpus, "model": " / ".join(names),
                         **{c: mean_std(_ua(cell[c][1])) if c in cell else "" for c in ("noisy", "clean")},
                         "runs": sum(len(v) for _, v in cell.values())})
        for key in sorted((k for k in by if k[0] == corpus), key=lambda k: order[k]):
            cond = by[key]
            rows.append({"corpus": corpus, "model": key[1],
                         "noisy": mean_std(_ua(cond["noisy"])) if cond.get("noisy") else "",
                         "clean": mean_std(_ua(cond["clean"])) if cond.get("clean") else "",
                         "runs": sum(len(v) for v in cond.values())})
    df = pd.DataFrame(rows, columns=["corpus", "model", "noisy", "clean", "runs"])
    if published:
        df["noisy (published)"] = [_pub4(m, 0) for m in df["model"]]
        df["clean (published)"] = [_pub4(m, 1) for m in df["model"]]
        have = set(df["model"])
        extra = [{"corpus": "eNTERFACE'05 (published)", "model": m, "noisy": "", "clean": "", "runs": 0,
                  "noisy (published)": published_cell(v[0]), "clean (published)": published_cell(v[1])}
                 for m, v in PUBLISHED_TABLE4.items() if m not in have]
        df = pd.concat([df, pd.DataFrame(extra)], ignore_index=True) if extra else df
    return df


def _pub4(model: str, i: int) -> str:
    return published_cell(PUBLISHED_TABLE4[model][i]) if model in PUBLISHED_TABLE4 else ""


def table5(analysis: dict[str, Any], published: bool = False) -> pd.DataFrame:
    """Table 5 from :func:`~emoconv.experiments.analysis.analyze_run`'s ``modulewise.json``: UA (%) per module, plus rho per labeling."""
    from .modulewise import MODULE_TITLES

    rows = []
    for label, entry in analysis.get("models", {}).items():
        row: dict[str, Any] = {"model": label}
        row.update({MODULE_TITLES[m]: 100.0 * entry["ua"][m] if m in entry["ua"] else np.nan for m in MODULE_TITLES})
        for factor, per_module in entry.get("rho", {}).items():
            for m, v in per_module.items():
                row[f"rho {factor} {MODULE_TITLES.get(m, m)}"] = v
        rows.append(row)
        if published and label in PUBLISHED_TABLE5:
            rows.append({"model": f"{label} (published)", **dict(zip(MODULE_TITLES.values(), PUBLISHED_TABLE5[label]))})
    return pd.DataFrame(rows)


def _analysis(cfg: dict[str, Any], out_dir: Path) -> dict[str, Any] | None:
    path = Path(cfg["analysis"]) if cfg.get("analysis") else Path(out_dir).parent / "analysis" / "modulewise.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _note(published: bool) -> str:
    return ("UA in %. Table 3: pooled over the test predictions of all folds; Table 4: mean ± sample std over "
            "folds and seeds, networks trained on clean + noisy copies and selected/tested under each condition; "
            "the SVM's clean cell trained and tested clean (as the paper's), its noisy cell (when run) trained on "
            "clean + noisy copies like the networks."
            + (" Rows and columns marked '(published)' are the paper's printed figures (arXiv:1706.02901, "
               "eNTERFACE'05), not results of this run." if published else ""))


@LAYOUTS.register("cldnn_table3")
def layout_table3(records: list[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> Report:
    rep = Report(title="SVM baselines on openSMILE functionals (Table 3 layout)")
    rep.tables["Table 3"] = table3(records, bool(cfg.get("published")))
    rep.text.append(_note(bool(cfg.get("published"))))
    return rep


@LAYOUTS.register("cldnn_table4")
def layout_table4(records: list[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> Report:
    rep = Report(title="Convolution types under clean and noisy conditions (Table 4 layout)")
    rep.tables["Table 4"] = table4(records, bool(cfg.get("published")))
    rep.text.append(_note(bool(cfg.get("published"))))
    return rep


@LAYOUTS.register("cldnn_table5")
def layout_table5(records: list[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> Report:
    rep = Report(title="Module-wise analysis (Table 5 layout)")
    _add_table5(rep, cfg, out_dir)
    return rep


def _add_table5(rep: Report, cfg: dict[str, Any], out_dir: Path) -> None:
    analysis = _analysis(cfg, out_dir)
    if analysis is None:
        rep.text.append("Table 5: no module-wise analysis yet; run `emoconv analyze RUNDIR` (needs `bundle: first_fold`).")
        return
    rep.tables["Table 5"] = table5(analysis, bool(cfg.get("published")))
    root = Path(cfg["analysis"]).parent if cfg.get("analysis") else Path(out_dir).parent / "analysis"
    from ..fileio import atomic_write_bytes

    for e in analysis.get("models", {}).values():  # copied beside report.md so its links resolve
        src = root / str(e.get("plot") or "")
        if e.get("plot") and src.is_file():
            rep.plots.append(atomic_write_bytes(Path(out_dir) / src.name, src.read_bytes()))


@LAYOUTS.register("cldnn_study")
def layout_study(records: list[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> Report:
    published = bool(cfg.get("published"))
    rep = Report(title="Convolution types in CLDNNs for speech emotion recognition (Tables 3-5 layout)")
    if any(_is_svm(r) for r in records):
        rep.tables["Table 3"] = table3(records, published)
    rep.tables["Table 4"] = table4(records, published)
    _add_table5(rep, cfg, out_dir)
    rep.text.append(_note(published))
    return rep
