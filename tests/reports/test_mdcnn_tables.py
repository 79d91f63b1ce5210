"""The multi-dilated CNN report layouts (paper Tables 1 and 3) on hand-made records."""

from __future__ import annotations

import pytest

from emoconv.reports import layouts  # noqa: F401  (registers the layouts)
from emoconv.reports.mdcnn_tables import PUBLISHED_TABLE1, ablation_row, spp_setting
from emoconv.reports.writer import LAYOUTS


def rec(corpus, variant, order, params, fold, ua, wa, loader=None, kind="loso"):
    return {"corpus": corpus, "corpus_loader": loader or corpus, "variant": variant, "variant_order": order,
            "params": params, "fold": fold, "seed": 0, "metrics": {"ua": ua, "wa": wa, "accuracy": wa},
            "epochs": 3, "n_params": 100, "model": "mdcnn", "protocol": {"config": {"kind": kind}}}


PLAIN = {"body": "plain", "pool": "gmp", "attention": False, "head": "softmax"}
FF_SPP = {"body": "ff", "pool": "spp", "attention": False, "head": "softmax", "filters": 8}


def ablation_records():
    out = []
    for corpus, kind in (("emodb", "loso"), ("iemocap", "session_speakers")):
        out += [rec(corpus, "plain", 0, PLAIN, 0, 0.5, 0.6, kind=kind),
                rec(corpus, "plain", 0, PLAIN, 1, 0.7, 0.8, kind=kind),
                rec(corpus, "full", 2, {}, 0, 0.4, 0.4, kind=kind), rec(corpus, "full", 2, {}, 1, 0.4, 0.5, kind=kind),
                rec(corpus, "odd", 1, {"body": "multidilated", "pool": "gmp", "attention": True}, 0, 0.3, 0.3,
                    kind=kind)]
    return out


def test_rows_are_matched_by_settings_not_labels():
    assert ablation_row(PLAIN) == "cnn_gmp_softmax"
    assert ablation_row({}) == "multidilated_spp_att_arcface"          # MDCNNConfig defaults = the full model
    assert ablation_row({**FF_SPP, "spp_levels": [1, 5]}) == "ff_spp_softmax"
    assert ablation_row({"pool": "gmp"}) is None
    assert spp_setting({"pool": "gmp"}) == (1,) and spp_setting({"spp_levels": [10, 1, 5]}) == (1, 5, 10)
    assert spp_setting({}) == (1, 5, 10)


def test_ablation_layout_rows_columns_and_figures(tmp_path):
    report = LAYOUTS.get("mdcnn_ablation")(ablation_records(), {}, tmp_path)
    t1 = report.tables["Table 1"]
    assert list(t1["Variant"]) == ["plain", "odd", "full"]                 # recipe order
    assert list(t1.columns[:4]) == ["Variant", "CNN section", "Pooling", "Loss function"]
    assert [c for c in t1.columns if c.endswith("UA")] == ["iemocap UA", "emodb UA"]   # the paper's column order
    row = t1.set_index("Variant").loc["plain"]
    assert (row["CNN section"], row["Pooling"], row["Loss function"]) == ("Traditional CNN", "GMP", "Softmax")
    assert row["emodb UA"] == "60.00 ± 14.14" and row["emodb WA"] == "70.00 ± 14.14"
    odd = t1.set_index("Variant").loc["odd"]
    assert (odd["CNN section"], odd["Pooling"], odd["Loss function"]) == ("Multi-dilated CNN with FF",
                                                                          "GMP + Attention", "ArcFace")
    assert odd["emodb UA"] == "30.00 ± 0.00"                               # one fold: std 0
    assert not any("paper" in c for c in t1.columns)
    runs = report.tables["Runs"]
    got = runs[(runs.corpus == "emodb") & (runs.variant == "full")].iloc[0]
    assert got["runs"] == 2 and got["ua_mean"] == pytest.approx(40.0) and got["wa_mean"] == pytest.approx(45.0)
    assert "emodb: loso, 2 fold(s)" in report.text[0] and "iemocap: session_speakers" in report.text[0]
    assert "| plain | Traditional CNN | GMP | Softmax |" in report.markdown()


def test_ablation_layout_published_columns(tmp_path):
    records = ablation_records() + [rec("emodb", "best", 3, {"attention": False}, 0, 0.7, 0.7)]
    t1 = LAYOUTS.get("mdcnn_ablation")(records, {"published": True}, tmp_path).tables["Table 1"].set_index("Variant")
    assert t1.loc["plain", "iemocap UA (paper, Table 1)"] == "59.6"
    assert t1.loc["plain", "emodb UA (paper, Table 1)"] == "67.7"
    assert t1.loc["full", "emodb UA (paper, Table 1)"] == "72.1"
    assert t1.loc["best", "emodb UA (paper, Table 1)"] == "77.6"
    assert t1.loc["best", "iemocap UA (paper, Table 1)"] == "-"            # EMODB-only row in the paper
    assert t1.loc["odd", "emodb UA (paper, Table 1)"] == "-"               # no such paper row
    assert t1.loc["best", "iemocap UA"] == ""                              # not run on IEMOCAP
    assert len(PUBLISHED_TABLE1) == 8


def test_published_figures_follow_the_loader_not_the_recipe_key(tmp_path):
    records = [rec("my_emodb", "plain", 0, PLAIN, 0, 0.5, 0.5, loader="emodb")]
    t1 = LAYOUTS.get("mdcnn_ablation")(records, {"published": True}, tmp_path).tables["Table 1"]
    assert t1.loc[0, "my_emodb UA (paper, Table 1)"] == "67.7"


def test_spp_layout(tmp_path):
    records = []
    for order, levels in enumerate(([1], [1, 5, 10], [1, 2, 5, 8, 10], [1, 5])):
        for fold, ua in enumerate((0.6, 0.8)):
            records.append(rec("iemocap", f"SPP {levels}", order, {**FF_SPP, "spp_levels": levels}, fold, ua, 0.9))
    records.append(rec("emodb", "SPP [1, 5, 10]", 1, {**FF_SPP, "spp_levels": [1, 5, 10]}, 0, 0.5, 0.5))
    report = LAYOUTS.get("mdcnn_spp")(records, {"published": True}, tmp_path)
    t3 = report.tables["Table 3"].set_index("Pooling partitions")
    assert list(t3.index) == ["1 (Baseline)", "1,5,10", "1,2,5,8,10", "1,5"]
    assert t3.loc["1,5,10", "iemocap UA"] == "70.00 ± 14.14" and t3.loc["1,5,10", "iemocap WA"] == "90.00 ± 0.00"
    base = t3.loc["1 (Baseline)"]
    assert (base["iemocap UA (paper, Table 3)"], base["iemocap WA (paper, Table 3)"]) == ("52.02", "63.72")
    assert t3.loc["1,5,10", "iemocap UA (paper, Table 3)"] == "68.48"
    assert t3.loc["1,2,5,8,10", "iemocap WA (paper, Table 3)"] == "67.91"
    assert t3.loc["1,5", "iemocap UA (paper, Table 3)"] == "-"             # not in the paper
    assert t3.loc["1,5,10", "emodb UA (paper, Table 3)"] == "-"            # Table 3 is IEMOCAP only
    assert t3.loc["1,5", "emodb UA"] == ""
    assert "Table 3 of Sci. Rep. 15:8254 (2025)" in report.text[0]
    plain = LAYOUTS.get("mdcnn_spp")(records, {}, tmp_path).tables["Table 3"]
    assert not any("paper" in c for c in plain.columns)
