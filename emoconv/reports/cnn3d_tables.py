"""Report layout of the 3D CNN paper (Kim, Truong, Englebienne & Evers, ACII 2017).

Layout ``cnn3d_tables`` (``emoconv report RUNDIR --layout cnn3d_tables [--published]``):

* **Table 1**: utterances per corpus and class of the pool (neutral, happy, sad, angry) and
  speakers per corpus, counted from the test partitions of all folds (deduplicated by
  utterance id). Under ``protocol.kind: multicorpus`` every speaker is tested once, so this
  is the whole pool; under ``multicorpus_resample`` it is the utterances tested at least once.
* **Table 3**: best, worst and mean ± std UA over folds per 3D kernel resolution of the
  ``cnn3d.dnn`` variants, with the paper's shape groups.
* **Table 4**: per method, the parameter count beside the paper's (always shown: it checks the
  architecture) and UA mean ± std over folds; paired two-sided Wilcoxon signed-rank tests
  between every pair of methods over matched (corpus, fold, seed) UAs, significant at the
  paper's 0.99 level when p < 0.01. With five folds the smallest attainable two-sided p is
  0.0625, so no pair can reach it; the p-values are still the honest comparison.
* **Table 5**: row-normalised confusion matrices in percent per method, predictions pooled
  over folds, in the paper's class order N, H, S, A.
* **Figure 3**: t-SNE of the top fully-connected layer's test-utterance representations of
  the best torch model (highest mean UA; ``select: validation`` picks by validation UA
  instead), coloured by emotion. It needs the run to have stored them: recipe
  ``report: {embeddings: true}`` with ``bundle: first_fold`` (fold 0, first seed) makes the
  runner write ``embeddings/<run key>.npy``. ``tsne: all`` draws every method that has one.

``published: true`` adds the paper's figures beside the user's, every such row or table
labelled "(published)"; they are printed numbers, not results of this run.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..protocol import paired_wilcoxon
from .base import LAYOUTS, Report
from .records import in_recipe_order, mean_std, metric_values

#: The paper's class order and the column headers of its Table 1.
CLASSES: tuple[str, ...] = ("neutral", "happiness", "sadness", "anger")
HEADERS: dict[str, str] = {"neutral": "neutral", "happiness": "happy", "sadness": "sad", "anger": "angry"}

#: Table 1 of the paper: corpus -> (speakers, neutral, happy, sad, angry).
PUBLISHED_TABLE1: dict[str, tuple[int, int, int, int, int]] = {
    "AIBO": (51, 10967, 889, 0, 1492), "EMODB": (10, 77, 61, 58, 97), "ENTERFACE": (43, 0, 208, 422, 211),
    "LDC": (7, 80, 180, 161, 139), "IEMOCAP": (10, 1708, 595, 2168, 2206), "SEMAINE": (20, 2694, 766, 82, 392),
    "RECOLA": (23, 159, 14, 109, 121), "Total": (164, 15685, 2713, 3000, 4658),
}

#: Table 3 of the paper: (L, T, S) -> (best, worst, mean, std) UA.
PUBLISHED_TABLE3: dict[tuple[int, int, int], tuple[float, float, float, float]] = {
    (2, 2, 2): (.518, .451, .480, .03), (2, 2, 32): (.541, .425, .484, .05), (2, 2, 128): (.550, .471, .496, .03),
    (2, 2, 256): (.516, .250, .416, .10), (4, 2, 2): (.481, .393, .450, .04), (8, 2, 2): (.507, .394, .454, .04),
    (2, 4, 2): (.503, .419, .450, .03), (2, 8, 2): (.487, .441, .463, .02), (4, 2, 128): (.469, .437, .451, .01),
    (8, 2, 128): (.528, .421, .462, .04), (2, 4, 128): (.492, .446, .467, .02), (2, 8, 128): (.488, .423, .467, .03),
}

#: Table 4 of the paper: (model, variant key) -> (parameters in K, UA mean, UA std); see :func:`paper_key`.
PUBLISHED_TABLE4: dict[tuple[str, Any], tuple[str, float, float | None]] = {
    ("cnn3d.base.dnn_elm", None): ("141", .384, .05), ("cnn3d.base.lstm_elm", None): ("214", .421, .11),
    ("cnn3d.base.cnn1d_lstm", 128): ("1583", .391, .06), ("cnn3d.base.cnn1d_lstm", 256): ("2211", .380, .03),
    ("cnn3d.base.cnn2d_lstm", 2): ("264", .318, .01), ("cnn3d.base.cnn2d_lstm", 32): ("268", .323, .01),
    ("cnn3d.base.cnn2d_lstm", 128): ("282", .306, .03),
    ("cnn3d.base.cnn2d_lstm_dnn", 2): ("595", .329, .02), ("cnn3d.base.cnn2d_lstm_dnn", 32): ("607", .350, .03),
    ("cnn3d.base.cnn2d_lstm_dnn", 128): ("611", .313, .01),
    ("cnn3d.dnn", "depth2"): ("792-810", .250, None), ("cnn3d.dnn", 2): ("798", .480, .03),
    ("cnn3d.dnn", 32): ("793", .484, .05), ("cnn3d.dnn", 128): ("807", .496, .03),
    ("cnn3d.dnn_elm", "depth2"): ("527-548", .250, None), ("cnn3d.dnn_elm", 2): ("528", .495, .05),
    ("cnn3d.dnn_elm", 32): ("531", .516, .02), ("cnn3d.dnn_elm", 128): ("546", .512, .03),
}

#: Table 5 of the paper (percent; rows true N, H, S, A; columns predicted N, H, S, A).
PUBLISHED_TABLE5: dict[str, list[list[int]]] = {
    "DNN-ELM": [[93, 0, 4, 3], [82, 0, 7, 11], [26, 0, 71, 3], [80, 0, 11, 9]],
    "LSTM-ELM": [[83, 4, 4, 9], [59, 10, 12, 19], [23, 4, 69, 4], [51, 4, 14, 32]],
    "2D-CNN-LSTM-DNN": [[80, 2, 10, 8], [72, 1, 12, 15], [38, 0, 58, 4], [65, 0, 13, 22]],
    "3D-CNN-DNN": [[88, 0, 7, 4], [64, 8, 8, 20], [18, 1, 75, 6], [41, 1, 8, 50]],
}


#: Parameters that change a model's size away from the paper's row (no paper figure is shown then).
SIZE_KEYS = frozenset({"hidden", "channels", "filters", "fc", "fc_layers", "layers", "context", "cells",
                       "subsequences", "kernel1", "pool1", "kernel2", "pool2", "pools", "lstm_layers"})


def paper_key(model: str, params: dict[str, Any]) -> tuple[str, Any] | None:
    """The :data:`PUBLISHED_TABLE4` key of a run (spectral kernel depth, LSTM cells, or ``"depth2"``).

    None when a size parameter differs from the paper's (e.g. the quick recipe's narrow layers).
    """
    sized = {k for k in params if k in SIZE_KEYS}
    if model == "cnn3d.base.cnn1d_lstm":
        sized.discard("cells")
    elif params.get("cells", 128) == 128:
        sized.discard("cells")
    if sized:
        return None
    if model == "cnn3d.base.cnn1d_lstm":
        return model, int(params.get("cells", 128))
    if model in ("cnn3d.dnn", "cnn3d.dnn_elm"):
        if int(params.get("depth", 3)) == 2:
            return model, "depth2"
        kernel = tuple(params.get("kernel", (2, 2, 128 if model == "cnn3d.dnn" else 32)))
        return model, int(kernel[-1]) if tuple(kernel[:2]) == (2, 2) else tuple(kernel)
    if model in ("cnn3d.base.cnn2d_lstm", "cnn3d.base.cnn2d_lstm_dnn"):
        kernel = tuple(params.get("kernel", (2, 32)))
        return model, int(kernel[-1]) if int(kernel[0]) == 2 else tuple(kernel)
    return model, None


def _names(r: dict[str, Any], ys: Sequence[int]) -> list[str]:
    return [r["labels"][int(y)] for y in ys]


def table1(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Speakers and utterances per corpus and class, from the test partitions of every run."""
    seen: dict[str, tuple[str, str]] = {}
    speakers: dict[str, set[str]] = defaultdict(set)
    for r in records:
        for uid, y in zip(r["utterances"], _names(r, r["y_true"])):
            seen[uid] = (uid.split(":", 1)[0], y)
        for s in r.get("protocol", {}).get("fold", {}).get("test_speakers", []):
            speakers[s.split("/", 1)[0] if "/" in s else r["corpus"]].add(s)
    corpora = list(dict.fromkeys(c for c, _ in seen.values()))
    rows = []
    for c in corpora + ["Total"]:
        sel = [y for cc, y in seen.values() if c in (cc, "Total")]
        n_spk = sum(len(v) for v in speakers.values()) if c == "Total" else len(speakers.get(c, ()))
        rows.append({"Corpus": c, "Speakers": n_spk, **{HEADERS[k]: sel.count(k) for k in CLASSES}, "Total": len(sel)})
    return pd.DataFrame(rows)


