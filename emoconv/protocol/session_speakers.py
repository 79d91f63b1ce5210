"""The ``session_speakers`` protocol kind: test and validate on the two speakers of a held-out session.

This is the IEMOCAP protocol of the multi-dilated CNN paper (Scientific Reports 15:8254, 2025, section
"Speaker-independent experiment"): train on four sessions, and of the fifth session use one actor for
validation and the other for testing. Rotating over sessions and over which actor is tested gives one fold
per speaker (10 for IEMOCAP's 5 sessions x 2 actors), so every speaker is tested exactly once.

Per session ``S`` with speakers ``s_1 < ... < s_k`` (sorted, ``k >= 2``), fold ``j`` tests ``s_j`` and
validates on ``s_{j+1}`` (cyclically; with two speakers the pair simply swaps); training holds every
utterance of the other sessions. With ``k > 2`` the session's remaining speakers are in no partition.
No speaker is in two partitions and no training session is held out; validation and test deliberately
share their session (not a speaker), and :func:`~emoconv.protocol.splits.check_fold` allows exactly that for
this kind. Deterministic: ``seed``, ``folds`` and the ``val_*`` settings are not used.

>>> from emoconv.corpora.base import Utterance
>>> from pathlib import Path
>>> from emoconv.protocol import ProtocolConfig
>>> utts = [Utterance(Path(f"{s}{g}_{i}.wav"), f"{s}{g}", lab, "toy", session=s)
...         for s in ("Ses01", "Ses02", "Ses03") for g in "FM" for i, lab in enumerate(("anger", "sadness"))]
>>> folds = session_speaker_folds(utts, ProtocolConfig(kind="session_speakers"))
>>> [(f.test_speakers[0], f.val_speakers[0], f.train_groups) for f in folds[:2]]
[('Ses01F', 'Ses01M', ('Ses02', 'Ses03')), ('Ses01M', 'Ses01F', ('Ses02', 'Ses03'))]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..errors import ProtocolError
from .fold import PROTOCOL_KINDS, Fold, check_fold, unit_of

if TYPE_CHECKING:
    from .splits import ProtocolConfig


@PROTOCOL_KINDS.register("session_speakers")
def session_speaker_folds(utterances: Sequence[Any], cfg: ProtocolConfig) -> list[Fold]:
    """One fold per speaker: test = that speaker, validation = the next speaker of its session.

    ``utterances`` need ``speaker``, ``session`` and ``label``. Folds are ordered by session, then
    test speaker. Raises :class:`ProtocolError` with fewer than 2 sessions, a session with fewer
    than 2 speakers, or a fold that fails :func:`check_fold` (e.g. a speaker in two sessions).
    """
    sessions: dict[str, list[int]] = {}
    for i, u in enumerate(utterances):
        sessions.setdefault(unit_of(u, "session", i), []).append(i)
    names = sorted(sessions)
    if len(names) < 2:
        raise ProtocolError(f"protocol.kind=session_speakers needs at least 2 sessions (train, held out); "
                            f"the utterances have {len(names)}; use kind loso instead")
    folds: list[Fold] = []
    for held in names:
        by_speaker: dict[str, list[int]] = {}
        for i in sessions[held]:
            by_speaker.setdefault(unit_of(utterances[i], "speaker", i), []).append(i)
        speakers = sorted(by_speaker)
        if len(speakers) < 2:
            raise ProtocolError(f"protocol.kind=session_speakers: session {held!r} has {len(speakers)} speaker; "
                                "each session needs 2 (test, validation); use kind loso_session instead")
        rest = tuple(s for s in names if s != held)
        train = tuple(sorted(i for s in rest for i in sessions[s]))
        train_speakers = tuple(sorted({str(utterances[i].speaker) for i in train}))
        for j, test in enumerate(speakers):
            val = speakers[(j + 1) % len(speakers)]
            fold = Fold(index=len(folds), train=train, val=tuple(by_speaker[val]), test=tuple(by_speaker[test]),
                        train_speakers=train_speakers, val_speakers=(val,), test_speakers=(test,),
                        kind=cfg.kind, seed=cfg.seed, group="session", train_groups=rest,
                        val_groups=(held,), test_groups=(held,))
            check_fold(fold, utterances)
            folds.append(fold)
    return folds
