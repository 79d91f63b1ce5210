"""CREMA-D loader: names, demographics for gender, problems."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from testaudio import tone

from emoconv.corpora.cremad import parse_cremad_name, scan_cremad
from emoconv.errors import CorpusError


def wav(path: Path, seconds: float = 0.1, sr: int = 8_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr), sr, subtype="PCM_16")
    return path


def test_parse_name():
    info = parse_cremad_name("1001_DFA_ANG_XX.wav")
    assert (info.actor, info.sentence, info.code, info.label, info.intensity) == (
        "1001", "DFA", "ANG", "anger", "unspecified")
    assert parse_cremad_name("1091_WSI_NEU_HI.wav").intensity == "high"
    for bad, msg in [("1001_DFA_BOR_XX", "emotion code 'BOR'"), ("1001_ABC_ANG_XX", "sentence code 'ABC'"),
                     ("1001_DFA_ANG_ZZ", "intensity 'ZZ'"), ("1092_DFA_ANG_XX", "outside 1001..1091"),
                     ("1001-DFA-ANG", "not in CREMA-D form")]:
        with pytest.raises(ValueError, match=msg):
            parse_cremad_name(bad + ".wav")


def _tree(root: Path) -> Path:
    audio = root / "AudioWAV"
    for name in ("1001_DFA_ANG_XX", "1001_IEO_HAP_LO", "1002_TIE_SAD_MD", "1003_ITH_NEU_XX", "1003_MTI_FEA_HI",
                 "1002_WSI_DIS_XX"):
        wav(audio / f"{name}.wav")
    (audio / "1076_MTI_SAD_XX.wav").write_bytes(b"")  # a known-empty file in some copies
    wav(audio / "1001_DFA_XYZ_XX.wav")
    return audio


def test_scan_with_demographics(tmp_path):
    audio = _tree(tmp_path)
    (tmp_path / "VideoDemographics.csv").write_text(
        "ActorID,Age,Sex,Race,Ethnicity\n1001,51,Male,Caucasian,Not Hispanic\n"
        "1002,21,Female,Caucasian,Not Hispanic\n1003,21,Robot,Unknown,Unknown\n")
    for root in (tmp_path, audio):
        scan = scan_cremad(root)
        genders = {u.speaker: u.gender for u in scan.utterances}
        assert genders == {"1001": "m", "1002": "f", "1003": None}
        assert len(scan.utterances) == 6
        assert {u.label for u in scan.utterances} == {
            "anger", "happiness", "sadness", "neutral", "fear", "disgust"}
        u = next(u for u in scan.utterances if u.path.stem == "1001_IEO_HAP_LO")
        assert (u.native_label, u.sentence, u.attrs["intensity"]) == ("HAP", "IEO", "low")
        problems = {p.path.name: p.message for p in scan.problems}
        assert set(problems) == {"1076_MTI_SAD_XX.wav", "1001_DFA_XYZ_XX.wav", "VideoDemographics.csv"}
        assert "empty file (0 bytes)" in problems["1076_MTI_SAD_XX.wav"]
        assert "line 4: unknown gender 'Robot'" in problems["VideoDemographics.csv"]


def test_without_demographics_gender_is_none(tmp_path):
    _tree(tmp_path)
    scan = scan_cremad(tmp_path)
    assert len(scan.utterances) == 6 and {u.gender for u in scan.utterances} == {None}


def test_demographics_without_sex_column(tmp_path):
    _tree(tmp_path)
    (tmp_path / "VideoDemographics.csv").write_text("ActorID,Age\n1001,51\n")
    scan = scan_cremad(tmp_path)
    assert {u.gender for u in scan.utterances} == {None}
    assert any("needs columns ActorID and Sex" in p.message for p in scan.problems)


def test_missing_folder(tmp_path):
    with pytest.raises(CorpusError, match="cremad folder not found"):
        scan_cremad(tmp_path / "missing")
