"""Per-corpus 60/20/20 speaker splits merged into folds; no speaker leaks even with reused ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emoconv.corpora import Utterance
from emoconv.corpora.pool import pool_corpora
from emoconv.errors import ConfigError, ProtocolError
from emoconv.protocol.multicorpus import MultiCorpusConfig, corpus_breakdown, multicorpus_folds

LABELS = ("neutral", "anger", "happiness", "sadness")


def corpus(name, n_speakers, per_speaker=4, ids=None):
    ids = ids or [f"{i:02d}" for i in range(1, n_speakers + 1)]
    return [Utterance(path=Path(f"/d/{name}/{s}_{j}.wav"), speaker=s, label=LABELS[j % 4], corpus=name)
            for s in ids for j in range(per_speaker)]


def test_rotate_folds_are_60_20_20_per_corpus_and_test_everyone_once():
    utts = corpus("emodb", 10) + corpus("savee", 5) + corpus("ldc", 7)
    folds = multicorpus_folds(utts, MultiCorpusConfig(folds=5, seed=1))
    assert len(folds) == 5
    tested = [s for f in folds for s in f.test_speakers]
    assert sorted(tested) == sorted({f"{u.corpus}/{u.speaker}" for u in utts})  # each exactly once
    for f in folds:
        b = corpus_breakdown(f, utts)
        assert b["emodb"] == {"train": 6, "val": 2, "test": 2}
        assert b["savee"] == {"train": 3, "val": 1, "test": 1}
        assert sum(b["ldc"].values()) == 7 and b["ldc"]["train"] >= 3
        assert len(f.train) + len(f.val) + len(f.test) == len(utts)


def test_reused_speaker_ids_never_share_partitions():
    # both corpora number their speakers 01..05: without namespacing "01" could be in train and test
    utts = corpus("emodb", 5) + corpus("savee", 5)
    for mode in ("rotate", "resample"):
        for f in multicorpus_folds(utts, MultiCorpusConfig(mode=mode, seed=3)):
            parts = [set(f.train_speakers), set(f.val_speakers), set(f.test_speakers)]
            assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
            assert all("/" in s for p in parts for s in p)
            # the corpus-level partition of every utterance is consistent with its namespaced speaker
            for name, idx, spk in (("train", f.train, parts[0]), ("test", f.test, parts[2])):
                assert {f"{utts[i].corpus}/{utts[i].speaker}" for i in idx} == spk


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(5, 12), min_size=1, max_size=4), seed=st.integers(0, 100),
       mode=st.sampled_from(["rotate", "resample"]))
def test_no_leakage_for_random_pools(sizes, seed, mode):
    utts = []
    for c, n in enumerate(sizes):
        utts += corpus(f"c{c}", n, per_speaker=4)  # every corpus reuses ids 01..n
    folds = multicorpus_folds(utts, MultiCorpusConfig(mode=mode, seed=seed))
    for f in folds:
        sets = [set(f.train_speakers), set(f.val_speakers), set(f.test_speakers)]
        assert sum(map(len, sets)) == len(set().union(*sets)) == sum(sizes)
        for c in range(len(sizes)):  # every corpus contributes to every partition
            assert all(any(s.startswith(f"c{c}/") for s in part) for part in sets)


def test_same_seed_same_folds_and_order_independent():
    utts = corpus("a", 8) + corpus("b", 6)
    f1 = multicorpus_folds(utts, MultiCorpusConfig(seed=4))
    f2 = multicorpus_folds(list(reversed(utts)), MultiCorpusConfig(seed=4))
    assert [f.test_speakers for f in f1] == [f.test_speakers for f in f2]
    f3 = multicorpus_folds(utts, MultiCorpusConfig(seed=5))
    assert [f.test_speakers for f in f1] != [f.test_speakers for f in f3]


def test_pooled_utterances_work_directly():
    pooled = pool_corpora({"emodb": corpus("emodb", 5), "savee": corpus("savee", 5)})
    folds = multicorpus_folds(pooled)
    assert folds[0].describe()["kind"] == "multicorpus"


def test_too_few_speakers_and_bad_settings():
    with pytest.raises(ProtocolError, match="corpus tiny has 4 speakers"):
        multicorpus_folds(corpus("big", 10) + corpus("tiny", 4))
    assert len(multicorpus_folds(corpus("big", 10) + corpus("tiny", 4), MultiCorpusConfig(mode="resample"))) == 5
    with pytest.raises(ProtocolError, match="at least 3"):
        multicorpus_folds(corpus("pair", 2), MultiCorpusConfig(mode="resample"))
    with pytest.raises(ConfigError, match="protocol.mode"):
        MultiCorpusConfig(mode="loso")
    with pytest.raises(ConfigError, match="protocol.folds"):
        MultiCorpusConfig(folds=2)
