"""Speaker-independent splits: leakage properties, reproducibility and errors."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emoconv.config import from_dict
from emoconv.corpora.base import Utterance
from emoconv.errors import ConfigError, ProtocolError
from emoconv.protocol import Fold, ProtocolConfig, check_fold, make_folds

LABELS = ("neutral", "anger", "happiness", "sadness")


def corpus(n_speakers: int, per_speaker: int = 8, speakers_per_session: int = 2, seed: int = 0) -> list[Utterance]:
    """Every speaker says every class (so no split lacks a class), in a shuffled order."""
    rng = random.Random(seed)
    utts = [
        Utterance(Path(f"s{s}_{i}.wav"), f"spk{s:02d}", LABELS[i % len(LABELS)], "toy",
                  session=f"Ses{s // speakers_per_session}")
        for s in range(n_speakers) for i in range(per_speaker)
    ]
    rng.shuffle(utts)
    return utts


def assert_leak_free(folds: list[Fold], utts: list[Utterance], unit: str = "speaker") -> None:
    for f in folds:
        parts = [set(f.train), set(f.val), set(f.test)]
        assert sum(len(p) for p in parts) == len(utts), "partitions must cover all utterances"
        assert set().union(*parts) == set(range(len(utts)))
        for attr in {unit, "speaker"}:
            owners = [{getattr(utts[i], attr) for i in p} for p in parts]
            assert not (owners[0] & owners[1]) and not (owners[0] & owners[2]) and not (owners[1] & owners[2])
        assert set(f.test_speakers) == {utts[i].speaker for i in f.test}


# hypothesis: random speaker / label assignments ------------------------------------------------

@st.composite
def random_corpus(draw):
    """3-9 speakers with random labels and sessions (up to 4), shuffled. A class held by fewer
    than 4 speakers or recorded in fewer than 3 sessions is relabelled neutral (which every
    speaker has), so every kind below has a leak-free split with every class in training."""
    n_spk = draw(st.integers(3, 9))
    utts = []
    for s in range(n_spk):
        labels = ["neutral"] + draw(st.lists(st.sampled_from(LABELS), min_size=0, max_size=4))
        sess = draw(st.integers(0, 3))
        for i, lab in enumerate(labels):
            utts.append(Utterance(Path(f"{s}_{i}.wav"), f"p{s}", lab, "toy", session=f"S{sess}"))
    holders = Counter(lab for lab, _ in {(u.label, u.speaker) for u in utts})
    sessions = Counter(lab for lab, _ in {(u.label, u.session) for u in utts})
    utts = [u if holders[u.label] >= 4 and sessions[u.label] >= 3 else replace(u, label="neutral") for u in utts]
    perm = draw(st.permutations(range(len(utts))))
    return [utts[i] for i in perm]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(utts=random_corpus(), kind=st.sampled_from(["kfold", "ratio", "loso", "loso_session"]),
       seed=st.integers(0, 5))
def test_no_leakage_for_random_corpora(utts, kind, seed):
    n_units = len({u.speaker for u in utts})
    cfg = ProtocolConfig(kind=kind, folds=min(3, n_units), seed=seed)
    n_sessions = len({u.session for u in utts})
    if kind == "loso_session" and n_sessions < 3:
        with pytest.raises(ProtocolError, match=f"needs at least 3 sessions.*have {n_sessions}"):
            make_folds(utts, cfg)
        return
    folds = make_folds(utts, cfg)
    assert_leak_free(folds, utts, unit=cfg.unit)
    if kind in ("kfold", "loso"):
        tested = Counter(s for f in folds for s in f.test_speakers)
        assert set(tested) == {u.speaker for u in utts} and set(tested.values()) == {1}
    if kind == "loso":
        assert len(folds) == n_units
    if kind == "loso_session":
        assert len(folds) == n_sessions
        assert sorted(g for f in folds for g in f.test_groups) == sorted({u.session for u in utts})
    for f in folds:  # make_folds asserted it; re-check independently
        check_fold(f, utts)


@settings(max_examples=30, deadline=None)
@given(utts=random_corpus(), kind=st.sampled_from(["kfold", "ratio", "loso"]), seed=st.integers(0, 100))
def test_input_order_does_not_change_speaker_assignment(utts, kind, seed):
    cfg = ProtocolConfig(kind=kind, folds=3, seed=seed)
    a = make_folds(utts, cfg)
    b = make_folds(list(reversed(utts)), cfg)
    key = [(f.train_speakers, f.val_speakers, f.test_speakers) for f in a]
    assert key == [(f.train_speakers, f.val_speakers, f.test_speakers) for f in b]


# deterministic behaviour -----------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["kfold", "ratio", "loso", "loso_session"])
def test_same_seed_same_folds_and_seed_matters(kind):
    utts = corpus(12)
    a = make_folds(utts, ProtocolConfig(kind=kind, seed=3))
    b = make_folds(utts, ProtocolConfig(kind=kind, seed=3))
    assert a == b
    others = [make_folds(utts, ProtocolConfig(kind=kind, seed=s)) for s in range(4, 8)]
    assert any(o != a for o in others)


def test_kfold_sizes_and_every_speaker_tested_once():
    utts = corpus(10)
    folds = make_folds(utts, ProtocolConfig(kind="kfold", folds=4))
    assert [f.index for f in folds] == [0, 1, 2, 3]
    assert sorted(len(f.test_speakers) for f in folds) == [2, 2, 3, 3]
    assert sorted(s for f in folds for s in f.test_speakers) == sorted({u.speaker for u in utts})
    for f in folds:  # 7 or 8 non-test speakers; 20 % rounded half up, at least 1
        assert len(f.val_speakers) == (1 if len(f.test_speakers) == 3 else 2)
    assert_leak_free(folds, utts)


def test_kfold_stratification_balances_classes():
    # 8 speakers: 4 only say anger, 4 only say sadness; 2 folds must each get 2 of both kinds
    utts = [Utterance(Path(f"{s}_{i}.wav"), f"s{s}", "anger" if s % 2 else "sadness", "t")
            for s in range(8) for i in range(3)]
    for seed in range(10):
        for f in make_folds(utts, ProtocolConfig(kind="kfold", folds=2, seed=seed, val_speakers=1)):
            assert Counter(utts[i].label for i in f.test) == {"anger": 6, "sadness": 6}


def test_ratio_kind_proportions():
    utts = corpus(20)
    folds = make_folds(utts, ProtocolConfig(kind="ratio", folds=4, test_ratio=0.1, val_ratio=0.2))
    assert len(folds) == 4
    for f in folds:  # 2 test speakers (10 %), round(0.2 * 18) = 4 validation, 14 training
        assert (len(f.train_speakers), len(f.val_speakers), len(f.test_speakers)) == (14, 4, 2)
    assert len({f.test_speakers for f in folds}) > 1


def test_ratio_kind_warns_when_folds_test_the_same_speakers():
    with pytest.warns(UserWarning, match=r"protocol.kind=ratio: 1 of the 4 folds test the same speakers"):
        folds = make_folds(corpus(6), ProtocolConfig(kind="ratio", folds=4, test_ratio=0.1, val_ratio=0.2))
    assert len({f.test_speakers for f in folds}) == 3  # 6 speakers, one tested per fold, drawn independently


def test_val_speakers_count():
    folds = make_folds(corpus(8), ProtocolConfig(kind="loso", val_speakers=3))
    assert all(len(f.val_speakers) == 3 and len(f.train_speakers) == 4 for f in folds)


def test_loso_session_keeps_sessions_whole():
    utts = corpus(10, speakers_per_session=2)  # IEMOCAP-like: 5 sessions of 2 speakers
    folds = make_folds(utts, ProtocolConfig(kind="loso_session"))
    assert len(folds) == 5
    assert [f.test_groups for f in folds] == [(f"Ses{i}",) for i in range(5)]
    assert_leak_free(folds, utts, unit="session")
    d = folds[0].describe()
    assert d["test_sessions"] == ["Ses0"] and d["group"] == "session"


def test_fixed_kind_and_describe_is_json():
    utts = corpus(6)
    cfg = ProtocolConfig(kind="fixed", train=("spk00", "spk01", "spk02"), val=("spk03",), test=("spk05", "spk04"))
    [fold] = make_folds(utts, cfg)
    assert fold.test_speakers == ("spk04", "spk05") and fold.val_speakers == ("spk03",)
    d = json.loads(json.dumps(fold.describe()))
    assert d == {"index": 0, "kind": "fixed", "seed": 0, "group": "speaker",
                 "train_speakers": ["spk00", "spk01", "spk02"], "val_speakers": ["spk03"],
                 "test_speakers": ["spk04", "spk05"], "sizes": {"train": 24, "val": 8, "test": 16},
                 "val_within_train": False}


def test_fixed_kind_rejects_unknown_and_unlisted_speakers():
    utts = corpus(6)
    with pytest.raises(ProtocolError, match="spk99 not found"):
        make_folds(utts, ProtocolConfig(kind="fixed", train=("spk00", "spk99"), val=("spk01",), test=("spk02",)))
    with pytest.raises(ProtocolError, match="spk04, spk05 in no list"):
        make_folds(utts, ProtocolConfig(kind="fixed", train=("spk00", "spk03"), val=("spk01",), test=("spk02",)))


# errors ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("cfg, n, match", [
    (ProtocolConfig(kind="kfold", folds=5), 4, r"protocol.folds=5 needs at least 5 speakers; the utterances have 4"),
    (ProtocolConfig(kind="kfold", folds=2), 2, r"protocol.folds=2 leaves fewer than 2 non-test speakers"),
    (ProtocolConfig(kind="loso"), 2, r"kind=loso needs at least 3 speakers.*have 2"),
    (ProtocolConfig(kind="ratio"), 2, r"protocol.test_ratio=0.1 leaves fewer than 2 non-test speakers"),
    (ProtocolConfig(kind="loso", val_speakers=3), 4, r"protocol.val_speakers=3 leaves no training speakers"),
    (ProtocolConfig(kind="loso_session"), 4, r"kind=loso_session needs at least 3 sessions.*have 2"),
])
def test_too_few_speakers(cfg, n, match):
    with pytest.raises(ProtocolError, match=match):
        make_folds(corpus(n), cfg)


def test_training_partition_lacking_a_class_is_an_error():
    utts = corpus(4)
    utts.append(Utterance(Path("x.wav"), "spk03", "fear", "toy", session="Ses1"))  # only spk03 has fear
    cfg = ProtocolConfig(kind="fixed", train=("spk00", "spk01"), val=("spk02",), test=("spk03",))
    with pytest.raises(ProtocolError, match=r"fold 0: class 'fear' is in test but not in train; drop that class"):
        make_folds(utts, cfg)
    # loso: testing spk03 always leaves train without fear, whatever the validation draw
    with pytest.raises(ProtocolError, match="class 'fear' is in test but not in train"):
        make_folds(utts, ProtocolConfig(kind="loso"))


def test_validation_redraw_keeps_classes_in_training():
    # only spk00 and spk01 say "fear"; a draw putting both in validation is redrawn, not raised
    utts = corpus(6) + [Utterance(Path(f"f{s}.wav"), f"spk0{s}", "fear", "toy", session="Ses0") for s in (0, 1)]
    for seed in range(20):
        for f in make_folds(utts, ProtocolConfig(kind="kfold", folds=3, seed=seed, val_speakers=2)):
            assert "fear" in {utts[i].label for i in f.train} or "fear" not in {
                utts[i].label for i in f.val + f.test}


def test_check_fold_catches_each_kind_of_leak():
    utts = corpus(4, per_speaker=2)
    by = {s: tuple(i for i, u in enumerate(utts) if u.speaker == s) for s in ("spk00", "spk01", "spk02", "spk03")}
    good = Fold(0, by["spk00"] + by["spk01"], by["spk02"], by["spk03"], ("spk00", "spk01"), ("spk02",), ("spk03",))
    check_fold(good, utts)
    with pytest.raises(ProtocolError, match=r"fold 0: speaker 'spk01' is in both train and test"):
        check_fold(replace(good, train=by["spk00"] + by["spk01"][1:], test=by["spk03"] + by["spk01"][:1],
                           test_speakers=("spk01", "spk03")), utts)
    with pytest.raises(ProtocolError, match=r"utterance \d+ is in both train and val"):
        check_fold(replace(good, val=by["spk02"] + by["spk00"][:1]), utts)
    with pytest.raises(ProtocolError, match="the val partition is empty"):
        check_fold(replace(good, val=(), val_speakers=()), utts)
    with pytest.raises(ProtocolError, match="index 99 is outside the 8 utterances"):
        check_fold(replace(good, test=(99,)), utts)
    with pytest.raises(ProtocolError, match="test_speakers does not match"):
        check_fold(replace(good, test_speakers=("spk02",)), utts)
    # session unit: spk00 and spk01 share Ses0; splitting them leaks the session
    sess = replace(good, train=by["spk00"] + by["spk02"], val=by["spk01"], train_speakers=("spk00", "spk02"),
                   val_speakers=("spk01",), group="session")
    with pytest.raises(ProtocolError, match="session 'Ses0' is in both train and val"):
        check_fold(sess, utts)


def test_session_unit_requires_sessions():
    utts = [Utterance(Path(f"{i}.wav"), f"s{i}", "anger", "t") for i in range(4)]
    with pytest.raises(ProtocolError, match="has no session; use group='speaker'"):
        make_folds(utts, ProtocolConfig(kind="loso_session"))


@pytest.mark.parametrize("kwargs, match", [
    ({"kind": "holdout"}, r"protocol.kind: unknown kind 'holdout'"),
    ({"folds": 1}, r"protocol.folds: kfold needs at least 2"),
    ({"val_ratio": 0.0}, r"protocol.val_ratio"),
    ({"test_ratio": 1.0}, r"protocol.test_ratio"),
    ({"val_speakers": 0}, r"protocol.val_speakers"),
    ({"seed": -1}, r"protocol.seed"),
    ({"group": "corpus"}, r"protocol.group"),
    ({"train": ("a",)}, r"protocol.train: explicit lists are for kind fixed only"),
    ({"kind": "fixed", "train": ("a",), "val": ("b",)}, r"protocol.test: kind fixed needs a non-empty list"),
    ({"kind": "fixed", "train": ("a", "b"), "val": ("b",), "test": ("c",)}, r"protocol.train/val: b in both"),
])
def test_config_validation(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        ProtocolConfig(**kwargs)


def test_config_from_yaml_dict():
    cfg = from_dict(ProtocolConfig, {"kind": "fixed", "train": ["a", "b"], "val": ["c"], "test": ["d"]}, "protocol")
    assert cfg.train == ("a", "b") and cfg.unit == "speaker"
    with pytest.raises(ConfigError, match="unknown key"):
        from_dict(ProtocolConfig, {"fold": 3}, "protocol")


@pytest.mark.real_audio
def test_savee_loso_on_real_corpus(shared_corpora):
    from emoconv.corpora import load_corpus

    utts = load_corpus("savee", shared_corpora / "savee")
    folds = make_folds(utts, ProtocolConfig(kind="loso"))
    assert [f.test_speakers for f in folds] == [("DC",), ("JE",), ("JK",), ("KL",)]
    assert all(len(f.test) == 120 and len(f.val_speakers) == 1 for f in folds)
    assert_leak_free(folds, utts)


def test_val_within_train_allows_two_speaker_corpora():
    from types import SimpleNamespace as U

    from emoconv.protocol import ProtocolConfig, make_folds

    utts = [U(speaker=s, label=lab, path=f"{s}{i}", session=None)
            for s in ("OAF", "YAF") for i, lab in enumerate(["anger", "sadness"] * 10)]
    folds = make_folds(utts, ProtocolConfig(kind="loso", val_within_train=0.2))
    assert len(folds) == 2
    for f in folds:
        assert set(f.test_speakers).isdisjoint(f.train_speakers)
        assert f.val_speakers == f.train_speakers and len(f.val) == 4 and len(f.train) == 16
        assert {utts[i].label for i in f.val} == {"anger", "sadness"}
        assert f.describe()["val_within_train"] is True


def test_val_within_train_still_catches_test_leaks():
    from types import SimpleNamespace as U

    import pytest

    from emoconv.errors import ProtocolError
    from emoconv.protocol import Fold, check_fold

    utts = [U(speaker="A", label="anger", path="a", session=None), U(speaker="A", label="anger", path="b", session=None),
            U(speaker="B", label="anger", path="c", session=None)]
    fold = Fold(0, (0,), (2,), (1,), ("A",), ("B",), ("A",), val_within_train=True)
    with pytest.raises(ProtocolError, match="speaker 'A' is in both train and test"):
        check_fold(fold, utts)


# session_speakers (IEMOCAP, multi-dilated CNN paper) and EMODB's loso with one validation speaker ----------

def iemocap_like(n_sessions: int = 5) -> list[Utterance]:
    """Sessions of one female and one male speaker, every speaker saying every class."""
    return corpus(2 * n_sessions, per_speaker=8, speakers_per_session=2, seed=3)


def test_session_speakers_tests_every_speaker_once_and_trains_on_other_sessions():
    utts = iemocap_like(5)
    folds = make_folds(utts, ProtocolConfig(kind="session_speakers"))
    assert len(folds) == 10
    assert sorted(f.test_speakers[0] for f in folds) == sorted({u.speaker for u in utts})
    for f in folds:
        held = {utts[i].session for i in f.test}
        assert len(held) == 1 and {utts[i].session for i in f.val} == held      # same session, paper's protocol
        assert f.val_speakers != f.test_speakers and len(f.val_speakers) == len(f.test_speakers) == 1
        assert held.isdisjoint({utts[i].session for i in f.train})
        assert len({utts[i].session for i in f.train}) == 4
        assert len(f.train) + len(f.val) + len(f.test) == len(utts)
        d = f.describe()
        assert d["test_sessions"] == d["val_sessions"] == sorted(held) and len(d["train_sessions"]) == 4
    # the two folds of one session swap validation and test
    assert (folds[0].test_speakers, folds[0].val_speakers) == (folds[1].val_speakers, folds[1].test_speakers)
    assert make_folds(list(reversed(utts)), ProtocolConfig(kind="session_speakers"))[3].test_speakers == \
        folds[3].test_speakers


def test_session_speakers_check_fold_still_catches_leaks():
    utts = iemocap_like(3)
    fold = make_folds(utts, ProtocolConfig(kind="session_speakers"))[0]
    leaked = replace(fold, train=fold.train + fold.val[:1], val=fold.val[1:])   # a validation speaker in train
    with pytest.raises(ProtocolError, match="speaker .* is in both train and val"):
        check_fold(leaked, utts)
    moved = fold.train_speakers[0]   # a whole training speaker moved to test: no speaker leak, a session leak
    rows = tuple(i for i in fold.train if utts[i].speaker == moved)
    bad = replace(fold, train=tuple(i for i in fold.train if i not in rows), test=fold.test + rows,
                  train_speakers=fold.train_speakers[1:], test_speakers=fold.test_speakers + (moved,))
    with pytest.raises(ProtocolError, match="session 'Ses.' is in both train and test"):
        check_fold(bad, utts)


def test_session_speakers_errors():
    one_session = corpus(4, speakers_per_session=4)
    with pytest.raises(ProtocolError, match="needs at least 2 sessions"):
        make_folds(one_session, ProtocolConfig(kind="session_speakers"))
    lonely = [u for u in iemocap_like(3) if u.speaker != "spk05"]       # Ses2 keeps one speaker
    with pytest.raises(ProtocolError, match="session 'Ses2' has 1 speaker"):
        make_folds(lonely, ProtocolConfig(kind="session_speakers"))


def test_loso_with_one_validation_speaker_is_the_emodb_protocol():
    utts = corpus(10, per_speaker=8)
    folds = make_folds(utts, ProtocolConfig(kind="loso", val_speakers=1, seed=0))
    assert len(folds) == 10
    assert sorted(f.test_speakers[0] for f in folds) == sorted({u.speaker for u in utts})
    for f in folds:
        assert (len(f.test_speakers), len(f.val_speakers), len(f.train_speakers)) == (1, 1, 8)
    assert_leak_free(folds, utts)
