"""The cnn3d_tables layout on hand-made records."""

from __future__ import annotations

import io

import numpy as np
import pytest

from emoconv.reports.cnn3d_tables import (
    cnn3d_tables, confusions, paper_key, table1, table3, table4, wilcoxon_table,
)

LABELS = ["neutral", "anger", "happiness", "sadness"]  # the runner's order (SHARED_LABELS)


def _rec(variant, model, fold, ua, params=None, n_params=1000, y_true=(0, 1, 2, 3), y_pred=(0, 1, 2, 3),
         uids=None, test_speakers=("a/1", "b/1"), **extra):
    return {"variant": variant, "model": model, "fold": fold, "seed": 0, "corpus": "pooled", "variant_order": 0,
            "params": params or {}, "n_params": n_params, "metrics": {"ua": ua}, "val": {"ua": ua},
            "labels": LABELS, "y_true": list(y_true), "y_pred": list(y_pred),
            "utterances": list(uids or [f"a:u{fold}{i}" for i in range(len(y_true))]), "group": None,
            "protocol": {"config": {"kind": "multicorpus", "folds": 5, "seed": 0},
                         "fold": {"test_speakers": list(test_speakers)}}, "history": [], "grid": [], **extra}


def test_table1_counts_test_utterances_per_corpus_and_class_once():
    recs = [_rec("m", "x", 0, .5, y_true=(0, 2, 1), uids=("emodb:a", "emodb:b", "iemocap:c"),
                 test_speakers=("emodb/03", "iemocap/F1")),
            _rec("m", "x", 1, .5, y_true=(3, 3), uids=("emodb:d", "iemocap:e"),
                 test_speakers=("emodb/08", "iemocap/M1")),
            _rec("n", "x", 0, .5, y_true=(0, 2, 1), uids=("emodb:a", "emodb:b", "iemocap:c"),  # same fold, other model
                 test_speakers=("emodb/03", "iemocap/F1"))]
    t = table1(recs).set_index("Corpus")
    assert t.loc["emodb"].to_dict() == {"Speakers": 2, "neutral": 1, "happy": 1, "sad": 1, "angry": 0, "Total": 3}
    assert t.loc["iemocap"].to_dict() == {"Speakers": 2, "neutral": 0, "happy": 0, "sad": 1, "angry": 1, "Total": 2}
    assert t.loc["Total", "Total"] == 5 and t.loc["Total", "Speakers"] == 4


def test_table4_mean_std_params_and_published():
    recs = [_rec("3D", "cnn3d.dnn", k, ua, params={"kernel": [2, 2, 128], "depth": 3}, n_params=807952)
            for k, ua in enumerate((.4, .5, .6))]
    recs += [_rec("tiny", "cnn3d.dnn", 0, .3, params={"kernel": [2, 2, 128], "hidden": 8})]
    t = table4(recs, published=True).set_index("Method")
    assert t.loc["3D", "UA"] == "0.500 ± 0.100"
    assert t.loc["3D", "Parameters (K)"] == pytest.approx(808.0)
    assert t.loc["3D", "Parameters (K), paper"] == "807" and t.loc["3D", "UA (published)"] == "0.496 ± 0.03"
    assert t.loc["tiny", "Parameters (K), paper"] == "" and t.loc["tiny", "UA (published)"] == ""
    assert "UA (published)" not in table4(recs).columns


def test_paper_keys():
    assert paper_key("cnn3d.base.cnn1d_lstm", {"cells": 256}) == ("cnn3d.base.cnn1d_lstm", 256)
    assert paper_key("cnn3d.dnn_elm", {"kernel": (2, 2, 32)}) == ("cnn3d.dnn_elm", 32)
    assert paper_key("cnn3d.dnn", {"depth": 2, "kernel": (2, 2, 2)}) == ("cnn3d.dnn", "depth2")
    assert paper_key("cnn3d.base.cnn2d_lstm", {"kernel": [2, 128]}) == ("cnn3d.base.cnn2d_lstm", 128)
    assert paper_key("cnn3d.base.lstm_elm", {"cells": 16}) is None


