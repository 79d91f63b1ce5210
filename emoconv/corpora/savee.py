"""Surrey Audio-Visual Expressed Emotion database (SAVEE; Haq & Jackson, 2009), audio only.

Four male speakers (DC, JE, JK, KL), 120 utterances each: 30 neutral and 15 of each
other emotion. Two layouts are read: the Kaggle flat folder ``ALL/JK_sa05.wav`` and
the original per-speaker ``AudioData/JK/sa05.wav``. Emotion codes a, d, f, h, n, sa,
su (note the two-letter ones). The sentence id is the code plus number (``sa05``) and
the utterance id is ``JK_sa05`` in both layouts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .base import CORPORA, Scan, ScanBuilder, Utterance, find_audio, require_dir

SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")
SAVEE_EMOTIONS = {
    "a": "anger", "d": "disgust", "f": "fear", "h": "happiness",
    "n": "neutral", "sa": "sadness", "su": "surprise",
}
_FLAT = re.compile(r"^([A-Za-z]{2})_([a-z]{1,2})(\d{2})$")
_SPLIT = re.compile(r"^([a-z]{1,2})(\d{2})$")


@dataclass(frozen=True)
class SaveeName:
    speaker: str
    code: str
    number: str
    label: str


def parse_savee_name(name: str, folder: str | None = None) -> SaveeName:
    """``'JK_sa05.wav'`` (or ``'sa05.wav'`` with ``folder='JK'``) -> speaker JK, sadness, 05.

    >>> parse_savee_name("JK_sa05.wav").label, parse_savee_name("su12.wav", "KL").speaker
    ('sadness', 'KL')
    """
    stem = Path(name).stem
    flat = _FLAT.match(stem)
    if flat:
        speaker, code, number = flat.groups()
    else:
        split = _SPLIT.match(stem)
        if split is None or folder is None:
            raise ValueError("file name not in SAVEE form <speaker>_<code><nn> (ALL/JK_sa05.wav) "
                             "or <code><nn> in a speaker folder (AudioData/JK/sa05.wav)")
        (code, number), speaker = split.groups(), folder
    speaker = speaker.upper()
    if speaker not in SAVEE_SPEAKERS:
        raise ValueError(f"unknown SAVEE speaker {speaker!r}; known: {', '.join(SAVEE_SPEAKERS)}")
    if code not in SAVEE_EMOTIONS:
        raise ValueError(f"unknown SAVEE emotion code {code!r}; known: {', '.join(SAVEE_EMOTIONS)}")
    return SaveeName(speaker, code, number, SAVEE_EMOTIONS[code])


@CORPORA.register("savee")
def scan_savee(root: Path, *, check_audio: bool = True) -> Scan:
    """Scan SAVEE in either layout; all four speakers are male."""
    root = require_dir(root, "savee")
    out = ScanBuilder("savee", root, check_audio)
    for path in find_audio(root):
        try:
            info = parse_savee_name(path.name, path.parent.name)
        except ValueError as exc:
            out.problem(path, str(exc))
            continue
        if not out.audio_ok(path):
            continue
        out.add(Utterance(
            path=path, speaker=info.speaker, label=info.label, corpus="savee", native_label=info.code,
            gender="m", sentence=f"{info.code}{info.number}", key=f"{info.speaker}_{info.code}{info.number}",
        ))
    return out.done("ALL/JK_sa05.wav or AudioData/JK/sa05.wav")
