"""Generic CSV manifest loader."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from testaudio import tone

from emoconv.corpora import load_corpus, scan_manifest
from emoconv.errors import ConfigError, CorpusError


def wav(path: Path, seconds: float = 0.1, sr: int = 8_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr), sr, subtype="PCM_16")
    return path


@pytest.fixture
def corpus(tmp_path):
    for name in ("a1", "a2", "b1", "b2"):
        wav(tmp_path / "wav" / f"{name}.wav")
    wav(tmp_path / "x" / "same.wav")
    wav(tmp_path / "y" / "same.wav")
    absolute = wav(tmp_path.parent / f"{tmp_path.name}-outside" / "abs.wav")
    (tmp_path / "wav" / "broken.wav").write_bytes(b"no audio here" * 5)
    (tmp_path / "manifest.csv").write_text(
        "path,speaker,label,gender,session,take\n"
        "wav/a1.wav,A,angry,F,s1,1\n"          # 2
        "wav/a2.wav,A,neutral,female,s1,\n"     # 3
        "wav/b1.wav,B,Happy,m,s2,2\n"           # 4
        "wav/b2.wav,B,frustrated,m,s2,\n"       # 5 unknown label
        "wav/none.wav,B,sad,m,s2,\n"            # 6 missing file
        "wav/broken.wav,B,sad,m,s2,\n"          # 7 unreadable
        "wav/a1.wav,A,angry,F,s1,\n"            # 8 listed twice
        "wav/b2.wav,B,sad,x,s2,\n"              # 9 bad gender
        ",B,sad,m,s2,\n"                        # 10 empty path
        "x/same.wav,C,pleasant surprise,,,\n"   # 11
        "y/same.wav,C,calm,,,\n"                # 12
        f"{absolute},D,bored,m,,\n"             # 13 absolute path
    )
    return tmp_path


def test_scan_manifest(corpus):
    scan = scan_manifest(corpus)
    got = {u.uid: (u.speaker, u.label, u.native_label, u.gender, u.session) for u in scan.utterances}
    assert got == {
        "manifest:a1": ("A", "anger", "angry", "f", "s1"),
        "manifest:a2": ("A", "neutral", "neutral", "f", "s1"),
        "manifest:b1": ("B", "happiness", "Happy", "m", "s2"),
        "manifest:x/same": ("C", "surprise", "pleasant surprise", None, None),
        "manifest:y/same": ("C", "calm", "calm", None, None),
        "manifest:abs": ("D", "boredom", "bored", "m", None),
    }
    assert next(u for u in scan.utterances if u.uid == "manifest:a1").attrs == {"take": "1"}
    messages = " | ".join(str(p) for p in scan.problems)
    assert len(scan.problems) == 6
    for expected in ("line 5: unknown label 'frustrated'",
                     "none.wav: listed on line 6 of manifest.csv but missing",
                     "broken.wav: unreadable audio", "line 8: wav/a1.wav is already listed on line 2",
                     "line 9: unknown gender 'x'", "line 10: empty path"):
        assert expected in messages


def test_csv_path_corpus_name_and_corpus_column(corpus, tmp_path):
    scan = scan_manifest(corpus / "manifest.csv", corpus="mine")
    assert scan.corpus == "mine" and {u.corpus for u in scan.utterances} == {"mine"}
    assert load_corpus("manifest", corpus, corpus="other")[0].uid.startswith("other:")
    (tmp_path / "two.csv").write_text("path,speaker,label,corpus\nwav/a1.wav,A,sad,first\nwav/a2.wav,A,sad,\n")
    utts = scan_manifest(tmp_path / "two.csv", "fallback").utterances
    assert [u.corpus for u in utts] == ["first", "fallback"]


def test_file_level_errors(tmp_path):
    with pytest.raises(CorpusError, match="no manifest.csv in this folder"):
        scan_manifest(tmp_path)
    with pytest.raises(CorpusError, match="nope.csv: manifest not found"):
        scan_manifest(tmp_path / "nope.csv")
    (tmp_path / "bad.csv").write_text("file,who,label\na.wav,A,sad\n")
    with pytest.raises(CorpusError, match="bad.csv: manifest lacks column\\(s\\) path, speaker"):
        scan_manifest(tmp_path / "bad.csv")
    with pytest.raises(ConfigError, match="has no option 'labels_from'"):
        load_corpus("manifest", tmp_path / "bad.csv", labels_from="x")
