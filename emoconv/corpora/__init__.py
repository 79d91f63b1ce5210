"""Corpus loaders, one file per corpus, all registered in :data:`CORPORA`.

The registry imports a loader's module when its name is first looked up: ``emodb``, ``ravdess``, ``tess``,
``savee``, ``cremad``, ``iemocap``, ``enterface``, ``emovo``, ``urdu``, ``manifest`` and ``builtin``.

>>> from emoconv.corpora import CORPORA
>>> "emovo" in CORPORA
True
"""

from .._lazy import lazy_exports
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

_EXPORTS = {"scan_manifest": "manifest", "pool_corpora": "pool", "BuiltinConfig": "builtin"}

__all__ = [
    "CORPORA", "FOUR_CLASSES", "LABEL_ALIASES", "SHARED_LABELS", "Problem", "Scan", "Utterance",
    "corpus_options", "load_corpus", "scan_corpus", "shared_label", *sorted(_EXPORTS),
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
