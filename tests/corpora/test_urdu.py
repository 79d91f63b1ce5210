"""URDU loader: names, a generated tree, problems, and the real corpus when unpacked."""

from __future__ import annotations

from collections import Counter

import pytest
from testaudio import write_wav as wav

from emoconv.corpora import load_corpus
from emoconv.corpora.inspect import inspect_corpus
from emoconv.corpora.urdu import parse_urdu_name, scan_urdu
from emoconv.errors import CorpusError


def test_parse_name():
    info = parse_urdu_name("SM1_F10_A010.wav")
    assert (info.speaker, info.gender, info.file_number, info.code, info.label) == ("SM1", "m", "10", "A", "anger")
    assert parse_urdu_name("SF1_F2_N002.wav").speaker == "SF1"  # not the same speaker as SM1
    assert [parse_urdu_name(f"SM2_F1_{c}001.wav").label for c in "AHNS"] == ["anger", "happiness", "neutral",
                                                                           "sadness"]
    with pytest.raises(ValueError, match="unknown URDU emotion letter 'X'"):
        parse_urdu_name("SM1_F1_X001.wav")
    with pytest.raises(ValueError, match="not in URDU form"):
        parse_urdu_name("M1_F1_A001.wav")


def test_generated_tree_with_problems(tmp_path):
    for folder, letter in (("Angry", "A"), ("Happy", "H"), ("Neutral", "N"), ("Sad", "S")):
        for spk in ("SM1", "SF1"):
            wav(tmp_path / folder / f"{spk}_F1_{letter}001.wav")
    wav(tmp_path / "Sad" / "SM3_F1_A002.wav")  # letter and folder disagree
    scan = scan_urdu(tmp_path)
    assert len(scan.utterances) == 8 and [p.path.name for p in scan.problems] == ["SM3_F1_A002.wav"]
    assert Counter(u.speaker for u in scan.utterances) == {"SM1": 4, "SF1": 4}
    assert {u.gender for u in scan.utterances if u.speaker == "SF1"} == {"f"}
    with pytest.raises(CorpusError, match="urdu folder not found"):
        scan_urdu(tmp_path / "missing")


@pytest.mark.real_audio
def test_real_urdu(dev_corpora):
    root = dev_corpora / "urdu"
    if not root.is_dir():
        pytest.skip("URDU not unpacked")
    utts = load_corpus("urdu", root)
    assert len(utts) == 400
    assert set(Counter(u.label for u in utts).values()) == {100}
    # the file names hold 29 speaker ids (18 male, 11 female); the publisher's README says 38 speakers
    spk = {u.speaker for u in utts}
    assert len(spk) == 29 and sum(s.startswith("SF") for s in spk) == 11
    assert not inspect_corpus("urdu", root).problems
