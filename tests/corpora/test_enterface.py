"""eNTERFACE'05 loader: with and without the sentence level, conflicts, genders option."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from testaudio import tone

from emoconv.corpora import load_corpus
from emoconv.corpora.enterface import ENTERFACE_EMOTIONS, parse_enterface_path, scan_enterface
from emoconv.errors import ConfigError, CorpusError


def wav(path: Path, seconds: float = 0.1, sr: int = 8_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr), sr, subtype="PCM_16")
    return path


@pytest.fixture
def enterface(tmp_path):
    for folder, (code, _) in ENTERFACE_EMOTIONS.items():
        for m in (1, 2):
            wav(tmp_path / "subject 1" / folder / f"sentence {m}" / f"s1_{code}_{m}.wav")
            wav(tmp_path / "subject 6" / folder / f"s6_{code}_{m}.wav")  # no sentence level
    wav(tmp_path / "subject 2" / "anger" / "sentence 1" / "s2_di_1.wav")  # code contradicts folder
    wav(tmp_path / "subject 2" / "boredom" / "s2_bo_1.wav")  # unknown code, no emotion folder
    wav(tmp_path / "loose.wav")  # nothing to go by
    (tmp_path / "subject 2" / "fear" / "sentence 1").mkdir(parents=True)
    (tmp_path / "subject 2" / "fear" / "sentence 1" / "s2_fe_1.wav").write_bytes(b"bad" * 20)
    return tmp_path


def test_parse_path():
    root = Path("/c")
    assert parse_enterface_path(root / "subject 3/fear/sentence 2/s3_fe_2.wav", root) == ("s3", "fe", "fear", "2")
    assert parse_enterface_path(root / "subject 6/happiness/s6_ha_4.wav", root) == ("s6", "ha", "happiness", "4")
    assert parse_enterface_path(root / "s9_su_1.wav", root) == ("s9", "su", "surprise", "1")
    assert parse_enterface_path(root / "Subject 4/Sadness/sentence 5/take.wav", root) == (
        "s4", "sa", "sadness", "5")
    with pytest.raises(ValueError, match="folder says subject 3"):
        parse_enterface_path(root / "subject 3/fear/s4_fe_1.wav", root)


def test_scan(enterface):
    scan = scan_enterface(enterface)
    assert len(scan.utterances) == 24
    assert {u.speaker for u in scan.utterances} == {"s1", "s6"}
    assert {u.label for u in scan.utterances} == {"anger", "disgust", "fear", "happiness", "sadness", "surprise"}
    assert {u.gender for u in scan.utterances} == {None}
    u = next(u for u in scan.utterances if u.uid == "enterface:s6_su_2")
    assert (u.speaker, u.label, u.native_label, u.sentence) == ("s6", "surprise", "su", "su2")
    problems = {p.path.name: p.message for p in scan.problems}
    assert set(problems) == {"s2_di_1.wav", "s2_bo_1.wav", "loose.wav", "s2_fe_1.wav"}
    assert "file name says di but the folder says an" in problems["s2_di_1.wav"]
    assert "unknown eNTERFACE emotion code 'bo'" in problems["s2_bo_1.wav"]
    assert "cannot tell subject and emotion" in problems["loose.wav"]


def test_genders_option(enterface):
    utts = load_corpus("enterface", enterface, genders={"s1": "m", "6": "female"})
    assert {u.speaker: u.gender for u in utts} == {"s1": "m", "s6": "f"}
    with pytest.raises(ConfigError, match="'genders' for 's1'.*unknown gender 'x'"):
        load_corpus("enterface", enterface, genders={"s1": "x"})
    with pytest.raises(ConfigError, match="must map speakers"):
        load_corpus("enterface", enterface, genders=["s1"])


def test_videos_only_hint(tmp_path):
    (tmp_path / "subject 1" / "anger" / "sentence 1").mkdir(parents=True)
    (tmp_path / "subject 1" / "anger" / "sentence 1" / "s1_an_1.avi").write_bytes(b"video")
    scan = scan_enterface(tmp_path)
    assert not scan.utterances and "1 .avi videos but no audio" in scan.problems[0].message
    with pytest.raises(CorpusError, match="enterface folder not found"):
        scan_enterface(tmp_path / "missing")
