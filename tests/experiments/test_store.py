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
    meta = json.loads((tmp_path / "recipe.json").read_text())
    assert meta["hash"] == "h2" and meta["appended"] == [{"hash": "h1", "recipe": {"name": "x"}}]
    store.bind_recipe({"name": "x"}, "h1", allow_other=True)  # back to the first version: the second is listed
    meta = json.loads((tmp_path / "recipe.json").read_text())
    assert meta["hash"] == "h1" and meta["appended"] == [{"hash": "h2", "recipe": {"name": "x", "changed": 1}}]
    store.bind_recipe({"name": "x"}, "h1")  # the same version again: nothing changes
    assert json.loads((tmp_path / "recipe.json").read_text())["appended"] == meta["appended"]


@pytest.mark.parametrize("content", [b"", b"{", b"[1, 2]", b'{"key": "a"}', b'{"key": "other", "corpus": "c", '
                                     b'"model": "m", "metrics": {"ua": 0.5, "accuracy": 0.5}}', b"\xff\xfe"])
def test_a_record_that_does_not_parse_and_validate_is_not_a_finished_run(tmp_path, content):
    store = ResultsStore(tmp_path)
    store.write(_rec("b"))
    (tmp_path / "results" / "a.json").write_bytes(content)
    assert not store.has("a") and store.has("b")
    assert store.invalid_keys() == ["a"] and [r["key"] for r in store.records()] == ["b"]


def test_folder_lock_refuses_a_second_writer_and_a_killed_holder_releases_it(tmp_path):
    import subprocess
    import sys
    import time

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from emoconv.experiments.store import ResultsStore; "
        f"ResultsStore({str(tmp_path / 'run')!r}).claim(); print('held', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ConfigError, match=rf"in use by another emoconv run \(pid {holder.pid}\)"):
            ResultsStore(tmp_path / "run").claim()
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    store = ResultsStore(tmp_path / "run")
    store.claim()  # the OS dropped the dead holder's lock
    store.release()


def test_claim_accepts_only_new_empty_or_emoconv_folders(tmp_path):
    ResultsStore(tmp_path / "new").claim()
    (tmp_path / "empty").mkdir()
    ResultsStore(tmp_path / "empty").claim()
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "index.csv").write_text("my own spreadsheet")
    with pytest.raises(ConfigError, match="not an emoconv experiment folder"):
        ResultsStore(mine).claim()
    assert (mine / "index.csv").read_text() == "my own spreadsheet" and not (mine / ".lock").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="must be a folder"):
        ResultsStore(tmp_path / "file").claim()


@pytest.mark.parametrize("name", ["/tmp/elsewhere", "../up", "a/b", ".."])
def test_recipe_name_cannot_leave_runs(name):
    from types import SimpleNamespace

    from emoconv.experiments.sweep import default_rundir

    with pytest.raises(ConfigError, match="plain folder name"):
        default_rundir(SimpleNamespace(name=name))


def test_a_killed_writers_temporaries_are_removed_on_the_next_start(tmp_path):
    """kill -9 during a bundle write or corpus generation: the next start leaves no temporary behind."""
    import signal
    import subprocess
    import sys

    from emoconv.fileio import remove_stale_temps, tmp_prefix

    code = ("import os, sys, tempfile, time; from pathlib import Path; from emoconv.fileio import tmp_prefix; "
            "d = Path(sys.argv[1]); t = Path(tempfile.mkdtemp(prefix=tmp_prefix(sys.argv[2]), dir=d)); "
            "(t / 'weights.safetensors').write_bytes(b'half'); print('ok', flush=True); time.sleep(60)")
    run = tmp_path / "run"
    first = ResultsStore(run)
    first.claim()  # an emoconv folder (marker), as after a first start
    first.release()
    for folder, name in ((run / "bundles", "KEY"), (tmp_path / "corpora", "builtin-x")):
        folder.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([sys.executable, "-c", code, str(folder), name], stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ok"
        assert remove_stale_temps(folder) == []  # its writer is alive: left alone
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert len(list(folder.glob(".*.tmp-*"))) == 1
    assert len(remove_stale_temps(tmp_path / "corpora")) == 1 and not list((tmp_path / "corpora").iterdir())
    store = ResultsStore(run)
    store.claim()  # a run folder's next start cleans its own folders
    assert not list((run / "bundles").iterdir())
    store.release()
    assert tmp_prefix("a").startswith(".a.tmp-")


def test_a_folder_made_before_a_training_setting_was_added_is_the_same_recipe(tmp_path):
    """Settings added since a folder was made, at their defaults, do not make it another recipe; a changed
    setting, or a folder written by another version, does."""
    from emoconv import __version__
    from emoconv.experiments.recipe import build_recipe
    from emoconv.experiments.runner import recipe_hash
    from emoconv.experiments.runconfig import same_recipe
    from emoconv.fileio import stable_hash

    tree = {"name": "x", "corpora": {"builtin": {}}, "models": [{"name": "mts.a1"}]}
    recipe = build_recipe(tree, [], where="t")
    now = json.loads(json.dumps(recipe.to_dict()))
    then = json.loads(json.dumps(now))
    del then["train"]["lr_range_by"], then["train"]["lr_range_epochs"]  # written before these existed
    old_hash = stable_hash([then, __version__])
    store = ResultsStore(tmp_path)
    store.bind_recipe(then, old_hash)
    store.write(_rec("a"))
    assert old_hash != recipe_hash(recipe)
    same = lambda stored, h: same_recipe(stored, h, now)  # noqa: E731
    store.bind_recipe(now, recipe_hash(recipe), same=same)  # accepted
    assert json.loads((tmp_path / "recipe.json").read_text())["hash"] == recipe_hash(recipe)
    changed = build_recipe(tree, ["train.lr=0.5"], where="t").to_dict()
    assert not same_recipe(then, old_hash, changed)
    assert not same_recipe(then, stable_hash([then, "0.0.1"]), now)  # another version's folder
    set_away = json.loads(json.dumps(now))
    set_away["train"]["lr_range_epochs"] = 3
    assert not same_recipe(then, old_hash, set_away)


def test_a_recipe_with_models_left_out_is_the_same_recipe():
    """models.N.skip runs part of a recipe into a folder; the whole recipe (or another part) may follow there,
    but not a recipe whose models are others."""
    from emoconv import __version__
    from emoconv.experiments.recipe import build_recipe
    from emoconv.experiments.runconfig import same_recipe
    from emoconv.fileio import stable_hash

    tree = {"name": "x", "corpora": {"builtin": {}},
            "models": [{"name": "mts.a1"}, {"name": "mts.a3"}, {"name": "mts.a4"}]}

    def plain(overrides):
        return json.loads(json.dumps(build_recipe(tree, overrides, where="t").to_dict()))

    part = plain(["models.0.skip=true", "models.2.skip=true"])
    stored = (part, stable_hash([part, __version__]))
    assert same_recipe(*stored, plain([]))  # the whole recipe after a part of it
    assert same_recipe(*stored, plain(["models.1.skip=true", "models.2.skip=true"])) is False  # disjoint parts
    assert same_recipe(*stored, plain(["models.1.skip=true"])) is False
    whole = plain([])
    assert same_recipe(whole, stable_hash([whole, __version__]), part)  # a part after the whole
    assert not same_recipe(*stored, plain(["train.lr=0.5"]))  # and the rest still has to match
