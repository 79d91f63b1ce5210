import pytest

from emoconv.errors import ConfigError
from emoconv.experiments.recipe import build_recipe, load_recipe

BASE = {
    "name": "t",
    "corpora": {"builtin": {}, "emodb": {"path": None}},
    "features": {"kind": "logmel", "n_mels": 16},
    "models": [{"name": "mts.a2", "params": {"conv": "standard"}},
               {"name": "mts.a2", "label": "mts", "params": {"conv": "mts"},
                "sweep": {"scales": [[0.5, 1, 2], [0.7, 1, 1.428]]}}],
    "train": {"max_epochs": 3, "weight_decay_grid": [0, 0.001]},
}


def test_build_and_overrides():
    r = build_recipe(BASE, ["train.max_epochs=7", "corpora.emodb.path=/data/EMODB", "protocol.folds=3"])
    assert r.train.max_epochs == 7
    assert r.corpora["emodb"].path == "/data/EMODB"
    assert r.protocol.folds == 3
    assert r.features.n_mels == 16
    assert r.train.grid() == [{"lr": 1e-3, "weight_decay": 0.0}, {"lr": 1e-3, "weight_decay": 0.001}]


def test_sweep_expands_variants():
    r = build_recipe(BASE)
    variants = r.models[1].variants()
    assert [v.params["scales"] for v in variants] == [[0.5, 1, 2], [0.7, 1, 1.428]]
    assert r.models[0].variants() == [r.models[0]]


def test_skip_removes_corpus():
    r = build_recipe(BASE, ["corpora.emodb.skip=true"])
    assert list(r.corpora) == ["builtin"]


def test_skip_removes_model():
    r = build_recipe(BASE, ["models.0.skip=true"])
    assert [m.label for m in r.models] == ["mts"]
    assert [m.label for m in build_recipe(BASE, ["models.0.skip=false"]).models][1:] == ["mts"]
    with pytest.raises(ConfigError, match=r"models\.1\.skip: expected true or false"):
        build_recipe(BASE, ["models.1.skip=yes please"])


def test_per_corpus_input_override():
    r = build_recipe(BASE, ["corpora.emodb.input.length=segment", "corpora.emodb.input.segment_frames=400"])
    assert r.input_for("emodb").length == "segment"
    assert r.input_for("builtin").length == "pad"


@pytest.mark.parametrize("override, message", [
    ("train.max_epoch=3", r"train: unknown key\(s\) max_epoch"),
    ("train.lr=fast", r"train.lr: expected float"),
    ("colour=blue", r"unknown key\(s\) colour"),
    ("normalize=sometimes", "normalize must be"),
    ("protocol.kind=random", "protocol"),
    ("seeds=3", "seeds: expected a list"),
    ("novalue", "expected key=value"),
])
def test_bad_settings_are_one_clear_error(override, message):
    with pytest.raises(ConfigError, match=message):
        build_recipe(BASE, [override])


def test_missing_recipe_file(tmp_path):
    with pytest.raises(ConfigError, match="recipe not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_invalid_yaml(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_recipe(p)


def test_per_model_protocol_override_gets_its_own_folds_and_label(tmp_path, monkeypatch):
    from emoconv.experiments.runner import plan_runs, variant_label
    from emoconv.experiments.workspace import Workspace

    tree = {
        "name": "p",
        "corpora": {"builtin": {"builtin": {"n_speakers": 4, "utterances_per_class": 2, "min_duration_s": 1.0,
                                            "max_duration_s": 1.1}}},
        "protocol": {"kind": "kfold", "folds": 2},
        "models": [{"name": "mts.a1", "label": "a"},
                   {"name": "mts.a1", "label": "a", "protocol": {"kind": "loso", "val_speakers": 1}}],
    }
    r = build_recipe(tree)
    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path))
    runs = plan_runs(r, Workspace(r, tmp_path))
    assert [run.variant for run in runs].count("a") == 2 and [run.variant for run in runs].count("a [loso]") == 4
    assert len({run.key for run in runs}) == 6
    assert variant_label(r.models[1]) == "a [loso]"


