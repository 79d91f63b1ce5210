"""End to end through the CLI on a tiny built-in corpus: run, resume, report, predict, and bad input."""

from __future__ import annotations

import json
import shutil

import pytest
import soundfile as sf
import yaml
from click.testing import CliRunner

from emoconv.cli import main

TINY = {
    "name": "tiny",
    "corpora": {"builtin": {"builtin": {"n_speakers": 4, "utterances_per_class": 3, "min_duration_s": 1.0,
                                        "max_duration_s": 1.2, "seed": 3}}},
    "features": {"kind": "logmel", "n_mels": 16, "hop_ms": 20},
    "protocol": {"kind": "kfold", "folds": 2, "seed": 0},
    "models": [{"name": "mts.a1", "label": "std", "params": {"conv": "standard"}},
               {"name": "mts.a1", "label": "mts", "params": {"conv": "mts", "scales": [0.5, 1, 2]}}],
    "train": {"max_epochs": 2, "patience": 1, "batch_size": 8, "progress": False},
    "bundle": "first_fold",
}


@pytest.fixture(scope="module")
def experiment(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    recipe = root / "tiny.yaml"
    recipe.write_text(yaml.safe_dump(TINY))
    runner = CliRunner()
    env = {"EMOCONV_CACHE": str(root / "cache")}
    res = runner.invoke(main, ["run", str(recipe), "--out", str(root / "run"), "--quiet"], env=env)
    assert res.exit_code == 0, res.output
    return root, recipe, env


def test_run_writes_one_record_per_run_with_protocol(experiment):
    root, _, _ = experiment
    records = [json.loads(p.read_text()) for p in sorted((root / "run" / "results").glob("*.json"))]
    assert len(records) == 4  # 2 models x 2 folds
    for r in records:
        fold = r["protocol"]["fold"]
        assert set(fold["test_speakers"]).isdisjoint(fold["train_speakers"] + fold["val_speakers"])
        assert r["version"] and r["metrics"]["n"] == len(r["y_true"])
    assert sum(1 for r in records if r["branch_usage"]) == 2
    assert len(list((root / "run" / "bundles").iterdir())) == 2  # first fold of each model


def test_rerun_skips_finished_runs(experiment):
    root, recipe, env = experiment
    before = {p.name: p.stat().st_mtime_ns for p in (root / "run" / "results").glob("*.json")}
    res = CliRunner().invoke(main, ["run", str(recipe), "--out", str(root / "run"), "--quiet"], env=env)
    assert res.exit_code == 0, res.output
    assert "0 runs finished, 4 already done" in res.output
    assert before == {p.name: p.stat().st_mtime_ns for p in (root / "run" / "results").glob("*.json")}


def test_changed_recipe_refuses_the_old_folder(experiment):
    root, recipe, env = experiment
    res = CliRunner().invoke(main, ["run", str(recipe), "train.max_epochs=3", "--out", str(root / "run")], env=env)
    assert res.exit_code == 2
    assert "holds results of a different recipe" in res.output


def test_report_writes_tables_and_plots(experiment):
    root, _, _ = experiment
    res = CliRunner().invoke(main, ["report", str(root / "run")])
    assert res.exit_code == 0, res.output
    out = root / "run" / "report"
    assert {"report.md", "summary.csv", "summary.tex"} <= {p.name for p in out.iterdir()}
    assert any(p.suffix == ".png" for p in out.iterdir())
    assert "| std |" in (out / "report.md").read_text() or "std" in (out / "summary.csv").read_text()


def test_predict_json(experiment):
    root, _, env = experiment
    bundle = sorted((root / "run" / "bundles").iterdir())[0]
    wav = next((root / "cache" / "builtin").rglob("*.wav"))
    res = CliRunner().invoke(main, ["predict", str(bundle), str(wav), "--json"], env=env)
    assert res.exit_code == 0, res.output
    [pred] = json.loads(res.output)
    assert pred["label"] in pred["probabilities"]
    assert sum(pred["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)


def test_predict_rejects_corrupted_and_incompatible_bundles(experiment, tmp_path):
    root, _, env = experiment
    src = sorted((root / "run" / "bundles").iterdir())[0]
    wav = next((root / "cache" / "builtin").rglob("*.wav"))
    bad = tmp_path / "bad"
    shutil.copytree(src, bad)
    (bad / "weights.safetensors").write_bytes(b"garbage")
    res = CliRunner().invoke(main, ["predict", str(bad), str(wav)], env=env)
    assert res.exit_code == 2 and "corrupted weights" in res.output
    old = tmp_path / "old"
    shutil.copytree(src, old)
    meta = json.loads((old / "bundle.json").read_text())
    meta["emoconv_version"] = "9.9.0"
    (old / "bundle.json").write_text(json.dumps(meta))
    res = CliRunner().invoke(main, ["predict", str(old), str(wav)], env=env)
    assert res.exit_code == 2 and "made by emoconv 9.9.0" in res.output


def test_predict_unreadable_audio_is_one_line(experiment, tmp_path):
    root, _, env = experiment
    bundle = sorted((root / "run" / "bundles").iterdir())[0]
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    res = CliRunner().invoke(main, ["predict", str(bundle), str(junk)], env=env)
    assert res.exit_code == 2
    assert "junk.wav" in res.output and "Traceback" not in res.output


def test_predict_scores_every_readable_file_and_names_each_bad_one(experiment, tmp_path):
    root, _, env = experiment
    bundle = sorted((root / "run" / "bundles").iterdir())[0]
    wav = next((root / "cache" / "builtin").rglob("*.wav"))
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    res = CliRunner().invoke(main, ["predict", str(bundle), str(wav), str(junk), "--json"], env=env)
    assert res.exit_code == 2
    rows = json.loads(res.stdout)
    assert rows[0]["label"] in rows[0]["probabilities"] and "junk.wav" in rows[1]["error"]
    assert res.stderr.count("\n") == 1 and "junk.wav" in res.stderr


def test_predict_refuses_non_finite_weights(experiment, tmp_path):
    from safetensors.torch import load_file, save_file

    root, _, env = experiment
    src = sorted((root / "run" / "bundles").iterdir())[0]
    wav = next((root / "cache" / "builtin").rglob("*.wav"))
    nan = tmp_path / "nan"
    shutil.copytree(src, nan)
    tensors = load_file(str(nan / "weights.safetensors"))
    name = next(k for k, v in tensors.items() if v.is_floating_point())
    tensors[name] = tensors[name].clone().fill_(float("nan"))
    save_file(tensors, str(nan / "weights.safetensors"))
    res = CliRunner().invoke(main, ["predict", str(nan), str(wav), "--json"], env=env)
    assert res.exit_code == 2 and "non-finite" in res.output and "NaN," not in res.output


@pytest.mark.parametrize("override, message", [
    ("corpora.builtin.path=/nonexistent/corpus", "/nonexistent/corpus"),
    ("train.max_epoch=3", "unknown key"),
    ("protocol.folds=9", "protocol.folds=9"),
])
def test_bad_input_exits_with_one_line(experiment, tmp_path, override, message):
    _, recipe, env = experiment
    res = CliRunner().invoke(main, ["run", str(recipe), override, "--out", str(tmp_path / "x"), "--quiet"], env=env)
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert not (tmp_path / "x").exists()  # nothing written for a run that cannot start


def test_inspect_counts_and_problems(tmp_path):
    (tmp_path / "wav").mkdir()
    from testaudio import tone

    sf.write(tmp_path / "wav" / "03a01Fa.wav", tone(0.2), 16000)
    (tmp_path / "wav" / "03a01Xa.wav").write_bytes(b"x")
    res = CliRunner().invoke(main, ["datasets", "inspect", "emodb", str(tmp_path), "--json"])
    data = json.loads(res.output)
    assert data["n_utterances"] == 1 and len(data["problems"]) >= 1
    res = CliRunner().invoke(main, ["datasets", "inspect", "emodb", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "missing" in res.output


def test_retry_advice_only_for_transient_failures():
    from emoconv.cli import _transient

    assert _transient("worker 1 (pid 12) was killed by SIGKILL (kill -9 or out of memory); gave up after 3 attempts")
    assert _transient("MemoryError: cannot allocate")
    assert not _transient("RuntimeError: Calculated padded input size per channel: (1 x 40). Kernel size: (10 x 5)")
    assert not _transient("ValueError: bad shape")


def test_a_paper_layout_refuses_runs_without_its_models(experiment, tmp_path):
    root, _, _ = experiment
    res = CliRunner().invoke(main, ["report", str(root / "run"), "--layout", "mdcnn_ablation", "--out",
                                    str(tmp_path / "rep")])
    assert res.exit_code == 2 and "mdcnn" in res.output and "mts.a1" in res.output
    assert not (tmp_path / "rep").exists()
    res = CliRunner().invoke(main, ["report", str(root / "run"), "--layout", "mts_table1", "--out",
                                    str(tmp_path / "rep2")])
    assert res.exit_code == 0, res.output


@pytest.mark.parametrize("what", ["recipe_json", "status_list", "status_partial", "report_out_file"])
def test_damaged_folder_files_are_one_line(experiment, tmp_path, what):
    root, _, env = experiment
    run = tmp_path / "run"
    shutil.copytree(root / "run", run)
    if what == "recipe_json":
        (run / "recipe.json").write_text("{garbage")
        res = CliRunner().invoke(main, ["report", str(run)], env=env)
    elif what == "report_out_file":
        (tmp_path / "file").write_text("x")
        res = CliRunner().invoke(main, ["report", str(run), "--out", str(tmp_path / "file")], env=env)
    else:
        (run / "status.json").write_text("[1, 2]" if what == "status_list" else '{"state": "running"}')
        res = CliRunner().invoke(main, ["status", str(run)], env=env)
        if what == "status_list":
            assert res.exit_code == 0 and "no sweep status" in res.output
            return
    assert res.exit_code == 2 and "Traceback" not in res.output and res.output.count("\n") == 1, res.output


@pytest.mark.parametrize("field, value, message", [
    ("input_shape", ["a", 2], "input_shape must be a list of positive integers"),
    ("frames", 2.5, "frames must be a positive integer"),
    ("labels", "anger", "labels must be a list"),
])
def test_bundle_metadata_of_the_wrong_type_is_one_line(experiment, tmp_path, field, value, message):
    root, _, env = experiment
    src = sorted((root / "run" / "bundles").iterdir())[0]
    wav = next((root / "cache" / "builtin").rglob("*.wav"))
    bad = tmp_path / "b"
    shutil.copytree(src, bad)
    meta = json.loads((bad / "bundle.json").read_text())
    meta[field] = value
    (bad / "bundle.json").write_text(json.dumps(meta))
    res = CliRunner().invoke(main, ["predict", str(bad), str(wav)], env=env)
    assert res.exit_code == 2 and message in res.output and "Traceback" not in res.output
    (bad / "bundle.json").write_text("[1, 2, 3]")
    res = CliRunner().invoke(main, ["predict", str(bad), str(wav)], env=env)
    assert res.exit_code == 2 and "must be a JSON object" in res.output
