"""Module-wise analysis: rho against a hand computation, SVM UA per module, the LDA grid PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoconv.errors import ConfigError, ProtocolError
from emoconv.reports.modulewise import (
    inertias, lda_grid, lda_projection, modulewise_table, modulewise_ua, rho, speaker_split,
)

# three classes of two points each; centres A (1, 0), B (10, 1), C (0, 10)
POINTS = np.array([[0, 0], [2, 0], [10, 0], [10, 2], [0, 9], [0, 11]], dtype=float)
LABELS = ["a", "a", "b", "b", "c", "c"]


def test_rho_matches_hand_computation():
    intra, inter = inertias(POINTS, LABELS)
    # every point is at squared distance 1 from its centre
    assert intra == pytest.approx(1.0)
    # squared centre distances: AB 82, AC 101, BC 181; 6 ordered pairs
    assert inter == pytest.approx(2 * (82 + 101 + 181) / 6)
    assert rho(POINTS, LABELS) == pytest.approx(3 / 364)
    plain = rho(POINTS, LABELS, squared=False)
    assert plain == pytest.approx(1.0 / ((np.sqrt(82) + np.sqrt(101) + np.sqrt(181)) / 3))


def test_rho_orders_tight_and_loose_clusters_and_checks_input():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], 30)
    centres = rng.standard_normal((3, 5)) * 5
    tight = centres[y] + 0.1 * rng.standard_normal((90, 5))
    loose = centres[y] + 3.0 * rng.standard_normal((90, 5))
    assert rho(tight, y) < 0.01 < rho(loose, y)
    with pytest.raises(ConfigError, match="at least 2"):
        rho(tight, np.zeros(90))


def _reps(seed: int = 0):
    rng = np.random.default_rng(seed)
    spk = np.repeat([f"s{i}" for i in range(6)], 20)
    y = np.tile(np.arange(4), 30)
    good = np.eye(4)[y] * 3 + 0.3 * rng.standard_normal((120, 4))
    noise = rng.standard_normal((120, 8))
    return {"raw": noise, "cnn": np.hstack([good, noise]), "blstm": good}, y, spk


def test_modulewise_ua_separates_informative_modules():
    reps, y, spk = _reps()
    ua = modulewise_ua(reps, y, spk, seed=1)
    assert set(ua) == {"raw", "cnn", "blstm"}
    assert ua["blstm"] > 0.9 and ua["cnn"] > 0.8 and ua["raw"] < 0.5
    tr, te = speaker_split(spk, 0.2, seed=1)
    assert set(spk[tr]).isdisjoint(spk[te]) and len(tr) + len(te) == 120
    assert modulewise_ua(reps, y, spk, train_idx=tr, test_idx=te) == ua
    with pytest.raises(ProtocolError, match="both train and test"):
        modulewise_ua(reps, y, spk, train_idx=np.arange(100), test_idx=np.arange(90, 120))


def test_table5_layout():
    df = modulewise_table({"T-CLDNN (log-Mels)": {"raw": 0.28, "cnn": 0.59, "blstm": 0.93, "mlp": 0.93},
                           "LDNN (MFCCs)": {"raw": 0.24, "blstm": 0.88, "mlp": 0.88}})
    assert list(df.columns) == ["Raw", "CNN", "BLSTM", "MLP"]
    assert df.loc["T-CLDNN (log-Mels)", "CNN"] == pytest.approx(59.0)
    assert np.isnan(df.loc["LDNN (MFCCs)", "CNN"])


def test_lda_grid_writes_png_and_returns_rho(tmp_path: Path):
    reps, y, spk = _reps(1)
    reps["mlp"] = reps.pop("raw")
    gender = [None if s == "s5" else ("f" if s in ("s0", "s1") else "m") for s in spk]
    out = tmp_path / "grid.png"
    rhos = lda_grid(reps, {"emotion": y, "speaker": spk, "gender": gender}, out, title="toy")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(rhos) == {"emotion", "speaker", "gender"}
    assert all(set(v) == {"cnn", "blstm", "mlp"} for v in rhos.values())
    assert rhos["emotion"]["blstm"] == pytest.approx(rho(reps["blstm"], y))
    keep = np.array([g is not None for g in gender])
    assert rhos["gender"]["cnn"] == pytest.approx(rho(reps["cnn"][keep], np.asarray(gender, object)[keep]))
    assert lda_projection(reps["cnn"], y).shape == (120, 2)
    assert lda_projection(reps["cnn"][:100], np.asarray(gender, object)[:100] == "f").shape == (100, 1)
    # an LDNN has no CNN module: two columns
    del reps["cnn"]
    assert set(lda_grid(reps, {"emotion": y}, tmp_path / "ldnn.png")["emotion"]) == {"blstm", "mlp"}
