"""The default report layout (the paper layouts live in their own modules; see :data:`emoconv.reports.base.LAYOUTS`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .plots import plot_confusions, plot_learning_curves
from .summary import format_mean_std, paired_tests, summary_table
from .base import LAYOUTS, Report


@LAYOUTS.register("default")
def default_layout(records: list[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> Report:
    """Per (corpus, variant) fold statistics, paired Wilcoxon tests against a baseline, plots."""
    recipe = records[0].get("recipe", "experiment")
    report = Report(title=f"Results: {recipe}")
    summary = summary_table(records, n_boot=int(cfg.get("n_boot", 1000)))
    cols = ["corpus", "variant", "runs", "accuracy_mean", "accuracy_std", "ua_mean", "ua_std", "wa_mean",
            "wa_std", "macro_f1_mean", "macro_f1_std", "pooled_ua", "ua_ci_low", "ua_ci_high", "epochs_mean",
            "epoch_time_s", "n_params"]
    report.tables["Summary"] = format_mean_std(summary[cols])
    tests = paired_tests(records, baseline=cfg.get("baseline"), metric=cfg.get("metric", "ua"))
    if not tests.empty:
        report.tables["Paired Wilcoxon signed-rank tests"] = tests
    protocol = records[0]["protocol"]["config"]
    report.text.append(
        f"Protocol: {protocol.get('kind')} (seed {protocol.get('seed')}), speaker-independent; "
        "figures are percentages, mean ± sample std over folds; pooled UA over all test predictions with a "
        "95 % percentile-bootstrap interval. Paired tests are two-sided Wilcoxon signed-rank tests over matched "
        "(corpus, fold, seed) results."
    )
    if cfg.get("plots", True):
        report.plots += plot_confusions(records, out_dir)
        report.plots += plot_learning_curves(records, out_dir)
    return report
