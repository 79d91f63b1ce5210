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

Each kind is registered in :data:`emoconv.protocol.fold.PROTOCOL_KINDS` by its own module.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Sequence

from ..config import check
from ..errors import ProtocolError
from .fold import PROTOCOL_KINDS, Fold, check_fold  # noqa: F401  (Fold, check_fold: re-exported)

GROUPS = ("speaker", "session")


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
        check(self.kind in PROTOCOL_KINDS,
              f"{p}.kind: unknown kind {self.kind!r}; choose one of {', '.join(PROTOCOL_KINDS.names())}")
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


def make_folds(utterances: Sequence[Any], cfg: ProtocolConfig) -> list[Fold]:
    """Split ``utterances`` (objects with ``speaker``, ``label`` and optionally ``session``) into folds.

    The kind ``cfg.kind`` is looked up in :data:`~emoconv.protocol.fold.PROTOCOL_KINDS`; every fold it
    returns has passed :func:`check_fold`. Raises ProtocolError when there are too few units for the
    request or a fold fails the check.
    """
    if not utterances:
        raise ProtocolError("no utterances to split; load a corpus first")
    return PROTOCOL_KINDS.get(cfg.kind)(utterances, cfg)
