"""Reports: tables (Markdown, CSV, LaTeX) and PNG plots written from an experiment folder.

Layouts are registered by name in :data:`LAYOUTS`; a recipe chooses one with
``report: {layout: mts_table1}`` and ``emoconv report RUNDIR --layout NAME`` overrides it.
"""

from .base import LAYOUTS, Report
from .writer import write_report

__all__ = ["LAYOUTS", "Report", "write_report"]
