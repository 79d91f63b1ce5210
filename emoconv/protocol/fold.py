"""A fold (one speaker-independent train/validation/test split), its leak check, and the protocol-kind registry.

Every protocol kind is a function ``(utterances, cfg: ProtocolConfig) -> list[Fold]`` registered with
``@PROTOCOL_KINDS.register(name)`` in its own module (speaker_folds, session_speakers, multicorpus,
cross_corpus); :func:`emoconv.protocol.make_folds` looks the kind up, so no kind module imports another.

>>> from emoconv.corpora.base import Utterance
>>> from pathlib import Path
>>> utts = [Utterance(Path(f"{s}{i}.wav"), s, lab, "x") for s in "abc" for i, lab in enumerate(["x", "y"])]
>>> check_fold(Fold(0, (0, 1), (2, 3), (4, 5), ("a",), ("b",), ("c",)), utts)
>>> check_fold(Fold(0, (0, 1, 2), (3,), (4, 5), ("a", "b"), ("b",), ("c",)), utts)
Traceback (most recent call last):
...
emoconv.errors.ProtocolError: fold 0: speaker 'b' is in both train and val; a speaker must stay in one partition
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..errors import ProtocolError
from ..registry import Registry

__all__ = ["Fold", "PROTOCOL_KINDS", "check_fold", "unit_of", "VAL_STREAM"]

#: Random-stream tags, so that different uses of one seed never share a stream.
ASSIGN_STREAM, VAL_STREAM, RATIO_STREAM = 11, 23, 37

_MODULES = ("speaker_folds", "session_speakers", "multicorpus", "cross_corpus")

#: Protocol kinds by name: ``PROTOCOL_KINDS.get("loso")(utterances, cfg) -> list[Fold]``.
PROTOCOL_KINDS: Registry[Callable[..., list]] = Registry("protocol kind",
                                                          modules=[f"{__package__}.{m}" for m in _MODULES])


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


def unit_of(utt: Any, unit: str, i: int) -> str:
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
            for u in sorted({unit_of(utterances[i], unit, i) for i in idx}):
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
