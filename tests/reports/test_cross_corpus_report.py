"""A cross-corpus sweep over two pooled built-in corpora: its report is a train x test UA matrix and a heat map."""

from __future__ import annotations

import pytest

from emoconv.errors import ConfigError
from emoconv.experiments import ResultsStore, run_sweep
from emoconv.experiments.recipe import build_recipe
from emoconv.experiments.workers import import_plugins
from emoconv.reports import write_report

from sweeptools import PLUGIN


def test_cross_corpus_sweep_reports_a_matrix(tmp_path):
    plugin = tmp_path / "cc_plugin.py"
    plugin.write_text(PLUGIN.replace("{name}", "xcorp"))
    import_plugins([str(plugin)])
    small = {"n_speakers": 3, "utterances_per_class": 2, "min_duration_s": 0.5, "max_duration_s": 0.6}
    spec = {
        "name": "xcorp",
        "corpora": {"pooled": {"name": "pool", "options": {"classes": "shared", "sources": {
            "one": {"name": "builtin", "builtin": {**small, "seed": 0}},
            "two": {"name": "builtin", "builtin": {**small, "seed": 5, "classes": ["neutral", "anger", "sadness"]}},
        }}}},
        "features": {"kind": "logmel", "n_mels": 16}, "input": {"frames": 32},
        "protocol": {"kind": "cross_corpus", "val_ratio": 0.3},
        "models": [{"name": "xcorp.tiny", "label": "tiny"}],
        "train": {"max_epochs": 2, "patience": 2, "batch_size": 8, "progress": False, "device": "cpu"},
        "report": {"layout": "cross_corpus"},
    }
    res = run_sweep(build_recipe(spec), tmp_path / "run", progress=False, cache_dir=tmp_path / "cache")
    assert len(res.planned) == 2 and not res.outcome.failed
    report, out = write_report(tmp_path / "run")
    (table,) = report.tables.values()
    assert list(table.columns) == ["train \\ test", "one", "two"] and list(table["train \\ test"]) == ["one", "two"]
    cells = table.set_index("train \\ test")
    assert cells.isna().to_numpy().tolist() == [[True, False], [False, True]]  # the diagonal is empty
    by_pair = {(r["protocol"]["fold"]["train_speakers"][0].split("/")[0], r["protocol"]["fold"]["test_speakers"][0]
                .split("/")[0]): 100 * r["metrics"]["ua"] for r in ResultsStore(tmp_path / "run").records()}
    assert cells.loc["one", "two"] == pytest.approx(by_pair[("one", "two")])
    assert "classes: neutral, anger, sadness (chance 33.3 %)" in report.markdown()  # the shared classes
    assert (out / "cross_corpus_tiny.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ConfigError):  # a within-corpus folder is refused by this layout
        from emoconv.reports.cross_corpus import cross_corpus_matrices

        cross_corpus_matrices([{"key": "k", "protocol": {"config": {"kind": "kfold"}}}])
