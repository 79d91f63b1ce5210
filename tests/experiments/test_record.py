"""The typed run record: what the runner returns, what the store reads, JSON unchanged on disk."""

from __future__ import annotations

import json

import pytest

from emoconv.experiments import ResultsStore, RunRecord, run_sweep
from emoconv.experiments.recipe import build_recipe
from emoconv.experiments.record import InvalidRecord

#: A record as versions before RunRecord wrote it (a network run, abridged lists), key for key.
OLD = {
    "key": "k1", "recipe": "r", "corpus": "emovo", "corpus_loader": "emovo", "model": "cldnn",
    "variant": "LDNN (log-Mels)", "variant_order": 1, "group": "LDNN", "params": {"conv": "none"}, "fold": 2,
    "seed": 0, "protocol": {"config": {"kind": "loso"}, "fold": {"test_speakers": ["m1"]}},
    "labels": ["a", "b"], "n_utterances": 10, "input_shape": [1, 40, 300], "skipped_files": [],
    "metrics": {"accuracy": 0.5, "ua": 0.5, "wa": 0.5, "macro_f1": 0.4}, "y_true": [0, 1], "y_pred": [0, 0],
    "probs": [[0.6, 0.4], [0.7, 0.3]], "utterances": ["emovo:x", "emovo:y"], "val": {"ua": 0.6},
    "hparams": {"weight_decay": 0.0}, "grid": [], "best_epoch": 3, "epochs": 9, "history": [{"epoch": 1}],
    "epoch_time_mean_s": 1.5, "branch_usage": None, "n_params": 1234, "device": "cpu", "features": {"kind": "logmel"},
    "input": {"length": "variable"}, "normalize": "global", "train": {"lr": 0.001}, "version": "0.1.0",
    "duration_s": 12.0, "condition": "noisy", "augment": {"snr": [5, 5]},
}


def test_an_existing_record_reads_typed_and_writes_back_key_for_key():
    rec = RunRecord.from_dict(OLD)
    assert (rec.corpus, rec.fold, rec.ua, rec.best_epoch, rec.condition) == ("emovo", 2, 0.5, 3, "noisy")
    assert rec.to_dict() == OLD and list(rec.to_dict()) == list(OLD)  # same keys, same order
    assert rec == OLD and dict(rec) == OLD  # a read-only mapping for layouts written against dicts
    assert rec["metrics"]["ua"] == 0.5 and rec.get("bundle") is None and "bundle" not in rec


def test_older_and_newer_records_read():
    minimal = {"key": "k", "corpus": "c", "model": "svm", "metrics": {"ua": 0.3, "accuracy": 0.4}}
    rec = RunRecord.from_dict(minimal)
    assert rec.variant == "svm" and rec.group == "svm" and rec.history == [] and rec.get("condition") is None
    newer = {**OLD, "calibration": {"ece": 0.1}}  # a key this version does not know: kept, written back
    rec = RunRecord.from_dict(newer)
    assert rec.extra == {"calibration": {"ece": 0.1}} and rec["calibration"] == {"ece": 0.1}
    assert rec.to_dict() == newer


@pytest.mark.parametrize("bad, why", [
    ([], "not a JSON object"),
    ({**OLD, "metrics": {"ua": "high"}}, "metrics"),
    ({**OLD, "y_pred": [0]}, "one length"),
    ({**OLD, "corpus": 3}, "strings"),
    ({**OLD, "labels": "ab"}, "labels"),
])
def test_what_is_not_a_record_is_refused_with_the_reason(bad, why):
    with pytest.raises(InvalidRecord, match=why):
        RunRecord.from_dict(bad)
    with pytest.raises(InvalidRecord, match="file name"):
        RunRecord.from_dict(OLD, key="other")


def test_records_are_immutable():
    rec = RunRecord.from_dict(OLD)
    with pytest.raises(AttributeError):
        rec.fold = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        rec["fold"] = 3  # type: ignore[index]


def test_the_runner_returns_typed_records_and_the_store_reads_them_back(tmp_path):
    recipe = build_recipe({
        "name": "rec", "corpora": {"builtin": {"builtin": {"n_speakers": 3, "utterances_per_class": 1,
                                                           "min_duration_s": 0.5, "max_duration_s": 0.6}}},
        "features": {"kind": "logmel", "n_mels": 16}, "input": {"frames": 32},
        "protocol": {"kind": "loso"}, "seeds": [0],
        "models": [{"name": "mts.a1"}],
        "train": {"max_epochs": 1, "progress": False, "device": "cpu", "weight_decay_grid": [0.0]},
    })
    run_sweep(recipe, tmp_path / "out", progress=False)
    store = ResultsStore(tmp_path / "out")
    records = store.records()
    assert len(records) == 3 and all(isinstance(r, RunRecord) for r in records)
    for r in records:
        on_disk = json.loads(store.path_of(r.key).read_text())
        assert r.to_dict() == on_disk and r.model == "mts.a1" and r.epochs == 1 and len(r.y_true) == len(r.probs)
        assert r.protocol["fold"]["test_speakers"] and not set(r.protocol["fold"]["test_speakers"]) & set(
            r.protocol["fold"]["train_speakers"])