def table3(records: Sequence[dict[str, Any]], published: bool = False) -> pd.DataFrame:
    """Best/worst/mean ± std UA over folds per kernel resolution of the ``cnn3d.dnn`` variants."""
    from ..models.cnn3d import TABLE3_KERNELS

    group_of = {k: g for g, ks in TABLE3_KERNELS.items() for k in ks}
    by_kernel: dict[tuple[tuple[int, ...], int], list[float]] = defaultdict(list)
    for r in records:
        if r["model"] == "cnn3d.dnn":
            kernel = tuple(int(v) for v in r["params"].get("kernel", (2, 2, 128)))
            by_kernel[(kernel, int(r["params"].get("depth", 3)))].append(float(r["metrics"]["ua"]))
    order = list(group_of)
    rows = []
    for (kernel, depth), uas in sorted(by_kernel.items(),
                                       key=lambda kv: (order.index(kv[0][0]) if kv[0][0] in order else 99, kv[0])):
        row = {"Shapes": group_of.get(kernel, "other"), "Resolution (L x T x S)": " x ".join(map(str, kernel)),
               "Layers": depth, "Folds": len(uas), "Best": max(uas), "Worst": min(uas), "Mean": mean_std(uas, digits=3)}
        if published:
            pub = PUBLISHED_TABLE3.get(kernel) if depth == 3 else None
            row.update({"Best (published)": pub[0] if pub else None, "Worst (published)": pub[1] if pub else None,
                        "Mean (published)": f"{pub[2]:.3f} ± {pub[3]:.2f}" if pub else ""})
        rows.append(row)
    return pd.DataFrame(rows)


