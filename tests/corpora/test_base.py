"""Shared corpus machinery: labels, genders, ScanBuilder, options, load_corpus."""

from __future__ import annotations

from pathlib import Path

import pytest
import soundfile as sf
from testaudio import tone

from emoconv.corpora import CORPORA, SHARED_LABELS, Utterance, corpus_options, load_corpus, scan_corpus
from emoconv.corpora.base import ScanBuilder, find_audio, normalize_gender, shared_label
from emoconv.errors import ConfigError, CorpusError


def wav(path: Path, seconds: float = 0.1, sr: int = 8_000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, sr), sr, subtype="PCM_16")
    return path


def test_every_loader_is_registered():
    assert set(CORPORA.names()) >= {
        "emodb", "ravdess", "tess", "savee", "cremad", "iemocap", "enterface", "manifest", "builtin",
    }


@pytest.mark.parametrize("alias,label", [
    ("angry", "anger"), ("Happy", "happiness"), ("SAD", "sadness"), ("fearful", "fear"),
    ("disgusted", "disgust"), ("bored", "boredom"), ("ps", "surprise"), ("pleasant-surprise", "surprise"),
    ("Pleasant Surprised", "surprise"), ("neu", "neutral"), ("calm", "calm"),
])
def test_aliases_map_to_shared_labels(alias, label):
    assert shared_label(alias) == label


def test_every_shared_label_maps_to_itself_and_unknowns_are_none():
    assert all(shared_label(name) == name for name in SHARED_LABELS)
    assert shared_label("frustrated") is None and shared_label("") is None


def test_normalize_gender():
    got = [normalize_gender(v) for v in ("F", "female", "Male", "m", "", None)]
    assert got == ["f", "f", "m", "m", None, None]
    with pytest.raises(ValueError, match="unknown gender 'x'"):
        normalize_gender("x")


def test_uid_uses_key_when_given():
    u = Utterance(Path("/a/JK/sa05.wav"), "JK", "sadness", "savee")
    assert u.uid == "savee:sa05"
    assert Utterance(Path("/a/JK/sa05.wav"), "JK", "sadness", "savee", key="JK_sa05").uid == "savee:JK_sa05"


def test_find_audio_skips_hidden_and_macosx_and_non_audio(tmp_path):
    keep = [wav(tmp_path / "a" / "x.wav"), wav(tmp_path / "b.FLAC")]
    wav(tmp_path / "__MACOSX" / "a" / "x.wav")
    wav(tmp_path / "a" / "._x.wav")
    (tmp_path / "notes.txt").write_text("hi")
    assert find_audio(tmp_path) == sorted(keep)


def test_builder_header_check_duplicates_and_copies(tmp_path):
    good = wav(tmp_path / "one" / "a.wav", seconds=0.2)
    copy = wav(tmp_path / "two" / "a.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio" * 10)
    out = ScanBuilder("demo", tmp_path)
    assert out.audio_ok(good) and out.scan.durations[good] == pytest.approx(0.2)
    assert not out.audio_ok(bad)
    assert out.scan.problems[-1].message.startswith("unreadable audio")
    assert out.add(Utterance(good, "s", "anger", "demo"))
    assert not out.add(Utterance(copy, "s", "anger", "demo"))  # same name elsewhere: a copy
    assert not out.add(Utterance(tmp_path / "c.wav", "s", "anger", "demo", key="a"))  # clash: problem
    scan = out.done()
    assert [u.path for u in scan.utterances] == [good]
    assert scan.excluded == {"second copy of a file (same name in another folder)": 1}
    assert any("duplicate utterance id 'demo:a'" in p.message for p in scan.problems)


def test_builder_without_header_check_accepts_anything(tmp_path):
    out = ScanBuilder("demo", tmp_path, check_audio=False)
    assert out.audio_ok(tmp_path / "whatever.wav") and not out.scan.durations


def test_empty_scan_gets_a_problem_naming_root(tmp_path):
    scan = ScanBuilder("demo", tmp_path).done("x/y.wav")
    assert len(scan.problems) == 1 and scan.problems[0].path == tmp_path
    assert "no demo audio files found; expected x/y.wav" in scan.problems[0].message


def test_corpus_options_lists_keyword_options():
    assert corpus_options("iemocap") == {
        "four_class": False, "merge_excited": False, "improvised_only": False, "check_audio": True,
    }
    assert corpus_options("emodb") == {"check_audio": True}


def test_unknown_option_is_config_error(tmp_path):
    with pytest.raises(ConfigError, match="corpus 'emodb' has no option 'four_class'; known options: check_audio"):
        scan_corpus("emodb", tmp_path, four_class=True)
    with pytest.raises(ConfigError, match="option 'four_class' must be true or false, got 'yes'"):
        load_corpus("iemocap", tmp_path, four_class="yes")
    with pytest.raises(ConfigError, match="unknown corpus 'nope'"):
        load_corpus("nope", tmp_path)


def test_load_corpus_passes_options_and_filters_labels(tmp_path):
    for name in ("03a01Wa", "03a01Fa", "08a01Ta"):
        wav(tmp_path / "wav" / f"{name}.wav")
    utts = load_corpus("emodb", tmp_path, labels=["anger", "sadness"], check_audio=False)
    assert sorted(u.label for u in utts) == ["anger", "sadness"]
    with pytest.raises(ConfigError, match="unknown label.*angry"):
        load_corpus("emodb", tmp_path, labels=["angry"])


def test_load_corpus_empty_and_missing(tmp_path):
    (tmp_path / "junk.wav").write_bytes(b"x" * 50)
    with pytest.raises(CorpusError, match="no recognisable emodb files found.*1 problems"):
        load_corpus("emodb", tmp_path)
    with pytest.raises(CorpusError, match="missing: emodb folder not found"):
        load_corpus("emodb", tmp_path / "missing")
    with pytest.raises(CorpusError, match="no recognisable emodb files"):
        load_corpus("emodb", tmp_path, labels=["calm"])


def test_load_corpus_reports_skipped_files_in_one_line(tmp_path, caplog):
    import logging

    import soundfile as sf
    from testaudio import tone

    from emoconv.corpora import load_corpus

    (tmp_path / "wav").mkdir()
    sf.write(tmp_path / "wav" / "03a01Fa.wav", tone(0.2), 16000)
    sf.write(tmp_path / "wav" / "03a01Xa.wav", tone(0.2), 16000)
    with caplog.at_level(logging.WARNING, logger="emoconv"):
        utts = load_corpus("emodb", tmp_path)
    assert len(utts) == 1
    [msg] = [r.getMessage() for r in caplog.records]
    assert "1 file(s) of emodb skipped" in msg and "03a01Xa.wav" in msg and "datasets inspect" in msg
