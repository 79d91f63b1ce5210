import json

import pytest

from emoconv.errors import ConfigError
from emoconv.experiments.store import ResultsStore


def _rec(key, ua=0.5):
    return {"key": key, "corpus": "c", "model": "m", "variant": "v", "fold": 0, "seed": 0,
            "metrics": {"accuracy": ua, "ua": ua, "wa": ua, "macro_f1": ua}}


def test_records_are_the_truth_and_index_is_rebuilt(tmp_path):
    store = ResultsStore(tmp_path)
    store.write(_rec("a"))
    store.write(_rec("b", 0.7))
    (tmp_path / "index.csv").write_text("torn")
    store.rebuild_index()
    lines = (tmp_path / "index.csv").read_text().splitlines()
    assert lines[0].startswith("key,corpus") and len(lines) == 3
    assert store.has("a") and not store.has("c")


def test_success_clears_failure(tmp_path):
    store = ResultsStore(tmp_path)
    store.write_failure("a", {"error": "boom"})
    assert [f["key"] for f in store.failures()] == ["a"]
    store.write(_rec("a"))
    assert store.failures() == []


def test_folder_of_other_recipe_is_refused(tmp_path):
    store = ResultsStore(tmp_path)
    store.bind_recipe({"name": "x"}, "h1")
    store.write(_rec("a"))
    with pytest.raises(ConfigError, match="different recipe"):
        store.bind_recipe({"name": "x", "changed": 1}, "h2")
    store.bind_recipe({"name": "x", "changed": 1}, "h2", allow_other=True)
    assert json.loads((tmp_path / "recipe.json").read_text())["hash"] == "h2"
