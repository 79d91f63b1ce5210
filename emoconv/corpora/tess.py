"""Toronto Emotional Speech Set (TESS; Dupuis & Pichora-Fuller, University of Toronto, 2010).

Two female speakers (OAF, older; YAF, younger) say 200 target words in the carrier
phrase "Say the word ..." with seven emotions. Layout: ``OAF_angry/OAF_back_angry.wav``;
folder case and spelling vary between copies (``OAF_Fear``, ``YAF_pleasant_surprised``),
so the label comes from the file name's last part(s): angry, disgust, fear, happy,
neutral, ps / pleasant_surprise(d) (-> surprise), sad. The word is the sentence id.
Some copies carry AIFF data in ``.wav`` files; libsndfile reads them by header.
A file whose prefix is not a TESS speaker (e.g. ``OA_bite_neutral.wav``) takes the
speaker from its folder's prefix when that is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .base import CORPORA, Scan, ScanBuilder, Utterance, find_audio, require_dir

TESS_SPEAKERS = ("OAF", "YAF")
TESS_EMOTIONS = {
    "angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness",
    "neutral": "neutral", "ps": "surprise", "pleasant_surprise": "surprise",
    "pleasant_surprised": "surprise", "sad": "sadness",
}


@dataclass(frozen=True)
class TessName:
    speaker: str | None  # None when the prefix is not OAF/YAF
    word: str
    emotion: str  # as written, lower case
    label: str


def parse_tess_name(name: str) -> TessName:
    """``'OAF_back_angry.wav'`` -> speaker OAF, word back, label anger.

    >>> parse_tess_name("YAF_germ_pleasant_surprised.wav").label
    'surprise'
    """
    parts = Path(name).stem.split("_")
    if len(parts) < 3:
        raise ValueError("file name not in TESS form <OAF|YAF>_<word>_<emotion>, e.g. OAF_back_angry.wav")
    prefix, word = parts[0].upper(), parts[1].lower()
    emotion = "_".join(parts[2:]).lower()
    if emotion not in TESS_EMOTIONS:
        raise ValueError(f"unknown TESS emotion {emotion!r}; known: {', '.join(TESS_EMOTIONS)}")
    return TessName(prefix if prefix in TESS_SPEAKERS else None, word, emotion, TESS_EMOTIONS[emotion])


@CORPORA.register("tess")
def scan_tess(root: Path, *, check_audio: bool = True) -> Scan:
    """Scan a TESS folder (any folder naming); both speakers are female."""
    root = require_dir(root, "tess")
    out = ScanBuilder("tess", root, check_audio)
    for path in find_audio(root):
        try:
            info = parse_tess_name(path.name)
        except ValueError as exc:
            out.problem(path, str(exc))
            continue
        speaker = info.speaker or path.parent.name.split("_")[0].upper()
        if speaker not in TESS_SPEAKERS:
            out.problem(path, "speaker prefix is neither OAF nor YAF (in the name or the folder)")
            continue
        if not out.audio_ok(path):
            continue
        out.add(Utterance(
            path=path, speaker=speaker, label=info.label, corpus="tess", native_label=info.emotion,
            gender="f", sentence=info.word, key=f"{speaker}_{info.word}_{info.emotion}",
        ))
    return out.done("OAF_angry/OAF_back_angry.wav and the like")
