"""SAVEE loader: both layouts on generated trees, and the real audio when present."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf
from testaudio import tone

from emoconv.corpora import load_corpus
from emoconv.corpora.inspect import inspect_corpus
from emoconv.corpora.savee import SAVEE_EMOTIONS, parse_savee_name, scan_savee
from emoconv.errors import CorpusError


def wav(path: Path, seconds: float = 0.1, sr: int = 8_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr), sr, subtype="PCM_16")
    return path


def test_parse_name():
    assert parse_savee_name("JK_sa05.wav").label == "sadness"
    assert parse_savee_name("DC_su01.wav").label == "surprise"
    assert parse_savee_name("KL_a15.wav").label == "anger"
    info = parse_savee_name("n30.wav", folder="JE")
    assert (info.speaker, info.code, info.number, info.label) == ("JE", "n", "30", "neutral")
    with pytest.raises(ValueError, match="unknown SAVEE emotion code 'x'"):
        parse_savee_name("JK_x01.wav")
    with pytest.raises(ValueError, match="unknown SAVEE speaker 'ZZ'"):
        parse_savee_name("ZZ_a01.wav")
    with pytest.raises(ValueError, match="not in SAVEE form"):
        parse_savee_name("sa05.wav")  # no speaker folder


@pytest.mark.parametrize("layout", ["flat", "per_speaker"])
def test_both_layouts_give_the_same_ids(tmp_path, layout):
    for spk in ("DC", "JK"):
        for code in SAVEE_EMOTIONS:
            name = f"{spk}_{code}01.wav" if layout == "flat" else f"{spk}/{code}01.wav"
            wav(tmp_path / ("ALL" if layout == "flat" else "AudioData") / name)
    scan = scan_savee(tmp_path)
    assert not scan.problems and len(scan.utterances) == 14
    assert {u.uid for u in scan.utterances} >= {"savee:DC_sa01", "savee:JK_su01", "savee:JK_a01"}
    u = next(u for u in scan.utterances if u.uid == "savee:JK_sa01")
    assert (u.speaker, u.gender, u.label, u.native_label, u.sentence) == ("JK", "m", "sadness", "sa", "sa01")


def test_problems_do_not_stop_the_scan(tmp_path):
    wav(tmp_path / "ALL" / "DC_a01.wav")
    wav(tmp_path / "ALL" / "DC_q01.wav")
    wav(tmp_path / "ALL" / "info.wav")
    (tmp_path / "ALL" / "JE_h02.wav").write_bytes(b"junk" * 20)
    scan = scan_savee(tmp_path / "ALL")
    assert [u.uid for u in scan.utterances] == ["savee:DC_a01"]
    assert sorted(p.path.name for p in scan.problems) == ["DC_q01.wav", "JE_h02.wav", "info.wav"]


def test_missing_folder(tmp_path):
    with pytest.raises(CorpusError, match="savee folder not found"):
        scan_savee(tmp_path / "missing")


@pytest.mark.real_audio
def test_real_savee(shared_corpora):
    root = shared_corpora / "savee" / "ALL"
    utts = load_corpus("savee", root)
    assert len(utts) == 480
    per_speaker = Counter(u.speaker for u in utts)
    assert per_speaker == {"DC": 120, "JE": 120, "JK": 120, "KL": 120}
    for spk in per_speaker:
        labels = Counter(u.label for u in utts if u.speaker == spk)
        assert labels == {"neutral": 30, "anger": 15, "disgust": 15, "fear": 15,
                          "happiness": 15, "sadness": 15, "surprise": 15}
    assert {u.gender for u in utts} == {"m"}
    assert len({u.uid for u in utts}) == 480
    report = inspect_corpus("savee", root)
    assert report.n_utterances == 480 and not report.problems
    assert 1.6 * 480 < report.total_duration_s < 7.2 * 480