def test_unknown_corpus_label_names_the_key():
    with pytest.raises(ConfigError, match=r"corpora.builtin.labels: unknown label\(s\) joy"):
        build_recipe(BASE, ["corpora.builtin.labels=[joy]"])


@pytest.mark.parametrize("where", ["recipe", "model"])
def test_missing_optional_dependency_fails_at_load_naming_the_extra(monkeypatch, where):
    """A recipe needing opensmile fails once, when loaded, with the extra to install (not mid-sweep)."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "opensmile" else real(name, *a))
    tree = {**BASE, "models": [{"name": "svm", "normalize": "none"}]}
    feats = {"kind": "functionals", "feature_set": "IS09"}
    if where == "recipe":
        tree["features"] = feats
    else:
        tree["models"] = [{"name": "svm", "normalize": "none", "features": feats}]
    with pytest.raises(ConfigError, match=r"pip install 'emoconv\[opensmile\]'") as err:
        build_recipe(tree)
    assert "\n" not in str(err.value) and "features" in str(err.value)


@pytest.mark.parametrize("override, message", [
    ("models.1.sweep.scales=[[0.5, 1, 2], [0.5, abc]]", r"models\.1 \(mts\): cannot build it.*abc"),
    ("models.1.sweep.scales=[[]]", r"models\.1 \(mts\): .*scales"),
    ("models.1.sweep.scales=[[-1, 1]]", r"models\.1 \(mts\): .*positive"),
    ("models.1.name=nope", r"models\.1 .*unknown model 'nope'"),
    ("input.frames=1", r"models\.0 \(mts\.a2\): cannot build it for input \(1, 1, 16\)"),
])
def test_every_model_entry_is_built_once_at_load(override, message):
    """A bad later model entry fails at load, naming the entry, not after the earlier models trained."""
    with pytest.raises(ConfigError, match=message):
        build_recipe(BASE, ["corpora.emodb.skip=true", override])


@pytest.mark.parametrize("override, message", [
    ("train.max_epochs=true", "expected int, got bool True"),
    ("train.lr=true", "expected float, got bool True"),
    ("train.weight_decay_grid=0.1", r"expected a list, got float 0\.1; write it as \[0\.1\]"),
    ("train.lr=[1,", "not valid YAML"),
    ("models.5.name=x", "index 5 is out of range"),
])
def test_wrong_types_and_shapes_are_one_line(override, message):
    with pytest.raises(ConfigError, match=message) as err:
        build_recipe(BASE, [override])
    assert "\n" not in str(err.value)


def test_binary_recipe_file_is_one_line(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    with pytest.raises(ConfigError, match="not a text file"):
        load_recipe(p)


def test_an_outlier_length_with_pad_input_is_warned_about(tmp_path):
    import numpy as np
    import soundfile as sf

    from emoconv.experiments.sweep import length_warning

    paths = []
    for i, seconds in enumerate([1.0, 1.2, 0.9, 1.1, 20.0]):
        p = tmp_path / f"u{i}.wav"
        sf.write(p, np.zeros(int(seconds * 8000), dtype=np.float32), 8000)
        paths.append(p)

    class U:
        def __init__(self, path):
            self.path = path

    recipe = build_recipe(BASE, ["corpora.emodb.skip=true"])
    note = length_warning(recipe, "builtin", [U(p) for p in paths])
    assert note and "20.0 s" in note and "u4.wav" in note and "input.max_frames" in note
    assert length_warning(recipe, "builtin", [U(p) for p in paths[:4]]) is None
    fixed = build_recipe(BASE, ["corpora.emodb.skip=true", "input.frames=100"])
    assert length_warning(fixed, "builtin", [U(p) for p in paths]) is None
    functionals = build_recipe({**BASE, "features": {"kind": "functionals", "feature_set": "IS09"},
                                "models": [{"name": "svm", "normalize": "none"}]}, ["corpora.emodb.skip=true"])
    assert length_warning(functionals, "builtin", [U(p) for p in paths]) is None  # no frames to pad
