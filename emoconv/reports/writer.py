"""Writing a report folder from a results store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ConfigError
from ..fileio import atomic_write_text
from .base import LAYOUTS, Layout, Report, format_cell, to_markdown  # noqa: F401  (Report, Layout, to_markdown: re-exported)


#: The models (name prefixes) each paper layout reports; a run folder without any of them is refused.
LAYOUT_MODELS: dict[str, tuple[str, ...]] = {
    "mts_table1": ("mts.",), "mts_study": ("mts.",), "mdcnn_ablation": ("mdcnn",), "mdcnn_spp": ("mdcnn",),
    "cldnn_study": ("cldnn", "svm"), "cldnn_table3": ("cldnn", "svm"), "cldnn_table4": ("cldnn", "svm"),
    "cldnn_table5": ("cldnn", "svm"), "cnn3d_tables": ("cnn3d.",),
}


def _check_layout_models(name: str, records: list[dict[str, Any]], root: Path) -> None:
    wanted = LAYOUT_MODELS.get(name)
    if not wanted:
        return
    models = sorted({str(r.get("model")) for r in records})
    if not any(m.startswith(w) for m in models for w in wanted):
        raise ConfigError(f"report --layout {name}: reports {', '.join(w.rstrip('.') + '*' for w in wanted)} models, "
                          f"but {root} holds runs of {', '.join(models)}; use --layout default or the layout of "
                          "that system")


def write_report(rundir: str | Path, out: str | Path | None = None, layout: str | None = None,
                 options: dict[str, Any] | None = None) -> tuple[Report, Path]:
    """Write report.md, one CSV and one .tex per table, and PNG plots into ``out`` (default RUNDIR/report)."""
    from ..experiments.store import ResultsStore

    store = ResultsStore(rundir)
    if not store.root.is_dir():
        raise ConfigError(f"{store.root}: experiment folder not found; pass the folder 'emoconv run' wrote")
    found, invalid = store.scan()
    records = sorted(found, key=lambda r: (r.get("variant_order", 0), r["corpus"], r["fold"], r["seed"]))
    if not records:
        raise ConfigError(f"{store.root}: no finished runs to report; run 'emoconv run RECIPE --out {store.root}'")
    recipe_meta: Any = {}
    if (store.root / "recipe.json").is_file():
        try:
            meta = json.loads((store.root / "recipe.json").read_text())
            recipe_meta = meta.get("recipe", {}) if isinstance(meta, dict) else {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ConfigError(f"{store.root / 'recipe.json'}: damaged (not JSON); rerun the recipe with "
                              f"'emoconv run RECIPE --out {store.root}' to rewrite it") from None
    recipe_meta = recipe_meta if isinstance(recipe_meta, dict) else {}
    report_cfg = dict(recipe_meta.get("report") or {})
    report_cfg.update(options or {})
    name = layout or report_cfg.get("layout", "default")
    layout_fn = LAYOUTS.get(name)
    _check_layout_models(name, records, store.root)
    out_dir = Path(out) if out else store.root / "report"
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir}: report --out must be a folder, but this is a file; choose another path")
    out_dir.mkdir(parents=True, exist_ok=True)
    report = layout_fn(records, report_cfg, out_dir)
    if invalid:
        report.text.append(f"\n**{len(invalid)} result file(s) unreadable and not counted** "
                           f"({', '.join(invalid[:3])}{', ...' if len(invalid) > 3 else ''}); rerun the same "
                           "command to redo those runs.")
    failures = store.failures()
    if failures:
        report.text.append(f"\n**{len(failures)} run(s) failed** (see {store.failed_dir}); rerun the same "
                           "command to retry them.")
    atomic_write_text(out_dir / "report.md", report.markdown())
    for tname, df in report.tables.items():
        stem = "".join(c if c.isalnum() else "_" for c in tname.lower()).strip("_")
        atomic_write_text(out_dir / f"{stem}.csv", df.to_csv(index=False))
        atomic_write_text(out_dir / f"{stem}.tex", _to_latex(df))
    return report, out_dir


def _to_latex(df: pd.DataFrame) -> str:
    cols = [str(c).replace("_", r"\_").replace("%", r"\%") for c in df.columns]
    lines = [r"\begin{tabular}{" + "l" * len(cols) + "}", r"\hline", " & ".join(cols) + r" \\", r"\hline"]
    for _, row in df.iterrows():
        cells = [format_cell(v).replace("_", r"\_").replace("%", r"\%").replace("±", r"$\pm$") for v in row.tolist()]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"
