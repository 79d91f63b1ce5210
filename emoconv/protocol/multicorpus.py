"""Speaker-independent folds over pooled corpora, split per corpus and merged.

Kim et al. (3D CNNs for SER, ACII 2017, Sec. 5): the speakers of every corpus are shuffled
independently and divided 60/20/20 into training, validation and test; the seven
per-corpus test sets are merged into one fold's test set (likewise validation and
training), and this is repeated to give five folds.

The paper does not say whether the five repetitions are disjoint. Two modes:

* ``"rotate"`` (default): each corpus's shuffled speakers are cut once into ``n_folds``
  near-equal groups; fold ``k`` tests group ``k``, validates on group ``k + 1`` (mod
  ``n_folds``) and trains on the rest. With 5 folds that is exactly 60/20/20 (up to
  rounding) and every speaker is tested exactly once. Needs ``n_folds`` speakers per corpus.
* ``"resample"``: every fold reshuffles each corpus's speakers and takes
  ``round(0.2 n)`` test and validation speakers (at least one each, at least one left for
  training); speakers may be tested in several folds. Needs 3 speakers per corpus.

Speakers are identified as ``corpus/speaker`` (see :func:`emoconv.corpora.pool.namespaced`),
so two corpora that reuse an id never share a partition; every fold is checked with
:func:`emoconv.protocol.splits.check_fold` on the namespaced utterances.
"""

from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..config import check
from ..corpora.base import Utterance
from ..corpora.pool import namespaced
from ..errors import ProtocolError
from .fold import PROTOCOL_KINDS, Fold, check_fold

MODES = ("rotate", "resample")


@dataclass(frozen=True)
class MultiCorpusConfig:
    """Settings of :func:`multicorpus_folds` (the paper: 5 folds of 60/20/20 per corpus)."""

    folds: int = 5
    mode: str = "rotate"
    val_ratio: float = 0.2
    test_ratio: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        p = "protocol"
        check(isinstance(self.folds, int) and self.folds >= 3,
              f"{p}.folds: {self.folds!r} must be an integer >= 3 (one group each for test and validation "
              f"and at least one for training)")
        check(self.mode in MODES, f"{p}.mode: {self.mode!r} is not one of {', '.join(MODES)}")
        check(0 < self.val_ratio < 1 and 0 < self.test_ratio < 1 and self.val_ratio + self.test_ratio < 1,
              f"{p}.val_ratio/test_ratio: {self.val_ratio}/{self.test_ratio} must be in (0, 1) and sum below 1")


def _corpus_seed(seed: int, corpus: str) -> int:
    return (int(seed) * 1_000_003 + zlib.crc32(corpus.encode("utf-8"))) % (2**32)


def _speakers_by_corpus(utterances: Sequence[Utterance]) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for u in utterances:
        out.setdefault(u.corpus, set()).add(namespaced(u))
    return {c: sorted(s) for c, s in sorted(out.items())}


def _rotate_groups(speakers: list[str], cfg: MultiCorpusConfig, corpus: str) -> list[list[str]]:
    if len(speakers) < cfg.folds:
        raise ProtocolError(f"corpus {corpus} has {len(speakers)} speakers, fewer than protocol.folds={cfg.folds}; "
                            f"use protocol.kind: multicorpus_resample or fewer folds")
    order = np.random.default_rng(_corpus_seed(cfg.seed, corpus)).permutation(len(speakers))
    return [[speakers[i] for i in part] for part in np.array_split(order, cfg.folds)]


def _resample_split(speakers: list[str], cfg: MultiCorpusConfig, corpus: str, k: int) -> tuple[list[str], ...]:
    n = len(speakers)
    if n < 3:
        raise ProtocolError(f"corpus {corpus} has {n} speakers; a 60/20/20 split needs at least 3; "
                            f"drop the corpus from the pool")
    rng = np.random.default_rng([_corpus_seed(cfg.seed, corpus), k])
    order = [speakers[i] for i in rng.permutation(n)]
    n_test = min(max(1, round(cfg.test_ratio * n)), n - 2)
    n_val = min(max(1, round(cfg.val_ratio * n)), n - n_test - 1)
    return order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test]


