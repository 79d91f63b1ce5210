"""Ryerson Audio-Visual Database of Emotional Speech and Song (RAVDESS; Livingstone & Russo,
PLoS ONE 2018), audio-only speech.

Layout as published: ``Actor_NN/03-01-EE-II-SS-RR-AA.wav`` (modality, vocal channel,
emotion, intensity, statement, repetition, actor), optionally under
``Audio_Speech_Actors_01-24/``. Song files (vocal channel 02) are excluded, as in the
multi-time-scale convolution paper (Guizzo et al., ICASSP 2020). Odd actors are male,
even actors female. Copies holding the same file twice (the Kaggle archive ships both
``Actor_NN/`` and ``audio_speech_actors_01-24/Actor_NN/``) keep the first one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .base import CORPORA, Scan, ScanBuilder, Utterance, find_audio, require_dir

#: Emotion code -> (RAVDESS name, shared label).
RAVDESS_EMOTIONS = {
    "01": ("neutral", "neutral"), "02": ("calm", "calm"), "03": ("happy", "happiness"),
    "04": ("sad", "sadness"), "05": ("angry", "anger"), "06": ("fearful", "fear"),
    "07": ("disgust", "disgust"), "08": ("surprised", "surprise"),
}
_MODALITIES = {"01": "audio-video", "02": "video-only", "03": "audio-only"}
_INTENSITY = {"01": "normal", "02": "strong"}
_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_ACTOR_DIR = re.compile(r"^actor_(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class RavdessName:
    modality: str
    channel: str  # "speech" or "song"
    emotion: str  # RAVDESS name
    label: str
    intensity: str
    statement: str
    repetition: int
    actor: str


def parse_ravdess_name(name: str) -> RavdessName:
    """``'03-01-06-01-02-01-12.wav'`` -> audio-only speech, fearful, normal, statement 02, actor 12.

    >>> r = parse_ravdess_name("03-01-06-01-02-01-12.wav"); (r.label, r.actor, r.channel)
    ('fear', '12', 'speech')
    """
    m = _NAME.match(Path(name).stem)
    if m is None:
        raise ValueError("file name not in RAVDESS form MM-VV-EE-II-SS-RR-AA (seven 2-digit fields), "
                         "e.g. 03-01-06-01-02-01-12.wav")
    mod, chan, emo, inten, stmt, rep, actor = m.groups()
    if mod not in _MODALITIES:
        raise ValueError(f"unknown RAVDESS modality {mod!r}; known: 01, 02, 03")
    if chan not in ("01", "02"):
        raise ValueError(f"unknown RAVDESS vocal channel {chan!r}; known: 01 speech, 02 song")
    if emo not in RAVDESS_EMOTIONS:
        raise ValueError(f"unknown RAVDESS emotion code {emo!r}; known: 01..08")
    if inten not in _INTENSITY:
        raise ValueError(f"unknown RAVDESS intensity {inten!r}; known: 01 normal, 02 strong")
    if stmt not in ("01", "02"):
        raise ValueError(f"unknown RAVDESS statement {stmt!r}; known: 01, 02")
    if not 1 <= int(actor) <= 24:
        raise ValueError(f"RAVDESS actor {actor!r} outside 01..24")
    emotion, label = RAVDESS_EMOTIONS[emo]
    return RavdessName(_MODALITIES[mod], "speech" if chan == "01" else "song",
                       emotion, label, _INTENSITY[inten], stmt, int(rep), actor)


@CORPORA.register("ravdess")
def scan_ravdess(root: Path, *, check_audio: bool = True) -> Scan:
    """Scan RAVDESS audio-only speech; song and duplicate copies are counted as excluded."""
    root = require_dir(root, "ravdess")
    out = ScanBuilder("ravdess", root, check_audio)
    for path in find_audio(root):
        try:
            info = parse_ravdess_name(path.name)
        except ValueError as exc:
            out.problem(path, str(exc))
            continue
        if info.channel == "song":
            out.exclude("song (vocal channel 02)")
            continue
        if info.modality != "audio-only":
            out.problem(path, f"modality {info.modality} in an audio file name; expected 03 (audio-only)")
            continue
        folder = _ACTOR_DIR.match(path.parent.name)
        if folder and int(folder.group(1)) != int(info.actor):
            out.problem(path, f"actor {info.actor} in the name but the file is in {path.parent.name}; skipped")
            continue
        if not out.audio_ok(path):
            continue
        out.add(Utterance(
            path=path, speaker=info.actor, label=info.label, corpus="ravdess",
            native_label=info.emotion, gender="m" if int(info.actor) % 2 else "f",
            sentence=info.statement,
            attrs={"intensity": info.intensity, "repetition": info.repetition},
        ))
    return out.done("Actor_01/03-01-01-01-01-01-01.wav and the like")
