"""The MTS design-study layout: per-fold UA, paired differences to standard, probe summaries at the best epoch."""

from __future__ import annotations

from emoconv.reports.mts_probe import mts_study


def _rec(variant: str, fold: int, ua: float, probe: bool) -> dict:
    mts = {"features.0": {"win": {"0.5": 0.2, "1": 0.3, "2": 0.5}, "amplitude": {"0.5": 1.0, "1": 2.0, "2": 4.0},
                          "grad_share": {"0.5": 0.1, "1": 0.2, "2": 0.7}, "grad": {"0.5": 1, "1": 2, "2": 7}}}
    junk = {"features.0": {k: {"0.5": 9.0, "1": 9.0, "2": 9.0} for k in ("win", "amplitude", "grad_share")}}
    history = [{"epoch": 1, "mts": junk}, {"epoch": 2, "mts": mts}, {"epoch": 3, "mts": junk}] if probe else []
    return {"variant": variant, "fold": fold, "metrics": {"ua": ua, "accuracy": ua}, "best_epoch": 2,
            "history": history, "model": "mts.a3", "variant_order": 0 if "standard" in variant else 1}


def test_study_layout_pairs_folds_and_reads_the_probe_at_the_selected_epoch():
    records = [_rec("A3 standard", f, 0.40, False) for f in range(4)]
    records += [_rec("A3 MTS x", f, 0.40 + 0.01 * (f + 1), True) for f in range(4)]
    report = mts_study(records, {}, out_dir=None)
    table = report.tables["UA per fold (%)"]
    mts = table[table["variant"] == "A3 MTS x"].iloc[0]
    assert abs(mts["vs standard (pp)"] - 2.5) < 1e-9 and mts["wins"] == "4/4"
    probe = report.tables["What the MTS layers did (selected epoch, mean over folds)"].iloc[0]
    assert probe["win share"] == "0.20, 0.30, 0.50" and probe["gradient share"] == "0.10, 0.20, 0.70"
