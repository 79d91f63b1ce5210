"""Reports: tables (Markdown, CSV, LaTeX) and PNG plots written from an experiment folder.

Layouts are registered by name in :data:`LAYOUTS`; a recipe chooses one with
``report: {layout: mts_table1}`` and ``emoconv report RUNDIR --layout NAME`` overrides it.
"""

from .base import LAYOUTS, Report
from .records import corpora_of, group_by, in_recipe_order, mean_and_std, mean_std, metric_values, pooled_ua, published_cell
from .writer import write_report

__all__ = ["LAYOUTS", "Report", "corpora_of", "group_by", "in_recipe_order", "mean_and_std", "mean_std", "metric_values",
           "pooled_ua", "published_cell", "write_report"]
