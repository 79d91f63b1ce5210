"""Speaker-independent train/validation/test splits.

A *unit* (a speaker, or a recording session for IEMOCAP) never crosses partitions.
:func:`make_folds` turns a list of utterances and a :class:`ProtocolConfig` into
:class:`Fold` records of utterance indices and runs :func:`check_fold` on every one.

Kinds:

``kfold``
    Units are split into ``folds`` groups; every unit is tested in exactly one fold.
    Group sizes differ by at most one unit; with ``stratify`` the best-balanced of
    many seeded shuffles is kept, so each group's class mix stays close to the corpus's.
``ratio``
    Each of ``folds`` folds is an independent random unit split: ``test_ratio`` of the
    units for test, ``val_ratio`` of the rest for validation. Test sets may overlap
    across folds and some units may never be tested. With ``test_ratio=0.1`` and
    ``val_ratio=0.2`` this gives the ~70/20/10 speaker split (4 folds) of the
    multi-time-scale (MTS) CNN paper: Guizzo, Weyde and Leveson, "Multi-time-scale
    convolution for emotion recognition from speech audio signals", ICASSP 2020.
``loso`` / ``loso_session``
    Leave one speaker (session) out: one fold per unit, that unit is the test set; ``folds`` is ignored.
``fixed``
    One fold from explicit ``train``/``val``/``test`` lists of units.
``session_speakers``
    Per held-out session, test one speaker and validate on another (IEMOCAP): :mod:`.session_speakers`.
``multicorpus`` / ``multicorpus_resample``
    Pooled corpora: each corpus's speakers split 60/20/20 (rotated groups / reshuffled per fold) and the
    per-corpus partitions merged into one fold (Kim et al., ACII 2017): :mod:`.multicorpus`.
``cross_corpus``
    Train (and validate) on one or more corpora of a pool, test on another: every ordered pair, or the
    ``train``/``test`` corpora named; :mod:`.cross_corpus`.

In every kind except ``fixed`` and ``session_speakers`` the validation units are drawn at random (seeded) from the
non-test units: ``val_speakers`` of them when set, else ``val_ratio`` of them rounded half up, at least one and leaving
at least one for training. If a draw leaves the training partition without a class that validation or test holds, up to
``_VAL_DRAWS`` further draws are tried before :class:`ProtocolError` is raised.

Units are sorted before any shuffling and every random stream is seeded from
``(seed, fold index, draw)``, so the same seed gives the same folds and the order of
the input utterances does not change which unit goes where.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..config import check
from ..errors import ProtocolError

KINDS = ("kfold", "ratio", "loso", "loso_session", "fixed", "session_speakers", "multicorpus",
         "multicorpus_resample", "cross_corpus")
GROUPS = ("speaker", "session")
_VAL_DRAWS = 50
_STRATIFY_DRAWS = 256
# random-stream tags, so that different uses of one seed never share a stream
_ASSIGN, _VAL, _RATIO = 11, 23, 37


@dataclass(frozen=True)
class ProtocolConfig:
    """How utterances are split into speaker-independent folds (see the module docstring).

    ``train``/``val``/``test`` (kind ``fixed`` only) name units of ``group``: speaker ids,
    or session ids when ``group="session"``. ``loso_session`` always uses sessions.
    ``stratify`` (kfold) balances the class mix of the unit groups.
    ``val_within_train`` > 0 draws validation as that share of the *training speakers'*
    utterances (stratified by class) instead of holding out validation speakers: the
    only option for corpora with two speakers (TESS). Test stays speaker-independent;
    validation does not, and the fold records it (``val_within_train``).
    """

    kind: str = "kfold"
    folds: int = 4
    val_ratio: float = 0.2
    test_ratio: float = 0.1
    val_speakers: int | None = None
    seed: int = 0
    train: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    test: tuple[str, ...] = ()
    group: str = "speaker"
    stratify: bool = True
    val_within_train: float = 0.0

    def __post_init__(self) -> None:
        p = "protocol"
        check(0.0 <= self.val_within_train < 1.0,
              f"{p}.val_within_train: must be in [0, 1), got {self.val_within_train}")
        check(not (self.val_within_train and self.kind == "fixed"),
              f"{p}.val_within_train: not available with kind fixed (name validation speakers instead)")
        check(self.kind in KINDS, f"{p}.kind: unknown kind {self.kind!r}; choose one of {', '.join(KINDS)}")
        check(self.group in GROUPS, f"{p}.group: unknown unit {self.group!r}; choose speaker or session")
        if self.kind == "kfold":
            check(self.folds >= 2, f"{p}.folds: kfold needs at least 2 folds, got {self.folds}")
        if self.kind == "ratio":
            check(self.folds >= 1, f"{p}.folds: ratio needs at least 1 fold, got {self.folds}")
        check(0.0 < self.val_ratio < 1.0, f"{p}.val_ratio: must be in (0, 1), got {self.val_ratio}")
        check(0.0 < self.test_ratio < 1.0, f"{p}.test_ratio: must be in (0, 1), got {self.test_ratio}")
        check(
            self.val_speakers is None or self.val_speakers >= 1,
            f"{p}.val_speakers: must be at least 1 (or unset to use val_ratio), got {self.val_speakers}",
        )
        check(self.seed >= 0, f"{p}.seed: must be a non-negative integer, got {self.seed}")
        lists = {"train": self.train, "val": self.val, "test": self.test}
        if self.kind == "fixed":
            for name, units in lists.items():
                check(len(units) > 0, f"{p}.{name}: kind fixed needs a non-empty list of {self.group}s")
                dup = sorted(u for u, c in Counter(units).items() if c > 1)
                check(not dup, f"{p}.{name}: {', '.join(dup)} listed twice; list each {self.group} once")
            for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
                both = sorted(set(lists[a]) & set(lists[b]))
                check(not both, f"{p}.{a}/{b}: {', '.join(both)} in both lists; a {self.group} "
                                f"belongs to one partition")
        elif self.kind == "cross_corpus":  # train/test name corpora (emoconv.protocol.cross_corpus)
            check(not self.val, f"{p}.val: cross_corpus draws validation speakers from the training corpora "
                                "(val_ratio); leave val empty")
            check(not (self.train and not self.test), f"{p}.train: with cross_corpus, give test corpora too")
            both = sorted(set(self.train) & set(self.test))
            check(not both, f"{p}.train/test: corpus {', '.join(both)} in both; test on another corpus")
        else:
            for name, units in lists.items():
                check(not units, f"{p}.{name}: explicit lists are for kind fixed only (kind is {self.kind!r})")

    @property
    def unit(self) -> str:
        """The attribute that never crosses partitions: ``"speaker"`` or ``"session"``."""
        return "session" if self.kind in ("loso_session", "session_speakers") else self.group


@dataclass(frozen=True)
class Fold:
    """One train/validation/test split: utterance indices and the speakers in each part.

    ``kind``, ``seed`` and ``group`` record how the fold was made; ``*_groups`` list the
    sessions when ``group == "session"`` (empty otherwise).
    """

    index: int
    train: tuple[int, ...]
    val: tuple[int, ...]
    test: tuple[int, ...]
    train_speakers: tuple[str, ...]
    val_speakers: tuple[str, ...]
    test_speakers: tuple[str, ...]
    kind: str = "custom"
    seed: int | None = None
    group: str = "speaker"
    train_groups: tuple[str, ...] = ()
    val_groups: tuple[str, ...] = ()
    test_groups: tuple[str, ...] = ()
    val_within_train: bool = False

    def describe(self) -> dict[str, Any]:
        """JSON-ready record of the split, stored beside results."""
        out: dict[str, Any] = {
            "index": self.index, "kind": self.kind, "seed": self.seed, "group": self.group,
            "train_speakers": list(self.train_speakers), "val_speakers": list(self.val_speakers),
            "test_speakers": list(self.test_speakers),
            "sizes": {"train": len(self.train), "val": len(self.val), "test": len(self.test)},
            "val_within_train": self.val_within_train,
        }
        if self.group == "session":
            out.update(train_sessions=list(self.train_groups), val_sessions=list(self.val_groups),
                       test_sessions=list(self.test_groups))
        return out


def _unit_of(utt: Any, unit: str, i: int) -> str:
    value = getattr(utt, unit, None)
    if value is None or value == "":
        raise ProtocolError(
            f"utterance {i} ({getattr(utt, 'path', '?')}) has no {unit}; "
            f"use group='speaker' or a corpus loader that records sessions"
        )
    return str(value)


def _parts(fold: Fold) -> tuple[tuple[str, tuple[int, ...]], ...]:
    return (("train", fold.train), ("val", fold.val), ("test", fold.test))


def check_fold(fold: Fold, utterances: Sequence[Any]) -> None:
    """Raise ProtocolError unless ``fold`` is a leak-free, usable split of ``utterances``.

    Checked: indices in range and in one partition only; no empty partition; no speaker
    (and, for ``group == "session"``, no session) in two partitions; the fold's speaker
    lists match its indices; every class in validation or test also occurs in training.
    """
    n = len(utterances)
    where = f"fold {fold.index}"
    seen: dict[int, str] = {}
    for name, idx in _parts(fold):
        if not idx:
            raise ProtocolError(f"{where}: the {name} partition is empty; use fewer folds or more speakers")
        for i in idx:
            if not 0 <= i < n:
                raise ProtocolError(f"{where}: {name} index {i} is outside the {n} utterances; "
                                    f"make the fold from the same utterance list")
            if i in seen:
                raise ProtocolError(f"{where}: utterance {i} is in both {seen[i]} and {name}; "
                                    f"each utterance belongs to one partition")
            seen[i] = name
    units = ("speaker", "session") if fold.group == "session" else ("speaker",)
    for unit in units:
        owner: dict[str, str] = {}
        for name, idx in _parts(fold):
            if name == "val" and (fold.val_within_train or (fold.kind == "session_speakers" and unit == "session")):
                name = "train" if fold.val_within_train else "test"  # shared by design (see the kinds); speakers never
            for u in sorted({_unit_of(utterances[i], unit, i) for i in idx}):
                if u in owner and owner[u] != name:
                    raise ProtocolError(f"{where}: {unit} {u!r} is in both {owner[u]} and {name}; "
                                        f"a {unit} must stay in one partition")
                owner[u] = name
    declared = (fold.train_speakers, fold.val_speakers, fold.test_speakers)
    for (name, idx), listed in zip(_parts(fold), declared):
        actual = {str(utterances[i].speaker) for i in idx}
        if actual != set(listed):
            raise ProtocolError(f"{where}: {name}_speakers does not match the speakers of its "
                                f"utterances; rebuild the fold from the same utterance list")
    train_labels = {utterances[i].label for i in fold.train}
    for name, idx in _parts(fold)[1:]:
        missing = sorted({utterances[i].label for i in idx} - train_labels)
        if missing:
            raise ProtocolError(
                f"{where}: class {missing[0]!r} is in {name} but not in train; drop that class, "
                f"change protocol.seed or use more training speakers"
            )


def make_folds(utterances: Sequence[Any], cfg: ProtocolConfig) -> list[Fold]:
    """Split ``utterances`` (objects with ``speaker``, ``label`` and optionally ``session``) into folds.

    Returns ``cfg.folds`` folds for kfold/ratio, one per unit for loso/loso_session and one
    for fixed. Raises ProtocolError when there are too few units for the request or a fold
    fails :func:`check_fold`.
    """
    if not utterances:
        raise ProtocolError("no utterances to split; load a corpus first")
    if cfg.kind == "session_speakers":
        from .session_speakers import session_speaker_folds
        return session_speaker_folds(utterances, cfg)
    if cfg.kind == "cross_corpus":
        from .cross_corpus import cross_corpus_folds
        return cross_corpus_folds(utterances, cfg)
    if cfg.kind in ("multicorpus", "multicorpus_resample"):
        from .multicorpus import MultiCorpusConfig, multicorpus_folds
        mode = "rotate" if cfg.kind == "multicorpus" else "resample"
        return multicorpus_folds(utterances, MultiCorpusConfig(folds=cfg.folds, mode=mode, val_ratio=cfg.val_ratio,
                                                               test_ratio=cfg.test_ratio, seed=cfg.seed))
    unit = cfg.unit
    keys = [_unit_of(u, unit, i) for i, u in enumerate(utterances)]
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
            order = np.random.default_rng([cfg.seed, _RATIO, f]).permutation(n)
            tests.append(sorted(units[j] for j in order[:n_test]))

    if cfg.val_within_train:
        from .within import within_train_fold

        return [within_train_fold(f, test, units, members, utterances, cfg) for f, test in enumerate(tests)]
    folds = []
    for f, test in enumerate(tests):
        tested = set(test)
        rest = [u for u in units if u not in tested]
        n_val = _val_count(len(rest), cfg, noun)
        error: ProtocolError | None = None
        for draw in range(_VAL_DRAWS):
            order = np.random.default_rng([cfg.seed, _VAL, f, draw]).permutation(len(rest))
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
    rng = np.random.default_rng([cfg.seed, _ASSIGN])
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

