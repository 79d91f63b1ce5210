"""Berlin Database of Emotional Speech (EMODB; Burkhardt et al., Interspeech 2005).

Layout as published: ``wav/03a01Fa.wav`` = speaker ``03``, text ``a01``, emotion
code ``F``, version ``a``. Ten actors (five female), seven emotions. The root may be
the corpus folder (holding ``wav/``) or the ``wav`` folder itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .base import CORPORA, Scan, ScanBuilder, Utterance, find_audio, require_dir

#: Emotion codes (initials of the German names) -> shared labels.
EMODB_EMOTIONS = {
    "W": "anger", "L": "boredom", "E": "disgust", "A": "fear",
    "F": "happiness", "T": "sadness", "N": "neutral",
}

#: Speaker gender from the EMODB documentation.
EMODB_GENDERS = {
    "03": "m", "08": "f", "09": "f", "10": "m", "11": "m",
    "12": "m", "13": "f", "14": "f", "15": "m", "16": "f",
}

_NAME = re.compile(r"^(\d{2})([ab]\d{2})([A-Za-z])([a-z])$")


@dataclass(frozen=True)
class EmodbName:
    speaker: str
    text: str
    code: str
    label: str
    version: str


def parse_emodb_name(name: str) -> EmodbName:
    """``'03a01Fa.wav'`` -> speaker ``03``, text ``a01``, code ``F`` (happiness), version ``a``.

    Raises ValueError saying what is wrong with the name.

    >>> parse_emodb_name("03a01Fa.wav").label
    'happiness'
    """
    m = _NAME.match(Path(name).stem)
    if m is None:
        raise ValueError("file name not in EMODB form <speaker 2 digits><text a01..b10><code><version>, "
                         "e.g. 03a01Fa.wav")
    speaker, text, code, version = m.groups()
    if code not in EMODB_EMOTIONS:
        raise ValueError(f"unknown EMODB emotion code {code!r}; known: {', '.join(EMODB_EMOTIONS)}")
    return EmodbName(speaker, text, code, EMODB_EMOTIONS[code], version)


@CORPORA.register("emodb")
def scan_emodb(root: Path, *, check_audio: bool = True) -> Scan:
    """Scan an EMODB folder; every audio file below it is parsed by name."""
    root = require_dir(root, "emodb")
    out = ScanBuilder("emodb", root, check_audio)
    for path in find_audio(root):
        try:
            info = parse_emodb_name(path.name)
        except ValueError as exc:
            out.problem(path, str(exc))
            continue
        if info.speaker not in EMODB_GENDERS:
            out.problem(path, f"unknown EMODB speaker {info.speaker!r}; known: {', '.join(EMODB_GENDERS)}")
            continue
        if not out.audio_ok(path):
            continue
        out.add(Utterance(
            path=path, speaker=info.speaker, label=info.label, corpus="emodb",
            native_label=info.code, gender=EMODB_GENDERS[info.speaker], sentence=info.text,
            attrs={"version": info.version},
        ))
    return out.done("wav/03a01Fa.wav and the like")
