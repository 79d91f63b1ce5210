"""Module-wise analysis of a finished convolution-type study (Huang & Narayanan, Table 5 and the LDA grids).

An experiment on saved models, so it lives beside the runner: it reads a run folder's bundles, passes the
corpus through each model's modules and trains an SVM per module on the run's own fold (the fold rebuilt
from the protocol recorded with the run, then checked against the record's speakers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..config import from_dict
from ..errors import ConfigError, ProtocolError
from ..fileio import atomic_write_json, atomic_write_text
from ..protocol import Fold, ProtocolConfig, make_folds
from ..reports.base import to_markdown

__all__ = ["analyze_run"]


def _fold_of(record: dict[str, Any], utterances: Sequence[Any]) -> Fold:
    """The run's fold, from the protocol recorded with it (per-model overrides included), speakers asserted."""
    cfg = from_dict(ProtocolConfig, dict(record["protocol"]["config"]), "protocol")
    fold = make_folds(utterances, cfg)[record["fold"]]
    want = record["protocol"].get("fold", {})
    for part in ("train", "val", "test"):
        listed = want.get(f"{part}_speakers")
        if listed is not None and sorted(listed) != sorted(getattr(fold, f"{part}_speakers")):
            raise ProtocolError(f"run {record['key']}: the corpus no longer splits into the recorded fold "
                                f"({part} speakers differ); rerun the recipe before the analysis")
    return fold


def analyze_run(rundir: str | Path, out: str | Path | None = None, condition: str = "clean",
                **svm_params: Any) -> tuple[dict[str, Any], Path]:
    """Module-wise analysis of every saved CLDNN/LDNN bundle of ``rundir`` (Table 5, Fig. 2-style grids).

    For each bundle (runs of ``condition``; all runs when the recipe has no noise conditions) the
    corpus features are re-read (cache), normalised with the bundle's normaliser, passed through the
    model (:func:`emoconv.models.cldnn.extract_module_outputs`); an SVM is trained per module on the
    run's own fold (train / val / test, speaker-independent) and an LDA grid of the training
    partition is drawn (emotion / speaker / gender x CNN / BLSTM / MLP) with rho per cell.
    Writes ``modulewise.json``, ``table5.md`` and ``lda_<key>.png`` to ``out`` (default RUNDIR/analysis).
    """
    from ..bundle import load_bundle
    from ..models.cldnn import extract_module_outputs
    from ..reports.modulewise import lda_grid, modulewise_table, modulewise_ua
    from .recipe import build_recipe
    from .store import ResultsStore
    from .workspace import Workspace

    store = ResultsStore(rundir)
    meta = store.root / "recipe.json"
    if not meta.is_file():
        raise ConfigError(f"{store.root}: no recipe.json; pass the folder 'emoconv run' wrote")
    recipe = build_recipe(json.loads(meta.read_text())["recipe"], where=str(meta))
    recs = [r for r in store.records() if r.get("bundle") and r["model"] == "cldnn"]
    if any(r.get("condition") for r in recs):
        recs = [r for r in recs if r.get("condition") == condition]
    if not recs:
        raise ConfigError(f"{store.root}: no saved CLDNN/LDNN models (condition {condition}); run the recipe "
                          "with bundle: first_fold (or all)")
    out_dir = Path(out) if out else store.root / "analysis"
    ws = Workspace(recipe)
    params = {"kernel": "linear", "C": 1.0, **svm_params}
    result: dict[str, Any] = {"condition": condition, "svm": params, "models": {}}
    for r in sorted(recs, key=lambda r: (r.get("variant_order", 0), r["corpus"], r["fold"])):
        b = load_bundle(store.root / r["bundle"])
        utts = ws.utterances(r["corpus"])
        feats = ws.features(r["corpus"], b.features)
        spk = [u.speaker for u in utts]
        norm = b.normalizer  # the training rule: per-speaker statistics for a per-speaker normaliser
        x = norm.transform_many(feats, spk) if norm is not None and norm.mode != "none" else list(feats)
        reps = extract_module_outputs(b.model, [b.pipeline.shape_one(f) for f in x])
        index = {lab: i for i, lab in enumerate(r["labels"])}
        y = np.array([index[u.label] for u in utts])
        fold = _fold_of(r, utts)
        ua = modulewise_ua(reps, y, spk, train_idx=fold.train, test_idx=fold.test, val_idx=fold.val,
                           n_classes=len(r["labels"]), **params)
        tr = np.sort(np.asarray(fold.train, dtype=np.int64))
        label = r["variant"] if len({q["corpus"] for q in recs}) == 1 else f"{r['variant']} [{r['corpus']}]"
        plot = f"lda_{r['key']}.png"
        rhos = lda_grid({m: v[tr] for m, v in reps.items() if m != "raw"},
                        {"emotion": [utts[i].label for i in tr], "speaker": [spk[i] for i in tr],
                         "gender": [utts[i].gender for i in tr]}, out_dir / plot, title=label)
        result["models"][label] = {"ua": ua, "rho": rhos, "plot": plot, "run_key": r["key"], "fold": r["fold"]}
    atomic_write_json(out_dir / "modulewise.json", result)
    table = modulewise_table({k: v["ua"] for k, v in result["models"].items()})
    atomic_write_text(out_dir / "table5.md", "# Module-wise UA (%) (Table 5 layout)\n\n"
                      + to_markdown(table.reset_index(names="model")) + "\n")
    return result, out_dir
