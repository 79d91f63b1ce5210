"""The MTS recipes: quick runs end to end at a tiny size; Table 1 parses and plans the paper's grid."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from emoconv.cli import main
from emoconv.experiments import load_recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "mts"


def test_quick_recipe_end_to_end_tiny(tmp_path):
    overrides = ["corpora.builtin.builtin.n_speakers=4", "corpora.builtin.builtin.utterances_per_class=2",
                 "corpora.builtin.builtin.min_duration_s=1.0", "corpora.builtin.builtin.max_duration_s=1.2",
                 "protocol.folds=2", "train.max_epochs=1", "train.weight_decay_grid=[0.0]",
                 "features.n_mels=16", "train.progress=false"]
    env = {"EMOCONV_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(RECIPES / "quick.yaml"), *overrides, "--out", str(out), "--quiet"],
                             env=env)
    assert res.exit_code == 0, res.output
    records = [json.loads(p.read_text()) for p in (out / "results").glob("*.json")]
    assert len(records) == 3 * 3 * 2  # (A1, A2, A3) x (standard + 2 scale sets) x 2 folds
    res = CliRunner().invoke(main, ["report", str(out)], env=env)
    assert res.exit_code == 0, res.output
    text = (out / "report" / "report.md").read_text()
    assert "| A1 acc |" in text.replace(" | A1 UA", " | A1 UA") and "Wilcoxon" in text
    mts_rows = [r for r in records if r["params"]["conv"] == "mts"]
    assert all(abs(sum(r["branch_usage"]["mean"].values()) - 1) < 1e-6 for r in mts_rows)
    assert all(set(r["branch_usage"]["effective_branches"]) == set(r["branch_usage"]["per_layer"])
               for r in mts_rows)


def test_table1_recipe_plans_the_paper_grid():
    recipe = load_recipe(RECIPES / "table1.yaml", ["corpora.emodb.path=/data/EMODB"])
    assert list(recipe.corpora) == ["emodb", "ravdess", "tess", "iemocap"]
    # the paper's N = 5531: four classes with excited merged into happy (the authors' preprocessing)
    assert recipe.corpora["iemocap"].options == {"four_class": True, "merge_excited": True}
    variants = [v for m in recipe.models for v in m.variants()]
    assert len(variants) == 4 * (1 + 11)  # 4 architectures x (standard + 11 scale sets)
    assert recipe.input_for("iemocap").length == "segment" and recipe.input_for("emodb").length == "pad"
    assert recipe.protocol_for("tess").val_within_train == 0.2
    assert recipe.features.kind == "stft" and recipe.features.win_ms == 20
