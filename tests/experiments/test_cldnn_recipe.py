"""The convolution-type study's recipe end to end, noise conditions in the runner, determinism."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from click.testing import CliRunner

from emoconv.cli import main
from emoconv.errors import ConfigError
from emoconv.experiments import load_recipe
from emoconv.experiments.augment import AugmentConfig, NoiseSource, NoisyExamples, augment_for, expand_conditions

ROOT = Path(__file__).resolve().parents[2]


def _noise_dir(tmp: Path, n: int = 6) -> Path:
    d = tmp / "noise folder"
    d.mkdir()
    for i in range(n):
        x = np.random.default_rng(i).standard_normal(8000).astype(np.float32) * 0.1
        sf.write(d / f"clip{i}.wav", np.cumsum(x) / 40 if i % 2 else x, 16000)
    return d


def test_quick_recipe_end_to_end(tmp_path: Path) -> None:
    tree = yaml.safe_load((ROOT / "recipes/cldnn/quick.yaml").read_text())
    tree["models"] = [m for m in tree["models"] if m["label"] != "T-CLDNN (log-Mels)"]  # FST + LDNN + SVM
    recipe = tmp_path / "quick.yaml"
    recipe.write_text(yaml.safe_dump(tree))
    noise, out = _noise_dir(tmp_path), tmp_path / "run"
    env = {"EMOCONV_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    res = CliRunner().invoke(main, ["run", str(recipe), f"augment.noise_dir={noise}",
                                    "corpora.builtin.builtin.n_speakers=4", "corpora.builtin.builtin.utterances_per_class=2",
                                    "train.max_epochs=1", "--out", str(out), "--quiet"], env=env)
    assert res.exit_code == 0, res.output
    recs = [json.loads(p.read_text()) for p in sorted((out / "results").glob("*.json"))]
    assert sorted((r["variant"], r.get("condition")) for r in recs) == [
        ("FST-CLDNN (log-Mels)", "clean"), ("FST-CLDNN (log-Mels)", "noisy"),
        ("LDNN (log-Mels)", "clean"), ("LDNN (log-Mels)", "noisy"), ("SVM (IS09)", None)]
    for r in recs:
        if r["model"] == "svm":
            assert r["features"]["kind"] == "functionals" and r["input_shape"] == [1, 1, 384]
            continue
        aug = r["augment"]
        assert not set(aug["train_pool"]) & set(aug["test_pool"])
        used = aug["clips_used"]
        assert set(used["train"]) <= set(aug["train_pool"])
        for part in ("val", "test"):
            assert not set(used.get(part, [])) & set(used["train"])
            assert set(used.get(part, [])) <= set(aug["test_pool"])
        n_clean = sum("#noise" not in u for u in r["utterances"])
        # noisy condition: every test utterance once clean and once with held-out noise (eval_copies: 1)
        assert len(r["y_true"]) == (2 * n_clean if r["condition"] == "noisy" else n_clean)
        assert ("val" in used) == (r["condition"] == "noisy")
    res = CliRunner().invoke(main, ["analyze", str(out)], env=env)
    assert res.exit_code == 0, res.output
    analysis = json.loads((out / "analysis" / "modulewise.json").read_text())
    assert set(analysis["models"]) == {"FST-CLDNN (log-Mels)", "LDNN (log-Mels)"}
    assert set(analysis["models"]["FST-CLDNN (log-Mels)"]["ua"]) == {"raw", "cnn", "blstm", "mlp"}
    assert "cnn" not in analysis["models"]["LDNN (log-Mels)"]["ua"]
    res = CliRunner().invoke(main, ["report", str(out), "--published"], env=env)
    assert res.exit_code == 0, res.output
    text = (out / "report" / "report.md").read_text()
    for needle in ("## Table 3", "## Table 4", "## Table 5", "(published)", "SVM (IS09)"):
        assert needle in text
    assert list((out / "report").glob("lda_*.png"))


def test_study_recipes_load_and_expand_conditions() -> None:
    over = ["corpora.enterface.path=/data/e", "augment.noise_dir=/data/noise"]
    study = load_recipe(ROOT / "recipes/cldnn/study.yaml", over)
    runs = [v for m in study.models for s in m.variants() for v in expand_conditions(study, s)]
    nets = [v for v in runs if v.name == "cldnn"]
    assert len(nets) == 16 and {augment_for(study, v).condition for v in nets} == {"clean", "noisy"}
    svms = [v for v in runs if v.name == "svm"]
    assert len(svms) == 30 and all(augment_for(study, v).condition == "none" for v in svms)
    kinds = [study.protocol_for("enterface", v).kind for v in svms]
    assert kinds.count("ratio") == 15 and kinds.count("loso") == 15  # Table 3: TVT and LOSO in one recipe
    assert study.train.batch_size == 10 and study.train.lr == 1e-3 and study.train.patience == 3
    loso = load_recipe(ROOT / "recipes/cldnn/svm_loso.yaml", over[:1])
    assert loso.protocol.kind == "loso" and len([v for m in loso.models for v in m.variants()]) == 15
    ks = load_recipe(ROOT / "recipes/cldnn/kernel_search.yaml", over)
    assert sum(len(m.variants()) for m in ks.models) == 60


def test_augment_settings_are_validated() -> None:
    with pytest.raises(ConfigError, match="augment.noise_dir"):
        AugmentConfig(condition="noisy")
    with pytest.raises(ConfigError, match="augment.condition 'loud'"):
        AugmentConfig(condition="loud", noise_dir="/x")
    with pytest.raises(ConfigError, match="augment.train_copies"):
        AugmentConfig(condition="clean", noise_dir="/x", n_clips=2, n_snrs=1, train_copies=3)
    with pytest.raises(ConfigError, match="unknown"):
        augment_for(SimpleNamespace(augment={"noise_dir": "/x", "colour": "pink"}))


def test_noise_split_and_copies_are_disjoint_and_deterministic(tmp_path: Path) -> None:
    cfg = AugmentConfig(noise_dir=str(_noise_dir(tmp_path, 8)), condition="noisy", n_clips=3, n_snrs=2,
                        test_fraction=0.25, seed=3)
    a, b = NoiseSource(cfg, 16000), NoiseSource(cfg, 16000)
    assert a.train_pool.names == b.train_pool.names and not set(a.train_pool.names) & set(a.test_pool.names)
    for u in range(5):
        for j in range(cfg.copies):
            assert a.clip_name("train", u, j) in a.train_pool.names
            assert a.clip_name("test", u, j) in a.test_pool.names
            assert a.clip_name("train", u, j) == b.clip_name("train", u, j)


def test_noisy_examples_redraw_per_epoch_under_a_seed() -> None:
    clean = [torch.zeros(1, 3, 2) for _ in range(4)]
    calls: list[tuple[int, tuple[int, ...]]] = []

    def make(i: int, picks: list[int]) -> list[torch.Tensor]:
        calls.append((i, tuple(picks)))
        return [torch.full((1, 3, 2), float(100 * i + j)) for j in picks]

    cfg = AugmentConfig(noise_dir="/x", condition="clean", n_clips=4, n_snrs=2, train_copies=2, seed=5)
    ex = NoisyExamples(clean, np.arange(4), np.array([10, 11, 12, 13]), make, cfg)
    assert len(ex) == 12 and list(ex.y[4:8]) == [0, 1, 2, 3] and list(ex.group[8:]) == [10, 11, 12, 13]
    first = [float(t[0, 0, 0]) for t in ex.x]
    assert first[:4] == [0.0] * 4 and all(1000 <= v < 1400 for v in first[4:])
    ex.new_epoch(1)  # same epoch: nothing redrawn
    assert len(calls) == 4
    ex.new_epoch(2)
    second = [float(t[0, 0, 0]) for t in ex.x]
    ex2 = NoisyExamples(clean, np.arange(4), np.array([10, 11, 12, 13]), make, cfg)
    ex2.new_epoch(2)
    assert [float(t[0, 0, 0]) for t in ex2.x] == second and second != first
    full = NoisyExamples(clean, np.arange(4), np.array([10, 11, 12, 13]), make,
                         AugmentConfig(noise_dir="/x", condition="clean", n_clips=4, n_snrs=2, expand=True))
    assert len(full) == 4 * 9 and full.drawn[0] == list(range(8))