def table4(records: Sequence[dict[str, Any]], published: bool = False) -> pd.DataFrame:
    """Per method: features group, parameters (ours and the paper's, in K), UA mean ± std over folds."""
    rows = []
    for variant, recs in in_recipe_order(records).items():
        r0 = recs[0]
        key = paper_key(r0["model"], r0["params"])
        pub = PUBLISHED_TABLE4.get(key) if key else None
        row = {"Features": r0.get("group") or r0["model"], "Method": variant, "Folds": len(recs),
               "Parameters (K)": round(float(np.mean([r["n_params"] for r in recs])) / 1000, 1),
               "Parameters (K), paper": pub[0] if pub else "", "UA": mean_std(metric_values(recs, "ua", scale=1.0), digits=3)}
        if published:
            std = f" ± {pub[2]:.2f}" if pub and pub[2] is not None else ""
            row["UA (published)"] = f"{pub[1]:.3f}{std}" if pub else ""
        rows.append(row)
    return pd.DataFrame(rows)


def wilcoxon_table(records: Sequence[dict[str, Any]], level: float = 0.01) -> pd.DataFrame:
    """Two-sided Wilcoxon signed-rank tests of UA between every pair of methods over matched runs."""
    scores = {v: {(r["corpus"], r["fold"], r["seed"]): float(r["metrics"]["ua"]) for r in recs}
              for v, recs in in_recipe_order(records).items()}
    rows = []
    for a, b in combinations(scores, 2):
        keys = sorted(set(scores[a]) & set(scores[b]))
        if not keys:
            continue
        xa, xb = [scores[a][k] for k in keys], [scores[b][k] for k in keys]
        test = paired_wilcoxon(xa, xb)
        p = test["p_value"]
        rows.append({"Method A": a, "Method B": b, "Pairs": len(keys), "UA B - A": float(np.mean(xb) - np.mean(xa)),
                     "Statistic": test["statistic"], "p (two-sided)": p,
                     f"Significant (p < {level:g})": "yes" if p is not None and p < level else "no",
                     "Note": test["reason"] or ""})
    return pd.DataFrame(rows)


