"""Utterance records, scan results, the shared label vocabulary and the corpus registry.

A corpus loader is a function ``scan(root: Path, **options) -> Scan`` registered in
:data:`CORPORA`. It walks the publisher's own folder layout, never stops at the
first bad file, and returns the utterances it could parse beside every problem
it met. :func:`scan_corpus` checks the options against the loader's signature;
:func:`load_corpus` turns a scan into a list of utterances for training and
raises :class:`~emoconv.errors.CorpusError` when nothing usable was found.

Loaders share :class:`ScanBuilder` (problem collection, the cheap header check
through :func:`emoconv.audio.audio_info`, duplicate ids) and :func:`find_audio`.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from ..audio.io import AUDIO_EXTENSIONS, audio_info
from ..errors import AudioError, ConfigError, CorpusError
from ..registry import Registry

#: Shared emotion vocabulary; every corpus maps its native labels onto these names.
SHARED_LABELS: tuple[str, ...] = (
    "neutral", "anger", "happiness", "sadness", "fear", "disgust", "boredom", "surprise", "calm",
)

#: The common four-class task (neutral, anger, happiness, sadness).
FOUR_CLASSES: tuple[str, ...] = ("neutral", "anger", "happiness", "sadness")

#: Common spellings of the shared labels (adjectives, corpus abbreviations), lower case.
LABEL_ALIASES: Mapping[str, str] = {
    **{name: name for name in SHARED_LABELS},
    "neu": "neutral", "neutrality": "neutral",
    "angry": "anger", "ang": "anger", "mad": "anger",
    "happy": "happiness", "hap": "happiness", "joy": "happiness",
    "sad": "sadness",
    "fearful": "fear", "fea": "fear", "afraid": "fear", "scared": "fear",
    "disgusted": "disgust", "dis": "disgust",
    "bored": "boredom",
    "surprised": "surprise", "sur": "surprise", "ps": "surprise",
    "pleasant_surprise": "surprise", "pleasant_surprised": "surprise",
}

_GENDERS = {"f": "f", "female": "f", "w": "f", "woman": "f", "m": "m", "male": "m", "man": "m"}


def shared_label(name: str) -> str | None:
    """The shared label for ``name`` or one of its common aliases; None when unknown.

    >>> shared_label("Angry"), shared_label("pleasant surprise"), shared_label("frustrated")
    ('anger', 'surprise', None)
    """
    key = re.sub(r"[\s\-]+", "_", str(name).strip().lower())
    return LABEL_ALIASES.get(key)


def normalize_gender(value: object) -> str | None:
    """``"f"``/``"m"`` for common spellings (F, female, Male, ...), None for empty; ValueError otherwise."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if not text:
        return None
    if text not in _GENDERS:
        raise ValueError(f"unknown gender {value!r}; use f or m (or leave it empty)")
    return _GENDERS[text]


@dataclass(frozen=True)
class Utterance:
    """One labelled recording.

    ``label`` is in :data:`SHARED_LABELS`; ``native_label`` is the corpus's own code
    or name. ``speaker`` is unique within ``corpus`` (pooling namespaces it as
    ``corpus/speaker``). ``gender`` is ``"f"``, ``"m"`` or ``None``. ``attrs`` holds
    corpus-specific extras (e.g. IEMOCAP ``{"improvised": True, "valence": ...}``).
    ``key`` overrides the file stem in :attr:`uid` where stems repeat across folders
    (SAVEE's per-speaker layout names files ``sa05.wav`` for every speaker).
    """

    path: Path
    speaker: str
    label: str
    corpus: str
    native_label: str = ""
    gender: str | None = None
    sentence: str | None = None
    session: str | None = None
    attrs: Mapping[str, object] = field(default_factory=dict, compare=False, hash=False)
    key: str | None = None

    @property
    def uid(self) -> str:
        """Corpus-qualified utterance id: ``corpus:<key or file stem>``."""
        return f"{self.corpus}:{self.key or Path(self.path).stem}"


@dataclass(frozen=True)
class Problem:
    """Something wrong with one file or folder of a corpus, found during a scan."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Scan:
    """What a corpus scan found: usable utterances and every problem met on the way.

    ``excluded`` counts files left out on purpose, by reason (RAVDESS song, IEMOCAP
    labels outside the chosen classes, ...): they are not problems. ``durations``
    holds seconds per file path, filled by the header check when it ran.
    """

    corpus: str
    root: Path
    utterances: list[Utterance] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    durations: dict[Path, float] = field(default_factory=dict)


ScanFn = Callable[..., Scan]

#: The modules that register the loaders, one per corpus (imported on first use).
_LOADERS = ("builtin", "cremad", "emodb", "emovo", "enterface", "iemocap", "manifest", "ravdess", "savee", "tess",
            "urdu")

#: Corpus loaders by name: ``CORPORA.get("emodb")(root, **options) -> Scan``.
CORPORA: Registry[ScanFn] = Registry("corpus", modules=[f"{__package__}.{m}" for m in _LOADERS])


def require_dir(root: Path, corpus: str) -> Path:
    """Check that a corpus folder exists; a CorpusError naming it and the corpus otherwise."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise CorpusError(f"{root}: {corpus} folder not found; pass the folder that holds the corpus")
    return root


