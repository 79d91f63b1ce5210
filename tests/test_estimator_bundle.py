"""Estimator bundles: the SVM of a run is bundled, loads from allowed types only, and predicts by its own rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("opensmile")
pytest.importorskip("skops")

from emoconv.bundle import load_bundle  # noqa: E402
from emoconv.errors import BundleError, ConfigError  # noqa: E402
from emoconv.experiments import ResultsStore, run_sweep  # noqa: E402
from emoconv.experiments.recipe import build_recipe  # noqa: E402
from emoconv.experiments.workspace import Workspace  # noqa: E402

TREE = {
    "name": "svm-bundle",
    "corpora": {"builtin": {"builtin": {"n_speakers": 3, "utterances_per_class": 3, "min_duration_s": 0.6,
                                       "max_duration_s": 0.8, "classes": ["neutral", "anger", "sadness"]}}},
    "features": {"kind": "functionals", "feature_set": "IS09"},
    "normalize": "none",
    "protocol": {"kind": "loso"},
    "bundle": "first_fold",
    "seeds": [0],
    "models": [{"name": "svm", "params": {"kernel": "linear", "C": 0.1}}],
    "train": {"progress": False, "device": "cpu"},
}


@pytest.fixture(scope="module")
def svm_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("svm") / "run"
    recipe = build_recipe(TREE)
    run_sweep(recipe, out, progress=False)
    (rec,) = [r for r in ResultsStore(out).records() if r.get("bundle")]
    return recipe, out, rec


def test_the_svm_of_a_run_is_bundled_and_predicts_its_test_speaker_as_the_run_did(svm_run):
    recipe, out, rec = svm_run
    folder = out / rec["bundle"]
    meta = json.loads((folder / "bundle.json").read_text())
    assert meta["kind"] == "estimator" and (folder / "estimator.skops").is_file()
    bundle = load_bundle(folder)
    assert bundle.estimator and bundle.info()["model"] == "svm"
    utts = {u.uid: u for u in Workspace(recipe, None, progress=False).utterances("builtin")}
    files = [utts[uid].path for uid in rec["utterances"]]  # the test speaker's files, in the record's order
    rows = bundle.predict_files(files, same_speaker=True)  # per-speaker standardisation over them: the run's rule
    assert [r["label"] for r in rows] == [rec["labels"][k] for k in rec["y_pred"]]
    assert all("note" not in r for r in rows)
    for r in rows:
        assert abs(sum(r["probabilities"].values()) - 1.0) < 1e-4
    (alone,) = bundle.predict_files(files[:1])  # one file of an unheard speaker: the training statistics
    assert alone["label"] in rec["labels"] and "training set's statistics" in alone["note"]


def test_an_estimator_bundle_refuses_what_it_cannot_do(svm_run):
    _, out, rec = svm_run
    bundle = load_bundle(out / rec["bundle"])
    with pytest.raises(BundleError, match="--timeline needs a network"):
        bundle.window_probabilities([np.zeros(16000, np.float32)])
    from emoconv.export.onnx import export_onnx

    with pytest.raises(ConfigError, match="not a network"):
        export_onnx(bundle, out / "onnx")


class Foreign:
    """A type a bundle must not make emoconv load."""

    def __init__(self) -> None:
        self.payload = [1, 2, 3]


def test_a_bundle_naming_a_foreign_type_is_refused(svm_run, tmp_path):
    import shutil

    import skops.io as sio

    _, out, rec = svm_run
    folder = tmp_path / "tampered"
    shutil.copytree(out / rec["bundle"], folder)
    sio.dump(Foreign(), folder / "estimator.skops")
    with pytest.raises(BundleError, match="does not load"):
        load_bundle(folder)
    (folder / "estimator.skops").write_bytes(b"not a zip file")
    with pytest.raises(BundleError, match="damaged estimator"):
        load_bundle(folder)
    (folder / "estimator.skops").unlink()
    with pytest.raises(BundleError, match="needs estimator.skops"):
        load_bundle(folder)


def test_emoconv_train_ships_the_svm(tmp_path, monkeypatch):
    """``emoconv train --recipe`` with the SVM: cross-validation, then one fit on every speaker, bundled."""
    import yaml
    from click.testing import CliRunner

    from emoconv.cli import main
    from test_train_cli import _emovo

    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    corpus = _emovo(tmp_path / "emovo")
    tree = {k: v for k, v in TREE.items() if k not in ("corpora", "bundle")}
    tree["corpora"] = {"emovo": {"path": None}}
    recipe = tmp_path / "svm.yaml"
    recipe.write_text(yaml.safe_dump(tree))
    out = tmp_path / "model"
    res = CliRunner().invoke(main, ["train", "emovo", str(corpus), "--recipe", str(recipe), "--out", str(out),
                                    "--workdir", str(tmp_path / "work"), "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["model"] == "svm" and summary["final_epochs"] == 0 and len(summary["folds"]) == 3
    assert "fitted once on every speaker" in res.output
    text = CliRunner().invoke(main, ["predict", str(out), "--info"]).output
    assert "trained on all 3 speakers (fitted once)" in text
    wavs = sorted(corpus.rglob("*.wav"))[:3]
    pred = CliRunner().invoke(main, ["predict", str(out), *map(str, wavs), "--same-speaker", "--json"])
    assert pred.exit_code == 0, pred.output
    assert len(json.loads(pred.output)) == 3


def test_a_network_elm_run_is_bundled_and_predicts_its_test_speaker_as_the_run_did(tmp_path):
    """DNN-ELM: the ELM goes to estimator.skops, the frame network and its input statistics to the weights."""
    tree = {**TREE, "name": "elm-bundle", "features": {"kind": "lld"}, "input": {"length": "variable"},
            "models": [{"name": "cnn3d.base.dnn_elm", "params": {"hidden": 8, "epochs": 2, "elm_hidden": 16}}]}
    recipe = build_recipe(tree)
    run_sweep(recipe, tmp_path / "run", progress=False)
    (rec,) = [r for r in ResultsStore(tmp_path / "run").records() if r.get("bundle")]
    folder = tmp_path / "run" / rec["bundle"]
    meta = json.loads((folder / "bundle.json").read_text())
    assert meta["kind"] == "estimator" and meta["estimator_state"] is True
    bundle = load_bundle(folder)
    assert bundle.estimator and type(bundle.model).__name__ == "NetworkELM"
    utts = {u.uid: u for u in Workspace(recipe, None, progress=False).utterances("builtin")}
    rows = bundle.predict_files([utts[uid].path for uid in rec["utterances"]])
    assert [r["label"] for r in rows] == [rec["labels"][k] for k in rec["y_pred"]]
    got = np.array([[r["probabilities"][lab] for lab in rec["labels"]] for r in rows])
    np.testing.assert_allclose(got, np.array(rec["probs"]), atol=1e-4)
