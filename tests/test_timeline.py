"""emoconv predict --timeline: windows streamed from long recordings, silent windows gated, rows, CSV, plot."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import soundfile as sf
import torch
from click.testing import CliRunner

from emoconv.bundle import load_bundle, save_bundle
from emoconv.cli import main
from emoconv.features import FeatureConfig, Normalizer
from emoconv.features.inputs import InputConfig
from emoconv.models import build_model
from emoconv.timeline import _windows, smooth_rows, timeline

SR = 16000


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("timeline")
    feats = FeatureConfig(kind="logmel", n_mels=40, win_ms=25, hop_ms=20)
    frames = 50  # 1 s windows by default
    torch.manual_seed(0)
    model = build_model("mts.a4", n_classes=4, input_shape=(1, frames, 40), conv="standard")
    norm = Normalizer("global").fit([torch.randn(1, 100, 40) - 5])
    path = save_bundle(root / "bundle", model=model, model_name="mts.a4", model_params={"conv": "standard"},
                       input_shape=(1, frames, 40), labels=["neutral", "anger", "happiness", "sadness"],
                       features=feats, input_cfg=InputConfig(length="pad"), frames=frames, normalizer=norm)
    return load_bundle(path)


def _tones(seconds: float, sr: int, silence: tuple[float, float] | None = None, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    wav = 0.3 * np.sin(2 * np.pi * (150 + 40 * np.sin(2 * np.pi * 0.3 * t)) * t)
    if silence:
        wav[int(silence[0] * sr): int(silence[1] * sr)] = 0.0
    return np.stack([wav] * channels, axis=1) if channels > 1 else wav


def test_streamed_windows_equal_slices_of_the_whole_recording(tmp_path):
    wav = np.random.default_rng(0).standard_normal(SR * 23).astype(np.float32) * 0.1
    sf.write(tmp_path / "a.wav", wav, SR, subtype="FLOAT")
    got = list(_windows(tmp_path / "a.wav", SR, window=SR * 3, hop=SR, block=SR * 2))  # blocks smaller than a window
    assert [s for s, _ in got] == [i * SR for i in range(21)]  # 0..20 s: the last full window ends at 23 s
    for s, w in got:
        np.testing.assert_array_equal(w, wav[s:s + SR * 3])


def test_the_tail_and_a_short_recording_are_one_window_each(tmp_path):
    sf.write(tmp_path / "a.wav", np.full(int(SR * 4.5), 0.1, np.float32), SR)
    starts = [(s, len(w)) for s, w in _windows(tmp_path / "a.wav", SR, SR * 2, SR * 2, SR * 10)]
    assert starts == [(0, SR * 2), (SR * 2, SR * 2), (int(SR * 2.5), SR * 2)]  # the tail ends at the end
    sf.write(tmp_path / "b.wav", np.full(SR // 2, 0.1, np.float32), SR)
    assert [(s, len(w)) for s, w in _windows(tmp_path / "b.wav", SR, SR * 2, SR, SR * 10)] == [(0, SR // 2)]


def test_window_probabilities_equal_predict_on_the_same_excerpt(bundle, tmp_path):
    wav = _tones(6.0, SR)
    sf.write(tmp_path / "long.wav", wav, SR, subtype="FLOAT")
    res = timeline(bundle, tmp_path / "long.wav", window_s=1.0, hop_s=0.5, batch=4)
    assert len(res["rows"]) == 11 and res["rows"][-1]["end"] == 6.0
    for r in (res["rows"][0], res["rows"][7]):
        s = int(r["start"] * SR)
        sf.write(tmp_path / "cut.wav", wav[s:s + SR], SR, subtype="FLOAT")
        (ref,) = bundle.predict_files([tmp_path / "cut.wav"])
        for k, v in ref["probabilities"].items():
            assert r["probabilities"][k] == pytest.approx(v, abs=1e-5)


def test_silent_windows_are_marked_and_a_resampled_stereo_file_works(bundle, tmp_path):
    sf.write(tmp_path / "call.wav", _tones(10.0, 44100, silence=(4.0, 6.0), channels=2), 44100)
    res = timeline(bundle, tmp_path / "call.wav", window_s=1.0, hop_s=0.5)
    silent = [(r["start"], r["end"]) for r in res["rows"] if not r["voiced"]]
    assert silent == [(4.0, 5.0), (4.5, 5.5), (5.0, 6.0)]
    assert all(r["label"] == "silence" and r["probabilities"] is None for r in res["rows"] if not r["voiced"])
    voiced = [r for r in res["rows"] if r["voiced"]]
    assert all(abs(sum(r["probabilities"].values()) - 1) < 1e-4 for r in voiced)
    everything = timeline(bundle, tmp_path / "call.wav", window_s=1.0, hop_s=0.5, vad_db=None)
    assert all(r["voiced"] for r in everything["rows"])


def test_smoothing_is_a_centred_moving_average_over_voiced_windows():
    rows = [{"voiced": True, "probabilities": {"a": p, "b": 1 - p}} for p in (1.0, 0.0, 1.0, 1.0)]
    rows.insert(2, {"voiced": False, "probabilities": None, "label": "silence"})
    out = smooth_rows(rows, 3)
    assert [r["probabilities"]["a"] if r["voiced"] else None for r in out] == \
        [pytest.approx(0.5), pytest.approx(2 / 3), None, pytest.approx(2 / 3), pytest.approx(1.0)]
    assert out[2]["label"] == "silence"


def test_cli_timeline_csv_json_plot_and_errors(bundle, tmp_path):
    sf.write(tmp_path / "rec.wav", _tones(5.0, SR, silence=(2.0, 3.5)), SR)
    run = CliRunner()
    args = ["predict", str(bundle.path), str(tmp_path / "rec.wav"), "--timeline", "--hop", "0.5"]
    out = run.invoke(main, [*args, "--csv", "--plot", str(tmp_path / "t.png")])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(rows) == 9 and rows[0]["p_anger"] != "" and "silence" in {r["label"] for r in rows}
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    js = json.loads(run.invoke(main, [*args, "--json", "--smooth", "3"]).stdout)
    assert js["smooth"] == 3 and len(js["rows"]) == 9
    text = run.invoke(main, args)
    assert text.exit_code == 0 and "9 windows" in text.output
    for bad in (["--plot", "x.png", str(tmp_path / "rec.wav")], ["--hop", "0"], ["--csv", "--json"]):
        res = run.invoke(main, [*args, *bad])
        assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1, res.output
    missing = run.invoke(main, ["predict", str(bundle.path), str(tmp_path / "none.wav"), "--timeline"])
    assert missing.exit_code != 0 and "none.wav" in missing.output