def find_audio(root: Path) -> list[Path]:
    """Every audio file under ``root`` (by extension, any case), sorted.

    Hidden files and folders (``._x.wav`` AppleDouble copies, ``.git``) and
    ``__MACOSX`` folders that zip tools leave behind are skipped.
    """
    root = Path(root)
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).parts
        if any(part.startswith(".") or part == "__MACOSX" for part in rel):
            continue
        if path.suffix.lower() in AUDIO_EXTENSIONS and path.is_file():
            found.append(path)
    return sorted(found)


class ScanBuilder:
    """Collects utterances and problems for one scan.

    ``audio_ok(path)`` runs the header check (when ``check_audio``) and records the
    duration or a problem; ``add(utt)`` refuses a second utterance with the same
    :attr:`Utterance.uid`: a second copy of the same file name in another folder
    (archives that ship a corpus twice) is counted in ``excluded``, anything else is
    a problem; the first one is kept. ``done()`` returns
    the :class:`Scan` with utterances and problems sorted by path.
    """

    def __init__(self, corpus: str, root: Path, check_audio: bool = True) -> None:
        self.scan = Scan(corpus=corpus, root=Path(root))
        self.check_audio = check_audio
        self._uids: dict[str, Path] = {}

    def problem(self, path: Path, message: str) -> None:
        self.scan.problems.append(Problem(Path(path), message))

    def exclude(self, reason: str, n: int = 1) -> None:
        self.scan.excluded[reason] = self.scan.excluded.get(reason, 0) + n

    def audio_ok(self, path: Path) -> bool:
        if not self.check_audio:
            return True
        try:
            info = audio_info(path)
        except AudioError as exc:
            message = str(exc)
            prefix = f"{path}: "
            self.problem(path, message[len(prefix):] if message.startswith(prefix) else message)
            return False
        if info.frames <= 0 or info.samplerate <= 0:
            self.problem(path, "no audio samples (0 frames); remove the file or fix the export")
            return False
        self.scan.durations[Path(path)] = info.frames / info.samplerate
        return True

    def add(self, utt: Utterance) -> bool:
        first = self._uids.get(utt.uid)
        if first is not None and first.name == Path(utt.path).name:
            self.exclude("second copy of a file (same name in another folder)")
            return False
        if first is not None:
            self.problem(utt.path, f"duplicate utterance id {utt.uid!r} (first seen at {first}); skipped")
            return False
        self._uids[utt.uid] = Path(utt.path)
        self.scan.utterances.append(utt)
        return True

    def done(self, expected: str = "") -> Scan:
        """The finished scan; an empty one gets a problem naming the root and ``expected`` layout."""
        s = self.scan
        if not s.utterances and not s.problems and not s.excluded:
            hint = f"; expected {expected}" if expected else ""
            self.problem(s.root, f"no {s.corpus} audio files found{hint}")
        self.scan.utterances.sort(key=lambda u: str(u.path))
        self.scan.problems.sort(key=lambda p: str(p.path))
        return self.scan


def corpus_options(name: str) -> dict[str, object]:
    """Options corpus ``name`` accepts, with their defaults (``{}`` for a ``**kwargs`` loader)."""
    params = list(inspect.signature(CORPORA.get(name)).parameters.values())[1:]
    return {p.name: p.default for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def scan_corpus(name: str, root: str | Path, **options: object) -> Scan:
    """Run loader ``name`` on ``root`` with ``options``.

    Unknown options and non-bool values for bool options raise ConfigError naming
    them. ``check_audio`` is dropped silently for loaders that do not take it.
    """
    fn = CORPORA.get(name)
    params = list(inspect.signature(fn).parameters.values())[1:]
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return fn(Path(root), **options)
    known = corpus_options(name)
    if "check_audio" not in known:
        options.pop("check_audio", None)
    for key, value in options.items():
        if key not in known:
            names = ", ".join(sorted(known)) or "(none)"
            raise ConfigError(f"corpus {name!r} has no option {key!r}; known options: {names}")
        if isinstance(known[key], bool) and not isinstance(value, bool):
            raise ConfigError(f"corpus {name!r} option {key!r} must be true or false, got {value!r}")
    return fn(Path(root), **options)


def load_corpus(
    name: str, root: str | Path, labels: Iterable[str] | None = None, **options: object
) -> list[Utterance]:
    """Scan corpus ``name`` at ``root`` and return its utterances (optionally only ``labels``).

    ``options`` go to the loader (e.g. ``four_class=True`` for IEMOCAP); unknown
    ones are ConfigErrors. Raises CorpusError if the folder is missing or holds no
    recognisable files. Problems on individual files are skipped here;
    ``emoconv datasets inspect`` lists them.
    """
    keep = None
    if labels is not None:
        keep = set([labels] if isinstance(labels, str) else labels)
        unknown = sorted(keep - set(SHARED_LABELS))
        if unknown:
            raise ConfigError(
                f"labels: unknown label(s) {', '.join(unknown)}; use names from {', '.join(SHARED_LABELS)}"
            )
    scan = scan_corpus(name, root, **options)
    utts = scan.utterances
    if scan.problems and utts:
        import logging

        logging.getLogger("emoconv").warning(
            "%s: %d file(s) of %s skipped (first: %s); run 'emoconv datasets inspect %s %s' to list them",
            scan.root, len(scan.problems), name, scan.problems[0], name, scan.root)
    if keep is not None:
        utts = [u for u in utts if u.label in keep]
    if not utts:
        hint = f" ({len(scan.problems)} problems, first: {scan.problems[0]})" if scan.problems else ""
        raise CorpusError(
            f"{scan.root}: no recognisable {name} files found{hint}; "
            f"check the path and run 'emoconv datasets inspect {name} {scan.root}'"
        )
    return utts
