"""Reports: tables (Markdown, CSV, LaTeX) and PNG plots written from an experiment folder.

Layouts are registered by name in :data:`LAYOUTS`; a recipe chooses one with
``report: {layout: mts_table1}`` and ``emoconv report RUNDIR --layout NAME`` overrides it.
"""

from .writer import LAYOUTS, write_report

__all__ = ["LAYOUTS", "write_report"]
