"""EMOVO loader: names, a generated tree, problems, and the real corpus when unpacked."""

from __future__ import annotations

from collections import Counter

import pytest
from testaudio import write_wav as wav

from emoconv.corpora import load_corpus
from emoconv.corpora.emovo import EMOVO_EMOTIONS, parse_emovo_name, scan_emovo
from emoconv.corpora.inspect import inspect_corpus
from emoconv.errors import CorpusError


def test_parse_name():
    info = parse_emovo_name("dis-f1-b1.wav")
    assert (info.speaker, info.code, info.sentence, info.label) == ("f1", "dis", "b1", "disgust")
    assert {c: parse_emovo_name(f"{c}-m2-l3.wav").label for c in EMOVO_EMOTIONS} == {
        "dis": "disgust", "gio": "happiness", "neu": "neutral", "pau": "fear", "rab": "anger",
        "sor": "surprise", "tri": "sadness"}
    with pytest.raises(ValueError, match="unknown EMOVO emotion code 'xyz'"):
        parse_emovo_name("xyz-f1-b1.wav")
    with pytest.raises(ValueError, match="unknown EMOVO speaker 'f9'"):
        parse_emovo_name("dis-f9-b1.wav")
    with pytest.raises(ValueError, match="not in EMOVO form"):
        parse_emovo_name("f1_dis_b1.wav")


def test_generated_tree_with_problems(tmp_path):
    for spk in ("f1", "m3"):
        for code in EMOVO_EMOTIONS:
            wav(tmp_path / spk / f"{code}-{spk}-n2.wav", channels=2)
    wav(tmp_path / "f1" / "neu-m3-b1.wav")  # another speaker's file in f1/
    wav(tmp_path / "f1" / "readme.wav")
    scan = scan_emovo(tmp_path)
    assert len(scan.utterances) == 14
    assert sorted(p.path.name for p in scan.problems) == ["neu-m3-b1.wav", "readme.wav"]
    u = next(u for u in scan.utterances if u.uid == "emovo:pau-m3-n2")
    assert (u.speaker, u.gender, u.label, u.native_label, u.sentence) == ("m3", "m", "fear", "pau", "n2")
    with pytest.raises(CorpusError, match="emovo folder not found"):
        scan_emovo(tmp_path / "missing")


@pytest.mark.real_audio
def test_real_emovo(dev_corpora):
    root = dev_corpora / "emovo"
    if not root.is_dir():
        pytest.skip("EMOVO not unpacked")
    utts = load_corpus("emovo", root)
    assert len(utts) == 588
    assert Counter(u.speaker for u in utts) == {s: 98 for s in ("f1", "f2", "f3", "m1", "m2", "m3")}
    assert set(Counter(u.label for u in utts).values()) == {84}
    report = inspect_corpus("emovo", root)
    assert report.n_utterances == 588 and not report.problems
