"""inspect_corpus: counts, duration, problems, text and JSON forms."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf
from testaudio import tone

from emoconv.corpora.inspect import inspect_corpus
from emoconv.errors import ConfigError, CorpusError


def wav(path: Path, seconds: float = 0.1, sr: int = 8_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr), sr, subtype="PCM_16")
    return path


@pytest.fixture
def ravdess(tmp_path):
    for actor in (1, 2, 3):
        wav(tmp_path / f"Actor_{actor:02d}" / f"03-01-01-01-01-01-{actor:02d}.wav", seconds=0.1)
        wav(tmp_path / f"Actor_{actor:02d}" / f"03-01-05-01-01-01-{actor:02d}.wav", seconds=0.2)
        wav(tmp_path / f"Actor_{actor:02d}" / f"03-01-05-02-01-01-{actor:02d}.wav", seconds=0.2)
        wav(tmp_path / f"Actor_{actor:02d}" / f"03-02-05-02-01-01-{actor:02d}.wav")  # song
    (tmp_path / "Actor_01" / "03-01-07-01-01-01-01.wav").write_bytes(b"junk" * 30)
    return tmp_path


def test_counts_and_duration(ravdess):
    rep = inspect_corpus("ravdess", ravdess)
    assert rep.n_utterances == 9
    assert rep.per_speaker == {"01": {"neutral": 1, "anger": 2}, "02": {"neutral": 1, "anger": 2},
                               "03": {"neutral": 1, "anger": 2}}
    assert rep.per_label == {"neutral": 3, "anger": 6}
    assert rep.per_gender == {"f": 3, "m": 6}
    assert rep.total_duration_s == pytest.approx(3 * 0.5)
    assert rep.excluded == {"song (vocal channel 02)": 3}
    assert len(rep.problems) == 1 and "unreadable audio" in rep.problems[0].message


def test_without_audio_check(ravdess):
    rep = inspect_corpus("ravdess", ravdess, check_audio=False)
    assert rep.total_duration_s is None
    assert rep.n_utterances == 10 and not rep.problems  # the junk file is not looked at


def test_render_and_to_dict(ravdess):
    rep = inspect_corpus("ravdess", ravdess)
    text = rep.render()
    lines = text.splitlines()
    assert lines[0].startswith(f"ravdess at {ravdess}: 9 utterances, 3 speakers, 2 labels, 1.5 s of audio")
    assert lines[2].split() == ["speaker", "neutral", "anger", "total"]
    assert ["01", "1", "2", "3"] in [ln.split() for ln in lines]
    assert ["total", "3", "6", "9"] in [ln.split() for ln in lines]
    assert "genders:  f 3, m 6" in text and "excluded: 3 x song (vocal channel 02)" in text
    assert "problems: 1" in text and "03-01-07-01-01-01-01.wav: unreadable audio" in text
    data = json.loads(json.dumps(rep.to_dict()))
    assert data["n_utterances"] == 9 and data["n_speakers"] == 3 and data["n_problems"] == 1
    assert data["per_speaker"]["02"] == {"neutral": 1, "anger": 2}
    assert data["problems"][0]["path"].endswith("03-01-07-01-01-01-01.wav")


def test_options_sessions_and_errors(tmp_path):
    base = tmp_path / "Session1"
    wav(base / "sentences" / "wav" / "Ses01F_impro01" / "Ses01F_impro01_F000.wav")
    (base / "dialog" / "EmoEvaluation").mkdir(parents=True)
    (base / "dialog" / "EmoEvaluation" / "Ses01F_impro01.txt").write_text(
        "[0.1 - 0.9]\tSes01F_impro01_F000\texc\t[3.0, 3.0, 3.0]\n")
    rep = inspect_corpus("iemocap", tmp_path, merge_excited=True)
    assert rep.per_session == {"Session1": 1} and rep.per_label == {"happiness": 1}
    assert "(merge_excited=True)" in rep.render().splitlines()[0]
    empty = inspect_corpus("iemocap", tmp_path)
    assert empty.n_utterances == 0 and empty.to_dict()["n_utterances"] == 0
    assert "0 utterances" in empty.render()
    with pytest.raises(ConfigError, match="no option 'bogus'"):
        inspect_corpus("iemocap", tmp_path, bogus=1)
    with pytest.raises(CorpusError, match="not found"):
        inspect_corpus("iemocap", tmp_path / "missing")
