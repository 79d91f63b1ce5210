"""Pooling corpora into the four-class task: label maps, FEELTRACE landmarks, namespacing, Table 1."""

from __future__ import annotations

from pathlib import Path

import pytest

from emoconv.config import from_dict
from emoconv.corpora import FOUR_CLASSES, Utterance
from emoconv.corpora.pool import (FEELTRACE_LANDMARKS, PoolSource, nearest_landmark, pool_corpora, pool_table,
                                  rescale, table_markdown)
from emoconv.errors import ConfigError, CorpusError


def utt(corpus, speaker, label, i, **attrs):
    return Utterance(path=Path(f"/data/{corpus}/{speaker}_{i}.wav"), speaker=speaker, label=label, corpus=corpus,
                     attrs=attrs)


@pytest.mark.parametrize("v, a, expected", [
    (0.0, 0.0, "neutral"), (0.1, -0.1, "neutral"), (0.8, 0.5, "happiness"), (0.5, 0.9, "happiness"),
    (-0.7, 0.7, "anger"), (-0.6, 0.2, "anger"), (-0.7, -0.5, "sadness"), (-0.2, -0.9, "sadness"),
])
def test_nearest_landmark_on_hand_made_points(v, a, expected):
    assert nearest_landmark(v, a) == expected


def test_landmarks_are_the_issues_and_map_to_themselves():
    assert FEELTRACE_LANDMARKS["happiness"] == (0.74, 0.52) and FEELTRACE_LANDMARKS["anger"] == (-0.77, 0.75)
    assert FEELTRACE_LANDMARKS["sadness"] == (-0.7, -0.48) and set(FEELTRACE_LANDMARKS) == set(FOUR_CLASSES)
    for name, (v, a) in FEELTRACE_LANDMARKS.items():
        assert nearest_landmark(v, a) == name


def test_sequence_uses_the_mean_distance_not_the_mean_point():
    # mean point (0.0, 0.1) is nearest neutral; but the trace sits at happy twice and far off once
    trace_v, trace_a = [0.74, 0.74, -1.48], [0.52, 0.52, -0.74]
    assert nearest_landmark(trace_v, trace_a) == "happiness"
    with pytest.raises(CorpusError, match="equally long"):
        nearest_landmark([0.1, 0.2], [0.1])


def test_rescale_iemocap_ratings():
    assert rescale([1, 2, 3, 4, 5], (1, 5)).tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]


def test_reused_speaker_ids_are_namespaced_and_labels_mapped():
    corpora = {
        "emodb": [utt("emodb", "03", "anger", 0), utt("emodb", "03", "boredom", 1), utt("emodb", "08", "happiness", 2)],
        "savee": [utt("savee", "03", "sadness", 0), utt("savee", "03", "surprise", 1)],
        "semaine": [utt("semaine", "03", "neutral", 0, valence=[0.7, 0.8], arousal=[0.5, 0.6]),
                    utt("semaine", "04", "neutral", 1, valence=[-0.9], arousal=[0.6])],
    }
    sources = [PoolSource("semaine", dimensional=True, scale=(-1.0, 1.0)),
               PoolSource("savee", label_map={"sadness": "sadness", "surprise": "happiness"})]
    pooled = pool_corpora(corpora, sources)
    assert [u.speaker for u in pooled] == ["emodb/03", "emodb/08", "savee/03", "savee/03", "semaine/03", "semaine/04"]
    assert [u.label for u in pooled] == ["anger", "happiness", "sadness", "happiness", "happiness", "anger"]
    assert pooled[3].attrs["pool_source_label"] == "surprise" and pooled[3].native_label == "surprise"
    assert pooled[4].attrs["pool_va"] == pytest.approx((0.75, 0.55))
    assert pooled[4].attrs["pool_source_label"] == "neutral"  # the loader's placeholder label is ignored
    assert len({u.speaker for u in pooled}) == 5  # "03" of three corpora stays three speakers


def test_iemocap_style_ratings_on_1_to_5():
    corpora = {"iemocap": [utt("iemocap", "Ses01F", "neutral", 0, valence=1.5, arousal=1.8),
                           utt("iemocap", "Ses01F", "neutral", 1, valence=3.0, arousal=3.0)]}
    pooled = pool_corpora(corpora, [PoolSource("iemocap", dimensional=True, scale=(1.0, 5.0))])
    assert [u.label for u in pooled] == ["sadness", "neutral"]


def test_pool_errors():
    with pytest.raises(CorpusError, match="no valence/arousal"):
        pool_corpora({"semaine": [utt("semaine", "1", "neutral", 0)]}, [PoolSource("semaine", dimensional=True)])
    with pytest.raises(CorpusError, match="names no loaded corpus"):
        pool_corpora({"emodb": [utt("emodb", "1", "anger", 0)]}, [PoolSource("recola")])
    with pytest.raises(CorpusError, match="no utterance of the four classes"):
        pool_corpora({"emodb": [utt("emodb", "1", "boredom", 0)]})
    with pytest.raises(ConfigError, match="label_map"):
        PoolSource("x", label_map={"fear": "scared"})
    src = from_dict(PoolSource, {"corpus": "iemocap", "dimensional": True, "scale": [1, 5]}, where="pool")
    assert src.scale == (1.0, 5.0)


def test_pool_table_like_table1():
    utts = [utt("emodb", "03", "anger", 0), utt("emodb", "08", "anger", 1), utt("emodb", "08", "neutral", 2),
            utt("savee", "03", "sadness", 0)]
    df = pool_table(pool_corpora({"emodb": utts[:3], "savee": utts[3:]}))
    assert list(df.columns) == ["speakers", "neutral", "happiness", "sadness", "anger", "total"]
    assert df.loc["emodb"].tolist() == [2, 1, 0, 0, 2, 3]
    assert df.loc["Total"].tolist() == [3, 1, 0, 1, 2, 4]
    md = table_markdown(df)
    assert md.splitlines()[0] == "| corpus | speakers | neutral | happiness | sadness | anger | total |"
    assert "| Total | 3 | 1 | 0 | 1 | 2 | 4 |" in md
