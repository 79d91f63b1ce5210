"""Table 3/4/5 layouts of the convolution-type study on hand-made records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emoconv.reports import layouts  # noqa: F401  (registers the layouts)
from emoconv.reports.cldnn_tables import PUBLISHED_TABLE4, table3, table4, table5
from emoconv.reports.writer import LAYOUTS


def rec(model: str, variant: str, y_true: list[int], y_pred: list[int], *, fold: int = 0, condition: str | None = None,
        kind: str = "ratio", fset: str = "IS09", kernel: str = "linear", val_ua: float = 0.5) -> dict:
    correct = sum(a == b for a, b in zip(y_true, y_pred))
    r = {"model": model, "variant": variant, "corpus": "c", "fold": fold, "seed": 0, "variant_order": 0,
         "y_true": y_true, "y_pred": y_pred, "metrics": {"ua": correct / len(y_true)}, "val": {"ua": val_ua},
         "protocol": {"config": {"kind": kind}}, "features": {"kind": "logmel"}, "params": {}}
    if model == "svm":
        r["features"] = {"kind": "functionals", "feature_set": fset}
        r["params"] = {"kernel": kernel}
    if condition:
        r["condition"] = condition
    return r


def test_table3_pools_folds_per_protocol_kernel_and_set() -> None:
    recs = [rec("svm", "SVM (EC)", [0, 1], [0, 0], kind="loso", fold=0),
            rec("svm", "SVM (EC)", [0, 1], [0, 1], kind="loso", fold=1),
            rec("svm", "SVM (ComParE)", [0, 1], [1, 1], fset="ComParE", kernel="rbf"),
            rec("cldnn", "FST", [0], [0], condition="clean")]
    df = table3(recs)
    assert list(df.columns) == ["corpus", "protocol", "kernel", "EC", "ComParE"]
    loso = df[(df.protocol == "LOSO") & (df.kernel == "linear")].iloc[0]
    assert loso["EC"] == pytest.approx(75.0)  # pooled: class 0 2/2, class 1 1/2
    tvt = df[(df.protocol == "TVT") & (df.kernel == "rbf")].iloc[0]
    assert tvt["ComParE"] == pytest.approx(50.0)
    pub = table3(recs, published=True)
    assert pub.iloc[-2]["corpus"].endswith("(published)") and pub.iloc[-2]["EC"] == pytest.approx(66.61)


def test_table4_conditions_best_svm_and_published() -> None:
    recs = [rec("cldnn", "FST-CLDNN (log-Mels)", [0, 1], [0, 1], condition="clean", fold=0),
            rec("cldnn", "FST-CLDNN (log-Mels)", [0, 1], [0, 0], condition="clean", fold=1),
            rec("cldnn", "FST-CLDNN (log-Mels)", [0, 1], [1, 0], condition="noisy"),
            rec("svm", "SVM (EC)", [0, 1], [0, 1], val_ua=0.4),
            rec("svm", "SVM (ComParE)", [0, 1], [0, 0], fset="ComParE", val_ua=0.9)]
    df = table4(recs)
    fst = df[df.model == "FST-CLDNN (log-Mels)"].iloc[0]
    assert fst["clean"] == "75.00 ± 35.36" and fst["noisy"] == "0.00 ± 0.00" and fst["runs"] == 3
    assert list(df.model)[0] == "SVM (ComParE)"  # chosen by validation UA, not test UA
    assert "SVM (EC)" not in set(df.model)
    pub = table4(recs, published=True)
    row = pub[pub.model == "FST-CLDNN (log-Mels)"].iloc[0]
    assert row["clean (published)"] == "94.58" and row["noisy (published)"] == "86.21"
    assert len(pub) == len(df) + len(PUBLISHED_TABLE4) - 2



def test_svm_noisy_records_fill_the_noisy_cell_and_stay_out_of_table3() -> None:
    recs = [rec("svm", "SVM (ComParE)", [0, 1], [0, 1], fset="ComParE"),
            rec("svm", "SVM (ComParE)", [0, 1, 0, 1], [0, 0, 0, 0], fset="ComParE", condition="noisy"),
            rec("cldnn", "LDNN (log-Mels)", [0, 1], [0, 1], condition="clean")]
    svm = table4(recs).iloc[0]
    assert svm["model"] == "SVM (ComParE)" and svm["clean"] == "100.00 ± 0.00" and svm["noisy"] == "50.00 ± 0.00"
    assert svm["runs"] == 2
    assert table3(recs).iloc[0]["ComParE"] == pytest.approx(100.0)  # Table 3 is the clean SVMs only
    loso = [{**r, "protocol": {"config": {"kind": "loso"}}} for r in recs]  # the networks' protocol: LOSO
    assert table4(loso).iloc[0]["noisy"] == "50.00 ± 0.00"
    assert table4(recs[:2] + loso[2:]).iloc[0]["model"] == "LDNN (log-Mels)"  # SVMs on another protocol: no row

def test_table5_and_study_layout_reads_the_analysis(tmp_path: Path) -> None:
    analysis = {"models": {"T-CLDNN (log-Mels)": {"ua": {"raw": 0.25, "cnn": 0.5, "blstm": 0.75, "mlp": 1.0},
                                                  "rho": {"emotion": {"cnn": 0.3}}, "plot": None},
                           "LDNN (log-Mels)": {"ua": {"raw": 0.25, "blstm": 0.5, "mlp": 0.5}, "rho": {}}}}
    df = table5(analysis, published=True)
    assert list(df.model) == ["T-CLDNN (log-Mels)", "T-CLDNN (log-Mels) (published)", "LDNN (log-Mels)"]
    assert df.iloc[0]["MLP"] == pytest.approx(100.0) and df.iloc[0]["rho emotion CNN"] == pytest.approx(0.3)
    assert df.iloc[1]["CNN"] == pytest.approx(59.17) and df.iloc[2]["CNN"] != df.iloc[2]["CNN"]  # NaN: no CNN
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "modulewise.json").write_text(json.dumps(analysis))
    recs = [rec("cldnn", "T-CLDNN (log-Mels)", [0, 1], [0, 1], condition="clean")]
    rep = LAYOUTS.get("cldnn_study")(recs, {}, tmp_path / "report")
    assert set(rep.tables) == {"Table 4", "Table 5"}
    empty = LAYOUTS.get("cldnn_table5")(recs, {}, tmp_path / "elsewhere" / "report")
    assert not empty.tables and "emoconv analyze" in empty.text[0]
