"""The records committed under results/ (the evidence behind docs/results.md) stay readable results folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emoconv.experiments.store import ResultsStore

ROOT = Path(__file__).resolve().parents[1] / "results"
# a folder of its own, or one level down (benchmarks/strong_recipe.py keeps CORPUS-ecnet and CORPUS-svm in one)
FOLDERS = sorted(p.parent for p in [*ROOT.glob("*/recipe.json"), *ROOT.glob("*/*/recipe.json")]) if ROOT.is_dir() else []


@pytest.mark.skipif(not FOLDERS, reason="no results folder committed")
@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_committed_results_folder_is_whole(folder):
    meta = json.loads((folder / "recipe.json").read_text())
    assert {"hash", "recipe", "corpora"} <= set(meta)
    assert (folder / ".emoconv-run").is_file(), "emoconv run refuses a folder without its marker"
    records, invalid = ResultsStore(folder).scan()
    assert not invalid, f"{folder.name}: record files that do not validate: {invalid[:3]}"
    for rec in records:
        assert rec["corpus"] in meta["corpora"] and rec["recipe"] == meta["recipe"]["name"]
        assert len(rec["y_true"]) == len(rec["y_pred"]) == len(rec["utterances"]) > 0
    for forbidden in ("*.wav", "*.flac", "*.npy", "*.pt", "*.safetensors"):  # figures only, never audio or features
        assert not list(folder.rglob(forbidden)), f"{folder.name} holds {forbidden} files"
