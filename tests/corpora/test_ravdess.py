"""RAVDESS loader: speech only, both folder layouts, duplicate copies, problems."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from testaudio import tone

from emoconv.corpora import load_corpus
from emoconv.corpora.ravdess import parse_ravdess_name, scan_ravdess
from emoconv.errors import CorpusError


def wav(path: Path, seconds: float = 0.1, sr: int = 8_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr), sr, subtype="PCM_16")
    return path


def test_parse_name():
    r = parse_ravdess_name("03-01-06-02-02-01-12.wav")
    assert (r.modality, r.channel, r.emotion, r.label, r.intensity, r.statement, r.repetition, r.actor) == (
        "audio-only", "speech", "fearful", "fear", "strong", "02", 1, "12")
    assert parse_ravdess_name("03-02-03-01-01-01-01.wav").channel == "song"
    assert parse_ravdess_name("03-01-08-01-01-01-01.wav").label == "surprise"
    assert parse_ravdess_name("03-01-02-01-01-01-01.wav").label == "calm"
    with pytest.raises(ValueError, match="unknown RAVDESS emotion code '09'"):
        parse_ravdess_name("03-01-09-01-01-01-01.wav")
    with pytest.raises(ValueError, match="actor '25' outside"):
        parse_ravdess_name("03-01-01-01-01-01-25.wav")
    with pytest.raises(ValueError, match="not in RAVDESS form"):
        parse_ravdess_name("03-01-01.wav")


def _tree(base: Path) -> None:
    for actor in (1, 2):
        for emo in ("01", "02", "05", "08"):
            wav(base / f"Actor_{actor:02d}" / f"03-01-{emo}-01-01-01-{actor:02d}.wav")
        wav(base / f"Actor_{actor:02d}" / f"03-02-03-01-01-01-{actor:02d}.wav")  # song


def test_scan_speech_only_with_genders(tmp_path):
    _tree(tmp_path)
    wav(tmp_path / "Actor_01" / "03-01-11-01-01-01-01.wav")  # unknown emotion
    wav(tmp_path / "Actor_01" / "03-01-01-01-01-01-02.wav")  # actor 02 in Actor_01 folder
    (tmp_path / "Actor_02" / "03-01-03-01-02-02-02.wav").write_bytes(b"\0" * 100)  # unreadable
    scan = scan_ravdess(tmp_path)
    assert len(scan.utterances) == 8
    assert scan.excluded == {"song (vocal channel 02)": 2}
    assert {u.speaker: u.gender for u in scan.utterances} == {"01": "m", "02": "f"}
    assert {u.label for u in scan.utterances} == {"neutral", "calm", "anger", "surprise"}
    u = next(u for u in scan.utterances if u.native_label == "angry")
    assert (u.label, u.sentence, u.attrs["intensity"], u.attrs["repetition"]) == ("anger", "01", "normal", 1)
    messages = sorted(p.message for p in scan.problems)
    assert len(messages) == 3
    assert any("unknown RAVDESS emotion code '11'" in m for m in messages)
    assert any("actor 02 in the name but the file is in Actor_01" in m for m in messages)
    assert any(m.startswith("unreadable audio") for m in messages)


def test_parent_folder_and_duplicate_copies(tmp_path):
    _tree(tmp_path / "Audio_Speech_Actors_01-24")
    assert len(scan_ravdess(tmp_path / "Audio_Speech_Actors_01-24").utterances) == 8
    _tree(tmp_path)  # the Kaggle archive holds both copies
    scan = scan_ravdess(tmp_path)
    assert len(scan.utterances) == 8 and not scan.problems
    assert scan.excluded["second copy of a file (same name in another folder)"] == 8
    assert len(load_corpus("ravdess", tmp_path)) == 8


def test_missing_folder(tmp_path):
    with pytest.raises(CorpusError, match="ravdess folder not found"):
        scan_ravdess(tmp_path / "missing")
