"""Corpus loaders, one file per corpus, all registered in :data:`CORPORA`.

Importing this package registers ``emodb``, ``ravdess``, ``tess``, ``savee``,
``cremad``, ``iemocap``, ``enterface``, ``emovo``, ``urdu``, ``manifest`` and ``builtin``.
"""

from . import builtin, cremad, emodb, emovo, enterface, iemocap, manifest, ravdess, savee, tess, urdu  # noqa: F401  (register)
from .base import (
    CORPORA,
    FOUR_CLASSES,
    LABEL_ALIASES,
    SHARED_LABELS,
    Problem,
    Scan,
    Utterance,
    corpus_options,
    load_corpus,
    scan_corpus,
    shared_label,
)
from .manifest import scan_manifest

__all__ = [
    "CORPORA", "FOUR_CLASSES", "LABEL_ALIASES", "SHARED_LABELS", "Problem", "Scan", "Utterance",
    "corpus_options", "load_corpus", "scan_corpus", "scan_manifest", "shared_label",
]
