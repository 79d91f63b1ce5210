"""Cross-corpus folds: train and validate on some corpora of a pool, test on another.

The utterances come from a ``pool`` corpus (speakers namespaced ``corpus/speaker``, so no speaker can be
in two corpora, and labels reduced to the classes the corpora share: ``options.classes: shared``). With
``protocol: {kind: cross_corpus}`` every ordered pair of corpora is one fold (train on A, test on B, for
A != B): the folds of a train x test matrix. ``test: [B]`` alone makes one fold per named test corpus,
trained on all the others (leave one corpus out); ``train: [A, ...]`` with ``test`` trains on the named
corpora only. Validation speakers are drawn from each training corpus (``val_ratio`` of its speakers,
rounded half up, at least one and at least one left for training; seeded by ``seed`` and the fold), so
model selection never sees the test corpus. Every fold is checked with
:func:`emoconv.protocol.splits.check_fold`.

>>> from emoconv.corpora.base import Utterance
>>> utts = [Utterance(path=f"{c}{s}{k}.wav", label=lab, speaker=f"{c}/{s}", corpus=c)
...         for c in "ab" for s in "123" for k, lab in enumerate(["anger", "neutral"])]
>>> from emoconv.protocol import ProtocolConfig, make_folds
>>> [(f.describe()["train_speakers"][0][0], f.test_speakers[0][0])
...  for f in make_folds(utts, ProtocolConfig(kind="cross_corpus"))]
[('a', 'b'), ('b', 'a')]
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..errors import ProtocolError
from .fold import PROTOCOL_KINDS, Fold, check_fold


def _corpus(u: Any) -> str:
    return str(u.corpus)


def fold_corpora(fold_record: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """``(training corpora, test corpus)`` of a recorded cross-corpus fold (from its namespaced speakers)."""
    def corpora(speakers: Sequence[str]) -> list[str]:
        return sorted({str(s).split("/", 1)[0] for s in speakers})

    test = corpora(fold_record.get("test_speakers", []))
    return tuple(corpora(fold_record.get("train_speakers", []))), (test[0] if len(test) == 1 else None)


@PROTOCOL_KINDS.register("cross_corpus")
def cross_corpus_folds(utterances: Sequence[Any], cfg: Any) -> list[Fold]:
    """The folds of ``cfg`` (kind ``cross_corpus``) over pooled ``utterances``; see the module docstring."""
    names = list(dict.fromkeys(_corpus(u) for u in utterances))
    if len(names) < 2:
        raise ProtocolError(f"cross_corpus needs utterances of at least two corpora, got {names}; pool them "
                            "with a corpus of kind pool")
    for u in utterances:
        if not str(u.speaker).startswith(f"{u.corpus}/"):
            raise ProtocolError(f"cross_corpus: speaker {u.speaker!r} of {u.path} is not namespaced by its corpus; "
                                "load the corpora through a pool corpus")
    unknown = sorted((set(cfg.train) | set(cfg.test)) - set(names))
    if unknown:
        raise ProtocolError(f"protocol.train/test: corpus {', '.join(unknown)} not in the pool "
                            f"({', '.join(names)}); fix the lists")
    if cfg.test:
        pairs = [(tuple(cfg.train) or tuple(n for n in names if n != t), t) for t in cfg.test]
    else:
        pairs = [((a,), b) for a in names for b in names if a != b]
    folds = []
    for k, (train_corpora, test_corpus) in enumerate(pairs):
        rng = np.random.default_rng([cfg.seed, 53, k])
        train, val = [], []
        for c in train_corpora:
            speakers = sorted({str(u.speaker) for u in utterances if _corpus(u) == c})
            if len(speakers) < 2:
                raise ProtocolError(f"cross_corpus: corpus {c} has {len(speakers)} speaker(s); a training corpus "
                                    "needs two (one for validation)")
            n_val = min(max(1, math.floor(cfg.val_ratio * len(speakers) + 0.5)), len(speakers) - 1)
            chosen = set(rng.permutation(speakers)[:n_val].tolist())
            for i, u in enumerate(utterances):
                if _corpus(u) == c:
                    (val if str(u.speaker) in chosen else train).append(i)
        test = [i for i, u in enumerate(utterances) if _corpus(u) == test_corpus]

        def spk(ix: list[int]) -> tuple[str, ...]:
            return tuple(sorted({str(utterances[i].speaker) for i in ix}))

        fold = Fold(index=k, train=tuple(train), val=tuple(val), test=tuple(test), train_speakers=spk(train),
                    val_speakers=spk(val), test_speakers=spk(test), kind="cross_corpus", seed=cfg.seed)
        check_fold(fold, utterances)
        folds.append(fold)
    return folds
