"""Noise conditions for estimators on per-utterance features (the SVM's noisy row of the convolution-type study)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml
from click.testing import CliRunner

from emoconv.cli import main
from emoconv.errors import ConfigError
from emoconv.experiments.augment import AugmentConfig, NoiseSource
from emoconv.experiments.recipe import build_recipe
from emoconv.features.functionals import FunctionalsConfig, extract_functionals


def _noise_dir(tmp: Path, n: int = 6) -> Path:
    d = tmp / "noise"
    d.mkdir()
    for i in range(n):
        x = np.random.default_rng(i).standard_normal(8000).astype(np.float32) * 0.1
        sf.write(d / f"clip{i}.wav", x, 16000)
    return d


def test_noisy_copies_of_functionals_are_shaped_like_the_clean_ones_and_differ(tmp_path: Path) -> None:
    wav = tmp_path / "utt.wav"
    t = np.arange(22050) / 22050
    sf.write(wav, (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 22050)  # its native rate: 22.05 kHz
    cfg = FunctionalsConfig(feature_set="IS09")
    src = NoiseSource(AugmentConfig(noise_dir=str(_noise_dir(tmp_path)), condition="noisy", n_clips=2, n_snrs=1,
                                    snr_range=(0.0, 0.0), test_fraction=0.3), 22050)
    utt = type("U", (), {"path": str(wav)})()
    copies = src.copies("train", cfg, utt, 0, [0, 1])
    clean = extract_functionals(cfg, [wav])[0]
    assert [tuple(c.shape) for c in copies] == [(1, 1, 384)] * 2
    for c in copies:  # white noise at 0 dB changes the functionals
        assert np.abs(c.numpy().ravel() - clean).max() > 1e-3
    assert not np.allclose(copies[0].numpy(), copies[1].numpy())  # two clips


def test_svm_runs_under_the_noisy_condition(tmp_path: Path) -> None:
    tree = {
        "name": "svm-noisy",
        "corpora": {"builtin": {"builtin": {"n_speakers": 4, "utterances_per_class": 2, "min_duration_s": 1.0,
                                            "max_duration_s": 1.2, "classes": ["neutral", "anger"], "seed": 0}}},
        "features": {"kind": "functionals", "feature_set": "IS09"},
        "normalize": "none",
        "protocol": {"kind": "loso", "val_speakers": 1, "seed": 0},
        "augment": {"noise_dir": None, "condition": "noisy", "n_clips": 2, "n_snrs": 1, "snr_range": [5, 5],
                    "test_fraction": 0.3},
        "models": [{"name": "svm", "label": "SVM (IS09)", "params": {"C": [0.01]}}],
    }
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(tree))
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(recipe), f"augment.noise_dir={_noise_dir(tmp_path)}",
                                    "--out", str(out), "--quiet"], env={"EMOCONV_CACHE": str(tmp_path / "cache")})
    assert res.exit_code == 0, res.output
    recs = [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]
    assert len(recs) == 4
    for r in recs:
        assert r["condition"] == "noisy" and r["input_shape"] == [1, 1, 384]
        n_clean = sum("#noise" not in u for u in r["utterances"])
        assert n_clean == 4 and len(r["y_true"]) == 2 * n_clean  # each test utterance clean and with held-out noise
        aug = r["augment"]
        assert not set(aug["clips_used"]["test"]) & set(aug["clips_used"]["train"])
        assert set(aug["clips_used"]["train"]) <= set(aug["train_pool"])


def test_recipe_load_names_a_feature_kind_that_cannot_take_noise(tmp_path: Path) -> None:
    tree = {"name": "x", "corpora": {"builtin": {}}, "augment": {"noise_dir": str(tmp_path), "condition": "noisy"},
            "models": [{"name": "cnn3d.base.dnn_elm", "features": {"kind": "lld"}}]}
    with pytest.raises(ConfigError, match=r"models\.0 .*noise conditions need features computed from audio "
                                          r"\(.*functionals.*\), not lld"):
        build_recipe(tree)


def test_a_missing_noise_folder_fails_before_any_run(tmp_path: Path) -> None:
    tree = {"name": "noisy", "corpora": {"builtin": {}}, "features": {"kind": "functionals", "feature_set": "IS09"},
            "normalize": "none", "models": [{"name": "svm", "augment": {"conditions": ["none", "noisy"]}}]}
    recipe = tmp_path / "r.yaml"
    recipe.write_text(yaml.safe_dump(tree))
    out = tmp_path / "run"
    res = CliRunner().invoke(main, ["run", str(recipe), f"augment.noise_dir={tmp_path / 'gone'}", "--out", str(out),
                                    "--quiet"], env={"EMOCONV_CACHE": str(tmp_path / "cache")})
    assert res.exit_code != 0 and "augment.noise_dir=" in res.output and "folder not found" in res.output
    assert "Traceback" not in res.output and not list(out.glob("results/*.json"))
