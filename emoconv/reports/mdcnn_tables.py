"""Report layouts for the multi-dilated CNN recipes: the ablation (paper Table 1) and the SPP study (Table 3).

Reference: "A multi-dilated convolution network for speech emotion recognition", Scientific Reports 15:8254
(2025). Table 1 lists, per ablation row (CNN section, pooling, loss function), the test UA on IEMOCAP and
EMODB; Table 3 lists UA and WA on IEMOCAP for four SPP partition settings of the CNN with filter
factorisation. Both layouts put one row per model variant of the run (in recipe order) and, per corpus, the
mean ± sample standard deviation over folds (and seeds) of the test UA and WA in percent. A variant is matched
to its paper row by its ``mdcnn`` parameters (body, pooling, attention, head; SPP partitions), not by its
label. With ``published: true`` (``emoconv report --published``) the paper's figures are set beside the
user's in columns marked "paper"; they are transcribed from the tables, not results of the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .base import LAYOUTS, Report
from .records import corpora_of, group_by, in_recipe_order, mean_and_std, mean_std, metric_values, published_cell

PAPER = "Sci. Rep. 15:8254 (2025)"
#: Table 1 (test UA, %), keyed by :data:`emoconv.models.mdcnn.ABLATION_ROWS` names: (CNN section, pooling,
#: loss function, {corpus: UA}). The last row is reported for EMODB only ("-" in the paper for IEMOCAP).
PUBLISHED_TABLE1: dict[str, tuple[str, str, str, dict[str, float]]] = {
    "cnn_gmp_softmax": ("Traditional CNN", "GMP", "Softmax", {"iemocap": 59.6, "emodb": 67.7}),
    "ff_gmp_softmax": ("CNN with FF", "GMP", "Softmax", {"iemocap": 60.3, "emodb": 62.7}),
    "ff_spp_softmax": ("CNN with FF", "SPP", "Softmax", {"iemocap": 66.3, "emodb": 77.8}),
    "dilated2_spp_softmax": ("Dilated CNN (2) with FF", "SPP", "Softmax", {"iemocap": 66.7, "emodb": 75.8}),
    "multidilated_spp_softmax": ("Multi-dilated CNN with FF", "SPP", "Softmax", {"iemocap": 67.5, "emodb": 75.8}),
    "multidilated_spp_att_softmax": ("Multi-dilated CNN with FF", "SPP + Attention", "Softmax",
                                     {"iemocap": 67.7, "emodb": 73.2}),
    "multidilated_spp_att_arcface": ("Multi-dilated CNN with FF", "SPP + Attention", "ArcFace",
                                     {"iemocap": 67.9, "emodb": 72.1}),
    "multidilated_spp_arcface": ("Multi-dilated CNN with FF", "SPP", "ArcFace", {"emodb": 77.6}),
}
#: Table 3 (IEMOCAP, CNN with FF + SPP + softmax): SPP partitions -> (UA %, WA %).
PUBLISHED_TABLE3: dict[tuple[int, ...], tuple[float, float]] = {
    (1,): (52.02, 63.72), (1, 5, 10): (68.48, 73.02), (1, 2, 5, 10): (66.51, 70.23), (1, 2, 5, 8, 10): (65.89, 67.91),
}
TABLE3_CORPUS = "iemocap"
_BODY = {"plain": "Traditional CNN", "ff": "CNN with FF", "dilated2": "Dilated CNN (2) with FF",
         "multidilated": "Multi-dilated CNN with FF"}


def model_settings(params: dict[str, Any]) -> dict[str, Any]:
    """A record's ``mdcnn`` params completed with :class:`~emoconv.models.mdcnn.MDCNNConfig` defaults."""
    from dataclasses import asdict

    from ..models.mdcnn import MDCNNConfig

    out = {**asdict(MDCNNConfig()), **params}
    out["spp_levels"] = tuple(int(v) for v in out["spp_levels"])
    return out


def ablation_row(params: dict[str, Any]) -> str | None:
    """The :data:`~emoconv.models.mdcnn.ABLATION_ROWS` name whose settings ``params`` has, else None."""
    from ..models.mdcnn import ABLATION_ROWS

    full = model_settings(params)
    for name, row in ABLATION_ROWS.items():
        if all(full.get(k) == v for k, v in row.items()):
            return name
    return None


def spp_setting(params: dict[str, Any]) -> tuple[int, ...]:
    """Pooling partitions of a variant: global max pooling counts as ``(1,)`` (Table 3's baseline)."""
    full = model_settings(params)
    return (1,) if full["pool"] == "gmp" else tuple(sorted(full["spp_levels"]))


def _variants(records: list[dict[str, Any]]) -> tuple[list[str], list[str], dict[tuple[str, str], list[dict]]]:
    """Variants in recipe order, corpora (IEMOCAP, EMODB first, as in the paper) and records per cell."""
    cells = group_by(records, "variant", "corpus")
    variants = list(in_recipe_order(records))
    seen = corpora_of(records)
    corpora = [c for c in ("iemocap", "emodb") if c in seen] + [c for c in seen if c not in ("iemocap", "emodb")]
    return variants, corpora, cells


def _stats(recs: list[dict[str, Any]], key: str) -> tuple[float, float]:
    return mean_and_std(metric_values(recs, key))


def _cell(recs: list[dict[str, Any]], key: str) -> str:
    return mean_std(metric_values(recs, key)) if recs else ""


