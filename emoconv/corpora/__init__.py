"""Corpus loaders, one file per corpus, all registered in :data:`CORPORA`."""

from .base import CORPORA, FOUR_CLASSES, SHARED_LABELS, Problem, Scan, Utterance, load_corpus

__all__ = ["CORPORA", "FOUR_CLASSES", "SHARED_LABELS", "Problem", "Scan", "Utterance", "load_corpus"]
