"""The 3D CNN recipes end to end: pooled corpora, multicorpus folds, every Table 4 method, the report layout."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from emoconv.cli import main
from emoconv.errors import ConfigError
from emoconv.experiments.recipe import ModelSpec, build_recipe, load_recipe, load_recipe_dict
from emoconv.experiments.runner import Workspace, variant_label

RECIPES = Path(__file__).resolve().parents[2] / "recipes" / "cnn3d"
SRC = "corpora.pooled.options.sources"
# The quick recipe shrunk further: 3 speakers per source, one 0.5-1 s utterance per class, 3 folds,
# a short second conv in the 1D-CNN-LSTM, one epoch.
TINY = [f"{SRC}.{s}.builtin={{n_speakers: 3, utterances_per_class: 1, min_duration_s: 0.5, max_duration_s: 1.0, "
        f"seed: {seed}}}" for s, seed in (("synth_a", 1), ("synth_b", 2))] + [
    "protocol.folds=3", "train.max_epochs=1", "train.progress=false",
    "models.2.params={filters: 2, cells: 8, kernel2: 40, pool2: 20}",
    "models.0.params={hidden: 16, epochs: 1}", "models.1.params={cells: 8, epochs: 1}",
    "models.6.params={kernel: [2, 2, 8], depth: 3, hidden: 16, epochs: 1}",
]


def _pool_tree(sources: dict) -> dict:
    return {"name": "t", "corpora": {"pooled": {"name": "pool", "options": {"sources": sources}}},
            "features": {"kind": "volume"}, "models": [{"name": "cnn3d.dnn"}],
            "protocol": {"kind": "multicorpus", "folds": 3}}


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cnn3d")
    env = {"EMOCONV_CACHE": str(root / "cache"), "OMP_NUM_THREADS": "1"}
    res = CliRunner().invoke(main, ["run", str(RECIPES / "quick.yaml"), *TINY, "--out", str(root / "run"),
                                    "--quiet"], env=env)
    assert res.exit_code == 0, res.output
    rep = CliRunner().invoke(main, ["report", str(root / "run"), "--published"], env=env)
    assert rep.exit_code == 0, rep.output
    records = [json.loads(p.read_text()) for p in sorted((root / "run" / "results").rglob("*.json"))]
    return root / "run", records


def test_quick_recipe_runs_every_method_on_every_fold(quick_run):
    rundir, records = quick_run
    assert len(records) == 7 * 3
    variants = {r["variant"] for r in records}
    assert variants == {"DNN-ELM", "LSTM-ELM", "1D-CNN-LSTM (16)", "2D-CNN-LSTM (2 x 8)", "2D-CNN-LSTM-DNN (2 x 8)",
                        "3D-CNN-DNN 3 x (2 x 2 x 8)", "3D-CNN-DNN-ELM 3 x (2 x 2 x 8)"}
    for r in records:
        assert r["labels"] == ["neutral", "anger", "happiness", "sadness"]
        assert r["n_utterances"] == 24 and len(r["y_pred"]) == len(r["utterances"]) == 8  # 2 test speakers x 4
        assert r["n_params"] > 0 and 0.0 <= r["metrics"]["ua"] <= 1.0
    shapes = {r["variant"]: tuple(r["input_shape"]) for r in records}
    assert shapes["3D-CNN-DNN 3 x (2 x 2 x 8)"] == (1, 10, 10, 32)
    assert shapes["1D-CNN-LSTM (16)"] == (1, 32000)
    assert shapes["DNN-ELM"][1] == 32  # (frames, 32 LLDs) per utterance
    elm = [r for r in records if r["model"] == "cnn3d.dnn_elm"]
    # the ELM's network is trained by the trainer's loop: its epoch records are in the run record
    assert all(r["history"] and "val_loss" in r["history"][0] and r["epochs"] == len(r["history"]) for r in elm)
    assert all(r["grid"] == [] for r in elm)  # no grid search: an estimator, not a network fitted end to end


def test_quick_recipe_folds_are_speaker_independent_and_cover_the_pool(quick_run):
    _, records = quick_run
    one = [r for r in records if r["variant"] == "DNN-ELM"]
    tested = []
    for r in one:
        f = r["protocol"]["fold"]
        parts = [set(f["train_speakers"]), set(f["val_speakers"]), set(f["test_speakers"])]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        for corpus in ("synth_a", "synth_b"):  # every fold tests and validates one speaker of each corpus
            assert sum(s.startswith(corpus + "/") for s in f["test_speakers"]) == 1
            assert sum(s.startswith(corpus + "/") for s in f["val_speakers"]) == 1
        tested += f["test_speakers"]
    assert len(tested) == len(set(tested)) == 6  # rotation: each speaker tested exactly once


def test_quick_report_has_the_paper_tables_and_tsne(quick_run):
    rundir, records = quick_run
    report = (rundir / "report" / "report.md").read_text()
    for title in ("Table 1: corpora", "Table 1 (published)", "Table 3: UA per 3D kernel resolution",
                  "Table 4: UA per method", "Wilcoxon signed-rank tests", "Table 5: 3D-CNN-DNN 3 x (2 x 2 x 8) (%)",
                  "Table 5 (published): 3D-CNN-DNN (%)"):
        assert title in report
    assert "| synth_a | 3 | 3 | 3 | 3 | 3 | 12 |" in report
    pngs = list((rundir / "report").glob("tsne_*.png"))
    assert len(pngs) == 1 and pngs[0].read_bytes()[:4] == b"\x89PNG"
    emb = [r for r in records if r.get("embedding")]
    assert emb and all(r["fold"] == 0 for r in emb)
    arr = np.load(rundir / emb[0]["embedding"])
    assert arr.shape[0] == len(emb[0]["utterances"]) and np.isfinite(arr).all()


def test_pooled_sources_reusing_speaker_ids_never_share_a_partition(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    spec = {"name": "builtin", "builtin": {"n_speakers": 5, "utterances_per_class": 1, "min_duration_s": 0.5,
                                           "max_duration_s": 0.6, "seed": 4}}
    recipe = build_recipe(_pool_tree({"a": spec, "b": dict(spec)}))  # identical sources: same speaker ids
    ws = Workspace(recipe, tmp_path / "cache")
    utts = ws.utterances("pooled")
    assert {u.corpus for u in utts} == {"a", "b"} and len(utts) == 40
    raw = {u.speaker.split("/", 1)[1] for u in utts}
    assert len(raw) == 5 and len({u.speaker for u in utts}) == 10
    for fold in ws.folds("pooled"):
        parts = [{utts[i].speaker for i in idx} for idx in (fold.train, fold.val, fold.test)]
        assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
        assert {s.split("/")[0] for s in parts[2]} == {"a", "b"}  # each corpus contributes test speakers


def test_pool_source_without_path_names_its_key(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path / "cache"))
    gen = {"name": "builtin", "builtin": {"n_speakers": 3, "utterances_per_class": 1, "min_duration_s": 0.5,
                                          "max_duration_s": 0.6}}
    recipe = build_recipe(_pool_tree({"emodb": {"path": None}, "gen": gen}))
    with pytest.raises(ConfigError, match=r"corpora\.pooled\.options\.sources\.emodb\.path.*skip=true"):
        Workspace(recipe, tmp_path / "cache").utterances("pooled")
    skipped = build_recipe(_pool_tree({"emodb": {"path": None}, "gen": gen}),
                           ["corpora.pooled.options.skip_missing=true"])
    assert {u.corpus for u in Workspace(skipped, tmp_path / "cache").utterances("pooled")} == {"gen"}
    bad = build_recipe(_pool_tree({"gen": {**gen, "lable_map": {}}}))
    with pytest.raises(ConfigError, match=r"sources\.gen.*lable_map"):
        Workspace(bad, tmp_path / "cache").utterances("pooled")


def test_table_recipes_load_with_the_paper_settings():
    t4 = load_recipe(RECIPES / "table4.yaml")
    labels = [variant_label(v) for m in t4.models for v in m.variants()]
    assert len(labels) == len(set(labels)) == 16
    assert "3D-CNN-DNN-ELM 3 x (2 x 2 x 32)" in labels and "1D-CNN-LSTM (256)" in labels
    assert (t4.train.lr, t4.train.batch_size, t4.train.max_epochs) == (3e-3, 128, 20)
    assert t4.protocol.kind == "multicorpus" and t4.protocol.folds == 5 and t4.normalize == "none"
    t3 = load_recipe(RECIPES / "table3.yaml")
    kernels = [tuple(v.params["kernel"]) for v in t3.models[0].variants()]
    assert len(kernels) == 12 and (8, 2, 128) in kernels
    assert load_recipe_dict(RECIPES / "table4.yaml")["corpora"]["pooled"]["options"]["sources"]["semaine"][
        "dimensional"] is True


def test_variant_label_formats_swept_values():
    spec = ModelSpec(name="cnn3d.dnn", label="3D ({kernel}) d{depth}", params={"kernel": [2, 2, 128], "depth": 3})
    assert variant_label(spec) == "3D (2 x 2 x 128) d3"
    assert variant_label(ModelSpec(name="x", label="odd {missing}")) == "odd {missing}"


def test_the_network_elm_systems_are_bundled_and_predict_as_their_runs_did(quick_run, monkeypatch):
    """DNN-ELM from the audio files; 3D-CNN-DNN-ELM (segments of volumes, aggregated per file) from the run's own
    volumes, since volumes min-max normalise each speaker's gain over all of that speaker's files."""
    from emoconv.bundle import load_bundle
    from emoconv.estimator_bundle import predict_estimator

    rundir, records = quick_run
    monkeypatch.setenv("EMOCONV_CACHE", str(rundir.parent / "cache"))  # where the fixture's corpora were built
    recipe = load_recipe(RECIPES / "quick.yaml", TINY)
    ws = Workspace(recipe, None, progress=False)
    utts = ws.utterances("pooled")
    bundled = {r["model"]: r for r in records if r.get("bundle") and r["model"].endswith("dnn_elm")}
    assert set(bundled) == {"cnn3d.base.dnn_elm", "cnn3d.dnn_elm"}
    for model, rec in bundled.items():
        bundle = load_bundle(rundir / rec["bundle"])
        if model == "cnn3d.base.dnn_elm":
            by_uid = {u.uid: u.path for u in utts}
            rows = bundle.predict_files([by_uid[uid] for uid in rec["utterances"]])
        else:
            spec = next(m for m in recipe.models if m.name == model)
            feats = dict(zip((u.uid for u in utts), ws.features("pooled", recipe.features_for(spec))))
            rows = predict_estimator(bundle.model, rec["utterances"], [feats[u] for u in rec["utterances"]],
                                     bundle.labels, False, bundle.pipeline)
        assert [r["label"] for r in rows] == [rec["labels"][k] for k in rec["y_pred"]], model
        got = np.array([[r["probabilities"][lab] for lab in rec["labels"]] for r in rows])
        np.testing.assert_allclose(got, np.array(rec["probs"]), atol=1e-4)
