"""A changed corpus is new work: its fingerprint is in every run key, and a folder made on the old
content is refused with one line instead of mixing records."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import yaml
from click.testing import CliRunner

from emoconv.cli import main


def _corpus(root, labels):
    rows = ["path,speaker,label"]
    rng = np.random.default_rng(0)
    for spk in ("a", "b", "c", "d"):
        for lab in labels:
            for k in range(2):
                p = root / f"{spk}_{lab}_{k}.wav"
                if not p.exists():
                    sf.write(p, (0.1 * rng.standard_normal(4000)).astype(np.float32), 8000)
                rows.append(f"{p.name},{spk},{lab}")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")


def _setup(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _corpus(corpus, ["anger", "sadness"])
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "touch", "corpora": {"manifest": {"path": str(corpus)}},
        "features": {"kind": "logmel", "n_mels": 16, "hop_ms": 20, "sample_rate": 8000},
        "protocol": {"kind": "kfold", "folds": 2, "seed": 0},
        "models": [{"name": "mts.a1", "params": {"conv": "standard"}}],
        "train": {"max_epochs": 1, "patience": 1, "batch_size": 8, "progress": False}}))
    return corpus, recipe, {"EMOCONV_CACHE": str(tmp_path / "cache")}


def test_adding_files_and_a_class_is_refused_not_mixed(tmp_path):
    corpus, recipe, env = _setup(tmp_path)
    out = tmp_path / "run"
    first = CliRunner().invoke(main, ["run", str(recipe), "--out", str(out), "--quiet"], env=env)
    assert first.exit_code == 0, first.output
    keys = {p.name for p in (out / "results").glob("*.json")}
    _corpus(corpus, ["anger", "sadness", "happiness"])  # 16 -> 24 files, a new class
    again = CliRunner().invoke(main, ["run", str(recipe), "--out", str(out), "--quiet"], env=env)
    assert again.exit_code == 2
    assert "corpus manifest has changed" in again.output and "16 -> 24 files" in again.output
    assert "happiness" in again.output
    assert {p.name for p in (out / "results").glob("*.json")} == keys  # nothing mixed in
    fresh = CliRunner().invoke(main, ["run", str(recipe), "--out", str(tmp_path / "run2"), "--quiet"], env=env)
    assert fresh.exit_code == 0, fresh.output
    assert not keys & {p.name for p in (tmp_path / "run2" / "results").glob("*.json")}  # new content, new keys


def test_copied_files_with_new_times_are_the_same_corpus_but_new_content_is_not(tmp_path):
    import os

    corpus, recipe, env = _setup(tmp_path)
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(recipe), "--out", str(out), "--quiet"], env=env).exit_code == 0
    keys = {p.name for p in (out / "results").glob("*.json")}
    for wav in corpus.glob("*.wav"):  # as after cp / rsync without -t: same bytes, new modification times
        os.utime(wav, ns=(1_000_000_000, 1_000_000_000))
    again = CliRunner().invoke(main, ["run", str(recipe), "--out", str(out), "--quiet"], env=env)
    assert again.exit_code == 0 and "already done" in again.output, again.output
    assert {p.name for p in (out / "results").glob("*.json")} == keys
    first = sorted(corpus.glob("*.wav"))[0]  # same size, other samples: new content
    data, sr = sf.read(first, dtype="float32")
    sf.write(first, -data, sr)
    changed = CliRunner().invoke(main, ["run", str(recipe), "--out", str(out), "--quiet"], env=env)
    assert changed.exit_code == 2 and "corpus manifest has changed" in changed.output


def test_a_folder_made_before_content_digests_keeps_its_run_keys(tmp_path):
    import json

    from emoconv.experiments.recipe import load_recipe
    from emoconv.experiments.runner import plan_runs
    from emoconv.experiments.store import ResultsStore
    from emoconv.experiments.workspace import Workspace

    corpus, recipe, env = _setup(tmp_path)
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(recipe), "--out", str(out), "--quiet"], env=env).exit_code == 0
    meta = json.loads((out / "recipe.json").read_text())
    assert meta["corpora"]["manifest"]["keys"] == "portable"
    del meta["corpora"]["manifest"]["keys"]  # as an older emoconv wrote it
    (out / "recipe.json").write_text(json.dumps(meta))
    store = ResultsStore(out)
    assert store.mtime_keyed_corpora() == {"manifest"}
    ws = Workspace(load_recipe(recipe), tmp_path / "cache")
    content_keys = {r.key for r in plan_runs(load_recipe(recipe), ws)}
    ws.key_schemes = store.key_schemes()
    fp = ws.fingerprint("manifest")
    old_keys = {r.key for r in plan_runs(load_recipe(recipe), ws)}
    assert fp["hash"] != fp["content"] and old_keys != content_keys
    assert old_keys == {r.config.key(fp["hash"]) for r in plan_runs(load_recipe(recipe), ws)}
    assert ResultsStore(tmp_path / "new").mtime_keyed_corpora() == set()  # a new folder: content keys


def test_adopt_runs_moves_an_old_folders_records_to_the_planned_keys(tmp_path, monkeypatch):
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    import adopt_runs

    corpus, recipe, env = _setup(tmp_path)
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(recipe), "--out", str(out), "--quiet"], env=env).exit_code == 0
    results = out / "results"
    planned = sorted(p.stem for p in results.glob("*.json"))
    for i, key in enumerate(planned):  # as if keyed by an older corpus hash
        data = json.loads((results / f"{key}.json").read_text())
        data["key"] = f"old{i:017d}"
        (results / f"{data['key']}.json").write_text(json.dumps(data))
        (results / f"{key}.json").unlink()
    assert adopt_runs.main([str(recipe), str(out)]) == 0  # dry run: nothing moved
    assert sorted(p.stem for p in results.glob("*.json")) == [f"old{i:017d}" for i in range(len(planned))]
    monkeypatch.setenv("EMOCONV_CACHE", env["EMOCONV_CACHE"])
    assert adopt_runs.main([str(recipe), str(out), "--apply"]) == 0
    assert sorted(p.stem for p in results.glob("*.json")) == planned
    assert all(json.loads((results / f"{k}.json").read_text())["adopted_from"].startswith("old") for k in planned)
    again = CliRunner().invoke(main, ["run", str(recipe), "--out", str(out), "--quiet"], env=env)
    assert again.exit_code == 0 and f"0 runs finished, {len(planned)} already done" in again.output, again.output
    other = tmp_path / "other.yaml"
    other.write_text(recipe.read_text().replace("max_epochs: 1", "max_epochs: 2"))
    with pytest.raises(SystemExit, match="another recipe"):
        adopt_runs.main([str(other), str(out)])


def test_a_moved_corpus_keeps_its_runs(tmp_path):
    import shutil

    corpus, recipe, env = _setup(tmp_path)
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(recipe), "--out", str(out), "--quiet"], env=env).exit_code == 0
    keys = {p.name for p in (out / "results").glob("*.json")}
    moved = tmp_path / "elsewhere" / "corpus"
    shutil.copytree(corpus, moved)  # another disk, a clone on another machine: new path, new times
    shutil.rmtree(corpus)
    again = CliRunner().invoke(main, ["run", str(recipe), f"corpora.manifest.path={moved}", "--out", str(out),
                                      "--quiet"], env=env)
    assert again.exit_code == 0 and "already done" in again.output, again.output
    assert {p.name for p in (out / "results").glob("*.json")} == keys


def test_folders_keyed_with_paths_keep_their_keys_and_noise_is_keyed_by_content(tmp_path):
    import shutil

    from emoconv.experiments.recipe import build_recipe
    from emoconv.experiments.runner import plan_runs
    from emoconv.experiments.workspace import Workspace

    corpus, recipe, _ = _setup(tmp_path)
    noise = tmp_path / "noise"
    noise.mkdir()
    rng = np.random.default_rng(1)
    for i in range(3):
        sf.write(noise / f"n{i}.wav", (0.1 * rng.standard_normal(8000)).astype(np.float32), 8000)
    tree = yaml.safe_load(recipe.read_text())
    tree["augment"] = {"noise_dir": str(noise), "condition": "noisy", "n_snrs": 1, "snr_range": [5, 5]}

    def keys(noise_dir, scheme="portable"):
        r = build_recipe(tree, [f"augment.noise_dir={noise_dir}"])
        ws = Workspace(r, tmp_path / "cache")
        ws.key_schemes = {"manifest": scheme}
        return {run.key for run in plan_runs(r, ws)}

    portable = keys(noise)
    copy = tmp_path / "noise-copy"
    shutil.copytree(noise, copy)
    assert keys(copy) == portable  # the same clips elsewhere: the same runs
    assert keys(copy, "content") != portable and keys(copy, "content") != keys(noise, "content")  # older folders
    data, sr = sf.read(copy / "n0.wav", dtype="float32")
    sf.write(copy / "n0.wav", -data, sr)
    assert keys(copy) != portable  # other noise samples: new work


def test_adopt_runs_append_moves_one_recipes_runs_of_a_shared_folder(tmp_path, monkeypatch):
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    import adopt_runs

    corpus, recipe, env = _setup(tmp_path)
    monkeypatch.setenv("EMOCONV_CACHE", env["EMOCONV_CACHE"])
    out = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", str(recipe), "--out", str(out), "--quiet"], env=env).exit_code == 0
    other = tmp_path / "other.yaml"  # a second recipe appended to the folder
    other.write_text(recipe.read_text().replace("max_epochs: 1", "max_epochs: 2"))
    assert CliRunner().invoke(main, ["run", str(other), "--out", str(out), "--quiet", "--append"],
                              env=env).exit_code == 0
    results = out / "results"
    for p in sorted(results.glob("*.json")):  # as if keyed by an older scheme; the other recipe's listed first
        data = json.loads(p.read_text())
        data["key"] = f"old{data['train']['max_epochs'] % 2}" + p.stem[4:]
        (results / f"{data['key']}.json").write_text(json.dumps(data))
        p.unlink()
    with pytest.raises(SystemExit, match="another recipe"):
        adopt_runs.main([str(recipe), str(out)])
    assert adopt_runs.main([str(recipe), str(out), "--apply", "--append"]) == 0
    moved = [json.loads(p.read_text()) for p in results.glob("*.json") if "adopted_from" in json.loads(p.read_text())]
    assert moved and all(r["train"]["max_epochs"] == 1 for r in moved)  # this recipe's runs, not the other's
