"""TESS loader: folder case variants, label from the file name, AIFF in .wav."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from testaudio import tone

from emoconv.corpora.tess import parse_tess_name, scan_tess
from emoconv.errors import CorpusError


def wav(path: Path, seconds: float = 0.1, sr: int = 8_000, fmt: str = "WAV") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr), sr, format=fmt, subtype="PCM_16")
    return path


@pytest.mark.parametrize("name,label,emotion", [
    ("OAF_back_angry.wav", "anger", "angry"), ("YAF_bar_ps.wav", "surprise", "ps"),
    ("YAF_bar_pleasant_surprise.wav", "surprise", "pleasant_surprise"),
    ("YAF_germ_pleasant_surprised.wav", "surprise", "pleasant_surprised"),
    ("OAF_youth_Fear.wav", "fear", "fear"), ("OAF_dog_disgust.wav", "disgust", "disgust"),
    ("YAF_dab_happy.wav", "happiness", "happy"), ("OAF_bath_neutral.wav", "neutral", "neutral"),
    ("YAF_kite_sad.wav", "sadness", "sad"),
])
def test_parse_name(name, label, emotion):
    info = parse_tess_name(name)
    assert (info.label, info.emotion) == (label, emotion)


def test_parse_errors():
    with pytest.raises(ValueError, match="unknown TESS emotion 'calm'"):
        parse_tess_name("OAF_back_calm.wav")
    with pytest.raises(ValueError, match="not in TESS form"):
        parse_tess_name("OAF_back.wav")
    assert parse_tess_name("OA_bite_neutral.wav").speaker is None


def test_scan_with_case_variants(tmp_path):
    wav(tmp_path / "OAF_angry" / "OAF_back_angry.wav")
    wav(tmp_path / "OAF_Fear" / "OAF_back_fear.wav", fmt="AIFF")  # AIFF data named .wav
    wav(tmp_path / "OAF_neutral" / "OA_bite_neutral.wav")  # speaker from the folder
    wav(tmp_path / "YAF_pleasant_surprised" / "YAF_back_ps.wav")
    wav(tmp_path / "yaf_sad" / "YAF_back_sad.wav")
    wav(tmp_path / "YAF_sad" / "YAF_back_bored.wav")  # unknown emotion
    wav(tmp_path / "misc" / "XYZ_back_sad.wav")  # unknown speaker
    (tmp_path / "YAF_happy").mkdir()
    (tmp_path / "YAF_happy" / "YAF_back_happy.wav").write_bytes(b"RIFF" + b"\0" * 40)  # unreadable
    scan = scan_tess(tmp_path)
    got = {u.uid: (u.speaker, u.label, u.sentence, u.gender) for u in scan.utterances}
    assert got == {
        "tess:OAF_back_angry": ("OAF", "anger", "back", "f"),
        "tess:OAF_back_fear": ("OAF", "fear", "back", "f"),
        "tess:OAF_bite_neutral": ("OAF", "neutral", "bite", "f"),
        "tess:YAF_back_ps": ("YAF", "surprise", "back", "f"),
        "tess:YAF_back_sad": ("YAF", "sadness", "back", "f"),
    }
    assert next(u for u in scan.utterances if u.label == "surprise").native_label == "ps"
    problems = {p.path.name: p.message for p in scan.problems}
    assert set(problems) == {"YAF_back_bored.wav", "XYZ_back_sad.wav", "YAF_back_happy.wav"}
    assert "neither OAF nor YAF" in problems["XYZ_back_sad.wav"]
    assert problems["YAF_back_happy.wav"].startswith("unreadable audio")


def test_missing_folder(tmp_path):
    with pytest.raises(CorpusError, match="tess folder not found"):
        scan_tess(tmp_path / "missing")