def confusions(records: Sequence[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """Per method, the percent confusion matrix of predictions pooled over folds (paper order N, H, S, A)."""
    from .embedding import confusion_percent

    out = {}
    for variant, recs in in_recipe_order(records).items():
        t = [y for r in recs for y in _names(r, r["y_true"])]
        p = [y for r in recs for y in _names(r, r["y_pred"])]
        present = set(recs[0]["labels"])
        classes = [c for c in CLASSES if c in present] + [c for c in recs[0]["labels"] if c not in CLASSES]
        out[variant] = confusion_percent(t, p, classes).reset_index()
    return out


def _embedding_file(rec: dict[str, Any], out_dir: Path, cfg: dict[str, Any]) -> Path | None:
    rel = rec.get("embedding")
    if not rel:
        return None
    roots = [Path(cfg["rundir"])] if cfg.get("rundir") else []
    roots += [Path(out_dir).parent, Path(out_dir)]
    cands = [root / rel for root in roots] + ([Path(rec["embedding_abs"])] if rec.get("embedding_abs") else [])
    return next((c for c in cands if c.is_file()), None)


def tsne_figures(records: Sequence[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> tuple[list[Path], list[str]]:
    """t-SNE PNGs of stored test embeddings; returns (plot paths, notes)."""
    from .embedding import tsne_png

    variants = in_recipe_order(records)
    have = {v: next((r for r in recs if r.get("embedding")), None) for v, recs in variants.items()}
    have = {v: r for v, r in have.items() if r is not None}
    if not have:
        return [], ["No t-SNE figure: no run stored test embeddings; set `report: {embeddings: true}` and "
                    "`bundle: first_fold` in the recipe and run it again."]
    # networks trained end to end have the trainer's grid; the network + ELM systems (history only) do not
    torch_models = {v: r for v, r in have.items() if r.get("grid")} or have
    key = "val" if cfg.get("select") == "validation" else "metrics"
    best = max(torch_models, key=lambda v: np.mean([r.get(key, {}).get("ua", 0.0) for r in variants[v]]))
    chosen = list(have) if cfg.get("tsne") == "all" else [best]
    paths, notes = [], []
    for v in chosen:
        rec = have[v]
        f = _embedding_file(rec, out_dir, cfg)
        if f is None:
            notes.append(f"No t-SNE figure for {v}: {rec['embedding']} not found next to the report "
                         f"(pass the run folder as report option `rundir`).")
            continue
        feats = np.load(f)
        labels = [HEADERS.get(y, y) for y in _names(rec, rec["y_true"])]
        stem = "".join(c if c.isalnum() else "_" for c in v).strip("_").lower()
        path = Path(out_dir) / f"tsne_{stem}.png"
        colours = [HEADERS[c] for c in CLASSES]
        tsne_png(feats, labels, path, title=f"{v} (fold {rec['fold']}, test)",
                 classes=colours + sorted(set(labels) - set(colours)), seed=int(cfg.get("tsne_seed", 0)))
        paths.append(path)
    notes.append(f"t-SNE of the top fully-connected layer for {', '.join(chosen)} (fold 0 test utterances; "
                 f"best torch model by mean {'validation' if key == 'val' else 'test'} UA: {best}).")
    return paths, notes


@LAYOUTS.register("cnn3d_tables")
def cnn3d_tables(records: list[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> Report:
    """Tables 1, 3, 4, 5 and the t-SNE figure of Kim et al. (ACII 2017); see the module docstring."""
    published = bool(cfg.get("published"))
    report = Report(title="3D CNNs for speech emotion recognition: pooled corpora, four classes")
    report.tables["Table 1: corpora"] = table1(records)
    if published:
        report.tables["Table 1 (published)"] = pd.DataFrame(
            [{"Corpus": c, "Speakers": v[0], **{HEADERS[k]: n for k, n in zip(CLASSES, v[1:])}, "Total": sum(v[1:])}
             for c, v in PUBLISHED_TABLE1.items()])
    t3 = table3(records, published)
    if not t3.empty:
        report.tables["Table 3: UA per 3D kernel resolution"] = t3
    report.tables["Table 4: UA per method"] = table4(records, published)
    tests = wilcoxon_table(records)
    if not tests.empty:
        report.tables["Wilcoxon signed-rank tests between methods"] = tests
    for variant, df in confusions(records).items():
        report.tables[f"Table 5: {variant} (%)"] = df
    if published:
        tags = [HEADERS[c][0].upper() for c in CLASSES]
        for method, rows in PUBLISHED_TABLE5.items():
            report.tables[f"Table 5 (published): {method} (%)"] = pd.DataFrame(
                [{"true": t, **dict(zip(tags, row))} for t, row in zip(tags, rows)])
    if cfg.get("tsne", True):
        plots, notes = tsne_figures(records, cfg, out_dir)
        report.plots += plots
        report.text += notes
    protocol = records[0].get("protocol", {}).get("config", {})
    report.text.insert(0, (
        f"Protocol: {protocol.get('kind')} with {protocol.get('folds')} folds (seed {protocol.get('seed')}), "
        "speakers split per corpus and merged; UA mean ± sample std over folds; Table 1 counts the test "
        "partitions over all folds; confusion matrices pool the test predictions of all folds; parameter "
        "counts exclude the ELM."
        + (" Rows and tables marked '(published)' are the paper's printed figures, not results of this run."
           if published else "")))
    return report