def multicorpus_folds(utterances: Sequence[Utterance], cfg: MultiCorpusConfig | None = None) -> list[Fold]:
    """Folds whose partitions are per-corpus speaker splits merged across corpora.

    Returns :class:`~emoconv.protocol.splits.Fold` objects (``kind="multicorpus"``) with
    indices into ``utterances`` and namespaced speaker lists. Raises ProtocolError when a
    corpus has too few speakers, or when a fold leaks a speaker or lacks a class in training
    (from ``check_fold``).
    """
    cfg = cfg or MultiCorpusConfig()
    if not utterances:
        raise ProtocolError("multicorpus folds: no utterances; load at least one corpus")
    keyed = [dataclasses.replace(u, speaker=namespaced(u)) for u in utterances]
    by_corpus = _speakers_by_corpus(utterances)
    groups = {c: _rotate_groups(s, cfg, c) for c, s in by_corpus.items()} if cfg.mode == "rotate" else {}
    members: dict[str, list[int]] = {}
    for i, u in enumerate(keyed):
        members.setdefault(u.speaker, []).append(i)
    folds = []
    for k in range(cfg.folds):
        part: dict[str, list[str]] = {"train": [], "val": [], "test": []}
        for corpus, speakers in by_corpus.items():
            if cfg.mode == "rotate":
                g = groups[corpus]
                test, val = g[k], g[(k + 1) % cfg.folds]
                train = [s for j, grp in enumerate(g) if j not in (k, (k + 1) % cfg.folds) for s in grp]
            else:
                train, val, test = _resample_split(speakers, cfg, corpus, k)
            part["train"] += train
            part["val"] += val
            part["test"] += test
        idx = {name: tuple(sorted(i for s in spk for i in members[s])) for name, spk in part.items()}
        fold = Fold(index=k, train=idx["train"], val=idx["val"], test=idx["test"],
                    train_speakers=tuple(sorted(part["train"])), val_speakers=tuple(sorted(part["val"])),
                    test_speakers=tuple(sorted(part["test"])), kind="multicorpus", seed=cfg.seed)
        _assert_disjoint(fold)
        check_fold(fold, keyed)
        folds.append(fold)
    return folds


def _assert_disjoint(fold: Fold) -> None:
    seen: dict[str, str] = {}
    for name, speakers in (("train", fold.train_speakers), ("val", fold.val_speakers), ("test", fold.test_speakers)):
        for s in speakers:
            if s in seen:
                raise ProtocolError(f"fold {fold.index}: speaker {s!r} is in both {seen[s]} and {name}")
            seen[s] = name


def corpus_breakdown(fold: Fold, utterances: Sequence[Utterance]) -> dict[str, dict[str, int]]:
    """Speakers per corpus and partition of a fold: ``{corpus: {"train": n, "val": n, "test": n}}``."""
    out: dict[str, dict[str, int]] = {}
    for name, idx in (("train", fold.train), ("val", fold.val), ("test", fold.test)):
        spk: dict[str, set[str]] = {}
        for i in idx:
            spk.setdefault(utterances[i].corpus, set()).add(namespaced(utterances[i]))
        for c, s in spk.items():
            out.setdefault(c, {"train": 0, "val": 0, "test": 0})[name] = len(s)
    return out


def _kind(mode: str) -> Any:
    """The protocol-kind function of one mode: ``rotate`` (groups rotated over the folds) or ``resample``."""
    def folds(utterances: Sequence[Utterance], cfg: Any) -> list[Fold]:
        return multicorpus_folds(utterances, MultiCorpusConfig(folds=cfg.folds, mode=mode, val_ratio=cfg.val_ratio,
                                                               test_ratio=cfg.test_ratio, seed=cfg.seed))
    return folds


PROTOCOL_KINDS.register("multicorpus")(_kind("rotate"))
PROTOCOL_KINDS.register("multicorpus_resample")(_kind("resample"))
