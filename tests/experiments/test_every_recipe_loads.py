"""Every recipe shipped under recipes/ loads and passes the recipe checks (models built on the meta device)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emoconv.experiments.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[2]
RECIPES = sorted((ROOT / "recipes").rglob("*.yaml"))
ESC10 = ROOT.parent / "shared" / "corpora" / "esc10"


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(ROOT / "recipes")))
def test_recipe_loads(path, tmp_path):
    text = path.read_text()
    overrides = []
    if "noise" in text and "augment" in text:  # the noisy-condition recipes need a noise folder
        noise = ESC10 if ESC10.is_dir() else tmp_path
        overrides.append(f"augment.noise_dir={noise}")
    recipe = load_recipe(str(path), overrides)
    assert recipe.name and recipe.models
