"""t-SNE PNGs and percent confusion matrices."""

from __future__ import annotations

import numpy as np
import pytest

from emoconv.errors import ConfigError
from emoconv.reports.embedding import confusion_markdown, confusion_percent, tsne_embedding, tsne_png

ORDER = ("neutral", "happiness", "sadness", "anger")


def test_tsne_png_is_written_and_separates_clusters(tmp_path):
    rng = np.random.default_rng(0)
    feats = np.concatenate([rng.normal(0, 0.1, (15, 6)), rng.normal(5, 0.1, (15, 6))])
    labels = ["neutral"] * 15 + ["anger"] * 15
    out = tmp_path / "fig" / "tsne.png"
    pts = tsne_png(feats, labels, out, title="3D-CNN-DNN", classes=ORDER)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert pts.shape == (30, 2)
    a, b = pts[:15].mean(0), pts[15:].mean(0)
    spread = max(pts[:15].std(0).max(), pts[15:].std(0).max())
    assert np.linalg.norm(a - b) > 3 * spread
    assert not list(out.parent.glob(".*.tmp"))


def test_tsne_rejects_bad_input():
    with pytest.raises(ConfigError, match="N >= 4"):
        tsne_embedding(np.zeros((3, 2)))
    with pytest.raises(ConfigError, match="NaN"):
        tsne_embedding(np.full((5, 2), np.nan))


def test_confusion_percent_rows_are_true_classes():
    y_true = ["neutral"] * 4 + ["anger"] * 2
    y_pred = ["neutral", "neutral", "neutral", "anger", "neutral", "anger"]
    df = confusion_percent(y_true, y_pred, ORDER)
    assert list(df.index) == ["N", "H", "S", "A"] and list(df.columns) == ["N", "H", "S", "A"]
    assert df.loc["N"].tolist() == [75.0, 0.0, 0.0, 25.0]
    assert df.loc["A"].tolist() == [50.0, 0.0, 0.0, 50.0]
    assert df.loc["H"].isna().all()  # no happy utterance in y_true
    same = confusion_percent([0, 0, 0, 3, 3, 3][:6], [0, 0, 3, 3, 0, 3], ORDER)
    assert same.loc["N", "A"] == pytest.approx(100 / 3)
    md = confusion_markdown({"3D-CNN-DNN": df})
    assert "**3D-CNN-DNN**" in md and "| N | 75 | 0 | 0 | 25 |" in md and "| H | - | - | - | - |" in md
    with pytest.raises(ConfigError, match="'calm'"):
        confusion_percent(["calm"], ["neutral"], ORDER)
