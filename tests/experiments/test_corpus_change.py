"""A changed corpus is new work: its fingerprint is in every run key, and a folder made on the old
content is refused with one line instead of mixing records."""

from __future__ import annotations

import numpy as np
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


def test_adding_files_and_a_class_is_refused_not_mixed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _corpus(corpus, ["anger", "sadness"])
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "change", "corpora": {"manifest": {"path": str(corpus)}},
        "features": {"kind": "logmel", "n_mels": 16, "hop_ms": 20, "sample_rate": 8000},
        "protocol": {"kind": "kfold", "folds": 2, "seed": 0},
        "models": [{"name": "mts.a1", "params": {"conv": "standard"}}],
        "train": {"max_epochs": 1, "patience": 1, "batch_size": 8, "progress": False}}))
    out = tmp_path / "run"
    env = {"EMOCONV_CACHE": str(tmp_path / "cache")}
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
