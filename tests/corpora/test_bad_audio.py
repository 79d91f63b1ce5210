"""Unusable audio is found in one pass: inspect lists every bad file, a run names them all at once, and
``corpora.NAME.skip_bad`` leaves them out with the list kept in the results. MP3 files load."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf
import yaml
from click.testing import CliRunner

from emoconv.cli import main
from emoconv.corpora.inspect import inspect_corpus


def _corpus(root):
    rng = np.random.default_rng(0)
    rows = ["path,speaker,label"]
    for spk in ("a", "b", "c", "d"):
        for lab in ("anger", "sadness"):
            for k in range(2):
                name = f"{spk}_{lab}_{k}.wav"
                sf.write(root / name, (0.1 * rng.standard_normal(4000)).astype(np.float32), 8000)
                rows.append(f"{name},{spk},{lab}")
    sf.write(root / "a_anger_0.wav", np.zeros(4000, dtype=np.float32), 8000)  # silent
    nan = (0.1 * rng.standard_normal(4000)).astype(np.float32)
    nan[100] = np.nan
    sf.write(root / "b_anger_0.wav", nan, 8000, subtype="FLOAT")  # NaN
    sf.write(root / "c_anger_0.wav", (0.1 * rng.standard_normal(80)).astype(np.float32), 8000)  # 10 ms
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return {"a_anger_0.wav", "b_anger_0.wav", "c_anger_0.wav"}


def test_inspect_lists_every_unusable_file_in_one_pass(tmp_path):
    bad = _corpus(tmp_path)
    rep = inspect_corpus("manifest", tmp_path)
    assert {p.path.name for p in rep.problems} == bad and rep.n_utterances == 13
    messages = " ".join(p.message for p in rep.problems)
    assert "all zeros" in messages and "NaN" in messages and "too short" in messages
    assert inspect_corpus("manifest", tmp_path, check_content=False).n_utterances == 16


def _recipe(tmp_path, corpus, **spec):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump({
        "name": "bad", "corpora": {"manifest": {"path": str(corpus), **spec}},
        "features": {"kind": "logmel", "n_mels": 16, "hop_ms": 20, "sample_rate": 8000},
        "protocol": {"kind": "kfold", "folds": 2, "seed": 0},
        "models": [{"name": "mts.a1", "params": {"conv": "standard"}}],
        "train": {"max_epochs": 1, "patience": 1, "batch_size": 8, "progress": False}}))
    return recipe


def test_a_run_names_every_bad_file_at_once_and_skip_bad_records_them(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    bad = _corpus(corpus)
    env = {"EMOCONV_CACHE": str(tmp_path / "cache")}
    res = CliRunner().invoke(main, ["run", str(_recipe(tmp_path, corpus)), "--out", str(tmp_path / "r1"),
                                    "--quiet"], env=env)
    assert res.exit_code == 2 and "3 unusable audio file(s)" in res.output
    assert all(name in res.output for name in bad) and "skip_bad=true" in res.output
    res = CliRunner().invoke(main, ["run", str(_recipe(tmp_path, corpus, skip_bad=True)), "--out",
                                    str(tmp_path / "r2"), "--quiet"], env=env)
    assert res.exit_code == 0, res.output
    records = [json.loads(p.read_text()) for p in (tmp_path / "r2" / "results").glob("*.json")]
    assert records and all(len(r["skipped_files"]) == 3 and r["n_utterances"] == 13 for r in records)


def test_mp3_files_are_loaded(tmp_path):
    from emoconv.audio import load_audio
    from emoconv.corpora.base import find_audio

    t = np.arange(8000) / 8000
    sf.write(tmp_path / "x.mp3", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 8000, format="MP3")
    assert [p.name for p in find_audio(tmp_path)] == ["x.mp3"]
    assert load_audio(tmp_path / "x.mp3", 8000).shape[0] > 7000