def test_wilcoxon_between_methods_over_matched_folds():
    a = [_rec("A", "x", k, ua) for k, ua in enumerate((.40, .41, .42, .43, .44))]
    b = [_rec("B", "x", k, ua) for k, ua in enumerate((.50, .52, .54, .56, .58))]
    c = [_rec("C", "x", k, ua) for k, ua in enumerate((.40, .41, .42, .43, .44))]
    t = wilcoxon_table(a + b + c).set_index(["Method A", "Method B"])
    ab = t.loc[("A", "B")]
    assert ab["Pairs"] == 5 and ab["UA B - A"] == pytest.approx(0.12)
    assert ab["p (two-sided)"] == pytest.approx(0.0625) and ab["Significant (p < 0.01)"] == "no"
    assert t.loc[("A", "C"), "p (two-sided)"] is None or np.isnan(t.loc[("A", "C"), "p (two-sided)"])
    assert "identical" in t.loc[("A", "C"), "Note"]


def test_confusions_are_percent_in_paper_order():
    # true: neutral x2, anger x2 (indices into LABELS); predicted: one anger called neutral
    recs = [_rec("M", "x", 0, .5, y_true=(0, 0, 1, 1), y_pred=(0, 0, 0, 1)),
            _rec("M", "x", 1, .5, y_true=(2, 3), y_pred=(3, 3))]
    df = confusions(recs)["M"].set_index("true")
    assert list(df.columns) == ["N", "H", "S", "A"] and list(df.index) == ["N", "H", "S", "A"]
    assert df.loc["A", "N"] == pytest.approx(50.0) and df.loc["A", "A"] == pytest.approx(50.0)
    assert df.loc["N", "N"] == pytest.approx(100.0) and df.loc["H", "S"] == pytest.approx(100.0)


def test_table3_groups_kernels_in_paper_order():
    recs = [_rec("k128", "cnn3d.dnn", k, ua, params={"kernel": [2, 2, 128]}) for k, ua in enumerate((.5, .6))]
    recs += [_rec("k842", "cnn3d.dnn", 0, .4, params={"kernel": [8, 2, 2]}),
             _rec("k2", "cnn3d.dnn", 0, .45, params={"kernel": [2, 2, 2]}),
             _rec("other", "cnn3d.base.cnn2d_lstm", 0, .9, params={"kernel": [2, 2]})]
    t = table3(recs, published=True)
    assert list(t["Resolution (L x T x S)"]) == ["2 x 2 x 2", "2 x 2 x 128", "8 x 2 x 2"]
    row = t.iloc[1]
    assert (row["Best"], row["Worst"], row["Mean"]) == (.6, .5, "0.550 ± 0.071")
    assert row["Shapes"] == "shallow temporal, deep spectral" and row["Best (published)"] == .550


def test_layout_labels_published_and_draws_tsne(tmp_path):
    rundir = tmp_path / "run"
    (rundir / "embeddings").mkdir(parents=True)
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 5)
    buf = io.BytesIO()
    np.save(buf, (rng.normal(size=(20, 8)) + 3 * np.eye(8)[y]).astype(np.float32))
    (rundir / "embeddings" / "k1.npy").write_bytes(buf.getvalue())
    torch_rec = _rec("3D", "cnn3d.dnn", 0, .6, y_true=y, y_pred=y, history=[{"epoch": 1}],
                     grid=[{"lr": 1e-3}], embedding="embeddings/k1.npy")
    elm_rec = _rec("ELM", "cnn3d.base.dnn_elm", 0, .9, y_true=y, y_pred=y, history=[{"epoch": 1}],
                   embedding="embeddings/missing.npy")
    out = rundir / "report"
    rep = cnn3d_tables([torch_rec, elm_rec], {"published": True}, out)
    assert "Table 1 (published)" in rep.tables and "Table 5 (published): 3D-CNN-DNN (%)" in rep.tables
    assert len(rep.plots) == 1 and rep.plots[0].name == "tsne_3d.png"  # best *torch* model, not the ELM
    assert rep.plots[0].read_bytes()[:4] == b"\x89PNG"
    assert any("'(published)'" in line for line in rep.text)
    none = cnn3d_tables([_rec("3D", "cnn3d.dnn", 0, .6)], {}, tmp_path / "r2")
    assert not none.plots and any("embeddings: true" in line for line in none.text)
    assert not any("(published)" in name for name in none.tables)
