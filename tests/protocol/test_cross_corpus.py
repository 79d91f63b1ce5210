"""Cross-corpus protocol: pairs of pooled corpora, shared classes, no speaker or corpus leak, a UA matrix."""

from __future__ import annotations

import pytest

from emoconv.corpora.base import Utterance
from emoconv.corpora.pool import pool_shared
from emoconv.errors import ConfigError, ProtocolError
from emoconv.protocol import ProtocolConfig, make_folds


def _corpus(name, speakers, labels):
    return [Utterance(path=f"/{name}/{s}_{lab}_{k}.wav", label=lab, speaker=s, corpus=name)
            for s in speakers for lab in labels for k in range(2)]


def _pool():
    return pool_shared({"a": _corpus("a", ["1", "2", "3", "4", "5"], ["anger", "neutral", "fear"]),
                        "b": _corpus("b", ["1", "2", "3"], ["anger", "neutral", "calm"]),
                        "c": _corpus("c", ["x", "y"], ["anger", "neutral", "sadness"])})


def test_shared_pool_keeps_the_common_classes_and_namespaces_speakers():
    utts = _pool()
    assert {u.label for u in utts} == {"anger", "neutral"}
    assert {u.speaker for u in utts if u.corpus == "b"} == {"b/1", "b/2", "b/3"}
    assert all(u.attrs["pool_source_label"] == u.label for u in utts)
    with pytest.raises(ConfigError, match="share"):
        pool_shared({"a": _corpus("a", ["1"], ["anger", "fear"]), "b": _corpus("b", ["1"], ["anger", "calm"])})


def test_every_ordered_pair_is_a_fold_and_nothing_crosses():
    utts = _pool()
    folds = make_folds(utts, ProtocolConfig(kind="cross_corpus", val_ratio=0.2, seed=3))
    pairs = []
    for f in folds:
        train = {utts[i].corpus for i in f.train} | {utts[i].corpus for i in f.val}
        test = {utts[i].corpus for i in f.test}
        assert len(train) == 1 and len(test) == 1 and train != test
        assert not set(f.train_speakers) & set(f.val_speakers)
        assert {utts[i].corpus for i in f.val} == train  # validation from the training corpus only
        assert len(f.test) == sum(u.corpus == next(iter(test)) for u in utts)  # the whole test corpus
        pairs.append((next(iter(train)), next(iter(test))))
    assert sorted(pairs) == sorted((x, y) for x in "abc" for y in "abc" if x != y)
    again = make_folds(utts, ProtocolConfig(kind="cross_corpus", val_ratio=0.2, seed=3))
    assert [f.val for f in folds] == [f.val for f in again]  # seeded


def test_named_test_corpus_trains_on_the_others_or_on_the_named_ones():
    utts = _pool()
    (f,) = make_folds(utts, ProtocolConfig(kind="cross_corpus", test=("c",)))
    assert {utts[i].corpus for i in f.train} == {"a", "b"}
    (g,) = make_folds(utts, ProtocolConfig(kind="cross_corpus", train=("a",), test=("c",)))
    assert {utts[i].corpus for i in g.train} == {"a"}


@pytest.mark.parametrize("kw, match", [
    ({"train": ("a",)}, "give test corpora too"), ({"train": ("a",), "test": ("a",)}, "in both"),
    ({"val": ("a/1",)}, "leave val empty")])
def test_bad_settings_are_one_line(kw, match):
    with pytest.raises(ConfigError, match=match):
        ProtocolConfig(kind="cross_corpus", **kw)


def test_unknown_corpus_and_unpooled_speakers_are_protocol_errors():
    utts = _pool()
    with pytest.raises(ProtocolError, match="not in the pool"):
        make_folds(utts, ProtocolConfig(kind="cross_corpus", test=("z",)))
    raw = _corpus("a", ["1", "2"], ["anger", "neutral"]) + _corpus("b", ["1", "2"], ["anger", "neutral"])
    with pytest.raises(ProtocolError, match="namespaced"):
        make_folds(raw, ProtocolConfig(kind="cross_corpus"))