def _loader(records: list[dict[str, Any]], corpus: str) -> str:
    """The corpus's loader name (``emodb``, ``iemocap``), which keys the published figures."""
    return next((r.get("corpus_loader", corpus) for r in records if r["corpus"] == corpus), corpus)


def _runs_table(variants: list[str], corpora: list[str], cells: dict[tuple[str, str], list[dict]]) -> pd.DataFrame:
    """Machine-readable figures: one row per (corpus, variant)."""
    rows = []
    for corpus in corpora:
        for v in variants:
            recs = cells.get((v, corpus), [])
            if recs:
                (ua, ua_sd), (wa, wa_sd) = _stats(recs, "ua"), _stats(recs, "wa")
                rows.append({"corpus": corpus, "variant": v, "runs": len(recs), "ua_mean": ua, "ua_std": ua_sd,
                             "wa_mean": wa, "wa_std": wa_sd,
                             "epochs_mean": float(np.mean([r["epochs"] for r in recs])),
                             "n_params": int(recs[0].get("n_params", 0))})
    return pd.DataFrame(rows)


def _protocol_text(records: list[dict[str, Any]], corpora: list[str]) -> str:
    parts = []
    for corpus in corpora:
        rec = next(r for r in records if r["corpus"] == corpus)
        folds = len({r["fold"] for r in records if r["corpus"] == corpus})
        parts.append(f"{corpus}: {rec['protocol']['config'].get('kind')}, {folds} fold(s)")
    return "; ".join(parts)


@LAYOUTS.register("mdcnn_ablation")
def mdcnn_ablation(records: list[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> Report:
    """Table 1 layout: ablation rows x corpora, test UA and WA (mean ± std over folds)."""
    variants, corpora, cells = _variants(records)
    published = bool(cfg.get("published"))
    params = {v: next(r["params"] for r in records if r["variant"] == v) for v in variants}
    rows = []
    for v in variants:
        key = ablation_row(params[v])
        full = model_settings(params[v])
        if key is not None:
            section, pooling, loss, _ = PUBLISHED_TABLE1[key]
        else:
            section = _BODY.get(full["body"], full["body"])
            pooling = ("GMP" if full["pool"] == "gmp" else "SPP") + (" + Attention" if full["attention"] else "")
            loss = "ArcFace" if full["head"] == "arcface" else "Softmax"
        row: dict[str, Any] = {"Variant": v, "CNN section": section, "Pooling": pooling, "Loss function": loss}
        for corpus in corpora:
            recs = cells.get((v, corpus), [])
            row[f"{corpus} UA"] = _cell(recs, "ua")
            row[f"{corpus} WA"] = _cell(recs, "wa")
            if published:
                pub = PUBLISHED_TABLE1[key][3].get(_loader(records, corpus)) if key else None
                row[f"{corpus} UA (paper, Table 1)"] = published_cell(pub, digits=1, missing="-")
        rows.append(row)
    report = Report(title="Multi-dilated CNN: ablation (Table 1 layout)")
    report.tables["Table 1"] = pd.DataFrame(rows)
    report.tables["Runs"] = _runs_table(variants, corpora, cells)
    report.text.append(
        f"Test UA and WA in %, mean ± sample std over speaker-independent folds ({_protocol_text(records, corpora)}); "
        "rows are matched to the paper's ablation rows by their model settings."
        + (f" Columns marked '(paper, Table 1)' are the UA figures printed in Table 1 of {PAPER} (IEMOCAP "
           "improvised, 4 classes; EMODB, 7 classes; 10 folds each), not results of this run; '-' = not "
           "reported there or no matching paper row." if published else ""))
    return report


@LAYOUTS.register("mdcnn_spp")
def mdcnn_spp(records: list[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> Report:
    """Table 3 layout: SPP partition settings x corpora, test UA and WA (mean ± std over folds)."""
    variants, corpora, cells = _variants(records)
    published = bool(cfg.get("published"))
    rows = []
    for v in variants:
        levels = spp_setting(next(r["params"] for r in records if r["variant"] == v))
        name = "1 (Baseline)" if levels == (1,) else ",".join(str(n) for n in levels)
        row: dict[str, Any] = {"Pooling partitions": name, "Variant": v}
        for corpus in corpora:
            recs = cells.get((v, corpus), [])
            row[f"{corpus} UA"] = _cell(recs, "ua")
            row[f"{corpus} WA"] = _cell(recs, "wa")
            if published:
                pub = PUBLISHED_TABLE3.get(levels) if _loader(records, corpus) == TABLE3_CORPUS else None
                row[f"{corpus} UA (paper, Table 3)"] = published_cell(pub and pub[0], missing="-")
                row[f"{corpus} WA (paper, Table 3)"] = published_cell(pub and pub[1], missing="-")
        rows.append(row)
    report = Report(title="Multi-dilated CNN: SPP partitions (Table 3 layout)")
    report.tables["Table 3"] = pd.DataFrame(rows)
    report.tables["Runs"] = _runs_table(variants, corpora, cells)
    report.text.append(
        f"Test UA and WA in %, mean ± sample std over speaker-independent folds ({_protocol_text(records, corpora)}). "
        "A level n cuts the final feature map into n partitions per axis (see docs/mdcnn.md); '1 (Baseline)' is "
        "global max pooling."
        + (f" Columns marked '(paper, Table 3)' are the figures printed in Table 3 of {PAPER} (IEMOCAP only), not "
           "results of this run; '-' = not reported there." if published else ""))
    return report
