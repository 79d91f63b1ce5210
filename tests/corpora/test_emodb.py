"""EMODB loader on a generated tree in the publisher's layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from testaudio import tone

from emoconv.corpora import load_corpus
from emoconv.corpora.emodb import EMODB_EMOTIONS, parse_emodb_name, scan_emodb
from emoconv.errors import CorpusError


def wav(path: Path, seconds: float = 0.1, sr: int = 8_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr), sr, subtype="PCM_16")
    return path


def test_parse_name():
    info = parse_emodb_name("03a01Fa.wav")
    assert (info.speaker, info.text, info.code, info.label, info.version) == ("03", "a01", "F", "happiness", "a")
    assert {parse_emodb_name(f"16b10{c}c.wav").label for c in EMODB_EMOTIONS} == {
        "anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral"}
    with pytest.raises(ValueError, match="unknown EMODB emotion code 'X'"):
        parse_emodb_name("03a01Xa.wav")
    with pytest.raises(ValueError, match="not in EMODB form"):
        parse_emodb_name("hello.wav")


@pytest.fixture
def emodb(tmp_path):
    names = ["03a01Wa", "03a02Lb", "08a01Ea", "08b10Aa", "09a01Fa", "10a01Ta", "16b03Nc"]
    for name in names:
        wav(tmp_path / "wav" / f"{name}.wav")
    wav(tmp_path / "wav" / "03a05Xa.wav")  # unknown emotion code
    wav(tmp_path / "wav" / "notes.wav")  # unparseable name
    wav(tmp_path / "wav" / "99a01Wa.wav")  # unknown speaker
    (tmp_path / "wav" / "11a01Wa.wav").write_bytes(b"garbage" * 30)  # unreadable
    (tmp_path / "erkennung.txt").write_text("not audio")
    return tmp_path


def test_scan_counts_labels_genders_and_problems(emodb):
    scan = scan_emodb(emodb)
    utts = {u.path.stem: u for u in scan.utterances}
    assert len(utts) == 7
    assert {u.label for u in utts.values()} == {
        "anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral"}
    u = utts["08b10Aa"]
    assert (u.speaker, u.gender, u.label, u.native_label, u.sentence, u.corpus) == (
        "08", "f", "fear", "A", "b10", "emodb")
    assert utts["03a01Wa"].gender == "m" and utts["16b03Nc"].attrs == {"version": "c"}
    assert utts["03a01Wa"].uid == "emodb:03a01Wa"
    problems = {p.path.name: p.message for p in scan.problems}
    assert set(problems) == {"03a05Xa.wav", "notes.wav", "99a01Wa.wav", "11a01Wa.wav"}
    assert "unknown EMODB emotion code 'X'" in problems["03a05Xa.wav"]
    assert "unknown EMODB speaker '99'" in problems["99a01Wa.wav"]
    assert problems["11a01Wa.wav"].startswith("unreadable audio")


def test_wav_folder_itself_is_accepted(emodb):
    assert len(scan_emodb(emodb / "wav").utterances) == 7


def test_missing_folder(tmp_path):
    with pytest.raises(CorpusError, match="nowhere: emodb folder not found"):
        scan_emodb(tmp_path / "nowhere")


def test_load_corpus_skips_problems(emodb):
    assert len(load_corpus("emodb", emodb)) == 7
