"""The MTS Table 1 layout: the MTS cell and the row's "best scale factors" are chosen on validation."""

from __future__ import annotations

from emoconv.reports.mts_table1 import mts_table1


def _rec(arch: str, conv: str, scales: tuple[float, ...], test_acc: float, val_ua: float) -> dict:
    return {"corpus": "ravdess", "model": arch, "n_utterances": 100,
            "params": {"conv": conv, "scales": list(scales)},
            "metrics": {"accuracy": test_acc, "ua": test_acc}, "val": {"ua": val_ua},
            "branch_usage": {"mean": {str(s): 1 / len(scales) for s in scales}} if conv == "mts" else {}}


def _records() -> list[dict]:
    # A3: scale set (0.7, 1, 1.428) is best on test, (0.5, 1, 2) on validation.
    # A4: the best A4 set beats every A3 set on test accuracy but not on validation UA.
    return [
        _rec("mts.a3", "standard", (), 0.40, 0.40),
        _rec("mts.a3", "mts", (0.5, 1.0, 2.0), 0.45, 0.70),
        _rec("mts.a3", "mts", (0.7, 1.0, 1.428), 0.60, 0.50),
        _rec("mts.a4", "standard", (), 0.40, 0.40),
        _rec("mts.a4", "mts", (0.8, 1.0, 1.25), 0.55, 0.60),
    ]


def _mts_row(select: str) -> dict:
    report = mts_table1(_records(), {"select": select}, out_dir=None)
    table = report.tables["Table 1"]
    return table[table["Type"] == "MTS"].iloc[0].to_dict()


def test_validation_selection_never_looks_at_test():
    row = _mts_row("validation")
    assert row["A3 acc"] == 45.0  # the validation-best set, not the test-best (60)
    assert row["Best scale factors"] == "0.5, 1, 2"  # A3's 0.70 val UA beats A4's 0.60


def test_select_test_reproduces_the_papers_choice():
    row = _mts_row("test")
    assert row["A3 acc"] == 60.0
    assert row["Best scale factors"] == "0.7, 1, 1.428"
