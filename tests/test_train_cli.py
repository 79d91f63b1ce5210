"""``emoconv train CORPUS PATH``: cross-validation, the final model on every speaker, the bundle, --json."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from emoconv.cli import main
from emoconv.corpora.emovo import EMOVO_EMOTIONS

SR = 16_000
SMALL = ["train.max_epochs=2", "models.0.params.channels=[4,8]", "models.0.params.hidden=8",
         "train.wave_augment.copies=1", "train.wave_augment.variants=2", "train.wave_augment.speeds=[0.9,1.1]"]


def _emovo(root, speakers=("f1", "m1", "f2")):
    rng = np.random.default_rng(0)
    for s, spk in enumerate(speakers):
        for e, code in enumerate(EMOVO_EMOTIONS):
            for sent in ("b1", "l1"):
                t = np.arange(int(0.4 * SR)) / SR
                x = 0.3 * np.sin(2 * np.pi * (150 + 60 * e + 10 * s) * t) + 0.01 * rng.standard_normal(t.size)
                path = root / spk / f"{code}-{spk}-{sent}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(str(path), x.astype(np.float32), SR)
    return root


@pytest.mark.slow
def test_train_cross_validates_then_writes_a_bundle_that_predicts(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    corpus = _emovo(tmp_path / "emovo")
    out, work = tmp_path / "model", tmp_path / "work"
    args = ["train", "emovo", str(corpus), *SMALL, "--out", str(out), "--workdir", str(work), "--json", "--quiet"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["protocol"]["kind"] == "loso"  # 3 speakers, fewer than the recipe's 6 folds
    assert len(summary["folds"]) == 3 and {f["fold"] for f in summary["folds"]} == {0, 1, 2}
    assert 0 <= summary["ua"] <= 100 and 0 <= summary["wa"] <= 100
    assert summary["final_epochs"] == 2 and summary["bundle"] == str(out)
    n_files = sum(1 for _ in corpus.rglob("*.wav"))
    cached = [p for p in (tmp_path / "cache" / "features").rglob("*") if p.is_file()]
    assert len(cached) > n_files  # the clean features plus the speed variants'

    assert "| pooled |" in res.output
    info = CliRunner().invoke(main, ["predict", str(out), "--info", "--json"])
    meta = json.loads(info.output)
    assert meta["training"]["corpus"] == "emovo" and meta["cross_validated"]["folds_finished"] == 3
    assert meta["cross_validated"]["pooled"]["ua"] == pytest.approx(summary["ua"] / 100, abs=1e-4)
    assert meta["fold_test"] is None and meta["training"]["final_model"]["epochs"] == 2
    text = CliRunner().invoke(main, ["predict", str(out), "--info"]).output
    assert "final model: trained on all 3 speakers for 2 epochs" in text and "this fold's test" not in text
    wav = next(corpus.rglob("*.wav"))
    for extra in ([], ["--same-speaker"]):
        pred = CliRunner().invoke(main, ["predict", str(out), str(wav), *extra, "--json"])
        assert pred.exit_code == 0, pred.output
        assert json.loads(pred.output)[0]["label"] in meta["labels"]
    again = CliRunner().invoke(main, args)  # resumed: the folds are not trained again
    assert again.exit_code == 0 and json.loads(again.output.strip().splitlines()[-1])["ua"] == summary["ua"]


def test_bad_input_is_one_line_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    res = CliRunner().invoke(main, ["train", "emovo", str(tmp_path / "nowhere"), "--workdir", str(tmp_path / "w")])
    assert res.exit_code != 0 and "corpus folder not found" in res.output
    corpus = _emovo(tmp_path / "emovo", speakers=("f1", "m1"))
    res = CliRunner().invoke(main, ["train", "emovo", str(corpus), "train.max_epochs=0", "--workdir",
                                    str(tmp_path / "w")])
    assert res.exit_code != 0 and "train.max_epochs" in res.output
    assert not (tmp_path / "w").exists()
    res = CliRunner().invoke(main, ["train", "emovo", str(corpus), "input.length=segment", "--workdir",
                                    str(tmp_path / "w")])
    assert res.exit_code != 0 and "input.length: segment is not supported" in res.output
    assert not (tmp_path / "w").exists()  # refused before cross-validation wrote anything


def test_the_packaged_svm_recipe_by_name_ships_an_svm_bundle(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    corpus = _emovo(tmp_path / "emovo")
    out = tmp_path / "svm-model"
    res = CliRunner().invoke(main, ["train", "emovo", str(corpus), "--recipe", "svm", "--out", str(out),
                                    "--workdir", str(tmp_path / "w"), "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["model"] == "svm" and summary["protocol"]["kind"] == "loso" and len(summary["folds"]) == 3
    assert summary["recipe"].endswith("svm.yaml") and summary["final_epochs"] == 0
    wav = next(corpus.rglob("*.wav"))
    pred = CliRunner().invoke(main, ["predict", str(out), str(wav), "--json"])
    assert pred.exit_code == 0, pred.output
    meta = json.loads(CliRunner().invoke(main, ["predict", str(out), "--info", "--json"]).output)
    assert meta["model"] == "svm" and meta["cross_validated"]["folds_finished"] == 3
    assert json.loads(pred.output)[0]["label"] in meta["labels"]
    bad = CliRunner().invoke(main, ["train", "emovo", str(corpus), "--recipe", "nosuch", "--workdir",
                                    str(tmp_path / "w2")])
    assert bad.exit_code != 0 and "not a packaged recipe (ecnet, ecnet_tracks, svm)" in bad.output


@pytest.mark.slow
def test_the_fold_ensemble_ships_the_fold_models_averaged(tmp_path, monkeypatch):
    import torch

    from emoconv.bundle import load_bundle

    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    corpus = _emovo(tmp_path / "emovo")
    out, work = tmp_path / "ens", tmp_path / "work"
    small = [a for a in SMALL if not a.startswith("train.wave_augment")]
    res = CliRunner().invoke(main, ["train", "emovo", str(corpus), *small, "--final", "fold-ensemble", "--out",
                                    str(out), "--workdir", str(work), "--json", "--quiet"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["final"] == "fold-ensemble" and summary["final_epochs"] == 0 and len(summary["folds"]) == 3
    ens = load_bundle(out)
    members = [load_bundle(p) for p in sorted((work / "bundles").iterdir())]
    assert ens.meta["model"] == "ensemble" and len(members) == 3
    wav = next(corpus.rglob("*.wav"))
    got = ens.predict_files([wav])[0]["probabilities"]
    each = [m.predict_files([wav])[0]["probabilities"] for m in members]
    for lab in got:  # the members' probabilities, averaged
        assert got[lab] == pytest.approx(sum(p[lab] for p in each) / 3, abs=2e-6)
    assert len({json.dumps(p, sort_keys=True) for p in each}) == 3  # three different models
    x = torch.randn(2, 1, 50, 40)
    assert torch.allclose(ens.model(x, lengths=torch.tensor([50, 40])).exp().sum(1), torch.ones(2), atol=1e-5)
    text = CliRunner().invoke(main, ["predict", str(out), "--info"]).output
    assert "the 3 fold models of the cross-validation" in text
    glob = CliRunner().invoke(main, ["train", "emovo", str(corpus), *small, "normalize=global", "--final",
                                     "fold-ensemble", "--workdir", str(tmp_path / "w2")])
    assert glob.exit_code != 0 and "normalize: global" in glob.output and not (tmp_path / "w2").exists()
    svm = CliRunner().invoke(main, ["train", "emovo", str(corpus), "--recipe", "svm", "--final", "fold-ensemble",
                                    "--workdir", str(tmp_path / "w3")])
    assert svm.exit_code != 0 and "estimator" in svm.output and not (tmp_path / "w3").exists()


@pytest.mark.slow
def test_fuse_svm_ships_a_fusion_bundle_with_the_fused_cross_validated_figures(tmp_path, monkeypatch):
    from emoconv.bundle import load_bundle
    from emoconv.experiments.fusion import fuse_cv
    from emoconv.experiments.store import ResultsStore
    from emoconv.protocol import pooled_metrics

    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    corpus = _emovo(tmp_path / "emovo")
    out, work = tmp_path / "fused", tmp_path / "work"
    small = [a for a in SMALL if not a.startswith("train.wave_augment")] + ["train.wave_augment.copies=0"]
    args = ["train", "emovo", str(corpus), *small, "--fuse", "svm", "--fuse-set", "models.0.params.C=0.01",
            "--out", str(out), "--workdir", str(work), "--json", "--quiet"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    fu = summary["fusion"]
    assert summary["model"] == "ecnet + svm" and fu["partner"] == "svm" and 0 <= fu["network_weight"] <= 1
    net, svm = (ResultsStore(d).records() for d in (work, tmp_path / "work-fuse-svm"))
    assert len(net) == len(svm) == 3 and all(r["params"]["C"] == 0.01 for r in svm)
    fused = fuse_cv(net, svm)  # the figure is the per-fold-weighted fusion of the two cross-validations
    want = pooled_metrics([(r["y_true"], r["y_pred"]) for r in fused], fused[0]["labels"])["ua"]
    assert summary["ua"] == pytest.approx(100 * want, abs=0.01)
    assert set(fu["paired"]) == {"network", "svm"} and fu["paired"]["svm"]["folds"] == 3

    b = load_bundle(out)
    assert b.kind == "fusion" and b.names == ["network", "svm"] and b.weights[0] == fu["network_weight"]
    wav = next(corpus.rglob("*.wav"))
    got = b.predict_files([wav])[0]
    parts = [load_bundle(out / n).predict_files([wav])[0]["probabilities"] for n in ("network", "svm")]
    for lab, p in got["probabilities"].items():  # the members' probabilities, weighted
        assert p == pytest.approx(b.weights[0] * parts[0][lab] + b.weights[1] * parts[1][lab], abs=2e-6)
    assert got["label"] == max(got["probabilities"], key=got["probabilities"].get)
    pred = CliRunner().invoke(main, ["predict", str(out), str(wav), "--json"])
    assert pred.exit_code == 0 and json.loads(pred.output)[0]["label"] == got["label"]
    info = json.loads(CliRunner().invoke(main, ["predict", str(out), "--info", "--json"]).output)
    assert info["cross_validated"]["pooled"]["ua"] == pytest.approx(summary["ua"] / 100, abs=1e-4)
    assert info["cross_validated"]["fusion"]["network_weight"] == fu["network_weight"]
    member = json.loads(CliRunner().invoke(main, ["predict", str(out / "network"), "--info", "--json"]).output)
    assert member["cross_validated"]["pooled"]["ua"] == pytest.approx(fu["members"]["network"] / 100, abs=1e-4)
    text = CliRunner().invoke(main, ["predict", str(out), "--info"]).output
    assert "final model: network + svm, each trained on all 3 speakers" in text
    for cmd in (["predict", str(out), str(wav), "--timeline"], ["export", str(out), "--onnx", str(tmp_path / "x")]):
        r = CliRunner().invoke(main, cmd)
        assert r.exit_code != 0 and "a fusion bundle (network + svm)" in r.output and str(out / "network") in r.output
    assert not (tmp_path / "x").exists()

    meta = json.loads((out / "bundle.json").read_text())
    meta["members"][1]["weight"] = 0.9  # weights no longer sum to 1
    (out / "bundle.json").write_text(json.dumps(meta))
    r = CliRunner().invoke(main, ["predict", str(out), str(wav)])
    assert r.exit_code != 0 and "weights must sum to 1" in r.output


def test_fuse_settings_are_checked_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    corpus = _emovo(tmp_path / "emovo", speakers=("f1", "m1"))
    w = tmp_path / "w"
    for extra, msg in ((["--fuse", "nosuch"], "--fuse nosuch: no such file"),
                       (["--fuse", "svm", "--fuse-set", "models.0.params.C=-1"], "C"),
                       (["--fuse-set", "models.0.params.C=1"], "give --fuse svm")):
        res = CliRunner().invoke(main, ["train", "emovo", str(corpus), *extra, "--workdir", str(w)])
        assert res.exit_code != 0 and msg in res.output, res.output
        assert not w.exists() and not (tmp_path / "w-fuse-svm").exists()


def test_every_packaged_recipe_builds_for_a_corpus(tmp_path):
    from emoconv.experiments.recipe import build_recipe, load_recipe_dict
    from emoconv.train_cli import PACKAGED_RECIPES, resolve_recipe

    corpus = _emovo(tmp_path / "emovo", speakers=("f1",))
    assert {"ecnet", "ecnet_tracks", "svm"} <= set(PACKAGED_RECIPES)
    for name in PACKAGED_RECIPES:
        tree = load_recipe_dict(resolve_recipe(name))
        tree["corpora"] = {"emovo": {"path": str(corpus)}}
        recipe = build_recipe(tree, [], where=name)
        assert len(recipe.models) == 1, name
    tracks = build_recipe({**load_recipe_dict(resolve_recipe("ecnet_tracks")),
                           "corpora": {"emovo": {"path": str(corpus)}}}, [], where="ecnet_tracks")
    assert tracks.models[0].params == {"tracks": 32} and tracks.features.n_tracks == 32


@pytest.mark.slow
def test_an_interrupted_final_training_resumes_to_the_same_bundle(tmp_path, monkeypatch):
    from safetensors.torch import load_file

    from emoconv.training.checkpoint import TrainingCheckpoint

    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    corpus = _emovo(tmp_path / "emovo")
    out, work = tmp_path / "model", tmp_path / "work"
    args = ["train", "emovo", str(corpus), *SMALL, "train.max_epochs=3", "--out", str(out), "--workdir", str(work),
            "--quiet"]
    assert CliRunner().invoke(main, args).exit_code == 0
    weights = sorted(out.glob("*.safetensors"))
    assert weights and not (work / "final-checkpoints").exists()  # nothing saved: the run is short
    reference = {p.name: load_file(p) for p in weights}

    monkeypatch.setenv("EMOCONV_CHECKPOINT_S", "0")
    real_save = TrainingCheckpoint.save

    def save_then_die(self, point, state, meta):  # the process "dies" right after the first checkpoint
        real_save(self, point, state, meta)
        raise KeyboardInterrupt

    monkeypatch.setattr(TrainingCheckpoint, "save", save_then_die)
    assert CliRunner().invoke(main, args).exit_code != 0
    assert list((work / "final-checkpoints").rglob("point0.pt"))
    monkeypatch.setattr(TrainingCheckpoint, "save", real_save)
    real_load, taken_up = TrainingCheckpoint.load, []

    def load(self, point, meta):
        state = real_load(self, point, meta)
        taken_up.append(None if state is None else state["epoch"])
        return state

    monkeypatch.setattr(TrainingCheckpoint, "load", load)
    assert CliRunner().invoke(main, args).exit_code == 0  # the folds are on record; the final model resumes
    assert taken_up == [1]  # after its first epoch
    for p in sorted(out.glob("*.safetensors")):
        for name, tensor in load_file(p).items():
            assert (reference[p.name][name] == tensor).all(), name
    assert not any((work / "final-checkpoints").iterdir())
