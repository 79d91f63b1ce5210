"""Folds whose validation share is drawn from the training speakers (``protocol.val_within_train``).

With two speakers (TESS), holding out a validation speaker as well as a test speaker is
impossible. Then validation is a class-stratified random share of the training speakers'
utterances: the test partition stays speaker-independent, validation does not, and the
fold says so (``Fold.val_within_train``); :func:`~emoconv.protocol.splits.check_fold`
still rejects any test speaker seen in training or validation.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import ProtocolError
from .fold import VAL_STREAM, Fold, check_fold

if TYPE_CHECKING:
    from .splits import ProtocolConfig


def within_train_fold(index: int, test: list[str], units: list[str], members: dict[str, list[int]],
                      utterances: Sequence[Any], cfg: ProtocolConfig) -> Fold:
    """A fold whose validation is a class-stratified share of the training speakers' utterances."""
    tested = set(test)
    rest = [i for u in units if u not in tested for i in members[u]]
    rng = np.random.default_rng([cfg.seed, VAL_STREAM, index])
    val: list[int] = []
    by_label: dict[str, list[int]] = {}
    for i in rest:
        by_label.setdefault(utterances[i].label, []).append(i)
    for label in sorted(by_label):
        idx = by_label[label]
        k = int(math.floor(cfg.val_within_train * len(idx) + 0.5))
        if 0 < k < len(idx):
            val.extend(rng.choice(idx, size=k, replace=False).tolist())
    if not val:
        raise ProtocolError(f"fold {index}: protocol.val_within_train={cfg.val_within_train} selects no "
                            "validation utterances; raise it")
    vset = set(val)
    tr = tuple(sorted(i for i in rest if i not in vset))
    va = tuple(sorted(val))
    te = tuple(sorted(i for u in test for i in members[u]))

    def spk(ix: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(sorted({str(utterances[i].speaker) for i in ix}))

    session = cfg.unit == "session"
    train_units = tuple(u for u in units if u not in tested)
    fold = Fold(index=index, train=tr, val=va, test=te, train_speakers=spk(tr), val_speakers=spk(va),
                test_speakers=spk(te), kind=cfg.kind, seed=cfg.seed, group=cfg.unit,
                train_groups=train_units if session else (), val_groups=train_units if session else (),
                test_groups=tuple(test) if session else (), val_within_train=True)
    check_fold(fold, utterances)
    return fold
