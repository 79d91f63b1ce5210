"""What a report layout produces (:class:`Report`) and the registry of layouts, imported by every layout.

>>> import pandas as pd
>>> print(Report("Demo", tables={"T": pd.DataFrame({"a": [1.5]})}).markdown())
# Demo
<BLANKLINE>
<BLANKLINE>
## T
<BLANKLINE>
| a |
|---|
| 1.50 |
<BLANKLINE>
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from ..registry import Registry

__all__ = ["LAYOUTS", "Layout", "Report", "format_cell", "to_markdown"]

#: The modules that register layouts (imported when a layout is first looked up).
_MODULES = ("layouts", "mts_table1", "mts_probe", "cldnn_tables", "mdcnn_tables", "cnn3d_tables", "cross_corpus")


@dataclass
class Report:
    """Named tables plus free Markdown text and plot paths, as a layout produces them."""

    title: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    text: list[str] = field(default_factory=list)
    plots: list[Path] = field(default_factory=list)

    def markdown(self) -> str:
        parts = [f"# {self.title}", ""]
        parts.extend(self.text)
        for name, df in self.tables.items():
            parts += ["", f"## {name}", "", to_markdown(df)]
        if self.plots:
            parts += ["", "## Plots", ""] + [f"![{p.stem}]({p.name})" for p in self.plots]
        return "\n".join(parts) + "\n"


#: A layout reads the run records (:class:`~emoconv.experiments.record.RunRecord`, read-only mappings) and the
#: report settings, and writes its plots under the report folder.
Layout = Callable[[list[Mapping[str, Any]], dict[str, Any], Path], Report]
LAYOUTS: Registry[Layout] = Registry("report layout", modules=[f"{__package__}.{m}" for m in _MODULES])


def to_markdown(df: pd.DataFrame) -> str:
    if df.empty:
        return "(no rows)"
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join(format_cell(v) for v in row.tolist()) + " |")
    return "\n".join(lines)


def format_cell(v: Any) -> str:
    if isinstance(v, float):
        return "" if v != v else f"{v:.4g}" if abs(v) < 1e-2 and v != 0 else f"{v:.2f}"
    return "" if v is None else str(v)
