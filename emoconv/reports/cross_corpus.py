"""Report layout ``cross_corpus``: a train x test matrix of UA per model variant, and a heat map.

Each record of a ``cross_corpus`` protocol (:mod:`emoconv.protocol.cross_corpus`) is one (training
corpora, test corpus) cell; rows name the training corpora ("a + b" when several), columns the test
corpus. Cells hold UA in percent (mean over seeds when a recipe has several); the diagonal is empty (a
corpus is never its own test set here: within-corpus figures come from a within-corpus protocol). The
text gives the mean UA over the off-diagonal cells and chance (100 / number of classes).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..fileio import atomic_write_bytes
from ..protocol.cross_corpus import fold_corpora
from .plots import _figure_bytes, _plt, slug
from .base import LAYOUTS, Report


def cross_corpus_matrices(records: list[dict[str, Any]]) -> dict[str, pd.DataFrame]:
    """``{variant: DataFrame}``: rows training corpora, columns test corpora, UA in percent."""
    cells: dict[str, dict[tuple[str, str], list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        if (r.get("protocol") or {}).get("config", {}).get("kind") != "cross_corpus":
            raise ConfigError(f"report --layout cross_corpus: run {r['key']} is not of protocol kind cross_corpus; "
                              "use --layout default")
        train, test = fold_corpora(r["protocol"]["fold"])
        cells[r["variant"]][(" + ".join(train), str(test))].append(100.0 * r["metrics"]["ua"])
    out = {}
    for variant, got in cells.items():
        cols = sorted({k[1] for k in got})
        rows = sorted({k[0] for k in got}, key=lambda r: (" + " in r, cols.index(r) if r in cols else 0, r))
        df = pd.DataFrame(index=rows, columns=cols, dtype=float)
        for (a, b), v in got.items():
            df.loc[a, b] = float(np.mean(v))
        df.index.name = "train \\ test"
        out[variant] = df
    return out


def plot_matrix(df: pd.DataFrame, title: str, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.4 + 1.1 * len(df.columns), 1.0 + 0.6 * len(df.index)))
    data = df.to_numpy(dtype=float)
    im = ax.imshow(np.ma.masked_invalid(data), cmap="viridis", vmin=0, vmax=100)
    ax.set_xticks(range(len(df.columns)), df.columns, rotation=30, ha="right")
    ax.set_yticks(range(len(df.index)), df.index)
    ax.set_xlabel("test corpus")
    ax.set_ylabel("training corpora")
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            if np.isfinite(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.1f}", ha="center", va="center",
                        color="white" if data[i, j] < 60 else "black", fontsize=9)
    fig.colorbar(im, ax=ax, label="UA (%)")
    ax.set_title(title, fontsize=10)
    atomic_write_bytes(path, _figure_bytes(fig))
    plt.close(fig)
    return path


@LAYOUTS.register("cross_corpus")
def cross_corpus_layout(records: list[dict[str, Any]], cfg: dict[str, Any], out_dir: Path) -> Report:
    recipe = records[0].get("recipe", "experiment")
    report = Report(title=f"Cross-corpus results: {recipe}")
    labels = records[0]["labels"]
    report.text.append(f"UA (%) of each model trained (and validated) on the row's corpora and tested on the "
                       f"column's corpus; classes: {', '.join(labels)} (chance {100 / len(labels):.1f} %).")
    for variant, df in cross_corpus_matrices(records).items():
        table = df.reset_index()
        report.tables[f"{variant}: UA (%)"] = table
        report.text.append(f"{variant}: mean UA over the {int(df.notna().to_numpy().sum())} cells "
                           f"{np.nanmean(df.to_numpy(dtype=float)):.2f} %.")
        if cfg.get("plots", True):
            report.plots.append(plot_matrix(df, f"{recipe}: {variant}", out_dir / f"cross_corpus_{slug(variant)}.png"))
    return report
