"""Utterance records, scan results, the shared label vocabulary and the corpus registry.

A corpus loader is a function ``scan(root: Path) -> Scan`` registered in
:data:`CORPORA`. It walks the publisher's own folder layout, never stops at the
first bad file, and returns the utterances it could parse beside every problem
it met. :func:`load_corpus` turns a scan into a list of utterances for training
and raises :class:`~emoconv.errors.CorpusError` when nothing usable was found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from ..errors import CorpusError
from ..registry import Registry

#: Shared emotion vocabulary; every corpus maps its native labels onto these names.
SHARED_LABELS: tuple[str, ...] = (
    "neutral", "anger", "happiness", "sadness", "fear", "disgust", "boredom", "surprise", "calm",
)

#: The common four-class task (neutral, anger, happiness, sadness).
FOUR_CLASSES: tuple[str, ...] = ("neutral", "anger", "happiness", "sadness")


@dataclass(frozen=True)
class Utterance:
    """One labelled recording.

    ``label`` is in :data:`SHARED_LABELS`; ``native_label`` is the corpus's own code
    or name. ``speaker`` is unique within ``corpus`` (pooling namespaces it as
    ``corpus/speaker``). ``gender`` is ``"f"``, ``"m"`` or ``None``. ``attrs`` holds
    corpus-specific extras (e.g. IEMOCAP ``{"improvised": True, "valence": ...}``).
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

    @property
    def uid(self) -> str:
        """Corpus-qualified utterance id: ``corpus:<file stem>``."""
        return f"{self.corpus}:{Path(self.path).stem}"


@dataclass(frozen=True)
class Problem:
    """Something wrong with one file or folder of a corpus, found during a scan."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass
class Scan:
    """What a corpus scan found: usable utterances and every problem met on the way."""

    corpus: str
    root: Path
    utterances: list[Utterance] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


ScanFn = Callable[[Path], Scan]

#: Corpus loaders by name: ``CORPORA.get("emodb")(root) -> Scan``.
CORPORA: Registry[ScanFn] = Registry("corpus")


def require_dir(root: Path, corpus: str) -> Path:
    """Check that a corpus folder exists; a CorpusError naming it and the corpus otherwise."""
    root = Path(root).expanduser()
    if not root.is_dir():
        raise CorpusError(f"{root}: {corpus} folder not found; pass the folder that holds the corpus")
    return root


def load_corpus(name: str, root: str | Path, labels: Iterable[str] | None = None) -> list[Utterance]:
    """Scan corpus ``name`` at ``root`` and return its utterances (optionally only ``labels``).

    Raises CorpusError if the folder is missing or holds no recognisable files.
    Problems on individual files are skipped here; ``emoconv datasets inspect`` lists them.
    """
    scan = CORPORA.get(name)(Path(root))
    utts = scan.utterances
    if labels is not None:
        keep = set(labels)
        utts = [u for u in utts if u.label in keep]
    if not utts:
        hint = f" ({len(scan.problems)} problems, first: {scan.problems[0]})" if scan.problems else ""
        raise CorpusError(
            f"{scan.root}: no recognisable {name} files found{hint}; "
            f"check the path and run 'emoconv datasets inspect {name} {scan.root}'"
        )
    return utts
