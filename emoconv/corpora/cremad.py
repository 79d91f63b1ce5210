"""Crowd-sourced Emotional Multimodal Actors Dataset (CREMA-D; Cao et al., IEEE Trans.
Affective Computing 2014), audio.

Layout as published: ``AudioWAV/1001_DFA_ANG_XX.wav`` = actor 1001 (1001..1091),
sentence code DFA (12 sentences), emotion ANG, intensity XX (LO, MD, HI, XX
unspecified). Actor sex is only in the publisher's ``VideoDemographics.csv``
(columns ActorID, Sex): it is read when it sits beside ``AudioWAV`` (or inside it);
otherwise gender is None.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from .base import CORPORA, Scan, ScanBuilder, Utterance, find_audio, normalize_gender, require_dir

CREMAD_EMOTIONS = {
    "ANG": "anger", "DIS": "disgust", "FEA": "fear",
    "HAP": "happiness", "NEU": "neutral", "SAD": "sadness",
}
CREMAD_SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
CREMAD_INTENSITIES = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
DEMOGRAPHICS = "VideoDemographics.csv"
_NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})$")


@dataclass(frozen=True)
class CremadName:
    actor: str
    sentence: str
    code: str
    label: str
    intensity: str


def parse_cremad_name(name: str) -> CremadName:
    """``'1001_DFA_ANG_XX.wav'`` -> actor 1001, sentence DFA, anger, intensity unspecified.

    >>> parse_cremad_name("1091_WSI_SAD_HI.wav").label
    'sadness'
    """
    m = _NAME.match(Path(name).stem.upper())
    if m is None:
        raise ValueError("file name not in CREMA-D form <actor>_<sentence>_<emotion>_<intensity>, "
                         "e.g. 1001_DFA_ANG_XX.wav")
    actor, sentence, code, intensity = m.groups()
    if not 1001 <= int(actor) <= 1091:
        raise ValueError(f"CREMA-D actor {actor} outside 1001..1091")
    if sentence not in CREMAD_SENTENCES:
        raise ValueError(f"unknown CREMA-D sentence code {sentence!r}; known: {', '.join(CREMAD_SENTENCES)}")
    if code not in CREMAD_EMOTIONS:
        raise ValueError(f"unknown CREMA-D emotion code {code!r}; known: {', '.join(CREMAD_EMOTIONS)}")
    if intensity not in CREMAD_INTENSITIES:
        raise ValueError(f"unknown CREMA-D intensity {intensity!r}; known: {', '.join(CREMAD_INTENSITIES)}")
    return CremadName(actor, sentence, code, CREMAD_EMOTIONS[code], CREMAD_INTENSITIES[intensity])


def read_demographics(path: Path, out: ScanBuilder) -> dict[str, str | None]:
    """ActorID -> ``"f"``/``"m"`` from VideoDemographics.csv; bad rows become problems."""
    genders: dict[str, str | None] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            fields = {f.strip() for f in reader.fieldnames or []}
            if not {"ActorID", "Sex"} <= fields:
                out.problem(path, "needs columns ActorID and Sex; genders left empty")
                return {}
            for line, row in enumerate(reader, start=2):
                row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                try:
                    genders[row["ActorID"]] = normalize_gender(row["Sex"])
                except ValueError as exc:
                    out.problem(path, f"line {line}: {exc}")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        out.problem(path, f"unreadable demographics file ({exc}); genders left empty")
    return genders


@CORPORA.register("cremad")
def scan_cremad(root: Path, *, check_audio: bool = True) -> Scan:
    """Scan CREMA-D; ``root`` holds ``AudioWAV/`` (or is it)."""
    root = require_dir(root, "cremad")
    audio_dir = root / "AudioWAV" if (root / "AudioWAV").is_dir() else root
    out = ScanBuilder("cremad", root, check_audio)
    genders: dict[str, str | None] = {}
    for candidate in (audio_dir.parent / DEMOGRAPHICS, audio_dir / DEMOGRAPHICS):
        if candidate.is_file():
            genders = read_demographics(candidate, out)
            break
    for path in find_audio(audio_dir):
        try:
            info = parse_cremad_name(path.name)
        except ValueError as exc:
            out.problem(path, str(exc))
            continue
        if not out.audio_ok(path):
            continue
        out.add(Utterance(
            path=path, speaker=info.actor, label=info.label, corpus="cremad", native_label=info.code,
            gender=genders.get(info.actor), sentence=info.sentence, attrs={"intensity": info.intensity},
        ))
    return out.done("AudioWAV/1001_DFA_ANG_XX.wav and the like")
