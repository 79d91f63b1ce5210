"""The speaker-level kinds: ``kfold``, ``ratio``, ``loso``, ``loso_session`` and ``fixed``.

The kinds themselves are described in :mod:`emoconv.protocol.splits`; validation inside the training speakers
(``val_within_train``) is :mod:`.within`.

>>> from emoconv.corpora.base import Utterance
>>> from pathlib import Path
>>> from emoconv.protocol import ProtocolConfig
>>> utts = [Utterance(Path(f"{s}{i}.wav"), s, lab, "x") for s in "abcd" for i, lab in enumerate(["x", "y"])]
>>> [f.test_speakers for f in speaker_folds(utts, ProtocolConfig(kind="loso"))]
[('a',), ('b',), ('c',), ('d',)]
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import ProtocolError
from .fold import ASSIGN_STREAM, PROTOCOL_KINDS, RATIO_STREAM, VAL_STREAM, Fold, check_fold, unit_of
from .within import within_train_fold

if TYPE_CHECKING:
    from .splits import ProtocolConfig

__all__ = ["speaker_folds"]

_VAL_DRAWS = 50
_STRATIFY_DRAWS = 256


def speaker_folds(utterances: Sequence[Any], cfg: ProtocolConfig) -> list[Fold]:
    """The kinds kfold, ratio, loso, loso_session and fixed (see :mod:`emoconv.protocol.splits`).

    Returns ``cfg.folds`` folds for kfold/ratio, one per unit for loso/loso_session and one
    for fixed. Raises ProtocolError when there are too few units for the request or a fold
    fails :func:`check_fold`.
    """
    unit = cfg.unit
    keys = [unit_of(u, unit, i) for i, u in enumerate(utterances)]
    units = sorted(set(keys))
    members: dict[str, list[int]] = {u: [] for u in units}
    for i, k in enumerate(keys):
        members[k].append(i)
    n = len(units)
    noun = f"{unit}s"

    if cfg.kind == "fixed":
        listed = set(cfg.train) | set(cfg.val) | set(cfg.test)
        unknown = sorted(listed - set(units))
        if unknown:
            raise ProtocolError(f"protocol.train/val/test: {', '.join(unknown)} not found among the "
                                f"{n} {noun} of the utterances; fix the lists")
        left = sorted(set(units) - listed)
        if left:
            raise ProtocolError(f"protocol.train/val/test: {', '.join(left)} in no list; add them to a "
                                f"list or filter the utterances first")
        plans = [(tuple(sorted(cfg.train)), tuple(sorted(cfg.val)), tuple(sorted(cfg.test)))]
        return [_build(0, *plans[0], members, utterances, cfg)]

    min_rest = 1 if cfg.val_within_train else 2
    if cfg.kind in ("loso", "loso_session"):
        if n < 1 + min_rest:
            raise ProtocolError(f"protocol.kind={cfg.kind} needs at least 3 {noun} (test, validation, "
                                f"train); the utterances have {n}")
        tests = [[u] for u in units]
    elif cfg.kind == "kfold":
        if n < cfg.folds:
            raise ProtocolError(f"protocol.folds={cfg.folds} needs at least {cfg.folds} {noun}; "
                                f"the utterances have {n}")
        tests = _assign(units, members, utterances, cfg)
        if n - max(len(t) for t in tests) < min_rest:
            raise ProtocolError(f"protocol.folds={cfg.folds} leaves fewer than 2 non-test {noun} "
                                f"(validation, train) with {n} {noun}; use fewer folds")
    else:  # ratio
        n_test = max(1, math.floor(cfg.test_ratio * n + 0.5))
        if n - n_test < min_rest:
            raise ProtocolError(f"protocol.test_ratio={cfg.test_ratio} leaves fewer than 2 non-test "
                                f"{noun} with {n} {noun}; the ratio kind needs at least 3")
        tests = []
        for f in range(cfg.folds):
            order = np.random.default_rng([cfg.seed, RATIO_STREAM, f]).permutation(n)
            tests.append(sorted(units[j] for j in order[:n_test]))
        repeats = len(tests) - len({tuple(t) for t in tests})
        if repeats:
            warnings.warn(f"protocol.kind=ratio: {repeats} of the {cfg.folds} folds test the same {noun} as an "
                          f"earlier fold (independent draws of {n_test} of {n} {noun}); kind kfold or loso tests "
                          f"every {unit} once", UserWarning, stacklevel=2)

    if cfg.val_within_train:
        return [within_train_fold(f, test, units, members, utterances, cfg) for f, test in enumerate(tests)]
    folds = []
    for f, test in enumerate(tests):
        tested = set(test)
        rest = [u for u in units if u not in tested]
        n_val = _val_count(len(rest), cfg, noun)
        error: ProtocolError | None = None
        for draw in range(_VAL_DRAWS):
            order = np.random.default_rng([cfg.seed, VAL_STREAM, f, draw]).permutation(len(rest))
            val = sorted(rest[j] for j in order[:n_val])
            train = sorted(rest[j] for j in order[n_val:])
            try:
                folds.append(_build(f, tuple(train), tuple(val), tuple(test), members, utterances, cfg))
                break
            except ProtocolError as exc:
                error = exc
        else:
            assert error is not None
            raise error
    return folds


def _val_count(n_rest: int, cfg: ProtocolConfig, noun: str) -> int:
    if cfg.val_speakers is not None:
        if cfg.val_speakers > n_rest - 1:
            raise ProtocolError(f"protocol.val_speakers={cfg.val_speakers} leaves no training {noun}: "
                                f"only {n_rest} non-test {noun}; use at most {n_rest - 1}")
        return cfg.val_speakers
    return min(n_rest - 1, max(1, math.floor(cfg.val_ratio * n_rest + 0.5)))


def _assign(units: list[str], members: dict[str, list[int]], utterances: Sequence[Any],
            cfg: ProtocolConfig) -> list[list[str]]:
    """Split sorted ``units`` into ``cfg.folds`` groups whose sizes differ by at most one.

    Without ``stratify``: one seeded shuffle, dealt into consecutive groups. With it:
    ``_STRATIFY_DRAWS`` seeded shuffles are dealt the same way and the first one with the
    smallest class imbalance (sum over groups of the L1 distance between the group's
    class proportions and the whole corpus's) is kept.
    """
    k, n = cfg.folds, len(units)
    rng = np.random.default_rng([cfg.seed, ASSIGN_STREAM])
    slot_group = np.repeat(np.arange(k), [len(a) for a in np.array_split(np.arange(n), k)])
    draws = _STRATIFY_DRAWS if cfg.stratify else 1
    labels = sorted({u.label for u in utterances})
    col = {lab: j for j, lab in enumerate(labels)}
    hist = np.zeros((n, len(labels)))
    for r, u in enumerate(units):
        for i in members[u]:
            hist[r, col[utterances[i].label]] += 1
    target = hist.sum(0) / hist.sum()
    best, best_cost = None, math.inf
    for _ in range(draws):
        perm = rng.permutation(n)  # perm[slot] = unit row placed at that slot
        onehot = np.zeros((n, k))
        onehot[perm, slot_group] = 1.0
        sums = onehot.T @ hist  # (k, classes)
        cost = float(np.abs(sums / sums.sum(1, keepdims=True) - target).sum())
        if cost < best_cost - 1e-12:
            best, best_cost = perm, cost
    assert best is not None
    return [sorted(units[r] for r in best[slot_group == g]) for g in range(k)]


def _build(index: int, train: tuple[str, ...], val: tuple[str, ...], test: tuple[str, ...],
           members: dict[str, list[int]], utterances: Sequence[Any], cfg: ProtocolConfig) -> Fold:
    def idx(units: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(sorted(i for u in units for i in members[u]))

    def spk(ix: tuple[int, ...]) -> tuple[str, ...]:
        return tuple(sorted({str(utterances[i].speaker) for i in ix}))

    tr, va, te = idx(train), idx(val), idx(test)
    session = cfg.unit == "session"
    fold = Fold(
        index=index, train=tr, val=va, test=te,
        train_speakers=spk(tr), val_speakers=spk(va), test_speakers=spk(te),
        kind=cfg.kind, seed=cfg.seed, group=cfg.unit,
        train_groups=train if session else (), val_groups=val if session else (),
        test_groups=test if session else (),
    )
    check_fold(fold, utterances)
    return fold


for _kind in ("kfold", "ratio", "loso", "loso_session", "fixed"):
    PROTOCOL_KINDS.register(_kind)(speaker_folds)
