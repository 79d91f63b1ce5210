"""Interactive Emotional Dyadic Motion Capture database (IEMOCAP; Busso et al., Language
Resources and Evaluation 2008), utterance-level audio.

Layout as published: ``SessionN/dialog/EmoEvaluation/<dialog>.txt`` holds one line per
utterance, ``[start - end]<TAB>Ses01F_impro01_F000<TAB>neu<TAB>[V, A, D]``, and the
audio is ``SessionN/sentences/wav/<dialog>/<utterance>.wav``. Each session has one
female and one male actor; the speaker is the session plus the gender letter of the
utterance's last part (``Ses01F_impro01_F000`` -> ``Ses01_F``). Categories without a
shared label (frustration, excitement unless merged, other, ``xxx`` = no majority)
are counted as excluded, not problems.

Options, all off by default: ``four_class`` keeps neutral/anger/happiness/sadness;
``merge_excited`` maps ``exc`` to happiness (a common practice in the literature);
``improvised_only`` drops scripted dialogs (the multi-dilated CNN paper, Liu et al.
2022, used improvised speech in four classes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .base import CORPORA, FOUR_CLASSES, Scan, ScanBuilder, Utterance, require_dir

#: IEMOCAP category -> shared label (None: outside the shared vocabulary).
IEMOCAP_LABELS: dict[str, str | None] = {
    "neu": "neutral", "ang": "anger", "hap": "happiness", "exc": None, "sad": "sadness",
    "fru": None, "fea": "fear", "sur": "surprise", "dis": "disgust", "oth": None, "xxx": None,
}
_LINE = re.compile(
    r"^\[\s*([\d.]+)\s*-\s*([\d.]+)\s*\]\s+(\S+)\s+(\S+)\s+\[\s*([-\d.]+)\s*,\s*([-\d.]+)\s*,\s*([-\d.]+)\s*\]\s*$"
)
_UTT = re.compile(r"^Ses(\d{2})[FM]_.+_([FM])\d+$")
_SESSION_DIR = re.compile(r"^Session(\d+)$", re.IGNORECASE)


@dataclass(frozen=True)
class IemocapLine:
    utterance: str
    dialog: str
    category: str
    start: float
    end: float
    valence: float
    arousal: float
    dominance: float

    @property
    def speaker(self) -> str:
        m = _UTT.match(self.utterance)
        assert m is not None
        return f"Ses{m.group(1)}_{m.group(2)}"

    @property
    def improvised(self) -> bool:
        return "_impro" in self.dialog


def parse_iemocap_line(line: str) -> IemocapLine:
    """One utterance line of an EmoEvaluation file.

    >>> r = parse_iemocap_line("[6.2901 - 8.2357]\\tSes01F_impro01_F000\\tneu\\t[2.5000, 2.5000, 2.5000]")
    >>> (r.speaker, r.dialog, r.category, r.improvised)
    ('Ses01_F', 'Ses01F_impro01', 'neu', True)
    """
    m = _LINE.match(line.strip())
    if m is None:
        raise ValueError("line not in form [start - end] <utterance> <category> [V, A, D]")
    start, end, utt, cat, v, a, d = m.groups()
    if _UTT.match(utt) is None:
        raise ValueError(f"utterance id {utt!r} not in form Ses01F_<dialog>_F000")
    cat = cat.lower()
    if cat not in IEMOCAP_LABELS:
        raise ValueError(f"unknown IEMOCAP category {cat!r}; known: {', '.join(IEMOCAP_LABELS)}")
    return IemocapLine(utt, utt.rsplit("_", 1)[0], cat, float(start), float(end), float(v), float(a), float(d))


def _sessions(root: Path) -> list[tuple[int, Path]]:
    dirs = [root] if _SESSION_DIR.match(root.name) else sorted(p for p in root.iterdir() if p.is_dir())
    found = []
    for d in dirs:
        m = _SESSION_DIR.match(d.name)
        if m:
            found.append((int(m.group(1)), d))
    return sorted(found)


@CORPORA.register("iemocap")
def scan_iemocap(
    root: Path,
    *,
    four_class: bool = False,
    merge_excited: bool = False,
    improvised_only: bool = False,
    check_audio: bool = True,
) -> Scan:
    """Scan IEMOCAP (the folder holding Session1..Session5, or one SessionN folder)."""
    root = require_dir(root, "iemocap")
    out = ScanBuilder("iemocap", root, check_audio)
    sessions = _sessions(root)
    if not sessions:
        out.problem(root, "no SessionN folders found; pass the IEMOCAP_full_release folder")
    for number, sdir in sessions:
        eval_dir = sdir / "dialog" / "EmoEvaluation"
        files = sorted(eval_dir.glob("*.txt")) if eval_dir.is_dir() else []
        if not files:
            out.problem(eval_dir, "no EmoEvaluation/*.txt label files in this session")
        for txt in files:
            try:
                lines = txt.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError as exc:
                out.problem(txt, f"unreadable label file ({exc})")
                continue
            for n, line in enumerate(lines, start=1):
                if not line.startswith("["):
                    continue  # headers and per-annotator lines
                try:
                    info = parse_iemocap_line(line)
                except ValueError as exc:
                    out.problem(txt, f"line {n}: {exc}")
                    continue
                _add(out, info, sdir, number, four_class, merge_excited, improvised_only)
    return out.done("Session1/dialog/EmoEvaluation/*.txt and Session1/sentences/wav/")


def _add(out: ScanBuilder, info: IemocapLine, sdir: Path, number: int,
         four_class: bool, merge_excited: bool, improvised_only: bool) -> None:
    if improvised_only and not info.improvised:
        out.exclude("scripted dialog (improvised_only=True)")
        return
    label = IEMOCAP_LABELS[info.category]
    if info.category == "exc" and merge_excited:
        label = "happiness"
    if label is None:
        out.exclude(f"category {info.category} (no shared label)")
        return
    if four_class and label not in FOUR_CLASSES:
        out.exclude(f"category {info.category} (four_class=True)")
        return
    wav = sdir / "sentences" / "wav" / info.dialog / f"{info.utterance}.wav"
    if not wav.is_file():
        out.problem(wav, "audio file listed in EmoEvaluation is missing")
        return
    if not out.audio_ok(wav):
        return
    out.add(Utterance(
        path=wav, speaker=info.speaker, label=label, corpus="iemocap", native_label=info.category,
        gender=info.speaker[-1].lower(), sentence=None, session=f"Session{number}",
        attrs={"improvised": info.improvised, "valence": info.valence, "arousal": info.arousal,
               "dominance": info.dominance, "dialog": info.dialog, "start": info.start, "end": info.end},
    ))
