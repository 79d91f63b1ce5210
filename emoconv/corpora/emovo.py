"""EMOVO, an Italian emotional speech corpus (Costantini et al., LREC 2014).

Six actors (f1-f3 female, m1-m3 male), 14 sentences each in seven emotions: 588 files. Layout
``<speaker>/<code>-<speaker>-<sentence>.wav``, e.g. ``f1/dis-f1-b1.wav``. Emotion codes (Italian):
``dis`` disgusto, ``gio`` gioia, ``neu`` neutrale, ``pau`` paura, ``rab`` rabbia, ``sor`` sorpresa,
``tri`` tristezza, mapped to disgust, happiness, neutral, fear, anger, surprise, sadness. Sentence ids
are b1-b3, l1-l4, n1-n5, d1-d2. The publisher's audio is 48 kHz stereo (read as mono).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .base import CORPORA, Scan, ScanBuilder, Utterance, find_audio, require_dir

EMOVO_SPEAKERS = ("f1", "f2", "f3", "m1", "m2", "m3")
EMOVO_EMOTIONS = {
    "dis": "disgust", "gio": "happiness", "neu": "neutral", "pau": "fear",
    "rab": "anger", "sor": "surprise", "tri": "sadness",
}
_NAME = re.compile(r"^([a-z]{3})-([fm]\d)-([a-z]\d)$")


@dataclass(frozen=True)
class EmovoName:
    speaker: str
    code: str
    sentence: str
    label: str


def parse_emovo_name(name: str) -> EmovoName:
    """``'dis-f1-b1.wav'`` -> speaker f1, disgust, sentence b1.

    >>> info = parse_emovo_name("pau-m3-n5.wav"); (info.speaker, info.label, info.sentence)
    ('m3', 'fear', 'n5')
    """
    m = _NAME.match(Path(name).stem.lower())
    if m is None:
        raise ValueError("file name not in EMOVO form <emotion>-<speaker>-<sentence> (f1/dis-f1-b1.wav)")
    code, speaker, sentence = m.groups()
    if code not in EMOVO_EMOTIONS:
        raise ValueError(f"unknown EMOVO emotion code {code!r}; known: {', '.join(EMOVO_EMOTIONS)}")
    if speaker not in EMOVO_SPEAKERS:
        raise ValueError(f"unknown EMOVO speaker {speaker!r}; known: {', '.join(EMOVO_SPEAKERS)}")
    return EmovoName(speaker, code, sentence, EMOVO_EMOTIONS[code])


@CORPORA.register("emovo")
def scan_emovo(root: Path, *, check_audio: bool = True) -> Scan:
    """Scan EMOVO (``<root>/f1/dis-f1-b1.wav``); the speaker comes from the file name."""
    root = require_dir(root, "emovo")
    out = ScanBuilder("emovo", root, check_audio)
    for path in find_audio(root):
        try:
            info = parse_emovo_name(path.name)
        except ValueError as exc:
            out.problem(path, str(exc))
            continue
        if path.parent.name.lower() in EMOVO_SPEAKERS and path.parent.name.lower() != info.speaker:
            out.problem(path, f"speaker {info.speaker!r} in the name but folder {path.parent.name!r}; "
                              "move the file to its speaker's folder")
            continue
        if not out.audio_ok(path):
            continue
        out.add(Utterance(
            path=path, speaker=info.speaker, label=info.label, corpus="emovo", native_label=info.code,
            gender=info.speaker[0], sentence=info.sentence, key=f"{info.code}-{info.speaker}-{info.sentence}",
        ))
    return out.done("f1/dis-f1-b1.wav")
