"""Bundles carry their evidence: corpus, protocol, fold figures, and the variant's cross-validated figures."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from emoconv.bundle import load_bundle
from emoconv.cli import main
from emoconv.experiments import ResultsStore, run_sweep
from emoconv.experiments.recipe import build_recipe
from emoconv.experiments.workers import import_plugins

from sweeptools import PLUGIN, tree


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("evidence")
    plugin = root / "ev_plugin.py"
    plugin.write_text(PLUGIN.replace("{name}", "evid"))
    import_plugins([str(plugin)])
    spec = {**tree("evid"), "protocol": {"kind": "kfold", "folds": 3}, "seeds": [0], "bundle": "all"}
    spec["models"] = [{"name": "evid.tiny", "label": "tiny"}]
    rundir = root / "run"
    res = run_sweep(build_recipe(spec), rundir, progress=False, cache_dir=root / "cache")
    assert not res.outcome.failed
    return rundir


def test_every_bundle_gets_the_cross_validated_figures_of_its_variant(swept):
    records = list(ResultsStore(swept).records())
    assert len(records) == 3
    uas = [r["metrics"]["ua"] for r in records]
    for rec in records:
        ev = json.loads((swept / rec["bundle"] / "evidence.json").read_text())
        assert ev["folds_finished"] == 3 and ev["folds_planned"] == 3 and ev["bundle_fold"] == rec["fold"]
        assert ev["ua_mean"] == pytest.approx(np.mean(uas))
        assert ev["ua_std"] == pytest.approx(np.std(uas, ddof=1))
        assert sum(map(sum, ev["pooled"]["confusion"])) == sum(len(r["y_true"]) for r in records)
        info = load_bundle(swept / rec["bundle"]).info()
        assert info["training"]["corpus"] == "builtin" and info["training"]["fold"] == rec["fold"]
        assert info["training"]["protocol"]["fold"]["test_speakers"] == rec["protocol"]["fold"]["test_speakers"]
        assert info["fold_test"]["ua"] == rec["metrics"]["ua"]


def test_predict_info_prints_the_evidence(swept):
    rec = next(iter(ResultsStore(swept).records()))
    bundle = str(swept / rec["bundle"])
    text = CliRunner().invoke(main, ["predict", bundle, "--info"])
    assert text.exit_code == 0, text.output
    assert "cross-validated (3 of 3 folds)" in text.output and "trained on: corpus builtin" in text.output
    assert "pooled confusion" in text.output
    as_json = CliRunner().invoke(main, ["predict", bundle, "--info", "--json"])
    assert json.loads(as_json.output)["cross_validated"]["folds_finished"] == 3


def test_predict_needs_files_or_info_not_both(swept):
    rec = next(iter(ResultsStore(swept).records()))
    bundle = str(swept / rec["bundle"])
    for args in ([bundle], [bundle, "--info", "x.wav"]):
        out = CliRunner().invoke(main, ["predict", *args])
        assert out.exit_code == 2 and "--info" in out.output and len(out.output.strip().splitlines()) == 1


def test_damaged_evidence_is_one_line(swept, tmp_path):
    import shutil

    rec = next(iter(ResultsStore(swept).records()))
    copy = tmp_path / "b"
    shutil.copytree(swept / rec["bundle"], copy)
    (copy / "evidence.json").write_text("{not json")
    out = CliRunner().invoke(main, ["predict", str(copy), "--info"])
    assert out.exit_code != 0 and "damaged evidence" in out.output and len(out.output.strip().splitlines()) == 1
