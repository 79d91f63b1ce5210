"""Learning-curve plots: one PNG per corpus, with or without a validation loss in the history."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from emoconv.reports.plots import plot_learning_curves  # noqa: E402


def _record(variant: str, history: list[dict]) -> dict:
    return {"corpus": "c", "variant": variant, "history": history, "best_epoch": 1 if history else None}


def test_fixed_epoch_runs_without_validation_loss_still_plot(tmp_path):
    with_val = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e} for e in (1, 2, 3)]
    fixed = [{"epoch": e, "train_loss": 1.0 / e} for e in (1, 2, 3)]  # train.fixed_epochs: no validation split
    paths = plot_learning_curves([_record("a", with_val), _record("b", fixed), _record("c", [])], tmp_path)
    assert [p.name for p in paths] == ["learning_curves_c.png"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
