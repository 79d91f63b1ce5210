"""Table 4 baselines: shapes and parameter counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emoconv.layers.elm import NetworkELM
from emoconv.models import build_model
from emoconv.models.baselines3d import PAPER_TABLE4_K, FrameDNN, table4_models
from emoconv.models.cnn3d import count_parameters

SHAPES = {"lld": (32,), "waveform": (1, 32000), "volume": (1, 10, 10, 256)}


def test_every_table4_row_builds_with_a_paper_figure():
    rows = table4_models()
    assert len(rows) == 16 and {r["key"] for r in rows} == set(PAPER_TABLE4_K)


@pytest.mark.parametrize("key, expected", [
    ("cnn3d.base.lstm_elm", 215_556),             # paper 214K (Keras counts one LSTM bias)
    ("cnn3d.base.cnn2d_lstm[2]", 264_796),        # paper 264K
    ("cnn3d.base.cnn2d_lstm_dnn[2]", 595_036),    # paper 595K
    ("cnn3d.base.dnn_elm", 173_828),              # paper 141K = the same DNN without the 5-frame context
])
def test_parameter_counts(key, expected):
    row = next(r for r in table4_models() if r["key"] == key)
    assert count_parameters(build_model(row["name"], 4, SHAPES[row["feature"]], **row["params"])) == expected


def test_dnn_without_context_has_the_papers_141k():
    assert count_parameters(build_model("cnn3d.base.dnn_elm", 4, (32,), context=1)) == 141_060


def test_frame_dnn_splices_five_frames():
    net = FrameDNN(2, n_features=1, context=5, hidden=4, layers=1)
    x = torch.arange(4.0).view(1, 4, 1)
    spliced = net._splice(x)
    assert spliced.shape == (1, 4, 5)
    assert spliced[0, 0].tolist() == [0, 0, 0, 1, 2] and spliced[0, 3].tolist() == [1, 2, 3, 3, 3]
    assert net(x).shape == (1, 4, 2)


def test_lld_estimators_and_sequence_shapes():
    for name in ("cnn3d.base.dnn_elm", "cnn3d.base.lstm_elm"):
        est = build_model(name, 4, (32,))
        assert isinstance(est, NetworkELM)
        assert est.network(torch.randn(2, 7, 32)).shape == (2, 7, 4)
        assert est.network.embed(torch.randn(2, 7, 32), lengths=torch.tensor([7, 3])).ndim == 2


def test_cnn1d_lstm_on_raw_waveform():
    m = build_model("cnn3d.base.cnn1d_lstm", 4, (1, 3200), filters=2, kernel2=40, pool2=4, cells=8).eval()
    x = torch.randn(3, 1, 3200)
    assert m(x).shape == (3, 4)
    assert m(x.squeeze(1)).shape == (3, 4)
    assert m.embed(x).shape == (3, 8)
    # paper sizes: 20 sub-sequences of 1600 -> conv 80, pool 2, conv 800, pool 40 -> 20 positions per filter
    full = build_model("cnn3d.base.cnn1d_lstm", 4, (1, 32000), filters=2)
    assert full.head.lstm.input_size == 2 * 20


@pytest.mark.parametrize("name, embed_dim", [("cnn3d.base.cnn2d_lstm", 128), ("cnn3d.base.cnn2d_lstm_dnn", 512)])
def test_cnn2d_lstm_shapes(name, embed_dim):
    m = build_model(name, 4, (1, 10, 10, 256), kernel=(2, 32)).eval()
    x = torch.randn(2, 1, 10, 10, 256)
    assert m(x).shape == (2, 4)
    assert m.embed(x).shape == (2, embed_dim)
    assert m.head.lstm.input_size == 4 * 1 * 32  # pools 2x2 then 4x4 on 10 x 256


def test_lstm_elm_fit_predict_on_tiny_sequences():
    rng = np.random.default_rng(1)
    feats = [torch.tensor(rng.normal(i % 2, 1, (int(rng.integers(4, 9)), 32)), dtype=torch.float32)
             for i in range(12)]
    y = [i % 2 for i in range(12)]
    est = build_model("cnn3d.base.lstm_elm", 2, (32,), cells=8, epochs=2, batch_size=4, elm_hidden=8)
    est.fit(feats[:8], y[:8], feats[8:], y[8:])
    assert est.predict_proba(feats[8:]).shape == (4, 2)
