"""eNTERFACE'05 audio-visual emotion database (Martin et al., ICDE Workshops 2006), audio.

Layout as published (audio extracted from the videos as WAV):
``subject N/<emotion>/sentence M/s1_an_1.wav``, emotion folders anger, disgust, fear,
happiness, sadness, surprise; some copies of subject 6 lack the ``sentence M`` level.
File names carry the same codes (an, di, fe, ha, sa, su). Folders win when present; a
file name that contradicts its folders is a problem. Speaker ``sN``; the five sentences
differ per emotion, so the sentence id is code plus number (``an1``). Gender is None
unless given with the ``genders`` option (``{"s1": "m", ...}``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

from ..errors import ConfigError
from .base import CORPORA, Scan, ScanBuilder, Utterance, find_audio, normalize_gender, require_dir

ENTERFACE_EMOTIONS = {
    "anger": ("an", "anger"), "disgust": ("di", "disgust"), "fear": ("fe", "fear"),
    "happiness": ("ha", "happiness"), "sadness": ("sa", "sadness"), "surprise": ("su", "surprise"),
}
_CODES = {code: (folder, label) for folder, (code, label) in ENTERFACE_EMOTIONS.items()}
_SUBJECT = re.compile(r"^subject[\s_]*(\d+)$", re.IGNORECASE)
_SENTENCE = re.compile(r"^sentence[\s_]*(\d+)$", re.IGNORECASE)
_FILE = re.compile(r"^s_?(\d+)_([a-z]{2})_?(\d+)?$", re.IGNORECASE)


def parse_enterface_path(path: Path, root: Path) -> tuple[str, str, str, str | None]:
    """``(speaker, code, label, sentence number)`` from the folders and file name below ``root``.

    >>> parse_enterface_path(Path("r/subject 3/fear/sentence 2/s3_fe_2.wav"), Path("r"))
    ('s3', 'fe', 'fear', '2')
    """
    subject = emotion = sentence = None
    for part in Path(path).relative_to(root).parts[:-1]:
        if m := _SUBJECT.match(part.strip()):
            subject = str(int(m.group(1)))
        elif part.strip().lower() in ENTERFACE_EMOTIONS:
            emotion = ENTERFACE_EMOTIONS[part.strip().lower()][0]
        elif m := _SENTENCE.match(part.strip()):
            sentence = str(int(m.group(1)))
    f = _FILE.match(Path(path).stem.strip())
    if f:
        f_subject, f_code, f_sentence = str(int(f.group(1))), f.group(2).lower(), f.group(3)
        if f_code not in _CODES:
            raise ValueError(f"unknown eNTERFACE emotion code {f_code!r}; known: {', '.join(_CODES)}")
        if subject is not None and f_subject != subject:
            raise ValueError(f"file name says subject {f_subject} but the folder says subject {subject}")
        if emotion is not None and f_code != emotion:
            raise ValueError(f"file name says {f_code} but the folder says {_CODES[emotion][0]}")
        if sentence is not None and f_sentence is not None and str(int(f_sentence)) != sentence:
            raise ValueError(f"file name says sentence {int(f_sentence)} but the folder says sentence {sentence}")
        subject, emotion = subject or f_subject, emotion or f_code
        sentence = sentence or (str(int(f_sentence)) if f_sentence else None)
    if subject is None or emotion is None:
        raise ValueError("cannot tell subject and emotion; expected subject N/<emotion>/sentence M/sN_an_M.wav")
    return f"s{subject}", emotion, _CODES[emotion][1], sentence


def _gender_map(genders: Mapping[str, str] | None) -> dict[str, str | None]:
    if genders is None:
        return {}
    if not isinstance(genders, Mapping):
        raise ConfigError("enterface option 'genders' must map speakers (s1, s2, ...) to f or m")
    out: dict[str, str | None] = {}
    for speaker, value in genders.items():
        key = str(speaker).strip().lower()
        key = key if key.startswith("s") else f"s{key}"
        try:
            out[key] = normalize_gender(value)
        except ValueError as exc:
            raise ConfigError(f"enterface option 'genders' for {speaker!r}: {exc}") from None
    return out


@CORPORA.register("enterface")
def scan_enterface(
    root: Path, *, genders: Mapping[str, str] | None = None, check_audio: bool = True
) -> Scan:
    """Scan eNTERFACE'05 audio (WAV files extracted from the videos)."""
    gender_of = _gender_map(genders)
    root = require_dir(root, "enterface")
    out = ScanBuilder("enterface", root, check_audio)
    for path in find_audio(root):
        try:
            speaker, code, label, number = parse_enterface_path(path, root)
        except ValueError as exc:
            out.problem(path, str(exc))
            continue
        if not out.audio_ok(path):
            continue
        parsed = _FILE.match(path.stem.strip()) is not None
        out.add(Utterance(
            path=path, speaker=speaker, label=label, corpus="enterface", native_label=code,
            gender=gender_of.get(speaker), sentence=f"{code}{number}" if number else None,
            key=None if parsed else f"{speaker}_{code}{number or ''}_{path.stem}",
        ))
    videos = sum(1 for _ in root.rglob("*.avi"))
    if videos and not out.scan.utterances:
        out.problem(root, f"{videos} .avi videos but no audio; extract the audio tracks to WAV first")
    return out.done("subject 1/anger/sentence 1/s1_an_1.wav and the like")
