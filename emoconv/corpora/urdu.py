"""URDU, emotional speech from Urdu talk shows (Latif et al., 2018).

400 utterances of 38 speakers (27 male, 11 female) in four emotions. Layout
``<Emotion>/S<g><id>_F<file>_<e><nnn>.wav``, e.g. ``Angry/SM1_F10_A010.wav``: ``S`` + gender
(``M``/``F``) + speaker number (``SM1`` and ``SF1`` are different speakers), the file number, and the
emotion letter (A anger, H happiness, N neutral, S sadness) with a number. The emotion comes from the
letter; a file whose folder (Angry, Happy, Neutral, Sad) says otherwise is reported, not loaded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .base import CORPORA, Scan, ScanBuilder, Utterance, find_audio, require_dir

URDU_EMOTIONS = {"A": "anger", "H": "happiness", "N": "neutral", "S": "sadness"}
URDU_FOLDERS = {"angry": "anger", "happy": "happiness", "neutral": "neutral", "sad": "sadness"}
_NAME = re.compile(r"^S([MF])(\d+)_F(\d+)_([A-Za-z])(\d+)$")


@dataclass(frozen=True)
class UrduName:
    speaker: str
    gender: str
    file_number: str
    code: str
    label: str


def parse_urdu_name(name: str) -> UrduName:
    """``'SM1_F10_A010.wav'`` -> speaker SM1 (male), anger.

    >>> info = parse_urdu_name("SF10_F3_S003.wav"); (info.speaker, info.gender, info.label)
    ('SF10', 'f', 'sadness')
    """
    m = _NAME.match(Path(name).stem)
    if m is None:
        raise ValueError("file name not in URDU form S<M|F><speaker>_F<file>_<emotion letter><nnn> "
                         "(Angry/SM1_F10_A010.wav)")
    g, spk, fnum, code, _ = m.groups()
    code = code.upper()
    if code not in URDU_EMOTIONS:
        raise ValueError(f"unknown URDU emotion letter {code!r}; known: {', '.join(URDU_EMOTIONS)}")
    return UrduName(f"S{g}{spk}", g.lower(), fnum, code, URDU_EMOTIONS[code])


@CORPORA.register("urdu")
def scan_urdu(root: Path, *, check_audio: bool = True) -> Scan:
    """Scan URDU (``<root>/Angry/SM1_F10_A010.wav``)."""
    root = require_dir(root, "urdu")
    out = ScanBuilder("urdu", root, check_audio)
    for path in find_audio(root):
        try:
            info = parse_urdu_name(path.name)
        except ValueError as exc:
            out.problem(path, str(exc))
            continue
        folder = URDU_FOLDERS.get(path.parent.name.lower())
        if folder is not None and folder != info.label:
            out.problem(path, f"emotion letter says {info.label} but the folder says {folder}; "
                              "move the file or fix its name")
            continue
        if not out.audio_ok(path):
            continue
        out.add(Utterance(
            path=path, speaker=info.speaker, label=info.label, corpus="urdu", native_label=info.code,
            gender=info.gender, key=Path(path.name).stem,
        ))
    return out.done("Angry/SM1_F10_A010.wav")
