"""emoconv export --onnx: the exported model runs in onnxruntime without PyTorch and equals emoconv predict."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from emoconv.bundle import load_bundle, save_bundle
from emoconv.cli import main
from emoconv.errors import ConfigError
from emoconv.features import FeatureConfig, Normalizer
from emoconv.features.inputs import InputConfig
from emoconv.models import build_model

for mod in ("onnxruntime", "onnx", "onnxscript"):
    pytest.importorskip(mod, reason=f"{mod} is not installed; pip install 'emoconv[onnx]'")

NO_TORCH = ("import runpy, sys; sys.modules['torch'] = None; sys.argv = sys.argv[1:]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")


def _bundle(root, feats, params=None, norm_mode="global", pad_mode="end", name="mts.a2"):
    torch.manual_seed(0)
    frames = 60
    params = params or {"conv": "mts", "scales": [0.5, 1, 2]}
    model = build_model(name, n_classes=4, input_shape=(feats.channels, frames, feats.n_bins), **params)
    norm = Normalizer(norm_mode).fit([torch.randn(feats.channels, 80, feats.n_bins) * 2 - 4])
    return save_bundle(root, model=model, model_name=name, model_params=params,
                       input_shape=(feats.channels, frames, feats.n_bins), labels=["neutral", "anger", "happiness",
                                                                                   "sadness"],
                       features=feats, input_cfg=InputConfig(length="pad", pad_mode=pad_mode), frames=frames,
                       normalizer=norm)


def _clips(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i, (sec, sr, ch) in enumerate([(2.0, 16000, 1), (0.7, 44100, 2), (3.5, 22050, 1)]):
        t = np.arange(int(sec * sr)) / sr
        wav = 0.3 * np.sin(2 * np.pi * rng.uniform(120, 300) * t) + 0.02 * rng.standard_normal(len(t))
        p = tmp_path / f"clip{i}.wav"
        sf.write(p, np.stack([wav] * ch, 1) if ch > 1 else wav, sr)
        paths.append(p)
    return paths


@pytest.mark.parametrize("kind, norm_mode, pad_mode", [("logmel", "global", "end"), ("stft", "utterance", "center")])
def test_exported_model_equals_predict_without_torch(tmp_path, kind, norm_mode, pad_mode):
    feats = FeatureConfig(kind=kind, n_mels=40, win_ms=25, hop_ms=20) if kind == "logmel" else \
        FeatureConfig(kind="stft", win_ms=20, hop_ms=20, compression="log")
    bundle = _bundle(tmp_path / "bundle", feats, norm_mode=norm_mode, pad_mode=pad_mode)
    out = CliRunner().invoke(main, ["export", str(bundle), "--onnx", str(tmp_path / "onnx")])
    assert out.exit_code == 0, out.output
    clips = _clips(tmp_path)
    ref = load_bundle(bundle).predict_files(clips)
    run = subprocess.run([sys.executable, "-c", NO_TORCH, str(tmp_path / "onnx" / "emoconv_onnx.py"),
                          str(tmp_path / "onnx"), *map(str, clips), "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout)
    for r, g in zip(ref, got):
        assert g["label"] == r["label"]
        for k, v in r["probabilities"].items():
            assert abs(g["probabilities"][k] - v) <= 1e-4


def test_what_cannot_be_exported_says_so_in_one_line(tmp_path):
    deltas = FeatureConfig(kind="logmel", n_mels=40, deltas=2)
    bundle = load_bundle(_bundle(tmp_path / "b", deltas, params={"conv": "standard"}))
    from emoconv.export import export_onnx

    with pytest.raises(ConfigError, match="deltas"):
        export_onnx(bundle, tmp_path / "o")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    plain = _bundle(tmp_path / "c", FeatureConfig(kind="logmel", n_mels=40), params={"conv": "standard"})
    out = CliRunner().invoke(main, ["export", str(plain), "--onnx", str(tmp_path / "full")])
    assert out.exit_code == 2 and "not empty" in out.output and len(out.output.strip().splitlines()) == 1
    a4 = _bundle(tmp_path / "d", FeatureConfig(kind="logmel", n_mels=40), params={"conv": "standard"}, name="mts.a4")
    out = CliRunner().invoke(main, ["export", str(a4), "--onnx", str(tmp_path / "a4")])
    assert out.exit_code == 2 and "adaptive_max_pool2d" in out.output and len(out.output.strip().splitlines()) == 1
    assert not list(tmp_path.glob(".*.tmp-*")) and not (tmp_path / "a4").exists()


def test_a_variable_length_speaker_normalised_network_exports_with_any_length(tmp_path):
    """ECNet as `emoconv train` ships it (per-speaker normalisation, whole utterances), alone and as a fold
    ensemble: the ONNX model takes every clip at its own length and equals emoconv predict."""
    from emoconv.models.ensemble import FoldEnsemble

    feats = FeatureConfig(kind="logmel", n_mels=40, win_ms=25, hop_ms=20)
    torch.manual_seed(0)
    params = {"channels": [4, 8], "hidden": 8}
    labels = ["neutral", "anger", "happiness", "sadness"]
    norm = Normalizer("speaker").fit([torch.randn(1, 80, 40) for _ in range(4)], ["a", "a", "b", "b"])
    one = build_model("ecnet", n_classes=4, input_shape=(1, 100, 40), **params).eval()
    members = [{"model": "ecnet", "params": params}] * 2
    ens = FoldEnsemble([one, build_model("ecnet", n_classes=4, input_shape=(1, 100, 40), **params)]).eval()
    clips = _clips(tmp_path)  # 0.7 s to 3.5 s: 36 to 176 frames
    for name, model, model_name, mparams in (("ecnet", one, "ecnet", params),
                                             ("ens", ens, "ensemble", {"members": members})):
        bundle = save_bundle(tmp_path / name, model=model, model_name=model_name, model_params=mparams,
                             input_shape=(1, 100, 40), labels=labels, features=feats,
                             input_cfg=InputConfig(length="variable"), frames=None, normalizer=norm)
        out = CliRunner().invoke(main, ["export", str(bundle), "--onnx", str(tmp_path / f"{name}-onnx")])
        assert out.exit_code == 0, out.output
        assert json.loads((tmp_path / f"{name}-onnx" / "frontend.json").read_text())["normalizer"]["mode"] == \
            "utterance"
        ref = load_bundle(bundle).predict_files(clips)
        run = subprocess.run([sys.executable, "-c", NO_TORCH, str(tmp_path / f"{name}-onnx" / "emoconv_onnx.py"),
                              str(tmp_path / f"{name}-onnx"), *map(str, clips + clips[::-1]), "--json"],
                             capture_output=True, text=True)  # longer, then shorter clips: the reused work arrays
        assert run.returncode == 0, run.stderr[-2000:]
        got = json.loads(run.stdout)
        assert len({json.dumps(r["probabilities"], sort_keys=True) for r in ref}) == len(clips)  # lengths matter
        assert len(got) == 2 * len(clips)
        for r, g in zip(ref + ref[::-1], got):
            assert g["label"] == r["label"]
            for k, v in r["probabilities"].items():
                assert abs(g["probabilities"][k] - v) <= 1e-4
