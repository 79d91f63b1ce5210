"""The built-in synthetic corpus: files, manifest, determinism, idempotence, atomicity, learnability."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

import emoconv.corpora.builtin as builtin
from emoconv.config import config_hash
from emoconv.corpora.base import SHARED_LABELS
from emoconv.corpora.builtin import BuiltinConfig, builtin_corpus_dir, generate_builtin
from emoconv.errors import ConfigError

TINY = BuiltinConfig(n_speakers=2, utterances_per_class=2, classes=("anger", "sadness"),
                     min_duration_s=0.5, max_duration_s=0.7, seed=3)


def _manifest(root: Path) -> list[dict[str, str]]:
    with open(root / "manifest.csv", newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return generate_builtin(tmp_path_factory.mktemp("builtin") / "tiny", TINY)


def test_writes_wavs_and_manifest(tiny):
    rows = _manifest(tiny)
    with open(tiny / "manifest.csv", encoding="utf-8") as fh:
        assert fh.readline().strip() == "path,speaker,label,gender,corpus"
    assert len(rows) == 2 * 2 * 2
    assert sorted(p.name for p in (tiny / "wav").iterdir()) == sorted(Path(r["path"]).name for r in rows)
    assert rows[0]["path"] == "wav/s01f_anger_00.wav"
    assert {r["speaker"] for r in rows} == {"s01f", "s02m"}
    assert {(r["speaker"], r["gender"]) for r in rows} == {("s01f", "f"), ("s02m", "m")}
    assert {r["label"] for r in rows} == {"anger", "sadness"}
    assert all(r["label"] in SHARED_LABELS and r["corpus"] == "builtin" for r in rows)
    for r in rows:
        spk, label, _ = Path(r["path"]).stem.split("_")
        assert (spk, label) == (r["speaker"], r["label"])


def test_files_are_16bit_pcm_at_the_rate_within_duration_bounds(tiny):
    for r in _manifest(tiny):
        info = sf.info(str(tiny / r["path"]))
        assert (info.samplerate, info.channels, info.subtype, info.format) == (16000, 1, "PCM_16", "WAV")
        assert TINY.min_duration_s - 1e-3 <= info.duration <= TINY.max_duration_s + 1e-3
        x, _ = sf.read(str(tiny / r["path"]))
        assert np.max(np.abs(x)) > 0.005


def test_same_config_gives_bit_identical_files_and_other_seed_differs(tiny, tmp_path):
    again = generate_builtin(tmp_path / "again", TINY)
    other = generate_builtin(tmp_path / "other", BuiltinConfig(**{**TINY.__dict__, "seed": 4}))
    for r in _manifest(tiny):
        assert (again / r["path"]).read_bytes() == (tiny / r["path"]).read_bytes()
        assert (other / r["path"]).read_bytes() != (tiny / r["path"]).read_bytes()
    assert (again / "manifest.csv").read_bytes() == (tiny / "manifest.csv").read_bytes()


def test_a_file_depends_only_on_seed_speaker_label_and_index(tiny, tmp_path):
    more = BuiltinConfig(n_speakers=3, utterances_per_class=3, classes=("sadness", "neutral", "anger"),
                         min_duration_s=0.5, max_duration_s=0.7, seed=3)
    root = generate_builtin(tmp_path / "more", more)
    assert len(_manifest(root)) == 27
    for r in _manifest(tiny):
        assert (root / r["path"]).read_bytes() == (tiny / r["path"]).read_bytes()


def test_second_call_is_a_no_op(tiny):
    before = {p: p.stat().st_mtime_ns for p in tiny.rglob("*")}
    assert generate_builtin(tiny, TINY) == tiny
    assert {p: p.stat().st_mtime_ns for p in tiny.rglob("*")} == before


def test_other_config_in_same_folder_is_a_config_error(tiny):
    with pytest.raises(ConfigError, match=r"another config.*choose another folder"):
        generate_builtin(tiny, BuiltinConfig(**{**TINY.__dict__, "utterances_per_class": 3}))


def test_foreign_non_empty_folder_is_refused_and_empty_folder_accepted(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        generate_builtin(tmp_path / "busy", TINY)
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    (tmp_path / "empty").mkdir()
    root = generate_builtin(tmp_path / "empty", TINY)
    assert len(_manifest(root)) == 8


def test_killed_generation_leaves_no_corpus_and_no_temp_folder(tmp_path, monkeypatch):
    calls = []
    real = builtin.synthesize_utterance

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(builtin, "synthesize_utterance", dying)
    with pytest.raises(KeyboardInterrupt):
        generate_builtin(tmp_path / "corpus", TINY)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(builtin, "synthesize_utterance", real)
    assert len(_manifest(generate_builtin(tmp_path / "corpus", TINY))) == 8


def test_stale_stamp_without_manifest_is_not_taken_as_complete(tmp_path):
    root = tmp_path / "c"
    root.mkdir()
    (root / builtin.STAMP_NAME).write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        generate_builtin(root, TINY)


def test_corpus_dir_uses_cache_env_and_config_hash(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOCONV_CACHE", str(tmp_path))
    d = builtin_corpus_dir(TINY)
    assert d == tmp_path / "builtin" / config_hash(TINY)
    assert builtin_corpus_dir(BuiltinConfig()) != d


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"classes": ("neutral", "joy")}, "builtin.classes"),
        ({"classes": ("anger", "anger")}, "builtin.classes"),
        ({"classes": ()}, "builtin.classes"),
        ({"n_speakers": 0}, "builtin.n_speakers"),
        ({"utterances_per_class": 0}, "builtin.utterances_per_class"),
        ({"min_duration_s": 3.0, "max_duration_s": 2.0}, "builtin.min_duration_s"),
        ({"sample_rate": 100}, "builtin.sample_rate"),
        ({"seed": -1}, "builtin.seed"),
    ],
)
def test_bad_config_raises_config_error_naming_the_setting(changes, setting):
    with pytest.raises(ConfigError, match=setting):
        BuiltinConfig(**changes)


def test_registered_scan_reads_the_manifest(tiny):
    pytest.importorskip("emoconv.corpora.manifest")
    from emoconv.corpora.base import load_corpus

    utts = load_corpus("builtin", tiny)
    assert len(utts) == 8
    assert {(u.speaker, u.label, u.gender, u.corpus) for u in utts} == {
        (s, lab, s[-1], "builtin") for s in ("s01f", "s02m") for lab in ("anger", "sadness")
    }
    assert all(Path(u.path).is_file() for u in utts)


def _summary(x: np.ndarray, mel: np.ndarray) -> np.ndarray:
    """Per-utterance mean and std of a 40-band log-mel (25 ms / 10 ms)."""
    _, _, z = signal.stft(x, 16000, nperseg=400, noverlap=240, nfft=512)
    logmel = np.log(mel @ (np.abs(z) ** 2) + 1e-10)
    return np.concatenate([logmel.mean(axis=1), logmel.std(axis=1)])


def test_speaker_independent_baseline_is_above_chance_and_below_perfect(tmp_path):
    import librosa.filters
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cfg = BuiltinConfig(n_speakers=4, utterances_per_class=8, min_duration_s=1.0, max_duration_s=1.5, seed=0)
    root = generate_builtin(tmp_path / "learn", cfg)
    rows = _manifest(root)
    mel = librosa.filters.mel(sr=16000, n_fft=512, n_mels=40)
    feats = np.stack([_summary(sf.read(str(root / r["path"]), dtype="float32")[0], mel) for r in rows])
    labels = np.array([r["label"] for r in rows])
    speakers = np.array([r["speaker"] for r in rows])
    uas = []
    for held_out in sorted(set(speakers)):  # leave one speaker out
        train, test = speakers != held_out, speakers == held_out
        clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        clf.fit(feats[train], labels[train])
        uas.append(balanced_accuracy_score(labels[test], clf.predict(feats[test])))
    ua = float(np.mean(uas))
    assert 0.40 < ua < 0.95, f"UA {ua:.3f} per speaker {np.round(uas, 3)}"
