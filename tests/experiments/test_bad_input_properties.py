"""Property tests: any garbage in a recipe setting, an override or a bundle's metadata gives either a valid
object or one EmoconvError line, never another exception, and nothing is written."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emoconv.errors import EmoconvError
from emoconv.experiments.recipe import build_recipe
from emoconv.features.inputs import InputConfig
from emoconv.protocol import ProtocolConfig
from emoconv.training import TrainConfig

BASE = {"name": "p", "corpora": {"builtin": {}}, "features": {"kind": "logmel", "n_mels": 16},
        "models": [{"name": "mts.a1", "params": {"conv": "standard"}}]}
SECTIONS = {"train": TrainConfig, "input": InputConfig, "protocol": ProtocolConfig}
KEYS = [(sec, f.name) for sec, cls in SECTIONS.items() for f in dataclasses.fields(cls)]

garbage = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(KEYS), value=garbage)
def test_any_value_in_any_setting_is_valid_or_one_line(key, value):
    section, name = key
    tree = json.loads(json.dumps(BASE))
    tree[section] = {name: value}
    try:
        build_recipe(tree)
    except EmoconvError as exc:
        assert "\n" not in str(exc) and str(exc)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=20), key=st.sampled_from([f"{s}.{n}" for s, n in KEYS] + ["models.0.name",
                                                                                        "models.3.params.x",
                                                                                        "corpora.builtin.path"]))
def test_any_override_text_is_valid_or_one_line(text, key):
    try:
        build_recipe(BASE, [f"{key}={text}"])
    except EmoconvError as exc:
        assert "\n" not in str(exc) and str(exc)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    import torch

    from emoconv.bundle import save_bundle
    from emoconv.features import FeatureConfig
    from emoconv.models import build_model

    root = tmp_path_factory.mktemp("b")
    model = build_model("mts.a1", n_classes=2, input_shape=(1, 20, 16), conv="standard")
    save_bundle(root / "bundle", model=model, model_name="mts.a1", model_params={"conv": "standard"},
                input_shape=(1, 20, 16), labels=["anger", "sadness"], features=FeatureConfig(n_mels=16),
                input_cfg=InputConfig(), frames=20, normalizer=None)
    torch.manual_seed(0)
    return root / "bundle"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["format", "format_version", "emoconv_version", "model", "model_params", "input_shape",
                              "labels", "features", "input", "frames", "normalizer"]), value=garbage)
def test_any_bundle_metadata_is_valid_or_one_line(bundle, tmp_path_factory, field, value):
    from emoconv.bundle import load_bundle

    copy = tmp_path_factory.mktemp("c") / "b"
    shutil.copytree(bundle, copy)
    meta = json.loads((copy / "bundle.json").read_text())
    meta[field] = value
    (copy / "bundle.json").write_text(json.dumps(meta))
    before = sorted(p.name for p in copy.iterdir())
    try:
        load_bundle(copy)
    except EmoconvError as exc:
        assert "\n" not in str(exc) and str(exc)
    assert sorted(p.name for p in copy.iterdir()) == before  # nothing written


def test_yaml_dump_round_trip_of_the_base_recipe():
    assert build_recipe(yaml.safe_load(yaml.safe_dump(BASE))).name == "p"
