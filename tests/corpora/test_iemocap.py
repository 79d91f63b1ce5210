"""IEMOCAP loader: EmoEvaluation parsing, speakers per session, options, missing audio."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import soundfile as sf
from testaudio import tone

from emoconv.corpora import load_corpus
from emoconv.corpora.iemocap import parse_iemocap_line, scan_iemocap
from emoconv.errors import ConfigError, CorpusError


def wav(path: Path, seconds: float = 0.1, sr: int = 8_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr), sr, subtype="PCM_16")
    return path


# (session, dialog, utterance suffix, category)
ROWS = [
    (1, "Ses01F_impro01", "F000", "neu"), (1, "Ses01F_impro01", "M000", "ang"),
    (1, "Ses01F_impro01", "F001", "exc"), (1, "Ses01F_impro01", "M001", "fru"),
    (1, "Ses01M_script01_1", "F000", "hap"), (1, "Ses01M_script01_1", "M000", "sad"),
    (1, "Ses01M_script01_1", "M001", "xxx"), (1, "Ses01M_script01_1", "F001", "fea"),
    (2, "Ses02F_impro03", "F000", "sad"), (2, "Ses02F_impro03", "M000", "sur"),
    (2, "Ses02F_impro03", "M001", "dis"), (2, "Ses02F_impro03", "F001", "oth"),
]


@pytest.fixture
def iemocap(tmp_path):
    root = tmp_path / "IEMOCAP_full_release"
    by_dialog: dict[tuple[int, str], list[str]] = {}
    for i, (sess, dialog, suffix, cat) in enumerate(ROWS):
        utt = f"{dialog}_{suffix}"
        start = 1.5 * i
        by_dialog.setdefault((sess, dialog), []).append(
            f"[{start:.4f} - {start + 1.2:.4f}]\t{utt}\t{cat}\t[2.5000, 3.0000, 3.5000]\n"
            f"C-E1:\tNeutral;\t()\nA-E1:\tval 3; act 2; dom  2;\t()\n\n")
        wav(root / f"Session{sess}" / "sentences" / "wav" / dialog / f"{utt}.wav")
    for (sess, dialog), blocks in by_dialog.items():
        path = root / f"Session{sess}" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = "% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]\n\n"
        path.write_text(header + "".join(blocks))
    # a labelled utterance without audio, and a malformed line
    extra = root / "Session2" / "dialog" / "EmoEvaluation" / "Ses02M_impro05.txt"
    extra.write_text("[1.0 - 2.0]\tSes02M_impro05_F000\tang\t[1.0, 2.0, 3.0]\n[oops]\tbad line\n")
    return root


def test_parse_line():
    r = parse_iemocap_line("[6.2901 - 8.2357]\tSes01F_impro01_F000\tneu\t[2.5000, 2.5000, 2.5000]")
    assert (r.utterance, r.dialog, r.category, r.speaker, r.improvised) == (
        "Ses01F_impro01_F000", "Ses01F_impro01", "neu", "Ses01_F", True)
    assert (r.start, r.end, r.valence, r.arousal, r.dominance) == (6.2901, 8.2357, 2.5, 2.5, 2.5)
    s = parse_iemocap_line("[1.0 - 2.0]\tSes03M_script02_2_M011\tfru\t[2.0, 3.5, 4.0]")
    assert (s.dialog, s.speaker, s.improvised) == ("Ses03M_script02_2", "Ses03_M", False)
    with pytest.raises(ValueError, match="unknown IEMOCAP category 'bor'"):
        parse_iemocap_line("[1.0 - 2.0]\tSes01F_impro01_F000\tbor\t[2.5, 2.5, 2.5]")
    with pytest.raises(ValueError, match="not in form"):
        parse_iemocap_line("[1.0 - 2.0] nothing")


def test_default_scan(iemocap):
    scan = scan_iemocap(iemocap)
    labels = Counter(u.native_label for u in scan.utterances)
    assert labels == {"neu": 1, "ang": 1, "hap": 1, "sad": 2, "fea": 1, "sur": 1, "dis": 1}
    assert scan.excluded == {"category exc (no shared label)": 1, "category fru (no shared label)": 1,
                             "category xxx (no shared label)": 1, "category oth (no shared label)": 1}
    speakers = {u.speaker: u.gender for u in scan.utterances}
    assert speakers == {"Ses01_F": "f", "Ses01_M": "m", "Ses02_F": "f", "Ses02_M": "m"}
    u = next(u for u in scan.utterances if u.uid == "iemocap:Ses01F_impro01_M000")
    assert (u.label, u.session, u.attrs["improvised"], u.attrs["valence"], u.attrs["arousal"],
            u.attrs["dominance"]) == ("anger", "Session1", True, 2.5, 3.0, 3.5)
    assert next(u for u in scan.utterances if u.native_label == "hap").attrs["improvised"] is False
    problems = sorted(str(p) for p in scan.problems)
    assert len(problems) == 2
    assert any("Ses02M_impro05_F000.wav: audio file listed in EmoEvaluation is missing" in p for p in problems)
    assert any("Ses02M_impro05.txt: line 2:" in p for p in problems)


def test_options(iemocap):
    four = scan_iemocap(iemocap, four_class=True)
    assert Counter(u.label for u in four.utterances) == {"neutral": 1, "anger": 1, "happiness": 1, "sadness": 2}
    merged = scan_iemocap(iemocap, four_class=True, merge_excited=True)
    assert Counter(u.label for u in merged.utterances)["happiness"] == 2
    assert {u.native_label for u in merged.utterances if u.label == "happiness"} == {"hap", "exc"}
    impro = load_corpus("iemocap", iemocap, four_class=True, merge_excited=True, improvised_only=True)
    assert sorted(u.native_label for u in impro) == ["ang", "exc", "neu", "sad"]
    assert all(u.attrs["improvised"] for u in impro)
    with pytest.raises(ConfigError, match="has no option 'four_classes'"):
        load_corpus("iemocap", iemocap, four_classes=True)


def test_one_session_folder_and_no_sessions(iemocap, tmp_path):
    assert {u.session for u in scan_iemocap(iemocap / "Session2").utterances} == {"Session2"}
    empty = tmp_path / "empty"
    empty.mkdir()
    scan = scan_iemocap(empty)
    assert not scan.utterances and "no SessionN folders" in scan.problems[0].message
    with pytest.raises(CorpusError, match="iemocap folder not found"):
        scan_iemocap(tmp_path / "missing")
